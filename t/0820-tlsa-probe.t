#!/bin/sh
# tlsa-probe end to end: DANE for SMTP (RFC 7672) against the offline rig of
# t/rig/dane.sh (signed, chained, unsigned and bogus zones on NSD, validating
# and non-validating unbound, STARTTLS servers on 127.0.0.N and ::1, all on
# one port P, so the TLSA names are _P._tcp.HOST), plus OCSP stapling when
# DANE is not in use.  Every verdict, JSON field, exit status and the text
# and kv shapes of the contract in tlsa-probe(1).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/rig/dnssec.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/smtpd.sh"
. "$TEST_SRC/rig/dane.sh"

[ "$(command -v tlsa-probe)" = "$MXKIT_BIN/tlsa-probe" ] ||
    skip_all "tlsa-probe not built"
for _bin in nsd unbound ldns-keygen ldns-signzone dig openssl; do
	command -v "$_bin" >/dev/null 2>&1 ||
	    [ -x "/usr/sbin/$_bin" ] || skip_all "$_bin is not installed"
done
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null ||
    skip_all "python3-openssl is not installed"

dane_rig_up 2>rig.err
rigrc=$?

# probe ARGS...: tlsa-probe against the validating resolver, bounded.
probe() {
	timeout 60 tlsa-probe --resolver "$MXKIT_VALIDATING_RESOLVER" \
	    --dnssec-probe dane.test --port "$P" --timeout 5 "$@"
}

# pj NAME ARGS...: probe -o json ARGS; NAME.json, NAME.err, NAME.rc.
pj() {
	_n=$1
	shift
	probe -o json "$@" >"$_n.json" 2>"$_n.err"
	echo $? >"$_n.rc"
	return 0
}

# lc: lower-case hex (TLSA data may come back in either case).
lc() {
	tr 'A-F' 'a-f'
}

# jlc NAME KEY: KEY's values in NAME.json, lower-cased.
jlc() {
	dane_jrows "$1.json" "$2" | lc
}

# iso CERT: CERT's notAfter as ISO 8601 UTC.
iso() {
	_e=$(openssl x509 -in "$1" -noout -enddate) &&
	    date -u -d "${_e#notAfter=}" +%Y-%m-%dT%H:%M:%SZ
}

# served NAME PATTERN: server NAME's log has a line matching PATTERN.
served() {
	grep -q "$2" "$TEST_DIR/smtpd/$1.log" && return 0
	echo "smtpd $1: no '$2' in its log:" >&2
	sed 's/^/  /' "$TEST_DIR/smtpd/$1.log" >&2
	return 1
}

ALL_KEYS="tlsa_domain tlsa_mx_host tlsa_mx_pref tlsa_mx_dnssec tlsa_address
tlsa_addr_dnssec tlsa_port tlsa_qname tlsa_dnssec tlsa_records tlsa_starttls
tls_out_dane tls_out_tlsa_usage tls_out_ver tls_out_cipher tls_out_peerdn
tlsa_cert_issuer tlsa_cert_not_after tlsa_chain tlsa_match tlsa_match_depth tlsa_ocsp
tls_out_ocsp tlsa_result tlsa_reason"

test_expect_success 'the rig comes up (PKI, zones, resolvers, servers)' '
	cat rig.err && [ $rigrc = 0 ] &&
	dig +dnssec +time=2 +tries=1 -p "$UNBOUND_PORT" @127.0.0.1 \
	    "_$P._tcp.mx1.dane.test" TLSA >d.out &&
	grep -q "flags: qr rd ra ad" d.out
'

############################################################ verdicts, one host
test_expect_success 'DANE-EE 3 1 1: pass, every field, exit 0' '
	pj ee --host mx1.dane.test && dane_rc_is ee 0 &&
	[ $(wc -l <ee.json) = 1 ] && dane_jkeys ee.json $ALL_KEYS &&
	dane_want ee "tlsa_result tlsa_mx_host tlsa_mx_dnssec tlsa_address tlsa_addr_dnssec tlsa_port tlsa_qname tlsa_dnssec tlsa_starttls tls_out_dane tls_out_tlsa_usage tls_out_ver tlsa_match_depth tlsa_ocsp tls_out_ocsp" \
	    "pass|mx1.dane.test|secure|127.0.0.2|secure|$P|_$P._tcp.mx1.dane.test|secure|yes|yes|8|TLSv1.3|0|notreq|0" &&
	[ "$(jlc ee tlsa_match)" = "3 1 1 $H_mx1" ] &&
	[ "$(jlc ee tlsa_records)" = "3 1 1 $H_mx1" ] &&
	[ -n "$(dane_jrows ee.json tls_out_cipher)" ] &&
	dane_jrows ee.json tls_out_peerdn | grep -q "CN *= *mx1\\.dane\\.test" &&
	dane_jrows ee.json tlsa_cert_issuer | grep -q "mxkit Test Issuing CA" &&
	[ "$(dane_jrows ee.json tlsa_cert_not_after)" = "$(iso "$PKI_DIR/mx1.pem")" ] &&
	served mx1 "^sni mx1\\.dane\\.test$" && served mx1 "^tls "
'

test_expect_success 'DANE-TA 2 1 1, right name: pass at depth 1, staple asked and good' '
	pj ta --host mx2.dane.test && dane_rc_is ta 0 &&
	dane_want ta "tlsa_result tls_out_dane tls_out_tlsa_usage tlsa_match_depth tlsa_ocsp tls_out_ocsp" \
	    "pass|yes|4|1|good|4" &&
	[ "$(jlc ta tlsa_match)" = "2 1 1 $H_int" ] &&
	served mx2 "^status_request" && served mx2 "^sni mx2\\.dane\\.test$"
'

test_expect_success 'DANE-TA with --no-ocsp: pass, no staple asked' '
	pj tano --host mx2.dane.test --no-ocsp && dane_rc_is tano 0 &&
	dane_want tano "tlsa_result tls_out_tlsa_usage tlsa_ocsp tls_out_ocsp" \
	    "pass|4|notreq|0"
'

test_expect_success 'DANE-TA and DANE-EE both: usage 12, the EE record matches, no staple' '
	pj both --host both.dane.test && dane_rc_is both 0 &&
	dane_want both "tlsa_result tls_out_tlsa_usage tlsa_match_depth tlsa_ocsp tls_out_ocsp" \
	    "pass|12|0|notreq|0" &&
	[ "$(jlc both tlsa_match)" = "3 1 1 $H_mx2" ] &&
	jlc both tlsa_records | tr , "\\n" | sort >both.recs &&
	printf "%s\\n" "2 1 1 $H_int" "3 1 1 $H_mx2" | sort | cmp - both.recs
'

test_expect_success 'DANE-TA and DANE-EE, --ocsp: the staple is asked for anyway' '
	pj bothocsp --host both.dane.test --ocsp && dane_rc_is bothocsp 0 &&
	dane_want bothocsp "tlsa_result tls_out_tlsa_usage tlsa_ocsp tls_out_ocsp" \
	    "pass|12|good|4"
'

test_expect_success 'DANE-TA, leaf without the host name: fail, exit 1' '
	pj taw --host tawrong.dane.test && dane_rc_is taw 1 &&
	dane_want taw "tlsa_result tls_out_dane tls_out_tlsa_usage tlsa_match tlsa_starttls" \
	    "fail|no|4||yes" &&
	dane_jrows taw.json tlsa_reason | grep -q "hostname mismatch" &&
	dane_jrows taw.json tlsa_reason |
	    grep -q "2 1 1 $(echo $H_int | cut -c1-8)\.\.\.: matches depth 1" &&
	[ "$(dane_jrows taw.json tlsa_chain)" = \
	    "/CN=elsewhere.example.test,/CN=mxkit Test Issuing CA" ] &&
	dane_jrows taw.json tls_out_peerdn | grep -q elsewhere.example.test
'

test_expect_success 'DANE-EE with a wrong digest: fail, exit 1' '
	pj dig --host digest.dane.test && dane_rc_is dig 1 &&
	dane_want dig "tlsa_result tls_out_tlsa_usage tlsa_match" "fail|8|" &&
	[ "$(jlc dig tlsa_records)" = "3 1 1 $H_bad" ] &&
	dane_jrows dig.json tlsa_reason |
	    grep -q "3 1 1 00000000\.\.\.: matches no certificate sent\$"
'

test_expect_success 'DANE-EE ignores expiry: an expired leaf under 3 1 1 passes' '
	pj old --host old.dane.test && dane_rc_is old 0 &&
	dane_want old "tlsa_result tlsa_match_depth" "pass|0" &&
	[ "$(jlc old tlsa_match)" = "3 1 1 $H_old" ] &&
	na=$(dane_jrows old.json tlsa_cert_not_after) &&
	[ "$na" = "$(iso "$PKI_DIR/old.pem")" ] &&
	[ "$(date -u -d "$na" +%s)" -lt "$(date +%s)" ]
'

test_expect_success 'key rollover: current + next published, next served: pass' '
	pj roll --host roll.dane.test && dane_rc_is roll 0 &&
	dane_want roll "tlsa_result tls_out_tlsa_usage" "pass|8" &&
	[ "$(jlc roll tlsa_match)" = "3 1 1 $H_next" ] &&
	jlc roll tlsa_records | tr , "\\n" | sort >roll.recs &&
	printf "%s\\n" "3 1 1 $H_cur" "3 1 1 $H_next" | sort | cmp - roll.recs
'

test_expect_success 'only PKIX-TA/PKIX-EE (0, 1) records: none, unusable, exit 2' '
	pj pkix --host pkix.dane.test && dane_rc_is pkix 2 &&
	dane_want pkix "tlsa_result tls_out_dane" "none|no" &&
	dane_jrows pkix.json tlsa_reason | grep -qi unusable
'

test_expect_success 'signed zone, no TLSA: none, exit 2' '
	pj nota --host nota.dane.test && dane_rc_is nota 2 &&
	dane_want nota "tlsa_result tls_out_dane tlsa_records tlsa_match" "none|no||"
'

test_expect_success 'secure TLSA, no STARTTLS offered: nostarttls, exit 3' '
	pj notls --host notls.dane.test && dane_rc_is notls 3 &&
	dane_want notls "tlsa_result tlsa_starttls" "nostarttls|no" &&
	! served notls "^tls " 2>/dev/null
'

test_expect_success 'secure TLSA, STARTTLS answered 454: nostarttls, exit 3' '
	pj refuse --host refuse.dane.test && dane_rc_is refuse 3 &&
	dane_want refuse "tlsa_result" "nostarttls" &&
	served refuse "^cmd STARTTLS"
'

test_expect_success 'nobody listening at the address: unreachable, exit 3' '
	pj down --host down.dane.test && dane_rc_is down 3 &&
	dane_want down "tlsa_result tlsa_address" "unreachable|127.0.0.11"
'

############################################################ IPv6, -4, -6
if [ "$DANE_HAVE_V6" = 1 ]; then
	test_expect_success 'A and AAAA: both addresses probed and reported' '
		pj v6 --host v6.dane.test && dane_rc_is v6 0 &&
		dane_want v6 "tlsa_address tlsa_result tlsa_addr_dnssec" \
		    "127.0.0.10|pass|secure" "::1|pass|secure" &&
		served v6 "^connect ::1$"
	'
	test_expect_success '-4 probes only the A address, -6 only the AAAA' '
		pj v4only -4 --host v6.dane.test && dane_rc_is v4only 0 &&
		dane_want v4only "tlsa_address tlsa_result" "127.0.0.10|pass" &&
		pj v6only -6 --host v6.dane.test && dane_rc_is v6only 0 &&
		dane_want v6only "tlsa_address tlsa_result" "::1|pass"
	'
else
	test_skip 'A and AAAA: both addresses probed and reported' '::1 unusable'
	test_skip '-4 probes only the A address, -6 only the AAAA' '::1 unusable'
fi

############################################################ CNAMEs
test_expect_success 'CNAMEd MX host: TLSA at the expanded name, SNI and name check there' '
	pj cn cn.dane.test && dane_rc_is cn 0 &&
	dane_want cn "tlsa_domain tlsa_mx_host tlsa_mx_pref tlsa_qname tlsa_result tlsa_address tls_out_tlsa_usage" \
	    "cn.dane.test|alias.dane.test|10|_$P._tcp.mx.child.dane.test|pass|127.0.0.12|4" &&
	served child "^sni mx\\.child\\.dane\\.test$" &&
	pj cnh --host alias.dane.test && dane_rc_is cnh 0 &&
	dane_want cnh "tlsa_qname tlsa_result" "_$P._tcp.mx.child.dane.test|pass"
'

test_expect_success 'CNAMEd TLSA RRset (in the child zone, to the parent): pass' '
	pj cn3 cn3.dane.test && dane_rc_is cn3 0 &&
	dane_want cn3 "tlsa_mx_host tlsa_qname tlsa_dnssec tlsa_result tlsa_match_depth" \
	    "mx3.child.dane.test|_$P._tcp.mx3.child.dane.test|secure|pass|0" &&
	[ "$(jlc cn3 tlsa_match)" = "3 1 1 $H_child" ]
'

############################################################ MX lookups
test_expect_success 'two MX hosts, both verified: one line each, exit 0' '
	pj good good.dane.test && dane_rc_is good 0 &&
	dane_want good "tlsa_domain tlsa_mx_pref tlsa_mx_host tlsa_mx_dnssec tlsa_address tlsa_result" \
	    "good.dane.test|10|mx1.dane.test|secure|127.0.0.2|pass" \
	    "good.dane.test|20|mx2.dane.test|secure|127.0.0.3|pass"
'

test_expect_success 'mixed MX outcomes: each reported, a failure wins: exit 1' '
	pj multi multi.dane.test && dane_rc_is multi 1 &&
	dane_want multi "tlsa_mx_pref tlsa_mx_host tlsa_result" \
	    "10|mx1.dane.test|pass" "20|tawrong.dane.test|fail" \
	    "30|down.dane.test|unreachable" "40|notls.dane.test|nostarttls"
'

test_expect_success 'no MX: the domain itself is the MX host (implicit MX)' '
	pj imp mx1.dane.test && dane_rc_is imp 0 &&
	dane_want imp "tlsa_domain tlsa_mx_host tlsa_address tlsa_result" \
	    "mx1.dane.test|mx1.dane.test|127.0.0.2|pass"
'

test_expect_success 'null MX (0 .): reported as nullmx, exit 2' '
	pj null nullmx.dane.test && dane_rc_is null 2 &&
	dane_want null "tlsa_domain tlsa_result" "nullmx.dane.test|nullmx"
'

############################################################ DNSSEC states
test_expect_success 'insecure zone: TLSA ignored, none, exit 2' '
	pj ins insec.plain.test && dane_rc_is ins 2 &&
	dane_want ins "tlsa_mx_host tlsa_mx_dnssec tlsa_result tls_out_dane" \
	    "mx.plain.test|insecure|none|no" &&
	pj insh --host mx.plain.test && dane_rc_is insh 2 &&
	dane_want insh "tlsa_result tls_out_dane tlsa_dnssec" "none|no|insecure"
'

test_expect_success 'insecure MX, secure host and TLSA: DANE applies (Postfix), said' '
	pj insmx insmx.plain.test && dane_rc_is insmx 0 &&
	dane_want insmx "tlsa_mx_host tlsa_mx_dnssec tlsa_addr_dnssec tlsa_result tls_out_dane" \
	    "mx1.dane.test|insecure|secure|pass|yes" &&
	dane_jrows insmx.json tlsa_reason | grep -q "MX RRset is not DNSSEC-secure"
'

test_expect_success 'bogus MX host zone: temperror, exit 75 (domain and --host)' '
	pj bog bogus.test && dane_rc_is bog 75 &&
	grep -q "\"tlsa_result\": *\"temperror\"" bog.json &&
	pj bogh --host mx.bogus.test && dane_rc_is bogh 75 &&
	grep -q "\"tlsa_result\": *\"temperror\"" bogh.json
'

test_expect_success 'secure host, TLSA name CNAMEd into the bogus zone: temperror, exit 75' '
	pj bt --host bt.dane.test && dane_rc_is bt 75 &&
	dane_want bt "tlsa_result" "temperror"
'

test_expect_success 'a resolver that does not validate: exit 69 and why' '
	timeout 60 tlsa-probe --resolver "$MXKIT_NONVALIDATING_RESOLVER" \
	    --dnssec-probe dane.test --port "$P" --timeout 5 -o json \
	    --host mx1.dane.test >nv.out 2>nv.err
	rc=$? && cat nv.err && [ $rc = 69 ] &&
	grep -q "^tlsa-probe: resolver .*does not validate DNSSEC" nv.err
'

############################################################ OCSP, no DANE
test_expect_success 'no DANE: staple requested and good (tls_out_ocsp 4)' '
	pj og --host ogood.plain.test && dane_rc_is og 2 &&
	dane_want og "tlsa_result tls_out_dane tls_out_tlsa_usage tlsa_ocsp tls_out_ocsp tlsa_starttls" \
	    "none|no|0|good|4|yes" &&
	served ogood "^status_request" &&
	dane_jrows og.json tls_out_peerdn | grep -q ogood.plain.test
'

test_expect_success 'no DANE: a revoked staple (tls_out_ocsp 3)' '
	pj or --host orev.plain.test &&
	dane_want or "tls_out_dane tlsa_ocsp tls_out_ocsp" "no|revoked|3"
'

test_expect_success 'no DANE: no staple sent (tls_out_ocsp 1)' '
	pj on --host onone.plain.test && dane_rc_is on 2 &&
	dane_want on "tlsa_result tlsa_ocsp tls_out_ocsp" "none|none|1"
'

test_expect_success 'no DANE, --no-ocsp: none asked (notreq, 0)' '
	pj ono --host ogood.plain.test --no-ocsp && dane_rc_is ono 2 &&
	dane_want ono "tlsa_result tlsa_ocsp tls_out_ocsp" "none|notreq|0"
'

############################################################ output shapes
test_expect_success 'text: one line per address, the verdict first' '
	probe -o text multi.dane.test >multi.txt 2>multi.terr; rc=$?
	cat multi.txt multi.terr && [ $rc = 1 ] &&
	[ $(wc -l <multi.txt) = 4 ] &&
	[ "$(cut -d" " -f1 multi.txt | sort | tr "\\n" " ")" = \
	    "fail nostarttls pass unreachable " ] &&
	probe -o text --host mx1.dane.test >one.txt &&
	[ $(wc -l <one.txt) = 1 ] && grep -q "^pass[[:space:]]" one.txt
'

test_expect_success 'kv: name=value lines a shell can eval' '
	probe -o kv --host mx1.dane.test >ee.kv && cat ee.kv &&
	kv_expect ee.kv tlsa_result pass &&
	kv_expect ee.kv tlsa_address 127.0.0.2 &&
	kv_expect ee.kv tlsa_qname "_$P._tcp.mx1.dane.test" &&
	kv_expect ee.kv tls_out_tlsa_usage 8 &&
	[ "$(kvget tlsa_match ee.kv | lc)" = "3 1 1 $H_mx1" ] &&
	grep -q "^tlsa_result=.pass.$" ee.kv
'

test_expect_success 'kv: one block per address, blank line between' '
	probe -o kv good.dane.test >good.kv; rc=$?
	cat good.kv && [ $rc = 0 ] &&
	[ $(grep -c "^tlsa_result=" good.kv) = 2 ] &&
	[ $(grep -c "^$" good.kv) -ge 1 ] &&
	awk "BEGIN{RS=\"\"} END{exit NR != 2}" good.kv
'

test_done
