# t/rig/dane.sh: the DANE world of the tlsa-probe tests (t/0820, t/0821).
# Source it after t/lib.sh, t/rig/dns.sh, t/rig/dnssec.sh, t/rig/pki.sh and
# t/rig/smtpd.sh; call dane_rig_up at the top level of the script.
#
#   dane_rig_up [PORT]
#       Build the PKI ($TEST_DIR/pki), the zones, NSD, a validating and a
#       non-validating unbound, the OCSP responder and one STARTTLS server per
#       loopback address, all SMTP servers on the one port DANE_PORT (PORT or
#       a free one): the TLSA owner names are _DANE_PORT._tcp.HOST.
#       Returns non-zero (reasons on stderr) when a piece did not come up.
#       Sets DANE_HAVE_V6=1 when ::1 is usable (v6.dane.test has an AAAA).
#
# Zones (dane.test and child.dane.test signed, chained; plain.test unsigned;
# bogus.test signed with expired signatures), hosts and expected verdicts:
#   mx1.dane.test      127.0.0.2   3 1 1 mx1 key                  pass
#   mx2.dane.test      127.0.0.3   2 1 1 int key (name ok)        pass, OCSP good
#   both.dane.test     127.0.0.3   2 1 1 int + 3 1 1 mx2          pass, usage 12
#   tawrong.dane.test  127.0.0.4   2 1 1 int, leaf for other name fail
#   digest.dane.test   127.0.0.2   3 1 1 wrong digest             fail
#   old.dane.test      127.0.0.6   3 1 1 of an expired leaf       pass
#   roll.dane.test     127.0.0.7   3 1 1 cur + 3 1 1 next (served) pass
#   pkix.dane.test     127.0.0.2   1 1 1 + 0 1 1 only             none (unusable)
#   nota.dane.test     127.0.0.2   no TLSA                        none
#   notls.dane.test    127.0.0.8   3 1 1, no STARTTLS             nostarttls
#   refuse.dane.test   127.0.0.9   3 1 1, STARTTLS answered 454   nostarttls
#   v6.dane.test       127.0.0.10 (+ ::1)  3 1 1 mx1              pass
#   down.dane.test     127.0.0.11  3 1 1, nobody listens          unreachable
#   bt.dane.test       127.0.0.2   TLSA name CNAME into bogus.test temperror
#   mx.child.dane.test 127.0.0.12  2 1 1 int, leaf names only it  pass
#   alias.dane.test    CNAME mx.child.dane.test (TLSA at the target)
#   mx3.child.dane.test 127.0.0.12 TLSA RRset via CNAME -> tlsa-shared.dane.test
#   mx.plain.test      127.0.0.13  3 1 1 (insecure zone)          none
#   ogood/orev/onone.plain.test 127.0.0.14/15/16: no DANE, staple good /
#                      revoked / none
#   mx.bogus.test      127.0.0.2   3 1 1 (bogus)                  temperror
# Domains: good.dane.test (MX 10 mx1, 20 mx2: 0), multi.dane.test (MX 10 mx1,
# 20 tawrong, 30 down, 40 notls: 1), cn.dane.test (MX 10 alias), cn3.dane.test
# (MX 10 mx3.child), nullmx.dane.test (MX 0 .), nomx: mx1.dane.test itself,
# insec.plain.test (MX 10 mx.plain.test), insmx.plain.test (insecure MX 10
# mx1.dane.test: DANE still applies, as Postfix does it), bogus.test (MX 10
# mx.bogus.test).

# dane_311 CERT: the SHA-256 of CERT's SubjectPublicKeyInfo (lower-case hex).
dane_311() {
	openssl x509 -in "$1" -noout -pubkey |
	    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r |
	    cut -d' ' -f1
}

# dane_ocsp_der CERT OUT: a DER OCSP response about CERT from the responder.
dane_ocsp_der() {
	timeout 10 openssl ocsp -issuer "$PKI_DIR/int.pem" -cert "$1" \
	    -url "$PKI_OCSP_URL" -CAfile "$PKI_DIR/root.pem" -no_nonce \
	    -timeout 5 -respout "$2" >"$2.txt" 2>&1
}

_dane_fail() {
	echo "dane_rig_up: $*" >&2
	return 1
}

dane_rig_up() {
	DANE_PORT=${1:-$(free_port)}
	P=$DANE_PORT
	export DANE_PORT
	pki_make "$TEST_DIR/pki" || _dane_fail "pki_make" || return 1
	K=$PKI_DIR
	pki_leaf mx1 "DNS:mx1.dane.test" &&
	    pki_leaf mx2 "DNS:mx2.dane.test,DNS:both.dane.test" &&
	    pki_leaf wrongname "DNS:elsewhere.example.test" &&
	    pki_leaf old "DNS:old.dane.test" ec expired &&
	    pki_leaf next "DNS:roll.dane.test" &&
	    pki_leaf cur "DNS:roll.dane.test" &&
	    pki_leaf child "DNS:mx.child.dane.test,DNS:mx3.child.dane.test" &&
	    pki_leaf ogood "DNS:ogood.plain.test" &&
	    pki_leaf orev "DNS:orev.plain.test" &&
	    pki_leaf onone "DNS:onone.plain.test" &&
	    pki_revoke orev || _dane_fail "pki_leaf" || return 1
	pki_ocsp_start good || return 1
	for c in mx2 ogood orev child; do
		dane_ocsp_der "$K/$c.pem" "$K/$c.ocsp.der" ||
		    _dane_fail "OCSP response for $c" || return 1
	done
	grep -q ': good' "$K/ogood.ocsp.der.txt" &&
	    grep -q ': revoked' "$K/orev.ocsp.der.txt" ||
	    _dane_fail "OCSP statuses" || return 1

	H_mx1=$(dane_311 "$K/mx1.pem")
	H_mx2=$(dane_311 "$K/mx2.pem")
	H_int=$(dane_311 "$K/int.pem")
	H_old=$(dane_311 "$K/old.pem")
	H_cur=$(dane_311 "$K/cur.pem")
	H_next=$(dane_311 "$K/next.pem")
	H_child=$(dane_311 "$K/child.pem")
	H_bad=$(printf '%064d' 0)
	export H_mx1 H_mx2 H_int H_old H_cur H_next H_child H_bad

	DANE_HAVE_V6=0
	/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	    2>/dev/null && DANE_HAVE_V6=1
	export DANE_HAVE_V6

	Z=$TEST_DIR/zones
	mkdir -p "$Z"
	dns_zone_begin bogus.test "$Z/bogus.zone"
	cat >>"$Z/bogus.zone" <<EOF
@	IN MX 10 mx
mx	IN A 127.0.0.2
_$P._tcp.mx	IN TLSA 3 1 1 $H_mx1
x	IN TLSA 3 1 1 $H_mx1
EOF
	dnssec_sign_zone_bogus bogus.test "$Z/bogus.zone" || return 1

	dns_zone_begin plain.test "$Z/plain.zone"
	cat >>"$Z/plain.zone" <<EOF
insec	IN MX 10 mx
insmx	IN MX 10 mx1.dane.test.
mx	IN A 127.0.0.13
_$P._tcp.mx	IN TLSA 3 1 1 $H_mx1
ogood	IN A 127.0.0.14
orev	IN A 127.0.0.15
onone	IN A 127.0.0.16
EOF

	dns_zone_begin child.dane.test "$Z/child.zone"
	cat >>"$Z/child.zone" <<EOF
mx	IN A 127.0.0.12
_$P._tcp.mx	IN TLSA 2 1 1 $H_int
mx3	IN A 127.0.0.12
_$P._tcp.mx3	IN CNAME tlsa-shared.dane.test.
EOF
	dnssec_sign_zone --no-anchor child.dane.test "$Z/child.zone" || return 1

	dns_zone_begin dane.test "$Z/dane.zone"
	cat >>"$Z/dane.zone" <<EOF
child	IN NS ns.dane.test.
ns	IN A 127.0.0.1
mx1	IN A 127.0.0.2
_$P._tcp.mx1	IN TLSA 3 1 1 $H_mx1
mx2	IN A 127.0.0.3
_$P._tcp.mx2	IN TLSA 2 1 1 $H_int
both	IN A 127.0.0.3
_$P._tcp.both	IN TLSA 2 1 1 $H_int
_$P._tcp.both	IN TLSA 3 1 1 $H_mx2
tawrong	IN A 127.0.0.4
_$P._tcp.tawrong	IN TLSA 2 1 1 $H_int
digest	IN A 127.0.0.2
_$P._tcp.digest	IN TLSA 3 1 1 $H_bad
old	IN A 127.0.0.6
_$P._tcp.old	IN TLSA 3 1 1 $H_old
roll	IN A 127.0.0.7
_$P._tcp.roll	IN TLSA 3 1 1 $H_cur
_$P._tcp.roll	IN TLSA 3 1 1 $H_next
pkix	IN A 127.0.0.2
_$P._tcp.pkix	IN TLSA 1 1 1 $H_mx1
_$P._tcp.pkix	IN TLSA 0 1 1 $H_int
nota	IN A 127.0.0.2
notls	IN A 127.0.0.8
_$P._tcp.notls	IN TLSA 3 1 1 $H_mx1
refuse	IN A 127.0.0.9
_$P._tcp.refuse	IN TLSA 3 1 1 $H_mx1
v6	IN A 127.0.0.10
_$P._tcp.v6	IN TLSA 3 1 1 $H_mx1
down	IN A 127.0.0.11
_$P._tcp.down	IN TLSA 3 1 1 $H_mx1
bt	IN A 127.0.0.2
_$P._tcp.bt	IN CNAME x.bogus.test.
alias	IN CNAME mx.child.dane.test.
tlsa-shared	IN TLSA 3 1 1 $H_child
good	IN MX 10 mx1
good	IN MX 20 mx2
multi	IN MX 10 mx1
multi	IN MX 20 tawrong
multi	IN MX 30 down
multi	IN MX 40 notls
cn	IN MX 10 alias
cn3	IN MX 10 mx3.child
nullmx	IN MX 0 .
EOF
	[ "$DANE_HAVE_V6" = 1 ] && echo 'v6	IN AAAA ::1' >>"$Z/dane.zone"
	cat "$Z/child.zone.ds" >>"$Z/dane.zone"
	dnssec_sign_zone dane.test "$Z/dane.zone" || return 1

	dnssec_rig_start dane.test="$Z/dane.zone.signed" \
	    child.dane.test="$Z/child.zone.signed" plain.test="$Z/plain.zone" \
	    bogus.test="$Z/bogus.zone.signed" || return 1
	unbound_start || return 1
	unbound_start_nonvalidating || return 1

	# The servers; -timeout: they outlive any run of the scripts.
	_ds() {
		_dn=$1 _da=$2
		shift 2
		smtpd_start "$_dn" --listen "$_da:$P" --timeout 300 "$@" ||
		    _dane_fail "smtpd $_dn on $_da:$P"
	}
	_ds mx1 127.0.0.2 --cert "$K/mx1.chain.pem" --key "$K/mx1.key" \
	    --name mx1.dane.test &&
	    _ds mx2 127.0.0.3 --cert "$K/mx2.chain.pem" --key "$K/mx2.key" \
	    --ocsp-der "$K/mx2.ocsp.der" --name mx2.dane.test &&
	    _ds tawrong 127.0.0.4 --cert "$K/wrongname.chain.pem" \
	    --key "$K/wrongname.key" &&
	    _ds old 127.0.0.6 --cert "$K/old.chain.pem" --key "$K/old.key" &&
	    _ds roll 127.0.0.7 --cert "$K/next.chain.pem" --key "$K/next.key" &&
	    _ds notls 127.0.0.8 --cert "$K/mx1.chain.pem" --key "$K/mx1.key" \
	    --no-starttls &&
	    _ds refuse 127.0.0.9 --cert "$K/mx1.chain.pem" --key "$K/mx1.key" \
	    --refuse-starttls &&
	    _ds child 127.0.0.12 --cert "$K/child.chain.pem" \
	    --key "$K/child.key" --ocsp-der "$K/child.ocsp.der" &&
	    _ds plain 127.0.0.13 --cert "$K/mx1.chain.pem" --key "$K/mx1.key" &&
	    _ds ogood 127.0.0.14 --cert "$K/ogood.chain.pem" \
	    --key "$K/ogood.key" --ocsp-der "$K/ogood.ocsp.der" &&
	    _ds orev 127.0.0.15 --cert "$K/orev.chain.pem" \
	    --key "$K/orev.key" --ocsp-der "$K/orev.ocsp.der" &&
	    _ds onone 127.0.0.16 --cert "$K/onone.chain.pem" \
	    --key "$K/onone.key" || return 1
	if [ "$DANE_HAVE_V6" = 1 ]; then
		smtpd_start v6 --listen "127.0.0.10:$P" --listen "[::1]:$P" \
		    --timeout 300 --cert "$K/mx1.chain.pem" --key "$K/mx1.key" ||
		    _dane_fail "smtpd v6" || return 1
	else
		_ds v6 127.0.0.10 --cert "$K/mx1.chain.pem" \
		    --key "$K/mx1.key" || return 1
	fi
	return 0
}

# dane_rc_is NAME N: the run whose output is NAME.json, NAME.err and whose
# exit status is in NAME.rc exited N; says what it printed otherwise.
dane_rc_is() {
	[ "$(cat "$1.rc")" = "$2" ] && return 0
	echo "$1: expected exit $2, got $(cat "$1.rc")" >&2
	sed 's/^/  err: /' "$1.err" >&2
	sed 's/^/  out: /' "$1.json" >&2
	return 1
}

# dane_want NAME "KEY..." ROW...: the rows of NAME.json (dane_jrows,
# sorted) are ROW...; shows both when not.
dane_want() {
	_dw_n=$1 _dw_k=$2
	shift 2
	_dw_got=$(dane_jrows "$_dw_n.json" $_dw_k) || return 1
	_dw_exp=$(printf '%s\n' "$@" | sort)
	[ "$_dw_got" = "$_dw_exp" ] && return 0
	echo "$_dw_n: keys $_dw_k" >&2
	echo "expected:" >&2
	printf '%s\n' "$_dw_exp" | sed 's/^/  /' >&2
	echo "got:" >&2
	printf '%s\n' "$_dw_got" | sed 's/^/  /' >&2
	sed 's/^/  err: /' "$_dw_n.err" >&2
	return 1
}

# dane_jrows FILE KEY...: for each JSON object (one a line) in FILE, the
# values of KEY... separated by "|" (lists joined by ","; a missing key
# prints <missing>), the lines sorted.  Invalid JSON fails.
dane_jrows() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
f, keys = sys.argv[1], sys.argv[2:]
rows = []
for n, line in enumerate(open(f), 1):
    if not line.strip():
        continue
    try:
        o = json.loads(line)
    except ValueError as e:
        sys.exit("%s:%d: not JSON: %s" % (f, n, e))
    if not isinstance(o, dict):
        sys.exit("%s:%d: not an object" % (f, n))
    vals = []
    for k in keys:
        v = o.get(k, "<missing>")
        if isinstance(v, list):
            v = ",".join(str(x) for x in v)
        vals.append(str(v))
    rows.append("|".join(vals))
print("\n".join(sorted(rows)))
PY
}

# dane_jkeys FILE KEY...: every object in FILE has every KEY.
dane_jkeys() {
	/usr/bin/python3 - "$@" <<'PY'
import json, sys
f, keys = sys.argv[1], sys.argv[2:]
bad = 0
n = 0
for line in open(f):
    if not line.strip():
        continue
    n += 1
    o = json.loads(line)
    miss = [k for k in keys if k not in o]
    if miss:
        print("object %d lacks: %s" % (n, " ".join(miss)), file=sys.stderr)
        bad = 1
sys.exit(bad if n else 1)
PY
}
