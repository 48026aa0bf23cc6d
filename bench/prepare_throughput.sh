#!/usr/bin/env bash
# `talon prepare` throughput: conversations per second on a generated corpus
# of 20,000 conversations (scripts/make_conversations.py), Llama-3.1
# tokenizer and template, with 1 thread and with all cores, rendered by the
# tokenizer's own Jinja template and by the built-in llama3 renderer (the same
# tokenizer without its chat_template). One figure per line.
# Usage: bench/prepare_throughput.sh [build-dir]   (after scripts/setup.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/${1:-build}"
talon="$build/tools/talon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/.venv/bin/python" "$root/scripts/make_conversations.py" --count 20000 --seed 7 > "$work/corpus.jsonl"
"$root/.venv/bin/python" - "$build/fixtures/tokenizers/llama3_1" "$work/plain" <<'PY'
import json, pathlib, shutil, sys
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir()
shutil.copy(src / "tokenizer.json", dst / "tokenizer.json")
config = json.loads((src / "tokenizer_config.json").read_text())
config.pop("chat_template")
(dst / "tokenizer_config.json").write_text(json.dumps(config))
PY
for renderer in jinja builtin; do
  tokenizer=$([[ $renderer == jinja ]] && echo "$build/fixtures/tokenizers/llama3_1" || echo "$work/plain")
  for threads in 1 0; do
    start=$(date +%s.%N)
    "$talon" prepare --quiet --num-threads "$threads" --train-data-path "$work/corpus.jsonl" \
      --tokenizer "$tokenizer" --chat-template llama3 --max-length 2048 --draft-vocab-size 32000 \
      --output-dir "$work/out_$renderer" > /dev/null
    end=$(date +%s.%N)
    label=$([[ $threads == 0 ]] && echo "$(nproc)" || echo 1)
    awk -v s="$start" -v e="$end" -v t="$label" -v r="$renderer" \
      'BEGIN { printf "prepare_conversations_per_s renderer=%s threads=%s %.0f\n", r, t, 20000 / (e - s) }'
  done
done
# The two renderers write the same samples.
cmp "$work/out_jinja/input_ids.bin" "$work/out_builtin/input_ids.bin"
cmp "$work/out_jinja/loss_mask.bin" "$work/out_builtin/loss_mask.bin"
