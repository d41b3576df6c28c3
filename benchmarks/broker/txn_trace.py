#!/usr/bin/env python3
"""Where a transaction's time goes: one nocopy broker, TXNS transactions of
100 x 1 KiB records (txn_bench.py's workload) by a confluent-kafka producer
with librdkafka's protocol debug log on. librdkafka logs each response with
its round-trip time (request written to response read, on the client's
broker thread), so per transaction:

  broker round trips = AddPartitionsToTxn + Produce + EndTxn rtt
  client             = the transaction's wall time minus those

Usage: TXNS=200 NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/broker/txn_trace.py
Prints one JSON object (medians over the transactions after the first 10).
The debug log slows the client; compare the split, not the absolute time,
with txn_bench.py's throughput.
"""
import json
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Broker  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TXNS = int(os.environ.get("TXNS", "200"))
PER_TXN, SIZE = 100, 1024
RTT = re.compile(r"Received (AddPartitionsToTxn|Produce|EndTxn)Response .*rtt ([\d.]+)ms")


def main():
    logpath = tempfile.mktemp(prefix="txn-trace-", suffix=".log")
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        for f in admin.create_topics([NewTopic("trace", 1, 1)]).values():
            f.result(30)
        # librdkafka writes its debug log to stderr: send fd 2 to a file meanwhile.
        saved = os.dup(2)
        fd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        walls = []
        try:
            p = Producer({"bootstrap.servers": b.addr, "enable.idempotence": True, "acks": "all", "linger.ms": 0,
                          "transactional.id": "trace-%f" % time.time(), "debug": "protocol"})
            p.init_transactions(30)
            value = b"x" * SIZE
            for t in range(TXNS):
                os.write(2, b"TXN-START %d\n" % t)
                t0 = time.perf_counter()
                p.begin_transaction()
                for _ in range(PER_TXN):
                    p.produce("trace", value)
                p.commit_transaction(30)
                walls.append((time.perf_counter() - t0) * 1e3)
            p.flush(10)
            del p
        finally:
            os.dup2(saved, 2)
            os.close(fd)
    per = []  # per transaction: {api: rtt ms}
    with open(logpath, errors="replace") as f:
        for line in f:
            if line.startswith("TXN-START"):
                per.append({})
                continue
            m = RTT.search(line)
            if m and per:
                per[-1][m.group(1)] = per[-1].get(m.group(1), 0.0) + float(m.group(2))
    os.unlink(logpath)
    skip = min(10, TXNS // 2)
    rows = [(w, r) for w, r in zip(walls, per) if len(r) == 3][skip:]
    if not rows:
        raise SystemExit("no transaction had all three round trips in the debug log")
    broker = [sum(r.values()) for _, r in rows]
    out = {
        "transactions": len(rows), "records_per_txn": PER_TXN, "record_bytes": SIZE,
        "median_txn_ms": round(statistics.median(w for w, _ in rows), 3),
        "median_rtt_ms": {api: round(statistics.median(r[api] for _, r in rows), 3)
                          for api in ("AddPartitionsToTxn", "Produce", "EndTxn")},
        "median_broker_round_trips_ms": round(statistics.median(broker), 3),
        "median_client_ms": round(statistics.median(w - s for (w, _), s in zip(rows, broker)), 3),
        "broker_share": round(statistics.median(s / w for (w, _), s in zip(rows, broker)), 3),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
