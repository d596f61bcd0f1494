"""wattgate-recv's core, written from the docs alone (docs/batch-format.md,
docs/receiver.md, docs/mqtt.md, docs/coap.md) and never from its C source:
the proof that the docs are the whole contract. Fed the MQTT messages a
receiver got, in arrival order, it must print what wattgate-recv prints on
stdout, byte for byte, and the same summary lines at exit.

    r = Receiver()
    for topic, payload in messages:
        r.message(topic, payload)
    r.out          # bytes: the JSON lines
    r.summary()    # [str]: the summary lines, without newlines

Where the docs were silent or wrong, its first version (commit "docrecv:
wattgate-recv's core written from the docs alone") guessed; each guess that
was wrong was settled from the source afterwards and the docs fixed, so
that everything here is what the docs now say.

Not modelled: time (--pending-ttl: a replay is instantaneous), the broker
(re-subscribing to a gateway's retained schemas when a batch is held: a
recording has what the broker sent, not what it would send again; see
docs/receiver.md, Pending), CoAP, and --spool (unmatched counted as lost).

usage: docrecv.py RECORDING   (JSON lines {"topic": T, "payload": HEX})
"""
import collections
import json
import re
import sys
import zlib

INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1
TS_LIMIT = 2 ** 62
F_DEFLATE, F_HISTORICAL, F_SPAN, F_VOLATILE, F_GW_TRANSPORT = 1, 2, 4, 8, 16
MAX_BODY = 4 * 1024 * 1024
MAX_DEFLATED = 8 * 1024 * 1024
MAX_SPAN = 2 ** 20
MAX_READINGS = 2 ** 20
GW_RE = re.compile(rb"[A-Za-z0-9._-]{1,64}\Z")
GW_RE_S = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
HEX8 = re.compile(r"[0-9a-f]{8}\Z")

# docs/receiver.md, Limits.
MAX_GATEWAYS = 100000
MAX_RANGES, MAX_SPANS, MAX_OVERLAPS = 1024, 256, 64
PENDING_GW_N, PENDING_GW_BYTES = 256, 4 * 1024 * 1024
PENDING_ALL_N, PENDING_ALL_BYTES = 16384, 64 * 1024 * 1024
VOL_FIRST, VOL_KEYS_GW, VOL_KEYS_ALL = 256, 65536, 4194304
SCHEMAS_GW, SCHEMA_MEM_GW, SCHEMA_MEM_ALL = 16, 2 * 1024 * 1024, 512 * 1024 * 1024
SCHEMA_DOC_MAX = 256 * 1024
GAPS_TEXT = 900


class Bad(Exception):
    pass


class Reader:
    def __init__(self, data, what):
        self.d, self.i, self.what = data, 0, what

    def left(self):
        return len(self.d) - self.i

    def u8(self):
        if self.i >= len(self.d):
            raise Bad(self.what + ": truncated")
        self.i += 1
        return self.d[self.i - 1]

    def take(self, n):
        if n > self.left():
            raise Bad(self.what + ": truncated")
        self.i += n
        return self.d[self.i - n:self.i]

    def varint(self):
        v = 0
        for k in range(10):
            b = self.u8()
            if k == 9 and b > 1:
                raise Bad(self.what + ": varint over 64 bits")
            v |= (b & 0x7F) << (7 * k)
            if not b & 0x80:
                if k and b == 0:
                    raise Bad(self.what + ": varint not minimal")
                return v
        raise Bad(self.what + ": varint over 10 bytes")

    def svarint(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def bitmap(self, nbits):
        raw = self.take((nbits + 7) // 8)
        if nbits % 8 and raw[-1] >> (nbits % 8):
            raise Bad(self.what + ": bitmap padding set")
        return [(raw[i // 8] >> (i % 8)) & 1 for i in range(nbits)]


# ---------------------------------------------------------------- batch format

class Header:
    pass


def parse_header(msg):
    """docs/batch-format.md 3.: (Header); Bad 'header: ...'."""
    r = Reader(msg, "header")
    h = Header()
    if r.u8() != 2:
        raise Bad("header: unknown version")
    h.flags = r.u8()
    if h.flags & 0xE0:
        raise Bad("header: unknown flag bit")
    h.gw = None
    if not h.flags & F_GW_TRANSPORT:
        n = r.u8()
        if not 1 <= n <= 64:
            raise Bad("header: gateway id length")
        h.gw = r.take(n)
        if not GW_RE.match(h.gw):
            raise Bad("header: gateway id")
        h.gw = h.gw.decode()
    h.seq = r.varint()
    h.span = None
    if h.flags & F_SPAN:
        h.span = r.varint()
        if h.span == 0 or h.span > MAX_SPAN or h.seq + h.span > 2 ** 64 - 1:
            raise Bad("header: span")
    if h.flags & F_VOLATILE and (h.span is not None or h.seq != 0):
        raise Bad("header: volatile with a seq or span")
    at = r.i
    h.check = int.from_bytes(r.take(4), "little")
    h.body_len = r.varint()
    if h.body_len > MAX_BODY:
        raise Bad("header: body_len")
    h.m = msg[:at] + msg[at + 4:]
    h.rest = msg[r.i:]
    # Checked with the header (step 2), before the check and dedupe.
    if not h.flags & F_DEFLATE and len(h.rest) != h.body_len:
        raise Bad("header: body not body_len bytes")
    h.last = h.seq + (h.span or 0)
    return h


def body_bytes(h):
    if not h.flags & F_DEFLATE:
        if len(h.rest) != h.body_len:
            raise Bad("body: not body_len bytes")
        return h.rest
    if len(h.rest) > MAX_DEFLATED:
        raise Bad("body: deflate stream over 8 MiB")
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(h.rest, h.body_len + 1)
    except zlib.error:
        raise Bad("body: corrupt deflate stream")
    if len(out) != h.body_len or not d.eof or d.unused_data or d.unconsumed_tail:
        raise Bad("body: deflate stream not exactly body_len bytes")
    return out


def normalize(m, e):
    if m == 0:
        return 0, 0
    while m % 10 == 0:
        m //= 10
        e += 1
    return m, e


def decode_body(body):
    """docs/batch-format.md 4.: [(dev, ts, point, m, e) or (dev, ts, point,
    None, None) for INVALID], sorted by (dev, ts, point)."""
    r = Reader(body, "body")
    base_s = r.svarint()
    if abs(base_s) > TS_LIMIT // 1000:
        raise Bad("body: base_s out of range")
    base = 1000 * base_s
    prev_dev = -1
    out = []
    while r.left():
        dev = r.varint()
        if dev > 65535 or dev <= prev_dev:
            raise Bad("body: dev")
        prev_dev = dev
        n_ts = r.varint()
        if n_ts == 0 or n_ts > r.left():
            raise Bad("body: n_ts")
        ts, t, d = [], 0, 0
        for i in range(n_ts):
            x = r.svarint()
            if i == 0:
                t = base + x
            else:
                d += x
                if d <= 0:
                    raise Bad("body: timestamps not ascending")
                if d > INT64_MAX:
                    raise Bad("body: timestamp overflow")
                t += d
            if not -TS_LIMIT <= t <= TS_LIMIT:
                raise Bad("body: timestamp out of range")
            ts.append(t)
        n_runs = r.varint()
        if n_runs == 0 or n_runs > r.left() // 2:
            raise Bad("body: n_runs")
        points, end = [], -1
        for _ in range(n_runs):
            gap, lm1 = r.varint(), r.varint()
            if gap > 65535 or lm1 > 65535:
                raise Bad("body: run")
            first = end + 1 + gap
            end = first + lm1
            if end > 65535:
                raise Bad("body: run past point 65535")
            points.extend(range(first, end + 1))
        e_base = r.svarint()
        if not -400 <= e_base <= 400:
            raise Bad("body: e_base")
        codes = r.bitmap(2 * len(points))
        pred = None                       # (e_col, first m) of P
        for c, point in enumerate(points):
            code = codes[2 * c] | codes[2 * c + 1] << 1
            mode = 0
            e_col = e_base + code
            present = [1] * n_ts
            invalid = None
            if code == 3:
                mode = r.u8()
                if mode & 0xF8:
                    raise Bad("body: unknown mode bit")
                if mode & 1:
                    present = r.bitmap(n_ts)
                n_present = sum(present)
                if n_present == 0:
                    raise Bad("body: column without a present reading")
                if mode & 2:
                    invalid = r.bitmap(n_present)
                n_ok = n_present - (sum(invalid) if invalid else 0)
                if not mode & 4 and n_ok:
                    e_col = r.svarint()
            else:
                n_ok = n_ts
            pervalue = bool(mode & 4)
            shared = not pervalue and n_ok > 0
            if shared:
                if not -400 <= e_col <= 400:
                    raise Bad("body: e_col")
                if n_ok > r.left():
                    raise Bad("body: values")
                m = pred[1] if pred is not None and pred[0] == e_col else 0
            elif pervalue and 2 * n_ok > r.left():
                raise Bad("body: values")
            j = 0
            first_m = None
            for i in range(n_ts):
                if not present[i]:
                    continue
                if invalid and invalid[j]:
                    out.append((dev, ts[i], point, None, None))
                elif pervalue:
                    e = r.svarint()
                    mm = r.svarint()
                    if not -400 <= e <= 400:
                        raise Bad("body: value exponent")
                    mm, e = normalize(mm, e)
                    if not -400 <= e <= 400:
                        raise Bad("body: value exponent")
                    out.append((dev, ts[i], point, mm, e))
                else:
                    m += r.svarint()
                    if not INT64_MIN <= m <= INT64_MAX:
                        raise Bad("body: mantissa overflow")
                    if first_m is None:
                        first_m = m
                    mm, e = normalize(m, e_col)
                    if not -400 <= e <= 400:
                        raise Bad("body: value exponent")
                    out.append((dev, ts[i], point, mm, e))
                j += 1
            if shared:
                pred = (e_col, first_m)
        if len(out) > MAX_READINGS:
            raise Bad("body: too many readings")
    out.sort(key=lambda x: (x[0], x[1], x[2]))
    return out


# ---------------------------------------------------------------- output

def fmt_number(m, e):
    """docs/receiver.md, Output, Numbers."""
    m, e = normalize(m, e)
    if m == 0:
        return "0"
    sign = "-" if m < 0 else ""
    digits = str(abs(m))
    nd = len(digits)
    if e >= 0 and nd + e <= 21:
        return sign + digits + "0" * e
    if e < 0 and -e <= 21:
        k = -e
        if nd > k:
            return sign + digits[:nd - k] + "." + digits[nd - k:]
        return sign + "0." + "0" * (k - nd) + digits
    s = sign + digits[0]
    if nd > 1:
        s += "." + digits[1:]
    return s + "e" + str(nd - 1 + e)


def civil(days):
    """Days since 1970-01-01 -> (y, m, d), proleptic Gregorian."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return y + (m <= 2), m, d


def fmt_time(ts):
    days, ms = divmod(ts, 86400000)
    y, mo, d = civil(days)
    if not 0 <= y <= 9999:
        return "null"
    s, ms = divmod(ms, 1000)
    return '"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"' % (
        y, mo, d, s // 3600, s // 60 % 60, s % 60, ms)


ESC = {0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n",
       0x0D: b"\\r", 0x09: b"\\t"}


def utf8_len(data, i):
    """Length of the valid UTF-8 sequence at data[i] (a byte >= 0x80), or 0."""
    b = data[i]
    if 0xC2 <= b <= 0xDF:
        n, lo, hi = 2, 0x80, 0xBF
    elif b == 0xE0:
        n, lo, hi = 3, 0xA0, 0xBF
    elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
        n, lo, hi = 3, 0x80, 0xBF
    elif b == 0xED:
        n, lo, hi = 3, 0x80, 0x9F
    elif b == 0xF0:
        n, lo, hi = 4, 0x90, 0xBF
    elif 0xF1 <= b <= 0xF3:
        n, lo, hi = 4, 0x80, 0xBF
    elif b == 0xF4:
        n, lo, hi = 4, 0x80, 0x8F
    else:
        return 0
    if i + n > len(data) or not lo <= data[i + 1] <= hi:
        return 0
    if any(not 0x80 <= data[i + k] <= 0xBF for k in range(2, n)):
        return 0
    return n


def json_string(s):
    """docs/receiver.md, Output, Strings. s: str or bytes (UTF-8)."""
    data = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    out = bytearray(b'"')
    i = 0
    while i < len(data):
        b = data[i]
        if b in ESC:
            out += ESC[b]
            i += 1
        elif b < 0x20 or b == 0x7F:
            out += b"\\u%04x" % b
            i += 1
        elif b < 0x80:
            out.append(b)
            i += 1
        else:
            n = utf8_len(data, i)
            if n:
                out += data[i:i + n]
                i += n
            else:
                out += b"\\ufffd"
                i += 1
    out += b'"'
    return bytes(out)


# ---------------------------------------------------------------- schemas

class SchemaBad(Exception):
    pass


def _no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise SchemaBad("duplicate key")
    return dict(pairs)


def _reject_constant(name):
    raise SchemaBad("not JSON: " + name)


def _string(v, lo, hi, what):
    if not isinstance(v, str):
        raise SchemaBad(what + " not a string")
    try:
        b = v.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaBad(what + ": invalid unicode")
    if not lo <= len(b) <= hi:
        raise SchemaBad(what + ": length")
    if any(c < 0x20 or c == 0x7F for c in b):
        raise SchemaBad(what + ": control character")
    return v


def parse_schema(payload):
    """docs/receiver.md, Schemas: (gateway, [(name, [(point, unit), ...]),
    ...]), names and units as JSON strings for the output."""
    if len(payload) > SCHEMA_DOC_MAX:
        raise SchemaBad("over 256 KiB")
    try:
        text = payload.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_no_dupes,
                         parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SchemaBad("not JSON: %s" % e)
    if not isinstance(doc, dict) or set(doc) != {"version", "gateway", "devices"}:
        raise SchemaBad("keys")
    if type(doc["version"]) is not int or doc["version"] != 1:
        raise SchemaBad("version")
    g = doc["gateway"]
    if not isinstance(g, str) or not GW_RE_S.match(g):
        raise SchemaBad("gateway")
    devs = doc["devices"]
    if not isinstance(devs, list) or len(devs) > 65536:
        raise SchemaBad("devices")
    out, names = [], set()
    for d in devs:
        if not isinstance(d, dict) or set(d) != {"name", "profile", "points"}:
            raise SchemaBad("device keys")
        name = _string(d["name"], 1, 31, "device name")
        _string(d["profile"], 1, 31, "profile")
        if name in names:
            raise SchemaBad("device names not unique")
        names.add(name)
        pts = d["points"]
        if not isinstance(pts, list) or len(pts) > 65536:
            raise SchemaBad("points")
        plist, pnames = [], set()
        for p in pts:
            if not isinstance(p, dict) or set(p) != {"name", "unit"}:
                raise SchemaBad("point keys")
            pn = _string(p["name"], 1, 31, "point name")
            un = _string(p["unit"], 0, 15, "unit")
            if pn in pnames:
                raise SchemaBad("point names not unique")
            pnames.add(pn)
            plist.append((json_string(pn), json_string(un)))
        out.append((json_string(name), plist))
    return g, out


# ---------------------------------------------------------------- receiver

class Seen:
    """The seqs printed for one gateway (docs/receiver.md, Exactly once):
    sorted disjoint ranges, at most max_ranges (then the lowest hole is
    given up), the bounds of the 256 highest spans printed, and
    (unless plain) what was printed as an overlap, by range."""
    NEW, DUP, STALE, OVERLAP = "new", "dup", "stale", "overlap"

    def __init__(self, max_ranges=MAX_RANGES, plain=False):
        self.max, self.plain = max_ranges, plain
        self.ranges = []              # [[a, b], ...]
        self.seen = 0
        self.given_up, self.horizon = 0, None
        self.spans = []               # sorted by first (a, b), may overlap
        self.over = None

    def _first(self, a):
        for i, (_, y) in enumerate(self.ranges):
            if y >= a:
                return i
        return len(self.ranges)

    def _same_batch(self, a, b):
        hit = [sp for sp in self.spans if sp[0] <= b and sp[1] >= a]
        if not hit:
            return True               # in no kept span: by the ranges
        if (a, b) in hit:
            return True
        return self.over is not None and self.over.check(a, b) == Seen.DUP

    def check(self, a, b):
        i = self._first(a)
        if i == len(self.ranges) or self.ranges[i][0] > b:
            return Seen.NEW
        if i == 0 and self.horizon is not None and b <= self.horizon:
            return Seen.STALE
        x, y = self.ranges[i]
        if x <= a and b <= y:
            return Seen.DUP if self._same_batch(a, b) else Seen.OVERLAP
        return Seen.OVERLAP

    def mark(self, a, b):
        rc = self.check(a, b)
        if rc not in (Seen.NEW, Seen.OVERLAP):
            return rc
        if not self.plain and rc == Seen.OVERLAP and a < b:
            # what was seen of it before stays provable, what it claims anew not
            for x, y in [r for r in self.ranges if r[0] <= b and r[1] >= a]:
                self._over().mark(max(x, a), min(y, b))
        had = 0
        rs = []
        lo, hi = a, b
        for x, y in self.ranges:
            if y + 1 < a or x > b + 1:
                rs.append([x, y])
                continue
            had += max(0, min(y, b) - max(x, a) + 1)
            lo, hi = min(lo, x), max(hi, y)
        rs.append([lo, hi])
        rs.sort()
        self.ranges = rs
        self.seen += b - a + 1 - had
        if len(self.ranges) > self.max:
            (x0, y0), (x1, y1) = self.ranges[0], self.ranges[1]
            self.given_up += x1 - y0 - 1
            if self.horizon is None or x1 - 1 > self.horizon:
                self.horizon = x1 - 1
            self.ranges[0:2] = [[x0, y1]]
        if not self.plain and a < b:
            self._keep_span(a, b)
        elif not self.plain and rc == Seen.OVERLAP:
            self._over().mark(a, b)
        return rc

    def _over(self):
        if self.over is None:
            self.over = Seen(MAX_OVERLAPS, plain=True)
        return self.over

    def _keep_span(self, a, b):
        i = sum(1 for sp in self.spans if sp[0] <= a)
        if len(self.spans) == MAX_SPANS:
            if i == 0:
                return                # lower than every span kept
            del self.spans[0]
            i -= 1
        self.spans.insert(i, (a, b))

    def lowest(self):
        return self.ranges[0][0]

    def highest(self):
        return self.ranges[-1][1]

    def missing(self):
        return (self.highest() - self.lowest()) - (self.seen - 1) if self.ranges else 0

    def gap_list(self):
        """At most GAPS_TEXT characters of entries, then ", ..."."""
        items = []
        if self.horizon is not None:
            items.append("%d at or below %d (not listed)" %
                         (self.given_up, self.horizon))
        for (_, y), (x, _) in zip(self.ranges, self.ranges[1:]):
            items.append("%d" % (y + 1) if x - 1 == y + 1 else
                         "%d-%d" % (y + 1, x - 1))
        out = ""
        for it in items:
            nxt = (out + ", " + it) if out else it
            if len(nxt) > GAPS_TEXT:
                return out + (", ..." if out else "...")
            out = nxt
        return out


def schema_mem(parsed):
    """What a parsed schema counts against the 2 MiB per gateway and 512
    MiB in all (docs/receiver.md, Schemas)."""
    return 112 + 80 * len(parsed) + 48 * sum(len(p) for _, p in parsed)


class VolKeys:
    """A gateway's volatile keys: a ring of first 256 slots, doubled up to
    65,536 while the budget of all gateways (4,194,304 slots) allows; full,
    the oldest key is forgotten (counted)."""

    def __init__(self, budget):
        self.budget = budget
        self.keys = collections.OrderedDict()
        self.cap = VOL_FIRST
        self.forgotten = 0

    def add(self, key):
        if len(self.keys) == self.cap and not self._grow():
            self.keys.popitem(last=False)
            self.forgotten += 1
        self.keys[key] = True

    def _grow(self):
        cap = min(2 * self.cap, VOL_KEYS_GW)
        if cap <= self.cap or self.budget[0] + cap - self.cap > VOL_KEYS_ALL:
            return False
        self.budget[0] += cap - self.cap
        self.cap = cap
        return True


class Gateway:
    def __init__(self, gw):
        self.gw = gw
        self.schemas = collections.OrderedDict()   # id -> parsed, LRU first
        self.schema_mem = 0
        self.seqs = Seen()
        self.batches = self.readings = self.duplicates = 0
        self.stale = self.overlaps = 0
        self.vol = None
        self.vol_readings = self.vol_dropped = 0
        self.pending = []             # [(serial, msg, header)]
        self.pending_bytes = 0
        self.unmatched = 0

    def listed(self):
        """A gateway known only by its schemas, or whose batches were all
        bad, has no summary line."""
        return bool(self.seqs.seen or self.duplicates or self.stale or
                    self.pending or self.unmatched or self.vol is not None)


class Receiver:
    def __init__(self, prefix="wg"):
        self.prefix = prefix
        self.gws = {}
        self.out = bytearray()
        self.bad_batches = self.bad_schemas = self.dropped = 0
        self.unmatched = self.refused_schemas = self.vol_refused = 0
        self.serial = 0
        self.pending_n = self.pending_bytes = 0
        self.vol_budget = [0]         # volatile key slots of all gateways
        self.schema_mem = 0

    def gateway(self, gw):
        g = self.gws.get(gw)
        if g is None:
            if len(self.gws) >= MAX_GATEWAYS:
                return None
            g = self.gws[gw] = Gateway(gw)
        return g

    # -- transport: <prefix>/<gw>/b and <prefix>/<gw>/s/<id>
    def message(self, topic, payload):
        if not topic.startswith(self.prefix + "/"):
            return
        gw, _, rest = topic[len(self.prefix) + 1:].partition("/")
        if rest != "b" and not rest.startswith("s/"):
            return
        if not GW_RE_S.match(gw):
            return                    # said, not counted
        if rest == "b":
            self.batch(gw, bytes(payload))
        else:
            self.schema(gw, rest[2:], bytes(payload))

    def schema(self, gw, sid, payload):
        if not HEX8.match(sid):
            self.bad_schemas += 1
            return
        if not payload:
            return                    # a retained schema being cleared
        try:
            parsed = parse_schema(payload)
            if int(sid, 16) != zlib.crc32(payload):
                raise SchemaBad("id")
            if parsed[0] != gw:
                raise SchemaBad("gateway")
        except SchemaBad:
            self.bad_schemas += 1
            return
        parsed = parsed[1]
        g = self.gateway(gw)
        if g is None:
            return
        i = int(sid, 16)
        if i not in g.schemas:
            mem = schema_mem(parsed)
            if mem > SCHEMA_MEM_GW:
                self.refused_schemas += 1
                return
            while g.schemas and (len(g.schemas) >= SCHEMAS_GW or
                                 g.schema_mem + mem > SCHEMA_MEM_GW):
                _, old = g.schemas.popitem(last=False)
                g.schema_mem -= schema_mem(old)
                self.schema_mem -= schema_mem(old)
            if self.schema_mem + mem > SCHEMA_MEM_ALL:
                self.refused_schemas += 1
                return
            g.schemas[i] = parsed
            g.schema_mem += mem
            self.schema_mem += mem
        # The batches held for it, in arrival order.
        keep = []
        for item in g.pending:
            _, msg, h = item
            if zlib.crc32(h.m, i) != h.check:
                keep.append(item)
                continue
            g.pending_bytes -= len(msg)
            self.pending_n -= 1
            self.pending_bytes -= len(msg)
            g.schemas.move_to_end(i)
            self.matched(g, h, i)
        g.pending = keep

    def match(self, g, h):
        for sid in reversed(g.schemas):
            if zlib.crc32(h.m, sid) == h.check:
                g.schemas.move_to_end(sid)
                return sid
        return None

    def batch(self, gw, msg):
        try:
            h = parse_header(msg)
        except Bad:
            self.bad_batches += 1
            return
        if h.gw is not None and h.gw != gw:
            self.bad_batches += 1
            return
        g = self.gateway(gw)
        if g is None:
            self.dropped += 1
            return
        sid = self.match(g, h)
        if sid is None:
            self.hold(g, msg, h)
            return
        self.matched(g, h, sid)

    # -- pending
    def hold(self, g, msg, h):
        if any(m == msg for _, m, _ in g.pending):
            g.duplicates += 1
            return
        if len(msg) > PENDING_GW_BYTES:
            self.dropped += 1
            return
        while True:
            g_full = len(g.pending) >= PENDING_GW_N or \
                g.pending_bytes + len(msg) > PENDING_GW_BYTES
            if not g_full and self.pending_n < PENDING_ALL_N and \
                    self.pending_bytes + len(msg) <= PENDING_ALL_BYTES:
                break
            if g_full and g.pending:
                self.push_out(g)
            else:
                self.push_out(min((x for x in self.gws.values() if x.pending),
                                  key=lambda x: x.pending[0][0]))
        self.serial += 1
        g.pending.append((self.serial, msg, h))
        g.pending_bytes += len(msg)
        self.pending_n += 1
        self.pending_bytes += len(msg)

    def push_out(self, g):
        _, msg, _ = g.pending.pop(0)
        g.pending_bytes -= len(msg)
        self.pending_n -= 1
        self.pending_bytes -= len(msg)
        g.unmatched += 1
        self.unmatched += 1

    # -- steps 5..9
    def matched(self, g, h, sid):
        volatile = bool(h.flags & F_VOLATILE)
        if not volatile:
            rc = g.seqs.check(h.seq, h.last)
            if rc == Seen.STALE:
                g.stale += 1
                return
            if rc == Seen.DUP:
                g.duplicates += 1
                return
        try:
            readings = decode_body(body_bytes(h))
        except Bad:
            self.bad_batches += 1
            return
        schema = g.schemas[sid]
        for dev, _, point, _, _ in readings:
            if dev >= len(schema) or point >= len(schema[dev][1]):
                self.bad_batches += 1
                return
        if volatile and g.vol is None:
            if self.vol_budget[0] + VOL_FIRST > VOL_KEYS_ALL:
                self.vol_refused += len(readings)
            else:
                self.vol_budget[0] += VOL_FIRST
                g.vol = VolKeys(self.vol_budget)
        lines = []
        tail = b',"seq":%d' % h.seq
        if h.span is not None:
            tail += b',"seq_last":%d' % h.last
        if h.flags & F_HISTORICAL:
            tail += b',"historical":true'
        tail += b"}\n"
        head = b'{"gateway":' + json_string(g.gw)
        for dev, ts, point, m, e in readings:
            if g.vol is not None:
                key = (dev, point, ts)
                if key in g.vol.keys:
                    g.vol_dropped += 1
                    continue
                if volatile:
                    g.vol.add(key)
                    g.vol_readings += 1
            dname, pts = schema[dev]
            pname, unit = pts[point]
            value = b"null" + b',"quality":"invalid"' if m is None else \
                fmt_number(m, e).encode()
            lines.append(head + b',"device":' + dname + b',"quantity":' + pname +
                         b',"unit":' + unit + b',"ts":%d,"time":' % ts +
                         fmt_time(ts).encode() + b',"value":' + value + tail)
        self.out += b"".join(lines)
        if not volatile:
            rc = g.seqs.mark(h.seq, h.last)
            if rc == Seen.OVERLAP:
                g.overlaps += 1
        g.batches += 1
        g.readings += len(lines)

    # -- exit
    def summary(self):
        P = "wattgate-recv: "
        lines = []
        for k in sorted(self.gws):
            g = self.gws[k]
            if not g.listed():
                continue
            d = g.seqs
            s = P + g.gw + ": batches %d" % g.batches
            if d.seen:
                s += " (seq %d..%d)" % (d.lowest(), d.highest())
            s += ", readings %d, duplicates %d, gaps %d" % (
                g.readings, g.duplicates, d.missing())
            if g.stale:
                s += ", stale %d" % g.stale
            if g.overlaps:
                s += ", overlaps %d" % g.overlaps
            lines.append(s)
            if g.vol is not None:
                lines.append(P + "%s: volatile readings %d, dropped as sent before "
                             "%d, keys forgotten %d" % (g.gw, g.vol_readings,
                                                        g.vol_dropped, g.vol.forgotten))
            if d.missing():
                lines.append(P + "%s: gaps: %s" % (g.gw, d.gap_list()))
            if g.pending:
                lines.append(P + "%s: %d batches still pending (no known schema "
                             "matched)" % (g.gw, len(g.pending)))
            if g.unmatched:
                lines.append(P + "%s: unmatched %d (no schema matched in time), "
                             "kept in the spool 0, lost %d" % (g.gw, g.unmatched,
                                                               g.unmatched))
        tot = (self.bad_batches, self.bad_schemas, self.dropped, self.unmatched,
               self.refused_schemas, self.vol_refused)
        if any(tot):
            lines.append(P + "bad batches %d, bad schemas %d, dropped %d, unmatched "
                         "%d, refused schemas %d, volatile keys refused %d" % tot)
        return lines


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: docrecv.py RECORDING")
    r = Receiver()
    with open(argv[1]) as f:
        for line in f:
            if line.strip():
                m = json.loads(line)
                r.message(m["topic"], bytes.fromhex(m["payload"]))
    sys.stdout.buffer.write(r.out)
    for s in r.summary():
        sys.stderr.write(s + "\n")


if __name__ == "__main__":
    main(sys.argv)
