#!/bin/sh
# proxyhdr wrap: the wrapped program sees the client of the header in the
# ucspi variables and PROXY_*, and the connection's remaining bytes on
# fd 0; LOCAL and UNKNOWN keep the real peer (tcpserver's variables, or
# getpeername of a real loopback socket); a broken or late header is one
# line and an exit status, never an exec.  TCPREMOTE* is the header's
# source, TCPLOCAL* its destination, PROXY_EXTERNAL_* the destination too
# and PROXY_LOCAL_* the proxy itself: the TCPREMOTEIP (or socket peer)
# there was before wrap put the client in it.
. "$(dirname "$0")/lib.sh"
require_bin proxyhdr
PY=/usr/bin/python3
unset TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT

cat >show.sh <<'SH'
#!/bin/sh
: >"${MARK:-ran}"
for v in TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT TCPREMOTEHOST \
    PROXY_SESSION PROXY_VERSION PROXY_COMMAND PROXY_FAMILY \
    PROXY_EXTERNAL_ADDRESS PROXY_EXTERNAL_PORT PROXY_LOCAL_ADDRESS \
    PROXY_LOCAL_PORT PROXY_TLV_AUTHORITY PROXY_TLV_SSL_CN PROXY_TLV_ALPN \
    PROXY_TLV_UNIQUE_ID PROXY_TLV_0XE0 PROXY_STALE SENDER_HOST_ADDRESS \
    PROXY_SOURCE_PATH; do
	eval "printf '%s=%s\n' $v \"\${$v-unset}\""
done
printf 'args=%s\n' "$*"
printf 'rest='; cat
SH
chmod +x show.sh

test_expect_success 'v2 PROXY: TCP* and PROXY_* from the header, the rest on stdin' '
	printf "MAIL FROM:<a@b>\n" | proxyhdr encode -2 --src 192.0.2.7:40000 \
	    --dst 198.51.100.25:25 --tlv authority=mx.example.org \
	    --tlv ssl_cn=client.example --tlv unique_id=0xabcd --tlv 0xe0=0x01 \
	    --crc32c >in &&
	env TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=5555 TCPREMOTEHOST=lb.example \
	    PROXY_STALE=old proxyhdr wrap ./show.sh one "two words" <in >out &&
	grep -qx TCPREMOTEIP=192.0.2.7 out &&
	grep -qx TCPREMOTEPORT=40000 out &&
	grep -qx TCPLOCALIP=198.51.100.25 out &&
	grep -qx TCPLOCALPORT=25 out &&
	grep -qx TCPREMOTEHOST=unset out &&
	grep -qx PROXY_SESSION=yes out &&
	grep -qx PROXY_VERSION=2 out &&
	grep -qx PROXY_EXTERNAL_ADDRESS=198.51.100.25 out &&
	grep -qx PROXY_EXTERNAL_PORT=25 out &&
	: the proxy: the ucspi server said so, before wrap put the client there &&
	grep -qx PROXY_LOCAL_ADDRESS=127.0.0.1 out &&
	grep -qx PROXY_LOCAL_PORT=5555 out &&
	: sender_host_* is TCPREMOTEIP, not a variable of its own &&
	grep -qx SENDER_HOST_ADDRESS=unset out &&
	grep -qx PROXY_TLV_AUTHORITY=mx.example.org out &&
	grep -qx PROXY_TLV_SSL_CN=client.example out &&
	grep -qx PROXY_TLV_UNIQUE_ID=abcd out &&
	grep -qx PROXY_TLV_0XE0=01 out &&
	grep -qx PROXY_STALE=unset out &&
	grep -qx "args=one two words" out &&
	grep -qx "rest=MAIL FROM:<a@b>" out
'

test_expect_success 'v1 TCP6 sets the IPv6 client' '
	printf "PROXY TCP6 2001:db8::7 2001:db8::25 1234 587\r\nhello\n" |
	    proxyhdr wrap ./show.sh >out6 &&
	grep -qx TCPREMOTEIP=2001:db8::7 out6 &&
	grep -qx TCPREMOTEPORT=1234 out6 &&
	grep -qx TCPLOCALIP=2001:db8::25 out6 &&
	grep -qx TCPLOCALPORT=587 out6 &&
	grep -qx PROXY_EXTERNAL_ADDRESS=2001:db8::25 out6 &&
	grep -qx PROXY_EXTERNAL_PORT=587 out6 &&
	: a pipe and no TCPREMOTEIP: the proxy is not known &&
	grep -qx PROXY_LOCAL_ADDRESS= out6 &&
	grep -qx PROXY_FAMILY=INET6 out6 &&
	grep -qx rest=hello out6
'

test_expect_success 'LOCAL keeps the ucspi server variables' '
	printf "x" | proxyhdr encode -2 --local >local &&
	env TCPREMOTEIP=127.0.0.9 TCPREMOTEPORT=9999 TCPLOCALIP=127.0.0.1 \
	    TCPLOCALPORT=25 proxyhdr wrap ./show.sh <local >outl &&
	grep -qx TCPREMOTEIP=127.0.0.9 outl &&
	grep -qx TCPREMOTEPORT=9999 outl &&
	grep -qx TCPLOCALIP=127.0.0.1 outl &&
	grep -qx PROXY_COMMAND=LOCAL outl &&
	grep -qx PROXY_SESSION=yes outl &&
	grep -qx PROXY_EXTERNAL_ADDRESS= outl &&
	grep -qx PROXY_EXTERNAL_PORT= outl &&
	grep -qx PROXY_LOCAL_ADDRESS=127.0.0.9 outl &&
	grep -qx PROXY_LOCAL_PORT=9999 outl &&
	grep -qx rest=x outl
'

test_expect_success 'UNKNOWN keeps them too' '
	printf "PROXY UNKNOWN\r\ny" | env TCPREMOTEIP=127.0.0.9 \
	    proxyhdr wrap ./show.sh >outu &&
	grep -qx TCPREMOTEIP=127.0.0.9 outu &&
	grep -qx PROXY_FAMILY=UNSPEC outu &&
	grep -qx PROXY_LOCAL_ADDRESS=127.0.0.9 outu &&
	grep -qx rest=y outu
'

test_expect_success 'UNIX keeps them as well; the paths in PROXY_*_PATH' '
	printf "z" | proxyhdr encode -2 --src unix:/run/c.sock --dst unix:/run/s.sock >unix &&
	env TCPREMOTEIP=127.0.0.9 TCPREMOTEPORT=9999 proxyhdr wrap ./show.sh <unix >outx &&
	grep -qx TCPREMOTEIP=127.0.0.9 outx &&
	grep -qx PROXY_FAMILY=UNIX outx &&
	grep -qx PROXY_SOURCE_PATH=/run/c.sock outx &&
	grep -qx PROXY_EXTERNAL_ADDRESS= outx &&
	grep -qx PROXY_LOCAL_ADDRESS=127.0.0.9 outx &&
	grep -qx rest=z outx
'

test_expect_success 'LOCAL on a real loopback socket without TCP*: getpeername' '
	env -u TCPREMOTEIP -u TCPREMOTEPORT -u TCPLOCALIP -u TCPLOCALPORT \
	    $PY - <<-\PY
	import os, socket, subprocess
	srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
	port = srv.getsockname()[1]
	cli = socket.create_connection(("127.0.0.1", port), timeout=10)
	conn, _ = srv.accept()
	p = subprocess.Popen(["proxyhdr", "wrap", "./show.sh"], stdin=conn, stdout=conn)
	conn.close()
	cli.sendall(b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00" + b"payload")
	cli.shutdown(socket.SHUT_WR)
	out = b""
	while True:
	    b = cli.recv(65536)
	    if not b: break
	    out += b
	assert p.wait(timeout=20) == 0
	lines = out.decode().splitlines()
	me = cli.getsockname()
	assert "TCPREMOTEIP=127.0.0.1" in lines, lines
	assert "TCPREMOTEPORT=%d" % me[1] in lines, lines
	assert "TCPLOCALPORT=%d" % port in lines, lines
	assert "PROXY_COMMAND=LOCAL" in lines, lines
	assert "PROXY_LOCAL_ADDRESS=127.0.0.1" in lines, lines
	assert "PROXY_LOCAL_PORT=%d" % me[1] in lines, lines
	assert "rest=payload" in lines, lines
	PY
'

test_expect_success 'PROXY on a real loopback socket: PROXY_LOCAL_* is the socket peer' '
	printf "QUIT\n" | proxyhdr encode -2 --src 192.0.2.7:40000 \
	    --dst 198.51.100.25:25 >insock &&
	env -u TCPREMOTEIP -u TCPREMOTEPORT -u TCPLOCALIP -u TCPLOCALPORT \
	    $PY - <<-\PY
	import socket, subprocess
	srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
	port = srv.getsockname()[1]
	cli = socket.create_connection(("127.0.0.1", port), timeout=10)
	conn, _ = srv.accept()
	srv.close()
	p = subprocess.Popen(["proxyhdr", "wrap", "./show.sh"], stdin=conn, stdout=conn)
	conn.close()
	cli.sendall(open("insock", "rb").read())
	cli.shutdown(socket.SHUT_WR)
	out = b""
	while True:
	    b = cli.recv(65536)
	    if not b: break
	    out += b
	assert p.wait(timeout=20) == 0
	lines = out.decode().splitlines()
	me = cli.getsockname()
	for want in ("TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=40000",
	             "TCPLOCALIP=198.51.100.25", "TCPLOCALPORT=25",
	             "PROXY_EXTERNAL_ADDRESS=198.51.100.25",
	             "PROXY_EXTERNAL_PORT=25",
	             "PROXY_LOCAL_ADDRESS=127.0.0.1",
	             "PROXY_LOCAL_PORT=%d" % me[1], "rest=QUIT"):
	    assert want in lines, (want, lines)
	PY
'

test_expect_success 'a broken header: exit 65, one line, no exec' '
	printf "EHLO x\r\n" | { expect_status 65 env MARK=ran1 proxyhdr wrap ./show.sh >o 2>e; } &&
	test ! -e ran1 && test ! -s o &&
	test $(wc -l <e) = 1 && grep -q "not a PROXY header" e &&
	printf "PROXY TCP4 1.2.3.4 5.6.7.8 025 25\r\n" |
	    { expect_status 65 env MARK=ran2 proxyhdr wrap ./show.sh >o 2>e; } &&
	test ! -e ran2 && grep -q "source port" e &&
	: | { expect_status 65 env MARK=ran3 proxyhdr wrap ./show.sh 2>e; } &&
	test ! -e ran3 && grep -q "end of input" e
'

test_expect_success 'a late header: exit 75 after --timeout, no exec' '
	{ printf "\r\n\r\n"; sleep 3; } |
	    { expect_status 75 env MARK=ran4 proxyhdr wrap --timeout 0.3 ./show.sh 2>e; } &&
	test ! -e ran4 && grep -q "in time" e
'

test_expect_success 'a program that cannot run: exit 69' '
	printf "PROXY UNKNOWN\r\n" | { expect_status 69 proxyhdr wrap ./no-such-prog 2>e; } &&
	grep -q "no-such-prog" e
'

test_expect_success "PROG's own options are its own" '
	printf "PROXY UNKNOWN\r\n" | proxyhdr wrap ./show.sh -o --x >outo &&
	grep -qx "args=-o --x" outo
'

test_done
