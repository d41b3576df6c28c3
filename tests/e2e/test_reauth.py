"""KIP-368 re-authentication (--connections-max-reauth-ms) against the real
broker, one SASL_PLAINTEXT listener with a 3 s session lifetime:
  1. raw: SaslAuthenticate v1 answers session_lifetime_ms 3000 (v0 has no
     field); Metadata works; after the session expired a Metadata request
     closes the connection unanswered (nocopy_sasl_sessions_expired_total);
  2. raw: a connection that re-authenticates (SaslHandshake + SaslAuthenticate
     again) before or after expiry keeps working; one that re-authenticates as
     another user gets SASL_AUTHENTICATION_FAILED and is closed;
  3. librdkafka (the compat venv's confluent-kafka 2.x, reauth_client.py):
     a producer and a group consumer with SCRAM-SHA-256 work for 12 s (four
     lifetimes): every record delivered and consumed once, no client error,
     the broker counts re-authentications and closes no connection for an
     expired session;
  4. without the flag (default 0): session_lifetime_ms 0, a connection idle
     for longer than 3 s still works, a later SaslHandshake is refused with
     ILLEGAL_SASL_STATE as before.
Bounded: every client call has a timeout; brokers are stopped by PID."""
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker, check, free_port, kstr  # noqa: E402
import security_util as su  # noqa: E402

VENV_PY = os.path.expanduser("~/.cache/nocopy/compat-venv/bin/python")
LIFETIME_MS = 3000
USERS = {"alice": "alice-pw", "bob": "bob-pw"}


def broker(reauth_ms):
    ports = {p: free_port() for p in ("PLAINTEXT", "SASL_PLAINTEXT")}
    args = ["--listeners", ",".join("%s://127.0.0.1:%d" % kv for kv in ports.items())]
    args += [x for u, pw in USERS.items() for x in ("--scram-user", "%s:%s" % (u, pw))]
    if reauth_ms is not None:
        args += ["--connections-max-reauth-ms", str(reauth_ms)]
    b = Broker(*args)
    b.port = ports["PLAINTEXT"]
    return b, ports["SASL_PLAINTEXT"]


def authenticate(conn, user, password, version=1):
    """PLAIN with a v1 handshake -> (error, message, session_lifetime_ms or None for v0)."""
    err, _ = su.sasl_handshake(conn, "PLAIN")
    check(err == 0, "handshake: %d" % err)
    token = su.plain_token(user, password)
    resp = conn.call(36, version, struct.pack(">i", len(token)) + token)
    (err,) = struct.unpack_from(">h", resp, 0)
    (ml,) = struct.unpack_from(">h", resp, 2)
    msg = None if ml < 0 else resp[4:4 + ml].decode()
    off = 4 + max(ml, 0)
    (bl,) = struct.unpack_from(">i", resp, off)
    off += 4 + max(bl, 0)
    lifetime = struct.unpack_from(">q", resp, off)[0] if version >= 1 else None
    return err, msg, lifetime


def metadata_ok(conn):
    try:
        return len(su.metadata_brokers(conn)) == 1
    except (EOFError, ConnectionResetError, BrokenPipeError):
        return False


def expired_count(b):
    return b.metrics().get("nocopy_sasl_sessions_expired_total", -1)


def check_raw(b, port):
    c = su.Conn(port)
    err, msg, lifetime = authenticate(c, "alice", USERS["alice"])
    check(err == 0 and lifetime == LIFETIME_MS, "v1 login: %d %s lifetime %s" % (err, msg, lifetime))
    check(metadata_ok(c), "Metadata right after login failed")
    v0 = su.Conn(port)
    err, _, _ = authenticate(v0, "alice", USERS["alice"], version=0)
    check(err == 0, "v0 SaslAuthenticate: %d" % err)
    before = expired_count(b)
    time.sleep(LIFETIME_MS / 1000 + 0.7)
    c.send(3, 1, struct.pack(">i", 0))
    check(c.closed_by_peer(), "Metadata after the session expired was not refused")
    check(metadata_ok(v0) is False, "a v0 session outlived its lifetime")
    check(expired_count(b) == before + 2, "sessions expired: %s, expected %d" % (expired_count(b), before + 2))
    print("  raw: session_lifetime_ms %d; after it Metadata closes the connection (v1 and v0 sessions)" % LIFETIME_MS)

    # Re-authentication keeps the connection: once before expiry, once after.
    c = su.Conn(port)
    check(authenticate(c, "alice", USERS["alice"])[0] == 0, "login")
    for when in ("before", "after"):
        time.sleep(LIFETIME_MS / 1000 * (0.5 if when == "before" else 1.2))
        err, msg, lifetime = authenticate(c, "alice", USERS["alice"])
        check(err == 0 and lifetime == LIFETIME_MS, "re-authentication %s expiry: %d %s" % (when, err, msg))
        check(metadata_ok(c), "Metadata after re-authenticating %s expiry failed" % when)
    time.sleep(LIFETIME_MS / 1000 * 0.7)
    check(metadata_ok(c), "the re-authenticated session did not get a new lifetime")
    c.close()
    print("  raw: re-authentication before and after expiry keeps the connection working")

    c = su.Conn(port)
    check(authenticate(c, "alice", USERS["alice"])[0] == 0, "login")
    err, msg, _ = authenticate(c, "bob", USERS["bob"])
    check(err == 58 and "principal" in (msg or ""), "re-authentication as bob: %d %s" % (err, msg))
    check(c.closed_by_peer(), "connection open after a re-authentication as another user")
    print("  raw: re-authenticating as another user: SASL_AUTHENTICATION_FAILED (58), closed")


def check_librdkafka(b, port):
    conf = {"bootstrap.servers": "127.0.0.1:%d" % port, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-256", "sasl.username": "alice", "sasl.password": USERS["alice"]}
    m0 = b.metrics()
    r = subprocess.run([VENV_PY, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reauth_client.py"),
                        json.dumps({"conf": conf, "topic": "reauth", "seconds": 12})],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "reauth_client failed: %s" % r.stderr[-2000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    m1 = b.metrics()
    reauths = m1["nocopy_sasl_reauthentications_total"] - m0["nocopy_sasl_reauthentications_total"]
    expired = m1["nocopy_sasl_sessions_expired_total"] - m0["nocopy_sasl_sessions_expired_total"]
    check(out["produced"] > 100 and out["delivered"] == out["produced"] and out["consumed"] == out["produced"]
          and out["duplicates"] == 0 and not out["missing"], "librdkafka across re-authentications: %s" % out)
    check(not out["errors"], "librdkafka reported errors: %s" % out["errors"])
    check(reauths >= 6, "only %d re-authentications in 12 s with a %d ms lifetime" % (reauths, LIFETIME_MS))
    check(expired == 0, "%d librdkafka connections were closed for an expired session" % expired)
    print("  librdkafka: %d records produced and consumed by a group over 12 s, %d re-authentications, "
          "no connection expired" % (out["produced"], reauths))


def check_off():
    b, port = broker(None)
    with b:
        c = su.Conn(port)
        err, msg, lifetime = authenticate(c, "alice", USERS["alice"])
        check(err == 0 and lifetime == 0, "login without the flag: %d %s lifetime %s" % (err, msg, lifetime))
        time.sleep(LIFETIME_MS / 1000 + 0.5)
        check(metadata_ok(c), "a session ended without connections_max_reauth_ms")
        err, _ = su.sasl_handshake(c, "PLAIN")
        check(err == 34, "SaslHandshake on an authenticated connection without the flag: %d" % err)
        check(b.metrics()["nocopy_sasl_reauthentications_total"] == 0, "re-authentications counted")
    print("  off (default): session_lifetime_ms 0, sessions do not end, SaslHandshake again is ILLEGAL_SASL_STATE")


def main():
    if not os.path.exists(VENV_PY):
        check(False, "the compat venv's confluent-kafka (scripts/setup-compat.sh) is needed: %s missing" % VENV_PY)
    b, port = broker(LIFETIME_MS)
    with b:
        check_raw(b, port)
        check_librdkafka(b, port)
    check_off()
    print("PASS")


if __name__ == "__main__":
    main()
