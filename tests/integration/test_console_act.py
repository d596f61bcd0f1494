"""The console's commands that act (issue 16, docs/console.md "Commands"),
over the daemon's socket, against wattgate-sim, with a real mosquitto and
wattgate-recv (cmdworld.World: a meter at unit 1, a KEBA at unit 2).

Scenarios (one ctest each):
  look  device values match what the simulator served, and a dead device
        shows its timeouts and backoff; watch streams, then
        cancels; read matches the simulator's register (and a bad one names
        the Modbus exception); scan finds the simulator's devices; config
        show and check (a bad and a good config); a client killed mid-read
        leaves the daemon polling
  act   (needs a login: a console password set by the fleet) config apply
        of a bad config (rejected, in `commands`) and a good one (trial,
        then applied across the daemon's restart); reboot through the
        board's hook; the result records of both, and of the login, reach
        the receiver saying "source": "console"

usage: test_console_act.py BUILD_DIR SCENARIO
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time
from decimal import Decimal

from harness import run, Env, check, wait, served_values, sim_faults
from cmdworld import World, FINAL

from consolewire import Console

SOCK = "console.sock"
INTERVAL_MS = 1000


def world(env, hook=None):
    control = {"reboot_hook": hook} if hook else None
    faults = os.path.join(env.dir, "faults")
    open(faults, "w").close()
    w = World(env, chargers=True, control=control,
              sim_extra=["--fault-file", faults])
    w.sock = os.path.join(env.dir, SOCK)
    w.site["console"] = {"socket": w.sock, "open": ["device", "watch"]}
    w.start()
    wait(lambda: os.path.exists(w.sock), 10, "the console socket")
    return w


def connect(w):
    wait(lambda: os.path.exists(w.sock), 30, "the console socket")
    return Console(w.sock)


def ok(reply, what):
    check(reply.get("ok") is True, "%s: %s", what, reply)
    return reply["data"]


# ---------------------------------------------------------------- look

def check_device(w, con):
    wait(lambda: len(w.readings()) > 3, 20, "readings")
    d = ok(con.call("device", "meter"), "device meter")
    check(d["name"] == "meter" and d["unit"] == 1 and d["profile"] == "sdm630"
          and d["bus"] == "lan" and d["answering"] is True, "device: %s", d)
    check(d["errors"]["polls"] > 0 and d["errors"]["last"] == "ok" and
          d["backoff_s"] == 0, "device errors: %s", d)
    check(d["timings"]["requests"] >= 1 and d["timings"]["timeout_ms"] == 500,
          "timings: %s", d["timings"])
    served = served_values(os.path.join(w.env.dir, "sim.log"))
    n = 0
    for v in d["values"]:
        check(v["quality"] == "ok" and v["value"] is not None, "value: %s", v)
        when = served.get((1, v["point"], Decimal(v["value"])), [])
        check(any(v["ts_ms"] <= t < v["ts_ms"] + INTERVAL_MS for t in when),
              "device: %s = %s (cycle %d) was served at %s", v["point"],
              v["value"], v["ts_ms"], when)
        n += 1
    check(n == 21, "device: %d values, the sdm630 has 21", n)
    r = con.call("device", "nope")
    check(r["ok"] is False and "no device 'nope'" in r["error"] and
          "meter" in r["error"], "unknown device: %s", r)
    print("device: %d values match what the simulator served" % n)


def check_watch(w, con):
    rid = con.request("watch", "meter")
    evs = []
    deadline = time.time() + 15
    while len({e["ts_ms"] for e in evs}) < 3 and time.time() < deadline:
        m = con.read_line(15)
        check(m.get("id") == rid and "event" in m, "watch: %s", m)
        evs.append(m["event"])
    check(len({e["ts_ms"] for e in evs}) >= 3, "watch: %d events", len(evs))
    check(all(e["device"] == "meter" and e["point"] for e in evs),
          "watch events: %s", evs[:3])
    served = served_values(os.path.join(w.env.dir, "sim.log"))
    for e in evs:
        if e["value"] is not None:
            check((1, e["point"], Decimal(e["value"])) in served,
                  "watch: %s not served", e)
    # one long request per connection; short ones still run meanwhile
    b = con.call("watch")
    check(b["ok"] is False and b["error"].startswith("busy: request %d" % rid),
          "a second watch: %s", b)
    ok(con.call("device", "meter"), "device during a watch")
    c = con.call("cancel", rid)
    check(c["ok"] is True, "cancel: %s", c)
    end = con.reply(rid)
    check(end["ok"] is False and end["error"] == "canceled", "watch's end: %s",
          end)
    print("watch: %d events, then canceled" % len(evs))


def check_read(w, con):
    d = ok(con.call("read", "meter", "30001", "2", "f32"), "read f32")
    check(d["kind"] == "input" and d["address"] == 0 and d["count"] == 2 and
          d["type"] == "f32" and d["order"] == "ABCD" and
          d.get("point") == "voltage_l1", "read: %s", d)
    f = struct.unpack(">f", struct.pack(">HH", *d["raw"]))[0]
    check(abs(f - float(d["value"])) < 1e-3, "raw %s is not %s", d["raw"],
          d["value"])
    served = served_values(os.path.join(w.env.dir, "sim.log"))
    check((1, "voltage_l1", Decimal(d["value"])) in served,
          "read: voltage_l1 %s was never served", d["value"])
    u = ok(con.call("read", "meter", "i:0", "4"), "read u16 x4")
    check(u["type"] == "u16" and len(u["raw"]) == 4 and len(u["values"]) == 4
          and u["values"][0] == str(u["raw"][0]), "read u16: %s", u)
    bad = con.call("read", "meter", "40001")
    check(bad["ok"] is False and "exception" in bad["error"] and
          "holding" in bad["error"], "a holding register the meter lacks: %s",
          bad)
    for args, why in ((["meter", "50001"], "register"),
                      (["meter", "30001", "126"], "count"),
                      (["meter", "30001", "2", "f64"], "type")):
        r = con.call("read", *args)
        check(r["ok"] is False and why in r["error"], "read %s: %s", args, r)
    print("read: voltage_l1 = %s V, as the simulator served it" % d["value"])


def check_scan(w, con):
    r = con.call("scan", "lan", "1", "3", timeout=60)
    d = ok(r, "scan")
    units = {(f["unit"], f["profile"]) for f in d["found"]}
    check(units == {(1, "sdm630"), (2, "keba_p30")}, "scan found %s", units)
    check(all(f["config"]["bus"] == "lan" for f in d["found"]), "scan: %s", d)
    evs = [e for evs in con.events.values() for e in evs if "found" in e]
    check({(e["unit"], e["found"]) for e in evs} >= units,
          "scan events: %s", con.events)
    r = con.call("scan", "nope")
    check(r["ok"] is False and "no bus 'nope'" in r["error"], "scan: %s", r)
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 40, 20, "polling after the scan")
    # a long scan (each silent id costs the bus's 500 ms) canceled midway
    rid = con.request("scan", "lan", "1", "60")
    while not any(e.get("unit") == 2 for e in con.events.get(rid, [])):
        con.read_line(20)       # TimeoutError if the scan says nothing
    t0 = time.time()
    check(con.call("cancel", rid)["ok"] is True, "cancel of the scan")
    end = con.reply(rid)
    check(end["ok"] is False and end["error"] == "canceled", "scan's end: %s",
          end)
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 20, 10, "polling after the canceled "
         "scan")
    check("console: scan on bus lan canceled while it runs" in w.gw.stderr(),
          "the scan was not stopped")
    print("scan: found %s; a long one canceled, polling again after %.1f s"
          % (sorted(units), time.time() - t0))


def check_config(w, con):
    d = ok(con.call("config", "show"), "config show")
    check(d["source"] == "site" and d["config"] == w.site and
          d["path"].endswith("gateway.json"), "config show: %s", d)
    d = ok(con.call("config", "check", body=json.dumps(w.site)), "config check")
    check(d["summary"] == "gateway gw-test: 2 device(s) on 1 bus(es), every "
          "1 s" and d["apply_ok"] is True, "config check: %s", d)
    bad = json.loads(json.dumps(w.site))
    bad["devices"][0]["unit"] = 300
    r = con.call("config", "check", body=json.dumps(bad))
    check(r["ok"] is False and "unit: 300 out of range" in r["error"],
          "config check of a bad config: %s", r)
    moved = json.loads(json.dumps(w.site))
    moved["store"] = os.path.join(w.env.dir, "elsewhere.db")
    d = ok(con.call("config", "check", body=json.dumps(moved)), "config check")
    check(d["apply_ok"] is False and "store" in d["apply_why"],
          "a config that moves the store: %s", d)
    r = con.call("config", "check")
    check(r["ok"] is False and "body" in r["error"], "no body: %s", r)
    print("config: show, check good and bad")


def killed_mid_read(w, con, session):
    """A client that dies while its read waits for a slow device: the
    daemon drops the job (or its late answer) and polls on."""
    faults = os.path.join(w.env.dir, "faults")
    sim_faults(w.sim, faults, "1:late:300\n", 2)
    child = subprocess.Popen([sys.executable, "-c", """
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(json.dumps({"id": 1, "cmd": "resume", "args": [sys.argv[2]]}).encode() + b"\\n")
buf = b""
while b"\\n" not in buf:
    buf += s.recv(4096)
assert json.loads(buf.split(b"\\n")[0])["ok"], buf
s.sendall(json.dumps({"id": 2, "cmd": "read", "args": ["meter", "30001", "2", "f32"]}).encode() + b"\\n")
print("sent", flush=True)
time.sleep(30)
""", w.sock, session], stdout=subprocess.PIPE, text=True)
    check(child.stdout.readline().strip() == "sent", "the child did not send")
    time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    wait(lambda: "console: read on bus lan canceled" in w.gw.stderr(), 10,
         "the read canceled with its client")
    sim_faults(w.sim, faults, "", 3)
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 40, 20, "polling after the kill")
    check(w.gw.p.poll() is None, "the daemon died")
    ok(con.call("read", "meter", "30001", "2", "f32"), "read after the kill")
    line = [l for l in w.gw.stderr().splitlines()
            if "console: read on bus lan canceled" in l][0]
    print("killed mid-read: %s; the daemon polls on" % line.split(": ", 2)[2])


def check_dead(w, con):
    """A dead device as the technician finds it: not answering, its
    timeouts, the polls in a row without an answer, its backoff."""
    faults = os.path.join(w.env.dir, "faults")
    sim_faults(w.sim, faults, "2:silent\n", 4)
    wait(lambda: ok(con.call("device", "wallbox"), "device")["errors"]
         ["in_a_row"] >= 2, 15, "the wallbox's timeouts")
    d = ok(con.call("device", "wallbox"), "device wallbox")
    e = d["errors"]
    check(d["answering"] is False and e["timeouts"] >= 2 and
          e["last"] != "ok" and d["backoff_s"] >= 1 and
          d["timings"]["last_cycle_ms"] is None, "a dead device: %s", d)
    sim_faults(w.sim, faults, "", 5)
    wait(lambda: ok(con.call("device", "wallbox"), "device")["answering"], 20,
         "the wallbox back")
    print("dead device: %d timeouts, %d polls in a row, backoff %d s, then "
          "back" % (e["timeouts"], e["in_a_row"], d["backoff_s"]))


def stop(w, con):
    """A clean stop with a console connected and a watch running: the
    client hears "stopping", the daemon exits 0 (sanitizers: no leak)."""
    rid = con.request("watch")
    con.read_line(10)
    rc = w.gw.stop()
    check(rc == 0, "the daemon's stop: exit %s", rc)
    check(con.closed(10) and "stopping" in con.notices and
          con.replies.get(rid, {}).get("error") == "canceled",
          "the console at the stop: %s %s", con.notices, con.replies)
    con.close()


def needs_login(w, con):
    """Without a login the write commands are refused."""
    r = con.call("read", "meter", "30001")
    return r.get("ok") is False and "login required" in r.get("error", "")


PASSWORD = "correct horse battery"


def login(w, con, set_password=True):
    """A console password set by the fleet (console.password), then
    login.password: its session token; False if 'help' lists no
    login.password."""
    r = con.call("help")
    names = {c["name"] for c in r.get("data", {}).get("commands", [])}
    if "login.password" not in names:
        return False
    if set_password:
        p = subprocess.run([w.fleet_bin, "password-hash", "--iterations",
                            "100000"], input=PASSWORD + "\n",
                           capture_output=True, text=True)
        check(p.returncode == 0, "password-hash: %s", p.stderr)
        rc, recs, err = w.send("console.password", args=json.loads(p.stdout))
        check(rc == 0 and recs[-1]["state"] == "applied",
              "console.password: %s %s", recs, err)
    return ok(con.call("login.password", PASSWORD, timeout=30),
              "login.password")["session"]


def look(env):
    w = world(env)
    con = connect(w)
    check_device(w, con)
    check_watch(w, con)
    check(needs_login(w, con), "a read ran without a login")
    r = con.call("config", "show")
    check(r["ok"] is False and "login required" in r["error"],
          "config show without a login: %s", r)
    session = login(w, con)
    check(session, "login.password is not in 'help'")
    check_config(w, con)
    check_read(w, con)
    check_scan(w, con)
    killed_mid_read(w, con, session)
    check_dead(w, con)
    stop(w, con)


# ----------------------------------------------------------------- act

def commands_entry(con, cid):
    r = ok(con.call("commands", "id=" + cid), "commands id=" + cid)
    return r["commands"][0] if r["commands"] else None


def act(env):
    hook = os.path.join(env.dir, "reboot-hook")
    mark = os.path.join(env.dir, "rebooted")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho x >> %s\nexit 0\n" % mark)
    os.chmod(hook, 0o755)
    w = world(env, hook=hook)
    con = connect(w)
    r = con.call("reboot")
    check(r["ok"] is False and "login required" in r["error"], "reboot "
          "without a login: %s", r)
    check(login(w, con), "login.password is not in 'help'")
    # a bad config: rejected with the checker's line, journaled
    bad = json.loads(json.dumps(w.site))
    bad["devices"][0]["unit"] = 300
    r = con.call("config", "apply", body=json.dumps(bad))
    check(r["ok"] is False and "rejected" in r["error"] and
          "unit: 300 out of range" in r["error"], "apply of a bad config: %s", r)
    bad_id = r["error"].split("command ", 1)[1].split()[0]
    e = commands_entry(con, bad_id)
    check(e and e["state"] == "rejected", "commands id=%s: %s", bad_id, e)
    # a good one: trial (the daemon restarts on it), then applied
    good = json.loads(json.dumps(w.site))
    good["interval_s"] = 2
    d = ok(con.call("config", "apply", body=json.dumps(good)), "config apply")
    cid = d["command"]
    check(cid.startswith("console-") and d["state"] == "trial", "apply: %s", d)
    con.close()
    wait(lambda: any(r["id"] == cid and r["state"] in FINAL
                     for r in w.printed_results()), 60, "the config's end")
    recs = [r for r in w.printed_results() if r["id"] == cid]
    check([r["state"] for r in recs] == ["received", "trial", "applied"],
          "config.set from the console: %s", recs)
    check(all(r.get("source") == "console" and r.get("who") and r["seq"] == 0
              for r in recs), "records of the console's config.set: %s", recs)
    con = connect(w)
    check(login(w, con, set_password=False), "no login after the restart")
    e = commands_entry(con, cid)
    check(e and e["state"] == "applied", "commands id=%s: %s", cid, e)
    d = ok(con.call("config", "show"), "config show")
    check(d["source"] == "fleet" and d["config"]["interval_s"] == 2,
          "config show after apply: %s", d)
    # identity still answers with the fleet's config in effect (it reads
    # the site file the daemon was started with)
    idn = con.call("identity", timeout=30)
    check(idn["ok"] and idn["data"]["fingerprint"].startswith("sha256:"),
          "identity after a config apply: %s", idn)
    # reboot through the hook
    d = ok(con.call("reboot"), "reboot")
    check(d["state"] == "rebooting" and d["command"].startswith("console-"),
          "reboot: %s", d)
    wait(lambda: os.path.exists(mark), 10, "the reboot hook ran")
    wait(lambda: any(r["id"] == d["command"] and r["state"] == "rebooting"
                     for r in w.printed_results()), 30, "reboot's records")
    rb = [r for r in w.printed_results() if r["id"] == d["command"]]
    check(all(r.get("source") == "console" for r in rb), "reboot: %s", rb)
    # the logins were noted: result records of type console.login
    notes = [r for r in w.printed_results() if r["type"] == "console.login"]
    check(notes and all(r.get("source") == "console" and
                        r["id"].startswith("console-") for r in notes),
          "login notes at the receiver: %s", notes)
    # the fleet's sequence was not touched by the console's commands
    rc, recs, _ = w.send("state")
    check(rc == 0 and recs[-1]["state"] == "applied", "state: %s", recs)
    print("act: bad config rejected, good one applied (%s), reboot via hook, "
          "%d login note(s)" % (cid, len(notes)))
    stop(w, con)


def main(build, scenario):
    with Env(build) as env:
        {"look": look, "act": act}[scenario](env)


if __name__ == "__main__":
    run(main)
