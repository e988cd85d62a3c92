#!/bin/sh
# The README's "complete small policy in three hooks" works as printed:
# the scripts are taken from the README itself and run by smtpfront (the
# only change: a zone file for spfcheck and dmarceval and the PATH of the
# programs under test, put in their environment, since hooks inherit
# nothing).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/dns.sh"

require_bin smtpfront

# The indented blocks of the smtpfront section that start with #!/bin/sh,
# each written to hooks/NAME after its "# /etc/smtpfront/NAME:" line.
mkdir hooks
ZONE="$TEST_DIR/policy.zone" awk -v dir=hooks '
	/^smtpfront — / { in_sec = 1 }
	/^proxyhdr — / { in_sec = 0 }
	!in_sec { next }
	/^    #!\/bin\/sh$/ { getline name; sub(/^    # \/etc\/smtpfront\//, "", name);
		sub(/:.*/, "", name); file = dir "/" name
		print "#!/bin/sh" >file
		print "MXKIT_DNS_ZONE=" ENVIRON["ZONE"] "; export MXKIT_DNS_ZONE" >>file
		print "PATH=" ENVIRON["MXKIT_BIN"] ":$PATH" >>file
		next }
	file && /^$/ { close(file); file = ""; next }
	file { sub(/^    /, ""); print >>file }
' "$TOP/README"
chmod +x hooks/* 2>/dev/null

dns_zone_begin example.net policy.zone
cat >>policy.zone <<'EOF'
@	TXT "v=spf1 ip4:192.0.2.7 -all"
_dmarc	TXT "v=DMARC1; p=reject"
EOF

test_expect_success 'the README has the three hooks' '
	test -x hooks/helo && test -x hooks/rcpt && test -x hooks/data &&
	grep -q spfcheck hooks/rcpt && grep -q dmarceval hooks/data
'

cat >msg <<'EOF'
From: alice@example.net
To: bob@example.org
Subject: policy
Message-ID: <policy-1@example.net>

hello
EOF

run() { # IP HELO
	TCPREMOTEIP=$1 TCPREMOTEPORT=41000 swaks --pipe "smtpfront \
	    --hostname mx.example.org --hook-helo $TEST_DIR/hooks/helo \
	    --hook-rcpt $TEST_DIR/hooks/rcpt --hook-data $TEST_DIR/hooks/data \
	    --deliver maildir:$TEST_DIR/md" --helo "$2" --from alice@example.net \
	    --to bob@example.org --data @msg 2>&1
}

test_expect_success 'SPF pass and DMARC pass: stored, with Authentication-Results' '
	run 192.0.2.7 mail.example.net >t1 &&
	grep -q "^<-  250 2.0.0 OK id=" t1 &&
	f=$(ls md/new/*) &&
	awk "/^[^ \t]/ { print \$1 }" "$f" | sed -n 2,3p | tr "\n" " " |
	    grep -q "^Received: Authentication-Results: $" &&
	grep -q "spf=pass" "$f" && grep -q "dmarc=pass" "$f"
'

test_expect_success 'SPF fail: the RCPT is refused, nothing more stored' '
	run 192.0.2.99 mail.example.net >t2
	grep -q "^<\*\* *550 " t2 && test $(ls md/new | wc -l) = 1
'

test_expect_success 'an address literal as HELO is refused with the hook text' '
	run 192.0.2.7 "[192.0.2.7]" >t3
	grep -q "550 5.7.1 Say your name" t3 && test $(ls md/new | wc -l) = 1
'

test_done
