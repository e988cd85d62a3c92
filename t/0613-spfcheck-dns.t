#!/bin/sh
# spfcheck when the DNS is slow or hostile: timeouts give temperror (exit
# 6; -f adds a temperror field, -f --tempfail exits 75 with nothing
# written), a timed-out exp= falls back to the default explanation; long
# TXT records split over several strings (and one too big for UDP); MX and
# PTR limits; records full of garbage never crash and always give one of
# the seven results.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

PY=/usr/bin/python3
require_bin spfcheck

# ---- zones: long records, limits, garbage ---------------------------------------

"$PY" - <<'EOF'
import random

def txt(*strings):
    return "TXT " + " ".join('"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')
                             for s in strings)

def split255(s):
    return [s[i:i + 255] for i in range(0, len(s), 255)]

z = ['pass TXT "v=spf1 ip4:192.0.2.0/24 -all"']
# 60 ip4 terms, 1.1 kB: several strings; the last term is the match
terms = ["ip4:10.%d.0.0/16" % i for i in range(59)] + ["ip4:192.0.2.0/24"]
z.append("long " + txt(*split255("v=spf1 " + " ".join(terms) + " -all")))
# split in the middle of terms and of the version tag
z.append('odd TXT "v=sp" "f1 ip" "4:192.0" ".2.0/2" "4 -al" "l"')
# one string per term, no spaces between strings: one glued record
z.append('glued TXT "v=spf1 " "ip4:192.0.2.1 " "-all"')
# too big for UDP (over 4 kB with the other records): TCP, and over our bound
big = "v=spf1 " + " ".join("ip4:10.%d.%d.0/24" % (i // 250, i % 250) for i in range(300)) + " ip4:192.0.2.0/24 -all"
z.append("big " + txt(*split255(big)))
# 11 MX names for one mx term
z.append('mx11 TXT "v=spf1 mx -all"')
for i in range(11):
    z.append("mx11 MX %d m%d.mx11" % (i, i))
    z.append("m%d.mx11 A 203.0.113.%d" % (i, 10 + i))
z.append('mx10 TXT "v=spf1 mx -all"')
for i in range(10):
    z.append("mx10 MX %d m%d.mx10" % (i, i))
    z.append("m%d.mx10 A 203.0.113.%d" % (i, 10 + i))
# an include loop and a redirect loop
z.append('loop TXT "v=spf1 include:loop.spf.test -all"')
z.append('rloop TXT "v=spf1 redirect=rloop.spf.test"')
# explanation on the network only (see ex.zone below)
z.append('texp TXT "v=spf1 -all exp=why.slow.test"')
z.append('tinc TXT "v=spf1 include:x.slow.test -all"')
z.append('void TXT "v=spf1 a:n1.spf.test a:n2.spf.test a:n3.spf.test -all"')
# non-ASCII and control bytes in records
z.append('latin TXT "v=spf1 ip4:192.0.2.1 \\233 -all"')
z.append('ctl TXT "v=spf1 ip4:192.0.2.1\\009-all"')
z.append('nul TXT "v=spf1 ip4:192.0.2.1 \\000 -all"')

rnd = random.Random(7208)
pieces = ["ip4:", "ip6:", "a", "mx", "ptr", "exists:", "include:", "redirect=",
          "exp=", "all", "-", "~", "?", "+", "/", "//", ":", "%{", "}", "%%",
          "%_", "%-", "%{i}", "%{ir}", "%{d2}", "%{l1r+-}", "%{p}", "%{v}",
          "%{h}", "%{s}", ".", "..", "spf.test", "192.0.2.1", "::1", "0",
          "24", "128", "33", "999999999999", " ", "  ", "=", "x.y=z"]
for i in range(80):
    rec = "v=spf1 " + "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 20)))
    z.append("g%d " % i + txt(*split255(rec)))
with open("extra.zone", "w") as f:
    f.write("\n".join(z) + "\n")
EOF

dns_zone_begin spf.test spf.zone
cat extra.zone >>spf.zone
for r in 2.0.192 100.51.198 113.0.203; do dns_zone_begin $r.in-addr.arpa $r.zone; done
REV="2.0.192.in-addr.arpa=2.0.192.zone 100.51.198.in-addr.arpa=100.51.198.zone"
REV="$REV 113.0.203.in-addr.arpa=113.0.203.zone"
dns_rig_start spf.test=spf.zone $REV || { echo "Bail out! cannot start the DNS rig"; exit 1; }
dns_rig_blackhole || { echo "Bail out! no blackhole"; exit 1; }

OPTS="--receiver mx.test"
DOWN="--resolver $DNS_BLACKHOLE --dns-timeout 200"
# chk FILE ARGS: spfcheck -o kv ARGS >FILE; returns its exit status
chk() { _f=$1; shift; timeout 60 spfcheck -o kv $OPTS "$@" >"$_f"; }

cat >msg.eml <<'EOF'
From: Alice <alice@pass.spf.test>
To: Bob <bob@example.test>
Subject: SPF test

Hello.
EOF

# A zone without an SOA: it answers only for the names it lists, the
# rest goes to the (black hole) network.
cat >local.zone <<'EOF'
$ORIGIN spf.test.
$TTL 300
pass	TXT "v=spf1 ip4:192.0.2.0/24 -all"
texp	TXT "v=spf1 -all exp=why.slow.test"
tinc	TXT "v=spf1 ip4:192.0.2.1 include:x.slow.test -all"
EOF

# ---- timeouts ------------------------------------------------------------------------

test_expect_success 'DNS timeout: temperror, exit 6, the problem named' '
	expect_status 6 chk down.kv $DOWN -i 192.0.2.1 -s a@pass.spf.test &&
	kv_expect down.kv spf_result temperror &&
	[ -n "$(kvget spf_problem down.kv)" ] &&
	kvget spf_received down.kv | grep -q "^Received-SPF: temperror .*problem="
'

test_expect_success 'DNS timeout, text: the problem line' '
	expect_status 6 timeout 60 spfcheck $OPTS $DOWN -i 192.0.2.1 -s a@pass.spf.test >t.out &&
	head -n 1 t.out | grep -q "^temperror (" && sed -n 2p t.out | grep -q "^problem: "
'

test_expect_success 'DNS timeout, -f: a temperror field, the message whole, exit 0' '
	timeout 60 spfcheck -f $OPTS $DOWN -i 192.0.2.1 -s a@pass.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: temperror " &&
	"$PY" -c "
import re, sys
d = open(\"out\", \"rb\").read()
m = re.match(rb\"[^\n]*\n(?:[ \t][^\n]*\n)*\", d)
sys.exit(d[m.end():] != open(\"msg.eml\", \"rb\").read())"
'

test_expect_success 'DNS timeout, -f --tempfail: nothing written, exit 75' '
	expect_status 75 timeout 60 spfcheck -f --tempfail $OPTS $DOWN -i 192.0.2.1 \
		-s a@pass.spf.test msg.eml >out 2>err &&
	! [ -s out ] && grep -q "^spfcheck: " err
'

test_expect_success '-f --tempfail with an answer: the message goes out' '
	timeout 60 spfcheck -f --tempfail $OPTS -i 192.0.2.1 -s a@pass.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: pass "
'

test_expect_success 'an include that times out: temperror, even after a zone-file answer' '
	expect_status 6 chk inc.kv --dns-zone local.zone $DOWN -i 198.51.100.1 -s a@tinc.spf.test &&
	kv_expect inc.kv spf_result temperror &&
	chk inc.kv --dns-zone local.zone $DOWN -i 192.0.2.1 -s a@tinc.spf.test &&
	kv_expect inc.kv spf_result pass
'

test_expect_success 'an exp= that times out: still fail, with the default explanation' '
	expect_status 1 chk exp.kv --dns-zone local.zone $DOWN -i 198.51.100.1 -s a@texp.spf.test &&
	kv_expect exp.kv spf_result fail &&
	kv_expect exp.kv spf_explanation "198.51.100.1 is not one of texp.spf.test'"'"'s designated mail servers"
'

test_expect_success '--batch with the DNS down: temperror per line, exit 0' '
	printf "192.0.2.1 a@pass.spf.test h\n192.0.2.2 b@pass.spf.test h\n" >b.txt &&
	timeout 120 spfcheck --batch $OPTS $DOWN b.txt >out &&
	[ "$(cut -d" " -f1 out | tr "\n" " ")" = "temperror temperror " ]
'

test_expect_success '--dns-zone answers with the network down' '
	chk z.kv --dns-zone local.zone $DOWN -i 192.0.2.1 -s a@pass.spf.test &&
	kv_expect z.kv spf_result pass
'

# ---- long records -----------------------------------------------------------------------

test_expect_success 'a 1 kB record in five strings: joined without separators' '
	chk long.kv -i 192.0.2.9 -s a@long.spf.test &&
	kv_expect long.kv spf_mechanism ip4:192.0.2.0/24 &&
	expect_status 1 chk long.kv -i 198.51.100.1 -s a@long.spf.test
'

test_expect_success 'strings split inside terms and inside "v=spf1"' '
	chk odd.kv -i 192.0.2.9 -s a@odd.spf.test &&
	kv_expect odd.kv spf_mechanism ip4:192.0.2.0/24 &&
	expect_status 1 chk odd.kv -i 198.51.100.9 -s a@odd.spf.test &&
	chk glued.kv -i 192.0.2.1 -s a@glued.spf.test
'

test_expect_success 'a record too big for UDP: fetched over TCP, bounded: permerror or pass' '
	chk big.kv -i 192.0.2.9 -s a@big.spf.test; st=$?
	[ $st = 0 ] || [ $st = 5 ] || { echo "exit $st"; exit 1; }
	r=$(kvget spf_result big.kv) &&
	case $r in pass|permerror) ;; *) echo "$r"; exit 1 ;; esac
'

# ---- limits ---------------------------------------------------------------------------------

test_expect_success '11 MX names for one mx term: permerror; 10 are fine' '
	expect_status 5 chk mx.kv -i 203.0.113.20 -s a@mx11.spf.test &&
	chk mx.kv -i 203.0.113.19 -s a@mx10.spf.test &&
	chk mx.kv --max-mx 11 -i 203.0.113.20 -s a@mx11.spf.test
'

test_expect_success 'include and redirect loops: permerror, quickly' '
	expect_status 5 chk loop.kv -i 192.0.2.1 -s a@loop.spf.test &&
	expect_status 5 chk loop.kv -i 192.0.2.1 -s a@rloop.spf.test
'

test_expect_success 'three a: terms naming nothing: permerror (void lookups)' '
	expect_status 5 chk void.kv -i 192.0.2.1 -s a@void.spf.test &&
	kvget spf_problem void.kv | grep -qi void
'

test_expect_success 'non-ASCII, control and NUL bytes in records: permerror' '
	for d in latin ctl nul; do
		expect_status 5 chk $d.kv -i 192.0.2.1 -s a@$d.spf.test || exit 1
	done
'

test_expect_success '80 garbage records: a result word and its exit status, never a crash' '
	i=0
	while [ $i -lt 80 ]; do
		chk g.kv -i 192.0.2.1 -s "a-b+c@g$i.spf.test" -e h.spf.test; st=$?
		r=$(kvget spf_result g.kv) || { echo "g$i: no kv (exit $st)"; exit 1; }
		case $st:$r in
		0:pass|1:fail|2:softfail|3:neutral|4:none|5:permerror|6:temperror) ;;
		*) echo "g$i: exit $st, result $r"; exit 1 ;;
		esac
		i=$((i + 1))
	done
'

test_expect_success 'garbage records in a batch, in text and json' '
	i=0; while [ $i -lt 80 ]; do echo "192.0.2.1 x@g$i.spf.test h"; i=$((i + 1)); done >g.txt &&
	timeout 120 spfcheck --batch $OPTS g.txt >g.out &&
	[ "$(wc -l <g.out)" = 80 ] &&
	timeout 120 spfcheck --batch -o json $OPTS g.txt >g.json &&
	"$PY" -c "
import json
o = [json.loads(l) for l in open(\"g.json\")]
assert len(o) == 80
assert all(x[\"spf_result\"] in (\"pass\", \"fail\", \"softfail\", \"neutral\", \"none\",
                                \"permerror\", \"temperror\") for x in o)
"
'

test_done
