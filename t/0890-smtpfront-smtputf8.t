#!/bin/sh
# SMTPUTF8 (RFC 6531) through smtpfront: a UTF-8 local part and an IDN
# domain are taken with the SMTPUTF8 parameter (smtpchat: this swaks has
# no SMTPUTF8 option) and refused without it (553 5.6.7, swaks); the
# hooks see the domain both as sent and as its A-label; delivery paths
# use the A-label; the Received: field and the log say utf8esmtp;
# --no-smtputf8; invalid IDNs and invalid UTF-8 are refused.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
mkdir -p spool hooks

# clean FILE: no sanitizer report in FILE (a -san build's stderr).
clean() {
	! grep -E "Sanitizer|runtime error:" "$1"
}

chat() {
	_c_s=$1
	shift
	$CHAT --exec smtpfront --hostname mx.test --spool-dir "$TEST_DIR/spool" \
	    "$@" "$_c_s" >chat.out 2>chat.log
	_c_rc=$?
	clean chat.log || _c_rc=1
	cat chat.out
	return $_c_rc
}

steps() {
	printf '%s\n' "$@"
}

# Each RCPT hook run appends its variables, one "name=value" a line and
# a "--" after them.
cat >hooks/rcpt <<EOF
#!/bin/sh
{ env | grep -E '^(local_part|domain|domain_alabel|recipient|sender_address|message_smtputf8)=' | sort; echo --; } >>"$TEST_DIR/rcpt.env"
exit 0
EOF
cat >hooks/mail <<EOF
#!/bin/sh
env | grep -E '^(sender_address|sender_address_domain|message_smtputf8)=' | sort >"$TEST_DIR/mail.env"
exit 0
EOF
chmod +x hooks/rcpt hooks/mail

U_FROM='jörg@bücher.example'
U_TO='müller@münchen.example'

test_expect_success 'UTF-8 addresses with SMTPUTF8: accepted and delivered' '
	rm -f rcpt.env && mkdir -p md &&
	steps "< 220" "> EHLO client.example" "< 250" \
	    "> MAIL FROM:<$U_FROM> SMTPUTF8" "< 250" "> RCPT TO:<$U_TO>" "< 250" \
	    "> DATA" "< 354" "> From: <$U_FROM>" "> Subject: grüße" ">" \
	    "> hällo" "> ." "< 250" "> QUIT" "< 221" >s &&
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4711 chat s \
	    --hook-rcpt $TEST_DIR/hooks/rcpt --hook-mail $TEST_DIR/hooks/mail \
	    --deliver "maildir:$TEST_DIR/md/%{domain}" &&
	grep -q "^<- 250-SMTPUTF8$" chat.out &&
	grep -q "^<- 250 2.0.0 OK id=" chat.out
'

test_expect_success 'the RCPT hook sees the domain as sent and as its A-label' '
	cat >want <<-EOF &&
	domain=münchen.example
	domain_alabel=xn--mnchen-3ya.example
	local_part=müller
	message_smtputf8=yes
	recipient=müller@münchen.example
	sender_address=jörg@bücher.example
	--
	EOF
	diff -u want rcpt.env
'

test_expect_success 'the MAIL hook sees the UTF-8 sender' '
	cat >want <<-EOF &&
	message_smtputf8=yes
	sender_address=jörg@bücher.example
	sender_address_domain=bücher.example
	EOF
	diff -u want mail.env
'

test_expect_success 'the delivery path uses the A-label, the text is as sent' '
	f=$(ls md/xn--mnchen-3ya.example/new/*) &&
	grep -q "^Subject: grüße$" $f && grep -q "^hällo$" $f
'

test_expect_success 'Received: says "with utf8esmtp", the addresses in UTF-8' '
	f=$(ls md/xn--mnchen-3ya.example/new/*) &&
	sed "1{/^Return-Path: /d}" $f | sed -n 1,5p >got &&
	id=$(sed -n "s/^<- 250 2.0.0 OK id=//p" chat.out) &&
	printf "%s\n" "Received: from client.example ([192.0.2.7]:4711)" \
	    "	by mx.test (mxkit smtpfront) with utf8esmtp" \
	    "	(envelope-from <$U_FROM>)" "	id $id" "	for <$U_TO>;" >want &&
	diff -u want got
'

test_expect_success 'the log line says P=utf8esmtp' '
	grep -F "<= $U_FROM H=(client.example) [192.0.2.7]:4711 P=utf8esmtp S=" \
	    chat.log
'

test_expect_success 'SMTPUTF8 with ASCII addresses is a UTF-8 transaction too' '
	rm -f rcpt.env &&
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example> SMTPUTF8" \
	    "< 250" "> RCPT TO:<c@d.example>" "< 250" "> QUIT" "< 221" >s &&
	chat s --hook-rcpt $TEST_DIR/hooks/rcpt --deliver maildir:$TEST_DIR/md2 &&
	grep -qx "message_smtputf8=yes" rcpt.env &&
	grep -qx "domain_alabel=d.example" rcpt.env
'

test_expect_success 'an A-label sent as such stays one; domain is what was sent' '
	rm -f rcpt.env &&
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example>" \
	    "< 250" "> RCPT TO:<x@xn--mnchen-3ya.example>" "< 250" \
	    "> QUIT" "< 221" >s &&
	chat s --hook-rcpt $TEST_DIR/hooks/rcpt --deliver maildir:$TEST_DIR/md2 &&
	grep -qx "domain=xn--mnchen-3ya.example" rcpt.env &&
	grep -qx "domain_alabel=xn--mnchen-3ya.example" rcpt.env &&
	grep -qx "message_smtputf8=no" rcpt.env
'

# ---- without the parameter ----

if command -v swaks >/dev/null; then
	test_expect_success 'swaks: a UTF-8 sender without SMTPUTF8 is 553 5.6.7' '
		swaks --pipe "smtpfront --hostname mx.test --spool-dir $TEST_DIR/spool --deliver maildir:$TEST_DIR/md3" \
		    --helo c.example --from "$U_FROM" --to a@b.example >sw 2>&1
		grep -q "^<\*\* 553 5.6.7 Non-ASCII addresses not permitted without SMTPUTF8$" sw &&
		! test -d md3/new -a -n "$(ls md3/new 2>/dev/null)"
	'
	test_expect_success 'swaks: a UTF-8 recipient without SMTPUTF8 is 553 5.6.7' '
		swaks --pipe "smtpfront --hostname mx.test --spool-dir $TEST_DIR/spool --deliver maildir:$TEST_DIR/md3" \
		    --helo c.example --from a@b.example --to "$U_TO" >sw 2>&1
		grep -q "^<\*\* 553 5.6.7 Non-ASCII addresses not permitted without SMTPUTF8$" sw
	'
else
	test_skip 'swaks: a UTF-8 sender without SMTPUTF8 is 553 5.6.7' 'no swaks'
	test_skip 'swaks: a UTF-8 recipient without SMTPUTF8 is 553 5.6.7' 'no swaks'
fi

test_expect_success 'without SMTPUTF8 on MAIL a UTF-8 RCPT is 553 5.6.7, ASCII ones go on' '
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example>" "< 250" \
	    "> RCPT TO:<$U_TO>" "< 553" "> RCPT TO:<c@d.example>" "< 250" \
	    "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md2 &&
	grep -q "^<- 553 5.6.7 Non-ASCII addresses not permitted without SMTPUTF8$" \
	    chat.out
'

test_expect_success '--no-smtputf8: no keyword, and the parameter is 555' '
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example> SMTPUTF8" \
	    "< 555" "> MAIL FROM:<$U_FROM>" "< 553" "> QUIT" "< 221" >s &&
	chat s --no-smtputf8 --deliver maildir:$TEST_DIR/md2 &&
	! grep -q "^<- 250-SMTPUTF8" chat.out &&
	grep -q "^<- 555 5.5.4 " chat.out
'

test_expect_success 'after HELO the SMTPUTF8 parameter is 555' '
	steps "< 220" "> HELO c" "< 250" "> MAIL FROM:<a@b.example> SMTPUTF8" \
	    "< 555" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md2
'

# ---- invalid IDNs and invalid UTF-8 ----

# refused ADDR CODE TEXT: RCPT TO:<ADDR> in a SMTPUTF8 transaction gets
# "CODE TEXT", MAIL FROM:<ADDR> SMTPUTF8 the same with 5.1.7.
refused() {
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example> SMTPUTF8" \
	    "< 250" "> RCPT TO:<$1>" "< 5" "> RCPT TO:<ok@d.example>" "< 250" \
	    "> RSET" "< 250" "> MAIL FROM:<$1> SMTPUTF8" "< 5" \
	    "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md2 &&
	grep -q "^<- $2 5.1.3 $3\$" chat.out &&
	grep -q "^<- $2 5.1.7 $3\$" chat.out
}

for case in 'x@\xe2\x98\x83.example:a disallowed code point (U+2603 SNOWMAN)' \
    'x@a\xe2\x80\x8db.example:a ZERO WIDTH JOINER out of context' \
    'x@\xcc\x81a.example:a label that starts with a combining mark'; do
	addr=${case%%:*} what=${case#*:}
	test_expect_success "an invalid IDN, $what: 553 (5.1.3 / 5.1.7)" "
		refused '$addr' 553 'Invalid internationalized domain name'
	"
done

for case in 'x\xff@b.example:an 0xFF octet' \
    'x@\xc3\x28.example:a broken two-octet sequence' \
    '\xc0\xafx@b.example:an overlong /' \
    'x\xed\xa0\x80@b.example:a UTF-16 surrogate' \
    'x\xc3@b.example:a truncated sequence'; do
	addr=${case%%:*} what=${case#*:}
	test_expect_success "invalid UTF-8, $what: 553 (5.1.3 / 5.1.7)" "
		refused '$addr' 553 'Address is not valid UTF-8'
	"
done

test_expect_success '8-bit octets outside an address are a 500 5.5.2' '
	steps "< 220" "> EHLO c" "< 250" "> NOOP grüße" "< 500" \
	    "> RSET \xff" "< 5" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md2 &&
	grep -q "^<- 500 5.5.2 " chat.out
'

# (Before a SMTPUTF8 MAIL, our replies are ASCII: the octets of the name
# come back as "?".)
test_expect_success "an IDN in EHLO is taken in its A-label form, invalid UTF-8 there is 501" '
	steps "< 220" "> EHLO bücher.example" "< 250" "> EHLO b\xffx.example" \
	    "< 501" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md2 &&
	grep -q "^<- 250-mx.test Hello xn--bcher-kva.example$" chat.out &&
	grep -q "^<- 501 5.5.4 Syntactically invalid EHLO argument(s)$" chat.out
'

test_expect_success 'no spool file is left behind' '
	ls -A spool >left && test ! -s left
'

test_done
