# t/rig/socks.sh: real SOCKS5 servers on loopback for the tests: dante
# (danted, Debian's dante-server) and microsocks.  Source it after
# t/lib.sh.
#
#   socks_require dante|microsocks ...
#       skip_all unless each daemon is installed (dante also needs root:
#       its username method checks the system's users, and socks_user
#       creates one).  Call it before the first test.
#   socks_start_dante NAME MODE [-6]
#       Start danted with a configuration of the test's own
#       ($TEST_DIR/socks/NAME.conf, never /etc/danted.conf), in the
#       foreground with its own pid file, logging to NAME.log there.
#       MODE: none      socksmethod none, every CONNECT passed
#             username  RFC 1929 against the system's users: socks_user
#                       is called first, so SOCKS_USER and SOCKS_PASS
#                       hold credentials it accepts
#             refuse    socksmethod none, every CONNECT blocked by a
#                       socks rule: reply 2, "connection not allowed by
#                       ruleset"
#       -6: listen on ::1 as well as 127.0.0.1, on the same port (only
#       when socks_have_v6 says ::1 works).  The external side is
#       127.0.0.1 (and ::1 when it works), so IPv4 and IPv6 targets on
#       loopback are both reachable.
#   socks_start_microsocks NAME [-6] [-u USER -P PASS]
#       Start microsocks on 127.0.0.1 (-6: on ::1 instead), NAME.log its
#       output (one "client[N] ADDR: connected to HOST:PORT" line per
#       CONNECT: HOST is the name when the client sent a DOMAINNAME).
#   Both wait (5 s) until the port listens, set SOCKS_PORT and
#   SOCKS_PORT_NAME, and stop the server at exit; on failure they print
#   its log with '# ' prefixes on stderr and return 1.
#   socks_stop NAME      TERM (KILL after 5 s), and wait for the
#                        server's own child processes to go too
#   socks_stop_all       every server started here
#   socks_pid NAME       its pid (empty once stopped)
#   socks_log NAME       the path of its log
#   socks_user           create (once) a throwaway system user
#                        mxk-socks-PID with a random password, removed at
#                        exit; sets SOCKS_USER and SOCKS_PASS
#   socks_have_v6        ::1 can be bound
# Call the start functions (and socks_user) at the script's top level,
# not inside a test_expect_success body: that runs in a subshell, whose
# at_exit and variables the script never sees.

_socks_atexit=
_socks_reap=
SOCKS_USER=
SOCKS_PASS=

_socks_dir() {
	printf '%s/socks\n' "${TEST_DIR:-$(pwd)}"
}

_socks_danted() {
	command -v danted 2>/dev/null ||
	    { [ -x /usr/sbin/danted ] && echo /usr/sbin/danted; }
}

_socks_microsocks() {
	command -v microsocks 2>/dev/null ||
	    { [ -x /usr/bin/microsocks ] && echo /usr/bin/microsocks; }
}

# _socks_missing WHAT: skip_all before the first test, else an error.
_socks_missing() {
	if [ "${test_count:-0}" = 0 ]; then
		skip_all "$1"
	fi
	echo "# socks: $1" >&2
	return 1
}

socks_require() {
	for _sr in "$@"; do
		case $_sr in
		dante)
			[ -n "$(_socks_danted)" ] ||
			    _socks_missing "danted (dante-server) is not installed"
			[ "$(id -u)" = 0 ] ||
			    _socks_missing "dante's username method needs root (a system user)"
			command -v useradd >/dev/null 2>&1 &&
			    command -v chpasswd >/dev/null 2>&1 ||
			    _socks_missing "useradd/chpasswd are not installed"
			;;
		microsocks)
			[ -n "$(_socks_microsocks)" ] ||
			    _socks_missing "microsocks is not installed"
			;;
		*)
			echo "socks_require: unknown daemon $_sr" >&2
			return 1
			;;
		esac
	done
	return 0
}

socks_have_v6() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# _socks_listening PORT: something listens on TCP PORT (IPv4 or IPv6),
# from /proc, so that no connection is made to the server to find out.
_socks_listening() {
	_sl_hex=$(printf '%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v p=":$_sl_hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }'
}

# _socks_kids PID: the pids of PID's descendants (one pass over /proc).
_socks_kids() {
	# cat, not awk's own file list: mawk stops at a pid that went away
	cat /proc/[0-9]*/status 2>/dev/null |
	    awk -v top="$1" '/^Pid:/ { p = $2 } /^PPid:/ { pp[p] = $2 }
	    END {
		want[top] = 1
		do {
			more = 0
			for (p in pp)
				if ((pp[p] in want) && !(p in want)) {
					want[p] = 1; more = 1; print p
				}
		} while (more)
	    }'
}

# _socks_remove_stale: users of earlier runs killed before their
# cleanup (mxk-socks-PID whose PID is gone).
_socks_remove_stale() {
	for _rs_u in $(awk -F: '/^mxk-socks-[0-9]+:/ { print $1 }' /etc/passwd); do
		_rs_p=${_rs_u#mxk-socks-}
		[ "$_rs_p" = $$ ] && continue
		kill -0 "$_rs_p" 2>/dev/null && continue
		userdel "$_rs_u" 2>/dev/null
	done
	return 0
}

_socks_user_del() {
	[ -n "$SOCKS_USER" ] || return 0
	userdel "$SOCKS_USER" 2>/dev/null
	SOCKS_USER=
	return 0
}

socks_user() {
	[ -n "$SOCKS_USER" ] && return 0
	_socks_remove_stale
	_su_name=mxk-socks-$$
	_su_pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	# at_exit first: the user goes even when useradd half-succeeds
	SOCKS_USER=$_su_name
	at_exit _socks_user_del
	useradd -r -M -N -d /nonexistent -s /usr/sbin/nologin \
	    -c 'mxkit socks test' "$_su_name" >&2 || return 1
	printf '%s:%s\n' "$_su_name" "$_su_pass" | chpasswd >&2 || return 1
	SOCKS_PASS=$_su_pass
	return 0
}

_socks_name_ok() {
	case ${1:-} in
	'' | *[!A-Za-z0-9_]*)
		echo "socks: bad NAME '${1:-}' (letters, digits, _)" >&2
		return 1
		;;
	esac
}

_socks_prepare() {
	_socks_name_ok "$1" || return 1
	mkdir -p "$(_socks_dir)" || return 1
	socks_stop "$1"
	if [ -z "$_socks_atexit" ]; then
		at_exit socks_stop_all
		_socks_atexit=1
	fi
}

# _socks_wait NAME PID PORT: up to 5 s for PORT to listen.
_socks_wait() {
	_sw_n=0
	while ! _socks_listening "$3"; do
		if ! proc_alive "$2" || [ $_sw_n -ge 100 ]; then
			{
				echo "socks: $1 did not start (port $3)"
				cat "$(_socks_dir)/$1.log" 2>/dev/null
			} | sed 's/^/# /' >&2
			socks_stop "$1"
			return 1
		fi
		sleep 0.05
		_sw_n=$((_sw_n + 1))
	done
	SOCKS_PORT=$3
	eval "SOCKS_PORT_$1=\$3"
	return 0
}

_socks_dante_conf() {
	# $1 file, $2 log, $3 port, $4 mode, $5 v6 (1 or empty), $6 ext6
	{
		echo "# written by t/rig/socks.sh"
		echo "logoutput: $2"
		echo "internal: 127.0.0.1 port = $3"
		[ -n "$5" ] && echo "internal: ::1 port = $3"
		echo "external: 127.0.0.1"
		[ -n "$6" ] && echo "external: ::1"
		case $4 in
		username) echo "socksmethod: username" ;;
		*) echo "socksmethod: none" ;;
		esac
		echo "clientmethod: none"
		# root for the shadow file (username); nobody otherwise
		echo "user.privileged: root"
		echo "user.unprivileged: nobody"
		echo "timeout.negotiate: 10"
		echo "client pass {"
		echo "	from: 0/0 to: 0/0"
		echo "	log: error"
		echo "}"
		if [ "$4" = refuse ]; then
			echo "socks block {"
			echo "	from: 0/0 to: 0/0"
			echo "	log: connect error"
			echo "}"
		else
			echo "socks pass {"
			echo "	from: 0/0 to: 0/0"
			echo "	command: connect"
			echo "	log: connect error"
			echo "}"
		fi
	} >"$1"
}

socks_start_dante() {
	_sd_name=${1:-}
	_sd_mode=${2:-}
	_sd_v6=
	case $_sd_mode in
	none | username | refuse) ;;
	*)
		echo "socks_start_dante: usage: NAME none|username|refuse [-6]" >&2
		return 1
		;;
	esac
	[ "${3:-}" = -6 ] && _sd_v6=1
	_sd_bin=$(_socks_danted)
	[ -n "$_sd_bin" ] ||
	    { _socks_missing "danted (dante-server) is not installed"; return 1; }
	_socks_prepare "$_sd_name" || return 1
	if [ "$_sd_mode" = username ]; then
		socks_user || { echo "# socks: cannot create a user" >&2; return 1; }
	fi
	_sd_ext6=
	socks_have_v6 && _sd_ext6=1
	_sd_d=$(_socks_dir)
	# a port taken between free_port and danted's bind: try another
	for _sd_try in 1 2 3; do
		_sd_port=$(free_port)
		_socks_dante_conf "$_sd_d/$_sd_name.conf" "$_sd_d/$_sd_name.log" \
		    "$_sd_port" "$_sd_mode" "$_sd_v6" "$_sd_ext6"
		: >"$_sd_d/$_sd_name.log"
		"$_sd_bin" -f "$_sd_d/$_sd_name.conf" -p "$_sd_d/$_sd_name.dpid" \
		    </dev/null >>"$_sd_d/$_sd_name.log" 2>&1 &
		echo $! >"$_sd_d/$_sd_name.pid"
		_socks_wait "$_sd_name" $! "$_sd_port" 2>"$_sd_d/$_sd_name.err" &&
		    { rm -f "$_sd_d/$_sd_name.err"; return 0; }
		grep -q 'Address already in use' "$_sd_d/$_sd_name.err" || break
	done
	cat "$_sd_d/$_sd_name.err" >&2
	return 1
}

socks_start_microsocks() {
	_sm_name=${1:-}
	shift
	_sm_ip=127.0.0.1
	if [ "${1:-}" = -6 ]; then
		_sm_ip=::1
		shift
	fi
	_sm_bin=$(_socks_microsocks)
	[ -n "$_sm_bin" ] ||
	    { _socks_missing "microsocks is not installed"; return 1; }
	_socks_prepare "$_sm_name" || return 1
	_sm_d=$(_socks_dir)
	for _sm_try in 1 2 3; do
		_sm_port=$(free_port)
		"$_sm_bin" -i "$_sm_ip" -p "$_sm_port" "$@" \
		    </dev/null >"$_sm_d/$_sm_name.log" 2>&1 &
		echo $! >"$_sm_d/$_sm_name.pid"
		_socks_wait "$_sm_name" $! "$_sm_port" 2>"$_sm_d/$_sm_name.err" &&
		    { rm -f "$_sm_d/$_sm_name.err"; return 0; }
		grep -q 'in use' "$_sm_d/$_sm_name.err" || break
	done
	cat "$_sm_d/$_sm_name.err" >&2
	return 1
}

socks_pid() {
	_sp_f=$(_socks_dir)/$1.pid
	[ -s "$_sp_f" ] && cat "$_sp_f"
	return 0
}

socks_log() {
	printf '%s/%s.log\n' "$(_socks_dir)" "$1"
}

socks_stop() {
	_st_f=$(_socks_dir)/$1.pid
	[ -s "$_st_f" ] || return 0
	_st_pid=$(cat "$_st_f")
	# danted forks negotiate, request and io children: once the mother
	# is gone they are init's, so they are waited for here by pid
	_st_kids=$(_socks_kids "$_st_pid")
	proc_stop "$_st_pid"
	for _st_k in $_st_kids; do
		_st_n=0
		while proc_alive "$_st_k" && [ $_st_n -lt 100 ]; do
			sleep 0.05
			_st_n=$((_st_n + 1))
		done
		proc_alive "$_st_k" && kill -KILL "$_st_k" 2>/dev/null
	done
	_socks_reap="$_socks_reap $_st_kids"
	rm -f "$_st_f"
	return 0
}

socks_stop_all() {
	for _sa_f in "$(_socks_dir)"/*.pid; do
		[ -f "$_sa_f" ] || continue
		_sa_n=${_sa_f##*/}
		socks_stop "${_sa_n%.pid}"
	done
	# the orphans are init's to reap, which it does now and then: wait
	# (3 s at most) so that no zombie danted outlives the test
	_sa_n=0
	while [ $_sa_n -lt 60 ]; do
		_sa_left=
		for _sa_k in $_socks_reap; do
			[ -d "/proc/$_sa_k" ] && _sa_left="$_sa_left $_sa_k"
		done
		_socks_reap=$_sa_left
		[ -z "$_socks_reap" ] && break
		sleep 0.05
		_sa_n=$((_sa_n + 1))
	done
	return 0
}
