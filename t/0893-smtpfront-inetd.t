#!/bin/sh
# smtpfront in stdin mode on an accepted socket, the ways it is run: as
# inetd runs it (fds 0, 1 and 2 all the socket: not one log line may reach
# the client, nor a hook's standard error), as tcpserver runs it (fds 0
# and 1 the socket, the log on fd 2, the peer from TCPREMOTEIP and its
# friends), under systemd-socket-activate --inetd, and behind
# "proxyhdr wrap" (the ucspi chain: the PROXY header's client reaches
# smtpfront in TCPREMOTEIP).  Then the units of contrib/systemd: verified
# by systemd-analyze, and their command lines accepted by smtpfront.
. "$(dirname "$0")/lib.sh"
require_bin smtpfront proxyhdr
PY=/usr/bin/python3
CHAT="$PY $TEST_SRC/rig/smtpchat.py"
command -v swaks >/dev/null 2>&1 || skip_all "swaks is not installed"

mkdir md spool vars
# The hooks: the session's addresses into vars/STAGE, and noise on
# standard error (which must never reach the client).
for stage in connect rcpt; do
	cat >hook-$stage <<-HOOK
	#!/bin/sh
	echo "HOOK-STDERR-NOISE from $stage" >&2
	readlink /proc/\$\$/fd/2 >"$TEST_DIR/vars/$stage.fd2"
	env | grep -E '^(sender_host_|proxy_|received_)' | sort \
	    >"$TEST_DIR/vars/$stage.tmp"
	mv "$TEST_DIR/vars/$stage.tmp" "$TEST_DIR/vars/$stage"
	exit 0
	HOOK
	chmod +x hook-$stage
done
SFBIN=$(command -v smtpfront)
SFARGS="--hostname mx.test --deliver maildir:$TEST_DIR/md \
--spool-dir $TEST_DIR/spool \
--hook-connect $TEST_DIR/hook-connect --hook-rcpt $TEST_DIR/hook-rcpt"

var() {
	grep -qx "$2=$3" "vars/$1" && return 0
	echo "vars/$1: expected $2=$3, got:" >&2
	cat "vars/$1" >&2
	return 1
}
fresh() { rm -rf vars/* md/new/* md/cur/*; }

# A super-server of our own, one connection, one process: inetd.py NAME
# MODE CMD... listens on a free loopback port (in NAME.port), and runs CMD
# for each connection with the socket on fds 0 and 1, and on fd 2 too when
# MODE is "inetd"; with MODE "tcpserver" fd 2 is NAME.err and the ucspi
# variables are set, as tcpserver sets them.
cat >inetd.py <<'PY'
import os, socket, subprocess, sys, time
name, mode, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
err = open(name + ".err", "ab")
with open(name + ".port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(name + ".port.tmp", name + ".port")
s.settimeout(1)
end = time.time() + 300		# never outlive a stuck test
kids = []
while time.time() < end:
    kids = [k for k in kids if k.poll() is None]
    try:
        c, peer = s.accept()
    except socket.timeout:
        continue
    env = dict(os.environ)
    if mode == "tcpserver":
        me = c.getsockname()
        env.update(PROTO="TCP", TCPREMOTEIP=peer[0],
                   TCPREMOTEPORT=str(peer[1]), TCPLOCALIP=me[0],
                   TCPLOCALPORT=str(me[1]))
    kids.append(subprocess.Popen(cmd, stdin=c, stdout=c,
                                 stderr=c if mode == "inetd" else err,
                                 env=env, close_fds=True))
    c.close()
PY

# serve NAME MODE CMD...: start inetd.py, wait for its port, set PORT.
serve() {
	_n=$1
	$PY inetd.py "$@" </dev/null >/dev/null 2>"$_n.py.err" &
	eval "pid_$_n=\$!"
	at_exit "proc_stop $!"
	_i=0
	while [ ! -s "$_n.port" ] && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	PORT=$(cat "$_n.port") || { cat "$_n.py.err"; return 1; }
}

# wire PORT: a session by hand; every octet the server sent, in wire.out.
cat >wire.py <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
buf = b""
def reply():
    global buf
    while True:
        lines = buf.split(b"\r\n")
        for i, l in enumerate(lines[:-1]):
            if len(l) >= 4 and l[3:4] == b" ":
                return
        b = s.recv(4096)
        if not b:
            return
        buf += b
def say(line):
    global buf
    n = len(buf)
    s.sendall(line + b"\r\n")
    while len(buf) == n:
        b = s.recv(4096)
        if not b:
            return
        buf += b
    reply()
reply()
for line in (b"EHLO client.test", b"FOO bar", b"MAIL FROM:<a@client.test>",
             b"RCPT TO:<u@mx.test>", b"DATA"):
    say(line)
s.sendall(b"Subject: wire\r\n\r\nhello\r\n.\r\n")
time.sleep(0.3)
s.sendall(b"QUIT\r\n")
while True:
    b = s.recv(4096)
    if not b:
        break
    buf += b
sys.stdout.buffer.write(buf)
PY

# only_replies FILE: every line of FILE is an SMTP reply (CRLF-ended).
only_replies() {
	$PY - "$1" <<-\PY
	import re, sys
	data = open(sys.argv[1], "rb").read()
	assert data.endswith(b"\r\n"), "no final CRLF"
	bad = [l for l in data[:-2].split(b"\r\n")
	       if not re.match(rb"^[0-9]{3}[ -]", l)]
	if bad:
	    print("not SMTP replies:", bad)
	    sys.exit(1)
	PY
}

# ---- inetd: fds 0, 1 and 2 are the socket ----

serve inetd inetd $SFBIN $SFARGS || { echo "Bail out! inetd.py did not start"; exit 1; }
IPORT=$PORT

test_expect_success 'inetd (fd 2 the socket too): a message, and nothing but replies on the wire' '
	fresh &&
	$PY wire.py $IPORT >wire.out &&
	only_replies wire.out &&
	grep -q "^500 5.5.1 " wire.out &&
	grep -q "^250 2.0.0 OK id=" wire.out &&
	grep -q "^221 " wire.out &&
	! grep -q "HOOK-STDERR-NOISE" wire.out &&
	! grep -q "SMTP connection from" wire.out &&
	ls md/new | grep -q . &&
	var rcpt sender_host_address 127.0.0.1 &&
	var rcpt received_ip_address 127.0.0.1 &&
	var rcpt received_port $IPORT &&
	var rcpt proxy_session no
'

test_expect_success 'inetd: swaks sees a clean session, the peer from the socket' '
	fresh &&
	cport=$(free_port) &&
	swaks --server 127.0.0.1:$IPORT --local-port $cport \
	    --from a@client.test --to u@mx.test >swaks.out 2>&1 &&
	grep -q "^<-  250 2.0.0 OK id=" swaks.out &&
	! grep -q "^<-  [^0-9]" swaks.out &&
	! grep -q "NOISE\|SMTP connection" swaks.out &&
	var rcpt sender_host_address 127.0.0.1 &&
	var rcpt sender_host_port $cport &&
	grep -q "^Received: from [^ ]* (\[127.0.0.1\]:$cport)$" md/new/*
'

test_expect_success 'inetd: the hooks'"'"' standard error is /dev/null' '
	test "$(cat vars/rcpt.fd2)" = /dev/null
'

# ---- tcpserver: fds 0 and 1, the log on fd 2, TCP* set ----

serve tcps tcpserver $SFBIN $SFARGS || { echo "Bail out! inetd.py did not start"; exit 1; }
TPORT=$PORT

test_expect_success 'tcpserver style: the log on fd 2, the peer from TCPREMOTEIP' '
	fresh &&
	cport=$(free_port) &&
	swaks --server 127.0.0.1:$TPORT --local-port $cport \
	    --from a@client.test --to u@mx.test >swaks.out 2>&1 &&
	grep -q "^<-  250 2.0.0 OK id=" swaks.out &&
	! grep -q "NOISE\|SMTP connection" swaks.out &&
	var rcpt sender_host_address 127.0.0.1 &&
	var rcpt sender_host_port $cport &&
	var rcpt received_port $TPORT &&
	grep -q "SMTP connection from H=\[127.0.0.1\]:$cport\$" tcps.err &&
	grep -q "<= a@client.test H=([^)]*) \[127.0.0.1\]:$cport P=esmtp" tcps.err &&
	grep -q "HOOK-STDERR-NOISE from rcpt" tcps.err &&
	test "$(cat vars/rcpt.fd2)" = "$TEST_DIR/tcps.err"
'

# ---- the ucspi chain: proxyhdr wrap in front of smtpfront ----

serve wrap tcpserver proxyhdr wrap --timeout 3 $SFBIN $SFARGS ||
    { echo "Bail out! inetd.py did not start"; exit 1; }
WPORT=$PORT

for v in 1 2; do
	test_expect_success "proxyhdr wrap smtpfront: a v$v sender's client reaches smtpfront (TCPREMOTEIP)" "
		fresh &&
		swaks --server 127.0.0.1:$WPORT --proxy-version $v \
		    --proxy-family \$([ $v = 1 ] && echo TCP4 || echo AF_INET) \
		    --proxy-source 192.0.2.60 --proxy-source-port 6060 \
		    --proxy-dest 198.51.100.25 --proxy-dest-port 25 \
		    --from a@client.test --to u@mx.test >swaks.out 2>&1 &&
		grep -q '^<-  250 2.0.0 OK id=' swaks.out &&
		var rcpt sender_host_address 192.0.2.60 &&
		var rcpt sender_host_port 6060 &&
		var rcpt received_ip_address 198.51.100.25 &&
		var rcpt received_port 25 &&
		: smtpfront read no header itself &&
		var rcpt proxy_session no &&
		grep -q '^Received: from [^ ]* (\[192.0.2.60\]:6060)\$' md/new/* &&
		grep -q '<= a@client.test H=([^)]*) \[192.0.2.60\]:6060 P=esmtp' wrap.err
	"
done

test_expect_success 'proxyhdr wrap: a broken header runs no smtpfront' '
	fresh &&
	printf "PROXY TCP4 192.0.2.60\r\nEHLO x\r\n" >bad &&
	cat >chat <<-\EOF &&
	>file bad
	<eof
	EOF
	$CHAT --connect 127.0.0.1:$WPORT chat >chat.out &&
	test ! -e vars/connect
'

test_expect_success 'proxyhdr wrap with a LOCAL header: the real peer from the socket' '
	fresh &&
	proxyhdr encode -2 --local </dev/null >local &&
	cat >chat <<-\EOF &&
	>file local
	< 220
	> QUIT
	< 221
	EOF
	$CHAT --connect 127.0.0.1:$WPORT chat >chat.out &&
	var connect sender_host_address 127.0.0.1 &&
	var connect received_port $WPORT
'

# ---- systemd-socket-activate --inetd ----

# sd_serve NAME CMD...: systemd-socket-activate on a free port, set PORT.
# (At the top level: at_exit in a test's subshell would be lost.)
sd_serve() {
	_n=$1
	shift
	PORT=$(free_port)
	systemd-socket-activate -a --inetd -l 127.0.0.1:$PORT "$@" \
	    </dev/null >/dev/null 2>"$_n.err" &
	at_exit "proc_stop $!"
	_i=0
	while ! grep -q "Listening on" "$_n.err" && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	grep -q "Listening on" "$_n.err" || { cat "$_n.err" >&2; return 1; }
}

if command -v systemd-socket-activate >/dev/null 2>&1 &&
    sd_serve sd $SFBIN $SFARGS && SPORT=$PORT &&
    sd_serve sdw proxyhdr wrap $SFBIN $SFARGS && SWPORT=$PORT; then
	test_expect_success 'systemd-socket-activate --inetd: a message, replies only on the wire' '
		fresh &&
		$PY wire.py $SPORT >wire.out &&
		only_replies wire.out &&
		grep -q "^250 2.0.0 OK id=" wire.out &&
		! grep -q "NOISE\|SMTP connection" wire.out &&
		var rcpt sender_host_address 127.0.0.1 &&
		var rcpt received_port $SPORT &&
		ls md/new | grep -q .
	'
	test_expect_success 'systemd-socket-activate --inetd proxyhdr wrap smtpfront: the client of the header' '
		fresh &&
		swaks --server 127.0.0.1:$SWPORT --proxy-version 2 \
		    --proxy-family AF_INET6 --proxy-source 2001:db8::60 \
		    --proxy-source-port 6061 --proxy-dest 2001:db8::25 \
		    --proxy-dest-port 25 --from a@client.test --to u@mx.test \
		    >swaks.out 2>&1 &&
		grep -q "^<-  250 2.0.0 OK id=" swaks.out &&
		var rcpt sender_host_address 2001:db8::60 &&
		var rcpt sender_host_port 6061 &&
		var rcpt received_ip_address 2001:db8::25
	'
else
	test_skip 'systemd-socket-activate --inetd' 'systemd-socket-activate is missing or did not start'
	test_skip 'systemd-socket-activate --inetd proxyhdr wrap' 'systemd-socket-activate is missing or did not start'
fi

# ---- contrib/: the units, the inetd line, the run script ----

CONTRIB=$TOP/contrib
VL=$TEST_DIR/varlib
mkdir -p "$VL/spool" "$VL/Maildir"

# cmdline FILE: the smtpfront command of a unit file (ExecStart=, its
# continuation lines joined, %% as systemd reads it), or of the inetd line,
# with the test's binary and directories.
cmdline() {
	case $1 in
	*.inetd)
		grep "^smtp[[:space:]]" "$1" | cut -f 7- | sed 's/^smtpfront //' ;;
	*/run)
		sed -n '/^exec tcpserver/,$p' "$1" | sed -e 's/\\$//' |
		    tr '\n' ' ' | sed -e 's/.*smtpfront //' -e "s/'//g" ;;
	*)
		sed -n '/^ExecStart=/,/[^\\]$/p' "$1" | sed -e 's/\\$//' |
		    tr '\n' ' ' | sed -e 's/^ExecStart=[^ ]* //' -e 's/%%/%/g' ;;
	esac | sed -e "s#/var/lib/smtpfront#$VL#g" -e 's/  */ /g'
}

printf '< 220\n> EHLO c\n< 250\n> QUIT\n< 221\n' >ehlo-quit
for f in systemd/smtpfront@.service inetd/smtpfront.inetd tcpserver/run; do
	test_expect_success "contrib/$f: smtpfront accepts its options" "
		args=\$(cmdline $CONTRIB/$f) &&
		echo \"\$args\" | grep -q -- '--deliver maildir:$VL/Maildir/%{local_part}' &&
		$CHAT --exec smtpfront \$args ehlo-quit >out 2>err
	"
done

test_expect_success 'contrib/systemd/smtpfront-listen.service: its listener starts' '
	args=$(cmdline $CONTRIB/systemd/smtpfront-listen.service) &&
	lp=$(free_port) &&
	args=$(echo "$args" | sed -e "s/--listen [^ ]*/--listen 127.0.0.1:$lp/") &&
	if [ "$(id -u)" != 0 ] || ! id smtpfront >/dev/null 2>&1; then
		args=$(echo "$args" | sed -e "s/--user [^ ]*//")
	fi &&
	{ smtpfront $args </dev/null 2>listen.err & lpid=$!; } &&
	i=0 && while ! grep -q "listening on" listen.err && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1)); done;
	grep -q "listening on 127.0.0.1:$lp" listen.err;
	r=$?; proc_stop $lpid; [ $r = 0 ]
'

test_expect_success 'contrib/tcpserver/run is a shell script' '
	sh -n "$CONTRIB/tcpserver/run" && test -x "$CONTRIB/tcpserver/run"
'

if command -v systemd-analyze >/dev/null 2>&1; then
	test_expect_success 'systemd-analyze verify contrib/systemd/smtpfront*' '
		mkdir -p units &&
		for u in smtpfront.socket smtpfront@.service smtpfront-listen.service; do
			sed "s#/usr/local/bin/smtpfront#$MXKIT_BIN/smtpfront#" \
			    "$CONTRIB/systemd/$u" >"units/$u" || return 1
		done &&
		SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		    units/smtpfront.socket units/smtpfront@.service \
		    units/smtpfront-listen.service >verify.out 2>&1;
		r=$? && cat verify.out && [ $r = 0 ] && ! grep -q . verify.out
	'
else
	test_skip 'systemd-analyze verify contrib/systemd/smtpfront*' 'no systemd-analyze'
fi

test_done
