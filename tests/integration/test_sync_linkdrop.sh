#!/usr/bin/env bash
# test_sync_linkdrop.sh - a link that drops mid-batch: the sync resumes and
# the server holds every change exactly once.
#
# An antenna client with a large outbox (5,000 changes, then 8,000 more
# before each attempt; pushed 4,096 per batch, set in its config) is enrolled
# through tests/tools/proxy, which cuts its connection on purpose:
# mid-frame on the way up (once, and on every connection), while an
# acknowledgement comes down (the server committed, the client never heard:
# the next push repeats the batch), with a reset, after a delay, during the
# handshake. After each attempt the outbox never grows and the server never
# counts more changes than were made. Then the proxy goes, the server is
# restarted on its port (durability across a restart too), the client syncs
# directly, and:
#   - its outbox is empty (`relais status --json` pending == 0);
#   - the server's `devices --json` "changes" for it equals the number of
#     changes it made (each applied exactly once);
#   - a new hq device pulls every situation, every tag and every journal
#     entry, and holds the same state hashes as the client.
source "$(dirname "$0")/fault_lib.sh" # proxy_start, proxy_stop

NSIT=0
NTAGS=0
NLOG=0
# add_work N_SITS TAGS_EACH: new situations, each with a journal entry and
# TAGS_EACH referrer tags (one change each).
add_work() {
	local k id
	for k in $(seq 1 "$1"); do
		NSIT=$((NSIT + 1))
		id="$(r c new --kind coordination --initials "L$NSIT" --problem logement)"
		r c log "$id" --type note "entrée $NSIT" >/dev/null
		NLOG=$((NLOG + 1))
		r c tag "$id" $(seq -f "+referrer:r$NSIT-%g" 1 "$2") >/dev/null
		NTAGS=$((NTAGS + $2))
	done
}

# Batches of 4,096 (the default is 16,384): each attempt then pushes two,
# and the cuts below land between them.
printf '[sync]\npush_ops = 4096\n' >"$T/relais.conf"
export RELAIS_CONFIG="$T/relais.conf"

server_init
server_start
proxy_start
SERVER_URL="$URL"
URL="tcp://127.0.0.1:$PP"
mkclient c A1 antenna
URL="$SERVER_URL"
DEV_C="$(device_of c)"
proxy_stop

add_work 3 1700
MADE="$(pending_of c)"
[ "$MADE" -ge 5000 ] || fail "outbox too small: $MADE"
ok

# Each attempt: 8,000 more changes, then a sync through a cutting proxy.
# A change is about 80 bytes on the wire, a push batch (4,096 changes)
# about 330 KB, an attempt's upload about 650 KB in two batches. Down, the
# handshake's answer ends near byte 139, the first PUSH_OK near 200, the
# second near 260.
CUTS=(
	"--up-bytes 150000 --cut-conns 1"
	"--up-bytes 450000"
	"--down-bytes 150 --cut-conns 1"
	"--down-bytes 240 --cut-conns 1 --rst"
	"--up-bytes 1 --cut-conns 2"
	"--after-ms 40 --cut-conns 2 --rst"
	"--up-bytes 500000 --cut-conns 1 --rst"
)
FAILED=0
for spec in "${CUTS[@]}"; do
	before="$(pending_of c)"
	add_work 4 2000
	now="$(pending_of c)"
	MADE=$((MADE + now - before))
	proxy_start $spec
	run c sync
	proxy_stop
	after="$(pending_of c)"
	echo "[$spec] sync exit $RC, outbox $now -> $after; $(grep -c 'cut:' "$PROXY_ERR") cut(s)${ERR:+: $ERR}"
	grep -q "cut:" "$PROXY_ERR" || fail "[$spec] the proxy cut nothing: $(cat "$PROXY_ERR")"
	ok
	[ "$after" -le "$now" ] || fail "[$spec] outbox grew from $now to $after"
	ok
	if [ "$RC" -ne 0 ]; then
		FAILED=$((FAILED + 1))
		assert_eq "$RC" 1 "[$spec] a cut sync exits 1"
		assert_match "$ERR" "^relais: synchronisation incomplète : .*restent en attente$" "[$spec] French message"
		assert_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "[$spec] one line on stderr"
	fi
	stored="$(server_dev "$DEV_C" changes)"
	# A failed sync may still have pushed everything (a timed cut that
	# lands in the pull): then the server holds every change.
	if [ "$RC" -ne 0 ] && [ "$after" -eq 0 ]; then
		assert_eq "$stored" "$MADE" "[$spec] failed in the pull, every change on the server"
	fi
	[ "$stored" -le "$MADE" ] || fail "[$spec] server counts $stored changes, only $MADE made"
	ok
	[ "$stored" -ge $((MADE - after)) ] || fail "[$spec] server counts $stored changes, $((MADE - after)) were acknowledged"
	ok
done
# The down cuts hit an acknowledgement after a whole batch had gone up: the
# server had committed changes the client never heard of (the case that
# makes exactly-once depend on idempotent ingest).
up_before_ack_cut="$(cat "$T"/proxy.*.err | sed -n 's/.*down-bytes reached (\([0-9]*\) bytes up.*/\1/p' | sort -n | tail -n1)"
[ "${up_before_ack_cut:-0}" -ge 100000 ] || fail "no acknowledgement was cut after a batch went up"
ok
echo "$FAILED of ${#CUTS[@]} cut syncs failed (and were resumed)"

# Nobody listens at the client's server address now: the sync fails, says
# why, keeps the outbox.
server_stop
before="$(pending_of c)"
add_work 1 100
expect_pending="$(pending_of c)"
MADE=$((MADE + expect_pending - before))
run c sync
assert_eq "$RC" 1 "sync with the server down exits 1"
assert_match "$ERR" "^relais: synchronisation incomplète : serveur injoignable" "server down: French message"
assert_eq "$(pending_of c)" "$expect_pending" "server down: outbox intact"
assert_eq "$(r c status --json | jq -r .server_reachable)" false "status says the server is unreachable"

# The proxy is gone; the server restarts on the proxy's port and the client
# syncs directly.
server_start srv "$PP"
r c sync >/dev/null
assert_eq "$(pending_of c)" 0 "outbox empty after the direct sync"
assert_eq "$(server_dev "$DEV_C" changes)" "$MADE" "server holds each of the $MADE changes exactly once"
r c sync >/dev/null
assert_eq "$(server_dev "$DEV_C" changes)" "$MADE" "a further sync adds nothing"

mkclient hq SIEGE hq
r hq sync >/dev/null
assert_eq "$(sits_of hq | wc -l)" "$NSIT" "hq pulls every situation"
assert_eq "$(sits_of hq | tr '\n' ' ')" "$(sits_of c | tr '\n' ' ')" "hq and the client hold the same situations"
total_refs=0
total_log=0
for s in $(sits_of c); do
	a="$(r c show "$s" --json | jq -S .)"
	b="$(r hq show "$s" --json | jq -S .)"
	[ "$a" = "$b" ] || fail "$s differs between the client and hq"
	ok
	total_refs=$((total_refs + $(printf '%s' "$b" | jq '.referrers | length')))
	total_log=$((total_log + $(printf '%s' "$b" | jq '.journal | length')))
done
assert_eq "$total_refs" "$NTAGS" "every tag reached hq once"
assert_eq "$total_log" "$NLOG" "every journal entry reached hq once"

done_ok
