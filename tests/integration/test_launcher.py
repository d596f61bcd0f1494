"""The host board's bootloader (board/host/launcher, docs/ota-board.md): U-Boot's
bootcount/bootlimit/altbootcmd on two environment files, with fake images
(tools/ota/mkimage --run) whose run script records each boot and then exits,
waits, commits or reboots through board/host/reboot-hook.

  fresh     no environment: created with the defaults, slot a boots, its run
            gets the daemon's arguments and WATTGATE_*; SIGTERM reaches run and
            ends the launcher; the environment's two copies are what
            fw_printenv reads
  rollback  a trial of slot b whose run exits at once: bootcount 1, 2, 3,
            then altbootcmd: slot a, upgrade_available=0, bootcount=0
  badimage  a trial of a slot that holds no image: failed boots, then the same
  commit    a trial whose run commits (fw_setenv, as the daemon will) and
            reboots through reboot-hook: slot b stays, bootcount 0; a
            poweroff file ends the loop
  torn      the newer environment copy torn (a cut write): the older one boots

usage: test_launcher.py BUILD_DIR
"""
import os
import signal
import subprocess
import time

from harness import run, wait, Env, check

RUN_EXIT = """#!/bin/sh
echo "boot $WATTGATE_SLOT $WATTGATE_IMAGE_VERSION $(basename "$WATTGATE_BOARD") $*" >> "$T_LOG"
exit 1
"""
RUN_WAIT = """#!/bin/sh
echo "boot $WATTGATE_SLOT $WATTGATE_IMAGE_VERSION $(basename "$WATTGATE_BOARD") $*" >> "$T_LOG"
trap 'echo "term $WATTGATE_SLOT" >> "$T_LOG"; exit 0' TERM
while :; do sleep 0.1; done
"""
# What the daemon will do on a healthy trial boot: commit, then a reboot
# through the board's hook (spawned by the daemon: its parent).
RUN_COMMIT = """#!/bin/sh
echo "boot $WATTGATE_SLOT $WATTGATE_IMAGE_VERSION $(basename "$WATTGATE_BOARD") $*" >> "$T_LOG"
if [ "$(fw_printenv -n -c "$T_CFG" upgrade_available)" = 1 ]; then
    fw_setenv -c "$T_CFG" upgrade_available 0 bootcount 0 || exit 1
    echo "commit $WATTGATE_SLOT" >> "$T_LOG"
fi
exec python3 -c 'import subprocess, sys, time
subprocess.call([sys.argv[1]])
time.sleep(30)' "$T_HOOK"
"""


class World:
    def __init__(self, env, name):
        self.env = env
        self.board = os.path.join(env.dir, name)
        self.state = os.path.join(self.board, "state")
        os.makedirs(self.state)
        self.log = os.path.join(env.dir, name + ".log")
        self.cfg = os.path.join(self.state, "fw_env.config")
        with open(os.path.join(self.board, "board.json"), "w") as f:
            f.write("""{ "board": "host", "arch": "any", "state_dir": "state",
  "slots": [ { "name": "a", "path": "state/slot-a.img", "size": 1048576 },
             { "name": "b", "path": "state/slot-b.img", "size": 1048576 } ],
  "bootenv": { "copies": [
    { "path": "state/uboot.env", "offset": 0, "size": 16384 },
    { "path": "state/uboot-redund.env", "offset": 8192, "size": 16384 } ] },
  "hooks": { "reboot": "reboot-hook" } }
""")
        self.proc = None

    def image(self, slot, version, script):
        path = os.path.join(self.env.dir, "run-%s-%s" % (slot, version))
        with open(path, "w") as f:
            f.write(script)
        subprocess.run([os.path.join(self.env.src, "tools", "ota", "mkimage"),
                        "--version", version, "--run", path,
                        os.path.join(self.state, "slot-%s.img" % slot)],
                       check=True, stderr=subprocess.DEVNULL)

    def start(self, *args):
        env = dict(os.environ, T_LOG=self.log, T_CFG=self.cfg,
                   T_HOOK=os.path.join(self.env.src, "board", "host", "reboot-hook"),
                   WATTGATE_LAUNCHER_PAUSE="0.2")
        self.proc = self.env.start(
            "launcher-" + os.path.basename(self.board),
            [os.path.join(self.env.src, "board", "host", "launcher"), self.board]
            + list(args), env=env)
        return self.proc

    def boots(self):
        try:
            with open(self.log) as f:
                return [l.split() for l in f]
        except FileNotFoundError:
            return []

    def runs(self):
        return [b for b in self.boots() if b[0] == "boot"]

    def said(self):
        with open(self.proc.err_path) as f:
            return [l.strip() for l in f if l.startswith("launcher:")]

    def printenv(self):
        out = subprocess.run(["fw_printenv", "-c", self.cfg], check=True,
                             capture_output=True, text=True).stdout
        return dict(l.split("=", 1) for l in out.splitlines())

    def setenv(self, *kv):
        subprocess.run(["fw_setenv", "-c", self.cfg] + list(kv), check=True,
                       capture_output=True)

    def stop(self):
        self.proc.p.send_signal(signal.SIGTERM)
        rc = self.proc.p.wait(10)
        check(rc == 0, "launcher exited %s after SIGTERM", rc)


def fresh(env):
    w = World(env, "fresh")
    w.image("a", "1.0.0", RUN_WAIT)
    w.start("-c", "site one.json")
    wait(lambda: len(w.boots()) >= 1, 15, "slot a booted")
    check(w.boots()[0] == ["boot", "a", "1.0.0", "board.json", "-c", "site",
                           "one.json"], "run got %s", w.boots()[0])
    said = w.said()
    check(said[0] == "launcher: boot 1: no valid environment: creating the "
          "default one", "first line: %s", said)
    check(said[1] == "launcher: boot 1 slot a bootcount 0/3 version 1.0.0",
          "boot line: %s", said)
    check(w.printenv() == {"boot_slot": "a", "bootlimit": "3",
                           "upgrade_available": "0", "bootcount": "0"},
          "environment: %s", w.printenv())
    w.stop()
    check(["term", "a"] in w.boots(), "run did not get the SIGTERM: %s", w.boots())
    check(w.said()[-1] == "launcher: power off", "last: %s", w.said())
    # Copy 1 sits at offset 8192 of its file (board.json): the file is as
    # long as the copy needs, and the bytes before it untouched.
    with open(os.path.join(w.state, "uboot-redund.env"), "rb") as f:
        data = f.read()
    check(len(data) == 8192 + 16384 and data[:8192] == bytes(8192),
          "uboot-redund.env: %d bytes", len(data))
    print("fresh: defaults created, slot a booted with the daemon's "
          "arguments, SIGTERM passed on")


def trial(env, name, b_script):
    """A trial of slot b: rolled back by altbootcmd after bootlimit boots."""
    w = World(env, name)
    w.image("a", "1.0.0", RUN_WAIT)
    if b_script is not None:
        w.image("b", "2.0.0", b_script)
    else:
        with open(os.path.join(w.state, "slot-b.img"), "wb") as f:
            f.write(os.urandom(4096))       # a torn write: no archive
    w.start()
    wait(lambda: len(w.boots()) >= 1, 15, "slot a booted")
    w.setenv("boot_slot", "b", "upgrade_available", "1", "bootcount", "0")
    w.proc.p.send_signal(signal.SIGTERM)
    w.proc.p.wait(10)
    w.start()
    wait(lambda: w.boots()[-1][:2] == ["boot", "a"] and len(w.boots()) > 1,
         30, "back on slot a")
    said = [l for l in w.said() if "bootcount" in l]
    b_boots = [l for l in said if " slot b bootcount" in l]
    if b_script is not None:
        want = ["launcher: boot %d slot b bootcount %d/3 version 2.0.0" % (i, i)
                for i in (1, 2, 3)]
        check(b_boots == want, "slot b boots: %s", said)
        runs = w.runs()
        check(runs[1:5] == [["boot", "b", "2.0.0", "board.json"]] * 3 +
              [["boot", "a", "1.0.0", "board.json"]], "runs: %s", runs)
    else:
        check(len(b_boots) == 3 and all("bootcount %d/3: not an image" % i in l
                                        for i, l in zip((1, 2, 3), b_boots)),
              "slot b boots: %s", said)
    check("launcher: boot 4: bootcount 4 > bootlimit 3: altbootcmd: slot b -> a"
          in said, "no altbootcmd: %s", said)
    check("launcher: boot 4 slot a bootcount 0/3 version 1.0.0" in said,
          "slot a not booted after the rollback: %s", said)
    e = w.printenv()
    check(e["boot_slot"] == "a" and e["upgrade_available"] == "0" and
          e["bootcount"] == "0", "environment after the rollback: %s", e)
    w.stop()
    print("%s: bootcount 1..3 on slot b, then altbootcmd: slot a, "
          "upgrade_available=0, bootcount=0" % name)


def commit(env):
    w = World(env, "commit")
    w.image("a", "1.0.0", RUN_WAIT)
    w.image("b", "2.0.0", RUN_COMMIT)
    w.start()
    wait(lambda: len(w.boots()) >= 1, 15, "slot a booted")
    w.setenv("boot_slot", "b", "upgrade_available", "1", "bootcount", "0")
    w.proc.p.send_signal(signal.SIGTERM)
    w.proc.p.wait(10)
    w.start()
    # boot 1: trial, commits, reboots through the hook; boot 2 onwards: b
    wait(lambda: len([b for b in w.boots() if b[:2] == ["boot", "b"]]) >= 3,
         30, "slot b booted three times")
    open(os.path.join(w.board, "poweroff"), "w").close()
    w.proc.p.wait(15)
    check(w.proc.p.returncode == 0, "launcher: %s", w.proc.p.returncode)
    said = w.said()
    check("launcher: boot 1 slot b bootcount 1/3 version 2.0.0" in said and
          "launcher: boot 2 slot b bootcount 0/3 version 2.0.0" in said,
          "boots: %s", said)
    check(not any("altbootcmd" in l for l in said), "rolled back: %s", said)
    check(["commit", "b"] in w.boots(), "no commit: %s", w.boots())
    e = w.printenv()
    check(e["boot_slot"] == "b" and e["upgrade_available"] == "0",
          "environment after the commit: %s", e)
    print("commit: slot b committed, rebooted by reboot-hook, stays; "
          "poweroff ends the loop")


def torn(env):
    """The newest copy torn after a trial was set up: U-Boot (and the
    launcher) fall back to the older copy, which still says slot a."""
    w = World(env, "torn")
    w.image("a", "1.0.0", RUN_WAIT)
    w.image("b", "2.0.0", RUN_WAIT)
    w.start()
    wait(lambda: len(w.boots()) >= 1, 15, "slot a booted")
    w.stop()
    w.setenv("boot_slot", "b", "upgrade_available", "1")
    # The write went to the copy that was not current: which one is newer
    # is the flags byte (offset 4); tear that one.
    copies = [(os.path.join(w.state, "uboot.env"), 0),
              (os.path.join(w.state, "uboot-redund.env"), 8192)]
    flags = []
    for path, off in copies:
        with open(path, "rb") as f:
            f.seek(off + 4)
            flags.append(f.read(1)[0])
    path, off = copies[0 if (flags[0] - flags[1]) % 256 == 1 else 1]
    with open(path, "r+b") as f:
        f.seek(off + 100)
        f.write(b"\xff" * 16)
    check(w.printenv()["boot_slot"] == "a", "torn copy still read")
    w.start()
    wait(lambda: len(w.runs()) >= 2, 15, "booted again")
    check(w.runs()[1][:2] == ["boot", "a"], "booted %s", w.runs()[1])
    w.stop()
    print("torn: the newer copy torn, the older one boots slot a")


def main(build):
    with Env(build) as env:
        fresh(env)
        trial(env, "rollback", RUN_EXIT)
        trial(env, "badimage", None)
        commit(env)
        torn(env)


run(main)
