# t/rig/smtpd.sh: STARTTLS SMTP test servers (t/rig/smtpd_starttls.py).
# Source it after t/lib.sh (it does not need t/rig/dns.sh).
#
#   smtpd_start NAME [ARG...]
#       Start smtpd_starttls.py (see its head for ARGs: --cert CHAIN --key
#       KEY (repeatable), --ocsp-der FILE, --listen ADDR[:PORT] (default
#       127.0.0.1 on a free port; listeners without a port share one),
#       --name HOST, --no-starttls, --refuse-starttls, --timeout SECS) as
#       NAME ([A-Za-z0-9_]+), its files under $TEST_DIR/smtpd/: NAME.log
#       (the server's event log: sni, status_request, staple, tls, cmd...).
#       Wait (5 s) until it listens, set SMTPD_PORT and SMTPD_PORT_NAME to
#       the port of its first listener, stop it at exit.  On failure: its
#       log on stderr, return 1.
#   smtpd_stop NAME
#       Stop it (TERM, KILL after 5 s).
#   smtpd_stop_all
#       Stop every server smtpd_start started.
#   smtpd_pid NAME
#       Print its pid (empty once stopped).

_smtpd_atexit=

_smtpd_dir() {
	printf '%s/smtpd\n' "${TEST_DIR:-$(pwd)}"
}

smtpd_start() {
	case ${1:-} in
	'' | *[!A-Za-z0-9_]*)
		echo "smtpd_start: usage: smtpd_start NAME [ARG...]" \
		    "(NAME: letters, digits, _)" >&2
		return 1
		;;
	esac
	_ss_name=$1
	shift
	_ss_d=$(_smtpd_dir)
	mkdir -p "$_ss_d" || return 1
	smtpd_stop "$_ss_name"
	if [ -z "$_smtpd_atexit" ]; then
		at_exit smtpd_stop_all
		_smtpd_atexit=1
	fi
	rm -f "$_ss_d/$_ss_name.port"
	/usr/bin/python3 "$TEST_SRC/rig/smtpd_starttls.py" \
	    --port-file "$_ss_d/$_ss_name.port" "$@" \
	    >"$_ss_d/$_ss_name.log" 2>&1 </dev/null &
	_ss_pid=$!
	echo "$_ss_pid" >"$_ss_d/$_ss_name.pid"
	_ss_n=0
	while [ ! -s "$_ss_d/$_ss_name.port" ] && [ $_ss_n -lt 50 ] &&
	    proc_alive "$_ss_pid"; do
		sleep 0.1
		_ss_n=$((_ss_n + 1))
	done
	if [ ! -s "$_ss_d/$_ss_name.port" ]; then
		{
			echo "smtpd_start: $_ss_name did not start"
			cat "$_ss_d/$_ss_name.log"
		} | sed 's/^/# /' >&2
		smtpd_stop "$_ss_name"
		return 1
	fi
	SMTPD_PORT=$(head -n 1 "$_ss_d/$_ss_name.port")
	eval "SMTPD_PORT_$_ss_name=\$SMTPD_PORT"
	return 0
}

smtpd_pid() {
	_sp_f=$(_smtpd_dir)/$1.pid
	[ -s "$_sp_f" ] && cat "$_sp_f"
	return 0
}

smtpd_stop() {
	_st_f=$(_smtpd_dir)/$1.pid
	[ -s "$_st_f" ] || return 0
	proc_stop "$(cat "$_st_f")"
	rm -f "$_st_f"
	return 0
}

smtpd_stop_all() {
	for _sa_f in "$(_smtpd_dir)"/*.pid; do
		[ -f "$_sa_f" ] || continue
		_sa_n=${_sa_f##*/}
		smtpd_stop "${_sa_n%.pid}"
	done
	return 0
}
