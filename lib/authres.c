/* authres: Authentication-Results header fields (RFC 8601).  See authres.h. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "msg.h"
#include "out.h"

#define AR_FOLD		78	/* RFC 5322 2.1.1: SHOULD NOT exceed */
#define AR_MAX_RES	256	/* resinfos per field */
#define AR_MAX_PROPS	32	/* properties per resinfo */
#define AR_MAX_KEYWORD	64
#define AR_MAX_VALUE	4096

struct ar_prop {
	char	*name;		/* "header.d" */
	char	*value;		/* already quoted when needed */
};

struct ar_res {
	char		*method;	/* "dkim=pass" */
	char		*reason;	/* "reason=\"...\"" or NULL */
	struct ar_prop	 props[AR_MAX_PROPS];
	size_t		 nprops;
};

struct authres {
	char		*id;		/* quoted when needed */
	struct ar_res	*res;
	size_t		 nres;
	size_t		 capres;
};

/* RFC 2045 tspecials, which with SPACE and CTLs end a token. */
static int
is_tspecial(unsigned char c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && !is_tspecial(c);
}

static int
is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* What may stand bare as a pvalue: a token, a dot-atom, or
 * [local-part]@domain (header.i=@example.com, smtp.mailfrom=a@b). */
static int
is_bare_value(const char *s)
{
	size_t n = strlen(s);
	const char *at;

	if (is_token(s, n) || msg_is_dot_atom(s, n))
		return 1;
	if ((at = strrchr(s, '@')) == NULL)
		return 0;
	if (at != s && !msg_is_dot_atom(s, (size_t)(at - s)))
		return 0;
	return msg_is_dot_atom(at + 1, strlen(at + 1));
}

/* RFC 8601 Keyword, a little wider: what methods, results, ptypes and
 * property names look like.  Our callers pass constants, so anything else
 * is refused rather than quoted. */
static int
is_keyword(const char *s)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > AR_MAX_KEYWORD)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* prefix + quoted-string of s.  CR, LF and other controls cannot be
 * carried in a quoted-string (and would let a value inject header fields),
 * so they become '?'; tab becomes a space. */
static char *
quote(const char *prefix, const char *s)
{
	size_t plen = strlen(prefix), n = strnlen(s, AR_MAX_VALUE), i, j;
	unsigned char c;
	char *q;

	if ((q = malloc(plen + 2 * n + 3)) == NULL)
		return NULL;
	memcpy(q, prefix, plen);
	j = plen;
	q[j++] = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			q[j++] = '\\';
		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7F)
			c = '?';
		q[j++] = (char)c;
	}
	q[j++] = '"';
	q[j] = '\0';
	return q;
}

static char *
join(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s;

	if ((s = malloc(la + ls + lb + 1)) == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, sep, ls);
	memcpy(s + la + ls, b, lb + 1);
	return s;
}

/* "prefix" followed by s bare when it may be, else quoted. */
static char *
pvalue(const char *prefix, const char *s)
{
	if (strnlen(s, AR_MAX_VALUE + 1) <= AR_MAX_VALUE && is_bare_value(s))
		return join(prefix, "", s);
	return quote(prefix, s);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static char default_id[HOST_NAME_MAX + 1];

static void
default_id_init(void)
{
	if (gethostname(default_id, sizeof(default_id)) == -1 ||
	    default_id[0] == '\0')
		strcpy(default_id, "localhost");
	default_id[sizeof(default_id) - 1] = '\0';
}

const char *
authres_default_id(void)
{
	pthread_once(&default_once, default_id_init);
	return default_id;
}

struct authres *
authres_new(const char *authserv_id)
{
	struct authres *ar;
	const char *id;

	if ((ar = calloc(1, sizeof(*ar))) == NULL)
		return NULL;
	id = authserv_id ? authserv_id : authres_default_id();
	/* authserv-id is an RFC 2045 value: token or quoted-string. */
	if (strnlen(id, AR_MAX_VALUE + 1) <= AR_MAX_VALUE &&
	    is_token(id, strlen(id)))
		ar->id = strdup(id);
	else
		ar->id = quote("", id);
	if (ar->id == NULL) {
		free(ar);
		return NULL;
	}
	return ar;
}

static void
res_clear(struct ar_res *r)
{
	size_t i;

	free(r->method);
	free(r->reason);
	for (i = 0; i < r->nprops; i++) {
		free(r->props[i].name);
		free(r->props[i].value);
	}
}

void
authres_free(struct authres *ar)
{
	size_t i;

	if (ar == NULL)
		return;
	for (i = 0; i < ar->nres; i++)
		res_clear(&ar->res[i]);
	free(ar->res);
	free(ar->id);
	free(ar);
}

const char *
authres_id(const struct authres *ar)
{
	return ar->id;
}

int
authres_add(struct authres *ar, const char *method, const char *result,
    const char *reason)
{
	struct ar_res *r;
	size_t cap;

	if (ar == NULL || !is_keyword(method) || !is_keyword(result) ||
	    ar->nres >= AR_MAX_RES)
		return -1;
	if (ar->nres == ar->capres) {
		cap = ar->capres ? ar->capres * 2 : 4;
		if ((r = realloc(ar->res, cap * sizeof(*r))) == NULL)
			return -1;
		ar->res = r;
		ar->capres = cap;
	}
	r = &ar->res[ar->nres];
	memset(r, 0, sizeof(*r));
	if ((r->method = join(method, "=", result)) == NULL)
		return -1;
	/* reason is always quoted: it is free text for people. */
	if (reason != NULL && (r->reason = quote("reason=", reason)) == NULL) {
		free(r->method);
		return -1;
	}
	ar->nres++;
	return 0;
}

int
authres_prop(struct authres *ar, const char *ptype, const char *property,
    const char *value)
{
	struct ar_res *r;
	struct ar_prop *p;
	char *name;

	if (ar == NULL || ar->nres == 0 || !is_keyword(ptype) ||
	    !is_keyword(property) || value == NULL)
		return -1;
	r = &ar->res[ar->nres - 1];
	if (r->nprops >= AR_MAX_PROPS)
		return -1;
	p = &r->props[r->nprops];
	if ((name = join(ptype, ".", property)) == NULL)
		return -1;
	p->name = name;
	/* p->name is "ptype.property"; the value carries its own "=". */
	if ((p->value = pvalue("=", value)) == NULL) {
		free(name);
		return -1;
	}
	r->nprops++;
	return 0;
}

struct fold {
	struct out_buf b;
	size_t	 col;		/* columns on the current line */
	const char *eol;
};

static void
fold_newline(struct fold *f)
{
	out_buf_add(&f->b, f->eol, strlen(f->eol));
	out_buf_add(&f->b, "\t", 1);
	f->col = 8;
}

static void
fold_add(struct fold *f, const char *s)
{
	size_t n = strlen(s);

	out_buf_add(&f->b, s, n);
	f->col += n;
}

/* Append " word" (plus trailer, which must stay on the same line),
 * folding first when the line would pass AR_FOLD columns. */
static void
fold_word(struct fold *f, const char *a, const char *b, const char *trailer)
{
	size_t n = strlen(a) + strlen(b) + strlen(trailer);

	if (f->col + 1 + n > AR_FOLD && f->col > 8)
		fold_newline(f);
	else
		fold_add(f, " ");
	fold_add(f, a);
	fold_add(f, b);
	fold_add(f, trailer);
}

char *
authres_format(const struct authres *ar, const char *eol)
{
	struct fold f = { 0 };
	const struct ar_res *r;
	const char *last;
	size_t i, j, nwords;

	if (ar == NULL)
		return NULL;
	f.eol = eol ? eol : "\r\n";
	fold_add(&f, "Authentication-Results:");
	if (ar->nres == 0) {
		fold_word(&f, ar->id, "", ";");
		fold_word(&f, "none", "", "");
	} else if (ar->nres == 1) {
		fold_word(&f, ar->id, "", ";");
	} else {
		fold_word(&f, ar->id, "", ";");
		f.col = AR_FOLD;	/* each resinfo on its own line */
	}
	for (i = 0; i < ar->nres; i++) {
		r = &ar->res[i];
		/* The ';' introducing the next resinfo ends this one's line. */
		last = i + 1 < ar->nres ? ";" : "";
		nwords = 1 + (r->reason != NULL) + r->nprops;
		fold_word(&f, r->method, "", nwords == 1 ? last : "");
		if (r->reason != NULL)
			fold_word(&f, r->reason, "", nwords == 2 ? last : "");
		for (j = 0; j < r->nprops; j++)
			fold_word(&f, r->props[j].name, r->props[j].value,
			    j + 1 == r->nprops ? last : "");
		if (i + 1 < ar->nres)
			f.col = AR_FOLD;
	}
	out_buf_add(&f.b, f.eol, strlen(f.eol));
	if (f.b.oom) {
		free(f.b.p);
		return NULL;
	}
	return f.b.p;
}

/*
 * Recognizing the authserv-id of a field someone else wrote: it is hostile
 * input, so every step is bounded by len and tolerates any byte.
 */

struct scan {
	const unsigned char	*p;
	const unsigned char	*end;
};

/* Skip a comment starting at '(' with nesting and quoted-pairs; an
 * unterminated one runs to the end. */
static void
skip_comment(struct scan *s)
{
	size_t depth = 0;

	while (s->p < s->end) {
		switch (*s->p++) {
		case '(':
			depth++;
			break;
		case ')':
			if (--depth == 0)
				return;
			break;
		case '\\':
			if (s->p < s->end)
				s->p++;
			break;
		}
	}
}

/* CFWS: whitespace, folds (CR/LF) and comments. */
static void
skip_cfws(struct scan *s)
{
	while (s->p < s->end) {
		if (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' ||
		    *s->p == '\n')
			s->p++;
		else if (*s->p == '(')
			skip_comment(s);
		else
			return;
	}
}

/* ASCII case folding, whatever the locale. */
static unsigned char
lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
same_ci(const unsigned char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lc(a[i]) != lc((unsigned char)b[i]))
			return 0;
	return 1;
}

/* Compare the quoted-string at s->p (at '"') with id, unfolding and
 * undoing quoted-pairs on the way. */
static int
quoted_matches(struct scan *s, const char *id, size_t idlen)
{
	size_t k = 0;
	unsigned char c;
	int ok = 1;

	s->p++;
	while (s->p < s->end) {
		c = *s->p++;
		if (c == '"')
			return ok && k == idlen;
		if (c == '\r' || c == '\n')
			continue;	/* unfolding */
		if (c == '\\') {
			if (s->p >= s->end)
				break;
			c = *s->p++;
		}
		if (k >= idlen || lc(c) != lc((unsigned char)id[k]))
			ok = 0;
		else
			k++;
	}
	return 0;	/* unterminated */
}

/* RFC 6532 allows UTF-8 in field values: let 8-bit bytes be part of a
 * token so that an internationalized id compares too. */
static int
is_id_char(unsigned char c)
{
	return is_token_char(c) || c >= 0x80;
}

int
authres_claims(const char *value, size_t len, const char *authserv_id)
{
	struct scan s;
	const unsigned char *tok;
	size_t idlen;

	if (value == NULL || authserv_id == NULL ||
	    (idlen = strlen(authserv_id)) == 0)
		return 0;
	s.p = (const unsigned char *)value;
	s.end = s.p + len;
	skip_cfws(&s);
	if (s.p >= s.end)
		return 0;
	if (*s.p == '"')
		return quoted_matches(&s, authserv_id, idlen);
	tok = s.p;
	while (s.p < s.end && is_id_char(*s.p))
		s.p++;
	return (size_t)(s.p - tok) == idlen &&
	    same_ci(tok, authserv_id, idlen);
}

/*
 * Parsing a whole field (RFC 8601 section 2.2).  The value is hostile
 * input: every step is bounded by its length, nesting and counts are
 * limited, and anything off the grammar is refused with a reason.
 */

#define AR_PARSE_MAX_LEN	65536	/* a field longer than this is abuse */
#define AR_MAX_NEST		32	/* comment nesting */

struct parser {
	const unsigned char	*p;
	const unsigned char	*end;
	const char		*why;
};

static int
perr(struct parser *ps, const char *why)
{
	if (ps->why == NULL)
		ps->why = why;
	return -1;
}

/* A comment: nested, with quoted-pairs; unterminated or too deep is an
 * error here (authres_claims is laxer: it only looks for an id). */
static int
parse_comment(struct parser *ps)
{
	size_t depth = 0;
	unsigned char c;

	while (ps->p < ps->end) {
		c = *ps->p++;
		if (c == '(') {
			if (++depth > AR_MAX_NEST)
				return perr(ps, "comments nested too deep");
		} else if (c == ')') {
			if (--depth == 0)
				return 0;
		} else if (c == '\\') {
			if (ps->p >= ps->end)
				break;
			ps->p++;
		} else if (c == '\0') {
			return perr(ps, "NUL byte in a comment");
		}
	}
	return perr(ps, "unterminated comment");
}

static int
parse_cfws(struct parser *ps)
{
	while (ps->p < ps->end) {
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' ||
		    *ps->p == '\n')
			ps->p++;
		else if (*ps->p == '(') {
			if (parse_comment(ps) == -1)
				return -1;
		} else
			break;
	}
	return 0;
}

static int
at(const struct parser *ps, unsigned char c)
{
	return ps->p < ps->end && *ps->p == c;
}

static int
is_kw_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* RFC 5321 Keyword (a little wider: '_' too), lower-cased, malloc'd. */
static char *
parse_keyword(struct parser *ps, const char *what)
{
	const unsigned char *s = ps->p;
	size_t n, i;
	char *k;

	while (ps->p < ps->end && is_kw_char(*ps->p))
		ps->p++;
	n = (size_t)(ps->p - s);
	if (n == 0) {
		perr(ps, what);
		return NULL;
	}
	if (n > AR_MAX_KEYWORD) {
		perr(ps, "keyword too long");
		return NULL;
	}
	if ((k = malloc(n + 1)) == NULL) {
		perr(ps, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		k[i] = (char)lc(s[i]);
	k[n] = '\0';
	return k;
}

/* A quoted-string at '"', unquoted and unfolded, malloc'd. */
static char *
parse_quoted(struct parser *ps)
{
	const unsigned char *s;
	size_t n = 0;
	unsigned char c;
	char *q;

	s = ++ps->p;
	/* first pass: find the end and the unquoted length */
	while (ps->p < ps->end && *ps->p != '"') {
		c = *ps->p++;
		if (c == '\0') {
			perr(ps, "NUL byte in a quoted-string");
			return NULL;
		}
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\') {
			if (ps->p >= ps->end)
				break;
			if (*ps->p == '\0' || *ps->p == '\r' ||
			    *ps->p == '\n') {
				/* RFC 5322 quoted-pair: VCHAR or WSP only;
				 * a line break in a value would let it
				 * inject header lines wherever it is copied */
				perr(ps, "NUL, CR or LF quoted in a "
				    "quoted-string");
				return NULL;
			}
			ps->p++;
		}
		n++;
	}
	if (ps->p >= ps->end) {
		perr(ps, "unterminated quoted-string");
		return NULL;
	}
	if (n > AR_MAX_VALUE) {
		perr(ps, "value too long");
		return NULL;
	}
	if ((q = malloc(n + 1)) == NULL) {
		perr(ps, "out of memory");
		return NULL;
	}
	n = 0;
	while (s < ps->p) {
		c = *s++;
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\')
			c = *s++;
		q[n++] = (char)c;
	}
	q[n] = '\0';
	ps->p++;	/* the closing quote */
	return q;
}

/* What a bare value may hold: RFC 2045 token characters, RFC 5322 atext
 * (base64 signatures in header.b), '.', '@', and UTF-8 (RFC 6532). */
static int
is_bare_char(unsigned char c)
{
	return is_token_char(c) || msg_is_atext(c) || c == '.' || c == '@' ||
	    c >= 0x80;
}

/* A token, dot-atom, or [local-part]@domain, checked for what it is. */
static int
bare_ok(const unsigned char *s, size_t n)
{
	size_t i, ats = 0;

	if (is_token((const char *)s, n))
		return 1;
	for (i = 0; i < n; i++) {
		if (s[i] == '@')
			ats++;
		else if (!msg_is_atext(s[i]) && s[i] != '.' && s[i] < 0x80)
			return 0;
	}
	return ats <= 1 && s[n - 1] != '@' && s[n - 1] != '.';
}

/* value (token / quoted-string), or an addr-spec, malloc'd.  A quoted
 * local-part keeps its quotes ("a b"@example.com). */
static char *
parse_value(struct parser *ps, int addr_ok)
{
	const unsigned char *s;
	char *v, *q;
	size_t n, qn;

	if (at(ps, '"')) {
		s = ps->p;
		if ((q = parse_quoted(ps)) == NULL)
			return NULL;
		if (!addr_ok || !at(ps, '@'))
			return q;
		free(q);
		qn = (size_t)(ps->p - s);
		ps->p++;
		while (ps->p < ps->end && is_bare_char(*ps->p) &&
		    *ps->p != '@')
			ps->p++;
		n = (size_t)(ps->p - s);
		if (n == qn + 1 || n > AR_MAX_VALUE ||
		    !bare_ok(s + qn + 1, n - qn - 1) ||
		    memchr(s, '\r', qn) != NULL ||
		    memchr(s, '\n', qn) != NULL) {
			perr(ps, "malformed address value");
			return NULL;
		}
	} else {
		s = ps->p;
		while (ps->p < ps->end && (addr_ok ? is_bare_char(*ps->p) :
		    is_token_char(*ps->p) || *ps->p >= 0x80))
			ps->p++;
		n = (size_t)(ps->p - s);
		if (n == 0) {
			perr(ps, "value expected");
			return NULL;
		}
		if (n > AR_MAX_VALUE) {
			perr(ps, "value too long");
			return NULL;
		}
		if (addr_ok && !bare_ok(s, n)) {
			perr(ps, "malformed value");
			return NULL;
		}
	}
	if ((v = malloc(n + 1)) == NULL) {
		perr(ps, "out of memory");
		return NULL;
	}
	memcpy(v, s, n);
	v[n] = '\0';
	return v;
}

static int
skip_digits(struct parser *ps)
{
	const unsigned char *s = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	return ps->p - s > 0 && ps->p - s <= 9;
}

static void
result_clear(struct authres_result *r)
{
	size_t i;

	free(r->method);
	free(r->result);
	free(r->reason);
	for (i = 0; i < r->nprops; i++) {
		free(r->props[i].ptype);
		free(r->props[i].property);
		free(r->props[i].value);
	}
	free(r->props);
	memset(r, 0, sizeof(*r));
}

void
authres_parsed_free(struct authres_parsed *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		result_clear(&p->r[i]);
	free(p->r);
	free(p->authserv_id);
	memset(p, 0, sizeof(*p));
}

/* propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue */
static int
parse_prop(struct parser *ps, struct authres_result *r)
{
	struct authres_prop *pp, prop = { 0 };

	if (r->nprops >= AR_MAX_PROPS)
		return perr(ps, "too many properties");
	if ((prop.ptype = parse_keyword(ps, "property type expected")) ==
	    NULL)
		goto fail;
	if (parse_cfws(ps) == -1)
		goto fail;
	if (!at(ps, '.')) {
		perr(ps, "'.' expected after the property type");
		goto fail;
	}
	ps->p++;
	if (parse_cfws(ps) == -1 ||
	    (prop.property = parse_keyword(ps, "property name expected")) ==
	    NULL || parse_cfws(ps) == -1)
		goto fail;
	if (!at(ps, '=')) {
		perr(ps, "'=' expected after the property");
		goto fail;
	}
	ps->p++;
	if (parse_cfws(ps) == -1 ||
	    (prop.value = parse_value(ps, 1)) == NULL)
		goto fail;
	if ((pp = realloc(r->props, (r->nprops + 1) * sizeof(*pp))) == NULL) {
		perr(ps, "out of memory");
		goto fail;
	}
	r->props = pp;
	r->props[r->nprops++] = prop;
	return 0;
fail:
	free(prop.ptype);
	free(prop.property);
	free(prop.value);
	return -1;
}

/* After ";": methodspec [reasonspec] *propspec, up to the next ";". */
static int
parse_resinfo(struct parser *ps, struct authres_result *r)
{
	const unsigned char *mark;
	char *kw;

	if ((r->method = parse_keyword(ps, "method expected")) == NULL ||
	    parse_cfws(ps) == -1)
		return -1;
	if (at(ps, '/')) {	/* method-version */
		ps->p++;
		if (parse_cfws(ps) == -1)
			return -1;
		if (!skip_digits(ps))
			return perr(ps, "method version expected");
		if (parse_cfws(ps) == -1)
			return -1;
	}
	if (!at(ps, '='))
		return perr(ps, "'=' expected after the method");
	ps->p++;
	if (parse_cfws(ps) == -1 ||
	    (r->result = parse_keyword(ps, "result expected")) == NULL)
		return -1;
	for (;;) {
		mark = ps->p;
		if (parse_cfws(ps) == -1)
			return -1;
		if (ps->p >= ps->end || *ps->p == ';')
			return 0;
		if (ps->p == mark)
			return perr(ps, "garbage after a result");
		/* "reason" = value, or ptype.property=value */
		mark = ps->p;
		if ((kw = parse_keyword(ps, "property expected")) == NULL)
			return -1;
		if (parse_cfws(ps) == -1) {
			free(kw);
			return -1;
		}
		if (strcmp(kw, "reason") == 0 && at(ps, '=')) {
			free(kw);
			if (r->reason != NULL || r->nprops > 0)
				return perr(ps, "misplaced reason");
			ps->p++;
			if (parse_cfws(ps) == -1 ||
			    (r->reason = parse_value(ps, 0)) == NULL)
				return -1;
			continue;
		}
		free(kw);
		ps->p = mark;
		if (parse_prop(ps, r) == -1)
			return -1;
	}
}

static int
parse_payload(struct parser *ps, struct authres_parsed *out)
{
	struct authres_result *nr;
	const unsigned char *mark;
	int first = 1;

	if (parse_cfws(ps) == -1)
		return -1;
	if (ps->p >= ps->end)
		return perr(ps, "empty field");
	if ((out->authserv_id = parse_value(ps, 0)) == NULL)
		return -1;
	if (out->authserv_id[0] == '\0')
		return perr(ps, "empty authserv-id");
	mark = ps->p;
	if (parse_cfws(ps) == -1)
		return -1;
	if (ps->p > mark && ps->p < ps->end && *ps->p >= '0' &&
	    *ps->p <= '9') {	/* authres-version */
		if (!skip_digits(ps))
			return perr(ps, "bad version");
		if (parse_cfws(ps) == -1)
			return -1;
	}
	for (;;) {
		if (ps->p >= ps->end)
			return first ? perr(ps, "';' expected after the "
			    "authserv-id") : 0;
		if (*ps->p != ';')
			return perr(ps, "';' expected");
		ps->p++;
		if (parse_cfws(ps) == -1)
			return -1;
		if (first && ps->end - ps->p >= 4 &&
		    same_ci(ps->p, "none", 4) &&
		    (ps->end - ps->p == 4 || !is_kw_char(ps->p[4]))) {
			mark = ps->p;
			ps->p += 4;
			if (parse_cfws(ps) == -1)
				return -1;
			if (ps->p >= ps->end)
				return 0;	/* no-result */
			if (*ps->p != '=')
				return perr(ps, "garbage after none");
			ps->p = mark;
		}
		first = 0;
		if (out->n >= AR_MAX_RES)
			return perr(ps, "too many results");
		if ((nr = realloc(out->r, (out->n + 1) * sizeof(*nr))) ==
		    NULL)
			return perr(ps, "out of memory");
		out->r = nr;
		memset(&out->r[out->n], 0, sizeof(*nr));
		out->n++;
		if (parse_resinfo(ps, &out->r[out->n - 1]) == -1)
			return -1;
	}
}

int
authres_parse(const char *value, size_t len, struct authres_parsed *out,
    const char **why)
{
	struct parser ps;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (out == NULL) {
		*why = "no output";
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (value == NULL) {
		*why = "empty field";
		return -1;
	}
	if (len > AR_PARSE_MAX_LEN) {
		*why = "field too long";
		return -1;
	}
	ps.p = (const unsigned char *)value;
	ps.end = ps.p + len;
	ps.why = NULL;
	if (parse_payload(&ps, out) == -1) {
		*why = ps.why ? ps.why : "malformed field";
		authres_parsed_free(out);
		return -1;
	}
	return 0;
}
