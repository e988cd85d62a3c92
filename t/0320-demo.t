#!/bin/sh
# The demo (make demo): contrib/demo.sh over the shipped t/data/demo archive,
# offline, with the verdicts t/data/demo/expected.txt lists; and
# contrib/demo-make.sh still makes an archive with the same verdicts.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

DEMO=$TEST_SRC/data/demo
NOW=1772323200

# demo_verdicts FILE: "N verdict..." from demo.sh's output, in expected.txt's
# words ("pass", "fail:bodyhash_mismatch", "none", one per signature)
demo_verdicts() {
	awk '
		function flush() { if (n != "") print n v }
		/^#[0-9]+ / { flush(); n = substr($1, 2); v = ""; next }
		/^     dkim: / {
			w = $2
			if ($3 ~ /^\(.*\)$/) w = w ":" substr($3, 2, length($3) - 2)
			v = v " " w
		}
		END { flush() }
	' "$1"
}

# An unanswering resolver: if the demo asked the network it would time out.
dns_rig_blackhole || { echo "Bail out! no blackhole"; exit 1; }
MXKIT_RESOLVER=$DNS_BLACKHOLE
export MXKIT_RESOLVER

test_expect_success 'demo.sh runs offline and exits 0' '
	timeout 120 sh "$TOP/contrib/demo.sh" "$MXKIT_BIN" >demo.out 2>demo.err ||
		{ cat demo.err; false; }
'

test_expect_success 'demo: one verdict per signature, as expected.txt says' '
	demo_verdicts demo.out >got.txt &&
	diff "$DEMO/expected.txt" got.txt
'

test_expect_success 'demo: the counts' '
	[ "$(count_lines got.txt)" = 36 ] &&
	pass=$(grep -o " pass" got.txt | wc -l) && [ $pass = 24 ] &&
	grep -q "^signatures: 24 pass, 7 fail, 2 invalid; 4 messages not signed\$" demo.out &&
	grep -q "^summary: 36 messages" demo.out &&
	grep -q "^summary: status: pass 24, fail 7, invalid 2, none 4\$" demo.out
'

test_expect_success 'demo: no network query, no timeout' '
	grep -q "^summary: dns: 0 network queries" demo.out &&
	grep -q " 0 timeouts)" demo.out
'

test_expect_success 'demo: every status the sample is meant to show' '
	for w in pass fail:bodyhash_mismatch fail:signature_incorrect none invalid:key_revoked \
	    fail:algorithm_historic fail:signature_expired invalid:pubkey_unavailable; do
		grep -q "^[0-9]* $w\$" got.txt || { echo "no $w"; exit 1; }
	done &&
	grep -q "^[0-9]* pass pass\$" got.txt
'

test_expect_success 'demo: From and Subject shown for each message' '
	[ "$(grep -c "^     Subject: " demo.out)" = 36 ] &&
	grep -q "^#31  From:    .*<.*@example.org>\$" demo.out &&
	grep -A1 "^#31 " demo.out | grep -q "Subject: Dual-signed announcement"
'

test_expect_success 'the sample is a 36-message mboxrd with its keys in the zone' '
	[ "$(grep -c "^From " "$DEMO/sample.mbox")" = 36 ] &&
	grep -q "^>From now on" "$DEMO/sample.mbox" &&
	grep -q "^rsa2024\._domainkey\.example\.org\." "$DEMO/keys.zone" &&
	grep -q "^ed2024\._domainkey\.example\.org\." "$DEMO/keys.zone"
'

test_expect_success 'demo.sh without an argument is a usage error' '
	expect_status 64 sh "$TOP/contrib/demo.sh"
'

test_expect_success 'demo-make.sh makes a fresh archive with the same verdicts' '
	sh "$TOP/contrib/demo-make.sh" "$MXKIT_BIN" fresh >make.out 2>&1 &&
	cmp fresh/expected.txt "$DEMO/expected.txt" &&
	timeout 120 dkimverify --mbox -o json --dns-zone fresh/keys.zone --now $NOW \
		fresh/sample.mbox >fresh.json &&
	"$PY" - fresh.json fresh/expected.txt <<-\EOF
	import json, sys
	got = []
	for l in open(sys.argv[1]):
	    o = json.loads(l)
	    ws = []
	    for s in o["signatures"] or [{"dkim_verify_status": "none", "dkim_verify_reason": ""}]:
	        w = s["dkim_verify_status"]
	        if s["dkim_verify_reason"]:
	            w += ":" + s["dkim_verify_reason"]
	        ws.append(w)
	    got.append("%d %s" % (o["message"], " ".join(ws)))
	want = open(sys.argv[2]).read().split("\n")[:-1]
	assert got == want, [(g, w) for g, w in zip(got, want) if g != w]
	EOF
'

test_expect_success 'demo-make.sh refuses to overwrite an existing demo' '
	expect_status 73 sh "$TOP/contrib/demo-make.sh" "$MXKIT_BIN" fresh
'

test_done
