"""The device identity, checked with the openssl CLI as the independent party:

- `wattgate --identity` on a fresh state dir creates the key (0600) and prints a
  CSR whose self-signature openssl verifies, whose public key has the printed
  fingerprint (and so has the key file), with subject CN=<gateway>, O=wattgate;
- a second run prints the same fingerprint and leaves the key file untouched;
- a throw-away CA (made here by openssl) signs the CSR into a certificate that
  verifies against the CA and carries the same public key: the fleet flow;
- the daemon on a fresh state dir creates its key before it connects, logs the
  path and the fingerprint, and then delivers readings; with a loose key it
  logs one line and runs on;
- no byte of the key (PEM header, base64 body, private scalar) appears in any
  output of wattgate;
- a key file that group or others can read is refused with one line naming it,
  and is left as it was.

usage: test_identity.py BUILD_DIR
"""
import hashlib
import json
import os
import re
import stat
import subprocess

from harness import run, Env, check, wait


def sh(argv, input=None, binary=False):
    r = subprocess.run(argv, input=input, capture_output=True, timeout=60,
                       text=not binary)
    check(r.returncode == 0, "%s: exit %d: %s", " ".join(argv), r.returncode,
          r.stderr)
    return r.stdout


def spki_sha256(pem, kind):
    """SHA-256 of the DER SubjectPublicKeyInfo of a CSR, cert or private key."""
    if kind == "req":
        pub = sh(["openssl", "req", "-noout", "-pubkey"], input=pem)
    elif kind == "x509":
        pub = sh(["openssl", "x509", "-noout", "-pubkey"], input=pem)
    else:
        pub = sh(["openssl", "pkey", "-pubout"], input=pem)
    der = sh(["openssl", "pkey", "-pubin", "-outform", "DER"],
             input=pub.encode(), binary=True)
    return hashlib.sha256(der).hexdigest()


def key_secrets(key_path):
    """Strings that would betray the key if they appeared anywhere."""
    with open(key_path) as f:
        pem = f.read()
    # The first base64 line of a SEC1 key is DER bytes 0..47: the version and
    # the private scalar, before the public key that the CSR rightly carries.
    first = [l for l in pem.splitlines() if not l.startswith("-----")][0]
    check(len(first) == 64, "unexpected key layout: %r", first[:8])
    out = ["PRIVATE KEY"]
    out += [first[i:i + 16] for i in range(8, 64 - 16, 8)]
    text = sh(["openssl", "ec", "-noout", "-text"], input=pem)
    m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    check(m is not None, "openssl ec -text: no priv: %r", text[:200])
    priv = re.sub(r"[\s:]", "", m.group(1)).lstrip("0") or "0"
    out += [priv[-32:], priv[:32]]
    # The needles are real: each is in the key or its private scalar.
    for s in out[1:]:
        check(s in pem or s in re.sub(r"[\s:]", "", text), "needle %r not in key", s)
    return out


def no_secrets(where, text, secrets):
    for s in secrets:
        check(s.lower() not in text.lower(), "%s shows key material %r", where, s)


def identity_cmd(env, site_path):
    exe = env.bin("firmware", "core", "wattgate")
    return subprocess.run(env.wrap + [exe, "--identity", "-c", site_path],
                          capture_output=True, text=True, timeout=120)


def write_site(env, name, site):
    path = os.path.join(env.dir, name + ".json")
    with open(path, "w") as f:
        json.dump(site, f)
    return path


def cli_flow(env):
    site = env.site(1883, buses=[{"name": "lan", "type": "tcp", "host": "127.0.0.1"}],
                    devices=[{"name": "m", "bus": "lan", "unit": 1,
                              "profile": "sdm630"}], gateway="gw-id.1")
    site["store"] = os.path.join(env.dir, "fresh", "state", "store.db")
    key = os.path.join(env.dir, "fresh", "state", "identity.key")
    path = write_site(env, "cli", site)
    check(not os.path.exists(key), "key exists before the first run")

    r = identity_cmd(env, path)
    check(r.returncode == 0, "--identity: exit %d: %s", r.returncode, r.stderr)
    lines = r.stdout.strip().splitlines()
    check(lines[0] == "-----BEGIN CERTIFICATE REQUEST-----", "stdout: %r", r.stdout)
    check(lines[-2] == "-----END CERTIFICATE REQUEST-----", "stdout: %r", r.stdout)
    m = re.fullmatch(r"fingerprint: sha256:([0-9a-f]{64})", lines[-1])
    check(m is not None, "no fingerprint line: %r", lines[-1])
    fp = m.group(1)
    csr = "\n".join(lines[:-1]) + "\n"
    st = os.stat(key)
    check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
          "key mode %o, want 0600", st.st_mode)
    secrets = key_secrets(key)
    no_secrets("--identity stdout", r.stdout, secrets)
    no_secrets("--identity stderr", r.stderr, secrets)

    # openssl: the signature, the public key, the subject.
    v = subprocess.run(["openssl", "req", "-verify", "-noout"], input=csr,
                       capture_output=True, text=True)
    check(v.returncode == 0 and "verify OK" in v.stdout + v.stderr,
          "openssl req -verify: %d %s %s", v.returncode, v.stdout, v.stderr)
    check(spki_sha256(csr, "req") == fp, "CSR public key fingerprint != printed")
    with open(key) as f:
        check(spki_sha256(f.read(), "pkey") == fp, "key file fingerprint != printed")
    subj = sh(["openssl", "req", "-noout", "-subject", "-nameopt", "RFC2253"],
              input=csr).strip()
    check(subj == "subject=O=wattgate,CN=gw-id.1", "subject: %r", subj)
    text = sh(["openssl", "req", "-noout", "-text"], input=csr)
    check("ecdsa-with-SHA256" in text and "prime256v1" in text,
          "not an ECDSA P-256 / SHA-256 CSR:\n%s", text)
    # A CSR with a tampered byte does not verify: the check above can fail.
    ls = csr.splitlines()
    ls[3] = ls[3][:10] + ("A" if ls[3][10] != "A" else "B") + ls[3][11:]
    bad = "\n".join(ls) + "\n"
    v = subprocess.run(["openssl", "req", "-verify", "-noout"], input=bad,
                       capture_output=True, text=True)
    check(v.returncode != 0, "openssl verified a tampered CSR")

    # A second run: same key, same fingerprint, file untouched.
    with open(key, "rb") as f:
        before = f.read()
    ino = os.stat(key).st_ino
    r2 = identity_cmd(env, path)
    check(r2.returncode == 0, "second --identity: exit %d: %s", r2.returncode,
          r2.stderr)
    check(r2.stdout.strip().splitlines()[-1] == lines[-1],
          "second run: %r != %r", r2.stdout.strip().splitlines()[-1], lines[-1])
    with open(key, "rb") as f:
        check(f.read() == before, "second run changed the key file")
    check(os.stat(key).st_ino == ino, "second run replaced the key file")

    # The fleet flow: a throw-away CA signs the CSR.
    ca = os.path.join(env.dir, "ca")
    os.mkdir(ca, 0o700)
    csr_path = os.path.join(ca, "gw.csr")
    with open(csr_path, "w") as f:
        f.write(csr)
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(ca, "ca.key"),
        "-out", os.path.join(ca, "ca.pem"), "-subj", "/CN=wattgate test CA",
        "-days", "1"])
    sh(["openssl", "x509", "-req", "-in", csr_path, "-CA", os.path.join(ca, "ca.pem"),
        "-CAkey", os.path.join(ca, "ca.key"), "-CAcreateserial", "-days", "1",
        "-out", os.path.join(ca, "gw.pem")])
    out = sh(["openssl", "verify", "-CAfile", os.path.join(ca, "ca.pem"),
              os.path.join(ca, "gw.pem")])
    check(out.strip().endswith(": OK"), "openssl verify: %r", out)
    with open(os.path.join(ca, "gw.pem")) as f:
        cert = f.read()
    check(spki_sha256(cert, "x509") == fp, "certificate public key != the device's")
    subj = sh(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
              input=cert).strip()
    check("CN=gw-id.1" in subj, "certificate subject: %r", subj)

    # Loose permissions: refused, one line naming the file, nothing changed.
    os.chmod(key, 0o644)
    r3 = identity_cmd(env, path)
    err = r3.stderr.strip().splitlines()
    check(r3.returncode == 1, "loose key: exit %d, want 1", r3.returncode)
    check(len(err) == 1 and key in err[0] and "chmod 600" in err[0],
          "loose key: stderr %r", r3.stderr)
    check(r3.stdout == "", "loose key: stdout %r", r3.stdout)
    with open(key, "rb") as f:
        check(f.read() == before, "a refused key file was changed")
    check(stat.S_IMODE(os.stat(key).st_mode) == 0o644, "mode changed behind our back")
    os.chmod(key, 0o600)
    return fp


def daemon_flow(env):
    broker, port = env.mosquitto()
    recv = env.recv(port)
    sim, site = env.one_meter(port)
    key = os.path.join(env.dir, "state", "identity.key")
    check(not os.path.exists(key), "daemon state dir already has a key")
    gw = env.gateway(site)
    line = gw.wait_for(gw.err_path, "identity: ", timeout=60)
    m = re.search(r"identity: created (\S+), fingerprint sha256:([0-9a-f]{64})$",
                  line)
    check(m is not None, "daemon identity line: %r", line)
    check(m.group(1) == key, "daemon key path %r, want %r", m.group(1), key)
    with open(key) as f:
        check(spki_sha256(f.read(), "pkey") == m.group(2),
              "daemon's logged fingerprint is not its key's")
    check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "daemon key not 0600")
    # Made before the gateway opens its store and uplink: its line comes first.
    gw.wait_for(gw.err_path, "gateway gw-test:", timeout=60)
    log = gw.stderr()
    check(0 <= log.find("identity: created") < log.find("gateway gw-test:"),
          "identity not set up before the gateway started:\n%s", log)
    # And the gateway then does its job.
    wait(lambda: os.path.getsize(recv.out_path) > 0, 60, "readings at the receiver")
    rc = gw.stop()
    check(rc == 0, "daemon exit %s after SIGTERM:\n%s", rc, gw.tail())
    secrets = key_secrets(key)
    for p in (gw.err_path, gw.out_path):
        with open(p) as f:
            no_secrets(os.path.basename(p), f.read(), secrets)

    # A loose key: one line naming it, and the gateway runs on without it.
    with open(key, "rb") as f:
        before = f.read()
    os.chmod(key, 0o644)
    gw2 = env.gateway(site, name="gateway-loose")
    line = gw2.wait_for(gw2.err_path, "identity: ", timeout=60)
    check(key in line and "chmod 600" in line and "running without" in line,
          "loose key at start: %r", line)
    gw2.wait_for(gw2.err_path, "gateway gw-test:", timeout=60)
    rc = gw2.stop()
    check(rc == 0, "daemon with a loose key: exit %s:\n%s", rc, gw2.tail())
    with open(key, "rb") as f:
        check(f.read() == before, "the daemon changed a refused key")
    os.chmod(key, 0o600)
    return m.group(2)


def main(build):
    with Env(build) as env:
        fp = cli_flow(env)
        fp2 = daemon_flow(env)
        check(fp != fp2, "two state dirs got the same key")
        print("identity: CSR verified by openssl, fingerprint %s..., signed by a "
              "test CA; daemon created its own key %s...; no key material in any "
              "output; loose key refused" % (fp[:16], fp2[:16]))


if __name__ == "__main__":
    run(main)
