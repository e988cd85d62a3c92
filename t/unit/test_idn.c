/* Unit tests for lib/idn: A-labels for U-label names (RFC 8616). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "idn.h"

static void
assert_alabels(const char *in, const char *want)
{
	const char *why = NULL;
	char *got = idn_to_alabels(in, &why);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_ascii_names_are_copied_unchanged(void **state)
{
	(void)state;
	assert_false(idn_is_unicode("example.org"));
	assert_alabels("example.org", "example.org");
	assert_alabels("Sel._domainkey.Example.ORG.", "Sel._domainkey.Example.ORG.");
	assert_alabels("xn--bcher-kva.example", "xn--bcher-kva.example");
}

static void
test_u_labels_become_a_labels(void **state)
{
	(void)state;
	assert_true(idn_is_unicode("b\xc3\xbc" "cher.example"));
	assert_alabels("b\xc3\xbc" "cher.example", "xn--bcher-kva.example");
	/* UTS #46 mapping folds case before conversion. */
	assert_alabels("B\xc3\x9c" "CHER.example", "xn--bcher-kva.example");
	assert_alabels("\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
	    "xn--r8jz45g.xn--zckzah");
	/* IDNA2008 non-transitional: sharp s stays (not "ss"). */
	assert_alabels("fa\xc3\x9f.de", "xn--fa-hia.de");
}

static void
test_invalid_names_are_refused_with_a_reason(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_null(idn_to_alabels("bad\xff\xfe.example", &why));
	assert_non_null(why);
	why = NULL;
	/* A disallowed code point (U+2028 LINE SEPARATOR). */
	assert_null(idn_to_alabels("a\xe2\x80\xa8" "b.example", &why));
	assert_non_null(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_names_are_copied_unchanged),
		cmocka_unit_test(test_u_labels_become_a_labels),
		cmocka_unit_test(test_invalid_names_are_refused_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
