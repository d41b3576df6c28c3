#!/usr/bin/env python3
"""Turns a benchmarks/peers/run.py results file into docs/peers.md and docs/peers.svg.

Usage: gen_doc.py [results.json] [--md docs/peers.md] [--svg docs/peers.svg]
(default: the newest file in benchmarks/peers/results/). Every figure is the
median over the rounds of that file; ratios are nocopy / Kafka with the same
client in the same run. The chart needs matplotlib (setup.sh installs
python3-matplotlib; run with /usr/bin/python3).
"""
import argparse
import glob
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
METRICS = ("msgs_per_s", "mb_per_s", "cpu_s_per_gb", "broker_peak_rss_kb", "p50_us", "p99_us", "p99_9_us",
           "user_cpu_s_per_gb", "sys_cpu_s_per_gb", "syscalls_per_mb")
PEER_NAMES = {"kafka": "Apache Kafka", "nocopy": "nocopy", "nats": "NATS JetStream", "redis": "Redis Streams"}


def size_name(s):
    return {100: "100 B", 1024: "1 KiB", 102400: "100 KiB"}.get(s, f"{s} B")


def workload_name(r):
    w = r["workload"]
    if w == "produce":
        return f"produce {size_name(r['size'])} acks={r['acks']}"
    if w == "consume":
        return f"consume {size_name(r['size'])}"
    return f"latency {r['rate']:,} msgs/s" + (" (1 in flight)" if r["rate"] == 2000 else "")


def medians(runs):
    """{(peer, client, workload name): {metric: median, 'n': rounds, 'failed': k}}"""
    groups = {}
    for r in runs:
        if r.get("client") is None:
            continue
        groups.setdefault((r["peer"], r["client"], workload_name(r)), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        m = {"n": len(ok), "failed": len(rs) - len(ok), "errors": [r["error"] for r in rs if not r["ok"]],
             "filled": bool(ok) and all(r.get("mem_free_mb_before") is not None for r in ok)}
        for k in METRICS:
            vals = [r[k] for r in ok if r.get(k) is not None]
            m[k] = statistics.median(vals) if vals else None
        out[key] = m
    return out


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "us":  # shown in ms
        return f"{v / 1000:.2f}" if v < 10_000 else f"{v / 1000:.0f}"
    if unit == "rss":
        return f"{v / 1024:.0f}"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def order(doc):
    seen = []
    for r in doc["runs"]:
        if r.get("client") and workload_name(r) not in seen:
            seen.append(workload_name(r))
    return seen


def kafka_table(doc, med, client):
    lines = [f"| workload | Kafka msgs/s | nocopy msgs/s | ratio | Kafka MB/s | nocopy MB/s | Kafka CPU-s/GB | "
             "nocopy CPU-s/GB | ratio | Kafka peak RSS MiB | nocopy peak RSS MiB | ratio |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for w in order(doc):
        k, n = med.get(("kafka", client, w)), med.get(("nocopy", client, w))
        if not k and not n:
            continue
        k, n = k or {}, n or {}
        g = lambda d, m: d.get(m)  # noqa: E731
        lines.append(f"| {w} | {fmt(g(k, 'msgs_per_s'))} | {fmt(g(n, 'msgs_per_s'))} | "
                     f"{ratio(g(n, 'msgs_per_s'), g(k, 'msgs_per_s'))} | {fmt(g(k, 'mb_per_s'))} | "
                     f"{fmt(g(n, 'mb_per_s'))} | {fmt(g(k, 'cpu_s_per_gb'))} | {fmt(g(n, 'cpu_s_per_gb'))} | "
                     f"{ratio(g(n, 'cpu_s_per_gb'), g(k, 'cpu_s_per_gb'))} | {fmt(g(k, 'broker_peak_rss_kb'), 'rss')} | "
                     f"{fmt(g(n, 'broker_peak_rss_kb'), 'rss')} | "
                     f"{ratio(g(n, 'broker_peak_rss_kb'), g(k, 'broker_peak_rss_kb'))} |")
    return lines


def cpu_split_table(doc, med, client):
    """User and kernel CPU-s/GB and system calls per MB of both Kafka-protocol brokers (runs that recorded them)."""
    lines = [f"| workload ({client}) | page cache | Kafka user | Kafka kernel | nocopy user | nocopy kernel | "
             "user ratio | kernel ratio | Kafka syscalls/MB | nocopy syscalls/MB |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for w in order(doc):
        k, n = med.get(("kafka", client, w)) or {}, med.get(("nocopy", client, w)) or {}
        if k.get("user_cpu_s_per_gb") is None and n.get("user_cpu_s_per_gb") is None:
            continue
        filled = "filled" if k.get("filled") and n.get("filled") else "free"
        lines.append(f"| {w} | {filled} | {fmt(k.get('user_cpu_s_per_gb'))} | {fmt(k.get('sys_cpu_s_per_gb'))} | "
                     f"{fmt(n.get('user_cpu_s_per_gb'))} | {fmt(n.get('sys_cpu_s_per_gb'))} | "
                     f"{ratio(n.get('user_cpu_s_per_gb'), k.get('user_cpu_s_per_gb'))} | "
                     f"{ratio(n.get('sys_cpu_s_per_gb'), k.get('sys_cpu_s_per_gb'))} | "
                     f"{fmt(k.get('syscalls_per_mb'))} | {fmt(n.get('syscalls_per_mb'))} |")
    return lines if len(lines) > 2 else []


def cpu_split_section(doc, med):
    tables = [cpu_split_table(doc, med, c) for c in ("nocopy-perf", "kafka-perf")]
    if not any(tables):
        return []
    md = ["## Where the brokers' CPU goes: user space and kernel", "",
          "CPU-s/GB split into the broker's user time and its kernel time (`utime` and `stime` of the broker PID), "
          "and the system calls it entered per MB moved (`perf stat -e raw_syscalls:sys_enter -p <pid>` over the "
          "run). Both brokers pay the same kernel work per byte -- receiving it from the socket and copying it into "
          "the page cache on produce, sending it from the page cache on consume -- so kernel time compresses the "
          "total ratio toward 1.", "",
          "Page cache: before every workload run.py fills free memory with clean page cache (a sparse file as large "
          "as RAM, mapped with `MADV_POPULATE_READ`; `--no-fill-page-cache` skips it), since on a long-running broker "
          "host the page cache is full and appends take their pages from reclaim. This VM's balloon device reports "
          "free pages to the host (`/sys/bus/virtio/devices/virtio0/features` has VIRTIO_BALLOON_F_REPORTING), and "
          "the first write to a page the host took back faults in the hypervisor, the time landing on the writer's "
          "copy: `dd if=/dev/zero of=f bs=1M count=2048` took 3.70 s of system time on such memory, 0.37-0.46 s "
          "with the page cache full, 0.18 s overwriting cached pages. Rows marked *free* were measured without the "
          "fill: their kernel time depends on which broker first touched memory the host had taken back (`perf "
          "record -g -p <nocopy pid>` during `nocopy perf produce -s 1024 -a 1 -n 2000000` put 20% of the broker's "
          "CPU in `copy_folio_from_iter_atomic`, the page-cache copy, with a mostly empty page cache and 60% once "
          "7 GB had been written before it).", ""]
    for t in tables:
        if t:
            md += t + [""]
    return md


def all_table(doc, med):
    lines = ["| peer | client | workload | msgs/s | MB/s | CPU-s/GB | peak RSS MiB | p50 ms | p99 ms | p99.9 ms | "
             "rounds ok |", "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for w in order(doc):
        for (peer, client, wn), m in med.items():
            if wn != w:
                continue
            lines.append(f"| {PEER_NAMES[peer]} | {client} | {w} | {fmt(m['msgs_per_s'])} | {fmt(m['mb_per_s'])} | "
                         f"{fmt(m['cpu_s_per_gb'])} | {fmt(m['broker_peak_rss_kb'], 'rss')} | "
                         f"{fmt(m['p50_us'], 'us')} | {fmt(m['p99_us'], 'us')} | {fmt(m['p99_9_us'], 'us')} | "
                         f"{m['n']}/{doc['rounds']} |")
    return lines


def targets(doc, med):
    out = []
    for client in ("nocopy-perf", "kafka-perf"):
        tput = [(w, med.get(("nocopy", client, w)), med.get(("kafka", client, w))) for w in order(doc)
                if w.startswith(("produce", "consume"))]
        tput = [(w, n, k) for w, n, k in tput if n and k and n["msgs_per_s"] and k["msgs_per_s"]]
        if tput:
            worst = min(tput, key=lambda t: t[1]["msgs_per_s"] / t[2]["msgs_per_s"])
            r = worst[1]["msgs_per_s"] / worst[2]["msgs_per_s"]
            out.append(f"- nocopy ≥ Kafka msgs/s at every size ({client}): **{'met' if r >= 1 else 'not met'}** — "
                       f"lowest ratio {r:.2f} ({worst[0]}).")
        for kind in ("produce", "consume"):
            rs = [(w, n["cpu_s_per_gb"] / k["cpu_s_per_gb"]) for w, n, k in tput
                  if w.startswith(kind) and n["cpu_s_per_gb"] and k["cpu_s_per_gb"]]
            if rs:
                w, r = max(rs, key=lambda t: t[1])
                out.append(f"- CPU-s/GB ≤ 0.5× Kafka on {kind} ({client}): **{'met' if r <= 0.5 else 'not met'}** — "
                           f"highest ratio {r:.2f} ({w}).")
        rs = [(w, n["user_cpu_s_per_gb"] / k["user_cpu_s_per_gb"]) for w, n, k in tput
              if n.get("user_cpu_s_per_gb") and k.get("user_cpu_s_per_gb")]
        if rs:
            w, r = max(rs, key=lambda t: t[1])
            out.append(f"- (not a target; for reading the two above) user-space CPU-s/GB, nocopy / Kafka "
                       f"({client}): highest ratio {r:.2f} ({w}).")
        rs = [(w, n["broker_peak_rss_kb"] / k["broker_peak_rss_kb"]) for w, n, k in tput
              if n["broker_peak_rss_kb"] and k["broker_peak_rss_kb"]]
        if rs:
            w, r = max(rs, key=lambda t: t[1])
            out.append(f"- Peak RSS ≤ 0.2× Kafka ({client}): **{'met' if r <= 0.2 else 'not met'}** — "
                       f"highest ratio {r:.2f} ({w}).")
        w = "latency 2,000 msgs/s (1 in flight)"
        n, k = med.get(("nocopy", client, w)), med.get(("kafka", client, w))
        if n and k and n["p99_us"] is not None and k["p99_us"] is not None:
            ok = n["p99_us"] <= k["p99_us"] and n["p99_9_us"] <= k["p99_9_us"]
            out.append(f"- Ack latency at 2,000 msgs/s, p99 and p99.9 ≤ Kafka's ({client}): "
                       f"**{'met' if ok else 'not met'}** — nocopy p99 {fmt(n['p99_us'], 'us')} ms / p99.9 "
                       f"{fmt(n['p99_9_us'], 'us')} ms, Kafka p99 {fmt(k['p99_us'], 'us')} ms / p99.9 "
                       f"{fmt(k['p99_9_us'], 'us')} ms.")
            if client == "nocopy-perf":
                ok = n["p99_us"] <= 1000 and n["p99_9_us"] <= 2000
                out.append(f"- Ack latency at 2,000 msgs/s, p99 ≤ 1 ms and p99.9 ≤ 2 ms: "
                           f"**{'met' if ok else 'not met'}** — p99 "
                           f"{fmt(n['p99_us'], 'us')} ms, p99.9 {fmt(n['p99_9_us'], 'us')} ms.")
    return out


def tail_section(path):
    with open(path) as f:
        tails = json.load(f)
    us = lambda v: f"{v / 1000:.2f}" if v is not None else "-"  # noqa: E731
    md = ["## Where nocopy's ack-latency tail comes from (2,000 msgs/s, one in flight, acks=1)", "",
          f"`benchmarks/peers/tail.py` (data: `{os.path.relpath(path, ROOT)}`) captures the broker's loopback port with "
          "tcpdump while `nocopy perf` produces, and takes each Produce request's broker share from the packet "
          "timestamps (response minus request, matched by correlation id): the broker's wake-up, parse, append and "
          "reply. The client's figure is what `nocopy perf` reports (enqueue to delivery report). Running a side "
          "under SCHED_FIFO (`--rt`) shows whether its tail was work or waiting for one of the 2 shared CPUs.", "",
          "| SCHED_FIFO | load avg | client p50 / p99 / p99.9 / max ms | broker p50 / p99 / p99.9 / max ms | "
          "command |", "|---|--:|---|---|---|"]
    for t in tails:
        c, b = t["client_us"], t["broker_wire_us"]
        md.append(f"| {', '.join(t['sched_fifo']) or 'none'} | {t['loadavg_1m']:.1f} | "
                  f"{us(c['p50_us'])} / {us(c['p99_us'])} / {us(c['p99_9_us'])} / {us(c['max_us'])} | "
                  f"{us(b['p50_us'])} / {us(b['p99_us'])} / {us(b['p99_9_us'])} / {us(b['max_us'])} | "
                  f"`{t['command']}` |")
    return md + [""]


def jvm_latency_note(docs):
    """Lines saying how long ProducerPerformance's latency runs lasted, for the runs that had any."""
    out = []
    for d in docs:
        if d.get("jvm_latency_duration_s") and any(r.get("client") == "kafka-perf" and r["workload"].startswith("latency")
                                                   for r in d["runs"]):
            out += [f"ProducerPerformance has no warm-up phase, so over a few seconds its p99 is the JVM's start "
                    f"whichever broker it talks to: in `{d['command']}` its latency runs lasted "
                    f"{d['jvm_latency_duration_s']:g} s (`--jvm-latency-duration`).", ""]
    return out


def chart(doc, med, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    matplotlib.rcParams["svg.hashsalt"] = "nocopy-peers"  # stable ids: the file diffs cleanly
    series = [("kafka", "nocopy-perf"), ("nocopy", "nocopy-perf"), ("kafka", "kafka-perf"),
              ("nocopy", "kafka-perf"), ("nats", "loadgen"), ("redis", "loadgen")]
    tput = [w for w in order(doc) if w.startswith(("produce", "consume"))]
    lat = [w for w in order(doc) if w.startswith("latency")]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 9), gridspec_kw={"height_ratios": [3, 2]})
    width = 0.8 / len(series)
    for i, (peer, client) in enumerate(series):
        label = f"{PEER_NAMES[peer]} ({client})"
        ys = [(med.get((peer, client, w)) or {}).get("mb_per_s") or 0 for w in tput]
        a1.bar([x + i * width for x in range(len(tput))], ys, width, label=label)
        ys = [((med.get((peer, client, w)) or {}).get("p99_us") or 0) / 1000 for w in lat]
        a2.bar([x + i * width for x in range(len(lat))], ys, width, label=label)
    a1.set_xticks([x + 0.4 - width / 2 for x in range(len(tput))], tput, rotation=30, ha="right", fontsize=8)
    a1.set_ylabel("MB/s (median)")
    a1.set_title(f"Throughput, same machine, same run ({doc['date']})")
    a1.legend(fontsize=7, ncol=3)
    a2.set_xticks([x + 0.4 - width / 2 for x in range(len(lat))], lat, fontsize=8)
    a2.set_yscale("log")
    a2.set_ylabel("p99 produce-ack latency, ms (log)")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="*", help="results files; a later file's runs replace an earlier one's "
                    "for the same peer, client and workload")
    ap.add_argument("--md", default=os.path.join(ROOT, "docs", "peers.md"))
    ap.add_argument("--svg", default=os.path.join(ROOT, "docs", "peers.svg"))
    ap.add_argument("--tail", help="tail.py results (JSON list) for the latency-tail section")
    opt = ap.parse_args()
    paths = opt.results or [max(glob.glob(os.path.join(HERE, "results", "2*.json")))]
    docs = []
    for path in paths:
        with open(path) as f:
            docs.append(json.load(f))
    doc = docs[0]
    for later in docs[1:]:
        replaced = {(r["peer"], r["client"], workload_name(r)) for r in later["runs"] if r.get("client")}
        doc["runs"] = [r for r in doc["runs"] if not r.get("client")
                       or (r["peer"], r["client"], workload_name(r)) not in replaced] + later["runs"]
    med = medians(doc["runs"])
    rel = " ".join(os.path.relpath(p, ROOT) for p in paths)
    h = doc["host"]
    md = [
        "# nocopy beside Apache Kafka, NATS JetStream and Redis Streams",
        "",
        f"Generated by `/usr/bin/python3 benchmarks/peers/gen_doc.py {rel}` from the run of {doc['date']}:",
        "",
        *[f"    {d['command']}" for d in docs],
        "",
        *([f"The second and later commands re-ran some workloads (their rows replace the first run's): "
           + "; ".join(f"`{d['command']}` at `{d['versions']['nocopy']}`, {d['date']}, 1-minute load average "
                     f"{d['host']['loadavg_1m_min']:.1f}-{d['host']['loadavg_1m_max']:.1f}" for d in docs[1:]) + "."]
          if len(docs) > 1 else []),
        "",
        f"Apache Kafka {doc['versions']['kafka']} (single-node KRaft, jars from Maven Central, Java 17, the heap and "
        "GC flags of its start script, default flush settings), nocopy at "
        f"`{doc['versions']['nocopy']}` (`nocopy broker`, default flush policy `never`), "
        f"{doc['versions']['nats-server'] or 'nats-server'} (JetStream, file storage, one replica), "
        f"{doc['versions']['redis-server'].split(' sha=')[0] if doc['versions']['redis-server'] else 'redis-server'} "
        "(append-only file, fsync every second). Each peer starts on a fresh data dir under one directory "
        "(one filesystem), on free loopback ports, and is stopped by PID; rounds interleave the peers (the order "
        f"rotates), {doc['rounds']} rounds, {doc['duration_s']:g} s per produce and latency workload. Every figure "
        "is the median over the rounds.",
        "",
        f"**Conditions:** {h['nproc']} vCPUs shared with other jobs compiling and testing during the run: "
        f"1-minute load average {h['loadavg_1m_min']:.1f}-{h['loadavg_1m_max']:.1f} "
        f"(mean {h['loadavg_1m_mean']:.1f}) over the workloads, kernel {h['kernel']}. Absolute figures are "
        "depressed and noisy; the ratios between peers in the same interleaved run are what this page is for.",
        "",
        "What is measured, per run: msgs/s and MB/s as the client reports them; broker CPU-seconds per GB moved "
        "(utime + stime of the broker PID from `/proc/<pid>/stat` over the run, all threads); the broker's peak RSS "
        "during the run (`VmHWM`, reset through `/proc/<pid>/clear_refs` before it: the reset sets it to the RSS at that moment, so it never reads below what earlier workloads of the same broker process left resident, and it counts file-backed mapped pages too); produce-ack latency "
        "percentiles as the client reports them. Clients: `nocopy perf` (librdkafka; linger 5 ms for throughput, "
        "linger 0 and one message per produce call for the latency runs, `max.in.flight=1` at 2,000 msgs/s), "
        "Kafka's `ProducerPerformance` / `ConsumerPerformance` from `kafka-tools` (its latency percentiles are whole "
        "milliseconds; its consume rate is the fetch rate, without the group join), and `benchmarks/peers/loadgen` "
        "(nats.go, go-redis) for NATS and Redis: throughput with a window of asynchronous publishes (NATS, 4,096 "
        "pending) or 4 pipelines of 256 XADDs (Redis); latency with one synchronous publish in flight at 2,000 "
        "msgs/s and 8 at 10,000 msgs/s. On a single node acks=all and acks=1 wait for the same thing (the "
        "leader's append); NATS and Redis have no acks setting and run the same publish for both.",
        "",
        *jvm_latency_note(docs),
        "![throughput and p99 latency](peers.svg)",
        "",
        "## Targets",
        "",
        *targets(doc, med),
        "",
        "## Kafka protocol, same client: `nocopy perf`",
        "",
        *kafka_table(doc, med, "nocopy-perf"),
        "",
        "## Kafka protocol, same client: Kafka's ProducerPerformance / ConsumerPerformance",
        "",
        *kafka_table(doc, med, "kafka-perf"),
        "",
        *cpu_split_section(doc, med),
        "## Every peer and workload",
        "",
        *all_table(doc, med),
        "",
    ]
    if opt.tail:
        md += tail_section(opt.tail)
    errors = sorted({(p, c, w, e) for (p, c, w), m in med.items() for e in m["errors"]})
    errors += sorted({(r["peer"], "-", f"start (round {r['round'] + 1})", r["error"]) for r in doc["runs"]
                      if not r.get("client") and not r["ok"]})
    if errors:
        md += ["## Failed runs", ""] + [f"- {PEER_NAMES[p]} {c} {w}: `{e[:300]}`" for p, c, w, e in errors] + [""]
    with open(opt.md, "w") as f:
        f.write("\n".join(md))
    chart(doc, med, opt.svg)
    print(f"wrote {opt.md} and {opt.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
