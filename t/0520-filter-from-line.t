#!/bin/sh
# A message that reaches a filter with its mbox From_ line on top (procmail
# and maildrop hand it over so): dkimverify -f, dkimsign, spfcheck -f and
# dmarceval -f keep the From_ line first and put their field right under
# it, and give the verdict the message has without the line, for LF and
# CRLF messages; the report modes of dkimverify and dmarceval judge the
# message below the line too.  Then the shipped procmail recipe, run by
# the real procmail, on such a message.  Keys and records come from a zone
# file: nothing is asked of the network.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

for p in spfcheck dmarceval; do
	[ -x "$MXKIT_BIN/$p" ] || { echo "Bail out! $MXKIT_BIN/$p is missing"; exit 1; }
done

ID=mx.test
NOW=1704110400
FROMLINE="From alice@example.test  Mon Jan  1 12:00:00 2024"
ZONE="--dns-zone $TEST_DIR/test.zone --resolver 127.0.0.1:1 --dns-timeout 200"
SPF="-i 192.0.2.1 -s alice@example.test -e mail.example.test"
SPFBAD="-i 198.51.100.1 -s alice@example.test -e mail.example.test"
SIGN="-d example.test -s rsa -k rsa.key --now $NOW"

dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >rsa.rec ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
{
	printf '$ORIGIN test.\n$TTL 300\n'
	printf '@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n'
	printf '@ IN NS ns.test.\n'
	printf 'example IN TXT "v=spf1 ip4:192.0.2.0/24 -all"\n'
	printf '_dmarc.example IN TXT "v=DMARC1; p=reject"\n'
	cat rsa.rec
} >test.zone

# with_from IN OUT [EOL]: IN with the From_ line on top, ended by EOL
# (default LF).
with_from() { { printf '%s%b' "$FROMLINE" "${3:-\n}"; cat "$1"; } >"$2"; }

mkmsg msg.eml
crlf msg.eml msg-crlf.eml
dkimsign $SIGN msg.eml >signed.eml &&
dkimsign $SIGN msg-crlf.eml >signed-crlf.eml ||
	{ echo "Bail out! dkimsign failed"; exit 1; }
sed 's/^Hello Bob,/Hello Eve,/' signed.eml >tampered.eml
for m in msg signed tampered; do
	with_from $m.eml $m-from.eml
done
with_from msg-crlf.eml msg-crlf-from.eml '\r\n'
with_from signed-crlf.eml signed-crlf-from.eml '\r\n'

# below IN PLAIN GOT: GOT is IN's From_ line (with its line ending), then
# exactly PLAIN: what the program wrote for the message without the line.
below() {
	{ head -n 1 "$1"; cat "$2"; } >want.tmp
	cmp want.tmp "$3" || { echo "--- wanted"; cat want.tmp; echo "--- got"; cat "$3"; return 1; }
}

# second FILE: the field on line 2 of FILE, unfolded, CR removed
second() {
	awk 'NR == 2 { f = $0; next } NR > 2 && /^[ \t]/ { f = f $0; next }
	    NR > 2 { exit } END { print f }' "$1" | tr -d '\r'
}

# drop_second FILE: FILE without the field on line 2
drop_second() {
	awk 'NR == 2 { skip = 1; next } skip && /^[ \t]/ { next }
	    { skip = 0; print }' "$1"
}

# ---- dkimverify ------------------------------------------------------------------

for v in "" -crlf; do
	test_expect_success "dkimverify -f${v:+ (CRLF)}: A-R under the From_ line, dkim=pass as without it" "
		dkimverify -f --authserv-id $ID $ZONE signed$v.eml >dv$v.plain &&
		dkimverify -f --authserv-id $ID $ZONE signed$v-from.eml >dv$v.got 2>dv$v.err &&
		! [ -s dv$v.err ] &&
		head -n 1 dv$v.got | tr -d '\r' | grep -qx '$FROMLINE' &&
		second dv$v.got | grep -q '^Authentication-Results: $ID; *dkim=pass' &&
		below signed$v-from.eml dv$v.plain dv$v.got
	"
done

test_expect_success 'dkimverify -f from stdin: a tampered message below a From_ line fails' '
	dkimverify -f --authserv-id $ID $ZONE <tampered.eml >dvt.plain &&
	dkimverify -f --authserv-id $ID $ZONE <tampered-from.eml >dvt.got &&
	second dvt.got | grep -q "dkim=fail" &&
	below tampered-from.eml dvt.plain dvt.got
'

test_expect_success 'dkimverify -f: the unsigned message of the bug report gets its field' '
	printf "From a@b Mon Jan  1 00:00:00 2024\nFrom: a@example.com\nSubject: x\n\nbody\n" |
	    dkimverify -f --authserv-id $ID $ZONE >bug.out 2>bug.err &&
	! [ -s bug.err ] &&
	printf "From a@b Mon Jan  1 00:00:00 2024\nAuthentication-Results: $ID; dkim=none\nFrom: a@example.com\nSubject: x\n\nbody\n" >bug.want &&
	cmp bug.want bug.out
'

test_expect_success 'dkimverify (report): the message below the From_ line, same verdict and exit' '
	for m in signed signed-crlf tampered; do
		st=0; dkimverify $ZONE -o kv $m.eml >$m.kv || st=$?
		expect_status $st dkimverify $ZONE -o kv $m-from.eml >$m-from.kv &&
		cmp $m.kv $m-from.kv || return 1
	done &&
	kv_expect signed-from.kv dkim_verify_status pass &&
	kv_expect tampered-from.kv dkim_verify_status fail &&
	expect_status 0 dkimverify $ZONE <signed-from.eml >st.txt &&
	grep -q "^pass d=example.test s=rsa" st.txt
'

test_expect_success 'dkimverify with several files: each below its From_ line' '
	expect_status 1 dkimverify $ZONE signed-from.eml tampered-from.eml >two.txt &&
	grep -q "^signed-from.eml: pass " two.txt &&
	grep -q "^tampered-from.eml: fail " two.txt
'

test_expect_success 'dkimverify -f: "From :" is the From field, not a From_ line' '
	printf "From : alice@example.test\nSubject: x\n\nbody\n" >obs.eml &&
	dkimverify -f --authserv-id $ID $ZONE obs.eml >obs.out &&
	head -n 1 obs.out | grep -q "^Authentication-Results: $ID; *dkim=none" &&
	sed 1d obs.out | cmp - obs.eml
'

test_expect_success 'dkimverify -f: a From_ line of 1000 bytes and more is not one: passed through' '
	{ printf "From a@b "; head -c 1000 /dev/zero | tr "\0" x; echo; cat msg.eml; } >long.eml &&
	dkimverify -f --authserv-id $ID $ZONE long.eml >long.out 2>long.err &&
	cmp long.eml long.out && grep -q "cannot parse" long.err
'

# ---- dkimsign --------------------------------------------------------------------

for v in "" -crlf; do
	test_expect_success "dkimsign${v:+ (CRLF)}: the signature under the From_ line, the line not signed" "
		dkimsign $SIGN msg$v-from.eml >ds$v.got 2>ds$v.err &&
		! [ -s ds$v.err ] &&
		head -n 1 ds$v.got | tr -d '\r' | grep -qx '$FROMLINE' &&
		second ds$v.got | grep -q '^DKIM-Signature: ' &&
		below msg$v-from.eml signed$v.eml ds$v.got &&
		sed 1d ds$v.got >ds$v.eml &&
		expect_status 0 dkimverify $ZONE ds$v.eml >/dev/null &&
		expect_status 0 dkimverify $ZONE ds$v.got >/dev/null
	"
done

test_expect_success 'dkimsign --strict from stdin: signed below the From_ line' '
	dkimsign --strict $SIGN <msg-from.eml >dss.got &&
	below msg-from.eml signed.eml dss.got
'

# ---- spfcheck --------------------------------------------------------------------

for v in "" -crlf; do
	test_expect_success "spfcheck -f${v:+ (CRLF)}: Received-SPF under the From_ line, pass as without it" "
		spfcheck -f --receiver $ID $ZONE $SPF msg$v.eml >sp$v.plain &&
		spfcheck -f --receiver $ID $ZONE $SPF msg$v-from.eml >sp$v.got &&
		head -n 1 sp$v.got | tr -d '\r' | grep -qx '$FROMLINE' &&
		second sp$v.got | grep -q '^Received-SPF: pass (' &&
		below msg$v-from.eml sp$v.plain sp$v.got
	"
done

test_expect_success 'spfcheck -f from stdin: fail, under the From_ line' '
	spfcheck -f --receiver $ID $ZONE $SPFBAD <msg-from.eml >spf.got &&
	spfcheck -f --receiver $ID $ZONE $SPFBAD <msg.eml >spf.plain &&
	second spf.got | grep -q "^Received-SPF: fail (" &&
	below msg-from.eml spf.plain spf.got
'

test_expect_success 'spfcheck -f on a CRLF message: the field ends CRLF' '
	sed -n 2p sp-crlf.got | grep -q "$(printf "\r")\$"
'

# ---- dmarceval -------------------------------------------------------------------

DM="--authserv-id $ID $ZONE"

for v in "" -crlf; do
	test_expect_success "dmarceval -f${v:+ (CRLF)}: A-R under the From_ line, dmarc=pass as without it" "
		dmarceval -f $DM $SPFBAD signed$v.eml >dm$v.plain &&
		dmarceval -f $DM $SPFBAD signed$v-from.eml >dm$v.got 2>dm$v.err &&
		! [ -s dm$v.err ] &&
		head -n 1 dm$v.got | tr -d '\r' | grep -qx '$FROMLINE' &&
		second dm$v.got | grep -q '^Authentication-Results: $ID; .*dmarc=pass' &&
		below signed$v-from.eml dm$v.plain dm$v.got
	"
done

test_expect_success 'dmarceval -f from stdin: dmarc=fail (p=reject) under the From_ line' '
	dmarceval -f $DM $SPFBAD <msg-from.eml >dmf.got &&
	dmarceval -f $DM $SPFBAD <msg.eml >dmf.plain &&
	second dmf.got | grep -q "dmarc=fail" &&
	below msg-from.eml dmf.plain dmf.got
'

test_expect_success 'dmarceval (report): the message below the From_ line, same verdict and exit' '
	expect_status 0 dmarceval -o kv $DM $SPF signed-from.eml >dp.kv &&
	dmarceval -o kv $DM $SPF signed.eml | cmp - dp.kv &&
	kv_expect dp.kv dmarc_status accept &&
	expect_status 1 dmarceval -o kv $DM $SPFBAD msg-crlf-from.eml >dr.kv &&
	dmarceval -o kv $DM $SPFBAD msg-crlf.eml | cmp - dr.kv &&
	kv_expect dr.kv dmarc_status reject &&
	kv_expect dr.kv dmarc_from_domain example.test
'

# ---- the real procmail -----------------------------------------------------------

if ! command -v procmail >/dev/null 2>&1; then
	test_skip 'procmail: the shipped recipe on a message with a From_ line' 'procmail is not installed'
	test_done
fi
. "$TEST_SRC/lib-procmail.sh"

# pm NAME MSG FILTER: deliver MSG with procmail -m into NAME (a maildir, or
# an mbox file for NAME.mbox).  FILTER: rc (the shipped recipe, by
# INCLUDERC), cat (an identity filter), none.
pm() {
	_n=$1 _msg=$2 _filter=$3
	{
		echo "DKIMVERIFY_OPTS=\"--authserv-id $ID $ZONE\""
		case $_filter in
		rc) echo "INCLUDERC=$TOP/contrib/procmail/dkimverify.rc" ;;
		cat) printf ':0 fw\n| cat\n' ;;
		esac
	} | procmail_run "$_n" "$_msg"
}

# the one file delivered into maildir DIR, on stdout
delivered() {
	set -- "$1"/new/*
	[ $# = 1 ] && [ -f "$1" ] || { echo "delivered: $# files" >&2; return 1; }
	cat "$1"
}

test_expect_success 'procmail: the shipped recipe adds the A-R field to a message with a From_ line' '
	pm cat.mbox signed-from.eml cat &&
	head -n 1 cat.mbox | grep -qx "$FROMLINE" &&
	pm pm.mbox signed-from.eml rc &&
	head -n 1 pm.mbox | grep -qx "$FROMLINE" &&
	second pm.mbox | grep -q "^Authentication-Results: $ID; *dkim=pass header.d=example.test header.s=rsa" &&
	[ "$(grep -c "^Authentication-Results:" pm.mbox)" = 1 ] &&
	drop_second pm.mbox | cmp - cat.mbox &&
	pm pm-md signed-from.eml rc && delivered pm-md >pm-md.eml &&
	grep -q "^Authentication-Results: $ID; *dkim=pass header.d=example.test" pm-md.eml
'

test_done
