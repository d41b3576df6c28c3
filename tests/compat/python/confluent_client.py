"""The confluent-kafka (PyPI, librdkafka) client program of the compatibility tests."""
import time

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import cli


_admin = []


def ADM(addr):
    """One AdminClient per run, kept referenced: a collected client cancels its futures."""
    if not _admin:
        _admin.append(AdminClient({"bootstrap.servers": addr}))
    return _admin[0]


def send_all(p, topic, lo, n, delay_ms, flush_s):
    """Records lo..lo+n-1 (keys as cli.key), sleeping delay_ms after every
    100; waits for every delivery report; returns how many were acknowledged
    or raises with the errors."""
    errs = []
    acked = [0]

    def done(err, msg):
        if err:
            errs.append(err)
        else:
            acked[0] += 1
    for i in range(lo, lo + n):
        p.produce(topic, key=cli.key(i), value=str(i), on_delivery=done)
        p.poll(0)
        if delay_ms and (i - lo) % 100 == 99:
            time.sleep(delay_ms / 1000)
    left = p.flush(flush_s)
    if errs or left:
        raise RuntimeError("%d unacknowledged, errors %s" % (left, errs[:3]))
    return acked[0]


class Ops:
    def version(self, addr):
        return {"version": confluent_kafka.__version__}

    def create(self, addr, topic, parts):
        ADM(addr).create_topics([NewTopic(topic, parts, 1)])[topic].result(30)
        return {}

    def delete(self, addr, topic):
        ADM(addr).delete_topics([topic])[topic].result(30)
        return {}

    def list(self, addr):
        return {"topics": list(ADM(addr).list_topics(timeout=30).topics)}

    def describe_topic(self, addr, topic):
        t = ADM(addr).describe_topics(TopicCollection([topic]))[topic].result(30)
        return {"partitions": len(t.partitions)}

    def describe_configs(self, addr, topic):
        r = ConfigResource("topic", topic)
        cfg = ADM(addr).describe_configs([r])[r].result(30)
        return {"configs": {k: v.value for k, v in cfg.items()}}

    def describe_group(self, addr, group):
        g = ADM(addr).describe_consumer_groups([group])[group].result(30)
        return {"state": g.state.name, "protocol_type": "" if g.is_simple_consumer_group else "consumer"}

    def produce(self, addr, topic, lo, n, delay_ms):
        p = Producer({"bootstrap.servers": addr, "enable.idempotence": True, "acks": "all",
                      "delivery.timeout.ms": 100000})
        return {"acked": send_all(p, topic, lo, n, delay_ms, 110)}

    def txn_produce(self, addr, topic, tid, lo, n, end):
        p = Producer({"bootstrap.servers": addr, "transactional.id": tid, "acks": "all"})
        p.init_transactions(30)
        p.begin_transaction()
        acked = send_all(p, topic, lo, n, 0, 60)
        if end == "commit":
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
        return {"acked": acked}

    def consume_committed(self, addr, topic, group, n, timeout_s):
        return self.consume(addr, topic, group, n, timeout_s, "read_committed")

    def consume(self, addr, topic, group, n, timeout_s, isolation="read_uncommitted"):
        c = Consumer({"bootstrap.servers": addr, "group.id": group, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": isolation})
        c.subscribe([topic])
        out = []
        deadline = time.time() + timeout_s
        while len(out) < n:
            if time.time() > deadline:
                raise RuntimeError("%d of %d records after %ds" % (len(out), n, timeout_s))
            ms = c.consume(1000, 1.0)
            for m in ms:
                if m.error():
                    raise RuntimeError(str(m.error()))
                out.append([m.partition(), m.offset(), m.key().decode(), m.value().decode()])
            if ms:
                c.commit(asynchronous=False)
        c.close()
        return {"records": out}


if __name__ == "__main__":
    cli.main(Ops())
