# t/rig/dns.sh: DNS servers for tests.  Source it after t/lib.sh.
#
#   dns_zone_begin ORIGIN FILE
#       Write "$ORIGIN ORIGIN.", "$TTL 300", an SOA (serial 1, negative TTL
#       60) and an NS line to FILE; append the test's records after it.
#   dns_rig_start ORIGIN=FILE [ORIGIN=FILE...]
#       Start NSD (authoritative, as the invoking user, everything under
#       $TEST_DIR/dns-rig) on 127.0.0.1, wait until it answers every zone's
#       SOA, export DNS_RIG_PORT and MXKIT_RESOLVER=127.0.0.1:PORT, stop it
#       at exit.  On failure: the reason and NSD's log on stderr, return 1.
#   dns_rig_stop
#       Stop it (TERM by pidfile, KILL after 5 s).
#   dns_rig_blackhole
#       Start a server on 127.0.0.1 (UDP and TCP, one port) that reads
#       queries and never answers (TCP connections are accepted and held),
#       export DNS_BLACKHOLE=127.0.0.1:PORT, stop it at exit.
#   dns_rig_blackhole_stop
#       Stop it.

_dns_nsd=$(command -v nsd 2>/dev/null || echo /usr/sbin/nsd)
_dns_rig_dir=
_dns_rig_pid=
_dns_rig_atexit=
_dns_bh_pid=
_dns_bh_atexit=

_dns_fqdn() {
	case $1 in
	*.) printf '%s\n' "$1" ;;
	*) printf '%s.\n' "$1" ;;
	esac
}

dns_zone_begin() {
	_o=$(_dns_fqdn "$1")
	cat >"$2" <<EOF
\$ORIGIN $_o
\$TTL 300
@	IN SOA ns.$_o hostmaster.$_o 1 3600 600 86400 60
@	IN NS ns.$_o
EOF
}

# _dns_rig_conf PORT ORIGIN=FILE...: NSD's configuration on stdout.
_dns_rig_conf() {
	_p=$1
	shift
	_dd=$_dns_rig_dir
	cat <<EOF
server:
	ip-address: 127.0.0.1@$_p
	port: $_p
	do-ip6: no
	username: ""
	chroot: ""
	database: ""
	zonesdir: "$_dd"
	pidfile: "$_dd/nsd.pid"
	xfrdfile: "$_dd/xfrd.state"
	xfrdir: "$_dd"
	zonelistfile: "$_dd/zone.list"
	logfile: "$_dd/nsd.log"
	verbosity: 1
	server-count: 1
	hide-version: yes
	zonefiles-write: 0
remote-control:
	control-enable: no
EOF
	for _z in "$@"; do
		_f=${_z#*=}
		case $_f in /*) ;; *) _f=$(pwd)/$_f ;; esac
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' \
		    "$(_dns_fqdn "${_z%%=*}")" "$_f"
	done
}

# _dns_rig_ready PORT ORIGIN=FILE...: every zone answers its SOA (5 s).
_dns_rig_ready() {
	_p=$1
	shift
	_t0=$(date +%s)
	while [ $(($(date +%s) - _t0)) -lt 5 ]; do
		proc_alive "$_dns_rig_pid" || return 1
		# NSD serves on without a zone it could not read: fail now.
		grep -q 'read with [0-9][0-9]* errors' \
		    "$_dns_rig_dir/nsd.log" 2>/dev/null && return 1
		_ok=1
		for _z in "$@"; do
			_a=$(dig +short +norec +time=1 +tries=1 -p "$_p" \
			    @127.0.0.1 "$(_dns_fqdn "${_z%%=*}")" SOA 2>/dev/null)
			case $_a in
			'' | ';'*) _ok=0; break ;;
			esac
		done
		[ $_ok = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

dns_rig_start() {
	if [ $# = 0 ]; then
		echo "dns_rig_start: usage: dns_rig_start ORIGIN=FILE..." >&2
		return 1
	fi
	for _z in "$@"; do
		case $_z in
		?*=?*) [ -r "${_z#*=}" ] && continue ;;
		esac
		echo "dns_rig_start: '$_z': want ORIGIN=FILE, FILE readable" >&2
		return 1
	done
	[ -n "$_dns_rig_pid" ] && dns_rig_stop
	_dns_rig_dir=${TEST_DIR:-$(pwd)}/dns-rig
	mkdir -p "$_dns_rig_dir" || return 1
	# A free port can be taken again before NSD binds it: try another.
	for _try in 1 2 3; do
		_port=$(free_port)
		rm -f "$_dns_rig_dir/nsd.pid" "$_dns_rig_dir/nsd.log"
		_dns_rig_conf "$_port" "$@" >"$_dns_rig_dir/nsd.conf"
		"$_dns_nsd" -d -c "$_dns_rig_dir/nsd.conf" \
		    >"$_dns_rig_dir/nsd.out" 2>&1 </dev/null &
		_dns_rig_pid=$!
		if [ -z "$_dns_rig_atexit" ]; then
			at_exit dns_rig_stop
			_dns_rig_atexit=1
		fi
		if _dns_rig_ready "$_port" "$@"; then
			DNS_RIG_PORT=$_port
			MXKIT_RESOLVER=127.0.0.1:$_port
			export DNS_RIG_PORT MXKIT_RESOLVER
			return 0
		fi
		dns_rig_stop
		grep -qi 'bind\|address already in use' \
		    "$_dns_rig_dir/nsd.log" "$_dns_rig_dir/nsd.out" \
		    2>/dev/null || break
	done
	{
		echo "dns_rig_start: nsd did not answer on 127.0.0.1:$_port"
		cat "$_dns_rig_dir/nsd.out" "$_dns_rig_dir/nsd.log" 2>/dev/null
	} | sed 's/^/# /' >&2
	return 1
}

dns_rig_stop() {
	[ -n "$_dns_rig_dir" ] || return 0
	_pid=
	[ -s "$_dns_rig_dir/nsd.pid" ] && _pid=$(cat "$_dns_rig_dir/nsd.pid")
	# The pidfile is written once NSD runs; before that, our child's pid.
	case $_pid in
	'' | *[!0-9]*) _pid=$_dns_rig_pid ;;
	esac
	[ -n "$_pid" ] && proc_stop "$_pid"
	[ -n "$_dns_rig_pid" ] && [ "$_dns_rig_pid" != "$_pid" ] &&
	    proc_stop "$_dns_rig_pid"
	_dns_rig_pid=
	rm -f "$_dns_rig_dir/nsd.pid"
	return 0
}

dns_rig_blackhole() {
	[ -n "$_dns_bh_pid" ] && dns_rig_blackhole_stop
	_d=${TEST_DIR:-$(pwd)}/dns-blackhole
	mkdir -p "$_d" || return 1
	rm -f "$_d/port"
	cat >"$_d/blackhole.py" <<'PY'
import os, select, socket, sys, time
portfile = sys.argv[1]
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
        break
    except OSError:
        t.close(); u.close()
else:
    sys.exit("blackhole: no free port")
t.listen(16)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(portfile + ".tmp", portfile)
held = []
deadline = time.monotonic() + 900   # never outlive a forgotten test
while time.monotonic() < deadline:
    r, _, _ = select.select([t, u] + held, [], [], 1.0)
    for s in r:
        if s is u:
            u.recvfrom(65535)
        elif s is t:
            c, _ = t.accept()
            held.append(c)
            if len(held) > 64:
                held.pop(0).close()
        elif not s.recv(65535):
            held.remove(s)
            s.close()
PY
	/usr/bin/python3 "$_d/blackhole.py" "$_d/port" \
	    >"$_d/log" 2>&1 </dev/null &
	_dns_bh_pid=$!
	if [ -z "$_dns_bh_atexit" ]; then
		at_exit dns_rig_blackhole_stop
		_dns_bh_atexit=1
	fi
	_n=0
	while [ ! -s "$_d/port" ] && [ $_n -lt 50 ] &&
	    proc_alive "$_dns_bh_pid"; do
		sleep 0.1
		_n=$((_n + 1))
	done
	if [ ! -s "$_d/port" ]; then
		{
			echo "dns_rig_blackhole: did not start"
			cat "$_d/log"
		} | sed 's/^/# /' >&2
		dns_rig_blackhole_stop
		return 1
	fi
	DNS_BLACKHOLE=127.0.0.1:$(cat "$_d/port")
	export DNS_BLACKHOLE
	return 0
}

dns_rig_blackhole_stop() {
	[ -n "$_dns_bh_pid" ] && proc_stop "$_dns_bh_pid"
	_dns_bh_pid=
	return 0
}
