"""tools/sbom on the build tree (issue 13): the SBOM is CycloneDX JSON whose
every reference is defined; the daemon needs SQLite, libmosquitto and zlib at
the versions dpkg has installed; mbedtls is there, linked as the build linked
it (static archive or shared library, CMakeCache.txt); libcoap, which the
daemon loads rather than links, is there too. What Kconfig leaves out (MQTT,
IDENTITY) must be absent. A directory that is no build gives a one-line error
naming it.

usage: test_sbom.py TOOLS_SBOM BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import quote


def check(ok, what, *args):
    if not ok:
        print("FAIL: " + what % args)
        sys.exit(1)


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def props(c, name):
    return [p["value"] for p in c.get("properties", []) if p["name"] == name]


def main(sbom, build):
    r = run(sbom, build)
    check(r.returncode == 0, "tools/sbom %s: exit %d: %s", build, r.returncode, r.stderr)
    doc = json.loads(r.stdout)
    check(doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.5",
          "not CycloneDX 1.5: %s %s", doc.get("bomFormat"), doc.get("specVersion"))
    comps = {c["bom-ref"]: c for c in doc["components"]}
    check(len(comps) == len(doc["components"]), "a bom-ref is used twice")
    refs = set(comps) | {doc["metadata"]["component"]["bom-ref"]}
    deps = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    for ref, on in deps.items():
        check(ref in refs and set(on) <= refs, "dependency %s -> %s: undefined ref", ref, on)

    # Everything bin/wattgate loads: its dependencies, and theirs.
    check("bin/wattgate" in deps, "no bin/wattgate in %s", sorted(deps))
    need, todo = set(), list(deps["bin/wattgate"])
    while todo:
        ref = todo.pop()
        if ref not in need:
            need.add(ref)
            todo += deps.get(ref, [])
    loaded = [comps[r] for r in need]

    def owner(soname, wanted=True):
        hits = [c for c in loaded
                if any(os.path.basename(f) == soname for f in props(c, "wattgate:file"))]
        check(len(hits) == wanted, "bin/wattgate: %s in %d components", soname, len(hits))
        return hits[0] if hits else None

    # What Kconfig leaves out of the daemon is out of its SBOM too.
    with open(os.path.join(build, ".config")) as f:
        config = set(re.findall(r"^(CONFIG_\w+)=y$", f.read(), re.M))
    mqtt = "CONFIG_UPLINK_MQTT" in config
    # A cross build's packages are in its sysroot's dpkg database.
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        root = re.search(r"^WG_SYSROOT:\w+=(.+)$", f.read(), re.M)
    admin = [f"--admindir={root.group(1)}/var/lib/dpkg"] if root else []
    for soname, package in [("libsqlite3.so.0", "libsqlite3-0"), ("libz.so.1", "zlib1g")] + \
            [("libmosquitto.so.1", "libmosquitto1")] * mqtt:
        c = owner(soname)
        arch = c["purl"].split("?arch=")[1].split("&")[0]
        q = run("dpkg-query", *admin, "-W", "-f", "${Version}", f"{package}:{arch}")
        check(c["name"] == package and c["version"] == q.stdout and q.returncode == 0,
              "%s: %s %s, dpkg-query says %s %s", soname, c["name"], c["version"],
              package, q.stdout or q.stderr)
        check(c["purl"].startswith(f"pkg:deb/debian/{package}@{quote(q.stdout, safe=':')}"
                                   f"?arch={arch}"), "%s: purl %s", soname, c["purl"])
        check(props(c, "wattgate:linkage") == ["shared"], "%s: linkage %s", soname,
              props(c, "wattgate:linkage"))
    if not mqtt:
        owner("libmosquitto.so.1", wanted=False)

    # mbedtls (Kconfig IDENTITY) linked as the build linked it.
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        cache = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
    # MBEDCRYPTO_SHARED since mbedtls is linked shared; MBEDCRYPTO_LIBRARY
    # (the archive) before, and it may linger in an older build's cache.
    crypto = cache.get("MBEDCRYPTO_SHARED:FILEPATH",
                       cache.get("MBEDCRYPTO_LIBRARY:FILEPATH", ""))
    mbed = [c for c in loaded if props(c, "wattgate:debian-source") == ["mbedtls"]]
    if "CONFIG_IDENTITY" not in config:
        check(not mbed, "IDENTITY is off, yet bin/wattgate has mbedtls: %s", mbed)
        linked = "none"
    elif crypto.endswith(".a"):
        check(any(crypto in props(c, "wattgate:file") and
                  props(c, "wattgate:linkage") == ["static"] for c in mbed),
              "mbedtls: %s not listed as static: %s", crypto, mbed)
        linked = "static"
    else:
        check(mbed and all(props(c, "wattgate:linkage") == ["shared"] for c in mbed),
              "mbedtls linked shared (%s), listed as %s", crypto, mbed)
        linked = "shared"

    # libcoap is loaded, not linked (firmware/base/coap_lib.c).
    if "CONFIG_UPLINK_COAP" in config:
        c = owner("libcoap-3-openssl.so.3")
        check("bin/wattgate" in props(c, "wattgate:dlopen-by"),
              "libcoap: not dlopen()ed by bin/wattgate: %s", c)

    # Not a build: one line naming it, nothing on stdout.
    with tempfile.TemporaryDirectory() as t:
        for bad, why in [(os.path.join(t, "nope"), "no such build directory"),
                         (t, "not a CMake build directory")]:
            r = run(sbom, bad)
            check(r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1 and
                  r.stderr.startswith(f"sbom: {bad}: {why}"),
                  "tools/sbom %s: exit %d, stdout %r, stderr %r", bad, r.returncode,
                  r.stdout[:80], r.stderr)
    print(f"sbom: {len(doc['components'])} components; bin/wattgate loads "
          f"{', '.join(sorted(c['name'] for c in loaded))}; mbedtls {linked}; "
          "bad dirs refused")


if __name__ == "__main__":
    main(*sys.argv[1:])
