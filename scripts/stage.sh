# stage NAME OUTPUT COMMAND...: runs COMMAND unless OUTPUT exists, and prints how long it took.
# Sourced by the pipeline scripts (pipeline.sh, recexplainer.sh), which skip finished stages so
# that a re-run continues.
stage() {
  local name="$1" output="$2"
  shift 2
  if [[ -e "$output" ]]; then
    echo "== $name: $output exists, skipped" >&2
    return
  fi
  echo "== $name" >&2
  local start=$SECONDS
  "$@"
  echo "== $name: $((SECONDS - start)) s" >&2
}
