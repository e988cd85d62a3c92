#!/bin/sh
# RFC 8463 Appendix A: the example message signed with ed25519-sha256
# (s=brisbane) and rsa-sha256 (s=test) by football.example.com verifies with
# the published keys of A.2, loaded with --dns-zone (no network).
# t/data/rfc8463/signed.eml is A.3 and keys.zone is A.2, as printed.
. "$(dirname "$0")/lib.sh"

D=$TEST_SRC/data/rfc8463
NOW=1528637999		# t=1528637909 plus a bit
[ -x "$MXKIT_BIN/dkimverify" ] || skip_all "dkimverify not built"

# kv_get NAME FILE: the value of NAME='value' in kv output
kv_get() { sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$2"; }

test_expect_success 'the example verifies: both signatures pass (kv)' '
	"$MXKIT_BIN/dkimverify" --dns-zone "$D/keys.zone" --now $NOW -o kv "$D/signed.eml" >out &&
	cat out &&
	test "$(kv_get dkim_verify_status out)" = "pass:pass" &&
	test "$(kv_get dkim_1_verify_status out)" = pass &&
	test "$(kv_get dkim_2_verify_status out)" = pass &&
	test "$(kv_get dkim_1_algo out)" = ed25519-sha256 &&
	test "$(kv_get dkim_2_algo out)" = rsa-sha256 &&
	test "$(kv_get dkim_1_selector out)" = brisbane &&
	test "$(kv_get dkim_2_selector out)" = test &&
	test "$(kv_get dkim_1_domain out)" = football.example.com &&
	test "$(kv_get dkim_1_identity out)" = @football.example.com &&
	test "$(kv_get dkim_1_canon_headers out)" = relaxed &&
	test "$(kv_get dkim_1_canon_body out)" = relaxed &&
	test "$(kv_get dkim_1_created out)" = 1528637909 &&
	test "$(kv_get dkim_2_key_length out)" = 1024
'

test_expect_success 'exit status 0 and one text line per signature' '
	expect_status 0 "$MXKIT_BIN/dkimverify" --dns-zone "$D/keys.zone" --now $NOW "$D/signed.eml" >out &&
	cat out &&
	test "$(wc -l <out)" -eq 2 &&
	sed -n 1p out | grep "^pass " | grep "d=football.example.com" |
		grep "s=brisbane" | grep -q "a=ed25519-sha256" &&
	sed -n 2p out | grep "^pass " | grep "s=test" | grep -q "a=rsa-sha256"
'

test_expect_success 'the same message with CRLF line ends verifies' '
	sed "s/\$/$(printf "\r")/" "$D/signed.eml" >crlf.eml &&
	"$MXKIT_BIN/dkimverify" --dns-zone "$D/keys.zone" --now $NOW -o kv crlf.eml >out &&
	test "$(kv_get dkim_verify_status out)" = "pass:pass"
'

test_expect_success 'keys from MXKIT_DNS_ZONE, message on stdin' '
	MXKIT_DNS_ZONE=$D/keys.zone "$MXKIT_BIN/dkimverify" --now $NOW -o kv <"$D/signed.eml" >out &&
	test "$(kv_get dkim_verify_status out)" = "pass:pass"
'

test_expect_success 'a changed body fails both signatures (bodyhash_mismatch)' '
	sed "s/hungry/thirsty/" "$D/signed.eml" >bad.eml &&
	expect_status 1 "$MXKIT_BIN/dkimverify" --dns-zone "$D/keys.zone" --now $NOW -o kv bad.eml >out &&
	cat out &&
	test "$(kv_get dkim_verify_status out)" = "fail:fail" &&
	test "$(kv_get dkim_1_verify_reason out)" = bodyhash_mismatch &&
	test "$(kv_get dkim_2_verify_reason out)" = bodyhash_mismatch
'

test_expect_success 'a changed signed header fails both signatures (signature_incorrect)' '
	sed "s/^Subject: Is dinner ready?/Subject: Is lunch ready?/" "$D/signed.eml" >bad.eml &&
	expect_status 1 "$MXKIT_BIN/dkimverify" --dns-zone "$D/keys.zone" --now $NOW -o kv bad.eml >out &&
	test "$(kv_get dkim_1_verify_reason out)" = signature_incorrect &&
	test "$(kv_get dkim_2_verify_reason out)" = signature_incorrect
'

test_expect_success 'without the keys: pubkey_unavailable, not pass' '
	printf "\$ORIGIN football.example.com.\n@ 300 IN SOA ns h 1 3600 600 86400 300\n" >soa.zone &&
	expect_status 1 "$MXKIT_BIN/dkimverify" --dns-zone soa.zone --now $NOW -o kv "$D/signed.eml" >out &&
	cat out &&
	test "$(kv_get dkim_1_verify_reason out)" = pubkey_unavailable
'

# The copy's own check: dkimpy (an independent implementation) verifies both
# signatures of t/data/rfc8463 with the A.2 keys, so the data is verbatim.
if /usr/bin/python3 -c "import dkim, nacl" 2>/dev/null; then
	test_expect_success 'the copied appendix also verifies with dkimpy (data check)' '
		/usr/bin/python3 - "$D/signed.eml" <<-\EOF
		import sys, dkim
		recs = {
		    b"brisbane._domainkey.football.example.com": b"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		    b"test._domainkey.football.example.com": b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
		}
		f = lambda n, timeout=5: recs.get(n.rstrip(b"."))
		d = dkim.DKIM(open(sys.argv[1], "rb").read())
		sys.exit(0 if d.verify(0, dnsfunc=f) and d.verify(1, dnsfunc=f) else 1)
		EOF
	'
else
	test_skip 'the copied appendix also verifies with dkimpy (data check)' 'python3-dkim/nacl missing'
fi

# The same keys served by a real DNS server (t/rig/dns.sh, nsd on loopback).
if [ -r "$TEST_SRC/rig/dns.sh" ] && command -v nsd >/dev/null 2>&1; then
	. "$TEST_SRC/rig/dns.sh"
	dns_zone_begin football.example.com. football.zone
	grep -v "^;" "$D/keys.zone" >>football.zone
	if dns_rig_start football.example.com.=football.zone >rig.log 2>&1; then
		test_expect_success 'the example verifies with keys served by nsd' '
			"$MXKIT_BIN/dkimverify" --now $NOW -o kv "$D/signed.eml" >out &&
			test "$(kv_get dkim_verify_status out)" = "pass:pass"
		'
	else
		test_skip 'the example verifies with keys served by nsd' 'DNS rig did not start'
	fi
else
	test_skip 'the example verifies with keys served by nsd' 'no t/rig/dns.sh or nsd'
fi

test_done
