/* test_filter: lib/filter's From_ line handling and what the emit
 * functions write around it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "filter.h"
#include "msg.h"

#define FIELD	"Authentication-Results: me; dkim=none\n"

static size_t
from_line(const char *s)
{
	return filter_from_line(s, strlen(s));
}

static void
test_from_line_found(void **state)
{
	(void)state;
	assert_int_equal(from_line("From a@b Mon Jan  1 00:00:00 2024\n"
	    "From: a@b\n\nx\n"), 34);
	assert_int_equal(from_line("From a@b Mon Jan  1 00:00:00 2024\r\n"
	    "From: a@b\r\n\r\nx\r\n"), 35);
	assert_int_equal(from_line("From MAILER-DAEMON\n"), 19);
	/* What mbox readers split on: anything after "From ". */
	assert_int_equal(from_line("From \n"), 6);
	assert_int_equal(from_line("From  a@b x\n"), 12);
	/* Only the first line goes. */
	assert_int_equal(from_line("From a\nFrom b\n"), 7);
}

static void
test_from_line_not(void **state)
{
	(void)state;
	assert_int_equal(filter_from_line(NULL, 0), 0);
	assert_int_equal(from_line(""), 0);
	assert_int_equal(from_line("From"), 0);
	assert_int_equal(from_line("From "), 0);
	assert_int_equal(from_line("From: a@b\n\nx\n"), 0);
	assert_int_equal(from_line("from a@b Mon Jan  1 00:00:00 2024\n"), 0);
	assert_int_equal(from_line("FROM a@b Mon Jan  1 00:00:00 2024\n"), 0);
	assert_int_equal(from_line(">From a@b Mon Jan  1 00:00:00 2024\n"), 0);
	assert_int_equal(from_line(" From a@b\n"), 0);
	assert_int_equal(from_line("Subject: x\nFrom a@b\n"), 0);
	/* The From field with obsolete space before the colon. */
	assert_int_equal(from_line("From : a@b\n\nx\n"), 0);
	assert_int_equal(from_line("From \t :a@b\n\nx\n"), 0);
	/* No line ending: not a line, and not a message either. */
	assert_int_equal(from_line("From a@b Mon Jan  1 00:00:00 2024"), 0);
	assert_int_equal(from_line("From a@b\r"), 0);
}

/* A From_ line of n bytes, LF included, then a short message. */
static char *
long_from_line(size_t n)
{
	char *s = malloc(n + 32);

	assert_non_null(s);
	memcpy(s, "From ", 5);
	memset(s + 5, 'x', n - 6);
	s[n - 1] = '\n';
	strcpy(s + n, "From: a@b\n\nx\n");
	return s;
}

static void
test_from_line_bounded(void **state)
{
	char *s;

	(void)state;
	s = long_from_line(FILTER_FROM_LINE_MAX);
	assert_int_equal(from_line(s), FILTER_FROM_LINE_MAX);
	free(s);
	s = long_from_line(FILTER_FROM_LINE_MAX + 1);
	assert_int_equal(from_line(s), 0);
	free(s);
	/* The bound also holds when the input ends first. */
	s = long_from_line(FILTER_FROM_LINE_MAX);
	assert_int_equal(filter_from_line(s, FILTER_FROM_LINE_MAX - 1), 0);
	free(s);
}

/* What came out of fd (a temporary file) since it was made. */
static char *
read_back(FILE *tmp)
{
	static char out[4096];
	size_t n;

	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static char *
emitted(const char *in, char **fields, size_t nfields)
{
	FILE *tmp = tmpfile();

	assert_non_null(tmp);
	assert_int_equal(filter_emit(fileno(tmp), fields, nfields, in,
	    strlen(in)), 0);
	return read_back(tmp);
}

static void
test_emit(void **state)
{
	char *fields[] = { FIELD, "X-Two: 2\n" };

	(void)state;
	assert_string_equal(emitted("From: a@b\n\nx\n", fields, 2),
	    FIELD "X-Two: 2\nFrom: a@b\n\nx\n");
	assert_string_equal(emitted("From a@b Mon Jan  1 00:00:00 2024\n"
	    "From: a@b\n\nx\n", fields, 2),
	    "From a@b Mon Jan  1 00:00:00 2024\n"
	    FIELD "X-Two: 2\nFrom: a@b\n\nx\n");
	assert_string_equal(emitted("From a@b Mon Jan  1 00:00:00 2024\r\n"
	    "From: a@b\r\n\r\nx\r\n", fields, 1),
	    "From a@b Mon Jan  1 00:00:00 2024\r\n"
	    FIELD "From: a@b\r\n\r\nx\r\n");
	/* No fields, or no message: the input as it was. */
	assert_string_equal(emitted("From a@b\nFrom: a@b\n\nx\n", fields, 0),
	    "From a@b\nFrom: a@b\n\nx\n");
	assert_string_equal(emitted("", fields, 1), FIELD);
	assert_string_equal(emitted("From a@b\n", fields, 1),
	    "From a@b\n" FIELD);
	/* Not From_ lines: the field stays on top. */
	assert_string_equal(emitted("From : a@b\n\nx\n", fields, 1),
	    FIELD "From : a@b\n\nx\n");
	assert_string_equal(emitted("From a@b", fields, 1),
	    FIELD "From a@b");
}

/* filter_emit_msg on in, parsed below its From_ line as the programs do. */
static char *
emitted_msg(const char *in, const char *strip_id, size_t *nstripped)
{
	char *field = FIELD;
	size_t len = strlen(in), skip = filter_from_line(in, len);
	struct msg m = { 0 };
	FILE *tmp = tmpfile();

	assert_non_null(tmp);
	assert_int_equal(msg_parse(&m, in + skip, len - skip, NULL), 0);
	assert_int_equal(filter_emit_msg(fileno(tmp), &field, 1, &m, skip,
	    strip_id, nstripped), 0);
	msg_free(&m);
	return read_back(tmp);
}

static void
test_emit_msg(void **state)
{
	const char *in =
	    "From a@b Mon Jan  1 00:00:00 2024\n"
	    "Authentication-Results: me; dkim=pass\n"
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Subject: s\n\nFrom the body\n";
	size_t n = 99;

	(void)state;
	assert_string_equal(emitted_msg(in, NULL, &n),
	    "From a@b Mon Jan  1 00:00:00 2024\n" FIELD
	    "Authentication-Results: me; dkim=pass\n"
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Subject: s\n\nFrom the body\n");
	assert_int_equal(n, 0);
	assert_string_equal(emitted_msg(in, "me", &n),
	    "From a@b Mon Jan  1 00:00:00 2024\n" FIELD
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Subject: s\n\nFrom the body\n");
	assert_int_equal(n, 1);
	assert_string_equal(emitted_msg("From x\r\nA: 1\r\n\r\nb\r\n", "me",
	    NULL), "From x\r\n" FIELD "A: 1\r\n\r\nb\r\n");
	/* Without a From_ line, as before. */
	assert_string_equal(emitted_msg("A: 1\n\nb\n", "me", &n),
	    FIELD "A: 1\n\nb\n");
	assert_int_equal(n, 0);
}

/* The message below a From_ line parses; with it, it does not. */
static void
test_parse_below(void **state)
{
	const char *in = "From a@b Mon Jan  1 00:00:00 2024\n"
	    "From: a@example.com\nSubject: x\n\nbody\n";
	size_t len = strlen(in), skip = filter_from_line(in, len);
	const char *why = NULL;
	struct msg m = { 0 };

	(void)state;
	assert_int_equal(msg_parse(&m, in, len, &why), -1);
	assert_int_equal(msg_parse(&m, in + skip, len - skip, &why), 0);
	assert_int_equal(m.nfields, 2);
	assert_true(msg_field_is(&m.fields[0], "From"));
	assert_string_equal(filter_eol(in + skip, len - skip), "\n");
	msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_line_found),
		cmocka_unit_test(test_from_line_not),
		cmocka_unit_test(test_from_line_bounded),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_emit_msg),
		cmocka_unit_test(test_parse_below),
	};

	diag_init("test_filter");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
