/* dnssec: a small local DNSSEC validator over ldns, for lib/dns.
 *
 * Trust anchors come from a file of DS and/or DNSKEY records in master
 * file syntax (unbound's trust-anchor-file).  A response obtained with the
 * DO and CD bits set is classified as
 *   SECURE    every RRset of the answer (each CNAME of the chain, then the
 *             records asked for) or, for NODATA and NXDOMAIN, the NSEC or
 *             NSEC3 denial, verified by a chain of trust up to an anchor;
 *   INSECURE  no anchor at or above the name, or a verified proof that a
 *             delegation on the way has no DS;
 *   BOGUS     anything else under an anchor: bad or expired signatures,
 *             missing RRSIGs or denials, no DNSKEY matching a DS, keys that
 *             could not be fetched.
 * DS and DNSKEY records are fetched through the caller's fetch function
 * (which must set DO and CD); verified DNSKEY sets and insecure delegations
 * are kept for their TTL (at most an hour).  Each classification makes at
 * most DNSSEC_FETCH_MAX fetches and walks at most DNSSEC_DEPTH_MAX zone
 * cuts.  All functions are thread-safe; fetches are made without a lock.
 *
 * Not supported (BOGUS, or as said): DNAME answers (the synthesized CNAME
 * is unsigned), wildcard answers and wildcard NODATA in NSEC3 zones.
 * NSEC3 opt-out only counts where it covers the delegation looked for;
 * NSEC3 with more than 150 iterations is INSECURE (RFC 9276); a DS set of
 * unsupported digests or algorithms only is INSECURE (RFC 4035 5.2).
 */
#ifndef MXKIT_DNSSEC_H
#define MXKIT_DNSSEC_H
#include <stddef.h>
#include <time.h>
#include <ldns/ldns.h>

#define DNSSEC_FETCH_MAX	32	/* DS/DNSKEY fetches per answer */
#define DNSSEC_DEPTH_MAX	16	/* zone cuts between anchor and name */

enum dnssec_result {
	DNSSEC_SECURE,
	DNSSEC_INSECURE,
	DNSSEC_BOGUS,
};

struct dnssec;

/* Send (name, type, IN) with DO and CD; the matching reply (any rcode), or
 * NULL on timeout or error.  The caller frees the reply. */
typedef ldns_pkt *(*dnssec_fetch_fn)(void *arg, const ldns_rdf *name,
    ldns_rr_type type);

/* Load the anchors of path.  NULL with *why set to a malloc'd message
 * ("path:line: what" or "path: what"; NULL when out of memory). */
struct dnssec *dnssec_new(const char *path, char **why);
void dnssec_free(struct dnssec *v);

/* Classify p, the reply to (qname, qtype), NOERROR or NXDOMAIN.  now: the
 * time of validation (0: the clock).  why (may be NULL) gets a one-line
 * reason for INSECURE and BOGUS. */
enum dnssec_result dnssec_classify(struct dnssec *v, const ldns_pkt *p,
    const ldns_rdf *qname, ldns_rr_type qtype, dnssec_fetch_fn fetch,
    void *arg, time_t now, char *why, size_t whylen);

/* "secure", "insecure", "bogus" */
const char *dnssec_result_str(enum dnssec_result r);

#endif
