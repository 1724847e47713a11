#!/usr/bin/env bash
# Runs the unit test binaries, then the integration scripts, and prints the
# summary line CI reads: "N passed, N failed". Exits non-zero on any failure.
# Usage: tests/run.sh UNIT... -- SCRIPT...
set -u
passed=0; failed=0; failures=()
mode=unit
for t in "$@"; do
  if [ "$t" = "--" ]; then mode=integration; continue; fi
  echo "== $t"
  start=$(date +%s)
  if [ "$mode" = unit ]; then "$t"; rc=$?; else bash "$t"; rc=$?; fi
  end=$(date +%s)
  if [ $rc -eq 0 ]; then passed=$((passed + 1)); echo "-- ok ($((end - start)) s)";
  else failed=$((failed + 1)); failures+=("$t"); echo "-- FAILED ($t, exit $rc)"; fi
done
echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
