#!/usr/bin/env bash
# Self-test of wattgate-sim against real Modbus clients: mbpoll (libmodbus, as the
# gateway) and pymodbus, over TCP and over the simulator's RTU pty. Checks that
# values are plausible, that the --log lines are exactly what the clients read,
# exceptions, noise on the line, several clients and units, clean exit on SIGTERM.
#
#   tools/sim/selftest.sh PATH/TO/wattgate-sim [PROFILES_DIR]
#
# Needs mbpoll and Debian's /usr/bin/python3 with python3-pymodbus. Set
# SIM_WRAPPER="valgrind --leak-check=full --error-exitcode=1" to run the
# simulator under valgrind (its exit status is checked). Exits 0 if all passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sim=${1:?usage: selftest.sh PATH/TO/wattgate-sim [PROFILES_DIR]}
profiles=${2:-$here/../../drivers/profiles}
profile=$profiles/sdm630.json
reqs=${SIM_REQS:-300}
py=/usr/bin/python3
wrapper=${SIM_WRAPPER:-}
failed=0

work=$(mktemp -d "${TMPDIR:-/tmp}/wattgate-sim-selftest.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

ok() { echo "selftest: ok: $*"; }
bad() { echo "selftest: FAIL: $*" >&2; failed=1; }

# start NAME ARGS...: run the simulator, wait for its ready line (in $ready).
start() {
	local name=$1 i
	shift
	# The files exist before the simulator does: the shell opens them in
	# the child, after the fork, and under set -e a head that comes first
	# on a loaded machine would end the script.
	: >"$work/$name.out"
	: >"$work/$name.err"
	# shellcheck disable=SC2086
	$wrapper "$sim" --profiles "$profiles" "$@" >>"$work/$name.out" \
		2>>"$work/$name.err" &
	pid=$!
	for i in $(seq 1 300); do
		ready=$(head -n1 "$work/$name.out")
		[ -n "$ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	bad "$name: no ready line; stderr: $(cat "$work/$name.err")"
	exit 1
}

# stop NAME: SIGTERM must end the simulator with status 0.
stop() {
	local rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	pid=""
	if [ "$rc" = 0 ]; then ok "$1: exit 0 on SIGTERM"; else
		bad "$1: exit status $rc on SIGTERM; stderr: $(cat "$work/$1.err")"; fi
}

# expect_mbpoll NAME PATTERN mbpoll-args...: output must contain PATTERN.
expect_mbpoll() {
	local name=$1 pattern=$2 out
	shift 2
	out=$(mbpoll "$@" 2>&1 || true)
	if grep -q -- "$pattern" <<<"$out"; then ok "$name"; else
		bad "$name: want '$pattern', mbpoll said: $(tail -n2 <<<"$out")"; fi
}

# compare LOG UNIT FIRST NREGS MODE mbpoll-args...: one mbpoll read vs the log.
compare() {
	local log=$1 unit=$2 first=$3 nregs=$4 mode=$5 count
	shift 5
	count=$nregs
	[ "$mode" = float ] && count=$((nregs / 2))
	if ! mbpoll "$@" -a "$unit" -r "$first" -c "$count" -t "3:$mode" -B -1 \
		>"$work/mbpoll.out" 2>&1; then
		bad "mbpoll unit $unit: $(tail -n1 "$work/mbpoll.out")"
		return
	fi
	$py "$here/selftest.py" compare "$log" "$work/mbpoll.out" "$profile" \
		"$unit" "$first" "$nregs" "$mode" || failed=1
}

[ -x "$sim" ] || { echo "selftest: $sim: not executable" >&2; exit 1; }
command -v mbpoll >/dev/null || { echo "selftest: mbpoll not installed" >&2; exit 1; }

# --- command line errors -------------------------------------------------------
rc=0; "$sim" --profiles "$profiles" --device 1:sdm630 2>/dev/null || rc=$?
[ "$rc" = 2 ] && ok "no transport: exit 2" || bad "no transport: exit $rc"
rc=0; "$sim" --profiles "$profiles" --device 1:nometer --tcp 127.0.0.1:0 \
	2>"$work/err" || rc=$?
if [ "$rc" = 1 ] && grep -q nometer "$work/err"; then ok "unknown profile named"
else bad "unknown profile: exit $rc, $(cat "$work/err")"; fi
rc=0; "$sim" --profiles "$profiles" --device 1:sdm630 --device 1:sdm630 \
	--tcp 127.0.0.1:0 2>/dev/null || rc=$?
[ "$rc" = 1 ] && ok "unit given twice refused" || bad "unit twice: exit $rc"
touch "$work/plainfile"
rc=0; "$sim" --profiles "$profiles" --device 1:sdm630 --rtu "$work/plainfile" \
	2>/dev/null || rc=$?
[ "$rc" = 1 ] && [ -f "$work/plainfile" ] && ok "--rtu never replaces a file" \
	|| bad "--rtu over a plain file: exit $rc"

# --- TCP ----------------------------------------------------------------------
start tcp --device 1:sdm630 --device 2:sdm630 --tcp 127.0.0.1:0 \
	--log "$work/tcp.log" --seed 7
port=${ready##*:}
[[ $ready =~ ^wattgate-sim:\ ready\ tcp\ 127\.0\.0\.1:[0-9]+$ ]] && [ "$port" != 0 ] \
	&& ok "tcp ready line" || bad "tcp ready line: '$ready'"
tcp=(-m tcp -p "$port" 127.0.0.1)
compare "$work/tcp.log" 1 1 76 float "${tcp[@]}"
compare "$work/tcp.log" 2 1 76 float "${tcp[@]}"
compare "$work/tcp.log" 2 49 28 hex "${tcp[@]}"
compare "$work/tcp.log" 1 343 2 float "${tcp[@]}"
expect_mbpoll "tcp: address outside the span" "Illegal data address" \
	-a 1 -r 345 -c 1 -t 3:float -1 "${tcp[@]}"
expect_mbpoll "tcp: holding registers of an input-only meter" "Illegal data address" \
	-a 1 -r 1 -c 2 -t 4 -1 "${tcp[@]}"
expect_mbpoll "tcp: coils of a meter that has none" "Illegal data address" \
	-a 1 -r 1 -t 0 -1 "${tcp[@]}"
expect_mbpoll "tcp: unit 3 does not answer" "timed out" \
	-a 3 -r 1 -c 2 -t 3 -1 -o 0.3 "${tcp[@]}"
$py "$here/selftest.py" tcp "$port" "$reqs" || failed=1
$py "$here/selftest.py" log "$work/tcp.log" || failed=1
stop tcp

# --- RTU over the pty ---------------------------------------------------------
tty=$work/ttyWG0
ln -s /nonexistent/stale "$tty"
start rtu --device 1:sdm630 --device 5:sdm630 --rtu "$tty" --log "$work/rtu.log"
[ "$ready" = "wattgate-sim: ready rtu $tty" ] && ok "rtu ready line" \
	|| bad "rtu ready line: '$ready'"
case $(readlink "$tty") in
/dev/pts/*) ok "stale symlink replaced by the pty" ;;
*) bad "$tty -> $(readlink "$tty")" ;;
esac
rtu=(-m rtu -b 9600 -P none "$tty")
compare "$work/rtu.log" 1 1 76 float "${rtu[@]}"
compare "$work/rtu.log" 5 1 76 float "${rtu[@]}"
compare "$work/rtu.log" 5 1 20 hex "${rtu[@]}"
compare "$work/rtu.log" 1 343 2 float "${rtu[@]}"
expect_mbpoll "rtu: address outside the span" "Illegal data address" \
	-a 5 -r 345 -c 1 -t 3:float -1 "${rtu[@]}"
expect_mbpoll "rtu: coils of a meter that has none" "Illegal data address" \
	-a 1 -r 1 -t 0 -1 "${rtu[@]}"
expect_mbpoll "rtu: unit 3 does not answer" "timed out" \
	-a 3 -r 1 -c 2 -t 3 -1 -o 0.3 "${rtu[@]}"
$py "$here/selftest.py" rtu "$tty" "$reqs" || failed=1
compare "$work/rtu.log" 1 1 76 float "${rtu[@]}"
$py "$here/selftest.py" log "$work/rtu.log" || failed=1
stop rtu
[ ! -e "$tty" ] && [ ! -L "$tty" ] && ok "symlink removed on exit" \
	|| bad "$tty still there after exit"

if [ "$failed" = 0 ]; then echo "selftest: all passed"; else
	echo "selftest: FAILED" >&2; fi
exit "$failed"
