/* spf_record: RFC 7208 record grammar (section 12) and macros (section 7),
 * written strictly because libspf2's own compiler is lax. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "out.h"
#include "spf_record.h"

#define EXPAND_MAX	(SPF_RECORD_MAX * 8)

int
spf_record_is_spf1(const char *txt, size_t len)
{
	if (len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
		return 0;
	return len == 6 || txt[6] == ' ';
}

/* ---- macro-strings ---- */

/* strchr(set, ch) is true for ch == NUL: records may hold NULs */
static int
in_set(const char *set, int ch)
{
	return ch != '\0' && strchr(set, ch) != NULL;
}

static int
is_delim(int ch)
{
	return in_set(".-+,/_=", ch);
}

/* Length of the macro-expand at s (starting with '%'), 0 when invalid. */
static size_t
macro_len(const char *s, size_t len, int exp)
{
	size_t i;
	int letter;

	if (len < 2)
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || len < 4)
		return 0;
	letter = tolower((unsigned char)s[2]);
	if (!in_set("slodiphv", letter) && !(exp && in_set("crt", letter)))
		return 0;
	i = 3;
	if (i < len && s[i] == '0')
		return 0;	/* RFC 7208 7.3: a DIGIT must be nonzero */
	while (i < len && isdigit((unsigned char)s[i]) && i < 8)
		i++;
	if (i < len && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < len && is_delim(s[i]))
		i++;
	return i < len && s[i] == '}' ? i + 1 : 0;
}

int
spf_macro_valid(const char *s, size_t len, int exp)
{
	size_t i, m;

	for (i = 0; i < len; ) {
		if (s[i] == '%') {
			if ((m = macro_len(s + i, len - i, exp)) == 0)
				return 0;
			i += m;
			continue;
		}
		if (!(s[i] > 0x20 && s[i] < 0x7f) && !(exp && s[i] == ' '))
			return 0;
		i++;
	}
	return 1;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
toplabel_valid(const char *s, size_t len)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			dash = 1;
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return alpha || dash;
}

int
spf_domain_spec_valid(const char *s, size_t len)
{
	size_t end, dot;

	if (len == 0 || !spf_macro_valid(s, len, 0))
		return 0;
	if (s[len - 1] == '}')
		return 1;	/* domain-end = macro-expand */
	end = len;
	if (s[end - 1] == '.')
		end--;
	for (dot = end; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0)
		return 0;	/* no "." toplabel */
	/* a toplabel right after a %-escape would belong to the macro */
	if (dot >= 2 && s[dot - 2] == '%' && (dot < 3 || s[dot - 3] != '%'))
		return 0;
	return toplabel_valid(s + dot, end - dot);
}

/* ---- terms ---- */

static void
set_why(char *why, size_t whylen, const char *what, const char *t, size_t tl)
{
	if (tl > 80)
		tl = 80;
	snprintf(why, whylen, "%s: \"%.*s\"", what, (int)tl, t);
	for (char *p = why; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

/* A "/N" suffix (no leading zero, at most max) at the end of s[0..*len):
 * value, and *len shortened; -1 when absent; -2 when out of range. */
static int
take_cidr(const char *s, size_t *len, int max)
{
	size_t i = *len, start;
	long v;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == *len || i == 0 || s[i - 1] != '/')
		return -1;
	start = i;
	if (*len - start > 3 || (s[start] == '0' && *len - start > 1))
		return -2;
	v = strtol(s + start, NULL, 10);
	if (v > max)
		return -2;
	*len = start - 1;
	return (int)v;
}

/* dec-octet "." dec-octet "." dec-octet "." dec-octet, no leading zeros */
static int
parse_ip4(const char *s, size_t len, unsigned char out[4])
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t st = i;
		unsigned v = 0;

		while (i < len && isdigit((unsigned char)s[i]) && i - st < 4)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == st || i - st > 3 || v > 255 ||
		    (s[st] == '0' && i - st > 1))
			return -1;
		out[part] = (unsigned char)v;
		if (part < 3 && (i >= len || s[i++] != '.'))
			return -1;
	}
	return i == len ? 0 : -1;
}

static int
parse_ip6(const char *s, size_t len, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf) || memchr(s, '%', len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

static int
name_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

/* Mechanisms with an address: ip4 and ip6. */
static int
parse_ipnet(struct spf_term *t, int six)
{
	size_t len = t->spec_len;

	if (t->spec == NULL)
		return -1;
	t->cidr4 = take_cidr(t->spec, &len, six ? 128 : 32);
	if (t->cidr4 == -2)
		return -1;
	if (six)
		t->cidr6 = t->cidr4, t->cidr4 = -1;
	t->spec_len = len;
	return six ? parse_ip6(t->spec, len, t->addr) :
	    parse_ip4(t->spec, len, t->addr);
}

/* a and mx: [":" domain-spec] ["/" ip4-cidr] ["//" ip6-cidr] */
static int
parse_dual(struct spf_term *t, const char *rest, size_t rlen)
{
	size_t len = rlen, l = rlen;
	int c;

	c = take_cidr(rest, &l, 128);
	if (c != -1 && l > 0 && rest[l - 1] == '/') {
		if (c == -2)
			return -1;
		t->cidr6 = c;
		len = l - 1;
	}
	l = len;
	if ((c = take_cidr(rest, &l, 32)) == -2)
		return -1;
	if (c >= 0)
		t->cidr4 = c, len = l;
	if (len == 0) {
		t->spec = NULL;
		return 0;
	}
	if (rest[0] != ':')
		return -1;
	t->spec = rest + 1;
	t->spec_len = len - 1;
	return spf_domain_spec_valid(t->spec, t->spec_len) ? 0 : -1;
}

static const struct {
	const char *name;
	enum spf_term_kind kind;
} mechs[] = {
	{ "all", SPFT_ALL }, { "include", SPFT_INCLUDE }, { "a", SPFT_A },
	{ "mx", SPFT_MX }, { "ptr", SPFT_PTR }, { "ip4", SPFT_IP4 },
	{ "ip6", SPFT_IP6 }, { "exists", SPFT_EXISTS },
};

static int
parse_mechanism(struct spf_term *t, const char *s, size_t len)
{
	size_t nl, i;

	for (nl = 0; nl < len && s[nl] != ':' && s[nl] != '/'; nl++)
		;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (name_is(s, nl, mechs[i].name))
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return -1;
	t->kind = mechs[i].kind;
	if (nl < len && s[nl] == ':') {
		t->spec = s + nl + 1;
		t->spec_len = len - nl - 1;
	}
	switch (t->kind) {
	case SPFT_ALL:
		return nl == len ? 0 : -1;
	case SPFT_INCLUDE:
	case SPFT_EXISTS:
		return t->spec != NULL && nl + 1 < len &&
		    s[nl] == ':' &&
		    spf_domain_spec_valid(t->spec, t->spec_len) ? 0 : -1;
	case SPFT_PTR:
		if (nl == len)
			return 0;
		return t->spec != NULL &&
		    spf_domain_spec_valid(t->spec, t->spec_len) ? 0 : -1;
	case SPFT_IP4:
	case SPFT_IP6:
		if (nl == len || s[nl] != ':')
			return -1;
		return parse_ipnet(t, t->kind == SPFT_IP6);
	case SPFT_A:
	case SPFT_MX:
		t->spec = NULL;
		return parse_dual(t, s + nl, len - nl);
	default:
		return -1;
	}
}

/* modifier: name "=" macro-string, name = ALPHA *(ALPHA/DIGIT/-/_/.) */
static int
parse_modifier(struct spf_term *t, const char *s, size_t len)
{
	size_t nl;

	if (len == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (nl = 1; nl < len && (isalnum((unsigned char)s[nl]) ||
	    in_set("-_.", s[nl])); nl++)
		;
	if (nl >= len || s[nl] != '=')
		return 0;
	t->spec = s + nl + 1;
	t->spec_len = len - nl - 1;
	if (name_is(s, nl, "redirect"))
		t->kind = SPFT_REDIRECT;
	else if (name_is(s, nl, "exp"))
		t->kind = SPFT_EXP;
	else
		t->kind = SPFT_UNKNOWN_MOD;
	if (t->kind == SPFT_UNKNOWN_MOD)
		return spf_macro_valid(t->spec, t->spec_len, 0) ? 1 : -1;
	return spf_domain_spec_valid(t->spec, t->spec_len) ? 1 : -1;
}

static int
parse_term(struct spf_term *t, const char *s, size_t len)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->text = s;
	t->text_len = len;
	t->cidr4 = t->cidr6 = -1;
	t->qualifier = '+';
	if ((r = parse_modifier(t, s, len)) != 0)
		return r > 0 ? 0 : -1;
	if (len > 0 && in_set("+-~?", s[0])) {
		t->qualifier = s[0];
		s++, len--;
	}
	return parse_mechanism(t, s, len);
}

static int
add_term(struct spf_parsed *p, const struct spf_term *t, char *why,
    size_t whylen)
{
	if (p->n >= SPF_TERMS_MAX) {
		set_why(why, whylen, "too many terms", t->text, t->text_len);
		return -1;
	}
	if ((t->kind == SPFT_REDIRECT && p->redirect >= 0) ||
	    (t->kind == SPFT_EXP && p->exp >= 0)) {
		set_why(why, whylen, "modifier given twice", t->text,
		    t->text_len);
		return -1;
	}
	if (t->kind == SPFT_REDIRECT)
		p->redirect = (int)p->n;
	if (t->kind == SPFT_EXP)
		p->exp = (int)p->n;
	if (t->kind == SPFT_ALL)
		p->has_all = 1;
	p->t[p->n++] = *t;
	return 0;
}

int
spf_record_parse(const char *rec, size_t len, struct spf_parsed *out,
    char *why, size_t whylen)
{
	size_t i = 6, st;
	struct spf_term t;

	memset(out, 0, sizeof(*out));
	out->redirect = out->exp = -1;
	if (len > SPF_RECORD_MAX) {
		set_why(why, whylen, "record too long", rec, 20);
		return -1;
	}
	if (!spf_record_is_spf1(rec, len)) {
		set_why(why, whylen, "not an SPF record", rec, len);
		return -1;
	}
	/* RFC 7208 3.1, 4.6.1: printable ASCII, terms split by SP only */
	for (i = 0; i < len; i++)
		if (rec[i] < 0x20 || rec[i] > 0x7e) {
			set_why(why, whylen, "invalid character", rec, len);
			return -1;
		}
	i = 6;
	if ((out->t = calloc(SPF_TERMS_MAX, sizeof(*out->t))) == NULL) {
		set_why(why, whylen, "out of memory", "", 0);
		return -1;
	}
	while (i < len) {
		while (i < len && rec[i] == ' ')
			i++;
		for (st = i; i < len && rec[i] != ' '; i++)
			;
		if (st == i)
			break;
		if (parse_term(&t, rec + st, i - st) != 0) {
			set_why(why, whylen, "invalid term", rec + st, i - st);
			goto fail;
		}
		if (add_term(out, &t, why, whylen) != 0)
			goto fail;
	}
	return 0;
fail:
	spf_parsed_free(out);
	return -1;
}

void
spf_parsed_free(struct spf_parsed *p)
{
	free(p->t);
	p->t = NULL;
	p->n = 0;
}

/* ---- expansion ---- */

/* Expansions are bounded: a hostile record cannot make us build more
 * than EXPAND_MAX bytes. */
static void
put(struct out_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > EXPAND_MAX) {
		b->oom = 1;
		return;
	}
	out_buf_add(b, s, n);
}

/* The value of a macro letter, in buf (big enough for an IPv6 address
 * written as dotted nibbles). */
static const char *
letter_value(int letter, const struct spf_macro_ctx *c, char *buf,
    size_t blen)
{
	const unsigned char *ip = c->ip;
	const char *p;

	switch (letter) {
	case 's':
		snprintf(buf, blen, "%s@%s", c->local, c->sender_dom);
		return buf;
	case 'l': return c->local;
	case 'o': return c->sender_dom;
	case 'd': return c->domain;
	case 'h': return c->helo != NULL ? c->helo : "";
	case 'r': return c->receiver != NULL ? c->receiver : "unknown";
	case 'v': return c->family == AF_INET ? "in-addr" : "ip6";
	case 't':
		snprintf(buf, blen, "%lld", (long long)c->now);
		return buf;
	case 'p':
		p = c->ptr_name != NULL ? c->ptr_name(c->ptr_arg) : NULL;
		return p != NULL ? p : "unknown";
	case 'c':
		if (inet_ntop(c->family, ip, buf, (socklen_t)blen) == NULL)
			buf[0] = '\0';
		return buf;
	case 'i':
		if (c->family == AF_INET) {
			snprintf(buf, blen, "%u.%u.%u.%u", ip[0], ip[1],
			    ip[2], ip[3]);
		} else {
			for (int i = 0; i < 32; i++) {
				unsigned nib = (ip[i / 2] >> (i % 2 ? 0 : 4)) &
				    0xf;

				buf[i * 2] = (c->upper_hex ? "0123456789ABCDEF" :
				    "0123456789abcdef")[nib];
				buf[i * 2 + 1] = '.';
			}
			buf[63] = '\0';
		}
		return buf;
	}
	return "";
}

/* Split value on delims, keep the right-most keep parts (0: all) after
 * optional reversal, join with "." (RFC 7208 7.3). */
static void
transform(struct out_buf *out, const char *value, const char *delims, int keep,
    int reverse, int escape)
{
	const char *parts[256];
	size_t lens[256], n = 0, first, i;
	const char *p = value, *st = value;

	for (;; p++) {
		if (*p == '\0' || strchr(delims, *p) != NULL) {
			if (n < 256) {
				parts[n] = st;
				lens[n++] = (size_t)(p - st);
			}
			if (*p == '\0')
				break;
			st = p + 1;
		}
	}
	if (reverse)
		for (i = 0; i < n / 2; i++) {
			const char *tp = parts[i];
			size_t tl = lens[i];

			parts[i] = parts[n - 1 - i], lens[i] = lens[n - 1 - i];
			parts[n - 1 - i] = tp, lens[n - 1 - i] = tl;
		}
	first = keep > 0 && (size_t)keep < n ? n - (size_t)keep : 0;
	for (i = first; i < n; i++) {
		if (i > first)
			put(out, ".", 1);
		for (size_t j = 0; j < lens[i]; j++) {
			unsigned char ch = (unsigned char)parts[i][j];
			char hex[4];

			if (escape && !isalnum(ch) && !in_set("-._~", ch)) {
				snprintf(hex, sizeof(hex), "%%%02X", ch);
				put(out, hex, 3);
			} else {
				put(out, parts[i] + j, 1);
			}
		}
	}
}

/* One "%{...}" of length mlen at m. */
static void
expand_one(struct out_buf *out, const char *m, size_t mlen,
    const struct spf_macro_ctx *c)
{
	char vbuf[600], delims[16];
	size_t i = 3, nd = 0;
	int keep = 0, reverse = 0, letter = (unsigned char)m[2];

	while (isdigit((unsigned char)m[i]))
		keep = keep * 10 + (m[i++] - '0');
	if (m[i] == 'r' || m[i] == 'R')
		reverse = 1, i++;
	while (i < mlen - 1 && nd < sizeof(delims) - 1)
		delims[nd++] = m[i++];
	delims[nd] = '\0';
	if (nd == 0)
		strcpy(delims, ".");
	transform(out, letter_value(tolower(letter), c, vbuf, sizeof(vbuf)),
	    delims, keep, reverse, isupper(letter));
}

/* RFC 7208 7.3: over 253 bytes, drop left-hand labels. */
static void
cut_left(struct out_buf *b)
{
	size_t off = 0;

	while (b->len - off > 253) {
		char *dot = memchr(b->p + off, '.', b->len - off);

		if (dot == NULL)
			break;
		off = (size_t)(dot - b->p) + 1;
	}
	if (off > 0) {
		memmove(b->p, b->p + off, b->len - off + 1);
		b->len -= off;
	}
}

int
spf_macro_expand(const char *s, size_t len, int exp,
    const struct spf_macro_ctx *c, char **out, const char **why)
{
	struct out_buf b = { NULL, 0, 0, 0 };
	size_t i, m;

	*out = NULL;
	if (!spf_macro_valid(s, len, exp)) {
		*why = "invalid macro";
		return -1;
	}
	put(&b, "", 0);
	for (i = 0; i < len; i += m) {
		if (s[i] != '%') {
			for (m = 0; i + m < len && s[i + m] != '%'; m++)
				;
			put(&b, s + i, m);
			continue;
		}
		m = macro_len(s + i, len - i, exp);
		if (s[i + 1] == '%')
			put(&b, "%", 1);
		else if (s[i + 1] == '_')
			put(&b, " ", 1);
		else if (s[i + 1] == '-')
			put(&b, "%20", 3);
		else
			expand_one(&b, s + i, m, c);
	}
	if (b.oom) {
		free(b.p);
		*why = "expansion too long or out of memory";
		return -1;
	}
	if (!exp && b.len > 0 && b.p[b.len - 1] == '.')
		b.p[--b.len] = '\0';
	if (!exp)
		cut_left(&b);
	*out = b.p;
	return 0;
}

int
spf_name_lookupable(const char *name)
{
	size_t total = strlen(name), lab = 0;

	if (total == 0 || total > 253)
		return 0;
	for (const char *p = name; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (lab == 0 || lab > 63)
				return 0;
			if (*p == '\0')
				return 1;
			lab = 0;
		} else {
			lab++;
		}
	}
}
