"""The control plane end to end (issue 14, docs/commands.md), with a real
mosquitto, wattgate-recv, wattgate-sim, the daemon and wattgate-fleet.

Scenarios (one per ctest, run in parallel):
  basic    "state" answered; the receiver prints each result record once;
           a command id sent again returns its recorded result, runs once
  bad      every bad input is rejected with its reason, nothing runs, the
           gateway keeps polling; a flood of bad frames is dropped, counted
  offline  a command sent while the gateway is stopped runs once it is back;
           one that comes while it restarts is kept and runs in the next run
  config   config.set: a bad config is rejected with the checker's line; a
           good one is applied; one that breaks polling and one that cuts
           the uplink roll back by themselves, no reading lost
  reboot   "reboot" runs the board hook; "applied" after the next start

usage: test_commands.py BUILD_DIR SCENARIO
"""
import collections
import json
import os
import random
import re
import sqlite3
import subprocess
import time

from harness import run, Env, Fail, check, read_jsonl, wait, sim_faults
from cmdworld import World, FINAL, states
import wire


def basic(env):
    w = World(env)
    w.start()
    rc, recs, err = w.send("state")
    check(rc == 0, "send: exit %d %s", rc, err)
    check(states(recs) == ["received", "applied"], "states %s", recs)
    res = recs[-1]["result"]
    check(res["connected"] is True and res["devices"][0]["name"] == "meter",
          "state result: %s", res)
    frame = w.sign("state")
    rc, first, _ = w.send(frame=frame)
    check(rc == 0 and states(first) == ["received", "applied"], "first: %s", first)
    rc2, again, _ = w.send(frame=frame, wait_s=15)
    check(rc2 == 0 and states(again) == ["applied"] and
          again[0]["result"] == first[-1]["result"] and again[0]["r"] > first[-1]["r"],
          "the repeat is not the recorded result: %s", again)
    wait(lambda: len(w.printed_results()) >= 5, 15, "results printed")
    got = w.printed_results()
    with open(w.gw.err_path) as f:
        log = f.read()
    check(log.count("seen again") == 1, "the repeat was not recognised")
    ids = [r["id"] for r in got if r["state"] == "received"]
    check(len(ids) == len(set(ids)), "a command ran twice: %s", ids)
    rc = w.gw.stop()
    check(rc == 0, "the gateway's stop: exit %s (valgrind: 99)", rc)


def bad(env):
    # the broker queues every frame of the flood for the gateway
    w = World(env, chargers=True, broker_extra="max_queued_messages 0\n")
    w.start()
    other = os.path.join(env.dir, "other")
    subprocess.run([w.fleet_bin, "keygen", other], check=True)
    rc, recs, _ = w.send("state")
    check(rc == 0 and recs[-1]["state"] == "applied", "first state: %s", recs)
    cases = []
    # wrong signature: a flipped byte in the body
    f = w.sign("state")
    data = open(f, "rb").read()
    check(b'"type":"state"' in data, "frame body: %r", data)
    open(f + ".body", "wb").write(data.replace(b'"type":"state"', b'"type":"statf"'))
    cases.append(("body changed", dict(frame=f + ".body"), "rejected", "signature"))
    sig = bytearray(data)
    sig[-1] ^= 0x01
    open(f + ".sig", "wb").write(bytes(sig))
    cases.append(("signature flipped", dict(frame=f + ".sig"), "rejected",
                  "signature"))
    cases.append(("wrong key", dict(ctype="state", extra=["--key", os.path.join(
        other, "command.key")]), "rejected", "signature"))
    # signed for another gateway, arriving on this one's topic
    cases.append(("wrong target", dict(frame=w.sign("state", gw="gw-other")),
                  "rejected", "addressed to"))
    cases.append(("replay", dict(ctype="state", extra=["--seq", "1"]),
                  "rejected", "replayed"))
    now = int(time.time())
    cases.append(("expired", dict(ctype="state", extra=["--nbf", str(now - 100),
                  "--ttl", "10"]), "expired", "expired"))
    cases.append(("not yet", dict(ctype="state", extra=["--nbf", str(now + 3600)]),
                  "rejected", "not valid before"))
    cases.append(("unknown type", dict(ctype="frobnicate"), "rejected",
                  "unknown type"))
    cases.append(("state args", dict(ctype="state", args={"x": 1}), "rejected",
                  "takes no arguments"))
    cases.append(("amps over", dict(ctype="charger.set_current",
                  args={"device": "wallbox", "amps": 80}), "rejected", "maximum"))
    cases.append(("amps under", dict(ctype="charger.set_current",
                  args={"device": "wallbox", "amps": 2}), "rejected", "minimum"))
    cases.append(("no charger", dict(ctype="charger.set_current",
                  args={"device": "meter", "amps": 10}), "rejected",
                  "not a charger"))
    cases.append(("bad config", dict(ctype="config.set", args={"config": {}}),
                  "rejected", "gateway"))
    rekeyed = json.loads(json.dumps(w.site))
    rekeyed["control"]["key"] = os.path.join(other, "command.pub")
    cases.append(("config with another key", dict(ctype="config.set",
                  args={"config": rekeyed}), "rejected", "control.key"))
    for name, kw, want, why in cases:
        rc, recs, err = w.send(wait_s=15, **kw)
        check(rc == 0 and recs, "%s: exit %d, %s %s", name, rc, recs, err)
        last = recs[-1]
        check(last["state"] == want and why in last.get("why", ""),
              "%s: got %s", name, last)
        check("received" not in states(recs), "%s: it was accepted: %s", name, recs)
    # frames that are not commands at all: an oversized one, garbage
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(w.port),
                            "-t", "wg/gw-test/r", "-C", "2", "-W", "20"],
                           stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    for payload in (b"x" * 20000, b"{\"v\":1}\n" + b"\0" * 64):
        p = os.path.join(env.dir, "junk")
        open(p, "wb").write(payload)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(w.port),
                        "-t", "wg/gw-test/c", "-q", "1", "-f", p], check=True)
    out, _ = sub.communicate(timeout=30)
    junk = [json.loads(l) for l in out.splitlines()]
    check(len(junk) == 2 and all(j["state"] == "rejected" and j["id"] is None
          for j in junk), "junk frames: %s", junk)
    # a flood of 10,000 frames: dropped beyond the bucket, counted; polling
    # goes on and memory stays where it was
    before = len(w.readings())
    rss0 = w.rss_kb()
    subprocess.run(["sh", "-c", "for i in $(seq 1 10000); do echo x$i; done | "
                    "mosquitto_pub -h 127.0.0.1 -p %d -t wg/gw-test/c -q 1 -l"
                    % w.port], check=True)
    time.sleep(3)
    # the state frame may meet an empty bucket while the flood drains: the
    # same frame again, as the platform would
    frame = w.sign("state")
    for _ in range(10):
        rc, recs, _ = w.send(frame=frame, wait_s=10)
        if rc == 0:
            break
    res = recs[-1]["result"] if recs and "result" in recs[-1] else {}
    check(res.get("commands_received", 0) + res.get("commands_flood_dropped", 0)
          >= 10000, "flood not all seen: %s", recs)
    check(res["commands_flood_dropped"] > 9000, "flood not dropped: %s", res)
    ts = sorted({r["ts"] for r in w.readings()})
    gaps = [b - a for a, b in zip(ts, ts[1:]) if b - a > 2000]
    check(len(w.readings()) > before and not gaps,
          "polling stopped during the flood: gaps %s", gaps)
    growth = w.rss_kb() - rss0
    # ASan's quarantine and valgrind hold freed memory: the figure means
    # something only for the plain daemon
    with open(os.path.join(env.build, "CMakeCache.txt")) as f:
        plain = "WG_SANITIZE:BOOL=ON" not in f.read() and not env.wrap
    check(growth < 2048 or not plain, "RSS grew %d kB in the flood", growth)
    print("flood: 10000 frames, %d dropped unread, RSS %+d kB"
          % (res["commands_flood_dropped"], growth))
    check(w.gw.p.poll() is None, "the gateway died")


def offline(env):
    w = World(env)
    w.start()
    w.gw.stop()
    frame = w.sign("state")
    rc, recs, _ = w.send(frame=frame, wait_s=0)
    check(rc == 0, "send while offline failed")
    w.start(name="gateway2")
    wait(lambda: any(r["state"] == "applied" for r in w.printed_results()), 30,
         "the offline command's result")
    got = [r for r in w.printed_results() if r["state"] == "applied"]
    check(len(got) == 1, "ran %d times: %s", len(got), got)
    # A frame that comes while the gateway restarts (here: right behind a
    # config.set, which restarts it on the new config) is acknowledged to
    # the broker by libmosquitto before the daemon sees it: it is kept for
    # the next run and runs there, once (docs/commands.md)
    good = dict(w.site)
    good["interval_s"] = 2
    a, b = w.sign("config.set", args={"config": good}), w.sign("state")
    ids = [json.loads(open(f, "rb").read()[:-65])["id"] for f in (a, b)]
    pub = wire.Publisher(w.port, client_id="held-test")
    for f in (a, b):
        pub.publish("wg/gw-test/c", open(f, "rb").read())
    pub.close()
    wait(lambda: sum(1 for r in w.printed_results() if r["id"] in ids and
                     r["state"] == "applied") == 2, 60, "both applied")
    with open(w.gw.err_path) as f:
        log = f.read()
    check("kept for the next run" in log and "1 command frame(s) kept at "
          "the last stop judged" in log, "the state frame was not kept: %s",
          log[-3000:])
    time.sleep(2)
    runs = [r for r in w.printed_results() if r["id"] == ids[1] and
            r["state"] == "applied"]
    check(len(runs) == 1, "the kept frame ran %d times", len(runs))
    check(not [n for n in os.listdir(os.path.dirname(w.site["store"]))
               if n.startswith("cmd.inbox")], "inbox files left behind")


def config(env):
    w = World(env, control={"trial_cycles": 4})
    w.start()
    good = dict(w.site)
    good["interval_s"] = 2
    rc, recs, err = w.send("config.set", args={"config": good}, wait_s=60)
    check(rc == 0 and recs[-1]["state"] == "applied", "good config: %s %s",
          recs, err)
    # breaks polling: the meter at a unit nobody answers
    broken = json.loads(json.dumps(good))
    broken["devices"][0]["unit"] = 9
    broken["devices"][0]["timeout_ms"] = 100
    rc, recs, err = w.send("config.set", args={"config": broken}, wait_s=90)
    check(recs and recs[-1]["state"] == "failed" and "no device answered"
          in recs[-1]["why"], "polling breaker: %s %s", recs, err)
    # cuts the uplink: a port with no broker
    cut = json.loads(json.dumps(good))
    cut["mqtt"]["port"] = 1
    frame = w.sign("config.set", args={"config": cut})
    cid = json.loads(open(frame, "rb").read()[:-65])["id"]
    w.send(frame=frame, wait_s=0)
    wait(lambda: any(r["id"] == cid and r["state"] == "failed" for r in
                     w.printed_results()), 120, "the uplink breaker rolled back")
    end = [r for r in w.printed_results() if r["id"] == cid][-1]
    check(end["why"] == "rolled back: in 4 cycles the uplink acknowledged no "
          "batch", "uplink breaker: %s", end)
    # and the healed gateway polls and delivers again
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 20, 30, "readings after the rollback")
    # nothing lost: every reading each run stored (its "this run" line at
    # each switch, rollback and the stop) arrived once, or is still in the
    # store
    check(w.gw.stop() == 0, "the gateway's stop")
    time.sleep(1)
    with open(w.gw.err_path) as f:
        stored = sum(int(m) for m in re.findall(r"this run: \d+ cycles, (\d+) "
                                                 "readings stored", f.read()))
    db = sqlite3.connect(w.site["store"])
    left = db.execute("SELECT coalesce(sum(n_readings), 0) FROM batch").fetchone()[0]
    db.close()
    rows = w.readings()
    keys = [(r["ts"], r["device"], r["quantity"]) for r in rows]
    check(len(keys) == len(set(keys)), "a reading printed twice")
    check(stored > 100 and len(rows) + left == stored, "stored %d readings over "
          "the switches, %d printed, %d still in the store", stored, len(rows), left)


def reboot(env):
    """The hook stands in for the board: it only marks that it ran. A start
    in the same boot (the daemon restarted, the board did not reboot) ends
    the command "failed"; a start in a new boot (another boot id, from
    tests/powercut/libvfs_cut.so) "applied"."""
    hook = os.path.join(env.dir, "reboot-hook")
    mark = os.path.join(env.dir, "rebooted")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho x >> %s\nexit 0\n" % mark)
    os.chmod(hook, 0o755)
    w = World(env, control={"reboot_hook": hook})
    w.start()
    rc, recs, _ = w.send("reboot", wait_s=5)
    check(states(recs) == ["received", "rebooting"], "reboot: %s", recs)
    wait(lambda: os.path.exists(mark), 10, "the reboot hook ran")
    w.gw.stop()
    w.start(name="gateway2")
    first = recs[0]["id"]
    wait(lambda: any(r["id"] == first and r["state"] in FINAL
                     for r in w.printed_results()), 30, "the first reboot's end")
    end = [r for r in w.printed_results() if r["id"] == first][-1]
    check(end["state"] == "failed" and "did not reboot" in end["why"],
          "a restart in the same boot: %s", end)
    rc, recs, _ = w.send("reboot", wait_s=5)
    second = recs[0]["id"]
    wait(lambda: open(mark).read().count("x") == 2, 10, "the hook ran again")
    w.gw.stop()
    asan = os.environ.get("ASAN_OPTIONS", "")
    w.start(name="gateway3", penv=dict(
        os.environ, LD_PRELOAD=env.bin("tests", "powercut", "libvfs_cut.so"),
        ASAN_OPTIONS=(asan + ":" if asan else "") + "verify_asan_link_order=0",
        WG_CUT_BOOT_ID="another-boot"))
    wait(lambda: any(r["id"] == second and r["state"] in FINAL
                     for r in w.printed_results()), 30, "the second reboot's end")
    end = [r for r in w.printed_results() if r["id"] == second][-1]
    check(end["state"] == "applied", "a start in a new boot: %s", end)


def charger(env):
    faults = os.path.join(env.dir, "faults")
    open(faults, "w").write("")
    # The broker is restarted below: it keeps its sessions (the receiver's
    # too, and what is queued for it) as a platform's broker does; else a
    # record the gateway had acknowledged before the receiver was back would
    # be gone (mosquitto drops its privileges as root: "user root" keeps the
    # work dir writable).
    keep = "persistence true\npersistence_location %s/\nuser root\n" % env.dir
    w = World(env, chargers={"failsafe_a": 6}, control={"failsafe_after_s": 10},
              sim_extra=["--fault-file", faults, "--fault", "2:state:C",
                         "--fault", "2:car:32"], broker_extra=keep)
    w.start()

    def setc(amps, want, why=""):
        rc, recs, err = w.send("charger.set_current",
                               args={"device": "wallbox", "amps": amps}, wait_s=40)
        check(recs, "set %s: nothing back (%s)", amps, err)
        last = recs[-1]
        check(last["state"] == want and why in last.get("why", ""),
              "set %s A: wanted %s (%s), got %s", amps, want, why, recs)
        check(states(recs)[:2] == ["received", "verifying"] or want == "failed",
              "set %s: states %s", amps, states(recs))
        return last

    last = setc(10, "applied")
    check(abs(last["result"]["measured_a"] - 10) <= 1 and
          last["result"]["readback_a"] == 10, "10 A: %s", last)
    setc(16.5, "applied")
    sim_faults(w.sim, faults, "2:ignore-limit\n", 2)
    last = setc(8, "deviated", "above the 8 A limit")
    sim_faults(w.sim, faults, "2:clamp:10\n", 3)
    last = setc(16, "deviated", "of the 16 A allowed")
    check(abs(last["result"]["measured_a"] - 10) <= 1, "clamp: %s", last)
    sim_faults(w.sim, faults, "2:refuse-write\n", 4)
    setc(12, "failed", "exception")
    # a charger that answers late, within the device's timeout
    sim_faults(w.sim, faults, "2:late:300\n", 5)
    setc(13, "applied")
    sim_faults(w.sim, faults, "", 6)
    setc(12, "applied")
    # the link lost for failsafe_after_s: 6 A; back: the fleet's 12 A again
    port = w.port
    w.broker.stop()
    time.sleep(14)
    _, w.port = env.mosquitto(port=port, extra=keep)
    wait(lambda: any(r["type"] == "charger.failsafe_lift" and r["state"] in FINAL
                     for r in w.printed_results()), 60, "the failsafe lifted")
    got = {r["type"]: r for r in w.printed_results() if r["state"] in FINAL}
    fs, lift = got["charger.failsafe"], got["charger.failsafe_lift"]
    check(fs["state"] == "applied" and fs["result"]["limit_a"] == 6,
          "failsafe: %s", fs)
    check(lift["state"] == "applied" and lift["result"]["limit_a"] == 12,
          "lift: %s", lift)
    rc = w.gw.stop()
    check(rc == 0, "the gateway's stop: exit %s (valgrind: 99)", rc)


def kill9(env, kills=None, cut=False):
    """kill -9 at random points while config.set and charger.set_current
    run: every command ends in exactly one final state, none runs twice.
    A frame the broker delivered in the moment between libmosquitto's PUBACK
    and the journal's fsync dies with the process unjournaled: the platform
    sends a frame it has no result for again (same id and seq), as it would
    in the field; the journal makes that safe.

    cut: power cuts instead (tests/powercut/libvfs_cut.so preloaded: after
    a random 0.3..3 s every file of the store goes back to what was synced
    and the daemon is SIGKILLed; each run a boot of its own)."""
    kills = kills or int(os.environ.get("WG_KILLS", "20" if cut else "50"))
    rnd = random.Random(int(os.environ.get("WG_SEED", "14")))
    w = World(env, chargers=True, control={"trial_cycles": 2},
              sim_extra=["--fault", "2:state:C", "--fault", "2:car:32"])
    w.start()
    frames = {}
    if cut:
        w.gw.stop()     # its session at the broker stays
    for i in range(kills):
        if cut:
            shim = env.bin("tests", "powercut", "libvfs_cut.so")
            asan = os.environ.get("ASAN_OPTIONS", "")
            penv = dict(os.environ, LD_PRELOAD=shim,
                        ASAN_OPTIONS=(asan + ":" if asan else "") +
                        "verify_asan_link_order=0",
                        WG_CUT_SEED=str(rnd.randrange(1 << 31)),
                        WG_CUT_BOOT_ID="cmd-boot-%d" % i,
                        WG_CUT_AFTER_MS="300-3000")
            # not waited for: the cut may come before it connects (the
            # broker keeps the frame in the session)
            w.gw = env.gateway(w.site, name="gw%d" % i, env=penv)
            time.sleep(rnd.uniform(0, 0.5))
        if i % 2 == 0:
            cfg = json.loads(json.dumps(w.site))
            cfg["interval_s"] = 1 if i % 4 == 0 else 2
            f = w.sign("config.set", args={"config": cfg})
        else:
            # a value of its own per command: the simulator's log shows
            # how often each was written
            # (KEBA's step is 1 mA: 6.00 .. 32 A holds 1,300 of them)
            f = w.sign("charger.set_current",
                       args={"device": "wallbox",
                             "amps": round(6 + (0.02 * i) % 26, 2)})
        cid = json.loads(open(f, "rb").read()[:-65])["id"]
        frames[cid] = f
        w.send(frame=f, wait_s=0)
        if cut:
            try:
                w.gw.p.wait(30)
            except subprocess.TimeoutExpired:
                raise Fail("gw%d was not cut within 30 s" % i)
        else:
            time.sleep(rnd.uniform(0.05, 2.5))
            w.gw.p.kill()
            w.gw.p.wait()
        w.gw.out.close()  # a thousand of them in the soak
        w.gw.err.close()
        if not cut:
            w.start(name="gw%d" % i)
    if cut:
        w.start(name="gw-final")

    def unresolved():
        done = {r["id"] for r in w.printed_results() if r["state"] in FINAL}
        return [c for c in frames if c not in done]
    deadline = time.time() + 120
    resent = 0
    while unresolved() and time.time() < deadline:
        time.sleep(5)
        for cid in unresolved():
            if not any(r["id"] == cid for r in w.printed_results()):
                w.send(frame=frames[cid], wait_s=0)
                resent += 1
    check(not unresolved(), "no final state for %s", unresolved())
    res = w.printed_results()
    for cid in frames:
        finals = [r for r in res if r["id"] == cid and r["state"] in FINAL]
        check(len(finals) == 1, "%s: %d final states: %s", cid, len(finals), finals)
        rec = [r for r in res if r["id"] == cid and r["state"] == "received"]
        check(len(rec) <= 1, "%s: received %d times", cid, len(rec))
    writes = collections.Counter(r["value"] for r in read_jsonl(
        os.path.join(env.dir, "sim.log")) if r.get("write") == "current_limit")
    twice = {v: n for v, n in writes.items() if n > 1}
    check(not twice, "a setpoint written more than once: %s", twice)
    trials = collections.Counter()
    for p in w.env.procs:
        if p.name.startswith("gw") or p.name.startswith("gateway"):
            with open(p.err_path) as f:
                for m in re.finditer(r"config: command (\S+): restarting on the "
                                     "new config", f.read()):
                    trials[m.group(1)] += 1
    check(all(n == 1 for n in trials.values()), "a config.set ran twice: %s",
          trials)
    # the mix is valid: the only refusals are a charger still busy with the
    # command before (a restart resumed its verification) and a config.set
    # while the one before is on trial
    odd = [r for r in res if r["id"] in frames and r["state"] == "rejected"
           and "still being applied" not in r.get("why", "")
           and "is on trial" not in r.get("why", "")]
    check(not odd, "commands rejected: %s", odd[:3])
    counts = collections.Counter(r["state"] for r in res
                                 if r["state"] in FINAL and r["id"] in frames)
    print("%s: %d %s, %d commands, final states %s, %d frames sent again"
          % ("powercut" if cut else "kill9", kills, "cuts" if cut else "kills",
             len(frames), dict(counts), resent))


def powercut(env):
    kill9(env, cut=True)


def scan(env):
    """A bus scan through the control plane: the snippet names both devices;
    polling on that bus resumes after it."""
    w = World(env, chargers=True)
    w.start()
    rc, recs, err = w.send("scan", args={"bus": "lan", "from": 1, "to": 6},
                           wait_s=60)
    check(rc == 0 and recs[-1]["state"] == "applied", "scan: %s %s", recs, err)
    devs = {(d["unit"], d["profile"]) for d in recs[-1]["result"]["devices"]}
    check({(1, "sdm630"), (2, "keba_p30")} <= devs, "scan found %s", devs)
    rc, recs, _ = w.send("scan", args={"bus": "nope"}, wait_s=15)
    check(recs[-1]["state"] == "rejected" and "not a bus" in recs[-1]["why"],
          "scan of an unknown bus: %s", recs)
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 30, 20, "polling after the scan")


def refresh(env):
    """A charger that forgets its setpoint (Alfen: refresh_s in its profile)
    gets the limit in force written again; here every 2 s instead of 25."""
    profiles = os.path.join(env.dir, "profiles")
    os.makedirs(profiles)
    for name in ("sdm630", "alfen_ng9xx"):
        with open(os.path.join(env.src, "drivers", "profiles", name + ".json")) as f:
            text = f.read()
        if name == "alfen_ng9xx":
            check('"refresh_s": 25' in text, "alfen_ng9xx has no refresh_s 25")
            text = text.replace('"refresh_s": 25', '"refresh_s": 2')
        with open(os.path.join(profiles, name + ".json"), "w") as f:
            f.write(text)
    w = World(env, chargers=True, charger_profile="alfen_ng9xx", profiles=profiles,
              sim_extra=["--fault", "2:state:C", "--fault", "2:car:32"])
    w.start()

    def writes(v):
        return sum(1 for r in read_jsonl(os.path.join(env.dir, "sim.log"))
                   if r.get("write") == "current_limit" and r["value"] == v)
    rc, recs, err = w.send("charger.set_current",
                           args={"device": "wallbox", "amps": 10}, wait_s=40)
    check(recs and recs[-1]["state"] == "applied", "set 10 A: %s %s", recs, err)
    n = writes(10)
    time.sleep(7)
    check(writes(10) >= n + 2, "renewed %d times in 7 s", writes(10) - n)
    rc, recs, err = w.send("charger.set_current",
                           args={"device": "wallbox", "amps": 12}, wait_s=40)
    check(recs and recs[-1]["state"] == "applied", "set 12 A: %s %s", recs, err)
    n10 = writes(10)
    time.sleep(5)
    check(writes(12) >= 2 and writes(10) == n10, "renewed the old limit: 10 A "
          "%d, 12 A %d", writes(10), writes(12))


SCENARIOS = {"refresh": refresh, "scan": scan, "kill9": kill9, "powercut": powercut, "charger": charger, "basic": basic, "bad": bad, "offline": offline, "config": config,
             "reboot": reboot}


def main(build, scenario):
    with Env(build) as env:
        SCENARIOS[scenario](env)
    print("ok: commands %s" % scenario)


if __name__ == "__main__":
    run(main)
