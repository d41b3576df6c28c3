"""Broker RSS and consume throughput with offset lookups through a mapping of
the segment (`--lookup-mmap`) against `pread` (the default), in one run,
rounds interleaved. Not a ctest test: a measurement (docs/benchmarks.md).

  NOCOPY_BIN=build/nocopy /usr/bin/python3 benchmarks/broker/lookup_rss.py \
      [--rounds 3] [--workloads 102400:8000,1024:1000000]

Per round and per mode, for each workload SIZE:COUNT: a fresh broker
(loopback, free port, fresh data dir) takes COUNT messages of SIZE bytes
from `nocopy perf produce` into one partition; then its peak RSS is reset
(/proc/PID/clear_refs), `nocopy perf consume` reads the topic from the start,
and the broker's VmHWM (peak RSS during the consume), RssFile and RssAnon
after it are read with the consumer's msgs/s. Prints one JSON object: every
run, and per mode and workload the medians, with the pread/mmap ratios."""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from harness import Broker, nocopy_bin  # noqa: E402


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "RssFile", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


def perf(args):
    r = subprocess.run([nocopy_bin(), "perf"] + args + ["-q", "--json"], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError("nocopy perf %s failed:\n%s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout)


def one_run(mode, size, count):
    extra = ["--lookup-mmap"] if mode == "mmap" else []
    with Broker(*extra) as b:
        perf(["produce", "-b", b.addr, "-t", "t", "-p", "1", "-s", str(size), "-n", str(count)])
        with open("/proc/%d/clear_refs" % b.proc.pid, "w") as f:
            f.write("5")
        c = perf(["consume", "-b", b.addr, "-t", "t", "-n", str(count)])
        if c["messages"] != count or c["missing"] or c["errors"]:
            raise RuntimeError("consume read %d of %d (missing %d, errors %d)" %
                               (c["messages"], count, c["missing"], c["errors"]))
        st = status_kb(b.proc.pid)
    return {"mode": mode, "size": size, "count": count, "consume_msgs_per_s": c["msgs_per_s"],
            "peak_rss_kb": st["VmHWM"], "rss_file_kb": st["RssFile"], "rss_anon_kb": st["RssAnon"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="102400:8000,1024:1000000", help="SIZE:COUNT[,SIZE:COUNT...]")
    a = ap.parse_args()
    workloads = [tuple(int(x) for x in w.split(":")) for w in a.workloads.split(",")]
    runs = []
    for r in range(a.rounds):
        for mode in (("mmap", "pread") if r % 2 == 0 else ("pread", "mmap")):
            for size, count in workloads:
                run = one_run(mode, size, count)
                runs.append(run)
                print("round %d %s" % (r + 1, json.dumps(run)), file=sys.stderr)
    summary = []
    for size, count in workloads:
        row = {"size": size, "count": count}
        for mode in ("mmap", "pread"):
            mine = [x for x in runs if x["mode"] == mode and x["size"] == size]
            for k in ("consume_msgs_per_s", "peak_rss_kb", "rss_file_kb"):
                row["%s_%s" % (mode, k)] = statistics.median(x[k] for x in mine)
        row["pread_over_mmap_msgs_per_s"] = row["pread_consume_msgs_per_s"] / row["mmap_consume_msgs_per_s"]
        row["pread_over_mmap_peak_rss"] = row["pread_peak_rss_kb"] / row["mmap_peak_rss_kb"]
        summary.append(row)
    print(json.dumps({"rounds": a.rounds, "runs": runs, "medians": summary}, indent=2))


if __name__ == "__main__":
    main()
