#!/usr/bin/env bash
# enroll-device.sh - make a one-time enrollment token for one device (an
# antenna machine, a mobile laptop or an HQ workstation) and print exactly
# what to run on that device. The token is valid once, for 24 hours.
#
# usage: deploy/enroll-device.sh --antenna CODE --role antenna|mobile|hq
#                                [--name S] [--url URL] [--store DIR]
#                                [--config FILE] [--bin DIR]
#   --antenna CODE  the antenna the device works for (hq devices: HQ's code)
#   --role R        antenna: an antenna office machine with the background
#                   sync service and a key file; mobile: a coordinator's
#                   laptop, protected by a passphrase; hq: an HQ workstation
#                   that sees every situation
#   --name S        a name shown by `relais-server devices`
#   --url URL       the address devices use to reach HQ (shown in the steps)
#   --store, --config, --bin   as for relais-server (see provision-hq.sh)
# The token is also printed alone on the last line of stdout, for scripts.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

antenna="" role="" name="" url="tcp://ADRESSE-DU-SIEGE:7401" store="" config="" bin=""
while [ $# -gt 0 ]; do
	case "$1" in
	--antenna) antenna="$2"; shift 2 ;;
	--role) role="$2"; shift 2 ;;
	--name) name="$2"; shift 2 ;;
	--url) url="$2"; shift 2 ;;
	--store) store="$2"; shift 2 ;;
	--config) config="$2"; shift 2 ;;
	--bin) bin="$2"; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "enroll-device.sh: option inconnue : $1" >&2; exit 2 ;;
	esac
done
if [ -z "$antenna" ] || [ -z "$role" ]; then
	echo "enroll-device.sh: --antenna et --role sont obligatoires" >&2
	exit 2
fi
case "$role" in antenna|mobile|hq) ;; *) echo "enroll-device.sh: rôle inconnu : $role" >&2; exit 2 ;; esac
rl_find_bins "$bin"
args=()
[ -z "$config" ] || args+=(--config "$config")
[ -z "$store" ] || args+=(--store "$store")

token="$("$RELAIS_SERVER" "${args[@]}" enroll --antenna "$antenna" --role "$role" \
	${name:+--name "$name"} | tail -n1)"
case "$token" in
*[!0-9a-f]*|"") echo "enroll-device.sh: pas de jeton reçu de relais-server" >&2; exit 1 ;;
esac

echo "jeton à usage unique pour l'antenne $antenna, rôle $role${name:+ ($name)}, valable 24 h."
echo "à transmettre par un canal sûr (en main propre, téléphone) : il donne accès aux"
echo "situations de l'antenne."
echo
case "$role" in
antenna)
	cat <<STEPS
Sur le poste de l'antenne (en root), une fois relais installé (make install) :

  useradd --system --home-dir /var/lib/relais --shell /usr/sbin/nologin relais
  install -d -m 0750 -g relais /etc/relais
  (umask 027; od -An -tx1 -N32 /dev/urandom | tr -d ' \\n' > /etc/relais/relais.key)
  chgrp relais /etc/relais/relais.key
  printf '[client]\\nstore = /var/lib/relais/store\\nkey_file = /etc/relais/relais.key\\n' \\
    > /etc/relais/relais.conf
  install -d -o relais -g relais -m 0700 /var/lib/relais
  sudo -u relais relais --config /etc/relais/relais.conf init --antenna $antenna --role antenna
  sudo -u relais relais --config /etc/relais/relais.conf enroll --server $url --token $token
  systemctl enable --now relais-sync

  -> ensuite : journalctl -u relais-sync doit dire « synced » ; les coordinateurs
     travaillent avec : sudo -u relais relais --config /etc/relais/relais.conf ...
STEPS
	;;
mobile|hq)
	cat <<STEPS
Sur l'appareil, avec le compte de la personne qui l'utilise :

  relais init --antenna $antenna --role $role     # choisir une phrase secrète
  relais enroll --server $url --token $token
  relais sync

  -> ensuite : relais status doit dire « joignable » ; hors connexion tout
     fonctionne, « relais sync » envoie et reçoit au retour du réseau.
STEPS
	;;
esac
echo
echo "$token"
