/* dkim_tags: tag=value lists of DKIM-Signature fields and key records,
 * RFC 6376 section 3.2.
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  = ALPHA *ALNUMPUNC		; ALNUMPUNC = ALPHA / DIGIT / "_"
 *   tag-value = [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      = 1*VALCHAR			; VALCHAR = %x21-3A / %x3C-7E
 *
 * Values point into the caller's text; nothing is copied.
 */
#include <string.h>

#include "dkim_int.h"

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_name_char(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* RFC 8616 lets UTF-8 into values of internationalized messages, so bytes
 * above 0x7f are taken as value characters too. */
static int
is_val_char(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e && c != ';') || c >= 0x80;
}

/* Length of the folding white space at s (0 if none).  A line break counts
 * only as part of a fold, that is when WSP follows it; a bare LF is taken as
 * CRLF, as everywhere in mxkit. */
static size_t
fws_len(const char *s, size_t len)
{
	size_t i = 0, brk;

	for (;;) {
		while (i < len && dkim_is_wsp((unsigned char)s[i]))
			i++;
		brk = 0;
		if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n')
			brk = 2;
		else if (i < len && s[i] == '\n')
			brk = 1;
		if (brk == 0 || i + brk >= len ||
		    !dkim_is_wsp((unsigned char)s[i + brk]))
			return i;
		i += brk;
	}
}

static int
name_eq(const struct dkim_tag *t, const char *name, size_t nlen)
{
	return t->name_len == nlen && memcmp(t->name, name, nlen) == 0;
}

static int
fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return -1;
}

int
dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *tl,
    const char **why)
{
	size_t i = 0, j, vend, f;
	struct dkim_tag *t;

	tl->n = 0;
	if (len == 0)
		return 0;
	for (;;) {
		i += fws_len(s + i, len - i);
		if (i == len) {
			/* An empty list, or a trailing ';' after the last
			 * spec; but not an empty spec between two ';'. */
			return 0;
		}
		if (!is_alpha((unsigned char)s[i]))
			return fail(why, s[i] == ';' ? "empty tag-spec" :
			    "bad tag name");
		j = i;
		while (j < len && is_name_char((unsigned char)s[j]))
			j++;
		if (tl->n == DKIM_MAX_TAGS)
			return fail(why, "too many tags");
		t = &tl->tag[tl->n];
		t->name = s + i;
		t->name_len = j - i;
		for (size_t k = 0; k < tl->n; k++)
			if (name_eq(&tl->tag[k], t->name, t->name_len))
				return fail(why, "duplicate tag");
		i = j + fws_len(s + j, len - j);
		if (i == len || s[i] != '=')
			return fail(why, "missing '=' after tag name");
		i++;
		i += fws_len(s + i, len - i);
		t->value = s + i;
		vend = i;
		while (i < len && s[i] != ';') {
			if (is_val_char((unsigned char)s[i])) {
				vend = ++i;
				continue;
			}
			f = fws_len(s + i, len - i);
			if (f == 0)
				return fail(why, "bad character in tag value");
			i += f;
		}
		t->value_len = vend - (size_t)(t->value - s);
		tl->n++;
		if (i == len)
			return 0;
		i++;	/* the ';' */
	}
}

const struct dkim_tag *
dkim_tags_get(const struct dkim_taglist *tl, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t k = 0; k < tl->n; k++)
		if (name_eq(&tl->tag[k], name, nlen))
			return &tl->tag[k];
	return NULL;
}
