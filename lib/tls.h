/* tls: what the TLS client (lib/dane_tls, tlsa-probe) and the TLS server
 * (lib/tlsd, smtpfront) say about a session, said the same way: Exim's
 * cipher string ($tls_in_cipher, $tls_out_cipher), the certificate DN as
 * Exim's $tls_in_peerdn shows it, Exim's OCSP status values, the TLS part
 * of a Received: header, and OpenSSL's first error as one short line.
 *
 * Nothing here does I/O; every text goes into a caller's buffer, cut to
 * its size and always NUL-terminated.
 */
#ifndef MXKIT_TLS_H
#define MXKIT_TLS_H
#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS_CIPHER_MAX	128	/* room for any Exim cipher string */
#define TLS_DN_MAX	512

/* Exim's $tls_in_ocsp / $tls_out_ocsp (an integer in Exim: these are its
 * values).  A server reports NOTREQ, NOTRESP or VFYNOTDONE: it sends a
 * response, it does not verify one. */
enum tls_ocsp {
	TLS_OCSP_NOTREQ = 0,	/* the client did not ask */
	TLS_OCSP_NOTRESP = 1,	/* asked, none was sent (or received) */
	TLS_OCSP_VFYNOTDONE = 2,	/* sent (or received, not verified) */
	TLS_OCSP_FAILED = 3,	/* received, verification failed */
	TLS_OCSP_VERIFIED = 4	/* received and verified */
};

/* "notreq", "notresp", "vfynotdone", "failed", "verified" (the names of
 * Exim's OCSP_* constants); "failed" for anything else. */
const char *tls_ocsp_word(enum tls_ocsp o);

/* Exim's cipher string for an established session:
 * "TLS1.3:TLS_AES_256_GCM_SHA384:256" (the protocol version without its
 * 'v', OpenSSL's cipher name, the secret bits). */
void tls_exim_cipher(const SSL *ssl, char *buf, size_t size);

/* The TLS comment of a Received: header, in Postfix's words:
 * "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))". */
void tls_received_text(const SSL *ssl, char *buf, size_t size);

/* A name in OpenSSL's one-line form, "/C=DE/O=Example/CN=mx.example.org",
 * as Exim's $tls_in_peerdn and $tls_out_peerdn show it; "" for NULL. */
void tls_dn(const X509_NAME *name, char *buf, size_t size);

/* The reason of the first (oldest) error in OpenSSL's error queue
 * ("no shared cipher", "unsupported protocol"), or what when the queue is
 * empty.  Clears the queue.  The result is buf or what. */
const char *tls_error_reason(char *buf, size_t size, const char *what);

/* "TLSv1.2", "TLS1.2" or "1.2" (also 1.0, 1.1, 1.3; any case) -> the
 * OpenSSL version number (TLS1_2_VERSION...); 0 when none of these. */
int tls_version_parse(const char *s);

/* A client context for SMTP's STARTTLS: TLS 1.0 and later, no
 * verification in the handshake (opportunistic TLS, RFC 7435, or DANE
 * judged after it).  NULL when out of memory. */
SSL_CTX *tls_client_ctx(void);

#endif
