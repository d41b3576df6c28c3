#!/usr/bin/env bash
# cluster.sh up|down|status|kill N|start N: a local nocopy cluster of one etcd
# and three brokers, each broker in its own network namespace with its own
# address on a bridge (needs root: ip netns, veth, bridge).
#
#   up        bridge ${NAME}br (SUBNET.1/24) in this namespace, etcd on
#             SUBNET.1:ETCD_PORT, broker i in namespace ${NAME}-b<i> at
#             SUBNET.(10+i):9092 (metrics :9094), data and logs under DIR;
#             waits until every broker is registered and prints the bootstrap
#             servers
#   down      stops the brokers and etcd by the PIDs recorded in DIR (SIGTERM,
#             SIGKILL after 10 s), removes the namespaces, veths and bridge;
#             the data stays in DIR
#   status    which processes are alive, the live brokers and the controller
#   kill N    SIGKILL broker N (a crash); `start N` starts it again
#   stop N    stops broker N cleanly (SIGTERM, SIGKILL after 10 s)
#   cut N peers|all
#             firewall rules (iptables, in broker N's namespace) dropping
#             its traffic with the other brokers (peers), or with them and
#             etcd (all); clients on the bridge still reach it
#   heal N    removes broker N's firewall rules
#   etcd-stop stops etcd by PID (SIGTERM); `etcd-start` starts it again on
#             the same data
#
# Environment: NOCOPY_CLUSTER_DIR (./cluster-data), NOCOPY_CLUSTER_NAME
# (nocopy; at most 8 characters, distinct per concurrent cluster),
# NOCOPY_CLUSTER_SUBNET (10.77.0), NOCOPY_CLUSTER_BROKERS (3),
# NOCOPY_ETCD_PORT (2379), NOCOPY_BIN (build/nocopy), NOCOPY_ETCD
# (/usr/bin/etcd), NOCOPY_BROKER_ARGS (extra `nocopy broker` flags; `@IP@`
# in them becomes the broker's own address, e.g.
# `--listeners SASL_PLAINTEXT://@IP@:9092`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
DIR=${NOCOPY_CLUSTER_DIR:-$PWD/cluster-data}
NAME=${NOCOPY_CLUSTER_NAME:-nocopy}
SUBNET=${NOCOPY_CLUSTER_SUBNET:-10.77.0}
N=${NOCOPY_CLUSTER_BROKERS:-3}
ETCD_PORT=${NOCOPY_ETCD_PORT:-2379}
BIN=${NOCOPY_BIN:-$root/build/nocopy}
ETCD=${NOCOPY_ETCD:-/usr/bin/etcd}
BR=${NAME}br
ETCD_URL=http://$SUBNET.1:$ETCD_PORT

die() { echo "cluster.sh: $*" >&2; exit 1; }
[[ ${#NAME} -le 8 ]] || die "NOCOPY_CLUSTER_NAME '$NAME' is longer than 8 characters (interface names)"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process whose PID is in file $1: SIGTERM, SIGKILL after 10 s.
stop_pid() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

etcd_count() {  # number of keys under a prefix
  local k e
  k=$(printf '%s' "$1" | base64 -w0)
  e=$(printf '%s' "$1" | python3 -c 'import sys;b=bytearray(sys.stdin.buffer.read());b[-1]+=1;sys.stdout.write(bytes(b).decode())' | base64 -w0)
  curl -s -m 2 "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$k\",\"range_end\":\"$e\",\"count_only\":true}" |
    python3 -c 'import json,sys;print(int(json.load(sys.stdin).get("count",0)))' 2>/dev/null || echo 0
}

net_up() {
  ip link show "$BR" >/dev/null 2>&1 || {
    ip link add "$BR" type bridge
    ip addr add "$SUBNET.1/24" dev "$BR"
  }
  ip link set "$BR" up
  for i in $(seq "$N"); do
    local ns=$NAME-b$i veth=${NAME}v$i
    ip netns list | grep -qw "$ns" && continue
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    ip link set "$veth" master "$BR" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$SUBNET.1"
  done
}

net_down() {
  for i in $(seq "$N"); do
    ip netns del "$NAME-b$i" 2>/dev/null || true
    ip link del "${NAME}v$i" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
}

start_etcd() {
  alive "$DIR/etcd.pid" && return 0
  "$ETCD" --name "$NAME" --data-dir "$DIR/etcd" --logger zap \
    --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "http://$SUBNET.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://$SUBNET.1:$((ETCD_PORT + 1))" \
    --initial-cluster "$NAME=http://$SUBNET.1:$((ETCD_PORT + 1))" >>"$DIR/etcd.log" 2>&1 &
  echo $! >"$DIR/etcd.pid"
  for _ in $(seq 100); do
    curl -s -m 1 "$ETCD_URL/health" | grep -q true && return 0
    alive "$DIR/etcd.pid" || die "etcd exited; see $DIR/etcd.log"
    sleep 0.1
  done
  die "etcd did not become healthy; see $DIR/etcd.log"
}

start_broker() {
  local i=$1 ip=$SUBNET.$((10 + $1))
  alive "$DIR/b$i.pid" && return 0
  local args=${NOCOPY_BROKER_ARGS:-}
  mkdir -p "$DIR/b$i"
  # shellcheck disable=SC2086
  ip netns exec "$NAME-b$i" "$BIN" broker --cluster "etcd://$SUBNET.1:$ETCD_PORT" --node-id "$i" \
    --listen "$ip:9092" --advertised "$ip:9092" --metrics-listen "$ip:9094" --data-dir "$DIR/b$i" \
    ${args//@IP@/$ip} >>"$DIR/b$i.log" 2>&1 &
  echo $! >"$DIR/b$i.pid"
}

wait_brokers() {
  for _ in $(seq 200); do
    [[ $(etcd_count /nocopy/brokers/) -ge $1 ]] && return 0
    for i in $(seq "$N"); do
      [[ -f $DIR/b$i.pid ]] && ! alive "$DIR/b$i.pid" && die "broker $i exited; see $DIR/b$i.log"
    done
    sleep 0.1
  done
  die "brokers did not register within 20 s; see $DIR/b*.log"
}

bootstrap() {
  local s=""
  for i in $(seq "$N"); do s+="${s:+,}$SUBNET.$((10 + i)):9092"; done
  echo "$s"
}

# Drops broker $1's traffic with the other brokers, and with etcd when $2 is "all".
cut() {
  local i=$1 ns=$NAME-b$1 j
  [[ $2 == peers || $2 == all ]] || die "usage: cluster.sh cut N peers|all"
  ip netns exec "$ns" iptables -F
  for j in $(seq "$N"); do
    [[ $j -eq $i ]] && continue
    ip netns exec "$ns" iptables -A INPUT -s "$SUBNET.$((10 + j))" -j DROP
    ip netns exec "$ns" iptables -A OUTPUT -d "$SUBNET.$((10 + j))" -j DROP
  done
  if [[ $2 == all ]]; then
    ip netns exec "$ns" iptables -A INPUT -s "$SUBNET.1" -p tcp --sport "$ETCD_PORT" -j DROP
    ip netns exec "$ns" iptables -A OUTPUT -d "$SUBNET.1" -p tcp --dport "$ETCD_PORT" -j DROP
  fi
}

cmd=${1:-}
case "$cmd" in
  up)
    [[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
    [[ -x $BIN ]] || die "no broker binary at $BIN (build first, or set NOCOPY_BIN)"
    [[ -x $ETCD ]] || die "no etcd at $ETCD (scripts/setup.sh installs etcd-server)"
    mkdir -p "$DIR"
    net_up
    start_etcd
    for i in $(seq "$N"); do start_broker "$i"; done
    wait_brokers "$N"
    echo "cluster up: etcd $ETCD_URL, brokers $(bootstrap), data in $DIR"
    ;;
  down)
    for i in $(seq "$N"); do stop_pid "$DIR/b$i.pid"; done
    stop_pid "$DIR/etcd.pid"
    net_down
    echo "cluster down (data kept in $DIR)"
    ;;
  status)
    alive "$DIR/etcd.pid" && echo "etcd: running (pid $(cat "$DIR/etcd.pid"))" || echo "etcd: stopped"
    for i in $(seq "$N"); do
      alive "$DIR/b$i.pid" && echo "broker $i: running (pid $(cat "$DIR/b$i.pid")) at $SUBNET.$((10 + i)):9092" ||
        echo "broker $i: stopped"
    done
    if alive "$DIR/etcd.pid"; then
      echo "registered brokers: $(etcd_count /nocopy/brokers/)"
      curl -s -m 2 "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$(printf /nocopy/controller | base64 -w0)\"}" |
        python3 -c 'import base64,json,sys;k=json.load(sys.stdin).get("kvs",[]);print("controller:",json.loads(base64.b64decode(k[0]["value"]))["id"] if k else "none")'
    fi
    ;;
  kill)
    [[ -n ${2:-} ]] || die "usage: cluster.sh kill N"
    [[ -f $DIR/b$2.pid ]] && kill -KILL "$(cat "$DIR/b$2.pid")" 2>/dev/null || true
    rm -f "$DIR/b$2.pid"
    ;;
  stop)
    [[ -n ${2:-} ]] || die "usage: cluster.sh stop N"
    stop_pid "$DIR/b$2.pid"
    ;;
  start)
    [[ -n ${2:-} ]] || die "usage: cluster.sh start N"
    start_broker "$2"
    ;;
  cut)
    [[ -n ${2:-} ]] || die "usage: cluster.sh cut N peers|all"
    cut "$2" "${3:-all}"
    ;;
  heal)
    [[ -n ${2:-} ]] || die "usage: cluster.sh heal N"
    ip netns exec "$NAME-b$2" iptables -F
    ;;
  etcd-stop)
    stop_pid "$DIR/etcd.pid"
    ;;
  etcd-start)
    start_etcd
    ;;
  *)
    echo "usage: cluster.sh up|down|status|kill N|stop N|start N|cut N peers|all|heal N|etcd-stop|etcd-start" >&2
    exit 2
    ;;
esac
