#!/bin/sh
# deps.sh check|demo|bench: install the Debian packages a make target needs,
# only those missing.  When not root, print the exact apt-get line and stop.
set -eu

build="gcc make pkg-config libssl-dev libldns-dev libidn2-dev libspf2-dev
       libopendmarc-dev publicsuffix"
demo="$build"
check="$build clang libcmocka-dev nsd ldnsutils bind9-dnsutils perl
       python3 python3-dkim python3-dnspython python3-yaml
       opendkim-tools libmail-dkim-perl procmail maildrop parallel mandoc iproute2
       spfquery python3-spf python3-authres libxml2-utils
       openssl unbound python3-openssl python3-cryptography gnutls-bin
       postfix haproxy swaks libmariadb3 libidn12 dovecot-core
       dante-server microsocks"
bench="$check netcat-openbsd"

case "${1:-check}" in
check) want=$check ;;
demo)  want=$demo ;;
bench) want=$bench ;;
*) echo "deps.sh: unknown target: $1" >&2; exit 64 ;;
esac

missing=
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

# Some images ship node and npm outside Debian's nodejs package.
case "${1:-check}" in check|bench)
	command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
esac

if [ -n "$missing" ]; then
	line="apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends$missing"
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing Debian packages; as root run:" >&2
		echo "  apt-get update && $line" >&2
		exit 69
	fi
	echo "deps.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	$line >/dev/null
fi

# Exim, the oracle for smtpfront (PRDR transcripts, the bench), conflicts
# with postfix as a package: its binary is unpacked, not installed
# (t/peers/exim.sh runs it).
case "${1:-check}" in
check|bench)
	exim_dir=/var/cache/mxkit/exim4
	if [ ! -x "$exim_dir/usr/sbin/exim4" ] && [ "$(id -u)" = 0 ]; then
		echo "deps.sh: unpacking exim4-daemon-heavy into $exim_dir" >&2
		tmp=$(mktemp -d)
		if (cd "$tmp" && apt-get -o DPkg::Lock::Timeout=900 download \
		    exim4-daemon-heavy >/dev/null 2>&1); then
			mkdir -p "$exim_dir"
			dpkg -x "$tmp"/exim4-daemon-heavy_*.deb "$exim_dir"
		else
			echo "deps.sh: could not download exim4-daemon-heavy" >&2
		fi
		rm -rf "$tmp"
	fi
	;;
esac

# Peers from the npm registry (mailauth) live in a project-local prefix.
case "${1:-check}" in
check|bench)
	dir=$(dirname "$0")/node
	if [ ! -d "$dir/node_modules/mailauth" ]; then
		echo "deps.sh: installing mailauth (npm) into $dir" >&2
		(cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1 ||
			npm install --silent --no-audit --no-fund >/dev/null)
	fi
	;;
esac
exit 0
