#!/usr/bin/env bash
# test_fault_malicious.sh - an enrolled device that turns hostile, and
# floods, against a real server; what test_sync_security.sh already covers
# (unenrolled and revoked devices, tampered and replayed frames, tokens,
# forged authors, foreign situations, clocks) is not repeated here.
#
#   1. oversized batches: more than 16,384 operations (error 9, toobig), a
#      value over 64 KiB (error 1), a frame over the 8 MiB limit (the
#      connection is dropped before it is read; the session then refuses the
#      next counter), an empty frame (error proto): nothing stored, the
#      session or the server goes on;
#   2. an operation id used again with another content: with the same
#      clock it changes nothing (applied=0, the first content stands); with
#      another clock it is a second, distinct change kept beside the first
#      (the state's key is clock + id), so the first is never replaced and
#      every replica holds both (convergence is checked at the end);
#   3. scope: one change-set mixing a new situation of the device's antenna
#      with a write to another antenna's situation is refused whole (the
#      legitimate half is not stored either); taking a foreign situation by
#      writing its antenna field is refused; a mobile of A1 cannot open a
#      situation for A3; a situation the server does not hold is taken
#      only from its opening (a change-set naming its antenna);
#   4. floods, while a well-behaved antenna client writes and syncs: 300
#      handshakes in a row from one device (its sessions are bounded: the
#      first one is evicted, the last one works), four such devices and
#      unknown keys in parallel, garbage frames, 300 idle connections and
#      300 connections each declaring an 8 MiB message; every sync of the
#      well-behaved client succeeds, the server stays up, its memory grows
#      with the bytes actually sent only and comes back once they close
#      (memory not checked in a sanitized build);
#   5. nothing of all that is stored: server counts, hq's pull, the global
#      log (check_exactly_once) and convergence.
source "$(dirname "$0")/fault_lib.sh"

server_init
server_start
mkclient hq SIEGE hq
mkclient a1 A1 antenna
mkclient a2 A2 antenna
ANT[hq]=""; ANT[a1]=A1; ANT[a2]=A2
SB="$(r a2 new --kind orientation --initials BB --problem justice)"
r a2 sync >/dev/null
SA="$(r a1 new --kind coordination --initials AA)"
r a1 sync >/dev/null

# raw_enroll KEYNAME ANTENNA ROLE
raw_enroll() {
	"$RAW" keygen "$T/$1" >/dev/null
	assert_match "$("$RAW" enroll "$URL" "$T/$1" "$(enroll_token "$2" "$3" "$1")")" "^enroll ok" "$1 enrolled"
}
raw() {
	local key="$1"
	shift
	"$RAW" session "$URL" "$T/$key" "$@" 2>&1 || fail "rawclient $* failed"
}
raw_dev() {
	sed -n 's/^pk //p' "$T/$1"
}
sit_in() {
	printf '%s\n' "$1" | sed -n "s/^$2 sit //p" | head -n1
}
not_on_hq() {
	r hq sync >/dev/null
	if grep -qx -- "$1" <<<"$(sits_of hq)"; then
		fail "$2: situation $1 reached the server"
	fi
	ok
}
rss_kb() {
	awk '/^VmRSS/ {print $2}' "/proc/$SRV_PID/status"
}

raw_enroll evil A1 antenna
raw_enroll evilm A1 mobile
DEV_EVIL="$(raw_dev evil)"

# ---- 1. oversized batches
out="$(raw evil hello bulk:A1:16385:10 ping)"
assert_match "$out" "^bulk error toobig$" "16,391 operations in one push: error 9 (toobig)"
assert_match "$out" "^ping ok$" "the session goes on after the refusal"
not_on_hq "$(sit_in "$out" bulk)" "push over 16,384 operations"
out="$(raw evil garbage:0 hello ping)"
assert_match "$out" "^garbage error proto plain$" "an empty frame: error proto (malformed), not busy"
assert_match "$out" "^ping ok$" "a session opens after the empty frame"
out="$(raw evil hello bulk:A1:1:70000 ping)"
assert_match "$out" "^bulk error proto$" "a 70,000-byte journal entry: refused"
assert_match "$out" "^ping ok$" "the session goes on"
not_on_hq "$(sit_in "$out" bulk)" "value over 64 KiB"
start=$(date +%s%N)
out="$(raw evil hello bulk:A1:140:61000 ping)"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_match "$out" "^bulk neterror " "a frame over 8 MiB: the server drops the connection unread"
assert_match "$out" "^ping error session plain$" "the next request, one counter ahead, is refused: the session is dead"
[ "$elapsed_ms" -lt 5000 ] || fail "the dropped oversized frame took ${elapsed_ms} ms to fail"
ok
not_on_hq "$(sit_in "$out" bulk)" "frame over 8 MiB"
assert_eq "$(server_dev "$DEV_EVIL" changes)" 0 "no change of the hostile device stored"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died"
ok

# ---- 2. an operation id used again
out="$(raw evil hello new:A1)"
assert_match "$out" "^new ok applied=7 " "the hostile device may still write its own situation"
SE="$(sit_in "$out" new)"
CTR=$(( $(date +%s) * 1000 ))
AT=$(( $(date +%s) * 1000 - 5000 ))
out="$(raw evil hello "clock:$AT" "ctr:$CTR" "reg:$SE:commune:Aix" "ctr:$CTR" "reg:$SE:commune:Marseille")"
assert_eq "$(printf '%s\n' "$out" | grep '^reg ok' | sed 's/ upto.*//' | tr '\n' '|')" \
	"reg ok applied=1|reg ok applied=0|" "same clock and id, another value: changes nothing"
r hq sync >/dev/null
assert_eq "$(r hq show "$SE" --json | jq -r .commune)" Aix "the first content under that id stands"
out="$(raw evil hello "ctr:$CTR" "reg:$SE:commune:Salon")"
assert_match "$out" "^reg ok applied=1 " "same id, another clock: a distinct change"
r hq sync >/dev/null
assert_eq "$(r hq conflicts --json | jq -r --arg s "$SE" '.[] | select(.situation == $s and .field == "commune") | [.values[].value] | sort | join(",")')" \
	"Aix,Salon" "the first content is kept beside it, not replaced"
assert_eq "$(server_dev "$DEV_EVIL" changes)" 9 "the hostile device's accepted changes: 7 + 1 + 1"

# ---- 3. scope
out="$(raw evil hello "mixed:A1:$SB")"
assert_match "$out" "^mixed error scope$" "a change-set with one foreign write is refused"
not_on_hq "$(sit_in "$out" mixed)" "the legitimate half of a refused change-set"
out="$(raw evil hello "reg:$SB:antenna:A1")"
assert_match "$out" "^reg error scope$" "taking a foreign situation by writing its antenna is refused"
out="$(raw evilm hello new:A3)"
assert_match "$out" "^new error scope$" "a mobile of A1 cannot open a situation for A3"
not_on_hq "$(sit_in "$out" new)" "situation opened for A3 by an A1 mobile"
r hq sync >/dev/null
assert_eq "$(r hq show "$SB" --json | jq -r '.antenna + " " + .initials')" "A2 BB" "A2's situation untouched"
assert_eq "$(server_dev "$DEV_EVIL" changes)" 9 "nothing of the refused change-sets stored"
# A situation the server does not hold is taken only from its opening (a
# change-set naming its antenna): no state ever lacks an owner.
raw_enroll opener A1 antenna
FRESH="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
assert_match "$(raw evilm hello "reg:$FRESH:initials:ZZ")" "^reg error scope$" \
	"a write to a situation nobody opened is refused"
assert_match "$(raw opener hello "reg:$FRESH:antenna:A2")" "^reg error scope$" \
	"opening a situation for another antenna is refused"
out="$(raw opener hello "reg:$FRESH:antenna:A1" "reg:$FRESH:initials:YY")"
assert_eq "$(grep -c '^reg ok applied=1 ' <<<"$out")" 2 "the opening is taken, then writes to it"
r hq sync >/dev/null
assert_eq "$(r hq show "$FRESH" --json | jq -r '.antenna + " " + .initials')" "A1 YY" \
	"hq holds the opened situation, and nothing of the refused write"
# An antenna value that is not an antenna code as a whole: refused, so that
# ownership, scope and erasure never read it three different ways.
out="$(raw evil hello "reg:$SE:antenna:A1!" "reg:$SE:antenna:$(printf 'X%.0s' $(seq 1 33))" ping)"
assert_eq "$(printf '%s\n' "$out" | grep -c '^reg error proto$')" 2 "antenna values that are not codes: refused"
assert_match "$out" "^ping ok$" "the session goes on"
assert_eq "$(server_dev "$DEV_EVIL" changes)" 9 "nothing of them stored"

# ---- 4. floods, while a1 writes and syncs
out="$(raw evil hello keep $(printf 'hello %.0s' $(seq 1 300)) ping resume ping)"
assert_eq "$(printf '%s\n' "$out" | grep -c '^hello ok$')" 301 "301 handshakes in a row are answered"
assert_eq "$(printf '%s\n' "$out" | grep '^ping' | tr '\n' '|')" "ping ok|ping error session plain|" \
	"the last session works, the first one was evicted (sessions per device are bounded)"

rss0="$(rss_kb)"
for k in 1 2 3 4; do
	raw_enroll "flood$k" A1 antenna
done
"$RAW" keygen "$T/stranger" >/dev/null
FLOOD=()
for k in 1 2 3 4; do
	"$RAW" session "$URL" "$T/flood$k" $(printf 'hello %.0s' $(seq 1 250)) ping >"$T/flood$k.out" 2>&1 &
	FLOOD+=($!)
done
"$RAW" session "$URL" "$T/stranger" --server-pk "$SERVER_PK" $(printf 'hello %.0s' $(seq 1 200)) >"$T/stranger.out" 2>&1 &
FLOOD+=($!)
"$RAW" session "$URL" "$T/evil" $(printf 'garbage:%d ' $(seq 1 50)) hello ping >"$T/garbage.out" 2>&1 &
FLOOD+=($!)
for p in "${FLOOD[@]}"; do bg_track "$p"; done
slowest=0
for k in 1 2 3 4 5; do
	r a1 log "$SA" --type note "pendant l'attaque $k" >/dev/null
	start=$(date +%s%N)
	run a1 sync
	d=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$d" -le "$slowest" ] || slowest="$d"
	assert_eq "$RC" 0 "a1 syncs during the handshake flood ($ERR)"
done
for p in "${FLOOD[@]}"; do wait "$p" || fail "a flooding rawclient failed"; done
for k in 1 2 3 4; do
	assert_eq "$(grep -c '^hello ok$' "$T/flood$k.out")" 250 "flood$k: its 250 handshakes answered"
	assert_match "$(cat "$T/flood$k.out")" "^ping ok$" "flood$k: its last session works"
done
assert_eq "$(grep -c '^hello error unknown_device plain$' "$T/stranger.out")" 200 "200 handshakes from unknown keys refused"
assert_eq "$(grep -c '^garbage error ' "$T/garbage.out")" 50 "50 garbage frames answered with an error"
assert_match "$(cat "$T/garbage.out")" "^ping ok$" "a session opens after the garbage"
echo "slowest a1 sync during the handshake flood: $slowest ms"

# Connection floods: 300 idle connections, then 300 that each declare an
# 8 MiB message and send 64 KiB of it.
IDLE=()
for k in $(seq 1 300); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	IDLE+=("$fd")
done
[ "${#IDLE[@]}" -eq 300 ] || fail "only ${#IDLE[@]} idle connections opened"
ok
r a1 set "$SA" age=33 >/dev/null
run a1 sync
assert_eq "$RC" 0 "a1 syncs with 300 idle connections open ($ERR)"
for fd in "${IDLE[@]}"; do exec {fd}>&-; done
BIG=()
for k in $(seq 1 300); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf '\0SP\0\0\x30\0\0\0\0\0\0\0\x80\0\0' >&"$fd"
	head -c 65536 /dev/zero >&"$fd"
	BIG+=("$fd")
done
sleep 0.5
rss_big="$(rss_kb)"
r a1 set "$SA" age=34 >/dev/null
run a1 sync
assert_eq "$RC" 0 "a1 syncs with 300 connections each declaring an 8 MiB message ($ERR)"
grow=$(( (rss_big - rss0) / 1024 ))
echo "server RSS: ${rss0} KiB before the floods, ${rss_big} KiB with 300 x 8 MiB declared (64 KiB sent each)"
sanitized || [ "$grow" -lt 100 ] || fail "the server grew by $grow MiB for 19 MiB sent (2.4 GB declared)"
ok
for fd in "${BIG[@]}"; do exec {fd}>&-; done
sleep 0.5
rss_end="$(rss_kb)"
echo "server RSS once they closed: ${rss_end} KiB"
sanitized || [ $(( (rss_end - rss0) / 1024 )) -lt 20 ] || fail "the server kept $(( (rss_end - rss0) / 1024 )) MiB after the connections closed"
ok
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died under the floods"
ok

# ---- 5. nothing stored but what was accepted
r a1 sync >/dev/null
r a2 sync >/dev/null
r hq sync >/dev/null
r a1 sync >/dev/null
assert_eq "$(server_dev "$DEV_EVIL" changes)" 9 "the hostile device: only its 9 accepted changes"
for k in 1 2 3 4; do
	assert_eq "$(server_dev "$(raw_dev "flood$k")" changes)" 0 "flood$k stored nothing"
done
assert_eq "$(r hq show "$SA" --json | jq -r .age)" 34 "a1's writes during the floods reached hq"
check_exactly_once hq a1 a2
check_converged hq a1 a2
done_ok
