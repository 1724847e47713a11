#!/usr/bin/env bash
# test_fault_load.sh - 100 clients syncing at once for LOAD_SECONDS (20 by
# default; `make soak` runs 300), each a thread of tests/tools/loadgen with
# its own store, writing through the library and syncing with the real
# client code (rl_sync_once) against a real `relais-server run`.
#
# Asserts:
#   - no sync fails (errors=0), and after a final drain every outbox is
#     empty;
#   - every change is stored once: each device's count on the server equals
#     what its client made (loadgen reads the server store), and a fresh
#     hq-role device pulling the global log receives exactly the total;
#   - the server's memory stays flat: its anonymous memory (heap; the LMDB
#     map is file-backed and grows with the store) at its peak in the second
#     half of the run is at most 24 MiB or half the first peak (whichever
#     is larger; the server runs with MALLOC_ARENA_MAX=2, see below) above
#     its peak in the first half, and never above
#     256 MiB (not checked in a sanitized build, whose allocator keeps freed
#     memory in quarantine). `make soak` runs it for 300 s, where a leak
#     would show.
# The figures (changes/s, syncs/s, latencies, memory) are printed.
source "$(dirname "$0")/fault_lib.sh"

LOADGEN="$TOOLS/loadgen"
[ -x "$LOADGEN" ] || fail "$LOADGEN not built (make)"
LOAD_SECONDS="${LOAD_SECONDS:-20}"
LOAD_CLIENTS="${LOAD_CLIENTS:-100}"

# Two malloc arenas for the server: glibc's default (8 per core) makes the
# heap's peaks jump by tens of MiB between samples with the workers that
# happened to run (seen up to 31 MiB within a run), noise that would hide
# or fake a leak; a leak shows just the same with two.
export MALLOC_ARENA_MAX=2
server_init
server_start
unset MALLOC_ARENA_MAX
set +e
"$LOADGEN" --url "$URL" --srv "$T/srv" --dir "$T/load" --clients "$LOAD_CLIENTS" \
	--seconds "$LOAD_SECONDS" --server-pid "$SRV_PID" >"$T/load.out" 2>"$T/load.err"
rc=$?
set -e
cat "$T/load.out"
[ "$rc" -eq 0 ] || fail "loadgen failed (exit $rc): $(tail -n 5 "$T/load.err")"
ok
fig() {
	sed -n "s/.*\\b$1[ =]\\([0-9.]*\\).*/\\1/p" "$T/load.out" | head -n1
}
assert_eq "$(fig errors)" 0 "no sync failed"
assert_eq "$(fig mismatches)" 0 "each device's changes stored exactly once"
made="$(fig made)"
[ "$made" -gt 1000 ] || fail "only $made changes made: no real load"
ok
assert_eq "$(fig total)" "$made" "the server holds as many changes as the clients made"

# The global log holds each change once.
"$RAW" keygen "$T/auditor.key" >/dev/null
"$RAW" enroll "$URL" "$T/auditor.key" "$(enroll_token SIEGE hq auditor)" >/dev/null
entries="$("$RAW" session "$URL" "$T/auditor.key" hello pull | sed -n 's/^pull ok entries=\([0-9]*\) .*/\1/p')"
assert_eq "$entries" "$made" "the global log holds each of the $made changes once"

if sanitized; then
	echo "note: sanitized build, the memory figures are ASan's (quarantine): not checked"
	done_ok
	exit 0
fi
h1="$(sed -n 's/.*first_max=\([0-9]*\).*/\1/p' "$T/load.out")"
h2="$(sed -n 's/.*second_max=\([0-9]*\).*/\1/p' "$T/load.out")"
amax="$(sed -n 's/.*anon_kb first=[0-9]* max=\([0-9]*\).*/\1/p' "$T/load.out")"
[ -n "$h1" ] && [ -n "$h2" ] || fail "no memory samples"
ok
slack=$((h1 / 2 > 24576 ? h1 / 2 : 24576))
[ "$h2" -le $((h1 + slack)) ] || fail "server heap grew from $h1 KiB (first half) to $h2 KiB (second half)"
ok
[ "$amax" -le $((256 * 1024)) ] || fail "server heap peaked at $amax KiB"
ok
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died under load"
ok
done_ok
