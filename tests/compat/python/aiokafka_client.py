"""The aiokafka (PyPI, asyncio) client program of the compatibility tests."""
import asyncio
import time

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

import cli


async def with_admin(addr, fn):
    a = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    await a.start()
    try:
        return await fn(a)
    finally:
        await a.close()


async def describe_configs(a, topic):
    res = await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    cfg = {}
    for r in res:
        for rs in r.resources:
            for e in rs[4]:
                cfg[e[0]] = e[1]
    return {"configs": cfg}


async def describe_group(a, group):
    (r,) = await a.describe_consumer_groups([group])
    g = r.groups[0]
    if g[0]:
        raise RuntimeError("error code %d" % g[0])
    return {"state": g[2], "protocol_type": g[3]}


async def produce(addr, topic, lo, n, delay_ms):
    p = AIOKafkaProducer(bootstrap_servers=addr, enable_idempotence=True, acks="all",
                         request_timeout_ms=100000, retry_backoff_ms=250)
    await p.start()
    try:
        futs = []
        for i in range(lo, lo + n):
            futs.append(await p.send(topic, key=cli.key(i).encode(), value=str(i).encode()))
            if delay_ms and (i - lo) % 100 == 99:
                await asyncio.sleep(delay_ms / 1000)
        await asyncio.wait_for(asyncio.gather(*futs), 110)
    finally:
        await p.stop()
    return {"acked": len(futs)}


async def txn_produce(addr, topic, tid, lo, n, end):
    p = AIOKafkaProducer(bootstrap_servers=addr, transactional_id=tid, acks="all", request_timeout_ms=30000)
    await p.start()
    try:
        await p.begin_transaction()
        futs = [await p.send(topic, key=cli.key(i).encode(), value=str(i).encode()) for i in range(lo, lo + n)]
        await asyncio.wait_for(asyncio.gather(*futs), 60)
        if end == "commit":
            await p.commit_transaction()
        else:
            await p.abort_transaction()
    finally:
        await p.stop()
    return {"acked": len(futs)}


async def consume(addr, topic, group, n, timeout_s, isolation="read_uncommitted"):
    c = AIOKafkaConsumer(topic, bootstrap_servers=addr, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", isolation_level=isolation)
    await c.start()
    out = []
    deadline = time.time() + timeout_s
    try:
        while len(out) < n:
            if time.time() > deadline:
                raise RuntimeError("%d of %d records after %ds" % (len(out), n, timeout_s))
            for tp, rs in (await c.getmany(timeout_ms=500)).items():
                out += [[tp.partition, r.offset, r.key.decode(), r.value.decode()] for r in rs]
            await c.commit()
    finally:
        await c.stop()
    return {"records": out}


class Ops:
    def version(self, addr):
        return {"version": aiokafka.__version__}

    def create(self, addr, topic, parts):
        asyncio.run(with_admin(addr, lambda a: a.create_topics([NewTopic(topic, parts, 1)])))
        return {}

    def delete(self, addr, topic):
        asyncio.run(with_admin(addr, lambda a: a.delete_topics([topic])))
        return {}

    def list(self, addr):
        return {"topics": list(asyncio.run(with_admin(addr, lambda a: a.list_topics())))}

    def describe_topic(self, addr, topic):
        (t,) = asyncio.run(with_admin(addr, lambda a: a.describe_topics([topic])))
        if t["error_code"]:
            raise RuntimeError("error code %d" % t["error_code"])
        return {"partitions": len(t["partitions"])}

    def describe_configs(self, addr, topic):
        return asyncio.run(with_admin(addr, lambda a: describe_configs(a, topic)))

    def describe_group(self, addr, group):
        return asyncio.run(with_admin(addr, lambda a: describe_group(a, group)))

    def produce(self, addr, *args):
        return asyncio.run(produce(addr, *args))

    def consume(self, addr, *args):
        return asyncio.run(consume(addr, *args))

    def consume_committed(self, addr, *args):
        return asyncio.run(consume(addr, *args, "read_committed"))

    def txn_produce(self, addr, *args):
        return asyncio.run(txn_produce(addr, *args))


if __name__ == "__main__":
    cli.main(Ops())
