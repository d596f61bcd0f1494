#!/usr/bin/env python3
"""Benchmark: updates (docs/ota.md).

usage: ota.py BUILD_DIR [RUNS] [MB]    (tools/bench/run ota calls it)

One world on loopback (tests/integration/otaworld.py): mosquitto,
wattgate-recv, the simulator (an SDM630 polled every second), the daemon
under the host board's launcher, otaserver.py over HTTPS.

ota_install_s (median of RUNS, and _min/_max): an image of MB MiB (64),
from `wattgate-fleet send ota.start` to the "installed" record at the
receiver: the download over loopback HTTPS, every chunk hashed, written and
fdatasynced, the whole slot read back and hashed, the boot environment
switched. Each run then reboots into the new slot and commits.
ota_live_latency_p99_ms: the live batches' latency (the cycle's time to the
receiver printing its readings) during those downloads, p99 over all; with
ota_live_latency_idle_p99_ms measured the same way in the same run with no
download, and their ratio.
ota_fetch_ratio: bytes the server sent / image size for a 4 MiB image
whose every other request is cut in the middle (>= 10 interruptions).
ota_rate_limited_bps: the download rate with "rate_bps" 1000000 in the
site config (a metered link), over a 4 MiB image.
"""
import json
import os
import statistics
import sys
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

from harness import Env, Fail, wait   # noqa: E402
from otaworld import OtaWorld, OTA_FINAL   # noqa: E402


class Latency(threading.Thread):
    """Tails the receiver's output: when each batch (its seq) was first seen,
    against its cycle's time."""

    def __init__(self, path):
        threading.Thread.__init__(self, daemon=True)
        self.path = path
        self.seen = {}          # seq -> (ts ms, seen ms)
        self.stop = False

    def run(self):
        with open(self.path) as f:
            buf = ""
            while not self.stop:
                chunk = f.read()
                now = time.time() * 1000
                if not chunk:
                    time.sleep(0.005)
                    continue
                buf += chunk
                lines = buf.split("\n")
                buf = lines.pop()
                for line in lines:
                    if '"ts"' not in line:
                        continue
                    r = json.loads(line)
                    if r["seq"] not in self.seen:
                        self.seen[r["seq"]] = (r["ts"], now)

    def window(self, t0, t1):
        """Latencies (ms) of the batches whose cycle fell in [t0, t1] (s)."""
        return [seen - ts for ts, seen in self.seen.values()
                if t0 * 1000 <= ts <= t1 * 1000]


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, len(xs) * 99 // 100)] if xs else -1


def send(w, bundle):
    frame = w.sign("ota.start", args=w.start_args(bundle))
    cid = json.loads(open(frame, "rb").read()[:-65])["id"]
    w.send(frame=frame, wait_s=0)
    return cid


def main():
    build = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mb = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    with Env(build) as env:
        w = OtaWorld(env, health_s=60, slot_size=(mb + 16) << 20)
        w.flash("a", w.image("1.0.0"))
        w.boot()
        w.wait_log("mqtt: connected")
        lat = Latency(w.recv.out_path)
        lat.start()
        time.sleep(12)
        idle = lat.window(time.time() - 10, time.time())
        installs, during = [], []
        version = 1
        for i in range(runs):
            version += 1
            v = "%d.0.0" % version
            b = w.bundle("v%d.wgb" % version, w.image(v, pad=mb << 20), v,
                         counter=version)
            t0 = time.time()
            cid = send(w, b)
            w.wait_ota(cid, ("installed",) + OTA_FINAL, 600)
            t1 = time.time()
            installs.append(t1 - t0)
            during += lat.window(t0, t1 - 1)
            end = w.wait_ota(cid, OTA_FINAL, 120)[-1]
            if end["state"] != "committed":
                raise Fail("update %s: %s" % (v, end))
            w.wait_log("ota: image %s" % v)
            w.wait_log("mqtt: connected", count=i + 2)
            sys.stderr.write("run %d: %d MiB installed in %.1f s\n" % (
                i, mb, installs[-1]))
        # interrupted: every other request cut in the middle of its chunk
        version += 1
        v = "%d.0.0" % version
        img = w.image(v, pad=4 << 20)
        b = w.bundle("v%d.wgb" % version, img, v, counter=version,
                     extra=["--chunk", "131072"])
        w.faults({"/v%d.wgb" % version: "drop:50000:2"})
        t0 = time.time()
        cid = send(w, b)
        w.wait_ota(cid, ("installed",) + OTA_FINAL, 600)
        during += lat.window(t0, time.time() - 1)
        fetched = w.served("/v%d.wgb" % version)
        ratio = fetched / len(img)
        with open(w.server.out_path) as f:
            cuts = f.read().count(" dropped total ")
        w.faults({})
        end = w.wait_ota(cid, OTA_FINAL, 120)[-1]
        if end["state"] != "committed":
            raise Fail("the interrupted update: %s" % end)
        lat.stop = True
        # a metered link: "rate_bps" in the site config
        rate = 1000000
        with Env(build) as env2:
            w2 = OtaWorld(env2, health_s=60, ota={"rate_bps": rate})
            w2.flash("a", w2.image("1.0.0"))
            w2.boot()
            w2.wait_log("mqtt: connected")
            lat2 = Latency(w2.recv.out_path)
            lat2.start()
            img = w2.image("2.0.0", pad=8 << 20)
            b = w2.bundle("v2.wgb", img, "2.0.0", counter=2)
            t0 = time.time()
            cid = send(w2, b)
            wait(lambda: "downloading" in [r["state"] for r in
                                           w2.ota_records(cid)], 30, "started")
            t1 = time.time()
            w2.wait_ota(cid, ("installed",) + OTA_FINAL, 600)
            t2 = time.time()
            during += lat2.window(t0, t2 - 1)
            lat2.stop = True
            print("ota_rate_limit_bps=%d" % rate)
            print("ota_rate_limited_bps=%d" % (len(img) / (t2 - t1)))
        print("ota_image_mib=%d" % mb)
        print("ota_install_s=%.2f" % statistics.median(installs))
        print("ota_install_s_min=%.2f" % min(installs))
        print("ota_install_s_max=%.2f" % max(installs))
        print("ota_install_mb_per_s=%.1f" % (mb / statistics.median(installs)))
        print("ota_live_latency_p99_ms=%d" % p99(during))
        print("ota_live_latency_samples=%d" % len(during))
        print("ota_live_latency_idle_p99_ms=%d" % p99(idle))
        print("ota_live_latency_ratio=%.2f" % (p99(during) / max(p99(idle), 1)))
        print("ota_fetch_ratio=%.4f" % ratio)
        print("ota_fetch_interruptions=%d" % cuts)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        sys.exit("ota: %s" % e)
