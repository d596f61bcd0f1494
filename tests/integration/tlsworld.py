"""A world for the MQTT-over-TLS tests: throw-away CAs and certificates made with
the openssl CLI in the test's work dir at test time (nothing is committed), and a
real mosquitto with two listeners: mutual TLS (require_certificate true) for the
gateway, plain loopback for wattgate-recv (the receiver is not under test here).

The broker keeps sessions across restarts (persistence), and the receiver has a
persistent session, so a broker restarted with a fixed certificate loses nothing
the receiver is owed: the tests are about the gateway.
"""
import os
import signal
import socket
import subprocess
import time

from harness import Fail, check, free_port


def openssl(*args, faketime=None):
    argv = ["openssl"] + list(args)
    if faketime:
        argv = ["faketime", faketime] + argv
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, text=True)
    if r.returncode != 0:
        raise Fail("%s failed:\n%s" % (" ".join(argv), r.stdout[-2000:]))
    return r.stdout


class Pki:
    """CAs and leaf certificates (EC P-256: quick to make) in dir/pki."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name):
        key = self.path(name + ".key")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", key)
        os.chmod(key, 0o600)
        return key

    def ca(self, name):
        key = self._key(name)
        crt = self.path(name + ".crt")
        openssl("req", "-x509", "-new", "-key", key, "-out", crt, "-days", "2",
                "-subj", "/CN=%s" % name, "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign")
        return crt, key

    def leaf(self, name, ca, cn, sans=(), client=False, faketime=None, days=2):
        """A certificate for cn signed by ca ((crt, key)); with faketime, as if
        signed at that moment (e.g. "-30d" with days=1: expired a month ago)."""
        key = self._key(name)
        csr = self.path(name + ".csr")
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=%s" % cn)
        return self.sign(name, ca, csr, sans, client, faketime, days), key

    def sign(self, name, ca, csr, sans=(), client=False, faketime=None, days=2):
        """The CA's certificate (path) for a CSR made elsewhere (e.g. by
        `wattgate --identity`): what the fleet CA does."""
        crt = self.path(name + ".crt")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=%s\n" % ("clientAuth" if client else
                                               "serverAuth"))
            if sans:
                f.write("subjectAltName=%s\n" % ",".join(sans))
        openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
                "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile",
                ext, faketime=faketime)
        return crt


class TlsBroker:
    """mosquitto: TLS listener (mutual) + plain listener, restartable."""

    def __init__(self, env, ca, server, client_ca=None):
        self.env = env
        self.tls_port, self.plain_port = free_port(), free_port()
        self.n, self.proc = 0, None
        self.state = os.path.join(env.dir, "mosq-state")
        os.makedirs(self.state, exist_ok=True)
        self.conf = os.path.join(env.dir, "mosquitto-tls.conf")
        self.configure(server, client_ca or ca)

    def configure(self, server, client_ca):
        """server: (crt, key) the broker presents; client_ca: the CA (crt, key)
        whose certificates it accepts from clients."""
        with open(self.conf, "w") as f:
            f.write("persistence true\npersistence_location %s/\n"
                    "autosave_interval 1\nmax_queued_messages 0\n"
                    "allow_anonymous true\nuser root\n"
                    "listener %d 127.0.0.1\n"
                    "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
                    "require_certificate true\ntls_version tlsv1.2\n" %
                    (self.state, self.plain_port, self.tls_port, client_ca[0],
                     server[0], server[1]))

    def start(self):
        self.n += 1
        self.proc = self.env.start("mosquitto-%d" % self.n,
                                   ["mosquitto", "-c", self.conf])
        deadline = time.time() + 10
        for port in (self.plain_port, self.tls_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if self.proc.p.poll() is not None:
                        raise Fail("mosquitto exited:\n" + self.proc.stderr())
                    if time.time() > deadline:
                        raise Fail("mosquitto did not listen on %d" % port)
                    time.sleep(0.05)
        return self

    def stop(self):
        check(self.proc.stop() == 0, "mosquitto exit: %s", self.proc.stderr())

    def restart(self, server=None, client_ca=None, ca=None):
        self.stop()
        if server is not None:
            self.configure(server, client_ca or ca)
        self.start()


def persistent_recv(env, broker, name="recv"):
    """wattgate-recv on the plain listener, with a session the broker keeps."""
    recv = env.start(name, [env.bin("tools", "recv", "wattgate-recv"), "-h",
                            "127.0.0.1", "-p", str(broker.plain_port), "--id",
                            "tls-recv"])
    recv.wait_for(recv.err_path, "subscribed")
    broker.proc.wait_for(broker.proc.err_path, "Saving in-memory database")
    return recv


def tls_site(env, broker, sim_port, ca, client, server_name=None,
             host="localhost"):
    """The one-meter site of harness.one_meter, over mutual TLS."""
    site = env.site(broker.tls_port, interval=1,
                    buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1",
                            "port": sim_port}],
                    devices=[{"name": "meter", "bus": "lan", "unit": 1,
                              "profile": "sdm630"}])
    site["mqtt"]["host"] = host
    tls = {"ca_file": ca, "cert_file": client[0], "key_file": client[1]}
    if server_name:
        tls["server_name"] = server_name
    site["mqtt"]["tls"] = tls
    return site


def count_lines(path, text):
    with open(path) as f:
        return sum(1 for line in f if text in line)


def sigkill(proc):
    proc.p.send_signal(signal.SIGKILL)
    proc.p.wait()
    proc.out.close()
    proc.err.close()
