/* ocsp_http: ask an OCSP responder over HTTP (RFC 6960 A.1, RFC 5019),
 * with OpenSSL's own client (OSSL_HTTP_open, OSSL_HTTP_set1_request,
 * OSSL_HTTP_exchange) on a connection to an address: a host name (the
 * responder's, or the proxy's) is looked up with lib/dns (A, then AAAA;
 * dns_init first), never by OpenSSL with getaddrinfo, and the addresses
 * are tried in turn.
 *
 * GET with the request base64- and URL-encoded after the responder URL
 * when the whole URL fits in 255 bytes (RFC 5019 5: the form caches and
 * CDNs answer), POST otherwise or when asked.  A Host header always
 * (with the port when it is not 80).  A proxy comes from http_proxy (or
 * HTTP_PROXY), bypassed for the hosts in no_proxy, as OpenSSL does it
 * (OSSL_HTTP_adapt_proxy); the request then names the responder in an
 * absolute URI, for the proxy to resolve.  A GET is redirected at most 5
 * times, to http:// URLs only.  The timeout covers the whole exchange,
 * connects included; DNS time is lib/dns's (--dns-timeout).  Only the
 * transport is judged here; the response itself is ocsp_check_der's.
 */
#ifndef MXKIT_OCSP_HTTP_H
#define MXKIT_OCSP_HTTP_H
#include <stddef.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/x509.h>

#define OCSP_HTTP_URL_MAX	1024
#define OCSP_HTTP_GET_MAX	255	/* RFC 5019 5: the whole GET URL */

enum ocsp_http_result {
	OCSP_HTTP_OK = 0,
	OCSP_HTTP_TEMP,		/* unreachable, timed out, closed, HTTP 5xx,
				   DNS timeout or SERVFAIL */
	OCSP_HTTP_BAD,		/* an answer, but no DER (garbage, HTTP 4xx,
				   too large), or no nonce echoed */
	OCSP_HTTP_URL,		/* not an http://host[:port][/path] URL */
	OCSP_HTTP_NOMEM,
	OCSP_HTTP_NOHOST,	/* the host name has no address (NXDOMAIN,
				   no A or AAAA), or DNS refused */
};

struct ocsp_http {
	/* in */
	const char *url;
	int	 timeout;	/* seconds, > 0 */
	int	 nonce;		/* send a nonce, require it echoed (RFC 8954) */
	int	 post;		/* always POST */
	/* out */
	const char *method;	/* "GET" or "POST", once a request went out */
	char	 peer[INET6_ADDRSTRLEN + 8];	/* "ADDR:PORT" connected to */
	unsigned char *der;	/* the response body, malloc'd */
	size_t	 len;
	char	 error[256];	/* why, when not OCSP_HTTP_OK */
};

/* 1 when url is one ocsp_http_fetch takes, else 0 with *why set. */
int ocsp_http_url_ok(const char *url, const char **why);

/* Ask h->url about cert (issued by issuer).  On OCSP_HTTP_OK h->der holds
 * what came back, to be checked with ocsp_check_der. */
enum ocsp_http_result ocsp_http_fetch(struct ocsp_http *h, X509 *cert,
    X509 *issuer);

/* Free h->der. */
void ocsp_http_free(struct ocsp_http *h);

#endif
