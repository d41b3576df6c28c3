"""librdkafka's idempotent producer against the real broker.

The broker runs with fault injection (NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY):
every Nth Produce is appended, then its response is lost (the connection is
closed), so librdkafka retries a batch the log already holds. With
enable.idempotence=true (InitProducerId + sequence numbers) every message must
be stored exactly once; the control run without idempotence shows the same
fault really does store duplicates, so the check can fail.
Counting is done by `nocopy perf consume`, which checks the dense sequence
numbers `nocopy perf produce` embeds in every payload."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check, nocopy_bin  # noqa: E402

N = 5000
FAULT_EVERY = "3"
RDKAFKA = ["-X", "batch.num.messages=250", "-X", "linger.ms=1", "-X", "reconnect.backoff.ms=10",
           "-X", "reconnect.backoff.max.ms=100", "-X", "retry.backoff.ms=10"]


class _Stopping:
    """Stops an already started Broker on exit (its __exit__), like `with`."""

    def __init__(self, broker):
        self.broker = broker

    def __enter__(self):
        return self.broker

    def __exit__(self, *exc):
        return self.broker.__exit__(*exc)


def run(idempotent):
    broker = Broker("--log-level", "debug")
    os.environ["NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY"] = FAULT_EVERY
    try:
        broker.__enter__()  # starts the process, which inherits the fault setting
    finally:
        del os.environ["NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY"]
    with _Stopping(broker):
        topic = "idem"
        prod = subprocess.run([nocopy_bin(), "perf", "produce", "-b", broker.addr, "-t", topic, "-n", str(N),
                               "-s", "100", "-a", "all", "--timeout", "120000",
                               "-X", "enable.idempotence=%s" % ("true" if idempotent else "false")] + RDKAFKA,
                              capture_output=True, text=True, timeout=240)
        print(prod.stdout + prod.stderr[-2000:])
        check(prod.returncode == 0, "perf produce failed (idempotent=%s)" % idempotent)
        cons = subprocess.run([nocopy_bin(), "perf", "consume", "-b", broker.addr, "-t", topic, "-n", str(N),
                               "--idle-timeout", "3000"], capture_output=True, text=True, timeout=120)
        print(cons.stdout + cons.stderr[-2000:])
        m = re.search(r"missing (\d+), duplicates (\d+)", cons.stdout + cons.stderr)
        check(m is not None, "no missing/duplicates summary from perf consume")
        log = broker.log()
        drops = log.count("fault injection: produce appended")
        dups = log.count("duplicate batch of producer")
        print("idempotent=%s: %d responses dropped, %d duplicate batches recognised, missing %s, duplicates %s"
              % (idempotent, drops, dups, m.group(1), m.group(2)))
        check(drops >= 2, "fault injection did not fire (%d drops)" % drops)
        return int(m.group(1)), int(m.group(2)), dups


def main():
    missing, duplicates, recognised = run(idempotent=True)
    check(missing == 0 and duplicates == 0,
          "idempotent producer: %d missing, %d duplicated after lost responses" % (missing, duplicates))
    check(recognised >= 1, "no retried batch was recognised as a duplicate")
    _, control_dups, _ = run(idempotent=False)
    check(control_dups > 0, "control run without idempotence stored no duplicates: the fault did not bite")
    print("OK")


if __name__ == "__main__":
    main()
