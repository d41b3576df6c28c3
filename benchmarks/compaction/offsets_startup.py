#!/usr/bin/env python3
"""Start-up time of a broker whose __consumer_offsets holds many commits,
before and after the log cleaner compacted it.

  NOCOPY_BIN=build/nocopy python3 benchmarks/compaction/offsets_startup.py \
      [--groups 100] [--partitions 100] [--rounds 100] [--segment-bytes 16777216] [--out result.json]

Steps (each a real `nocopy broker` process on a free port, stopped by PID):
  1. cleaner off: create a topic of --partitions partitions, then every group
     commits every partition --rounds times (raw OffsetCommit v2, standalone
     commits, pipelined): groups x partitions x rounds commit records;
  2. restart with the cleaner off: time from exec to accepting connections
     (the broker replays __consumer_offsets before it listens);
  3. restart with the cleaner on until it has cleaned __consumer_offsets;
  4. restart: the same time, after compaction; OffsetFetch checks every
     group's last commit of a few partitions.
Prints one JSON object (and writes it to --out).
"""
import argparse
import json
import os
import re
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Broker, Raw, kstr  # noqa: E402

TOPIC = "bench"


def create_topic(b, partitions):
    # CreateTopics v0: [name, partitions, replication, assignments[], configs[]], timeout
    body = struct.pack(">i", 1) + kstr(TOPIC) + struct.pack(">ihii", partitions, 1, 0, 0) + struct.pack(">i", 10000)
    r = Raw(b)
    resp = r.call(19, 0, body)
    r.close()
    (n,) = struct.unpack(">i", resp[:4])
    name_len = struct.unpack(">h", resp[4:6])[0]
    (err,) = struct.unpack(">h", resp[6 + name_len:8 + name_len])
    if err not in (0, 36):
        raise SystemExit("CreateTopics failed: error %d" % err)


def commit_body(group, partitions, offset_of):
    parts = b"".join(struct.pack(">iq", p, offset_of(p)) + kstr(None) for p in range(partitions))
    return (kstr(group) + struct.pack(">i", -1) + kstr("") + struct.pack(">q", -1) + struct.pack(">i", 1) +
            kstr(TOPIC) + struct.pack(">i", partitions) + parts)


def check_commit_response(resp):
    pos = 4  # topics array length
    pos += 2 + struct.unpack(">h", resp[pos:pos + 2])[0]
    (n,) = struct.unpack(">i", resp[pos:pos + 4])
    pos += 4
    for _ in range(n):
        _, err = struct.unpack(">ih", resp[pos:pos + 6])
        pos += 6
        if err:
            raise SystemExit("OffsetCommit answered error %d" % err)


def commit_all(b, groups, partitions, rounds, window=64):
    r = Raw(b, timeout=60)
    pending = 0
    sent = 0
    for rnd in range(rounds):
        for g in range(groups):
            r.send(8, 2, commit_body("group-%d" % g, partitions, lambda p: rnd * 1000 + p))
            pending += 1
            sent += 1
            if pending >= window:
                _, resp = r.recv()
                check_commit_response(resp)
                pending -= 1
    while pending:
        _, resp = r.recv()
        check_commit_response(resp)
        pending -= 1
    r.close()
    return sent * partitions


def fetch_offsets(b, group, partitions):
    body = kstr(group) + struct.pack(">i", 1) + kstr(TOPIC) + struct.pack(">i", len(partitions)) + b"".join(
        struct.pack(">i", p) for p in partitions)
    r = Raw(b)
    resp = r.call(9, 1, body)
    r.close()
    pos = 4
    pos += 2 + struct.unpack(">h", resp[pos:pos + 2])[0]
    (n,) = struct.unpack(">i", resp[pos:pos + 4])
    pos += 4
    out = {}
    for _ in range(n):
        p, off = struct.unpack(">iq", resp[pos:pos + 12])
        pos += 12
        (ml,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2 + max(ml, 0)
        (err,) = struct.unpack(">h", resp[pos:pos + 2])
        pos += 2
        out[p] = (off, err)
    return out


def offsets_dir_bytes(data_dir):
    d = os.path.join(data_dir, "__consumer_offsets-0")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".log"))


def timed_start(data_dir, extra):
    b = Broker(*extra, data_dir=data_dir)
    t0 = time.monotonic()
    b.start(timeout=300)
    secs = time.monotonic() - t0
    m = re.findall(r"groups: replayed (\d+) record", b.log())
    return b, secs, int(m[-1]) if m else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--segment-bytes", type=int, default=16 << 20)
    ap.add_argument("--out")
    a = ap.parse_args()
    base = ["--offsets-topic-segment-bytes", str(a.segment_bytes), "--log-level", "info"]
    off = base + ["--log-cleaner-threads", "0"]
    res = {"groups": a.groups, "partitions": a.partitions, "rounds": a.rounds, "segment_bytes": a.segment_bytes}

    b = Broker(*off)
    b.start()
    data_dir = b.data_dir
    try:
        create_topic(b, a.partitions)
        t0 = time.monotonic()
        res["commits"] = commit_all(b, a.groups, a.partitions, a.rounds)
        res["commit_seconds"] = round(time.monotonic() - t0, 2)
        b.stop()
        res["offsets_log_bytes_before"] = offsets_dir_bytes(data_dir)

        b, secs, replayed = timed_start(data_dir, off)
        res["startup_seconds_before"] = round(secs, 3)
        res["replayed_before"] = replayed
        b.stop()

        b = Broker(*(base + ["--log-cleaner-threads", "1", "--log-cleaner-backoff-ms", "100"]), data_dir=data_dir)
        b.start(timeout=300)
        deadline = time.time() + 600
        while time.time() < deadline and "log cleaner: __consumer_offsets-0" not in b.log():
            time.sleep(0.2)
        m = re.findall(r"log cleaner: __consumer_offsets-0: .*", b.log())
        if not m:
            raise SystemExit("the cleaner did not clean __consumer_offsets:\n" + b.log())
        res["clean_log_line"] = m[-1]
        b.stop()
        res["offsets_log_bytes_after"] = offsets_dir_bytes(data_dir)

        b, secs, replayed = timed_start(data_dir, off)
        res["startup_seconds_after"] = round(secs, 3)
        res["replayed_after"] = replayed
        want = (a.rounds - 1) * 1000
        for g in range(a.groups):
            got = fetch_offsets(b, "group-%d" % g, [0, a.partitions - 1])
            for p, (o, err) in got.items():
                if err or o != want + p:
                    raise SystemExit("group-%d partition %d: offset %d error %d, expected %d" % (g, p, o, err, want + p))
        res["offsets_checked"] = True
        b.stop()
    finally:
        if b.alive():
            b.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
