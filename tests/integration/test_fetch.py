"""The OTA download's fetch_range (firmware/ota/fetch.c) through wg-fetch
against otaserver.py over HTTPS, with throw-away certificates (tlsworld.Pki):

  whole        the whole image in one range, byte for byte
  middle       a range from the middle: exactly those bytes
  resume       the server cuts every response after 40000 bytes: wg-fetch
               resumes from where the bytes stopped, 10 interruptions, and
               the server sent at most 1.05 x the image
  status_404   -EPERM, nothing delivered
  status_500   -EAGAIN
  overlong     more bytes than the range (announced in Content-Length, or
               not announced and cut off by counting): -EPERM, nothing past
               the range delivered
  norange      a 200 with the whole image to a range from the middle
               (the range ignored), and to a range from 0 that ends before
               the image does: -EPERM
  shift        a 206 for another range than asked: -EPERM
  wrong_ca     a server certificate from a CA not trusted: -EPERM
  wrong_name   a certificate for another name: -EPERM
  http         http:// refused unless allowed
  stall        the head, then nothing: -EAGAIN after the stall timeout
  cancel       cancelled while the server stalls (libcurl's progress
               callback) and while bytes flow: -ECANCELED, promptly
  rate         --rate honoured: not faster than the rate (a wide factor, no
               tight timing); a rate below the stall limit's bytes is no stall

and over CoAP Block2 (firmware/ota/fetch_coap.c) against wattgate-recv
--coap-files (GET fw/NAME), through coap_util.Relay where the link misbehaves:

  coap_whole   the whole image, byte for byte, in one attempt
  coap_middle  ranges from the middle, not on block boundaries; the last byte
  coap_resume  the answers to 10 blocks dropped once each: each attempt
               stalls (--stall 1), wg-fetch resumes where the bytes stopped,
               11 attempts, and the server sent at most 1.05 x the image
  coap_status  4.04 (no such file; a symbolic link to a file outside the
               directory; "..") -> -EPERM; a range past the file's Size2 ->
               -EPERM; 5.03 -> -EAGAIN; 4.03 -> -EPERM
  coap_stall   a server that answers nothing: -EAGAIN after the stall limit
  coap_cancel  cancelled while nothing comes, while blocks flow (paced), at
               a byte count: -ECANCELED, promptly
  coap_rate    --rate honoured (a wide factor)
  coaps_psk    coaps:// with the PSK file of the CoAP uplink: the image; no
               PSK file, an identity the server does not know -> -EPERM; a
               wrong key (silent) -> -EAGAIN at the stall limit
  all          every one of these, one after the other

usage: test_fetch.py BUILD_DIR SCENARIO
"""
import os
import subprocess
import time

from coap_util import Relay, coap_parse, free_udp_port, opt_uint, psk_file
from harness import run, Env, Fail, check, wait
from otaserver import Handle
from tlsworld import Pki

IMAGE = 440000          # 11 pieces of 40000 bytes: 10 interruptions


class World:
    def __init__(self, env):
        self.env = env
        self.pki = Pki(env.dir)
        self.ca = self.pki.ca("ca")
        self.cert = self.pki.leaf("srv", self.ca, "localhost",
                                  sans=("DNS:localhost", "IP:127.0.0.1"))
        self.www = os.path.join(env.dir, "www")
        os.makedirs(self.www)
        self.image = os.urandom(IMAGE)
        with open(os.path.join(self.www, "img.bin"), "wb") as f:
            f.write(self.image)
        self.srv = Handle(env, self.www, self.cert)
        self.n = 0
        self.coap_port = None

    def recv(self, name, extra):
        """wattgate-recv serving www over CoAP; its port."""
        port = free_udp_port()
        argv = [self.env.bin("tools", "recv", "wattgate-recv"), "--no-mqtt",
                "--coap", "127.0.0.1:%d" % port, "--coap-files", self.www]
        p = self.env.start(name, argv + list(extra))
        p.wait_for(p.err_path, "listening on coap://")
        return port

    def coap(self, name="img.bin", port=None, scheme="coap"):
        """The URL of a file of www on the CoAP receiver (started once)."""
        if port is None:
            if self.coap_port is None:
                self.psk = psk_file(os.path.join(self.env.dir, "coap.psk"),
                                    "gw-ota", os.urandom(16))
                self.coaps_port = free_udp_port()
                self.coap_port = self.recv("recv-coap", [
                    "--coaps", "127.0.0.1:%d" % self.coaps_port,
                    "--psk-file", self.psk])
            port = self.coaps_port if scheme == "coaps" else self.coap_port
        return "%s://127.0.0.1:%d/fw/%s" % (scheme, port, name)

    def fetch(self, frm=0, to=IMAGE, path="/img.bin", url=None, ca=True,
              extra=(), faults=None, timeout=60):
        """wg-fetch; (result, got, attempts, ms, bytes, stdout)."""
        self.srv.set(faults or {})
        self.n += 1
        out = os.path.join(self.env.dir, "out-%d" % self.n)
        argv = [self.env.bin("tests", "fixtures", "wg-fetch")]
        if ca:
            argv += ["--ca", self.ca[0] if ca is True else ca]
        argv += list(extra) + ["--from", str(frm), "--to", str(to),
                               url or self.srv.url(path), out]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        last = r.stdout.strip().splitlines()[-1].split() if r.stdout else []
        if len(last) != 9 or last[1] != "result":
            raise Fail("wg-fetch said:\n%s" % r.stdout)
        check((r.returncode == 0) == (last[2] == "OK"), "exit %d for %s",
              r.returncode, r.stdout)
        with open(out, "rb") as f:
            data = f.read()
        check(len(data) == int(last[4]), "%d bytes written, got %s", len(data),
              last[4])
        check(data == self.image[frm:frm + len(data)],
              "the bytes delivered are not those of [%d, %d)", frm,
              frm + len(data))
        return last[2], int(last[4]), int(last[6]), int(last[8]), r.stdout

    def expect(self, want, **kw):
        res, got, attempts, ms, text = self.fetch(**kw)
        check(res == want, "wanted %s, got %s:\n%s", want, res, text)
        return got, attempts, ms, text


def whole(w):
    got, attempts, _, _ = w.expect("OK")
    check(got == IMAGE and attempts == 1, "%d bytes in %d attempts", got,
          attempts)


def middle(w):
    got, _, _, _ = w.expect("OK", frm=123457, to=300001)
    check(got == 300001 - 123457, "got %d", got)
    # The last byte alone.
    got, _, _, _ = w.expect("OK", frm=IMAGE - 1, to=IMAGE)
    check(got == 1, "got %d", got)


def resume(w):
    before = w.srv.sent()
    got, attempts, _, text = w.expect("OK", faults={"*": "drop:40000"},
                                      extra=["--tries", "20"])
    check(got == IMAGE and attempts == 11, "%d bytes in %d attempts:\n%s",
          got, attempts, text)
    check(text.count("rc EAGAIN") == 10, "10 interruptions:\n%s", text)
    wait(lambda: w.srv.sent() - before >= IMAGE, 10, "the server's count")
    sent = w.srv.sent() - before
    check(sent <= 1.05 * IMAGE, "the server sent %d bytes for an image of %d",
          sent, IMAGE)
    print("fetch_ratio %.3f (%d bytes sent for %d, 10 interruptions)" %
          (sent / IMAGE, sent, IMAGE))


def status_404(w):
    got, _, _, text = w.expect("EPERM", path="/missing.bin")
    check(got == 0 and "HTTP 404" in text, "%s", text)
    got, _, _, text = w.expect("EPERM", faults={"*": "404"})
    check(got == 0 and "HTTP 404" in text, "%s", text)


def status_500(w):
    got, attempts, _, text = w.expect("EAGAIN", faults={"*": "500"},
                                      extra=["--tries", "2"])
    check(got == 0 and attempts == 2 and "HTTP 500" in text, "%s", text)


def overlong(w):
    _, _, _, text = w.expect("EPERM", frm=1000, to=21000,
                             faults={"*": "extra:1000"})
    check("Content-Length 21000 for a range of 20000" in text, "%s", text)
    got, _, _, text = w.expect("EPERM", frm=1000, to=101000,
                               faults={"*": "extra_close:5000"})
    check("sent more than the 100000 bytes" in text and got <= 100000, "%s",
          text)


def norange(w):
    _, _, _, text = w.expect("EPERM", frm=5000, faults={"*": "norange"})
    check("ignored the range" in text, "%s", text)
    _, _, _, text = w.expect("EPERM", to=5000, faults={"*": "norange"})
    check("ignored the range" in text, "%s", text)
    # A 200 with exactly what was asked (from 0 to the end) is the range.
    w.expect("OK", faults={"*": "norange"})


def shift(w):
    _, _, _, text = w.expect("EPERM", frm=100, to=200, faults={"*": "shift"})
    check("Content-Range bytes 101-200 for a request of bytes 100-199" in text,
          "%s", text)


def wrong_ca(w):
    other = w.pki.ca("other")
    _, _, _, text = w.expect("EPERM", ca=other[0])
    check("certificate" in text, "%s", text)
    # The server's own certificate is no anchor: only a root is (as for
    # the broker, no partial chain).
    w.expect("EPERM", ca=w.cert[0])


def wrong_name(w):
    cert = w.pki.leaf("other", w.ca, "other.example",
                      sans=("DNS:other.example",))
    other = Handle(w.env, w.www, cert, name="otaserver-other")
    _, _, _, text = w.expect("EPERM", url=other.url("/img.bin"))
    check("127.0.0.1" in text, "%s", text)
    # The name the certificate has (localhost) passes.
    w.expect("OK", url=w.srv.url("/img.bin", "localhost"))


def http(w):
    plain = Handle(w.env, w.www, None, name="otaserver-plain")
    _, _, _, text = w.expect("EPERM", url=plain.url("/img.bin", scheme="http"))
    check("http:// is not allowed" in text, "%s", text)
    w.expect("OK", url=plain.url("/img.bin", scheme="http"), extra=["--http"])


def stall(w):
    _, _, ms, text = w.expect("EAGAIN", faults={"*": "stall:20"},
                              extra=["--stall", "2"])
    check(1500 <= ms <= 10000, "gave up after %d ms, stall 2 s:\n%s", ms, text)


def cancel(w):
    _, _, ms, text = w.expect("ECANCELED", faults={"*": "stall:20"},
                              extra=["--stall", "30", "--cancel-ms", "500"])
    check(ms <= 5000, "cancelled after %d ms:\n%s", ms, text)
    got, _, ms, text = w.expect("ECANCELED", faults={"*": "slow:100000"},
                                extra=["--cancel-ms", "800"])
    check(0 < got < IMAGE and ms <= 5000, "%d bytes, %d ms:\n%s", got, ms, text)
    got, _, _, text = w.expect("ECANCELED", extra=["--cancel-at", "50000"])
    check(got < IMAGE, "%d bytes:\n%s", got, text)


def rate(w):
    bps = 200000
    got, _, ms, text = w.expect("OK", extra=["--rate", str(bps)])
    want_ms = 1000.0 * IMAGE / bps
    check(ms >= 0.7 * want_ms, "%d bytes at %d B/s in %d ms (at least %d)",
          got, bps, ms, want_ms * 0.7)
    check(ms <= 5 * want_ms + 5000, "%d bytes at %d B/s took %d ms", got, bps,
          ms)
    print("rate %d B/s: %d bytes in %d ms" % (bps, got, ms))
    # A rate far below a stall's worth: slow is not stalled.
    got, _, ms, text = w.expect("OK", to=12000, extra=["--rate", "3000",
                                                       "--stall", "1"])
    check(ms >= 0.7 * 4000, "12000 bytes at 3000 B/s in %d ms", ms)
    print("rate 3000 B/s, stall 1 s: %d bytes in %d ms" % (got, ms))


def coap_whole(w):
    got, attempts, ms, _ = w.expect("OK", url=w.coap(), ca=False)
    check(got == IMAGE and attempts == 1, "%d bytes in %d attempts", got,
          attempts)
    print("coap: %d bytes in %d ms" % (got, ms))


def coap_middle(w):
    for frm, to in ((123457, 300001), (IMAGE - 1, IMAGE), (1024, 2048),
                    (0, 1), (1023, 1025)):
        got, attempts, _, text = w.expect("OK", url=w.coap(), ca=False,
                                          frm=frm, to=to)
        check(got == to - frm and attempts == 1, "[%d, %d): %d bytes:\n%s",
              frm, to, got, text)


def coap_resume(w):
    w.coap()
    relay = Relay(w.coap_port)
    kill = set(range(40, 440, 40))      # 10 of the 430 blocks of 1024
    sent = [0, 0]       # the answers' payload bytes, and with CoAP's headers

    def drop(way, data):
        if way != "down":
            return False
        c = coap_parse(data)
        sent[0] += len(c[3]) if c else 0
        sent[1] += len(data)
        b = opt_uint(c, 23) if c else None
        if b is not None and b >> 4 in kill:
            kill.discard(b >> 4)
            return True
        return False

    relay.drop = drop
    try:
        got, attempts, _, text = w.expect(
            "OK", url="coap://127.0.0.1:%d/fw/img.bin" % relay.port,
            ca=False, extra=["--stall", "1", "--tries", "20"])
    finally:
        relay.stop()
    check(got == IMAGE and attempts == 11, "%d bytes in %d attempts:\n%s",
          got, attempts, text)
    check(text.count("rc EAGAIN") == 10, "10 interruptions:\n%s", text)
    check(sent[0] <= 1.05 * IMAGE, "the server sent %d bytes for an image "
          "of %d", sent[0], IMAGE)
    print("coap fetch_ratio %.3f (%d bytes sent for %d, 10 interruptions; "
          "%.3f with CoAP's headers)" % (sent[0] / IMAGE, sent[0], IMAGE,
                                         sent[1] / IMAGE))


def coap_status(w):
    got, _, _, text = w.expect("EPERM", url=w.coap("missing.bin"), ca=False)
    check(got == 0 and "CoAP 4.04" in text, "%s", text)
    outside = os.path.join(w.env.dir, "outside.bin")
    with open(outside, "wb") as f:
        f.write(w.image)
    os.symlink(outside, os.path.join(w.www, "link.bin"))
    _, _, _, text = w.expect("EPERM", url=w.coap("link.bin"), ca=False)
    check("CoAP 4.04" in text, "a link out of the directory: %s", text)
    _, _, _, text = w.expect("EPERM", url=w.coap(".."), ca=False)
    check("CoAP 4.04" in text, "..: %s", text)
    _, _, _, text = w.expect("EPERM", url=w.coap(), ca=False, to=IMAGE + 1)
    check("Size2 %d" % IMAGE in text, "%s", text)
    port = w.recv("recv-503", ["--coap-refuse", "503"])
    got, attempts, _, text = w.expect("EAGAIN", url=w.coap(port=port),
                                      ca=False, extra=["--tries", "2"])
    check(got == 0 and attempts == 2 and "CoAP 5.03" in text, "%s", text)
    port = w.recv("recv-403", ["--coap-refuse", "403"])
    _, _, _, text = w.expect("EPERM", url=w.coap(port=port), ca=False)
    check("CoAP 4.03" in text, "%s", text)


def silent(w):
    """A relay to the receiver that passes nothing."""
    w.coap()
    relay = Relay(w.coap_port)
    relay.loss = 1.0
    return relay, "coap://127.0.0.1:%d/fw/img.bin" % relay.port


def coap_stall(w):
    relay, url = silent(w)
    try:
        _, _, ms, text = w.expect("EAGAIN", url=url, ca=False,
                                  extra=["--stall", "2"])
    finally:
        relay.stop()
    check(1500 <= ms <= 10000 and "no answer" in text,
          "gave up after %d ms, stall 2 s:\n%s", ms, text)


def coap_cancel(w):
    relay, url = silent(w)
    try:
        _, _, ms, text = w.expect("ECANCELED", url=url, ca=False,
                                  extra=["--stall", "30", "--cancel-ms",
                                         "500"])
    finally:
        relay.stop()
    check(ms <= 5000, "cancelled after %d ms:\n%s", ms, text)
    got, _, ms, text = w.expect("ECANCELED", url=w.coap(), ca=False,
                                extra=["--rate", "100000", "--cancel-ms",
                                       "800"])
    check(0 < got < IMAGE and ms <= 5000, "%d bytes, %d ms:\n%s", got, ms,
          text)
    got, _, _, text = w.expect("ECANCELED", url=w.coap(), ca=False,
                               extra=["--cancel-at", "50000"])
    check(got < IMAGE, "%d bytes:\n%s", got, text)


def coap_rate(w):
    bps = 200000
    got, _, ms, text = w.expect("OK", url=w.coap(), ca=False,
                                extra=["--rate", str(bps)])
    want_ms = 1000.0 * IMAGE / bps
    check(0.7 * want_ms <= ms <= 5 * want_ms + 5000,
          "%d bytes at %d B/s in %d ms", got, bps, ms)
    print("coap rate %d B/s: %d bytes in %d ms" % (bps, got, ms))


def coaps_psk(w):
    url = w.coap(scheme="coaps")
    got, attempts, ms, text = w.expect("OK", url=url, ca=False,
                                       extra=["--psk", w.psk])
    check(got == IMAGE and attempts == 1, "%d bytes in %d attempts:\n%s",
          got, attempts, text)
    print("coaps: %d bytes in %d ms" % (got, ms))
    got, _, _, text = w.expect("OK", url=url, ca=False, frm=5000, to=7000,
                               extra=["--psk", w.psk])
    _, _, _, text = w.expect("EPERM", url=url, ca=False)
    check("needs a psk_file" in text, "%s", text)
    other = psk_file(os.path.join(w.env.dir, "other.psk"), "stranger",
                     os.urandom(16))
    _, _, _, text = w.expect("EPERM", url=url, ca=False,
                             extra=["--psk", other, "--stall", "5"])
    check("DTLS" in text, "an unknown identity: %s", text)
    with open(w.psk) as f:
        ident = f.readline().strip()
    wrong = psk_file(os.path.join(w.env.dir, "wrong.psk"), ident,
                     os.urandom(16))
    _, _, ms, text = w.expect("EAGAIN", url=url, ca=False,
                              extra=["--psk", wrong, "--stall", "2"])
    check(ms <= 10000, "a wrong key: %d ms:\n%s", ms, text)


CASES = [whole, middle, resume, status_404, status_500, overlong, norange,
         shift, wrong_ca, wrong_name, http, stall, cancel, rate,
         coap_whole, coap_middle, coap_resume, coap_status, coap_stall,
         coap_cancel, coap_rate, coaps_psk]


def main(build, scenario):
    cases = {c.__name__: c for c in CASES}
    if scenario != "all" and scenario not in cases:
        raise Fail("no scenario %r (%s, all)" % (scenario, ", ".join(cases)))
    with Env(build) as env:
        w = World(env)
        for c in CASES:
            if scenario in ("all", c.__name__):
                t = time.time()
                c(w)
                print("%s: ok (%.1f s)" % (c.__name__, time.time() - t))


if __name__ == "__main__":
    run(main)
