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

/* ---- authres_parse ---- */

#define PARSE(s, out, why) authres_parse(s, sizeof(s) - 1, out, why)

static const struct authres_prop *
prop_of(const struct authres_result *r, const char *ptype,
    const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (strcmp(r->props[i].ptype, ptype) == 0 &&
		    strcmp(r->props[i].property, property) == 0)
			return &r->props[i];
	return NULL;
}

static void
assert_prop(const struct authres_result *r, const char *ptype,
    const char *property, const char *value)
{
	const struct authres_prop *p = prop_of(r, ptype, property);

	if (p == NULL)
		fail_msg("no %s.%s", ptype, property);
	assert_string_equal(p->value, value);
}

/* RFC 8601 appendix B, section by section. */
static void
test_parse_rfc8601_examples(void **state)
{
	struct authres_parsed p;
	const char *why;

	(void)state;
	/* B.2 */
	assert_int_equal(PARSE("example.org 1; none", &p, &why), 0);
	assert_string_equal(p.authserv_id, "example.org");
	assert_int_equal(p.n, 0);
	authres_parsed_free(&p);

	/* B.3 */
	assert_int_equal(PARSE(" example.com;\r\n"
	    "                  spf=pass smtp.mailfrom=example.net", &p, &why), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.r[0].method, "spf");
	assert_string_equal(p.r[0].result, "pass");
	assert_null(p.r[0].reason);
	assert_prop(&p.r[0], "smtp", "mailfrom", "example.net");
	authres_parsed_free(&p);

	/* B.4 */
	assert_int_equal(PARSE(" example.com;\r\n"
	    "                  auth=pass (cram-md5) smtp.auth=sender@example.net;"
	    "\r\n                  spf=pass smtp.mailfrom=example.net",
	    &p, &why), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.r[0].method, "auth");
	assert_prop(&p.r[0], "smtp", "auth", "sender@example.net");
	assert_string_equal(p.r[1].method, "spf");
	authres_parsed_free(&p);
	assert_int_equal(PARSE(" example.com;\r\n"
	    "                  iprev=pass\r\n"
	    "                  policy.iprev=192.0.2.200", &p, &why), 0);
	assert_prop(&p.r[0], "policy", "iprev", "192.0.2.200");
	authres_parsed_free(&p);

	/* B.5 */
	assert_int_equal(PARSE(" example.com;\r\n"
	    "              dkim=pass (good signature) header.d=mail-router.example.net;"
	    "\r\n              dkim=fail (bad signature) header.d=newyork.example.com",
	    &p, &why), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.r[1].result, "fail");
	assert_prop(&p.r[1], "header", "d", "newyork.example.com");
	authres_parsed_free(&p);

	/* B.6 */
	assert_int_equal(PARSE(" example.com;\r\n"
	    "          dkim=pass reason=\"good signature\"\r\n"
	    "            header.i=@mail-router.example.net;\r\n"
	    "          dkim=fail reason=\"bad signature\"\r\n"
	    "            header.i=@newyork.example.com", &p, &why), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.r[0].reason, "good signature");
	assert_prop(&p.r[0], "header", "i", "@mail-router.example.net");
	assert_string_equal(p.r[1].reason, "bad signature");
	authres_parsed_free(&p);
	assert_int_equal(PARSE(" example.net;\r\n"
	    "          dkim=pass (good signature) header.i=@newyork.example.com",
	    &p, &why), 0);
	authres_parsed_free(&p);

	/* B.7 */
	assert_int_equal(PARSE(" mail-router.example.net;\r\n"
	    "            dkim=pass (good signature) header.d=example.com\r\n"
	    "            header.b=dzdVyOfA", &p, &why), 0);
	assert_prop(&p.r[0], "header", "b", "dzdVyOfA");
	authres_parsed_free(&p);

	/* section 2.2's example: comments everywhere, versions */
	assert_int_equal(PARSE(" foo.example.net (foobar) 1 (baz);\r\n"
	    "    dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
	    "      policy (A dot can go here) . (like that) expired\r\n"
	    "      (this surprised me) = (as I wasn't expecting it) 1362471462",
	    &p, &why), 0);
	assert_string_equal(p.authserv_id, "foo.example.net");
	assert_int_equal(p.n, 1);
	assert_string_equal(p.r[0].method, "dkim");
	assert_string_equal(p.r[0].result, "fail");
	assert_prop(&p.r[0], "policy", "expired", "1362471462");
	authres_parsed_free(&p);
}

static void
test_parse_forms(void **state)
{
	struct authres_parsed p;
	const char *why;
	char *f;
	struct authres *ar;

	(void)state;
	/* keywords lower-cased; id kept; quoted id unquoted */
	assert_int_equal(PARSE("\"mx \\\"x\\\"\"; DKIM=Pass Header.D=Example.COM",
	    &p, &why), 0);
	assert_string_equal(p.authserv_id, "mx \"x\"");
	assert_string_equal(p.r[0].method, "dkim");
	assert_string_equal(p.r[0].result, "pass");
	assert_prop(&p.r[0], "header", "d", "Example.COM");
	authres_parsed_free(&p);

	/* quoted values, folded; addr-spec with a quoted local part */
	assert_int_equal(PARSE("mx; spf=pass smtp.mailfrom=\"a b\"@example.com "
	    "smtp.helo=\"x\r\n y\"", &p, &why), 0);
	assert_prop(&p.r[0], "smtp", "mailfrom", "\"a b\"@example.com");
	assert_prop(&p.r[0], "smtp", "helo", "x y");
	authres_parsed_free(&p);

	/* base64 header.b, ';' right after values, no spaces */
	assert_int_equal(PARSE("mx;dkim=pass header.b=ab+/cd==;spf=none;"
	    "dmarc=fail policy.dmarc=reject header.from=example.com",
	    &p, &why), 0);
	assert_int_equal(p.n, 3);
	assert_prop(&p.r[0], "header", "b", "ab+/cd==");
	assert_string_equal(p.r[1].method, "spf");
	assert_int_equal(p.r[1].nprops, 0);
	assert_prop(&p.r[2], "policy", "dmarc", "reject");
	authres_parsed_free(&p);

	/* what authres_format writes parses back */
	ar = authres_new("mx.example.org");
	authres_add(ar, "dkim", "fail", "a \"quoted\" reason");
	authres_prop(ar, "header", "d", "example.com");
	authres_prop(ar, "header", "i", "two words@example.com");
	authres_add(ar, "spf", "pass", NULL);
	authres_prop(ar, "smtp", "mailfrom", "user@example.com");
	f = authres_format(ar, "\r\n");
	assert_int_equal(authres_parse(f + 23, strlen(f) - 25, &p, &why), 0);
	assert_string_equal(p.authserv_id, "mx.example.org");
	assert_int_equal(p.n, 2);
	assert_string_equal(p.r[0].reason, "a \"quoted\" reason");
	assert_prop(&p.r[0], "header", "i", "two words@example.com");
	assert_prop(&p.r[1], "smtp", "mailfrom", "user@example.com");
	authres_parsed_free(&p);
	free(f);
	authres_free(ar);

	/* UTF-8 (RFC 6532) in an id and a value */
	assert_int_equal(PARSE("m\xc3\xa9x; dkim=pass header.d=caf\xc3\xa9.example",
	    &p, &why), 0);
	assert_prop(&p.r[0], "header", "d", "caf\xc3\xa9.example");
	authres_parsed_free(&p);

	/* "none" as a method result is not the no-result form */
	assert_int_equal(PARSE("mx; none=pass", &p, &why), 0);
	assert_string_equal(p.r[0].method, "none");
	authres_parsed_free(&p);
	/* trailing CFWS */
	assert_int_equal(PARSE("mx; none (c) \r\n", &p, &why), 0);
	assert_int_equal(p.n, 0);
	authres_parsed_free(&p);
}

static void
check_bad(const char *s, size_t n, const char *want)
{
	struct authres_parsed p;
	const char *why = NULL;

	if (authres_parse(s, n, &p, &why) != -1)
		fail_msg("accepted: %.*s", (int)n, s);
	assert_non_null(why);
	assert_null(strchr(why, '\n'));
	if (want != NULL && strstr(why, want) == NULL)
		fail_msg("\"%.*s\": %s", (int)n, s, why);
	assert_null(p.authserv_id);
	assert_null(p.r);
	assert_int_equal(p.n, 0);
}

#define BAD(s, w) check_bad(s, sizeof(s) - 1, w)

static void
test_parse_hostile(void **state)
{
	char *big;
	size_t i, n;

	(void)state;
	BAD("", "empty");
	BAD("   ", "empty");
	BAD("mx.example.org", "';'");
	BAD("mx;", "method");
	BAD("mx; ", "method");
	BAD("mx; dkim", "'='");
	BAD("mx; dkim=", "result");
	BAD("mx; dkim=pass;", "method");
	BAD("mx; dkim=pass header", "'.'");
	BAD("mx; dkim=pass header.d", "'='");
	BAD("mx; dkim=pass header.d=", "value");
	BAD("mx; dkim=pass header.d=a@b@c", "malformed");
	BAD("mx; dkim=pass header.d=user@", "malformed");
	BAD("mx; dkim=pass header.d=\"unterminated", "unterminated");
	BAD("mx; dkim=pass (unterminated", "unterminated");
	BAD("mx; dkim=pass ((((", "unterminated");
	BAD("mx; dkim=pass header.d=x reason=\"late\"", "reason");
	BAD("mx; dkim=pass reason=\"a\" reason=\"b\"", "reason");
	BAD("mx; dkim/=pass", "version");
	BAD("mx; dkim/x=pass", "version");
	BAD("mx none", "';'");
	BAD("mx; none; dkim=pass", "none");
	BAD("mx; none garbage", "none");
	BAD("mx/x; none", "';'");
	BAD("\"\"; none", "authserv-id");
	BAD(";dkim=pass", "value");
	BAD("mx; dkim=pass\0 header.d=x", NULL);
	BAD("mx; dkim=pass header.d=\"a\0b\"", "NUL");
	BAD("mx; dkim=pass (a\0b)", "NUL");
	BAD("mx; dkim=pass header.d=\"a\\\nBcc: x\"", "quoted");
	BAD("mx; dkim=fail reason=\"a\\\r\\\nb\"", "quoted");
	BAD("mx; dkim=pass header.d=x\r\nBcc: evil@example.com", NULL);
	BAD("mx; dkim=pass header.d=\"a\r\nb\"@example.com", "malformed");
	BAD("mx; d\xc3\xa9kim=pass", NULL);
	BAD("mx; dkim=pass header.d=x ; ; ", "method");

	/* nesting bound */
	n = 200;
	assert_non_null(big = malloc(n * 2 + 16));
	strcpy(big, "mx; dkim=pass ");
	for (i = 0; i < n; i++)
		strcat(big, "(");
	for (i = 0; i < n; i++)
		strcat(big, ")");
	check_bad(big, strlen(big), "nested");
	free(big);

	/* count bounds: 256 resinfos pass, 257 do not; 32 props, 33 */
	assert_non_null(big = malloc(65536 + 2));
	strcpy(big, "mx");
	for (i = 0; i < 256; i++)
		strcat(big, ";a=b");
	{
		struct authres_parsed p;
		const char *why;

		assert_int_equal(authres_parse(big, strlen(big), &p, &why), 0);
		assert_int_equal(p.n, 256);
		authres_parsed_free(&p);
		strcat(big, ";a=b");
		check_bad(big, strlen(big), "too many results");
		strcpy(big, "mx; dkim=pass");
		for (i = 0; i < 32; i++)
			strcat(big, " a.b=c");
		assert_int_equal(authres_parse(big, strlen(big), &p, &why), 0);
		assert_int_equal(p.r[0].nprops, 32);
		authres_parsed_free(&p);
		strcat(big, " a.b=c");
		check_bad(big, strlen(big), "too many properties");
	}
	/* length bounds: a keyword, a value, the field */
	strcpy(big, "mx; ");
	memset(big + 4, 'k', 100);
	strcpy(big + 104, "=pass");
	check_bad(big, strlen(big), "keyword too long");
	strcpy(big, "mx; dkim=pass header.d=");
	n = strlen(big);
	memset(big + n, 'v', 5000);
	big[n + 5000] = '\0';
	check_bad(big, strlen(big), "too long");
	memset(big, ' ', 65536 + 1);
	memcpy(big, "mx; none", 8);
	check_bad(big, 65536 + 1, "too long");
	free(big);

	/* NULL arguments */
	{
		struct authres_parsed p;
		const char *why;

		assert_int_equal(authres_parse(NULL, 0, &p, &why), -1);
		assert_int_equal(authres_parse("mx; none", 8, NULL, &why), -1);
		assert_int_equal(authres_parse("x", 1, &p, NULL), -1);
		authres_parsed_free(NULL);
	}
}

/* Random bytes from an alphabet of the grammar's delimiters: no crash,
 * no overread (exact-size heap copies), no leak, why always set. */
static void
test_parse_garbage(void **state)
{
	static const char alpha[] = "()\\\" \t\r\n;=./@mx.dkim=pass header.d";
	struct authres_parsed p;
	const char *why;
	unsigned char buf[200], *heap;
	unsigned seed = 4242;
	size_t n, k;
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 30000; i++) {
		n = (size_t)(rand_r(&seed) % sizeof(buf));
		for (k = 0; k < n; k++)
			buf[k] = rand_r(&seed) % 8 ? (unsigned char)alpha[
			    rand_r(&seed) % (sizeof(alpha) - 1)] :
			    (unsigned char)rand_r(&seed);
		assert_non_null(heap = malloc(n ? n : 1));
		memcpy(heap, buf, n);
		why = NULL;
		if (authres_parse((const char *)heap, n, &p, &why) == 0) {
			ok++;
			assert_non_null(p.authserv_id);
			authres_parsed_free(&p);
		} else
			assert_non_null(why);
		free(heap);
	}
	(void)ok;
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
		cmocka_unit_test(test_parse_rfc8601_examples),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
