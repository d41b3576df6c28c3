"""Kafka Streams exactly_once_v2 against a cluster (etcd plus three brokers in
network namespaces, scripts/cluster.sh), the Java compat program's
streams_eos_cluster scenario (tests/compat/java, ClusterStreamsScenario):

- A word count (repartition topic, changelogged store) under exactly_once_v2,
  every topic replicated 3 times with min.insync.replicas 2. The group's
  __consumer_offsets partition and the stream thread's transactional id's
  __transaction_state partition are led by different brokers (the scenario
  picks Streams' process id so), so every transaction's offsets go to the
  group's coordinator as TxnOffsetCommit, stay pending there and become the
  group's offsets through the COMMIT marker the transaction's coordinator
  sends (WriteTxnMarkers).
- Mid-run the scenario asks for the group coordinator's broker to be
  SIGKILLed ("KILL node" on its stdout); another broker loads the group's
  partition (its log says so), pending offsets included.

Checks: the output topic read with read_committed holds exactly the expected
counts (a record counted twice or lost shows as a wrong count), within the
scenario's own bounds (40 s before the kill, 60 s after it); then the
group's committed offsets, fetched with require_stable, reach the end of
every input partition. The brokers' request counters (read from each one's
/metrics before the kill and at the end) show the client ran transaction
version 2, the cluster's default: EndTxn and TxnOffsetCommit at v5 or
newer only, no AddOffsetsToTxn, and AddPartitionsToTxn only in the
brokers' own form (v4+: a leader adding a partition at the coordinator).

Needs root (ip netns), /usr/bin/etcd, Java and Maven with ~/.m2 filled
(scripts/setup-compat.sh). NOCOPY_BIN names the broker.
"""
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
import compat_common  # noqa: E402
import faults  # noqa: E402
import test_group_coordinator_failover as groups  # noqa: E402  (group_partition)

fail = faults.fail
APP = "java-wc-eos-cluster"  # the scenario's application.id = group id
OFFSETS_PARTITIONS = STATE_PARTITIONS = 6
LIMIT = 150  # seconds for the Java program (it bounds its own waits to 40 s + 60 s)


def java_classpath():
    java_dir = os.path.join(HERE, "..", "compat", "java")
    version = compat_common.pom_property(os.path.join(java_dir, "pom.xml"), "kafka.version", [])
    out_dir = os.path.join(compat_common.work_dir(), "java-" + version)
    try:
        cp = compat_common.maven_build(java_dir, ["-Dnocopy.out=" + out_dir], out_dir, compile_sources=True)
    except RuntimeError as e:
        fail("the Java compat program does not build: %s" % e)
    return os.path.join(out_dir, "classes") + os.pathsep + cp


def scenario(c, classpath):
    t0 = time.time()
    java = subprocess.Popen(["java", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classpath,
                             "nocopy.compat.Main", c.bootstrap(), "streams_eos_cluster"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    timer = threading.Timer(LIMIT, java.kill)
    timer.start()
    result, killed, versions = None, None, {}
    try:
        for line in java.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            if line.startswith("KILL "):
                killed = int(line.split()[1])
                faults.versions_used(c, faults.BROKERS, versions)
                c.run("kill", str(killed))
                print("broker %d SIGKILLed %.1f s into the scenario" % (killed, time.time() - t0), flush=True)
                java.stdin.write("OK\n")
                java.stdin.flush()
            elif line.startswith("SCENARIO "):
                result = line.split(" ", 3)
        java.wait(30)
    finally:
        timer.cancel()
        if java.poll() is None:
            java.kill()
    if result is None:
        fail("the Java program ended (exit %s) without reporting the scenario within %d s" % (java.returncode, LIMIT))
    if result[2] != "pass":
        fail("streams_eos_cluster: %s" % " ".join(result[2:]))
    if killed is None:
        fail("the scenario passed without asking for a broker to be killed")
    part = groups.group_partition(APP, OFFSETS_PARTITIONS)
    loaded = []
    for i in faults.BROKERS:
        if i == killed:
            continue
        log = open(os.path.join(c.dir, "b%d.log" % i), errors="replace").read()
        loaded += ["broker %d: %s" % (i, m) for m in re.findall(r"groups: loaded __consumer_offsets-%d .*" % part, log)]
    if not loaded:
        fail("no live broker logged loading __consumer_offsets-%d after broker %d was killed" % (part, killed))
    print(loaded[-1])
    check_transaction_version_2(faults.versions_used(c, [i for i in faults.BROKERS if i != killed], versions))
    print("streams_eos_cluster passed in %.1f s" % (time.time() - t0))


def check_transaction_version_2(versions):
    used = {api: sorted(versions.get(api, ())) for api in
            ("end_txn", "txn_offset_commit", "add_offsets_to_txn", "add_partitions_to_txn")}
    print("transaction APIs used: %s" % used)
    for api in ("end_txn", "txn_offset_commit"):
        if not used[api] or used[api][0] < 5:
            fail("%s at %s: not transaction version 2 (v5+) only" % (api, used[api]))
    if used["add_offsets_to_txn"]:
        fail("AddOffsetsToTxn %s sent: a transaction version 2 producer does not" % used["add_offsets_to_txn"])
    if used["add_partitions_to_txn"] and used["add_partitions_to_txn"][0] < 4:
        fail("AddPartitionsToTxn %s: a client's form, not only the brokers' (v4+)" % used["add_partitions_to_txn"])


if __name__ == "__main__":
    cp = java_classpath()
    faults.run(lambda c: scenario(c, cp),
               "--offsets-topic-num-partitions %d --transaction-state-log-num-partitions %d --min-insync-replicas 2"
               % (OFFSETS_PARTITIONS, STATE_PARTITIONS), metrics=True)
