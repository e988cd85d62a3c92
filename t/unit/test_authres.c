/* Unit tests for lib/authres. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

/* Every line (split on eol) fits in 78 columns, continuation lines start
 * with a tab, and the field ends with eol. */
static void
check_folding(const char *f, const char *eol, size_t width)
{
	size_t el = strlen(eol), n = strlen(f);
	const char *p = f, *e;
	int first = 1;

	assert_true(n >= el);
	assert_memory_equal(f + n - el, eol, el);
	while (*p != '\0') {
		e = strstr(p, eol);
		assert_non_null(e);
		if ((size_t)(e - p) > width)
			fail_msg("line of %zu columns: %.*s", (size_t)(e - p),
			    (int)(e - p), p);
		assert_null(memchr(p, '\r', (size_t)(e - p)));
		assert_null(memchr(p, '\n', (size_t)(e - p)));
		if (!first)
			assert_int_equal(*p, '\t');
		first = 0;
		p = e + el;
	}
}

static void
test_none(void **state)
{
	struct authres *ar = authres_new("mx.example.org");
	char *f;

	(void)state;
	assert_string_equal(authres_id(ar), "mx.example.org");
	f = authres_format(ar, "\r\n");
	assert_string_equal(f, "Authentication-Results: mx.example.org; none\r\n");
	free(f);
	authres_free(ar);
}

static void
test_one(void **state)
{
	struct authres *ar = authres_new("mx");
	char *f;

	(void)state;
	assert_int_equal(authres_add(ar, "dkim", "pass", NULL), 0);
	assert_int_equal(authres_prop(ar, "header", "d", "example.com"), 0);
	assert_int_equal(authres_prop(ar, "header", "s", "sel"), 0);
	f = authres_format(ar, "\n");
	assert_string_equal(f, "Authentication-Results: mx; "
	    "dkim=pass header.d=example.com header.s=sel\n");
	free(f);
	/* one resinfo too long for a line folds between properties */
	assert_int_equal(authres_prop(ar, "header", "a", "rsa-sha256"), 0);
	f = authres_format(ar, "\r\n");
	assert_string_equal(f, "Authentication-Results: mx; "
	    "dkim=pass header.d=example.com header.s=sel\r\n"
	    "\theader.a=rsa-sha256\r\n");
	free(f);
	authres_free(ar);
}

static void
test_several(void **state)
{
	struct authres *ar = authres_new("mx.example.org");
	char *f;

	(void)state;
	authres_add(ar, "dkim", "pass", NULL);
	authres_prop(ar, "header", "d", "example.com");
	authres_prop(ar, "header", "s", "sel");
	authres_prop(ar, "header", "i", "@example.com");
	authres_prop(ar, "header", "a", "rsa-sha256");
	authres_prop(ar, "header", "b", "ABCD+/EF");
	authres_add(ar, "dkim", "fail", "bodyhash_mismatch");
	authres_prop(ar, "header", "d", "example.net");
	authres_add(ar, "dkim", "none", NULL);
	f = authres_format(ar, "\r\n");
	assert_string_equal(f, "Authentication-Results: mx.example.org;\r\n"
	    "\tdkim=pass header.d=example.com header.s=sel header.i=@example.com"
	    "\r\n\theader.a=rsa-sha256 header.b=ABCD+/EF;\r\n"
	    "\tdkim=fail reason=\"bodyhash_mismatch\" header.d=example.net;\r\n"
	    "\tdkim=none\r\n");
	check_folding(f, "\r\n", 78);
	free(f);
	authres_free(ar);
}

static void
check_value(const char *in, const char *want)
{
	struct authres *ar = authres_new("mx");
	char *f, expect[512];

	authres_add(ar, "dkim", "pass", NULL);
	assert_int_equal(authres_prop(ar, "header", "i", in), 0);
	f = authres_format(ar, "\n");
	snprintf(expect, sizeof(expect),
	    "Authentication-Results: mx; dkim=pass header.i=%s\n", want);
	assert_string_equal(f, expect);
	free(f);
	authres_free(ar);
}

static void
test_quoting(void **state)
{
	struct authres *ar;
	char *f;

	(void)state;
	check_value("example.com", "example.com");
	check_value("@example.com", "@example.com");
	check_value("user@example.com", "user@example.com");
	check_value("first.last+tag@sub.example.com",
	    "first.last+tag@sub.example.com");
	check_value("rsa-sha256", "rsa-sha256");
	check_value("abc+/de==", "abc+/de==");	/* base64: a dot-atom */
	check_value("", "\"\"");
	check_value("two words", "\"two words\"");
	check_value("a;b", "\"a;b\"");
	check_value("a(b)", "\"a(b)\"");
	check_value("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
	check_value("a..b", "a..b");		/* an RFC 2045 token */
	check_value(".a", ".a");
	check_value("a..b@example.com", "\"a..b@example.com\"");
	check_value("a@b..c", "\"a@b..c\"");
	check_value("a@b@c", "\"a@b@c\"");
	check_value("user@", "\"user@\"");
	check_value("caf\xc3\xa9.example", "\"caf\xc3\xa9.example\"");
	/* No header injection: controls cannot survive */
	check_value("x\r\nBcc: evil", "\"x??Bcc: evil\"");
	check_value("tab\there", "\"tab here\"");

	/* reason= is always quoted */
	ar = authres_new("mx");
	authres_add(ar, "dkim", "fail", "signature_incorrect");
	authres_add(ar, "spf", "fail", "a \"b\"\n");
	f = authres_format(ar, "\n");
	assert_string_equal(f, "Authentication-Results: mx;\n"
	    "\tdkim=fail reason=\"signature_incorrect\";\n"
	    "\tspf=fail reason=\"a \\\"b\\\"?\"\n");
	free(f);
	authres_free(ar);

	/* an authserv-id that is not a token is quoted */
	ar = authres_new("my host");
	assert_string_equal(authres_id(ar), "\"my host\"");
	authres_free(ar);
}

static void
test_refused(void **state)
{
	struct authres *ar = authres_new("mx");
	int i;

	(void)state;
	assert_int_equal(authres_prop(ar, "header", "d", "x"), -1);
	assert_int_equal(authres_add(ar, "dk im", "pass", NULL), -1);
	assert_int_equal(authres_add(ar, "dkim", "pa;ss", NULL), -1);
	assert_int_equal(authres_add(ar, "", "pass", NULL), -1);
	assert_int_equal(authres_add(ar, NULL, "pass", NULL), -1);
	assert_int_equal(authres_add(ar, "dkim", "pass", NULL), 0);
	assert_int_equal(authres_prop(ar, "head er", "d", "x"), -1);
	assert_int_equal(authres_prop(ar, "header", "d=", "x"), -1);
	assert_int_equal(authres_prop(ar, "header", "d", NULL), -1);
	for (i = 0; i < 32; i++)
		assert_int_equal(authres_prop(ar, "header", "d", "x"), 0);
	assert_int_equal(authres_prop(ar, "header", "d", "x"), -1);
	for (i = 1; i < 256; i++)
		assert_int_equal(authres_add(ar, "dkim", "pass", NULL), 0);
	assert_int_equal(authres_add(ar, "dkim", "pass", NULL), -1);
	authres_free(ar);
}

/* Folding holds for many resinfos and properties of ordinary lengths. */
static void
test_folding(void **state)
{
	struct authres *ar;
	char val[80], *f;
	int i, j, len;

	(void)state;
	for (len = 1; len <= 50; len += 7) {
		ar = authres_new("mail-relay.very-long-subdomain.example.org");
		for (i = 0; i < 5; i++) {
			authres_add(ar, "dkim", i % 2 ? "pass" : "permerror",
			    i % 3 ? NULL : "key_nosubdomains and more words");
			for (j = 0; j < 7; j++) {
				memset(val, 'a' + j, (size_t)len);
				val[len] = '\0';
				if (j == 3)
					val[len / 2] = ' ';
				authres_prop(ar, j % 2 ? "header" : "smtp",
				    "mailfrom", val);
			}
		}
		f = authres_format(ar, "\r\n");
		check_folding(f, "\r\n", 78);
		free(f);
		f = authres_format(ar, "\n");
		check_folding(f, "\n", 78);
		free(f);
		authres_free(ar);
	}
}

static void
test_default_id(void **state)
{
	struct authres *ar;
	const char *id;

	(void)state;
	id = authres_default_id();
	assert_non_null(id);
	assert_true(strlen(id) > 0);
	assert_ptr_equal(id, authres_default_id());
	ar = authres_new(NULL);
	assert_true(authres_claims(id, strlen(id), id));
	authres_free(ar);
}

#define CLAIMS(s, id) authres_claims(s, sizeof(s) - 1, id)

static void
test_claims(void **state)
{
	const char *id = "mx.example.org";

	(void)state;
	assert_true(CLAIMS("mx.example.org; dkim=pass", id));
	assert_true(CLAIMS(" mx.example.org;", id));
	assert_true(CLAIMS("mx.example.org", id));
	assert_true(CLAIMS("MX.Example.ORG; spf=pass", id));
	assert_true(CLAIMS("mx.example.org 1; none", id));
	assert_true(CLAIMS("mx.example.org(comment);dkim=pass", id));
	assert_true(CLAIMS("(c) mx.example.org; none", id));
	assert_true(CLAIMS("(nested (comment \\) here)) mx.example.org;", id));
	assert_true(CLAIMS("\r\n\t(a)\r\n mx.example.org\r\n\t;", id));
	assert_true(CLAIMS("\"mx.example.org\"; dkim=pass", id));
	assert_true(CLAIMS("\"MX.example.org\"", id));
	assert_true(CLAIMS("\"mx.exa\\mple.org\";", id));	/* quoted-pair */
	assert_true(CLAIMS("\"mx.example\r\n.org\"", id));	/* folded */
	assert_true(CLAIMS("mx.example.org/x; forged", id));

	assert_false(CLAIMS("mx.example.org.evil.com; dkim=pass", id));
	assert_false(CLAIMS("evil.mx.example.org; dkim=pass", id));
	assert_false(CLAIMS("mx.example.or; dkim=pass", id));
	assert_false(CLAIMS("other.example; dkim=pass mx.example.org", id));
	assert_false(CLAIMS("(mx.example.org) other.example;", id));
	assert_false(CLAIMS("\"mx.example.org", id));	/* unterminated */
	assert_false(CLAIMS("\"mx.example.org \";", id));
	assert_false(CLAIMS("\"\"", id));
	assert_false(CLAIMS("(mx.example.org", id));
	assert_false(CLAIMS("", id));
	assert_false(CLAIMS(";", id));
	assert_false(CLAIMS("\\", id));
	assert_false(CLAIMS("((((((((((", id));
	assert_false(CLAIMS("))))) mx.example.org", id));
	assert_false(CLAIMS("mx.example.org", ""));
	assert_false(CLAIMS("mx.example.org", NULL));
	assert_false(authres_claims(NULL, 0, id));
	/* len, not NUL, ends the value */
	assert_false(authres_claims("mx.example.org", 13, id));
	assert_true(authres_claims("mx.example.org;garbage", 14, id));
	assert_false(CLAIMS("mx.exam\0ple.org", id));
	/* 8-bit bytes are part of the id, not separators */
	assert_false(CLAIMS("mx.example.org\xc3\xa9;", id));
	assert_true(CLAIMS("m\xc3\xa9x.example; none", "m\xc3\xa9x.example"));
}

/* Garbage of every kind: no crash, and len is respected. */
static void
test_claims_garbage(void **state)
{
	unsigned char buf[256], *heap;
	unsigned seed = 12345;
	size_t n;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = (size_t)(rand_r(&seed) % sizeof(buf));
		for (size_t k = 0; k < n; k++) {
			static const char alpha[] = "()\\\" \t\r\n;mx.";
			buf[k] = rand_r(&seed) % 2 ?
			    (unsigned char)alpha[rand_r(&seed) %
			    (sizeof(alpha) - 1)] : (unsigned char)rand_r(&seed);
		}
		/* exact-size heap copy: ASan sees any overread */
		assert_non_null(heap = malloc(n ? n : 1));
		memcpy(heap, buf, n);
		(void)authres_claims((const char *)heap, n, "mx");
		free(heap);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_one),
		cmocka_unit_test(test_several),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_default_id),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claims_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
