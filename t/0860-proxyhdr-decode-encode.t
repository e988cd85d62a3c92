#!/bin/sh
# proxyhdr encode -> decode round trips (v1 and v2, every TLV, all three
# output modes), the exact octets of encode, --pass byte for byte with a
# megabyte of binary data after the header, and the promise that decode
# reads not one octet past the header on a pipe or a socket: the next
# reader of the same descriptor gets the rest intact.  Broken input:
# exit 65, timeouts 75, usage 64.  Who is who, as Exim has it: the
# header's source is sender_host_*, its destination proxy_external_*, and
# proxy_local_* the proxy itself, the peer of stdin (a real loopback
# socket) or TCPREMOTEIP.
. "$(dirname "$0")/lib.sh"
require_bin proxyhdr
PY=/usr/bin/python3
unset TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT

head -c 1048576 /dev/urandom >data

test_expect_success 'v2 with every TLV type round-trips (kv)' '
	printf "" | proxyhdr encode -2 --src 192.0.2.1:56324 \
	    --dst 198.51.100.25:25 --tlv alpn=smtp --tlv authority=mx.example.org \
	    --tlv noop=0x000000 --tlv unique_id=0xdeadbeef00 --tlv netns=blue \
	    --tlv ssl_version=TLSv1.3 --tlv ssl_cn=client.example \
	    --tlv ssl_cipher=TLS_AES_256_GCM_SHA384 --tlv ssl_sig_alg=ECDSA-SHA256 \
	    --tlv ssl_key_alg=EC256 --tlv ssl_client=7 --tlv ssl_verify=0 \
	    --tlv 0xe0=0x0102ff --tlv 0xe0=text --crc32c >h2 &&
	proxyhdr decode -o kv <h2 >kv &&
	kv_expect kv proxy_session yes &&
	kv_expect kv proxy_version 2 &&
	kv_expect kv proxy_command PROXY &&
	kv_expect kv proxy_family INET &&
	kv_expect kv proxy_transport STREAM &&
	kv_expect kv sender_host_address 192.0.2.1 &&
	kv_expect kv sender_host_port 56324 &&
	kv_expect kv proxy_external_address 198.51.100.25 &&
	kv_expect kv proxy_external_port 25 &&
	: a file on stdin and no TCPREMOTEIP: the proxy is not known &&
	kv_expect kv proxy_local_address "" &&
	kv_expect kv proxy_local_port "" &&
	kv_expect kv proxy_tlv_alpn smtp &&
	kv_expect kv proxy_tlv_authority mx.example.org &&
	kv_expect kv proxy_tlv_noop 3 &&
	kv_expect kv proxy_tlv_unique_id deadbeef00 &&
	kv_expect kv proxy_tlv_netns blue &&
	kv_expect kv proxy_tlv_ssl yes &&
	kv_expect kv proxy_tlv_ssl_client 7 &&
	kv_expect kv proxy_tlv_ssl_verify 0 &&
	kv_expect kv proxy_tlv_ssl_version TLSv1.3 &&
	kv_expect kv proxy_tlv_ssl_cn client.example &&
	kv_expect kv proxy_tlv_ssl_cipher TLS_AES_256_GCM_SHA384 &&
	kv_expect kv proxy_tlv_ssl_sig_alg ECDSA-SHA256 &&
	kv_expect kv proxy_tlv_ssl_key_alg EC256 &&
	kv_expect kv proxy_tlv_0xe0 0102ff:74657874 &&
	kv_expect kv proxy_tlv_crc32c_verified yes &&
	test -n "$(kvget proxy_tlv_crc32c kv)"
'

test_expect_success 'the CRC32C checks out independently (python, crc over the header)' '
	$PY - h2 <<-\PY
	import sys
	def crc32c(b):
	    c = 0xffffffff
	    for x in b:
	        c ^= x
	        for _ in range(8):
	            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
	    return c ^ 0xffffffff
	assert crc32c(b"123456789") == 0xE3069283
	h = bytearray(open(sys.argv[1], "rb").read())
	assert h[:12] == b"\r\n\r\n\0\r\nQUIT\n" and len(h) == 16 + (h[14] << 8 | h[15])
	i = 16 + 12
	while i < len(h):
	    t, n = h[i], h[i+1] << 8 | h[i+2]
	    if t == 3:
	        want = int.from_bytes(h[i+3:i+7], "big")
	        h[i+3:i+7] = b"\0\0\0\0"
	        assert crc32c(bytes(h)) == want, "crc mismatch"
	        sys.exit(0)
	    i += 3 + n
	sys.exit("no crc tlv")
	PY
'

test_expect_success 'json is one valid object with the same fields' '
	proxyhdr decode -o json <h2 >json &&
	test $(wc -l <json) = 1 &&
	$PY -c "import json,sys; d=json.load(open(\"json\")); \
	    assert d[\"sender_host_address\"] == \"192.0.2.1\", d; \
	    assert d[\"proxy_external_address\"] == \"198.51.100.25\", d; \
	    assert d[\"proxy_local_address\"] == \"\", d; \
	    assert d[\"proxy_tlv_ssl_cn\"] == \"client.example\"; \
	    assert d[\"proxy_tlv_authority\"] == \"mx.example.org\"; \
	    assert d[\"proxy_session\"] == \"yes\""
'

test_expect_success 'text mode: the kind, who is who, and the TLVs' '
	proxyhdr decode <h2 >txt &&
	head -n 4 txt >txt4 &&
	printf "%s\n" "v2 PROXY INET STREAM" "  client: 192.0.2.1:56324" \
	    "  proxy external: 198.51.100.25:25" "  proxy local: unknown" |
	    cmp - txt4 &&
	grep -qx "  authority: mx.example.org" txt &&
	grep -qx "  ssl_cn: client.example" txt &&
	grep -qx "  crc32c_verified: yes" txt
'

test_expect_success 'v1 TCP4: the exact line, and back' '
	proxyhdr encode -1 --src 192.0.2.1:56324 --dst 198.51.100.25:25 </dev/null >h1 &&
	printf "PROXY TCP4 192.0.2.1 198.51.100.25 56324 25\r\n" >want &&
	cmp h1 want &&
	proxyhdr decode -o kv <h1 >kv1 &&
	kv_expect kv1 proxy_version 1 &&
	kv_expect kv1 proxy_family INET &&
	kv_expect kv1 sender_host_port 56324 &&
	kv_expect kv1 proxy_external_port 25
'

test_expect_success 'v1 TCP6 (and -v1 as other tools spell it)' '
	proxyhdr encode -v1 --src "[2001:db8::1]:4000" --dst "[::1]:25" </dev/null >h6 &&
	printf "PROXY TCP6 2001:db8::1 ::1 4000 25\r\n" >want6 &&
	cmp h6 want6 &&
	proxyhdr decode <h6 >txt6 &&
	grep -qx "v1 PROXY INET6 STREAM" txt6 &&
	grep -qx "  client: \[2001:db8::1\]:4000" txt6 &&
	grep -qx "  proxy external: \[::1\]:25" txt6
'

test_expect_success 'v2 IPv6, UDP and UNIX' '
	proxyhdr encode --v2 --udp --src "[2001:db8::2]:53" --dst "[2001:db8::53]:53" </dev/null |
	    proxyhdr decode -o kv >kv6 &&
	kv_expect kv6 proxy_family INET6 &&
	kv_expect kv6 proxy_transport DGRAM &&
	kv_expect kv6 sender_host_address 2001:db8::2 &&
	kv_expect kv6 proxy_external_address 2001:db8::53 &&
	proxyhdr encode -2 --src unix:/run/client.sock --dst unix:@haproxy </dev/null >hu &&
	proxyhdr decode -o kv <hu >kvu &&
	kv_expect kvu proxy_family UNIX &&
	kv_expect kvu proxy_source_path /run/client.sock &&
	kv_expect kvu proxy_destination_path @haproxy &&
	: no IP addresses: the client is the real peer, as in smtpfront &&
	kv_expect kvu sender_host_address "" &&
	kv_expect kvu proxy_external_address "" &&
	kv_expect kvu proxy_external_port "" &&
	env TCPREMOTEIP=127.0.0.3 TCPREMOTEPORT=333 proxyhdr decode -o kv <hu >kvu2 &&
	kv_expect kvu2 sender_host_address 127.0.0.3 &&
	kv_expect kvu2 proxy_local_address 127.0.0.3 &&
	kv_expect kvu2 proxy_source_path /run/client.sock &&
	proxyhdr decode <hu >txtu &&
	grep -qx "  source path: /run/client.sock" txtu &&
	grep -qx "  destination path: @haproxy" txtu
'

test_expect_success 'LOCAL and UNKNOWN carry no addresses' '
	proxyhdr encode -2 --local </dev/null >hl &&
	test $(wc -c <hl) = 16 &&
	proxyhdr decode -o kv <hl >kvl &&
	kv_expect kvl proxy_command LOCAL &&
	kv_expect kvl proxy_session yes &&
	kv_expect kvl proxy_external_address "" &&
	kv_expect kvl proxy_external_port "" &&
	kv_expect kvl sender_host_address "" &&
	kv_expect kvl proxy_local_address "" &&
	proxyhdr encode -1 --local </dev/null >hl1 &&
	printf "PROXY UNKNOWN\r\n" | cmp - hl1 &&
	proxyhdr decode -o kv <hl1 >kvl1 &&
	kv_expect kvl1 proxy_family UNSPEC &&
	kv_expect kvl1 proxy_command PROXY &&
	proxyhdr encode -2 --unknown --tlv authority=x </dev/null | proxyhdr decode -o kv >kvn &&
	kv_expect kvn proxy_family UNSPEC &&
	kv_expect kvn proxy_tlv_authority x
'

test_expect_success 'proxy_local_* from TCPREMOTEIP when stdin is no socket' '
	env TCPREMOTEIP=10.9.8.7 TCPREMOTEPORT=4321 proxyhdr decode -o kv <h2 >kve &&
	kv_expect kve sender_host_address 192.0.2.1 &&
	kv_expect kve proxy_external_address 198.51.100.25 &&
	kv_expect kve proxy_local_address 10.9.8.7 &&
	kv_expect kve proxy_local_port 4321 &&
	env TCPREMOTEIP=10.9.8.7 TCPREMOTEPORT=4321 proxyhdr decode <h2 >txte &&
	grep -qx "  proxy local: 10.9.8.7:4321" txte &&
	env TCPREMOTEIP=2001:db8::99 proxyhdr decode -o kv <h2 >kve6 &&
	kv_expect kve6 proxy_local_address 2001:db8::99 &&
	kv_expect kve6 proxy_local_port "" &&
	: LOCAL and UNKNOWN: the client is that real peer &&
	env TCPREMOTEIP=10.9.8.7 TCPREMOTEPORT=4321 proxyhdr decode -o kv <hl >kvle &&
	kv_expect kvle sender_host_address 10.9.8.7 &&
	kv_expect kvle sender_host_port 4321 &&
	kv_expect kvle proxy_external_address "" &&
	kv_expect kvle proxy_local_address 10.9.8.7 &&
	env TCPREMOTEIP=10.9.8.7 proxyhdr decode -o kv <hl1 >kvle1 &&
	kv_expect kvle1 sender_host_address 10.9.8.7 &&
	: what is not an address or a port is not taken &&
	env "TCPREMOTEIP=1.2.3.4; rm -rf /" TCPREMOTEPORT=99999 proxyhdr decode -o kv <h2 >kvbad &&
	kv_expect kvbad proxy_local_address "" &&
	env TCPREMOTEIP=1.2.3.4 TCPREMOTEPORT=0025 proxyhdr decode -o kv <h2 >kvbad2 &&
	kv_expect kvbad2 proxy_local_address 1.2.3.4 &&
	kv_expect kvbad2 proxy_local_port ""
'

test_expect_success 'proxy_local_* from the peer of a real loopback socket' '
	env TCPREMOTEIP=10.9.8.7 TCPREMOTEPORT=4321 $PY - <<-\PY
	import socket, subprocess, sys
	def run(hdr, mode, listen="127.0.0.1"):
	    srv = socket.socket(socket.AF_INET6 if ":" in listen else socket.AF_INET)
	    if ":" in listen:
	        srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	    srv.bind((listen, 0)); srv.listen(1)
	    cli = socket.create_connection(("127.0.0.1", srv.getsockname()[1]),
	                                   timeout=10)
	    conn, _ = srv.accept()
	    p = subprocess.Popen(["proxyhdr", "decode", "-o", mode], stdin=conn,
	                         stdout=subprocess.PIPE)
	    conn.close(); srv.close()
	    cli.sendall(open(hdr, "rb").read())
	    out = p.communicate(timeout=20)[0].decode()
	    assert p.returncode == 0, p.returncode
	    me = cli.getsockname(); cli.close()
	    return out, me
	# the socket wins over TCPREMOTEIP (which is in our environment)
	out, me = run("h2", "kv")
	lines = out.splitlines()
	for want in ("sender_host_address=\x27192.0.2.1\x27",
	             "proxy_external_address=\x27198.51.100.25\x27",
	             "proxy_local_address=\x27127.0.0.1\x27",
	             "proxy_local_port=\x27%d\x27" % me[1]):
	    assert want in lines, (want, lines)
	out, me = run("h2", "text")
	assert "  proxy local: 127.0.0.1:%d" % me[1] in out.splitlines(), out
	# LOCAL: the peer is the client too
	out, me = run("hl", "kv")
	lines = out.splitlines()
	for want in ("sender_host_address=\x27127.0.0.1\x27",
	             "sender_host_port=\x27%d\x27" % me[1],
	             "proxy_external_address=\x27\x27",
	             "proxy_local_address=\x27127.0.0.1\x27"):
	    assert want in lines, (want, lines)
	# an IPv4 peer on a dual-stack IPv6 socket (::ffff:127.0.0.1) is an
	# IPv4 peer
	try:
	    s6 = socket.socket(socket.AF_INET6)
	    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	    s6.bind(("::ffff:127.0.0.1", 0)); s6.close()
	except OSError:
	    sys.exit(0)
	out, me = run("h2", "kv", listen="::ffff:127.0.0.1")
	assert "proxy_local_address=\x27127.0.0.1\x27" in out.splitlines(), out
	PY
'

test_expect_success 'a text TLV holding a NUL comes in hex' '
	proxyhdr encode -2 --src 1.2.3.4:1 --dst 5.6.7.8:2 --tlv authority=0x610062 \
	    </dev/null | proxyhdr decode -o kv >kvz &&
	kv_expect kvz proxy_tlv_authority 0x610062
'

test_expect_success 'encode copies stdin after the header; --pass gives it back byte for byte (v2)' '
	proxyhdr encode -2 --src 192.0.2.9:1234 --dst 127.0.0.1:25 --crc32c \
	    --tlv unique_id=0x0011 <data >stream &&
	test $(wc -c <stream) -gt 1048576 &&
	proxyhdr decode --pass -o kv <stream >passed 2>fields &&
	cmp passed data &&
	kv_expect fields sender_host_address 192.0.2.9 &&
	kv_expect fields proxy_external_address 127.0.0.1 &&
	kv_expect fields proxy_tlv_unique_id 0011
'

test_expect_success '--pass with v1 and --fields FILE' '
	proxyhdr encode -1 --src 192.0.2.9:1234 --dst 127.0.0.1:25 <data >stream1 &&
	proxyhdr decode --pass --fields f.kv -o kv <stream1 >passed1 2>err &&
	cmp passed1 data &&
	test ! -s err &&
	kv_expect f.kv sender_host_port 1234 &&
	kv_expect f.kv proxy_external_port 25
'

test_expect_success 'no over-read on a pipe: the next reader gets the rest' '
	for v in 1 2; do
		proxyhdr encode -$v --src 10.0.0.1:1 --dst 10.0.0.2:2 <data >s$v &&
		cat s$v | { proxyhdr decode -o kv >k$v && cat >rest$v; } &&
		cmp rest$v data &&
		kv_expect k$v sender_host_address 10.0.0.1 || return 1
	done
'

test_expect_success 'no over-read on a socket, the header arriving in pieces' '
	proxyhdr encode -2 --src 10.0.0.1:1 --dst 10.0.0.2:2 --tlv alpn=h2 <data >sk &&
	$PY - sk <<-\PY
	import os, socket, subprocess, sys, time
	raw = open(sys.argv[1], "rb").read()
	for cut in (1, 13, 16, 17):	# write the header in pieces
	    a, b = socket.socketpair()
	    p = subprocess.Popen(["sh", "-c", "proxyhdr decode -o kv >sk.kv && cat >sk.rest"],
	                         stdin=b)
	    b.close()
	    a.sendall(raw[:cut]); time.sleep(0.05)
	    a.sendall(raw[cut:40]); time.sleep(0.05)
	    a.sendall(raw[40:])
	    a.shutdown(socket.SHUT_WR)
	    assert p.wait(timeout=30) == 0
	    a.close()
	    rest = open("sk.rest", "rb").read()
	    assert rest == open("data", "rb").read(), "cut %d: rest differs" % cut
	PY
'

test_expect_success 'not a header: exit 65, one line, nothing passed' '
	printf "EHLO client.example\r\n" >ehlo &&
	expect_status 65 proxyhdr decode --pass <ehlo >o 2>e &&
	test ! -s o &&
	test $(wc -l <e) = 1 &&
	grep -q "not a PROXY header" e
'

test_expect_success 'a bad CRC32C: exit 65' '
	$PY -c "import sys; b=bytearray(open(\"h2\",\"rb\").read()); b[20]^=1; sys.stdout.buffer.write(b)" >badcrc &&
	expect_status 65 proxyhdr decode <badcrc 2>e &&
	grep -q "bad CRC32C" e
'

test_expect_success 'truncated at every length: exit 65 (end of input), never 0' '
	n=$(wc -c <h2) && i=0 &&
	while [ $i -lt $n ]; do
		head -c $i h2 >cut &&
		expect_status 65 proxyhdr decode <cut 2>/dev/null || return 1
		i=$((i + 1))
	done
'

test_expect_success 'wrong v2 length and v1 overlong: exit 65' '
	$PY -c "import sys; b=bytearray(open(\"h2\",\"rb\").read()); b[15]-=1; sys.stdout.buffer.write(b)" >badlen &&
	expect_status 65 proxyhdr decode <badlen 2>e &&
	$PY -c "import sys; sys.stdout.write(\"PROXY UNKNOWN \" + \"x\" * 200 + \"\r\n\")" >long &&
	expect_status 65 proxyhdr decode <long 2>e &&
	grep -q "too long" e
'

test_expect_success 'an incomplete header that stalls: exit 75 on time' '
	{ printf "PROXY TCP4 1.2."; sleep 3; } | {
		s=$(date +%s%N)
		expect_status 75 proxyhdr decode --timeout 0.3 2>e
		echo $? $(( ($(date +%s%N) - s) / 1000000 )) >ms
	} &&
	read rc ms <ms && test "$rc" = 0 &&
	test "$ms" -ge 280 && test "$ms" -lt 2500 &&
	grep -q "incomplete in time" e
'

test_expect_success 'usage errors exit 64' '
	expect_status 64 proxyhdr </dev/null &&
	expect_status 64 proxyhdr frobnicate </dev/null &&
	expect_status 64 proxyhdr encode --src 1.2.3.4:1 --dst 1.2.3.4:2 </dev/null &&
	expect_status 64 proxyhdr encode -1 --src 1.2.3.4:1 --dst 1.2.3.4:2 --tlv alpn=x </dev/null &&
	expect_status 64 proxyhdr encode -2 --src 1.2.3.4:1 --dst "[::1]:2" </dev/null &&
	expect_status 64 proxyhdr encode -2 --src 1.2.3.400:1 --dst 1.2.3.4:2 </dev/null &&
	expect_status 64 proxyhdr encode -2 --src 1.2.3.4:65536 --dst 1.2.3.4:2 </dev/null &&
	expect_status 64 proxyhdr encode -2 --src 1.2.3.4:1 --dst 1.2.3.4:2 --tlv bogus=1 </dev/null &&
	expect_status 64 proxyhdr encode -2 --src 1.2.3.4:1 --dst 1.2.3.4:2 --tlv alpn=0xabc </dev/null &&
	expect_status 64 proxyhdr decode --src 1.2.3.4:1 </dev/null &&
	expect_status 64 proxyhdr decode --timeout 0 </dev/null &&
	expect_status 64 proxyhdr decode --fields x </dev/null &&
	expect_status 64 proxyhdr decode extra </dev/null &&
	expect_status 64 proxyhdr wrap </dev/null
'

test_done
