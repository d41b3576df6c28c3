#!/usr/bin/env bash
# Installs the Debian packages nocopy needs to build, test and benchmark,
# kafkajs (npm) for the kafkajs end-to-end test, and the clients of the
# compatibility tests (scripts/setup-compat.sh).
# Idempotent: packages already present are not touched; apt-get update only
# runs when something is missing; npm only when the kafkajs lock file changed.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  nlohmann-json3-dev librdkafka-dev libssl-dev libsasl2-dev libsasl2-modules openssl
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
  clang-14 libclang-rt-14-dev
  kcat python3 python3-venv python3-kafka python3-snappy python3-lz4 python3-zstandard
  python3-confluent-kafka
  curl wrk nginx-light procps ccache
  openjdk-17-jdk-headless maven
  # cluster mode (src/cluster): etcd 3.4 and the client's HTTP + base64 libraries
  etcd-server libcurl4-openssl-dev libssl-dev
  # the cluster fault tests cut brokers off with firewall rules in their namespaces
  iptables
)

# The kafkajs end-to-end tests need node and npm; any node >= 14 will do, so
# an existing installation (e.g. NodeSource's, which bundles npm) is kept.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PKGS+=(nodejs npm)
fi

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

# kafkajs for tests/e2e/test_kafkajs.py, pinned by tests/e2e/kafkajs/
# package-lock.json. `npm ci` needs the npm registry and rebuilds
# node_modules from scratch, so it only runs when the lock file differs from
# the one the last successful install recorded.
KJS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/kafkajs"
stamp="$KJS/node_modules/.nocopy-installed-lock"
if ! cmp -s "$KJS/package-lock.json" "$stamp"; then
  echo "setup: npm ci in $KJS" >&2
  if (cd "$KJS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    cp "$KJS/package-lock.json" "$stamp"
  else
    # Everything else still builds and tests; only the kafkajs tests fail.
    echo "setup: WARNING: npm ci failed (is the npm registry reachable?)" >&2
  fi
fi

# Go and PyPI clients of tests/compat/, pinned there. Everything else still
# builds and tests without them; only the compat tests fail, saying why.
if ! bash "$(dirname "${BASH_SOURCE[0]}")/setup-compat.sh"; then
  echo "setup: WARNING: compat clients incomplete (see above); the compat tests will fail" >&2
fi
