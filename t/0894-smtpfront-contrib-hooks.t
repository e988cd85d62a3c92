#!/bin/sh
# The example hooks of contrib/hooks/ run for real by smtpfront (stdin mode,
# t/rig/smtpchat.py): spf-rcpt (spfcheck at RCPT, Received-SPF), dkim-
# dmarc-data (dkimverify + dmarceval, Authentication-Results, p=reject),
# prdr-per-user (per-recipient size and sender lists under PRDR, and as a
# data hook), greylist (first 451, pass after the delay; concurrent runs;
# client data never a file name or a command).  DNS is offline: a zone
# file for "test." and, for timeouts, a resolver that never answers.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

require_bin smtpfront spfcheck dkimverify dmarceval
BIN=$MXKIT_BIN
CHAT=$TEST_SRC/rig/smtpchat.py
HOOKS=$TOP/contrib/hooks
mkdir spool hooks

FOO=bar
TCPREMOTEPORT=4444
export FOO TCPREMOTEPORT

dns_rig_blackhole || { echo "Bail out! cannot start the blackhole DNS server"; exit 1; }

# hook NAME COPY [SETTING...]: contrib/hooks/NAME as hooks/COPY, with the
# SETTINGs (sh assignments) in hooks/COPY.conf.
hook() {
	_hn=$1 _hc=$2
	shift 2
	cp "$HOOKS/$_hn" "$TEST_DIR/hooks/$_hc" && chmod +x "$TEST_DIR/hooks/$_hc" &&
	printf '%s\n' "$@" >"$TEST_DIR/hooks/$_hc.conf"
}

# sf NAME SCRIPT [OPTION...]: a session from $IP (default 192.0.2.1),
# delivery to the maildir NAME.md/LOCAL_PART.
sf() {
	_n=$1 _s=$2
	shift 2
	rm -rf "$TEST_DIR/$_n.md" && mkdir "$TEST_DIR/$_n.md"
	TCPREMOTEIP=${IP:-192.0.2.1} /usr/bin/python3 "$CHAT" --timeout 60 \
	    --exec "$BIN/smtpfront" --hostname mx.test --spool-dir "$TEST_DIR/spool" \
	    --deliver "maildir:$TEST_DIR/$_n.md/%{local_part}" "$@" "$_s" \
	    >"$TEST_DIR/$_n.out" 2>"$TEST_DIR/$_n.err"
}

has() {
	grep -qxF -- "<- $2" "$TEST_DIR/$1.out" && return 0
	echo "no line '<- $2' in $1.out:" >&2
	cat "$TEST_DIR/$1.out" "$TEST_DIR/$1.err" >&2
	return 1
}

# stored NAME LOCAL_PART N: the maildir holds N messages; the first in
# got.raw, and in got without a Return-Path: on top.
stored() {
	_d=$TEST_DIR/$1.md/$2
	_c=$(ls "$_d/new" 2>/dev/null | wc -l)
	[ "$_c" = "$3" ] || { echo "$_d: $_c messages, wanted $3" >&2; return 1; }
	[ "$_c" = 0 ] || {
		cat "$_d/new/$(ls "$_d/new" | head -n 1)" >"$TEST_DIR/got.raw"
		sed '1{/^Return-Path: /d}' "$TEST_DIR/got.raw" >"$TEST_DIR/got"
	}
}

# header_after_received FILE: the first field after the Received: on top,
# unfolded.
header_after_received() {
	awk 'NR == 1 { if ($0 !~ /^Received: /) exit 1; next }
	    /^[ \t]/ { if (p) { sub(/^[ \t]+/, " "); f = f $0 }; next }
	    p { exit } { f = $0; p = 1 } END { if (p) print f }' "$1"
}

# field_lines NAME FILE: the lines of the first NAME field, as folded.
field_lines() {
	awk -v n="$1:" 'p && /^[ \t]/ { print; next } p { exit }
	    index($0, n) == 1 { print; p = 1 }' "$2"
}

# chat FROM RCPT... : a script, one message (msg.crlf) from FROM to the
# RCPTs, every reply whatever it is; "PRDR" as FROM's suffix passes on.
chat() {
	echo "< 220"
	echo "> EHLO ${HELO:-mail.example.test}"
	echo "< 250"
	echo "> MAIL FROM:<$1>${PRDR:+ PRDR}"
	echo "<any"
	shift
	for r in "$@"; do echo "> RCPT TO:<$r>"; echo "<any"; done
	echo "> DATA"
	echo "<any"
	echo ">file $TEST_DIR/${MSG:-msg}.crlf"
	echo "<any"
	[ -n "${PRDR:-}" ] && for r in "$@" x; do echo "<any"; done
	echo "> QUIT"
	echo "<any"
}

# The zone: example.test (SPF 192.0.2.1, p=reject, a DKIM key), quar.test
# (p=quarantine), soft.test (~all), HELO mail.example.test's own SPF,
# tempfail.test (an include that only the silent resolver knows).
dkimsign --keygen ed25519 -d example.test -s ed1 -k ed1.pem >ed1.txt ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
dns_zone_begin test test.zone
cat >>test.zone <<'EOF'
example		TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.example	TXT "v=DMARC1; p=reject"
mail.example	TXT "v=spf1 ip4:192.0.2.1 -all"
quar		TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.quar	TXT "v=DMARC1; p=quarantine"
soft		TXT "v=spf1 ~all"
tempfail	TXT "v=spf1 include:spf.slow.invalid -all"
EOF
cat ed1.txt >>test.zone
DNS="--dns-zone $TEST_DIR/test.zone --resolver $DNS_BLACKHOLE --dns-timeout 200"

# msgfrom NAME FROM: NAME.eml and NAME.crlf (dot-terminated), From: FROM.
msgfrom() {
	mkmsg "$1.eml"
	sed -i "s/^From: .*/From: $2/" "$1.eml"
	crlf "$1.eml" "$1.crlf" && printf '.\r\n' >>"$1.crlf"
}
msgfrom msg "Alice <alice@example.test>"
dkimsign -d example.test -s ed1 -k ed1.pem msg.eml >signed.eml
crlf signed.eml signed.crlf && printf '.\r\n' >>signed.crlf
msgfrom quar "Quinn <q@quar.test>"
msgfrom slow "Sam <sam@slow.invalid>"

# ---- spf-rcpt ---------------------------------------------------------------------

hook spf-rcpt spf "SPFCHECK=$BIN/spfcheck" "SPFCHECK_OPTS='$DNS'"
hook spf-rcpt spf-soft "SPFCHECK=$BIN/spfcheck" "SPFCHECK_OPTS='$DNS'" SOFTFAIL=defer

test_expect_success 'spf-rcpt: pass: accepted, one Received-SPF after our Received:' '
	chat alice@example.test bob@dest.test carol@dest.test >s1.chat &&
	sf s1 s1.chat --hook-rcpt "$TEST_DIR/hooks/spf" &&
	[ "$(grep -c "^<- 250 2.1.5 Accepted\$" s1.out)" = 2 ] && stored s1 bob 1 &&
	header_after_received got >f &&
	grep -q "^Received-SPF: pass (mx.test: domain of example.test designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"alice@example.test\"; helo=mail.example.test; receiver=mx.test; identity=mailfrom; mechanism=\"ip4:192.0.2.1\";\$" f &&
	[ "$(grep -c "^Received-SPF:" got)" = 1 ] &&
	field_lines Received-SPF got | awk "length > 78 { exit 1 }"
'

test_expect_success 'spf-rcpt: fail: 550 5.7.23 with the explanation, nothing stored' '
	IP=192.0.2.9 sf s2 s1.chat --hook-rcpt "$TEST_DIR/hooks/spf" &&
	has s2 "550 5.7.23 SPF: 192.0.2.9 is not one of example.test'"'"'s designated mail servers : Reason: mechanism" &&
	has s2 "554 5.5.1 No valid recipients" && stored s2 bob 0
'

test_expect_success 'spf-rcpt: fail, but postmaster still gets it (with Received-SPF: fail)' '
	chat alice@example.test postmaster@dest.test bob@dest.test >s3.chat &&
	IP=192.0.2.9 sf s3 s3.chat --hook-rcpt "$TEST_DIR/hooks/spf" &&
	grep -q "^<- 550 5.7.23 " s3.out && stored s3 postmaster 1 && stored s3 bob 0 &&
	header_after_received got | grep -q "^Received-SPF: fail "
'

test_expect_success 'spf-rcpt: the null sender checks postmaster@HELO' '
	chat "" bob@dest.test >s4.chat &&
	IP=192.0.2.9 sf s4 s4.chat --hook-rcpt "$TEST_DIR/hooks/spf" &&
	grep -q "^<- 550 5.7.23 SPF: 192.0.2.9 is not one of mail.example.test" s4.out &&
	sf s4b s4.chat --hook-rcpt "$TEST_DIR/hooks/spf" && stored s4b bob 1 &&
	header_after_received got | grep -q "^Received-SPF: pass .*identity=mailfrom"
'

test_expect_success 'spf-rcpt: temperror (DNS timeout) is 451 4.7.24' '
	chat x@tempfail.test bob@dest.test >s5.chat &&
	sf s5 s5.chat --hook-rcpt "$TEST_DIR/hooks/spf" &&
	grep -q "^<- 451 4.7.24 SPF temporary error: " s5.out && stored s5 bob 0
'

test_expect_success 'spf-rcpt: softfail is accepted, or deferred with SOFTFAIL=defer' '
	chat x@soft.test bob@dest.test >s6.chat &&
	sf s6 s6.chat --hook-rcpt "$TEST_DIR/hooks/spf" && stored s6 bob 1 &&
	header_after_received got | grep -q "^Received-SPF: softfail " &&
	sf s6b s6.chat --hook-rcpt "$TEST_DIR/hooks/spf-soft" &&
	has s6b "451 4.7.23 SPF softfail, try again later" && stored s6b bob 0
'

test_expect_success 'spf-rcpt: none (no record) is accepted with Received-SPF: none' '
	chat x@nospf.test bob@dest.test >s7.chat &&
	sf s7 s7.chat --hook-rcpt "$TEST_DIR/hooks/spf" && stored s7 bob 1 &&
	header_after_received got | grep -q "^Received-SPF: none "
'

# ---- dkim-dmarc-data ----------------------------------------------------------------

hook dkim-dmarc-data dd "DKIMVERIFY=$BIN/dkimverify" "DMARCEVAL=$BIN/dmarceval" "DNS_OPTS='$DNS'"
hook dkim-dmarc-data dd-report "DKIMVERIFY=$BIN/dkimverify" "DMARCEVAL=$BIN/dmarceval" \
    "DNS_OPTS='$DNS'" DMARC_REJECT=no AUTHSERV_ID=auth.mx.test

test_expect_success 'dkim-dmarc-data: signed and SPF pass: one A-R with dkim, spf and dmarc pass' '
	MSG=signed chat alice@example.test bob@dest.test >d1.chat &&
	sf d1 d1.chat --hook-data "$TEST_DIR/hooks/dd" && stored d1 bob 1 &&
	header_after_received got >f &&
	grep -q "^Authentication-Results: mx.test; dkim=pass header.d=example.test; spf=pass smtp.mailfrom=example.test; dmarc=pass (p=reject dis=none) header.from=example.test policy.dmarc=none\$" f &&
	[ "$(grep -c "^Authentication-Results:" got)" = 1 ] &&
	[ "$(field_lines Authentication-Results got | wc -l)" -gt 2 ] &&
	field_lines Authentication-Results got | awk "length > 78 { exit 1 }" &&
	dkimverify -o kv --dns-zone test.zone got >v.kv && kv_expect v.kv dkim_verify_status pass
'

test_expect_success 'dkim-dmarc-data: signed, from a host SPF does not allow: DKIM alone passes DMARC' '
	IP=192.0.2.9 sf d2 d1.chat --hook-data "$TEST_DIR/hooks/dd" && stored d2 bob 1 &&
	header_after_received got | grep -q "dkim=pass header.d=example.test; spf=fail smtp.mailfrom=example.test; dmarc=pass"
'

test_expect_success 'dkim-dmarc-data: p=reject and nothing aligned passes: 550 5.7.1, nothing stored' '
	chat alice@example.test bob@dest.test >d3.chat &&
	IP=192.0.2.9 sf d3 d3.chat --hook-data "$TEST_DIR/hooks/dd" &&
	has d3 "550 5.7.1 Rejected by the DMARC policy of example.test" && stored d3 bob 0
'

test_expect_success 'dkim-dmarc-data: a tampered signature fails DKIM: still rejected' '
	sed "s/this is test message 1/this is test message 2/" signed.crlf >tampered.crlf &&
	MSG=tampered chat alice@example.test bob@dest.test >d4.chat &&
	IP=192.0.2.9 sf d4 d4.chat --hook-data "$TEST_DIR/hooks/dd" &&
	has d4 "550 5.7.1 Rejected by the DMARC policy of example.test"
'

test_expect_success 'dkim-dmarc-data: DMARC_REJECT=no only reports (dmarc=fail, policy.dmarc=reject)' '
	IP=192.0.2.9 sf d5 d3.chat --hook-data "$TEST_DIR/hooks/dd-report" && stored d5 bob 1 &&
	header_after_received got | grep -q "^Authentication-Results: auth.mx.test; dkim=none; spf=fail smtp.mailfrom=example.test; dmarc=fail (p=reject dis=reject) header.from=example.test policy.dmarc=reject\$"
'

test_expect_success 'dkim-dmarc-data: p=quarantine is accepted, the field says quarantine' '
	MSG=quar chat q@quar.test bob@dest.test >d6.chat &&
	IP=192.0.2.9 sf d6 d6.chat --hook-data "$TEST_DIR/hooks/dd" && stored d6 bob 1 &&
	header_after_received got | grep -q "dmarc=fail .*policy.dmarc=quarantine\$"
'

test_expect_success 'dkim-dmarc-data: a DMARC lookup that times out is 451' '
	MSG=slow chat sam@slow.invalid bob@dest.test >d7.chat &&
	sf d7 d7.chat --hook-data "$TEST_DIR/hooks/dd" &&
	has d7 "451 4.7.1 DMARC: temporary DNS error, try again later" && stored d7 bob 0
'

# ---- prdr-per-user -------------------------------------------------------------------

cat >users <<'EOF'
# recipient		max-size	refused senders
bob@dest.test		1K
Carol@Dest.test		-		spam@bad.test @junk.test
@dest.test		100K		<>
EOF
hook prdr-per-user pu "USERS=$TEST_DIR/users"
msgfrom big "Alice <alice@example.test>"
{ sed '$d' big.crlf; i=0; while [ $i -lt 40 ]; do
	printf 'padding line %s of a message bigger than bob takes\r\n' $i; i=$((i + 1)); done
	printf '.\r\n'; } >big2.crlf && mv big2.crlf big.crlf

test_expect_success 'prdr-per-user: too big for bob only: 552 for bob, the others get it' '
	PRDR=1 MSG=big chat alice@example.test bob@dest.test carol@dest.test dave@dest.test >u1.chat &&
	sf u1 u1.chat --hook-prdr "$TEST_DIR/hooks/pu" &&
	has u1 "552 5.2.2 The message is too big for <bob@dest.test> (at most 1K)" &&
	has u1 "250 PRDR R=<carol@dest.test> acceptance" &&
	has u1 "250 PRDR R=<dave@dest.test> acceptance" &&
	stored u1 bob 0 && stored u1 carol 1 && stored u1 dave 1
'

test_expect_success 'prdr-per-user: a sender carol refuses (address, @domain and subdomain)' '
	for s in spam@bad.test x@junk.test y@sub.junk.test SPAM@BAD.TEST; do
		PRDR=1 chat "$s" bob@dest.test carol@dest.test >u2.chat &&
		sf u2 u2.chat --hook-prdr "$TEST_DIR/hooks/pu" &&
		has u2 "550 5.7.1 <carol@dest.test> does not accept mail from <$s>" &&
		has u2 "250 PRDR R=<bob@dest.test> acceptance" &&
		stored u2 carol 0 && stored u2 bob 1 || { echo "sender $s"; exit 1; }
	done &&
	PRDR=1 chat x@notjunk.test bob@dest.test carol@dest.test >u2b.chat &&
	sf u2b u2b.chat --hook-prdr "$TEST_DIR/hooks/pu" && stored u2b carol 1
'

test_expect_success 'prdr-per-user: the @domain line: the null sender refused for dave, not bob' '
	PRDR=1 chat "" bob@dest.test dave@dest.test >u3.chat &&
	sf u3 u3.chat --hook-prdr "$TEST_DIR/hooks/pu" &&
	has u3 "550 5.7.1 <dave@dest.test> does not accept mail from <>" &&
	stored u3 bob 1 && stored u3 dave 0
'

test_expect_success 'prdr-per-user: as the data hook for one recipient: 552 at DATA' '
	MSG=big chat alice@example.test bob@dest.test >u4.chat &&
	sf u4 u4.chat --hook-data "$TEST_DIR/hooks/pu" &&
	has u4 "552 5.2.2 The message is too big for <bob@dest.test> (at most 1K)" &&
	stored u4 bob 0 &&
	sf u5 u4.chat --hook-data "$TEST_DIR/hooks/pu" --hook-prdr "$TEST_DIR/hooks/pu" &&
	has u5 "552 5.2.2 The message is too big for <bob@dest.test> (at most 1K)"
'

test_expect_success 'prdr-per-user: several recipients without PRDR: the data hook accepts' '
	MSG=big chat alice@example.test bob@dest.test carol@dest.test >u6.chat &&
	sf u6 u6.chat --hook-data "$TEST_DIR/hooks/pu" && stored u6 bob 1 && stored u6 carol 1
'

# ---- greylist ------------------------------------------------------------------------

hook greylist grey "GREYLIST_DIR=$TEST_DIR/grey" GREYLIST_DELAY=1
# records: the files of the store (records and markers), one a line.
records() { find "$TEST_DIR/grey" -type f | sort; }

test_expect_success 'greylist: a new triplet is deferred with 451 4.7.1' '
	chat alice@example.test bob@dest.test >g1.chat &&
	sf g1 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g1 "451 4.7.1 Greylisted, try again later" && stored g1 bob 0 &&
	[ "$(records | wc -l)" = 1 ] &&
	records | grep -q "/grey/[0-9a-f][0-9a-f]/[0-9a-f]\{64\}\$"
'

test_expect_success 'greylist: at once again: still 451; another recipient: 451, its own record' '
	sf g2 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g2 "451 4.7.1 Greylisted, try again later" &&
	chat alice@example.test carol@dest.test >g3.chat &&
	sf g3 g3.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g3 "451 4.7.1 Greylisted, try again later" && [ "$(records | wc -l)" = 2 ]
'

test_expect_success 'greylist: after the delay: 250 and delivered; from then on at once' '
	sleep 2.2 &&
	sf g4 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g4 "250 2.1.5 Accepted" && stored g4 bob 1 &&
	records | grep -q "\.ok\$" &&
	sf g5 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" && stored g5 bob 1
'

test_expect_success 'greylist: the same /24 is the same client; another /24 is not' '
	IP=192.0.2.77 sf g6 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" && stored g6 bob 1 &&
	IP=198.51.100.1 sf g7 g1.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g7 "451 4.7.1 Greylisted, try again later"
'

test_expect_success 'greylist: a record first seen too long ago starts over (451, new time)' '
	chat old@example.test bob@dest.test >g8.chat &&
	sf g8 g8.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g8 "451 4.7.1 Greylisted, try again later" &&
	rec=$(records | while read -r f; do [ "$(cat "$f")" -gt 0 ] 2>/dev/null && echo "$f"; done |
	    xargs ls -t | head -n 1) &&
	echo 1000 >"$rec" &&
	sf g9 g8.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has g9 "451 4.7.1 Greylisted, try again later" &&
	[ "$(cat "$rec")" -gt 1000000000 ]
'

test_expect_success 'greylist: 8 sessions at once with a new triplet: all 451, one record, no leftovers' '
	chat new@example.test bob@dest.test >gc.chat &&
	before=$(records | wc -l) &&
	for i in 1 2 3 4 5 6 7 8; do
		sf gc$i gc.chat --hook-rcpt "$TEST_DIR/hooks/grey" &
	done &&
	wait &&
	for i in 1 2 3 4 5 6 7 8; do has gc$i "451 4.7.1 Greylisted, try again later" || exit 1; done &&
	[ "$(records | wc -l)" = $((before + 1)) ] &&
	! find grey -name "*.tmp" | grep -q . &&
	sleep 2.2 &&
	for i in 1 2 3 4 5 6 7 8; do
		sf gd$i gc.chat --hook-rcpt "$TEST_DIR/hooks/grey" &
	done &&
	wait &&
	for i in 1 2 3 4 5 6 7 8; do has gd$i "250 2.1.5 Accepted" || exit 1; done
'

test_expect_success 'greylist: shell characters in the addresses are data, never code or names' '
	cat >gx.chat <<-EOF &&
	< 220
	> EHLO mail.example.test
	< 250
	> MAIL FROM:<"\$(touch PWNED1);\`touch PWNED2\`"@example.test>
	< 250
	> RCPT TO:<"x y;touch PWNED3|\$(touch PWNED4)"@dest.test>
	< 451
	> QUIT
	< 221
	EOF
	sf gx gx.chat --hook-rcpt "$TEST_DIR/hooks/grey" &&
	has gx "451 4.7.1 Greylisted, try again later" &&
	! ls PWNED* hooks/PWNED* / 2>/dev/null | grep -q PWNED &&
	! records | grep -v "/grey/[0-9a-f][0-9a-f]/[0-9a-f]\{64\}\(\.ok\)\{0,1\}\$"
'

test_expect_success 'greylist: a store that cannot be written lets mail through (and says so)' '
	: >afile &&
	hook greylist grey-broken "GREYLIST_DIR=$TEST_DIR/afile/grey" &&
	sf gb g1.chat --hook-rcpt "$TEST_DIR/hooks/grey-broken" &&
	has gb "250 2.1.5 Accepted" && grep -q "greylist: cannot create .*; accepting" gb.err
'

test_done
