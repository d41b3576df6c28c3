#!/usr/bin/env python3
"""Consume throughput of a compacted topic while the log cleaner runs, against
the same without it: one broker, interleaved rounds, medians and their ratio.

  NOCOPY_BIN=build/nocopy python3 benchmarks/compaction/consume_while_cleaning.py \
      [--read-mb 64] [--dirty-mb 32] [--rounds 5] [--cleaner-mb-per-s 16] [--out result.json]

Setup (one real `nocopy broker` on a free port, one cleaner thread whose
reads are throttled to --cleaner-mb-per-s so that a clean outlasts a round):
  * topic `read`: compacted, one partition of --read-mb MB of distinct keys
    (the cleaner checks it once, finds nothing to drop, and leaves it);
  * topics `dirty-0` .. `dirty-<rounds-1>`: one partition each of --dirty-mb
    MB of updates over 1,000 keys, created with cleanup.policy=delete so the
    cleaner ignores them.
Rounds alternate, `idle` first: an `idle` round consumes all of `read` from
offset 0 with raw Fetch v4 requests (4 MiB each, one at a time) while no
clean runs (nocopy_mapped_content_bytes_read_total, which moves while a
clean reads, stays still); a `cleaning` round first switches the next dirty
topic to cleanup.policy=compact (AlterConfigs), waits until that counter
moves, consumes `read` the same way, and checks that the clean was still
running when the consume ended (no clean completed meanwhile, the counter
moved); a round that fails its check is reported and left out of the
median. Every round reads from the page
cache (the topic is read once before the rounds).
Prints one JSON object (and writes it to --out): per-round MB/s, the medians
and cleaning/idle.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Broker, Raw, fetch_body_v4, parse_fetch_v4, whole_batches  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

VALUE = 200  # bytes per value


def fill(b, topic, mb, keys):
    p = Producer({"bootstrap.servers": b.addr, "linger.ms": 20, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 1 << 20})
    n = mb * (1 << 20) // (VALUE + 16)
    pad = os.urandom(VALUE)
    for i in range(n):
        k = b"key-%09d" % (i if keys is None else i % keys)
        while True:
            try:
                p.produce(topic, key=k, value=(b"%09d" % i) + pad[9:])
                break
            except BufferError:
                p.poll(0.05)
    if p.flush(120) != 0:
        raise SystemExit("producer did not flush")
    return n


def consume(b, topic):
    """Reads `topic` partition 0 from offset 0 to its end; -> bytes read."""
    r = Raw(b, timeout=30)
    offset, total = 0, 0
    while True:
        resp = r.call(1, 4, fetch_body_v4(topic, 0, offset, 100, 1, 4 << 20))
        err, hw, recs = parse_fetch_v4(resp)
        if err:
            raise SystemExit("fetch error %d at %d" % (err, offset))
        total += len(recs)
        _, offset = whole_batches(recs, offset)
        if offset >= hw:
            break
    r.close()
    return total


def counters(b):
    """(content bytes the cleaner has read so far -- moves while a clean
    runs --, cleans completed)."""
    m = b.metrics()
    return m.get("nocopy_mapped_content_bytes_read_total", 0), m.get("nocopy_log_cleaner_runs_total", 0)


def wait_quiet(b, quiet_s=1.5, timeout=300):
    """Until the cleaner has read nothing for quiet_s seconds."""
    deadline = time.time() + timeout
    last, since = counters(b)[0], time.time()
    while time.time() < deadline:
        time.sleep(0.1)
        now = counters(b)[0]
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet_s:
            return
    raise SystemExit("the cleaner did not go quiet")


def wait_until(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--read-mb", type=int, default=64)
    ap.add_argument("--dirty-mb", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cleaner-mb-per-s", type=float, default=16)
    ap.add_argument("--out")
    a = ap.parse_args()

    b = Broker("--log-cleaner-backoff-ms", "50",
               "--log-cleaner-io-max-bytes-per-second", str(int(a.cleaner_mb_per_s * (1 << 20))))
    with b:
        admin = AdminClient({"bootstrap.servers": b.addr})
        big = {"segment.bytes": str(16 << 20)}
        topics = [NewTopic("read", 1, 1, config=dict(big, **{"cleanup.policy": "compact"}))]
        topics += [NewTopic("dirty-%d" % i, 1, 1, config=dict(big, **{"cleanup.policy": "delete"}))
                   for i in range(a.rounds)]
        for f in admin.create_topics(topics).values():
            f.result(30)
        fill(b, "read", a.read_mb, None)
        for i in range(a.rounds):
            fill(b, "dirty-%d" % i, a.dirty_mb, 1000)
        # The cleaner's looks at `read` (nothing to drop) end before the rounds.
        wait_until(lambda: counters(b)[1] >= 1, 120, "the first clean of `read`")
        wait_quiet(b)
        consume(b, "read")  # page cache warm

        rounds = []
        for i in range(2 * a.rounds):
            kind = "idle" if i % 2 == 0 else "cleaning"
            before_read, before_runs = counters(b)
            if kind == "cleaning":
                res = ConfigResource(ConfigResource.Type.TOPIC, "dirty-%d" % (i // 2), set_config={
                    "cleanup.policy": "compact", "segment.bytes": str(16 << 20),
                    "min.cleanable.dirty.ratio": "0.01"})
                for f in admin.alter_configs([res]).values():
                    f.result(30)
                wait_until(lambda: counters(b)[0] > before_read, 30, "the cleaner to start")
            start_read, start_runs = counters(b)
            t0 = time.perf_counter()
            n = consume(b, "read")
            secs = time.perf_counter() - t0
            end_read, end_runs = counters(b)
            overlapped = kind == "idle" or (end_runs == before_runs and end_read > start_read)
            quiet = kind == "cleaning" or end_read == start_read
            rounds.append({"kind": kind, "mb_per_s": n / secs / 1e6, "bytes": n, "seconds": secs,
                           "cleaner_mb_read_during": (end_read - start_read) / 1e6,
                           "valid": overlapped and quiet})
            if kind == "cleaning":
                wait_until(lambda: counters(b)[1] > before_runs, 300, "the clean to finish")
                wait_quiet(b)

    def med(kind):
        xs = [r["mb_per_s"] for r in rounds if r["kind"] == kind and r["valid"]]
        return statistics.median(xs) if xs else None

    idle, cleaning = med("idle"), med("cleaning")
    out = {"read_mb": a.read_mb, "dirty_mb": a.dirty_mb, "cleaner_mb_per_s": a.cleaner_mb_per_s,
           "rounds": rounds, "idle_median_mb_per_s": idle, "cleaning_median_mb_per_s": cleaning,
           "cleaning_over_idle": (cleaning / idle) if idle and cleaning else None}
    text = json.dumps(out, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
