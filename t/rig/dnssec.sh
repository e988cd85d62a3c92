# t/rig/dnssec.sh: DNSSEC-signed zones and validating resolvers for tests.
# Source it after t/lib.sh and t/rig/dns.sh.
#
#   dnssec_sign_zone [--expired] [--no-anchor] [--nsec3] [--new-keys]
#                    ORIGIN FILE
#       Sign FILE (ldns-signzone) with ORIGIN's KSK and ZSK (ldns-keygen,
#       ECDSAP256SHA256, under $TEST_DIR/dnssec-rig/keys; made at the first
#       call for ORIGIN and kept, so signing again keeps the DS; --new-keys
#       makes a new pair, hence a new DS):
#       writes FILE.signed, FILE.ds (the KSK's DS record) and FILE.dnskey
#       (the KSK's DNSKEY record), both in zone-file syntax.  Unless
#       --no-anchor, the DS replaces ORIGIN's line in the trust anchors
#       unbound_start reads ($DNSSEC_ANCHORS, exported; DS lines).  Use
#       --no-anchor for a child zone whose DS goes into its (signed)
#       parent: append FILE.ds to the
#       parent's zone file before signing the parent, and delegate to it
#       with an NS record.  Signatures are valid from an hour ago for 30
#       days; --expired signs with signatures that expired in 2020 (a bogus
#       zone: a validator answers SERVFAIL).  --nsec3: NSEC3 (no salt, no
#       extra iterations) instead of NSEC.
#   dnssec_sign_zone_bogus ORIGIN FILE
#       dnssec_sign_zone --expired ORIGIN FILE.
#   dnssec_rig_start ORIGIN=FILE [ORIGIN=FILE...]
#       dns_rig_start (NSD serves signed, unsigned and bogus zone files
#       alike; give it FILE.signed for a signed zone), and remember the
#       origins: unbound_start makes a stub zone for each.
#   unbound_start [ORIGIN...]
#       Start a validating unbound on 127.0.0.1 (a free port, everything
#       under $TEST_DIR/unbound, as the invoking user), trusting
#       $DNSSEC_ANCHORS, with a stub zone to the NSD of dns_rig_start for
#       each ORIGIN (default: the origins given to dnssec_rig_start); wait
#       (bounded) until it answers; export UNBOUND_PORT and
#       MXKIT_VALIDATING_RESOLVER=127.0.0.1:PORT; stop it at exit.
#       MXKIT_RESOLVER (NSD itself) is left alone.  On failure: the reason
#       and unbound's log on stderr, return 1.
#   unbound_start_nonvalidating [ORIGIN...]
#       The same without the validator or trust anchors (answers never carry
#       AD), under $TEST_DIR/unbound-nv; exports UNBOUND_NV_PORT and
#       MXKIT_NONVALIDATING_RESOLVER=127.0.0.1:PORT.  Both may run at once.
#   unbound_stop, unbound_stop_nonvalidating
#       Stop them (TERM, KILL after 5 s).
#
# Changing a zone while the rig runs: edit, sign again, dnssec_rig_start
# again (a new NSD port), then unbound_start again (the stubs point at it).
#
# Zones should live under .test (unbound's default local zone for test. is
# switched off); the names need not resolve anywhere else: every lookup
# stays on 127.0.0.1.

_dnssec_unbound=$(command -v unbound 2>/dev/null || echo /usr/sbin/unbound)
_dnssec_zones=
_ub_v_pid=
_ub_nv_pid=
_ub_v_atexit=
_ub_nv_atexit=

_dnssec_dir() {
	printf '%s/dnssec-rig\n' "${TEST_DIR:-$(pwd)}"
}

# _dnssec_keygen ORIGIN [-k]: a new key's base name under the keys dir.
_dnssec_keygen() {
	(cd "$(_dnssec_dir)/keys" &&
	    ldns-keygen -a ECDSAP256SHA256 ${2:+"$2"} "$1")
}

dnssec_sign_zone() {
	_sz_expired=0
	_sz_anchor=1
	_sz_nsec3=
	_sz_newkeys=0
	_sz_bad=0
	while [ $# -gt 0 ]; do
		case $1 in
		--expired) _sz_expired=1 ;;
		--no-anchor) _sz_anchor=0 ;;
		--nsec3) _sz_nsec3=1 ;;
		--new-keys) _sz_newkeys=1 ;;
		--) shift; break ;;
		-*) _sz_bad=1; break ;;
		*) break ;;
		esac
		shift
	done
	if [ $_sz_bad = 1 ] || [ $# != 2 ] || [ ! -r "$2" ]; then
		echo "dnssec_sign_zone: usage: dnssec_sign_zone" \
		    "[--expired] [--no-anchor] [--nsec3] [--new-keys] ORIGIN FILE" \
		    "(FILE readable)" >&2
		return 1
	fi
	_sz_o=$(_dns_fqdn "$1")
	_sz_f=$2
	_sz_d=$(_dnssec_dir)
	mkdir -p "$_sz_d/keys" || return 1
	DNSSEC_ANCHORS=$_sz_d/anchors
	export DNSSEC_ANCHORS
	[ -f "$DNSSEC_ANCHORS" ] || : >"$DNSSEC_ANCHORS"
	# One key pair per origin, kept for the test's life: signing a zone
	# again (new records, --expired) keeps its DS and trust anchor valid.
	_sz_kf=$_sz_d/keys/${_sz_o}pair
	[ $_sz_newkeys = 1 ] && rm -f "$_sz_kf"
	if [ ! -s "$_sz_kf" ]; then
		_sz_ksk=$(_dnssec_keygen "$_sz_o" -k) &&
		    _sz_zsk=$(_dnssec_keygen "$_sz_o") || {
			echo "dnssec_sign_zone: ldns-keygen failed for $_sz_o" >&2
			return 1
		}
		echo "$_sz_ksk $_sz_zsk" >"$_sz_kf"
	fi
	read -r _sz_ksk _sz_zsk <"$_sz_kf"
	if [ $_sz_expired = 1 ]; then
		_sz_i=20200101000000
		_sz_e=20200201000000
	else
		_sz_now=$(date +%s)
		_sz_i=$((_sz_now - 3600))
		_sz_e=$((_sz_now + 30 * 86400))
	fi
	if ! ldns-signzone ${_sz_nsec3:+-n -t 0} -o "$_sz_o" \
	    -i "$_sz_i" -e "$_sz_e" -f "$_sz_f.signed" "$_sz_f" \
	    "$_sz_d/keys/$_sz_ksk" "$_sz_d/keys/$_sz_zsk" \
	    >"$_sz_d/signzone.out" 2>&1; then
		echo "dnssec_sign_zone: ldns-signzone failed for $_sz_f:" >&2
		sed 's/^/# /' "$_sz_d/signzone.out" >&2
		return 1
	fi
	cp "$_sz_d/keys/$_sz_ksk.ds" "$_sz_f.ds" &&
	    cp "$_sz_d/keys/$_sz_ksk.key" "$_sz_f.dnskey" || return 1
	# This origin's anchor (if any) is replaced, never doubled.
	grep -v "^$(printf '%s' "$_sz_o" | sed 's/\./\\./g')[[:space:]]" \
	    "$DNSSEC_ANCHORS" >"$DNSSEC_ANCHORS.new"
	[ $_sz_anchor = 1 ] && cat "$_sz_f.ds" >>"$DNSSEC_ANCHORS.new"
	mv "$DNSSEC_ANCHORS.new" "$DNSSEC_ANCHORS"
	return 0
}

dnssec_sign_zone_bogus() {
	dnssec_sign_zone --expired "$@"
}

dnssec_rig_start() {
	dns_rig_start "$@" || return 1
	_dnssec_zones=
	for _rz in "$@"; do
		_dnssec_zones="$_dnssec_zones $(_dns_fqdn "${_rz%%=*}")"
	done
	return 0
}

# _ub_conf KIND PORT DIR ORIGIN...: unbound's configuration on stdout.
_ub_conf() {
	_uc_kind=$1
	_uc_port=$2
	_uc_dir=$3
	shift 3
	cat <<EOF
server:
	interface: 127.0.0.1@$_uc_port
	port: $_uc_port
	outgoing-interface: 127.0.0.1
	interface-automatic: no
	do-ip4: yes
	do-ip6: no
	do-udp: yes
	do-tcp: yes
	do-daemonize: no
	num-threads: 1
	so-reuseport: no
	username: ""
	chroot: ""
	directory: "$_uc_dir"
	pidfile: "$_uc_dir/unbound.pid"
	use-syslog: no
	logfile: "$_uc_dir/unbound.log"
	verbosity: 1
	val-log-level: 2
	access-control: 127.0.0.0/8 allow
	do-not-query-localhost: no
	local-zone: "test." nodefault
	qname-minimisation: no
	cache-max-ttl: 5
	cache-max-negative-ttl: 1
	infra-host-ttl: 5
	trust-anchor-signaling: no
EOF
	if [ "$_uc_kind" = v ]; then
		printf '\tmodule-config: "validator iterator"\n'
		[ -s "${DNSSEC_ANCHORS:-}" ] &&
		    printf '\ttrust-anchor-file: "%s"\n' "$DNSSEC_ANCHORS"
	else
		printf '\tmodule-config: "iterator"\n'
	fi
	for _uc_z in "$@"; do
		printf 'stub-zone:\n\tname: "%s"\n\tstub-addr: 127.0.0.1@%s\n' \
		    "$_uc_z" "$DNS_RIG_PORT"
	done
	printf 'remote-control:\n\tcontrol-enable: no\n'
}

# _ub_ready PID PORT: unbound answers (its built-in localhost zone), 5 s.
_ub_ready() {
	_ur_t0=$(date +%s)
	while [ $(($(date +%s) - _ur_t0)) -lt 5 ]; do
		proc_alive "$1" || return 1
		dig +time=1 +tries=1 -p "$2" @127.0.0.1 localhost. A \
		    2>/dev/null | grep -q 'status: NOERROR' && return 0
		sleep 0.1
	done
	return 1
}

# _ub_start KIND(v|nv) ORIGIN...: sets _ub_pid, _ub_port.
_ub_start() {
	_us_kind=$1
	shift
	[ $# -gt 0 ] || set -- $_dnssec_zones
	if [ -z "${DNS_RIG_PORT:-}" ] && [ $# -gt 0 ]; then
		echo "unbound_start: no NSD (run dnssec_rig_start first)" >&2
		return 1
	fi
	_us_dir=${TEST_DIR:-$(pwd)}/unbound
	[ "$_us_kind" = nv ] && _us_dir=$_us_dir-nv
	mkdir -p "$_us_dir" || return 1
	for _us_try in 1 2 3; do
		_ub_port=$(free_port)
		rm -f "$_us_dir/unbound.pid" "$_us_dir/unbound.log"
		_ub_conf "$_us_kind" "$_ub_port" "$_us_dir" "$@" \
		    >"$_us_dir/unbound.conf"
		"$_dnssec_unbound" -c "$_us_dir/unbound.conf" \
		    >"$_us_dir/unbound.out" 2>&1 </dev/null &
		_ub_pid=$!
		_ub_ready "$_ub_pid" "$_ub_port" && return 0
		proc_stop "$_ub_pid"
		_ub_pid=
		grep -qi 'bind\|address already in use' \
		    "$_us_dir/unbound.log" "$_us_dir/unbound.out" \
		    2>/dev/null || break
	done
	{
		echo "unbound_start: unbound did not answer on 127.0.0.1:$_ub_port"
		cat "$_us_dir/unbound.out" "$_us_dir/unbound.log" 2>/dev/null
	} | sed 's/^/# /' >&2
	return 1
}

unbound_start() {
	unbound_stop
	if [ -z "$_ub_v_atexit" ]; then
		at_exit unbound_stop
		_ub_v_atexit=1
	fi
	_ub_start v "$@" || return 1
	_ub_v_pid=$_ub_pid
	UNBOUND_PORT=$_ub_port
	MXKIT_VALIDATING_RESOLVER=127.0.0.1:$_ub_port
	export UNBOUND_PORT MXKIT_VALIDATING_RESOLVER
	return 0
}

unbound_start_nonvalidating() {
	unbound_stop_nonvalidating
	if [ -z "$_ub_nv_atexit" ]; then
		at_exit unbound_stop_nonvalidating
		_ub_nv_atexit=1
	fi
	_ub_start nv "$@" || return 1
	_ub_nv_pid=$_ub_pid
	UNBOUND_NV_PORT=$_ub_port
	MXKIT_NONVALIDATING_RESOLVER=127.0.0.1:$_ub_port
	export UNBOUND_NV_PORT MXKIT_NONVALIDATING_RESOLVER
	return 0
}

unbound_stop() {
	[ -n "$_ub_v_pid" ] && proc_stop "$_ub_v_pid"
	_ub_v_pid=
	return 0
}

unbound_stop_nonvalidating() {
	[ -n "$_ub_nv_pid" ] && proc_stop "$_ub_nv_pid"
	_ub_nv_pid=
	return 0
}
