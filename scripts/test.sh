#!/usr/bin/env bash
# Runs the test suites (ctest over GoogleTest) of a build made by scripts/setup.sh.
# Real-data tests run when GAVAMOE_DATASETS names the datasets folder, and skip otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GAVAMOE_BUILD:-$ROOT/build}"
export GAVAMOE_PYTHON="${GAVAMOE_PYTHON:-${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}/bin/python}"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
