#!/usr/bin/env bash
# install-deps.sh PACKAGE... - the Debian packages a make target needs
# (called by the Makefile's deps and deps-test, not installed).
#
# Installs those that are missing when run as root (apt-get, no
# recommends; `apt-get update` once if the lists are stale), otherwise
# prints the exact line to run and fails. Nothing is done when every
# package is there, so a machine with no network builds as before.
set -euo pipefail
missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "paquets manquants ; lancez : sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi
echo "installation des paquets manquants : ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
	{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
