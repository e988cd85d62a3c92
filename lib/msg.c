/* msg: split a message into header fields and body, pointing into the
 * caller's bytes.  This is on the verifier's hot path (thousands of
 * messages a second), so lines are found with memchr and only field names
 * are looked at byte by byte; the body is never scanned. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"

#define MSG_FIRST_CAP 32

/* RFC 5322 ftext: printable US-ASCII except the colon. */
static inline int
is_ftext(unsigned char c)
{
	return c > 32 && c < 127 && c != ':';
}

static inline int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int
malformed(struct msg *m, const char **why, const char *reason)
{
	m->nfields = 0;
	m->body = m->len ? m->buf + m->len : m->buf;
	m->body_len = 0;
	m->has_body = 0;
	if (why != NULL)
		*why = reason;
	errno = EBADMSG;
	return -1;
}

/* Room for one more field.  The array only grows, so a reused struct msg
 * stops allocating once it has seen its largest header. */
static int
reserve_field(struct msg *m, const char **why)
{
	struct msg_field *f;
	size_t ncap;

	if (m->nfields < m->cap)
		return 0;
	if (m->cap >= MSG_MAX_FIELDS)
		return malformed(m, why, "too many header fields");
	ncap = m->cap ? m->cap * 2 : MSG_FIRST_CAP;
	if (ncap > MSG_MAX_FIELDS)
		ncap = MSG_MAX_FIELDS;
	f = realloc(m->fields, ncap * sizeof(*f));
	if (f == NULL) {
		m->nfields = 0;
		if (why != NULL)
			*why = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	m->fields = f;
	m->cap = ncap;
	return 0;
}

/* Length of the field name at the start of [p, le), or 0 when the line is
 * not "name WSP* : ..."; *colon gets where the colon is. */
static size_t
field_name_len(const char *p, const char *le, const char **colon)
{
	const char *q = p;
	size_t n;

	while (q < le && is_ftext((unsigned char)*q))
		q++;
	n = (size_t)(q - p);
	while (q < le && is_wsp((unsigned char)*q))
		q++;
	if (n == 0 || q == le || *q != ':')
		return 0;
	*colon = q;
	return n;
}

static void
field_extend(struct msg_field *f, const char *le)
{
	f->raw_len = (size_t)(le - f->raw);
	f->value_len = (size_t)(le - f->value);
}

int
msg_parse(struct msg *m, const char *buf, size_t len, const char **why)
{
	const char *p = buf, *end = len ? buf + len : buf, *colon;
	struct msg_field *cur = NULL;

	m->buf = buf;
	m->len = len;
	m->nfields = 0;
	m->body = end;
	m->body_len = 0;
	m->has_body = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end;
		const char *le = nl != NULL ? nl : end;
		size_t nlen;

		/* CRLF, or a CR left alone by a cut at the very end. */
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {
			m->has_body = 1;
			m->body = next;
			m->body_len = (size_t)(end - next);
			return 0;
		}
		if (is_wsp((unsigned char)*p)) {
			if (cur == NULL)
				return malformed(m, why,
				    "continuation line before any field");
			field_extend(cur, le);
		} else {
			if ((nlen = field_name_len(p, le, &colon)) == 0)
				return malformed(m, why, *p == ':' ?
				    "header field with an empty name" :
				    "header line without a field name and colon");
			if (reserve_field(m, why) == -1)
				return -1;
			cur = &m->fields[m->nfields++];
			cur->raw = p;
			cur->name_len = nlen;
			cur->value = colon + 1;
			field_extend(cur, le);
		}
		p = next;
	}
	return 0;
}

void
msg_free(struct msg *m)
{
	free(m->fields);
	memset(m, 0, sizeof(*m));
}

int
msg_field_is(const struct msg_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(f->raw, name, n) == 0;
}

long
msg_find(const struct msg *m, const char *name, size_t nth)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (msg_field_is(&m->fields[i], name) && nth-- == 0)
			return (long)i;
	return -1;
}

size_t
msg_count(const struct msg *m, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < m->nfields; i++)
		if (msg_field_is(&m->fields[i], name))
			n++;
	return n;
}

char *
msg_unfold(const char *value, size_t len, size_t *len_out)
{
	const char *p = value, *end, *nl;
	char *out, *o;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	o = out;
	if (len == 0) {		/* value may then be NULL */
		*o = '\0';
		if (len_out != NULL)
			*len_out = 0;
		return out;
	}
	end = value + len;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		const char *le = nl;

		if (le > p && le[-1] == '\r')
			le--;
		memcpy(o, p, (size_t)(le - p));
		o += le - p;
		p = nl + 1;
	}
	memcpy(o, p, (size_t)(end - p));
	o += end - p;
	*o = '\0';
	if (len_out != NULL)
		*len_out = (size_t)(o - out);
	return out;
}

int
msg_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
msg_is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!msg_is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}
