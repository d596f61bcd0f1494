"""The daemon under a service manager (Type=notify, WatchdogSec=): this test
plays systemd's side on a datagram socket named by NOTIFY_SOCKET, reading
each message with the sender's pid (SO_PASSCRED, as systemd checks
NotifyAccess=) and the kernel's arrival time (SO_TIMESTAMP).

lifecycle: READY=1 (with a first WATCHDOG=1) arrives once the store file
    exists and before the first reading is served; WATCHDOG=1 at half of
    WATCHDOG_USEC; SIGHUP gives RELOADING=1 (with MONOTONIC_USEC= and a
    last ping) then READY=1 again from the same pid (the re-executed
    daemon), and the pings go on; a SIGHUP with a config that is not valid
    gives RELOADING=1 and READY=1 at once, nothing re-executed; SIGTERM
    gives STOPPING=1 and exit 0. Then a daemon told WATCHDOG_PID of another
    process: READY=1, no pings (the watchdog is that process's, not ours).
hang: the socket by an abstract name ("@..."); pings at the period, then
    tests/preload/hang_loop.c hangs the main loop: no WATCHDOG=1 for more
    than two watchdog periods while the process is still alive (systemd
    would kill and restart it now).
state_dir: a missing state directory is said and made (READY=1); one that is
    there but read-only (a bind mount in a mount namespace of the daemon's
    own) is said in one line, exit 1, and no READY=1.
missing_port: an RS-485 bus whose port is not there: READY=1, one line at
    the start naming it, the TCP bus polled all along; then the port
    appears and its meter is read.

usage: test_notify.py BUILD_DIR SCENARIO
"""
import array
import os
import signal
import socket
import struct
import subprocess
import time

from harness import run, Env, Fail, check, free_port, read_jsonl, wait

SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)     # asm-generic
WATCHDOG_USEC = 1000000                                 # pings every 0.5 s


class Manager:
    """systemd's end of NOTIFY_SOCKET. address: a path, or "@name"."""

    def __init__(self, address):
        self.address = address
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind("\0" + address[1:] if address.startswith("@") else address)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        self.got = []       # every message: (time, pid, {key: value})

    def recv(self, timeout):
        """The next message, or None after timeout seconds."""
        self.s.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.s.recvmsg(4096, 256)
        except socket.timeout:
            return None
        t, pid = time.time(), None
        for level, kind, val in anc:
            if level != socket.SOL_SOCKET:
                continue
            if kind == socket.SCM_CREDENTIALS:
                pid = array.array("i", val[:12])[0]
            elif kind == SO_TIMESTAMP:
                sec, usec = struct.unpack("qq", val[:16])
                t = sec + usec / 1e6
        kv = dict(l.split("=", 1) for l in data.decode().split("\n") if l)
        self.got.append((t, pid, kv))
        return self.got[-1]

    def wait(self, key, timeout, what):
        """The first message with key; Fail after timeout seconds."""
        deadline = time.time() + timeout
        while True:
            m = self.recv(deadline - time.time())
            if m is not None and key in m[2]:
                return m
            if m is None:
                raise Fail("no %s within %ss (%s); got %s" %
                           (key, timeout, what, [x[2] for x in self.got[-5:]]))

    def collect(self, seconds):
        """Every message of the next `seconds`."""
        out, deadline = [], time.time() + seconds
        while time.time() < deadline:
            m = self.recv(deadline - time.time())
            if m is not None:
                out.append(m)
        return out

    def drain(self):
        while self.recv(0.001) is not None:
            pass


def daemon_env(env, mgr, **kw):
    e = dict(os.environ)
    e["NOTIFY_SOCKET"] = mgr.address
    e["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
    e.pop("WATCHDOG_PID", None)
    e.update(kw)
    return e


def check_pings(msgs, pid, what):
    """WATCHDOG=1 from pid at half the watchdog period: gaps well inside it."""
    t = [m[0] for m in msgs if m[2].get("WATCHDOG") == "1"]
    check(all(m[1] == pid for m in msgs), "%s: a message not from pid %d: %s",
          what, pid, msgs)
    check(len(t) >= 4, "%s: %d WATCHDOG=1 in 3 s, want about 6", what, len(t))
    gaps = [b - a for a, b in zip(t, t[1:])]
    period = WATCHDOG_USEC / 1e6
    check(all(period / 4 < g < period for g in gaps),
          "%s: WATCHDOG=1 gaps %s, want about %.2f s", what,
          ["%.3f" % g for g in gaps], period / 2)
    return gaps


def lifecycle(env):
    mgr = Manager(os.path.join(env.dir, "notify.sock"))
    sim, site = env.one_meter(free_port())
    store = site["store"]
    gw = env.gateway(site, env=daemon_env(env, mgr))
    t_ready, pid, kv = mgr.wait("READY", 30, "first start")
    check(pid == gw.p.pid, "READY=1 from pid %s, the daemon is %d", pid, gw.p.pid)
    check(os.path.exists(store), "READY=1 before the store %s exists", store)
    check(not any("WATCHDOG" in m[2] for m in mgr.got[:-1]),
          "WATCHDOG=1 before READY=1: %s", mgr.got)
    check("STATUS" in kv and "gw-test" in kv["STATUS"], "READY=1 without "
          "STATUS naming the gateway: %s", kv)
    check(kv.get("WATCHDOG") == "1", "READY=1 without the first ping: %s", kv)
    sim_log = os.path.join(env.dir, "sim.log")
    wait(lambda: any("point" in r for r in read_jsonl(sim_log)), 30,
         "a first reading served")
    first = min(r["t_ms"] for r in read_jsonl(sim_log) if "point" in r) / 1000.0
    check(t_ready < first, "READY=1 at %.3f, after the first reading at %.3f",
          t_ready, first)

    gaps = check_pings(mgr.collect(3.0), gw.p.pid, "first start")

    gw.p.send_signal(signal.SIGHUP)
    t_rel, pid, kv = mgr.wait("RELOADING", 20, "SIGHUP")
    check(pid == gw.p.pid, "RELOADING=1 from pid %s", pid)
    mono = int(kv.get("MONOTONIC_USEC", "0"))
    now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
    check(0 < now - mono < 30e6, "RELOADING=1 with MONOTONIC_USEC=%s, now %d",
          kv.get("MONOTONIC_USEC"), now)
    check(kv.get("WATCHDOG") == "1", "RELOADING=1 without a last ping (the "
          "re-exec gets a whole period): %s", kv)
    _, pid, kv = mgr.wait("READY", 30, "after the SIGHUP re-exec")
    check(pid == gw.p.pid, "READY=1 after reload from pid %s, the daemon is %d",
          pid, gw.p.pid)
    check(gw.p.poll() is None and gw.stderr().count("device(s) on") == 2,
          "not one re-exec: %s", gw.tail())
    check_pings(mgr.collect(3.0), gw.p.pid, "after reload")

    # A config that is not valid: nothing reloads, and the manager hears
    # of a reload that is over at once (Type=notify-reload waits for it).
    cfg = os.path.join(env.dir, "gateway.json")
    good = open(cfg).read()
    with open(cfg, "w") as f:
        f.write(good.replace('"unit": 1', '"unit": 999'))
    mgr.drain()
    gw.p.send_signal(signal.SIGHUP)
    mgr.wait("RELOADING", 20, "SIGHUP, bad config")
    _, pid, kv = mgr.wait("READY", 5, "SIGHUP, bad config")
    check(pid == gw.p.pid and "not valid" in kv.get("STATUS", ""),
          "READY=1 after a refused reload: pid %s, %s", pid, kv)
    with open(cfg, "w") as f:
        f.write(good)
    check(gw.stderr().count("device(s) on") == 2, "a refused reload "
          "re-executed: %s", gw.tail())

    gw.p.send_signal(signal.SIGTERM)
    _, pid, _ = mgr.wait("STOPPING", 20, "SIGTERM")
    check(pid == gw.p.pid, "STOPPING=1 from pid %s", pid)
    check(gw.stop() == 0, "exit %s after SIGTERM: %s", gw.p.returncode, gw.tail())

    # The watchdog variables are for WATCHDOG_PID only (a child of the
    # service that inherited them must not ping for it).
    mgr.drain()
    gw2 = env.gateway(site, "gw2", env=daemon_env(env, mgr, WATCHDOG_PID="1"))
    _, _, kv = mgr.wait("READY", 30, "WATCHDOG_PID of another process")
    pings = [m for m in mgr.collect(1.5) if "WATCHDOG" in m[2]]
    check("WATCHDOG" not in kv, "READY=1 with a ping, WATCHDOG_PID=1: %s", kv)
    check(not pings, "WATCHDOG=1 with WATCHDOG_PID=1: %s", pings)
    check(gw2.stop() == 0, "gw2 exit: %s", gw2.tail())
    print("notify lifecycle: READY=1 %.0f ms before the first reading; "
          "WATCHDOG=1 every %.0f ms; SIGHUP: RELOADING=1, READY=1 from pid %d; "
          "SIGTERM: STOPPING=1, exit 0; WATCHDOG_PID of another: no pings" %
          ((first - t_ready) * 1000, 1000 * sum(gaps) / len(gaps), gw.p.pid))


def hang(env):
    shim = env.bin("tests", "libhang_loop.so")
    check(os.path.exists(shim), "no %s (built with the tests)", shim)
    mgr = Manager("@wg-notify-%d-%d" % (os.getpid(), time.time_ns() % 1000000))
    trigger = os.path.join(env.dir, "hang")
    e = daemon_env(env, mgr, WG_HANG_FILE=trigger)
    e["LD_PRELOAD"] = ((e["LD_PRELOAD"] + ":") if e.get("LD_PRELOAD") else "") + shim
    if "ASAN_OPTIONS" in e:     # the shim is not the first library ASan sees
        e["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
    sim, site = env.one_meter(free_port())
    gw = env.gateway(site, env=e)
    mgr.wait("READY", 30, "start")
    check_pings(mgr.collect(3.0), gw.p.pid, "before the hang")

    open(trigger, "w").close()
    gw.wait_for(gw.err_path, "hang_loop: main thread hangs", 10)
    # A ping sent before the hang is queued by then: drop it.
    mgr.drain()
    quiet = 2.5 * WATCHDOG_USEC / 1e6
    pings = [m for m in mgr.collect(quiet) if "WATCHDOG" in m[2]]
    check(not pings, "WATCHDOG=1 from a hung loop: %s", pings)
    check(gw.p.poll() is None, "the hung daemon exited (%s): %s",
          gw.p.returncode, gw.tail())
    gw.p.kill()     # systemd's WatchdogSignal= would now
    gw.p.wait()
    print("notify hang: pings every 0.5 s, then none for %.1f s (%.1f watchdog "
          "periods) from the hung, living daemon" %
          (quiet, quiet * 1e6 / WATCHDOG_USEC))


def private_mounts():
    """unshare's flags for a mount namespace of our own: -m as root, -Urm
    (a user namespace) where plain mount namespaces are not permitted."""
    for flags in (["-m"], ["-Urm"]):
        if subprocess.call(["unshare"] + flags + ["true"],
                           stderr=subprocess.DEVNULL) == 0:
            return flags
    return None


def state_dir(env):
    mgr = Manager(os.path.join(env.dir, "notify.sock"))
    sim, site = env.one_meter(free_port())
    state = os.path.dirname(site["store"])
    # Missing: said, made, and the daemon comes up.
    gw = env.gateway(site, env=daemon_env(env, mgr))
    mgr.wait("READY", 30, "a state directory to make")
    missing = gw.wait_for(gw.err_path, "state directory %s is missing" % state)
    check(gw.stop() == 0, "exit after SIGTERM: %s", gw.tail())

    # There, but read-only (a state partition that did not mount under a
    # read-only root): a bind mount in a mount namespace of the daemon's
    # own. One line, exit 1 (its supervisor starts it again), no READY=1.
    flags = private_mounts()
    if flags is None:
        raise Fail("cannot get a private mount namespace (unshare -m and "
                   "unshare -Urm both refused): this case needs a read-only "
                   "bind mount")
    mgr.drain()
    mgr.got.clear()
    saved = env.wrap
    env.wrap = ["unshare"] + flags + [
        "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', state] + saved
    try:
        gw = env.gateway(site, "gw-ro", env=daemon_env(env, mgr))
    finally:
        env.wrap = saved
    try:
        gw.p.wait(30)
    except subprocess.TimeoutExpired:
        raise Fail("the daemon runs on a read-only state directory: %s" % gw.tail())
    check(gw.p.returncode == 1, "exit %s, want 1: %s", gw.p.returncode, gw.tail())
    want = "state directory %s is not writable" % state
    lines = [l for l in gw.stderr().splitlines() if want in l]
    check(lines, "no line %r: %s", want, gw.tail())
    mgr.drain()
    check(not any("READY" in m[2] for m in mgr.got), "READY=1 without a store: %s",
          mgr.got)
    print("notify state_dir: %s | %s; exit 1, no READY=1" % (missing, lines[0]))


def missing_port(env):
    """An RS-485 adapter not plugged in: READY=1 all the same, a line at the
    start naming the port, the TCP meter polled every cycle; the port
    appears (the simulator's pty linked at its path) and its meter answers."""
    mgr = Manager(os.path.join(env.dir, "notify.sock"))
    link = os.path.join(env.dir, "ttyWG-rs485")
    sim_tcp, tcp_port = env.sim("sim-tcp", ["1:sdm630"], "tcp")
    site = env.site(free_port(), interval=1, buses=[
        {"name": "rs485", "type": "rtu", "device": link},
        {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": tcp_port}],
        devices=[{"name": "m1", "bus": "rs485", "unit": 1, "profile": "sdm120"},
                 {"name": "m2", "bus": "lan", "unit": 1, "profile": "sdm630"}])
    gw = env.gateway(site, env=daemon_env(env, mgr))
    mgr.wait("READY", 30, "a missing serial port")
    start = gw.wait_for(gw.err_path, "bus rs485: serial port %s: no such "
                        "serial port" % link)

    def cycles(log):
        return len({r["t_ms"] // 1000 for r in read_jsonl(log) if "point" in r})
    tcp_log = os.path.join(env.dir, "sim-tcp.log")
    wait(lambda: cycles(tcp_log) >= 3, 30, "3 cycles of the TCP meter")
    check(gw.p.poll() is None, "the daemon exited: %s", gw.tail())

    env.sim("sim-rtu", ["1:sdm120"], link)
    gw.wait_for(gw.err_path, "bus rs485: %s is up again" % link, 30)
    rtu_log = os.path.join(env.dir, "sim-rtu.log")
    wait(lambda: cycles(rtu_log) >= 2, 30, "2 cycles of the RS-485 meter")
    n_tcp = cycles(tcp_log)
    check(gw.stop() == 0, "exit after SIGTERM: %s", gw.tail())
    print("notify missing_port: %s | READY=1; the TCP meter polled in %d "
          "cycles; the port appeared, its meter answered" % (start, n_tcp))


def main(build, scenario):
    with Env(build) as env:
        {"lifecycle": lifecycle, "hang": hang, "state_dir": state_dir,
         "missing_port": missing_port}[scenario](env)


if __name__ == "__main__":
    run(main)
