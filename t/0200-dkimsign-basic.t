#!/bin/sh
# dkimsign end to end: keys made per run with --keygen and shipped PEM keys,
# verified by dkimverify through a real DNS server (nsd on loopback) and by
# dkimpy as an independent oracle.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

KEYS=$TEST_SRC/data/keys
NOW=1700000000
mkmsg msg.eml
crlf msg.eml msg-crlf.eml

# sign_verify OUT ARGS...: dkimsign ARGS msg.eml >OUT, then dkimverify -o kv
# into OUT.kv; succeeds when dkimsign exited 0 and every signature passed.
sign_verify() {
	_out=$1; shift
	dkimsign "$@" >"$_out" || { echo "dkimsign exited $?" >&2; return 1; }
	dkimverify -o kv "$_out" >"$_out.kv"; _st=$?
	[ "$_st" = 0 ] || { echo "dkimverify exited $_st" >&2; cat "$_out.kv" >&2; return 1; }
}

all_pass() { # KVFILE N: dkim_verify_status is N times "pass"
	_want=pass; _i=1
	while [ "$_i" -lt "$2" ]; do _want="$_want:pass"; _i=$((_i + 1)); done
	kv_expect "$1" dkim_verify_status "$_want"
}

oracle() { forge verify --resolver "$MXKIT_RESOLVER" "$@"; }

# ---- keys -----------------------------------------------------------------

test_expect_success 'keygen rsa writes a mode 0600 PEM and prints the TXT record' '
	dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >rsa.rec &&
	[ "$(stat -c %a rsa.key)" = 600 ] &&
	openssl pkey -in rsa.key -noout &&
	grep -q "^rsa\._domainkey\.example\.test\.\{0,1\}[[:space:]].*TXT" rsa.rec &&
	grep -q "v=DKIM1" rsa.rec && grep -q "k=rsa" rsa.rec
'

test_expect_success 'keygen ed25519 writes a mode 0600 PEM and prints the TXT record' '
	dkimsign --keygen ed25519 -d example.test -s ed -k ed.key >ed.rec &&
	[ "$(stat -c %a ed.key)" = 600 ] &&
	openssl pkey -in ed.key -noout -text | grep -qi ed25519 &&
	grep -q "k=ed25519" ed.rec
'

test_expect_success 'keygen refuses to overwrite an existing key (exit 73)' '
	cp rsa.key rsa.key.orig &&
	expect_status 73 dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >out &&
	cmp rsa.key rsa.key.orig && ! [ -s out ] &&
	expect_status 73 dkimsign --keygen ed25519 -d example.test -s ed -k rsa.key >out &&
	cmp rsa.key rsa.key.orig
'

test_expect_success 'keygen record strings are at most 255 bytes (3072-bit key)' '
	dkimsign --keygen rsa --bits 3072 -d example.test -s big -k big.key >big.rec &&
	"$PY" - big.rec <<-\EOF
	import re, sys
	text = open(sys.argv[1]).read()
	strings = re.findall("\x22([^\x22]*)\x22", text)
	assert len(strings) >= 3, strings
	assert all(len(s) <= 255 for s in strings), [len(s) for s in strings]
	assert "".join(strings).startswith("v=DKIM1"), strings[0]
	EOF
'

test_expect_success 'keygen usage errors exit 64' '
	expect_status 64 dkimsign --keygen dsa -d example.test -s x -k x.key &&
	expect_status 64 dkimsign --keygen rsa -d example.test -k x.key &&
	! [ -e x.key ]
'

# ---- the DNS rig ------------------------------------------------------------

dns_zone_begin example.test ex.zone
cat rsa.rec ed.rec big.rec >>ex.zone
{
	forge zone -k "$KEYS/rsa2048-pkcs1.pem" -s p1
	forge zone -k "$KEYS/rsa2048-pkcs8.pem" -s p8
	forge zone -k "$KEYS/rsa1024.pem" -s r1024
} >>ex.zone
dns_zone_begin other.test other.zone
{
	forge zone -k rsa.key -s rsa
	forge zone -k ed.key -s ed
} >>other.zone
if ! dns_rig_start example.test=ex.zone other.test=other.zone; then
	echo "Bail out! cannot start the DNS rig"
	exit 1
fi

test_expect_success 'the TXT record printed by keygen is served and verifies' '
	sign_verify s.eml -d example.test -s big -k big.key msg.eml &&
	kv_expect s.eml.kv dkim_key_length 3072
'

# ---- signing ------------------------------------------------------------------

test_expect_success 'rsa: one DKIM-Signature field prepended, message unchanged' '
	dkimsign -d example.test -s rsa -k rsa.key msg.eml >s.eml &&
	[ "$(grep -c "^DKIM-Signature:" s.eml)" = 1 ] &&
	head -n 1 s.eml | grep -q "^DKIM-Signature:" &&
	forge strip --top 1 s.eml | cmp - msg.eml &&
	[ "$(forge tag a s.eml)" = rsa-sha256 ] &&
	[ "$(forge tag d s.eml)" = example.test ] &&
	[ "$(forge tag s s.eml)" = rsa ] &&
	[ "$(forge tag v s.eml)" = 1 ]
'

test_expect_success 'rsa: dkimverify passes it through the DNS rig' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key msg.eml &&
	all_pass s.eml.kv 1 &&
	kv_expect s.eml.kv dkim_algo rsa-sha256 &&
	kv_expect s.eml.kv dkim_key_length 2048 &&
	kv_expect s.eml.kv dkim_domain example.test &&
	kv_expect s.eml.kv dkim_selector rsa
'

test_expect_success 'rsa: dkimpy verifies it too' '
	oracle s.eml
'

test_expect_success 'ed25519: signs, dkimverify and dkimpy pass it' '
	sign_verify s.eml -d example.test -s ed -k ed.key msg.eml &&
	[ "$(forge tag a s.eml)" = ed25519-sha256 ] &&
	forge strip --top 1 s.eml | cmp - msg.eml &&
	all_pass s.eml.kv 1 && kv_expect s.eml.kv dkim_algo ed25519-sha256 &&
	oracle s.eml
'

test_expect_success 'stdin, "-" and a file argument give the same output' '
	dkimsign --now $NOW -d example.test -s rsa -k rsa.key msg.eml >a.eml &&
	dkimsign --now $NOW -d example.test -s rsa -k rsa.key - <msg.eml >b.eml &&
	dkimsign --now $NOW -d example.test -s rsa -k rsa.key <msg.eml >c.eml &&
	cmp a.eml b.eml && cmp a.eml c.eml
'

test_expect_success 'shipped PKCS#1 RSA PEM key signs and verifies' '
	sign_verify s.eml -d example.test -s p1 -k "$KEYS/rsa2048-pkcs1.pem" msg.eml &&
	all_pass s.eml.kv 1 && oracle s.eml
'

test_expect_success 'shipped PKCS#8 RSA PEM key signs and verifies' '
	sign_verify s.eml -d example.test -s p8 -k "$KEYS/rsa2048-pkcs8.pem" msg.eml &&
	all_pass s.eml.kv 1 && oracle s.eml
'

test_expect_success 'dual signing rsa + ed25519 for one domain: both pass' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key \
		-d example.test -s ed -k ed.key msg.eml &&
	[ "$(grep -c "^DKIM-Signature:" s.eml)" = 2 ] &&
	forge strip --top 2 s.eml | cmp - msg.eml &&
	algos="$(forge tag -n 1 a s.eml) $(forge tag -n 2 a s.eml)" &&
	case $algos in
	"rsa-sha256 ed25519-sha256"|"ed25519-sha256 rsa-sha256") ;;
	*) echo "algorithms: $algos"; false ;;
	esac &&
	all_pass s.eml.kv 2 && oracle s.eml
'

test_expect_success 'dual signing two domains with one -s and one -k' '
	sign_verify s.eml -d example.test -d other.test -s rsa -k rsa.key msg.eml &&
	doms="$(forge tag -n 1 d s.eml) $(forge tag -n 2 d s.eml)" &&
	case $doms in
	"example.test other.test"|"other.test example.test") ;;
	*) echo "domains: $doms"; false ;;
	esac &&
	all_pass s.eml.kv 2 &&
	signers=$(kvget dkim_signers s.eml.kv) &&
	case ":$signers:" in *:example.test:*) ;; *) false ;; esac &&
	case ":$signers:" in *:other.test:*) ;; *) false ;; esac &&
	oracle s.eml
'

test_expect_success 'n-th -d pairs with n-th -s and -k' '
	sign_verify s.eml -d example.test -s ed -k ed.key -d other.test -s rsa -k rsa.key msg.eml &&
	all_pass s.eml.kv 2 &&
	for n in 1 2; do
		case "$(forge tag -n $n d s.eml)/$(forge tag -n $n s s.eml)/$(forge tag -n $n a s.eml)" in
		example.test/ed/ed25519-sha256|other.test/rsa/rsa-sha256) ;;
		*) echo "signature $n pairs wrongly"; exit 1 ;;
		esac
	done
'

test_expect_success 'more -s than -d is a usage error' '
	expect_status 64 dkimsign -d example.test -d other.test -s a -s b -s c -k rsa.key msg.eml >out &&
	! [ -s out ]
'

test_expect_success 'missing -d is a usage error' '
	expect_status 64 dkimsign -s rsa -k rsa.key msg.eml >out && ! [ -s out ]
'

for c in simple:simple/simple relaxed:relaxed/relaxed simple/relaxed:simple/relaxed \
    relaxed/simple:relaxed/simple simple/simple:simple/simple relaxed/relaxed:relaxed/relaxed; do
	arg=${c%%:*} want=${c#*:}
	test_expect_success "-c $arg signs with c=$want and verifies" "
		sign_verify s.eml -c $arg -d example.test -s rsa -k rsa.key msg.eml &&
		kv_expect s.eml.kv dkim_canon_headers ${want%/*} &&
		kv_expect s.eml.kv dkim_canon_body ${want#*/} &&
		oracle s.eml
	"
done

test_expect_success 'default canonicalization is relaxed/relaxed' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key msg.eml &&
	kv_expect s.eml.kv dkim_canon_headers relaxed &&
	kv_expect s.eml.kv dkim_canon_body relaxed
'

test_expect_success '-c with an unknown method is a usage error' '
	expect_status 64 dkimsign -c fancy -d example.test -s rsa -k rsa.key msg.eml >out &&
	expect_status 64 dkimsign -c relaxed/fancy -d example.test -s rsa -k rsa.key msg.eml >out &&
	! [ -s out ]
'

# A message with two Received fields and one Subject.
{
	echo "Received: from a.example.test by b.example.test; Mon, 01 Jan 2024 12:00:01 +0000"
	cat msg.eml
} >msg2.eml

lc() { tr "[:upper:]" "[:lower:]"; }

test_expect_success 'default header list signs From' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key msg.eml &&
	case ":$(forge tag h s.eml | lc):" in *:from:*) ;; *) false ;; esac
'

test_expect_success '-H with repeated names signs each repetition' '
	sign_verify s.eml -H from:to:to:subject -d example.test -s rsa -k rsa.key msg2.eml &&
	[ "$(forge tag h s.eml | lc)" = from:to:to:subject ] &&
	kv_expect s.eml.kv dkim_headernames "$(forge tag h s.eml)" &&
	oracle s.eml
'

test_expect_success '-H =name signs every instance present, +name one more' '
	sign_verify s.eml -H "from:=received:+subject:=x-absent:+x-missing:to" \
		-d example.test -s rsa -k rsa.key msg2.eml &&
	[ "$(forge tag h s.eml | lc)" = from:received:received:subject:subject:x-missing:to ] &&
	oracle s.eml
'

test_expect_success '+subject: an added Subject breaks it; =received: an added Received does not' '
	forge strip --top 1 s.eml >body.eml &&
	head -c $(( $(wc -c <s.eml) - $(wc -c <body.eml) )) s.eml >sig.part &&
	{ cat sig.part; echo "Received: from evil.test by b.example.test"; cat body.eml; } >r.eml &&
	{ cat sig.part; echo "Subject: changed"; cat body.eml; } >t.eml &&
	dkimverify -o kv r.eml >r.kv && kv_expect r.kv dkim_verify_status pass &&
	expect_status 1 dkimverify -o kv t.eml >t.kv &&
	kv_expect t.kv dkim_verify_status fail &&
	kv_expect t.kv dkim_verify_reason signature_incorrect
'

test_expect_success '-i @domain and -i user@sub.domain are signed as i=' '
	sign_verify s.eml -i @example.test -d example.test -s rsa -k rsa.key msg.eml &&
	[ "$(forge tag i s.eml)" = @example.test ] &&
	kv_expect s.eml.kv dkim_identity @example.test &&
	sign_verify s.eml -i user@sub.example.test -d example.test -s rsa -k rsa.key msg.eml &&
	[ "$(forge tag i s.eml)" = user@sub.example.test ] &&
	kv_expect s.eml.kv dkim_identity user@sub.example.test &&
	oracle s.eml
'

test_expect_success '-i outside -d is a usage error (64), nothing written' '
	for id in @other.test @evilexample.test user@example.test.evil.test example.test @; do
		expect_status 64 dkimsign -i "$id" -d example.test -s rsa -k rsa.key msg.eml >out || exit 1
		[ -s out ] && { echo "output for -i $id"; exit 1; }
	done; true
'

test_expect_success '-i pairs with -d when signing for two domains' '
	sign_verify s.eml -d example.test -i @example.test -d other.test -i @other.test \
		-s rsa -k rsa.key msg.eml &&
	all_pass s.eml.kv 2 &&
	expect_status 64 dkimsign -d example.test -i @other.test -d other.test -i @example.test \
		-s rsa -k rsa.key msg.eml >out
'

test_expect_success '-l adds l= with the canonical body length; appended text still passes' '
	sign_verify s.eml -l -d example.test -s rsa -k rsa.key msg.eml &&
	len=$("$PY" -c "
import dkim, sys
from dkim.canonicalization import CanonicalizationPolicy
h, b = dkim.rfc822_parse(open(\"msg.eml\", \"rb\").read())
print(len(CanonicalizationPolicy.from_c_value(b\"relaxed/relaxed\").canonicalize_body(b)))") &&
	[ "$(forge tag l s.eml)" = "$len" ] &&
	kv_expect s.eml.kv dkim_bodylength "$len" &&
	{ cat s.eml; echo "appended by a mailing list"; } >l.eml &&
	dkimverify -o kv l.eml >l.kv && kv_expect l.kv dkim_verify_status pass
'

test_expect_success 'without -l there is no l= and dkim_bodylength is 9999999999999' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key msg.eml &&
	! forge tag l s.eml &&
	kv_expect s.eml.kv dkim_bodylength 9999999999999
'

test_expect_success '-x adds x=t+SECS; --now sets t=' '
	dkimsign --now $NOW -x 3600 -d example.test -s rsa -k rsa.key msg.eml >s.eml &&
	[ "$(forge tag t s.eml)" = $NOW ] &&
	[ "$(forge tag x s.eml)" = $((NOW + 3600)) ] &&
	dkimverify --now $((NOW + 60)) -o kv s.eml >s.kv &&
	kv_expect s.kv dkim_verify_status pass &&
	kv_expect s.kv dkim_created $NOW &&
	kv_expect s.kv dkim_expires $((NOW + 3600))
'

test_expect_success '-T omits t=' '
	sign_verify s.eml -T -d example.test -s rsa -k rsa.key msg.eml &&
	! forge tag t s.eml && ! forge tag x s.eml &&
	kv_expect s.eml.kv dkim_created 0 &&
	kv_expect s.eml.kv dkim_expires 9999999999999
'

test_expect_success 'without -T, t= is the current time' '
	before=$(date +%s) &&
	dkimsign -d example.test -s rsa -k rsa.key msg.eml >s.eml &&
	after=$(date +%s) && t=$(forge tag t s.eml) &&
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ]
'

test_expect_success '-z adds z= with the signed header fields' '
	sign_verify s.eml -z -d example.test -s rsa -k rsa.key msg.eml &&
	z=$(forge tag z s.eml) &&
	case $z in *[Ff]rom:*) ;; *) echo "z=$z"; false ;; esac &&
	case $(kvget dkim_copiedheaders s.eml.kv) in *[Ff]rom:*) ;; *) false ;; esac &&
	oracle s.eml
'

# ---- failures to sign ---------------------------------------------------------

printf 'this is not a key\n' >garbage.key

for k in missing:no-such.key garbage:garbage.key short:"$KEYS/rsa512.pem"; do
	what=${k%%:*} key=${k#*:}
	test_expect_success "$what key without --strict: message unchanged, exit 0, one warning" "
		dkimsign -d example.test -s rsa -k '$key' msg.eml >out 2>err &&
		cmp out msg.eml &&
		[ \"\$(count_lines err)\" = 1 ] && grep -q '^dkimsign: ' err
	"
	test_expect_success "$what key with --strict: exit 75, nothing written" "
		expect_status 75 dkimsign --strict -d example.test -s rsa -k '$key' msg.eml >out 2>err &&
		! [ -s out ] && [ -s err ]
	"
done

test_expect_success 'a 1024-bit RSA key signs with a one-line warning' '
	dkimsign -d example.test -s r1024 -k "$KEYS/rsa1024.pem" msg.eml >s.eml 2>err &&
	[ "$(count_lines err)" = 1 ] && grep -q "^dkimsign: " err &&
	dkimverify -o kv s.eml >s.kv && kv_expect s.kv dkim_verify_status pass &&
	kv_expect s.kv dkim_key_length 1024
'

test_expect_success 'a 2048-bit RSA key signs without a warning' '
	dkimsign -d example.test -s rsa -k rsa.key msg.eml >s.eml 2>err && ! [ -s err ]
'

# ---- line endings ---------------------------------------------------------------

test_expect_success 'LF input: LF output, no CR anywhere' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key -d example.test -s ed -k ed.key msg.eml &&
	! grep -q "$(printf "\r")" s.eml && all_pass s.eml.kv 2
'

test_expect_success 'CRLF input: every line of the output ends CRLF' '
	sign_verify s.eml -d example.test -s rsa -k rsa.key -d example.test -s ed -k ed.key msg-crlf.eml &&
	! grep -qv "$(printf "\r")\$" s.eml &&
	forge strip --top 2 s.eml | cmp - msg-crlf.eml &&
	all_pass s.eml.kv 2 && oracle s.eml
'

test_expect_success 'CRLF and LF inputs give the same signature' '
	dkimsign --now $NOW -d example.test -s rsa -k rsa.key msg.eml >a.eml &&
	dkimsign --now $NOW -d example.test -s rsa -k rsa.key msg-crlf.eml >b.eml &&
	[ "$(forge tag b a.eml)" = "$(forge tag b b.eml)" ]
'

# ---- mbox -------------------------------------------------------------------------

: >in.mbox
for n in 1 2 3 4 5; do
	mkmsg m$n.eml $n
	case $n in
	2) printf 'From the mbox point of view this line needs quoting\n' >>m$n.eml ;;
	3) printf '>From here too (mboxrd)\n>>From and here\n' >>m$n.eml ;;
	esac
	mbox_add in.mbox m$n.eml
done

test_expect_success '--mbox signs every message; verdicts all pass' '
	dkimsign --mbox -d example.test -s rsa -k rsa.key in.mbox >out.mbox &&
	[ "$(grep -c "^From " out.mbox)" = 5 ] &&
	[ "$(grep -c "^DKIM-Signature:" out.mbox)" = 5 ] &&
	dkimverify --mbox -o kv out.mbox >out.kv &&
	[ "$(grep -c "^mbox_message=" out.kv)" = 5 ] &&
	[ "$(grep -c "^dkim_verify_status=.pass.\$" out.kv)" = 5 ]
'

test_expect_success '--mbox output keeps the mboxrd quoting and everything else' '
	awk "
		/^From / { print; sep = 1; next }
		sep && /^DKIM-Signature:/ { insig = 1; next }
		insig && /^[ \t]/ { next }
		{ sep = 0; insig = 0; print }
	" out.mbox >unsigned.mbox &&
	cmp unsigned.mbox in.mbox
'

test_expect_success '--mbox: each message verifies with dkimpy after unquoting' '
	"$PY" - out.mbox <<-\EOF
	import os, re, subprocess, sys
	data = open(sys.argv[1], "rb").read()
	msgs = re.split(rb"^From [^\n]*\n", data, flags=re.M)[1:]
	assert len(msgs) == 5
	for m in msgs:
	    m = re.sub(rb"^>(>*From )", rb"\1", m, flags=re.M)
	    open("one.eml", "wb").write(m)
	    subprocess.run([sys.executable, os.environ["TEST_SRC"] + "/data/dkim-forge.py",
	                    "verify", "--resolver", os.environ["MXKIT_RESOLVER"], "one.eml"],
	                   check=True)
	EOF
'

test_expect_success '-h fits 24 lines and exits 0; -V exits 0' '
	dkimsign -h >h.out && [ "$(count_lines h.out)" -le 24 ] &&
	dkimsign -V >v.out && [ -s v.out ]
'

test_done
