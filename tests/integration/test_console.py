"""wattgate-console on a real terminal (pexpect on a pty) against the daemon
and the simulator (issue 16, docs/console.md "Using wattgate-console").

One world for all of it (mosquitto, wattgate-recv, wattgate-sim with SDM630s
at units 1 and 2, the daemon with "control" and "console" sections), in
this order:

  session   the issue's "Done when": a technician logs in with a key
            (wattgate-fleet tech-answer on the shown challenge), sees the
            status, finds the dead meter (meter2 is configured at unit 3,
            the simulator has it at unit 2), reads its register (a timeout),
            scans the bus, checks and applies a fixed config (the daemon
            restarts on it; the console follows it to "applied"), and reads
            the register again: the value the simulator served
  password  console.password set by a signed command; 'login password'
  keys      completion of commands, devices, buses, config sub-commands and
            file names; history (Up) and its file; Ctrl-C at the prompt
            drops the line; watch ends on a key and on Ctrl-C
  restart   the daemon stopped and started under an open console: it says
            so, reconnects, resumes the session
  killed    a console killed (-9) in a watch: the daemon polls on, readings
            keep arriving, another console works
  script    -c with and without --json, exit codes 0/1/2
  dumb      TERM=dumb: the same commands, and not one ESC byte written
  cable     the pty's master closed under a console: it exits 0
  lockout   wrong responses (garbage, a replayed response), the growing
            wait, the lockout after lockout_after failures; login records
            at the receiver
  idle      idle_s 2 (applied from the console): the session ends with a
            notice, the prompt says so; the silent connection is closed
            and the next command simply connects again

usage: test_console.py BUILD_DIR [SCENARIO,...]   (all, in order, by default)
"""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
from decimal import Decimal

import pexpect

from harness import run, Env, Fail, check, read_jsonl, wait
from cmdworld import Fleet, FINAL

GW = "gw-test"
PROMPT_IN = "wattgate %s> " % GW
PROMPT_OUT = "wattgate %s*> " % GW
ANSI = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])")


def clean(b):
    """What a person sees of the bytes written: escape sequences and CRs
    out (libedit's cursor moves), text in."""
    if isinstance(b, str):
        b = b.encode()
    return ANSI.sub(b"", b).replace(b"\r", b"").decode("utf-8", "replace")


class ConsoleWorld(Fleet):
    """The control plane's world (cmdworld.World) with two meters on the
    simulator and a "console" section; meter2 configured at the wrong unit."""

    def __init__(self, env):
        Fleet.__init__(self, env)
        self.broker, self.port = env.mosquitto()
        self.transport = ["--mqtt", "127.0.0.1:%d" % self.port]
        self.sim, sim_port = env.sim("sim", ["1:sdm630", "2:sdm630"], "tcp")
        self.sock = os.path.join(env.dir, "console.sock")
        self.site = env.site(self.port, interval=1,
                             buses=[{"name": "lan", "type": "tcp",
                                     "host": "127.0.0.1", "port": sim_port,
                                     "timeout_ms": 300}],
                             devices=[{"name": "meter", "bus": "lan", "unit": 1,
                                       "profile": "sdm630"},
                                      {"name": "meter2", "bus": "lan", "unit": 3,
                                       "profile": "sdm630"}])
        self.site["control"] = {"key": os.path.join(self.keys, "command.pub"),
                                "trial_cycles": 5}
        self.site["console"] = {"socket": self.sock, "mode": "0600",
                                "open": ["status", "devices"], "idle_s": 600,
                                "lockout_after": 3, "lockout_s": 4}
        self.recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"),
                                       "-h", "127.0.0.1", "-p", str(self.port),
                                       "--id", "wg-recv-console"])
        self.recv.wait_for(self.recv.err_path, "subscribed")
        self.gw = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.gw = self.env.gateway(self.site, name="gateway%d" % self.starts)
        self.gw.wait_for(self.gw.err_path, "control: commands on")
        wait(lambda: os.path.exists(self.sock), 20, "the console socket")
        wait(lambda: "mqtt: subscribed to" in self.gw.stderr(), 20,
             "connected and subscribed")
        return self.gw

    def readings(self):
        return [r for r in read_jsonl(self.recv.out_path) if "result" not in r]

    def fleet(self, *argv, stdin=None):
        r = subprocess.run([self.fleet_bin] + list(argv), input=stdin,
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "wattgate-fleet %s: %s", argv[0], r.stderr)
        return r.stdout


class Tty:
    """wattgate-console on a pty, as a technician types at it."""

    def __init__(self, env, w, name, term="xterm", argv=()):
        self.env, self.w, self.name = env, w, name
        e = dict(os.environ, TERM=term, HOME=env.dir, LC_ALL="C.UTF-8")
        e.pop("WATTGATE_CONSOLE_SESSION", None)
        if term is None:
            e.pop("TERM")
        self.path = os.path.join(env.dir, name + ".tty")
        self.log = open(self.path, "wb")
        self.c = pexpect.spawn(env.bin("firmware", "console", "wattgate-console"),
                               ["-s", w.sock] + list(argv), env=e, timeout=20,
                               dimensions=(50, 132))
        self.c.logfile_read = self.log
        self.logged_in = False
        self.mark = 0

    def prompt(self, timeout=20):
        """Waits for the prompt; what came before it, as seen."""
        i = self.c.expect_exact([PROMPT_IN, PROMPT_OUT], timeout=timeout)
        self.logged_in = i == 0
        return clean(self.c.before)

    def drain(self):
        """Drops what was shown and not yet looked at (a prompt redrawn
        after a notice), so that the next prompt is the command's."""
        try:
            while True:
                self.c.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
        # pexpect 4.8 keeps unmatched data in _before as well as buffer.
        self.c.buffer = self.c.string_type()
        if hasattr(self.c, "_before"):
            self.c._before = self.c.buffer_type()

    def run(self, line, timeout=20):
        """Types line and Enter; the output up to the next prompt, without
        the echoed line."""
        self.drain()
        self.c.sendline(line)
        out = self.prompt(timeout)
        return out.split("\n", 1)[1] if "\n" in out else ""

    def screen(self, pattern, timeout=10):
        """Waits until what is shown since the last call matches pattern
        (libedit may redraw a completed word around cursor moves, so the
        raw bytes are not the text); returns the match."""
        deadline = time.time() + timeout
        while True:
            try:
                self.c.read_nonblocking(65536, timeout=0.1)
            except pexpect.TIMEOUT:
                pass
            raw = self.seen()
            m = re.search(pattern, clean(raw[self.mark:]))
            if m:
                self.mark = len(raw)
                return m
            if time.time() > deadline:
                raise Fail("%s: %r not shown in %ss: %r" % (
                    self.name, pattern, timeout, clean(raw[self.mark:])[-300:]))

    def seen(self):
        self.log.flush()
        with open(self.path, "rb") as f:
            return f.read()

    def alive(self):
        return self.c.isalive()


def login_key(w, t, cred, key):
    """login: the challenge shown, answered by wattgate-fleet tech-answer."""
    t.c.sendline("login")
    t.c.expect_exact("response: ")
    m = re.search(r"(wgc1 \S+ [0-9a-f]+ \d+)", clean(t.c.before))
    check(m, "no challenge shown: %r", clean(t.c.before))
    resp = w.fleet("tech-answer", "--cred", cred, "--key", key, "--challenge",
                   m.group(1)).strip()
    t.c.sendline(resp)
    out = t.prompt()
    return out, resp, m.group(1)


def login_password(t, pw="basement-42"):
    t.c.sendline("login password")
    t.c.expect_exact("password: ")
    t.c.sendline(pw)
    return t.prompt()


def session(env, w, st):
    """The technician's session of the issue's "Done when"."""
    key = os.path.join(env.dir, "tech.key")
    cred = os.path.join(env.dir, "alice.cred")
    w.fleet("tech-keygen", "--out", key)
    w.fleet("tech-issue", "--key", os.path.join(w.keys, "command.key"), "--tech",
            "alice", "--tech-pub", key + ".pub", "--gw", GW, "--valid", "8h",
            "--out", cred)
    st["key"], st["cred"] = key, cred
    t = Tty(env, w, "tech")
    st["tech"] = t
    out = t.prompt()
    check("Not logged in" in out and not t.logged_in, "banner: %r", out)
    out = t.run("log 3")
    check("login required" in out, "log without a login: %r", out)
    out, resp, _ = login_key(w, t, cred, key)
    check(t.logged_in and "logged in as tech alice" in out, "key login: %r", out)
    st["resp"] = resp

    # See the status: one of the two meters answers.
    wait(lambda: "1 of 2 answering" in t.run("status"), 15, "status: 1 of 2")
    out = t.run("status")
    check(re.search(r"uplink +mqtt 127\.0\.0\.1:%d, connected" % w.port, out),
          "status uplink: %r", out)
    # Find the dead meter.
    out = t.run("devices")
    rows = {l.split()[0]: l.split() for l in out.splitlines() if l.strip()}
    check(rows.get("meter2", [None] * 5)[4] == "NO" and rows["meter"][4] == "yes",
          "devices: %r", out)
    out = t.run("device meter2")
    check("NOT answering" in out, "device meter2: %r", out)
    # Its register: nothing answers at unit 3.
    out = t.run("read meter2 30001 2 f32")
    check("f32:" not in out and "read" in out, "read of a dead meter: %r", out)
    # The bus: units 1 and 2 answer as SDM630s.
    out = t.run("scan lan 1 4", timeout=60)
    check(re.search(r"unit 2: sdm630", out) and re.search(r"unit 1: sdm630", out),
          "scan: %r", out)
    check("lan: 2 device(s) found" in out, "scan summary: %r", out)
    # Fix the config: meter2 is at unit 2.
    fixed = json.loads(json.dumps(w.site))
    fixed["devices"][1]["unit"] = 2
    path = os.path.join(env.dir, "fixed.json")
    with open(path, "w") as f:
        json.dump(fixed, f, indent=2)
    out = t.run("config check " + path)
    check(": ok: " in out, "config check: %r", out)
    t0 = time.time()
    out = t.run("config apply " + path, timeout=90)
    check("sent as command console-" in out and re.search(r"\d\d:\d\d:\d\d applied", out),
          "config apply did not end applied: %r", out)
    check(t.logged_in, "the session was not resumed after the restart: %r", out)
    st["apply_s"] = time.time() - t0
    wait(lambda: re.search(r"meter2 .* yes ", t.run("devices")), 20,
         "meter2 answering after the fix")
    # Read its register again: what the simulator served for unit 2.
    t1 = int(time.time() * 1000)
    out = t.run("read meter2 30001 2 f32")
    t2 = int(time.time() * 1000)
    m = re.search(r"raw: 0x([0-9a-f]{4}) 0x([0-9a-f]{4})\s+f32: (\S+)", out)
    check(m, "read meter2: %r", out)
    raw = struct.unpack(">f", bytes.fromhex(m.group(1) + m.group(2)))[0]
    value = float(m.group(3))
    check(abs(raw - value) <= abs(value) * 1e-6, "raw %s is not %s", raw, value)
    served = [Decimal(str(r["value"])) for r in read_jsonl(os.path.join(env.dir, "sim.log"))
              if r.get("unit") == 2 and r.get("point") == "voltage_l1"
              and t1 - 50 <= r["t_ms"] <= t2 + 50]
    check(any(abs(float(s) - value) <= abs(value) * 1e-6 for s in served),
          "read %s, the simulator served %s for unit 2 then", value, served)


def password(env, w, st):
    t = st["tech"]
    args = w.fleet("password-hash", "--iterations", "100000",
                   stdin="basement-42\n").strip()
    rc, recs, err = w.send("console.password", json.loads(args))
    check(rc == 0 and recs[-1]["state"] == "applied", "console.password: %s %s",
          recs, err)
    out = t.run("logout")
    check("logged out" in out and not t.logged_in, "logout: %r", out)
    t.c.sendline("login password")
    t.c.expect_exact("password: ")
    t.c.sendline("basement-42")
    out = t.prompt()
    check(t.logged_in and "logged in as password" in out, "password login: %r", out)
    check("basement-42" not in clean(t.seen()), "the password was echoed")


def keys(env, w, st):
    t = st["tech"]
    # Commands: "dev" -> "device" (common start), then the two are listed.
    t.screen(r".*")
    t.c.send("dev\t")
    t.screen(r"device$")
    t.c.send("\t")
    t.screen(r"device +devices\n.*device$")
    out = t.run("s")
    check("NAME" in out and "meter2" in out, "completed 'devices': %r", out)
    # Device names; bus names; config sub-commands; a file name.
    t.screen(r".*")
    t.c.send("device me\t\t")
    t.screen(r"meter +meter2\n.*device meter$")
    out = t.run("2")
    check(out.startswith("meter2: lan unit 2"), "completed device meter2: %r", out)
    t.screen(r".*")
    t.c.send("scan l\t")
    t.screen(r"scan lan $")
    t.c.sendintr()
    t.prompt()
    t.screen(r".*")
    t.c.send("config ch\t%s/fix\t" % env.dir)
    t.screen(r"config check \S+/fixed\.json $")
    out = t.run("")
    check(": ok: " in out, "completed config check: %r", out)
    # History: Up brings back the last line; the file keeps it.
    t.run("log 2")
    t.c.send("\x1b[A\r")
    out = t.prompt()
    check(out.count("log 2") >= 1 and "wattgate" in out, "Up did not run 'log 2': %r", out)
    with open(os.path.join(env.dir, ".wattgate_console_history")) as f:
        hist = f.read().replace("\\040", " ")    # libedit's vis(3) encoding
    check("log 2" in hist and "config check" in hist, "history file: %r", hist)
    # Ctrl-C at the prompt drops what was typed.
    t.c.send("stat")
    time.sleep(0.3)
    t.c.sendintr()
    t.prompt()
    out = t.run("us")
    check("unknown command 'us'" in out, "Ctrl-C left the line: %r", out)
    # watch: ends on any key, and on Ctrl-C; nothing comes after it.
    for stop in ("q", None):
        t.c.sendline("watch meter")
        t.c.expect(r"\d\d:\d\d:\d\d meter voltage_l1 = \S+ V")
        t.c.expect(r"\d\d:\d\d:\d\d meter \w+ = ")
        if stop:
            t.c.send(stop)
        else:
            t.c.sendintr()
        t.prompt()
        time.sleep(1.5)
        out = t.run("uplink")
        check("voltage_l1" not in out and "connected" in out,
              "watch went on after it ended: %r", out)


def restart(env, w, st):
    t = st["tech"]
    check(t.logged_in, "not logged in before the restart")
    check(w.gw.stop() == 0, "the daemon's stop")
    t.c.expect_exact("connection lost", timeout=10)
    w.start()
    t.c.expect(r"connected to gw-test \(session resumed\)", timeout=15)
    t.prompt()              # redrawn below the notice
    out = t.run("log 3")
    check("login required" not in out and "wattgate" in out,
          "after the restart: %r (%r)", out, t.c.before)
    check(t.logged_in, "the prompt says not logged in after the resume")


def killed(env, w, st):
    t2 = Tty(env, w, "killed")
    t2.prompt()
    login_password(t2)
    t2.c.sendline("watch")
    t2.c.expect(r"\d\d:\d\d:\d\d meter")
    n0 = len(w.readings())
    os.kill(t2.c.pid, signal.SIGKILL)
    t2.c.close(force=True)
    time.sleep(3.5)
    check(w.gw.p.poll() is None, "the daemon died with the console")
    check(len(w.readings()) >= n0 + 2, "readings stopped: %d then %d", n0,
          len(w.readings()))
    out = st["tech"].run("device meter")
    check("answering" in out and "voltage_l1" in out, "after a kill: %r", out)


def script(env, w, st):
    bin_ = env.bin("firmware", "console", "wattgate-console")
    e = dict(os.environ)
    e.pop("WATTGATE_CONSOLE_SESSION", None)
    e["WATTGATE_CONSOLE"] = w.sock

    def c(*argv):
        return subprocess.run([bin_] + list(argv), capture_output=True, text=True,
                              env=e, timeout=30)
    r = c("-c", "status", "--json")
    check(r.returncode == 0, "-c status --json: %s", r.stderr)
    d = json.loads(r.stdout)
    check(d["devices"]["total"] == 2, "status json: %s", d)
    r = c("-c", "devices")
    check(r.returncode == 0 and "meter2" in r.stdout, "-c devices: %s", r)
    r = c("-c", "log 2")
    check(r.returncode == 1 and "login required" in r.stderr, "-c log: %s", r)
    r = c("-c", "nonsense")
    check(r.returncode == 2 and "unknown command" in r.stderr, "-c nonsense: %s", r)
    r = c("--json")
    check(r.returncode == 2, "--json alone: %s", r)
    r = c("-s", os.path.join(env.dir, "nothing.sock"), "-c", "status")
    check(r.returncode == 1 and "nothing.sock" in r.stderr, "no socket: %s", r)


def dumb(env, w, st):
    for term in ("dumb", None):
        t = Tty(env, w, "dumb-%s" % term, term=term)
        t.prompt()
        t.run("status")
        out = login_password(t)
        check(t.logged_in, "dumb login: %r", out)
        out = t.run("device meter")
        check("voltage_l1" in out, "dumb device: %r", out)
        t.c.sendline("watch")
        t.c.expect(r"\d\d:\d\d:\d\d meter")
        t.c.send("x")
        t.prompt()
        t.c.send("dev\t")
        time.sleep(0.3)
        t.c.sendintr()
        t.prompt()
        t.run("config show")
        t.run("help")
        t.run("logout")
        t.c.sendeof()
        t.c.expect(pexpect.EOF)
        t.c.close()
        check(t.c.exitstatus == 0, "dumb exit: %s", t.c.exitstatus)
        seen = t.seen()
        check(b"\x1b" not in seen, "TERM=%s: an escape byte at %d: %r", term,
              seen.find(b"\x1b"), seen[max(0, seen.find(b"\x1b") - 40):][:80])


def cable(env, w, st):
    t = Tty(env, w, "cable")
    t.prompt()
    login_password(t)
    t.c.sendline("watch")
    t.c.expect(r"\d\d:\d\d:\d\d meter")
    pid = t.c.pid
    os.close(t.c.child_fd)     # the cable: the master side goes away
    t.c.child_fd = -1
    deadline = time.time() + 10
    while time.time() < deadline:
        got, status = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        raise Fail("the console did not exit when the cable was pulled")
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "cable pulled: status %#x", status)
    t.c.closed = True
    check(w.gw.p.poll() is None, "the daemon died with the cable")


def lockout(env, w, st):
    t = st["tech"]
    t.run("logout")

    def attempt(resp):
        t.drain()
        t.mark = len(t.seen())
        t.c.sendline("login")
        i = t.c.expect_exact(["response: ", PROMPT_OUT])
        if i == 1:
            return clean(t.c.before)
        t.c.sendline(resp)
        out = t.prompt()
        check(not t.logged_in, "logged in with %r: %r", resp[:40], out)
        return out
    out = attempt("wgr1.garbage.00")
    check("response" in out, "garbage: %r", out)
    out = attempt(st["resp"])
    check(re.search(r"wait 1 s", out), "no wait after a failure: %r", out)
    time.sleep(1.1)
    out = attempt(st["resp"])         # answers a challenge used before
    check("challenge" in out and "wait" not in out, "replayed response: %r", out)
    out = attempt(st["resp"])
    check(re.search(r"wait 2 s", out), "the wait did not grow: %r", out)
    time.sleep(2.1)
    attempt("wgr1.garbage.00")        # the 3rd in a row: locked out
    t.screen(r"locked out", timeout=5)
    out = attempt("wgr1.garbage.00")
    check("locked out" in out, "not refused while locked out: %r", out)
    time.sleep(4.2)
    t.drain()
    out, _, _ = login_key(w, t, st["cred"], st["key"])
    check(t.logged_in, "no login after the lockout ended: %r", out)
    t.c.sendline("quit")
    t.c.expect(pexpect.EOF)
    t.c.close()
    check(t.c.exitstatus == 0, "quit: exit %s", t.c.exitstatus)
    notes = [r for r in w.printed_results() if r.get("type") == "console.login"]
    check(len([r for r in notes if r["state"] == "rejected"]) >= 5 and
          len([r for r in notes if r["state"] == "applied"]) >= 2,
          "login records at the receiver: %s", [r["state"] for r in notes])


def idle(env, w, st):
    """A session ends after idle_s (2 s here, set by a config apply); a
    connection without one is closed after it too, and the console says
    only that: the next command connects again, nothing to retry."""
    t = Tty(env, w, "idle")
    t.prompt()
    login_password(t)
    cfg = json.loads(json.dumps(w.site))
    cfg["devices"][1]["unit"] = 2
    cfg["console"]["idle_s"] = 2
    path = os.path.join(env.dir, "idle.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    out = t.run("config apply " + path, timeout=90)
    check(re.search(r"\d\d:\d\d:\d\d applied", out) and t.logged_in,
          "apply of idle_s 2: %r", out)
    t.c.expect_exact("notice: session ended: idle for 2 s", timeout=10)
    t.prompt()
    check(not t.logged_in, "the prompt still says logged in")
    t.c.expect_exact("notice: closing: idle for 2 s", timeout=10)
    time.sleep(1.5)
    out = t.run("status")
    check("devices  2 of 2 answering" in out, "status after the close: %r", out)
    check("connection lost" not in clean(t.seen()), "an idle close was "
          "reported as a lost connection")
    out = t.run("log 2")
    check("login required" in out, "log after the session ended: %r", out)


SCENARIOS = [("session", session), ("password", password), ("keys", keys),
             ("restart", restart), ("killed", killed), ("script", script),
             ("dumb", dumb), ("cable", cable), ("lockout", lockout),
             ("idle", idle)]


def main(build, which=None):
    names = which.split(",") if which else [n for n, _ in SCENARIOS]
    with Env(build) as env:
        w = ConsoleWorld(env)
        w.start()
        st = {}
        for name, fn in SCENARIOS:
            if name not in names:
                continue
            t0 = time.time()
            fn(env, w, st)
            print("%s: ok (%.1f s)" % (name, time.time() - t0), flush=True)
        check(w.gw.stop() == 0, "the daemon's stop at the end")


if __name__ == "__main__":
    run(main)
