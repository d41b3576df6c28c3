#!/usr/bin/env bash
# setup.sh: installs what benchmarks/peers/run.py needs; idempotent, pinned.
#   - Debian: nats-server, redis-server, python3-matplotlib (for gen_doc.py), maven, Java 17
#   - Apache Kafka (kafka_2.13, kafka-tools, kafka-storage; version in pom.xml) resolved by
#     Maven into ~/.cache/nocopy/kafka-<version>/libs (~/.m2 caches the download)
#   - loadgen/ (nats.go, go-redis; pinned in go.mod) built into ~/.cache/nocopy/peers-loadgen
set -euo pipefail
cd "$(dirname "$0")"
need=()
for p in nats-server redis-server python3-matplotlib maven openjdk-17-jre-headless; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi
version=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' pom.xml)
libs=$HOME/.cache/nocopy/kafka-$version/libs
if [ ! -f "$libs/.complete" ]; then
  rm -rf "$libs"
  mvn -q -B dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime
  touch "$libs/.complete"
fi
(cd loadgen && go build -o "$HOME/.cache/nocopy/peers-loadgen" .)
echo "peers: Kafka $version in $libs, loadgen in ~/.cache/nocopy/peers-loadgen"
