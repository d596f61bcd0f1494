"""The docs are the whole contract (issue 13, 4.): a receiver written from
docs/batch-format.md and docs/receiver.md alone (docrecv.py) reproduces
wattgate-recv's output byte for byte, and its summary lines at exit.

A real world: mosquitto, the simulator, the daemon (interval 1 s) behind a
TCP relay that the test cuts for a few seconds, so the backlog comes back
merged (SPAN, HISTORICAL, DEFLATE) and batches in flight at the cut come
twice. Then, from wire.py, what a hostile or broken gateway sends: duplicates
of the daemon's batches, an overlap and a span over its future, bad headers
and bodies, a damaged batch, a batch before its schema (and its redelivery),
volatile batches and their stored copies, more than 256 batches no schema
matches, more than 1024 seq ranges (given-up holes, stale), every number and
time format, schemas with escapes and bad ones, topics the receiver ignores.

wattgate-recv (persistent session, --id) and a raw subscriber to wg/# get
the same messages; the raw one's recording, fed to docrecv, must give
wattgate-recv's stdout exactly and the lines it wrote to stderr at exit.

usage: test_docrecv.py BUILD_DIR
"""
import json
import os
import signal
import socket
import struct
import threading
import time
import zlib

import docrecv
import wire
from harness import run, wait, Env, Fail, check, free_port, read_jsonl

OUTAGE_S = 6
T0 = 1700000000000


class Relay:
    """A TCP relay to the broker that can be cut (listener closed, every
    connection reset) and restored on the same port: an outage for the
    daemon alone, while the subscribers stay connected."""

    def __init__(self, target):
        self.target, self.port = target, free_port()
        self.conns, self.lock = [], threading.Lock()
        self.listener = None
        self.restore()

    def restore(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), 5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """shutdown() first: a close() alone leaves a socket that another
        thread is blocked on (accept, recv) open in the kernel."""
        with self.lock:
            socks, self.conns = [self.listener] + self.conns, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


# ---------------------------------------------------------------- wire bytes

def sv(n):
    return wire.varint(((n << 1) ^ (n >> 63)) & (2 ** 64 - 1))


def bits(flags):
    out = bytearray((len(flags) + 7) // 8)
    for i, f in enumerate(flags):
        if f:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def body(base_s, devs):
    """A layout of escaped PERVALUE_EXP columns: devs = [(dev, [ts, ...],
    [(point, [value per ts]), ...])], a value (m, e), "inv" or None (absent)."""
    out = sv(base_s)
    for dev, ts, cols in devs:
        out += wire.varint(dev) + wire.varint(len(ts))
        d = prev = 0
        for i, t in enumerate(ts):
            if i == 0:
                out += sv(t - 1000 * base_s)
            else:
                out += sv(t - prev - d)
                d = t - prev
            prev = t
        out += wire.varint(len(cols))
        end = -1
        for p, _ in cols:
            out += wire.varint(p - end - 1) + wire.varint(0)
            end = p
        out += sv(0) + bits([1] * 2 * len(cols))
        for _, vals in cols:
            present = [v is not None for v in vals]
            got = [v for v in vals if v is not None]
            inv = [v == "inv" for v in got]
            mode = 4 | (0 if all(present) else 1) | (2 if any(inv) else 0)
            out += bytes([mode])
            if mode & 1:
                out += bits(present)
            if mode & 2:
                out += bits(inv)
            for v in got:
                if v != "inv":
                    out += sv(v[1]) + sv(v[0])
    return out


def raw(seq, sid, rest, body_len=None, span=None, flags=0x10, gw=None, check=None):
    """Any version 2 batch: rest is what follows body_len (a layout, or a
    deflate stream with flags & 1)."""
    flags |= 0x04 if span is not None else 0
    head = bytes([2, flags])
    if gw is not None:
        head += bytes([len(gw)]) + gw.encode()
    head += wire.varint(seq) + (wire.varint(span) if span is not None else b"")
    tail = wire.varint(len(rest) if body_len is None else body_len) + rest
    c = zlib.crc32(head + tail, sid) if check is None else check
    return head + struct.pack("<I", c) + tail


def deflated(layout):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(layout) + c.flush()


def schema_text(gw, devices):
    """Like wire.schema, non-ASCII written as UTF-8 (ensure_ascii off)."""
    doc = {"gateway": gw, "version": 1, "devices": [
        {"name": n, "profile": p, "points": [{"name": q, "unit": u} for q, u in pts]}
        for n, p, pts in devices]}
    t = json.dumps(doc, sort_keys=True, separators=(",", ":"),
                   ensure_ascii=False).encode()
    return t, zlib.crc32(t)


# ---------------------------------------------------------------- hostile

def hostile(pub, real):
    """Everything a hostile or broken gateway sends. real: the daemon's
    recorded messages so far, [(topic, payload)]."""
    n = [0]
    forged = []                 # what this sent on the daemon's topic

    def send(topic, payload, retain=False):
        pub.publish(topic, payload, retain)
        n[0] += 1
        if topic == "wg/gw-test/b":
            forged.append(payload)

    def put_schema(gw, devices=wire.DOC_DEVICES, text=None):
        t, sid = schema_text(gw, devices) if text is None else (text, zlib.crc32(text))
        send("wg/%s/s/%08x" % (gw, sid), t, retain=True)
        return sid

    # The daemon's gateway: its batches again, an overlap, a span over its
    # future (its next real batches become overlaps, not duplicates).
    gw_sid = [int(t.rsplit("/", 1)[1], 16) for t, _ in real
              if t.startswith("wg/gw-test/s/")][-1]
    batches = [(t, p) for t, p in real if t == "wg/gw-test/b"]
    hdrs = [docrecv.parse_header(p) for _, p in batches]
    spans = [(h, p) for h, (_, p) in zip(hdrs, batches) if h.span]
    check(spans, "no SPAN batch from the daemon after the outage")
    send("wg/gw-test/b", batches[0][1])
    send("wg/gw-test/b", spans[0][1])
    h = spans[0][0]
    inside = raw(h.seq + 1, gw_sid, b"\x00")
    send("wg/gw-test/b", inside)            # inside the span: an overlap
    send("wg/gw-test/b", inside)            # its redelivery: a duplicate
    top = max(x.last for x in hdrs)
    send("wg/gw-test/b", raw(top + 3, gw_sid, b"\x00", span=4))

    # gw-evil: the worked example's schema and body, then everything bad.
    sid = put_schema("gw-evil")
    doc = wire.DOC_BODY
    send("wg/gw-evil/b", raw(100, sid, doc))
    send("wg/gw-evil/b", raw(100, sid, doc))                        # duplicate
    send("wg/gw-evil/b", raw(101, sid, deflated(doc), len(doc), flags=0x11))
    send("wg/gw-evil/b", raw(102, sid, doc, gw="gw-evil", flags=0x02))  # id in header
    send("wg/gw-evil/b", raw(200, sid, doc, span=10, flags=0x12))
    send("wg/gw-evil/b", raw(205, sid, doc))                        # overlap
    send("wg/gw-evil/b", raw(205, sid, doc))                        # its repeat
    send("wg/gw-evil/b", raw(200, sid, doc, span=10, flags=0x12))   # duplicate
    send("wg/gw-evil/b", raw(195, sid, doc, span=10))               # partly seen
    send("wg/gw-evil/b", raw(150, sid, doc))                        # fills a gap
    send("wg/gw-evil/b", raw(160, sid, b"\xff"))                    # bad, new seq
    send("wg/gw-evil/b", raw(150, sid, b"\xff"))                    # bad, seen seq
    send("wg/gw-evil/b", raw(195, sid, doc, span=10))               # overlap again
    send("wg/gw-evil/b", raw(100, sid, doc, len(doc) + 1))          # seen, but bad length
    send("wg/gw-evil/b", raw(170, sid ^ 1, doc, len(doc) + 1))      # bad length and check
    damaged = bytearray(raw(103, sid, doc))
    damaged[-3] ^= 0x10
    send("wg/gw-evil/b", bytes(damaged))                            # held
    send("wg/gw-evil/b", raw(104, sid ^ 1, doc))                    # wrong schema
    codes_at = doc.index(b"\x01\x30") + 1
    bad_bodies = [
        doc[:codes_at] + b"\xb0" + doc[codes_at + 1:],              # codes padding
        doc + b"\x01",                                              # dev not ascending
        doc[:5] + b"\x80\x00" + doc[6:],                            # varint not minimal
        sv(T0 // 1000) + b"\x00\x00",                               # n_ts 0
        body(T0 // 1000, [(0, [T0, T0], [(0, [(1, 0), (2, 0)])])]),  # ts not ascending
        body(T0 // 1000, [(5, [T0], [(0, [(1, 0)])])]),             # no device 5
        body(T0 // 1000, [(1, [T0], [(3, [(1, 0)])])]),             # no point 3
        body(T0 // 1000, [(0, [T0], [(0, [(1, 401)])])]),           # e 401
        body(T0 // 1000, [(0, [T0], [(0, [(10, 400)])])]),          # 1e401 normalized
        body(T0 // 1000, [(0, [T0, T0 + 1], [(0, [None, None])])]),  # nothing present
        sv(0) + b"\x00\x02\x00\x02\x01\x00\x00" + sv(0) + b"\x00" +
        sv(2 ** 63 - 1) + sv(1),                                     # mantissa overflow
        sv(0) + b"\x00\x01\x00\x01\x00\x00" + sv(0) + b"\x03\x08",    # mode bit 3
        sv(2 ** 62 // 1000 + 1),                                     # base_s range
    ]
    for i, b in enumerate(bad_bodies):
        send("wg/gw-evil/b", raw(110 + i, sid, b))
    send("wg/gw-evil/b", raw(130, sid, doc, len(doc) + 1))          # short body
    send("wg/gw-evil/b", raw(131, sid, doc + b"\x00", len(doc)))    # long body
    send("wg/gw-evil/b", raw(132, sid, b"\xff\xff\xff", 46, flags=0x11))
    send("wg/gw-evil/b", raw(133, sid, deflated(doc) + b"\x00", len(doc), flags=0x11))
    send("wg/gw-evil/b", raw(134, sid, deflated(doc), len(doc) - 1, flags=0x11))
    send("wg/gw-evil/b", raw(135, sid, deflated(doc), len(doc) + 1, flags=0x11))
    for bad in (b"\x01\x10\x05" + b"\0" * 6, b"\x02\x30\x05" + b"\0" * 6, b"\x02\x10",
                raw(136, sid, b"", 4 * 1024 * 1024 + 1),
                raw(137, sid, doc, gw="gw-other", flags=0),
                raw(138, sid, doc, gw="gw evil", flags=0),
                raw(139, sid, doc, span=0), raw(140, sid, doc, span=2 ** 20 + 1),
                raw(5, sid, doc, flags=0x18), raw(0, sid, doc, span=3, flags=0x18),
                raw(2 ** 64 - 2, sid, doc, span=2)):
        send("wg/gw-evil/b", bad)
    send("wg/gw-evil/b", raw(2 ** 64 - 3, sid, doc, span=2))        # up to the last seq

    # Volatile: printed at once, keys remembered, stored copy dropped.
    vol = body(T0 // 1000 + 500, [(0, [T0 + 500000, T0 + 501000],
                                   [(0, [(2304, -1), "inv"]), (1, [None, (7, 0)])]),
                                  (2, [T0 + 500000], [(0, [(1, 0)])])])
    send("wg/gw-evil/b", raw(0, sid, vol, flags=0x18))
    send("wg/gw-evil/b", raw(0, sid, vol, flags=0x18))              # its repeat
    send("wg/gw-evil/b", raw(300, sid, vol))                        # stored copy
    send("wg/gw-evil/b", raw(301, sid, vol))                        # keys gone: printed
    send("wg/gw-evil/b", raw(0, sid, vol, flags=0x18))         # printed again

    # Numbers and times.
    fmt = body(-5, [(0, [-2 ** 62, -62167219200001, -62167219200000, -1, 0],
                     [(0, [(0, 7), (1, 21), (1, 20), (15, -23), (-1, -6)]),
                      (1, [(23041, -2), (15, -3), (-25, 29), (1500, -2),
                           (2 ** 63 - 1, -5)]),
                      (3, [(-2 ** 63, 0), (1, 400), (-1, -400), (123, -21), "inv"])]),
                    (2, [253402300799999, 253402300800000, 2 ** 62],
                     [(0, [(12345, -22), (1234567890123456789, 3), (-12345, -21)])])])
    send("wg/gw-evil/b", raw(400, sid, fmt))
    send("wg/gw-evil/b", raw(401, sid, deflated(fmt), len(fmt), flags=0x13, span=7))

    # A schema with every kind of string.
    names = [("m\u00e9\"t\\er", "p", [("\u00e9\u20ac\U0001F600", "\u00b0C"),
                                      ("a\u2028b", ""), ("c\u0085", "/")])]
    sid2 = put_schema("gw-utf8", names)
    send("wg/gw-utf8/b", raw(1, sid2, body(0, [(0, [1000], [(0, [(1, 0)]), (1, ["inv"]),
                                                       (2, [(5, -1)])])])))

    # A batch before its schema, and its redelivery while held.
    late_t, late_sid = schema_text("gw-late", wire.DOC_DEVICES)
    early = raw(7, late_sid, doc)
    send("wg/gw-late/b", early)
    send("wg/gw-late/b", early)
    send("wg/gw-late/s/%08x" % late_sid, late_t, retain=True)

    # Schemas that must be refused (not retained: a receiver that asks for a
    # gateway's retained schemas again would get them a second time).
    bad_schemas = [
        ("gw-s1", None, "version", 2), ("gw-s1", None, "version", True),
        ("gw-s1", None, "version", 1.0), ("gw-s1", None, "extra", 1),
        ("gw-s1", None, "gateway", "gw-s2"),
    ]
    base = {"gateway": "gw-s1", "version": 1, "devices": [
        {"name": "d", "profile": "p", "points": [{"name": "x", "unit": "V"}]}]}
    for gw, _, k, v in bad_schemas:
        d = dict(base)
        d[k] = v
        t = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
        send("wg/%s/s/%08x" % (gw, zlib.crc32(t)), t)
    texts = [
        b'{"devices":[{"name":"d","points":[],"profile":"p"},'
        b'{"name":"d","points":[],"profile":"p"}],"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d","points":[{"name":"x","unit":""},{"name":"x",'
        b'"unit":""}],"profile":"p"}],"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"' + b"n" * 32 + b'","points":[],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d","points":[{"name":"x","unit":"' + b"u" * 16 +
        b'"}],"profile":"p"}],"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d\\u0001","points":[],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d","points":[],"profile":"p"}],"gateway":"gw-s1",'
        b'"version":1,"version":1}',
        b'{"devices":[{"name":"d\xff","points":[],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d\\ud800","points":[],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"d","points":[{"name":"x"}],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[{"name":"","points":[],"profile":"p"}],'
        b'"gateway":"gw-s1","version":1}',
        b'{"devices":[],"gateway":"gw-s1","version":1} x',
        b'[1]', b'not json',
    ]
    for t in texts:
        send("wg/gw-s1/s/%08x" % zlib.crc32(t), t)
    good = b'{"devices":[],"gateway":"gw-s1","version":1}'
    send("wg/gw-s1/s/%08X" % zlib.crc32(good), good)               # upper case id
    send("wg/gw-s1/s/%08x" % (zlib.crc32(good) ^ 1), good)         # wrong id
    send("wg/gw-s1/s/%07x" % (zlib.crc32(good) >> 4), good)        # 7 digits
    send("wg/gw-s1/s/00000000", b"")                               # cleared: ignored
    send("wg/gw-s1/s/0000000", b"")                                # bad id, even empty
    send("wg/bad!gw/s/%08x" % zlib.crc32(good), good)              # ignored
    t = b'{"devices":[{"name":"d","points":[{"name":"x","unit":"\x7f"}],' \
        b'"profile":"p"}],"gateway":"gw-s1","version":1}'
    send("wg/gw-s1/s/%08x" % zlib.crc32(t), t)                     # DEL
    send("wg/gw-s1/s/%08x" % zlib.crc32(good), good)               # fine

    # Topics the receiver does not take.
    for t in ("wg/bad!gw/b", "wg//b", "wg/gw-evil/b/x", "wg/gw-evil/s",
              "wg/gw-evil/x", "wg/gw-evil/metrics"):
        send(t, raw(900, sid, doc))

    # A span reaching back to a seq seen is an overlap: its bounds are not
    # kept, and the real batches inside it are judged by range (duplicates).
    bsid = put_schema("gw-blind")
    send("wg/gw-blind/b", raw(50, bsid, doc))
    send("wg/gw-blind/b", raw(50, bsid, b"\x00", span=10))
    send("wg/gw-blind/b", raw(51, bsid, doc))
    send("wg/gw-blind/b", raw(52, bsid, doc, span=3))
    send("wg/gw-blind/b", raw(70, bsid, doc, span=10))              # kept
    send("wg/gw-blind/b", raw(72, bsid, doc))                       # inside: overlap
    send("wg/gw-blind/b", raw(70, bsid, doc, span=4))               # a half: overlap
    send("wg/gw-blind/b", raw(70, bsid, doc, span=4))               # again: duplicate

    # Past 256 spans the lowest lose their bounds: judged by range.
    ssid = put_schema("gw-spans")
    for i in range(258):
        send("wg/gw-spans/b", raw(10 * i, ssid, b"\x00", span=1))
    for seq, span in ((0, 1), (10, 1), (20, None), (2570, None), (2570, 1)):
        send("wg/gw-spans/b", raw(seq, ssid, b"\x00", span=span))

    # Only what is printed or held makes a summary line.
    send("wg/gw-bad-only/b", raw(1, put_schema("gw-bad-only"), b"\xff"))
    vsid = put_schema("gw-vol-only")
    send("wg/gw-vol-only/b", raw(0, vsid, doc, flags=0x18))
    send("wg/gw-vol-empty/b", raw(0, put_schema("gw-vol-empty"), b"\x00", flags=0x18))

    # More than 16 schemas (not retained: a receiver asking again for the
    # retained ones would get them, a recording would not): the least
    # recently used goes, and its batch waits.
    lru = []
    for i in range(17):
        t, k = schema_text("gw-lru", [("m%d" % i, "p", [("x", "V")])])
        send("wg/gw-lru/s/%08x" % k, t)
        lru.append(k)
    body1 = body(1000, [(0, [1000000], [(0, [(1, 0)])])])
    send("wg/gw-lru/b", raw(1, lru[0], body1))                      # forgotten: held
    send("wg/gw-lru/b", raw(2, lru[16], body1))
    send("wg/gw-lru/b", raw(3, lru[1], body1))

    # Pending by bytes: a gateway at its 4 MiB pushes out its own oldest; a
    # batch alone over 4 MiB is dropped.
    for i in range(5):
        send("wg/gw-big/b", raw(1 + i, 0x1234, b"\x00" * 1000000))
    send("wg/gw-big/b", raw(9, 0x1234, b"\x00" * (4 * 1024 * 1024)))

    # More than 1024 seq ranges: the lowest holes are given up.
    rsid = put_schema("gw-ranges")
    for i in range(1031):
        send("wg/gw-ranges/b", raw(1 + 2 * i, rsid, b"\x00"))
    for s in (4, 1, 16, 17, 2061, 3000):
        send("wg/gw-ranges/b", raw(s, rsid, b"\x00"))

    # More batches than a gateway may hold pending.
    dsid = put_schema("gw-damaged")
    for i in range(260):
        send("wg/gw-damaged/b", raw(1000 + i, dsid ^ 0xFF, b"\x00"))
    return n[0], forged


def main(build):
    with Env(build) as env:
        broker, port = env.mosquitto(extra="max_queued_messages 0\n")
        sub = wire.Subscriber(port, "wg/#", "docdec-raw")
        recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"),
                                  "-h", "127.0.0.1", "-p", str(port),
                                  "--id", "docdec-recv"])
        recv.wait_for(recv.err_path, "subscribed")
        relay = Relay(port)
        sim, site = env.one_meter(relay.port)
        gw = env.gateway(site)

        wait(lambda: len(read_jsonl(recv.out_path)) >= 3 * 21, 20, "first cycles")
        relay.cut()
        time.sleep(OUTAGE_S)
        relay.restore()
        wait(lambda: any(r.get("historical") for r in read_jsonl(recv.out_path)),
             20, "the backlog after the outage")
        wait(lambda: any(p[1] & 0x07 == 0x07 for t, p in sub.received()
                         if t == "wg/gw-test/b"), 10,
             "a SPAN + HISTORICAL + DEFLATE batch")

        pub = wire.Publisher(port, "docdec-hostile")
        sent, forged = hostile(pub, sub.received())
        n_live = len(read_jsonl(recv.out_path))
        wait(lambda: len(read_jsonl(recv.out_path)) >= n_live + 3 * 21, 15,
             "live cycles after the hostile messages")
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())

        # The last message: once both have it, both have everything before.
        end_t, end_sid = schema_text("gw-zz-end", wire.DOC_DEVICES)
        pub.publish("wg/gw-zz-end/s/%08x" % end_sid, end_t, retain=True)
        pub.publish("wg/gw-zz-end/b", raw(1, end_sid, wire.DOC_BODY))
        pub.close()
        wait(lambda: any(t == "wg/gw-zz-end/b" for t, _ in sub.received()), 10,
             "the raw subscriber's last message")
        wait(lambda: any(r["gateway"] == "gw-zz-end"
                         for r in read_jsonl(recv.out_path)), 10,
             "wattgate-recv's last batch")
        before = len(recv.stderr())
        check(recv.stop(signal.SIGTERM) == 0, "wattgate-recv exit: %s", recv.tail())
        summary = recv.stderr()[before:].splitlines()
        check(sub.error is None, "raw subscriber: %s", sub.error)
        messages = sub.received()
        sub.close()

        with open(os.path.join(env.dir, "recording.jsonl"), "w") as f:
            for t, p in messages:
                f.write(json.dumps({"topic": t, "payload": p.hex()}) + "\n")
        doc = docrecv.Receiver()
        for t, p in messages:
            doc.message(t, p)
        with open(recv.out_path, "rb") as f:
            want = f.read()
        got = bytes(doc.out)
        with open(os.path.join(env.dir, "docrecv.stdout"), "wb") as f:
            f.write(got)
        if got != want:
            wl, gl = want.splitlines(), got.splitlines()
            i = next((k for k in range(min(len(wl), len(gl))) if wl[k] != gl[k]),
                     min(len(wl), len(gl)))
            raise Fail("stdout differs at line %d of %d (docrecv %d lines):\n"
                       " wattgate-recv: %s\n docrecv:       %s" % (
                           i + 1, len(wl), len(gl),
                           wl[i].decode("utf-8", "replace") if i < len(wl) else "(end)",
                           gl[i].decode("utf-8", "replace") if i < len(gl) else "(end)"))
        dsum = doc.summary()
        if dsum != summary:
            raise Fail("summary differs:\n wattgate-recv:\n  %s\n docrecv:\n  %s" % (
                "\n  ".join(summary), "\n  ".join(dsum)))
        flags = {}
        for t, p in messages:
            if t == "wg/gw-test/b":
                if p in forged:
                    forged.remove(p)
                else:
                    flags[p[1]] = flags.get(p[1], 0) + 1
        print("docrecv: %d messages replayed (%d hostile), %d readings printed "
              "alike byte for byte, %d summary lines alike; the daemon's batches "
              "by flags: %s" % (len(messages), sent, len(want.splitlines()), len(dsum),
                             ", ".join("0x%02x: %d" % kv for kv in sorted(flags.items()))))


if __name__ == "__main__":
    run(main)
