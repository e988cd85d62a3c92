#!/bin/sh
# RFC 8616: a signing domain given in U-labels is signed, and its key record
# published, in A-labels; dkimverify finds the record by its A-labels.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

NOW=1700000000
ULABEL=$(printf 'b\303\274cher.example')	# bücher.example
ALABEL=xn--bcher-kva.example
mkmsg msg.eml

# the DKIM-Signature of FILE unfolded onto one line
sigline() {
	awk '/^DKIM-Signature:/ { on = 1; printf "%s", $0; next }
	    on && /^[ \t]/ { printf "%s", $0; next } { on = 0 }' "$1" | tr -d '\r' | tr '\t' ' '
}

test_expect_success 'keygen -d U-label prints the record name in A-labels' '
	dkimsign --keygen rsa -d "$ULABEL" -s sel -k rsa.key >rsa.rec &&
	grep -q "^sel\._domainkey\.$ALABEL\. IN TXT" rsa.rec &&
	! grep -q "$ULABEL" rsa.rec &&
	{
		echo "\$ORIGIN $ALABEL."
		echo "\$TTL 300"
		echo "@ IN SOA ns.$ALABEL. hostmaster.$ALABEL. 1 3600 600 86400 300"
		cat rsa.rec
	} >idn.zone
'

test_expect_success 'dkimsign -d U-label signs with d= and i= in A-labels' '
	dkimsign --now $NOW -d "$ULABEL" -s sel -k rsa.key \
	    -i "joe@news.$ULABEL" msg.eml >signed.eml &&
	sigline signed.eml >sig &&
	grep -q " d=$ALABEL;" sig &&
	grep -q " i=joe@news\.$ALABEL;" sig &&
	! grep -q "$ULABEL" sig &&
	grep -q "^From: Alice" signed.eml
'

test_expect_success 'dkimverify passes it with the A-label record' '
	dkimverify --now $NOW --dns-zone idn.zone -o kv signed.eml >out.kv &&
	kv_expect out.kv dkim_verify_status pass &&
	kv_expect out.kv dkim_domain "$ALABEL" &&
	kv_expect out.kv dkim_identity "joe@news.$ALABEL"
'

test_expect_success 'an invalid U-label domain is refused (--strict: exit 75)' '
	expect_status 75 dkimsign --strict --now $NOW -s sel -k rsa.key \
	    -d "$(printf "\377.example")" msg.eml >out 2>err &&
	! [ -s out ] && grep -q "signing domain" err
'

test_done
