#!/usr/bin/env bash
# RecExplainer on MovieLens-100k in one command: data import-movielens -> rec train (SASRec) ->
# rec label -> align data -> for each variant (none, behaviour, intention, hybrid) align train,
# align eval and align explain -> align judge over the four explainers -> the tables.
# Stages whose output already exists are skipped and a killed training resumes, so a re-run
# continues where the last one stopped.
#
# Usage: scripts/recexplainer.sh [RUNS_DIR]    (default runs/recexplainer)
# Needs GAVAMOE_DATASETS (movielens_100k) unless RUNS_DIR/ml-100k exists, and a build made by
# scripts/setup.sh (which also fetches SmolLM2-135M-Instruct, the surrogate's base).
# Sizes, from the environment (the defaults: about an hour of alignment training per variant
# on 2 cores, evaluation and explanations on a part of the validation set):
#   REC_EPOCHS         SASRec epochs (rec.epochs; default 3)
#   TRAIN_PER_USER     align data --max-train-per-user (default 1)
#   TRAIN_SAMPLES      align.max_train_samples, a seeded subset (default 1500; 0: all)
#   VALID_SAMPLES      align.valid_samples for the validation loss (default 64)
#   EVAL_SAMPLES       align eval --max-samples per task (default 100)
#   EVAL_NEW_TOKENS    align eval --max-new-tokens (default 128)
#   EXPLAIN_SAMPLES    align explain --max-samples per split, train and valid (default 100)
#   EXPLAIN_NEW_TOKENS align explain --max-new-tokens (default 128; --min-new-tokens a quarter)
#   JUDGE_MODEL        align judge --judge-model (default none: the offline judges only)
#   JUDGE_ROWS         align judge --judge-rows (default 50)
#   JUDGE_NEW_TOKENS   align judge --judge-max-new-tokens (default 500, the original's)
#   ENCODER_MODEL      align judge --encoder-model (default smollm2; empty: TF-IDF only)
#   VARIANTS           the variants, in order (default "none behaviour intention hybrid")
#   GAVAMOE_ARGS       options for every command (default "--threads 2 --seed 2024")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${1:-runs/recexplainer}"
BIN="${GAVAMOE_BUILD:-$ROOT/build}/gavamoe"
read -r -a EXTRA <<< "${GAVAMOE_ARGS:---threads 2 --seed 2024}"
[[ -x "$BIN" ]] || { echo "recexplainer: $BIN not found; run scripts/setup.sh first" >&2; exit 2; }
REC_EPOCHS="${REC_EPOCHS:-3}"
TRAIN_PER_USER="${TRAIN_PER_USER:-1}"
TRAIN_SAMPLES="${TRAIN_SAMPLES:-1500}"
VALID_SAMPLES="${VALID_SAMPLES:-64}"
EVAL_SAMPLES="${EVAL_SAMPLES:-100}"
EVAL_NEW_TOKENS="${EVAL_NEW_TOKENS:-128}"
EXPLAIN_SAMPLES="${EXPLAIN_SAMPLES:-100}"
EXPLAIN_NEW_TOKENS="${EXPLAIN_NEW_TOKENS:-128}"
JUDGE_ROWS="${JUDGE_ROWS:-50}"
JUDGE_NEW_TOKENS="${JUDGE_NEW_TOKENS:-500}"
read -r -a VARIANT_LIST <<< "${VARIANTS:-none behaviour intention hybrid}"
mkdir -p "$RUNS"
source "$ROOT/scripts/stage.sh"

DATA="$RUNS/ml-100k"
if [[ ! -e "$DATA" ]]; then
  : "${GAVAMOE_DATASETS:?recexplainer: set GAVAMOE_DATASETS to the datasets folder}"
  stage "data import-movielens" "$DATA" "$BIN" data import-movielens \
    --in "$GAVAMOE_DATASETS/movielens_100k" --out "$DATA" "${EXTRA[@]}"
fi
# A training stage: done when its metrics.json exists, resumed when only its folder does.
train_stage() {  # train_stage NAME RUN COMMAND...
  local name="$1" run="$2"
  shift 2
  if [[ -d "$run" && ! -e "$run/metrics.json" ]]; then
    local command=("$1" "$2" "$3")  # gavamoe <family> train
    stage "$name (resumed)" "$run/metrics.json" "${command[@]}" --resume "$run" "${EXTRA[@]}"
  else
    stage "$name" "$run/metrics.json" "$@"
  fi
}
train_stage "rec train" "$RUNS/sasrec" "$BIN" rec train --model sasrec --data "$DATA" \
  --out "$RUNS/sasrec" --set rec.epochs="$REC_EPOCHS" "${EXTRA[@]}"
stage "rec label" "$RUNS/sasrec-labels/test_top.txt" "$BIN" rec label --run "$RUNS/sasrec" \
  --out "$RUNS/sasrec-labels" "${EXTRA[@]}"
stage "align data" "$RUNS/align-data/align_data.json" "$BIN" align data --rec "$RUNS/sasrec" \
  --labels "$RUNS/sasrec-labels" --out "$RUNS/align-data" \
  --max-train-per-user "$TRAIN_PER_USER" "${EXTRA[@]}"

explanations=()
for variant in "${VARIANT_LIST[@]}"; do
  run="$RUNS/align-$variant"
  train_stage "align train $variant" "$run" "$BIN" align train --data "$RUNS/align-data" \
    --rec "$RUNS/sasrec" --variant "$variant" --out "$run" \
    --set align.max_train_samples="$TRAIN_SAMPLES" --set align.valid_samples="$VALID_SAMPLES" \
    "${EXTRA[@]}"
  stage "align eval $variant" "$run/align_eval.json" "$BIN" align eval --run "$run" \
    --max-samples "$EVAL_SAMPLES" --max-new-tokens "$EVAL_NEW_TOKENS" "${EXTRA[@]}"
  stage "align explain $variant" "$RUNS/explanations-$variant.jsonl" "$BIN" align explain \
    --run "$run" --out "$RUNS/explanations-$variant.jsonl" --split both \
    --max-samples "$EXPLAIN_SAMPLES" --max-new-tokens "$EXPLAIN_NEW_TOKENS" \
    --min-new-tokens "$((EXPLAIN_NEW_TOKENS / 4))" "${EXTRA[@]}"
  explanations+=("$variant=$RUNS/explanations-$variant.jsonl")
done
JUDGE=()
[[ -z "${JUDGE_MODEL:-}" ]] || JUDGE+=(--judge-model "$JUDGE_MODEL" --judge-rows "$JUDGE_ROWS" \
  --judge-max-new-tokens "$JUDGE_NEW_TOKENS")
ENCODER_MODEL="${ENCODER_MODEL-smollm2}"
[[ -z "$ENCODER_MODEL" ]] || JUDGE+=(--encoder-model "$ENCODER_MODEL")
stage "align judge" "$RUNS/judge.json" "$BIN" align judge --explanations "${explanations[@]}" \
  --data "$DATA" --out "$RUNS/judge.json" "${JUDGE[@]}" "${EXTRA[@]}"

python3 - "$RUNS" "${VARIANT_LIST[@]}" <<'PY'
import json, os, sys
runs, variants = sys.argv[1], sys.argv[2:]
columns = [("uid2next", "hr@5"), ("uid2next", "ndcg@5"), ("uidiid2rank", "ndcg@5"),
           ("uidiid2binary", "accuracy"), ("iid2title", "accuracy"), ("uid2hist", "coverage")]
def cell(table, task, metric):
    value = table.get(task, {}).get(metric)
    return "" if value is None else "%.4f" % value
print("\n| variant | training | trainable | " +
      " | ".join("%s %s" % c for c in columns) + " |")
print("|---|---|---|" + "---|" * len(columns))
chance = None
for v in variants:
    run = os.path.join(runs, "align-" + v)
    result = json.load(open(os.path.join(run, "align_eval.json")))
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    chance = result["chance"]
    print("| %s | %.0f s | %s | %s |" % (
        v, metrics.get("train_seconds", 0), metrics.get("trainable_parameters", 0),
        " | ".join(cell(result["tasks"], *c) for c in columns)))
if chance:
    print("| chance | | | %s |" % " | ".join(cell(chance, *c) for c in columns))
judged = json.load(open(os.path.join(runs, "judge.json")))
print("\n| explainer | rows | grade A (rule) | history mentioned | target mentioned | hallucination | judge model A/B/C/D/unreadable |")
print("|---|---|---|---|---|---|---|")
for name, j in judged["explainers"].items():
    g = j.get("judge_model", {}).get("grades_lenient")
    print("| %s | %d | %.3f | %.3f | %.3f | %.3f | %s |" % (
        name, j["rows"], j["grade_a_rate"], j["history_share"], j["target_mentioned"],
        j["hallucination_rate"], "/".join(str(g[k]) for k in "ABCD") + "/" + str(g["none"]) if g else ""))
for key, features in (("discriminators", "TF-IDF"), ("encoder_discriminators", "encoder")):
    d = judged.get(key)
    if d:
        print("\n%s: distinction accuracy %.3f; score MSE (predicting the mean) %s" % (
            features, d["distinction"]["accuracy"], ", ".join(
                "%s %.3f (%.3f)" % (name, s["mse"], s["mean_mse"]) for name, s in d["score"].items())))
PY
