#!/bin/sh
# smtpfront --listen: IPv4 and IPv6 listeners, --max-conn and
# --max-conn-per-ip (Exim's 421 wording), the stop on SIGTERM (no new
# connections, an idle session told 421 4.3.2, a message in progress
# finished first, exit 0), --user (the sessions run as that user), and
# no zombies once the sessions are over.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
# unbuffered: the test watches background clients' output
PYTHONUNBUFFERED=1
export PYTHONUNBUFFERED
mkdir -p spool

# ./kids PID: "pid state uid" of each child process of PID
cat >kids <<'EOF'
#!/usr/bin/python3
import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        st = dict(l.split(":", 1) for l in open("/proc/%s/status" % p)
                  if ":" in l)
    except OSError:
        continue
    if st.get("PPid", "").strip() == sys.argv[1]:
        print(p, st["State"].split()[0], st["Uid"].split()[0])
EOF
chmod +x kids

nkids() { ./kids "$1" | wc -l; }
kids_are() { [ "$(nkids "$1")" = "$2" ]; }

# listen NAME ARG...: smtpfront --hostname mx.test ARG... in the
# background, its log in NAME.log, its pid in $LPID, once it listens on
# every --listen.
listen() {
	_ln=$1
	shift
	smtpfront --hostname mx.test --spool-dir "$TEST_DIR/spool" "$@" \
	    2>"$_ln.log" </dev/null &
	LPID=$!
	at_exit "proc_stop $LPID"
	_want=$(printf '%s\n' "$@" | grep -c -- '^--listen$')
	wait_for sh -c "[ \$(grep -c 'listening on' '$_ln.log') = $_want ]" ||
	    { cat "$_ln.log"; return 1; }
}

# msg_chat FILE SUBJECT [SLEEP]: a one-message session (SLEEP seconds
# after EHLO) ending with QUIT.
msg_chat() {
	{
		echo '< 220'
		echo '> EHLO client.example'
		echo '< 250'
		[ -n "${3:-}" ] && echo "sleep $3"
		echo '> MAIL FROM:<sender@client.example>'
		echo '< 250'
		echo '> RCPT TO:<user@mx.test>'
		echo '< 250'
		echo '> DATA'
		echo '< 354'
		echo "> Subject: $2"
		echo '>'
		echo '> hello'
		echo '> .'
		echo '< 250'
		echo '> QUIT'
		echo '< 221'
	} >"$1"
}
# stored MAILDIR SUBJECT: exactly one message with that subject in new/
stored() {
	[ "$(grep -l "^Subject: $2\$" "$1"/new/* 2>/dev/null | wc -l)" = 1 ]
}

port=$(free_port)
has_v6=
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6); s.bind(("::1", int(sys.argv[1])))' \
    "$port" 2>/dev/null && has_v6=1

# ---- IPv4 and IPv6 ----
if [ -n "$has_v6" ]; then
	listen l1 --listen "127.0.0.1:$port" --listen "[::1]:$port" \
	    --deliver "maildir:$TEST_DIR/md1"
else
	listen l1 --listen "127.0.0.1:$port" --deliver "maildir:$TEST_DIR/md1"
fi
test_expect_success 'a message through --listen 127.0.0.1:PORT' '
	msg_chat c4 v4 && $CHAT --connect "127.0.0.1:$port" c4 &&
	stored md1 v4 && grep -q "^Received: from client.example (\[127.0.0.1\]:" md1/new/*
'
if [ -n "$has_v6" ]; then
	test_expect_success 'a message through --listen [::1]:PORT' '
		msg_chat c6 v6 && $CHAT --connect "[::1]:$port" c6 &&
		stored md1 v6 &&
		grep -q "^Received: from client.example (\[::1\]:" $(grep -l "^Subject: v6" md1/new/*)
	'
else
	test_skip 'a message through --listen [::1]:PORT' '::1 is not configured'
fi
test_expect_success 'no zombies once the sessions are over' '
	wait_for kids_are $LPID 0
'
proc_stop $LPID

# ---- --max-conn ----
port=$(free_port)
listen l2 --listen "127.0.0.1:$port" --max-conn 2 --deliver "maildir:$TEST_DIR/md2"
printf '%s\n' '< 421' '<eof' >refused.chat
test_expect_success '--max-conn 2: a third connection gets 421 4.7.0' '
	msg_chat h1 hold1 3; msg_chat h2 hold2 3
	$CHAT --connect "127.0.0.1:$port" h1 >h1.out 2>&1 & p1=$!
	$CHAT --connect "127.0.0.1:$port" h2 >h2.out 2>&1 & p2=$!
	wait_for kids_are $LPID 2 &&
	$CHAT --connect "127.0.0.1:$port" refused.chat >r.out &&
	grep -q "^<- 421 4.7.0 mx.test Too many concurrent SMTP connections;" r.out &&
	! grep -q "from this IP address" r.out &&
	wait $p1 && wait $p2
'
test_expect_success '... and the first two still delivered their messages' '
	stored md2 hold1 && stored md2 hold2
'
test_expect_success '... and a new connection is taken once they are gone' '
	wait_for kids_are $LPID 0 &&
	msg_chat c3 after && $CHAT --connect "127.0.0.1:$port" c3 &&
	stored md2 after
'
proc_stop $LPID

# ---- --max-conn-per-ip ----
port=$(free_port)
listen l3 --listen "127.0.0.1:$port" --max-conn-per-ip 1 \
    --deliver "maildir:$TEST_DIR/md3"
test_expect_success '--max-conn-per-ip 1: a second from that address gets 421' '
	msg_chat h3 hold3 3
	$CHAT --connect "127.0.0.1:$port" h3 >h3.out 2>&1 & p3=$!
	wait_for kids_are $LPID 1 &&
	$CHAT --connect "127.0.0.1:$port" refused.chat >r.out &&
	grep -q "^<- 421 4.7.0 mx.test Too many concurrent SMTP connections from this IP address;" r.out &&
	wait $p3 && stored md3 hold3
'
test_expect_success '... while another address (127.0.0.2) is served' '
	msg_chat h4 hold4 3
	$CHAT --connect "127.0.0.1:$port" h4 >h4.out 2>&1 & p4=$!
	wait_for kids_are $LPID 1 &&
	/usr/bin/python3 - "$port" <<-EOF &&
	import socket, sys
	s = socket.socket()
	s.settimeout(10)
	s.bind(("127.0.0.2", 0))
	s.connect(("127.0.0.1", int(sys.argv[1])))
	f = s.makefile("rb")
	l = f.readline()
	assert l.startswith(b"220 "), l
	s.sendall(b"QUIT\r\n")
	l = f.readline()
	assert l.startswith(b"221 "), l
	EOF
	wait $p4 && stored md3 hold4
'
proc_stop $LPID

# ---- SIGTERM ----
port=$(free_port)
listen l4 --listen "127.0.0.1:$port" --deliver "maildir:$TEST_DIR/md4"
cat >idle.chat <<'EOF'
< 220
> EHLO client.example
< 250
< 421
<eof
EOF
cat >data.chat <<'EOF'
< 220
> EHLO client.example
< 250
> MAIL FROM:<sender@client.example>
< 250
> RCPT TO:<user@mx.test>
< 250
> DATA
< 354
> Subject: term
>
> the first half
sleep 3
> the second half
> .
< 250
< 421
<eof
EOF
# The clients run from here, not from a test: the waits need them as
# children of this shell.
$CHAT --timeout 20 --connect "127.0.0.1:$port" idle.chat >idle.out 2>&1 &
pi=$!
$CHAT --timeout 20 --connect "127.0.0.1:$port" data.chat >data.out 2>&1 &
pd=$!
wait_for grep -q "^<- 250 HELP" idle.out
wait_for grep -q "^-> the first half" data.out
t0=$(date +%s)
kill -TERM $LPID
wait $pi
rc_idle=$?
# ./refused PORT: exits 0 when a connection to 127.0.0.1:PORT is refused
cat >refused <<'EOF'
#!/usr/bin/python3
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
EOF
chmod +x refused
wait_for ./refused $port
rc_refused=$?
wait $pd
rc_data=$?
# bounded by the listener itself: 30 s for the sessions, then SIGKILL
wait $LPID
rc_listen=$?
t1=$(date +%s)
test_expect_success 'SIGTERM: an idle session is told 421 4.3.2 Service shutting down' '
	cat idle.out && test $rc_idle = 0 &&
	grep -q "^<- 421 4.3.2 mx.test Service shutting down" idle.out
'
test_expect_success '... no new connection is accepted' '
	test $rc_refused = 0
'
test_expect_success '... the session in DATA finishes its message (250), then 421' '
	cat data.out && test $rc_data = 0 &&
	grep -q "^<- 250 2.0.0 OK id=" data.out &&
	grep -q "^<- 421 4.3.2" data.out && stored md4 term
'
test_expect_success '... and the listener exits 0 within the stop time (30 s)' '
	echo "exit $rc_listen after $((t1 - t0)) s" && test $rc_listen = 0 &&
	test $((t1 - t0)) -lt 30 &&
	grep -q "smtpfront stopping: 2 sessions to finish" l4.log
'

# ---- --user ----
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	nob=$(id -u nobody)
	chmod 755 "$TEST_DIR"
	mkdir -p nob/spool nob/md && chown -R nobody nob
	port=$(free_port)
	smtpfront --hostname mx.test --spool-dir "$TEST_DIR/nob/spool" \
	    --listen "127.0.0.1:$port" --user nobody \
	    --deliver "maildir:$TEST_DIR/nob/md" 2>l5.log </dev/null &
	LPID=$!
	at_exit "proc_stop $LPID"
	wait_for grep -q "listening on" l5.log
	test_expect_success '--user nobody: the session process runs as nobody' '
		msg_chat h5 hold5 2
		$CHAT --connect "127.0.0.1:$port" h5 >h5.out 2>&1 & p5=$!
		wait_for kids_are $LPID 1 && ./kids $LPID >k && cat k &&
		read -r spid state uid <k && test "$uid" = "$nob" &&
		grep -q "^Uid:[[:space:]]*$nob[[:space:]]*$nob[[:space:]]*$nob[[:space:]]*$nob$" /proc/$spid/status &&
		grep -q "^Uid:[[:space:]]*$nob[[:space:]]" /proc/$LPID/status &&
		wait $p5 && stored nob/md hold5 &&
		test "$(stat -c %u nob/md/new/*)" = "$nob"
	'
	test_expect_success '... and still the port was bound before the drop' '
		grep -q "listening on 127.0.0.1:$port" l5.log
	'
	test_expect_success '... no zombies left' '
		wait_for kids_are $LPID 0
	'
	proc_stop $LPID
else
	test_skip '--user nobody: the session process runs as nobody' 'not root'
fi

test_done
