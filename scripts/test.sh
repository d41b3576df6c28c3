#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test
# (unit, end-to-end with real Kafka clients and HTTP clients, bounded fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
cd build
ctest --output-on-failure -j "${NOCOPY_TEST_JOBS:-2}" --timeout 900 "$@"
