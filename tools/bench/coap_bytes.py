#!/usr/bin/env python3
"""Benchmark: CoAP wire bytes per reading, live cycles of the demo meter over
coaps:// with a pre-shared key.

usage: coap_bytes.py BUILD_DIR [CYCLES]     (tools/bench/run coap_bytes calls it)

One SDM630 (21 points) on the simulator, polled every 1 s, forwarded by the
daemon over CoAP + DTLS 1.2 (PSK) to wattgate-recv. Between them a counting UDP
relay (tests/integration/coap_util.py) adds up the UDP payload bytes of every
datagram both ways: the CoAP messages with their DTLS record headers, nonces
and MACs, the 2.04 answers (piggybacked ACKs) and the metrics PUTs; IP and UDP
headers are not counted. The counting starts after the handshake and the
first 5 cycles, so the figure is the steady live state, not the connection
set-up (which the handshake line reports separately).

Prints key=value lines:
  coap_bytes_per_reading          both directions, per reading printed
  coap_bytes_per_reading_up       gateway -> receiver only
  coap_handshake_bytes            both ways until the daemon logged the DTLS
                                  session up (the handshake; read right after
                                  the line, so a schema PUT may slip in)
  coap_bench_cycles, coap_bench_readings
"""
import os
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail, read_jsonl, wait          # noqa: E402
from coap_util import (Relay, coap_site, free_udp_port,  # noqa: E402
                       psk_file, recv_coap)


def main(build, cycles=60):
    cycles = int(cycles)
    with Env(build) as env:
        sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
        rport = free_udp_port()
        relay = Relay(rport)
        key = os.urandom(16)
        rpsk = psk_file(os.path.join(env.dir, "recv.psk"), "gw-demo", key)
        gpsk = psk_file(os.path.join(env.dir, "gw.psk"), "gw-demo", key)
        recv = recv_coap(env, rport, secure=True, extra=["--psk-file", rpsk])
        site = coap_site(env, "coaps://127.0.0.1:%d/wg" % relay.port, sim_port,
                         (1,), psk_file=gpsk, ack_timeout_ms=2000)
        site["gateway"] = "gw-demo"
        gw = env.gateway(site)

        gw.wait_for(gw.err_path, "answers (DTLS")
        hs, _ = relay.counts()

        def printed():
            return len(read_jsonl(recv.out_path))
        wait(lambda: printed() >= 5 * 21, 60, "first 5 cycles")
        b0, _ = relay.counts()
        r0 = printed()
        time.sleep(cycles)
        b1, d1 = relay.counts()
        r1 = printed()
        gw.stop()
        recv.stop()
        sim.stop()
        relay.stop()
        n = r1 - r0
        if n <= 0:
            raise Fail("no readings in the sampled window")
        up = b1["up"] - b0["up"]
        down = b1["down"] - b0["down"]
        print("coap_bytes_per_reading=%.2f" % ((up + down) / n))
        print("coap_bytes_per_reading_up=%.2f" % (up / n))
        print("coap_handshake_bytes=%d" % (hs["up"] + hs["down"]))
        print("coap_bench_cycles=%d" % cycles)
        print("coap_bench_readings=%d" % n)


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except Fail as e:
        sys.stderr.write("coap_bytes: %s\n" % e)
        sys.exit(1)
