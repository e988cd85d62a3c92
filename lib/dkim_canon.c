/* dkim_canon: header and body canonicalization, RFC 6376 section 3.4.
 *
 * Bare LF is taken as CRLF everywhere (procmail and mbox hand us LF); a CR
 * that is not followed by LF is an ordinary byte.  The body canonicalizer is
 * the verifier's hot path: it scans lines with memchr, writes into a local
 * buffer and calls the sink once per buffer (or once per long verbatim span),
 * never per line or per byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

#define CANON_BUF 32768

/* ---- dkim_buf ---- */

void
dkim_buf_free(struct dkim_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int
buf_reserve(struct dkim_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (more <= b->cap - b->len)
		return 0;
	if (more > ((size_t)-1) / 2 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* ---- headers ---- */

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

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
	size_t n = 0;
	int wsp = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n' || (c == '\r' && i + 1 < len && s[i + 1] == '\n'))
			continue;
		if (is_wsp(c)) {
			wsp = 1;
			continue;
		}
		if (wsp && n > 0)
			o[n++] = ' ';
		wsp = 0;
		o[n++] = lowercase ? lower((char)c) : (char)c;
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
	if (buf_reserve(out, 2 * raw_len + 2) == -1)
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
	unsigned long long pending;	/* CRLFs held back: maybe trailing */
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

static void
flush(struct dkim_body_canon *bc)
{
	deliver(bc, bc->buf, bc->len);
	bc->flushed += bc->len;
	bc->len = 0;
}

static unsigned long long
total(const struct dkim_body_canon *bc)
{
	return bc->flushed + bc->len;
}

static void
emit(struct dkim_body_canon *bc, const char *p, size_t n)
{
	size_t room;

	if (n >= CANON_BUF) {
		/* A long verbatim span goes straight to the sink. */
		flush(bc);
		deliver(bc, p, n);
		bc->flushed += n;
		return;
	}
	room = CANON_BUF - bc->len;
	if (n > room) {
		memcpy(bc->buf + bc->len, p, room);
		bc->len += room;
		flush(bc);
		p += room;
		n -= room;
	}
	memcpy(bc->buf + bc->len, p, n);
	bc->len += n;
}

static void
emit_crlfs(struct dkim_body_canon *bc, unsigned long long k)
{
	while (k > 0) {
		size_t room = (CANON_BUF - bc->len) / 2;

		if (room == 0) {
			flush(bc);
			continue;
		}
		if (room > k)
			room = (size_t)k;
		for (size_t i = 0; i < room; i++) {
			bc->buf[bc->len++] = '\r';
			bc->buf[bc->len++] = '\n';
		}
		k -= room;
	}
}

static void
flush_pending(struct dkim_body_canon *bc)
{
	if (bc->pending > 0) {
		emit_crlfs(bc, bc->pending);
		bc->pending = 0;
	}
}

/* Simple: the body as it came (bare LF made CRLF), but CRLFs are held back
 * until something follows them, because all trailing empty lines reduce to
 * a single CRLF. */
static void
simple_content(struct dkim_body_canon *bc, const char *p, size_t n)
{
	flush_pending(bc);
	emit(bc, p, n);
}

/* On CRLF input the canonical form is the input itself up to the last
 * content, so [run, mark) is a verbatim stretch of lines (empty ones
 * included) ending with content, emitted in one go; the CRLFs after mark are
 * counted in tail, and become pending if the stretch ends there. */
static void
simple_update(struct dkim_body_canon *bc, const char *p, const char *end)
{
	const char *run = p, *mark = p, *nl, *q;
	unsigned long long tail = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		if (nl > p && nl[-1] == '\r') {
			if (nl - 1 > p) {
				mark = nl - 1;
				tail = 1;
			} else if (mark == run) {
				/* Empty lines before the stretch. */
				bc->pending++;
				run = mark = nl + 1;
			} else
				tail++;
			p = nl + 1;
			continue;
		}
		/* A bare LF ends the verbatim stretch. */
		if (mark > run) {
			simple_content(bc, run, (size_t)(mark - run));
			bc->pending = tail;
		}
		if (nl > p)
			simple_content(bc, p, (size_t)(nl - p));
		bc->pending++;
		p = run = mark = nl + 1;
		tail = 0;
	}
	if (mark > run) {
		simple_content(bc, run, (size_t)(mark - run));
		bc->pending = tail;
	}
	/* A partial line; its CR may be half of a CRLF split between pieces. */
	q = end;
	if (q > p && q[-1] == '\r') {
		q--;
		bc->cr = 1;
	}
	if (q > p)
		simple_content(bc, p, (size_t)(q - p));
}

/* Relaxed, one byte: a WSP run becomes one SP, written only when content
 * follows it.  Branch-free, because words and spaces alternate too
 * irregularly for the branch predictor: both stores always happen, the
 * pointer only advances past the bytes that count. */
static inline char *
relax_byte(char *o, int *wsp, char c)
{
	int w = (c == ' ') | (c == '\t');

	o[0] = ' ';
	o += *wsp & !w;
	o[0] = c;
	o += !w;
	*wsp = w;
	return o;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR 1
#define ONES7 0x7f7f7f7f7f7f7f7fULL

/* The high bit of each byte of x that equals the byte in c8. */
static inline uint64_t
bytes_eq(uint64_t x, uint64_t c8)
{
	uint64_t v = x ^ c8, t = (v & ONES7) + ONES7;

	return ~(t | v | ONES7);
}

/* Eight bytes at a time while they need no change: no TAB, no two SPs in a
 * row, no SP right after a pending WSP run.  That is most of any prose and
 * all of base64.  Returns how far it got. */
static const char *
relax_words(const char *p, const char *stop, char **op, int *wsp)
{
	char *o = *op;

	while (stop - p >= 8) {
		uint64_t x, sp, tab;

		memcpy(&x, p, 8);
		sp = bytes_eq(x, 0x2020202020202020ULL);
		tab = bytes_eq(x, 0x0909090909090909ULL);
		if ((tab | (sp & (sp << 8)) | (*wsp ? sp & 0x80 : 0)) != 0) {
			for (int i = 0; i < 8; i++)
				o = relax_byte(o, wsp, p[i]);
		} else {
			o[0] = ' ';
			o += *wsp;
			memcpy(o, p, 8);
			/* A final SP waits to see what follows. */
			*wsp = (sp >> 63) != 0;
			o += 8 - *wsp;
		}
		p += 8;
	}
	*op = o;
	return p;
}
#endif

/* Relaxed: WSP runs become one SP, WSP at line end goes, and CRLFs are held
 * back because trailing empty lines are all removed.  p..n is line content
 * without its line break, possibly part of a line. */
static void
relaxed_content(struct dkim_body_canon *bc, const char *p, size_t n)
{
	const char *end = p + n;
	int wsp = bc->wsp;

	if (bc->pending > 0) {
		/* A line of only WSP is an empty line. */
		while (p < end && is_wsp((unsigned char)*p)) {
			p++;
			wsp = 1;
		}
		if (p == end) {
			bc->wsp = wsp;
			return;
		}
		flush_pending(bc);
	}
	while (p < end) {
		/* Each input byte makes at most two output bytes. */
		size_t room = (CANON_BUF - bc->len) / 2, k = (size_t)(end - p);
		const char *stop;
		char *o;

		if (room == 0) {
			flush(bc);
			continue;
		}
		if (k > room)
			k = room;
		stop = p + k;
		o = bc->buf + bc->len;
#ifdef SWAR
		p = relax_words(p, stop, &o, &wsp);
#endif
		for (; p < stop; p++)
			o = relax_byte(o, &wsp, *p);
		bc->len = (size_t)(o - bc->buf);
	}
	bc->wsp = wsp;
}

static void
relaxed_line_end(struct dkim_body_canon *bc)
{
	bc->wsp = 0;
	bc->pending++;
}

static void
relaxed_update(struct dkim_body_canon *bc, const char *p, const char *end)
{
	const char *nl, *q;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		q = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (q > p)
			relaxed_content(bc, p, (size_t)(q - p));
		relaxed_line_end(bc);
		p = nl + 1;
	}
	q = end;
	if (q > p && q[-1] == '\r') {
		q--;
		bc->cr = 1;
	}
	if (q > p)
		relaxed_content(bc, p, (size_t)(q - p));
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

static void
content(struct dkim_body_canon *bc, const char *p, size_t n)
{
	if (bc->c == DKIM_SIMPLE)
		simple_content(bc, p, n);
	else
		relaxed_content(bc, p, n);
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
			if (bc->c == DKIM_SIMPLE)
				bc->pending++;
			else
				relaxed_line_end(bc);
			p++;
			n--;
		} else
			content(bc, "\r", 1);
	}
	if (bc->c == DKIM_SIMPLE)
		simple_update(bc, p, p + n);
	else
		relaxed_update(bc, p, p + n);
}

unsigned long long
dkim_body_canon_final(struct dkim_body_canon *bc)
{
	if (bc->done)
		return total(bc);
	bc->done = 1;
	if (bc->cr) {
		bc->cr = 0;
		content(bc, "\r", 1);
	}
	/* Simple ends every body, even an empty one, with exactly one CRLF;
	 * relaxed ends a non-empty one so and leaves an empty one empty. */
	if (bc->c == DKIM_SIMPLE || total(bc) > 0)
		emit_crlfs(bc, 1);
	bc->pending = 0;
	flush(bc);
	return total(bc);
}

void
dkim_body_canon_free(struct dkim_body_canon *bc)
{
	free(bc);
}
