#!/usr/bin/env bash
# test_fault_soak.sh - the whole network writing and syncing through a
# faulty link for a bounded time, then converging once the link is clean.
#
# One HQ server, seven antenna clients (a1..a7), the mobile of A1 (m1) and
# an hq-role client, every one syncing only through tests/tools/proxy in its
# random-fault mode (seeded): connections dropped at random points (so
# mid-handshake, mid-batch and mid-acknowledgement), stalled links, lost
# bytes, flipped bits, duplicated and reordered segments, delays. The
# clients use a configuration file pointing at the proxy, with a 1 s
# request timeout and small push batches (many batches, many cut between
# them). For SOAK_SECONDS (40 by default; `make soak` runs 600), and longer
# (up to three times) until every kind of fault below has happened:
#   - a1..a4 and m1 run `relais sync --watch`, while their coordinator
#     writes (new situations, fields, tags, journal entries, alerts);
#   - a5..a7 and hq alternate writes with one-shot `relais sync`;
# every write must succeed (offline-first), every sync must end with exit 0
# or 1 (a refusal, never a crash), the watchers must still be running at
# the end. Then the proxy goes, everyone syncs straight to the server (twice
# around), and:
#   - the proxy injected every kind of fault at least once, and dropped
#     connections mid-handshake, mid-batch (inside a push) and mid-ack
#     (inside the answer to a push) at least once each;
#   - some syncs through it failed and some succeeded;
#   - every change is on the server exactly once, nothing pending
#     (check_exactly_once in fault_lib.sh);
#   - every replica converged per scope (check_converged);
#   - every journal entry id `relais log` printed is on hq, and no other.
#
# RELAIS_TEST_SEED=N replays the proxy's fault sequence and the workload's
# choices (timing still varies).
source "$(dirname "$0")/fault_lib.sh"

SOAK_SECONDS="${SOAK_SECONDS:-40}"
SEED="${RELAIS_TEST_SEED:-$(( $(date +%s) % 100000 ))}"
FAIL_NOTE="replay with RELAIS_TEST_SEED=$SEED"
RANDOM=$SEED

CLIENTS=(a1 a2 a3 a4 a5 a6 a7 m1 hq)
WATCHERS=(a1 a2 a3 a4 m1)
ONESHOT=(a5 a6 a7 hq)

server_init
server_start
mknetwork

# Per segment (at most 600 bytes): about 1 in 22 gets a fault.
proxy_start --seed "$SEED" --segment 600 --quiet --stats-file "$T/proxy.stats" \
	--drop 0.006 --stall 0.003 --trunc 0.003 --flip 0.004 --dup 0.003 \
	--reorder 0.006 --delay 0.02 --delay-ms 150 --rst-ratio 0.5 --drop-ack 0.05
cat >"$T/chaos.conf" <<EOF
[sync]
server = tcp://127.0.0.1:$PP
timeout = 1s
push_ops = 64
interval = 200ms
backoff_min = 100ms
backoff_max = 1s
EOF

# ---- the workload, one background worker per client

# pick CHOICES...: PICK receives one (no subshell: RANDOM stays seeded).
pick() {
	local a=("$@")
	PICK="${a[RANDOM % ${#a[@]}]}"
}

# wr CLIENT ARGS...: a command that must succeed; OUT receives its stdout.
# (Not sync_lib's run: the workers run at once, each needs its own stderr.)
wr() {
	local c="$1"
	shift
	set +e
	OUT="$("$RELAIS" --store "$T/$c" "$@" 2>"$T/.err.$c")"
	RC=$?
	set -e
	if [ "$RC" -ne 0 ]; then
		echo "relais --store $c $* exited $RC: $(cat "$T/.err.$c")" >>"$T/fail.$c"
		exit 1
	fi
}

random_write() {
	local c="$1" a="${ANT[$1]}" sit kind
	if [ ! -s "$T/sits.$c" ] || ((RANDOM % 6 == 0)); then
		[ -n "$a" ] || { pick A1 A2 A3 A4 A5 A6 A7; a="$PICK"; }
		pick coordination orientation; kind="$PICK"
		pick logement justice precarite addiction acces_soins_psy
		wr "$c" new --antenna "$a" --kind "$kind" --initials "S$((RANDOM % 100))" --problem "$PICK"
		echo "$OUT" >>"$T/sits.$c"
		return
	fi
	# A situation this client holds (its own, or pulled from its scope).
	wr "$c" list --json
	mapfile -t held < <(printf '%s' "$OUT" | jq -r '.[].id')
	[ "${#held[@]}" -gt 0 ] || return 0
	sit="${held[RANDOM % ${#held[@]}]}"
	case $((RANDOM % 6)) in
	0) pick "commune=Aix" "commune=Salon" "age=$((20 + RANDOM % 60))" "consent=oui" "living=foyer $RANDOM"
	   wr "$c" set "$sit" "$PICK" ;;
	1) wr "$c" tag "$sit" "+referrer:r$RANDOM" "+pro:p$((RANDOM % 50))" ;;
	2 | 3) pick vad appel note reunion
	   wr "$c" log "$sit" --type "$PICK" "soak $c $RANDOM"
	   echo "$OUT" >>"$T/journal.$c" ;;
	4) wr "$c" alert "$sit" --due "2031-0$((1 + RANDOM % 9))-1$((RANDOM % 10))" "rappel $c" ;;
	5) wr "$c" tag "$sit" $(seq -f "+referrer:bulk$RANDOM-%g" 1 $((20 + RANDOM % 150))) ;;
	esac
}

# The soak lasts SOAK_SECONDS, and longer (three times at most) until the
# proxy has injected every kind of fault: a slow machine (make asan) moves
# fewer bytes. The main loop then creates $T/stop.
FAULT_KINDS=(drop stall trunc flip dup reorder delay drop_handshake drop_batch drop_ack)
START=$(date +%s)

worker() {
	local c="$1" oneshot="$2"
	RANDOM=$((SEED + ${#c} * 7919 + $(printf '%d' "'${c: -1}")))
	while [ ! -e "$T/stop" ]; do
		random_write "$c"
		if [ "$oneshot" = 1 ] && ((RANDOM % 2 == 0)); then
			set +e
			"$RELAIS" --store "$T/$c" --config "$T/chaos.conf" sync >/dev/null 2>>"$T/syncerr.$c"
			rc=$?
			set -e
			echo "$rc" >>"$T/syncrc.$c"
			if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
				echo "sync through the proxy exited $rc" >>"$T/fail.$c"
				exit 1
			fi
		fi
		sleep "0.$((RANDOM % 3))"
	done
}

declare -A WATCH_PID
for c in "${WATCHERS[@]}"; do
	"$RELAIS" --store "$T/$c" --config "$T/chaos.conf" sync --watch >/dev/null 2>"$T/watch.$c.log" &
	WATCH_PID[$c]=$!
	bg_track "${WATCH_PID[$c]}"
done
WORKER_PIDS=()
for c in "${CLIENTS[@]}"; do
	oneshot=0
	for o in "${ONESHOT[@]}"; do [ "$o" != "$c" ] || oneshot=1; done
	worker "$c" "$oneshot" &
	WORKER_PIDS+=($!)
	bg_track "$!"
done
all_faults_seen() {
	local f n
	[ -s "$T/proxy.stats" ] || return 1
	for f in "${FAULT_KINDS[@]}"; do
		n="$(tr ' ' '\n' <"$T/proxy.stats" | sed -n "s/^$f=//p")"
		[ "${n:-0}" -gt 0 ] || return 1
	done
}
while :; do
	sleep 1
	elapsed=$(( $(date +%s) - START ))
	[ "$elapsed" -lt "$SOAK_SECONDS" ] && continue
	all_faults_seen && break
	[ "$elapsed" -lt $((3 * SOAK_SECONDS)) ] || break
done
touch "$T/stop"
echo "soak: $elapsed s of writes and syncs through the proxy"
for p in "${WORKER_PIDS[@]}"; do
	wait "$p" || true
done
for c in "${CLIENTS[@]}"; do
	[ ! -s "$T/fail.$c" ] || fail "$c: $(head -n3 "$T/fail.$c")"
done
ok
for c in "${WATCHERS[@]}"; do
	kill -0 "${WATCH_PID[$c]}" 2>/dev/null || fail "$c: sync --watch died: $(tail -n5 "$T/watch.$c.log")"
	ok
	kill "${WATCH_PID[$c]}"
	set +e
	wait "${WATCH_PID[$c]}"
	rc=$?
	set -e
	[ "$rc" -eq 0 ] || fail "$c: sync --watch exited $rc on SIGTERM: $(tail -n 40 "$T/watch.$c.log")"
	ok
done
proxy_stop
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died during the soak"
ok

# ---- what the link did
echo "proxy: $(grep '^proxy: stats' "$PROXY_ERR")"
for f in "${FAULT_KINDS[@]}"; do
	n="$(proxy_stat "$f")"
	[ "${n:-0}" -gt 0 ] || fail "the proxy injected no '$f' fault in $elapsed s"
	ok
done
good=0; bad=0
for c in "${ONESHOT[@]}"; do
	[ -f "$T/syncrc.$c" ] || continue
	good=$((good + $(grep -c '^0$' "$T/syncrc.$c" || true)))
	bad=$((bad + $(grep -c '^1$' "$T/syncrc.$c" || true)))
done
watch_ok="$(cat "$T"/watch.*.log | grep -c 'synced' || true)"
watch_err="$(cat "$T"/watch.*.log | grep -c -i 'warn\|error' || true)"
echo "one-shot syncs through the proxy: $good succeeded, $bad failed; watchers: $watch_ok successes logged, $watch_err failures"
[ "$good" -gt 0 ] || fail "no one-shot sync got through the proxy"
ok
[ "$bad" -gt 0 ] || fail "no one-shot sync failed: the faults did not bite"
ok

# ---- the link is clean: everyone syncs straight to the server
for pass in 1 2; do
	for c in "${CLIENTS[@]}"; do
		run "$c" sync
		[ "$RC" -eq 0 ] || fail "pass $pass: direct sync of $c exited $RC: $ERR"
	done
done
ok

check_exactly_once "${CLIENTS[@]}"
check_converged "${CLIENTS[@]}"

# Every journal entry id printed by `relais log` is on hq, and no other.
cat "$T"/journal.* 2>/dev/null | sort >"$T/journal.want" || true
jq -r '.[].journal[].id' "$T/export.hq.json" | sort >"$T/journal.got"
if ! cmp -s "$T/journal.want" "$T/journal.got"; then
	diff "$T/journal.want" "$T/journal.got" | head -n 20 >&2 || true
	fail "journal entries on hq differ from those written (above: written vs hq)"
fi
ok
NSITS="$(jq 'length' "$T/export.hq.json")"
NJ="$(wc -l <"$T/journal.want")"
[ "$NSITS" -ge 10 ] || fail "only $NSITS situations: the workload is too small"
ok
echo "seed $SEED, $elapsed s: $NSITS situations, $NJ journal entries, $EXACTLY_ONCE_TOTAL changes"
done_ok
