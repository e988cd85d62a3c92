#!/bin/sh
# tlsa-probe against two independent DANE implementations on the rig of
# t/rig/dane.sh: ldns-dane (ldns; given the chain each server really sends,
# captured with openssl s_client -starttls smtp, since it cannot STARTTLS)
# and posttls-finger (Postfix's DANE, the reference RFC 7672 client).  Both
# can only use a resolver on port 53 (ldns-dane -r takes no port;
# posttls-finger reads /etc/resolv.conf), so the whole script runs in its
# own network and mount namespaces (unshare -n -m, as root): loopback only,
# every server on port 25, a validating unbound on 127.0.0.1:53 and a
# resolv.conf naming it bind-mounted over /etc/resolv.conf.  Nothing outside
# the namespaces is touched.  Every verdict of each peer must agree with
# tlsa-probe's (and with the one the rig was built for) where the peer
# answers at all.
#
# MXKIT_DANE_PEERS_ONLY=1 runs the peers against the expected verdicts even
# when tlsa-probe is not built (proving the rig and the peers' parsing).
if [ "${MXKIT_DANE_NETNS:-}" != 1 ]; then
	_why=
	if [ "$(id -u)" != 0 ]; then
		_why="needs root (unshare -n -m)"
	elif ! command -v unshare >/dev/null 2>&1; then
		_why="no unshare"
	elif ! unshare -n -m true 2>/dev/null; then
		_why="unshare -n -m not permitted"
	fi
	if [ -n "$_why" ]; then
		echo "1..0 # SKIP $_why"
		exit 0
	fi
	MXKIT_DANE_NETNS=1 exec unshare -n -m sh "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"
. "$TEST_SRC/rig/dnssec.sh"
. "$TEST_SRC/rig/pki.sh"
. "$TEST_SRC/rig/smtpd.sh"
. "$TEST_SRC/rig/dane.sh"

have_probe=0
[ "$(command -v tlsa-probe)" = "$MXKIT_BIN/tlsa-probe" ] && have_probe=1
[ $have_probe = 1 ] || [ "${MXKIT_DANE_PEERS_ONLY:-0}" = 1 ] ||
    skip_all "tlsa-probe not built"
for _bin in nsd unbound ldns-keygen ldns-signzone dig openssl ldns-dane \
    posttls-finger ip mount; do
	command -v "$_bin" >/dev/null 2>&1 ||
	    [ -x "/usr/sbin/$_bin" ] || skip_all "$_bin is not installed"
done
/usr/bin/python3 -c 'import OpenSSL' 2>/dev/null ||
    skip_all "python3-openssl is not installed"
ip link set lo up 2>/dev/null || skip_all "cannot bring lo up in the namespace"

dane_rig_up 25 2>rig.err
rigrc=$?

# The peers' resolver: a validating unbound on 127.0.0.1:53 (the rig's
# configuration with another port), and resolv.conf naming it.
U53=$TEST_DIR/unbound53
mkdir -p "$U53"
u53rc=1
if [ $rigrc = 0 ]; then
	_ub_conf v 53 "$U53" $_dnssec_zones >"$U53/unbound.conf"
	unbound -c "$U53/unbound.conf" >"$U53/unbound.out" 2>&1 </dev/null &
	u53pid=$!
	at_exit "proc_stop $u53pid"
	_ub_ready "$u53pid" 53 && u53rc=0
	echo "nameserver 127.0.0.1" >"$TEST_DIR/resolv.conf"
	mount --bind "$TEST_DIR/resolv.conf" /etc/resolv.conf || u53rc=1
fi

test_expect_success 'the rig comes up in the namespace, a resolver on :53' '
	cat rig.err "$U53/unbound.out" && [ $rigrc = 0 ] && [ $u53rc = 0 ] &&
	[ "$(cat /etc/resolv.conf)" = "nameserver 127.0.0.1" ] &&
	dig +dnssec +time=2 +tries=1 _25._tcp.mx1.dane.test TLSA >d.out &&
	grep -q "flags: qr rd ra ad" d.out
'

# tp_verdict NAME ARGS...: tlsa-probe's tlsa_result (one address), or "-".
tp_verdict() {
	_n=$1
	shift
	[ $have_probe = 1 ] || { echo -; return 0; }
	timeout 60 tlsa-probe --resolver 127.0.0.1:53 --dnssec-probe dane.test \
	    --timeout 5 -o json "$@" >"$_n.tp.json" 2>"$_n.tp.err"
	dane_jrows "$_n.tp.json" tlsa_result | sort -u | tr '\n' ' ' |
	    sed 's/ $//'
}

# chain NAME ADDR SNI: the chain the server at ADDR:25 sends, in NAME.pem.
chain() {
	case $2 in *:*) _c="[$2]:25" ;; *) _c=$2:25 ;; esac
	timeout 10 openssl s_client -starttls smtp -connect "$_c" \
	    -servername "$3" -showcerts </dev/null 2>/dev/null |
	    sed -n '/BEGIN CERT/,/END CERT/p' >"$1.pem"
	[ -s "$1.pem" ]
}

# ld_verdict NAME TLSA-BASE [-n]: ldns-dane's verdict on NAME.pem.
#   pass: "dane-validated successfully"; fail: "did not dane-validate";
#   none: no (secure, usable) TLSA; temperror: bogus.
ld_verdict() {
	timeout 20 ldns-dane ${3:+"$3"} -r 127.0.0.1 -c "$1.pem" \
	    verify "$2" 25 >"$1.ld" 2>&1
	echo "ldns-dane exit $?" >>"$1.ld"
	if grep -q "bogus" "$1.ld"; then
		echo temperror
	elif grep -q "No usable TLSA records" "$1.ld"; then
		echo none
	elif grep -q "dane-validated successfully" "$1.ld"; then
		echo pass
	elif grep -q "did not dane-validate" "$1.ld"; then
		echo fail
	else
		echo "?"
	fi
}

# pf_verdict NAME DEST [OPTION...]: posttls-finger's verdict (it exits 0
# whatever happens: its log decides), -l dane-only, the SMTP chat shown.
pf_verdict() {
	_n=$1 _d=$2
	shift 2
	timeout 40 posttls-finger -C -t 5 -T 5 -l dane-only -P /etc/ssl/certs \
	    -o dnssec_probe=ns:dane.test "$@" "$_d" >"$_n.pf" 2>&1
	_f=$_n.pf
	if grep -q "does not accept mail (nullMX)" "$_f"; then
		echo nullmx
	elif grep -q "TLSA lookup error\|try again" "$_f"; then
		echo temperror
	elif grep -q "Connection refused\|Failed to establish session" "$_f"; then
		echo unreachable
	elif grep -q "STARTTLS rejected" "$_f"; then
		echo nostarttls
	elif grep -q "Connected to" "$_f" && ! grep -q "> STARTTLS" "$_f"; then
		echo nostarttls
	elif grep -q "no TLSA records found\|no usable TLSA records found" "$_f"; then
		echo none
	elif grep -q "Verified TLS connection" "$_f" &&
	    grep -q "Matched DANE" "$_f"; then
		echo pass
	elif grep -q "MX RRset insecure: log verified as trusted" "$_f" &&
	    grep -q "Trusted TLS connection" "$_f" &&
	    grep -q "Matched DANE" "$_f"; then
		echo pass	# DANE matched; Postfix only logs it as Trusted
	elif grep -q "Untrusted TLS connection\|verification failed" "$_f"; then
		echo fail
	else
		echo "?"
	fi
}

# agree LABEL EXPECTED TP LD PF: every answer ("-": none) is EXPECTED.
agree() {
	echo "$1: expected $2; tlsa-probe $3; ldns-dane $4; posttls-finger $5"
	for _v in "$3" "$4" "$5"; do
		[ "$_v" = - ] || [ "$_v" = "$2" ] || return 1
	done
}

# case LABEL EXPECTED "TLSA-PROBE ARGS" LD-ADDR LD-BASE LD-OPT PF-DEST [PF-OPT...]
#   LD-ADDR "-": ldns-dane cannot answer (no TLS to take a chain from).
#   LD-OPT -n for RRsets of DANE-EE records only (RFC 7672 3.1.1: no name
#   checks; ldns-dane checks names unless told -n).  "" otherwise.
dane_case() {
	_l=$1 _e=$2 _a=$3 _la=$4 _lb=$5 _lo=$6 _pd=$7
	shift 7
	_tp=$(tp_verdict "$_l" $(echo "$_a" | tr , " "))
	_ld=-
	if [ "$_la" != - ]; then
		chain "$_l" "$_la" "$_lb" || { echo "no chain from $_la"; return 1; }
		_ld=$(ld_verdict "$_l" "$_lb" $_lo)
	fi
	_pf=$(pf_verdict "$_l" "$_pd" "$@")
	agree "$_l" "$_e" "$_tp" "$_ld" "$_pf" && return 0
	for _f in "$_l.tp.json" "$_l.tp.err" "$_l.ld" "$_l.pf"; do
		[ -s "$_f" ] && sed "s|^|  $_f: |" "$_f"
	done
	return 1
}

# label expected tlsa-probe-args ldns-addr ldns-base ldns-opt ptf-dest [ptf-opts]
while read -r l e a la lb lo pd po; do
	case $l in '' | '#'*) continue ;; esac
	[ "$lo" = . ] && lo=
	[ "$po" = . ] && po=
	po=$(echo "$po" | tr , " ")
	if [ "$DANE_HAVE_V6" != 1 ] && [ "$l" = v6-6 ]; then
		test_skip "$l: all agree on $e" "::1 unusable"
		continue
	fi
	test_expect_success "$l: all agree on $e" "
		dane_case '$l' '$e' '$a' '$la' '$lb' '$lo' '$pd' $po
	"
done <<EOF
ee-311     pass        --host,mx1.dane.test           127.0.0.2  mx1.dane.test     -n  [mx1.dane.test]:25
ta-211     pass        --host,mx2.dane.test           127.0.0.3  mx2.dane.test     .   [mx2.dane.test]:25
ta+ee      pass        --host,both.dane.test          127.0.0.3  both.dane.test    .   [both.dane.test]:25
ta-name    fail        --host,tawrong.dane.test       127.0.0.4  tawrong.dane.test .   [tawrong.dane.test]:25
ee-digest  fail        --host,digest.dane.test        127.0.0.2  digest.dane.test  -n  [digest.dane.test]:25
ee-expired pass        --host,old.dane.test           127.0.0.6  old.dane.test     -n  [old.dane.test]:25
rollover   pass        --host,roll.dane.test          127.0.0.7  roll.dane.test    -n  [roll.dane.test]:25
no-tlsa    none        --host,nota.dane.test          127.0.0.2  nota.dane.test    .   [nota.dane.test]:25
no-tls     nostarttls  --host,notls.dane.test         -          -                 .   [notls.dane.test]:25
tls-454    nostarttls  --host,refuse.dane.test        -          -                 .   [refuse.dane.test]:25
down       unreachable --host,down.dane.test          -          -                 .   [down.dane.test]:25
v6-4       pass        -4,--host,v6.dane.test         127.0.0.10 v6.dane.test      -n  [v6.dane.test]:25 -o,inet_protocols=ipv4
v6-6       pass        -6,--host,v6.dane.test         ::1        v6.dane.test      -n  [v6.dane.test]:25 -o,inet_protocols=ipv6
cname-host pass        --host,alias.dane.test         127.0.0.12 mx.child.dane.test .  [alias.dane.test]:25
cname-mx   pass        cn.dane.test                   127.0.0.12 mx.child.dane.test .  cn.dane.test:25
cname-tlsa pass        --host,mx3.child.dane.test     127.0.0.12 mx3.child.dane.test -n [mx3.child.dane.test]:25
insecure   none        --host,mx.plain.test           127.0.0.13 mx.plain.test     .   [mx.plain.test]:25
insec-mx   none        insec.plain.test               127.0.0.13 mx.plain.test     .   insec.plain.test:25
insmx-sec  pass        insmx.plain.test               127.0.0.2  mx1.dane.test     -n  insmx.plain.test:25
bogus-tlsa temperror   --host,bt.dane.test            127.0.0.2  bt.dane.test      .   [bt.dane.test]:25
bogus-host temperror   --host,mx.bogus.test           127.0.0.2  mx.bogus.test     .   [mx.bogus.test]:25
null-mx    nullmx      nullmx.dane.test               -          -                 .   nullmx.dane.test:25
no-dane    none        --host,ogood.plain.test        127.0.0.14 ogood.plain.test  .   [ogood.plain.test]:25
EOF

# RFC 7672 3.1.3 vs RFC 6698: only PKIX-TA/PKIX-EE records.  posttls-finger
# and tlsa-probe call them unusable (no DANE); ldns-dane applies them with
# PKIX (our root is in no trust store: "unable to get local issuer").
test_expect_success 'pkix-only: tlsa-probe and posttls-finger: none (ldns-dane: PKIX)' '
	tp=$(tp_verdict pkix --host pkix.dane.test) &&
	pf=$(pf_verdict pkix "[pkix.dane.test]:25") &&
	grep -q "unsupported TLSA certificate usage" pkix.pf &&
	chain pkix 127.0.0.2 pkix.dane.test &&
	ld=$(ld_verdict pkix pkix.dane.test) &&
	grep -q "unable to get local issuer" pkix.ld &&
	agree pkix-only none "$tp" - "$pf"
'

test_done
