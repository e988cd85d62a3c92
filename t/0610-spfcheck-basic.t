#!/bin/sh
# spfcheck against a real DNS server (nsd on loopback, zones made per run):
# every result word and its exit status, IPv4, IPv6 and IPv4-mapped
# clients, the null sender (postmaster@HELO), --scope helo, exp= and the
# default explanation, --guess, the limits, usage errors, and the three
# output modes (kv eval'd by sh, json parsed by python).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

PY=/usr/bin/python3
Q="'"
require_bin spfcheck

dns_zone_begin spf.test spf.zone
cat >>spf.zone <<'EOF'
pass		TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
soft		TXT "v=spf1 ip4:192.0.2.1 ~all"
neutral		TXT "v=spf1 ip4:192.0.2.1 ?all"
nospf		A 192.0.2.50
nospf		MX 10 mail.nospf
mail.nospf	A 198.51.100.77
nospf		TXT "not an spf record"
perm		TXT "v=spf1 ip4:192.0.2.300 -all"
two		TXT "v=spf1 -all"
two		TXT "v=spf1 +all"
exp		TXT "v=spf1 ip4:192.0.2.1 -all exp=why.exp.spf.test"
why.exp		TXT "Sorry %{l}, %{i} may not send for %{o} (%{d})"
badexp		TXT "v=spf1 -all exp=nowhere.spf.test"
helo		TXT "v=spf1 ip4:192.0.2.25 -all"
host.helo	A 192.0.2.26
host.helo	TXT "v=spf1 a -all"
lookups		TXT "v=spf1 a mx include:pass.spf.test -all"
lookups		A 203.0.113.1
lookups		MX 10 mx1.lookups
mx1.lookups	A 203.0.113.2
voids		TXT "v=spf1 a:v1.spf.test a:v2.spf.test a:v3.spf.test ip4:192.0.2.9 -all"
deep		TXT "v=spf1 include:d1.spf.test -all"
d1		TXT "v=spf1 include:d2.spf.test"
d2		TXT "v=spf1 include:d3.spf.test"
d3		TXT "v=spf1 ip4:192.0.2.0/24"
split		TXT "v=spf1 ip4:192.0" ".2.0/24 " "ip6:2001:db8::/32 -all"
EOF

# Reverse zones, so that ptr lookups of the guess get NXDOMAIN, not REFUSED.
for r in 2.0.192 100.51.198 113.0.203; do dns_zone_begin $r.in-addr.arpa $r.zone; done
REV="2.0.192.in-addr.arpa=2.0.192.zone 100.51.198.in-addr.arpa=100.51.198.zone"
REV="$REV 113.0.203.in-addr.arpa=113.0.203.zone"
dns_rig_start spf.test=spf.zone $REV || { echo "Bail out! cannot start the DNS rig"; exit 1; }

OPTS="--receiver mx.test"
# chk FILE ARGS: spfcheck -o kv ARGS >FILE; returns its exit status
chk() { _f=$1; shift; spfcheck -o kv $OPTS "$@" >"$_f"; }

# ---- every result and its exit status ------------------------------------------

while read -r name want exit ip sender; do
	test_expect_success "$name: $want, exit $exit" "
		chk $name.kv -i $ip -s $sender -e mail.example.test; st=\$?
		[ \$st = $exit ] || { echo \"exit \$st, wanted $exit\"; cat $name.kv; exit 1; }
		kv_expect $name.kv spf_result $want
	"
done <<EOF
pass4		pass		0 192.0.2.1	u@pass.spf.test
fail4		fail		1 198.51.100.1	u@pass.spf.test
softfail	softfail	2 198.51.100.1	u@soft.spf.test
neutral		neutral		3 198.51.100.1	u@neutral.spf.test
none		none		4 192.0.2.1	u@nospf.spf.test
nxdomain	none		4 192.0.2.1	u@nowhere.spf.test
permerror	permerror	5 192.0.2.1	u@perm.spf.test
tworecords	permerror	5 192.0.2.1	u@two.spf.test
pass6		pass		0 2001:db8::25	u@pass.spf.test
fail6		fail		1 2001:db9::25	u@pass.spf.test
mapped		pass		0 ::ffff:192.0.2.1	u@pass.spf.test
mappedfail	fail		1 ::ffff:198.51.100.1	u@pass.spf.test
split		pass		0 192.0.2.200	u@split.spf.test
split6		pass		0 2001:db8::1	u@split.spf.test
splitfail	fail		1 192.0.3.1	u@split.spf.test
include		pass		0 192.0.2.7	u@deep.spf.test
EOF

test_expect_success 'pass: the variables' '
	kv_expect pass4.kv spf_result_guessed 0 &&
	kv_expect pass4.kv spf_domain pass.spf.test &&
	kv_expect pass4.kv spf_identity mailfrom &&
	kv_expect pass4.kv spf_mechanism ip4:192.0.2.0/24 &&
	kv_expect pass4.kv spf_explanation "" &&
	kv_expect pass4.kv spf_problem "" &&
	kv_expect pass4.kv spf_lookups 0 &&
	kv_expect pass4.kv spf_void_lookups 0 &&
	kvget spf_header_comment pass4.kv | grep -q "pass.spf.test" &&
	kvget spf_received pass4.kv | grep -q "^Received-SPF: pass " &&
	kvget spf_received pass4.kv | grep -q "client-ip=\"*192.0.2.1\"*;" &&
	kvget spf_received pass4.kv | grep -q "receiver=\"*mx.test\"*" &&
	kvget spf_received pass4.kv | grep -q "helo=\"*mail.example.test\"*"
'

test_expect_success 'IPv6 pass: ip6 mechanism decides' '
	kv_expect pass6.kv spf_mechanism ip6:2001:db8::/32 &&
	kvget spf_received pass6.kv | grep -q "2001:db8::25"
'

test_expect_success 'fail: -all decides, the default explanation names client and domain' '
	kv_expect fail4.kv spf_mechanism -all &&
	kv_expect fail4.kv spf_explanation \
		"198.51.100.1 is not one of pass.spf.test${Q}s designated mail servers" &&
	kvget spf_smtp_comment fail4.kv | grep -q "198.51.100.1 is not one of"
'

test_expect_success 'IPv4-mapped client: checked as IPv4 (%{i} is dotted)' '
	kvget spf_explanation mappedfail.kv | grep -q "^198.51.100.1 is not one of"
'

test_expect_success 'neutral: ?all decides' '
	kv_expect neutral.kv spf_mechanism "?all"
'

test_expect_success 'none: no mechanism, no problem, no explanation' '
	kv_expect none.kv spf_mechanism "" &&
	kv_expect none.kv spf_explanation "" &&
	kv_expect none.kv spf_domain nospf.spf.test
'

test_expect_success 'permerror: spf_problem names the domain' '
	kvget spf_problem permerror.kv | grep -q "perm.spf.test" &&
	kvget spf_problem tworecords.kv | grep -q "two.spf.test" &&
	kvget spf_received permerror.kv | grep -q "^Received-SPF: permerror "
'

test_expect_success 'include chain three deep: lookups counted' '
	kv_expect include.kv spf_lookups 3
'

test_expect_success 'without --receiver: the host name in receiver= and the comment' '
	spfcheck -o kv -i 192.0.2.1 -s u@pass.spf.test >r.kv &&
	h=$(hostname) &&
	kvget spf_received r.kv | grep -qF "receiver=$h;" ||
	kvget spf_received r.kv | grep -qF "receiver=\"$h\";"
'

test_expect_success '--receiver: in receiver= and in %{r} of explanations' '
	expect_status 1 chk r.kv --receiver mx.example.net -i 198.51.100.1 -s u@pass.spf.test \
		--default-explanation "ask %{r} about %{i}" &&
	kvget spf_received r.kv | grep -q "receiver=\"*mx.example.net\"*;" &&
	kv_expect r.kv spf_explanation "ask mx.example.net about 198.51.100.1"
'

# ---- exp= and the default explanation ----------------------------------------------

test_expect_success 'exp=: the domain explanation, macros expanded' '
	expect_status 1 chk exp.kv -i 198.51.100.9 -s alice@exp.spf.test &&
	kv_expect exp.kv spf_explanation \
		"Sorry alice, 198.51.100.9 may not send for exp.spf.test (exp.spf.test)" &&
	kvget spf_smtp_comment exp.kv | grep -qF "Sorry alice, 198.51.100.9"
'

test_expect_success 'exp= pointing nowhere: the default explanation' '
	expect_status 1 chk badexp.kv -i 198.51.100.9 -s a@badexp.spf.test &&
	kv_expect badexp.kv spf_explanation \
		"198.51.100.9 is not one of badexp.spf.test${Q}s designated mail servers"
'

test_expect_success '--default-explanation: a macro-string, expanded' '
	expect_status 1 chk de.kv -i 198.51.100.9 -s bob@badexp.spf.test \
		--default-explanation "no: %{i} for %{d} (%{l})" &&
	kv_expect de.kv spf_explanation "no: 198.51.100.9 for badexp.spf.test (bob)" &&
	expect_status 1 chk de.kv -i 198.51.100.9 -s bob@exp.spf.test \
		--default-explanation "no: %{i}" &&
	kvget spf_explanation de.kv | grep -q "^Sorry bob"
'

test_expect_success 'a pass has no explanation even with --default-explanation' '
	chk de.kv -i 192.0.2.1 -s bob@pass.spf.test --default-explanation "x %{i}" &&
	kv_expect de.kv spf_explanation ""
'

# ---- null sender, HELO scope -------------------------------------------------------

test_expect_success 'null sender "<>": postmaster@HELO is checked' '
	chk null.kv -i 192.0.2.25 -s "<>" -e helo.spf.test &&
	kv_expect null.kv spf_result pass &&
	kv_expect null.kv spf_identity mailfrom &&
	kv_expect null.kv spf_domain helo.spf.test &&
	kvget spf_received null.kv |
		grep -q "envelope-from=\\(\"\"\\|\"*postmaster@helo.spf.test\"*\\);"
'

test_expect_success 'null sender "": the same' '
	expect_status 1 chk null2.kv -i 192.0.2.99 -s "" -e helo.spf.test &&
	kv_expect null2.kv spf_result fail &&
	kv_expect null2.kv spf_domain helo.spf.test
'

test_expect_success '--scope helo: the HELO name on its own, identity helo' '
	chk helo.kv --scope helo -i 192.0.2.26 -e host.helo.spf.test -s x@pass.spf.test &&
	kv_expect helo.kv spf_result pass &&
	kv_expect helo.kv spf_identity helo &&
	kv_expect helo.kv spf_domain host.helo.spf.test &&
	kvget spf_received helo.kv | grep -q "identity=\"*helo\"*" &&
	expect_status 1 chk helo.kv --scope helo -i 192.0.2.1 -e host.helo.spf.test &&
	kv_expect helo.kv spf_result fail
'

test_expect_success '--scope helo without -s is fine, without -e a usage error' '
	chk helo.kv --scope helo -i 192.0.2.26 -e host.helo.spf.test &&
	expect_status 64 spfcheck --scope helo -i 192.0.2.26 -s x@pass.spf.test
'

# ---- --guess ------------------------------------------------------------------------

test_expect_success '--guess: no SPF, the a/24 of the guess passes, guessed' '
	chk g.kv --guess -i 192.0.2.77 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result pass &&
	kv_expect g.kv spf_result_guessed 1 &&
	kvget spf_received g.kv | grep -q "^X-SPF-Guess: pass "
'

test_expect_success '--guess: mx/24 of the guess' '
	chk g.kv --guess -i 198.51.100.70 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result pass && kv_expect g.kv spf_result_guessed 1
'

test_expect_success '--guess: no match, ?all gives neutral (exit 3)' '
	expect_status 3 chk g.kv --guess -i 203.0.113.200 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result neutral && kv_expect g.kv spf_result_guessed 1
'

test_expect_success '--guess=RECORD: our record' '
	expect_status 1 chk g.kv --guess="v=spf1 ip4:10.0.0.0/8 -all" -i 192.0.2.77 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result fail && kv_expect g.kv spf_result_guessed 1 &&
	chk g.kv --guess="v=spf1 ip4:10.0.0.0/8 -all" -i 10.1.2.3 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result pass
'

test_expect_success '--guess: a domain with a record is not guessed' '
	expect_status 1 chk g.kv --guess -i 198.51.100.1 -s u@pass.spf.test &&
	kv_expect g.kv spf_result fail && kv_expect g.kv spf_result_guessed 0 &&
	kvget spf_received g.kv | grep -q "^Received-SPF: fail "
'

test_expect_success '--guess about a domain with no records at all: neutral, not a void-lookup permerror' '
	expect_status 3 chk g.kv --guess -i 203.0.113.200 -s u@nothing-here.spf.test &&
	kv_expect g.kv spf_result neutral && kv_expect g.kv spf_result_guessed 1
'

test_expect_success 'the missing record of the domain itself is not a void lookup' '
	expect_status 4 chk g.kv -i 192.0.2.77 -s u@nothing-here.spf.test &&
	kv_expect g.kv spf_void_lookups 0
'

test_expect_success 'a UTF-8 sender stays UTF-8 in Received-SPF (RFC 6532)' '
	expect_status 4 chk g.kv -i 192.0.2.77 -s "jö@nospf.spf.test" &&
	kvget spf_received g.kv | grep -q "envelope-from=\"jö@nospf.spf.test\""
'

test_expect_success 'without --guess the same domain is none' '
	expect_status 4 chk g.kv -i 192.0.2.77 -s u@nospf.spf.test &&
	kv_expect g.kv spf_result_guessed 0
'

# ---- limits ----------------------------------------------------------------------------

test_expect_success 'a, mx, include: three lookups, within the default limit' '
	chk l.kv -i 203.0.113.2 -s u@lookups.spf.test &&
	kv_expect l.kv spf_result pass && kv_expect l.kv spf_lookups 2 &&
	chk l.kv -i 192.0.2.3 -s u@lookups.spf.test &&
	kv_expect l.kv spf_result pass && kv_expect l.kv spf_lookups 3
'

test_expect_success '--max-lookups 2: the include is one too many, permerror' '
	expect_status 5 chk l.kv --max-lookups 2 -i 192.0.2.3 -s u@lookups.spf.test &&
	kv_expect l.kv spf_result permerror
'

test_expect_success 'three void lookups: permerror; --max-void 3 lets it through' '
	expect_status 5 chk v.kv -i 192.0.2.9 -s u@voids.spf.test &&
	kv_expect v.kv spf_result permerror &&
	chk v.kv --max-void 3 -i 192.0.2.9 -s u@voids.spf.test &&
	kv_expect v.kv spf_result pass && kv_expect v.kv spf_void_lookups 3
'

test_expect_success '--max-lookups 3 stops the include chain at its last step' '
	expect_status 5 chk l.kv --max-lookups 2 -i 192.0.2.7 -s u@deep.spf.test &&
	chk l.kv --max-lookups 3 -i 192.0.2.7 -s u@deep.spf.test
'

# ---- output modes ---------------------------------------------------------------------

test_expect_success 'text: "RESULT (COMMENT)", then explanation for fail' '
	spfcheck $OPTS -i 192.0.2.1 -s u@pass.spf.test >t.out &&
	[ "$(wc -l <t.out)" = 1 ] && grep -q "^pass (.*)\$" t.out &&
	expect_status 1 spfcheck $OPTS -i 198.51.100.9 -s alice@exp.spf.test >t.out &&
	[ "$(wc -l <t.out)" = 2 ] && grep -q "^fail (.*)\$" t.out &&
	sed -n 2p t.out | grep -qF "explanation: Sorry alice, 198.51.100.9" &&
	expect_status 5 spfcheck $OPTS -i 192.0.2.1 -s u@perm.spf.test >t.out &&
	grep -q "^permerror (" t.out && sed -n 2p t.out | grep -q "^problem: .*perm.spf.test"
'

test_expect_success 'text -v: every variable' '
	expect_status 1 spfcheck -v $OPTS -i 198.51.100.9 -s alice@exp.spf.test >t.out &&
	grep -q "^mechanism: -all" t.out &&
	grep -q "^received: Received-SPF: fail" t.out &&
	grep -q "^identity: mailfrom" t.out
'

test_expect_success 'kv: every line is name=quoted-value, the names of the contract, in order' '
	sed "s/=.*//" pass4.kv >names &&
	printf "%s\n" spf_result spf_result_guessed spf_explanation spf_header_comment \
		spf_received spf_smtp_comment spf_domain spf_identity spf_mechanism \
		spf_problem spf_lookups spf_void_lookups | cmp - names &&
	! grep -v "^[a-z_]*=$Q" pass4.kv && sh -n pass4.kv
'

# An explanation with every shell metacharacter: eval must give it back.
dns_zone_begin odd.test odd.zone
cat >>odd.zone <<'EOF'
@	TXT "v=spf1 -all exp=e.odd.test"
e	TXT "it's $(touch pwned1) `touch pwned2` ${HOME} \"q\" ; | & * %{l}"
EOF
dns_rig_start spf.test=spf.zone odd.test=odd.zone $REV || { echo "Bail out! rig restart"; exit 1; }

test_expect_success 'kv is eval-safe: a hostile explanation comes back exactly' '
	expect_status 1 chk odd.kv -i 192.0.2.1 -s "x@odd.test" &&
	got=$(kvget spf_explanation odd.kv) &&
	[ "$got" = "it${Q}s \$(touch pwned1) \`touch pwned2\` \${HOME} \"q\" ; | & * x" ] &&
	! ls pwned* 2>/dev/null
'

test_expect_success 'json: one object, the same names, numbers and a boolean' '
	spfcheck -o json $OPTS --guess -i 192.0.2.77 -s u@nospf.spf.test >j1 &&
	expect_status 1 spfcheck -o json $OPTS -i 198.51.100.9 -s alice@exp.spf.test >j2 &&
	expect_status 1 spfcheck -o json $OPTS -i 192.0.2.1 -s x@odd.test >j3 &&
	[ "$(cat j1 j2 j3 | wc -l)" = 3 ] &&
	"$PY" - <<-\EOF
	import json
	j1, j2, j3 = (json.load(open(f)) for f in ("j1", "j2", "j3"))
	names = ["spf_result", "spf_result_guessed", "spf_explanation",
	         "spf_header_comment", "spf_received", "spf_smtp_comment",
	         "spf_domain", "spf_identity", "spf_mechanism", "spf_problem",
	         "spf_lookups", "spf_void_lookups"]
	assert list(j1) == names, list(j1)
	assert j1["spf_result"] == "pass" and j1["spf_result_guessed"] is True
	assert j1["spf_received"].startswith("X-SPF-Guess: pass ")
	assert isinstance(j1["spf_lookups"], int) and isinstance(j1["spf_void_lookups"], int)
	assert j2["spf_result"] == "fail" and j2["spf_result_guessed"] is False
	assert j2["spf_explanation"].startswith("Sorry alice, 198.51.100.9"), j2
	assert j3["spf_explanation"].startswith("it\x27s $(touch pwned1)"), j3
	EOF
'

# ---- usage and bad input ---------------------------------------------------------------

test_expect_success 'bad client address: exit 64, nothing on stdout' '
	for ip in 192.0.2 192.0.2.256 ::g fe80::1%lo "" 192.0.2.1/24 "[::1]"; do
		expect_status 64 spfcheck -i "$ip" -s u@pass.spf.test >out 2>err || exit 1
		! [ -s out ] && grep -q "^spfcheck: " err || exit 1
	done
'

test_expect_success 'usage errors exit 64' '
	expect_status 64 spfcheck -s u@pass.spf.test &&
	expect_status 64 spfcheck -i 192.0.2.1 &&
	expect_status 64 spfcheck -i 192.0.2.1 -s "<>" &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --scope rcpt &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test -o yaml &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --max-lookups 0 &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --max-void many &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --guess=a/24 &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --tempfail &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test extra-arg &&
	expect_status 64 spfcheck -i 192.0.2.1 -s u@pass.spf.test --receiver "" &&
	expect_status 64 spfcheck -f -o kv -i 192.0.2.1 -s u@pass.spf.test </dev/null &&
	expect_status 64 spfcheck --batch -i 192.0.2.1 </dev/null &&
	expect_status 64 spfcheck -i 192.0.2.1 -s "$(printf "a\nb@pass.spf.test")"
'

test_expect_success 'a sender that is no domain is not a crash' '
	for s in "@" "a@" "@@@" "a@b@c" "a@.." "a@-x-.test" "$(printf "%0300d@x.test" 0)" \
	    "u@$(printf "%0070d." 1 2 3 4).test"; do
		timeout 60 spfcheck -o kv -i 192.0.2.1 -s "$s" -e h.test >o.kv; st=$?
		case $st in [0-6]|65) ;; *) echo "$s: exit $st"; exit 1 ;; esac
	done
'

test_done
