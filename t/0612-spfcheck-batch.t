#!/bin/sh
# spfcheck --batch: one record per query line, in input order, in every
# output mode; comments and blank lines skipped; bad lines give an "error"
# record, a diagnostic with file and line, and exit 65 at the end, while
# the other lines are answered; the DNS cache is shared by the queries
# (--summary's counts); long and hostile lines are bounded.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

PY=/usr/bin/python3
require_bin spfcheck

dns_zone_begin spf.test spf.zone
cat >>spf.zone <<'EOF'
pass		TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
soft		TXT "v=spf1 ip4:192.0.2.1 ~all"
neutral		TXT "v=spf1 ?all"
nospf		A 192.0.2.50
perm		TXT "v=spf1 ip4:192.0.2.300 -all"
helo		TXT "v=spf1 ip4:192.0.2.25 -all"
mx		TXT "v=spf1 mx a:pass.spf.test include:soft.spf.test -all"
mx		MX 10 mx1.mx
mx		MX 20 mx2.mx
mx1.mx		A 203.0.113.1
mx2.mx		A 203.0.113.2
EOF
dns_rig_start spf.test=spf.zone || { echo "Bail out! cannot start the DNS rig"; exit 1; }

OPTS="--receiver mx.test"

cat >q.txt <<'EOF'
# a log of queries: IP SENDER [HELO]
192.0.2.1 a@pass.spf.test mail.example.test
198.51.100.1	a@pass.spf.test	mail.example.test

198.51.100.1 a@soft.spf.test
   # an indented comment
198.51.100.1 a@neutral.spf.test h.example.test
192.0.2.1 a@nospf.spf.test h.example.test
192.0.2.1 a@perm.spf.test h.example.test
2001:db8::7 a@pass.spf.test h.example.test
::ffff:192.0.2.7 a@pass.spf.test h.example.test
192.0.2.25 <> helo.spf.test
203.0.113.2 a@mx.spf.test mx2.mx.spf.test
EOF
printf '%s\n' pass fail softfail neutral none permerror pass pass pass pass >q.want

test_expect_success 'text: one line per query, in order, exit 0' '
	spfcheck --batch $OPTS q.txt >out &&
	cut -d" " -f1 out | cmp - q.want &&
	head -n 1 out | grep -q "^pass 192.0.2.1 a@pass.spf.test mail.example.test (.*)\$" &&
	sed -n 3p out | grep -q "^softfail 198.51.100.1 a@soft.spf.test - (" &&
	sed -n 9p out | grep -q "^pass 192.0.2.25 <> helo.spf.test (" &&
	sed -n 8p out | grep -q "^pass ::ffff:192.0.2.7 a@pass.spf.test h.example.test ("
'

test_expect_success 'the results are those of single queries' '
	grep -v "^#" q.txt | grep . | while read -r ip s h; do
		case $s in "<>") s= ;; esac
		spfcheck $OPTS -i "$ip" -s "$s" ${h:+-e "$h"} | head -n 1 | cut -d" " -f1
	done >single &&
	cmp single q.want
'

test_expect_success 'stdin and "-" are the input too; CRLF lines are fine' '
	spfcheck --batch $OPTS <q.txt >out2 && cmp out out2 &&
	spfcheck --batch $OPTS - <q.txt >out2 && cmp out out2 &&
	sed "s/\$/\r/" q.txt | spfcheck --batch $OPTS >out2 && cmp out out2
'

test_expect_success 'kv: a block per query, spf_query first, an empty line after' '
	spfcheck --batch -o kv $OPTS q.txt >kv.out &&
	[ "$(grep -c "^\$" kv.out)" = 10 ] &&
	[ "$(grep -c "^spf_query=" kv.out)" = 10 ] &&
	awk "BEGIN { RS = \"\" } { print \$1 }" kv.out | sed "s/=.*//" | sort -u >firsts &&
	[ "$(cat firsts)" = spf_query ] &&
	awk "BEGIN { RS = \"\" } { print > (\"block\" NR) }" kv.out &&
	for n in 1 2 3 4 5 6 7 8 9 10; do
		r=$( (eval "$(cat block$n)" && printf "%s %s" "$spf_query" "$spf_result") ) &&
		[ "$r" = "$n $(sed -n ${n}p q.want)" ] || { echo "block $n: $r"; exit 1; }
	done &&
	(eval "$(cat block9)" && [ "$spf_envelope_from" = "" ] && [ "$spf_helo" = helo.spf.test ] &&
	 [ "$spf_client_ip" = 192.0.2.25 ]) &&
	(eval "$(cat block3)" && [ "$spf_helo" = "" ] && [ "$spf_envelope_from" = a@soft.spf.test ])
'

test_expect_success 'json: one object per line with "query" and the spf_ names' '
	spfcheck --batch -o json $OPTS q.txt >j.out &&
	[ "$(wc -l <j.out)" = 10 ] &&
	"$PY" - <<-\EOF
	import json
	want = open("q.want").read().split()
	objs = [json.loads(l) for l in open("j.out")]
	assert [o["query"] for o in objs] == list(range(1, 11)), objs
	assert [o["spf_result"] for o in objs] == want, [o["spf_result"] for o in objs]
	assert all(isinstance(o["spf_result_guessed"], bool) for o in objs)
	assert all(isinstance(o["spf_lookups"], int) for o in objs)
	assert objs[0]["client_ip"] == "192.0.2.1" and objs[0]["helo"] == "mail.example.test"
	assert objs[8]["envelope_from"] == ""
	assert objs[9]["spf_mechanism"] == "mx", objs[9]
	assert objs[9]["spf_lookups"] == 1, objs[9]
	EOF
'

# ---- bad lines ----------------------------------------------------------------------------

"$PY" - <<'EOF'
lines = [b"192.0.2.1 a@pass.spf.test h.test",
         b"192.0.2 a@pass.spf.test h.test",              # 2: bad address
         b"192.0.2.1",                                   # 3: one field
         b"192.0.2.1 a@pass.spf.test h.test extra",      # 4: four fields
         b"192.0.2.1 <>",                                # 5: null sender, no HELO
         b"192.0.2.1 a@pass.spf.test h.test" + b" " * 3000,   # 6: too long
         b"192.0.2.1 a@pass.spf\x00.test h.test",        # 7: NUL
         b"192.0.2.1 a\x01b@pass.spf.test h.test",       # 8: control byte
         b"::1::2 a@pass.spf.test h.test",               # 9: bad IPv6
         b"198.51.100.1 a@pass.spf.test h.test"]
open("bad.txt", "wb").write(b"\n".join(lines) + b"\n")
EOF

test_expect_success 'bad lines: an error record each, diagnostics, the rest answered, exit 65' '
	expect_status 65 spfcheck --batch $OPTS bad.txt >out 2>err &&
	[ "$(wc -l <out)" = 10 ] &&
	cut -d" " -f1 out | tr "\n" " " >words &&
	[ "$(cat words)" = "pass error error error error error error error error fail " ] &&
	for n in 2 3 4 5 6 7 8 9; do
		grep -q "^spfcheck: bad.txt:$n: " err || { echo "no diagnostic for line $n"; exit 1; }
	done &&
	[ "$(wc -l <err)" = 8 ] &&
	! grep -q "$(printf "[\001]")" out
'

test_expect_success 'bad lines in kv and json: spf_result error with spf_problem' '
	expect_status 65 spfcheck --batch -o kv $OPTS bad.txt >kv.out 2>/dev/null &&
	[ "$(grep -c "^spf_result=.error.\$" kv.out)" = 8 ] &&
	[ "$(grep -c "^spf_problem=" kv.out)" = 10 ] &&
	sh -n kv.out &&
	expect_status 65 spfcheck --batch -o json $OPTS bad.txt >j.out 2>/dev/null &&
	"$PY" -c "
import json
o = [json.loads(l) for l in open(\"j.out\")]
assert [x[\"spf_result\"] for x in o] == [\"pass\"] + [\"error\"] * 8 + [\"fail\"], o
assert all(x[\"spf_problem\"] for x in o[1:9])
assert [x[\"query\"] for x in o] == list(range(1, 11))
"
'

test_expect_success 'stdin diagnostics say "stdin"' '
	expect_status 65 spfcheck --batch $OPTS <bad.txt >out 2>err &&
	grep -q "^spfcheck: stdin:2: " err
'

test_expect_success 'an empty input or only comments: no output, exit 0' '
	spfcheck --batch $OPTS </dev/null >out && ! [ -s out ] &&
	printf "# nothing\n\n   \n" | spfcheck --batch $OPTS >out && ! [ -s out ]
'

test_expect_success 'a missing input exits 66' '
	expect_status 66 spfcheck --batch $OPTS no-such.txt >out && ! [ -s out ]
'

test_expect_success 'a last line without a line end is read' '
	printf "192.0.2.1 a@pass.spf.test h" | spfcheck --batch $OPTS >out &&
	grep -q "^pass 192.0.2.1 a@pass.spf.test h (" out
'

test_expect_success 'one huge line of garbage: one error record, bounded, exit 65' '
	"$PY" -c "import sys; sys.stdout.write(\"x\" * 5000000 + \"\n192.0.2.1 a@pass.spf.test h\n\")" >huge.txt &&
	expect_status 65 spfcheck --batch $OPTS huge.txt >out 2>err &&
	[ "$(wc -l <out)" = 2 ] && [ "$(wc -c <out)" -lt 1000 ] &&
	sed -n 2p out | grep -q "^pass " && grep -q "huge.txt:1: .*long" err
'

test_expect_success '--scope helo: lines need a HELO field' '
	printf "192.0.2.25 <> helo.spf.test\n192.0.2.25 a@pass.spf.test\n" >h.txt &&
	expect_status 65 spfcheck --batch --scope helo $OPTS h.txt >out 2>/dev/null &&
	head -n 1 out | grep -q "^pass " && sed -n 2p out | grep -q "^error "
'

# ---- the DNS cache is shared ----------------------------------------------------------------

# dnsnet FILE: the network queries --summary reported
dnsnet() { sed -n "s/.*summary: dns: \([0-9]*\) network queries.*/\1/p" "$1"; }

test_expect_success '--summary: counts per result' '
	spfcheck --batch --summary $OPTS q.txt >/dev/null 2>sum &&
	grep -q "summary: 10 queries (0 bad lines)" sum &&
	grep -q "summary: results: pass 5, fail 1, softfail 1, neutral 1, none 1, permerror 1, temperror 0" sum
'

test_expect_success 'the same query 50 times costs the DNS queries of one' '
	echo "203.0.113.2 a@mx.spf.test h.test" >one.txt &&
	for i in $(seq 50); do cat one.txt; done >fifty.txt &&
	spfcheck --batch --summary $OPTS one.txt >one.out 2>one.sum &&
	spfcheck --batch --summary $OPTS fifty.txt >fifty.out 2>fifty.sum &&
	n1=$(dnsnet one.sum) && n50=$(dnsnet fifty.sum) &&
	echo "one: $n1, fifty: $n50" &&
	[ "$n1" -ge 2 ] && [ "$n1" = "$n50" ] &&
	[ "$(sort -u fifty.out)" = "$(cat one.out)" ]
'

test_expect_success 'queries on one domain from many clients share its record' '
	for i in $(seq 1 40); do echo "198.51.100.$i a@pass.spf.test h.test"; done >many.txt &&
	spfcheck --batch --summary $OPTS many.txt >many.out 2>many.sum &&
	[ "$(grep -c "^fail " many.out)" = 40 ] &&
	echo "198.51.100.1 a@pass.spf.test h.test" | spfcheck --batch --summary $OPTS >/dev/null 2>one.sum &&
	[ "$(dnsnet many.sum)" = "$(dnsnet one.sum)" ]
'

test_expect_success 'a pipe gets each answer before the next question' '
	rm -f fifo.in fifo.out && mkfifo fifo.in fifo.out &&
	# timeout around the opens too, so that nothing waits forever
	(timeout 60 sh -c "exec spfcheck --batch $OPTS <fifo.in >fifo.out" &) &&
	exec 7>fifo.in 8<fifo.out &&
	echo "192.0.2.1 a@pass.spf.test h" >&7 &&
	read -r a <&8 && echo "$a" | grep -q "^pass " &&
	echo "198.51.100.1 a@pass.spf.test h" >&7 &&
	read -r b <&8 && echo "$b" | grep -q "^fail " &&
	exec 7>&- && ! read -r c <&8
'

test_done
