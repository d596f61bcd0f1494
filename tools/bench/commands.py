#!/usr/bin/env python3
"""Benchmark: the control plane's latency and wire bytes (docs/commands.md).

usage: commands.py BUILD_DIR [N]      (tools/bench/run commands calls it)

One world on loopback: mosquitto, wattgate-recv, the simulator with a KEBA
P30 charging (state:C, car:32) and an SDM630, the daemon with a "control"
section (1 s cycles).

command_latency_p99_ms (and _p50): N (100) "state" commands, each sent by
`wattgate-fleet send` and timed from the tool's start to its exit on the
final result, so the tool's own start and MQTT connect are in it (a fleet
service keeps its connection: it would see less).
setpoint_latency_p50_ms: charger.set_current to "applied", which waits for
the charger to follow (whole poll cycles).
command_bytes: one charger.set_current and its results on the wire, MQTT
packets as the broker carries them (fixed header, topic, packet id, the
MQTT 5 property length on the gateway's side; PUBACKs): the command frame
in (fleet -> broker -> gateway) and the result records out (gateway ->
broker -> platform), each hop counted once: command_frame_bytes,
command_result_bytes (the three records: received, verifying, applied).
command_latency_coap_p99_ms (and _p50): the same "state" over CoAP (the
gateway on "uplink": "coap", wattgate-recv holding the commands, the tool
with --coap), N/5 commands at poll_s COAP_POLL_S, each sent at a random point of the
period: a command waits for the gateway's next ask, so the figure is about
poll_s (docs/commands.md).
"""
import os
import random
import statistics
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail   # noqa: E402
from cmdworld import World           # noqa: E402
from test_commands_coap import World as CoapWorld   # noqa: E402

COAP_POLL_S = 5


def varlen(n):
    return 1 if n < 128 else 2 if n < 16384 else 3


def publish_bytes(topic, payload, v5):
    """A QoS 1 PUBLISH and its PUBACK on one hop."""
    rem = 2 + len(topic) + 2 + (1 if v5 else 0) + payload
    return 1 + varlen(rem) + rem + 4


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with Env(build) as env:
        w = World(env, chargers=True, sim_extra=["--fault", "2:state:C",
                                                 "--fault", "2:car:32"])
        w.start()
        lat = []
        for i in range(n):
            t0 = time.monotonic()
            rc, recs, err = w.send("state", wait_s=30)
            lat.append((time.monotonic() - t0) * 1000)
            if rc != 0 or recs[-1]["state"] != "applied":
                raise Fail("state %d: %s %s" % (i, recs, err))
        lat.sort()
        sp = []
        for amps in (8, 16, 10, 12, 14):
            t0 = time.monotonic()
            rc, recs, err = w.send("charger.set_current",
                                   args={"device": "wallbox", "amps": amps},
                                   wait_s=60)
            sp.append((time.monotonic() - t0) * 1000)
            if recs[-1]["state"] != "applied":
                raise Fail("set %s: %s" % (amps, recs))
        frame = w.sign("charger.set_current", args={"device": "wallbox",
                                                    "amps": 11})
        rc, recs, _ = w.send(frame=frame, wait_s=60)
        size = os.path.getsize(frame)
        topic_c = "wg/gw-test/c"
        topic_r = "wg/gw-test/r"
        # in: fleet -> broker (3.1.1 tool), broker -> gateway (MQTT 5)
        frame_bytes = publish_bytes(topic_c, size, False) + \
            publish_bytes(topic_c, size, True)
        res_bytes = 0
        for raw in w.last_raw:        # the payloads as they came
            body = len(raw.encode())
            res_bytes += publish_bytes(topic_r, body, True) + \
                publish_bytes(topic_r, body, False)
    with Env(build) as env:
        cw = CoapWorld(env, poll_s=COAP_POLL_S)
        cw.start()
        clat = []
        rnd = random.Random(15)
        for i in range(max(5, n // 5)):
            # at a random point of the poll period, as commands come
            time.sleep(rnd.uniform(0, COAP_POLL_S))
            t0 = time.monotonic()
            rc, recs = cw.send("state", wait_s=60)[:2]
            clat.append((time.monotonic() - t0) * 1000)
            if rc != 0 or recs[-1]["state"] != "applied":
                raise Fail("coap state %d: %s" % (i, recs))
        clat.sort()
    print("command_latency_p50_ms=%.0f" % statistics.median(lat))
    print("command_latency_p99_ms=%.0f" % lat[min(len(lat) - 1,
                                                  int(round(0.99 * (len(lat) - 1))))])
    print("command_latency_runs=%d" % len(lat))
    print("setpoint_latency_p50_ms=%.0f" % statistics.median(sp))
    print("command_frame_size=%d" % size)
    print("command_frame_bytes=%d" % frame_bytes)
    print("command_result_bytes=%d" % res_bytes)
    print("command_bytes=%d" % (frame_bytes + res_bytes))
    print("command_latency_coap_p50_ms=%.0f" % statistics.median(clat))
    print("command_latency_coap_p99_ms=%.0f" % clat[min(len(clat) - 1, int(round(
        0.99 * (len(clat) - 1))))])
    print("command_latency_coap_poll_s=%d" % COAP_POLL_S)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
