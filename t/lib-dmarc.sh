# t/lib-dmarc.sh: what the dmarceval tests (t/07xx-dmarceval-*) share.
# Source after t/lib.sh; it sources t/lib-dkim.sh and t/rig/dns.sh.
#
#   dmarc_rig         skips the test when dmarceval is not built or nsd is
#                     missing; keys (dkimsign --keygen) for reject.test and
#                     other.test, the zone "test." (every scenario's DMARC,
#                     SPF and DKIM records: see dmarc_zone) served by nsd;
#                     bails out when the rig does not start
#   mkfrom FILE FROM [FIELD...]   a message whose From field is FROM ("-":
#                     none), with FIELDs added on top
#   ev KV ARGS...     dmarceval -o kv --authserv-id mx.test ARGS >KV;
#                     returns its exit status
#   evx KV EXIT "ARGS" VAR=VALUE...   ev with ARGS (split on blanks), then
#                     its exit status and the variables checked
#   ar_parse FILE     the first header field of FILE (an A-R field) parsed
#                     by python3-authres: "id ID" then "METHOD=RESULT
#                     ptype.prop=value..." lines
#   PSL               a Public Suffix List with a private registry,
#                     registry.test, below the "test" TLD

. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

ID=mx.test
PSL=$TEST_DIR/psl.dat

dmarc_zone() {
	dns_zone_begin test "$1"
	cat >>"$1" <<'ZONE'
; the statuses: p= of each domain, SPF allowing 192.0.2.1
reject		TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.reject	TXT "v=DMARC1; p=reject"
quar		TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.quar	TXT "v=DMARC1; p=quarantine"
none		TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.none	TXT "v=DMARC1; p=none"
norec		TXT "v=spf1 ip4:192.0.2.1 -all"
garbage		A 192.0.2.1
_dmarc.garbage	TXT "v=spf1 -all"
other		TXT "v=spf1 ip4:192.0.2.1 -all"
; sp= for existing subdomains, np= for non-existent ones (RFC 9989)
sp		A 192.0.2.1
_dmarc.sp	TXT "v=DMARC1; p=none; sp=reject; np=quarantine"
sub.sp		A 192.0.2.1
; pct= (historic in RFC 9989)
_dmarc.pct0	TXT "v=DMARC1; p=reject; pct=0"
_dmarc.pct50	TXT "v=DMARC1; p=reject; pct=50"
_dmarc.pct100	TXT "v=DMARC1; p=reject; pct=100"
; alignment
_dmarc.strict	TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
mail.strict	TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.relaxed	TXT "v=DMARC1; p=reject; adkim=r; aspf=r"
mail.relaxed	TXT "v=spf1 ip4:192.0.2.1 -all"
; reports: rua, ruf, fo
_dmarc.fo0	TXT "v=DMARC1; p=reject; rua=mailto:agg@fo0.test; ruf=mailto:ruf@fo0.test; fo=0"
_dmarc.fo1	TXT "v=DMARC1; p=none; rua=mailto:agg@fo1.test; ruf=mailto:ruf@fo1.test,mailto:ruf2@fo1.test; fo=1"
_dmarc.fod	TXT "v=DMARC1; p=reject; ruf=mailto:ruf@fod.test; fo=d"
_dmarc.fos	TXT "v=DMARC1; p=reject; ruf=mailto:ruf@fos.test; fo=s"
; ruf= outside the policy domain (RFC 7489 7.1): ok.test agreed, no.test did not
_dmarc.foext	TXT "v=DMARC1; p=none; ruf=mailto:r@foext.test,mailto:x@ok.test,mailto:y@no.test; fo=1"
foext.test._report._dmarc.ok	TXT "v=DMARC1"
fo0		TXT "v=spf1 ip4:192.0.2.1 -all"
fo1		TXT "v=spf1 ip4:192.0.2.1 -all"
fod		TXT "v=spf1 ip4:192.0.2.1 -all"
fos		TXT "v=spf1 ip4:192.0.2.1 -all"
; psd=y: a registry's policy for the names under it (RFC 9989 tree walk);
; registry.test is a public suffix in $PSL, so RFC 7489 never looks here
_dmarc.registry	TXT "v=DMARC1; p=reject; psd=y"
shop.registry	A 192.0.2.1
; a policy below the organizational domain: the tree walk finds
; corp.example.test's first, RFC 7489 goes straight to example.test's
_dmarc.example	TXT "v=DMARC1; p=reject"
_dmarc.corp.example TXT "v=DMARC1; p=quarantine; psd=n"
x.corp.example	A 192.0.2.1
mail.example	TXT "v=spf1 ip4:192.0.2.1 -all"
; t=y: testing (RFC 9989)
_dmarc.testing	TXT "v=DMARC1; p=reject; t=y"
; a _dmarc CNAME, followed once
_dmarc.alias	CNAME _dmarc.reject.test.
; bad records: two of them, garbage tags, a bad p=, a CNAME chain, binary
; bytes, an over-long record split over many strings
_dmarc.two	TXT "v=DMARC1; p=reject"
_dmarc.two	TXT "v=DMARC1; p=none"
_dmarc.junk	TXT "v=DMARC1; p=reject; ===; ;;; adkim=zz; pct=abc; rua=not a uri"
_dmarc.badp	TXT "v=DMARC1; p=bogus"
_dmarc.chain	CNAME _dmarc.alias.test.
_dmarc.binary	TXT "v=DMARC1; p=reject; \000\001\255\n=\""
_dmarc.long	TXT "v=DMARC1; p=quarantine; rua=mailto:a@long.test; x=" "x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000x000" "x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001x001" "x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002x002" "x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003x003" "x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004x004" "x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005x005" "x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006x006" "x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007x007"
ZONE
	cat "$TEST_DIR/reject.rec" "$TEST_DIR/other.rec" >>"$1"
}

dmarc_rig() {
	[ -x "$MXKIT_BIN/dmarceval" ] || skip_all "dmarceval not built"
	command -v nsd >/dev/null 2>&1 || skip_all "nsd missing"
	printf '// test PSL\ntest\nregistry.test\n' >"$PSL"
	dkimsign --keygen rsa -d reject.test -s sel -k "$TEST_DIR/reject.key" \
	    >"$TEST_DIR/reject.rec" &&
	dkimsign --keygen rsa -d other.test -s sel -k "$TEST_DIR/other.key" \
	    >"$TEST_DIR/other.rec" ||
		{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
	dmarc_zone "$TEST_DIR/test.zone"
	dns_rig_start test="$TEST_DIR/test.zone" ||
		{ echo "Bail out! cannot start the DNS rig"; exit 1; }
}

mkfrom() {
	_f=$1 _from=$2
	shift 2
	{
		for _h in "$@"; do printf '%s\n' "$_h"; done
		printf 'Received: from relay.example.test by mx.test; Mon, 01 Jan 2024 12:00:02 +0000\n'
		[ "$_from" = - ] || printf 'From: %s\n' "$_from"
		cat <<'MSG'
To: Bob <bob@mx.test>
Subject: dmarc test
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <dmarc-test@mx.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob,

a DMARC test message.
MSG
	} >"$_f"
}

ev() {
	_kv=$1
	shift
	dmarceval -o kv --authserv-id "$ID" "$@" >"$_kv"
}


# evx KV EXIT "ARGS" VAR=VALUE...: dmarceval with ARGS (split on
# blanks), its exit status and the variables checked.
evx() {
	_kv=$1 _want=$2 _args=$3
	shift 3
	# shellcheck disable=SC2086
	ev "$_kv" $_args
	_st=$?
	if [ "$_st" != "$_want" ]; then
		echo "dmarceval $_args: exit $_st, wanted $_want" >&2
		cat "$_kv" >&2
		return 1
	fi
	for _vv in "$@"; do
		kv_expect "$_kv" "${_vv%%=*}" "${_vv#*=}" || { cat "$_kv" >&2; return 1; }
	done
	return 0
}

ar_parse() {
	awk 'NR == 1 { f = $0; next } /^[ \t]/ { f = f $0; next } { exit }
	    END { print f }' "$1" |
	    tr -d '\r' | /usr/bin/python3 -c '
import sys, authres, authres.dmarc
ctx = authres.FeatureContext(authres.dmarc)
h = ctx.parse(sys.stdin.read().rstrip("\n"))
print("id", h.authserv_id)
for r in h.results:
    print(" ".join(["%s=%s" % (r.method, r.result)] +
        ["%s.%s=%s" % (p.type, p.name, p.value) for p in r.properties]))
'
}
