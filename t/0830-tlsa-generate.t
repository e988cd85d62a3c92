#!/bin/sh
# tlsa-probe --generate: the TLSA records to publish for a certificate,
# one zone-file line each, checked against two peers (ldns-dane create,
# danetool --tlsa-rr) and against digests computed here with openssl;
# the rollover line for the next key, the warnings, and the exit statuses.
. "$(dirname "$0")/lib.sh"
[ "$(command -v tlsa-probe)" = "$MXKIT_BIN/tlsa-probe" ] ||
	skip_all "tlsa-probe not built"
. "$TEST_SRC/rig/pki.sh"

P=$TEST_DIR/pki
H=mx1.dane.test
O=_25._tcp.$H.

pki_make "$P" 2>make.err &&
    pki_leaf mx1 "DNS:MX1.Dane.Test,DNS:mx.dane.test" 2>>make.err &&
    pki_leaf mxrsa "DNS:*.dane.test,DNS:mxr.dane.test" rsa 2>>make.err &&
    pki_leaf next "DNS:mx1.dane.test" 2>>make.err &&
    openssl pkey -in "$P/next.key" -pubout -out "$P/next.pub" 2>>make.err &&
    openssl pkey -in "$P/next.key" -aes128 -passout pass:secret \
    -out "$P/next-enc.key" 2>>make.err &&
    cat "$P/mx1.pem" "$P/int.pem" "$P/root.pem" >"$P/mx1.full.pem"
mkrc=$?

# gen ARGS...: tlsa-probe --generate; stdout in out, stderr in err, the
# exit status in rc (never prompting: stdin is the null device).
gen() {
	timeout 20 tlsa-probe --generate "$@" >out 2>err </dev/null
	rc=$?
	return 0
}

# der CERT SELECTOR: the DER that selector picks, as hex on stdout.
der() {
	if [ "$2" = 0 ]; then
		openssl x509 -in "$1" -outform DER
	else
		openssl x509 -in "$1" -noout -pubkey |
		    openssl pkey -pubin -outform DER
	fi | od -An -v -tx1 | tr -d ' \n'
}

# assoc CERT SELECTOR MTYPE: the association data, by openssl.
assoc() {
	case $3 in
	0) der "$1" "$2" ;;
	1) der "$1" "$2" | xxd -r -p | openssl dgst -sha256 -r | cut -d' ' -f1 ;;
	2) der "$1" "$2" | xxd -r -p | openssl dgst -sha512 -r | cut -d' ' -f1 ;;
	esac
}

# ldns_peer CHAIN HOST U S M: ldns-dane's record for the chain file, as
# "OWNER IN TLSA U S M HEX".  -o 0 takes the last certificate of the file
# (the issuer: usage 0 and 2); -s skips the PKIX check usages 0 and 1
# would make.
ldns_peer() {
	_lf=$1 _lh=$2
	shift 2
	set -- "$@" -c "$_lf"
	case $1 in 0 | 1) set -- "$@" -s ;; esac
	case $1 in 0 | 2) set -- "$@" -o 0 ;; esac
	_lu=$1 _ls=$2 _lm=$3
	shift 3
	timeout 20 ldns-dane "$@" create "$_lh" 25 "$_lu" "$_ls" "$_lm" |
	    awk '{ print $1 " IN TLSA " $5 " " $6 " " $7 " " $8 }'
}

# gnutls_peer CERT HOST U S M: danetool's record for CERT (its first
# certificate: for usage 0 and 2 pass the CA's file), same form.  danetool
# has no matching type 0.
gnutls_peer() {
	_gc=$1 _gh=$2 _gu=$3 _gs=$4 _gm=$5
	set -- --tlsa-rr --load-certificate "$_gc" --host "$_gh" --port 25
	case $_gu in 0 | 2) set -- "$@" --ca ;; esac
	case $_gu in 0 | 1) set -- "$@" --no-domain ;; esac
	[ "$_gs" = 0 ] && set -- "$@" --x509
	case $_gm in 1) set -- "$@" --hash sha256 ;; 2) set -- "$@" --hash sha512 ;; esac
	timeout 20 danetool "$@" |
	    awk '$4 == "(" { printf "%s IN TLSA %d %d %d %s\n", $1, $5, $6, $7, $8 }'
}

# same WHAT GOT WANT: compare, saying what differs.
same() {
	[ "$2" = "$3" ] && [ -n "$2" ] && return 0
	printf '%s differs:\n  got:  %s\n  want: %s\n' "$1" "$2" "$3" >&2
	return 1
}

# clean: exit 0, no stderr, every stdout line a record.
clean() {
	[ "$rc" = 0 ] && [ ! -s err ] && [ -s out ] &&
	    ! grep -Ev '^[^ ]+\. IN TLSA [0-3] [01] [0-2] [0-9a-f]+$' out
}

# fails STATUS PATTERN: exit STATUS, nothing on stdout, one line on stderr
# "tlsa-probe: ..." matching PATTERN.
fails() {
	[ "$rc" = "$1" ] && [ ! -s out ] && [ "$(wc -l <err)" = 1 ] &&
	    grep -q "^tlsa-probe: " err && grep -q -- "$2" err && return 0
	echo "expected exit $1 and '$2', got $rc:" >&2
	cat out err >&2
	return 1
}

test_expect_success 'the test PKI is made' '
	cat make.err && [ $mkrc = 0 ]
'

test_expect_success 'defaults: 3 1 1 for _25._tcp.<first DNS SAN, lower case>.' '
	gen "$P/mx1.pem" && clean &&
	[ "$(wc -l <out)" = 1 ] &&
	same record "$(cat out)" \
	    "$O IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)"
'

# Every usage, selector and matching type, from the leaf+issuer file.
for u in 3 2 1 0; do
	test_expect_success "usage $u, selectors 0 1 x mtypes 0 1 2: ldns-dane, danetool, openssl" '
		case '$u' in 0 | 2) subj=$P/int.pem ;; *) subj=$P/mx1.pem ;; esac &&
		for s in 0 1; do
			for m in 0 1 2; do
				gen "$P/mx1.chain.pem" --usage '$u' --selector $s \
				    --mtype $m &&
				[ "$rc" = 0 ] && [ "$(wc -l <out)" = 1 ] || exit 1
				got=$(cat out)
				same "'$u' $s $m vs openssl" "$got" \
				    "$O IN TLSA '$u' $s $m $(assoc "$subj" $s $m)" &&
				same "'$u' $s $m vs ldns-dane" "$got" \
				    "$(ldns_peer "$P/mx1.chain.pem" $H '$u' $s $m)" ||
				    exit 1
				[ $m = 0 ] && continue
				same "'$u' $s $m vs danetool" "$got" \
				    "$(gnutls_peer "$subj" $H '$u' $s $m)" || exit 1
			done
		done
	'
done

test_expect_success 'RSA leaf, wildcard first SAN skipped: the next SAN' '
	gen "$P/mxrsa.chain.pem" && clean &&
	same record "$(cat out)" \
	    "_25._tcp.mxr.dane.test. IN TLSA 3 1 1 $(assoc "$P/mxrsa.pem" 1 1)" &&
	same "vs ldns-dane" "$(cat out)" \
	    "$(ldns_peer "$P/mxrsa.chain.pem" mxr.dane.test 3 1 1)" &&
	same "vs danetool" "$(cat out)" \
	    "$(gnutls_peer "$P/mxrsa.pem" mxr.dane.test 3 1 1)" &&
	gen "$P/mxrsa.chain.pem" --usage 2 --selector 0 --mtype 2 &&
	same "2 0 2 vs ldns-dane" "$(cat out)" \
	    "$(ldns_peer "$P/mxrsa.chain.pem" mxr.dane.test 2 0 2)"
'

test_expect_success 'RFC 7218 names as values, any case' '
	gen "$P/mx1.chain.pem" --usage DANE-TA --selector spki \
	    --mtype SHA2-512 &&
	same record "$(cat out)" \
	    "$O IN TLSA 2 1 2 $(assoc "$P/int.pem" 1 2)" &&
	gen "$P/mx1.pem" --usage dane-ee --selector Cert --mtype sha2-256 &&
	same record "$(cat out)" \
	    "$O IN TLSA 3 0 1 $(assoc "$P/mx1.pem" 0 1)"
'

test_expect_success '--name: the owner as given, with a final dot' '
	gen "$P/mx1.pem" --name _25._tcp.mail.example.com && clean &&
	same record "$(cat out)" \
	    "_25._tcp.mail.example.com. IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)" &&
	gen "$P/mx1.pem" --name _465._tcp.Mail.Example. && clean &&
	same record "$(cat out)" \
	    "_465._tcp.Mail.Example. IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)"
'

test_expect_success '--port: the default owner is _PORT._tcp.HOST.' '
	gen "$P/mx1.pem" --port 587 && clean &&
	same record "$(cat out)" \
	    "_587._tcp.$H. IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)"
'

test_expect_success 'the certificate on standard input' '
	timeout 20 tlsa-probe --generate - --usage 2 <"$P/mx1.chain.pem" \
	    >out 2>err && [ "$(wc -l <out)" = 1 ] &&
	! grep -v "^tlsa-probe: warning: " err &&
	same record "$(cat out)" "$O IN TLSA 2 1 1 $(assoc "$P/int.pem" 1 1)" &&
	timeout 20 tlsa-probe --generate - <"$P/mx1.pem" >out 2>err &&
	rc=0 && clean &&
	same record "$(cat out)" "$O IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)"
'

test_expect_success 'rollover: the next key on a line of its own, 3 1 M' '
	cur="$O IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)" &&
	nxt="$O IN TLSA 3 1 1 $(assoc "$P/next.pem" 1 1)" &&
	for f in next.key next.pub next.pem; do
		gen "$P/mx1.pem" --rollover "$P/$f" && clean &&
		[ "$(wc -l <out)" = 2 ] &&
		same "line 1 ($f)" "$(sed -n 1p out)" "$cur" &&
		same "line 2 ($f)" "$(sed -n 2p out)" "$nxt" || exit 1
	done &&
	same "vs ldns-dane" "$nxt" "$(ldns_peer "$P/next.pem" $H 3 1 1)" &&
	same "vs danetool" "$nxt" \
	    "$(timeout 20 danetool --tlsa-rr --load-pubkey "$P/next.pub" \
	    --host $H --port 25 |
	    awk "{ printf \"%s IN TLSA %d %d %d %s\n\", \$1, \$5, \$6, \$7, \$8 }")"
'

test_expect_success 'rollover keeps the mtype, and usage 2 gets a 3 1 M line' '
	gen "$P/mx1.pem" --mtype 2 --rollover "$P/next.key" && clean &&
	same "line 2" "$(sed -n 2p out)" \
	    "$O IN TLSA 3 1 2 $(assoc "$P/next.pem" 1 2)" &&
	gen "$P/mx1.chain.pem" --usage 2 --rollover "$P/next.key" &&
	[ "$rc" = 0 ] && [ "$(wc -l <out)" = 2 ] &&
	same "line 1" "$(sed -n 1p out)" \
	    "$O IN TLSA 2 1 1 $(assoc "$P/int.pem" 1 1)" &&
	same "line 2" "$(sed -n 2p out)" \
	    "$O IN TLSA 3 1 1 $(assoc "$P/next.pem" 1 1)"
'

test_expect_success 'rollover to the same key: one line and a warning' '
	for f in mx1.key mx1.pem; do
		gen "$P/mx1.pem" --rollover "$P/$f" && [ "$rc" = 0 ] &&
		[ "$(wc -l <out)" = 1 ] &&
		same record "$(cat out)" \
		    "$O IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)" &&
		[ "$(wc -l <err)" = 1 ] &&
		grep -q "^tlsa-probe: warning: the next key is the current" err ||
		    exit 1
	done &&
	gen "$P/mx1.pem" --selector 0 --rollover "$P/mx1.key" &&
	[ "$(wc -l <out)" = 2 ] &&
	same "line 2" "$(sed -n 2p out)" \
	    "$O IN TLSA 3 1 1 $(assoc "$P/mx1.pem" 1 1)"
'

test_expect_success 'warnings: 2 0 1, 2 1 1 on an intermediate, 3 0 1, mtype 0, usage 0/1' '
	gen "$P/mx1.chain.pem" --usage 2 --selector 0 &&
	[ "$rc" = 0 ] && [ "$(wc -l <out)" = 1 ] &&
	grep -q "^tlsa-probe: warning: 2 0 x" err &&
	grep -q "^tlsa-probe: warning: DANE-TA pinned on an intermediate" err &&
	gen "$P/mx1.chain.pem" --usage 2 &&
	! grep -q "2 0 x" err &&
	grep -q "^tlsa-probe: warning: DANE-TA pinned on an intermediate" err &&
	gen "$P/mx1.pem" --selector 0 &&
	[ "$(wc -l <err)" = 1 ] &&
	grep -q "^tlsa-probe: warning: 3 0 x .*renewal" err &&
	gen "$P/mx1.pem" --mtype 0 &&
	[ "$(wc -l <err)" = 1 ] &&
	grep -q "^tlsa-probe: warning: matching type 0" err &&
	gen "$P/mx1.pem" --usage 1 &&
	[ "$(wc -l <err)" = 1 ] &&
	grep -q "^tlsa-probe: warning: usage 0/1 .*unusable for SMTP" err &&
	gen "$P/mx1.chain.pem" --usage 0 &&
	grep -q "^tlsa-probe: warning: usage 0/1" err &&
	! grep -v "^tlsa-probe: warning: " err &&
	[ "$(wc -l <out)" = 1 ] && ! grep -q warning out
'

test_expect_success 'the lines load as a zone file (ldns-read-zone)' '
	gen "$P/mx1.chain.pem" --usage 2 --selector 0 --mtype 0 \
	    --rollover "$P/next.key" && [ "$rc" = 0 ] &&
	{ printf "\$ORIGIN .\n\$TTL 60\n"; cat out; } >z.zone &&
	gen "$P/mx1.pem" --rollover "$P/next.pub" && cat out >>z.zone &&
	ldns-read-zone z.zone >z.out &&
	[ "$(grep -c "	TLSA	" z.out)" = 4 ]
'

test_expect_success 'usage errors: 64' '
	gen "$P/mx1.pem" --usage 4 && fails 64 "usage 4" &&
	gen "$P/mx1.pem" --usage DANE && fails 64 "DANE" &&
	gen "$P/mx1.pem" --selector 2 && fails 64 "selector 2" &&
	gen "$P/mx1.pem" --mtype 3 && fails 64 "matching type 3" &&
	gen "$P/mx1.pem" --mtype 256 && fails 64 "256" &&
	gen "$P/mx1.pem" --selector SHA2-256 && fails 64 "SHA2-256" &&
	gen "$P/mx1.pem" --name "bad name" && fails 64 "not a domain name" &&
	gen "$P/mx1.pem" --name "a..b" && fails 64 "not a domain name"
'

test_expect_success 'unreadable files: 66' '
	gen "$P/nonexistent.pem" &&
	fails 66 "$P/nonexistent.pem: No such file or directory" &&
	gen "$P" && fails 66 "$P: " &&
	gen "$P/mx1.pem" --rollover "$P/nonexistent.key" &&
	fails 66 "nonexistent.key: No such file or directory"
'

test_expect_success 'no certificate, no issuer, no host name, bad next key: 65' '
	gen "$P/mx1.key" && fails 65 "mx1.key: no PEM certificate" &&
	: >empty.pem && gen empty.pem && fails 65 "no PEM certificate" &&
	gen "$P/mx1.pem" --usage 2 && fails 65 "mx1.pem: usage 2 needs" &&
	gen "$P/mx1.pem" --usage 0 && fails 65 "usage 0 needs" &&
	gen "$P/mxrsa.pem" --usage 2 --name x.example && fails 65 "needs" &&
	gen "$P/int.pem" && fails 65 "int.pem: no host name" &&
	gen "$P/mx1.pem" --rollover "$P/next-enc.key" &&
	fails 65 "next-enc.key: no PEM certificate, public key or unencrypted" &&
	printf "hello\n" >junk && gen "$P/mx1.pem" --rollover junk &&
	fails 65 "junk: "
'

test_expect_success 'a CA file with --name makes a record for the CA itself' '
	gen "$P/int.pem" --name _25._tcp.mx.dane.test && clean &&
	same record "$(cat out)" \
	    "_25._tcp.mx.dane.test. IN TLSA 3 1 1 $(assoc "$P/int.pem" 1 1)"
'

test_done
