#!/usr/bin/env bash
# The whole pipeline in one command: data -> tokenizer -> pretrain-vae -> train -> infer -> eval,
# then the metrics table, and the same table for the retrieval baseline (`gavamoe retrieve`).
# Stages whose output already exists are skipped, so a re-run resumes.
#
# Usage: scripts/pipeline.sh [CONFIG] [RUNS_DIR]
#   CONFIG    a run config (default configs/synthetic-tiny.json)
#   RUNS_DIR  where the outputs go (default runs/<config name>)
# The data folder is the config's data.path; when it does not exist it is made: synthetic data
# by `data synth`, the Amazon Musical Instruments import by `data import-amazon` from
# $GAVAMOE_DATASETS. A config with train.base_model (configs/amazon-mi-smollm2.json) trains on
# that pretrained base and its tokenizer; otherwise a SentencePiece tokenizer is trained and the
# model (train.model_config) trained from scratch. Extra options for every stage: GAVAMOE_ARGS
# (e.g. "--threads 2 --seed 3").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIG="${1:-configs/synthetic-tiny.json}"
NAME="$(basename "$CONFIG" .json)"
RUNS="${2:-runs/$NAME}"
BIN="${GAVAMOE_BUILD:-$ROOT/build}/gavamoe"
read -r -a EXTRA <<< "${GAVAMOE_ARGS:-}"
[[ -x "$BIN" ]] || { echo "pipeline: $BIN not found; run scripts/setup.sh first" >&2; exit 2; }
[[ -f "$CONFIG" ]] || { echo "pipeline: config $CONFIG not found" >&2; exit 2; }

config_value() {  # config_value SECTION KEY: the value in CONFIG, or empty
  python3 - "$CONFIG" "$1" "$2" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
value = config.get(sys.argv[2], {}).get(sys.argv[3])
print("" if value is None else value)
PY
}
DATA="$(config_value data path)"
MODEL_CONFIG="$(config_value train model_config)"
BASE_MODEL="$(config_value train base_model)"
VOCAB="$(config_value train vocab_size)"
MODEL_CONFIG="${MODEL_CONFIG:-configs/model-tiny.json}"
VOCAB="${VOCAB:-2000}"
mkdir -p "$RUNS"

source "$ROOT/scripts/stage.sh"

if [[ ! -e "$DATA" ]]; then
  case "$NAME" in
    synthetic-*) stage "data synth" "$DATA" "$BIN" data synth --out "$DATA" "${EXTRA[@]}" ;;
    amazon-mi-*)
      : "${GAVAMOE_DATASETS:?pipeline: set GAVAMOE_DATASETS to import the Amazon reviews}"
      stage "data import-amazon" "$DATA" "$BIN" data import-amazon \
        --in "$GAVAMOE_DATASETS/amazon_musical_instruments_5core/reviews_Musical_Instruments_5.json.gz" \
        --out "$DATA" "${EXTRA[@]}" ;;
    *) echo "pipeline: data folder $DATA (data.path of $CONFIG) not found" >&2; exit 2 ;;
  esac
fi
BASE=(--base-model "$BASE_MODEL")
if [[ -z "$BASE_MODEL" ]]; then
  stage "data tokenizer" "$RUNS/tokenizer.model" "$BIN" data tokenizer --data "$DATA" \
    --vocab-size "$VOCAB" --out "$RUNS/tokenizer.model" "${EXTRA[@]}"
  BASE=(--scratch "$MODEL_CONFIG" --tokenizer "$RUNS/tokenizer.model")
fi
stage "pretrain-vae" "$RUNS/vae/vae.safetensors" "$BIN" pretrain-vae --config "$CONFIG" \
  --data "$DATA" --out "$RUNS/vae" "${EXTRA[@]}"
stage "retrieve (baseline)" "$RUNS/retrieval.jsonl" "$BIN" retrieve --config "$CONFIG" \
  --data "$DATA" --vae "$RUNS/vae" --out "$RUNS/retrieval.jsonl" "${EXTRA[@]}"
stage "train" "$RUNS/explainer/explainer.safetensors" "$BIN" train --config "$CONFIG" \
  --data "$DATA" --vae "$RUNS/vae" "${BASE[@]}" --out "$RUNS/explainer" "${EXTRA[@]}"
stage "infer" "$RUNS/predictions.jsonl" "$BIN" infer --run "$RUNS/explainer" --data "$DATA" \
  --out "$RUNS/predictions.jsonl" "${EXTRA[@]}"
echo "== eval: retrieval baseline ($RUNS/retrieval.jsonl)" >&2
"$BIN" eval --pred "$RUNS/retrieval.jsonl" --data "$DATA" --out "$RUNS/retrieval-metrics.json" \
  "${EXTRA[@]}"
echo "== eval: explainer ($RUNS/predictions.jsonl)" >&2
"$BIN" eval --pred "$RUNS/predictions.jsonl" --data "$DATA" --out "$RUNS/metrics.json" "${EXTRA[@]}"
