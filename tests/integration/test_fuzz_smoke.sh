#!/usr/bin/env bash
# Fuzz smoke test: builds the libFuzzer targets (tests/fuzz, `make
# fuzz-build`, clang with ASan+UBSan) and runs each one for SMOKE_SECONDS
# (default 2) over its committed corpus; any crash, leak, sanitizer report
# or broken invariant fails the test. New inputs go to a temporary
# directory, never into tests/fuzz/corpus. Without clang (and not root to
# install it) the test is skipped with a message. `make fuzz` is the long run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECS="${SMOKE_SECONDS:-2}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT

# Can clang link a libFuzzer binary here?
fuzzer_ok() {
	local cc
	cc="$(command -v clang-14 || command -v clang || true)"
	[ -n "$cc" ] || return 1
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
		>"$T/probe.c"
	"$cc" -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" >/dev/null 2>&1
}

if ! fuzzer_ok; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing clang-14 libclang-rt-14-dev"
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 &&
				apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev >/dev/null 2>&1; } || true
	fi
	if ! fuzzer_ok; then
		echo "SKIP: test_fuzz_smoke needs clang with libFuzzer (apt-get install clang-14 libclang-rt-14-dev)"
		exit 0
	fi
fi

# A clean make: not the variables of a `make asan` or `make test` around us.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" -j2 fuzz-build >"$T/build.log" 2>&1 ||
	{ cat "$T/build.log" >&2; echo "FAIL [test_fuzz_smoke]: make fuzz-build failed" >&2; exit 1; }

n=0
for f in "$ROOT"/build-fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	t="$(basename "$f")"
	mkdir -p "$T/corpus/$t" "$T/art/$t"
	if ! "$f" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$T/art/$t/" "$T/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" >"$T/$t.log" 2>&1; then
		tail -n 60 "$T/$t.log" >&2
		echo "FAIL [test_fuzz_smoke]: $t crashed; input:" "$T"/art/"$t"/* >&2
		exit 1
	fi
	echo "ok: $t ($(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$t.log") runs in ${SECS} s)"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "FAIL [test_fuzz_smoke]: no fuzz target built" >&2; exit 1; }
echo "ok: test_fuzz_smoke ($n targets)"
