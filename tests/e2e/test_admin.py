"""Admin APIs with real clients: DescribeConfigs (32), CreatePartitions (37),
DeleteGroups (42) and OffsetDelete (47).

  1. kafka-python KafkaAdminClient (python3-kafka 2.0.2): describe_configs of
     a topic (the broker's --retention-ms shows up as retention.ms), of the
     broker (node id 0) and of a missing topic (UNKNOWN_TOPIC_OR_PARTITION);
     create_partitions 2 -> 4 (validate_only first; then shrinking and an
     unknown topic are refused); kcat produces to and consumes from the new
     partition 3; delete_consumer_groups deletes a group whose offsets were
     committed (a group with a live member: NON_EMPTY_GROUP; an unknown one:
     GROUP_ID_NOT_FOUND); OffsetDelete (raw request) forgets one partition's
     offset of another group.
  2. confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient:
     describe_configs and create_partitions 4 -> 5.
  3. kafkajs 2.2.4 admin (node, when tests/e2e/kafkajs has node_modules):
     describeConfigs, createPartitions 5 -> 6, deleteGroups.
  3b. ListOffsets by timestamp inside compressed batches: kafka-python
     produces 100 records in one batch per codec (gzip, snappy, lz4, zstd);
     offsets_for_times lands on the first record at or after the target and
     answers that record's timestamp.
  4. SIGTERM restart: 6 partitions, partition 3's message, the deleted groups
     stay deleted, the kept offsets are back."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, Raw, check, kstr  # noqa: E402

from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402

TOPIC = "adm"
KJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafkajs")


def admin(b):
    return KafkaAdminClient(bootstrap_servers=b.addr, request_timeout_ms=10000, api_version_auto_timeout_ms=10000)


def configs_of(resource):
    """kafka-python DescribeConfigs v2 resource -> (error, {name: (value, read_only, source)})."""
    err, _msg, _type, _name, entries = resource
    return err, {e[0]: (e[1], e[2], e[3]) for e in entries}


def commit(b, group, offsets):
    c = KafkaConsumer(bootstrap_servers=b.addr, group_id=group, enable_auto_commit=False,
                      api_version_auto_timeout_ms=10000)
    c.commit({TopicPartition(TOPIC, p): OffsetAndMetadata(o, "") for p, o in offsets.items()})
    c.close()


def committed(b, group):
    a = admin(b)
    try:
        return {tp.partition: om.offset for tp, om in a.list_consumer_group_offsets(group).items()}
    finally:
        a.close()


def kcat(*args, data=None):
    r = subprocess.run(["kcat"] + list(args), input=data, capture_output=True, timeout=60)
    check(r.returncode == 0, "kcat %s failed: %s" % (args, r.stderr.decode(errors="replace")))
    return r.stdout


def partitions_of(b):
    c = KafkaConsumer(bootstrap_servers=b.addr, api_version_auto_timeout_ms=10000)
    try:
        return sorted(c.partitions_for_topic(TOPIC) or [])
    finally:
        c.close()


def offset_delete_v0(b, group, partitions):
    body = kstr(group) + struct.pack(">i", 1) + kstr(TOPIC) + struct.pack(">i", len(partitions))
    for p in partitions:
        body += struct.pack(">i", p)
    r = Raw(b)
    resp = r.call(47, 0, body)
    r.close()
    err, _throttle = struct.unpack_from(">hi", resp, 0)
    off = 6 + 4
    (nl,) = struct.unpack_from(">h", resp, off)
    off += 2 + nl
    (n,) = struct.unpack_from(">i", resp, off)
    off += 4
    parts = [struct.unpack_from(">ih", resp, off + 6 * i) for i in range(n)]
    return err, parts


def kafka_python(b):
    a = admin(b)
    try:
        a.create_topics([NewTopic(TOPIC, 2, 1)])
        res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)], include_synonyms=True)
        check(len(res) == 1 and len(res[0].resources) == 1, "one topic result: %r" % (res,))
        err, cfg = configs_of(res[0].resources[0])
        check(err == 0, "describe topic error %d" % err)
        n_topic = len(cfg)
        for name in ("cleanup.policy", "retention.ms", "retention.bytes", "segment.bytes", "segment.ms",
                     "max.message.bytes", "message.timestamp.type", "flush.messages", "flush.ms"):
            check(name in cfg, "topic config %s missing: %s" % (name, sorted(cfg)))
        check(cfg["retention.ms"][0] == "3600000", "retention.ms = %r" % (cfg["retention.ms"],))
        check(cfg["retention.ms"][2] == 4, "retention.ms source %r, want STATIC_BROKER_CONFIG" % (cfg["retention.ms"],))
        check(cfg["segment.bytes"][0] == str(1 << 20), "segment.bytes = %r" % (cfg["segment.bytes"],))
        check(cfg["max.message.bytes"][2] == 5, "max.message.bytes source %r" % (cfg["max.message.bytes"],))
        check(cfg["cleanup.policy"][0] == "delete", "cleanup.policy %r" % (cfg["cleanup.policy"],))

        res = a.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
        err, cfg = configs_of(res[0].resources[0])
        check(err == 0 and cfg["broker.id"][0] == "0", "broker configs: %d %r" % (err, cfg.get("broker.id")))
        check(cfg["log.retention.ms"][0] == "3600000" and cfg["log.retention.ms"][1] is True,
              "log.retention.ms %r" % (cfg["log.retention.ms"],))
        res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "no-such-topic")])
        check(res[0].resources[0][0] == 3, "missing topic: error %d" % res[0].resources[0][0])
        print("kafka-python describe_configs: %d topic configs, %d broker configs, missing topic refused" %
              (n_topic, len(cfg)))

        r = a.create_partitions({TOPIC: NewPartitions(4)}, validate_only=True)
        check(r.topic_errors[0][1] == 0, "validate_only: %r" % (r.topic_errors,))
        check(partitions_of(b) == [0, 1], "validate_only changed the topic")
        r = a.create_partitions({TOPIC: NewPartitions(4)})
        check(r.topic_errors[0][1] == 0, "grow: %r" % (r.topic_errors,))
        # kafka-python raises the topic's error.
        for topic, count, want in ((TOPIC, 3, 37), (TOPIC, 4, 37), ("no-such-topic", 3, 3)):
            try:
                a.create_partitions({topic: NewPartitions(count)})
                raise AssertionError("create_partitions %s -> %d accepted" % (topic, count))
            except KafkaError as e:
                check(e.errno == want, "create_partitions %s -> %d: %r, want error %d" % (topic, count, e, want))
    finally:
        a.close()
    check(partitions_of(b) == [0, 1, 2, 3], "metadata after grow: %r" % partitions_of(b))
    kcat("-P", "-b", b.addr, "-t", TOPIC, "-p", "3", "-K", ":", "-X", "acks=all", data=b"k3:in-new-partition\n")
    out = kcat("-C", "-b", b.addr, "-t", TOPIC, "-p", "3", "-o", "beginning", "-e", "-f", "%k=%s@%o\n")
    check(out == b"k3=in-new-partition@0\n", "consume partition 3: %r" % out)
    print("kafka-python create_partitions: 2 -> 4 (validate_only, shrink, unknown refused); kcat used partition 3")

    commit(b, "dg-a", {0: 5, 3: 1})
    commit(b, "dg-keep", {0: 2, 1: 3})
    check(committed(b, "dg-a") == {0: 5, 3: 1}, "dg-a committed %r" % committed(b, "dg-a"))
    live = KafkaConsumer(TOPIC, bootstrap_servers=b.addr, group_id="dg-live", session_timeout_ms=6000,
                         heartbeat_interval_ms=500, api_version_auto_timeout_ms=10000)
    deadline = time.time() + 30
    while not live.assignment() and time.time() < deadline:
        live.poll(timeout_ms=200)
    check(live.assignment(), "dg-live never got an assignment")
    a = admin(b)
    try:
        res = dict(a.delete_consumer_groups(["dg-a", "dg-live", "dg-none"], group_coordinator_id=0))
        check(res["dg-a"].errno == 0, "delete dg-a: %r" % res["dg-a"])
        check(res["dg-live"].errno == 68, "delete dg-live: %r" % res["dg-live"])
        check(res["dg-none"].errno == 69, "delete dg-none: %r" % res["dg-none"])
        groups = [g[0] for g in a.list_consumer_groups()]
        check("dg-a" not in groups and "dg-keep" in groups and "dg-live" in groups, "groups after delete %r" % groups)
    finally:
        a.close()
    live.close()
    check(committed(b, "dg-a") == {}, "dg-a offsets after delete: %r" % committed(b, "dg-a"))
    err, parts = offset_delete_v0(b, "dg-keep", [1])
    check(err == 0 and parts == [(1, 0)], "OffsetDelete: %d %r" % (err, parts))
    check(committed(b, "dg-keep") == {0: 2}, "dg-keep after OffsetDelete: %r" % committed(b, "dg-keep"))
    print("kafka-python delete_consumer_groups: deleted / NON_EMPTY_GROUP / GROUP_ID_NOT_FOUND; OffsetDelete ok")


def confluent(b):
    from confluent_kafka.admin import AdminClient, ConfigResource as CR, NewPartitions as NP
    a = AdminClient({"bootstrap.servers": b.addr})
    fs = a.describe_configs([CR("topic", TOPIC), CR("broker", "0")])
    got = {}
    for res, f in fs.items():
        got[res.name] = {k: v.value for k, v in f.result(timeout=20).items()}
    check(got[TOPIC]["retention.ms"] == "3600000", "confluent topic retention.ms %r" % got[TOPIC].get("retention.ms"))
    check(got["0"]["broker.id"] == "0", "confluent broker.id %r" % got["0"].get("broker.id"))
    for t, f in a.create_partitions([NP(TOPIC, 5)], validate_only=False).items():
        f.result(timeout=20)
    check(partitions_of(b) == list(range(5)), "after confluent grow: %r" % partitions_of(b))
    print("confluent-kafka: describe_configs (%d topic, %d broker configs), create_partitions 4 -> 5" %
          (len(got[TOPIC]), len(got["0"])))


KJS_SCRIPT = r"""
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs')
const [brokers, topic] = process.argv.slice(1)
const kafka = new Kafka({ clientId: 'e2e-admin', brokers: [brokers], logLevel: logLevel.WARN,
  retry: { retries: 5, initialRetryTime: 100 } })
;(async () => {
  const admin = kafka.admin()
  await admin.connect()
  const d = await admin.describeConfigs({ includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'segment.bytes'] }] })
  await admin.createPartitions({ topicPartitions: [{ topic, count: 6 }] })
  const meta = await admin.fetchTopicMetadata({ topics: [topic] })
  const del = await admin.deleteGroups(['dg-keep'])
  const groups = (await admin.listGroups()).groups.map(g => g.groupId)
  await admin.disconnect()
  console.log(JSON.stringify({
    configs: d.resources[0].configEntries.map(e => [e.configName, e.configValue]),
    partitions: meta.topics[0].partitions.length, deleted: del, groups }))
})().catch(e => { console.error(e); process.exit(1) })
"""


def kafkajs(b):
    if not os.path.isdir(os.path.join(KJS, "node_modules", "kafkajs")) or shutil.which("node") is None:
        print("kafkajs: node_modules or node missing, skipped")
        return False
    r = subprocess.run(["node", "-e", KJS_SCRIPT, b.addr, TOPIC], cwd=KJS, capture_output=True, timeout=90)
    check(r.returncode == 0, "kafkajs admin failed:\n%s" % r.stderr.decode(errors="replace")[-4000:])
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    check(sorted(out["configs"]) == [["retention.ms", "3600000"], ["segment.bytes", str(1 << 20)]],
          "kafkajs configs %r" % out["configs"])
    check(out["partitions"] == 6, "kafkajs partitions %r" % out["partitions"])
    check(out["deleted"] == [{"groupId": "dg-keep", "errorCode": 0}], "kafkajs deleteGroups %r" % out["deleted"])
    check("dg-keep" not in out["groups"], "kafkajs groups %r" % out["groups"])
    print("kafkajs: describeConfigs, createPartitions 5 -> 6, deleteGroups")
    return True


def offsets_by_time_in_compressed_batches(b):
    """ListOffsets by timestamp answers the first record >= the target even
    inside a compressed batch (kafka-python producer, one batch per codec)."""
    from kafka import KafkaProducer
    t0 = int(time.time() * 1000) - 60000
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        topic = "ts-" + codec
        p = KafkaProducer(bootstrap_servers=b.addr, compression_type=codec, linger_ms=2000, batch_size=1 << 20,
                          api_version_auto_timeout_ms=10000)
        for i in range(100):
            p.send(topic, key=b"k%d" % i, value=b"v" * 50, partition=0, timestamp_ms=t0 + 10 * i)
        p.flush()
        p.close()
        c = KafkaConsumer(bootstrap_servers=b.addr, api_version_auto_timeout_ms=10000)
        tp = TopicPartition(topic, 0)
        got = {}
        for target, want in ((t0 - 5, 0), (t0 + 255, 26), (t0 + 990, 99)):
            r = c.offsets_for_times({tp: target})[tp]
            got[target - t0] = r.offset if r else None
            check(r is not None and r.offset == want,
                  "%s: offsets_for_times(t0%+d) = %r, want %d" % (codec, target - t0, r, want))
            # The answer carries the found record's timestamp, not the target.
            check(r is not None and r.timestamp == t0 + 10 * want,
                  "%s: offsets_for_times(t0%+d) timestamp %r, want t0%+d" % (codec, target - t0, r, 10 * want))
        check(c.offsets_for_times({tp: t0 + 991})[tp] is None, "%s: a time after the last record found one" % codec)
        c.close()
    # The batches really are compressed and one each: read the log's first batch header.
    for codec, cid in (("gzip", 1), ("snappy", 2), ("lz4", 3), ("zstd", 4)):
        seg = os.path.join(b.data_dir, "ts-%s-0" % codec, "%020d.log" % 0)
        with open(seg, "rb") as f:
            hdr = f.read(61)
        attrs, last_delta = struct.unpack_from(">hi", hdr, 21)
        check(attrs & 7 == cid and last_delta == 99, "%s: stored batch attributes %d, last delta %d" %
              (codec, attrs, last_delta))
    print("ListOffsets by timestamp inside one gzip/snappy/lz4/zstd batch of 100: offsets 0, 26, 99, none")


def main():
    b = Broker("--retention-ms", "3600000", "--segment-bytes", str(1 << 20),
               "--group-initial-rebalance-delay-ms", "0").start()
    ok = False
    try:
        kafka_python(b)
        confluent(b)
        ran_kjs = kafkajs(b)
        offsets_by_time_in_compressed_batches(b)
        want_parts = 6 if ran_kjs else 5
        rc = b.stop(signal.SIGTERM)
        check(rc == 0, "SIGTERM exit %s" % rc)
        b.start()
        check(partitions_of(b) == list(range(want_parts)), "after restart: %r" % partitions_of(b))
        out = kcat("-C", "-b", b.addr, "-t", TOPIC, "-p", "3", "-o", "beginning", "-e", "-f", "%k=%s@%o\n")
        check(out == b"k3=in-new-partition@0\n", "partition 3 after restart: %r" % out)
        check(committed(b, "dg-a") == {}, "dg-a came back: %r" % committed(b, "dg-a"))
        want_keep = {} if ran_kjs else {0: 2}
        check(committed(b, "dg-keep") == want_keep, "dg-keep after restart: %r" % committed(b, "dg-keep"))
        a = admin(b)
        groups = [g[0] for g in a.list_consumer_groups()]
        a.close()
        check("dg-a" not in groups, "deleted group listed after restart: %r" % groups)
        print("restart: %d partitions, partition 3 data, deleted groups stay deleted" % want_parts)
        ok = True
    finally:
        b.stop()
        if ok and not os.environ.get("NOCOPY_E2E_KEEP"):
            shutil.rmtree(b.data_dir, ignore_errors=True)
            try:
                os.remove(b.log_path)
            except OSError:
                pass
    print("OK")


if __name__ == "__main__":
    main()
