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
build="$root/${1:-build}"
talon="$build/tools/talon"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$talon" init-target --config "$root/examples/tiny-target-config.json" \
  --tokenizer "$build/fixtures/tokenizers/llama3_1" \
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
  "$root/.venv/bin/python" - "$work/$mode/metrics.jsonl" "$mode" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
rates = sorted(r["tokens_per_s"] for r in rows if "split" not in r)
print(f"train_tokens_per_s {sys.argv[2]} {round(rates[len(rates) // 2])}")
PY
done
