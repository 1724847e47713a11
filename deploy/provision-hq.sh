#!/usr/bin/env bash
# provision-hq.sh - initialise the HQ server: its encrypted store and its
# keys, then print the server key and what to do next.
#
# usage: deploy/provision-hq.sh [--store DIR] [--url URL] [--config FILE]
#                               [--key-file F] [--bin DIR]
#   --store DIR   the HQ store (default: [server] store of the configuration,
#                 else /var/lib/relais-server)
#   --url URL     the address devices will use to reach HQ, for the next
#                 steps printed (default tcp://ADRESSE-DU-SIEGE:7401)
#   --config F    relais-server configuration file to use
#   --key-file F  protect the store with this key file instead of the
#                 server.key written into the store directory
#   --bin DIR     where relais-server is (default: build/, else $PATH)
# Run it as the user that runs the server (relais), e.g.
#   sudo -u relais deploy/provision-hq.sh --url tcp://hq.dac13.fr:7401
set -euo pipefail
source "$(dirname "$0")/lib.sh"

store="" url="tcp://ADRESSE-DU-SIEGE:7401" config="" keyfile="" bin=""
while [ $# -gt 0 ]; do
	case "$1" in
	--store) store="$2"; shift 2 ;;
	--url) url="$2"; shift 2 ;;
	--config) config="$2"; shift 2 ;;
	--key-file) keyfile="$2"; shift 2 ;;
	--bin) bin="$2"; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "provision-hq.sh: option inconnue : $1" >&2; exit 2 ;;
	esac
done
rl_find_bins "$bin"
args=()
[ -z "$config" ] || args+=(--config "$config")
[ -z "$store" ] || args+=(--store "$store")
[ -z "$keyfile" ] || args+=(--key-file "$keyfile")

rl_step 1 "magasin et clés du serveur du siège"
[ -z "$store" ] || mkdir -p "$(dirname "$store")"
out="$("$RELAIS_SERVER" "${args[@]}" init)"
printf '%s\n' "$out" | grep -v '^étape suivante' | sed 's/^/   /'
if [ -z "$keyfile" ]; then
	echo "   la clé du magasin est dans server.key, à côté des données : sauvegardez-la"
	echo "   avec elles (relais-server backup la copie), jamais ailleurs en clair."
fi

rl_step 2 "démarrer le service"
echo "   systemctl enable --now relais-server"
echo "   (ou, sans systemd : relais-server ${args[*]} run --listen tcp://0.0.0.0:7401)"
rl_next "vérifier : journalctl -u relais-server doit dire « serving on »"

rl_step 3 "enrôler les appareils"
echo "   pour chaque antenne, portable ou poste du siège, sur ce serveur :"
echo "   deploy/enroll-device.sh --url $url --antenna CODE --role antenna|mobile|hq"
rl_next "le script affiche exactement ce qu'il faut taper sur l'appareil"

rl_step 4 "sauvegardes"
echo "   systemctl enable --now relais-backup.timer   (copie quotidienne, 14 gardées)"
echo "   ou : relais-server backup /chemin/vers/la/copie (à chaud, cohérente)"
rl_next "copier les sauvegardes hors de cette machine ; restauration : deploy/restore.sh"
