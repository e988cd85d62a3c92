#!/bin/sh
# socks5-send end to end through real SOCKS5 proxies (dante and
# microsocks, t/rig/socks.sh) to a real SMTP server (smtpfront --listen
# delivering to a maildir): direct delivery, no-auth and RFC 1929 proxies,
# a wrong password, pri order, dead and refusing proxies skipped, the
# weighted choice within a pri (binomial bound), every proxy down,
# --remote-dns, IPv6 proxies and targets, --proxy-file, the --connect
# tunnel, the proxy_* variables in kv and json, the tcp:connect event
# (the proxy's address, a non-zero exit skips the proxy) and bad --proxy
# specifiers.  The delivered message is compared byte for byte with the
# input (LF line ends, as smtpfront stores it).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/socks.sh"

require_bin socks5-send smtpfront
socks_require dante microsocks
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
mkdir spool

# ---- the world: one SMTP server, five proxies, three dead ports ----
has_v6=
socks_have_v6 && has_v6=1

SPORT=$(free_port)
if [ -n "$has_v6" ]; then
	SFL="--listen 127.0.0.1:$SPORT --listen [::1]:$SPORT"
	nlisten=2
else
	SFL="--listen 127.0.0.1:$SPORT"
	nlisten=1
fi
# shellcheck disable=SC2086
smtpfront --hostname mx.test --spool-dir "$TEST_DIR/spool" $SFL \
    --deliver "maildir:$TEST_DIR/md" 2>smtpfront.log </dev/null &
SFPID=$!
at_exit "proc_stop $SFPID"
SRV=127.0.0.1:$SPORT

wait_for sh -c "[ \$(grep -c 'listening on' smtpfront.log) = $nlisten ]" ||
    { sed 's/^/# /' smtpfront.log; echo "Bail out! smtpfront did not listen"; exit 1; }

if [ -n "$has_v6" ]; then
	socks_start_dante DN none -6 || { echo "Bail out! dante (none)"; exit 1; }
else
	socks_start_dante DN none || { echo "Bail out! dante (none)"; exit 1; }
fi
DN=$SOCKS_PORT
socks_start_dante DU username || { echo "Bail out! dante (username)"; exit 1; }
DU=$SOCKS_PORT
socks_start_dante DR refuse || { echo "Bail out! dante (refuse)"; exit 1; }
DR=$SOCKS_PORT
socks_start_microsocks MP || { echo "Bail out! microsocks"; exit 1; }
MP=$SOCKS_PORT
MUSER=mxk MPASS=pw-$$-ok
socks_start_microsocks MA -u "$MUSER" -P "$MPASS" ||
    { echo "Bail out! microsocks -u -P"; exit 1; }
MA=$SOCKS_PORT
# ports nobody listens on (free_port closes what it bound)
DEAD=$(free_port)
DEAD2=$(free_port)
DEAD3=$(free_port)
DEADDNS=$(free_port)
U=$SOCKS_USER P=$SOCKS_PASS

# ---- helpers ----

# mkmsg TAG [crlf]: a message whose Subject is TAG in TAG.in, with a
# dot-stuffing line and a lone "." that must not end it (-i semantics).
mkmsg() {
	{
		echo "From: Sender <sender@client.test>"
		echo "To: rcpt@mx.test"
		echo "Subject: $1"
		echo "Date: Thu, 03 Dec 2026 12:00:00 +0000"
		echo "Message-ID: <$1@client.test>"
		echo ""
		echo "body of $1"
		echo ".a line that starts with a dot"
		echo "."
		echo "the line above is a single dot, which is not the end"
		echo "last line"
	} >"$1.in"
	[ "${2:-}" = crlf ] && sed -i 's/$/\r/' "$1.in"
	return 0
}

# send TAG ARG...: socks5-send -o kv ARG... rcpt@mx.test < TAG.in (made
# by mkmsg when missing), TAG.kv and TAG.err; bounded; its exit status.
send() {
	_t=$1
	shift
	[ -f "$_t.in" ] || mkmsg "$_t"
	timeout 60 socks5-send -o kv --helo client.test \
	    --connect-timeout 20 --timeout 20 -f sender@client.test \
	    "$@" rcpt@mx.test <"$_t.in" >"$_t.kv" 2>"$_t.err"
	_rc=$?
	sed 's/^/kv: /' "$_t.kv"
	sed 's/^/stderr: /' "$_t.err"
	echo "exit: $_rc"
	return $_rc
}

stored_file() {
	grep -l "^Subject: $1\$" md/new/* 2>/dev/null
}

# strip_trace FILE: the message after smtpfront's Return-Path: and
# Received: (with its continuation lines).
strip_trace() {
	awk 's == 0 && /^Return-Path:/ { next }
	    s == 0 && /^Received:/ { s = 1; next }
	    s == 1 && /^[ \t]/ { next }
	    { s = 2; print }' "$1"
}

# delivered TAG: exactly one message TAG in the maildir, equal to TAG.in
# with its CRs removed.
delivered() {
	_df=$(stored_file "$1")
	[ "$(printf '%s' "$_df" | grep -c .)" = 1 ] ||
	    { echo "stored as '$_df' (want one file)"; return 1; }
	strip_trace "$_df" >"$1.got"
	tr -d '\r' <"$1.in" >"$1.want"
	diff "$1.want" "$1.got"
}

not_delivered() {
	[ -z "$(stored_file "$1")" ] && return 0
	echo "$1 was delivered: $(stored_file "$1")"
	return 1
}

# received_port TAG: the client port in the Received: field smtpfront
# wrote (the proxy's side of the connection when proxied).
received_port() {
	sed -n 's/^Received: from .* (\[[^]]*\]:\([0-9]*\)).*/\1/p' \
	    "$(stored_file "$1")" | head -n 1
}
received_addr() {
	sed -n 's/^Received: from .* (\[\([^]]*\)\]:[0-9]*).*/\1/p' \
	    "$(stored_file "$1")" | head -n 1
}

# lines FILE PATTERN N: exactly N lines of FILE match PATTERN (grep -E).
lines() {
	_ln=$(grep -cE -- "$2" "$1")
	[ "$_ln" = "$3" ] && return 0
	echo "$1: $_ln lines match '$2', want $3:"
	cat "$1"
	return 1
}

# no_secret SECRET FILE...: SECRET appears in none of the files.
no_secret() {
	_sec=$1
	shift
	! grep -lF -- "$_sec" "$@"
}

# a proxy used: kv says so and the proxy's log shows the connection
via() {
	kv_expect "$1.kv" proxy_local_address "$2" &&
	    kv_expect "$1.kv" proxy_local_port "$3"
}
ok_delivery() {
	kv_expect "$1.kv" delivery_status delivered &&
	    kv_expect "$1.kv" smtp_code 250 && delivered "$1"
}
dlog() { cat "$(socks_log "$1")"; }

# ---- the plain cases ----

test_expect_success 'direct delivery with --server (no proxy)' '
	send direct --server "$SRV" &&
	ok_delivery direct &&
	kv_expect direct.kv host_address 127.0.0.1 &&
	kv_expect direct.kv host_port "$SPORT" &&
	kv_expect direct.kv proxy_local_address "" &&
	kv_expect direct.kv proxy_local_port "" &&
	lines direct.err . 0
'

test_expect_success 'CRLF input is delivered as smtpfront stores it (LF)' '
	mkmsg crlf crlf &&
	send crlf --server "$SRV" &&
	ok_delivery crlf
'

test_expect_success 'through dante without authentication' '
	send dn --server "$SRV" --proxy "127.0.0.1 port=$DN" &&
	ok_delivery dn && via dn 127.0.0.1 "$DN" &&
	dlog DN | grep -q "pass(.*-> .* 127\.0\.0\.1\.$SPORT\$" &&
	[ "$(received_port dn)" = "$(kvget proxy_external_port dn.kv)" ] &&
	lines dn.err . 0
'

test_expect_success 'through dante with RFC 1929 username and password' '
	send du --server "$SRV" \
	    --proxy "127.0.0.1 port=$DU auth=name name=$U pass=$P" &&
	ok_delivery du && via du 127.0.0.1 "$DU" &&
	dlog DU | grep -q "username%$U@127\.0\.0\.1.*-> .* 127\.0\.0\.1\.$SPORT\$" &&
	no_secret "$P" du.kv du.err
'

test_expect_success 'through microsocks without authentication' '
	send mp --server "$SRV" --proxy "127.0.0.1 port=$MP" &&
	ok_delivery mp && via mp 127.0.0.1 "$MP" &&
	grep -q "connected to 127\.0\.0\.1:$SPORT\$" "$(socks_log MP)"
'

test_expect_success 'through microsocks -u/-P with the right credentials' '
	send ma --server "$SRV" \
	    --proxy "127.0.0.1 port=$MA auth=name name=$MUSER pass=$MPASS" &&
	ok_delivery ma && via ma 127.0.0.1 "$MA" &&
	grep -q "connected to 127\.0\.0\.1:$SPORT\$" "$(socks_log MA)" &&
	no_secret "$MPASS" ma.kv ma.err
'

test_expect_success 'text output: the recipient, the server, "via" the proxy' '
	mkmsg text &&
	timeout 60 socks5-send --helo client.test --timeout 20 \
	    -f sender@client.test --server "$SRV" --proxy "127.0.0.1 port=$MP" \
	    rcpt@mx.test <text.in >text.out 2>text.err &&
	cat text.out text.err &&
	lines text.out . 1 &&
	grep -q "^rcpt@mx\.test: delivered: 127\.0\.0\.1 \[127\.0\.0\.1\]:$SPORT via 127\.0\.0\.1:$MP: 250 " text.out &&
	delivered text
'

# ---- credentials refused ----

test_expect_success 'dante, wrong password, the only proxy: exit 75, one line' '
	expect_status 75 send badpw --server "$SRV" \
	    --proxy "127.0.0.1 port=$DU auth=name name=$U pass=wrong-$P" &&
	not_delivered badpw &&
	kv_expect badpw.kv delivery_status deferred &&
	kv_expect badpw.kv smtp_code 0 &&
	lines badpw.err "^socks5-send: proxy 127\.0\.0\.1:$DU: .*authentication" 1 &&
	no_secret "wrong-$P" badpw.kv badpw.err
'

test_expect_success 'microsocks, wrong password, the only proxy: exit 75, one line' '
	expect_status 75 send badpwm --server "$SRV" \
	    --proxy "127.0.0.1 port=$MA auth=name name=$MUSER pass=nope" &&
	not_delivered badpwm &&
	lines badpwm.err "^socks5-send: proxy 127\.0\.0\.1:$MA: .*authentication" 1
'

test_expect_success 'no credentials for a proxy that wants them: exit 75, one line' '
	expect_status 75 send nocred --server "$SRV" --proxy "127.0.0.1 port=$DU" &&
	not_delivered nocred &&
	lines nocred.err "^socks5-send: proxy 127\.0\.0\.1:$DU: " 1
'

# ---- the order ----

test_expect_success 'pri=2 is used before pri=1 (listed second)' '
	send pri1 --server "$SRV" \
	    --proxy "127.0.0.1 port=$MP pri=1 : 127.0.0.1 port=$DN pri=2" &&
	ok_delivery pri1 && via pri1 127.0.0.1 "$DN"
'

test_expect_success 'pri=2 is used before pri=1 (listed first)' '
	send pri2 --server "$SRV" \
	    --proxy "127.0.0.1 port=$DN pri=1 : 127.0.0.1 port=$MP pri=2" &&
	ok_delivery pri2 && via pri2 127.0.0.1 "$MP"
'

test_expect_success 'a dead proxy of higher pri is skipped, the next used' '
	send dead --server "$SRV" \
	    --proxy "127.0.0.1 port=$DEAD pri=3 : 127.0.0.1 port=$DN pri=1" &&
	ok_delivery dead && via dead 127.0.0.1 "$DN" &&
	lines dead.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " 1 &&
	lines dead.err . 1
'

test_expect_success 'a proxy refusing CONNECT (dante rule) is skipped, the next used' '
	send refuse --server "$SRV" \
	    --proxy "127.0.0.1 port=$DR pri=2 : 127.0.0.1 port=$MP pri=1" &&
	ok_delivery refuse && via refuse 127.0.0.1 "$MP" &&
	lines refuse.err "^socks5-send: proxy 127\.0\.0\.1:$DR: .*connection not allowed by ruleset" 1 &&
	dlog DR | grep -q "block("
'

test_expect_success 'two --proxy options are one list' '
	send two --server "$SRV" --proxy "127.0.0.1 port=$DEAD pri=9" \
	    --proxy "127.0.0.1 port=$MP pri=1" &&
	ok_delivery two && via two 127.0.0.1 "$MP" &&
	lines two.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " 1
'

# Weights 3 and 1 at one pri, both dead so that each run tries both and
# its first diagnostic names the one tried first.  n = 200, p = 0.75: the
# weight-3 one first 150 times on average (sd 6.1); outside 150 +- 31 has
# probability 5.2e-7 (exact binomial tails) under a correct choice, while
# a uniform one (100) or a fixed order (200 or 0) is far outside.
test_expect_success 'weights 3:1 at one pri: the weight-3 proxy first in 75% +- 31/200 of 200 runs' '
	mkmsg weight && : >weight.firsts && n=0 &&
	while [ $n -lt 200 ]; do
		n=$((n + 1))
		timeout 20 socks5-send -o kv --helo client.test \
		    --connect-timeout 10 -f sender@client.test --server "$SRV" \
		    --proxy "127.0.0.1 port=$DEAD weight=3 : 127.0.0.1 port=$DEAD2 weight=1" \
		    rcpt@mx.test <weight.in >weight.kv 2>weight.err
		rc=$?
		[ $rc = 75 ] || { echo "run $n: exit $rc"; cat weight.err; exit 1; }
		a=$(grep -c "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " weight.err)
		b=$(grep -c "^socks5-send: proxy 127\.0\.0\.1:$DEAD2: " weight.err)
		[ "$a$b" = 11 ] ||
		    { echo "run $n: not one line per proxy:"; cat weight.err; exit 1; }
		grep -m 1 -o "^socks5-send: proxy 127\.0\.0\.1:[0-9]*:" weight.err >>weight.firsts
	done &&
	w3=$(grep -c ":$DEAD:" weight.firsts) &&
	w1=$(grep -c ":$DEAD2:" weight.firsts) &&
	echo "weight 3 first: $w3, weight 1 first: $w1" &&
	[ $((w3 + w1)) = 200 ] && [ "$w1" -gt 0 ] && [ "$w3" -gt 0 ] &&
	[ "$w3" -ge 119 ] && [ "$w3" -le 181 ] && not_delivered weight
'

test_expect_success 'every proxy down: exit 75, nothing delivered, one line per proxy' '
	expect_status 75 send down --server "$SRV" \
	    --proxy "127.0.0.1 port=$DEAD pri=3 : 127.0.0.1 port=$DEAD2 pri=2 : 127.0.0.1 port=$DEAD3" &&
	not_delivered down &&
	kv_expect down.kv delivery_status deferred &&
	kv_expect down.kv smtp_code 0 &&
	kv_expect down.kv proxy_local_address "" &&
	kvget smtp_reply down.kv | grep -q "no proxy got through" &&
	for p in $DEAD $DEAD2 $DEAD3; do
		lines down.err "^socks5-send: proxy 127\.0\.0\.1:$p: " 1 || exit 1
	done
'

test_expect_success 'every proxy failing, each a different way: one line each' '
	expect_status 75 send mixed --server "$SRV" \
	    --proxy "127.0.0.1 port=$DEAD pri=3 : 127.0.0.1 port=$DR pri=2 : 127.0.0.1 port=$DU auth=name name=$U pass=x" &&
	not_delivered mixed &&
	lines mixed.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " 1 &&
	lines mixed.err "^socks5-send: proxy 127\.0\.0\.1:$DR: .*connection not allowed by ruleset" 1 &&
	lines mixed.err "^socks5-send: proxy 127\.0\.0\.1:$DU: .*authentication" 1
'

# ---- --remote-dns: the name only the proxy resolves (the local
# resolver is a port nobody answers on) ----

DNSDEAD="--resolver 127.0.0.1:$DEADDNS --dns-timeout 300"
test_expect_success 'without --remote-dns the name fails locally (the control)' '
	before=$(grep -c "connected to localhost:" "$(socks_log MP)")
	# shellcheck disable=SC2086
	expect_status 75 send rdnsctl --server "localhost:$SPORT" $DNSDEAD \
	    --proxy "127.0.0.1 port=$MP" &&
	not_delivered rdnsctl &&
	[ "$(grep -c "connected to localhost:" "$(socks_log MP)")" = "$before" ]
'

test_expect_success '--remote-dns: microsocks resolves "localhost" (SOCKS5 DOMAINNAME)' '
	# shellcheck disable=SC2086
	send rdnsm --server "localhost:$SPORT" --remote-dns $DNSDEAD \
	    --proxy "127.0.0.1 port=$MP" &&
	ok_delivery rdnsm && via rdnsm 127.0.0.1 "$MP" &&
	kv_expect rdnsm.kv host localhost &&
	grep -q "connected to localhost:$SPORT\$" "$(socks_log MP)"
'

test_expect_success '--remote-dns: dante resolves "localhost"' '
	# shellcheck disable=SC2086
	send rdnsd --server "localhost:$SPORT" --remote-dns $DNSDEAD \
	    --proxy "127.0.0.1 port=$DN" &&
	ok_delivery rdnsd && via rdnsd 127.0.0.1 "$DN"
'

# ---- IPv6 ----

if [ -n "$has_v6" ]; then
	test_expect_success 'a proxy on ::1 written "::::1 port=N"' '
		send v6a --server "$SRV" --proxy "::::1 port=$DN" &&
		ok_delivery v6a && via v6a ::1 "$DN" &&
		dlog DN | grep -q "pass(.*: ::1\.[0-9]* ::1\.$DN -> "
	'
	test_expect_success 'a proxy on ::1 written "<; ::1 port=N", after a dead one' '
		send v6b --server "$SRV" \
		    --proxy "<; ::1 port=$DEAD pri=2; ::1 port=$DN pri=1" &&
		ok_delivery v6b && via v6b ::1 "$DN" &&
		lines v6b.err "^socks5-send: proxy \[::1\]:$DEAD: " 1
	'
	test_expect_success '--server [::1]:PORT through an IPv4 proxy (dante)' '
		send v6c --server "[::1]:$SPORT" --proxy "127.0.0.1 port=$DN" &&
		ok_delivery v6c && via v6c 127.0.0.1 "$DN" &&
		kv_expect v6c.kv host_address ::1 &&
		[ "$(received_addr v6c)" = ::1 ]
	'
	test_expect_success '--server [::1]:PORT through an IPv4 proxy (microsocks)' '
		send v6d --server "[::1]:$SPORT" --proxy "127.0.0.1 port=$MP" &&
		ok_delivery v6d && via v6d 127.0.0.1 "$MP" &&
		[ "$(received_addr v6d)" = ::1 ]
	'
else
	for _t in 'a proxy on ::1 written "::::1 port=N"' \
	    'a proxy on ::1 written "<; ::1 port=N", after a dead one' \
	    '--server [::1]:PORT through an IPv4 proxy (dante)' \
	    '--server [::1]:PORT through an IPv4 proxy (microsocks)'; do
		test_skip "$_t" '::1 is not configured'
	done
fi

# ---- --proxy-file ----

{
	echo "# the proxies of this test: a dead one first, then dante"
	echo ""
	echo "127.0.0.1 port=$DEAD pri=2"
	echo "   # an indented comment"
	echo "127.0.0.1 port=$DU pri=1 auth=name name=$U pass=$P"
} >proxies
chmod 600 proxies
test_expect_success '--proxy-file (mode 0600) with credentials; none on the command line' '
	[ "$(stat -c %a proxies)" = 600 ] &&
	set -- --server "$SRV" --proxy-file "$TEST_DIR/proxies" &&
	case "$*" in *"$P"*) echo "the password is in the arguments"; exit 1 ;; esac &&
	send pfile "$@" &&
	ok_delivery pfile && via pfile 127.0.0.1 "$DU" &&
	lines pfile.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " 1 &&
	no_secret "$P" pfile.kv pfile.err
'

test_expect_success '--proxy-file that cannot be read: exit 66' '
	expect_status 66 send pfnone --server "$SRV" \
	    --proxy-file "$TEST_DIR/no-such-file" &&
	not_delivered pfnone && lines pfnone.err . 1
'

# ---- --connect ----

cat >tunnel.chat <<'EOF'
< 220
> EHLO tunnel.test
< 250
> MAIL FROM:<sender@client.test>
< 250
> RCPT TO:<rcpt@mx.test>
< 250
> DATA
< 354
> Subject: tunnel
>
> through the tunnel
> ..dot
> .
< 250
> QUIT
< 221
EOF
printf 'Subject: tunnel\n\nthrough the tunnel\n.dot\n' >tunnel.in
test_expect_success '--connect HOST:PORT: an SMTP session through dante' '
	$CHAT --timeout 30 --exec timeout 60 socks5-send \
	    --connect "127.0.0.1:$SPORT" --proxy "127.0.0.1 port=$DN" \
	    tunnel.chat >tunnel.out 2>tunnel.err
	rc=$?; cat tunnel.out tunnel.err; [ $rc = 0 ] &&
	grep -q "^<- 250 2\.0\.0 OK id=" tunnel.out &&
	grep -q "^<- 221 " tunnel.out &&
	delivered tunnel &&
	grep -q "^Received: from tunnel\.test (\[127\.0\.0\.1\]:" "$(stored_file tunnel)"
'

# (through dante: microsocks closes both ways at the client's FIN, so
# the reply to QUIT would be lost there whoever the client is)
test_expect_success '--connect: stdin EOF half-closes, the server answers, exit 0' '
	{ sleep 1; printf "QUIT\r\n"; } |
	    timeout 60 socks5-send --connect "127.0.0.1:$SPORT" \
	    --proxy "127.0.0.1 port=$DN" >half.out 2>half.err
	rc=$?; cat half.out half.err; [ $rc = 0 ] &&
	grep -q "^220 mx\.test " half.out && grep -q "^221 " half.out
'

test_expect_success '--connect with --remote-dns: the proxy resolves the name' '
	# shellcheck disable=SC2086
	{ sleep 1; printf "QUIT\r\n"; sleep 1; } |
	    timeout 60 socks5-send --connect "localhost:$SPORT" --remote-dns \
	    $DNSDEAD --proxy "127.0.0.1 port=$MP" >rconn.out 2>rconn.err
	rc=$?; cat rconn.out rconn.err; [ $rc = 0 ] &&
	grep -q "^221 " rconn.out &&
	grep -q "connected to localhost:$SPORT\$" "$(socks_log MP)"
'

test_expect_success '--connect, every proxy down: exit 75, one line per proxy' '
	expect_status 75 timeout 60 socks5-send --connect "127.0.0.1:$SPORT" \
	    --proxy "127.0.0.1 port=$DEAD : 127.0.0.1 port=$DEAD2" \
	    </dev/null >cdown.out 2>cdown.err &&
	cat cdown.err && lines cdown.out . 0 &&
	lines cdown.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD: " 1 &&
	lines cdown.err "^socks5-send: proxy 127\.0\.0\.1:$DEAD2: " 1
'

# ---- kv and json ----

KEYS="recipient local_part domain delivery_status smtp_code smtp_reply host
host_address host_port proxy_local_address proxy_local_port
proxy_external_address proxy_external_port tls_out_cipher prdr_requested
sender_address"
test_expect_success 'kv: every variable; proxy_local_* the proxy, proxy_external_* its BND' '
	send kv --server "$SRV" --proxy "127.0.0.1 port=$DN" &&
	ok_delivery kv &&
	for k in $KEYS; do
		grep -q "^$k=" kv.kv || { echo "no $k"; exit 1; }
	done &&
	kv_expect kv.kv recipient rcpt@mx.test &&
	kv_expect kv.kv local_part rcpt && kv_expect kv.kv domain mx.test &&
	kv_expect kv.kv sender_address sender@client.test &&
	kv_expect kv.kv host_address 127.0.0.1 &&
	kv_expect kv.kv host_port "$SPORT" &&
	kv_expect kv.kv proxy_local_address 127.0.0.1 &&
	kv_expect kv.kv proxy_local_port "$DN" &&
	kv_expect kv.kv proxy_external_address 127.0.0.1 &&
	ep=$(kvget proxy_external_port kv.kv) &&
	[ "$ep" -ge 1 ] && [ "$ep" -le 65535 ] && [ "$ep" != "$DN" ] &&
	[ "$ep" = "$(received_port kv)" ] &&
	kv_expect kv.kv tls_out_cipher "" &&
	kv_expect kv.kv prdr_requested 0
'

test_expect_success 'kv through microsocks: its BND.ADDR/PORT as it sends them' '
	send kvm --server "$SRV" --proxy "127.0.0.1 port=$MA auth=name name=$MUSER pass=$MPASS" &&
	ok_delivery kvm && via kvm 127.0.0.1 "$MA" &&
	ea=$(kvget proxy_external_address kvm.kv) &&
	ep=$(kvget proxy_external_port kvm.kv) &&
	echo "microsocks BND: $ea $ep" &&
	/usr/bin/python3 -c "import ipaddress, sys; ipaddress.ip_address(sys.argv[1])" "$ea" &&
	[ "$ep" -ge 0 ] && [ "$ep" -le 65535 ]
'

test_expect_success 'kv of a direct delivery: the proxy_* variables empty' '
	for k in proxy_local_address proxy_local_port proxy_external_address proxy_external_port; do
		kv_expect direct.kv $k "" || exit 1
	done
'

test_expect_success 'json: one object, the same keys and values as kv' '
	mkmsg json &&
	timeout 60 socks5-send -o json --helo client.test --timeout 20 \
	    -f sender@client.test --server "$SRV" --proxy "127.0.0.1 port=$DN" \
	    rcpt@mx.test <json.in >json.out 2>json.err &&
	cat json.out json.err && delivered json &&
	/usr/bin/python3 - "$DN" "$SPORT" "$(received_port json)" $KEYS <<-\EOF
	import json, sys
	dn, sport, rport, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
	lines = [l for l in open("json.out") if l.strip()]
	assert len(lines) == 1, lines
	o = json.loads(lines[0])
	missing = [k for k in keys if k not in o]
	assert not missing, missing
	s = lambda k: str(o[k])
	assert o["delivery_status"] == "delivered", o
	assert s("smtp_code") == "250", o
	assert o["proxy_local_address"] == "127.0.0.1", o
	assert s("proxy_local_port") == dn, o
	assert o["proxy_external_address"] == "127.0.0.1", o
	assert s("proxy_external_port") == rport, (o, rport)
	assert s("host_port") == sport, o
	EOF
'

# ---- events ----

# hook NAME [SKIP_PORT]: ./NAME logs "event|host_address|host_port|
# proxy_local_address|proxy_local_port|proxy_external_port" to NAME.log
# and its whole environment to NAME.env; exits 1 at tcp:connect to
# SKIP_PORT.  The paths are written into the script: the hook need not
# inherit our environment.
hook() {
	cat >"$1" <<-EOF
	#!/bin/sh
	printf '%s|%s|%s|%s|%s|%s\n' "\$event_name" "\${host_address-}" \\
	    "\${host_port-}" "\${proxy_local_address-}" "\${proxy_local_port-}" \\
	    "\${proxy_external_port-}" >>"$TEST_DIR/$1.log"
	env >>"$TEST_DIR/$1.env"
	[ "\$event_name" = tcp:connect ] && [ "\${host_port-}" = "${2:-none}" ] && exit 1
	exit 0
	EOF
	chmod +x "$1"
	: >"$1.log"
	: >"$1.env"
}

hook ev1
test_expect_success 'event tcp:connect: host_address/host_port are the proxy'"'"'s' '
	send ev1 --server "$SRV" --event-hook "$TEST_DIR/ev1" \
	    --proxy "127.0.0.1 port=$DU auth=name name=$U pass=$P" &&
	ok_delivery ev1 && cat ev1.log &&
	lines ev1.log "^tcp:connect\|127\.0\.0\.1\|$DU\|127\.0\.0\.1\|$DU\|" 1 &&
	lines ev1.log "^tcp:connect\|" 1 &&
	grep -q "^smtp:connect|" ev1.log &&
	grep -q "^msg:delivery|127\.0\.0\.1|$SPORT|127\.0\.0\.1|$DU|[0-9]" ev1.log &&
	grep -q "^tcp:close|" ev1.log &&
	grep -q "^sender_address=sender@client.test\$" ev1.env &&
	no_secret "$P" ev1.env
'

test_expect_success 'a hook exiting 1 at tcp:connect for the first proxy: the next is used' '
	hook ev2 "$MP" &&
	before=$(grep -c "connected to" "$(socks_log MP)")
	send ev2 --server "$SRV" --event-hook "$TEST_DIR/ev2" \
	    --proxy "127.0.0.1 port=$MP pri=2 : 127.0.0.1 port=$DN pri=1" &&
	ok_delivery ev2 && via ev2 127.0.0.1 "$DN" && cat ev2.log &&
	grep -q "^tcp:connect|127\.0\.0\.1|$MP|" ev2.log &&
	grep -q "^tcp:connect|127\.0\.0\.1|$DN|" ev2.log &&
	[ "$(head -n 1 ev2.log | cut -d"|" -f3)" = "$MP" ] &&
	[ "$(grep -c "connected to" "$(socks_log MP)")" = "$before" ] &&
	lines ev2.err "^socks5-send: proxy 127\.0\.0\.1:$MP: " 1
'

# ---- bad specifiers ----

# "naming it": by its number in the list or by the offending text
for _spec in "127.0.0.1 port=$DN colour=red|colour" \
    "300.1.2.3 port=$DN|300\.1\.2\.3" \
    "127.0.0.1 port=0|port=0" \
    "127.0.0.1 port=65536|65536" \
    "127.0.0.1 pri=1 weight=0|weight" \
    "localhost port=$DN|localhost"; do
	SPEC=${_spec%|*} WHAT=${_spec##*|}
	test_expect_success "bad --proxy \"$SPEC\": exit 64, one line naming it" '
		mkmsg badspec &&
		expect_status 64 timeout 20 socks5-send -o kv -f sender@client.test \
		    --server "$SRV" --proxy "127.0.0.1 port=$MP : $SPEC" \
		    rcpt@mx.test <badspec.in >badspec.out 2>badspec.err &&
		cat badspec.err && lines badspec.err . 1 &&
		grep -qE -- "specifier 2|$WHAT" badspec.err &&
		lines badspec.out . 0 && not_delivered badspec
	'
done

test_expect_success 'a bad specifier with a password: exit 64, the password not shown' '
	mkmsg badsecret &&
	expect_status 64 timeout 20 socks5-send -o kv -f sender@client.test \
	    --server "$SRV" \
	    --proxy "127.0.0.1 port=$DU auth=name name=$U pass=Top-$P colour=red" \
	    rcpt@mx.test <badsecret.in >badsecret.out 2>badsecret.err &&
	cat badsecret.err && lines badsecret.err . 1 &&
	no_secret "Top-$P" badsecret.err badsecret.out
'

test_done
