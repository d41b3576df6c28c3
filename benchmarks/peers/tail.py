#!/usr/bin/env python3
"""Where the produce-ack latency tail comes from: broker or client.

Starts `nocopy broker` (or uses --brokers), captures its loopback port with
tcpdump while `nocopy perf produce` sends 100 B messages at --rate msgs/s with
one in flight (acks=1, linger 0), and splits each request's latency in two:

  wire/broker   response packet time - request packet time (Kafka correlation
                ids matched on the connection): the broker's wake-up, parse,
                append and reply, as the kernel timestamps the packets on lo
  client        what `nocopy perf` reports (enqueue -> delivery report); the
                difference to the broker's share is librdkafka's queueing and
                its threads' wake-ups

Prints both distributions (p50/p99/p99.9/max, us) as JSON. Needs tcpdump and root.

Usage: [NOCOPY_BIN=build/nocopy] tail.py [--rate 2000] [--duration 10] [--threads N]
"""
import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (Peer classes, ports)


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = max(1, int(-(-p * len(sorted_vals) // 1)))
    return sorted_vals[min(i, len(sorted_vals)) - 1]


def parse_pcap(path, broker_port):
    """Yields (ts, direction, correlation id, api key) for each Kafka frame start seen."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian, nano = ("<", magic == 0xA1B23C4D) if magic in (0xA1B2C3D4, 0xA1B23C4D) else (">", False)
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(endian + "IIII", data, off)
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        l2 = 14 if linktype == 1 else 16  # Ethernet, or Linux cooked capture
        ip = pkt[l2:]
        if len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 15) * 4
        tcp = ip[ihl:]
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack_from(">HH", tcp, 0)
        payload = tcp[(tcp[12] >> 4) * 4:]
        if len(payload) < 8:
            continue
        if dport == broker_port and len(payload) >= 12:
            api_key, _, corr = struct.unpack_from(">hhi", payload, 4)
            yield ts, "req", (sport, corr), api_key
        elif sport == broker_port:
            corr = struct.unpack_from(">i", payload, 4)[0]
            yield ts, "resp", (dport, corr), None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--threads", type=int, default=0, help="broker reactor threads (0: its default)")
    ap.add_argument("--out", help="append the result to this JSON list file (gen_doc.py --tail reads it)")
    ap.add_argument("--rt", default="", help="comma list of broker,client to run under SCHED_FIFO (chrt -f 10):"
                    " if a side's tail vanishes then, it was waiting for a CPU, not working")
    opt = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tail-")
    peer = run.Nocopy(tmp)
    rt = set(filter(None, opt.rt.split(",")))
    base = peer.command
    peer.command = lambda: ((["chrt", "-f", "10"] if "broker" in rt else []) + base()
                            + (["--threads", str(opt.threads)] if opt.threads else []))
    peer.start()
    pcap = os.path.join(tmp, "lo.pcap")
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-s", "96", "-B", "16384", "-w", pcap,
                             "--time-stamp-precision=nano", f"tcp port {peer.port}"],
                            stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    try:
        out = json.loads(run.run_client([*(["chrt", "-f", "10"] if "client" in rt else []),
                                         run.NOCOPY, "perf", "produce", "-b", peer.addr, "-t", "tail", "-s", "100", "-a", "1", "-d",
                               str(opt.duration), "-p", "1", "-r", str(opt.rate), "--linger-ms", "0",
                               "--produce-batch", "1", "-X", "max.in.flight.requests.per.connection=1",
                                         "--json", "-q"], timeout=300))
    finally:
        time.sleep(0.5)
        dump.send_signal(signal.SIGINT)
        dump.wait(10)
        peer.stop()
    reqs, timed, t0 = {}, [], None
    for ts, kind, key, api in parse_pcap(pcap, peer.port):
        if kind == "req" and api == 0:
            t0 = ts if t0 is None else t0
            reqs[key] = ts
        elif kind == "resp" and key in reqs:
            start = reqs.pop(key)
            timed.append(((ts - start) * 1e6, start - t0))
    pairs = sorted(t for t, _ in timed)
    slowest = sorted(timed, reverse=True)[:10]
    lat = out["ack_latency"]
    res = {"rate": opt.rate, "duration_s": opt.duration, "threads": opt.threads or "default",
           "sched_fifo": sorted(rt), "loadavg_1m": run.load_sample(),
           "client_us": {k: lat[k] for k in ("p50_us", "p99_us", "p99_9_us", "max_us")},
           "broker_wire_us": {"count": len(pairs), "p50_us": pct(pairs, 0.5), "p99_us": pct(pairs, 0.99),
                              "p99_9_us": pct(pairs, 0.999), "max_us": pairs[-1] if pairs else None},
           "messages": out["acked"], "produce_requests_seen": len(pairs),
           "slowest_broker_us_at_s": [[round(t), round(at, 3)] for t, at in slowest]}
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res["command"] = " ".join(["python3", "benchmarks/peers/tail.py", *sys.argv[1:]])
    print(json.dumps(res, indent=1))
    if opt.out:
        prior = []
        if os.path.exists(opt.out):
            with open(opt.out) as f:
                prior = json.load(f)
        with open(opt.out, "w") as f:
            json.dump(prior + [res], f, indent=1)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
