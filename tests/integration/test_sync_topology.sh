#!/usr/bin/env bash
# test_sync_topology.sh - the whole network on loopback: one HQ server,
# seven antenna clients (A1..A7), the mobile of A1 and an hq-role client,
# each a separate `relais` process on its own store.
#
# Rounds: every client writes offline (new situations, set, tag, log,
# alert, close/reopen), interleaved at random with syncs in random order,
# some clients syncing twice; each round ends with more offline work and
# all nine clients syncing at the same moment. Scripted events ride on the
# rounds:
#   round 1  the A1 antenna and the A1 mobile write the same field of the
#            same situation concurrently (and hq and A1 another field):
#            the conflicts must be kept on every replica;
#   round 2  the A2 antenna logs on one of its situations, then assigns it
#            to A3: it must leave A2 and reach A3 whole, journal included;
#            the A1 antenna assigns another to A5 while the A1 mobile still
#            writes to it offline: that late work must follow it to A5;
#   round 3  the A1 mobile erases a situation while the A1 antenna and hq
#            still write to it: the erasure must win everywhere.
# After a final quiescent pass (everyone syncs twice) the test checks:
# outboxes empty; each antenna holds exactly its situations, the mobile
# exactly A1's, hq all of them; per situation, `show --json` (state hash
# included) is identical on every replica holding it; every journal entry
# id ever printed by `relais log` is present, and no other; conflicts kept
# on both A1 devices and hq; the reassignment and the erasure as above.
#
# RELAIS_TEST_SEED=N replays a run (the seed is printed on failure).
source "$(dirname "$0")/sync_lib.sh"

SEED="${RELAIS_TEST_SEED:-$(( $(date +%s) % 100000 ))}"
RANDOM=$SEED
ROUNDS=4
FAIL_NOTE="replay with RELAIS_TEST_SEED=$SEED"

ANTENNAS=(A1 A2 A3 A4 A5 A6 A7)
CLIENTS=(a1 a2 a3 a4 a5 a6 a7 m1 hq)
declare -A OWNER     # situation -> expected antenna
declare -A JOURNAL   # situation -> expected journal entry ids (space separated)
declare -A ERASED    # situation -> 1
declare -A DEV       # client -> device id

# The random helpers set globals instead of printing: bash reseeds RANDOM
# in every subshell, so $(...) would make a seeded run unrepeatable.
# pick CHOICES...: PICK receives one of them.
pick() {
	local a=("$@")
	PICK="${a[RANDOM % ${#a[@]}]}"
}

# shuffle WORDS...: SHUF receives them in random order.
shuffle() {
	local i j tmp
	SHUF=("$@")
	for ((i = ${#SHUF[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		tmp="${SHUF[i]}"
		SHUF[i]="${SHUF[j]}"
		SHUF[j]="$tmp"
	done
}

# new_sit CLIENT ANTENNA ARGS...: opens a situation, records its owner;
# NEW_ID receives its id (no subshell: the bookkeeping must stick).
new_sit() {
	local c="$1" a="$2"
	shift 2
	NEW_ID="$(r "$c" new "$@")"
	[[ "$NEW_ID" =~ ^[0-9a-f]{32}$ ]] || fail "relais new printed '$NEW_ID'"
	OWNER[$NEW_ID]="$a"
	JOURNAL[$NEW_ID]=""
}

# log_entry CLIENT SIT TYPE TEXT: appends a journal entry, records its id.
log_entry() {
	local id
	id="$(r "$1" log "$2" --type "$3" "$4")"
	[ -n "$id" ] || fail "relais log printed no id"
	JOURNAL[$2]="${JOURNAL[$2]} $id"
}

random_new() {
	local c="$1" a="${ANT[$1]}" kind ini sex prob ref
	[ -n "$a" ] || { pick "${ANTENNAS[@]}"; a="$PICK"; }
	pick coordination orientation; kind="$PICK"
	pick AB CD EF GH; ini="$PICK"
	pick F M X; sex="$PICK"
	pick acces_soins_psy logement precarite justice addiction soins_somatiques; prob="$PICK"
	pick CMP CCAS hopital medecin; ref="$PICK"
	new_sit "$c" "$a" --antenna "$a" --kind "$kind" --initials "$ini" --sex "$sex" \
		--age $((18 + RANDOM % 70)) --problem "$prob" --referrer "$ref"
	pick appel note vad
	log_entry "$c" "$NEW_ID" "$PICK" "premier contact par $c"
}

# One random change to a situation the client holds.
random_edit() {
	local c="$1" sit="$2" kind f1 f2
	kind=$((RANDOM % 7))
	case $kind in
	0 | 1)
		if [ "$sit" = "$CX" ]; then
			# CX keeps its commune and history conflicts to the end.
			r "$c" set "$sit" "evolution=suivi $c $RANDOM" >/dev/null
		else
			pick "commune=Aix" "commune=Gardanne" "consent=oui" "consent=non" \
				"age=$((20 + RANDOM % 60))" "living=domicile $RANDOM" "evolution=stable $c"
			f1="$PICK"
			# RA keeps the mobile's late "living" to the end: a later
			# edit by a device that has seen it would rightly replace it.
			[ "$sit" = "$RA" ] && [[ "$f1" == living=* ]] && f1="evolution=stable $c"
			pick IJ KL MN
			r "$c" set "$sit" "$f1" "initials=$PICK" >/dev/null
		fi
		;;
	2)
		pick logement justice precarite addiction isolement; f1="$PICK"
		pick CMP CCAS SAMU; f2="$PICK"
		r "$c" tag "$sit" "+$f1" "+referrer:$f2" >/dev/null
		;;
	3 | 4)
		pick vad appel reunion orientation note
		log_entry "$c" "$sit" "$PICK" "suivi de $c, tour $ROUND"
		;;
	5) r "$c" alert "$sit" --due "2030-0$((1 + RANDOM % 9))-1$((RANDOM % 10))" "rappel $c" >/dev/null ;;
	6) if ((RANDOM % 2)); then r "$c" close "$sit" --reason "fin $c" >/dev/null; else r "$c" reopen "$sit" >/dev/null; fi ;;
	esac
}

# A client's offline work for one round.
write_phase() {
	local c="$1" held n sit
	random_new "$c"
	held=($(sits_of "$c"))
	for n in 1 2 3; do
		pick "${held[@]}"
		random_edit "$c" "$PICK"
	done
}

sync_client() {
	run "$1" sync
	[ "$RC" -eq 0 ] || fail "round $ROUND: relais --store $1 sync exited $RC: $ERR"
}

# Everyone syncs at the same time (the server groups concurrent pushes in
# one commit): every sync must succeed.
sync_parallel() {
	local c pids=() i=0
	for c in "${CLIENTS[@]}"; do
		"$RELAIS" --store "$T/$c" sync >/dev/null 2>"$T/par.$c.err" &
		pids+=($!)
		bg_track $!
	done
	for c in "${CLIENTS[@]}"; do
		wait "${pids[$i]}" || fail "round $ROUND: $c's sync, run alongside the others, failed: $(cat "$T/par.$c.err")"
		i=$((i + 1))
	done
}

# Everyone syncs in a random order, then again in another: the first pass
# pushes everything, the second pulls all of it.
sync_all_twice() {
	local c
	for _ in 1 2; do
		shuffle "${CLIENTS[@]}"
		for c in "${SHUF[@]}"; do sync_client "$c"; done
	done
}

# ---- the network
server_init
server_start
mknetwork
for c in "${CLIENTS[@]}"; do
	DEV[$c]="$(device_of "$c")"
done

# ---- round 0: the situations the scripted events use, known to everyone
ROUND=0
new_sit a1 A1 --kind coordination --initials CX --commune Marseille
CX="$NEW_ID"
log_entry a1 "$CX" vad "visite initiale"
new_sit a1 A1 --kind orientation --initials EX --history "antécédents à effacer"
EX="$NEW_ID"
log_entry a1 "$EX" note "note qui sera effacée"
new_sit a2 A2 --kind coordination --initials RS --problem logement
RS="$NEW_ID"
new_sit a1 A1 --kind orientation --initials RA --problem justice
RA="$NEW_ID"
log_entry a1 "$RA" note "ouverture par l'antenne"
log_entry a2 "$RS" appel "appel du CCAS"
log_entry a2 "$RS" vad "visite à domicile"
shuffle "${CLIENTS[@]}"
for c in "${SHUF[@]}"; do random_new "$c"; done
sync_all_twice

for ROUND in $(seq 1 $ROUNDS); do
	case $ROUND in
	1)
		# Concurrent writes: neither device has seen the other's.
		r a1 set "$CX" commune=Aix history=h-a1 >/dev/null
		r m1 set "$CX" commune=Pertuis >/dev/null
		r hq set "$CX" history=h-hq >/dev/null
		log_entry m1 "$CX" vad "visite du mobile"
		log_entry a1 "$CX" appel "appel de l'antenne"
		r m1 tag "$CX" +logement >/dev/null
		r a1 tag "$CX" +justice >/dev/null
		;;
	2)
		log_entry a2 "$RS" orientation "orientation vers A3"
		r a2 assign "$RS" A3 >/dev/null
		OWNER[$RS]=A3
		# The A1 antenna hands RA to A5 while the mobile, offline, still
		# writes to it: the mobile's late work must follow RA to A5.
		r a1 assign "$RA" A5 >/dev/null
		OWNER[$RA]=A5
		log_entry m1 "$RA" vad "visite pendant le transfert"
		r m1 set "$RA" living=foyer >/dev/null
		;;
	3)
		r m1 erase "$EX" --confirm >/dev/null
		ERASED[$EX]=1
		r a1 log "$EX" --type note "écrit pendant l'effacement" >/dev/null
		r hq set "$EX" commune=Salon >/dev/null
		;;
	esac
	actions=()
	for c in "${CLIENTS[@]}"; do actions+=("w:$c" "s:$c"); done
	shuffle "${CLIENTS[@]}"
	for c in "${SHUF[@]:0:3}"; do actions+=("s:$c"); done
	shuffle "${actions[@]}"
	for a in "${SHUF[@]}"; do
		case "$a" in
		w:*) write_phase "${a#w:}" ;;
		s:*) sync_client "${a#s:}" ;;
		esac
	done
	# Some more offline work, then all nine sync at once.
	shuffle "${CLIENTS[@]}"
	for c in "${SHUF[@]:0:4}"; do write_phase "$c"; done
	sync_parallel
done

# ---- quiescence: everyone pushes, then everyone pulls
ROUND=final
sync_all_twice

# ---- checks
for c in "${CLIENTS[@]}"; do
	assert_eq "$(pending_of "$c")" 0 "$c: outbox empty after the quiescent round"
done

expected_of() {
	local want="$1" s
	for s in "${!OWNER[@]}"; do
		[ -z "${ERASED[$s]:-}" ] || continue
		[ -z "$want" ] || [ "${OWNER[$s]}" = "$want" ] || continue
		printf '%s\n' "$s"
	done | sort
}

for k in 1 2 3 4 5 6 7; do
	assert_eq "$(sits_of "a$k" | tr '\n' ' ')" "$(expected_of "A$k" | tr '\n' ' ')" \
		"a$k holds exactly antenna A$k's situations"
done
assert_eq "$(sits_of m1 | tr '\n' ' ')" "$(expected_of A1 | tr '\n' ' ')" "m1 holds exactly A1's situations"
assert_eq "$(sits_of hq | tr '\n' ' ')" "$(expected_of "" | tr '\n' ' ')" "hq holds every situation"
assert_eq "$(r a1 list --json | jq -S .)" "$(r m1 list --json | jq -S .)" "a1 and m1 list the same"

# Per situation, every replica holding it has the same `show --json`
# document (state hash included) as hq: each client's export (the same
# documents, one command) is compared with hq's, situation by situation.
for c in "${CLIENTS[@]}"; do
	r "$c" export --format json | jq -S 'map({key: .id, value: .}) | from_entries' >"$T/export.$c.json"
done
for c in "${CLIENTS[@]}"; do
	[ "$c" != hq ] || continue
	differ="$(jq -r -n --slurpfile a "$T/export.$c.json" --slurpfile h "$T/export.hq.json" \
		'$a[0] | keys[] as $k | select($a[0][$k] != $h[0][$k]) | $k')"
	if [ -n "$differ" ]; then
		s="${differ%%$'\n'*}"
		diff <(jq -S --arg s "$s" '.[$s]' "$T/export.hq.json") <(jq -S --arg s "$s" '.[$s]' "$T/export.$c.json") >&2 || true
		fail "$c and hq differ on: $differ (above: hq vs $c)"
	fi
	ok
	assert_eq "$(jq -r 'keys[]' "$T/export.$c.json" | sort | tr '\n' ' ')" "$(sits_of "$c" | tr '\n' ' ')" "$c: export and list agree"
done
# show --json itself, for a few: it is what export prints.
for s in "$CX" "$RS"; do
	assert_eq "$(r hq show "$s" --json | jq -S .)" "$(jq -S --arg s "$s" '.[$s]' "$T/export.hq.json")" "show and export agree on $s"
done

# Every journal entry id `relais log` printed is on hq (and so, by the
# comparison above, on every replica of its antenna), and no other.
NSITS=0
expected_journal() {
	local s
	for s in $(expected_of ""); do
		printf '%s %s\n' "$s" "$(printf '%s\n' ${JOURNAL[$s]} | sed '/^$/d' | sort | tr '\n' ' ')"
	done
}
got="$(jq -r 'to_entries[] | "\(.key) \([.value.journal[].id] | sort | map(. + " ") | add // "")"' "$T/export.hq.json" | sort)"
want="$(expected_journal | sort)"
if [ "$got" != "$want" ]; then
	diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
	fail "journal entries on hq differ from those written (above: written vs hq)"
fi
ok
NSITS="$(expected_of "" | wc -l)"
NENTRIES="$(jq '[.[].journal | length] | add' "$T/export.hq.json")"
assert_eq "$(jq -r 'to_entries[] | "\(.key) \(.value.antenna)"' "$T/export.hq.json" | sort | tr '\n' ' ')" \
	"$(for s in $(expected_of ""); do echo "$s ${OWNER[$s]}"; done | sort | tr '\n' ' ')" "every situation's antenna"
[ "$NSITS" -ge 40 ] || fail "only $NSITS situations: the workload is too small"

# Conflicts kept on both A1 devices and hq.
for c in a1 m1 hq; do
	cj="$(r "$c" conflicts --json)"
	assert_eq "$(printf '%s' "$cj" | jq -r --arg s "$CX" '.[] | select(.situation == $s and .field == "commune") | [.values[].value] | sort | join(",")')" \
		"Aix,Pertuis" "$c: concurrent commune values both kept"
	assert_eq "$(printf '%s' "$cj" | jq -r --arg s "$CX" '.[] | select(.situation == $s and .field == "commune") | [.values[].author] | sort | join(",")')" \
		"$(printf '%s\n' "${DEV[a1]}" "${DEV[m1]}" | sort | paste -sd, -)" "$c: commune conflict names both authors"
	assert_eq "$(printf '%s' "$cj" | jq -r --arg s "$CX" '.[] | select(.situation == $s and .field == "history") | [.values[].value] | sort | join(",")')" \
		"h-a1,h-hq" "$c: concurrent history values both kept"
	assert_eq "$(jq -r --arg s "$CX" '.[$s].problems | (index("logement") != null and index("justice") != null)' "$T/export.$c.json")" \
		true "$c: tags added concurrently on both A1 devices are both there"
done

# The reassignment: gone from A2, whole on A3.
run a2 show "$RS"
assert_eq "$RC" 1 "reassigned situation gone from a2"
assert_eq "$(r a3 show "$RS" --json | jq -r .antenna)" A3 "reassigned situation on a3"
assert_eq "$(r a3 show "$RS" --json | jq -r '.journal | length')" "$(printf '%s\n' ${JOURNAL[$RS]} | grep -c .)" \
	"reassigned situation arrived with its whole journal"
assert_match "$(r a3 show "$RS" --json | jq -r '.journal[].text')" "appel du CCAS" "journal written on A2 before the reassignment"

for c in a1 m1; do
	run "$c" show "$RA"
	assert_eq "$RC" 1 "$c: situation handed to A5 gone from A1's devices"
done
assert_match "$(r a5 show "$RA" --json | jq -r '.journal[].text')" "visite pendant le transfert" \
	"the mobile's late journal entry followed the situation to A5"
# Random edits never write RA's living: the mobile's value is the only one.
assert_eq "$(r a5 show "$RA" --json | jq -c '[.living, [.conflicts[]? | select(.field == "living")]]')" \
	'["foyer",[]]' "the mobile's late field followed it too"

# The erasure: on no replica.
for c in "${CLIENTS[@]}"; do
	run "$c" show "$EX"
	assert_eq "$RC" 1 "$c: erased situation not shown"
	assert_match "$ERR" "effacée|inconnue" "$c: show says erased or unknown"
	assert_no_match "$(sits_of "$c")" "^$EX$" "$c: erased situation not listed"
done

# Byte-identical replicas: the A1 antenna, the A1 mobile and a new A1
# device enrolled only now hold exactly the same changes, tombstone of the
# erased situation included (export-changes minus its 51-byte header,
# which names the device).
mkclient m2 A1 mobile
sync_client m2
assert_eq "$(sits_of m2 | tr '\n' ' ')" "$(expected_of A1 | tr '\n' ' ')" "new A1 device pulls exactly A1's situations"
for c in a1 m1 m2; do
	"$RELAIS" --store "$T/$c" export-changes - | tail -c +52 >"$T/changes.$c"
done
cmp -s "$T/changes.a1" "$T/changes.m1" || fail "a1 and m1 do not hold byte-identical changes"
ok
cmp -s "$T/changes.a1" "$T/changes.m2" || fail "a1 and the new m2 do not hold byte-identical changes"
ok

echo "seed $SEED, $NSITS situations, $NENTRIES journal entries"
done_ok
