# fault_lib.sh - helpers shared by the fault tests (test_fault_*.sh source
# it; it is not a test itself). It sources sync_lib.sh, then adds:
#
#   proxy_start ARGS...   tests/tools/proxy to the server ($PORT), sets PP,
#                         PROXY_PID, PROXY_ERR (its stderr: cuts, stats)
#   proxy_stop            SIGTERM, wait: the stats line is in $PROXY_ERR
#   proxy_stat NAME       a counter of the proxy's last stats line
#   made_of CLIENT        changes the client wrote and holds (its outbox,
#                         pending and acknowledged)
#   sanitized             true when the programs are built with ASan (make
#                         asan): memory figures are then the sanitizer's
#   check_exactly_once CLIENT...
#   check_converged CLIENT...
#
# The two checks take the whole list of clients of the test; one of them
# must be "hq" (an hq-role client that has synced last), and ANT[client]
# (sync_lib.sh) must give each client's antenna ("" for hq).
source "$(dirname "${BASH_SOURCE[0]}")/sync_lib.sh"

PROXY="$TOOLS/proxy"
STAT="$TOOLS/storestat"
RAW="$TOOLS/rawclient"
for b in "$PROXY" "$STAT" "$RAW"; do
	[ -x "$b" ] || fail "$b not built (make)"
done

NPROXY=0
proxy_start() {
	local i
	NPROXY=$((NPROXY + 1))
	PROXY_ERR="$T/proxy.$NPROXY.err"
	for i in $(seq 1 50); do
		rm -f "$T/proxy.port"
		"$PROXY" --target "127.0.0.1:$PORT" --listen "${PP:-0}" --port-file "$T/proxy.port" "$@" \
			>/dev/null 2>"$PROXY_ERR" &
		PROXY_PID=$!
		for _ in $(seq 1 200); do
			[ -s "$T/proxy.port" ] && break
			kill -0 "$PROXY_PID" 2>/dev/null || break
			sleep 0.01
		done
		if [ -s "$T/proxy.port" ]; then
			PP="$(cat "$T/proxy.port")"
			bg_track "$PROXY_PID"
			return 0
		fi
		wait "$PROXY_PID" 2>/dev/null || true
		sleep 0.1
	done
	fail "cannot start the proxy: $(cat "$PROXY_ERR")"
}

proxy_stop() {
	kill "$PROXY_PID" 2>/dev/null || true
	wait "$PROXY_PID" 2>/dev/null || true
}

proxy_stat() {
	grep '^proxy: stats ' "$PROXY_ERR" | tail -n1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

sanitized() {
	[ -n "${RL_SANITIZED:-}" ] || grep -q 'libasan\|libubsan' <<<"$(ldd "$SERVER" 2>/dev/null)"
}

# Under ASan, nng's own objects left at exit after a cut link are not ours
# (lsan-nng.supp says why).
if sanitized; then
	export LSAN_OPTIONS="suppressions=$ROOT/tests/integration/lsan-nng.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi

made_of() {
	"$STAT" store "$T/$1" | sed -n 's/.* made=\([0-9]*\) .*/\1/p'
}

# Every change any client wrote is on the server exactly once:
#   - every outbox is empty;
#   - for each client, the changes it wrote and still holds (its outbox,
#     pending and acknowledged: storestat) equal the changes of its own in its state (export-changes)
#     and the server's count for it (`devices --json` "changes", which
#     counts the changes that altered a state, so never a duplicate);
#   - the hq client holds, per author, exactly that many changes;
#   - a fresh hq-role device pulling the whole global log receives exactly
#     the sum: no change is logged (hence fed to any device) twice.
# Devices not in the list (crafted ones, say) count with the server's
# figure for them in the sums.
check_exactly_once() {
	local c dev made own srvn total=0 hqauth out entries others devs=()
	rs devices --json >"$T/devices.json"
	for c in "$@"; do devs+=("$(device_of "$c")"); done
	others="$(jq --argjson l "$(printf '%s\n' "${devs[@]}" | jq -R . | jq -s .)" \
		'[.[] | select(.device as $d | $l | index($d) | not) | .changes] | add // 0' "$T/devices.json")"
	"$RELAIS" --store "$T/hq" export-changes - | "$STAT" authors - >"$T/authors.hq"
	for c in "$@"; do
		assert_eq "$(pending_of "$c")" 0 "$c: outbox empty"
		dev="$(device_of "$c")"
		made="$(made_of "$c")"
		own="$("$RELAIS" --store "$T/$c" export-changes - | "$STAT" authors - | awk -v d="$dev" '$1 == d {print $2}')"
		assert_eq "${own:-0}" "$made" "$c: every change it wrote is in its own state"
		srvn="$(jq -r --arg d "$dev" '.[] | select(.device == $d) | .changes' "$T/devices.json")"
		assert_eq "$srvn" "$made" "$c: the server holds each of its $made changes exactly once"
		hqauth="$(awk -v d="$dev" '$1 == d {print $2}' "$T/authors.hq")"
		assert_eq "${hqauth:-0}" "$made" "$c: hq holds each of its changes"
		total=$((total + made))
	done
	total=$((total + others))
	assert_eq "$(sed -n 's/^total //p' "$T/authors.hq")" "$total" "hq holds no other change"
	"$RAW" keygen "$T/auditor.key" >/dev/null
	out="$("$RAW" enroll "$URL" "$T/auditor.key" "$(enroll_token SIEGE hq auditor)")"
	assert_match "$out" "^enroll ok" "auditor device enrolled"
	out="$("$RAW" session "$URL" "$T/auditor.key" hello pull)"
	entries="$(printf '%s\n' "$out" | sed -n 's/^pull ok entries=\([0-9]*\) .*/\1/p')"
	assert_eq "$entries" "$total" "the global log holds each of the $total changes exactly once"
	EXACTLY_ONCE_TOTAL="$total"
}

# Every replica converged, per scope: each antenna client holds exactly
# the situations of its antenna (hq's view), the mobile of A1 exactly A1's,
# hq every one; per situation, each replica's `export --format json`
# document (the `show --json` of each, state hash included) is identical
# to hq's; and the replicas of one antenna hold byte-identical changes
# (export-changes, minus its header naming the device).
check_converged() {
	local c a differ s first
	declare -A FIRST_OF
	for c in "$@"; do
		r "$c" export --format json | jq -S 'map({key: .id, value: .}) | from_entries' >"$T/export.$c.json"
	done
	for c in "$@"; do
		a="${ANT[$c]}"
		if [ -n "$a" ]; then
			assert_eq "$(jq -r 'keys[]' "$T/export.$c.json" | sort | tr '\n' ' ')" \
				"$(jq -r --arg a "$a" 'to_entries[] | select(.value.antenna == $a) | .key' "$T/export.hq.json" | sort | tr '\n' ' ')" \
				"$c holds exactly antenna $a's situations"
		fi
		[ "$c" != hq ] || continue
		differ="$(jq -r -n --slurpfile a "$T/export.$c.json" --slurpfile h "$T/export.hq.json" \
			'$a[0] | keys[] as $k | select($a[0][$k] != $h[0][$k]) | $k')"
		if [ -n "$differ" ]; then
			s="${differ%%$'\n'*}"
			diff <(jq -S --arg s "$s" '.[$s]' "$T/export.hq.json") <(jq -S --arg s "$s" '.[$s]' "$T/export.$c.json") >&2 || true
			fail "$c and hq differ on: $differ (above: hq vs $c)"
		fi
		ok
		[ -n "$a" ] || continue
		"$RELAIS" --store "$T/$c" export-changes - | tail -c +52 >"$T/changes.$c"
		first="${FIRST_OF[$a]:-}"
		if [ -z "$first" ]; then
			FIRST_OF[$a]="$c"
		else
			cmp -s "$T/changes.$first" "$T/changes.$c" || fail "$first and $c (antenna $a) do not hold byte-identical changes"
			ok
		fi
	done
}
