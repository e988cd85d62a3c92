/* ocsp_http: an OCSP request over HTTP with OpenSSL's client, on a
 * connection to an address lib/dns found.  See ocsp_http.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "dns.h"
#include "idn.h"
#include "ocsp.h"
#include "ocsp_http.h"

struct url {
	char	*host, *port, *path;
	int	 plain;		/* no query or fragment: GET may append */
};

static void
url_free(struct url *u)
{
	OPENSSL_free(u->host);
	OPENSSL_free(u->port);
	OPENSSL_free(u->path);
	memset(u, 0, sizeof(*u));
}

static enum ocsp_http_result
say(struct ocsp_http *h, enum ocsp_http_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ocsp_http_result
say(struct ocsp_http *h, enum ocsp_http_result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->error, sizeof(h->error), fmt, ap);
	va_end(ap);
	return r;
}

/* ---- the URL ---- */

int
ocsp_http_url_ok(const char *url, const char **why)
{
	char *user = NULL, *host = NULL;
	const char *p;
	int ssl = 0, ok;

	*why = NULL;
	/* OSSL_HTTP_parse_url takes the scheme in lower case only. */
	if (url == NULL || strncmp(url, "http://", 7) != 0) {
		*why = url != NULL && strncasecmp(url, "https://", 8) == 0 ?
		    "https is not supported (OCSP runs over plain HTTP, "
		    "RFC 6960 A.1)" : "not an http:// URL";
		return 0;
	}
	if (strlen(url) > OCSP_HTTP_URL_MAX) {
		*why = "URL too long";
		return 0;
	}
	/* An AIA URL comes from whoever made the certificate. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			*why = "URL with spaces or control characters";
			return 0;
		}
	ERR_set_mark();
	ok = OSSL_HTTP_parse_url(url, &ssl, &user, &host, NULL, NULL, NULL,
	    NULL, NULL) == 1;
	ERR_pop_to_mark();
	if (!ok || host == NULL || *host == '\0')
		*why = "malformed URL";
	else if (user != NULL && *user != '\0')
		*why = "URL with user information";
	OPENSSL_free(user);
	OPENSSL_free(host);
	return *why == NULL;
}

static int
url_split(const char *url, struct url *u)
{
	int ssl = 0, ok;

	memset(u, 0, sizeof(*u));
	ERR_set_mark();
	ok = OSSL_HTTP_parse_url(url, &ssl, NULL, &u->host, &u->port, NULL,
	    &u->path, NULL, NULL) == 1 && u->host != NULL && u->port != NULL &&
	    u->path != NULL;
	ERR_pop_to_mark();
	if (!ok)
		url_free(u);
	u->plain = ok && strpbrk(url, "?#") == NULL;
	return ok ? 0 : -1;
}

/* "Host: host[:port]" (RFC 7230 5.4), the name as in the URL (an IPv6
 * literal keeps its brackets).  Given ourselves, since OpenSSL's own
 * leaves the port out; OpenSSL adds none when one is given. */
static STACK_OF(CONF_VALUE) *
host_header(const struct url *u)
{
	STACK_OF(CONF_VALUE) *hs = NULL;
	char v[300];

	if (strcmp(u->port, "80") == 0)
		snprintf(v, sizeof(v), "%s", u->host);
	else
		snprintf(v, sizeof(v), "%s:%s", u->host, u->port);
	if (X509V3_add_value("Host", v, &hs) != 1) {
		sk_CONF_VALUE_pop_free(hs, X509V3_conf_free);
		return NULL;
	}
	return hs;
}

/* RFC 5019 5: url + "/" + the URL encoding of the base64 of the DER.
 * The path (and query) part of that URL, malloc'd; NULL when the whole
 * would not fit in OCSP_HTTP_GET_MAX bytes (POST then). */
static char *
get_path(const char *url, const struct url *u, const unsigned char *der,
    int len)
{
	size_t n = strlen(url), pn = strlen(u->path);
	size_t b64len = 4 * (((size_t)len + 2) / 3), enc = 0, i;
	unsigned char *b64;
	char *out, *o;

	if (n > OCSP_HTTP_GET_MAX || (b64 = malloc(b64len + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock(b64, der, len);
	/* Each of + / = takes three bytes once encoded. */
	for (i = 0; b64[i] != '\0'; i++)
		enc += b64[i] == '+' || b64[i] == '/' || b64[i] == '=' ? 3 : 1;
	if (n + (url[n - 1] != '/') + enc > OCSP_HTTP_GET_MAX ||
	    (out = malloc(pn + 1 + enc + 1)) == NULL) {
		free(b64);
		return NULL;
	}
	memcpy(out, u->path, pn);
	o = out + pn;
	if (pn == 0 || u->path[pn - 1] != '/')
		*o++ = '/';
	for (i = 0; b64[i] != '\0'; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += sprintf(o, "%%%02X", b64[i]);
		else
			*o++ = (char)b64[i];
	}
	*o = '\0';
	free(b64);
	return out;
}

/* What goes on the request line: the path, or through a proxy the
 * absolute URI (RFC 7230 5.3.2) with the responder's NAME in it, which
 * the proxy resolves.  malloc'd. */
static char *
request_target(const struct url *u, const char *path, int proxied)
{
	char *t;
	int n;

	if (!proxied)
		return strdup(path);
	n = strcmp(u->port, "80") == 0 ?
	    asprintf(&t, "http://%s%s", u->host, path) :
	    asprintf(&t, "http://%s:%s%s", u->host, u->port, path);
	return n == -1 ? NULL : t;
}

/* ---- what went wrong ---- */

/* The HTTP status of an HTTP_R_RECEIVED_ERROR ("code=404, ..."). */
static int
http_code(const char *data)
{
	int code = 0;

	if (data != NULL && (data = strstr(data, "code=")) != NULL)
		code = atoi(data + 5);
	return code;
}

static enum ocsp_http_result
from_http_error(struct ocsp_http *h, int reason, const char *data)
{
	int code;

	switch (reason) {
	case HTTP_R_RECEIVED_ERROR:
		code = http_code(data);
		return say(h, code >= 500 && code < 600 ? OCSP_HTTP_TEMP :
		    OCSP_HTTP_BAD, "responder answered HTTP %d", code);
	case HTTP_R_STATUS_CODE_UNSUPPORTED:
		return say(h, OCSP_HTTP_BAD, "responder answered an HTTP "
		    "status other than 200");
	case HTTP_R_RETRY_TIMEOUT:
		return say(h, OCSP_HTTP_TEMP, "responder unreachable: timed "
		    "out after %d s", h->timeout);
	case HTTP_R_CONNECT_FAILURE:
	case HTTP_R_ERROR_SENDING:
		return say(h, OCSP_HTTP_TEMP, "responder unreachable: "
		    "cannot send the request");
	case HTTP_R_FAILED_READING_DATA:
	case HTTP_R_SERVER_CANCELED_CONNECTION:
		return say(h, OCSP_HTTP_TEMP, "responder closed the "
		    "connection without an answer");
	case HTTP_R_MISSING_ASN1_ENCODING:
	case HTTP_R_ERROR_PARSING_ASN1_LENGTH:
		return say(h, OCSP_HTTP_BAD, "responder answered something "
		    "that is not DER (not an OCSP response)");
	case HTTP_R_MAX_RESP_LEN_EXCEEDED:
	case HTTP_R_ASN1_LEN_EXCEEDS_MAX_RESP_LEN:
		return say(h, OCSP_HTTP_BAD, "response longer than %d bytes",
		    OCSP_DER_MAX);
	case HTTP_R_TOO_MANY_REDIRECTIONS:
	case HTTP_R_REDIRECTION_NOT_ENABLED:
	case HTTP_R_MISSING_REDIRECT_LOCATION:
		return say(h, OCSP_HTTP_BAD, "responder redirects (too "
		    "often, or for a POST)");
	}
	return say(h, OCSP_HTTP_BAD, "responder answered garbage (not an "
	    "HTTP/1.x response%s%.60s)", data != NULL ? ": " : "",
	    data != NULL ? data : "");
}

/* Judge by the first error queued: the cause (what follows it is OpenSSL
 * saying that the exchange failed). */
static enum ocsp_http_result
why_failed(struct ocsp_http *h)
{
	const char *data = NULL;
	unsigned long e;
	int flags = 0, lib, reason;
	enum ocsp_http_result r;

	e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
	if ((flags & ERR_TXT_STRING) == 0)
		data = NULL;
	lib = ERR_GET_LIB(e);
	reason = ERR_GET_REASON(e);
	if (e == 0)
		r = say(h, OCSP_HTTP_TEMP, "responder closed the connection "
		    "without an answer");
	else if (lib == ERR_LIB_SYS)
		r = say(h, OCSP_HTTP_TEMP, "responder unreachable: %s",
		    strerror(reason));
	else if (reason == ERR_R_MALLOC_FAILURE)
		r = say(h, OCSP_HTTP_NOMEM, "out of memory");
	else if (lib == ERR_LIB_BIO)
		r = say(h, OCSP_HTTP_TEMP, "responder unreachable: %s",
		    reason == BIO_R_CONNECT_TIMEOUT ||
		    reason == BIO_R_TRANSFER_TIMEOUT ? "timed out" :
		    reason == BIO_R_LOOKUP_RETURNED_NOTHING ||
		    reason == BIO_R_CONNECT_ERROR ? "cannot connect" :
		    "network error");
	else if (lib == ERR_LIB_HTTP)
		r = from_http_error(h, reason, data);
	else
		r = say(h, OCSP_HTTP_BAD, "HTTP exchange failed");
	ERR_clear_error();
	return r;
}

/* ---- where to connect: lib/dns, never getaddrinfo ---- */

/* The addresses of a host as OpenSSL's connect BIO takes them: "1.2.3.4"
 * or "[::1]", literals (getaddrinfo turns them into addresses without
 * asking anyone). */
#define ADDRS_MAX	8
struct addrs {
	char	 a[ADDRS_MAX][INET6_ADDRSTRLEN + 2];
	size_t	 n;
};

static void
addrs_take(struct addrs *ad, const struct dns_answer *ans, int family)
{
	const ldns_rdf *rd;
	char buf[INET6_ADDRSTRLEN];
	size_t i, want = family == AF_INET ? 4 : 16;
	ldns_rr *rr;

	for (i = 0; ans->rrs != NULL && i < ldns_rr_list_rr_count(ans->rrs) &&
	    ad->n < ADDRS_MAX; i++) {
		rr = ldns_rr_list_rr(ans->rrs, i);
		if (ldns_rr_get_type(rr) != (family == AF_INET ?
		    LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA) ||
		    (rd = ldns_rr_rdf(rr, 0)) == NULL ||
		    ldns_rdf_size(rd) != want ||
		    inet_ntop(family, ldns_rdf_data(rd), buf, sizeof(buf)) ==
		    NULL)
			continue;
		snprintf(ad->a[ad->n++], sizeof(ad->a[0]),
		    family == AF_INET ? "%s" : "[%s]", buf);
	}
}

/* One lookup of name for type, its addresses added to ad; the status. */
static enum dns_status
lookup(const char *name, ldns_rr_type type, struct addrs *ad)
{
	struct dns_answer *ans;
	enum dns_status st;

	if ((ans = dns_query(name, type)) == NULL)
		return DNS_TEMPFAIL;
	if ((st = ans->status) == DNS_OK)
		addrs_take(ad, ans, type == LDNS_RR_TYPE_A ? AF_INET :
		    AF_INET6);
	dns_answer_free(ans);
	return st;
}

/* host as a URL has it (a name, an IPv4 literal, a bracketed IPv6 one)
 * to addresses: a literal as it is, a name through lib/dns, A then
 * AAAA.  what ("responder", "proxy") names it in the messages. */
static enum ocsp_http_result
resolve(struct ocsp_http *h, const char *what, const char *host,
    struct addrs *ad)
{
	unsigned char bin[16];
	char lit[INET6_ADDRSTRLEN + 1], *name;
	enum dns_status sa, sb;
	size_t len = strlen(host);
	const char *why;

	ad->n = 0;
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' || len - 2 >= sizeof(lit))
			return say(h, OCSP_HTTP_URL, "%s %.64s: not an IPv6 "
			    "address", what, host);
		memcpy(lit, host + 1, len - 2);
		lit[len - 2] = '\0';
		if (inet_pton(AF_INET6, lit, bin) != 1)
			return say(h, OCSP_HTTP_URL, "%s %.64s: not an IPv6 "
			    "address", what, host);
		snprintf(ad->a[ad->n++], sizeof(ad->a[0]), "%s", host);
		return OCSP_HTTP_OK;
	}
	if (inet_pton(AF_INET, host, bin) == 1) {
		snprintf(ad->a[ad->n++], sizeof(ad->a[0]), "%s", host);
		return OCSP_HTTP_OK;
	}
	if ((name = idn_to_alabels(host, &why)) == NULL)
		return say(h, OCSP_HTTP_URL, "%s %.200s: not a host name: %s",
		    what, host, why);
	sa = lookup(name, LDNS_RR_TYPE_A, ad);
	sb = sa == DNS_NXDOMAIN ? DNS_NXDOMAIN :
	    lookup(name, LDNS_RR_TYPE_AAAA, ad);
	free(name);
	if (ad->n > 0)
		return OCSP_HTTP_OK;
	if (sa == DNS_TEMPFAIL || sb == DNS_TEMPFAIL)
		return say(h, OCSP_HTTP_TEMP, "%s %.200s: DNS lookup failed "
		    "(timeout or server failure; try later)", what, host);
	if (sa == DNS_PERMFAIL || sb == DNS_PERMFAIL)
		return say(h, OCSP_HTTP_NOHOST, "%s %.200s: DNS lookup "
		    "refused", what, host);
	return say(h, OCSP_HTTP_NOHOST, "%s %.200s: no such host%s", what,
	    host, sa == DNS_NXDOMAIN ? "" : " (no A or AAAA record)");
}

/* ---- the exchange ---- */

/* Where one request goes: the responder itself, or the proxy that
 * http_proxy (or HTTP_PROXY) names unless no_proxy lists the host. */
struct route {
	struct addrs ad;
	char	*port;		/* of what is connected to */
	char	*target;	/* the request line's */
	int	 proxied;
};

static void
route_free(struct route *rt)
{
	OPENSSL_free(rt->port);
	free(rt->target);
	memset(rt, 0, sizeof(*rt));
}

static enum ocsp_http_result
route(struct ocsp_http *h, const struct url *u, const char *path,
    struct route *rt)
{
	const char *proxy;
	char *phost = NULL;
	enum ocsp_http_result r;
	int ssl = 0, ok;

	memset(rt, 0, sizeof(*rt));
	/* As OpenSSL's client decides it, then given to it explicitly: it
	 * is handed a connection, never a name. */
	proxy = OSSL_HTTP_adapt_proxy(NULL, NULL, u->host, 0);
	if (proxy != NULL) {
		ERR_set_mark();
		ok = OSSL_HTTP_parse_url(proxy, &ssl, NULL, &phost, &rt->port,
		    NULL, NULL, NULL, NULL) == 1 && phost != NULL &&
		    *phost != '\0';
		ERR_pop_to_mark();
		if (!ok) {
			OPENSSL_free(phost);
			route_free(rt);
			return say(h, OCSP_HTTP_URL, "http_proxy: %.100s: "
			    "malformed URL", proxy);
		}
		rt->proxied = 1;
		r = resolve(h, "proxy", phost, &rt->ad);
		OPENSSL_free(phost);
	} else {
		if ((rt->port = OPENSSL_strdup(u->port)) == NULL) {
			route_free(rt);
			return say(h, OCSP_HTTP_NOMEM, "out of memory");
		}
		r = resolve(h, "responder", u->host, &rt->ad);
	}
	if (r == OCSP_HTTP_OK &&
	    (rt->target = request_target(u, path, rt->proxied)) == NULL)
		r = say(h, OCSP_HTTP_NOMEM, "out of memory");
	if (r != OCSP_HTTP_OK)
		route_free(rt);
	return r;
}

/* One request over rt, each address in turn until one connects, within
 * the time left, shared among the addresses still to try (OpenSSL keeps
 * trying a refused connect until its timeout).  The response (a memory
 * BIO), or NULL with the cause queued or, for a GET that is redirected,
 * *redir set. */
static BIO *
send_once(struct ocsp_http *h, const struct route *rt,
    STACK_OF(CONF_VALUE) *hs, BIO *body, time_t deadline, char **redir)
{
	OSSL_HTTP_REQ_CTX *rctx;
	BIO *bio, *resp;
	size_t i;
	long left, share;

	for (i = 0; i < rt->ad.n; i++) {
		if ((left = (long)(deadline - time(NULL))) <= 0) {
			if (i > 0)
				return NULL;	/* the last try's cause */
			left = 1;
		}
		if ((share = left / (long)(rt->ad.n - i)) < 1)
			share = 1;
		ERR_clear_error();
		if ((bio = BIO_new_connect(rt->ad.a[i])) == NULL)
			return NULL;
		if (BIO_set_conn_port(bio, rt->port) <= 0) {
			BIO_free_all(bio);
			return NULL;
		}
		rctx = OSSL_HTTP_open(NULL, NULL, NULL, NULL, 0, bio, NULL,
		    NULL, NULL, 0, (int)share);
		if (rctx == NULL) {
			BIO_free_all(bio);
			continue;
		}
		snprintf(h->peer, sizeof(h->peer), "%s:%s", rt->ad.a[i],
		    rt->port);
		/* Connected: the exchange has all the time left. */
		if ((left = (long)(deadline - time(NULL))) < 1)
			left = 1;
		resp = NULL;
		if (OSSL_HTTP_set1_request(rctx, rt->target, hs, body != NULL ?
		    "application/ocsp-request" : NULL, body, NULL, 1,
		    OCSP_DER_MAX, (int)left, 0))
			resp = OSSL_HTTP_exchange(rctx, redir);
		OSSL_HTTP_close(rctx, resp != NULL);
		BIO_free_all(bio);
		return resp;
	}
	return NULL;
}

static enum ocsp_http_result
take_body(struct ocsp_http *h, BIO *resp)
{
	char *p = NULL;
	long n = BIO_get_mem_data(resp, &p);

	if (n <= 0 || p == NULL)
		return say(h, OCSP_HTTP_BAD, "empty answer");
	if ((h->der = malloc((size_t)n)) == NULL)
		return say(h, OCSP_HTTP_NOMEM, "out of memory");
	memcpy(h->der, p, (size_t)n);
	h->len = (size_t)n;
	return OCSP_HTTP_OK;
}

/* Where a GET is redirected (OpenSSL's client would follow it and
 * resolve the new host itself): *u and *path for the next request. */
static enum ocsp_http_result
redirect(struct ocsp_http *h, char *loc, struct url *u, char **path)
{
	const char *why;
	struct url nu;

	if (loc[0] == '/') {
		free(*path);
		*path = strdup(loc);
		OPENSSL_free(loc);
		return *path != NULL ? OCSP_HTTP_OK :
		    say(h, OCSP_HTTP_NOMEM, "out of memory");
	}
	if (!ocsp_http_url_ok(loc, &why) || url_split(loc, &nu) == -1) {
		say(h, OCSP_HTTP_BAD, "responder redirects to a URL we do not "
		    "follow: %s", why != NULL ? why : "malformed URL");
		OPENSSL_free(loc);
		return OCSP_HTTP_BAD;
	}
	OPENSSL_free(loc);
	free(*path);
	if ((*path = strdup(nu.path)) == NULL) {
		url_free(&nu);
		return say(h, OCSP_HTTP_NOMEM, "out of memory");
	}
	url_free(u);
	*u = nu;
	return OCSP_HTTP_OK;
}

#define REDIRECTS_MAX	5

/* The request (GET per RFC 5019 when it fits, else POST), following at
 * most REDIRECTS_MAX redirections of a GET, all within h->timeout. */
static enum ocsp_http_result
exchange(struct ocsp_http *h, struct url *u, const unsigned char *der,
    int len)
{
	STACK_OF(CONF_VALUE) *hs = NULL;
	time_t deadline = time(NULL) + h->timeout;
	enum ocsp_http_result r;
	char *path = NULL, *loc;
	BIO *body = NULL, *resp;
	struct route rt;
	int hops;

	if (!h->post && u->plain && (path = get_path(h->url, u, der, len)))
		h->method = "GET";
	else if ((body = BIO_new_mem_buf(der, len)) == NULL ||
	    (path = strdup(u->path)) == NULL) {
		BIO_free(body);
		return say(h, OCSP_HTTP_NOMEM, "out of memory");
	} else
		h->method = "POST";
	for (hops = 0;; hops++) {
		sk_CONF_VALUE_pop_free(hs, X509V3_conf_free);
		if ((hs = host_header(u)) == NULL) {
			r = say(h, OCSP_HTTP_NOMEM, "out of memory");
			break;
		}
		if ((r = route(h, u, path, &rt)) != OCSP_HTTP_OK)
			break;
		loc = NULL;
		resp = send_once(h, &rt, hs, body, deadline,
		    body == NULL ? &loc : NULL);
		route_free(&rt);
		if (resp != NULL) {
			r = take_body(h, resp);
			BIO_free(resp);
			break;
		}
		if (loc == NULL) {
			r = why_failed(h);
			break;
		}
		ERR_clear_error();
		if (hops == REDIRECTS_MAX) {
			OPENSSL_free(loc);
			r = say(h, OCSP_HTTP_BAD, "responder redirects more "
			    "than %d times", REDIRECTS_MAX);
			break;
		}
		if ((r = redirect(h, loc, u, &path)) != OCSP_HTTP_OK)
			break;
		if (time(NULL) >= deadline) {
			r = say(h, OCSP_HTTP_TEMP, "responder unreachable: "
			    "timed out after %d s", h->timeout);
			break;
		}
	}
	sk_CONF_VALUE_pop_free(hs, X509V3_conf_free);
	BIO_free(body);
	free(path);
	return r;
}

static enum ocsp_http_result
send_request(struct ocsp_http *h, OCSP_REQUEST *req)
{
	unsigned char *der = NULL;
	enum ocsp_http_result r;
	struct url u;
	int len;

	if (url_split(h->url, &u) == -1)
		return say(h, OCSP_HTTP_URL, "malformed URL");
	if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
		url_free(&u);
		return say(h, OCSP_HTTP_NOMEM, "out of memory");
	}
	ERR_clear_error();
	r = exchange(h, &u, der, len);
	OPENSSL_free(der);
	url_free(&u);
	return r;
}

enum ocsp_http_result
ocsp_http_fetch(struct ocsp_http *h, X509 *cert, X509 *issuer)
{
	OCSP_REQUEST *req;
	enum ocsp_http_result r;
	const char *why;

	h->method = NULL;
	h->peer[0] = '\0';
	h->der = NULL;
	h->len = 0;
	h->error[0] = '\0';
	if (!ocsp_http_url_ok(h->url, &why))
		return say(h, OCSP_HTTP_URL, "%s", why);
	if (h->timeout <= 0)
		h->timeout = 10;
	if ((req = ocsp_request_new(cert, issuer, h->nonce)) == NULL)
		return say(h, OCSP_HTTP_NOMEM, "cannot make the request");
	r = send_request(h, req);
	/* A replayed or cached answer cannot hold our fresh nonce.  (An
	 * answer that is no BasicOCSPResponse is ocsp_check_der's to name.) */
	if (r == OCSP_HTTP_OK && h->nonce &&
	    ocsp_nonce_echoed(req, h->der, h->len) == 0) {
		ocsp_http_free(h);
		r = say(h, OCSP_HTTP_BAD, "the response does not echo our "
		    "nonce (--nonce)");
	}
	OCSP_REQUEST_free(req);
	return r;
}

void
ocsp_http_free(struct ocsp_http *h)
{
	free(h->der);
	h->der = NULL;
	h->len = 0;
}
