#!/bin/sh
# proxyhdr against the real haproxy, on loopback only.  One direction:
# haproxy's own send-proxy, send-proxy-v2 (with its CRC32C and UNIQUE_ID)
# and send-proxy-v2-ssl-cn behind a TLS frontend (openssl s_client with a
# client certificate, SNI and ALPN) write their headers to a capture
# listener of ours, and proxyhdr decodes those real octets.  The other:
# proxyhdr encode (v1, v2, v2 with a CRC32C, v2 with a broken one) into a
# haproxy frontend with accept-proxy, whose send-proxy-v2 backend shows
# what haproxy made of our header: the client address survives the trip,
# and a bad checksum makes haproxy drop the connection.  Last, haproxy's
# connection itself on proxyhdr's stdin: proxy_local_* is haproxy's own
# end of it, sender_host_* the client, proxy_external_* the frontend.
. "$(dirname "$0")/lib.sh"
require_bin proxyhdr
PY=/usr/bin/python3
unset TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT
command -v haproxy >/dev/null 2>&1 || skip_all "haproxy is not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"

# ---- certificates: a server one for the TLS frontend, a client one ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout srv.key -out srv.crt -subj /CN=mx.example.org -days 2 \
    -addext subjectAltName=DNS:mx.example.org >/dev/null 2>&1 &&
openssl req -x509 -newkey rsa:2048 -nodes -keyout cli.key -out cli.crt \
    -subj /CN=client.example -days 2 >/dev/null 2>&1 &&
cat srv.crt srv.key >srv.pem || { echo "Bail out! openssl req failed"; exit 1; }

have6=0
$PY -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
    2>/dev/null && have6=1

# ---- the capture listener: each connection's octets to cap/PORT.N ----
mkdir cap
cat >capture.py <<'PY'
import os, selectors, socket, sys, time
sel = selectors.DefaultSelector()
for p in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(p))); s.listen(16); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, ("listen", p, None))
open("cap/ready", "w").close()
count = {}
end = time.time() + 300		# never outlive a stuck test
while time.time() < end:
    for key, _ in sel.select(timeout=1):
        kind, p, buf = key.data
        if kind == "listen":
            c, _ = key.fileobj.accept(); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, ("conn", p, bytearray()))
            continue
        try:
            b = key.fileobj.recv(65536)
        except ConnectionResetError:
            b = b""
        if b:
            buf += b
            continue
        sel.unregister(key.fileobj); key.fileobj.close()
        count[p] = count.get(p, 0) + 1
        name = "cap/%s.%d" % (p, count[p])
        with open(name + ".tmp", "wb") as f:
            f.write(buf)
        os.rename(name + ".tmp", name)
PY

C1=$(free_port); C2=$(free_port); C3=$(free_port); C4=$(free_port)
C6=$(free_port); C7=$(free_port)
F1=$(free_port); F2=$(free_port); F3=$(free_port); F4=$(free_port)
F5=$(free_port); F6=$(free_port); F7=$(free_port)
$PY capture.py $C1 $C2 $C3 $C4 $C6 2>capture.err &
cap_pid=$!
at_exit "proc_stop $cap_pid"

bind6=
if [ $have6 = 1 ]; then
	bind6="
frontend f6
    bind [::1]:$F6
    default_backend b6
backend b6
    server s 127.0.0.1:$C6 send-proxy"
fi

cat >haproxy.cfg <<EOF2
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    unique-id-format mxkit-%ci-%cp
# haproxy -> us: v1
frontend f1
    bind 127.0.0.1:$F1
    default_backend b1
backend b1
    server s 127.0.0.1:$C1 send-proxy
# haproxy -> us: v2 with its CRC32C and UNIQUE_ID
frontend f2
    bind 127.0.0.1:$F2
    default_backend b2
backend b2
    server s 127.0.0.1:$C2 send-proxy-v2 proxy-v2-options crc32c,unique-id
# haproxy -> us: TLS terminated here, the SSL TLVs
frontend f3
    bind 127.0.0.1:$F3 ssl crt $TEST_DIR/srv.pem ca-file $TEST_DIR/cli.crt verify optional alpn smtp,h2
    default_backend b3
backend b3
    server s 127.0.0.1:$C3 send-proxy-v2-ssl-cn proxy-v2-options ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c
# us -> haproxy -> us: accept-proxy, then v2 with what haproxy understood
frontend f5
    bind 127.0.0.1:$F5 accept-proxy
    default_backend b4
backend b4
    server s 127.0.0.1:$C4 send-proxy-v2 proxy-v2-options authority
# haproxy -> proxyhdr decode on the connection itself
frontend f7
    bind 127.0.0.1:$F7
    default_backend b7
backend b7
    server s 127.0.0.1:$C7 send-proxy-v2
$bind6
EOF2

haproxy -db -f haproxy.cfg >haproxy.log 2>&1 &
ha_pid=$!
at_exit "proc_stop $ha_pid"

# wait_port PORT [HOST]: until something listens (5 s at most).
wait_port() {
	$PY - "$1" "${2:-127.0.0.1}" <<-\PY
	import socket, sys, time
	for _ in range(100):
	    try:
	        socket.create_connection((sys.argv[2], int(sys.argv[1])), timeout=1).close()
	        sys.exit(0)
	    except OSError:
	        time.sleep(0.05)
	sys.exit(1)
	PY
}
# haproxy binds every listener before it serves any: one probe (on the
# accept-proxy frontend, which opens no backend connection for it) will do.
ready=1
n=0
while [ ! -e cap/ready ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
[ -e cap/ready ] || ready=0
wait_port $F5 || ready=0
if [ $ready = 0 ]; then
	sed 's/^/# /' haproxy.log capture.err
	echo "Bail out! haproxy or the capture listener did not start"
	exit 1
fi

# send HOST PORT DATA-FILE: connect, write, half-close, read to the end;
# the client's own address on stdout.
send() {
	$PY - "$@" <<-\PY
	import socket, sys
	s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
	print("%s %d" % s.getsockname()[:2])
	s.sendall(open(sys.argv[3], "rb").read())
	s.shutdown(socket.SHUT_WR)
	try:
	    while s.recv(65536):
	        pass
	except OSError:
	    pass
	PY
}

# captured PORT N: wait (10 s at most) for the Nth capture on PORT.
captured() {
	_n=0
	while [ ! -e "cap/$1.$2" ] && [ $_n -lt 200 ]; do
		sleep 0.05
		_n=$((_n + 1))
	done
	[ -e "cap/$1.$2" ]
}

printf 'QUIT\r\n' >quit

test_expect_success 'haproxy send-proxy (v1): proxyhdr decodes the real line' '
	send 127.0.0.1 $F1 quit >me1 && captured $C1 1 &&
	read ip port <me1 &&
	head -c 6 cap/$C1.1 | grep -q "^PROXY " &&
	proxyhdr decode --pass -o kv <cap/$C1.1 >rest1 2>kv1 &&
	cmp rest1 quit &&
	kv_expect kv1 proxy_version 1 &&
	kv_expect kv1 proxy_family INET &&
	kv_expect kv1 sender_host_address 127.0.0.1 &&
	kv_expect kv1 sender_host_port "$port" &&
	kv_expect kv1 proxy_external_address 127.0.0.1 &&
	kv_expect kv1 proxy_external_port "$F1" &&
	kv_expect kv1 proxy_local_address ""
'

test_expect_success 'haproxy send-proxy-v2 with crc32c and unique-id' '
	send 127.0.0.1 $F2 quit >me2 && captured $C2 1 &&
	read ip port <me2 &&
	proxyhdr decode --pass -o kv <cap/$C2.1 >rest2 2>kv2 &&
	cmp rest2 quit &&
	kv_expect kv2 proxy_version 2 &&
	kv_expect kv2 proxy_command PROXY &&
	kv_expect kv2 proxy_family INET &&
	kv_expect kv2 proxy_transport STREAM &&
	kv_expect kv2 sender_host_address 127.0.0.1 &&
	kv_expect kv2 sender_host_port "$port" &&
	kv_expect kv2 proxy_external_port "$F2" &&
	kv_expect kv2 proxy_tlv_crc32c_verified yes &&
	id=$(printf "mxkit-127.0.0.1-%s" "$port" | od -An -tx1 | tr -d " \n") &&
	kv_expect kv2 proxy_tlv_unique_id "$id"
'

test_expect_success 'a CRC32C of haproxy changed by one bit: refused' '
	$PY -c "import sys; b=bytearray(open(sys.argv[1],\"rb\").read()); b[17]^=1; sys.stdout.buffer.write(b)" \
	    cap/$C2.1 >bent &&
	expect_status 65 proxyhdr decode <bent 2>e &&
	grep -q "bad CRC32C" e
'

test_expect_success 'haproxy send-proxy-v2-ssl-cn behind TLS: the SSL TLVs' '
	{ printf "EHLO x\r\n"; sleep 1; } | timeout 20 openssl s_client -connect 127.0.0.1:$F3 \
	    -servername mx.example.org -alpn smtp -cert cli.crt -key cli.key \
	    -quiet -no_ign_eof >sclient.out 2>sclient.err &&
	captured $C3 1 &&
	proxyhdr decode --pass -o kv <cap/$C3.1 >rest3 2>kv3 &&
	printf "EHLO x\r\n" | cmp - rest3 &&
	kv_expect kv3 proxy_version 2 &&
	kv_expect kv3 sender_host_address 127.0.0.1 &&
	kv_expect kv3 proxy_external_port "$F3" &&
	kv_expect kv3 proxy_tlv_alpn smtp &&
	kv_expect kv3 proxy_tlv_authority mx.example.org &&
	kv_expect kv3 proxy_tlv_ssl yes &&
	kv_expect kv3 proxy_tlv_ssl_client 7 &&
	kv_expect kv3 proxy_tlv_ssl_verify 0 &&
	kv_expect kv3 proxy_tlv_ssl_cn client.example &&
	kv_expect kv3 proxy_tlv_ssl_version TLSv1.3 &&
	kv_expect kv3 proxy_tlv_ssl_cipher TLS_AES_256_GCM_SHA384 &&
	: of the frontend certificate, P-256 with ECDSA &&
	kv_expect kv3 proxy_tlv_ssl_sig_alg ecdsa-with-SHA256 &&
	kv_expect kv3 proxy_tlv_ssl_key_alg EC256 &&
	kv_expect kv3 proxy_tlv_crc32c_verified yes &&
	proxyhdr decode <cap/$C3.1 >txt3 &&
	grep -q "^  ssl_cn: client.example$" txt3
'

if [ $have6 = 1 ]; then
test_expect_success 'haproxy send-proxy from an IPv6 client: TCP6' '
	send ::1 $F6 quit >me6 && captured $C6 1 &&
	read ip port <me6 &&
	head -c 11 cap/$C6.1 | grep -q "^PROXY TCP6" &&
	proxyhdr decode -o kv <cap/$C6.1 >kv6 &&
	kv_expect kv6 proxy_family INET6 &&
	kv_expect kv6 sender_host_address ::1 &&
	kv_expect kv6 sender_host_port "$port" &&
	kv_expect kv6 proxy_external_address ::1 &&
	kv_expect kv6 proxy_external_port "$F6"
'
else
	test_skip 'haproxy send-proxy from an IPv6 client: TCP6' 'no ::1 here'
fi

# ncap PORT: the number the next capture on PORT gets.
ncap() {
	echo $(( $(ls cap | grep -c "^$1\.[0-9]*$") + 1 ))
}

# through_haproxy NAME ENCODE-ARGS...: our header (and quit) into
# accept-proxy; kv of what haproxy sent on in NAME.kv, the rest NAME.rest.
through_haproxy() {
	_t=$1
	shift
	proxyhdr encode "$@" <quit >"$_t.in" &&
	_k=$(ncap $C4) &&
	send 127.0.0.1 $F5 "$_t.in" >/dev/null && captured $C4 $_k &&
	proxyhdr decode --pass -o kv <cap/$C4.$_k >"$_t.rest" 2>"$_t.kv" &&
	cmp "$_t.rest" quit
}

test_expect_success 'proxyhdr encode v1 -> haproxy accept-proxy: the client survives' '
	through_haproxy r1 -1 --src 192.0.2.33:4444 --dst 198.51.100.25:25 &&
	kv_expect r1.kv sender_host_address 192.0.2.33 &&
	kv_expect r1.kv sender_host_port 4444 &&
	kv_expect r1.kv proxy_external_address 198.51.100.25 &&
	kv_expect r1.kv proxy_external_port 25
'

test_expect_success 'proxyhdr encode v2 with TLVs and a CRC32C -> haproxy: accepted, client and authority survive' '
	through_haproxy r2 -2 --src 203.0.113.7:5555 --dst 198.51.100.25:587 \
	    --tlv authority=mx.example.org --tlv unique_id=0x0102 --crc32c &&
	kv_expect r2.kv sender_host_address 203.0.113.7 &&
	kv_expect r2.kv sender_host_port 5555 &&
	kv_expect r2.kv proxy_external_port 587 &&
	kv_expect r2.kv proxy_tlv_authority mx.example.org
'

test_expect_success 'proxyhdr encode v2 IPv6 -> haproxy: an IPv6 client on an IPv4 hop' '
	through_haproxy r3 -2 --src "[2001:db8::33]:6666" --dst "[2001:db8::25]:25" &&
	kv_expect r3.kv proxy_family INET6 &&
	kv_expect r3.kv sender_host_address 2001:db8::33 &&
	kv_expect r3.kv sender_host_port 6666 &&
	kv_expect r3.kv proxy_external_address 2001:db8::25
'

test_expect_success 'a header whose CRC32C is wrong: haproxy drops the connection' '
	proxyhdr encode -2 --src 192.0.2.44:1 --dst 192.0.2.45:2 --crc32c </dev/null >good &&
	$PY -c "import sys; b=bytearray(open(\"good\",\"rb\").read()); b[-1]^=1; sys.stdout.buffer.write(b + b\"QUIT\r\n\")" >bad.in &&
	n=$(ncap $C4) &&
	send 127.0.0.1 $F5 bad.in >/dev/null 2>&1;
	sleep 0.5 &&
	test ! -e cap/$C4.$n &&
	: the same header with the right CRC does go through &&
	through_haproxy r4 -2 --src 192.0.2.44:1 --dst 192.0.2.45:2 --crc32c &&
	kv_expect r4.kv sender_host_address 192.0.2.44
'

test_expect_success 'haproxy on proxyhdr decode stdin: proxy_local_* is haproxy, TCPREMOTEIP or not' '
	env TCPREMOTEIP=10.9.8.7 TCPREMOTEPORT=4321 $PY - $C7 $F7 <<-\PY
	import socket, subprocess, sys
	srv = socket.socket()
	srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(1); srv.settimeout(20)
	cli = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
	conn, ha = srv.accept()		# haproxy, on behalf of cli
	srv.close()
	conn.settimeout(None)
	p = subprocess.Popen(["proxyhdr", "decode", "-o", "kv"], stdin=conn,
	                     stdout=subprocess.PIPE)
	conn.close()
	out = p.communicate(timeout=20)[0].decode().splitlines()
	assert p.returncode == 0, p.returncode
	me = cli.getsockname(); cli.close()
	for want in ("sender_host_address=\x27127.0.0.1\x27",
	             "sender_host_port=\x27%d\x27" % me[1],
	             "proxy_external_address=\x27127.0.0.1\x27",
	             "proxy_external_port=\x27%s\x27" % sys.argv[2],
	             "proxy_local_address=\x27%s\x27" % ha[0],
	             "proxy_local_port=\x27%d\x27" % ha[1]):
	    assert want in out, (want, out)
	assert ha[1] != me[1]
	PY
'

test_done
