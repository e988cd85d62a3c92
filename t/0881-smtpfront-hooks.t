#!/bin/sh
# smtpfront's stage hooks end to end, in stdin mode through t/rig/smtpchat.py:
# each stage (connect helo mail rcpt data prdr quit) with exit 0/1/2/3 and
# the reply it gives; reply overrides (single, multi-line, wrong class);
# header fields from MAIL, RCPT and data hooks in the delivered message right
# after our Received: (a real dmarceval and dkimverify run on $MESSAGE_FILE,
# offline with --dns-zone); hooks that time out, crash or print bad header
# fields (4xx, nothing stored); discard at MAIL, RCPT, DATA and PRDR; the
# environment a hook gets, and that it inherits nothing else.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

require_bin smtpfront dmarceval spfcheck
BIN=$MXKIT_BIN
CHAT=$TEST_SRC/rig/smtpchat.py
mkdir spool

# The client, as tcpserver would say; FOO must not reach any hook.
TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4444 TCPLOCALIP=192.0.2.25 TCPLOCALPORT=25
FOO=bar
export TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT FOO

# mkhook NAME BODY: an executable sh script $TEST_DIR/NAME.
mkhook() {
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/$1" && chmod +x "$TEST_DIR/$1"
}

# sf NAME SCRIPT [OPTION...]: one smtpfront session in stdin mode driven by
# smtpchat SCRIPT; delivery to the maildir NAME.md (fresh), the dialogue in
# NAME.out, smtpfront's log in NAME.err; returns smtpchat's status.
sf() {
	_n=$1 _s=$2
	shift 2
	rm -rf "$TEST_DIR/$_n.md"
	/usr/bin/python3 "$CHAT" --timeout 30 --exec "$BIN/smtpfront" \
	    --hostname mx.test --spool-dir "$TEST_DIR/spool" \
	    --deliver "maildir:$TEST_DIR/$_n.md" "$@" "$_s" \
	    >"$TEST_DIR/$_n.out" 2>"$TEST_DIR/$_n.err"
}

# has NAME LINE: the dialogue NAME.out holds the reply line LINE exactly.
has() {
	grep -qxF -- "<- $2" "$TEST_DIR/$1.out" && return 0
	echo "no line '<- $2' in $1.out:" >&2
	cat "$TEST_DIR/$1.out" "$TEST_DIR/$1.err" >&2
	return 1
}

# stored NAME N [SUB]: the maildir NAME.md (or NAME.md/SUB) holds N
# messages; the first is in $TEST_DIR/got.raw, and in $TEST_DIR/got without
# the Return-Path: that final delivery puts on top (RFC 5321 4.4).
stored() {
	_d=$TEST_DIR/$1.md${3:+/$3}
	_c=$(ls "$_d/new" 2>/dev/null | wc -l)
	[ "$_c" = "$2" ] || { echo "$_d: $_c messages, wanted $2" >&2; return 1; }
	[ "$_c" = 0 ] || {
		cat "$_d/new/$(ls "$_d/new" | head -n 1)" >"$TEST_DIR/got.raw"
		sed '1{/^Return-Path: /d}' "$TEST_DIR/got.raw" >"$TEST_DIR/got"
	}
}

# The message, CRLF, dot-terminated, ready for ">file".
mkmsg msg.eml
crlf msg.eml msg.crlf
printf '.\r\n' >>msg.crlf

cat >full.chat <<EOF
< 220
> EHLO client.test
< 250
> MAIL FROM:<alice@example.test>
< 250
> RCPT TO:<bob@dest.test>
< 250
> DATA
< 354
>file $TEST_DIR/msg.crlf
<any
> QUIT
< 221
<eof
EOF

# upto STAGE: a session that stops after STAGE's reply (whatever it is).
upto() {
	echo "<any"
	[ "$1" = connect ] && { echo "> QUIT"; echo "<any"; return; }
	echo "> EHLO client.test"; echo "<any"
	[ "$1" = helo ] && { echo "> QUIT"; echo "<any"; return; }
	echo "> MAIL FROM:<alice@example.test>"; echo "<any"
	[ "$1" = mail ] && { echo "> QUIT"; echo "<any"; return; }
	echo "> RCPT TO:<bob@dest.test>"; echo "<any"
	echo "> QUIT"; echo "<any"
}
for st in connect helo mail rcpt; do upto $st >upto-$st.chat; done

# ---- each stage, each exit status ---------------------------------------------

for rc in 0 1 2 3; do mkhook exit$rc "exit $rc"; done

test_expect_success 'connect: 0 is the banner, 1 is 554 and close, 2 and 3 are 421 and close' '
	sf c0 upto-connect.chat --hook-connect ./exit0 &&
	has c0 "220 mx.test ESMTP mxkit smtpfront" &&
	cat >closed.chat <<-EOF &&
	<any
	<eof
	EOF
	sf c1 closed.chat --hook-connect "$TEST_DIR/exit1" &&
	has c1 "554 5.7.1 Administrative prohibition" &&
	sf c2 closed.chat --hook-connect "$TEST_DIR/exit2" &&
	has c2 "421 4.3.0 mx.test Temporary local problem - please try later" &&
	sf c3 closed.chat --hook-connect "$TEST_DIR/exit3" &&
	has c3 "421 4.3.0 mx.test Temporary local problem - please try later" &&
	grep -q "connect hook failed: exit 3" c3.err
'

test_expect_success 'helo: 0 is the EHLO reply, 1 is 550, 2 is 451, 3 (no discard here) is 451' '
	sf h0 upto-helo.chat --hook-helo "$TEST_DIR/exit0" &&
	has h0 "250-mx.test Hello client.test [192.0.2.1]" &&
	sf h1 upto-helo.chat --hook-helo "$TEST_DIR/exit1" &&
	has h1 "550 5.7.1 Administrative prohibition" &&
	sf h2 upto-helo.chat --hook-helo "$TEST_DIR/exit2" &&
	has h2 "451 4.3.0 Temporary local problem - please try later" &&
	sf h3 upto-helo.chat --hook-helo "$TEST_DIR/exit3" &&
	has h3 "451 4.3.0 Temporary local problem - please try later" &&
	grep -q "helo hook failed: .*exit 3 (discard) is not allowed at helo" h3.err
'

test_expect_success 'helo: after a refused EHLO, MAIL is out of sequence (503)' '
	cat >h1b.chat <<-EOF &&
	< 220
	> EHLO client.test
	< 550
	> MAIL FROM:<alice@example.test>
	< 503
	> QUIT
	< 221
	EOF
	sf h1b h1b.chat --hook-helo "$TEST_DIR/exit1"
'

test_expect_success 'mail: 0 is 250 2.1.0 OK, 1 is 550, 2 is 451, 3 is 250 2.1.0 OK' '
	sf m0 upto-mail.chat --hook-mail "$TEST_DIR/exit0" && has m0 "250 2.1.0 OK" &&
	sf m1 upto-mail.chat --hook-mail "$TEST_DIR/exit1" &&
	has m1 "550 5.7.1 Administrative prohibition" &&
	sf m2 upto-mail.chat --hook-mail "$TEST_DIR/exit2" &&
	has m2 "451 4.3.0 Temporary local problem - please try later" &&
	sf m3 upto-mail.chat --hook-mail "$TEST_DIR/exit3" && has m3 "250 2.1.0 OK"
'

test_expect_success 'rcpt: 0 is 250 2.1.5 Accepted, 1 is 550, 2 is 451, 3 is 250 2.1.5 Accepted' '
	sf r0 upto-rcpt.chat --hook-rcpt "$TEST_DIR/exit0" && has r0 "250 2.1.5 Accepted" &&
	sf r1 upto-rcpt.chat --hook-rcpt "$TEST_DIR/exit1" &&
	has r1 "550 5.7.1 Administrative prohibition" &&
	sf r2 upto-rcpt.chat --hook-rcpt "$TEST_DIR/exit2" &&
	has r2 "451 4.3.0 Temporary local problem - please try later" &&
	sf r3 upto-rcpt.chat --hook-rcpt "$TEST_DIR/exit3" && has r3 "250 2.1.5 Accepted"
'

test_expect_success 'data: 0 is 250 and stored, 1 is 550, 2 is 451, neither stored' '
	sf d0 full.chat --hook-data "$TEST_DIR/exit0" &&
	grep -q "^<- 250 2.0.0 OK id=[0-9A-Za-z-]*\$" d0.out && stored d0 1 &&
	sf d1 full.chat --hook-data "$TEST_DIR/exit1" &&
	has d1 "550 5.7.1 Administrative prohibition" && stored d1 0 &&
	sf d2 full.chat --hook-data "$TEST_DIR/exit2" &&
	has d2 "451 4.3.0 Temporary local problem - please try later" && stored d2 0
'

test_expect_success 'quit: every exit status still gets 221' '
	for rc in 0 1 2 3; do
		sf q$rc upto-connect.chat --hook-quit "$TEST_DIR/exit$rc" &&
		has q$rc "221 2.0.0 mx.test closing connection" || exit 1
	done
'

# ---- discard --------------------------------------------------------------------

test_expect_success 'discard at DATA: 250, nothing stored, logged as discarded' '
	sf dd full.chat --hook-data "$TEST_DIR/exit3" &&
	grep -q "^<- 250 2.0.0 OK id=" dd.out && stored dd 0 &&
	grep -q " discarded\$" dd.err
'

test_expect_success 'discard at MAIL: RCPT and DATA accepted, nothing stored' '
	sf dm full.chat --hook-mail "$TEST_DIR/exit3" &&
	has dm "250 2.1.5 Accepted" && grep -q "^<- 250 2.0.0 OK id=" dm.out &&
	stored dm 0
'

mkhook rcpt-drop 'case $local_part in drop*) exit 3;; esac; exit 0'
cat >two.chat <<EOF
< 220
> EHLO client.test
< 250
> MAIL FROM:<alice@example.test>
< 250
> RCPT TO:<drop@dest.test>
< 250
> RCPT TO:<keep@dest.test>
< 250
> DATA
< 354
>file $TEST_DIR/msg.crlf
< 250
> QUIT
< 221
EOF

test_expect_success 'discard at RCPT: that recipient gets nothing, the other gets the message' '
	sf dr two.chat --hook-rcpt "$TEST_DIR/rcpt-drop" \
	    --deliver "maildir:$TEST_DIR/dr.md/%{local_part}" &&
	stored dr 1 keep && stored dr 0 drop &&
	grep -q "	for <keep@dest.test>;" got &&
	grep -q "=> keep@dest.test" dr.err && ! grep -q "=> drop@" dr.err
'

test_expect_success 'discard at RCPT: the data hook sees only the recipients kept' '
	mkhook data-rcpts "printf %s \"\$recipients\" >\"$TEST_DIR/rcpts\"" &&
	sf dr2 two.chat --hook-rcpt "$TEST_DIR/rcpt-drop" --hook-data "$TEST_DIR/data-rcpts" &&
	[ "$(cat rcpts)" = "keep@dest.test" ] && stored dr2 1
'

test_expect_success 'discard at RCPT of every recipient: 250, nothing stored' '
	sed "s/keep@/drop2@/" two.chat >alldrop.chat &&
	sf da alldrop.chat --hook-rcpt "$TEST_DIR/rcpt-drop" && stored da 0
'

# ---- PRDR ----------------------------------------------------------------------

mkhook prdr 'case $local_part in
ok) exit 0;;
rej) exit 1;;
def) exit 2;;
dis) exit 3;;
say) echo "550 5.7.1 say does not take mail from $sender_address"; exit 1;;
esac
exit 2'
cat >prdr.chat <<EOF
< 220
> EHLO client.test
< 250
> MAIL FROM:<alice@example.test> PRDR
< 250
> RCPT TO:<ok@dest.test>
< 250
> RCPT TO:<rej@dest.test>
< 250
> RCPT TO:<def@dest.test>
< 250
> RCPT TO:<dis@dest.test>
< 250
> RCPT TO:<say@dest.test>
< 250
> DATA
< 354
>file $TEST_DIR/msg.crlf
< 353
< 250
< 550
< 450
< 250
< 550
< 250
> QUIT
< 221
EOF

test_expect_success 'prdr: 0 acceptance, 1 refusal, 2 temporary refusal, 3 acceptance but not stored' '
	sf p prdr.chat --hook-prdr "$TEST_DIR/prdr" \
	    --deliver "maildir:$TEST_DIR/p.md/%{local_part}" &&
	has p "250 PRDR R=<ok@dest.test> acceptance" &&
	has p "550 PRDR R=<rej@dest.test> refusal" &&
	has p "450 PRDR R=<def@dest.test> temporary refusal" &&
	has p "250 PRDR R=<dis@dest.test> acceptance" &&
	grep -q "^<- 250 2.0.0 .*id=" p.out &&
	stored p 1 ok && stored p 0 rej && stored p 0 def && stored p 0 dis && stored p 0 say
'

test_expect_success 'prdr: a reply override replaces that recipient'"'"'s line' '
	has p "550 5.7.1 say does not take mail from alice@example.test"
'

test_expect_success 'prdr: a crashing PRDR hook is a temporary refusal for its recipient' '
	mkhook prdr-crash "[ \"\$local_part\" = ok ] && exit 0; kill -SEGV \$\$" &&
	sed "/^< 353/,/^> QUIT/s/^< [245]50\$/<any/" prdr.chat >prdr-any.chat &&
	sf pc prdr-any.chat --hook-prdr "$TEST_DIR/prdr-crash" \
	    --deliver "maildir:$TEST_DIR/pc.md/%{local_part}" &&
	has pc "250 PRDR R=<ok@dest.test> acceptance" &&
	has pc "450 PRDR R=<rej@dest.test> temporary refusal" &&
	has pc "450 PRDR R=<say@dest.test> temporary refusal" &&
	stored pc 1 ok && stored pc 0 rej && grep -q "prdr hook failed: signal 11" pc.err
'

test_expect_success 'prdr: the hook is not run for a single recipient (the data hook decides)' '
	mkhook prdr-mark ": >\"$TEST_DIR/prdr-ran\"; exit 1" &&
	sed "s/> MAIL FROM:<alice@example.test>/& PRDR/" full.chat >p1.chat &&
	sf p1 p1.chat --hook-prdr "$TEST_DIR/prdr-mark" && [ ! -e prdr-ran ] && stored p1 1
'

# ---- reply overrides -------------------------------------------------------------

test_expect_success 'override: one line replaces the default text' '
	mkhook rej-say "echo \"550 5.7.1 no mail from \$sender_address here\"; exit 1" &&
	sf o1 upto-mail.chat --hook-mail "$TEST_DIR/rej-say" &&
	has o1 "550 5.7.1 no mail from alice@example.test here"
'

test_expect_success 'override: a multi-line reply goes out whole' '
	mkhook rej-multi "printf \"550-5.7.1 rejected by policy\\n550 5.7.1 see https://example.test/why\\n\"; exit 1" &&
	sf o2 upto-rcpt.chat --hook-rcpt "$TEST_DIR/rej-multi" &&
	has o2 "550-5.7.1 rejected by policy" &&
	has o2 "550 5.7.1 see https://example.test/why"
'

test_expect_success 'override: the first line'"'"'s enhanced code goes on every line' '
	mkhook def-multi "printf \"451-4.7.1 greylisted\\n451 come back later\\n\"; exit 2" &&
	sf o3 upto-rcpt.chat --hook-rcpt "$TEST_DIR/def-multi" &&
	has o3 "451-4.7.1 greylisted" && has o3 "451 4.7.1 come back later"
'

test_expect_success 'override: an accepting hook may say its own 250' '
	mkhook acc-say "echo \"250 2.1.5 Welcome, \$local_part\"; exit 0" &&
	sf o4 upto-rcpt.chat --hook-rcpt "$TEST_DIR/acc-say" && has o4 "250 2.1.5 Welcome, bob" &&
	mkhook banner "echo \"220 mx.test hello \$sender_host_address\"" &&
	sf o5 upto-connect.chat --hook-connect "$TEST_DIR/banner" &&
	has o5 "220 mx.test hello 192.0.2.1" &&
	mkhook bye "echo \"221 2.0.0 see you\"" &&
	sf o6 upto-connect.chat --hook-quit "$TEST_DIR/bye" && has o6 "221 2.0.0 see you"
'

test_expect_success 'override: a 4xx from a DATA hook that defers' '
	mkhook data-def "echo \"452 4.2.2 mailbox full\"; exit 2" &&
	sf o7 full.chat --hook-data "$TEST_DIR/data-def" && has o7 "452 4.2.2 mailbox full" &&
	stored o7 0
'

test_expect_success 'override: a reply of the wrong class is ignored, the decision stands' '
	mkhook wrong1 "echo \"250 2.1.5 fine\"; exit 1" &&
	sf w1 upto-rcpt.chat --hook-rcpt "$TEST_DIR/wrong1" &&
	has w1 "550 5.7.1 Administrative prohibition" && ! grep -q fine w1.out &&
	mkhook wrong2 "echo \"550 5.7.1 no\"; exit 0" &&
	sf w2 full.chat --hook-data "$TEST_DIR/wrong2" &&
	grep -q "^<- 250 2.0.0 OK id=" w2.out && stored w2 1 &&
	mkhook wrong3 "echo \"550 5.7.1 no\"; exit 2" &&
	sf w3 upto-mail.chat --hook-mail "$TEST_DIR/wrong3" &&
	has w3 "451 4.3.0 Temporary local problem - please try later"
'

test_expect_success 'override: a malformed reply is ignored (default text), the reason logged' '
	mkhook bad-reply "echo \"55O no\"; exit 1" &&
	sf w4 upto-rcpt.chat --hook-rcpt "$TEST_DIR/bad-reply" &&
	has w4 "550 5.7.1 Administrative prohibition" && grep -q "rcpt hook note" w4.err
'

# ---- header fields ------------------------------------------------------------------

# A key and a zone for example.test: SPF allows 192.0.2.1, DMARC p=reject.
dkimsign --keygen ed25519 -d example.test -s ed1 -k ed1.pem >ed1.txt ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
{
	printf '$ORIGIN test.\n$TTL 300\n'
	printf '@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n@ IN NS ns.test.\n'
	printf 'example TXT "v=spf1 ip4:192.0.2.1 -all"\n'
	printf '_dmarc.example TXT "v=DMARC1; p=reject"\n'
	cat ed1.txt
} >test.zone
dkimsign -d example.test -s ed1 -k ed1.pem msg.eml >signed.eml
crlf signed.eml signed.crlf
printf '.\r\n' >>signed.crlf
sed "s|$TEST_DIR/msg.crlf|$TEST_DIR/signed.crlf|" full.chat >signed.chat

mkhook data-dmarc "eval \"\$($BIN/dmarceval -o kv --authserv-id mx.test --dns-zone $TEST_DIR/test.zone \\
    -i \"\$sender_host_address\" -s \"\$sender_address\" -e \"\$sender_helo_name\" \"\$MESSAGE_FILE\")\"
echo
echo \"\$dmarc_ar_header\""

# header_after_received FILE: the first header field after the Received:
# field that starts FILE (its first line).
header_after_received() {
	awk 'NR == 1 { if ($0 !~ /^Received: /) exit 1; next }
	    /^[ \t]/ { next } { print; exit }' "$1"
}

test_expect_success 'data hook headers: dmarceval -o kv'"'"'s A-R right after our Received:' '
	sf ar signed.chat --hook-data "$TEST_DIR/data-dmarc" && stored ar 1 &&
	header_after_received got >first &&
	grep -q "^Authentication-Results: mx.test; dkim=pass header.d=example.test header.s=ed1; spf=pass smtp.mailfrom=example.test; dmarc=pass" first &&
	head -n 1 got | grep -q "^Received: from client.test (\[192.0.2.1\]:4444)\$" &&
	[ "$(grep -c "^Authentication-Results:" got)" = 1 ]
'

test_expect_success 'data hook headers: on top only a Return-Path: naming the sender, then Received:' '
	{ head -n 1 got.raw | grep -qx "Return-Path: <alice@example.test>" ||
	    head -n 1 got.raw | grep -q "^Received: from client.test "; } &&
	[ "$(grep -c "^Return-Path:" got.raw)" -le 1 ]
'

test_expect_success 'data hook headers: the stored message still verifies (nothing else changed)' '
	dkimverify -o kv --dns-zone test.zone got >v.kv && kv_expect v.kv dkim_verify_status pass &&
	sed "1,/^DKIM-Signature:/{/^DKIM-Signature:/!d}" got >body.got &&
	cmp body.got signed.eml
'

mkhook data-dkim "echo
$BIN/dkimverify -f --authserv-id mx.test --dns-zone $TEST_DIR/test.zone <\"\$MESSAGE_FILE\" |
    awk 'NR == 1 { print; next } /^[ \\t]/ { print; next } { exit }'"

test_expect_success 'data hook headers: a folded field (dkimverify -f'"'"'s A-R) is kept folded' '
	sf ark signed.chat --hook-data "$TEST_DIR/data-dkim" && stored ark 1 &&
	header_after_received got | grep -q "^Authentication-Results: mx.test; dkim=pass header.d=example.test header.s=ed1\$" &&
	grep -q "^	header.i=@example.test header.a=ed25519-sha256 header.b=" got &&
	dkimverify -o kv --dns-zone test.zone got >v2.kv && kv_expect v2.kv dkim_verify_status pass
'

mkhook mail-hdr 'printf "\nX-Mail-Hook: from <%s>\n" "$sender_address"'
mkhook rcpt-hdr 'printf "\nX-Rcpt-Hook: %s\n\tfolded\n" "$recipient"'
mkhook data-hdr 'printf "\nX-Data-Hook: %s\n" "$recipients"'

test_expect_success 'headers from MAIL, RCPT (each) and DATA hooks, in that order, after Received:' '
	sf hh two.chat --hook-mail "$TEST_DIR/mail-hdr" --hook-rcpt "$TEST_DIR/rcpt-hdr" \
	    --hook-data "$TEST_DIR/data-hdr" && stored hh 1 &&
	awk "NR > 1 && !/^[ \\t]/ { print; n++ } n == 6 { exit }" got >order &&
	cat >order.want <<-EOF &&
	X-Mail-Hook: from <alice@example.test>
	X-Rcpt-Hook: drop@dest.test
	X-Rcpt-Hook: keep@dest.test
	X-Data-Hook: drop@dest.test, keep@dest.test
	Received: from relay.example.test by mx.example.test; Mon, 01 Jan 2024 12:00:02 +0000
	From: Alice Example <alice@example.test>
	EOF
	diff order.want order &&
	[ "$(grep -c "^	folded\$" got)" = 2 ]
'

test_expect_success 'headers: a refused recipient'"'"'s hook headers are not added' '
	mkhook rcpt-hdr-rej "printf \"\\nX-Refused: %s\\n\" \"\$recipient\"; case \$local_part in drop) exit 1;; esac" &&
	sed "/RCPT TO:<drop@/{n;s/< 250/< 550/}" two.chat >rej1.chat &&
	sf hr rej1.chat --hook-rcpt "$TEST_DIR/rcpt-hdr-rej" && stored hr 1 &&
	grep -q "^X-Refused: keep@dest.test\$" got && ! grep -q "X-Refused: drop" got
'

test_expect_success 'headers: the next message of the session starts without them' '
	sed "/^> QUIT/,\$d" two.chat >twice.chat &&
	sed -n "/^> MAIL/,/^> QUIT/p" full.chat | sed "/^> QUIT/d" >>twice.chat &&
	printf "> QUIT\n< 221\n" >>twice.chat &&
	sf tw twice.chat --hook-rcpt "$TEST_DIR/rcpt-hdr" --deliver "maildir:$TEST_DIR/tw.md/%{local_part}" &&
	stored tw 1 bob && [ "$(grep -c "^X-Rcpt-Hook:" got)" = 1 ] &&
	grep -q "^X-Rcpt-Hook: bob@dest.test\$" got &&
	stored tw 1 keep && [ "$(grep -c "^X-Rcpt-Hook:" got)" = 2 ]
'

# ---- hooks that fail: 4xx, never an accept ---------------------------------------

mkhook slow 'sleep 30'
mkhook stubborn 'trap "" TERM; sleep 30'
mkhook crash 'kill -SEGV $$'
mkhook badhdr 'printf "\nnot a header field\n"'
mkhook nul 'printf "\n\000X: y\n"'
mkhook badhdr-acc 'printf "250 2.1.5 sure\n\nX-Ok: 1\n continuation\n\nnot a header\n"'

test_expect_success 'timeout: a data hook past --hook-timeout is 451 and nothing is stored' '
	start=$(date +%s) &&
	sf t1 full.chat --hook-data "$TEST_DIR/slow" --hook-timeout 1 &&
	end=$(date +%s) && [ $((end - start)) -lt 10 ] &&
	has t1 "451 4.3.0 Temporary local problem - please try later" && stored t1 0 &&
	grep -q "data hook failed: timed out after 1[0-9]* ms" t1.err
'

test_expect_success 'timeout: a hook ignoring SIGTERM is killed after the grace time (451)' '
	start=$(date +%s) &&
	sf t2 upto-rcpt.chat --hook-rcpt "$TEST_DIR/stubborn" --hook-timeout 1 &&
	end=$(date +%s) && [ $((end - start)) -lt 10 ] &&
	has t2 "451 4.3.0 Temporary local problem - please try later"
'

test_expect_success 'timeout: at connect it is 421 and the connection closes' '
	sf t3 closed.chat --hook-connect "$TEST_DIR/slow" --hook-timeout 1 &&
	has t3 "421 4.3.0 mx.test Temporary local problem - please try later"
'

test_expect_success 'crash: a hook killed by SIGSEGV is a 4xx at MAIL, RCPT and DATA' '
	sf k1 upto-mail.chat --hook-mail "$TEST_DIR/crash" &&
	has k1 "451 4.3.0 Temporary local problem - please try later" &&
	sf k2 upto-rcpt.chat --hook-rcpt "$TEST_DIR/crash" &&
	has k2 "451 4.3.0 Temporary local problem - please try later" &&
	sf k3 full.chat --hook-data "$TEST_DIR/crash" &&
	has k3 "451 4.3.0 Temporary local problem - please try later" && stored k3 0 &&
	grep -q "data hook failed: signal 11" k3.err
'

test_expect_success 'bad headers: invalid fields make the hook a failure: 451, nothing stored' '
	sf b1 full.chat --hook-data "$TEST_DIR/badhdr" &&
	has b1 "451 4.3.0 Temporary local problem - please try later" && stored b1 0 &&
	sf b2 full.chat --hook-data "$TEST_DIR/nul" &&
	has b2 "451 4.3.0 Temporary local problem - please try later" && stored b2 0 &&
	sf b3 upto-rcpt.chat --hook-rcpt "$TEST_DIR/badhdr-acc" &&
	has b3 "451 4.3.0 Temporary local problem - please try later" && ! grep -q sure b3.out
'

test_expect_success 'a hook that cannot be executed is a 4xx' '
	printf "#!/nonexistent/interpreter\n" >noexec && chmod +x noexec &&
	sf x1 upto-rcpt.chat --hook-rcpt "$TEST_DIR/noexec" &&
	has x1 "451 4.3.0 Temporary local problem - please try later" &&
	sf x2 upto-rcpt.chat --hook-rcpt "$TEST_DIR/does-not-exist" &&
	has x2 "451 4.3.0 Temporary local problem - please try later"
'

test_expect_success 'exit statuses other than 0-3 are hook failures (4xx)' '
	mkhook exit4 "exit 4" && mkhook exit75 "exit 75" &&
	sf e4 upto-rcpt.chat --hook-rcpt "$TEST_DIR/exit4" &&
	has e4 "451 4.3.0 Temporary local problem - please try later" &&
	sf e75 full.chat --hook-data "$TEST_DIR/exit75" &&
	has e75 "451 4.3.0 Temporary local problem - please try later" && stored e75 0
'

test_expect_success 'a hook whose stdout floods past the limit is a failure (451)' '
	mkhook flood "echo; yes \"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" | head -c 200000" &&
	sf fl full.chat --hook-data "$TEST_DIR/flood" &&
	has fl "451 4.3.0 Temporary local problem - please try later" && stored fl 0
'

# ---- the environment ---------------------------------------------------------------

for st in connect helo mail rcpt data quit; do
	mkhook env-$st "env >\"$TEST_DIR/env.$st.\$\$\"
[ -n \"\${MESSAGE_FILE:-}\" ] && { cp \"\$MESSAGE_FILE\" \"$TEST_DIR/mf.copy\"; cat >\"$TEST_DIR/stdin.copy\"; }
exit 0"
done

cat >env.chat <<EOF
< 220
> EHLO client.test
< 250
> MAIL FROM:<alice@example.test> SMTPUTF8 SIZE=1234
< 250
> RCPT TO:<bob@bücher.test>
< 250
> RCPT TO:<"carol smith"@dest.test>
< 250
> DATA
< 354
>file $TEST_DIR/msg.crlf
< 250
> QUIT
< 221
EOF

# ev STAGE VAR: VAR's value in STAGE's hook (the first run), via a grep.
ev() {
	_f=$(ls "$TEST_DIR"/env."$1".* | head -n 1)
	sed -n "s/^$2=//p" "$_f"
}

test_expect_success 'environment: a session with every stage hook' '
	sf env env.chat --hook-connect "$TEST_DIR/env-connect" --hook-helo "$TEST_DIR/env-helo" \
	    --hook-mail "$TEST_DIR/env-mail" --hook-rcpt "$TEST_DIR/env-rcpt" \
	    --hook-data "$TEST_DIR/env-data" --hook-quit "$TEST_DIR/env-quit" &&
	stored env 1 &&
	[ "$(ls env.rcpt.* | wc -l)" = 2 ]
'

test_expect_success 'environment: the client from TCPREMOTEIP/PORT, ours from TCPLOCALIP/PORT, at every stage' '
	for st in connect helo mail rcpt data quit; do
		[ "$(ev $st sender_host_address)" = 192.0.2.1 ] &&
		[ "$(ev $st sender_host_port)" = 4444 ] &&
		[ "$(ev $st received_ip_address)" = 192.0.2.25 ] &&
		[ "$(ev $st received_port)" = 25 ] &&
		[ "$(ev $st primary_hostname)" = mx.test ] || { echo "stage $st"; exit 1; }
	done
'

test_expect_success 'environment: sender_helo_name from HELO on (not at connect)' '
	[ -z "$(ev connect sender_helo_name)" ] &&
	for st in helo mail rcpt data quit; do
		[ "$(ev $st sender_helo_name)" = client.test ] || { echo "stage $st"; exit 1; }
	done &&
	[ "$(ev helo smtp_command)" = EHLO ]
'

test_expect_success 'environment: MAIL gets sender_address, its domain, SIZE= and SMTPUTF8' '
	[ "$(ev mail sender_address)" = alice@example.test ] &&
	[ "$(ev mail sender_address_domain)" = example.test ] &&
	[ "$(ev mail message_size)" = 1234 ] &&
	[ "$(ev mail message_smtputf8)" = yes ] &&
	[ "$(ev mail prdr_requested)" = no ]
'

test_expect_success 'environment: RCPT gets local_part, domain, domain_alabel, recipient, recipients_count' '
	f=$(grep -l "^local_part=bob\$" env.rcpt.*) &&
	grep -qx "domain=bücher.test" $f && grep -qx "domain_alabel=xn--bcher-kva.test" $f &&
	grep -qx "recipient=bob@bücher.test" $f && grep -qx "recipients_count=0" $f &&
	grep -qx "sender_address=alice@example.test" $f && grep -qx "message_smtputf8=yes" $f &&
	f=$(grep -l "^local_part=carol smith\$" env.rcpt.*) &&
	grep -qx "domain=dest.test" $f && grep -qx "recipients_count=1" $f &&
	grep -qx "recipient=\"carol smith\"@dest.test" $f
'

test_expect_success 'environment: DATA gets recipients, message_size, message_id, MESSAGE_FILE (also on stdin)' '
	[ "$(ev data recipients)" = "bob@bücher.test, \"carol smith\"@dest.test" ] &&
	[ "$(ev data recipients_count)" = 2 ] &&
	[ "$(ev data message_smtputf8)" = yes ] &&
	[ "$(ev data message_size)" = "$(wc -c <mf.copy | tr -d " ")" ] &&
	grep -q "^<- 250 2.0.0 OK id=$(ev data message_id)\$" env.out &&
	cmp mf.copy got && cmp stdin.copy got &&
	head -n 1 mf.copy | grep -q "^Received: from client.test" &&
	awk "NR > 1 && !/^[ \t]/ { p = 1 } p" mf.copy | cmp - msg.eml
'

test_expect_success 'environment: the MESSAGE_FILE is gone after the session' '
	f=$(ev data MESSAGE_FILE) && [ -n "$f" ] && [ ! -e "$f" ] &&
	[ -z "$(ls spool)" ]
'

test_expect_success 'environment: nothing inherited from the server (FOO, HOME, TCPREMOTEIP)' '
	for f in env.*; do
		! grep -q "^FOO=" $f && ! grep -q "^HOME=" $f && ! grep -q "^TCPREMOTEIP=" $f &&
		! grep -q "^TCPLOCALPORT=" $f || { echo "$f"; cat $f; exit 1; }
	done &&
	[ "$(ev data PATH)" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin ]
'

test_expect_success 'environment: no MESSAGE_FILE before DATA' '
	for st in connect helo mail rcpt quit; do
		[ -z "$(ev $st MESSAGE_FILE)" ] || { echo "stage $st"; exit 1; }
	done
'

test_expect_success 'environment: without TCPREMOTEIP (a local pipe) the address is empty' '
	rm -f env.rcpt.* &&
	env -u TCPREMOTEIP -u TCPREMOTEPORT sh -c "
	    /usr/bin/python3 \"$CHAT\" --timeout 30 --exec \"$BIN/smtpfront\" --hostname mx.test \
	        --spool-dir \"$TEST_DIR/spool\" --deliver maildir:$TEST_DIR/loc.md \
	        --hook-rcpt \"$TEST_DIR/env-rcpt\" upto-rcpt.chat >loc.out 2>loc.err" &&
	[ -z "$(ev rcpt sender_host_address)" ] && [ "$(ev rcpt local_part)" = bob ]
'

test_done
