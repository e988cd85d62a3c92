#!/bin/sh
# socks5-send as a plain SMTP client (no proxy), part two: PRDR against
# Exim's own exim -bs (reached over TCP through t/rig/inetd.py; its
# acl_smtp_data_prdr refuses and defers chosen recipients) and against
# smtpfront's PRDR hook; STARTTLS (opportunistic with smtpfront and with
# Exim, --require-tls against servers without STARTTLS or refusing it,
# --no-tls); and the events of --event-hook (tcp:connect, smtp:connect,
# msg:delivery, msg:host:defer with event_defer_errno for a dead MX,
# tcp:close; a hook refusing tcp:connect or smtp:connect).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/smtpd.sh"
. "$TEST_SRC/rig/smtp_peers.sh"

require_bin socks5-send smtpfront
command -v smtp-sink >/dev/null 2>&1 || skip_all "smtp-sink (postfix) is not installed"
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"
S="socks5-send --helo client.test --timeout 20 --connect-timeout 20"
A=alice@example.test
# Exim (as nobody) reads its configuration, spool and certificates here.
chmod 755 "$TEST_DIR"

mkhook() {
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/$1" && chmod +x "$TEST_DIR/$1"
}
# MAIL: "sender|PRDR"; DATA: the recipients and the TLS cipher the server
# saw; PRDR: bad* refused, later* deferred.
mkhook mail-log "printf '%s|%s\n' \"\$sender_address\" \"\$prdr_requested\" >>'$TEST_DIR/mail.log'"
mkhook data-log "printf '%s|%s\n' \"\$recipients\" \"\${tls_in_cipher-}\" >>'$TEST_DIR/data.log'"
mkhook prdr-decide "case \$local_part in bad*) exit 1 ;; later*) exit 2 ;; esac; exit 0"

fresh() {
	: >"$TEST_DIR/mail.log" && : >"$TEST_DIR/data.log" && : >"$TEST_DIR/ev.log"
}
fresh

stored_count() {
	ls "$TEST_DIR/$1.md/$2/new" 2>/dev/null | wc -l
}

reply_has() {
	kvr "$1" "$2" smtp_reply >"$1.reply" || return 1
	grep -qF -- "$3" "$1.reply" && return 0
	echo "$2: smtp_reply '$(cat "$1.reply")' lacks '$3'" >&2
	return 1
}

printf 'From: %s\nTo: x@y.example\nSubject: prdr\n\nhello\n' "$A" >plain.eml

# ---- PRDR against exim -bs --------------------------------------------------------

mkdir -p exim/spool exim/log exim-tls/spool exim-tls/log
chown nobody exim/spool exim/log exim-tls/spool exim-tls/log 2>/dev/null || true
# exim_conf DIR [MORE]: PRDR with bad refused and later deferred per
# recipient; without PRDR the DATA ACL refuses a message for bad@ whole.
exim_conf() {
	cat <<EOF
primary_hostname = mx.test
exim_user = nobody
exim_group = nogroup
never_users =
keep_environment =
spool_directory = $TEST_DIR/$1/spool
log_file_path = $TEST_DIR/$1/log/%slog
log_selector = +tls_cipher
prdr_enable = true
acl_smtp_rcpt = acl_rcpt
acl_smtp_data_prdr = acl_prdr
acl_smtp_data = acl_data
$2
begin acl
acl_rcpt:
  accept
acl_prdr:
  deny message = 5.7.1 no thanks, \$local_part
       local_parts = bad : bad2
  defer message = 4.7.1 later, \$local_part
       local_parts = later
  accept
acl_data:
  deny message = 5.7.1 not while bad@ is a recipient
       condition = \${if match{\$recipients}{\N(^|, )bad@\N}}
  accept
begin routers
r:
  driver = redirect
  data = :blackhole:
EOF
}
exim_conf exim "tls_advertise_hosts =" >exim/exim.conf

exim_ok=
exim_start exim "$TEST_DIR/exim/exim.conf"
case $? in
0) exim_ok=1 EX=$SRV_PORT ;;
77) ;;
*) echo "Bail out! exim -bs through inetd.py did not start"; exit 1 ;;
esac

# exim_last: Exim's last "<=" log line.
exim_last() {
	grep " <= " "$TEST_DIR/$1/log/mainlog" | tail -n 1
}

if [ -n "$exim_ok" ]; then
	test_expect_success 'PRDR (exim -bs): --try-prdr, one accepted, one refused at the data: exit 2' '
		expect_status 2 $S -o kv --try-prdr --server 127.0.0.1:$EX -f $A \
		    good@y.example bad@y.example <plain.eml >p1.kv &&
		cat p1.kv && exim_last exim &&
		kvr_expect p1.kv good@y.example delivery_status delivered &&
		kvr_expect p1.kv good@y.example smtp_code 250 &&
		kvr_expect p1.kv bad@y.example delivery_status failed &&
		kvr_expect p1.kv bad@y.example smtp_code 550 &&
		reply_has p1.kv bad@y.example "5.7.1 no thanks, bad" &&
		kvr_expect p1.kv good@y.example prdr_requested 1 &&
		kvr_expect p1.kv bad@y.example prdr_requested 1 &&
		exim_last exim | grep -q " P=esmtp PRDR "
	'

	test_expect_success 'PRDR (exim -bs): accepted, refused (550) and deferred (450): exit 2' '
		expect_status 2 $S -o kv --try-prdr --server 127.0.0.1:$EX -f $A \
		    good@y.example bad@y.example later@y.example <plain.eml >p2.kv &&
		kvr_expect p2.kv good@y.example delivery_status delivered &&
		kvr_expect p2.kv bad@y.example smtp_code 550 &&
		kvr_expect p2.kv later@y.example delivery_status deferred &&
		kvr_expect p2.kv later@y.example smtp_code 450 &&
		reply_has p2.kv later@y.example "later, later"
	'

	test_expect_success 'PRDR (exim -bs): every recipient refused at the data: exit 1' '
		expect_status 1 $S -o kv --try-prdr --server 127.0.0.1:$EX -f $A \
		    bad@y.example bad2@y.example <plain.eml >p3.kv &&
		kvr_expect p3.kv bad@y.example delivery_status failed &&
		kvr_expect p3.kv bad2@y.example delivery_status failed &&
		reply_has p3.kv bad2@y.example "no thanks, bad2"
	'

	test_expect_success 'no --try-prdr (exim -bs): one answer for all, the DATA ACL'"'"'s 550: exit 1' '
		expect_status 1 $S -o kv --server 127.0.0.1:$EX -f $A \
		    good@y.example bad@y.example <plain.eml >p4.kv 2>p4.err &&
		cat p4.kv &&
		for r in good bad; do
			kvr_expect p4.kv $r@y.example delivery_status failed &&
			kvr_expect p4.kv $r@y.example smtp_code 550 &&
			kvr_expect p4.kv $r@y.example prdr_requested 0 &&
			reply_has p4.kv $r@y.example "not while bad@ is a recipient" || exit 1
		done &&
		[ "$(kvr p4.kv good@y.example smtp_reply)" = "$(kvr p4.kv bad@y.example smtp_reply)" ] &&
		grep "rejected after DATA" exim/log/mainlog | tail -n 1 | grep -qv PRDR
	'

	test_expect_success '--try-prdr with one recipient: no PRDR asked (exim -bs), exit 0' '
		expect_status 0 $S -o kv --try-prdr --server 127.0.0.1:$EX -f $A \
		    good@y.example <plain.eml >p5.kv &&
		kvr_expect p5.kv good@y.example prdr_requested 0 &&
		exim_last exim >last && cat last && ! grep -q PRDR last
	'
else
	for t in "PRDR (exim -bs): --try-prdr, one accepted, one refused" \
	    "PRDR (exim -bs): accepted, refused and deferred" \
	    "PRDR (exim -bs): every recipient refused at the data" \
	    "no --try-prdr (exim -bs): one answer for all" \
	    "--try-prdr with one recipient: no PRDR asked"; do
		test_skip "$t" "Exim not available (contrib/deps.sh check unpacks it)"
	done
fi

# ---- PRDR against smtpfront's PRDR hook --------------------------------------------------

sf_start sfp --hook-mail "$TEST_DIR/mail-log" --hook-prdr "$TEST_DIR/prdr-decide" ||
    { echo "Bail out! smtpfront"; exit 1; }
SFP=$SRV_PORT
test_expect_success 'PRDR (smtpfront --hook-prdr): 250, 550 and 450 per recipient, exit 2, one stored' '
	fresh && expect_status 2 $S -o kv --try-prdr --server 127.0.0.1:$SFP -f $A \
	    good@y.example bad@y.example later@y.example <plain.eml >q1.kv &&
	cat q1.kv &&
	kvr_expect q1.kv good@y.example smtp_code 250 &&
	reply_has q1.kv good@y.example "PRDR R=<good@y.example> acceptance" &&
	kvr_expect q1.kv bad@y.example delivery_status failed &&
	reply_has q1.kv bad@y.example "550 PRDR R=<bad@y.example> refusal" &&
	kvr_expect q1.kv later@y.example delivery_status deferred &&
	kvr_expect q1.kv later@y.example smtp_code 450 &&
	grep -qx "$A|yes" mail.log &&
	[ "$(stored_count sfp good)" = 1 ] && [ "$(stored_count sfp bad)" = 0 ] &&
	[ "$(stored_count sfp later)" = 0 ]
'

test_expect_success 'PRDR: without --try-prdr smtpfront gets no PRDR, all are delivered (exit 0)' '
	fresh && expect_status 0 $S -o kv --server 127.0.0.1:$SFP -f $A \
	    good2@y.example bad@y.example <plain.eml >q2.kv &&
	kvr_expect q2.kv bad@y.example delivery_status delivered &&
	kvr_expect q2.kv bad@y.example prdr_requested 0 &&
	grep -qx "$A|no" mail.log
'

sf_start sfnp --no-prdr --hook-mail "$TEST_DIR/mail-log" --hook-prdr "$TEST_DIR/prdr-decide" ||
    { echo "Bail out! smtpfront"; exit 1; }
SFNP=$SRV_PORT
test_expect_success 'PRDR: --try-prdr to a server without PRDR: plain MAIL, one answer (exit 0)' '
	fresh && expect_status 0 $S -o kv --try-prdr --server 127.0.0.1:$SFNP -f $A \
	    good@y.example bad@y.example <plain.eml >q3.kv &&
	kvr_expect q3.kv good@y.example prdr_requested 0 &&
	kvr_expect q3.kv bad@y.example delivery_status delivered &&
	grep -qx "$A|no" mail.log
'

# ---- STARTTLS --------------------------------------------------------------------

pki_make pki || { echo "Bail out! pki_make"; exit 1; }
pki_leaf mx "DNS:mx.test" ec 365 none || { echo "Bail out! pki_leaf"; exit 1; }
chmod 644 "$PKI_DIR/mx.key"
chmod 755 "$PKI_DIR"
CIPHER_RE='^TLS1\.[23]:[A-Za-z0-9_-]*:[0-9][0-9]*$'

sf_start sftls --tls-certificate "$PKI_DIR/mx.chain.pem" --tls-privatekey "$PKI_DIR/mx.key" \
    --hook-mail "$TEST_DIR/mail-log" --hook-data "$TEST_DIR/data-log" ||
    { echo "Bail out! smtpfront"; exit 1; }
SFT=$SRV_PORT
sf_start sfplain --hook-mail "$TEST_DIR/mail-log" --hook-data "$TEST_DIR/data-log" ||
    { echo "Bail out! smtpfront"; exit 1; }
SFPL=$SRV_PORT

test_expect_success 'STARTTLS (opportunistic): tls_out_cipher in Exim'"'"'s form, the one smtpfront saw' '
	fresh && expect_status 0 $S -o kv --server 127.0.0.1:$SFT -f $A bob@dest.test \
	    <plain.eml >t1.kv &&
	c=$(kvr t1.kv bob@dest.test tls_out_cipher) && echo "cipher: $c" &&
	printf "%s\n" "$c" | grep -q "$CIPHER_RE" &&
	grep -qxF "bob@dest.test|$c" data.log &&
	grep " <= " sftls.log | tail -n 1 | grep -qF "P=esmtps X=$c"
'

test_expect_success 'STARTTLS: text output and json say so too (json tls_out_cipher)' '
	expect_status 0 $S -o json --server 127.0.0.1:$SFT -f $A bob@dest.test \
	    <plain.eml >t2.json &&
	/usr/bin/python3 -c "import json, re, sys
o = json.loads(open(sys.argv[1]).read())
assert re.match(sys.argv[2], o[\"tls_out_cipher\"]), o" t2.json "$CIPHER_RE"
'

test_expect_success '--require-tls with STARTTLS offered: delivered over TLS' '
	fresh && expect_status 0 $S -o kv --require-tls --server 127.0.0.1:$SFT -f $A \
	    bob@dest.test <plain.eml >t3.kv &&
	kvr t3.kv bob@dest.test tls_out_cipher | grep -q "$CIPHER_RE"
'

test_expect_success '--require-tls, smtpfront without STARTTLS: deferred (exit 75), no MAIL' '
	fresh && expect_status 75 $S -o kv --require-tls --server 127.0.0.1:$SFPL -f $A \
	    bob@dest.test <plain.eml >t4.kv 2>t4.err &&
	cat t4.kv t4.err &&
	kvr_expect t4.kv bob@dest.test delivery_status deferred &&
	! [ -s mail.log ] && ! grep -q " <= " sfplain.log
'

sink_start sink || { echo "Bail out! smtp-sink"; exit 1; }
SINK=$SRV_PORT
test_expect_success '--require-tls, smtp-sink (no STARTTLS): deferred (exit 75), smtp-sink saw no MAIL' '
	expect_status 75 $S -o kv --require-tls --server 127.0.0.1:$SINK -f $A \
	    bob@dest.test <plain.eml >t5.kv &&
	kvr_expect t5.kv bob@dest.test delivery_status deferred &&
	grep -q "smtp-sink: EHLO client.test" sink.sink &&
	! grep -q "smtp-sink: MAIL" sink.sink
'

# t/rig/smtpd_starttls.py (pyOpenSSL): STARTTLS offered, answered 454.
if /usr/bin/python3 -c 'import OpenSSL' 2>/dev/null; then
	smtpd_start refuse --cert "$PKI_DIR/mx.chain.pem" --key "$PKI_DIR/mx.key" \
	    --name mx.test --refuse-starttls --timeout 120 ||
	    { echo "Bail out! smtpd_starttls"; exit 1; }
	REF=$SMTPD_PORT
	REFLOG=$TEST_DIR/smtpd/refuse.log
	test_expect_success '--require-tls, STARTTLS refused (454): deferred (exit 75), no MAIL' '
		expect_status 75 $S -o kv --require-tls --server 127.0.0.1:$REF -f $A \
		    bob@dest.test <plain.eml >t6.kv &&
		kvr_expect t6.kv bob@dest.test delivery_status deferred &&
		grep -q "cmd STARTTLS" "$REFLOG" && ! grep -q "cmd MAIL" "$REFLOG"
	'

	test_expect_success 'STARTTLS refused (454) without --require-tls: delivered in clear' '
		expect_status 0 $S -o kv --server 127.0.0.1:$REF -f $A bob@dest.test \
		    <plain.eml >t7.kv &&
		kvr_expect t7.kv bob@dest.test delivery_status delivered &&
		kvr_expect t7.kv bob@dest.test tls_out_cipher "" &&
		grep -q "cmd MAIL" "$REFLOG"
	'

else
	test_skip '--require-tls, STARTTLS refused (454)' 'python3-openssl is not installed'
	test_skip 'STARTTLS refused (454) without --require-tls' 'python3-openssl is not installed'
fi

test_expect_success '--no-tls: no STARTTLS though smtpfront offers it' '
	fresh && expect_status 0 $S -o kv --no-tls --server 127.0.0.1:$SFT -f $A \
	    bob@dest.test <plain.eml >t8.kv &&
	kvr_expect t8.kv bob@dest.test tls_out_cipher "" &&
	grep -qx "bob@dest.test|" data.log &&
	grep " <= " sftls.log | tail -n 1 | grep -q " P=esmtp "
'

exim_conf exim-tls "tls_certificate = $PKI_DIR/mx.chain.pem
tls_privatekey = $PKI_DIR/mx.key" >exim-tls/exim.conf
if [ -n "$exim_ok" ] && exim_start eximtls "$TEST_DIR/exim-tls/exim.conf"; then
	EXT=$SRV_PORT
	test_expect_success 'STARTTLS with exim -bs: delivered over TLS, the same version on both sides' '
		expect_status 0 $S -o kv --server 127.0.0.1:$EXT -f $A good@y.example \
		    <plain.eml >t9.kv &&
		c=$(kvr t9.kv good@y.example tls_out_cipher) && echo "ours: $c" &&
		printf "%s\n" "$c" | grep -q "$CIPHER_RE" &&
		exim_last exim-tls >last && cat last &&
		grep -q " P=esmtps X=${c%%:*}:" last
	'
else
	test_skip 'STARTTLS with exim -bs: delivered over TLS' 'Exim not available'
fi

# ---- events ------------------------------------------------------------------------
# two.test: MX 10 on 127.0.0.2 (nobody listens), MX 20 on 127.0.0.1.

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
EOF
EVH="printf '%s|%s|%s|%s|%s|%s|%s|%s\n' \"\$event_name\" \"\$event_data\" \"\${host_address-}\" \
    \"\${host_port-}\" \"\${event_defer_errno-}\" \"\${local_part-}\" \"\${domain-}\" \
    \"\${sender_address-}\" >>'$TEST_DIR/ev.log'"
mkhook ev "$EVH
exit 0"
mkhook ev-no-smtp "$EVH
[ \"\$event_name\" = smtp:connect ] && exit 1
exit 0"
mkhook ev-no-tcp "$EVH
[ \"\$event_name\" = tcp:connect ] && exit 1
exit 0"
M="$S --no-tls --dns-zone $TEST_DIR/mx.zone --port $SFPL"

# ev_names: the event names in order.
ev_names() {
	cut -d"|" -f1 "$TEST_DIR/ev.log"
}

# (Whether a connection that was refused gets a tcp:close, before or after
# its msg:host:defer, is left open.)
test_expect_success 'events: a dead MX, then the next: the events in order' '
	fresh && expect_status 0 $M -o kv --event-hook "$TEST_DIR/ev" -f $A u1@two.test \
	    u2@two.test <plain.eml >e1.kv &&
	cat ev.log &&
	ev_names | grep -v "^tcp:close\$" | uniq >names &&
	printf "%s\n" tcp:connect msg:host:defer tcp:connect smtp:connect msg:delivery >want &&
	diff -u want names &&
	[ "$(ev_names | tail -n 1)" = tcp:close ] &&
	[ "$(ev_names | grep -c "^tcp:close\$")" -le "$(ev_names | grep -c "^tcp:connect\$")" ]
'

test_expect_success 'events: tcp:connect and msg:host:defer for the dead host, event_defer_errno 111' '
	sed -n 1p ev.log | grep -q "^tcp:connect|[^|]*|127.0.0.2|$SFPL|" &&
	grep "^msg:host:defer|" ev.log >defer &&
	[ "$(wc -l <defer)" = 1 ] &&
	grep -q "^msg:host:defer|.\{1,\}|127.0.0.2|$SFPL|111|" defer
'

test_expect_success 'events: smtp:connect has the banner as event_data' '
	grep "^smtp:connect|" ev.log >sc && [ "$(wc -l <sc)" = 1 ] &&
	grep -q "^smtp:connect|[^|]*mx.test ESMTP mxkit smtpfront|127.0.0.1|$SFPL|" sc
'

test_expect_success 'events: msg:delivery once per recipient: the reply, local_part, domain, host' '
	grep "^msg:delivery|" ev.log >md && [ "$(wc -l <md)" = 2 ] &&
	grep -q "^msg:delivery|250 [^|]*OK id=[^|]*|127.0.0.1|$SFPL|[^|]*|u1|two.test|" md &&
	grep -q "^msg:delivery|250 [^|]*OK id=[^|]*|127.0.0.1|$SFPL|[^|]*|u2|two.test|" md
'

test_expect_success 'events: tcp:close last, for the host that took it; sender_address in every event' '
	tail -n 1 ev.log | grep -q "^tcp:close|[^|]*|127.0.0.1|$SFPL|" &&
	! grep -v "|$A\$" ev.log
'

test_expect_success 'events: smtp:connect hook exit 1: the host deferred (exit 75), no MAIL' '
	fresh && expect_status 75 $S --no-tls -o kv --event-hook "$TEST_DIR/ev-no-smtp" \
	    --server 127.0.0.1:$SFPL -f $A bob@dest.test <plain.eml >e2.kv &&
	cat ev.log &&
	kvr_expect e2.kv bob@dest.test delivery_status deferred &&
	grep -q "^smtp:connect|" ev.log && ! grep -q "^msg:delivery|" ev.log &&
	! [ -s mail.log ]
'

test_expect_success 'events: tcp:connect hook exit 1: no connection made (exit 75)' '
	n0=$(grep -c "SMTP connection from" sfplain.log) &&
	fresh && expect_status 75 $S --no-tls -o kv --event-hook "$TEST_DIR/ev-no-tcp" \
	    --server 127.0.0.1:$SFPL -f $A bob@dest.test <plain.eml >e3.kv &&
	cat ev.log &&
	kvr_expect e3.kv bob@dest.test delivery_status deferred &&
	sleep 0.2 && [ "$(grep -c "SMTP connection from" sfplain.log)" = "$n0" ] &&
	! grep -q "^smtp:connect|" ev.log && ! grep -q "^tcp:close|" ev.log
'

test_done
