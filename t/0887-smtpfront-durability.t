#!/bin/sh
# smtpfront's promise, end to end: a 250 after the data means the message
# is stored whole (every 250 here is checked against the mailbox), and
# every failure is a 4xx (or the 5xx a pipe asked for) that leaves nothing
# half-written: a pipe exiting 75 or 1 or killed by SIGKILL, a full disk
# under the maildir, the mbox or the spool directory (a 256 KiB tmpfs in a
# mount namespace of the test's own), a maildir whose parent is missing,
# a second --deliver failing after the first stored (the duplicate lib/
# deliver prefers to a loss), and a session killed with SIGKILL in the
# middle of its DATA.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
# unbuffered: the test watches a background client's output
PYTHONUNBUFFERED=1
export CHAT PYTHONUNBUFFERED

mkdir -p bin spool
# ./send CODE TOKEN KB STORE SMTPFRONT-ARG...: one message (Subject:
# TOKEN, about KB kB of text) to smtpfront in stdin mode; the reply to the
# data must start with CODE.  After a 2xx, STORE (a maildir or an mbox;
# "-": the caller checks) must hold TOKEN exactly once.
cat >send <<'EOF'
#!/bin/sh
code=$1 tok=$2 kb=$3 store=$4
shift 4
/usr/bin/python3 - "$tok" "$kb" >"$tok.body" <<'PY' || exit 1
import sys
tok, kb = sys.argv[1], int(sys.argv[2])
out = ["Subject: %s" % tok, "Message-ID: <%s@client.example>" % tok, ""]
n = 0
while n < kb * 1024:
    l = "%s line %06d " % (tok, len(out)) + "x" * 50
    out.append(l)
    n += len(l) + 1
sys.stdout.write("\r\n".join(out) + "\r\n.\r\n")
PY
cat >"$tok.chat" <<CHAT
< 220
> EHLO client.example
< 250
> MAIL FROM:<sender@client.example>
< 250
> RCPT TO:<user@mx.test>
< 250
> DATA
< 354
>file $tok.body
< $code
> QUIT
< 221
CHAT
$CHAT --timeout 30 --exec smtpfront --hostname mx.test "$@" "$tok.chat" \
    >"$tok.out" 2>"$tok.log"
rc=$?
grep -v '^-> ' "$tok.out"
cat "$tok.log"
[ $rc = 0 ] || exit 1
case $code in
2*)
	[ "$store" = - ] && exit 0
	if [ -d "$store" ]; then
		n=$(grep -l "^Subject: $tok\$" "$store"/new/* 2>/dev/null | wc -l)
	else
		n=$(grep -c "^Subject: $tok\$" "$store")
	fi
	[ "$n" = 1 ] || { echo "250, but $store holds $tok $n times"; exit 1; }
	;;
esac
exit 0
EOF
chmod +x send

# nothing DIR: no file in DIR/tmp, DIR/new or DIR/cur (or no DIR).
cat >nothing <<'EOF'
#!/bin/sh
for d in "$@"; do
	[ -d "$d" ] || continue
	n=$(find "$d/tmp" "$d/new" "$d/cur" -type f 2>/dev/null | wc -l)
	[ "$n" = 0 ] || { echo "$d holds $n files:"; find "$d" -type f; exit 1; }
done
EOF
chmod +x nothing
# ./spool_clean [DIR]: no smtpfront.* left behind in the spool directory
cat >spool_clean <<'EOF'
#!/bin/sh
[ -z "$(ls "${1:-spool}")" ] || { ls -l "${1:-spool}"; exit 1; }
EOF
chmod +x spool_clean

printf '#!/bin/sh\ncat >/dev/null\nexit 75\n' >bin/exit75
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >bin/exit1
printf '#!/bin/sh\nhead -c 100 >/dev/null\nkill -9 $$\n' >bin/kill9
printf '#!/bin/sh\ncat >"$1"\n' >bin/copy
printf '#!/bin/sh\nprintf "\\nX-Checked: yes\\n"\n' >bin/addhdr
chmod +x bin/*
SF="--spool-dir $TEST_DIR/spool"
export TEST_DIR SF

# ---- pipes ----
test_expect_success 'a pipe exiting 75: 451, nothing stored, spool empty' '
	./send 451 p75 2 - $SF --deliver "pipe:$TEST_DIR/bin/exit75" >o &&
	grep -q "^<- 451 4" o && grep -q " == user@mx.test" o && ./spool_clean
'
test_expect_success 'a pipe exiting 1: 550 (5xx), spool empty' '
	./send 5 p1 2 - $SF --deliver "pipe:$TEST_DIR/bin/exit1" >o &&
	grep -q "^<- 550 5" o && grep -q " \*\* user@mx.test" o && ./spool_clean
'
test_expect_success 'a pipe killed by SIGKILL mid-message: 451' '
	./send 451 pk 64 - $SF --deliver "pipe:$TEST_DIR/bin/kill9" >o &&
	grep -q "^<- 451 4" o && ./spool_clean
'
test_expect_success 'a pipe exiting 0: 250, and it got the whole message' '
	./send 250 p0 64 - $SF --deliver "pipe:$TEST_DIR/bin/copy $TEST_DIR/p0.got" &&
	grep -q "^Received: from client.example" p0.got &&
	test "$(grep -c "^p0 line" p0.got)" = "$(grep -c "^p0 line" p0.body)" &&
	./spool_clean
'

# ---- maildir and several destinations ----
test_expect_success 'a maildir whose parent is missing: 451, nothing created' '
	./send 451 nop 2 - $SF --deliver "maildir:$TEST_DIR/missing/md" >o &&
	grep -q "^<- 451 4" o && ! test -e missing && ./spool_clean
'
test_expect_success 'a maildir that takes it: 250 and it is there' '
	./send 250 ok1 8 md $SF --deliver "maildir:$TEST_DIR/md" &&
	test -z "$(ls md/tmp)" && ./spool_clean
'
test_expect_success 'a hook adding a header: 250, stored with it' '
	./send 250 hdr 8 md2 $SF --hook-data "$TEST_DIR/bin/addhdr" \
	    --deliver "maildir:$TEST_DIR/md2" &&
	grep -q "^X-Checked: yes$" md2/new/* && ./spool_clean
'
test_expect_success 'second --deliver fails: 451, the first has stored a copy' '
	./send 451 dup 4 - $SF --deliver "maildir:$TEST_DIR/dup" \
	    --deliver "pipe:$TEST_DIR/bin/exit75" >o &&
	test "$(grep -l "^Subject: dup$" dup/new/* | wc -l)" = 1 &&
	./spool_clean
'
test_expect_success 'the retry is a 250 and leaves the documented duplicate' '
	./send 250 dup 4 - $SF --deliver "maildir:$TEST_DIR/dup" \
	    --deliver "pipe:/bin/true" &&
	test "$(grep -l "^Subject: dup$" dup/new/* | wc -l)" = 2
'
test_expect_success 'first --deliver fails: 451, the second is not tried' '
	./send 451 first 4 - $SF --deliver "pipe:$TEST_DIR/bin/exit75" \
	    --deliver "maildir:$TEST_DIR/second" >o &&
	./nothing second && ./spool_clean
'

# ---- the session killed mid-DATA (listener mode) ----
port=$(free_port)
: >listen.log
smtpfront --listen "127.0.0.1:$port" --hostname mx.test $SF \
    --deliver "maildir:$TEST_DIR/kmd" 2>listen.log &
lpid=$!
at_exit "proc_stop $lpid"
n=0
while ! grep -q "listening on" listen.log && [ $n -lt 100 ]; do
	sleep 0.05
	n=$((n + 1))
done
# session_of PID: the first child of PID (the listener's session process)
session_of() {
	for st in /proc/[0-9]*/status; do
		[ "$(sed -n 's/^PPid:[[:space:]]*//p' "$st" 2>/dev/null)" = "$1" ] &&
		    { basename "$(dirname "$st")"; return 0; }
	done
	return 1
}
cat >kill.chat <<'EOF'
< 220
> EHLO client.example
< 250
> MAIL FROM:<sender@client.example>
< 250
> RCPT TO:<user@mx.test>
< 250
> DATA
< 354
> Subject: killed
>
> the first half
sleep 3
> the second half
> .
< 250
EOF
test_expect_success 'session killed with SIGKILL mid-DATA: the client sees it drop' '
	$CHAT --timeout 10 --connect 127.0.0.1:$port kill.chat >kill.out 2>&1 &
	cpid=$! &&
	n=0 && while ! grep -q "^-> the first half" kill.out && [ $n -lt 100 ]; do
		sleep 0.05; n=$((n + 1)); done &&
	spid=$(session_of $lpid) && echo "session $spid" &&
	ls spool/smtpfront.* && kill -9 "$spid" &&
	{ wait $cpid; rc=$?; true; } && cat kill.out &&
	test $rc != 0 && ! grep -q "^<- 250 2.0.0 OK" kill.out &&
	grep -q "connection closed\|Connection reset" kill.out
'
test_expect_success '... and nothing of it reached new/ (or tmp/)' '
	./nothing kmd
'
test_expect_success '... and the listener still takes messages' '
	sed -e "/^sleep/d" -e "s/killed/after/" kill.chat >after.chat &&
	printf "> QUIT\n< 221\n" >>after.chat &&
	$CHAT --connect 127.0.0.1:$port after.chat >after.out &&
	test "$(grep -l "^Subject: after$" kmd/new/* | wc -l)" = 1
'
# What SIGKILL cannot help: the killed session's spool file stays (its
# name is smtpfront.XXXXXX in --spool-dir; nothing reads it).
proc_stop $lpid
rm -f spool/smtpfront.*

# ---- full disks: a 256 KiB tmpfs at disk/ in a mount namespace ----
mkdir disk
disk_ok=
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
    unshare -m sh -c 'mount -t tmpfs -o size=256k tmpfs disk' >/dev/null 2>&1
then
	disk_ok=1
fi
# in_disk CODE: CODE (an sh fragment) in a new mount namespace with a
# fresh, empty 256 KiB tmpfs on disk/; everything on it is gone after.
in_disk() {
	unshare -m sh -c 'mount --make-rprivate / 2>/dev/null
		mount -t tmpfs -o size=256k,mode=0755 tmpfs "$TEST_DIR/disk" ||
		    exit 99
		cd "$TEST_DIR" && eval "$1"' sh "$1"
}
disk_test() {
	if [ -z "$disk_ok" ]; then
		test_skip "$1" "unshare -m or mount -t tmpfs not permitted"
		return
	fi
	test_expect_success "$1" "in_disk '$2'"
}

disk_test 'maildir on a full disk: 451, nothing in tmp/ or new/; then 250' '
	./send 451 big 400 - $SF --deliver "maildir:$TEST_DIR/disk/md" >o &&
	grep -q "^<- 451 4.3.1" o && ./nothing disk/md && ./spool_clean &&
	./send 250 small 8 disk/md $SF --deliver "maildir:$TEST_DIR/disk/md"
'
disk_test 'mbox on a full disk: 451, the mbox byte-identical; then 250' '
	./send 250 m1 16 disk/mbox $SF --deliver "mbox:$TEST_DIR/disk/mbox" &&
	cp disk/mbox mbox.before &&
	./send 451 mbig 400 - $SF --deliver "mbox:$TEST_DIR/disk/mbox" >o &&
	grep -q "^<- 451 4.3.1" o && cmp disk/mbox mbox.before &&
	! test -e disk/mbox.lock && ./spool_clean &&
	./send 250 m2 8 disk/mbox $SF --deliver "mbox:$TEST_DIR/disk/mbox" &&
	head -c $(wc -c <mbox.before) disk/mbox | cmp - mbox.before
'
disk_test 'spool directory on a full disk: 451, nothing delivered, spool empty' '
	mkdir disk/spool &&
	./send 451 sbig 400 - --spool-dir disk/spool \
	    --deliver "maildir:$TEST_DIR/smd" >o &&
	grep -q "^<- 451 4.3.1" o && ./nothing smd && ./spool_clean disk/spool &&
	./send 250 ssmall 8 smd --spool-dir disk/spool \
	    --deliver "maildir:$TEST_DIR/smd"
'
# The copy of the spool file with the hook's header (smtpd_msg.c's
# final_file) is what no longer fits: 150 kB fit once, not twice.
disk_test 'spool full when the hooked copy is made: 451, spool empty; then 250' '
	mkdir disk/spool &&
	./send 451 hbig 150 - --spool-dir disk/spool \
	    --hook-data "$TEST_DIR/bin/addhdr" \
	    --deliver "maildir:$TEST_DIR/hmd" >o &&
	grep -q "^<- 451 4.3.1" o && ./nothing hmd && ./spool_clean disk/spool &&
	./send 250 hsmall 8 hmd --spool-dir disk/spool \
	    --hook-data "$TEST_DIR/bin/addhdr" --deliver "maildir:$TEST_DIR/hmd"
'
disk_test 'two destinations, the second on the full disk: 451, one copy' '
	./send 451 two 400 - $SF --deliver "maildir:$TEST_DIR/tmd" \
	    --deliver "maildir:$TEST_DIR/disk/md" >o &&
	grep -q "^<- 451 4.3.1" o && ./nothing disk/md &&
	test "$(grep -l "^Subject: two$" tmd/new/* | wc -l)" = 1 && ./spool_clean
'

test_done
