#!/usr/bin/env python3
"""Benchmark: drain a 7-day backlog to a real mosquitto on loopback.

usage: drain.py BUILD_DIR [RUNS]      (tools/bench/run drain calls it)

tests/fixtures/fill_store writes the store a gateway holds after a 7-day outage of five
SDM630 meters (105 series at 30 s, 2,116,800 readings), made as the daemon
makes it. Each run copies that store, starts the daemon on it (live polling of
the same five meters on the simulator every 1 s, backlog_rate 0: unpaced) and
reads the daemon's own "backlog drained" line: readings, batches, bytes and
time from link-up to the PUBACK of the last backlog batch, and poll-to-PUBACK
latency of the live batches acknowledged meanwhile.

Prints key=value lines (medians over the runs):
  drain_readings_per_s, live_latency_p99_ms (p99 of the runs' worst),
  live_latency_max_ms (worst of all runs), live_latency_samples (all runs),
  backlog_bytes_per_reading (MQTT PUBLISH bytes of the drained batches),
  store_bytes_per_reading (the backlog's database file), drain_runs.
"""
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail, wait   # noqa: E402

DRAINED = re.compile(
    r"backlog drained: (\d+) readings in (\d+) batches, (\d+) bytes, (\d+) ms")
LIVE = re.compile(
    r"live during the drain: (\d+) batches, poll to PUBACK p50 (-?\d+) ms, "
    r"p99 (-?\d+) ms, max (-?\d+) ms")
METERS = 5


def publish_overhead(topic, batches):
    """MQTT PUBLISH bytes around the payloads of `batches` batches (QoS 1,
    MQTT 5 with the topic alias, as the daemon sends them to mosquitto 2.0:
    docs/mqtt.md): fixed header, remaining length (3 bytes: payloads up to
    2 MB), topic (once; an empty one after it), packet id, properties (a
    length byte and the 3-byte alias)."""
    return batches * (1 + 3 + 2 + 2 + 1 + 3) + len(topic)


def one_run(env, site, backlog, i, runs):
    """A drain; the daemon starts a little before a tick (20..80 ms over the
    runs), so that on loopback, where a drain takes tens of ms, live cycles
    are polled while it runs."""
    run_dir = os.path.join(env.dir, "run%d" % i)
    os.makedirs(run_dir)
    site = dict(site, store=os.path.join(run_dir, "store.db"))
    shutil.copy(backlog, site["store"])
    lead = 0.02 + 0.06 * i / max(runs - 1, 1)
    time.sleep((-time.time() - lead) % 1.0)
    gw = env.gateway(site, name="gateway%d" % i)
    m = live = None

    def drained():
        nonlocal m, live
        if gw.p.poll() is not None:
            raise Fail("the daemon exited:\n" + gw.stderr())
        err = gw.stderr()
        m = DRAINED.search(err)
        live = LIVE.search(err)
        return m is not None and live is not None
    wait(drained, 300, "the backlog drains and a live cycle follows")
    gw.stop()
    con = sqlite3.connect(site["store"])
    left = con.execute("SELECT count(*) FROM batch WHERE seq_last > seq").fetchone()[0]
    con.close()
    if left:
        raise Fail("run %d: %d merged batches still stored after the drain" % (i, left))
    return [int(x) for x in m.groups() + live.groups()]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 10
    with Env(build) as env:
        _, mport = env.mosquitto()
        _, sport = env.sim("sim", ["%d:sdm630" % (u + 1) for u in range(METERS)],
                           "tcp")
        site = env.site(mport, gateway="gw-bench",
                        buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                                "port": sport}],
                        devices=[{"name": "meter%d" % (u + 1), "bus": "lan",
                                  "unit": u + 1, "profile": "sdm630"}
                                 for u in range(METERS)])
        site["backlog_rate"] = 0
        backlog = os.path.join(env.dir, "backlog", "store.db")
        os.makedirs(os.path.dirname(backlog))
        gen = os.path.join(env.dir, "backlog.json")
        with open(gen, "w") as f:
            json.dump(dict(site, store=backlog), f)
        out = subprocess.run([env.bin("tests", "fixtures", "fill_store"), gen, "7"],
                             check=True, capture_output=True, text=True).stdout
        kv = dict(line.split("=", 1) for line in out.split())
        sys.stderr.write("bench: drain: backlog of %s readings, %s bytes of store\n"
                         % (kv["backlog_readings"], kv["store_bytes"]))
        topic = "%s/%s/b" % (site.get("mqtt", {}).get("prefix", "wattgate"),
                             site["gateway"])
        rate, bpr, maxes, samples = [], [], [], 0
        for i in range(runs):
            readings, batches, nbytes, ms, live, _, p99, mx = one_run(
                env, site, backlog, i, runs)
            if readings < int(kv["backlog_readings"]):
                raise Fail("run %d drained %d of %s readings" % (
                    i, readings, kv["backlog_readings"]))
            sys.stderr.write("bench: drain run %d: %d readings, %d batches, %d "
                             "bytes in %d ms; %d live batches, p99 %d ms, max %d "
                             "ms\n" % (i, readings, batches, nbytes, ms, live, p99,
                                       mx))
            rate.append(readings / (max(ms, 1) / 1000.0))
            bpr.append((nbytes + publish_overhead(topic, batches)) / readings)
            if live:
                maxes.append(mx)
            samples += live
        print("drain_readings_per_s=%d" % statistics.median(rate))
        # A run has few live samples (a loopback drain takes tens of ms): the
        # p99 is taken over each run's worst one, so it is never below the truth.
        print("live_latency_p99_ms=%s" % (sorted(maxes)[len(maxes) * 99 // 100]
                                          if maxes else "none"))
        print("live_latency_max_ms=%s" % (max(maxes) if maxes else "none"))
        print("live_latency_samples=%d" % samples)
        print("backlog_bytes_per_reading=%.2f" % statistics.median(bpr))
        print("store_bytes_per_reading=%s" % kv["store_bytes_per_reading"])
        print("drain_runs=%d" % runs)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        sys.exit("bench: drain: %s" % e)
