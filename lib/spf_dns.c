/* spf_dns: libspf2's DNS layer over lib/dns, record selection and one
 * evaluation.  In the records libspf2 sees, every term that queries DNS
 * names a marker (spf_norm.c), so a marker lookup is that term's own
 * (counted, with its CIDR lengths applied); libspf2 evaluates
 * sequentially, so any other name it asks for is one of the MX answer
 * just given. */
#include "spf_int.h"

#include <sys/random.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"

int
spf_count_lookup(struct spf *s)
{
	if (++s->c.lookups <= s->o.limits.lookups)
		return 0;
	spf_set_perm(s, "more than %u DNS lookups", s->o.limits.lookups);
	return -1;
}

int
spf_count_void(struct spf *s)
{
	if (++s->c.voids <= s->o.limits.void_lookups || s->c.guessing)
		return 0;
	spf_set_perm(s, "more than %u void DNS lookups",
	    s->o.limits.void_lookups);
	return -1;
}

/* The marker's entry, or NULL for a real name. */
static struct spf_mark *
find_mark(struct spf *s, const char *name)
{
	size_t n = strlen(name), sl = strlen(s->suffix);
	char *end;
	unsigned long i;

	if (n <= sl + 1 || name[0] != 'm' ||
	    strcasecmp(name + n - sl, s->suffix) != 0)
		return NULL;
	i = strtoul(name + 1, &end, 10);
	if (end != name + n - sl || i >= s->c.nmarks)
		return NULL;
	return &s->c.marks[i];
}

static void
note_term(struct spf *s, const struct spf_mark *m)
{
	if (s->c.recs[m->rec].main) {
		s->c.last_main = 1;
		s->c.last_rec = m->rec;
		s->c.last_term = m->term;
	}
}

/* ---- answers for libspf2 ---- */

static SPF_dns_rr_t *
rr_status(SPF_dns_server_t *d, const char *name, ns_type t, int herrno)
{
	return SPF_dns_rr_new_init(d, name, t, 0, herrno);
}

static int
add_addr(SPF_dns_rr_t *rr, const void *data, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, len) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[rr->num_rr], data, len);
	rr->num_rr++;
	return 0;
}

static int
add_name(SPF_dns_rr_t *rr, ldns_rdf *d)
{
	char *n = d != NULL ? ldns_rdf2str(d) : NULL;
	size_t len;

	if (n == NULL)
		return -1;
	len = strlen(n);
	if (len > 1 && n[len - 1] == '.')
		n[--len] = '\0';
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, len + 1) != SPF_E_SUCCESS) {
		free(n);
		return -1;
	}
	memcpy(rr->rr[rr->num_rr], n, len + 1);
	rr->num_rr++;
	free(n);
	return 0;
}

/* An address within the term's CIDR length stands for the client: then
 * libspf2's exact comparison gives the RFC's answer for any length. */
static void
add_address(struct spf *s, SPF_dns_rr_t *rr, ldns_rdf *d, int c4, int c6)
{
	size_t len = ldns_rdf_size(d);
	int fam = len == 4 ? AF_INET : AF_INET6;

	if (len != 4 && len != 16)
		return;
	if (fam == s->c.family && spf_ip_match(fam, ldns_rdf_data(d), s->c.ip,
	    fam == AF_INET ? c4 : c6))
		add_addr(rr, s->c.ip, len);
	else
		add_addr(rr, ldns_rdf_data(d), len);
}

/* Look name up through lib/dns and convert; counts the void answers. */
static SPF_dns_rr_t *
answer(struct spf *s, SPF_dns_server_t *d, const char *qname,
    const char *name, ns_type t, int c4, int c6, unsigned max)
{
	struct dns_answer *a;
	SPF_dns_rr_t *rr;
	size_t n;

	if (!spf_name_lookupable(name)) {
		spf_count_void(s);
		return rr_status(d, qname, t, HOST_NOT_FOUND);
	}
	if ((a = dns_query(name, (ldns_rr_type)t)) == NULL)
		return rr_status(d, qname, t, TRY_AGAIN);
	n = a->rrs != NULL ? ldns_rr_list_rr_count(a->rrs) : 0;
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		spf_set_temp(s, "DNS failure looking up %s: %s", name,
		    dns_status_str(a->status));
		dns_answer_free(a);
		return rr_status(d, qname, t, TRY_AGAIN);
	}
	if (a->status != DNS_OK || n == 0) {
		int nx = a->status == DNS_NXDOMAIN;

		dns_answer_free(a);
		spf_count_void(s);
		return rr_status(d, qname, t, nx ? HOST_NOT_FOUND : NO_DATA);
	}
	if (t == ns_t_mx && n > max) {
		spf_set_perm(s, "more than %u MX records for %s", max, name);
		dns_answer_free(a);
		return rr_status(d, qname, t, HOST_NOT_FOUND);
	}
	rr = rr_status(d, qname, t, NETDB_SUCCESS);
	for (size_t i = 0; rr != NULL && i < n && i < max; i++) {
		ldns_rr *r = ldns_rr_list_rr(a->rrs, i);

		if (t == ns_t_a || t == ns_t_aaaa)
			add_address(s, rr, ldns_rr_rdf(r, 0), c4, c6);
		else
			add_name(rr, ldns_rr_rdf(r, t == ns_t_mx ? 1 : 0));
	}
	dns_answer_free(a);
	return rr;
}

/* ptr as "exists": an address when our RFC 7208 5.5 walk matched. */
static SPF_dns_rr_t *
ptr_answer(struct spf *s, SPF_dns_server_t *d, const char *qname,
    const struct spf_mark *m, ns_type t)
{
	static const unsigned char yes[4] = { 127, 0, 0, 2 };
	SPF_dns_rr_t *rr;
	int r = spf_ptr_match(s, m->name);

	if (r < 0) {
		spf_set_temp(s, "DNS failure looking up the PTR of the client");
		return rr_status(d, qname, t, TRY_AGAIN);
	}
	if (r == 0 || t != ns_t_a)
		return rr_status(d, qname, t, HOST_NOT_FOUND);
	if ((rr = rr_status(d, qname, t, NETDB_SUCCESS)) != NULL)
		add_addr(rr, yes, sizeof(yes));
	return rr;
}

static SPF_dns_rr_t *
lookup_mark(struct spf *s, SPF_dns_server_t *d, const char *qname,
    struct spf_mark *m, ns_type t)
{
	note_term(s, m);
	s->c.mx_cidr4 = 32;
	s->c.mx_cidr6 = 128;
	if (m->kind == MK_SIGNAL || m->kind == MK_CHAIN)
		return rr_status(d, qname, t, HOST_NOT_FOUND);
	if (spf_count_lookup(s) != 0)
		return rr_status(d, qname, t, HOST_NOT_FOUND);
	if (m->kind == MK_PTR)
		return ptr_answer(s, d, qname, m, t);
	if (m->kind == MK_MX) {
		s->c.mx_cidr4 = m->cidr4;
		s->c.mx_cidr6 = m->cidr6;
		return answer(s, d, qname, m->name, t, 32, 128,
		    s->o.limits.mx);
	}
	if (m->kind == MK_EXISTS)
		return answer(s, d, qname, m->name, t, 32, 128, ~0u);
	return answer(s, d, qname, m->name, t, m->cidr4, m->cidr6, ~0u);
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *d, const char *name, ns_type t, int cache)
{
	struct spf *s = d->hook;
	struct spf_mark *m;

	(void)cache;
	if (s->c.perm != NULL || s->c.temp != NULL)
		return rr_status(d, name, t, HOST_NOT_FOUND);
	if ((m = find_mark(s, name)) != NULL)
		return lookup_mark(s, d, name, m, t);
	/* an exchange of the last MX answer (ptr never reaches libspf2) */
	return answer(s, d, name, name, t, s->c.mx_cidr4, s->c.mx_cidr6, ~0u);
}

/* ---- records ---- */

static int
add_rec(struct spf *s, const char *domain, const char *txt, size_t len,
    int main)
{
	struct spf_rec *r;
	char why[160];

	r = realloc(s->c.recs, (s->c.nrecs + 1) * sizeof(*r));
	if (r == NULL)
		return -1;
	s->c.recs = r;
	r = &s->c.recs[s->c.nrecs];
	memset(r, 0, sizeof(*r));
	r->main = main;
	r->domain = strdup(domain);
	r->text = malloc(len + 1);
	if (r->domain == NULL || r->text == NULL) {
		free(r->domain);
		free(r->text);
		return -1;
	}
	memcpy(r->text, txt, len);
	r->text[len] = '\0';
	s->c.nrecs++;
	if (spf_record_parse(r->text, len, &r->parsed, why, sizeof(why))
	    != 0) {
		spf_set_perm(s, "%s in the SPF record of %s", why, domain);
		return -1;
	}
	if (main) {
		s->c.exp_rec = s->c.nrecs - 1;
		s->c.have_exp_rec = 1;
	}
	return 0;
}

/* Compile a rewritten record (or piece); libspf2 may drop mechanisms
 * without a word, so their number is checked. */
static SPF_errcode_t
compile(struct spf *s, SPF_response_t *resp, const char *domain,
    const char *text, unsigned nmech, SPF_record_t **recp)
{
	SPF_errcode_t err = SPF_record_compile(s->server, resp, recp, text);

	if (err == SPF_E_SUCCESS && (*recp)->num_mech == nmech)
		return SPF_E_SUCCESS;
	spf_set_perm(s, "libspf2 cannot compile the SPF record of %s (%s)",
	    domain, err != SPF_E_SUCCESS ? SPF_strerror(err) : "too long");
	if (*recp != NULL)
		SPF_record_free(*recp);
	*recp = NULL;
	return SPF_E_SYNTAX;
}

/* Check, rewrite and compile one record. */
static SPF_errcode_t
load_record(struct spf *s, SPF_response_t *resp, const char *domain,
    const char *txt, size_t len, int main, SPF_record_t **recp)
{
	char *norm;
	unsigned nmech = 0;
	SPF_errcode_t err;

	if (add_rec(s, domain, txt, len, main) != 0) {
		spf_set_perm(s, "out of memory");
		return SPF_E_SYNTAX;
	}
	if ((norm = spf_normalize(s, s->c.nrecs - 1, &nmech)) == NULL) {
		spf_set_perm(s, "out of memory");
		return SPF_E_SYNTAX;
	}
	err = compile(s, resp, domain, norm, nmech, recp);
	free(norm);
	return err;
}

/* The one "v=spf1" TXT record of domain (RFC 7208 4.5).  0 with *idx;
 * 1 none; -1 error (perm/temp set). */
static int
select_record(struct spf *s, const char *domain, char **txt, size_t *lens,
    size_t n, size_t *idx)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		if (spf_record_is_spf1(txt[i], lens[i])) {
			*idx = i;
			found++;
		}
	if (found > 1) {
		spf_set_perm(s, "%s has %zu SPF records", domain, found);
		return -1;
	}
	return found == 0;
}

/* 0 with *recp compiled; 1: domain has no record; -1 error. */
static int
fetch_record(struct spf *s, SPF_response_t *resp, const char *domain,
    int main, SPF_record_t **recp)
{
	char **txt = NULL;
	size_t *lens = NULL, n = 0, idx = 0;
	enum dns_status st;
	int r;

	if (!spf_name_lookupable(domain))
		return 1;
	st = dns_txt(domain, &txt, &lens, &n, NULL);
	if (st == DNS_TEMPFAIL || st == DNS_PERMFAIL) {
		spf_set_temp(s, "DNS failure looking up the SPF record of %s: "
		    "%s", domain, dns_status_str(st));
		dns_txt_free(txt, lens, n);
		return -1;
	}
	if (st != DNS_OK || n == 0) {
		dns_txt_free(txt, lens, n);
		return spf_count_void(s) != 0 ? -1 : 1;
	}
	r = select_record(s, domain, txt, lens, n, &idx);
	if (r == 0 && load_record(s, resp, domain, txt[idx], lens[idx], main,
	    recp) != SPF_E_SUCCESS)
		r = -1;
	dns_txt_free(txt, lens, n);
	return r;
}

/* libspf2 calls this (SPF_server_get_record) for every include and
 * redirect target: their cur_dom is a marker.  The top record is fetched
 * by top_record. */
static SPF_errcode_t
layer_get_spf(SPF_server_t *server, SPF_request_t *req, SPF_response_t *resp,
    SPF_record_t **recp)
{
	struct spf *s = server->resolver->hook;
	struct spf_mark *m = find_mark(s, req->cur_dom);
	int main = 1, r;

	*recp = NULL;
	if (s->c.perm != NULL || s->c.temp != NULL)
		return s->c.temp != NULL ? SPF_E_DNS_ERROR : SPF_E_SYNTAX;
	if (m == NULL)
		return SPF_E_INTERNAL_ERROR;
	if (m->kind == MK_CHAIN)
		return compile(s, resp, s->c.recs[m->rec].domain, m->name,
		    m->nmech, recp);
	if (m->kind == MK_INCLUDE) {
		note_term(s, m);
		main = 0;
		if (spf_count_lookup(s) != 0)
			return SPF_E_BIG_DNS;
	} else {
		main = s->c.recs[m->rec].main;
	}
	r = fetch_record(s, resp, m->name, main, recp);
	if (r == 1)
		spf_set_perm(s, "%s %s has no SPF record", m->kind ==
		    MK_INCLUDE ? "included domain" : "redirect target",
		    m->name);
	if (r == 0)
		return SPF_E_SUCCESS;
	return s->c.temp != NULL ? SPF_E_DNS_ERROR : SPF_E_NOT_SPF;
}

/* ---- engine ---- */

static void
make_suffix(struct spf *s)
{
	unsigned char r[4] = { 0 };

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		unsigned long v = (unsigned long)time(NULL) ^
		    (unsigned long)getpid() ^ (unsigned long)(uintptr_t)s;

		memcpy(r, &v, sizeof(r));
	}
	snprintf(s->suffix, sizeof(s->suffix), ".x%02x%02x%02x%02x.invalid",
	    r[0], r[1], r[2], r[3]);
}

int
spf_engine_new(struct spf *s, const char **why)
{
	SPF_response_t *resp = NULL;

	make_suffix(s);
	if ((s->dns = calloc(1, sizeof(*s->dns))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	s->dns->destroy = NULL;	/* we free it ourselves */
	s->dns->lookup = layer_lookup;
	s->dns->get_spf = layer_get_spf;
	s->dns->name = "mxkit";
	s->dns->hook = s;
	if ((s->server = SPF_server_new_dns(s->dns, 0)) == NULL) {
		free(s->dns);
		*why = "libspf2 could not start";
		return -1;
	}
	/* The limits are ours (the DNS layer counts); libspf2's own would
	 * stop at its defaults, or treat more than 10 PTR names as an
	 * error where RFC 7208 4.6.4 says to ignore them. */
	SPF_server_set_max_dns_mech(s->server, 1 << 20);
	SPF_server_set_max_dns_mx(s->server, 1 << 20);
	SPF_server_set_max_dns_ptr(s->server, 1 << 20);
	SPF_server_set_rec_dom(s->server, s->o.receiver);
	/* a plain word: libspf2's macro code never runs on explanations */
	SPF_server_set_explanation(s->server, "x", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	return 0;
}

void
spf_engine_free(struct spf *s)
{
	if (s->server != NULL)
		SPF_server_free(s->server);
	free(s->dns);
}

static enum spfr
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return SPFR_PASS;
	case SPF_RESULT_FAIL: return SPFR_FAIL;
	case SPF_RESULT_SOFTFAIL: return SPFR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return SPFR_NEUTRAL;
	case SPF_RESULT_NONE: return SPFR_NONE;
	case SPF_RESULT_TEMPERROR: return SPFR_TEMPERROR;
	default: return SPFR_PERMERROR;
	}
}

/* The top record, fetched by us (libspf2's get_record would see no
 * marker); Exim's best guess when the domain publishes none.  0 with
 * *recp; 1 none; -1 error. */
static int
top_record(struct spf *s, SPF_response_t *resp, SPF_record_t **recp,
    int *guessed)
{
	int r;

	*guessed = 0;
	if (s->c.domain == NULL)
		return 1;
	r = fetch_record(s, resp, s->c.domain, 1, recp);
	/* The void limit is for the lookups of a record's terms (RFC 7208
	 * 4.6.4): the domain's own missing record is not one of them. */
	if (r == 1)
		s->c.voids = 0;
	/* The best guess is local policy, not a published record: guessing
	 * about a domain that has no A or MX records is still a guess. */
	if (r == 1 && s->o.guess != NULL && s->c.perm == NULL) {
		*guessed = 1;
		s->c.guessing = 1;
		if (load_record(s, resp, s->c.domain, s->o.guess,
		    strlen(s->o.guess), 1, recp) != SPF_E_SUCCESS)
			return -1;
		return 0;
	}
	return r;
}

static void
interpret(struct spf *s, SPF_request_t *req, SPF_record_t *rec,
    struct spf_verdict *v, SPF_reason_t *reason)
{
	SPF_response_t *resp = SPF_response_new(req);

	if (resp == NULL) {
		spf_set_temp(s, "out of memory");
		return;
	}
	resp->spf_record_exp = rec;
	SPF_record_interpret(rec, req, resp, 0);
	v->result = map_result(resp->result);
	*reason = resp->reason;
	if (v->result == SPFR_PERMERROR && s->c.perm == NULL)
		spf_set_perm(s, "%s", SPF_strerror(resp->err));
	if (v->result == SPFR_TEMPERROR && s->c.temp == NULL)
		spf_set_temp(s, "%s", SPF_strerror(resp->err));
	SPF_response_free(resp);
}

/* Only the client and HELO: the sender is never given to libspf2, whose
 * macros we do not use (every domain-spec reaches it expanded). */
static void
setup_request(struct spf *s, SPF_request_t *req)
{
	if (s->c.family == AF_INET) {
		struct in_addr a;

		memcpy(&a, s->c.ip, 4);
		SPF_request_set_ipv4(req, a);
	} else {
		struct in6_addr a;

		memcpy(&a, s->c.ip, 16);
		SPF_request_set_ipv6(req, a);
	}
	if (s->c.helo != NULL && *s->c.helo != '\0')
		SPF_request_set_helo_dom(req, s->c.helo);
	req->cur_dom = s->c.domain;
}

int
spf_engine_run(struct spf *s, struct spf_verdict *v)
{
	SPF_request_t *req = SPF_request_new(s->server);
	SPF_response_t *resp = SPF_response_new(req);
	SPF_record_t *rec = NULL;
	SPF_reason_t reason = SPF_REASON_NONE;
	int r;

	if (req == NULL || resp == NULL) {
		if (resp != NULL)
			SPF_response_free(resp);
		if (req != NULL)
			SPF_request_free(req);
		return -1;
	}
	s->c.mx_cidr4 = 32;
	s->c.mx_cidr6 = 128;
	setup_request(s, req);
	r = top_record(s, resp, &rec, &v->guessed);
	if (r == 0)
		interpret(s, req, rec, v, &reason);
	else if (r == 1)
		v->result = SPFR_NONE;
	if (s->c.perm != NULL)
		v->result = SPFR_PERMERROR;
	else if (s->c.temp != NULL)
		v->result = SPFR_TEMPERROR;
	s->c.none = r == 1 && v->result == SPFR_NONE;
	if (reason == SPF_REASON_DEFAULT)
		s->c.by_default = 1;
	if (rec != NULL)
		SPF_record_free(rec);
	req->cur_dom = NULL;
	SPF_response_free(resp);
	SPF_request_free(req);
	v->lookups = s->c.lookups;
	v->void_lookups = s->c.voids;
	return 0;
}
