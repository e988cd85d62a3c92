/* dane: the DNS half of RFC 7672 (MX, addresses, TLSA with their DNSSEC
 * status); the TLS half is in dane_tls.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "dns.h"

const char *
dane_sec_name(enum dane_sec s)
{
	switch (s) {
	case DANE_SEC_SECURE: return "secure";
	case DANE_SEC_INSECURE: return "insecure";
	default: return "failed";
	}
}

static enum dane_sec
sec_of(const struct dns_answer *a)
{
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL)
		return DANE_SEC_FAILED;
	return a->secure ? DANE_SEC_SECURE : DANE_SEC_INSECURE;
}

/* The worse of two statuses: failed > insecure > secure. */
static enum dane_sec
sec_worst(enum dane_sec a, enum dane_sec b)
{
	return a > b ? a : b;
}

int
dane_resolver_validates(const char *name)
{
	struct dns_answer *a = dns_query(name, LDNS_RR_TYPE_SOA);
	int v;

	if (a == NULL)
		return -1;
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL)
		v = -1;
	else
		v = a->secure ? 1 : 0;
	dns_answer_free(a);
	return v;
}

/* A name in the form the output and the comparisons use: lower case, no
 * trailing dot ("" for the root).  In place. */
static char *
name_fold(char *s)
{
	char *p;
	size_t n;

	if (s == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		s[n - 1] = '\0';
	return s;
}

/* A domain name rdf as text, folded; malloc'd, NULL when out of memory. */
static char *
name_text(const ldns_rdf *d)
{
	return d != NULL ? name_fold(ldns_rdf2str(d)) : NULL;
}

/* A name as given by a user, folded the same way. */
static char *
name_norm(const char *in)
{
	return name_fold(strdup(in));
}

/* ---- MX ---- */

static int
mx_add(struct dane_mxset *m, const ldns_rr *rr)
{
	const ldns_rdf *prf = ldns_rr_rdf(rr, 0), *tgt = ldns_rr_rdf(rr, 1);
	struct dane_mx x;
	size_t i;

	if (prf == NULL || tgt == NULL)
		return 0;
	if (m->n == DANE_MAX_MX) {
		m->dropped++;
		return 0;
	}
	x.pref = ldns_rdf2native_int16(prf);
	if ((x.host = name_text(tgt)) == NULL)
		return -1;
	/* Insertion keeps equal preferences in answer order. */
	for (i = m->n; i > 0 && m->mx[i - 1].pref > x.pref; i--)
		m->mx[i] = m->mx[i - 1];
	m->mx[i] = x;
	m->n++;
	return 0;
}

/* RFC 7505 3: a null MX is the only MX record, and its target is ".". */
static int
is_null_mx(const struct dane_mxset *m)
{
	return m->n == 1 && m->mx[0].host[0] == '\0';
}

/* A "." among real MX records is not a host (RFC 7505 4.3: ignore it). */
static void
drop_root_targets(struct dane_mxset *m)
{
	size_t i, j;

	for (i = j = 0; i < m->n; i++) {
		if (m->mx[i].host[0] == '\0')
			free(m->mx[i].host);
		else
			m->mx[j++] = m->mx[i];
	}
	m->n = j;
}

static int
mx_from_answer(struct dane_mxset *m, const struct dns_answer *a)
{
	size_t i;

	for (i = 0; a->rrs != NULL && i < ldns_rr_list_rr_count(a->rrs); i++)
		if (mx_add(m, ldns_rr_list_rr(a->rrs, i)) == -1)
			return -1;
	if (is_null_mx(m))
		m->status = DANE_MX_NULL;
	else
		drop_root_targets(m);
	if (m->n == 0 && m->status != DANE_MX_NULL)
		m->status = DANE_MX_PERMFAIL;	/* only "." among several */
	return 0;
}

int
dane_mx_lookup(const char *domain, struct dane_mxset *m)
{
	struct dns_answer *a;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((a = dns_query(domain, LDNS_RR_TYPE_MX)) == NULL)
		return -1;
	m->sec = sec_of(a);
	switch (a->status) {
	case DNS_OK:
		m->status = DANE_MX_OK;
		rc = mx_from_answer(m, a);
		break;
	case DNS_NODATA:
		m->status = DANE_MX_IMPLICIT;
		if ((m->mx[0].host = name_norm(domain)) == NULL)
			rc = -1;
		else
			m->n = 1;
		break;
	case DNS_NXDOMAIN: m->status = DANE_MX_NXDOMAIN; break;
	case DNS_TEMPFAIL: m->status = DANE_MX_TEMPFAIL; break;
	default: m->status = DANE_MX_PERMFAIL; break;
	}
	dns_answer_free(a);
	return rc;
}

void
dane_mxset_free(struct dane_mxset *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->mx[i].host);
	m->n = 0;
}

/* ---- addresses ---- */

static void
addr_set(struct dane_addr *x, const ldns_rdf *rd, unsigned port,
    enum dane_sec sec)
{
	memset(x, 0, sizeof(*x));
	x->sec = sec;
	if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A &&
	    ldns_rdf_size(rd) == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&x->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ldns_rdf_data(rd), 4);
		x->salen = sizeof(*s4);
		inet_ntop(AF_INET, &s4->sin_addr, x->text, sizeof(x->text));
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&x->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ldns_rdf_data(rd), 16);
		x->salen = sizeof(*s6);
		inet_ntop(AF_INET6, &s6->sin6_addr, x->text, sizeof(x->text));
	}
}

static int
addr_usable(const ldns_rdf *rd)
{
	if (rd == NULL)
		return 0;
	if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A)
		return ldns_rdf_size(rd) == 4;
	return ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA &&
	    ldns_rdf_size(rd) == 16;
}

/* One family's lookup into h. */
static int
host_family(struct dane_host *h, ldns_rr_type type, unsigned port,
    int *any)
{
	struct dns_answer *a = dns_query(h->name, type);
	enum dane_sec sec;
	size_t i, added = 0;

	if (a == NULL)
		return -1;
	sec = sec_of(a);
	h->sec = *any ? sec_worst(h->sec, sec) : sec;
	*any = 1;
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL)
		h->tempfail = 1;
	if (a->status == DNS_NXDOMAIN)
		h->nxdomain = 1;
	for (i = 0; a->rrs != NULL && i < ldns_rr_list_rr_count(a->rrs) &&
	    added < DANE_MAX_ADDR; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(a->rrs, i);

		if (!addr_usable(ldns_rr_rdf(rr, 0)))
			continue;
		if (h->expanded == NULL &&
		    (h->expanded = name_text(ldns_rr_owner(rr))) == NULL) {
			dns_answer_free(a);
			return -1;
		}
		addr_set(&h->addr[h->n++], ldns_rr_rdf(rr, 0), port, sec);
		added++;
	}
	dns_answer_free(a);
	return 0;
}

int
dane_host_lookup(const char *name, int families, unsigned port,
    struct dane_host *h)
{
	int any = 0;

	memset(h, 0, sizeof(*h));
	if ((h->name = name_norm(name)) == NULL)
		return -1;
	if ((families & DANE_V4) &&
	    host_family(h, LDNS_RR_TYPE_A, port, &any) == -1)
		return -1;
	if ((families & DANE_V6) &&
	    host_family(h, LDNS_RR_TYPE_AAAA, port, &any) == -1)
		return -1;
	if (h->expanded == NULL && (h->expanded = strdup(h->name)) == NULL)
		return -1;
	/* A name that exists in one family is not NXDOMAIN. */
	if (h->n > 0)
		h->nxdomain = 0;
	return 0;
}

void
dane_host_free(struct dane_host *h)
{
	free(h->name);
	free(h->expanded);
	h->name = h->expanded = NULL;
	h->n = 0;
}

/* ---- TLSA ---- */

static char *
tlsa_qname(unsigned port, const char *base)
{
	char *q;

	if (asprintf(&q, "_%u._tcp.%s", port, base) == -1)
		return NULL;
	return q;
}

static void
tlsa_clear(struct dane_tlsa *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		tlsa_rr_free(&t->rr[i]);
	free(t->qname);
	free(t->base);
	memset(t, 0, sizeof(*t));
}

/* The records of the answer: parsed, usable ones counted.  A malformed
 * record is unusable, not an error (RFC 7671 4.1: ignore what cannot be
 * used). */
static void
tlsa_take(struct dane_tlsa *t, const ldns_rr_list *rrs)
{
	const char *why = NULL, *uwhy = NULL;
	size_t i;

	for (i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs) &&
	    t->n < DANE_MAX_TLSA; i++) {
		struct tlsa_rr *r = &t->rr[t->n];

		if (tlsa_rr_from_ldns(ldns_rr_list_rr(rrs, i), r, &why) == -1) {
			uwhy = why;
			continue;
		}
		t->n++;
		if (tlsa_rr_usable_smtp(r, &why)) {
			t->usable++;
			t->usage_bits |= 1u << r->usage;
		} else
			uwhy = why;
	}
	if (t->usable == 0)
		t->why = uwhy;
}

/* One TLSA lookup at _port._tcp.base into t (cleared first). */
static int
tlsa_at(struct dane_tlsa *t, unsigned port, const char *base)
{
	struct dns_answer *a;

	tlsa_clear(t);
	if ((t->base = strdup(base)) == NULL ||
	    (t->qname = tlsa_qname(port, base)) == NULL)
		return -1;
	if ((a = dns_query(t->qname, LDNS_RR_TYPE_TLSA)) == NULL)
		return -1;
	t->sec = sec_of(a);
	switch (a->status) {
	case DNS_OK:
		t->status = DANE_TLSA_FOUND;
		tlsa_take(t, a->rrs);
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		t->status = DANE_TLSA_NONE;
		break;
	case DNS_TEMPFAIL:
		t->status = DANE_TLSA_TEMPFAIL;
		t->why = "TLSA lookup failed (SERVFAIL or timeout; "
		    "bogus DNSSEC looks the same)";
		break;
	default:
		t->status = DANE_TLSA_PERMFAIL;
		t->why = "TLSA lookup refused or malformed";
		break;
	}
	dns_answer_free(a);
	return 0;
}

int
dane_tlsa_lookup(const struct dane_host *h, unsigned port,
    struct dane_tlsa *t)
{
	memset(t, 0, sizeof(*t));
	if (h->sec == DANE_SEC_SECURE && h->expanded != NULL &&
	    strcmp(h->expanded, h->name) != 0) {
		if (tlsa_at(t, port, h->expanded) == -1)
			return -1;
		/* Only a secure denial sends us back to the original name. */
		if (!(t->status == DANE_TLSA_NONE &&
		    t->sec == DANE_SEC_SECURE))
			return 0;
	}
	return tlsa_at(t, port, h->name);
}

void
dane_tlsa_free(struct dane_tlsa *t)
{
	tlsa_clear(t);
}

const char *
dane_result_name(enum dane_result r)
{
	static const char *const names[] = {
		"pass", "fail", "none", "nostarttls", "unreachable",
		"temperror", "nullmx"
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ?
	    names[r] : "temperror";
}
