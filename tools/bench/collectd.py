#!/usr/bin/env python3
"""Benchmark: wattgate and collectd side by side, in one run.

usage: collectd.py BUILD_DIR [RUNS]      (tools/bench/run collectd calls it)

One world for both daemons: one mosquitto, one wattgate-sim serving METERS
SDM630s on Modbus TCP (WG_BENCH_METERS, default 5: the bench home of rss_kb),
the same 21 points of drivers/profiles/sdm630.json per meter, polled every
1 s by both. collectd 5.12 runs with AutoLoadPlugin false and two plugins:
modbus (one <Data> per point: Float, ReadInput, a GAUGE type by unit) and mqtt
(one <Publish>, QoS 1 like wattgate, Prefix "wg" so that its topics are not
longer than wattgate's by naming alone). Its thread counts are collectd's
defaults (5 read, 5 write) unless WG_BENCH_COLLECTD_THREADS=N sets both.

Each daemon reaches the simulator and the broker through counting TCP relays
of its own (this file), so nothing needs changing in the simulator or the
broker, and each count is exact for one daemon:
  - Modbus: the relay cuts the byte stream into MBAP frames (7-byte header,
    its length field): one frame towards the simulator is one request;
  - MQTT: the relay cuts the stream into MQTT packets (fixed header and
    remaining length) and counts the TCP payload bytes in both directions:
    PUBLISH, PUBACK, PINGREQ/PINGRESP, and wattgate's metrics message, all
    of what the connection carries in the window (no TCP/IP headers).
Readings delivered: for wattgate, the readings wattgate-recv printed; for
collectd, the values it published (one PUBLISH per value: each data set has
one data source).

A run starts both daemons, lets them run WG_BENCH_RSS_CYCLES (120) cycles and
samples the last WG_BENCH_RSS_SAMPLED (60): every second VmRSS, RssAnon and
RssFile of /proc/PID/status; at both ends of the window the relays' counts,
the readings, and CPU time. The ends of the window are taken at a phase of the
second where neither daemon is busy (the middle of the largest quiet gap in
their traffic), so a window holds whole cycles of each.

CPU per reading: perf's instruction count over the window when `perf stat -e
instructions` counts on this machine (cpu_method=perf_instructions; not in a
VM without a PMU), otherwise user+system CPU time (cpu_method=schedstat_ns):
the sum over the process's threads of /proc/PID/task/TID/schedstat's first
field, the on-CPU time in ns. That is the very figure /proc/PID/stat's
utime+stime are scaled to (the kernel splits the exact runtime by its tick
samples), but stat gives it in 10 ms ticks: wattgate uses ~70 ms in a 60 s
window, so stat's figure moves by +-15% with the rounding alone. It is
printed beside it as *_stat (cpu_vs_collectd_stat). schedstat misses a
thread that ended inside the window; a run where the set of threads changed
uses the stat figure instead and says so.

Prints key=value lines, medians over RUNS runs (default 3); "_vs_collectd" is
wattgate / collectd:
  rss_anon_vs_collectd, rss_vs_collectd, own_anon_vs_collectd,
  cpu_vs_collectd, bytes_vs_collectd, requests_vs_collectd, cpu_method, and
  per daemon (wattgate_, collectd_): rss_anon_kb, own_anon_kb (anonymous
  memory outside the files both daemons map, from /proc/PID/smaps at the end
  of the window), shared_lib_anon_kb (the rest: the relocated data of the
  libraries both map), rss_kb, rss_file_kb, cpu_us_per_reading (and _stat),
  mqtt_bytes_per_reading (both directions), mqtt_up_bytes_per_reading,
  modbus_requests_per_reading, modbus_bytes_per_reading, readings_per_s.
WG_BENCH_SMAPS=DIR keeps each run's /proc/PID/smaps of both daemons there.
"""
import collections
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail         # noqa: E402
from tcprelay import TcpRelay         # noqa: E402

COLLECTD = "/usr/sbin/collectd"
TYPES_DB = "/usr/share/collectd/types.db"
GATEWAY = "gw-demo"
# collectd's types.db data set for a profile unit; all are one GAUGE.
TYPE_OF_UNIT = {"V": "voltage", "A": "current", "W": "power", "VA": "power",
                "var": "power", "Hz": "frequency", "kWh": "energy", "": "gauge"}
MQTT_PUBLISH = 3


def log(msg):
    sys.stderr.write("collectd: %s\n" % msg)


class Counter:
    """Cuts one direction of a TCP stream into frames and counts them."""

    def __init__(self, frame_len):
        self.frame_len = frame_len      # bytes -> length of the first frame, or None
        self.buf = b""
        self.bytes = 0
        self.frames = 0
        self.kinds = {}                  # first byte's kind -> frames

    def feed(self, data, kind):
        self.bytes += len(data)
        self.buf += data
        while True:
            n = self.frame_len(self.buf)
            if n is None or len(self.buf) < n:
                return
            k = kind(self.buf[:n])
            self.frames += 1
            self.kinds[k] = self.kinds.get(k, 0) + 1
            self.buf = self.buf[n:]


def mbap_len(b):
    """Modbus TCP: a 6-byte MBAP prefix, then `length` bytes (unit + PDU)."""
    if len(b) < 6:
        return None
    return 6 + int.from_bytes(b[4:6], "big")


def mbap_kind(frame):
    """'exception' for an exception answer, else 'ok'."""
    return "exception" if len(frame) > 7 and frame[7] & 0x80 else "ok"


def mqtt_len(b):
    """MQTT: a type byte, the remaining length (1..4 varint bytes), the rest."""
    n, shift = 0, 0
    for i in range(1, 5):
        if len(b) <= i:
            return None
        n |= (b[i] & 0x7F) << shift
        shift += 7
        if not b[i] & 0x80:
            return 1 + i + n
    raise Fail("relay: a malformed MQTT remaining length")


def mqtt_kind(frame):
    """The packet type (3 PUBLISH, 4 PUBACK, ...); a PUBLISH by its topic's
    last level: wattgate's batches ("b"), its metrics, or a collectd value."""
    t = frame[0] >> 4
    if t != MQTT_PUBLISH:
        return t
    i = 1
    while frame[i] & 0x80:
        i += 1
    tl = int.from_bytes(frame[i + 1:i + 3], "big")
    topic = frame[i + 3:i + 3 + tl].decode("utf-8", "replace")
    last = topic.rsplit("/", 1)[-1]
    return "publish:" + (last if last in ("b", "metrics", "status") or
                         "/s/" in topic else "value")


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target, one daemon's traffic, counted."""

    def __init__(self, name, target, frame_len, kind):
        self.name = name
        self.up = Counter(frame_len)       # daemon -> server
        self.down = Counter(frame_len)     # server -> daemon
        self.kind = kind
        self.times = []                    # when upward data came (activity)
        self.relay = TcpRelay(target, self.feed, self.new_stream, nodelay=True)
        self.port = self.relay.port
        self.lock = self.relay.lock

    def new_stream(self):
        """A new connection starts a new stream to cut."""
        self.up.buf = self.down.buf = b""

    def feed(self, upward, buf):
        if upward:
            self.up.feed(buf, self.kind)
            self.times.append(time.time())
            del self.times[:-2000]
        else:
            self.down.feed(buf, self.kind)

    def snapshot(self):
        with self.lock:
            return {"up_bytes": self.up.bytes, "down_bytes": self.down.bytes,
                    "up_frames": self.up.frames, "down_frames": self.down.frames,
                    "up_kinds": dict(self.up.kinds),
                    "down_kinds": dict(self.down.kinds)}

    def recent(self, since):
        with self.lock:
            return [t for t in self.times if t >= since]

    def close(self):
        self.relay.close()


def quiet_phase(times):
    """The phase of the second (0..1) in the middle of the largest gap in
    `times` (both daemons' traffic of the last seconds)."""
    fr = sorted(t % 1.0 for t in times)
    if not fr:
        return 0.5
    best, at = -1.0, 0.5
    for i, f in enumerate(fr):
        nxt = fr[i + 1] if i + 1 < len(fr) else fr[0] + 1.0
        if nxt - f > best:
            best, at = nxt - f, (f + (nxt - f) / 2) % 1.0
    return at


def status_kb(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def cpu_ticks(pid):
    """utime + stime of the whole process (every thread, also exited ones)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def sched_ns(pid):
    """(on-CPU ns of the process's live threads, their ids): schedstat."""
    total, tids = 0, set()
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
            tids.add(t)
        except OSError:
            pass
    return total, tids


def perf_works():
    """True if perf counts instructions here (not in most VMs: no PMU)."""
    if shutil.which("perf") is None:
        return False
    p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "true"],
                       capture_output=True, text=True)
    for line in p.stderr.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("instructions"):
            return f[0].isdigit()
    return False


class Perf:
    """perf stat -e instructions attached to one process for the window."""

    def __init__(self, pid, path):
        self.path = path
        self.p = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions",
                                   "-p", str(pid), "-o", path],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(10)
        with open(self.path) as f:
            for line in f:
                fld = line.split(",")
                if len(fld) > 2 and fld[2].startswith("instructions") and \
                        fld[0].isdigit():
                    return int(fld[0])
        raise Fail("perf stat counted no instructions (%s)" % self.path)


def collectd_conf(path, base, points, meters, sim_port, mqtt_port, threads):
    data, collect = [], []
    for p in points:
        data.append('  <Data "%s">\n    RegisterBase %d\n    RegisterType Float\n'
                    '    RegisterCmd ReadInput\n    Type %s\n    Instance "%s"\n'
                    '  </Data>\n' % (p["name"], p["address"],
                                     TYPE_OF_UNIT[p["unit"]], p["name"]))
        collect.append('      Collect "%s"\n' % p["name"])
    slaves = "".join('    <Slave %d>\n      Instance "meter%d"\n%s    </Slave>\n'
                     % (u, u, "".join(collect)) for u in range(1, meters + 1))
    thr = ("ReadThreads %d\nWriteThreads %d\n" % (threads, threads)
           if threads else "")
    with open(path, "w") as f:
        f.write('Hostname "%s"\nFQDNLookup false\nBaseDir "%s"\n'
                'PIDFile "%s/collectd.pid"\nInterval 1\nAutoLoadPlugin false\n'
                'TypesDB "%s"\n%sLoadPlugin modbus\nLoadPlugin mqtt\n'
                '<Plugin modbus>\n%s  <Host "%s">\n    Address "127.0.0.1"\n'
                '    Port "%d"\n%s  </Host>\n</Plugin>\n'
                '<Plugin mqtt>\n  <Publish "platform">\n    Host "127.0.0.1"\n'
                '    Port "%d"\n    ClientId "collectd-%s"\n    Prefix "wg"\n'
                '    QoS 1\n  </Publish>\n</Plugin>\n'
                % (GATEWAY, base, base, TYPES_DB, thr, "".join(data), GATEWAY,
                   sim_port, slaves, mqtt_port, GATEWAY))


def profile_points():
    import json
    with open(os.path.join(SRC, "drivers", "profiles", "sdm630.json")) as f:
        prof = json.load(f)
    d = prof["defaults"]
    for p in prof["points"]:
        # collectd's Float is two registers, high word first: the profile's
        # f32 ABCD. Anything else would need another RegisterType.
        if p.get("type", d["type"]) != "f32" or p.get("order", d["order"]) != "ABCD" \
                or p.get("fc", d["fc"]) != 4:
            raise Fail("sdm630 point %s is not an f32 ABCD input register" % p["name"])
    return prof["points"]


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.startswith(b"{"))


class Daemon:
    def __init__(self, name, proc, mb, mq, readings):
        self.name, self.proc, self.mb, self.mq = name, proc, mb, mq
        self.readings = readings          # () -> readings delivered so far
        self.mem = {"VmRSS": [], "RssAnon": [], "RssFile": []}

    @property
    def pid(self):
        return self.proc.p.pid

    def alive(self):
        if self.proc.p.poll() is not None:
            raise Fail("%s exited:\n%s" % (self.name, self.proc.tail()))

    def snap(self):
        return {"t": time.time(), "mb": self.mb.snapshot(), "mq": self.mq.snapshot(),
                "r": self.readings(), "ticks": cpu_ticks(self.pid),
                "ns": sched_ns(self.pid)}


def smaps_anon(pid):
    """{mapping path or None: Anonymous kB} of /proc/PID/smaps."""
    out, name = collections.Counter(), None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = parts[5] if len(parts) >= 6 and parts[5].startswith("/") \
                    else None
            elif parts and parts[0] == "Anonymous:":
                out[name] += int(parts[1])
    return out


def own_anon(both):
    """Each daemon's anonymous memory outside the files both map (the same
    libraries: libc, libssl, libcrypto, libmosquitto, libmodbus; their
    relocated data is the same in both), and that shared part."""
    maps = {d.name: smaps_anon(d.pid) for d in both}
    common = set.intersection(*(set(k for k in m if k) for m in maps.values()))
    return ({n: sum(v for k, v in m.items() if k not in common)
             for n, m in maps.items()},
            {n: sum(v for k, v in m.items() if k in common)
             for n, m in maps.items()})


def collectd_values(relay):
    return relay.snapshot()["up_kinds"].get("publish:value", 0)


def figures(d, s0, s1, instr):
    r = s1["r"] - s0["r"]
    if r <= 0:
        raise Fail("%s: no reading delivered in the window" % d.name)
    secs = s1["t"] - s0["t"]
    mq = {k: s1["mq"][k] - s0["mq"][k] for k in ("up_bytes", "down_bytes")}
    req = s1["mb"]["up_frames"] - s0["mb"]["up_frames"]
    mbb = (s1["mb"]["up_bytes"] + s1["mb"]["down_bytes"] -
           s0["mb"]["up_bytes"] - s0["mb"]["down_bytes"])
    exc = (s1["mb"]["down_kinds"].get("exception", 0) -
           s0["mb"]["down_kinds"].get("exception", 0))
    if exc:
        raise Fail("%s: %d Modbus exceptions in the window" % (d.name, exc))
    hz = os.sysconf("SC_CLK_TCK")
    stat_us = (s1["ticks"] - s0["ticks"]) * 1e6 / hz / r
    if s0["ns"][1] == s1["ns"][1]:
        sched_us = (s1["ns"][0] - s0["ns"][0]) / 1e3 / r
    else:
        log("%s: threads changed in the window (%s -> %s): its CPU is the "
            "stat figure" % (d.name, sorted(s0["ns"][1]), sorted(s1["ns"][1])))
        sched_us = stat_us
    f = {
        "rss_anon_kb": statistics.median(d.mem["RssAnon"]),
        "rss_kb": statistics.median(d.mem["VmRSS"]),
        "rss_file_kb": statistics.median(d.mem["RssFile"]),
        "cpu_us_per_reading": sched_us,
        "cpu_us_per_reading_stat": stat_us,
        "mqtt_bytes_per_reading": (mq["up_bytes"] + mq["down_bytes"]) / r,
        "mqtt_up_bytes_per_reading": mq["up_bytes"] / r,
        "modbus_requests_per_reading": req / r,
        "modbus_bytes_per_reading": mbb / r,
        "readings_per_s": r / secs,
    }
    if instr is not None:
        f["instructions_per_reading"] = instr / r
    return f


def one_run(env, i, cfg):
    run_dir = os.path.join(env.dir, "run%d" % i)
    os.makedirs(run_dir)
    relays = []

    def relay(name, target, fl, kind):
        r = Relay(name, target, fl, kind)
        relays.append(r)
        return r
    try:
        wg_mb = relay("wattgate-modbus", cfg["sim_port"], mbap_len, mbap_kind)
        wg_mq = relay("wattgate-mqtt", cfg["mqtt_port"], mqtt_len, mqtt_kind)
        cd_mb = relay("collectd-modbus", cfg["sim_port"], mbap_len, mbap_kind)
        cd_mq = relay("collectd-mqtt", cfg["mqtt_port"], mqtt_len, mqtt_kind)

        devices = [{"name": "meter%d" % u, "bus": "lan", "unit": u,
                    "profile": "sdm630"} for u in range(1, cfg["meters"] + 1)]
        site = env.site(wg_mq.port, interval=1, gateway=GATEWAY,
                        buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                                "port": wg_mb.port}], devices=devices)
        site["store"] = os.path.join(run_dir, "store.db")
        conf = os.path.join(run_dir, "collectd.conf")
        collectd_conf(conf, run_dir, cfg["points"], cfg["meters"], cd_mb.port,
                      cd_mq.port, cfg["threads"])

        # A receiver per run: each run's daemon starts a new store, so its
        # seqs start again at 1, which an older receiver would drop as repeats.
        recv = env.recv(cfg["mqtt_port"], "recv%d" % i)
        recv_out = recv.out_path
        wg = Daemon("wattgate", env.gateway(site, "wattgate%d" % i), wg_mb, wg_mq,
                    lambda: count_lines(recv_out))
        cd = Daemon("collectd", env.start("collectd%d" % i,
                                          [COLLECTD, "-f", "-C", conf]),
                    cd_mb, cd_mq, lambda: collectd_values(cd_mq))
        both = (wg, cd)
        warm = cfg["cycles"] - cfg["sampled"]
        log("run %d/%d: both daemons at 1 s, %d meters x %d points; %d s warm-up, "
            "%d s sampled" % (i + 1, cfg["runs"], cfg["meters"], len(cfg["points"]),
                              warm, cfg["sampled"]))
        time.sleep(warm)
        for d in both:
            d.alive()
            if d.readings() == 0:
                raise Fail("%s delivered nothing in %d s:\n%s" %
                           (d.name, warm, d.proc.tail()))
        since = time.time() - 5
        phase = quiet_phase(sum((r.recent(since) for r in relays), []))
        time.sleep((phase - time.time()) % 1.0)
        perf = None
        if cfg["perf"]:
            perf = [Perf(d.pid, os.path.join(run_dir, d.name + ".perf")) for d in both]
        s0 = [d.snap() for d in both]
        for _ in range(cfg["sampled"]):
            time.sleep((phase - time.time()) % 1.0 or 1.0)
            for d in both:
                d.alive()
                st = status_kb(d.pid)
                for k in d.mem:
                    d.mem[k].append(st[k])
        s1 = [d.snap() for d in both]
        own, shared = own_anon(both)
        instr = [p.stop() for p in perf] if perf else [None, None]
        if cfg["smaps"]:
            for d in both:
                for what in ("smaps", "smaps_rollup", "status"):
                    shutil.copy("/proc/%d/%s" % (d.pid, what), os.path.join(
                        cfg["smaps"], "%s-run%d.%s" % (d.name, i, what)))
        out = {d.name: figures(d, a, b, n) for d, a, b, n in zip(both, s0, s1, instr)}
        for d in both:
            out[d.name]["own_anon_kb"] = own[d.name]
            out[d.name]["shared_lib_anon_kb"] = shared[d.name]
        threads = {d.name: status_kb(d.pid)["Threads"] for d in both}
        for d in both:
            d.proc.stop()
        recv.stop()
        err = cd.proc.stderr()
        bad = [l for l in err.splitlines() if "error" in l.lower() or "fail" in l.lower()]
        if bad:
            raise Fail("collectd logged errors:\n" + "\n".join(bad[-5:]))
        log("run %d: phase %.2f s; threads wattgate %d, collectd %d" %
            (i + 1, phase, threads["wattgate"], threads["collectd"]))
        for name, f in out.items():
            log("run %d: %s %s" % (i + 1, name, " ".join(
                "%s=%.3f" % kv for kv in sorted(f.items()))))
        return out
    finally:
        for r in relays:
            r.close()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: collectd.py BUILD_DIR [RUNS]")
    if not os.access(COLLECTD, os.X_OK):
        raise Fail("%s not found (Debian collectd-core)" % COLLECTD)
    env_int = lambda k, d: int(os.environ.get(k) or d)   # noqa: E731
    cfg = {"runs": int(sys.argv[2]) if len(sys.argv) == 3 else 3,
           "meters": env_int("WG_BENCH_METERS", 5),
           "cycles": env_int("WG_BENCH_RSS_CYCLES", 120),
           "sampled": env_int("WG_BENCH_RSS_SAMPLED", 60),
           "threads": env_int("WG_BENCH_COLLECTD_THREADS", 0),
           "smaps": os.environ.get("WG_BENCH_SMAPS"),
           "perf": perf_works(),
           "points": profile_points()}
    if cfg["cycles"] <= cfg["sampled"]:
        raise Fail("WG_BENCH_RSS_CYCLES must be larger than WG_BENCH_RSS_SAMPLED")
    with Env(sys.argv[1]) as env:
        _, cfg["mqtt_port"] = env.mosquitto()
        sim = env.start("sim", [env.bin("tools", "sim", "wattgate-sim"), "--profiles",
                                os.path.join(SRC, "drivers", "profiles"),
                                "--tcp", "127.0.0.1:0"] +
                        sum((["--device", "%d:sdm630" % u]
                             for u in range(1, cfg["meters"] + 1)), []))
        cfg["sim_port"] = int(sim.wait_for(sim.out_path, "ready").rsplit(":", 1)[1])
        runs = [one_run(env, i, cfg) for i in range(cfg["runs"])]

    def med(name, key):
        return statistics.median(r[name][key] for r in runs)

    def ratio(key):
        return statistics.median(r["wattgate"][key] / r["collectd"][key] for r in runs)

    cpu_key = "instructions_per_reading" if cfg["perf"] else "cpu_us_per_reading"
    print("rss_anon_vs_collectd=%.3f" % ratio("rss_anon_kb"))
    print("rss_vs_collectd=%.3f" % ratio("rss_kb"))
    # What the daemon itself costs: its anonymous memory outside the
    # libraries both map (docs/memory.md, "Against collectd").
    print("own_anon_vs_collectd=%.3f" % ratio("own_anon_kb"))
    print("cpu_vs_collectd=%.3f" % ratio(cpu_key))
    print("cpu_method=%s" % ("perf_instructions" if cfg["perf"] else "schedstat_ns"))
    print("cpu_vs_collectd_stat=%.3f" % ratio("cpu_us_per_reading_stat"))
    print("bytes_vs_collectd=%.3f" % ratio("mqtt_bytes_per_reading"))
    print("requests_vs_collectd=%.4f" % ratio("modbus_requests_per_reading"))
    for name in ("wattgate", "collectd"):
        for key, fmt in (("rss_anon_kb", "%d"), ("own_anon_kb", "%d"),
                         ("shared_lib_anon_kb", "%d"), ("rss_kb", "%d"),
                         ("rss_file_kb", "%d"), ("cpu_us_per_reading", "%.2f"),
                         ("cpu_us_per_reading_stat", "%.2f"),
                         ("instructions_per_reading", "%d"),
                         ("mqtt_bytes_per_reading", "%.2f"),
                         ("mqtt_up_bytes_per_reading", "%.2f"),
                         ("modbus_requests_per_reading", "%.4f"),
                         ("modbus_bytes_per_reading", "%.2f"),
                         ("readings_per_s", "%.1f")):
            if key in runs[0][name]:
                print(("%s_%s=" + fmt) % (name, key, med(name, key)))
    print("collectd_threads=%s" % (cfg["threads"] or "default"))
    print("collectd_runs=%d" % cfg["runs"])


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        sys.stderr.write("collectd: %s\n" % e)
        sys.exit(1)
