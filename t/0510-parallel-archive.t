#!/bin/sh
# contrib/parallel/verify-archive.sh: an archive cut into many chunks and
# verified on local job slots by GNU parallel gives, after the recipe's
# renumbering, exactly what one dkimverify --mbox gives.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"

command -v parallel >/dev/null 2>&1 || skip_all "GNU parallel is not installed"
RECIPE=$TOP/contrib/parallel/verify-archive.sh
N=120

# parallel keeps state in ~/.parallel: keep it in the test directory.
mkdir home && HOME=$TEST_DIR/home && export HOME

dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >rsa.rec &&
dkimsign --keygen ed25519 -d example.test -s ed -k ed.key >ed.rec ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }
{
	printf '$ORIGIN example.test.\n$TTL 300\n'
	printf '@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n'
	printf '@ IN NS ns.example.test.\n'
	cat rsa.rec ed.rec
} >ex.zone
# offline: keys from the zone file; a closed loopback port as the resolver
ZONE="--dns-zone $TEST_DIR/ex.zone --resolver 127.0.0.1:1 --dns-timeout 200"

# Two signed archives (rsa, ed25519) interleaved, with tampered and unsigned
# messages and body lines that mboxrd quotes.
: >plain-a.mbox
: >plain-b.mbox
i=1
while [ $i -le $N ]; do
	mkmsg m.eml $i
	[ $((i % 4)) = 0 ] && printf 'From here on the line is quoted.\n>From and this one twice.\n' >>m.eml
	# "From " inside a line must not be taken for a message boundary
	[ $((i % 5)) = 0 ] && printf 'Forwarded message, From Carol To Dave, From here\n' >>m.eml
	[ $((i % 9)) = 0 ] && awk 'BEGIN { for (k = 0; k < 300; k++) print "padding line " k " of a longer message" }' >>m.eml
	if [ $((i % 2)) = 0 ]; then mbox_add plain-a.mbox m.eml; else mbox_add plain-b.mbox m.eml; fi
	i=$((i + 1))
done
dkimsign --mbox -d example.test -s rsa -k rsa.key plain-a.mbox >signed-a.mbox &&
dkimsign --mbox -d example.test -s ed -k ed.key plain-b.mbox >signed-b.mbox ||
	{ echo "Bail out! dkimsign --mbox failed"; exit 1; }
"$PY" - <<'EOF'
import re
def split(path):
    data = open(path, "rb").read()
    return [m for m in re.split(rb"(?m)^(?=From )", data) if m]
a, b = split("signed-a.mbox"), split("signed-b.mbox")
out = []
for k in range(max(len(a), len(b))):
    for part in (b, a):
        if k < len(part):
            out.append(part[k])
for k in range(len(out)):
    if k % 7 == 3:
        out[k] = out[k].replace(b"It has  two", b"It has  three")
    if k % 11 == 5:      # drop the signature: unsigned
        out[k] = re.sub(rb"(?m)^DKIM-Signature:.*\n(?:[ \t].*\n)*", b"", out[k], count=1)
open("archive.mbox", "wb").write(b"".join(out))
EOF

test_expect_success 'the test archive is as planned' '
	[ "$(grep -c "^From " archive.mbox)" = $N ] &&
	[ "$(wc -c <archive.mbox)" -gt 200000 ]
'

test_expect_success 'one dkimverify over the whole archive (the reference)' '
	dkimverify --mbox -o json $ZONE archive.mbox >ref.json &&
	[ "$(count_lines ref.json)" = $N ] &&
	grep -q "\"status\":\"pass\"" ref.json &&
	grep -q "\"status\":\"fail\"" ref.json &&
	grep -q "\"status\":\"none\"" ref.json
'

test_expect_success 'parallel, 3 local job slots, 16k chunks: same output line for line' '
	timeout 300 sh "$RECIPE" -j 3 --block 16k archive.mbox $ZONE >par.json 2>par.err &&
	cmp ref.json par.json
'

test_expect_success 'the archive really was cut into many chunks' '
	timeout 300 sh "$RECIPE" -j 3 --block 16k archive.mbox $ZONE --summary >/dev/null 2>sum.err &&
	chunks=$(grep -c "summary: [0-9]* messages" sum.err) &&
	[ "$chunks" -ge 8 ] &&
	total=$(sed -n "s/.*summary: \([0-9]*\) messages.*/\1/p" sum.err | awk "{ s += \$1 } END { print s }") &&
	[ "$total" = $N ]
'

test_expect_success 'archive on stdin, one chunk per message at most: same output' '
	timeout 300 sh "$RECIPE" -j 3 --block 1k - $ZONE <archive.mbox >stdin.json 2>/dev/null &&
	cmp ref.json stdin.json
'

test_expect_success '--sshlogin is passed through (":" is this machine, no ssh)' '
	timeout 300 sh "$RECIPE" -S 2/: --block 32k archive.mbox $ZONE >ssh.json &&
	cmp ref.json ssh.json
'

test_expect_success 'dkimverify options are passed through (--now)' '
	dkimverify --mbox -o json $ZONE --now 1000000000 archive.mbox >ref2.json &&
	timeout 300 sh "$RECIPE" -j 2 --block 16k archive.mbox $ZONE --now 1000000000 >par2.json &&
	cmp ref2.json par2.json && ! cmp -s ref.json ref2.json
'

test_expect_success 'an input that is not an mbox: the failing status comes back (65)' '
	mkmsg notmbox.eml &&
	expect_status 65 timeout 300 sh "$RECIPE" -j 2 notmbox.eml $ZONE >out 2>/dev/null
'

test_expect_success 'usage errors exit 64, a missing archive 66' '
	expect_status 64 sh "$RECIPE" 2>/dev/null &&
	expect_status 64 sh "$RECIPE" archive.mbox -o kv 2>/dev/null &&
	expect_status 64 sh "$RECIPE" --frobnicate archive.mbox 2>/dev/null &&
	expect_status 66 sh "$RECIPE" no-such.mbox 2>/dev/null
'

test_done
