#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test
# (unit, end-to-end with real Kafka clients and HTTP clients, bounded fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
cd build
rc=0
ctest --output-on-failure -j "${NOCOPY_TEST_JOBS:-2}" --timeout 900 "$@" || rc=$?
# The compatibility matrix of this run (docs/compat.md is refreshed from it by
# hand: see that page).
if compgen -G "compat-results/*.json" >/dev/null; then
  python3 ../scripts/gen_compat_matrix.py compat-results compat.md || rc=1
fi
exit $rc
