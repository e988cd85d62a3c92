#!/bin/sh
# contrib/procmail/spf-dmarc.rc run by the real procmail (as the current
# user, HOME and the maildirs in the test directory) against the nsd rig
# of t/lib-dmarc.sh: the client IP, HELO and MAIL FROM are read from the
# topmost Received field (Postfix and Exim shapes, IPv4 and IPv6) and
# Return-Path; the delivered message has an Authentication-Results field
# (parsed back with python3-authres) over a Received-SPF field and is
# otherwise whole; without a usable Received, DMARC runs on DKIM alone;
# hostile values reach no shell; when a program is missing or fails the
# message arrives whole, without fields.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dmarc.sh"

command -v procmail >/dev/null 2>&1 || skip_all "procmail is not installed"
command -v formail >/dev/null 2>&1 || skip_all "formail is not installed"
[ -x "$MXKIT_BIN/spfcheck" ] || skip_all "spfcheck not built"
/usr/bin/python3 -c 'import authres' 2>/dev/null || skip_all "python3-authres missing"
dmarc_rig

PM_RC=$TOP/contrib/procmail/spf-dmarc.rc
DM_OPTS="--authserv-id $ID --resolver $MXKIT_RESOLVER --dns-timeout 500"
SPF_OPTS="--receiver $ID --resolver $MXKIT_RESOLVER --dns-timeout 500"
. "$TEST_SRC/lib-procmail.sh"

# msg FILE RETURN-PATH RECEIVED-FROM-CLAUSE: a message as our MX delivers it
msg() {
	mkfrom "$1.raw" "Alice <alice@reject.test>"
	{
		[ "$2" = - ] || printf 'Return-Path: %s\n' "$2"
		[ "$3" = - ] || printf 'Received: %s\n\tby mx.test (Postfix) with ESMTP id 4AbC; Mon, 01 Jan 2024 12:00:05 +0000\n' "$3"
		cat "$1.raw"
	} >"$1"
}
msg pass.eml '<alice@reject.test>' 'from relay.test (relay.test [192.0.2.1])'
msg fail.eml '<alice@reject.test>' 'from relay.test (relay.test [192.0.2.99])'
msg exim.eml '<alice@reject.test>' 'from relay.test ([192.0.2.1] helo=reject.test)'
msg v6.eml '<alice@reject.test>' 'from relay.test (relay.test [IPv6:2001:db8::1])'
msg null.eml '<>' 'from reject.test (reject.test [192.0.2.1])'
msg norcvd.eml '<alice@reject.test>' -
msg hostile.eml '<"x;touch${IFS}pwned"@reject.test>' 'from relay.test (relay.test [192.0.2.1])'
msg hostile2.eml '<alice@reject.test>' 'from a;touch${IFS}pwned2 (x [192.0.2.1$(touch${IFS}pwned3)])'
dkimsign -d reject.test -s sel -k reject.key norcvd.eml >signed.eml ||
	{ echo "Bail out! dkimsign failed"; exit 1; }

# the one file delivered into maildir DIR, on stdout
delivered() {
	set -- "$1"/new/*
	[ $# = 1 ] && [ -f "$1" ] || { echo "delivered: $# files" >&2; return 1; }
	cat "$1"
}

# pm NAME MSG [RECIPE [EXTRA]]: deliver MSG with procmail -m into maildir
# NAME/.  RECIPE: yes (the shipped one), cat (an identity filter, for
# comparing: procmail appends a newline to what it hands a filter).
# EXTRA: more rcfile lines before the INCLUDERC, POST after it.
pm() {
	_n=$1 _msg=$2 _with=${3:-yes} _extra=${4:-} _post=${5:-}
	{
		echo "DMARCEVAL_OPTS=\"$DM_OPTS\""
		echo "SPFCHECK_OPTS=\"$SPF_OPTS\""
		[ -n "$_extra" ] && printf '%s\n' "$_extra"
		case $_with in
		yes) echo "INCLUDERC=$PM_RC" ;;
		cat) printf ':0 fw\n| cat\n' ;;
		esac
		[ -n "$_post" ] && printf '%s\n' "$_post"
	} | procmail_run "$_n" "$_msg" "$TEST_DIR/$_n"
}

# strip_fields N FILE: FILE without its first N header fields
strip_fields() {
	awk -v n="$1" 'done { print; next }
	    /^[ \t]/ { next }
	    { if (++f > n) { done = 1; print } }' "$2"
}

test_expect_success 'baseline: through cat' '
	pm cat-pass pass.eml cat && delivered cat-pass >cat-pass.eml
'

test_expect_success 'SPF and DMARC pass: A-R over Received-SPF, message otherwise whole' '
	pm pm-pass pass.eml && delivered pm-pass >pm-pass.eml &&
	head -n 1 pm-pass.eml | grep -q "^Authentication-Results: $ID;" &&
	ar_parse pm-pass.eml >pass.ar &&
	grep -q "^spf=pass smtp.mailfrom=" pass.ar &&
	grep -q "^dmarc=pass .*header.from=reject.test" pass.ar &&
	grep -q "^Received-SPF: pass" pm-pass.eml &&
	[ "$(grep -c "^Authentication-Results:" pm-pass.eml)" = 1 ] &&
	strip_fields 2 pm-pass.eml | cmp - cat-pass.eml
'

# the filing example of the recipe's comments
QUARANTINE=':0
* ^Authentication-Results: mx\.test;.*dmarc=fail.*policy\.dmarc=(reject|quarantine)
quarantine/'

test_expect_success 'SPF fail: dmarc=fail with policy.dmarc=reject; the documented filing works' '
	pm pm-fail fail.eml yes "" "$QUARANTINE" && delivered pm-fail/quarantine >pm-fail.eml &&
	ar_parse pm-fail.eml >fail.ar &&
	grep -q "^spf=fail" fail.ar && grep -q "^dmarc=fail .*policy.dmarc=reject" fail.ar &&
	grep -q "^Received-SPF: fail" pm-fail.eml &&
	pm pm-pass2 pass.eml yes "" "$QUARANTINE" && delivered pm-pass2 >/dev/null
'

test_expect_success 'Exim'"'"'s Received shape ([IP] helo=NAME) is read too' '
	pm pm-exim exim.eml && delivered pm-exim >pm-exim.eml &&
	ar_parse pm-exim.eml >exim.ar && grep -q "^dmarc=pass" exim.ar
'

test_expect_success 'an IPv6 client ([IPv6:...]) is checked: not allowed, spf=fail' '
	pm pm-v6 v6.eml && delivered pm-v6 >pm-v6.eml &&
	ar_parse pm-v6.eml >v6.ar && grep -q "^spf=fail" v6.ar &&
	sed -n "/^Received-SPF:/,/^[^ \t]/p" pm-v6.eml | tr -d "\n" | grep -q "^Received-SPF: fail.*2001:db8::1"
'

test_expect_success 'the null sender: SPF of the HELO name aligns' '
	pm pm-null null.eml && delivered pm-null >pm-null.eml &&
	ar_parse pm-null.eml >null.ar && grep -q "^dmarc=pass" null.ar
'

test_expect_success 'no Received field: DMARC on DKIM alone, no Received-SPF' '
	pm pm-dkim signed.eml && delivered pm-dkim >pm-dkim.eml &&
	ar_parse pm-dkim.eml >dkim.ar && grep -q "^dmarc=pass" dkim.ar &&
	grep -q "^dkim=pass" dkim.ar && ! grep -q "^Received-SPF:" pm-dkim.eml
'

test_expect_success 'hostile Return-Path and Received: no shell runs them' '
	pm pm-h1 hostile.eml && delivered pm-h1 >pm-h1.eml &&
	pm pm-h2 hostile2.eml && delivered pm-h2 >pm-h2.eml &&
	! ls pwned* pm-h1/pwned* pm-h2/pwned* home/pwned* 2>/dev/null &&
	head -n 1 pm-h1.eml | grep -q "^Authentication-Results: $ID;" &&
	! grep -q "^Received-SPF:" pm-h1.eml
'

test_expect_success 'dmarceval missing: the message arrives whole, without fields' '
	pm pm-nodm pass.eml yes "DMARCEVAL=/nonexistent/dmarceval" &&
	delivered pm-nodm >pm-nodm.eml && cmp pm-nodm.eml pass.eml
'

test_expect_success 'spfcheck missing: the message arrives whole, without fields' '
	pm pm-nospf pass.eml yes "SPFCHECK=/nonexistent/spfcheck" &&
	delivered pm-nospf >pm-nospf.eml && cmp pm-nospf.eml pass.eml
'

test_expect_success 'a bad option to dmarceval (exit 64): the message arrives whole' '
	pm pm-bad pass.eml yes "DMARCEVAL_OPTS=--no-such-option" &&
	delivered pm-bad >pm-bad.eml && cmp pm-bad.eml pass.eml
'

test_done
