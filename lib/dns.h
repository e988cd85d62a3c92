/* dns: every DNS lookup mxkit makes, over ldns.
 *
 * Sources, in order: master files loaded with dns_load_zone (RFC 1035 syntax;
 * a file with an SOA answers authoritatively, NXDOMAIN included, for every
 * name at or below its apex; a file without one answers only the names it
 * lists), then an in-process cache (positive and negative answers, kept for
 * their TTL, negative ones for the SOA minimum), then the network: the server
 * given to dns_init or, failing that, /etc/resolv.conf, which is read at the
 * first network lookup (a run that needs none never reads it).
 * Queries go over UDP with EDNS0 and the DO bit, retry on timeout, and fall
 * back to TCP on truncation.  A timeout or network failure is DNS_TEMPFAIL,
 * never NXDOMAIN.  All functions are thread-safe once configured.
 *
 * DNSSEC: by default an answer is secure when the resolver set the AD bit
 * (which only means something from a validating resolver one trusts).
 * With trust anchors (dns_trust_anchor, MXKIT_TRUST_ANCHOR) lib/dns
 * validates by itself (lib/dnssec): queries also set CD, the DS and DNSKEY
 * records of the chain are fetched from the same server, and an answer is
 * secure when its chain of trust reaches an anchor, insecure when no
 * anchor covers it or a delegation on the way has no DS, and DNS_TEMPFAIL
 * when it is bogus (as a validating resolver's SERVFAIL), the reason in
 * dns_answer.why.
 */
#ifndef MXKIT_DNS_H
#define MXKIT_DNS_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <ldns/ldns.h>

enum dns_status {
	DNS_OK = 0,		/* at least one record of the type */
	DNS_NODATA,		/* the name exists, no record of the type */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_TEMPFAIL,		/* timeout, SERVFAIL, network error: try later */
	DNS_PERMFAIL,		/* REFUSED, FORMERR, malformed name */
};

struct dns_answer {
	enum dns_status status;
	int secure;		/* AD bit set by the resolver, or validated with
				 * the trust anchors (zone file: 0) */
	uint32_t ttl;
	ldns_rr_list *rrs;	/* records of the asked type, CNAMEs followed; may be NULL */
	const char *source;	/* "zone", "cache" or "network" (static) */
	char *why;		/* DNS_TEMPFAIL from DNSSEC validation: why it
				 * is bogus (for -v); else NULL.  Owned. */
};

struct dns_opts {
	const char *resolver;	/* "HOST[:PORT]" or "[V6]:PORT", NULL: resolv.conf */
	unsigned timeout_ms;	/* per try, default 2000 */
	unsigned retries;	/* extra tries after the first, default 2 */
	int dnssec;		/* set the DO bit (default 1) */
	int use_cache;		/* default 1 */
};

/* Configure from opts (NULL for defaults) and then the environment:
 * MXKIT_RESOLVER when opts->resolver is NULL, MXKIT_TRUST_ANCHOR (as
 * dns_trust_anchor), MXKIT_DNS_ZONE (colon-separated files) loaded in
 * addition to dns_load_zone's.  0, or -1 with *why set (a resolver that is
 * not an address: *why starts "resolver"; trust anchors that do not load:
 * "trust anchor FILE[:LINE]: what").  The
 * resolver address is checked here; the network side is set up at the
 * first network lookup. */
int dns_init(const struct dns_opts *opts, const char **why);
/* Load one master file; may be called several times.  0, or -1 with *why set
 * to a malloc'd message naming the file and line. */
int dns_load_zone(const char *path, char **why);
/* Validate DNSSEC locally with the trust anchors of path, DS and/or DNSKEY
 * records in master file syntax (unbound's trust-anchor-file), in place of
 * MXKIT_TRUST_ANCHOR's; NULL: trust the AD bit again.  Forces the DO bit;
 * empties the cache.  Call after dns_init, while configuring.  0, or -1
 * with *why set to "trust anchor FILE[:LINE]: what" (static) and no
 * anchors.  (Not a dns_opts field: the positional initializers of
 * struct dns_opts in the tests would then miss one.) */
int dns_trust_anchor(const char *path, const char **why);
void dns_shutdown(void);

/* Look name up for type.  Always returns an answer (NULL only on ENOMEM);
 * free it with dns_answer_free. */
struct dns_answer *dns_query(const char *name, ldns_rr_type type);
void dns_answer_free(struct dns_answer *a);

/* TXT convenience: each TXT record's strings joined without separators
 * (RFC 6376 3.6.2.2, RFC 7208 3.3).  *txt is a malloc'd array of malloc'd
 * NUL-terminated strings (lengths in *lens, which may contain NUL bytes);
 * free with dns_txt_free.  Returns the status of the lookup. */
enum dns_status dns_txt(const char *name, char ***txt, size_t **lens,
    size_t *n, int *secure);
void dns_txt_free(char **txt, size_t *lens, size_t n);
/* One TXT record's character-strings joined (RFC 6376 3.6.2.2, RFC 7208
 * 3.3), NUL-terminated, malloc'd, its length in *len; NULL on ENOMEM.
 * For callers that walk dns_query's answer themselves. */
char *dns_txt_join(const ldns_rr *rr, size_t *len);

/* Counters for tests and --summary. */
struct dns_stats {
	unsigned long queries;	/* asked of dns_query */
	unsigned long network;	/* sent to a server */
	unsigned long cache_hits;
	unsigned long zone_hits;
	unsigned long timeouts;	/* network lookups that got no answer */
	unsigned long tcp;	/* retried over TCP after a truncated answer */
};
void dns_get_stats(struct dns_stats *s);

const char *dns_status_str(enum dns_status s);

#endif
