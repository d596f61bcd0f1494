#!/usr/bin/env bash
# The suite's quick check of what tools/package/build packages (the package
# build and its install on a fresh Debian are tools/package/test: minutes):
#   - every file `cmake --install` puts under /usr or /etc is claimed by
#     tools/package/debian/wattgate.install or wattgate-tools.install, so a new
#     installed file cannot fall out of the packages (dh_missing would stop
#     the package build only when someone runs it);
#   - the man pages render without a warning;
#   - systemd-analyze rates board/systemd's services (the daemon's, the
#     console's, the reboot's, the trial watch's) at most 2.0.
#
#   tests/check/test_package.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
t=$(mktemp -d "${TMPDIR:-/tmp}/wg-package.XXXXXX")
trap 'rm -rf "$t"' EXIT

DESTDIR=$t/root cmake --install "$build" --prefix /usr >/dev/null
# The units, users and directories are installed only with a configured
# prefix of /usr (the package's); their lines are checked the same way.
# GNUInstallDirs makes etc /etc for a prefix /usr given at configure time (the
# package's), /usr/etc for one given here.
(cd "$t/root" && find . -type f -printf '%P\n') | sed 's|^usr/etc/|etc/|' > "$t/files"
printf '%s\n' lib/systemd/system/wattgate.service lib/systemd/system/wattgate-console@.service \
  lib/systemd/system/wattgate-reboot.path lib/systemd/system/wattgate-reboot.service \
  lib/systemd/system/wattgate-slot.service lib/systemd/system/wattgate-trial.service \
  usr/lib/wattgate/reboot usr/lib/wattgate/slot-env usr/lib/wattgate/trial-watch \
  usr/lib/sysusers.d/wattgate.conf usr/lib/tmpfiles.d/wattgate.conf \
  >> "$t/files"
grep -hv '^#' "$src/tools/package/debian/wattgate.install" \
  "$src/tools/package/debian/wattgate-tools.install" > "$t/claims"
missing=0
while IFS= read -r f; do
  ok=0
  while IFS= read -r c; do
    # A line is a file, a glob or a directory (everything under it).
    # shellcheck disable=SC2053
    if [[ $f == $c || $f == "$c"/* ]]; then ok=1; break; fi
  done < "$t/claims"
  [ "$ok" = 1 ] || { echo "FAIL: /$f is installed but in no package (tools/package/debian/*.install)"; missing=1; }
done < "$t/files"
[ "$missing" = 0 ]
echo "package: $(wc -l < "$t/files") installed files, each in a package"

if command -v man >/dev/null; then
  for m in "$src"/docs/man/*.[0-9]; do
    w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null)
    [ -z "$w" ] || { echo "FAIL: $m: $w"; exit 1; }
  done
  echo "package: man pages render without warnings"
fi

if systemd-analyze --help 2>/dev/null | grep -q -- '--offline'; then
  for u in wattgate.service wattgate-console@.service wattgate-reboot.service \
      wattgate-trial.service; do
    out=$(cd "$src/board/systemd" && systemd-analyze security --offline=true "$u" 2>&1 | tail -1)
    x=$(sed -nE 's/.*exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$out")
    awk -v x="${x:-99}" 'BEGIN { exit !(x <= 2.0) }' ||
      { echo "FAIL: $u: exposure ${x:-unknown} > 2.0: $out"; exit 1; }
    echo "package: $u exposure $x"
  done
fi
