#!/bin/sh
# demo-make.sh BIN_DIR [OUT_DIR]: make the demo's sample archive, once.
#
# Writes into OUT_DIR (default t/data/demo):
#   keys/rsa2024.pem     RSA 2048 (dkimsign --keygen)     selector rsa2024
#   keys/ed2024.pem      Ed25519  (dkimsign --keygen)     selector ed2024
#   keys/legacy.pem      RSA 2048 PKCS#1 (openssl), for the rsa-sha1 message
#                        made with dkimpy                 selector legacy
#   keys.zone            example.org with the three keys, a revoked one
#                        (selector old, p= empty) and an SOA, so that a
#                        missing selector is NXDOMAIN without the network
#   sample.mbox          36 messages, mboxrd
#   expected.txt         "N verdict..." per message, what contrib/demo.sh
#                        must print (t/0320-demo.t checks it)
# The output is committed: run this only to remake the demo from scratch
# (it refuses to overwrite an existing OUT_DIR unless -f is given first).
#
# Needs: dkimsign from BIN_DIR, openssl, /usr/bin/python3 with python3-dkim.
set -eu

force=0
[ "${1:-}" = -f ] && { force=1; shift; }
[ $# -ge 1 ] || { echo "usage: demo-make.sh [-f] BIN_DIR [OUT_DIR]" >&2; exit 64; }
bin=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$top/t/data/demo}
if [ -e "$out/sample.mbox" ] && [ $force = 0 ]; then
	echo "demo-make.sh: $out already holds a demo (give -f to replace it)" >&2
	exit 73
fi
sign="$bin/dkimsign"

# The clock of the demo: messages were signed on T0 (2026-01-01 00:00 UTC);
# contrib/demo.sh verifies "as of" 2026-03-01 00:00 UTC (--now 1772323200).
T0=1767225600

work=$(mktemp -d "${TMPDIR:-/tmp}/demo-make.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out/keys"
mkdir -p "$out/keys"

"$sign" --keygen rsa -d example.org -s rsa2024 -k "$out/keys/rsa2024.pem" >"$work/rsa.rec"
"$sign" --keygen ed25519 -d example.org -s ed2024 -k "$out/keys/ed2024.pem" >"$work/ed.rec"
openssl genrsa -traditional -out "$out/keys/legacy.pem" 2048 2>/dev/null
chmod 644 "$out/keys"/*.pem	# test keys: world-readable on purpose
legacy_p=$(openssl pkey -in "$out/keys/legacy.pem" -pubout -outform DER | base64 -w0)

{
	cat <<-EOF
	; keys for the mxkit demo (contrib/demo-make.sh); test keys, not secret
	\$ORIGIN example.org.
	\$TTL 3600
	@	IN SOA ns.example.org. hostmaster.example.org. 2026010101 3600 600 86400 3600
	@	IN NS ns.example.org.
	EOF
	cat "$work/rsa.rec" "$work/ed.rec"
	printf 'legacy._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; p=%s" "%s" )\n' \
	    "$(printf %s "$legacy_p" | cut -c1-200)" "$(printf %s "$legacy_p" | cut -c201-)"
	printf 'old._domainkey.example.org. IN TXT "v=DKIM1; k=rsa; p="\n'
} >"$out/keys.zone"

# msg N FROM SUBJECT [BODY-EXTRA]: an unsigned message on stdout
msg() {
	printf 'From: %s\nTo: Team <team@example.org>\nSubject: %s\n' "$2" "$3"
	printf 'Date: Thu, 01 Jan 2026 09:%02d:00 +0000\n' "$1"
	printf 'Message-ID: <demo%d@example.org>\nMIME-Version: 1.0\n' "$1"
	printf 'Content-Type: text/plain; charset=us-ascii\n\n'
	printf 'Hello team,\n\nthis is demo message %d.\n' "$1"
	[ -n "${4:-}" ] && printf '%s\n' "$4"
	printf '\nRegards,\n-- \n%s\n' "${2%% <*}"
}

rsa() { "$sign" --now $T0 -d example.org -s rsa2024 -k "$out/keys/rsa2024.pem" "$@"; }
ed() { "$sign" --now $T0 -d example.org -s ed2024 -k "$out/keys/ed2024.pem" "$@"; }

: >"$work/expected"
add() { # add N VERDICTS < signed message
	cat >"$work/m$1.eml"
	printf '%s %s\n' "$1" "$2" >>"$work/expected"
}

people="Alice Martin <alice@example.org>|Bruno Costa <bruno@example.org>|Chen Wei <chen@example.org>|Dana Smith <dana@example.org>"
person() { printf %s "$people" | cut -d'|' -f$(( ($1 - 1) % 4 + 1 )); }
subjects="Quarterly numbers|Lunch on Friday?|Re: build is green again|Minutes of the standup|Holiday rota|New office keys|Re: Re: the printer|Invoice 2026-0042|Travel plans|Code review please|Release notes draft|Welcome aboard"
subject() { printf %s "$subjects" | cut -d'|' -f$(( ($1 - 1) % 12 + 1 )); }

n=0
next() { n=$((n + 1)); }

# 1-12: RSA, intact
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	next
	extra=
	[ $n = 5 ] && extra="From now on the standup starts at 9:30 (this line is quoted in the mbox)."
	msg $n "$(person $n)" "$(subject $n)" "$extra" | rsa | add $n "pass"
done
# 13-20: Ed25519, intact
for i in 1 2 3 4 5 6 7 8; do
	next
	msg $n "$(person $n)" "$(subject $n)" | ed | add $n "pass"
done
# 21-23: RSA, body changed in transit (a footer, a rewrapped line, an edit)
next; msg $n "$(person $n)" "Agenda for Monday" | rsa |
	{ cat; printf '_______________\nSent through a list that adds footers\n'; } | add $n "fail:bodyhash_mismatch"
next; msg $n "$(person $n)" "Budget" | rsa | sed 's/^this is demo message/this is a DEMO message/' |
	add $n "fail:bodyhash_mismatch"
next; msg $n "$(person $n)" "Meeting room" | rsa | sed 's/^Hello team,/Hello everybody,/' |
	add $n "fail:bodyhash_mismatch"
# 24-25: Ed25519, Subject rewritten in transit
next; msg $n "$(person $n)" "Parking" | ed | sed 's/^Subject: Parking/Subject: [EXTERNAL] Parking/' |
	add $n "fail:signature_incorrect"
next; msg $n "$(person $n)" "Coffee machine" | ed | sed 's/^Subject: .*/Subject: ***SPAM*** Coffee machine/' |
	add $n "fail:signature_incorrect"
# 26-29: unsigned
for i in 1 2 3 4; do
	next
	msg $n "Newsletter <news@lists.example.net>" "Weekly digest $i" | add $n "none"
done
# 30: a key that was revoked (p= empty)
next; msg $n "$(person $n)" "Old signature" |
	"$sign" --now $T0 -d example.org -s old -k "$out/keys/rsa2024.pem" | add $n "invalid:key_revoked"
# 31: dual-signed, RSA and Ed25519
next; msg $n "$(person $n)" "Dual-signed announcement" |
	"$sign" --now $T0 -d example.org -s rsa2024 -k "$out/keys/rsa2024.pem" \
	    -d example.org -s ed2024 -k "$out/keys/ed2024.pem" | add $n "pass pass"
# 32: rsa-sha1, historic (RFC 8301), signed by dkimpy
next; msg $n "Legacy Gateway <gateway@example.org>" "Report from an old system" >"$work/sha1.eml"
/usr/bin/python3 - "$work/sha1.eml" "$out/keys/legacy.pem" $T0 <<'EOF' | add $n "fail:algorithm_historic"
import sys, time
import dkim
path, key, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
time.time = lambda: t0		# t= of the demo's clock
msg = open(path, "rb").read()
sig = dkim.sign(msg, b"legacy", b"example.org", open(key, "rb").read(),
                signature_algorithm=b"rsa-sha1", linesep=b"\n",
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
EOF
# 33: expired (x= one day after signing, signed a month before T0)
next; msg $n "$(person $n)" "Flash sale, today only" |
	"$sign" --now $((T0 - 30 * 86400)) -x 86400 -d example.org -s rsa2024 -k "$out/keys/rsa2024.pem" |
	add $n "fail:signature_expired"
# 34: a selector that is not published
next; msg $n "$(person $n)" "Signed with a key nobody published" |
	"$sign" --now $T0 -d example.org -s gone -k "$out/keys/rsa2024.pem" | add $n "invalid:pubkey_unavailable"
# 35: signed with l=, then a list appended a footer: still passes
next; msg $n "$(person $n)" "Via the mailing list" | rsa -l |
	{ cat; printf -- '-- \nteam mailing list: https://lists.example.org/team\n'; } | add $n "pass"
# 36: Ed25519, CRLF line endings
next; msg $n "$(person $n)" "From a Windows client" | sed 's/$/\r/' | ed | add $n "pass"

# The archive: mboxrd (">*From " lines get one more ">").
: >"$out/sample.mbox"
i=1
while [ $i -le $n ]; do
	printf 'From %s Thu Jan  1 09:%02d:00 2026\n' "$(sed -n 's/^From: .*<\(.*\)>.*/\1/p' "$work/m$i.eml" | head -n 1)" $i >>"$out/sample.mbox"
	sed 's/^\(>*From \)/>\1/' "$work/m$i.eml" >>"$out/sample.mbox"
	echo >>"$out/sample.mbox"
	i=$((i + 1))
done
cp "$work/expected" "$out/expected.txt"
echo "demo-make.sh: wrote $n messages to $out/sample.mbox"
