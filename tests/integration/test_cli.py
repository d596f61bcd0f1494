"""Bad input at the command line: `wattgate --check FILE` and `wattgate -c FILE`
exit with status 1 and print exactly one line naming the file, the place and the
problem (never a crash); a good file checks out with status 0. A serial port
that does not exist fails --check only: the daemon waits for it.

usage: test_cli.py BUILD_DIR
"""
import json
import os
import subprocess

from harness import run, Env, check


def cases(env, tty):
    good = env.site(1883, buses=[
        {"name": "rs485", "type": "rtu", "device": tty},
        {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": 5020}],
        devices=[{"name": "m1", "bus": "rs485", "unit": 1, "profile": "sdm630"},
                 {"name": "m2", "bus": "lan", "unit": 1, "profile": "sdm630"}])

    def variant(change):
        s = json.loads(json.dumps(good))
        change(s)
        return s

    def dev0(**kw):
        return lambda s: s["devices"][0].update(kw)

    # (PATH, WHAT): the one line is "FILE: PATH: WHAT..." (firmware/base/jcheck.h)
    yield "good", good, None
    yield "unknown profile", variant(dev0(profile="sdm999")), \
        ("devices[0] (m1).profile", "sdm999.json: No such file")
    yield "missing broker", variant(lambda s: s.pop("mqtt")), ("mqtt", "missing")
    yield "serial port missing", variant(
        lambda s: s["buses"][0].update(device="/dev/ttyWG-none")), \
        ("buses[0] (rs485).device", "serial port /dev/ttyWG-none")
    yield "not a serial port", variant(
        lambda s: s["buses"][0].update(device="/dev/null")), \
        ("buses[0] (rs485).device", "serial port /dev/null: a character device "
         "but not a terminal")
    yield "duplicate device", variant(dev0(name="m2")), ("devices[1] (m2)", "duplicate")
    yield "unit out of range", variant(dev0(unit=300)), \
        ("devices[0] (m1).unit", "300 out of range 1..247")
    yield "interval too short", variant(lambda s: s.update(interval_s=0)), \
        ("interval_s", "0 out of range")
    yield "interval too long", variant(lambda s: s.update(interval_s=86400)), \
        ("interval_s", "86400 out of range")
    yield "not json", "{ \"gateway\": ", (":1:", "")
    yield "unknown key", variant(lambda s: s.update(brokr={})), ("brokr", "unknown key")


def main(build):
    with Env(build) as env:
        exe = env.bin("firmware", "core", "wattgate")
        n = 0
        # A pty stands in for the RS-485 port: a serial port is a terminal.
        master, slave = os.openpty()
        for name, site, want in cases(env, os.ttyname(slave)):
            path = os.path.join(env.dir, "site-%d.json" % n)
            n += 1
            with open(path, "w") as f:
                f.write(site if isinstance(site, str) else json.dumps(site))
            for argv in ([exe, "--check", path], [exe, "-c", path]):
                # A good config would start the daemon; so does a missing
                # serial port, which the daemon waits for (its other buses
                # run: test_notify.py missing_port).
                if (want is None or name == "serial port missing") and \
                        argv[1] == "-c":
                    continue
                r = subprocess.run(env.wrap + argv, capture_output=True, text=True,
                                   timeout=60)
                lines = r.stderr.strip().splitlines()
                if want is None:
                    check(r.returncode == 0, "%s: exit %d: %s", name, r.returncode,
                          r.stderr)
                    check("ok" in r.stdout, "%s: no ok: %r", name, r.stdout)
                    continue
                check(r.returncode == 1, "%s (%s): exit %d, want 1; stderr: %s",
                      name, argv[1], r.returncode, r.stderr)
                check(len(lines) == 1, "%s (%s): %d lines on stderr, want 1: %r",
                      name, argv[1], len(lines), r.stderr)
                where, what = want
                head = path + where if where.startswith(":") else \
                    "%s: %s: " % (path, where)
                check(lines[0].startswith("wattgate: " + head),
                      "%s: %r does not start with 'wattgate: %s'", name,
                      lines[0], head)
                check(what in lines[0][len("wattgate: " + head):],
                      "%s: %r not in %r", name, what, lines[0])
        # A FIFO as config blocked --check for ever; now one line at once.
        fifo = os.path.join(env.dir, "fifo.json")
        os.mkfifo(fifo)
        r = subprocess.run(env.wrap + [exe, "--check", fifo], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 1 and r.stderr.strip() == "wattgate: %s: a FIFO, "
              "not a regular file" % fifo, "FIFO: exit %d: %r", r.returncode,
              r.stderr)
        r = subprocess.run(env.wrap + [exe, "--bogus"], capture_output=True, text=True)
        check(r.returncode == 2, "unknown option: exit %d, want 2", r.returncode)
        print("cli: %d configs checked; each bad one: exit 1, one line naming file, "
              "place and problem" % n)


if __name__ == "__main__":
    run(main)
