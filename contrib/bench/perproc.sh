#!/bin/sh
# perproc.sh DIR MXKIT_BIN: per-process cost, one process per message, over
# DIR/*.eml (and DIR/*.crlf for opendkim-testmsg).  Meant to run under
# t/peers/netns-dns.sh, so that every tool, ours included, finds the keys
# through /etc/resolv.conf on 127.0.0.1:53.  Prints one line per tool:
#   "NAME MESSAGES PASSED SECONDS"   or "NAME n/a REASON"
set -u
dir=$1 bin=$2
now() { date +%s.%N; }
files=$(ls "$dir"/*.eml)
n=$(echo "$files" | wc -l)

run() {	# run NAME CMD-TEMPLATE: CMD reads the message on stdin
	name=$1 ext=$2
	shift 2
	ok=0
	t0=$(now)
	for f in $files; do
		timeout 30 "$@" <"${f%.eml}.$ext" >/dev/null 2>&1 && ok=$((ok + 1))
	done
	t1=$(now)
	echo "$name $n $ok $(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}')"
}

run dkimverify eml "$bin/dkimverify"
if command -v opendkim-testmsg >/dev/null 2>&1; then
	run opendkim-testmsg crlf opendkim-testmsg
else
	echo "opendkim-testmsg n/a not-installed"
fi
if [ -x /usr/bin/dkimverify ] && /usr/bin/python3 -c 'import dkim' 2>/dev/null; then
	run dkimpy-cli eml /usr/bin/python3 /usr/bin/dkimverify
else
	echo "dkimpy-cli n/a not-installed"
fi
