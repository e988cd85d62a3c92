#!/bin/sh
# Interop, peers sign and dkimverify verifies.  Messages signed by dkimpy
# (rsa-sha256, ed25519-sha256), Mail::DKIM (rsa-sha256), mailauth
# (rsa-sha256, ed25519-sha256) and OpenDKIM's opendkim-testmsg (rsa-sha1,
# relaxed/simple: all it can sign) must give dkim_verify_status='pass', over
# the four canonicalization pairs, l=, folded and repeated header fields, an
# empty body, a body without a final line end, 8-bit bodies, LF and CRLF.
# Keys are made per run with openssl and served by nsd (t/rig/dns.sh).
#
# Known peer quirk, asserted as such: Mail::DKIM hashes a body that lacks its
# final line end without the CRLF that RFC 6376 3.4.3 adds for "simple", so
# its simple-body signatures of such a message are wrong; dkimverify must
# then say fail (bodyhash_mismatch), as dkimpy and mailauth do.
#
# A failing case prints the message, every peer's own verdict on it, and
# ours: a disagreement there may be a bug in lib/dkim.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/peers/common.sh"

DOM=peers.example
[ -x "$MXKIT_BIN/dkimverify" ] || skip_all "dkimverify not built"
command -v nsd >/dev/null 2>&1 || skip_all "nsd missing"
command -v openssl >/dev/null 2>&1 || skip_all "openssl missing"
peers_detect
peers_keys $DOM >keys.log 2>&1 || { cat keys.log >&2; skip_all "keys or DNS rig failed"; }
$PY "$P/mkmsgs.py" msgs || skip_all "cannot write the messages"
MSGS=$(cd msgs && ls)
CANONS="simple/simple simple/relaxed relaxed/simple relaxed/relaxed"

# check FILE WANT DESC [dkimverify args...]: WANT is "pass" or
# "STATUS:REASON"; on a mismatch show ours and the peers'.
check() {
	_f=$1 _want=$2 _desc=$3
	shift 3
	test_expect_success "$_desc" '
		"$MXKIT_BIN/dkimverify" "$@" -o kv "$_f" >kv.out; rc=$?
		st=$(kv_get dkim_verify_status kv.out)
		rs=$(kv_get dkim_verify_reason kv.out)
		got=$st; [ "$st" = pass ] || got="$st:$rs"
		if [ "$got" = "$_want" ] && { [ "$_want" != pass ] || [ $rc = 0 ]; }; then
			exit 0
		fi
		echo "message: $_f"
		echo "want: $_want  dkimverify: $got (exit $rc)"
		peer_verdicts "$_f"
		sed -n "/^DKIM-Signature/,/^[^ \t]/p" "$_f" | head -n 12
		exit 1
	' "$@"
}

# test_expect_success evals its body; make "$@" reach it.
test_expect_success() {
	_d=$1 _body=$2
	shift 2
	test_count=$((test_count + 1))
	if (eval "$_body") >"$TEST_DIR/.out" 2>&1; then
		echo "ok $test_count - $_d"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $_d"
		sed 's/^/#   /' "$TEST_DIR/.out" | head -n 40
	fi
	rm -f "$TEST_DIR/.out"
}

# sign_group NAME DRIVER ARGS...: sign every message into signed/NAME/
sign_group() {
	_g=$1
	shift
	mkdir -p "signed/$_g"
	"$@" -o "signed/$_g" msgs/*.eml >"signed/$_g.log" 2>&1 || true
}

# want_for GROUP-PEER CANON MSG: the verdict dkimverify must give
want_for() {
	case $1:$2:$3 in
	maildkim:*/simple:*nofinal*) echo fail:bodyhash_mismatch ;;
	*) echo pass ;;
	esac
}

# verify_group NAME PEER CANON LABEL [MSG...]
verify_group() {
	_g=$1 _peer=$2 _canon=$3 _label=$4
	shift 4
	for _m in ${*:-$MSGS}; do
		if [ ! -s "signed/$_g/$_m" ]; then
			test_skip "$_label $_m" "the peer did not sign it: $(grep -F "$_m" "signed/$_g.log" | head -n 1 | cut -c1-150)"
			continue
		fi
		_w=$(want_for "$_peer" "$_canon" "$_m")
		check "signed/$_g/$_m" "$_w" "$_label $_m: dkimverify says $_w"
	done
}

skip_group() {
	for _m in $MSGS; do test_skip "$1 $_m" "$2"; done
}

for c in $CANONS; do
	g=$(echo "$c" | tr / -)
	if [ -n "$have_dkimpy" ]; then
		sign_group "dkimpy-rsa-$g" "$P/dkimpy-sign.py" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem
		verify_group "dkimpy-rsa-$g" dkimpy "$c" "dkimpy rsa-sha256 $c"
	else
		skip_group "dkimpy rsa-sha256 $c" "$why_dkimpy"
	fi
	if [ -n "$have_dkimpy_ed" ]; then
		sign_group "dkimpy-ed-$g" "$P/dkimpy-sign.py" -a ed25519-sha256 -c "$c" -d $DOM -s ed -k ed.pem
		verify_group "dkimpy-ed-$g" dkimpy "$c" "dkimpy ed25519-sha256 $c"
	else
		skip_group "dkimpy ed25519-sha256 $c" "$why_dkimpy_ed"
	fi
	if [ -n "$have_maildkim" ]; then
		sign_group "maildkim-rsa-$g" perl "$P/maildkim-sign.pl" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem
		verify_group "maildkim-rsa-$g" maildkim "$c" "Mail::DKIM rsa-sha256 $c"
	else
		skip_group "Mail::DKIM rsa-sha256 $c" "$why_maildkim"
	fi
	if [ -n "$have_mailauth" ]; then
		sign_group "mailauth-rsa-$g" node "$P/mailauth-sign.js" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem
		verify_group "mailauth-rsa-$g" mailauth "$c" "mailauth rsa-sha256 $c"
		sign_group "mailauth-ed-$g" node "$P/mailauth-sign.js" -a ed25519-sha256 -c "$c" -d $DOM -s ed -k ed.pem
		verify_group "mailauth-ed-$g" mailauth "$c" "mailauth ed25519-sha256 $c"
	else
		skip_group "mailauth rsa-sha256 $c" "$why_mailauth"
		skip_group "mailauth ed25519-sha256 $c" "$why_mailauth"
	fi
done

# l=: dkimpy signs the whole body's length; Mail::DKIM and mailauth are
# asked for l=20 (less than every body here but the empty ones).  Text added
# after signing is outside l= and must not break the signature.
NONEMPTY=$(echo "$MSGS" | grep -v empty)
lgroup() {
	_g=$1 _peer=$2 _label=$3
	shift 3
	sign_group "$_g" "$@"
	verify_group "$_g" "$_peer" relaxed/relaxed "$_label" $NONEMPTY
	for _m in $NONEMPTY; do
		[ -s "signed/$_g/$_m" ] || continue
		mkdir -p "signed/$_g-appended"
		if head -n 1 "signed/$_g/$_m" | grep -q "$(printf '\r')"; then
			printf '\r\nappended after signing\r\n' | cat "signed/$_g/$_m" - >"signed/$_g-appended/$_m"
		else
			printf '\nappended after signing\n' | cat "signed/$_g/$_m" - >"signed/$_g-appended/$_m"
		fi
		check "signed/$_g-appended/$_m" pass "$_label $_m, text appended after l=: dkimverify says pass"
	done
}
if [ -n "$have_dkimpy" ]; then
	lgroup dkimpy-l dkimpy "dkimpy rsa-sha256 l=(whole body)" \
		"$P/dkimpy-sign.py" -a rsa-sha256 -c relaxed/relaxed -d $DOM -s rsa -k rsa.pem -L
else
	test_skip "dkimpy l=" "$why_dkimpy"
fi
if [ -n "$have_maildkim" ]; then
	lgroup maildkim-l maildkim "Mail::DKIM rsa-sha256 l=20" \
		perl "$P/maildkim-sign.pl" -a rsa-sha256 -c relaxed/relaxed -d $DOM -s rsa -k rsa.pem -l 20
else
	test_skip "Mail::DKIM l=" "$why_maildkim"
fi
if [ -n "$have_mailauth" ]; then
	lgroup mailauth-l mailauth "mailauth ed25519-sha256 l=20" \
		node "$P/mailauth-sign.js" -a ed25519-sha256 -c relaxed/relaxed -d $DOM -s ed -k ed.pem -l 20
else
	test_skip "mailauth l=" "$why_mailauth"
fi

# An explicit header list: repeated names (three Received, two Comments),
# and a name the message lacks (x-missing: signed as absent).
H=from:to:subject:date:message-id:received:received:received:comments:comments:x-long:x-missing
for c in simple/simple relaxed/relaxed; do
	g=$(echo "$c" | tr / -)
	[ -n "$have_dkimpy" ] && {
		sign_group "dkimpy-H-$g" "$P/dkimpy-sign.py" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem -H $H
		verify_group "dkimpy-H-$g" dkimpy "$c" "dkimpy h=(repeats, absent) $c" lf-folded.eml crlf-folded.eml
	}
	[ -n "$have_maildkim" ] && {
		sign_group "maildkim-H-$g" perl "$P/maildkim-sign.pl" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem -H $H
		verify_group "maildkim-H-$g" maildkim "$c" "Mail::DKIM h=(repeats, absent) $c" lf-folded.eml crlf-folded.eml
	}
	[ -n "$have_mailauth" ] && {
		sign_group "mailauth-H-$g" node "$P/mailauth-sign.js" -a rsa-sha256 -c "$c" -d $DOM -s rsa -k rsa.pem -H $H
		verify_group "mailauth-H-$g" mailauth "$c" "mailauth h=(repeats, absent) $c" lf-folded.eml crlf-folded.eml
	}
done

# OpenDKIM: rsa-sha1 only.  Valid, so pass once RFC 8301's policy is off;
# with it on (the default) the historic algorithm is refused.
if [ -n "$have_opendkim" ]; then
	sign_group opendkim sh "$P/opendkim-sign.sh" -d $DOM -s rsa -k rsa.pem
	for m in $MSGS; do
		if [ ! -s "signed/opendkim/$m" ]; then
			test_skip "opendkim-testmsg rsa-sha1 relaxed/simple $m" "opendkim-testmsg did not sign it"
			continue
		fi
		check "signed/opendkim/$m" pass \
			"opendkim-testmsg rsa-sha1 relaxed/simple $m: with --no-policy rfc8301 dkimverify says pass" \
			--no-policy rfc8301
		check "signed/opendkim/$m" fail:algorithm_historic \
			"opendkim-testmsg rsa-sha1 relaxed/simple $m: by default dkimverify says fail (algorithm_historic)"
	done
else
	test_skip "opendkim-testmsg rsa-sha1" "$why_opendkim"
fi

test_done
