#!/bin/sh
# verify-archive.sh: verify the DKIM signatures of an mbox archive too big
# for one machine (or one process), spread over job slots and hosts with
# GNU parallel.
#
#   verify-archive.sh [-j SLOTS] [-S SSHLOGIN]... [-B BASEFILE]... [--block SIZE]
#                     [--dkimverify PROG] ARCHIVE|- [DKIMVERIFY-OPTIONS...]
#
#   -j, --jobs SLOTS      job slots per host (parallel's -j; default: one per CPU)
#   -S, --sshlogin LOGIN  passed to parallel as --sshlogin (repeatable):
#                         "host", "user@host", "4/host", ":" (this machine);
#                         dkimverify must be installed on every host
#   -B, --basefile FILE   passed to parallel as --basefile: copied to each
#                         remote host first (a --dns-zone file, say; give it
#                         as an absolute path so it is found at the same place)
#       --block SIZE      bytes per chunk (default 10M; parallel's --block)
#       --dkimverify PROG the program on the hosts (default: dkimverify)
#   DKIMVERIFY-OPTIONS    after the archive, given to every dkimverify as is
#                         (--now, --dns-zone, --no-policy, --mboxo, ...);
#                         not -o: the output is JSON
#
# How: parallel --pipe --recend '\n' --recstart 'From ' --block 10M -k cuts
# the archive into chunks at message boundaries (the "From " separator at the
# start of a line: --recend '\n' keeps a "From " inside a line from counting,
# and mboxrd/mboxo quote "From " at the start of body lines), each chunk goes
# to "dkimverify --mbox -o json" on some job slot, and -k puts the outputs
# back in archive order.  --halt now,fail=1 stops everything when one chunk
# fails, and the exit status is then that dkimverify's (65: not an mbox).
#
# Message numbers: each dkimverify numbers the messages of its own chunk from
# 1, so this script renumbers the merged output: the "message" member that
# starts every JSON object is replaced by the message's number in the whole
# archive.  The result is the same, line for line, as one
#     dkimverify --mbox -o json [DKIMVERIFY-OPTIONS] ARCHIVE
# (t/0510-parallel-archive.t checks exactly that).  A --summary given in
# DKIMVERIFY-OPTIONS is printed per chunk, on stderr.
#
# Exit: 0 every chunk processed (verdicts are in the output), 64 usage,
# 66 cannot open the archive, 69 GNU parallel missing, else the status of
# the failing dkimverify (or parallel's own).
set -u

prog=verify-archive.sh
usage() {
	echo "usage: $prog [-j SLOTS] [-S SSHLOGIN]... [-B BASEFILE]... [--block SIZE]" >&2
	echo "       [--dkimverify PROG] ARCHIVE|- [DKIMVERIFY-OPTIONS...]" >&2
	exit 64
}
need() { [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; usage; }; }

# parallel's own options, collected as positional parameters later.
popts=
add_popt() {
	# quote for a later eval: ' becomes '\''
	q=$(printf '%s' "$1" | sed "s/'/'\\\\''/g")
	popts="$popts '$q'"
}

jobs= block=10M verifier=dkimverify
while [ $# -gt 0 ]; do
	case $1 in
	-j|--jobs) need "$@"; jobs=$2; shift 2 ;;
	-S|--sshlogin) need "$@"; add_popt --sshlogin; add_popt "$2"; shift 2 ;;
	-B|--basefile) need "$@"; add_popt --basefile; add_popt "$2"; shift 2 ;;
	--block) need "$@"; block=$2; shift 2 ;;
	--dkimverify) need "$@"; verifier=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
	--) shift; break ;;
	-?*) echo "$prog: unknown option: $1" >&2; usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage
archive=$1
shift

mode=--mbox
for o in "$@"; do
	case $o in
	-o|-o*|--output|--output=*)
		echo "$prog: the output is JSON; do not pass $o" >&2; usage ;;
	-j*|--jobs|--jobs=*)
		echo "$prog: give -j before the archive (job slots), not to dkimverify" >&2; usage ;;
	--mboxo) mode=--mboxo ;;
	esac
done

command -v parallel >/dev/null 2>&1 || { echo "$prog: GNU parallel is not installed" >&2; exit 69; }
if [ "$archive" != - ]; then
	[ -r "$archive" ] && [ ! -d "$archive" ] ||
		{ echo "$prog: $archive: cannot open" >&2; exit 66; }
	exec <"$archive"
fi
[ -n "$jobs" ] && add_popt -j && add_popt "$jobs"

# The command each job runs, as one shell word list for parallel (which
# passes it to a shell, remotely too): every argument quoted.
cmd=
for a in "$verifier" "$mode" -o json "$@"; do
	q=$(printf '%s' "$a" | sed "s/'/'\\\\''/g")
	cmd="$cmd '$q'"
done

eval "set -- $popts"

# Renumber: the n-th object of the merged output is message n.
renumber() {
	awk '{
		n++
		if (sub(/^\{"message":[0-9]+/, "{\"message\":" n) == 0) {
			print "verify-archive.sh: unexpected output line " n ": " substr($0, 1, 60) | "cat 1>&2"
			bad = 1
		}
		print
	}
	END { exit bad }'
}

exec 4>&1
st=$( { { parallel --will-cite --plain --pipe --recend '\n' --recstart 'From ' \
	--block "$block" -k --halt now,fail=1 "$@" -- "$cmd" 4>&-; echo $? >&3; } |
	renumber >&4 4>&-; } 3>&1 )
rn=$?
exec 4>&-
[ "${st:-70}" != 0 ] && exit "${st:-70}"
[ $rn != 0 ] && exit 70
exit 0
