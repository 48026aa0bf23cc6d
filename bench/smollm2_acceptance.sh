#!/usr/bin/env bash
# A real draft for a real target, by hand (not CI; about three hours on 2
# cores with the learning curve, and an hour more for the evaluations):
# SmolLM2-135M-Instruct answers 1,165 generated prompts and the 300 bundled
# conversations (greedy, at most 128 tokens a reply: about half an hour), its
# hidden states are cached, an EAGLE-3 draft trains on them for EPOCHS epochs
# (offline), and it decodes held-out prompts speculatively: generated chat
# prompts none of which were trained on, and HumanEval's problems; chain
# drafting at 3 and 5 steps and one tree, and an untrained draft (the same
# initial weights, no step) at 3. Batch 1, so the tokens/s are a single
# user's. The learning curve: the same recipe on nested random shares of
# the data (SHARES), each decoding the held-out chat prompts at 3 steps.
# The block drafters (METHODS): DFlash (block size 8: 7 drafts a round) and
# DSpark (gamma 7) train on the same data for the same epochs, 3 layers over
# target layers [1, 14, 27], 32 blocks per sample, with their recipes'
# learning rate (6e-4, warmup 4%, clip 1.0); they and EAGLE-3 (chain 7
# too, the same drafts a round) decode the held-out prompts.
# Prints one table; every figure is also in OUT/eval/*.json, the step
# times and peak memory in OUT/times.txt. A rerun continues what is
# unfinished.
# Usage: bench/smollm2_acceptance.sh [OUT]   (default out/smollm2_bench; after scripts/setup.sh)
# Environment: EPOCHS (3), TTT (5), EVAL_PROMPTS per set (20), EVAL_TOKENS (128),
# SHARES ("0.25 0.5"; "" for none), METHODS ("dflash dspark"; "" for none).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
talon="${TALON_BUILD_DIR:-build}/tools/talon"
python=.venv/bin/python
out="${1:-out/smollm2_bench}"
epochs="${EPOCHS:-3}"
ttt="${TTT:-5}"
eval_prompts="${EVAL_PROMPTS:-20}"
eval_tokens="${EVAL_TOKENS:-128}"
target=.cache/models/SmolLM2-135M-Instruct
template=(--chat-template "$target/chat_template.jinja")
draft_config=examples/smollm2-draft-config.json
mkdir -p "$out/eval"
# step NAME COMMAND...: runs COMMAND unless OUT/NAME.done exists; appends
# its seconds and its peak resident memory (VmHWM, polled) to OUT/times.txt.
step() {
  local name=$1
  shift
  [[ -f "$out/$name.done" ]] && return 0
  local start peak=0 kib
  start=$(date +%s)
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $kib && $kib -gt $peak ]] && peak=$kib
    sleep 0.5
  done
  wait "$pid"
  echo "$name $(($(date +%s) - start)) s $((peak / 1024)) MiB" >>"$out/times.txt"
  touch "$out/$name.done"
}

step prompts "$python" bench/smollm2_prompts.py "$out/prompts"
cat "$out/prompts/train.jsonl" examples/conversations.jsonl >"$out/prompts/all_train.jsonl"
step regenerate "$talon" regenerate --target-model-path "$target" "${template[@]}" \
  --input-file-path "$out/prompts/all_train.jsonl" --output-file-path "$out/train.jsonl" \
  --temperature 0 --max-new-tokens 128 --batch-size 32
# cache_and_train NAME DATA: caches DATA's hidden states in OUT/NAME_cache
# and trains the draft on them into OUT/NAME.
cache_and_train() {
  step "${1}_cache" "$talon" cache --target-model-path "$target" "${template[@]}" --draft-model-config "$draft_config" \
    --data-path "$2" --max-length 1024 --output-dir "$out/${1}_cache" --batch-size 8 --quiet
  step "$1" "$talon" train "${train_common[@]}" --train-hidden-states-path "$out/${1}_cache" --output-dir "$out/$1" \
    --num-epochs "$epochs" --learning-rate 1e-3 --warmup-ratio 0.015 --save-interval 0
}
train_common=(--target-model-path "$target" "${template[@]}" --draft-model-config "$draft_config"
  --max-length 1024 --ttt-length "$ttt" --seed 0
  --draft-global-batch-size 4 --draft-micro-batch-size 4 --max-grad-norm 0.5 --quiet)
cache_and_train train "$out/train.jsonl"
step untrained "$talon" train "${train_common[@]}" --train-hidden-states-path "$out/train_cache" \
  --output-dir "$out/untrained" --num-epochs 1 --learning-rate 0 --max-steps 1
shares=()
for share in ${SHARES-0.25 0.5}; do
  shares+=("share$share")
  # The first SHARE of the samples in one seeded order: each share holds the smaller ones.
  step "share${share}_data" "$python" -c '
import random, sys
lines = open(sys.argv[1]).readlines()
random.Random(0).shuffle(lines)
open(sys.argv[3], "w").writelines(lines[: round(len(lines) * float(sys.argv[2]))])' \
    "$out/train.jsonl" "$share" "$out/share$share.jsonl"
  cache_and_train "share$share" "$out/share$share.jsonl"
done

methods=()
for method in ${METHODS-dflash dspark}; do
  methods+=("$method")
  step "${method}_cache" "$talon" cache --strategy "$method" --target-model-path "$target" "${template[@]}" \
    --draft-model-config "examples/smollm2-$method-config.json" --data-path "$out/train.jsonl" --max-length 1024 \
    --output-dir "$out/${method}_cache" --batch-size 8 --quiet
  step "$method" "$talon" train --strategy "$method" --target-model-path "$target" "${template[@]}" \
    --draft-model-config "examples/smollm2-$method-config.json" --max-length 1024 --seed 0 \
    --draft-global-batch-size 4 --draft-micro-batch-size 4 --num-anchors 32 --quiet \
    --train-hidden-states-path "$out/${method}_cache" --output-dir "$out/$method" --num-epochs "$epochs" \
    --learning-rate 6e-4 --warmup-ratio 0.04 --max-grad-norm 1.0 --save-interval 0
  checkpoint="$out/$method/$(cat "$out/$method/latest")"
  for set in chat_eval humaneval; do
    step "eval_${method}_${set}_block" "$talon" eval --strategy "$method" --target-model-path "$target" \
      "${template[@]}" --draft-model-path "$checkpoint" --data-path "$out/prompts/$set.jsonl" \
      --num-prompts "$eval_prompts" --max-new-tokens "$eval_tokens" --batch-size 1 \
      --output "$out/eval/${method}_${set}_block.json"
  done
done

shapes=("chain3:--speculative-num-steps 3"
  "chain5:--speculative-num-steps 5"
  "chain7:--speculative-num-steps 7"
  "tree:--speculative-num-steps 5 --speculative-eagle-topk 4 --speculative-num-draft-tokens 16")
for draft in train untrained "${shares[@]}"; do
  checkpoint="$out/$draft/$(cat "$out/$draft/latest")"
  for set in chat_eval humaneval; do
    for shape in "${shapes[@]}"; do
      name=${shape%%:*}
      [[ $draft != train && $name != chain3 ]] && continue
      [[ $name == chain7 && ${#methods[@]} -eq 0 ]] && continue
      [[ $draft == share* && $set != chat_eval ]] && continue
      # shellcheck disable=SC2086  # the shape's flags split on spaces
      step "eval_${draft}_${set}_$name" "$talon" eval --target-model-path "$target" "${template[@]}" \
        --draft-model-path "$checkpoint" --data-path "$out/prompts/$set.jsonl" --num-prompts "$eval_prompts" \
        --max-new-tokens "$eval_tokens" --batch-size 1 ${shape#*:} --output "$out/eval/${draft}_${set}_$name.json"
    done
  done
done

"$python" - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
print(f"{'draft':10} {'prompts':10} {'shape':7} {'accept':>7} {'per depth':32} {'spec tok/s':>10} {'alone tok/s':>11}")
for f in sorted((out / "eval").glob("*.json")):
    draft, rest = f.stem.split("_", 1)
    prompts, shape = rest.rsplit("_", 1)
    r = json.loads(f.read_text())
    depth = " ".join(f"{x:.2f}" for x in r["acceptance_rate_per_position"])
    print(f"{draft:10} {prompts:10} {shape:7} {r['acceptance_length']:7.2f} {depth:32} "
          f"{r['speculative_tokens_per_s']:10.1f} {r['greedy_tokens_per_s']:11.1f}")
for run in ["train", "dflash", "dspark"]:
    metrics = out / run / "metrics.jsonl"
    if not metrics.exists():
        continue
    steps = [json.loads(l) for l in metrics.read_text().splitlines()]
    steps = [m for m in steps if "tokens_per_s" in m]
    tokens = sum(m["tokens"] for m in steps)
    rate = sum(m["tokens_per_s"] for m in steps) / len(steps)
    print(f"training {run}: {len(steps)} steps, {tokens} tokens, mean {rate:.0f} tokens/s")
print((out / "times.txt").read_text(), end="")
PY
