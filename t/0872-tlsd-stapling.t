#!/bin/sh
# lib/tlsd staples what ocsp-fetch writes: leaves (ECDSA and RSA) of the
# test PKI (t/rig/pki.sh), responses fetched by ocsp-fetch from a real
# `openssl ocsp` responder, then test_tlsd's rig case (TLSD_RIG_DIR) serves
# them to its own client and to `openssl s_client -status`.  The
# staleness, replacement and SNI cases are the unit test's own (0046).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"
require_bin ocsp-fetch
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

P=$TEST_DIR/pki
pki_make "$P" || { echo "Bail out! pki_make"; exit 1; }
pki_leaf mx "DNS:mx.test" ec && pki_leaf mxr "DNS:mx.test" rsa ||
	{ echo "Bail out! pki_leaf"; exit 1; }
pki_ocsp_start main || { echo "Bail out! pki_ocsp_start"; exit 1; }

test_expect_success 'ocsp-fetch writes both stapling files' '
	ocsp-fetch -c "$P/mx.chain.pem" -O "$P/mx.der" \
	    -c "$P/mxr.chain.pem" -O "$P/mxr.der" &&
	[ -s "$P/mx.der" ] && [ -s "$P/mxr.der" ]
'

test_expect_success 'tlsd staples them, per certificate' '
	TLSD_RIG_DIR=$P CMOCKA_MESSAGE_OUTPUT=TAP \
	    "$MXKIT_BIN/unit/test_tlsd" >unit.tap 2>&1 ||
	    { cat unit.tap; false; } &&
	grep -q "^ok 1 - test_rig$" unit.tap
'

test_expect_success 'openssl s_client -status sees a good staple' '
	grep -q "OCSP Response Status: successful" "$P/s_client.out" &&
	grep -q "Cert Status: good" "$P/s_client.out" &&
	grep -q "CN *= *mx.test" "$P/s_client.out" ||
	    { cat "$P/s_client.out"; false; }
'

test_done
