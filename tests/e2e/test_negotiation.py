"""Version negotiation with real clients: which version of each API they use
against the broker, read back from the broker's per-version request counter
(nocopy_requests_by_version_total).

  1. A raw ApiVersions v0 request reads the advertised ranges (the table
     generated from src/kafka/schema/*_request.msg).
  2. confluent-kafka (librdkafka 2.0.2): AdminClient creates a topic, an
     idempotent producer sends, a group consumer reads and commits, the admin
     lists groups and describes configs.
  3. kafka-python 2.0.2: producer, group consumer with commits, admin.

Checks: no request was refused (no "unsupported version" close in the
broker's log, every counted version inside the advertised range), and
librdkafka -- which picks min(its maximum, the broker's) per API -- uses that
newest common version for every API whose maximum in librdkafka 2.0.2 is
known (LIBRDKAFKA_MAX, from its rdkafka_request.c / rdkafka_admin.c). The
versions seen are written to <build>/negotiated-versions.json.
"""
import json
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, Raw, check  # noqa: E402

TOPIC = "negotiation"
GROUP = "negotiation-group"

# The highest version librdkafka 2.0.2 sends, by API name (as labelled by
# the broker's metrics).
LIBRDKAFKA_MAX = {
    "produce": 7,
    "fetch": 11,
    "list_offsets": 2,
    "metadata": 4,
    "offset_commit": 7,
    "offset_fetch": 7,
    "find_coordinator": 2,
    "join_group": 5,
    "heartbeat": 3,
    "leave_group": 1,
    "sync_group": 3,
    "api_versions": 3,
    "create_topics": 4,
    "init_producer_id": 4,
}


def api_versions(broker):
    """The broker's advertised ranges: {api_key: (min, max)} via ApiVersions v0."""
    raw = Raw(broker)
    body = raw.call(18, 0, b"")
    raw.close()
    err, n = struct.unpack(">hi", body[:6])
    check(err == 0, "ApiVersions v0 error %d" % err)
    out = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", body[6 + 6 * i:12 + 6 * i])
        out[k] = (lo, hi)
    return out


def by_version(broker, keys):
    """{(api_label, version): count} from the broker's metrics; fills
    keys[label] = api key."""
    out = {}
    pat = r'nocopy_requests_by_version_total\{api="(\w+)",key="(\d+)",version="(\d+)"\}'
    for name, value in broker.metrics().items():
        m = re.fullmatch(pat, name)
        if m:
            keys[m.group(1)] = int(m.group(2))
            out[(m.group(1), int(m.group(3)))] = int(value)
    return out


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}


def run_librdkafka(broker):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.addr})
    fs = admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])
    fs[TOPIC].result(timeout=15)
    p = Producer({"bootstrap.servers": broker.addr, "enable.idempotence": True, "acks": "all"})
    for i in range(100):
        p.produce(TOPIC, key=b"k%d" % i, value=b"v%d" % i)
    check(p.flush(15) == 0, "librdkafka producer did not flush")
    c = Consumer({"bootstrap.servers": broker.addr, "group.id": GROUP, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = 0
    deadline = time.time() + 30
    while got < 100 and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got += 1
        c.commit(message=m, asynchronous=False)
    check(got == 100, "librdkafka consumer got %d of 100" % got)
    c.committed(c.assignment(), timeout=10)
    c.get_watermark_offsets(c.assignment()[0], timeout=10)
    c.close()
    admin.list_groups(timeout=10)
    res = ConfigResource(ConfigResource.Type.TOPIC, TOPIC)
    for f in admin.describe_configs([res]).values():
        f.result(timeout=10)


def run_kafka_python(broker):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    p = KafkaProducer(bootstrap_servers=broker.addr, acks="all")
    for i in range(50):
        p.send(TOPIC, key=b"p%d" % i, value=b"pv%d" % i)
    p.flush(15)
    p.close()
    c = KafkaConsumer(TOPIC, bootstrap_servers=broker.addr, group_id=GROUP + "-kp", auto_offset_reset="earliest",
                      enable_auto_commit=False, consumer_timeout_ms=3000)
    n = sum(1 for _ in c)
    check(n >= 150, "kafka-python consumer got %d of at least 150" % n)
    c.commit()
    c.close()
    a = KafkaAdminClient(bootstrap_servers=broker.addr)
    a.list_consumer_groups()
    a.close()


def main():
    # Beside the binary, not among the compat results (whose files are one client's scenarios each).
    results = os.path.dirname(os.path.abspath(os.environ.get("NOCOPY_BIN", "build/nocopy")))
    seen = {}
    with Broker() as b:
        advertised = api_versions(b)
        check(18 in advertised and advertised[18][1] >= 3, "ApiVersions does not advertise v3")
        keys = {}
        for name, run in (("librdkafka", run_librdkafka), ("kafka-python", run_kafka_python)):
            before = by_version(b, keys)
            run(b)
            seen[name] = delta(by_version(b, keys), before)
            print("%s used: %s" % (name, sorted(seen[name])))
        log = b.log()
    check("unsupported version" not in log, "the broker refused a version:\n" + log[-2000:])
    failures = []
    rdk = seen["librdkafka"]
    for label, cmax in sorted(LIBRDKAFKA_MAX.items()):
        used = sorted(v for (lab, v) in rdk if lab == label)
        if not used:
            continue
        key = keys[label]
        bmax = advertised[key][1]
        want = min(cmax, bmax)
        if used != [want]:
            failures.append("librdkafka %s: used %s, newest common version is %d" % (label, used, want))
    for name, s in seen.items():
        for (label, v) in s:
            key = keys.get(label)
            if key not in advertised:
                failures.append("%s used %s, which is not advertised" % (name, label))
                continue
            lo, hi = advertised[key]
            if not lo <= v <= hi:
                failures.append("%s used %s v%d outside %d..%d" % (name, label, v, lo, hi))
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, "negotiated-versions.json"), "w") as f:
        json.dump({name: {"%s" % label: sorted(v for (lab, v) in s if lab == label)
                          for (label, _) in s} for name, s in seen.items()}, f, indent=1, sort_keys=True)
    check(not failures, "\n".join(failures))
    print("ok: every client negotiated within the advertised ranges; librdkafka used the newest common versions")



if __name__ == "__main__":
    main()
