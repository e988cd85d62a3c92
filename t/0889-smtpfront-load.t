#!/bin/sh
# smtpfront --listen under load, loopback only and bounded: Postfix's
# smtp-source sends 10 000 messages over 200 concurrent sessions (50 and
# 2 000 under a sanitizer build) into a maildir.  smtp-source stops at the
# first reply that is not a success, so its exit 0 says every message was
# accepted; then each must be in new/ exactly once: -N numbers the
# recipient of each message, and the count of distinct numbers (and of
# distinct Received ids) must be the count sent.  The session processes'
# memory is sampled from /proc while the load runs and printed as
# "# RSS per session: N kB" (PSS too: the forked sessions share most of
# their pages).
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
command -v smtp-source >/dev/null 2>&1 ||
    skip_all "smtp-source (postfix) is not installed"

sessions=200
messages=10000
if [ "${SANITIZE:-0}" = 1 ] || grep -q __asan_init "$MXKIT_BIN/smtpfront"; then
	sessions=50
	messages=2000
fi
echo "# $sessions sessions, $messages messages"

mkdir spool
port=$(free_port)
: >listen.log
smtpfront --hostname mx.test --listen "127.0.0.1:$port" \
    --max-conn $((sessions + 50)) --max-conn-per-ip 0 \
    --spool-dir "$TEST_DIR/spool" --deliver "maildir:$TEST_DIR/md" \
    2>listen.log </dev/null &
lpid=$!
at_exit "proc_stop $lpid"
n=0
while ! grep -q "listening on" listen.log && [ $n -lt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done

# The sampler: every 0.2 s (at most 120 s) the VmRSS and Pss of each
# child of the listener; stops when the file "stop" appears.
cat >sample.py <<'EOF'
import os, sys, time
lpid, out = sys.argv[1], open(sys.argv[2], "w")
end = time.time() + 120
while time.time() < end and not os.path.exists("stop"):
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = dict(l.split(":", 1) for l in open("/proc/%s/status" % p))
            if st["PPid"].strip() != lpid:
                continue
            pss = 0
            for l in open("/proc/%s/smaps_rollup" % p):
                if l.startswith("Pss:"):
                    pss = int(l.split()[1])
            out.write("%s %d %d\n" % (p, int(st["VmRSS"].split()[0]), pss))
        except (OSError, KeyError, ValueError):
            continue
    out.write("-\n")
    out.flush()
    time.sleep(0.2)
EOF
/usr/bin/python3 sample.py "$lpid" samples &
spid=$!
at_exit "kill $spid"

t0=$(date +%s.%N)
timeout 180 smtp-source -d -s "$sessions" -m "$messages" -l 1000 -N \
    -M client.example -f sender@client.example -t user@mx.test \
    "127.0.0.1:$port" >source.out 2>&1
rc=$?
t1=$(date +%s.%N)
touch stop
wait $spid
echo "$t0 $t1" | awk -v m="$messages" \
    '{ printf "# %d messages in %.1f s: %.0f messages/s\n", m, $2 - $1, m / ($2 - $1) }'

test_expect_success 'smtp-source: every message accepted (exit 0)' '
	cat source.out && test $rc = 0
'
test_expect_success "$messages files in new/, none left in tmp/ or the spool" '
	test "$(ls md/new | wc -l)" = "$messages" &&
	test -z "$(ls md/tmp)" && test -z "$(ls spool)"
'
test_expect_success 'each message exactly once: distinct recipients and ids' '
	grep -h "^	for <[0-9]*user@mx.test>;$" md/new/* | sort -u >rcpts &&
	test "$(wc -l <rcpts)" = "$messages" &&
	grep -h "^	id [0-9A-Za-z-]*$" md/new/* | sort -u >ids &&
	test "$(wc -l <ids)" = "$messages"
'
test_expect_success 'the log has one Completed per message, no failure' '
	test "$(grep -c " Completed$" listen.log)" = "$messages" &&
	! grep -E " (==|\*\*) |spool:" listen.log
'
test_expect_success 'the sessions ran concurrently, then all were reaped' '
	max=$(awk "/^-/ { if (n > m) m = n; n = 0; next } { n++ } END { print m + 0 }" samples) &&
	echo "at most $max sessions at once" &&
	test "$max" -ge $((sessions / 2)) &&
	n=0 && while [ $n -lt 100 ]; do
		k=$(grep -l "^PPid:[[:space:]]*$lpid$" /proc/[0-9]*/status 2>/dev/null | wc -l)
		[ "$k" = 0 ] && break; sleep 0.1; n=$((n + 1)); done &&
	test "$k" = 0
'
awk '!/^-/ { r += $2; p += $3; n++ } END {
	if (n) printf "# RSS per session: %d kB (PSS %d kB; mean of %d samples)\n",
	    r / n, p / n, n }' samples

test_done
