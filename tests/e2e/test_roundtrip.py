"""Round trip: kcat (librdkafka) and kafka-python against the real
broker. Per codec (none, gzip, snappy, lz4, zstd): create a 3-partition topic,
produce keyed messages with headers, consume from earliest with manual
assignment (kcat -p, kafka-python assign()), and check every message comes
back exactly once, in order per partition, with key, value, headers and
timestamp intact.

Env: NOCOPY_E2E_MESSAGES (default 100000) messages per codec from kcat;
kafka-python produces a fifth of that per codec (it is ~20x slower)."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
N = int(os.environ.get("NOCOPY_E2E_MESSAGES", "100000"))
NPY = max(1000, N // 5)
PARTS = 3


def value_of(codec, i):
    return "v-%s-%07d-%s" % (codec, i, "x" * (i % 61))


def kcat_consume(addr, topic, partition):
    """-> list of (offset, key, value, headers, ts) read with kcat from earliest."""
    out = subprocess.run(
        ["kcat", "-C", "-b", addr, "-t", topic, "-p", str(partition), "-o", "beginning", "-e", "-q",
         "-f", "%o\t%k\t%s\t%T\t%h\n", "-X", "fetch.wait.max.ms=50"],
        check=True, capture_output=True, timeout=120).stdout.decode()
    rows = []
    for line in out.splitlines():
        off, k, v, ts, h = line.split("\t")
        rows.append((int(off), k, v, h, int(ts)))
    return rows


CODEC_ID = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def check_stored_codec(data_dir, topic, codec):
    """The batches on disk carry the producer's codec: the broker passed them through untouched."""
    import struct
    seen = set()
    for p in range(PARTS):
        path = os.path.join(data_dir, "%s-%d" % (topic, p), "%020d.log" % 0)
        with open(path, "rb") as f:
            data = f.read(1 << 22)
        pos = 0
        while pos + 61 <= len(data):
            (blen,) = struct.unpack_from(">i", data, pos + 8)
            (attr,) = struct.unpack_from(">h", data, pos + 21)
            seen.add(attr & 7)
            pos += 12 + blen
    # librdkafka sends a batch uncompressed when compressing does not shrink it.
    want = CODEC_ID[codec]
    check(want in seen and seen <= {0, want}, "%s: stored batches use codecs %s, want %s" % (topic, seen, want))


def verify_partitioned(rows_by_part, expect, ts_check, who):
    """rows_by_part: {p: [(offset, key, value, headers, ts)]}; expect: {key: (i, value, headers)}."""
    seen = set()
    for p, rows in rows_by_part.items():
        last_i = -1
        for n, (off, k, v, h, ts) in enumerate(rows):
            check(off == n, "%s p%d: offset %d at position %d (gap or repeat)" % (who, p, off, n))
            check(k in expect, "%s p%d: unexpected key %r" % (who, p, k))
            check(k not in seen, "%s: key %r delivered twice" % (who, k))
            seen.add(k)
            i, val, hdr = expect[k]
            check(v == val, "%s: key %r value %r != %r" % (who, k, v, val))
            check(h == hdr, "%s: key %r headers %r != %r" % (who, k, h, hdr))
            check(i > last_i, "%s p%d: out of order: message %d after %d" % (who, p, i, last_i))
            last_i = i
            ts_check(i, ts)
    missing = len(expect) - len(seen)
    check(missing == 0, "%s: %d messages missing" % (who, missing))


def python_consume(addr, topic, total):
    c = KafkaConsumer(bootstrap_servers=addr, group_id=None, enable_auto_commit=False,
                      consumer_timeout_ms=20000, fetch_max_wait_ms=50, api_version_auto_timeout_ms=10000)
    tps = [TopicPartition(topic, p) for p in range(PARTS)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    rows = {p: [] for p in range(PARTS)}
    got = 0
    deadline = time.time() + 120
    while got < total and time.time() < deadline:
        batch = c.poll(timeout_ms=1000, max_records=10000)
        for tp, msgs in batch.items():
            for m in msgs:
                hdr = ",".join("%s=%s" % (hk, hv.decode()) for hk, hv in m.headers)
                rows[tp.partition].append((m.offset, m.key.decode(), m.value.decode(), hdr, m.timestamp))
                got += 1
    # Nothing more may arrive.
    extra = c.poll(timeout_ms=300)
    check(not any(extra.values()), "kafka-python: more messages than produced")
    c.close()
    return rows


def main():
    with Broker("--default-partitions", "1") as b:
        admin = KafkaAdminClient(bootstrap_servers=b.addr, request_timeout_ms=10000)
        topics = ["rt-kcat-" + c for c in CODECS] + ["rt-py-" + c for c in CODECS]
        admin.create_topics([NewTopic(t, PARTS, 1) for t in topics])
        admin.close()

        for codec in CODECS:
            t0 = time.time()
            topic = "rt-kcat-" + codec
            path = os.path.join(b.data_dir, "..", "input-%s-%d.txt" % (codec, os.getpid()))
            expect = {}
            with open(path, "w") as f:
                for i in range(N):
                    k = "k%07d" % i
                    v = value_of(codec, i)
                    f.write("%s\t%s\n" % (k, v))
                    expect[k] = (i, v, "app=e2e,codec=%s" % codec)
            before = int(time.time() * 1000)
            subprocess.run(["kcat", "-P", "-b", b.addr, "-t", topic, "-K", "\t", "-z", codec,
                            "-H", "app=e2e", "-H", "codec=" + codec, "-X", "linger.ms=20",
                            "-X", "acks=all", "-l", path], check=True, timeout=300)
            after = int(time.time() * 1000)
            os.unlink(path)

            def ts_kcat(i, ts):
                check(before - 1000 <= ts <= after + 1000, "timestamp %d outside [%d, %d]" % (ts, before, after))

            check_stored_codec(b.data_dir, topic, codec)
            rows = {p: kcat_consume(b.addr, topic, p) for p in range(PARTS)}
            check(sum(len(r) for r in rows.values()) == N, "kcat consume: %d of %d" %
                  (sum(len(r) for r in rows.values()), N))
            check(all(len(r) > 0 for r in rows.values()), "keys did not spread over the 3 partitions")
            verify_partitioned(rows, expect, ts_kcat, "kcat/%s via kcat" % codec)
            verify_partitioned(python_consume(b.addr, topic, N), expect, ts_kcat, "kcat/%s via kafka-python" % codec)
            print("codec %-6s kcat: %d messages produced and verified twice in %.1fs" % (codec, N, time.time() - t0))

            # kafka-python producer: per-message headers and explicit timestamps.
            t0 = time.time()
            topic = "rt-py-" + codec
            p = KafkaProducer(bootstrap_servers=b.addr, compression_type=None if codec == "none" else codec,
                              acks=1, linger_ms=5, batch_size=65536, api_version_auto_timeout_ms=10000)
            base_ts = 1_600_000_000_000
            expect = {}
            futs = []
            for i in range(NPY):
                k = "p%07d" % i
                v = value_of(codec, i)
                hdr = [("seq", str(i).encode()), ("codec", codec.encode())]
                expect[k] = (i, v, "seq=%d,codec=%s" % (i, codec))
                futs.append(p.send(topic, key=k.encode(), value=v.encode(), headers=hdr,
                                   partition=i % PARTS, timestamp_ms=base_ts + i))
            p.flush(60)
            for f in futs:
                f.get(timeout=10)
            p.close()

            def ts_exact(i, ts):
                check(ts == base_ts + i, "message %d: timestamp %d != %d" % (i, ts, base_ts + i))

            check_stored_codec(b.data_dir, topic, codec)
            rows = {q: kcat_consume(b.addr, topic, q) for q in range(PARTS)}
            verify_partitioned(rows, expect, ts_exact, "python/%s via kcat" % codec)
            verify_partitioned(python_consume(b.addr, topic, NPY), expect, ts_exact,
                               "python/%s via kafka-python" % codec)
            print("codec %-6s kafka-python: %d messages produced and verified twice in %.1fs" %
                  (codec, NPY, time.time() - t0))
    print("OK")


if __name__ == "__main__":
    main()
