#!/usr/bin/env bash
# test_demo.sh - `make demo` in its short mode (DEMO_SHORT=1): the local
# network provisions itself, works offline with links coming and going and
# the server restarted, converges, backs up, reports; the run ends by
# itself, leaves no process behind, and says where its files are.
source "$(dirname "$0")/sync_lib.sh"
unset RELAIS_PASSPHRASE

DIR="$T/demo"
start=$(date +%s)
set +e
OUT="$(DEMO_SHORT=1 DEMO_SEED=4242 RELAIS_BIN_DIR="$(dirname "$RELAIS")" \
	timeout 300 bash "$ROOT/deploy/demo.sh" "$DIR" 2>"$T/demo.err")"
RC=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ $RC -eq 0 ] || fail "demo exited $RC: $(tail -n 5 "$T/demo.err") $(tail -n 5 <<<"$OUT")"
ok
echo "demo (short) ran in $elapsed s"

# The story, in order.
for step in "1. Le réseau" "2. Le siège démarre" "3. Une journée de travail" \
	"4. Fin de journée" "5. Sauvegarde à chaud" "6. Rapport d'activité" \
	"7. Les journaux ne contiennent aucune donnée personnelle" "Terminé"; do
	assert_match "$OUT" "$step" "demo step: $step"
done
assert_match "$OUT" "coupure : le serveur du siège est arrêté" "the server goes down"
assert_match "$OUT" "impossibles \\(siège injoignable\\)" "syncs fail while it is down"
assert_match "$OUT" "le serveur du siège redémarre" "and comes back"
assert_match "$OUT" "modifient la même situation hors connexion" "concurrent edits"
assert_match "$OUT" "le siège confie la situation" "a reassignment"
assert_match "$OUT" "droit à l'effacement" "an erasure"
# Every device converged on what HQ holds, nothing left to push.
table="$(sed -n '/appareil .*comme le siège/,/^$/p' <<<"$OUT" | tail -n +2 | grep .)"
assert_eq "$(wc -l <<<"$table")" 9 "nine devices in the final table"
assert_eq "$(awk '{print $NF}' <<<"$table" | sort -u)" oui "every replica equals HQ's"
assert_eq "$(awk '{print $4}' <<<"$table" | sort -u)" 0 "no change left to push"
assert_match "$(grep marseille-nord <<<"$table")" " 2 +oui$" "the conflicts are kept"
assert_match "$OUT" "living :" "conflict on living shown"
# The report, printed and written.
assert_match "$OUT" "Rapport d'activité relais" "text report printed"
assert_match "$OUT" "Situations ouvertes +[1-9]" "the report counts situations"
[ -s "$DIR/rapport.html" ] || fail "no HTML report"
ok
grep -q "<svg" "$DIR/rapport.html" || fail "HTML report without inline charts"
ok
if grep -Eiq '<(script|link|img)[^>]+(src|href)=["'"'"']?(https?:)?//' "$DIR/rapport.html"; then
	fail "the HTML report loads something from elsewhere"
fi
ok
sits="$(jq .situations "$DIR/rapport.json")"
[ "$sits" -gt 10 ] || fail "report counts $sits situations"
ok
assert_eq "$(jq .home_visits "$DIR/rapport.json" | grep -c '^[1-9]')" 1 "home visits counted"
# Where the files are, and that they are there.
assert_match "$OUT" "fichiers : $DIR" "says where the files are"
[ -d "$DIR/sauvegardes" ] && [ -n "$(ls "$DIR/sauvegardes")" ] || fail "no backup"
ok
grep -q "store restored\|serving on" "$DIR/logs/server.log" || fail "no server log"
ok
grep -q "sync failed: server unreachable; retrying" "$DIR"/logs/watch-*.log ||
	fail "the background sync did not see the server go"
ok
# Nothing left running: no process has the demo's directory on its command line.
sleep 0.2
left="$(pgrep -af -- "$DIR" | grep -v pgrep || true)"
assert_eq "$left" "" "no process left behind"
# Same seed, same story (the random choices are replayable).
assert_match "$OUT" "DEMO_SEED=4242 make demo" "replay line"
[ $elapsed -lt 120 ] || fail "the short demo took $elapsed s"
ok
done_ok
