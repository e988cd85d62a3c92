#!/bin/sh
# Interop: dmarceval and the mailauth npm package (contrib/node, driven by
# t/peers/mailauth-dmarc.js; mailauth 7 implements RFC 9989's tree walk,
# np=, psd= and t=) judge the same messages, with SPF and DKIM computed by
# each from the same client IP, MAIL FROM and HELO, against the same nsd.
# For every case both must give the same DMARC result (pass, fail, none,
# temperror; "nofrom" where there is no single author domain) and the same
# policy.dmarc (the policy evaluated after sp=, np= and t=, "-" when none),
# and both must match what the case expects.
#
# Where they legitimately differ the case's policy column holds both,
# "DMARCEVAL/MAILAUTH", and both answers are checked.  The one such
# difference: policy.dmarc on a message that passed.  dmarceval writes the
# disposition (none: nothing is done to a passing message), mailauth the
# policy in force for the domain (reject); RFC 9989 section 9.1 ("the
# evaluated DMARC policy applied") can be read either way.  The declared
# policy is in dmarceval's dmarc_domain_policy and in the A-R comment
# "(p=reject dis=none)".
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dmarc.sh"

command -v node >/dev/null 2>&1 || skip_all "node missing"
[ -d "$TOP/contrib/node/node_modules/mailauth" ] || skip_all "mailauth missing (make deps)"
/usr/bin/python3 -c 'import authres' 2>/dev/null || skip_all "python3-authres missing"
dmarc_rig

# name  from-domain  signer(-: unsigned)  ip  mail-from  expected-result  expected-policy
CASES='
dkim-aligned      reject.test        reject.test 192.0.2.99 alice@reject.test   pass none/reject
spf-aligned       reject.test        -           192.0.2.1  alice@reject.test   pass none/reject
both-fail         reject.test        -           192.0.2.99 alice@reject.test   fail reject
dkim-unaligned    reject.test        other.test  192.0.2.99 bounce@other.test   fail reject
spf-unaligned     reject.test        -           192.0.2.1  bounce@other.test   fail reject
quarantine        quar.test          -           192.0.2.99 alice@quar.test     fail quarantine
p-none            none.test          -           192.0.2.99 alice@none.test     fail none
no-record         norec.test         -           192.0.2.99 alice@norec.test    none -
no-record-signed  other.test         other.test  192.0.2.99 alice@other.test    none -
sp-subdomain      sub.sp.test        -           192.0.2.99 alice@sub.sp.test   fail reject
np-nonexistent    ghost.sp.test      -           192.0.2.99 alice@ghost.sp.test fail quarantine
p-of-sp-domain    sp.test            -           192.0.2.99 alice@sp.test       fail none
strict-spf        strict.test        -           192.0.2.1  a@mail.strict.test  fail reject
relaxed-spf       relaxed.test       -           192.0.2.1  a@mail.relaxed.test pass none/reject
t-testing         testing.test       -           192.0.2.99 alice@testing.test  fail quarantine
tree-walk         x.corp.example.test -          192.0.2.99 a@x.corp.example.test fail quarantine
tree-walk-psd-n   x.corp.example.test -          192.0.2.1  a@mail.example.test fail quarantine
psd-registry      shop.registry.test -           192.0.2.99 a@shop.registry.test fail reject
cname             alias.test         -           192.0.2.99 alice@alias.test    fail reject
pct0-historic     pct0.test          -           192.0.2.99 alice@pct0.test     fail reject
null-sender-helo  reject.test        -           192.0.2.1  <>                  pass none/reject
no-from           -                  -           192.0.2.99 alice@reject.test   nofrom -
two-from-domains  reject.test,other.test - 192.0.2.99 alice@reject.test   nofrom -
'

mkdir msgs
echo "$CASES" | while read -r name from signer ip sender result policy; do
	[ -n "$name" ] || continue
	case $from in
	-) mkfrom "msgs/$name.raw" - ;;
	*,*) mkfrom "msgs/$name.raw" "alice@${from%%,*}, mallory@${from#*,}" ;;
	*) mkfrom "msgs/$name.raw" "Alice <alice@$from>" ;;
	esac
	if [ "$signer" = - ]; then
		mv "msgs/$name.raw" "msgs/$name.eml"
	else
		dkimsign -d "$signer" -s sel -k "${signer%.test}.key" "msgs/$name.raw" >"msgs/$name.eml" &&
			rm "msgs/$name.raw"
	fi
done

# ours NAME IP SENDER: "RESULT POLICY" of dmarceval
ours() {
	_s=$3
	[ "$_s" = "<>" ] && _s=
	dmarceval -o kv --authserv-id "$ID" -i "$2" -s "$_s" -e reject.test "msgs/$1.eml" >"$1.kv" 2>"$1.err"
	_st=$(kvget dmarc_status "$1.kv")
	if [ "$_st" = nofrom ]; then
		echo "nofrom -"
		return
	fi
	kvget dmarc_ar_header "$1.kv" >"$1.ar"
	ar_parse "$1.ar" >"$1.p"
	_r=$(sed -n 's/^dmarc=\([a-z]*\).*/\1/p' "$1.p")
	_p=$(sed -n 's/^dmarc=.* policy\.dmarc=\([a-z]*\).*/\1/p' "$1.p")
	echo "${_r:-?} ${_p:--}"
}

# theirs NAME IP SENDER: "RESULT POLICY" of mailauth
theirs() {
	_s=$3
	[ "$_s" = "<>" ] && _s=
	node "$TEST_SRC/peers/mailauth-dmarc.js" -p "$DNS_RIG_PORT" -i "$2" -s "$_s" -e reject.test \
	    "msgs/$1.eml" >"$1.mailauth" 2>&1
	cut -d' ' -f2,3 "$1.mailauth"
}

echo "$CASES" | while read -r name from signer ip sender result policy; do
	[ -n "$name" ] || continue
	echo "$name $ip $sender $result $policy"
done >cases

while read -r name ip sender result policy; do
	o=$(ours "$name" "$ip" "$sender")
	t=$(theirs "$name" "$ip" "$sender")
	want_o="$result ${policy%/*}" want_t="$result ${policy#*/}"
	test_expect_success "$name: dmarceval [$want_o], mailauth [$want_t]" "
		[ '$o' = '$want_o' ] && [ '$t' = '$want_t' ] || {
			echo 'dmarceval: $o   mailauth: $t   expected: $want_o / $want_t'
			cat $name.kv $name.mailauth; exit 1; }
	"
done <cases

# A DNS server that never answers: both say temperror, with no policy.
if dns_rig_blackhole; then
	bh_port=${DNS_BLACKHOLE##*:}
	dmarceval -o kv --authserv-id "$ID" --resolver "$DNS_BLACKHOLE" --dns-timeout 200 \
	    -i 192.0.2.99 -s alice@reject.test -e reject.test msgs/both-fail.eml >te.kv 2>te.err
	kvget dmarc_ar_header te.kv >te.ar
	ar_parse te.ar >te.p
	o="$(sed -n 's/^dmarc=\([a-z]*\).*/\1/p' te.p) $(sed -n 's/^dmarc=.* policy\.dmarc=\([a-z]*\).*/\1/p' te.p)"
	node "$TEST_SRC/peers/mailauth-dmarc.js" -p "$bh_port" -i 192.0.2.99 -s alice@reject.test \
	    -e reject.test msgs/both-fail.eml >te.mailauth 2>&1
	t=$(cut -d' ' -f2,3 te.mailauth)
	test_expect_success "temperror: dmarceval [temperror -], mailauth [temperror -]" "
		[ '$o' = 'temperror ' ] && [ '$t' = 'temperror -' ] || {
			echo 'dmarceval: $o   mailauth: $t'; cat te.kv te.mailauth; exit 1; }
	"
	dns_rig_blackhole_stop
else
	test_skip "temperror: dmarceval and mailauth" "the blackhole DNS server did not start"
fi

test_done
