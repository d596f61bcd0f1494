"""Live first, backlog behind: after a broker outage the backlog drains paced and
flagged historical, while the cycles read after the link came back go out at once
(they overtake the backlog); every served value still arrives exactly once.

usage: test_livefirst.py BUILD_DIR
"""
import collections
import os
import time

from harness import run, Env, Fail, check, free_port, read_jsonl

RATE = 42           # backlog readings/s: two 21-point cycles a second
OUTAGE = 12         # cycles stored while the broker is down


def main(build):
    with Env(build) as env:
        port = free_port()
        sim, site = env.one_meter(port)
        site["backlog_rate"] = RATE
        gw = env.gateway(site)
        time.sleep(OUTAGE + 0.5)
        broker, _ = env.mosquitto(port)
        recv = env.recv(port)
        t_up = time.time()
        # Arrival order as the receiver prints it.
        deadline = time.time() + 60
        while True:
            rows = read_jsonl(recv.out_path)
            hist = [r for r in rows if r.get("historical")]
            live = [r for r in rows if not r.get("historical")]
            if len(hist) >= OUTAGE * 21 and len(live) >= 3 * 21:
                break
            if time.time() > deadline:
                raise Fail("historical %d, live %d readings" % (len(hist), len(live)))
            time.sleep(0.2)
        drain_s = time.time() - t_up
        sim.stop()
        log = collections.defaultdict(list)
        for r in read_jsonl(os.path.join(env.dir, "sim.log")):
            log[r["point"]].append(r["value"])
        served = sum(len(v) for v in log.values())
        deadline = time.time() + 30
        while len(read_jsonl(recv.out_path)) < served and time.time() < deadline:
            time.sleep(0.3)
        time.sleep(1)
        check(gw.stop() == 0, "exit: %s", gw.tail())

        rows = read_jsonl(recv.out_path)
        first_live = next(i for i, r in enumerate(rows) if not r.get("historical"))
        last_hist = max(i for i, r in enumerate(rows) if r.get("historical"))
        check(first_live < last_hist, "live data waited for the whole backlog "
              "(first live line %d, last historical line %d)", first_live, last_hist)
        hist_ts = {r["ts"] for r in rows if r.get("historical")}
        live_ts = {r["ts"] for r in rows if not r.get("historical")}
        check(max(hist_ts) < min(live_ts), "a cycle after the outage came as "
              "historical, or one before it as live")
        # Paced: OUTAGE cycles of 21 readings at RATE/s take about that long.
        check(drain_s >= 0.6 * OUTAGE * 21 / RATE, "backlog drained in %.1f s, faster "
              "than %d readings/s allows", drain_s, RATE)
        got = collections.defaultdict(list)
        for r in sorted(rows, key=lambda r: r["ts"]):
            got[r["quantity"]].append(r["value"])
        for point, want in log.items():
            check(got[point] == want, "%s: served %d, received %d", point, len(want),
                  len(got[point]))
        print("livefirst: %d historical cycles drained paced in %.1f s (%d readings/s)"
              " while live cycles went first; %d readings exactly once" %
              (len(hist_ts), drain_s, RATE, len(rows)))


if __name__ == "__main__":
    run(main)
