"""Disk full and read-only storage, with real components.

The store lives on a small tmpfs that this test mounts in a private mount
namespace (the test re-executes itself under `unshare -m`, or `unshare -Urm`
where plain mount namespaces are not permitted; neither working is a failure,
not a skip). Interval 1 s; broker, simulator and receiver stay up throughout.

1. normal: a few cycles go through the store.
2. full: a filler file takes every free byte and is topped up every 50 ms (as
   a runaway log would). First the daemon makes room by itself (its WAL's
   space, see sq_evict.c) and readings keep flowing through the store;
   then its reserve file is held open by the test, so releasing it frees
   nothing: the store must refuse, and the daemon must log that and keep
   sending each cycle live from memory (VOLATILE batches).
3. read-only: the tmpfs is remounted read-only (still full). A read-only
   remount is refused while a process has a file open for writing, which is
   exactly what the daemon gives up after a failed write (store.h), so the
   remount is retried until it lands between two of the daemon's attempts.
   Live readings must keep arriving; then the tmpfs is remounted read-write.
4. recovery: the filler is removed; within two cycles the daemon must log
   that the store is writable again and commit the held cycles.
5. a few normal cycles, then everything stops.

Oracle: every reading the simulator served (its --log) arrived exactly once
at the receiver, in order, except readings dropped by the daemon's counted
policies (memory bound, eviction), which may be missing up to their count.
The volatile copies and the stored copies of the same readings must both have
reached the receiver (its summary counts the stored ones it dropped).

usage: test_diskfull.py BUILD_DIR
"""
import errno
import os
import re
import subprocess
import sys
import threading
import time

from harness import run, wait, Env, Fail, check, read_jsonl
from test_faults import served_log, received, recv_summary, stored

TMPFS_SIZE = "4m"
NS_MARK = "WG_DISKFULL_NS"
GW_COUNTS = re.compile(r"store outages: (\d+), (\d+) cycles held in memory, (\d+) "
                       r"readings dropped \(memory full\), (\d+) evicted")
VOL = re.compile(r"gw-test: volatile readings (\d+), dropped as sent before "
                 r"(\d+), keys forgotten (\d+)")


def in_private_namespace():
    """Re-execute under unshare so mounts vanish with the test; never returns
    unless already inside."""
    if os.environ.get(NS_MARK):
        return
    for flags in (["-m", "--propagation", "private"], ["-Urm"]):
        if subprocess.call(["unshare"] + flags + ["true"],
                           stderr=subprocess.DEVNULL) == 0:
            os.environ[NS_MARK] = " ".join(flags)
            argv = ["unshare"] + flags + [sys.executable] + sys.argv
            os.execvp("unshare", argv)
    print("FAIL: diskfull: cannot get a private mount namespace (unshare -m and "
          "unshare -Urm both refused): this test needs to mount a tmpfs")
    sys.exit(1)


def sh(*argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode, p.stdout.strip()


def open_files(path):
    """pid:fd flags name of files open under path: who keeps a remount busy."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                name = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                if name.startswith(path):
                    with open("/proc/%s/fdinfo/%s" % (pid, fd)) as f:
                        flags = f.read().split("flags:")[1].split()[0]
                    out.append("%s:%s %s %s" % (pid, fd, flags, name))
        except OSError:
            pass
    return out


def remount(path, mode, timeout=20):
    """Retry while busy: the daemon holds its files only while it tries."""
    deadline = time.time() + timeout
    tries = 0
    while True:
        tries += 1
        rc, out = sh("mount", "-o", "remount," + mode, path)
        if rc == 0:
            return tries
        if time.time() > deadline:
            raise Fail("mount -o remount,%s %s: %s (%d tries); open there: %s" %
                       (mode, path, out, tries, open_files(path)))
        time.sleep(0.02)


class Filler(threading.Thread):
    """Keeps the file system full: whatever the daemon frees is taken again."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop_ev, self.error = path, threading.Event(), None

    def run(self):
        while not self.stop_ev.is_set() and self.fill():
            self.stop_ev.wait(0.05)

    def fill(self):
        """Take every free byte; False on an unexpected error (kept)."""
        chunk = b"\0" * 4096
        # Opened per round: a file held open for writing would itself block
        # the read-only remount.
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            if e.errno != errno.EROFS:
                self.error = e
                return False
            return True
        try:
            for size in (4096, 64):   # then the last partial page
                try:
                    while True:
                        os.write(fd, chunk[:size])
                except OSError as e:
                    if e.errno not in (errno.ENOSPC, errno.EROFS):
                        self.error = e
                        return False
        finally:
            os.close(fd)
        return True


def live_since(recv, t0_ms):
    """Readings printed so far with a timestamp at or after t0_ms."""
    return sum(1 for r in read_jsonl(recv.out_path) if r["ts"] >= t0_ms)


def compare_counted(log, got, allowed):
    """Exactly once, in serving order; at most `allowed` served values missing
    (the daemon's counted drops). Returns (printed, missing)."""
    total = missing = 0
    for point, want in log.items():
        rs = sorted(got.get(point, []), key=lambda r: r["ts"])
        ts = [r["ts"] for r in rs]
        check(len(ts) == len(set(ts)), "%s: duplicated readings at the output "
              "(ts %s)", point, sorted(t for t in ts if ts.count(t) > 1)[:6])
        have = [r["value"] for r in rs]
        vals = [v for _, v in want]
        it = iter(vals)
        check(all(any(v == w for w in it) for v in have),
              "%s: received values are not the served ones in order", point)
        total += len(have)
        missing += len(vals) - len(have)
    check(not set(got) - set(log), "readings of points never served: %s",
          sorted(set(got) - set(log)))
    check(missing <= allowed, "%d served readings never arrived, but the daemon "
          "counted only %d drops", missing, allowed)
    return total, missing


def hold_open(path, timeout=20):
    """An O_RDONLY descriptor on path, opened while it exists (the daemon
    unlinks and recreates it); it pins the file's blocks, not the mount."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            time.sleep(0.01)
    raise Fail("%s never appeared" % path)


def main(build):
    in_private_namespace()
    with Env(build) as env:
        state = os.path.join(env.dir, "state")
        os.makedirs(state)
        rc, out = sh("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_SIZE, "tmpfs",
                     state)
        check(rc == 0, "mount -t tmpfs on %s failed (namespace %s): %s", state,
              os.environ.get(NS_MARK), out)
        try:
            scenario(env, state)
        finally:
            sh("umount", "-l", state)


def scenario(env, state):
    broker, port = env.mosquitto()
    recv = env.recv(port)
    sim, site = env.one_meter(port)
    db = site["store"]
    gw = env.gateway(site)
    per_cycle = 21

    # 1. normal
    wait(lambda: len(read_jsonl(recv.out_path)) >= 3 * per_cycle, 30,
         "first readings")

    # 2a. full, but the daemon can make room: after a TRUNCATE checkpoint its
    # WAL's pages are free and the next cycle fits in them.
    filler = Filler(os.path.join(state, "filler"))
    filler.start()
    t_full = int(time.time() * 1000)
    wait(lambda: live_since(recv, t_full) >= 4 * per_cycle, 20,
         "live readings while the disk is full")
    # 2b. full, and nothing can be freed: the test holds the daemon's reserve
    # file open, so unlinking it gives no space back (as when the last free
    # blocks belong to another process). Once its WAL has been truncated and
    # the filler has taken that space, the store must refuse, and the daemon
    # must hold its cycles in memory. (A reader holding a snapshot cannot
    # happen: the daemon keeps the database locked, locking_mode=EXCLUSIVE.)
    reserve = hold_open(db + "-reserve")
    gw.wait_for(gw.err_path, "store refusing writes", timeout=30)
    t_refused = int(time.time() * 1000)
    wait(lambda: live_since(recv, t_refused) >= 4 * per_cycle, 20,
         "live readings while the store refuses writes")
    full_live = live_since(recv, t_refused)
    check(gw.p.poll() is None, "gateway exited: %s", gw.tail())

    # 3. read-only, still full. An unlinked file still open blocks a
    # read-only remount: the reserve is let go and its space taken at once,
    # long before the daemon's next attempt (a cycle is 1 s).
    os.close(reserve)
    check(filler.fill(), "filler: %s", filler.error)
    tries = remount(state, "ro")
    t_ro = int(time.time() * 1000)
    wait(lambda: live_since(recv, t_ro) >= 4 * per_cycle, 20,
         "live readings while the store is read-only")
    ro_live = live_since(recv, t_ro)
    check(gw.p.poll() is None, "gateway exited: %s", gw.tail())
    remount(state, "rw")

    # 4. recovery
    filler.stop_ev.set()
    filler.join()
    check(filler.error is None, "filler: %s", filler.error)
    os.unlink(os.path.join(state, "filler"))
    t_free = time.time()
    line = gw.wait_for(gw.err_path, "writable again", timeout=10)
    took = time.time() - t_free
    check(took < 2.5, "store took %.1f s (more than two 1 s cycles) to recover "
          "after space returned: %s", took, line)
    held = int(re.search(r"(\d+) cycles held", line).group(1))

    # 5. normal again, then stop and compare
    time.sleep(3)
    sim.stop()
    log = served_log(os.path.join(env.dir, "sim.log"))
    want = sum(len(v) for v in log.values())
    deadline = time.time() + 60
    while len(read_jsonl(recv.out_path)) < want and time.time() < deadline:
        check(gw.p.poll() is None, "gateway exited: %s", gw.tail())
        time.sleep(0.3)
    time.sleep(1.5)             # a late duplicate would show up now
    check(gw.stop() == 0, "gateway exit: %s", gw.tail())
    m = GW_COUNTS.search(gw.stderr())
    check(m is not None, "no store outage counts in the daemon's summary:\n%s",
          gw.tail())
    outages, cycles_held, dropped, evicted = map(int, m.groups())
    left = stored(db)
    summ, err = recv_summary(recv)
    v = VOL.search(err)
    check(v is not None, "receiver saw no volatile batches:\n%s", err[-1500:])
    vol_readings, vol_dropped, forgotten = map(int, v.groups())
    total, missing = compare_counted(log, received(recv.out_path),
                                     dropped + evicted)
    check(left == 0, "%d batches still in the store at the end", left)
    check(summ["gaps"] == 0, "receiver reports gaps: %s", err[-600:])
    check(vol_dropped > 0, "no stored copy of a volatile reading reached the "
          "receiver (held cycles not committed?)")
    check(forgotten == 0, "receiver forgot %d volatile keys", forgotten)
    print("diskfull: %d readings over %d cycles arrived exactly once; full: %d "
          "live readings, read-only (remount after %d tries): %d live readings; "
          "%d outage(s), %d cycles held in memory (%d in the last), recovered "
          "%.1f s after space returned; receiver: %d volatile readings, %d stored "
          "copies dropped; daemon counted %d dropped + %d evicted, %d missing" %
          (total, len(log["voltage_l1"]), full_live, tries, ro_live, outages,
           cycles_held, held, took, vol_readings, vol_dropped, dropped, evicted,
           missing))


if __name__ == "__main__":
    run(main)
