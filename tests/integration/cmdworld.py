"""The control plane's test world (docs/commands.md): a real mosquitto, the
receiver, the simulator, the daemon with a "control" section, and
wattgate-fleet with a key pair made by itself. Shared by test_commands.py
and the soak (tools/soak/command-soak)."""
import json
import os
import subprocess
import time

from harness import check, read_jsonl, wait

FINAL = ("applied", "rejected", "expired", "deviated", "failed")


def states(recs):
    return [r["state"] for r in recs]


class Fleet:
    """wattgate-fleet with a key pair of its own, talking to the gateway
    through `transport` (["--mqtt", HOST:PORT] or ["--coap", URI]); what the
    receiver (self.recv) printed. Shared by the MQTT world below and the
    CoAP one (test_commands_coap.py)."""

    def __init__(self, env):
        self.env = env
        self.keys = os.path.join(env.dir, "fleet")
        self.fleet_bin = env.bin("tools", "fleet", "wattgate-fleet")
        r = subprocess.run([self.fleet_bin, "keygen", self.keys],
                           capture_output=True, text=True)
        check(r.returncode == 0, "keygen: %s", r.stderr)
        self.recv = None
        self.transport = []

    def sign(self, ctype, args=None, extra=(), gw="gw-test"):
        """A frame on disk; returns its path."""
        out = os.path.join(self.env.dir, "frame-%f" % time.time())
        argv = [self.fleet_bin, "sign", "--key", os.path.join(self.keys, "command.key"),
                "--gw", gw, "--type", ctype, "--out", out]
        if args is not None:
            argv += ["--args", json.dumps(args)]
        r = subprocess.run(argv + list(extra), capture_output=True, text=True)
        check(r.returncode == 0, "sign: %s", r.stderr)
        return out

    def send(self, ctype=None, args=None, extra=(), frame=None, wait_s=30,
             gw="gw-test"):
        """Sends one command; returns (exit code, [result records], stderr)."""
        argv = [self.fleet_bin, "send"] + self.transport + ["--wait", str(wait_s)]
        if frame is not None:
            argv += ["--frame", frame, "--gw", gw]
        else:
            argv += ["--key", os.path.join(self.keys, "command.key"), "--gw", gw,
                     "--type", ctype]
            if args is not None:
                argv += ["--args", json.dumps(args)]
        r = subprocess.run(argv + list(extra), capture_output=True, text=True,
                           timeout=wait_s + 30)
        self.last_raw = [l for l in r.stdout.splitlines() if l.strip()]
        recs = [json.loads(l) for l in self.last_raw]
        return r.returncode, recs, r.stderr

    def printed_results(self):
        return [r["result"] for r in read_jsonl(self.recv.out_path) if "result" in r]


class World(Fleet):
    """The MQTT world."""

    def __init__(self, env, chargers=False, interval=1, control=None,
                 sim_extra=(), broker_extra="", charger_profile="keba_p30",
                 profiles=None):
        Fleet.__init__(self, env)
        self.broker, self.port = env.mosquitto(extra=broker_extra)
        self.transport = ["--mqtt", "127.0.0.1:%d" % self.port]
        devices = ["1:sdm630"] + (["2:" + charger_profile] if chargers else [])
        self.sim, sim_port = env.sim("sim", devices, "tcp", profiles=profiles,
                                     extra=sim_extra)
        devs = [{"name": "meter", "bus": "lan", "unit": 1, "profile": "sdm630"}]
        if chargers:
            devs.append(dict({"name": "wallbox", "bus": "lan", "unit": 2,
                              "profile": charger_profile}, **(chargers if
                                                         isinstance(chargers, dict)
                                                         else {})))
        self.site = env.site(self.port, interval=interval,
                             buses=[{"name": "lan", "type": "tcp",
                                     "host": "127.0.0.1", "port": sim_port}],
                             devices=devs)
        if profiles is not None:
            self.site["profiles"] = profiles
        self.site["control"] = dict({"key": os.path.join(self.keys, "command.pub"),
                                     "trial_cycles": 5}, **(control or {}))
        # A named receiver keeps its session at the broker: what the gateway
        # publishes while the receiver reconnects waits for it.
        self.recv = env.start("recv", [env.bin("tools", "recv", "wattgate-recv"),
                                       "-h", "127.0.0.1", "-p", str(self.port),
                                       "--id", "wg-recv-commands"])
        self.recv.wait_for(self.recv.err_path, "subscribed")
        self.gw = None

    def start(self, name="gateway", penv=None):
        self.gw = self.env.gateway(self.site, name=name, env=penv)
        self.gw.wait_for(self.gw.err_path, "control: commands on")
        wait(lambda: self.connected(), 20, "gateway connected")
        return self.gw

    def connected(self):
        """Connected and subscribed: on a first connection the broker has
        no subscription for the gateway until its SUBACK, and a command
        published before it is lost (valgrind made that window wide)."""
        with open(self.gw.err_path) as f:
            return "mqtt: subscribed to" in f.read()

    def final(self, recs):
        f = [x for x in recs if x["state"] in FINAL]
        check(len(f) >= 1, "no final state in %s", recs)
        return f[-1]

    def rss_kb(self):
        with open("/proc/%d/status" % self.gw.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def readings(self):
        return [r for r in read_jsonl(self.recv.out_path) if "result" not in r]
