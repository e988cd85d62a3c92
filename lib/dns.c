/* dns: zone files, an in-process cache and the network, over ldns.
 *
 * Lookup order for (name, type): the records loaded from master files, then
 * the cache, then the network.  Zone data is built while configuring and
 * only read afterwards, so lookups read it without a lock.  The cache and
 * its in-flight entries are under one mutex: when several threads ask for
 * the same (name, type) at once, the first sends the query and the others
 * wait on a condition variable for its answer, so a -j run sends one query
 * per distinct key.
 *
 * Each network lookup uses its own ldns_resolver, cloned from a template
 * that is only read once built.  The template is built at the first network
 * lookup, not while configuring: a run that finds every key in zone files
 * (or never looks anything up) does not read /etc/resolv.conf.  A
 * --resolver address is parsed while configuring, so that a mistake in it
 * is still reported at start-up.  ldns_resolver is not thread-safe:
 * sending marks unreachable servers in it (and then skips them for good),
 * may shuffle its server list and flips its TCP flag.  A lock around sends
 * would make -j workers wait on each other's network round trips, and a
 * per-thread resolver would carry an "unreachable" mark from one timeout to
 * every later lookup of that thread; a clone costs a few mallocs, nothing
 * next to a round trip.
 *
 * With trust anchors, a network answer is classified by lib/dnssec before
 * it is cached, so cached answers keep their classification; the DS and
 * DNSKEY lookups of the validation go through the lookup's own resolver
 * clone (not this cache: lib/dnssec needs their RRSIGs and keeps the
 * verified keys itself).  Bogus answers become DNS_TEMPFAIL, which is not
 * cached.
 */
#include "clock.h"
#include "dns.h"
#include "dnssec.h"
#include "diag.h"
#include "idn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHAIN_MAX	8		/* CNAME hops followed */
#define NEG_TTL_MAX	300		/* cap on negative caching */
#define NEG_TTL_NOSOA	300		/* negative answer without an SOA */
#define CACHE_MAX	131072		/* cache entries before eviction */
#define ZONE_RRS_MAX	1000000		/* records over all master files */
#define NAME_TEXT_MAX	1024		/* presentation form, escapes included */
#define RETRIES_MAX	20
#define TIMEOUT_MS_MAX	60000
/* The EDNS0 buffer size of DNS flag day 2020: larger answers come by TCP
 * rather than as fragments that firewalls drop. */
#define EDNS_SIZE	1232
#define KEY_MAX		(LDNS_MAX_DOMAINLEN + 2)

/* A small chained hash table of nodes embedded in larger structs, which
 * keep the key bytes (a flexible array at their end). */
struct hnode {
	struct hnode *next;
	const uint8_t *key;
	uint32_t hash;
	uint16_t klen;
};

struct htab {
	struct hnode **b;
	size_t nb, n;
};

/* A name in the zone data; rrs NULL: it only has names below it. */
struct zname {
	struct hnode h;
	ldns_rr_list *rrs;
	uint8_t key[];
};

struct centry {
	struct hnode h;
	int inflight;
	unsigned waiters;
	uint64_t expires;	/* monotonic ms */
	enum dns_status status;
	int secure;
	uint32_t ttl;
	ldns_rr_list *rrs;
	uint8_t key[];
};

static struct {
	pthread_mutex_t lock;	/* cache, configuration */
	pthread_cond_t done;	/* an in-flight cache entry got its answer */
	atomic_int configured;
	struct dns_opts opts;
	ldns_rdf *server;	/* the configured resolver; NULL: resolv.conf */
	uint16_t port;
	atomic_int tmpl_built;	/* tmpl is final (set under lock) */
	ldns_resolver *tmpl;	/* NULL: no usable server */
	struct dnssec *dnssec;	/* trust anchors: validate; NULL: AD bit */
	struct htab zone;
	ldns_rr_list *apexes;	/* SOA records, owners canonical */
	size_t zone_rrs;
	int env_zones_loaded;
	struct htab cache;
	char why[768];
} st = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

/* Keys come from mail (d= domains): a per-process seed keeps chosen names
 * from piling into one bucket. */
static uint32_t hash_seed = 2166136261u;

static struct {
	atomic_ulong queries, network, cache_hits, zone_hits, timeouts, tcp;
} ctr;

static void lookup(const ldns_rdf *, ldns_rr_type, int, struct dns_answer *);

/* ---- hash table ---- */

static uint32_t
key_hash(const uint8_t *k, size_t n)
{
	uint32_t h = hash_seed;

	while (n--)
		h = (h ^ *k++) * 16777619u;
	return h;
}

static struct hnode *
ht_find(const struct htab *t, const uint8_t *k, size_t klen)
{
	uint32_t h;
	struct hnode *p;

	if (t->nb == 0)
		return NULL;
	h = key_hash(k, klen);
	for (p = t->b[h % t->nb]; p != NULL; p = p->next)
		if (p->hash == h && p->klen == klen &&
		    memcmp(p->key, k, klen) == 0)
			return p;
	return NULL;
}

static int
ht_grow(struct htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 256, i;
	struct hnode **b, *p, *next;

	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return -1;
	for (i = 0; i < t->nb; i++)
		for (p = t->b[i]; p != NULL; p = next) {
			next = p->next;
			p->next = b[p->hash % nb];
			b[p->hash % nb] = p;
		}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

/* Link node under key (klen bytes the node's container holds); the caller
 * made sure the key is absent. */
static int
ht_insert(struct htab *t, struct hnode *node, const uint8_t *key, size_t klen)
{
	if (t->n >= t->nb && ht_grow(t) == -1)
		return -1;
	node->key = key;
	node->klen = (uint16_t)klen;
	node->hash = key_hash(key, klen);
	node->next = t->b[node->hash % t->nb];
	t->b[node->hash % t->nb] = node;
	t->n++;
	return 0;
}

/* Unlink and free every node keep() refuses; keep NULL empties the table. */
static void
ht_sweep(struct htab *t, int (*keep)(struct hnode *, uint64_t), uint64_t arg,
    void (*drop)(struct hnode *))
{
	size_t i;
	struct hnode **pp, *p;

	for (i = 0; i < t->nb; i++)
		for (pp = &t->b[i]; (p = *pp) != NULL;) {
			if (keep != NULL && keep(p, arg)) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			t->n--;
			drop(p);
		}
	if (keep == NULL) {
		free(t->b);
		t->b = NULL;
		t->nb = 0;
	}
}

/* ---- names and answers ---- */

/* Parse a name in presentation form (trailing dot optional) into its
 * canonical (lower-case) wire form; NULL for anything not a domain name.
 * U-labels become A-labels first (RFC 8616): DNS holds only the latter. */
static ldns_rdf *
name_parse(const char *s)
{
	ldns_rdf *d;
	char *alabels = NULL;
	const char *why;
	ldns_status rc;

	if (s == NULL || *s == '\0' || strnlen(s, NAME_TEXT_MAX + 1) >
	    NAME_TEXT_MAX)
		return NULL;
	if (idn_is_unicode(s)) {
		if ((alabels = idn_to_alabels(s, &why)) == NULL)
			return NULL;
		s = alabels;
	}
	rc = ldns_str2rdf_dname(&d, s);
	free(alabels);
	if (rc != LDNS_STATUS_OK)
		return NULL;
	if (ldns_rdf_size(d) > LDNS_MAX_DOMAINLEN) {
		ldns_rdf_deep_free(d);
		return NULL;
	}
	ldns_dname2canonical(d);
	return d;
}

static ldns_rdf *
name_canonical(const ldns_rdf *d)
{
	ldns_rdf *c = ldns_rdf_clone(d);

	if (c != NULL)
		ldns_dname2canonical(c);
	return c;
}

/* The cache key: canonical wire name, then the type. */
static size_t
cache_key(uint8_t *k, const ldns_rdf *name, ldns_rr_type type)
{
	size_t n = ldns_rdf_size(name);

	memcpy(k, ldns_rdf_data(name), n);
	k[n] = (uint8_t)(type >> 8);
	k[n + 1] = (uint8_t)type;
	return n + 2;
}

static void
answer_set(struct dns_answer *a, enum dns_status status, uint32_t ttl,
    ldns_rr_list *rrs, int secure, const char *source)
{
	ldns_rr_list_deep_free(a->rrs);
	free(a->why);
	a->why = NULL;
	a->status = status;
	a->ttl = ttl;
	a->rrs = rrs;
	a->secure = secure;
	a->source = source;
}

static uint32_t
neg_ttl_clamp(uint32_t ttl)
{
	if (ttl > NEG_TTL_MAX)
		return NEG_TTL_MAX;
	return ttl < 1 ? 1 : ttl;
}

/* RFC 2308 section 5: the lesser of the SOA's TTL and its MINIMUM. */
static uint32_t
soa_neg_ttl(const ldns_rr *soa)
{
	uint32_t ttl = ldns_rr_ttl(soa);
	const ldns_rdf *min = ldns_rr_rdf(soa, 6);

	if (min != NULL && ldns_rdf_size(min) == 4 &&
	    ldns_rdf2native_int32(min) < ttl)
		ttl = ldns_rdf2native_int32(min);
	return neg_ttl_clamp(ttl);
}

static uint32_t
ttl_min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* ---- zone data ---- */

static void
zname_drop(struct hnode *h)
{
	struct zname *z = (struct zname *)h;

	ldns_rr_list_deep_free(z->rrs);
	free(z);
}

static struct zname *
zname_get(const ldns_rdf *cname, int create)
{
	struct zname *z;

	z = (struct zname *)ht_find(&st.zone, ldns_rdf_data(cname),
	    ldns_rdf_size(cname));
	if (z != NULL || !create)
		return z;
	if ((z = calloc(1, sizeof(*z) + ldns_rdf_size(cname))) == NULL)
		return NULL;
	memcpy(z->key, ldns_rdf_data(cname), ldns_rdf_size(cname));
	if (ht_insert(&st.zone, &z->h, z->key, ldns_rdf_size(cname)) == -1) {
		free(z);
		return NULL;
	}
	return z;
}

/* Make every ancestor of a name known, so that a name with only names
 * below it (an empty non-terminal) answers NODATA rather than NXDOMAIN. */
static int
zone_add_ancestors(const ldns_rdf *cname)
{
	ldns_rdf *p = ldns_dname_left_chop(cname), *next;
	int rc = 0;

	while (p != NULL && ldns_dname_label_count(p) > 0) {
		if (zname_get(p, 0) != NULL)
			break;	/* its ancestors are known already */
		if (zname_get(p, 1) == NULL) {
			rc = -1;
			break;
		}
		next = ldns_dname_left_chop(p);
		ldns_rdf_deep_free(p);
		p = next;
	}
	ldns_rdf_deep_free(p);
	return rc;
}

static int
zone_add_rr(const ldns_rr *rr)
{
	ldns_rdf *cname;
	struct zname *z;
	ldns_rr *copy;
	int rc = -1;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return 0;
	if ((cname = name_canonical(ldns_rr_owner(rr))) == NULL)
		return -1;
	if ((z = zname_get(cname, 1)) == NULL)
		goto out;
	if (z->rrs == NULL && (z->rrs = ldns_rr_list_new()) == NULL)
		goto out;
	if ((copy = ldns_rr_clone(rr)) == NULL)
		goto out;
	if (!ldns_rr_list_push_rr(z->rrs, copy)) {
		ldns_rr_free(copy);
		goto out;
	}
	st.zone_rrs++;
	rc = zone_add_ancestors(cname);
out:
	ldns_rdf_deep_free(cname);
	return rc;
}

static int
zone_add_apex(const ldns_rr *soa)
{
	ldns_rr *c;

	if (st.apexes == NULL && (st.apexes = ldns_rr_list_new()) == NULL)
		return -1;
	if ((c = ldns_rr_clone(soa)) == NULL)
		return -1;
	ldns_dname2canonical(ldns_rr_owner(c));
	if (!ldns_rr_list_push_rr(st.apexes, c)) {
		ldns_rr_free(c);
		return -1;
	}
	return 0;
}

static int
zone_add(const ldns_rr *soa, const ldns_rr_list *rrs, const char *path,
    char **why)
{
	size_t i, n = ldns_rr_list_rr_count(rrs);

	if (st.zone_rrs + n + 1 > ZONE_RRS_MAX) {
		*why = diag_where(path, 0, "too many records");
		return -1;
	}
	if (soa != NULL && (zone_add_apex(soa) == -1 || zone_add_rr(soa) == -1))
		goto nomem;
	for (i = 0; i < n; i++)
		if (zone_add_rr(ldns_rr_list_rr(rrs, i)) == -1)
			goto nomem;
	return 0;
nomem:
	*why = diag_where(path, 0, strerror(ENOMEM));
	return -1;
}

/* A master file's records, read one at a time rather than with
 * ldns_zone_new_frm_fp_l, which leaks the records read before an error.
 * As there: the first SOA is the zone's (later ones are dropped) and gives
 * the origin when no $ORIGIN came before it. */
static ldns_status
zone_parse(FILE *fp, ldns_rr **soa, ldns_rr_list *rrs, int *line)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	ldns_rr *rr;
	ldns_status s = LDNS_STATUS_OK;

	while (s == LDNS_STATUS_OK && !feof(fp)) {
		rr = NULL;
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, line);
		switch (s) {
		case LDNS_STATUS_OK:
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) {
				if (!ldns_rr_list_push_rr(rrs, rr)) {
					ldns_rr_free(rr);
					s = LDNS_STATUS_MEM_ERR;
				}
			} else if (*soa != NULL)
				ldns_rr_free(rr);
			else {
				*soa = rr;
				if (origin == NULL && (origin = ldns_rdf_clone(
				    ldns_rr_owner(rr))) == NULL)
					s = LDNS_STATUS_MEM_ERR;
			}
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			s = LDNS_STATUS_OK;
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			s = LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL;
			break;
		default:
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return s;
}

static int
zone_load_locked(const char *path, char **why)
{
	FILE *fp;
	ldns_rr *soa = NULL;
	ldns_rr_list *rrs;
	ldns_status s;
	int line = 0, rc = -1;

	if ((fp = fopen(path, "r")) == NULL) {
		*why = diag_where(path, 0, strerror(errno));
		return -1;
	}
	if ((rrs = ldns_rr_list_new()) == NULL) {
		fclose(fp);
		*why = diag_where(path, 0, strerror(ENOMEM));
		return -1;
	}
	s = zone_parse(fp, &soa, rrs, &line);
	if (s == LDNS_STATUS_OK && ferror(fp))
		*why = diag_where(path, 0, strerror(EIO));
	else if (s != LDNS_STATUS_OK)
		*why = diag_where(path, line > 0 ? line : 1,
		    ldns_get_errorstr_by_id(s));
	else
		rc = zone_add(soa, rrs, path, why);
	fclose(fp);
	ldns_rr_free(soa);
	ldns_rr_list_deep_free(rrs);
	return rc;
}

/* The deepest SOA whose apex is name or one of its ancestors. */
static const ldns_rr *
zone_apex_of(const ldns_rdf *name)
{
	const ldns_rr *best = NULL, *soa;
	const ldns_rdf *apex;
	size_t i, n = st.apexes ? ldns_rr_list_rr_count(st.apexes) : 0;

	for (i = 0; i < n; i++) {
		soa = ldns_rr_list_rr(st.apexes, i);
		apex = ldns_rr_owner(soa);
		if (ldns_dname_compare(name, apex) != 0 &&
		    !ldns_dname_is_subdomain(name, apex))
			continue;
		if (best == NULL || ldns_dname_label_count(apex) >
		    ldns_dname_label_count(ldns_rr_owner(best)))
			best = soa;
	}
	return best;
}

static ldns_rr_list *
rrs_of_type(const ldns_rr_list *in, ldns_rr_type type, uint32_t *ttl)
{
	ldns_rr_list *out = NULL;
	const ldns_rr *rr;
	ldns_rr *c;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(in); i++) {
		rr = ldns_rr_list_rr(in, i);
		if (ldns_rr_get_type(rr) != type)
			continue;
		if (out == NULL && (out = ldns_rr_list_new()) == NULL)
			return NULL;
		if ((c = ldns_rr_clone(rr)) == NULL ||
		    !ldns_rr_list_push_rr(out, c)) {
			ldns_rr_free(c);
			ldns_rr_list_deep_free(out);
			return NULL;
		}
		*ttl = ttl_min(*ttl, ldns_rr_ttl(rr));
	}
	return out;
}

static const ldns_rr *
first_of_type(const ldns_rr_list *l, ldns_rr_type type)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type)
			return ldns_rr_list_rr(l, i);
	return NULL;
}

static void
follow_cname(const ldns_rr *cname, ldns_rr_type type, int depth,
    struct dns_answer *a)
{
	const ldns_rdf *target = ldns_rr_rdf(cname, 0);

	if (depth >= CHAIN_MAX || target == NULL) {
		answer_set(a, DNS_PERMFAIL, 0, NULL, 0, "zone");
		return;
	}
	lookup(target, type, depth + 1, a);
	a->ttl = ttl_min(a->ttl, ldns_rr_ttl(cname));
}

/* A delegation (NS records below the apex) at or above name: the master
 * file's data there is not the zone's, so ask the network. */
static int
zone_below_cut(const ldns_rdf *name, const ldns_rr *soa)
{
	uint8_t apex_labels = ldns_dname_label_count(ldns_rr_owner(soa));
	ldns_rdf *p = ldns_rdf_clone(name), *next;
	const struct zname *z;
	int cut = 0;

	while (!cut && p != NULL && ldns_dname_label_count(p) > apex_labels) {
		z = (const struct zname *)ht_find(&st.zone, ldns_rdf_data(p),
		    ldns_rdf_size(p));
		if (z != NULL && z->rrs != NULL &&
		    first_of_type(z->rrs, LDNS_RR_TYPE_NS) != NULL)
			cut = 1;
		next = ldns_dname_left_chop(p);
		ldns_rdf_deep_free(p);
		p = next;
	}
	ldns_rdf_deep_free(p);
	return cut;
}

/* Answer from the master files, or return 0 when they do not cover name. */
static int
zone_lookup(const ldns_rdf *name, ldns_rr_type type, int depth,
    struct dns_answer *a)
{
	const struct zname *z;
	const ldns_rr *soa, *cname;
	ldns_rr_list *rrs;
	uint32_t ttl = UINT32_MAX;

	if (st.zone.n == 0)
		return 0;
	z = (const struct zname *)ht_find(&st.zone, ldns_rdf_data(name),
	    ldns_rdf_size(name));
	soa = zone_apex_of(name);
	if (soa != NULL && zone_below_cut(name, soa))
		return 0;
	if (z != NULL && z->rrs != NULL) {
		if ((rrs = rrs_of_type(z->rrs, type, &ttl)) != NULL)
			answer_set(a, DNS_OK, ttl, rrs, 0, "zone");
		else if (type != LDNS_RR_TYPE_CNAME &&
		    (cname = first_of_type(z->rrs, LDNS_RR_TYPE_CNAME)) != NULL)
			follow_cname(cname, type, depth, a);
		else
			answer_set(a, DNS_NODATA, soa ? soa_neg_ttl(soa) :
			    NEG_TTL_NOSOA, NULL, 0, "zone");
		return 1;
	}
	if (soa == NULL)
		return 0;
	answer_set(a, z != NULL ? DNS_NODATA : DNS_NXDOMAIN, soa_neg_ttl(soa),
	    NULL, 0, "zone");
	return 1;
}

/* ---- network ---- */

/* "HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6 address. */
static int
resolver_parse(const char *spec, ldns_rdf **addr, uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *h = spec, *p = NULL, *end;
	size_t hl;
	unsigned char buf[sizeof(struct in6_addr)];
	char *ep;
	unsigned long v;

	if (spec[0] == '[') {
		h = spec + 1;
		if ((end = strchr(h, ']')) == NULL)
			return -1;
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strchr(spec, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL)
		p = end + 1;
	else
		end = spec + strlen(spec);
	hl = (size_t)(end - h);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = 53;
	if (p != NULL) {
		errno = 0;
		v = strtoul(p, &ep, 10);
		if (*p == '\0' || *ep != '\0' || errno || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	if (inet_pton(AF_INET, host, buf) == 1)
		*addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, buf);
	else if (inet_pton(AF_INET6, host, buf) == 1)
		*addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, buf);
	else
		return -1;
	return *addr != NULL ? 0 : -1;
}

static void
resolver_tune(ldns_resolver *r, const struct dns_opts *o)
{
	struct timeval tv;

	tv.tv_sec = o->timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(o->timeout_ms % 1000) * 1000;
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, (uint8_t)(o->retries + 1));
	ldns_resolver_set_retrans(r, 0);	/* else ldns sleeps seconds */
	ldns_resolver_set_recursive(r, true);
	ldns_resolver_set_dnssec(r, o->dnssec != 0);
	ldns_resolver_set_edns_udp_size(r, EDNS_SIZE);
	ldns_resolver_set_fallback(r, false);	/* TCP retry is ours */
	ldns_resolver_set_usevc(r, false);
	ldns_resolver_set_random(r, false);
	ldns_resolver_set_fail(r, false);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
}

/* Check a --resolver (MXKIT_RESOLVER) spec and keep its address for the
 * template; NULL spec: /etc/resolv.conf, read when first needed. */
static int
resolver_configure(const char *spec, const char **why)
{
	ldns_rdf_deep_free(st.server);
	st.server = NULL;
	st.port = 53;
	if (spec == NULL)
		return 0;
	if (resolver_parse(spec, &st.server, &st.port) == -1) {
		snprintf(st.why, sizeof(st.why),
		    "resolver %.200s: not an IP address[:port]", spec);
		*why = st.why;
		return -1;
	}
	return 0;
}

/* The template resolver, from the configured address or resolv.conf;
 * NULL when there is no usable server (network lookups then fail
 * temporarily, while zone files may still answer everything). */
static ldns_resolver *
resolver_build(void)
{
	ldns_resolver *r = NULL;

	if (st.server != NULL) {
		/* push_nameserver keeps a copy of the address */
		if ((r = ldns_resolver_new()) == NULL ||
		    ldns_resolver_push_nameserver(r, st.server) !=
		    LDNS_STATUS_OK) {
			ldns_resolver_deep_free(r);
			return NULL;
		}
		ldns_resolver_set_port(r, st.port);
	} else if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK)
		return NULL;
	if (ldns_resolver_nameserver_count(r) == 0) {
		ldns_resolver_deep_free(r);
		return NULL;
	}
	resolver_tune(r, &st.opts);
	return r;
}

/* Built once per configuration, by the first thread that needs it; only
 * read afterwards. */
static ldns_resolver *
resolver_template(void)
{
	if (!atomic_load_explicit(&st.tmpl_built, memory_order_acquire)) {
		pthread_mutex_lock(&st.lock);
		if (!atomic_load_explicit(&st.tmpl_built,
		    memory_order_relaxed)) {
			st.tmpl = resolver_build();
			atomic_store_explicit(&st.tmpl_built, 1,
			    memory_order_release);
		}
		pthread_mutex_unlock(&st.lock);
	}
	return st.tmpl;
}

static void
resolver_drop(void)
{
	ldns_resolver_deep_free(st.tmpl);
	st.tmpl = NULL;
	atomic_store(&st.tmpl_built, 0);
}

/* The reply is to our question: same id, same name and type. */
static int
reply_matches(const ldns_pkt *q, const ldns_pkt *p)
{
	const ldns_rr *qq, *pq;

	if (ldns_pkt_id(q) != ldns_pkt_id(p) || !ldns_pkt_qr(p))
		return 0;
	if (ldns_pkt_qdcount(p) == 0)	/* allowed for some errors */
		return ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR;
	qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	pq = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	return pq != NULL && ldns_rr_get_type(qq) == ldns_rr_get_type(pq) &&
	    ldns_dname_compare(ldns_rr_owner(qq), ldns_rr_owner(pq)) == 0;
}

static uint32_t
pkt_neg_ttl(const ldns_pkt *p)
{
	const ldns_rr *soa = first_of_type(ldns_pkt_authority(p),
	    LDNS_RR_TYPE_SOA);

	return soa != NULL ? soa_neg_ttl(soa) : NEG_TTL_NOSOA;
}

static const ldns_rr *
find_rr(const ldns_rr_list *l, const ldns_rdf *owner, ldns_rr_type type)
{
	size_t i;
	const ldns_rr *rr;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return rr;
	}
	return NULL;
}

static ldns_rr_list *
rrs_at(const ldns_rr_list *l, const ldns_rdf *owner, ldns_rr_type type,
    uint32_t *ttl)
{
	ldns_rr_list *sel = ldns_rr_list_new(), *out = NULL;
	size_t i;
	ldns_rr *rr;

	if (sel == NULL)
		return NULL;
	for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), owner) == 0 &&
		    !ldns_rr_list_push_rr(sel, rr))
			break;
	}
	out = rrs_of_type(sel, type, ttl);
	ldns_rr_list_free(sel);	/* shallow: the records are l's */
	return out;
}

/* NOERROR: the records of the type at the end of the CNAME chain that
 * starts at the question name, within the answer section. */
static void
pkt_answer(const ldns_pkt *p, const ldns_rdf *name, ldns_rr_type type,
    struct dns_answer *a)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	const ldns_rdf *cur = name;
	const ldns_rr *cname;
	ldns_rr_list *rrs;
	uint32_t ttl = UINT32_MAX;
	int secure = ldns_pkt_ad(p), hop;

	for (hop = 0;; hop++) {
		if ((rrs = rrs_at(an, cur, type, &ttl)) != NULL) {
			answer_set(a, DNS_OK, ttl, rrs, secure, "network");
			return;
		}
		if (type == LDNS_RR_TYPE_CNAME ||
		    (cname = find_rr(an, cur, LDNS_RR_TYPE_CNAME)) == NULL ||
		    ldns_rr_rdf(cname, 0) == NULL)
			break;
		if (hop == CHAIN_MAX) {
			answer_set(a, DNS_PERMFAIL, 0, NULL, 0, "network");
			return;
		}
		ttl = ttl_min(ttl, ldns_rr_ttl(cname));
		cur = ldns_rr_rdf(cname, 0);
	}
	/* No SOA but NS records: a referral from a server that does not
	 * recurse, which says nothing about the name (resolvers take such a
	 * lame answer as SERVFAIL). */
	if (first_of_type(ldns_pkt_authority(p), LDNS_RR_TYPE_SOA) == NULL &&
	    first_of_type(ldns_pkt_authority(p), LDNS_RR_TYPE_NS) != NULL) {
		answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "network");
		return;
	}
	answer_set(a, DNS_NODATA, ttl_min(ttl, pkt_neg_ttl(p)), NULL, secure,
	    "network");
}

static void
pkt_interpret(const ldns_pkt *p, const ldns_rdf *name, ldns_rr_type type,
    struct dns_answer *a)
{
	switch (ldns_pkt_get_rcode(p)) {
	case LDNS_RCODE_NOERROR:
		pkt_answer(p, name, type, a);
		break;
	case LDNS_RCODE_NXDOMAIN:
		answer_set(a, DNS_NXDOMAIN, pkt_neg_ttl(p), NULL,
		    ldns_pkt_ad(p), "network");
		break;
	case LDNS_RCODE_SERVFAIL:
		answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "network");
		break;
	default:	/* REFUSED, FORMERR, NOTIMP and the rest */
		answer_set(a, DNS_PERMFAIL, 0, NULL, 0, "network");
		break;
	}
}

/* A query as ldns_resolver_prepare_query_pkt makes it (RD, EDNS0 with the
 * resolver's buffer size and DO bit), but with an ID from getentropy:
 * ldns takes its IDs from OpenSSL's RAND_bytes, whose first use sets up a
 * DRBG and with it every cipher of the default provider, most of a
 * millisecond in a process that verifies one message. */
static ldns_pkt *
query_new(const ldns_resolver *r, const ldns_rdf *name, ldns_rr_type type)
{
	ldns_rdf *owner = ldns_rdf_clone(name);
	ldns_pkt *q;
	uint16_t id;

	if (owner == NULL)
		return NULL;
	/* On failure ldns has not attached owner to anything. */
	if ((q = ldns_pkt_query_new(owner, type, LDNS_RR_CLASS_IN, LDNS_RD))
	    == NULL) {
		ldns_rdf_deep_free(owner);
		return NULL;
	}
	if (getentropy(&id, sizeof(id)) == -1)
		id = ldns_get_random();
	ldns_pkt_set_id(q, id);
	ldns_pkt_set_edns_udp_size(q, ldns_resolver_edns_udp_size(r));
	ldns_pkt_set_edns_do(q, ldns_resolver_dnssec(r));
	/* Validating ourselves: the resolver must hand over bogus data
	 * rather than a SERVFAIL that says nothing. */
	ldns_pkt_set_cd(q, st.dnssec != NULL);
	return q;
}

/* Send q over r, UDP first, TCP when the answer is truncated: the reply
 * to q, or NULL. */
static ldns_pkt *
send_query(ldns_resolver *r, const ldns_pkt *q)
{
	ldns_pkt *p = NULL;
	ldns_status s;

	atomic_fetch_add(&ctr.network, 1);
	ldns_resolver_set_usevc(r, false);
	s = ldns_send(&p, r, q);
	if (s == LDNS_STATUS_OK && p != NULL && ldns_pkt_tc(p)) {
		ldns_pkt_free(p);
		p = NULL;
		atomic_fetch_add(&ctr.tcp, 1);
		ldns_resolver_set_usevc(r, true);
		s = ldns_send(&p, r, q);
	}
	if (s != LDNS_STATUS_OK || p == NULL) {
		atomic_fetch_add(&ctr.timeouts, 1);
		ldns_pkt_free(p);
		return NULL;
	}
	if (!reply_matches(q, p)) {
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

/* lib/dnssec's DS and DNSKEY lookups, over the lookup's resolver. */
static ldns_pkt *
key_fetch(void *arg, const ldns_rdf *name, ldns_rr_type type)
{
	ldns_resolver *r = arg;
	ldns_pkt *q, *p;

	if ((q = query_new(r, name, type)) == NULL)
		return NULL;
	p = send_query(r, q);
	ldns_pkt_free(q);
	return p;
}

/* With trust anchors, secure comes from our own validation, and a bogus
 * answer is a temporary failure, as from a validating resolver. */
static void
validate(const ldns_pkt *p, const ldns_rdf *name, ldns_rr_type type,
    ldns_resolver *r, struct dns_answer *a)
{
	char why[256];

	if (a->status != DNS_OK && a->status != DNS_NODATA &&
	    a->status != DNS_NXDOMAIN)
		return;
	switch (dnssec_classify(st.dnssec, p, name, type, key_fetch, r, 0,
	    why, sizeof(why))) {
	case DNSSEC_SECURE:
		a->secure = 1;
		break;
	case DNSSEC_INSECURE:
		a->secure = 0;
		break;
	case DNSSEC_BOGUS:
		answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "network");
		a->why = strdup(why[0] != '\0' ? why : "DNSSEC bogus");
		break;
	}
}

static void
network_lookup(const ldns_rdf *name, ldns_rr_type type, struct dns_answer *a)
{
	ldns_resolver *tmpl = resolver_template(), *r;
	ldns_pkt *q, *p;

	answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "network");
	if (tmpl == NULL || (r = ldns_resolver_clone(tmpl)) == NULL)
		return;
	if ((q = query_new(r, name, type)) != NULL &&
	    (p = send_query(r, q)) != NULL) {
		pkt_interpret(p, name, type, a);
		if (st.dnssec != NULL)
			validate(p, name, type, r, a);
		ldns_pkt_free(p);
	}
	ldns_pkt_free(q);
	ldns_resolver_deep_free(r);
}

/* ---- cache ---- */

static void
centry_drop(struct hnode *h)
{
	struct centry *e = (struct centry *)h;

	ldns_rr_list_deep_free(e->rrs);
	free(e);
}

static int
centry_keep_fresh(struct hnode *h, uint64_t now)
{
	const struct centry *e = (const struct centry *)h;

	return e->inflight || e->waiters > 0 || e->expires > now;
}

static int
centry_keep_busy(struct hnode *h, uint64_t now)
{
	const struct centry *e = (const struct centry *)h;

	(void)now;
	return e->inflight || e->waiters > 0;
}

/* Make room: drop expired answers, and if that is not enough, all idle
 * ones (a flush now and then costs less than an LRU on every hit). */
static void
cache_make_room(uint64_t now)
{
	if (st.cache.n < CACHE_MAX)
		return;
	ht_sweep(&st.cache, centry_keep_fresh, now, centry_drop);
	if (st.cache.n >= CACHE_MAX * 3 / 4)
		ht_sweep(&st.cache, centry_keep_busy, now, centry_drop);
}

static void
cache_copy_out(const struct centry *e, uint64_t now, struct dns_answer *a)
{
	ldns_rr_list *rrs = NULL;
	uint64_t left = e->expires > now ? (e->expires - now) / 1000 : 0;

	if (e->rrs != NULL && (rrs = ldns_rr_list_clone(e->rrs)) == NULL) {
		answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "cache");
		return;
	}
	answer_set(a, e->status, (uint32_t)ttl_min((uint32_t)left, e->ttl),
	    rrs, e->secure, "cache");
}

static int
cacheable(enum dns_status s)
{
	return s == DNS_OK || s == DNS_NODATA || s == DNS_NXDOMAIN;
}

/* Store a's answer in e and wake the threads waiting for it. */
static void
cache_complete(struct centry *e, const struct dns_answer *a)
{
	uint64_t now = clock_ms();

	e->status = a->status;
	e->secure = a->secure;
	e->ttl = a->ttl;
	e->rrs = a->rrs != NULL ? ldns_rr_list_clone(a->rrs) : NULL;
	if (a->rrs != NULL && e->rrs == NULL)
		e->status = DNS_TEMPFAIL;	/* ENOMEM: do not keep it */
	/* Failures serve only the threads already waiting for them. */
	e->expires = cacheable(e->status) ? now + (uint64_t)a->ttl * 1000 :
	    now;
	e->inflight = 0;
	pthread_cond_broadcast(&st.done);
}

/* Cache, else one network query shared by concurrent askers. */
static void
cached_lookup(const ldns_rdf *name, ldns_rr_type type, struct dns_answer *a)
{
	uint8_t k[KEY_MAX];
	size_t klen = cache_key(k, name, type);
	struct centry *e;
	uint64_t now;

	if (!st.opts.use_cache) {
		network_lookup(name, type, a);
		return;
	}
	pthread_mutex_lock(&st.lock);
	now = clock_ms();
	e = (struct centry *)ht_find(&st.cache, k, klen);
	if (e != NULL && (e->inflight || e->expires > now)) {
		e->waiters++;
		while (e->inflight)
			pthread_cond_wait(&st.done, &st.lock);
		e->waiters--;
		cache_copy_out(e, clock_ms(), a);
		pthread_mutex_unlock(&st.lock);
		return;
	}
	if (e != NULL) {
		ldns_rr_list_deep_free(e->rrs);
		e->rrs = NULL;
	} else {
		cache_make_room(now);
		if ((e = calloc(1, sizeof(*e) + klen)) != NULL)
			memcpy(e->key, k, klen);
		if (e == NULL || ht_insert(&st.cache, &e->h, e->key, klen) ==
		    -1) {
			free(e);
			pthread_mutex_unlock(&st.lock);
			network_lookup(name, type, a);
			return;
		}
	}
	e->inflight = 1;
	pthread_mutex_unlock(&st.lock);

	network_lookup(name, type, a);

	pthread_mutex_lock(&st.lock);
	cache_complete(e, a);
	pthread_mutex_unlock(&st.lock);
}

/* ---- lookups ---- */

static void
lookup(const ldns_rdf *name, ldns_rr_type type, int depth,
    struct dns_answer *a)
{
	ldns_rdf *c = name_canonical(name);

	if (c == NULL) {
		answer_set(a, DNS_TEMPFAIL, 0, NULL, 0, "network");
		return;
	}
	if (!zone_lookup(c, type, depth, a))
		cached_lookup(c, type, a);
	ldns_rdf_deep_free(c);
}

static void
count_source(const struct dns_answer *a)
{
	if (strcmp(a->source, "zone") == 0)
		atomic_fetch_add(&ctr.zone_hits, 1);
	else if (strcmp(a->source, "cache") == 0)
		atomic_fetch_add(&ctr.cache_hits, 1);
}

static void init_locked(const struct dns_opts *, const char **);

struct dns_answer *
dns_query(const char *name, ldns_rr_type type)
{
	struct dns_answer *a;
	ldns_rdf *d;
	const char *why;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	atomic_fetch_add(&ctr.queries, 1);
	if (!atomic_load(&st.configured)) {
		pthread_mutex_lock(&st.lock);
		if (!atomic_load(&st.configured))
			init_locked(NULL, &why);
		pthread_mutex_unlock(&st.lock);
	}
	if ((d = name_parse(name)) == NULL) {
		answer_set(a, DNS_PERMFAIL, 0, NULL, 0, "zone");
		return a;
	}
	lookup(d, type, 0, a);
	ldns_rdf_deep_free(d);
	count_source(a);
	return a;
}

void
dns_answer_free(struct dns_answer *a)
{
	if (a == NULL)
		return;
	ldns_rr_list_deep_free(a->rrs);
	free(a->why);
	free(a);
}

char *
dns_txt_join(const ldns_rr *rr, size_t *len)
{
	size_t i, n = 0, sl;
	const ldns_rdf *f;
	char *s;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		f = ldns_rr_rdf(rr, i);
		if (ldns_rdf_size(f) > 0)
			n += ldns_rdf_size(f) - 1;
	}
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	n = 0;
	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		f = ldns_rr_rdf(rr, i);
		if (ldns_rdf_size(f) == 0)
			continue;
		sl = ldns_rdf_data(f)[0];
		if (sl > ldns_rdf_size(f) - 1)	/* ldns checked; be sure */
			sl = ldns_rdf_size(f) - 1;
		memcpy(s + n, ldns_rdf_data(f) + 1, sl);
		n += sl;
	}
	s[n] = '\0';
	*len = n;
	return s;
}

enum dns_status
dns_txt(const char *name, char ***txt, size_t **lens, size_t *n, int *secure)
{
	struct dns_answer *a = dns_query(name, LDNS_RR_TYPE_TXT);
	enum dns_status status;
	size_t i, cnt;

	*txt = NULL;
	*lens = NULL;
	*n = 0;
	if (secure != NULL)
		*secure = 0;
	if (a == NULL)
		return DNS_TEMPFAIL;
	status = a->status;
	if (secure != NULL)
		*secure = a->secure;
	cnt = a->rrs != NULL ? ldns_rr_list_rr_count(a->rrs) : 0;
	if (status == DNS_OK && cnt > 0) {
		*txt = calloc(cnt, sizeof(**txt));
		*lens = calloc(cnt, sizeof(**lens));
		for (i = 0; *txt != NULL && *lens != NULL && i < cnt; i++)
			if (((*txt)[i] = dns_txt_join(
			    ldns_rr_list_rr(a->rrs, i), &(*lens)[i])) == NULL)
				break;
		if (i < cnt) {
			dns_txt_free(*txt, *lens, i);
			*txt = NULL;
			*lens = NULL;
			status = DNS_TEMPFAIL;
		} else
			*n = cnt;
	}
	dns_answer_free(a);
	return status;
}

void
dns_txt_free(char **txt, size_t *lens, size_t n)
{
	size_t i;

	if (txt != NULL)
		for (i = 0; i < n; i++)
			free(txt[i]);
	free(txt);
	free(lens);
}

void
dns_get_stats(struct dns_stats *s)
{
	s->queries = atomic_load(&ctr.queries);
	s->network = atomic_load(&ctr.network);
	s->cache_hits = atomic_load(&ctr.cache_hits);
	s->zone_hits = atomic_load(&ctr.zone_hits);
	s->timeouts = atomic_load(&ctr.timeouts);
	s->tcp = atomic_load(&ctr.tcp);
}

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "nodata";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "unknown";
}

/* ---- configuration ---- */

int
dns_load_zone(const char *path, char **why)
{
	int rc;

	*why = NULL;
	pthread_mutex_lock(&st.lock);
	rc = zone_load_locked(path, why);
	pthread_mutex_unlock(&st.lock);
	return rc;
}

/* MXKIT_DNS_ZONE: colon-separated master files. */
static int
load_env_zones(const char **why)
{
	const char *env = getenv("MXKIT_DNS_ZONE");
	char *list, *path, *save = NULL, *err = NULL;
	int rc = 0;

	if (env == NULL || *env == '\0' || st.env_zones_loaded)
		return 0;
	if ((list = strdup(env)) == NULL) {
		*why = strerror(ENOMEM);
		return -1;
	}
	for (path = strtok_r(list, ":", &save); path != NULL && rc == 0;
	    path = strtok_r(NULL, ":", &save))
		if ((rc = zone_load_locked(path, &err)) == -1) {
			snprintf(st.why, sizeof(st.why), "%s",
			    err ? err : strerror(ENOMEM));
			*why = st.why;
			free(err);
		}
	free(list);
	st.env_zones_loaded = 1;
	return rc;
}

static void
cache_flush(void)
{
	ht_sweep(&st.cache, NULL, 0, centry_drop);
}

/* Only while both tables are empty: the seed places every node. */
static void
hash_reseed(void)
{
	uint32_t seed;

	if (st.zone.n == 0 && st.cache.n == 0 &&
	    getentropy(&seed, sizeof(seed)) == 0)
		hash_seed = seed | 1;
}

/* Trust anchors from path; NULL: none, the AD bit again.  The answers
 * cached so far were classified the other way, and the template may lack
 * the DO bit. */
static int
anchors_configure(const char *path, const char **why)
{
	char *err = NULL;

	dnssec_free(st.dnssec);
	st.dnssec = NULL;
	resolver_drop();
	cache_flush();
	if (path == NULL)
		return 0;
	if ((st.dnssec = dnssec_new(path, &err)) == NULL) {
		snprintf(st.why, sizeof(st.why), "trust anchor %s",
		    err != NULL ? err : strerror(ENOMEM));
		free(err);
		*why = st.why;
		return -1;
	}
	st.opts.dnssec = 1;	/* the RRSIGs are needed */
	return 0;
}

int
dns_trust_anchor(const char *path, const char **why)
{
	const char *w = NULL;
	int rc;

	pthread_mutex_lock(&st.lock);
	rc = anchors_configure(path, &w);
	pthread_mutex_unlock(&st.lock);
	if (why != NULL)
		*why = w;
	return rc;
}

static void
init_locked(const struct dns_opts *opts, const char **why)
{
	struct dns_opts o = { NULL, 2000, 2, 1, 1 };
	const char *spec, *anchors;

	if (opts != NULL)
		o = *opts;
	if (o.timeout_ms == 0)
		o.timeout_ms = 2000;
	if (o.timeout_ms > TIMEOUT_MS_MAX)
		o.timeout_ms = TIMEOUT_MS_MAX;
	if (o.retries > RETRIES_MAX)
		o.retries = RETRIES_MAX;
	spec = o.resolver;
	if (spec == NULL && (spec = getenv("MXKIT_RESOLVER")) != NULL &&
	    *spec == '\0')
		spec = NULL;
	if ((anchors = getenv("MXKIT_TRUST_ANCHOR")) != NULL &&
	    *anchors == '\0')
		anchors = NULL;
	o.resolver = NULL;	/* not kept: the caller owns the string */
	st.opts = o;
	resolver_drop();
	cache_flush();
	hash_reseed();
	st.why[0] = '\0';
	*why = NULL;
	if (resolver_configure(spec, why) == 0 &&
	    anchors_configure(anchors, why) == 0)
		(void)load_env_zones(why);
	atomic_store(&st.configured, 1);
}

int
dns_init(const struct dns_opts *opts, const char **why)
{
	const char *w;

	pthread_mutex_lock(&st.lock);
	init_locked(opts, &w);
	pthread_mutex_unlock(&st.lock);
	if (why != NULL)
		*why = w;
	return w == NULL ? 0 : -1;
}

void
dns_shutdown(void)
{
	pthread_mutex_lock(&st.lock);
	ht_sweep(&st.zone, NULL, 0, zname_drop);
	cache_flush();
	ldns_rr_list_deep_free(st.apexes);
	st.apexes = NULL;
	st.zone_rrs = 0;
	resolver_drop();
	ldns_rdf_deep_free(st.server);
	st.server = NULL;
	dnssec_free(st.dnssec);
	st.dnssec = NULL;
	st.env_zones_loaded = 0;
	atomic_store(&st.configured, 0);
	pthread_mutex_unlock(&st.lock);
	atomic_store(&ctr.queries, 0);
	atomic_store(&ctr.network, 0);
	atomic_store(&ctr.cache_hits, 0);
	atomic_store(&ctr.zone_hits, 0);
	atomic_store(&ctr.timeouts, 0);
	atomic_store(&ctr.tcp, 0);
}
