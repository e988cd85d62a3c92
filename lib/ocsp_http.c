/* ocsp_http: an OCSP request over HTTP with OpenSSL's client.  See
 * ocsp_http.h. */
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

/* "Host: host[:port]", brackets around an IPv6 literal (RFC 7230 5.4).
 * Given ourselves, since OpenSSL's own leaves the port out. */
static STACK_OF(CONF_VALUE) *
host_header(const struct url *u)
{
	STACK_OF(CONF_VALUE) *hs = NULL;
	char v[300];
	int v6 = strchr(u->host, ':') != NULL;

	if (strcmp(u->port, "80") == 0)
		snprintf(v, sizeof(v), v6 ? "[%s]" : "%s", u->host);
	else
		snprintf(v, sizeof(v), v6 ? "[%s]:%s" : "%s:%s", u->host,
		    u->port);
	if (X509V3_add_value("Host", v, &hs) != 1) {
		sk_CONF_VALUE_pop_free(hs, X509V3_conf_free);
		return NULL;
	}
	return hs;
}

/* RFC 5019 5: url + "/" + the URL encoding of the base64 of the DER;
 * NULL when it would not fit in OCSP_HTTP_GET_MAX bytes (POST then). */
static char *
get_url(const char *url, const unsigned char *der, int len)
{
	size_t n = strlen(url), b64len = 4 * (((size_t)len + 2) / 3);
	unsigned char *b64;
	char *out, *o;
	size_t i;

	if (n > OCSP_HTTP_GET_MAX ||
	    (b64 = malloc(b64len + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock(b64, der, len);
	/* Each of + / = takes three bytes once encoded. */
	if ((out = malloc(n + 1 + 3 * b64len + 1)) == NULL) {
		free(b64);
		return NULL;
	}
	o = out + n;
	memcpy(out, url, n);
	if (n == 0 || url[n - 1] != '/')
		*o++ = '/';
	for (i = 0; b64[i] != '\0'; i++) {
		if (b64[i] == '+' || b64[i] == '/' || b64[i] == '=')
			o += sprintf(o, "%%%02X", b64[i]);
		else
			*o++ = (char)b64[i];
	}
	*o = '\0';
	free(b64);
	if ((size_t)(o - out) > OCSP_HTTP_GET_MAX) {
		free(out);
		return NULL;
	}
	return out;
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

/* ---- the exchange ---- */

static BIO *
exchange(struct ocsp_http *h, const struct url *u,
    STACK_OF(CONF_VALUE) *hs, const unsigned char *der, int len)
{
	char *get = NULL;
	BIO *req, *resp;

	if (!h->post && u->plain && (get = get_url(h->url, der, len)) != NULL) {
		h->method = "GET";
		resp = OSSL_HTTP_get(get, NULL, NULL, NULL, NULL, NULL, NULL,
		    0, hs, NULL, 1, OCSP_DER_MAX, h->timeout);
		free(get);
		return resp;
	}
	if ((req = BIO_new_mem_buf(der, len)) == NULL)
		return NULL;
	h->method = "POST";
	resp = OSSL_HTTP_transfer(NULL, u->host, u->port, u->path, 0, NULL,
	    NULL, NULL, NULL, NULL, NULL, 0, hs, "application/ocsp-request",
	    req, NULL, 1, OCSP_DER_MAX, h->timeout, 0);
	BIO_free(req);
	return resp;
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

static enum ocsp_http_result
send_request(struct ocsp_http *h, OCSP_REQUEST *req)
{
	STACK_OF(CONF_VALUE) *hs = NULL;
	unsigned char *der = NULL;
	enum ocsp_http_result r;
	struct url u;
	BIO *resp;
	int len;

	if (url_split(h->url, &u) == -1)
		return say(h, OCSP_HTTP_URL, "malformed URL");
	if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0 ||
	    (hs = host_header(&u)) == NULL) {
		OPENSSL_free(der);
		url_free(&u);
		return say(h, OCSP_HTTP_NOMEM, "out of memory");
	}
	ERR_clear_error();
	if ((resp = exchange(h, &u, hs, der, len)) == NULL)
		r = why_failed(h);
	else
		r = take_body(h, resp);
	BIO_free_all(resp);
	sk_CONF_VALUE_pop_free(hs, X509V3_conf_free);
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
