"""Listeners, TLS and SASL against the real broker with kcat and
confluent-kafka (librdkafka), plus raw connections for what clients never do.

One broker with four listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
certificates made with openssl at run time, a first SCRAM user from
--scram-user:
  1. each listener's Metadata advertises that listener's own port; the log
     says, per TLS listener, whether it uses kernel TLS or user-space TLS;
  2. kcat produces over PLAINTEXT; kcat and confluent-kafka (Debian's, and
     the compat venv's newer one when installed) consume the same bytes over
     SSL, SASL_SSL (SCRAM-SHA-256 and -512) and SASL_PLAINTEXT (PLAIN,
     SCRAM); the TLS fetches are counted as user-space copies;
  3. a wrong password: SASL_AUTHENTICATION_FAILED (raw) and a client error
     (confluent-kafka), nothing consumed;
  4. before authentication: ApiVersions is answered, Metadata closes the
     connection without an answer, an oversized frame closes it, a silent
     connection is closed after --auth-timeout-ms;
  5. AlterUserScramCredentials creates a user from a salt and salted
     password; DescribeUserScramCredentials lists it; kcat authenticates as
     it; after a restart it still works; the credentials file holds no
     password;
  6. kafkajs (node, tests/e2e/kafkajs) produces and consumes through a group
     over SSL, SASL_SSL with SCRAM-SHA-256/512 and SASL_PLAINTEXT with
     PLAIN; a wrong password fails its authentication;
  7. SIGHUP reloads a new certificate: new connections see it.
Bounded: every client call has a timeout; the broker is stopped by PID."""
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check, free_port  # noqa: E402
import security_util as su  # noqa: E402

from confluent_kafka import Consumer, KafkaError, TopicPartition  # noqa: E402

TOPIC = "sec"
N = 300
PASSWORD = "alice-secret"


def values():
    return [("m%05d-" % i) + "x" * (i % 200) for i in range(N)]


class Setup:
    def __init__(self, d):
        self.d = d
        su.make_ca(d)
        self.cert, self.key = su.make_cert(d, "server", "localhost")
        self.ports = {p: free_port() for p in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")}
        self.ca = os.path.join(d, "ca.pem")

    def broker_args(self):
        listeners = ",".join("%s://127.0.0.1:%d" % kv for kv in self.ports.items())
        return ["--listeners", listeners, "--ssl-cert", self.cert, "--ssl-key", self.key,
                "--scram-user", "alice:" + PASSWORD, "--auth-timeout-ms", "3000"]

    def client_conf(self, proto, mech=None, user="alice", password=PASSWORD):
        c = {"bootstrap.servers": "127.0.0.1:%d" % self.ports[proto], "security.protocol": proto}
        if "SSL" in proto:
            c["ssl.ca.location"] = self.ca
        if mech:
            c.update({"sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password})
        return c


def kcat_args(conf):
    out = ["-b", conf["bootstrap.servers"]]
    for k, v in conf.items():
        if k != "bootstrap.servers":
            out += ["-X", "%s=%s" % (k, v)]
    return out


def kcat_produce(conf, lines):
    subprocess.run(["kcat", "-P", "-t", TOPIC, "-p", "0"] + kcat_args(conf), input="\n".join(lines) + "\n",
                   text=True, check=True, timeout=60)


def kcat_consume(conf, count):
    r = subprocess.run(["kcat", "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", str(count), "-e",
                        "-f", "%s\n"] + kcat_args(conf), capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "kcat consume %s failed: %s" % (conf["security.protocol"], r.stderr[-2000:]))
    return r.stdout.splitlines()


def cfk_consume(conf, count, timeout=30):
    errors = []
    c = dict(conf, **{"group.id": "g-%s-%s" % (conf["security.protocol"], conf.get("sasl.mechanisms")),
                      "enable.auto.commit": False, "error_cb": errors.append})
    consumer = Consumer(c)
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    deadline = time.time() + timeout
    while len(got) < count and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    consumer.close()
    return got, errors


def check_advertised(s):
    for proto, port in s.ports.items():
        ctx = su.client_context(s.ca) if "SSL" in proto else None
        conn = su.Conn(port, ctx)
        if proto.startswith("SASL"):
            err, mechs = su.sasl_handshake(conn, "PLAIN")
            check(err == 0 and "SCRAM-SHA-512" in mechs, "%s handshake: %d %s" % (proto, err, mechs))
            err, msg, _ = su.sasl_authenticate(conn, su.plain_token("alice", PASSWORD))
            check(err == 0, "%s PLAIN: %d %s" % (proto, err, msg))
        brokers = su.metadata_brokers(conn)
        check(brokers == [(0, "127.0.0.1", port)], "%s advertises %s, not its port %d" % (proto, brokers, port))
        conn.close()
    print("  every listener advertises its own port")


def check_path_log(b, s):
    with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
        ktls = "tls" in f.read().split()
    for proto in ("SSL", "SASL_SSL"):
        want = ("listener %s://127.0.0.1:%d: " % (proto, s.ports[proto]) +
                ("kernel TLS" if ktls else "TLS in user space"))
        deadline = time.time() + 10  # written just after the ports are bound
        while want not in b.log() and time.time() < deadline:
            time.sleep(0.05)
        check(want in b.log(), "start-up log lacks %r" % want)
    print("  log names the TLS path of each listener (%s)" % ("kTLS" if ktls else "user space: no TLS ULP"))


def check_clients(b, s):
    vals = values()
    kcat_produce(s.client_conf("PLAINTEXT"), vals)
    cases = [("SSL", None), ("SASL_SSL", "SCRAM-SHA-256"), ("SASL_SSL", "SCRAM-SHA-512"),
             ("SASL_PLAINTEXT", "PLAIN"), ("SASL_PLAINTEXT", "SCRAM-SHA-256"), ("SASL_SSL", "PLAIN")]
    copied0 = b.metrics().get("nocopy_send_bytes_copied_user_total", 0)
    for proto, mech in cases:
        conf = s.client_conf(proto, mech)
        got = kcat_consume(conf, N)
        check(got == vals, "kcat over %s/%s: %d of %d values match" % (proto, mech, sum(
            a == b for a, b in zip(got, vals)), N))
        got, errors = cfk_consume(conf, N)
        check(got == vals, "confluent-kafka over %s/%s: got %d values, errors %s" % (proto, mech, len(got), errors))
        print("  kcat and confluent-kafka read the same %d values over %s %s" % (N, proto, mech or ""))
    copied = b.metrics().get("nocopy_send_bytes_copied_user_total", 0) - copied0
    check(copied >= sum(len(v) for v in vals), "TLS fetches copied only %d bytes in user space" % copied)


VENV_PY = os.path.expanduser("~/.cache/nocopy/compat-venv/bin/python")
VENV_CONSUME = r"""
import json, sys, time
from confluent_kafka import Consumer, TopicPartition, version
conf = json.loads(sys.argv[1])
conf.update({"group.id": "venv", "enable.auto.commit": False})
c = Consumer(conf)
c.assign([TopicPartition(sys.argv[2], 0, 0)])
got, deadline = [], time.time() + 30
while len(got) < int(sys.argv[3]) and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
c.close()
v = version()
print(json.dumps({"version": v if isinstance(v, str) else v[0], "values": got}))
"""


def check_venv_client(s):
    """The newer confluent-kafka of the compat venv (scripts/setup-compat.sh), when installed."""
    if not os.path.exists(VENV_PY):
        print("  confluent-kafka of the compat venv not installed (scripts/setup-compat.sh): not run")
        return
    for proto, mech in (("SASL_SSL", "SCRAM-SHA-512"), ("SASL_PLAINTEXT", "PLAIN"), ("SSL", None)):
        r = subprocess.run([VENV_PY, "-c", VENV_CONSUME, json.dumps(s.client_conf(proto, mech)), TOPIC, str(N)],
                           capture_output=True, text=True, timeout=90)
        check(r.returncode == 0, "venv confluent-kafka over %s: %s" % (proto, r.stderr[-2000:]))
        out = json.loads(r.stdout.splitlines()[-1])
        check(out["values"] == values(), "venv confluent-kafka %s over %s %s: %d values" % (
            out["version"], proto, mech, len(out["values"])))
        print("  confluent-kafka %s (compat venv) reads the same values over %s %s" % (out["version"], proto, mech or ""))


def check_wrong_password(s):
    conn = su.Conn(s.ports["SASL_SSL"], su.client_context(s.ca))
    check(su.api_versions_ok(conn), "ApiVersions before authentication")
    err, _ = su.sasl_handshake(conn, "PLAIN")
    check(err == 0, "handshake: %d" % err)
    err, msg, _ = su.sasl_authenticate(conn, su.plain_token("alice", "wrong"))
    check(err == 58, "wrong password gave error %d (%s), not SASL_AUTHENTICATION_FAILED" % (err, msg))
    check(conn.closed_by_peer(), "connection stays open after a failed authentication")
    conn.close()
    for mech in ("SCRAM-SHA-256", "PLAIN"):
        got, errors = cfk_consume(s.client_conf("SASL_PLAINTEXT", mech, password="wrong"), 1, timeout=6)
        check(not got, "consumed with a wrong password")
        check(any(e.code() == KafkaError._AUTHENTICATION for e in errors),
              "%s wrong password: no authentication error in %s" % (mech, errors))
    print("  wrong password: SASL_AUTHENTICATION_FAILED, connection closed, clients report it")


def check_gate(s):
    conn = su.Conn(s.ports["SASL_PLAINTEXT"])
    check(su.api_versions_ok(conn), "ApiVersions before authentication")
    conn.send(3, 1, b"\x00\x00\x00\x00")  # Metadata
    check(conn.closed_by_peer(), "Metadata before authentication was not refused")
    conn.close()
    conn = su.Conn(s.ports["SASL_SSL"], su.client_context(s.ca))
    conn.send_raw((8 << 20).to_bytes(4, "big") + b"\x00" * 1024)  # 8 MiB frame announced
    check(conn.closed_by_peer(), "an 8 MiB frame before authentication was accepted")
    conn.close()
    t0 = time.time()
    conn = su.Conn(s.ports["SASL_PLAINTEXT"])
    check(conn.closed_by_peer(timeout=10), "a silent connection was not closed")
    waited = time.time() - t0
    check(2.5 <= waited <= 8, "silent connection closed after %.1f s (auth timeout 3 s)" % waited)
    conn.close()
    print("  before authentication: ApiVersions only, oversized frame and silence closed (%.1f s)" % waited)


def salted(password, salt, iterations, algo):
    return hashlib.pbkdf2_hmac(algo, password.encode(), salt, iterations)


def create_bob(s):
    conn = su.Conn(s.ports["SASL_SSL"], su.client_context(s.ca))
    su.sasl_handshake(conn, "PLAIN")
    err, msg, _ = su.sasl_authenticate(conn, su.plain_token("alice", PASSWORD))
    check(err == 0, "alice PLAIN: %d %s" % (err, msg))
    salt = os.urandom(16)
    res = su.alter_scram(conn, upsertions=[("bob", 1, 4096, salt, salted("bob-pw", salt, 4096, "sha256")),
                                           ("bob", 2, 8192, salt, salted("bob-pw", salt, 8192, "sha512")),
                                           ("eve", 1, 100, salt, b"x" * 32)])
    check(res.get("bob") == (0, None), "upsert bob: %s" % res)
    check(res.get("eve", (0,))[0] == 93, "100 iterations accepted: %s" % res)
    err, users = su.describe_scram(conn)
    check(err == 0 and users.get("bob") == (0, [(1, 4096), (2, 8192)]), "describe: %d %s" % (err, users))
    check(users.get("alice", (1,))[0] == 0, "alice not described: %s" % users)
    err, users = su.describe_scram(conn, ["nobody"])
    check(users.get("nobody", (0,))[0] == 91, "unknown user: %s" % users)
    res = su.alter_scram(conn, deletions=[("nobody", 1)])
    check(res.get("nobody", (0,))[0] == 91, "delete unknown: %s" % res)
    conn.close()
    print("  AlterUserScramCredentials created bob; DescribeUserScramCredentials lists him")


def check_bob(s):
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"):
        got = kcat_consume(s.client_conf("SASL_SSL", mech, user="bob", password="bob-pw"), N)
        check(got == values(), "bob over %s: %d values" % (mech, len(got)))


KJS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafkajs")


def kafkajs(s, proto, mech, password, topic):
    ca = s.ca if "SSL" in proto else "-"
    r = subprocess.run(["node", "secure.js", "127.0.0.1:%d" % s.ports[proto], ca, mech or "-", "alice", password,
                        topic, "200"], cwd=KJS, capture_output=True, text=True, timeout=90)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    check(lines, "kafkajs printed nothing (rc %d): %s" % (r.returncode, r.stderr[-2000:]))
    return lines[-1]


def check_kafkajs(s):
    if not shutil.which("node") or not os.path.isdir(os.path.join(KJS, "node_modules", "kafkajs")):
        raise AssertionError("kafkajs is not installed: run scripts/setup.sh (node + npm ci in tests/e2e/kafkajs)")
    cases = [("SSL", None), ("SASL_SSL", "scram-sha-256"), ("SASL_SSL", "scram-sha-512"), ("SASL_PLAINTEXT", "plain")]
    for i, (proto, mech) in enumerate(cases):
        r = kafkajs(s, proto, mech, PASSWORD, "kjs-sec-%d" % i)
        check(r == {"ev": "secure", "produced": 200, "consumed": 200, "ok": True},
              "kafkajs over %s %s: %s" % (proto, mech, r))
    r = kafkajs(s, "SASL_SSL", "scram-sha-512", "wrong", "kjs-sec-wrong")
    check(r.get("ev") == "error" and "SASL" in (r.get("type") or "") + (r.get("error") or ""),
          "kafkajs with a wrong password: %s" % r)
    print("  kafkajs produces and consumes over SSL, SASL_SSL SCRAM-256/512, SASL_PLAINTEXT PLAIN; wrong password refused")


def check_reload(b, s):
    def subject():
        with su.client_context(s.ca).wrap_socket(
                __import__("socket").create_connection(("127.0.0.1", s.ports["SSL"]), timeout=10),
                server_hostname="localhost") as t:
            return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
    check(subject() == "localhost", "first certificate")
    cert, key = su.make_cert(s.d, "server2", "127.0.0.1")
    shutil.copy(cert, s.cert)
    shutil.copy(key, s.key)
    os.kill(b.proc.pid, signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and subject() != "127.0.0.1":
        time.sleep(0.1)
    check(subject() == "127.0.0.1", "SIGHUP did not load the new certificate")
    check(b.alive(), "broker died on SIGHUP")
    print("  SIGHUP reloaded the certificate")


def main():
    d = tempfile.mkdtemp(prefix="nocopy-sec-")
    s = Setup(d)
    b = Broker(*s.broker_args())
    b.port = s.ports["PLAINTEXT"]
    with b:
        check_path_log(b, s)
        check_advertised(s)
        check_clients(b, s)
        check_venv_client(s)
        check_wrong_password(s)
        check_gate(s)
        create_bob(s)
        check_bob(s)
        check_kafkajs(s)
        check_reload(b, s)
    with open(os.path.join(b.data_dir, "scram_credentials"), "rb") as f:
        stored = f.read()
    check(PASSWORD.encode() not in stored and b"bob-pw" not in stored, "a password is stored in clear")
    b2 = Broker(*s.broker_args(), data_dir=b.data_dir)
    b2.port = s.ports["PLAINTEXT"]
    with b2:
        check_bob(s)
    print("  bob's credentials survive a restart")
    shutil.rmtree(b.data_dir, ignore_errors=True)
    shutil.rmtree(d, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
