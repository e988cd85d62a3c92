#!/bin/sh
# tlsa-probe --trust-anchor: DNSSEC validated by lib/dns itself (lib/dnssec,
# a chain of trust from the DS/DNSKEY records of a trust anchor file) over a
# resolver that does not validate, in the DANE world of t/rig/dane.sh.
# Every verdict, DNSSEC status and exit status must be what t/0820 gets
# through the validating unbound; each case runs both ways and compares.
# Then wrong, missing and unparsable anchor files, and a second world for
# what the first lacks: NSEC3, a delegation without DS, wildcards, a name
# whose signatures were stripped.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/rig/dnssec.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/smtpd.sh"
. "$TEST_SRC/rig/dane.sh"

[ "$(command -v tlsa-probe)" = "$MXKIT_BIN/tlsa-probe" ] ||
    skip_all "tlsa-probe not built"
tlsa-probe --help 2>&1 | grep -q -- --trust-anchor ||
    skip_all "tlsa-probe has no --trust-anchor"
for _bin in nsd unbound ldns-keygen ldns-signzone dig openssl; do
	command -v "$_bin" >/dev/null 2>&1 ||
	    [ -x "/usr/sbin/$_bin" ] || skip_all "$_bin is not installed"
done
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null ||
    skip_all "python3-openssl is not installed"

dane_rig_up 2>rig.err
rigrc=$?
ANCHORS=${DNSSEC_ANCHORS:-/nonexistent}

# pa NAME ARGS...: tlsa-probe -o json through the non-validating resolver,
# validating with $ANCHORS; NAME.json, NAME.err, NAME.rc.
pa() {
	_n=$1
	shift
	timeout 60 tlsa-probe --resolver "$MXKIT_NONVALIDATING_RESOLVER" \
	    --trust-anchor "$ANCHORS" --port "$P" --timeout 5 -o json "$@" \
	    >"$_n.json" 2>"$_n.err"
	echo $? >"$_n.rc"
	return 0
}

# pv NAME ARGS...: the same as t/0820 runs it, through the validating
# resolver; NAME.v.json, NAME.v.err, NAME.v.rc.
pv() {
	_n=$1
	shift
	timeout 60 tlsa-probe --resolver "$MXKIT_VALIDATING_RESOLVER" \
	    --dnssec-probe dane.test --port "$P" --timeout 5 -o json "$@" \
	    >"$_n.v.json" 2>"$_n.v.err"
	echo $? >"$_n.v.rc"
	return 0
}

# The fields that depend on DNS and DNSSEC, compared between the two ways.
CMP_KEYS="tlsa_domain tlsa_mx_host tlsa_mx_pref tlsa_mx_dnssec tlsa_address
tlsa_addr_dnssec tlsa_qname tlsa_dnssec tlsa_records tls_out_dane
tls_out_tlsa_usage tlsa_result"

# same NAME ARGS...: pa and pv; the same exit status and CMP_KEYS rows.
same() {
	_n=$1
	shift
	pa "$_n" "$@"
	pv "$_n" "$@"
	if [ "$(cat "$_n.rc")" != "$(cat "$_n.v.rc")" ]; then
		echo "$_n: exit $(cat "$_n.rc") with the anchors," \
		    "$(cat "$_n.v.rc") through the validating resolver" >&2
		sed 's/^/  err: /' "$_n.err" >&2
		return 1
	fi
	_a=$(dane_jrows "$_n.json" $CMP_KEYS) &&
	    _b=$(dane_jrows "$_n.v.json" $CMP_KEYS) || return 1
	[ "$_a" = "$_b" ] && return 0
	echo "$_n: with the anchors:" >&2
	printf '%s\n' "$_a" | sed 's/^/  /' >&2
	echo "through the validating resolver:" >&2
	printf '%s\n' "$_b" | sed 's/^/  /' >&2
	sed 's/^/  err: /' "$_n.err" >&2
	return 1
}

test_expect_success 'the rig comes up; the non-validating resolver sets no AD' '
	cat rig.err && [ $rigrc = 0 ] && [ -s "$ANCHORS" ] &&
	dig +dnssec +time=2 +tries=1 -p "${MXKIT_NONVALIDATING_RESOLVER#*:}" \
	    @127.0.0.1 "_$P._tcp.mx1.dane.test" TLSA >d.out &&
	grep -q "status: NOERROR" d.out && ! grep -q "flags:.* ad" d.out &&
	grep -q "RRSIG" d.out
'

############################################################ the verdicts of t/0820
test_expect_success 'DANE-EE: pass, secure, exit 0, as through a validator' '
	same ee --host mx1.dane.test && dane_rc_is ee 0 &&
	dane_want ee "tlsa_result tlsa_mx_dnssec tlsa_addr_dnssec tlsa_dnssec tls_out_dane" \
	    "pass|secure|secure|secure|yes"
'

test_expect_success 'DANE-TA, right name: pass' '
	same ta --host mx2.dane.test && dane_rc_is ta 0 &&
	dane_want ta "tlsa_result tls_out_tlsa_usage tlsa_dnssec" "pass|4|secure"
'

test_expect_success 'DANE-TA, leaf without the host name: fail, exit 1' '
	same taw --host tawrong.dane.test && dane_rc_is taw 1 &&
	dane_want taw "tlsa_result tlsa_dnssec" "fail|secure"
'

test_expect_success 'no TLSA in the signed zone: a secure NXDOMAIN, none, exit 2' '
	same nota --host nota.dane.test && dane_rc_is nota 2 &&
	dane_want nota "tlsa_result tlsa_dnssec tlsa_records" "none|secure|"
'

test_expect_success 'CNAMEd MX host into the child zone (DS chain): pass' '
	same cn cn.dane.test && dane_rc_is cn 0 &&
	dane_want cn "tlsa_mx_host tlsa_qname tlsa_dnssec tlsa_result" \
	    "alias.dane.test|_$P._tcp.mx.child.dane.test|secure|pass"
'

test_expect_success 'TLSA RRset CNAMEd from the child zone to the parent: pass' '
	same cn3 cn3.dane.test && dane_rc_is cn3 0 &&
	dane_want cn3 "tlsa_mx_host tlsa_dnssec tlsa_result" \
	    "mx3.child.dane.test|secure|pass"
'

test_expect_success 'two MX hosts, secure MX RRset: both pass' '
	same good good.dane.test && dane_rc_is good 0 &&
	dane_want good "tlsa_mx_pref tlsa_mx_host tlsa_mx_dnssec tlsa_result" \
	    "10|mx1.dane.test|secure|pass" "20|mx2.dane.test|secure|pass"
'

test_expect_success 'null MX: nullmx, exit 2' '
	same null nullmx.dane.test && dane_rc_is null 2 &&
	dane_want null "tlsa_domain tlsa_result" "nullmx.dane.test|nullmx"
'

test_expect_success 'no anchor above the zone: insecure, TLSA ignored, none, exit 2' '
	same ins insec.plain.test && dane_rc_is ins 2 &&
	dane_want ins "tlsa_mx_host tlsa_mx_dnssec tlsa_result tls_out_dane" \
	    "mx.plain.test|insecure|none|no" &&
	same insh --host mx.plain.test && dane_rc_is insh 2 &&
	dane_want insh "tlsa_result tlsa_dnssec" "none|insecure"
'

test_expect_success 'expired signatures: temperror, exit 75 (domain and --host)' '
	same bog bogus.test && dane_rc_is bog 75 &&
	grep -q "\"tlsa_result\": *\"temperror\"" bog.json &&
	same bogh --host mx.bogus.test && dane_rc_is bogh 75 &&
	grep -q "\"tlsa_result\": *\"temperror\"" bogh.json
'

test_expect_success 'secure host, TLSA CNAMEd into the bogus zone: temperror, exit 75' '
	same bt --host bt.dane.test && dane_rc_is bt 75 &&
	dane_want bt "tlsa_result tlsa_addr_dnssec" "temperror|secure"
'

test_expect_success 'mixed MX outcomes, each as through a validator' '
	same multi multi.dane.test && dane_rc_is multi 1
'

test_expect_success 'insecure MX, secure host and TLSA: DANE applies' '
	same insmx insmx.plain.test && dane_rc_is insmx 0 &&
	dane_want insmx "tlsa_mx_dnssec tlsa_addr_dnssec tlsa_result" \
	    "insecure|secure|pass"
'

test_expect_success 'MXKIT_TRUST_ANCHOR does it too, and --dnssec-probe then passes' '
	MXKIT_TRUST_ANCHOR=$ANCHORS timeout 60 tlsa-probe \
	    --resolver "$MXKIT_NONVALIDATING_RESOLVER" --dnssec-probe dane.test \
	    --port "$P" --timeout 5 -o json --host mx1.dane.test >env.json \
	    2>env.err; echo $? >env.rc
	dane_rc_is env 0 && dane_want env "tlsa_result tlsa_dnssec" "pass|secure"
'

test_expect_success 'a DNSKEY as the anchor instead of a DS: the same' '
	{ grep "^bogus\\.test\\." "$ANCHORS" &&
	    cat "$TEST_DIR/zones/dane.zone.dnskey"; } >key.anchors &&
	grep -q DNSKEY key.anchors &&
	ANCHORS=$TEST_DIR/key.anchors &&
	pa key --host mx1.dane.test && dane_rc_is key 0 &&
	dane_want key "tlsa_result tlsa_dnssec" "pass|secure" &&
	pa keyb --host mx.bogus.test && dane_rc_is keyb 75
'

test_expect_success 'the non-validating resolver without --trust-anchor: exit 69' '
	timeout 60 tlsa-probe --resolver "$MXKIT_NONVALIDATING_RESOLVER" \
	    --dnssec-probe dane.test --port "$P" --timeout 5 -o json \
	    --host mx1.dane.test >nv.out 2>nv.err
	rc=$? && cat nv.err && [ $rc = 69 ] &&
	grep -q "^tlsa-probe: resolver .*does not validate DNSSEC" nv.err
'

############################################################ anchor files
test_expect_success 'a wrong DS for dane.test: everything under it temperror, 75' '
	sed "s/^\\(dane\\.test\\.[[:space:]].*DS[[:space:]]*[0-9]* [0-9]* [0-9]* \\).*/\\1$(printf "%064d" 0)/" \
	    "$ANCHORS" >wrong.anchors &&
	! cmp -s "$ANCHORS" wrong.anchors && ANCHORS=$TEST_DIR/wrong.anchors &&
	pa wee --host mx1.dane.test && dane_rc_is wee 75 &&
	dane_want wee "tlsa_result tlsa_addr_dnssec" "temperror|failed" &&
	pa wgood good.dane.test && dane_rc_is wgood 75 &&
	pa wcn3 cn3.dane.test && dane_rc_is wcn3 75 &&
	pa wnota --host nota.dane.test && dane_rc_is wnota 75
'

test_expect_success 'a wrong DS for dane.test leaves the other zones alone' '
	ANCHORS=$TEST_DIR/wrong.anchors &&
	pa wins --host mx.plain.test && dane_rc_is wins 2 &&
	dane_want wins "tlsa_result tlsa_dnssec" "none|insecure" &&
	pa wbog --host mx.bogus.test && dane_rc_is wbog 75
'

test_expect_success 'a trust anchor file that does not exist: exit 66' '
	ANCHORS=$TEST_DIR/nowhere.anchors &&
	pa miss --host mx1.dane.test && dane_rc_is miss 66 &&
	grep -q "nowhere.anchors" miss.err && [ ! -s miss.json ]
'

test_expect_success 'garbage in the trust anchor file: exit 65, file:line said' '
	printf "; anchors\\ndane.test. IN DS 1 2\\n" >garbage.anchors &&
	ANCHORS=$TEST_DIR/garbage.anchors &&
	pa garb --host mx1.dane.test && dane_rc_is garb 65 && cat garb.err &&
	grep -q "garbage.anchors:2:" garb.err && [ ! -s garb.json ] &&
	printf "dane.test. IN A 192.0.2.1\\n" >nota.anchors &&
	ANCHORS=$TEST_DIR/nota.anchors &&
	pa nrec --host mx1.dane.test && dane_rc_is nrec 65 &&
	grep -q "nota.anchors:1: not a DS or DNSKEY" nrec.err &&
	: >empty.anchors && ANCHORS=$TEST_DIR/empty.anchors &&
	pa empty --host mx1.dane.test && dane_rc_is empty 65 &&
	grep -q "no DS or DNSKEY" empty.err
'

############################################################ a second world
# n3.test: NSEC3, with ins.n3.test delegated without DS (served unsigned);
# w.test: NSEC, wildcards, and strip.w.test whose RRSIG was removed.
dns_zone_begin ins.n3.test "$Z/ins.zone"
cat >>"$Z/ins.zone" <<EOF
mx	IN A 127.0.0.2
_$P._tcp.mx	IN TLSA 3 1 1 $H_mx1
EOF
dns_zone_begin n3.test "$Z/n3.zone"
cat >>"$Z/n3.zone" <<EOF
ins	IN NS ns.n3.test.
ns	IN A 127.0.0.1
mx1	IN A 127.0.0.2
_$P._tcp.mx1	IN TLSA 3 1 1 $H_mx1
nota	IN A 127.0.0.2
nodata	IN A 127.0.0.2
_$P._tcp.nodata	IN TXT "no TLSA here"
EOF
dns_zone_begin w.test "$Z/w.zone"
cat >>"$Z/w.zone" <<EOF
*	IN A 127.0.0.2
wild	IN A 127.0.0.2
*._tcp.wild	IN TLSA 3 1 1 $H_mx1
strip	IN A 127.0.0.2
_$P._tcp.strip	IN TLSA 3 1 1 $H_mx1
EOF
world2() {
	dnssec_sign_zone --nsec3 n3.test "$Z/n3.zone" &&
	    dnssec_sign_zone w.test "$Z/w.zone" || return 1
	grep -v "^strip\\.w\\.test\\.[[:space:]].*RRSIG[[:space:]]*A " \
	    "$Z/w.zone.signed" >"$Z/w.zone.stripped" &&
	    ! cmp -s "$Z/w.zone.signed" "$Z/w.zone.stripped" || return 1
	dnssec_rig_start dane.test="$Z/dane.zone.signed" \
	    child.dane.test="$Z/child.zone.signed" \
	    plain.test="$Z/plain.zone" bogus.test="$Z/bogus.zone.signed" \
	    n3.test="$Z/n3.zone.signed" ins.n3.test="$Z/ins.zone" \
	    w.test="$Z/w.zone.stripped" &&
	    unbound_start && unbound_start_nonvalidating
}
if [ $rigrc = 0 ]; then
	world2 2>world2.err
	w2rc=$?
else
	w2rc=1
fi
ANCHORS=${DNSSEC_ANCHORS:-/nonexistent}

test_expect_success 'second world: NSEC3 and wildcard zones signed and served' '
	cat world2.err && [ $w2rc = 0 ] &&
	grep -q "^n3\\.test\\." "$ANCHORS" && grep -q "^w\\.test\\." "$ANCHORS" &&
	grep -q NSEC3 "$Z/n3.zone.signed"
'

test_expect_success 'NSEC3 zone: secure TLSA, pass' '
	same n3ee --host mx1.n3.test && dane_rc_is n3ee 0 &&
	dane_want n3ee "tlsa_result tlsa_dnssec" "pass|secure"
'

test_expect_success 'NSEC3 zone: NXDOMAIN and NODATA for TLSA, secure, none' '
	same n3nx --host nota.n3.test && dane_rc_is n3nx 2 &&
	dane_want n3nx "tlsa_result tlsa_dnssec" "none|secure" &&
	same n3nd --host nodata.n3.test && dane_rc_is n3nd 2 &&
	dane_want n3nd "tlsa_result tlsa_dnssec" "none|secure"
'

test_expect_success 'NSEC3 zone, delegation without DS: insecure, none, exit 2' '
	same n3ins --host mx.ins.n3.test && dane_rc_is n3ins 2 &&
	dane_want n3ins "tlsa_result tlsa_addr_dnssec tlsa_dnssec" \
	    "none|insecure|insecure"
'

test_expect_success 'wildcard A and TLSA (NSEC proof of the name): pass' '
	same wtl --host wild.w.test && dane_rc_is wtl 0 &&
	dane_want wtl "tlsa_result tlsa_dnssec" "pass|secure" &&
	same wany --host any.w.test && dane_rc_is wany 2 &&
	dane_want wany "tlsa_result tlsa_addr_dnssec tlsa_dnssec" \
	    "none|secure|secure"
'

test_expect_success 'a signed zone, one RRSIG stripped: bogus, temperror, 75' '
	same strip --host strip.w.test && dane_rc_is strip 75 &&
	dane_want strip "tlsa_result tlsa_addr_dnssec" "temperror|failed"
'

test_done
