#!/usr/bin/env bash
# limit: 420
# test_net_stress.sh - no network call of relais blocks past its deadline,
# whatever the link or nng does.
#
# 1. Thousands of short sessions (tests/tools/netstress: dial, one request,
#    close, exactly as a client session opens and ends, through
#    common/net.c) against the real server through tests/tools/proxy:
#    resets and drops at random points, stalled links, delayed segments
#    (answers that arrive as the client gives up and closes), duplicated
#    segments (bytes arriving right after an answer, as the client closes:
#    the race that wedged nng 1.5.2's close for good, common/net.c), and a
#    silent server (accepts the connection, never speaks). netstress's own watchdog aborts on any step
#    past 3 x timeout + 2 s: every session must stay within it, so zero
#    hangs. NET_STRESS_SCALE multiplies the counts (`make soak`: 10).
# 2. `relais sync` and `relais status` against the silent server: the sync
#    ends within its timeout (plus the close) with a French message and
#    exit 1; status answers within 2 s and says the server does not answer.
# 3. The watchdog for real: a sync slowed by the proxy (every segment
#    delayed, each request well within its timeout) outlasts its [sync]
#    deadline: the process says so in French, logs it, exits 3; a plain
#    sync afterwards delivers every change exactly once (nothing lost).
source "$(dirname "$0")/fault_lib.sh"

SCALE="${NET_STRESS_SCALE:-1}"
SEED="${RELAIS_TEST_SEED:-$(( $(date +%s) % 100000 ))}"
FAIL_NOTE="replay with RELAIS_TEST_SEED=$SEED"
NS="$TOOLS/netstress"
[ -x "$NS" ] || fail "$NS not built (make)"

server_init
server_start

# A silent server: accepts every connection, never sends a byte.
SILENT_PORT="$(rl_free_port)"
/usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(512)
held = []
while True:
    held.append(s.accept()[0])
' "$SILENT_PORT" &
bg_track $!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null && break
	sleep 0.05
done

# The four kinds of link at once, each through its own proxy (the sessions
# mostly wait: two cores carry them). NAME COUNT TIMEOUT_MS PROXY-ARGS...
declare -A NS_PID NS_COUNT
stress_start() {
	local name="$1" count="$2" tmo="$3" port
	shift 3
	if [ "$1" = silent ]; then
		port="$SILENT_PORT"
	else
		PP=""
		proxy_start "$@"
		port="$PP"
	fi
	"$NS" "tcp://127.0.0.1:$port" "$count" "$tmo" >"$T/ns.$name.out" 2>"$T/ns.$name.err" &
	NS_PID[$name]=$!
	NS_COUNT[$name]=$count
}
# stress_wait NAME: its summary in NS_OUT; fails on a hang (netstress
# aborts) or a crash.
stress_wait() {
	local name="$1" rc=0
	wait "${NS_PID[$name]}" || rc=$?
	NS_OUT="$(cat "$T/ns.$name.out")"
	[ "$rc" -eq 0 ] || fail "$name: netstress exited $rc: $(head -n 5 "$T/ns.$name.err")"
	assert_match "$NS_OUT" "^netstress rounds=${NS_COUNT[$name]} " \
		"$name: ${NS_COUNT[$name]} sessions, each bounded"
	TOTAL=$((TOTAL + NS_COUNT[$name]))
	echo "  $name: $NS_OUT"
}
ns_field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$NS_OUT"; }

TOTAL=0
# Resets and FINs at random points of the handshake, the request, the answer.
stress_start resets $((800 * SCALE)) 500 --seed "$SEED" --quiet --drop 0.25 --rst-ratio 0.5
# Stalled links: nothing passes either way until the proxy gives up.
stress_start stalls $((500 * SCALE)) 300 --seed "$((SEED + 1))" --quiet --stall 0.04 --stall-ms 700
# Small segments, delayed and reordered: partial reads, and answers that
# arrive while the client times out and closes.
stress_start delays $((600 * SCALE)) 250 --seed "$((SEED + 2))" --quiet --segment 7 \
	--delay 0.05 --delay-ms 120 --reorder 0.02 --drop 0.01
# Duplicated segments: bytes arriving right after an answer, as the client
# closes (with a plain nng_close this mode wedges within a few dozen).
stress_start duplicates $((600 * SCALE)) 1000 --seed "$((SEED + 4))" --quiet --segment 64 \
	--dup 0.05
stress_start silent $((100 * SCALE)) 200 silent

stress_wait resets
[ "$(ns_field ok)" -gt 0 ] && [ "$(ns_field failed)" -gt 0 ] ||
	fail "resets: some sessions must fail and some succeed: $NS_OUT"
ok
stress_wait stalls
stress_wait delays
[ "$(ns_field failed)" -gt 0 ] || fail "delays: some answers must come too late: $NS_OUT"
ok
stress_wait duplicates
stress_wait silent
assert_eq "$(ns_field ok)" 0 "silent: no session succeeds"
[ "$(ns_field dial_ms_max)" -lt 1200 ] || fail "silent: a dial outlived its 200 ms deadline: $NS_OUT"
ok
[ "$TOTAL" -ge 2000 ] || fail "only $TOTAL sessions"
ok

# ---- 2. the real client against the silent server
mkclient a A1 antenna
r a new --kind coordination --initials NS --problem logement >/dev/null
cat >"$T/silent.conf" <<EOF
[sync]
server = tcp://127.0.0.1:$SILENT_PORT
timeout = 1s
EOF
# within MS ARGS...: run (sync_lib.sh) that must end within MS milliseconds.
within() {
	local ms="$1" start elapsed
	shift
	start=$(date +%s%N)
	run "$@"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$elapsed" -lt "$ms" ] || fail "relais ${*:2} took $elapsed ms against a silent server (bound $ms)"
	ok
}
within 4000 a --config "$T/silent.conf" sync
assert_eq "$RC" 1 "sync against a silent server fails"
assert_match "$ERR" "le serveur ne répond pas" "the sync says, in French, that the server does not answer"
within 2500 a --config "$T/silent.conf" status
assert_eq "$RC" 0 "status answers"
assert_match "$OUT" "Serveur +ne répond pas" "status says the server does not answer"
run a --config "$T/silent.conf" status --json
assert_eq "$(jq -r .server_status <<<"$OUT")" silent "status --json: server_status"
assert_eq "$(jq -r .server_reachable <<<"$OUT")" false "status --json: not reachable"
# Nobody listening: refused at once, said so.
cat >"$T/refused.conf" <<EOF
[sync]
server = tcp://127.0.0.1:$(rl_free_port)
EOF
within 2500 a --config "$T/refused.conf" status --json
assert_eq "$(jq -r .server_status <<<"$OUT")" unreachable "status --json: nobody listening"
within 2500 a --config "$T/refused.conf" sync
assert_match "$ERR" "serveur injoignable" "the sync says the server cannot be reached"
# The real server: reachable, and the sync goes through.
run a status --json
assert_eq "$(jq -r .server_status <<<"$OUT")" reachable "status --json on the real server"

# ---- 3. the watchdog ends a sync that outlasts its deadline
for i in $(seq 1 40); do
	r a log "$(r a list --json | jq -r '.[0].id')" --type note "note $i" >/dev/null
done
pending="$(r a status --json | jq -r .pending)"
[ "$pending" -ge 40 ] || fail "expected at least 40 pending changes, got $pending"
ok
PP=""
# Each segment waits up to 400 ms: a request and its answer well within the
# 5 s timeout, 40 one-change batches far beyond the 10 s deadline.
proxy_start --seed "$((SEED + 3))" --quiet --delay 1 --delay-ms 400
cat >"$T/slow.conf" <<EOF
[client]
log_level = info
[sync]
server = tcp://127.0.0.1:$PP
timeout = 5s
deadline = 10s
push_ops = 1
EOF
start=$(date +%s)
run a --config "$T/slow.conf" sync
elapsed=$(($(date +%s) - start))
proxy_stop
assert_eq "$RC" 3 "the watchdog ends the sync (exit 3)"
assert_match "$ERR" "relais : la synchronisation est bloquée depuis 1[0-9] s \\(délai de garde dépassé\\) : arrêt" \
	"the watchdog says so in French"
assert_match "$ERR" "watchdog: total step stuck" "the watchdog logs it"
[ "$elapsed" -ge 10 ] && [ "$elapsed" -le 20 ] || fail "the watchdog fired after $elapsed s (deadline 10 s)"
ok
left="$(r a status --json | jq -r .pending)"
[ "$left" -lt "$pending" ] || fail "the slow sync sent nothing before the watchdog ($left of $pending left)"
[ "$left" -gt 0 ] || fail "the slow sync finished before its deadline: the watchdog was not tested"
ok
r a sync >/dev/null
assert_eq "$(r a status --json | jq -r .pending)" 0 "a plain sync sends the rest"
mkclient hq SIEGE hq
r hq sync >/dev/null
ANT=([a]=A1 [hq]="")
check_exactly_once a

done_ok
