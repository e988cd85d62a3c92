/* dmarc_from: the RFC5322.From domain (RFC 7489 6.6.1, RFC 9989 5.3.1).
 *
 * The field is read as an RFC 5322 address list by lib/addr (obsolete
 * forms included, without ADDR_STRICT: DMARC needs the domain, not a
 * deliverable address).  What counts is the number of mailboxes and the
 * domain of the one mailbox: several From fields or several mailboxes are
 * nofrom, as DMARC says; a domain literal is no domain.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dmarc_int.h"
#include "idn.h"

/* lib/addr's reasons as DMARC has always worded them (dmarceval prints
 * them after "From: "). */
static const char *const in_from[][2] = {
	{ "unterminated quoted string",
	    "unterminated quoted string, comment or domain literal in From" },
	{ "unterminated comment",
	    "unterminated quoted string, comment or domain literal in From" },
	{ "comment nested too deeply",
	    "unterminated quoted string, comment or domain literal in From" },
	{ "unterminated domain literal",
	    "unterminated quoted string, comment or domain literal in From" },
	{ "field too complex", "From field too complex" },
	{ "address without a domain", "address without a domain in From" },
	{ "empty domain", "empty domain in From" },
	{ "malformed domain", "malformed domain in From" },
	{ "domain too long", "domain too long in From" },
	{ "unterminated angle address", "unterminated angle address in From" },
	{ "stray '>'", "stray '>' in From" },
};

static const char *
from_why(const char *why)
{
	size_t i;

	for (i = 0; i < sizeof(in_from) / sizeof(in_from[0]); i++)
		if (strcmp(why, in_from[i][0]) == 0)
			return in_from[i][1];
	return why;
}

struct from_walk {
	char	*dom;
	size_t	 found;
};

/* DMARC wants exactly one mailbox, with a domain name: stop at the
 * second. */
static int
from_mbox(void *arg, const struct addr_mbox *mb, const char **why)
{
	struct from_walk *fw = arg;

	if (mb->literal) {
		*why = "domain literal in From";
		return -1;
	}
	if (++fw->found > 1)
		return 1;
	if ((fw->dom = strndup(mb->domain, mb->domain_len)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

static enum dmarc_from
from_value(const char *v, size_t len, char **domain, const char **why)
{
	struct from_walk fw = { NULL, 0 };
	enum dmarc_from res = DMARC_FROM_OK;

	switch (addr_walk(v, len, 0, from_mbox, &fw, why)) {
	case -1:
		*why = from_why(*why);
		res = DMARC_FROM_BAD;
		break;
	case 1:
		*why = "several addresses in From";
		res = DMARC_FROM_MANY;
		break;
	default:
		if (fw.found == 0) {
			*why = "no address in From";
			res = DMARC_FROM_NONE;
		}
	}
	if (res == DMARC_FROM_OK &&
	    (*domain = dmarc_domain_norm(fw.dom, why)) == NULL)
		res = DMARC_FROM_BAD;
	free(fw.dom);
	return res;
}

enum dmarc_from
dmarc_from_domain(const struct msg *m, char **domain, const char **why)
{
	const struct msg_field *f;
	long idx;
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
	return from_value(f->value, f->value_len, domain, why);
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
