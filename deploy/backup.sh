#!/usr/bin/env bash
# backup.sh - a dated, consistent copy of the live HQ store (the server may
# be running), keeping the newest ones. relais-backup.timer runs it daily.
#
# usage: deploy/backup.sh [--dir DEST] [--keep N] [--config FILE] [--store DIR] [--bin DIR]
#   --dir DEST   where the copies go, one directory each, named by UTC time
#                (default /var/lib/relais-server-backups)
#   --keep N     copies kept, the newest (default 14)
#   --config, --store, --bin   as for relais-server
# Each copy holds data.mdb and, when the store is protected by the
# server.key of its directory, that key: keep copies where only the relais
# user and the administrators can read them, and copy them off the machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dest=/var/lib/relais-server-backups keep=14 config="" store="" bin=""
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dest="$2"; shift 2 ;;
	--keep) keep="$2"; shift 2 ;;
	--config) config="$2"; shift 2 ;;
	--store) store="$2"; shift 2 ;;
	--bin) bin="$2"; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "backup.sh: option inconnue : $1" >&2; exit 2 ;;
	esac
done
case "$keep" in ''|*[!0-9]*) echo "backup.sh: --keep attend un nombre" >&2; exit 2 ;; esac
rl_find_bins "$bin"
args=()
[ -z "$config" ] || args+=(--config "$config")
[ -z "$store" ] || args+=(--store "$store")

(umask 077 && mkdir -p "$dest")
copy="$dest/$(date -u +%Y%m%dT%H%M%SZ)"
"$RELAIS_SERVER" "${args[@]}" backup "$copy"
# Older copies beyond the newest $keep go (names sort by time).
if [ "$keep" -gt 0 ]; then
	ls -1d "$dest"/[0-9]*T[0-9]*Z 2>/dev/null | sort | head -n "-$keep" | while read -r old; do
		rm -rf -- "$old"
		echo "ancienne copie supprimée : $old"
	done
fi
