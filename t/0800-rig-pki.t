#!/bin/sh
# t/rig/pki.sh itself, proven with stock openssl: the chain verifies, the
# responders say good, revoked and unknown, an expired signer's answers do
# not verify, and every responder is gone once stopped.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"

P=$TEST_DIR/pki

# o ARGS...: ask a responder about int's certificates, trusting root.
o() {
	timeout 10 openssl ocsp -issuer "$P/int.pem" -CAfile "$P/root.pem" \
	    -timeout 5 "$@"
}

# http METHOD URL [FILE]: POST FILE (or GET URL as is); the body on stdout.
http() {
	/usr/bin/python3 - "$@" <<'PY'
import sys, urllib.request
method, url = sys.argv[1:3]
data = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method,
        headers={"Content-Type": "application/ocsp-request"})
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.buffer.write(r.read())
PY
}

# refused URL: connecting to URL's port is refused at once.  (openssl
# 3.0's HTTP client retries a refused connect until its -timeout.)
refused() {
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys, urllib.parse
try:
    socket.create_connection(("127.0.0.1",
        urllib.parse.urlsplit(sys.argv[1]).port), 5).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
PY
}

# epoch "Nov 22 06:38:12 2027 GMT": seconds since 1970.
epoch() {
	date -u -d "$1" +%s
}

pki_make "$P" 2>make.err &&
    pki_leaf mx1 "DNS:mx1.dane.test,DNS:mx.dane.test" 2>>make.err &&
    pki_leaf mxrsa "DNS:mx1.dane.test" rsa 2>>make.err &&
    pki_leaf old "DNS:old.dane.test" ec expired 2>>make.err &&
    pki_leaf noaia "DNS:noaia.dane.test" ec 30 none 2>>make.err &&
    pki_leaf doomed "DNS:doomed.dane.test" 2>>make.err &&
    PKI_ISSUER=other pki_leaf stranger "DNS:stranger.test" 2>>make.err
mkrc=$?

test_expect_success 'pki_make and pki_leaf build the PKI' '
	cat make.err &&
	[ $mkrc = 0 ] && [ "$PKI_DIR" = "$P" ] &&
	for f in root int ocsp ocsp-expired ocsp-short other \
	    mx1 mxrsa old noaia doomed stranger; do
		[ -s "$P/$f.pem" ] && [ -s "$P/$f.key" ] || exit 1
	done &&
	[ "$PKI_OCSP_URL" = "http://127.0.0.1:$PKI_OCSP_PORT/" ] &&
	[ "$PKI_OCSP_DOWN_URL" != "$PKI_OCSP_URL" ]
'

test_expect_success 'leaf chains verify: root -> intermediate -> leaf' '
	openssl verify -CAfile "$P/root.pem" -untrusted "$P/int.pem" \
	    "$P/mx1.pem" "$P/mxrsa.pem" "$P/noaia.pem" "$P/ocsp.pem" \
	    "$P/ocsp-short.pem" &&
	for l in mx1 mxrsa; do
		cat "$P/$l.pem" "$P/int.pem" | cmp - "$P/$l.chain.pem" || exit 1
	done &&
	! openssl verify -CAfile "$P/root.pem" -untrusted "$P/int.pem" \
	    "$P/stranger.pem" &&
	openssl verify -CAfile "$P/other.pem" "$P/stranger.pem"
'

test_expect_success 'expired leaf and expired signer fail verification' '
	! openssl verify -CAfile "$P/root.pem" -untrusted "$P/int.pem" \
	    "$P/old.pem" >old.out 2>&1 &&
	grep -q "certificate has expired" old.out &&
	! openssl verify -CAfile "$P/root.pem" -untrusted "$P/int.pem" \
	    "$P/ocsp-expired.pem" >oe.out 2>&1 &&
	grep -q "certificate has expired" oe.out
'

test_expect_success 'keys: EC P-256, RSA 2048 where asked; each matches its cert' '
	openssl pkey -in "$P/mx1.key" -noout -text | grep -q "prime256v1" &&
	openssl pkey -in "$P/root.key" -noout -text | grep -q "prime256v1" &&
	openssl pkey -in "$P/mxrsa.key" -noout -text |
	    grep -q "Private-Key: (2048 bit" &&
	for c in mx1 mxrsa ocsp int; do
		a=$(openssl pkey -in "$P/$c.key" -pubout) &&
		b=$(openssl x509 -in "$P/$c.pem" -noout -pubkey) &&
		[ "$a" = "$b" ] || exit 1
	done
'

test_expect_success 'names, AIA OCSP URL, OCSPSigning usage' '
	openssl x509 -in "$P/mx1.pem" -noout -text >mx1.txt &&
	grep -q "DNS:mx1.dane.test, DNS:mx.dane.test" mx1.txt &&
	openssl x509 -in "$P/mx1.pem" -noout -subject | grep -q "CN = mx1.dane.test" &&
	[ "$(openssl x509 -in "$P/mx1.pem" -noout -ocsp_uri)" = "$PKI_OCSP_URL" ] &&
	[ -z "$(openssl x509 -in "$P/noaia.pem" -noout -ocsp_uri)" ] &&
	for s in ocsp ocsp-expired ocsp-short; do
		openssl x509 -in "$P/$s.pem" -noout -ext extendedKeyUsage |
		    grep -q "OCSP Signing" || exit 1
	done &&
	! openssl x509 -in "$P/mx1.pem" -noout -text | grep -q "OCSP Signing"
'

# The responders, started at the top level (at_exit and exports).
pki_ocsp_start good 2>good.err
goodrc=$?
pki_ocsp_start expired ocsp-expired 2>expired.err
exprc=$?
pki_ocsp_start short ocsp-short -ndays 2 2>short.err
shortrc=$?
pki_ocsp_start nonext ocsp nonext 2>nonext.err
nonextrc=$?
pki_ocsp_start wrong other 2>wrong.err
wrongrc=$?
pids=$(cat "$P"/ocsp-run/*.pid)

test_expect_success 'responders start; the first takes the AIA port' '
	cat good.err expired.err short.err nonext.err wrong.err &&
	[ $goodrc = 0 ] && [ $exprc = 0 ] && [ $shortrc = 0 ] &&
	[ $nonextrc = 0 ] && [ $wrongrc = 0 ] &&
	[ "$PKI_OCSP_URL_good" = "$PKI_OCSP_URL" ] &&
	[ "$(pki_ocsp_url good)" = "$PKI_OCSP_URL" ] &&
	[ "$PKI_OCSP_URL_expired" != "$PKI_OCSP_URL" ] &&
	[ "$PKI_OCSP_URL_short" != "$PKI_OCSP_URL_expired" ] &&
	[ $(echo $pids | wc -w) = 5 ]
'

test_expect_success 'responders listen on 127.0.0.1 only' '
	ss -ltn >ss.out &&
	for u in "$PKI_OCSP_URL_good" "$PKI_OCSP_URL_expired"; do
		port=${u#http://127.0.0.1:} && port=${port%/} &&
		grep -q " 127\.0\.0\.1:$port " ss.out &&
		! grep -Eq " (\*|0\.0\.0\.0|\[::\]):$port " ss.out || exit 1
	done
'

test_expect_success 'good: the AIA responder answers and the answer verifies' '
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL" -resp_text >good.out 2>&1 &&
	grep -q "mx1.pem: good" good.out &&
	grep -q "Response verify OK" good.out &&
	grep -q "Next Update:" good.out &&
	grep -q "^POST host=127.0.0.1 bytes=[0-9]* answered" \
	    "$PKI_OCSP_LOG_good"
'

test_expect_success 'good for an RSA leaf' '
	o -cert "$P/mxrsa.pem" -url "$PKI_OCSP_URL" >rsa.out 2>&1 &&
	grep -q "mxrsa.pem: good" rsa.out &&
	grep -q "Response verify OK" rsa.out
'

test_expect_success 'GET per RFC 5019 works too' '
	o -cert "$P/mx1.pem" -no_nonce -reqout req.der >/dev/null 2>&1 &&
	b64=$(openssl base64 -A -in req.der |
	    sed "s/+/%2B/g; s,/,%2F,g; s/=/%3D/g") &&
	http GET "$PKI_OCSP_URL$b64" >get.der &&
	o -cert "$P/mx1.pem" -respin get.der >get.out 2>&1 &&
	grep -q "mx1.pem: good" get.out &&
	grep -q "Response verify OK" get.out &&
	grep -q "^GET host=" "$PKI_OCSP_LOG_good"
'

test_expect_success 'a bare connect does not wedge the responder' '
	/usr/bin/python3 -c "
import socket, sys
socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 5).close()
" "$PKI_OCSP_PORT" &&
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL" >again.out 2>&1 &&
	grep -q "mx1.pem: good" again.out
'

test_expect_success 'garbage request: malformedRequest' '
	printf "hello" >junk &&
	http POST "$PKI_OCSP_URL" junk | od -An -tx1 | tr -d " \n" >junk.hex &&
	[ "$(cat junk.hex)" = 30030a0101 ]
'

test_expect_success 'revoked once pki_revoke has run, with the reason' '
	o -cert "$P/doomed.pem" -url "$PKI_OCSP_URL" >before.out 2>&1 &&
	grep -q "doomed.pem: good" before.out &&
	pki_revoke doomed &&
	o -cert "$P/doomed.pem" -url "$PKI_OCSP_URL" >after.out 2>&1 &&
	grep -q "doomed.pem: revoked" after.out &&
	grep -q "Reason: keyCompromise" after.out &&
	grep -q "Response verify OK" after.out &&
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL" 2>&1 | grep -q "mx1.pem: good"
'

test_expect_success 'unknown: a serial int never issued, a cert of another CA' '
	o -serial 0x7777 -url "$PKI_OCSP_URL" >ser.out 2>&1 &&
	grep -q ": unknown" ser.out &&
	grep -q "Response verify OK" ser.out &&
	timeout 10 openssl ocsp -issuer "$P/other.pem" -cert "$P/stranger.pem" \
	    -url "$PKI_OCSP_URL" -noverify -timeout 5 >str.out 2>&1 &&
	grep -q "stranger.pem: unknown" str.out
'

test_expect_success 'expired signer: the answer fails verification' '
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL_expired" >exp.out 2>&1;
	grep -q "Response Verify Failure" exp.out &&
	grep -q "certificate has expired" exp.out &&
	! grep -q "Response verify OK" exp.out
'

test_expect_success 'short-lived signer: valid now, expires before nextUpdate' '
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL_short" -resp_text >short.out 2>&1 &&
	grep -q "Response verify OK" short.out &&
	grep -q "mx1.pem: good" short.out &&
	next=$(sed -n "s/^ *Next Update: //p" short.out | head -n 1) &&
	end=$(openssl x509 -in "$P/ocsp-short.pem" -noout -enddate) &&
	[ "$(epoch "${end#notAfter=}")" -lt "$(epoch "$next")" ]
'

test_expect_success 'nonext: answers without nextUpdate' '
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL_nonext" -resp_text >nn.out 2>&1 &&
	grep -q "mx1.pem: good" nn.out &&
	grep -q "This Update:" nn.out &&
	! grep -q "Next Update:" nn.out
'

test_expect_success 'a signer from another CA: the answer fails verification' '
	o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL_wrong" >wrong.out 2>&1;
	grep -q "mx1.pem: good" wrong.out &&
	grep -q "Response Verify Failure" wrong.out &&
	! grep -q "Response verify OK" wrong.out
'

test_expect_success 'the unreachable URL: nobody answers' '
	refused "$PKI_OCSP_DOWN_URL" &&
	! o -cert "$P/mx1.pem" -url "$PKI_OCSP_DOWN_URL" -timeout 1 \
	    >down.out 2>&1 &&
	grep -q "Error querying OCSP responder" down.out
'

if [ "${MXKIT_TEST_ALL_IFACES:-0}" = 1 ]; then
	pki_ocsp_stop good
	PKI_OCSP_SERVER=openssl
	pki_ocsp_start real 2>real.err
	realrc=$?
	PKI_OCSP_SERVER=
	realpid=$(cat "$P/ocsp-run/real.pid" 2>/dev/null)
	test_expect_success 'PKI_OCSP_SERVER=openssl: openssl ocsp -port' '
		cat real.err && [ $realrc = 0 ] &&
		[ "$PKI_OCSP_URL_real" = "$PKI_OCSP_URL" ] &&
		o -cert "$P/mx1.pem" -url "$PKI_OCSP_URL" >real.out 2>&1 &&
		grep -q "mx1.pem: good" real.out &&
		grep -qi "waiting for OCSP client connections" \
		    "$P/ocsp-run/real.out"
	'
	pids="$pids $realpid"
else
	test_skip 'PKI_OCSP_SERVER=openssl: openssl ocsp -port' \
	    'listens on all interfaces; MXKIT_TEST_ALL_IFACES=1 to run'
fi

pki_ocsp_stop

test_expect_success 'pki_ocsp_stop leaves no responder behind' '
	for pid in $pids; do
		! kill -0 "$pid" 2>/dev/null || exit 1
	done &&
	! ls "$P"/ocsp-run/*.pid 2>/dev/null &&
	refused "$PKI_OCSP_URL" && refused "$PKI_OCSP_URL_expired"
'

# A script that starts a responder and ends without stopping it: at_exit
# does.  Its $0 is in t/, so that lib.sh finds its way.
cat >child.sh <<'EOF'
. "$TEST_SRC/lib.sh"
. "$TEST_SRC/rig/pki.sh"
pki_make pki && pki_ocsp_start left && cat pki/ocsp-run/left.pid
EOF

test_expect_success 'a responder left running is stopped at exit' '
	pid=$(sh -c ". \"\$1\"" "$TEST_SRC/child" "$TEST_DIR/child.sh" \
	    </dev/null) &&
	[ -n "$pid" ] &&
	! kill -0 "$pid" 2>/dev/null
'

test_done
