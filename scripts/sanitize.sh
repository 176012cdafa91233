#!/usr/bin/env bash
# Builds gavamoe with AddressSanitizer + UndefinedBehaviorSanitizer in its own folder and runs
# the tests there. Needs a machine set up by scripts/setup.sh (the venv's LibTorch).
#
# Usage: scripts/sanitize.sh [--fast]
#   (default)  the whole suite, compiled with the default compiler (build-sanitize/)
#   --fast     the part CI runs: the suites that need no LibTorch model (test_core, test_text)
#              and every fuzz target for 30 s from its committed corpus, built with clang
#              (build-sanitize-fast/; installs clang and its sanitizer runtimes when missing)
# Any sanitizer report fails the run; a fuzz crash leaves its input in
# build-sanitize-fast/artifacts/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}"
FAST=0
[[ "${1:-}" == --fast ]] && FAST=1
TORCH_PREFIX="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
# Leak checks stay on; LibTorch's own start-up allocations live for the whole process.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_container_overflow=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp"
start=$SECONDS

if [[ $FAST == 0 ]]; then
  BUILD="$ROOT/build-sanitize"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAVAMOE_SANITIZE=ON \
    -DGAVAMOE_BENCH=OFF -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; exit 1; }
  cmake --build "$BUILD" -j"$(nproc)"
  GAVAMOE_BUILD="$BUILD" "$ROOT/scripts/test.sh"
  echo "sanitize: the whole suite passed under ASan + UBSan in $((SECONDS - start)) s" >&2
  exit 0
fi

if ! command -v clang++ >/dev/null; then
  apt-get update -qq && apt-get install -y -qq clang >/dev/null
fi
version="$(clang++ -dumpversion | cut -d. -f1)"
if ! find "$(clang++ -print-resource-dir)" -name 'libclang_rt.fuzzer-x86_64.a' | grep -q .; then
  apt-get install -y -qq "libclang-rt-$version-dev" >/dev/null
fi
BUILD="$ROOT/build-sanitize-fast"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGAVAMOE_SANITIZE=ON -DGAVAMOE_FUZZ=ON -DGAVAMOE_BENCH=OFF -DGAVAMOE_PCH=OFF \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" >"$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
targets=(fuzz_pickle fuzz_jsonl fuzz_safetensors fuzz_gguf fuzz_tokenizer_json)
cmake --build "$BUILD" -j"$(nproc)" --target test_core test_text "${targets[@]}"
"$BUILD/tests/test_core" --gtest_brief=1
"$BUILD/tests/test_text" --gtest_brief=1
echo "sanitize: test_core and test_text passed after $((SECONDS - start)) s" >&2

# Each target for 30 s from a scratch copy of its corpus, as many at once as there are cores.
mkdir -p "$BUILD/artifacts"
fuzz() {
  local name="$1" corpus="$ROOT/tests/fuzz/corpus/${1#fuzz_}" scratch="$BUILD/corpus-${1#fuzz_}"
  mkdir -p "$scratch"
  "$BUILD/tests/fuzz/$name" "$scratch" "$corpus" -max_total_time=30 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$name-" >"$BUILD/$name.log" 2>&1 ||
    { tail -40 "$BUILD/$name.log" >&2; echo "sanitize: $name failed" >&2; return 1; }
  echo "sanitize: $name $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/$name.log")" >&2
}
pids=()
for name in "${targets[@]}"; do
  fuzz "$name" &
  pids+=($!)
  if (( ${#pids[@]} >= $(nproc) )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "sanitize: fast part passed in $((SECONDS - start)) s" >&2
