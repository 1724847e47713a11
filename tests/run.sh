#!/usr/bin/env bash
# Runs the unit test binaries, then the integration scripts, and prints the
# summary line CI reads: "N passed, N failed". Exits non-zero on any failure.
# Usage: tests/run.sh UNIT... -- SCRIPT...
#
# Every test is bounded: a unit binary by UNIT_LIMIT seconds (120), a script
# by the "# limit: N" line near its top, else SCRIPT_LIMIT (300); TEST_SCALE
# multiplies both (a sanitized build, `make soak`'s longer runs). A test past
# its limit fails: the runner prints the process tree, every thread's stack
# of each of its programs (gdb, when installed) and kills the whole group,
# then goes on with the next test. A hang never stops the suite.
set -u
UNIT_LIMIT="${UNIT_LIMIT:-120}"
SCRIPT_LIMIT="${SCRIPT_LIMIT:-300}"
TEST_SCALE="${TEST_SCALE:-1}"
passed=0; failed=0; failures=()

# limit_of SCRIPT: its "# limit: N" (seconds), else the default.
limit_of() {
	local n
	n="$(sed -n '1,40s/^# limit: \([0-9][0-9]*\).*/\1/p' "$1" | head -n1)"
	echo "${n:-$SCRIPT_LIMIT}"
}

# stacks PGID: what each process of the group is doing, for the log.
stacks() {
	local pid comm
	echo "--- processes of the timed-out test ---"
	ps -o pid,ppid,etimes,stat,args -g "$1" 2>/dev/null || true
	command -v gdb >/dev/null || { echo "(gdb not installed: no stacks)"; return; }
	for pid in $(pgrep -g "$1" 2>/dev/null); do
		comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || continue
		case "$comm" in bash | sh | sleep | timeout | cat | grep | sed | awk | jq) continue ;; esac
		echo "--- stacks of $pid ($comm) ---"
		timeout 30 gdb -p "$pid" -batch -nx -ex 'set pagination off' \
			-ex 'thread apply all bt 30' 2>/dev/null | grep -E '^(Thread|#)' || true
	done
}

# run_bounded LIMIT CMD...: runs CMD in its own process group; its status,
# or 124 past LIMIT seconds (after the stacks, the group killed).
run_bounded() {
	local limit="$1" pid end rc
	shift
	setsid "$@" &
	pid=$!
	CURRENT=$pid
	end=$(($(date +%s) + limit))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "-- TIMEOUT after ${limit} s: $*"
			stacks "$pid"
			kill -KILL -- "-$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.2
	done
	wait "$pid"
	rc=$?
	# Whatever the test left behind in its group goes with it.
	kill -KILL -- "-$pid" 2>/dev/null
	return $rc
}

# Ctrl-C or a kill of the runner takes the running test's group with it.
CURRENT=""
trap '[ -z "$CURRENT" ] || kill -KILL -- "-$CURRENT" 2>/dev/null; exit 130' INT TERM

mode=unit
for t in "$@"; do
	if [ "$t" = "--" ]; then mode=integration; continue; fi
	echo "== $t"
	start=$(date +%s)
	if [ "$mode" = unit ]; then
		run_bounded $((UNIT_LIMIT * TEST_SCALE)) "$t"; rc=$?
	else
		run_bounded $(($(limit_of "$t") * TEST_SCALE)) bash "$t"; rc=$?
	fi
	end=$(date +%s)
	if [ $rc -eq 0 ]; then passed=$((passed + 1)); echo "-- ok ($((end - start)) s)";
	else failed=$((failed + 1)); failures+=("$t"); echo "-- FAILED ($t, exit $rc)"; fi
done
echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
