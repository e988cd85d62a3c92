#!/bin/sh
# The DANE/OCSP test rig itself: t/rig/dnssec.sh (signed, chained, unsigned
# and bogus zones on NSD; validating and non-validating unbound) and
# t/rig/smtpd.sh (STARTTLS SMTP servers with OCSP stapling), each piece
# proven with stock tools (dig, openssl s_client, python's smtplib).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/rig/dnssec.sh"
. "$TEST_SRC/rig/smtpd.sh"

for _bin in nsd unbound ldns-keygen ldns-signzone dig openssl; do
	command -v "$_bin" >/dev/null 2>&1 ||
	    [ -x "/usr/sbin/$_bin" ] || skip_all "$_bin is not installed"
done
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null ||
    skip_all "python3-openssl is not installed"

# ask PORT NAME TYPE [DIG-OPTION...]: a full dig answer, DO bit set.
ask() {
	_p=$1 _n=$2 _t=$3
	shift 3
	dig +dnssec +time=3 +tries=2 -p "$_p" @127.0.0.1 "$@" "$_n" "$_t"
}

# has_ad FILE / status_is STATUS FILE: read dig's header.
has_ad() {
	case $(sed -n 's/^;; flags:\([^;]*\);.*/\1 /p' "$1") in
	*" ad "*) return 0 ;;
	esac
	return 1
}
status_is() {
	grep -q "^;; ->>HEADER<<-.* status: $1," "$2"
}

# s_client PORT-OR-[::1]:PORT [OPTION...]: a STARTTLS handshake, output.
s_client() {
	_c=$1
	shift
	case $_c in *:*) ;; *) _c=127.0.0.1:$_c ;; esac
	timeout 10 openssl s_client -starttls smtp -connect "$_c" "$@" \
	    </dev/null 2>&1
}

# offers_starttls PORT: does the EHLO answer list STARTTLS?
offers_starttls() {
	/usr/bin/python3 - "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.test")
ok = s.has_extn("starttls")
s.quit()
sys.exit(0 if ok else 1)
PY
}

############################################################ certificates
# Throwaway self-signed certificates (the project's PKI is t/rig/pki.sh).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ec.key -out ec.pem -subj /CN=mx.signed.test \
    -addext subjectAltName=DNS:mx.signed.test -days 2 \
    -set_serial 0x1A01 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem \
    -subj /CN=rsa.signed.test -days 2 -set_serial 0x1A02 2>/dev/null
# A "good" OCSP response for ec.pem, signed by itself (its own issuer),
# made by `openssl ocsp` from a request file: no responder needed.
printf 'V\t%s\t\t1A01\tunknown\t/CN=mx.signed.test\n' \
    "$(date -u -d '+1 day' +%y%m%d%H%M%SZ)" >index.txt
openssl ocsp -issuer ec.pem -cert ec.pem -no_nonce -reqout req.der \
    >/dev/null 2>&1
openssl ocsp -index index.txt -CA ec.pem -rsigner ec.pem -rkey ec.key \
    -reqin req.der -respout ec.ocsp.der -nmin 60 >/dev/null 2>&1
EC_311=$(openssl x509 -in ec.pem -noout -pubkey |
    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)

############################################################ zones
dns_zone_begin child.signed.test child.zone
echo 'host IN A 127.0.0.3' >>child.zone
dnssec_sign_zone --no-anchor --nsec3 child.signed.test child.zone
childrc=$?

dns_zone_begin plain.signed.test plain.zone
echo 'host IN A 127.0.0.4' >>plain.zone

dns_zone_begin signed.test signed.zone
cat >>signed.zone <<EOF
@	IN MX 10 mx
mx	IN A 127.0.0.1
mx	IN AAAA ::1
host	IN A 127.0.0.1
_25._tcp.mx	IN TLSA 3 1 1 $EC_311
child	IN NS ns.signed.test.
plain	IN NS ns.signed.test.
EOF
cat child.zone.ds >>signed.zone
dnssec_sign_zone signed.test signed.zone
signedrc=$?

# Signing again (a record added) keeps the keys, hence the DS and anchor.
cp signed.zone.ds first.ds
echo 'late	IN A 127.0.0.9' >>signed.zone
dnssec_sign_zone signed.test signed.zone
resignrc=$?

dns_zone_begin unsigned.test unsigned.zone
echo 'host IN A 127.0.0.2' >>unsigned.zone

dns_zone_begin bogus.test bogus.zone
cat >>bogus.zone <<EOF
host	IN A 127.0.0.5
_25._tcp.host	IN TLSA 3 1 1 $EC_311
EOF
dnssec_sign_zone_bogus bogus.test bogus.zone
bogusrc=$?

test_expect_success 'dnssec_sign_zone: usage errors' '
	! dnssec_sign_zone signed.test 2>err && grep -q usage err &&
	! dnssec_sign_zone --bogus signed.test signed.zone 2>err &&
	grep -q usage err &&
	! dnssec_sign_zone signed.test missing.zone 2>err && grep -q usage err
'

test_expect_success 'dnssec_sign_zone writes .signed, .ds, .dnskey' '
	[ $childrc = 0 ] && [ $signedrc = 0 ] && [ $bogusrc = 0 ] &&
	grep -q "RRSIG" signed.zone.signed &&
	grep -q "NSEC3" child.zone.signed &&
	grep -q "^signed\\.test\\.[[:space:]].*DS[[:space:]]" signed.zone.ds &&
	grep -q "DNSKEY[[:space:]]*257 " signed.zone.dnskey &&
	grep -q "RRSIG.* 20200201000000 20200101000000 " bogus.zone.signed
'

test_expect_success 'trust anchors: signed and bogus, not the child (DS in parent)' '
	[ $resignrc = 0 ] && cmp first.ds signed.zone.ds &&
	[ $(grep -c "^signed\\.test\\." "$DNSSEC_ANCHORS") = 1 ] &&
	[ -s "$DNSSEC_ANCHORS" ] &&
	grep -q "^signed\\.test\\." "$DNSSEC_ANCHORS" &&
	grep -q "^bogus\\.test\\." "$DNSSEC_ANCHORS" &&
	! grep -q "^child\\." "$DNSSEC_ANCHORS" &&
	grep -q "^child\\.signed\\.test\\..*DS" signed.zone.signed
'

dnssec_rig_start signed.test=signed.zone.signed \
    child.signed.test=child.zone.signed plain.signed.test=plain.zone \
    unsigned.test=unsigned.zone bogus.test=bogus.zone.signed 2>rig.err
rigrc=$?
unbound_start 2>ub.err
ubrc=$?
unbound_start_nonvalidating 2>ubnv.err
ubnvrc=$?

test_expect_success 'NSD and both unbounds come up and export their ports' '
	cat rig.err ub.err ubnv.err &&
	[ $rigrc = 0 ] && [ $ubrc = 0 ] && [ $ubnvrc = 0 ] &&
	[ "$MXKIT_VALIDATING_RESOLVER" = "127.0.0.1:$UNBOUND_PORT" ] &&
	[ "$MXKIT_NONVALIDATING_RESOLVER" = "127.0.0.1:$UNBOUND_NV_PORT" ] &&
	[ "$MXKIT_RESOLVER" = "127.0.0.1:$DNS_RIG_PORT" ] &&
	[ "$UNBOUND_PORT" != "$UNBOUND_NV_PORT" ]
'

test_expect_success 'signed zone: A answer with AD' '
	ask "$UNBOUND_PORT" host.signed.test A >out &&
	status_is NOERROR out && has_ad out &&
	grep -q "^host\\.signed\\.test\\..*A[[:space:]]*127\\.0\\.0\\.1" out &&
	ask "$UNBOUND_PORT" late.signed.test A >out &&
	status_is NOERROR out && has_ad out && grep -q "127\\.0\\.0\\.9" out
'

test_expect_success 'signed zone: TLSA answer with AD' '
	ask "$UNBOUND_PORT" _25._tcp.mx.signed.test TLSA >out &&
	status_is NOERROR out && has_ad out &&
	tr -d " \\t" <out | grep -qi "TLSA311$EC_311"
'

test_expect_success 'signed zone: no TLSA is an authenticated denial (AD)' '
	ask "$UNBOUND_PORT" _25._tcp.host.signed.test TLSA >out &&
	status_is NXDOMAIN out && has_ad out &&
	ask "$UNBOUND_PORT" host.signed.test TLSA >out &&
	status_is NOERROR out && has_ad out && grep -q "ANSWER: 0," out
'

test_expect_success 'chained child zone (NSEC3, DS in the parent): AD' '
	ask "$UNBOUND_PORT" host.child.signed.test A >out &&
	status_is NOERROR out && has_ad out && grep -q "127\\.0\\.0\\.3" out
'

test_expect_success 'unsigned zone and insecure delegation: answer, no AD' '
	ask "$UNBOUND_PORT" host.unsigned.test A >out &&
	status_is NOERROR out && ! has_ad out && grep -q "127\\.0\\.0\\.2" out &&
	ask "$UNBOUND_PORT" host.plain.signed.test A >out &&
	status_is NOERROR out && ! has_ad out && grep -q "127\\.0\\.0\\.4" out
'

test_expect_success 'bogus zone (expired signatures): SERVFAIL, data under +cd' '
	ask "$UNBOUND_PORT" _25._tcp.host.bogus.test TLSA >out &&
	status_is SERVFAIL out &&
	ask "$UNBOUND_PORT" host.bogus.test A +cd >out &&
	status_is NOERROR out && grep -q "127\\.0\\.0\\.5" out &&
	grep -q "signature expired" "$TEST_DIR/unbound/unbound.log"
'

test_expect_success 'non-validating unbound: answers, never AD, bogus passes' '
	ask "$UNBOUND_NV_PORT" host.signed.test A >out &&
	status_is NOERROR out && ! has_ad out &&
	ask "$UNBOUND_NV_PORT" _25._tcp.mx.signed.test TLSA >out &&
	status_is NOERROR out && ! has_ad out &&
	ask "$UNBOUND_NV_PORT" host.bogus.test A >out &&
	status_is NOERROR out && ! has_ad out
'

############################################################ SMTP servers
smtpd_start tls --cert ec.pem --key ec.key --ocsp-der ec.ocsp.der \
    --name mx.signed.test 2>tls.err
tlsrc=$?

test_expect_success 'smtpd: STARTTLS with the certificate and a stapled OCSP response' '
	cat tls.err && [ $tlsrc = 0 ] && [ "$SMTPD_PORT_tls" = "$SMTPD_PORT" ] &&
	offers_starttls "$SMTPD_PORT_tls" &&
	s_client "$SMTPD_PORT_tls" -status -servername mx.signed.test >out &&
	grep -q "subject=CN *= *mx.signed.test" out &&
	grep -q "OCSP Response Status: successful" out &&
	grep -q "Cert Status: good" out &&
	grep -q "^sni mx.signed.test$" "$TEST_DIR/smtpd/tls.log" &&
	grep -q "^staple [1-9]" "$TEST_DIR/smtpd/tls.log"
'

test_expect_success 'smtpd: no staple when the client does not ask' '
	s_client "$SMTPD_PORT_tls" >out &&
	grep -q "subject=CN *= *mx.signed.test" out &&
	! grep -q "OCSP response" out
'

test_expect_success 'smtpd: the staple file is read again at each handshake' '
	: >empty.der &&
	mv ec.ocsp.der ec.ocsp.der.keep && cp empty.der ec.ocsp.der &&
	s_client "$SMTPD_PORT_tls" -status >out;
	mv ec.ocsp.der.keep ec.ocsp.der &&
	grep -q "OCSP response: no response sent" out
'

smtpd_start dual --cert rsa.pem --key rsa.key --cert ec.pem --key ec.key \
    --ocsp-der - --ocsp-der ec.ocsp.der 2>dual.err
dualrc=$?

test_expect_success 'smtpd: RSA and ECDSA certificates, each with its own staple' '
	cat dual.err && [ $dualrc = 0 ] &&
	s_client "$SMTPD_PORT_dual" -status \
	    -sigalgs ecdsa_secp256r1_sha256 >out &&
	grep -q "subject=CN *= *mx.signed.test" out &&
	grep -q "Cert Status: good" out &&
	s_client "$SMTPD_PORT_dual" -status -sigalgs rsa_pss_rsae_sha256 >out &&
	grep -q "subject=CN *= *rsa.signed.test" out &&
	grep -q "OCSP response: no response sent" out
'

smtpd_start plain --cert ec.pem --key ec.key --no-starttls 2>plain.err
plainrc=$?
smtpd_start refuse --cert ec.pem --key ec.key --refuse-starttls 2>refuse.err
refuserc=$?

test_expect_success 'smtpd --no-starttls: not advertised, no handshake' '
	cat plain.err && [ $plainrc = 0 ] &&
	! offers_starttls "$SMTPD_PORT_plain" &&
	{ s_client "$SMTPD_PORT_plain" >out; true; } &&
	grep -q "Didn.t find STARTTLS" out &&
	! grep -q "subject=" out &&
	! grep -q "^tls " "$TEST_DIR/smtpd/plain.log"
'

test_expect_success 'smtpd --refuse-starttls: advertised, answered 454' '
	cat refuse.err && [ $refuserc = 0 ] &&
	offers_starttls "$SMTPD_PORT_refuse" &&
	{ s_client "$SMTPD_PORT_refuse" >out; true; } &&
	! grep -q "subject=" out &&
	grep -q "^cmd STARTTLS" "$TEST_DIR/smtpd/refuse.log" &&
	! grep -q "^tls " "$TEST_DIR/smtpd/refuse.log"
'

if /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	smtpd_start v6 --cert ec.pem --key ec.key --ocsp-der ec.ocsp.der \
	    --listen 127.0.0.1 --listen ::1 2>v6.err
	v6rc=$?
	test_expect_success 'smtpd on 127.0.0.1 and [::1], one port' '
		cat v6.err && [ $v6rc = 0 ] &&
		[ "$(sed -n 2p "$TEST_DIR/smtpd/v6.port")" = "$SMTPD_PORT_v6" ] &&
		s_client "[::1]:$SMTPD_PORT_v6" -status >out &&
		grep -q "subject=CN *= *mx.signed.test" out &&
		grep -q "Cert Status: good" out &&
		grep -q "^connect ::1$" "$TEST_DIR/smtpd/v6.log" &&
		s_client "$SMTPD_PORT_v6" >out &&
		grep -q "subject=CN *= *mx.signed.test" out
	'
else
	test_skip 'smtpd on 127.0.0.1 and [::1], one port' '::1 unavailable'
fi

test_expect_success 'smtpd_start: a bad key fails with the reason' '
	! smtpd_start bad --cert ec.pem --key rsa.key 2>err &&
	grep -q "did not start" err && grep -qi "key" err &&
	[ -z "$(smtpd_pid bad)" ]
'

test_expect_success 'smtpd --timeout: the server ends by itself' '
	smtpd_start brief --cert ec.pem --key ec.key --timeout 1 &&
	pid=$(smtpd_pid brief) && n=0 &&
	while proc_alive "$pid" && [ $n -lt 100 ]; do
		sleep 0.1; n=$((n + 1))
	done &&
	! proc_alive "$pid" &&
	grep -q "^timeout, exiting" "$TEST_DIR/smtpd/brief.log"
'

############################################################ teardown
test_expect_success 'everything stops; no process of this test is left' '
	pids="$(cat "$TEST_DIR/dns-rig/nsd.pid") $_ub_v_pid $_ub_nv_pid" &&
	for f in "$TEST_DIR"/smtpd/*.pid; do pids="$pids $(cat "$f")"; done &&
	unbound_stop && unbound_stop_nonvalidating &&
	smtpd_stop_all && dns_rig_stop &&
	for p in $pids; do ! proc_alive "$p" || { echo "alive: $p"; exit 1; }; done &&
	for c in /proc/[0-9]*/cmdline; do
		case $(tr "\\0" " " <"$c" 2>/dev/null) in
		*"$TEST_DIR"*) echo "left: $c"; exit 1 ;;
		esac
	done
'

test_done
