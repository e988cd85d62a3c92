#!/bin/sh
# dkimverify --mbox over a generated archive of 200 messages (four keys, some
# tampered, some unsigned, some with a key that is not published): verdicts
# in input order whatever -j, mboxrd and mboxo unquoting, --summary, and one
# DNS query per distinct key.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

N=200

for k in rsa:s1 ed25519:s2 rsa:s3 ed25519:s4; do
	dkimsign --keygen ${k%:*} -d example.test -s ${k#*:} -k ${k#*:}.key >${k#*:}.rec ||
		{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
done
cp s1.key gone.key
dns_zone_begin example.test ex.zone
cat s1.rec s2.rec s3.rec s4.rec >>ex.zone

# The plan: msgs/N.eml unsigned, plan.txt "N selector tamper".
mkdir msgs signed
"$PY" - $N <<'EOF'
import sys
n_msgs = int(sys.argv[1])
plan = open("plan.txt", "w")
for n in range(1, n_msgs + 1):
    body = ["Hello Bob,", "", "this is message %d of the archive." % n,
            "Some  spaces  and a trailing one ", ""]
    if n % 3 == 0:
        body.append("From the desk of Alice: this line needs quoting in any mbox.")
    if n % 5 == 0:
        body.append(">From a line that starts with >From (mboxrd quotes it again)")
        body.append(">>From and one more level")
    body += ["", "-- ", "Alice", ""]
    hdr = ["From: Alice <alice@example.test>", "To: Bob <bob@example.test>",
           "Subject: archive message %d" % n,
           "Date: Mon, 01 Jan 2024 12:%02d:%02d +0000" % (n // 60 % 60, n % 60),
           "Message-ID: <archive%d@example.test>" % n]
    open("msgs/%d.eml" % n, "w").write("\n".join(hdr) + "\n\n" + "\n".join(body))
    if n % 11 == 0:
        sel = "none"
    elif n % 17 == 0:
        sel = "gone"
    else:
        sel = "s%d" % (n % 4 + 1)
    tamper = int(n % 7 == 0 and sel not in ("none", "gone"))
    plan.write("%d %s %d\n" % (n, sel, tamper))
EOF

while read -r n sel tamper; do
	if [ "$sel" = none ]; then
		cp msgs/$n.eml signed/$n.eml
	else
		dkimsign -d example.test -s $sel -k $sel.key msgs/$n.eml >signed/$n.eml ||
			{ echo "Bail out! dkimsign failed on message $n"; exit 1; }
	fi
done <plan.txt

# archive.mbox (mboxrd), archive-o.mbox (mboxo quoting, only messages
# without ">From" lines), expected-rd.txt and expected-o.txt: "N status reason".
"$PY" - $N <<'EOF'
import re, sys
n_msgs = int(sys.argv[1])
rd, o = open("archive.mbox", "wb"), open("archive-o.mbox", "wb")
exp_rd, exp_o, exp_oo = (open(f, "w") for f in ("expected-rd.txt", "expected-o.txt",
                                                   "expected-oo.txt"))
o_count = 0
for line in open("plan.txt"):
    n, sel, tamper = line.split()
    n, tamper = int(n), int(tamper)
    msg = open("signed/%d.eml" % n, "rb").read()
    if tamper:
        msg = msg.replace(b"this is message", b"this is MESSAGE")
    if sel == "none":
        st = ("none", "")
    elif sel == "gone":
        st = ("invalid", "pubkey_unavailable")
    elif tamper:
        st = ("fail", "bodyhash_mismatch")
    else:
        st = ("pass", "")
    sep = b"From alice@example.test Mon Jan  1 12:00:00 2024\n"
    rd.write(sep + re.sub(rb"^(>*From )", rb">\1", msg, flags=re.M) + b"\n")
    exp_rd.write("%d %s %s\n" % (n, st[0], st[1]))
    # read back as mboxo: ">>From " stays, ">From " loses its ">"
    st_o = st
    if n % 5 == 0 and st[0] == "pass":
        st_o = ("fail", "bodyhash_mismatch")
    exp_o.write("%d %s %s\n" % (n, st_o[0], st_o[1]))
    if n % 5 != 0:
        o_count += 1
        o.write(sep + re.sub(rb"^(From )", rb">\1", msg, flags=re.M) + b"\n")
        exp_oo.write("%d %s %s\n" % (o_count, st[0], st[1]))
EOF

if ! dns_rig_start example.test=ex.zone; then
	echo "Bail out! cannot start the DNS rig"
	exit 1
fi

# verdicts JSONFILE: "N status reason" per message from dkimverify's json
verdicts() {
	"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    s = o["signatures"][0] if o["signatures"] else {"dkim_verify_status": "none", "dkim_verify_reason": ""}
    print(o["message"], s["dkim_verify_status"], s["dkim_verify_reason"])' "$1"
}

test_expect_success "--mbox -j 1: exit 0, $N json objects in order, verdicts as planned" '
	dkimverify --mbox -o json -j 1 archive.mbox >j1.json &&
	[ "$(count_lines j1.json)" = $N ] &&
	verdicts j1.json >got.txt &&
	diff expected-rd.txt got.txt
'

test_expect_success '--mbox -j 4: the same output byte for byte' '
	dkimverify --mbox -o json -j 4 archive.mbox >j4.json &&
	cmp j1.json j4.json
'

test_expect_success '-j 1 and -j 4 agree in kv and text modes too' '
	dkimverify --mbox -o kv -j 1 archive.mbox >k1.out &&
	dkimverify --mbox -o kv -j 4 archive.mbox >k4.out && cmp k1.out k4.out &&
	dkimverify --mbox -j 1 archive.mbox >t1.out &&
	dkimverify --mbox -j 4 archive.mbox >t4.out && cmp t1.out t4.out &&
	[ "$(grep -c "^mbox_message=" k1.out)" = $N ] &&
	[ "$(grep -c "^msg [0-9]*: " t1.out)" -ge $N ]
'

test_expect_success 'kv --mbox: mbox_message first, then the variables, then an empty line' '
	awk -v n=$N "
		BEGIN { want = 1; state = \"sep\" }
		state == \"sep\" {
			if (\$0 != \"mbox_message=\047\" want \"\047\") { print \"line \" NR \": \" \$0; exit 1 }
			want++; state = \"vars\"; next
		}
		\$0 == \"\" { state = \"sep\"; next }
		!/^[a-z][a-z0-9_]*=\047/ { print \"line \" NR \": \" \$0; exit 1 }
		END { if (want != n + 1) { print \"messages: \" want - 1; exit 1 } }
	" k1.out
'

test_expect_success 'text --mbox: each line prefixed "msg N: "' '
	! grep -v "^msg [0-9][0-9]*: " t1.out &&
	grep -q "^msg 1: pass d=example.test s=s2 " t1.out &&
	grep -q "^msg 7: fail (bodyhash_mismatch) " t1.out &&
	grep -q "^msg 11: none\$" t1.out
'

test_expect_success '--mboxo reads the same archive with mboxo rules: ">>From" stays' '
	dkimverify --mboxo -o json archive.mbox >o.json &&
	verdicts o.json >got-o.txt &&
	diff expected-o.txt got-o.txt
'

test_expect_success '--mboxo on an mboxo archive: verdicts as planned' '
	dkimverify --mboxo -o json -j 3 archive-o.mbox >oo.json &&
	verdicts oo.json >got-oo.txt &&
	diff expected-oo.txt got-oo.txt
'

test_expect_success '--summary: message count and status counts on stderr, stdout unchanged' '
	dkimverify --mbox -o json -j 4 --summary archive.mbox >s.json 2>s.err &&
	cmp s.json j1.json &&
	grep -q "summary: $N messages" s.err &&
	for st in pass fail invalid none; do
		c=$(awk -v s=$st "\$2 == s" expected-rd.txt | wc -l | tr -d " ")
		grep "summary: status:" s.err | grep -Eq "[ ,:]$st $c(,|\$)" ||
			{ echo "status $st: wanted $c"; exit 1; }
	done &&
	c=$(grep -c bodyhash_mismatch expected-rd.txt) &&
	grep "summary: reasons:" s.err | grep -Eq "bodyhash_mismatch $c(,|\$)" &&
	c=$(grep -c pubkey_unavailable expected-rd.txt) &&
	grep "summary: reasons:" s.err | grep -Eq "pubkey_unavailable $c(,|\$)"
'

test_expect_success 'without --summary stderr is quiet' '
	dkimverify --mbox -o json archive.mbox >/dev/null 2>q.err && ! [ -s q.err ]
'

# network queries: the 4 published keys and the missing one
test_expect_success '-j 1: one DNS query per distinct key across the run' '
	dkimverify --mbox -o json -j 1 --summary archive.mbox >/dev/null 2>s.err &&
	grep -q "summary: dns: 5 network queries" s.err || { cat s.err; false; }
'

test_expect_success '-j 4: each key asked at most once per thread' '
	dkimverify --mbox -o json -j 4 --summary archive.mbox >/dev/null 2>s.err &&
	q=$(sed -n "s/.*summary: dns: \([0-9]*\) network queries.*/\1/p" s.err) &&
	[ "$q" -ge 5 ] && [ "$q" -le 20 ]
'

test_expect_success 'an input that is not an mbox exits 65' '
	expect_status 65 dkimverify --mbox msgs/1.eml >out
'

test_expect_success 'a CRLF mbox works' '
	: >crlf.mbox &&
	for n in 1 2 3; do
		crlf signed/$n.eml c.eml &&
		printf "From alice@example.test Mon Jan  1 12:00:00 2024\r\n" >>crlf.mbox &&
		sed "s/^\(>*From \)/>\1/" c.eml >>crlf.mbox && printf "\r\n" >>crlf.mbox || exit 1
	done &&
	dkimverify --mbox -o json crlf.mbox >c.json &&
	verdicts c.json >got-c.txt &&
	head -n 3 expected-rd.txt | diff - got-c.txt
'

test_expect_success '--mbox reads the archive from stdin' '
	dkimverify --mbox -j 2 -o json - <archive.mbox >stdin.json &&
	cmp stdin.json j1.json
'

test_done
