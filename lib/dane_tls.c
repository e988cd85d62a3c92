/* dane_tls: the TLS half of RFC 7672: one STARTTLS session verified with
 * OpenSSL's DANE support, the server's certificate and its stapled OCSP
 * response described. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dane.h"
#include "tls.h"
#include "ocsp.h"
#include "out.h"
#include "smtp.h"
#include "tls.h"

const char *
dane_ocsp_name(enum dane_ocsp o)
{
	static const char *const names[] = {
		"notreq", "none", "good", "revoked", "unknown", "expired",
		"invalid"
	};

	return (unsigned)o < sizeof(names) / sizeof(names[0]) ?
	    names[o] : "invalid";
}

int
dane_ocsp_exim(enum dane_ocsp o)
{
	switch (o) {
	case DANE_OCSP_NOTREQ: return TLS_OCSP_NOTREQ;
	case DANE_OCSP_NONE: return TLS_OCSP_NOTRESP;
	case DANE_OCSP_GOOD: return TLS_OCSP_VERIFIED;
	default: return TLS_OCSP_FAILED;
	}
}

static void
reason(struct dane_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reason(struct dane_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

/* The last OpenSSL error as text, or what when there is none. */
static const char *
ssl_why(char *buf, size_t len, const char *what)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		return what;
	ERR_error_string_n(e, buf, len);
	return buf;
}

/* Exim's tls_out_cipher: "TLS1.3:TLS_AES_256_GCM_SHA384:256". */
static void
describe_cipher(SSL *ssl, struct dane_session *s)
{
	snprintf(s->version, sizeof(s->version), "%s", SSL_get_version(ssl));
	tls_exim_cipher(ssl, s->cipher, sizeof(s->cipher));
}

static time_t
asn1_time_t(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Subject and issuer as Exim's $tls_out_peerdn shows them. */
static void
describe_cert(X509 *leaf, struct dane_session *s)
{
	if (leaf == NULL)
		return;
	tls_dn(X509_get_subject_name(leaf), s->peerdn, sizeof(s->peerdn));
	tls_dn(X509_get_issuer_name(leaf), s->issuer, sizeof(s->issuer));
	s->not_after = asn1_time_t(X509_get0_notAfter(leaf));
}

/* The chain as sent, one subject each, for the report. */
static void
describe_chain(SSL *ssl, struct dane_session *s)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	char name[TLS_DN_MAX];
	int i, n = chain != NULL ? sk_X509_num(chain) : 0;

	if (n <= 0 || (s->chain = calloc((size_t)n, sizeof(char *))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		tls_dn(X509_get_subject_name(sk_X509_value(chain, i)), name,
		    sizeof(name));
		if ((s->chain[s->nchain] = strdup(name)) != NULL)
			s->nchain++;
	}
}

/* ---- OCSP staple ---- */

static int
ocsp_wanted(const struct dane_probe_opts *o, const struct dane_tlsa *t)
{
	unsigned bits = t != NULL ? t->usage_bits : 0;

	if (o->ocsp >= 0)
		return o->ocsp;
	/* Exim's hosts_request_ocsp default once DANE is in use: only
	 * without DANE, or with DANE-TA records alone. */
	return bits == 0 || bits == 1u << TLSA_DANE_TA;
}

static X509 *
issuer_in(STACK_OF(X509) *chain, X509 *leaf)
{
	int i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (X509_cmp(c, leaf) != 0 &&
		    X509_check_issued(c, leaf) == X509_V_OK)
			return c;
	}
	return NULL;
}

static void
check_staple(SSL *ssl, const struct dane_probe_opts *o,
    struct dane_session *s)
{
	const unsigned char *der = NULL;
	long len = SSL_get_tlsext_status_ocsp_resp(ssl, &der);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl), *issuer;
	struct ocsp_status st;
	enum ocsp_verdict v;
	char t1[32], t2[32];

	if (der == NULL || len <= 0) {
		s->ocsp = DANE_OCSP_NONE;
		return;
	}
	if (leaf == NULL || (issuer = issuer_in(chain, leaf)) == NULL) {
		s->ocsp = DANE_OCSP_INVALID;
		snprintf(s->ocsp_detail, sizeof(s->ocsp_detail),
		    "the issuer of the certificate is not in the chain sent");
		return;
	}
	v = ocsp_check_der(der, (size_t)len, leaf, issuer, chain, o->now,
	    OCSP_SKEW_DEFAULT, &st);
	if (v == OCSP_INVALID || v == OCSP_STALE) {
		s->ocsp = v == OCSP_STALE ? DANE_OCSP_EXPIRED :
		    DANE_OCSP_INVALID;
		snprintf(s->ocsp_detail, sizeof(s->ocsp_detail), "%s",
		    st.error != NULL ? st.error : "invalid response");
		return;
	}
	s->ocsp = st.cert_status == V_OCSP_CERTSTATUS_GOOD ? DANE_OCSP_GOOD :
	    st.cert_status == V_OCSP_CERTSTATUS_REVOKED ? DANE_OCSP_REVOKED :
	    DANE_OCSP_UNKNOWN;
	out_iso8601(st.this_update, t1, sizeof(t1));
	out_iso8601(st.next_update, t2, sizeof(t2));
	snprintf(s->ocsp_detail, sizeof(s->ocsp_detail),
	    "%s, this update %s, next update %s, responder %s",
	    ocsp_cert_status_name(st.cert_status), t1, t2, st.responder);
}

/* ---- DANE ---- */

/* RFC 7672 3.2.2: for DANE-TA the names to accept are the TLSA base
 * domain (also the SNI) and the MX host name as the MX record gave it. */
static int
dane_setup(SSL *ssl, const char *mxhost, const struct dane_tlsa *t)
{
	size_t i;
	int added = 0;

	if (SSL_dane_enable(ssl, t->base) <= 0)
		return -1;
	if (strcmp(mxhost, t->base) != 0 && SSL_add1_host(ssl, mxhost) != 1)
		return -1;
	(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (i = 0; i < t->n; i++) {
		const struct tlsa_rr *r = &t->rr[i];

		if (!tlsa_rr_usable_smtp(r, NULL))
			continue;
		if (SSL_dane_tlsa_add(ssl, r->usage, r->selector, r->mtype,
		    r->data, r->len) > 0)
			added++;
	}
	return added > 0 ? 0 : -1;
}

/* Why none matched, record by record: "2 1 1 c6b1d95c...: matches depth
 * 1", "3 1 1 9b6d56af...: matches no certificate sent".  A record that
 * matches tells the failure was elsewhere (a name, an expired CA). */
static void
explain_records(SSL *ssl, const struct dane_tlsa *t, struct out_buf *b)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	char *txt;
	size_t i;
	int d, at;

	for (i = 0; i < t->n; i++) {
		const struct tlsa_rr *r = &t->rr[i];

		if (!tlsa_rr_usable_smtp(r, NULL))
			continue;
		for (at = -1, d = 0; chain != NULL && d < sk_X509_num(chain) &&
		    at < 0; d++)
			if (tlsa_rr_match(r, sk_X509_value(chain, d)) == 1)
				at = d;
		txt = tlsa_rr_text(r);
		/* "U S M " and 8 digits name the record well enough. */
		out_buf_printf(b, "; %.14s...: ", txt != NULL ? txt : "?");
		free(txt);
		if (at >= 0)
			out_buf_printf(b, "matches depth %d", at);
		else
			out_buf_str(b, "matches no certificate sent");
	}
}

static void
dane_outcome(SSL *ssl, const struct dane_tlsa *t, struct dane_session *s)
{
	long vr = SSL_get_verify_result(ssl);
	uint8_t u, sel, mt;
	const unsigned char *data;
	struct out_buf b = { 0 };
	size_t dlen;
	int depth;

	if (vr != X509_V_OK) {
		s->result = DANE_FAIL;
		explain_records(ssl, t, &b);
		reason(s, "verification failed: %s%s",
		    X509_verify_cert_error_string(vr),
		    b.oom || b.p == NULL ? "" : b.p);
		out_buf_free(&b);
		return;
	}
	depth = SSL_get0_dane_tlsa(ssl, &u, &sel, &mt, &data, &dlen);
	if (depth < 0) {
		s->result = DANE_FAIL;
		reason(s, "verified, but not by a TLSA record");
		return;
	}
	struct tlsa_rr r = { u, sel, mt, (unsigned char *)data, dlen };

	s->match_depth = depth;
	s->match = tlsa_rr_text(&r);
	s->verified = 1;
	s->result = DANE_PASS;
	reason(s, "%s record matched the certificate at depth %d",
	    tlsa_usage_name(u) != NULL ? tlsa_usage_name(u) : "TLSA", depth);
}

/* ---- the session ---- */

static SSL_CTX *
client_ctx(void)
{
	/* Verification is judged after the handshake, so that a failure
	 * still shows the certificate and the session. */
	SSL_CTX *ctx = tls_client_ctx();

	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Greeting, EHLO and the STARTTLS offer.  0 when STARTTLS may be tried. */
static int
greet(struct smtp *c, const char *helo, struct dane_session *s)
{
	char line[300];
	int code;

	if ((code = smtp_read_reply(c)) != 220) {
		s->result = DANE_UNREACHABLE;
		if (code == -1)
			reason(s, "greeting: %s", c->error);
		else
			reason(s, "greeting: %.400s", c->reply);
		return -1;
	}
	snprintf(line, sizeof(line), "EHLO %s", helo);
	if ((code = smtp_command(c, line)) != 250) {
		s->result = code == -1 ? DANE_UNREACHABLE : DANE_NOSTARTTLS;
		reason(s, "EHLO: %.400s", code == -1 ? c->error : c->reply);
		return -1;
	}
	if (!smtp_has_extension(c, "STARTTLS")) {
		s->result = DANE_NOSTARTTLS;
		reason(s, "STARTTLS not offered");
		return -1;
	}
	s->starttls_offered = 1;
	return 0;
}

static SSL *
session_ssl(SSL_CTX *ctx, const char *mxhost, const struct dane_tlsa *t,
    const char *sni, const struct dane_probe_opts *o, struct dane_session *s)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (t != NULL) {
		if (dane_setup(ssl, mxhost, t) == -1) {
			SSL_free(ssl);
			return NULL;
		}
		s->dane = 1;
	} else if (sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	if (ocsp_wanted(o, t)) {
		s->ocsp = DANE_OCSP_NONE;
		SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
	}
	return ssl;
}

static void
after_handshake(SSL *ssl, const struct dane_tlsa *t,
    const struct dane_probe_opts *o, struct dane_session *s)
{
	s->tls = 1;
	describe_cipher(ssl, s);
	describe_cert(SSL_get0_peer_certificate(ssl), s);
	describe_chain(ssl, s);
	if (s->ocsp != DANE_OCSP_NOTREQ)
		check_staple(ssl, o, s);
	if (!s->dane) {
		s->result = DANE_NONE;
		return;
	}
	dane_outcome(ssl, t, s);
	/* A DANE-TA chain whose CA says the certificate is revoked is not
	 * one to trust, whatever the TLSA records say. */
	if (s->result == DANE_PASS && s->ocsp == DANE_OCSP_REVOKED) {
		s->result = DANE_FAIL;
		reason(s, "the stapled OCSP response says the certificate "
		    "is revoked");
	}
}

int
dane_probe(const struct dane_addr *a, const char *mxhost,
    const struct dane_tlsa *t, const char *sni,
    const struct dane_probe_opts *o, struct dane_session *s)
{
	struct smtp c;
	SSL_CTX *ctx;
	SSL *ssl;
	char ebuf[256];

	memset(s, 0, sizeof(*s));
	s->match_depth = -1;
	if ((ctx = client_ctx()) == NULL)
		return -1;
	if (smtp_connect(&c, (const struct sockaddr *)&a->sa, a->salen,
	    o->timeout_ms) == -1) {
		s->result = DANE_UNREACHABLE;
		reason(s, "connect: %s", c.error);
		SSL_CTX_free(ctx);
		return 0;
	}
	s->connected = 1;
	if (greet(&c, o->helo, s) == -1)
		goto done;
	if ((ssl = session_ssl(ctx, mxhost, t, sni, o, s)) == NULL) {
		smtp_close(&c);
		SSL_CTX_free(ctx);
		return -1;
	}
	ERR_clear_error();
	if (smtp_starttls(&c, ssl) == -1) {
		if (c.error != NULL && strcmp(c.error, "refused") == 0) {
			s->result = DANE_NOSTARTTLS;
			reason(s, "STARTTLS: %.400s", c.reply);
		} else if (c.code != 220) {
			s->result = DANE_UNREACHABLE;
			reason(s, "STARTTLS: %s", c.error);
		} else {
			s->result = t != NULL ? DANE_FAIL : DANE_NONE;
			reason(s, "TLS handshake: %s",
			    ssl_why(ebuf, sizeof(ebuf), c.error));
			/* No QUIT in plaintext into a broken TLS session. */
			close(c.fd);
			c.fd = -1;
		}
		SSL_free(ssl);
		goto done;
	}
	after_handshake(ssl, t, o, s);
done:
	smtp_close(&c);
	SSL_CTX_free(ctx);
	return 0;
}

void
dane_session_free(struct dane_session *s)
{
	size_t i;

	free(s->match);
	s->match = NULL;
	for (i = 0; i < s->nchain; i++)
		free(s->chain[i]);
	free(s->chain);
	s->chain = NULL;
	s->nchain = 0;
}
