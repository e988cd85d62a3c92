/* dmarc_dest: may a report go to this address?  RFC 7489 7.1 "Verifying
 * External Destinations" (RFC 9990 section 4 and RFC 9991 say the same for
 * DMARCbis).  See dmarc_report.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc_int.h"
#include "dmarc_report.h"

#define DEST_MAX	16	/* addresses out, as dmarc_ruf_addresses */

enum dest_ok {
	DEST_AUTHORIZED,	/* a v=DMARC1 record at the name */
	DEST_REFUSED,		/* none (or the name cannot be asked) */
	DEST_TEMPFAIL,		/* the DNS could not say */
	DEST_TOOLONG,		/* the name to ask is not a domain name */
};

struct dest_run {
	char	**out;
	size_t	  n;
	size_t	  dropped;
	int	  oom;
	char	 *why;		/* the first drop's reason */
	size_t	  whysize;
};

static _Thread_local char dest_why[600];

/* The first record of name that starts "v=DMARC1", parsed into rec
 * (RFC 7489 7.1 steps 5-7: others are discarded; one is enough). */
static enum dest_ok
authorizing_record(const char *name, struct dmarc_rec *rec,
    enum dns_status *st)
{
	char **txt = NULL;
	size_t *lens = NULL, n = 0, i;
	const char *why;
	int secure, found = 0;

	*st = dns_txt(name, &txt, &lens, &n, &secure);
	for (i = 0; *st == DNS_OK && i < n && !found; i++)
		if (dmarc_rec_is_dmarc(txt[i], lens[i]) &&
		    dmarc_rec_parse(txt[i], lens[i], rec, &why) == 0)
			found = 1;
	dns_txt_free(txt, lens, n);
	if (found)
		return DEST_AUTHORIZED;
	return *st == DNS_TEMPFAIL ? DEST_TEMPFAIL : DEST_REFUSED;
}

/* Ask POLICY._report._dmarc.DEST, then, after an NXDOMAIN, the literal
 * wildcard *._report._dmarc.DEST.  qname gets the name asked first. */
static enum dest_ok
dest_check(const char *policy, const char *dest, struct dmarc_rec *rec,
    char *qname, size_t qsize)
{
	char wname[DMARC_MAX_NAME + 64];
	enum dns_status st;
	enum dest_ok ok;
	int len;

	len = snprintf(qname, qsize, "%s._report._dmarc.%s", policy, dest);
	if (len < 0 || (size_t)len >= qsize || len > DMARC_MAX_NAME)
		return DEST_TOOLONG;
	if ((ok = authorizing_record(qname, rec, &st)) != DEST_REFUSED ||
	    st != DNS_NXDOMAIN)
		return ok;
	len = snprintf(wname, sizeof(wname), "*._report._dmarc.%s", dest);
	if (len < 0 || (size_t)len >= sizeof(wname) || len > DMARC_MAX_NAME)
		return DEST_REFUSED;
	return authorizing_record(wname, rec, &st);
}

static void
keep(struct dest_run *r, const char *addr)
{
	char *c;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->out[i], addr) == 0)
			return;
	if (r->n >= DEST_MAX)
		return;
	if ((c = strdup(addr)) == NULL) {
		r->oom = 1;
		return;
	}
	r->out[r->n++] = c;
}

static void
drop(struct dest_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
drop(struct dest_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->dropped++ > 0)
		return;
	va_start(ap, fmt);
	vsnprintf(r->why, r->whysize, fmt, ap);
	va_end(ap);
}

static const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

/* RFC 7489 7.1 step 8: the destination's own rua=/ruf= replaces the
 * address, but only with addresses at the same host.  0 when it offered
 * none, so the published address stands. */
static int
keep_override(struct dest_run *r, const struct dmarc_rec *rec, int ruf,
    const char *dest)
{
	char **l;
	size_t i;
	int n = 0;

	l = ruf ? dmarc_mailto_list(rec->ruf, rec->nruf) :
	    dmarc_mailto_list(rec->rua, rec->nrua);
	for (i = 0; l != NULL && l[i] != NULL; i++) {
		if (strcasecmp(addr_domain(l[i]), dest) == 0) {
			keep(r, l[i]);
			n++;
		}
		free(l[i]);
	}
	free(l);
	return n;
}

static void
check_one(struct dest_run *r, const char *addr, const char *policy,
    const char *org, int ruf)
{
	struct dmarc_rec rec;
	char qname[2 * DMARC_MAX_NAME + 32], *dest;
	const char *why;

	if ((dest = dmarc_domain_norm(addr_domain(addr), &why)) == NULL) {
		drop(r, "%s: %s", addr, why);
		return;
	}
	if (dmarc_within(dest, org)) {
		keep(r, addr);
		free(dest);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	switch (dest_check(policy, dest, &rec, qname, sizeof(qname))) {
	case DEST_AUTHORIZED:
		if (keep_override(r, &rec, ruf, dest) == 0)
			keep(r, addr);
		dmarc_rec_free(&rec);
		break;
	case DEST_REFUSED:
		drop(r, "%s: not authorized: no v=DMARC1 record at %s", addr,
		    qname);
		break;
	case DEST_TEMPFAIL:
		drop(r, "%s: not verified: temporary DNS failure at %s", addr,
		    qname);
		break;
	case DEST_TOOLONG:
		drop(r, "%s: not verified: %s._report._dmarc.%s is longer "
		    "than a domain name may be", addr, policy, dest);
		break;
	}
	free(dest);
}

static char **
dest_fail(struct dest_run *r, const char **why, const char *text)
{
	size_t i;

	for (i = 0; r->out != NULL && i < r->n; i++)
		free(r->out[i]);
	free(r->out);
	if (text != NULL) {
		snprintf(dest_why, sizeof(dest_why), "%s", text);
		*why = dest_why;
	}
	return NULL;
}

char **
dmarc_report_destinations(const char *policy_domain, const char *org_domain,
    char *const *uris, size_t nuris, int ruf, const char **why)
{
	struct dest_run r = { .why = dest_why, .whysize = sizeof(dest_why) };
	char **addrs, *policy, *org = NULL;
	const char *dummy, *w;
	size_t i, len;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if ((addrs = dmarc_mailto_list(uris, nuris)) == NULL)
		return dest_fail(&r, why, ruf ? "no ruf= mailto: address" :
		    "no rua= mailto: address");
	if ((policy = dmarc_domain_norm(policy_domain, &w)) == NULL ||
	    (org_domain != NULL && *org_domain != '\0' &&
	    (org = dmarc_domain_norm(org_domain, &w)) == NULL)) {
		snprintf(dest_why, sizeof(dest_why), "policy domain: %s", w);
		*why = dest_why;
		goto out;
	}
	if ((r.out = calloc(DEST_MAX + 1, sizeof(*r.out))) == NULL) {
		r.oom = 1;
		goto out;
	}
	for (i = 0; addrs[i] != NULL && !r.oom; i++)
		check_one(&r, addrs[i], policy, org != NULL ? org : policy,
		    ruf);
	if (r.dropped > 1 && (len = strlen(dest_why)) < sizeof(dest_why))
		snprintf(dest_why + len, sizeof(dest_why) - len,
		    " (and %zu more)", r.dropped - 1);
	if (r.dropped > 0)
		*why = dest_why;
out:
	for (i = 0; addrs[i] != NULL; i++)
		free(addrs[i]);
	free(addrs);
	free(policy);
	free(org);
	if (r.oom)
		return dest_fail(&r, why, "out of memory");
	if (r.n == 0)
		return dest_fail(&r, why, NULL);
	return r.out;
}

char **
dmarc_verified_addresses(const struct dmarc_verdict *v, int ruf,
    const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (v == NULL) {
		*why = "no verdict";
		return NULL;
	}
	return dmarc_report_destinations(v->used_domain, v->org_domain,
	    ruf ? v->ruf : v->rua, ruf ? v->nruf : v->nrua, ruf, why);
}
