"""A fetch waiting on an empty partition returns within a
few ms of a produce to it, and after max_wait_ms when nothing arrives."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Broker, Raw, build_batch, check, create_topic_body_v0, fetch_body_v4,  # noqa: E402
                     parse_create_topics_v0, parse_fetch_v4, parse_produce_v3, produce_body)

LIMIT_MS = float(os.environ.get("NOCOPY_E2E_WAKE_LIMIT_MS", "50"))


def main():
    with Broker() as b:
        c = Raw(b)
        check(parse_create_topics_v0(c.call(19, 0, create_topic_body_v0("lp", 1))) == 0, "create lp")

        # 1. Nothing arrives: the answer comes after max_wait_ms, empty.
        for wait_ms in (200, 1000):
            t0 = time.monotonic()
            err, hw, recs = parse_fetch_v4(c.call(1, 4, fetch_body_v4("lp", 0, 0, wait_ms)))
            el = (time.monotonic() - t0) * 1000
            check(err == 0 and hw == 0 and recs == b"", "empty fetch: err %d hw %d %d bytes" % (err, hw, len(recs)))
            check(wait_ms - 5 <= el <= wait_ms + 500, "max_wait %d ms answered after %.1f ms" % (wait_ms, el))
            print("empty partition, max_wait_ms=%d: answered after %.1f ms" % (wait_ms, el))

        # 2. A produce wakes the waiting fetch (several rounds, worst case reported).
        worst = 0.0
        offset = 0
        for rnd in range(5):
            f = Raw(b)
            result = {}

            def waiter():
                f.send(1, 4, fetch_body_v4("lp", 0, offset, 5000))
                _, resp = f.recv()
                result["t"] = time.monotonic()
                result["resp"] = resp

            th = threading.Thread(target=waiter)
            th.start()
            time.sleep(0.2)  # let the fetch park (the test measures the wake-up, not this)
            check(not result, "fetch answered before anything was produced")
            p = Raw(b)
            batch = build_batch([(b"k", b"wake-%d" % rnd, [], int(time.time() * 1000))])
            t_send = time.monotonic()
            err, base = parse_produce_v3(p.call(0, 3, produce_body("lp", 0, batch)))
            t_ack = time.monotonic()
            check(err == 0 and base == offset, "produce err %d base %d" % (err, base))
            th.join(10)
            check("t" in result, "fetch not answered within 10 s of the produce")
            err, hw, recs = parse_fetch_v4(result["resp"])
            check(err == 0 and hw == offset + 1 and len(recs) > 61, "woken fetch: err %d hw %d" % (err, hw))
            lag = (result["t"] - t_send) * 1000
            worst = max(worst, lag)
            print("round %d: fetch answered %.2f ms after the produce was sent (ack after %.2f ms)" %
                  (rnd, lag, (t_ack - t_send) * 1000))
            offset += 1
            f.close()
            p.close()
        check(worst <= LIMIT_MS, "worst wake-up %.1f ms > %.1f ms" % (worst, LIMIT_MS))

        # 3. min_bytes: a fetch wanting more than one small batch keeps waiting
        # until enough arrives, then answers at once.
        f = Raw(b)
        f.send(1, 4, fetch_body_v4("lp", 0, offset, 5000, min_bytes=2000))
        p = Raw(b)
        t0 = time.monotonic()
        for i in range(40):
            batch = build_batch([(b"k", b"x" * 100, [], int(time.time() * 1000))])
            parse_produce_v3(p.call(0, 3, produce_body("lp", 0, batch)))
        _, resp = f.recv()
        el = (time.monotonic() - t0) * 1000
        err, hw, recs = parse_fetch_v4(resp)
        check(err == 0 and len(recs) >= 2000, "min_bytes fetch: err %d, %d bytes" % (err, len(recs)))
        check(el < 4000, "min_bytes fetch waited for max_wait (%.0f ms)" % el)
        print("min_bytes=2000 satisfied after %.1f ms with %d bytes" % (el, len(recs)))
    print("OK")


if __name__ == "__main__":
    main()
