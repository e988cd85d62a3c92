/* Unit tests for lib/msg: header fields and body of a message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msg.h"

#define S(lit) lit, sizeof(lit) - 1

static void
assert_mem(const char *p, size_t n, const char *want)
{
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
}

static void
assert_raw(const struct msg_field *f, const char *want)
{
	assert_mem(f->raw, f->raw_len, want);
}

static void
assert_value(const struct msg_field *f, const char *want)
{
	assert_mem(f->value, f->value_len, want);
}

static void
parse_ok(struct msg *m, const char *buf, size_t len)
{
	const char *why = NULL;

	if (msg_parse(m, buf, len, &why) != 0)
		fail_msg("msg_parse: %s", why ? why : "?");
}

static void
parse_bad(const char *buf, size_t len)
{
	struct msg m = { 0 };
	const char *why = NULL;

	errno = 0;
	assert_int_equal(msg_parse(&m, buf, len, &why), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(why);
	assert_int_equal(m.nfields, 0);
	msg_free(&m);
}

static void
test_lf_simple(void **state)
{
	static const char in[] = "From: a@example.com\nTo: b@example.com\n"
	    "Subject: hi\n\nbody line\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 3);
	assert_raw(&m.fields[0], "From: a@example.com");
	assert_int_equal(m.fields[0].name_len, 4);
	assert_value(&m.fields[0], " a@example.com");
	assert_value(&m.fields[2], " hi");
	assert_true(m.has_body);
	assert_mem(m.body, m.body_len, "body line\n");
	assert_ptr_equal(m.buf, in);
	assert_int_equal(m.len, sizeof(in) - 1);
	msg_free(&m);
}

static void
test_crlf(void **state)
{
	static const char in[] = "From: a@example.com\r\nSubject: x\r\n"
	    "\r\nbody\r\nmore\r\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 2);
	assert_raw(&m.fields[0], "From: a@example.com");
	assert_raw(&m.fields[1], "Subject: x");
	assert_mem(m.body, m.body_len, "body\r\nmore\r\n");
	msg_free(&m);
}

static void
test_mixed_endings(void **state)
{
	static const char in[] = "A: 1\r\nB: 2\nC: 3\r\n\tcont\n\r\nbody\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 3);
	assert_raw(&m.fields[0], "A: 1");
	assert_raw(&m.fields[1], "B: 2");
	assert_raw(&m.fields[2], "C: 3\r\n\tcont");
	assert_true(m.has_body);
	assert_mem(m.body, m.body_len, "body\n");
	msg_free(&m);
}

static void
test_folded(void **state)
{
	static const char in[] = "Subject: first\r\n second\r\n\t third\r\n"
	    "DKIM-Signature: v=1; a=rsa-sha256;\n\tb=abc\n  def\nX: y\n\n";
	struct msg m = { 0 };
	char *u;
	size_t ulen;

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 3);
	assert_raw(&m.fields[0], "Subject: first\r\n second\r\n\t third");
	assert_value(&m.fields[0], " first\r\n second\r\n\t third");
	assert_raw(&m.fields[1],
	    "DKIM-Signature: v=1; a=rsa-sha256;\n\tb=abc\n  def");
	u = msg_unfold(m.fields[0].value, m.fields[0].value_len, &ulen);
	assert_non_null(u);
	assert_string_equal(u, " first second\t third");
	assert_int_equal(ulen, strlen(u));
	free(u);
	u = msg_unfold(m.fields[1].value, m.fields[1].value_len, NULL);
	assert_string_equal(u, " v=1; a=rsa-sha256;\tb=abc  def");
	free(u);
	assert_true(m.has_body);
	assert_int_equal(m.body_len, 0);
	msg_free(&m);
}

static void
test_unfold_edges(void **state)
{
	char *u;
	size_t n = 99;

	(void)state;
	u = msg_unfold(NULL, 0, &n);
	assert_string_equal(u, "");
	assert_int_equal(n, 0);
	free(u);
	/* A bare CR that is not part of a line ending stays. */
	u = msg_unfold(S("a\rb\r\n c\n\td"), &n);
	assert_string_equal(u, "a\rb c\td");
	assert_int_equal(n, 7);
	free(u);
}

static void
test_repeated(void **state)
{
	static const char in[] = "Received: one\nreceived: two\nFrom: x\n"
	    "RECEIVED: three\n\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(msg_count(&m, "Received"), 3);
	assert_int_equal(msg_count(&m, "from"), 1);
	assert_int_equal(msg_count(&m, "To"), 0);
	assert_int_equal(msg_find(&m, "received", 0), 0);
	assert_int_equal(msg_find(&m, "received", 1), 1);
	assert_int_equal(msg_find(&m, "received", 2), 3);
	assert_int_equal(msg_find(&m, "received", 3), -1);
	assert_int_equal(msg_find(&m, "Subject", 0), -1);
	assert_true(msg_field_is(&m.fields[2], "FROM"));
	assert_false(msg_field_is(&m.fields[2], "Fro"));
	assert_false(msg_field_is(&m.fields[2], "From:"));
	msg_free(&m);
}

static void
test_wsp_before_colon(void **state)
{
	static const char in[] = "Subject \t: spaced\nX-Empty:\nY:\n\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 3);
	assert_int_equal(m.fields[0].name_len, 7);
	assert_value(&m.fields[0], " spaced");
	assert_true(msg_field_is(&m.fields[0], "subject"));
	assert_value(&m.fields[1], "");
	assert_int_equal(m.fields[2].name_len, 1);
	msg_free(&m);
}

static void
test_empty_body(void **state)
{
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S("A: b\r\n\r\n"));
	assert_int_equal(m.nfields, 1);
	assert_true(m.has_body);
	assert_int_equal(m.body_len, 0);
	assert_ptr_equal(m.body, m.buf + m.len);
	msg_free(&m);
}

static void
test_no_body(void **state)
{
	static const char in[] = "A: b\nC: d\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 2);
	assert_false(m.has_body);
	assert_int_equal(m.body_len, 0);
	assert_ptr_equal(m.body, in + sizeof(in) - 1);
	msg_free(&m);
}

static void
test_no_final_newline(void **state)
{
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S("A: b\r\nC: d"));
	assert_int_equal(m.nfields, 2);
	assert_raw(&m.fields[1], "C: d");
	assert_false(m.has_body);
	/* A folded last field cut before its line ending. */
	parse_ok(&m, S("A: b\n c"));
	assert_raw(&m.fields[0], "A: b\n c");
	/* Body without a final line ending. */
	parse_ok(&m, S("A: b\n\nlast"));
	assert_mem(m.body, m.body_len, "last");
	/* A CR cut from its LF at the very end still ends the line. */
	parse_ok(&m, S("A: b\r"));
	assert_raw(&m.fields[0], "A: b");
	msg_free(&m);
}

static void
test_empty_and_blank_start(void **state)
{
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, "", 0);
	assert_int_equal(m.nfields, 0);
	assert_false(m.has_body);
	assert_int_equal(m.body_len, 0);
	parse_ok(&m, NULL, 0);
	assert_int_equal(m.nfields, 0);
	parse_ok(&m, S("\nFrom: not a field\n"));
	assert_int_equal(m.nfields, 0);
	assert_true(m.has_body);
	assert_mem(m.body, m.body_len, "From: not a field\n");
	parse_ok(&m, S("\r\n"));
	assert_true(m.has_body);
	assert_int_equal(m.body_len, 0);
	msg_free(&m);
}

static void
test_8bit(void **state)
{
	static const char in[] = "Subject: caf\xc3\xa9 \xff\xfe\n"
	    "X: \x80\n\nbody \xe2\x82\xac\x00 nul\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 2);
	assert_value(&m.fields[0], " caf\xc3\xa9 \xff\xfe");
	assert_int_equal(m.body_len, 14);
	msg_free(&m);
	/* 8-bit or control bytes in a field name are not a field. */
	parse_bad(S("Subj\xc3\xa9t: x\n\n"));
	parse_bad(S("Sub\x01ject: x\n\n"));
}

static void
test_malformed(void **state)
{
	(void)state;
	parse_bad(S("no colon here\n\nbody\n"));
	parse_bad(S("A: b\nno colon\n\n"));
	parse_bad(S(": empty name\n\n"));
	parse_bad(S(" continued: first\nA: b\n\n"));
	parse_bad(S("\tx\n"));
	parse_bad(S("From a@example.com Mon Jan  1 00:00:00 2024\nA: b\n\n"));
	parse_bad(S("Two words: x\n\n"));
	parse_bad(S("A: b\nName"));
}

static void
test_field_limit(void **state)
{
	size_t n = MSG_MAX_FIELDS + 1, i;
	char *buf = malloc(n * 5 + 1), *p = buf;
	struct msg m = { 0 };
	const char *why = NULL;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		memcpy(p, "X: y\n", 5);
		p += 5;
	}
	parse_ok(&m, buf, (size_t)(p - buf) - 5);
	assert_int_equal(m.nfields, MSG_MAX_FIELDS);
	errno = 0;
	assert_int_equal(msg_parse(&m, buf, (size_t)(p - buf), &why), -1);
	assert_int_equal(errno, EBADMSG);
	assert_non_null(why);
	/* why may be NULL. */
	assert_int_equal(msg_parse(&m, buf, (size_t)(p - buf), NULL), -1);
	msg_free(&m);
	free(buf);
}

static void
test_reuse(void **state)
{
	static const char big[] = "A: 1\nB: 2\nC: 3\nD: 4\nE: 5\n\nx\n";
	struct msg m = { 0 };
	struct msg_field *fields;
	size_t cap;

	(void)state;
	parse_ok(&m, S(big));
	fields = m.fields;
	cap = m.cap;
	parse_ok(&m, S("Z: 1\n\n"));
	assert_int_equal(m.nfields, 1);
	assert_ptr_equal(m.fields, fields);
	assert_int_equal(m.cap, cap);
	parse_bad(S("bad\n"));
	parse_ok(&m, S(big));
	assert_ptr_equal(m.fields, fields);
	assert_int_equal(m.nfields, 5);
	assert_mem(m.body, m.body_len, "x\n");
	msg_free(&m);
	assert_null(m.fields);
	assert_int_equal(m.cap, 0);
}

static void
test_body_not_scanned(void **state)
{
	/* Header lines after the blank line are body, however they look. */
	static const char in[] = "A: b\n\nno colon\n continuation\nFrom x\n";
	struct msg m = { 0 };

	(void)state;
	parse_ok(&m, S(in));
	assert_int_equal(m.nfields, 1);
	assert_ptr_equal(m.body, in + 6);
	msg_free(&m);
}

static void
test_dot_atom(void **state)
{
	static const char *const good[] = { "a", "example.com", "a.b.c",
	    "!#$%&'*+-/=?^_`{|}~", "x1.Y2" };
	static const char *const bad[] = { "", ".", "a.", ".a", "a..b",
	    "a b", "a\"b", "a@b", "a(b)", "caf\xc3\xa9" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(msg_is_dot_atom(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(msg_is_dot_atom(bad[i], strlen(bad[i])));
	/* the length counts, not a NUL */
	assert_true(msg_is_dot_atom("ab.c..", 4));
	assert_false(msg_is_dot_atom("a\0b", 3));
	assert_true(msg_is_atext('~'));
	assert_false(msg_is_atext('.'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lf_simple),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_mixed_endings),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_unfold_edges),
		cmocka_unit_test(test_repeated),
		cmocka_unit_test(test_wsp_before_colon),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_empty_and_blank_start),
		cmocka_unit_test(test_8bit),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_dot_atom),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_body_not_scanned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
