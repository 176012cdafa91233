#!/usr/bin/env bash
# gavamoe's SASRec beside RecBole's (bench/recbole_sasrec_peer.py) on MovieLens-100k: the same
# leave-one-out split (gavamoe's sequence folder), the same settings (gavamoe's config section
# "rec"), the same number of epochs and threads, one after the other in this run. Prints rows
# | rec | case | value | unit | (test HR@10 and NDCG@10 of the model rec train keeps,
# training seconds per epoch, and the speed ratio = RecBole's seconds per epoch over gavamoe's,
# "x faster"), the format bench/run.sh collects.
#
# Usage: bench/rec_peer.sh [--epochs N] [--threads N] [--data DIR] [--converge]
#   --epochs N    epochs for both (default 2); both early-stop only with --converge
#   --converge    at most 100 epochs, early stopping on validation NDCG@10 with the default
#                 patience (6) for both: the converged comparison (hours on 2 cores)
#   --threads N   CPU threads for both (default: all cores)
#   --data DIR    a sequence folder (default: imported from $GAVAMOE_DATASETS/movielens_100k)
# Needs build/gavamoe and RecBole 1.2.1 in the test venv (scripts/setup.sh with
# GAVAMOE_PEER_PYTHON=1). Both processes get the caller's environment (OMP_WAIT_POLICY and
# the like apply to both).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${GAVAMOE_BUILD:-$ROOT/build}"
GAVAMOE="$BUILD/gavamoe"
PYTHON="${GAVAMOE_PYTHON:-${GAVAMOE_VENV:-$HOME/.cache/gavamoe/venv}/bin/python}"
EPOCHS=2
THREADS="$(nproc)"
DATA=""
CONVERGE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) EPOCHS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --converge) CONVERGE=1; shift ;;
    *) echo "bench/rec_peer.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [[ -z "$DATA" ]]; then
  : "${GAVAMOE_DATASETS:?bench/rec_peer.sh: set GAVAMOE_DATASETS or pass --data}"
  DATA="$WORK/ml-100k"
  "$GAVAMOE" data import-movielens --in "$GAVAMOE_DATASETS/movielens_100k" --out "$DATA" >&2
fi
if [[ $CONVERGE == 1 ]]; then
  EPOCHS=100
  PATIENCE=6
else
  PATIENCE=$((EPOCHS + 1))  # no early stop: both train exactly EPOCHS epochs
fi
label="sasrec, $(basename "$DATA"), $([[ $CONVERGE == 1 ]] && echo "early stopping" || echo "$EPOCHS epochs")"

echo "== gavamoe rec train --model sasrec ($label, $THREADS threads)" >&2
"$GAVAMOE" rec train --model sasrec --data "$DATA" --out "$WORK/run" --threads "$THREADS" \
  --set rec.epochs="$EPOCHS" --set rec.patience="$PATIENCE" >&2
"$GAVAMOE" rec eval --run "$WORK/run" --subset test --json --threads "$THREADS" >"$WORK/eval.json"
echo "== bench/recbole_sasrec_peer.py ($label, $THREADS threads)" >&2
"$PYTHON" "$ROOT/bench/recbole_sasrec_peer.py" --data "$DATA" --epochs "$EPOCHS" \
  --patience "$PATIENCE" --threads "$THREADS" --quiet 2>"$WORK/recbole.log" |
  tail -n 1 >"$WORK/recbole.json" || { cat "$WORK/recbole.log" >&2; exit 1; }

python3 - "$WORK/run/metrics.json" "$WORK/eval.json" "$WORK/recbole.json" "$label" <<'PY'
import json, sys
metrics, evaluation, peer, label = sys.argv[1:]
ours = json.load(open(metrics))
test = json.load(open(evaluation))["model"]
theirs = json.load(open(peer))
rows = [
    ("gavamoe " + label + ", test HR@10", test["hr@10"], "ratio"),
    ("gavamoe " + label + ", test NDCG@10", test["ndcg@10"], "ratio"),
    ("gavamoe " + label + ", epochs", ours["epochs_run"], "epochs"),
    ("gavamoe " + label + ", training time per epoch", ours["seconds_per_epoch"], "s"),
    ("RecBole " + label + ", test HR@10", theirs["hr@10"], "ratio"),
    ("RecBole " + label + ", test NDCG@10", theirs["ndcg@10"], "ratio"),
    ("RecBole " + label + ", epochs", theirs["epochs"], "epochs"),
    ("RecBole " + label + ", training time per epoch", theirs["seconds_per_epoch"], "s"),
    ("gavamoe " + label + ", epoch speed vs RecBole",
     theirs["seconds_per_epoch"] / ours["seconds_per_epoch"], "x faster"),
]
for case, value, unit in rows:
    print(f"| rec | {case} | {value:.4g} | {unit} |")
PY
