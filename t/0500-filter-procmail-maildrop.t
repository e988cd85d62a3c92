#!/bin/sh
# The shipped procmail and maildrop recipes, run by the real procmail and
# maildrop (as the current user, HOME and the mailboxes in the test
# directory, keys from a zone file): a signed message arrives with one
# Authentication-Results field and otherwise whole; when dkimverify fails
# (a stand-in that exits 70 without output, a bad option) the message still
# arrives whole, without the field.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

command -v procmail >/dev/null 2>&1 || skip_all "procmail is not installed"
command -v maildrop >/dev/null 2>&1 || skip_all "maildrop is not installed"

PM_RC=$TOP/contrib/procmail/dkimverify.rc
MD_RC=$TOP/contrib/maildrop/dkimverify.mailfilter
ID=mx.test
# Keys from a zone file with an SOA: nothing is asked of the network.  The
# resolver is a closed loopback port in case something slipped through.
OPTS="--authserv-id $ID --dns-zone $TEST_DIR/ex.zone --resolver 127.0.0.1:1 --dns-timeout 200"

. "$TEST_SRC/lib-procmail.sh"
mkdir fakebin

dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >rsa.rec ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
{
	printf '$ORIGIN example.test.\n$TTL 300\n'
	printf '@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n'
	printf '@ IN NS ns.example.test.\n'
	cat rsa.rec
} >ex.zone
mkmsg msg.eml
dkimsign -d example.test -s rsa -k rsa.key msg.eml >signed.eml
sed 's/^Hello Bob,/Hello Eve,/' signed.eml >tampered.eml

# A dkimverify that fails: exits 70, writes nothing.
printf '#!/bin/sh\ncat >/dev/null\nexit 70\n' >fakebin/dkimverify
# ... and one that does not even read its input.
mkdir fakebin2
printf '#!/bin/sh\nexit 70\n' >fakebin2/dkimverify
chmod 755 fakebin/dkimverify fakebin2/dkimverify

# the one file delivered into maildir DIR, on stdout
delivered() {
	set -- "$1"/new/*
	[ $# = 1 ] && [ -f "$1" ] || { echo "delivered: $# files" >&2; return 1; }
	cat "$1"
}

# first_field FILE: the first header field, unfolded, CR removed
first_field() {
	awk 'NR == 1 { f = $0; next } /^[ \t]/ { f = f " " $0; next } { print f; exit }' "$1" |
		tr -d '\r' | tr -s ' \t' '  '
}

# ---- procmail ---------------------------------------------------------------------

# pm NAME MSG PATH [RECIPE [OPTS]]: deliver MSG with procmail -m into
# maildir NAME/.  RECIPE: yes (the shipped one, by INCLUDERC), no (none),
# cat (an identity filter: procmail appends a newline to what it hands a
# filter, so this is what a filtered message is compared with).  procmail
# clears the environment: settings go into the rcfile ($PM_EXTRA lines).
PM_EXTRA=
pm() {
	_n=$1 _msg=$2 _path=$3 _with=${4:-yes} _opts=${5-$OPTS}
	{
		echo "DKIMVERIFY_OPTS=\"$_opts\""
		[ -n "$PM_EXTRA" ] && echo "$PM_EXTRA"
		case $_with in
		yes) echo "INCLUDERC=$PM_RC" ;;
		cat) printf ':0 fw\n| cat\n' ;;
		esac
	} | procmail_run "$_n" "$_msg" "$TEST_DIR/$_n" "$_path"
}

test_expect_success 'procmail: baseline deliveries without the recipe, and through cat' '
	pm pm-base signed.eml "/usr/bin:/bin" no && delivered pm-base >pm-base.eml &&
	grep -q "^Subject: test message 1" pm-base.eml &&
	pm pm-cat signed.eml "/usr/bin:/bin" cat && delivered pm-cat >pm-cat.eml &&
	cmp -s signed.eml pm-base.eml
'

test_expect_success 'procmail: the delivered message has the field and is otherwise whole' '
	pm pm-pass signed.eml "$MXKIT_BIN:/usr/bin:/bin" && delivered pm-pass >pm-pass.eml &&
	head -n 1 pm-pass.eml | grep -q "^Authentication-Results: $ID;" &&
	first_field pm-pass.eml | grep -q "dkim=pass header.d=example.test header.s=rsa" &&
	[ "$(grep -c "^Authentication-Results:" pm-pass.eml)" = 1 ] &&
	forge strip --top 1 pm-pass.eml | cmp - pm-cat.eml
'

test_expect_success 'procmail: a tampered message gets dkim=fail, otherwise whole' '
	pm pm-tbase tampered.eml "/usr/bin:/bin" cat && delivered pm-tbase >pm-tbase.eml &&
	pm pm-fail tampered.eml "$MXKIT_BIN:/usr/bin:/bin" && delivered pm-fail >pm-fail.eml &&
	first_field pm-fail.eml | grep -q "^Authentication-Results: $ID; *dkim=fail" &&
	forge strip --top 1 pm-fail.eml | cmp - pm-tbase.eml
'

test_expect_success 'procmail: dkimverify exits 70 without output: message whole, no field' '
	pm pm-fake signed.eml "$TEST_DIR/fakebin:$MXKIT_BIN:/usr/bin:/bin" &&
	delivered pm-fake >pm-fake.eml && cmp pm-fake.eml pm-base.eml
'

test_expect_success 'procmail: dkimverify exits 70 without reading: message whole, no field' '
	pm pm-fake2 signed.eml "$TEST_DIR/fakebin2:$MXKIT_BIN:/usr/bin:/bin" &&
	delivered pm-fake2 >pm-fake2.eml && cmp pm-fake2.eml pm-base.eml
'

test_expect_success 'procmail: DKIMVERIFY set in the rcfile picks the program' '
	PM_EXTRA=DKIMVERIFY=$TEST_DIR/fakebin/dkimverify &&
	pm pm-var signed.eml "$MXKIT_BIN:/usr/bin:/bin" &&
	delivered pm-var >pm-var.eml && cmp pm-var.eml pm-base.eml &&
	PM_EXTRA=DKIMVERIFY=$MXKIT_BIN/dkimverify &&
	pm pm-var2 signed.eml "/usr/bin:/bin" &&
	delivered pm-var2 >pm-var2.eml && first_field pm-var2.eml | grep -q "dkim=pass"
'

test_expect_success 'procmail: a bad option (exit 64): message whole, no field' '
	pm pm-badopt signed.eml "$MXKIT_BIN:/usr/bin:/bin" yes "--no-such-option" &&
	delivered pm-badopt >pm-badopt.eml && cmp pm-badopt.eml pm-base.eml
'

test_expect_success 'procmail: dkimverify not installed: message whole, no field' '
	PM_EXTRA=DKIMVERIFY=/nonexistent/dkimverify &&
	pm pm-none2 signed.eml "$MXKIT_BIN:/usr/bin:/bin" &&
	delivered pm-none2 >pm-none2.eml && cmp pm-none2.eml pm-base.eml
'

# ---- maildrop ---------------------------------------------------------------------

# maildrop always reads /etc/maildroprc first (Debian's has only comments):
# with real instructions in it these results would not be ours to judge.
if [ -f /etc/maildroprc ] && grep -qv '^[[:space:]]*\(#.*\)\{0,1\}$' /etc/maildroprc; then
	test_skip 'maildrop tests' '/etc/maildroprc holds instructions'
	test_done
fi

# md NAME MSG PATH MODE [OPTS]: deliver MSG with maildrop FILTER into maildir
# NAME/.  MODE: include (the shipped file, by include), copy (its lines
# copied into the filter file), none (no recipe).
md() {
	_n=$1 _msg=$2 _path=$3 _mode=$4 _opts=${5-$OPTS}
	mkdir -p "$_n/new" "$_n/cur" "$_n/tmp"
	{
		echo "PATH=\"$_path\""
		echo "DEFAULT=\"$TEST_DIR/$_n/\""
		echo "logfile \"$TEST_DIR/$_n.log\""
		echo "DKIMVERIFY_OPTS=\"$_opts\""
		case $_mode in
		include) echo "include \"$MD_RC\"" ;;
		copy) cat "$MD_RC" ;;
		esac
		echo "to \"\$DEFAULT\""
	} >"$_n.filter"
	# maildrop refuses a filter file with group or world permissions
	chmod 600 "$_n.filter"
	timeout 60 maildrop "$_n.filter" <"$_msg"
}

test_expect_success 'maildrop: baseline delivery without the recipe' '
	md md-base signed.eml "/usr/bin:/bin" none && delivered md-base >md-base.eml &&
	grep -q "^Subject: test message 1" md-base.eml
'

test_expect_success 'maildrop: filter file with group/world permissions is refused (75)' '
	cp md-base.filter loose.filter && chmod 644 loose.filter &&
	mkdir -p md-loose/new md-loose/cur md-loose/tmp &&
	sed -i "s|$TEST_DIR/md-base/|$TEST_DIR/md-loose/|" loose.filter &&
	st=0; timeout 60 maildrop loose.filter <signed.eml 2>/dev/null || st=$?
	if [ "$(id -u)" = 0 ]; then
		echo "# running as root: maildrop does not check modes for root" >&2
	else
		[ $st = 75 ] && ! ls md-loose/new/* 2>/dev/null
	fi
'

for mode in include copy; do
	test_expect_success "maildrop ($mode): the delivered message has the field and is otherwise whole" "
		md md-pass-$mode signed.eml \"\$MXKIT_BIN:/usr/bin:/bin\" $mode &&
		delivered md-pass-$mode >md-pass-$mode.eml &&
		head -n 1 md-pass-$mode.eml | grep -q '^Authentication-Results: $ID;' &&
		first_field md-pass-$mode.eml | grep -q 'dkim=pass header.d=example.test header.s=rsa' &&
		[ \"\$(grep -c '^Authentication-Results:' md-pass-$mode.eml)\" = 1 ] &&
		forge strip --top 1 md-pass-$mode.eml | cmp - md-base.eml
	"
done

test_expect_success 'maildrop: a tampered message gets dkim=fail, otherwise whole' '
	md md-tbase tampered.eml "/usr/bin:/bin" none && delivered md-tbase >md-tbase.eml &&
	md md-fail tampered.eml "$MXKIT_BIN:/usr/bin:/bin" include && delivered md-fail >md-fail.eml &&
	first_field md-fail.eml | grep -q "^Authentication-Results: $ID; *dkim=fail" &&
	forge strip --top 1 md-fail.eml | cmp - md-tbase.eml
'

test_expect_success 'maildrop: dkimverify exits 70 without output: message whole, no field' '
	md md-fake signed.eml "$TEST_DIR/fakebin:$MXKIT_BIN:/usr/bin:/bin" include &&
	delivered md-fake >md-fake.eml && cmp md-fake.eml md-base.eml
'

test_expect_success 'maildrop: dkimverify exits 70 without reading: message whole, no field' '
	md md-fake2 signed.eml "$TEST_DIR/fakebin2:$MXKIT_BIN:/usr/bin:/bin" include &&
	delivered md-fake2 >md-fake2.eml && cmp md-fake2.eml md-base.eml
'

test_expect_success 'maildrop: a bad option (exit 64): message whole, no field' '
	md md-badopt signed.eml "$MXKIT_BIN:/usr/bin:/bin" include "--no-such-option" &&
	delivered md-badopt >md-badopt.eml && cmp md-badopt.eml md-base.eml
'

test_expect_success 'maildrop: dkimverify not installed: message whole, no field' '
	md md-none signed.eml "/nonexistent" include &&
	delivered md-none >md-none.eml && cmp md-none.eml md-base.eml
'

test_done
