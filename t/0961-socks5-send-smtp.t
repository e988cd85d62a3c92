#!/bin/sh
# socks5-send as a plain SMTP client (no proxy), end to end against real
# servers on loopback (t/rig/smtp_peers.sh): smtpfront, whose hooks decide
# per recipient and whose hook environment tells what the client sent;
# Postfix's smtp-sink; and t/rig/smtprec.py, which records every command
# and whether it came before the reply to the one before it (pipelining).
# Covered: the bytes delivered (bare LF in; CRLF and dot-stuffing on the
# wire; an mbox From_ line dropped; a last line without a newline), HELO
# after a refused EHLO, PIPELINING used only when offered, SIZE, 8BITMIME,
# SMTPUTF8, each recipient's result and the exit status, -t, MX hosts from
# --dns-zone (a dead one, a null MX, an implicit MX, several domains), and
# the text, kv and json records.  The proxies are t/0960's; PRDR, STARTTLS
# and events are t/0962's.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/smtp_peers.sh"

require_bin socks5-send smtpfront
command -v smtp-sink >/dev/null 2>&1 || skip_all "smtp-sink (postfix) is not installed"
D=$TEST_SRC/data/socks5-smtp
S="socks5-send --helo client.test --timeout 20 --connect-timeout 20"
A=alice@example.test

# mkhook NAME BODY: an executable sh script $TEST_DIR/NAME.  (Hooks get
# smtpfront's session variables only: paths are written in.)
mkhook() {
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/$1" && chmod +x "$TEST_DIR/$1"
}

# The hooks of the main server, sf1.  MAIL: what the client sent, one line
# "sender|SIZE=|SMTPUTF8|PRDR|helo".  RCPT: decide by the local part
# (bad* 550, later* 451, multi: a two-line 550, else accept).  DATA: the
# recipients of each transaction; the sender data-reject@ is refused.
mkhook mail-log "printf '%s|%s|%s|%s|%s\n' \"\$sender_address\" \"\${message_size-}\" \
    \"\$message_smtputf8\" \"\$prdr_requested\" \"\$sender_helo_name\" >>'$TEST_DIR/mail.log'"
mkhook rcpt-decide "printf '%s\n' \"\$recipient\" >>'$TEST_DIR/rcpt.log'
case \$local_part in
bad*) echo \"550 5.1.1 <\$recipient>: no such user\"; exit 1 ;;
later*) echo \"451 4.2.0 <\$recipient>: greylisted, try again later\"; exit 2 ;;
multi) printf '550-5.7.1 first line\n550 5.7.1 second line\n'; exit 1 ;;
esac
exit 0"
mkhook data-log "printf '%s\n' \"\$recipients\" >>'$TEST_DIR/data.log'
[ \"\$sender_address\" = data-reject@example.test ] &&
    { echo '554 5.7.1 refused after the data'; exit 1; }
exit 0"
mkhook slow-mail 'sleep 0.5'

sf_start sf1 --hook-mail "$TEST_DIR/mail-log" --hook-rcpt "$TEST_DIR/rcpt-decide" \
    --hook-data "$TEST_DIR/data-log" || { echo "Bail out! smtpfront"; exit 1; }
SF=$SRV_PORT

# fresh: forget sf1's messages and hook logs.
fresh() {
	rm -rf "$TEST_DIR/sf1.md" && mkdir "$TEST_DIR/sf1.md" &&
	    : >"$TEST_DIR/mail.log" && : >"$TEST_DIR/rcpt.log" &&
	    : >"$TEST_DIR/data.log"
}

# msg_of SERVER LOCAL: the one message in SERVER.md/LOCAL, without the
# Return-Path: and Received: fields smtpfront puts on top.
msg_of() {
	_d=$TEST_DIR/$1.md/$2/new
	_c=$(ls "$_d" 2>/dev/null | wc -l)
	[ "$_c" = 1 ] || { echo "$_d: $_c messages, wanted 1" >&2; return 1; }
	/usr/bin/python3 -c 'import re, sys
d = open(sys.argv[1], "rb").read()
while True:
    m = re.match(rb"(Return-Path|Received):[^\n]*\n([ \t][^\n]*\n)*", d)
    if not m:
        break
    d = d[m.end():]
sys.stdout.buffer.write(d)' "$_d/$(ls "$_d")"
}

# stored_count SERVER LOCAL: how many messages SERVER.md/LOCAL holds.
stored_count() {
	ls "$TEST_DIR/$1.md/$2/new" 2>/dev/null | wc -l
}

# last_raw REC: the file of the last message text smtprec REC received.
last_raw() {
	echo "$TEST_DIR/$1.data/$(grep -c '^data ' "$TEST_DIR/$1.rec").raw"
}

# reply_has FILE RCPT TEXT: RCPT's smtp_reply in kv FILE contains TEXT.
reply_has() {
	kvr "$1" "$2" smtp_reply >"$1.reply" || return 1
	grep -qF -- "$3" "$1.reply" && return 0
	echo "$2: smtp_reply '$(cat "$1.reply")' lacks '$3'" >&2
	return 1
}

# The bytes expected on the wire: CRLF, a dot doubled at a line's start.
/usr/bin/python3 - "$D/bytes.want" >wire.want <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
sys.stdout.buffer.write(b"".join((b"." + l if l.startswith(b".") else l)
                                 + b"\r\n" for l in lines))
PY
# The same message with CRLF line ends (the last line still without one).
/usr/bin/python3 -c 'import sys
sys.stdout.buffer.write(open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n"))' \
    "$D/bytes.eml" >bytes-crlf.eml
# An 8-bit body; a message of 2000 octets.
printf 'From: %s\nTo: bob@dest.test\nSubject: 8bit\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nh\303\251llo, w\303\266rld\n' "$A" >8bit.eml
{
	printf 'From: %s\nTo: bob@dest.test\nSubject: big\n\n' "$A"
	i=0
	while [ $i -lt 40 ]; do
		echo "line $i of a message that is larger than the SIZE the server offers"
		i=$((i + 1))
	done
} >big.eml
printf 'From: %s\nTo: bob@dest.test\nSubject: plain\n\nhello\n' "$A" >plain.eml
U8=$(printf 'h\303\251llo, w\303\266rld')	# the 8-bit text, for grep

# ---- the bytes delivered ----------------------------------------------------

fresh
test_expect_success 'bytes: bare LF, dot lines, no final newline, mbox From_ line: stored byte for byte' '
	expect_status 0 $S -o kv --server 127.0.0.1:$SF -f $A bob@dest.test \
	    <"$D/bytes.eml" >b.kv &&
	kvr_expect b.kv bob@dest.test delivery_status delivered &&
	msg_of sf1 bob >got && cmp "$D/bytes.want" got
'

rec_start rec1 --ext PIPELINING --ext 8BITMIME --delay 0 || { echo "Bail out! smtprec"; exit 1; }
REC1=$SRV_PORT
test_expect_success 'bytes on the wire: CRLF line ends, dots doubled, CRLF before the final dot' '
	expect_status 0 $S --server 127.0.0.1:$REC1 -f $A bob@dest.test \
	    <"$D/bytes.eml" >w.out &&
	cmp wire.want "$(last_raw rec1)" &&
	! grep -q "^bad-eol" rec1.rec
'

test_expect_success 'bytes: -i and -oi are accepted and change nothing (only EOF ends the text)' '
	fresh && expect_status 0 $S -i -oi --server 127.0.0.1:$SF -f $A bob@dest.test \
	    <"$D/bytes.eml" >i.out &&
	msg_of sf1 bob >got && cmp "$D/bytes.want" got
'

test_expect_success 'bytes: CRLF input is sent as the same lines (no CR CR LF)' '
	expect_status 0 $S --server 127.0.0.1:$REC1 -f $A bob@dest.test \
	    <bytes-crlf.eml >c.out &&
	cmp wire.want "$(last_raw rec1)"
'

test_expect_success '--helo names EHLO; -f "" is MAIL FROM:<> and sender_address empty' '
	expect_status 0 $S -o kv --server 127.0.0.1:$REC1 -f "" bob@dest.test \
	    <plain.eml >n.kv &&
	grep -qx "cmd EHLO client.test" rec1.rec &&
	grep -q "^cmd MAIL FROM:<>" rec1.rec &&
	kvr_expect n.kv bob@dest.test sender_address "" &&
	fresh && expect_status 0 $S --server 127.0.0.1:$SF -f "<>" bob@dest.test \
	    <plain.eml &&
	grep -q "^|[0-9]*|no|no|client.test\$" mail.log
'

# ---- EHLO refused ---------------------------------------------------------------

rec_start rec2 --ehlo "502 5.5.2 Error: command not recognized" --ext PIPELINING \
    --ext 8BITMIME --ext SMTPUTF8 --ext "SIZE 1000000" || { echo "Bail out! smtprec"; exit 1; }
REC2=$SRV_PORT
test_expect_success 'EHLO refused (502): HELO, then MAIL and RCPT without any ESMTP parameter' '
	expect_status 0 $S -o kv --server 127.0.0.1:$REC2 -f $A bob@dest.test \
	    <8bit.eml >h.kv &&
	kvr_expect h.kv bob@dest.test delivery_status delivered &&
	sed -n "/^cmd /s///p; /^early /s///p" rec2.rec >cmds &&
	printf "%s\n" "EHLO client.test" "HELO client.test" "MAIL FROM:<$A>" \
	    "RCPT TO:<bob@dest.test>" "DATA" >want &&
	head -n 5 cmds | diff -u want - &&
	! grep -q "^early " rec2.rec
'

sink_start sink1 -f EHLO -B "502 5.5.2 Error: command not recognized" ||
    { echo "Bail out! smtp-sink"; exit 1; }
SINK1=$SRV_PORT
test_expect_success 'EHLO refused by smtp-sink (-f EHLO): delivered after HELO' '
	expect_status 0 $S --server 127.0.0.1:$SINK1 -f $A bob@dest.test \
	    <plain.eml >s.out &&
	grep -q "smtp-sink: EHLO client.test" sink1.sink &&
	grep -q "smtp-sink: HELO client.test" sink1.sink &&
	grep -rq "^X-Helo-Args: client.test" sink1.dump
'

# ---- PIPELINING ------------------------------------------------------------------

rec_start rec3 --ext PIPELINING --delay 0.3 || { echo "Bail out! smtprec"; exit 1; }
REC3=$SRV_PORT
test_expect_success 'PIPELINING offered: the RCPTs and DATA go out before the replies' '
	expect_status 0 $S --server 127.0.0.1:$REC3 -f $A r1@dest.test r2@dest.test \
	    r3@dest.test <plain.eml >p.out &&
	cat rec3.rec &&
	[ "$(grep -c "^early RCPT TO:<r[123]@dest.test>" rec3.rec)" = 3 ] &&
	grep -qx "early DATA" rec3.rec &&
	grep -q "^cmd EHLO " rec3.rec && grep -q "^cmd MAIL " rec3.rec
'

rec_start rec4 --ext 8BITMIME --ext "SIZE 1000000" --delay 0.3 || { echo "Bail out! smtprec"; exit 1; }
REC4=$SRV_PORT
test_expect_success 'PIPELINING not offered: each command waits for its reply' '
	expect_status 0 $S --server 127.0.0.1:$REC4 -f $A r1@dest.test r2@dest.test \
	    r3@dest.test <plain.eml >np.out &&
	cat rec4.rec &&
	[ "$(grep -c "^cmd RCPT TO:" rec4.rec)" = 3 ] && grep -qx "cmd DATA" rec4.rec &&
	! grep -q "^early " rec4.rec
'

sf_start sf2 --no-pipelining --hook-mail "$TEST_DIR/slow-mail" ||
    { echo "Bail out! smtpfront"; exit 1; }
SF2=$SRV_PORT
test_expect_success 'PIPELINING not offered by smtpfront (a slow MAIL hook): no synchronization error' '
	expect_status 0 $S --server 127.0.0.1:$SF2 -f $A r1@dest.test r2@dest.test \
	    <plain.eml >np2.out &&
	[ "$(stored_count sf2 r1)" = 1 ] && [ "$(stored_count sf2 r2)" = 1 ] &&
	! grep -q "synchronization error" sf2.log
'

# ---- SIZE ----------------------------------------------------------------------------

rec_start rec5 --ext PIPELINING --ext "SIZE 100" --delay 0 || { echo "Bail out! smtprec"; exit 1; }
REC5=$SRV_PORT
test_expect_success 'SIZE 100 offered, a larger message: failed (exit 1), nothing sent after EHLO' '
	expect_status 1 $S -o kv --server 127.0.0.1:$REC5 -f $A bob@dest.test \
	    <big.eml >sz.kv &&
	kvr_expect sz.kv bob@dest.test delivery_status failed &&
	kvr sz.kv bob@dest.test smtp_reply | grep -qi size &&
	cat rec5.rec && grep -q "^cmd EHLO " rec5.rec &&
	! grep -q -e "MAIL" -e "RCPT" -e "DATA" rec5.rec &&
	[ "$(grep -c "^data " rec5.rec)" = 0 ]
'

: >mail.log
sf_start sf3 --max-size 1K --hook-mail "$TEST_DIR/mail-log" ||
    { echo "Bail out! smtpfront"; exit 1; }
SF3=$SRV_PORT
test_expect_success 'SIZE 1024 from smtpfront --max-size 1K: exit 1, its MAIL hook never ran' '
	expect_status 1 $S --server 127.0.0.1:$SF3 -f $A bob@dest.test <big.eml >sz2.out &&
	! [ -s mail.log ] && ! grep -q " <= " sf3.log
'

test_expect_success 'SIZE=: MAIL announces at least the size of the message as sent' '
	fresh && expect_status 0 $S --server 127.0.0.1:$SF -f $A bob@dest.test \
	    <"$D/bytes.eml" &&
	want=$(( $(wc -c <"$D/bytes.want") + $(wc -l <"$D/bytes.want") )) &&
	got=$(cut -d"|" -f2 mail.log) && echo "SIZE=$got, the text: $want" &&
	[ -n "$got" ] && [ "$got" -ge "$want" ] && [ "$got" -le $((want * 2)) ]
'

# ---- 8BITMIME ----------------------------------------------------------------------------

rec_start rec6 --ext 8BITMIME --ext PIPELINING --delay 0 || { echo "Bail out! smtprec"; exit 1; }
REC6=$SRV_PORT
test_expect_success '8BITMIME offered: an 8-bit body goes with MAIL ... BODY=8BITMIME' '
	expect_status 0 $S --server 127.0.0.1:$REC6 -f $A bob@dest.test <8bit.eml &&
	grep "MAIL FROM:" rec6.rec &&
	grep -q "^cmd MAIL FROM:<$A>.* BODY=8BITMIME" rec6.rec &&
	grep -qF "$U8" "$(last_raw rec6)"
'

sink_start sink2 || { echo "Bail out! smtp-sink"; exit 1; }
SINK2=$SRV_PORT
test_expect_success '8BITMIME: smtp-sink got BODY=8BITMIME (X-Mail-Args) and the 8-bit text' '
	expect_status 0 $S --server 127.0.0.1:$SINK2 -f $A bob@dest.test <8bit.eml &&
	grep -rh "^X-Mail-Args:" sink2.dump &&
	grep -rq "^X-Mail-Args: .*BODY=8BITMIME" sink2.dump &&
	grep -rqF "$U8" sink2.dump
'

# ---- SMTPUTF8 ----------------------------------------------------------------------------

J=$(printf 'j\303\266s\303\251')	# "jösé"
test_expect_success 'SMTPUTF8: a UTF-8 local part: MAIL ... SMTPUTF8, delivered to it' '
	fresh && expect_status 0 $S -o kv --server 127.0.0.1:$SF -f $A "$J@dest.test" \
	    <plain.eml >u.kv &&
	kvr_expect u.kv "$J@dest.test" delivery_status delivered &&
	kvr_expect u.kv "$J@dest.test" local_part "$J" &&
	kvr_expect u.kv "$J@dest.test" domain dest.test &&
	grep -q "^$A|[0-9]*|yes|no|" mail.log &&
	[ "$(stored_count sf1 "$J")" = 1 ]
'

rec_start rec7 --ext SMTPUTF8 --ext 8BITMIME --delay 0 || { echo "Bail out! smtprec"; exit 1; }
REC7=$SRV_PORT
test_expect_success 'SMTPUTF8: the exact MAIL and RCPT lines' '
	expect_status 0 $S --server 127.0.0.1:$REC7 -f $A "$J@dest.test" <plain.eml &&
	grep "^cmd MAIL\|^cmd RCPT" rec7.rec &&
	grep -q "^cmd MAIL FROM:<$A>.* SMTPUTF8" rec7.rec &&
	grep -qx "cmd RCPT TO:<$J@dest.test>" rec7.rec
'

: >mail.log
sf_start sf4 --no-smtputf8 --hook-mail "$TEST_DIR/mail-log" ||
    { echo "Bail out! smtpfront"; exit 1; }
SF4=$SRV_PORT
test_expect_success 'SMTPUTF8 needed, not offered (smtpfront --no-smtputf8): failed naming it, exit 1, no MAIL' '
	expect_status 1 $S -o kv --server 127.0.0.1:$SF4 -f $A "$J@dest.test" \
	    <plain.eml >nu.kv 2>nu.err &&
	kvr_expect nu.kv "$J@dest.test" delivery_status failed &&
	reply_has nu.kv "$J@dest.test" SMTPUTF8 &&
	! [ -s mail.log ] && ! grep -q " <= " sf4.log
'

sink_start sink3 || { echo "Bail out! smtp-sink"; exit 1; }
SINK3=$SRV_PORT
test_expect_success 'SMTPUTF8 needed, not offered (smtp-sink): failed, exit 1, smtp-sink saw no MAIL' '
	expect_status 1 $S -o kv --server 127.0.0.1:$SINK3 -f $A "$J@dest.test" \
	    <plain.eml >nu2.kv &&
	reply_has nu2.kv "$J@dest.test" SMTPUTF8 &&
	grep -q "smtp-sink: EHLO client.test" sink3.sink &&
	! grep -q "smtp-sink: MAIL" sink3.sink
'

# ---- per-recipient results -----------------------------------------------------

test_expect_success 'per recipient: accepted, 550, 451 at RCPT: exit 2, each record with its code and reply' '
	fresh && expect_status 2 $S -o kv --server 127.0.0.1:$SF -f $A good@dest.test \
	    bad@dest.test later@dest.test <plain.eml >pr.kv &&
	cat pr.kv &&
	[ "$(kv_count pr.kv)" = 3 ] &&
	for i in 1 2 3; do awk -v i=$i "BEGIN { RS = \"\" } NR == i" pr.kv >r$i &&
	    kvget recipient r$i; done >order &&
	printf "%s\n" good@dest.test bad@dest.test later@dest.test | diff - order &&
	kvr_expect pr.kv good@dest.test delivery_status delivered &&
	kvr_expect pr.kv good@dest.test smtp_code 250 &&
	reply_has pr.kv good@dest.test "OK id=" &&
	kvr_expect pr.kv bad@dest.test delivery_status failed &&
	kvr_expect pr.kv bad@dest.test smtp_code 550 &&
	reply_has pr.kv bad@dest.test "5.1.1 <bad@dest.test>: no such user" &&
	kvr_expect pr.kv later@dest.test delivery_status deferred &&
	kvr_expect pr.kv later@dest.test smtp_code 451 &&
	reply_has pr.kv later@dest.test "4.2.0 <later@dest.test>: greylisted" &&
	for r in good bad later; do
		kvr_expect pr.kv $r@dest.test host_address 127.0.0.1 &&
		kvr_expect pr.kv $r@dest.test host_port $SF &&
		kvr_expect pr.kv $r@dest.test sender_address $A || exit 1
	done &&
	[ "$(stored_count sf1 good)" = 1 ] && [ "$(stored_count sf1 bad)" = 0 ] &&
	[ "$(stored_count sf1 later)" = 0 ] && [ "$(wc -l <rcpt.log)" = 3 ] &&
	grep -qx "good@dest.test" data.log
'

test_expect_success 'per recipient: every one refused (550): exit 1, nothing stored' '
	fresh && expect_status 1 $S -o kv --server 127.0.0.1:$SF -f $A bad1@dest.test \
	    bad2@dest.test <plain.eml >all5.kv &&
	kvr_expect all5.kv bad1@dest.test delivery_status failed &&
	kvr_expect all5.kv bad2@dest.test smtp_code 550 &&
	! [ -s data.log ]
'

test_expect_success 'per recipient: every one deferred (451): exit 75' '
	fresh && expect_status 75 $S -o kv --server 127.0.0.1:$SF -f $A later1@dest.test \
	    later2@dest.test <plain.eml >all4.kv &&
	kvr_expect all4.kv later1@dest.test delivery_status deferred &&
	kvr_expect all4.kv later2@dest.test smtp_code 451
'

test_expect_success 'per recipient: refused after the data (554): every recipient failed, exit 1' '
	fresh && expect_status 1 $S -o kv --server 127.0.0.1:$SF -f data-reject@example.test \
	    good@dest.test good2@dest.test <plain.eml >d5.kv &&
	for r in good good2; do
		kvr_expect d5.kv $r@dest.test delivery_status failed &&
		kvr_expect d5.kv $r@dest.test smtp_code 554 &&
		reply_has d5.kv $r@dest.test "refused after the data" || exit 1
	done &&
	[ "$(stored_count sf1 good)" = 0 ]
'

test_expect_success 'per recipient: a multi-line reply is one smtp_reply, its lines joined by a newline' '
	fresh && expect_status 2 $S -o kv --server 127.0.0.1:$SF -f $A multi@dest.test \
	    good@dest.test <plain.eml >ml.kv &&
	kvr_expect ml.kv multi@dest.test smtp_code 550 &&
	kvr ml.kv multi@dest.test smtp_reply >ml.reply && cat ml.reply &&
	[ "$(wc -l <ml.reply)" = 2 ] &&
	sed -n 1p ml.reply | grep -q "first line" &&
	sed -n 2p ml.reply | grep -q "second line"
'

DEAD=$(dead_port)
test_expect_success 'server unreachable: deferred, exit 75, code 0, the host tried named, a reason on stderr' '
	expect_status 75 $S -o kv --server 127.0.0.1:$DEAD -f $A bob@dest.test \
	    <plain.eml >un.kv 2>un.err &&
	cat un.kv un.err &&
	kvr_expect un.kv bob@dest.test delivery_status deferred &&
	kvr_expect un.kv bob@dest.test smtp_code 0 &&
	kvr_expect un.kv bob@dest.test host_address 127.0.0.1 &&
	kvr_expect un.kv bob@dest.test host_port $DEAD &&
	kvr un.kv bob@dest.test smtp_reply | grep -q "connection refused" &&
	grep -q "^socks5-send: " un.err
'

# ---- -t ------------------------------------------------------------------------------

test_expect_success '-t: To, Cc, Bcc (a group, display names, folded fields); RCPT arguments excluded' '
	fresh && expect_status 0 $S -t -o kv --server 127.0.0.1:$SF -f $A eve@dest.test \
	    <"$D/rcpt-t.eml" >t.kv &&
	cat t.kv &&
	for i in $(seq "$(kv_count t.kv)"); do awk -v i=$i "BEGIN { RS = \"\" } NR == i" t.kv \
	    >tr$i && kvget recipient tr$i; done | sort >got.rcpts &&
	printf "%s@dest.test\n" bob carol dave frank grace heidi >want.rcpts &&
	diff -u want.rcpts got.rcpts &&
	sort rcpt.log | diff -u want.rcpts - &&
	[ "$(stored_count sf1 eve)" = 0 ]
'

test_expect_success '-t: the Bcc: field is not in the message delivered (the rest is)' '
	for r in bob grace heidi; do
		msg_of sf1 $r >got.$r && diff -u "$D/rcpt-t.want" got.$r || exit 1
	done
'

test_expect_success '-t: no recipient left once the arguments are excluded: exit 65' '
	printf "From: %s\nTo: bob@dest.test\nSubject: x\n\nx\n" $A >t1.eml &&
	fresh && expect_status 65 $S -t --server 127.0.0.1:$SF -f $A bob@dest.test <t1.eml &&
	printf "From: %s\nSubject: no recipients\n\nx\n" $A >t0.eml &&
	expect_status 65 $S -t --server 127.0.0.1:$SF -f $A <t0.eml &&
	! [ -s rcpt.log ]
'

# ---- MX hosts from --dns-zone ---------------------------------------------------
# two.test: MX 10 on 127.0.0.2 (nobody listens there), MX 20 on 127.0.0.1;
# null.test: a null MX; implicit.test: an A record only.

cat >mx.zone <<'EOF'
$ORIGIN test.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
ns IN A 127.0.0.1
two IN MX 10 dead.two.test.
two IN MX 20 live.two.test.
dead.two IN A 127.0.0.2
live.two IN A 127.0.0.1
null IN MX 0 .
implicit IN A 127.0.0.1
EOF
M="$S --dns-zone $TEST_DIR/mx.zone --port $SF"

test_expect_success 'MX: the lower preference host is dead, the next one takes the message (--port)' '
	fresh && expect_status 0 $M -o kv -f $A u1@two.test <plain.eml >mx1.kv 2>mx1.err &&
	cat mx1.kv mx1.err &&
	kvr_expect mx1.kv u1@two.test delivery_status delivered &&
	kvr_expect mx1.kv u1@two.test host live.two.test &&
	kvr_expect mx1.kv u1@two.test host_address 127.0.0.1 &&
	kvr_expect mx1.kv u1@two.test host_port $SF &&
	[ "$(stored_count sf1 u1)" = 1 ]
'

test_expect_success 'MX: a null MX (RFC 7505) fails the recipient: exit 1, nothing sent' '
	fresh && expect_status 1 $M -o kv -f $A u2@null.test <plain.eml >mx2.kv &&
	kvr_expect mx2.kv u2@null.test delivery_status failed &&
	kvr_expect mx2.kv u2@null.test smtp_code 0 &&
	! [ -s mail.log ]
'

test_expect_success 'MX: no MX record: the A record is the host (implicit MX)' '
	fresh && expect_status 0 $M -o kv -f $A u3@implicit.test <plain.eml >mx3.kv &&
	kvr_expect mx3.kv u3@implicit.test delivery_status delivered &&
	kvr_expect mx3.kv u3@implicit.test host implicit.test &&
	kvr_expect mx3.kv u3@implicit.test host_address 127.0.0.1
'

test_expect_success 'MX: several recipient domains: one transaction each, records in the order given' '
	fresh && expect_status 0 $M -o kv -f $A u4@two.test u5@implicit.test u6@two.test \
	    <plain.eml >mx4.kv &&
	for i in 1 2 3; do awk -v i=$i "BEGIN { RS = \"\" } NR == i" mx4.kv >m$i &&
	    kvget recipient m$i; done >order &&
	printf "%s\n" u4@two.test u5@implicit.test u6@two.test | diff - order &&
	cat data.log && [ "$(wc -l <data.log)" = 2 ] &&
	grep -qx "u4@two.test, u6@two.test" data.log &&
	grep -qx "u5@implicit.test" data.log &&
	[ "$(wc -l <mail.log)" = 2 ]
'

test_expect_success 'MX: a null MX domain and a good one: exit 2' '
	fresh && expect_status 2 $M -o kv -f $A u7@null.test u8@implicit.test \
	    <plain.eml >mx5.kv &&
	kvr_expect mx5.kv u7@null.test delivery_status failed &&
	kvr_expect mx5.kv u8@implicit.test delivery_status delivered
'

# ---- output modes --------------------------------------------------------------------

KEYS="recipient local_part domain delivery_status smtp_code smtp_reply host
host_address host_port proxy_local_address proxy_local_port
proxy_external_address proxy_external_port tls_out_cipher prdr_requested
sender_address"

test_expect_success 'text: one line per recipient, "RCPT: STATUS: HOST [ADDR]:PORT: REPLY"' '
	fresh && expect_status 2 $S --server 127.0.0.1:$SF -f $A good@dest.test \
	    bad@dest.test later@dest.test <plain.eml >txt.out &&
	cat txt.out && [ "$(wc -l <txt.out)" = 3 ] &&
	sed -n 1p txt.out | grep -q "^good@dest.test: delivered: [^ ]* \[127.0.0.1\]:$SF: 250 " &&
	sed -n 2p txt.out | grep -q "^bad@dest.test: failed: [^ ]* \[127.0.0.1\]:$SF: 550 5.1.1 <bad@dest.test>: no such user" &&
	sed -n 3p txt.out | grep -q "^later@dest.test: deferred: [^ ]* \[127.0.0.1\]:$SF: 451 4.2.0 " &&
	! grep -q " via " txt.out
'

test_expect_success 'text: unreachable: "RCPT: deferred: " and the reason' '
	expect_status 75 $S --server 127.0.0.1:$DEAD -f $A bob@dest.test <plain.eml \
	    >txt2.out 2>/dev/null &&
	cat txt2.out && [ "$(wc -l <txt2.out)" = 1 ] &&
	grep -q "^bob@dest.test: deferred: ." txt2.out
'

test_expect_success 'kv: each record eval-able alone, with every variable (proxy_* empty: direct)' '
	fresh && expect_status 2 $S -o kv --server 127.0.0.1:$SF -f $A good@dest.test \
	    bad@dest.test later@dest.test <plain.eml >all.kv &&
	[ "$(kv_count all.kv)" = 3 ] &&
	for i in 1 2 3; do
		awk -v i=$i "BEGIN { RS = \"\" } NR == i" all.kv >k$i &&
		(set -u; eval "$(cat k$i)" &&
		    for k in $KEYS; do eval ": \"\${$k}\"" || exit 1; done &&
		    [ -z "$proxy_local_address$proxy_local_port$proxy_external_address$proxy_external_port" ] &&
		    [ "$prdr_requested" = 0 ] && [ -z "$tls_out_cipher" ] &&
		    [ "$local_part@$domain" = "$recipient" ] && [ "$host_port" = "$SF" ]) ||
		    { echo "record $i:"; cat k$i; exit 1; }
	done
'

test_expect_success 'json: one object per recipient per line, the same keys and values as kv' '
	fresh && expect_status 2 $S -o json --server 127.0.0.1:$SF -f $A good@dest.test \
	    bad@dest.test later@dest.test <plain.eml >all.json &&
	cat all.json &&
	/usr/bin/python3 - all.json all.kv $KEYS <<-EOF
	import json, shlex, sys
	keys = sys.argv[3:]
	objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
	assert len(objs) == 3, objs
	recs = []
	for para in open(sys.argv[2], encoding="utf-8").read().split("\n\n"):
	    if para.strip():
	        recs.append(dict(t.split("=", 1) for t in shlex.split(para)))
	for o, k in zip(objs, recs):
	    assert set(keys) <= set(o), sorted(set(keys) - set(o))
	    for key in ("recipient", "delivery_status", "smtp_code", "host_address",
	                "host_port", "sender_address"):
	        assert str(o[key]) == k[key], (key, o[key], k[key])
	assert [o["recipient"] for o in objs] == ["good@dest.test", "bad@dest.test",
	                                          "later@dest.test"]
	assert [o["delivery_status"] for o in objs] == ["delivered", "failed", "deferred"]
	EOF
'

test_expect_success 'json: a multi-line reply is one string with a newline' '
	fresh && expect_status 1 $S -o json --server 127.0.0.1:$SF -f $A multi@dest.test \
	    <plain.eml >ml.json &&
	/usr/bin/python3 -c "import json, sys
o = json.loads(open(sys.argv[1]).read())
r = o[\"smtp_reply\"].split(chr(10))
assert len(r) == 2 and \"first line\" in r[0] and \"second line\" in r[1], r" ml.json
'

test_done
