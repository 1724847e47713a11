#!/usr/bin/env bash
# restore.sh - put a copy made by `relais-server backup` (or backup.sh) back
# in service: stop the server, move the current store aside (it is kept),
# copy the backup in its place, check it opens, start the server.
#
# usage: deploy/restore.sh BACKUP [--store DIR] [--config FILE] [--bin DIR]
#                          [--service NAME | --no-service]
#                          [--stop CMD --start CMD]
#   BACKUP        a directory written by `relais-server backup` (data.mdb,
#                 and server.key when the store uses one)
#   --store DIR   the live store (default: [server] store of the
#                 configuration, else $RELAIS_SERVER_STORE, else
#                 /var/lib/relais-server)
#   --service N   the systemd unit to stop and start (default relais-server,
#                 when systemctl is there)
#   --no-service  stop and start nothing: the server must already be stopped
#   --stop CMD, --start CMD   shell commands that stop and start the server
#                 instead of systemctl
#
# The first `relais-server run` on the restored store draws a new store
# epoch ("store restored from a backup" in the log): on their next sync,
# clients resend everything they had pushed (the server keeps what it
# already has) and pull again from the start, so the changes the backup
# missed come back from the devices that made them. Devices enrolled after
# the backup must be enrolled again; devices revoked after it must be
# revoked again (the script lists the revocations it finds in the old store).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

backup="" store="" config="" bin="" service=relais-server use_service=auto
stop_cmd="" start_cmd=""
while [ $# -gt 0 ]; do
	case "$1" in
	--store) store="$2"; shift 2 ;;
	--config) config="$2"; shift 2 ;;
	--bin) bin="$2"; shift 2 ;;
	--service) service="$2"; use_service=yes; shift 2 ;;
	--no-service) use_service=no; shift ;;
	--stop) stop_cmd="$2"; shift 2 ;;
	--start) start_cmd="$2"; shift 2 ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "restore.sh: option inconnue : $1" >&2; exit 2 ;;
	*) backup="$1"; shift ;;
	esac
done
[ -n "$backup" ] || { echo "usage: restore.sh BACKUP [--store DIR] [--no-service]" >&2; exit 2; }
if [ ! -f "$backup/data.mdb" ]; then
	echo "restore.sh: $backup ne contient pas de copie (data.mdb absent)" >&2
	exit 1
fi
rl_find_bins "$bin"
if [ -z "$store" ] && [ -n "$config" ]; then
	store="$(sed -n 's/^[[:space:]]*store[[:space:]]*=[[:space:]]*//p' "$config" | tail -n1)"
fi
[ -n "$store" ] || store="${RELAIS_SERVER_STORE:-/var/lib/relais-server}"
store="${store%/}"
if [ -n "$stop_cmd$start_cmd" ]; then
	use_service=cmd
elif [ "$use_service" = auto ]; then
	if command -v systemctl >/dev/null && systemctl cat "$service" >/dev/null 2>&1; then
		use_service=yes
	else
		use_service=no
	fi
fi
cargs=()
[ -z "$config" ] || cargs+=(--config "$config")

rl_step 1 "arrêt du serveur"
case "$use_service" in
yes) systemctl stop "$service"; echo "   $service arrêté" ;;
cmd) [ -z "$stop_cmd" ] || bash -c "$stop_cmd"; echo "   serveur arrêté" ;;
no) echo "   (aucun service à arrêter : le serveur doit déjà être arrêté)" ;;
esac
# A store still served would keep changing under us.
# (Processes this user may see only: run it as root or as the server's user.)
if [ -f "$store/data.mdb" ]; then
	holder="$(find /proc/[0-9]*/fd -lname "$(realpath "$store/data.mdb")" 2>/dev/null | head -n1 || true)"
	if [ -n "$holder" ]; then
		pid="${holder#/proc/}"
		pid="${pid%%/*}"
		echo "restore.sh: $store/data.mdb est encore ouvert (processus $pid : $(tr "\\0" " " </proc/$pid/cmdline 2>/dev/null)) ; arrêtez le serveur" >&2
		exit 1
	fi
fi

rl_step 2 "mise de côté du magasin actuel"
aside=""
if [ -e "$store" ]; then
	aside="$store.avant-restauration-$(date -u +%Y%m%dT%H%M%SZ)"
	mv "$store" "$aside"
	echo "   $store -> $aside (gardé : rien n'est effacé)"
else
	echo "   pas de magasin dans $store"
fi

rl_step 3 "copie de la sauvegarde"
(umask 077 && mkdir -p "$store")
cp -p "$backup/data.mdb" "$store/data.mdb"
[ ! -f "$backup/server.key" ] || cp -p "$backup/server.key" "$store/server.key"
chmod 0700 "$store"
chmod 0600 "$store"/*
if [ -n "$aside" ]; then
	# Same owner as before (the relais user when root runs this).
	chown --reference="$aside" "$store" "$store"/* 2>/dev/null || true
fi
echo "   $backup -> $store"
if ! "$RELAIS_SERVER" "${cargs[@]}" --store "$store" devices >/dev/null 2>"$store.restore-check.err"; then
	echo "restore.sh: la copie ne s'ouvre pas : $(cat "$store.restore-check.err")" >&2
	echo "restore.sh: le magasin d'avant reste dans ${aside:-(aucun)} ; rien n'a été démarré" >&2
	rm -f "$store.restore-check.err"
	exit 1
fi
rm -f "$store.restore-check.err"
[ -z "$aside" ] || chown --reference="$aside" "$store/lock.mdb" 2>/dev/null || true
echo "   la copie s'ouvre : $("$RELAIS_SERVER" "${cargs[@]}" --store "$store" devices --json | grep -c '"device"') appareils enrôlés"

rl_step 4 "redémarrage du serveur"
case "$use_service" in
yes) systemctl start "$service"; echo "   $service démarré" ;;
cmd) [ -z "$start_cmd" ] || bash -c "$start_cmd"; echo "   serveur démarré" ;;
no) echo "   démarrez-le : relais-server ${cargs[*]} --store $store run" ;;
esac
rl_next "le journal du serveur doit dire « store restored from a backup: new epoch »"

rl_step 5 "ce que la sauvegarde ne contient pas"
echo "   - les changements faits depuis : chaque appareil les renvoie à sa prochaine"
echo "     synchronisation (relais sync, ou le service relais-sync) ;"
echo "   - les appareils enrôlés depuis : à enrôler de nouveau (deploy/enroll-device.sh) ;"
echo "   - les révocations faites depuis : à refaire (relais-server revoke APPAREIL)."
if [ -n "$aside" ] && [ -f "$aside/data.mdb" ]; then
	# The revocations the old store knows and the restored one does not.
	old="$("$RELAIS_SERVER" "${cargs[@]}" --store "$aside" devices --json 2>/dev/null || true)"
	new="$("$RELAIS_SERVER" "${cargs[@]}" --store "$store" devices --json 2>/dev/null || true)"
	if command -v jq >/dev/null && [ -n "$old" ] && [ -n "$new" ]; then
		jq -r --argjson new "$new" '.[] | select(.revoked) | .device as $d |
			select(([$new[] | select(.device == $d and .revoked)] | length) == 0) |
			"   à révoquer de nouveau : relais-server revoke \(.device)"' <<<"$old"
		jq -r --argjson new "$new" '.[] | .device as $d |
			select(([$new[] | select(.device == $d)] | length) == 0) |
			"   à enrôler de nouveau : \(.name // "-") (antenne \(.antenna), rôle \(.role))"' <<<"$old"
	fi
fi
