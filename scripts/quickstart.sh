#!/usr/bin/env bash
# From a fresh machine to a trained and evaluated draft for a real model:
# installs what is missing and builds (setup also fetches SmolLM2-135M-Instruct,
# docs/target_models.md), has SmolLM2 rewrite the answers of the 300 bundled
# conversations (greedy), trains an EAGLE-3 draft on 270 of them for one epoch,
# and measures its acceptance length on the 30 held out. About five minutes on
# 2 cores once built; bench/smollm2_acceptance.sh is the larger run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
build="${TALON_BUILD_DIR:-build}"
talon="$build/tools/talon"
out="${1:-out/quickstart}"
target=.cache/models/SmolLM2-135M-Instruct
# The model's own template: its default system prompt, as serving renders it.
template="$target/chat_template.jinja"
# The draft learns the target's distribution: the target writes the answers.
mkdir -p "$out/data"
"$talon" regenerate --target-model-path "$target" --chat-template "$template" \
  --input-file-path examples/conversations.jsonl --output-file-path "$out/data/regenerated.jsonl" \
  --temperature 0 --max-new-tokens 64 --batch-size 32
head -n 270 "$out/data/regenerated.jsonl" >"$out/data/train.jsonl"
tail -n 30 "$out/data/regenerated.jsonl" >"$out/data/heldout.jsonl"
# Three training-time-test steps, the depth talon eval drafts by default:
# SpecForge's seven cost twice the time on a CPU for depths not measured here.
"$talon" train --target-model-path "$target" --chat-template "$template" \
  --draft-model-config examples/smollm2-draft-config.json \
  --train-data-path "$out/data/train.jsonl" --max-length 1024 \
  --output-dir "$out/train" \
  --num-epochs 1 --learning-rate 2e-3 --warmup-ratio 0.015 --max-grad-norm 0.5 \
  --ttt-length 3 --seed 0 --draft-global-batch-size 2 --draft-micro-batch-size 2 \
  --save-interval 50
train_dir=$(cd "$out/train" && pwd)
checkpoint="$train_dir/$(cat "$train_dir/latest")"
"$talon" eval --target-model-path "$target" --chat-template "$template" --draft-model-path "$checkpoint" \
  --data-path "$out/data/heldout.jsonl" --max-new-tokens 64 --batch-size 10 --output "$out/eval.json"
length=$(.venv/bin/python -c "import json, sys; print(f\"{json.load(open(sys.argv[1]))['acceptance_length']:.2f}\")" "$out/eval.json")
echo "quickstart: acceptance length $length on the 30 held-out prompts (all figures in $out/eval.json)"
echo "quickstart: draft checkpoint in $checkpoint"
echo "quickstart: metrics in $train_dir/metrics.jsonl, TensorBoard logs in $train_dir/tensorboard"
