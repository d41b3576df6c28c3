#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, and starts the
# broker on 127.0.0.1:9092 with its data in ./data. Extra arguments go to
# `nocopy broker` (see `nocopy broker --help`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
NOCOPY_TARGET=nocopy bash "$root/scripts/build.sh" release >/dev/null
exec "$root/build/nocopy" broker "$@"
