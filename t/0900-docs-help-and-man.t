#!/bin/sh
# Every program has a --help that fits a screen, a -V, a man page that
# mandoc finds clean, and a README section.
. "$(dirname "$0")/lib.sh"

for src in "$TOP"/cmd/*.c; do
	prog=$(basename "$src" .c)

	test_expect_success "$prog --help exits 0 and fits 24 lines of 80 columns" "
		$prog --help >help &&
		test \$(wc -l <help) -le 24 &&
		test \$(awk '{ if (length > m) m = length } END { print m + 0 }' help) -le 80
	"

	test_expect_success "$prog -V prints a version" "
		$prog -V >ver && grep -q '[0-9]' ver
	"

	test_expect_success "$prog has a man page that mandoc lints clean" "
		page=\$(ls \"\$TOP\"/man/$prog.[18]) &&
		mandoc -T lint -W warning \"\$page\"
	"

	test_expect_success "$prog is documented in the README" "
		grep -q '^$prog ' \"\$TOP\"/README
	"

	test_expect_success "$prog rejects an unknown option with exit 64" "
		expect_status 64 $prog --no-such-option </dev/null
	"
done

test_done
