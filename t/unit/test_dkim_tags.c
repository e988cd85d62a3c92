/* Unit tests for dkim_tags_parse / dkim_tags_get (RFC 6376 3.2). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dkim.h"
#include "test_dkim.h"

static int
parse(const char *s, struct dkim_taglist *tl, const char **why)
{
	*why = NULL;
	return dkim_tags_parse(s, strlen(s), tl, why);
}

static void
assert_tag(const struct dkim_taglist *tl, const char *name, const char *val)
{
	const struct dkim_tag *t = dkim_tags_get(tl, name);

	assert_non_null(t);
	assert_int_equal(t->name_len, strlen(name));
	assert_int_equal(t->value_len, strlen(val));
	assert_memory_equal(t->value, val, strlen(val));
}

static void
test_simple_list(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	assert_int_equal(parse("v=1; a=rsa-sha256; d=example.net", &tl, &why),
	    0);
	assert_int_equal(tl.n, 3);
	assert_tag(&tl, "v", "1");
	assert_tag(&tl, "a", "rsa-sha256");
	assert_tag(&tl, "d", "example.net");
	assert_null(dkim_tags_get(&tl, "b"));
	assert_null(dkim_tags_get(&tl, "A"));	/* names are case-sensitive */
}

static void
test_empty_and_trailing(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	assert_int_equal(parse("", &tl, &why), 0);
	assert_int_equal(tl.n, 0);
	assert_int_equal(parse("  \t ", &tl, &why), 0);
	assert_int_equal(tl.n, 0);
	assert_int_equal(parse("a=1;", &tl, &why), 0);
	assert_int_equal(tl.n, 1);
	assert_int_equal(parse("a=1; \r\n\t", &tl, &why), 0);
	assert_int_equal(tl.n, 1);
	/* An empty value is fine. */
	assert_int_equal(parse("a=;b= ;c=\r\n ", &tl, &why), 0);
	assert_int_equal(tl.n, 3);
	assert_tag(&tl, "a", "");
	assert_tag(&tl, "b", "");
	assert_tag(&tl, "c", "");
}

static void
test_fws(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	/* FWS around name, '=' and value; inner FWS kept, ends trimmed. */
	assert_int_equal(parse(" \r\n\tb \t= \r\n abc\r\n def \r\n\t; bh\n =x",
	    &tl, &why), 0);
	assert_int_equal(tl.n, 2);
	assert_tag(&tl, "b", "abc\r\n def");
	assert_tag(&tl, "bh", "x");
	/* A line break not followed by WSP is not FWS. */
	assert_int_equal(parse("a=b\r\nc", &tl, &why), -1);
	assert_non_null(why);
	assert_int_equal(parse("a=b\r\n", &tl, &why), -1);
	assert_int_equal(parse("a\r\n=b", &tl, &why), -1);
}

static void
test_names(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	assert_int_equal(parse("a_1Z=x; Bq_=y", &tl, &why), 0);
	assert_tag(&tl, "a_1Z", "x");
	assert_tag(&tl, "Bq_", "y");
	assert_int_equal(parse("1a=x", &tl, &why), -1);
	assert_string_equal(why, "bad tag name");
	assert_int_equal(parse("_a=x", &tl, &why), -1);
	assert_int_equal(parse("a-b=x", &tl, &why), -1);
	assert_int_equal(parse("=x", &tl, &why), -1);
	assert_int_equal(parse("a b=x", &tl, &why), -1);
	assert_int_equal(parse("a", &tl, &why), -1);
	assert_string_equal(why, "missing '=' after tag name");
	assert_int_equal(parse("a=1;b", &tl, &why), -1);
}

static void
test_values(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	/* '=' may appear in values (base64 padding, qp). */
	assert_int_equal(parse("b=YWJj==; n=a=20b", &tl, &why), 0);
	assert_tag(&tl, "b", "YWJj==");
	assert_tag(&tl, "n", "a=20b");
	/* Control bytes are not value characters. */
	assert_int_equal(parse("a=x\001y", &tl, &why), -1);
	assert_string_equal(why, "bad character in tag value");
	assert_int_equal(dkim_tags_parse("a=x\0y", 5, &tl, &why), -1);
	assert_int_equal(parse("a=x\177", &tl, &why), -1);
	/* UTF-8 is allowed (RFC 8616). */
	assert_int_equal(parse("i=j\xc3\xb6rg@example.de", &tl, &why), 0);
}

static void
test_duplicates_and_empty_specs(void **state)
{
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	assert_int_equal(parse("a=1; b=2; a=3", &tl, &why), -1);
	assert_string_equal(why, "duplicate tag");
	assert_int_equal(parse("a=1; A=3", &tl, &why), 0);
	assert_int_equal(parse("a=1;;b=2", &tl, &why), -1);
	assert_int_equal(parse(";a=1", &tl, &why), -1);
	assert_int_equal(parse("a=1;;", &tl, &why), -1);
	assert_int_equal(parse(";", &tl, &why), -1);
}

static void
test_too_many(void **state)
{
	struct dkim_taglist tl;
	const char *why;
	char buf[4096];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < DKIM_MAX_TAGS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "t%d=%d;", i,
		    i);
	assert_int_equal(dkim_tags_parse(buf, n, &tl, &why), 0);
	assert_int_equal(tl.n, DKIM_MAX_TAGS);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "z=1");
	assert_int_equal(dkim_tags_parse(buf, n, &tl, &why), -1);
	assert_string_equal(why, "too many tags");
}

static void
test_rfc_example(void **state)
{
	/* RFC 6376 appendix A.2, as folded in the message. */
	static const char sig[] = RFC6376_A2_SIG;
	struct dkim_taglist tl;
	const char *why;

	(void)state;
	assert_int_equal(parse(sig, &tl, &why), 0);
	assert_int_equal(tl.n, 10);
	assert_tag(&tl, "h", "Received : From : To : Subject : Date : "
	    "Message-ID");
	assert_tag(&tl, "i", "joe@football.example.com");
	assert_tag(&tl, "bh", "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	assert_tag(&tl, "b", "AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB"
	    "\r\n        4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut"
	    "\r\n        KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV"
	    "\r\n        4bmp/YzhwvcubU4=");
}

static void
test_values_point_into_input(void **state)
{
	static const char s[] = "k=rsa; p=MIGf";
	struct dkim_taglist tl;
	const char *why;
	const struct dkim_tag *t;

	(void)state;
	assert_int_equal(dkim_tags_parse(s, sizeof(s) - 1, &tl, &why), 0);
	t = dkim_tags_get(&tl, "p");
	assert_ptr_equal(t->name, s + 7);
	assert_ptr_equal(t->value, s + 9);
	/* Length is honoured: no NUL needed, bytes after len ignored. */
	assert_int_equal(dkim_tags_parse(s, 5, &tl, &why), 0);
	assert_tag(&tl, "k", "rsa");
	assert_int_equal(tl.n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_list),
		cmocka_unit_test(test_empty_and_trailing),
		cmocka_unit_test(test_fws),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_duplicates_and_empty_specs),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_values_point_into_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
