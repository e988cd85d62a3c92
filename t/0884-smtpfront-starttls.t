#!/bin/sh
# smtpfront's STARTTLS (RFC 3207) end to end, through real clients: swaks
# --pipe --tls on stdin mode, and on a loopback listener openssl s_client
# -starttls smtp and tlschat (below: pyOpenSSL, for the staple's bytes and
# for exact command timing).  The test PKI is t/rig/pki.sh's; stapling
# files come from ocsp-fetch and a real `openssl ocsp` responder, the stale
# one from python3-cryptography (as in t/0840).  Covered: the EHLO
# advertisement, Received: and the <= log line, the hooks' tls_in_*
# variables, RSA and ECDSA pairs together, %{sni} certificate sets, OCSP
# files re-read per connection (fresh, stale, replaced, foreign, missing),
# the RFC 3207 4.2 state reset, the STARTTLS command injection
# (CVE-2011-0411), --require-tls, --tls-min-version, --tls-ciphers,
# --tls-ciphersuites, and clients that fail the handshake or say nothing
# (--tls-timeout) while the listener goes on serving.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"
require_bin smtpfront ocsp-fetch
for _b in openssl swaks; do
	command -v "$_b" >/dev/null 2>&1 || skip_all "$_b is not installed"
done
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null ||
    skip_all "python3-openssl is not installed"
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

P=$TEST_DIR/pki		# the PKI
C=$TEST_DIR/certs	# per-name files for %{sni}
O=$TEST_DIR/ocsp	# stapling files of the fixed pairs
M=$TEST_DIR/Maildir
mkdir -p "$C" "$O" "$M"

############################################################ the client
cat >tlschat.py <<'PY'
"""tlschat: a scripted SMTP client that can STARTTLS (pyOpenSSL), for
t/0884: the staple it got, the certificate, and what the server answers
after STARTTLS (the RFC 3207 state, the CVE-2011-0411 injection).

usage: tlschat.py [--sni NAME] [--status FILE] [--rsa] [--timeout S]
                  (--connect HOST:PORT | --exec CMD...) SCRIPT

SCRIPT lines: "> TEXT" (sent with CRLF), ">> TEXT" (as it is; escapes
\\r \\n \\xHH), "< TEXT" (one reply, its last line starting so: "250",
"530 5.7.0"), "<eof" (the
server closes; whatever it sends first is printed), "starttls"
(STARTTLS, 220, the handshake), "starttls-inject TEXT" (STARTTLS CRLF and
TEXT in one write, then one reply: a 220 is followed by the handshake,
anything else is printed and the script goes on), "quiet SECS" (nothing at
all arrives within SECS), "sleep SECS".
Printed: "-> line", "<- line", "tls VERSION CIPHER", "cert SHA256-HEX"
(of the leaf's DER), "staple N" / "staple none" (with --status, which
asks for one and writes it to FILE), "early <- line" (what arrived
unasked, for quiet).  --rsa: TLS 1.2 and ECDHE-RSA only, so the server
must send its RSA certificate.
Exit 0: every check held; 1: one did not; 3: timeout or connection error.
"""
import hashlib
import select
import signal
import socket
import subprocess
import sys
import time

from OpenSSL import SSL, crypto


class Fail(Exception):
    pass


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "\\": b"\\"}.get(
                n, b"\\" + n.encode())
            i += 2
            continue
        out += s[i].encode()
        i += 1
    return bytes(out)


class Chat:
    def __init__(self, sock, timeout, sni, status, rsa):
        self.sock = sock
        self.timeout = timeout
        self.sni = sni
        self.status = status
        self.rsa = rsa
        self.tls = None
        self.buf = b""
        self.staple = None

    def raw_recv(self, wait):
        if self.tls is not None and self.tls.pending():
            return self.tls.recv(65536)
        r, _, _ = select.select([self.sock], [], [], wait)
        if not r:
            raise socket.timeout("timed out")
        signal.alarm(int(self.timeout) + 1)	# a record cut short
        try:
            if self.tls is not None:
                return self.tls.recv(65536)
            return self.sock.recv(65536)
        except (SSL.ZeroReturnError, ConnectionResetError):
            return b""
        except SSL.SysCallError as e:
            if e.args[0] in (-1, 104):
                return b""
            raise
        finally:
            signal.alarm(0)

    def send(self, b):
        for line in b.split(b"\n"):
            if line:
                print("->", line.decode("utf-8", "replace").rstrip("\r"))
        if self.tls is not None:
            self.tls.sendall(b)
        else:
            self.sock.sendall(b)

    def line(self, wait=None):
        while b"\n" not in self.buf:
            d = self.raw_recv(self.timeout if wait is None else wait)
            if not d:
                return None
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """One reply: its last line, or None at EOF."""
        last = None
        while True:
            l = self.line()
            if l is None:
                return last
            print("<-", l)
            last = l
            if len(l) < 4 or l[3] != "-":
                return last

    def handshake(self):
        if self.buf:
            raise Fail("plaintext after the 220: %r" % self.buf)
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
        if self.rsa:
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
            ctx.set_cipher_list(b"ECDHE-RSA-AES128-GCM-SHA256")
        if self.status:
            def got(conn, data, arg):
                self.staple = data
                return True
            ctx.set_ocsp_client_callback(got)
        t = SSL.Connection(ctx, self.sock)
        t.set_connect_state()
        if self.sni:
            t.set_tlsext_host_name(self.sni.encode())
        if self.status:
            t.request_ocsp()
        signal.alarm(int(self.timeout) + 1)
        try:
            t.do_handshake()
        finally:
            signal.alarm(0)
        self.tls = t
        print("tls", t.get_protocol_version_name(), t.get_cipher_name())
        der = crypto.dump_certificate(crypto.FILETYPE_ASN1,
                                      t.get_peer_certificate())
        print("cert", hashlib.sha256(der).hexdigest())
        if self.status:
            if self.staple:
                with open(self.status, "wb") as f:
                    f.write(self.staple)
                print("staple", len(self.staple))
            else:
                print("staple none")

    def starttls(self, extra=b""):
        self.send(b"STARTTLS\r\n" + extra)
        last = self.reply()
        if last is not None and last.startswith("220"):
            self.handshake()
        elif not extra:
            raise Fail("STARTTLS answered %s" % last)

    def quiet(self, secs):
        try:
            d = self.raw_recv(secs)
        except socket.timeout:
            print("quiet", secs)
            return
        if not d:
            print("quiet: closed")	# the next read sees EOF again
            return
        for l in d.decode("utf-8", "replace").splitlines():
            print("early <-", l)
        raise Fail("something arrived within %s s" % secs)

    def eof(self):
        while True:
            l = self.line()
            if l is None:
                print("<eof")
                return
            print("<-", l)


def on_alarm(sig, frame):
    raise socket.timeout("timed out")


def main(argv):
    timeout, sni, status, rsa = 10.0, None, None, False
    i = 1
    while i < len(argv) and argv[i] in ("--timeout", "--sni", "--status",
                                        "--rsa"):
        if argv[i] == "--rsa":
            rsa = True
            i += 1
            continue
        if argv[i] == "--timeout":
            timeout = float(argv[i + 1])
        elif argv[i] == "--sni":
            sni = argv[i + 1]
        else:
            status = argv[i + 1]
        i += 2
    if i + 2 > len(argv) or argv[i] not in ("--connect", "--exec"):
        print(__doc__, file=sys.stderr)
        return 2
    script = argv[-1]
    signal.signal(signal.SIGALRM, on_alarm)
    proc = None
    sock = None
    rc = 0
    try:
        if argv[i] == "--connect":
            host, port = argv[i + 1].rsplit(":", 1)
            sock = socket.create_connection((host.strip("[]"), int(port)),
                                            timeout)
            sock.settimeout(None)	# select and alarm bound the waits
        else:
            sock, theirs = socket.socketpair()
            proc = subprocess.Popen(argv[i + 1:-1], stdin=theirs,
                                    stdout=theirs)
            theirs.close()
        c = Chat(sock, timeout, sni, status, rsa)
        with open(script, encoding="utf-8") as f:
            steps = f.read().splitlines()
        for n, s in enumerate(steps, 1):
            if not s.strip() or s.startswith("#"):
                continue
            if s.startswith(">> "):
                c.send(unescape(s[3:]))
            elif s.startswith("> ") or s == ">":
                c.send(unescape(s[2:]) + b"\r\n")
            elif s.startswith("< "):
                want = s[2:].strip()
                last = c.reply()
                if last is None or not last.startswith(want):
                    raise Fail("line %d: got %s, wanted %s" % (n, last, want))
            elif s == "<eof":
                c.eof()
            elif s == "starttls":
                c.starttls()
            elif s.startswith("starttls-inject "):
                c.starttls(unescape(s[16:]))
            elif s.startswith("quiet "):
                c.quiet(float(s[6:]))
            elif s.startswith("sleep "):
                time.sleep(float(s[6:]))
            else:
                print("tlschat: line %d: bad step: %s" % (n, s))
                return 2
    except Fail as e:
        print("tlschat:", e)
        rc = 1
    except (socket.timeout, TimeoutError):
        print("tlschat: timed out")
        rc = 3
    except (OSError, SSL.Error) as e:
        print("tlschat: %s" % (e,))
        rc = 3
    if sock is not None:
        sock.close()
    if proc is not None:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
PY

# tc NAME [OPTION...] TARGET...: tlschat with the script NAME.chat;
# transcript NAME.out, exit status NAME.rc.
tc() {
	_n=$1
	shift
	timeout 60 /usr/bin/python3 "$TEST_DIR/tlschat.py" "$@" "$_n.chat" \
	    >"$_n.out" 2>&1
	echo $? >"$_n.rc"
	return 0
}

# ok NAME: the tlschat run NAME exited 0; shows its transcript otherwise.
ok() {
	[ "$(cat "$1.rc")" = 0 ] && return 0
	echo "tlschat $1 exited $(cat "$1.rc"):" >&2
	sed 's/^/  /' "$1.out" >&2
	return 1
}

# fp CERT: the SHA-256 of CERT's DER (what tlschat prints as "cert").
fp() {
	openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -r |
	    cut -d' ' -f1
}

# sc NAME PORT [ARG...]: openssl s_client -starttls smtp, bounded, in
# NAME.sc; the leaf it got in NAME.leaf.
sc() {
	_n=$1 _p=$2
	shift 2
	timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$_p" \
	    -showcerts "$@" </dev/null >"$_n.sc" 2>&1
	sed -n '/BEGIN CERT/,/END CERT/{p;/END CERT/q}' "$_n.sc" >"$_n.leaf"
	return 0
}

# got NAME CERT: s_client run NAME was served CERT.
got() {
	[ -s "$1.leaf" ] && [ "$(fp "$1.leaf")" = "$(fp "$2")" ] && return 0
	echo "$1: not served $2:" >&2
	sed 's/^/  /' "$1.sc" >&2
	return 1
}

# await FILE PATTERN: FILE has a line matching PATTERN within 5 s (a log
# line the server writes after the client has seen the connection end).
await() {
	_ai=0
	while ! grep -q "$2" "$1" && [ $_ai -lt 50 ]; do
		sleep 0.1
		_ai=$((_ai + 1))
	done
	grep -q "$2" "$1" && return 0
	echo "$1: no '$2' within 5 s:" >&2
	sed 's/^/  /' "$1" >&2
	return 1
}

# envis NAME VALUE: the last data hook saw NAME=VALUE.
envis() {
	_v=$(sed -n "s/^$1=//p" "$TEST_DIR/hookenv")
	[ "$_v" = "$2" ] && return 0
	echo "hook env: $1='$_v', wanted '$2'" >&2
	return 1
}

# The data hook: its whole environment, for envis.
cat >dump <<EOF
#!/bin/sh
env | LC_ALL=C sort >"$TEST_DIR/hookenv.tmp" &&
    mv "$TEST_DIR/hookenv.tmp" "$TEST_DIR/hookenv"
exit 0
EOF
chmod +x dump

FRONT="smtpfront --hostname mx.test --deliver maildir:$M --hook-data $TEST_DIR/dump"

# front_start NAME ARG...: smtpfront --listen on a free loopback port with
# ARGs; its log in NAME.log; FRONT_PORT, FRONT_PID; stopped at exit.
front_start() {
	_fn=$1
	shift
	FRONT_PORT=$(free_port)
	$FRONT --listen "127.0.0.1:$FRONT_PORT" "$@" >"$_fn.log" 2>&1 \
	    </dev/null &
	FRONT_PID=$!
	at_exit "proc_stop $FRONT_PID"
	_fi=0
	while ! grep -q "listening on 127.0.0.1:$FRONT_PORT" "$_fn.log" &&
	    [ $_fi -lt 100 ] && proc_alive "$FRONT_PID"; do
		sleep 0.1
		_fi=$((_fi + 1))
	done
	grep -q "listening on" "$_fn.log" && return 0
	echo "front_start $_fn: did not start" >&2
	sed 's/^/  /' "$_fn.log" >&2
	return 1
}

# forge OUT THIS NEXT CERT: a good response about CERT (under int), signed
# by the delegated responder, thisUpdate and nextUpdate THIS and NEXT
# seconds from now.
forge() {
	/usr/bin/python3 - "$P" "$@" <<'PY'
import datetime, sys
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
d, out, this, nxt, cert = sys.argv[1:6]
ld = lambda n: x509.load_pem_x509_certificate(open("%s/%s.pem" % (d, n), "rb").read())
key = serialization.load_pem_private_key(open(d + "/ocsp.key", "rb").read(), None)
now = datetime.datetime.utcnow().replace(microsecond=0)
b = ocsp.OCSPResponseBuilder().add_response(
    cert=ld(cert), issuer=ld("int"), algorithm=hashes.SHA1(),
    cert_status=ocsp.OCSPCertStatus.GOOD,
    this_update=now + datetime.timedelta(seconds=int(this)),
    next_update=now + datetime.timedelta(seconds=int(nxt)),
    revocation_time=None, revocation_reason=None,
).responder_id(ocsp.OCSPResponderEncoding.HASH, ld("ocsp")).certificates([ld("ocsp")])
open(out, "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
PY
}

############################################################ the PKI
pki_make "$P" 2>setup.err &&
    pki_leaf mx "DNS:mx.test" ec 2>>setup.err &&
    pki_leaf mxr "DNS:mx.test" rsa 2>>setup.err &&
    pki_leaf alt "DNS:alt.test" ec 2>>setup.err &&
    pki_leaf alt2 "DNS:alt.test" ec 2>>setup.err &&
    pki_leaf mx2 "DNS:mx.test" ec 2>>setup.err &&
    pki_ocsp_start main 2>>setup.err
setuprc=$?
for _c in mx alt; do
	cp "$P/$_c.chain.pem" "$C/$_c.test.chain.pem" 2>/dev/null
	cp "$P/$_c.key" "$C/$_c.test.key" 2>/dev/null
done

test_expect_success 'setup: PKI, responder, stapling files (fresh and stale)' '
	cat setup.err && [ $setuprc = 0 ] &&
	ocsp-fetch -c "$P/mx.chain.pem" -O "$O/mx.der" \
	    -c "$P/mxr.chain.pem" -O "$O/mxr.der" \
	    -c "$C/mx.test.chain.pem" -O "$C/mx.test.der" \
	    -c "$C/alt.test.chain.pem" -O "$C/alt.test.der" &&
	cp "$O/mx.der" "$TEST_DIR/mx-fresh.der" &&
	forge "$TEST_DIR/mx-stale.der" -172800 -86400 mx 2>forge.err &&
	openssl ocsp -respin "$TEST_DIR/mx-stale.der" -issuer "$P/int.pem" \
	    -cert "$P/mx.pem" -CAfile "$P/root.pem" >stale.txt 2>&1 &&
	grep -q "Response verify OK" stale.txt &&
	grep -q "^good\$" stale.txt && grep -q "status expired" stale.txt ||
	    { cat forge.err stale.txt; false; }
'

############################################################ stdin mode, swaks
PAIR_EC="--tls-certificate $P/mx.chain.pem --tls-privatekey $P/mx.key"
PAIR_RSA="--tls-certificate $P/mxr.chain.pem --tls-privatekey $P/mxr.key"

# sw NAME "SMTPFRONT-ARGS" [SWAKS-ARG...]: swaks --pipe --tls into
# smtpfront on fds 0/1 (with the EC pair and SMTPFRONT-ARGS, split on
# blanks) as if from 192.0.2.7:4567; NAME.sw, NAME.err (the server's log).
sw() {
	_n=$1 _srv=$2
	shift 2
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4567 TCPLOCALIP=127.0.0.1 \
	    TCPLOCALPORT=25 timeout 60 swaks --pipe "$FRONT $PAIR_EC $_srv" \
	    --from c@d.test --to a@b.test --helo client.test --tls "$@" \
	    >"$_n.sw" 2>"$_n.err"
}

test_expect_success 'swaks --tls: STARTTLS advertised before, not after; esmtps' '
	rm -rf "$M" && mkdir "$M" &&
	sw plain "" --tls-sni mx.test --header "Subject: tls one" &&
	grep -q "^<-  250-STARTTLS" plain.sw &&
	! grep -q "^<~ .*STARTTLS" plain.sw &&
	grep -q "^<~  250 2.0.0 OK id=" plain.sw &&
	f=$(grep -l "^Subject: tls one" "$M"/new/*) &&
	sed -n "1,/^\$/p" "$f" >hdr &&
	grep "^Received:" hdr | head -1 |
	    grep -q "^Received: from client.test (\[192.0.2.7\]:4567)\$" &&
	grep -q "^	by mx.test (mxkit smtpfront) with esmtps\$" hdr &&
	grep -Eq "^	\(using TLSv1\.3 with cipher TLS_[A-Z0-9_]+ \(256/256 bits\)\)\$" hdr
'

test_expect_success 'the <= log line: P=esmtps X=TLS1.3:...:256' '
	grep -Eq " <= c@d\.test H=\(client\.test\) \[192\.0\.2\.7\]:4567 P=esmtps X=TLS1\.3:TLS_[A-Z0-9_]+:256 S=[0-9]+ id=" plain.err ||
	    { cat plain.err; false; }
'

test_expect_success 'the data hook sees tls_in_cipher, _ver, _sni, _ocsp' '
	x=$(sed -n "s/.* X=\([^ ]*\) .*/\1/p" plain.err) && [ -n "$x" ] &&
	envis tls_in_cipher "$x" && envis tls_in_ver TLSv1.3 &&
	envis tls_in_sni mx.test && envis tls_in_ocsp 0 &&
	envis tls_in_peerdn ""
'

test_expect_success 'swaks without SNI: tls_in_sni empty' '
	sw nosni "" --header "Subject: tls two" && envis tls_in_sni "" &&
	grep -q "^<~  250 2.0.0 OK id=" nosni.sw
'

test_expect_success 'TLS 1.2 (swaks -tlsp tlsv1_2): X=TLS1.2:cipher:bits' '
	sw t12 "" --tls-protocol tlsv1_2 &&
	grep -Eq " P=esmtps X=TLS1\.2:ECDHE-ECDSA-[A-Z0-9-]+:(128|256) " t12.err &&
	envis tls_in_ver TLSv1.2 ||
	    { cat t12.err; false; }
'

test_expect_success '--tls-ciphersuites chooses the TLS 1.3 suite' '
	sw suite "--tls-ciphersuites TLS_CHACHA20_POLY1305_SHA256" &&
	grep -q " X=TLS1\.3:TLS_CHACHA20_POLY1305_SHA256:256 " suite.err &&
	grep -q "with cipher TLS_CHACHA20_POLY1305_SHA256 (256/256 bits)" \
	    "$(ls -t "$M"/new/* | head -1)"
'

test_expect_success '--tls-ciphers chooses the TLS 1.2 cipher' '
	sw ciph "--tls-ciphers ECDHE-ECDSA-AES128-GCM-SHA256" \
	    --tls-protocol tlsv1_2 &&
	grep -q " X=TLS1\.2:ECDHE-ECDSA-AES128-GCM-SHA256:128 " ciph.err ||
	    { cat ciph.err; false; }
'

test_expect_success '--tls-min-version 1.3: a TLS 1.2 client fails the handshake' '
	! sw min "--tls-min-version 1.3" --tls-protocol tlsv1_2 &&
	await min.err "TLS error on connection from H=(client.test) \[192.0.2.7\]:4567: handshake failed" &&
	! grep -q " <= " min.err
'

cat >cleartext.chat <<'EOF'
< 220
> EHLO client.test
< 250
> MAIL FROM:<c@d.test>
< 250
> RCPT TO:<a@b.test>
< 250
> DATA
< 354
> Subject: cleartext
>
> body
> .
< 250
> QUIT
< 221
<eof
EOF
test_expect_success 'offered but not used: esmtp, no X=, no tls_in_* for the hooks' '
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4567 tc cleartext --exec \
	    $FRONT $PAIR_EC && ok cleartext &&
	grep -q "^<- 250-STARTTLS" cleartext.out &&
	f=$(grep -l "^Subject: cleartext" "$M"/new/*) &&
	grep -q "^	by mx.test (mxkit smtpfront) with esmtp\$" "$f" &&
	! grep -q "using TLS" "$f" &&
	grep -q " <= c@d.test .* P=esmtp S=" cleartext.out &&
	! grep -q "^tls_in_" hookenv
'

cat >reqtls.chat <<'EOF'
< 220
> EHLO client.test
< 250
> MAIL FROM:<c@d.test>
< 530 5.7.0
> RCPT TO:<a@b.test>
< 503
starttls
> EHLO client.test
< 250
> MAIL FROM:<c@d.test>
< 250
> RCPT TO:<a@b.test>
< 250
> DATA
< 354
> Subject: required
>
> body
> .
< 250
> QUIT
< 221
<eof
EOF
test_expect_success '--require-tls: MAIL before STARTTLS is 530 5.7.0, after it 250' '
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4567 tc reqtls --exec \
	    $FRONT $PAIR_EC --require-tls && ok reqtls &&
	grep -q "^<- 530 5.7.0 Must issue a STARTTLS command first\$" reqtls.out &&
	grep -l "^Subject: required" "$M"/new/* >/dev/null &&
	envis tls_in_ver TLSv1.3
'

test_expect_success 'swaks --tls with --require-tls delivers' '
	sw req --require-tls --header "Subject: req swaks" &&
	grep -l "^Subject: req swaks" "$M"/new/* >/dev/null
'

############################################################ the listener
front_start main $PAIR_EC $PAIR_RSA --tls-timeout 2 2>start.err
mainrc=$?
MAIN=$FRONT_PORT MAIN_PID=$FRONT_PID

test_expect_success 'the listener comes up with an ECDSA and an RSA pair' '
	cat start.err && [ $mainrc = 0 ]
'

test_expect_success 'a client for ECDSA signatures only gets the EC certificate' '
	sc ec "$MAIN" -sigalgs ECDSA+SHA256 && got ec "$P/mx.pem" &&
	grep -q "Peer signature type: ECDSA" ec.sc
'

test_expect_success 'a client for RSA signatures only gets the RSA certificate' '
	sc rsa "$MAIN" -sigalgs RSA-PSS+SHA256:RSA+SHA256 &&
	got rsa "$P/mxr.pem" && grep -q "Server public key is 2048 bit" rsa.sc &&
	sc rsa12 "$MAIN" -tls1_2 -sigalgs RSA+SHA256 && got rsa12 "$P/mxr.pem" &&
	grep -q "Protocol  *: TLSv1.2" rsa12.sc
'

cat >state.chat <<'EOF'
< 220
> EHLO pre.test
< 250
> MAIL FROM:<c@d.test>
< 250
starttls
> RCPT TO:<a@b.test>
< 503
> MAIL FROM:<c@d.test>
< 503 5.5.1
> EHLO post.test
< 250
> STARTTLS
< 554
> QUIT
< 221
<eof
EOF
test_expect_success 'RFC 3207 4.2: after STARTTLS the EHLO and the sender are forgotten' '
	tc state --connect "127.0.0.1:$MAIN" && ok state &&
	grep -q "^<- 503 5.5.1 sender not yet given\$" state.out &&
	grep -q "^<- 503 5.5.1 HELO or EHLO required\$" state.out &&
	sed -n "/^tls /,\$p" state.out >after &&
	grep -q "^<- 250-mx.test Hello post.test" after &&
	[ "$(grep -c "^<- 250-STARTTLS" state.out)" = 1 ] &&
	! sed -n "/^-> EHLO post.test/,/^-> STARTTLS/p" state.out |
	    grep -q "^<- 250-STARTTLS" &&
	grep -q "^<- 554 5.5.1 Already in TLS" after
'

# CVE-2011-0411: a command after STARTTLS in the same packet must never be
# answered inside TLS.  smtpfront refuses a pipelined STARTTLS (RFC 2920
# 3.1: it ends a group) with a synchronization error and closes.
cat >inject.chat <<'EOF'
< 220
> EHLO pre.test
< 250
starttls-inject RSET\r\n
quiet 1
<eof
EOF
cat >injecthelo.chat <<'EOF'
< 220
> HELO pre.test
< 250
starttls-inject MAIL FROM:<evil@x.test>\r\nRSET\r\n
<eof
EOF
test_expect_success 'STARTTLS command injection: refused, nothing answered after' '
	tc inject --connect "127.0.0.1:$MAIN" &&
	tc injecthelo --connect "127.0.0.1:$MAIN" &&
	for n in inject injecthelo; do
		ok $n &&
		sed -n "/^-> STARTTLS/,\$p" $n.out >$n.after &&
		grep -q "^<- 554 5.5.0 SMTP synchronization error\$" $n.after &&
		! grep -q "^tls \|^early\|^<- 2\|^<- 3\|^<- 4" $n.after &&
		[ "$(grep -c "^<- " $n.after)" = 1 ] &&
		tail -1 $n.after | grep -q "^<eof" || return 1
	done &&
	grep -q "SMTP protocol synchronization error (next input sent too soon): rejected \"STARTTLS\" next input=\"RSET" main.log &&
	grep -q "rejected \"STARTTLS\" next input=\"MAIL FROM:<evil@x.test>" main.log
'

cat >garbage.chat <<'EOF'
< 220
> EHLO pre.test
< 250
> STARTTLS
< 220
> this is not a TLS record, only words
<eof
EOF
test_expect_success 'garbage instead of a ClientHello: the session ends, logged' '
	tc garbage --connect "127.0.0.1:$MAIN" && ok garbage &&
	await main.log "TLS error on connection from H=(pre.test) \[127.0.0.1\]:[0-9]*: handshake failed: "
'

cat >silent.chat <<'EOF'
< 220
> EHLO pre.test
< 250
> STARTTLS
< 220
<eof
EOF
test_expect_success '--tls-timeout 2: a client silent after STARTTLS is dropped in ~2 s' '
	t0=$(date +%s%N) &&
	tc silent --timeout 20 --connect "127.0.0.1:$MAIN" && ok silent &&
	t1=$(date +%s%N) && ms=$(( (t1 - t0) / 1000000 )) &&
	echo "dropped after $ms ms" &&
	[ $ms -ge 1500 ] && [ $ms -lt 8000 ] &&
	await main.log "TLS error on connection from H=(pre.test) \[127.0.0.1\]:[0-9]*: handshake timed out"
'

test_expect_success 'the listener still serves after all that' '
	proc_alive $MAIN_PID &&
	sc after "$MAIN" -sigalgs ECDSA+SHA256 && got after "$P/mx.pem" &&
	grep -q "^New, TLSv1.3, Cipher is " after.sc
'

############################################################ %{sni}
front_start sni --tls-certificate "$C/%{sni}.chain.pem" \
    --tls-privatekey "$C/%{sni}.key" --tls-ocsp-file "$C/%{sni}.der" \
    $PAIR_RSA 2>start.err
snirc=$?
SNI=$FRONT_PORT

test_expect_success '%{sni}: the listener comes up (the default is --hostname'"'"'s files)' '
	cat start.err && [ $snirc = 0 ]
'

test_expect_success '%{sni}: -servername alt.test gets alt.test'"'"'s certificate' '
	sc salt "$SNI" -servername alt.test -sigalgs ECDSA+SHA256 &&
	got salt "$P/alt.pem" &&
	sc scase "$SNI" -servername ALT.Test -sigalgs ECDSA+SHA256 &&
	got scase "$P/alt.pem"
'

test_expect_success '%{sni}: an unknown name and no name get the default (mx.test)' '
	sc sunk "$SNI" -servername unknown.test -sigalgs ECDSA+SHA256 &&
	got sunk "$P/mx.pem" &&
	sc snone "$SNI" -noservername -sigalgs ECDSA+SHA256 &&
	got snone "$P/mx.pem"
'

test_expect_success '%{sni}: a fixed RSA pair is served to RSA clients under any name' '
	sc srsa "$SNI" -servername alt.test -sigalgs RSA-PSS+SHA256:RSA+SHA256 &&
	got srsa "$P/mxr.pem"
'

cat >sni.chat <<'EOF'
< 220
> EHLO pre.test
< 250
starttls
> EHLO post.test
< 250
> MAIL FROM:<c@d.test>
< 250
> RCPT TO:<a@b.test>
< 250
> DATA
< 354
> Subject: sni
>
> body
> .
< 250
> QUIT
< 221
EOF
test_expect_success '%{sni}: per-name staple; tls_in_sni is the name as sent' '
	cp sni.chat sni1.chat &&
	tc sni1 --sni ALT.Test --status sni1.der --connect "127.0.0.1:$SNI" &&
	ok sni1 && grep -q "^cert $(fp "$P/alt.pem")\$" sni1.out &&
	cmp sni1.der "$C/alt.test.der" &&
	envis tls_in_sni ALT.Test && envis tls_in_ocsp 2
'

test_expect_success '%{sni}: a name that is a path (../pki/alt) gets the default' '
	cp sni.chat sni2.chat &&
	tc sni2 --sni ../pki/alt --status sni2.der --connect "127.0.0.1:$SNI" &&
	ok sni2 && grep -q "^cert $(fp "$P/mx.pem")\$" sni2.out &&
	cmp sni2.der "$C/mx.test.der" && envis tls_in_sni ../pki/alt
'

test_expect_success '%{sni}: a name whose set lacks a file (the key) gets the default' '
	cp "$P/alt.chain.pem" "$C/half.test.chain.pem" &&
	sc shalf "$SNI" -servername half.test -sigalgs ECDSA+SHA256 &&
	got shalf "$P/mx.pem"
'

# replace SRC DST: DST becomes a copy of SRC by rename (what an ACME
# client's deploy step does).
replace() {
	cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
}

test_expect_success '%{sni}: a per-name certificate replaced on disk: the next connection has it' '
	replace "$P/alt2.chain.pem" "$C/alt.test.chain.pem" &&
	replace "$P/alt2.key" "$C/alt.test.key" &&
	sc salt2 "$SNI" -servername alt.test -sigalgs ECDSA+SHA256 &&
	got salt2 "$P/alt2.pem"
'

test_expect_success '%{sni}: the default certificate replaced on disk: the next connection has it' '
	replace "$P/mx2.chain.pem" "$C/mx.test.chain.pem" &&
	replace "$P/mx2.key" "$C/mx.test.key" &&
	sc smx2 "$SNI" -servername unknown.test -sigalgs ECDSA+SHA256 &&
	got smx2 "$P/mx2.pem" &&
	sc smx2b "$SNI" -noservername -status -sigalgs ECDSA+SHA256 &&
	got smx2b "$P/mx2.pem" &&
	grep -q "OCSP response: no response sent" smx2b.sc
'

############################################################ OCSP
front_start ocsp $PAIR_EC --tls-ocsp-file "$O/mx.der" \
    $PAIR_RSA --tls-ocsp-file "$O/mxr.der" 2>start.err
ocsprc=$?
OC=$FRONT_PORT

# status NAME: s_client -status against the OCSP listener (EC certificate).
status() {
	sc "$1" "$OC" -status -sigalgs ECDSA+SHA256
}

# staple NAME [OPTION...]: tlschat --status NAME.der, a whole message.
staple() {
	_n=$1
	shift
	cp sni.chat "$_n.chat" &&
	    tc "$_n" --status "$_n.der" "$@" --connect "127.0.0.1:$OC" &&
	    ok "$_n"
}

test_expect_success 'OCSP: a fresh file is stapled (s_client -status: good)' '
	cat start.err && [ $ocsprc = 0 ] &&
	status o1 && grep -q "OCSP Response Status: successful" o1.sc &&
	grep -q "Cert Status: good" o1.sc || { cat o1.sc; false; }
'

test_expect_success 'OCSP: the staple is the file, byte for byte; tls_in_ocsp=2' '
	staple o2 && grep -q "^staple [0-9]" o2.out &&
	cmp o2.der "$O/mx.der" && envis tls_in_ocsp 2
'

test_expect_success 'OCSP: each pair staples its own file (RSA client: mxr.der)' '
	staple o3 --rsa && grep -q "^cert $(fp "$P/mxr.pem")\$" o3.out &&
	cmp o3.der "$O/mxr.der"
'

test_expect_success 'OCSP: not asked, nothing sent; tls_in_ocsp=0' '
	cp sni.chat o4.chat && tc o4 --connect "127.0.0.1:$OC" && ok o4 &&
	envis tls_in_ocsp 0
'

test_expect_success 'OCSP: a stale file (nextUpdate past) is not stapled; tls_in_ocsp=1' '
	cp mx-stale.der "$O/mx.tmp" && mv "$O/mx.tmp" "$O/mx.der" &&
	status o5 && grep -q "OCSP response: no response sent" o5.sc &&
	staple o6 && grep -q "^staple none\$" o6.out && envis tls_in_ocsp 1
'

test_expect_success 'OCSP: the file replaced between two connections: the new one' '
	ocsp-fetch -c "$P/mx.chain.pem" -O "$O/mx.der" &&
	staple o7 && cmp o7.der "$O/mx.der" && cp "$O/mx.der" first.der &&
	ocsp-fetch --force -c "$P/mx.chain.pem" -O "$O/mx.der" &&
	! cmp -s first.der "$O/mx.der" &&
	staple o8 && cmp o8.der "$O/mx.der" &&
	status o9 && grep -q "Cert Status: good" o9.sc
'

test_expect_success 'OCSP: another certificate'"'"'s response is not stapled' '
	cp "$C/alt.test.der" "$O/mx.tmp" && mv "$O/mx.tmp" "$O/mx.der" &&
	staple o10 && grep -q "^staple none\$" o10.out
'

test_expect_success 'OCSP: a missing file: no staple, the session goes on' '
	rm -f "$O/mx.der" && staple o11 && grep -q "^staple none\$" o11.out &&
	envis tls_in_ocsp 1 &&
	cp mx-fresh.der "$O/mx.der" && staple o12 && cmp o12.der mx-fresh.der
'

test_expect_success 'OCSP: a revoked response is stapled as it is (the client decides)' '
	pki_revoke mx 2>&1 &&
	expect_status 1 ocsp-fetch --force -c "$P/mx.chain.pem" -O "$O/mx.der" &&
	status o13 && grep -q "Cert Status: revoked" o13.sc &&
	staple o14 && cmp o14.der "$O/mx.der"
'

############################################################ start-up errors
# bad NAME STATUS PATTERN ARG...: smtpfront ARG... exits STATUS at once,
# saying PATTERN on stderr.
bad() {
	_n=$1 _st=$2 _pat=$3
	shift 3
	timeout 20 $FRONT "$@" </dev/null >"$_n.bad" 2>&1
	_got=$?
	[ $_got = "$_st" ] && grep -q -- "$_pat" "$_n.bad" && return 0
	echo "$_n: exit $_got (wanted $_st), stderr:" >&2
	sed 's/^/  /' "$_n.bad" >&2
	return 1
}

test_expect_success 'start-up: files that do not load are fatal (66), misuse 64' '
	bad b1 66 "TLS: $TEST_DIR/nope.pem: No such file" \
	    --tls-certificate "$TEST_DIR/nope.pem" &&
	bad b2 66 "TLS: $P/alt.key: " \
	    --tls-certificate "$P/mx.chain.pem" --tls-privatekey "$P/alt.key" &&
	bad b2r 66 "TLS: $P/mxr.key: " \
	    --tls-certificate "$P/mx.chain.pem" --tls-privatekey "$P/mxr.key" &&
	bad b3 66 "a second certificate of key type" $PAIR_EC \
	    --tls-certificate "$P/alt.chain.pem" --tls-privatekey "$P/alt.key" &&
	bad b4 64 "needs a --tls-certificate before it" \
	    --tls-privatekey "$P/mx.key" $PAIR_EC &&
	bad b5 64 "needs a --tls-certificate before it" \
	    --tls-ocsp-file "$O/mx.der" $PAIR_EC &&
	bad b6 66 "ciphers \"NOSUCHCIPHER\"" $PAIR_EC \
	    --tls-ciphers NOSUCHCIPHER &&
	bad b7 64 "not a TLS version" $PAIR_EC --tls-min-version 1.4 &&
	bad b8 66 "TLS: $TEST_DIR/mx.test.chain.pem: No such file" \
	    --hostname mx.test --tls-certificate "$TEST_DIR/%{sni}.chain.pem"
'

test_expect_success 'without a certificate: no STARTTLS offered, 502 when asked' '
	printf "%s\n" "< 220" "> EHLO client.test" "< 250" "> STARTTLS" \
	    "< 502 5.5.1" "> QUIT" "< 221" "<eof" >notls.chat &&
	tc notls --exec $FRONT && ok notls &&
	! grep -q STARTTLS.*250 notls.out && ! grep -q "^<- 250-STARTTLS" notls.out
'

############################################################ tls:cert
cat >ev <<EOF
#!/bin/sh
echo "\$event_name \$event_data \$tls_in_peercert_subject" >>"$TEST_DIR/events"
[ "\$event_name" = tls:cert ] && [ -e "$TEST_DIR/refuse" ] && exit 1
exit 0
EOF
chmod +x ev

test_expect_success 'tls:cert: an event per client certificate (swaks sends the leaf), before the rest of the session' '
	pki_leaf client "DNS:client.test" ec 2>>setup.err &&
	: >events && rm -f refuse &&
	sw ccert "--tls-request-client-cert --event-hook $TEST_DIR/ev" \
	    --tls-cert "$P/client.chain.pem" --tls-key "$P/client.key" &&
	grep -q "^<~  250 2.0.0 OK id=" ccert.sw &&
	grep "^tls:cert " events >tc &&
	tail -n 1 tc | grep -q "^tls:cert 0 /CN=client.test\$" &&
	grep -n "" events | grep -q "^3:tls:cert " &&
	grep -q "^tls_in_peerdn=/CN=client.test\$" hookenv
'

test_expect_success 'tls:cert: a non-zero status refuses the client' '
	: >events && touch refuse &&
	sw crefuse "--tls-request-client-cert --event-hook $TEST_DIR/ev" \
	    --tls-cert "$P/client.chain.pem" --tls-key "$P/client.key"
	! grep -q "^<~  250 2.0.0 OK id=" crefuse.sw &&
	grep -q "refused by the tls:cert event" crefuse.err
'

test_expect_success 'no server errors or sanitizer reports in the logs' '
	! grep -i "AddressSanitizer\|runtime error\|internal error" \
	    main.log sni.log ocsp.log ./*.err reqtls.out
'

test_done
