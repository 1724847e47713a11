#!/usr/bin/env bash
# bench/profile.sh WHAT [SITUATIONS]: where the CPU of one sync path goes,
# with perf (DWARF call graphs; relais is built with -g, LMDB has no symbols
# on Debian and shows as addresses under mdb_* callers).
#
#   ingest   8 antenna clients push SITUATIONS (default 20000) at once: the server
#   push     one client pushes SITUATIONS: the client
#   pull     a new device pulls SITUATIONS: the client
#   serve    a new device pulls SITUATIONS: the server
#
# Prints the inclusive share of each function (perf report --children) and
# the share of each library. PROFILE=realistic generates the benchmark issue's
# situations (default: design). KEEP=1 keeps the work directory and perf.data.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:?usage: bench/profile.sh ingest|push|pull|serve [SITUATIONS]}
N=${2:-20000}
PROFILE=${PROFILE:-design}
BUILD=${BUILD:-build}
RB=$BUILD/bench/relais-bench
RS=$BUILD/relais-server
RC=$BUILD/relais
command -v perf >/dev/null || { echo "perf not found"; exit 1; }
W=$(mktemp -d "${BENCH_TMP:-/tmp}/relais-profile.XXXXXX")
SP=""
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null; wait 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
export RELAIS_PASSPHRASE=bench RELAIS_KDF=min RELAIS_CONFIG=$W/client.conf
: >"$W/client.conf"; : >"$W/server.conf"
$RS --config "$W/server.conf" --store "$W/hq" init >/dev/null
$RS --config "$W/server.conf" --store "$W/hq" run --listen "tcp://127.0.0.1:0" 2>"$W/hq.log" &
SP=$!
for _ in $(seq 1 50); do grep -q "serving on" "$W/hq.log" && break; sleep 0.1; done
port=$(sed -n 's/.*serving on tcp:[^ ]*:\([0-9]*\) .*/\1/p' "$W/hq.log" | tail -n1)
dev() {
  local tok
  tok=$($RS --config "$W/server.conf" --store "$W/hq" enroll --antenna "$2" --role antenna | tail -1)
  $RC --store "$W/$1" init --antenna "$2" >/dev/null
  $RC --store "$W/$1" enroll --server "tcp://127.0.0.1:$port" --token "$tok" >/dev/null
}
PERF=(perf record --call-graph dwarf,16384 -F 999 -o "$W/perf.data")
# perf attached to the server runs in the background (not in a subshell:
# SIGINT must reach perf itself).
attach() { "${PERF[@]}" -p "$SP" 2>"$W/perf.log" & pp=$!; sleep 0.5; }
detach() { kill -INT "$pp"; wait "$pp" || true; }
case $WHAT in
  ingest)
    stores=()
    for i in $(seq 1 8); do
      dev "c$i" "A$i"
      $RB gen --store "$W/c$i" --situations $((N / 8)) --seed "$i" --profile "$PROFILE" >/dev/null
      stores+=(--store "$W/c$i")
    done
    attach
    $RB push "${stores[@]}" --server-pid "$SP"
    detach ;;
  push)
    dev a A1; $RB gen --store "$W/a" --situations "$N" --profile "$PROFILE" >/dev/null
    "${PERF[@]}" -- $RB push --store "$W/a" --server-pid "$SP" 2>"$W/perf.log" ;;
  pull|serve)
    dev a A1; dev b A1; $RB gen --store "$W/a" --situations "$N" --profile "$PROFILE" >/dev/null
    $RB push --store "$W/a" >/dev/null
    if [ "$WHAT" = pull ]; then
      "${PERF[@]}" -- $RB pull --store "$W/b" --server-pid "$SP" 2>"$W/perf.log"
    else
      attach
      $RB pull --store "$W/b" --server-pid "$SP"
      detach
    fi ;;
  *) echo "unknown: $WHAT"; exit 2 ;;
esac
echo "== share of samples by library"
perf report -i "$W/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8
echo "== inclusive share by function (>= 1.5%)"
perf report -i "$W/perf.data" --children --sort sym --stdio --percent-limit 1.5 2>/dev/null |
  grep -E '^ +[0-9]' | grep -vE '0x0000|\[k\] (entry_SYSCALL|do_syscall)' | head -${LINES_MAX:-60}
