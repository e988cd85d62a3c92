#!/bin/sh
# smtpfront --event-hook end to end: the events of a session in order
# (tcp:connect, smtp:connect, msg:delivery per recipient, msg:complete,
# tcp:close), msg:fail:delivery when delivery fails (a pipe's permanent and
# temporary exits), event_data of each, the environment the event hook
# gets; a non-zero tcp:connect closes the connection before the banner,
# smtp:connect after it; the other events' statuses are only logged.  Stdin
# mode through t/rig/smtpchat.py, and one listener-mode session.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

require_bin smtpfront
BIN=$MXKIT_BIN
CHAT=$TEST_SRC/rig/smtpchat.py
mkdir spool

TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4444
FOO=bar
export TCPREMOTEIP TCPREMOTEPORT FOO

mkhook() {
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/$1" && chmod +x "$TEST_DIR/$1"
}

# sf NAME SCRIPT [OPTION...]: as in t/0881 (maildir NAME.md, NAME.out,
# NAME.err); with DEST set, delivery to DEST instead of the maildir.
sf() {
	_n=$1 _s=$2
	shift 2
	rm -rf "$TEST_DIR/$_n.md" "$TEST_DIR/events"
	/usr/bin/python3 "$CHAT" --timeout 30 --exec "$BIN/smtpfront" \
	    --hostname mx.test --spool-dir "$TEST_DIR/spool" \
	    --deliver "${DEST:-maildir:$TEST_DIR/$_n.md}" "$@" "$_s" \
	    >"$TEST_DIR/$_n.out" 2>"$TEST_DIR/$_n.err"
}

has() {
	grep -qxF -- "<- $2" "$TEST_DIR/$1.out" && return 0
	echo "no line '<- $2' in $1.out:" >&2
	cat "$TEST_DIR/$1.out" "$TEST_DIR/$1.err" >&2
	return 1
}

# The event hook: one line per event in $TEST_DIR/events, "NAME|DATA", and
# its whole environment in env.NAME; exits with the status in the file
# fail.NAME when there is one.
mkhook ev "printf '%s|%s\\n' \"\$event_name\" \"\$event_data\" >>\"$TEST_DIR/events\"
env >\"$TEST_DIR/env.\$event_name\"
f=\"$TEST_DIR/fail.\$event_name\"
[ -f \"\$f\" ] && exit \$(cat \"\$f\")
exit 0"

mkmsg msg.eml
crlf msg.eml msg.crlf
printf '.\r\n' >>msg.crlf

cat >two.chat <<EOF
< 220
> EHLO client.test
< 250
> MAIL FROM:<alice@example.test>
< 250
> RCPT TO:<bob@dest.test>
< 250
> RCPT TO:<carol@dest.test>
< 250
> DATA
< 354
>file $TEST_DIR/msg.crlf
<any
> QUIT
< 221
<eof
EOF

test_expect_success 'one message to two recipients: the events in order' '
	sf e1 two.chat --event-hook "$TEST_DIR/ev" &&
	id=$(sed -n "s/^<- 250 2.0.0 OK id=//p" e1.out) && [ -n "$id" ] &&
	cat >want <<-EOF &&
	tcp:connect|
	smtp:connect|220 mx.test ESMTP mxkit smtpfront
	msg:delivery|bob@dest.test
	msg:delivery|carol@dest.test
	msg:complete|$id
	tcp:close|
	EOF
	diff want events
'

test_expect_success 'the event hook gets the session variables, event_name and event_data, nothing else' '
	grep -qx "sender_host_address=192.0.2.1" env.tcp:connect &&
	grep -qx "sender_host_port=4444" env.tcp:connect &&
	grep -qx "primary_hostname=mx.test" env.smtp:connect &&
	grep -qx "sender_helo_name=client.test" env.msg:complete &&
	grep -qx "event_name=msg:delivery" env.msg:delivery &&
	grep -qx "event_data=carol@dest.test" env.msg:delivery &&
	for f in env.*; do
		! grep -q "^FOO=" $f && ! grep -q "^HOME=" $f && ! grep -q "^TCPREMOTEIP=" $f ||
		    { cat $f; exit 1; }
	done
'

test_expect_success 'two messages in one session: the message events twice, connect and close once' '
	sed "/^> QUIT/,\$d" two.chat >twice.chat &&
	sed -n "/^> MAIL/,/^<any/p" two.chat >>twice.chat &&
	printf "> QUIT\n< 221\n<eof\n" >>twice.chat &&
	sf e2 twice.chat --event-hook "$TEST_DIR/ev" &&
	cut -d"|" -f1 events >names &&
	printf "%s\n" tcp:connect smtp:connect msg:delivery msg:delivery msg:complete \
	    msg:delivery msg:delivery msg:complete tcp:close >want2 &&
	diff want2 names &&
	[ "$(grep -c "^msg:complete|" events)" = 2 ] &&
	[ "$(sort -u events | grep -c "^msg:complete|")" = 2 ]
'

test_expect_success 'a refused message: no msg:* event' '
	mkhook rej "exit 1" &&
	sf e3 two.chat --event-hook "$TEST_DIR/ev" --hook-data "$TEST_DIR/rej" &&
	has e3 "550 5.7.1 Administrative prohibition" &&
	printf "%s\n" "tcp:connect|" "smtp:connect|220 mx.test ESMTP mxkit smtpfront" "tcp:close|" >want3 && diff want3 events
'

test_expect_success 'a session without a message: tcp:connect, smtp:connect, tcp:close' '
	printf "< 220\n> QUIT\n< 221\n<eof\n" >quit.chat &&
	sf e4 quit.chat --event-hook "$TEST_DIR/ev" &&
	printf "%s\n" "tcp:connect|" "smtp:connect|220 mx.test ESMTP mxkit smtpfront" "tcp:close|" >want4 && diff want4 events
'

test_expect_success 'a dropped connection still has tcp:close' '
	printf "< 220\n> EHLO client.test\n< 250\n" >drop.chat &&
	sf e5 drop.chat --event-hook "$TEST_DIR/ev" &&
	n=0 && while ! grep -q "^tcp:close|" events && [ $n -lt 100 ]; do
		sleep 0.1; n=$((n + 1))
	done &&
	tail -n 1 events | grep -qx "tcp:close|"
'

# ---- delivery failures --------------------------------------------------------------

mkhook say-exit "echo \"no such user here\"; exit \${1:-1}"
mkhook tempfail "echo \"try later\"; exit 75"

test_expect_success 'a pipe exiting 1 (permanent): 550 5.3.0, msg:fail:delivery per recipient, no msg:complete' '
	DEST="pipe:$TEST_DIR/say-exit" sf f1 two.chat --event-hook "$TEST_DIR/ev" \
	    --deliver-per-recipient &&
	grep -q "^<- 550 5.3.0 " f1.out &&
	[ "$(grep -c "^msg:fail:delivery|" events)" = 2 ] &&
	grep "^msg:fail:delivery|" events | grep -q "no such user here" &&
	! grep -q "^msg:complete|" events && ! grep -q "^msg:delivery|" events &&
	tail -n 1 events | grep -qx "tcp:close|"
'

test_expect_success 'pipe:/bin/false: 550, msg:fail:delivery' '
	DEST=pipe:/bin/false sf f2 two.chat --event-hook "$TEST_DIR/ev" &&
	grep -q "^<- 550 5.3.0 " f2.out &&
	[ "$(grep -c "^msg:fail:delivery|" events)" = 2 ] && ! grep -q "^msg:complete|" events
'

test_expect_success 'a maildir that stored it, then pipe:/bin/false: 451 (a duplicate, never a loss)' '
	sf f2b two.chat --event-hook "$TEST_DIR/ev" --deliver pipe:/bin/false &&
	grep -q "^<- 451 4.3.0 " f2b.out && grep -q "^msg:fail:delivery|" events &&
	! grep -q "^msg:complete|" events
'

test_expect_success 'a pipe exiting 75 (temporary): 451, msg:fail:delivery, no msg:complete' '
	DEST="pipe:$TEST_DIR/tempfail" sf f3 two.chat --event-hook "$TEST_DIR/ev" &&
	grep -q "^<- 451 4.3.0 " f3.out &&
	grep -q "^msg:fail:delivery|.*try later" events && ! grep -q "^msg:complete|" events
'

test_expect_success 'a maildir whose parent is missing: 451, msg:fail:delivery' '
	DEST="maildir:$TEST_DIR/nope/x/Maildir" sf f4 two.chat --event-hook "$TEST_DIR/ev" &&
	grep -q "^<- 451 " f4.out && grep -q "^msg:fail:delivery|" events &&
	! grep -q "^msg:complete|" events
'

# ---- the statuses that close ---------------------------------------------------------

test_expect_success 'tcp:connect exiting non-zero: closed before the banner' '
	echo 1 >fail.tcp:connect &&
	printf "<eof\n" >eof.chat &&
	sf g1 eof.chat --event-hook "$TEST_DIR/ev" &&
	! grep -q "^<- " g1.out &&
	grep -q "connection closed by the tcp:connect event" g1.err &&
	! grep -q "^smtp:connect" events
'

test_expect_success 'tcp:connect closing: no connect hook is run' '
	mkhook mark ": >\"$TEST_DIR/connect-ran\"" &&
	sf g1b eof.chat --event-hook "$TEST_DIR/ev" --hook-connect "$TEST_DIR/mark" &&
	[ ! -e connect-ran ]
'

test_expect_success 'a tcp:connect event hook that hangs past --hook-timeout closes too' '
	rm -f fail.tcp:connect &&
	mkhook hang "[ \"\$event_name\" = tcp:connect ] && sleep 30; exit 0" &&
	start=$(date +%s) &&
	sf g2 eof.chat --event-hook "$TEST_DIR/hang" --hook-timeout 1 &&
	end=$(date +%s) && [ $((end - start)) -lt 10 ] && ! grep -q "^<- " g2.out
'

test_expect_success 'smtp:connect exiting non-zero: the banner, then closed' '
	echo 2 >fail.smtp:connect &&
	printf "< 220\n<eof\n" >banner-eof.chat &&
	sf g3 banner-eof.chat --event-hook "$TEST_DIR/ev" &&
	has g3 "220 mx.test ESMTP mxkit smtpfront" &&
	grep -q "connection closed by the smtp:connect event" g3.err &&
	rm -f fail.smtp:connect
'

test_expect_success 'the other events'"'"' statuses are only logged: the message is delivered' '
	echo 1 >fail.msg:delivery && echo 1 >fail.msg:complete && echo 1 >fail.tcp:close &&
	sf g4 two.chat --event-hook "$TEST_DIR/ev" &&
	grep -q "^<- 250 2.0.0 OK id=" g4.out &&
	[ "$(ls g4.md/new | wc -l)" = 1 ] &&
	grep -q "event msg:delivery: exit 1" g4.err &&
	rm -f fail.*
'

test_expect_success 'an event hook that cannot be executed: tcp:connect closes' '
	sf g5 eof.chat --event-hook "$TEST_DIR/does-not-exist" && ! grep -q "^<- " g5.out
'

# ---- listener mode ------------------------------------------------------------------

port=$(free_port)
env -u TCPREMOTEIP -u TCPREMOTEPORT "$BIN/smtpfront" --listen "127.0.0.1:$port" \
    --hostname mx.test --spool-dir "$TEST_DIR/spool" --deliver "maildir:$TEST_DIR/l.md" \
    --event-hook "$TEST_DIR/ev" 2>l.err &
lpid=$!
at_exit proc_stop $lpid
n=0
while ! /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 50 ] || { echo "Bail out! smtpfront --listen did not start"; cat l.err; exit 1; }
	sleep 0.1
done
# That probe was a session too: let it end before the test's own.
n=0
while ! grep -q "^tcp:close|" events 2>/dev/null && [ $n -lt 50 ]; do
	n=$((n + 1))
	sleep 0.1
done

test_expect_success 'listener: the events of a TCP session, with the real peer' '
	rm -f events env.* &&
	/usr/bin/python3 "$CHAT" --timeout 30 --connect 127.0.0.1:$port two.chat >l.out &&
	n=0 && while ! grep -q "^tcp:close|" events 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 50 ] || exit 1; sleep 0.1
	done &&
	cut -d"|" -f1 events >lnames &&
	printf "%s\n" tcp:connect smtp:connect msg:delivery msg:delivery msg:complete tcp:close >lwant &&
	diff lwant lnames &&
	grep -qx "sender_host_address=127.0.0.1" env.tcp:connect &&
	grep -qx "received_ip_address=127.0.0.1" env.tcp:connect &&
	grep -qx "received_port=$port" env.tcp:connect &&
	[ "$(ls l.md/new | wc -l)" = 1 ]
'

test_done
