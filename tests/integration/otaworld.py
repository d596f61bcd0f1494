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
        self.slot_size = slot_size
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

    def image(self, version, run=RUN, files=None, pad=0, outside=False):
        """A host image (ustar): run, VERSION, bin/wattgate, more files.
        outside: no bin/wattgate; run starts the build's daemon (a small
        image, for tests that write it many times)."""
        if outside:
            run = "#!/bin/sh\nexec %s \"$@\"\n" % self.env.bin("firmware", "core",
                                                             "wattgate")
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
            if not outside:
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

    def boot(self, name="launcher", penv=None, args=()):
        """Power on: the launcher boots the slot the environment names.
        penv: more variables in its environment (and so in everything it
        starts); args: more daemon arguments."""
        try:
            os.unlink(os.path.join(self.board, "poweroff"))
        except FileNotFoundError:
            pass
        self.boots += 1
        env = dict(os.environ, **penv) if penv else None
        self.launcher = self.env.start("%s-%d" % (name, self.boots), [
            self.launcher_bin, self.board, "-c", self.site_path] + list(args),
            env=env, session=True)
        return self.launcher

    def poweroff(self, timeout=30):
        """A clean shutdown: the launcher stops the daemon and boots no more."""
        if self.launcher is None:
            return
        open(os.path.join(self.board, "poweroff"), "w").close()
        self.launcher.stop(timeout=timeout)
        self.launcher = None

    def state_dir(self):
        return os.path.join(self.env.dir, "state")

    def snapshot(self, name):
        """The board's files and its state partition (slots, environment,
        store, job file) as they are now; the board must be off."""
        dst = os.path.join(self.env.dir, "snap-" + name)
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        shutil.copytree(self.board, os.path.join(dst, "board"), symlinks=True)
        shutil.copytree(self.state_dir(), os.path.join(dst, "state"), symlinks=True,
                        ignore=shutil.ignore_patterns("run-*"))
        return dst

    def restore(self, name):
        """Back to snapshot(name): what a power cut or an update left is gone."""
        src = os.path.join(self.env.dir, "snap-" + name)
        for d, sub in ((self.board, "board"), (self.state_dir(), "state")):
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(os.path.join(src, sub), d, symlinks=True)

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


def flip(data, at):
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def bad_bundles(w, running, counter, rng=None, outside=False, tag="",
                new="3.0.0"):
    """Bad bundles and servers for a gateway that runs version `running`
    with security counter `counter` committed (test_ota.py's bad scenario
    and tools/soak/ota-soak): ([(name, ota.start args, expected final state,
    text its why must hold)], otaserver faults to set). rng: the bytes
    flipped and the cuts drawn at random instead of the fixed ones; tag
    names the files (one set per call); new: the version of the good
    bundle they are made from."""

    def pick(fixed, span, base=0):
        if rng is None:
            return [min(x, base + span - 1) for x in fixed]
        return sorted({base + rng.randrange(span) for _ in fixed})
    other = os.path.join(w.env.dir, "other" + tag)
    subprocess.run([w.sign_bin, "--keygen", other + ".key", other + ".pub"],
                   check=True, capture_output=True)
    # outside: a small image, but of a few chunks
    img = w.image(new, outside=outside, pad=(256 << 10) if outside else 0)
    good = w.bundle("good%s.wgb" % tag, img, new, counter=counter + 1)
    text, off = w.split(good)
    body, sig = text.split(b"\n")[0], text.split(b"\n")[1]
    whole = open(good, "rb").read()
    chunk = json.loads(body)["chunk"]
    cases = []          # (name, args, expected final state, text in why)

    def case(name, args, why, state="rejected"):
        cases.append((name, args, state, why))

    def served(name, data):
        with open(os.path.join(w.www, name), "wb") as f:
            f.write(data)
        return "%s/%s" % (w.https, name)
    # the manifest itself
    for at in pick((0, 31, 63, 64, 127), 64 + 64):
        t = body + b"\n" + flip(sig, at) + b"\n"
        case("sig flipped at %d" % at, w.start_args(good, manifest=t), "signature")
    case("wrong key", w.start_args(w.bundle(
        "k%s.wgb" % tag, img, new, counter=counter + 1, key=other + ".key")),
        "signature")
    for was, now in ((b'"%s"' % new.encode(), b'"9.0.0"'),
                     (b'"counter":%d' % (counter + 1), b'"counter":%d' % (counter + 9)),
                     (b'"host"', b'"hosu"')):
        check(was in body, "%r not in the manifest %r", was, body)
        t = body.replace(was, now) + b"\n" + sig + b"\n"
        case("manifest tampered %s" % now.decode(), w.start_args(good, manifest=t),
             "signature")
    case("not a manifest", dict(w.start_args(good), manifest="bm90IGEgbWFuaWZlc3Q="),
         "manifest")
    case("not base64", dict(w.start_args(good), manifest="*&^%"), "manifest")
    case("http url", w.start_args(good, url="http://127.0.0.1:1/x"), "url")
    case("unknown member", dict(w.start_args(good), speed=1), "unknown member")
    for v in (running, "1.9.9", "0.0.1"):
        case("version %s" % v, w.start_args(w.bundle(
            "v%s%s.wgb" % (v, tag), img, v, counter=counter + 1)), "not newer")
    for n in (0, counter - 1):
        case("counter %d" % n, w.start_args(w.bundle(
            "c%d%s.wgb" % (n, tag), img, new, counter=n)), "downgrade")
    for b in (("generic-arm64",), ("generic-armhf", "hostx")):
        case("board %s" % (b,), w.start_args(w.bundle(
            "b%s%s.wgb" % (b[0], tag), img, new, counter=counter + 1, boards=b)),
            "not for board")
    case("expired", w.start_args(w.bundle(
        "exp%s.wgb" % tag, img, new, counter=counter + 1,
        extra=["--expires", "1700000000"])), "expired")
    case("oversized", w.start_args(w.bundle(
        "big%s.wgb" % tag, img + os.urandom(w.slot_size + (1 << 20)), new,
        counter=counter + 1)), "bigger than slot")
    # what the server sends
    for at in pick((off, off + chunk + 17, len(whole) - 1), len(whole) - off, off):
        case("image byte %d flipped" % at, w.start_args(good, url=served(
            "f%d%s.wgb" % (at, tag), flip(whole, at))), "SHA-256")
    for cut in pick((off + 100, off + chunk, len(whole) - 1), len(whole) - off, off):
        case("truncated at %d" % cut, w.start_args(good, url=served(
            "t%d%s.wgb" % (cut, tag), whole[:cut])), "")
    case("offset wrong", dict(w.start_args(good), offset=off + 1), "")
    spec = {}
    # a server error may pass: tried again ("retries": 1), then "failed"
    # (the fleet may send it again; the chunks already in the slot stay)
    for fault, why, state in (("404", "404", "rejected"), ("500", "500", "failed"),
                              ("503", "503", "failed"),
                              ("extra:100", "", "rejected"),
                              ("extra_close:100", "", "rejected"),
                              ("norange", "", "rejected")):
        name = "fault-%s%s.wgb" % (fault.replace(":", "-"), tag)
        spec["/" + name] = fault
        case("server %s" % fault, w.start_args(good, url=served(name, whole)), why,
             state)
    # a resent image resumes at the chunks already in the slot: this one
    # is new, so its first range starts at 0 and can be shifted
    fresh = w.bundle("fresh%s.wgb" % tag, w.image(
        new, pad=1000 + ((256 << 10) if outside else 0), outside=outside),
        new, counter=counter + 1)
    spec["/fault-shift-fresh%s.wgb" % tag] = "shift"
    case("server shift from 0", w.start_args(fresh, url=served(
        "fault-shift-fresh%s.wgb" % tag, open(fresh, "rb").read())), "")
    return cases, spec
