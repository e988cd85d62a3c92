#!/bin/sh
# What a hostile or broken client sends, to a smtpfront listening on a
# loopback port; after every case the listener is still up and the next
# client gets its banner.  Over-long lines, NUL, bare LF in the text (and
# --bare-lf reject), the SMTP smuggling sequences (they are data, never an
# end: a fake second transaction inside the text stays text), megabytes of
# garbage (errors, 421, a quick close, and the session's memory stays
# small), a slowloris (a command must arrive whole within --cmd-timeout),
# a UTF-8 address without SMTPUTF8, text lines at the 1000-octet limit.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
PY=/usr/bin/python3
CHAT="$PY $TEST_SRC/rig/smtpchat.py"
mkdir -p spool md mdr

# clean FILE: no sanitizer report in FILE (a -san build's stderr).
clean() {
	! grep -E "Sanitizer|runtime error:" "$1"
}

# start NAME ARG...: a listener on a free port, its stderr in NAME.log;
# sets PORT_NAME and PID_NAME.
start() {
	_s_name=$1
	shift
	_s_port=$(free_port)
	# Under AddressSanitizer freed memory waits in a quarantine (256 MB)
	# that would count as the session's growth in the flood tests.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1" \
	    smtpfront --listen "127.0.0.1:$_s_port" --hostname mx.test \
	    --spool-dir "$TEST_DIR/spool" "$@" 2>"$_s_name.log" </dev/null &
	_s_pid=$!
	at_exit "proc_stop $_s_pid"
	_s_n=0
	until grep -q "listening on 127.0.0.1:$_s_port" "$_s_name.log" 2>/dev/null
	do
		_s_n=$((_s_n + 1))
		if [ $_s_n -gt 100 ] || ! proc_alive $_s_pid; then
			echo "Bail out! smtpfront --listen did not start"
			cat "$_s_name.log"
			exit 1
		fi
		sleep 0.05
	done
	eval "PORT_$_s_name=\$_s_port PID_$_s_name=\$_s_pid"
}

start main --cmd-timeout 2 --deliver "maildir:$TEST_DIR/md"
start rej --bare-lf reject --deliver "maildir:$TEST_DIR/mdr"
start many --max-errors 100000 --deliver "maildir:$TEST_DIR/md"

steps() {
	printf '%s\n' "$@"
}

# chat PORT SCRIPT: the transcript in chat.out.
chat() {
	$CHAT --timeout 20 --connect "127.0.0.1:$1" "$2" >chat.out 2>&1
	_c_rc=$?
	cut -c1-200 chat.out
	return $_c_rc
}

# alive NAME: the listener is up and a new client gets a whole session.
alive() {
	eval "_a_pid=\$PID_$1 _a_port=\$PORT_$1"
	proc_alive "$_a_pid" &&
	steps "< 220" "> EHLO next.example" "< 250" "> QUIT" "< 221" >alive.s &&
	$CHAT --timeout 10 --connect "127.0.0.1:$_a_port" alive.s >alive.out 2>&1 ||
	    { echo "listener $1 is not answering"; cat alive.out; return 1; }
}

nmsg() {
	ls "$1/new" 2>/dev/null | wc -l
}

# ---- command lines ----

LONG=$($PY -c 'print("NOOP " + "x" * 593)')	# 598 + CRLF = 600 octets
test_expect_success 'a 600-octet command line: 500 5.5.2, the session goes on' '
	steps "< 220" "> EHLO c" "< 250" "> $LONG" "< 500" "> NOOP" "< 250" \
	    "> QUIT" "< 221" >s &&
	chat $PORT_main s &&
	grep -q "^<- 500 5.5.2 Line too long$" chat.out && alive main
'

test_expect_success 'a 512-octet command line (the RFC limit) is fine' '
	l=$($PY -c "print(\"NOOP \" + \"x\" * 505)") &&
	steps "< 220" "> EHLO c" "< 250" "> $l" "< 250" "> QUIT" "< 221" >s &&
	chat $PORT_main s && alive main
'

test_expect_success '100 KB without a LF: 500 5.5.2 and the close' '
	head -c 102400 /dev/zero | tr "\0" A >nolf &&
	steps "< 220" ">file nolf" "< 500" "<eof" >s &&
	chat $PORT_main s &&
	grep -q "^<- 500 5.5.2 Line too long$" chat.out &&
	grep -q "line far too long" main.log && alive main
'

test_expect_success 'NUL in a command: 500 5.5.2, the session goes on' '
	steps "< 220" "> EHLO c" "< 250" "> NOOP a\0b" "< 500" \
	    "> MAIL FROM:<a\0@b.example>" "< 500" "> \0" "< 500" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> QUIT" "< 221" >s &&
	chat $PORT_main s &&
	test $(grep -c "^<- 500 5.5.2 " chat.out) = 3 && alive main
'

test_expect_success 'a UTF-8 address without SMTPUTF8: 553 5.6.7' '
	steps "< 220" "> EHLO c" "< 250" "> MAIL FROM:<jörg@bücher.example>" \
	    "< 553" "> MAIL FROM:<a@b.example>" "< 250" \
	    "> RCPT TO:<müller@münchen.example>" "< 553" "> QUIT" "< 221" >s &&
	chat $PORT_main s &&
	test $(grep -c "^<- 553 5.6.7 " chat.out) = 2 && alive main
'

# ---- the text ----

TXN='< 220
> EHLO c
< 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<c@d.example>
< 250
> DATA
< 354'

test_expect_success 'bare LF in the text: stored as a line end (default)' '
	rm -rf md/new/* &&
	{ echo "$TXN"; steps ">> Subject: lf\r\n\r\none\ntwo\r\n.dot\nthree\r\n.\r\n" \
	    "< 250" "> QUIT" "< 221"; } >s &&
	chat $PORT_main s && test $(nmsg md) = 1 &&
	sed "1,/^$/d" md/new/* >got && printf "one\ntwo\ndot\nthree\n" >want &&
	diff -u want got && alive main
'

test_expect_success '--bare-lf reject: 554 5.5.2 after the dot, nothing stored' '
	{ echo "$TXN"; steps ">> Subject: lf\r\n\r\none\ntwo\r\n.\r\n" "< 554" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> QUIT" "< 221"; } >s &&
	chat $PORT_rej s &&
	grep -q "^<- 554 5.5.2 Message contains bare LF characters" chat.out &&
	test $(nmsg mdr) = 0 && alive rej
'

test_expect_success '--bare-lf reject: a clean message is taken' '
	{ echo "$TXN"; steps "> Subject: ok" ">" "> fine" "> ." "< 250" \
	    "> QUIT" "< 221"; } >s &&
	chat $PORT_rej s && test $(nmsg mdr) = 1
'

FAKE='MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@d.example>\r\nDATA\r\nFrom: ceo@d.example\r\nSubject: fake\r\n\r\nsmuggled\r\n'
n=0
for case in 'LF.LF:\n.\n' 'LF.CRLF:\n.\r\n' 'CRLF.LF:\r\n.\n' \
    'CR.CRLF:\r.\r\n'; do
	n=$((n + 1)) name=${case%%:*} seq=${case#*:}
	test_expect_success "smuggling: $name does not end the data" "
		rm -rf md/new/* &&
		{ echo \"\$TXN\"; steps \">> Subject: real\r\n\r\nbody$seq$FAKE\" \
		    '> .' '< 250' '> QUIT' '< 221'; } >s &&
		chat \$PORT_main s &&
		test \$(grep -c '^<- 250 2.0.0 OK id=' chat.out) = 1 &&
		test \$(grep -c '^<- 354' chat.out) = 1 &&
		test \$(nmsg md) = 1 && f=\$(ls md/new/*) &&
		grep -q '^Subject: real\$' \$f &&
		grep -q '^MAIL FROM:<evil@attacker.example>\$' \$f &&
		grep -q '^RCPT TO:<victim@d.example>\$' \$f &&
		grep -q '^smuggled\$' \$f &&
		! grep -q 'for <victim@d.example>' \$f &&
		alive main
	"
done

# A line of N octets before its CRLF.
line_of() {
	$PY -c "print(\"z\" * $1)"
}

for len in 997:250 998:250 999:554 1001:554; do
	l=${len%%:*} code=${len#*:}
	test_expect_success "a text line of $l octets + CRLF: $code" "
		{ echo \"\$TXN\"; steps '> Subject: long' '>' \"> \$(line_of $l)\" \
		    '> .' '< $code' '> NOOP' '< 250' '> QUIT' '< 221'; } >s &&
		chat \$PORT_main s &&
		{ [ $code = 250 ] || grep -q '^<- 554 5.6.0 Message line longer than 998 octets' chat.out; }
	"
done

test_expect_success 'a dot-stuffed line counts as sent: "." + 998 is too long' '
	{ echo "$TXN"; steps "> Subject: long" ">" "> .$(line_of 998)" \
	    "> ." "< 554" "> QUIT" "< 221"; } >s &&
	chat $PORT_main s && alive main
'

# ---- floods and slow clients ----

# flood.py PORT LOG MODE MB [ehlo] [read] [quit]: send MB megabytes
# (MODE: junk lines, junk500 lines of 500 octets, "rset" lines, "nolf"
# octets) after the banner (and EHLO), then QUIT; "read" reads the
# replies as they come.  Prints: seconds until the
# server closed or the sending ended, the session's largest VmRSS seen
# (kB, by its pid from LOG) and its VmRSS at the start, the replies'
# first codes.
cat >flood.py <<'EOF'
import os, re, socket, sys, threading, time
port, log, mode, mb = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
opts = sys.argv[5:]
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(30)
f = s.makefile("rb")
assert f.readline().startswith(b"220 ")
me = "[127.0.0.1]:%d" % s.getsockname()[1]
pid = None
for _ in range(200):
    for l in open(log, errors="replace"):
        if me in l and "SMTP connection from" in l:
            pid = int(re.search(r"\[(\d+)\]", l).group(1))
    if pid:
        break
    time.sleep(0.02)
assert pid, "no log line for " + me
def rss():
    try:
        st = open("/proc/%d/status" % pid).read()
        return int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
    except (OSError, AttributeError):
        return 0
if "ehlo" in opts:
    s.sendall(b"EHLO flood.example\r\n")
    while f.readline()[3:4] != b" ":
        pass
start_rss = rss()
line = {"junk": b"\x01 garbage ~~~ %%% \x7f junk\r\n", "rset": b"RSET\r\n",
        "junk500": b"\x01 junk " + b"~" * 488 + b"\r\n",
        "nolf": b"G" * 1024}[mode]
chunk = line * (65536 // len(line))
replies = []
def reader():
    buf = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                l, buf = buf.split(b"\n", 1)
                replies.append(l[:3].decode())
    except OSError:
        pass
t = threading.Thread(target=reader, daemon=True)
if "read" in opts:
    t.start()
peak, sent, t0 = start_rss, 0, time.time()
try:
    while sent < mb * 1048576:
        s.sendall(chunk)
        sent += len(chunk)
        peak = max(peak, rss())
except OSError as e:
    print("send: " + str(e))
peak = max(peak, rss())
if "quit" in opts:
    s.sendall(b"QUIT\r\n")
if "read" not in opts:
    s.settimeout(10)
    t.start()
t.join(20)
print("secs=%.1f peak=%d start=%d sent=%d" % (time.time() - t0, peak,
                                           start_rss, sent))
print("codes=" + ",".join(sorted(set(replies))))
print("last=" + (replies[-1] if replies else ""))
print("n500=%d" % replies.count("500"))
print("lines=%d" % (sent // len(line)))
EOF

# flood_ok OUT MAXSECS: the flood ended within MAXSECS and the session's
# memory grew by less than 8 MB (it holds 16 KB of input and at most 64 KB
# of replies).
flood_ok() {
	cat "$1" &&
	secs=$(sed -n "s/^secs=\([0-9]*\).*/\1/p" "$1") &&
	peak=$(sed -n "s/.* peak=\([0-9]*\).*/\1/p" "$1") &&
	st=$(sed -n "s/.* start=\([0-9]*\).*/\1/p" "$1") &&
	test "$secs" -lt "$2" && test $((peak - st)) -lt 8192
}

test_expect_success '10 MB of garbage lines before EHLO: 500s, 421, closed at once' '
	$PY flood.py $PORT_main main.log junk 10 >fl &&
	flood_ok fl 10 &&
	grep -qx "last=421" fl && grep -qx "n500=11" fl &&
	grep -q "too many syntax or protocol errors" main.log && alive main
'

test_expect_success '10 MB without a LF before EHLO: 500, closed at once' '
	$PY flood.py $PORT_main main.log nolf 10 >fl &&
	flood_ok fl 10 && grep -qx "last=500" fl && alive main
'

test_expect_success '10 MB of garbage, --max-errors 100000: read through, memory small' '
	$PY flood.py $PORT_many many.log junk500 10 read quit >fl &&
	flood_ok fl 60 && grep -qx "last=221" fl && grep -qx "codes=221,500" fl &&
	grep -qx "n500=$(sed -n "s/^lines=//p" fl)" fl && alive many
'

test_expect_success '10 MB of pipelined RSET, replies read: memory small' '
	$PY flood.py $PORT_many many.log rset 10 ehlo read quit >fl &&
	flood_ok fl 60 && grep -qx "codes=221,250" fl && alive many
'

test_expect_success 'pipelined RSET, replies never read: bounded, ends at the write timeout' '
	$PY flood.py $PORT_main main.log rset 10 ehlo >fl &&
	flood_ok fl 30 && alive main
'

# slow.py PORT TEXT: send TEXT one octet every 0.2 s after the banner;
# print the seconds from the first octet to the server's reply and it.
cat >slow.py <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(0.2)
f = s.makefile("rb")
s.settimeout(10)
assert f.readline().startswith(b"220 ")
s.settimeout(0.2)
data = sys.argv[2].encode()
t0, got = time.time(), b""
for i in range(len(data) * 2):
    try:
        if i < len(data):
            s.send(data[i:i + 1])
    except OSError:
        pass
    try:
        d = s.recv(4096)
        if not d:
            break
        got += d
        if b"\n" in got:
            break
    except socket.timeout:
        pass
print("secs=%.1f" % (time.time() - t0))
print("reply=" + got.decode(errors="replace").strip())
EOF

test_expect_success 'slowloris (a byte per 0.2 s), --cmd-timeout 2: 421 within the timeout' '
	$PY slow.py $PORT_main "EHLO slowly.sending.a.long.name.example" >sl &&
	cat sl &&
	grep -qx "reply=421 4.4.2 mx.test SMTP command timeout - closing connection" sl &&
	secs=$(sed -n "s/^secs=\([0-9]*\).*/\1/p" sl) && test "$secs" -lt 4 &&
	alive main
'

test_expect_success 'the listeners are all still up' '
	alive main && alive rej && alive many
'

test_expect_success 'no sanitizer report from the listeners or their sessions' '
	clean main.log && clean rej.log && clean many.log
'

test_expect_success 'no spool file is left behind' '
	ls -A spool >left && test ! -s left
'

test_done
