#!/usr/bin/env bash
# test_server_devices.sh - `relais-server devices` lines up by display
# width: accented names (« accueil-siège », « Équipe mobile ») no longer
# shift the columns after them, a long name is cut with « … » on a
# character boundary, and an unprintable byte in a name shows as '?'.
source "$(dirname "$0")/sync_lib.sh"

server_init
server_start
mkclient siege SIEGE hq
i=0
for name in "accueil-siège" "Équipe mobile d'Arles, secteur Camargue" "$(printf 'poste\033[31mrouge')"; do
	i=$((i + 1))
	tok="$(enroll_token ARLES mobile "$name")"
	r "m$i" init --antenna ARLES --role mobile >/dev/null
	r "m$i" enroll --server "$URL" --token "$tok" >/dev/null
done
out="$(rs devices)"
assert_eq "$(wc -l <<<"$out")" 5 "a header and four devices"
assert_no_match "$out" $'\033' "no escape sequence reaches the terminal"
assert_match "$out" "poste\\?\\[31mrouge" "the control byte shown as '?'"
assert_match "$out" "Équipe mobile d'Arl…" "a long name cut with …"
# Every line has its column gaps at the same display positions (for this
# Latin text one code point is one column): device 16, antenna 10, role 7,
# name 20, last sync 20, changes 11, each followed by two spaces.
gaps="$(/usr/bin/python3 -c '
import sys
bad = [l for l in sys.stdin.read().splitlines()
       if any(l[p:p + 2] != "  " for p in (16, 28, 37, 59, 81, 94))]
print(len(bad))
' <<<"$out")"
assert_eq "$gaps" 0 "the columns line up on every line:
$out"
done_ok
