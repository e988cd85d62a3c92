#!/bin/sh
# smtpfront behind a PROXY protocol (v1, v2) load balancer, as Exim's
# hosts_proxy: swaks' own --proxy-* headers in stdin mode, then haproxy's
# send-proxy, send-proxy-v2 and send-proxy-v2-ssl in front of
# smtpfront --listen.  The hooks see the header's client as
# sender_host_address and Exim's proxy_* variables (proxy_local_* the
# proxy as we see it, proxy_external_* where the client connected to it);
# the log and Received: carry PRX=[proxy].  A proxy host without a (valid)
# header gets a banner and "503 Command refused, required Proxy
# negotiation failed" to all but QUIT, and the listener stays up; a host
# that is no proxy gets its header taken as SMTP; LOCAL keeps the real
# peer; the reader never takes a byte past the header.
. "$(dirname "$0")/lib.sh"
require_bin smtpfront proxyhdr
PY=/usr/bin/python3
CHAT="$PY $TEST_SRC/rig/smtpchat.py"
command -v swaks >/dev/null 2>&1 || skip_all "swaks is not installed"

mkdir md spool vars
# hook-STAGE: the session's addresses, as the hook sees them, in vars/STAGE.
for stage in connect rcpt; do
	cat >hook-$stage <<-HOOK
	#!/bin/sh
	env | grep -E '^(sender_host_|proxy_|received_)' | sort \
	    >"$TEST_DIR/vars/$stage.tmp"
	mv "$TEST_DIR/vars/$stage.tmp" "$TEST_DIR/vars/$stage"
	exit 0
	HOOK
	chmod +x hook-$stage
done
SF="smtpfront --hostname mx.test --deliver maildir:$TEST_DIR/md \
--spool-dir $TEST_DIR/spool --proxy-hosts 127.0.0.0/8 \
--hook-connect $TEST_DIR/hook-connect --hook-rcpt $TEST_DIR/hook-rcpt"
# The ucspi peer of stdin mode: the proxy, 127.0.0.1:40001 -> us :2525.
UCSPI="TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=40001 TCPLOCALIP=127.0.0.1 \
TCPLOCALPORT=2525"

# var STAGE NAME VALUE: the hook of STAGE saw NAME=VALUE.
var() {
	grep -qx "$2=$3" "vars/$1" && return 0
	echo "vars/$1: expected $2=$3, got:" >&2
	cat "vars/$1" >&2
	return 1
}
novar() {
	! grep -q "^$2=" "vars/$1" || { echo "vars/$1 has $2" >&2; return 1; }
}
fresh() { rm -rf vars/* md/new/* md/cur/* sf.log; }

# via_swaks VERSION FAMILY SRC SPORT DST DPORT: a message through stdin
# mode with swaks' own header; the log in sf.log.
via_swaks() {
	fresh
	env $UCSPI swaks --pipe "$SF 2>>$TEST_DIR/sf.log" \
	    --proxy-version "$1" --proxy-family "$2" \
	    --proxy-source "$3" --proxy-source-port "$4" \
	    --proxy-dest "$5" --proxy-dest-port "$6" \
	    --from a@client.test --to u@mx.test --header "Subject: via $1" \
	    >swaks.out 2>&1 &&
	grep -q "^<-  250 2.0.0 OK id=" swaks.out
}

# ---- swaks' headers, stdin mode ----

for c in "1 TCP4 192.0.2.7 5555 198.51.100.25 25" \
    "1 TCP6 2001:db8::7 5556 2001:db8::25 587" \
    "2 AF_INET 203.0.113.9 6001 198.51.100.26 25" \
    "2 AF_INET6 2001:db8:1::9 6002 2001:db8:1::25 465"; do
	set -- $c
	test_expect_success "swaks --proxy-version $1 $2: the hooks, the log and Received: see the client" "
		via_swaks $c &&
		for st in connect rcpt; do
			var \$st sender_host_address $3 &&
			var \$st sender_host_port $4 &&
			var \$st proxy_session yes &&
			var \$st proxy_external_address $5 &&
			var \$st proxy_external_port $6 &&
			var \$st proxy_local_address 127.0.0.1 &&
			var \$st proxy_local_port 40001 &&
			var \$st received_ip_address 127.0.0.1 &&
			var \$st received_port 2525 || return 1
		done &&
		grep -q '<= a@client.test H=([^)]*) \[$3\]:$4 PRX=\[127.0.0.1\]:40001 P=esmtp ' sf.log &&
		grep -q 'SMTP connection from H=\[$3\]:$4 PRX=\[127.0.0.1\]:40001\$' sf.log &&
		f=\$(ls md/new/*) &&
		sed -n '/^Received: /{p;n;p;q;}' \"\$f\" >rcvd &&
		sed -n 1p rcvd | grep -q '^Received: from [^ ]* (\[$3\]:$4)\$' &&
		sed -n 2p rcvd | grep -q '^.(PRX=\[127.0.0.1\]:40001)\$'
	"
done

test_expect_success 'without --proxy-hosts there is no proxy_session' '
	fresh &&
	env $UCSPI swaks --pipe "smtpfront --hostname mx.test \
	    --deliver maildir:$TEST_DIR/md --hook-rcpt $TEST_DIR/hook-rcpt \
	    2>>$TEST_DIR/sf.log" --from a@client.test --to u@mx.test \
	    >swaks.out 2>&1 &&
	var rcpt sender_host_address 127.0.0.1 &&
	var rcpt proxy_session no &&
	novar rcpt proxy_local_address &&
	novar rcpt proxy_external_address &&
	! grep -q PRX= sf.log && ! grep -q PRX= md/new/*
'

test_expect_success 'a host not in --proxy-hosts: its header is SMTP (500)' '
	fresh &&
	cat >chat <<-\EOF &&
	< 220
	> PROXY TCP4 192.0.2.7 198.51.100.25 5555 25
	< 500
	> EHLO client.test
	< 250
	> QUIT
	< 221
	EOF
	env TCPREMOTEIP=192.0.2.99 TCPREMOTEPORT=1234 $CHAT --exec $SF chat \
	    >chat.out 2>sf.log &&
	var connect sender_host_address 192.0.2.99 &&
	var connect proxy_session no &&
	grep -q "unrecognized command: PROXY TCP4" sf.log
'

test_expect_success 'a host not in --proxy-hosts sending its header before the banner: an early talker' '
	fresh &&
	cat >chat <<-\EOF &&
	>> PROXY TCP4 192.0.2.7 198.51.100.25 5555 25\r\n
	< 554
	<eof
	EOF
	env TCPREMOTEIP=192.0.2.99 $CHAT --exec $SF --banner-delay 300ms chat \
	    >chat.out 2>sf.log &&
	grep -q "input sent without waiting for greeting.*next input=\"PROXY TCP4 192.0.2.7" sf.log
'

test_expect_success 'a proxy host sending plain SMTP: banner, 503 to all but QUIT (swaks)' '
	fresh &&
	env $UCSPI swaks --pipe "$SF --proxy-timeout 1 2>>$TEST_DIR/sf.log" \
	    --from a@client.test --to u@mx.test >swaks.out 2>&1;
	grep -q "^<-  220 mx.test " swaks.out &&
	grep -q "^<\*\* 503 Command refused, required Proxy negotiation failed" swaks.out &&
	grep -q "^<-  221 " swaks.out &&
	! grep -q "^<-  250" swaks.out &&
	var connect proxy_session yes &&
	var connect proxy_external_address "" &&
	var connect proxy_external_port "" &&
	var connect sender_host_address 127.0.0.1 &&
	var connect proxy_local_address 127.0.0.1 &&
	grep -q "proxy negotiation failed from \[127.0.0.1\]:40001: timed out" sf.log &&
	! grep -q PRX= sf.log
'

test_expect_success 'every command refused after a failed negotiation, QUIT answered' '
	fresh &&
	cat >chat <<-\EOF &&
	< 220
	> EHLO client.test
	< 503
	> HELO client.test
	< 503
	> MAIL FROM:<a@client.test>
	< 503
	> RCPT TO:<u@mx.test>
	< 503
	> DATA
	< 503
	> STARTTLS
	< 503
	> NOOP
	< 503
	> RSET
	< 503
	> QUIT
	< 221
	<eof
	EOF
	env $UCSPI $CHAT --exec $SF --proxy-timeout 1 chat >chat.out 2>sf.log &&
	test "$(grep -c "^<- 503 Command refused, required Proxy negotiation failed$" chat.out)" = 8 &&
	test ! -e vars/rcpt
'

# ---- a listener ----

P=$(free_port)
LOG=$TEST_DIR/listen.log
$SF --listen 127.0.0.1:$P --proxy-timeout 1 </dev/null 2>"$LOG" &
lpid=$!
at_exit "proc_stop $lpid"
n=0
while ! grep -q "listening on" "$LOG" 2>/dev/null && [ $n -lt 100 ] &&
    proc_alive $lpid; do
	sleep 0.05
	n=$((n + 1))
done
grep -q "listening on" "$LOG" || {
	sed 's/^/# /' "$LOG"
	echo "Bail out! smtpfront --listen did not start"
	exit 1
}

# raw.py PORT FILE: connect, send FILE's octets (maybe none), wait for the
# banner ("banner SECONDS" on stdout), then a CRLF (ending whatever is left
# of a broken header), EHLO, MAIL, RCPT and QUIT in one write, and print
# every reply line up to EOF.
cat >raw.py <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.time()
data = open(sys.argv[2], "rb").read()
if data:
    s.sendall(data)
buf = b""
while b"\n" not in buf:
    b = s.recv(4096)
    if not b:
        break
    buf += b
print("banner %.2f" % (time.time() - t0))
s.sendall(b"\r\nEHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@mx.test>\r\nQUIT\r\n")
while True:
    b = s.recv(4096)
    if not b:
        break
    buf += b
sys.stdout.write(buf.decode("latin-1").replace("\r", ""))
PY

# refused FILE: after the header of FILE, the banner, 503s, 221, EOF.
refused() {
	$PY raw.py $P "$1" >raw.out &&
	sed -n 2p raw.out | grep -q "^220 mx.test " &&
	tail -n 1 raw.out | grep -q "^221 " &&
	n503=$(grep -c "^503 Command refused, required Proxy negotiation failed$" raw.out) &&
	others=$(sed -e 1,2d -e \$d raw.out | grep -vc "^503 ") ;
	[ "$n503" -ge 4 ] && [ "$others" = 0 ] || { cat raw.out; return 1; }
}

good_v2() {
	proxyhdr encode -2 --src 192.0.2.7:5555 --dst 198.51.100.25:25 \
	    --crc32c </dev/null
}

: >none
printf 'PROXY TCP4 192.0.2.7\r\n' >v1-cut
printf 'PROXY TCP4 192.0.2.7 198.51' >v1-part
printf 'PROXY TCP4 192.0.2.7 198.51.100.25 5555 025\r\n' >v1-port
printf 'PROXY TCP4 192.0.2.7 198.51.100.25 70000 25\r\n' >v1-range
good_v2 >v2-good
# The length field (octets 14, 15) says 4: too short for two IPv4 addresses.
$PY -c 'import sys; b = bytearray(open("v2-good", "rb").read()); b[14:16] = (0, 4); sys.stdout.buffer.write(b)' >v2-len
# It says 8 more octets than there are: the header never ends in time.
$PY -c 'import sys; b = bytearray(open("v2-good", "rb").read()); b[15] += 8; sys.stdout.buffer.write(b)' >v2-long
# One bit of the client address changed: the CRC32C no longer matches.
$PY -c 'import sys; b = bytearray(open("v2-good", "rb").read()); b[16] ^= 1; sys.stdout.buffer.write(b)' >v2-crc
# Version 3 in the version/command octet.
$PY -c 'import sys; b = bytearray(open("v2-good", "rb").read()); b[12] = 0x31; sys.stdout.buffer.write(b)' >v2-ver
printf '\026\003\001\000\245\001\000\000\241\003\003garbage' >garbage
printf 'GET / HTTP/1.0\r\n\r\n' >http

test_expect_success 'a proxy host silent for --proxy-timeout 1: the banner after ~1 s, then 503s' '
	refused none &&
	t=$(sed -n "1s/^banner //p" raw.out) &&
	$PY -c "import sys; t = float(sys.argv[1]); sys.exit(not 0.9 <= t < 2.5)" "$t" &&
	grep -q "proxy negotiation failed from \[127.0.0.1\]:[0-9]*: timed out" "$LOG"
'

for f in v1-cut v1-part v1-port v1-range v2-len v2-long v2-crc v2-ver garbage http; do
	test_expect_success "a malformed header ($f): 503 to all but QUIT" "
		refused $f
	"
done

test_expect_success 'each failure logged, with why' '
	grep -q "proxy negotiation failed.*CRC32C" "$LOG" &&
	test "$(grep -c "proxy negotiation failed from" "$LOG")" -ge 10
'

test_expect_success 'after all that the listener is up and serves a proxied client' '
	proc_alive $lpid &&
	fresh &&
	swaks --server 127.0.0.1:$P --proxy-version 2 --proxy-family AF_INET \
	    --proxy-source 192.0.2.77 --proxy-source-port 7777 \
	    --proxy-dest 198.51.100.25 --proxy-dest-port 25 \
	    --from a@client.test --to u@mx.test >swaks.out 2>&1 &&
	grep -q "^<-  250 2.0.0 OK id=" swaks.out &&
	var rcpt sender_host_address 192.0.2.77 &&
	var rcpt proxy_external_address 198.51.100.25 &&
	var rcpt proxy_local_address 127.0.0.1 &&
	var rcpt received_ip_address 127.0.0.1 &&
	var rcpt received_port $P &&
	grep -q "(PRX=\[127.0.0.1\]:[0-9]*)" md/new/*
'

# local.chat FILE: a health check with header FILE, then normal SMTP.
health() {
	cat >chat <<-EOF
	>file $1
	< 220
	> EHLO health.check
	< 250
	> QUIT
	< 221
	EOF
	$CHAT --connect 127.0.0.1:$P chat >chat.out
}

test_expect_success 'v2 LOCAL (a health check): the real peer, no PRX=' '
	fresh &&
	proxyhdr encode -2 --local </dev/null >local.hdr &&
	health local.hdr &&
	var connect sender_host_address 127.0.0.1 &&
	var connect proxy_session yes &&
	var connect proxy_local_address 127.0.0.1 &&
	var connect proxy_external_address "" &&
	port=$(sed -n "s/^sender_host_port=//p" vars/connect) &&
	[ "$port" -gt 0 ] &&
	var connect proxy_local_port "$port" &&
	grep -q "<- 250-mx.test Hello health.check \[127.0.0.1\]" chat.out &&
	! grep "H=(health.check) \[127.0.0.1\]:$port" "$LOG" | grep -q PRX=
'

test_expect_success 'v1 UNKNOWN: the real peer too' '
	fresh &&
	printf "PROXY UNKNOWN\r\n" >unknown.hdr &&
	health unknown.hdr &&
	var connect sender_host_address 127.0.0.1 &&
	var connect proxy_session yes &&
	var connect proxy_external_address ""
'

# ---- never a byte past the header ----

test_expect_success 'a header cut into pieces, written slowly: read whole' '
	fresh &&
	good_v2 >h &&
	head -c 5 h >h1 && tail -c +6 h | head -c 13 >h2 && tail -c +19 h >h3 &&
	cat >chat <<-EOF &&
	>file h1
	sleep 0.2
	>file h2
	sleep 0.2
	>file h3
	< 220
	> EHLO client.test
	< 250
	> QUIT
	< 221
	EOF
	$CHAT --connect 127.0.0.1:$P chat >chat.out &&
	var connect sender_host_address 192.0.2.7
'

# An SMTP client must wait for the banner (RFC 5321 4.3.1; Exim's
# smtp_enforce_sync): what follows the header in the same write is an
# early talker's, refused with 554 -- and it is still there to be seen,
# so the header reader took no byte of it.
for v in 1 2; do
	test_expect_success "v$v header and EHLO in one write: the EHLO is still there (554, logged)" "
		fresh &&
		if [ $v = 1 ]; then
			printf 'PROXY TCP4 192.0.2.8 198.51.100.25 5558 25\r\n' >hp
		else
			proxyhdr encode -2 --src 192.0.2.8:5558 --dst 198.51.100.25:25 </dev/null >hp
		fi &&
		printf 'EHLO pipelined.test\r\nQUIT\r\n' >>hp &&
		env $UCSPI $SF <hp >out 2>sf.log;
		tr -d '\r' <out | grep -qx '554 5.5.0 SMTP synchronization error' &&
		grep -q 'next input=\"EHLO pipelined.test??QUIT??\"' sf.log &&
		grep -q 'H=\[192.0.2.8\]:5558 PRX=\[127.0.0.1\]:40001' sf.log
	"
done

test_expect_success 'the same through the listener, one send() with the header' '
	good_v2 >hp && printf "EHLO pipelined.test\r\n" >>hp &&
	cat >chat <<-\EOF &&
	>file hp
	< 554
	<eof
	EOF
	$CHAT --connect 127.0.0.1:$P chat >chat.out &&
	grep -q "next input=\"EHLO pipelined.test??\"" "$LOG"
'

# ---- haproxy in front ----

if ! command -v haproxy >/dev/null 2>&1; then
	test_skip 'haproxy send-proxy' 'haproxy is not installed'
	test_done
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout srv.key -out srv.crt -subj /CN=mx.test -days 2 \
    -addext subjectAltName=DNS:mx.test >/dev/null 2>&1 &&
cat srv.crt srv.key >srv.pem || { echo "Bail out! openssl req failed"; exit 1; }

F1=$(free_port); F2=$(free_port); F3=$(free_port)
# haproxy's connections to us come from 127.0.0.9, the clients from
# 127.0.0.5: the two are told apart.
cat >haproxy.cfg <<EOF
global
    maxconn 50
defaults
    mode tcp
    timeout connect 5s
    timeout client 20s
    timeout server 20s
frontend f1
    bind 127.0.0.1:$F1
    default_backend b1
backend b1
    server s 127.0.0.1:$P send-proxy source 127.0.0.9
frontend f2
    bind 127.0.0.1:$F2
    default_backend b2
backend b2
    server s 127.0.0.1:$P send-proxy-v2 proxy-v2-options crc32c,unique-id source 127.0.0.9
frontend f3
    bind 127.0.0.1:$F3 ssl crt $TEST_DIR/srv.pem
    default_backend b3
backend b3
    server s 127.0.0.1:$P send-proxy-v2-ssl proxy-v2-options ssl,crc32c source 127.0.0.9
EOF
haproxy -db -f haproxy.cfg >haproxy.log 2>&1 &
hpid=$!
at_exit "proc_stop $hpid"
n=0
until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $F1), 1).close()" \
    2>/dev/null || [ $n -ge 100 ] || ! proc_alive $hpid; do
	sleep 0.05
	n=$((n + 1))
done

# via_haproxy FRONTEND-PORT [SWAKS-ARG...]
via_haproxy() {
	_p=$1
	shift
	fresh
	cport=$(free_port)
	swaks --server 127.0.0.1:$_p --local-interface 127.0.0.5 \
	    --local-port $cport --from a@client.test --to u@mx.test \
	    --helo client.test "$@" >swaks.out 2>&1 &&
	grep -q "^<.  250 2.0.0 OK id=" swaks.out &&
	var rcpt sender_host_address 127.0.0.5 &&
	var rcpt sender_host_port $cport &&
	var rcpt proxy_session yes &&
	var rcpt proxy_external_address 127.0.0.1 &&
	var rcpt proxy_external_port $_p &&
	var rcpt proxy_local_address 127.0.0.9 &&
	var rcpt received_ip_address 127.0.0.1 &&
	var rcpt received_port $P &&
	grep -q "^Received: from client.test (\[127.0.0.5\]:$cport)$" md/new/* &&
	grep -q "^	(PRX=\[127.0.0.9\]:[0-9]*)$" md/new/* &&
	grep -q "<= a@client.test H=(client.test) \[127.0.0.5\]:$cport PRX=\[127.0.0.9\]:[0-9]* P=esmtp" "$LOG"
}

test_expect_success 'haproxy send-proxy: the client and PRX=[haproxy]' '
	via_haproxy $F1
'

test_expect_success 'haproxy send-proxy-v2 (crc32c, unique-id): the client and PRX=[haproxy]' '
	via_haproxy $F2
'

test_expect_success 'haproxy send-proxy-v2-ssl behind its TLS frontend (swaks --tlsc)' '
	via_haproxy $F3 --tlsc &&
	grep -q "TLS started" swaks.out
'

test_expect_success 'haproxy stopped: smtpfront is still serving' '
	proc_stop $hpid &&
	proc_alive $lpid
'

test_done
