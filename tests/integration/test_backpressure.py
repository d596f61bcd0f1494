"""More readings per cycle than the worker->loop queue holds (1024): eight buses
each poll a 256-point device, one register per request. Workers must wait for
room, never deadlock, never drop: every served value arrives exactly once.

usage: test_backpressure.py BUILD_DIR
"""
import collections
import json
import os
import time

from harness import run, Env, Fail, check, read_jsonl

POINTS, BUSES, CYCLES = 256, 8, 4


def main(build):
    with Env(build) as env:
        pdir = os.path.join(env.dir, "profiles")
        os.mkdir(pdir)
        with open(os.path.join(pdir, "wide.json"), "w") as f:
            json.dump({"name": "wide", "model": "test device with many registers",
                       "source": "made up for this test", "max_read": 1,
                       "defaults": {"fc": 4, "type": "u16"},
                       "points": [{"name": "p%03d" % i, "address": i, "unit": "W"}
                                  for i in range(POINTS)]}, f)
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, sim_port = env.sim("sim", ["%d:wide" % u for u in range(1, BUSES + 1)],
                                "tcp", profiles=pdir)
        site = env.site(port, interval=2, buses=[
            {"name": "b%d" % u, "type": "tcp", "host": "127.0.0.1", "port": sim_port}
            for u in range(1, BUSES + 1)], devices=[
            {"name": "d%d" % u, "bus": "b%d" % u, "unit": u, "profile": "wide"}
            for u in range(1, BUSES + 1)])
        site["profiles"] = pdir
        gw = env.gateway(site)
        deadline = time.time() + 90
        while True:
            ts = collections.Counter(r["device"] for r in read_jsonl(recv.out_path))
            if len(ts) == BUSES and min(ts.values()) >= CYCLES * POINTS:
                break
            if time.time() > deadline or gw.p.poll() is not None:
                raise Fail("stalled: %s\n%s" % (dict(ts), gw.tail()))
            time.sleep(0.5)
        sim.stop()
        served = collections.Counter()
        for r in read_jsonl(os.path.join(env.dir, "sim.log")):
            served[(r["unit"], r["point"], r["t_ms"] // 1)] += 1
        want = sum(served.values())
        deadline = time.time() + 30
        while len(read_jsonl(recv.out_path)) < want and time.time() < deadline:
            time.sleep(0.3)
        time.sleep(1)
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        got = read_jsonl(recv.out_path)
        keys = collections.Counter((r["device"], r["quantity"], r["ts"]) for r in got)
        check(max(keys.values()) == 1, "duplicates at the receiver")
        check(len(got) == want, "served %d values, received %d", want, len(got))
        check("still busy" not in gw.stderr(), "a bus overran: %s", gw.tail())
        print("backpressure: %d readings (%d per cycle, queue holds 1024) arrived "
              "exactly once" % (len(got), POINTS * BUSES))


if __name__ == "__main__":
    run(main)
