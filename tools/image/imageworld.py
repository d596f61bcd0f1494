"""The world of tools/image/test: what runs on the host's loopback (a Modbus
TCP simulator, mosquitto, wattgate-recv, the HTTPS image server), the keys
(the fleet's command key, the release key), the images (v1 as a whole
disk, the later versions as slot images made from its root file system) and
their signed bundles, and the VM on qemu's user network, where the host is
10.0.2.2. docs/image.md "The update test"."""
import base64
import json
import os
import re
import signal
import subprocess
import time

import harness
from cmdworld import Fleet
from harness import Fail, check
from otaworld import OtaWorld
from tlsworld import Pki
import vm as vmmod

GW = "gw-image"
HOST = "10.0.2.2"        # the host's loopback, seen from qemu's user network
FINAL = ("committed", "rolled-back", "rejected", "failed", "canceled")
BOOT = re.compile(r"wattgate: boot slot (\w+) \(virtio 0:\d\) bootcount (\d+)/\d+ "
                  r"upgrade_available (\d)")


class ImageWorld(Fleet):
    def __init__(self, env, here, work, health_s, trial_s):
        Fleet.__init__(self, env)
        self.here = here
        self.work = work
        os.makedirs(work, exist_ok=True)
        _, self.mport = env.mosquitto()
        self.transport = ["--mqtt", "127.0.0.1:%d" % self.mport]
        _, self.sport = env.sim("sim", ["1:sdm630"], "tcp")
        self.recv = env.recv(self.mport)
        self.sign_bin = env.bin("tools", "sign", "wattgate-sign")
        self.release = os.path.join(env.dir, "release")
        r = subprocess.run([self.sign_bin, "--keygen", self.release + ".key",
                            self.release + ".pub"], capture_output=True, text=True)
        check(r.returncode == 0, "wattgate-sign --keygen: %s", r.stderr)
        # The image server: a CA of its own, a certificate for 10.0.2.2.
        pki = Pki(env.dir)
        ca = pki.ca("ota-ca")
        crt, key = pki.leaf("ota-server", ca, HOST, sans=["IP:" + HOST])
        self.ca = ca[0]
        self.www = os.path.join(work, "www")
        os.makedirs(self.www, exist_ok=True)
        ctl = os.path.join(env.dir, "otaserver.json")
        with open(ctl, "w") as f:
            json.dump({}, f)
        self.server = env.start("otaserver", [
            "/usr/bin/python3", os.path.join(env.src, "tests", "integration",
                                             "otaserver.py"),
            "--dir", self.www, "--port", "0", "--cert", crt, "--key", key,
            "--control", ctl])
        line = self.server.wait_for(self.server.out_path, "listening on")
        self.https = "https://%s:%s" % (HOST, line.split()[-1])
        self.site = {
            "gateway": GW, "interval_s": 5,
            "mqtt": {"host": HOST, "port": self.mport},
            "buses": [{"name": "lan", "type": "tcp", "host": HOST,
                       "port": self.sport}],
            "devices": [{"name": "meter", "bus": "lan", "unit": 1,
                         "profile": "sdm630"}],
            "control": {"key": "/etc/wattgate/command.pub"},
            "ota": {"board": "/etc/wattgate/board.json",
                    "ca": "/etc/wattgate/ota-ca.pem", "health_s": health_s}}
        self.trial_s = trial_s
        self.slot_img = None
        self.vm = None
        self.boots = 0

    # --- images ------------------------------------------------------------
    def build_v1(self, version="1.0.0"):
        """The whole disk of version 1 (tools/image/build) with the test's
        site config, keys, CA and trial limit in /etc/wattgate."""
        etc = os.path.join(self.work, "etc")
        os.makedirs(etc, exist_ok=True)
        with open(os.path.join(etc, "site.json"), "w") as f:
            json.dump(self.site, f, indent=2)
        for src, name in ((os.path.join(self.keys, "command.pub"), "command.pub"),
                          (self.release + ".pub", "release.pub"),
                          (self.ca, "ota-ca.pem")):
            with open(src, "rb") as f, open(os.path.join(etc, name), "wb") as g:
                g.write(f.read())
        with open(os.path.join(etc, "trial.env"), "w") as f:
            f.write("WATTGATE_TRIAL_S=%d\n" % self.trial_s)
        out = os.path.join(self.work, "v1")
        env = dict(os.environ, WG_IMAGE_VERSION=version, WG_IMAGE_ETC=etc,
                   WG_IMAGE_DEBUG="1")
        t0 = time.monotonic()
        subprocess.run([os.path.join(self.here, "build"), out], env=env, check=True)
        say("image %s built in %.0f s" % (version, time.monotonic() - t0))
        self.slot_img = os.path.join(out, "slot.img")
        disk = os.path.join(self.work, "disk.img")
        subprocess.run(["cp", "--sparse=always", os.path.join(
            out, "wattgate-generic-arm64.img"), disk], check=True)
        return disk

    def variant(self, version, site=None):
        """v1's root file system as version `version` (its image-version),
        with `site` (a dict, or text as it is) as its site config."""
        path = os.path.join(self.work, "slot-%s.img" % version)
        subprocess.run(["cp", "--sparse=always", self.slot_img, path], check=True)
        cmds = ["cd /etc/wattgate"]
        files = {"image-version": version + "\n"}
        if site is not None:
            files["site.json"] = site if isinstance(site, str) else json.dumps(site)
        for name, text in files.items():
            local = os.path.join(self.work, "put-" + name)
            with open(local, "w") as f:
                f.write(text)
            os.chmod(local, 0o644)
            cmds += ["rm %s" % name, "write %s %s" % (local, name)]
        r = subprocess.run(["debugfs", "-w", "-f", "-", path], input="\n".join(cmds) + "\n",
                           capture_output=True, text=True)
        check(r.returncode == 0 and "rror" not in r.stderr.replace("debugfs 1.", ""),
              "debugfs on %s: %s", path, r.stderr)
        r = subprocess.run(["debugfs", "-R", "cat /etc/wattgate/image-version", path],
                           capture_output=True, text=True)
        check(r.stdout.strip() == version, "%s: image-version %r after debugfs",
              path, r.stdout)
        return path

    def bundle(self, img, version, counter):
        """img signed for generic-arm64 into www/; the slot image removed."""
        out = os.path.join(self.www, "wattgate-%s.wgb" % version)
        t0 = time.monotonic()
        r = subprocess.run([self.sign_bin, "--key", self.release + ".key", "--version",
                            version, "--counter", str(counter), "--board",
                            "generic-arm64", img, out], capture_output=True, text=True)
        check(r.returncode == 0, "wattgate-sign: %s", r.stderr)
        os.unlink(img)
        say("bundle %s: %d bytes, signed in %.1f s" % (os.path.basename(out),
                                                      os.path.getsize(out),
                                                      time.monotonic() - t0))
        return out

    # --- commands and what the receiver printed ----------------------------
    def start_ota(self, bundle):
        """Signs an ota.start for bundle; returns (command id, frame path)."""
        text, end = OtaWorld.split(bundle)
        frame = self.sign("ota.start", args={
            "manifest": base64.b64encode(text).decode(),
            "url": "%s/%s" % (self.https, os.path.basename(bundle)),
            "offset": end}, gw=GW)
        with open(frame, "rb") as f:
            cid = json.loads(f.read()[:-65])["id"]
        return cid, frame

    def send_frame(self, frame):
        rc, _, err = self.send(frame=frame, wait_s=0, gw=GW)
        check(rc in (0, 3), "wattgate-fleet send: exit %d %s", rc, err)

    def ota_records(self, cid):
        return [r for r in self.printed_results()
                if r.get("type") == "ota.start" and r["id"] == cid]

    def ota_states(self, cid):
        return [r["state"] for r in self.ota_records(cid)]

    def readings(self):
        return [r for r in harness.read_jsonl(self.recv.out_path)
                if "result" not in r and r.get("gateway") == GW]

    # --- the VM ------------------------------------------------------------
    def power_on(self, disk):
        self.boots += 1
        log = open(os.path.join(self.work, "console-%02d.log" % self.boots), "w",
                   buffering=1)
        self.vm = vmmod.VM(disk, log=log)
        self.vm.log_path = log.name
        self.vm.t_on = time.time()
        return self.vm

    def power_cut(self):
        """SIGKILL to qemu: what the guest had not written is gone."""
        if self.vm is not None:
            try:
                os.kill(self.vm.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.vm.p.close(force=True)
            self.vm.p.logfile_read.close()
            self.vm = None

    def console(self):
        with open(self.vm.log_path, errors="replace") as f:
            return f.read()

    def boots_seen(self):
        """U-Boot's choices in this power-on: [(slot, bootcount, trial)]."""
        return [(m.group(1), int(m.group(2)), m.group(3) == "1")
                for m in BOOT.finditer(self.console())]

    def pump(self, cond, timeout, what):
        """Reads the console (qemu stops when nobody does) until cond()."""
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise Fail("timed out after %d s: %s" % (timeout, what))
            if self.vm is not None:
                self.vm.drain(0.5)
            else:
                time.sleep(0.5)

    def shell(self, cmd, timeout=60):
        """cmd in the guest's root shell (a debug image: autologin on the
        console); its output. A fresh prompt first: boots change it."""
        v = self.vm

        def logged_in():
            # agetty drops what was typed before it ran: this boot's
            # autologin shell first (the text after U-Boot's last line)
            c = self.console()
            m = list(BOOT.finditer(c))
            return "root@wattgate:~# " in c[m[-1].end() if m else 0:]
        self.pump(logged_in, 240, "the autologin shell on the console")
        v.p.sendline("")
        v.p.sendline("PS1='%s'; stty -echo cols 200; dmesg -n 1" % vmmod.PROMPT)
        v.expect(vmmod.PROMPT, timeout)
        v.expect(vmmod.PROMPT, timeout)
        out, rc = v.sh(cmd, timeout)
        return out, rc

    def wait_new_reading(self, after_ms, timeout, what):
        """A reading polled after after_ms (the host's clock; the VM's RTC
        is the host's) reached the receiver."""
        return self.pump(lambda: [r for r in self.readings() if r["ts"] > after_ms],
                         timeout, what)


def say(msg):
    print("test: " + msg, flush=True)


def check_exactly_once(rows, contiguous=True):
    """Every reading once; with contiguous, the batches' seqs (each a poll
    cycle, strictly increasing over the gateway's life) leave no gap."""
    keys = [(r["ts"], r["device"], r["quantity"]) for r in rows]
    dup = len(keys) - len(set(keys))
    check(dup == 0, "%d readings printed twice", dup)
    seqs = set()
    for r in rows:
        if int(r["seq"]) == 0:
            continue        # a VOLATILE batch (from memory) has no seq
        seqs.update(range(int(r["seq"]), int(r.get("seq_last", r["seq"])) + 1))
    lo, hi = min(seqs), max(seqs)
    gaps = sorted(set(range(lo, hi + 1)) - seqs)
    if contiguous:
        check(not gaps, "sequence numbers missing at the receiver: %s (of %d..%d)",
              gaps[:10], lo, hi)
    return len(rows), hi - lo + 1, gaps
