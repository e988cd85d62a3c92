# t/lib-spfsuite.sh: an OpenSPF conformance suite run the way t/0600 and
# t/0601 run theirs.  Source after t/lib.sh.
#
#   spf_suite NAME FILE BAR [PYSPF_BAR]
#       runs t/rig/spfsuite.py (a real DNS server on loopback, t/rig/spfdns.py,
#       which drops queries for the suite's timeouts) on the suite
#       $TEST_SRC/data/spf/FILE ("RFC 7208", "rfc7208-tests.yml") for
#       spfcheck, pyspf and libspf2's spfquery; prints the three scores and
#       spfcheck's failures; spfcheck must score at least BAR, pyspf at least
#       PYSPF_BAR when given (that proves the rig) and is reported only
#       otherwise; spfquery is reported only.  Ends with test_done.

PY=/usr/bin/python3

# _suite_run IMPL: the runner's output in IMPL.out, its exit status in IMPL.rc
_suite_run() {
	timeout 1200 $PY "$TEST_SRC/rig/spfsuite.py" --suite "$_suite" \
	    --impl "$1" --bin "$MXKIT_BIN" --list-failures --deadline 900 \
	    >"$1.out" 2>"$1.err"
	echo $? >"$1.rc"
}

# _suite_score IMPL [LABEL]: "P T" from the line "score LABEL SUITE: P/T"
_suite_score() {
	sed -n "s|^score ${2:-$1} [^ ]*: \([0-9]*\)/\([0-9]*\)\$|\1 \2|p" "$1.out"
}

_suite_say() { printf '# %s\n' "$@"; }

# _suite_skipped IMPL: its runner said it cannot run it (69, 77)
_suite_skipped() {
	case $(cat "$1.rc") in 69 | 77) return 0 ;; esac
	return 1
}

_suite_report() {
	_suite_say "$1 suite (t/data/spf/$2), DNS from t/rig/spfdns.py:"
	for _i in spfcheck pyspf spfquery; do
		if [ ! -f $_i.rc ]; then
			_suite_say "  $_i: not built"
		elif _suite_skipped $_i; then
			_suite_say "  $_i: not run ($(tail -n 1 $_i.err))"
		else
			grep '^score ' $_i.out | sed 's/^/#   /'
		fi
	done
	if [ -f spfcheck.out ] && grep -qv '^score ' spfcheck.out; then
		_suite_say "spfcheck's failures:"
		grep -v '^score ' spfcheck.out | sed 's/^/#   /'
	fi
}

# _suite_expect IMPL DESCRIPTION [BAR]: IMPL ran and scored (at least BAR)
_suite_expect() {
	_impl=$1 _bar=${3:-}
	test_expect_success "$2" '
		test -f $_impl.rc || { echo "no $MXKIT_BIN/$_impl"; exit 1; }
		cat $_impl.err
		set -- $(_suite_score $_impl)
		test $# = 2 && { test -z "$_bar" || test "$1" -ge "$_bar"; }
	'
}

spf_suite() {
	_suite=$TEST_SRC/data/spf/$2
	$PY -c 'import dns.message, yaml' 2>/dev/null ||
		skip_all "python3-dnspython or python3-yaml missing"

	[ -x "$MXKIT_BIN/spfcheck" ] && _suite_run spfcheck
	_suite_run pyspf
	_suite_run spfquery
	_suite_report "$1" "$2"

	_suite_expect spfcheck "spfcheck scores at least $3 on the $1 suite" "$3"

	if [ -n "${4:-}" ]; then
		_pydesc="pyspf reaches $4 (the rig works)"
	else
		_pydesc="pyspf scored (reported only)"
	fi
	if [ "$(cat pyspf.rc)" = 69 ]; then
		test_skip "$_pydesc" "python3-spf missing"
	else
		_suite_expect pyspf "$_pydesc" "${4:-}"
	fi

	if _suite_skipped spfquery; then
		test_skip "spfquery scored (reported only)" \
		    "$(tail -n 1 spfquery.err)"
	else
		_suite_expect spfquery "spfquery scored (reported only)"
	fi
	test_done
}
