/* dmarc_walk: _dmarc records from lib/dns, and the RFC 9989 tree walk.
 *
 * One record per name: the TXT records that start with v=DMARC1; none or
 * several of them is no record (RFC 7489 6.6.3, RFC 9989 4.10).
 *
 * CNAMEs: lib/dns follows a chain to its end.  The TXT records it returns
 * keep their owner name, so an owner other than _dmarc.DOMAIN shows that
 * a CNAME was followed; we then ask for the CNAME at _dmarc.DOMAIN itself,
 * and take the records only when that one CNAME points straight at their
 * owner.  A record reached through two or more CNAMEs is not taken (it
 * counts as no record): a _dmarc name handed over to a third party is
 * common, a chain of them is not.
 *
 * A timeout or SERVFAIL is a temporary failure; REFUSED, FORMERR and
 * names DNS cannot carry count as no record, as libopendmarc does.
 */
#include <stdlib.h>
#include <string.h>

#include "dmarc_int.h"

/* 1 when the one CNAME at qname points at target. */
static int
one_cname_to(const ldns_rdf *qname, const ldns_rdf *target)
{
	struct dns_answer *c;
	char *name;
	const ldns_rr *rr;
	size_t i;
	int ok = 0;

	if ((name = ldns_rdf2str(qname)) == NULL)
		return 0;
	c = dns_query(name, LDNS_RR_TYPE_CNAME);
	free(name);
	if (c == NULL)
		return 0;
	if (c->status == DNS_OK && c->rrs != NULL)
		for (i = 0; i < ldns_rr_list_rr_count(c->rrs); i++) {
			rr = ldns_rr_list_rr(c->rrs, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_rr_rdf(rr, 0) != NULL &&
			    ldns_dname_compare(ldns_rr_rdf(rr, 0), target) == 0)
				ok = 1;
		}
	dns_answer_free(c);
	return ok;
}

static void
fetch_into(struct dmarc_memo *m, struct dmarc_q *q)
{
	struct dns_answer *a;
	char name[DMARC_MAX_NAME + 16], *txt;
	const ldns_rr *rr, *pick = NULL;
	const ldns_rdf *owner = NULL;
	ldns_rdf *qname;
	size_t i, len, nd = 0;
	const char *why;

	q->got = DMARC_F_NONE;
	if (strlen(q->domain) + 8 > DMARC_MAX_NAME + 1)
		return;		/* _dmarc.DOMAIN is no DNS name */
	memcpy(name, "_dmarc.", 7);
	strcpy(name + 7, q->domain);
	m->sent++;
	if ((a = dns_query(name, LDNS_RR_TYPE_TXT)) == NULL) {
		m->oom = 1;
		q->got = DMARC_F_TEMP;
		return;
	}
	if (a->status == DNS_TEMPFAIL) {
		q->got = DMARC_F_TEMP;
		dns_answer_free(a);
		return;
	}
	if (a->status != DNS_OK || a->rrs == NULL) {
		dns_answer_free(a);
		return;
	}
	for (i = 0; i < ldns_rr_list_rr_count(a->rrs); i++) {
		rr = ldns_rr_list_rr(a->rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		owner = ldns_rr_owner(rr);
		if ((txt = dns_txt_join(rr, &len)) == NULL) {
			m->oom = 1;
			break;
		}
		if (memchr(txt, '\0', len) == NULL && len <= DMARC_MAX_RECORD &&
		    dmarc_rec_is_dmarc(txt, len)) {
			nd++;
			pick = rr;
		}
		free(txt);
	}
	if (nd > 1)
		q->got = DMARC_F_MANY;
	else if (nd == 1) {
		qname = ldns_dname_new_frm_str(name);
		if (qname != NULL && owner != NULL &&
		    ldns_dname_compare(qname, ldns_rr_owner(pick)) != 0) {
			if (one_cname_to(qname, ldns_rr_owner(pick)))
				q->cname = 1;
			else
				q->cname_refused = 1;
		}
		ldns_rdf_deep_free(qname);
		if (!q->cname_refused &&
		    (txt = dns_txt_join(pick, &len)) != NULL) {
			if (dmarc_rec_parse(txt, len, &q->rec, &why) == 0)
				q->got = DMARC_F_ONE;
			free(txt);
		}
	}
	dns_answer_free(a);
}

const struct dmarc_q *
dmarc_fetch(struct dmarc_memo *m, const char *domain)
{
	struct dmarc_q *q;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->q[i].domain, domain) == 0)
			return &m->q[i];
	if (m->n == DMARC_MAX_Q)
		return NULL;
	q = &m->q[m->n];
	memset(q, 0, sizeof(*q));
	if ((q->domain = strdup(domain)) == NULL) {
		m->oom = 1;
		return NULL;
	}
	m->n++;
	fetch_into(m, q);
	return q;
}

void
dmarc_memo_free(struct dmarc_memo *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->q[i].domain);
		dmarc_rec_free(&m->q[i].rec);
	}
	m->n = 0;
}

/*
 * RFC 9989 4.10: ask domain, then (steps 3-4) its ancestor with 7 labels
 * when it has 8 or more, else its parent, then one label less each time
 * down to the top-level label: at most 8 queries.  Stop at a record with
 * psd=y or psd=n.  4.10.2 then picks the Organizational Domain among the
 * names with a record, longest first: psd=n is it; psd=y (not at the
 * start) makes it the name one label below; else the name with the fewest
 * labels; with no record at all, the start itself.
 */
int
dmarc_walk(struct dmarc_memo *m, const char *domain, struct dmarc_walk *w)
{
	size_t labels = dmarc_label_count(domain), next;
	const struct dmarc_q *q, *shortest = NULL;
	const char *name = domain, *org = domain;

	memset(w, 0, sizeof(*w));
	next = labels;
	while (next >= 1 && w->n < DMARC_MAX_WALK) {
		if ((q = dmarc_fetch(m, name)) == NULL) {
			if (m->oom)
				return -1;
			w->tempfail = 1;	/* memo full: cannot know */
			break;
		}
		w->q[w->n++] = q;
		if (q->got == DMARC_F_TEMP) {
			w->tempfail = 1;
			break;
		}
		if (q->got == DMARC_F_ONE) {
			shortest = q;
			if (q->rec.psd == 'y' || q->rec.psd == 'n') {
				w->stopped = 1;
				break;
			}
		}
		if (next == labels && labels >= 8)
			next = 7;
		else
			next--;
		if (next >= 1)
			name = dmarc_suffix(domain, next);
	}
	if (shortest != NULL) {
		if (shortest->rec.psd == 'y' && w->stopped &&
		    strcmp(shortest->domain, domain) != 0) {
			w->psd = shortest;
			org = dmarc_suffix(domain,
			    dmarc_label_count(shortest->domain) + 1);
		} else
			org = shortest->domain;
	}
	if ((w->org = strdup(org)) == NULL)
		return -1;
	return 0;
}

void
dmarc_walk_free(struct dmarc_walk *w)
{
	free(w->org);
	memset(w, 0, sizeof(*w));
}
