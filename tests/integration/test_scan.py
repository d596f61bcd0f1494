"""`wattgate scan PORT`: wattgate-sim serves several different profiles on one
pty bus (RTU) and on Modbus TCP; the scan must find exactly those unit ids and
name their profiles, and the snippet it prints, written into a site config,
must pass `wattgate --check` and poll every device through to wattgate-recv.
Bad input (missing port, bad range, bad baud, refused TCP) gives one line on
stderr, nothing on stdout and a non-zero exit.

usage: test_scan.py BUILD_DIR
"""
import json
import os
import subprocess
from collections import defaultdict

from harness import run, Env, check, free_port, read_jsonl, wait

RTU = {2: "sdm630", 5: "sdm120", 9: "em24", 17: "heidelberg_ec", 200: "sdm72d"}
TCP = {3: "keba_p30", 8: "alfen_ng9xx", 11: "sdm72dm-v2", 12: "abb_b23"}


def scan(env, args):
    exe = env.bin("firmware", "core", "wattgate")
    profiles = os.path.join(env.src, "drivers", "profiles")
    if "--profiles" not in args:
        args = args + ["--profiles", profiles]
    return subprocess.run(env.wrap + [exe, "scan"] + args,
                          capture_output=True, text=True, timeout=100)


def found(env, args, want, what):
    r = scan(env, args)
    check(r.returncode == 0, "%s: exit %d: %s", what, r.returncode, r.stderr)
    snip = json.loads(r.stdout)
    check(set(snip) == {"buses", "devices"}, "%s: keys %s", what, sorted(snip))
    got = {d["unit"]: d["profile"] for d in snip["devices"]}
    check(got == want, "%s: found %s, want %s", what, got, want)
    check(len(snip["buses"]) == 1 and
          all(d["bus"] == snip["buses"][0]["name"] for d in snip["devices"]),
          "%s: devices not on the one bus: %s", what, snip)
    return snip


def bad_input(env, link):
    refused = free_port()
    cases = [
        ("no such port", ["/dev/ttyWG-none"], "/dev/ttyWG-none"),
        ("range reversed", [link, "--units", "10-5"], "--units"),
        ("unit 0 on RTU", [link, "--units", "0-5"], "--units"),
        ("range not a number", [link, "--units", "1-x"], "--units"),
        ("baud not a number", [link, "--baud", "fast"], "--baud"),
        ("baud unsupported", [link, "--baud", "9601"], "9601"),
        ("parity", [link, "--parity", "X"], "--parity"),
        ("timeout too short", [link, "--timeout", "1"], "--timeout"),
        ("tcp port 0", ["127.0.0.1:0"], "127.0.0.1:0"),
        ("tcp refused", ["127.0.0.1:%d" % refused], "127.0.0.1:%d" % refused),
        ("missing profile dir", [link, "--profiles", "/nonexistent"], "/nonexistent"),
    ]
    for what, args, word in cases:
        r = scan(env, args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0, "%s: exit 0", what)
        check(r.stdout == "", "%s: stdout %r", what, r.stdout)
        check(len(lines) == 1, "%s: %d lines on stderr: %r", what, len(lines), r.stderr)
        check(word in lines[0], "%s: %r not in %r", what, word, lines[0])
    return len(cases)


def main(build):
    with Env(build) as env:
        link = os.path.join(env.dir, "ttyWG0")
        env.sim("sim_rtu", ["%d:%s" % kv for kv in RTU.items()], link)
        _, sim_port = env.sim("sim_tcp", ["%d:%s" % kv for kv in TCP.items()], "tcp")

        # The default range 1..247 on RTU, as a technician runs it.
        rtu = found(env, [link], RTU, "rtu")
        tcp = found(env, ["127.0.0.1:%d" % sim_port, "--units", "1-20",
                          "--timeout", "50"], TCP, "tcp")
        n_bad = bad_input(env, link)

        _, mqtt_port = env.mosquitto()
        recv = env.recv(mqtt_port)
        site = env.site(mqtt_port, buses=rtu["buses"] + tcp["buses"],
                        devices=rtu["devices"] + tcp["devices"])
        path = os.path.join(env.dir, "site.json")
        with open(path, "w") as f:
            json.dump(site, f)
        r = subprocess.run(env.wrap + [env.bin("firmware", "core", "wattgate"),
                                       "--check", path],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "--check: exit %d: %s", r.returncode, r.stderr)

        env.gateway(site)
        names = {d["name"] for d in site["devices"]}

        def polled():
            ok = defaultdict(set)
            for row in read_jsonl(recv.out_path):
                if row.get("value") is not None:
                    ok[row["device"]].add(row["ts"])
            return all(len(ok[n]) >= 2 for n in names)
        wait(polled, 60, "two cycles with valid readings from every scanned device")
        print("scan: rtu units %s and tcp units %s identified; snippet checks and "
              "polls; %d bad inputs refused in one line"
              % (sorted(RTU), sorted(TCP), n_bad))


if __name__ == "__main__":
    run(main)
