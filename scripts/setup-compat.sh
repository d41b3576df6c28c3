#!/usr/bin/env bash
# Installs the third-party clients of the compatibility tests (tests/compat/):
# Maven artifacts of tests/compat/java, tests/compat/connect and tests/compat/kafka-tools
# into ~/.m2,
# the Go modules of tests/compat/*/go.mod into the Go module cache, and the
# Python clients pinned by tests/compat/python/requirements.txt into the venv
# ~/.cache/nocopy/compat-venv. Idempotent: `go mod download` only fetches
# what the cache lacks; pip only runs when requirements.txt differs from the
# one the last successful install recorded. An unreachable registry is
# reported here; the compat tests that need it then fail saying what is
# missing.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
status=0

if command -v go >/dev/null; then
  for mod in "$ROOT"/tests/compat/*/go.mod; do
    [[ -e "$mod" ]] || continue
    dir="$(dirname "$mod")"
    if ! (cd "$dir" && go mod download >/dev/null 2>&1); then
      echo "setup-compat: ERROR: go mod download failed in $dir (is the Go module proxy reachable?)" >&2
      status=1
    fi
  done
else
  echo "setup-compat: ERROR: no go toolchain on PATH; the Go compat tests will fail" >&2
  status=1
fi

VENV="$HOME/.cache/nocopy/compat-venv"
REQ="$ROOT/tests/compat/python/requirements.txt"
stamp="$VENV/.nocopy-installed-requirements"
if [[ -e "$REQ" ]] && ! cmp -s "$REQ" "$stamp"; then
  echo "setup-compat: pip install into $VENV" >&2
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV" || { echo "setup-compat: ERROR: python3 -m venv failed" >&2; exit 1; }
  fi
  if "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"; then
    cp "$REQ" "$stamp"
  else
    echo "setup-compat: ERROR: pip install failed (is PyPI reachable?); the Python compat tests will fail" >&2
    status=1
  fi
fi
# The Java client scenarios (tests/compat/java/pom.xml, both client lines):
# Maven resolves into ~/.m2 once; later runs find everything offline.
if command -v mvn >/dev/null; then
  for profile in "" "-Pkafka3"; do
    if ! mvn -o -q -B -f "$ROOT/tests/compat/java/pom.xml" $profile \
         -Dnocopy.out="$HOME/.cache/nocopy/compat-java-setup" dependency:resolve dependency:resolve-plugins compile >/dev/null 2>&1 \
       && ! mvn -q -B -f "$ROOT/tests/compat/java/pom.xml" $profile \
         -Dnocopy.out="$HOME/.cache/nocopy/compat-java-setup" dependency:resolve dependency:resolve-plugins compile >/dev/null 2>&1; then
      echo "setup-compat: ERROR: Maven could not resolve tests/compat/java $profile (is Maven Central reachable?); the Java compat tests will fail" >&2
      status=1
    fi
  done
  connect="$ROOT/tests/compat/connect/pom.xml"
  if ! mvn -o -q -B -f "$connect" -Dnocopy.out="$HOME/.cache/nocopy/compat-connect-setup" \
         dependency:resolve dependency:resolve-plugins compile >/dev/null 2>&1 \
     && ! mvn -q -B -f "$connect" -Dnocopy.out="$HOME/.cache/nocopy/compat-connect-setup" \
         dependency:resolve dependency:resolve-plugins compile >/dev/null 2>&1; then
    echo "setup-compat: ERROR: Maven could not resolve tests/compat/connect (is Maven Central reachable?); the Kafka Connect compat test will fail" >&2
    status=1
  fi
  tools="$ROOT/tests/compat/kafka-tools/pom.xml"
  if ! mvn -o -q -B -f "$tools" dependency:resolve >/dev/null 2>&1 \
     && ! mvn -q -B -f "$tools" dependency:resolve >/dev/null 2>&1; then
    echo "setup-compat: ERROR: Maven could not resolve tests/compat/kafka-tools (is Maven Central reachable?); the Kafka tools compat test will fail" >&2
    status=1
  fi
else
  echo "setup-compat: ERROR: no mvn on PATH (Debian package maven); the Java compat tests will fail" >&2
  status=1
fi
exit $status
