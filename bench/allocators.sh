#!/usr/bin/env bash
# Peak RSS and wall time of whole `talon train` processes under each
# allocator: glibc's malloc with its defaults and with fixed mmap
# thresholds, jemalloc and mimalloc preloaded; and the live heap's peak, from
# heaptrack. One step of one sample of L tokens, the tiny target of
# examples/ with the real 128K vocabulary, T = 7. docs/memory.md
# ("Allocator") has the figures.
#
# The talon binary must allocate with glibc underneath, so that each
# configuration decides: build one with -DTALON_MIMALLOC=OFF, e.g.
#   cmake -S . -B build-glibc -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALON_MIMALLOC=OFF \
#     -DCMAKE_PREFIX_PATH=$(.venv/bin/python -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
#   cmake --build build-glibc --target talon
# Needs Debian's time, heaptrack, libjemalloc2 and libmimalloc2.0.
# Usage: bench/allocators.sh TALON [LENGTH ...]   (default lengths 8192 16384 32768)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
talon=$(realpath "$1")
shift
lengths=("$@")
((${#lengths[@]})) || lengths=(8192 16384 32768)
lib=/usr/lib/x86_64-linux-gnu
for need in /usr/bin/time /usr/bin/heaptrack "$lib/libjemalloc.so.2" "$lib/libmimalloc.so.2"; do
  [[ -e "$need" ]] || { echo "allocators: $need is missing (apt-get install time heaptrack libjemalloc2 libmimalloc2.0)" >&2; exit 1; }
done
if readelf -d "$talon" | grep -q libmimalloc; then
  echo "allocators: $talon links mimalloc; build one with -DTALON_MIMALLOC=OFF" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$talon" init-target --config "$root/examples/tiny-target-config.json" \
  --tokenizer "$root/build/fixtures/tokenizers/llama3_1" --output-dir "$work/target" --seed 0 >/dev/null
# One conversation of common words, one Llama-3.1 token each: cut to L tokens by --max-length.
"$root/.venv/bin/python" - "$work/long.jsonl" "${lengths[@]}" <<'PY'
import json, random, sys
words = "the of and to in is was for on that with as by at from it be this which or are his had not but".split()
count = max(int(n) for n in sys.argv[2:]) + 64
random.seed(0)
answer = " ".join(random.choice(words) for _ in range(count))
conversation = {"conversations": [{"role": "user", "content": "Write a long text."},
                                  {"role": "assistant", "content": answer}]}
open(sys.argv[1], "w").write(json.dumps(conversation) + "\n")
PY

train() {  # L, then the command's prefix
  local length=$1
  shift
  rm -rf "$work/out"
  "$@" "$talon" train --target-model-path "$work/target" --draft-model-config "$root/examples/tiny-draft-config.json" \
    --train-data-path "$work/long.jsonl" --chat-template llama3 --max-length "$length" --output-dir "$work/out" \
    --num-epochs 1 --max-steps 1 --ttt-length 7 --seed 0 --quiet >"$work/train.log" 2>&1 ||
    { cat "$work/train.log" >&2; exit 1; }
}
configs=(
  "glibc"
  "glibc_mmap_2m MALLOC_MMAP_THRESHOLD_=2097152"
  "glibc_mmap_4m MALLOC_MMAP_THRESHOLD_=4194304"
  "glibc_mmap_8m MALLOC_MMAP_THRESHOLD_=8388608"
  "glibc_mmap_32m MALLOC_MMAP_THRESHOLD_=33554432"
  "jemalloc LD_PRELOAD=$lib/libjemalloc.so.2"
  "jemalloc_background LD_PRELOAD=$lib/libjemalloc.so.2 MALLOC_CONF=background_thread:true"
  "jemalloc_decay_0 LD_PRELOAD=$lib/libjemalloc.so.2 MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0"
  "mimalloc LD_PRELOAD=$lib/libmimalloc.so.2"
)
for length in "${lengths[@]}"; do
  train "$length" heaptrack -o "$work/heap" >/dev/null 2>&1
  heaptrack_print -f "$work/heap.zst" 2>/dev/null |
    sed -n "s/^peak heap memory consumption: \(.*\)M$/length $length live_heap_peak_mb \1/p"
  rm -f "$work/heap.zst"
  for config in "${configs[@]}"; do
    read -r -a words <<<"$config"
    train "$length" /usr/bin/time -o "$work/time" -f "%M %e" env "${words[@]:1}"
    read -r kib seconds <"$work/time"
    echo "length $length allocator ${words[0]} peak_rss_mib $((kib / 1024)) wall_s $seconds"
  done
done
