"""Writes to wattgate-sim's chargers by an independent Modbus master (mbpoll,
libmodbus's command-line client), over TCP and RTU: KEBA's limit with FC6,
Alfen's float with FC16, Heidelberg's on the RS-485 pty; each read back raw
by mbpoll; values out of range (exception 3) and other registers (2)
refused. Then the car under a run-time fault file (state:C, car:16,
clamp:10): a 14 A limit reads back as 14 A while the measured current
stays at 10 A.

usage: test_simwrite.py BUILD_DIR
"""
import os
import subprocess
import time

from harness import run, Env, check, read_jsonl, sim_faults


def mbpoll(transport, unit, addr, values=(), count=1):
    """Write values (FC6 for one, FC16 for several) or read count holding
    registers at addr: (ok, registers read, output)."""
    argv = ["mbpoll"] + transport[:-1] + ["-a", str(unit), "-0", "-r", str(addr),
                                          "-t", "4", "-1", "-o", "1"]
    if not values:
        argv += ["-c", str(count)]
    out = subprocess.run(argv + [transport[-1]] + [str(v) for v in values],
                         capture_output=True, text=True, timeout=30)
    regs = []
    for line in out.stdout.splitlines():
        if line.startswith("[") and "]:" in line:
            regs.append(int(line.split(":", 1)[1].split()[0]))
    return out.returncode == 0, regs, out.stdout + out.stderr


def main(build):
    with Env(build) as env:
        ffile = os.path.join(env.dir, "faults")
        open(ffile, "w").close()
        sim, port = env.sim("sim-tcp", ["1:keba_p30", "2:alfen_ng9xx"], "tcp",
                            extra=["--fault-file", ffile])
        tcp = ["-m", "tcp", "-p", str(port), "127.0.0.1"]
        ok, _, out = mbpoll(tcp, 1, 5004, [10000])
        check(ok, "KEBA FC6 write refused: %s", out[-300:])
        ok, regs, out = mbpoll(tcp, 1, 1100, count=2)
        check(ok and regs == [0, 10000], "KEBA read-back %s: %s", regs, out[-300:])
        ok, _, out = mbpoll(tcp, 1, 5004, [5000])
        check(not ok and "illegal data value" in out.lower(),
              "5 A taken: %s", out[-300:])
        ok, _, out = mbpoll(tcp, 1, 5006, [10000])
        check(not ok and "illegal data address" in out.lower(),
              "write to 5006 taken: %s", out[-300:])
        ok, _, out = mbpoll(tcp, 2, 1210, [0x4148, 0])    # 12.5 A, f32
        check(ok, "Alfen FC16 write refused: %s", out[-300:])
        ok, regs, out = mbpoll(tcp, 2, 1210, count=2)
        check(ok and regs == [0x4148, 0], "Alfen read-back %s: %s", regs, out[-300:])
        writes = [r for r in read_jsonl(os.path.join(env.dir, "sim-tcp.log"))
                  if "write" in r]
        check([(r["unit"], r["value"]) for r in writes] == [(1, 10), (2, 12.5)],
              "logged writes %s", writes)

        # The car, switched at run time: charging, a 16 A car, a 10 A ceiling.
        sim_faults(sim, ffile, "1:state:C\n1:car:16\n1:clamp:10\n", 2)
        ok, _, out = mbpoll(tcp, 1, 5004, [14000])
        check(ok, "14 A refused: %s", out[-300:])
        time.sleep(3.5)
        ok, regs, out = mbpoll(tcp, 1, 1008, count=2)
        check(ok and regs == [0, 10000], "current_l1 %s under clamp:10: %s", regs,
              out[-300:])
        ok, regs, out = mbpoll(tcp, 1, 1100, count=2)
        check(ok and regs == [0, 14000], "read-back %s under clamp:10", regs)
        sim_faults(sim, ffile, "1:state:C\n1:car:16\n", 3)
        time.sleep(3.5)
        ok, regs, out = mbpoll(tcp, 1, 1008, count=2)
        check(ok and regs == [0, 14000], "current_l1 %s, not the 14 A limit: %s",
              regs, out[-300:])
        sim.stop()

        link = os.path.join(env.dir, "ttyWG0")
        sim_rtu, _ = env.sim("sim-rtu", ["4:heidelberg_ec"], link)
        rtu = ["-m", "rtu", "-b", "9600", "-P", "none", link]
        ok, _, out = mbpoll(rtu, 4, 261, [125])
        check(ok, "Heidelberg write refused: %s", out[-300:])
        ok, regs, out = mbpoll(rtu, 4, 261, count=1)
        check(ok and regs == [125], "Heidelberg read-back %s: %s", regs, out[-300:])
        ok, _, out = mbpoll(rtu, 4, 261, [161])
        check(not ok and "illegal data value" in out.lower(),
              "16.1 A taken: %s", out[-300:])
        sim_rtu.stop()
        print("simwrite: mbpoll wrote and read back KEBA, Alfen and Heidelberg "
              "limits; the car followed them under clamp")


if __name__ == "__main__":
    run(main)
