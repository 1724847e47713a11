#!/usr/bin/env bash
# Two stores working offline on the same situation, merged through
# export-changes / import-changes: concurrent writes of one field are kept
# side by side with their authors until `resolve`; journals and tags merge;
# after a full exchange both stores hold the same state; an erasure is never
# undone by old changes; a hostile change file is refused and changes nothing.
source "$(dirname "$0")/client_lib.sh"

A="$T/antenne"
B="$T/mobile"
DEVA="$(r --store "$A" init --antenna AIX)"
DEVB="$(r --store "$B" init --antenna AIX --role mobile)"

# exchange FROM TO: FROM's changes into TO; prints import's summary.
exchange() {
	r --store "$1" export-changes "$T/x.chg" >/dev/null
	r --store "$2" import-changes "$T/x.chg"
}

ID="$(r --store "$A" new --kind coordination --date 2025-05-02 --commune Aix --problem logement --initials CD)"
OUT="$(exchange "$A" "$B")"
assert_match "$OUT" '^8 changements lus, 8 nouveaux' "first import"
OUT="$(r --store "$B" import-changes "$T/x.chg")"
assert_match "$OUT" ', 0 nouveau' "importing twice changes nothing"
assert_eq "$(r --store "$B" show "$ID" --json | jq -r .commune)" "Aix" "B holds the situation"
assert_eq "$(r --store "$B" status --json | jq -r .pending)" "0" "imported changes are not B's to push"

# ---- offline, both edit the same situation ----
r --store "$A" set "$ID" commune=Gardanne >/dev/null
r --store "$B" set "$ID" commune=Marseille age=40 >/dev/null
EA="$(r --store "$A" log "$ID" --type vad --date 2025-05-10 "Visite A chez la personne")"
EB="$(r --store "$B" log "$ID" --type appel --date 2025-05-09 "Appel B au CMP")"
r --store "$B" tag "$ID" +justice -logement >/dev/null
r --store "$B" tag "$ID" +logement >/dev/null # a fresh add of logement...
r --store "$A" tag "$ID" -logement >/dev/null # ...concurrent with A's remove: add wins

exchange "$A" "$B" >/dev/null
exchange "$B" "$A" >/dev/null

for s in "$A" "$B"; do
	C="$(r --store "$s" conflicts --json)"
	assert_eq "$(jqr "$C" length)" "1" "one conflict in $(basename "$s")"
	assert_eq "$(jqr "$C" '.[0].situation')" "$ID" "conflict situation"
	assert_eq "$(jqr "$C" '.[0].field')" "commune" "conflict field"
	assert_eq "$(jqr "$C" '[.[0].values[]|"\(.value)=\(.author)"]|sort|join(",")')" \
		"Gardanne=$DEVA,Marseille=$DEVB" "both values with their authors"
	J="$(r --store "$s" show "$ID" --json)"
	assert_eq "$(jqr "$J" '.conflicts[0].field')" "commune" "show --json conflicts"
	assert_eq "$(jqr "$J" '.conflicts[0].values|length')" "2" "show --json conflict values"
	assert_eq "$(jqr "$J" '[.journal[].id]|join(" ")')" "$EB $EA" "both journals kept, in date order"
	assert_eq "$(jqr "$J" '.problems|join(",")')" "justice,logement" "sets merged, add wins"
	assert_eq "$(jqr "$J" .age)" "40" "non-conflicting write merged"
	TXT="$(r --store "$s" show "$ID")"
	assert_match "$TXT" 'Commune +(Gardanne|Marseille)  \[CONFLIT\]' "show marks the field in conflict"
	assert_match "$TXT" 'Conflits à trancher' "show lists conflicts"
	assert_match "$TXT" "« Gardanne »  par ${DEVA:0:8}" "show: value and author A"
	assert_match "$TXT" "« Marseille »  par ${DEVB:0:8}" "show: value and author B"
	assert_match "$(r --store "$s" list)" "^$ID .* 1 +CD" "list flags the conflict"
done
# Same changes seen, same displayed winner on both sides.
assert_eq "$(r --store "$A" show "$ID" --json | jq -r .commune)" \
	"$(r --store "$B" show "$ID" --json | jq -r .commune)" "deterministic winner"

# ---- resolve on A, exchange, both agree ----
r --store "$A" resolve "$ID" commune "Aix-en-Provence" >/dev/null
assert_eq "$(r --store "$A" conflicts --json | jq -r length)" "0" "resolve supersedes both values"
assert_match "$(r --store "$A" conflicts)" 'Aucun conflit' "conflicts text when none"
exchange "$A" "$B" >/dev/null
exchange "$B" "$A" >/dev/null
assert_eq "$(r --store "$B" conflicts --json | jq -r length)" "0" "resolution reached B"
JA="$(r --store "$A" export --format json)"
JB="$(r --store "$B" export --format json)"
assert_eq "$JA" "$JB" "both stores show the same after re-exchange"
assert_eq "$(jqr "$JA" '.[0].commune')" "Aix-en-Provence" "resolved value"
assert_eq "$(jqr "$JA" '.[0].state_hash')" "$(jqr "$JB" '.[0].state_hash')" "same state hash"

# ---- concurrent alert completion and due change: alert registers merge ----
AL="$(r --store "$A" alert "$ID" --due 2025-06-01 "RDV CMP")"
exchange "$A" "$B" >/dev/null
r --store "$A" resolve "$ID" "due@$AL" 2025-06-15 >/dev/null
r --store "$B" resolve "$ID" "due@$AL" 2025-06-20 >/dev/null
r --store "$B" alert-done "$ID" "$AL" >/dev/null
exchange "$A" "$B" >/dev/null
exchange "$B" "$A" >/dev/null
C="$(r --store "$A" conflicts --json)"
assert_eq "$(jqr "$C" '[.[].field]|join(",")')" "due@$AL" "alert due date in conflict"
assert_eq "$(r --store "$A" alerts --json | jq -r length)" "0" "alert done on B is done on A"
r --store "$A" resolve "$ID" "due@$AL" 2025-06-20 >/dev/null
assert_eq "$(r --store "$A" conflicts --json | jq -r length)" "0" "alert conflict resolved"

# ---- erasure is never undone by old changes ----
exchange "$A" "$B" >/dev/null
r --store "$B" export-changes "$T/old-b.chg" >/dev/null # B's full copy, before the erase
r --store "$A" export-changes "$T/old-a.chg" >/dev/null
r --store "$A" erase "$ID" --confirm >/dev/null
r --store "$B" log "$ID" --type note "Note écrite hors ligne après l'effacement" >/dev/null
exchange "$A" "$B" >/dev/null
expect_fail 1 'situation effacée' --store "$B" show "$ID"
exchange "$B" "$A" >/dev/null
r --store "$A" import-changes "$T/old-b.chg" >/dev/null
r --store "$A" import-changes "$T/old-a.chg" >/dev/null
r --store "$B" import-changes "$T/old-b.chg" >/dev/null
grep -aq "Visite A" "$T/old-b.chg" || fail "change files should hold the journal text"
ok
for s in "$A" "$B"; do
	expect_fail 1 'situation effacée' --store "$s" show "$ID"
	assert_eq "$(r --store "$s" list --json | jq -r length)" "0" "erased situation stays gone"
	assert_eq "$(r --store "$s" export --format json | jq -r length)" "0" "nothing exported"
	r --store "$s" export-changes "$T/all.chg" >/dev/null
	if grep -aq -e "Visite A" -e "Gardanne" -e "après l'effacement" "$T/all.chg"; then
		fail "erased content still in $(basename "$s")'s changes"
	fi
	ok
done

# ---- hostile change files: refused, store unchanged ----
ID2="$(r --store "$A" new --kind orientation --initials EF)"
r --store "$A" export-changes "$T/good.chg" >/dev/null
BEFORE="$(fingerprint "$A")"
refused() {
	expect_fail 1 "$1" --store "$A" import-changes "$2"
	assert_eq "$(fingerprint "$A")" "$BEFORE" "store unchanged after refusing $(basename "$2")"
}
size=$(stat -c %s "$T/good.chg")
head -c $((size - 7)) "$T/good.chg" >"$T/truncated.chg"
refused 'fichier de changements invalide' "$T/truncated.chg"
{ cat "$T/good.chg"; printf '\x00'; } >"$T/trailing.chg"
refused 'fichier de changements invalide' "$T/trailing.chg"
# A header declaring 4 billion operations in a few bytes.
printf '\x94\xaerelais-changes\x01\xc4\x20%s\xdd\xff\xff\xff\xff' \
	"$(head -c 32 /dev/zero | tr '\0' 'k')" >"$T/huge.chg"
refused 'fichier de changements invalide' "$T/huge.chg"
printf '\x94\xaerelais-changes\x09\xc4\x20%s\x90' "$(head -c 32 /dev/zero | tr '\0' 'k')" >"$T/v9.chg"
refused 'version inconnue' "$T/v9.chg"

# Hand-made files: one register write, stamped now (accepted elsewhere) or
# two days ahead (refused: it would drag this device's clock forward).
craft() { # craft FILE HLC_MS DEVICE_HEX CTR [SITUATION_HEX]
	python3 - "$@" <<'EOF'
import os, sys
path, ms, dev, ctr = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
sit = bytes.fromhex(sys.argv[5]) if len(sys.argv) > 5 else os.urandom(16)
def uint(v):
    if v < 128: return bytes([v])
    if v < 1 << 8: return b'\xcc' + v.to_bytes(1, 'big')
    if v < 1 << 16: return b'\xcd' + v.to_bytes(2, 'big')
    if v < 1 << 32: return b'\xce' + v.to_bytes(4, 'big')
    return b'\xcf' + v.to_bytes(8, 'big')
def binv(b): return b'\xc4' + bytes([len(b)]) + b
op = b'\x9a' + binv(sit) + binv(dev) + uint(ctr) + uint(ms << 16) + uint(1) + uint(8) \
     + b'\xc0' + uint(0) + binv(b'Vitrolles') + b'\x90'
open(path, 'wb').write(b'\x94\xaerelais-changes\x01' + binv(dev) + b'\x91' + op)
EOF
}
NOW_MS=$(($(date +%s) * 1000))
OTHER="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
craft "$T/now.chg" "$NOW_MS" "$OTHER" 1
craft "$T/future.chg" $((NOW_MS + 2 * 86400 * 1000)) "$OTHER" 1
refused 'dans le futur' "$T/future.chg"
# Changes claiming to be this device's, beyond what it has written.
craft "$T/mine.chg" "$NOW_MS" "$DEVA" 999999
refused "qu'il n'a pas faits" "$T/mine.chg"
# The well-formed one is accepted (so the refusals above were for cause).
OUT="$(r --store "$B" import-changes "$T/now.chg")"
assert_match "$OUT" '1 changement lu, 1 nouveau' "crafted change file accepted"
assert_match "$(r --store "$B" list --json | jq -r '.[].id')" '^[0-9a-f]{32}$' "crafted situation listed"

# Two situations sharing a 6-character prefix: the prefix is ambiguous, a
# longer one is not.
craft "$T/p1.chg" "$NOW_MS" "$OTHER" 2 "abcdef01000000000000000000000000"
craft "$T/p2.chg" "$NOW_MS" "$OTHER" 3 "abcdef02000000000000000000000000"
r --store "$B" import-changes "$T/p1.chg" >/dev/null
r --store "$B" import-changes "$T/p2.chg" >/dev/null
expect_fail 1 'identifiant ambigu' --store "$B" show abcdef
assert_eq "$(r --store "$B" show abcdef02 --json | jq -r .commune)" "Vitrolles" "longer prefix resolves"

# Entry ids are accepted with the device's full hex too.
E="$(r --store "$B" log abcdef01 --type note --date 2025-01-01 "x")"
FULL="$DEVB-${E##*-}"
r --store "$B" log abcdef01 --type note --amends "$FULL" "correction" >/dev/null
assert_eq "$(r --store "$B" show abcdef01 --json | jq -r '.journal[1].amends')" "$E" "full device hex in an entry id"

# And the good file still imports into A after all the refusals.
OUT="$(r --store "$A" import-changes "$T/good.chg")"
assert_match "$OUT" ', 0 nouveau' "good file after refusals"
done_ok
