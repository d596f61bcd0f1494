"""Every shipped profile round-trips: wattgate-sim serves each profile (one unit
per profile on one Modbus TCP bus, plus the RS-485 charger on an RTU pty), the
gateway decodes, wattgate-recv prints; the values printed are exactly the ones
the simulator logged as served, point by point and cycle by cycle. With
--invalid-every 3 the simulator serves every third answer as "not available"
(the profile's marker, or NaN): those must arrive as quality "invalid" with no
value, never as a number.

usage: test_profiles.py BUILD_DIR
"""
import collections
import json
import os
import time

from harness import run, Env, Fail, check, read_jsonl

CYCLES = 4


def served(log_path):
    out = collections.defaultdict(list)
    for r in read_jsonl(log_path):
        out[(r["unit"], r["point"])].append(r["value"])
    return out


def main(build):
    with Env(build) as env:
        pdir = os.path.join(env.src, "drivers", "profiles")
        names = sorted(f[:-5] for f in os.listdir(pdir) if f.endswith(".json"))
        profiles = {n: json.load(open(os.path.join(pdir, n + ".json"))) for n in names}
        rtu_name = "heidelberg_ec"
        tcp_names = [n for n in names if n != rtu_name]
        units = {n: i + 1 for i, n in enumerate(tcp_names)}

        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim_tcp, tcp_port = env.sim("sim-tcp", ["%d:%s" % (units[n], n) for n in tcp_names],
                                    "tcp", extra=["--invalid-every", "3"])
        link = os.path.join(env.dir, "ttyWG0")
        sim_rtu, _ = env.sim("sim-rtu", ["2:" + rtu_name], link,
                             extra=["--invalid-every", "3"])
        devices = [{"name": "d_" + n.replace("-", "_"), "bus": "lan", "unit": units[n],
                    "profile": n} for n in tcp_names]
        devices.append({"name": "d_" + rtu_name, "bus": "rs485", "unit": 2,
                        "profile": rtu_name})
        gw = env.gateway(env.site(port, buses=[
            {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": tcp_port,
             "timeout_ms": 500},
            {"name": "rs485", "type": "rtu", "device": link, "baud": 19200,
             "timeout_ms": 300}], devices=devices))

        deadline = time.time() + 60
        while True:
            rows = read_jsonl(recv.out_path)
            cyc = collections.defaultdict(set)
            for r in rows:
                cyc[r["device"]].add(r["ts"])
            if all(len(cyc.get(d["name"], ())) >= CYCLES for d in devices):
                break
            if gw.p.poll() is not None or time.time() > deadline:
                raise Fail("too few cycles: %s\n%s" % (
                    {d["name"]: len(cyc.get(d["name"], ())) for d in devices},
                    gw.tail()))
            time.sleep(0.5)
        sim_tcp.stop()
        sim_rtu.stop()
        logs = {n: (served(os.path.join(env.dir, "sim-tcp.log")), units[n])
                for n in tcp_names}
        logs[rtu_name] = (served(os.path.join(env.dir, "sim-rtu.log")), 2)

        def received():
            out = collections.defaultdict(list)
            for r in read_jsonl(recv.out_path):
                out[(r["device"], r["quantity"])].append(r)
            return out

        def missing():
            got, n = received(), 0
            for name, (log, unit) in logs.items():
                for p in profiles[name]["points"]:
                    n += max(0, len(log.get((unit, p["name"]), [])) -
                             len(got.get(("d_" + name.replace("-", "_"), p["name"]), [])))
            return n

        deadline = time.time() + 20
        while missing() > 0 and time.time() < deadline:
            time.sleep(0.3)
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        got = received()
        total = invalid = 0
        for name, (log, unit) in logs.items():
            dev = "d_" + name.replace("-", "_")
            for p in profiles[name]["points"]:
                want = log.get((unit, p["name"]), [])
                rs = sorted(got.get((dev, p["name"]), []), key=lambda r: r["ts"])
                have = [r["value"] for r in rs]
                check(len(want) >= CYCLES, "%s.%s: served only %d values", name,
                      p["name"], len(want))
                check(have == want, "%s.%s: received differs from served\n"
                      " served:   %s\n received: %s", name, p["name"], want, have)
                for r in rs:
                    if r["value"] is None:
                        check(r.get("quality") == "invalid", "%s.%s: null without "
                              "quality invalid: %s", name, p["name"], r)
                        invalid += 1
                    else:
                        check(r.get("quality") is None, "%s", r)
                    check(r["unit"] == p.get("unit", ""), "%s.%s: unit %r", name,
                          p["name"], r["unit"])
                total += len(have)
        # Markers (ABB, Alfen) and NaN (float profiles) must have been served.
        check(invalid > 0, "no invalid reading came through")
        for n in ("abb_b23", "alfen_ng9xx", "sdm630"):
            dev = "d_" + n
            check(any(r["value"] is None for (d, _), rs in got.items() if d == dev
                      for r in rs), "%s: no invalid reading", n)
        print("profiles: %d readings (%d invalid) from %d profiles arrived exactly as "
              "served" % (total, invalid, len(names)))


if __name__ == "__main__":
    run(main)
