"""Charger session energy end to end: wattgate-sim runs three chargers through
short sessions (A -> B -> C -> E or F -> B -> A every CYCLE seconds;
energy_total rises only in C), the gateway polls them, wattgate-recv prints. KEBA P30 serves its
own session register; Alfen NG9xx (TCP) and Heidelberg EC (RTU pty) have none,
so the gateway derives energy_session from energy_total and the IEC 61851 state
(drivers/charger.c).

For every device the received readings are replayed poll by poll: a session
begins at the first connected poll (B, C, D) after a poll in A and ends at the
next A; E and F (a fault with the vehicle still connected) neither begin nor
end one. Within a session the gateway saw begin, energy_session must equal the
received energy_total minus energy_total of the poll in A before it, exactly,
through the fault too, and it keeps the final value in A until the next
plug-in. Every device must have shown E or F (KEBA P30 has only F). For the derived
devices every other reading (before the first plug-in the gateway saw, or a
session already running when it started) must be INVALID: no value, never 0.
The gateway is started while the simulated chargers are charging, so the first
session is one whose start it did not see.

usage: test_charger_session.py BUILD_DIR
"""
import collections
import os
import time
from decimal import Decimal

from harness import run, Env, Fail, check, read_jsonl

CYCLE = 16          # seconds; C is 25..70 % of it, E/F 70..80 % (chgmodel.c)
SESSIONS = 2        # complete sessions to follow per device
DERIVED = ("d_alfen", "d_heidelberg")


def polls(rows, device):
    """The device's readings as [(ts, {quantity: value or None})], by time."""
    by_ts = collections.defaultdict(dict)
    for r in rows:
        if r["device"] == device:
            by_ts[r["ts"]][r["quantity"]] = (None if r.get("value") is None
                                             else Decimal(str(r["value"])))
    return sorted(by_ts.items())


def replay(device, ps):
    """Check one device's polls; returns (sessions followed, invalid readings)."""
    idle = None         # energy_total of the previous poll, if it was in A
    base = None         # energy_total at plug-in of the session being followed
    final = None        # energy of the last followed session, shown in A
    followed, invalid = 0, 0
    for ts, q in ps:
        state, total, sess = q.get("state"), q.get("energy_total"), q.get("energy_session")
        check(state is not None and total is not None, "%s @%d: no state or "
              "energy_total (the simulator serves no invalid values): %s", device, ts, q)
        if state == 1:
            if base is not None:
                final, base = total - base, None
                if final > 0:
                    followed += 1
            want, idle = final, total
        elif state in (2, 3, 4):
            if idle is not None:
                base = idle
            if base is None or idle is not None:
                final = None        # a new session, followed or not
            idle = None
            want = total - base if base is not None else None
        elif state in (5, 6):
            # A fault holds: the session goes on, or the last one still shows.
            idle = None
            want = total - base if base is not None else final
        else:
            raise Fail("%s @%d: state %s; the simulator serves A, B, C, E, F "
                       "only" % (device, ts, state))
        if want is not None:
            check(sess == want, "%s @%d: energy_session %s, served energy_total "
                  "difference %s (state %s)", device, ts, sess, want, state)
        elif device in DERIVED:
            # Unknown start: INVALID, not 0 and not a guess.
            check(sess is None, "%s @%d: energy_session %s without a session "
                  "start the gateway saw (state %s)", device, ts, sess, state)
            invalid += 1
    return followed, invalid


def main(build):
    with Env(build) as env:
        broker, port = env.mosquitto()
        recv = env.recv(port)
        extra = ["--charger-cycle", str(CYCLE)]
        sim_tcp, tcp_port = env.sim("sim-tcp", ["1:keba_p30", "2:alfen_ng9xx"],
                                    "tcp", extra=extra)
        link = os.path.join(env.dir, "ttyWG0")
        sim_rtu, _ = env.sim("sim-rtu", ["3:heidelberg_ec"], link, extra=extra)
        devices = [
            {"name": "d_keba", "bus": "lan", "unit": 1, "profile": "keba_p30"},
            {"name": "d_alfen", "bus": "lan", "unit": 2, "profile": "alfen_ng9xx"},
            {"name": "d_heidelberg", "bus": "rs485", "unit": 3,
             "profile": "heidelberg_ec"},
        ]
        # Sessions are aligned to unix time: start in the middle of C.
        phase = time.time() % CYCLE
        time.sleep((CYCLE * 0.35 - phase) % CYCLE)
        gw = env.gateway(env.site(port, buses=[
            {"name": "lan", "type": "tcp", "host": "127.0.0.1", "port": tcp_port,
             "timeout_ms": 500},
            {"name": "rs485", "type": "rtu", "device": link, "baud": 19200,
             "timeout_ms": 300}], devices=devices))

        deadline = time.time() + 90
        while True:
            rows = read_jsonl(recv.out_path)
            done = {d["name"]: replay(d["name"], polls(rows, d["name"]))[0]
                    for d in devices}
            if all(n >= SESSIONS for n in done.values()):
                break
            if gw.p.poll() is not None or time.time() > deadline:
                raise Fail("sessions followed: %s\n%s" % (done, gw.tail()))
            time.sleep(0.5)
        check(gw.stop() == 0, "gateway exit")
        rows = read_jsonl(recv.out_path)
        for r in rows:
            if r["quantity"] == "energy_session":
                check(r["unit"] == "kWh", "%s", r)
        mid = 0
        for d in devices:
            ps = polls(rows, d["name"])
            followed, invalid = replay(d["name"], ps)
            states = [q["state"] for _, q in ps]
            check({1, 2, 3} <= set(states) and set(states) & {5, 6},
                  "%s: states %s", d["name"], set(states))
            if d["name"] in DERIVED:
                # The first poll never knows a session start.
                check(ps[0][1].get("energy_session") is None, "%s: first reading %s",
                      d["name"], ps[0][1])
                check(invalid > 0, "%s: no invalid reading", d["name"])
                mid += states[0] in (2, 3)
            print("%s: %d polls, %d sessions followed, %d invalid" % (
                d["name"], len(ps), followed, invalid))
        print("charger_session: session energy matched the served energy_total "
              "difference; %d derived devices started mid-session" % mid)


if __name__ == "__main__":
    run(main)
