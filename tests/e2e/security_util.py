"""Helpers for the security end-to-end tests: test certificates made with the
openssl command line at run time, a raw Kafka connection over TCP or TLS,
SASL exchanges by hand, and the flexible (compact) encodings of the SCRAM
credential APIs."""
import os
import ssl
import struct
import subprocess

from harness import RawSocket, kstr, request

SUBJ_CA = "/CN=nocopy-test-ca"


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60, **kw)


def make_ca(d):
    """A CA (ca.pem, ca.key) in directory d."""
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", SUBJ_CA, "-keyout", os.path.join(d, "ca.key"), "-out", os.path.join(d, "ca.pem")])


def make_cert(d, name, cn, client=False):
    """<name>.pem / <name>.key signed by d's CA, valid for localhost and 127.0.0.1."""
    key, csr, pem = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-subj", "/CN=" + cn, "-keyout", key, "-out", csr])
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
    run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(d, "ca.pem"), "-CAkey",
         os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "2", "-out", pem, "-extfile", ext])
    return pem, key


def client_context(ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


class Conn(RawSocket):
    """A blocking raw Kafka connection to 127.0.0.1:port, TLS when ctx is given."""

    def __init__(self, port, ctx=None, timeout=10):
        super().__init__(port, ctx, timeout)
        self.corr = 0

    def send_raw(self, data):
        self.s.sendall(data)

    def send(self, api_key, version, body, flexible=False):
        self.corr += 1
        if flexible:  # request header v2: client id, then empty tagged fields
            payload = struct.pack(">hhi", api_key, version, self.corr) + kstr("e2e") + b"\x00" + body
            self.s.sendall(struct.pack(">i", len(payload)) + payload)
        else:
            self.s.sendall(request(api_key, version, self.corr, body))
        return self.corr

    def recv(self):
        return self.recv_frame()

    def call(self, api_key, version, body, flexible=False):
        c = self.send(api_key, version, body, flexible)
        resp = self.recv()
        (corr,) = struct.unpack(">i", resp[:4])
        assert corr == c, "correlation id %d != %d" % (corr, c)
        return resp[5:] if flexible else resp[4:]  # response header v1 has a tagged-field byte

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---------------------------------------------------------------- SASL by hand

def api_versions_ok(conn):
    resp = conn.call(18, 0, b"")
    (err,) = struct.unpack_from(">h", resp, 0)
    return err == 0


def sasl_handshake(conn, mechanism, version=1):
    resp = conn.call(17, version, kstr(mechanism))
    (err, n) = struct.unpack_from(">hi", resp, 0)
    off, mechs = 6, []
    for _ in range(n):
        (ln,) = struct.unpack_from(">h", resp, off)
        mechs.append(resp[off + 2:off + 2 + ln].decode())
        off += 2 + ln
    return err, mechs


def sasl_authenticate(conn, token, version=1):
    """-> (error_code, error_message, auth_bytes)."""
    resp = conn.call(36, version, struct.pack(">i", len(token)) + token)
    (err,) = struct.unpack_from(">h", resp, 0)
    off = 2
    (ml,) = struct.unpack_from(">h", resp, off)
    msg = None if ml < 0 else resp[off + 2:off + 2 + ml].decode()
    off += 2 + max(ml, 0)
    (bl,) = struct.unpack_from(">i", resp, off)
    return err, msg, resp[off + 4:off + 4 + max(bl, 0)]


def plain_token(user, password):
    return b"\x00" + user.encode() + b"\x00" + password.encode()


# ---------------------------------------------------------------- compact encodings

def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_uvarint(buf, off):
    n = shift = 0
    while True:
        b = buf[off]
        off += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, off


def cstr(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def cbytes(b):
    return uvarint(len(b) + 1) + b


def read_cstr(buf, off):
    n, off = read_uvarint(buf, off)
    if n == 0:
        return None, off
    return buf[off:off + n - 1].decode(), off + n - 1


def describe_scram(conn, users=None):
    """DescribeUserScramCredentials v0 -> (error, {user: (error, [(mechanism, iterations)])})."""
    if users is None:
        body = uvarint(0)
    else:
        body = uvarint(len(users) + 1) + b"".join(cstr(u) + b"\x00" for u in users)
    resp = conn.call(50, 0, body + b"\x00", flexible=True)
    (_, err) = struct.unpack_from(">ih", resp, 0)
    _, off = read_cstr(resp, 6)
    n, off = read_uvarint(resp, off)
    out = {}
    for _ in range(max(n - 1, 0)):
        user, off = read_cstr(resp, off)
        (uerr,) = struct.unpack_from(">h", resp, off)
        _, off = read_cstr(resp, off + 2)
        k, off = read_uvarint(resp, off)
        infos = []
        for _ in range(max(k - 1, 0)):
            mech, it = struct.unpack_from(">bi", resp, off)
            infos.append((mech, it))
            off += 5 + 1  # + tagged fields
        off += 1
        out[user] = (uerr, infos)
    return err, out


def alter_scram(conn, deletions=(), upsertions=()):
    """AlterUserScramCredentials v0. deletions: [(user, mech)]; upsertions:
    [(user, mech, iterations, salt, salted_password)] -> {user: (error, message)}."""
    body = uvarint(len(deletions) + 1)
    for user, mech in deletions:
        body += cstr(user) + struct.pack(">b", mech) + b"\x00"
    body += uvarint(len(upsertions) + 1)
    for user, mech, iterations, salt, salted in upsertions:
        body += cstr(user) + struct.pack(">bi", mech, iterations) + cbytes(salt) + cbytes(salted) + b"\x00"
    resp = conn.call(51, 0, body + b"\x00", flexible=True)
    n, off = read_uvarint(resp, 4)
    out = {}
    for _ in range(max(n - 1, 0)):
        user, off = read_cstr(resp, off)
        (err,) = struct.unpack_from(">h", resp, off)
        msg, off = read_cstr(resp, off + 2)
        off += 1
        out[user] = (err, msg)
    return out


def metadata_brokers(conn):
    """Metadata v1 with no topics -> [(node_id, host, port)]."""
    resp = conn.call(3, 1, struct.pack(">i", 0))
    (n,) = struct.unpack_from(">i", resp, 0)
    off, out = 4, []
    for _ in range(n):
        (node,) = struct.unpack_from(">i", resp, off)
        (hl,) = struct.unpack_from(">h", resp, off + 4)
        host = resp[off + 6:off + 6 + hl].decode()
        off += 6 + hl
        (port,) = struct.unpack_from(">i", resp, off)
        off += 4
        (rl,) = struct.unpack_from(">h", resp, off)
        off += 2 + max(rl, 0)
        out.append((node, host, port))
    return out
