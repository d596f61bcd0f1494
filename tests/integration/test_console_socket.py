"""The technician console's socket against bad input (issue 16 "Bad input",
docs/console.md "Protocol"), with a real mosquitto, wattgate-recv,
wattgate-sim and the daemon with "control" and "console" sections.

Scenarios (one per ctest; each checks that readings keep arriving at the
receiver throughout, and that the daemon stops cleanly):
  oversized  a line over 65536 bytes: an error, the rest dropped up to its
             LF, the connection stays; the longest allowed line is taken
  garbage    binary garbage with and without LFs: errors, closed after 16
             bad lines in a row; a flood of requests whose replies are
             never read: the client is paused, memory stays bounded
  escapes    escape sequences, NUL, DEL, bytes that are not UTF-8: each
             refused in one clean line, none reaches the log raw
  idle       a silent client, and one that dribbles a line that never
             ends, are closed at idle_s; a talking one is not
  many       1000 connections: max_clients served, the rest refused with
             "busy", logged a few times then counted; RSS bounded; slots
             free again once closed
  peer       a child that setuid(65534)s is refused on a 0666 socket; a
             member of console.group (primary or supplementary) is not
  login      read commands need a login unless console.open lists them;
             hello, help, cancel need none
  info       status, devices, uplink, commands, update, log, identity
             answer with what the daemon and the simulator have

usage: test_console_socket.py BUILD_DIR SCENARIO
"""
import grp
import json
import os
import resource
import socket
import stat
import subprocess
import time

from harness import run, Env, check, wait
from cmdworld import World
from consolewire import Console, Closed

LINE_MAX = 65536


class ConsoleWorld(World):
    """cmdworld's gateway with a console section; the readings the receiver
    printed tell that it polls."""

    def __init__(self, env, console=None):
        World.__init__(self, env)
        self.sock = os.path.join(env.dir, "console.sock")
        self.site["console"] = dict({"socket": self.sock, "idle_s": 30,
                                     "max_clients": 8}, **(console or {}))
        self.start()
        self.gw.wait_for(self.gw.err_path, "console: serving")
        self.polled_mark = self.polled()

    def rss_bound_kb(self, kb):
        """kb, or eight times that under ASan or valgrind (their quarantine
        and shadow memory grow with every allocation freed)."""
        with open("/proc/%d/maps" % self.gw.p.pid) as f:
            maps = f.read()
        return kb * 8 if "libasan" in maps or "valgrind" in maps or \
            self.env.wrap else kb

    def polled(self):
        return len(self.readings())

    def polls_on(self, what):
        """Readings arrived since the last call (within 10 s of now)."""
        before = self.polled_mark
        wait(lambda: self.polled() > before, 10,
             "readings at the receiver after " + what)
        self.polled_mark = self.polled()

    def console(self, timeout=10):
        return Console(self.sock, timeout)

    def log(self):
        with open(self.gw.err_path, errors="replace") as f:
            return f.read()

    def finish(self):
        """A clean stop: a client still connected is told and closed."""
        self.polls_on("the test")
        c = self.console()
        check(c.call("hello")["ok"], "hello before the stop")
        rc = self.gw.stop()
        check(rc == 0, "the gateway's stop: exit %s", rc)
        check(c.closed(5) and c.notices == ["stopping"], "at the stop: %s",
              c.notices)
        c.close()
        check(not os.path.exists(self.sock), "the socket file is still there")


def oversized(env):
    w = ConsoleWorld(env)
    with w.console() as c:
        # Just too long: 65536 bytes and no LF among them.
        c.send_raw(b"x" * LINE_MAX)
        m = c.read_line()
        check(m == {"id": 0, "ok": False, "error": "request: line longer than "
                    "65536 bytes; discarded"}, "oversized: %s", m)
        c.errors0.clear()
        # The rest of that line, in pieces, up to its LF, is dropped.
        for _ in range(5):
            c.send_raw(b"{" * 30000)
        c.send_raw(b"}}}\n")
        r = c.call("hello")
        check(r["ok"] and r["data"]["protocol"] == 1, "hello after: %s", r)
        check(c.errors0 == [], "more errors: %s", c.errors0)
        # The longest line allowed: 65535 bytes and the LF.
        req = b'{"id":77,"cmd":"hello"}'
        c.send_raw(req + b" " * (LINE_MAX - 1 - len(req)) + b"\n")
        r = c.reply(77)
        check(r["ok"], "the longest line: %s", r)
        # A 1 MB line in one go, then a request right behind its LF.
        c.send_raw(b'{"id":1,"cmd":"' + b"a" * 1000000 + b'"}\n{"id":78,"cmd":"hello"}\n')
        r = c.reply(78)
        check(r["ok"] and len(c.errors0) == 1 and "longer than" in c.errors0[0],
              "1 MB line: %s %s", r, c.errors0)
        # A body past 60000 bytes on a line that fits.
        r = c.call("hello", body="b" * 60001)
        check(not r["ok"] and r["error"] == "request: body: 60001 bytes, at most "
              "60000", "body: %s", r)
    w.polls_on("oversized lines")
    w.finish()


def garbage(env):
    w = ConsoleWorld(env, {"idle_s": 3})
    rnd = open("/dev/urandom", "rb")
    with w.console() as c:
        # Lines of binary garbage: one error each, then closed after 16.
        junk = rnd.read(64 * 1024).replace(b"\n", b"") [:4000]
        for i in range(16):
            c.send_raw(junk[i * 200:(i + 1) * 200] + b"\n")
        check(c.closed(10), "not closed after 16 bad lines")
        check(len(c.errors0) == 17 and c.errors0[-1] == "request: 16 bad lines "
              "in a row; closing", "errors: %s", c.errors0[-3:])
    with w.console() as c:
        # Good lines between bad ones reset the count.
        for i in range(40):
            c.send_raw(b"\x00\xff\xfe garbage\n")
            if i % 10 == 9:
                check(c.call("hello")["ok"], "hello between garbage")
        check(not c.closed(1), "closed although good lines came between")
    with w.console() as c:
        # Lines of random bytes, each longer than the limit: an error each,
        # closed after 16.
        try:
            for _ in range(16):
                c.send_raw(rnd.read(LINE_MAX + 100).replace(b"\n", b".") + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        check(c.closed(10), "not closed after 16 oversized lines")
        check(len(c.errors0) == 17 and all("longer than" in e for e in
              c.errors0[:16]), "%s", c.errors0[:3])
    with w.console() as c:
        # Garbage with no LF at all is one endless line: one error, the rest
        # dropped as it comes, and closed at idle_s (no line is complete).
        t0, gone = time.time(), None
        while time.time() - t0 < 10 and gone is None:
            try:
                c.send_raw(rnd.read(8192).replace(b"\n", b"."))
            except (BrokenPipeError, ConnectionResetError):
                gone = time.time() - t0
            time.sleep(0.01)
        check(gone is not None and 2.5 <= gone <= 7, "closed after %s s "
              "(idle_s 3)", gone)
        c.closed(2)
        check(c.errors0 == ["request: line longer than 65536 bytes; discarded"],
              "%s", c.errors0)
    w.polls_on("binary garbage")
    # A flood of requests whose replies are never read: paused, bounded.
    rss0 = w.rss_kb()
    flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    flood.connect(w.sock)
    flood.setblocking(False)
    line = b'{"id":1,"cmd":"help"}\n'
    sent, t0 = 0, time.time()
    while time.time() - t0 < 2:
        try:
            sent += flood.send(line * 1000)
        except BlockingIOError:
            time.sleep(0.05)
    w.polls_on("a flood nobody reads")
    rss1 = w.rss_kb()
    check(rss1 - rss0 < w.rss_bound_kb(2048), "RSS grew by %d kB under a flood",
          rss1 - rss0)
    with w.console() as c:
        check(c.call("hello")["ok"], "another client during the flood")
    # Paused, it completes no line: closed at idle_s like a silent one.
    def flood_closed():
        try:
            flood.send(line)
            return False
        except BlockingIOError:
            return False
        except (BrokenPipeError, ConnectionResetError):
            return True
    wait(flood_closed, 10, "the flood's connection closed")
    flood.close()
    print("garbage: flood of %d bytes sent before the socket filled; RSS %d -> %d kB"
          % (sent, rss0, rss1))
    w.finish()


def escapes(env):
    w = ConsoleWorld(env)
    with w.console() as c:
        lines = [b"\x1b[2J\x1b[H\x1b]0;pwned\x07", b"\x00\x00\x00",
                 b"\x7f\x7f", b"\xc3\x28 not utf-8", b"\x1bP+q544e\x1b\\",
                 b'{"id":5,"cmd":"hello","\\u001b[31m":1}',
                 b'{"id":6,"cmd":"help","args":["\\u001b[2J"]}',
                 b'{"id":7,"cmd":"help","args":["\xff"]}',
                 b'{"id":8,"cmd":"\\u001b"}', b"\r"]
        for l in lines:
            c.send_raw(l + b"\n")
        got = []
        for _ in range(len(lines) - 1):	# the lone CR is a blank line
            raw = c.raw_line()
            check(all(b >= 0x20 and b != 0x7f for b in raw), "raw control "
                  "byte in a reply: %r", raw)
            got.append(json.loads(raw))
        errs = [g["error"] for g in got]
        check(all(not g["ok"] for g in got), "accepted: %s", got)
        check(errs[5] == "request: '?[31m': unknown member (id, cmd, args, body)" and
              got[5]["id"] == 5, "member: %s", got[5])
        check(errs[6] == "request: args[0]: control character at byte 0" and
              got[6]["id"] == 6, "args: %s", got[6])
        check(errs[8].startswith("request: cmd: '?': only a-z"), "cmd: %s", errs[8])
        check(c.call("hello")["ok"], "hello after the escapes")
    log = w.log()
    check("\x1b" not in log and "\x07" not in log and "\x00" not in log,
          "a raw control character reached the log")
    w.polls_on("escape sequences")
    w.finish()


def idle(env):
    w = ConsoleWorld(env, {"idle_s": 2})
    silent = w.console()
    dribble = w.console()
    talker = w.console()
    t0 = time.time()
    closed = {}
    while time.time() - t0 < 6 and len(closed) < 2:
        dribble.send_raw(b" ") if "dribble" not in closed else None
        if time.time() - t0 < 5.5:
            check(talker.call("hello")["ok"], "the talker")
        for name, c in (("silent", silent), ("dribble", dribble)):
            if name not in closed and c.closed(0.25):
                closed[name] = time.time() - t0
    check(set(closed) == {"silent", "dribble"}, "not closed: %s", closed)
    check(all(1.5 <= t <= 4.5 for t in closed.values()), "closed at %s (idle_s 2)",
          closed)
    check(silent.notices == ["closing: idle for 2 s"], "notices: %s", silent.notices)
    check(not talker.closed(0.5), "the talker was closed")
    check(talker.call("hello")["ok"], "the talker after")
    for c in (silent, dribble, talker):
        c.close()
    print("idle: closed after %s s" % {k: round(v, 1) for k, v in closed.items()})
    w.polls_on("idle clients")
    w.finish()


def many(env):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    w = ConsoleWorld(env, {"max_clients": 8})
    rss0 = w.rss_kb()
    socks, t0 = [], time.time()
    for _ in range(1000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        for _try in range(100):
            try:
                s.connect(w.sock)
                break
            except (BlockingIOError, ConnectionRefusedError, OSError):
                time.sleep(0.02)	# the listen backlog is full: try again
        socks.append(s)
    took = time.time() - t0
    w.polls_on("1000 connections")
    served, busy = [], 0
    for s in socks:
        s.settimeout(0.05)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            served.append(s)
            continue
        check(data == b'{"id":0,"ok":false,"error":"busy: 8 consoles connected"}\n',
              "refusal: %r", data)
        busy += 1
    check(len(served) == 8 and busy == 992, "served %d, refused %d", len(served), busy)
    rss1 = w.rss_kb()
    check(rss1 - rss0 < w.rss_bound_kb(2048), "RSS grew by %d kB", rss1 - rss0)
    log = w.log()
    check(1 <= log.count("consoles connected already") <= 10,
          "refusals logged %d times", log.count("consoles connected already"))
    for s in served:
        s.sendall(b'{"id":1,"cmd":"hello"}\n')
        s.settimeout(5)
        check(b'"ok":true' in s.recv(4096), "a served one answers")
    for s in socks:
        s.close()
    # The slots come free again.
    def fresh():
        try:
            with w.console(2) as c:
                return c.call("hello", timeout=2)["ok"]
        except (Closed, TimeoutError, OSError):
            return False
    wait(fresh, 5, "a connection after all closed")
    # Connect and go, a thousand times.
    for _ in range(1000):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(w.sock)
        except OSError:
            pass
        s.close()
    wait(fresh, 5, "a connection after 1000 quick ones")
    rss2 = w.rss_kb()
    check(rss2 - rss0 < w.rss_bound_kb(2048), "RSS grew by %d kB", rss2 - rss0)
    print("many: 1000 connections in %.1f s: 8 served, 992 refused; RSS %d -> %d "
          "-> %d kB" % (took, rss0, rss1, rss2))
    w.polls_on("1000 connections closed")
    w.finish()


def as_user(path, uid, gid, groups):
    """In a child with those ids: what connecting to path gets."""
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(path)
            time.sleep(0.2)	# a refusal comes unasked, before any request
            try:
                s.sendall(b'{"id":3,"cmd":"hello"}\n')
            except OSError:
                pass	# refused and closed already
            data = b""
            while b"\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            s.settimeout(1)
            try:
                more = s.recv(4096)	# refused: closed right after
            except socket.timeout:
                more = b"<open>"
            os.write(wfd, data + b"|" + more)
        except Exception as e:	# noqa: BLE001 (the child reports anything)
            os.write(wfd, ("error: %s" % e).encode())
        os._exit(0)
    os.close(wfd)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out


def peer(env):
    if os.geteuid() != 0:
        print("peer: skipped: needs root (setuid in a child)")
        return
    group = grp.getgrnam("adm")
    os.chmod(env.dir, 0o711)	# the children may reach the socket's directory
    w = ConsoleWorld(env, {"mode": "0666", "group": "adm"})
    st = os.stat(w.sock)
    check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666 and
          st.st_gid == group.gr_gid, "socket file mode %o gid %d",
          stat.S_IMODE(st.st_mode), st.st_gid)
    out = as_user(w.sock, 65534, 65534, [])
    check(out == b'{"id":0,"ok":false,"error":"refused: uid 65534 is not root, the '
          b"daemon's user or a member of group 'adm'\"}\n|", "nobody: %r", out)
    out = as_user(w.sock, 65534, 65534, [group.gr_gid])
    check(out.startswith(b'{"id":3,"ok":true') and out.endswith(b"|<open>"),
          "supplementary member: %r", out)
    out = as_user(w.sock, 65534, group.gr_gid, [])
    check(out.startswith(b'{"id":3,"ok":true'), "primary member: %r", out)
    log = w.log()
    check(log.count("refused: uid 65534") == 1, "the refusal logged %d times",
          log.count("refused: uid 65534"))
    w.polls_on("a peer refused")
    w.finish()


def login(env):
    w = ConsoleWorld(env, {"open": ["status"]})
    with w.console() as c:
        r = c.call("hello")
        check(r["ok"] and r["data"]["login"] is False and r["data"]["open"] ==
              ["status"] and r["data"]["gateway"] == "gw-test", "hello: %s", r)
        check(c.call("status")["ok"], "status is open")
        for cmd in ("devices", "uplink", "commands", "update", "identity", "log"):
            r = c.call(cmd)
            check(r == {"id": r["id"], "ok": False, "error": "login required: '%s' "
                        "(see 'help login')" % cmd}, "%s: %s", cmd, r)
        r = c.call("help")
        names = {x["name"]: x["class"] for x in r["data"]["commands"]}
        check(names.get("hello") == "none" and names.get("status") == "read",
              "help: %s", names)
        r = c.call("help", "status")
        check(r["ok"] and len(r["data"]["commands"]) == 1 and
              r["data"]["commands"][0]["usage"] == "status", "help status: %s", r)
        check(c.call("help", "nosuch")["error"] == "help: no command 'nosuch'",
              "help nosuch")
        check(c.call("cancel", "5")["error"] == "cancel: request 5 is not running",
              "cancel")
        check(c.call("nosuch")["error"] == "unknown command 'nosuch' (see 'help')",
              "unknown")
        check(c.call("hello", "x")["error"] == "hello: usage: hello", "usage")
        check(c.call("hello", body="x")["error"] == "hello: takes no body", "body")
    w.polls_on("login checks")
    w.finish()


def info(env):
    open_all = ["status", "devices", "uplink", "commands", "update", "identity",
                "log"]
    w = ConsoleWorld(env, {"open": open_all})
    rc, recs, err = w.send("state")
    check(rc == 0, "send: %s", err)
    w.polls_on("the state command")
    with w.console() as c:
        s = c.call("status")["data"]
        check(s["uplink"]["kind"] == "mqtt" and s["uplink"]["connected"] is True and
              s["uplink"]["server"] == "127.0.0.1:%d" % w.port and
              s["devices"] == {"total": 1, "answering": 1} and s["clock_synced"] and
              s["slot"] is None and s["uptime_s"] >= 0 and
              set(s["drops"]) >= {"evicted", "disk_full"}, "status: %s", s)
        d = c.call("devices")["data"]["devices"]
        check(len(d) == 1 and d[0]["name"] == "meter" and d[0]["bus"] == "lan" and
              d[0]["unit"] == 1 and d[0]["profile"] == "sdm630" and
              d[0]["answering"] and d[0]["polls"] >= 1 and d[0]["last"] == "ok",
              "devices: %s", d)
        u = c.call("uplink")["data"]
        check(u["kind"] == "mqtt" and u["acked"] >= 1 and u["commands"] is True,
              "uplink: %s", u)
        cm = c.call("commands")["data"]["commands"]
        check(cm and cm[0]["type"] == "state" and cm[0]["state"] == "applied",
              "commands: %s", cm)
        one = c.call("commands", "id=" + cm[0]["id"])["data"]["commands"]
        check(one == cm[:1], "commands id=: %s", one)
        check(c.call("commands", "0")["error"] == "commands: '0' is not a number "
              "1..200", "commands 0")
        up = c.call("update")["data"]
        check(up["job"] is None, "update: %s", up)
        lg = c.call("log", "5")["data"]["lines"]
        check(len(lg) == 5 and all(l.startswith("wattgate: ") for l in lg),
              "log: %s", lg)
        lg = c.call("log", "256")["data"]["lines"]
        check(any("console: serving" in l for l in lg), "log 256: %s", lg[:3])
        idn = c.call("identity", timeout=30)
        check(idn["ok"] and idn["data"]["fingerprint"].startswith("sha256:") and
              len(idn["data"]["fingerprint"]) == 71 and "BEGIN CERTIFICATE REQUEST"
              in idn["data"]["csr"], "identity: %s", idn)
        # A long request: a second is busy, cancel ends the first.
        first = c.request("identity")
        r = c.call("identity")
        check(r["error"] == "busy: request %d is still running (cancel it first)"
              % first, "second identity: %s", r)
        r = c.call("cancel", str(first))
        check(r["ok"] and c.reply(first) == {"id": first, "ok": False,
                                               "error": "canceled"}, "cancel: %s", r)
        check(c.call("hello")["ok"], "hello after the cancel")
        again = c.call("identity", timeout=30)
        check(again.get("data") == idn["data"], "identity again: %s", again)
        # A console killed in the middle of one: its request is canceled.
        gone = w.console()
        gone.request("identity")
        gone.close()
        def identity_ok():
            r = c.call("identity", timeout=30)
            check(r["ok"] or "busy with another" in r["error"], "%s", r)
            return r["ok"]
        wait(identity_ok, 10, "identity after a console left in the middle")
        fp = [l for l in w.log().splitlines() if "fingerprint sha256:" in l]
        check(fp and fp[0].endswith(idn["data"]["fingerprint"]),
              "identity's fingerprint is not the daemon's: %s", fp)
    w.finish()


SCENARIOS = {"oversized": oversized, "garbage": garbage, "escapes": escapes,
             "idle": idle, "many": many, "peer": peer, "login": login,
             "info": info}


def main(build, scenario):
    with Env(build) as env:
        SCENARIOS[scenario](env)
    print("ok: console_socket %s" % scenario)


if __name__ == "__main__":
    run(main)
