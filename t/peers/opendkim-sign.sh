#!/bin/sh
# opendkim-sign.sh -d DOMAIN -s SELECTOR -k KEY.pem -o OUTDIR FILE...
#
# Sign messages with OpenDKIM's opendkim-testmsg (opendkim-tools).  It can
# only sign rsa-sha1 with c=relaxed/simple and the header list libopendkim
# picks, and it needs a Date: field.  Quirks worked around here:
#  - without -C it strips the CRs of the signature it prints but not the
#    string's old terminator, leaving garbage after b=; so it always runs
#    with -C (CRLF signature) on CRLF input, and an LF-only message is
#    converted to CRLF for it and its output converted back to LF.
# Exit 0, 1 when a message could not be signed, 77 when opendkim-testmsg is
# missing.
set -u
command -v opendkim-testmsg >/dev/null 2>&1 || { echo "opendkim-sign: no opendkim-testmsg" >&2; exit 77; }

d='' s='' k='' o=''
while getopts d:s:k:o: opt; do
	case $opt in
	d) d=$OPTARG ;; s) s=$OPTARG ;; k) k=$OPTARG ;; o) o=$OPTARG ;;
	*) exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$d" ] && [ -n "$s" ] && [ -n "$k" ] && [ -n "$o" ] || { echo "opendkim-sign: -d -s -k -o required" >&2; exit 64; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/odksign.XXXXXX") || exit 70
trap 'rm -rf "$tmp"' EXIT
rc=0
for f in "$@"; do
	out="$o/$(basename "$f")"
	if head -n 1 "$f" | grep -q "$(printf '\r')\$"; then
		opendkim-testmsg -C -d "$d" -s "$s" -k "$k" <"$f" >"$out" || rc=1
	else
		perl -pe 's/\n/\r\n/' "$f" >"$tmp/in"
		if opendkim-testmsg -C -d "$d" -s "$s" -k "$k" <"$tmp/in" >"$tmp/out"; then
			perl -pe 's/\r\n/\n/' "$tmp/out" >"$out"
		else
			rc=1
		fi
	fi
done
exit $rc
