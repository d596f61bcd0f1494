"""wattgate against a Modbus server that is not ours: Debian's pymodbus serving
the SDM630 register map, over TCP and over RTU through a socat pty pair, and two
chargers (KEBA P30: scaled u32 and an enum, one value per request; Alfen NG9xx:
f32, f64 and a state letter in a bit field) over TCP. Every float must arrive at
wattgate-recv as the decimal whose f32 is exactly the served register content,
every integer-coded value as the exact decimal pymodbus_meter.py packed.

usage: test_independent.py BUILD_DIR
"""
import collections
import json
import os
import struct
import time
from decimal import Decimal

from harness import run, Env, Fail, check, free_port, read_jsonl

CYCLES = 5


def values_for(profile):
    """Meter-like values, several not exactly representable in binary. Floats
    as Python floats; everything else as exact decimal strings built from a raw
    integer, so the expected reading is known without wattgate's code."""
    base = {"V": 230.1, "A": 5.123, "W": 1178.9, "Hz": 49.98, "kWh": 12345.67,
            "VA": 1190.5, "var": -120.25, "": 0.97}
    defaults = profile.get("defaults", {})
    out = {}
    for i, p in enumerate(profile["points"]):
        t = p.get("type", defaults.get("type"))
        if "enum" in p:
            out[p["name"]] = p.get("enum_other", list(p["enum"].values())[0]) \
                if "enum_other" in p else list(p["enum"].values())[2]
        elif t == "f32":
            out[p["name"]] = base.get(p.get("unit", ""), 1.5) + i * 0.01
        else:
            raw = 1000 + 37 * i
            v = Decimal(raw) * Decimal(str(p.get("scale", 1))) + \
                Decimal(str(p.get("offset", 0)))
            out[p["name"]] = str(v)
    return out


def is_f32(profile, name):
    p = next(p for p in profile["points"] if p["name"] == name)
    return p.get("type", profile.get("defaults", {}).get("type")) == "f32"


def f32(x):
    return struct.unpack(">f", struct.pack(">f", float(x)))[0]


def shortest_f32(x):
    """Shortest decimal text that reads back to the same f32, computed here in
    Python, independently of wattgate's C."""
    for digits in range(1, 10):
        s = "%.*e" % (digits - 1, f32(x))
        if f32(float(s)) == f32(x):
            return s
    raise AssertionError(x)


def main(build):
    with Env(build) as env:
        def prepare(name):
            ppath = os.path.join(env.src, "drivers", "profiles", name + ".json")
            profile = json.load(open(ppath))
            values = values_for(profile)
            vpath = os.path.join(env.dir, name + "-values.json")
            json.dump(values, open(vpath, "w"))
            return ppath, profile, values, vpath

        ppath, profile, values, vpath = prepare("sdm630")
        server = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "pymodbus_meter.py")
        chargers = {}
        for name in ("keba_p30", "alfen_ng9xx"):
            cpath, cprof, cvals, cvpath = prepare(name)
            cport = free_port()
            proc = env.start("pymodbus-" + name, ["/usr/bin/python3", server, cpath,
                                                  cvpath, "tcp", str(cport), "2"])
            proc.wait_for(proc.out_path, "ready")
            chargers[name] = (cprof, cvals, cport)

        broker, port = env.mosquitto()
        recv = env.recv(port)
        tcp_port = free_port()
        py_tcp = env.start("pymodbus-tcp", ["/usr/bin/python3", server, ppath, vpath,
                                            "tcp", str(tcp_port), "1"])
        py_tcp.wait_for(py_tcp.out_path, "ready")
        a, b = os.path.join(env.dir, "ttyA"), os.path.join(env.dir, "ttyB")
        socat = env.start("socat", ["socat", "pty,raw,echo=0,link=" + a,
                                    "pty,raw,echo=0,link=" + b])
        deadline = time.time() + 10
        while not (os.path.exists(a) and os.path.exists(b)):
            check(time.time() < deadline and socat.p.poll() is None,
                  "socat made no pty pair: %s", socat.tail())
            time.sleep(0.05)
        py_rtu = env.start("pymodbus-rtu", ["/usr/bin/python3", server, ppath, vpath,
                                            "rtu", a, "5"])
        py_rtu.wait_for(py_rtu.out_path, "ready")
        time.sleep(1)       # the serial server opens its port after printing

        buses = [{"name": "rs485", "type": "rtu", "device": b, "baud": 9600,
                  "timeout_ms": 1000},
                 {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": tcp_port}]
        devices = [{"name": "py_tcp", "bus": "lan", "unit": 1, "profile": "sdm630"},
                   {"name": "py_rtu", "bus": "rs485", "unit": 5, "profile": "sdm630"}]
        want_n = {"py_tcp": len(profile["points"]), "py_rtu": len(profile["points"])}
        for name, (cprof, _, cport) in chargers.items():
            buses.append({"name": "lan_" + name, "type": "tcp", "host": "127.0.0.1",
                          "port": cport})
            devices.append({"name": name, "bus": "lan_" + name, "unit": 2,
                            "profile": name})
            want_n[name] = len(cprof["points"])
        gw = env.gateway(env.site(port, buses=buses, devices=devices))
        deadline = time.time() + 60
        while True:
            per = collections.Counter((r["device"]) for r in read_jsonl(recv.out_path))
            if all(per.get(d, 0) >= CYCLES * n for d, n in want_n.items()):
                break
            if time.time() > deadline or gw.p.poll() is not None:
                raise Fail("readings did not arrive: %s\n%s" % (dict(per), gw.tail()))
            time.sleep(0.5)
        check(gw.stop() == 0, "gateway exit")
        rows = read_jsonl(recv.out_path)
        for r in rows:
            if r["device"] in chargers:
                cprof, cvals, _ = chargers[r["device"]]
                if r["quantity"] in [d["name"] for d in cprof.get("derived", [])]:
                    # Served in state C from the start: the session began
                    # before the gateway looked, so its energy is unknown.
                    check(r.get("quality") == "invalid" and r["value"] is None,
                          "%s %s: a session whose start was not seen gave %s",
                          r["device"], r["quantity"], r)
                    continue
                want = cvals[r["quantity"]]
                check(r.get("quality") is None, "%s", r)
                if is_f32(cprof, r["quantity"]):
                    check(Decimal(r["value"]) == Decimal(shortest_f32(want)),
                          "%s %s: received %s, served f32(%r)", r["device"],
                          r["quantity"], r["value"], want)
                else:
                    check(Decimal(r["value"]) == Decimal(str(want)),
                          "%s %s: received %s, served %s", r["device"],
                          r["quantity"], r["value"], want)
                continue
            want = values[r["quantity"]]
            check(r.get("quality") is None, "%s", r)
            check(f32(r["value"]) == f32(want),
                  "%s %s: received %s, server holds f32(%r)", r["device"],
                  r["quantity"], r["value"], want)
            # And it is the shortest such decimal (230.1, not 230.100006103515625).
            check(Decimal(r["value"]) == Decimal(shortest_f32(want)),
                  "%s %s: %s is not the shortest decimal of f32(%r) (%s)",
                  r["device"], r["quantity"], r["value"], want, shortest_f32(want))
        print("independent: %d readings from pymodbus (SDM630 over TCP and RTU on "
              "socat ptys; KEBA P30 and Alfen NG9xx over TCP) arrived with the "
              "served values" % len(rows))


if __name__ == "__main__":
    run(main)
