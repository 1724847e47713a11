# sync_lib.sh - helpers for the sync integration tests (test_sync_*.sh
# source it; it is not a test itself).
#
# Each test runs in its own mktemp -d directory, removed on exit, with one
# HQ server (`relais-server run`) on a free loopback port and any number of
# client stores beside it. RELAIS_PASSPHRASE is set and RELAIS_KDF=min
# (test-only: cheap argon2id at `relais init`). Every process a test starts
# in the background is registered with bg_track and killed by its pid on
# exit, never by name.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
RELAIS="$BUILD/relais"
SERVER="$BUILD/relais-server"
TOOLS="$BUILD/tests/tools"
for b in "$RELAIS" "$SERVER"; do
	[ -x "$b" ] || { echo "FAIL: $b not built (make)" >&2; exit 1; }
done
source "$ROOT/deploy/lib.sh"
command -v jq >/dev/null || { echo "FAIL: jq is needed by the sync tests (apt-get install jq)" >&2; exit 1; }

T="$(mktemp -d)"
BG_PIDS=()
TEST_NAME="$(basename "$0" .sh)"
CHECKS=0

bg_track() {
	BG_PIDS+=("$1")
}

cleanup() {
	local rc=$?
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ $rc -ne 0 ]; then
		[ -z "${FAIL_NOTE:-}" ] || echo "$TEST_NAME: $FAIL_NOTE" >&2
		for f in "$T"/server-*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (last 30 lines) ---" >&2
			tail -n 30 "$f" >&2 || true
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

export RELAIS_PASSPHRASE="correct horse battery staple"
export RELAIS_KDF=min
unset RELAIS_STORE RELAIS_SERVER_STORE RELAIS_SERVER_PASSPHRASE RELAIS_NEW_PASSPHRASE || true
export HOME="$T/home" XDG_DATA_HOME="$T/home/.local/share"
mkdir -p "$HOME"

fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	exit 1
}

ok() {
	CHECKS=$((CHECKS + 1))
}

done_ok() {
	echo "ok: $TEST_NAME ($CHECKS checks)"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
	ok
}

assert_match() {
	grep -Eq -- "$2" <<<"$1" || fail "$3: /$2/ not found in:
$1"
	ok
}

assert_no_match() {
	if grep -Eq -- "$2" <<<"$1"; then
		fail "$3: /$2/ unexpectedly found in:
$1"
	fi
	ok
}

# relais on store $1 with the rest as arguments; sets RC, OUT, ERR and never
# fails itself.
run() {
	local s="$1"
	shift
	set +e
	OUT="$("$RELAIS" --store "$T/$s" "$@" 2>"$T/.err")"
	RC=$?
	ERR=""
	IFS= read -r -d '' ERR <"$T/.err"
	set -e
	ERR="${ERR%$'\n'}"
}

# r STORE ARGS...: relais that must succeed; prints its stdout.
r() {
	run "$@"
	[ "$RC" -eq 0 ] || fail "relais --store $1 ${*:2} exited $RC: $ERR"
	[ -z "$OUT" ] || printf '%s\n' "$OUT"
}

# rs ARGS...: relais-server on the test's server store ($T/$RS_STORE, by
# default $T/srv), must succeed; prints its stdout.
rs() {
	local out
	out="$("$SERVER" --store "$T/${RS_STORE:-srv}" "$@" 2>"$T/.serr")" ||
		fail "relais-server $* failed: $(cat "$T/.serr")"
	[ -z "$out" ] || printf '%s\n' "$out"
}

# Creates the server store; SERVER_PK receives the server's public key.
server_init() {
	local out
	out="$(rs init)"
	SERVER_PK="$(grep -Eo '[0-9a-f]{64}' <<<"$out")"
	SERVER_PK="${SERVER_PK%%$'\n'*}"
	[ -n "$SERVER_PK" ] || fail "relais-server init printed no key: $out"
}

# server_start [STORE [PORT]]: starts `relais-server run` for $T/STORE
# (default srv) on PORT, else on a free loopback port drawn below the
# ephemeral range (deploy/lib.sh rl_free_port; another one is drawn when it
# is taken after all); sets PORT, URL, SRV_PID. A fixed PORT (a restart) is
# tried again for a few seconds.
server_start() {
	local store="${1:-srv}" fixed="${2:-}" attempt log seen
	for attempt in $(seq 1 30); do
		if [ -n "$fixed" ]; then
			PORT="$fixed"
		else
			PORT="$(rl_free_port)"
		fi
		URL="tcp://127.0.0.1:$PORT"
		log="$T/server-$store-$PORT-$attempt.log"
		# A restart on the same port appends to the same log: only the
		# lines this server writes count.
		seen=0
		if [ -f "$log" ]; then seen="$(wc -l <"$log")"; fi
		"$SERVER" --store "$T/$store" run --listen "$URL" >>"$log" 2>&1 &
		SRV_PID=$!
		for _ in $(seq 1 200); do
			if grep -q "serving on $URL" <<<"$(tail -n +"$((seen + 1))" "$log" 2>/dev/null)"; then
				bg_track "$SRV_PID"
				return 0
			fi
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.02
		done
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
		[ -z "$fixed" ] || sleep 0.2
	done
	fail "cannot start relais-server for $store${fixed:+ on port $fixed}"
}

# Stops the server started by server_start (SIGTERM, waits).
server_stop() {
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
}

# enroll_token ANTENNA ROLE [NAME]: a fresh one-time token on stdout.
enroll_token() {
	rs enroll --antenna "$1" --role "$2" ${3:+--name "$3"} | tail -n1
}

# mkclient NAME ANTENNA ROLE: a client store $T/NAME, enrolled at $URL.
mkclient() {
	local tok
	tok="$(enroll_token "$2" "$3" "$1")"
	r "$1" init --antenna "$2" --role "$3" >/dev/null
	r "$1" enroll --server "$URL" --token "$tok" >/dev/null
}

# mknetwork: DESIGN.md's network on the running server: antennas a1..a7
# (A1..A7), m1 a mobile of A1, hq an hq workstation. ANT[client] receives
# each client's antenna ("" for hq).
declare -A ANT
mknetwork() {
	for k in 1 2 3 4 5 6 7; do
		mkclient "a$k" "A$k" antenna
		ANT[a$k]="A$k"
	done
	mkclient m1 A1 mobile
	ANT[m1]=A1
	mkclient hq SIEGE hq
	ANT[hq]=""
}

# The device id (hex) of client NAME.
device_of() {
	"$RELAIS" --store "$T/$1" status --json | jq -r .device
}

# The pending count of client NAME.
pending_of() {
	"$RELAIS" --store "$T/$1" status --json | jq -r .pending
}

# A field of the server's record of a device: server_dev DEVICE FIELD.
server_dev() {
	rs devices --json | jq -r --arg d "$1" --arg f "$2" '.[] | select(.device == $d) | .[$f]'
}

# Situation ids a client holds, sorted, one a line.
sits_of() {
	"$RELAIS" --store "$T/$1" list --json | jq -r '.[].id' | sort
}
