"""wattgate-sim's fault modes, seen by a third-party client (mbpoll, libmodbus)
on a pty RS-485 bus with two meters: each mode breaks exactly the requests it
should, of its own device only; faults switch at start (--fault) and at run
time (--fault-file + SIGUSR1, on top of --fault); a bad fault file changes
nothing. The oracle is
mbpoll's own verdict (exit status, its error text) and the simulator's log.

usage: test_simfaults.py BUILD_DIR
"""
import os
import signal
import subprocess

from harness import run, Env, check, read_jsonl, sim_faults


def mbpoll(tty, unit, timeout_s=0.5):
    """One read of unit's voltage_l1 (FC4 0..1): (ok, mbpoll's output)."""
    out = subprocess.run(["mbpoll", "-m", "rtu", "-b", "9600", "-P", "none",
                          "-a", str(unit), "-0", "-r", "0", "-c", "2", "-t", "3:hex",
                          "-1", "-o", str(timeout_s), tty],
                         capture_output=True, text=True, timeout=30)
    return out.returncode == 0, out.stdout + out.stderr


def main(build):
    with Env(build) as env:
        tty = os.path.join(env.dir, "tty")
        ffile = os.path.join(env.dir, "faults")
        with open(ffile, "w") as f:
            f.write("# start: unit 1 dead\n1:silent\n")
        sim, _ = env.sim("sim", ["1:sdm630", "2:sdm630"], tty,
                         extra=["--fault-file", ffile, "--fault", "2:late:20"])
        loads = 1
        ok, out = mbpoll(tty, 1)
        check(not ok, "silent unit 1 answered: %s", out[-200:])
        ok, out = mbpoll(tty, 2)
        check(ok, "unit 2 did not answer beside a dead unit 1: %s", out[-300:])

        # mode -> (answers?, what mbpoll says when it does not)
        cases = [("crc", False, "CRC"), ("exception:4", False, "failure"),
                 ("garbage", False, ""), ("late:200", True, ""),
                 ("none", True, "")]
        for mode, answers, says in cases:
            loads += 1
            sim_faults(sim, ffile, "1:%s\n" % mode, loads)
            ok, out = mbpoll(tty, 1, timeout_s=1)
            check(ok == answers, "%s: mbpoll %s: %s", mode,
                  "failed" if answers else "succeeded", out[-300:])
            check(says.lower() in out.lower(), "%s: mbpoll does not say %r: %s",
                  mode, says, out[-300:])
            ok, out = mbpoll(tty, 2)
            check(ok, "%s on unit 1 broke unit 2: %s", mode, out[-300:])

        # Every 3rd request of unit 1: exactly requests 3 and 6 of 6 fail.
        loads += 1
        sim_faults(sim, ffile, "1:intermittent:3\n", loads)
        got = [mbpoll(tty, 1)[0] for _ in range(6)]
        check(got == [True, True, False, True, True, False],
              "intermittent:3 gave %s", got)

        # A bad file changes nothing: unit 1 stays as it was (none after a reset).
        loads += 1
        sim_faults(sim, ffile, "1:none\n", loads)
        with open(ffile, "w") as f:
            f.write("1:silent\n9:crc\n")
        sim.p.send_signal(signal.SIGUSR1)
        sim.wait_for(sim.err_path, "faults unchanged")
        check("9: no such device" in sim.stderr(), "no reason named: %s",
              sim.tail())
        ok, out = mbpoll(tty, 1)
        check(ok, "a rejected fault file was half applied: %s", out[-300:])

        # The log: spoiled answers (crc, garbage) and exceptions serve nothing.
        log = read_jsonl(os.path.join(env.dir, "sim.log"))
        faults = [r["fault"] for r in log if "fault" in r]
        for mode in ("silent", "crc", "exception", "garbage", "late"):
            check(mode in faults, "no %s fault in the simulator log", mode)
        # --fault 2:late:20 holds under every reload: all 6 reads of unit 2.
        late2 = [r for r in log if r.get("unit") == 2 and r.get("fault") == "late"]
        check(len(late2) == 6, "unit 2 late %d times, want 6 (--fault lost on "
              "reload?)", len(late2))
        served1 = [r for r in log if r.get("unit") == 1 and "point" in r]
        # late, none, 4 of 6 intermittent, the final read
        check(len(served1) == 1 + 1 + 4 + 1, "unit 1 served %d times, want 7",
              len(served1))
        check(sim.stop() == 0, "simulator did not exit 0")
        print("simfaults: silent, crc, exception, garbage, late, intermittent, "
              "runtime switch and rejected file: ok")


run(main)
