/* dmarc_from: the RFC5322.From domain (RFC 7489 6.6.1, RFC 9989 5.3.1).
 *
 * The field is read as RFC 5322 address-list syntax, obsolete forms
 * included: display names (atoms, quoted strings, encoded-words left as
 * they are), comments (nested), angle addresses with or without an
 * obs-route, groups, CFWS inside addresses ("a @ example . com").  What
 * counts is the number of mailboxes and the domain of the one mailbox:
 * several From fields or several mailboxes are nofrom, as DMARC says.
 * A ','-separated piece with neither '@' nor '<' ("Doe, John <j@x>") is a
 * stray piece of display name, not a mailbox.
 */
#include <stdlib.h>
#include <string.h>

#include "dmarc_int.h"
#include "idn.h"

#define FROM_MAX_TOKENS	4096
#define COMMENT_DEPTH	32

enum tok_kind { T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };
struct tok {
	enum tok_kind kind;
	const char *p;
	size_t n;
};
struct toks {
	struct tok t[FROM_MAX_TOKENS];
	size_t n;
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
push(struct toks *ts, enum tok_kind k, const char *p, size_t n)
{
	if (ts->n == FROM_MAX_TOKENS)
		return -1;
	ts->t[ts->n].kind = k;
	ts->t[ts->n].p = p;
	ts->t[ts->n].n = n;
	ts->n++;
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

static size_t
skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(') {
			if (++depth > COMMENT_DEPTH)
				return 0;
		} else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return 0;
}

static int
tokenize(const char *s, size_t len, struct toks *ts, const char **why)
{
	size_t i = 0, j;

	ts->n = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (is_space(c)) {
			i++;
			continue;
		}
		if (c == '(') {
			if ((j = skip_comment(s, len, i)) == 0)
				goto bad;
			i = j;
			continue;
		}
		if (c == '"' || c == '[') {
			if ((j = skip_quoted(s, len, i, c == '"' ? '"' : ']'))
			    == 0)
				goto bad;
			if (push(ts, c == '"' ? T_QSTR : T_DLIT, s + i,
			    j - i) == -1)
				goto many;
			i = j;
			continue;
		}
		if (is_special(c)) {
			if (push(ts, T_SPECIAL, s + i, 1) == -1)
				goto many;
			i++;
			continue;
		}
		j = i;
		while (j < len && !is_space((unsigned char)s[j]) &&
		    !is_special((unsigned char)s[j]) && s[j] != '(' &&
		    s[j] != '"' && s[j] != '[')
			j++;
		if (push(ts, T_ATOM, s + i, j - i) == -1)
			goto many;
		i = j;
	}
	return 0;
bad:
	*why = "unterminated quoted string, comment or domain literal in From";
	return -1;
many:
	*why = "From field too complex";
	return -1;
}

static int
is_sp(const struct tok *t, char c)
{
	return t->kind == T_SPECIAL && t->p[0] == c;
}

/* The domain of an addr-spec t[a..b): the atoms after the last '@',
 * joined (obs-domain allows CFWS between them).  -1 with *why. */
static int
addr_domain(const struct tok *t, size_t a, size_t b, char **dom,
    const char **why)
{
	size_t i, at = b, n = 0;
	char *d;

	for (i = a; i < b; i++)
		if (is_sp(&t[i], '@'))
			at = i;
	if (at == b) {
		*why = "address without a domain in From";
		return -1;
	}
	if (at + 1 == b) {
		*why = "empty domain in From";
		return -1;
	}
	for (i = at + 1; i < b; i++) {
		if (t[i].kind == T_DLIT) {
			*why = "domain literal in From";
			return -1;
		}
		if (t[i].kind != T_ATOM) {
			*why = "malformed domain in From";
			return -1;
		}
		n += t[i].n;
	}
	if (n > 1024) {
		*why = "domain too long in From";
		return -1;
	}
	if ((d = malloc(n + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	n = 0;
	for (i = at + 1; i < b; i++) {
		memcpy(d + n, t[i].p, t[i].n);
		n += t[i].n;
	}
	d[n] = '\0';
	*dom = d;
	return 0;
}

/* One mailbox candidate t[a..b): 1 with *dom set, 0 when it is no mailbox
 * (empty, or a stray piece of display name), -1 with *why. */
static int
mailbox(const struct tok *t, size_t a, size_t b, char **dom,
    const char **why)
{
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
	if (lt != b) {
		if (gt == b || gt < lt) {
			*why = "unterminated angle address in From";
			return -1;
		}
		a = lt + 1;
		b = gt;
		/* obs-route "@a,@b:" before the addr-spec */
		for (i = a; i < b; i++)
			if (is_sp(&t[i], ':'))
				a = i + 1;
		if (a == b)
			return 0;	/* "<>" */
		return addr_domain(t, a, b, dom, why) == 0 ? 1 : -1;
	}
	if (gt != b) {
		*why = "stray '>' in From";
		return -1;
	}
	if (!has_at)
		return 0;
	return addr_domain(t, a, b, dom, why) == 0 ? 1 : -1;
}

static enum dmarc_from
from_value(const char *v, size_t len, char **domain, const char **why)
{
	struct toks *ts;
	size_t i, start = 0, found = 0;
	int angle = 0, rc;
	enum dmarc_from res = DMARC_FROM_OK;
	char *dom = NULL, *d;

	if ((ts = malloc(sizeof(*ts))) == NULL) {
		*why = "out of memory";
		return DMARC_FROM_BAD;
	}
	if (tokenize(v, len, ts, why) == -1) {
		free(ts);
		return DMARC_FROM_BAD;
	}
	for (i = 0; i <= ts->n; i++) {
		const struct tok *t = i < ts->n ? &ts->t[i] : NULL;
		if (t != NULL && is_sp(t, '<'))
			angle = 1;
		else if (t != NULL && is_sp(t, '>'))
			angle = 0;
		if (t != NULL && angle)
			continue;
		if (t != NULL && is_sp(t, ':')) {
			start = i + 1;	/* group: its display name is gone */
			continue;
		}
		if (t != NULL && !is_sp(t, ',') && !is_sp(t, ';'))
			continue;
		d = NULL;
		rc = mailbox(ts->t, start, i, &d, why);
		start = i + 1;
		if (rc == -1) {
			res = DMARC_FROM_BAD;
			break;
		}
		if (rc == 1 && ++found > 1) {
			free(d);
			res = DMARC_FROM_MANY;
			break;
		}
		if (rc == 1)
			dom = d;
	}
	free(ts);
	if (res == DMARC_FROM_OK && found == 0) {
		*why = "no address in From";
		res = DMARC_FROM_NONE;
	}
	if (res == DMARC_FROM_MANY)
		*why = "several addresses in From";
	if (res != DMARC_FROM_OK) {
		free(dom);
		return res;
	}
	if ((*domain = dmarc_domain_norm(dom, why)) == NULL)
		res = DMARC_FROM_BAD;
	free(dom);
	return res;
}

enum dmarc_from
dmarc_from_domain(const struct msg *m, char **domain, const char **why)
{
	const struct msg_field *f;
	long idx;
	char *v;
	size_t len;
	enum dmarc_from res;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*domain = NULL;
	switch (msg_count(m, "From")) {
	case 0:
		*why = "no From field";
		return DMARC_FROM_NONE;
	case 1:
		break;
	default:
		*why = "several From fields";
		return DMARC_FROM_MANY;
	}
	idx = msg_find(m, "From", 0);
	f = &m->fields[idx];
	if ((v = msg_unfold(f->value, f->value_len, &len)) == NULL) {
		*why = "out of memory";
		return DMARC_FROM_BAD;
	}
	res = from_value(v, len, domain, why);
	free(v);
	return res;
}

/* ---- domains ---- */

size_t
dmarc_label_count(const char *d)
{
	size_t n = 1;

	if (*d == '\0')
		return 0;
	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

const char *
dmarc_suffix(const char *d, size_t n)
{
	size_t have = dmarc_label_count(d);

	while (have > n && (d = strchr(d, '.')) != NULL) {
		d++;
		have--;
	}
	return d != NULL ? d : "";
}

int
dmarc_within(const char *d, const char *anc)
{
	size_t ld = strlen(d), la = strlen(anc);

	if (la == 0 || ld < la)
		return 0;
	if (strcmp(d + ld - la, anc) != 0)
		return 0;
	return ld == la || d[ld - la - 1] == '.';
}

static int
ldh_valid(const char *d, const char **why)
{
	size_t lab = 0, tot = strlen(d);
	const char *p;

	if (tot == 0 || tot > DMARC_MAX_NAME) {
		*why = tot ? "domain too long" : "empty domain";
		return 0;
	}
	for (p = d; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (lab == 0 || lab > 63) {
				*why = lab ? "label too long" : "empty label";
				return 0;
			}
			if (*p == '\0')
				return 1;
			lab = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_')) {
			*why = "invalid character in domain";
			return 0;
		}
		lab++;
	}
}

char *
dmarc_domain_norm(const char *d, const char **why)
{
	char *a, *p;
	size_t n;

	if (d == NULL || *d == '\0') {
		*why = "empty domain";
		return NULL;
	}
	if ((a = idn_to_alabels(d, why)) == NULL)
		return NULL;
	for (p = a; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
	n = strlen(a);
	if (n > 0 && a[n - 1] == '.')
		a[n - 1] = '\0';
	if (!ldh_valid(a, why)) {
		free(a);
		return NULL;
	}
	return a;
}
