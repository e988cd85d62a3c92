/* libFuzzer target: DKIM canonicalization.
 *
 * Input: byte 0 flags (bit 0 relaxed, bit 1 apply an l= limit), bytes 1-2
 * the limit, byte 3 a seed for the piece sizes, then the body (also used as
 * one raw header field).  Checks that the body canonicalizer gives the same
 * bytes however the input is split (all at once, byte by byte, random
 * pieces), with LF or CRLF line ends, that l= only cuts, that the result is
 * canonical (a fixed point, no WSP runs or trailing blank lines), and the
 * same for header canonicalization. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

struct out {
	char *p;
	size_t len, cap;
};

static void
sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	if (n == 0)
		abort();
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			abort();
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

/* step 0: one piece; 1: byte by byte; else random sizes below 64. */
static struct out
canon(enum dkim_canon c, long long limit, const char *in, size_t n,
    int step, uint32_t seed, unsigned long long *total)
{
	struct out o = { NULL, 0, 0 };
	struct dkim_body_canon *bc = dkim_body_canon_new(c, limit, sink, &o);
	size_t i = 0;

	if (bc == NULL)
		abort();
	while (i < n) {
		size_t k = n - i;

		if (step == 1)
			k = 1;
		else if (step != 0) {
			seed = seed * 1103515245u + 12345u;
			if (k > (seed >> 16) % 64)
				k = (seed >> 16) % 64;
		}
		dkim_body_canon_update(bc, in + i, k);
		i += k;
	}
	*total = dkim_body_canon_final(bc);
	dkim_body_canon_free(bc);
	return o;
}

static void
same(const struct out *a, const struct out *b)
{
	if (a->len != b->len || (a->len > 0 && memcmp(a->p, b->p, a->len)))
		abort();
}

static int
ends_with(const struct out *o, const char *s)
{
	size_t n = strlen(s);

	return o->len >= n && memcmp(o->p + o->len - n, s, n) == 0;
}

/* Bare LF made CRLF. */
static char *
to_crlf(const char *in, size_t n, size_t *outlen)
{
	char *p = malloc(2 * n + 1);
	size_t k = 0;

	if (p == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			p[k++] = '\r';
		p[k++] = in[i];
	}
	*outlen = k;
	return p;
}

static void
check_canonical(enum dkim_canon c, const struct out *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->p[i] == '\n' && (i == 0 || a->p[i - 1] != '\r'))
			abort();
	if (c == DKIM_SIMPLE) {
		if (!ends_with(a, "\r\n") ||
		    (a->len > 2 && ends_with(a, "\r\n\r\n")))
			abort();
		return;
	}
	if (a->len > 0 && (!ends_with(a, "\r\n") || ends_with(a, "\r\n\r\n") ||
	    a->len == 2))
		abort();
	if (a->len > 0 && memchr(a->p, '\t', a->len) != NULL)
		abort();
	for (size_t i = 0; i + 1 < a->len; i++)
		if (a->p[i] == ' ' && (a->p[i + 1] == ' ' ||
		    (a->p[i + 1] == '\r' && i + 2 < a->len &&
		    a->p[i + 2] == '\n')))
			abort();
}

static void
check_body(enum dkim_canon c, long long limit, const char *in, size_t n,
    uint32_t seed)
{
	unsigned long long ta, t;
	struct out a, b;
	char *crlf;
	size_t clen;

	a = canon(c, -1, in, n, 0, seed, &ta);
	if (ta != a.len)
		abort();
	check_canonical(c, &a);
	b = canon(c, -1, in, n, 1, seed, &t);
	same(&a, &b);
	free(b.p);
	b = canon(c, -1, in, n, 2, seed, &t);
	same(&a, &b);
	free(b.p);
	crlf = to_crlf(in, n, &clen);
	b = canon(c, -1, crlf, clen, 2, seed ^ 0x5a5a, &t);
	same(&a, &b);
	free(b.p);
	free(crlf);
	/* A fixed point. */
	b = canon(c, -1, a.p, a.len, 0, seed, &t);
	same(&a, &b);
	free(b.p);
	if (limit >= 0) {
		b = canon(c, limit, in, n, 2, seed, &t);
		if (t != ta || b.len != ((unsigned long long)limit < ta ?
		    (size_t)limit : a.len) ||
		    (b.len > 0 && memcmp(a.p, b.p, b.len) != 0))
			abort();
		free(b.p);
	}
	free(a.p);
}

static void
check_header(const char *in, size_t n)
{
	struct dkim_buf s = { NULL, 0, 0 }, r = { NULL, 0, 0 },
	    r2 = { NULL, 0, 0 };
	const char *colon;
	char *crlf;
	size_t clen;

	if (dkim_canon_header(DKIM_SIMPLE, in, n, &s) != 0 ||
	    dkim_canon_header(DKIM_RELAXED, in, n, &r) != 0)
		return;
	crlf = to_crlf(in, n, &clen);
	if (s.len != clen + 2 || memcmp(s.p, crlf, clen) != 0 ||
	    memcmp(s.p + clen, "\r\n", 2) != 0)
		abort();
	free(crlf);
	/* Relaxed: one line, no WSP runs, nothing around the colon. */
	if (r.len < 2 || memcmp(r.p + r.len - 2, "\r\n", 2) != 0 ||
	    memchr(r.p, '\n', r.len - 1) != NULL ||
	    memchr(r.p, '\t', r.len) != NULL)
		abort();
	for (size_t i = 0; i + 1 < r.len; i++)
		if (r.p[i] == ' ' && (r.p[i + 1] == ' ' || i + 1 == r.len - 2))
			abort();
	if ((colon = memchr(r.p, ':', r.len)) != NULL) {
		if (colon[1] == ' ' || (colon > r.p && colon[-1] == ' '))
			abort();
		for (const char *p = r.p; p < colon; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
	}
	if (r.len > 2 && r.p[0] == ' ')
		abort();
	/* A fixed point. */
	if (dkim_canon_header(DKIM_RELAXED, r.p, r.len - 2, &r2) != 0)
		abort();
	if (r2.len != r.len || memcmp(r.p, r2.p, r.len) != 0)
		abort();
	dkim_buf_free(&s);
	dkim_buf_free(&r);
	dkim_buf_free(&r2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum dkim_canon c;
	long long limit = -1;
	const char *in;
	size_t n;

	if (size < 4)
		return 0;
	c = data[0] & 1 ? DKIM_RELAXED : DKIM_SIMPLE;
	if (data[0] & 2)
		limit = (long long)(data[1] << 8 | data[2]);
	in = (const char *)data + 4;
	n = size - 4;
	check_body(c, limit, in, n, data[3] * 2654435761u);
	check_header(in, n);
	return 0;
}
