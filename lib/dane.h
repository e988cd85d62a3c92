/* dane: SMTP security via opportunistic DANE TLS (RFC 7672), as a
 * sending MTA applies it, one step at a time so that a probe can report
 * each: the MX RRset of a domain (RFC 7672 2.2.1, null MX RFC 7505), the
 * addresses of one MX host with their DNSSEC status, the TLSA RRset that
 * applies to it (2.2.2: at the CNAME-expanded name first, then at the
 * original one), and a STARTTLS session that verifies the server against
 * that RRset with OpenSSL's DANE (usages DANE-TA and DANE-EE only, 3.1.3;
 * names checked for DANE-TA, 3.2.2) and, when asked, verifies its stapled
 * OCSP response.
 *
 * DNSSEC status is the AD bit of the resolver lib/dns uses; the caller is
 * expected to have checked that the resolver validates (dane_resolver_validates).
 */
#ifndef MXKIT_DANE_H
#define MXKIT_DANE_H
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "tlsa.h"

#define DANE_MAX_MX	32	/* MX hosts probed per domain */
#define DANE_MAX_ADDR	16	/* addresses per MX host and family */
#define DANE_MAX_TLSA	32	/* records of one TLSA RRset kept */

/* DNSSEC status of a lookup. */
enum dane_sec { DANE_SEC_SECURE, DANE_SEC_INSECURE, DANE_SEC_FAILED };
const char *dane_sec_name(enum dane_sec s);	/* secure insecure failed */

/* 1: the resolver sets AD on name's SOA (or a secure negative answer),
 * 0: an answer without AD (the resolver does not validate), -1: no answer
 * (timeout, SERVFAIL: cannot tell). */
int dane_resolver_validates(const char *name);

/* ---- MX ---- */
enum dane_mx_status {
	DANE_MX_OK,		/* hosts from MX records */
	DANE_MX_IMPLICIT,	/* no MX: the domain itself (RFC 5321 5.1) */
	DANE_MX_NULL,		/* "MX 0 ." (RFC 7505): accepts no mail */
	DANE_MX_NXDOMAIN,
	DANE_MX_TEMPFAIL,	/* timeout, SERVFAIL (bogus included) */
	DANE_MX_PERMFAIL,	/* REFUSED, malformed name, bad MX target */
};
struct dane_mx {
	char	*host;		/* no trailing dot, lower case */
	unsigned pref;
};
struct dane_mxset {
	enum dane_mx_status status;
	enum dane_sec sec;	/* of the MX (or, implicit, the NODATA) answer */
	struct dane_mx mx[DANE_MAX_MX];	/* sorted by preference, stable */
	size_t	 n;
	size_t	 dropped;	/* beyond DANE_MAX_MX */
};
/* Look domain's MX RRset up.  The status; m->n hosts (implicit: one, the
 * domain).  -1 only when out of memory. */
int dane_mx_lookup(const char *domain, struct dane_mxset *m);
void dane_mxset_free(struct dane_mxset *m);

/* ---- the addresses of one host ---- */
#define DANE_V4	1
#define DANE_V6	2
struct dane_addr {
	struct sockaddr_storage sa;	/* port set */
	socklen_t salen;
	char	 text[INET6_ADDRSTRLEN];
	enum dane_sec sec;	/* of the A or AAAA answer it came from */
};
struct dane_host {
	char	*name;		/* as given (the MX target) */
	char	*expanded;	/* after the CNAMEs of the address lookups */
	enum dane_sec sec;	/* secure only when every answer was */
	int	 tempfail;	/* a lookup failed: the host cannot be judged */
	int	 nxdomain;	/* the name does not exist */
	struct dane_addr addr[2 * DANE_MAX_ADDR];	/* A first, then AAAA */
	size_t	 n;
};
/* A and/or AAAA (families: DANE_V4|DANE_V6) of name, each address with
 * port.  0, or -1 when out of memory. */
int dane_host_lookup(const char *name, int families, unsigned port,
    struct dane_host *h);
void dane_host_free(struct dane_host *h);

/* ---- the TLSA RRset of a host ---- */
enum dane_tlsa_status {
	DANE_TLSA_FOUND,	/* records (maybe none usable) */
	DANE_TLSA_NONE,		/* NODATA or NXDOMAIN */
	DANE_TLSA_TEMPFAIL,	/* timeout, SERVFAIL (bogus): RFC 7672 2.2 defer */
	DANE_TLSA_PERMFAIL,	/* malformed records, REFUSED */
};
struct dane_tlsa {
	enum dane_tlsa_status status;
	enum dane_sec sec;
	char	*qname;		/* _PORT._tcp.BASE */
	char	*base;		/* TLSA base domain: reference id and SNI */
	struct tlsa_rr rr[DANE_MAX_TLSA];
	size_t	 n;
	unsigned usable;	/* records an SMTP client may use */
	unsigned usage_bits;	/* 1 << usage of the usable ones (Exim's
				 * tls_out_tlsa_usage) */
	const char *why;	/* PERMFAIL, or why none is usable */
};
/* RFC 7672 2.2.2: when h's address lookups followed a secure CNAME chain,
 * the TLSA RRset at _port._tcp.EXPANDED, and if that has none, at
 * _port._tcp.NAME; otherwise at NAME only.  0, or -1 out of memory. */
int dane_tlsa_lookup(const struct dane_host *h, unsigned port,
    struct dane_tlsa *t);
void dane_tlsa_free(struct dane_tlsa *t);

/* ---- one STARTTLS session ---- */
enum dane_ocsp {
	DANE_OCSP_NOTREQ,	/* not requested */
	DANE_OCSP_NONE,		/* requested, none stapled */
	DANE_OCSP_GOOD, DANE_OCSP_REVOKED, DANE_OCSP_UNKNOWN,
	DANE_OCSP_EXPIRED,	/* a genuine proof past its nextUpdate */
	DANE_OCSP_INVALID,	/* not a proof about this certificate */
};
const char *dane_ocsp_name(enum dane_ocsp o);
/* Exim's tls_out_ocsp: 0 not requested, 1 requested and none, 2 received
 * and not verified, 3 verification failed, 4 verified. */
int dane_ocsp_exim(enum dane_ocsp o);

enum dane_result {
	DANE_PASS,		/* DANE-verified */
	DANE_FAIL,		/* TLSA present, verification failed */
	DANE_NONE,		/* DANE not applicable */
	DANE_NOSTARTTLS,	/* no STARTTLS, or refused */
	DANE_UNREACHABLE,	/* no connection, no greeting */
	DANE_TEMPERROR,		/* DNS could not be judged */
	DANE_NULLMX,
};
const char *dane_result_name(enum dane_result r);

struct dane_probe_opts {
	unsigned timeout_ms;	/* per network step */
	const char *helo;	/* EHLO name */
	int	 ocsp;		/* -1 Exim's default rule, 0 never, 1 always */
	time_t	 now;		/* for OCSP checks */
};

struct dane_session {
	enum dane_result result;
	char	 reason[512];
	int	 connected, starttls_offered, tls;
	int	 dane;		/* DANE was applied to the handshake */
	int	 verified;	/* and succeeded */
	char	 version[32], cipher[128];	/* "TLSv1.3", Exim's cipher */
	char	 peerdn[512], issuer[512];
	time_t	 not_after;	/* of the peer's certificate; 0 unknown */
	char	**chain;	/* subject of each certificate sent, leaf first */
	size_t	 nchain;
	int	 match_depth;	/* -1: none */
	char	*match;		/* "U S M hex" of the matching record */
	enum dane_ocsp ocsp;
	char	 ocsp_detail[512];	/* this/next update, responder */
};
/* Connect to a, greet, EHLO, STARTTLS and verify the server against t when
 * t is not NULL (a secure, usable RRset), with SNI t->base, or else with
 * SNI sni (may be NULL).  Fills s; the caller settles result for the
 * cases that need the DNS side too.  -1 only when out of memory or
 * OpenSSL cannot be set up. */
int dane_probe(const struct dane_addr *a, const char *mxhost,
    const struct dane_tlsa *t, const char *sni,
    const struct dane_probe_opts *o, struct dane_session *s);
void dane_session_free(struct dane_session *s);

#endif
