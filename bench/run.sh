#!/usr/bin/env bash
# make bench: relais's figures (DESIGN.md targets), side by side with PouchDB
# when Node.js and the npm packages can be had. QUICK=1 runs 10k situations.
# Writes bench/results.json and prints a table with the machine and commands.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RB=$BUILD/bench/relais-bench
N=${N:-100000}
[ "${QUICK:-}" = 1 ] && N=10000
CLIENTS=8
work=$(mktemp -d /tmp/relais-bench.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export RELAIS_PASSPHRASE=bench RELAIS_KDF=min
port=$((20000 + RANDOM % 20000))
url=tcp://127.0.0.1:$port
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
cores=$(nproc)
echo "machine: $cores cores, $cpu; $(uname -sr)"
echo "sizes: $N situations, $CLIENTS concurrent clients; stores in $work"

echo "== local changes vs raw LMDB puts ($RB local --n $N)"
local_json=$($RB local --dir "$work" --n "$N"); echo "$local_json"

echo "== HQ server and $CLIENTS antenna clients"
$BUILD/relais-server --store "$work/hq" init >/dev/null
$BUILD/relais-server --store "$work/hq" run --listen "$url" 2>"$work/server.log" &
server_pid=$!
sleep 0.5
stores=()
for i in $(seq 1 $CLIENTS); do
  tok=$($BUILD/relais-server --store "$work/hq" enroll --antenna "A$i" --role antenna | tail -1)
  $BUILD/relais --store "$work/c$i" init --antenna "A$i" >/dev/null
  $BUILD/relais --store "$work/c$i" enroll --server "$url" --token "$tok" >/dev/null
  $RB gen --store "$work/c$i" --situations $((N / CLIENTS)) --seed "$i" >/dev/null
  stores+=(--store "$work/c$i")
done
echo "== ingest: $CLIENTS clients push at once ($RB push ${stores[*]:0:2} ...)"
push_json=$($RB push "${stores[@]}"); echo "$push_json"
changes=$(json "$push_json" changes)
lmdb_json=$($RB lmdb --dir "$work/raw" --n "$changes" --bytes 200 --batch 20000)
echo "raw LMDB, same number of puts, durable commits of 20000: $lmdb_json"

echo "== a new hq device pulls everything ($RB pull --store NEW)"
tok=$($BUILD/relais-server --store "$work/hq" enroll --antenna HQ --role hq | tail -1)
$BUILD/relais --store "$work/new" init --antenna HQ --role hq >/dev/null
$BUILD/relais --store "$work/new" enroll --server "$url" --token "$tok" >/dev/null
pull_json=$($RB pull --store "$work/new"); echo "$pull_json"

echo "== incremental: 1000 edits spread over the situations, pushed, then pulled"
$RB edits --store "$work/c1" --n 1000 --seed 7 >/dev/null
inc_push=$($RB push --store "$work/c1")
inc_pull=$($RB pull --store "$work/new"); echo "push: $inc_push"; echo "pull: $inc_pull"

echo "== no-op sync and handshake round trips ($RB noop --store NEW --n 2000)"
noop_json=$($RB noop --store "$work/new" --n 2000); echo "$noop_json"
server_rss=$(awk '/VmHWM/ {print $2}' /proc/$server_pid/status)

pouch_push=null; pouch_pull=null
if [ -d ../shared/peers/pouchdb ] && command -v node >/dev/null; then
  echo "== PouchDB (../shared/peers/pouchdb, same machine)"
  peer=../shared/peers/pouchdb
  if [ ! -d "$peer/node_modules" ]; then (cd "$peer" && npm ci --silent >/dev/null 2>&1) || true; fi
  if [ -d "$peer/node_modules" ]; then
    if (cd "$peer" && timeout 1800 node run.js --server express --server-adapter leveldb --n "$N" --runs 1 --json "$work/pouch.json" >"$work/pouch.log" 2>&1); then
      pouch_push=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get('full_push',{}).get('docs_per_s','null'))" "$work/pouch.json" 2>/dev/null || echo null)
      pouch_pull=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d.get('fresh_pull',{}).get('docs_per_s','null'))" "$work/pouch.json" 2>/dev/null || echo null)
    else echo "PouchDB run failed (see its log); relais figures alone"; tail -5 "$work/pouch.log" || true; fi
  else echo "PouchDB packages cannot be installed here: relais figures alone"; fi
else
  echo "Node.js or ../shared/peers missing: relais figures alone"
fi

python3 - "$local_json" "$push_json" "$lmdb_json" "$pull_json" "$inc_push" "$inc_pull" "$noop_json" \
  "$server_rss" "$N" "$pouch_push" "$pouch_pull" "$cpu" "$cores" <<'PY'
import json, sys
loc, push, lmdb, pull, ipush, ipull, noop = (json.loads(a) for a in sys.argv[1:8])
server_rss, n = int(sys.argv[8]), int(sys.argv[9])
pp = None if sys.argv[10] in ("null", "None", "") else float(sys.argv[10])
pl = None if sys.argv[11] in ("null", "None", "") else float(sys.argv[11])
r = {
  "machine": {"cpu": sys.argv[12], "cores": int(sys.argv[13])},
  "situations": n,
  "ingest_changes_per_s": push["ingest_changes_per_s"],
  "lmdb_puts_per_s": lmdb["lmdb_puts_per_s"],
  "ingest_vs_lmdb_ratio": round(push["ingest_changes_per_s"] / lmdb["lmdb_puts_per_s"], 3),
  "local_edit_changes_per_s": loc["local_edit_changes_per_s"],
  "local_bulk_changes_per_s": loc["local_bulk_changes_per_s"],
  "local_bulk_ratio": loc["local_bulk_ratio"],
  "pull_100k_s" if n == 100000 else "pull_%dk_s" % (n // 1000): pull["seconds"],
  "pull_changes": pull["entries"],
  "incremental_1k_s": round(ipush["seconds"] + ipull["seconds"], 3),
  "noop_sync_p50_ms": noop["noop_sync_p50_ms"],
  "noop_sync_p99_ms": noop["noop_sync_p99_ms"],
  "handshake_ms": noop["handshake_ms"],
  "wire_bytes_per_change": round(pull["wire_bytes"] / max(pull["entries"], 1), 1),
  "msgpack_bytes_per_change": round(pull["msgpack_bytes"] / max(pull["entries"], 1), 1),
  "push_wire_bytes_per_change": round(push["wire_bytes"] / max(push["changes"], 1), 1),
  "client_rss_mib": round(pull["client_rss_kib"] / 1024, 1),
  "server_rss_mib": round(server_rss / 1024, 1),
  "relais_push_docs_per_s": round(n / push["seconds"]),
  "relais_pull_docs_per_s": round(n / pull["seconds"]),
  "pouchdb_push_docs_per_s": pp,
  "pouchdb_pull_docs_per_s": pl,
}
if "pull_100k_s" not in r:
  r["pull_100k_s"] = None
json.dump(r, open("bench/results.json", "w"), indent=2)
w = max(len(k) for k in r)
for k, v in r.items():
  print(f"{k:<{w}}  {v}")
for name, mine, peer in (("push", r["relais_push_docs_per_s"], pp), ("pull", r["relais_pull_docs_per_s"], pl)):
  if peer:
    print(f"{name}: relais {mine} docs/s, PouchDB {peer:.0f} docs/s, ratio {mine/peer:.1f}x")
print("written: bench/results.json")
PY
