#!/usr/bin/env bash
# provision-network.sh - a whole network on this machine, in one directory:
# the HQ server, HQ's first-line workstation, seven antennas and one mobile
# coordinator, each device with its own store, key file and configuration,
# all enrolled. Used by the demo (make demo) and by the tests; it is also a
# worked example of provision-hq.sh and enroll-device.sh.
#
# usage: deploy/provision-network.sh DIR [--url tcp://127.0.0.1:PORT] [--bin DIR]
#                                        [--quiet]
#   DIR      created; must not exist or be empty
#   --url    the address the HQ server will listen on (default: a free
#            loopback port)
#   --quiet  only the summary (the steps go to DIR/provision.log)
#
# Layout:
#   DIR/hq/server.conf  DIR/hq/store/ (server.key inside)
#   DIR/devices/NAME/relais.conf  relais.key  store/
#   DIR/network.txt     one line per device: NAME ANTENNA ROLE DEVICE-ID
#   DIR/env.sh          URL=..., for scripts (source it)
# Every device is used as: relais --config DIR/devices/NAME/relais.conf ...
# The server is started for the enrollments only; start it again with
#   relais-server --config DIR/hq/server.conf run
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# NAME ANTENNA ROLE: HQ's first line, seven antennas of the Bouches-du-Rhône
# network, and one coordinator's laptop for Marseille Nord.
DEVICES="accueil-siege SIEGE hq
marseille-nord MRS-NORD antenna
marseille-sud MRS-SUD antenna
aubagne AUBAGNE antenna
la-ciotat LA-CIOTAT antenna
martigues MARTIGUES antenna
salon SALON antenna
arles ARLES antenna
portable-nord MRS-NORD mobile"

dir="" url="" bin="" quiet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--url) url="$2"; shift 2 ;;
	--bin) bin="$2"; shift 2 ;;
	--quiet) quiet=1; shift ;;
	-h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "provision-network.sh: option inconnue : $1" >&2; exit 2 ;;
	*) dir="$1"; shift ;;
	esac
done
[ -n "$dir" ] || { echo "usage: provision-network.sh DIR [--url URL] [--bin DIR]" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	echo "provision-network.sh: $dir n'est pas vide" >&2
	exit 1
fi
rl_find_bins "$bin"
mkdir -p "$dir/hq" "$dir/devices"
dir="$(cd "$dir" && pwd)"
fixed_url="$url"
[ -n "$url" ] || url="tcp://127.0.0.1:$(rl_free_port)"

if [ $quiet = 1 ]; then
	exec 3>&1 >"$dir/provision.log"
else
	exec 3>&1
fi

srv_pid=""
stop_server() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
		srv_pid=""
	fi
}
trap stop_server EXIT

write_server_conf() {
	cat >"$dir/hq/server.conf" <<EOF
# HQ server of the local network (deploy/provision-network.sh)
[server]
listen = $url
store = $dir/hq/store
log_level = info
EOF
}
rl_step 1 "le serveur du siège"
write_server_conf
bash "$RL_DEPLOY_DIR/provision-hq.sh" --config "$dir/hq/server.conf" --url "$url" \
	--bin "$(dirname "$RELAIS_SERVER")" | sed -n '/== étape 1/,/== étape 2/{/== étape/d;/^$/d;p}'
rl_next "démarrer le serveur pour les enrôlements"
# The devices pin the url at enrollment: the port is settled now. A port
# another program took meanwhile is replaced by a new one (unless --url).
for attempt in $(seq 1 20); do
	: >"$dir/hq/server.log"
	"$RELAIS_SERVER" --config "$dir/hq/server.conf" run >>"$dir/hq/server.log" 2>&1 &
	srv_pid=$!
	rl_wait_serving "$dir/hq/server.log" "$url" "$srv_pid" && break
	stop_server
	if [ -n "$fixed_url" ] || ! rl_port_taken "$dir/hq/server.log" || [ "$attempt" = 20 ]; then
		echo "provision-network.sh: le serveur ne démarre pas (voir $dir/hq/server.log)" >&2
		exit 1
	fi
	url="tcp://127.0.0.1:$(rl_free_port)"
	write_server_conf
done
echo "   serveur du siège : $url"
echo "   serveur démarré (pid $srv_pid)"

: >"$dir/network.txt"
n=1
while read -r name antenna role; do
	n=$((n + 1))
	d="$dir/devices/$name"
	rl_step "$n" "appareil $name (antenne $antenna, rôle $role)"
	mkdir -p "$d"
	rl_make_keyfile "$d/relais.key"
	cat >"$d/relais.conf" <<EOF
# device $name, antenna $antenna, role $role (deploy/provision-network.sh)
[client]
store = $d/store
key_file = $d/relais.key
[sync]
interval = 1s
backoff_min = 200ms
backoff_max = 2s
timeout = 10s
EOF
	# On HQ: a token, and the steps for the device (abridged here: the
	# device's store, key and configuration are made just above).
	token="$(bash "$RL_DEPLOY_DIR/enroll-device.sh" --config "$dir/hq/server.conf" \
		--url "$url" --antenna "$antenna" --role "$role" --name "$name" \
		--bin "$(dirname "$RELAIS_SERVER")" | tail -n1)"
	echo "   jeton créé au siège : ${token:0:8}… (usage unique, 24 h)"
	# On the device.
	dev="$("$RELAIS" --config "$d/relais.conf" init --antenna "$antenna" --role "$role")"
	echo "   magasin chiffré créé ; identifiant de l'appareil : ${dev:0:16}…"
	"$RELAIS" --config "$d/relais.conf" enroll --server "$url" --token "$token" | sed 's/^/   /'
	echo "$name $antenna $role $dev" >>"$dir/network.txt"
	rl_next "sur l'appareil : relais --config $d/relais.conf sync"
done <<<"$DEVICES"

stop_server
echo "URL=$url" >"$dir/env.sh"
n=$((n + 1))
rl_step "$n" "réseau prêt"
echo "   $(wc -l <"$dir/network.txt") appareils enrôlés, liste dans $dir/network.txt"
rl_next "relais-server --config $dir/hq/server.conf run"
rl_next "puis, pour chaque appareil : relais --config $dir/devices/NOM/relais.conf sync"

exec 1>&3
if [ $quiet = 1 ]; then
	echo "réseau local prêt dans $dir ($(wc -l <"$dir/network.txt") appareils, serveur $url ;" \
		"détail : $dir/provision.log)"
fi
