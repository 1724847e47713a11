#!/usr/bin/env bash
# test_sync_security.sh - the sync security properties, each its own check,
# against a real `relais-server run` on loopback:
#
#   1. unenrolled devices: a store never enrolled, a device the server does
#      not know (enrolled at another HQ), and forged HELLOs from unknown keys
#      are refused; nothing of theirs is stored; and the other way round, a
#      client refuses a server that is not the one it pinned;
#   2. revocation: a revoked device is refused at its next sync, and a
#      session already open is cut at its next request;
#   3. a tampered byte (session counter, ciphertext, tag) in a sealed PUSH:
#      refused, session closed, nothing stored;
#   4. a replayed (or reordered) sealed frame: refused, session closed,
#      nothing applied twice;
#   5. enrollment tokens: one use only; wrong secret, unknown, malformed and
#      expired (made 25 h ago, with faketime) tokens refused; a wrong attempt
#      does not burn the token;
#   6. scope: a device of antenna A cannot write to antenna B's situation,
#      open a situation for B, forge another device's authorship, nor pull
#      B's situations; a device enrolled after a situation left its antenna
#      never receives that situation's content;
#   7. clocks: operations stamped beyond the skew bound (1 h) are refused,
#      within it accepted; a real client whose hybrid clock was dragged ahead
#      by an imported file gets its change restamped and accepted.
#
# rawclient (tests/tools/rawclient.c) crafts the frames the real client
# never sends.
source "$(dirname "$0")/sync_lib.sh"

RAW="$TOOLS/rawclient"
[ -x "$RAW" ] || fail "$RAW not built (make)"

# raw ARGS...: rawclient session on the main server; prints its lines.
raw() {
	local key="$1"
	shift
	"$RAW" session "$URL" "$T/$key" "$@" 2>&1 || fail "rawclient $* failed"
}

# raw_enroll KEYNAME ANTENNA ROLE: a rawclient device enrolled at $URL.
raw_enroll() {
	local out
	"$RAW" keygen "$T/$1" >/dev/null
	out="$("$RAW" enroll "$URL" "$T/$1" "$(enroll_token "$2" "$3" "raw-$1")")"
	assert_match "$out" "^enroll ok antenna=$2 role=$3$" "rawclient enroll $1"
}

raw_dev() {
	sed -n 's/^pk //p' "$T/$1"
}

# The situation a rawclient push step named ("new sit HEX").
sit_in() {
	printf '%s\n' "$1" | sed -n "s/^$2 sit //p" | head -n1
}

# expect_refused STORE REGEX relais-args...: exit 1, one French line.
expect_refused() {
	local s="$1" re="$2"
	shift 2
	run "$s" "$@"
	[ "$RC" -eq 1 ] || fail "relais --store $s $* exited $RC, expected 1 (stderr: $ERR)"
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "relais $*: expected one line on stderr, got: $ERR"
	assert_match "$ERR" "^relais: .*$re" "relais --store $s $*"
}

# hq_has SIT: whether the hq client holds SIT after a sync.
hq_sync() {
	r hq sync >/dev/null
}

assert_not_stored() {
	hq_sync
	if grep -qx -- "$1" <<<"$(sits_of hq)"; then
		fail "$2: situation $1 reached the server"
	fi
	ok
}

# ---- setup: a second HQ (srv2) enrolls a stranger, then the main server
# takes over srv2's port, so the stranger reaches a server that never
# enrolled it.
server_init
RS_STORE=srv2 rs init >/dev/null
server_start srv2
PORT2="$PORT"
RS_STORE=srv2 mkclient stranger A1 antenna
S_STRANGER="$(r stranger new --kind coordination --initials ST)"
server_stop
server_start srv "$PORT2"

mkclient hq SIEGE hq
mkclient a1 A1 antenna
mkclient m1 A1 mobile
mkclient a2 A2 antenna
SA="$(r a1 new --kind coordination --initials AA --problem logement)"
SB="$(r a2 new --kind orientation --initials BB --problem justice)"
r a1 log "$SA" --type vad "visite A1" >/dev/null
r a2 log "$SB" --type note "note A2, secret for A1" >/dev/null
r a1 sync >/dev/null
r a2 sync >/dev/null
hq_sync
assert_eq "$(sits_of hq | tr '\n' ' ')" "$(printf '%s\n' "$SA" "$SB" | sort | tr '\n' ' ')" "hq holds both antennas' situations"

# ---- 1. unenrolled devices
r lone init --antenna A1 --role antenna >/dev/null
S_LONE="$(r lone new --kind coordination)"
P_LONE="$(pending_of lone)"
expect_refused lone "pas rattaché à un serveur" sync
assert_eq "$(pending_of lone)" "$P_LONE" "never-enrolled store keeps its outbox"

P_STRANGER="$(pending_of stranger)"
expect_refused stranger "refuse cet appareil" sync
assert_eq "$(pending_of stranger)" "$P_STRANGER" "unknown device keeps its outbox"
assert_eq "$(server_dev "$(device_of stranger)" device)" "" "unknown device not in the registry"
assert_not_stored "$S_STRANGER" "push of an unknown device"
assert_not_stored "$S_LONE" "push of a never-enrolled store"

"$RAW" keygen "$T/ghost" >/dev/null
out="$("$RAW" session "$URL" "$T/ghost" --server-pk "$SERVER_PK" hello ping new:A1)"
assert_match "$out" "^hello error unknown_device plain$" "forged HELLO from unknown keys refused"
assert_match "$out" "^ping error session plain$" "no session for unknown keys"
assert_match "$out" "^new error session plain$" "no push for unknown keys"
assert_not_stored "$(sit_in "$out" new)" "push from unknown keys"
# A HELLO claiming an enrolled device's key, by someone without its secret
# key: the server answers WELCOME, but the forger cannot derive the keys,
# so its first sealed request fails.
sed "s/^pk .*/pk $(device_of a1)/" "$T/ghost" >"$T/ghost-a1"
echo "server $SERVER_PK" >>"$T/ghost-a1"
out="$("$RAW" session "$URL" "$T/ghost-a1" hello new:A1 ping)"
assert_no_match "$out" "^new ok" "HELLO with a stolen device id cannot push"
assert_no_match "$out" "^ping ok" "HELLO with a stolen device id cannot ping"
assert_not_stored "$(sit_in "$out" new)" "push under a stolen device id"

# A server that is not the one pinned at enrollment, even one that knows
# the device (anyone holding a token can register a public key), is
# refused by the client: its WELCOME cannot prove the pinned key.
mkclient victim A1 antenna
printf 'pk %s\nsk %064d\n' "$(device_of victim)" 1 >"$T/victim-pub"
S_VICTIM="$(r victim new --kind coordination --initials VI)"
server_stop
server_start srv2 "$PORT2"
out="$("$RAW" enroll "$URL" "$T/victim-pub" "$(RS_STORE=srv2 enroll_token A1 antenna)")"
assert_match "$out" "^enroll ok" "the impostor knows the victim's public key"
P_VICTIM="$(pending_of victim)"
expect_refused victim "clé du serveur ne correspond pas" sync
assert_eq "$(pending_of victim)" "$P_VICTIM" "nothing pushed to the impostor"
server_stop
server_start srv "$PORT2"
r victim sync >/dev/null
hq_sync
assert_match "$(sits_of hq)" "^$S_VICTIM$" "the real server gets it afterwards"

# ---- 2. revocation
mkclient rv A2 antenna
r rv new --kind coordination --initials RV >/dev/null
r rv sync >/dev/null
rs revoke "$(device_of rv)" >/dev/null
S_RV="$(r rv new --kind coordination --initials R2)"
P_RV="$(pending_of rv)"
expect_refused rv "révoqué" sync
assert_eq "$(pending_of rv)" "$P_RV" "revoked device keeps its outbox"
assert_eq "$(server_dev "$(device_of rv)" revoked)" true "devices --json shows the revocation"
assert_not_stored "$S_RV" "push of a revoked device"

raw_enroll rk A2 antenna
"$RAW" session "$URL" "$T/rk" hello ping "wait:$T/revoked" ping ping >"$T/rk.out" 2>&1 &
RK_PID=$!
bg_track "$RK_PID"
for _ in $(seq 1 500); do
	grep -q '^wait ready' "$T/rk.out" && break
	sleep 0.01
done
grep -q '^wait ready' "$T/rk.out" || fail "rawclient never opened its session: $(cat "$T/rk.out")"
rs revoke "$(raw_dev rk)" >/dev/null
touch "$T/revoked"
wait "$RK_PID" || fail "rawclient (open session) failed: $(cat "$T/rk.out")"
out="$(cat "$T/rk.out")"
assert_match "$out" "^ping ok$" "session works before the revocation"
assert_eq "$(grep -c '^ping' "$T/rk.out")" 3 "three pings attempted"
assert_eq "$(grep '^ping' "$T/rk.out" | sed -n 2p)" "ping error revoked" "open session: next request refused as revoked"
assert_eq "$(grep '^ping' "$T/rk.out" | sed -n 3p)" "ping error session plain" "open session cut after the revocation"
out="$(raw rk hello)"
assert_match "$out" "^hello error revoked plain$" "revoked device cannot open a session"

# ---- 3. a tampered byte in a sealed PUSH
raw_enroll ra A1 antenna
C0="$(server_dev "$(raw_dev ra)" changes)"
for where in tamper tamper:24 tamper:-1 tamper:1; do
	out="$(raw ra hello "$where" new:A1 ping)"
	assert_match "$out" "^hello ok$" "$where: session opened"
	assert_match "$out" "^new error session plain$" "$where: tampered PUSH refused"
	assert_match "$out" "^ping error session plain$" "$where: session closed after the tampered frame"
	assert_not_stored "$(sit_in "$out" new)" "$where: tampered PUSH"
done
assert_eq "$(server_dev "$(raw_dev ra)" changes)" "$C0" "tampered PUSHes stored no change"

# ---- 4. replayed and reordered frames
out="$(raw ra hello new:A1 replay ping)"
assert_match "$out" "^new ok applied=7 " "PUSH accepted once"
assert_match "$out" "^replay error session plain$" "replayed PUSH refused"
assert_match "$out" "^ping error session plain$" "session closed after the replay"
assert_eq "$(server_dev "$(raw_dev ra)" changes)" "$((C0 + 7))" "replayed PUSH applied once"
out="$(raw ra hello ping replay)"
assert_match "$out" "^replay error session plain$" "replayed PING refused"
out="$(raw ra hello skip ping ping)"
assert_eq "$(printf '%s\n' "$out" | grep '^ping' | tr '\n' '|')" "ping error session plain|ping error session plain|" "out-of-order frame refused, session closed"
out="$(raw ra hello skip new:A1)"
assert_match "$out" "^new error session plain$" "out-of-order PUSH refused"
assert_not_stored "$(sit_in "$out" new)" "out-of-order PUSH"
assert_eq "$(server_dev "$(raw_dev ra)" changes)" "$((C0 + 7))" "refused frames stored nothing"

# ---- 5. enrollment tokens
TOK="$(enroll_token A3 antenna t1)"
r t1 init --antenna A3 --role antenna >/dev/null
r t2 init --antenna A3 --role antenna >/dev/null
last="${TOK: -1}"
[ "$last" = 0 ] && wrong="${TOK%?}1" || wrong="${TOK%?}0"
expect_refused t1 "jeton refusé" enroll --server "$URL" --token "$wrong"
expect_refused t1 "jeton refusé" enroll --server "$URL" --token "$(printf '%064d' 7)"
expect_refused t1 "jeton mal formé" enroll --server "$URL" --token "abc"
r t1 enroll --server "$URL" --token "$TOK" >/dev/null
ok
expect_refused t2 "jeton refusé" enroll --server "$URL" --token "$TOK"
expect_refused t2 "pas rattaché" sync
"$RAW" keygen "$T/t3" >/dev/null
assert_eq "$("$RAW" enroll "$URL" "$T/t3" "$TOK")" "enroll error token plain" "used token refused to a crafted ENROLL"
assert_eq "$(rs devices --json | jq '[.[] | select(.antenna == "A3")] | length')" 1 "one device enrolled with one token"
r t1 sync >/dev/null
ok
# Tokens expire after 24 h: one made 25 h ago (the admin command run under
# libfaketime) is refused, one made 23 h ago still works.
if command -v faketime >/dev/null; then
	OLD="$(faketime -f '-25h' "$SERVER" --store "$T/srv" enroll --antenna A3 --role antenna | tail -n1)"
	RECENT="$(faketime -f '-23h' "$SERVER" --store "$T/srv" enroll --antenna A3 --role antenna | tail -n1)"
	r t4 init --antenna A3 --role antenna >/dev/null
	expect_refused t4 "jeton refusé" enroll --server "$URL" --token "$OLD"
	r t4 enroll --server "$URL" --token "$RECENT" >/dev/null
	ok
else
	echo "note: faketime missing, token expiry not checked"
fi

# ---- 6. scope: antenna A1 against antenna A2's situation
CA="$(server_dev "$(raw_dev ra)" changes)"
out="$(raw ra hello "reg:$SB:initials:XX")"
assert_match "$out" "^reg error scope$" "write to another antenna's situation refused"
out="$(raw ra hello new:A2)"
assert_match "$out" "^new error scope$" "opening a situation for another antenna refused"
assert_not_stored "$(sit_in "$out" new)" "situation opened for another antenna"
out="$(raw ra hello "author:$(device_of a1)" new:A1)"
assert_match "$out" "^new error scope$" "operations forged in another device's name refused"
assert_not_stored "$(sit_in "$out" new)" "forged author"
out="$(raw ra hello "author:$(device_of a2)" "reg:$SB:initials:YY")"
assert_match "$out" "^reg error scope$" "forged A2 author on A2's situation refused"
out="$(raw ra hello new:A1 "reg:$SB:initials:ZZ")"
assert_match "$out" "^new ok applied=7 " "own situation accepted"
assert_match "$out" "^reg error scope$" "then the foreign write refused"
assert_eq "$(server_dev "$(raw_dev ra)" changes)" "$((CA + 7))" "refused change-sets stored nothing"
hq_sync
assert_eq "$(r hq show "$SB" --json | jq -r .initials)" BB "B's situation untouched"
out="$(raw ra hello pull)"
assert_match "$out" "^pull ok " "A1 device pulls"
assert_match "$out" "sits=.*$SA" "A1 device pulls A1's situation"
assert_no_match "$out" "$SB" "A1 device never receives A2's situation"
for c in a1 m1; do
	r "$c" sync >/dev/null
	held="$(sits_of "$c")"
	assert_match "$held" "^$SA$" "$c holds A1's situation"
	assert_no_match "$held" "^$SB$" "$c never holds A2's situation"
	run "$c" show "$SB"
	assert_eq "$RC" 1 "$c cannot show A2's situation"
done
run a2 sync
assert_no_match "$(sits_of a2)" "^$SA$" "a2 never holds A1's situation"
# A situation moved from A2 to A3: a device of A2 enrolled after the move
# gets the order to drop it, never its content.
SM="$(r a2 new --kind coordination --initials SM)"
r a2 log "$SM" --type note "written while it was A2's" >/dev/null
r a2 sync >/dev/null
r a2 assign "$SM" A3 >/dev/null
r a2 sync >/dev/null
raw_enroll late A2 mobile
out="$(raw late hello pull)"
assert_match "$out" "dropped=.*$SM" "late A2 device told to drop the moved situation"
assert_no_match "$(printf '%s\n' "$out" | sed -n 's/.* sits=\([^ ]*\).*/\1/p')" "$SM" \
	"late A2 device never receives the moved situation's content"
out="$(raw ra hello pull)"
assert_no_match "$out" "$SM" "A1 device never hears of A2's moved situation"

# ---- 7. clocks
out="$(raw ra hello ahead:7200000 new:A1)"
assert_match "$out" "^new error clock$" "operations 2 h ahead refused"
assert_not_stored "$(sit_in "$out" new)" "operations 2 h ahead"
out="$(raw ra hello ahead:1800000 new:A1)"
assert_match "$out" "^new ok applied=7 " "operations 30 min ahead accepted (within the 1 h bound)"
# A change file stamped 2 h ahead would drag the importing device's hybrid
# clock past the server's bound, and a change the server refused for its
# clock may later be restamped by its author: no replica may hold it under
# its old stamp. import-changes therefore refuses anything more than the
# server's bound (1 h) ahead, and the store is unchanged.
mkclient clk A1 antenna
S_CLK="$(r clk new --kind coordination --initials CK)"
r clk sync >/dev/null
# (binary: hashed straight from the pipe, never through a shell variable)
changes_hash() { "$RELAIS" --store "$T/clk" export-changes - | sha256sum; }
before="$(changes_hash)"
"$RAW" changes-file "$T/future.changes" A1 7200000 >/dev/null
run clk import-changes "$T/future.changes"
assert_eq "$RC" 1 "a change file stamped 2 h ahead is refused"
assert_match "$ERR" "heure dans le futur" "the refusal says why"
assert_eq "$(changes_hash)" "$before" "store unchanged by the refused file"
r clk set "$S_CLK" age=41 >/dev/null
r clk sync >/dev/null
hq_sync
assert_eq "$(r hq show "$S_CLK" --json | jq -r .age)" 41 "the device's next change goes straight through"

done_ok
