"""MQTT over mutual TLS with real components: the simulator -> wattgate (TLS
client with its own certificate) -> mosquitto (TLS listener, require_certificate
true) -> wattgate-recv (on a second, plain loopback listener of the same broker:
the receiver is not what is tested). CAs, certificates and keys are made by the
openssl CLI in the test's work dir at test time (tlsworld.py).

Scenarios (one ctest each):

e2e          Every reading the simulator served arrives exactly once, over
             TLS 1.3 (the gateway logs the negotiated version).
outage       The broker is stopped for a while (attempts meet a closed port)
             and started again: the gateway reconnects, nothing is lost.
wrong_ca     The broker's certificate is not from the CA the gateway trusts.
expired      The broker's certificate expired a month ago.
hostname     The broker's certificate is for another name.
client_ca    The gateway's certificate is from a CA the broker does not know:
             the broker refuses the handshake.
key_mode     The gateway's key file is mode 0644: refused by the gateway before
             it connects.
identity     The client key is the device identity (firmware/identity): the
             site names only cert_file; the certificate is the test CA's
             answer to `wattgate --identity`'s CSR. Every reading arrives
             exactly once over mutual TLS.
tls11        The server speaks only TLS 1.1 (`openssl s_server -tls1_1`; Debian's
             mosquitto 2.0 treats tls_version as a minimum, so it cannot be
             made to): the gateway refuses it (TLS 1.2 is its floor), logs why
             once, and keeps the cycles.

In each refused case: the gateway logs one line naming the cause (once, however
often it retries), nothing reaches the receiver, the cycles are kept in the
store; then the credentials are fixed (wrong_ca: the right CA file; expired: a
new broker certificate and a broker restart; hostname: mqtt.tls.server_name and
a SIGHUP reload; client_ca: a certificate from the right CA; key_mode: chmod
600) and every reading served, before and after, arrives exactly once.

usage: test_mqtt_tls.py BUILD_DIR SCENARIO
"""
import json
import os
import re
import shutil
import signal
import subprocess

from harness import run, wait, Env, Fail, check, read_jsonl
from test_faults import finish_exact, stored
from harness import free_port
from tlsworld import Pki, TlsBroker, persistent_recv, tls_site, count_lines

BROKER_NAME = "broker.wg.test"


def world(env, server_of=None):
    """CA, broker certificate (for localhost unless server_of says otherwise),
    gateway certificate; broker, receiver and simulator running."""
    pki = Pki(env.dir)
    ca = pki.ca("ca")
    server = (server_of or (lambda p, c: p.leaf("server", c, "localhost",
                                                ["DNS:localhost"])))(pki, ca)
    client = pki.leaf("gw", ca, "gw-test", client=True)
    broker = TlsBroker(env, ca, server).start()
    recv = persistent_recv(env, broker)
    sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
    return pki, ca, client, broker, recv, sim, sim_port


def e2e(build):
    with Env(build) as env:
        pki, ca, client, broker, recv, sim, sim_port = world(env)
        site = tls_site(env, broker, sim_port, ca[0], client)
        gw = env.gateway(site)
        line = gw.wait_for(gw.err_path, "mqtt: connected", 30)
        check("over TLSv1.3" in line, "not TLS 1.3: %s", line)
        wait(lambda: len({r["ts"] for r in read_jsonl(recv.out_path)}) >= 10, 60,
             "10 cycles over TLS")
        finish_exact(env, sim, gw, recv, site["store"], "mqtt_tls e2e (%s)" %
                     line.split(" over ")[1])


def outage(build):
    """The broker goes away for a while: attempts meet a closed port (a TLS
    connection refused before its handshake), then it comes back."""
    with Env(build) as env:
        pki, ca, client, broker, recv, sim, sim_port = world(env)
        site = tls_site(env, broker, sim_port, ca[0], client)
        db = site["store"]
        gw = env.gateway(site)
        gw.wait_for(gw.err_path, "mqtt: connected", 30)
        wait(lambda: len({r["ts"] for r in read_jsonl(recv.out_path)}) >= 3, 30,
             "3 cycles before the outage")
        broker.stop()
        gw.wait_for(gw.err_path, "connection refused or reset", 30)
        wait(lambda: gw.state()["batches"] >= 5, 30, "cycles stored during the outage")
        broker.start()
        wait(lambda: count_lines(gw.err_path, "mqtt: connected") == 2, 90,
             "the gateway reconnects once the broker is back")
        finish_exact(env, sim, gw, recv, db, "mqtt_tls outage")


def refused(build, cause, setup, fix):
    """setup(env, pki, ca, client, broker, site) -> site to run; fix(...) makes
    the credentials right."""
    with Env(build) as env:
        pki, ca, client, broker, recv, sim, sim_port = world(env)
        site = tls_site(env, broker, sim_port, ca[0], client)
        site = setup(env, pki, ca, client, broker, site)
        db = site["store"]
        gw = env.gateway(site)
        line = gw.wait_for(gw.err_path, cause, 30)
        check("cannot connect to localhost:%d (TLS)" % broker.tls_port in line,
              "the cause is not on the connect line: %s", line)
        # Several attempts fail (the broker logs each TLS connection; the
        # key case never reaches it), the reason is logged once.
        wait(lambda: gw.state()["batches"] >= 4, 30, "cycles stored while refused")
        if "key_file" not in cause:
            wait(lambda: count_lines(broker.proc.err_path, "New connection from")
                 >= 2, 30, "two refused attempts at the broker")
        check(count_lines(gw.err_path, cause) == 1, "the cause was logged %d "
              "times:\n%s", count_lines(gw.err_path, cause), gw.tail())
        check(count_lines(gw.err_path, "cannot connect") == 1,
              "more than one failure line:\n%s", gw.tail())
        check(read_jsonl(recv.out_path) == [], "readings arrived while refused")
        check(count_lines(gw.err_path, "mqtt: connected") == 0, "connected "
              "although refused")
        kept = gw.state()["batches"]
        fix(env, pki, ca, client, broker, site, gw)
        gw.wait_for(gw.err_path, "mqtt: connected", 90)
        wait(lambda: len({r["ts"] for r in read_jsonl(recv.out_path)}) >= kept + 3,
             60, "the kept cycles and 3 live ones after the fix")
        print("refused with \"%s\"; %d batches kept, sent once fixed" %
              (line.split("(TLS): ", 1)[1], kept))
        finish_exact(env, sim, gw, recv, db, "after the fix")


def wrong_ca(build):
    def setup(env, pki, ca, client, broker, site):
        other = pki.ca("other-ca")
        site["mqtt"]["tls"]["ca_file"] = os.path.join(env.dir, "trusted-ca.crt")
        shutil.copy(other[0], site["mqtt"]["tls"]["ca_file"])
        return site

    def fix(env, pki, ca, client, broker, site, gw):
        shutil.copy(ca[0], site["mqtt"]["tls"]["ca_file"])

    refused(build, "is not signed by the CA in", setup, fix)


def expired(build):
    def setup(env, pki, ca, client, broker, site):
        old = pki.leaf("expired", ca, "localhost", ["DNS:localhost"],
                       faketime="30 days ago", days=1)
        broker.restart(server=old, ca=ca)
        return site

    def fix(env, pki, ca, client, broker, site, gw):
        broker.restart(server=pki.leaf("renewed", ca, "localhost",
                                       ["DNS:localhost"]), ca=ca)

    refused(build, "certificate has expired", setup, fix)


def hostname(build):
    def setup(env, pki, ca, client, broker, site):
        broker.restart(server=pki.leaf("named", ca, BROKER_NAME,
                                       ["DNS:" + BROKER_NAME]), ca=ca)
        return site

    def fix(env, pki, ca, client, broker, site, gw):
        # The broker is reached as localhost but named broker.wg.test: the
        # operator says so in the config and reloads.
        site["mqtt"]["tls"]["server_name"] = BROKER_NAME
        with open(os.path.join(env.dir, "gateway.json"), "w") as f:
            json.dump(site, f, indent=2)
        gw.p.send_signal(signal.SIGHUP)

    refused(build, "is not for 'localhost' (hostname mismatch", setup, fix)


def client_ca(build):
    def setup(env, pki, ca, client, broker, site):
        stranger = pki.leaf("stranger", pki.ca("unknown-ca"), "gw-test",
                            client=True)
        for src, dst in zip(stranger, client):
            shutil.copy(src, dst)
        return site

    def fix(env, pki, ca, client, broker, site, gw):
        good = pki.leaf("gw-renewed", ca, "gw-test", client=True)
        for src, dst in zip(good, client):
            shutil.copy(src, dst)

    refused(build, "the broker refused our client certificate", setup, fix)


def key_mode(build):
    def setup(env, pki, ca, client, broker, site):
        os.chmod(client[1], 0o644)
        return site

    def fix(env, pki, ca, client, broker, site, gw):
        os.chmod(client[1], 0o600)

    refused(build, "mode 0644 lets group or others at a secret: refused", setup,
            fix)


def identity(build):
    with Env(build) as env:
        pki = Pki(env.dir)
        ca = pki.ca("ca")
        server = pki.leaf("server", ca, "localhost", ["DNS:localhost"])
        broker = TlsBroker(env, ca, server).start()
        recv = persistent_recv(env, broker)
        sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
        crt = pki.path("gw-identity.crt")
        site = tls_site(env, broker, sim_port, ca[0], (crt, None))
        del site["mqtt"]["tls"]["key_file"]     # the default: the identity key
        path = os.path.join(env.dir, "identity-site.json")
        with open(path, "w") as f:
            json.dump(site, f)
        r = subprocess.run(env.wrap + [env.bin("firmware", "core", "wattgate"),
                                       "--identity", "-c", path],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "--identity: exit %d: %s", r.returncode, r.stderr)
        end = "-----END CERTIFICATE REQUEST-----"
        csr = pki.path("gw-identity.csr")
        with open(csr, "w") as f:
            f.write(r.stdout[:r.stdout.index(end) + len(end)] + "\n")
        fp = re.search(r"fingerprint: sha256:([0-9a-f]{64})", r.stdout).group(1)
        pki.sign("gw-identity", ca, csr, client=True)
        # The fleet CA's certificate is for the identity key, and nothing else.
        pub = subprocess.run("openssl x509 -in %s -noout -pubkey | openssl pkey "
                             "-pubin -outform DER | sha256sum" % crt, shell=True,
                             capture_output=True, text=True).stdout.split()[0]
        check(pub == fp, "certificate key %s is not the identity %s", pub, fp)
        gw = env.gateway(site)
        line = gw.wait_for(gw.err_path, "mqtt: connected", 30)
        check("identity: loaded" in gw.stderr(), "the daemon did not load the "
              "identity made by --identity:\n%s", gw.tail())
        wait(lambda: len({r["ts"] for r in read_jsonl(recv.out_path)}) >= 5, 60,
             "5 cycles over mutual TLS with the identity key")
        finish_exact(env, sim, gw, recv, site["store"], "mqtt_tls identity (%s, "
                     "client key = identity sha256:%s...)" %
                     (line.split(" over ")[1], fp[:12]))


def tls11(build):
    with Env(build) as env:
        pki = Pki(env.dir)
        ca = pki.ca("ca")
        server = pki.leaf("server", ca, "localhost", ["DNS:localhost"])
        client = pki.leaf("gw", ca, "gw-test", client=True)
        port = free_port()
        # TLS 1.1 needs OpenSSL 3's security level 0 (SHA-1 in its handshake).
        srv = env.start("s_server", ["openssl", "s_server", "-tls1_1", "-cipher",
                                     "DEFAULT:@SECLEVEL=0", "-cert", server[0],
                                     "-key", server[1], "-accept",
                                     "127.0.0.1:%d" % port, "-www"])
        srv.wait_for(srv.out_path, "ACCEPT", 10)
        # The peer does speak TLS 1.1: the refusal below is the gateway's floor.
        out = subprocess.run(["openssl", "s_client", "-tls1_1", "-cipher",
                              "DEFAULT:@SECLEVEL=0", "-CAfile", ca[0], "-connect",
                              "127.0.0.1:%d" % port, "-servername", "localhost",
                              "-verify_return_error"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=30).stdout
        check("Protocol  : TLSv1.1" in out, "s_server does not speak TLS 1.1:\n%s",
              out[-1500:])
        sim, sim_port = env.sim("sim", ["1:sdm630"], "tcp")
        broker = type("B", (), {"tls_port": port})
        site = tls_site(env, broker, sim_port, ca[0], client)
        db = site["store"]
        gw = env.gateway(site)
        line = gw.wait_for(gw.err_path, "cannot connect to localhost:%d (TLS)" %
                           port, 30)
        check(re.search(r"protocol version|unsupported protocol", line),
              "the refusal does not name the protocol version: %s", line)
        wait(lambda: gw.state()["batches"] >= 4, 30, "cycles stored while refused")
        check(count_lines(gw.err_path, "cannot connect") == 1,
              "more than one failure line:\n%s", gw.tail())
        check(count_lines(gw.err_path, "mqtt: connected") == 0,
              "connected to a TLS 1.1 server:\n%s", gw.tail())
        check(gw.stop() == 0, "gateway exit: %s", gw.tail())
        print("tls11: TLS 1.1-only server refused (%s); %d batches kept" %
              (line.split("(TLS): ", 1)[1], stored(db)))


SCENARIOS = {"e2e": e2e, "outage": outage, "wrong_ca": wrong_ca, "expired": expired,
             "hostname": hostname, "client_ca": client_ca, "key_mode": key_mode,
             "identity": identity, "tls11": tls11}


def main(build, scenario=None):
    if scenario not in SCENARIOS:
        raise Fail("scenario must be one of %s" % ", ".join(sorted(SCENARIOS)))
    SCENARIOS[scenario](build)


if __name__ == "__main__":
    run(main)
