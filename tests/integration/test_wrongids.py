"""Answers with the wrong ids are not the device's answers (issue 13): one
Modbus TCP simulator and one RTU-over-TCP converter (wattgate-sim
--rtu-tcp), end to end through a real mosquitto to wattgate-recv.

1. TCP unit 1 answers with unit id 7 in its MBAP header, TCP unit 2 with
   protocol id 1 (libmodbus 3.1.6 takes both: it checks only the
   transaction id and, of the protocol id, whether both bytes are non-zero),
   and behind the converter unit 4 answers with address 9 in its RTU frame.
   The answers are right in every other way. None of their values is
   stored; the log names the device, the unit and what was wrong; the
   health metrics count them as io_errors. Units 3 and 5 beside them
   deliver every cycle.
2. The faults are lifted: every device delivers again, and every value
   printed was served for its own unit in its own cycle.

usage: test_wrongids.py BUILD_DIR
"""
import collections
import os
import time

from harness import (run, wait, Env, check, read_jsonl, served_values,
                     check_served_in_cycle, device_metrics, sim_faults)

# A unit answering with another RTU address costs its bus a frame gap (150 ms
# on rtu-tcp) per request, retries included: ~1.8 s for an SDM120's 6 reads.
INTERVAL_MS = 3000
TCP_UNITS = (1, 2, 3)
RTU_UNITS = (4, 5)
NAMES = {u: "m%d" % u for u in TCP_UNITS + RTU_UNITS}
UNIT_OF = {n: u for u, n in NAMES.items()}


def cycles(recv_out):
    """{cycle ts: {unit: [readings]}} from the receiver's output."""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in read_jsonl(recv_out):
        out[r["ts"]][UNIT_OF[r["device"]]].append(r)
    return out


def full_cycles(recv, after_ms, n, units, what):
    """Wait for n cycles after after_ms in which all the units delivered."""
    def got():
        c = cycles(recv.out_path)
        return sorted(t for t in c if t > after_ms and
                      all(c[t][u] for u in units))
    wait(lambda: len(got()) >= n, 30 + 2 * n * INTERVAL_MS // 1000, what)
    return got()[:n]


def main(build):
    with Env(build) as env:
        _, mqtt_port = env.mosquitto()
        ftcp = os.path.join(env.dir, "faults-tcp")
        fconv = os.path.join(env.dir, "faults-conv")
        with open(ftcp, "w") as f:
            f.write("1:unit:7\n2:protocol:1\n")
        with open(fconv, "w") as f:
            f.write("4:unit:9\n")
        tcp, tcp_port = env.sim("sim", ["%d:sdm120" % u for u in TCP_UNITS],
                                "tcp", extra=["--fault-file", ftcp])
        conv, conv_port = env.sim("conv", ["%d:sdm120" % u for u in RTU_UNITS],
                                  "rtu-tcp", extra=["--fault-file", fconv])
        recv = env.recv(mqtt_port)
        devices = [{"name": NAMES[u], "bus": "lan", "unit": u,
                    "profile": "sdm120"} for u in TCP_UNITS]
        devices += [{"name": NAMES[u], "bus": "conv", "unit": u,
                     "profile": "sdm120"} for u in RTU_UNITS]
        site = env.site(mqtt_port, interval=INTERVAL_MS // 1000, devices=devices,
                        buses=[{"name": "lan", "type": "tcp",
                                "host": "127.0.0.1", "port": tcp_port,
                                "timeout_ms": 300},
                               {"name": "conv", "type": "rtu-tcp",
                                "host": "127.0.0.1", "port": conv_port,
                                "baud": 9600, "timeout_ms": 400}])
        gw = env.gateway(site)
        t0 = int(time.time() * 1000)

        # 1. Wrong ids: the others deliver, the three faulty devices do not.
        full_cycles(recv, t0, 4, (3, 5), "4 cycles of units 3 and 5")
        t_ok = int(time.time() * 1000)
        sim_faults(tcp, ftcp, "", 2)
        sim_faults(conv, fconv, "", 2)
        # 2. Right ids again.
        full_cycles(recv, t_ok + INTERVAL_MS, 2, NAMES.keys(),
                    "2 cycles of every unit after the faults")
        time.sleep(0.5)
        check(gw.stop() == 0, "gateway did not exit 0: %s", gw.tail())
        m = device_metrics(mqtt_port)
        recv.stop()
        check(tcp.stop() == 0, "simulator did not exit 0: %s", tcp.tail())
        check(conv.stop() == 0, "converter did not exit 0: %s", conv.tail())

        got = cycles(recv.out_path)
        inner = [ts for ts in got if ts >= t0 and ts + INTERVAL_MS <= t_ok]
        check(len(inner) >= 3, "only %d cycles fully inside the faults",
              len(inner))
        for ts in inner:
            for u in (1, 2, 4):
                check(not got[ts][u], "cycle %d: unit %d stored a value from "
                      "an answer with a wrong id: %s", ts, u, got[ts][u][:1])
        served = served_values(os.path.join(env.dir, "sim.log"),
                               os.path.join(env.dir, "conv.log"))
        n = check_served_in_cycle(got, served, INTERVAL_MS,
                                  ": an answer with a wrong id stored")
        log = read_jsonl(os.path.join(env.dir, "sim.log")) + \
            read_jsonl(os.path.join(env.dir, "conv.log"))
        fired = collections.Counter((r["unit"], r["fault"]) for r in log
                                    if "fault" in r)
        for k in ((1, "unit"), (2, "protocol"), (4, "unit")):
            check(fired[k] >= 3, "unit %d: only %d %s faults served", k[0],
                  fired[k], k[1])

        err = gw.stderr()
        lan = "127.0.0.1:%d: " % tcp_port
        rtu = "127.0.0.1:%d (rtu-tcp): " % conv_port
        for line in (lan + "device m1 (unit 1): an answer from unit 7 (MBAP "
                     "unit id), not from unit 1",
                     lan + "device m2 (unit 2): an answer with MBAP protocol "
                     "id 1, not 0",
                     rtu + "device m4 (unit 4): an answer with another RTU "
                     "address than 4"):
            check(line in err, "no line '%s' in the log:\n%s", line,
                  err[-2000:])
        for u in (1, 2, 4):
            check("device m%d (unit %d) answers again" % (u, u) in err,
                  "unit %d: no recovery line:\n%s", u, err[-2000:])

        for u in (1, 2, 4):
            check(m[NAMES[u]]["io_errors"] > 0, "m%d: no io_errors: %s", u,
                  m[NAMES[u]])
        for u in (3, 5):
            for k in ("timeouts", "crc_errors", "io_errors", "exceptions"):
                check(m[NAMES[u]][k] == 0, "m%d (never faulty) has %s: %s", u,
                      k, m[NAMES[u]])
        print("wrongids: %d values checked against the simulators; %d cycles "
              "inside the faults without a value of units 1, 2, 4; faults "
              "served %s; io_errors %s" % (
                  n, len(inner), dict(fired),
                  {NAMES[u]: m[NAMES[u]]["io_errors"] for u in (1, 2, 4)}))


run(main)
