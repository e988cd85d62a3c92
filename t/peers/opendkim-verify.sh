#!/bin/sh
# opendkim-verify.sh ORIGIN=ZONEFILE [ORIGIN=ZONEFILE...] -- FILE...
#
# Verify messages with OpenDKIM's opendkim-testmsg (opendkim-tools).  It
# looks keys up through libresolv (/etc/resolv.conf, port 53) and has no
# option to name a server, so it runs under netns-dns.sh, which serves the
# zone files on 127.0.0.1:53 inside private namespaces.  LF-only messages are
# fed as CRLF.  Prints one line per FILE: "FILE pass", or "FILE fail:<why>"
# (opendkim-testmsg's dkim_eom()/dkim_chunk() error, spaces as _).  It gives
# one verdict per message, not per signature.  Exit 0; 77 when opendkim-testmsg
# or the namespaces are unavailable.
set -u
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = --inner ]; then
	shift
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/odkv.XXXXXX") || exit 70
	for f in "$@"; do
		perl -pe 's/\r?\n/\r\n/' "$f" >"$tmp/in"
		if err=$(opendkim-testmsg <"$tmp/in" 2>&1); then
			echo "$f pass"
		else
			err=$(printf '%s' "$err" | head -n 1 | sed 's/^opendkim-testmsg: //; s/ /_/g')
			echo "$f fail:$err"
		fi
	done
	rm -rf "$tmp"
	exit 0
fi

command -v opendkim-testmsg >/dev/null 2>&1 || { echo "opendkim-verify: no opendkim-testmsg" >&2; exit 77; }
zones=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	zones="$zones $1"
	shift
done
[ "${1:-}" = -- ] && shift
# absolute paths: the inner shell may run elsewhere
files=
for f in "$@"; do
	case $f in /*) ;; *) f=$(pwd)/$f ;; esac
	files="$files $f"
done
# shellcheck disable=SC2086
exec sh "$here/netns-dns.sh" $zones -- sh "$here/opendkim-verify.sh" --inner $files
