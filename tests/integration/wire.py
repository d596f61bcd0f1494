"""What a hostile or broken gateway puts on the wire, built from the docs
alone (docs/batch-format.md, docs/mqtt.md): batches of format version 2 and
schema documents, and a minimal MQTT 3.1.1 publisher (CONNECT, PUBLISH QoS 1,
PUBACK) that sends any bytes on any topic, which mosquitto_pub can't do for
hundreds of binary payloads quickly; and a subscriber that records every
message in arrival order, bytes as they came."""
import json
import socket
import struct
import threading
import zlib

F_SPAN, F_GW_TRANSPORT = 0x04, 0x10

# The worked example's body (docs/batch-format.md, 8.): devices 0 and 2, nine
# readings (one of them INVALID).
DOC_BODY = bytes.fromhex(
    "80c49fd50c000300e0d4030002000101000130802404010e010103050203fa01"
    "0201e0d40301000003008eda9601")


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def batch(seq, schema_id, body=b"\x00", span=None, flags=0):
    """A batch for the gateway the transport names; body: the layout, not
    deflated (b"\\x00": no readings). The check: CRC-32 of the schema document
    then the message without the check, i.e. zlib.crc32(rest, schema_id)."""
    flags |= F_GW_TRANSPORT | (F_SPAN if span is not None else 0)
    head = bytes([2, flags]) + varint(seq) + (varint(span) if span is not None else b"")
    tail = varint(len(body)) + body
    check = zlib.crc32(head + tail, schema_id)
    return head + struct.pack("<I", check) + tail


def schema(gw, devices):
    """devices: [(name, profile, [(point, unit), ...]), ...]. Returns
    (payload bytes, schema id)."""
    doc = {"gateway": gw, "version": 1, "devices": [
        {"name": n, "profile": p, "points": [{"name": q, "unit": u} for q, u in pts]}
        for n, p, pts in devices]}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return text, zlib.crc32(text)


# A schema the worked example's body fits: device 0 with points 0..3, device 2
# with point 0.
DOC_DEVICES = [("meter", "sdm630", [("v1", "V"), ("v2", "V"), ("v3", "V"), ("pf", "")]),
               ("idle", "sdm630", [("x", "V")]),
               ("other", "sdm630", [("e", "kWh")])]


class Publisher:
    """One MQTT 3.1.1 connection; publish() waits for the broker's PUBACK."""

    def __init__(self, port, client_id="wire-test", keepalive=60):
        self.s = socket.create_connection(("127.0.0.1", port), 5)
        cid = client_id.encode()
        var = b"\x00\x04MQTT\x04\x02" + struct.pack(">H", keepalive) + \
            struct.pack(">H", len(cid)) + cid
        self._send(0x10, var)
        t, _ = self._recv()
        if t != 0x20:
            raise OSError("no CONNACK")
        self.mid = 0

    def _send(self, first, body):
        self.s.sendall(bytes([first]) + self._len(len(body)) + body)

    @staticmethod
    def _len(n):
        out = bytearray()
        while True:
            b = n % 128
            n //= 128
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise OSError("broker closed the connection")
            buf += chunk
        return buf

    def _recv(self):
        first, body = self._recv_raw()
        return first & 0xF0, body

    def _recv_raw(self):
        first = self._exact(1)[0]
        n, mul = 0, 1
        while True:
            b = self._exact(1)[0]
            n += (b & 0x7F) * mul
            mul *= 128
            if not b & 0x80:
                break
        return first, self._exact(n)

    def publish(self, topic, payload, retain=False):
        self.mid = self.mid % 65535 + 1
        t = topic.encode()
        self._send(0x32 | (1 if retain else 0),
                   struct.pack(">H", len(t)) + t + struct.pack(">H", self.mid) + payload)
        while True:
            typ, body = self._recv()
            if typ == 0x40 and struct.unpack(">H", body[:2])[0] == self.mid:
                return

    def close(self):
        try:
            self._send(0xE0, b"")
        finally:
            self.s.close()


class Subscriber(Publisher):
    """One MQTT 3.1.1 connection subscribed to a filter at QoS 1: a thread
    acknowledges and records every PUBLISH as (topic, payload), in the order
    the broker sent them. No keepalive: it may sit idle for a whole test."""

    def __init__(self, port, topic_filter, client_id="wire-sub"):
        super().__init__(port, client_id, keepalive=0)
        f = topic_filter.encode()
        self._send(0x82, struct.pack(">H", 1) + struct.pack(">H", len(f)) + f + b"\x01")
        typ, body = self._recv()
        if typ != 0x90 or body[2:] != b"\x01":
            raise OSError("SUBSCRIBE refused: %r" % body)
        self.s.settimeout(None)
        self.messages = []
        self.lock = threading.Lock()
        self.error = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        try:
            while True:
                typ, body = self._recv_raw()
                if typ & 0xF0 != 0x30:
                    continue
                n = struct.unpack(">H", body[:2])[0]
                topic, rest = body[2:2 + n].decode(), body[2 + n:]
                if typ & 0x06:
                    mid, rest = rest[:2], rest[2:]
                    self._send(0x40, mid)
                with self.lock:
                    self.messages.append((topic, rest))
        except OSError as e:
            self.error = e

    def received(self):
        with self.lock:
            return list(self.messages)
