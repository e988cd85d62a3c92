#!/bin/sh
# spfcheck -f under the real procmail (as the current user, everything in
# the test directory, the SPF record from a zone file): the delivered
# message has one Received-SPF field on top and is otherwise whole; a
# message that reaches the filter with its mbox From_ line keeps that line
# first; when spfcheck fails (a bad option) the message arrives whole,
# without the field.
. "$(dirname "$0")/lib.sh"

command -v procmail >/dev/null 2>&1 || skip_all "procmail is not installed"
require_bin spfcheck

cat >spf.zone <<'EOF'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
@	IN NS ns.example.test.
@	TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF
# Nothing is asked of the network: a closed port in case something slips.
OPTS="--receiver mx.test --dns-zone $TEST_DIR/spf.zone --resolver 127.0.0.1:1 --dns-timeout 200"

cat >msg.eml <<'EOF'
From: Alice <alice@example.test>
To: Bob <bob@example.test>
Subject: procmail and spfcheck
Message-ID: <pm1@example.test>

Hello Bob,
 with a leading space and a trailing one 
EOF
{ echo "From alice@example.test  Mon Jan  1 12:00:00 2024"; cat msg.eml; } >from.eml
. "$TEST_SRC/lib-procmail.sh"

# pm NAME MSG FILTER: deliver MSG with procmail -m through ":0 fw | FILTER"
# (none: no filter) into NAME (a maildir, or an mbox file for NAME.mbox).
pm() {
	_n=$1 _msg=$2 _filter=$3
	if [ "$_filter" = none ]; then
		procmail_run "$_n" "$_msg" </dev/null
	else
		printf ':0 fw\n| %s\n' "$_filter" | procmail_run "$_n" "$_msg"
	fi
}

# the one file delivered into maildir DIR, on stdout
delivered() {
	set -- "$1"/new/*
	[ $# = 1 ] && [ -f "$1" ] || { echo "delivered: $# files" >&2; return 1; }
	cat "$1"
}

# strip_top FILE: FILE without its first field (first line + continuations)
strip_top() {
	awk 'NR == 1 { next } !done && /^[ \t]/ { next } { done = 1; print }' "$1"
}

test_expect_success 'baseline: through cat' '
	pm cat msg.eml cat && delivered cat >cat.eml
'

test_expect_success 'pass: Received-SPF on top, the message otherwise whole' '
	pm pass msg.eml "spfcheck -f $OPTS -i 192.0.2.1 -s alice@example.test -e mail.example.test" &&
	delivered pass >pass.eml &&
	head -n 1 pass.eml | grep -q "^Received-SPF: pass (" &&
	[ "$(grep -c "^Received-SPF:" pass.eml)" = 1 ] &&
	strip_top pass.eml | cmp - cat.eml
'

test_expect_success 'fail: Received-SPF: fail, exit 0, the message whole' '
	pm fail msg.eml "spfcheck -f $OPTS -i 198.51.100.1 -s alice@example.test" &&
	delivered fail >fail.eml &&
	head -n 1 fail.eml | grep -q "^Received-SPF: fail (" &&
	strip_top fail.eml | cmp - cat.eml
'

test_expect_success 'a From_ line given to the filter stays first, the field under it' '
	pm cat.mbox from.eml cat &&
	pm from.mbox from.eml "spfcheck -f $OPTS -i 192.0.2.1 -s alice@example.test" &&
	head -n 1 from.mbox | grep -q "^From alice@example.test " &&
	sed -n 2p from.mbox | grep -q "^Received-SPF: pass (" &&
	head -n 1 cat.mbox | grep -q "^From alice@example.test " &&
	[ "$(head -n 1 from.mbox)" = "$(head -n 1 cat.mbox)" ] &&
	sed 1d from.mbox >from.rest && sed 1d cat.mbox >cat.rest &&
	strip_top from.rest | cmp - cat.rest
'

test_expect_success 'spfcheck fails (bad option, exit 64): the message whole, no field' '
	pm none msg.eml none && delivered none >none.eml &&
	pm bad msg.eml "spfcheck -f --no-such-option -i 192.0.2.1 -s alice@example.test" &&
	delivered bad >bad.eml && cmp bad.eml none.eml
'

test_done
