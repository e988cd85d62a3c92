/* Unit tests for lib/mutf7: the encoder against a table of names whose
 * expected forms are real Exim 4.96's ${imapfolder} output (generated with
 * t/peers/exim.sh; t/0950-imapfolder.t checks the same names against Exim
 * again at every run), the strict decoder's refusals, round trips over
 * every code point, and the iconv front. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutf7.h"

struct row {
	char	 sep;
	const char *specials;
	const char *name;
	const char *want;	/* NULL: Exim refuses it */
};

/* sep, specials, name, ${imapfolder{name}{sep}{specials}} */
static const struct row exim_rows[] = {
	{ '/', NULL, "Foo/Bar", "Foo.Bar" },
	{ '.', "/", "Foo/Bar", "Foo&AC8-Bar" },
	{ '/', NULL, "R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s",
	    "R&AOQ-ksm&APY-rg&AOU-s" },
	{ '/', NULL, "", "" },
	{ '/', NULL, "/Foo", "Foo" },
	{ '/', NULL, "//Foo", ".Foo" },
	{ '/', NULL, "///Foo", ".Foo" },
	{ '/', NULL, "Foo/", "Foo" },
	{ '/', NULL, "Foo//", "Foo" },
	{ '/', NULL, "Foo//Bar", "Foo.Bar" },
	{ '/', NULL, "//", "" },
	{ '/', NULL, "/Foo/", "Foo" },
	{ '/', NULL, "Foo.Bar", NULL },
	{ '/', NULL, "a/./b", NULL },
	{ '/', NULL, "&", "&-" },
	{ '/', NULL, "&-", "&--" },
	{ '/', NULL, "&AOQ-", "&-AOQ-" },
	{ '/', NULL, "a&b", "a&-b" },
	{ '/', NULL, "A&-B", "A&--B" },
	{ '/', NULL, "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ '/', NULL, "\xf0\x9d\x84\x9ex", "&2DTdHg-x" },
	{ '/', NULL, "a\xf0\x9f\x98\x80" "b\xf0\x9f\x98\x80",
	    "a&2D3eAA-b&2D3eAA-" },
	{ '/', NULL, "\xc3\xa9", "&AOk-" },
	{ '/', NULL, "e\xcc\x81", "e&AwE-" },
	{ '/', NULL, "a\x09" "b", "a&AAk-b" },
	{ '/', NULL, "a\x01", "a&AAE-" },
	{ '/', NULL, "a\x7f" "b", "a&AH8-b" },
	{ '/', NULL, "\x1f", "&AB8-" },
	{ '/', NULL, "\xc3\xa4/\xc3\xb6", "&AOQ-.&APY-" },
	{ '/', NULL, "\xc3\xa4//\xc3\xb6", "&AOQ-.&APY-" },
	{ '/', NULL, "\xc3\xa4/", "&AOQ-" },
	{ '/', NULL, "/\xc3\xa4", "&AOQ-" },
	{ '/', NULL, "\xc3\xa4\xc3\xa4", "&AOQA5A-" },
	{ '/', NULL, "\xc3\xa4\xc3\xa4\xc3\xa4", "&AOQA5ADk-" },
	{ '/', NULL, "\xc3\xa4" "a", "&AOQ-a" },
	{ '/', NULL, "\xc3\xa4-", "&AOQ--" },
	{ '/', NULL, "\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-" },
	{ '/', NULL, "\xff", NULL },
	{ '/', NULL, "a\xc3", NULL },
	{ '/', NULL, "\xc0\x80", NULL },
	{ '/', NULL, "\xed\xa0\x80", NULL },
	{ '.', NULL, "a.b", "a.b" },
	{ '.', NULL, ".a.", "a" },
	{ '.', NULL, "a..b", "a.b" },
	{ '.', NULL, "a/b", NULL },
	{ '.', "/", "a/b.c", "a&AC8-b.c" },
	{ '/', ".", "a.b/c", "a&AC4-b.c" },
	{ '/', "/", "Foo/Bar", "Foo.Bar" },
	{ 'x', NULL, "axb", "a.b" },
	{ 'x', NULL, "a.b", NULL },
	{ '&', NULL, "a&b", "a.b" },
	{ '/', "&", "a&b", "a&ACY-b" },
	{ '/', "~", "a~b", "a&AH4-b" },
	{ '/', "b", "ab", "a&AGI-" },
	{ '/', "-", "a-b", "a&AC0-b" },
	{ '/', NULL, "a b", "a b" },
	{ '/', NULL, "~", "~" },
	{ '/', NULL, "INBOX/Sent Items", "INBOX.Sent Items" },
	{ '/', NULL, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
	    "/\xe3\x83\xa1\xe3\x83\xbc\xe3\x83\xab",
	    "&ZeVnLIqe-.&MOEw,DDr-" },
	{ '/', NULL, "\xef\xbf\xbf", "&,,8-" },
	{ '/', NULL, "\xf4\x8f\xbf\xbf", "&2,,f,w-" },
	{ '/', NULL, "\xc2\x80", "&AIA-" },
	{ '/', NULL, "[Gmail]/All Mail", "[Gmail].All Mail" },
	{ '/', NULL, "a-&-b", "a-&--b" },
	{ '/', "./", "a./b", "a&AC4-.b" },
	{ '.', NULL, "..", "" },
	{ '/', NULL, "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9/\xc3\xb1",
	    "&ANw-n&AO8-c&APY-d&AOk-.&APE-" },
	{ '/', NULL, "\xf4\x90\x80\x80", NULL },
	{ '/', NULL, "a\x0d", "a&AA0-" },
	{ '/', " ", "a b", "a&ACA-b" },
	{ ' ', NULL, "a b", "a.b" },
	{ '/', NULL, "-&-", "-&--" },
};

static char *
enc(const char *s, size_t n, const struct mutf7_opts *o, struct mutf7_err *e)
{
	struct out_buf b = { 0 };

	if (mutf7_encode(s, n, o, &b, e) == -1) {
		out_buf_free(&b);
		return NULL;
	}
	assert_non_null(b.p);
	return b.p;
}

static char *
dec(const char *s, size_t n, const struct mutf7_opts *o, struct mutf7_err *e)
{
	struct out_buf b = { 0 };

	if (mutf7_decode(s, n, o, &b, e) == -1) {
		out_buf_free(&b);
		return NULL;
	}
	assert_non_null(b.p);
	return b.p;
}

/* No leading, trailing or doubled separator: Exim mode keeps the name's
 * shape, so decoding gives the name back. */
static int
canonical(const char *s, char sep)
{
	size_t n = strlen(s), i;

	if (n > 0 && (s[0] == sep || s[n - 1] == sep))
		return 0;
	for (i = 0; i + 1 < n; i++)
		if (s[i] == sep && s[i + 1] == sep)
			return 0;
	return 1;
}

static void
test_exim_table(void **state)
{
	size_t i;

	(void)state;
	assert_true(sizeof(exim_rows) / sizeof(exim_rows[0]) >= 50);
	for (i = 0; i < sizeof(exim_rows) / sizeof(exim_rows[0]); i++) {
		const struct row *r = &exim_rows[i];
		struct mutf7_opts o = { r->sep, r->specials, 0 };
		struct mutf7_err e;
		char *got = enc(r->name, strlen(r->name), &o, &e), *back;

		if (r->want == NULL) {
			if (got != NULL)
				fail_msg("row %zu: want an error, got %s", i,
				    got);
			continue;
		}
		if (got == NULL)
			fail_msg("row %zu: %s at %zu", i, e.why, e.offset);
		assert_string_equal(got, r->want);
		back = dec(got, strlen(got), &o, &e);
		if (back == NULL)
			fail_msg("row %zu: decoding %s: %s at %zu", i, got,
			    e.why, e.offset);
		if (canonical(r->name, r->sep))
			assert_string_equal(back, r->name);
		free(back);
		free(got);
	}
}

static void
test_seed_examples(void **state)
{
	struct mutf7_opts dflt = { 0, NULL, 0 }, dot = { '.', "/", 0 };
	struct mutf7_err e;
	char *s;

	(void)state;
	s = enc("Foo/Bar", 7, &dflt, &e);
	assert_string_equal(s, "Foo.Bar");
	free(s);
	s = enc("Foo/Bar", 7, &dot, &e);
	assert_string_equal(s, "Foo&AC8-Bar");
	free(s);
	s = enc("R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s", 13, &dflt, &e);
	assert_string_equal(s, "R&AOQ-ksm&APY-rg&AOU-s");
	free(s);
}

static void
test_plain(void **state)
{
	static const char *const p[][2] = {
		{ "Foo/Bar", "Foo/Bar" }, { "Foo.Bar", "Foo.Bar" },
		{ "/Foo//", "/Foo//" }, { "&", "&-" }, { "&-", "&--" },
		{ "&AOQ-", "&-AOQ-" }, { "", "" },
		{ "R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s", "R&AOQ-ksm&APY-rg&AOU-s" },
		{ "\xf0\x9f\x98\x80", "&2D3eAA-" }, { "a\tb", "a&AAk-b" },
		{ "e\xcc\x81", "e&AwE-" }, { "\xc3\xa9", "&AOk-" },
	};
	struct mutf7_opts o = { 0, NULL, MUTF7_PLAIN };
	struct mutf7_err e;
	size_t i;
	char *s, *b;

	(void)state;
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		assert_non_null(s = enc(p[i][0], strlen(p[i][0]), &o, &e));
		assert_string_equal(s, p[i][1]);
		assert_non_null(b = dec(s, strlen(s), &o, &e));
		assert_string_equal(b, p[i][0]);
		free(s);
		free(b);
	}
}

static void
test_encode_dots(void **state)
{
	struct mutf7_opts o = { 0, NULL, MUTF7_ENCODE_DOTS };
	struct mutf7_opts d = { '.', NULL, MUTF7_ENCODE_DOTS };
	struct mutf7_err e;
	char *s, *b;

	(void)state;
	assert_non_null(s = enc("Foo.Bar/Baz", 11, &o, &e));
	assert_string_equal(s, "Foo&AC4-Bar.Baz");
	assert_non_null(b = dec(s, strlen(s), &o, &e));
	assert_string_equal(b, "Foo.Bar/Baz");
	free(s);
	free(b);
	assert_non_null(s = enc("a/b.c", 5, &d, &e));
	assert_string_equal(s, "a&AC8-b.c");
	free(s);
	/* Without the flag the same shift is refused by the decoder. */
	o.flags = 0;
	assert_null(dec("Foo&AC4-Bar", 11, &o, &e));
}

static void
test_encode_errors(void **state)
{
	static const struct { const char *s; size_t n, at; } bad[] = {
		{ "abc\xff", 4, 3 }, { "\xc3\xa4\xc3", 3, 2 },
		{ "ab\xc0\x80", 4, 2 }, { "\xed\xa0\x80", 3, 0 },
		{ "x\xf4\x90\x80\x80", 5, 1 }, { "a\0b", 3, 1 },
		{ "Foo.Bar", 7, 3 }, { "a/b/.c", 6, 4 },
		{ "\xe2\x82", 2, 0 }, { "ok\x80", 3, 2 },
	};
	struct mutf7_opts o = { 0, NULL, 0 };
	struct mutf7_err e;
	static char big[MUTF7_MAX_NAME + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(enc(bad[i].s, bad[i].n, &o, &e));
		assert_int_equal(e.offset, bad[i].at);
		assert_true(strchr(e.why, '\n') == NULL);
	}
	memset(big, 'a', sizeof(big) - 1);
	assert_null(enc(big, MUTF7_MAX_NAME + 1, &o, &e));
	{
		char *s = enc(big, MUTF7_MAX_NAME, &o, &e);

		assert_non_null(s);
		free(s);
	}
}

static void
test_decode_strict(void **state)
{
	static const struct { const char *s; size_t at; } bad[] = {
		{ "&", 0 },		/* unterminated */
		{ "a&AOQ", 1 },		/* unterminated */
		{ "&AOQ-&APY-", 5 },	/* two shifts in a row */
		{ "&AGE-", 3 },		/* encoded 'a' */
		{ "&ACY-", 3 },		/* encoded '&' */
		{ "&AOR-", 4 },		/* padding bits set */
		{ "&AOQA-", 5 },	/* a base64 character too many */
		{ "&AO-", 3 },		/* not even one unit */
		{ "&AO!-", 3 },		/* not base64 */
		{ "&AO/-", 3 },		/* RFC 2152 "/", not IMAP's "," */
		{ "&2D0-", 4 },		/* lone high surrogate: at the "-" */
		{ "&3gA-", 3 },		/* lone low surrogate */
		{ "&2D0AQQ-", 6 },	/* high then a non-surrogate */
		{ "&AAA-", 3 },		/* U+0000 */
		{ "a\tb", 1 },		/* a control, not encoded */
		{ "R\xc3\xa4", 1 },	/* 8-bit */
		{ "a/b", 1 },		/* Exim mode never writes "/" */
		{ "&AOQ-=", 5 },	/* fine, then... */
	};
	struct mutf7_opts o = { 0, NULL, 0 };
	struct mutf7_err e;
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i + 1 < sizeof(bad) / sizeof(bad[0]); i++) {
		s = dec(bad[i].s, strlen(bad[i].s), &o, &e);
		if (s != NULL)
			fail_msg("%s: decoded to %s", bad[i].s, s);
		if (e.offset != bad[i].at)
			fail_msg("%s: offset %zu, want %zu (%s)", bad[i].s,
			    e.offset, bad[i].at, e.why);
	}
	/* ...the last one is valid: "=" is plain printable ASCII. */
	assert_non_null(s = dec("&AOQ-=", 6, &o, &e));
	assert_string_equal(s, "\xc3\xa4=");
	free(s);
	/* A "." becomes SEP; "&-" right after a shift is minimal. */
	assert_non_null(s = dec("a.&AOQ-&-.b", 11, &o, &e));
	assert_string_equal(s, "a/\xc3\xa4&/b");
	free(s);
	/* --plain: "/" is itself. */
	o.flags = MUTF7_PLAIN;
	assert_non_null(s = dec("a/b.c", 5, &o, &e));
	assert_string_equal(s, "a/b.c");
	free(s);
}

/* Every code point on its own and next to its neighbour, plain mode:
 * decode(encode(x)) == x, and encode is deterministic. */
static void
test_round_trip_all(void **state)
{
	struct mutf7_opts o = { 0, NULL, MUTF7_PLAIN }, x = { 0, NULL, 0 };
	struct mutf7_err e;
	uint32_t c;

	(void)state;
	for (c = 1; c <= 0x10FFFF; c++) {
		char in[16], *s, *b;
		struct out_buf u = { 0 };
		size_t n;

		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		/* UTF-8 of c followed by "a" and c again. */
		if (c < 0x80)
			n = (size_t)snprintf(in, sizeof(in), "%c", (int)c);
		else if (c < 0x800)
			n = (size_t)snprintf(in, sizeof(in), "%c%c",
			    0xC0 | c >> 6, 0x80 | (c & 0x3F));
		else if (c < 0x10000)
			n = (size_t)snprintf(in, sizeof(in), "%c%c%c",
			    0xE0 | c >> 12, 0x80 | (c >> 6 & 0x3F),
			    0x80 | (c & 0x3F));
		else
			n = (size_t)snprintf(in, sizeof(in), "%c%c%c%c",
			    0xF0 | c >> 18, 0x80 | (c >> 12 & 0x3F),
			    0x80 | (c >> 6 & 0x3F), 0x80 | (c & 0x3F));
		memcpy(in + n, "a", 1);
		memcpy(in + n + 1, in, n);
		n = 2 * n + 1;
		in[n] = '\0';
		s = enc(in, n, &o, &e);
		if (s == NULL)
			fail_msg("U+%04X: %s", c, e.why);
		b = dec(s, strlen(s), &o, &e);
		if (b == NULL || strcmp(b, in) != 0)
			fail_msg("U+%04X: %s does not decode back", c, s);
		/* Exim mode agrees except on "." and "/". */
		if (c != '.' && c != '/') {
			assert_int_equal(mutf7_encode(in, n, &x, &u, &e), 0);
			assert_string_equal(u.p, s);
		}
		out_buf_free(&u);
		free(s);
		free(b);
	}
}

static void
test_iconv(void **state)
{
	struct out_buf b = { 0 };
	struct mutf7_err e;

	(void)state;
	assert_int_equal(mutf7_iconv("ISO-8859-1", "UTF-8", "R\xe4ksm", 6,
	    &b, &e), 0);
	assert_string_equal(b.p, "R\xc3\xa4ksm");
	out_buf_free(&b);
	assert_int_equal(mutf7_iconv("UTF-8", "ISO-8859-1", "R\xc3\xa4", 3,
	    &b, &e), 0);
	assert_string_equal(b.p, "R\xe4");
	out_buf_free(&b);
	assert_int_equal(mutf7_iconv("UTF-8", "ISO-8859-1", "ab\xe2\x82\xac",
	    5, &b, &e), -1);
	assert_int_equal(e.offset, 2);
	out_buf_free(&b);
	assert_int_equal(mutf7_iconv("UTF-8", "UTF-16LE", "ab\xff", 3, &b,
	    &e), -1);
	assert_int_equal(e.offset, 2);
	out_buf_free(&b);
	assert_int_equal(mutf7_iconv("NO-SUCH-CHARSET", "UTF-8", "a", 1, &b,
	    &e), -1);
	out_buf_free(&b);
	/* Empty input gives an empty string, not NULL. */
	assert_int_equal(mutf7_iconv("ISO-8859-1", "UTF-8", "", 0, &b, &e), 0);
	assert_string_equal(b.p, "");
	out_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_examples),
		cmocka_unit_test(test_exim_table),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_encode_dots),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_iconv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
