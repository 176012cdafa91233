#!/usr/bin/env bash
# Runs every benchmark of the project and prints one table (| area | case | value | unit |) with
# the hardware it ran on; writes the same as JSON.
#
# Usage: bench/run.sh [--out FILE] [--threads N] [--quick]
#   --out FILE    JSON output (default: build/bench-results.json)
#   --threads N   CPU threads for the LibTorch benchmarks (default: all cores)
#   --quick       skip the slow ones (the Python metric baseline, the paper-size VAE)
# Needs a build made by scripts/setup.sh and GAVAMOE_DATASETS (TripAdvisor ratings, PETER
# samples). CUDA rows are added when a GPU is visible.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GAVAMOE_BUILD:-$ROOT/build}"
OUT="$BUILD/bench-results.json"
THREADS="$(nproc)"
QUICK=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
: "${GAVAMOE_DATASETS:?bench/run.sh: set GAVAMOE_DATASETS to the datasets folder}"
PYTHON="${GAVAMOE_PYTHON:-${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}/bin/python}"
BIN="$BUILD/bench"
ROWS="$(mktemp)"
trap 'rm -f "$ROWS"' EXIT

gpu=""
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  gpu="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1)"
fi
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
hardware="$cpu, $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB${gpu:+; GPU: $gpu}"
echo "hardware: $hardware; $THREADS threads" >&2

run() {  # a benchmark program; its rows go to the table, its log to stderr
  echo "== $*" >&2
  "$@" | grep '^| ' | tee -a "$ROWS" >&2
}

run "$BIN/eval_bench"
if [[ $QUICK == 0 && -x "$PYTHON" ]]; then
  "$PYTHON" "$ROOT/bench/eval_python_baseline.py" | grep '^| ' | tee -a "$ROWS" >&2
fi
run "$BIN/vae_bench" small cpu "$THREADS"
[[ $QUICK == 1 ]] || run "$BIN/vae_bench" paper cpu "$THREADS"
run "$BIN/llama_bench" "$THREADS"
run "$BIN/moe_bench" cpu "$THREADS"
run "$BIN/train_bench" cpu "$THREADS"
if [[ -n "$gpu" ]]; then
  run "$BIN/vae_bench" small cuda
  run "$BIN/vae_bench" paper cuda
  run "$BIN/moe_bench" cuda
  run "$BIN/train_bench" cuda
fi
# RecExplainer's SASRec beside RecBole's (bench/rec_peer.sh, 2 epochs each: many minutes on
# 2 cores); only without --quick and where the venv has RecBole (GAVAMOE_PEER_PYTHON=1).
if [[ $QUICK == 0 && -x "$PYTHON" ]] && "$PYTHON" -c "import recbole" 2>/dev/null; then
  echo "== bench/rec_peer.sh" >&2
  GAVAMOE_PYTHON="$PYTHON" "$ROOT/bench/rec_peer.sh" --threads "$THREADS" | grep '^| ' |
    tee -a "$ROWS" >&2
fi

echo
echo "Measured on: $hardware ($THREADS threads), $(date -u +%Y-%m-%d)"
echo
echo "| area | case | value | unit |"
echo "|---|---|---|---|"
cat "$ROWS"
python3 - "$ROWS" "$OUT" "$hardware" "$THREADS" <<'PY'
import json, sys, datetime
rows_path, out, hardware, threads = sys.argv[1:]
rows = []
for line in open(rows_path, encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 4:
        rows.append({"area": cells[0], "case": cells[1], "value": float(cells[2]), "unit": cells[3]})
result = {"hardware": hardware, "threads": int(threads),
          "date": datetime.date.today().isoformat(), "rows": rows}
with open(out + ".tmp", "w", encoding="utf-8") as f:
    json.dump(result, f, indent=1)
import os
os.replace(out + ".tmp", out)
print(f"\nwritten: {out}", file=sys.stderr)
PY
