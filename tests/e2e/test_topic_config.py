"""Per-topic configs with real clients (CreateTopics `configs`).

  1. confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient creates
     `tc` with segment.bytes=4096, retention.ms=86400000 and
     max.message.bytes=3000; a topic with an unknown config and one with an
     unparsable value fail with INVALID_CONFIG and leave nothing on disk;
     validate_only with a bad value fails, with good values creates nothing.
  2. The overrides are applied: kcat produces ~200 KB to `tc` and the
     partition directory holds many segments (a topic without overrides: one);
     kafka-python's 5,000-byte record is refused MESSAGE_TOO_LARGE on `tc` and
     accepted on `plain`.
  3. kafka-python describe_configs: the overrides are DYNAMIC_TOPIC_CONFIG
     (source 1), the rest as before; `plain` reports the broker's values.
  4. Alter: kafka-python alter_configs (AlterConfigs v1) replaces `plain`'s
     overrides with segment.bytes=4096; IncrementalAlterConfigs v0 (raw
     request: kafka-python 2.0.2 has no client for it) SETs retention.ms on
     `plain`, a bad value is INVALID_CONFIG, APPEND on a non-list config and a
     BROKER resource INVALID_REQUEST; describe_configs shows the new
     overrides at once. They apply to the open partitions at once, as in
     Kafka: `plain` rolls at 4 KiB and refuses a 5,000-byte record
     (max.message.bytes=3000) without a restart.
  5. SIGTERM restart: the overrides are back (describe_configs, and a new
     segment roll at 4 KiB, for `plain` too); a corrupted topic.config is a
     startup warning and the topic runs with the broker defaults."""
import glob
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, Raw, check, kstr  # noqa: E402

import struct  # noqa: E402
import subprocess  # noqa: E402

from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka import KafkaProducer  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient  # noqa: E402
from kafka.errors import KafkaError, MessageSizeTooLargeError  # noqa: E402

OVERRIDES = {"segment.bytes": "4096", "retention.ms": "86400000", "max.message.bytes": "3000"}


def create(b, name, config, validate_only=False):
    """-> None on success, else the KafkaError name (e.g. INVALID_CONFIG) and message."""
    a = AdminClient({"bootstrap.servers": b.addr})
    fut = a.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)],
                          request_timeout=15, validate_only=validate_only)[name]
    try:
        fut.result(timeout=30)
        return None
    except KafkaException as e:
        err = e.args[0]
        return err.name(), err.str()


def describe(b, name):
    a = KafkaAdminClient(bootstrap_servers=b.addr, request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
    try:
        res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        a.close()
    # kafka-python 2.0.2 sends DescribeConfigs v2: (name, value, read_only, source, sensitive, synonyms)
    (resource,) = res[0].resources
    err, _msg, _type, _name, entries = resource
    check(err == 0, "describe_configs %s: error %s" % (name, err))
    return {e[0]: (e[1], e[3], e[5]) for e in entries}


def segments(b, name):
    return len(glob.glob(os.path.join(b.data_dir, name + "-0", "*.log")))


def kcat_produce(b, name, n, size):
    data = b"\n".join(b"%06d" % i + b"x" * size for i in range(n)) + b"\n"
    r = subprocess.run(["kcat", "-b", b.addr, "-P", "-t", name, "-p", "0", "-X", "linger.ms=0",
                        "-X", "batch.num.messages=1"], input=data, capture_output=True, timeout=60)
    check(r.returncode == 0, "kcat produce failed: %s" % r.stderr.decode(errors="replace"))


def produce_one(b, name, size):
    p = KafkaProducer(bootstrap_servers=b.addr, api_version_auto_timeout_ms=10000, retries=0)
    try:
        p.send(name, b"v" * size, partition=0).get(timeout=20)
        return None
    except KafkaError as e:
        return e
    finally:
        p.close()


def incremental_alter_v0(b, resources, validate_only=False):
    """resources: [(type, name, [(config, op, value)])] -> [(error, message, type, name)]."""
    body = struct.pack(">i", len(resources))
    for rtype, name, ops in resources:
        body += struct.pack(">b", rtype) + kstr(name) + struct.pack(">i", len(ops))
        for cname, op, value in ops:
            body += kstr(cname) + struct.pack(">b", op) + kstr(value)
    body += struct.pack(">?", validate_only)
    r = Raw(b)
    try:
        resp = r.call(44, 0, body)
    finally:
        r.close()
    pos = 4  # throttle_time_ms
    (n,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    out = []
    for _ in range(n):
        (err, mlen) = struct.unpack_from(">hh", resp, pos)
        pos += 4
        msg = None
        if mlen >= 0:
            msg = resp[pos:pos + mlen].decode()
            pos += mlen
        (rtype, nlen) = struct.unpack_from(">bh", resp, pos)
        pos += 3
        out.append((err, msg, rtype, resp[pos:pos + nlen].decode()))
        pos += nlen
    return out


def main():
    started = time.time()
    data_dir = None
    with Broker() as b:
        data_dir = b.data_dir
        # 1. CreateTopics with configs (librdkafka).
        check(create(b, "tc", OVERRIDES) is None, "create tc with overrides failed")
        check(create(b, "plain", {}) is None, "create plain failed")
        check(os.path.exists(os.path.join(b.data_dir, "tc-0", "topic.config")), "tc-0/topic.config missing")
        for name, cfg, says in (("bad1", {"no.such.config": "1"}, "no.such.config"),
                                ("bad2", {"retention.ms": "soon"}, "retention.ms"),
                                ("bad3", {"cleanup.policy": "compacted"}, "cleanup.policy")):
            err = create(b, name, cfg)
            check(err is not None and err[0] == "INVALID_CONFIG", "%s: expected INVALID_CONFIG, got %s" % (name, err))
            check(says in err[1], "%s: error message %r does not mention %r" % (name, err[1], says))
            check(not os.path.exists(os.path.join(b.data_dir, name + "-0")), "%s left a directory" % name)
        err = create(b, "vo", {"segment.bytes": "1"}, validate_only=True)
        check(err is not None and err[0] == "INVALID_CONFIG", "validate_only bad value: %s" % (err,))
        check(create(b, "vo", {"segment.bytes": "100000"}, validate_only=True) is None, "validate_only good failed")
        check(not os.path.exists(os.path.join(b.data_dir, "vo-0")), "validate_only created vo")

        # 2. The overrides are what the partitions run with.
        kcat_produce(b, "tc", 200, 1000)
        kcat_produce(b, "plain", 200, 1000)
        n_tc, n_plain = segments(b, "tc"), segments(b, "plain")
        check(n_tc >= 20, "tc (segment.bytes=4096) has only %d segments after 200 KB" % n_tc)
        check(n_plain == 1, "plain has %d segments" % n_plain)
        err = produce_one(b, "tc", 5000)
        check(isinstance(err, MessageSizeTooLargeError), "5000 B to tc (max.message.bytes=3000): %r" % (err,))
        check(produce_one(b, "plain", 5000) is None, "5000 B to plain refused")

        # 3. DescribeConfigs.
        d = describe(b, "tc")
        for k, v in OVERRIDES.items():
            check(d[k][0] == v and d[k][1] == 1, "tc %s: %r (want %s, DYNAMIC_TOPIC_CONFIG)" % (k, d[k], v))
        check(d["retention.bytes"][1] == 5, "tc retention.bytes: %r" % (d["retention.bytes"],))
        p = describe(b, "plain")
        check(p["segment.bytes"] == ("1073741824", 5, []) or p["segment.bytes"][:2] == ("1073741824", 5),
              "plain segment.bytes: %r" % (p["segment.bytes"],))

        # 4. Alter (applied live).
        a = KafkaAdminClient(bootstrap_servers=b.addr, request_timeout_ms=10000, api_version_auto_timeout_ms=10000)
        try:
            res = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "plain",
                                                  configs={"segment.bytes": "4096",
                                                           "max.message.bytes": "3000"})])
            check(res.resources[0][0] == 0, "alter_configs plain: %r" % (res.resources[0],))
            res = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "plain",
                                                  configs={"segment.bytes": "banana"})])
            check(res.resources[0][0] == 40, "alter_configs bad value: %r" % (res.resources[0],))
        finally:
            a.close()
        out = incremental_alter_v0(b, [(2, "plain", [("retention.ms", 0, "7200000")]),
                                       (2, "plain", [("retention.ms", 0, "-3")]),
                                       (2, "plain", [("retention.ms", 2, "1")]),
                                       (4, "0", [("log.retention.ms", 0, "1")]),
                                       (2, "missing", [("retention.ms", 0, "1")])])
        check([o[0] for o in out] == [0, 40, 42, 42, 3], "incremental alter: %r" % (out,))
        check(out[1][1] and "retention.ms" in out[1][1], "incremental alter message: %r" % (out[1],))
        p = describe(b, "plain")
        check(p["segment.bytes"][:2] == ("4096", 1) and p["retention.ms"][:2] == ("7200000", 1),
              "plain after alter: %r %r" % (p["segment.bytes"], p["retention.ms"]))
        kcat_produce(b, "plain", 20, 1000)
        check(segments(b, "plain") >= 4, "plain (segment.bytes altered to 4096) has %d segments after 20 KB"
              % segments(b, "plain"))
        err = produce_one(b, "plain", 5000)
        check(isinstance(err, MessageSizeTooLargeError), "5000 B to plain after max.message.bytes=3000: %r" % (err,))
        check("applied to the open partitions" in b.log(), "no log line for the live alter")

        # 5. Restart.
        b.stop(signal.SIGTERM)
        b.start()
        p = describe(b, "plain")
        check(p["segment.bytes"][:2] == ("4096", 1) and p["retention.ms"][:2] == ("7200000", 1),
              "plain after restart: %r %r" % (p["segment.bytes"], p["retention.ms"]))
        kcat_produce(b, "plain", 50, 1000)
        check(segments(b, "plain") >= 5, "plain does not roll at 4 KiB after the restart")
        d = describe(b, "tc")
        for k, v in OVERRIDES.items():
            check(d[k][0] == v and d[k][1] == 1, "after restart tc %s: %r" % (k, d[k]))
        before = segments(b, "tc")
        kcat_produce(b, "tc", 50, 1000)
        check(segments(b, "tc") >= before + 5, "after restart tc no longer rolls at 4 KiB")
        err = produce_one(b, "tc", 5000)
        check(isinstance(err, MessageSizeTooLargeError), "after restart 5000 B to tc: %r" % (err,))

        # A corrupted topic.config: warning, broker defaults, data intact.
        b.stop(signal.SIGTERM)
        with open(os.path.join(b.data_dir, "tc-0", "topic.config"), "w") as f:
            f.write("this is not a config\n")
        b.start()
        check("ignoring its config overrides" in b.log(), "no startup warning for a corrupt topic.config")
        d = describe(b, "tc")
        check(d["segment.bytes"][1] != 1 and d["segment.bytes"][0] == "1073741824",
              "corrupt config: segment.bytes %r" % (d["segment.bytes"],))
        check(produce_one(b, "tc", 5000) is None, "corrupt config: broker default max.message.bytes not in force")
    if data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    print("topic config e2e OK in %.1f s" % (time.time() - started))


if __name__ == "__main__":
    main()
