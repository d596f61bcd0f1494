"""Info strings (serial number, model) end to end: a profile's "info" section
served by wattgate-sim, read by the daemon once per device, logged once and
carried in the retained health metrics, never as readings; read again when
the device comes back after an outage; printed by `wattgate scan`, whose
string check tells two profiles apart that answer the same registers.

The profiles are written at test time: copies of sdm120 with an "info"
section (no shipped profile's public document gives such a string at the
device's own unit id).

usage: test_info.py BUILD_DIR
"""
import json
import os
import signal
import subprocess
import time

from harness import run, wait, Env, check, read_jsonl, device_metrics

SHIPPED = "sdm120"
INFO = [{"name": "serial", "fc": 3, "address": 64512, "type": "string",
         "length": 8},
        {"name": "model", "fc": 3, "address": 64520, "type": "string",
         "length": 4, "order": "BADC"}]


def profiles(env):
    """sdm120i: info + a string check the simulator satisfies; sdm120x: the
    same map whose string check asks for another model."""
    d = os.path.join(env.dir, "profiles")
    os.mkdir(d)
    with open(os.path.join(env.src, "drivers", "profiles", SHIPPED + ".json")) as f:
        base = json.load(f)
    for name, model in (("sdm120i", "SDMI"), ("sdm120x", "NOPE")):
        p = dict(base, name=name, info=INFO)
        p["identify"] = base["identify"] + [{"info": "model", "equals": model}]
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(p, f)
    return d


def scan(env, pdir, port):
    r = subprocess.run(env.wrap + [env.bin("firmware", "core", "wattgate"),
                                   "scan", "127.0.0.1:%d" % port, "--units",
                                   "1-3", "--timeout", "100", "--profiles", pdir],
                       capture_output=True, text=True, timeout=100)
    check(r.returncode == 0, "scan: exit %d: %s", r.returncode, r.stderr)
    got = {d["unit"]: d["profile"] for d in json.loads(r.stdout)["devices"]}
    # The string check, not the numbers, tells sdm120i from sdm120x.
    check(got == {1: "sdm120i", 2: "sdm120i"}, "scan found %s:\n%s", got, r.stderr)
    for want in ("scan: unit 1: serial 'SIM1-serial'", "scan: unit 1: model 'SDMI'",
                 "scan: unit 2: serial 'SIM2-serial'"):
        check(want in r.stderr, "scan: %r not in:\n%s", want, r.stderr)
    check("fits as well" not in r.stderr, "sdm120x fitted too:\n%s", r.stderr)


def info_reads(env, unit):
    return [r["t_ms"] for r in read_jsonl(os.path.join(env.dir, "sim.log"))
            if r.get("unit") == unit and r.get("info") == "serial"]


def main(build):
    with Env(build) as env:
        pdir = profiles(env)
        ffile = os.path.join(env.dir, "faults")
        open(ffile, "w").close()
        sim, port = env.sim("sim", ["1:sdm120i", "2:sdm120i"], "tcp",
                            profiles=pdir, extra=["--fault-file", ffile])
        scan(env, pdir, port)
        scanned = len(info_reads(env, 1))

        _, mqtt_port = env.mosquitto()
        recv = env.recv(mqtt_port)
        site = env.site(mqtt_port, buses=[{"name": "lan", "type": "tcp",
                                           "host": "127.0.0.1", "port": port,
                                           "timeout_ms": 200}],
                        devices=[{"name": "m%d" % u, "bus": "lan", "unit": u,
                                  "profile": "sdm120i", "backoff_max": 1}
                                 for u in (1, 2)])
        site["profiles"] = pdir
        gw = env.gateway(site)
        gw.wait_for(gw.err_path, "device m1: serial 'SIM1-serial'")
        gw.wait_for(gw.err_path, "device m2: model 'SDMI'")

        def cycles(dev):
            return {r["ts"] for r in read_jsonl(recv.out_path)
                    if r["device"] == dev}
        wait(lambda: len(cycles("m1")) >= 3, 30, "3 cycles of m1")
        check(len(info_reads(env, 1)) == scanned + 1,
              "serial of unit 1 read %d times in 3 cycles, want once",
              len(info_reads(env, 1)) - scanned)
        m = device_metrics(mqtt_port)
        for u in (1, 2):
            check(m["m%d" % u].get("info") == {"serial": "SIM%d-serial" % u,
                                               "model": "SDMI"},
                  "metrics of m%d: %s", u, m["m%d" % u])

        # Unit 1 away for a while, then back: its strings are read again.
        with open(ffile, "w") as f:
            f.write("1:silent\n")
        sim.p.send_signal(signal.SIGUSR1)
        gw.wait_for(gw.err_path, "device m1 (unit 1): no answer")
        with open(ffile, "w") as f:
            f.write("")
        sim.p.send_signal(signal.SIGUSR1)
        gw.wait_for(gw.err_path, "device m1 (unit 1) answers again")
        wait(lambda: len(info_reads(env, 1)) == scanned + 2, 15,
             "serial of unit 1 read again after the outage")
        time.sleep(1.5)
        check(gw.stop() == 0, "gateway did not exit 0: %s", gw.tail())
        recv.stop()
        check(sim.stop() == 0, "simulator did not exit 0")

        err = gw.stderr()
        # Logged once: the string did not change when it was read again.
        check(err.count("device m1: serial 'SIM1-serial'") == 1,
              "serial logged %d times:\n%s",
              err.count("device m1: serial"), err[-1500:])
        check(len(info_reads(env, 1)) == scanned + 2,
              "serial of unit 1 read %d times, want 2", len(info_reads(env, 1)) - scanned)
        # The readings are exactly the profile's points: no string among them.
        rows = read_jsonl(recv.out_path)
        with open(os.path.join(pdir, "sdm120i.json")) as f:
            names = {pt["name"] for pt in json.load(f)["points"]}
        got = {r["quantity"] for r in rows}
        check(got == names, "readings of %s, want %s", sorted(got - names),
              sorted(names))
        check(not any(isinstance(r.get("value"), str) for r in rows),
              "a string reading")
        print("info: strings served, read once per device and again after an "
              "outage, logged once, in metrics, never readings; scan printed "
              "them and its string check chose sdm120i over sdm120x")


if __name__ == "__main__":
    run(main)
