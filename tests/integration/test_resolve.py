"""Names off the loop, every address tried (firmware/base/resolve.c,
firmware/uplink/dial.c), against real peers on loopback. getaddrinfo is
replaced by tests/preload/slow_gai.c (LD_PRELOAD): no /etc/hosts or DNS server
is touched, and the same runs on any machine.

  dual_stack  the platform's name resolves to ::1 first, then 127.0.0.1; the
              broker and the CoAP server listen on 127.0.0.1 only (a home with
              broken IPv6, or Debian's "::1 localhost" before a server bound to
              IPv4). An MQTT gateway and a CoAP gateway each connect in their
              first round (the refused ::1 costs no backoff), name the address
              they reached, and deliver every reading exactly once.
  hung        the broker's name does not resolve for 6 s (a dead DNS server on
              LTE): the loop is not held by it, every poll cycle is committed
              meanwhile (the store's count grows a batch a second), and once the
              name resolves everything held arrives exactly once. A stop while
              a lookup hangs is prompt.

usage: test_resolve.py BUILD_DIR SCENARIO
"""
import os
import time

from harness import run, Env, Fail, check, wait
from coap_util import coap_site, free_udp_port, recv_coap
from test_coap import exactly_once, lines


def preload(env, **kw):
    """The environment that gives the gateway slow_gai's getaddrinfo."""
    shim = env.bin("tests", "libslow_gai.so")
    check(os.path.exists(shim), "no %s (built with the tests)", shim)
    e = dict(os.environ)
    e["LD_PRELOAD"] = ((e["LD_PRELOAD"] + ":") if e.get("LD_PRELOAD") else "") + shim
    if "ASAN_OPTIONS" in e:     # the shim is not the first library ASan sees
        e["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
    e.update(kw)
    return e


def mqtt_site(env, host, port, sim_port):
    site = coap_site(env, "coap://127.0.0.1:1/unused", sim_port)
    del site["coap"], site["uplink"]
    site["mqtt"] = {"host": host, "port": port}
    return site


def dual_stack(env):
    units = (1,)
    gai = preload(env, WG_GAI_MAP="platform.test=::1,127.0.0.1")
    # MQTT
    broker, port = env.mosquitto()
    recv = env.recv(port)
    sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
    gw = env.gateway(mqtt_site(env, "platform.test", port, sim_port), env=gai)
    line = gw.wait_for(gw.err_path, "mqtt: connected", 30)
    check("platform.test:%d (127.0.0.1)" % port in line,
          "the connect line does not name the address reached: %s", line)
    err = gw.stderr()
    check("cannot connect" not in err, "the first round did not connect (the "
          "refused ::1 backed off):\n%s", err)
    wait(lambda: lines([recv.out_path]) >= 3 * 21, 30, "three cycles received")
    n = exactly_once(env, sim, [recv.out_path], units, gw)
    check(gw.stop() == 0, "gateway did not exit cleanly:\n%s", gw.tail())
    recv.stop()
    # CoAP: ::1 answers with ICMP port unreachable, 127.0.0.1 with the server.
    os.rename(os.path.join(env.dir, "sim.log"), os.path.join(env.dir, "sim-mqtt.log"))
    os.rename(os.path.join(env.dir, "state"), os.path.join(env.dir, "state-mqtt"))
    cport = free_udp_port()
    crecv = recv_coap(env, cport, name="recv-coap")
    sim2, sim_port2 = env.sim("sim", ["1:sdm630"], "tcp")
    site = coap_site(env, "coap://platform.test:%d/wg" % cport, sim_port2)
    cgw = env.gateway(site, name="gateway-coap", env=gai)
    line = cgw.wait_for(cgw.err_path, "answers (no DTLS)", 30)
    check("platform.test:%d" % cport in line, "not the name: %s", line)
    check("backing off" not in cgw.stderr(), "the first round did not connect:\n%s",
          cgw.stderr())
    wait(lambda: lines([crecv.out_path]) >= 3 * 21, 30, "three cycles received")
    n2 = exactly_once(env, sim2, [crecv.out_path], units, cgw)
    check(cgw.stop() == 0, "gateway did not exit cleanly:\n%s", cgw.tail())
    print("dual_stack: platform.test = ::1, 127.0.0.1 (servers on 127.0.0.1 "
          "only): MQTT and CoAP up in the first round; %d and %d readings "
          "exactly once" % (n, n2))


def hung(env):
    units = (1,)
    hang_ms = 6000
    gai = preload(env, WG_GAI_SLOW=".hang.test", WG_GAI_SLEEP_MS=str(hang_ms),
                  WG_GAI_MAP="broker.hang.test=127.0.0.1")
    broker, port = env.mosquitto()
    recv = env.recv(port)
    sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
    t0 = time.time()
    gw = env.gateway(mqtt_site(env, "broker.hang.test", port, sim_port), env=gai)
    # While the lookup hangs, each cycle is committed (pending: link down).
    counts = []
    while time.time() - t0 < hang_ms / 1000.0 - 1.0:
        st = gw.state()
        counts.append((time.time() - t0, st["batches"]))
        time.sleep(1.0)
    check("mqtt: connected" not in gw.stderr(), "connected although the name "
          "did not resolve yet:\n%s", gw.stderr())
    first, last = counts[1], counts[-1]
    rate = (last[1] - first[1]) / (last[0] - first[0])
    check(rate >= 0.7, "cycles not committed while the lookup hangs: %s", counts)
    gw.wait_for(gw.err_path, "mqtt: connected", 30)
    n = exactly_once(env, sim, [recv.out_path], units, gw)
    check(gw.stop() == 0, "gateway did not exit cleanly:\n%s", gw.tail())
    # A stop while a lookup hangs: bounded, not the lookup's time.
    os.rename(os.path.join(env.dir, "state"), os.path.join(env.dir, "state-1"))
    gai = preload(env, WG_GAI_SLOW=".hang.test", WG_GAI_SLEEP_MS="60000")
    gw2 = env.gateway(mqtt_site(env, "broker.hang.test", port, sim_port),
                      name="gateway-stop", env=gai)
    gw2.state()
    t = time.time()
    check(gw2.stop() == 0, "gateway did not exit cleanly:\n%s", gw2.tail())
    stop_s = time.time() - t
    check(stop_s < 5, "the stop waited for the hung lookup: %.1f s", stop_s)
    print("hung: lookup hung %d ms; %.2f batches/s committed meanwhile (%s); "
          "%d readings exactly once after it resolved; stop during a hung "
          "lookup took %.2f s" % (hang_ms, rate, ", ".join(
              "%.0fs:%d" % c for c in counts), n, stop_s))


def main(build, scenario):
    with Env(build) as env:
        if scenario == "dual_stack":
            dual_stack(env)
        elif scenario == "hung":
            hung(env)
        else:
            raise Fail("unknown scenario %r" % scenario)


if __name__ == "__main__":
    run(main)
