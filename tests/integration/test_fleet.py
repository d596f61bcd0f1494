"""wattgate-fleet (docs/commands.md, "The fleet tool") against a real mosquitto:

keys       keygen writes command.key (0600) and command.pub, and refuses to
           run again over them.
sign       sign, then verify prints the body; the seq file counts 1, 2 and
           survives; 8 signers at once get 1..8; --seq 42 overrides it
           without touching it; a flipped bit
           in body or signature, a missing LF, another key: verify exits 1
           with the codec's line. OpenSSL verifies the tool's signature too.
send       the frame arrives byte for byte on wg/<gw>/c at QoS 1, not
           retained; a python publisher playing the gateway answers on
           wg/<gw>/r: a record of another id is not printed, a "queued" one
           and the final "applied" one are, and the tool exits 0. With no
           answer and --wait 1 it exits 3; --wait 0 returns at once; a
           tampered --frame is sent as it is.

usage: test_fleet.py BUILD_DIR
"""
import json
import os
import stat
import struct
import subprocess
import time

from harness import free_port, run, wait, Env, check
import wire

GW = "gw-0001"


class QosSubscriber(wire.Subscriber):
    """wire.Subscriber that also records each PUBLISH's QoS and retain flag."""

    def _loop(self):
        try:
            while True:
                typ, body = self._recv_raw()
                if typ & 0xF0 != 0x30:
                    continue
                n = struct.unpack(">H", body[:2])[0]
                topic, rest = body[2:2 + n].decode(), body[2 + n:]
                qos = (typ >> 1) & 3
                if qos:
                    mid, rest = rest[:2], rest[2:]
                    self._send(0x40, mid)
                with self.lock:
                    self.messages.append((topic, rest, qos, typ & 1))
        except OSError as e:
            self.error = e


def fleet(env, *args, **kw):
    return subprocess.run([env.bin("tools", "fleet", "wattgate-fleet")] + list(args),
                          capture_output=True, timeout=60, **kw)


def body_of(frame):
    check(len(frame) > 65 and frame[-65] == 0x0A, "not a frame: %r", frame[:80])
    return json.loads(frame[:-65])


def keys(env, d):
    r = fleet(env, "keygen", d)
    check(r.returncode == 0, "keygen: %s", r.stderr)
    k, p = os.path.join(d, "command.key"), os.path.join(d, "command.pub")
    check(stat.S_IMODE(os.stat(k).st_mode) == 0o600, "command.key mode %o",
          os.stat(k).st_mode)
    check(open(p).read().startswith("-----BEGIN PUBLIC KEY-----\n"), "command.pub")
    before = open(k).read()
    r = fleet(env, "keygen", d)
    check(r.returncode == 1 and r.stderr.decode() == "wattgate-fleet: %s: exists: "
          "refusing to replace a key\n" % k, "second keygen: %d %s", r.returncode,
          r.stderr)
    check(open(k).read() == before, "keygen changed an existing key")
    return k, p


def verify_fails(env, pub, frame, path, want):
    with open(path, "wb") as f:
        f.write(frame)
    r = fleet(env, "verify", "--pub", pub, path)
    check(r.returncode == 1 and r.stdout == b"" and
          r.stderr.decode() == "wattgate-fleet: %s: %s\n" % (path, want),
          "verify of a bad frame: exit %d, %r", r.returncode, r.stderr)


def sign_and_verify(env, key, pub):
    seqf = os.path.join(os.path.dirname(key), "seq", GW)
    f1 = os.path.join(env.dir, "f1")
    r = fleet(env, "sign", "--key", key, "--gw", GW, "--type", "charger.set_current",
              "--args", '{"device":"wallbox","amps":16}', "--out", f1)
    check(r.returncode == 0, "sign: %s", r.stderr)
    frame = open(f1, "rb").read()
    b = body_of(frame)
    check(list(b) == ["v", "id", "gw", "seq", "nbf", "exp", "type", "args"] and
          b["v"] == 1 and b["gw"] == GW and b["seq"] == 1 and
          b["exp"] - b["nbf"] == 3600 and abs(b["nbf"] - time.time()) < 60 and
          len(b["id"]) == 16 and int(b["id"], 16) >= 0 and
          b["args"] == {"device": "wallbox", "amps": 16}, "body %s", b)
    check(open(seqf).read() == "1\n", "seq file %r", open(seqf).read())
    r = fleet(env, "verify", "--pub", pub, f1)
    check(r.returncode == 0 and r.stdout == frame[:-65] + b"\n", "verify: %d %r %r",
          r.returncode, r.stdout, r.stderr)
    # Independently of mbedtls: OpenSSL checks r || s as a DER signature.
    def der_int(b):
        b = b.lstrip(b"\0")
        return bytes([2, len(b) + (b[0] >> 7)]) + b"\0" * (b[0] >> 7) + b
    seq = der_int(frame[-64:-32]) + der_int(frame[-32:])
    with open(os.path.join(env.dir, "body"), "wb") as f:
        f.write(frame[:-65])
    with open(os.path.join(env.dir, "sig.der"), "wb") as f:
        f.write(bytes([0x30, len(seq)]) + seq)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature",
                        os.path.join(env.dir, "sig.der"), os.path.join(env.dir, "body")],
                       capture_output=True, timeout=30)
    check(r.returncode == 0 and r.stdout == b"Verified OK\n", "openssl: %r %r",
          r.stdout, r.stderr)
    # The next seq, written before the frame comes out; --seq leaves the file.
    r = fleet(env, "sign", "--key", key, "--gw", GW, "--type", "reboot")
    check(r.returncode == 0 and body_of(r.stdout)["seq"] == 2, "second sign: %s %r",
          r.stderr, r.stdout[:80])
    check(open(seqf).read() == "2\n", "seq file after 2: %r", open(seqf).read())
    r = fleet(env, "sign", "--key", key, "--gw", GW, "--type", "reboot", "--seq", "42",
              "--id", "replay-1", "--nbf", "1796515200", "--ttl", "60")
    b = body_of(r.stdout)
    check(r.returncode == 0 and b["seq"] == 42 and b["id"] == "replay-1" and
          b["nbf"] == 1796515200 and b["exp"] == 1796515260 and "args" not in b,
          "--seq 42: %s %s", r.stderr, b)
    check(open(seqf).read() == "2\n", "--seq touched the seq file")
    # Deterministic signatures: the same body, the same frame.
    again = fleet(env, "sign", "--key", key, "--gw", GW, "--type", "reboot", "--seq",
                  "42", "--id", "replay-1", "--nbf", "1796515200", "--ttl", "60")
    check(again.stdout == r.stdout, "signing twice gave two frames")
    # Signers side by side: flock hands out each seq once.
    ps = [subprocess.Popen([env.bin("tools", "fleet", "wattgate-fleet"), "sign", "--key",
                            key, "--gw", "gw-para", "--type", "state"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
    seqs = sorted(body_of(p.communicate(timeout=60)[0])["seq"] for p in ps)
    check(seqs == list(range(1, 9)), "parallel signers got seqs %s", seqs)
    para = os.path.join(os.path.dirname(key), "seq", "gw-para")
    check(open(para).read() == "8\n", "gw-para seq file %r", open(para).read())
    # A bad option burns no seq.
    r = fleet(env, "sign", "--key", key, "--gw", GW, "--type", "Bad-Type")
    check(r.returncode == 1 and b"type: not a string of 1..32" in r.stderr and
          open(seqf).read() == "2\n", "bad type: %d %r", r.returncode, r.stderr)

    bad = os.path.join(env.dir, "bad")
    t = bytearray(frame)
    t[-1] ^= 0x01
    verify_fails(env, pub, bytes(t), bad, "command: signature does not verify with "
                 "this key")
    t = bytearray(frame)
    i = frame.index(b'"seq":1') + 6
    t[i] ^= 0x02                     # "seq":1 -> "seq":3, still a valid body
    verify_fails(env, pub, bytes(t), bad, "command: signature does not verify with "
                 "this key")
    t = bytearray(frame)
    t[-65] = 0x20
    verify_fails(env, pub, bytes(t), bad, "command: no LF before the signature")
    verify_fails(env, pub, frame[:66], bad, "command: frame of 66 bytes, under 67")
    other_key, other_pub = keys(env, os.path.join(env.dir, "other"))
    verify_fails(env, other_pub, frame, bad, "command: signature does not verify "
                 "with this key")
    return frame


def result(gw, cid, seq, state, why=""):
    return json.dumps({"gw": gw, "id": cid, "seq": seq, "type": "charger.set_current",
                       "state": state, "why": why, "at": 1796515201, "r": 1,
                       "result": {}}, separators=(",", ":")).encode()


def send(env, key, frame):
    _, port = env.mosquitto()
    sub = QosSubscriber(port, "wg/+/c", "test-sub")
    gwpub = wire.Publisher(port, "test-gateway")
    f1 = os.path.join(env.dir, "f1")
    mqtt = "127.0.0.1:%d" % port

    # The made frame, byte for byte, QoS 1, not retained; results followed.
    p = subprocess.Popen([env.bin("tools", "fleet", "wattgate-fleet"), "send",
                          "--mqtt", mqtt, "--frame", f1, "--wait", "20"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait(lambda: len(sub.received()) == 1, 10, "the frame on wg/%s/c" % GW)
    check(sub.received()[0] == ("wg/%s/c" % GW, frame, 1, 0), "arrived: %r",
          sub.received()[0][:1] + sub.received()[0][2:])
    cid, seq = body_of(frame)["id"], body_of(frame)["seq"]
    queued, applied = result(GW, cid, seq, "queued"), result(GW, cid, seq, "applied")
    gwpub.publish("wg/%s/r" % GW, result(GW, "someone-else", 9, "applied"))
    gwpub.publish("wg/%s/r" % GW, queued)
    gwpub.publish("wg/other-gw/r", result("other-gw", cid, seq, "applied"))
    gwpub.publish("wg/%s/r" % GW, applied)
    out, err = p.communicate(timeout=30)
    check(p.returncode == 0 and out == queued + b"\n" + applied + b"\n",
          "send: exit %d, out %r, err %r", p.returncode, out, err)

    # Signed by send itself: the next seq of the state directory.
    p = subprocess.Popen([env.bin("tools", "fleet", "wattgate-fleet"), "send",
                          "--mqtt", mqtt, "--key", key, "--gw", GW, "--type", "state",
                          "--wait", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait(lambda: len(sub.received()) == 2, 10, "the second frame")
    b = body_of(sub.received()[1][1])
    check(b["seq"] == 3 and b["type"] == "state", "sent body %s", b)
    gwpub.publish("wg/%s/r" % GW, result(GW, b["id"], 3, "rejected", "stale seq"))
    out, err = p.communicate(timeout=30)
    check(p.returncode == 0 and json.loads(out)["state"] == "rejected",
          "send (signed): %d %r %r", p.returncode, out, err)

    # No answer: exit 3 after --wait; --wait 0 returns once published.
    t0 = time.time()
    r = fleet(env, "send", "--mqtt", mqtt, "--frame", f1, "--wait", "1")
    check(r.returncode == 3 and r.stdout == b"" and 1 <= time.time() - t0 < 10 and
          b"final result: no answer within 1 s" in r.stderr, "timeout: %d %r",
          r.returncode, r.stderr)
    r = fleet(env, "send", "--mqtt", mqtt, "--frame", f1, "--wait", "0")
    check(r.returncode == 0 and r.stdout == b"", "--wait 0: %d %r", r.returncode,
          r.stderr)
    wait(lambda: len(sub.received()) == 4, 10, "the --wait 0 frame")
    # A tampered frame that no longer parses goes out as it is, with --gw.
    t = bytearray(frame)
    t[0] = ord("[")
    with open(os.path.join(env.dir, "tampered"), "wb") as f:
        f.write(t)
    r = fleet(env, "send", "--mqtt", mqtt, "--frame", os.path.join(env.dir, "tampered"),
              "--gw", GW, "--wait", "0")
    check(r.returncode == 0, "tampered send: %d %r", r.returncode, r.stderr)
    wait(lambda: len(sub.received()) == 5, 10, "the tampered frame")
    check(sub.received()[4] == ("wg/%s/c" % GW, bytes(t), 1, 0), "tampered: %r",
          sub.received()[4])
    # CoAP with no server there: one line, exit 1 (test_commands_coap has the rest).
    r = fleet(env, "send", "--coap", "coap://127.0.0.1:%d" % free_port(), "--frame",
              f1, "--wait", "2")
    check(r.returncode == 1 and b"unreachable" in r.stderr, "--coap: %d %r",
          r.returncode, r.stderr)
    check(fleet(env, "sign", "--gw", GW).returncode == 2, "sign without --key")
    sub.close()
    gwpub.close()


def main(build):
    with Env(build) as env:
        key, pub = keys(env, os.path.join(env.dir, "fleet"))
        frame = sign_and_verify(env, key, pub)
        send(env, key, frame)
    print("fleet: keygen, sign, verify, tamper, seq, send and results ok")


if __name__ == "__main__":
    run(main)
