#!/bin/sh
# exim.sh CONFIG [EXIM-ARGS...]: run the unpacked Exim (contrib/deps.sh puts
# exim4-daemon-heavy's files in /var/cache/mxkit/exim4; the package conflicts
# with postfix) as "exim -C CONFIG EXIM-ARGS", stdin and stdout passed
# through: exim -bs speaks SMTP on them.
#
# The binary insists on its compiled-in user Debian-exim.  Rather than add
# a user to the machine, it runs in a private mount namespace where
# /etc/passwd and /etc/group are copies with that user added.  CONFIG must
# set spool_directory and log_file_path to places of the test's own.
# Exit: Exim's status; 77 when Exim or the namespace is unavailable.
set -u
EXIM=${MXKIT_EXIM:-/var/cache/mxkit/exim4/usr/sbin/exim4}
[ -x "$EXIM" ] || { echo "exim.sh: no $EXIM (contrib/deps.sh check)" >&2; exit 77; }
[ "$(id -u)" = 0 ] || { echo "exim.sh: needs root (-C, mount namespace)" >&2; exit 77; }
conf=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/mxkit-exim.XXXXXX") || exit 77
trap 'rm -rf "$dir"' EXIT
cp /etc/passwd "$dir/passwd" && cp /etc/group "$dir/group" || exit 77
grep -q '^Debian-exim:' "$dir/passwd" ||
	echo 'Debian-exim:x:65533:65533::/nonexistent:/usr/sbin/nologin' >>"$dir/passwd"
grep -q '^Debian-exim:' "$dir/group" || echo 'Debian-exim:x:65533:' >>"$dir/group"
unshare -m true 2>/dev/null || { echo "exim.sh: unshare -m not permitted" >&2; exit 77; }
unshare -m sh -c 'mount --bind "$1/passwd" /etc/passwd &&
	mount --bind "$1/group" /etc/group && shift && exec "$@"' \
	sh "$dir" "$EXIM" -C "$conf" "$@"
