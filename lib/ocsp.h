/* ocsp: OCSP responses (RFC 6960) as a stapling server and a TLS client
 * need them: is this DER response a valid, current proof about this
 * certificate, and what does it say.
 *
 * Used by ocsp-fetch (before it replaces a stapling file) and tlsa-probe
 * (on the response a server stapled).  The checks, in order: response
 * status successful; a BasicOCSPResponse; a SingleResponse whose CertID is
 * the certificate's (SHA-1 or SHA-256 CertID); signed by the issuer or by
 * a delegated responder certificate the issuer issued with
 * id-kp-OCSPSigning (RFC 6960 4.2.2.2); thisUpdate not later than now +
 * skew; nextUpdate present (a proof without one is ignored, as Exim does)
 * and later than now - skew; the responder certificate valid now and not
 * expiring before nextUpdate (the field failure Exim's documentation
 * reports).
 */
#ifndef MXKIT_OCSP_H
#define MXKIT_OCSP_H
#include <stddef.h>
#include <time.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#define OCSP_SKEW_DEFAULT	300	/* seconds of clock skew allowed */

enum ocsp_verdict {
	OCSP_VALID = 0,		/* a current proof; see st.cert_status */
	OCSP_INVALID = -1,	/* not a proof about this certificate */
	OCSP_STALE = -2,	/* a genuine proof, but nextUpdate has passed */
};

struct ocsp_status {
	int	 cert_status;	/* V_OCSP_CERTSTATUS_GOOD/REVOKED/UNKNOWN */
	time_t	 this_update;
	time_t	 next_update;	/* 0 when absent */
	time_t	 revocation_time;	/* revoked only, else 0 */
	int	 revocation_reason;	/* OCSP_REVOKED_STATUS_*, -1 none */
	char	 responder[256];	/* signer's subject, one line (RFC 2253) */
	time_t	 responder_not_after;
	int	 delegated;	/* signed by a delegated responder */
	const char *error;	/* why, when not OCSP_VALID (points into errbuf or static) */
	char	 errbuf[256];
};

/* Check the DER response der[len] about cert, issued by issuer.  extra
 * (may be NULL) holds further certificates to look for the responder
 * certificate in (besides those in the response).  now is the time to
 * check against, skew the allowance in seconds.  The verdict; st is
 * filled as far as the response could be read. */
enum ocsp_verdict ocsp_check_der(const unsigned char *der, size_t len,
    X509 *cert, X509 *issuer, STACK_OF(X509) *extra, time_t now, long skew,
    struct ocsp_status *st);

/* "good", "revoked", "unknown". */
const char *ocsp_cert_status_name(int cert_status);
/* An ASN.1 time as seconds since the epoch; 0 for NULL or nonsense.
 * (OCSP_check_validity uses the clock; --now needs our own.) */
time_t ocsp_asn1_epoch(const ASN1_TIME *t);
/* RFC 5280 CRLReason names ("keyCompromise"...), NULL for -1. */
const char *ocsp_reason_name(int reason);

/* The first OCSP responder URL in cert's AIA, malloc'd; NULL when none. */
char *ocsp_url_of(X509 *cert);

/* ---- additions for ocsp-fetch (the declarations above are fixed) ---- */

/* The largest response accepted, from a file or a responder: real ones
 * are a few kilobytes (a signature, a certificate or two). */
#define OCSP_DER_MAX	(256 * 1024)

/* When to fetch again: "2h", "30m", "1d", "90s", "3600" (seconds), or
 * "N%" of the response's validity (nextUpdate - thisUpdate, N 0..100).
 * 0, or -1 when s is none of these. */
struct ocsp_refresh {
	long	 seconds;	/* used when percent < 0 */
	int	 percent;	/* -1: seconds */
};
int ocsp_refresh_parse(const char *s, struct ocsp_refresh *r);

/* 1 when a valid proof st should be replaced at now: no more than r's
 * margin remains before its nextUpdate (or it has none); else 0. */
int ocsp_refresh_due(const struct ocsp_status *st, time_t now,
    const struct ocsp_refresh *r);

/* An OCSPRequest (RFC 6960 4.1) for cert issued by issuer, one
 * SHA-1 CertID (RFC 5019 2.1.1), with a random nonce when nonce is set.
 * The request (keep it for ocsp_nonce_echoed), or NULL: out of memory. */
OCSP_REQUEST *ocsp_request_new(X509 *cert, X509 *issuer, int nonce);

/* 1 when the response der[len] carries the nonce of req, 0 when it
 * carries none or another one, -1 when it is no BasicOCSPResponse. */
int ocsp_nonce_echoed(OCSP_REQUEST *req, const unsigned char *der,
    size_t len);

/* 1 when cert names issuer as its issuer and issuer's key signed it. */
int ocsp_issued_by(X509 *cert, X509 *issuer);

#endif
