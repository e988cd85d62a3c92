#!/bin/sh
# PRDR (draft-hall-prdr-00) as Exim speaks it: the same transactions sent
# to smtpfront (a PRDR hook deciding by local part) and to Exim's own
# "exim -bs" (an acl_smtp_data_prdr ACL deciding the same way) give the
# same replies after the data, enhanced status codes and message ids
# aside.  And what the replies promise is what is stored.
. "$(dirname "$0")/lib.sh"

require_bin smtpfront
CHAT="/usr/bin/python3 $TEST_SRC/rig/smtpchat.py"

mkdir -p hooks spool log md
# bad -> refuse, later -> defer, anything else -> accept.
# (Hooks get the session's variables only: the log's path is written in.)
cat >hooks/prdr <<HOOK
#!/bin/sh
echo "\$local_part \$recipient" >>"$TEST_DIR/prdr.log"
case \$local_part in
bad) exit 1 ;;
later) exit 2 ;;
esac
exit 0
HOOK
chmod +x hooks/prdr
export PRDR_LOG="$TEST_DIR/prdr.log"

cat >exim.conf <<EOF
primary_hostname = mx.test
exim_user = nobody
exim_group = nogroup
never_users =
spool_directory = $TEST_DIR/spool
log_file_path = $TEST_DIR/log/%slog
prdr_enable = true
acl_smtp_rcpt = acl_rcpt
acl_smtp_data_prdr = acl_prdr
begin acl
acl_rcpt:
  accept
acl_prdr:
  deny local_parts = bad
  defer local_parts = later
  accept
begin routers
r:
  driver = redirect
  data = :blackhole:
EOF
chmod 755 "$TEST_DIR"
chown nobody spool log 2>/dev/null || true

# smtpfront_replies RCPT...: the replies from the end of the data on.
smtpfront_replies() {
	{
		echo '< 220'
		echo '> EHLO client.example'
		echo '< 250'
		echo '> MAIL FROM:<a@b.example> PRDR'
		echo '< 250'
		for r in "$@"; do echo "> RCPT TO:<$r>"; echo '< 250'; done
		echo '> DATA'
		echo '< 354'
		echo '> Subject: prdr'
		echo '>'
		echo '> hello'
		echo '> .'
		if [ $# -gt 1 ]; then
			echo '< 353'
			for r in "$@"; do echo '<any'; done
		fi
		echo '<any'
		echo '> QUIT'
		echo '< 221'
	} >chat
	$CHAT --exec smtpfront --hostname mx.test --hook-prdr ./hooks/prdr \
	    --deliver "maildir:$TEST_DIR/md/%{local_part}" chat 2>>sf.log |
	    sed -n '/^<- 354/,$p' | sed -e '1d' -e '/^->/d' -e 's/^<- //' \
	    -e 's/^\([0-9][0-9][0-9][ -]\)[245]\.[0-9]*\.[0-9]* /\1/' \
	    -e 's/id=[0-9A-Za-z-]*/id=ID/' -e '/^221 /d'
}

# exim_replies RCPT...: the same from exim -bs.
exim_replies() {
	{
		printf 'EHLO client.example\r\nMAIL FROM:<a@b.example> PRDR\r\n'
		for r in "$@"; do printf 'RCPT TO:<%s>\r\n' "$r"; done
		printf 'DATA\r\nSubject: prdr\r\n\r\nhello\r\n.\r\nQUIT\r\n'
	} | sh "$TEST_SRC/peers/exim.sh" "$TEST_DIR/exim.conf" -bs -odq |
	    tr -d '\r' | sed -n '/^354/,$p' | sed -e '1d' -e '/^221 /d' \
	    -e 's/id=[0-9A-Za-z-]*/id=ID/'
}

exim_ok=yes
printf 'EHLO c\r\nQUIT\r\n' | sh "$TEST_SRC/peers/exim.sh" "$TEST_DIR/exim.conf" \
    -bs >/dev/null 2>&1 || exim_ok=

for case in "good@y.example ok@z.example" \
    "good@y.example bad@y.example later@y.example" \
    "bad@y.example bad@z.example" \
    "later@y.example bad@z.example" \
    "later@y.example later@z.example" \
    "bad@y.example" \
    "good@y.example"; do
	if [ -z "$exim_ok" ]; then
		test_skip "PRDR replies for <$case> agree with exim -bs" \
		    "Exim not available (contrib/deps.sh check unpacks it)"
		continue
	fi
	test_expect_success "PRDR replies for <$case> agree with exim -bs" "
		smtpfront_replies $case >ours &&
		exim_replies $case >theirs &&
		cat ours && diff -u theirs ours
	"
done

test_expect_success 'the PRDR replies of a mixed transaction, exactly' '
	rm -rf md && mkdir md && : >"$PRDR_LOG" &&
	smtpfront_replies good@y.example bad@y.example later@y.example >r &&
	cat >want <<-EOF &&
	353 PRDR content analysis beginning
	250 PRDR R=<good@y.example> acceptance
	550 PRDR R=<bad@y.example> refusal
	450 PRDR R=<later@y.example> temporary refusal
	250 id=ID message accepted for some recipients
	EOF
	diff -u want r
'

test_expect_success 'the PRDR hook ran once per recipient, in order' '
	printf "%s\n" "good good@y.example" "bad bad@y.example" \
	    "later later@y.example" >want &&
	diff -u want "$PRDR_LOG"
'

test_expect_success 'only the accepted recipient has the message' '
	test $(ls md/good/new | wc -l) = 1 &&
	! test -d md/bad/new && ! test -d md/later/new &&
	grep -q "^hello$" md/good/new/*
'

test_expect_success 'one recipient: no 353, no PRDR hook, one 250 (as Exim)' '
	rm -rf md && mkdir md && : >"$PRDR_LOG" &&
	smtpfront_replies bad@y.example >r &&
	grep -q "^250 OK id=ID$" r && test $(wc -l <r) = 1 &&
	! test -s "$PRDR_LOG" && test -d md/bad/new
'

test_expect_success 'MAIL with PRDR is acknowledged as Exim does' '
	printf "%s\n" "< 220" "> EHLO c" "< 250" \
	    "> MAIL FROM:<a@b.example> PRDR" "< 250" "> QUIT" "< 221" >chat &&
	$CHAT --exec smtpfront --hostname mx.test \
	    --deliver maildir:$TEST_DIR/x chat >out 2>/dev/null &&
	grep -q "^<- 250 2.1.0 OK, PRDR Requested$" out
'

test_expect_success 'without PRDR the PRDR hook does not run' '
	printf "%s\n" "< 220" "> EHLO c" "< 250" "> MAIL FROM:<a@b.example>" \
	    "< 250" "> RCPT TO:<good@y.example>" "< 250" \
	    "> RCPT TO:<bad@y.example>" "< 250" "> DATA" "< 354" \
	    "> Subject: x" ">" "> hi" "> ." "< 250" "> QUIT" "< 221" >chat &&
	: >"$PRDR_LOG" &&
	$CHAT --exec smtpfront --hostname mx.test --hook-prdr ./hooks/prdr \
	    --deliver maildir:$TEST_DIR/y chat >out 2>/dev/null &&
	! test -s "$PRDR_LOG" && test $(ls y/new | wc -l) = 1
'

test_done
