"""Per-topic message timestamps with real clients (confluent-kafka-python /
librdkafka 2.0.2).

  1. AdminClient creates `lat` with message.timestamp.type=LogAppendTime and
     `ct` without; a bad type and a negative bound are INVALID_CONFIG.
  2. A producer stamps every record 2001-09-09 (1e12 ms). A consumer of
     `lat` sees each record with TIMESTAMP_LOG_APPEND_TIME and a timestamp
     the broker assigned between the produce's start and its delivery
     report; of `ct`, TIMESTAMP_CREATE_TIME and the producer's 1e12.
  3. describe_configs: message.timestamp.type of `lat` is
     DYNAMIC_TOPIC_CONFIG = LogAppendTime, of `ct` DEFAULT_CONFIG =
     CreateTime; message.timestamp.before.max.ms DEFAULT_CONFIG.
  4. A topic with message.timestamp.before.max.ms=60000 refuses the 2001
     record (INVALID_TIMESTAMP), the other topics took it.
  5. alter_configs switches `ct` to LogAppendTime: its next record is
     broker-stamped, the one stored before keeps its CreateTime.
  6. SIGTERM restart: `lat` and `ct` still stamp new records."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaException, \
    Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic  # noqa: E402

SENT = 1_000_000_000_000  # the producer's timestamp: 2001-09-09
# The broker stamps from the coarse wall clock (CLOCK_REALTIME_COARSE), up
# to a clock tick behind time.time().
COARSE_TICK_MS = 20


def now_ms():
    return int(time.time() * 1000)


def create(b, name, config):
    """-> None on success, else the error name."""
    a = AdminClient({"bootstrap.servers": b.addr})
    fut = a.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)],
                          request_timeout=15)[name]
    try:
        fut.result(timeout=30)
        return None
    except KafkaException as e:
        return e.args[0].name()


def produce(b, topic, n):
    """Produces n records stamped SENT -> (ms before, ms after delivery, errors by name)."""
    p = Producer({"bootstrap.servers": b.addr, "linger.ms": 0, "message.send.max.retries": 0})
    errors = []

    def report(err, _msg):
        if err is not None:
            errors.append(err.name())

    before = now_ms()
    for i in range(n):
        p.produce(topic, key=b"k", value=b"v%d" % i, timestamp=SENT, on_delivery=report)
    left = p.flush(30)
    check(left == 0, "%s: %d records undelivered" % (topic, left))
    return before, now_ms(), errors


def consume(b, topic, first, count):
    """-> [(timestamp type, timestamp)] of records first..first+count-1 of partition 0."""
    c = Consumer({"bootstrap.servers": b.addr, "group.id": "lat-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, first)])
    out = []
    deadline = time.time() + 30
    try:
        while len(out) < count and time.time() < deadline:
            m = c.poll(1.0)
            if m is None or m.error():
                continue
            out.append(m.timestamp())
    finally:
        c.close()
    check(len(out) == count, "%s: consumed %d of %d" % (topic, len(out), count))
    return out


def check_stamped(got, lo, hi, what):
    lo -= COARSE_TICK_MS
    for kind, ts in got:
        check(kind == TIMESTAMP_LOG_APPEND_TIME, "%s: timestamp type %d, expected LogAppendTime" % (what, kind))
        check(lo <= ts <= hi, "%s: timestamp %d outside the produce window [%d, %d]" % (what, ts, lo, hi))


def describe(b, topic):
    a = AdminClient({"bootstrap.servers": b.addr})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return a.describe_configs([res], request_timeout=15)[res].result(timeout=30)


def main():
    started = time.time()
    with Broker() as b:
        # 1. Created with the configs; bad values refused.
        check(create(b, "lat", {"message.timestamp.type": "LogAppendTime"}) is None, "create lat failed")
        check(create(b, "ct", {}) is None, "create ct failed")
        for name, cfg in (("bad1", {"message.timestamp.type": "logappendtime"}),
                          ("bad2", {"message.timestamp.after.max.ms": "-1"})):
            err = create(b, name, cfg)
            check(err == "INVALID_CONFIG", "%s: expected INVALID_CONFIG, got %s" % (name, err))

        # 2. Broker-assigned timestamps on lat, the producer's on ct.
        lo, hi, errs = produce(b, "lat", 20)
        check(not errs, "lat: %s" % errs)
        check_stamped(consume(b, "lat", 0, 20), lo, hi, "lat")
        _, _, errs = produce(b, "ct", 5)
        check(not errs, "ct: %s" % errs)
        got = consume(b, "ct", 0, 5)
        check(all(g == (TIMESTAMP_CREATE_TIME, SENT) for g in got), "ct: %r" % got[:2])

        # 3. Sources.
        d, c = describe(b, "lat"), describe(b, "ct")
        check(d["message.timestamp.type"].value == "LogAppendTime" and
              d["message.timestamp.type"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value,
              "lat message.timestamp.type: %r" % d["message.timestamp.type"])
        check(c["message.timestamp.type"].value == "CreateTime" and
              c["message.timestamp.type"].source == ConfigSource.DEFAULT_CONFIG.value,
              "ct message.timestamp.type: %r" % c["message.timestamp.type"])
        check(d["message.timestamp.before.max.ms"].source == ConfigSource.DEFAULT_CONFIG.value,
              "lat before.max.ms: %r" % d["message.timestamp.before.max.ms"])

        # 4. A per-topic bound refuses what the others accepted.
        check(create(b, "strict", {"message.timestamp.before.max.ms": "60000"}) is None, "create strict failed")
        _, _, errs = produce(b, "strict", 1)
        check(errs == ["INVALID_TIMESTAMP"], "strict: expected INVALID_TIMESTAMP, got %s" % errs)

        # 5. AlterConfigs switches ct from its next record on.
        a = AdminClient({"bootstrap.servers": b.addr})
        res = ConfigResource(ConfigResource.Type.TOPIC, "ct", set_config={"message.timestamp.type": "LogAppendTime"})
        a.alter_configs([res], request_timeout=15)[res].result(timeout=30)
        lo, hi, errs = produce(b, "ct", 3)
        check(not errs, "ct after alter: %s" % errs)
        got = consume(b, "ct", 4, 4)
        check(got[0] == (TIMESTAMP_CREATE_TIME, SENT), "ct record 4 changed: %r" % (got[0],))
        check_stamped(got[1:], lo, hi, "ct after alter")

        # 6. Restart: the topics keep their type.
        b.stop()
        b.start()
        for topic, first in (("lat", 20), ("ct", 8)):
            lo, hi, errs = produce(b, topic, 2)
            check(not errs, "%s after restart: %s" % (topic, errs))
            check_stamped(consume(b, topic, first, 2), lo, hi, topic + " after restart")
    print("ok: LogAppendTime per topic with confluent-kafka (%.1f s)" % (time.time() - started))


if __name__ == "__main__":
    main()
