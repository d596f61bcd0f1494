#!/usr/bin/env python3
"""Benchmark: the technician console's socket (docs/console.md).

usage: console.py BUILD_DIR [RUNS] [N]     (tools/bench/run console calls it)

One world on loopback: mosquitto, wattgate-recv, the simulator with 5
SDM630 meters (units 1..5, 21 points each: the ~100-point home of the other
benchmarks) on Modbus TCP, the daemon polling them every second, with a
"console" section that opens "status" (no login needed for it).

Each run has three phases of PHASE_S seconds, in the same daemon:
  idle   nobody on the socket
  rtt    one client sends N (300) `status` requests one after the other,
         each timed from its write to the reply's last byte:
         console_rtt_p50_ms / console_rtt_p99_ms
  flood  four clients at once: two pipelining `status` requests as fast as
         the daemon answers (never more than 64 unanswered), one writing
         binary garbage and overlong lines (closed after 16 bad lines, it
         connects again), one that writes requests and never reads (its
         queue fills to the 256 KiB limit, the daemon closes it, it comes
         back); one more client times `status` meanwhile:
         console_rtt_flood_p99_ms
console_cli_status_ms_p50: `wattgate-console -c status` run 20 times
after the flood, from exec to exit (the program's start, connect, hello,
help, status, the screen): what a script waits for.
Polling is seen where it happens, at the simulator: its log has the wall
time of every answered request. A cycle's tick is the aligned second; its
lateness is the first answer's time minus the tick (the loop's wake-up, the
hand-over to the bus worker, one loopback round trip), its length the last
answer's minus the first. poll_late_p99_ms_idle and _flood are the p99
lateness over the idle and the flood phase, poll_late_ratio their ratio
(flood / idle, the idle figure at least 1 ms); poll_cycle_p99_ms_* the
same for the cycle's length; poll_cycles_missed_flood the ticks of the
flood phase with no answer at all. With RUNS > 1 each figure is the median
of the runs' figures. console_requests_flood: requests answered during
the flood phase (all runs).
"""
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail, read_jsonl, wait   # noqa: E402

PHASE_S = int(os.environ.get("WG_BENCH_CONSOLE_PHASE_S", "20"))
METERS = 5


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


class Client:
    """A console socket client that speaks the protocol directly."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""
        self.id = 0

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def send(self, cmd):
        self.id += 1
        self.s.sendall(b'{"id":%d,"cmd":"%s"}\n' % (self.id, cmd.encode()))
        return self.id

    def call(self, cmd):
        want = self.send(cmd)
        while True:
            line = self.line()
            if line.startswith(b'{"id":%d,' % want) or line.startswith(b'{"id": %d,' % want):
                return line

    def close(self):
        self.s.close()


def rtt(path, n, stop=None):
    c = Client(path)
    c.call("hello")
    out = []
    for _ in range(n):
        if stop is not None and stop.is_set():
            break
        t0 = time.perf_counter()
        line = c.call("status")
        out.append((time.perf_counter() - t0) * 1000)
        if b'"ok":true' not in line.replace(b" ", b""):
            raise Fail("status: %r" % line[:200])
        if stop is not None:
            time.sleep(0.02)
    c.close()
    return out


def pipeliner(path, stop, count):
    """status requests as fast as the daemon answers them, 64 in flight."""
    while not stop.is_set():
        try:
            c = Client(path)
            inflight = 0
            while not stop.is_set():
                while inflight < 64:
                    c.send("status")
                    inflight += 1
                c.line()
                inflight -= 1
                count[0] += 1
        except (OSError, EOFError):
            time.sleep(0.05)


def garbage(path, stop):
    junk = bytes(range(256)) * 16 + b"\n" + b"x" * 70000 + b"\n" + \
        b"\x1b[2J\x1b]0;t\x07{\"id\":\n"
    while not stop.is_set():
        try:
            c = Client(path)
            c.s.settimeout(0.5)
            while not stop.is_set():
                c.s.sendall(junk)
                try:
                    c.s.recv(65536)
                except socket.timeout:
                    pass
        except (OSError, EOFError):
            time.sleep(0.05)


def deaf(path, stop):
    """Writes requests, never reads: its replies pile up at the daemon."""
    while not stop.is_set():
        try:
            c = Client(path)
            c.s.settimeout(1)
            while not stop.is_set():
                c.send("devices")
        except (OSError, EOFError):
            time.sleep(0.05)


def cycles(log, t0, t1):
    """{tick ms: (first answer, last answer)} of the ticks in [t0, t1)."""
    by = {}
    for r in read_jsonl(log):
        if "point" not in r:
            continue
        t = r["t_ms"]
        tick = t - t % 1000
        if t0 <= tick < t1:
            lo, hi = by.get(tick, (t, t))
            by[tick] = (min(lo, t), max(hi, t))
    return by


def poll_figures(log, t0, t1):
    by = cycles(log, t0, t1)
    late = [lo - tick for tick, (lo, hi) in by.items()]
    length = [hi - lo for tick, (lo, hi) in by.items()]
    ticks = range(t0 - t0 % 1000 + 1000, t1 - t1 % 1000, 1000)
    missed = sum(1 for t in ticks if t not in by)
    return pct(late, 0.99), pct(length, 0.99), missed, len(by)


def one_run(build, n):
    with Env(build) as env:
        broker, port = env.mosquitto()
        sim, sim_port = env.sim("sim", ["%d:sdm630" % u for u in range(1, METERS + 1)],
                                "tcp")
        sock = os.path.join(env.dir, "console.sock")
        site = env.site(port, interval=1,
                        buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                                "port": sim_port}],
                        devices=[{"name": "meter%d" % u, "bus": "lan", "unit": u,
                                  "profile": "sdm630"} for u in range(1, METERS + 1)])
        site["console"] = {"socket": sock, "mode": "0600", "open": ["status", "devices"],
                           "max_clients": 8}
        env.recv(port)
        gw = env.gateway(site)
        gw.wait_for(gw.err_path, "console: serving", 20)
        wait(lambda: "mqtt: connected" in gw.stderr(), 20, "connected")
        log = os.path.join(env.dir, "sim.log")
        time.sleep(3)           # the first cycles: profiles, info strings
        ms = lambda: int(time.time() * 1000)
        a0 = ms()
        time.sleep(PHASE_S)
        a1 = ms()
        lat = rtt(sock, n)
        stop = threading.Event()
        count = [0]
        flood = [threading.Thread(target=pipeliner, args=(sock, stop, count)),
                 threading.Thread(target=pipeliner, args=(sock, stop, count)),
                 threading.Thread(target=garbage, args=(sock, stop)),
                 threading.Thread(target=deaf, args=(sock, stop))]
        for t in flood:
            t.daemon = True
            t.start()
        time.sleep(1)
        f0 = ms()
        lat_flood = rtt(sock, 100000, stop=_after(PHASE_S))
        f1 = ms()
        stop.set()
        for t in flood:
            t.join(5)
        if gw.p.poll() is not None:
            raise Fail("the daemon exited under the flood:\n" + gw.tail())
        cli = []
        for _ in range(20):
            t0 = time.perf_counter()
            r = subprocess.run([env.bin("firmware", "console", "wattgate-console"),
                                "-s", sock, "-c", "status"], capture_output=True)
            cli.append((time.perf_counter() - t0) * 1000)
            if r.returncode != 0:
                raise Fail("wattgate-console -c status: %r" % r.stderr)
        idle = poll_figures(log, a0, a1)
        fl = poll_figures(log, f0, f1)
        gw.stop()
        return {"rtt_p50": statistics.median(lat), "rtt_p99": pct(lat, 0.99),
                "rtt_flood_p99": pct(lat_flood, 0.99), "late_idle": idle[0],
                "late_flood": fl[0], "cycle_idle": idle[1], "cycle_flood": fl[1],
                "missed_flood": fl[2], "cycles_idle": idle[3],
                "cycles_flood": fl[3], "requests_flood": count[0], "n": len(lat),
                "cli": statistics.median(cli)}


def _after(seconds):
    ev = threading.Event()
    threading.Timer(seconds, ev.set).start()
    return ev


def main():
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    res = [one_run(build, n) for _ in range(runs)]
    med = lambda k: statistics.median(r[k] for r in res)
    print("console_rtt_p50_ms=%.2f" % med("rtt_p50"))
    print("console_rtt_p99_ms=%.2f" % med("rtt_p99"))
    print("console_rtt_requests=%d" % res[0]["n"])
    print("console_rtt_flood_p99_ms=%.2f" % med("rtt_flood_p99"))
    print("console_cli_status_ms_p50=%.1f" % med("cli"))
    print("console_requests_flood=%d" % sum(r["requests_flood"] for r in res))
    print("poll_late_p99_ms_idle=%d" % med("late_idle"))
    print("poll_late_p99_ms_flood=%d" % med("late_flood"))
    print("poll_late_ratio=%.2f" % (med("late_flood") / max(med("late_idle"), 1)))
    print("poll_cycle_p99_ms_idle=%d" % med("cycle_idle"))
    print("poll_cycle_p99_ms_flood=%d" % med("cycle_flood"))
    print("poll_cycles_missed_flood=%d" % max(r["missed_flood"] for r in res))
    print("console_bench_points=%d" % (METERS * 21))
    print("console_bench_runs=%d" % runs)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
