"""Kafka's own command-line tools (kafka-tools, pinned in pom.xml) against a
real `nocopy broker`: topics, console producer/consumer, consumer groups
(describe lag, reset offsets), the producer/consumer performance tools and
kafka-acls (AclCommand, against a second broker with the authorizer on and a
SASL_PLAINTEXT listener), each a short bounded run of its main class with
`java -cp`. Writes
$NOCOPY_COMPAT_RESULTS/kafka-tools.json; exits non-zero when a scenario fails.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness  # noqa: E402
import compat_common  # noqa: E402

SCENARIOS = ["topics", "console_producer_consumer", "consumer_groups_lag",
             "consumer_groups_reset_offsets", "producer_performance", "consumer_performance",
             "leader_election", "acls_add_list_remove"]
T = "org.apache.kafka.tools."


class Tools:
    def __init__(self, cp, bootstrap):
        self.cp = cp
        self.bs = bootstrap

    def run_rc(self, cls, *args, stdin=None, timeout=90):
        """-> the finished process (returncode, stdout, stderr), whatever its exit code."""
        cmd = ["java", "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", self.cp,
               T + cls] + list(args)
        return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)

    def run(self, cls, *args, stdin=None, timeout=90):
        p = self.run_rc(cls, *args, stdin=stdin, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("%s %s exited %d: %s" % (cls, " ".join(args), p.returncode,
                                                            (p.stderr + p.stdout)[-1500:]))
        return p.stdout


def check(ok, what):
    if not ok:
        raise AssertionError(what)


def topics(t):
    t.run("TopicCommand", "--bootstrap-server", t.bs, "--create", "--topic", "tools-t", "--partitions", "3")
    check("tools-t" in t.run("TopicCommand", "--bootstrap-server", t.bs, "--list").split(), "not listed")
    d = t.run("TopicCommand", "--bootstrap-server", t.bs, "--describe", "--topic", "tools-t")
    check("PartitionCount: 3" in d, "describe: " + d)
    t.run("TopicCommand", "--bootstrap-server", t.bs, "--delete", "--topic", "tools-t")
    return "create, list, describe (3 partitions), delete"


def console(t):
    t.run("TopicCommand", "--bootstrap-server", t.bs, "--create", "--topic", "tools-c", "--partitions", "2")
    lines = ["k%d:v%d" % (i, i) for i in range(100)]
    t.run("ConsoleProducer", "--bootstrap-server", t.bs, "--topic", "tools-c",
          "--property", "parse.key=true", "--property", "key.separator=:", stdin="\n".join(lines) + "\n")
    out = t.run("consumer.ConsoleConsumer", "--bootstrap-server", t.bs, "--topic", "tools-c",
                "--group", "tools-g", "--from-beginning", "--max-messages", "100", "--timeout-ms", "30000",
                "--property", "print.key=true", "--property", "key.separator=:")
    got = sorted(l for l in out.splitlines() if l.startswith("k"))
    check(got == sorted(lines), "console consumer read %d of 100" % len(got))
    return "100 keyed lines produced and consumed in a group"


def lag(t):
    t.run("ConsoleProducer", "--bootstrap-server", t.bs, "--topic", "tools-c",
          stdin="".join("x%d\n" % i for i in range(10)))
    d = t.run("consumer.group.ConsumerGroupCommand", "--bootstrap-server", t.bs, "--describe", "--group", "tools-g")
    lags = [int(f.split()[5]) for f in d.splitlines() if f.startswith("tools-g") and "tools-c " in f]
    check(len(lags) == 2 and sum(lags) == 10, "lag rows: " + d)
    return "lag 10 across 2 partitions after 10 more records"


def reset(t):
    t.run("consumer.group.ConsumerGroupCommand", "--bootstrap-server", t.bs, "--reset-offsets", "--group",
          "tools-g", "--topic", "tools-c", "--to-earliest", "--execute")
    d = t.run("consumer.group.ConsumerGroupCommand", "--bootstrap-server", t.bs, "--describe", "--group", "tools-g")
    lags = [int(f.split()[5]) for f in d.splitlines() if f.startswith("tools-g") and "tools-c " in f]
    check(sum(lags) == 110, "lag after reset to earliest: " + d)
    return "reset to earliest: lag 110"


def pperf(t):
    t.run("TopicCommand", "--bootstrap-server", t.bs, "--create", "--topic", "tools-perf", "--partitions", "2")
    out = t.run("ProducerPerformance", "--topic", "tools-perf", "--num-records", "50000", "--record-size", "100",
                "--throughput", "-1", "--producer-props", "bootstrap.servers=" + t.bs, "acks=all")
    last = [l for l in out.splitlines() if "50000 records sent" in l]
    check(last, "no summary: " + out[-500:])
    return last[-1].split(",")[0] + "," + last[-1].split(",")[1]


def cperf(t):
    out = t.run("ConsumerPerformance", "--bootstrap-server", t.bs, "--topic", "tools-perf",
                "--messages", "50000", "--timeout", "30000")
    row = out.strip().splitlines()[-1].split(",")
    check(int(row[4].strip()) >= 50000, "consumed " + out)
    return "consumed %s records" % row[4].strip()


def election(t):
    # Single node: every partition's only replica leads, so the preferred
    # election is not needed; an unknown partition is reported as such.
    out = t.run("LeaderElectionCommand", "--bootstrap-server", t.bs, "--election-type", "preferred",
                "--topic", "tools-c", "--partition", "0")
    check("Valid replica already elected for partitions tools-c-0" in out, "election output: " + out)
    try:
        t.run("LeaderElectionCommand", "--bootstrap-server", t.bs, "--election-type", "preferred",
              "--topic", "tools-none", "--partition", "0")
        raise AssertionError("an election for an unknown partition succeeded")
    except AssertionError as e:
        check("UnknownTopicOrPartition" in str(e) or "does not host this topic-partition" in str(e),
              "unknown partition: " + str(e)[-600:])
    return "preferred: already elected; unknown partition refused"


def sasl_config(d, user, password):
    """A client properties file for user on the SASL_PLAINTEXT listener (SCRAM-SHA-256)."""
    path = os.path.join(d, user + ".properties")
    with open(path, "w") as f:
        f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                "username=\"%s\" password=\"%s\";\n" % (user, password))
    return path


def acls(t, admin_cfg, bob_cfg):
    """kafka-acls as the super user admin; bob's console consumer is denied, then
    allowed by the ACLs added, then denied again once READ on the topic is removed."""
    bs = ["--bootstrap-server", t.bs]
    t.run("TopicCommand", *bs, "--command-config", admin_cfg, "--create", "--topic", "acl-t", "--partitions", "2")

    def produce(first, n):
        t.run("ConsoleProducer", *bs, "--command-config", admin_cfg, "--topic", "acl-t",
              stdin="".join("a%d\n" % i for i in range(first, first + n)))

    def bob_consume(n, timeout_ms):
        return t.run_rc("consumer.ConsoleConsumer", *bs, "--command-config", bob_cfg, "--topic", "acl-t",
                        "--group", "acl-g", "--from-beginning", "--max-messages", str(n), "--timeout-ms",
                        str(timeout_ms))

    def denied(p, what):
        out = p.stdout + p.stderr
        check("AuthorizationException" in out and not any(l.startswith("a") for l in p.stdout.splitlines()),
              "%s: bob was not denied (exit %d): %s" % (what, p.returncode, out[-1500:]))
        return [l for l in out.splitlines() if "AuthorizationException" in l][0].split("Exception: ")[-1]

    def acl(*args):
        return t.run("AclCommand", *bs, "--command-config", admin_cfg, *args)

    produce(0, 20)
    before = denied(bob_consume(20, 15000), "without ACLs")
    acl("--add", "--allow-principal", "User:bob", "--operation", "Read", "--operation", "Describe", "--topic", "acl-t")
    acl("--add", "--allow-principal", "User:bob", "--operation", "Read", "--group", "acl-g")
    listed = acl("--list", "--topic", "acl-t")
    for op in ("READ", "DESCRIBE"):
        check(any("User:bob" in l and "operation=%s" % op in l and "permissionType=ALLOW" in l
                  for l in listed.splitlines()), "--list --topic lacks bob's %s: %s" % (op, listed))
    listed = acl("--list", "--group", "acl-g")
    check(any("User:bob" in l and "operation=READ" in l for l in listed.splitlines()), "--list --group: " + listed)
    by_principal = acl("--list", "--principal", "User:bob")
    check(by_principal.count("principal=User:bob") == 3, "--list --principal User:bob: " + by_principal)
    p = bob_consume(20, 30000)
    got = sorted(l for l in p.stdout.splitlines() if l.startswith("a"))
    check(p.returncode == 0 and got == sorted("a%d" % i for i in range(20)),
          "bob allowed: exit %d, read %d of 20: %s" % (p.returncode, len(got), p.stderr[-1500:]))
    acl("--remove", "--allow-principal", "User:bob", "--operation", "Read", "--topic", "acl-t", "--force")
    listed = acl("--list", "--topic", "acl-t")
    check("operation=READ" not in listed and "operation=DESCRIBE" in listed, "after --remove: " + listed)
    produce(20, 5)
    after = denied(bob_consume(5, 15000), "after --remove of READ")
    acl("--remove", "--allow-principal", "User:bob", "--operation", "Describe", "--topic", "acl-t", "--force")
    acl("--remove", "--allow-principal", "User:bob", "--operation", "Read", "--group", "acl-g", "--force")
    left = acl("--list", "--principal", "User:bob")
    check("principal=User:bob" not in left, "bob's ACLs not all removed: " + left)
    return "bob denied (%s), allowed after --add (20 read), denied after --remove (%s); --list by topic, " \
           "group and principal" % (before.strip()[:60], after.strip()[:60])


def run_acls(cp):
    """The acls scenario against its own broker: authorizer on, super user admin."""
    d = tempfile.mkdtemp(prefix="nocopy-kafka-acls-")
    ports = {p: harness.free_port() for p in ("PLAINTEXT", "SASL_PLAINTEXT")}
    broker = harness.Broker("--listeners", ",".join("%s://127.0.0.1:%d" % kv for kv in ports.items()),
                            "--authorizer", "true", "--super-users", "User:admin",
                            "--scram-user", "admin:admin-pw", "--scram-user", "bob:bob-pw", threads=2)
    broker.port = ports["PLAINTEXT"]
    try:
        with broker:
            t = Tools(cp, "127.0.0.1:%d" % ports["SASL_PLAINTEXT"])
            return ("acls_add_list_remove", "pass",
                    acls(t, sasl_config(d, "admin", "admin-pw"), sasl_config(d, "bob", "bob-pw")))
    except Exception as e:  # noqa: BLE001 - reported as the scenario's failure
        return ("acls_add_list_remove", "fail", str(e)[-1500:])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    version = compat_common.pom_property(os.path.join(HERE, "pom.xml"), "kafka.version", [])
    out_dir = os.path.join(compat_common.work_dir(), "kafka-tools-" + version)
    try:
        cp = compat_common.maven_build(HERE, [], out_dir, compile_sources=False)
    except RuntimeError as e:
        compat_common.write_results("kafka-tools", version, [(s, "fail", str(e)) for s in SCENARIOS])
        sys.exit(str(e))
    results = []
    with harness.Broker(threads=2) as broker:
        t = Tools(cp, broker.addr)
        for name, fn in zip(SCENARIOS[:-1], [topics, console, lag, reset, pperf, cperf, election]):
            try:
                results.append((name, "pass", fn(t)))
            except Exception as e:  # noqa: BLE001 - reported per scenario
                results.append((name, "fail", str(e)[-1500:]))
            print(name, results[-1][1], results[-1][2], flush=True)
    results.append(run_acls(cp))
    print(*results[-1], flush=True)
    compat_common.write_results("kafka-tools", version, results)
    failed = [r[0] for r in results if r[1] == "fail"]
    if failed:
        sys.exit("failed scenarios: %s" % failed)


if __name__ == "__main__":
    main()
