"""End to end over real components: the simulator on RTU (a pty) and on TCP ->
wattgate at a 1 s interval -> a real mosquitto -> wattgate-recv.

Asserts, over at least 30 cycles, that every value the simulator served arrives
decoded, correct (the same exact decimal), exactly once, with the profile's unit,
stamped with a wall-clock aligned time; and that a device that never answers (unit 7
on the TCP bus, polled first) does not stall the others.

usage: test_e2e.py BUILD_DIR
"""
import collections
import json
import os
import time

from harness import run, Env, Fail, check, read_jsonl

CYCLES = 30


def served(log_path):
    """Simulator log -> {(unit, point): [(t_ms, value), ...]} in serving order."""
    out = collections.defaultdict(list)
    for r in read_jsonl(log_path):
        out[(r["unit"], r["point"])].append((r["t_ms"], r["value"]))
    return out


def received(path):
    out = collections.defaultdict(list)
    for r in read_jsonl(path):
        out[(r["device"], r["quantity"])].append(r)
    return out


def main(build):
    with Env(build) as env:
        profile = json.load(open(os.path.join(env.src, "drivers", "profiles",
                                              "sdm630.json")))
        units = {p["name"]: p["unit"] for p in profile["points"]}

        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim_tcp, tcp_port = env.sim("sim-tcp", ["1:sdm630"], "tcp")
        rtu_link = os.path.join(env.dir, "ttyWG0")
        sim_rtu, _ = env.sim("sim-rtu", ["1:sdm630", "3:sdm630"], rtu_link)

        site = env.site(port, buses=[
            {"name": "rs485", "type": "rtu", "device": rtu_link, "baud": 19200,
             "timeout_ms": 300},
            {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": tcp_port,
             "timeout_ms": 150},
        ], devices=[
            {"name": "dead", "bus": "lan", "unit": 7, "profile": "sdm630"},
            {"name": "meter_tcp", "bus": "lan", "unit": 1, "profile": "sdm630"},
            {"name": "meter_rtu", "bus": "rs485", "unit": 1, "profile": "sdm630"},
            {"name": "sub_rtu", "bus": "rs485", "unit": 3, "profile": "sdm630"},
        ])
        gw = env.gateway(site)

        # Run until every live meter has CYCLES + 2 distinct cycles at the receiver.
        deadline = time.time() + CYCLES * 3 + 30
        while True:
            got = received(recv.out_path)
            counts = {d: len({r["ts"] for (dev, _), rs in got.items() if dev == d
                              for r in rs})
                      for d in ("meter_tcp", "meter_rtu", "sub_rtu")}
            if min(counts.values()) >= CYCLES + 2:
                break
            if gw.p.poll() is not None:
                raise Fail("gateway exited: " + gw.stderr())
            if time.time() > deadline:
                raise Fail("too few cycles arrived: %s" % counts)
            time.sleep(0.5)

        # Stop serving; the gateway then forwards what it already read.
        sim_tcp.stop()
        sim_rtu.stop()
        logs = {"meter_tcp": (served(os.path.join(env.dir, "sim-tcp.log")), 1),
                "meter_rtu": (served(os.path.join(env.dir, "sim-rtu.log")), 1),
                "sub_rtu": (served(os.path.join(env.dir, "sim-rtu.log")), 3)}

        def missing():
            got = received(recv.out_path)
            n = 0
            for dev, (log, unit) in logs.items():
                for p in units:
                    n += max(0, len(log.get((unit, p), [])) - len(got.get((dev, p), [])))
            return n

        deadline = time.time() + 20
        while missing() > 0 and time.time() < deadline:
            time.sleep(0.3)
        time.sleep(1.5)         # anything duplicated late would show up now
        check(gw.stop() == 0, "gateway did not exit cleanly: %s", gw.tail())
        recv.stop()
        broker.stop()

        got = received(recv.out_path)
        check(not any(dev == "dead" for dev, _ in got), "readings from a dead device")
        total = 0
        for dev, (log, unit) in logs.items():
            for point, unit_str in units.items():
                want = [v for _, v in log.get((unit, point), [])]
                rs = got.get((dev, point), [])
                have = [r["value"] for r in sorted(rs, key=lambda r: r["ts"])]
                ts = [r["ts"] for r in rs]
                check(len(want) >= CYCLES, "%s.%s: simulator served only %d values",
                      dev, point, len(want))
                check(len(ts) == len(set(ts)), "%s.%s: duplicate timestamps %s",
                      dev, point, sorted(ts))
                check(have == want,
                      "%s.%s: received values differ from served ones\n"
                      " served:   %s\n received: %s", dev, point, want, have)
                for r in rs:
                    check(r["unit"] == unit_str, "%s.%s: unit %r, profile says %r",
                          dev, point, r["unit"], unit_str)
                    check(r["ts"] % 1000 == 0, "%s.%s: ts %d not aligned to 1 s",
                          dev, point, r["ts"])
                    check(r["gateway"] == "gw-test", "gateway %r", r["gateway"])
                total += len(have)
        err = gw.stderr()
        check("dead" in err, "no log line about the dead device:\n%s", err)
        print("e2e: %d readings from 3 meters, each served value arrived exactly "
              "once; dead device did not stall the others" % total)


if __name__ == "__main__":
    run(main)
