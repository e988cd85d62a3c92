# t/rig/smtp_peers.sh: the SMTP servers on loopback that the tests of an
# SMTP client (socks5-send) deliver to, and reading the client's records.
# Source it after t/lib.sh; call the *_start functions at the top level of
# a test script (not inside test_expect_success: a subshell would lose
# SRV_PORT and at_exit).  Each sets SRV_PORT (and SRV_PORT_NAME), writes
# its pid to $TEST_DIR/NAME.pid, is stopped at exit, and returns 1 (its
# log on stderr) when it does not come up within 5 s.
#
#   sf_start NAME [SMTPFRONT-OPTION...]
#       smtpfront --listen 127.0.0.1:PORT --hostname mx.test, delivering to
#       the maildirs NAME.md/LOCAL_PART (NAME.md is created), spool
#       NAME.spool, log NAME.log; ready when it says "listening on".
#   rec_start NAME [SMTPREC-OPTION...]
#       t/rig/smtprec.py (a recording server: see its head), log NAME.rec,
#       the raw message texts NAME.data/N.raw.
#   sink_start NAME [SMTP-SINK-OPTION...]
#       Postfix's smtp-sink -v (as nobody when root), its conversation in NAME.sink,
#       transactions dumped (-D) under NAME.dump/ (X-Mail-Args: ...).
#   exim_start NAME CONFIG
#       exim -bs (t/peers/exim.sh CONFIG -bs -odq) for each connection,
#       through t/rig/inetd.py; its stderr in NAME.log.  Returns 77 when
#       Exim cannot run here (t/peers/exim.sh says why).
#   srv_stop NAME
#       Stop that server now.
#   dead_port
#       A free port on 127.0.0.1 that nobody listens on.
#
# The client's -o kv output, a record per recipient separated by empty
# lines, each eval'ed on its own:
#   kvr FILE RCPT VAR            VAR of RCPT's record
#   kvr_expect FILE RCPT VAR VALUE
#   kv_count FILE                the number of records

# _srv_wait NAME PID TEST: until TEST (shell code) holds, up to 5 s.
_srv_wait() {
	_sw=0
	while [ $_sw -lt 100 ]; do
		eval "$3" && return 0
		proc_alive "$2" || break
		sleep 0.05
		_sw=$((_sw + 1))
	done
	eval "$3" && return 0
	_srv_fail "$1"
}

# _srv_fail NAME: say it did not start, with its log.
_srv_fail() {
	{
		echo "$1 did not start"
		cat "$TEST_DIR/$1".log "$TEST_DIR/$1".sink "$TEST_DIR/$1".rec \
		    2>/dev/null
	} | sed 's/^/# /' >&2
	return 1
}

# _srv_up NAME PID: remember it, stop it at exit.
_srv_up() {
	echo "$2" >"$TEST_DIR/$1.pid"
	at_exit "proc_stop $2"
}

srv_stop() {
	[ -s "$TEST_DIR/$1.pid" ] || return 0
	proc_stop "$(cat "$TEST_DIR/$1.pid")"
	rm -f "$TEST_DIR/$1.pid"
}

dead_port() {
	free_port
}

# _srv_connects PORT: a TCP connection to 127.0.0.1:PORT opens.
_srv_connects() {
	/usr/bin/python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" \
	    2>/dev/null
}

sf_start() {
	_sn=$1
	shift
	mkdir -p "$TEST_DIR/$_sn.md" "$TEST_DIR/$_sn.spool" || return 1
	# A port taken between free_port and the bind: try another.
	for _st in 1 2 3; do
		SRV_PORT=$(free_port)
		smtpfront --listen "127.0.0.1:$SRV_PORT" --hostname mx.test \
		    --spool-dir "$TEST_DIR/$_sn.spool" \
		    --deliver "maildir:$TEST_DIR/$_sn.md/%{local_part}" "$@" \
		    2>"$TEST_DIR/$_sn.log" </dev/null &
		_sp=$!
		_srv_up "$_sn" "$_sp"
		_srv_wait "$_sn" "$_sp" \
		    "grep -q 'listening on' '$TEST_DIR/$_sn.log'" 2>/dev/null && break
		proc_alive "$_sp" || [ $_st = 3 ] && { _srv_fail "$_sn"; return 1; }
	done
	SRV_PORT_NAME=$_sn
}

rec_start() {
	_sn=$1
	shift
	mkdir -p "$TEST_DIR/$_sn.data" || return 1
	rm -f "$TEST_DIR/$_sn.port"
	/usr/bin/python3 "$TEST_SRC/rig/smtprec.py" --timeout 300 \
	    --port-file "$TEST_DIR/$_sn.port" --log "$TEST_DIR/$_sn.rec" \
	    --data-dir "$TEST_DIR/$_sn.data" "$@" \
	    >"$TEST_DIR/$_sn.log" 2>&1 </dev/null &
	_sp=$!
	_srv_up "$_sn" "$_sp"
	_srv_wait "$_sn" "$_sp" "[ -s '$TEST_DIR/$_sn.port' ]" || return 1
	SRV_PORT=$(cat "$TEST_DIR/$_sn.port")
	SRV_PORT_NAME=$_sn
}

sink_start() {
	_sn=$1
	shift
	mkdir -p "$TEST_DIR/$_sn.dump" || return 1
	# As root smtp-sink must become another user, which writes the dumps.
	if [ "$(id -u)" = 0 ]; then
		chmod 755 "$TEST_DIR" && chown nobody "$TEST_DIR/$_sn.dump" ||
		    return 1
		set -- -u nobody "$@"
	fi
	for _st in 1 2 3; do
		SRV_PORT=$(free_port)
		smtp-sink -v -D "$TEST_DIR/$_sn.dump/t" "$@" \
		    "127.0.0.1:$SRV_PORT" 16 >"$TEST_DIR/$_sn.sink" 2>&1 \
		    </dev/null &
		_sp=$!
		_srv_up "$_sn" "$_sp"
		_srv_wait "$_sn" "$_sp" "_srv_connects $SRV_PORT" 2>/dev/null &&
		    break
		proc_alive "$_sp" || [ $_st = 3 ] && { _srv_fail "$_sn"; return 1; }
	done
	SRV_PORT_NAME=$_sn
}

exim_start() {
	_sn=$1
	printf 'EHLO c\r\nQUIT\r\n' | sh "$TEST_SRC/peers/exim.sh" "$2" -bs \
	    >"$TEST_DIR/$_sn.probe" 2>&1
	_se=$?
	[ $_se = 77 ] && { cat "$TEST_DIR/$_sn.probe" >&2; return 77; }
	grep -q '^250 ' "$TEST_DIR/$_sn.probe" || {
		sed 's/^/# /' "$TEST_DIR/$_sn.probe" >&2
		return 1
	}
	rm -f "$TEST_DIR/$_sn.port"
	/usr/bin/python3 "$TEST_SRC/rig/inetd.py" --timeout 300 \
	    --port-file "$TEST_DIR/$_sn.port" -- \
	    sh "$TEST_SRC/peers/exim.sh" "$2" -bs -odq \
	    >"$TEST_DIR/$_sn.log" 2>&1 </dev/null &
	_sp=$!
	_srv_up "$_sn" "$_sp"
	_srv_wait "$_sn" "$_sp" "[ -s '$TEST_DIR/$_sn.port' ]" || return 1
	SRV_PORT=$(cat "$TEST_DIR/$_sn.port")
	SRV_PORT_NAME=$_sn
}

kv_count() {
	awk 'BEGIN { RS = "" } END { print NR }' "$1"
}

kvr() {
	_kn=$(kv_count "$1")
	_ki=1
	while [ "$_ki" -le "$_kn" ]; do
		awk -v i="$_ki" 'BEGIN { RS = "" } NR == i' "$1" >"$1.rec"
		if [ "$(kvget recipient "$1.rec")" = "$2" ]; then
			kvget "$3" "$1.rec"
			return
		fi
		_ki=$((_ki + 1))
	done
	echo "kv: no record for $2 in $1" >&2
	return 1
}

kvr_expect() {
	_kg=$(kvr "$1" "$2" "$3") || return 1
	[ "$_kg" = "$4" ] && return 0
	echo "kv: $2: $3: expected '$4', got '$_kg'" >&2
	return 1
}
