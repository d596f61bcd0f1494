"""The update's test world (docs/ota.md): the control plane's world
(cmdworld.World: mosquitto, receiver, simulator, wattgate-fleet) plus a host
board in the test's directory (two slot files, the boot environment's two
copies, the release key, the reboot hook), board/host/launcher as its
bootloader, wattgate-sign for bundles and otaserver.py serving them over
HTTPS. Shared by test_ota.py, the soak (tools/soak/ota-soak) and the
benchmark (tools/bench/ota.py)."""
import base64
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time

from cmdworld import World
from harness import Fail, check, free_port, wait
from tlsworld import Pki

OTA_FINAL = ("committed", "rolled-back", "rejected", "failed", "canceled")
SLOT_SIZE = 32 << 20
RUN = """#!/bin/sh
# The image's entry point: the launcher runs it with the daemon's arguments.
# WG_WRAP: valgrind or nothing (tools/test/run's valgrind stage).
d=$(dirname "$0")
exec ${WG_WRAP:-} "$d/bin/wattgate" "$@"
"""
# What a sanitizer or valgrind leaves in the daemon's log (the launcher
# reboots a daemon that died of it, so its exit status alone is not seen).
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|"
                       r"runtime error:|exited \(99\)|==\d+== (Invalid|Conditional|"
                       r"Syscall param|Mismatched|\d+ bytes in \d+ blocks are "
                       r"definitely)")


def fw_env(state_dir, *args):
    """Debian's fw_printenv/fw_setenv on the config the launcher wrote."""
    cfg = os.path.join(state_dir, "fw_env.config")
    return subprocess.run(list(args[:1]) + ["-c", cfg] + list(args[1:]),
                          capture_output=True, text=True)


class OtaWorld(World):
    def __init__(self, env, health_s=30, ota=None, slot_size=SLOT_SIZE, **kw):
        World.__init__(self, env, **kw)
        self.board = os.path.join(env.dir, "board")
        self.www = os.path.join(env.dir, "www")
        os.makedirs(self.board)
        os.makedirs(self.www)
        self.sign_bin = env.bin("tools", "sign", "wattgate-sign")
        self.release = os.path.join(self.board, "release")
        r = subprocess.run([self.sign_bin, "--keygen", self.release + ".key",
                            self.release + ".pub"], capture_output=True, text=True)
        check(r.returncode == 0, "wattgate-sign --keygen: %s", r.stderr)
        src = os.path.join(env.src, "board", "host")
        shutil.copy(os.path.join(src, "reboot-hook"), self.board)
        self.launcher_bin = os.path.join(src, "launcher")
        self.board_json = os.path.join(self.board, "board.json")
        desc = {
            "board": "host",
            "description": "the OTA tests' host board",
            "arch": "any",
            "serial_ports": [],
            "state_dir": os.path.join(env.dir, "state"),
            "slots": [{"name": "a", "path": "slot-a.img", "size": slot_size},
                      {"name": "b", "path": "slot-b.img", "size": slot_size}],
            "bootenv": {"copies": [
                {"path": "uboot.env", "offset": 0, "size": 16384},
                {"path": "uboot-redund.env", "offset": 0, "size": 16384}]},
            "release_key": "release.pub",
            "hooks": {"reboot": "reboot-hook"},
        }
        with open(self.board_json, "w") as f:
            json.dump(desc, f, indent=2)
        for s in ("a", "b"):
            with open(self.slot_path(s), "wb") as f:
                f.truncate(slot_size)
        # The image server: its own CA, a certificate for 127.0.0.1.
        pki = Pki(env.dir)
        ca = pki.ca("ota-ca")
        crt, key = pki.leaf("ota-server", ca, "127.0.0.1", sans=["IP:127.0.0.1"])
        self.ca = ca[0]
        self.ctl = os.path.join(env.dir, "otaserver.json")
        with open(self.ctl, "w") as f:
            json.dump({}, f)
        self.server = env.start("otaserver", [
            "/usr/bin/python3", os.path.join(env.src, "tests", "integration",
                                             "otaserver.py"),
            "--dir", self.www, "--port", "0", "--cert", crt, "--key", key,
            "--control", self.ctl])
        line = self.server.wait_for(self.server.out_path, "listening on")
        self.https = "https://127.0.0.1:%s" % line.split()[-1]
        self.site["ota"] = dict({"board": self.board_json, "ca": self.ca,
                                 "health_s": health_s}, **(ota or {}))
        self.site_path = os.path.join(env.dir, "site.json")
        with open(self.site_path, "w") as f:
            json.dump(self.site, f, indent=2)
        self.launcher = None
        self.boots = 0

    # --- images and bundles ---------------------------------------------
    def slot_path(self, name):
        return os.path.join(self.board, "slot-%s.img" % name)

    def image(self, version, run=RUN, files=None, pad=0):
        """A host image (ustar): run, VERSION, bin/wattgate, more files."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
            def add(name, data, mode=0o644):
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                ti.mode = mode
                ti.mtime = 0
                t.addfile(ti, io.BytesIO(data))
            add("run", run.encode(), 0o755)
            add("VERSION", (version + "\n").encode())
            with open(self.env.bin("firmware", "core", "wattgate"), "rb") as f:
                add("bin/wattgate", f.read(), 0o755)
            for name, data in (files or {}).items():
                add(name, data if isinstance(data, bytes) else data.encode())
            if pad:
                add("pad", os.urandom(pad))
        return buf.getvalue()

    def flash(self, slot, img):
        with open(self.slot_path(slot), "r+b") as f:
            f.write(img)

    def bundle(self, name, img, version, counter=1, boards=("host",), key=None,
               extra=()):
        """Signs img into www/NAME; returns the bundle's path."""
        ip = os.path.join(self.env.dir, name + ".img")
        with open(ip, "wb") as f:
            f.write(img)
        out = os.path.join(self.www, name)
        argv = [self.sign_bin, "--key", key or self.release + ".key", "--version",
                version, "--counter", str(counter)]
        for b in boards:
            argv += ["--board", b]
        r = subprocess.run(argv + list(extra) + [ip, out], capture_output=True,
                           text=True)
        check(r.returncode == 0, "wattgate-sign: %s", r.stderr)
        return out

    @staticmethod
    def split(path):
        """(signed manifest text, image offset) of a bundle."""
        with open(path, "rb") as f:
            data = f.read(20000)
        first = data.index(b"\n")
        second = data.index(b"\n", first + 1)
        return data[:second + 1], second + 1

    def start_args(self, path, url=None, force=None, manifest=None):
        text, off = self.split(path)
        a = {"manifest": base64.b64encode(manifest or text).decode(),
             "url": url or "%s/%s" % (self.https, os.path.basename(path)),
             "offset": off}
        if force is not None:
            a["force"] = force
        return a

    def faults(self, spec):
        """otaserver faults from now on: {"PATH or *": "SPEC"}."""
        with open(self.ctl + ".tmp", "w") as f:
            json.dump(spec, f)
        os.rename(self.ctl + ".tmp", self.ctl)

    def served(self, path=None):
        """Body bytes the server sent so far (of path: "/NAME")."""
        total = 0
        with open(self.server.out_path) as f:
            for line in f:
                w = line.split()
                if len(w) > 3 and w[1] == "GET" and (path is None or w[2] == path) \
                        and " sent " in line:
                    total += int(line.split(" sent ")[1].split()[0])
        return total

    # --- the board -------------------------------------------------------
    def env_get(self, name):
        r = fw_env(os.path.join(self.env.dir, "state"), "fw_printenv", "-n", name)
        return r.stdout.strip() if r.returncode == 0 else None

    def boot(self, name="launcher"):
        """Power on: the launcher boots the slot the environment names."""
        try:
            os.unlink(os.path.join(self.board, "poweroff"))
        except FileNotFoundError:
            pass
        self.boots += 1
        self.launcher = self.env.start("%s-%d" % (name, self.boots), [
            self.launcher_bin, self.board, "-c", self.site_path], session=True)
        return self.launcher

    def power_cut(self):
        """Everything the launcher runs dies at once (its process group)."""
        if self.launcher is None:
            return
        try:
            os.killpg(self.launcher.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.launcher.p.wait()
        self.launcher = None

    def gateway_log(self):
        with open(self.launcher.err_path) as f:
            return f.read()

    def wait_log(self, text, timeout=60, count=1):
        def seen():
            return self.gateway_log().count(text) >= count
        wait(seen, timeout, "%r in the gateway's log" % text)

    def check_clean(self):
        """No sanitizer or valgrind report in any boot of the run."""
        for name in sorted(os.listdir(self.env.dir)):
            if name.startswith("launcher-") and name.endswith(".stderr"):
                with open(os.path.join(self.env.dir, name)) as f:
                    for line in f:
                        if SANITIZER.search(line):
                            raise Fail("%s: %s" % (name, line.strip()))

    def connected_n(self):
        return self.gateway_log().count("mqtt: connected")

    def ota_records(self, cid=None):
        return [r for r in self.printed_results()
                if r.get("type") == "ota.start" and (cid is None or r["id"] == cid)]

    def wait_ota(self, cid, states, timeout=120):
        """Waits until the receiver printed one of states for the update cid."""
        def done():
            return any(r["state"] in states for r in self.ota_records(cid))
        wait(done, timeout, "update %s in %s; records: %s" % (
            cid, states, [(r["state"], r.get("why")) for r in
                          self.ota_records(cid)]))
        return self.ota_records(cid)

    def slot_sha(self, name, size=None):
        h = hashlib.sha256()
        with open(self.slot_path(name), "rb") as f:
            h.update(f.read(size) if size else f.read())
        return h.hexdigest()
