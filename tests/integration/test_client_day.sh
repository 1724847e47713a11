#!/usr/bin/env bash
# A day of a mobile coordinator, offline: set up the laptop, open a
# situation, record home visits and calls, correct an entry, set follow-up
# alerts and complete one, close, reopen, reassign, erase. Checks the text
# case file, every --json document, global options before/after the
# command, --help everywhere and that no situation text is on disk in clear.
source "$(dirname "$0")/client_lib.sh"

S="$T/laptop"

# ---- setting up the laptop ----
DEV="$(r --store "$S" init --antenna AIX --role mobile)"
assert_match "$DEV" '^[0-9a-f]{64}$' "init prints the device id"
ST="$(r --store "$S" status --json)"
assert_eq "$(jqr "$ST" .device)" "$DEV" "status device"
assert_eq "$(jqr "$ST" .antenna)" "AIX" "status antenna"
assert_eq "$(jqr "$ST" .role)" "mobile" "status role"
assert_eq "$(jqr "$ST" .pending)" "0" "status pending on a new store"
assert_eq "$(jqr "$ST" .last_sync)" "null" "status last_sync"
assert_eq "$(jqr "$ST" .server_reachable)" "false" "status server_reachable"
assert_eq "$(jqr "$ST" .clock_error)" "false" "status clock_error"
assert_match "$(r --store "$S" status)" 'Rôle +mobile' "status text"

# ---- a new situation, from the first-line call ----
ID="$(r --store "$S" new --kind coordination --date 2025-03-01 --initials M.D. --sex f \
	--age 54 --commune Aubagne --referrer CCAS --referrer "Dr Martin" \
	--problem logement --problem acces_soins_psy)"
assert_match "$ID" '^[0-9a-f]{32}$' "new prints the situation id"
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" .id)" "$ID" "show id"
assert_eq "$(jqr "$J" .kind)" "coordination" "kind"
assert_eq "$(jqr "$J" .antenna)" "AIX" "antenna defaults to the device's"
assert_eq "$(jqr "$J" .opened)" "2025-03-01" "opened"
assert_eq "$(jqr "$J" .status)" "open" "status"
assert_eq "$(jqr "$J" .consent)" "en_attente" "consent defaults to en_attente"
assert_eq "$(jqr "$J" .initials)" "M.D." "initials"
assert_eq "$(jqr "$J" .sex)" "F" "sex normalised"
assert_eq "$(jqr "$J" .age)" "54" "age"
assert_eq "$(jqr "$J" .commune)" "Aubagne" "commune"
assert_eq "$(jqr "$J" '.problems|join(",")')" "acces_soins_psy,logement" "problems"
assert_eq "$(jqr "$J" '.referrers|join(",")')" "CCAS,Dr Martin" "referrers"
for k in id antenna kind status opened consent initials sex age commune living history \
	evolution problems referrers professionals journal alerts conflicts; do
	assert_eq "$(jqr "$J" "has(\"$k\")")" "true" "show --json has key $k"
done

# A second situation, opened today by default, for another antenna.
ID2="$(r --store "$S" new --kind orientation --antenna GAP --consent oui)"
assert_eq "$(r --store "$S" show "$ID2" --json | jq -r .opened)" "$(date +%F)" "opened defaults to today"

# ---- the home visit, a call, a correction ----
E1="$(r --store "$S" log "$ID" --type vad --date 2025-03-05 "VAD : logement insalubre, pas de suivi CMP depuis la sortie")"
assert_match "$E1" '^[0-9a-f]{16}-[0-9]+$' "log prints the entry id"
E2="$(r --store "$S" log "${ID:0:8}" --type appel --date 2025-03-02 "Appel du CCAS")"
E3="$(r --store "$S" log "$ID" --type note --date 2025-03-06 --amends "$E1" "Correction : suivi CMP interrompu en janvier")"
E4="$(printf 'Réunion de concertation\navec le CMP\n' | "$RELAIS" --store "$S" log "$ID" --type reunion --date 2025-03-10 -)"
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" '[.journal[].id]|join(" ")')" "$E2 $E1 $E3 $E4" "journal in date order"
assert_eq "$(jqr "$J" '[.journal[].type]|join(" ")')" "appel vad note reunion" "journal types"
assert_eq "$(jqr "$J" '.journal[2].amends')" "$E1" "amendment points at the entry it corrects"
assert_eq "$(jqr "$J" '.journal[0].amends')" "null" "plain entry amends nothing"
assert_eq "$(jqr "$J" '.journal[1].author')" "$DEV" "journal author is the device id"
assert_eq "$(jqr "$J" '.journal[3].text')" "Réunion de concertation
avec le CMP" "journal text from stdin"
assert_eq "$(jqr "$J" '.counts.home_visits')" "1" "home visits counted"

# ---- follow-up alerts ----
A_LATE="$(r --store "$S" alert "$ID" --due 2001-01-10 "Vérifier le RDV CMP après la sortie d'hospitalisation")"
A_FUT="$(r --store "$S" alert "$ID" --due 2999-01-01 "Bilan à deux mois")"
A_OTHER="$(r --store "$S" alert "$ID2" --due 2010-06-01 "Rappeler l'hôpital")"
assert_match "$A_LATE" '^[0-9a-f]{16}-[0-9]+$' "alert prints its id"
AL="$(r --store "$S" alerts --json)"
assert_eq "$(jqr "$AL" '[.[].id]|join(" ")')" "$A_LATE $A_OTHER $A_FUT" "alerts oldest due first"
assert_eq "$(jqr "$AL" '[.[].situation]|join(" ")')" "$ID $ID2 $ID" "alerts situations"
assert_eq "$(jqr "$AL" '[.[].done]|unique|join(",")')" "false" "alerts lists alerts not done"
assert_eq "$(jqr "$AL" '.[0].overdue')" "true" "past alert overdue"
assert_eq "$(jqr "$AL" '.[2].overdue')" "false" "future alert not overdue"
for k in situation id due text done; do
	assert_eq "$(jqr "$AL" ".[0]|has(\"$k\")")" "true" "alerts --json has key $k"
done
AL="$(r --store "$S" alerts --due-before 2011-01-01 --json)"
assert_eq "$(jqr "$AL" '[.[].id]|join(" ")')" "$A_LATE $A_OTHER" "alerts --due-before"
TXT="$(r --store "$S" alerts)"
assert_match "${TXT%%$'\n'*}" '^EN RETARD +2001-01-10' "alerts text: overdue first, marked"

# The case file, in French.
TXT="$(r --store "$S" show "$ID")"
assert_match "$TXT" "^Situation $ID" "show header"
assert_match "$TXT" 'Initiales +M\.D\.' "show initials"
assert_match "$TXT" 'Âge +54 ans' "show age"
assert_match "$TXT" 'Consentement +en attente' "show consent"
assert_match "$TXT" 'Statut +ouverte' "show status"
assert_match "$TXT" 'Problèmes +acces_soins_psy, logement' "show problems"
assert_match "$TXT" 'Adresseurs +CCAS, Dr Martin' "show referrers"
assert_match "$TXT" 'Journal \(4 entrées\)' "show journal count"
assert_match "$TXT" "2025-03-05  visite à domicile +par ${DEV:0:8}" "show home visit with author"
assert_match "$TXT" "corrige \[$E1\]" "show amendment marked"
assert_match "$TXT" "EN RETARD +2001-01-10 +\[$A_LATE\]" "show overdue alert marked"
late_line="$(printf '%s\n' "$TXT" | grep -n "$A_LATE" | cut -d: -f1)"
fut_line="$(printf '%s\n' "$TXT" | grep -n "$A_FUT" | cut -d: -f1)"
[ "$late_line" -lt "$fut_line" ] || fail "show: overdue alert not listed first"
ok

# Completing an alert.
r --store "$S" alert-done "$ID" "$A_LATE" >/dev/null
AL="$(r --store "$S" alerts --json)"
assert_eq "$(jqr "$AL" '[.[].id]|join(" ")')" "$A_OTHER $A_FUT" "done alert no longer listed"
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" "[.alerts[]|select(.id==\"$A_LATE\")|.done][0]")" "true" "alert done in show"
assert_match "$(r --store "$S" show "$ID")" "faite +2001-01-10" "show marks done alert"
r --store "$S" alert-done "$ID" "$A_LATE" >/dev/null # again: nothing to do, still fine

# ---- registers and tags ----
r --store "$S" set "$ID" consent=oui "living=Seul, appartement au 3e sans ascenseur" evolution=stable >/dev/null
r --store "$S" tag "$ID" +justice -logement +referrer:SAMU -referrer:CCAS +pro:Dr_X >/dev/null
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" .consent)" "oui" "set consent"
assert_eq "$(jqr "$J" .living)" "Seul, appartement au 3e sans ascenseur" "set living"
assert_eq "$(jqr "$J" '.problems|join(",")')" "acces_soins_psy,justice" "tag problems"
assert_eq "$(jqr "$J" '.referrers|join(",")')" "Dr Martin,SAMU" "tag referrers"
assert_eq "$(jqr "$J" '.professionals|join(",")')" "Dr_X" "tag professionals"

# ---- close, reopen, reassign ----
r --store "$S" close "$ID" --reason "Relais pris par le CMP" --date 2025-04-30 >/dev/null
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" .status)" "closed" "close: status"
assert_eq "$(jqr "$J" .closed)" "2025-04-30" "close: date"
assert_eq "$(jqr "$J" .close_reason)" "Relais pris par le CMP" "close: reason"
assert_eq "$(jqr "$J" '.journal|length')" "4" "close adds no journal entry"
assert_match "$(r --store "$S" show "$ID")" 'Statut +clôturée le 2025-04-30 \(motif : Relais pris par le CMP\)' "show closed"
assert_eq "$(r --store "$S" list --open --json | jq -r '[.[].id]|join(" ")')" "$ID2" "list --open"
assert_eq "$(r --store "$S" list --json | jq -r 'length')" "2" "list all"
r --store "$S" reopen "$ID" >/dev/null
J="$(r --store "$S" show "$ID" --json)"
assert_eq "$(jqr "$J" .status)" "open" "reopen: status"
assert_eq "$(jqr "$J" .closed)" "null" "reopen clears the closing date"
r --store "$S" assign "$ID" AUB >/dev/null
assert_eq "$(r --store "$S" list --antenna AUB --json | jq -r '[.[].id]|join(" ")')" "$ID" "assign + list --antenna"
L="$(r --store "$S" list --json)"
for k in id antenna kind status opened; do
	assert_eq "$(jqr "$L" ".[0]|has(\"$k\")")" "true" "list --json has key $k"
done
assert_eq "$(jqr "$L" '[.[].id]|join(" ")')" "$ID $ID2" "list sorted by opening date"
assert_match "$(r --store "$S" list)" "^$ID +2025-03-01 +AUB +coordination +ouverte" "list text"

# ---- global options anywhere, RELAIS_STORE, id prefixes ----
assert_eq "$(r list --store "$S" --json | jq -r length)" "2" "--store after the command"
assert_eq "$(r list --json --store="$S" | jq -r length)" "2" "--store=DIR"
assert_eq "$(RELAIS_STORE="$S" r list --json | jq -r length)" "2" "RELAIS_STORE"
assert_eq "$(r --store "$S" show "${ID:0:6}" --json | jq -r .id)" "$ID" "6-char id prefix"
assert_eq "$(r --store "$S" show "$(echo "$ID" | tr a-f A-F)" --json | jq -r .id)" "$ID" "upper-case id"

# The per-user default store ($XDG_DATA_HOME/relais).
DEV2="$(r init --antenna MAR)"
[ -f "$XDG_DATA_HOME/relais/data.mdb" ] || fail "default store not in \$XDG_DATA_HOME/relais"
assert_eq "$(r status --json | jq -r .device)" "$DEV2" "default store used"

# ---- nothing readable on disk ----
for needle in "logement insalubre" "Aubagne" "Relais pris par le CMP" "Dr Martin"; do
	if grep -rqa -- "$needle" "$S"; then fail "'$needle' found in clear in the store files"; fi
	ok
done

# ---- pending changes, erase ----
P="$(r --store "$S" status --json | jq -r .pending)"
[ "$P" -gt 20 ] || fail "pending should count every change, got $P"
ok
r --store "$S" erase "$ID2" --confirm >/dev/null
expect_fail 1 'situation effacée' --store "$S" show "$ID2"
expect_fail 1 'situation effacée' --store "$S" log "$ID2" --type note "trop tard"
assert_eq "$(r --store "$S" list --json | jq -r '[.[].id]|join(" ")')" "$ID" "erased situation not listed"
assert_eq "$(r --store "$S" alerts --json | jq -r '[.[].situation]|unique|join(" ")')" "$ID" "erased situation's alerts gone"

# ---- help and version ----
HELP="$(r --help)"
assert_match "$HELP" '^usage : relais' "relais --help"
for c in init passwd enroll sync status new set tag log alert alert-done close reopen assign \
	erase show list alerts conflicts resolve export export-changes import-changes; do
	run "$c" --help
	[ "$RC" -eq 0 ] || fail "relais $c --help exited $RC"
	assert_match "$OUT" "^usage : relais $c" "relais $c --help"
	assert_match "$HELP" "^  $c " "relais --help lists $c"
done
assert_match "$(r --version)" '^relais [0-9]+\.[0-9]+' "--version"

# ---- sync with no server configured: a user error, the work stays queued ----
P="$(r --store "$S" status --json | jq -r .pending)"
expect_fail 1 'rattach|enroll|disponible' --store "$S" sync
assert_eq "$(r --store "$S" status --json | jq -r .pending)" "$P" "failed sync keeps pending changes"

# ---- key files and passphrase changes ----
K="$T/key"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$K"
r --store "$T/kf" --key-file "$K" init --antenna NIC >/dev/null
r --store "$T/kf" new --kind orientation --key-file "$K" >/dev/null
expect_fail 1 'phrase secrète ou fichier de clé incorrect' --store "$T/kf" list
RELAIS_NEW_PASSPHRASE="nouvelle phrase" r --store "$S" passwd >/dev/null
expect_fail 1 'phrase secrète ou fichier de clé incorrect' --store "$S" list
assert_eq "$(RELAIS_PASSPHRASE="nouvelle phrase" r --store "$S" list --json | jq -r length)" "1" "new passphrase opens the store"
RELAIS_PASSPHRASE="nouvelle phrase" r --store "$S" passwd --new-key-file "$K" >/dev/null
assert_eq "$(r --store "$S" --key-file "$K" list --json | jq -r length)" "1" "switched to a key file"
expect_fail 1 'phrase secrète ou fichier de clé incorrect' --store "$S" list
echo "pas une clé" >"$T/badkey"
expect_fail 1 'fichier de clé mal formé' --store "$S" --key-file "$T/badkey" list

# No passphrase and no terminal: a clear error, not a hang.
set +e
OUT="$(env -u RELAIS_PASSPHRASE setsid "$RELAIS" --store "$T/kf" list </dev/null 2>&1)"
RC=$?
set -e
[ "$RC" -eq 1 ] || fail "no secret and no terminal: exit $RC ($OUT)"
assert_match "$OUT" 'aucune phrase secrète' "no secret and no terminal"

# ---- the passphrase prompt on a terminal: asked (twice at init), not echoed ----
PTY_OUT="$(timeout 60 python3 - "$RELAIS" "$T/tty" <<'EOF'
import os, pty, select, sys, time
relais, store = sys.argv[1], sys.argv[2]
def read_some(fd, until):
    r, _, _ = select.select([fd], [], [], max(0, until - time.time()))
    if not r:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""
def drive(args, lines):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.pop("RELAIS_PASSPHRASE", None)
        os.execv(relais, [relais, "--store", store] + args)
    out, seen = b"", 0
    for line in lines:
        # Wait for the next prompt (a new ':' ending the output), then type.
        until = time.time() + 10
        while not (out.rstrip().endswith(b":") and out.count(b":") > seen):
            d = read_some(fd, until)
            if not d:
                break
            out += d
        seen = out.count(b":")
        os.write(fd, line)
    until = time.time() + 10
    while True:
        d = read_some(fd, until)
        if not d:
            break
        out += d
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st), out.decode(errors="replace")
rc1, o1 = drive(["init", "--antenna", "TTY"], [b"tty-secret-42\n", b"tty-secret-42\n"])
rc2, o2 = drive(["status", "--json"], [b"tty-secret-42\n"])
rc3, o3 = drive(["status"], [b"not-it\n"])
print(rc1, rc2, rc3, "ECHOED" if "tty-secret-42" in o1 + o2 else "quiet",
      "confirm-asked" if "Confirmez" in o1 else "no-confirm",
      "TTY-ok" if '"antenna": "TTY"' in o2 else "no-status")
EOF
)"
assert_eq "$PTY_OUT" "0 0 1 quiet confirm-asked TTY-ok" "passphrase prompt on a terminal"

# ---- a home visit and its correction are one visit (as in the HQ report) ----
S5="$T/visits"
r --store "$S5" init --antenna AIX --role mobile >/dev/null
ID5="$(r --store "$S5" new --kind coordination --initials HV)"
V1="$(r --store "$S5" log "$ID5" --type vad --date 2025-04-02 "VAD")"
r --store "$S5" log "$ID5" --type vad --date 2025-04-02 --amends "$V1" "VAD : correction de l'heure" >/dev/null
r --store "$S5" log "$ID5" --type vad --date 2025-04-09 "Deuxième VAD" >/dev/null
J="$(r --store "$S5" show "$ID5" --json)"
assert_eq "$(jqr "$J" '.journal | length')" "3" "three journal entries"
assert_eq "$(jqr "$J" '.counts.home_visits')" "2" "a visit and its amendment count once"

done_ok
