"""RTU over TCP: three devices behind one simulated Ethernet-to-RS-485
converter (wattgate-sim --rtu-tcp), end to end through a real mosquitto to
wattgate-recv.

1. Every device delivers every cycle, and every value printed is one the
   simulator served for that unit and point during that very cycle: the
   frames travel as served, nothing is attributed to the wrong device.
2. The converter goes away mid-run (the simulator is stopped) and comes back
   on the same port: the gateway logs the lost link once for the bus, not as
   device timeouts, reconnects by itself, and all three devices deliver again;
   the attribution check of 1 covers the cycles around the restart too.
   The restarted simulator corrupts the CRC of every answer of unit 3 (a fault
   mode, as on the pty): no value of unit 3 is stored after that, the
   gateway logs CRC errors for it, and units 1 and 2 deliver every cycle.
3. A second rtu-tcp bus points at a port nobody listens on: one clear line
   ("connection refused", naming the bus), the daemon keeps polling the other
   bus and exits 0.

usage: test_rtutcp.py BUILD_DIR
"""
import collections
import os
import time

from harness import (run, wait, Env, check, read_jsonl, free_port, served_values,
                     check_served_in_cycle)

INTERVAL_MS = 1000
UNITS = {1: "sdm630", 2: "sdm120", 3: "sdm72d"}
NAMES = {u: "m%d" % u for u in UNITS}
UNIT_OF = {n: u for u, n in NAMES.items()}
UNIT_OF["dead1"] = 0


def cycles(recv_out):
    """{cycle ts: {unit: [readings]}} from the receiver's output."""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in read_jsonl(recv_out):
        out[r["ts"]][UNIT_OF[r["device"]]].append(r)
    return out


def full_cycles(recv, after_ms, n, what, units=UNITS):
    """Wait for n cycles after after_ms in which all the units delivered."""
    def got():
        c = cycles(recv.out_path)
        return sorted(t for t in c if t > after_ms and
                      all(c[t][u] for u in units))
    wait(lambda: len(got()) >= n, 30 + 2 * n, what)
    return got()[:n]


def main(build):
    with Env(build) as env:
        _, mqtt_port = env.mosquitto()
        sim, port = env.sim("sim", ["%d:%s" % u for u in UNITS.items()],
                            "rtu-tcp")
        nobody = free_port()
        recv = env.recv(mqtt_port)
        devices = [{"name": NAMES[u], "bus": "conv", "unit": u, "profile": p}
                   for u, p in UNITS.items()]
        devices.append({"name": "dead1", "bus": "dead", "unit": 1,
                        "profile": "sdm120"})
        site = env.site(mqtt_port, interval=INTERVAL_MS // 1000, devices=devices,
                        buses=[{"name": "conv", "type": "rtu-tcp",
                                "host": "127.0.0.1", "port": port,
                                "baud": 9600, "timeout_ms": 400},
                               {"name": "dead", "type": "rtu-tcp",
                                "host": "127.0.0.1", "port": nobody,
                                "timeout_ms": 400}])
        gw = env.gateway(site)
        t0 = int(time.time() * 1000)

        # 1. All three deliver through the converter.
        before = full_cycles(recv, t0, 4, "4 full cycles through rtu-tcp")
        # 2. The converter goes away, then comes back on the same port.
        check(sim.stop() == 0, "simulator did not exit 0: %s",
              sim.tail())
        lost = ("bus conv: 127.0.0.1:%d (rtu-tcp): connection lost (closed by "
                "the converter)" % port)
        wait(lambda: lost in gw.stderr(), 20, "the lost link logged")
        time.sleep(1.5)	# a few cycles with the converter away
        t_back = int(time.time() * 1000)
        sim2, _ = env.sim("sim2", ["%d:%s" % u for u in UNITS.items()],
                          "rtu-tcp:%d" % port, extra=["--fault", "3:crc"])
        after = full_cycles(recv, t_back, 4, "4 cycles of units 1, 2 after the "
                            "restart", units=(1, 2))
        check(gw.p.poll() is None, "gateway died: %s", gw.tail())
        check(gw.stop() == 0, "gateway did not exit 0: %s", gw.tail())
        recv.stop()
        check(sim2.stop() == 0, "simulator did not exit 0")

        err = gw.stderr()
        refused = "bus dead: 127.0.0.1:%d (rtu-tcp): connection refused" % nobody
        check(err.count(refused) == 1,
              "want exactly one line '%s':\n%s", refused, err[-1500:])
        check("bus conv: 127.0.0.1:%d (rtu-tcp) is up again" % port in err,
              "no recovery line for bus conv:\n%s", err[-1500:])
        check("no answer (timeout)" not in err,
              "the lost converter was taken for dead devices:\n%s", err[-1500:])
        check("device m3 (unit 3): garbled answers (CRC error)" in err,
              "no CRC error logged for unit 3:\n%s", err[-1500:])

        # Every value printed was served for that unit and point in its cycle.
        served = served_values(os.path.join(env.dir, "sim.log"),
                               os.path.join(env.dir, "sim2.log"))
        got = cycles(recv.out_path)
        check(not any(got[ts][0] for ts in got), "a reading from the dead bus")
        crc = sum(1 for r in read_jsonl(os.path.join(env.dir, "sim2.log"))
                  if r.get("fault") == "crc")
        check(crc >= 4, "only %d CRC-corrupted answers served", crc)
        check(not any(got[ts][3] for ts in got if ts >= t_back),
              "unit 3 stored a value from a corrupted answer")
        n = check_served_in_cycle(got, served, INTERVAL_MS)
        check(n > 0, "no values")
        print("rtutcp: %d values in %d cycles, each served for its unit in its "
              "own cycle; %d full cycles before, %d after the converter came "
              "back; the refused bus logged once" % (n, len(got), len(before),
                                                       len(after)))


run(main)
