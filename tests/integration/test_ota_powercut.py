"""Power cuts at every write and fsync of an update (issue 15, docs/ota.md
"Power cuts"): tests/powercut/libcut_io.so is preloaded into the launcher and
so into everything it starts (fw_setenv, tar, the daemon and its threads).
It counts every write, truncate, fsync, rename and unlink on the board's and
the state partition's files in one counter for all of them; at the N-th the
power goes: what was not synced is undone and the launcher's whole process
group is SIGKILLed.

A counting run of a whole update v1 -> v2 (a 256 KiB image in 16 KiB chunks,
store_sync "full") learns the number of points P, from the boot to the
commit. Then, for WG_POWERCUT_CUTS points N spread over 1..P (default 100,
WG_POWERCUT_SEED): the board goes back to the snapshot taken before the
update (v1 in slot a, its store, its environment), boots with the cut at N,
gets the same pre-signed ota.start; after the cut the board is checked as
the cut left it, and boots again without the cut (the frame is sent again,
as the platform would) until the update ends. After each:

- the environment is readable (fw_printenv), names a slot, and that slot
  holds a complete image whose hash the test knows (v1 in a or v2 in b):
  no cut leaves the board unbootable;
- slot a, the running slot, is never written; slot b is written only with
  v2's bytes (its verified chunks);
- every boot runs v1 or v2 and gets to "control: commands on";
- the update ends committed (v2 in b, upgrade_available=0) or failed or
  rolled back with the board running v1 from a; no other version runs;
- no reading is lost: every batch a run logged as stored (synced: store_sync
  "full") reached this iteration's receiver once or is still in the store.

usage: test_ota_powercut.py BUILD_DIR
"""
import collections
import hashlib
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time

from harness import run, Env, Fail, check, read_jsonl, wait
from otaworld import OtaWorld, OTA_FINAL, fw_env

IMAGE = 256 << 10
CHUNK = 16384
SLOT = 1 << 20
STORED = re.compile(r"cycle \d+: \d+ readings stored as batch (\d+)")
BOOTED = re.compile(r"launcher: boot \d+ slot (\w+) bootcount \d+/\d+ version (\S+)")
CUT = re.compile(r"cut (\d+): (\S+) (\S+) \(pid \d+ ([^)]*)\)")


def shim_env(env):
    """LD_PRELOAD for the shim; under ASan its runtime first, and no leak
    report from bash or tar."""
    shim = env.bin("tests", "powercut", "libcut_io.so")
    check(os.path.exists(shim), "no shim at %s", shim)
    pre, asan = [shim], False
    ldd = subprocess.run(["ldd", shim], capture_output=True, text=True).stdout
    for line in ldd.splitlines():
        if "libasan" in line and "=>" in line:
            pre.insert(0, line.split("=>")[1].split()[0])
            asan = True
    e = {"LD_PRELOAD": ":".join(pre)}
    if asan:
        o = os.environ.get("ASAN_OPTIONS", "")
        e["ASAN_OPTIONS"] = (o + ":" if o else "") + \
            "verify_asan_link_order=0:detect_leaks=0"
    return e, asan


class PowerCuts:
    """The world of the cuts: one OtaWorld, its snapshot before the update,
    the pre-signed frame. Shared with tools/soak/ota-soak."""

    def __init__(self, env, health_s=10):
        self.env = env
        # retries 1: the soak's bad servers (500, 503) end soon
        self.w = w = OtaWorld(env, health_s=health_s, slot_size=SLOT,
                              ota={"retries": 1})
        w.site["store_sync"] = "full"
        with open(w.site_path, "w") as f:
            json.dump(w.site, f, indent=2)
        self.shim, self.asan = shim_env(env)
        self.v1 = w.image("1.0.0", outside=True, pad=IMAGE - 8192)
        self.v2 = w.image("2.0.0", outside=True, pad=IMAGE - 8192)
        w.flash("a", self.v1)
        self.b2 = w.bundle("v2.wgb", self.v2, "2.0.0", counter=2,
                           extra=["--chunk", str(CHUNK)])
        self.frame = w.sign("ota.start", args=w.start_args(self.b2),
                            extra=["--ttl", "86400"])
        self.cid = json.loads(open(self.frame, "rb").read()[:-65])["id"]
        self.good = {"a": hashlib.sha256(self.v1).hexdigest(),
                     "b": hashlib.sha256(self.v2).hexdigest()}
        self.old_b = w.slot_sha("b")
        # v1 runs a few cycles, then the snapshot every cut starts from
        w.boot(args=["-v"])
        w.wait_log("control: commands on")
        w.wait_log("mqtt: connected")
        time.sleep(1.5)
        w.poweroff()
        w.snapshot("v1")
        self.n = 0
        self.stats = collections.Counter()

    # --- one iteration ------------------------------------------------------
    def fresh_recv(self):
        w = self.w
        if w.recv is not None:
            w.recv.stop()
        self.n += 1
        w.recv = self.env.start("recv-%d" % self.n, [
            self.env.bin("tools", "recv", "wattgate-recv"), "-h", "127.0.0.1",
            "-p", str(w.port), "--id", "wg-recv-cut-%d" % self.n])
        w.recv.wait_for(w.recv.err_path, "subscribed")

    def cut_env(self, tag, at=None, trace=False):
        d = os.path.join(self.env.dir, "cut-%s" % tag)
        os.makedirs(d)
        e = dict(self.shim, WG_CUT_PATHS="%s:%s" % (self.w.board, self.w.state_dir()),
                 WG_CUT_COUNTER=os.path.join(d, "n"), WG_CUT_LOG=os.path.join(d, "log"),
                 WATTGATE_LAUNCHER_PAUSE="0")
        if at is not None:
            e["WG_CUT_AT"] = str(at)
        if trace:
            e["WG_CUT_TRACE"] = os.path.join(d, "trace")
        return e, d

    def send(self):
        rc, _, err = self.w.send(frame=self.frame, wait_s=0)
        check(rc in (0, 3), "send ota.start: exit %d %s", rc, err)

    def up(self, proc, timeout=30):
        """Waits for "control: commands on" and the broker; False if the
        launcher died first (a cut)."""
        def ready_or_dead():
            log = proc.stderr()
            return proc.p.poll() is not None or (
                "control: commands on" in log and "mqtt: connected" in log)
        wait(ready_or_dead, timeout, "the gateway comes up: %s" % proc.tail())
        return proc.p.poll() is None

    def final(self):
        return [r for r in self.w.ota_records(self.cid) if r["state"] in OTA_FINAL]

    def count_points(self):
        """A whole update under the shim, counting only: the points from the
        power-on to the commit, and what they are."""
        w = self.w
        w.restore("v1")
        self.fresh_recv()
        e, d = self.cut_env("count", trace=True)
        t0 = time.time()
        g = w.boot(penv=e, args=["-v"])
        check(self.up(g), "the counting run died: %s", g.tail())
        self.send()
        wait(lambda: self.final(), 120, "the counted update ends: %s" %
             [(r["state"], r.get("why")) for r in w.ota_records(self.cid)])
        with open(os.path.join(d, "trace")) as f:
            ops = [l.split(None, 2) for l in f]
        secs = time.time() - t0
        end = self.final()[-1]
        check(end["state"] == "committed", "the counted update: %s", end)
        w.poweroff()
        self.check_board("after the counting run")
        return ops, secs

    def expect(self, kind, cond, msg, *args):
        """check(), counting a failure of its kind: "unbootable", "foreign"
        (bytes in a slot that are not the signed image's), "lost"."""
        if not cond:
            self.stats[kind] += 1
            check(cond, msg, *args)

    def check_board(self, when, after_cut=False):
        """The environment names a slot holding a whole known image; slot a
        is v1; slot b is its old content, or v2, or v2's chunks over it."""
        w = self.w
        r = fw_env(w.state_dir(), "fw_printenv")
        self.expect("unbootable", r.returncode == 0, "%s: fw_printenv: %s", when,
                    r.stderr)
        env = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
        slot = env.get("boot_slot")
        self.expect("unbootable", slot in ("a", "b"), "%s: boot_slot %r", when,
                    slot)
        self.expect("foreign", w.slot_sha("a", len(self.v1)) == self.good["a"],
                    "%s: slot a (running v1) was written", when)
        with open(w.slot_path("b"), "rb") as f:
            b = f.read()
        for k in range(0, len(self.v2), CHUNK):
            part = b[k:k + CHUNK]
            self.expect("foreign", part == self.v2[k:k + CHUNK] or
                        part == b"\0" * len(part), "%s: slot b holds bytes at "
                        "%d that are neither v2's nor its old content", when, k)
        if slot == "b":
            self.expect("unbootable", hashlib.sha256(
                b[:len(self.v2)]).hexdigest() == self.good["b"],
                "%s: the environment boots slot b (upgrade_available=%s), which "
                "does not hold the whole of v2: unbootable", when,
                env.get("upgrade_available"))
            self.stats["env_b"] += after_cut
        return env

    def boots_ok(self, proc, when, must_start=False):
        """Every boot of a launcher log ran v1 from a or v2 from b; each that
        got further than its start reached "control: commands on"."""
        log = proc.stderr()
        boots = BOOTED.findall(log)
        for slot, version in boots:
            self.expect("unbootable", (slot, version) in (("a", "1.0.0"),
                                                          ("b", "2.0.0")),
                        "%s: booted slot %s version %s", when, slot, version)
        self.expect("unbootable", not must_start or "control: commands on" in log,
                    "%s: the daemon never came up: %s", when, proc.tail())
        for bad in ("not an image", "no executable run", "no valid environment"):
            self.expect("unbootable", bad not in log, "%s: %r in the launcher's "
                        "log: %s", when, bad, proc.tail())
        check("ALARM" not in log, "%s: the store raised an alarm: %s", when,
              proc.tail())
        self.stats["boots"] += len(boots)
        return boots

    def one(self, at):
        """Cut at point `at`, boot again, end the update; the checks."""
        w = self.w
        w.restore("v1")
        self.fresh_recv()
        e, d = self.cut_env(self.n, at=at)
        g = w.boot(penv=e, args=["-v"])
        logs = [g]
        if self.up(g):
            self.send()
        wait(lambda: g.p.poll() is not None or self.final(), 60,
             "cut %d: the cut or the end of the update: %s" % (at, g.tail()))
        cut = None
        if g.p.poll() is None:          # past the update's last point
            self.stats["no_cut"] += 1
            w.poweroff()
        else:
            w.launcher = None
            g.stop()
            with open(os.path.join(d, "log")) as f:
                m = CUT.search(f.read())
            check(m, "cut %d: the launcher died without a cut: %s", at, g.tail())
            cut = m.groups()
            self.stats["cuts"] += 1
            self.stats["op:" + cut[1]] += 1
            self.stats["file:" + where(cut[2])] += 1
        when = "cut at %d (%s)" % (at, " ".join(cut[1:]) if cut else "none")
        self.boots_ok(g, when)
        self.check_board(when + ", as the cut left it", after_cut=cut is not None)
        # the board boots again, no cut: the update goes on or ends
        g2 = w.boot(penv={"WATTGATE_LAUNCHER_PAUSE": "0"}, args=["-v"])
        logs.append(g2)
        self.expect("unbootable", self.up(g2), "%s: the next boot died: %s", when,
                    g2.tail())
        self.send()
        wait(lambda: self.final(), 90, "%s: the update ends; records %s; %s" % (
            when, [(r["state"], r.get("why")) for r in w.ota_records(self.cid)],
            g2.tail(1500)))
        end = self.final()[-1]
        state = end["state"]
        want = ("b", "2.0.0") if state == "committed" else ("a", "1.0.0")
        wait(lambda: BOOTED.findall(g2.stderr())[-1:] == [want] and
             g2.stderr().count("control: commands on") ==
             len(BOOTED.findall(g2.stderr())), 60,
             "%s: %s, so %s boots and comes up: %s" % (when, state, want,
                                                       g2.tail(1500)))
        w.poweroff()
        self.boots_ok(g2, when + ", the boot after", must_start=True)
        env = self.check_board(when + ", at the end")
        check(env.get("boot_slot") == want[0] and env.get("upgrade_available") ==
              "0", "%s: %s but the environment says %s", when, state, env)
        self.stats["end:" + state] += 1
        if state != "committed":
            self.stats["why:%s at %s" % (end.get("why", ""), " ".join(cut[1:3])
                                          if cut else "-")] += 1
        self.readings(logs, when)
        return state

    def readings(self, logs, when):
        """Every batch stored in this iteration printed once or still in the
        store; no reading printed twice."""
        w = self.w
        stored = set()
        for p in logs:
            stored.update(int(s) for s in STORED.findall(p.stderr()))
        db = sqlite3.connect("file:%s?mode=ro" % w.site["store"], uri=True)
        left = {r[0] for r in db.execute("SELECT seq FROM batch")}
        db.close()
        rows = [r for r in read_jsonl(w.recv.out_path) if "result" not in r]
        printed = {r["seq"] for r in rows}
        lost = sorted(stored - printed - left)
        self.stats["lost"] += len(lost)
        check(not lost, "%s: batches stored but neither delivered nor in the "
              "store: %s", when, lost)
        keys = collections.Counter((r["ts"], r["device"], r["quantity"]) for r in rows)
        twice = [k for k, n in keys.items() if n > 1]
        check(not twice, "%s: readings printed twice: %s", when, twice[:5])
        self.stats["batches"] += len(stored)
        self.stats["readings"] += len(rows)

    def run(self, pts, progress, keep_going=False):
        """one() at each point; keep_going: a failure is reported and
        counted, the next point starts from the snapshot again."""
        failures = []
        for at in pts:
            try:
                self.one(at)
            except Fail as e:
                if not keep_going:
                    raise
                failures.append("point %d: %s" % (at, e))
                sys.stdout.write("FAIL: %s\n" % failures[-1])
                self.w.power_cut()
            progress()
        return failures


def where(path):
    base = os.path.basename(path)
    for k in ("slot-", "uboot", "store.db", "ota.job", "run-", "fw_env", "default.env"):
        if k in base or k in path:
            return k.rstrip("-.")
    return base


def points(p, cuts, rng):
    """cuts points over 1..p: evenly spread, each moved at random inside its
    stretch, so that two seeds test different points."""
    if cuts >= p:
        return list(range(1, p + 1))
    step = p / cuts
    return [1 + int(i * step) + rng.randrange(max(1, int(step)))
            for i in range(cuts)]


def summary(s, p, ops, secs, t0):
    kinds = collections.Counter(o[1] for o in ops)
    files = collections.Counter(where(o[2].strip()) for o in ops)
    return ("ota powercut: %d points in a whole update (%s; %s; %.1f s), %d cuts "
            "(%s), %d runs past the last point; every boot ran v1 or v2 (%d "
            "boots); ends %s; environment pointed at a whole v2 after %d cuts; "
            "%d unbootable states, %d slots with bytes not signed; %d batches "
            "stored, %d readings delivered, %d lost; %.0f s" % (
                p, ", ".join("%s %d" % kv for kv in sorted(kinds.items())),
                ", ".join("%s %d" % kv for kv in sorted(files.items())), secs,
                s["cuts"], ", ".join("%s %d" % (k[3:], v) for k, v in sorted(s.items())
                                     if k.startswith("op:")),
                s["no_cut"], s["boots"],
                ", ".join("%s %d" % (k[4:], v) for k, v in sorted(s.items())
                          if k.startswith("end:")),
                s["env_b"], s["unbootable"], s["foreign"], s["batches"],
                s["readings"], s["lost"],
                time.time() - t0)) + "".join(
                    "\n  not committed (%d): %s" % (v, k[4:])
                    for k, v in sorted(s.items()) if k.startswith("why:"))


class Boards:
    """`n` boards side by side, each a world of its own (an Env: broker,
    simulator, receiver, image server, launcher), the points shared out
    between them: the cuts wait on the board far more than on the CPU."""

    def __init__(self, build, n, stack):
        from concurrent.futures import ThreadPoolExecutor
        self.pool = ThreadPoolExecutor(n)
        envs = [stack.enter_context(Env(build)) for _ in range(n)]
        self.pcs = list(self.pool.map(PowerCuts, envs))
        self.done = 0
        self.t0 = time.time()

    def progress(self):
        self.done += 1
        if self.done % 25 == 0:
            sys.stderr.write("ota powercut: %d cuts (%.0f s)\n" % (
                self.done, time.time() - self.t0))

    def run(self, pts, keep_going=False):
        n = len(self.pcs)
        futs = [self.pool.submit(pc.run, pts[i::n], self.progress, keep_going)
                for i, pc in enumerate(self.pcs)]
        return sum((f.result() for f in futs), [])

    def stats(self):
        return sum((pc.stats for pc in self.pcs), collections.Counter())


def main(build):
    import contextlib
    t0 = time.time()
    with contextlib.ExitStack() as stack:
        boards = Boards(build, int(os.environ.get("WG_POWERCUT_BOARDS", "2")), stack)
        pc = boards.pcs[0]
        cuts = int(os.environ.get("WG_POWERCUT_CUTS", "12" if pc.asan else "100"))
        rng = random.Random(int(os.environ.get("WG_POWERCUT_SEED", "20261206")))
        ops, secs = pc.count_points()
        p = len(ops)
        boards.run(points(p, cuts, rng))
        st = boards.stats()
        check(st["cuts"] >= min(cuts, p) * 9 // 10, "only %d of %d runs were cut",
              st["cuts"], cuts)
        print(summary(st, p, ops, secs, t0))


if __name__ == "__main__":
    run(main)
