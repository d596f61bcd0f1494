"""Uplink failover over real components: simulator -> wattgate with "uplink":
{"primary": "mqtt", "fallback": "coap", "failover_s": 3} -> a real mosquitto
and (through a counting UDP relay) the CoAP server of the same wattgate-recv
process, which dedupes by (gateway, seq) whichever way a batch came.

The broker is stopped mid-run for ~15 cycles (frozen first, so batches
published meanwhile are never acknowledged and must be resent from the store).
Asserted:
  - before the outage the data goes over MQTT: nothing but the connection probe
    crosses the CoAP relay;
  - the gateway fails over to CoAP, and during the outage readings keep
    arriving at the receiver while CoAP requests cross the relay (the broker is
    down: CoAP is the only way they can have come);
  - the broker back, the gateway returns to MQTT: afterwards readings keep
    arriving while no CoAP datagram crosses the relay;
  - at the end every reading the simulator served arrived exactly once, in order
    (the simulator's log against the receiver's output), the receiver saw no
    gap, and the store is empty.

As in test_faults, the broker keeps sessions across restarts and the receiver's
MQTT session is persistent (--id): the test is about the gateway.

Scenario coap_refused: the other way round, "primary": "coap", "fallback":
"mqtt", and the CoAP side answers 4.03 to everything (--coap-refuse) from the
start. The refused primary counts as down: one ALARM, the data moves to MQTT
after failover_s and stays there (the refusal is not taken for a return);
after SIGUSR2 the receiver accepts, the data returns to CoAP after failover_s
up, and every reading arrives exactly once.

Scenario coap_failing: primary coap answers its pings but 5.03 to every
schema and batch (--coap-refuse 503), so it is up and down once per backoff
round. The data still moves to MQTT after failover_s (an up that acknowledges
nothing does not stop the clock), and returns once the CoAP side answers.

usage: test_failover.py BUILD_DIR [coap_refused | coap_failing]
"""
import signal
import time

from harness import run, wait, Env, check, free_port, read_jsonl
from coap_util import Relay, free_udp_port
from test_faults import Broker, count_in, finish_exact, stored

INTERVAL_S = 1
FAILOVER_S = 3
FAILING_FAILOVER_S = 12     # coap_failing: above the first backoff delays
TO_COAP = "data now goes over coap"
TO_MQTT = "data now goes over mqtt"


def lines(recv):
    return len(read_jsonl(recv.out_path))


def live_since(recv, n):
    """Readings printed after the first n that are live (not backlog)."""
    return sum(1 for r in read_jsonl(recv.out_path)[n:] if not r.get("historical"))


def up_dgrams(relay):
    return relay.counts()[1]["up"]


def receiver(env, broker, coap_port, extra=()):
    """One wattgate-recv: a persistent MQTT session and a CoAP server."""
    recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"), "-h",
                              "127.0.0.1", "-p", str(broker.port), "--id",
                              "failover-recv", "--coap", "127.0.0.1:%d" % coap_port]
                     + list(extra))
    recv.wait_for(recv.err_path, "listening on")
    recv.wait_for(recv.err_path, "subscribed")
    broker.proc.wait_for(broker.proc.err_path, "Saving in-memory database")
    return recv


def switched(gw, to, why, timeout):
    """The data moved (the line `to`, once), for the reason `why`."""
    wait(lambda: count_in(gw.err_path, to) == 1, timeout, "the switch: " + to)
    check(why in gw.stderr(), "no reason %r in the switch line:\n%s", why,
          gw.tail())


def coap_primary(env, refuse, failover_s):
    """Primary coap, whose server answers every request with the code refuse
    until SIGUSR2, fallback mqtt: (recv, sim, gw, db, coap_port)."""
    port = free_port()
    broker = Broker(env, port)
    broker.start()
    coap_port = free_udp_port()
    recv = receiver(env, broker, coap_port, ["--coap-refuse", str(refuse)])
    sim, site = env.one_meter(port, interval=INTERVAL_S)
    site["uplink"] = {"primary": "coap", "fallback": "mqtt",
                      "failover_s": failover_s}
    site["coap"] = {"uri": "coap://127.0.0.1:%d/wg" % coap_port,
                    "ack_timeout_ms": 500, "max_retransmit": 4}
    return recv, sim, env.gateway(site), site["store"], coap_port


def coap_refused(env):
    recv, sim, gw, db, coap_port = coap_primary(env, 403, FAILOVER_S)
    gw.wait_for(gw.err_path, "ALARM: coap: 127.0.0.1:%d answers 4.03" % coap_port)
    # Up at the start (its ping answered), then refused: it took nothing.
    switched(gw, TO_MQTT, "coap up and down, acknowledging nothing, for %d s"
             % FAILOVER_S, 30)
    n = lines(recv)
    wait(lambda: live_since(recv, n) >= 5 * 21, 30, "5 live cycles over MQTT")
    # Refused all along: the primary never came back, so the data stayed.
    check(count_in(gw.err_path, "coap is back") == 0 and
          count_in(gw.err_path, TO_COAP) == 0, "the refused primary was taken "
          "for back:\n%s", gw.tail())
    check(count_in(gw.err_path, "ALARM") == 1, "not one ALARM:\n%s", gw.tail())
    recv.p.send_signal(signal.SIGUSR2)
    switched(gw, TO_COAP, "coap up again for %d s" % FAILOVER_S, 90)
    n = lines(recv)
    wait(lambda: lines(recv) >= n + 3 * 21, 60, "3 cycles over CoAP")
    finish_exact(env, sim, gw, recv, db, "failover coap_refused")
    check(stored(db) == 0, "batches left in the store")
    check(count_in(gw.err_path, "set aside, kept") == 0 and
          count_in(gw.err_path, " 0 set aside, ") == 1, "something was set "
          "aside:\n%s", gw.tail())


def coap_failing(env):
    """A primary that is up and down once per backoff round (pings answered,
    5.03 to every schema and batch) still hands the data over after
    failover_s; once it answers again the data returns, exactly once."""
    recv, sim, gw, db, _ = coap_primary(env, 503, FAILING_FAILOVER_S)
    gw.wait_for(gw.err_path, "answers 5.03")
    # Every answered ping used to stop the failover clock and every down to
    # start it anew: the data moved only once a backoff delay (0.5 s, doubling,
    # jittered) outgrew failover_s, after 20 s at the earliest, never with a
    # failover_s of 60. Now it moves failover_s after the start.
    wait(lambda: count_in(gw.err_path, TO_MQTT) >= 1, FAILING_FAILOVER_S + 6,
         "the switch to mqtt")
    check("coap up and down, acknowledging nothing, for %d s"
          % FAILING_FAILOVER_S in gw.stderr(), "no reason in the switch "
          "line:\n%s", gw.tail())
    n = lines(recv)
    wait(lambda: live_since(recv, n) >= 5 * 21, 30, "5 live cycles over MQTT")
    recv.p.send_signal(signal.SIGUSR2)
    # Back on CoAP for good: the last switch goes that way, and data follows.
    wait(lambda: last_switch(gw) == TO_COAP, 120, "the return to coap")
    n = lines(recv)
    wait(lambda: lines(recv) >= n + 3 * 21, 60, "3 cycles over CoAP")
    check(last_switch(gw) == TO_COAP, "the data left coap again:\n%s",
          gw.tail())
    finish_exact(env, sim, gw, recv, db, "failover coap_failing")
    check(stored(db) == 0, "batches left in the store")


def last_switch(gw):
    """The way the data went at the gateway's last switch, or None."""
    last = None
    with open(gw.err_path) as f:
        for line in f:
            for to in (TO_COAP, TO_MQTT):
                if to in line:
                    last = to
    return last


def main(build, scenario=None):
    if scenario in ("coap_refused", "coap_failing"):
        with Env(build) as env:
            (coap_refused if scenario == "coap_refused" else coap_failing)(env)
        return
    with Env(build) as env:
        port = free_port()
        broker = Broker(env, port)
        broker.start()
        coap_port = free_udp_port()
        recv = receiver(env, broker, coap_port)
        relay = Relay(coap_port)
        sim, site = env.one_meter(port, interval=INTERVAL_S)
        site["uplink"] = {"primary": "mqtt", "fallback": "coap",
                          "failover_s": FAILOVER_S}
        site["coap"] = {"uri": "coap://127.0.0.1:%d/wg" % relay.port,
                        "ack_timeout_ms": 500, "max_retransmit": 4}
        db = site["store"]
        gw = env.gateway(site)
        gw.wait_for(gw.err_path, "coap: 127.0.0.1:%d answers" % relay.port)
        wait(lambda: lines(recv) >= 3 * 21, 30, "live readings over MQTT")
        # MQTT carries: only the fallback's probe (a ping and its answer) has
        # crossed the relay, and nothing more while more cycles arrive.
        probe = up_dgrams(relay)
        n = lines(recv)
        wait(lambda: lines(recv) >= n + 3 * 21, 30, "3 more cycles over MQTT")
        check(up_dgrams(relay) == probe, "%d CoAP datagrams went up while MQTT "
              "was the way", up_dgrams(relay) - probe)
        check(count_in(gw.err_path, TO_COAP) == 0, "failed over with the broker "
              "up:\n%s", gw.tail())

        broker.stop(freeze=1.5)
        t_down = time.time()
        switched(gw, TO_COAP, "mqtt down for %d s" % FAILOVER_S, 30)
        # With the broker down, whatever arrives now came over CoAP: the
        # backlog of the outage's first seconds (merged), then live cycles,
        # one batch each, each at least one datagram up the relay.
        n, d = lines(recv), up_dgrams(relay)
        wait(lambda: live_since(recv, n) >= 5 * 21, 30, "5 live cycles over CoAP")
        check(up_dgrams(relay) >= d + 5, "5 live cycles arrived but only %d CoAP "
              "datagrams went up", up_dgrams(relay) - d)
        time.sleep(max(0.0, 15 * INTERVAL_S - (time.time() - t_down)))
        over_coap = lines(recv) - n
        check(broker.proc.p.poll() is not None, "the broker is still running")

        broker.start()
        switched(gw, TO_MQTT, "mqtt up again for %d s" % FAILOVER_S, 60)
        # What the fallback still had in flight is answered within a cycle;
        # from then on nothing goes the CoAP way while readings arrive.
        n = lines(recv)
        wait(lambda: lines(recv) >= n + 2 * 21, 60, "2 cycles after the return")
        n, d = lines(recv), up_dgrams(relay)
        wait(lambda: lines(recv) >= n + 4 * 21, 60, "4 more cycles over MQTT")
        check(up_dgrams(relay) == d, "%d CoAP datagrams went up after the return "
              "to MQTT", up_dgrams(relay) - d)

        finish_exact(env, sim, gw, recv, db, "failover")
        check(stored(db) == 0, "batches left in the store")
        check(count_in(gw.err_path, "uplink: 2 switch(es) between mqtt and coap")
              == 1, "no stop summary with 2 switches:\n%s", gw.tail())
        relay.stop()
        print("failover: %d readings arrived over CoAP during the outage; back on "
              "MQTT after it" % over_coap)


if __name__ == "__main__":
    run(main)
