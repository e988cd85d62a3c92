#!/bin/sh
# demo.sh BIN_DIR: verify the shipped sample archive, offline, and show the
# verdicts message by message.  `make demo` runs it.
#
# The keys come from a zone file (--dns-zone), so nothing is asked of the
# network, and the clock is fixed (--now) so that the verdicts never change:
# the archive was signed on 2026-01-01 and is verified as of 2026-03-01.
# The sample and its keys were made once by contrib/demo-make.sh.
set -u

[ $# -ge 1 ] || { echo "usage: demo.sh BIN_DIR" >&2; exit 64; }
bin=$1
top=$(cd "$(dirname "$0")/.." && pwd)
demo=$top/t/data/demo
mbox=$demo/sample.mbox
zone=$demo/keys.zone
now=1772323200		# 2026-03-01 00:00:00 UTC

[ -x "$bin/dkimverify" ] || { echo "demo.sh: no $bin/dkimverify (run make)" >&2; exit 69; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxkit-demo.XXXXXX") || exit 70
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "mxkit demo: $("$bin/dkimverify" -V)"
echo "  archive  t/data/demo/sample.mbox"
echo "  keys     t/data/demo/keys.zone (offline, --dns-zone)"
echo "  as of    2026-03-01 00:00 UTC (--now $now)"
echo

# From and Subject of every message, in archive order: "N<TAB>from<TAB>subject".
awk '
	function flush() {
		if (n > 0) printf "%d\t%s\t%s\n", n, from, subj
	}
	/^From / { flush(); n++; inhdr = 1; from = ""; subj = ""; last = ""; next }
	!inhdr { next }
	{ sub(/\r$/, "") }
	/^$/ { inhdr = 0; next }
	/^[ \t]/ {
		if (last == "from") from = from " " substr($0, 2)
		if (last == "subject") subj = subj " " substr($0, 2)
		next
	}
	{
		last = ""
		name = tolower(substr($0, 1, index($0, ":") - 1))
		if (name == "from" && from == "") { from = substr($0, 7); last = name }
		if (name == "subject" && subj == "") { subj = substr($0, 10); last = name }
	}
	END { flush() }
' "$mbox" >"$tmp/headers"

# Verify; kv output is line-oriented and shell-quoted, easy for awk.
"$bin/dkimverify" --mbox -o kv --dns-zone "$zone" --now "$now" --summary \
	"$mbox" >"$tmp/kv" 2>"$tmp/summary"
st=$?
if [ $st != 0 ]; then
	cat "$tmp/summary" >&2
	echo "demo.sh: dkimverify exited $st" >&2
	exit $st
fi

awk -F '\t' '
	# unquote a kv value: the quotes around it go, and each quote
	# inside, written as quote-backslash-quote-quote, becomes one quote
	function unq(v) {
		v = substr(v, 2, length(v) - 2)
		gsub(/'\''\\'\'''\''/, "'\''", v)
		return v
	}
	function show(m,   i, line, v) {
		printf "#%-3d From:    %s\n", m, from[m]
		printf "     Subject: %s\n", subj[m]
		if (nsig == 0) {
			printf "     dkim:    none (not signed)\n"
			count["none"]++
		}
		for (i = 1; i <= nsig; i++) {
			v = var[i, "verify_status"]
			line = v
			if (var[i, "verify_reason"] != "")
				line = line " (" var[i, "verify_reason"] ")"
			line = line "  d=" var[i, "domain"] " s=" var[i, "selector"]
			if (var[i, "algo"] != "")
				line = line " " var[i, "algo"]
			if (var[i, "key_length"] + 0 > 0)
				line = line " " var[i, "key_length"] " bits"
			printf "     dkim:    %s\n", line
			count[v]++
		}
		print ""
	}
	FILENAME == ARGV[1] { from[$1] = $2; subj[$1] = $3; next }
	/^mbox_message=/ {
		if (msg) show(msg)
		msg = unq(substr($0, 14)) + 0
		nsig = 0
		split("", var)
		next
	}
	/^dkim_[0-9]+_/ {
		eq = index($0, "=")
		name = substr($0, 6, eq - 6)
		i = substr(name, 1, index(name, "_") - 1) + 0
		if (i > nsig) nsig = i
		var[i, substr(name, index(name, "_") + 1)] = unq(substr($0, eq + 1))
	}
	END {
		if (msg) show(msg)
		printf "signatures: %d pass, %d fail, %d invalid; %d messages not signed\n",
		    count["pass"], count["fail"], count["invalid"], count["none"]
	}
' "$tmp/headers" "$tmp/kv"

echo
sed 's/^dkimverify: //' "$tmp/summary"
exit 0
