"""Consumer groups with librdkafka's balanced consumer (kcat -G):
1. one member of a group consumes a 6-partition topic from earliest and
   commits on exit;
2. the broker is SIGKILLed and restarted: the group resumes after the
   committed offsets -- only messages produced since come back, none twice;
3. two members in one group split new messages with nothing delivered to both
   and nothing missed;
4. one member leaves (SIGTERM: LeaveGroup after committing): the other takes
   over its partitions and continues from the committed offsets."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check  # noqa: E402

TOPIC = "g6k"
GROUP = "grpk"
KCAT_G = ["-X", "auto.offset.reset=earliest", "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500",
          "-X", "fetch.wait.max.ms=50", "-f", "%p %o %k\\n", "-q", "-u"]


def produce(addr, start, count):
    lines = "".join("k%06d\tv%06d\n" % (i, i) for i in range(start, start + count))
    subprocess.run(["kcat", "-P", "-b", addr, "-t", TOPIC, "-K", "\t", "-X", "acks=all"], input=lines.encode(),
                   check=True, timeout=120)


def keys_of(text):
    return [line.split()[2] for line in text.splitlines() if len(line.split()) == 3]


def consume_to_end(addr):
    out = subprocess.run(["kcat", "-b", addr, "-G", GROUP, TOPIC, "-e"] + KCAT_G, capture_output=True, timeout=120)
    check(out.returncode == 0, "kcat -G -e failed: %s" % out.stderr.decode()[-2000:])
    odd = [line for line in out.stdout.decode().splitlines() if len(line.split()) != 3]
    check(not odd, "unexpected kcat output: %r" % odd[:3])
    return keys_of(out.stdout.decode())


def expect_exactly(keys, start, count, who):
    want = {"k%06d" % i for i in range(start, start + count)}
    check(len(keys) == len(set(keys)), "%s: %d duplicate deliveries" % (who, len(keys) - len(set(keys))))
    got = set(keys)
    check(got == want, "%s: %d missing, %d unexpected" % (who, len(want - got), len(got - want)))


def main():
    data_dir = tempfile.mkdtemp(prefix="nocopy-e2e-groups-kcat-")
    broker = Broker("--default-partitions", "6", "--group-initial-rebalance-delay-ms", "0", data_dir=data_dir)
    with broker:
        produce(broker.addr, 0, 3000)
        expect_exactly(consume_to_end(broker.addr), 0, 3000, "first member")

        produce(broker.addr, 3000, 600)
        broker.stop(sig=signal.SIGKILL)
        broker.start()
        expect_exactly(consume_to_end(broker.addr), 3000, 600, "after SIGKILL restart")

        # Two members, both joined before anything new arrives.
        # Each member writes to its own file opened O_APPEND; the test reads it
        # through a separate open file description. (Sharing one description
        # would share its offset: a seek(0) to read back would make kcat's next
        # write land at the start of the file.)
        paths = [os.path.join(data_dir, "..", os.path.basename(data_dir) + ".member%d" % i) for i in range(2)]
        outs = [open(p, "ab") for p in paths]
        members = [subprocess.Popen(["kcat", "-b", broker.addr, "-G", GROUP, TOPIC] + KCAT_G, stdout=o,
                                    stderr=subprocess.DEVNULL) for o in outs]

        def read(i):
            with open(paths[i], "rb") as f:
                text = f.read().decode()
            # Only whole lines: kcat -u writes a line in several write() calls.
            return keys_of(text[:text.rfind("\n") + 1])

        def wait_total(n, who):
            deadline = time.time() + 60
            while time.time() < deadline and sum(len(read(i)) for i in range(2)) < n:
                time.sleep(0.2)
            time.sleep(1)  # anything delivered twice shows up now

        def stop(m):
            m.send_signal(signal.SIGTERM)
            try:
                m.wait(timeout=20)
            except subprocess.TimeoutExpired:
                m.kill()

        try:
            time.sleep(8)  # join + sync of both members (session timeout 6 s bounds a rebalance)
            produce(broker.addr, 3600, 1200)
            wait_total(1200, "two members")
            split = [read(0), read(1)]
            print("split: %d + %d" % (len(split[0]), len(split[1])))
            check(split[0] and split[1], "one member got nothing: %d + %d" % (len(split[0]), len(split[1])))
            check(not set(split[0]) & set(split[1]), "messages delivered to both members")
            expect_exactly(split[0] + split[1], 3600, 1200, "two members")

            stop(members[0])  # commits, then leaves the group
            time.sleep(3)     # the survivor rejoins and takes every partition
            produce(broker.addr, 4800, 600)
            wait_total(1800, "after a member left")
            survivor = read(1)[len(split[1]):]
            check(len(read(0)) == len(split[0]), "the member that left kept consuming")
            expect_exactly(survivor, 4800, 600, "survivor after takeover")
            print("takeover: the remaining member read the %d new messages of all partitions" % len(survivor))
        finally:
            for m in members:
                if m.poll() is None:
                    stop(m)
            for o, p in zip(outs, paths):
                o.close()
                os.unlink(p)
    print("OK")


if __name__ == "__main__":
    main()
