#!/usr/bin/env python3
"""Benchmark: wire bytes per reading of live cycles over MQTT with mutual TLS.

usage: tls_bytes.py BUILD_DIR [CYCLES]      (tools/bench/run mqtt_tls calls it)

The demo meter (one SDM630 on the simulator, 21 points) is polled every 1 s by
the daemon, which talks to a real mosquitto through a counting TCP relay (this
file): every byte the relay reads from either socket is counted, i.e. the TCP
payload in both directions (gateway -> broker: TLS records carrying PUBLISH;
broker -> gateway: TLS records carrying PUBACK), without TCP/IP headers. The
window is CYCLES cycles (default 40) after the connection and the first cycles
are done, so the handshake is not in it: it is counted separately.

The same run is then made over plain MQTT through the same relay, as the
reference the TLS overhead is read against.

Prints key=value lines:
  mqtt_tls_bytes_per_reading     TLS, both directions, per reading printed by
                                 the receiver in the window
  mqtt_tls_connect_bytes         TLS handshake + CONNECT/CONNACK + status +
                                 schema: everything before the first batch
  mqtt_plain_bytes_per_reading   the same over plain MQTT
  mqtt_tls_readings_per_cycle    readings a cycle carries (the demo meter: 21)
"""
import os
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail, wait, read_jsonl               # noqa: E402
from tlsworld import Pki, TlsBroker, tls_site                 # noqa: E402
from tcprelay import TcpRelay                                  # noqa: E402


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target, counting bytes both ways."""

    def __init__(self, target):
        self.up = self.down = 0          # gateway -> broker, broker -> gateway
        self.relay = TcpRelay(target, self.count)
        self.port = self.relay.port

    def count(self, upward, buf):
        if upward:
            self.up += len(buf)
        else:
            self.down += len(buf)

    def counts(self):
        with self.relay.lock:
            return self.up + self.down

    def close(self):
        self.relay.close()


def cycles_printed(path):
    return len({r["ts"] for r in read_jsonl(path)})


def measure(env, name, site, recv, relay, cycles):
    """(bytes before the first batch, bytes/reading over `cycles` cycles,
    readings per cycle) for one daemon run through the relay."""
    # Started just after a tick, connected well before the next one: the
    # count half-way through is the connection alone (handshake, CONNECT,
    # CONNACK, status, schema), no batch yet.
    time.sleep((0.05 - time.time()) % 1.0)
    first = cycles_printed(recv.out_path)
    gw = env.gateway(site, name)
    gw.wait_for(gw.err_path, "mqtt: connected", 30)
    time.sleep((0.6 - time.time()) % 1.0)
    connect = relay.counts()
    wait(lambda: cycles_printed(recv.out_path) > first, 30, "a first cycle")
    wait(lambda: cycles_printed(recv.out_path) >= first + 3, 30, "warm-up")
    # Snapshots half-way between ticks: the cycle's batch and PUBACK are done.
    time.sleep((0.5 - time.time()) % 1.0)
    b0, r0 = relay.counts(), len(read_jsonl(recv.out_path))
    time.sleep(cycles)
    b1, r1 = relay.counts(), len(read_jsonl(recv.out_path))
    if gw.stop() != 0:
        raise Fail("%s exited badly: %s" % (name, gw.stderr()))
    if r1 <= r0:
        raise Fail("%s: no reading reached the receiver in the window" % name)
    return connect, (b1 - b0) / (r1 - r0), (r1 - r0) / cycles


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: tls_bytes.py BUILD_DIR [CYCLES]")
    cycles = int(sys.argv[2]) if len(sys.argv) == 3 else 40
    with Env(sys.argv[1]) as env:
        pki = Pki(env.dir)
        ca = pki.ca("ca")
        broker = TlsBroker(env, ca, pki.leaf("server", ca, "localhost",
                                             ["DNS:localhost"])).start()
        client = pki.leaf("gw", ca, "gw-bench", client=True)
        recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"), "-h",
                                  "127.0.0.1", "-p", str(broker.plain_port)])
        recv.wait_for(recv.err_path, "subscribed")
        sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")

        relay = Relay(broker.tls_port)
        site = tls_site(env, broker, sim_port, ca[0], client)
        site["gateway"] = "gw-bench"
        site["mqtt"]["port"] = relay.port
        site["store"] = os.path.join(env.dir, "tls", "store.db")
        sys.stderr.write("tls_bytes: %d cycles over mutual TLS\n" % cycles)
        connect, tls_bpr, per_cycle = measure(env, "gw-tls", site, recv, relay,
                                              cycles)
        relay.close()

        relay = Relay(broker.plain_port)
        plain = dict(site, store=os.path.join(env.dir, "plain", "store.db"),
                     mqtt={"host": "127.0.0.1", "port": relay.port})
        sys.stderr.write("tls_bytes: %d cycles over plain MQTT\n" % cycles)
        _, plain_bpr, _ = measure(env, "gw-plain", plain, recv, relay, cycles)
        relay.close()

        print("mqtt_tls_bytes_per_reading=%.2f" % tls_bpr)
        print("mqtt_tls_connect_bytes=%d" % connect)
        print("mqtt_plain_bytes_per_reading=%.2f" % plain_bpr)
        print("mqtt_tls_readings_per_cycle=%.1f" % per_cycle)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        sys.stderr.write("tls_bytes: %s\n" % e)
        sys.exit(1)
