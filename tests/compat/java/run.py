"""Runs the Java client scenarios (Main.java) against a real `nocopy broker`.

Usage: run.py 4|3   (kafka-clients/kafka-streams: the newest 4.x or the 3.x line,
pinned in pom.xml). Compiles with Maven offline (scripts/setup-compat.sh fills
~/.m2), starts the broker with tests/e2e/harness.py, restarts it when the Java
program asks ("RESTART SIGTERM|SIGKILL" on its stdout) and writes
$NOCOPY_COMPAT_RESULTS/java-clients-<version>.json. Exits non-zero when a
scenario fails or the scenarios cannot run at all.

Then the security scenarios (SecurityMain.java): a second broker with SSL and
SASL_SSL listeners, a CA and server certificate made with openssl at run time
(tests/e2e/security_util.py), a SCRAM user from --scram-user, SASL sessions
of 3 s (--connections-max-reauth-ms, so the client re-authenticates); the
Java client trusts the CA's PEM file (ssl.truststore.type=PEM).
"""
import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import compat_common  # noqa: E402
import security_util  # noqa: E402

SCENARIOS = ["produce_idempotent_keys", "consume_group_commit", "restart_sigterm", "restart_sigkill",
             "admin_create_delete_topics", "admin_describe_topics", "admin_describe_groups",
             "admin_describe_configs", "streams_wordcount_alos", "streams_wordcount_compacted_changelog",
             "streams_eos", "streams_eos_restart", "transactions_commit_abort", "admin_list_offsets"]
SECURITY_SCENARIOS = ["ssl_produce_consume_group", "sasl_ssl_scram_sha_256_group", "sasl_ssl_scram_sha_512_group",
                      "sasl_ssl_wrong_password", "sasl_ssl_reauthentication"]
REAUTH_MS = 3000  # the security broker's connections.max.reauth.ms: SASL sessions end after 3 s
SCRAM_USER, SCRAM_PASSWORD = "javauser", "java-secret-pw"


def run_security(classpath):
    """SecurityMain against a broker with SSL and SASL_SSL listeners -> [(name, status, reason)]."""
    d = tempfile.mkdtemp(prefix="nocopy-java-sec-")
    security_util.make_ca(d)
    cert, key = security_util.make_cert(d, "server", "localhost")
    ports = {p: harness.free_port() for p in ("PLAINTEXT", "SSL", "SASL_SSL")}
    listeners = ",".join("%s://127.0.0.1:%d" % kv for kv in ports.items())
    broker = harness.Broker("--listeners", listeners, "--ssl-cert", cert, "--ssl-key", key,
                            "--scram-user", "%s:%s" % (SCRAM_USER, SCRAM_PASSWORD),
                            "--connections-max-reauth-ms", str(REAUTH_MS), threads=2)
    broker.port = ports["PLAINTEXT"]
    results = []
    try:
        broker.start()
        cmd = ["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
               "nocopy.compat.SecurityMain", "127.0.0.1:%d" % ports["SSL"], "127.0.0.1:%d" % ports["SASL_SSL"],
               os.path.join(d, "ca.pem"), SCRAM_USER, SCRAM_PASSWORD] + SECURITY_SCENARIOS
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=300)
        for out in p.stdout.splitlines():
            print(out, flush=True)
            if out.startswith("SCENARIO "):
                parts = out.split(" ", 3)
                results.append((parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print("security scenarios: %s" % e, flush=True)
    finally:
        if broker.alive():
            broker.stop()
        if any(r[1] == "fail" for r in results) or len(results) < len(SECURITY_SCENARIOS):
            sys.stderr.write("---- security broker log (tail) ----\n" + broker.log()[-5000:] + "\n")
        shutil.rmtree(d, ignore_errors=True)
    done = {r[0] for r in results}
    return results + [(s, "fail", "the Java program ended before reporting it")
                      for s in SECURITY_SCENARIOS if s not in done]


def main():
    line = sys.argv[-1] if len(sys.argv) > 1 and sys.argv[-1] in ("3", "4") else "4"
    profile = ["-Pkafka3"] if line == "3" else []
    version = compat_common.pom_property(os.path.join(HERE, "pom.xml"), "kafka.version", profile)
    client = "java-kafka-clients-%s" % line
    out_dir = os.path.join(compat_common.work_dir(), "java-" + version)
    try:
        cp = compat_common.maven_build(HERE, profile + ["-Dnocopy.out=" + out_dir], out_dir, compile_sources=True)
    except RuntimeError as e:
        compat_common.write_results(client, version, [(s, "fail", str(e)) for s in SCENARIOS + SECURITY_SCENARIOS])
        sys.exit(str(e))
    classpath = os.path.join(out_dir, "classes") + os.pathsep + cp
    broker = harness.Broker(threads=2).start()
    advertised = broker.advertised()
    results = []
    versions = {}
    try:
        java = subprocess.Popen(["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                                 "-cp", classpath, "nocopy.compat.Main", broker.addr] + SCENARIOS,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for out in java.stdout:
            out = out.rstrip("\n")
            print(out, flush=True)
            if out.startswith("RESTART "):
                sig = signal.SIGKILL if out.split()[1] == "SIGKILL" else signal.SIGTERM
                broker.versions_used(versions)
                rc = broker.stop(sig)
                if sig == signal.SIGTERM and rc != 0:
                    raise RuntimeError("broker exited with %s on SIGTERM:\n%s" % (rc, broker.log()))
                broker.start()
                java.stdin.write("OK\n")
                java.stdin.flush()
            elif out.startswith("SCENARIO "):
                parts = out.split(" ", 3)
                results.append((parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
        rc = java.wait(timeout=60)
        broker.versions_used(versions)
        # Every API the 4.x client sends on the data path is at the newest
        # version this broker advertises (its own maxima are all higher), and
        # so is every transaction API: the client runs transaction version 2
        # (EndTxn v5, TxnOffsetCommit v5+, no AddPartitionsToTxn or
        # AddOffsetsToTxn of its own).
        if line == "4":
            why = "; ".join(w for w in (
                compat_common.check_newest(versions, advertised),
                compat_common.check_newest(versions, advertised, checked=compat_common.TXN_CHECKED),
                "; ".join("%s: not sent" % label for label, _ in compat_common.TXN_CHECKED
                          if label not in versions),
                "; ".join("%s: sent %s, which a transaction version 2 producer does not" % (label, versions[label])
                          for label, _ in compat_common.TXN_V1_ONLY if label in versions),
                "; ".join("%s: used %s, not transaction version 2's v5" % (label, versions[label])
                          for label in ("end_txn", "txn_offset_commit")
                          if label in versions and max(versions[label]) < 5)) if w) or None
            used = ", ".join("%s %s" % (label, versions.get(label, []))
                             for label in ("produce", "init_producer_id", "end_txn", "txn_offset_commit"))
            results.append(("negotiated_newest_versions", "fail" if why else "pass", why or used))
        if broker.alive():
            broker.stop()
        results += run_security(classpath)
    finally:
        if broker.alive():
            broker.stop()
        done = {r[0] for r in results}
        for s in SCENARIOS + SECURITY_SCENARIOS + (["negotiated_newest_versions"] if line == "4" else []):
            if s not in done:
                results.append((s, "fail", "the Java program ended before reporting it"))
        compat_common.write_results(client, version, results, versions)
    failed = [r for r in results if r[1] == "fail"]
    if failed or rc != 0:
        sys.stderr.write("---- broker log (tail) ----\n" + broker.log()[-5000:] + "\n")
        sys.exit("failed scenarios: %s (java exit %s)" % ([r[0] for r in failed], rc))
    print("ok: %s" % ", ".join("%s=%s" % (r[0], r[1]) for r in results))


if __name__ == "__main__":
    main()
