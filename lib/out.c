/* out: text, kv and json writers.  See out.h. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"

/* Deeper nesting than this is a caller bug; the excess is dropped rather
 * than producing unbalanced JSON. */
#define OUT_MAX_DEPTH	16

struct out {
	enum out_mode	 mode;
	struct out_buf	 b;
	int		 open;		/* between begin and finish */
	int		 finished;	/* record closed, ready for out_end */
	int		 depth;		/* open JSON containers (or ignored ones) */
	int		 overflow;	/* containers beyond OUT_MAX_DEPTH */
	char		 kind[OUT_MAX_DEPTH + 1];	/* '{' or '[' */
	int		 nitems[OUT_MAX_DEPTH + 1];	/* items in each */
};

static int
buf_reserve(struct out_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (extra < b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		goto fail;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= extra)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		goto fail;
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = 1;
	return -1;
}

static void
buf_add(struct out_buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_addc(struct out_buf *b, char c)
{
	buf_add(b, &c, 1);
}

static void
buf_adds(struct out_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_vprintf(struct out_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

static void
buf_reset(struct out_buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static void
buf_free(struct out_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Shell single quoting: everything is literal between quotes except the
 * quote itself, written '\''.  NUL cannot live in a shell variable, so it
 * is dropped. */
static void
buf_shell_quote(struct out_buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addc(b, '\'');
	for (i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_add(b, "'\\''", 4);
		else if (s[i] != '\0')
			buf_addc(b, s[i]);
	}
	buf_addc(b, '\'');
}

/* Length of the well-formed UTF-8 sequence at s, or 0 when it is not one;
 * *bad is then the length of the maximal ill-formed subpart (Unicode's
 * "substitution of maximal subparts": one U+FFFD for each). */
static size_t
utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;

	*bad = 1;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		need = 1;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		if (s[0] == 0xE0)
			lo = 0xA0;	/* overlong */
		else if (s[0] == 0xED)
			hi = 0x9F;	/* surrogates */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		if (s[0] == 0xF0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xF4)
			hi = 0x8F;	/* beyond U+10FFFF */
	} else
		return 0;
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return need + 1;
}

int
out_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, bad;

	while (i < n) {
		if ((k = utf8_seq(u + i, n - i, &bad)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static void
buf_json_string(struct out_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, k, bad;
	char esc[6];

	buf_addc(b, '"');
	for (i = 0; i < n; ) {
		if (s[i] >= 0x80) {
			if ((k = utf8_seq(s + i, n - i, &bad)) == 0) {
				buf_add(b, "\xEF\xBF\xBD", 3);
				i += bad;
			} else {
				buf_add(b, s + i, k);
				i += k;
			}
			continue;
		}
		switch (s[i]) {
		case '"':  buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\b': buf_add(b, "\\b", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default:
			if (s[i] < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 0xF];
				buf_add(b, esc, 6);
			} else
				buf_addc(b, (char)s[i]);
		}
		i++;
	}
	buf_addc(b, '"');
}

static char *
buf_steal(struct out_buf *b)
{
	char *p;

	if (b->oom || buf_reserve(b, 0) == -1) {
		buf_free(b);
		return NULL;
	}
	p = b->p;
	p[b->len] = '\0';
	memset(b, 0, sizeof(*b));
	return p;
}

char *
out_shell_quote(const char *s, size_t n)
{
	struct out_buf b = { 0 };

	buf_shell_quote(&b, s, n);
	return buf_steal(&b);
}

char *
out_json_string(const char *s, size_t n)
{
	struct out_buf b = { 0 };

	buf_json_string(&b, s, n);
	return buf_steal(&b);
}

int
out_mode_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "text") == 0)
		return OUT_TEXT;
	if (strcmp(s, "kv") == 0)
		return OUT_KV;
	if (strcmp(s, "json") == 0)
		return OUT_JSON;
	return -1;
}

struct out *
out_new(enum out_mode mode)
{
	struct out *o;

	if (mode != OUT_TEXT && mode != OUT_KV && mode != OUT_JSON)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->mode = mode;
	return o;
}

void
out_free(struct out *o)
{
	if (o == NULL)
		return;
	buf_free(&o->b);
	free(o);
}

enum out_mode
out_get_mode(const struct out *o)
{
	return o->mode;
}

void
out_begin(struct out *o)
{
	buf_reset(&o->b);
	o->open = 1;
	o->finished = 0;
	o->depth = 0;
	o->overflow = 0;
	o->kind[0] = '{';
	o->nitems[0] = 0;
	if (o->mode == OUT_JSON)
		buf_addc(&o->b, '{');
}

/* A variable call outside begin/end starts a record rather than writing
 * into a finished one. */
static void
ensure_open(struct out *o)
{
	if (!o->open)
		out_begin(o);
}

/* kv names become shell variables: anything else could inject code. */
static int
kv_name_ok(const char *name)
{
	const char *p;

	if (name == NULL || !((*name >= 'A' && *name <= 'Z') ||
	    (*name >= 'a' && *name <= 'z') || *name == '_'))
		return 0;
	for (p = name + 1; *p != '\0'; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* Start a kv line; 0 when the variable is not to be printed. */
static int
kv_start(struct out *o, const char *name)
{
	if (o->depth > 0 || o->overflow > 0 || !kv_name_ok(name))
		return 0;
	buf_adds(&o->b, name);
	buf_addc(&o->b, '=');
	return 1;
}

/* Write the separator and, inside an object, the key; 0 when the value
 * is to be dropped. */
static int
json_start(struct out *o, const char *name)
{
	if (o->overflow > 0)
		return 0;
	if (o->nitems[o->depth]++ > 0)
		buf_addc(&o->b, ',');
	if (o->kind[o->depth] == '{') {
		buf_json_string(&o->b, name ? name : "", name ? strlen(name) :
		    0);
		buf_addc(&o->b, ':');
	}
	return 1;
}

void
out_strn(struct out *o, const char *name, const char *value, size_t n)
{
	ensure_open(o);
	if (value == NULL)
		n = 0;
	switch (o->mode) {
	case OUT_KV:
		if (kv_start(o, name)) {
			buf_shell_quote(&o->b, value, n);
			buf_addc(&o->b, '\n');
		}
		break;
	case OUT_JSON:
		if (json_start(o, name))
			buf_json_string(&o->b, value, n);
		break;
	case OUT_TEXT:
		break;
	}
}

void
out_str(struct out *o, const char *name, const char *value)
{
	out_strn(o, name, value, value ? strlen(value) : 0);
}

void
out_int(struct out *o, const char *name, long long value)
{
	char num[32];

	ensure_open(o);
	snprintf(num, sizeof(num), "%lld", value);
	switch (o->mode) {
	case OUT_KV:
		if (kv_start(o, name)) {
			buf_shell_quote(&o->b, num, strlen(num));
			buf_addc(&o->b, '\n');
		}
		break;
	case OUT_JSON:
		if (json_start(o, name))
			buf_adds(&o->b, num);
		break;
	case OUT_TEXT:
		break;
	}
}

void
out_bool(struct out *o, const char *name, int value)
{
	ensure_open(o);
	switch (o->mode) {
	case OUT_KV:
		if (kv_start(o, name))
			buf_adds(&o->b, value ? "'1'\n" : "'0'\n");
		break;
	case OUT_JSON:
		if (json_start(o, name))
			buf_adds(&o->b, value ? "true" : "false");
		break;
	case OUT_TEXT:
		break;
	}
}

void
out_list(struct out *o, const char *name, const char *const *v, size_t n)
{
	struct out_buf joined = { 0 };
	size_t i;

	ensure_open(o);
	switch (o->mode) {
	case OUT_KV:
		if (!kv_start(o, name))
			break;
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(&joined, ':');
			if (v[i] != NULL)
				buf_adds(&joined, v[i]);
		}
		if (joined.oom)
			o->b.oom = 1;
		buf_shell_quote(&o->b, joined.p ? joined.p : "", joined.len);
		buf_addc(&o->b, '\n');
		buf_free(&joined);
		break;
	case OUT_JSON:
		if (!json_start(o, name))
			break;
		buf_addc(&o->b, '[');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(&o->b, ',');
			buf_json_string(&o->b, v[i] ? v[i] : "",
			    v[i] ? strlen(v[i]) : 0);
		}
		buf_addc(&o->b, ']');
		break;
	case OUT_TEXT:
		break;
	}
}

static void
container_open(struct out *o, const char *name, char kind)
{
	ensure_open(o);
	if (o->depth >= OUT_MAX_DEPTH || o->overflow > 0) {
		o->overflow++;
		return;
	}
	if (o->mode == OUT_JSON) {
		json_start(o, name);
		buf_addc(&o->b, kind);
	}
	o->depth++;
	o->kind[o->depth] = kind;
	o->nitems[o->depth] = 0;
}

static void
container_close(struct out *o, char kind)
{
	if (!o->open)
		return;
	if (o->overflow > 0) {
		o->overflow--;
		return;
	}
	/* A mismatched close would corrupt the JSON: ignore it. */
	if (o->depth == 0 || o->kind[o->depth] != kind)
		return;
	if (o->mode == OUT_JSON)
		buf_addc(&o->b, kind == '{' ? '}' : ']');
	o->depth--;
}

void
out_array_begin(struct out *o, const char *name)
{
	container_open(o, name, '[');
}

void
out_array_end(struct out *o)
{
	container_close(o, '[');
}

void
out_object_begin(struct out *o)
{
	container_open(o, NULL, '{');
}

void
out_object_end(struct out *o)
{
	container_close(o, '{');
}

void
out_text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	ensure_open(o);
	if (o->mode != OUT_TEXT)
		return;
	va_start(ap, fmt);
	buf_vprintf(&o->b, fmt, ap);
	va_end(ap);
}

/* Close what the caller left open so that the record is well-formed. */
static void
finish(struct out *o)
{
	if (o->finished)
		return;
	ensure_open(o);
	o->overflow = 0;
	if (o->mode == OUT_JSON) {
		while (o->depth > 0) {
			buf_addc(&o->b, o->kind[o->depth] == '{' ? '}' : ']');
			o->depth--;
		}
		buf_add(&o->b, "}\n", 2);
	}
	o->depth = 0;
	o->finished = 1;
	o->open = 0;
}

const char *
out_record(struct out *o, size_t *len)
{
	finish(o);
	if (o->b.oom || buf_reserve(&o->b, 0) == -1) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	o->b.p[o->b.len] = '\0';
	if (len != NULL)
		*len = o->b.len;
	return o->b.p;
}

int
out_end(struct out *o, FILE *fp)
{
	const char *rec;
	size_t len;

	if ((rec = out_record(o, &len)) == NULL)
		return -1;
	/* One fwrite: stdio locks the stream, so records stay whole. */
	if (len > 0 && fwrite(rec, 1, len, fp) != len)
		return -1;
	return ferror(fp) ? -1 : 0;
}

/* ---- the buffer, for other modules ---- */

int
out_buf_add(struct out_buf *b, const void *s, size_t n)
{
	buf_add(b, s, n);
	return b->oom ? -1 : 0;
}

void
out_buf_str(struct out_buf *b, const char *s)
{
	buf_adds(b, s);
}

void
out_buf_printf(struct out_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
out_buf_free(struct out_buf *b)
{
	buf_free(b);
}

int
out_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void
out_iso8601(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (t != 0 && gmtime_r(&t, &tm) != NULL &&
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}
