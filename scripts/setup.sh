#!/usr/bin/env bash
# Installs the Debian packages nocopy needs to build, test and benchmark.
# Idempotent: packages already present are not touched; apt-get update only
# runs when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  nlohmann-json3-dev librdkafka-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
  clang-14 libclang-rt-14-dev
  kcat python3 python3-kafka python3-snappy python3-lz4 python3-zstandard
  curl wrk nginx-light procps
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
