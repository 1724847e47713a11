#!/usr/bin/env bash
# test_fault_valgrind.sh - the server and two clients under valgrind
# memcheck through one whole flow: relais-server run, enroll, a client
# writing and pushing, another enrolling and pulling, writing back, the
# first pulling, status (its reachability probe), the admin `devices`, and
# a clean server stop.
#
# Every process runs under `valgrind --error-exitcode=99 --leak-check=full
# --errors-for-leak-kinds=definite`: any invalid read or write, use of
# uninitialised memory, bad free or definite leak makes it exit 99 (its own
# exit codes are 0, 1 and 2), and the test prints valgrind's report. The
# flow's results are checked too (what the second client pulled).
# Skipped, with a message, when valgrind is not installed or the programs
# are built with sanitizers (make asan).
source "$(dirname "$0")/sync_lib.sh"

if ! command -v valgrind >/dev/null; then
	echo "skip: $TEST_NAME: valgrind not installed (apt-get install valgrind)"
	exit 0
fi
if [ -n "${RL_SANITIZED:-}" ] || grep -q 'libasan\|libubsan' <<<"$(ldd "$RELAIS" 2>/dev/null)"; then
	echo "skip: $TEST_NAME: the programs are built with sanitizers, valgrind cannot run them"
	exit 0
fi
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --num-callers=30)
NVG=0

# vg NAME STORE ARGS...: relais under valgrind; OUT, RC as run(); fails on a
# valgrind error.
vg() {
	local what="$1" s="$2"
	shift 2
	NVG=$((NVG + 1))
	set +e
	OUT="$("${VG[@]}" --log-file="$T/vg.$NVG.log" "$RELAIS" --store "$T/$s" "$@" 2>"$T/.err")"
	RC=$?
	set -e
	ERR="$(cat "$T/.err")"
	if [ "$RC" -eq 99 ]; then
		cat "$T/vg.$NVG.log" >&2
		fail "valgrind found errors in relais $* ($what)"
	fi
	[ "$RC" -eq 0 ] || fail "relais --store $s $* exited $RC under valgrind: $ERR"
	ok
}

# The server under valgrind: starting takes a few seconds. Valgrind 3.19
# refuses to map the server's default 64 GiB LMDB map (the open fails), so
# the server runs here with the stores' 4 GiB.
server_init
VG_MAP=(--map-size 4G)
started=0
for attempt in $(seq 1 10); do
	PORT="$(rl_free_port)"
	URL="tcp://127.0.0.1:$PORT"
	"${VG[@]}" --log-file="$T/vg.server.log" "$SERVER" --store "$T/srv" "${VG_MAP[@]}" run --listen "$URL" \
		>"$T/server-vg-$attempt.log" 2>&1 &
	SRV_PID=$!
	for _ in $(seq 1 600); do
		grep -q "serving on $URL" "$T/server-vg-$attempt.log" && { started=1; break; }
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ "$started" = 0 ] || break
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
done
[ "$started" = 1 ] || fail "relais-server did not start under valgrind"
bg_track "$SRV_PID"

vg init a init --antenna A1 --role antenna
vg enroll a enroll --server "$URL" --token "$(enroll_token A1 antenna a)"
vg new a new --kind coordination --initials VG --problem logement --referrer CMP
SIT="$OUT"
vg log a log "$SIT" --type vad "visite sous valgrind"
ENTRY="$OUT"
vg sync a sync
assert_match "$OUT" "synchronisé : " "a: sync under valgrind"

vg init b init --antenna A1 --role mobile
vg enroll b enroll --server "$URL" --token "$(enroll_token A1 mobile b)"
vg sync b sync
vg show b show "$SIT" --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.initials + " " + .journal[0].id')" "VG $ENTRY" "b pulled a's situation and entry"
assert_eq "$(printf '%s' "$OUT" | jq -r '(.problems | join(",")) + " " + (.referrers | join(","))')" "logement CMP" "b pulled the tags"
vg set b set "$SIT" commune=Aix age=52
vg sync b sync
vg sync a sync
vg show a show "$SIT" --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.commune + " " + (.age | tostring)')" "Aix 52" "a pulled b's change back"
vg status a status --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.pending, .server_reachable' | tr '\n' ' ')" "0 true " "a: nothing pending, server reachable"

set +e
"${VG[@]}" --log-file="$T/vg.admin.log" "$SERVER" --store "$T/srv" "${VG_MAP[@]}" devices --json >"$T/devices.json" 2>"$T/.serr"
rc=$?
set -e
[ "$rc" -ne 99 ] || { cat "$T/vg.admin.log" >&2; fail "valgrind found errors in relais-server devices"; }
assert_eq "$rc" 0 "relais-server devices under valgrind"
assert_eq "$(jq -r '[.[] | .name + ":" + (.changes > 0 | tostring)] | sort | join(" ")' "$T/devices.json")" \
	"a:true b:true" "devices lists both, each with its changes"

kill "$SRV_PID"
set +e
wait "$SRV_PID"
rc=$?
set -e
[ "$rc" -ne 99 ] || { cat "$T/vg.server.log" >&2; fail "valgrind found errors in relais-server run"; }
assert_eq "$rc" 0 "relais-server run stops cleanly under valgrind"
done_ok
