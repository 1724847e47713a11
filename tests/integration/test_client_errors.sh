#!/usr/bin/env bash
# Every bad input a coordinator can type: exit 1, one French line on
# stderr, and the store unchanged (same operations, same pending count);
# usage errors exit 2 and change nothing either.
source "$(dirname "$0")/client_lib.sh"

S="$T/store"
r --store "$S" init --antenna AIX >/dev/null
ID="$(r --store "$S" new --kind coordination --date 2025-03-01 --initials AB --age 40 --problem logement)"
E1="$(r --store "$S" log "$ID" --type vad --date 2025-03-02 "Première visite")"
A1="$(r --store "$S" alert "$ID" --due 2025-04-01 "RDV CMP")"
BEFORE="$(fingerprint "$S")" || fail "fingerprint failed"

unchanged() {
	local now
	now="$(fingerprint "$S")" || fail "fingerprint failed"
	[ "$now" = "$BEFORE" ] || fail "store changed after a refused command ($1)"
	ok
}

# bad CODE REGEX args...: refused with CODE, store unchanged.
bad() {
	expect_fail "$@"
	unchanged "${*:3}"
}

NOPE="0123456789abcdef0123456789abcdef"
BIG="$(head -c 65537 /dev/zero | tr '\0' 'a')"
MAX="$(head -c 65536 /dev/zero | tr '\0' 'b')"

# ---- unknown or malformed situation ids ----
bad 1 '^relais: situation inconnue : 0123456789abcdef' --store "$S" show "$NOPE"
bad 1 'situation inconnue' --store "$S" set "$NOPE" commune=Aix
bad 1 'situation inconnue' --store "$S" log "$NOPE" --type note "texte"
bad 1 'situation inconnue' --store "$S" show "${NOPE:0:10}"
bad 1 'identifiant de situation invalide' --store "$S" show xyz
bad 1 'identifiant de situation invalide' --store "$S" show "${ID:0:5}"
bad 1 'identifiant de situation invalide' --store "$S" show "${ID}00"
bad 1 'identifiant de situation invalide' --store "$S" close "zz${ID:2}"

# ---- fields and values ----
bad 1 'champ inconnu' --store "$S" set "$ID" foo=1
bad 1 'champ inconnu' --store "$S" set "$ID" status=closed
bad 1 'champ inconnu' --store "$S" set "$ID" antenna=GAP
# A bad field after a good one: nothing at all is written.
bad 1 'champ inconnu' --store "$S" set "$ID" commune=Aix nom=Dupont
bad 1 'valeur invalide pour kind' --store "$S" set "$ID" kind=suivi
bad 1 'valeur invalide pour consent' --store "$S" set "$ID" consent=peut-etre
bad 1 'valeur invalide pour sex' --store "$S" set "$ID" sex=Z
bad 1 'valeur invalide pour age' --store "$S" set "$ID" age=131
bad 1 'valeur invalide pour age' --store "$S" set "$ID" age=abc
bad 1 'valeur invalide pour age' --store "$S" set "$ID" age=-1
bad 1 'valeur invalide pour age' --store "$S" set "$ID" age=
bad 1 'valeur invalide pour age' --store "$S" set "$ID" commune=Aix age=1000
bad 1 'caractère de contrôle' --store "$S" set "$ID" "initials=A$(printf '\033')[31m"
bad 1 'non UTF-8' --store "$S" set "$ID" "commune=$(printf 'Aix\377')"
bad 1 'valeur invalide pour kind' --store "$S" new --kind suivi
bad 1 'valeur invalide pour consent' --store "$S" new --kind orientation --consent maybe
bad 1 'valeur invalide pour sex' --store "$S" new --kind orientation --sex female
bad 1 'valeur invalide pour age' --store "$S" new --kind orientation --age 200
bad 1 'code de problème invalide' --store "$S" new --kind orientation --problem Logement
bad 1 'code d.antenne invalide' --store "$S" new --kind orientation --antenna "A B"
bad 1 'type d.entrée invalide' --store "$S" log "$ID" --type visite "texte"
bad 1 'texte vide' --store "$S" log "$ID" --type note ""
bad 1 'code de problème invalide' --store "$S" tag "$ID" +Justice
bad 1 'code de problème invalide' --store "$S" tag "$ID" +justice +mal-forme
bad 1 'absent de cette situation' --store "$S" tag "$ID" +justice -addiction
bad 1 'absent de cette situation' --store "$S" tag "$ID" -referrer:CCAS
bad 1 'code d.antenne invalide' --store "$S" assign "$ID" "A/B"
bad 1 'champ inconnu' --store "$S" resolve "$ID" nom X
bad 1 'valeur invalide pour status' --store "$S" resolve "$ID" status ferme
bad 1 'format inconnu' --store "$S" export --format xml

# ---- dates that do not exist ----
bad 1 'date invalide pour --date : 2025-02-30' --store "$S" new --kind orientation --date 2025-02-30
bad 1 'date invalide' --store "$S" new --kind orientation --date 2023-02-29
bad 1 'date invalide' --store "$S" new --kind orientation --date 01/03/2025
bad 1 'date invalide' --store "$S" log "$ID" --type vad --date 2025-04-31 "texte"
bad 1 'date invalide' --store "$S" alert "$ID" --due 2025-13-01 "texte"
bad 1 'date invalide' --store "$S" close "$ID" --date 2025-00-10
bad 1 'date invalide' --store "$S" alerts --due-before 2025-02-29
r --store "$S" new --kind orientation --date 2024-02-29 >/dev/null # a leap day exists
BEFORE="$(fingerprint "$S")" || fail "fingerprint failed"

# ---- journal entries and alerts ----
bad 1 'entrée du journal inconnue' --store "$S" log "$ID" --type note --amends "${E1%-*}-999" "x"
bad 1 'identifiant invalide' --store "$S" log "$ID" --type note --amends pasunid "x"
bad 1 'alerte inconnue' --store "$S" alert-done "$ID" "${A1%-*}-999"
bad 1 'alerte inconnue' --store "$S" alert-done "$ID" "$E1"

# ---- 64 KiB bounds ----
bad 1 'trop long' --store "$S" set "$ID" "history=$BIG"
bad 1 'trop long' --store "$S" log "$ID" --type note "$BIG"
bad 1 'trop long' --store "$S" alert "$ID" --due 2025-05-01 "$BIG"
printf '%s' "$BIG" >"$T/big.txt"
run --store "$S" log "$ID" --type note - <"$T/big.txt"
[ "$RC" -eq 1 ] || fail "log - with 64 KiB + 1 on stdin exited $RC"
unchanged "log - too big"
r --store "$S" set "$ID" "history=$MAX" >/dev/null # exactly 64 KiB is accepted
assert_eq "$(r --store "$S" show "$ID" --json | jq -r '.history|length')" "65536" "64 KiB value kept"
BEFORE="$(fingerprint "$S")" || fail "fingerprint failed"

# ---- secrets and stores ----
RELAIS_PASSPHRASE=wrong bad 1 'phrase secrète ou fichier de clé incorrect' --store "$S" list
RELAIS_PASSPHRASE=wrong bad 1 'phrase secrète ou fichier de clé incorrect' --store "$S" set "$ID" commune=Aix
bad 1 'aucun magasin de données' --store "$T/nowhere" list
bad 1 'aucun magasin de données' --store "$T/nowhere" new --kind orientation
[ ! -e "$T/nowhere" ] || fail "a read created a store"
ok
bad 1 'existe déjà' --store "$S" init --antenna AIX
bad 1 'code d.antenne invalide' --store "$T/other" init --antenna "Aix en Provence"
bad 1 'rôle invalide' --store "$T/other" init --antenna AIX --role server
RELAIS_PASSPHRASE= bad 1 'ne peut pas être vide' --store "$T/other" init --antenna AIX
[ ! -e "$T/other/data.mdb" ] || fail "a refused init left a store"
ok

# ---- change files ----
bad 1 'lecture impossible' --store "$S" import-changes "$T/absent.chg"
: >"$T/empty.chg"
bad 1 'fichier de changements invalide' --store "$S" import-changes "$T/empty.chg"
echo "ceci n'est pas un fichier de changements" >"$T/text.chg"
bad 1 'fichier de changements invalide' --store "$S" import-changes "$T/text.chg"

# ---- usage errors: exit 2, nothing written ----
bad 2 'commande inconnue' --store "$S" frobnicate
bad 2 'option inconnue' --store "$S" list --bogus
bad 2 'option inconnue' --bogus list
bad 2 'option inconnue' --store "$S" new --kind orientation -x
bad 2 'argument manquant' --store "$S" show
bad 2 'argument manquant' --store "$S" set "$ID"
bad 2 'argument manquant' --store "$S" alert-done "$ID"
bad 2 'trop d.arguments' --store "$S" show "$ID" "$ID"
bad 2 'attend une valeur' --store "$S" new --kind
bad 2 'attend une valeur' list --store
bad 2 'ne prend pas de valeur' --store "$S" list --json=yes
bad 2 'obligatoire' --store "$S" new --initials AB
bad 2 'obligatoire' --store "$S" log "$ID" "texte sans type"
bad 2 'obligatoire' --store "$S" alert "$ID" "texte sans échéance"
bad 2 'obligatoire' --store "$S" init
bad 2 'CHAMP=VALEUR' --store "$S" set "$ID" commune
bad 2 '\+CODE ou -CODE' --store "$S" tag "$ID" justice
bad 2 '--confirm' --store "$S" erase "$ID"
run
[ "$RC" -eq 2 ] || fail "relais with no arguments exited $RC"
ok

# Still the same store, still readable.
assert_eq "$(r --store "$S" show "$ID" --json | jq -r .initials)" "AB" "store intact"
done_ok
