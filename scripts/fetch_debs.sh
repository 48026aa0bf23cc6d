#!/usr/bin/env bash
# Downloads (here, where Debian's archive is reachable) the .debs that a build
# needs on a GPU host that has PyTorch 2.x, CUDA, cmake and ninja but no
# Debian -dev packages and no network. The folder (git-ignored) travels with
# the device call (carry: ["debs"]); scripts/gpu_build.sh unpacks it there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/debs"
mkdir -p "$dest"
cd "$dest"
packages=(
  nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev libutf8proc-dev libxxhash-dev libgloo-dev
  libprotobuf-dev protobuf-compiler libprotobuf32 libprotoc32
  libgtest-dev libgmock-dev googletest libbenchmark-dev
)
apt-get download "${packages[@]}"
ls -1 "$dest"
