"""CoAP test helpers: throw-away PKI made with the openssl CLI, PSK files, a UDP
relay (counting, optionally lossy) between gateway and receiver, and the
receiver started as a CoAP/CoAPS server. Nothing here is committed key material:
every key and certificate is made in the test's temp dir at run time.
"""
import os
import random
import select
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import Fail


def openssl(*args, faketime=None):
    argv = ["openssl"] + list(args)
    if faketime:
        argv = ["faketime", faketime] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise Fail("openssl %s: %s" % (" ".join(args[:2]), r.stderr.decode()))


class Pki:
    """A CA in dir/NAME-ca.{key,crt}; leaf certificates signed by it."""

    def __init__(self, dir, name):
        self.dir = dir
        self.name = name
        self.key = os.path.join(dir, name + "-ca.key")
        self.crt = os.path.join(dir, name + "-ca.crt")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.key, "-out", self.crt, "-days", "2",
                "-subj", "/CN=wattgate test CA %s" % name)

    def leaf(self, cn, faketime=None, days=2):
        """(cert, key) for CN=cn (and subjectAltName IP:cn if cn is an IP)."""
        base = os.path.join(self.dir, "%s-%s%s" % (self.name, cn,
                                                   "-old" if faketime else ""))
        key, csr, crt = base + ".key", base + ".csr", base + ".crt"
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn)
        openssl("x509", "-req", "-in", csr, "-CA", self.crt, "-CAkey", self.key,
                "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext,
                faketime=faketime)
        os.chmod(key, 0o600)
        return crt, key


def psk_file(path, identity, key):
    """identity on line 1, key (bytes) in hex on line 2; 0600 as secret_check wants."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("%s\n%s\n" % (identity, key.hex()))
    os.chmod(path, 0o600)
    return path


def free_udp_port():
    return harness.free_udp_port()


def coap_parse(dgram):
    """Plain CoAP datagram -> (code, "uri/path", {option: [values]}, payload);
    None if it is not one."""
    if len(dgram) < 4 or dgram[0] >> 6 != 1:
        return None
    tkl, code = dgram[0] & 0x0F, dgram[1]
    i, opt, opts = 4 + tkl, 0, {}
    while i < len(dgram) and dgram[i] != 0xFF:
        d, l = dgram[i] >> 4, dgram[i] & 0x0F
        i += 1
        ext = []
        for v in (d, l):
            if v == 13:
                ext.append(dgram[i] + 13)
                i += 1
            elif v == 14:
                ext.append(struct.unpack(">H", dgram[i:i + 2])[0] + 269)
                i += 2
            else:
                ext.append(v)
        opt += ext[0]
        opts.setdefault(opt, []).append(dgram[i:i + ext[1]])
        i += ext[1]
    payload = dgram[i + 1:] if i < len(dgram) else b""
    path = "/".join(v.decode("ascii", "replace") for v in opts.get(11, []))
    return code, path, opts, payload


GW_TRANSPORT = 0x10     # no gateway id in the header: the path names it


def batch_seq(payload):
    """The seq in a wrapped batch's header (docs/batch-format.md 3.): after
    version and flags, and the gateway id unless GW_TRANSPORT is set."""
    i = 2 if payload[1] & GW_TRANSPORT else 3 + payload[2]
    shift, seq = 0, 0
    while True:
        b = payload[i]
        seq |= (b & 0x7F) << shift
        i += 1
        shift += 7
        if not b & 0x80:
            return seq


def coap_block1(dgram):
    """(num, more) of a plain CoAP datagram's Block1 option, or None."""
    c = coap_parse(dgram)
    if c is None or 27 not in c[2]:
        return None
    val = c[2][27][0]
    n = int.from_bytes(val, "big") if val else 0
    return n >> 4, bool(n & 0x08)


class Relay:
    """UDP relay 127.0.0.1:port -> 127.0.0.1:target, one client. Counts datagrams
    and payload bytes both ways; drops each datagram with probability `loss`
    (seeded) while loss is set; records Block1 options seen (plain CoAP only)."""

    def __init__(self, target, seed=1):
        self.target = ("127.0.0.1", target)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.client = None
        self.loss = 0.0
        self.rng = random.Random(seed)
        self.bytes = {"up": 0, "down": 0}
        self.dgrams = {"up": 0, "down": 0}
        self.dropped = 0
        # drop(way, data) -> True: that datagram is dropped (counted in
        # dropped, not in bytes or dgrams), e.g. chosen answers of a transfer
        self.drop = None
        self.block1_more = 0
        self.capture = None     # a list: plain CoAP requests going up are kept
        self.capture_at = []    # and when (time.time()), one for each
        self.log = None         # a list: every datagram, (way, time, data)
        # The platform refusing a batch: the refuse_nth-th single-datagram batch
        # POST (plain CoAP) is answered refuse_code (4.00 unless set; not one of
        # the codes that refuse the whole gateway) by the relay itself, not
        # passed on, and so is every later POST of that seq; refused counts them
        # per seq.
        self.refuse_nth = 0
        self.refuse_code = (4, 0)
        self.refused = {}
        self.batch_posts = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def counts(self):
        with self.lock:
            return dict(self.bytes), dict(self.dgrams)

    def run(self):
        while not self.stopping:
            r, _, _ = select.select([self.sock, self.up], [], [], 0.2)
            for s in r:
                try:
                    data, addr = s.recvfrom(65535)
                except OSError:
                    continue        # ICMP port unreachable from a stopped receiver
                way = "up" if s is self.sock else "down"
                if way == "up":
                    self.client = addr
                with self.lock:
                    if (self.loss and self.rng.random() < self.loss) or \
                            (self.drop is not None and self.drop(way, data)):
                        self.dropped += 1
                        continue
                    self.bytes[way] += len(data)
                    self.dgrams[way] += 1
                    if self.log is not None:
                        self.log.append((way, time.time(), data))
                    if way == "up":
                        b = coap_block1(data)
                        if b and b[1]:
                            self.block1_more += 1
                        if self.capture is not None:
                            self.capture.append(data)
                            self.capture_at.append(time.time())
                        reply = self.refusal(data)
                        if reply is not None:
                            self.sock.sendto(reply, addr)
                            continue
                try:
                    if way == "up":
                        self.up.sendto(data, self.target)
                    elif self.client:
                        self.sock.sendto(data, self.client)
                except OSError:
                    pass

    def refusal(self, dgram):
        """A refuse_code ACK for a batch POST to refuse (see refuse_nth), else
        None."""
        if not self.refuse_nth:
            return None
        c = coap_parse(dgram)
        if c is None or c[0] != 2 or not c[1].endswith("/b") or 27 in c[2]:
            return None
        seq = batch_seq(c[3])
        if seq not in self.refused:
            self.batch_posts += 1
            if self.batch_posts != self.refuse_nth:
                return None
            self.refused[seq] = 0
        self.refused[seq] += 1
        tkl = dgram[0] & 0x0F
        code = self.refuse_code[0] << 5 | self.refuse_code[1]
        return bytes([0x60 | tkl, code]) + dgram[2:4 + tkl]

    def stop(self):
        self.stopping = True
        self.t.join()
        self.sock.close()
        self.up.close()


def recv_coap(env, port, name="recv", secure=False, extra=()):
    """wattgate-recv as a CoAP (or CoAPS) server only, on 127.0.0.1:port."""
    argv = [env.bin("tools", "recv", "wattgate-recv"), "--no-mqtt",
            "--coaps" if secure else "--coap", "127.0.0.1:%d" % port] + list(extra)
    p = env.start(name, argv)
    p.wait_for(p.err_path, "listening on")
    return p


def coap_site(env, uri, sim_port, units=(1,), interval=1, **coap):
    c = {"uri": uri, "ack_timeout_ms": 500, "max_retransmit": 4}
    c.update(coap)
    return {"gateway": "gw-test", "interval_s": interval,
            "store": os.path.join(env.dir, "state", "store.db"),
            "profiles": os.path.join(env.src, "drivers", "profiles"),
            "uplink": "coap", "coap": c,
            "buses": [{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                       "port": sim_port}],
            "devices": [{"name": "meter%d" % u, "bus": "lan", "unit": u,
                         "profile": "sdm630"} for u in units]}


# A CoAP client of our own, for requests libcoap's client would never send
# (a Size1 of 2 GB, a body of 20 MB in blocks, 80 peers at once): plain
# CoAP over UDP, one confirmable request at a time.
OPT_URI_PATH, OPT_CONTENT_FORMAT, OPT_BLOCK1, OPT_SIZE1, OPT_RTAG = 11, 12, 27, 60, 292
GET, POST, PUT = 1, 2, 3


def coap_uint(v):
    """An option's uint value, shortest form (0 is no bytes)."""
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def coap_request(code, mid, token, options, payload=b""):
    """A CON request; options: [(number, bytes)], any order."""
    out = bytearray([0x40 | len(token), code, mid >> 8, mid & 0xFF]) + token
    last = 0
    for num, val in sorted(options, key=lambda o: o[0]):
        head, ext = [], b""
        for v in (num - last, len(val)):
            if v < 13:
                head.append(v)
            elif v < 269:
                head.append(13)
                ext += bytes([v - 13])
            else:
                head.append(14)
                ext += struct.pack(">H", v - 269)
        out += bytes([head[0] << 4 | head[1]]) + ext + val
        last = num
    if payload:
        out += b"\xff" + payload
    return bytes(out)


class CoapPeer:
    """One UDP socket (one peer, one libcoap session at the server)."""

    def __init__(self, port):
        self.dst = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.mid = random.randrange(0x10000)

    def send(self, code, path, payload=b"", block1=None, size1=None, rtag=None,
             token=None):
        """Send one CON request, don't wait. block1: (num, more, szx)."""
        self.mid = (self.mid + 1) & 0xFFFF
        opts = [(OPT_URI_PATH, p.encode()) for p in path.split("/")]
        if block1 is not None:
            num, more, szx = block1
            opts.append((OPT_BLOCK1, coap_uint(num << 4 | more << 3 | szx)))
        if size1 is not None:
            opts.append((OPT_SIZE1, coap_uint(size1)))
        if rtag is not None:
            opts.append((OPT_RTAG, rtag))
        tok = token if token is not None else struct.pack(">I", self.mid)
        self.sock.sendto(coap_request(code, self.mid, tok, opts, payload),
                         self.dst)
        return self.mid

    def answer(self, mid, timeout=10):
        """The ACK to mid: coap_parse's (code, path, options, payload)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.sock], [], [], deadline - time.time())
            if not r:
                break
            d = self.sock.recv(65535)
            if len(d) >= 4 and d[0] >> 4 & 3 == 2 and (d[2] << 8 | d[3]) == mid:
                return coap_parse(d)
        raise Fail("no answer to mid %d within %ss" % (mid, timeout))

    def request(self, *args, **kw):
        return self.answer(self.send(*args, **kw))

    def close(self):
        self.sock.close()


def code_str(code):
    return "%d.%02d" % (code >> 5, code & 31)


def opt_uint(c, num):
    """The uint value of option num in a coap_parse result, or None."""
    v = c[2].get(num)
    return int.from_bytes(v[0], "big") if v else None


def post_blocks(peer, path, body, szx=6, size1=None, rtag=b"\x01", stop_after=None):
    """body POSTed in Block1 blocks of 2^(szx+4) bytes, one after the other
    while the answers are 2.31. Returns (the last answer, blocks sent).
    stop_after: give up (answer None) after that many blocks answered 2.31."""
    bs = 1 << (szx + 4)
    n = (len(body) + bs - 1) // bs
    for num in range(n):
        more = int(num + 1 < n)
        c = peer.request(POST, path, body[num * bs:(num + 1) * bs],
                         block1=(num, more, szx), size1=size1, rtag=rtag)
        if not (more and c[0] == 2 << 5 | 31):
            return c, num + 1
        if stop_after is not None and num + 1 >= stop_after:
            return None, num + 1
    return c, n


def proc_kb(pid, *keys):
    """{key: kB} from /proc/PID/status (VmPeak, VmHWM, VmRSS...)."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out
