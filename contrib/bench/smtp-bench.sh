#!/bin/sh
# contrib/bench/smtp-bench.sh: smtpfront against Exim as SMTP receivers on
# loopback, in one run, with the same load: Postfix's smtp-source sending
# BENCH_SMTP_N messages over BENCH_SMTP_SESSIONS concurrent sessions (one
# connection each, -d), delivered into a maildir.  Printed: messages/s,
# latency percentiles and the ratios smtpfront/Exim.
#
#   BENCH_SMTP_N=5000         messages per server
#   BENCH_SMTP_SESSIONS=20    concurrent smtp-source sessions
#   BENCH_SMTP_SIZE=500       smtp-source -l: octets of body per message
#
# The servers, each on its own port and maildir:
#   smtpfront              --listen, --deliver maildir:DIR, no hooks
#   smtpfront + hooks      the same with /bin/true as --hook-rcpt and
#                          --hook-data (two fork+exec per message)
#   Exim                   exim -bdf with a minimal configuration: accept
#                          every recipient, an appendfile maildir
#                          transport; immediate delivery as Exim does by
#                          default (one delivery process per message), so
#                          its time is until the last message is in the
#                          maildir, not when smtp-source is done
#   Exim queue_only        the same with queue_only: the 250 means "in
#                          Exim's spool", nothing is delivered; how much of
#                          Exim's time is its reception
# smtpfront's 250 already means "in the maildir" (fsync'd), so its
# accepted and delivered times are the same.
#
# Latency: smtp-source reports none, so a probe (a small Python client)
# runs one more session beside the load, one transaction at a time, and
# times each from sending MAIL FROM to reading the reply to the final
# "." (MAIL, RCPT, DATA, the text: four round trips, no pipelining, as
# smtp-source sends them).  p50 and p99 are over the probe's transactions
# while smtp-source runs: the latency one client sees of a server under
# that load.  Connection set-up is not in it (the probe connects first).
#
# Exim runs through t/peers/exim.sh (the Debian-exim user in a private
# mount namespace; needs root and contrib/deps.sh's unpacked Exim); without
# it the Exim rows say n/a.  Run from the top directory with MXKIT_BIN set
# (contrib/bench/run.sh does).
set -u
TOP=$(pwd)
[ -f "$TOP/contrib/bench/smtp-bench.sh" ] ||
    { echo "smtp-bench: run from the top directory" >&2; exit 64; }
: "${MXKIT_BIN:=$TOP/bin}"
N=${BENCH_SMTP_N:-5000}
S=${BENCH_SMTP_SESSIONS:-20}
SIZE=${BENCH_SMTP_SIZE:-500}
EXIM=${MXKIT_EXIM:-/var/cache/mxkit/exim4/usr/sbin/exim4}
PY=/usr/bin/python3

[ -x "$MXKIT_BIN/smtpfront" ] ||
    { echo "smtp-bench: $MXKIT_BIN/smtpfront missing (make)" >&2; exit 69; }
command -v smtp-source >/dev/null 2>&1 ||
    { echo "smtp-bench: smtp-source missing (postfix; make deps-bench)" >&2; exit 69; }

. "$TOP/contrib/bench/scratch.sh"
bench_scratch "${TMPDIR:-/tmp}" mxkit-smtpbench
# Exim's delivery processes run as nobody: the maildirs are theirs.
chmod 755 "$TEST_DIR"

say() { printf 'smtp-bench: %s\n' "$*" >&2; }
now() { date +%s.%N; }
RES=$TEST_DIR/results
: >"$RES"

# The latency probe: PORT READY STOP OUT.  Writes READY once it has said
# EHLO, sends messages until STOP exists (at most 600 s), then writes
# "n p50 p99 max" (ms) to OUT.
cat >probe.py <<'EOF'
import os, socket, sys, time
port, ready, stop, out, size = sys.argv[1:6]
s = socket.create_connection(("127.0.0.1", int(port)), 30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("probe: connection closed")
        if l[3:4] != b"-":
            return l
def step(data, want):
    s.sendall(data)
    l = reply()
    if not l.startswith(want):
        raise SystemExit("probe: %r for %r" % (l, data[:20]))
reply()
step(b"EHLO probe.example\r\n", b"250")
body = b"Subject: probe\r\n\r\n" + (b"x" * 78 + b"\r\n") * (int(size) // 80 + 1)
open(ready, "w").close()
lat = []
end = time.time() + 600
while not os.path.exists(stop) and time.time() < end:
    t = time.perf_counter()
    step(b"MAIL FROM:<probe@client.example>\r\n", b"250")
    step(b"RCPT TO:<probe@mx.test>\r\n", b"250")
    step(b"DATA\r\n", b"354")
    step(body + b".\r\n", b"250")
    lat.append((time.perf_counter() - t) * 1000)
s.sendall(b"QUIT\r\n")
lat.sort()
pc = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
open(out, "w").write("%d %.2f %.2f %.2f\n" % (len(lat), pc(0.5), pc(0.99),
                     lat[-1] if lat else 0))
EOF

wait_port() {	# wait_port PORT: up to 10 s for 127.0.0.1:PORT to accept
	$PY - "$1" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

count_new() { ls "$1/new" 2>/dev/null | wc -l | tr -d ' '; }

# load LABEL PORT MAILDIR WAIT: the probe and smtp-source against PORT;
# WAIT=1: then wait (up to 300 s) until MAILDIR holds every message.
# Records LABEL|msgs/s|seconds|accepted-seconds|n|p50|p99|max.
load() {
	_l=$1 _p=$2 _md=$3 _w=$4
	rm -f ready stop probe.out
	$PY probe.py "$_p" ready stop probe.out "$SIZE" 2>probe.err &
	_pp=$!
	_n=0
	while [ ! -e ready ] && [ $_n -lt 200 ] && proc_alive $_pp; do
		sleep 0.05
		_n=$((_n + 1))
	done
	say "$_l: smtp-source -s $S -m $N -l $SIZE"
	_t0=$(now)
	timeout 600 smtp-source -d -s "$S" -m "$N" -l "$SIZE" -N \
	    -M client.example -f sender@client.example -t user@mx.test \
	    "127.0.0.1:$_p" >source.out 2>&1
	_rc=$?
	_t1=$(now)
	touch stop
	wait $_pp
	if [ $_rc != 0 ] || [ ! -s probe.out ]; then
		say "$_l failed: smtp-source exit $_rc; $(head -n 2 source.out probe.err)"
		echo "$_l|n/a|smtp-source exit $_rc" >>"$RES"
		return 1
	fi
	read -r pn p50 p99 pmax <probe.out
	_want=$((N + pn))
	_t2=$_t1
	if [ "$_w" = 1 ]; then
		_n=0
		while [ "$(count_new "$_md")" -lt $_want ] && [ $_n -lt 3000 ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		_t2=$(now)
	fi
	_got=$(count_new "$_md")
	[ "$_w" = 0 ] || [ "$_got" = "$_want" ] ||
	    say "$_l: $_got of $_want messages in the maildir"
	echo "$_t0 $_t1 $_t2" | awk -v n="$N" -v l="$_l" -v r="$pn|$p50|$p99|$pmax" \
	    '{ printf "%s|%.1f|%.2f|%.2f|%s\n", l, n / ($3 - $1), $3 - $1, $2 - $1, r }' >>"$RES"
}

# ---- smtpfront, without and with hooks ----
sf_run() {	# sf_run LABEL HOOK-ARGS...
	_l=$1
	shift
	port=$(free_port)
	rm -rf md spool
	mkdir spool
	"$MXKIT_BIN/smtpfront" --hostname mx.test --listen "127.0.0.1:$port" \
	    --max-conn $((S + 10)) --max-conn-per-ip 0 \
	    --spool-dir "$TEST_DIR/spool" --deliver "maildir:$TEST_DIR/md" \
	    "$@" 2>sf.log </dev/null &
	sfpid=$!
	at_exit "proc_stop $sfpid"
	wait_port "$port" || { say "smtpfront did not start: $(head -n 3 sf.log)"; return 1; }
	load "$_l" "$port" md 0
	proc_stop $sfpid
	rm -rf md spool
}
sf_run "smtpfront"
sf_run "smtpfront + /bin/true hooks" --hook-rcpt /bin/true --hook-data /bin/true

# ---- Exim ----
exim_run() {	# exim_run LABEL WAIT [CONFIG-LINE]
	_l=$1 _w=$2 _extra=${3:-}
	port=$(free_port)
	rm -rf ex
	mkdir -p ex/spool ex/log ex/md
	chown -R nobody ex
	cat >ex/exim.conf <<EOF
exim_path = $EXIM
primary_hostname = mx.test
exim_user = nobody
exim_group = nogroup
never_users =
spool_directory = $TEST_DIR/ex/spool
log_file_path = $TEST_DIR/ex/log/%slog
local_interfaces = <; 127.0.0.1.$port
host_lookup =
rfc1413_hosts =
smtp_accept_max = 0
smtp_accept_queue_per_connection = 0
smtp_accept_max_per_connection = 0
$_extra
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
r:
  driver = accept
  transport = md
begin transports
md:
  driver = appendfile
  directory = $TEST_DIR/ex/md
  maildir_format
  user = nobody
  group = nogroup
EOF
	sh "$TOP/t/peers/exim.sh" "$TEST_DIR/ex/exim.conf" -bdf \
	    -oP "$TEST_DIR/ex/exim.pid" >ex/out 2>&1 </dev/null &
	expid=$!
	at_exit "[ -s '$TEST_DIR/ex/exim.pid' ] && kill \$(cat '$TEST_DIR/ex/exim.pid'); proc_stop $expid"
	if ! wait_port "$port"; then
		say "$_l did not start: $(head -n 3 ex/out)"
		echo "$_l|n/a|did not start" >>"$RES"
		proc_stop $expid
		return 1
	fi
	load "$_l" "$port" ex/md "$_w"
	[ -s ex/exim.pid ] && kill "$(cat ex/exim.pid)"
	# exim.sh removes its files when Exim is gone: let it (up to 5 s)
	_n=0
	while proc_alive $expid && [ $_n -lt 100 ]; do
		sleep 0.05
		_n=$((_n + 1))
	done
	proc_stop $expid
	[ -s ex/log/paniclog ] && say "$_l paniclog: $(head -n 2 ex/log/paniclog)"
	rm -rf ex
}
ev=$(sh "$TOP/t/peers/exim.sh" /dev/null -bV 2>/dev/null | sed -n 's/^Exim version \([^ ]*\).*/\1/p')
if [ -n "$ev" ]; then
	exim_run "Exim $ev" 1
	exim_run "Exim $ev queue_only" 0 "queue_only = true"
else
	echo "Exim|n/a|not available (contrib/deps.sh check; root)" >>"$RES"
fi

# ---- the table ----
$PY - "$RES" "$N" "$S" "$SIZE" "$(nproc)" <<'EOF'
import sys
res, n, s, size, ncpu = sys.argv[1:6]
rows = [l.rstrip("\n").split("|") for l in open(res) if l.strip()]
print("SMTP receive on loopback: smtp-source -d -s %s -m %s -l %s, into a maildir, %s CPUs"
      % (s, n, size, ncpu))
print("  %-32s %8s %8s %10s %8s %8s %8s" % ("server", "msgs/s", "time s",
      "accepted s", "p50 ms", "p99 ms", "probe n"))
ok = {}
for r in rows:
    if r[1] == "n/a":
        print("  %-32s %8s   (%s)" % (r[0], "n/a", r[2]))
        continue
    label, rate, t, acc, pn, p50, p99, pmax = r
    ok[label] = (float(rate), float(p99))
    print("  %-32s %8s %8s %10s %8s %8s %8s" % (label, rate, t, acc, p50, p99, pn))
print("  (time: until every message was in the maildir; accepted: until smtp-source")
print("   was done.  p50/p99: one more client session beside the load, MAIL FROM to")
print("   the reply after the data, one transaction at a time)")
sf = ok.get("smtpfront")
ex = [k for k in ok if k.startswith("Exim") and not k.endswith("queue_only")]
if sf and ex:
    e = ok[ex[0]]
    print("  smtpfront/%s: %.2fx the messages/s; p99 latency %.2fx (lower is better)" %
          (ex[0], sf[0] / e[0], sf[1] / e[1] if e[1] else 0))
EOF
