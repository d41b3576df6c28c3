"""kafkajs' idempotent producer against lost Produce responses.

The broker runs with NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY=3: every third
Produce is appended and then its connection is closed instead of answering,
so kafkajs retries batches the log already holds. With idempotent: true
(InitProducerId + sequence numbers) every message is stored exactly once, and
a kafkajs group consumer receives each once, intact. The control run without
idempotence shows the fault really stores duplicates, so the check can fail."""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402
import test_kafkajs as kjs  # noqa: E402

N = 3000
FAULT_EVERY = "3"


def run(idempotent):
    os.environ["NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY"] = FAULT_EVERY
    try:
        b = Broker("--group-initial-rebalance-delay-ms", "0", "--log-level", "debug").start()
    finally:
        del os.environ["NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY"]
    log_dir = b.data_dir + ".kafkajs"
    os.makedirs(log_dir, exist_ok=True)
    consumers = []
    ok = False
    try:
        r = kjs.run_node(log_dir, "create", "admin.js", b.addr, "create", kjs.TOPIC, 3)
        check(r["ev"] == "created", "create: %s" % r)
        kjs.produce(b, log_dir, 0, N, "none", 100, "idempotent" if idempotent else "")
        ends = kjs.log_end(b, log_dir)
        log = b.log()
        drops = log.count("fault injection: produce appended")
        dups = log.count("duplicate batch of producer")
        stored = sum(ends.values())
        print("idempotent=%s: %d responses dropped, %d duplicate batches recognised, %d of %d messages stored" %
              (idempotent, drops, dups, stored, N))
        check(drops > 0, "the fault was never injected")
        if not idempotent:
            check(stored > N, "without idempotence the retries should store duplicates, stored %d" % stored)
        else:
            check(stored == N, "idempotent producer: %d messages stored for %d sent" % (stored, N))
            check(dups > 0, "no retried batch was recognised as a duplicate")
            c = kjs.Node(log_dir, "c1", "consume.js", b.addr, kjs.TOPIC, kjs.GROUP, "c1")
            consumers = [c]
            kjs.expect(b, log_dir, [c], {}, range(N), {}, 45, "idempotent produce")
            check(c.stop() == 0, "consumer exited badly:\n%s" % c.tail())
            consumers = []
        ok = True
    finally:
        kjs.stop_all(b, log_dir, consumers, ok)
    kjs.remove_logs(b, log_dir)


def main():
    if not shutil.which("node") or not os.path.isdir(os.path.join(kjs.KJS, "node_modules", "kafkajs")):
        sys.exit("kafkajs is not installed: run scripts/setup.sh (node + npm ci in tests/e2e/kafkajs)")
    started = time.time()
    run(idempotent=False)
    run(idempotent=True)
    print("kafkajs idempotence e2e OK in %.1f s" % (time.time() - started))


if __name__ == "__main__":
    main()
