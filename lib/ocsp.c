/* ocsp: is a DER OCSP response a valid, current proof about a
 * certificate (RFC 6960, with RFC 5019's profile).  See ocsp.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocsp.h"
#include "out.h"

static void
status_init(struct ocsp_status *st)
{
	memset(st, 0, sizeof(*st));
	st->cert_status = -1;
	st->revocation_reason = -1;
}

/* Record why; the verdict is the caller's.  fmt names the problem in the
 * words of RFC 6960 where it has them. */
static enum ocsp_verdict
fail(struct ocsp_status *st, enum ocsp_verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errbuf, sizeof(st->errbuf), fmt, ap);
	va_end(ap);
	st->error = st->errbuf;
	return v;
}

time_t
ocsp_asn1_epoch(const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* ---- the SingleResponse about cert ---- */

/* The CertID hashes a responder may use; RFC 5019 wants SHA-1, newer
 * responders answer in the request's hash, often SHA-256. */
static const EVP_MD *
certid_md(const OCSP_CERTID *cid)
{
	ASN1_OBJECT *oid = NULL;

	if (OCSP_id_get0_info(NULL, &oid, NULL, NULL, (OCSP_CERTID *)cid) != 1)
		return NULL;
	switch (OBJ_obj2nid(oid)) {
	case NID_sha1: return EVP_sha1();
	case NID_sha256: return EVP_sha256();
	case NID_sha384: return EVP_sha384();
	case NID_sha512: return EVP_sha512();
	}
	return NULL;
}

/* Does the SingleResponse's CertID name cert: our CertID made with its
 * hash compares equal (issuer name and key hashes, serial). */
static int
single_is_for(OCSP_SINGLERESP *sr, X509 *cert, X509 *issuer)
{
	const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(sr);
	const EVP_MD *md = certid_md(cid);
	OCSP_CERTID *ours;
	int same;

	if (md == NULL || (ours = OCSP_cert_to_id(md, cert, issuer)) == NULL)
		return 0;
	same = OCSP_id_cmp(ours, cid) == 0;
	OCSP_CERTID_free(ours);
	return same;
}

static enum ocsp_verdict
find_single(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer,
    struct ocsp_status *st, ASN1_GENERALIZEDTIME **nextp)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL;
	OCSP_SINGLERESP *sr;
	int i, n = OCSP_resp_count(bs), reason = -1;

	for (i = 0; i < n && i < 1000; i++) {
		if ((sr = OCSP_resp_get0(bs, i)) == NULL ||
		    !single_is_for(sr, cert, issuer))
			continue;
		st->cert_status = OCSP_single_get0_status(sr, &reason, &rev,
		    &thisu, nextp);
		if (st->cert_status < 0)
			break;
		st->this_update = ocsp_asn1_epoch(thisu);
		st->next_update = ocsp_asn1_epoch(*nextp);
		if (st->cert_status == V_OCSP_CERTSTATUS_REVOKED) {
			st->revocation_time = ocsp_asn1_epoch(rev);
			st->revocation_reason = reason;
		}
		if (thisu == NULL || st->this_update == 0)
			return fail(st, OCSP_INVALID, "thisUpdate unreadable");
		return OCSP_VALID;
	}
	st->cert_status = -1;
	return fail(st, OCSP_INVALID, n == 0 ? "no SingleResponse" :
	    "no SingleResponse for this certificate (CertID mismatch)");
}

/* ---- the signer ---- */

int
ocsp_issued_by(X509 *cert, X509 *issuer)
{
	EVP_PKEY *k;

	if (cert == NULL || issuer == NULL ||
	    X509_check_issued(issuer, cert) != X509_V_OK ||
	    (k = X509_get0_pubkey(issuer)) == NULL)
		return 0;
	return X509_verify(cert, k) == 1;
}

static int
has_ocsp_signing(X509 *x)
{
	uint32_t f = X509_get_extension_flags(x);

	return (f & EXFLAG_XKUSAGE) != 0 &&
	    (X509_get_extended_key_usage(x) & XKU_OCSP_SIGN) != 0;
}

static void
name_of(X509 *x, char *buf, size_t size)
{
	BIO *b;
	int n;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	/* RFC 2253 escapes controls and non-ASCII: safe to print. */
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_read(b, buf, (int)size - 1)) > 0)
		buf[n] = '\0';
	BIO_free(b);
}

/* The pool the responder certificate is looked for in, besides the
 * response's own: the issuer (a response signed by the CA need not carry
 * its certificate) and the caller's extra ones. */
static STACK_OF(X509) *
signer_pool(X509 *issuer, STACK_OF(X509) *extra)
{
	STACK_OF(X509) *pool;
	int i;

	if ((pool = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(pool, issuer)) {
		sk_X509_free(pool);
		return NULL;
	}
	for (i = 0; extra != NULL && i < sk_X509_num(extra); i++)
		if (!sk_X509_push(pool, sk_X509_value(extra, i))) {
			sk_X509_free(pool);
			return NULL;
		}
	return pool;
}

/* The signature over tbsResponseData, with signer's key and no other:
 * OCSP_NOINTERN keeps OCSP_basic_verify from picking a certificate of
 * the response's own, OCSP_NOVERIFY from building a chain (the
 * authorization below is RFC 6960's, not a path to a trust anchor). */
static int
signature_ok(OCSP_BASICRESP *bs, X509 *signer)
{
	STACK_OF(X509) *one;
	X509_STORE *store;
	int ok = 0;

	if ((one = sk_X509_new_null()) == NULL)
		return 0;
	if ((store = X509_STORE_new()) != NULL && sk_X509_push(one, signer))
		ok = OCSP_basic_verify(bs, one, store,
		    OCSP_NOINTERN | OCSP_NOVERIFY) == 1;
	X509_STORE_free(store);
	sk_X509_free(one);
	return ok;
}

/* RFC 6960 4.2.2.2: the CA itself (its key: a re-issued CA certificate
 * with the same key will do), or a certificate the CA issued for this
 * with id-kp-OCSPSigning.  No "trusted responder" of local policy. */
static enum ocsp_verdict
check_signer(OCSP_BASICRESP *bs, X509 *issuer, STACK_OF(X509) *extra,
    struct ocsp_status *st, X509 **signerp)
{
	STACK_OF(X509) *pool;
	X509 *signer = NULL;
	int found;

	if ((pool = signer_pool(issuer, extra)) == NULL)
		return fail(st, OCSP_INVALID, "out of memory");
	found = OCSP_resp_get0_signer(bs, &signer, pool) == 1 &&
	    signer != NULL;
	sk_X509_free(pool);
	if (!found)
		return fail(st, OCSP_INVALID,
		    "responder certificate not found (ResponderID matches "
		    "neither the issuer nor a certificate in the response)");
	*signerp = signer;
	name_of(signer, st->responder, sizeof(st->responder));
	st->responder_not_after = ocsp_asn1_epoch(X509_get0_notAfter(signer));
	if (!signature_ok(bs, signer))
		return fail(st, OCSP_INVALID, "bad signature (responder %s)",
		    st->responder);
	if (EVP_PKEY_eq(X509_get0_pubkey(signer),
	    X509_get0_pubkey(issuer)) == 1)
		return OCSP_VALID;
	st->delegated = 1;
	if (!ocsp_issued_by(signer, issuer))
		return fail(st, OCSP_INVALID, "responder %s is neither the "
		    "issuer nor a certificate the issuer issued",
		    st->responder);
	if (!has_ocsp_signing(signer))
		return fail(st, OCSP_INVALID, "delegated responder %s lacks "
		    "id-kp-OCSPSigning", st->responder);
	return OCSP_VALID;
}

/* ---- times ---- */

static enum ocsp_verdict
check_times(const ASN1_GENERALIZEDTIME *next, time_t now, long skew,
    struct ocsp_status *st)
{
	char t[32];

	if (st->this_update > now + skew) {
		out_iso8601(st->this_update, t, sizeof(t));
		return fail(st, OCSP_INVALID, "thisUpdate %s is in the future",
		    t);
	}
	/* Exim ignores a proof without one: it never expires. */
	if (next == NULL)
		return fail(st, OCSP_INVALID, "no nextUpdate");
	if (st->next_update == 0 || st->next_update < st->this_update)
		return fail(st, OCSP_INVALID, "nextUpdate unreadable or "
		    "before thisUpdate");
	if (st->next_update < now - skew) {
		out_iso8601(st->next_update, t, sizeof(t));
		return fail(st, OCSP_STALE, "expired: nextUpdate %s has "
		    "passed", t);
	}
	return OCSP_VALID;
}

/* The field failure Exim's documentation tells of: a responder
 * certificate that expires before the proof does makes it invalid from
 * then on, while the fetcher thinks it good until nextUpdate. */
static enum ocsp_verdict
check_responder_dates(X509 *signer, time_t now, long skew,
    struct ocsp_status *st)
{
	time_t nb = ocsp_asn1_epoch(X509_get0_notBefore(signer));
	time_t na = st->responder_not_after;
	char t[32];

	out_iso8601(na, t, sizeof(t));
	if (nb == 0 || na == 0)
		return fail(st, OCSP_INVALID, "responder certificate dates "
		    "unreadable");
	if (nb > now + skew)
		return fail(st, OCSP_INVALID, "responder certificate not "
		    "valid yet");
	if (na < now)
		return fail(st, OCSP_INVALID, "responder certificate expired "
		    "at %s", t);
	if (na < st->next_update)
		return fail(st, OCSP_INVALID, "responder certificate expires "
		    "at %s, before nextUpdate", t);
	return OCSP_VALID;
}

/* ---- the response ---- */

static const char *
response_status_name(int s)
{
	switch (s) {
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST: return "malformedRequest";
	case OCSP_RESPONSE_STATUS_INTERNALERROR: return "internalError";
	case OCSP_RESPONSE_STATUS_TRYLATER: return "tryLater";
	case OCSP_RESPONSE_STATUS_SIGREQUIRED: return "sigRequired";
	case OCSP_RESPONSE_STATUS_UNAUTHORIZED: return "unauthorized";
	}
	return "an unknown status";
}

/* The BasicOCSPResponse of a successful response, or NULL with st->error
 * set.  Trailing bytes after the DER are refused: a file is exactly one
 * response. */
static OCSP_BASICRESP *
parse_basic(const unsigned char *der, size_t len, struct ocsp_status *st)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs = NULL;
	int rs;

	if (der == NULL || len == 0 || len > OCSP_DER_MAX) {
		fail(st, OCSP_INVALID, len == 0 ? "empty response" :
		    "response too large");
		return NULL;
	}
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		fail(st, OCSP_INVALID, resp == NULL ? "not an OCSP response" :
		    "bytes after the OCSP response");
		OCSP_RESPONSE_free(resp);
		return NULL;
	}
	if ((rs = OCSP_response_status(resp)) !=
	    OCSP_RESPONSE_STATUS_SUCCESSFUL)
		fail(st, OCSP_INVALID, "responder said %s (status %d)",
		    response_status_name(rs), rs);
	else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		fail(st, OCSP_INVALID, "not a BasicOCSPResponse");
	OCSP_RESPONSE_free(resp);
	return bs;
}

enum ocsp_verdict
ocsp_check_der(const unsigned char *der, size_t len, X509 *cert,
    X509 *issuer, STACK_OF(X509) *extra, time_t now, long skew,
    struct ocsp_status *st)
{
	ASN1_GENERALIZEDTIME *next = NULL;
	OCSP_BASICRESP *bs;
	X509 *signer = NULL;
	enum ocsp_verdict v;

	status_init(st);
	if (cert == NULL || issuer == NULL)
		return fail(st, OCSP_INVALID, "no certificate or issuer");
	if (skew < 0)
		skew = 0;
	if ((bs = parse_basic(der, len, st)) == NULL)
		return OCSP_INVALID;
	if ((v = find_single(bs, cert, issuer, st, &next)) == OCSP_VALID &&
	    (v = check_signer(bs, issuer, extra, st, &signer)) == OCSP_VALID &&
	    (v = check_times(next, now, skew, st)) == OCSP_VALID)
		v = check_responder_dates(signer, now, skew, st);
	OCSP_BASICRESP_free(bs);
	/* Nothing of OpenSSL's reaches the user; leave no errors behind for
	 * the next caller to trip over. */
	ERR_clear_error();
	return v;
}

/* ---- names ---- */

const char *
ocsp_cert_status_name(int cert_status)
{
	switch (cert_status) {
	case V_OCSP_CERTSTATUS_GOOD: return "good";
	case V_OCSP_CERTSTATUS_REVOKED: return "revoked";
	case V_OCSP_CERTSTATUS_UNKNOWN: return "unknown";
	}
	return "none";
}

const char *
ocsp_reason_name(int reason)
{
	/* RFC 5280 5.3.1; 7 is not used. */
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise",
		"affiliationChanged", "superseded", "cessationOfOperation",
		"certificateHold", NULL, "removeFromCRL",
		"privilegeWithdrawn", "aACompromise",
	};

	if (reason < 0)
		return NULL;
	if ((size_t)reason >= sizeof(names) / sizeof(names[0]) ||
	    names[reason] == NULL)
		return "unspecified";
	return names[reason];
}

/* ---- the certificate's responder ---- */

char *
ocsp_url_of(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *urls;
	const char *u;
	char *dup = NULL;

	if (cert == NULL || (urls = X509_get1_ocsp(cert)) == NULL)
		return NULL;
	if (sk_OPENSSL_STRING_num(urls) > 0 &&
	    (u = sk_OPENSSL_STRING_value(urls, 0)) != NULL)
		dup = strdup(u);
	X509_email_free(urls);
	return dup;
}

/* ---- refreshing ---- */

int
ocsp_refresh_parse(const char *s, struct ocsp_refresh *r)
{
	unsigned long long v = 0, unit = 1;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 100ULL * 365 * 86400)
			return -1;
	}
	if (*p == '%') {
		if (p[1] != '\0' || v > 100)
			return -1;
		r->percent = (int)v;
		r->seconds = 0;
		return 0;
	}
	switch (*p) {
	case '\0': case 's': break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	if (v * unit > 100ULL * 365 * 86400)
		return -1;
	r->seconds = (long)(v * unit);
	r->percent = -1;
	return 0;
}

int
ocsp_refresh_due(const struct ocsp_status *st, time_t now,
    const struct ocsp_refresh *r)
{
	long long margin, span;

	if (st->next_update == 0)
		return 1;
	if (r->percent >= 0) {
		span = (long long)st->next_update - (long long)st->this_update;
		margin = span > 0 ? span * r->percent / 100 : 0;
	} else
		margin = r->seconds;
	return (long long)st->next_update - (long long)now <= margin;
}

/* ---- requests ---- */

OCSP_REQUEST *
ocsp_request_new(X509 *cert, X509 *issuer, int nonce)
{
	OCSP_REQUEST *req;
	OCSP_CERTID *id;

	if ((req = OCSP_REQUEST_new()) == NULL)
		return NULL;
	if ((id = OCSP_cert_to_id(EVP_sha1(), cert, issuer)) == NULL ||
	    OCSP_request_add0_id(req, id) == NULL) {
		OCSP_CERTID_free(id);
		OCSP_REQUEST_free(req);
		return NULL;
	}
	/* 16 random octets, as RFC 8954 asks (1 to 32). */
	if (nonce && OCSP_request_add1_nonce(req, NULL, 16) != 1) {
		OCSP_REQUEST_free(req);
		return NULL;
	}
	return req;
}

int
ocsp_nonce_echoed(OCSP_REQUEST *req, const unsigned char *der, size_t len)
{
	struct ocsp_status st;
	OCSP_BASICRESP *bs;
	int ok;

	status_init(&st);
	if ((bs = parse_basic(der, len, &st)) == NULL)
		return -1;
	ok = OCSP_check_nonce(req, bs) == 1;
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
	return ok;
}
