#!/usr/bin/env bash
# demo.sh - the main job of relais, on this machine (`make demo`).
#
# A care-coordination network of the Bouches-du-Rhône: the HQ server in
# Aix, HQ's first-line workstation, seven antenna machines and one mobile
# coordinator's laptop, each in its own temporary store. Everyone works
# offline (situations with their problems, home visits, calls, meetings,
# alerts, closures, a reassignment, an erasure, two coordinators writing
# the same field at once); links come and go: devices sync at random
# moments, two antennas run the background sync (`relais sync --watch`),
# and the HQ server is stopped and started again in the middle. At the end
# everyone syncs, the replicas are checked against HQ, a hot backup is
# taken, and HQ prints the consolidated report and writes it as HTML.
#
# usage: deploy/demo.sh [DIR]      (default: a new /tmp/relais-demo.XXXXXX)
#   DEMO_SHORT=1   fewer rounds (about a third), for the tests
#   DEMO_SEED=N    replay the same random choices
#   RELAIS_BIN_DIR where relais and relais-server are (default: build/)
# Every process it starts is stopped on exit (or Ctrl-C); the files stay.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SHORT="${DEMO_SHORT:-0}"
SEED="${DEMO_SEED:-$(( $(date +%s) % 100000 ))}"
RANDOM=$SEED
if [ "$SHORT" = 1 ]; then ROUNDS=3; PER_ROUND=1; else ROUNDS=6; PER_ROUND=2; fi
DIR="${1:-}"
[ -n "$DIR" ] || DIR="$(mktemp -d /tmp/relais-demo.XXXXXX)"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
rl_find_bins "${RELAIS_BIN_DIR:-}"
# Only the demo's own files: no store, secret or configuration from outside.
unset RELAIS_STORE RELAIS_PASSPHRASE RELAIS_CONFIG RELAIS_SERVER_STORE \
	RELAIS_SERVER_PASSPHRASE RELAIS_SERVER_CONFIG || true
export HOME="$DIR/home" XDG_CONFIG_HOME="$DIR/home/.config"
mkdir -p "$HOME" "$DIR/logs"

PIDS=()
SRV_PID=""
cleanup() {
	local p
	for p in "${PIDS[@]}" $SRV_PID; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}" $SRV_PID; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo; echo "démo interrompue ; fichiers dans $DIR"; exit 130' INT TERM

say() { printf '%s\n' "$*"; }
title() { printf '\n\033[1m%s\033[0m\n' "$*"; }

# ---- the network ----
title "1. Le réseau : le siège, 7 antennes, un portable (dans $DIR)"
bash "$RL_DEPLOY_DIR/provision-network.sh" "$DIR/net" --bin "$(dirname "$RELAIS")" --quiet
source "$DIR/net/env.sh"
declare -A ANT ROLE
NAMES=()
while read -r name antenna role _; do
	NAMES+=("$name")
	ANT[$name]=$antenna
	ROLE[$name]=$role
done <"$DIR/net/network.txt"
ANTENNAS=(MRS-NORD MRS-SUD AUBAGNE LA-CIOTAT MARTIGUES SALON ARLES)
declare -A DEVICE_OF=([MRS-NORD]=marseille-nord [MRS-SUD]=marseille-sud [AUBAGNE]=aubagne
	[LA-CIOTAT]=la-ciotat [MARTIGUES]=martigues [SALON]=salon [ARLES]=arles)
for name in "${NAMES[@]}"; do
	say "  $(printf '%-15s' "$name") antenne ${ANT[$name]}, rôle ${ROLE[$name]}"
done

# rl NAME ARGS...: relais as device NAME; output on stdout, errors kept.
rl() {
	local n="$1"
	shift
	"$RELAIS" --config "$DIR/net/devices/$n/relais.conf" "$@" 2>>"$DIR/logs/$n.log"
}
srv() { "$RELAIS_SERVER" --config "$DIR/net/hq/server.conf" "$@"; }

server_up() {
	local before attempt
	touch "$DIR/logs/server.log"
	# The port was settled at provisioning, below the ephemeral range: only
	# another program binding it could take it, for a while.
	for attempt in $(seq 1 25); do
		before=$(grep -c "serving on" "$DIR/logs/server.log" || true)
		"$RELAIS_SERVER" --config "$DIR/net/hq/server.conf" run >>"$DIR/logs/server.log" 2>&1 &
		SRV_PID=$!
		for _ in $(seq 1 1500); do
			[ "$(grep -c "serving on" "$DIR/logs/server.log" || true)" -gt "$before" ] && return 0
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.02
		done
		wait "$SRV_PID" 2>/dev/null || true
		rl_port_taken "$DIR/logs/server.log" || break
		sleep 0.2
	done
	echo "le serveur ne démarre pas : voir $DIR/logs/server.log" >&2
	exit 1
}
server_down() {
	kill "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
}

# ---- what coordinators write ----
declare -A COMMUNES=(
	[MRS-NORD]="Marseille_13e Marseille_14e Marseille_15e Marseille_16e"
	[MRS-SUD]="Marseille_8e Marseille_9e Marseille_10e Marseille_11e"
	[AUBAGNE]="Aubagne Gémenos Roquevaire Auriol"
	[LA-CIOTAT]="La_Ciotat Cassis Ceyreste Carnoux"
	[MARTIGUES]="Martigues Port-de-Bouc Châteauneuf-les-Martigues Sausset-les-Pins"
	[SALON]="Salon-de-Provence Pélissanne Lançon-Provence Eyguières"
	[ARLES]="Arles Tarascon Saint-Martin-de-Crau Châteaurenard")
PROBLEMS=(acces_soins_psy acces_soins_psy acces_soins_psy logement logement soins_somatiques
	precarite justice addiction isolement)
REFERRERS=("CMP" "CHU" "médecin traitant" "CCAS" "service social hospitalier" "famille"
	"bailleur social" "SPIP" "CSAPA" "mairie")
PROS=("infirmier libéral" "psychiatre du CMP" "assistante sociale de secteur" "mandataire judiciaire"
	"SSIAD" "équipe mobile psychiatrie précarité")
LIVING=("seul en appartement" "chez sa mère âgée" "hébergement d'urgence" "logement insalubre"
	"à la rue depuis l'été" "en foyer")
HISTORY=("hospitalisation en psychiatrie au printemps" "rupture de suivi au CMP depuis deux ans"
	"diabète non suivi" "sortie de détention récente" "alcoolodépendance ancienne")
VAD=("appartement encombré, réfrigérateur vide ; accepte une aide ménagère"
	"avec l'infirmier du CMP : traitement non pris depuis trois semaines"
	"la personne n'ouvre pas ; voisine inquiète, rappel prévu"
	"conjointe avec le CCAS : dossier FSL commencé, dette de loyer chiffrée"
	"repérage des risques au domicile : chute récente, téléalarme proposée")
APPEL=("le CMP signale un rendez-vous post-hospitalisation manqué"
	"le bailleur suspend la procédure d'expulsion pour deux mois"
	"la fille est épuisée et demande une solution de répit"
	"le médecin traitant accepte une visite à domicile mensuelle")
REUNION=("concertation CMP, CCAS et médecin traitant : plan d'accompagnement validé"
	"commission de cas complexes : situation présentée sans nom, faute de consentement"
	"synthèse avec le SPIP et le CSAPA")
ORIENT=("orientation vers le CSAPA" "orientation vers l'équipe mobile psychiatrie précarité"
	"orientation vers le service social du CHU")
NOTE=("sortie d'hospitalisation sans médecin traitant désigné"
	"mesure de curatelle renforcée demandée au juge" "personne d'accord pour le partage d'informations")
ALERTS=("vérifier le rendez-vous CMP à J+7 de la sortie" "relancer le dossier MDPH"
	"point avec le bailleur avant l'audience" "contrôler la reprise du traitement")
CLOSE=("relais pris par le CMP" "situation stabilisée" "déménagement hors du territoire")

# The random helpers set globals ($(...) would reseed RANDOM).
pick() { local a=("$@"); PICK="${a[RANDOM % ${#a[@]}]}"; }
chance() { [ $((RANDOM % 100)) -lt "$1" ]; }
rand_date() { # month range: rand_date FROM TO -> DATE (2025-MM-DD)
	local m=$(($1 + RANDOM % ($2 - $1 + 1)))
	DATE=$(printf '2025-%02d-%02d' "$m" $((1 + RANDOM % 28)))
}
initials() { local l=ABCDEFGHIJKLMNOPRSTV; INIT="${l:RANDOM%20:1}.${l:RANDOM%20:1}."; }

NEW=0 LOGS=0 VISITS=0 SYNCS=0 FAILED_SYNCS=0
declare -A SEEN_INIT SEEN_COMMUNE
# Opens a situation for antenna $2 from device $1; SIT receives its id.
new_situation() {
	local name="$1" antenna="$2" args=() kind=coordination n
	if chance 35; then kind=orientation; fi
	rand_date 4 8
	initials
	pick ${COMMUNES[$antenna]}
	local commune="${PICK//_/ }"
	SEEN_INIT[$INIT]=1
	SEEN_COMMUNE[$commune]=1
	pick F M
	args=(new --kind "$kind" --date "$DATE" --initials "$INIT" --sex "$PICK"
		--age $((19 + RANDOM % 70)) --commune "$commune")
	if [ "${ROLE[$name]}" = hq ]; then args+=(--antenna "$antenna"); fi
	pick "${PROBLEMS[@]}"; args+=(--problem "$PICK")
	for n in 1 2; do
		if chance 55; then pick "${PROBLEMS[@]}"; args+=(--problem "$PICK"); fi
	done
	pick "${REFERRERS[@]}"; args+=(--referrer "$PICK")
	if chance 40; then pick "${PROS[@]}"; args+=(--pro "$PICK"); fi
	if chance 60; then pick "${LIVING[@]}"; args+=(--living "$PICK"); fi
	if chance 40; then pick "${HISTORY[@]}"; args+=(--history "$PICK"); fi
	pick oui oui non en_attente; args+=(--consent "$PICK")
	SIT="$(rl "$name" "${args[@]}")"
	NEW=$((NEW + 1))
}

# A journal entry of a random type on situation $2 by device $1.
journal() {
	local name="$1" sit="$2" type text
	pick vad vad vad appel appel reunion orientation note
	type=$PICK
	case $type in
	vad) pick "${VAD[@]}"; VISITS=$((VISITS + 1)) ;;
	appel) pick "${APPEL[@]}" ;;
	reunion) pick "${REUNION[@]}" ;;
	orientation) pick "${ORIENT[@]}" ;;
	note) pick "${NOTE[@]}" ;;
	esac
	text="$PICK"
	rand_date 5 9
	rl "$name" log "$sit" --type "$type" --date "$DATE" "$text" >/dev/null
	LOGS=$((LOGS + 1))
}

# Situations device $1 holds and may work on (open ones first): HELD.
held() {
	mapfile -t HELD < <(rl "$1" list --json | jq -r '[.[] | select(.status == "open")] | .[].id')
}

# One sync of device $1; a refused or unreachable server is part of life.
sync_dev() {
	if rl "$1" sync >/dev/null; then
		SYNCS=$((SYNCS + 1))
		return 0
	fi
	FAILED_SYNCS=$((FAILED_SYNCS + 1))
	return 1
}

# One device's offline work for a round.
work() {
	local name="$1" k
	case "${ROLE[$name]}" in
	hq)
		# First line: new calls for the antennas nearby.
		for k in $(seq 1 "$PER_ROUND"); do
			pick "${ANTENNAS[@]}"
			new_situation "$name" "$PICK"
			if chance 50; then journal "$name" "$SIT"; fi
		done
		;;
	antenna)
		for k in $(seq 1 "$PER_ROUND"); do
			new_situation "$name" "${ANT[$name]}"
			journal "$name" "$SIT"
		done
		held "$name"
		if [ ${#HELD[@]} -gt 0 ]; then
			pick "${HELD[@]}"; journal "$name" "$PICK"
			if chance 30; then
				pick "${HELD[@]}"; local s=$PICK
				pick "${ALERTS[@]}"; rand_date 6 12
				rl "$name" alert "$s" --due "$DATE" "$PICK" >/dev/null
			fi
			if chance 25; then
				pick "${HELD[@]}"; local s=$PICK
				pick "${PROBLEMS[@]}"; rl "$name" tag "$s" "+$PICK" >/dev/null
			fi
			if chance 15 && [ ${#HELD[@]} -gt 2 ]; then
				pick "${HELD[@]}"; local s=$PICK
				pick "${CLOSE[@]}"; rand_date 8 9
				rl "$name" close "$s" --reason "$PICK" --date "$DATE" >/dev/null
			fi
		fi
		;;
	mobile)
		# Home visits on the antenna's situations the laptop holds.
		held "$name"
		for k in $(seq 1 "$PER_ROUND"); do
			[ ${#HELD[@]} -gt 0 ] || break
			pick "${HELD[@]}"
			pick "${VAD[@]}"; rand_date 6 9
			rl "$name" log "${HELD[RANDOM % ${#HELD[@]}]}" --type vad --date "$DATE" "$PICK" >/dev/null
			LOGS=$((LOGS + 1)) VISITS=$((VISITS + 1))
		done
		;;
	esac
}

# ---- the day ----
title "2. Le siège démarre ; deux antennes synchronisent en continu"
server_up
say "  serveur du siège à l'écoute sur $URL"
for name in aubagne arles; do
	"$RELAIS" --config "$DIR/net/devices/$name/relais.conf" sync --watch \
		2>"$DIR/logs/watch-$name.log" &
	PIDS+=($!)
	say "  $name : relais sync --watch (reprises avec délai aléatoire si le siège ne répond pas)"
done

title "3. Une journée de travail, hors connexion, les liens vont et viennent ($ROUNDS tours, graine $SEED)"
CUT=$(( (ROUNDS + 1) / 2 ))
CONFLICT_SIT=""
for round in $(seq 1 "$ROUNDS"); do
	for name in "${NAMES[@]}"; do
		work "$name"
	done
	case $round in
	1)
		# The laptop takes Marseille Nord's situations along for the day.
		sync_dev marseille-nord || true
		sync_dev portable-nord || true
		;;
	2)
		# Offline, the antenna and the laptop write the same fields of the
		# same situation: both values are kept, side by side.
		held portable-nord
		if [ ${#HELD[@]} -gt 0 ]; then
			CONFLICT_SIT="${HELD[0]}"
			rl marseille-nord set "$CONFLICT_SIT" "living=hébergée chez sa sœur" >/dev/null
			rl portable-nord set "$CONFLICT_SIT" "living=retour à son domicile" >/dev/null
			rl marseille-nord set "$CONFLICT_SIT" evolution=amélioration >/dev/null
			rl portable-nord set "$CONFLICT_SIT" evolution=stable >/dev/null
			say "  $(date +%H:%M:%S) marseille-nord et portable-nord modifient la même situation hors connexion"
		fi
		;;
	esac
	if [ "$round" = "$CUT" ]; then
		server_down
		say "  $(date +%H:%M:%S) coupure : le serveur du siège est arrêté"
	fi
	# Links come and go: each device syncs, or not, in random order.
	order=("${NAMES[@]}")
	for ((i = ${#order[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1))); t="${order[i]}"; order[i]="${order[j]}"; order[j]="$t"
	done
	ok=0 ko=0
	for name in "${order[@]}"; do
		case $name in aubagne|arles) continue ;; esac
		if chance 65; then
			if sync_dev "$name"; then ok=$((ok + 1)); else ko=$((ko + 1)); fi
		fi
	done
	if [ $ko -gt 0 ]; then
		say "  tour $round : $ok synchronisations réussies, $ko impossibles (siège injoignable)"
	else
		say "  tour $round : $ok synchronisations réussies"
	fi
	if [ "$round" = "$CUT" ]; then
		sleep 1
		server_up
		say "  $(date +%H:%M:%S) le serveur du siège redémarre ; les antennes reprennent d'elles-mêmes"
	fi
	if [ "$round" = 3 ]; then
		# HQ's first line hands a situation to another antenna.
		sync_dev accueil-siege || true
		s="$(rl accueil-siege list --antenna MRS-SUD --json | jq -r '.[0].id // empty')"
		if [ -n "$s" ]; then
			rl accueil-siege assign "$s" AUBAGNE >/dev/null
			say "  le siège confie la situation ${s:0:8}… de MRS-SUD à AUBAGNE"
		fi
	fi
	if [ "$round" = "$ROUNDS" ]; then
		# Right to erasure, asked by a person followed in La Ciotat.
		held la-ciotat
		if [ ${#HELD[@]} -gt 1 ]; then
			rl la-ciotat erase "${HELD[1]}" --confirm >/dev/null
			say "  la-ciotat efface une situation (droit à l'effacement) : ${HELD[1]:0:8}…"
		fi
	fi
done

title "4. Fin de journée : tout le monde se synchronise"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
PIDS=()
for pass in 1 2; do
	for name in "${NAMES[@]}"; do
		sync_dev "$name" || { echo "synchronisation impossible pour $name : $(tail -n1 "$DIR/logs/$name.log")" >&2; exit 1; }
	done
done
say "  $NEW situations ouvertes (une effacée depuis), $LOGS entrées de journal dont $VISITS visites à domicile"
say "  $SYNCS synchronisations réussies, $FAILED_SYNCS impossibles pendant les coupures"
printf '\n  %-15s %-10s %10s %10s %10s  %s\n' appareil antenne situations "en attente" conflits "comme le siège ?"
all_ok=1
rl accueil-siege export --format json | jq -S 'sort_by(.id)' >"$DIR/logs/.siege.json"
for name in "${NAMES[@]}"; do
	# Each device holds exactly what HQ's workstation holds of its antenna
	# (everything, for hq devices), situation by situation, conflicts and all.
	rl "$name" export --format json | jq -S 'sort_by(.id)' >"$DIR/logs/.mine.json"
	case "${ROLE[$name]}" in
	hq) cp "$DIR/logs/.siege.json" "$DIR/logs/.want.json" ;;
	*) jq -S --arg a "${ANT[$name]}" '[.[] | select(.antenna == $a)]' "$DIR/logs/.siege.json" \
		>"$DIR/logs/.want.json" ;;
	esac
	same=oui
	cmp -s "$DIR/logs/.mine.json" "$DIR/logs/.want.json" || { same=NON; all_ok=0; }
	read -r count conflicts < <(jq -r '[length, ([.[].conflicts | length] | add // 0)] | @tsv' \
		"$DIR/logs/.mine.json")
	printf '  %-15s %-10s %10s %10s %10s  %s\n' "$name" "${ANT[$name]}" "$count" \
		"$(rl "$name" status --json | jq -r .pending)" "$conflicts" "$same"
done
rm -f "$DIR"/logs/.*.json
[ $all_ok = 1 ] || { echo "les copies divergent : voir $DIR/logs" >&2; exit 1; }
if [ -n "$CONFLICT_SIT" ]; then
	say ""
	say "  Conflits gardés côte à côte (marseille-nord), à trancher par « relais resolve » :"
	rl marseille-nord conflicts | sed 's/^/    /'
fi

title "5. Sauvegarde à chaud du serveur du siège"
bash "$RL_DEPLOY_DIR/backup.sh" --config "$DIR/net/hq/server.conf" --dir "$DIR/sauvegardes" \
	--bin "$(dirname "$RELAIS")" | sed 's/^/  /'

title "6. Rapport d'activité consolidé du siège"
report_ok=1
if ! srv report 2>"$DIR/logs/report.err"; then
	report_ok=0
	say "  (relais-server report a échoué : $(head -n1 "$DIR/logs/report.err"))"
fi
if srv report --format html -o "$DIR/rapport.html" 2>>"$DIR/logs/report.err" &&
	srv report --format json -o "$DIR/rapport.json" 2>>"$DIR/logs/report.err"; then
	say ""
	say "  rapport HTML : $DIR/rapport.html"
else
	report_ok=0
	say "  (rapport HTML impossible : $(tail -n1 "$DIR/logs/report.err"))"
fi

title "7. Les journaux ne contiennent aucune donnée personnelle"
leaks=0
printf '%s\n' "${!SEEN_INIT[@]}" "${!SEEN_COMMUNE[@]}" "${VAD[@]}" "${NOTE[@]}" >"$DIR/.personal"
if grep -rnF -f "$DIR/.personal" "$DIR/logs" >"$DIR/.leaks"; then
	sed 's/^/  donnée personnelle dans un journal : /' "$DIR/.leaks" >&2
	leaks=1
fi
rm -f "$DIR/.personal" "$DIR/.leaks"
[ $leaks = 0 ] || exit 1
say "  ni initiales, ni communes, ni textes libres dans $DIR/logs (identifiants seulement)"

title "Terminé"
say "  fichiers : $DIR"
say "    rapport        $DIR/rapport.html (et rapport.json)"
say "    journaux       $DIR/logs/ (serveur, synchronisations en continu, appareils)"
say "    sauvegarde     $DIR/sauvegardes/"
say "    magasins       $DIR/net/ (chiffrés ; un appareil : relais --config $DIR/net/devices/NOM/relais.conf list)"
say "  rejouer la même démo : DEMO_SEED=$SEED make demo"
[ $report_ok = 1 ] || exit 3
