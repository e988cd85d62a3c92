#!/bin/sh
# The Received-SPF field (RFC 7208 section 9.1) parsed back by a strict
# checker of its grammar, for every result, both client families, the null
# sender, HELO scope and the best guess (X-SPF-Guess); and filter mode:
# the field on top of LF and CRLF messages (and under an mbox From_ line),
# the message otherwise byte for byte.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

PY=/usr/bin/python3
require_bin spfcheck

# rspf.py FILE RESULT IP SENDER HELO [NAME]: FILE holds one field as
# written (folded, with its line ends) or, with --unfolded, one line.
# Checks the RFC 7208 9.1 grammar strictly (RFC 5322 CFWS, dot-atom and
# quoted-string, ASCII only) and what the keys say.
cat >rspf.py <<'EOF'
import re, sys

ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            "!#$%&'*+-/=?^_`{|}~")
RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror",
           "permerror")

class Bad(Exception):
    pass

class P:
    def __init__(self, s):
        self.s, self.i = s, 0
    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""
    def wsp(self):
        n = self.i
        while self.peek() in (" ", "\t") and self.peek():
            self.i += 1
        return self.i > n
    def comment(self):
        if self.peek() != "(":
            return None
        start = self.i
        self.i += 1
        depth = 1
        while depth:
            c = self.peek()
            if not c:
                raise Bad("unterminated comment")
            if c == "\\":
                if self.i + 1 >= len(self.s) or not (
                        " " <= self.s[self.i + 1] <= "~" or self.s[self.i + 1] == "\t"):
                    raise Bad("bad quoted-pair in comment")
                self.i += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif not (c in " \t" or "!" <= c <= "~"):
                raise Bad("bad character %r in comment" % c)
            self.i += 1
        return self.s[start:self.i]
    def cfws(self):
        got = False
        while True:
            if self.wsp():
                got = True
            elif self.comment() is not None:
                got = True
            else:
                return got
    def dot_atom(self):
        n = self.i
        while self.peek() and self.peek() in ATEXT:
            self.i += 1
            if self.peek() == "." and self.i + 1 < len(self.s) and self.s[self.i + 1] in ATEXT:
                self.i += 1
        return self.s[n:self.i] if self.i > n else None
    def quoted(self):
        if self.peek() != '"':
            return None
        self.i += 1
        out = []
        while True:
            c = self.peek()
            if not c:
                raise Bad("unterminated quoted-string")
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                nxt = self.s[self.i + 1:self.i + 2]
                if not nxt or not (" " <= nxt <= "~" or nxt == "\t"):
                    raise Bad("bad quoted-pair")
                out.append(nxt)
                self.i += 2
            elif c in " \t" or c == "!" or "#" <= c <= "[" or "]" <= c <= "~":
                out.append(c)
                self.i += 1
            else:
                raise Bad("bad character %r in quoted-string" % c)

def unfold(raw, eol):
    lines = raw.split(eol)
    if lines[-1] != "":
        raise Bad("the field does not end with its line end")
    lines = lines[:-1]
    for n, l in enumerate(lines):
        if "\r" in l or "\n" in l:
            raise Bad("stray CR or LF in line %d" % (n + 1))
        if n > 0 and l[:1] not in (" ", "\t"):
            raise Bad("line %d is not a continuation" % (n + 1))
        if not l.strip():
            raise Bad("line %d is only white space" % (n + 1))
        if len(l) > 78 and " " in l.strip() and "\t" not in l.strip():
            raise Bad("line %d is %d long and could be folded" % (n + 1, len(l)))
        if len(l) > 998:
            raise Bad("line %d longer than 998" % (n + 1))
    return "".join(lines)

def parse(line, names=("Received-SPF", "X-SPF-Guess")):
    if any(ord(c) > 126 or (ord(c) < 32 and c != "\t") for c in line):
        raise Bad("non-ASCII or control character")
    m = re.match(r"([A-Za-z-]+):", line)
    if not m or m.group(1) not in names:
        raise Bad("field name %r" % (m.group(1) if m else line[:20]))
    p = P(line[m.end():])
    p.cfws()
    res = None
    for r in sorted(RESULTS, key=len, reverse=True):
        if p.s.startswith(r, p.i):
            res = r
            p.i += len(r)
            break
    if res is None:
        raise Bad("no result word at %r" % p.s[p.i:p.i + 20])
    kv, comment = {}, None
    if p.i == len(p.s):
        return m.group(1), res, comment, kv
    if not p.wsp():
        raise Bad("no FWS after the result")
    if p.peek() == "(":
        comment = p.comment()
        if p.i < len(p.s) and not p.wsp():
            raise Bad("no FWS after the comment")
    while p.i < len(p.s):
        k = re.match(r"[A-Za-z][A-Za-z0-9_.-]*", p.s[p.i:])
        if not k:
            raise Bad("no key at %r" % p.s[p.i:p.i + 20])
        key = k.group(0)
        p.i += k.end()
        p.cfws()
        if p.peek() != "=":
            raise Bad("no = after %s" % key)
        p.i += 1
        p.cfws()
        v = p.quoted()
        if v is None:
            v = p.dot_atom()
        if v is None:
            raise Bad("%s: value is neither dot-atom nor quoted-string: %r"
                      % (key, p.s[p.i:p.i + 20]))
        p.cfws()
        if key.lower() in kv:
            raise Bad("key %s twice" % key)
        kv[key.lower()] = v
        if p.peek() == ";":
            p.i += 1
            p.cfws()
        elif p.i < len(p.s):
            raise Bad("no ; after %s at %r" % (key, p.s[p.i:p.i + 20]))
    return m.group(1), res, comment, kv

def main():
    args = sys.argv[1:]
    unfolded = args[0] == "--unfolded"
    if unfolded:
        args = args[1:]
    path, want, ip, sender, helo = args[:5]
    name = args[5] if len(args) > 5 else "Received-SPF"
    raw = open(path, "rb").read().decode("ascii")
    if unfolded:
        line = raw.rstrip("\n")
        if "\n" in line:
            raise Bad("more than one line")
    else:
        eol = "\r\n" if "\r\n" in raw else "\n"
        line = unfold(raw, eol)
    fname, res, comment, kv = parse(line)
    if fname != name:
        raise Bad("named %s, wanted %s" % (fname, name))
    if res != want:
        raise Bad("result %s, wanted %s" % (res, want))
    if comment is None:
        raise Bad("no comment")
    for k in ("client-ip", "receiver", "identity"):
        if k not in kv:
            raise Bad("no %s" % k)
    # A HELO check has no envelope sender to report.
    if kv["identity"] == "mailfrom" and "envelope-from" not in kv:
        raise Bad("no envelope-from")
    ips = {ip}
    if ip.lower().startswith("::ffff:"):
        ips.add(ip[7:])
    if kv["client-ip"] not in ips:
        raise Bad("client-ip %s, wanted %s" % (kv["client-ip"], ip))
    if "envelope-from" in kv and kv["envelope-from"] not in sender.split("|"):
        raise Bad("envelope-from %s, wanted %s" % (kv["envelope-from"], sender))
    if helo != "-" and kv.get("helo") != helo:
        raise Bad("helo %s, wanted %s" % (kv.get("helo"), helo))
    if kv["receiver"] != "mx.test":
        raise Bad("receiver %s" % kv["receiver"])
    if kv["identity"] not in ("mailfrom", "helo"):
        raise Bad("identity %s" % kv["identity"])
    if res in ("pass", "fail", "softfail", "neutral") and "mechanism" not in kv:
        raise Bad("no mechanism for %s" % res)
    if res in ("permerror", "temperror") and "problem" not in kv:
        raise Bad("no problem for %s" % res)

try:
    main()
except Bad as e:
    sys.exit("rspf: %s" % e)
EOF

dns_zone_begin spf.test spf.zone
cat >>spf.zone <<'EOF'
pass		TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
soft		TXT "v=spf1 ip4:192.0.2.1 ~all"
neutral		TXT "v=spf1 ip4:192.0.2.1 ?all"
nospf		A 192.0.2.50
perm		TXT "v=spf1 ip4:192.0.2.300 -all"
exp		TXT "v=spf1 -all exp=why.exp.spf.test"
why.exp		TXT "You (%{l}) \"may\" not; see http://%{d}/why?%{i} ; ok"
helo		TXT "v=spf1 ip4:192.0.2.25 -all"
long		TXT "v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 ip4:192.0.2.4 " "ip4:192.0.2.5 ip4:192.0.2.6 ip4:192.0.2.7 ip4:192.0.2.8 ip4:192.0.2.9 ip4:192.0.2.10 -all"
EOF
for r in 2.0.192 100.51.198; do dns_zone_begin $r.in-addr.arpa $r.zone; done
dns_rig_start spf.test=spf.zone 2.0.192.in-addr.arpa=2.0.192.zone \
	100.51.198.in-addr.arpa=100.51.198.zone ||
	{ echo "Bail out! cannot start the DNS rig"; exit 1; }

OPTS="--receiver mx.test"

cat >msg.eml <<'EOF'
Received: from mail.example.test (mail.example.test [192.0.2.1])
	by mx.test with ESMTP; Mon, 01 Jan 2024 12:00:02 +0000
From: Alice <alice@pass.spf.test>
To: Bob <bob@example.test>
Subject: SPF test
Date: Mon, 01 Jan 2024 12:00:00 +0000
Message-ID: <spf1@pass.spf.test>

Hello Bob,
 a line with a leading space and a trailing one 
EOF
sed 's/$/\r/' msg.eml >msg-crlf.eml
{ echo "From alice@pass.spf.test Mon Jan  1 12:00:00 2024"; cat msg.eml; } >msg-from.eml
printf 'no header, no line end' >noeol.eml

# top FILE: the first field of FILE as written (first line and its
# continuations, line ends kept); rest FILE: everything after it.
top() { "$PY" -c '
import re, sys
d = open(sys.argv[1], "rb").read()
m = re.match(rb"[^\n]*\n(?:[ \t][^\n]*\n)*", d)
sys.stdout.buffer.write(d[:m.end()] if sys.argv[2] == "top" else d[m.end():])' "$1" "${2:-top}"; }
rest() { top "$1" rest; }

# ---- the grammar, for every result ------------------------------------------------

while read -r name want exit ip sender helo extra; do
	# the null sender: envelope-from is empty (what the envelope said) or
	# the identity checked
	case $sender in '<>') env_from="|postmaster@$helo" ;; *) env_from=$sender ;; esac
	[ "$extra" = helo ] && env_from="$sender|postmaster@$helo"
	fname=Received-SPF
	case $extra in guess) fname=X-SPF-Guess ;; esac
	xopt=
	case $extra in guess) xopt=--guess ;; helo) xopt="--scope helo" ;; esac
	test_expect_success "$name: Received-SPF is well-formed, folded and unfolded" "
		spfcheck -o kv $OPTS $xopt -i $ip -s '$sender' -e $helo >$name.kv; st=\$?
		[ \$st = $exit ] || { echo \"exit \$st, wanted $exit\"; exit 1; }
		kvget spf_received $name.kv >$name.line &&
		'$PY' rspf.py --unfolded $name.line $want $ip '$env_from' $helo $fname &&
		spfcheck -f $OPTS $xopt -i $ip -s '$sender' -e $helo msg.eml >$name.out &&
		top $name.out >$name.field &&
		'$PY' rspf.py $name.field $want $ip '$env_from' $helo $fname &&
		rest $name.out | cmp - msg.eml &&
		[ \"\$(tr -d '\n' <$name.field | tr -s ' \t' '  ')\" = \
		  \"\$(tr -s ' \t' '  ' <$name.line | tr -d '\n')\" ]
	"
done <<EOF
pass4		pass		0 192.0.2.1		a@pass.spf.test		mail.example.test
pass6		pass		0 2001:db8::1		a@pass.spf.test		mail.example.test
mapped		pass		0 ::ffff:192.0.2.1	a@pass.spf.test		mail.example.test
fail4		fail		1 198.51.100.1		a@pass.spf.test		mail.example.test
fail6		fail		1 2001:db9::1		a@pass.spf.test		mail.example.test
softfail	softfail	2 198.51.100.1		a@soft.spf.test		mail.example.test
neutral		neutral		3 198.51.100.1		a@neutral.spf.test	mail.example.test
none		none		4 192.0.2.1		a@nospf.spf.test	mail.example.test
permerror	permerror	5 192.0.2.1		a@perm.spf.test		mail.example.test
exp		fail		1 192.0.2.1		a.b@exp.spf.test	mail.example.test
null		pass		0 192.0.2.25		<>			helo.spf.test
helo		pass		0 192.0.2.25		x@pass.spf.test		helo.spf.test helo
guess		pass		0 192.0.2.60		a@nospf.spf.test	mail.example.test guess
long		pass		0 192.0.2.10		a@long.spf.test		mail.example.test
EOF

cat >odd.py <<'EOF'
import sys
exec(open("rspf.py").read().split("def main")[0])
name, res, comment, kv = parse(open("odd.line").read().rstrip("\n"))
assert kv["envelope-from"] == open("odd.sender").read(), kv
EOF
printf '%s' '"odd; one"(x)@pass.spf.test' >odd.sender

test_expect_success 'an odd sender is quoted, not pasted' '
	spfcheck -o kv $OPTS -i 192.0.2.1 -s "$(cat odd.sender)" -e h.test >odd.kv; st=$?
	[ $st = 0 ] || [ $st = 4 ] || [ $st = 5 ] || exit 1
	kvget spf_received odd.kv >odd.line && cat odd.line &&
	"$PY" odd.py
'

test_expect_success 'the strict checker itself refuses broken fields' '
	for f in "Received-SPF: pass client-ip=1.2.3.4" \
	    "Received-SPF: passed (x) client-ip=1.2.3.4;" \
	    "Received-SPF: pass (x client-ip=1.2.3.4;" \
	    "Received-SPF: pass (x) client-ip=2001:db8::1;" \
	    "Received-SPF: pass (x) envelope-from=a b@c;" \
	    "Received-SPF: pass (x) client-ip=1.2.3.4 helo=x;"; do
		printf "%s\n" "$f" >bad.line
		! "$PY" rspf.py --unfolded bad.line pass 1.2.3.4 a@b - 2>/dev/null || { echo "accepted: $f"; exit 1; }
	done
'

# ---- filter mode ------------------------------------------------------------------------

test_expect_success '-f, LF message: the field with LF line ends, the message whole' '
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test -e mail.example.test msg.eml >out &&
	top out >field && ! grep -q "$(printf "\r")" field &&
	head -n 1 field | grep -q "^Received-SPF: pass " &&
	rest out | cmp - msg.eml
'

test_expect_success '-f, CRLF message: the field with CRLF line ends, the message whole' '
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test -e mail.example.test <msg-crlf.eml >out &&
	top out >field &&
	[ "$(grep -c "$(printf "\r")\$" field)" = "$(wc -l <field)" ] &&
	"$PY" rspf.py field pass 192.0.2.1 a@pass.spf.test mail.example.test &&
	rest out | cmp - msg-crlf.eml
'

test_expect_success '-f: stdin and a file argument give the same' '
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test msg.eml >a.out &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test <msg.eml >b.out &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test - <msg.eml >c.out &&
	cmp a.out b.out && cmp a.out c.out
'

test_expect_success '-f: an mbox From_ line stays first, the field goes under it' '
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test msg-from.eml >out &&
	[ "$(head -n 1 out)" = "$(head -n 1 msg-from.eml)" ] &&
	sed -n 2p out | grep -q "^Received-SPF: pass " &&
	tail -n +2 out >out2 && rest out2 | cmp - msg.eml
'

test_expect_success '-f: a fail, a none, a guess: exit 0 every time, the message whole' '
	spfcheck -f $OPTS -i 198.51.100.1 -s a@pass.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: fail " && rest out | cmp - msg.eml &&
	spfcheck -f $OPTS -i 198.51.100.1 -s a@nospf.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: none " && rest out | cmp - msg.eml &&
	spfcheck -f $OPTS --guess -i 192.0.2.55 -s a@nospf.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^X-SPF-Guess: pass " && rest out | cmp - msg.eml &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@perm.spf.test msg.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: permerror " && rest out | cmp - msg.eml
'

test_expect_success '-f: no line end at all, and an empty message' '
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test noeol.eml >out &&
	rest out | cmp - noeol.eml &&
	: >empty.eml &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test empty.eml >out &&
	head -n 1 out | grep -q "^Received-SPF: pass " && rest out | cmp - empty.eml
'

test_expect_success '-f: a big message goes out whole' '
	{ cat msg.eml; "$PY" -c "
import sys
for i in range(200000): sys.stdout.write(\"line %d of a big body, with some text\n\" % i)"; } >big.eml &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test big.eml >out &&
	rest out | cmp - big.eml
'

test_expect_success '-f: binary bytes and NULs in the body pass untouched' '
	{ cat msg.eml; printf "\000\001\377\376 bytes\n"; } >bin.eml &&
	spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test bin.eml >out &&
	rest out | cmp - bin.eml
'

test_expect_success '-f: a missing input writes nothing and exits 75' '
	expect_status 75 spfcheck -f $OPTS -i 192.0.2.1 -s a@pass.spf.test no-such.eml >out &&
	! [ -s out ]
'

test_expect_success '-f: a usage error stays 64 and reads nothing' '
	expect_status 64 spfcheck -f $OPTS -i 192.0.2.999 -s a@pass.spf.test msg.eml >out &&
	! [ -s out ]
'

test_expect_success '-f -v: the field on stderr' '
	spfcheck -f -v $OPTS -i 192.0.2.1 -s a@pass.spf.test msg.eml >out 2>err &&
	grep -q "Received-SPF: pass" err
'

test_done
