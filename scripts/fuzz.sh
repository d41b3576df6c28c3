#!/usr/bin/env bash
# fuzz.sh [seconds]: build the libFuzzer targets (clang-14, build-fuzz/) and
# run each for a bounded time from its checked-in seed corpus
# (fuzz/corpus/<target>/). New inputs go to a scratch dir, not the repo.
# Exits non-zero when a target crashes (the reproducer is left in
# build-fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
targets=(request_decoder generated_decoders http_request sasl_exchange)
NOCOPY_TARGET="$(printf 'fuzz_%s ' "${targets[@]}")" bash scripts/build.sh fuzz
mkdir -p build-fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  echo "== fuzz_$t for ${secs}s"
  if ! build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"- "$scratch" "fuzz/corpus/$t"; then
    echo "fuzz_$t: FAILED (see build-fuzz/artifacts/)" >&2
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
