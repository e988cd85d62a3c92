/* dmarc_record: DMARC records as dmarc_eval takes them.
 *
 * The tags are read with the RFC 6376 tag-list grammar (dkim_tags_parse),
 * one ';'-separated spec at a time so that a broken spec is ignored rather
 * than sinking the record: RFC 7489 6.3 and RFC 9989 4.8 both say syntax
 * errors in the rest of a record are discarded in favour of the defaults.
 * The first spec must be v=DMARC1 (case-sensitive).  Unknown tags are
 * ignored; a repeated tag keeps its first value.
 *
 * libopendmarc parses the record too (opendmarc_policy_store_dmarc), but
 * it is handed the record rewritten from the valid tags only: its parser
 * copies values into 256- and 512-byte buffers and reads past them at
 * exactly those lengths, and it takes any prefix of a word ("p=r") as the
 * word.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dmarc_int.h"

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
span_is(const char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lc((unsigned char)s[i]) != lc((unsigned char)w[i]))
			return 0;
	return 1;
}

int
dmarc_rec_is_dmarc(const char *txt, size_t len)
{
	size_t i = 0;

	if (len == 0 || txt[0] != 'v')
		return 0;
	i = 1;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (i == len || txt[i] != '=')
		return 0;
	i++;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	while (i < len && is_wsp((unsigned char)txt[i]))
		i++;
	return i == len || txt[i] == ';';
}

const char *
dmarc_policy_word(char p)
{
	switch (p) {
	case 'n':
		return "none";
	case 'q':
		return "quarantine";
	case 'r':
		return "reject";
	}
	return "";
}

char
dmarc_policy_lower(char p)
{
	return p == 'r' ? 'q' : p == 'q' ? 'n' : p;
}

static char
policy_of(const char *v, size_t n)
{
	if (span_is(v, n, "none"))
		return 'n';
	if (span_is(v, n, "quarantine"))
		return 'q';
	if (span_is(v, n, "reject"))
		return 'r';
	return 0;
}

/* fo: 0 / 1 / d / s separated by ':', each at most once, not both 0 and
 * 1 (RFC 9989 4.8; RFC 7489 is looser, this is what both accept). */
static int
fo_valid(const char *v, size_t n)
{
	int seen[4] = { 0 };
	size_t i = 0, k;

	if (n == 0)
		return 0;
	for (;;) {
		while (i < n && is_wsp((unsigned char)v[i]))
			i++;
		if (i == n)
			return 0;
		switch (lc((unsigned char)v[i])) {
		case '0': k = 0; break;
		case '1': k = 1; break;
		case 'd': k = 2; break;
		case 's': k = 3; break;
		default: return 0;
		}
		if (seen[k]++)
			return 0;
		i++;
		while (i < n && is_wsp((unsigned char)v[i]))
			i++;
		if (i == n)
			return !(seen[0] && seen[1]);
		if (v[i] != ':')
			return 0;
		i++;
	}
}

/* A DMARC reporting URI (RFC 3986 absolute URI, loosely: a scheme, ':'
 * and URI characters; "!" size suffix allowed as the obsolete syntax). */
static int
uri_valid(const char *u, size_t n)
{
	size_t i;

	if (n < 3 || n > DMARC_MAX_URI)
		return 0;
	if (!((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')))
		return 0;
	for (i = 1; i < n && u[i] != ':'; i++)
		if (!((u[i] >= 'a' && u[i] <= 'z') ||
		    (u[i] >= 'A' && u[i] <= 'Z') ||
		    (u[i] >= '0' && u[i] <= '9') ||
		    u[i] == '+' || u[i] == '-' || u[i] == '.'))
			return 0;
	if (i == n || i + 1 == n)
		return 0;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' ||
		    c == '>' || c == '\\' || c == '^' || c == '`' ||
		    c == '{' || c == '|' || c == '}' || c == ',' || c == ';')
			return 0;
	}
	return 1;
}

static int
uris_parse(const char *v, size_t n, char **out, size_t *nout)
{
	size_t i = 0, s, e;

	while (i <= n) {
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (s < e && is_wsp((unsigned char)v[s]))
			s++;
		while (e > s && is_wsp((unsigned char)v[e - 1]))
			e--;
		if (uri_valid(v + s, e - s) && *nout < DMARC_MAX_URIS) {
			if ((out[*nout] = strndup(v + s, e - s)) == NULL)
				return -1;
			(*nout)++;
		}
		i++;
	}
	return 0;
}

static int
one_tag(struct dmarc_rec *r, const struct dkim_tag *t, unsigned *seen)
{
	static const char *const names[] = { "p", "sp", "np", "adkim",
	    "aspf", "pct", "psd", "t", "fo", "rua", "ruf", NULL };
	const char *v = t->value;
	size_t n = t->value_len, k;
	char *end;
	unsigned long ul;

	for (k = 0; names[k] != NULL; k++)
		if (t->name_len == strlen(names[k]) &&
		    memcmp(t->name, names[k], t->name_len) == 0)
			break;
	if (names[k] == NULL || (*seen & (1u << k)))
		return 0;	/* unknown, or repeated: first one kept */
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if ((r->p = policy_of(v, n)) == 0)
			r->p_bad = 1;
		break;
	case 1:
		if ((r->sp = policy_of(v, n)) == 0)
			r->sp_bad = 1;
		break;
	case 2:
		if ((r->np = policy_of(v, n)) == 0)
			r->np_bad = 1;
		break;
	case 3:
	case 4:
		if (n == 1 && (lc(v[0]) == 'r' || lc(v[0]) == 's'))
			*(k == 3 ? &r->adkim : &r->aspf) = (char)lc(v[0]);
		break;
	case 5:
		if (n >= 1 && n <= 3 && v[0] >= '0' && v[0] <= '9') {
			char buf[4];
			memcpy(buf, v, n);
			buf[n] = '\0';
			errno = 0;
			ul = strtoul(buf, &end, 10);
			if (*end == '\0' && ul <= 100)
				r->pct = (int)ul;
		}
		break;
	case 6:
		if (n == 1 && (lc(v[0]) == 'y' || lc(v[0]) == 'n' ||
		    lc(v[0]) == 'u'))
			r->psd = (char)lc(v[0]);
		break;
	case 7:
		if (n == 1 && (lc(v[0]) == 'y' || lc(v[0]) == 'n'))
			r->testing = lc(v[0]) == 'y';
		break;
	case 8:
		if (fo_valid(v, n)) {
			free(r->fo);
			if ((r->fo = strndup(v, n)) == NULL)
				return -1;
		}
		break;
	case 9:
		return uris_parse(v, n, r->rua, &r->nrua);
	case 10:
		return uris_parse(v, n, r->ruf, &r->nruf);
	}
	return 0;
}

int
dmarc_rec_parse(const char *txt, size_t len, struct dmarc_rec *r,
    const char **why)
{
	struct dkim_taglist tl;
	size_t i = 0, s, ntags = 0;
	unsigned seen = 0;
	int first = 1;

	memset(r, 0, sizeof(*r));
	r->adkim = r->aspf = 'r';
	r->pct = 100;
	r->psd = 'u';
	if (len > DMARC_MAX_RECORD || memchr(txt, '\0', len) != NULL ||
	    !dmarc_rec_is_dmarc(txt, len)) {
		*why = "not a DMARC record";
		return -1;
	}
	if ((r->text = strndup(txt, len)) == NULL ||
	    (r->fo = strdup("0")) == NULL)
		goto oom;
	while (i < len) {
		s = i;
		while (i < len && txt[i] != ';')
			i++;
		/* Each spec alone: a bad one is dropped, the rest stands. */
		if (dkim_tags_parse(txt + s, i - s, &tl, NULL) == 0 &&
		    tl.n == 1) {
			if (first) {
				/* dmarc_rec_is_dmarc saw v=DMARC1 here. */
				first = 0;
			} else if (++ntags <= DKIM_MAX_TAGS &&
			    one_tag(r, &tl.tag[0], &seen) == -1)
				goto oom;
		}
		first = 0;
		i++;
	}
	return 0;
oom:
	dmarc_rec_free(r);
	*why = "out of memory";
	return -1;
}

void
dmarc_rec_free(struct dmarc_rec *r)
{
	size_t i;

	free(r->text);
	free(r->fo);
	for (i = 0; i < r->nrua; i++)
		free(r->rua[i]);
	for (i = 0; i < r->nruf; i++)
		free(r->ruf[i]);
	memset(r, 0, sizeof(*r));
}

int
dmarc_rec_settle(struct dmarc_rec *r, enum dmarc_mode mode,
    const char **why)
{
	int bad;

	if (mode == DMARC_RFC9989 && r->p == 0 && !r->p_bad)
		r->p = 'n';	/* RFC 9989 4.7: absent p= is p=none */
	bad = r->p == 0 || r->sp_bad || r->np_bad;
	if (mode == DMARC_RFC7489)
		bad = r->p == 0 || r->sp_bad;
	if (!bad)
		return 0;
	if (r->nrua == 0) {
		*why = r->p == 0 ? "no valid p= and no valid rua=" :
		    "invalid sp= or np= and no valid rua=";
		return -1;
	}
	/* "act as if a record containing p=none was retrieved" */
	r->p = 'n';
	r->sp = r->np = 0;
	r->p_bad = r->sp_bad = r->np_bad = 0;
	return 0;
}

static int
append(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= cap)
		return -1;
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

/* "tag=u1,u2" with as many URIs as libopendmarc can hold. */
static void
append_uris(char *buf, size_t cap, size_t *len, const char *tag,
    char *const *u, size_t n)
{
	size_t i, used = 0;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (used + strlen(u[i]) + 1 > DMARC_MAX_URILIST)
			break;
		if (append(buf, cap, len, any ? "," : tag) == -1 ||
		    append(buf, cap, len, u[i]) == -1)
			return;
		used += strlen(u[i]) + 1;
		any = 1;
	}
	if (any)
		(void)append(buf, cap, len, "; ");
}

char *
dmarc_rec_normalized(const struct dmarc_rec *r)
{
	size_t cap = 2 * DMARC_MAX_URILIST + 256, len = 0;
	char *buf, tmp[64];

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	buf[0] = '\0';
	snprintf(tmp, sizeof(tmp), "v=DMARC1; p=%s; ",
	    dmarc_policy_word(r->p != 0 ? r->p : 'n'));
	(void)append(buf, cap, &len, tmp);
	if (r->sp != 0) {
		snprintf(tmp, sizeof(tmp), "sp=%s; ", dmarc_policy_word(r->sp));
		(void)append(buf, cap, &len, tmp);
	}
	snprintf(tmp, sizeof(tmp), "adkim=%c; aspf=%c; pct=%d; ", r->adkim,
	    r->aspf, r->pct);
	(void)append(buf, cap, &len, tmp);
	append_uris(buf, cap, &len, "rua=", r->rua, r->nrua);
	append_uris(buf, cap, &len, "ruf=", r->ruf, r->nruf);
	if (r->fo != NULL && strlen(r->fo) < 32) {
		snprintf(tmp, sizeof(tmp), "fo=%s", r->fo);
		(void)append(buf, cap, &len, tmp);
	}
	return buf;
}

int
dmarc_record_check(const char *txt, size_t len, const char **why)
{
	struct dmarc_rec r;
	char *norm;
	int rc;

	if (txt == NULL) {
		*why = "no record";
		return -1;
	}
	if (dmarc_rec_parse(txt, len, &r, why) == -1)
		return -1;
	rc = dmarc_rec_settle(&r, dmarc_cur_mode(), why);
	if (rc == 0) {
		if ((norm = dmarc_rec_normalized(&r)) == NULL) {
			*why = "out of memory";
			rc = -1;
		} else if (!dmarc_rec_is_dmarc(norm, strlen(norm))) {
			*why = "internal: normalized record";
			rc = -1;
		}
		free(norm);
	}
	dmarc_rec_free(&r);
	return rc;
}
