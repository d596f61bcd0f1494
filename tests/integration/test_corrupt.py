"""A corrupt store at start: the daemon moves it aside (kept for forensics),
raises an alarm, starts a fresh store and keeps polling and delivering; it never
crash-loops.

usage: test_corrupt.py BUILD_DIR
"""
import glob
import os
import time

from harness import run, Env, Fail, check, read_jsonl


def main(build):
    with Env(build) as env:
        broker, port = env.mosquitto()
        recv = env.recv(port)
        sim, site = env.one_meter(port)
        os.makedirs(os.path.dirname(site["store"]))
        with open(site["store"], "wb") as f:
            f.write(b"\x00garbage from a dying SD card\xff" * 300)
        gw = env.gateway(site)
        line = gw.wait_for(gw.err_path, "ALARM")
        check("moved to" in line, "alarm does not say where the file went: %s", line)
        deadline = time.time() + 30
        while len(read_jsonl(recv.out_path)) < 3 * 21:
            if time.time() > deadline or gw.p.poll() is not None:
                raise Fail("no readings after quarantine: " + gw.stderr())
            time.sleep(0.3)
        check(gw.stop() == 0, "exit: %s", gw.tail())
        kept = glob.glob(site["store"] + ".corrupt-*")
        check(len(kept) == 1, "quarantined file not kept: %s", kept)
        check(open(kept[0], "rb").read(6) == b"\x00garba", "kept file altered")
        print("corrupt: store quarantined to %s, alarm raised, readings flow" %
              os.path.basename(kept[0]))


if __name__ == "__main__":
    run(main)
