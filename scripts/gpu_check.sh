#!/usr/bin/env bash
# The GPU checks, for a lent GPU machine: PyTorch 2.11 installed, no compiler,
# no package registry, minutes of time. Nothing is built there: the binaries
# are built here and carried.
#
#   scripts/gpu_check.sh bundle     here: copies the binaries the checks run, and
#                                   the shared libraries they need beyond torch's,
#                                   into build/gpu-bundle (about 32 MB)
#   scripts/gpu_check.sh run        there, from the repository root: every check
#                                   below, in under 8 minutes on an H100; writes
#                                   $OUT/gpu_check.json (without $OUT: out/gpu_check/)
#   scripts/gpu_check.sh dry-run    here, on the CPU: the same steps on tiny shapes,
#                                   to check the bundle, the libraries, the
#                                   arguments and the JSON
#
# The checks, in order:
#   1. talon --version and the machine (nvidia-smi)
#   2. the CUDA tests: the flash-attention kernel against the plain forms
#      (test_flash_attention_cuda), the bf16 target on the GPU against fp32 on
#      the CPU (test_target_model), the collectives over NCCL (test_parallel)
#   3. one online training step with a Llama-3.1-8B-shaped target (random
#      weights made on the GPU) and the SpecForge 8B draft, at 4K and 16K
#      tokens: tokens/s, model FLOP utilisation, peak GPU memory
#      (bench/online_step)
#   4. one bf16 training step of the Llama-3.1-8B draft shape (H 4096, 32/8
#      heads, I 14336, Vd 32000, T 7) at L = 4K, 8K, ... 128K, until one does
#      not fit in memory or in the time left (bench/draft_step)
# Device call (docs/benchmarks.md, "GPU"):
#   run(command="scripts/gpu_check.sh run", carry=["build/gpu-bundle"], timeout_s=600)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode="${1:-run}"
bundle="$root/${TALON_BUILD_DIR:-build}/gpu-bundle"

make_bundle() {
  local build="$root/${TALON_BUILD_DIR:-build}"
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/fallback"
  cp "$build/tools/talon" "$build/tests/test_flash_attention_cuda" "$build/tests/test_target_model" \
    "$build/tests/test_parallel" "$build/bench/draft_step" "$build/bench/online_step" "$bundle/bin/"
  # Beyond torch's libraries the binaries need mimalloc (cmake/allocator.cmake);
  # Debian's libstdc++ waits in fallback/ for a machine whose own is older.
  cp -L "$(ldconfig -p | awk '/libmimalloc.so.2 /{print $NF; exit}')" "$bundle/lib/libmimalloc.so.2"
  cp -L "$(ldconfig -p | awk '/libstdc\+\+.so.6 /{print $NF; exit}')" "$bundle/fallback/libstdc++.so.6"
  du -sh "$bundle"
}

if [[ "$mode" == bundle ]]; then
  make_bundle
  exit 0
fi
if [[ "$mode" != run && "$mode" != dry-run ]]; then
  echo "usage: scripts/gpu_check.sh bundle|run|dry-run" >&2
  exit 2
fi
dry=$([[ "$mode" == dry-run ]] && echo 1 || echo 0)
start=$(date +%s)
budget=${TALON_GPU_CHECK_BUDGET:-450}  # seconds for every check together: the whole run stays under 8 minutes
out="${OUT:-$root/out/gpu_check}"
work="$out/gpu_check"
rm -rf "$work"
mkdir -p "$work"
for f in talon test_flash_attention_cuda test_target_model test_parallel draft_step online_step; do
  [[ -x "$bundle/bin/$f" ]] || { echo "gpu_check: $bundle/bin/$f is missing: run scripts/gpu_check.sh bundle here" >&2; exit 1; }
done

# torch's libraries and the CUDA ones of its nvidia-* wheels, from the
# Python that has torch: $TALON_PYTHON, else the project's .venv, else python3.
python=python3
[[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
python="${TALON_PYTHON:-$python}"
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
torch_version=$("$python" -c 'import torch; print(torch.__version__, torch.version.cuda)')
shopt -s nullglob
library_path="$bundle/lib:$torch_lib"
for dir in "$(dirname "$(dirname "$torch_lib")")"/nvidia/*/lib; do library_path+=":$dir"; done
shopt -u nullglob
export LD_LIBRARY_PATH="$library_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The report, written again after every phase, so that whatever ran is kept.
report() { "$python" "$root/scripts/gpu_check_report.py" "$work" "$out/gpu_check.json" "$dry" "$(elapsed)"; }
elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((budget - $(elapsed))); }
# timeout for a phase: its own cap, or what is left of the budget.
cap() { local l; l=$(left); echo $((l < $1 ? (l > 1 ? l : 1) : $1)); }

# 1. The build against the machine: the bundle's libtorch and CUDA must be
# the installed torch's (2.11.0 and CUDA 13 for a bundle made here).
echo "$torch_version" >"$work/torch.txt"
if ! "$bundle/bin/talon" --version >"$work/version.txt" 2>&1; then
  if grep -q GLIBCXX "$work/version.txt"; then
    export LD_LIBRARY_PATH="$bundle/fallback:$LD_LIBRARY_PATH"
    "$bundle/bin/talon" --version >"$work/version.txt" 2>&1 || true
  fi
fi
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "no nvidia-smi") \
  >"$work/gpu.txt"
built=$(sed -n 's/^libtorch //p' "$work/version.txt")
built_cuda=$(sed -n 's/^CUDA: compiled in (toolkit \([0-9]*\)\..*/\1/p' "$work/version.txt")
torch_cuda=${torch_version#* }
if [[ -z "$built" || "${torch_version%%[+ ]*}" != "$built" || ( -n "$built_cuda" && "${torch_cuda%%.*}" != "$built_cuda" ) ]]; then
  echo "gpu_check: the bundle needs libtorch $built with CUDA $built_cuda, this machine has torch $torch_version" \
    >"$work/abort.txt"
  report
  cat "$work/abort.txt" "$work/version.txt" >&2
  exit 1
fi
report

# 2. The CUDA tests, each with its gtest JSON report.
run_test() {  # name binary filter
  local seconds=$SECONDS status=0
  timeout "$(cap 120)" "$bundle/bin/$2" --gtest_filter="$3" --gtest_output="json:$work/test_$1.json" \
    >"$work/test_$1.log" 2>&1 || status=$?
  echo "$1 $status $((SECONDS - seconds))" >>"$work/tests.txt"
  report
}
run_test flash_attention_cuda test_flash_attention_cuda 'FlashAttentionCuda.*'
run_test target_model_cuda test_target_model 'TargetModel.CudaBf16StaysCloseToCpuFp32'
run_test nccl_collectives test_parallel 'Collectives.MatchTheirDefinitionsOverNccl'

# 3. Online training steps with an 8B target (tiny models on the CPU in a dry run).
if ((dry)); then
  online=(--device cpu --lengths 128,256 --steps 1 --peak-tflops 0
    --target-config examples/tiny-target-config.json --draft-config examples/tiny-draft-config.json)
  draft=(tiny cpu)
  lengths=(256 512 1024)
else
  online=(--device cuda --lengths 4096,16384 --steps 1)
  draft=(llama3-8b cuda)
  lengths=(4096 8192 16384 32768 65536 131072)
fi
status=0
timeout "$(cap 180)" "$bundle/bin/online_step" "${online[@]}" >"$work/online_step.txt" 2>&1 || status=$?
echo "status $status" >>"$work/online_step.txt"
report

# 4. The draft step at growing L: attention makes a step about 4x longer per
# doubling, so a length starts only when 5x the previous one fits the budget.
previous=0
for length in "${lengths[@]}"; do
  remaining=$(left)
  if ((remaining < 10 || previous * 5 > remaining)); then
    echo "length $length skipped: $remaining s left, the previous length took $previous s" >>"$work/draft_step.txt"
    break
  fi
  steps=$((length <= 16384 ? 1 : 0))  # past 16K the first step alone is timed
  seconds=$SECONDS
  status=0
  timeout "$remaining" "$bundle/bin/draft_step" "${draft[@]}" "$length" 7 "$steps" >"$work/draft_step_$length.txt" 2>&1 ||
    status=$?
  previous=$((SECONDS - seconds + 1))
  echo "length $length status $status seconds $previous" >>"$work/draft_step.txt"
  report
  ((status == 0)) || break  # out of memory (or of time): the largest L is the one before
done
report
echo "gpu_check: $out/gpu_check.json ($(elapsed) s)"
