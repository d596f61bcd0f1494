"""Wall-clock handling with the real daemon, mosquitto, simulator and receiver
(docs/clock.md). The daemon's wall clock is faked with libfaketime (Debian's
faketime package): an offset read from a file at every clock call, the
monotonic and boot clocks left alone. Interval 1 s.

1. The daemon starts in 1970 (offset -(now - 1 day)): the wall clock is not
   valid. Cycles are polled on schedule but held: nothing is stored, nothing
   reaches the receiver.
2. The clock jumps to now (valid): the held readings arrive with repaired
   stamps (boot stamp + offset at validity), i.e. within the interval before
   the simulator served them, before any later cycle; the store, created in
   1970, started its sequence from the valid clock, not at 1.
3. The clock steps forward 1 h, then back 30 min.

Asserted at the end: per series, stamps strictly increase in the order the
receiver printed them (no duplicate, no reordering); every reading the
simulator served arrived exactly once, value by value; the MQTT connection was
never dropped (one "connected" in the daemon's log, one connect from the
gateway at the broker); the daemon logged both steps.

usage: test_clockstep.py BUILD_DIR
"""
import collections
import glob
import os
import time

from harness import run, wait, Env, Fail, check, read_jsonl

DAY_S = 86400


def faketime_lib():
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not libs:
        raise Fail("libfaketime not found: install Debian's faketime package "
                   "(tools/setup/install-deps)")
    return libs[0]


def set_offset(path, seconds):
    """libfaketime reads this at every call (FAKETIME_NO_CACHE=1)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%+d\n" % seconds)
    os.rename(tmp, path)


def count_in(path, text):
    with open(path) as f:
        return f.read().count(text)


def main(build):
    lib = faketime_lib()
    with Env(build) as env:
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, site = env.one_meter(port, interval=1)
        tsfile = os.path.join(env.dir, "faketime")
        set_offset(tsfile, -(int(time.time()) - DAY_S))
        # An ASan build (-DWG_SANITIZE=ON) refuses a preload before its runtime
        # unless told that this one is fine.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env.wrap = ["env", "LD_PRELOAD=" + lib, "FAKETIME_TIMESTAMP_FILE=" + tsfile,
                    "FAKETIME_NO_CACHE=1", "DONT_FAKE_MONOTONIC=1",
                    "ASAN_OPTIONS=" + (asan + ":" if asan else "") +
                    "verify_asan_link_order=0"] + env.wrap
        gw = env.gateway(site)
        sim_log = os.path.join(env.dir, "sim.log")

        # 1. Invalid clock: polled, held, not stored, not sent.
        wait(lambda: len({r["t_ms"] // 1000 for r in read_jsonl(sim_log)}) >= 4, 30,
             "four cycles polled before the clock is valid")
        time.sleep(0.5)
        n = gw.state()["batches"]
        check(n == 0, "%d batches stored with an invalid clock", n)
        check(not read_jsonl(recv.out_path), "readings sent with an invalid clock")
        held_served = len(read_jsonl(sim_log))

        # 2. NTP: the clock becomes valid.
        valid_at = time.time()
        set_offset(tsfile, 0)
        gw.wait_for(gw.err_path, "wall clock is valid now")
        wait(lambda: len(read_jsonl(recv.out_path)) >= held_served, 30,
             "the held readings arrive")
        time.sleep(3)

        # 3. Steps: forward 1 h, then back 30 min.
        fwd_at = time.time()
        set_offset(tsfile, 3600)
        step = gw.wait_for(gw.err_path, "stepped forward")
        check(abs(float(step.split("forward ")[1].split()[0]) - 3600) < 0.1,
              "forward step logged as: %s", step)
        time.sleep(4)
        set_offset(tsfile, 1800)
        step = gw.wait_for(gw.err_path, "stepped back")
        check(abs(float(step.split("back ")[1].split()[0]) - 1800) < 0.1,
              "backward step logged as: %s", step)
        time.sleep(5)

        sim.stop()
        served = read_jsonl(sim_log)
        wait(lambda: len(read_jsonl(recv.out_path)) >= len(served), 60,
             "every served reading arrives")
        time.sleep(1.5)             # a late duplicate would show up now
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        check(recv.stop() == 0, "receiver exit: %s", recv.tail())
        got = read_jsonl(recv.out_path)

        # Reading by reading: per point, served order == printed order.
        want = collections.defaultdict(list)
        for r in served:
            want[r["point"]].append(r)
        have = collections.defaultdict(list)
        for r in got:
            have[r["quantity"]].append(r)
        check(set(have) == set(want), "points served %s, received %s",
              sorted(want), sorted(have))
        held = 0
        for point, ws in want.items():
            hs = have[point]
            check(len(hs) == len(ws), "%s: served %d readings, received %d", point,
                  len(ws), len(hs))
            for i, (w, h) in enumerate(zip(ws, hs)):
                check(w["value"] == h["value"], "%s #%d: served %s, received %s",
                      point, i, w["value"], h["value"])
                if i > 0:
                    check(h["ts"] > hs[i - 1]["ts"], "%s: stamps not strictly "
                          "increasing at #%d: %d after %d", point, i, h["ts"],
                          hs[i - 1]["ts"])
                # Until the forward step, a stamp is the time of its cycle: the
                # simulator served it a little later (its clock is real). A
                # repaired stamp is exact to the ms the offset was read at (wall
                # and boot clocks each truncated to ms: +-1) and the simulator
                # truncates too: a reading served right at its tick may show
                # up to 2 ms "before" its stamp (seen once in CI: -1 ms).
                if w["t_ms"] < fwd_at * 1000:
                    lag = w["t_ms"] - h["ts"]
                    check(-2 <= lag < 900, "%s #%d: stamped %d, served at %d (%+d "
                          "ms)", point, i, h["ts"], w["t_ms"], lag)
                    if w["t_ms"] < valid_at * 1000:
                        held += 1
        check(held >= 4 * 21, "only %d readings were held", held)
        late = [h["ts"] for h in have["voltage_l1"]]
        check(any(t > time.time() * 1000 + 3000 * 1000 for t in late),
              "no stamp after the forward step is an hour ahead")
        seqs = [r["seq"] for r in got]
        check(min(seqs) > 1577836800000, "the store created in 1970 started its "
              "sequence at %d, not from the valid clock", min(seqs))
        connects = count_in(gw.err_path, "mqtt: connected")
        check(connects == 1, "the MQTT connection was made %d times", connects)
        check(count_in(broker.err_path, "New client connected") == 2,
              "the broker saw a reconnect:\n%s", broker.tail())
        # After the step back the wall clock is 30 min behind the last stamp:
        # cycles go on, stamped half an interval apart (docs/clock.md).
        ahead = sorted(set(late))[-4:]
        check(all(b - a == 500 for a, b in zip(ahead, ahead[1:])),
              "stamps after the step back: %s", ahead)
        print("clockstep: %d readings arrived exactly once, per series strictly "
              "increasing; %d held before the clock was valid, repaired to within "
              "the interval before serving; 1 MQTT connection; last stamps after "
              "the step back %s (half an interval apart); first seq %d" %
              (len(got), held, [t % 100000 for t in ahead], min(seqs)))


if __name__ == "__main__":
    run(main)
