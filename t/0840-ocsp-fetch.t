#!/bin/sh
# ocsp-fetch against real `openssl ocsp` responders (t/rig/pki.sh) and a
# small HTTP server of this file's own (garbage, HTTP errors, a replayed
# or forged response, a proxy, redirects): good, revoked, unknown, no URL,
# the signer checks, the refresh window, GET/POST, nonces, the chain file,
# the output shapes, responder and proxy host names looked up with lib/dns
# (NSD serving a zone the system resolver does not know, a resolver that
# never answers, --dns-zone), and above all that a failure never touches
# the old file.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/dns.sh"
require_bin ocsp-fetch
# The environment's proxy must not decide where our loopback requests go.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

P=$TEST_DIR/pki

# run NAME ARGS...: ocsp-fetch ARGS; NAME.out, NAME.err, NAME.rc.
run() {
	_rn=$1
	shift
	ocsp-fetch "$@" >"$_rn.out" 2>"$_rn.err"
	echo $? >"$_rn.rc"
}

# rc_is NAME N: the run exited N; says what it printed otherwise.
rc_is() {
	[ "$(cat "$1.rc")" = "$2" ] && return 0
	echo "$1: exit $(cat "$1.rc"), want $2"
	cat "$1.out" "$1.err"
	return 1
}

# kv NAME VAR VALUE: a variable of a -o kv run.
kv() {
	kv_expect "$1.out" "$2" "$3"
}

# requests LOG: how many requests a responder has seen.
requests() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# verify_der FILE LEAF: stock openssl verifies FILE as a good/revoked
# answer about LEAF, trusting the root.
verify_der() {
	timeout 10 openssl ocsp -respin "$1" -issuer "$P/int.pem" \
	    -CAfile "$P/root.pem" -cert "$P/$2.pem" >"$1.txt" 2>&1 &&
	    grep -q "Response verify OK" "$1.txt"
}

# The HTTP server of these tests.  Its mode is read from $FAKE_DIR/mode at
# each request: "static FILE" (200, FILE's bytes), "text" (200, HTML),
# "status CODE", "raw" (not HTTP at all), "hang" (never answers).  A
# request for an absolute URI is proxied instead (http_proxy tests).
# Every request is logged: "METHOD LENGTH-OF-PATH" or "PROXY METHOD URI".
cat >fakehttp.py <<'PY'
import http.client, os, socket, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

moddir, logfile, portfile = sys.argv[1:4]
bind = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
log = open(logfile, "a", buffering=1)

class H(BaseHTTPRequestHandler):
    timeout = 10
    def log_message(self, *a):
        pass
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if 0 < n < 65536 else None
    def reply(self, code, data, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def proxy(self, data):
        u = urllib.parse.urlsplit(self.path)
        log.write("PROXY %s %s\n" % (self.command, self.path))
        # The test zone's names are all on loopback; the system resolver
        # does not know them.
        host = "127.0.0.1" if u.hostname.endswith(".test") else u.hostname
        c = http.client.HTTPConnection(host, u.port or 80, timeout=10)
        c.request(self.command, u.path or "/", body=data,
                  headers={"Host": self.headers.get("Host", u.netloc),
                           "Content-Type": "application/ocsp-request"})
        r = c.getresponse()
        self.reply(r.status, r.read(), r.getheader("Content-Type", ""))
    def handle_any(self):
        data = self.body() if self.command == "POST" else None
        if self.path.startswith("http://"):
            return self.proxy(data)
        # Every Host header, comma-separated: one is expected.
        log.write("%s %d host=%s\n" % (self.command, len(self.path),
                  ",".join(self.headers.get_all("Host") or ["-"])))
        mode = open(os.path.join(moddir, "mode")).read().split()
        if mode[0] == "static":
            self.reply(200, open(mode[1], "rb").read(),
                       "application/ocsp-response")
        elif mode[0] == "text":
            self.reply(200, b"<html>not OCSP</html>\n", "text/html")
        elif mode[0] == "status":
            self.send_error(int(mode[1]))
        elif mode[0] == "raw":
            self.wfile.write(b"GARBAGE, NOT HTTP AT ALL\r\n\r\n")
            self.close_connection = True
        elif mode[0] == "hang":
            time.sleep(8)
        elif mode[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", mode[1] + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
    do_GET = do_POST = handle_any

class S(ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
srv = S((bind, 0), H)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
deadline = time.monotonic() + 600
srv.timeout = 1
while time.monotonic() < deadline:
    srv.handle_request()
PY

FAKE_DIR=$TEST_DIR/fake
mkdir -p "$FAKE_DIR"
echo text >"$FAKE_DIR/mode"
# fake_mode WORDS...: what the server does from the next request on.
fake_mode() {
	echo "$*" >"$FAKE_DIR/mode"
}

# A leaf the issuing CA signed outside its database: the responder does
# not know it (unknown).  ext: the AIA the rig's leaves have.
ghost_leaf() {
	printf '[e]\nbasicConstraints = CA:FALSE\nauthorityInfoAccess = OCSP;URI:%s\n' \
	    "$PKI_OCSP_URL" >"$P/ghost.ext" &&
	    openssl req -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 \
	    -noenc -subj /CN=ghost.test -keyout "$P/ghost.key" \
	    -out "$P/ghost.csr" 2>/dev/null &&
	    openssl x509 -req -in "$P/ghost.csr" -CA "$P/int.pem" \
	    -CAkey "$P/int.key" -set_serial 0x7777 -days 30 \
	    -extfile "$P/ghost.ext" -extensions e -out "$P/ghost.pem" \
	    2>/dev/null &&
	    cat "$P/ghost.pem" "$P/int.pem" >"$P/ghost.chain.pem"
}

# forge OUT THIS NEXT: a response about mx1 signed by the delegated
# responder, thisUpdate and nextUpdate THIS and NEXT seconds from now
# ("none": no nextUpdate), with python3-cryptography's OCSP builder.
forge() {
	/usr/bin/python3 - "$P" "$@" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
d, out, this, nxt = sys.argv[1:5]
ld = lambda n: x509.load_pem_x509_certificate(open("%s/%s.pem" % (d, n), "rb").read())
key = serialization.load_pem_private_key(open(d + "/ocsp.key", "rb").read(), None)
now = datetime.datetime.utcnow().replace(microsecond=0)
b = ocsp.OCSPResponseBuilder().add_response(
    cert=ld("mx1"), issuer=ld("int"), algorithm=hashes.SHA1(),
    cert_status=ocsp.OCSPCertStatus.GOOD,
    this_update=now + datetime.timedelta(seconds=int(this)),
    next_update=None if nxt == "none" else now + datetime.timedelta(seconds=int(nxt)),
    revocation_time=None, revocation_reason=None,
).responder_id(ocsp.OCSPResponderEncoding.HASH, ld("ocsp")).certificates([ld("ocsp")])
open(out, "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
PY
}

pki_make "$P" 2>setup.err &&
    pki_leaf mx1 "DNS:mx1.test" 2>>setup.err &&
    pki_leaf mx2 "DNS:mx2.test" rsa 2>>setup.err &&
    pki_leaf doomed "DNS:doomed.test" 2>>setup.err &&
    pki_leaf noaia "DNS:noaia.test" ec 30 none 2>>setup.err &&
    PKI_ISSUER=other pki_leaf stranger "DNS:stranger.test" 2>>setup.err &&
    ghost_leaf 2>>setup.err &&
    pki_revoke doomed superseded 2>>setup.err
setuprc=$?
# The responders: the first takes the AIA port and signs as the delegated
# responder ocsp.pem; byca signs with the CA's own key.
pki_ocsp_start good 2>>setup.err &&
    pki_ocsp_start byca int 2>>setup.err &&
    pki_ocsp_start nonext ocsp nonext 2>>setup.err &&
    pki_ocsp_start short ocsp-short -ndays 2 2>>setup.err &&
    pki_ocsp_start expired ocsp-expired 2>>setup.err &&
    pki_ocsp_start wrong other 2>>setup.err
ocsprc=$?
/usr/bin/python3 fakehttp.py "$FAKE_DIR" "$FAKE_DIR/log" "$FAKE_DIR/port" \
    >"$FAKE_DIR/out" 2>&1 </dev/null &
fakepid=$!
at_exit proc_stop $fakepid
n=0
while [ ! -s "$FAKE_DIR/port" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
FAKE_URL=http://127.0.0.1:$(cat "$FAKE_DIR/port" 2>/dev/null)/
GOOD_LOG=$PKI_OCSP_LOG_good

test_expect_success 'setup: PKI, responders and the fake HTTP server' '
	cat setup.err &&
	[ $setuprc = 0 ] && [ $ocsprc = 0 ] && [ -s "$FAKE_DIR/port" ] &&
	[ "$PKI_OCSP_URL_good" = "$PKI_OCSP_URL" ]
'

############################################################ verdicts
test_expect_success 'good: fetched from the AIA URL, written, exit 0' '
	run good -c "$P/mx1.chain.pem" -O mx1.der &&
	rc_is good 0 &&
	grep -q "^$P/mx1.chain.pem: good, fetched from $PKI_OCSP_URL; next update 20[0-9-]*T[0-9:]*Z$" good.out &&
	[ ! -s good.err ] && [ -s mx1.der ]
'

test_expect_success 'the written file verifies with openssl ocsp -respin' '
	verify_der mx1.der mx1 && grep -q "mx1.pem: good" mx1.der.txt &&
	grep -q "Next Update:" mx1.der.txt
'

test_expect_success 'written atomically: no temporary file left, mode 0644' '
	[ "$(stat -c %a mx1.der)" = 644 ] &&
	! ls -a | grep -q "^\.mx1\.der\."
'

test_expect_success 'a small request goes by GET (RFC 5019) with a Host header' '
	tail -n 1 "$GOOD_LOG" >last &&
	grep -q "^GET host=127.0.0.1:$PKI_OCSP_PORT bytes=[0-9]* answered$" last
'

test_expect_success 'RSA leaf, and the issuer given with -i' '
	run rsa -c "$P/mx2.pem" -i "$P/int.pem" -O mx2.der -o kv &&
	rc_is rsa 0 && kv rsa cert_status good && kv rsa ocsp_action fetched &&
	verify_der mx2.der mx2
'

test_expect_success 'revoked: written (it is the truth), exit 1, reason and time' '
	run rev -c "$P/doomed.chain.pem" -O doomed.der -o kv &&
	rc_is rev 1 &&
	kv rev cert_status revoked && kv rev revocation_reason superseded &&
	kv rev ocsp_action fetched &&
	[ -n "$(kvget revocation_time rev.out)" ] &&
	grep -q "REVOKED: superseded; replace the certificate" rev.err &&
	verify_der doomed.der doomed && grep -q "doomed.pem: revoked" doomed.der.txt
'

test_expect_success 'revoked, text: the status line says so' '
	run revt -c "$P/doomed.chain.pem" -O doomed.der --force &&
	rc_is revt 1 &&
	grep -q "doomed.chain.pem: revoked (20[^,]*Z, superseded), fetched from" revt.out
'

test_expect_success 'unknown (a certificate the responder does not know): exit 2, not written' '
	run unk -c "$P/ghost.chain.pem" -O ghost.der -o kv &&
	rc_is unk 2 && kv unk cert_status unknown && kv unk ocsp_action kept &&
	kvget ocsp_error unk.out | grep -q "does not know the certificate" &&
	[ ! -e ghost.der ]
'

test_expect_success 'unknown keeps the old file as it was' '
	printf "old proof" >ghost.der && cp ghost.der ghost.before &&
	run unk2 -c "$P/ghost.chain.pem" -O ghost.der &&
	rc_is unk2 2 && cmp ghost.der ghost.before
'

test_expect_success 'a certificate of another CA: the signer is not its issuer, 69' '
	run str -c "$P/stranger.pem" -i "$P/other.pem" -O stranger.der -o kv &&
	rc_is str 69 && kv str ocsp_action kept &&
	kvget ocsp_error str.out | grep -q "neither the issuer nor a certificate the issuer issued" &&
	[ ! -e stranger.der ]
'

test_expect_success 'a responder signing with another CA key: refused, 69' '
	run wrong -c "$P/mx1.chain.pem" -O wrong.der -u "$PKI_OCSP_URL_wrong" &&
	rc_is wrong 69 && [ ! -e wrong.der ]
'

############################################################ URLs
test_expect_success 'no AIA OCSP URL: exit 3 with a clear message' '
	run noaia -c "$P/noaia.chain.pem" -O noaia.der &&
	rc_is noaia 3 &&
	grep -q "no OCSP responder URL in the certificate" noaia.err &&
	grep -q "give -u URL" noaia.err && [ ! -e noaia.der ]
'

test_expect_success '-u overrides (and supplies) the URL' '
	run nou -c "$P/noaia.chain.pem" -O noaia.der -u "$PKI_OCSP_URL_byca" -o kv &&
	rc_is nou 0 && kv nou ocsp_url "$PKI_OCSP_URL_byca" &&
	kv nou cert_status good && verify_der noaia.der noaia
'

test_expect_success 'a chain file as -c: the issuer comes from it' '
	run ch -c "$P/mx1.chain.pem" -O ch.der --force -o kv &&
	rc_is ch 0 && kv ch cert_status good
'

test_expect_success 'a lone certificate without -i: 65, says to give -i' '
	run lone -c "$P/mx1.pem" -O lone.der &&
	rc_is lone 65 && grep -q "give -i ISSUER" lone.err && [ ! -e lone.der ]
'

test_expect_success 'an -i that did not issue the certificate: 65' '
	run badi -c "$P/mx1.pem" -i "$P/other.pem" -O badi.der &&
	rc_is badi 65 && grep -q "did not issue" badi.err
'

############################################################ signers
test_expect_success 'delegated responder (id-kp-OCSPSigning, issued by the CA)' '
	run del -c "$P/mx1.chain.pem" -O del.der -v &&
	rc_is del 0 &&
	grep -q "responder: CN=mxkit Test OCSP Signer (delegated)" del.out
'

test_expect_success 'a response signed by the CA itself' '
	run ca -c "$P/mx1.chain.pem" -O ca.der -u "$PKI_OCSP_URL_byca" -v &&
	rc_is ca 0 &&
	grep -q "responder: CN=mxkit Test Issuing CA (the issuer)" ca.out &&
	verify_der ca.der mx1
'

cp mx1.der mx1.good
test_expect_success 'no nextUpdate: refused, the old file kept byte for byte' '
	run nn -c "$P/mx1.chain.pem" -O mx1.der -u "$PKI_OCSP_URL_nonext" --force &&
	rc_is nn 69 && grep -q "no nextUpdate" nn.err &&
	cmp mx1.der mx1.good
'

test_expect_success 'responder certificate expiring before nextUpdate: refused, old kept' '
	run short -c "$P/mx1.chain.pem" -O mx1.der -u "$PKI_OCSP_URL_short" --force &&
	rc_is short 69 &&
	grep -q "responder certificate expires at .*, before nextUpdate" short.err &&
	cmp mx1.der mx1.good
'

test_expect_success 'an expired responder certificate: refused, old kept' '
	run rexp -c "$P/mx1.chain.pem" -O mx1.der -u "$PKI_OCSP_URL_expired" --force &&
	rc_is rexp 69 && grep -q "responder certificate expired" rexp.err &&
	cmp mx1.der mx1.good
'

now=$(date +%s)
test_expect_success 'an answer whose nextUpdate has passed (--now 3 days on): refused' '
	run stale -c "$P/mx1.chain.pem" -O mx1.der --force --now $((now + 3 * 86400)) &&
	rc_is stale 69 && grep -q "expired: nextUpdate .* has passed" stale.err &&
	cmp mx1.der mx1.good
'

test_expect_success 'thisUpdate in the future (--now an hour back): refused' '
	run fut -c "$P/mx1.chain.pem" -O mx1.der --force --now $((now - 3600)) &&
	rc_is fut 69 && grep -q "thisUpdate .* is in the future" fut.err &&
	cmp mx1.der mx1.good
'

if forge forged-good.der -60 86400 2>forge.err &&
    forge forged-future.der 86400 172800 2>>forge.err &&
    forge forged-nonext.der -60 none 2>>forge.err; then
	test_expect_success 'forged (python3-cryptography): a good one is taken' '
		fake_mode static "$TEST_DIR/forged-good.der" &&
		run fg -c "$P/mx1.chain.pem" -O forged.der -u "$FAKE_URL" &&
		rc_is fg 0 && cmp forged.der forged-good.der
	'
	test_expect_success 'forged: thisUpdate a day ahead is refused, old kept' '
		fake_mode static "$TEST_DIR/forged-future.der" &&
		run ff -c "$P/mx1.chain.pem" -O forged.der -u "$FAKE_URL" --force &&
		rc_is ff 69 && grep -q "thisUpdate .* is in the future" ff.err &&
		cmp forged.der forged-good.der
	'
	test_expect_success 'forged: no nextUpdate is refused, old kept' '
		fake_mode static "$TEST_DIR/forged-nonext.der" &&
		run fn -c "$P/mx1.chain.pem" -O forged.der -u "$FAKE_URL" --force &&
		rc_is fn 69 && grep -q "no nextUpdate" fn.err &&
		cmp forged.der forged-good.der
	'
else
	sed 's/^/# /' forge.err
	test_skip 'forged responses' 'python3-cryptography cannot build OCSP responses'
fi

############################################################ transport
test_expect_success 'responder down: 75 within the timeout, old file byte-identical' '
	start=$(date +%s) &&
	run down -c "$P/mx1.chain.pem" -O mx1.der -u "$PKI_OCSP_DOWN_URL" --force --timeout 2 -o kv &&
	end=$(date +%s) &&
	rc_is down 75 && kv down ocsp_action kept &&
	kvget ocsp_error down.out | grep -q "responder unreachable" &&
	[ $((end - start)) -le 5 ] && cmp mx1.der mx1.good &&
	kv down cert_status good
'

test_expect_success 'a responder that never answers: 75 after --timeout' '
	fake_mode hang &&
	start=$(date +%s) &&
	run hang -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force --timeout 1 &&
	end=$(date +%s) &&
	rc_is hang 75 && [ $((end - start)) -le 4 ] && cmp mx1.der mx1.good
'

test_expect_success 'garbage instead of HTTP: 69, old kept' '
	fake_mode raw &&
	run raw -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force &&
	rc_is raw 69 && grep -q "garbage" raw.err && cmp mx1.der mx1.good
'

test_expect_success 'HTTP 200 with HTML: 69, old kept' '
	fake_mode text &&
	run html -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force &&
	rc_is html 69 && grep -q "not DER" html.err && cmp mx1.der mx1.good
'

test_expect_success 'HTTP 404: 69; HTTP 503: 75 (try later); old kept' '
	fake_mode status 404 &&
	run s404 -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force &&
	rc_is s404 69 && grep -q "HTTP 404" s404.err &&
	fake_mode status 503 &&
	run s503 -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force &&
	rc_is s503 75 && grep -q "HTTP 503" s503.err && cmp mx1.der mx1.good
'

test_expect_success 'OCSP malformedRequest from the responder: 69, old kept' '
	printf "\060\003\012\001\001" >malformed.der &&
	fake_mode static "$TEST_DIR/malformed.der" &&
	run mal -c "$P/mx1.chain.pem" -O mx1.der -u "$FAKE_URL" --force &&
	rc_is mal 69 && grep -q "responder said malformedRequest" mal.err &&
	cmp mx1.der mx1.good
'

test_expect_success 'a long responder URL makes the request a POST' '
	long=$(printf "%0200d" 0) &&
	before=$(requests "$GOOD_LOG") &&
	run post -c "$P/mx1.chain.pem" -O post.der -u "$PKI_OCSP_URL$long/" &&
	rc_is post 0 &&
	[ $(requests "$GOOD_LOG") = $((before + 1)) ] &&
	tail -n 1 "$GOOD_LOG" | grep -q "^POST host=127.0.0.1:$PKI_OCSP_PORT bytes=[0-9]* answered$"
'

test_expect_success '--post always POSTs' '
	run post2 -c "$P/mx1.chain.pem" -O post.der --force --post &&
	rc_is post2 0 && tail -n 1 "$GOOD_LOG" | grep -q "^POST "
'

test_expect_success 'http_proxy: the request goes through the proxy' '
	export http_proxy="$FAKE_URL" &&
	run prox -c "$P/mx1.chain.pem" -O prox.der -o kv &&
	rc_is prox 0 && kv prox cert_status good &&
	grep -q "^PROXY GET ${PKI_OCSP_URL}M" "$FAKE_DIR/log"
'

test_expect_success 'no_proxy: a listed host is asked directly' '
	before=$(grep -c "^PROXY" "$FAKE_DIR/log") &&
	export http_proxy="$FAKE_URL" no_proxy=127.0.0.1 &&
	run noprox -c "$P/mx1.chain.pem" -O prox.der --force &&
	rc_is noprox 0 &&
	[ "$(grep -c "^PROXY" "$FAKE_DIR/log")" = "$before" ]
'

############################################################ host names
# Responder and proxy names are looked up with lib/dns, never by OpenSSL
# (getaddrinfo): pki.test is known only to the NSD started here, not to
# the system resolver, and offline.test only to a --dns-zone file.
unset http_proxy HTTP_PROXY no_proxy NO_PROXY
dns_zone_begin pki.test pki.test.zone
cat >>pki.test.zone <<'EOF'
ocsp	IN A 127.0.0.1
ocsp	IN AAAA ::1
alias	IN CNAME ocsp
proxy	IN A 127.0.0.1
noaddr	IN TXT "a name without an address"
v6	IN AAAA ::1
both	IN A 127.0.0.1
both	IN AAAA ::1
EOF
dns_zone_begin offline.test offline.zone
printf 'ocsp\tIN A 127.0.0.1\n' >>offline.zone
dns_rig_start pki.test=pki.test.zone 2>dnsrig.err
dnsrc=$?
dns_rig_blackhole 2>>dnsrig.err
bhrc=$?
NAME_URL=http://ocsp.pki.test:$PKI_OCSP_PORT/
FAKE_PORT=$(cat "$FAKE_DIR/port" 2>/dev/null)

test_expect_success 'setup: NSD serves pki.test; the system resolver does not know it' '
	cat dnsrig.err && [ $dnsrc = 0 ] && [ $bhrc = 0 ] &&
	[ "${MXKIT_RESOLVER:-}" = "127.0.0.1:$DNS_RIG_PORT" ] &&
	! timeout 10 getent ahosts ocsp.pki.test >/dev/null 2>&1
'

test_expect_success 'a responder NAME (MXKIT_RESOLVER): fetched, Host: NAME:PORT' '
	before=$(requests "$GOOD_LOG") &&
	run name -c "$P/mx1.chain.pem" -O name.der -u "$NAME_URL" -o kv -v &&
	rc_is name 0 && kv name ocsp_action fetched && kv name ocsp_url "$NAME_URL" &&
	[ $(requests "$GOOD_LOG") = $((before + 1)) ] &&
	tail -n 1 "$GOOD_LOG" | grep -q "^GET host=ocsp.pki.test:$PKI_OCSP_PORT bytes=[0-9]* answered$" &&
	grep -q "bytes by GET from 127.0.0.1:$PKI_OCSP_PORT$" name.err &&
	verify_der name.der mx1
'
cp name.der name.good

test_expect_success '--resolver, a CNAME, and a POST to a NAME' '
	(unset MXKIT_RESOLVER &&
	    run namep -c "$P/mx1.chain.pem" -O name.der --force --post \
	    --resolver "127.0.0.1:$DNS_RIG_PORT" \
	    -u "http://alias.pki.test:$PKI_OCSP_PORT/") &&
	rc_is namep 0 &&
	tail -n 1 "$GOOD_LOG" | grep -q "^POST host=alias.pki.test:$PKI_OCSP_PORT bytes=[0-9]* answered$"
'
cp name.der name.good

test_expect_success 'without our resolver the name is not found (no other lookup): old kept' '
	(unset MXKIT_RESOLVER &&
	    run nores -c "$P/mx1.chain.pem" -O name.der --force \
	    --dns-timeout 300 -u "$NAME_URL") &&
	{ rc_is nores 69 || rc_is nores 75; } &&
	grep -q "responder ocsp.pki.test: " nores.err && cmp name.der name.good
'

test_expect_success 'a NAME that does not exist: 69, "no such host", old kept' '
	run nx -c "$P/mx1.chain.pem" -O name.der --force -o kv \
	    -u "http://nosuch.pki.test:$PKI_OCSP_PORT/" &&
	rc_is nx 69 && kv nx ocsp_action kept && kv nx cert_status good &&
	kvget ocsp_error nx.out | grep -q "responder nosuch.pki.test: no such host$" &&
	grep -q "responder nosuch.pki.test: no such host$" nx.err &&
	cmp name.der name.good
'

test_expect_success 'a NAME without A or AAAA (NODATA): 69, old kept' '
	run nod -c "$P/mx1.chain.pem" -O name.der --force \
	    -u "http://noaddr.pki.test:$PKI_OCSP_PORT/" &&
	rc_is nod 69 &&
	grep -q "responder noaddr.pki.test: no such host (no A or AAAA record)$" nod.err &&
	cmp name.der name.good
'

test_expect_success 'a resolver that never answers: 75 (try later), old file byte-identical' '
	start=$(date +%s) &&
	run bh -c "$P/mx1.chain.pem" -O name.der --force -u "$NAME_URL" \
	    --resolver "$DNS_BLACKHOLE" --dns-timeout 300 -o kv &&
	end=$(date +%s) &&
	rc_is bh 75 && kv bh ocsp_action kept && kv bh cert_status good &&
	kvget ocsp_error bh.out | grep -q "responder ocsp.pki.test: DNS lookup failed" &&
	[ $((end - start)) -le 8 ] && cmp name.der name.good
'

test_expect_success '--dns-zone FILE: the name from the file, no DNS server at all' '
	(unset MXKIT_RESOLVER &&
	    run zone -c "$P/mx1.chain.pem" -O zone.der --dns-zone offline.zone \
	    --resolver "$DNS_BLACKHOLE" --dns-timeout 300 -o kv \
	    -u "http://ocsp.offline.test:$PKI_OCSP_PORT/" &&
	    run zonenx -c "$P/mx1.chain.pem" -O zone.der --force \
	    --dns-zone offline.zone --resolver "$DNS_BLACKHOLE" \
	    -u "http://nosuch.offline.test:$PKI_OCSP_PORT/") &&
	rc_is zone 0 && kv zone ocsp_action fetched && verify_der zone.der mx1 &&
	tail -n 1 "$GOOD_LOG" | grep -q "^GET host=ocsp.offline.test:$PKI_OCSP_PORT " &&
	rc_is zonenx 69 && grep -q "no such host" zonenx.err
'

test_expect_success 'a --dns-zone that cannot be read: 66 before any request' '
	before=$(requests "$GOOD_LOG") &&
	run zmiss -c "$P/mx1.chain.pem" -O name.der --force -u "$NAME_URL" \
	    --dns-zone nosuch.zone &&
	rc_is zmiss 66 && [ $(requests "$GOOD_LOG") = "$before" ] &&
	cmp name.der name.good
'

test_expect_success '--check needs no DNS: an unreadable --dns-zone is not even read' '
	run zchk -c "$P/mx1.chain.pem" -O name.der --check --dns-zone nosuch.zone &&
	rc_is zchk 0
'

test_expect_success 'http_proxy by NAME: looked up; the request line names the responder' '
	before=$(grep -c "^PROXY" "$FAKE_DIR/log") &&
	(export http_proxy="http://proxy.pki.test:$FAKE_PORT/" &&
	    run pname -c "$P/mx1.chain.pem" -O pname.der -u "$NAME_URL" -o kv) &&
	rc_is pname 0 && kv pname cert_status good &&
	[ "$(grep -c "^PROXY" "$FAKE_DIR/log")" = $((before + 1)) ] &&
	tail -n 1 "$FAKE_DIR/log" | grep -q "^PROXY GET ${NAME_URL}M" &&
	tail -n 1 "$GOOD_LOG" | grep -q "^GET host=ocsp.pki.test:$PKI_OCSP_PORT "
'

test_expect_success 'no_proxy lists the NAME: asked directly' '
	before=$(grep -c "^PROXY" "$FAKE_DIR/log") &&
	(export http_proxy="http://proxy.pki.test:$FAKE_PORT/" \
	    no_proxy="example.org, ocsp.pki.test" &&
	    run pnop -c "$P/mx1.chain.pem" -O pname.der --force -u "$NAME_URL") &&
	rc_is pnop 0 &&
	[ "$(grep -c "^PROXY" "$FAKE_DIR/log")" = "$before" ]
'

test_expect_success 'a proxy NAME that does not exist: 69, old kept' '
	(export http_proxy="http://noproxy.pki.test:$FAKE_PORT/" &&
	    run pnx -c "$P/mx1.chain.pem" -O name.der --force -u "$NAME_URL") &&
	rc_is pnx 69 && grep -q "proxy noproxy.pki.test: no such host$" pnx.err &&
	cmp name.der name.good
'

test_expect_success 'a redirected GET is followed, the new NAME looked up with lib/dns' '
	fake_mode redirect "http://ocsp.pki.test:$PKI_OCSP_PORT" &&
	run redir -c "$P/mx1.chain.pem" -O redir.der -u "$FAKE_URL" -o kv &&
	rc_is redir 0 && kv redir ocsp_action fetched && verify_der redir.der mx1 &&
	tail -n 1 "$GOOD_LOG" | grep -q "^GET host=ocsp.pki.test:$PKI_OCSP_PORT "
'

test_expect_success 'redirected to https, or in a loop: 69, old kept' '
	fake_mode redirect "https://ocsp.pki.test" &&
	run rhttps -c "$P/mx1.chain.pem" -O name.der --force -u "$FAKE_URL" &&
	rc_is rhttps 69 && grep -q "redirects to a URL we do not follow" rhttps.err &&
	fake_mode redirect "${FAKE_URL%/}" &&
	run rloop -c "$P/mx1.chain.pem" -O name.der --force -u "$FAKE_URL" &&
	rc_is rloop 69 && grep -q "redirects more than 5 times" rloop.err &&
	cmp name.der name.good
'

# The same fake server on ::1, when this host has IPv6 loopback.
F6=$TEST_DIR/fake6
mkdir -p "$F6"
echo "static $TEST_DIR/mx1.good" >"$F6/mode"
/usr/bin/python3 fakehttp.py "$F6" "$F6/log" "$F6/port" ::1 \
    >"$F6/out" 2>&1 </dev/null &
fake6pid=$!
at_exit proc_stop $fake6pid
n=0
while [ ! -s "$F6/port" ] && [ $n -lt 30 ] && proc_alive $fake6pid; do
	sleep 0.1; n=$((n + 1))
done
if [ -s "$F6/port" ]; then
	P6=$(cat "$F6/port")
	test_expect_success 'a NAME with only AAAA: the IPv6 address, in brackets' '
		run v6 -c "$P/mx1.chain.pem" -O v6.der -u "http://v6.pki.test:$P6/" -v &&
		rc_is v6 0 && cmp v6.der mx1.good &&
		grep -q "bytes by GET from \[::1\]:$P6$" v6.err &&
		tail -n 1 "$F6/log" | grep -q "^GET [0-9]* host=v6.pki.test:$P6$"
	'
	test_expect_success 'A refused, then AAAA: the next address is tried' '
		start=$(date +%s) &&
		run both -c "$P/mx1.chain.pem" -O both.der --timeout 4 -v \
		    -u "http://both.pki.test:$P6/" &&
		end=$(date +%s) &&
		rc_is both 0 && cmp both.der mx1.good &&
		grep -q "bytes by GET from \[::1\]:$P6$" both.err &&
		[ $((end - start)) -le 5 ]
	'
	test_expect_success 'an IPv6 literal URL: Host: [::1]:PORT, no lookup' '
		run v6l -c "$P/mx1.chain.pem" -O v6l.der -u "http://[::1]:$P6/" \
		    --resolver "$DNS_BLACKHOLE" &&
		rc_is v6l 0 && cmp v6l.der mx1.good &&
		tail -n 1 "$F6/log" | grep -q "^GET [0-9]* host=\[::1\]:$P6$"
	'
else
	sed 's/^/# /' "$F6/out"
	test_skip 'IPv6 responders' 'no IPv6 loopback here'
fi
proc_stop $fake6pid
dns_rig_blackhole_stop

############################################################ nonce
test_expect_success '--nonce: the responder echoes it, accepted' '
	run nonce -c "$P/mx1.chain.pem" -O nonce.der --nonce -o kv &&
	rc_is nonce 0 && kv nonce ocsp_action fetched &&
	openssl ocsp -respin nonce.der -resp_text -noverify 2>/dev/null |
	    grep -q "OCSP Nonce"
'

test_expect_success '--nonce: a replayed answer (no nonce) is refused, old kept' '
	fake_mode static "$TEST_DIR/mx1.good" &&
	cp nonce.der nonce.before &&
	run replay -c "$P/mx1.chain.pem" -O nonce.der --nonce --force -u "$FAKE_URL" &&
	rc_is replay 69 && grep -q "does not echo our nonce" replay.err &&
	cmp nonce.der nonce.before
'

test_expect_success 'without --nonce the same replay is a valid proof' '
	run replay2 -c "$P/mx1.chain.pem" -O replay.der -u "$FAKE_URL" &&
	rc_is replay2 0 && cmp replay.der mx1.good
'

############################################################ refreshing
test_expect_success 'fresh: nothing fetched, exit 0' '
	before=$(requests "$GOOD_LOG") &&
	run fresh -c "$P/mx1.chain.pem" -O mx1.der -o kv &&
	rc_is fresh 0 && kv fresh ocsp_action fresh && kv fresh cert_status good &&
	[ $(requests "$GOOD_LOG") = "$before" ] && cmp mx1.der mx1.good
'

test_expect_success '--force fetches anyway' '
	before=$(requests "$GOOD_LOG") &&
	run force -c "$P/mx1.chain.pem" -O mx1.der --force -o kv &&
	rc_is force 0 && kv force ocsp_action fetched &&
	[ $(requests "$GOOD_LOG") = $((before + 1)) ]
'

test_expect_success '--refresh-before: 1h and 10% wait, 2d and 100% fetch' '
	before=$(requests "$GOOD_LOG") &&
	run rb1 -c "$P/mx1.chain.pem" -O mx1.der --refresh-before 1h -o kv &&
	kv rb1 ocsp_action fresh &&
	run rb2 -c "$P/mx1.chain.pem" -O mx1.der --refresh-before 10% -o kv &&
	kv rb2 ocsp_action fresh &&
	[ $(requests "$GOOD_LOG") = "$before" ] &&
	run rb3 -c "$P/mx1.chain.pem" -O mx1.der --refresh-before 2d -o kv &&
	kv rb3 ocsp_action fetched &&
	run rb4 -c "$P/mx1.chain.pem" -O mx1.der --refresh-before 100% -o kv &&
	kv rb4 ocsp_action fetched &&
	[ $(requests "$GOOD_LOG") = $((before + 2)) ]
'

test_expect_success 'within the default 10% of nextUpdate (--now 23 h on): fetched' '
	run late -c "$P/mx1.chain.pem" -O mx1.der --now $((now + 23 * 3600)) -o kv &&
	rc_is late 0 && kv late ocsp_action fetched
'

test_expect_success 'a stale or broken old file is replaced' '
	printf "junk" >junk.der &&
	run junk -c "$P/mx1.chain.pem" -O junk.der -o kv &&
	rc_is junk 0 && kv junk ocsp_action fetched && verify_der junk.der mx1
'

test_expect_success '--check: the file is verified, no request' '
	before=$(requests "$GOOD_LOG") &&
	run chk -c "$P/mx1.chain.pem" -O mx1.der --check -o kv &&
	rc_is chk 0 && kv chk ocsp_action checked && kv chk cert_status good &&
	[ $(requests "$GOOD_LOG") = "$before" ]
'

test_expect_success '--check: stale (69), revoked (1), missing (66), broken (69)' '
	run chk2 -c "$P/mx1.chain.pem" -O mx1.der --check --now $((now + 3 * 86400)) &&
	rc_is chk2 69 && grep -q "expired" chk2.err &&
	run chk3 -c "$P/doomed.chain.pem" -O doomed.der --check &&
	rc_is chk3 1 &&
	run chk4 -c "$P/mx1.chain.pem" -O nothere.der --check &&
	rc_is chk4 66 &&
	printf "x" >broken.der &&
	run chk6 -c "$P/mx1.chain.pem" -O broken.der --check &&
	rc_is chk6 69 && grep -q "not an OCSP response" chk6.err
'

test_expect_success '--check on another certificate'"'"'s proof: 69 (CertID)' '
	run chk7 -c "$P/mx2.chain.pem" -O mx1.der --check &&
	rc_is chk7 69 && grep -q "CertID mismatch" chk7.err
'

############################################################ files
test_expect_success '--with-chain: the issuing CA, PEM, not the root' '
	cat "$P/mx1.pem" "$P/int.pem" "$P/root.pem" >full.pem &&
	run wc -c full.pem -O wc.der --with-chain wc.pem &&
	rc_is wc 0 &&
	openssl x509 -in "$P/int.pem" >want.pem && cmp wc.pem want.pem
'

test_expect_success '--with-chain with -i: the issuer; rewritten when it differs' '
	printf "stale chain" >wc2.pem &&
	run wc2 -c "$P/mx1.pem" -i "$P/int.pem" -O wc.der --with-chain wc2.pem &&
	rc_is wc2 0 && cmp wc2.pem want.pem
'

test_expect_success 'a symlinked OUT: the target is replaced, the link stays' '
	mkdir -p live && printf "old" >live/target.der &&
	ln -sf live/target.der link.der &&
	run link -c "$P/mx1.chain.pem" -O link.der &&
	rc_is link 0 && [ -L link.der ] && verify_der live/target.der mx1
'

test_expect_success 'the old file mode is kept' '
	chmod 640 mx1.der &&
	run mode -c "$P/mx1.chain.pem" -O mx1.der --force &&
	rc_is mode 0 && [ "$(stat -c %a mx1.der)" = 640 ]
'

test_expect_success 'an OUT in a directory that does not exist: 74' '
	run nodir -c "$P/mx1.chain.pem" -O no/such/dir.der &&
	rc_is nodir 74 && grep -q "cannot write" nodir.err
'

############################################################ output
test_expect_success 'kv: every variable, in order, eval-safe' '
	run kvall -c "$P/doomed.chain.pem" -O doomed.der --force -o kv &&
	sed "s/=.*//" kvall.out | tr "\n" " " >names &&
	[ "$(cat names)" = "ocsp_cert ocsp_file ocsp_url ocsp_action cert_status this_update next_update responder revocation_time revocation_reason ocsp_error " ] &&
	kv kvall ocsp_file doomed.der &&
	kv kvall responder "CN=mxkit Test OCSP Signer"
'

test_expect_success 'json: one object, the same keys, ISO 8601 UTC times' '
	run js -c "$P/mx1.chain.pem" -O mx1.der -o json &&
	/usr/bin/python3 -c "
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert list(o) == [\"ocsp_cert\", \"ocsp_file\", \"ocsp_url\", \"ocsp_action\",
    \"cert_status\", \"this_update\", \"next_update\", \"responder\",
    \"revocation_time\", \"revocation_reason\", \"ocsp_error\"], list(o)
assert o[\"cert_status\"] == \"good\" and o[\"ocsp_action\"] == \"fresh\", o
for k in (\"this_update\", \"next_update\"):
    assert re.fullmatch(r\"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\", o[k]), o[k]
" js.out
'

test_expect_success 'several -c/-O pairs: one record each, the worst exit' '
	run many -c "$P/mx1.chain.pem" -O mx1.der \
	    -c "$P/ghost.chain.pem" -O ghost.der \
	    -c "$P/doomed.chain.pem" -O doomed.der -o json &&
	rc_is many 2 && [ $(wc -l <many.out) = 3 ] &&
	sed -n 1p many.out | grep -q "\"cert_status\":\"good\"" &&
	sed -n 2p many.out | grep -q "\"cert_status\":\"unknown\"" &&
	sed -n 3p many.out | grep -q "\"cert_status\":\"revoked\""
'

test_expect_success 'several pairs, kv: records apart by an empty line' '
	run manykv -c "$P/mx1.chain.pem" -O mx1.der -c "$P/mx2.chain.pem" \
	    -O mx2.der -u "$PKI_OCSP_URL_byca" -o kv &&
	rc_is manykv 0 && [ $(grep -c "^$" manykv.out) = 2 ] &&
	[ $(grep -c "^ocsp_cert=" manykv.out) = 2 ]
'

############################################################ usage
test_expect_success 'usage errors: 64' '
	run u1 -O x.der && rc_is u1 64 &&
	run u2 -c "$P/mx1.pem" && rc_is u2 64 &&
	run u3 -c "$P/mx1.pem" -O x.der -u https://ocsp.example/ && rc_is u3 64 &&
	grep -q "https is not supported" u3.err &&
	run u4 -c "$P/mx1.pem" -O x.der --refresh-before 3x && rc_is u4 64 &&
	run u5 -c "$P/mx1.pem" -O x.der --check --force && rc_is u5 64 &&
	run u6 -c a -O x.der -c b -O x.der && rc_is u6 64 &&
	run u7 -c a -O x.der -O y.der && rc_is u7 64 &&
	run u8 -c a -O x.der extra && rc_is u8 64 &&
	[ ! -e x.der ]
'

test_expect_success 'a missing certificate file: 66' '
	run miss -c nosuch.pem -O x.der && rc_is miss 66 &&
	grep -q "nosuch.pem: No such file" miss.err
'

test_expect_success '-h and -V' '
	ocsp-fetch -h | grep -q "^usage: ocsp-fetch" &&
	ocsp-fetch -V | grep -q "^ocsp-fetch (mxkit) "
'

pki_ocsp_stop
proc_stop $fakepid
test_done
