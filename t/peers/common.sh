# t/peers/common.sh: shared set-up of the interop tests (t/04xx-interop-*).
# Source after t/lib.sh and t/rig/dns.sh.
#
#   peers_detect          set have_dkimpy have_dkimpy_ed have_maildkim
#                         have_mailauth have_opendkim (1 or empty) and
#                         why_* (the skip reason)
#   peers_keys DOMAIN...  make rsa.pem (2048) and ed.pem with openssl, a zone
#                         per DOMAIN serving selectors "rsa" and "ed", and
#                         start the DNS rig (PORT=its port); ZONES holds the
#                         ORIGIN=FILE list (for netns-dns.sh)
#   kv_get NAME FILE      the value of NAME='value' in dkimverify -o kv output
#   peer_verdicts FILE    every available peer's verdict on FILE, one line
#   sig_algos FILE...     the a= of each DKIM-Signature, in order: one line
#                         per FILE, "FILE a1 a2..." when several FILEs

P=$TEST_SRC/peers
PY=/usr/bin/python3

peers_detect() {
	have_dkimpy='' have_dkimpy_ed='' have_maildkim='' have_mailauth='' have_opendkim=''
	why_dkimpy="python3-dkim or python3-dnspython missing"
	why_dkimpy_ed="python3-nacl missing (dkimpy needs it for ed25519)"
	why_maildkim="libmail-dkim-perl or Net::DNS missing"
	why_mailauth="node or contrib/node/node_modules/mailauth missing (make deps)"
	why_opendkim="opendkim-testmsg (opendkim-tools) missing"
	$PY -c 'import dkim, dns.resolver' 2>/dev/null && have_dkimpy=1
	[ -n "$have_dkimpy" ] && $PY -c 'import nacl.signing' 2>/dev/null && have_dkimpy_ed=1
	perl -MMail::DKIM::Signer -MMail::DKIM::Verifier -MNet::DNS -e1 2>/dev/null && have_maildkim=1
	command -v node >/dev/null 2>&1 &&
		[ -d "$TOP/contrib/node/node_modules/mailauth" ] && have_mailauth=1
	command -v opendkim-testmsg >/dev/null 2>&1 && have_opendkim=1
	return 0
}

peers_keys() {
	"$P/mkkey.sh" rsa rsa KEYDOMAIN rsa.pem >rsa.rec || return 1
	"$P/mkkey.sh" ed25519 ed KEYDOMAIN ed.pem >ed.rec || return 1
	ZONES=
	for _d in "$@"; do
		dns_zone_begin "$_d" "$_d.zone"
		sed "s/KEYDOMAIN/$_d/" rsa.rec ed.rec >>"$_d.zone"
		ZONES="$ZONES $_d=$TEST_DIR/$_d.zone"
	done
	# shellcheck disable=SC2086
	dns_rig_start $ZONES || return 1
	PORT=$DNS_RIG_PORT
}

kv_get() { sed -n "s/^$1='\\(.*\\)'\$/\\1/p" "$2"; }

peer_verdicts() {
	_v=
	[ -n "$have_dkimpy" ] &&
		_v="$_v dkimpy=[$("$P/dkimpy-verify.py" -p "$PORT" "$1" 2>&1 | cut -d' ' -f2- | tr '\n' ' ')]"
	[ -n "$have_maildkim" ] &&
		_v="$_v Mail::DKIM=[$("$P/maildkim-verify.pl" -p "$PORT" "$1" 2>&1 | cut -d' ' -f2- | tr '\n' ' ')]"
	[ -n "$have_mailauth" ] &&
		_v="$_v mailauth=[$(node "$P/mailauth-verify.js" -p "$PORT" "$1" 2>&1 | cut -d' ' -f2- | tr '\n' ' ')]"
	echo "peers:$_v"
}

sig_algos() {
	$PY - "$@" <<-\EOF
	import re, sys
	for path in sys.argv[1:]:
	    m = open(path, "rb").read()
	    hdr = re.split(rb"\r?\n\r?\n", m, 1)[0]
	    fields = re.split(rb"\r?\n(?![ \t])", hdr)
	    out = []
	    for f in fields:
	        if f.lower().startswith(b"dkim-signature:"):
	            a = re.search(rb"(?:^|;)\s*a\s*=\s*([\w-]+)", f.split(b":", 1)[1])
	            out.append(a.group(1).decode() if a else "?")
	    print((path + " " if len(sys.argv) > 2 else "") + " ".join(out))
	EOF
}
