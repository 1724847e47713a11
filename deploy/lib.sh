# lib.sh - shared by the deploy/ scripts (sourced, not run).
#
# Finds the two programs: --bin DIR or $RELAIS_BIN_DIR, else the build tree
# next to these scripts (a source checkout), else $PATH (an installation).

RL_DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# rl_find_bins [DIR]: sets RELAIS and RELAIS_SERVER to absolute paths.
rl_find_bins() {
	local dir="${1:-${RELAIS_BIN_DIR:-}}"
	if [ -z "$dir" ] && [ -x "$RL_DEPLOY_DIR/../build/relais-server" ]; then
		dir="$RL_DEPLOY_DIR/../build"
	fi
	if [ -n "$dir" ]; then
		RELAIS="$(cd "$dir" && pwd)/relais"
		RELAIS_SERVER="$(cd "$dir" && pwd)/relais-server"
	else
		RELAIS="$(command -v relais || true)"
		RELAIS_SERVER="$(command -v relais-server || true)"
	fi
	if [ ! -x "$RELAIS" ] || [ ! -x "$RELAIS_SERVER" ]; then
		echo "relais et relais-server introuvables (make, make install, ou --bin DOSSIER)" >&2
		exit 1
	fi
}

# A fresh store key: 64 hex characters, readable by the owner only.
rl_make_keyfile() {
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1")
}

# rl_step N TEXT: a numbered step heading on stdout.
rl_step() {
	printf '\n== étape %s : %s\n' "$1" "$2"
}

# rl_next TEXT: what to do next, on stdout.
rl_next() {
	printf '   -> ensuite : %s\n' "$1"
}

# rl_wait_serving LOG URL PID: waits (30 s at most: a loaded machine, a
# sanitized build) until the server at URL logs that it serves; 1 if it
# died or never did.
rl_wait_serving() {
	local i
	for i in $(seq 1 1500); do
		grep -q "serving on $2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# rl_free_port: a TCP port nobody uses, drawn at random below the kernel's
# ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default),
# where outgoing connections and TIME_WAIT sockets take ports that a
# listener check cannot see. Another program may still bind the port before
# the server does: the caller retries with a new one when the server says
# the address is taken.
rl_free_port() {
	local p i lo=32768 used
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "$lo" -gt 11000 ] || lo=32768
	used="$(ss -tan 2>/dev/null | awk 'NR > 1 {n = split($4, a, ":"); print a[n]}')"
	for i in $(seq 1 100); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		grep -qx "$p" <<<"$used" && continue
		echo "$p"
		return 0
	done
	echo "no free port" >&2
	return 1
}

# rl_port_taken LOG: whether the server's log says its address was taken.
rl_port_taken() {
	grep -q "cannot listen on .*: busy\|address in use" "$1" 2>/dev/null
}
