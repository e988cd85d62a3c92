# contrib/bench/scratch.sh: what the bench scripts share with t/lib.sh, for
# the t/rig helpers they use.  Sourced with TOP set:
#
#   bench_scratch DIR PREFIX   a scratch directory DIR/PREFIX.XXXXXX as
#                              TEST_DIR (the current directory from then
#                              on), removed at exit with what at_exit
#                              queued; free_port, proc_alive, proc_stop
_at_exit=""
at_exit() { _at_exit="$*; $_at_exit"; }

bench_scratch() {
	TEST_DIR=$(mktemp -d "$1/$2.XXXXXX") || exit 73
	trap 'eval "$_at_exit" >/dev/null 2>&1; rm -rf "$TEST_DIR"' EXIT
	trap 'exit 130' INT TERM
	. "$TOP/t/rig/port.sh"
	. "$TOP/t/rig/proc.sh"
	cd "$TEST_DIR" || exit 73
}
