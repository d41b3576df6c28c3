#!/usr/bin/env python3
"""Transactional and idempotent produce against nocopy and Apache Kafka in one
run, with the same client (confluent-kafka / librdkafka 2.0.2) and the same
workload as txn_bench.py: TXNS transactions of 100 x 1 KiB records, each
committed, vs the same records idempotent (acks=all, no transactions).

Both brokers run at once on loopback (nocopy: tests/e2e/harness.Broker;
Kafka 4.x: benchmarks/peers/run.py's KRaft single node from the jars that
benchmarks/peers/setup.sh installs); rounds alternate the four
(broker, mode) pairs, the order rotating every round. Per round msgs/s and
the load average; medians; per broker the ratio transactional /
idempotent, and nocopy / Kafka per mode.

Usage: ROUNDS=5 TXNS=300 NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/broker/txn_vs_kafka.py [--out x.json]
Prints one JSON object.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "peers"))
sys.path.insert(0, HERE)
from harness import Broker  # noqa: E402
import run as peers  # noqa: E402  (Kafka, KAFKA_LIBS)
import txn_bench  # noqa: E402  (produce, TXNS, ROUNDS, PER_TXN)

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def create_topics(addr, names):
    admin = AdminClient({"bootstrap.servers": addr})
    for f in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        f.result(60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(peers.KAFKA_LIBS, ".complete")):
        raise SystemExit("no Kafka jars in %s: run benchmarks/peers/setup.sh" % peers.KAFKA_LIBS)
    data_root = tempfile.mkdtemp(prefix="txn-vs-kafka-")
    kafka = peers.Kafka(data_root)
    kafka.start()
    try:
        with Broker() as nocopy:
            brokers = {"nocopy": nocopy, "kafka": kafka}
            for b in brokers.values():
                create_topics(b.addr, ["bench-txn", "bench-idem"])
            pairs = [(name, mode) for name in brokers for mode in ("txn", "idem")]
            results = {p: [] for p in pairs}
            rounds = []
            for r in range(txn_bench.ROUNDS):
                order = pairs[r % len(pairs):] + pairs[:r % len(pairs)]
                for name, mode in order:
                    load = os.getloadavg()[0]
                    rate = txn_bench.produce(brokers[name], "bench-" + mode, mode == "txn")
                    results[(name, mode)].append(rate)
                    rounds.append({"round": r, "broker": name, "mode": mode, "msgs_per_s": round(rate),
                                   "load_before": round(load, 2)})
                    print("round %d %s %s: %.0f msgs/s (load %.2f)" % (r, name, mode, rate, load),
                          file=sys.stderr, flush=True)
    finally:
        kafka.stop()
    med = {"%s_%s" % p: round(statistics.median(v)) for p, v in results.items()}
    out = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kafka_version": peers.KAFKA_VERSION, "records_per_txn": txn_bench.PER_TXN,
        "record_bytes": txn_bench.SIZE, "txns_per_round": txn_bench.TXNS, "rounds": txn_bench.ROUNDS,
        "median_msgs_s": med,
        "ms_per_txn": {n: round(1000 * txn_bench.PER_TXN / med[n + "_txn"], 2) for n in ("nocopy", "kafka")},
        "txn_over_idem": {n: round(med[n + "_txn"] / med[n + "_idem"], 3) for n in ("nocopy", "kafka")},
        "nocopy_over_kafka": {m: round(med["nocopy_" + m] / med["kafka_" + m], 3) for m in ("txn", "idem")},
        "load_average": [min(x["load_before"] for x in rounds), max(x["load_before"] for x in rounds)],
        "all_rounds": rounds,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
