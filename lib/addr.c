/* addr: RFC 5322 address lists; see addr.h.
 *
 * Two passes: the unfolded value is cut into tokens (atoms, quoted
 * strings, domain literals, specials; comments and white space dropped),
 * then the tokens are cut into mailbox pieces at ',' and ';' outside
 * angle brackets, and at ':' (the group's display name ends there).
 * Atoms keep their dots ("a.b" is one atom, " . " one more), so that an
 * addr-spec is its tokens concatenated and the dot structure is checked
 * on them only under ADDR_STRICT.  The hard errors and the choice of what
 * is a mailbox are those lib/dmarc_from.c always had: DMARC's nofrom and
 * permerror verdicts depend on them.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "msg.h"
#include "out.h"

enum tok_kind { T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };
struct tok {
	enum tok_kind kind;
	const char *p;
	size_t n;
};

struct walk {
	struct tok *t;
	size_t n, cap;
	char *spec;		/* one addr-spec at a time; fits: it is tokens
				   of the value */
	unsigned flags;
	addr_walk_fn *fn;
	void *arg;
};

static int
is_special(int c)
{
	return c == '<' || c == '>' || c == ',' || c == ':' || c == ';' ||
	    c == '@';
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
push(struct walk *w, enum tok_kind k, const char *p, size_t n,
    const char **why)
{
	struct tok *t;
	size_t cap;

	if (w->n == ADDR_MAX_TOKENS) {
		*why = "field too complex";
		return -1;
	}
	if (w->n == w->cap) {
		cap = w->cap ? w->cap * 2 : 64;
		if ((t = realloc(w->t, cap * sizeof(*t))) == NULL) {
			*why = "out of memory";
			return -1;
		}
		w->t = t;
		w->cap = cap;
	}
	w->t[w->n].kind = k;
	w->t[w->n].p = p;
	w->t[w->n].n = n;
	w->n++;
	return 0;
}

/* Index just past the closing delimiter, or 0 when unterminated. */
static size_t
skip_quoted(const char *s, size_t len, size_t i, char close)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == close)
			return i + 1;
	}
	return 0;
}

/* Index just past the comment at s[i], or 0 with *why. */
static size_t
skip_comment(const char *s, size_t len, size_t i, const char **why)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(') {
			if (++depth > ADDR_COMMENT_DEPTH) {
				*why = "comment nested too deeply";
				return 0;
			}
		} else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	*why = "unterminated comment";
	return 0;
}

static size_t
atom_end(const char *s, size_t len, size_t j)
{
	while (j < len && !is_space((unsigned char)s[j]) &&
	    !is_special((unsigned char)s[j]) && s[j] != '(' &&
	    s[j] != '"' && s[j] != '[')
		j++;
	return j;
}

static int
tokenize(const char *s, size_t len, struct walk *w, const char **why)
{
	size_t i = 0, j;
	unsigned char c;
	int q;

	while (i < len) {
		c = (unsigned char)s[i];
		if (is_space(c)) {
			i++;
			continue;
		}
		if (c == '(') {
			if ((i = skip_comment(s, len, i, why)) == 0)
				return -1;
			continue;
		}
		if (c == '"' || c == '[') {
			q = c == '"';
			if ((j = skip_quoted(s, len, i, q ? '"' : ']')) == 0) {
				*why = q ? "unterminated quoted string" :
				    "unterminated domain literal";
				return -1;
			}
		} else if (is_special(c))
			j = i + 1;
		else
			j = atom_end(s, len, i);
		if (push(w, c == '"' ? T_QSTR : c == '[' ? T_DLIT :
		    is_special(c) ? T_SPECIAL : T_ATOM, s + i, j - i,
		    why) == -1)
			return -1;
		i = j;
	}
	return 0;
}

static int
is_sp(const struct tok *t, char c)
{
	return t->kind == T_SPECIAL && t->p[0] == c;
}

static int
strict(const struct walk *w, const char *what, const char **why)
{
	if (!(w->flags & ADDR_STRICT))
		return 0;
	*why = what;
	return -1;
}

/* 1 when t[a..b) are words joined by single dots: atoms (which carry
 * their dots) and, when qstr, quoted strings.  An atom's octets are atext
 * or non-ASCII (UTF-8 is checked on the whole addr-spec). */
static int
dotted(const struct tok *t, size_t a, size_t b, int qstr)
{
	enum { NONE, WORD, DOT } prev = NONE;
	size_t i, k;
	unsigned char c;

	for (i = a; i < b; i++) {
		if (t[i].kind == T_QSTR && qstr) {
			if (prev == WORD)
				return 0;
			prev = WORD;
			continue;
		}
		if (t[i].kind != T_ATOM)
			return 0;
		if (prev == WORD && t[i].p[0] != '.')
			return 0;	/* "a b": two words, no dot */
		for (k = 0; k < t[i].n; k++) {
			c = (unsigned char)t[i].p[k];
			if (c == '.') {
				if (prev != WORD)
					return 0;
				prev = DOT;
			} else if (c >= 0x80 || msg_is_atext(c))
				prev = WORD;
			else
				return 0;
		}
	}
	return prev == WORD;
}

/* A group's display name t[a..b) must be a phrase: it is dropped, and
 * anything else in it may be an address the writer meant. */
static int
group_name_ok(const struct tok *t, size_t a, size_t b)
{
	size_t i;

	if (a == b)
		return 0;
	for (i = a; i < b; i++)
		if (t[i].kind != T_ATOM && t[i].kind != T_QSTR)
			return 0;
	return 1;
}

/* A domain of an obs-route: dotted atoms or one domain literal. */
static int
route_dom_ok(const struct tok *t, size_t a, size_t b)
{
	if (b == a + 1 && t[a].kind == T_DLIT)
		return 1;
	return b > a && dotted(t, a, b, 0);
}

/* obs-route t[a..b), b at its ':': *("," / "@" domain) with an '@'. */
static int
route_ok(const struct tok *t, size_t a, size_t b)
{
	size_t i, d = a;
	int ats = 0, in_dom = 0;

	for (i = a; i < b; i++) {
		if (!is_sp(&t[i], ',') && !is_sp(&t[i], '@')) {
			if (!in_dom)
				return 0;
			continue;
		}
		if (in_dom && !route_dom_ok(t, d, i))
			return 0;
		in_dom = is_sp(&t[i], '@');
		ats += in_dom;
		d = i + 1;
	}
	return ats > 0 && (!in_dom || route_dom_ok(t, d, b));
}

static int
spec_chars_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 0;
	return 1;
}

static size_t
cat(char *d, const struct tok *t, size_t a, size_t b)
{
	size_t i, n = 0;

	for (i = a; i < b; i++) {
		memcpy(d + n, t[i].p, t[i].n);
		n += t[i].n;
	}
	return n;
}

/* ADDR_STRICT's look at the addr-spec t[a..b) with its last '@' at t[at]
 * and spec already built. */
static int
spec_strict(const struct walk *w, size_t a, size_t at, size_t b,
    const struct addr_mbox *mb, const char **why)
{
	const struct tok *t = w->t;
	size_t i;

	for (i = a; i < at; i++)
		if (is_sp(&t[i], '@'))
			return strict(w, "several '@' in one address", why);
	if (a == at)
		return strict(w, "empty local part", why);
	if (!dotted(t, a, at, 1))
		return strict(w, "malformed local part", why);
	if (mb->literal ? at + 2 != b : !dotted(t, at + 1, b, 0))
		return strict(w, "malformed domain", why);
	if (!spec_chars_ok(mb->spec, mb->local_len + 1 + mb->domain_len))
		return strict(w, "control character in address", why);
	if (!out_utf8_valid(mb->spec, mb->local_len + 1 + mb->domain_len))
		return strict(w, "invalid UTF-8 in address", why);
	return 0;
}

/* The addr-spec t[a..b): the local part, then the domain after the last
 * '@'.  The hard errors first, in the order DMARC has always reported
 * them; then fn.  0, 1 (fn stopped), -1 with *why. */
static int
addr_spec(struct walk *w, size_t a, size_t b, const char **why)
{
	const struct tok *t = w->t;
	struct addr_mbox mb;
	size_t i, at = b, n = 0;

	memset(&mb, 0, sizeof(mb));
	for (i = a; i < b; i++)
		if (is_sp(&t[i], '@'))
			at = i;
	if (at == b) {
		*why = "address without a domain";
		return -1;
	}
	if (at + 1 == b) {
		*why = "empty domain";
		return -1;
	}
	for (i = at + 1; i < b && !mb.literal; i++) {
		if (t[i].kind == T_DLIT)
			mb.literal = 1;
		else if (t[i].kind != T_ATOM) {
			*why = "malformed domain";
			return -1;
		}
		n += t[i].n;
	}
	if (!mb.literal && n > ADDR_MAX_DOMAIN) {
		*why = "domain too long";
		return -1;
	}
	mb.local_len = cat(w->spec, t, a, at);
	w->spec[mb.local_len] = '@';
	mb.domain = w->spec + mb.local_len + 1;
	mb.domain_len = cat(w->spec + mb.local_len + 1, t, at + 1, b);
	w->spec[mb.local_len + 1 + mb.domain_len] = '\0';
	mb.spec = w->spec;
	if (spec_strict(w, a, at, b, &mb, why) == -1)
		return -1;
	return w->fn(w->arg, &mb, why);
}

/* One mailbox candidate t[a..b): 0 when it is no mailbox (empty, "<>",
 * a stray piece of display name) or fn said go on; 1 when fn stopped;
 * -1 with *why. */
static int
mailbox(struct walk *w, size_t a, size_t b, const char **why)
{
	const struct tok *t = w->t;
	size_t i, lt = b, gt = b, has_at = 0;

	for (i = a; i < b; i++) {
		if (is_sp(&t[i], '<')) {
			if (lt != b) {
				*why = "several angle addresses in one mailbox";
				return -1;
			}
			lt = i;
		} else if (is_sp(&t[i], '>') && gt == b)
			gt = i;
		else if (is_sp(&t[i], '@'))
			has_at = 1;
	}
	if (lt == b) {
		if (gt != b) {
			*why = "stray '>'";
			return -1;
		}
		return has_at ? addr_spec(w, a, b, why) : 0;
	}
	if (gt == b || gt < lt) {
		*why = "unterminated angle address";
		return -1;
	}
	if (gt + 1 != b && strict(w, "text after angle address", why) == -1)
		return -1;
	b = gt;
	a = lt + 1;
	for (i = a; i < b; i++)		/* obs-route "@a,@b:" */
		if (is_sp(&t[i], ':'))
			a = i + 1;
	if (a != lt + 1 && !route_ok(t, lt + 1, a - 1) &&
	    strict(w, "malformed route", why) == -1)
		return -1;
	if (a == b)
		return 0;	/* "<>" */
	return addr_spec(w, a, b, why);
}

/* Cut the tokens into mailbox pieces. */
static int
pieces(struct walk *w, const char **why)
{
	const struct tok *t;
	size_t i, start = 0;
	int angle = 0, rc;

	for (i = 0; i <= w->n; i++) {
		t = i < w->n ? &w->t[i] : NULL;
		if (t != NULL && is_sp(t, '<'))
			angle = 1;
		else if (t != NULL && is_sp(t, '>'))
			angle = 0;
		if (t != NULL && angle)
			continue;
		if (t != NULL && is_sp(t, ':')) {
			if (!group_name_ok(w->t, start, i) &&
			    strict(w, "malformed group name", why) == -1)
				return -1;
			start = i + 1;	/* group: its display name is gone */
			continue;
		}
		if (t != NULL && !is_sp(t, ',') && !is_sp(t, ';'))
			continue;
		rc = mailbox(w, start, i, why);
		start = i + 1;
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
addr_walk(const char *value, size_t len, unsigned flags, addr_walk_fn *fn,
    void *arg, const char **why)
{
	struct walk w;
	char *v;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.flags = flags;
	w.fn = fn;
	w.arg = arg;
	if ((v = msg_unfold(value, len, &len)) == NULL ||
	    (w.spec = malloc(len + 1)) == NULL)
		*why = "out of memory";
	else if (tokenize(v, len, &w, why) == 0)
		rc = pieces(&w, why);
	free(w.spec);
	free(w.t);
	free(v);
	return rc;
}

/* ---- lists ---- */

static int
list_add(void *arg, const struct addr_mbox *mb, const char **why)
{
	struct addr_list *l = arg;
	char **v;
	size_t cap;

	if (l->n + 1 >= l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			*why = "out of memory";
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(mb->spec)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	l->v[++l->n] = NULL;
	return 0;
}

static void
list_cut(struct addr_list *l, size_t n)
{
	while (l->n > n)
		free(l->v[--l->n]);
	if (l->v != NULL)
		l->v[n] = NULL;
}

int
addr_list_parse(const char *value, size_t len, struct addr_list *l,
    const char **why)
{
	size_t n = l->n;

	if (addr_walk(value, len, ADDR_STRICT, list_add, l, why) == 0)
		return 0;
	list_cut(l, n);
	return -1;
}

int
addr_list_from_fields(const struct msg *m, const char *const *names,
    size_t n, struct addr_list *l, const char **why)
{
	const struct msg_field *f;
	size_t i, j, had = l->n;

	for (i = 0; i < m->nfields; i++) {
		f = &m->fields[i];
		for (j = 0; j < n && !msg_field_is(f, names[j]); j++)
			;
		if (j < n && addr_list_parse(f->value, f->value_len, l,
		    why) == -1) {
			list_cut(l, had);
			return -1;
		}
	}
	return 0;
}

void
addr_list_free(struct addr_list *l)
{
	list_cut(l, 0);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
