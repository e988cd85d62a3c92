/* spf_ptr: the client's validated domain names (RFC 7208 5.5), for the
 * ptr mechanism and the %{p} macro.  Done here rather than by libspf2,
 * which needs the ptr target written literally in the record (markers
 * keep records short) and turns a failed A lookup into temperror where
 * 5.5 says to skip that name. */
#include "spf_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"

/* 1 when name has an address record equal to the client's; 0 when not
 * or on any error (5.5: the name is skipped).  void: count empties. */
static int
name_has_client(struct spf *s, const char *name, int count_void)
{
	struct dns_answer *a;
	size_t alen = s->c.family == AF_INET ? 4 : 16, n;
	int found = 0;

	if (!spf_name_lookupable(name))
		return 0;
	a = dns_query(name, s->c.family == AF_INET ? LDNS_RR_TYPE_A :
	    LDNS_RR_TYPE_AAAA);
	if (a == NULL)
		return 0;
	n = a->rrs != NULL ? ldns_rr_list_rr_count(a->rrs) : 0;
	if (count_void && (a->status == DNS_NXDOMAIN ||
	    (a->status == DNS_OK && n == 0) || a->status == DNS_NODATA))
		spf_count_void(s);
	for (size_t i = 0; a->status == DNS_OK && i < n; i++) {
		ldns_rdf *d = ldns_rr_rdf(ldns_rr_list_rr(a->rrs, i), 0);

		if (d != NULL && ldns_rdf_size(d) == alen &&
		    memcmp(ldns_rdf_data(d), s->c.ip, alen) == 0)
			found = 1;
	}
	dns_answer_free(a);
	return found;
}

char *
spf_rdf_name(ldns_rdf *d)
{
	char *n = d != NULL ? ldns_rdf2str(d) : NULL;
	size_t len;

	if (n != NULL && (len = strlen(n)) > 1 && n[len - 1] == '.')
		n[len - 1] = '\0';
	return n;
}

/* in-addr.arpa / ip6.arpa name of the client */
static char *
reverse_name(struct spf *s)
{
	ldns_rdf *rev, *ip;
	char *owner;

	ip = s->c.family == AF_INET ?
	    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, s->c.ip) :
	    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, s->c.ip);
	if (ip == NULL)
		return NULL;
	rev = ldns_rdf_address_reverse(ip);
	ldns_rdf_deep_free(ip);
	if (rev == NULL)
		return NULL;
	owner = spf_rdf_name(rev);
	ldns_rdf_deep_free(rev);
	return owner;
}

/* The PTR answer: 0 with the names (at most limits.ptr); -1 on a DNS
 * error (temp set when for_term). */
static int
ptr_names(struct spf *s, int for_term, ldns_rr_list **out)
{
	char *owner = reverse_name(s);
	struct dns_answer *a;

	*out = NULL;
	if (owner == NULL || (a = dns_query(owner, LDNS_RR_TYPE_PTR)) == NULL) {
		free(owner);
		return -1;
	}
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		if (for_term)
			spf_set_temp(s, "DNS failure looking up %s: %s", owner,
			    dns_status_str(a->status));
		free(owner);
		dns_answer_free(a);
		return -1;
	}
	free(owner);
	if (a->status == DNS_OK && a->rrs != NULL &&
	    ldns_rr_list_rr_count(a->rrs) > 0)
		*out = ldns_rr_list_clone(a->rrs);
	else if (for_term)
		spf_count_void(s);
	dns_answer_free(a);
	return 0;
}

static int
in_domain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' &&
	    strcasecmp(name + n - d, domain) == 0;
}

/* Validated names of the client, then: with target, 1 when one of them
 * is target or below it; without, *best gets the first (for %{p}). */
static int
walk(struct spf *s, const char *target, char **best)
{
	ldns_rr_list *l;
	int match = 0;

	if (ptr_names(s, target != NULL, &l) != 0)
		return -1;
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l) &&
	    i < s->o.limits.ptr; i++) {
		char *n = spf_rdf_name(ldns_rr_rdf(ldns_rr_list_rr(l, i), 0));

		if (n != NULL && name_has_client(s, n, target != NULL)) {
			if (target != NULL && in_domain(n, target))
				match = 1;
			if (best != NULL && *best == NULL) {
				*best = n;
				n = NULL;
			}
		}
		free(n);
	}
	ldns_rr_list_deep_free(l);
	return match;
}

int
spf_ptr_match(struct spf *s, const char *target)
{
	return walk(s, target, NULL);
}

const char *
spf_ptr_cb(void *arg)
{
	struct spf *s = arg;

	if (!s->c.ptr_done) {
		s->c.ptr_done = 1;
		walk(s, NULL, &s->c.ptr_name);
	}
	return s->c.ptr_name;
}
