"""ACLs against the real broker: an ACL matrix with confluent-kafka (the
compat venv's 2.x, whose admin client speaks CreateAcls/DescribeAcls/
DeleteAcls) over SASL_PLAINTEXT PLAIN, and raw Produce/Fetch/Metadata frames
as User:ANONYMOUS over PLAINTEXT.

One broker with --authorizer true, --super-users User:admin, users admin,
alice and bob:
  1. admin (super user) creates topics and ACLs; a non-super user's
     CreateAcls (and, raw, DescribeAcls) is CLUSTER_AUTHORIZATION_FAILED;
     DescribeAcls filters
     (LITERAL, PREFIXED, MATCH, ANY);
  2. alice consumes a topic she may READ through a group she may READ
     (prefixed group ACL); bob, with READ on the topic but no group ACL,
     gets GROUP_AUTHORIZATION_FAILED; alice's produce to a topic without
     WRITE fails with TOPIC_AUTHORIZATION_FAILED; alice's Metadata lists only
     the topics she may DESCRIBE;
  3. ANONYMOUS (raw frames): Fetch without READ and Produce without WRITE
     are TOPIC_AUTHORIZATION_FAILED, with them they succeed; ALLOW ALL with
     a DENY READ: deny wins for fetch, produce still allowed; Metadata v1 for
     all topics lists only the allowed ones;
  4. after a restart the ACLs are the same (DescribeAcls) and still enforced;
     DeleteAcls removes them and alice is denied again.
Bounded: every client call has a timeout; the broker is stopped by PID."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Broker, Raw, build_batch, check, fetch_body_v4, free_port, parse_fetch_v4,  # noqa: E402
                     parse_produce_v3, produce_body)

VENV_PY = os.path.expanduser("~/.cache/nocopy/compat-venv/bin/python")
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "acl_client.py")
USERS = {"admin": "admin-pw", "alice": "alice-pw", "bob": "bob-pw"}


class Setup:
    def __init__(self):
        self.ports = {"PLAINTEXT": free_port(), "SASL_PLAINTEXT": free_port()}

    def args(self):
        listeners = ",".join("%s://127.0.0.1:%d" % kv for kv in self.ports.items())
        out = ["--listeners", listeners, "--authorizer", "true", "--super-users", "User:admin"]
        for u, p in USERS.items():
            out += ["--scram-user", "%s:%s" % (u, p)]
        return out

    def conf(self, user):
        return {"bootstrap.servers": "127.0.0.1:%d" % self.ports["SASL_PLAINTEXT"],
                "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
                "sasl.username": user, "sasl.password": USERS[user]}


def client(s, user, action, **kw):
    req = dict(kw, conf=s.conf(user), action=action)
    r = subprocess.run([VENV_PY, CLIENT, json.dumps(req)], capture_output=True, text=True, timeout=90)
    check(r.returncode == 0, "%s as %s failed: %s" % (action, user, r.stderr[-3000:]))
    return json.loads(r.stdout.splitlines()[-1])


def acl(type_, name, principal, op, perm="ALLOW", pattern="LITERAL", host="*"):
    return {"type": type_, "name": name, "pattern": pattern, "principal": principal, "host": host,
            "op": op, "perm": perm}


ACLS = [
    acl("TOPIC", "orders", "User:alice", "READ"),
    acl("TOPIC", "orders", "User:bob", "READ"),
    acl("GROUP", "g-", "User:alice", "READ", pattern="PREFIXED"),
    acl("TOPIC", "anon-w", "User:ANONYMOUS", "WRITE"),
    acl("TOPIC", "anon-r", "User:ANONYMOUS", "READ"),
    acl("TOPIC", "anon-d", "User:ANONYMOUS", "ALL"),
    acl("TOPIC", "anon-d", "User:ANONYMOUS", "READ", perm="DENY"),
]
ANY = {"type": "ANY", "name": None, "pattern": "ANY", "principal": None, "host": None, "op": "ANY", "perm": "ANY"}


def setup_acls(s):
    vals = ["v%03d" % i for i in range(20)]
    for t in ("orders", "secret", "anon-w", "anon-r", "anon-d"):
        out = client(s, "admin", "produce", topic=t, values=vals)
        check(out["errors"] == [None] * len(vals), "admin produce to %s: %s" % (t, out["errors"][:3]))
    out = client(s, "admin", "create_acls", bindings=ACLS)
    check(out["errors"] == [None] * len(ACLS), "admin CreateAcls: %s" % out["errors"])
    out = client(s, "alice", "create_acls", bindings=[acl("TOPIC", "secret", "User:alice", "READ")])
    check(out["errors"] == ["CLUSTER_AUTHORIZATION_FAILED"], "alice CreateAcls: %s" % out["errors"])
    got = client(s, "admin", "describe_acls", filter=ANY)["acls"]
    check(len(got) == len(ACLS), "DescribeAcls ANY: %d bindings, want %d" % (len(got), len(ACLS)))
    match = dict(ANY, type="GROUP", name="g-alice", pattern="MATCH")
    got = client(s, "admin", "describe_acls", filter=match)["acls"]
    check([a["name"] for a in got] == ["g-"] and got[0]["pattern"] == "PREFIXED", "MATCH filter: %s" % got)
    lit = dict(ANY, type="TOPIC", name="orders", pattern="LITERAL")
    check(len(client(s, "admin", "describe_acls", filter=lit)["acls"]) == 2, "LITERAL filter")
    print("  CreateAcls by the super user; CLUSTER_AUTHORIZATION_FAILED for alice's CreateAcls; DescribeAcls filters")
    return vals


def check_clients(s, vals):
    out = client(s, "alice", "consume", topic="orders", group="g-alice", n=len(vals))
    check(out["values"] == vals and not out["errors"], "alice consume: %d values, errors %s" % (
        len(out["values"]), out["errors"]))
    out = client(s, "bob", "consume", topic="orders", group="g-bob", n=len(vals), seconds=10)
    check(not out["values"] and "GROUP_AUTHORIZATION_FAILED" in out["errors"],
          "bob without a group ACL: %s" % out)
    out = client(s, "alice", "consume", topic="secret", group="g-alice2", n=1, seconds=10)
    check(not out["values"] and "TOPIC_AUTHORIZATION_FAILED" in out["errors"], "alice on secret: %s" % out)
    out = client(s, "alice", "produce", topic="orders", values=["x"])
    check(out["errors"] == ["TOPIC_AUTHORIZATION_FAILED"], "alice produce without WRITE: %s" % out)
    topics = client(s, "alice", "list_topics")["topics"]
    check(set(topics) == {"orders"}, "alice's Metadata lists %s" % sorted(topics))
    check({"orders", "secret", "anon-d"} <= set(client(s, "admin", "list_topics")["topics"]), "admin's Metadata")
    print("  alice consumes via a prefixed group ACL; bob GROUP_AUTHORIZATION_FAILED; "
          "TOPIC_AUTHORIZATION_FAILED on fetch and produce; Metadata lists only describable topics")


def metadata_all_v1(r):
    resp = r.call(3, 1, struct.pack(">i", -1))
    off = 0
    (nb,) = struct.unpack_from(">i", resp, off)
    off += 4
    for _ in range(nb):
        off += 4
        (hl,) = struct.unpack_from(">h", resp, off)
        off += 2 + hl + 4
        (rl,) = struct.unpack_from(">h", resp, off)
        off += 2 + max(rl, 0)
    off += 4  # controller id
    (nt,) = struct.unpack_from(">i", resp, off)
    off += 4
    names = []
    for _ in range(nt):
        off += 2  # error
        (nl,) = struct.unpack_from(">h", resp, off)
        names.append(resp[off + 2:off + 2 + nl].decode())
        off += 2 + nl + 1
        (np_,) = struct.unpack_from(">i", resp, off)
        off += 4
        for _ in range(np_):
            off += 2 + 4 + 4
            for _ in range(2):
                (n,) = struct.unpack_from(">i", resp, off)
                off += 4 + 4 * n
    return names


def check_raw(b):
    r = Raw(b)
    batch = build_batch([(b"k", b"raw", None, 1)])
    fetch = lambda t: parse_fetch_v4(r.call(1, 4, fetch_body_v4(t, 0, 0, 0)))[0]  # noqa: E731
    produce = lambda t: parse_produce_v3(r.call(0, 3, produce_body(t, 0, batch)))[0]  # noqa: E731
    check(fetch("anon-w") == 29, "fetch without READ: %d" % fetch("anon-w"))
    check(produce("anon-r") == 29, "produce without WRITE: %d" % produce("anon-r"))
    check(produce("anon-w") == 0, "produce with WRITE: %d" % produce("anon-w"))
    check(fetch("anon-r") == 0, "fetch with READ: %d" % fetch("anon-r"))
    check(fetch("anon-d") == 29, "ALLOW ALL + DENY READ: fetch %d" % fetch("anon-d"))
    check(produce("anon-d") == 0, "ALLOW ALL + DENY READ: produce %d" % produce("anon-d"))
    check(fetch("secret") == 29, "fetch with no ACL at all: %d" % fetch("secret"))
    # DescribeAcls v1 (ANY filter) without DESCRIBE on the cluster: error 31
    # (raw: confluent-kafka's describe_acls drops the top-level error).
    resp = r.call(29, 1, struct.pack(">bhbhhbb", 1, -1, 1, -1, -1, 1, 1))
    check(struct.unpack_from(">h", resp, 4)[0] == 31, "ANONYMOUS DescribeAcls: %s" % resp.hex())
    names = metadata_all_v1(r)
    check(sorted(names) == ["anon-d", "anon-r", "anon-w"], "ANONYMOUS Metadata lists %s" % names)
    r.close()
    print("  raw ANONYMOUS: TOPIC_AUTHORIZATION_FAILED (29) without READ/WRITE, deny beats allow, Metadata filtered")


def main():
    if not os.path.exists(VENV_PY):
        check(False, "the compat venv's confluent-kafka (scripts/setup-compat.sh) is needed: %s missing" % VENV_PY)
    s = Setup()
    b = Broker(*s.args())
    b.port = s.ports["PLAINTEXT"]
    with b:
        vals = setup_acls(s)
        check_clients(s, vals)
        check_raw(b)
        before = client(s, "admin", "describe_acls", filter=ANY)["acls"]
    check(os.path.exists(os.path.join(b.data_dir, "acls")), "no ACL file in the data dir")
    b2 = Broker(*s.args(), data_dir=b.data_dir)
    b2.port = s.ports["PLAINTEXT"]
    with b2:
        after = client(s, "admin", "describe_acls", filter=ANY)["acls"]
        check(after == before, "ACLs after a restart differ: %s vs %s" % (after, before))
        check_raw(b2)
        out = client(s, "alice", "consume", topic="orders", group="g-alice3", n=len(vals))
        check(out["values"] == vals, "alice after restart: %s" % out["errors"])
        print("  the ACLs survive a restart")
        out = client(s, "admin", "delete_acls", filters=[dict(ANY, principal="User:alice")])
        check(out["deleted"] == [2], "DeleteAcls for alice removed %s" % out["deleted"])
        out = client(s, "alice", "consume", topic="orders", group="g-alice4", n=1, seconds=10)
        check(not out["values"], "alice still reads after DeleteAcls: %s" % out)
        print("  DeleteAcls removes alice's bindings and she is denied again")
    shutil.rmtree(b.data_dir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
