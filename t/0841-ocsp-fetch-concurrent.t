#!/bin/sh
# ocsp-fetch run by several schedulers at once (a cron line and a systemd
# timer, say) on one stapling file: every run succeeds, and a reader that
# opens the file at any moment always finds a whole, valid response —
# never a truncated one, never none.  Against the real `openssl ocsp`
# responder of t/rig/pki.sh.
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/rig/pki.sh"
require_bin ocsp-fetch
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

P=$TEST_DIR/pki
WRITERS=4
ROUNDS=10

pki_make "$P" 2>setup.err && pki_leaf mx1 "DNS:mx1.test" 2>>setup.err &&
    pki_ocsp_start good 2>>setup.err
setuprc=$?

# verify FILE: stock openssl accepts FILE as a good answer about mx1.
verify() {
	timeout 10 openssl ocsp -respin "$1" -issuer "$P/int.pem" \
	    -CAfile "$P/root.pem" -cert "$P/mx1.pem" >"$1.txt" 2>&1 &&
	    grep -q "Response verify OK" "$1.txt" &&
	    grep -q "mx1.pem: good" "$1.txt"
}

test_expect_success 'setup: PKI and responder' '
	cat setup.err && [ $setuprc = 0 ]
'

test_expect_success 'a first fetch makes the file' '
	ocsp-fetch -c "$P/mx1.chain.pem" -O staple.der --timeout 5 &&
	verify staple.der
'

# Writers: each fetches ROUNDS times with --force, one after another; all
# of them at once.  The reader copies the file as often as it can until
# the writers are done (bounded by the number of copies), reading it as a
# server does: open, then read to the end.  openssl ocsp, one connection
# at a time, sometimes drops one under this load: that writer exits 75 and
# keeps the old file, which is right too.
test_expect_success "$WRITERS writers at once, a reader always sees a whole file" '
	: >rcs && w=0 &&
	while [ $w -lt $WRITERS ]; do
		(r=0; while [ $r -lt $ROUNDS ]; do
			ocsp-fetch -c "$P/mx1.chain.pem" -O staple.der \
			    --force --timeout 10 >/dev/null 2>"w$w.err"
			echo $? >>rcs; r=$((r + 1))
		done; touch "done$w") &
		w=$((w + 1))
	done &&
	n=0 &&
	while [ $n -lt 400 ] && [ $(ls done* 2>/dev/null | wc -l) -lt $WRITERS ]; do
		cat staple.der >"seen$n.der" || exit 1
		n=$((n + 1))
	done &&
	wait &&
	echo "$n copies taken" &&
	[ $(wc -l <rcs) = $((WRITERS * ROUNDS)) ] &&
	[ -z "$(grep -v -e "^0$" -e "^75$" rcs)" ] && grep -q "^0$" rcs &&
	[ $n -gt 0 ] &&
	bad=0 && i=0 &&
	while [ $i -lt $n ]; do
		verify "seen$i.der" || { echo "copy $i is not whole:"; cat "seen$i.der.txt"; bad=1; }
		i=$((i + 1))
	done &&
	[ $bad = 0 ]
'

test_expect_success 'no temporary file is left behind' '
	[ -z "$(ls -A | grep "^\.staple\.der")" ] &&
	verify staple.der
'

test_done
