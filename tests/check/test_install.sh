#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, given only at install time, gives a
# daemon that finds its profiles and passes --check on the installed sample
# site config, on a machine without serial ports (README, "Install").
#
#   tests/check/test_install.sh BUILD_DIR
set -euo pipefail
build=$1
p=$(mktemp -d "${TMPDIR:-/tmp}/wg-install.XXXXXX")
trap 'rm -rf "$p"' EXIT
cmake --install "$build" --prefix "$p/usr" >/dev/null
for f in bin/wattgate bin/wattgate-recv bin/wattgate-sim bin/wattgate-fleet bin/wattgate-sign \
    etc/wattgate/site.json \
    share/wattgate/board.json share/wattgate/profiles/sdm630.json; do
  [ -e "$p/usr/$f" ] || { echo "FAIL: $f not installed"; find "$p" -type f; exit 1; }
done
grep -q '"profiles"' "$p/usr/etc/wattgate/site.json" &&
  { echo "FAIL: the sample names its profiles: the default is what is tested"; exit 1; }
out=$("$p/usr/bin/wattgate" --check "$p/usr/etc/wattgate/site.json") ||
  { echo "FAIL: the installed sample does not pass --check: $out"; exit 1; }
echo "$out"
# The profiles are found beside the binary: moved elsewhere, a clear error.
mv "$p/usr/share/wattgate/profiles" "$p/moved"
if out=$("$p/usr/bin/wattgate" --check "$p/usr/etc/wattgate/site.json" 2>&1); then
  echo "FAIL: --check passed without the profiles"; exit 1
fi
grep -q "devices\[0\] (main).profile: .*/sdm630.json: No such file" <<<"$out" ||
  { echo "FAIL: the missing profile is not named: $out"; exit 1; }
grep -q "wattgate-fleet keygen DIR" <<<"$("$p/usr/bin/wattgate-fleet" --help)" ||
  { echo "FAIL: the installed wattgate-fleet does not run"; exit 1; }
grep -q "wattgate-sign --keygen PRIV.pem PUB.pem" <<<"$("$p/usr/bin/wattgate-sign" --help)" ||
  { echo "FAIL: the installed wattgate-sign does not run"; exit 1; }
# The technician console, where Kconfig CONSOLE built it.
if grep -q '^CONFIG_CONSOLE=y' "$build/.config"; then
  grep -q "usage: wattgate-console" <<<"$("$p/usr/bin/wattgate-console" --help)" ||
    { echo "FAIL: the installed wattgate-console does not run"; exit 1; }
fi
echo "install: $p/usr: binaries, profiles, sample config; --check ok"
