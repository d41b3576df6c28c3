#!/bin/bash
# The broker, perf and log targets (docs/benchmarks.md) in one sequence, for a quiet
# machine: perf produce/consume (100 B, 1 KiB), ack latency at 50,000 msgs/s
# (flush never and flush every), broker fetch CPU by strategy, RSS with 1,000
# partitions, log append/lookup. Usage: benchmarks/broker/targets.sh [BUILD_DIR]
# (default build/). Outputs go to $OUT (default /tmp/nocopy-targets).
set -u
R=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$R/build}
OUT=${OUT:-/tmp/nocopy-targets}; mkdir -p $OUT
N=$B/nocopy
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port); MPORT=$(free_port)
echo "== start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee $OUT/00-meta.txt
nproc >> $OUT/00-meta.txt
# 1. perf produce/consume targets against one broker (flush never, default threads)
D=$OUT/data; rm -rf $D; mkdir -p $D
$N broker --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$MPORT --data-dir $D/d --log-level warn > $D/broker.log 2>&1 &
BP=$!; sleep 1
# Dirty page cache throttles buffered writers once it passes
# dirty_background_ratio (~2 GB here): each produce run starts from a synced
# page cache, and one long run shows the sustained (writeback-bound) rate.
settle() { sync; echo "   (page cache synced; $(grep -E '^Dirty:' /proc/meminfo | tr -s ' '))"; }
{
for i in 1 2 3; do settle; $N perf produce -b 127.0.0.1:$PORT -t p100 -p 4 -n 5000000 -s 100 --progress-interval 0 2>&1 | grep produced; done
for i in 1 2 3; do settle; $N perf produce -b 127.0.0.1:$PORT -t p1k -p 4 -n 1000000 -s 1024 --progress-interval 0 2>&1 | grep produced; done
settle; echo "sustained 1 KiB, 6 GB:"; $N perf produce -b 127.0.0.1:$PORT -t p1k -p 4 -n 6000000 -s 1024 --progress-interval 0 2>&1 | grep produced
settle
for i in 1 2 3; do $N perf consume -b 127.0.0.1:$PORT -t p100 -n 15000000 --progress-interval 0 2>&1 | grep consumed; done
for i in 1 2 3; do $N perf consume -b 127.0.0.1:$PORT -t p1k -n 3000000 --progress-interval 0 2>&1 | grep consumed; done
echo "1 KiB, two consumer instances (-i 2) in one process:"
for i in 1 2 3; do $N perf consume -b 127.0.0.1:$PORT -t p1k -n 3000000 -i 2 --progress-interval 0 2>&1 | grep consumed; done
for i in 1 2 3; do $N perf produce -b 127.0.0.1:$PORT -t lat -p 1 -d 10 -r 50000 -s 100 --linger-ms 0 -a 1 --progress-interval 0 2>&1 | grep latency; done
} 2>&1 | tee $OUT/10-perf.txt
kill $BP; wait $BP
# flush every, acks=all, data on the same disk
rm -rf $D; mkdir -p $D
$N broker --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$MPORT --data-dir $D/d --flush every --log-level warn > $D/broker.log 2>&1 &
BP=$!; sleep 1
{
/usr/bin/python3 -c "
import os,time
fd=os.open('$D/fs.test',os.O_CREAT|os.O_WRONLY)
ts=[]
for i in range(300):
    os.write(fd,b'x'*1000); t=time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter()-t)
ts.sort(); print('fdatasync (append 1000 B) on the data disk: p50 %.3f ms p99 %.3f ms'%(ts[150]*1e3, ts[297]*1e3))
"
for i in 1 2 3; do $N perf produce -b 127.0.0.1:$PORT -t fe -p 1 -d 10 -r 50000 -s 100 --linger-ms 0 -a all --progress-interval 0 2>&1 | grep latency; done
} 2>&1 | tee $OUT/20-flush-every.txt
kill $BP; wait $BP
# 2. broker fetch CPU by strategy
NOCOPY_BIN=$N NOCOPY_BENCH_MIB=256 NOCOPY_BENCH_ROUNDS=3 /usr/bin/python3 $R/tests/e2e/bench_fetch_cpu.py 2>&1 | tee $OUT/30-fetch-cpu.txt
# 3. RSS
NOCOPY_BIN=$N /usr/bin/python3 $R/benchmarks/broker/rss_partitions.py 2>&1 | tee $OUT/40-rss.txt
# 4. log
NOCOPY_BENCH_DIR=/dev/shm chrt -f 10 $B/benchmarks/log/bench_log --benchmark_filter='AppendVs|ReadRandom' --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>&1 | tee $OUT/50-log.txt
# 5. the disk's own write rates (last: 4 GB of dd slowed the produce runs that followed it)
echo "disk: $(dd if=/dev/zero of=$OUT/dd.test bs=1M count=2048 conv=fdatasync 2>&1 | tail -1) [buffered + fdatasync]" | tee $OUT/60-disk.txt; rm -f $OUT/dd.test
echo "disk: $(dd if=/dev/zero of=$OUT/dd.test bs=1M count=2048 oflag=direct 2>&1 | tail -1) [O_DIRECT]" | tee -a $OUT/60-disk.txt; rm -f $OUT/dd.test
echo "== end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $OUT/00-meta.txt
