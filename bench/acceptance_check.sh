#!/usr/bin/env bash
# The quick start's draft against an untrained one (the same initial weights,
# no optimizer step) on the quick start's 30 held-out prompts: prints both
# acceptance lengths and fails unless the trained draft's is higher by at
# least 0.2. Runs scripts/quickstart.sh first unless its output exists.
# Usage: bench/acceptance_check.sh [quickstart-output-dir]   (default out/quickstart)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
talon="${TALON_BUILD_DIR:-build}/tools/talon"
out="${1:-out/quickstart}"
target=.cache/models/SmolLM2-135M-Instruct
template="$target/chat_template.jinja"
[[ -f "$out/eval.json" ]] || scripts/quickstart.sh "$out"
"$talon" train --target-model-path "$target" --chat-template "$template" \
  --draft-model-config examples/smollm2-draft-config.json \
  --train-data-path "$out/data/train.jsonl" --max-length 1024 \
  --output-dir "$out/untrained" --num-epochs 1 --learning-rate 0 --max-steps 1 --seed 0 \
  --ttt-length 3 --draft-global-batch-size 2 --draft-micro-batch-size 2 --quiet
"$talon" eval --target-model-path "$target" --chat-template "$template" \
  --draft-model-path "$out/untrained/$(cat "$out/untrained/latest")" \
  --data-path "$out/data/heldout.jsonl" --max-new-tokens 64 --batch-size 10 --output "$out/eval_untrained.json"
length() { .venv/bin/python -c "import json, sys; print(f\"{json.load(open(sys.argv[1]))['acceptance_length']:.3f}\")" "$1"; }
trained=$(length "$out/eval.json")
untrained=$(length "$out/eval_untrained.json")
echo "acceptance length on the held-out prompts: trained $trained, untrained $untrained"
.venv/bin/python -c "import sys; sys.exit(0 if $trained >= $untrained + 0.2 else 1)" ||
  { echo "acceptance_check: the trained draft is not clearly better" >&2; exit 1; }
