"""wattgate-sign (docs/ota.md, "Bundle"): keys, bundles, verification.

keys       --keygen writes PRIV (0600) and PUB, and refuses to run again over
           them.
sign       an image whose size is not a multiple of the chunk: the bundle is
           body LF sighex LF image, byte for byte as docs/ota.md says (members
           in order, one SHA-256 per chunk, the last one short, hashes that
           Python's hashlib agrees with); --verify prints the body, --manifest
           the text before the image; OpenSSL verifies the signature too;
           signing twice gives the same bytes. The chunk size picked grows
           with the image (64 KiB, then 128 KiB past 8 MiB); --chunk is
           honoured and checked. The recipe of docs/ota.md "Checking a
           bundle by hand" (openssl, coreutils) runs as written.
refused    a byte flipped in the image, in the body, in the signature; another
           public key; the bundle cut in its image and in its manifest; a byte
           too many; a 0-byte image; a bad version or board: each exits 1 with
           one line on stderr naming what, nothing on stdout, no bundle left.

usage: test_sign.py BUILD_DIR
"""
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess

from harness import run, Env, check


def sign_tool(env, *args):
    return subprocess.run([env.bin("tools", "sign", "wattgate-sign")] + list(args),
                          capture_output=True, timeout=120)


def keys(env, d):
    os.makedirs(d)
    k, p = os.path.join(d, "release.pem"), os.path.join(d, "release.pub")
    r = sign_tool(env, "--keygen", k, p)
    check(r.returncode == 0, "keygen: %s", r.stderr)
    check(stat.S_IMODE(os.stat(k).st_mode) == 0o600, "key mode %o", os.stat(k).st_mode)
    check(open(p).read().startswith("-----BEGIN PUBLIC KEY-----\n"), "public key")
    before = open(k).read()
    r = sign_tool(env, "--keygen", k, p)
    check(r.returncode == 1 and r.stderr.decode() == "wattgate-sign: %s: exists: "
          "refusing to replace a key\n" % k, "second keygen: %d %r", r.returncode,
          r.stderr)
    check(open(k).read() == before, "keygen changed an existing key")
    return k, p


def split(bundle):
    """(body, sighex, image) of a bundle, by the format's rules."""
    lf = bundle.index(b"\n")
    body, rest = bundle[:lf], bundle[lf + 1:]
    check(len(rest) >= 129 and rest[128:129] == b"\n", "no LF after the signature")
    return body, rest[:128], rest[129:]


def openssl_verifies(env, pub, body, sighex):
    def der_int(b):
        b = b.lstrip(b"\0")
        return bytes([2, len(b) + (b[0] >> 7)]) + b"\0" * (b[0] >> 7) + b
    sig = bytes.fromhex(sighex.decode())
    seq = der_int(sig[:32]) + der_int(sig[32:])
    bp, sp = os.path.join(env.dir, "body"), os.path.join(env.dir, "sig.der")
    with open(bp, "wb") as f:
        f.write(body)
    with open(sp, "wb") as f:
        f.write(bytes([0x30, len(seq)]) + seq)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature",
                        sp, bp], capture_output=True, timeout=30)
    check(r.returncode == 0 and r.stdout == b"Verified OK\n", "openssl: %r %r",
          r.stdout, r.stderr)


def doc_recipe(env, pub, bundle, body):
    """The shell lines of docs/ota.md "Checking a bundle by hand", as written."""
    doc = open(os.path.join(env.src, "docs", "ota.md")).read()
    m = re.search(r"### Checking a bundle by hand\n.*?```sh\n(.*?)```", doc, re.S)
    check(m is not None, "docs/ota.md: no recipe")
    d = os.path.join(env.dir, "by-hand")
    os.makedirs(d)
    shutil.copy(pub, os.path.join(d, "release.pub"))
    r = subprocess.run(["bash", "-eu", "-c", m.group(1)], cwd=d, capture_output=True,
                       timeout=60, env=dict(os.environ, b=bundle))
    want = json.loads(body)["sha256"] + "  image\n"
    check(r.returncode == 0 and r.stdout.decode() == "Verified OK\n" + want +
          "chunks OK\n", "recipe: %d %r %r", r.returncode, r.stdout, r.stderr)


def make(env, key, image, bundle, *extra, version="2.0.0"):
    return sign_tool(env, "--key", key, "--version", version, "--counter", "5",
                     "--board", "host", "--board", "pi-4", "--expires", "1828103860",
                     *extra, image, bundle)


def sign_and_verify(env, key, pub):
    image = os.path.join(env.dir, "image")
    data = os.urandom(200000)            # 3 chunks of 64 KiB and a short one
    with open(image, "wb") as f:
        f.write(data)
    bundle = os.path.join(env.dir, "b1")
    r = make(env, key, image, bundle)
    check(r.returncode == 0 and r.stdout == b"", "sign: %d %r", r.returncode, r.stderr)
    raw = open(bundle, "rb").read()
    body, sighex, img = split(raw)
    b = json.loads(body)
    chunks = [hashlib.sha256(data[i:i + 65536]).hexdigest()
              for i in range(0, len(data), 65536)]
    check(list(b) == ["v", "version", "counter", "boards", "size", "sha256", "chunk",
                      "chunks", "expires"] and b["v"] == 1 and b["version"] == "2.0.0" and
          b["counter"] == 5 and b["boards"] == ["host", "pi-4"] and
          b["size"] == 200000 and b["chunk"] == 65536 and b["chunks"] == chunks and
          len(chunks) == 4 and b["sha256"] == hashlib.sha256(data).hexdigest() and
          b["expires"] == 1828103860, "body %s", body[:200])
    check(img == data and len(raw) == len(body) + 130 + len(data), "image bytes")
    check(body == json.dumps(b, separators=(",", ":")).encode(), "body not compact")
    check(all(c in b"0123456789abcdef" for c in sighex), "sighex %r", sighex)
    openssl_verifies(env, pub, body, sighex)
    doc_recipe(env, pub, bundle, body)
    r = sign_tool(env, "--verify", "--pub", pub, bundle)
    check(r.returncode == 0 and r.stdout == body + b"\n", "verify: %d %r %r",
          r.returncode, r.stdout[:80], r.stderr)
    r = sign_tool(env, "--manifest", bundle)
    check(r.returncode == 0 and r.stdout == raw[:len(body) + 130], "--manifest: %d %r",
          r.returncode, r.stderr)
    # Deterministic signatures: the same image and options, the same bytes.
    r = make(env, key, image, os.path.join(env.dir, "b2"))
    check(r.returncode == 0 and open(os.path.join(env.dir, "b2"), "rb").read() == raw,
          "signing twice gave two bundles")
    return image, bundle, raw


def chunk_sizes(env, key, pub):
    big = os.path.join(env.dir, "big")
    with open(big, "wb") as f:
        f.truncate(128 * 65536 + 1)      # one byte over 128 chunks of 64 KiB
    out = os.path.join(env.dir, "big.bundle")
    r = make(env, key, big, out)
    b = json.loads(split(open(out, "rb").read())[0])
    check(r.returncode == 0 and b["chunk"] == 131072 and len(b["chunks"]) == 65,
          "picked chunk: %d %r %s", r.returncode, r.stderr, b.get("chunk"))
    r = sign_tool(env, "--verify", "--pub", pub, out)
    check(r.returncode == 0, "verify big: %r", r.stderr)
    small = os.path.join(env.dir, "image")
    r = make(env, key, small, out, "--chunk", "4096")
    b = json.loads(split(open(out, "rb").read())[0])
    check(r.returncode == 0 and b["chunk"] == 4096 and len(b["chunks"]) == 49,
          "--chunk 4096: %d %r", r.returncode, r.stderr)
    out = os.path.join(env.dir, "not-made")
    fails(env, make(env, key, big, out, "--chunk", "4096"), out,
          "%s: 8388609 bytes make 2049 chunks of 4096, over 128" % big)
    fails(env, make(env, key, small, out, "--chunk", "6000"), out,
          "%s: --chunk 6000: not a power of two in 4096..16777216" % small)


def fails(env, r, path, want, gone=True):
    """exit 1, nothing on stdout, one line on stderr; no bundle left behind."""
    check(r.returncode == 1 and r.stdout == b"" and
          r.stderr.decode() == "wattgate-sign: %s\n" % want,
          "want %r: exit %d, %r", want, r.returncode, r.stderr)
    if gone:
        check(not os.path.exists(path) and not os.path.exists(path + ".tmp"),
              "%s left behind", path)


def verify_fails(env, pub, data, want):
    bad = os.path.join(env.dir, "bad")
    with open(bad, "wb") as f:
        f.write(data)
    fails(env, sign_tool(env, "--verify", "--pub", pub, bad), bad,
          "%s: %s" % (bad, want), gone=False)


def refused(env, key, pub, image, raw):
    body, sighex, img = split(raw)
    off = len(body) + 130
    nosig = "manifest: signature does not verify with this key"
    t = bytearray(raw)
    t[off + 70000] ^= 0x01               # chunk 1 of the image
    verify_fails(env, pub, t, "image: chunks[1] (bytes 65536..131071): SHA-256 "
                 "does not match the manifest")
    t = bytearray(raw)
    t[-1] ^= 0x80                        # the short last chunk
    verify_fails(env, pub, t, "image: chunks[3] (bytes 196608..199999): SHA-256 "
                 "does not match the manifest")
    t = bytearray(raw)
    i = raw.index(b'"counter":5') + 10
    t[i] ^= 0x01                         # "counter":4: a valid body, not the signed one
    verify_fails(env, pub, t, nosig)
    t = bytearray(raw)
    t[0] = ord("[")
    verify_fails(env, pub, t, "manifest: body: ']' expected near ':' (byte 5)")
    t = bytearray(raw)
    i = len(body) + 1 + 127              # the last hex digit of s, another digit
    t[i] = ord("1") if t[i] == ord("0") else ord("0")
    verify_fails(env, pub, t, nosig)
    t = bytearray(raw)
    t[len(body) + 1] = ord("G")
    verify_fails(env, pub, t, "manifest: signature: not 128 lowercase hex characters")
    _, other_pub = keys(env, os.path.join(env.dir, "other"))
    verify_fails(env, other_pub, raw, nosig)
    verify_fails(env, pub, raw[:off + 100000], "image: truncated: 100000 bytes, "
                 "the manifest says 200000")
    verify_fails(env, pub, raw[:off], "image: truncated: 0 bytes, the manifest "
                 "says 200000")
    verify_fails(env, pub, raw[:len(body) + 60], "manifest: truncated: signature "
                 "of 59 hex characters, not 128")
    verify_fails(env, pub, raw[:len(body) - 1], "manifest: truncated: no LF after "
                 "the body (%d bytes)" % (len(body) - 1))
    verify_fails(env, pub, raw + b"\0", "image: 200001 bytes, 1 more than the "
                 "manifest says")
    # What cannot be signed: nothing, a version or board the gateway refuses.
    out = os.path.join(env.dir, "b3")
    empty = os.path.join(env.dir, "empty")
    open(empty, "wb").close()
    fails(env, make(env, key, empty, out), out,
          "%s: empty (0 bytes): nothing to sign" % empty)
    fails(env, make(env, key, os.path.join(env.dir, "none"), out), out,
          "%s: No such file or directory" % os.path.join(env.dir, "none"))
    fails(env, make(env, key, image, out, version="2.0"), out, "%s: manifest: "
          "version: not MAJOR.MINOR.PATCH (each 0..999999, no leading zeros)" % image)
    r = sign_tool(env, "--key", key, "--version", "2.0.0", "--counter", "1",
                  "--board", "Host", image, out)
    fails(env, r, out, "%s: manifest: boards[0]: not a string of 1..32 characters "
          "of [a-z0-9-]" % image)
    r = sign_tool(env, "--key", key, "--version", "2.0.0", "--counter", "1", image, out)
    check(r.returncode == 2 and not os.path.exists(out), "no --board: %d", r.returncode)
    r = sign_tool(env, "--key", pub, "--version", "2.0.0", "--counter", "1",
                  "--board", "host", image, out)
    check(r.returncode == 1 and r.stderr.startswith(b"wattgate-sign: --key: ") and
          r.stderr.count(b"\n") == 1, "public key as --key: %d %r", r.returncode,
          r.stderr)


def main(build):
    with Env(build) as env:
        key, pub = keys(env, os.path.join(env.dir, "release"))
        image, _, raw = sign_and_verify(env, key, pub)
        chunk_sizes(env, key, pub)
        refused(env, key, pub, image, raw)
    print("sign: keygen, bundle byte for byte, verify, openssl, chunk sizes and "
          "every refusal ok")


if __name__ == "__main__":
    run(main)
