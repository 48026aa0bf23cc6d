#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, coverage on the libraries
# too) into build-fuzz/ and runs each for a bounded time. Not part of CI.
# Usage: scripts/fuzz.sh [seconds-per-target (default 120)] [target ...]
# Seeds: fuzz/corpus/<target>/ and an optional fuzz/<target>.dict (committed);
# new inputs, crashes and the log go to build-fuzz/{corpus,crashes}/<target>/
# and build-fuzz/<target>.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds="${1:-120}"
shift || true
build=build-fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  TALON_SKIP_BUILD=1 scripts/setup.sh  # torch in .venv
  torch_prefix=$(.venv/bin/python -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  # The CUDA kernels stay out: nvcc does not take clang as its host compiler.
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_PREFIX_PATH="$torch_prefix" -DTALON_CUDA=OFF \
    -DTALON_BUILD_FUZZ=ON -DTALON_BUILD_TESTS=OFF -DTALON_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags"
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  dict=()
  [[ -f "fuzz/$t.dict" ]] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s"
  # A crash or sanitizer report stops the target and leaves its input in crashes/.
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$build/fuzz/$t" -max_total_time="$seconds" \
    -artifact_prefix="$build/crashes/$t/" -print_final_stats=1 "${dict[@]}" \
    "$build/corpus/$t" "fuzz/corpus/$t" > "$build/$t.log" 2>&1 || echo "fuzz: $t FAILED, see $build/$t.log"
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$build/$t.log" || true
done
