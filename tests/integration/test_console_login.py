"""Logins at the technician console (issue 16, docs/console.md "Login"), over
the daemon's socket, with a real mosquitto, wattgate-recv, wattgate-sim and
wattgate-fleet (the cmdworld of test_commands.py, with a "console" section).

Scenarios (one per ctest; each starts its own daemon):
  key       a technician key certified by the fleet: a good login (and what
            it opens); a wrong key, a credential for another gateway, an
            expired one, one the fleet did not sign, a challenge used twice,
            an answer to another gateway's challenge: each refused with its
            reason; every attempt a console.login record at the receiver
  password  console.password sent signed by wattgate-fleet (the hash not in
            the journal nor any record; the file 0600); good and bad
            passwords; the growing wait; cleared: refused
  lockout   lockout_after failures lock the console for lockout_s, also for
            key logins, kept across a daemon restart; the record says so
  resume    a session taken back after a daemon restart; logout ends it
  fleet     wattgate-fleet's side alone (no daemon): tech-keygen never
            replaces a key, tech-issue and tech-answer refuse what would
            fail at the gateway, password-hash derives what hashlib does

usage: test_console_login.py BUILD_DIR SCENARIO
"""
import base64
import hashlib
import json
import os
import signal
import stat
import subprocess
import time

from harness import run, Env, check, wait
from cmdworld import World
from consolewire import Console


class Login(World):
    """The command world with a console socket and a technician."""

    def __init__(self, env, **console):
        World.__init__(self, env)
        self.sock = os.path.join(env.dir, "console.sock")
        self.site["console"] = dict({"socket": self.sock, "mode": "0600",
                                     "lockout_after": 100, "lockout_s": 60},
                                    **console)
        self.techkeys = {}

    def start(self, name="gateway", penv=None):
        gw = World.start(self, name, penv)
        gw.wait_for(gw.err_path, "console: serving")
        return gw

    def fleet(self, *argv, ok=True):
        r = subprocess.run([self.fleet_bin] + list(argv), capture_output=True,
                           text=True, timeout=60)
        if ok:
            check(r.returncode == 0, "wattgate-fleet %s: exit %d: %s", argv[0],
                  r.returncode, r.stderr)
        return r

    def tech(self, name):
        """A technician's key pair (made once): the private key's path."""
        if name not in self.techkeys:
            key = os.path.join(self.env.dir, name + ".key")
            self.fleet("tech-keygen", "--out", key)
            self.techkeys[name] = key
        return self.techkeys[name]

    def issue(self, name, gws="gw-test", valid="8h", nbf=None, key=None):
        """A credential for name's key; its path."""
        out = os.path.join(self.env.dir, "%s-%f.cred" % (name, time.time()))
        argv = ["tech-issue", "--key", key or os.path.join(self.keys, "command.key"),
                "--tech", name, "--tech-pub", self.tech(name) + ".pub",
                "--gw", gws, "--valid", valid, "--out", out]
        if nbf is not None:
            argv += ["--nbf", str(nbf)]
        self.fleet(*argv)
        return out

    def answer(self, cred, name, challenge):
        r = self.fleet("tech-answer", "--cred", cred, "--key", self.tech(name),
                       "--challenge", challenge)
        return r.stdout.strip()

    def console(self):
        return Console(self.sock)

    def logins(self):
        """The console.login records the receiver printed."""
        return [r for r in self.printed_results() if r.get("type") == "console.login"]


def err(reply):
    check(reply.get("ok") is False, "expected an error: %s", reply)
    return reply["error"]


def ok(reply):
    check(reply.get("ok") is True, "expected ok: %s", reply)
    return reply.get("data", {})


def key_login(w, c, cred, name="alice"):
    ch = ok(c.call("login.challenge"))["challenge"]
    return c.call("login.response", w.answer(cred, name, ch))


def splice(response, cred_path):
    """response with its credential replaced by the file's."""
    head, _, sig = response.rpartition(".")
    with open(cred_path, "rb") as f:
        return "wgr1." + base64.b64encode(f.read()).decode() + "." + sig


def expect_records(w, want):
    """The receiver printed the console.login records want (state, method,
    why part), in this order, after those it had before."""
    def have():
        return len(w.logins()) >= len(want)
    wait(have, 30, "%d console.login records at the receiver" % len(want))
    got = w.logins()[-len(want):]
    for g, (state, method, why) in zip(got, want):
        check(g["state"] == state and g["result"]["method"] == method and
              why in g.get("why", "") and g["result"]["uid"] == os.getuid() and
              g["id"].startswith("console-"),
              "record %s, wanted %s", g, (state, method, why))
    return got


def key(env):
    w = Login(env)
    w.start()
    c = w.console()
    check(err(c.call("status")).startswith("login required"), "status open")
    names = [x["name"] for x in ok(c.call("help", "login"))["commands"]]
    check(names == ["login.challenge", "login.response", "login.password"],
          "help login: %s", names)
    alice = w.issue("alice")
    d = ok(key_login(w, c, alice))
    check(d["who"].startswith("tech alice (key, valid until ") and
          len(d["session"]) == 32 and d["idle_s"] == 600, "login: %s", d)
    ok(c.call("status"))
    ok(c.call("logout"))
    check(err(c.call("status")).startswith("login required"), "after logout")
    want = [("applied", "key", "logged in")]

    # Each failure is followed by a success, which resets the wait.
    def refused(response, why, tech):
        e = err(c.call("login.response", response))
        check(why in e, "wanted %r, got %r", why, e)
        time.sleep(1.1)
        ok(key_login(w, c, alice))
        want.extend([("rejected", "key", why), ("applied", "key", "logged in")])
        rec = expect_records(w, want)
        check(rec[-2]["result"]["tech"] == tech, "tech in %s", rec[-2])

    # Bob signs with his key, but the credential is alice's.
    ch = ok(c.call("login.challenge"))["challenge"]
    refused(splice(w.answer(w.issue("bob"), "bob", ch), alice),
            "does not answer this connection's challenge", "alice")
    # A credential for another gateway, answering that gateway's challenge.
    other = w.issue("alice", gws="gw-other")
    ok(c.call("login.challenge"))
    refused(w.answer(other, "alice",
                     "wgc1 gw-other 000102030405060708090a0b0c0d0e0f %d" %
                     time.time()), "is not for gateway 'gw-test'", "alice")
    # Expired an hour ago.
    old = w.issue("alice", valid="1h", nbf=int(time.time()) - 7200)
    ch = ok(c.call("login.challenge"))["challenge"]
    refused(w.answer(old, "alice", ch), "the credential of alice: expired at",
            "alice")
    # Signed by a key that is not this gateway's command key.
    rogue = os.path.join(env.dir, "rogue")
    w.fleet("keygen", rogue)
    forged = w.issue("alice", key=os.path.join(rogue, "command.key"))
    ch = ok(c.call("login.challenge"))["challenge"]
    refused(w.answer(forged, "alice", ch), "not signed by this gateway's "
            "command key", None)
    # A challenge is used once: the same response again.
    ch = ok(c.call("login.challenge"))["challenge"]
    resp = w.answer(alice, "alice", ch)
    ok(c.call("login.response", resp))
    want.append(("applied", "key", "logged in"))
    refused(resp, "no challenge of this connection is outstanding", "alice")
    # ... and a new challenge is not answered by the old response.
    ok(c.call("login.challenge"))
    refused(resp, "does not answer this connection's challenge", "alice")
    # A response to another gateway's challenge (a credential for both).
    both = w.issue("alice", gws="gw-test,gw-other")
    ok(c.call("login.challenge"))
    refused(w.answer(both, "alice", "wgc1 gw-other 0f0e0d0c0b0a09080706050403020100"
                     " %d" % time.time()),
            "does not answer this connection's challenge", "alice")
    # Another connection's challenge is not this one's.
    c2 = w.console()
    ch = ok(c2.call("login.challenge"))["challenge"]
    refused(w.answer(alice, "alice", ch), "no challenge of this connection",
            "alice")
    # Garbage is a failed attempt too, and says what is wrong.
    refused("wgr1.!!!." + "0" * 128, "response: credential: not base64", None)
    log = w.gw.stderr()
    check("wgr1." not in log and ch not in log, "the log holds a response or "
          "challenge")
    check(w.gw.stop() == 0, "the gateway's stop")


def password(env):
    w = Login(env)
    w.start()
    c = w.console()
    check("no console password is set" in err(c.call("login.password", "x" * 8)),
          "no password")
    time.sleep(1.1)
    args = subprocess.run([w.fleet_bin, "password-hash"], input="open sesame 42\n",
                          capture_output=True, text=True, timeout=60)
    check(args.returncode == 0, "password-hash: %s", args.stderr)
    h = json.loads(args.stdout)
    check(sorted(h) == ["hash", "iterations", "salt"] and h["iterations"] == 100000,
          "args %s", h)
    rc, recs, e = w.send("console.password", h)
    check(rc == 0 and recs[-1]["state"] == "applied", "console.password: %s %s",
          recs, e)
    raw = "\n".join(w.last_raw)
    check(h["hash"] not in raw and h["salt"] not in raw, "the hash in a record")
    path = os.path.join(env.dir, "state", "console.password")
    check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "mode of %s", path)
    with open(path) as f:
        check(json.load(f) == h and "sesame" not in open(path).read(), "file")
    t0 = time.time()
    d = ok(c.call("login.password", "open sesame 42"))
    check(d["who"] == "password" and len(d["session"]) == 32, "login: %s", d)
    check(time.time() - t0 < 5, "the check took %.1f s", time.time() - t0)
    ok(c.call("status"))
    # Wrong ones: the wait doubles after each, and says so.
    for k, wait_s in ((1, 1), (2, 2), (3, 4)):
        e = err(c.call("login.password", "open sesame 43"))
        check(e == "login: wrong password", "wrong: %s", e)
        e = err(c.call("login.password", "open sesame 42"))
        check(e == "login: wait %d s (%d failed login%s in a row)" %
              (wait_s, k, "" if k == 1 else "s"), "wait: %s", e)
        time.sleep(wait_s + 0.1)
    ok(c.call("login.password", "open sesame 42"))
    # Only the first refusal of a wait is its own record.
    expect_records(w, [("rejected", "password", "no console password"),
                       ("applied", "password", "logged in"),
                       ("rejected", "password", "wrong password"),
                       ("rejected", "password", "wait 1 s"),
                       ("rejected", "password", "wrong password"),
                       ("rejected", "password", "wait 2 s"),
                       ("rejected", "password", "wrong password"),
                       ("rejected", "password", "wait 4 s"),
                       ("applied", "password", "logged in")])
    # While a check runs (0.1 s+), polling goes on: other clients are served.
    c2 = w.console()
    c.send_raw(b'{"id":99,"cmd":"login.password","args":["open sesame 42"]}\n')
    ok(c2.call("hello"))
    check(c.read_line()["id"] == 99, "the check's reply")
    # Cleared: refused again; journaled without args.
    rc, recs, e = w.send("console.password", {"clear": True})
    check(rc == 0 and recs[-1]["state"] == "applied", "clear: %s %s", recs, e)
    check(not os.path.exists(path), "%s still there", path)
    check("no console password is set" in err(c.call("login.password",
                                                     "open sesame 42")), "cleared")
    rc, recs, e = w.send("console.password", {"clear": True, "salt": "00"})
    check(recs[-1]["state"] == "rejected", "bad args: %s", recs)
    log = w.gw.stderr()
    check("sesame" not in log and h["hash"] not in log, "a secret in the log")
    check(w.gw.stop() == 0, "the gateway's stop")


def lockout(env):
    w = Login(env, lockout_after=3, lockout_s=60)
    w.start()
    c = w.console()
    watcher = w.console()
    rc, recs, e = w.send("console.password", json.loads(subprocess.run(
        [w.fleet_bin, "password-hash"], input="right horse\n", capture_output=True,
        text=True, check=True).stdout))
    check(recs[-1]["state"] == "applied", "console.password: %s", recs)
    for wait_s in (1, 2, 0):
        check(err(c.call("login.password", "wrong horse")) ==
              "login: wrong password", "a wrong password")
        time.sleep(wait_s + 0.1)
    e = err(c.call("login.password", "right horse"))
    check(e.startswith("login: locked out until ") and
          e.endswith("(3 failed logins in a row)"), "locked: %s", e)
    n = watcher.read_line()
    check(n == {"id": 0, "notice": "locked out for 60 s"}, "notice: %s", n)
    # Every way in is locked: a key login too, and a resume. Refusals after
    # the first of a lock are counted, reported with the next record (here:
    # when the daemon stops), not one by one.
    alice = w.issue("alice")
    check("locked out until" in err(key_login(w, c, alice)), "key while locked")
    check("locked out until" in err(c.call("resume", "0" * 32)), "resume")
    # Across a restart (SIGTERM, a new daemon on the same store).
    check(w.gw.stop() == 0, "the gateway's stop")
    w.start(name="gateway2")
    c = w.console()
    e = err(c.call("login.password", "right horse"))
    check(e.startswith("login: locked out until "), "after the restart: %s", e)
    check("3 failed login(s) in a row before this start; locked out" in
          w.gw.stderr(), "the start says so")
    recs = expect_records(w, [("rejected", "password", "wrong password"),
                              ("rejected", "password", "wrong password"),
                              ("rejected", "password", "wrong password"),
                              ("rejected", "password", "locked out until"),
                              ("rejected", "resume", "2 more attempt(s) refused"),
                              ("rejected", "password", "locked out until")])
    check(recs[-2]["result"].get("refused_unreported") == 2,
          "the key's and the resume's refusals counted: %s", recs[-2])
    check(w.gw.stop() == 0, "the gateway's stop")


def resume(env):
    w = Login(env)
    w.start()
    c = w.console()
    alice = w.issue("alice")
    d = ok(key_login(w, c, alice))
    token = d["session"]
    sess = os.path.join(env.dir, "state", "console.sessions")
    check(stat.S_IMODE(os.stat(sess).st_mode) == 0o600 and
          token not in open(sess).read(), "sessions file")
    # A reload restarts the daemon through exec, as config apply does.
    w.gw.p.send_signal(signal.SIGHUP)
    wait(lambda: w.gw.stderr().count("console: serving") >= 2, 30, "restart")
    c = w.console()
    check(err(c.call("status")).startswith("login required"), "new connection")
    d = ok(c.call("resume", token))
    check(d["who"].startswith("tech alice (key, valid until "), "resume: %s", d)
    ok(c.call("status"))
    check("no such session" in err(w.console().call("resume", "f" * 32)),
          "unknown token")
    time.sleep(1.1)
    ok(c.call("logout"))
    check("no such session" in err(w.console().call("resume", token)),
          "resumed after logout")
    expect_records(w, [("applied", "key", "logged in"),
                       ("applied", "resume", "tech alice"),
                       ("rejected", "resume", "no such session"),
                       ("rejected", "resume", "no such session")])
    # A session ends with the credential that opened it, not 12 h later:
    # a credential for 3 s gives a token that is not resumed after them.
    time.sleep(2.1)     # the wait after the two refused resumes above
    short = w.issue("alice", valid="3s")
    c = w.console()
    token = ok(key_login(w, c, short))["session"]
    ok(c.call("resume", token))
    time.sleep(3.5)
    check("no such session" in err(w.console().call("resume", token)),
          "a session resumed after its credential expired")
    # and the console that stayed connected is logged out by it too (the
    # server looks once a second; exp is in whole seconds)
    wait(lambda: c.call("status")["ok"] is False, 5,
         "the connection logged out after the credential expired")
    r = c.call("status")
    check("login required" in r["error"] and
          any("time is up" in n for n in c.notices),
          "not logged out by its end: %s %s", r, c.notices)
    check(w.gw.stop() == 0, "the gateway's stop")


def fleet(env):
    fb = env.bin("tools", "fleet", "wattgate-fleet")

    def tool(*argv, stdin=None):
        return subprocess.run([fb] + list(argv), capture_output=True, text=True,
                              input=stdin, timeout=60)
    d = env.dir
    check(tool("keygen", os.path.join(d, "fleet")).returncode == 0, "keygen")
    fkey = os.path.join(d, "fleet", "command.key")
    key = os.path.join(d, "bob.key")
    r = tool("tech-keygen", "--out", key)
    check(r.returncode == 0 and stat.S_IMODE(os.stat(key).st_mode) == 0o600 and
          stat.S_IMODE(os.stat(key + ".pub").st_mode) == 0o644, "tech-keygen: %s",
          r.stderr)
    before = open(key).read()
    r = tool("tech-keygen", "--out", key)
    check(r.returncode == 1 and "exists: refusing to replace a key" in r.stderr and
          open(key).read() == before, "a second tech-keygen: %s", r.stderr)
    check(tool("tech-keygen", "--out", os.path.join(d, "eve.key")).returncode == 0,
          "eve's key")
    issue = ["tech-issue", "--key", fkey, "--tech", "bob", "--tech-pub", key + ".pub"]
    for bad, code, why in ((["--gw", "gw-1", "--valid", "32d"], 2, "--valid: bad value"),
                           (["--gw", "gw-1", "--valid", "0"], 2, "--valid: bad value"),
                           (["--gw", "gw 1", "--valid", "1h"], 1, "gws[0]: not"),
                           (["--gw", ",".join("gateway-%04d" % i for i in range(30)),
                             "--valid", "1h"], 1, "over the 1024 a console argument"),
                           (["--valid", "1h"], 2, "needed")):
        r = tool(*(issue + bad))
        check(r.returncode == code and why in r.stderr, "tech-issue %s: %d %s", bad,
              r.returncode, r.stderr)
    r = tool("tech-issue", "--key", fkey, "--tech", "bo b", "--tech-pub",
             key + ".pub", "--gw", "gw-1", "--valid", "1h")
    check(r.returncode == 1 and "credential: tech: not a string" in r.stderr,
          "a bad name: %s", r.stderr)
    cred = os.path.join(d, "bob.cred")
    old = os.path.join(d, "old.cred")
    check(tool(*(issue + ["--gw", "gw-1,gw-2", "--valid", "2h", "--out", cred]))
          .returncode == 0, "tech-issue")
    check(tool(*(issue + ["--gw", "*", "--valid", "1h", "--nbf",
                          str(int(time.time()) - 7200), "--out", old]))
          .returncode == 0, "an old credential")
    ch = "wgc1 gw-2 000102030405060708090a0b0c0d0e0f %d" % time.time()
    r = tool("tech-answer", "--cred", cred, "--key", key, "--challenge", ch)
    check(r.returncode == 0 and r.stdout.startswith("wgr1.") and
          len(r.stdout.strip().split(".")[2]) == 128 and r.stderr == "",
          "tech-answer: %s %s", r.stdout, r.stderr)
    with open(cred, "rb") as f:
        check(base64.b64decode(r.stdout.split(".")[1]) == f.read(), "the credential "
              "in the response")
    for argv, why in (([cred, os.path.join(d, "eve.key"), ch],
                       "certifies another key than --key's"),
                      ([cred, key, ch.replace("gw-2", "gw-3")],
                       "does not name gateway 'gw-3'"),
                      ([cred, key, "wgc1 gw-2 0011 5"], "challenge: nonce:")):
        r = tool("tech-answer", "--cred", argv[0], "--key", argv[1],
                 "--challenge", argv[2])
        check(r.returncode == 1 and why in r.stderr and r.stdout == "",
              "tech-answer %s: %s", argv, r.stderr)
    r = tool("tech-answer", "--cred", old, "--key", key, "--challenge",
             "wgc1 gw-9 000102030405060708090a0b0c0d0e0f 5")
    check(r.returncode == 0 and "warning: the credential expired" in r.stderr and
          "note: the gateway's clock says 1970-01-01T00:00:05Z" in r.stderr,
          "an old credential, a 1970 gateway: %s", r.stderr)
    r = tool("password-hash", "--iterations", "100001", stdin="zebra crossing\r\n")
    h = json.loads(r.stdout)
    want = hashlib.pbkdf2_hmac("sha256", b"zebra crossing", bytes.fromhex(h["salt"]),
                               100001, 32).hex()
    check(r.returncode == 0 and h["iterations"] == 100001 and h["hash"] == want and
          len(h["salt"]) == 32, "password-hash: %s %s", r.stdout, r.stderr)
    for pw, why in (("short\n", "shorter than 8 bytes"),
                    ("tab\there is bad\n", "control character"),
                    ("x" * 1025 + "\n", "longer than 1024 bytes")):
        r = tool("password-hash", stdin=pw)
        check(r.returncode == 1 and why in r.stderr and r.stdout == "",
              "password-hash %r: %s", pw[:20], r.stderr)
    r = tool("password-hash", "--iterations", "99999", stdin="long enough\n")
    check(r.returncode == 2, "iterations under the minimum: %s", r.stderr)


def main(build, scenario):
    with Env(build) as env:
        {"key": key, "password": password, "lockout": lockout,
         "resume": resume, "fleet": fleet}[scenario](env)


if __name__ == "__main__":
    run(main)
