/* mutf7: IMAP modified UTF-7 with Exim's imapfolder rules; see mutf7.h.
 * The encoder and the strict decoder share one idea of which characters
 * are written as themselves, so that each undoes the other exactly. */
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mutf7.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
fail(struct mutf7_err *e, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct mutf7_err *e, size_t offset, const char *fmt, ...)
{
	va_list ap;

	e->offset = offset;
	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int
oom(struct out_buf *out, struct mutf7_err *e)
{
	return out->oom ? fail(e, 0, "out of memory") : 0;
}

static char
sep_of(const struct mutf7_opts *o)
{
	/* Exim takes any byte; only printable ASCII makes sense. */
	return o->sep >= 0x20 && o->sep < 0x7F ? o->sep : '/';
}

/* c (ASCII) is in SPECIALS: Exim encodes it even when printable. */
static int
special(const struct mutf7_opts *o, uint32_t c)
{
	return (o->flags & MUTF7_PLAIN) == 0 && o->specials != NULL &&
	    c != 0 && c < 0x80 && strchr(o->specials, (int)c) != NULL;
}

/* A printable ASCII character other than "&" that Exim mode writes
 * base64-encoded: a SPECIALS one, or a stray "." or "/" under
 * MUTF7_ENCODE_DOTS.  SEP is never encoded: it becomes ".". */
static int
encoded_ascii(const struct mutf7_opts *o, uint32_t c)
{
	if ((o->flags & MUTF7_PLAIN) || c == (unsigned char)sep_of(o))
		return 0;
	if (special(o, c))
		return 1;
	return (o->flags & MUTF7_ENCODE_DOTS) && (c == '.' || c == '/');
}

/* One code point from s[*i..len), strict UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF); -1 when malformed. */
static int32_t
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	uint32_t c = s[*i], min;
	size_t n, k;

	if (c < 0x80) {
		(*i)++;
		return (int32_t)c;
	}
	if (c >= 0xC2 && c <= 0xDF)
		n = 1, c &= 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 2, c &= 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 3, c &= 0x07, min = 0x10000;
	else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xC0) != 0x80)
			return -1;
		c = c << 6 | (s[*i + k] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*i += n + 1;
	return (int32_t)c;
}

static void
utf8_put(struct out_buf *out, uint32_t c)
{
	unsigned char u[4];
	size_t n;

	if (c < 0x80)
		u[0] = (unsigned char)c, n = 1;
	else if (c < 0x800)
		u[0] = (unsigned char)(0xC0 | c >> 6), n = 2;
	else if (c < 0x10000)
		u[0] = (unsigned char)(0xE0 | c >> 12), n = 3;
	else
		u[0] = (unsigned char)(0xF0 | c >> 18), n = 4;
	if (n >= 4)
		u[n - 3] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
	if (n >= 3)
		u[n - 2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
	if (n >= 2)
		u[n - 1] = (unsigned char)(0x80 | (c & 0x3F));
	out_buf_add(out, u, n);
}

/* ---- encoding ---- */

struct enc {
	struct out_buf *out;
	int	 shift;		/* inside "&...-" */
	uint32_t bits;		/* nbits (< 6) not yet written */
	int	 nbits;
};

static void
enc_unit(struct enc *x, uint32_t u)
{
	char c;

	x->bits = x->bits << 16 | u;
	x->nbits += 16;
	while (x->nbits >= 6) {
		x->nbits -= 6;
		c = b64[x->bits >> x->nbits & 0x3F];
		out_buf_add(x->out, &c, 1);
	}
	x->bits &= (1u << x->nbits) - 1;
}

static void
enc_char(struct enc *x, uint32_t c)
{
	if (!x->shift) {
		out_buf_add(x->out, "&", 1);
		x->shift = 1;
		x->bits = 0;
		x->nbits = 0;
	}
	if (c >= 0x10000) {
		c -= 0x10000;
		enc_unit(x, 0xD800 | c >> 10);
		enc_unit(x, 0xDC00 | (c & 0x3FF));
	} else
		enc_unit(x, c);
}

static void
enc_close(struct enc *x)
{
	char c;

	if (!x->shift)
		return;
	if (x->nbits > 0) {
		c = b64[x->bits << (6 - x->nbits) & 0x3F];
		out_buf_add(x->out, &c, 1);
	}
	out_buf_add(x->out, "-", 1);
	x->shift = 0;
}

int
mutf7_encode(const char *name, size_t len, const struct mutf7_opts *o,
    struct out_buf *out, struct mutf7_err *e)
{
	const unsigned char *s = (const unsigned char *)name;
	struct enc x = { out, 0, 0, 0 };
	int exim = (o->flags & MUTF7_PLAIN) == 0, pending_sep = 0;
	unsigned char sep = (unsigned char)sep_of(o);
	size_t i = 0, at;
	int32_t c;

	if (len > MUTF7_MAX_NAME)
		return fail(e, MUTF7_MAX_NAME, "name longer than %d bytes",
		    MUTF7_MAX_NAME);
	out_buf_add(out, "", 0);
	/* Exim drops exactly one leading separator. */
	if (exim && len > 0 && s[0] == sep)
		i = 1;
	while (i < len) {
		at = i;
		if ((c = utf8_next(s, len, &i)) < 0)
			return fail(e, at, "invalid UTF-8");
		if (c == 0)
			return fail(e, at, "NUL character");
		if (exim && (uint32_t)c == sep) {
			/* A run becomes one "."; one at the end none. */
			enc_close(&x);
			pending_sep = 1;
			continue;
		}
		if (pending_sep) {
			out_buf_add(out, ".", 1);
			pending_sep = 0;
		}
		if (encoded_ascii(o, (uint32_t)c))
			enc_char(&x, (uint32_t)c);
		else if (exim && (c == '.' || c == '/'))
			return fail(e, at, "illegal character '%c'", (int)c);
		else if (c == '&') {
			enc_close(&x);
			out_buf_add(out, "&-", 2);
		} else if (c >= 0x20 && c < 0x7F) {
			enc_close(&x);
			out_buf_add(out, &s[at], 1);
		} else
			enc_char(&x, (uint32_t)c);
	}
	enc_close(&x);
	return oom(out, e);
}

/* ---- decoding ---- */

static int
b64_value(unsigned char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

/* One UTF-16 unit u of a shift (its last base64 character at offset at);
 * *hi holds a high surrogate waiting for its low half. */
static int
dec_unit(uint32_t u, uint32_t *hi, size_t at, const struct mutf7_opts *o,
    struct out_buf *out, struct mutf7_err *e)
{
	if (*hi != 0) {
		if (u < 0xDC00 || u > 0xDFFF)
			return fail(e, at, "unpaired high surrogate");
		utf8_put(out, 0x10000 + ((*hi - 0xD800) << 10) + (u - 0xDC00));
		*hi = 0;
		return 0;
	}
	if (u >= 0xD800 && u <= 0xDBFF) {
		*hi = u;
		return 0;
	}
	if (u >= 0xDC00 && u <= 0xDFFF)
		return fail(e, at, "unpaired low surrogate");
	if (u == 0)
		return fail(e, at, "encoded NUL character");
	if (u >= 0x20 && u < 0x7F && !encoded_ascii(o, u))
		return fail(e, at, "encoded printable ASCII character '%c'",
		    (int)u);
	utf8_put(out, u);
	return 0;
}

/* The shift at in[*i] ("&" not followed by "-"), up to and past its "-". */
static int
dec_shift(const unsigned char *s, size_t len, size_t *i,
    const struct mutf7_opts *o, struct out_buf *out, struct mutf7_err *e)
{
	size_t start = *i, j = *i + 1;
	uint32_t bits = 0, hi = 0;
	int nbits = 0, v;

	for (; j < len && s[j] != '-'; j++) {
		if ((v = b64_value(s[j])) < 0)
			return fail(e, j, "invalid base64 character");
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			nbits -= 16;
			if (dec_unit(bits >> nbits & 0xFFFF, &hi, j, o, out,
			    e) == -1)
				return -1;
			bits &= (1u << nbits) - 1;
		}
	}
	if (j == len)
		return fail(e, start, "unterminated shift");
	if (nbits >= 6)
		return fail(e, j, "excess base64 at the end of a shift");
	if (bits != 0)
		return fail(e, j, "non-zero base64 padding bits");
	if (hi != 0)
		return fail(e, j, "unpaired high surrogate");
	*i = j + 1;
	return 0;
}

int
mutf7_decode(const char *in, size_t len, const struct mutf7_opts *o,
    struct out_buf *out, struct mutf7_err *e)
{
	const unsigned char *s = (const unsigned char *)in;
	int exim = (o->flags & MUTF7_PLAIN) == 0;
	unsigned char sep = (unsigned char)sep_of(o), c;
	size_t i = 0, shift_end = (size_t)-1, base = out->len;

	if (len > MUTF7_MAX_NAME * 8)
		return fail(e, MUTF7_MAX_NAME * 8, "name too long");
	out_buf_add(out, "", 0);
	while (i < len) {
		c = s[i];
		if (c == '&' && i + 1 < len && s[i + 1] == '-') {
			/* The encoder writes "&" so only when it is text. */
			if (exim && (sep == '&' || special(o, '&')))
				return fail(e, i, "\"&-\" when \"&\" is the "
				    "separator or special");
			out_buf_add(out, "&", 1);
			i += 2;
		} else if (c == '&') {
			if (i == shift_end)
				return fail(e, i, "shift right after a shift "
				    "(non-minimal)");
			if (dec_shift(s, len, &i, o, out, e) == -1)
				return -1;
			shift_end = i;
		} else if (c < 0x20 || c >= 0x7F)
			return fail(e, i, "byte 0x%02x outside base64", c);
		else if (exim && c == '.') {
			out_buf_add(out, &sep, 1);
			i++;
		} else if (exim && (c == sep || c == '/' || special(o, c)))
			return fail(e, i, "literal '%c' (the encoder never "
			    "writes one)", c);
		else {
			out_buf_add(out, &c, 1);
			i++;
		}
		/* What the encoder would refuse is no name. */
		if (out->len - base > MUTF7_MAX_NAME)
			return fail(e, i, "decodes to more than %d bytes",
			    MUTF7_MAX_NAME);
	}
	return oom(out, e);
}

/* ---- other charsets ---- */

int
mutf7_iconv(const char *from, const char *to, const char *in, size_t len,
    struct out_buf *out, struct mutf7_err *e)
{
	char buf[1024], *ip = (char *)(uintptr_t)in, *op;
	size_t il = len, ol, r;
	iconv_t cd;
	int err;

	if ((cd = iconv_open(to, from)) == (iconv_t)-1)
		return fail(e, 0, "cannot convert from %.32s to %.32s", from,
		    to);
	out_buf_add(out, "", 0);
	for (;;) {
		op = buf;
		ol = sizeof(buf);
		r = il > 0 ? iconv(cd, &ip, &il, &op, &ol) :
		    iconv(cd, NULL, NULL, &op, &ol);
		err = errno;
		out_buf_add(out, buf, (size_t)(op - buf));
		if (r != (size_t)-1 && il == 0 && op == buf)
			break;
		if (r == (size_t)-1 && err != E2BIG) {
			iconv_close(cd);
			if (err == EINVAL)
				return fail(e, (size_t)(ip - in),
				    "incomplete %.32s character", from);
			return fail(e, (size_t)(ip - in), "invalid %.32s, or "
			    "not representable in %.32s", from, to);
		}
	}
	iconv_close(cd);
	return oom(out, e);
}
