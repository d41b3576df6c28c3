#!/usr/bin/env bash
# build.sh [release|asan|fuzz]: configure and build into build/, build-asan/ or build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
jobs=${NOCOPY_JOBS:-$(nproc)}
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DNOCOPY_SANITIZE=ON -DNOCOPY_BENCHMARKS=OFF) ;;
  fuzz) dir=build-fuzz; flags=(-DCMAKE_BUILD_TYPE=Debug -DNOCOPY_FUZZ=ON -DNOCOPY_BENCHMARKS=OFF
          -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "usage: build.sh [release|asan|fuzz]" >&2; exit 2 ;;
esac
# ccache, when installed, lets rebuilds and other checkouts of the tree reuse
# objects: paths are hashed relative to the checkout.
if command -v ccache >/dev/null; then
  flags+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" ${NOCOPY_TARGET:+--target $NOCOPY_TARGET}
