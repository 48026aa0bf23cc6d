#!/usr/bin/env bash
# `talon regenerate` (native) on one conversation of N short turns: seconds
# for the whole line, so the cost per turn shows whether a turn costs the
# conversation's length (a fresh prompt each turn) or only its own tokens.
# The tiny example target (examples/tiny-target-config.json) with the
# Llama-3.1 tokenizer, greedy, 8 tokens per reply. One figure per line.
# Usage: bench/regenerate_turns.sh [build-dir] [turns...]   (after scripts/setup.sh)
# TALON=path/to/talon times another binary (an older build) with the same inputs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/${1:-build}"
shift || true
counts=("${@:-100 200 400 1000}")
talon="${TALON:-$build/tools/talon}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tools/talon" init-target --config "$root/examples/tiny-target-config.json" \
  --tokenizer "$build/fixtures/tokenizers/llama3_1" --output-dir "$work/target" --seed 0 > /dev/null
for turns in ${counts[@]}; do
  "$root/.venv/bin/python" - "$turns" > "$work/in.jsonl" <<'PY'
import json, sys
turns = int(sys.argv[1])
messages = []
for i in range(turns):
    messages += [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": "old"}]
print(json.dumps({"messages": messages}))
PY
  rm -f "$work"/out.jsonl*
  start=$(date +%s.%N)
  "$talon" regenerate --target-model-path "$work/target" --input-file-path "$work/in.jsonl" \
    --output-file-path "$work/out.jsonl" --temperature 0 --max-new-tokens 8 --system-prompt '' > /dev/null 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" -v n="$turns" \
    'BEGIN { printf "regenerate_one_conversation turns=%d seconds=%.1f ms_per_turn=%.1f\n", n, e - s, 1000 * (e - s) / n }'
done
