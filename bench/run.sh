#!/usr/bin/env bash
# make bench: relais's figures (DESIGN.md targets), side by side with PouchDB
# (../shared/peers) when Node.js and its npm packages can be had.
#
#   make bench            100,000 situations; scaling at 10k, 100k and 1M stored
#   make bench QUICK=1    10,000 situations; scaling at 1k and 10k (under 2 min)
#
# Environment: BUILD (build dir), N (situations, overrides), SCALE_LEVELS
# ("10000 100000 1000000"), PEERS (the peers folder), NO_POUCH=1, KEEP=1
# (keep the work directory), BENCH_TMP (where stores go, default /tmp).
#
# Every measuring command is printed before it runs ($W is the work
# directory) and its JSON answer after; bench/report.py then prints the
# table (figure, relais, PouchDB, ratio, target, profile, command) and
# writes bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RB=$BUILD/bench/relais-bench
RS=$BUILD/relais-server
RC=$BUILD/relais
if [ "${QUICK:-}" = 1 ]; then
  N=${N:-10000}; SCALE_LEVELS=${SCALE_LEVELS:-"1000 10000"}; PROBE=${PROBE:-2000}; NOOP_N=1000
else
  QUICK=0
  N=${N:-100000}; SCALE_LEVELS=${SCALE_LEVELS:-"10000 100000 1000000"}; PROBE=${PROBE:-10000}
  NOOP_N=5000
fi
REAL_N=${REAL_N:-10000} # realistic profile: PouchDB's bench.js reads its JSONL into one string
CLIENTS=8
EDITS=1000
PEERS=${PEERS:-../shared/peers}
JOBS=$(nproc)

W=$(mktemp -d "${BENCH_TMP:-/tmp}/relais-bench.XXXXXX")
O=$W/out
mkdir -p "$O"
declare -A SPID SURL SSAMPLER
cleanup() {
  for s in "${!SSAMPLER[@]}"; do kill "${SSAMPLER[$s]}" 2>/dev/null || true; done
  for s in "${!SPID[@]}"; do kill "${SPID[$s]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
export RELAIS_PASSPHRASE=bench RELAIS_KDF=min
: >"$W/client.conf"
: >"$W/server.conf"
export RELAIS_CONFIG=$W/client.conf
unset RELAIS_STORE RELAIS_SERVER_STORE RELAIS_SERVER_PASSPHRASE RELAIS_SERVER_CONFIG

t_start=$(date +%s)
now() { echo $(( $(date +%s) - t_start ))s; }
step() { printf '\n== [%s] %s\n' "$(now)" "$*"; }
# m NAME CMD...: runs a measuring command, keeps its JSON as $O/NAME.json
# and the command line (work dir shown as $W) as $O/NAME.cmd.
m() {
  local name=$1; shift
  local line="$*"
  line=${line//$W/\$W}
  echo "\$ $line"
  echo "$line" >"$O/$name.cmd"
  cut -d' ' -f1 /proc/loadavg >"$O/$name.load"
  "$@" >"$O/$name.json"
  cat "$O/$name.json"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Resident memory of a process, sampled every 0.2 s: peak total (VmHWM),
# peak anonymous and peak file-backed (the LMDB map) in kB.
sample_rss() {
  local pid=$1 out=$2 hwm=0 anon=0 file=0 a f h
  while kill -0 "$pid" 2>/dev/null; do
    read -r h a f < <(awk '/^VmHWM/ {h=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print h+0, a+0, f+0}' \
      "/proc/$pid/status" 2>/dev/null || echo "0 0 0")
    [ "$h" -gt "$hwm" ] && hwm=$h; [ "$a" -gt "$anon" ] && anon=$a; [ "$f" -gt "$file" ] && file=$f
    echo "{\"vmhwm_kib\": $hwm, \"rss_anon_kib\": $anon, \"rss_file_kib\": $file}" >"$out.tmp"
    mv "$out.tmp" "$out"
    sleep 0.2
  done
}

# server_start NAME: a fresh HQ store and server on a free loopback port.
server_start() {
  local name=$1 dir=$W/$1 port
  $RS --config "$W/server.conf" --store "$dir" init >/dev/null
  for _ in 1 2 3 4 5; do
    # Port 0: the server binds a free port and logs it (no race for it).
    $RS --config "$W/server.conf" --store "$dir" run --listen "tcp://127.0.0.1:0" \
      2>"$W/$name.log" &
    SPID[$name]=$!
    for _ in $(seq 1 50); do
      grep -q "serving on" "$W/$name.log" 2>/dev/null && break
      kill -0 "${SPID[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q "serving on" "$W/$name.log"; then
      SURL[$name]=$(sed -n 's/.*serving on \(tcp:[^ ]*\).*/\1/p' "$W/$name.log" | tail -n1)
      sample_rss "${SPID[$name]}" "$O/rss-$name.json" &
      SSAMPLER[$name]=$!
      return 0
    fi
    kill "${SPID[$name]}" 2>/dev/null || true
    wait "${SPID[$name]}" 2>/dev/null || true
  done
  echo "server $name did not start:"; cat "$W/$name.log"; exit 1
}
server_stop() {
  local name=$1
  kill "${SPID[$name]}"; wait "${SPID[$name]}" 2>/dev/null || true
  kill "${SSAMPLER[$name]}" 2>/dev/null || true; wait "${SSAMPLER[$name]}" 2>/dev/null || true
  unset "SPID[$name]" "SSAMPLER[$name]"
  du -sk "$W/$name" | awk '{print "{\"store_kib\": " $1 "}"}' >"$O/du-$name.json"
}
# client_new SERVER STORE ANTENNA ROLE: a new device enrolled on SERVER.
client_new() {
  local srv=$1 store=$2 ant=$3 role=$4 tok
  tok=$($RS --config "$W/server.conf" --store "$W/$srv" enroll --antenna "$ant" --role "$role" | tail -1)
  $RC --store "$store" init --antenna "$ant" --role "$role" >/dev/null
  $RC --store "$store" enroll --server "${SURL[$srv]}" --token "$tok" >/dev/null
}
# gen_all PREFIX COUNT PROFILE SEED0: COUNT situations over the 8 stores
# PREFIX1..8, two generators at a time.
gen_all() {
  local prefix=$1 count=$2 profile=$3 seed0=$4 per i pids=()
  per=$((count / CLIENTS))
  for i in $(seq 1 $CLIENTS); do
    $RB gen --store "$prefix$i" --situations "$per" --profile "$profile" --seed $((seed0 + i)) \
      >"$prefix$i.gen.json" &
    pids+=($!)
    if (( ${#pids[@]} == JOBS )); then for p in "${pids[@]}"; do wait "$p"; done; pids=(); fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
cores=$(nproc)
cat >"$O/machine.json" <<EOF
{"cpu": "$cpu", "cores": $cores, "kernel": "$(uname -sr)", "mem_mib": $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo),
 "fs": "$(df -T "$W" | awk 'NR==2 {print $2}')", "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
 "load_start": "$(loadavg)", "quick": $QUICK, "situations": $N, "realistic_situations": $REAL_N,
 "clients": $CLIENTS, "edits": $EDITS, "scale_levels": "$SCALE_LEVELS", "probe": $PROBE,
 "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- common proto client server 2>/dev/null || echo +dirty)"}
EOF
echo "machine: $cores cores, $cpu; $(uname -sr); load average $(loadavg)"
echo "sizes: $N situations (design profile), $REAL_N (realistic profile), $CLIENTS concurrent clients"
echo "work directory \$W = $W"

# ---- 1. side by side with PouchDB: one client pushes, a new device pulls,
# ----    1,000 edits pushed and pulled, no-op syncs (per profile)
side_by_side() {
  local prof=$1 n=$2 s=sbs-$1
  step "side by side, $prof profile, $n situations: server $s, device a pushes, new device b pulls"
  server_start "$s"
  client_new "$s" "$W/$s-a" A1 antenna
  client_new "$s" "$W/$s-b" A1 antenna
  m "gen-$prof" $RB gen --store "$W/$s-a" --situations "$n" --profile "$prof" --seed 1
  m "export-$prof" $RB export-jsonl --store "$W/$s-a" --out "$W/docs-$prof.jsonl"
  m "push-$prof" $RB push --store "$W/$s-a" --server-pid "${SPID[$s]}"
  m "pull-$prof" $RB pull --store "$W/$s-b" --server-pid "${SPID[$s]}"
  m "edits-$prof" $RB edits --store "$W/$s-a" --n $EDITS --seed 7
  m "ipush-$prof" $RB push --store "$W/$s-a" --server-pid "${SPID[$s]}"
  m "ipull-$prof" $RB pull --store "$W/$s-b" --server-pid "${SPID[$s]}"
  if [ "$prof" = design ]; then
    m noop $RB noop --store "$W/$s-b" --n $NOOP_N
  fi
  server_stop "$s"
  rm -rf "${W:?}/$s" "$W/$s-a" "$W/$s-b"
}

pouch_ok=0
pouch_setup() {
  local dst=$BUILD/bench/peers
  if [ -n "${NO_POUCH:-}" ]; then echo "NO_POUCH set: relais figures alone" >"$O/pouch-status.txt"; return 1; fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "Node.js or npm not found: relais figures alone" >"$O/pouch-status.txt"; return 1
  fi
  if [ ! -f "$PEERS/pouchdb/run.js" ]; then
    echo "$PEERS/pouchdb not found: relais figures alone" >"$O/pouch-status.txt"; return 1
  fi
  mkdir -p "$dst/pouchdb" "$dst/common"
  install -m 644 "$PEERS/common/situations.js" "$dst/common/"
  install -m 644 "$PEERS"/pouchdb/*.js "$PEERS/pouchdb/package.json" "$dst/pouchdb/"
  if [ ! -d "$dst/pouchdb/node_modules" ] || ! cmp -s "$PEERS/pouchdb/package-lock.json" "$dst/pouchdb/package-lock.json"; then
    install -m 644 "$PEERS/pouchdb/package-lock.json" "$dst/pouchdb/"
    step "PouchDB: npm ci in $dst/pouchdb (once; sqlite3 may compile from source)"
    if ! (cd "$dst/pouchdb" && timeout 1800 npm ci --no-audit --no-fund) >"$W/npm.log" 2>&1; then
      tail -5 "$W/npm.log"
      rm -rf "$dst/pouchdb/node_modules"
      echo "npm ci failed (packages cannot be had): relais figures alone" >"$O/pouch-status.txt"; return 1
    fi
  fi
  echo "node $(node --version), $(cd "$dst/pouchdb" && node -p 'require("pouchdb/package.json").version' 2>/dev/null | sed 's/^/pouchdb /')" >"$O/pouch-status.txt"
  return 0
}
# pouch_run PROFILE: PouchDB's bench.js on the same documents (run.js starts
# its express-pouchdb server on leveldb, as the peers README measures).
pouch_run() {
  local prof=$1 dir=$BUILD/bench/peers/pouchdb port res
  port=$(source deploy/lib.sh && rl_free_port)
  step "PouchDB, $prof profile: the same $(wc -l <"$W/docs-$prof.jsonl") documents"
  rm -rf "$dir/results"
  echo "\$ (cd $dir && node run.js --server express --server-adapter leveldb --runs 1 --port $port --docs \$W/docs-$prof.jsonl)" \
    | tee "$O/pouch-$prof.cmd"
  cut -d' ' -f1 /proc/loadavg >"$O/pouch-$prof.load"
  if (cd "$dir" && timeout 3600 node run.js --server express --server-adapter leveldb --runs 1 \
        --port "$port" --n "$(wc -l <"$W/docs-$prof.jsonl")" --docs "$W/docs-$prof.jsonl") >"$W/pouch-$prof.log" 2>&1; then
    res=$(ls "$dir"/results/*.json 2>/dev/null | head -1)
    if [ -n "$res" ]; then cp "$res" "$O/pouch-$prof.json"; grep -E '^\| |RSS' "$W/pouch-$prof.log" || true; return 0; fi
  fi
  echo "PouchDB run failed ($prof); its log ends:"; tail -8 "$W/pouch-$prof.log"
  echo "PouchDB run failed for the $prof profile: see the log" >>"$O/pouch-status.txt"
  return 1
}

if pouch_setup; then pouch_ok=1; else cat "$O/pouch-status.txt"; fi

side_by_side design "$N"
if [ $pouch_ok = 1 ]; then pouch_run design || true; fi
side_by_side realistic "$REAL_N"
# PouchDB on the realistic documents takes about a minute more: full run only.
if [ $pouch_ok = 1 ] && [ "$QUICK" != 1 ]; then pouch_run realistic || true; fi
rm -f "$W"/docs-*.jsonl

# ---- 2. HQ ingest: 8 clients push at once; raw LMDB with the same bytes
step "ingest: $CLIENTS antenna clients, $((N / CLIENTS)) situations each (design profile), push at once"
server_start ingest
for i in $(seq 1 $CLIENTS); do client_new ingest "$W/ing$i" "A$i" antenna; done
gen_all "$W/ing" "$N" design 100 >/dev/null
stores=(); for i in $(seq 1 $CLIENTS); do stores+=(--store "$W/ing$i"); done
m lmdb $RB lmdb --dir "$W/raw" "${stores[@]}" --batch $((CLIENTS * 4096))
rm -rf "$W/raw"
m ingest $RB push "${stores[@]}" --server-pid "${SPID[ingest]}"
step "a new hq device pulls everything from the ingest server"
client_new ingest "$W/ing-hq" HQ hq
m pull-hq $RB pull --store "$W/ing-hq" --server-pid "${SPID[ingest]}"
server_stop ingest
rm -rf "${W:?}/ingest" "$W"/ing?  "$W/ing-hq"

# ---- 3. local changes against raw LMDB
step "local changes (client store) against raw LMDB puts"
m local $RB local --dir "$W/local" --n 10000
rm -rf "$W/local"

# ---- 4. scaling: the cost of ingesting the same probe as the store grows
step "scaling: probes of $PROBE new situations with $SCALE_LEVELS situations stored"
server_start scale
for i in $(seq 1 $CLIENTS); do client_new scale "$W/sc$i" "A$i" antenna; done
stores=(); for i in $(seq 1 $CLIENTS); do stores+=(--store "$W/sc$i"); done
stored=0; round=0; seed=1000
echo "[]" >"$O/scale.json"
for level in $SCALE_LEVELS; do
  if (( level > stored )); then
    round=$((round + 1)); seed=$((seed + 100))
    echo "fill: generating $((level - stored)) situations over $CLIENTS stores"
    gen_all "$W/sc" $((level - stored)) design $seed >/dev/null
    if ! m "fill-$level" $RB push "${stores[@]}" --server-pid "${SPID[scale]}"; then
      echo "fill to $level failed; scaling stops at $stored stored"
      echo "{\"level\": $level, \"failed\": true, \"stored\": $stored}" >"$O/scale-fail.json"
      break
    fi
    stored=$level
  fi
  seed=$((seed + 100))
  gen_all "$W/sc" "$PROBE" design $seed >/dev/null
  if ! m "probe-$level" $RB push "${stores[@]}" --server-pid "${SPID[scale]}"; then
    echo "{\"level\": $level, \"failed\": true, \"stored\": $stored}" >"$O/scale-fail.json"
    break
  fi
  stored=$((stored + PROBE))
  du -sk "$W/scale" | awk -v l="$level" '{print "{\"store_kib\": " $1 "}"}' >"$O/du-probe-$level.json"
done
server_stop scale
rm -rf "${W:?}/scale" "$W"/sc?

python3 - "$O/machine.json" "$(loadavg)" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["load_end"] = sys.argv[2]
json.dump(m, open(sys.argv[1], "w"))
PY
step "results"
python3 bench/report.py "$O" bench/results.json
