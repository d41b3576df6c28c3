"""Runs one scenario of the Java compat program (Main.java) against a fresh
`nocopy broker`, bounded in time.

Usage: run_scenario.py SCENARIO SECONDS. Builds the program with Maven offline
(the 4.x client line; scripts/setup-compat.sh fills ~/.m2), starts the broker
with tests/e2e/harness.py, runs `Main BOOTSTRAP SCENARIO` and kills it after
SECONDS (the build does not count). Exits non-zero unless the scenario reports
"pass". For scenarios outside the compat matrix: txn_zombie_fenced
(ZombieTxnScenario.java: a zombie's transactional offset commit fenced by the
group coordinator after a rebalance) and streams_eos_rebalance (Kafka Streams
exactly_once_v2 with a second instance joining mid-run).
"""
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import compat_common  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: run_scenario.py SCENARIO SECONDS")
    name, limit = sys.argv[1], float(sys.argv[2])
    version = compat_common.pom_property(os.path.join(HERE, "pom.xml"), "kafka.version", [])
    out_dir = os.path.join(compat_common.work_dir(), "java-" + version)
    try:
        cp = compat_common.maven_build(HERE, ["-Dnocopy.out=" + out_dir], out_dir, compile_sources=True)
    except RuntimeError as e:
        sys.exit("the Java compat program does not build: %s" % e)
    classpath = os.path.join(out_dir, "classes") + os.pathsep + cp
    broker = harness.Broker(threads=2).start()
    result = None
    t0 = time.time()
    try:
        java = subprocess.Popen(["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                                 "-cp", classpath, "nocopy.compat.Main", broker.addr, name],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        timer = threading.Timer(limit, java.kill)
        timer.start()
        try:
            for line in java.stdout:
                print(line.rstrip("\n"), flush=True)
                if line.startswith("SCENARIO "):
                    result = line.rstrip("\n").split(" ", 3)
            java.wait(30)
        finally:
            timer.cancel()
            if java.poll() is None:
                java.kill()
    finally:
        broker.stop()
    if result is None or result[2] != "pass":
        sys.stderr.write("---- broker log (tail) ----\n" + broker.log()[-5000:] + "\n")
        sys.exit("%s: %s" % (name, " ".join(result[2:]) if result else
                              "no result within %.0f s (java exit %s)" % (limit, java.returncode)))
    print("%s passed in %.1f s" % (name, time.time() - t0))


if __name__ == "__main__":
    main()
