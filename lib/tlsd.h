/* tlsd: the server side of STARTTLS (RFC 3207) for smtpfront, with
 * OpenSSL 3: certificate sets, per-SNI files, OCSP stapling, and a
 * handshake and I/O bounded by deadlines on a connection the caller owns.
 *
 * Certificates.  A configuration names up to TLSD_MAX_PAIRS certificate
 * pairs, typically one RSA and one ECDSA: OpenSSL serves the one the
 * client's signature algorithms allow (two pairs of one key type are an
 * error).  A certificate file is PEM, the leaf first, then the chain (as
 * SSL_CTX_use_certificate_chain_file reads it); the key file may be the
 * same file.  Each pair may name a DER OCSP response file (as ocsp-fetch
 * writes it) for its certificate.
 *
 * %{sni}.  Any of these file names may contain "%{sni}" (Exim's
 * tls_certificate = /etc/certs/${tls_sni}.pem), replaced by a name:
 *  - the client's SNI, when the certificate or key names contain %{sni},
 *    the client sent one, it is a valid host name (tlsd_sni_normalize:
 *    lowercased, [a-z0-9.-] only, no leading dot, no "..", at most 253
 *    octets, one trailing dot dropped) and at least one certificate file
 *    for it exists;
 *  - otherwise the server's own host name (tlsd_config.hostname): the
 *    default set, loaded by tlsd_new, which must work.
 * A per-name set whose certificate files all do not exist is the normal
 * "no certificate of its own" case and falls back silently; a per-name
 * set that exists but does not load (a bad key, a missing pair member)
 * falls back too, with a note in tlsd_info.note.  Per-name sets are
 * cached (at most sni_cache names, least recently used dropped) and
 * reloaded when a file's inode, size or mtime changed; the default set is
 * checked the same way at each handshake (a failed reload keeps the old
 * set, with a note).  An OCSP file name is expanded with the same name as
 * its certificate, so a staple always belongs to the certificate sent.
 *
 * OCSP stapling.  When the client asks (status_request), the response
 * file of the certificate being served is read again for this handshake
 * and stapled only when it is a successful BasicOCSPResponse about that
 * certificate, with thisUpdate not later than now + skew and a nextUpdate
 * later than now - skew: lib/ocsp's ocsp_check_der (which also checks
 * the signature) when the issuer is in the certificate file, the same
 * checks but the signature when it is not.  A stale, foreign or missing
 * file sends nothing and says why in tlsd_info.ocsp_note.  Exim's
 * $tls_in_ocsp follows (tls.h): not asked NOTREQ (0), asked but nothing
 * sent NOTRESP (1), stapled VFYNOTDONE (2: Exim's value for a server,
 * which cannot know whether the client verified it).
 *
 * The connection.  tlsd_handshake runs on two descriptors, rfd and wfd
 * (0 and 1 in stdin mode, possibly one socket; two pipe ends in tests):
 * it makes them non-blocking until tlsd_free, which restores their flags,
 * and polls before each retry, so that a peer that stalls, even in the
 * middle of a record, costs no more than the deadline.  The caller
 * ignores SIGPIPE.
 *
 * RFC 3207 4.2 (the STARTTLS command injection, CVE-2011-0411): the
 * handshake reads only from rfd, never from any buffer of the caller;
 * the session core must itself discard whatever plaintext it has buffered
 * after "STARTTLS\r\n" (and forget the session state, EHLO included).
 *
 * Session tickets and the session cache are off (one process per
 * connection has nothing to resume from); renegotiation is refused.
 * A struct tlsd is for one thread (the SNI cache is not locked): in
 * listener mode the parent makes it and each connection's child uses its
 * copy.
 * A peer closing the TCP connection without close_notify reads as EOF:
 * SMTP's own framing (the final dot, BDAT LAST) shows a cut message.
 */
#ifndef MXKIT_TLSD_H
#define MXKIT_TLSD_H
#include <stddef.h>
#include <sys/types.h>

#include "tls.h"

#define TLSD_MAX_PAIRS	4
#define TLSD_NAME_MAX	253	/* a host name, without its trailing dot */
#define TLSD_PATH_MAX	4096	/* an expanded file name */
#define TLSD_SNI_CACHE	16	/* per-name sets kept, by default */

struct tlsd_pair {
	const char	*cert;	/* PEM: leaf, then its chain */
	const char	*key;	/* PEM key; NULL: in the cert file */
	const char	*ocsp;	/* DER OCSP response; NULL: none */
};

struct tlsd_config {
	struct tlsd_pair pair[TLSD_MAX_PAIRS];
	size_t		 npairs;	/* 1..TLSD_MAX_PAIRS */
	/* What %{sni} becomes for the default set: the server's own name.
	 * Required when any file name contains %{sni}. */
	const char	*hostname;
	int		 min_version;	/* TLS1_2_VERSION when 0 */
	int		 max_version;	/* 0: the highest OpenSSL has */
	const char	*ciphers;	/* TLS 1.2 cipher list; NULL: OpenSSL's */
	const char	*ciphersuites;	/* TLS 1.3 suites; NULL: OpenSSL's */
	int		 client_preference;	/* 0: the server's order wins */
	/* Ask for a client certificate (never required, never verified:
	 * its DN is only reported). */
	int		 request_client_cert;
	long		 ocsp_skew;	/* seconds; 0: OCSP_SKEW_DEFAULT */
	size_t		 sni_cache;	/* 0: TLSD_SNI_CACHE */
};

struct tlsd;
struct tlsd_conn;

/* Check cfg and load its default set.  The server, or NULL with "what:
 * why" in err ("/etc/certs/mx.pem: no such file"; "key does not match
 * certificate"...).  cfg's strings are copied. */
struct tlsd *tlsd_new(const struct tlsd_config *cfg, char *err,
    size_t errlen);
void tlsd_free(struct tlsd *t);

/* Reload the default set if one of its files changed (tlsd_handshake
 * does it too).  0 (reloaded or unchanged), or -1 with err: the old set
 * stays in use. */
int tlsd_refresh(struct tlsd *t, char *err, size_t errlen);

/* The handshake on the connection rfd/wfd within timeout_ms.  0 with
 * *conn set; -1 with err ("handshake failed: no shared cipher"; OpenSSL's
 * reason for the first error), or -2 with err "handshake timed out". */
int tlsd_handshake(struct tlsd *t, int rfd, int wfd, unsigned timeout_ms,
    struct tlsd_conn **conn, char *err, size_t errlen);

struct tlsd_info {
	char	 version[16];	/* "TLSv1.3" */
	char	 cipher[TLS_CIPHER_MAX];	/* Exim's: "TLS1.3:TLS_AES_...:256" */
	char	 cipher_name[64];	/* OpenSSL's: "TLS_AES_256_GCM_SHA384" */
	int	 bits, alg_bits;	/* secret bits, algorithm bits */
	/* The SNI as sent, bytes outside printable ASCII as '?' ("" when
	 * none); sni_valid when it passed tlsd_sni_normalize. */
	char	 sni[TLSD_NAME_MAX + 3];
	int	 sni_valid;
	char	 cert_name[TLSD_NAME_MAX + 1];	/* %{sni} became this */
	int	 ocsp_requested;
	enum tls_ocsp ocsp;	/* $tls_in_ocsp: NOTREQ, NOTRESP, VFYNOTDONE */
	size_t	 ocsp_len;	/* octets stapled */
	char	 ocsp_note[256];	/* why none was stapled */
	char	 peerdn[TLS_DN_MAX];	/* client certificate subject, or "" */
	/* For the Received: header: "(using TLSv1.3 with cipher
	 * TLS_AES_256_GCM_SHA384 (256/256 bits))". */
	char	 received[192];
	char	 note[256];	/* a per-name set that did not load, or "" */
};

/* The session's description; valid until tlsd_conn_free. */
const struct tlsd_info *tlsd_info(const struct tlsd_conn *c);

/* The certificates the client sent (with request_client_cert): their
 * number; with depth below it, the subject of the one at depth (0: the
 * client's own) in buf, as tls_dn writes it. */
size_t tlsd_peer_chain(const struct tlsd_conn *c, size_t depth, char *buf,
    size_t size);

/* Read up to n octets within timeout_ms: the count, 0 at EOF
 * (close_notify, or the peer closed), -1 on an error, -2 on timeout. */
ssize_t tlsd_read(struct tlsd_conn *c, void *buf, size_t n,
    unsigned timeout_ms);
/* Decrypted octets buffered in OpenSSL, readable without waiting (the
 * current record's rest; more records may wait on rfd: poll it). */
size_t tlsd_pending(const struct tlsd_conn *c);
/* Write all of buf[0..n) within timeout_ms: 0, -1 error, -2 timeout. */
int tlsd_write_all(struct tlsd_conn *c, const void *buf, size_t n,
    unsigned timeout_ms);
/* Send close_notify (not waiting for the peer's) within timeout_ms:
 * 0, -1 or -2. */
int tlsd_shutdown(struct tlsd_conn *c, unsigned timeout_ms);
/* Why the last call failed: "read: connection reset", "timed out". */
const char *tlsd_error(const struct tlsd_conn *c);
/* Free c and restore the descriptors' flags; it closes nothing. */
void tlsd_conn_free(struct tlsd_conn *c);

/* ---- exposed for the tests and the fuzzer ---- */

/* The SNI sni[0..len) as a file-name-safe host name in out (size at
 * least TLSD_NAME_MAX + 1): 0, or -1 when it is not one. */
int tlsd_sni_normalize(const char *sni, size_t len, char *out,
    size_t size);
/* tmpl with every "%{sni}" replaced by name, into out: 0, or -1 when it
 * does not fit. */
int tlsd_expand(const char *tmpl, const char *name, char *out, size_t size);

#endif
