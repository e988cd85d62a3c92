/* dnssec: a local validator over ldns.  See dnssec.h.
 *
 * A signed RRset names its zone in the RRSIG's signer field: the keys of
 * that zone are found bottom-up, the DS of each zone naming its parent in
 * turn through the DS RRSIG's signer, until a zone with an anchor.  The
 * signer is only a hint: each step checks that it lies between the anchor
 * and the data, and a DS denial only makes a zone insecure when it shows a
 * delegation (NS without SOA).  An RRset without RRSIGs under an anchor is
 * insecure only when a walk down from the anchor, one label at a time,
 * finds a delegation without DS before the name; otherwise it is bogus.
 *
 * ldns does the cryptography (ldns_verify_rrsig_keylist_time), the DS
 * digests (ldns_rr_compare_ds) and the NSEC3 NXDOMAIN proofs
 * (ldns_dnssec_verify_denial_nsec3_match); the NSEC proofs are done here
 * because ldns_dnssec_verify_denial only looks for a wildcard at the
 * parent of the name, not at its closest encloser, and accepts the NSEC of
 * a delegation as proof about the child.  ldns_fetch_valid_domain_keys is
 * not used: it asks through its own queries (no CD, no bounds) and treats
 * every missing DS as the end of the chain.
 */
#include "dnssec.h"
#include "diag.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANCHORS_MAX	256
#define ZCACHE_MAX	1024
#define KEY_TTL_MAX	3600
#define INSECURE_TTL	300
#define CHAIN_MAX	8		/* CNAME hops, as lib/dns */
#define CALLS_MAX	64		/* nested zone_keys/prove_unsigned */
#define NSEC3_ITER_MAX	150		/* RFC 9276 3.2: above, insecure */
#define NOT_A_CUT	(-1)

struct anchor {
	ldns_rdf *owner;	/* canonical */
	ldns_rr_list *rrs;	/* DS and DNSKEY, owners canonical */
};

/* A zone whose status is known: SECURE with its verified zone keys, or
 * INSECURE (a delegation without DS, unsupported algorithms). */
struct zentry {
	struct zentry *next;
	ldns_rdf *zone;
	enum dnssec_result state;
	ldns_rr_list *keys;
	time_t expires;		/* in validation time */
};

struct dnssec {
	pthread_mutex_t lock;	/* zones */
	struct anchor anchors[ANCHORS_MAX];	/* read-only once loaded */
	size_t nanchors;
	struct zentry *zones;
	size_t nzones;
};

/* One classification. */
struct vctx {
	struct dnssec *v;
	dnssec_fetch_fn fetch;
	void *arg;
	time_t now;
	unsigned fetches;
	unsigned calls;
	char *why;
	size_t whylen;
};

/* The NSEC or NSEC3 RRsets of an authority section, all verified. */
struct denial {
	ldns_rr_type type;	/* NSEC, NSEC3, or 0: there were none */
	ldns_rr_list *rrs;
	ldns_rr_list *sigs;
	ldns_rdf *signer;	/* the zone that signed them */
};

static enum dnssec_result zone_keys(struct vctx *, const ldns_rdf *,
    ldns_rr_list **);
static enum dnssec_result prove_unsigned(struct vctx *, const ldns_rdf *,
    ldns_rr_type);

const char *
dnssec_result_str(enum dnssec_result r)
{
	switch (r) {
	case DNSSEC_SECURE:
		return "secure";
	case DNSSEC_INSECURE:
		return "insecure";
	case DNSSEC_BOGUS:
		return "bogus";
	}
	return "bogus";
}

/* ---- small helpers ---- */

static const char *
type_str(ldns_rr_type t)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(t);

	return d != NULL && d->_name != NULL ? d->_name : "TYPE?";
}

/* Keep the first reason given (the deepest: callers note after their
 * callees), "NAME: what". */
static enum dnssec_result
note(struct vctx *c, enum dnssec_result r, const ldns_rdf *name,
    const char *fmt, ...)
{
	char buf[256], *s;
	va_list ap;

	if (c->why == NULL || c->whylen == 0 || c->why[0] != '\0')
		return r;
	s = name != NULL ? ldns_rdf2str(name) : NULL;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(c->why, c->whylen, "%s%s%s", s != NULL ? s : "",
	    s != NULL ? ": " : "", buf);
	free(s);
	return r;
}

static enum dnssec_result
worst(enum dnssec_result a, enum dnssec_result b)
{
	return a > b ? a : b;
}

/* name is zone or below it. */
static int
at_or_below(const ldns_rdf *name, const ldns_rdf *zone)
{
	return ldns_dname_compare(name, zone) == 0 ||
	    ldns_dname_is_subdomain(name, zone);
}

/* The name whose zone holds (owner, type): a DS lives in the parent. */
static ldns_rdf *
data_name(const ldns_rdf *owner, ldns_rr_type type)
{
	if (type == LDNS_RR_TYPE_DS && ldns_dname_label_count(owner) > 0)
		return ldns_dname_left_chop(owner);
	return ldns_rdf_clone(owner);
}

static const struct anchor *
anchor_for(const struct dnssec *v, const ldns_rdf *name)
{
	const struct anchor *best = NULL;
	size_t i;

	for (i = 0; i < v->nanchors; i++)
		if (at_or_below(name, v->anchors[i].owner) && (best == NULL ||
		    ldns_dname_label_count(v->anchors[i].owner) >
		    ldns_dname_label_count(best->owner)))
			best = &v->anchors[i];
	return best;
}

static int
push_clone(ldns_rr_list **l, const ldns_rr *rr)
{
	ldns_rr *c;

	if (*l == NULL && (*l = ldns_rr_list_new()) == NULL)
		return -1;
	if ((c = ldns_rr_clone(rr)) == NULL)
		return -1;
	if (!ldns_rr_list_push_rr(*l, c)) {
		ldns_rr_free(c);
		return -1;
	}
	return 0;
}

/* Copies of the records of sec at owner of type; NULL when none. */
static ldns_rr_list *
rrset_get(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type type)
{
	ldns_rr_list *out = NULL;
	const ldns_rr *rr;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		rr = ldns_rr_list_rr(sec, i);
		if (ldns_rr_get_type(rr) == type &&
		    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0 &&
		    push_clone(&out, rr) == -1) {
			ldns_rr_list_deep_free(out);
			return NULL;
		}
	}
	return out;
}

static ldns_rr_type
sig_covers(const ldns_rr *sig)
{
	const ldns_rdf *t = ldns_rr_rrsig_typecovered(sig);

	return t != NULL ? ldns_rdf2rr_type(t) : 0;
}

/* Copies of the RRSIGs of sec at owner over type (signer: only its). */
static ldns_rr_list *
sigs_get(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type type,
    const ldns_rdf *signer)
{
	ldns_rr_list *out = NULL;
	const ldns_rr *rr;
	const ldns_rdf *sn;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		rr = ldns_rr_list_rr(sec, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    ldns_rr_rd_count(rr) < 9 || sig_covers(rr) != type ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		sn = ldns_rr_rrsig_signame(rr);
		if (signer != NULL && ldns_dname_compare(sn, signer) != 0)
			continue;
		if (push_clone(&out, rr) == -1) {
			ldns_rr_list_deep_free(out);
			return NULL;
		}
	}
	return out;
}

static uint32_t
rrset_ttl(const ldns_rr_list *l)
{
	uint32_t ttl = KEY_TTL_MAX;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_ttl(ldns_rr_list_rr(l, i)) < ttl)
			ttl = ldns_rr_ttl(ldns_rr_list_rr(l, i));
	return ttl;
}

static uint16_t
key_flags(const ldns_rr *k)
{
	const ldns_rdf *f = ldns_rr_dnskey_flags(k);

	return f != NULL && ldns_rdf_size(f) == 2 ? ldns_rdf2native_int16(f) :
	    0;
}

/* RFC 4035 5.3.1: only zone keys sign; RFC 5011 7: never a revoked one. */
static int
zone_key(const ldns_rr *k)
{
	uint16_t f = key_flags(k);

	return ldns_rr_rd_count(k) == 4 && (f & LDNS_KEY_ZONE_KEY) &&
	    !(f & LDNS_KEY_REVOKE_KEY);
}

static int
nsec_bit(const ldns_rr *nsec, ldns_rr_type t)
{
	const ldns_rdf *bm = ldns_nsec_get_bitmap(nsec);

	return bm != NULL && ldns_nsec_bitmap_covers_type(bm, t);
}

static int
anchor_add(struct dnssec *v, ldns_rr *rr)
{
	struct anchor *a = NULL;
	size_t i;

	ldns_rr2canonical(rr);
	for (i = 0; i < v->nanchors && a == NULL; i++)
		if (ldns_dname_compare(v->anchors[i].owner,
		    ldns_rr_owner(rr)) == 0)
			a = &v->anchors[i];
	if (a == NULL) {
		if (v->nanchors == ANCHORS_MAX)
			return -1;
		a = &v->anchors[v->nanchors];
		if ((a->owner = ldns_rdf_clone(ldns_rr_owner(rr))) == NULL ||
		    (a->rrs = ldns_rr_list_new()) == NULL) {
			ldns_rdf_deep_free(a->owner);
			a->owner = NULL;
			return -1;
		}
		v->nanchors++;
	}
	return ldns_rr_list_push_rr(a->rrs, rr) ? 0 : -1;
}

/* One record of the file: 0 taken (or a directive), -1 with *why. */
static int
anchor_take(struct dnssec *v, ldns_status s, ldns_rr *rr, const char *path,
    int line, char **why)
{
	switch (s) {
	case LDNS_STATUS_OK:
		break;
	case LDNS_STATUS_SYNTAX_EMPTY:
	case LDNS_STATUS_SYNTAX_TTL:
	case LDNS_STATUS_SYNTAX_ORIGIN:
		return 0;
	case LDNS_STATUS_SYNTAX_INCLUDE:
		*why = diag_where(path, line, "$INCLUDE is not supported");
		return -1;
	default:
		*why = diag_where(path, line, ldns_get_errorstr_by_id(s));
		return -1;
	}
	if ((ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS &&
	    ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) ||
	    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		*why = diag_where(path, line, "not a DS or DNSKEY record");
		ldns_rr_free(rr);
		return -1;
	}
	if (ldns_rr_rd_count(rr) != 4) {
		*why = diag_where(path, line, "incomplete record");
		ldns_rr_free(rr);
		return -1;
	}
	if (anchor_add(v, rr) == -1) {
		*why = diag_where(path, line, v->nanchors == ANCHORS_MAX ?
		    "too many trust anchors" : strerror(ENOMEM));
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

static int
anchors_load(struct dnssec *v, FILE *fp, const char *path, char **why)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	ldns_rr *rr;
	ldns_status s;
	int line = 0, rc = 0;

	while (rc == 0 && !feof(fp)) {
		rr = NULL;
		s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		rc = anchor_take(v, s, rr, path, line > 0 ? line : 1, why);
	}
	if (rc == 0 && ferror(fp)) {
		*why = diag_where(path, 0, strerror(EIO));
		rc = -1;
	}
	if (rc == 0 && v->nanchors == 0) {
		*why = diag_where(path, 0, "no DS or DNSKEY record");
		rc = -1;
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

struct dnssec *
dnssec_new(const char *path, char **why)
{
	struct dnssec *v;
	FILE *fp;

	*why = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		*why = diag_where(path, 0, strerror(errno));
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		fclose(fp);
		*why = diag_where(path, 0, strerror(ENOMEM));
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	if (anchors_load(v, fp, path, why) == -1) {
		fclose(fp);
		dnssec_free(v);
		return NULL;
	}
	fclose(fp);
	return v;
}

static void
zentry_free(struct zentry *z)
{
	ldns_rdf_deep_free(z->zone);
	ldns_rr_list_deep_free(z->keys);
	free(z);
}

void
dnssec_free(struct dnssec *v)
{
	struct zentry *z, *next;
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nanchors; i++) {
		ldns_rdf_deep_free(v->anchors[i].owner);
		ldns_rr_list_deep_free(v->anchors[i].rrs);
	}
	for (z = v->zones; z != NULL; z = next) {
		next = z->next;
		zentry_free(z);
	}
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* ---- the zone cache ---- */

/* The known state of zone, with a copy of its keys; -1: not known. */
static int
zcache_get(struct vctx *c, const ldns_rdf *zone, ldns_rr_list **keys)
{
	struct zentry *z;
	int state = -1;

	*keys = NULL;
	pthread_mutex_lock(&c->v->lock);
	for (z = c->v->zones; z != NULL; z = z->next)
		if (ldns_dname_compare(z->zone, zone) == 0)
			break;
	if (z != NULL && z->expires > c->now) {
		state = (int)z->state;
		if (z->keys != NULL &&
		    (*keys = ldns_rr_list_clone(z->keys)) == NULL)
			state = -1;
	}
	pthread_mutex_unlock(&c->v->lock);
	return state;
}

static void
zcache_prune(struct dnssec *v, time_t now)
{
	struct zentry **pp, *z;

	for (pp = &v->zones; (z = *pp) != NULL;) {
		if (z->expires > now) {
			pp = &z->next;
			continue;
		}
		*pp = z->next;
		zentry_free(z);
		v->nzones--;
	}
}

/* Remember zone's state (keys copied) for ttl seconds. */
static void
zcache_put(struct vctx *c, const ldns_rdf *zone, enum dnssec_result state,
    const ldns_rr_list *keys, uint32_t ttl)
{
	struct zentry *z;

	if (ttl == 0 || (z = calloc(1, sizeof(*z))) == NULL)
		return;
	z->state = state;
	z->expires = c->now + (time_t)(ttl > KEY_TTL_MAX ? KEY_TTL_MAX : ttl);
	if ((z->zone = ldns_rdf_clone(zone)) == NULL || (keys != NULL &&
	    (z->keys = ldns_rr_list_clone(keys)) == NULL)) {
		zentry_free(z);
		return;
	}
	pthread_mutex_lock(&c->v->lock);
	if (c->v->nzones >= ZCACHE_MAX)
		zcache_prune(c->v, c->now);
	if (c->v->nzones < ZCACHE_MAX) {
		/* A newer entry shadows an older one for the same zone. */
		z->next = c->v->zones;
		c->v->zones = z;
		c->v->nzones++;
		z = NULL;
	}
	pthread_mutex_unlock(&c->v->lock);
	if (z != NULL)
		zentry_free(z);
}

/* ---- fetching ---- */

/* A NOERROR or NXDOMAIN reply to (name, type), or NULL after a note. */
static ldns_pkt *
fetch(struct vctx *c, const ldns_rdf *name, ldns_rr_type type)
{
	ldns_pkt *p;
	ldns_pkt_rcode rc;

	if (c->fetches >= DNSSEC_FETCH_MAX) {
		note(c, DNSSEC_BOGUS, name, "more than %d DS/DNSKEY lookups",
		    DNSSEC_FETCH_MAX);
		return NULL;
	}
	c->fetches++;
	if ((p = c->fetch(c->arg, name, type)) == NULL) {
		note(c, DNSSEC_BOGUS, name, "no answer for %s", type_str(type));
		return NULL;
	}
	rc = ldns_pkt_get_rcode(p);
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		note(c, DNSSEC_BOGUS, name, "%s lookup failed (rcode %d)",
		    type_str(type), (int)rc);
		ldns_pkt_free(p);
		return NULL;
	}
	return p;
}

/* ---- signatures ---- */

static int
sig_labels(const ldns_rr *sig)
{
	const ldns_rdf *l = ldns_rr_rrsig_labels(sig);

	return l != NULL && ldns_rdf_size(l) == 1 ? ldns_rdf2native_int8(l) :
	    -1;
}

/* The labels of owner that a signature counts (RFC 4034 3.1.3: not a
 * leading "*"). */
static int
owner_labels(const ldns_rdf *owner)
{
	int n = ldns_dname_label_count(owner);
	const uint8_t *d = ldns_rdf_data(owner);

	if (n > 0 && ldns_rdf_size(owner) > 2 && d[0] == 1 && d[1] == '*')
		n--;
	return n;
}

/* One signature over rrset by one of keys, valid at c->now. */
static ldns_status
sig_verify(struct vctx *c, const ldns_rr_list *rrset, const ldns_rr *sig,
    const ldns_rr_list *keys)
{
	ldns_rr_list *good = ldns_rr_list_new();
	ldns_status s;

	if (good == NULL)
		return LDNS_STATUS_MEM_ERR;
	s = ldns_verify_rrsig_keylist_time(rrset, sig, keys, c->now, good);
	ldns_rr_list_free(good);	/* shallow: keys' records */
	return s;
}

static enum dnssec_result denial_get(struct vctx *, const ldns_pkt *,
    struct denial *);
static void denial_clear(struct denial *);
static const ldns_rr *nsec_cover(const struct denial *, const ldns_rdf *);

/* RFC 4035 5.3.4: an answer from a wildcard is secure only with a proof
 * that the name itself does not exist, from the same zone. */
static enum dnssec_result
wildcard_proof(struct vctx *c, const ldns_pkt *p, const ldns_rdf *owner,
    const ldns_rdf *signer)
{
	struct denial d;
	enum dnssec_result r;

	if (p == NULL)
		return note(c, DNSSEC_BOGUS, owner, "wildcard answer without "
		    "a denial");
	r = denial_get(c, p, &d);
	if (r == DNSSEC_SECURE && (d.type != LDNS_RR_TYPE_NSEC ||
	    ldns_dname_compare(d.signer, signer) != 0 ||
	    nsec_cover(&d, owner) == NULL))
		r = note(c, DNSSEC_BOGUS, owner, "wildcard answer without an "
		    "NSEC proof that the name does not exist");
	denial_clear(&d);
	return r;
}

/* rrset's signatures by signer, checked with its zone's keys. */
static enum dnssec_result
rrset_by_signer(struct vctx *c, const ldns_pkt *p, const ldns_rr_list *rrset,
    const ldns_rr_list *sigs, const ldns_rdf *owner, ldns_rr_type type,
    const ldns_rdf *signer)
{
	ldns_rr_list *keys, *mine;
	enum dnssec_result r;
	ldns_status s, last = LDNS_STATUS_CRYPTO_NO_RRSIG;
	const ldns_rr *sig;
	size_t i;
	int found = 0, wild = 0, labels = owner_labels(owner);

	if ((r = zone_keys(c, signer, &keys)) != DNSSEC_SECURE)
		return r;
	mine = sigs_get(sigs, owner, type, signer);
	for (i = 0; i < ldns_rr_list_rr_count(mine) && !found; i++) {
		sig = ldns_rr_list_rr(mine, i);
		if (sig_labels(sig) > labels)
			continue;	/* RFC 4035 5.3.1 */
		if ((s = sig_verify(c, rrset, sig, keys)) != LDNS_STATUS_OK)
			last = s;
		else if (sig_labels(sig) == labels)
			found = 1;
		else
			wild = 1;
	}
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(mine);
	if (found)
		return DNSSEC_SECURE;
	if (!wild)
		return note(c, DNSSEC_BOGUS, owner, "%s: %s", type_str(type),
		    ldns_get_errorstr_by_id(last));
	if (type == LDNS_RR_TYPE_NSEC || type == LDNS_RR_TYPE_NSEC3 ||
	    type == LDNS_RR_TYPE_DS || type == LDNS_RR_TYPE_DNSKEY)
		return note(c, DNSSEC_BOGUS, owner, "%s from a wildcard",
		    type_str(type));
	return wildcard_proof(c, p, owner, signer);
}

/* The status of rrset (owner, type), its RRSIGs in sec.  p (may be NULL)
 * is the reply, for a wildcard's denial. */
static enum dnssec_result
rrset_classify(struct vctx *c, const ldns_pkt *p, const ldns_rr_list *sec,
    const ldns_rr_list *rrset, const ldns_rdf *owner, ldns_rr_type type)
{
	ldns_rdf *where = data_name(owner, type);
	const struct anchor *a;
	ldns_rr_list *sigs;
	const ldns_rdf *signer;
	enum dnssec_result r, best = DNSSEC_BOGUS;
	size_t i, j;

	if (where == NULL)
		return note(c, DNSSEC_BOGUS, owner, "%s", strerror(ENOMEM));
	if ((a = anchor_for(c->v, where)) == NULL) {
		ldns_rdf_deep_free(where);
		return note(c, DNSSEC_INSECURE, owner, "no trust anchor above");
	}
	if ((sigs = sigs_get(sec, owner, type, NULL)) == NULL) {
		ldns_rdf_deep_free(where);
		r = prove_unsigned(c, owner, type);
		return note(c, r, owner, "%s without RRSIG", type_str(type));
	}
	for (i = 0; i < ldns_rr_list_rr_count(sigs) && best != DNSSEC_SECURE;
	    i++) {
		signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(sigs, i));
		for (j = 0; j < i; j++)
			if (ldns_dname_compare(signer, ldns_rr_rrsig_signame(
			    ldns_rr_list_rr(sigs, j))) == 0)
				break;
		if (j < i)
			continue;	/* that signer was tried */
		/* The signer is the zone of the data, between the anchor and
		 * the data: a signer above the anchor would make anything
		 * "insecure". */
		if (!at_or_below(where, signer) ||
		    !at_or_below(signer, a->owner)) {
			note(c, DNSSEC_BOGUS, owner, "%s signed by a zone "
			    "that cannot hold it", type_str(type));
			continue;
		}
		r = rrset_by_signer(c, p, rrset, sigs, owner, type, signer);
		if (r == DNSSEC_SECURE || best == DNSSEC_BOGUS)
			best = r;
	}
	ldns_rr_list_deep_free(sigs);
	ldns_rdf_deep_free(where);
	return best;
}

/* ---- keys ---- */

static int
digest_supported(int d)
{
	return d == LDNS_SHA1 || d == LDNS_SHA256 || d == LDNS_SHA384;
}

/* A DS or DNSKEY anchor ldns can use. */
static int
trust_usable(const ldns_rr *t)
{
	if (ldns_rr_get_type(t) == LDNS_RR_TYPE_DS)
		return ldns_rr_rd_count(t) == 4 &&
		    ldns_key_algo_supported(ldns_rdf2native_int8(
		    ldns_rr_rdf(t, 1))) &&
		    digest_supported(ldns_rdf2native_int8(ldns_rr_rdf(t, 2)));
	return ldns_rr_rd_count(t) == 4 && ldns_key_algo_supported(
	    ldns_rdf2native_int8(ldns_rr_rdf(t, 2)));
}

static int
key_same(const ldns_rr *a, const ldns_rr *b)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return 0;
	return 1;
}

/* key (canonical) is one that trust (DS or DNSKEY records) names. */
static int
key_trusted(const ldns_rr *key, const ldns_rr_list *trust)
{
	const ldns_rr *t;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(trust); i++) {
		t = ldns_rr_list_rr(trust, i);
		if (!trust_usable(t))
			continue;
		if (ldns_rr_get_type(t) == LDNS_RR_TYPE_DNSKEY ?
		    key_same(t, key) : ldns_rr_compare_ds(t, key))
			return 1;
	}
	return 0;
}

/* The zone keys of dnskeys that trust names, canonical copies. */
static ldns_rr_list *
keys_trusted(const ldns_rr_list *dnskeys, const ldns_rr_list *trust,
    ldns_rr_list **zkeys)
{
	ldns_rr_list *out = NULL;
	ldns_rr *k;
	size_t i;

	*zkeys = NULL;
	for (i = 0; i < ldns_rr_list_rr_count(dnskeys); i++) {
		k = ldns_rr_list_rr(dnskeys, i);
		if (!zone_key(k))
			continue;
		if (push_clone(zkeys, k) == -1)
			break;
		k = ldns_rr_list_rr(*zkeys, ldns_rr_list_rr_count(*zkeys) - 1);
		ldns_rr2canonical(k);
		if (key_trusted(k, trust) && push_clone(&out, k) == -1)
			break;
	}
	return out;
}

static int
any_usable(const ldns_rr_list *trust)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(trust); i++)
		if (trust_usable(ldns_rr_list_rr(trust, i)))
			return 1;
	return 0;
}

/* The DNSKEY RRset of zone, self-signed by a key trust names. */
static enum dnssec_result
dnskey_verify(struct vctx *c, const ldns_rdf *zone, const ldns_rr_list *trust,
    ldns_rr_list **keys)
{
	ldns_pkt *p;
	ldns_rr_list *dnskeys = NULL, *sigs = NULL, *trusted = NULL;
	ldns_rr_list *zkeys = NULL;
	enum dnssec_result r = DNSSEC_BOGUS;
	size_t i;

	if (!any_usable(trust)) {
		/* RFC 4035 5.2: as if there were no DS. */
		zcache_put(c, zone, DNSSEC_INSECURE, NULL, INSECURE_TTL);
		return note(c, DNSSEC_INSECURE, zone, "no supported DS "
		    "digest or algorithm");
	}
	if ((p = fetch(c, zone, LDNS_RR_TYPE_DNSKEY)) == NULL)
		return DNSSEC_BOGUS;
	dnskeys = rrset_get(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DNSKEY);
	sigs = sigs_get(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DNSKEY, zone);
	if (dnskeys == NULL)
		note(c, r, zone, "no DNSKEY records");
	else if ((trusted = keys_trusted(dnskeys, trust, &zkeys)) == NULL)
		note(c, r, zone, "no DNSKEY matches the %s",
		    ldns_rr_get_type(ldns_rr_list_rr(trust, 0)) ==
		    LDNS_RR_TYPE_DS ? "DS" : "trust anchor");
	else if (sigs == NULL)
		note(c, r, zone, "DNSKEY without RRSIG");
	else {
		for (i = 0; i < ldns_rr_list_rr_count(sigs); i++)
			if (sig_verify(c, dnskeys, ldns_rr_list_rr(sigs, i),
			    trusted) == LDNS_STATUS_OK)
				break;
		if (i < ldns_rr_list_rr_count(sigs)) {
			r = DNSSEC_SECURE;
			zcache_put(c, zone, r, zkeys, rrset_ttl(dnskeys));
			*keys = zkeys;
			zkeys = NULL;
		} else
			note(c, r, zone, "DNSKEY: %s", ldns_get_errorstr_by_id(
			    sig_verify(c, dnskeys, ldns_rr_list_rr(sigs, 0),
			    trusted)));
	}
	ldns_rr_list_deep_free(dnskeys);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(trusted);
	ldns_rr_list_deep_free(zkeys);
	ldns_pkt_free(p);
	return r;
}

/* ---- denials ---- */

static void
denial_clear(struct denial *d)
{
	ldns_rr_list_deep_free(d->rrs);
	ldns_rr_list_deep_free(d->sigs);
	memset(d, 0, sizeof(*d));
}

static int
list_cat(ldns_rr_list **to, const ldns_rr_list *from)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(from); i++)
		if (push_clone(to, ldns_rr_list_rr(from, i)) == -1)
			return -1;
	return 0;
}

static int
has_owner(const ldns_rr_list *l, const ldns_rdf *owner)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(l, i)),
		    owner) == 0)
			return 1;
	return 0;
}

/* The NSEC (or, when none, NSEC3) RRsets of p's authority section, each
 * verified, all from one zone.  d->type 0: there are none. */
static enum dnssec_result
denial_get(struct vctx *c, const ldns_pkt *p, struct denial *d)
{
	const ldns_rr_list *au = ldns_pkt_authority(p);
	ldns_rr_list *set, *sigs;
	const ldns_rdf *owner;
	enum dnssec_result r = DNSSEC_SECURE;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < ldns_rr_list_rr_count(au) && d->type == 0; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(au, i)) ==
		    LDNS_RR_TYPE_NSEC)
			d->type = LDNS_RR_TYPE_NSEC;
	for (i = 0; i < ldns_rr_list_rr_count(au) && d->type == 0; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(au, i)) ==
		    LDNS_RR_TYPE_NSEC3)
			d->type = LDNS_RR_TYPE_NSEC3;
	for (i = 0; i < ldns_rr_list_rr_count(au) && r != DNSSEC_BOGUS; i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(au, i)) != d->type)
			continue;
		owner = ldns_rr_owner(ldns_rr_list_rr(au, i));
		if (has_owner(d->rrs, owner))
			continue;	/* that RRset was checked */
		set = rrset_get(au, owner, d->type);
		sigs = sigs_get(au, owner, d->type, NULL);
		r = worst(r, rrset_classify(c, p, au, set, owner, d->type));
		if (list_cat(&d->rrs, set) == -1 ||
		    list_cat(&d->sigs, sigs) == -1)
			r = note(c, DNSSEC_BOGUS, owner, "%s",
			    strerror(ENOMEM));
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
	}
	if (r == DNSSEC_SECURE && d->sigs != NULL) {
		d->signer = ldns_rr_rrsig_signame(ldns_rr_list_rr(d->sigs, 0));
		for (i = 1; i < ldns_rr_list_rr_count(d->sigs); i++)
			if (ldns_dname_compare(d->signer, ldns_rr_rrsig_signame(
			    ldns_rr_list_rr(d->sigs, i))) != 0)
				r = note(c, DNSSEC_BOGUS, d->signer,
				    "denial signed by several zones");
	}
	return r;
}

static const ldns_rr *
nsec_at(const struct denial *d, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++)
		if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(d->rrs,
		    i)), name) == 0)
			return ldns_rr_list_rr(d->rrs, i);
	return NULL;
}

/* An NSEC of d with owner < name < next: name does not exist (unless
 * below a delegation or DNAME at the owner, which the zone cannot deny). */
static const ldns_rr *
nsec_cover(const struct denial *d, const ldns_rdf *name)
{
	const ldns_rr *n;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++) {
		n = ldns_rr_list_rr(d->rrs, i);
		if (ldns_rr_rd_count(n) < 2 ||
		    ldns_dname_compare(ldns_rr_owner(n), name) == 0 ||
		    !ldns_nsec_covers_name(n, name))
			continue;
		if (ldns_dname_is_subdomain(name, ldns_rr_owner(n)) &&
		    ((nsec_bit(n, LDNS_RR_TYPE_NS) &&
		    !nsec_bit(n, LDNS_RR_TYPE_SOA)) ||
		    nsec_bit(n, LDNS_RR_TYPE_DNAME)))
			continue;
		return n;
	}
	return NULL;
}

/* The closest encloser of a name that n covers: its longest ancestor that
 * is, or is above, n's owner or next name. */
static ldns_rdf *
closest_encloser(const ldns_rdf *name, const ldns_rr *n)
{
	ldns_rdf *ce = ldns_dname_left_chop(name), *up;

	while (ce != NULL && !at_or_below(ldns_rr_owner(n), ce) &&
	    !at_or_below(ldns_rr_rdf(n, 0), ce)) {
		if (ldns_dname_label_count(ce) == 0) {
			ldns_rdf_deep_free(ce);
			return NULL;
		}
		up = ldns_dname_left_chop(ce);
		ldns_rdf_deep_free(ce);
		ce = up;
	}
	return ce;
}

/* RFC 4035 5.4 with NSEC: name has no record of type. */
static int
nsec_denies(const struct denial *d, const ldns_rdf *name, ldns_rr_type type,
    int nxdomain)
{
	const ldns_rr *n = nsec_at(d, name);
	ldns_rdf *ce, *wc;
	int ok;

	if (n != NULL) {
		if (nxdomain || nsec_bit(n, type) ||
		    nsec_bit(n, LDNS_RR_TYPE_CNAME))
			return 0;
		/* The parent's NSEC at a cut says nothing but "no DS"; the
		 * child's apex NSEC nothing about the DS. */
		if (type != LDNS_RR_TYPE_DS)
			return !(nsec_bit(n, LDNS_RR_TYPE_NS) &&
			    !nsec_bit(n, LDNS_RR_TYPE_SOA));
		return !nsec_bit(n, LDNS_RR_TYPE_SOA) ||
		    ldns_dname_label_count(name) == 0;
	}
	if ((n = nsec_cover(d, name)) == NULL)
		return 0;
	/* An empty non-terminal: names below it exist. */
	if (!nxdomain && ldns_dname_is_subdomain(ldns_rr_rdf(n, 0), name))
		return 1;
	if ((ce = closest_encloser(name, n)) == NULL)
		return 0;
	wc = ldns_dname_new_frm_str("*");
	if (wc == NULL || ldns_dname_cat(wc, ce) != LDNS_STATUS_OK)
		ok = 0;
	else if (nxdomain)	/* and no wildcard could have matched */
		ok = nsec_cover(d, wc) != NULL;
	else	/* NODATA from the wildcard (RFC 4035 3.1.3.4) */
		ok = (n = nsec_at(d, wc)) != NULL && !nsec_bit(n, type) &&
		    !nsec_bit(n, LDNS_RR_TYPE_CNAME);
	ldns_rdf_deep_free(wc);
	ldns_rdf_deep_free(ce);
	return ok;
}

static int
nsec3_iterations_ok(const struct denial *d)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++)
		if (ldns_nsec3_iterations(ldns_rr_list_rr(d->rrs, i)) >
		    NSEC3_ITER_MAX)
			return 0;
	return 1;
}

/* The NSEC3 of d whose owner is name's hash. */
static ldns_rr *
nsec3_match(const struct denial *d, const ldns_rdf *name)
{
	ldns_rr *n, *hit = NULL;
	ldns_rdf *h, *zone;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs) && hit == NULL; i++) {
		n = ldns_rr_list_rr(d->rrs, i);
		if ((h = ldns_nsec3_hash_name_frm_nsec3(n, name)) == NULL)
			continue;
		zone = ldns_dname_left_chop(ldns_rr_owner(n));
		if (zone != NULL && ldns_dname_cat(h, zone) == LDNS_STATUS_OK &&
		    ldns_dname_compare(h, ldns_rr_owner(n)) == 0)
			hit = n;
		ldns_rdf_deep_free(zone);
		ldns_rdf_deep_free(h);
	}
	return hit;
}

/* RFC 5155 8.4-8.6 for (name, type); *match gets the NSEC3 matching name
 * of a NODATA proof.  NODATA is checked here: ldns's check of it leaks
 * the hashed name; the NXDOMAIN closest encloser proof is ldns's. */
static int
nsec3_denies(const struct denial *d, const ldns_rdf *name, ldns_rr_type type,
    int nxdomain, ldns_rr **match)
{
	ldns_rr *q, *m;
	ldns_rdf *owner;
	ldns_status s;

	*match = NULL;
	if (!nxdomain) {
		if ((m = nsec3_match(d, name)) == NULL || nsec_bit(m, type) ||
		    nsec_bit(m, LDNS_RR_TYPE_CNAME))
			return 0;
		*match = m;
		return 1;
	}
	if ((q = ldns_rr_new_frm_type(type)) == NULL ||
	    (owner = ldns_rdf_clone(name)) == NULL) {
		ldns_rr_free(q);
		return 0;
	}
	ldns_rr_set_owner(q, owner);
	s = ldns_dnssec_verify_denial_nsec3_match(q, d->rrs, d->sigs,
	    LDNS_RCODE_NXDOMAIN, type, false, &m);
	ldns_rr_free(q);
	return s == LDNS_STATUS_OK;
}

/* An opt-out NSEC3 covers name's hash: an unsigned delegation may be
 * there (RFC 5155 6). */
static int
nsec3_optout_covers(const struct denial *d, const ldns_rdf *name)
{
	const ldns_rr *n;
	ldns_rdf *h, *zone;
	size_t i;
	int hit = 0;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs) && !hit; i++) {
		n = ldns_rr_list_rr(d->rrs, i);
		if (!ldns_nsec3_optout(n))
			continue;
		if ((h = ldns_nsec3_hash_name_frm_nsec3(n, name)) == NULL)
			continue;
		zone = ldns_dname_left_chop(ldns_rr_owner(n));
		if (zone != NULL && ldns_dname_cat(h, zone) == LDNS_STATUS_OK)
			hit = ldns_nsec_covers_name(n, h);
		ldns_rdf_deep_free(zone);
		ldns_rdf_deep_free(h);
	}
	return hit;
}

/* What a verified denial of DS at z says: 1 a delegation without DS,
 * NOT_A_CUT z is no delegation (or does not exist), 0 neither. */
static int
ds_denial_kind(const struct denial *d, const ldns_rdf *z, int nxdomain)
{
	const ldns_rr *n;
	ldns_rr *m;

	if (d->type == LDNS_RR_TYPE_NSEC) {
		if ((n = nsec_at(d, z)) != NULL) {
			if (nxdomain || nsec_bit(n, LDNS_RR_TYPE_DS) ||
			    nsec_bit(n, LDNS_RR_TYPE_SOA))
				return 0;
			return nsec_bit(n, LDNS_RR_TYPE_NS) ? 1 : NOT_A_CUT;
		}
		return nsec_denies(d, z, LDNS_RR_TYPE_DS, nxdomain) ?
		    NOT_A_CUT : 0;
	}
	if (nsec3_denies(d, z, LDNS_RR_TYPE_DS, nxdomain, &m)) {
		if (nxdomain || m == NULL)
			return NOT_A_CUT;
		if (nsec_bit(m, LDNS_RR_TYPE_SOA))
			return 0;
		return nsec_bit(m, LDNS_RR_TYPE_NS) ? 1 : NOT_A_CUT;
	}
	return nsec3_optout_covers(d, z) ? 1 : 0;
}

/* No DS at zone in p: insecure when p proves a delegation without one. */
static enum dnssec_result
ds_denied(struct vctx *c, const ldns_pkt *p, const ldns_rdf *zone)
{
	struct denial d;
	enum dnssec_result r;
	int nx = ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN;

	r = denial_get(c, p, &d);
	if (d.type == 0) {
		denial_clear(&d);
		r = prove_unsigned(c, zone, LDNS_RR_TYPE_DS);
		return note(c, r, zone, "no DS and no signed denial");
	}
	if (r == DNSSEC_SECURE) {
		if (!ldns_dname_is_subdomain(zone, d.signer))
			r = note(c, DNSSEC_BOGUS, zone, "DS denial from the "
			    "wrong zone");
		else if (d.type == LDNS_RR_TYPE_NSEC3 &&
		    !nsec3_iterations_ok(&d))
			r = note(c, DNSSEC_INSECURE, zone, "NSEC3 iterations "
			    "above %d", NSEC3_ITER_MAX);
		else if (ds_denial_kind(&d, zone, nx) == 1)
			r = note(c, DNSSEC_INSECURE, zone, "delegation "
			    "without DS");
		else
			r = note(c, DNSSEC_BOGUS, zone, "signer without DS "
			    "that is not a delegation");
	}
	denial_clear(&d);
	return r;
}

/* zone's keys through its DS in its parent. */
static enum dnssec_result
keys_via_ds(struct vctx *c, const ldns_rdf *zone, ldns_rr_list **keys)
{
	ldns_pkt *p;
	ldns_rr_list *ds;
	enum dnssec_result r;

	if ((p = fetch(c, zone, LDNS_RR_TYPE_DS)) == NULL)
		return DNSSEC_BOGUS;
	ds = rrset_get(ldns_pkt_answer(p), zone, LDNS_RR_TYPE_DS);
	if (ds != NULL) {
		r = rrset_classify(c, NULL, ldns_pkt_answer(p), ds, zone,
		    LDNS_RR_TYPE_DS);
		if (r == DNSSEC_SECURE)
			r = dnskey_verify(c, zone, ds, keys);
	} else
		r = ds_denied(c, p, zone);
	if (r == DNSSEC_INSECURE)
		zcache_put(c, zone, r, NULL, INSECURE_TTL);
	ldns_rr_list_deep_free(ds);
	ldns_pkt_free(p);
	return r;
}

/* The verified keys of zone (a copy, *keys) when SECURE. */
static enum dnssec_result
zone_keys(struct vctx *c, const ldns_rdf *zone, ldns_rr_list **keys)
{
	const struct anchor *a = anchor_for(c->v, zone);
	enum dnssec_result r;
	int state;

	*keys = NULL;
	if (a == NULL)
		return note(c, DNSSEC_INSECURE, zone, "no trust anchor above");
	if ((state = zcache_get(c, zone, keys)) != -1)
		return (enum dnssec_result)state;
	if (c->calls >= CALLS_MAX ||
	    ldns_dname_label_count(zone) - ldns_dname_label_count(a->owner) >
	    DNSSEC_DEPTH_MAX)
		return note(c, DNSSEC_BOGUS, zone, "chain of trust too long");
	c->calls++;
	if (ldns_dname_compare(zone, a->owner) == 0)
		r = dnskey_verify(c, zone, a->rrs, keys);
	else
		r = keys_via_ds(c, zone, keys);
	c->calls--;
	return r;
}

/* ---- unsigned data ---- */

/* Below zone (secure, its keys known), is n a secure cut (*nkeys), an
 * insecure one, or NOT_A_CUT? */
static int
cut_at(struct vctx *c, const ldns_rdf *zone, const ldns_rdf *n,
    ldns_rr_list **nkeys)
{
	ldns_pkt *p;
	ldns_rr_list *ds;
	struct denial d;
	int state, nx, kind;

	if ((state = zcache_get(c, n, nkeys)) != -1)
		return state;
	if ((p = fetch(c, n, LDNS_RR_TYPE_DS)) == NULL)
		return DNSSEC_BOGUS;
	if ((ds = rrset_get(ldns_pkt_answer(p), n, LDNS_RR_TYPE_DS)) != NULL) {
		state = rrset_classify(c, NULL, ldns_pkt_answer(p), ds, n,
		    LDNS_RR_TYPE_DS);
		if (state == DNSSEC_SECURE)
			state = dnskey_verify(c, n, ds, nkeys);
		ldns_rr_list_deep_free(ds);
		ldns_pkt_free(p);
		return state;
	}
	nx = ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN;
	state = denial_get(c, p, &d);
	if (d.type == 0)
		state = note(c, DNSSEC_BOGUS, n, "unsigned answer for DS in a "
		    "signed zone");
	else if (state == DNSSEC_SECURE) {
		kind = ldns_dname_compare(d.signer, zone) != 0 ? 0 :
		    d.type == LDNS_RR_TYPE_NSEC3 && !nsec3_iterations_ok(&d) ?
		    1 : ds_denial_kind(&d, n, nx);
		if (kind == 1) {
			state = DNSSEC_INSECURE;
			zcache_put(c, n, state, NULL, INSECURE_TTL);
		} else if (kind == NOT_A_CUT)
			state = NOT_A_CUT;
		else
			state = note(c, DNSSEC_BOGUS, n, "no proof about DS");
	}
	denial_clear(&d);
	ldns_pkt_free(p);
	return state;
}

/* (owner, type) came without RRSIG: INSECURE when a delegation without DS
 * lies between the anchor and it, else BOGUS. */
static enum dnssec_result
prove_unsigned(struct vctx *c, const ldns_rdf *owner, ldns_rr_type type)
{
	ldns_rdf *where = data_name(owner, type), *zone = NULL, *n;
	const struct anchor *a;
	ldns_rr_list *keys = NULL;
	int r, top, want, i;

	if (where == NULL || (a = anchor_for(c->v, where)) == NULL) {
		ldns_rdf_deep_free(where);
		return where == NULL ? DNSSEC_BOGUS : DNSSEC_INSECURE;
	}
	top = ldns_dname_label_count(a->owner);
	want = ldns_dname_label_count(where);
	if (c->calls >= CALLS_MAX || want - top > DNSSEC_DEPTH_MAX) {
		ldns_rdf_deep_free(where);
		return note(c, DNSSEC_BOGUS, owner, "too deep below its "
		    "anchor");
	}
	c->calls++;
	r = zone_keys(c, a->owner, &keys);
	ldns_rr_list_deep_free(keys);
	zone = ldns_rdf_clone(a->owner);
	for (i = top + 1; r == DNSSEC_SECURE && zone != NULL && i <= want;
	    i++) {
		if ((n = ldns_dname_clone_from(where, (uint16_t)(want - i))) ==
		    NULL)
			break;
		keys = NULL;
		r = cut_at(c, zone, n, &keys);
		ldns_rr_list_deep_free(keys);
		if (r == DNSSEC_SECURE) {
			ldns_rdf_deep_free(zone);
			zone = n;
		} else {
			ldns_rdf_deep_free(n);
			if (r == NOT_A_CUT)
				r = DNSSEC_SECURE;
		}
	}
	c->calls--;
	if (r == DNSSEC_SECURE)	/* in a signed zone, yet unsigned */
		r = note(c, DNSSEC_BOGUS, owner, "%s without RRSIG in a signed "
		    "zone", type_str(type));
	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(where);
	return (enum dnssec_result)r;
}

/* ---- answers ---- */

/* NODATA or NXDOMAIN at name for type. */
static enum dnssec_result
denial_classify(struct vctx *c, const ldns_pkt *p, const ldns_rdf *name,
    ldns_rr_type type)
{
	ldns_rdf *where = data_name(name, type);
	struct denial d;
	ldns_rr *m;
	enum dnssec_result r;
	int nx = ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN, ok;

	if (where == NULL)
		return note(c, DNSSEC_BOGUS, name, "%s", strerror(ENOMEM));
	if (anchor_for(c->v, where) == NULL) {
		ldns_rdf_deep_free(where);
		return note(c, DNSSEC_INSECURE, name, "no trust anchor above");
	}
	r = denial_get(c, p, &d);
	if (d.type == 0) {
		r = prove_unsigned(c, name, type);
		note(c, r, name, "denial without NSEC or NSEC3");
	} else if (r == DNSSEC_SECURE) {
		if (!at_or_below(where, d.signer))
			r = note(c, DNSSEC_BOGUS, name, "denial from another "
			    "zone");
		else if (d.type == LDNS_RR_TYPE_NSEC3 &&
		    !nsec3_iterations_ok(&d))
			r = note(c, DNSSEC_INSECURE, name, "NSEC3 iterations "
			    "above %d", NSEC3_ITER_MAX);
		else {
			ok = d.type == LDNS_RR_TYPE_NSEC ?
			    nsec_denies(&d, name, type, nx) :
			    nsec3_denies(&d, name, type, nx, &m);
			if (!ok)
				r = note(c, DNSSEC_BOGUS, name, "%s does not "
				    "prove the %s", type_str(d.type),
				    nx ? "NXDOMAIN" : "NODATA");
		}
	}
	denial_clear(&d);
	ldns_rdf_deep_free(where);
	return r;
}

enum dnssec_result
dnssec_classify(struct dnssec *v, const ldns_pkt *p, const ldns_rdf *qname,
    ldns_rr_type qtype, dnssec_fetch_fn fetchfn, void *arg, time_t now,
    char *why, size_t whylen)
{
	struct vctx c = { v, fetchfn, arg, now ? now : time(NULL), 0, 0, why,
	    whylen };
	const ldns_rr_list *an = ldns_pkt_answer(p);
	ldns_rr_list *rrs;
	ldns_rdf *cur = ldns_rdf_clone(qname), *next;
	enum dnssec_result res = DNSSEC_SECURE;
	int hop;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (hop = 0; cur != NULL && res != DNSSEC_BOGUS; hop++) {
		if ((rrs = rrset_get(an, cur, qtype)) != NULL) {
			res = worst(res, rrset_classify(&c, p, an, rrs, cur,
			    qtype));
			ldns_rr_list_deep_free(rrs);
			break;
		}
		if (qtype == LDNS_RR_TYPE_CNAME || (rrs = rrset_get(an, cur,
		    LDNS_RR_TYPE_CNAME)) == NULL) {
			res = worst(res, denial_classify(&c, p, cur, qtype));
			break;
		}
		res = worst(res, rrset_classify(&c, p, an, rrs, cur,
		    LDNS_RR_TYPE_CNAME));
		next = hop < CHAIN_MAX && ldns_rr_rdf(ldns_rr_list_rr(rrs, 0),
		    0) != NULL ? ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(
		    rrs, 0), 0)) : NULL;
		if (next == NULL)
			res = note(&c, DNSSEC_BOGUS, cur, "CNAME chain too "
			    "long");
		ldns_rr_list_deep_free(rrs);
		ldns_rdf_deep_free(cur);
		cur = next;
	}
	if (cur == NULL && res != DNSSEC_BOGUS)
		res = note(&c, DNSSEC_BOGUS, qname, "%s", strerror(ENOMEM));
	ldns_rdf_deep_free(cur);
	if (res == DNSSEC_SECURE && why != NULL && whylen > 0)
		why[0] = '\0';
	return res;
}
