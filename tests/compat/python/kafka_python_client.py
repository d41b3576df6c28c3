"""The kafka-python (PyPI) client program of the compatibility tests."""
import time

import kafka
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

import cli


def admin(addr):
    return KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)


class Ops:
    def version(self, addr):
        return {"version": kafka.__version__}

    def create(self, addr, topic, parts):
        a = admin(addr)
        a.create_topics([NewTopic(topic, parts, 1)])
        a.close()
        return {}

    def delete(self, addr, topic):
        a = admin(addr)
        a.delete_topics([topic])
        a.close()
        return {}

    def list(self, addr):
        a = admin(addr)
        ts = a.list_topics()
        a.close()
        return {"topics": list(ts)}

    def describe_topic(self, addr, topic):
        a = admin(addr)
        (t,) = a.describe_topics([topic])
        a.close()
        if t["error_code"]:
            raise RuntimeError("error code %d" % t["error_code"])
        return {"partitions": len(t["partitions"])}

    def describe_configs(self, addr, topic):
        a = admin(addr)
        res = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
        a.close()
        return {"configs": {k: v.get("value") for k, v in res["topic"][topic].items()}}

    def describe_group(self, addr, group):
        a = admin(addr)
        g = a.describe_groups([group])[group]
        a.close()
        if g.get("error_code"):
            raise RuntimeError("error code %d" % g["error_code"])
        return {"state": g["group_state"], "protocol_type": g["protocol_type"]}

    def produce(self, addr, topic, lo, n, delay_ms):
        p = KafkaProducer(bootstrap_servers=addr, enable_idempotence=True, acks="all",
                          retries=1000, retry_backoff_ms=250, delivery_timeout_ms=100000,
                          request_timeout_ms=10000)
        futs = []
        for i in range(lo, lo + n):
            futs.append(p.send(topic, key=cli.key(i).encode(), value=str(i).encode()))
            if delay_ms and (i - lo) % 100 == 99:
                time.sleep(delay_ms / 1000)
        p.flush(110)
        for f in futs:
            f.get(timeout=1)
        p.close(10)
        return {"acked": len(futs)}

    def txn_produce(self, addr, topic, tid, lo, n, end):
        p = KafkaProducer(bootstrap_servers=addr, transactional_id=tid, acks="all", request_timeout_ms=10000)
        p.init_transactions()
        p.begin_transaction()
        futs = [p.send(topic, key=cli.key(i).encode(), value=str(i).encode()) for i in range(lo, lo + n)]
        p.flush(60)
        for f in futs:
            f.get(timeout=1)
        if end == "commit":
            p.commit_transaction()
        else:
            p.abort_transaction()
        p.close(10)
        return {"acked": len(futs)}

    def consume_committed(self, addr, topic, group, n, timeout_s):
        return self.consume(addr, topic, group, n, timeout_s, "read_committed")

    def consume(self, addr, topic, group, n, timeout_s, isolation="read_uncommitted"):
        c = KafkaConsumer(topic, bootstrap_servers=addr, group_id=group, enable_auto_commit=False,
                          auto_offset_reset="earliest", isolation_level=isolation)
        out = []
        deadline = time.time() + timeout_s
        while len(out) < n:
            if time.time() > deadline:
                raise RuntimeError("%d of %d records after %ds" % (len(out), n, timeout_s))
            for tp, rs in c.poll(timeout_ms=500).items():
                out += [[tp.partition, r.offset, r.key.decode(), r.value.decode()] for r in rs]
            c.commit()
        c.close()
        return {"records": out}


if __name__ == "__main__":
    cli.main(Ops())
