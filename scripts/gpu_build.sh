#!/usr/bin/env bash
# Builds Talon on a GPU host against PyTorch's libtorch, with the Debian
# packages unpacked from debs/ (scripts/fetch_debs.sh) instead of installed.
# Usage on the device: scripts/gpu_build.sh [build-dir]   (default: build-gpu)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sysroot="$root/.cache/debroot"
rm -rf "$sysroot" && mkdir -p "$sysroot"
for deb in debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S . -B "${1:-build-gpu}" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$sysroot/usr" \
  -DCMAKE_LIBRARY_PATH="$sysroot/usr/lib/x86_64-linux-gnu" \
  -DGTest_DIR="$sysroot/usr/lib/x86_64-linux-gnu/cmake/GTest"
cmake --build "${1:-build-gpu}" -j "$(nproc)"
