"""A bus of five devices on one simulated RS-485 line (a pty), with faults
switched at run time in the simulator (--fault-file + SIGUSR1), end to end
through a real mosquitto to wattgate-recv.

1. Unit 3 is dead (silent). It costs its bus at most one timeout per cycle:
   the simulator's log shows at most one request to it per cycle (never one
   per planned request), and it is backed off (cycles without any request).
   The other four deliver every cycle, and no cycle overruns. So the dead
   device delays the others by at most its own timeout_ms per cycle, counted
   in requests, not measured on this machine's clock.
2. Unit 3 comes back: it is read again within 3 cycles (backoff_max 2).
3. Unit 2 answers with bad CRCs, unit 4 with exception 4, unit 5 with a bad
   CRC on every 2nd request. No reading of units 2 and 4 is stored for the
   cycles of the fault; unit 5's retry gets every cycle through. Every value
   the receiver prints for any device is one the simulator logged as served.
4. The health metrics (retained MQTT message) count it all: timeouts and
   backoff for unit 3 (as many timeouts as the simulator saw requests),
   CRC errors for unit 2, exceptions for 4, CRC errors and retries for 5,
   no failure for unit 1.

Scenario "late" (test_busfaults.py BUILD_DIR late): unit 1 answers every
2nd request 400 ms late, after its 300 ms timeout. The late answer must never
be taken for the answer to a later request: every value printed must have
been served by the simulator during its own cycle.

usage: test_busfaults.py BUILD_DIR [late]
"""
import collections
import json
import os
import time
from decimal import Decimal

from harness import (run, wait, Env, check, read_jsonl, served_values,
                     check_served_in_cycle, device_metrics, sim_faults)

INTERVAL_MS = 1000
UNITS = {1: "sdm630", 2: "sdm120", 3: "sdm630", 4: "sdm72d", 5: "sdm630"}
NAMES = {u: "m%d" % u for u in UNITS}
UNIT_OF = {n: u for u, n in NAMES.items()}


class Faults:
    def __init__(self, sim, path):
        self.sim, self.path, self.n = sim, path, 1

    def set(self, text):
        """Switch the simulator's faults; returns the wall time (ms) it was done."""
        self.n += 1
        sim_faults(self.sim, self.path, text, self.n)
        return int(time.time() * 1000)


def cycles(recv_out):
    """{cycle ts: {unit: [readings]}} from the receiver's output."""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in read_jsonl(recv_out):
        out[r["ts"]][UNIT_OF[r["device"]]].append(r)
    return out


def wait_cycles(recv, after_ms, n, what):
    """Wait until n cycles stamped after after_ms were printed; return them."""
    def got():
        return sorted(t for t in cycles(recv.out_path) if t > after_ms)
    wait(lambda: len(got()) >= n, 30 + 2 * n, what)
    return got()[:n]


def late(build):
    with Env(build) as env:
        _, mqtt_port = env.mosquitto()
        tty = os.path.join(env.dir, "tty")
        sim, _ = env.sim("sim", ["1:sdm120", "2:sdm120"], tty,
                         extra=["--fault", "1:late:400/2"])
        recv = env.recv(mqtt_port)
        site = env.site(mqtt_port, interval=INTERVAL_MS // 1000, devices=[
            {"name": NAMES[u], "bus": "rs485", "unit": u, "profile": "sdm120",
             "backoff_max": 0} for u in (1, 2)],
            buses=[{"name": "rs485", "type": "rtu", "device": tty,
                    "timeout_ms": 300}])
        gw = env.gateway(site)
        t0 = int(time.time() * 1000)
        wait_cycles(recv, t0, 12, "12 cycles with a late unit 1")
        check(gw.stop() == 0, "gateway did not exit 0: %s", gw.tail())
        recv.stop()
        check(sim.stop() == 0, "simulator did not exit 0")
        log = read_jsonl(os.path.join(env.dir, "sim.log"))
        served = served_values(os.path.join(env.dir, "sim.log"))
        n = check_served_in_cycle(cycles(recv.out_path), served, INTERVAL_MS,
                                  ": a late answer taken for a new one")
        late_n = sum(1 for r in log if r.get("fault") == "late")
        check(late_n >= 3, "only %d late answers", late_n)
        print("busfaults late: %d values, each served in its own cycle; %d late "
              "answers" % (n, late_n))


def main(build, scenario=None):
    if scenario == "late":
        return late(build)
    with Env(build) as env:
        _, mqtt_port = env.mosquitto()
        tty = os.path.join(env.dir, "tty")
        ffile = os.path.join(env.dir, "faults")
        with open(ffile, "w") as f:
            f.write("3:silent\n")
        sim, _ = env.sim("sim", ["%d:%s" % u for u in UNITS.items()], tty,
                         extra=["--fault-file", ffile])
        faults = Faults(sim, ffile)
        recv = env.recv(mqtt_port)
        devices = [{"name": NAMES[u], "bus": "rs485", "unit": u, "profile": p}
                   for u, p in UNITS.items()]
        devices[2].update({"timeout_ms": 200, "retries": 1, "backoff_max": 2})
        site = env.site(mqtt_port, interval=INTERVAL_MS // 1000, devices=devices,
                        buses=[{"name": "rs485", "type": "rtu", "device": tty,
                                "baud": 9600, "timeout_ms": 300}])
        gw = env.gateway(site)
        t0 = int(time.time() * 1000)

        # 1. Unit 3 dead.
        dead = wait_cycles(recv, t0, 8, "8 cycles with unit 3 dead")
        t_on = faults.set("")
        up = wait_cycles(recv, t_on, 4, "4 cycles after unit 3 came back")
        # 3. CRC errors, exceptions, and a CRC error every other request.
        t_bad = faults.set("2:crc\n4:exception:4\n5:crc/2\n")
        bad = wait_cycles(recv, t_bad, 5, "5 cycles with CRC errors, exceptions")
        t_ok = faults.set("")
        wait_cycles(recv, t_ok, 3, "3 cycles after the faults")
        time.sleep(0.5)
        check(gw.stop() == 0, "gateway did not exit 0: %s", gw.tail())
        m = device_metrics(mqtt_port)
        recv.stop()
        check(sim.stop() == 0, "simulator did not exit 0: %s", sim.tail())

        got = cycles(recv.out_path)
        log = read_jsonl(os.path.join(env.dir, "sim.log"))
        err = gw.stderr()
        check("still busy with the previous cycle" not in err,
              "a cycle overran:\n%s", err[-800:])
        # The log names what the device answered (it said "Modbus exception").
        check("device m4 (unit 4): Modbus exception 4 (" in err,
              "no exception code in the log:\n%s", err[-1500:])
        check("device m2 (unit 2): garbled answers (CRC error)" in err,
              "no CRC error in the log:\n%s", err[-1500:])

        # 1. The others deliver every cycle while unit 3 is dead; unit 3
        # gets at most one request per cycle and some cycles none (backoff).
        for ts in dead:
            for u in (1, 2, 4, 5):
                check(got[ts][u], "cycle %d: unit %d missing while unit 3 is dead",
                      ts, u)
            check(not got[ts][3], "cycle %d: a reading of dead unit 3", ts)
        silent = [r["t_ms"] for r in log if r.get("unit") == 3 and
                  r.get("fault") == "silent"]
        per_cycle = collections.Counter()
        for t in silent:
            owner = max((c for c in dead if c <= t), default=None)
            if owner is not None and owner < dead[-1]:
                per_cycle[owner] += 1
        check(max(per_cycle.values(), default=0) <= 1,
              "more than one request to dead unit 3 in a cycle: %s", per_cycle)
        check(len(per_cycle) < len(dead) - 1,
              "unit 3 was tried in every cycle (%d of %d): no backoff",
              len(per_cycle), len(dead) - 1)

        # 2. Recovery within 3 cycles.
        check(any(got[ts][3] for ts in up[:3]),
              "unit 3 not read within 3 cycles of coming back: %s",
              [(ts, len(got[ts][3])) for ts in up])

        # 3. No value from a CRC error or an exception; the retry covers 5.
        inner = [ts for ts in bad if ts >= t_bad + INTERVAL_MS and ts < t_ok]
        check(len(inner) >= 3, "only %d cycles fully inside the fault", len(inner))
        for ts in inner:
            check(not got[ts][2], "cycle %d: unit 2 stored a value despite bad "
                  "CRCs: %s", ts, got[ts][2][:1])
            check(not got[ts][4], "cycle %d: unit 4 stored a value from an "
                  "exception: %s", ts, got[ts][4][:1])
            for u in (1, 3, 5):
                check(got[ts][u], "cycle %d: unit %d missing", ts, u)
        served = served_values(os.path.join(env.dir, "sim.log"))
        n = 0
        for ts, by_unit in got.items():
            for u, rs in by_unit.items():
                for r in rs:
                    if r.get("value") is None:
                        continue
                    n += 1
                    check((u, r["quantity"], Decimal(str(r["value"]))) in served,
                          "unit %d %s = %s was never served", u, r["quantity"],
                          r["value"])

        # 4. Health metrics.
        check(m["m3"]["timeouts"] == len(silent),
              "m3: %s timeouts, the simulator saw %d requests", m["m3"], len(silent))
        check(m["m3"]["skipped"] > 0, "m3 never backed off: %s", m["m3"])
        check(m["m2"]["crc_errors"] > 0, "m2: no CRC errors counted: %s", m["m2"])
        check(m["m4"]["exceptions"] > 0, "m4: no exceptions counted: %s", m["m4"])
        check(m["m5"]["crc_errors"] > 0 and m["m5"]["retries"] > 0,
              "m5: %s", m["m5"])
        for k in ("timeouts", "crc_errors", "io_errors", "exceptions", "skipped"):
            check(m["m1"][k] == 0, "m1 (never faulty) has %s: %s", k, m["m1"])
        print("busfaults: %d cycles, %d values checked against the simulator; "
              "dead unit 3 tried in %d of %d cycles (at most once each), back "
              "within 3 cycles; metrics %s" % (len(got), n, len(per_cycle),
                                                len(dead) - 1, json.dumps(m["m3"])))


run(main)
