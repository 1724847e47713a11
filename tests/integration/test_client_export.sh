#!/usr/bin/env bash
# `relais export` for a case commission: full and anonymised, JSON and CSV.
# Without consent ("non" or "en_attente"), the anonymised export must not
# carry the person's initials, sex, age, commune, living situation, history,
# evolution or any free text; with consent it carries everything; kind,
# problems, referrers, antenna, dates and counts are always there.
source "$(dirname "$0")/client_lib.sh"

S="$T/store"
r --store "$S" init --antenna AIX >/dev/null

# new_case CONSENT INITIALS COMMUNE TEXT: a fully filled situation.
new_case() {
	local id
	id="$(r --store "$S" new --kind coordination --consent "$1" --initials "$2" --sex M \
		--age 71 --commune "$3" --referrer CCAS --problem acces_soins_psy --problem logement \
		--date 2025-06-0"$5")"
	r --store "$S" set "$id" "living=Vit seul à $3" "history=Hospitalisé trois fois ($2)" \
		"evolution=Stable pour $2" >/dev/null
	r --store "$S" log "$id" --type vad --date 2025-06-10 "$4" >/dev/null
	r --store "$S" log "$id" --type appel --date 2025-06-11 "Appel au sujet de $2" >/dev/null
	r --store "$S" alert "$id" --due 2025-07-01 "Vérifier le RDV de $2" >/dev/null
	echo "$id"
}

YES="$(new_case oui QWX Vitrolles "Visite chez QWX, bonne humeur" 1)"
NO="$(new_case non ZKJ Pertuis "Texte libre secret de ZKJ" 2)"
WAIT="$(new_case en_attente YVB Meyrargues "Texte libre secret de YVB" 3)"
r --store "$S" close "$NO" --reason "Décès de ZKJ" --date 2025-06-20 >/dev/null

# ---- full export: everything ----
FULL="$(r --store "$S" export --format json)"
assert_eq "$(jqr "$FULL" length)" "3" "three situations exported"
assert_eq "$(jqr "$FULL" '[.[].id]|join(" ")')" "$YES $NO $WAIT" "sorted by opening date"
assert_eq "$(jqr "$FULL" '[.[].initials]|join(",")')" "QWX,ZKJ,YVB" "full export keeps initials"
assert_eq "$(jqr "$FULL" '.[1].journal[0].text')" "Texte libre secret de ZKJ" "full export keeps text"
for k in id antenna kind status opened consent initials sex age commune living history \
	evolution problems referrers professionals journal alerts conflicts; do
	assert_eq "$(jqr "$FULL" ".[1]|has(\"$k\")")" "true" "export --format json has key $k"
done

# ---- anonymised JSON ----
ANON="$(r --store "$S" export --anonymize --format json)"
assert_eq "$(jqr "$ANON" length)" "3" "anonymised export has every situation"
for i in 1 2; do
	for k in initials sex age commune living history evolution close_reason; do
		assert_eq "$(jqr "$ANON" ".[$i].$k")" "null" "anonymised [$i] $k"
	done
	assert_eq "$(jqr "$ANON" "[.[$i].journal[].text]|unique|join(\",\")")" "" "anonymised [$i] journal text"
	assert_eq "$(jqr "$ANON" "[.[$i].journal[].text]|length")" "2" "anonymised [$i] journal entries kept"
	assert_eq "$(jqr "$ANON" "[.[$i].alerts[].text]|unique|join(\",\")")" "" "anonymised [$i] alert text"
	assert_eq "$(jqr "$ANON" ".[$i].kind")" "coordination" "anonymised [$i] keeps kind"
	assert_eq "$(jqr "$ANON" ".[$i].antenna")" "AIX" "anonymised [$i] keeps antenna"
	assert_eq "$(jqr "$ANON" ".[$i].problems|join(\",\")")" "acces_soins_psy,logement" "anonymised [$i] keeps problems"
	assert_eq "$(jqr "$ANON" ".[$i].referrers|join(\",\")")" "CCAS" "anonymised [$i] keeps referrers"
	assert_eq "$(jqr "$ANON" ".[$i].opened")" "2025-06-0$((i + 1))" "anonymised [$i] keeps dates"
	assert_eq "$(jqr "$ANON" ".[$i].counts.home_visits")" "1" "anonymised [$i] keeps counts"
	assert_eq "$(jqr "$ANON" ".[$i].anonymized")" "true" "anonymised [$i] is marked"
	assert_eq "$(jqr "$ANON" ".[$i].journal[0].date")" "2025-06-10" "anonymised [$i] journal dates kept"
done
assert_eq "$(jqr "$ANON" '.[1].closed')" "2025-06-20" "closing date kept"
assert_eq "$(jqr "$ANON" '.[1].status')" "closed" "status kept"
# Consent given: everything stays.
assert_eq "$(jqr "$ANON" '.[0].anonymized')" "false" "consented situation not anonymised"
assert_eq "$(jqr "$ANON" '.[0].initials')" "QWX" "consented: initials"
assert_eq "$(jqr "$ANON" '.[0].age')" "71" "consented: age"
assert_eq "$(jqr "$ANON" '.[0].commune')" "Vitrolles" "consented: commune"
assert_eq "$(jqr "$ANON" '.[0].journal[0].text')" "Visite chez QWX, bonne humeur" "consented: text"
# Not one identifying string anywhere in the document.
for needle in ZKJ YVB Pertuis Meyrargues "Texte libre secret" "Décès"; do
	assert_no_match "$ANON" "$needle" "anonymised JSON leaks '$needle'"
done

# A conflict on an identifying field must not leak through "conflicts".
r --store "$S" export-changes "$T/s.chg" >/dev/null
r --store "$T/peer" init --antenna AIX >/dev/null
r --store "$T/peer" import-changes "$T/s.chg" >/dev/null
r --store "$T/peer" set "$NO" commune=Lauris >/dev/null
r --store "$S" set "$NO" commune=Cadenet >/dev/null
r --store "$T/peer" export-changes "$T/p.chg" >/dev/null
r --store "$S" import-changes "$T/p.chg" >/dev/null
assert_eq "$(r --store "$S" conflicts --json | jq -r '.[0].field')" "commune" "identifying conflict exists"
ANON="$(r --store "$S" export --anonymize --format json)"
assert_no_match "$ANON" 'Lauris|Cadenet' "anonymised conflicts leak values"
assert_eq "$(jqr "$ANON" '.[1].conflicts|length')" "0" "identifying conflicts dropped"

# ---- CSV ----
csv_rows() { # prints the number of records, then checks every row has the header's width
	python3 -c '
import csv, sys
rows = list(csv.reader(sys.stdin))
assert all(len(r) == len(rows[0]) for r in rows), "ragged CSV"
print(len(rows) - 1)'
}
CSV="$(r --store "$S" export)"
assert_eq "$(printf '%s' "$CSV" | csv_rows)" "3" "default format is CSV, one row per situation"
assert_match "${CSV%%$'\n'*}" '^"id","antenna","kind","status","opened"' "CSV header"
assert_match "$CSV" 'ZKJ' "full CSV keeps initials"
assert_match "$CSV" 'Texte libre secret de ZKJ' "full CSV keeps journal text"
ACSV="$(r --store "$S" export --anonymize --format csv)"
assert_eq "$(printf '%s' "$ACSV" | csv_rows)" "3" "anonymised CSV rows"
for needle in ZKJ YVB Pertuis Meyrargues "Texte libre secret" "Décès" Lauris Cadenet; do
	assert_no_match "$ACSV" "$needle" "anonymised CSV leaks '$needle'"
done
assert_match "$ACSV" 'QWX' "anonymised CSV keeps consented initials"
assert_match "$ACSV" 'acces_soins_psy; logement' "anonymised CSV keeps problems"

# Quotes, separators, newlines and formulas survive as data.
TRICKY="$(r --store "$S" new --kind orientation --consent oui --commune '=HYPERLINK("http://x","y")' --initials 'A,"B"')"
r --store "$S" log "$TRICKY" --type note --date 2025-06-01 "ligne 1
ligne 2, avec \"guillemets\"" >/dev/null
CSV="$(r --store "$S" export --format csv)"
assert_eq "$(printf '%s' "$CSV" | csv_rows)" "4" "tricky values keep the CSV shape"
GOT="$(printf '%s' "$CSV" | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
r = [x for x in rows if x["id"] == sys.argv[1]][0]
print(r["initials"] + "|" + r["commune"] + "|" + r["journal"].replace("\n", "/"))' "$TRICKY")"
assert_eq "$GOT" "A,\"B\"|'=HYPERLINK(\"http://x\",\"y\")|2025-06-01 note: ligne 1/ligne 2, avec \"guillemets\"" "CSV round trip, formula defused"

done_ok
