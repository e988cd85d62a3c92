#!/bin/sh
# BDAT (RFC 3030 CHUNKING) through smtpfront, with t/rig/smtpchat.py
# (swaks has no BDAT): chunks of any size cut anywhere, a CRLF split
# between two chunks, BDAT 0 LAST, a chunk far larger than the I/O buffer,
# and what is stored compared byte for byte with what was sent (in its LF
# form: BDAT has no dot stuffing, only CRLF becomes LF).  Then the errors:
# BDAT without a transaction (the chunk is still read, so the session
# stays in step), over --max-size, DATA or RSET in the middle.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"
mkdir -p spool

# clean FILE: no sanitizer report in FILE (a -san build's stderr).
clean() {
	! grep -E "Sanitizer|runtime error:" "$1"
}

# chat SCRIPT ARG...: the transcript in chat.out, stderr in chat.log.
chat() {
	_c_s=$1
	shift
	$CHAT --exec smtpfront --hostname mx.test --spool-dir "$TEST_DIR/spool" \
	    "$@" "$_c_s" >chat.out 2>chat.log
	_c_rc=$?
	clean chat.log || _c_rc=1
	grep -v '^-> [^A-Z]' chat.out | cut -c1-200
	return $_c_rc
}

steps() {
	printf '%s\n' "$@"
}

TXN='< 220
> EHLO client.example
< 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<c@d.example>
< 250'

# gen.py MSG NAME SPEC: a smtpchat script on stdout that sends MSG in
# BDAT chunks, each "BDAT n" line and its octets in one file NAME.K.
# SPEC: sizes separated by commas (the rest, if any, is one more chunk);
# "cr": cut after every CR (each CRLF split between two chunks);
# a final ",0": the end is a separate "BDAT 0 LAST".
cat >gen.py <<'EOF'
import sys
msg = open(sys.argv[1], "rb").read()
name, spec = sys.argv[2], sys.argv[3]
zero_last = spec.endswith(",0")
if zero_last:
    spec = spec[:-2]
chunks = []
if spec == "cr":
    start = 0
    for i, b in enumerate(msg):
        if b == 13:
            chunks.append(msg[start:i + 1])
            start = i + 1
    chunks.append(msg[start:])
else:
    off = 0
    for sz in [int(x) for x in spec.split(",") if x]:
        chunks.append(msg[off:off + sz])
        off += sz
    if off < len(msg):
        chunks.append(msg[off:])
for k, c in enumerate(chunks):
    last = k == len(chunks) - 1 and not zero_last
    path = "%s.%d" % (name, k)
    with open(path, "wb") as f:
        f.write(b"BDAT %d%s\r\n" % (len(c), b" LAST" if last else b"") + c)
    print(">file " + path)
    print("< 250")
if zero_last:
    print("> BDAT 0 LAST")
    print("< 250")
EOF

# stored.py FILE MSG: FILE (a maildir file) is our Received: and then MSG
# with CRLF as LF, exactly.
cat >stored.py <<'EOF'
import sys
got = open(sys.argv[1], "rb").read()
want = open(sys.argv[2], "rb").read().replace(b"\r\n", b"\n")
lines = got.split(b"\n")
# (a Return-Path: that delivery may put first is not what we received)
if lines[0].startswith(b"Return-Path: "):
    lines = lines[1:]
assert lines[0].startswith(b"Received: from "), lines[0]
n = 1
while lines[n].startswith(b"\t"):
    n += 1
body = b"\n".join(lines[n:])
if body != want:
    for i, (a, b) in enumerate(zip(body, want)):
        if a != b:
            break
    else:
        i = min(len(body), len(want))
    sys.exit("differs at octet %d (stored %d, sent %d): %r vs %r" % (
        i, len(body), len(want), body[i:i + 20], want[i:i + 20]))
EOF

# A message with what DATA would treat specially: dot lines, a lone ".",
# a bare CR, a bare LF, 8-bit text, a long (998-octet) line.
/usr/bin/python3 - <<'EOF'
import random
r = random.Random(3030)
m = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: chunks\r\n\r\n"
m += b".\r\n..two dots\r\n.one dot\r\nbare\rCR\r\nbare\nLF\r\n"
m += "gr\u00fc\u00dfe\r\n".encode("utf-8")
m += b"x" * 998 + b"\r\n"
for i in range(40):
    m += bytes(r.choice(b"abcdefghij .,:") for _ in range(r.randrange(0, 80)))
    m += b"\r\n"
open("msg.txt", "wb").write(m)
# 150 KB of lines for the big chunk.
big = b"Subject: big\r\n\r\n" + b"".join(
    b"%06d " % i + b"y" * 70 + b"\r\n" for i in range(2000))
open("big.txt", "wb").write(big)
EOF

# send NAME MSG SPEC [ARG...]: one message in BDAT chunks; stored in
# md-NAME, checked byte for byte.
send() {
	_s_name=$1 _s_msg=$2 _s_spec=$3
	shift 3
	rm -rf "md-$_s_name" &&
	{ echo "$TXN"; /usr/bin/python3 gen.py "$_s_msg" "c-$_s_name" "$_s_spec" &&
	    steps "> QUIT" "< 221"; } >"s-$_s_name" &&
	chat "s-$_s_name" --deliver "maildir:$TEST_DIR/md-$_s_name" "$@" &&
	test "$(ls "md-$_s_name/new" | wc -l)" = 1 &&
	/usr/bin/python3 stored.py "md-$_s_name"/new/* "$_s_msg"
}

test_expect_success 'one chunk with LAST: stored exactly (LF form)' '
	send one msg.txt "" &&
	grep -q "^<- 250 2.0.0 OK id=" chat.out
'

test_expect_success 'chunks of 1, 2, 3, 5, 8 ... octets, the replies per chunk' '
	send fib msg.txt 1,2,3,5,8,13,21,34,55,89,144,233,377,610 &&
	grep -q "^<- 250 2.0.0 1 byte chunk received$" chat.out &&
	grep -q "^<- 250 2.0.0 610 byte chunk received$" chat.out
'

test_expect_success 'every CRLF split between two chunks is stored as one LF' '
	send cr msg.txt cr &&
	test $(grep -c "^<- 250 2.0.0 .* byte chunk received$" chat.out) -gt 40 &&
	! grep -q "$(printf "\r")$" md-cr/new/*
'

test_expect_success 'the last CRLF split: its LF alone in the LAST chunk' '
	printf "Subject: x\r\n\r\nend\r\n" >cr-end.txt &&
	send crend cr-end.txt 18 &&
	test $(wc -c <c-crend.1) = 14
'

test_expect_success 'the end as a separate BDAT 0 LAST' '
	send zero msg.txt 100,0,200,0 &&
	grep -q "^<- 250 2.0.0 0 byte chunk received$" chat.out
'

test_expect_success 'a message of BDAT 0 LAST alone: our Received: only' '
	{ echo "$TXN"; steps "> BDAT 0 LAST" "< 250" "> QUIT" "< 221"; } >s &&
	rm -rf md-empty && chat s --deliver maildir:$TEST_DIR/md-empty &&
	: >empty.txt && /usr/bin/python3 stored.py md-empty/new/* empty.txt
'

test_expect_success 'a 100 KB chunk (larger than the I/O buffer), then the rest' '
	send big big.txt 100000 &&
	grep -q "^<- 250 2.0.0 100000 byte chunk received$" chat.out
'

test_expect_success 'the whole 150 KB in one LAST chunk' '
	send big1 big.txt ""
'

test_expect_success 'chunks pipelined: commands and octets in one write' '
	printf "BDAT 12\r\nSubject: p\r\nBDAT 2\r\n\r\nBDAT 6 LAST\r\nhello\n" >pipe.0 &&
	{ echo "$TXN"; steps ">file pipe.0" "< 250" "< 250" "< 250" \
	    "> QUIT" "< 221"; } >s &&
	rm -rf md-p && chat s --deliver maildir:$TEST_DIR/md-p &&
	printf "Subject: p\r\n\r\nhello\n" >pipe.want &&
	/usr/bin/python3 stored.py md-p/new/* pipe.want
'

test_expect_success 'two messages by BDAT in one session' '
	{ echo "$TXN"; steps ">> BDAT 3 LAST\r\none" "< 250" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<c@d.example>" \
	    "< 250" ">> BDAT 3 LAST\r\ntwo" "< 250" "> QUIT" "< 221"; } >s &&
	rm -rf md-2 && chat s --deliver maildir:$TEST_DIR/md-2 &&
	test $(ls md-2/new | wc -l) = 2
'

# ---- errors ----

test_expect_success 'BDAT without MAIL: 503, and its octets are read, not run' '
	steps "< 220" "> EHLO x" "< 250" ">> BDAT 6\r\nQUIT\r\n" "< 503" \
	    "> NOOP" "< 250" ">> BDAT 10 LAST\r\nRSET\r\nQUIT" "< 503" \
	    "> NOOP" "< 250" "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md-x &&
	grep -q "^<- 503 5.5.1 valid RCPT command must precede BDAT$" chat.out &&
	test $(grep -c "^<- 221" chat.out) = 1
'

test_expect_success 'BDAT without RCPT: 554, its octets are read' '
	steps "< 220" "> EHLO x" "< 250" "> MAIL FROM:<a@b.example>" "< 250" \
	    ">> BDAT 6 LAST\r\nQUIT\r\n" "< 554" "> NOOP" "< 250" \
	    "> QUIT" "< 221" >s &&
	chat s --deliver maildir:$TEST_DIR/md-x
'

test_expect_success 'a chunk over --max-size: 552, the session goes on' '
	head -c 5000 /dev/zero | tr "\0" x >x5000 &&
	{ echo "$TXN"; steps ">> BDAT 5000\r\n" ">file x5000" "< 552" \
	    "> NOOP" "< 250" "> BDAT 0 LAST" "< 503" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<c@d.example>" \
	    "< 250" ">> BDAT 5000 LAST\r\n" ">file x5000" "< 552" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<c@d.example>" \
	    "< 250" ">> BDAT 5 LAST\r\nsmall" "< 250" "> QUIT" "< 221"; } >s &&
	rm -rf md-big && chat s --max-size 4k --deliver maildir:$TEST_DIR/md-big &&
	test $(grep -c "^<- 552 5.3.4 Message size exceeds fixed maximum message size$" chat.out) = 2 &&
	test $(ls md-big/new | wc -l) = 1 && grep -q "^small$" md-big/new/*
'

test_expect_success 'the limit counts every chunk: 3 x 2000 over 4k is 552' '
	head -c 2000 /dev/zero | tr "\0" y >y2000 &&
	{ echo "$TXN"; steps ">> BDAT 2000\r\n" ">file y2000" "< 250" \
	    ">> BDAT 2000\r\n" ">file y2000" "< 250" \
	    ">> BDAT 2000 LAST\r\n" ">file y2000" "< 552" \
	    "> QUIT" "< 221"; } >s &&
	rm -rf md-3 && chat s --max-size 4k --deliver maildir:$TEST_DIR/md-3 &&
	! test -d md-3/new -a -n "$(ls md-3/new 2>/dev/null)"
'

test_expect_success 'DATA in a BDAT transaction: 503, the transaction is gone' '
	{ echo "$TXN"; steps ">> BDAT 3\r\nabc" "< 250" "> DATA" "< 503" \
	    ">> BDAT 3 LAST\r\ndef" "< 503" "> NOOP" "< 250" \
	    "> QUIT" "< 221"; } >s &&
	rm -rf md-d && chat s --deliver maildir:$TEST_DIR/md-d &&
	grep -q "^<- 503 5.5.1 BDAT sequence interrupted$" chat.out &&
	! test -n "$(ls md-d/new 2>/dev/null)"
'

test_expect_success 'RSET in a BDAT transaction: 250, the next one is whole' '
	{ echo "$TXN"; steps ">> BDAT 4\r\nold " "< 250" "> RSET" "< 250" \
	    "> BDAT 0 LAST" "< 503" \
	    "> MAIL FROM:<a@b.example>" "< 250" "> RCPT TO:<c@d.example>" \
	    "< 250" ">> BDAT 3 LAST\r\nnew" "< 250" "> QUIT" "< 221"; } >s &&
	rm -rf md-r && chat s --deliver maildir:$TEST_DIR/md-r &&
	test $(ls md-r/new | wc -l) = 1 && printf new >new.want &&
	/usr/bin/python3 stored.py md-r/new/* new.want
'

test_expect_success 'NOOP between chunks is allowed' '
	{ echo "$TXN"; steps ">> BDAT 3\r\nabc" "< 250" "> NOOP" "< 250" \
	    ">> BDAT 3 LAST\r\ndef" "< 250" "> QUIT" "< 221"; } >s &&
	rm -rf md-n && chat s --deliver maildir:$TEST_DIR/md-n &&
	printf abcdef >n.want && /usr/bin/python3 stored.py md-n/new/* n.want
'

test_expect_success 'BDAT syntax errors: 501' '
	{ echo "$TXN"; steps "> BDAT" "< 501" "> BDAT x" "< 501" \
	    "> BDAT 1 FIRST" "< 501" "> BDAT -1" "< 501" "> QUIT" "< 221"; } >s &&
	chat s --deliver maildir:$TEST_DIR/md-x
'

test_expect_success '--no-chunking: no CHUNKING, BDAT is 500' '
	{ echo "$TXN"; steps "> BDAT 0 LAST" "< 500" "> QUIT" "< 221"; } >s &&
	chat s --no-chunking --deliver maildir:$TEST_DIR/md-x &&
	! grep -q CHUNKING chat.out &&
	grep -q "^<- 500 5.5.1 Command unrecognized$" chat.out
'

test_expect_success 'no spool file is left behind' '
	ls -A spool >left && test ! -s left
'

test_done
