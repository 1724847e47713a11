#!/usr/bin/env bash
# A device whose clock runs hours ahead: the server refuses its changes
# (they would win every later conflict), `relais sync` and `relais status`
# say the clock is wrong, the outbox is kept (what the others write still
# comes in: the pull goes on after the refusal); once the clock is right again
# the refused changes are restamped and accepted, and nothing is lost.
# The wrong clock is made with libfaketime (Debian package faketime).
source "$(dirname "$0")/sync_lib.sh"

if ! command -v faketime >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y --no-install-recommends faketime >/dev/null 2>&1 || true
	fi
fi
command -v faketime >/dev/null || { echo "skip: faketime cannot be installed here"; exit 0; }

server_init
server_start
mkclient fast A1 antenna
mkclient good A1 mobile

S=$(r fast new --kind coordination --commune Aix)
r fast sync >/dev/null
r good sync >/dev/null

# ahead ARGS...: relais on fast's store with its clock three hours ahead;
# sets OUT (stdout and stderr) and RC.
ahead() {
	set +e
	OUT=$(faketime -f '+3h' "$RELAIS" --store "$T/fast" "$@" 2>&1)
	RC=$?
	set -e
}

# Three hours ahead: the change is written offline, then refused.
ahead set "$S" commune=Marseille
assert_eq "$RC" 0 "an offline edit works whatever the clock"
ahead sync
assert_eq "$RC" 1 "sync with a clock 3 h ahead fails"
assert_match "$OUT" "horloge" "the message names the clock"
assert_eq "$(pending_of fast)" 1 "the refused change stays in the outbox"
run fast status --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.clock_error // empty')" true "status --json reports the clock error"

# Meanwhile the other device writes the same field, with a right clock.
r good set "$S" commune=Salon >/dev/null
r good log "$S" --type appel "appel pendant l'erreur d'horloge" >/dev/null
r good sync >/dev/null

# A refused push does not stop the pull: the wrong clock's device still
# receives what the others wrote; its own change waits.
ahead sync
assert_eq "$RC" 1 "sync still fails while the clock is wrong"
assert_match "$OUT" "horloge" "and names the clock"
assert_match "$OUT" "synchronisation partielle : 0 changements envoyés, [1-9][0-9]* reçus" \
	"it says what came in all the same"
assert_eq "$(pending_of fast)" 1 "the refused change still waits"
assert_match "$(r fast show "$S" --json | jq -r '.journal[].text')" "appel pendant l'erreur d'horloge" \
	"the other device's entry reached it despite the refusal"

# Clock fixed: the change is restamped and accepted, nothing lost.
r fast sync >/dev/null
assert_eq "$(pending_of fast)" 0 "the outbox is empty once the clock is right"
r good sync >/dev/null
for c in fast good; do
	run "$c" show "$S" --json
	vals=$(printf '%s' "$OUT" | jq -r '[.conflicts[] | select(.field=="commune") | .values[].value] | sort | join(",")')
	assert_eq "$vals" "Marseille,Salon" "$c keeps both concurrent values of commune"
done
run fast status --json
assert_eq "$(printf '%s' "$OUT" | jq -r '.clock_error // false')" false "status no longer reports a clock error"
done_ok
