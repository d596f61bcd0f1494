"""tools/check/no-secrets: the repository and the installed image hold no private
key, PSK or key file -- and the check really finds each kind of secret.

Every planted secret is generated here, at test time, by the openssl CLI, into a
temporary directory: nothing secret is committed, not even for this test.

usage: test_no_secrets.py BUILD_DIR
"""
import os
import subprocess

from harness import run, Env, check


def openssl(*args, input=None):
    r = subprocess.run(["openssl"] + list(args), input=input, capture_output=True,
                       timeout=60)
    check(r.returncode == 0, "openssl %s: %s", " ".join(args), r.stderr)
    return r.stdout


def c_literal(pem):
    return "static const char key[] =\n" + "".join(
        '\t"%s\\n"\n' % l for l in pem.splitlines()) + ";\n"


def planted(work):
    """(file name, contents, expected words in the finding)"""
    key = os.path.join(work, "gen.pem")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", key)
    pem = open(key).read()
    legacy = openssl("ec", "-in", key, "-aes128", "-passout", "pass:x").decode()
    enc = openssl("pkcs8", "-topk8", "-in", key, "-passout", "pass:x",
                  "-v2", "aes-128-cbc").decode()
    der = openssl("pkey", "-in", key, "-outform", "DER")
    one_line = pem.replace("\n", "\\n")
    binary = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) + pem.encode() + \
        b"\x00\x00" + bytes(range(255, 0, -1))
    return [
        ("device.pem", pem, "private key (PEM)"),
        ("legacy-encrypted.txt", legacy, "private key (PEM)"),
        ("pkcs8-encrypted.crt", enc, "private key (PEM)"),
        ("embedded.c", c_literal(pem), "private key (PEM)"),
        ("embedded.py", 'KEY = "%s"\n' % one_line, "private key (PEM)"),
        ("blob.bin", binary, "private key (PEM)"),
        ("device.key", der, "private key (DER)"),
        ("client.p12", b"\x30\x82\x01\x00", "key store"),
        ("psk", "gw-1:00112233445566778899aabbccddeeff\n", "PSK file"),
        ("dtls.conf", "# identities\ngw-2:00112233445566778899aabbccddeeff\n",
         "IDENTITY:HEX"),
        ("site.json", '{"coap": {"psk": "not-so-secret"}}\n', "inline secret"),
    ]


def clean(work):
    key = os.path.join(work, "gen.pem")
    cert = openssl("req", "-x509", "-key", key, "-subj", "/CN=ca", "-days", "1")
    pub = openssl("pkey", "-in", key, "-pubout")
    return [
        ("ca.pem", cert, None),
        ("pub.pem", pub, None),
        ("mentions.c", 'if (strstr(buf, "-----BEGIN EC PRIVATE KEY-----"))\n'
         '\treturn "no key here, only the marker";\n', None),
        ("psk.c", "/* reads the PSK file named by coap.psk_file */\n", None),
        ("site.json", '{"coap": {"psk_file": "/etc/wattgate/psk"}}\n', None),
        ("notes.md", "fingerprint:\nsha256:" + "ab" * 32 + "\n", None),
        ("placeholder.key", "", None),
    ]


def scan(tool, d):
    return subprocess.run([tool, "--tree", d], capture_output=True, text=True,
                          timeout=120)


def main(build):
    with Env(build) as env:
        tool = os.path.join(env.src, "tools", "check", "no-secrets")
        gen = os.path.join(env.dir, "gen")
        os.mkdir(gen, 0o700)
        bad, good = planted(gen), clean(gen)
        n = 0
        for name, data, want in bad + good:
            d = os.path.join(env.dir, "case%d" % n)
            n += 1
            os.mkdir(d)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
            r = scan(tool, d)
            if want is None:
                check(r.returncode == 0, "clean %s flagged: %s", name, r.stdout)
                continue
            check(r.returncode == 1, "planted %s: exit %d, want 1: %s", name,
                  r.returncode, r.stdout + r.stderr)
            check(name in r.stdout and want in r.stdout,
                  "planted %s: finding does not name it as %r: %s", name, want,
                  r.stdout)
        # The real thing: this repository and the image installed from this build.
        r = subprocess.run([tool, "--image", build], capture_output=True,
                           text=True, timeout=300)
        check(r.returncode == 0, "no-secrets --image: exit %d:\n%s%s", r.returncode,
              r.stdout, r.stderr)
        check("image" in r.stdout, "image not scanned: %s", r.stdout)
        print("no_secrets: %d planted secrets found, %d clean files passed; %s" %
              (len(bad), len(good), r.stdout.strip()))


if __name__ == "__main__":
    run(main)
