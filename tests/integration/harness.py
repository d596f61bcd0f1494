"""Process harness for integration tests: real mosquitto, simulator, daemon and
receiver on loopback, each started and stopped by the test itself.

Every process is killed when the test ends (even on failure), and its stderr is kept
in the test's work directory and printed when a test fails.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal


class Fail(Exception):
    pass


# Below the kernel's ephemeral range (32768..60999 on Linux): a port the
# kernel hands out (bind to 0, and every outgoing connection of the tests
# running in parallel) could be taken by another test between this pick
# and its use (seen: a receiver's CoAP bind "Address already in use").
PORT_LO, PORT_HI = 20000, 32767


def _pick_port(kind):
    rnd = random.SystemRandom()
    for _ in range(200):
        port = rnd.randint(PORT_LO, PORT_HI)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise Fail("no free port in %d..%d" % (PORT_LO, PORT_HI))


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now."""
    return _pick_port(socket.SOCK_STREAM)


def free_udp_port():
    """The same for UDP."""
    return _pick_port(socket.SOCK_DGRAM)


class Proc:
    def __init__(self, name, argv, workdir, stdout=None, env=None, session=False):
        self.name = name
        # session: its own process group, killed whole at the end (a
        # launcher and the daemon it runs: a power cut takes both).
        self.session = session
        self.err_path = os.path.join(workdir, name + ".stderr")
        self.out_path = stdout or os.path.join(workdir, name + ".stdout")
        self.err = open(self.err_path, "w")
        self.out = open(self.out_path, "w")
        self.p = subprocess.Popen(argv, stdout=self.out, stderr=self.err,
                                  stdin=subprocess.DEVNULL, env=env,
                                  start_new_session=session)

    def wait_for(self, path, text, timeout=15):
        """Wait until the file (stdout or stderr) contains text; return that line."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(path) as f:
                for line in f:
                    if text in line:
                        return line.strip()
            if self.p.poll() is not None:
                raise Fail("%s exited (%s) before printing %r:\n%s" %
                           (self.name, self.p.returncode, text, self.tail()))
            time.sleep(0.05)
        raise Fail("%s did not print %r within %ss:\n%s" %
                   (self.name, text, timeout, self.tail()))

    def state(self, timeout=15):
        """What the daemon's store holds, as {key: int}: SIGUSR1 makes it log one
        'state: store k=v ...' line. The daemon keeps its database locked
        (locking_mode=EXCLUSIVE), so this is the only view while it runs."""
        def lines():
            if not self.err.closed:
                self.err.flush()
            with open(self.err_path) as f:
                return [l for l in f if "state: store " in l]
        # Before main() blocks SIGUSR1 its default action would kill the daemon.
        self.wait_for(self.err_path, " device(s) on ", timeout)
        n = len(lines())
        self.p.send_signal(signal.SIGUSR1)
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = lines()
            if len(got) > n:
                kv = got[-1].split("state: store ", 1)[1].split()
                return {k: int(v) for k, v in (x.split("=", 1) for x in kv)}
            if self.p.poll() is not None:
                raise Fail("%s exited (%s) before logging its state:\n%s" %
                           (self.name, self.p.returncode, self.tail()))
            time.sleep(0.05)
        raise Fail("%s did not log its state within %ss:\n%s" %
                   (self.name, timeout, self.tail()))

    def stderr(self):
        """The whole log, for assertions on what it says."""
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def tail(self, n=4000):
        """The log's last n characters, for failure messages."""
        return self.stderr()[-n:]

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise Fail("%s did not stop within %ss of %s" %
                           (self.name, timeout, signal.Signals(sig).name))
        self.out.close()
        self.err.close()
        return self.p.returncode


class Env:
    """A test's world: work dir, build dir, processes; use as a context manager."""

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.src = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        self.dir = tempfile.mkdtemp(prefix="wg-it-")
        self.procs = []
        # Under sanitizers or valgrind the daemon is run through a wrapper.
        self.wrap = os.environ.get("WG_WRAP", "").split()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        failed = et is not None
        for p in reversed(self.procs):
            if p.session:
                try:
                    os.killpg(p.p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if p.p.poll() is None:
                p.p.kill()
                p.p.wait()
            if failed:
                sys.stderr.write("---- %s stderr ----\n%s\n" % (p.name, p.tail()))
        if not failed and not os.environ.get("WG_KEEP"):
            subprocess.call(["rm", "-rf", self.dir])
        else:
            sys.stderr.write("work dir kept: %s\n" % self.dir)
        return False

    def bin(self, *parts):
        return os.path.join(self.build, *parts)

    def start(self, name, argv, stdout=None, env=None, session=False):
        p = Proc(name, argv, self.dir, stdout, env, session)
        self.procs.append(p)
        return p

    def mosquitto(self, port=None, extra=""):
        """extra: more lines for its configuration file."""
        port = port or free_port()
        conf = os.path.join(self.dir, "mosquitto-%d.conf" % port)
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence false\n%s" % (port, extra))
        p = self.start("mosquitto-%d" % port, ["mosquitto", "-c", conf])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return p, port
            except OSError:
                if p.p.poll() is not None:
                    raise Fail("mosquitto exited:\n" + p.stderr())
                time.sleep(0.05)
        raise Fail("mosquitto did not listen on %d" % port)

    def sim(self, name, devices, where, profiles=None, extra=()):
        """devices: ["1:sdm630", ...]; where: "tcp", "rtu-tcp" (RTU frames
        on TCP; "rtu-tcp:PORT" for a given port) or an RTU link path;
        extra: more wattgate-sim options (e.g. ["--invalid-every", "3"])."""
        argv = [self.bin("tools", "sim", "wattgate-sim"), "--profiles",
                profiles or os.path.join(self.src, "drivers", "profiles"),
                "--log", os.path.join(self.dir, name + ".log")] + list(extra)
        for d in devices:
            argv += ["--device", d]
        net = where == "tcp" or where.startswith("rtu-tcp")
        if where == "tcp":
            argv += ["--tcp", "127.0.0.1:0"]
        elif net:
            argv += ["--rtu-tcp", "127.0.0.1:" + (where.split(":", 1) + ["0"])[1]]
        else:
            argv += ["--rtu", where]
        p = self.start(name, argv)
        line = p.wait_for(p.out_path, "ready")
        if net:
            return p, int(line.rsplit(":", 1)[1])
        return p, where

    def recv(self, port, name="recv"):
        p = self.start(name, [self.bin("tools", "recv", "wattgate-recv"),
                              "-h", "127.0.0.1", "-p", str(port)])
        p.wait_for(p.err_path, "subscribed")
        return p

    def gateway(self, site, name="gateway", env=None):
        """The daemon on site; env: its environment (None: ours)."""
        path = os.path.join(self.dir, name + ".json")
        with open(path, "w") as f:
            json.dump(site, f, indent=2)
        return self.start(name, self.wrap + [
            self.bin("firmware", "core", "wattgate"), "-c", path], env=env)

    def one_meter(self, mqtt_port, interval=1):
        """The common world: one SDM630 "meter" (unit 1) on a TCP simulator, and
        a site config polling it. Returns (simulator Proc, site dict)."""
        sim, sim_port = self.sim("sim", ["1:sdm630"], "tcp")
        site = self.site(mqtt_port, interval=interval,
                         buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                                 "port": sim_port}],
                         devices=[{"name": "meter", "bus": "lan", "unit": 1,
                                   "profile": "sdm630"}])
        return sim, site

    def site(self, mqtt_port, buses, devices, interval=1, gateway="gw-test"):
        return {"gateway": gateway, "interval_s": interval,
                "store": os.path.join(self.dir, "state", "store.db"),
                "profiles": os.path.join(self.src, "drivers", "profiles"),
                "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
                "buses": buses, "devices": devices}


def read_jsonl(path):
    """The complete lines of a JSON-lines file. A file still being written
    may end in half a line (the receiver's output buffer filled mid-line
    during a large backlog batch): that part is left for the next read."""
    out = []
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            line = line.strip()
            if line:
                out.append(json.loads(line, parse_float=Decimal))
    return out


def check(cond, msg, *args):
    if not cond:
        raise Fail(msg % args if args else msg)


def run(main):
    """Entry point of a test script: main(BUILD_DIR[, ARG]); a Fail prints one line,
    exit 1. The optional ARG (a scenario name) is passed only when given."""
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: %s BUILD_DIR [ARG]" % sys.argv[0])
    try:
        main(*sys.argv[1:])
    except Fail as e:
        print("FAIL: %s" % e)
        sys.exit(1)


def wait(cond, timeout, what, step=0.1):
    """Poll cond() until it is true; Fail naming `what` after timeout seconds."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise Fail("timed out: " + what)
        time.sleep(step)


def device_metrics(mqtt_port, gateway="gw-test"):
    """The "devices" of the retained metrics message (docs/bus-health.md)."""
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(mqtt_port),
                        "-t", "wg/%s/metrics" % gateway, "-C", "1", "-W", "10"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.strip(), "no metrics: %s", r.stderr)
    return json.loads(r.stdout)["devices"]


def sim_faults(sim, path, text, n):
    """Write text to the simulator's --fault-file, SIGUSR1 it, and wait for
    its n-th "wattgate-sim: faults from" line (the start's load is the 1st)."""
    with open(path, "w") as f:
        f.write(text)
    sim.p.send_signal(signal.SIGUSR1)

    def loaded():
        with open(sim.err_path) as f:
            return f.read().count("wattgate-sim: faults from") >= n
    wait(loaded, 15, "fault file load #%d of %s" % (n, sim.name))


def served_values(*logs):
    """{(unit, point, Decimal value): [t_ms, ...]} from simulator --log files."""
    served = {}
    for log in logs:
        for r in read_jsonl(log):
            if "point" in r and r["value"] is not None:
                served.setdefault((r["unit"], r["point"], Decimal(str(r["value"]))),
                                  []).append(r["t_ms"])
    return served


def check_served_in_cycle(got, served, interval_ms, why=""):
    """Every value printed (got: {cycle ts: {unit: [readings]}}) was served for
    that unit and point within its own cycle, not before (a late answer taken
    for a new one) nor after. Returns how many values were checked."""
    n = 0
    for ts, by_unit in got.items():
        for u, rs in by_unit.items():
            for r in rs:
                if r.get("value") is None:
                    continue
                n += 1
                when = served.get((u, r["quantity"], Decimal(str(r["value"]))), [])
                check(any(ts <= t < ts + interval_ms for t in when),
                      "cycle %d: unit %d %s = %s was served at %s, not in this "
                      "cycle%s", ts, u, r["quantity"], r["value"], when, why)
    return n
