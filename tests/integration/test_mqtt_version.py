"""The MQTT version and the batch topic's alias, against a broker written here
(a few dozen lines: CONNECT, CONNACK, PUBLISH QoS 1, PUBACK, PINGREQ), so that
what goes over the wire is seen byte by byte.

  alias  the broker speaks MQTT 5 and takes topic aliases: the first batch
         PUBLISH of the connection carries the topic and alias 1, every later
         one an empty topic and the alias alone (the 8 bytes a batch the
         alias saves, docs/mqtt.md); all are acknowledged and arrive in order.
  v311   the broker speaks only 3.1.1 and refuses a version 5 CONNECT (as
         3.1.1 says: CONNACK 1, unacceptable protocol version): the gateway
         says so once, asks the same address again at once with 3.1.1, and
         its batches go as before, topic in full.

usage: test_mqtt_version.py BUILD_DIR SCENARIO
"""
import socket
import struct
import threading

from harness import run, Env, Fail, check, wait

TOPIC_ALIAS = 0x23
TOPIC_ALIAS_MAXIMUM = 0x22


def varint(b, i):
    """MQTT variable byte integer at b[i]: (value, next index)."""
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


class Broker:
    """One client at a time; records each batch PUBLISH as (topic, alias)."""

    def __init__(self, v5):
        self.v5 = v5
        self.levels = []            # protocol level of each CONNECT
        self.batches = []           # (topic, alias) of each PUBLISH on .../b
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.serve, daemon=True).start()

    def read_packet(self, c, buf):
        while True:
            if len(buf) >= 2:
                try:
                    n, i = varint(buf, 1)
                except IndexError:
                    n = None
                if n is not None and len(buf) >= i + n:
                    return buf[0], bytes(buf[i:i + n]), buf[i + n:]
            d = c.recv(4096)
            if not d:
                return None, None, None
            buf += d

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.client(c)
            except OSError:
                pass
            c.close()

    def client(self, c):
        buf = bytearray()
        kind, body, buf = self.read_packet(c, buf)
        if kind is None or kind >> 4 != 1:
            return
        level = body[6]             # after 00 04 'MQTT'
        self.levels.append(level)
        if level == 5 and not self.v5:
            c.sendall(b"\x20\x02\x00\x01")  # 3.1.1: unacceptable version
            return
        if level == 5:
            props = bytes([TOPIC_ALIAS_MAXIMUM]) + struct.pack(">H", 10)
            var = b"\x00\x00" + enc_varint(len(props)) + props
            c.sendall(b"\x20" + enc_varint(len(var)) + var)
        else:
            c.sendall(b"\x20\x02\x00\x00")
        aliases = {}
        while True:
            kind, body, buf = self.read_packet(c, buf)
            if kind is None:
                return
            t = kind >> 4
            if t == 12:                     # PINGREQ
                c.sendall(b"\xd0\x00")
            elif t == 14:                   # DISCONNECT
                return
            elif t == 3:
                qos = (kind >> 1) & 3
                tl = struct.unpack(">H", body[:2])[0]
                topic = body[2:2 + tl].decode()
                i = 2 + tl
                pid = None
                if qos:
                    pid = body[i:i + 2]
                    i += 2
                alias = None
                if level == 5:
                    n, j = varint(body, i)
                    props, i = body[j:j + n], j + n
                    k = 0
                    while k < len(props):
                        if props[k] == TOPIC_ALIAS:
                            alias = struct.unpack(">H", props[k + 1:k + 3])[0]
                            k += 3
                        else:
                            raise Fail("unexpected property %d" % props[k])
                    if alias is not None and topic:
                        aliases[alias] = topic
                    elif alias is not None:
                        topic = aliases.get(alias, "?alias %d" % alias)
                if topic.endswith("/b"):
                    self.batches.append((body[2:2 + tl].decode(), alias))
                if qos == 1:
                    c.sendall(b"\x40\x02" + pid)

    def stop(self):
        self.stopping = True
        self.sock.close()


def main(build, scenario):
    with Env(build) as env:
        broker = Broker(v5=scenario == "alias")
        sim, site = env.one_meter(broker.port)
        gw = env.gateway(site)
        gw.wait_for(gw.err_path, "mqtt: connected", 30)
        wait(lambda: len(broker.batches) >= 5, 30, "five batches")
        err = gw.stderr()
        if scenario == "alias":
            check(broker.levels == [5], "CONNECTs: %s, want one MQTT 5", broker.levels)
            first, rest = broker.batches[0], broker.batches[1:]
            check(first == ("wg/gw-test/b", 1), "first batch PUBLISH: %s", first)
            check(all(b == ("", 1) for b in rest), "later batches not by alias "
                  "alone: %s", rest)
            what = "MQTT 5: topic once, then alias 1 alone (%d batches)" % \
                len(broker.batches)
        else:
            check(broker.levels[:2] == [5, 4], "CONNECTs: %s, want 5 then 3.1.1",
                  broker.levels)
            check(err.count("does not take MQTT 5") == 1, "the fallback is not "
                  "said once:\n%s", err)
            check("cannot connect" not in err and "backing off" not in err,
                  "the fallback cost a failed round:\n%s", err)
            check(all(b == ("wg/gw-test/b", None) for b in broker.batches),
                  "3.1.1 batches not on the full topic: %s", broker.batches)
            what = "3.1.1 broker: refused version 5, asked again with 3.1.1 at " \
                "once (%d batches)" % len(broker.batches)
        check(gw.stop() == 0, "gateway did not exit cleanly:\n%s", gw.tail())
        broker.stop()
        print("mqtt_version %s: %s" % (scenario, what))


if __name__ == "__main__":
    run(main)
