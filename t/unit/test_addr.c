/* Unit tests for lib/addr: RFC 5322 address lists to canonical
 * addr-specs (addr_list_parse, strict), the lenient walk DMARC uses
 * (addr_walk without ADDR_STRICT), and the walk over a message's To, Cc
 * and Bcc fields (addr_list_from_fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "msg.h"

struct row {
	const char *value;
	const char *want;	/* addr-specs, one per line; NULL: an error */
	const char *why;	/* the error */
};

static const struct row rows[] = {
	/* plain */
	{ "a@example.test", "a@example.test", NULL },
	{ "  a@example.test  ", "a@example.test", NULL },
	{ "A.B-c+d@Example.TEST", "A.B-c+d@Example.TEST", NULL },
	{ "", "", NULL },
	{ "   ", "", NULL },
	/* display names */
	{ "Alice <alice@example.test>", "alice@example.test", NULL },
	{ "\"Doe, John\" <j@example.test>", "j@example.test", NULL },
	{ "=?utf-8?q?=C3=A9t=C3=A9?= <b@example.test>", "b@example.test",
	    NULL },
	{ "John Q. Public <jqp@example.test>", "jqp@example.test", NULL },
	{ "<a@example.test>", "a@example.test", NULL },
	{ "user@good.test <evil@evil.test>", "evil@evil.test", NULL },
	/* the stray display-name rule */
	{ "Doe, John <j@example.test>", "j@example.test", NULL },
	{ "Doe, John <j@x.test>, Roe, Jane <r@y.test>",
	    "j@x.test\nr@y.test", NULL },
	/* quoted local parts */
	{ "\"a b\"@x.test", "\"a b\"@x.test", NULL },
	{ "\"q\\\"uote\"@x.test", "\"q\\\"uote\"@x.test", NULL },
	{ "Name <\"a,b\"@x.test>", "\"a,b\"@x.test", NULL },
	{ "\"\"@x.test", "\"\"@x.test", NULL },
	/* comments everywhere */
	{ "(c (nested) <x@evil.test>) a@example.test (c)", "a@example.test",
	    NULL },
	{ "a(1)@(2)example(3).(4)test(5)", "a@example.test", NULL },
	{ "Name (c) <(c) a (c) @ (c) x.test (c)> (c)", "a@x.test", NULL },
	{ "(a@x.test)", "", NULL },
	{ "(\\) still a comment) a@x.test", "a@x.test", NULL },
	/* CFWS in an addr-spec, obs-local-part */
	{ "a . b @ Example . Test", "a.b@Example.Test", NULL },
	{ "\"a\". b .c@x.test", "\"a\".b.c@x.test", NULL },
	{ "\"a\" . \"b\"@x.test", "\"a\".\"b\"@x.test", NULL },
	/* groups */
	{ "undisclosed-recipients:;", "", NULL },
	{ "undisclosed-recipients: ;", "", NULL },
	{ "friends: a@x.test, \"B\" <b@y.test>;", "a@x.test\nb@y.test",
	    NULL },
	{ "a@w.test, friends: b@x.test;, c@y.test",
	    "a@w.test\nb@x.test\nc@y.test", NULL },
	{ "\"My Group\": a@x.test", "a@x.test", NULL },
	{ "g: h: a@x.test;;", "a@x.test", NULL },
	/* obs-route */
	{ "<@relay.test,@other.test:a@example.test>", "a@example.test", NULL },
	{ "Name <@relay.test:a@example.test>", "a@example.test", NULL },
	{ "<,@relay.test,,@[192.0.2.1]:a@example.test>", "a@example.test",
	    NULL },
	/* several, ',' or ';' */
	{ "a@x.test, b@y.test", "a@x.test\nb@y.test", NULL },
	{ "a@x.test; b@y.test", "a@x.test\nb@y.test", NULL },
	{ "a@x.test,,b@y.test,", "a@x.test\nb@y.test", NULL },
	{ "a@x.test, a@x.test", "a@x.test\na@x.test", NULL },
	/* the null address */
	{ "<>", "", NULL },
	{ "<>, a@x.test", "a@x.test", NULL },
	/* folded */
	{ "Name\r\n <a@example.test>,\r\n\tb@example.test",
	    "a@example.test\nb@example.test", NULL },
	{ "\"a\r\n b\"@x.test", "\"a b\"@x.test", NULL },
	/* UTF-8 (RFC 6532), kept as it is */
	{ "j\xc3\xb6rg@b\xc3\xbc" "cher.test", "j\xc3\xb6rg@b\xc3\xbc"
	    "cher.test", NULL },
	{ "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.test",
	    "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.test", NULL },
	{ "J\xc3\xb6rg <j@xn--bcher-kva.test>", "j@xn--bcher-kva.test",
	    NULL },
	/* domain literals, as written */
	{ "a@[192.0.2.1]", "a@[192.0.2.1]", NULL },
	{ "a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]", NULL },
	{ "Name <a@ [192.0.2.1] >", "a@[192.0.2.1]", NULL },
	/* malformed: hard errors */
	{ "\"unterminated <a@example.test>", NULL,
	    "unterminated quoted string" },
	{ "(unterminated a@example.test", NULL, "unterminated comment" },
	{ "a@[192.0.2.1", NULL, "unterminated domain literal" },
	{ "((((((((((((((((((((((((((((((((("
	    ")))))))))))))))))))))))))))))))))a@x.test", NULL,
	    "comment nested too deeply" },
	{ "A <a@example.test", NULL, "unterminated angle address" },
	{ "A <a@example.test, b@y.test", NULL, "unterminated angle address" },
	{ "a@example.test>", NULL, "stray '>'" },
	{ "<foo>", NULL, "address without a domain" },
	{ "a@", NULL, "empty domain" },
	{ "a@x.test, b@", NULL, "empty domain" },
	{ "<a@x.test <b@y.test>>", NULL,
	    "several angle addresses in one mailbox" },
	{ "a@\"x\".test", NULL, "malformed domain" },
	{ "<a@x.test,y.test>", NULL, "malformed domain" },
	/* malformed: ADDR_STRICT */
	{ "a@x..test", NULL, "malformed domain" },
	{ "a@.x.test", NULL, "malformed domain" },
	{ "a@x.test.", NULL, "malformed domain" },
	{ "a@ex ample.test", NULL, "malformed domain" },
	{ "a@x [192.0.2.1]", NULL, "malformed domain" },
	{ "a@[192.0.2.1] x", NULL, "malformed domain" },
	{ "a@x)y.test", NULL, "malformed domain" },
	{ "John a@x.test", NULL, "malformed local part" },
	{ "a..b@x.test", NULL, "malformed local part" },
	{ ".a@x.test", NULL, "malformed local part" },
	{ "\"a\"\"b\"@x.test", NULL, "malformed local part" },
	{ "@x.test", NULL, "empty local part" },
	{ "a@b@x.test", NULL, "several '@' in one address" },
	{ "a@x.test b@y.test", NULL, "several '@' in one address" },
	{ "<a@x.test> b@y.test", NULL, "text after angle address" },
	{ "<a:b@x.test>", NULL, "malformed route" },
	{ "<@:b@x.test>", NULL, "malformed route" },
	{ "a@x.test: b@y.test;", NULL, "malformed group name" },
	{ ": b@y.test;", NULL, "malformed group name" },
	{ "a\x01@x.test", NULL, "malformed local part" },
	{ "\"a\x01\"@x.test", NULL, "control character in address" },
	{ "a\xff@x.test", NULL, "invalid UTF-8 in address" },
	{ "a@x\xc3.test", NULL, "invalid UTF-8 in address" },
};

/* l's addr-specs, one per line. */
static char *
joined(const struct addr_list *l)
{
	size_t i, n = 1;
	char *s;

	for (i = 0; i < l->n; i++)
		n += strlen(l->v[i]) + 1;
	s = calloc(1, n);
	assert_non_null(s);
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, "\n");
		strcat(s, l->v[i]);
	}
	return s;
}

static void
test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct addr_list l = { 0 };
		const char *why = NULL;
		int rc = addr_list_parse(r->value, strlen(r->value), &l, &why);
		char *got;

		if (r->want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\": parsed, want \"%s\"",
				    r->value, r->why);
			if (strcmp(why, r->why) != 0)
				fail_msg("\"%s\": \"%s\", want \"%s\"",
				    r->value, why, r->why);
			assert_int_equal(l.n, 0);
			addr_list_free(&l);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": %s", r->value, why);
		got = joined(&l);
		if (strcmp(got, r->want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", r->value,
			    got, r->want);
		assert_true(l.n == 0 || l.v[l.n] == NULL);
		free(got);
		addr_list_free(&l);
		assert_null(l.v);
	}
}

/* A failing value leaves what the list held before. */
static void
test_append_rollback(void **state)
{
	struct addr_list l = { 0 };
	const char *why;
	size_t i;

	(void)state;
	assert_int_equal(addr_list_parse("a@x.test", 8, &l, &why), 0);
	assert_int_equal(addr_list_parse("b@y.test, c@", 12, &l, &why), -1);
	assert_string_equal(why, "empty domain");
	assert_int_equal(l.n, 1);
	assert_null(l.v[1]);
	/* Growth past the first allocation. */
	for (i = 0; i < 100; i++)
		assert_int_equal(addr_list_parse("d@z.test, e@z.test", 18, &l,
		    &why), 0);
	assert_int_equal(l.n, 201);
	assert_string_equal(l.v[200], "e@z.test");
	assert_null(l.v[201]);
	addr_list_free(&l);
	assert_int_equal(l.n, 0);
	/* Not NUL-terminated: only len counts. */
	assert_int_equal(addr_list_parse("a@x.testXYZ", 8, &l, &why), 0);
	assert_string_equal(l.v[0], "a@x.test");
	addr_list_free(&l);
}

/* The token bound: "field too complex". */
static void
test_bounds(void **state)
{
	struct addr_list l = { 0 };
	const char *why;
	char *v;
	size_t i, n = ADDR_MAX_TOKENS / 4 + 1;

	(void)state;
	/* "a@b," is 4 tokens */
	assert_non_null(v = malloc(4 * n + 1));
	for (i = 0; i < n; i++)
		memcpy(v + 4 * i, "a@b,", 4);
	assert_int_equal(addr_list_parse(v, 4 * n, &l, &why), -1);
	assert_string_equal(why, "field too complex");
	assert_int_equal(addr_list_parse(v, 4 * (n - 1), &l, &why), 0);
	assert_int_equal(l.n, n - 1);
	addr_list_free(&l);
	free(v);
	/* A domain of ADDR_MAX_DOMAIN octets and one more. */
	assert_non_null(v = malloc(ADDR_MAX_DOMAIN + 3));
	memcpy(v, "a@", 2);
	memset(v + 2, 'x', ADDR_MAX_DOMAIN + 1);
	assert_int_equal(addr_list_parse(v, ADDR_MAX_DOMAIN + 2, &l, &why),
	    0);
	addr_list_free(&l);
	assert_int_equal(addr_list_parse(v, ADDR_MAX_DOMAIN + 3, &l, &why),
	    -1);
	assert_string_equal(why, "domain too long");
	free(v);
}

/* ---- the lenient walk ---- */

struct seen {
	char	 specs[512];
	size_t	 n;
	int	 literal;
	size_t	 stop_at;	/* stop at the nth mailbox; 0: never */
};

static int
seen_add(void *arg, const struct addr_mbox *mb, const char **why)
{
	struct seen *s = arg;

	(void)why;
	assert_int_equal(mb->spec[mb->local_len], '@');
	assert_ptr_equal(mb->domain, mb->spec + mb->local_len + 1);
	assert_int_equal(strlen(mb->domain), mb->domain_len);
	if (s->n++ > 0)
		strcat(s->specs, " ");
	strcat(s->specs, mb->spec);
	s->literal |= mb->literal;
	return s->stop_at != 0 && s->n == s->stop_at;
}

static int
walk(const char *v, unsigned flags, struct seen *s, const char **why)
{
	memset(s->specs, 0, sizeof(s->specs));
	s->n = 0;
	s->literal = 0;
	return addr_walk(v, strlen(v), flags, seen_add, s, why);
}

static void
test_walk_lenient(void **state)
{
	struct seen s = { .stop_at = 0 };
	const char *why;

	(void)state;
	/* What ADDR_STRICT refuses, the lenient walk reports: the domain
	 * after the last '@', the tokens concatenated. */
	assert_int_equal(walk("John a@x.test", 0, &s, &why), 0);
	assert_string_equal(s.specs, "Johna@x.test");
	assert_int_equal(walk("a@b@x.test", 0, &s, &why), 0);
	assert_string_equal(s.specs, "a@b@x.test");
	assert_int_equal(walk("a@example.test.", 0, &s, &why), 0);
	assert_string_equal(s.specs, "a@example.test.");
	assert_int_equal(walk("<a@x.test> junk, x: b@y.test;", 0, &s, &why),
	    0);
	assert_string_equal(s.specs, "a@x.test b@y.test");
	assert_int_equal(walk("@x.test", 0, &s, &why), 0);
	assert_string_equal(s.specs, "@x.test");
	assert_int_equal(walk("<a:b@x.test>", 0, &s, &why), 0);
	assert_string_equal(s.specs, "b@x.test");
	/* literal: set, and not an error in either mode */
	assert_int_equal(walk("a@[192.0.2.1]", ADDR_STRICT, &s, &why), 0);
	assert_true(s.literal);
	assert_int_equal(walk("a@x [1]", 0, &s, &why), 0);
	assert_true(s.literal);
	assert_int_equal(walk("a@x.test", 0, &s, &why), 0);
	assert_false(s.literal);
	/* The hard errors stay errors. */
	assert_int_equal(walk("<foo>", 0, &s, &why), -1);
	assert_string_equal(why, "address without a domain");
	assert_int_equal(walk("a@x.test, (b", 0, &s, &why), -1);
	assert_string_equal(why, "unterminated comment");
	assert_int_equal(s.n, 0);	/* the tokenizer runs first */
}

static void
test_walk_stop(void **state)
{
	struct seen s = { .stop_at = 2 };
	const char *why;

	(void)state;
	/* Stopped at the second: the third is never looked at. */
	assert_int_equal(walk("a@x.test, b@y.test, <c@", 0, &s, &why), 1);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.specs, "a@x.test b@y.test");
	/* An error before the stop wins. */
	assert_int_equal(walk("a@x.test, <b@, c@z.test", 0, &s, &why), -1);
	assert_string_equal(why, "unterminated angle address");
	assert_int_equal(s.n, 1);
}

static int
refuse(void *arg, const struct addr_mbox *mb, const char **why)
{
	(void)arg;
	(void)mb;
	*why = "refused";
	return -1;
}

static void
test_walk_fn_error(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(addr_walk("a@x.test", 8, 0, refuse, NULL, &why), -1);
	assert_string_equal(why, "refused");
	/* no mailbox: fn never called */
	assert_int_equal(addr_walk("g:;", 3, 0, refuse, NULL, &why), 0);
}

/* ---- fields of a message ---- */

static void
test_from_fields(void **state)
{
	static const char msgtext[] =
	    "From: sender@x.test\n"
	    "To: a@x.test, \"B\" <b@y.test>\n"
	    "Subject: c@z.test\n"
	    "cc: Doe, John <j@x.test>,\n"
	    " undisclosed-recipients:;\n"
	    "Bcc:\n"
	    "Resent-To: r@x.test\n"
	    "BCC: hidden@x.test\n"
	    "To: (second To) last@x.test\n"
	    "\n"
	    "To: body@x.test\n";
	static const char *const rcpt[] = { "To", "Cc", "Bcc" };
	struct msg m = { 0 };
	struct addr_list l = { 0 };
	const char *why = NULL;
	char *got;

	(void)state;
	assert_int_equal(msg_parse(&m, msgtext, sizeof(msgtext) - 1, &why), 0);
	assert_int_equal(addr_list_from_fields(&m, rcpt, 3, &l, &why), 0);
	got = joined(&l);
	assert_string_equal(got, "a@x.test\nb@y.test\nj@x.test\n"
	    "hidden@x.test\nlast@x.test");
	free(got);
	/* More names, appended after what l holds. */
	assert_int_equal(addr_list_from_fields(&m,
	    (const char *const[]){ "resent-to" }, 1, &l, &why), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.v[5], "r@x.test");
	/* No names: nothing. */
	assert_int_equal(addr_list_from_fields(&m, rcpt, 0, &l, &why), 0);
	assert_int_equal(l.n, 6);
	addr_list_free(&l);
	msg_free(&m);
}

static void
test_from_fields_error(void **state)
{
	static const char msgtext[] =
	    "To: a@x.test\n"
	    "Cc: b@y.test\n"
	    "Bcc: broken <c@z.test\n"
	    "\n";
	static const char *const rcpt[] = { "To", "Cc", "Bcc" };
	struct msg m = { 0 };
	struct addr_list l = { 0 };
	const char *why = NULL;

	(void)state;
	assert_int_equal(msg_parse(&m, msgtext, sizeof(msgtext) - 1, &why), 0);
	assert_int_equal(addr_list_parse("keep@x.test", 11, &l, &why), 0);
	assert_int_equal(addr_list_from_fields(&m, rcpt, 3, &l, &why), -1);
	assert_string_equal(why, "unterminated angle address");
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "keep@x.test");
	assert_null(l.v[1]);
	/* Without the broken field it goes through. */
	assert_int_equal(addr_list_from_fields(&m, rcpt, 2, &l, &why), 0);
	assert_int_equal(l.n, 3);
	addr_list_free(&l);
	msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_append_rollback),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_walk_lenient),
		cmocka_unit_test(test_walk_stop),
		cmocka_unit_test(test_walk_fn_error),
		cmocka_unit_test(test_from_fields),
		cmocka_unit_test(test_from_fields_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
