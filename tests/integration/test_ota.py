"""Updates end to end (issue 15, docs/ota.md) on the host board: the
launcher as bootloader over two slot files and a boot environment that
Debian's fw_printenv reads, a real mosquitto, wattgate-recv, wattgate-sim,
wattgate-fleet, wattgate-sign and an HTTPS image server (otaserver.py).

Scenarios (one per ctest, run in parallel):
  update    v1 -> v2: downloaded, installed, rebooted, health-checked,
            committed; v3 fails its health check (its uplink is cut) and
            is rolled back by the daemon; v4 never starts and is rolled
            back by the launcher's bootlimit; v3 again is refused; every
            reading of the whole run reaches the receiver exactly once
  bad       bad bundles and servers: each rejected with a record that
            names why, the active slot never written
  orphan    upgrade_available=1 with no update under way (an older copy of
            the environment): the running image clears it once healthy,
            and refuses an ota.start until then
  resume    10 dropped connections and 2 power cuts during a download:
            bytes fetched <= 1.05 x the image; ota.cancel stops a download;
            an image over CoAP Block2 from wattgate-recv --coap-files

usage: test_ota.py BUILD_DIR SCENARIO
"""
import json
import os
import re
import sqlite3

from harness import run, Env, Fail, check, free_udp_port, wait
from otaworld import OtaWorld, OTA_FINAL, RUN, bad_bundles, fw_env


def send_start(w, bundle, **kw):
    frame = w.sign("ota.start", args=w.start_args(bundle, **kw))
    cid = json.loads(open(frame, "rb").read()[:-65])["id"]
    rc, recs, err = w.send(frame=frame, wait_s=0)
    check(rc in (0, 3), "send ota.start: exit %d %s", rc, err)
    return cid


def states_of(w, cid):
    return [r["state"] for r in w.ota_records(cid)]


def stored_and_left(w):
    """Readings every run stored (its "this run" line), and what is still in
    the store."""
    stored = 0
    for name in os.listdir(w.env.dir):
        if name.startswith("launcher-") and name.endswith(".stderr"):
            with open(os.path.join(w.env.dir, name)) as f:
                stored += sum(int(m) for m in re.findall(
                    r"this run: \d+ cycles, (\d+) readings stored", f.read()))
    db = sqlite3.connect(w.site["store"])
    left = db.execute("SELECT coalesce(sum(n_readings), 0) FROM batch").fetchone()[0]
    db.close()
    return stored, left


def update(env):
    w = OtaWorld(env, health_s=20)
    v1 = w.image("1.0.0")
    w.flash("a", v1)
    w.boot()
    w.wait_log("control: commands on")
    w.wait_log("mqtt: connected")
    # v1 -> v2
    b2 = w.bundle("v2.wgb", w.image("2.0.0"), "2.0.0", counter=2)
    cid = send_start(w, b2)
    recs = w.wait_ota(cid, OTA_FINAL, 120)
    st = states_of(w, cid)
    check(st[-1] == "committed", "v2: %s", [(r["state"], r.get("why"))
                                            for r in recs])
    for s in ("received", "downloading", "installed", "rebooting", "booted-new"):
        check(s in st, "v2: no %s record: %s", s, st)
    check(len([r for r in recs if r["state"] == "committed"]) == 1,
          "committed printed twice: %s", st)
    check(w.env_get("boot_slot") == "b" and w.env_get("upgrade_available") == "0",
          "after the commit: boot_slot %s upgrade_available %s",
          w.env_get("boot_slot"), w.env_get("upgrade_available"))
    w.wait_log("ota: image 2.0.0 in slot b")
    # v3: its own config cuts the uplink (a port nobody listens on)
    bad = dict(w.site)
    bad["mqtt"] = dict(w.site["mqtt"], port=1)
    run3 = RUN.replace('"$d/bin/wattgate" "$@"', '"$d/bin/wattgate" -c "$d/site.json"')
    check(run3 != RUN, "v3's run script is v1's")
    b3 = w.bundle("v3.wgb", w.image("3.0.0", run=run3, files={
        "site.json": json.dumps(bad)}), "3.0.0", counter=3)
    c3 = send_start(w, b3)
    recs = w.wait_ota(c3, OTA_FINAL, 150)
    end = recs[-1]
    check(end["state"] == "rolled-back" and "uplink acknowledged no batch" in
          end.get("why", ""), "v3: %s", [(r["state"], r.get("why")) for r in recs])
    check(w.env_get("boot_slot") == "b", "after v3's rollback: boot_slot %s",
          w.env_get("boot_slot"))
    # v4: never starts; the launcher's bootlimit takes the board back
    b4 = w.bundle("v4.wgb", w.image("4.0.0", run="#!/bin/sh\nexit 1\n"), "4.0.0",
                  counter=4)
    c4 = send_start(w, b4)
    recs = w.wait_ota(c4, OTA_FINAL, 150)
    check(recs[-1]["state"] == "rolled-back" and "bootloader" in
          recs[-1].get("why", ""), "v4: %s",
          [(r["state"], r.get("why")) for r in recs])
    # a version that rolled back is not installed again unless forced
    c3b = send_start(w, b3)
    recs = w.wait_ota(c3b, OTA_FINAL, 30)
    check(recs[-1]["state"] == "rejected" and "rolled back" in recs[-1]["why"],
          "v3 again: %s", recs[-1])
    # the readings of the whole run: each once, none lost
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 5, 30, "readings after the updates")
    (open(os.path.join(w.board, "poweroff"), "w")).close()
    w.launcher.stop(timeout=30)
    stored, left = stored_and_left(w)
    rows = w.readings()
    keys = [(r["ts"], r["device"], r["quantity"]) for r in rows]
    check(len(keys) == len(set(keys)), "a reading printed twice")
    check(stored > 50 and len(rows) + left == stored, "stored %d readings over "
          "the updates, %d printed, %d still in the store", stored, len(rows), left)
    w.check_clean()


def bad(env):
    w = OtaWorld(env, health_s=10, ota={"retries": 1})
    w.flash("a", w.image("1.0.0"))
    w.boot()
    w.wait_log("mqtt: connected")
    # one good update first, so that a security counter is committed (5)
    c = send_start(w, w.bundle("v2.wgb", w.image("2.0.0"), "2.0.0", counter=5))
    check(w.wait_ota(c, OTA_FINAL, 120)[-1]["state"] == "committed",
          "the first update did not commit")
    w.wait_log("ota: image 2.0.0 in slot b")
    w.wait_log("mqtt: connected", count=2)
    active = w.slot_sha("b")
    cases, spec = bad_bundles(w, "2.0.0", 5)
    check(len(cases) >= 30, "only %d bad bundles", len(cases))
    w.faults(spec)
    for name, args, state, why in cases:
        frame = w.sign("ota.start", args=args)
        cid = json.loads(open(frame, "rb").read()[:-65])["id"]
        rc, recs, err = w.send(frame=frame, wait_s=0)
        end = w.wait_ota(cid, OTA_FINAL, 60)[-1]
        check(end["state"] == state and why in end.get("why", ""),
              "%s: %s (%s), want %s with %r", name, end["state"], end.get("why"),
              state, why)
        check(w.slot_sha("b") == active, "%s: the active slot was written", name)
        check(w.env_get("boot_slot") == "b" and w.env_get("upgrade_available") == "0",
              "%s: the boot environment changed", name)
    # and the gateway still polls and delivers
    n = len(w.readings())
    wait(lambda: len(w.readings()) > n + 5, 30, "readings after the bad bundles")
    print("bad bundles: %d rejected, the active slot untouched" % len(cases))
    w.check_clean()


def resume(env):
    w = OtaWorld(env, health_s=10)
    w.flash("a", w.image("1.0.0"))
    w.boot()
    w.wait_log("mqtt: connected")
    img = w.image("2.0.0")
    b2 = w.bundle("v2.wgb", img, "2.0.0", counter=2)
    text, off = w.split(b2)
    chunk = json.loads(text.split(b"\n")[0])["chunk"]
    size = len(img)
    # every other request is cut in the middle of its chunk: 10 interruptions
    n_chunks = (size + chunk - 1) // chunk
    w.faults({"/v2.wgb": "drop:%d:2" % (chunk // 3)})
    cid = send_start(w, b2)
    recs = w.wait_ota(cid, ("installed",) + OTA_FINAL, 180)
    fetched = w.served("/v2.wgb")
    with open(w.server.out_path) as f:
        cuts = f.read().count(" dropped total ")
    ratio = fetched / size
    print("ota_fetch_ratio=%.4f interruptions=%d image=%d chunk=%d" % (
        ratio, cuts, size, chunk))
    check(cuts >= 10 or n_chunks < 10, "only %d interruptions", cuts)
    check(ratio <= 1.05, "fetched %.3f x the image through %d interruptions",
          ratio, cuts)
    check(w.wait_ota(cid, OTA_FINAL, 120)[-1]["state"] == "committed", "v2")
    # two power cuts in the middle of a download: it resumes at the last
    # chunk recorded, and the rest is fetched once
    w.wait_log("ota: image 2.0.0 in slot b")
    img3 = w.image("3.0.0")
    b3 = w.bundle("v3.wgb", img3, "3.0.0", counter=3)
    w.faults({"/v3.wgb": "slow:%d" % (size // 4)})
    c3 = send_start(w, b3)
    for k in (1, 2):
        wait(lambda: any(r["state"] == "downloading" and
                         r["result"].get("bytes", 0) >= k * size // 3
                         for r in w.ota_records(c3)), 60, "progress %d/3" % k)
        w.power_cut()
        w.boot()
    w.faults({})
    end = w.wait_ota(c3, OTA_FINAL, 180)[-1]
    check(end["state"] == "committed", "v3 through power cuts: %s", end)
    fetched = w.served("/v3.wgb")
    check(fetched <= size + 2 * chunk + 64 * 1024,
          "fetched %d for an image of %d through 2 power cuts (chunk %d)",
          fetched, size, chunk)
    print("power cuts: fetched %.3f x the image through 2 cuts" % (fetched / size))
    # ota.cancel stops a download; the fleet may then start it again
    img4 = w.image("4.0.0")
    b4 = w.bundle("v4.wgb", img4, "4.0.0", counter=4)
    w.faults({"/v4.wgb": "slow:50000"})
    w.wait_log("ota: image 3.0.0")
    c4 = send_start(w, b4)
    wait(lambda: "downloading" in states_of(w, c4), 30, "v4 downloading")
    rc, recs, err = w.send("ota.cancel", wait_s=30)
    check(recs and recs[-1]["state"] == "applied", "ota.cancel: %s %s", recs, err)
    end = w.wait_ota(c4, OTA_FINAL, 30)[-1]
    check(end["state"] == "canceled", "v4 after ota.cancel: %s", end)
    rc, recs, err = w.send("ota.cancel", wait_s=30)
    check(recs and recs[-1]["state"] == "rejected" and "no update" in
          recs[-1]["why"], "a second ota.cancel: %s", recs)
    # a CoAP site's platform serves the image in Block2 blocks
    # (wattgate-recv --coap-files, docs/coap.md "Images")
    port = free_udp_port()
    rc = env.start("recv-coap", [env.bin("tools", "recv", "wattgate-recv"),
                                 "--no-mqtt", "--coap", "127.0.0.1:%d" % port,
                                 "--coap-files", w.www])
    rc.wait_for(rc.err_path, "listening on coap://")
    c5 = send_start(w, w.bundle("v5.wgb", w.image("5.0.0"), "5.0.0", counter=5),
                    url="coap://127.0.0.1:%d/fw/v5.wgb" % port)
    end = w.wait_ota(c5, OTA_FINAL, 180)[-1]
    check(end["state"] == "committed", "v5 over CoAP: %s", end)
    w.check_clean()


def orphan(env):
    """upgrade_available=1 with no update under way (the environment's
    newest copy torn, the older one from a trial boot; docs/image.md): the
    image proves itself and clears the flag, so the bootloader does not
    take the board back to the other, older slot at bootlimit."""
    w = OtaWorld(env, health_s=20)
    w.flash("a", w.image("1.0.0"))
    w.boot()
    w.wait_log("mqtt: connected")
    w.poweroff()
    for name, value in (("upgrade_available", "1"), ("bootcount", "1")):
        r = fw_env(w.state_dir(), "fw_setenv", name, value)
        check(r.returncode == 0, "fw_setenv %s: %s", name, r.stderr)
    w.boot()
    w.wait_log("slot a boots on trial (upgrade_available=1) with no update under way")
    # an update would have its trial flag cleared by this one's end: refused
    b2 = w.bundle("v2.wgb", w.image("2.0.0"), "2.0.0", counter=2)
    c2 = send_start(w, b2)
    recs = w.wait_ota(c2, OTA_FINAL, 30)
    check(recs[-1]["state"] == "rejected" and "on trial" in recs[-1].get("why", ""),
          "ota.start during the trial: %s", recs[-1])
    w.wait_log("ota: slot a is healthy: its trial flag cleared", timeout=60)
    check(w.env_get("upgrade_available") == "0" and w.env_get("bootcount") == "0" and
          w.env_get("boot_slot") == "a", "after the trial: upgrade_available %s "
          "bootcount %s boot_slot %s", w.env_get("upgrade_available"),
          w.env_get("bootcount"), w.env_get("boot_slot"))
    w.poweroff()
    w.check_clean()


def main(build, scenario):
    with Env(build) as env:
        {"update": update, "bad": bad, "resume": resume,
         "orphan": orphan}[scenario](env)
    print("PASS ota %s" % scenario)


if __name__ == "__main__":
    run(main)
