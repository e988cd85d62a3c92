# t/lib.sh: a small TAP library for mxkit's shell tests, in git's t/ style.
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'dkimverify passes a good signature' '
#       dkimverify good.eml >out && grep -q pass out
#   '
#   test_done
#
# Each test script runs in its own scratch directory ($TEST_DIR, the
# current directory), removed at exit unless MXKIT_KEEP=1.  at_exit CMD
# queues cleanup (stopping servers) that runs however the script ends.
# $TEST_SRC is t/, so shipped data is "$TEST_SRC/data/...".
# Also here: require_bin, kvget and kv_expect (below).

set -u
TEST_SRC=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$TEST_SRC/.." && pwd)
: "${MXKIT_BIN:=$TOP/bin}"
PATH="$MXKIT_BIN:$PATH"
export MXKIT_BIN PATH TEST_SRC TOP
unset MXKIT_RESOLVER MXKIT_DNS_ZONE

test_count=0
test_failed=0
_at_exit=""

at_exit() { _at_exit="$*; $_at_exit"; }

_cleanup() {
	eval "$_at_exit" >/dev/null 2>&1 || true
	cd /
	[ "${MXKIT_KEEP:-0}" = 1 ] || rm -rf "$TEST_DIR"
}

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mxkit-t.XXXXXX")
trap _cleanup EXIT
trap 'exit 130' INT TERM
cd "$TEST_DIR" || exit 1

# say_fail: show what went wrong as TAP comments.
_say_fail() {
	printf '%s\n' "$1" | sed 's/^/#   /'
	[ -s "$TEST_DIR/.out" ] && sed 's/^/#   | /' "$TEST_DIR/.out" | head -n 40
	return 0
}

test_expect_success() {
	test_count=$((test_count + 1))
	if (eval "$2") >"$TEST_DIR/.out" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		_say_fail "$2"
	fi
	[ "${MXKIT_VERBOSE:-0}" = 1 ] && sed 's/^/# /' "$TEST_DIR/.out"
	rm -f "$TEST_DIR/.out"
}

# test_skip 'description' 'why'
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count - $1 # SKIP $2"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" = 0 ]
	exit $?
}

# expect_status N cmd...: run cmd, succeed when it exits N.
expect_status() {
	want=$1; shift
	"$@"; got=$?
	[ "$got" = "$want" ] && return 0
	echo "expected exit $want, got $got: $*" >&2
	return 1
}

# require_bin NAME...: bail out unless PATH finds each NAME in $MXKIT_BIN
# (python3-dkim ships a dkimsign and a dkimverify of its own, say).
require_bin() {
	for _p in "$@"; do
		[ "$(command -v "$_p")" = "$MXKIT_BIN/$_p" ] && continue
		echo "Bail out! $MXKIT_BIN/$_p is missing (PATH finds '$(command -v "$_p")')"
		exit 1
	done
}

# kvget VAR FILE: a variable's value from a kv output file, by eval'ing it
# in a subshell (which is how a user would use it).
kvget() {
	(eval "$(cat "$2")" && eval "printf '%s\n' \"\${$1}\"")
}

# kv_expect FILE VAR VALUE: kvget, compared; says what it got otherwise.
kv_expect() {
	_got=$(kvget "$2" "$1") || { echo "kv: cannot read $2 from $1" >&2; return 1; }
	[ "$_got" = "$3" ] && return 0
	echo "kv: $2: expected '$3', got '$_got'" >&2
	return 1
}

# A free TCP/UDP port on loopback (both protocols checked).
. "$TEST_SRC/rig/port.sh"
. "$TEST_SRC/rig/proc.sh"

# wait_for CMD...: up to 10 s for CMD to succeed
wait_for() {
	_wf=0
	while ! "$@" >/dev/null 2>&1; do
		_wf=$((_wf + 1))
		[ $_wf -lt 200 ] || return 1
		sleep 0.05
	done
}
