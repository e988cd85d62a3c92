/* dkim_canon: header and body canonicalization, RFC 6376 section 3.4.
 *
 * Bare LF is taken as CRLF everywhere (procmail and mbox hand us LF); a CR
 * that is not followed by LF is an ordinary byte.  The body canonicalizer is
 * the verifier's hot path: it looks at 32 bytes at a time (SSE2 where there
 * is SSE2), copies the blocks that need no change whole, writes into a local
 * buffer and calls the sink once per buffer, never per line or per byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dkim_int.h"

#define CANON_BUF 32768
#define BLOCK 32	/* bytes special_mask looks at together */

/* ---- dkim_buf ---- */

void
dkim_buf_free(struct dkim_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- headers ---- */

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Simple: the field as it came, with bare LF made CRLF. */
static void
canon_header_simple(const char *raw, size_t len, char *o, size_t *olen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			o[n++] = '\r';
		o[n++] = raw[i];
	}
	o[n++] = '\r';
	o[n++] = '\n';
	*olen = n;
}

/* Relaxed, for the name or the value: unfold (drop CRLF and bare LF),
 * WSP runs become one SP, no WSP at either end. */
static size_t
relax_span(const char *s, size_t len, int lowercase, char *o)
{
	size_t n = 0, i = 0;
	int wsp = 0;

	while (i < len) {
		char c = s[i];

		if (c == '\n' ||
		    (c == '\r' && i + 1 < len && s[i + 1] == '\n')) {
			i++;
			continue;
		}
		if (dkim_is_wsp((unsigned char)c)) {
			wsp = 1;
			i++;
			continue;
		}
		if (wsp && n > 0)
			o[n++] = ' ';
		wsp = 0;
		/* The rest of the word in one go. */
		do
			o[n++] = lowercase ? lower(c) : c;
		while (++i < len && (unsigned char)(c = s[i]) > ' ');
	}
	return n;
}

int
dkim_canon_header(enum dkim_canon c, const char *raw, size_t raw_len,
    struct dkim_buf *out)
{
	const char *colon;
	size_t n, nlen;
	char *o;

	/* Worst case: simple doubles bare LFs; plus CRLF. */
	if (raw_len > ((size_t)-1) / 2 - 2) {
		errno = ENOMEM;
		return -1;
	}
	if (dkim_buf_reserve(out, 2 * raw_len + 2) == -1)
		return -1;
	o = out->p + out->len;
	if (c == DKIM_SIMPLE) {
		canon_header_simple(raw, raw_len, o, &n);
		out->len += n;
		return 0;
	}
	colon = raw_len > 0 ? memchr(raw, ':', raw_len) : NULL;
	nlen = colon ? (size_t)(colon - raw) : raw_len;
	n = relax_span(raw, nlen, 1, o);
	if (colon != NULL) {
		o[n++] = ':';
		n += relax_span(colon + 1, raw_len - nlen - 1, 0, o + n);
	}
	o[n++] = '\r';
	o[n++] = '\n';
	out->len += n;
	return 0;
}

/* ---- body ---- */

struct dkim_body_canon {
	enum dkim_canon c;
	long long limit;		/* < 0: none */
	dkim_sink sink;
	void *arg;
	unsigned long long flushed;	/* canonical bytes out of buf */
	unsigned long long sent;	/* of those, given to the sink */
	/* CRLFs that may turn out to be trailing, and go then: the last
	 * pending ones in buf are written but not yet counted; held ones
	 * did not fit there and are only counted. */
	size_t pending;
	unsigned long long held;
	int cr;				/* the last piece ended in CR */
	int wsp;			/* relaxed: WSP seen, SP not yet out */
	int done;
	size_t len;
	char buf[CANON_BUF];
};

/* Hand canonical bytes to the sink, cut at the l= limit. */
static void
deliver(struct dkim_body_canon *bc, const char *p, size_t n)
{
	if (bc->limit >= 0) {
		unsigned long long lim = (unsigned long long)bc->limit;

		if (bc->sent >= lim)
			n = 0;
		else if (n > lim - bc->sent)
			n = (size_t)(lim - bc->sent);
	}
	if (n > 0)
		bc->sink(bc->arg, p, n);
	bc->sent += n;
}

#define MAX_PENDING_IN_BUF 64

/* Deliver buf, but keep the pending CRLFs at its end back: a few stay in
 * buf (moved to its start), more become held, a count. */
static void
flush(struct dkim_body_canon *bc)
{
	size_t tail = 2 * bc->pending, n = bc->len - tail;

	deliver(bc, bc->buf, n);
	bc->flushed += n;
	if (bc->pending <= MAX_PENDING_IN_BUF) {
		memmove(bc->buf, bc->buf + n, tail);
		bc->len = tail;
	} else {
		bc->held += bc->pending;
		bc->pending = 0;
		bc->len = 0;
	}
}

static unsigned long long
total(const struct dkim_body_canon *bc)
{
	return bc->flushed + bc->len;
}

static void
put_crlf(struct dkim_body_canon *bc)
{
	if (CANON_BUF - bc->len < 2)
		flush(bc);
	bc->buf[bc->len++] = '\r';
	bc->buf[bc->len++] = '\n';
}

/* Content follows: the CRLFs held back are not trailing after all, and in
 * relaxed the WSP run before it goes out as one SP.  Leaves room for a
 * block. */
static void
open_content(struct dkim_body_canon *bc, int *wsp)
{
	bc->pending = 0;
	for (; bc->held > 0; bc->held--)
		put_crlf(bc);
	if (CANON_BUF - bc->len < BLOCK + 1)
		flush(bc);
	if (*wsp) {
		bc->buf[bc->len++] = ' ';
		*wsp = 0;
	}
}

static void
content_byte(struct dkim_body_canon *bc, int *wsp, char c)
{
	if (*wsp || bc->held > 0 || bc->len == CANON_BUF)
		open_content(bc, wsp);
	bc->pending = 0;
	bc->buf[bc->len++] = c;
}

/* A line break is written at once but stays pending (trailing empty lines
 * go) and, in relaxed, the WSP before it is dropped. */
static void
line_end(struct dkim_body_canon *bc, int *wsp)
{
	*wsp = 0;
	put_crlf(bc);
	bc->pending++;
}

/* One byte that is not copied as it is: a line break, a CR, or (relaxed)
 * WSP.  Returns where to go on. */
static const char *
special_byte(struct dkim_body_canon *bc, const char *p, const char *end,
    int *wsp)
{
	if (*p == '\n') {
		line_end(bc, wsp);
		return p + 1;
	}
	if (*p == '\r') {
		if (p + 1 == end) {
			/* Maybe half of a CRLF split between pieces. */
			bc->cr = 1;
			return end;
		}
		if (p[1] == '\n') {
			line_end(bc, wsp);
			return p + 2;
		}
		content_byte(bc, wsp, '\r');
		return p + 1;
	}
	if (bc->c == DKIM_RELAXED && dkim_is_wsp((unsigned char)*p)) {
		*wsp = 1;
		return p + 1;
	}
	content_byte(bc, wsp, *p);
	return p + 1;
}

/* Bit i is set when p[i] of a block needs special_byte: CR and LF; in
 * relaxed also WSP, except an SP between two bytes of content (after is
 * the byte after the block, ' ' when there is none; the first byte's
 * predecessor is WSP when wsp is set).  Other control bytes are taken as
 * WSP here, which only sends them the slow way. */
#ifdef __SSE2__
static inline uint32_t
mask2(__m128i a, __m128i b)
{
	return (uint32_t)_mm_movemask_epi8(a) |
	    (uint32_t)_mm_movemask_epi8(b) << 16;
}

static inline __m128i
is_low(__m128i x)
{
	return _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(' ')), x);
}

static inline __m128i
is_brk(__m128i x)
{
	return _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')),
	    _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
}

static inline uint32_t
special_mask(const char *p, int relaxed, int wsp, char after)
{
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i sp20 = _mm_set1_epi8(' ');
	uint32_t low, sp, next;

	if (!relaxed)
		return mask2(is_brk(x0), is_brk(x1));
	low = mask2(is_low(x0), is_low(x1));
	sp = mask2(_mm_cmpeq_epi8(x0, sp20), _mm_cmpeq_epi8(x1, sp20));
	next = low >> 1 |
	    (uint32_t)((unsigned char)after <= ' ') << (BLOCK - 1);
	return (low & ~sp) | (sp & (next | (uint32_t)(wsp != 0)));
}
#else
static inline uint32_t
special_mask(const char *p, int relaxed, int wsp, char after)
{
	uint32_t m = 0;

	for (int i = 0; i < BLOCK; i++) {
		unsigned char c = (unsigned char)p[i];
		unsigned char next = (unsigned char)(i + 1 < BLOCK ? p[i + 1] :
		    after);
		int special = c == '\r' || c == '\n';

		if (relaxed && c <= ' ' && (c != ' ' || next <= ' ' ||
		    (i == 0 && wsp)))
			special = 1;
		m |= (uint32_t)special << i;
	}
	return m;
}
#endif

/* Both canonicalizations in one pass: blocks of plain bytes are copied
 * whole, the bytes special_mask points at are taken one by one.  The
 * common steps work on local copies of len and pending: buf is char, so
 * the compiler would otherwise store and load them around every copy. */
static void
body_update(struct dkim_body_canon *bc, const char *p, const char *end)
{
	int relaxed = bc->c == DKIM_RELAXED, wsp = bc->wsp;
	char *buf = bc->buf;
	size_t len = bc->len, pending = bc->pending;

	while (end - p >= BLOCK) {
		char after = end - p > BLOCK ? p[BLOCK] : ' ';
		uint32_t m = special_mask(p, relaxed, wsp, after);
		unsigned k = m != 0 ? (unsigned)__builtin_ctz(m) : BLOCK;

		if (k > 0) {
			if (wsp || CANON_BUF - len < BLOCK || bc->held > 0) {
				bc->len = len;
				open_content(bc, &wsp);
				len = bc->len;
			}
			pending = 0;
			/* The whole block is stored; only k bytes count. */
			memcpy(buf + len, p, BLOCK);
			len += k;
			p += k;
			if (k == BLOCK)
				continue;
		}
		if (*p == '\n' && CANON_BUF - len >= 2) {
			/* The usual special byte, so taken here. */
			wsp = 0;
			buf[len++] = '\r';
			buf[len++] = '\n';
			pending++;
			p++;
			continue;
		}
		bc->len = len;
		bc->pending = pending;
		p = special_byte(bc, p, end, &wsp);
		len = bc->len;
		pending = bc->pending;
	}
	bc->len = len;
	bc->pending = pending;
	while (p < end) {
		if (*p == '\r' || *p == '\n' ||
		    (relaxed && dkim_is_wsp((unsigned char)*p)))
			p = special_byte(bc, p, end, &wsp);
		else
			content_byte(bc, &wsp, *p++);
	}
	bc->wsp = wsp;
}

struct dkim_body_canon *
dkim_body_canon_new(enum dkim_canon c, long long limit, dkim_sink sink,
    void *arg)
{
	struct dkim_body_canon *bc;

	if ((bc = malloc(sizeof(*bc))) == NULL)
		return NULL;
	memset(bc, 0, offsetof(struct dkim_body_canon, buf));
	bc->c = c;
	bc->limit = limit < 0 ? -1 : limit;
	bc->sink = sink;
	bc->arg = arg;
	return bc;
}

void
dkim_body_canon_update(struct dkim_body_canon *bc, const char *p, size_t n)
{
	if (n == 0 || bc->done)
		return;
	if (bc->cr) {
		/* The previous piece ended in CR: a line break or a byte. */
		bc->cr = 0;
		if (*p == '\n') {
			line_end(bc, &bc->wsp);
			p++;
			n--;
		} else
			content_byte(bc, &bc->wsp, '\r');
	}
	body_update(bc, p, p + n);
}

unsigned long long
dkim_body_canon_final(struct dkim_body_canon *bc)
{
	if (bc->done)
		return total(bc);
	bc->done = 1;
	if (bc->cr) {
		bc->cr = 0;
		content_byte(bc, &bc->wsp, '\r');
	}
	/* Simple ends every body, even an empty one, with exactly one CRLF;
	 * relaxed ends a non-empty one so and leaves an empty one empty. */
	bc->len -= 2 * bc->pending;
	bc->pending = 0;
	bc->held = 0;
	if (bc->c == DKIM_SIMPLE || total(bc) > 0)
		put_crlf(bc);
	flush(bc);
	return total(bc);
}

void
dkim_body_canon_free(struct dkim_body_canon *bc)
{
	free(bc);
}
