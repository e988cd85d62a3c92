#!/bin/sh
# dkimverify against a real DNS server (nsd on loopback, a zone made per run):
# every status and reason of spec/cli.md, exit statuses, the policy switches,
# --signers, DNS timeouts, hostile signatures, the output modes, filter mode
# and offline zone files.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/lib-dkim.sh"
. "$TEST_SRC/rig/dns.sh"

KEYS=$TEST_SRC/data/keys
NOW=$(date +%s)
ID=mx.test

mkmsg msg.eml
crlf msg.eml msg-crlf.eml

# ---- keys, zone, signed messages ----------------------------------------------

dkimsign --keygen rsa -d example.test -s rsa -k rsa.key >rsa.rec &&
dkimsign --keygen ed25519 -d example.test -s ed -k ed.key >ed.rec ||
	{ echo "Bail out! dkimsign --keygen failed"; exit 1; }

dns_zone_begin example.test ex.zone
{
	cat rsa.rec ed.rec
	forge zone -k rsa.key -s revoked --revoked
	forge zone -s broken --raw "v=DKIM1; k=rsa; p=@@@this*is*not*base64@@@"
	forge zone -k "$KEYS/rsa2048-pkcs1.pem" -s p1
	forge zone -k "$KEYS/rsa512.pem" -s r512
	forge zone -k rsa.key -s hsha1 --extra "h=sha1"
	forge zone -k rsa.key -s srvfoo --extra "s=foo"
	forge zone -k rsa.key -s nosub --extra "t=s"
	forge zone -k ed.key -s edtype
	forge zone -k rsa.key -s flags --extra "t=y; n=a note; g=*"
} >>ex.zone
dns_zone_begin other.test other.zone
forge zone -k rsa.key -s rsa >>other.zone

# sign OUT ARGS: dkimsign ARGS msg.eml >OUT (default key: rsa)
sign() { _o=$1; shift; dkimsign "$@" msg.eml >"$_o" || echo "Bail out! dkimsign $* failed"; }
sign pass.eml -d example.test -s rsa -k rsa.key
sign pass-ed.eml -d example.test -s ed -k ed.key
sign dual.eml -d example.test -s rsa -k rsa.key -d example.test -s ed -k ed.key
sign twodom.eml -d example.test -d other.test -s rsa -k rsa.key
sed 's/^Hello Bob,/Hello Eve,/' pass.eml >body.eml
sed 's/^Subject: test message 1/Subject: test message 2/' pass.eml >header.eml
sign revoked.eml -d example.test -s revoked -k rsa.key
sign missing.eml -d example.test -s missing -k rsa.key
sign broken.eml -d example.test -s broken -k rsa.key
sign expired.eml --now $((NOW - 7200)) -x 3600 -d example.test -s rsa -k rsa.key
sign future.eml --now $((NOW + 86400)) -d example.test -s rsa -k rsa.key
sign fromunsigned.eml -H subject:to -d example.test -s rsa -k rsa.key
sign hsha1.eml -d example.test -s hsha1 -k rsa.key
sign srvfoo.eml -d example.test -s srvfoo -k rsa.key
sign nosub.eml -i @sub.example.test -d example.test -s nosub -k rsa.key
sign edtype.eml -d example.test -s edtype -k rsa.key
sign flags.eml -d example.test -s flags -k rsa.key
sign mixed.eml -d example.test -s missing -k rsa.key -d example.test -s rsa -k rsa.key
forge sign -k rsa.key -d example.test -s rsa -i @other.test msg.eml >identity.eml
forge sign -k rsa.key -d example.test -s rsa -l 100000 msg.eml >bodylen.eml
forge sign -k rsa.key -d example.test -s rsa --tag v=2 msg.eml >version.eml
forge sign -k rsa.key -d example.test -s rsa -a rsa-md5 --sign-as rsa-sha256 msg.eml >algorithm.eml
forge sign -k rsa.key -d example.test -s rsa --tag c=fancy/relaxed msg.eml >canon.eml
forge sign -k rsa.key -d example.test -s rsa --tag q=https/well-known msg.eml >query.eml
{ printf 'DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=rsa\n'; cat msg.eml; } >syntax.eml
# rsa-sha1 and a 512-bit key, signed by dkimpy
"$PY" - "$KEYS" <<'EOF' || echo "Bail out! dkimpy signing failed"
import dkim, sys
keys = sys.argv[1]
msg = open("msg.eml", "rb").read()
hdrs = [b"from", b"to", b"subject", b"date", b"message-id"]
for out, sel, key, algo in (("sha1.eml", b"p1", "rsa2048-pkcs1.pem", b"rsa-sha1"),
                            ("short.eml", b"r512", "rsa512.pem", b"rsa-sha256")):
    sig = dkim.sign(msg, sel, b"example.test", open(keys + "/" + key, "rb").read(),
                    signature_algorithm=algo, include_headers=hdrs, linesep=b"\n")
    open(out, "wb").write(sig + msg)
EOF
# 21 signatures (dkimsign takes up to 16 -d at once: sign twice)
d16=$(for n in $(seq 16); do printf ' -d example.test'; done)
dkimsign $d16 -s rsa -k rsa.key msg.eml >t16.eml &&
dkimsign -d example.test -d example.test -d example.test -d example.test -d example.test \
	-s rsa -k rsa.key t16.eml >toomany.eml || echo "Bail out! cannot make 21 signatures"

if ! dns_rig_start example.test=ex.zone other.test=other.zone; then
	echo "Bail out! cannot start the DNS rig"
	exit 1
fi

# verify FILE [ARGS]: dkimverify -o kv ARGS FILE >FILE.kv; returns its exit status
verify() { _f=$1; shift; dkimverify -o kv "$@" "$_f" >"$_f.kv"; }

# ---- every status and reason -----------------------------------------------------

while read -r file status reason exit args; do
	[ -n "$file" ] || continue
	case $args in -) args= ;; esac
	test_expect_success "$file: $status${reason:+ ($reason)}, exit $exit" "
		verify $file $args; st=\$?
		[ \$st = $exit ] || { echo \"exit \$st, wanted $exit\"; cat $file.kv; exit 1; }
		kv_expect $file.kv dkim_verify_status $status &&
		kv_expect $file.kv dkim_verify_reason '$( [ "$reason" = - ] || echo "$reason")'
	"
done <<EOF
pass.eml           pass    -                    0 -
pass-ed.eml        pass    -                    0 -
body.eml           fail    bodyhash_mismatch    1 -
header.eml         fail    signature_incorrect  1 -
revoked.eml        invalid key_revoked          1 -
missing.eml        invalid pubkey_unavailable   1 -
broken.eml         invalid pubkey_syntax        1 -
sha1.eml           fail    algorithm_historic   1 -
short.eml          fail    key_too_short        1 -
expired.eml        fail    signature_expired    1 -
future.eml         invalid signature_future     1 -
identity.eml       invalid identity_mismatch    1 -
fromunsigned.eml   fail    from_not_signed      1 -
hsha1.eml          invalid key_hash_mismatch    1 -
srvfoo.eml         invalid key_service_mismatch 1 -
nosub.eml          invalid key_nosubdomains     1 -
edtype.eml         invalid key_type_mismatch    1 -
bodylen.eml        fail    body_length          1 -
version.eml        invalid unsupported_version  1 -
algorithm.eml      invalid unsupported_algorithm 1 -
canon.eml          invalid unsupported_canon    1 -
query.eml          invalid unsupported_query    1 -
syntax.eml         invalid signature_syntax     1 -
msg.eml            none    -                    2 -
EOF

test_expect_success 'expired x= and future t= follow --now' '
	verify expired.eml --now $((NOW - 7000)) && kv_expect expired.eml.kv dkim_verify_status pass &&
	verify future.eml --now $((NOW + 86400)) && kv_expect future.eml.kv dkim_verify_status pass &&
	expect_status 1 verify pass.eml --now $((NOW - 3600)) &&
	kv_expect pass.eml.kv dkim_verify_reason signature_future
'

test_expect_success 'key flags: t=y, n= and g= reach dkim_key_*' '
	verify flags.eml &&
	kv_expect flags.eml.kv dkim_verify_status pass &&
	kv_expect flags.eml.kv dkim_key_testing 1 &&
	kv_expect flags.eml.kv dkim_key_nosubdomains 0 &&
	kv_expect flags.eml.kv dkim_key_notes "a note" &&
	kv_expect flags.eml.kv dkim_key_granularity "*" &&
	kv_expect flags.eml.kv dkim_key_srvtype "*"
'

test_expect_success 'key t=s: i= equal to d= still passes' '
	dkimsign -i @example.test -d example.test -s nosub -k rsa.key msg.eml >ns.eml &&
	verify ns.eml && kv_expect ns.eml.kv dkim_key_nosubdomains 1
'

test_expect_success '21 signatures: 20 evaluated, the 21st too_many; exit 0' '
	[ "$(grep -c "^DKIM-Signature:" toomany.eml)" = 21 ] &&
	verify toomany.eml &&
	kv_expect toomany.eml.kv dkim_20_verify_status pass &&
	kv_expect toomany.eml.kv dkim_21_verify_status invalid &&
	kv_expect toomany.eml.kv dkim_21_verify_reason too_many &&
	[ "$(kvget dkim_verify_reason toomany.eml.kv)" = "$(printf "%20s" | tr " " :)too_many" ]
'

test_expect_success '--max-signatures 1: the second of two is too_many' '
	verify dual.eml --max-signatures 1 &&
	kv_expect dual.eml.kv dkim_1_verify_status pass &&
	kv_expect dual.eml.kv dkim_2_verify_reason too_many
'

test_expect_success 'two signatures, one passes: exit 0, lists and dkim_N_ agree' '
	verify mixed.eml &&
	s1=$(kvget dkim_1_verify_status mixed.eml.kv) &&
	s2=$(kvget dkim_2_verify_status mixed.eml.kv) &&
	kv_expect mixed.eml.kv dkim_verify_status "$s1:$s2" &&
	case "$s1:$s2" in pass:invalid|invalid:pass) ;; *) false ;; esac &&
	kv_expect mixed.eml.kv dkim_selector \
		"$(kvget dkim_1_selector mixed.eml.kv):$(kvget dkim_2_selector mixed.eml.kv)" &&
	kv_expect mixed.eml.kv dkim_verify_reason \
		"$(kvget dkim_1_verify_reason mixed.eml.kv):$(kvget dkim_2_verify_reason mixed.eml.kv)"
'

test_expect_success 'unsigned message: dkim_signers is empty' '
	expect_status 2 verify msg.eml && kv_expect msg.eml.kv dkim_signers ""
'

test_expect_success 'pass: the Exim variables of the signature' '
	verify pass.eml &&
	kv_expect pass.eml.kv dkim_domain example.test &&
	kv_expect pass.eml.kv dkim_selector rsa &&
	kv_expect pass.eml.kv dkim_identity @example.test &&
	kv_expect pass.eml.kv dkim_algo rsa-sha256 &&
	kv_expect pass.eml.kv dkim_canon_body relaxed &&
	kv_expect pass.eml.kv dkim_canon_headers relaxed &&
	kv_expect pass.eml.kv dkim_key_length 2048 &&
	kv_expect pass.eml.kv dkim_key_testing 0 &&
	kv_expect pass.eml.kv dkim_headernames "$(forge tag h pass.eml)" &&
	kv_expect pass.eml.kv dkim_created "$(forge tag t pass.eml)" &&
	kv_expect pass.eml.kv dkim_signers example.test:@example.test
'

# ---- exit statuses ------------------------------------------------------------------

test_expect_success 'a missing file exits 66' '
	expect_status 66 dkimverify no-such-file.eml >out && ! [ -s out ]
'

test_expect_success 'usage errors exit 64' '
	expect_status 64 dkimverify --no-such-option pass.eml &&
	expect_status 64 dkimverify -o yaml pass.eml &&
	expect_status 64 dkimverify --no-policy bogus pass.eml &&
	expect_status 64 dkimverify --max-signatures many pass.eml &&
	expect_status 64 dkimverify --dns-timeout soon pass.eml
'

"$PY" -c '
import sys
sys.stdout.write("".join("X-Field-%d: v\n" % i for i in range(5000)) + "\nbody\n")' >huge-header.eml

test_expect_success 'a message that cannot be parsed exits 65; -f passes it through' '
	expect_status 65 dkimverify huge-header.eml &&
	dkimverify -f --authserv-id $ID huge-header.eml >out && cmp out huge-header.eml
'

test_expect_success 'several files: one json object each' '
	dkimverify -o json pass.eml body.eml msg.eml >out; st=$?
	[ "$(count_lines out)" = 3 ] &&
	"$PY" -c "
import json, sys
st = [json.loads(l)[\"status\"] for l in open(\"out\")]
assert st == [\"pass\", \"fail\", \"none\"], st"
'

# ---- policy switches ---------------------------------------------------------------

for c in rfc8301:sha1.eml rfc8301:short.eml from:fromunsigned.eml identity:identity.eml \
    keyflags:hsha1.eml keyflags:srvfoo.eml keyflags:nosub.eml \
    all:sha1.eml all:short.eml all:fromunsigned.eml all:identity.eml all:hsha1.eml \
    all:srvfoo.eml all:nosub.eml all:expired.eml all:future.eml \
    expiry:expired.eml future:future.eml; do
	p=${c%%:*} f=${c#*:}
	test_expect_success "--no-policy $p: $f passes" "
		verify $f --no-policy $p && kv_expect $f.kv dkim_verify_status pass
	"
done

test_expect_success '--no-policy takes a comma-separated list' '
	verify sha1.eml --no-policy from,rfc8301 && kv_expect sha1.eml.kv dkim_verify_status pass &&
	verify fromunsigned.eml --no-policy from,rfc8301 &&
	expect_status 1 verify expired.eml --no-policy from,rfc8301
'

test_expect_success '--no-policy rfc8301 flags rsa-sha1 keys still as sha1' '
	verify sha1.eml --no-policy rfc8301 && kv_expect sha1.eml.kv dkim_algo rsa-sha1 &&
	verify short.eml --no-policy rfc8301 && kv_expect short.eml.kv dkim_key_length 512
'

test_expect_success '--no-policy all does not rescue a broken signature' '
	expect_status 1 verify body.eml --no-policy all &&
	kv_expect body.eml.kv dkim_verify_reason bodyhash_mismatch &&
	expect_status 1 verify header.eml --no-policy all &&
	expect_status 1 verify revoked.eml --no-policy all &&
	expect_status 1 verify missing.eml --no-policy all
'

test_expect_success 'one policy switch does not turn off another' '
	expect_status 1 verify sha1.eml --no-policy from &&
	expect_status 1 verify fromunsigned.eml --no-policy rfc8301 &&
	expect_status 1 verify hsha1.eml --no-policy identity
'

# ---- --signers ----------------------------------------------------------------------

test_expect_success '--signers with a listed domain absent: status none, exit 1' '
	expect_status 1 verify pass.eml --signers other.test &&
	kv_expect pass.eml.kv dkim_verify_status none &&
	kv_expect pass.eml.kv dkim_cur_signer other.test
'

test_expect_success '--signers: a present signer passes, an absent one is none' '
	expect_status 1 verify pass.eml --signers example.test:other.test &&
	kv_expect pass.eml.kv dkim_verify_status pass:none &&
	kv_expect pass.eml.kv dkim_cur_signer example.test:other.test
'

test_expect_success '--signers: all listed signers pass, exit 0' '
	verify twodom.eml --signers other.test:example.test &&
	kv_expect twodom.eml.kv dkim_verify_status pass:pass &&
	kv_expect twodom.eml.kv dkim_cur_signer other.test:example.test
'

test_expect_success '--signers matches identities and ignores duplicates' '
	verify pass.eml --signers @example.test:example.test:@example.test &&
	kv_expect pass.eml.kv dkim_verify_status pass:pass &&
	kv_expect pass.eml.kv dkim_cur_signer @example.test:example.test
'

test_expect_success '--signers on an unsigned message: none, exit 2' '
	expect_status 2 verify msg.eml --signers example.test &&
	kv_expect msg.eml.kv dkim_verify_status none &&
	kv_expect msg.eml.kv dkim_cur_signer example.test
'

test_expect_success '--signers: one signer, two signatures, both reported' '
	verify dual.eml --signers example.test &&
	kv_expect dual.eml.kv dkim_verify_status pass:pass &&
	kv_expect dual.eml.kv dkim_cur_signer example.test:example.test
'

# ---- DNS down ---------------------------------------------------------------------------

dns_rig_blackhole || { echo "Bail out! no blackhole"; exit 1; }
DOWN="--resolver $DNS_BLACKHOLE --dns-timeout 200"

# first_field FILE: the first header field, unfolded, CR removed, WSP squeezed
first_field() {
	awk 'NR == 1 { f = $0; next } /^[ \t]/ { f = f " " $0; next } { print f; exit }' "$1" |
		tr -d '\r' | tr -s ' \t' '  '
}

test_expect_success 'DNS timeout: exit 75' '
	expect_status 75 timeout 60 dkimverify -o kv $DOWN pass.eml >down.kv &&
	kv_expect down.kv dkim_verify_status invalid &&
	kv_expect down.kv dkim_verify_reason pubkey_unavailable
'

test_expect_success 'DNS timeout, -f: exit 0, dkim=temperror, message whole' '
	timeout 60 dkimverify -f --authserv-id $ID $DOWN pass.eml >out &&
	first_field out | grep -q "^Authentication-Results: $ID; *dkim=temperror" &&
	forge strip --top 1 out | cmp - pass.eml
'

test_expect_success 'DNS timeout, -f --tempfail: exit 75, nothing written' '
	expect_status 75 timeout 60 dkimverify -f --tempfail --authserv-id $ID $DOWN pass.eml >out &&
	! [ -s out ]
'

{
	printf '$ORIGIN example.test.\n$TTL 300\n'
	forge zone -k rsa.key -s rsa
} >only-rsa.zone

test_expect_success '-f --tempfail: a pass beside a timeout still writes the message' '
	timeout 60 dkimverify -f --tempfail --authserv-id $ID --dns-zone only-rsa.zone $DOWN dual.eml >out &&
	first_field out | grep -q "dkim=pass" &&
	first_field out | grep -q "dkim=temperror" &&
	forge strip --top 1 out | cmp - dual.eml
'

# ---- hostile signatures ---------------------------------------------------------------

"$PY" - <<'EOF'
import random
rnd = random.Random(20240101)
alphabet = [chr(c) for c in range(0x20, 0x7f)] + ["\t"]
high = [bytes([c]) for c in range(0x80, 0x100)]
tags = ["v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z"]
cases = [b"", b";", b"=;=;=", b"v=1", b"v=1;" * 200, b"b=" + b"A" * 100000,
         b"v=1; a=rsa-sha256; d=example.test; s=rsa; h=from; bh=!!!; b=!!!",
         b"v=1; a=rsa-sha256; d=; s=; h=; bh=; b=",
         b"v=1; a=rsa-sha256; d=example.test; s=rsa; h=from; bh=AAAA; b=AAAA; l=-5",
         b"v=1; a=rsa-sha256; d=example.test; s=rsa; h=from; bh=AAAA; b=AAAA; l=99999999999999999999999",
         b"v=1; a=rsa-sha256; d=example.test; s=rsa; h=from; bh=AAAA; b=AAAA; t=-1; x=abc",
         b"v=1; a=rsa-sha256; d=" + b"a." * 200 + b"test; s=rsa; h=from; bh=AAAA; b=AAAA",
         b"v=1; a=rsa-sha256; d=example..test; s=../rsa; h=from; bh=AAAA; b=AAAA",
         b"; ".join(b"x%d=%d" % (i, i) for i in range(100)),
         b"v=1; v=1; a=rsa-sha256"]
for i in range(60):
    parts = []
    for _ in range(rnd.randint(1, 12)):
        if rnd.random() < 0.6:
            parts.append(rnd.choice(tags) + "=" + "".join(
                rnd.choice(alphabet) for _ in range(rnd.randint(0, 40))))
        else:
            parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60))))
    v = ";".join(parts).encode()
    if rnd.random() < 0.3:
        v += b"".join(rnd.choice(high) for _ in range(rnd.randint(1, 20)))
    cases.append(v.replace(b"\n", b" "))
msg = open("msg.eml", "rb").read()
for i, v in enumerate(cases):
    # fold the long ones so that no line exceeds 998 bytes
    v = b"\n\t".join(v[j:j + 900] for j in range(0, len(v), 900)) if v else v
    open("garbage-%03d.eml" % i, "wb").write(b"DKIM-Signature: " + v + b"\n" + msg)
EOF

test_expect_success 'garbage DKIM-Signature values: invalid or fail, exit 1, never a crash' '
	for f in garbage-*.eml; do
		timeout 60 dkimverify -o kv "$f" >g.kv; st=$?
		[ $st = 1 ] || { echo "$f: exit $st"; exit 1; }
		s=$(kvget dkim_verify_status g.kv)
		case $s in invalid|fail) ;; *) echo "$f: status $s"; exit 1 ;; esac
	done
'

test_expect_success 'garbage DKIM-Signature values: -f passes every message through whole' '
	for f in garbage-*.eml; do
		timeout 60 dkimverify -f --authserv-id $ID "$f" >g.out || { echo "$f: exit $?"; exit 1; }
		forge strip --top 1 g.out | cmp - "$f" || { echo "$f: changed"; exit 1; }
	done
'

test_expect_success 'a NUL byte inside a DKIM-Signature: no crash' '
	{ printf "DKIM-Signature: v=1; a=rsa\000sha256; d=example.test\n"; cat msg.eml; } >nul.eml &&
	timeout 60 dkimverify -o kv nul.eml >nul.kv; st=$?
	[ $st = 1 ] || [ $st = 65 ]
'

# ---- output modes -----------------------------------------------------------------------

Q="'"
ODD_ID="o${Q}b\`touch\${IFS}pwned1\`\$HOME&|*{x}@example.test"
ODD_Z="From:x|Subject:\$(touch\${IFS}pwned2)${Q}\`touch\${IFS}pwned3\`${Q}\"x"
ODD_H="x-\$(touch-pwned4)${Q}\`id\`"
forge sign -k rsa.key -d example.test -s rsa -i "$ODD_ID" --tag "z=$ODD_Z" \
	-H "from:to:subject:$ODD_H" msg.eml >odd.eml

printf %s "$ODD_ID" >odd.id

test_expect_success 'kv output is eval-safe: odd i=, z= and h= come back exactly' '
	verify odd.eml && cp odd.eml.kv odd.kv &&
	got=$(sh -c "eval \"\$(cat odd.kv)\" && printf %s \"\$dkim_identity\"") &&
	[ "$got" = "$ODD_ID" ] &&
	got=$(sh -c "eval \"\$(cat odd.kv)\" && printf %s \"\$dkim_copiedheaders\"") &&
	[ "$got" = "$ODD_Z" ] &&
	got=$(sh -c "eval \"\$(cat odd.kv)\" && printf %s \"\$dkim_1_headernames\"") &&
	[ "$got" = "from:to:subject:$ODD_H" ] &&
	! ls pwned* 2>/dev/null
'

test_expect_success 'kv output: every line is name=quoted-value' '
	for f in pass.eml dual.eml body.eml msg.eml odd.eml toomany.eml; do
		dkimverify -o kv "$f" >k.out
		grep -v "^[a-z][a-z0-9_]*=${Q}" k.out && exit 1
		sh -n k.out || exit 1
	done; true
'

test_expect_success 'json output parses: one object per message, numbers as numbers' '
	for f in pass.eml dual.eml body.eml msg.eml odd.eml toomany.eml sha1.eml; do
		dkimverify -o json "$f"
	done >j.out
	"$PY" -c "import json,sys; [json.loads(l) for l in sys.stdin]" <j.out &&
	[ "$(count_lines j.out)" = 7 ] &&
	"$PY" - <<-\EOF
	import json
	objs = [json.loads(l) for l in open("j.out")]
	assert [o["status"] for o in objs] == ["pass", "pass", "fail", "none", "pass", "pass", "fail"], objs
	p = objs[0]["signatures"][0]
	assert p["dkim_verify_status"] == "pass" and p["dkim_verify_reason"] == ""
	assert p["dkim_domain"] == "example.test" and p["dkim_selector"] == "rsa"
	for k in ("dkim_key_length", "dkim_bodylength", "dkim_created", "dkim_expires"):
	    assert isinstance(p[k], int), (k, p[k])
	assert p["dkim_key_length"] == 2048 and p["dkim_bodylength"] == 9999999999999
	assert len(objs[1]["signatures"]) == 2
	assert objs[2]["signatures"][0]["dkim_verify_reason"] == "bodyhash_mismatch"
	assert objs[3]["dkim_signers"] == ""
	assert objs[4]["signatures"][0]["dkim_identity"] == open("odd.id").read(), objs[4]
	assert len(objs[5]["signatures"]) == 21
	assert objs[5]["signatures"][20]["dkim_verify_reason"] == "too_many"
	assert "message" not in objs[0]
	EOF
'
test_expect_success 'text output: one line per signature' '
	dkimverify pass.eml >t.out && [ "$(count_lines t.out)" = 1 ] &&
	grep -q "^pass d=example.test s=rsa a=rsa-sha256 i=@example.test bits=2048" t.out &&
	expect_status 1 dkimverify body.eml >t.out &&
	grep -q "^fail (bodyhash_mismatch) d=example.test s=rsa a=rsa-sha256" t.out &&
	dkimverify dual.eml >t.out && [ "$(count_lines t.out)" = 2 ] &&
	expect_status 2 dkimverify msg.eml >t.out && [ "$(cat t.out)" = none ]
'

# ---- filter mode --------------------------------------------------------------------------

test_expect_success '-f: one Authentication-Results field, then the message byte for byte' '
	dkimverify -f --authserv-id $ID pass.eml >out &&
	head -n 1 out | grep -q "^Authentication-Results: $ID;" &&
	forge strip --top 1 out | cmp - pass.eml &&
	ar=$(first_field out) &&
	echo "$ar" | grep -q "dkim=pass header.d=example.test header.s=rsa" &&
	echo "$ar" | grep -q "header.i=@example.test" &&
	echo "$ar" | grep -q "header.a=rsa-sha256" &&
	b8=$(forge tag b pass.eml | cut -c1-8) &&
	echo "$ar" | grep -qF "header.b=$b8"
'

test_expect_success '-f: dual signature, both results in the one field' '
	dkimverify -f --authserv-id $ID dual.eml >out &&
	[ "$(grep -c "^Authentication-Results:" out)" = 1 ] &&
	[ "$(first_field out | grep -o "dkim=pass" | wc -l)" = 2 ] &&
	forge strip --top 1 out | cmp - dual.eml
'

while read -r file word; do
	test_expect_success "-f: $file gives dkim=$word and exit 0" "
		dkimverify -f --authserv-id $ID $file >out &&
		first_field out | grep -q '^Authentication-Results: $ID; *dkim=$word' &&
		forge strip --top 1 out | cmp - $file
	"
done <<EOF
body.eml fail
header.eml fail
sha1.eml policy
short.eml policy
fromunsigned.eml policy
msg.eml none
EOF

test_expect_success '-f: a non-pass result names its reason' '
	dkimverify -f --authserv-id $ID body.eml >out &&
	first_field out | grep -q "reason=\"*bodyhash_mismatch"
'

test_expect_success '-f: CRLF message gets a CRLF field' '
	dkimsign -d example.test -s rsa -k rsa.key msg-crlf.eml >pc.eml &&
	dkimverify -f --authserv-id $ID pc.eml >out &&
	! grep -qv "$(printf "\r")\$" out &&
	first_field out | grep -q "dkim=pass" &&
	forge strip --top 1 out | cmp - pc.eml
'

test_expect_success '-f: default authserv-id is the host name' '
	dkimverify -f pass.eml >out &&
	head -n 1 out | grep -q "^Authentication-Results: $(hostname)"
'

# pass.eml with foreign and forged Authentication-Results fields below the signature
"$PY" - <<'EOF'
lines = open("pass.eml", "rb").read().split(b"\n")
# the signature field: the first line and its continuations
n = 1
while lines[n][:1] in (b" ", b"\t"):
    n += 1
sig, rest = lines[:n], lines[n:]
forged1 = [b"Authentication-Results: mx.test; dkim=pass header.d=paypal.example"]
foreign = [b"Authentication-Results: other.test; spf=pass smtp.mailfrom=example.test"]
forged2 = [b"Authentication-Results: (a comment) MX.TEST;", b"\tdkim=pass (forged too)"]
ar = sig + forged1 + rest[:2] + foreign + forged2 + rest[2:]
kept = sig + rest[:2] + foreign + rest[2:]
open("ar.eml", "wb").write(b"\n".join(ar))
open("ar-stripped.eml", "wb").write(b"\n".join(kept))
EOF

test_expect_success '--strip-authres removes only fields claiming our authserv-id' '
	dkimverify -f --strip-authres --authserv-id $ID ar.eml >out &&
	first_field out | grep -q "^Authentication-Results: $ID; *dkim=pass" &&
	forge strip --top 1 out | cmp - ar-stripped.eml
'

test_expect_success 'without --strip-authres every existing field stays' '
	dkimverify -f --authserv-id $ID ar.eml >out &&
	forge strip --top 1 out | cmp - ar.eml
'

# ---- offline zone files -----------------------------------------------------------------------

test_expect_success '--dns-zone answers without the network (resolver is a blackhole)' '
	timeout 60 dkimverify -o kv --dns-zone ex.zone $DOWN pass.eml >z.kv &&
	kv_expect z.kv dkim_verify_status pass &&
	timeout 60 dkimverify -o kv --dns-zone ex.zone $DOWN dual.eml >z.kv &&
	kv_expect z.kv dkim_verify_status pass:pass
'

test_expect_success '--dns-zone with an SOA: a name it lacks is pubkey_unavailable, not a timeout' '
	expect_status 1 timeout 60 dkimverify -o kv --dns-zone ex.zone $DOWN missing.eml >z.kv &&
	kv_expect z.kv dkim_verify_reason pubkey_unavailable &&
	expect_status 1 timeout 60 dkimverify -o kv --dns-zone ex.zone $DOWN revoked.eml >z.kv &&
	kv_expect z.kv dkim_verify_reason key_revoked
'

test_expect_success '--dns-zone repeated: two zones' '
	timeout 60 dkimverify -o kv --dns-zone ex.zone --dns-zone other.zone $DOWN twodom.eml >z.kv &&
	kv_expect z.kv dkim_verify_status pass:pass
'

test_expect_success 'MXKIT_DNS_ZONE (colon-separated) works like --dns-zone' '
	MXKIT_DNS_ZONE=ex.zone:other.zone timeout 60 dkimverify -o kv $DOWN twodom.eml >z.kv &&
	kv_expect z.kv dkim_verify_status pass:pass
'

test_expect_success 'MXKIT_RESOLVER picks the server when --resolver is absent' '
	(MXKIT_RESOLVER=$DNS_BLACKHOLE && export MXKIT_RESOLVER &&
	 expect_status 75 timeout 60 dkimverify --dns-timeout 200 pass.eml >/dev/null) &&
	dkimverify pass.eml >/dev/null
'

test_expect_success 'an unreadable --dns-zone file exits 66, a broken one 65' '
	expect_status 66 dkimverify --dns-zone no-such.zone pass.eml &&
	printf "this is ( not a zone\n" >bad.zone &&
	expect_status 65 dkimverify --dns-zone bad.zone pass.eml
'

test_done
