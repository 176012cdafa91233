#!/usr/bin/env bash
# The one-command check of the CUDA and NCCL paths on a machine with an NVIDIA GPU: builds
# gavamoe with CUDA in build-gpu/, runs the CUDA tests (decoding against the CPU, a `train` run
# on cuda against the CPU run, NCCL gradient sums with one rank per visible GPU, `train` over NCCL
# ranks with two or more GPUs) and the GPU benchmark rows (bench/gpu_bench: bandwidth, 1.1B bf16
# decode against the bandwidth floor, training tokens/s and MFU; bench/train_bench on cuda), and
# writes build-gpu/gpu-check.md. Needs a machine set up by scripts/setup.sh and a CUDA toolkit
# (nvcc). Sized for 12 minutes on a 16-core machine with a data-centre GPU. GAVAMOE_GPU_BUILD
# names another build folder.
#
# Usage: scripts/gpu-check.sh [--peak-tflops X]   (the GPU's bf16 dense data-sheet peak for MFU;
#        default: looked up for known GPUs, else the measured matmul peak)
# Exit: 0 all passed, 1 a test or benchmark failed, 2 the machine cannot run the check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}"
BUILD="${GAVAMOE_GPU_BUILD:-$ROOT/build-gpu}"
REPORT="$BUILD/gpu-check.md"
start=$SECONDS
fail() { echo "gpu-check: $1" >&2; exit "${2:-1}"; }

peak=""
while (($#)); do
  case "$1" in
    --peak-tflops)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || fail "--peak-tflops needs a number (TFLOP/s)" 2
      peak="$2"; shift 2 ;;
    *) fail "unknown argument '$1' (usage: scripts/gpu-check.sh [--peak-tflops X])" 2 ;;
  esac
done

command -v nvidia-smi >/dev/null || fail "no NVIDIA driver (nvidia-smi not found): this check needs a GPU" 2
gpus="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || true)"
[[ -n "$gpus" ]] || fail "nvidia-smi lists no GPU: this check needs a GPU" 2
NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
[[ -x "$NVCC" ]] || fail "no CUDA toolkit (nvcc not on PATH nor in /usr/local/cuda/bin)" 2
[[ -x "$VENV/bin/python" ]] || fail "no venv at $VENV: run scripts/setup.sh first" 2
gpu_count="$(wc -l <<<"$gpus")"
gpu_name="$(head -1 <<<"$gpus")"

# bf16 dense tensor-core peaks (TFLOP/s) from the vendors' data sheets.
if [[ -z "$peak" ]]; then
  case "$gpu_name" in
    *H200* | *"H100 80GB HBM3"* | *"H100 SXM"*) peak=989 ;;
    *"H100 NVL"*) peak=835 ;;
    *H100*) peak=756 ;;
    *A100*) peak=312 ;;
    *L40S*) peak=362 ;;
    *A10G* | *"A10 "* | *A10) peak=125 ;;
    *L4) peak=121 ;;
  esac
fi

TORCH_PREFIX="$("$VENV/bin/python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "gpu-check: $gpu_count x $gpu_name; building the CUDA path in $BUILD" >&2
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGAVAMOE_CUDA=ON -DGAVAMOE_BENCH=ON \
  -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" >"$BUILD.configure.log" 2>&1 ||
  { tail -30 "$BUILD.configure.log"; fail "configure failed (log: $BUILD.configure.log)"; }
cmake --build "$BUILD" -j"$(nproc)" --target gavamoe test_infer test_train gpu_bench train_bench \
  >"$BUILD/build.log" 2>&1 || { tail -30 "$BUILD/build.log"; fail "build failed (log: $BUILD/build.log)"; }
build_seconds=$((SECONDS - start))

# The CUDA tests; a skip means LibTorch saw no GPU, which fails the check, except the NCCL
# `train` test on a machine with one GPU.
# run_tests prints the result line of each test (it runs in a subshell: failures show in the
# lines, and a binary that exits non-zero says so).
status=0
run_tests() {
  local binary="$1" filter="$2" log="$BUILD/$1.log" code=0
  "$BUILD/tests/$binary" --gtest_filter="$filter" >"$log" 2>&1 || code=$?
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\] [A-Za-z]+\.[A-Za-z]+' "$log" | sed 's/ (.*//' | sort -u
  ((code == 0)) || echo "$binary FAILED with exit code $code (log: $log)"
}
tests="$(run_tests test_infer 'Generation.CudaFollowsCpu'
  run_tests test_train 'TrainCli.CudaRunMatchesCpuRun:TrainCli.NcclRankPerGpuMatchesOneGpuProcess:DataParallel.NcclSumsAndBroadcastsWithOneRankPerGpu')"
echo "$tests" >&2
if grep -q FAILED <<<"$tests"; then status=1; fi
skipped="$(grep SKIPPED <<<"$tests" | grep -v 'NcclRankPerGpu' || true)"
if [[ -n "$skipped" ]]; then status=1; echo "gpu-check: CUDA tests skipped: is the GPU visible to LibTorch?" >&2; fi
if ((gpu_count < 2)); then
  tests+=$'\n'"(TrainCli.NcclRankPerGpuMatchesOneGpuProcess needs 2 GPUs: skipped on this machine)"
fi
test_seconds=$((SECONDS - start - build_seconds))

rows="$("$BUILD/bench/gpu_bench" ${peak:+"$peak"} 2>&1)" || { status=1; rows+=$'\n'"gpu_bench failed"; }
rows+=$'\n'"$("$BUILD/bench/train_bench" cuda 2>&1)" || { status=1; rows+=$'\n'"train_bench failed"; }
echo "$rows" >&2

{
  echo "# gavamoe GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Machine: $gpu_count x $gpu_name; $(nproc) cores; driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"
  echo "- LibTorch $("$VENV/bin/python" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'); nvcc $("$NVCC" --version | grep -o 'release [0-9.]*')"
  echo "- Commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown); MFU against" \
    "$([[ -n "$peak" ]] && echo "$peak TFLOP/s (data sheet)" || echo "the measured matmul peak")"
  echo "- Build ${build_seconds} s, tests ${test_seconds} s, total $((SECONDS - start)) s"
  echo
  echo "## Tests"
  echo
  echo '```'
  echo "$tests"
  echo '```'
  echo
  echo "## Benchmarks"
  echo
  echo "| area | case | value | unit |"
  echo "|---|---|---|---|"
  grep '^|' <<<"$rows" || true
} >"$REPORT.tmp"
mv "$REPORT.tmp" "$REPORT"
echo "gpu-check: report in $REPORT; $( ((status == 0)) && echo passed || echo FAILED) in $((SECONDS - start)) s" >&2
exit "$status"
