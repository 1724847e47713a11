#!/usr/bin/env bash
# test_fault_diskfull.sh - a full disk on the server, then on a client.
#
# Server: its store lives on a small tmpfs (when this user may mount one;
# else under a file-size limit, `ulimit -f`, on the server process). An
# antenna client pushes until the server has no room left. Then:
#   - its sync is refused with the French "le serveur est plein" message,
#     its outbox kept whole; a crafted push gets wire error 7 ("full");
#   - the server stays up and serves: the hq client pulls what was stored,
#     another antenna's device connects and pulls, and its push is refused
#     the same way; nothing refused is stored (server counts unchanged);
#   - with room again (the tmpfs grown while the server runs, or the
#     server restarted without the limit) the same sync goes through and
#     every change is on the server exactly once; the store reopens after a
#     restart and a new hq device pulls everything;
#   - under a file-size limit equal to the store's size (a write starting
#     past the limit raises SIGXFSZ, which must not kill the server) pushes
#     are refused with error 7 and the server stays up.
# DISKFULL_MODE=fsize uses the file-size limit for the first part too.
# Client: an edit under a file-size limit (several limits, so that both a
# short write and a write past the limit happen) is refused with the French
# "disque ou magasin plein", exit 1, the store unchanged (pending count,
# situation as shown); without the limit the same edit succeeds.
source "$(dirname "$0")/fault_lib.sh"

# DISKFULL_MODE=fsize forces the file-size limit even where tmpfs works.
MODE=fsize
mkdir -p "$T/srv"
if [ "${DISKFULL_MODE:-}" != fsize ] && [ "$(id -u)" = 0 ] &&
	mount -t tmpfs -o size=8m relais-test "$T/srv" 2>/dev/null; then
	MODE=tmpfs
fi
diskfull_cleanup() {
	local rc=$?
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	if mountpoint -q "$T/srv"; then umount "$T/srv" 2>/dev/null || umount -l "$T/srv" || true; fi
	(exit $rc)
	cleanup
}
trap diskfull_cleanup EXIT
echo "server disk full by: $MODE"

REAL_SERVER="$SERVER"
# limit_server KB: later server_start runs relais-server under ulimit -f KB
# ("": no limit). Admin commands (rs) are not limited.
limit_server() {
	if [ -z "$1" ]; then
		SERVER="$REAL_SERVER"
		return
	fi
	printf '#!/bin/sh\nulimit -f %s\nexec "%s" "$@"\n' "$1" "$REAL_SERVER" >"$T/limited-server"
	chmod +x "$T/limited-server"
	SERVER="$T/limited-server"
}

expect_full() {
	local c="$1" before
	before="$(pending_of "$c")"
	run "$c" sync
	assert_eq "$RC" 1 "$c: sync refused by a full server exits 1"
	assert_match "$ERR" "^relais: synchronisation incomplète : le serveur est plein : réessayez plus tard ; les changements non envoyés restent en attente$" "$c: French message for a full server"
	assert_eq "$(pending_of "$c")" "$before" "$c: outbox kept whole"
}

bulk() {
	r "$1" tag "$2" $(seq -f "+referrer:$3-%g-abcdefghijklmnopqrstuvwxyz0123456789" 1 "$4") >/dev/null
}

server_init
server_start
mkclient a1 A1 antenna
mkclient a2 A2 antenna
mkclient hq SIEGE hq
ANT[a1]=A1; ANT[a2]=A2; ANT[hq]=""
S1="$(r a1 new --kind coordination --initials AA)"
S2="$(r a2 new --kind orientation --initials BB)"
r a1 log "$S1" --type note "avant le disque plein" >/dev/null
r a1 sync >/dev/null
r a2 sync >/dev/null
r hq sync >/dev/null
"$RAW" keygen "$T/raw.key" >/dev/null
"$RAW" enroll "$URL" "$T/raw.key" "$(enroll_token A1 antenna raw)" >/dev/null
DEV_A1="$(device_of a1)"
DEV_A2="$(device_of a2)"

# ---- the server runs out of room
used_kb="$(du -sk "$T/srv" | cut -f1)"
if [ "$MODE" = tmpfs ]; then
	mount -o remount,size=$((used_kb + 384))k "$T/srv"
else
	server_stop
	limit_server $(( $(stat -c %s "$T/srv/data.mdb") / 1024 + 384 ))
	server_start srv "$PORT"
fi
full=0
for k in $(seq 1 20); do
	bulk a1 "$S1" "fill$k" 1500
	run a1 sync
	if [ "$RC" -ne 0 ]; then
		full=1
		break
	fi
done
[ "$full" = 1 ] || fail "the server never ran out of room"
ok
assert_match "$ERR" "le serveur est plein" "a1: the first refusal says the server is full"
grep -q "disk or store full" "$T"/server-*.log || fail "the server log does not say the disk is full"
ok
STORED_A1="$(server_dev "$DEV_A1" changes)"
STORED_A2="$(server_dev "$DEV_A2" changes)"
P_A1="$(pending_of a1)"
[ "$P_A1" -gt 0 ] || fail "a1 has nothing pending after the refusal"
ok
expect_full a1
out="$("$RAW" session "$URL" "$T/raw.key" hello bulk:A1:2000:100 ping)"
assert_match "$out" "^bulk error full$" "a crafted push is refused with wire error 7 (full)"
assert_match "$out" "^ping ok$" "the session goes on after the refusal"

# The server keeps serving: pulls, other devices.
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died when its disk filled"
ok
run hq sync
assert_eq "$RC" 0 "hq pulls from a full server ($ERR)"
assert_match "$(sits_of hq)" "^$S1$" "hq holds a1's situation"
assert_match "$(r hq show "$S1" --json | jq -r '.journal[].text')" "avant le disque plein" "hq holds what was stored before"
run a2 sync
assert_eq "$RC" 0 "another antenna's device with nothing to push syncs ($ERR)"
r a2 set "$S2" age=44 >/dev/null
bulk a2 "$S2" a2fill 1500
expect_full a2
out="$("$RAW" session "$URL" "$T/raw.key" hello ping pull)"
assert_match "$out" "^ping ok$" "a session opens and answers on a full server"
assert_match "$out" "^pull ok " "a device pulls from a full server"
assert_eq "$(server_dev "$DEV_A1" changes)" "$STORED_A1" "nothing of a1's refused pushes stored"
assert_eq "$(server_dev "$DEV_A2" changes)" "$STORED_A2" "nothing of a2's refused push stored"

# ---- room again
if [ "$MODE" = tmpfs ]; then
	mount -o remount,size=64m "$T/srv"
	echo "tmpfs grown to 64 MiB while the server runs"
else
	server_stop
	limit_server ""
	server_start srv "$PORT"
fi
run a1 sync
assert_eq "$RC" 0 "a1 syncs once there is room ($ERR)"
run a2 sync
assert_eq "$RC" 0 "a2 syncs once there is room ($ERR)"
run hq sync
assert_eq "$RC" 0 "hq syncs once there is room ($ERR)"
assert_eq "$(r hq show "$S2" --json | jq -r .age)" 44 "a2's refused change went through later"
# The store reopens after all that; everything once, everywhere.
server_stop
limit_server ""
server_start srv "$PORT"
for c in a1 a2 hq; do r "$c" sync >/dev/null; done
check_exactly_once a1 a2 hq
check_converged a1 a2 hq

# ---- a file-size limit at the store's size: writes past it raise SIGXFSZ
server_stop
limit_server $(( $(stat -c %s "$T/srv/data.mdb") / 1024 ))
server_start srv "$PORT"
STORED_A1="$(server_dev "$DEV_A1" changes)"
bulk a1 "$S1" xfsz 1500
expect_full a1
out="$("$RAW" session "$URL" "$T/raw.key" hello bulk:A1:2000:100 ping)"
assert_match "$out" "^bulk error full$" "at the size limit a push is refused with error 7"
assert_match "$out" "^ping ok$" "and the session goes on"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died at its file-size limit (SIGXFSZ?)"
ok
assert_eq "$(server_dev "$DEV_A1" changes)" "$STORED_A1" "nothing stored past the limit"
server_stop
limit_server ""
server_start srv "$PORT"
r a1 sync >/dev/null
assert_eq "$(pending_of a1)" 0 "a1's outbox drains once the limit is gone"
assert_eq "$(server_dev "$DEV_A1" changes)" "$(made_of a1)" "a1: every change stored once"

# ---- a client whose disk is full
r c init --antenna A1 --role antenna >/dev/null
SC="$(r c new --kind coordination --initials CC)"
bulk c "$SC" warm 200
P0="$(pending_of c)"
SHOW0="$(r c show "$SC" --json)"
size_kb=$(( $(stat -c %s "$T/c/data.mdb") / 1024 ))
for extra in 0 4 12 64; do
	set +e
	( ulimit -f $((size_kb + extra)); exec "$RELAIS" --store "$T/c" tag "$SC" \
		$(seq -f "+referrer:full$extra-%g-abcdefghijklmnopqrstuvwxyz0123456789" 1 2000) ) >/dev/null 2>"$T/c.err"
	rc=$?
	set -e
	assert_eq "$rc" 1 "client edit under a $((size_kb + extra)) KiB limit exits 1 (not killed by SIGXFSZ)"
	assert_eq "$(cat "$T/c.err")" "relais: enregistrement impossible : disque ou magasin plein" "client: French message for a full disk"
	assert_eq "$(pending_of c)" "$P0" "client: nothing added to the outbox"
	assert_eq "$(r c show "$SC" --json)" "$SHOW0" "client: the situation is unchanged"
done
bulk c "$SC" room 2000
assert_eq "$(pending_of c)" $((P0 + 2000)) "client: with room, the same edit is stored"

done_ok
