"""Fault tests of the delivery guarantee, with real components: at least once on
the wire, exactly once at the receiver's output. Every reading committed to the
store reaches wattgate-recv exactly once after dedupe: 0 lost, 0 duplicated.

Scenarios (one ctest each):

broker_outage    The broker goes down for 15 cycles (interval 1 s) while the
                 gateway forwards live, then comes back on the same port.
broker_restarts  A backlog of 20 cycles builds up with the broker down; when the
                 gateway is draining it (paced at 2 batches/s), the broker is
                 restarted 20 times, every 0.5..1 s.
budget_kill9     The store budget evicts a backlog (aged by the test, evicted
                 by store_max_days), the gateway is killed with SIGKILL right
                 after, and restarted: the drop ledger's lifetime totals (the
                 SIGUSR1 state line, the retained metrics) still show the
                 eviction, and match what the receiver misses (its gaps).
kill9            The gateway is killed with SIGKILL at 50 random moments (fixed
                 seed; every other one aimed at the few ms after a tick where a
                 cycle is read, committed, sent and acknowledged) and restarted
                 on the same store each time; the broker stays up.

In the broker scenarios the broker keeps sessions across restarts (persistence,
saved every second) and the receiver has a persistent session (--id): the test
is about the gateway, not about a broker that forgets its subscribers. The
outage and every other restart begin by freezing the broker (SIGSTOP) before its
SIGTERM, so a batch published meanwhile is never acknowledged and must be sent
again from the store. The oracle is the simulator's log: every value served
arrives once, in order, and the store is empty after a clean stop.

In kill9, a reading served to a gateway killed before it committed it is
legitimately lost, so the oracle is: every reading printed was served (same
value, same cycle), none is printed twice, every cycle arrives whole, a cycle
served but never printed had a kill between its reading and its commit, no
committed batch is missing (the receiver reports 0 gaps, its last seq is the
store's last assigned one) and the store is empty after a final clean run.
tools/soak/kill-soak runs the same with 1000 kills.

usage: test_faults.py BUILD_DIR SCENARIO
"""
import collections
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

from harness import run, wait, Env, Fail, check, free_port, read_jsonl

INTERVAL_S = 1
SUMMARY = re.compile(r"wattgate-recv: (\S+): batches (\d+) \(seq (\d+)\.\.(\d+)\), "
                     r"readings (\d+), duplicates (\d+), gaps (\d+)")


# The last sequence number the store handed out (firmware/store/store_durable.c).
LAST_SEQ = ("SELECT max(coalesce((SELECT max(coalesce(seq_last, seq)) FROM batch), 0), "
            "(SELECT seq_floor FROM store_state))")


def db_query(db, sql):
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def stored(db):
    """Only while no daemon runs: a running one keeps the store locked
    (gw.state() is the view then)."""
    if not os.path.exists(db):
        return 0
    return db_query(db, "SELECT count(*) FROM batch")



class Broker:
    """A mosquitto that keeps sessions and queued messages across restarts."""

    def __init__(self, env, port):
        self.env, self.port, self.n, self.proc = env, port, 0, None
        pdir = os.path.join(env.dir, "mosq-state")
        os.makedirs(pdir, exist_ok=True)
        self.conf = os.path.join(env.dir, "mosquitto-persist.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "persistence true\npersistence_location %s/\n"
                    "autosave_interval 1\nmax_queued_messages 0\n"
                    # As root, mosquitto would drop to a user that cannot
                    # write into the test's private work dir.
                    "user root\n" % (port, pdir))

    def start(self):
        self.n += 1
        self.proc = self.env.start("mosquitto-%d" % self.n,
                                   ["mosquitto", "-c", self.conf])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.p.poll() is not None:
                    raise Fail("mosquitto exited:\n" + self.proc.stderr())
                time.sleep(0.02)
        raise Fail("mosquitto did not listen on %d" % self.port)

    def stop(self, freeze=0.0):
        """SIGTERM; with freeze, SIGSTOP first and SIGTERM + SIGCONT after that
        long: the broker wakes with the signal pending, leaves its epoll_wait
        on EINTR without reading the socket, saves its state and exits. A
        batch the gateway published meanwhile is thus never acknowledged nor
        delivered, and must be sent again from the store, while everything the
        broker did acknowledge stays queued for the receiver."""
        if freeze:
            self.proc.p.send_signal(signal.SIGSTOP)
            time.sleep(freeze)
            self.proc.p.send_signal(signal.SIGTERM)
            self.proc.p.send_signal(signal.SIGCONT)
        check(self.proc.stop() == 0, "mosquitto exit: %s", self.proc.tail())


def persistent_recv(env, broker):
    """A receiver with a persistent session, once the broker saved it to disk."""
    recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"), "-h",
                              "127.0.0.1", "-p", str(broker.port), "--id",
                              "faults-recv"])
    recv.wait_for(recv.err_path, "subscribed")
    broker.proc.wait_for(broker.proc.err_path, "Saving in-memory database")
    return recv


def recv_summary(recv):
    """Stop the receiver (SIGTERM) and parse its summary line for gw-test."""
    check(recv.stop() == 0, "receiver exit: %s", recv.tail())
    with open(recv.err_path) as f:
        err = f.read()
    for m in SUMMARY.finditer(err):
        if m.group(1) == "gw-test":
            keys = ("batches", "lo", "hi", "readings", "duplicates", "gaps")
            return dict(zip(keys, map(int, m.groups()[1:]))), err
    raise Fail("no summary line for gw-test in the receiver's stderr:\n" + err[-2000:])


def served_log(path):
    """Simulator log -> {point: [(t_ms, value), ...]} in serving order (unit 1)."""
    out = collections.defaultdict(list)
    for r in read_jsonl(path):
        out[r["point"]].append((r["t_ms"], r["value"]))
    return out


def received(path):
    out = collections.defaultdict(list)
    for r in read_jsonl(path):
        out[r["quantity"]].append(r)
    return out


def compare_all(log, got):
    """Every served value arrived exactly once, in order; returns the count."""
    total = 0
    for point, want in log.items():
        rs = sorted(got.get(point, []), key=lambda r: r["ts"])
        ts = [r["ts"] for r in rs]
        check(len(ts) == len(set(ts)), "%s: duplicated readings at the output "
              "(ts %s)", point, sorted(t for t in ts if ts.count(t) > 1)[:6])
        have = [r["value"] for r in rs]
        vals = [v for _, v in want]
        if have != vals:
            lost = len(vals) - len(have)
            i = next((i for i, (a, b) in enumerate(zip(vals, have)) if a != b),
                     min(len(vals), len(have)))
            raise Fail("%s: served %d values, received %d (%+d lost); first "
                       "difference at #%d: served %s, received %s" %
                       (point, len(vals), len(have), lost, i, vals[i:i + 3],
                        have[i:i + 3]))
        total += len(have)
    extra = set(got) - set(log)
    check(not extra, "readings of points never served: %s", sorted(extra))
    return total


def world(env, port):
    sim, site = env.one_meter(port, interval=INTERVAL_S)
    return sim, site


def count_in(path, text):
    with open(path) as f:
        return f.read().count(text)


def finish_exact(env, sim, gw, recv, db, what):
    """Stop serving, let everything drain, compare reading by reading."""
    sim.stop()
    log = served_log(os.path.join(env.dir, "sim.log"))
    want = sum(len(v) for v in log.values())
    deadline = time.time() + 90
    while time.time() < deadline:
        if len(read_jsonl(recv.out_path)) >= want:
            break
        check(gw.p.poll() is None, "gateway exited: %s", gw.tail())
        time.sleep(0.3)
    time.sleep(1.5)             # a late duplicate would show up now
    check(gw.stop() == 0, "gateway exit: %s", gw.tail())
    left = stored(db)
    summ, err = recv_summary(recv)
    total = compare_all(log, received(recv.out_path))
    check(left == 0, "%d batches still in the store at the end", left)
    check(summ["gaps"] == 0, "receiver reports gaps: %s", err[-600:])
    check(summ["readings"] == total, "receiver counted %d readings, printed %d",
          summ["readings"], total)
    cycles = len(log["voltage_l1"])
    print("%s: %d readings over %d cycles arrived exactly once (%d duplicate "
          "batches dropped by the receiver)" % (what, total, cycles,
                                                 summ["duplicates"]))


def broker_outage(build):
    with Env(build) as env:
        port = free_port()
        broker = Broker(env, port)
        broker.start()
        recv = persistent_recv(env, broker)
        sim, site = world(env, port)
        db = site["store"]
        gw = env.gateway(site)
        wait(lambda: len(read_jsonl(recv.out_path)) > 0, 30, "live readings")
        time.sleep(2.3)
        broker.stop(freeze=1.5)
        time.sleep(15 * INTERVAL_S - 1.5)
        n = gw.state()["batches"]
        check(n >= 12, "only %d batches stored during a 15 s outage", n)
        broker.start()
        # The backlog drains while new cycles keep coming (the store keeps an
        # acknowledged batch until the next cycle's transaction deletes it).
        wait(lambda: gw.state()["batches"] <= 2, 90, "the backlog drains")
        # The outage's cycles went out merged: spans of several cycles each,
        # flagged historical. (The receiver may still be in its reconnect
        # backoff: the broker was down for 15 s.)
        def spans():
            return {(r["seq"], r["seq_last"]) for r in read_jsonl(recv.out_path)
                    if "seq_last" in r and r.get("historical")}
        try:
            wait(lambda: sum(b - a + 1 for a, b in spans()) >= 12, 60,
                 "the backlog arrives merged")
        except Fail:
            raise Fail("the backlog did not arrive merged (spans %s)" %
                       sorted(spans()))
        finish_exact(env, sim, gw, recv, db, "broker_outage")


def broker_restarts(build):
    rng = random.Random(20261122)
    with Env(build) as env:
        port = free_port()
        broker = Broker(env, port)
        broker.start()
        recv = persistent_recv(env, broker)
        sim, site = world(env, port)
        # 21 readings a cycle; the 20-cycle backlog goes out merged into one
        # batch of ~420 readings, which the pacing holds back for ~10 s: the
        # restarts begin while it is still to be sent.
        site["backlog_rate"] = 42
        db = site["store"]
        gw = env.gateway(site)
        wait(lambda: len(read_jsonl(recv.out_path)) > 0, 30, "live readings")
        broker.stop(freeze=1.5)
        time.sleep(20 * INTERVAL_S - 1.5)
        backlog = gw.state()["batches"]
        check(backlog >= 17, "only %d batches stored during a 20 s outage", backlog)
        ups = count_in(gw.err_path, "mqtt: connected")
        broker.start()
        wait(lambda: count_in(gw.err_path, "mqtt: connected") > ups, 70,
             "the gateway reconnects")
        time.sleep(2.5)
        merged = gw.state()["merged_readings"]
        check(merged >= 17 * 21, "the backlog was not merged or drained "
              "before the restarts (%d readings left in spans)", merged)
        # Odd restarts are plain, even ones freeze the broker first.
        for i in range(20):
            if i % 2:
                time.sleep(rng.uniform(0.5, 1.0))
                broker.stop()
            else:
                broker.stop(freeze=rng.uniform(0.5, 1.0))
            broker.start()
        finish_exact(env, sim, gw, recv, db, "broker_restarts (backlog %d, 20 "
                     "restarts)" % backlog)


def drain_and_stop(sim, gw, recv, timeout):
    """Stop serving, wait until the last batch the store numbered has been
    printed, then stop the gateway cleanly."""
    sim.stop()
    last = gw.state()["last_seq"]
    wait(lambda: any(r["seq"] >= last for r in read_jsonl(recv.out_path)),
         timeout, "the last committed batch arrives (seq %d)" % last)
    time.sleep(1.5)             # a late duplicate would show up now
    check(gw.stop() == 0, "final gateway exit: %s", gw.tail())


def kill_delay(rng):
    """A random delay in 0.05..2.5 s. Every other one is aimed at the few ms
    after a tick where a cycle is read, committed, sent and acknowledged (on
    loopback all of it takes under 20 ms): purely uniform kills would rarely
    land between a commit and its PUBACK, the moment this scenario is about."""
    d = rng.uniform(0.05, 2.5)
    if rng.random() < 0.5:
        tick = INTERVAL_S * 1000
        now = time.time() * 1000
        d = (tick - now % tick + rng.uniform(0, 20)) / 1000 + rng.randrange(2)
        if d < 0.05:
            d += INTERVAL_S
    return d


def kill9(build, kills=50, seed=1122, quiet=False):
    """Returns the counts; raises Fail on a broken guarantee unless quiet."""
    rng = random.Random(seed)
    res = collections.OrderedDict(kills=kills, readings=0, lost=0, duplicated=0,
                                  gaps=0, unserved=0, partial=0, uncommitted=0,
                                  unexplained=0)
    killed_at = []
    with Env(build) as env:
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, site = world(env, port)
        db = site["store"]
        gws = [env.gateway(site, "gw0")]
        wait(lambda: len(read_jsonl(recv.out_path)) > 0, 30, "first readings")
        for k in range(kills):
            time.sleep(kill_delay(rng))
            g = gws[-1]
            check(g.p.poll() is None, "gateway %s exited by itself: %s", g.name,
                  g.tail())
            killed_at.append(time.time() * 1000)
            g.p.send_signal(signal.SIGKILL)
            g.p.wait()
            g.out.close()
            g.err.close()
            gws.append(env.start("gw%d" % (k + 1), env.wrap + [
                env.bin("firmware", "core", "wattgate"), "-c",
                os.path.join(env.dir, "gw0.json")]))
            if (k + 1) % max(10, kills // 20) == 0:
                sys.stderr.write("kill9: %d kills\n" % (k + 1))
        # The final clean run: a few cycles, then stop serving and drain.
        gw = gws[-1]
        time.sleep(3 * INTERVAL_S)
        drain_and_stop(sim, gw, recv, 90)
        left = stored(db)
        last_seq = db_query(db, LAST_SEQ)
        summ, err = recv_summary(recv)
        broker.stop()

        # Served readings by (point, cycle); a cycle is the aligned tick before t_ms.
        served = collections.defaultdict(list)
        per_cycle = collections.Counter()
        served_at = {}
        for r in read_jsonl(os.path.join(env.dir, "sim.log")):
            c = r["t_ms"] - r["t_ms"] % (INTERVAL_S * 1000)
            served[(r["point"], c)].append(r["value"])
            per_cycle[c] += 1
            served_at[c] = max(served_at.get(c, 0), r["t_ms"])
        got = read_jsonl(recv.out_path)
        keys = collections.Counter((r["quantity"], r["ts"]) for r in got)
        res["readings"] = len(got)
        res["duplicated"] = sum(n - 1 for n in keys.values())
        res["unserved"] = sum(1 for r in got if r["value"] not in
                              served.get((r["quantity"], r["ts"]), []))
        got_cycle = collections.Counter(r["ts"] for r in got)
        res["partial"] = sum(1 for c, n in got_cycle.items() if n != per_cycle[c])
        # A served cycle may be missing only if a kill came between its reading
        # and its commit (a few ms; 300 ms allowed, more under a WG_WRAP tool);
        # any other missing cycle was lost or never committed for no reason.
        slack = 2000 if env.wrap else 300
        missing = sorted(set(per_cycle) - set(got_cycle))
        res["uncommitted"] = len(missing)
        unexplained = [c for c in missing if not any(
            served_at[c] - 50 <= k <= served_at[c] + slack for k in killed_at)]
        res["unexplained"] = len(unexplained)
        res["gaps"] = summ["gaps"]
        res["lost"] = (summ["gaps"] + left + max(0, last_seq - summ["hi"]) +
                       len(unexplained))
        if quiet:
            return res
        check(res["duplicated"] == 0, "%d readings printed twice: %s",
              res["duplicated"], [k for k, n in keys.items() if n > 1][:5])
        check(res["unserved"] == 0, "%d printed readings were never served in "
              "their cycle", res["unserved"])
        check(res["partial"] == 0, "%d cycles arrived with a partial batch",
              res["partial"])
        check(summ["gaps"] == 0, "committed batches lost (receiver gaps):\n%s",
              err[-800:])
        check(not unexplained, "%d served cycles never arrived and no kill came "
              "between their reading and their commit: ts %s", len(unexplained),
              unexplained[:5])
        check(summ["hi"] == last_seq, "last seq printed %d, the store assigned up "
              "to %d", summ["hi"], last_seq)
        check(left == 0, "%d batches left in the store after the clean run", left)
        check(summ["readings"] == len(got), "receiver counted %d, printed %d",
              summ["readings"], len(got))
        print("kill9: %d SIGKILLs; %d readings (%d batches, seq %d..%d) printed "
              "exactly once, 0 gaps, store empty; %d served cycles never committed "
              "(killed before commit), %d duplicate batches dropped by the "
              "receiver" % (kills, len(got), summ["batches"], summ["lo"], summ["hi"],
                            res["uncommitted"], summ["duplicates"]))
        return res

EVICTED = re.compile(r"store budget: batch (\d+)\.\.(\d+) evicted \((\d+) readings\)")
DAY_MS = 86400000


def retained_store(port, want, timeout=20):
    """The retained metrics message's "store" object, once it has want's
    values (the first cycle after a start sends it)."""
    deadline, got = time.time() + timeout, None
    while time.time() < deadline:
        r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port),
                            "-t", "wg/gw-test/metrics", "-C", "1", "-W", "3"],
                           capture_output=True, text=True, timeout=30)
        if r.stdout.strip():
            got = json.loads(r.stdout).get("store")
            if got and all(got.get(k) == v for k, v in want.items()):
                return got
        time.sleep(0.3)
    raise Fail("retained metrics: store object %s, want %s" % (got, want))


def budget_kill9(build):
    with Env(build) as env:
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, site = world(env, port)
        db = site["store"]
        site["store_max_days"] = 1
        # 1. live: the receiver sees the first sequence numbers
        gw = env.gateway(site, "gw-live")
        wait(lambda: len(read_jsonl(recv.out_path)) >= 3 * 21, 30, "live readings")
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        # 2. no link (nothing listens on the port): a backlog builds up
        down = dict(site, mqtt={"host": "127.0.0.1", "port": free_port()})
        gw = env.gateway(down, "gw-down")
        wait(lambda: gw.state()["batches"] >= 5, 30, "a backlog of 5 cycles")
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        # 3. the backlog made two days old: the age budget evicts it at the
        # next commit; SIGKILL right after, before any report could go out
        con = sqlite3.connect(db, timeout=5)
        with con:
            aged = con.execute("UPDATE batch SET t_first = t_first - ?",
                               (2 * DAY_MS,)).rowcount
        con.close()
        gw = env.gateway(down, "gw-evict")
        gw.wait_for(gw.err_path, "older than the age budget", timeout=30)
        time.sleep(0.3)
        before = gw.state()
        gw.p.send_signal(signal.SIGKILL)
        gw.p.wait()
        gw.out.close()
        gw.err.close()
        ev = [tuple(map(int, m.groups())) for m in EVICTED.finditer(gw.stderr())]
        check(ev, "no eviction logged:\n%s", gw.tail())
        ev_readings = sum(n for _, _, n in ev)
        ev_seqs = sum(b - a + 1 for a, b, _ in ev)
        check(before["evicted_readings"] == ev_readings and
              before["evicted_batches"] == len(ev), "state before the kill: %s, "
              "logged evictions %s", before, ev)
        # 4. restarted, link up: the lifetime totals survived the kill
        gw = env.gateway(site, "gw-after")
        after = gw.state()
        for k in ("evicted_batches", "evicted_readings", "thinned_readings",
                  "disk_full_readings", "memory_full_readings"):
            check(after[k] == before[k], "%s: %d before the SIGKILL, %d after the "
                  "restart", k, before[k], after[k])
        store = retained_store(port, {"evicted_batches": len(ev),
                                      "evicted_readings": ev_readings})
        time.sleep(2 * INTERVAL_S)
        drain_and_stop(sim, gw, recv, 60)
        summ, err = recv_summary(recv)
        # What the receiver misses is what the ledger counts: its gaps are the
        # evicted batches' sequence numbers, the readings it never printed
        # those batches' readings (plus at most the cycle the kill cut short,
        # which had no number yet).
        per_cycle = collections.Counter(
            r["t_ms"] - r["t_ms"] % (INTERVAL_S * 1000)
            for r in read_jsonl(os.path.join(env.dir, "sim.log")))
        got = collections.Counter(r["ts"] for r in read_jsonl(recv.out_path))
        missing = sum(n for c, n in per_cycle.items() if c not in got)
        check(summ["gaps"] == ev_seqs, "receiver gaps %d, evicted sequence "
              "numbers %d (%s):\n%s", summ["gaps"], ev_seqs, ev, err[-600:])
        check(ev_readings <= missing <= ev_readings + 21, "the receiver misses %d "
              "readings, the ledger counts %d evicted", missing, ev_readings)
        check(summ["duplicates"] >= 0 and summ["readings"] == sum(got.values()),
              "receiver counted %d readings, printed %d", summ["readings"],
              sum(got.values()))
        print("budget_kill9: %d stored batches aged, %d evicted (%d seqs, "
              "%d readings), SIGKILL; after the restart the state line and the "
              "retained metrics still say evicted_readings=%d; the receiver has "
              "%d gaps and misses %d readings" %
              (aged, len(ev), ev_seqs, ev_readings, store["evicted_readings"],
               summ["gaps"], missing))


SCENARIOS = {"broker_outage": broker_outage, "broker_restarts": broker_restarts,
             "kill9": kill9, "budget_kill9": budget_kill9}


def main(build, scenario=None):
    if scenario not in SCENARIOS:
        raise Fail("scenario must be one of %s" % ", ".join(sorted(SCENARIOS)))
    SCENARIOS[scenario](build)


if __name__ == "__main__":
    run(main)
