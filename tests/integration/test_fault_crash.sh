#!/usr/bin/env bash
# test_fault_crash.sh - the server and the clients killed with SIGKILL at
# random points of their syncs, CRASH_KILLS times (200 by default; `make
# soak` runs 2000).
#
# Four clients (two antennas, the mobile of the first, an hq-role client)
# and a server, driven by tests/tools/crashsync: each round a client writes
# (a relais command run to its end), a sync starts, and after a random
# delay in microseconds the client, the server or both are killed; now and
# then a sync meets a server still down; every sixth round a sync runs
# unharmed and must succeed. After every round crashsync checks:
#   - every store reopens without repair (the client's, by the library; the
#     server's, by a restarted `relais-server run` that must listen);
#   - each client still holds every change it made (outbox + sent), none
#     twice;
#   - the server holds every change that was acknowledged, counts none
#     twice (never more than the client made), and never fewer than before
#     a kill;
#   - a sync whose server was killed under it fails at once (under 4 s; its
#     request timeout is 5 s), 1 in 20 at most excepted.
# Then, with nothing killed any more: every client syncs (twice around),
# outboxes drain, every change is on the server exactly once (the counts
# crashsync kept agree with the stores, the server, hq and the global log:
# check_exactly_once), and the replicas converge (check_converged).
#
# RELAIS_TEST_SEED=N replays the choices and delays (timing still varies).
source "$(dirname "$0")/fault_lib.sh"

CRASH="$TOOLS/crashsync"
[ -x "$CRASH" ] || fail "$CRASH not built (make)"
CRASH_KILLS="${CRASH_KILLS:-200}"
SEED="${RELAIS_TEST_SEED:-$(( $(date +%s) % 100000 ))}"
FAIL_NOTE="replay with RELAIS_TEST_SEED=$SEED"

CLIENTS=(a1 a2 m1 hq)
server_init
server_start
mkclient a1 A1 antenna
mkclient a2 A2 antenna
mkclient m1 A1 mobile
mkclient hq SIEGE hq
ANT[a1]=A1; ANT[a2]=A2; ANT[m1]=A1; ANT[hq]=""
server_stop
cat >"$T/crash.conf" <<EOF
[sync]
timeout = 5s
EOF

set +e
"$CRASH" --relais "$RELAIS" --server "$SERVER" --srv "$T/srv" --url "$URL" \
	--config "$T/crash.conf" --kills "$CRASH_KILLS" --seed "$SEED" \
	--max-seconds "${CRASH_MAX_SECONDS:-240}" --log "$T/server-crash.log" \
	"$T/a1:A1" "$T/a2:A2" "$T/m1:A1" "$T/hq:A2" >"$T/crash.out" 2>"$T/crash.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "crashsync failed (exit $rc): $(grep -v '^crashsync: seed' "$T/crash.err" | tail -n 5)"
ok
summary="$(grep '^kills ' "$T/crash.out")"
echo "$summary"; grep "^time " "$T/crash.out" || true
kills="$(printf '%s\n' "$summary" | sed -n 's/.* total=\([0-9]*\) .*/\1/p')"
[ "$kills" -ge "$CRASH_KILLS" ] || fail "only $kills kills"
ok
for who in client server; do
	n="$(printf '%s\n' "$summary" | sed -n "s/.* $who=\([0-9]*\).*/\1/p")"
	[ "$n" -ge $((CRASH_KILLS / 5)) ] || fail "only $n kills of the $who"
	ok
done
# A sync whose server is killed under it fails at once (connection lost),
# it does not wait out its 5 s request timeout: 1 in 20 at most may (a
# loaded machine, a port taken meanwhile by another test's process).
orphans="$(sed -n 's/.* orphans=\([0-9]*\).*/\1/p' "$T/crash.out")"
slow="$(sed -n 's/.*slow-orphans=\([0-9]*\).*/\1/p' "$T/crash.out")"
[ "$orphans" -ge 10 ] || fail "only $orphans syncs lost their server"
ok
[ $((slow * 20)) -le "$orphans" ] || fail "$slow of $orphans syncs whose server was killed waited out their timeout: $(grep 'took' "$T/crash.err" | head -n 3)"
ok

# ---- nothing is killed any more
server_start srv "$PORT"
for pass in 1 2; do
	for c in "${CLIENTS[@]}"; do
		run "$c" sync
		[ "$RC" -eq 0 ] || fail "pass $pass: sync of $c after the crashes exited $RC: $ERR"
	done
done
ok
for c in "${CLIENTS[@]}"; do
	want="$(awk -v d="$T/$c" '$1 == "made" && $2 == d {print $4}' "$T/crash.out")"
	assert_eq "$(made_of "$c")" "$want" "$c: the store holds exactly the changes crashsync saw it make"
done
check_exactly_once "${CLIENTS[@]}"
check_converged "${CLIENTS[@]}"
echo "seed $SEED: $EXACTLY_ONCE_TOTAL changes, each stored once after $kills kills"
done_ok
