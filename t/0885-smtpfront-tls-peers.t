#!/bin/sh
# Clients that verify smtpfront's STARTTLS: our own tlsa-probe (DANE-EE
# and DANE-TA records in a DNSSEC-signed zone served by NSD, through a
# validating unbound and through lib/dnssec's own validation with
# --trust-anchor; the OCSP staple smtpfront sends, checked by tlsa-probe)
# and Postfix's posttls-finger, the reference client: -l secure with the
# test root as CAfile, -l fingerprint, and, where the script may run in its
# own network and mount namespaces (root: unshare -n -m, as t/0821 does,
# because posttls-finger only reads /etc/resolv.conf and port 53), -l
# dane-only against the same TLSA records.  smtpfront listens on
# 127.0.0.1 with an ECDSA and an RSA pair, each with its stapling file from
# ocsp-fetch.
_ns() {
	_nsv=$(readlink /proc/self/ns/net 2>/dev/null)'|'$(readlink \
	    /proc/self/ns/mnt 2>/dev/null)
	case $_nsv in net:\[*\]\|mnt:\[*\]) echo "$_nsv" ;; *) echo none ;; esac
}
if [ -z "${MXKIT_FRONT_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    [ "$(_ns)" != none ] && command -v unshare >/dev/null 2>&1 &&
    unshare -n -m true 2>/dev/null; then
	# The child knows it is in namespaces of its own by these ids.
	MXKIT_FRONT_NETNS=$(_ns) exec unshare -n -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/rig/dnssec.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/smtpd.sh"
. "$TEST_SRC/rig/dane.sh"	# dane_311, dane_jrows, dane_want, dane_rc_is
require_bin smtpfront ocsp-fetch tlsa-probe
for _b in nsd unbound ldns-keygen ldns-signzone dig openssl posttls-finger; do
	command -v "$_b" >/dev/null 2>&1 || [ -x "/usr/sbin/$_b" ] ||
	    skip_all "$_b is not installed"
done
PATH=$PATH:/usr/sbin
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY
# The namespaces for real (not merely the variable set): the bind mount
# over /etc/resolv.conf below must never reach the host's.
NETNS=0
_parent=${MXKIT_FRONT_NETNS:-none}
_self=$(_ns)
case $_parent in
net:\[*\]\|mnt:\[*\])
	[ "$_self" != none ] && [ "${_self%|*}" != "${_parent%|*}" ] &&
	    [ "${_self#*|}" != "${_parent#*|}" ] && NETNS=1
	;;
esac
if [ "$NETNS" = 1 ]; then
	ip link set lo up 2>/dev/null || skip_all "cannot bring lo up in the namespace"
fi

P=$TEST_DIR/pki
pki_make "$P" 2>setup.err &&
    pki_leaf front "DNS:mx.front.test,DNS:ta.front.test,DNS:plain.front.test" \
	ec 2>>setup.err &&
    pki_leaf frontr "DNS:mx.front.test,DNS:ta.front.test,DNS:plain.front.test" \
	rsa 2>>setup.err &&
    pki_ocsp_start main 2>>setup.err &&
    ocsp-fetch -c "$P/front.chain.pem" -O "$P/front.der" \
	-c "$P/frontr.chain.pem" -O "$P/frontr.der" >/dev/null 2>>setup.err
pkirc=$?

# smtpfront, on the port the TLSA names carry.
PORT=$(free_port)
mkdir -p Maildir
smtpfront --listen "127.0.0.1:$PORT" --hostname mx.front.test \
    --deliver "maildir:$TEST_DIR/Maildir" \
    --tls-certificate "$P/front.chain.pem" --tls-privatekey "$P/front.key" \
    --tls-ocsp-file "$P/front.der" \
    --tls-certificate "$P/frontr.chain.pem" --tls-privatekey "$P/frontr.key" \
    --tls-ocsp-file "$P/frontr.der" >front.log 2>&1 </dev/null &
FRONT_PID=$!
at_exit "proc_stop $FRONT_PID"
n=0
while ! grep -q "listening on 127.0.0.1:$PORT" front.log && [ $n -lt 100 ] &&
    proc_alive $FRONT_PID; do
	sleep 0.1
	n=$((n + 1))
done

# The zone: mx (3 1 1 of both keys), ta (2 1 1 of the issuer), bad (a
# wrong digest), plain (no TLSA), all on 127.0.0.1.
H_ec=
H_rsa=
dnsrc=1
if [ $pkirc = 0 ]; then
	H_ec=$(dane_311 "$P/front.pem")
	H_rsa=$(dane_311 "$P/frontr.pem")
	H_int=$(dane_311 "$P/int.pem")
	Z=$TEST_DIR/zones
	mkdir -p "$Z"
	dns_zone_begin front.test "$Z/front.zone"
	cat >>"$Z/front.zone" <<EOF
mx	IN A 127.0.0.1
_$PORT._tcp.mx	IN TLSA 3 1 1 $H_ec
_$PORT._tcp.mx	IN TLSA 3 1 1 $H_rsa
ta	IN A 127.0.0.1
_$PORT._tcp.ta	IN TLSA 2 1 1 $H_int
bad	IN A 127.0.0.1
_$PORT._tcp.bad	IN TLSA 3 1 1 $(printf '%064d' 0)
plain	IN A 127.0.0.1
EOF
	dnssec_sign_zone front.test "$Z/front.zone" 2>>setup.err &&
	    dnssec_rig_start front.test="$Z/front.zone.signed" 2>>setup.err &&
	    unbound_start 2>>setup.err &&
	    unbound_start_nonvalidating 2>>setup.err && dnsrc=0
fi

test_expect_success 'setup: PKI, staples, smtpfront, the signed zone, resolvers' '
	cat setup.err && [ $pkirc = 0 ] && [ $dnsrc = 0 ] &&
	grep -q "listening on 127.0.0.1:$PORT" front.log &&
	dig +dnssec +time=2 +tries=1 -p "$UNBOUND_PORT" @127.0.0.1 \
	    "_$PORT._tcp.mx.front.test" TLSA >d.out &&
	grep -q "flags: qr rd ra ad" d.out
'

############################################################ tlsa-probe
# tp NAME ARGS...: tlsa-probe -o json through the validating resolver;
# NAME.json, NAME.err, NAME.rc.
tp() {
	_n=$1
	shift
	timeout 60 tlsa-probe --resolver "$MXKIT_VALIDATING_RESOLVER" \
	    --dnssec-probe front.test --port "$PORT" --timeout 5 -o json "$@" \
	    >"$_n.json" 2>"$_n.err"
	echo $? >"$_n.rc"
	return 0
}

test_expect_success 'tlsa-probe: DANE-EE 3 1 1 matches smtpfront'"'"'s key: pass' '
	tp ee --host mx.front.test && dane_rc_is ee 0 &&
	dane_want ee "tlsa_result tlsa_dnssec tlsa_starttls tls_out_dane tls_out_tlsa_usage tls_out_ver tlsa_match_depth" \
	    "pass|secure|yes|yes|8|TLSv1.3|0" &&
	dane_jrows ee.json tlsa_match | tr "A-F" "a-f" | grep -q "3 1 1 $H_ec" &&
	dane_jrows ee.json tls_out_peerdn | grep -q "CN *= *mx\\.front\\.test"
'

test_expect_success 'tlsa-probe: DANE-TA 2 1 1 at depth 1, and the staple is good' '
	tp ta --host ta.front.test && dane_rc_is ta 0 &&
	dane_want ta "tlsa_result tls_out_tlsa_usage tlsa_match_depth tlsa_ocsp tls_out_ocsp" \
	    "pass|4|1|good|4"
'

test_expect_success 'tlsa-probe: the same with --trust-anchor over a non-validating resolver' '
	timeout 60 tlsa-probe --resolver "$MXKIT_NONVALIDATING_RESOLVER" \
	    --trust-anchor "$DNSSEC_ANCHORS" --port "$PORT" --timeout 5 \
	    -o json --host ta.front.test >an.json 2>an.err; echo $? >an.rc &&
	dane_rc_is an 0 &&
	dane_want an "tlsa_result tlsa_dnssec tls_out_tlsa_usage tlsa_ocsp" \
	    "pass|secure|4|good"
'

test_expect_success 'tlsa-probe: a wrong digest fails (exit 1)' '
	tp bad --host bad.front.test && dane_rc_is bad 1 &&
	dane_want bad "tlsa_result tlsa_starttls" "fail|yes"
'

test_expect_success 'tlsa-probe: no TLSA: none (exit 2), the staple still good' '
	tp plain --host plain.front.test && dane_rc_is plain 2 &&
	dane_want plain "tlsa_result tlsa_starttls tlsa_ocsp tls_out_ocsp" \
	    "none|yes|good|4"
'

############################################################ posttls-finger
# pf NAME ARG...: posttls-finger, bounded; NAME.pf.
pf() {
	_n=$1
	shift
	timeout 40 posttls-finger -t 5 -T 5 "$@" >"$_n.pf" 2>&1
	return 0
}

# pf_has NAME PATTERN: NAME.pf has a line matching PATTERN; shows it if not.
pf_has() {
	grep -q "$2" "$1.pf" && return 0
	echo "$1.pf: no '$2':" >&2
	sed 's/^/  /' "$1.pf" >&2
	return 1
}

test_expect_success 'posttls-finger -l secure, the test root as CAfile: Verified' '
	pf sec -c -l secure -F "$P/root.pem" "[127.0.0.1]:$PORT" mx.front.test &&
	pf_has sec "Verified TLS connection established to 127.0.0.1\[127.0.0.1\]:$PORT: TLSv1.3 with cipher"
'

test_expect_success 'posttls-finger -l secure, a name not in the certificate: not verified' '
	pf secw -c -l secure -F "$P/root.pem" "[127.0.0.1]:$PORT" other.test &&
	! grep -q "Verified TLS connection" secw.pf &&
	pf_has secw "verification failed for 127.0.0.1.*hostname mismatch" &&
	pf_has secw "Untrusted TLS connection established"
'

test_expect_success 'posttls-finger -l secure, no CAfile: not verified' '
	pf secn -c -l secure "[127.0.0.1]:$PORT" mx.front.test &&
	! grep -q "Verified TLS connection" secn.pf &&
	pf_has secn "untrusted issuer /CN=mxkit Test Root CA"
'

test_expect_success 'posttls-finger -l fingerprint (SHA-256 of the key): Verified' '
	k=$(openssl x509 -in "$P/front.pem" -noout -pubkey |
	    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r |
	    cut -d" " -f1 | sed "s/../&:/g; s/:\$//" | tr a-f A-F) &&
	r=$(openssl x509 -in "$P/frontr.pem" -noout -pubkey |
	    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r |
	    cut -d" " -f1 | sed "s/../&:/g; s/:\$//" | tr a-f A-F) &&
	pf fpr -c -l fingerprint -d sha256 "[127.0.0.1]:$PORT" "$k" "$r" &&
	pf_has fpr "Verified TLS connection established"
'

test_expect_success 'posttls-finger sees STARTTLS in the EHLO reply and the chain' '
	pf chat -C -l secure -F "$P/root.pem" "[127.0.0.1]:$PORT" mx.front.test &&
	pf_has chat "STARTTLS" && pf_has chat "mxkit Test Issuing CA"
'

if [ "$NETNS" = 1 ] && [ $dnsrc = 0 ]; then
	# posttls-finger resolves through /etc/resolv.conf only: a validating
	# unbound on 127.0.0.1:53 of this namespace and a resolv.conf naming it.
	U53=$TEST_DIR/unbound53
	mkdir -p "$U53"
	_ub_conf v 53 "$U53" $_dnssec_zones >"$U53/unbound.conf"
	unbound -c "$U53/unbound.conf" >"$U53/unbound.out" 2>&1 </dev/null &
	u53pid=$!
	at_exit "proc_stop $u53pid"
	u53rc=1
	_ub_ready "$u53pid" 53 && echo "nameserver 127.0.0.1" >resolv.conf &&
	    mount --bind "$TEST_DIR/resolv.conf" /etc/resolv.conf && u53rc=0

	test_expect_success 'posttls-finger -l dane-only, DANE-EE: Verified, Matched DANE' '
		[ $u53rc = 0 ] || { cat "$U53/unbound.out" "$U53/unbound.log"; false; } &&
		pf dee -c -l dane-only -P /etc/ssl/certs \
		    -o dnssec_probe=ns:front.test "[mx.front.test]:$PORT" &&
		pf_has dee "Verified TLS connection established" &&
		pf_has dee "Matched DANE"
	'
	test_expect_success 'posttls-finger -l dane-only, DANE-TA: Verified' '
		pf dta -c -l dane-only -P /etc/ssl/certs \
		    -o dnssec_probe=ns:front.test "[ta.front.test]:$PORT" &&
		pf_has dta "Verified TLS connection established" &&
		pf_has dta "Matched DANE"
	'
	test_expect_success 'posttls-finger -l dane-only, a wrong digest: not verified' '
		pf dbad -c -l dane-only -P /etc/ssl/certs \
		    -o dnssec_probe=ns:front.test "[bad.front.test]:$PORT" &&
		! grep -q "Verified TLS connection" dbad.pf &&
		pf_has dbad "no matching DANE TLSA records" &&
		pf_has dbad "Untrusted TLS connection established"
	'
else
	test_skip 'posttls-finger -l dane-only against smtpfront' \
	    "needs its own network namespace (root, unshare -n -m)"
fi

test_expect_success 'every session ended with QUIT; no TLS errors logged' '
	! grep -i "AddressSanitizer\|runtime error\|internal error" front.log &&
	! grep -q "TLS error" front.log &&
	n=0 && while :; do
		c=$(grep -c "SMTP connection from H=[^ ]*\$" front.log)
		q=$(grep -c " closed by QUIT\$" front.log)
		# A session logs its end after the client has its 221.
		[ "$c" = "$q" ] || [ $n -ge 50 ] && break
		sleep 0.1
		n=$((n + 1))
	done &&
	echo "$c connections, $q ended by QUIT" && [ "$c" -ge 10 ] &&
	[ "$c" = "$q" ] && proc_alive $FRONT_PID
'

test_done
