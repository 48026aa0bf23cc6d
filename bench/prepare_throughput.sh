#!/usr/bin/env bash
# `talon prepare` throughput: conversations per second on a generated corpus
# of 20,000 conversations (scripts/make_conversations.py), Llama-3.1
# tokenizer and template, with 1 thread and with all cores. One figure per line.
# Usage: bench/prepare_throughput.sh [build-dir]   (after scripts/setup.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/${1:-build}"
talon="$build/tools/talon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/.venv/bin/python" "$root/scripts/make_conversations.py" --count 20000 --seed 7 > "$work/corpus.jsonl"
for threads in 1 0; do
  start=$(date +%s.%N)
  "$talon" prepare --quiet --num-threads "$threads" --train-data-path "$work/corpus.jsonl" \
    --tokenizer "$build/fixtures/tokenizers/llama3_1" \
    --chat-template llama3 --max-length 2048 --draft-vocab-size 32000 \
    --output-dir "$work/out" > /dev/null
  end=$(date +%s.%N)
  label=$([[ $threads == 0 ]] && echo "$(nproc)" || echo 1)
  awk -v s="$start" -v e="$end" -v t="$label" \
    'BEGIN { printf "prepare_conversations_per_s threads=%s %.0f\n", t, 20000 / (e - s) }'
done
