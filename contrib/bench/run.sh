#!/bin/sh
# contrib/bench/run.sh: `make bench`, dkimverify and dkimsign against peers.
# Run from the top directory with MXKIT_BIN set (make bench does both).
#
#   BENCH_N=2200   messages in the generated archive (>= 2000)
#   BENCH_BIG=1    also measure dkimverify's memory on a ~1 GB mbox (0: skip)
#   BENCH_BIG_MB=1000  size of that archive in MB
#   BENCH_PERPROC=200  messages for the one-process-per-message comparison
#   BENCH_PEERS="dkimpy maildkim mailauth"  peers of the verify run
#   BENCH_SPF=1        the SPF part when bin/spfcheck exists (0: skip):
#                      contrib/bench/spf-bench.sh, BENCH_SPF_N=10000 queries
#                      over BENCH_SPF_DOMAINS=200 domains, spfcheck --batch
#                      vs pyspf vs libspf2's spfquery -file
#   BENCH_DANE=1       tlsa-probe vs posttls-finger, ocsp-fetch vs openssl
#                      ocsp (contrib/bench/dane-bench.sh; 0: skip)
#   BENCH_SMTP=1       smtpfront (without and with hooks) vs Exim receiving
#                      smtp-source's load into a maildir: messages/s, p99
#                      latency (contrib/bench/smtp-bench.sh, BENCH_SMTP_N=5000
#                      messages over BENCH_SMTP_SESSIONS=20; 0: skip)
#   BENCH_SOCKS=1      socks5-send vs curl (one-message submissions) and
#                      vs OpenBSD nc (a 200 MB tunnel) through microsocks
#                      (contrib/bench/socks5-bench.sh, BENCH_SOCKS_N=300;
#                      0: skip)
#
# Everything is cached or written under bench-out/: the generated archive
# (contrib/bench/genmbox.py, deterministic), the RSA-2048 key, the signed
# archive, the 1 GB archive, the logs and results.txt (the final table).
# The key is served by nsd on loopback through t/rig/dns.sh; the tools that
# can only use /etc/resolv.conf (opendkim-testmsg, dkimpy's command line) run
# under t/peers/netns-dns.sh.  Peers get an in-process cache of key lookups,
# as dkimverify has, so the comparison is of the DKIM engines.
set -u

TOP=$(pwd)
[ -f "$TOP/contrib/bench/run.sh" ] || { echo "bench: run from the top directory" >&2; exit 64; }
: "${MXKIT_BIN:=$TOP/bin}"
OUT=$TOP/bench-out
N=${BENCH_N:-2200}
BIG=${BENCH_BIG:-1}
BIG_MB=${BENCH_BIG_MB:-1000}
NPP=${BENCH_PERPROC:-200}
PEERS=${BENCH_PEERS:-dkimpy maildkim mailauth}
NPROC=$(nproc 2>/dev/null || echo 1)
PY=/usr/bin/python3
DOM=bench.example
SEL=bench
for p in dkimsign dkimverify; do
	[ -x "$MXKIT_BIN/$p" ] || { echo "bench: $MXKIT_BIN/$p missing (make)" >&2; exit 69; }
done
command -v nsd >/dev/null 2>&1 || { echo "bench: nsd missing (make deps-bench)" >&2; exit 69; }
mkdir -p "$OUT" || exit 73

. "$TOP/contrib/bench/scratch.sh"
bench_scratch "$OUT" run
cd "$TOP" || exit 73	# the benches below run from the top directory
. "$TOP/t/rig/dns.sh"

now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{printf "%.3f", $2 - $1}'; }
say() { printf 'bench: %s\n' "$*" >&2; }
filesize() { wc -c <"$1" | tr -d ' '; }

RES=$OUT/results.raw
: >"$RES"
record() { echo "$*" >>"$RES"; }	# record KEY VALUE...

# ---- corpus (cached; regenerated when the generator or N changes) ----
gensum=$(sha256sum <"$TOP/contrib/bench/genmbox.py" | cut -c1-16)-$N
if [ ! -s "$OUT/corpus.mbox" ] || [ "$(cat "$OUT/corpus.id" 2>/dev/null)" != "$gensum" ]; then
	say "generating $N messages (contrib/bench/genmbox.py)"
	$PY "$TOP/contrib/bench/genmbox.py" -n "$N" >"$OUT/corpus.mbox.tmp" &&
		mv "$OUT/corpus.mbox.tmp" "$OUT/corpus.mbox" &&
		echo "$gensum" >"$OUT/corpus.id" || exit 70
	rm -f "$OUT/signed.mbox" "$OUT/big.mbox"
fi

# ---- key (cached) ----
if [ ! -s "$OUT/bench.key" ] || [ ! -s "$OUT/bench.rec" ]; then
	rm -f "$OUT/bench.key"
	"$MXKIT_BIN/dkimsign" --keygen rsa --bits 2048 -d $DOM -s $SEL -k "$OUT/bench.key" \
		>"$OUT/bench.rec" || exit 70
	rm -f "$OUT/signed.mbox" "$OUT/big.mbox"
fi
dns_zone_begin $DOM "$TEST_DIR/$DOM.zone"
cat "$OUT/bench.rec" >>"$TEST_DIR/$DOM.zone"
dns_rig_start "$DOM=$TEST_DIR/$DOM.zone" || exit 69
PORT=$DNS_RIG_PORT
say "key served by nsd on 127.0.0.1:$PORT"

# ---- sign: dkimsign --mbox, and the RSA/SHA-256 floor ----
say "signing with dkimsign --mbox"
t0=$(now)
"$MXKIT_BIN/dkimsign" --mbox -d $DOM -s $SEL -k "$OUT/bench.key" "$OUT/corpus.mbox" \
	>"$OUT/signed.mbox.tmp" 2>"$OUT/sign.log" || { cat "$OUT/sign.log" >&2; exit 70; }
t1=$(now)
mv "$OUT/signed.mbox.tmp" "$OUT/signed.mbox"
record sign "$(elapsed "$t0" "$t1")" "$(filesize "$OUT/corpus.mbox")"
nsigned=$(grep -c '^DKIM-Signature:' "$OUT/signed.mbox")
record signed "$nsigned"

say "openssl speed (rsa2048 sign, sha256), 2 s each"
rsa=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6, $7; exit}')
sha=$(openssl speed -seconds 2 -bytes 16384 sha256 2>/dev/null | awk '/^sha256/ {v=$NF} END {sub(/k$/, "", v); print v}')
record openssl "${rsa:-0 0}" "${sha:-0}"

SIZE=$(filesize "$OUT/signed.mbox")

# ---- verify the signed archive: dkimverify -j1, -jN, and the peers ----
verify_ours() {	# verify_ours JOBS
	say "dkimverify --mbox -j $1"
	t0=$(now)
	"$MXKIT_BIN/dkimverify" --mbox -j "$1" --resolver "127.0.0.1:$PORT" \
		"$OUT/signed.mbox" >"$OUT/verify-j$1.out" 2>"$OUT/verify-j$1.log"
	rc=$?
	t1=$(now)
	npass=$(grep -c '^msg [0-9]*: pass' "$OUT/verify-j$1.out")
	nmsg=$(grep -o '^msg [0-9]*:' "$OUT/verify-j$1.out" | sort -u | wc -l)
	[ $rc = 0 ] || say "dkimverify -j $1 exited $rc: $(head -n 2 "$OUT/verify-j$1.log")"
	record verify "dkimverify -j $1" "$(elapsed "$t0" "$t1")" "$nmsg" "$npass"
}
verify_ours 1
[ "$NPROC" -gt 1 ] && verify_ours "$NPROC"

peer_run() {	# peer_run LABEL CMD...: CMD prints "messages=N pass=P ..."
	_l=$1
	shift
	say "$_l"
	t0=$(now)
	timeout 900 "$@" >"$OUT/peer.out" 2>"$OUT/peer.log"
	rc=$?
	t1=$(now)
	if [ $rc != 0 ]; then
		say "$_l failed (exit $rc): $(head -n 3 "$OUT/peer.log")"
		record verify "$_l" n/a "exit $rc"
		return
	fi
	m=$(sed -n 's/.*messages=\([0-9]*\).*/\1/p' "$OUT/peer.out")
	p=$(sed -n 's/.*pass=\([0-9]*\).*/\1/p' "$OUT/peer.out")
	record verify "$_l" "$(elapsed "$t0" "$t1")" "$m" "$p"
}
for peer in $PEERS; do
	case $peer in
	dkimpy)
		if $PY -c 'import dkim, dns.resolver' 2>/dev/null; then
			v=$($PY -c 'import importlib.metadata as m; print(m.version("dkimpy"))' 2>/dev/null || echo "?")
			peer_run "dkimpy $v" $PY "$TOP/contrib/bench/peer-dkimpy.py" "$PORT" "$OUT/signed.mbox"
		else
			record verify "dkimpy" n/a "not installed"
		fi ;;
	maildkim)
		if perl -MMail::DKIM::Verifier -MNet::DNS -e1 2>/dev/null; then
			v=$(perl -MMail::DKIM -e 'print $Mail::DKIM::VERSION')
			peer_run "Mail::DKIM $v" perl "$TOP/contrib/bench/peer-maildkim.pl" "$PORT" "$OUT/signed.mbox"
		else
			record verify "Mail::DKIM" n/a "not installed"
		fi ;;
	mailauth)
		ma=$TOP/contrib/node/node_modules/mailauth
		if command -v node >/dev/null 2>&1 && [ -d "$ma" ]; then
			v=$(node -p "require('$ma/package.json').version" 2>/dev/null || echo "?")
			peer_run "mailauth $v" node "$TOP/contrib/bench/peer-mailauth.js" "$PORT" "$OUT/signed.mbox"
		else
			record verify "mailauth" n/a "not installed"
		fi ;;
	esac
done

# ---- memory on a ~1 GB archive (the signed one, repeated) ----
if [ "$BIG" = 1 ]; then
	reps=$(( (BIG_MB * 1000000 + SIZE - 1) / SIZE ))
	want=$((reps * SIZE))
	if [ ! -s "$OUT/big.mbox" ] || [ "$(filesize "$OUT/big.mbox")" != "$want" ]; then
		say "building bench-out/big.mbox ($reps copies, $((want / 1000000)) MB)"
		i=0
		: >"$OUT/big.mbox.tmp"
		while [ $i -lt $reps ]; do
			cat "$OUT/signed.mbox" >>"$OUT/big.mbox.tmp" || exit 74
			i=$((i + 1))
		done
		mv "$OUT/big.mbox.tmp" "$OUT/big.mbox"
	fi
	for j in 1 $NPROC; do
		[ "$j" = 1 ] || [ "$NPROC" -gt 1 ] || continue
		say "dkimverify --mbox -j $j on big.mbox (/usr/bin/time -v)"
		if [ -x /usr/bin/time ]; then
			/usr/bin/time -v "$MXKIT_BIN/dkimverify" --mbox -j "$j" --resolver "127.0.0.1:$PORT" \
				"$OUT/big.mbox" >"$OUT/big-j$j.out" 2>"$OUT/big-j$j.time"
			rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$OUT/big-j$j.time")
			wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$OUT/big-j$j.time" |
				awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.3f", s}')
		else
			t0=$(now)
			"$MXKIT_BIN/dkimverify" --mbox -j "$j" --resolver "127.0.0.1:$PORT" \
				"$OUT/big.mbox" >"$OUT/big-j$j.out" 2>/dev/null
			wall=$(elapsed "$t0" "$(now)") rss=n/a
		fi
		npass=$(grep -c '^msg [0-9]*: pass' "$OUT/big-j$j.out")
		record big "$j" "$wall" "${rss:-n/a}" "$(filesize "$OUT/big.mbox")" "$((reps * N))" "$npass"
		rm -f "$OUT/big-j$j.out"
	done
fi

# ---- per-process cost: one process per message ----
say "per-process cost over $NPP messages"
rm -rf "$TEST_DIR/pp"
$PY "$TOP/contrib/bench/split.py" "$OUT/signed.mbox" "$TEST_DIR/pp" "$NPP" || exit 70
# inside the namespace only 127.0.0.1:53 exists: drop the rig's address
env -u MXKIT_RESOLVER sh "$TOP/t/peers/netns-dns.sh" "$DOM=$TEST_DIR/$DOM.zone" -- \
	sh "$TOP/contrib/bench/perproc.sh" "$TEST_DIR/pp" "$MXKIT_BIN" >"$OUT/perproc.out" 2>"$OUT/perproc.log"
rc=$?
if [ $rc = 0 ]; then
	while read -r name n ok secs; do
		record perproc "$name" "$n" "$ok" "$secs"
	done <"$OUT/perproc.out"
else
	# no namespaces: only dkimverify, against the rig
	say "netns-dns.sh unavailable (exit $rc): opendkim-testmsg and dkimpy's CLI skipped"
	MXKIT_RESOLVER=127.0.0.1:$PORT sh "$TOP/contrib/bench/perproc.sh" "$TEST_DIR/pp" "$MXKIT_BIN" |
		head -n 1 | while read -r name n ok secs; do record perproc "$name" "$n" "$ok" "$secs"; done
	record perproc opendkim-testmsg n/a "no namespaces"
	record perproc dkimpy-cli n/a "no namespaces"
fi

# ---- the table ----
$PY - "$RES" "$N" "$SIZE" "$NPROC" "$nsigned" <<'PY' | tee "$OUT/results.txt"
import sys
res, n, size, nproc, nsigned = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rows = [l.rstrip("\n").split(" ") for l in open(res)]
MB = 1e6
def get(kind):
    return [r[1:] for r in rows if r[0] == kind]

print("mxkit bench: %d messages, %.1f MB signed mboxrd, %s CPUs" % (n, size / MB, nproc))
print()
print("Verify the signed archive (keys from nsd on loopback; peers cache lookups in-process)")
print("  %-28s %9s %9s %8s %13s %10s" % ("verifier", "msgs/s", "MB/s", "time s", "pass/msgs", "vs -j 1"))
base = None
for r in get("verify"):
    # label words, then time, msgs, pass (or n/a + reason)
    if "n/a" in r:
        i = r.index("n/a")
        print("  %-28s %9s %9s %8s %13s %10s   (%s)" % (" ".join(r[:i]), "n/a", "n/a", "n/a", "n/a", "n/a", " ".join(r[i + 1:])))
        continue
    label, t, m, p = " ".join(r[:-3]), float(r[-3]), int(r[-2] or 0), int(r[-1] or 0)
    if base is None:
        base = t
    print("  %-28s %9.1f %9.2f %8.2f %13s %9.2fx" % (label, m / t, size / MB / t, t, "%d/%d" % (p, m), t / base))
print("  (vs -j 1: wall time relative to dkimverify -j 1; above 1 is slower)")
print()
s = get("sign")
o = get("openssl")
if s:
    t, insize = float(s[0][0]), int(s[0][1])
    print("Sign: dkimsign --mbox, rsa-sha256 2048-bit, relaxed/relaxed (one thread)")
    print("  dkimsign: %.1f msgs/s, %.2f MB/s, %.2f s, %d/%d signed" % (n / t, insize / MB / t, t, nsigned, n))
    if o and len(o[0]) >= 3 and float(o[0][0] or 0) > 0 and float(o[0][2] or 0) > 0:
        signs, verifs, shak = float(o[0][0]), float(o[0][1]), float(o[0][2])
        sha = shak * 1000
        floor_t = n / signs + insize / sha
        print("  floor (openssl speed, this run): rsa2048 %.0f sign/s (%.0f verify/s), sha256 %.0f MB/s" % (signs, verifs, sha / MB))
        print("  floor = N/sign_rate + bytes/sha256_rate = %.2f s -> %.1f msgs/s; dkimsign at %.0f%% of the floor" %
              (floor_t, n / floor_t, 100 * floor_t / t))
print()
b = get("big")
if b:
    print("Memory: dkimverify --mbox on a big archive (/usr/bin/time -v)")
    for j, wall, rss, bsize, bmsgs, bpass in b:
        w = float(wall)
        rs = "%.1f MB" % (int(rss) / 1024) if rss.isdigit() else rss
        print("  -j %-3s %6.0f MB archive, %d msgs: max RSS %s, %.1f s, %.1f MB/s, %s pass" %
              (j, int(bsize) / MB, int(bmsgs), rs, w, int(bsize) / MB / w, bpass))
    print()
pp = get("perproc")
if pp:
    print("Per-process cost: one process per message (keys via /etc/resolv.conf -> nsd)")
    base = None
    for r in pp:
        if r[1] == "n/a":
            print("  %-18s n/a (%s)" % (r[0], " ".join(r[2:])))
            continue
        name, m, ok, t = r[0], int(r[1]), int(r[2]), float(r[3])
        ms = 1000 * t / m
        if base is None:
            base = ms
        print("  %-18s %8.2f ms/msg  %d/%d ok  %6.2fx" % (name, ms, ok, m, ms / base))
PY

# ---- SPF: spfcheck --batch vs pyspf vs spfquery (contrib/bench/spf-bench.sh) ----
if [ "${BENCH_SPF:-1}" = 1 ] && [ -x "$MXKIT_BIN/spfcheck" ]; then
	say "SPF: contrib/bench/spf-bench.sh (bench-out/spf/)"
	echo | tee -a "$OUT/results.txt"
	MXKIT_BIN=$MXKIT_BIN sh "$TOP/contrib/bench/spf-bench.sh" | tee -a "$OUT/results.txt"
fi

# ---- DANE and OCSP: tlsa-probe vs posttls-finger, ocsp-fetch vs openssl ocsp ----
if [ "${BENCH_DANE:-1}" = 1 ] && [ -x "$MXKIT_BIN/tlsa-probe" ]; then
	say "DANE/OCSP: contrib/bench/dane-bench.sh"
	echo | tee -a "$OUT/results.txt"
	MXKIT_BIN=$MXKIT_BIN sh "$TOP/contrib/bench/dane-bench.sh" | tee -a "$OUT/results.txt"
fi

# ---- SMTP receive: smtpfront vs Exim under smtp-source ----
if [ "${BENCH_SMTP:-1}" = 1 ] && [ -x "$MXKIT_BIN/smtpfront" ]; then
	say "SMTP: contrib/bench/smtp-bench.sh"
	echo | tee -a "$OUT/results.txt"
	MXKIT_BIN=$MXKIT_BIN sh "$TOP/contrib/bench/smtp-bench.sh" | tee -a "$OUT/results.txt"
fi

# ---- SOCKS5: socks5-send vs curl and nc through microsocks ----
if [ "${BENCH_SOCKS:-1}" = 1 ] && [ -x "$MXKIT_BIN/socks5-send" ]; then
	say "SOCKS5: contrib/bench/socks5-bench.sh"
	echo | tee -a "$OUT/results.txt"
	MXKIT_BIN=$MXKIT_BIN sh "$TOP/contrib/bench/socks5-bench.sh" | tee -a "$OUT/results.txt"
fi
