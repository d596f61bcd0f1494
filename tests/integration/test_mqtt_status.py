"""The retained status topic and the Last Will, with real components: a gateway
on mutual TLS to mosquitto, mosquitto_sub on the broker's plain listener.

  start           <prefix>/<gw>/status is retained {"status":"online", version,
                  boot, start}
  kill -9         the broker publishes the Last Will: retained
                  {"status":"offline","reason":"lost"}
  restart         retained "online" again, with a later (or equal) start
  SIGTERM         the gateway says {"status":"offline","reason":"stop"} itself,
                  retained, and exits 0

A long-running subscriber sees the four in this order; a fresh subscriber
after each step gets the retained one (retain flag set).

usage: test_mqtt_status.py BUILD_DIR
"""
import json
import subprocess
import time

from harness import run, Env, Fail, check
from tlsworld import Pki, TlsBroker, tls_site, sigkill

TOPIC = "wg/gw-test/status"


def retained(broker):
    """What a new subscriber gets at once: (retain flag, payload dict)."""
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p",
                        str(broker.plain_port), "-t", TOPIC, "-C", "1", "-W", "5",
                        "-F", "%r %p"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        return None, None
    flag, payload = r.stdout.strip().split(" ", 1)
    return flag, json.loads(payload)


def wait_retained(broker, status, reason=None, timeout=30):
    """Until a new subscriber gets this status with the retain flag. (One
    that subscribed just before the gateway published it gets it live, flag
    0: so a not-yet-retained status is polled again, and never retained
    fails by timing out.)"""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        flag, p = retained(broker)
        last = (flag, p)
        if (flag == "1" and p and p.get("status") == status and
                p.get("reason") == reason):
            return p
        time.sleep(0.2)
    raise Fail("timed out waiting for retained %s/%s; last %s" % (status, reason,
                                                                   last))


def check_online(p, version):
    check(set(p) == {"status", "version", "boot", "start"}, "online keys: %s", p)
    check(p["version"] == version, "version %r, wattgate --version says %r",
          p["version"], version)
    now = time.time()
    check(isinstance(p["boot"], int) and 0 < p["boot"] <= now,
          "boot %r is not a past Unix time", p["boot"])
    check(isinstance(p["start"], int) and p["boot"] <= p["start"] <= now + 1,
          "start %r not between boot %r and now", p["start"], p["boot"])


def main(build):
    with Env(build) as env:
        version = subprocess.run([env.bin("firmware", "core", "wattgate"),
                                  "--version"], stdout=subprocess.PIPE,
                                 text=True).stdout.split()[1]
        pki = Pki(env.dir)
        ca = pki.ca("ca")
        broker = TlsBroker(env, ca, pki.leaf("server", ca, "localhost",
                                             ["DNS:localhost"])).start()
        client = pki.leaf("gw", ca, "gw-test", client=True)
        watch = env.start("watch", ["mosquitto_sub", "-h", "127.0.0.1", "-p",
                                    str(broker.plain_port), "-t", TOPIC])
        time.sleep(0.5)     # subscribed before the first status
        sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
        site = tls_site(env, broker, sim_port, ca[0], client)

        gw = env.gateway(site, "gw0")
        gw.wait_for(gw.err_path, "mqtt: connected", 30)
        first = wait_retained(broker, "online")
        check_online(first, version)

        sigkill(gw)
        wait_retained(broker, "offline", "lost")

        time.sleep(1.1)     # a later start, in whole seconds
        gw = env.start("gw1", env.wrap + [env.bin("firmware", "core", "wattgate"),
                                          "-c", env.dir + "/gw0.json"])
        gw.wait_for(gw.err_path, "mqtt: connected", 30)
        second = wait_retained(broker, "online")
        check_online(second, version)
        check(second["start"] > first["start"], "start did not move on: %s, %s",
              first, second)

        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        wait_retained(broker, "offline", "stop")

        time.sleep(0.5)
        watch.stop()
        seen = [json.loads(line) for line in open(watch.out_path) if line.strip()]
        states = [(p["status"], p.get("reason")) for p in seen]
        want = [("online", None), ("offline", "lost"), ("online", None),
                ("offline", "stop")]
        check(states == want, "a subscriber saw %s, want %s", states, want)
        print("status: online %s -> kill -9: offline/lost (Last Will) -> "
              "online -> clean stop: offline/stop; all retained" %
              json.dumps(first))


if __name__ == "__main__":
    run(main)
