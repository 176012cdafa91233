#!/usr/bin/env bash
# Runs every benchmark of the project and prints one table (| area | case | value | unit |) with
# the hardware it ran on; writes the same as JSON.
#
# Usage: bench/run.sh [--out FILE] [--threads N] [--quick] [--only explainer-train]
#        bench/run.sh --only explainer-epoch --epoch-run RUN [--epoch-steps N] [--threads N]
#   --out FILE    JSON output (default: build/bench-results.json)
#   --threads N   CPU threads for the LibTorch benchmarks (default: all cores)
#   --only explainer-train  only the explainer training rows on SmolLM2 and their peer
#   --only explainer-epoch  the PyTorch-eager peer trains the first epoch of the `gavamoe train`
#                 run RUN (a pretrained base, hard gating or none), on the run's examples in the
#                 run's order (bench/explainer_epoch_file.cpp), beside the epoch time the run
#                 measured itself (its metrics.json), and the ratio; RUN must have trained on
#                 this machine, idle, with these threads. An hour or more on 2 cores;
#                 --epoch-steps N: the peer's first N steps only (no ratio), a quick check.
#   --quick       skip the slow ones (the Python metric baseline, the paper-size VAE) and time
#                 the pretrained model (gavamoe and its HF transformers peer) once after the warm-up
# Needs a build made by scripts/setup.sh and GAVAMOE_DATASETS (TripAdvisor ratings, PETER
# samples). CUDA rows are added when a GPU is visible. The pretrained rows (SmolLM2-135M, CPU,
# float32) need the model (scripts/setup.sh fetches it); their HF transformers peer also needs
# transformers and gguf in the venv; ratio rows (gavamoe / HF transformers, unit x) follow them.
# The explainer's training step on SmolLM2 (explainer_train_bench) runs beside its PyTorch-eager
# peer (bench/explainer_train_peer.py, same GGUF and batch) with a ratio row (gavamoe / PyTorch
# eager). Just those rows: bench/run.sh --only explainer-train
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GAVAMOE_BUILD:-$ROOT/build}"
OUT="$BUILD/bench-results.json"
THREADS="$(nproc)"
QUICK=0
ONLY=""
EPOCH_RUN=""
EPOCH_STEPS=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    --epoch-run) EPOCH_RUN="$2"; shift 2 ;;
    --epoch-steps) EPOCH_STEPS="$2"; shift 2 ;;
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

if [[ -z "$ONLY" ]]; then
run "$BIN/eval_bench"
if [[ $QUICK == 0 && -x "$PYTHON" ]]; then
  "$PYTHON" "$ROOT/bench/eval_python_baseline.py" | grep '^| ' | tee -a "$ROWS" >&2
fi
run "$BIN/vae_bench" small cpu "$THREADS"
[[ $QUICK == 1 ]] || run "$BIN/vae_bench" paper cpu "$THREADS"
run "$BIN/llama_bench" "$THREADS"
run "$BIN/moe_bench" cpu "$THREADS"
run "$BIN/train_bench" cpu "$THREADS"
pretrained_repeats=4
[[ $QUICK == 0 ]] || pretrained_repeats=2
run "$BIN/pretrained_bench" "$THREADS" "$pretrained_repeats"
# The peer runs on the GGUF and prompt ids pretrained_bench uses; nothing is printed without them.
pretrained_setup="$("$BIN/pretrained_bench" --print-prompt 2>/dev/null)"
if [[ -n "$pretrained_setup" && -x "$PYTHON" ]]; then
  echo "== bench/hf_generate_peer.py" >&2
  "$PYTHON" "$ROOT/bench/hf_generate_peer.py" --threads "$THREADS" --repeats "$pretrained_repeats" \
    --gguf "$(sed -n 1p <<<"$pretrained_setup")" --prompt-ids "$(sed -n 2p <<<"$pretrained_setup")" |
    grep '^| ' | tee -a "$ROWS" >&2
  # Ratio rows as moe_bench prints them: "<case>, gavamoe / HF transformers", unit x.
  pretrained_ratio() {  # case: the gavamoe row's value over the HF row's of that case
    awk -F'|' -v ours="smollm2-135m f32, $1" -v peer="HF transformers, smollm2-135m f32, $1" '
      $2 == " pretrained " && $3 == " " ours " " { a = $4 }
      $2 == " pretrained " && $3 == " " peer " " { b = $4 }
      END {
        if (a != "" && b + 0 > 0)
          printf "| pretrained | %s, gavamoe / HF transformers | %.2f | x |\n", ours, a / b
      }
    ' "$ROWS" | tee -a "$ROWS" >&2
  }
  for batch in 1 16; do
    pretrained_ratio "batch $batch, decode 32 new tokens, KV cache"
    pretrained_ratio "batch $batch, prefill 32 tokens"
  done
fi
fi
# The explainer's training step on SmolLM2 (configs/amazon-mi-smollm2.json's model) beside its
# PyTorch-eager peer on the same batch of real Amazon prompts, and the ratio (unit x); also
# gavamoe on padded rows (every slot through the layers, as the peer), to show what packing the
# real tokens gives.
explainer_train_rows() {  # args: explainer_train_bench options (--experts, --width, --base-ffn)
  local batch_file="$BUILD/explainer-train-batch.safetensors" gguf
  gguf="$("$BIN/explainer_train_bench" "$@" --write-batch "$batch_file" 2>/dev/null)" || return 0
  [[ -n "$gguf" ]] || return 0
  run "$BIN/explainer_train_bench" --threads "$THREADS" --steps "$explainer_steps" "$@"
  run "$BIN/explainer_train_bench" --threads "$THREADS" --steps "$explainer_steps" "$@" \
    --layout padded
  if [[ -x "$PYTHON" ]]; then
    echo "== bench/explainer_train_peer.py $*" >&2
    "$PYTHON" "$ROOT/bench/explainer_train_peer.py" --batch-file "$batch_file" --gguf "$gguf" \
      --threads "$THREADS" --steps "$explainer_steps" "$@" | grep '^| ' | tee -a "$ROWS" >&2
    awk -F'|' '
      $2 == " train " && $3 ~ /^ explainer step, smollm2/ && $5 == " tokens/s " { a[$3] = $4 }
      $2 == " train " && $3 ~ /^ PyTorch eager, explainer step, smollm2/ && $5 == " tokens/s " {
        key = $3; sub(/^ PyTorch eager,/, "", key); b[key] = $4 }
      END {
        for (k in a) if (k in b && b[k] + 0 > 0) {
          name = k; sub(/^ /, "", name); sub(/ $/, "", name)
          printf "| train | %s, gavamoe / PyTorch eager | %.2f | x |\n", name, a[k] / b[k]
        }
      }
    ' "$ROWS" | tee -a "$ROWS" >&2
  fi
  rm -f "$batch_file"
}
# A whole epoch of a gavamoe train run against the peer training the same batches.
explainer_epoch_rows() {
  [[ -n "$EPOCH_RUN" ]] || { echo "bench/run.sh: --only explainer-epoch needs --epoch-run RUN" >&2; exit 2; }
  [[ -f "$EPOCH_RUN/metrics.json" ]] || { echo "bench/run.sh: $EPOCH_RUN/metrics.json: not a finished train run" >&2; exit 2; }
  [[ -x "$PYTHON" ]] || { echo "bench/run.sh: no Python venv at $PYTHON" >&2; exit 2; }
  local epoch_file="$BUILD/explainer-epoch.safetensors" base
  base="$("$BIN/explainer_epoch_file" --run "$EPOCH_RUN" --out "$epoch_file" --steps "$EPOCH_STEPS")"
  echo "== bench/explainer_train_peer.py --epoch-file ($EPOCH_RUN)" >&2
  "$PYTHON" "$ROOT/bench/explainer_train_peer.py" --epoch-file "$epoch_file" --gguf "$base" \
    --threads "$THREADS" --steps "$EPOCH_STEPS" | grep '^| ' | tee -a "$ROWS" >&2
  rm -f "$epoch_file"
  python3 - "$EPOCH_RUN/metrics.json" "$ROWS" <<'PY' | tee -a "$ROWS" >&2
import json, sys
metrics = json.load(open(sys.argv[1]))
peer = [line.split("|") for line in open(sys.argv[2]) if "PyTorch eager, explainer epoch" in line]
time = [cells for cells in peer if cells[2].strip().endswith(", training time")]
if not metrics.get("epoch_seconds") or not time:
    sys.exit(0)
what = time[0][2].strip()[len("PyTorch eager, "):-len(", training time")]
ours = metrics["epoch_seconds"][0]
steps = int(what.split(" steps of ")[0].rsplit(", ", 1)[1])
if steps * metrics["epochs_run"] != metrics["steps"]:
    sys.exit(0)  # a part of the epoch: no ratio
print("| train | %s, gavamoe train, training time | %.0f | s |" % (what, ours))
print("| train | %s, gavamoe / PyTorch eager | %.2f | x |" % (what, float(time[0][3]) / ours))
PY
}
explainer_steps=5
[[ $QUICK == 0 ]] || explainer_steps=3
if [[ "$ONLY" == explainer-epoch ]]; then
  explainer_epoch_rows
else
  explainer_train_rows --experts 4 --width 128 --base-ffn shared
fi
if [[ -z "$ONLY" ]]; then
if [[ -n "$gpu" ]]; then
  run "$BIN/vae_bench" small cuda
  run "$BIN/vae_bench" paper cuda
  run "$BIN/moe_bench" cuda
  run "$BIN/train_bench" cuda
  run "$BIN/gpu_bench"
fi
# RecExplainer's SASRec beside RecBole's (bench/rec_peer.sh, 2 epochs each: many minutes on
# 2 cores); only without --quick and where the venv has RecBole (GAVAMOE_PEER_PYTHON=1).
if [[ $QUICK == 0 && -x "$PYTHON" ]] && "$PYTHON" -c "import recbole" 2>/dev/null; then
  echo "== bench/rec_peer.sh" >&2
  GAVAMOE_PYTHON="$PYTHON" "$ROOT/bench/rec_peer.sh" --threads "$THREADS" | grep '^| ' |
    tee -a "$ROWS" >&2
fi
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
