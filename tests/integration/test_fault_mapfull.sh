#!/usr/bin/env bash
# test_fault_mapfull.sh - the HQ store reaches its LMDB map size.
#
# The server runs with `map_size = 16M` in its configuration file (the
# smallest allowed). An antenna client pushes until the store is full:
#   - the sync is refused with the French "le serveur est plein" message,
#     the client's outbox kept whole, the server up, its log saying so;
#   - an admin command given the same 16M opens the store (now as large as
#     its map) and reads it;
#   - the server restarted without the setting (its 64 GiB default) takes
#     the same sync whole, every change stored once, and data.mdb stays
#     the size of its data, not of the map;
#   - the admin command with 16M still opens the store, now larger than
#     16M (LMDB maps the data's size), and reads every device.
source "$(dirname "$0")/sync_lib.sh"

REAL_SERVER="$SERVER"
printf '[server]\nmap_size = 16M\n' >"$T/small.conf"
printf '#!/bin/sh\nexec "%s" --config "%s" "$@"\n' "$REAL_SERVER" "$T/small.conf" >"$T/small-server"
chmod +x "$T/small-server"

server_init
SERVER="$T/small-server"
server_start
mkclient a1 A1 antenna
SIT="$(r a1 new --kind coordination --initials AA)"
r a1 sync >/dev/null

# Tags of about 60 bytes, 4,500 a round: 16 MiB fill in a few rounds.
full=0
for k in $(seq 1 40); do
	for j in 1 2 3; do
		r a1 tag "$SIT" $(seq -f "+referrer:fill$k-$j-%g-abcdefghijklmnopqrstuvwxyz0123456789" 1 1500) \
			>/dev/null
	done
	run a1 sync
	if [ "$RC" -ne 0 ]; then
		full=1
		break
	fi
done
[ "$full" = 1 ] || fail "the 16M store never filled"
ok
assert_eq "$RC" 1 "a sync refused by a full store exits 1"
assert_match "$ERR" "le serveur est plein : réessayez plus tard ; les changements non envoyés restent en attente" \
	"the client is told the server is full"
grep -q "disk or store full" "$T"/server-*.log || fail "the server log does not say the store is full"
ok
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died when its store filled"
ok
PENDING="$(pending_of a1)"
[ "$PENDING" -gt 0 ] || fail "a1 has nothing pending after the refusal"
ok
size_full="$(stat -c %s "$T/srv/data.mdb")"
[ "$size_full" -le $((16 << 20)) ] || fail "data.mdb ($size_full bytes) is larger than its 16M map"
ok
DEV="$(device_of a1)"
stored="$("$SERVER" --store "$T/srv" devices --json | jq -r --arg d "$DEV" '.[] | select(.device == $d) | .changes')"
[ "$stored" -gt 0 ] || fail "the admin command with the same map size cannot read the full store"
ok

# The default map: the refused changes go through, once each.
server_stop
SERVER="$REAL_SERVER"
server_start srv "$PORT"
before="$(server_dev "$DEV" changes)"
assert_eq "$before" "$stored" "nothing refused was stored"
r a1 sync >/dev/null
assert_eq "$(pending_of a1)" 0 "a1 pushed everything once the map is larger"
assert_eq "$(server_dev "$DEV" changes)" "$((stored + PENDING))" "every refused change stored once"
size_big="$(stat -c %s "$T/srv/data.mdb")"
[ "$size_big" -gt "$size_full" ] && [ "$size_big" -lt $((64 << 20)) ] ||
	fail "data.mdb is $size_big bytes under a 64 GiB map (full at $size_full)"
ok
# A map smaller than the data: the store opens at its own size.
server_stop
out="$("$T/small-server" --store "$T/srv" devices --json)" ||
	fail "an admin command with 16M cannot open a $size_big-byte store"
assert_eq "$(jq -r --arg d "$DEV" '.[] | select(.device == $d) | .changes' <<<"$out")" \
	"$((stored + PENDING))" "it reads the store whole"
assert_eq "$(stat -c %s "$T/srv/data.mdb")" "$size_big" "and does not shrink it"
done_ok
