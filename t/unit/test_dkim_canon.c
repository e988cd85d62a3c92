/* Unit tests for DKIM canonicalization (RFC 6376 3.4): headers, and the
 * streaming body canonicalizer fed in every kind of piece. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dkim.h"

/* ---- helpers ---- */

struct out {
	char *p;
	size_t len, cap;
	size_t calls;
};

static void
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	assert_true(n > 0);
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	o->calls++;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Feed in pieces: step 0 all at once, step > 0 that many bytes at a time,
 * step < 0 random sizes up to -step. */
static struct out
body(enum dkim_canon c, long long limit, const char *in, size_t n, long step,
    unsigned long long *total)
{
	struct out o = { NULL, 0, 0, 0 };
	struct dkim_body_canon *bc = dkim_body_canon_new(c, limit, sink, &o);
	size_t i = 0;

	assert_non_null(bc);
	while (i < n) {
		size_t k = n - i;

		if (step > 0 && k > (size_t)step)
			k = (size_t)step;
		else if (step < 0) {
			size_t r = (size_t)(rng() % (uint64_t)(-step + 1));

			if (k > r)
				k = r;	/* may be 0: empty pieces too */
		}
		dkim_body_canon_update(bc, in + i, k);
		i += k;
	}
	*total = dkim_body_canon_final(bc);
	dkim_body_canon_free(bc);
	return o;
}

/* The canonical body, checked to be the same however the input is split. */
static void
check_body(enum dkim_canon c, const char *in, size_t n, const char *want,
    size_t wantlen)
{
	static const long steps[] = { 0, 1, 2, 3, 7, 64, -5, -100, -5000 };
	unsigned long long total;

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct out o = body(c, -1, in, n, steps[s], &total);

		assert_int_equal(o.len, wantlen);
		assert_int_equal(total, wantlen);
		if (wantlen > 0)
			assert_memory_equal(o.p, want, wantlen);
		free(o.p);
	}
}

/* The same body with CRLF and with bare LF must canonicalize alike. */
static char *
crlf_to_lf(const char *s, size_t *n)
{
	char *p = malloc(strlen(s) + 1);
	size_t k = 0;

	assert_non_null(p);
	for (size_t i = 0; s[i] != '\0'; i++)
		if (!(s[i] == '\r' && s[i + 1] == '\n'))
			p[k++] = s[i];
	p[k] = '\0';
	*n = k;
	return p;
}

/* Literals may hold bytes strlen would stop at; take sizeof. */
#define CB(c, in, want) \
	check_body((c), (in), sizeof(in) - 1, (want), sizeof(want) - 1)

static void
check_both(enum dkim_canon c, const char *in, const char *want)
{
	size_t n;
	char *lf;

	check_body(c, in, strlen(in), want, strlen(want));
	lf = crlf_to_lf(in, &n);
	check_body(c, lf, n, want, strlen(want));
	free(lf);
}

static void
check_header(enum dkim_canon c, const char *raw, const char *want)
{
	struct dkim_buf b = { NULL, 0, 0 };

	assert_int_equal(dkim_canon_header(c, raw, strlen(raw), &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	dkim_buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

/* ---- headers ---- */

static void
test_rfc_example_headers(void **state)
{
	(void)state;
	/* RFC 6376 3.4.6. */
	check_header(DKIM_RELAXED, "A: X", "a:X\r\n");
	check_header(DKIM_RELAXED, "B : Y\t\r\n\tZ  ", "b:Y Z\r\n");
	check_header(DKIM_SIMPLE, "A: X", "A: X\r\n");
	check_header(DKIM_SIMPLE, "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
}

static void
test_header_simple(void **state)
{
	(void)state;
	check_header(DKIM_SIMPLE, "Subject: a\n b", "Subject: a\r\n b\r\n");
	check_header(DKIM_SIMPLE, "Subject: a\r\n\tb\n c",
	    "Subject: a\r\n\tb\r\n c\r\n");
	check_header(DKIM_SIMPLE, "X:a\rb", "X:a\rb\r\n");
	check_header(DKIM_SIMPLE, "X:", "X:\r\n");
	check_header(DKIM_SIMPLE, "", "\r\n");
}

static void
test_header_relaxed(void **state)
{
	(void)state;
	check_header(DKIM_RELAXED, "SUBJECT: Hello World",
	    "subject:Hello World\r\n");
	check_header(DKIM_RELAXED, "Subject \t:\t  a  \t b \t ",
	    "subject:a b\r\n");
	check_header(DKIM_RELAXED, "Subject: a\n b", "subject:a b\r\n");
	check_header(DKIM_RELAXED, "Subject:a\r\n\tb", "subject:a b\r\n");
	/* A fold right after the colon or at the end is no content. */
	check_header(DKIM_RELAXED, "To:\r\n x@y", "to:x@y\r\n");
	check_header(DKIM_RELAXED, "To: x@y\r\n ", "to:x@y\r\n");
	check_header(DKIM_RELAXED, "X:", "x:\r\n");
	check_header(DKIM_RELAXED, "X: \t ", "x:\r\n");
	/* Only the name is lowered; colons in the value stay. */
	check_header(DKIM_RELAXED, "X-Ab: A:B : C", "x-ab:A:B : C\r\n");
	/* A CR without LF is a byte like any other. */
	check_header(DKIM_RELAXED, "X: a\rb", "x:a\rb\r\n");
	/* Unfolding only drops line breaks; WSP runs then become one SP. */
	check_header(DKIM_RELAXED, "X: a\r\nb", "x:ab\r\n");
	check_header(DKIM_RELAXED, "Dkim-Signature: v=1; b=\r\n\tAB CD",
	    "dkim-signature:v=1; b= AB CD\r\n");
}

static void
test_header_appends(void **state)
{
	struct dkim_buf b = { NULL, 0, 0 };
	static const char want[] = "from:a\r\nTo: b\r\n";

	(void)state;
	assert_int_equal(dkim_canon_header(DKIM_RELAXED, "From: a", 7, &b), 0);
	assert_int_equal(dkim_canon_header(DKIM_SIMPLE, "To: b", 5, &b), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.p, want, b.len);
	dkim_buf_free(&b);
}

static void
test_header_long(void **state)
{
	struct dkim_buf b = { NULL, 0, 0 };
	size_t n = 100000, n_lf = 0;
	char *raw = malloc(n);

	(void)state;
	assert_non_null(raw);
	memcpy(raw, "X:", 2);
	for (size_t i = 2; i < n; i++) {
		raw[i] = i % 3 == 0 ? '\n' : i % 3 == 1 ? ' ' : 'a';
		n_lf += raw[i] == '\n';
	}
	assert_int_equal(dkim_canon_header(DKIM_SIMPLE, raw, n, &b), 0);
	assert_int_equal(b.len, n + n_lf + 2);
	b.len = 0;
	assert_int_equal(dkim_canon_header(DKIM_RELAXED, raw, n, &b), 0);
	assert_true(b.len < n);
	dkim_buf_free(&b);
	free(raw);
}

/* ---- bodies ---- */

static void
test_rfc_example_body(void **state)
{
	static const char in[] = " C \r\nD \t E\r\n\r\n\r\n";

	(void)state;
	check_both(DKIM_RELAXED, in, " C\r\nD E\r\n");
	check_both(DKIM_SIMPLE, in, " C \r\nD \t E\r\n");
}

static void
test_empty_body(void **state)
{
	(void)state;
	check_both(DKIM_SIMPLE, "", "\r\n");
	check_both(DKIM_RELAXED, "", "");
}

static void
test_blank_lines_only(void **state)
{
	(void)state;
	check_both(DKIM_SIMPLE, "\r\n", "\r\n");
	check_both(DKIM_SIMPLE, "\r\n\r\n\r\n", "\r\n");
	check_both(DKIM_RELAXED, "\r\n", "");
	check_both(DKIM_RELAXED, "\r\n\r\n\r\n", "");
	/* WSP-only lines are empty for relaxed, not for simple. */
	check_both(DKIM_RELAXED, " \t\r\n  \r\n\t", "");
	check_both(DKIM_SIMPLE, " \t\r\n  \r\n", " \t\r\n  \r\n");
	check_both(DKIM_SIMPLE, "\r\n \r\n\r\n", "\r\n \r\n");
}

static void
test_trailing_wsp(void **state)
{
	(void)state;
	check_both(DKIM_RELAXED, "a \t\r\nb\t\r\n", "a\r\nb\r\n");
	check_both(DKIM_SIMPLE, "a \t\r\nb\t\r\n", "a \t\r\nb\t\r\n");
	check_both(DKIM_RELAXED, "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n");
	check_both(DKIM_RELAXED, "a\r\n \t \r\n  \r\n", "a\r\n");
	check_both(DKIM_SIMPLE, "a\r\n \t \r\n", "a\r\n \t \r\n");
}

static void
test_inner_wsp(void **state)
{
	(void)state;
	check_both(DKIM_RELAXED, "a\t\tb  c \t d\r\n", "a b c d\r\n");
	check_both(DKIM_RELAXED, "  a\r\n\tb\r\n", " a\r\n b\r\n");
	check_both(DKIM_SIMPLE, "a\t\tb  c\r\n", "a\t\tb  c\r\n");
}

static void
test_leading_blank_lines(void **state)
{
	(void)state;
	check_both(DKIM_SIMPLE, "\r\n\r\na\r\n", "\r\n\r\na\r\n");
	check_both(DKIM_RELAXED, "\r\n \r\na\r\n", "\r\n\r\na\r\n");
	check_both(DKIM_SIMPLE, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	check_both(DKIM_RELAXED, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
}

static void
test_missing_final_newline(void **state)
{
	(void)state;
	check_both(DKIM_SIMPLE, "a\r\nb", "a\r\nb\r\n");
	check_both(DKIM_RELAXED, "a\r\nb", "a\r\nb\r\n");
	check_both(DKIM_RELAXED, "a\r\nb \t", "a\r\nb\r\n");
	check_both(DKIM_RELAXED, "a\r\n \t", "a\r\n");
	check_both(DKIM_SIMPLE, "a\r\n \t", "a\r\n \t\r\n");
	check_both(DKIM_SIMPLE, "x", "x\r\n");
	check_both(DKIM_RELAXED, "x", "x\r\n");
	check_both(DKIM_RELAXED, " ", "");
	check_both(DKIM_SIMPLE, " ", " \r\n");
}

static void
test_lone_cr(void **state)
{
	(void)state;
	CB(DKIM_SIMPLE, "a\rb\r\n", "a\rb\r\n");
	CB(DKIM_RELAXED, "a \r b\r\n", "a \r b\r\n");
	CB(DKIM_RELAXED, "a\r \r\n", "a\r\r\n");
	CB(DKIM_SIMPLE, "a\r", "a\r\r\n");
	CB(DKIM_RELAXED, "a\r", "a\r\r\n");
	CB(DKIM_SIMPLE, "\r", "\r\r\n");
	CB(DKIM_RELAXED, "\r", "\r\r\n");
	CB(DKIM_SIMPLE, "a\r\r\n\r\n", "a\r\r\n");
	CB(DKIM_RELAXED, "\r\r\n", "\r\r\n");
	CB(DKIM_SIMPLE, "\r\r\r\n\r", "\r\r\r\n\r\r\n");
	/* A CR line after blank lines is content, so they stay. */
	CB(DKIM_RELAXED, "a\r\n\r\n\r", "a\r\n\r\n\r\r\n");
	CB(DKIM_SIMPLE, "a\n\n\r", "a\r\n\r\n\r\r\n");
}

static void
test_mixed_line_endings(void **state)
{
	(void)state;
	CB(DKIM_SIMPLE, "a\nb\r\nc\n\n\r\n", "a\r\nb\r\nc\r\n");
	CB(DKIM_RELAXED, "a \nb\t\r\n\n \n\r\n", "a\r\nb\r\n");
	CB(DKIM_SIMPLE, "\n\r\n\n", "\r\n");
	CB(DKIM_SIMPLE, "\nx", "\r\nx\r\n");
}

static void
test_limit(void **state)
{
	static const char in[] = "abc\r\ndef \r\n\r\n";
	static const struct {
		enum dkim_canon c;
		long long limit;
		const char *want;
	} cases[] = {
		{ DKIM_SIMPLE, 0, "" },
		{ DKIM_SIMPLE, 3, "abc" },
		{ DKIM_SIMPLE, 4, "abc\r" },
		{ DKIM_SIMPLE, 11, "abc\r\ndef \r\n" },
		{ DKIM_SIMPLE, 1000, "abc\r\ndef \r\n" },
		{ DKIM_RELAXED, 0, "" },
		{ DKIM_RELAXED, 5, "abc\r\n" },
		{ DKIM_RELAXED, 8, "abc\r\ndef" },
		{ DKIM_RELAXED, 9, "abc\r\ndef\r" },
		{ DKIM_RELAXED, -1, "abc\r\ndef\r\n" },
	};
	unsigned long long total;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (long step = 0; step < 3; step++) {
			struct out o = body(cases[i].c, cases[i].limit, in,
			    sizeof(in) - 1, step, &total);

			assert_int_equal(o.len, strlen(cases[i].want));
			if (o.len > 0)
				assert_memory_equal(o.p, cases[i].want, o.len);
			/* final reports the whole canonical length. */
			assert_int_equal(total, cases[i].c == DKIM_SIMPLE ?
			    11 : 10);
			free(o.p);
		}
	}
	/* An empty body with l=0: nothing reaches the sink. */
	{
		struct out o = body(DKIM_SIMPLE, 0, "", 0, 0, &total);

		assert_int_equal(o.len, 0);
		assert_int_equal(o.calls, 0);
		assert_int_equal(total, 2);
	}
}

static void
test_limit_large(void **state)
{
	size_t n = 300000;
	char *in = malloc(n);
	unsigned long long total;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++)
		in[i] = i % 50 == 48 ? '\r' : i % 50 == 49 ? '\n' : 'x';
	for (long long lim = 0; lim < 300000; lim += 65537) {
		struct out o = body(DKIM_SIMPLE, lim, in, n, 0, &total);

		assert_int_equal(o.len, (size_t)lim);
		assert_memory_equal(o.p, in, o.len);
		assert_int_equal(total, n);
		free(o.p);
		o = body(DKIM_RELAXED, lim, in, n, 777, &total);
		assert_int_equal(o.len, (size_t)lim);
		assert_memory_equal(o.p, in, o.len);
		assert_int_equal(total, n);
		free(o.p);
	}
	free(in);
}

/* Many blank lines held back, then released by content, or dropped. */
static void
test_many_blank_lines(void **state)
{
	size_t k = 100000, n = 2 * k + 2;
	char *in = malloc(n + 2);

	(void)state;
	assert_non_null(in);
	in[0] = 'a';
	for (size_t i = 0; i < k; i++)
		memcpy(in + 1 + 2 * i, "\r\n", 2);
	in[n - 1] = 'b';
	memcpy(in + n, "\r\n", 2);
	check_body(DKIM_SIMPLE, in, n, in, n + 2);
	check_body(DKIM_RELAXED, in, n, in, n + 2);
	check_body(DKIM_SIMPLE, in, n - 1, in, 3);
	check_body(DKIM_RELAXED, in, n - 1, in, 3);
	free(in);
}

/* Long lines, longer than the canonicalizer's buffer. */
static void
test_long_lines(void **state)
{
	size_t n = 200002, k = 0;
	char *in = malloc(n), *want = malloc(n + 2);

	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	for (size_t i = 0; i < n - 2; i++)
		in[i] = i % 4 == 0 ? ' ' : i % 4 == 1 ? '\t' : 'y';
	memcpy(in + n - 2, "\r\n", 2);
	/* relaxed: " \t" pairs become one SP; first byte is WSP. */
	for (size_t i = 0; i < n - 2; i++)
		if (i % 4 == 0)
			want[k++] = ' ';
		else if (i % 4 >= 2)
			want[k++] = 'y';
	memcpy(want + k, "\r\n", 2);
	k += 2;
	check_body(DKIM_RELAXED, in, n, want, k);
	check_body(DKIM_SIMPLE, in, n, in, n);
	free(in);
	free(want);
}

/* A plain reference, line by line, to check the streaming one against. */
static char *
reference(enum dkim_canon c, const char *in, size_t n, size_t *outlen)
{
	char *out = malloc(2 * n + 4);
	size_t o = 0, i = 0;

	assert_non_null(out);
	while (i < n) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - in) : n, cend = end;
		int wsp = 0;

		if (nl != NULL && cend > i && in[cend - 1] == '\r')
			cend--;
		for (size_t j = i; j < cend; j++) {
			char ch = in[j];

			if (c == DKIM_RELAXED && (ch == ' ' || ch == '\t')) {
				wsp = 1;
				continue;
			}
			if (wsp)
				out[o++] = ' ';
			wsp = 0;
			out[o++] = ch;
		}
		out[o++] = '\r';
		out[o++] = '\n';
		i = nl ? end + 1 : n;
	}
	/* Trailing empty lines. */
	while (o >= 4 && memcmp(out + o - 4, "\r\n\r\n", 4) == 0)
		o -= 2;
	if (o == 2 && c == DKIM_RELAXED)
		o = 0;
	if (o == 0 && c == DKIM_SIMPLE) {
		memcpy(out, "\r\n", 2);
		o = 2;
	}
	*outlen = o;
	return out;
}

static void
test_random_against_reference(void **state)
{
	static const char *const atoms[] = {
		"a", "b", " ", "\t", "\r\n", "\n", "\r", "  \t", "xyz", "\r\n\r\n",
	};
	char in[400];

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = 0, len = rng() % 40;

		for (size_t i = 0; i < len; i++) {
			const char *a = atoms[rng() % (sizeof(atoms) /
			    sizeof(atoms[0]))];

			memcpy(in + n, a, strlen(a));
			n += strlen(a);
		}
		for (int c = DKIM_SIMPLE; c <= DKIM_RELAXED; c++) {
			size_t wl;
			char *want = reference((enum dkim_canon)c, in, n, &wl);

			check_body((enum dkim_canon)c, in, n, want, wl);
			free(want);
		}
	}
}

/* Buffering: the sink is called per buffer, not per line. */
static void
test_few_sink_calls(void **state)
{
	size_t n = 1000000;
	char *in = malloc(n);
	unsigned long long total;

	(void)state;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++)
		in[i] = i % 10 == 9 ? '\n' : 'q';
	for (int c = DKIM_SIMPLE; c <= DKIM_RELAXED; c++) {
		struct out o = body((enum dkim_canon)c, -1, in, n, 0, &total);

		assert_int_equal(total, n + n / 10);
		assert_true(o.calls < 200);
		free(o.p);
	}
	free(in);
}

static void
test_final_twice(void **state)
{
	struct out o = { NULL, 0, 0, 0 };
	struct dkim_body_canon *bc = dkim_body_canon_new(DKIM_SIMPLE, -1,
	    sink, &o);

	(void)state;
	dkim_body_canon_update(bc, "x\r\n", 3);
	assert_int_equal(dkim_body_canon_final(bc), 3);
	assert_int_equal(dkim_body_canon_final(bc), 3);
	assert_int_equal(o.len, 3);
	dkim_body_canon_free(bc);
	free(o.p);
	assert_string_equal(dkim_canon_name(DKIM_SIMPLE), "simple");
	assert_string_equal(dkim_canon_name(DKIM_RELAXED), "relaxed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_headers),
		cmocka_unit_test(test_header_simple),
		cmocka_unit_test(test_header_relaxed),
		cmocka_unit_test(test_header_appends),
		cmocka_unit_test(test_header_long),
		cmocka_unit_test(test_rfc_example_body),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_blank_lines_only),
		cmocka_unit_test(test_trailing_wsp),
		cmocka_unit_test(test_inner_wsp),
		cmocka_unit_test(test_leading_blank_lines),
		cmocka_unit_test(test_missing_final_newline),
		cmocka_unit_test(test_lone_cr),
		cmocka_unit_test(test_mixed_line_endings),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_large),
		cmocka_unit_test(test_many_blank_lines),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_few_sink_calls),
		cmocka_unit_test(test_final_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
