#!/bin/sh
# smtpfront's SMTP session through the real program, swaks as the client
# where swaks can say it, t/rig/smtpchat.py for the rest (raw writes,
# early and out-of-step talkers): the EHLO keywords and the options that
# remove them, HELO, delivery to maildir, mbox and a pipe, pipelining and
# its synchronization checks, SIZE, the command replies, the limits and
# the timeout, the Received: field and the log line, --config.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
command -v swaks >/dev/null || skip_all "swaks not installed"
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
mkdir -p spool hooks
SPOOL="--spool-dir $TEST_DIR/spool"

# sf ARG...: the command line of a stdin-mode smtpfront (for swaks --pipe).
sf() {
	echo "smtpfront --hostname mx.test $SPOOL $*"
}

# clean FILE: no sanitizer report in FILE (a -san build's stderr).
clean() {
	! grep -E "Sanitizer|runtime error:" "$1"
}

# chat SCRIPT ARG...: smtpchat against "smtpfront ARG..." (stdin mode);
# the transcript in chat.out, smtpfront's stderr in chat.log.
chat() {
	_c_s=$1
	shift
	# shellcheck disable=SC2086
	# CHAT_IP: a client with an address; a local one (no TCPREMOTEIP,
	# a pipe) is spared the synchronization checks, as exim -bs is.
	if [ -n "${CHAT_IP:-}" ]; then
		TCPREMOTEIP=$CHAT_IP TCPREMOTEPORT=4000 \
		    $CHAT --exec smtpfront --hostname mx.test $SPOOL "$@" \
		    "$_c_s" >chat.out 2>chat.log
	else
		$CHAT --exec smtpfront --hostname mx.test $SPOOL "$@" "$_c_s" \
		    >chat.out 2>chat.log
	fi
	_c_rc=$?
	clean chat.log || _c_rc=1
	cat chat.out
	return $_c_rc
}

# steps STEP...: a smtpchat script, one step an argument.
steps() {
	printf '%s\n' "$@"
}

# msg FILE: a stored message without the Return-Path: that delivery may
# put first (it is not part of what smtpfront received: not in S=).
msg() {
	sed '1{/^Return-Path: /d}' "$1"
}

# keywords FILE: the EHLO keywords in a transcript ("<- 250-X" lines).
keywords() {
	sed -n 's/^<-  *250[- ]\([A-Z0-9][A-Z0-9-]*\).*/\1/p' "$1" |
	    grep -v '^mx' | sort
}

ALL="8BITMIME CHUNKING ENHANCEDSTATUSCODES HELP PIPELINING PRDR SIZE SMTPUTF8"

# ---- EHLO and HELO ----

test_expect_success 'EHLO lists exactly the extensions' '
	steps "< 220" "> EHLO client.example" "< 250" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md &&
	keywords chat.out >got &&
	printf "%s\n" $ALL >want && diff -u want got &&
	grep -q "^<- 250-SIZE 52428800$" chat.out &&
	grep -q "^<- 250-mx.test Hello client.example$" chat.out
'

test_expect_success 'swaks sees the same list' '
	swaks --pipe "$(sf --deliver maildir:$TEST_DIR/md)" --quit-after EHLO \
	    --helo client.example --to a@b.example >sw 2>&1 && clean sw &&
	keywords sw >got && printf "%s\n" $ALL >want && diff -u want got
'

for opt in pipelining chunking prdr smtputf8 8bitmime; do
	kw=$(echo "$opt" | tr a-z A-Z)
	test_expect_success "--no-$opt removes $kw, and only it" "
		steps '< 220' '> EHLO c' '< 250' '> QUIT' '< 221' >s &&
		chat s --no-$opt --deliver maildir:$TEST_DIR/md &&
		keywords chat.out >got &&
		printf '%s\n' $ALL | grep -vx '$kw' >want && diff -u want got
	"
done

test_expect_success '--max-size 0: SIZE without a number' '
	steps "< 220" "> EHLO c" "< 250" "> QUIT" "< 221" >s &&
	chat s --max-size 0 --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 250-SIZE$" chat.out
'

if command -v openssl >/dev/null &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=mx.test -days 2 -keyout key.pem -out cert.pem >/dev/null 2>&1
then
	test_expect_success 'STARTTLS only with --tls-certificate' '
		steps "< 220" "> EHLO c" "< 250" "> QUIT" "< 221" >s &&
		chat s --tls-certificate $TEST_DIR/cert.pem \
		    --tls-privatekey $TEST_DIR/key.pem \
		    --deliver maildir:$TEST_DIR/md &&
		keywords chat.out >got &&
		printf "%s\n" $ALL STARTTLS | sort >want && diff -u want got
	'
else
	test_skip 'STARTTLS only with --tls-certificate' 'no openssl'
fi

test_expect_success 'HELO: no extensions, and MAIL parameters are 555' '
	steps "< 220" "> HELO client.example" "< 250" \
	    "> MAIL FROM:<a@b.example> SIZE=10" "< 555" \
	    "> MAIL FROM:<a@b.example> BODY=8BITMIME" "< 555" \
	    "> MAIL FROM:<a@b.example> SMTPUTF8" "< 555" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 250 mx.test Hello client.example$" chat.out &&
	! grep -q "^<- 250-" chat.out &&
	test $(grep -c "^<- 555 5.5.4 " chat.out) = 3
'

# ---- a message, three ways ----

test_expect_success 'swaks: a message into a maildir' '
	swaks --pipe "$(sf --deliver maildir:$TEST_DIR/md1)" --helo c.example \
	    --from s@c.example --to a@b.example --header "Subject: one" \
	    --body "body one" >sw 2>&1 && clean sw &&
	grep -q "^<-  250 2.0.0 OK id=" sw &&
	test $(ls md1/new | wc -l) = 1 && f=$(ls md1/new/*) &&
	grep -q "^Subject: one$" $f && grep -q "^body one$" $f &&
	! grep -q "$(printf "\r")" $f
'

test_expect_success 'swaks: a message into an mbox' '
	swaks --pipe "$(sf --deliver mbox:$TEST_DIR/mbox)" --helo c.example \
	    --from s@c.example --to a@b.example --header "Subject: two" \
	    --body "From here on" >sw 2>&1 && clean sw &&
	grep -q "^<-  250 2.0.0 OK id=" sw &&
	head -n 1 mbox | grep -q "^From s@c.example " &&
	grep -q "^Subject: two$" mbox && grep -q "^>From here on$" mbox &&
	test $(grep -c "^From " mbox) = 1
'

cat >hooks/store <<EOF
#!/bin/sh
{ echo "SENDER=\$SENDER RECIPIENTS=\$RECIPIENTS"; cat; } >"$TEST_DIR/piped"
EOF
chmod +x hooks/store

test_expect_success 'swaks: a message into a pipe' '
	swaks --pipe "$(sf --deliver pipe:$TEST_DIR/hooks/store)" \
	    --helo c.example --from s@c.example --to a@b.example \
	    --header "Subject: three" --body "body three" >sw 2>&1 && clean sw &&
	grep -q "^<-  250 2.0.0 OK id=" sw &&
	head -n 1 piped | grep -qx "SENDER=s@c.example RECIPIENTS=a@b.example" &&
	grep -q "^Received: from c.example " piped &&
	grep -q "^body three$" piped
'

# ---- pipelining ----

test_expect_success 'swaks --pipeline: accepted, the replies as a group' '
	swaks --pipe "$(sf --deliver maildir:$TEST_DIR/md2)" --pipeline \
	    --helo c.example --from s@c.example \
	    --to a@b.example,d@b.example >sw 2>&1 && clean sw &&
	grep -q "^<-  250 2.0.0 OK id=" sw &&
	test $(ls md2/new | wc -l) = 1 &&
	# swaks sent MAIL RCPT RCPT DATA before reading any of the replies
	grep -E "^ *(->|<-)" sw | sed -n "/MAIL FROM/,/354/p" |
	    cut -c1-3 | tr -d " " | tr "\n" " " >order &&
	test "$(cat order)" = "-> -> -> -> <- <- <- <- "
'

if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
	printf '%s\n' 'write(1, "250 2.1.0 OK\r\n250 2.1.5 Accepted\r\n250 2.1.5 Accepted\r\n354 ' >group.want
	test_expect_success 'the four replies of the group leave in one write' '
		ASAN_OPTIONS=detect_leaks=0 \
		    swaks --pipe "strace -s 256 -e trace=write -o $TEST_DIR/trace \
		    $(sf --deliver maildir:$TEST_DIR/md2)" --pipeline \
		    --helo c.example --from s@c.example \
		    --to a@b.example,d@b.example >sw 2>&1 && clean sw &&
		grep -F -f group.want trace
	'
else
	test_skip 'the four replies of the group leave in one write' \
	    'strace not usable here'
fi

test_expect_success 'pipelined MAIL/RCPT/DATA groups, and the next after the dot' '
	steps "< 220" "> EHLO x" "< 250" \
	    ">> MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n" \
	    "< 250" "< 250" "< 250" "< 354" \
	    ">> Subject: t\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n" \
	    "< 250" "< 250" "< 250" "< 354" "> second" "> ." "< 250" \
	    ">> RSET\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nQUIT\r\n" \
	    "< 250" "< 250" "< 250" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md3 &&
	test $(ls md3/new | wc -l) = 2
'

test_expect_success 'early talker: EHLO before the banner is 554, then close' '
	steps "> EHLO early.example" "< 554" "<eof" >s &&
	CHAT_IP=192.0.2.1 chat s --banner-delay 1s --deliver maildir:$TEST_DIR/md &&
	! grep -q "^<- 220" chat.out &&
	grep -q "^<- 554 5.5.0 SMTP synchronization error$" chat.out &&
	grep -q "input sent without waiting for greeting" chat.log
'

test_expect_success 'a patient client is not an early talker (--banner-delay 1s)' '
	steps "< 220" "> QUIT" "< 221" >s &&
	CHAT_IP=192.0.2.1 chat s --banner-delay 1s --deliver maildir:$TEST_DIR/md
'

test_expect_success 'input after EHLO in the same write: 554, then close' '
	steps "< 220" ">> EHLO x\r\nNOOP\r\n" "< 554" "<eof" >s &&
	CHAT_IP=192.0.2.1 chat s --deliver maildir:$TEST_DIR/md &&
	grep -q "rejected \"EHLO\" next input=\"NOOP" chat.log
'

for cmd in NOOP VRFY DATA; do
	test_expect_success "input after $cmd (must be last in a group): 554" "
		case $cmd in
		NOOP) c='NOOP' ;;
		VRFY) c='VRFY x' ;;
		DATA) c='MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA' ;;
		esac
		steps '< 220' '> EHLO x' '< 250' \">> \$c\r\nRSET\r\n\" >s &&
		[ $cmd != DATA ] || steps '< 250' '< 250' >>s &&
		steps '< 554' '<eof' >>s &&
		CHAT_IP=192.0.2.1 chat s --deliver maildir:$TEST_DIR/md
	"
done

test_expect_success 'a HELO client (no pipelining) sending two commands at once: 554' '
	steps "< 220" "> HELO x" "< 250" \
	    ">> MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n" \
	    "< 554" "<eof" >s &&
	CHAT_IP=192.0.2.1 chat s --deliver maildir:$TEST_DIR/md &&
	grep -q "rejected \"MAIL\" next input=\"RCPT" chat.log
'

test_expect_success '--no-pipelining: an EHLO client that pipelines gets 554' '
	steps "< 220" "> EHLO x" "< 250" \
	    ">> MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n" \
	    "< 554" "<eof" >s &&
	CHAT_IP=192.0.2.1 chat s --no-pipelining --deliver maildir:$TEST_DIR/md
'

test_expect_success 'a local session (a pipe, no address) is not checked, as exim -bs' '
	printf "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n.\r\nQUIT\r\n" |
	    smtpfront --hostname mx.test --deliver maildir:$TEST_DIR/mdl >out 2>log &&
	grep -q "^250 2.0.0 OK id=" out && grep -q "^221 " out &&
	test $(ls mdl/new | wc -l) = 1
'

# ---- SIZE ----

/usr/bin/python3 -c '
import sys
sys.stdout.write("Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 100 + ".\r\n")' \
    >big.txt

test_expect_success 'SIZE= above --max-size: 552 at MAIL' '
	steps "< 220" "> EHLO x" "< 250" "> MAIL FROM:<a@b.example> SIZE=4097" \
	    "< 552" "> MAIL FROM:<a@b.example> SIZE=4096" "< 250" \
	    "> QUIT" "< 221" >s &&
	chat s --max-size 4k --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 250-SIZE 4096$" chat.out &&
	grep -q "^<- 552 5.3.4 Message size exceeds fixed maximum message size$" \
	    chat.out
'

test_expect_success 'a message above --max-size: 552 after the dot, the session goes on' '
	rm -rf md4 &&
	steps "< 220" "> EHLO x" "< 250" "> MAIL FROM:<a@b.example> SIZE=100" \
	    "< 250" "> RCPT TO:<c@d.example>" "< 250" "> DATA" "< 354" \
	    ">file big.txt" "< 552" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<c@d.example>" \
	    "< 250" "> DATA" "< 354" "> Subject: small" ">" "> small" "> ." \
	    "< 250" "> QUIT" "< 221" >s &&
	chat s --max-size 4k --deliver maildir:$TEST_DIR/md4 &&
	test $(ls md4/new | wc -l) = 1 && grep -q "^small$" md4/new/* &&
	grep -q "rejected after DATA: message too big" chat.log
'

# ---- the commands' replies ----

test_expect_success 'RSET NOOP HELP VRFY EXPN, an unknown command' '
	steps "< 220" "> EHLO x" "< 250" "> RSET" "< 250" "> NOOP" "< 250" \
	    "> HELP" "< 214" "> VRFY postmaster" "< 252" "> EXPN list" \
	    "< 502" "> FROB x" "< 500" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 250 2.0.0 Reset OK$" chat.out &&
	grep -q "^<- 250 2.0.0 OK$" chat.out &&
	grep -q "^<- 214 2.0.0 " chat.out &&
	grep -q "^<- 252 2.5.2 Cannot VRFY user" chat.out &&
	grep -q "^<- 502 5.5.1 EXPN not available$" chat.out &&
	grep -q "^<- 500 5.5.1 Command unrecognized$" chat.out &&
	grep -q "^<- 221 2.0.0 mx.test closing connection$" chat.out
'

test_expect_success 'commands out of order: 503 (554 for DATA without RCPT)' '
	steps "< 220" "> MAIL FROM:<a@b.example>" "< 503" "> EHLO x" "< 250" \
	    "> RCPT TO:<c@d.example>" "< 503" "> DATA" "< 503" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> MAIL FROM:<a@b.example>" \
	    "< 503" "> DATA" "< 554" "> RSET" "< 250" "> DATA" "< 503" \
	    "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 503 5.5.1 HELO or EHLO required$" chat.out &&
	grep -q "^<- 503 5.5.1 sender not yet given$" chat.out &&
	grep -q "^<- 503 5.5.1 valid RCPT command must precede DATA$" chat.out &&
	grep -q "^<- 503 5.5.1 sender already given$" chat.out &&
	grep -q "^<- 554 5.5.1 No valid recipients$" chat.out
'

test_expect_success '--max-rcpts 3: the 4th RCPT is 452 4.5.3, three get it' '
	rm -rf md5 && mkdir md5 &&
	steps "< 220" "> EHLO x" "< 250" "> MAIL FROM:<a@b.example>" "< 250" \
	    "> RCPT TO:<1@d.example>" "< 250" "> RCPT TO:<2@d.example>" \
	    "< 250" "> RCPT TO:<3@d.example>" "< 250" \
	    "> RCPT TO:<4@d.example>" "< 452" "> DATA" "< 354" "> x" "> ." \
	    "< 250" "> QUIT" "< 221" >s &&
	chat s --max-rcpts 3 --deliver "maildir:$TEST_DIR/md5/%{local_part}" &&
	grep -q "^<- 452 4.5.3 Too many recipients$" chat.out &&
	ls md5 | tr "\n" " " >got && test "$(cat got)" = "1 2 3 "
'

test_expect_success '--max-errors 3: three errors are borne, the 4th is 421 and close' '
	steps "< 220" "> EHLO x" "< 250" "> FOO" "< 500" "> MAIL FROM:<bad" \
	    "< 501" "> RCPT TO:<a@b.example>" "< 503" "> NOOP" "< 250" \
	    "> BAR" "< 500" "< 421" "<eof" >s &&
	chat s --max-errors 3 --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 421 4.7.0 mx.test Too many syntax or protocol errors$" \
	    chat.out
'

test_expect_success '--cmd-timeout 1: an idle client gets 421 4.4.2 and the close' '
	steps "< 220" "> EHLO x" "< 250" "sleep 3" "< 421" "<eof" >s &&
	start=$(date +%s) &&
	chat s --cmd-timeout 1 --deliver maildir:$TEST_DIR/md &&
	grep -q "^<- 421 4.4.2 mx.test SMTP command timeout - closing connection$" \
	    chat.out &&
	grep -q "SMTP command timeout on connection from" chat.log &&
	test $(($(date +%s) - start)) -lt 8
'

# ---- what is stored and logged ----

swaks_msg() {
	_sm_md=$1 _sm_to=$2
	shift 2
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4711 TCPLOCALIP=192.0.2.1 \
	    TCPLOCALPORT=25 swaks --pipe "$(sf --deliver maildir:$TEST_DIR/$_sm_md)" \
	    --helo client.example --from s@c.example --to "$_sm_to" \
	    --header "Message-Id: <m.$_sm_md@c.example>" "$@" >sw 2>&1
}

test_expect_success 'Received: with one recipient, exactly' '
	rm -rf r1 && swaks_msg r1 a@b.example &&
	id=$(sed -n "s/^<-  250 2.0.0 OK id=//p" sw) && test -n "$id" &&
	msg r1/new/* >r1.msg && f=r1.msg &&
	sed -n "1,5p" $f >got &&
	printf "%s\n" "Received: from client.example ([192.0.2.7]:4711)" \
	    "	by mx.test (mxkit smtpfront) with esmtp" \
	    "	(envelope-from <s@c.example>)" "	id $id" \
	    "	for <a@b.example>;" >want &&
	diff -u want got &&
	sed -n 6p $f | grep -q "^	[A-Z][a-z][a-z], " &&
	sed -n 7p $f | grep -q "^Date: "
'

test_expect_success 'the Received: date is RFC 5322 and now' '
	f=r1.msg &&
	/usr/bin/python3 - "$f" <<-\EOF
	import email.utils, re, sys, time
	line = open(sys.argv[1]).read().split("\n")[5]
	assert line.startswith("\t"), line
	d = line[1:]
	assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
	    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
	    r"\d\d:\d\d:\d\d [+-]\d{4}", d), d
	t = email.utils.parsedate_to_datetime(d).timestamp()
	assert abs(t - time.time()) < 300, d
	EOF
'

test_expect_success 'Received: with two recipients has no "for"' '
	rm -rf r2 && swaks_msg r2 a@b.example,d@b.example &&
	msg r2/new/* >r2.msg && f=r2.msg &&
	sed -n "1,/^[^	]/p" $f | sed "\$d" >hdr && cat hdr &&
	! grep -q "for <" hdr && test $(wc -l <hdr) = 5
'

test_expect_success 'Received: after HELO says "with smtp"' '
	rm -rf r3 &&
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4711 swaks \
	    --pipe "$(sf --deliver maildir:$TEST_DIR/r3)" --protocol SMTP \
	    --helo old.example --from s@c.example --to a@b.example >sw 2>&1 && clean sw &&
	msg r3/new/* | head -n 2 >got &&
	printf "%s\n" "Received: from old.example ([192.0.2.7]:4711)" \
	    "	by mx.test (mxkit smtpfront) with smtp" >want &&
	diff -u want got
'

test_expect_success 'the log line for the arrival' '
	rm -rf r4 && swaks_msg r4 a@b.example &&
	id=$(sed -n "s/^<-  250 2.0.0 OK id=//p" sw) &&
	size=$(msg r4/new/* | wc -c) &&
	grep -F "$id <= s@c.example H=(client.example) [192.0.2.7]:4711 P=esmtp S=$size id=<m.r4@c.example>" sw
'

# ---- --config ----

cat >sf.conf <<EOF
# the same as the options below
hostname = mx.conf
max-size = 4k
max-rcpts = 3
no-prdr
no-chunking = yes
no-smtputf8 = no
deliver = maildir:$TEST_DIR/md6
EOF

test_expect_success '--config FILE: the same session as the options' '
	steps "< 220" "> EHLO x" "< 250" "> MAIL FROM:<a@b.example> SIZE=5000" \
	    "< 552" "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<1@d.example>" \
	    "< 250" "> RCPT TO:<2@d.example>" "< 250" "> RCPT TO:<3@d.example>" \
	    "< 250" "> RCPT TO:<4@d.example>" "< 452" "> DATA" "< 354" "> x" \
	    "> ." "< 250" "> QUIT" "< 221" >s &&
	$CHAT --exec smtpfront --config sf.conf s >conf.out 2>/dev/null &&
	$CHAT --exec smtpfront --hostname mx.conf --max-size 4k --max-rcpts 3 \
	    --no-prdr --no-chunking --deliver maildir:$TEST_DIR/md6 s \
	    >opts.out 2>/dev/null &&
	sed "s/id=[0-9A-Za-z-]*/id=ID/" conf.out >a &&
	sed "s/id=[0-9A-Za-z-]*/id=ID/" opts.out >b && diff -u b a &&
	grep -q "^<- 220 mx.conf " a && ! grep -q "PRDR\|CHUNKING" a &&
	grep -q "^<- 250-SMTPUTF8" a &&
	test $(ls md6/new | wc -l) = 2
'

# config_bad LINE STATUS MESSAGE
config_bad() {
	printf "# bad\n%s\n" "$1" >bad.conf &&
	expect_status "$2" smtpfront --config bad.conf \
	    --deliver maildir:$TEST_DIR/md </dev/null 2>err &&
	cat err && grep -qF -- "$3" err && test $(wc -l <err) = 1
}

test_expect_success '--config: an unknown option is exit 64 with file:line and name' '
	config_bad "bogus = 1" 64 "bad.conf:2: unknown option: bogus"
'
test_expect_success '--config: a value missing is exit 64' '
	config_bad "max-rcpts" 64 "bad.conf:2: this option needs a value: max-rcpts"
'
test_expect_success '--config: a yes/no option with another word is exit 64' '
	config_bad "no-prdr = maybe" 64 "bad.conf:2: a yes/no option takes yes or no: no-prdr"
'
test_expect_success '--config: a bad value is the option'"'"'s usage error, exit 64' '
	config_bad "max-rcpts = many" 64 "--max-rcpts: not a number: many"
'
test_expect_success '--config: a line that is no option line is exit 65' '
	config_bad "hostname mx.test" 65 "bad.conf:2: not an option line"
'
test_expect_success '--config: a missing file is exit 66' '
	expect_status 66 smtpfront --config nonexistent.conf \
	    --deliver maildir:$TEST_DIR/md </dev/null 2>err &&
	grep -q "nonexistent.conf" err
'

test_expect_success 'no spool file is left behind' '
	ls -A spool >left && test ! -s left
'

test_done
