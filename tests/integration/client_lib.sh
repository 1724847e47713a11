# client_lib.sh - helpers for the `relais` client integration tests
# (tests/integration/test_client_*.sh source it; it is not a test itself).
#
# Every test works in its own mktemp -d directory, removed on exit, with
# RELAIS_PASSPHRASE set and RELAIS_KDF=min (test-only: cheap argon2id at
# `init`, so each command costs milliseconds).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
RELAIS="$BUILD/relais"
[ -x "$RELAIS" ] || { echo "FAIL: $RELAIS not built (make build/relais)" >&2; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq is needed by the client tests (apt-get install jq)" >&2; exit 1; }

T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
PASS="correct horse battery staple"
export RELAIS_PASSPHRASE="$PASS"
export RELAIS_KDF=min
unset RELAIS_STORE RELAIS_NEW_PASSPHRASE || true
export HOME="$T/home" XDG_DATA_HOME="$T/home/.local/share"

TEST_NAME="$(basename "$0" .sh)"
CHECKS=0

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

# relais with its output captured: sets RC, OUT, ERR. Never fails itself.
run() {
	set +e
	OUT="$("$RELAIS" "$@" 2>"$T/.err")"
	RC=$?
	set -e
	ERR="$(cat "$T/.err")"
}

# Runs relais, fails the test unless it exits 0; prints its stdout.
r() {
	run "$@"
	[ "$RC" -eq 0 ] || fail "relais $* exited $RC: $ERR"
	printf '%s' "$OUT"
	[ -z "$OUT" ] || echo
}

# expect_fail CODE REGEX relais-args...: exit code CODE, and for CODE 1 one
# line on stderr, "relais: ..." matching REGEX (grep -E).
expect_fail() {
	local code="$1" re="$2"
	shift 2
	run "$@"
	[ "$RC" -eq "$code" ] || fail "relais $* exited $RC, expected $code (stderr: $ERR)"
	if [ "$code" -eq 1 ]; then
		[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "relais $*: expected one line on stderr, got: $ERR"
	fi
	case "$ERR" in relais:*) ;; *) fail "relais $*: stderr does not start with 'relais:': $ERR" ;; esac
	grep -Eq -- "$re" <<<"$ERR" || fail "relais $*: stderr '$ERR' does not match /$re/"
	ok
}

# A fingerprint of everything a store holds: all its operations (export-
# changes, deterministic) and the number of changes waiting to be pushed.
# Opens the store with the test passphrase whatever the caller's environment.
fingerprint() {
	local s="$1" h p
	h="$(RELAIS_PASSPHRASE="$PASS" "$RELAIS" --store "$s" export-changes - | sha256sum)" ||
		fail "fingerprint: export-changes failed on $s"
	p="$(RELAIS_PASSPHRASE="$PASS" "$RELAIS" --store "$s" status --json | jq -r .pending)" ||
		fail "fingerprint: status failed on $s"
	printf '%s %s\n' "$h" "$p"
}

# jq on a JSON document given as $1: prints the result (raw).
jqr() {
	printf '%s' "$1" | jq -r "$2"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
	ok
}

# assert_match TEXT REGEX WHAT
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
