"""Simulated power cuts under the store: what was not synced is gone. With
store_sync "full" nothing committed may be lost; with "normal" (the default)
at most the last committed cycle, and never so that a sequence number the
receiver has seen is handed out again.

The gateway (interval 1 s) polls the simulator and forwards to a real broker
and receiver, with tests/powercut/libvfs_cut.so preloaded: after a random
0.2..1.5 s, or at one of the first 4 xSyncs with a WAL checkpoint every 1..3
commits (every other run), the shim puts every file
of the store back to what had been synced (the -shm emptied) and SIGKILLs the
daemon. Each run sees a boot id of its own (a power cut means a reboot), so a
"normal" store skips one sequence number at the next start. After each cut:

- the database as the cut left it (copied, so the check changes nothing the
  next start will see) passes PRAGMA integrity_check;
- its last sequence number never went back;
- of the batches the daemon had logged as stored (-v) in that run, "full"
  kept all, "normal" all but at most the last one (a run that loses two,
  e.g. with the lazy sync broken, fails here);
- "full" never skips a number; "normal" skips one at every start after a cut.

Then a new daemon starts on the same store. After the last cut a clean run
drains the store, and the oracle is the simulator's log: every printed reading
was served, in its cycle, none twice, no batch partial; every batch that
survived its cut arrived, with its own cycle's readings (a reused number
would bring the lost batch's readings, or none: the receiver drops the new
batch as a duplicate); every gap at the receiver is a skipped or a lost
number ("full": no gap at all); its last seq is the store's.

WG_POWERCUT_CUTS (default 100 per mode) and WG_POWERCUT_SEED change the run.

usage: test_powercut.py BUILD_DIR normal|full
"""
import collections
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import time

from harness import run, wait, Env, Fail, check, read_jsonl

INTERVAL_S = 1
STORED = re.compile(r"cycle (\d+): \d+ readings stored as batch (\d+)")
SKIPPED = re.compile(r"sequence number (\d+) skipped")
SUMMARY = re.compile(r"wattgate-recv: gw-test: batches (\d+) \(seq (\d+)\.\.(\d+)\), "
                     r"readings (\d+), duplicates (\d+), gaps (\d+)")
# The last sequence number the store handed out (firmware/store/store_durable.c).
LAST_SEQ = ("SELECT max(coalesce((SELECT max(seq) FROM batch), 0), "
            "(SELECT seq_floor FROM store_state))")
MODES = ("normal", "full")


def db_one(db, sql, ro=False):
    con = sqlite3.connect("file:%s%s" % (db, "?mode=ro" if ro else ""), uri=True,
                          timeout=5)
    try:
        row = con.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def printed_up_to(path):
    return max((r["seq"] for r in read_jsonl(path)), default=0)


def after_cut(db, scratch):
    """integrity_check, the last sequence number and whether the run was at
    risk (its next start must skip a number), of the store as the cut left it."""
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    copy = os.path.join(scratch, "store.db")
    for ext in ("", "-wal"):
        if os.path.exists(db + ext):
            shutil.copyfile(db + ext, copy + ext)
    if not os.path.exists(copy):
        return "ok", 0, 0
    try:
        ic = db_one(copy, "PRAGMA integrity_check")
    except sqlite3.DatabaseError as e:      # too broken to check
        return "%s" % e, 0, 0
    if ic != "ok":
        return ic, 0, 0
    try:
        seq = db_one(copy, LAST_SEQ)
        risk = db_one(copy, "SELECT at_risk FROM store_state")
    except sqlite3.OperationalError:        # cut before the tables were made
        seq = risk = None
    return ic, seq or 0, risk or 0


def main(build, mode):
    check(mode in MODES, "mode %r is not one of %s", mode, MODES)
    cuts = int(os.environ.get("WG_POWERCUT_CUTS", "100"))
    seed = int(os.environ.get("WG_POWERCUT_SEED", "20261122")) + MODES.index(mode)
    rng = random.Random(seed)
    with Env(build) as env:
        shim = env.bin("tests", "powercut", "libvfs_cut.so")
        check(os.path.exists(shim), "no shim at %s", shim)
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, site = env.one_meter(port, interval=INTERVAL_S)
        site["store_sync"] = mode
        db = site["store"]
        cfg = os.path.join(env.dir, "site.json")
        with open(cfg, "w") as f:
            json.dump(site, f)
        daemon = env.wrap + [env.bin("firmware", "core", "wattgate"), "-c", cfg, "-v"]
        # The ASan runtime must otherwise come first in the library list.
        asan = os.environ.get("ASAN_OPTIONS", "")
        asan = (asan + ":" if asan else "") + "verify_asan_link_order=0"

        # kept: seq -> cycle of every batch that survived its cut; lost: the
        # seqs a cut took back; skipped: the numbers a start skipped (or was
        # to skip, if cut first).
        kept, lost, skipped = {}, set(), set()
        disk_seq, dropped, at_sync, in_ckpt, lost_runs, risk = 0, 0, 0, 0, 0, 0
        for k in range(cuts):
            cut_env = ["LD_PRELOAD=" + shim, "ASAN_OPTIONS=" + asan,
                       "WG_CUT_SEED=%d" % rng.randrange(1 << 31),
                       "WG_CUT_BOOT_ID=%s-boot-%d" % (mode, k)]
            if k % 2:
                # At an fsync, with checkpoints (in-place writes) every 1..3 commits.
                cut_env += ["WG_CUT_AFTER_SYNCS=1-4", "WG_CUT_AFTER_MS=2500",
                            "WG_CUT_CHECKPOINT=%d" % rng.randint(1, 3)]
            else:
                cut_env += ["WG_CUT_AFTER_MS=200-1500"]
            g = env.start("gw%03d" % k, ["env"] + cut_env + daemon)
            try:
                g.p.wait(20)
            except Exception:
                raise Fail("gw%03d was not cut within 20 s: %s" % (k, g.tail()))
            err = g.stderr()
            g.stop()
            m = re.search(r"vfs_cut: cut (.*): (\d+) unsynced", err)
            check(g.p.returncode == -signal.SIGKILL and m,
                  "gw%03d ended with %s, not by a cut: %s", k, g.p.returncode, err)
            check("ALARM" not in err, "gw%03d: the store was quarantined: %s", k, err)
            dropped += int(m.group(2))
            at_sync += "sync" in m.group(1)
            in_ckpt += "sync" in m.group(1) and ".db)" in m.group(1)
            mine = [(int(s), int(c)) for c, s in STORED.findall(err)]
            skips = [int(s) for s in SKIPPED.findall(err)]
            # Every start in a new boot after a run at risk skips the number
            # after the last one on disk, and no other start skips anything.
            # The skip is committed before it is logged: a cut in between
            # leaves it unlogged, so the number the disk says is expected.
            want = [disk_seq + 1] if risk else []
            check(skips == want or not skips and (
                  not risk or "gateway gw-test:" not in err), "cut %d: skipped %s, "
                  "expected %s", k, skips, want)
            skipped.update(want)
            ic, seq, risk = after_cut(db, os.path.join(env.dir, "after-cut"))
            check(mode == "normal" or not risk, "cut %d: store_sync full left a "
                  "run at risk", k)
            check(ic == "ok", "integrity_check after cut %d (%s): %s", k,
                  m.group(1), ic)
            check(seq >= disk_seq, "cut %d (%s): sequence went back from %d to %d",
                  k, m.group(1), disk_seq, seq)
            gone = [s for s, _ in mine if s > seq]
            allowed = 1 if mode == "normal" else 0
            check(len(gone) <= allowed and all(s == mine[-1][0] for s in gone),
                  "cut %d (%s): store_sync %s lost committed batches %s (stored in "
                  "this run: %s; the store's last seq after the cut is %d)", k,
                  m.group(1), mode, gone, [s for s, _ in mine], seq)
            lost.update(gone)
            lost_runs += bool(gone)
            kept.update((s, c) for s, c in mine if s <= seq)
            disk_seq = seq
            if (k + 1) % 25 == 0:
                sys.stderr.write("powercut %s: %d cuts\n" % (mode, k + 1))
        corrupt = [f for f in os.listdir(os.path.dirname(db)) if "corrupt" in f] \
            if os.path.isdir(os.path.dirname(db)) else []
        check(not corrupt, "quarantined files: %s", corrupt)

        # The clean run (a new boot: "normal" skips once more): a few cycles,
        # stop serving, drain.
        gw = env.start("gw-final", daemon)
        time.sleep(3 * INTERVAL_S)
        sim.stop()
        # Acked deletes wait for the next append or the close: drained is when
        # the receiver printed the last seq the store assigned.
        wait(lambda: printed_up_to(recv.out_path) >= gw.state()["last_seq"],
             90, "the store drains")
        time.sleep(1.5)                 # a late duplicate would show up now
        check(gw.stop() == 0, "final gateway exit: %s", gw.tail())
        ferr = gw.stderr()
        want = [disk_seq + 1] if risk else []
        check([int(s) for s in SKIPPED.findall(ferr)] == want, "the clean run: "
              "skipped %s, expected %s", SKIPPED.findall(ferr), want)
        skipped.update(want)
        kept.update((int(s), int(c)) for c, s in STORED.findall(ferr))
        last_seq = db_one(db, LAST_SEQ)
        left = db_one(db, "SELECT count(*) FROM batch")
        check(left == 0, "%d batches left in the store after the clean run", left)
        check(recv.stop() == 0, "receiver exit: %s", recv.tail())
        rerr = recv.stderr()
        summ = SUMMARY.search(rerr)
        check(summ, "no summary for gw-test from the receiver: %s", rerr)
        batches, lo, hi, readings, dups, gaps = map(int, summ.groups())

        served = collections.defaultdict(list)
        per_cycle = collections.Counter()
        for r in read_jsonl(os.path.join(env.dir, "sim.log")):
            c = r["t_ms"] - r["t_ms"] % (INTERVAL_S * 1000)
            served[(r["point"], c)].append(r["value"])
            per_cycle[c] += 1
        got = read_jsonl(recv.out_path)
        keys = collections.Counter((r["quantity"], r["ts"]) for r in got)
        twice = [k for k, n in keys.items() if n > 1]
        check(not twice, "%d readings printed twice: %s", len(twice), twice[:5])
        unserved = [r for r in got if r["value"] not in
                    served.get((r["quantity"], r["ts"]), [])]
        check(not unserved, "%d printed readings were not served in their cycle: "
              "%s", len(unserved), unserved[:3])
        got_cycle = collections.Counter(r["ts"] for r in got)
        partial = [c for c, n in got_cycle.items() if n != per_cycle[c]]
        check(not partial, "cycles printed partially: %s", partial[:5])
        # A surviving batch arrived under its number with its own cycle.
        printed = collections.defaultdict(set)
        for r in got:
            printed[r["seq"]].add(r["ts"])
        missing = sorted(s for s in kept if s not in printed)
        check(not missing, "batches committed but never printed: %s", missing[:10])
        foreign = sorted((s, kept[s], sorted(printed[s])) for s in kept
                         if kept[s] not in printed[s])
        check(not foreign, "batches printed with another batch's readings (a "
              "reused sequence number): %s", foreign[:5])
        holes = set(range(lo, hi + 1)) - set(printed)
        unexplained = sorted(holes - skipped - lost)
        check(not unexplained, "gaps at the receiver that no skip or cut explains: "
              "%s", unexplained[:10])
        check(gaps == len(holes), "the receiver reports %d gaps, the printed seqs "
              "have %d", gaps, len(holes))
        check(mode == "normal" or gaps == 0, "store_sync full: the receiver "
              "reports gaps: %s", rerr[-800:])
        check(hi == last_seq, "last seq printed %d, the store assigned up to %d",
              hi, last_seq)
        check(readings == len(got), "receiver counted %d, printed %d", readings,
              len(got))
        check(len(kept) + len(lost) >= cuts // 5, "only %d batches committed over "
              "%d cuts: the test did not exercise the store", len(kept) + len(lost),
              cuts)
        broker.stop()
        print("powercut %s: %d cuts (%d at an fsync, %d of them of the database "
              "file in a checkpoint; %d unsynced writes dropped), integrity ok "
              "after each; %d runs lost their last commit (%d of those batches "
              "had been printed), none lost more; %d sequence numbers skipped; "
              "%d readings in %d batches (seq %d..%d) printed exactly once, %d "
              "gaps, all explained; %d surviving batches all arrived with their "
              "own cycle; %d served cycles never committed; %d duplicate batches "
              "dropped by the receiver"
              % (mode, cuts, at_sync, in_ckpt, dropped, lost_runs,
                 len(lost & set(printed)), len(skipped), len(got), batches, lo, hi,
                 gaps, len(kept), len(set(per_cycle) - set(got_cycle)), dups))


if __name__ == "__main__":
    run(main)
