#!/bin/sh
# dmarceval's inputs and outputs against a real DNS server: SPF computed
# with lib/spf (-i -s -e), DKIM verified from real signatures made by
# dkimsign, SPF and DKIM taken from a trusted Authentication-Results field
# (and an untrusted one ignored: CVE-2019-20790; a malformed one: 65), the
# text, kv and json outputs, filter mode with the A-R field parsed back by
# python3-authres, and bad input (64, 65, 66).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dmarc.sh"

/usr/bin/python3 -c 'import authres' 2>/dev/null || skip_all "python3-authres missing"
dmarc_rig

mkfrom msg.eml "Alice <alice@reject.test>"
dkimsign -d reject.test -s sel -k reject.key msg.eml >signed.eml &&
dkimsign -d other.test -s sel -k other.key msg.eml >other.eml &&
dkimsign -d other.test -s sel -k other.key signed.eml >both.eml ||
	{ echo "Bail out! dkimsign failed"; exit 1; }
sed 's/^a DMARC test message\./a forged test message./' signed.eml >tampered.eml

# ---- SPF computed ------------------------------------------------------------------

test_expect_success 'SPF computed: -i allowed -s alice@reject.test: aligned pass' '
	evx s1.kv 0 "-i 192.0.2.1 -s alice@reject.test -e relay.test msg.eml" \
	    dmarc_status=accept dmarc_spf_aligned=1
'

test_expect_success 'SPF computed: -i not allowed: fail, reject' '
	evx s2.kv 1 "-i 192.0.2.99 -s alice@reject.test -e relay.test msg.eml" \
	    dmarc_status=reject dmarc_spf_aligned=0
'

test_expect_success 'SPF computed: IPv6 client not allowed: reject' '
	evx s3.kv 1 "-i 2001:db8::1 -s alice@reject.test -e relay.test msg.eml" dmarc_status=reject
'

test_expect_success 'SPF computed: null sender, the HELO identity (reject.test) aligns' '
	evx s4.kv 0 "-i 192.0.2.1 -s <> -e reject.test msg.eml" dmarc_status=accept dmarc_spf_aligned=1 &&
	evx s5.kv 0 "-i 192.0.2.1 -e reject.test msg.eml" dmarc_status=accept
'

test_expect_success 'SPF computed: a pass for another domain does not align' '
	evx s6.kv 1 "-i 192.0.2.1 -s bounce@other.test -e relay.test msg.eml" \
	    dmarc_status=reject dmarc_spf_aligned=0
'

test_expect_success 'the A-R field names the SPF result and the identity' '
	ev s7.kv -i 192.0.2.99 -s alice@reject.test -e relay.test msg.eml
	kvget dmarc_ar_header s7.kv >s7.ar && ar_parse s7.ar >s7.p &&
	grep -q "^spf=fail smtp.mailfrom=" s7.p
'

test_expect_success '--spf-scope helo: smtp.helo in the A-R field, a HELO pass does not align' '
	evx s8.kv 1 "--spf pass --spf-domain reject.test --spf-scope helo --dkim x.test=none msg.eml" \
	    dmarc_status=reject dmarc_spf_aligned=0 &&
	kvget dmarc_ar_header s8.kv >s8.ar && ar_parse s8.ar >s8.p &&
	grep -q "^spf=pass smtp.helo=reject.test" s8.p
'

# ---- DKIM verified ---------------------------------------------------------------

test_expect_success 'DKIM: a good signature by reject.test aligns: accept' '
	evx d1.kv 0 "signed.eml" dmarc_status=accept dmarc_dkim_aligned=1 dmarc_spf_aligned=0
'

test_expect_success 'DKIM: a body changed after signing: reject' '
	evx d2.kv 1 "tampered.eml" dmarc_status=reject dmarc_dkim_aligned=0
'

test_expect_success 'DKIM: a good signature by other.test does not align: reject' '
	evx d3.kv 1 "other.eml" dmarc_status=reject dmarc_dkim_aligned=0
'

test_expect_success 'DKIM: two signatures, the aligned one decides: accept' '
	evx d4.kv 0 "both.eml" dmarc_status=accept dmarc_dkim_aligned=1 &&
	kvget dmarc_ar_header d4.kv >d4.ar && ar_parse d4.ar >d4.p &&
	grep -q "^dkim=pass .*header.d=reject.test" d4.p &&
	grep -q "^dkim=pass .*header.d=other.test" d4.p
'

test_expect_success 'DKIM: --now before the signature was made (t= in the future): reject' '
	evx d5.kv 1 "--now 1000000000 signed.eml" dmarc_status=reject
'

test_expect_success 'DKIM: --dkim replaces verification' '
	evx d6.kv 1 "--dkim other.test=pass signed.eml" dmarc_status=reject &&
	evx d7.kv 0 "--dkim other.test=pass --dkim reject.test=pass msg.eml" dmarc_status=accept
'

# ---- Authentication-Results in, trusted or not -------------------------------------------

AR_PASS="Authentication-Results: $ID; spf=pass smtp.mailfrom=alice@reject.test; dkim=pass header.d=reject.test header.s=sel"
AR_EVIL="Authentication-Results: evil.test; spf=pass smtp.mailfrom=alice@reject.test; dkim=pass header.d=reject.test"
mkfrom ar-trusted.eml "alice@reject.test" "$AR_PASS"
mkfrom ar-untrusted.eml "alice@reject.test" "$AR_EVIL"
mkfrom ar-both.eml "alice@reject.test" "$AR_EVIL" \
    "Authentication-Results: $ID; spf=fail smtp.mailfrom=alice@reject.test; dkim=none"
mkfrom ar-bad.eml "alice@reject.test" "Authentication-Results: $ID; spf=pass smtp.mailfrom=(unclosed"
mkfrom ar-badother.eml "alice@reject.test" "Authentication-Results: evil.test; ===; ;" "$AR_PASS"

test_expect_success '--trust-authres: SPF and DKIM from the trusted field: accept' '
	evx t1.kv 0 "--trust-authres $ID ar-trusted.eml" dmarc_status=accept \
	    dmarc_spf_aligned=1 dmarc_dkim_aligned=1
'

test_expect_success '--trust-authres: an A-R field of another id is ignored (CVE-2019-20790)' '
	evx t2.kv 1 "--trust-authres $ID ar-untrusted.eml" dmarc_status=reject \
	    dmarc_spf_aligned=0 dmarc_dkim_aligned=0
'

test_expect_success '--trust-authres: only the trusted of two fields counts' '
	evx t3.kv 1 "--trust-authres $ID ar-both.eml" dmarc_status=reject
'

test_expect_success '--trust-authres: the id is compared without regard to case' '
	evx t4.kv 0 "--trust-authres MX.Test ar-trusted.eml" dmarc_status=accept
'

test_expect_success '--trust-authres: a malformed trusted field is bad input (65)' '
	expect_status 65 dmarceval --trust-authres $ID ar-bad.eml >t5.out 2>t5.err &&
	grep -q "^dmarceval: " t5.err
'

test_expect_success '--trust-authres: a malformed untrusted field is ignored' '
	evx t6.kv 0 "--trust-authres $ID ar-badother.eml" dmarc_status=accept
'

test_expect_success 'without --trust-authres an A-R field in the message is not believed' '
	evx t7.kv 1 "--spf none --spf-domain reject.test ar-trusted.eml" dmarc_status=reject
'

test_expect_success '--trust-authres -f: a malformed trusted field, the message still goes out' '
	dmarceval -f --trust-authres $ID ar-bad.eml >t8.out 2>t8.err && cmp t8.out ar-bad.eml
'

# ---- outputs -------------------------------------------------------------------------

test_expect_success 'text: one line "STATUS (TEXT) from= policy= used="' '
	dmarceval --authserv-id $ID --spf fail --spf-domain reject.test msg.eml >o.txt; [ $? = 1 ] &&
	[ "$(wc -l <o.txt)" = 1 ] &&
	grep -q "^reject (.*) from=reject.test policy=reject used=reject.test\$" o.txt
'

test_expect_success 'ar: the Authentication-Results field alone, folded, the same verdict' '
	dmarceval -o ar --authserv-id $ID --spf fail --spf-domain reject.test msg.eml >o.ar
	[ $? = 1 ] &&
	head -n 1 o.ar | grep -q "^Authentication-Results: $ID; " &&
	! grep -v "^Authentication-Results: \|^ " o.ar &&
	eval "$(dmarceval -o kv --authserv-id $ID --spf fail --spf-domain reject.test msg.eml)"
	test "$(tr -d "\n" <o.ar)" = "$dmarc_ar_header"
'

test_expect_success 'json: one object with the kv names, booleans as booleans' '
	dmarceval -o json --authserv-id $ID signed.eml >o.json &&
	[ "$(wc -l <o.json)" = 1 ] &&
	/usr/bin/python3 -c "
import json, sys
o = json.load(open(\"o.json\"))
assert o[\"dmarc_status\"] == \"accept\", o
assert o[\"dmarc_dkim_aligned\"] is True and o[\"dmarc_spf_aligned\"] is False, o
for k in (\"dmarc_status_text\", \"dmarc_used_domain\", \"dmarc_domain_policy\", \"dmarc_ar_header\",
          \"dmarc_from_domain\", \"dmarc_disposition\", \"dmarc_policy_tag\", \"dmarc_sampled_out\",
          \"dmarc_testing\", \"dmarc_record\"):
    assert k in o, k
"
'

test_expect_success 'kv: eval-safe, every variable of the contract in order' '
	ev o.kv signed.eml &&
	sed "s/=.*//" o.kv | head -n 13 | tr "\n" " " >o.names &&
	[ "$(cat o.names)" = "dmarc_status dmarc_status_text dmarc_used_domain dmarc_domain_policy dmarc_ar_header dmarc_from_domain dmarc_disposition dmarc_policy_tag dmarc_spf_aligned dmarc_dkim_aligned dmarc_sampled_out dmarc_testing dmarc_record " ] &&
	(eval "$(cat o.kv)" && [ "$dmarc_status" = accept ])
'

# policy.dmarc is the disposition: none for a message that passed
test_expect_success 'dmarc_ar_header parses with python3-authres: dkim, spf, dmarc' '
	ev o2.kv -i 192.0.2.99 -s alice@reject.test -e relay.test signed.eml
	kvget dmarc_ar_header o2.kv >o2.ar && ar_parse o2.ar >o2.p &&
	grep -qx "id $ID" o2.p &&
	grep -q "^dkim=pass .*header.d=reject.test" o2.p &&
	grep -q "^spf=fail .*smtp.mailfrom=" o2.p &&
	grep -q "^dmarc=pass .*header.from=reject.test" o2.p &&
	grep -q "^dmarc=pass .*policy.dmarc=none" o2.p
'

# ---- filter mode -------------------------------------------------------------------

test_expect_success '-f: the A-R field on top, parsed by python3-authres, message otherwise whole' '
	dmarceval -f --authserv-id $ID --spf fail --spf-domain reject.test msg.eml >f1.out &&
	head -n 1 f1.out | grep -q "^Authentication-Results: $ID;" &&
	ar_parse f1.out >f1.p && grep -q "^dmarc=fail .*header.from=reject.test" f1.p &&
	grep -q "^dmarc=fail .*policy.dmarc=reject" f1.p &&
	awk "found || !/^(Authentication-Results:|[ \t])/ { found = 1; print }" f1.out | cmp - msg.eml
'

test_expect_success '-f --strip-authres: our old (forged) A-R fields go, others stay' '
	{ printf "Authentication-Results: %s; dmarc=pass header.from=reject.test\n" $ID
	  printf "Authentication-Results: other.example; spf=pass smtp.mailfrom=x.test\n"
	  cat msg.eml; } >forged.eml &&
	dmarceval -f --strip-authres --authserv-id $ID --spf fail --spf-domain reject.test forged.eml >fs.out &&
	[ "$(grep -c "^Authentication-Results: $ID;" fs.out)" = 1 ] &&
	grep -q "^Authentication-Results: other.example;" fs.out &&
	! grep -q "dmarc=pass" fs.out &&
	expect_status 64 dmarceval --strip-authres msg.eml 2>/dev/null
'

test_expect_success '-f: field lines fit 78 columns, CRLF messages get CRLF' '
	crlf msg.eml msg-crlf.eml &&
	dmarceval -f --authserv-id $ID --spf fail --spf-domain reject.test msg-crlf.eml >f2.out &&
	awk "NR == 1 || /^[ \t]/ { print; next } { exit }" f2.out >f2.field &&
	tr -d "\r" <f2.field | awk "length > 78 { bad = 1 } END { exit bad }" &&
	[ "$(tr -cd "\r" <f2.field | wc -c)" = "$(wc -l <f2.field)" ] &&
	tail -c $(wc -c <msg-crlf.eml) f2.out | cmp - msg-crlf.eml
'

test_expect_success '-f: every status exits 0 when the message went out' '
	for f in msg.eml signed.eml; do
		dmarceval -f --authserv-id $ID --spf fail --spf-domain reject.test $f >f3.out || exit 1
	done
'

test_expect_success '-f: a message that cannot be parsed goes out unchanged (exit 0)' '
	printf "this is not a header\nFrom: alice@reject.test\n\nbody\n" >bad.eml &&
	dmarceval -f --authserv-id $ID bad.eml >f4.out 2>f4.err && cmp f4.out bad.eml &&
	grep -q "^dmarceval: " f4.err
'

test_expect_success '-f: an input that cannot be read: nothing written, exit 75' '
	expect_status 75 dmarceval -f /nonexistent/msg.eml >f5.out 2>/dev/null && [ ! -s f5.out ]
'

# ---- bad input ----------------------------------------------------------------------

test_expect_success 'a message that cannot be parsed: 65' '
	expect_status 65 dmarceval bad.eml 2>/dev/null
'

test_expect_success 'a message that cannot be opened: 66' '
	expect_status 66 dmarceval /nonexistent/msg.eml 2>/dev/null
'

test_expect_success 'usage errors: 64' '
	expect_status 64 dmarceval --spf pass msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --spf bogus --spf-domain x.test msg.eml 2>/dev/null &&
	expect_status 64 dmarceval -i 192.0.2.1 msg.eml 2>/dev/null &&
	expect_status 64 dmarceval -s a@b.test msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --dkim reject.test msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --dkim reject.test=great msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --mode rfc1234 msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --trust-authres $ID --spf pass --spf-domain a.test msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --tempfail msg.eml 2>/dev/null &&
	expect_status 64 dmarceval -f -o kv msg.eml 2>/dev/null &&
	expect_status 64 dmarceval -f --forensic - msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --aggregate h --org x msg.eml 2>/dev/null &&
	expect_status 64 dmarceval --sendmail sendmail msg.eml 2>/dev/null &&
	expect_status 64 dmarceval msg.eml msg.eml 2>/dev/null
'

test_expect_success 'an IP that is not an address: 64' '
	expect_status 64 dmarceval -i 192.0.2.300 -s a@reject.test msg.eml 2>/dev/null
'

test_done
