#!/bin/sh
# contrib/bench/dane-bench.sh: tlsa-probe against posttls-finger and
# ocsp-fetch against `openssl ocsp`, side by side on the same offline rig
# (t/rig/dane.sh: DNSSEC zones on NSD, a validating unbound, STARTTLS
# servers, an OCSP responder), in one run, printing the ratios.
#
#   BENCH_DANE_N=30   probes (and fetches) per tool
#
# posttls-finger only reads /etc/resolv.conf and only talks to port 25, so
# the script re-executes itself in new network and mount namespaces
# (unshare -n -m, as root): loopback only, a resolver on 127.0.0.1:53.
# Run from the top directory with MXKIT_BIN set (contrib/bench/run.sh does).
set -u
TOP=$(pwd)
[ -f "$TOP/contrib/bench/dane-bench.sh" ] ||
    { echo "dane-bench: run from the top directory" >&2; exit 64; }
: "${MXKIT_BIN:=$TOP/bin}"
N=${BENCH_DANE_N:-30}

if [ "${MXKIT_DANE_NETNS:-}" != 1 ]; then
	for p in tlsa-probe ocsp-fetch; do
		[ -x "$MXKIT_BIN/$p" ] ||
		    { echo "dane-bench: $MXKIT_BIN/$p missing" >&2; exit 69; }
	done
	unshare -n -m true 2>/dev/null ||
	    { echo "dane-bench: needs root for unshare -n -m" >&2; exit 69; }
	MXKIT_DANE_NETNS=1 MXKIT_BIN=$MXKIT_BIN exec unshare -n -m sh "$0" "$@"
fi
ip link set lo up || exit 69

# What the t/rig scripts expect of t/lib.sh.
TEST_SRC=$TOP/t
. "$TOP/contrib/bench/scratch.sh"
bench_scratch "${TMPDIR:-/tmp}" mxkit-bench
PATH=$MXKIT_BIN:$PATH
export TEST_SRC TEST_DIR PATH MXKIT_BIN
unset MXKIT_RESOLVER MXKIT_DNS_ZONE
. "$TOP/t/rig/dns.sh"
. "$TOP/t/rig/dnssec.sh"
. "$TOP/t/rig/pki.sh"
. "$TOP/t/rig/smtpd.sh"
. "$TOP/t/rig/dane.sh"

say() { printf 'dane-bench: %s\n' "$*" >&2; }
now() { date +%s.%N; }

dane_rig_up 25 2>rig.err || { cat rig.err >&2; exit 69; }
mkdir -p u53
_ub_conf v 53 "$TEST_DIR/u53" $_dnssec_zones >u53/unbound.conf
unbound -c u53/unbound.conf >u53/out 2>&1 </dev/null &
u53=$!
at_exit "proc_stop $u53"
_ub_ready "$u53" 53 || { say "unbound on :53 did not start"; exit 69; }
echo "nameserver 127.0.0.1" >resolv.conf
mount --bind "$TEST_DIR/resolv.conf" /etc/resolv.conf || exit 69

# runs N CMD...: seconds for N sequential runs of CMD (output discarded).
runs() {
	_n=$1
	shift
	_t0=$(now)
	_i=0
	while [ $_i -lt "$_n" ]; do
		"$@" >/dev/null 2>&1 </dev/null
		_i=$((_i + 1))
	done
	echo "$_t0 $(now)" | awk '{ printf "%.3f", $2 - $1 }'
}

# line WHAT OURS PEER PEERNAME: the table row with the ratio.
line() {
	echo "$2 $3" | awk -v w="$1" -v p="$4" -v n="$N" '{
	    printf "%-34s %8.1f ms  %-15s %8.1f ms  ratio %.2f\n", w,
	        1000 * $1 / n, p, 1000 * $2 / n, ($1 > 0 ? $2 / $1 : 0) }'
}

# A sanity check before timing: both must reach the verdict.
tlsa-probe --resolver 127.0.0.1:53 --dnssec-probe dane.test --timeout 5 \
    --host mx1.dane.test >check.tp 2>&1 ||
    { say "tlsa-probe did not pass:"; cat check.tp >&2; exit 70; }
posttls-finger -C -t 5 -T 5 -l dane-only -o dnssec_probe=ns:dane.test \
    "[mx1.dane.test]:25" >check.pf 2>&1
grep -q "Verified TLS connection" check.pf ||
    { say "posttls-finger did not verify:"; cat check.pf >&2; exit 70; }

say "$N DANE probes of mx1.dane.test (3 1 1) each"
tp=$(runs "$N" tlsa-probe --resolver 127.0.0.1:53 --dnssec-probe dane.test \
    --timeout 5 --host mx1.dane.test)
pf=$(runs "$N" posttls-finger -C -t 5 -T 5 -l dane-only \
    -o dnssec_probe=ns:dane.test "[mx1.dane.test]:25")

say "$N OCSP fetches of the mx2 certificate each"
K=$PKI_DIR
ocsp-fetch -c "$K/mx2.pem" -i "$K/int.pem" -O "$TEST_DIR/o.der" --force \
    --timeout 5 >check.of 2>&1 ||
    { say "ocsp-fetch failed:"; cat check.of >&2; exit 70; }
of=$(runs "$N" ocsp-fetch -c "$K/mx2.pem" -i "$K/int.pem" \
    -O "$TEST_DIR/o.der" --force --timeout 5)
# openssl ocsp with the same checks ocsp-fetch makes before writing.
os=$(runs "$N" openssl ocsp -issuer "$K/int.pem" -cert "$K/mx2.pem" \
    -url "$PKI_OCSP_URL" -CAfile "$K/root.pem" -no_nonce -timeout 5 \
    -respout "$TEST_DIR/o2.der")

echo "== DANE and OCSP (per run, mean of $N; ratio = peer / mxkit) =="
line "tlsa-probe --host (DNS+SMTP+TLS)" "$tp" "$pf" posttls-finger
line "ocsp-fetch --force (HTTP+verify)" "$of" "$os" "openssl ocsp"
