#!/bin/sh
# netns-dns.sh ORIGIN=ZONEFILE [ORIGIN=ZONEFILE...] -- CMD [ARG...]
#
# Run CMD where the system resolver (/etc/resolv.conf, port 53) answers from
# the given zone files: for peers that cannot be pointed at a DNS server on
# another port (opendkim-testmsg's libresolv lookups, dkimpy's command-line
# dkimverify).  CMD runs in private user, network and mount namespaces
# (unshare -rnm): a loopback-only network where nsd listens on 127.0.0.1:53,
# and a resolv.conf naming it bind-mounted over /etc/resolv.conf.  Nothing
# outside the namespaces is touched.  Exit: CMD's status; 77 when the
# namespaces or nsd are unavailable (callers skip).
set -u

if [ "${NETNS_DNS_INNER:-}" != 1 ]; then
	command -v unshare >/dev/null 2>&1 || { echo "netns-dns: no unshare" >&2; exit 77; }
	command -v nsd >/dev/null 2>&1 || { echo "netns-dns: no nsd" >&2; exit 77; }
	unshare -rnm true 2>/dev/null || { echo "netns-dns: unshare -rnm not permitted" >&2; exit 77; }
	NETNS_DNS_INNER=1 exec unshare -rnm sh "$0" "$@"
fi

zones=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	zones="$zones $1"
	shift
done
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "netns-dns: no command" >&2; exit 64; }

if command -v ip >/dev/null 2>&1; then
	ip link set lo up || exit 77
else
	ifconfig lo up 2>/dev/null || { echo "netns-dns: cannot bring lo up" >&2; exit 77; }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/netns-dns.XXXXXX") || exit 77
cat >"$dir/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1@53
	username: ""
	chroot: ""
	zonesdir: "$dir"
	pidfile: "$dir/nsd.pid"
	xfrdfile: "$dir/xfrd.state"
	zonelistfile: "$dir/zone.list"
	logfile: "$dir/nsd.log"
	database: ""
	server-count: 1
	verbosity: 0
	hide-version: yes
remote-control:
	control-enable: no
EOF
first=
for z in $zones; do
	origin=${z%%=*}
	file=${z#*=}
	case $file in /*) ;; *) file=$(pwd)/$file ;; esac
	origin=${origin%.}
	[ -n "$first" ] || first=$origin
	printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' "$origin" "$file" >>"$dir/nsd.conf"
done

nsd -c "$dir/nsd.conf" || { cat "$dir/nsd.log" >&2 2>/dev/null; rm -rf "$dir"; exit 77; }
stop() {
	[ -s "$dir/nsd.pid" ] && kill "$(cat "$dir/nsd.pid")" 2>/dev/null
	i=0
	while [ -s "$dir/nsd.pid" ] && kill -0 "$(cat "$dir/nsd.pid" 2>/dev/null)" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

# wait (bounded) until nsd answers for the first zone
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p 53 SOA "${first:-.}" 2>/dev/null | grep -q .; do
	i=$((i + 1))
	if [ $i -ge 50 ]; then
		echo "netns-dns: nsd did not answer" >&2
		cat "$dir/nsd.log" >&2 2>/dev/null
		exit 77
	fi
	sleep 0.1
done

echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf || exit 77

"$@"
rc=$?
exit $rc
