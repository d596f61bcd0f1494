"""mbpoll (libmodbus's command-line client, not wattgate code) reads raw
registers of shipped profiles from wattgate-sim, over TCP and RTU; the values
are decoded here in Python from the profile's own description (type, word
order, scale, bit field, enum) and must equal what the simulator logged as
served. Covers a CDAB meter (EM24), u64/i32 holding registers (ABB B23), a
state letter in a bit field (Alfen NG9xx) and the RS-485 charger (Heidelberg).

usage: test_mbpoll.py BUILD_DIR
"""
import json
import os
import re
import struct
import subprocess
from decimal import Decimal

from harness import run, Env, check, read_jsonl

WIDTH = {"u16": 1, "i16": 1, "u32": 2, "i32": 2, "u64": 4, "i64": 4, "f32": 2, "f64": 4}
PACK = {"u16": ">H", "i16": ">h", "u32": ">I", "i32": ">i", "u64": ">Q",
        "i64": ">q", "f32": ">f", "f64": ">d"}


def mbpoll(transport, unit, fc, first, count):
    """Raw registers [first, first+count) as ints, one mbpoll request."""
    t = "3:hex" if fc == 4 else "4:hex"
    out = subprocess.run(["mbpoll"] + transport[:-1] + ["-a", str(unit), "-0", "-r",
                         str(first), "-c", str(count), "-t", t, "-1", "-o", "2",
                         transport[-1]], capture_output=True, text=True, timeout=30)
    regs = {int(a): int(v, 16) for a, v in
            re.findall(r"\[(\d+)\]:\s+(0x[0-9A-Fa-f]+)", out.stdout)}
    check(len(regs) == count, "mbpoll read %d of %d registers: %s %s", len(regs),
          count, out.stdout[-300:], out.stderr[-300:])
    return [regs[first + i] for i in range(count)]


def decode(profile, p, words):
    """The reading of point p from its raw words, or None if invalid."""
    d = profile.get("defaults", {})
    t = p.get("type", d.get("type"))
    order = p.get("order", d.get("order", "ABCD"))
    b = b"".join(struct.pack(">H", w) for w in words)
    ws = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("BADC", "DCBA"):
        ws = [w[::-1] for w in ws]
    if order in ("CDAB", "DCBA"):
        ws = ws[::-1]
    b = b"".join(ws)
    rawu = int.from_bytes(b, "big")
    na = p.get("na", profile.get("na", {}).get(t, []))
    for m in na:
        m = int(m, 16) if isinstance(m, str) else m & ((1 << (8 * len(b))) - 1)
        if rawu == m:
            return None
    if "bits" in p:
        lo, hi = p["bits"]
        rawu = (rawu >> lo) & ((1 << (hi - lo + 1)) - 1)
        v = rawu
    else:
        v = struct.unpack(PACK[t], b)[0]
    if "enum" in p:
        m = {(int(k, 16) if k.lower().startswith("0x") else int(k)): e
             for k, e in p["enum"].items()}
        if rawu in m:
            return Decimal(m[rawu])
        return Decimal(p["enum_other"]) if "enum_other" in p else None
    if t in ("f32", "f64"):
        if v != v or v in (float("inf"), float("-inf")):
            return None
        return None   # floats are compared by the f32 tests elsewhere
    return Decimal(v) * Decimal(str(p.get("scale", 1))) + Decimal(str(p.get("offset", 0)))


def check_profile(env, transport, log, unit, name):
    profile = json.load(open(os.path.join(env.src, "drivers", "profiles", name + ".json")))
    d = profile.get("defaults", {})
    n = 0
    for p in profile["points"]:
        t = p.get("type", d.get("type"))
        if t in ("f32", "f64"):
            continue
        fc = p.get("fc", d.get("fc"))
        before = len(read_jsonl(log))
        words = mbpoll(transport, unit, fc, p["address"], WIDTH[t])
        served = [r for r in read_jsonl(log)[before:]
                  if r["unit"] == unit and r["point"] == p["name"]]
        check(len(served) == 1, "%s.%s: %d log lines for one read", name, p["name"],
              len(served))
        want = served[0]["value"]
        got = decode(profile, p, words)
        check((want is None and got is None) or
              (want is not None and got is not None and Decimal(want) == got),
              "%s.%s: mbpoll raw %s decodes to %s, simulator served %s", name,
              p["name"], [hex(w) for w in words], got, want)
        n += 1
    return n


def main(build):
    with Env(build) as env:
        sim, port = env.sim("sim-tcp", ["1:em24", "2:abb_b23", "3:alfen_ng9xx"], "tcp",
                            extra=["--invalid-every", "4"])
        tcp = ["-m", "tcp", "-p", str(port), "127.0.0.1"]
        log = os.path.join(env.dir, "sim-tcp.log")
        n = check_profile(env, tcp, log, 1, "em24")
        n += check_profile(env, tcp, log, 2, "abb_b23")
        n += check_profile(env, tcp, log, 3, "alfen_ng9xx")
        sim.stop()
        link = os.path.join(env.dir, "ttyWG0")
        sim_rtu, _ = env.sim("sim-rtu", ["4:heidelberg_ec"], link)
        rtu = ["-m", "rtu", "-b", "9600", "-P", "none", link]
        n += check_profile(env, rtu, os.path.join(env.dir, "sim-rtu.log"), 4,
                           "heidelberg_ec")
        sim_rtu.stop()
        print("mbpoll: %d integer-coded points of 4 profiles read raw by mbpoll decode "
              "to the served values" % n)


if __name__ == "__main__":
    run(main)
