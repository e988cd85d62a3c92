#!/bin/sh
# contrib/bench/socks5-bench.sh: socks5-send against peers through one
# microsocks on loopback, in one run, on the same input, printing the
# ratios (never asserting times: these machines are noisy).
#
#   BENCH_SOCKS_N=300       one-message submissions per client
#   BENCH_SOCKS_BLOCK=10    submissions per block: the clients take turns
#                           block by block (the order swapped every
#                           round), so noise hits both
#   BENCH_SOCKS_MB=200      megabytes per tunnel transfer
#   BENCH_SOCKS_ROUNDS=7    tunnel transfers per client, alternated (the
#                           order swapped every round); the medians are
#                           printed, and the median of the rounds' ratios
#
# 1. Submissions: a process per message, as a cron job or an MDA would
#    run it, into smtpfront --deliver maildir: (its 250 means fsync'd in
#    the maildir):
#      socks5-send --server 127.0.0.1:PORT --proxy '127.0.0.1 port=P'
#      curl smtp://127.0.0.1:PORT --proxy socks5://127.0.0.1:P
#    and, for scale, both without the proxy.  swaks is not a peer: its
#    --proxy is the HAProxy PROXY protocol, it has no SOCKS client.  The
#    maildir must hold every message at the end.  microsocks leaves
#    Nagle on and relays in small reads: on loopback a proxied session
#    waits out the other end's delayed ACK (~40 ms) for the banner and
#    again for the reply to the message, whichever the client; the
#    direct rows show the clients' own cost.
# 2. The tunnel: BENCH_SOCKS_MB through the proxy to a sink that counts
#    the bytes of each connection:
#      socks5-send --connect 127.0.0.1:PORT --proxy '127.0.0.1 port=P'
#      nc -N -X 5 -x 127.0.0.1:P 127.0.0.1 PORT  (OpenBSD netcat)
#    and, for scale, both without the proxy.  microsocks closes both
#    sides at the first EOF (no half-close), so the sink writes its
#    counts to a file rather than back to the client.
#
# Run from the top directory with MXKIT_BIN set (contrib/bench/run.sh
# does).
set -u
TOP=$(pwd)
[ -f "$TOP/contrib/bench/socks5-bench.sh" ] ||
    { echo "socks5-bench: run from the top directory" >&2; exit 64; }
: "${MXKIT_BIN:=$TOP/bin}"
N=${BENCH_SOCKS_N:-300}
BLOCK=${BENCH_SOCKS_BLOCK:-10}
MB=${BENCH_SOCKS_MB:-200}
ROUNDS=${BENCH_SOCKS_ROUNDS:-7}
PY=/usr/bin/python3
S5=$MXKIT_BIN/socks5-send

for p in socks5-send smtpfront; do
	[ -x "$MXKIT_BIN/$p" ] ||
	    { echo "socks5-bench: $MXKIT_BIN/$p missing (make)" >&2; exit 69; }
done
command -v microsocks >/dev/null 2>&1 ||
    { echo "socks5-bench: microsocks missing (make deps-bench)" >&2; exit 69; }

. "$TOP/contrib/bench/scratch.sh"
bench_scratch "${TMPDIR:-/tmp}" mxkit-socksbench

say() { printf 'socks5-bench: %s\n' "$*" >&2; }
now() { date +%s.%N; }
count_new() { ls "$1/new" 2>/dev/null | wc -l | tr -d ' '; }

# wait_for CMD...: up to 10 s for CMD to succeed
wait_for() {
	_wf=0
	while ! "$@" >/dev/null 2>&1; do
		_wf=$((_wf + 1))
		[ $_wf -lt 200 ] || return 1
		sleep 0.05
	done
}

port_open() {	# port_open PORT: 127.0.0.1:PORT accepts
	$PY -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

# ---- the servers: smtpfront, microsocks, the byte-counting sink ----
SP=$(free_port)
mkdir spool
"$MXKIT_BIN/smtpfront" --hostname mx.test --listen "127.0.0.1:$SP" \
    --spool-dir "$TEST_DIR/spool" --deliver "maildir:$TEST_DIR/md" \
    2>sf.log </dev/null &
sfpid=$!
at_exit "proc_stop $sfpid"
wait_for grep -q 'listening on' sf.log ||
    { say "smtpfront did not start: $(head -n 3 sf.log)"; exit 69; }

PP=$(free_port)
microsocks -i 127.0.0.1 -p "$PP" >ms.log 2>&1 </dev/null &
mspid=$!
at_exit "proc_stop $mspid"
wait_for port_open "$PP" ||
    { say "microsocks did not start: $(head -n 3 ms.log)"; exit 69; }
PROXY="127.0.0.1 port=$PP"

# The sink: one connection at a time, each read to EOF; its byte count
# is appended to counts.
KP=$(free_port)
cat >sink.py <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
open(sys.argv[2], "w").close()
buf = bytearray(1 << 20)
while True:
    c, _ = s.accept()
    n = 0
    try:
        while True:
            k = c.recv_into(buf)
            if not k:
                break
            n += k
    except OSError:
        pass
    c.close()
    with open(sys.argv[3], "a") as f:
        f.write("%d\n" % n)
EOF
: >counts
$PY sink.py "$KP" sink.ready counts 2>sink.log </dev/null &
skpid=$!
at_exit "proc_stop $skpid"
wait_for test -e sink.ready ||
    { say "the sink did not start: $(head -n 3 sink.log)"; exit 69; }

# ---- 1. submissions ----
printf 'From: a@example.org\nTo: b@example.net\nSubject: socks5 bench\nMessage-ID: <bench@example.org>\n\n' >msg
i=0
while [ $i -lt 30 ]; do
	echo "A line of text so that the message is a little over two kilobytes long."
	i=$((i + 1))
done >>msg

sub_s5() {
	"$S5" --server "127.0.0.1:$SP" --proxy "$PROXY" \
	    -f a@example.org b@example.net <msg
}
sub_curl() {
	curl -s "smtp://127.0.0.1:$SP" --proxy "socks5://127.0.0.1:$PP" \
	    --mail-from a@example.org --mail-rcpt b@example.net --upload-file msg
}
# The same without the proxy, for scale: what the clients cost apart
# from microsocks's stalls.
sub_s5d() {
	"$S5" --server "127.0.0.1:$SP" -f a@example.org b@example.net <msg
}
sub_curld() {
	curl -s "smtp://127.0.0.1:$SP" \
	    --mail-from a@example.org --mail-rcpt b@example.net --upload-file msg
}

# A check of each (and warm caches) before timing.
sub_s5 >check.s5 2>&1 || { say "socks5-send failed:"; cat check.s5 >&2; exit 70; }
sub_curl >check.curl 2>&1 || { say "curl failed:"; cat check.curl >&2; exit 70; }
sub_s5d >check.s5d 2>&1 || { say "socks5-send (direct) failed:"; cat check.s5d >&2; exit 70; }
sub_curld >check.curld 2>&1 || { say "curl (direct) failed:"; cat check.curld >&2; exit 70; }
base=$(count_new md)
[ "$base" = 4 ] || { say "$base messages in the maildir after the checks, not 4"; exit 70; }

# block NAME COUNT: COUNT runs of sub_NAME; appends "NAME COUNT seconds
# failures" to sub.res.
: >sub.res
block() {
	_b=0 _f=0
	_t0=$(now)
	while [ $_b -lt "$2" ]; do
		"sub_$1" >/dev/null 2>>"err.$1" || _f=$((_f + 1))
		_b=$((_b + 1))
	done
	_t1=$(now)
	echo "$1 $2 $_t0 $_t1 $_f" | awk '{ printf "%s %d %.6f %d\n", $1, $2, $4 - $3, $5 }' >>sub.res
}

say "$N submissions each through microsocks, socks5-send and curl in blocks of $BLOCK"
r=0 left=$N
while [ "$left" -gt 0 ]; do
	b=$BLOCK
	[ "$left" -lt "$b" ] && b=$left
	if [ $((r % 2)) = 0 ]; then
		block s5 "$b"; block curl "$b"; block s5d "$b"; block curld "$b"
	else
		block curl "$b"; block s5 "$b"; block curld "$b"; block s5d "$b"
	fi
	left=$((left - b))
	r=$((r + 1))
done
# Every run that exited 0 must have left one message in the maildir.
nfail=$(awk '{ f += $4 } END { print f + 0 }' sub.res)
got=$(count_new md)
want=$((base + 4 * N - nfail))
md_ok="maildir: $got messages, $want expected"
[ "$got" = "$want" ] || md_ok="$md_ok: MISMATCH"
[ "$nfail" = 0 ] || md_ok="$md_ok ($nfail runs failed: see above)"
for c in s5 curl s5d curld; do
	[ -s "err.$c" ] && say "$c: $(head -n 2 "err.$c")"
done

# ---- 2. the tunnel ----
BYTES=$((MB * 1000000))
head -c "$BYTES" /dev/zero >big || exit 74
cat big >/dev/null	# in the page cache for every round

tun_s5() { "$S5" --connect "127.0.0.1:$KP" --proxy "$PROXY" <big; }
tun_nc() { nc -N -X 5 -x "127.0.0.1:$PP" 127.0.0.1 "$KP" <big; }
dir_s5() { "$S5" --connect "127.0.0.1:$KP" <big; }
dir_nc() { nc -N 127.0.0.1 "$KP" <big; }

have_nc=0
nc -h 2>&1 | grep -q 'OpenBSD netcat' && have_nc=1
[ $have_nc = 1 ] || say "OpenBSD netcat missing (netcat-openbsd): the tunnel has no peer"

counted() { [ "$(wc -l <counts)" -gt "$1" ]; }	# counted N: more than N lines

# transfer NAME: one run of NAME; appends "NAME round seconds ok" to
# tunnel.res
# (ok: the sink counted every byte, the client exited 0).
transfer() {
	_c0=$(wc -l <counts)
	_t0=$(now)
	"$1" >/dev/null 2>>"err.$1"
	_rc=$?
	_t1=$(now)
	wait_for counted "$_c0" || true
	_got=$(sed -n "$((_c0 + 1))p" counts)
	_ok=1
	[ "$_rc" = 0 ] && [ "$_got" = "$BYTES" ] || {
		_ok=0
		say "$1: exit $_rc, sink counted ${_got:-nothing} of $BYTES bytes"
	}
	echo "$1 $r $_t0 $_t1 $_ok" |
	    awk '{ printf "%s %d %.6f %s\n", $1, $2, $4 - $3, $5 }' >>tunnel.res
}

say "$ROUNDS transfers of $MB MB each through microsocks (and direct)"
: >tunnel.res
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $((r % 2)) = 0 ]; then order="s5 nc"; else order="nc s5"; fi
	for t in $order; do
		[ $t = nc ] && [ $have_nc = 0 ] && continue
		transfer "tun_$t"
	done
	for t in $order; do
		[ $t = nc ] && [ $have_nc = 0 ] && continue
		transfer "dir_$t"
	done
	r=$((r + 1))
done

# ---- the table ----
cv=$(curl -V 2>/dev/null | sed -n '1s/^curl \([^ ]*\).*/\1/p')
ncv=$(nc -h 2>&1 | sed -n '1s/.*patchlevel \([^)]*\)).*/\1/p')
msv=$(dpkg-query -W -f '${Version}' microsocks 2>/dev/null || echo "?")
echo "== SOCKS5 client through microsocks $msv on loopback, $(nproc) CPUs (ratio = socks5-send / peer; above 1: socks5-send faster) =="
awk -v cv="${cv:-?}" '
{ n[$1] += $2; t[$1] += $3; f[$1] += $4 }
function row(label, c, peer,   r) {
    r = t[c] > 0 ? n[c] / t[c] : 0
    printf "  %-26s %8.1f msgs/s %8.2f ms/msg %4d failed", label, r, 1000 * t[c] / n[c], f[c]
    if (peer != "" && t[peer] > 0 && r > 0)
        printf "   ratio %.2f", (n[peer] / t[peer]) / r
    printf "\n"
}
END {
    printf "Submissions, a process per message into smtpfront --deliver maildir:, %d each in alternating blocks:\n", n["s5"]
    row("socks5-send --server", "s5", "")
    row("curl " cv " --proxy", "curl", "s5")
    row("  direct: socks5-send", "s5d", "")
    row("  direct: curl", "curld", "s5d")
}' sub.res
if swaks --help 2>/dev/null | grep -qi socks; then
	echo "  swaks                      n/a (swaks --help mentions SOCKS: not wired up here yet)"
else
	echo "  swaks                      n/a (no SOCKS client: its --proxy is HAProxy's PROXY protocol)"
fi
echo "  $md_ok"
awk -v mb="$MB" -v rounds="$ROUNDS" -v ncv="${ncv:-?}" '
function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) {
        t = v[i]
        for (j = i - 1; j >= 1 && v[j] > t; j--)
            v[j + 1] = v[j]
        v[j + 1] = t
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function row(label, c, peer,   m, i, n, v) {
    if (!cnt[c]) {
        printf "  %-26s n/a (not installed)\n", label
        return
    }
    for (i = 1; i <= cnt[c]; i++)
        v[i] = secs[c, i]
    m = median(v, cnt[c])
    printf "  %-26s %8.1f MB/s %7.3f s median %d/%d ok", label,
        (m > 0 ? mb / m : 0), m, okc[c], cnt[c]
    # the ratio of each round (the two ran next to each other), the median
    n = 0
    if (peer != "")
        for (i = 0; i < rounds; i++)
            if ((c "|" i) in at && (peer "|" i) in at && at[peer "|" i] > 0)
                v[++n] = at[c "|" i] / at[peer "|" i]
    if (n)
        printf "   ratio %.2f", median(v, n)
    printf "\n"
}
{ cnt[$1]++; secs[$1, cnt[$1]] = $3; at[$1 "|" $2] = $3; okc[$1] += $4 }
END {
    printf "Tunnel, %d MB from a file to a byte-counting sink, %d rounds; ratio: median of the rounds'"'"':\n", mb, rounds
    row("socks5-send --connect", "tun_s5", "")
    row("nc " ncv " -X 5 -x", "tun_nc", "tun_s5")
    row("  direct: socks5-send", "dir_s5", "")
    row("  direct: nc -N", "dir_nc", "dir_s5")
}' tunnel.res
