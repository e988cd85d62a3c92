/* tlsa: DANE TLSA records (RFC 6698, 7671; SMTP profile RFC 7672; names
 * RFC 7218): parse and print them, compute certificate association data,
 * and generate the records to publish for a certificate (and for the key
 * of the next one, so that a renewal with a new key does not break DANE).
 *
 * Everything here is offline: no DNS, no TLS.  Errors are static strings
 * (why) or, for generation, one malloc'd "what: why" line.
 */
#ifndef MXKIT_TLSA_H
#define MXKIT_TLSA_H
#include <stddef.h>
#include <stdint.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Field values (RFC 6698 2.1, RFC 7218 acronyms). */
enum {
	TLSA_PKIX_TA = 0, TLSA_PKIX_EE = 1, TLSA_DANE_TA = 2, TLSA_DANE_EE = 3
};
enum { TLSA_SEL_CERT = 0, TLSA_SEL_SPKI = 1 };
enum { TLSA_MT_FULL = 0, TLSA_MT_SHA256 = 1, TLSA_MT_SHA512 = 2 };

/* One record; data is malloc'd and owned by the record. */
struct tlsa_rr {
	uint8_t	 usage, selector, mtype;
	unsigned char *data;	/* certificate association data */
	size_t	 len;
};

/* Wire RDATA -> r.  0, or -1 with a static why and r zeroed.  Unknown
 * usages, selectors and matching types parse (RFC 7671 4.1: such records
 * are unusable, not malformed); a record with no association data, or a
 * SHA2-256/SHA2-512 one whose data is not 32/64 octets, is malformed. */
int tlsa_rr_parse(const unsigned char *rdata, size_t len, struct tlsa_rr *r,
    const char **why);
/* The same from an ldns TLSA RR (via its wire RDATA). */
int tlsa_rr_from_ldns(const ldns_rr *rr, struct tlsa_rr *r, const char **why);
/* Free data and zero r; NULL and zeroed records are fine. */
void tlsa_rr_free(struct tlsa_rr *r);

/* "3 1 1 <lowercase hex>" (presentation form of the RDATA), malloc'd;
 * NULL when out of memory. */
char *tlsa_rr_text(const struct tlsa_rr *r);

/* RFC 7672 3.1.3: 1 when an SMTP client may use r (usage DANE-TA or
 * DANE-EE, selector Cert or SPKI, matching Full, SHA2-256 or SHA2-512),
 * else 0 with a static why.  Usages 0 and 1 are unusable for SMTP. */
int tlsa_rr_usable_smtp(const struct tlsa_rr *r, const char **why);

/* RFC 7218 acronyms ("DANE-EE", "SPKI", "SHA2-256"); NULL for a value
 * with none (print the number). */
const char *tlsa_usage_name(unsigned usage);
const char *tlsa_selector_name(unsigned selector);
const char *tlsa_mtype_name(unsigned mtype);

/* An option value: decimal 0-255 or the acronym (any case) -> the value;
 * -1 otherwise.  For front ends that accept "DANE-EE" as ldns-dane does. */
enum tlsa_field { TLSA_FIELD_USAGE, TLSA_FIELD_SELECTOR, TLSA_FIELD_MTYPE };
int tlsa_field_parse(enum tlsa_field f, const char *s);

/* Certificate association data of cert: selector 0 the certificate's DER,
 * 1 its SubjectPublicKeyInfo DER as encoded in the certificate; mtype 0
 * that DER itself, 1 its SHA-256, 2 its SHA-512.  *data is malloc'd.  0,
 * or -1 (unknown selector or mtype, an unencodable certificate, no
 * memory). */
int tlsa_assoc(X509 *cert, unsigned selector, unsigned mtype,
    unsigned char **data, size_t *len);
/* The same for a bare key (selector 1 only: there is no certificate):
 * the record for the next key of a rollover. */
int tlsa_assoc_pkey(EVP_PKEY *key, unsigned mtype, unsigned char **data,
    size_t *len);
/* 1 when r's data matches cert under r's selector and mtype, 0 when it
 * does not, -1 when it cannot be computed (unknown selector or mtype). */
int tlsa_rr_match(const struct tlsa_rr *r, X509 *cert);

/* ---- generation (tlsa-probe --generate) ---- */

struct tlsa_gen_opts {
	unsigned usage, selector, mtype;	/* 3 1 1 is the advice */
	/* Owner name; NULL: "_PORT._tcp.HOST." with HOST the leaf's first
	 * non-wildcard DNS SAN, else its CN, in lower case.  A trailing dot
	 * is added. */
	const char *owner;
	unsigned port;		/* of the default owner; 0 means 25 */
};
#define TLSA_GEN_OPTS_DEFAULT { 3, 1, 1, NULL, 25 }

/* What tlsa_generate made: zone-file lines "OWNER IN TLSA U S M HEX"
 * (no newline) and warnings (no "warning:" prefix; the front end adds
 * "prog: warning: "). */
struct tlsa_gen {
	char	**lines;
	size_t	  nlines;
	char	**warnings;
	size_t	  nwarn;
};

/* Records for the certificate in the PEM file cert_path ("-" or NULL:
 * stdin), possibly a chain, leaf first.  Usage 3 and 1 describe the leaf;
 * usage 2 and 0 the certificate in the file that issued the leaf (an
 * error when it is not there).  With next_path (a PEM file holding a
 * certificate, a public key or an unencrypted private key), a second line
 * for the next key, "3 1 M" with M the given mtype: publish both before a
 * renewal with a new key.  When the next key is the current one, that is
 * said in a warning and, for a 3 1 M record, the one line suffices.
 *
 * Warnings for records that work but are fragile: 2 0 M (a CA re-issued
 * with the same key breaks it), usage 2 on an intermediate (CAs rotate
 * them), 3 0 M (breaks at every renewal), mtype 0 (huge), usage 0/1
 * (unusable for SMTP).  o NULL: TLSA_GEN_OPTS_DEFAULT.
 *
 * 0 with g filled (free it with tlsa_gen_free); else g is empty and *err
 * a malloc'd "file: why" line (NULL only when out of memory), and the
 * value is the exit status to use: EX_USAGE (a field out of range, a bad
 * owner name), EX_NOINPUT (a file that cannot be read), EX_DATAERR (no
 * certificate or key, no issuer for usage 0/2, no host name for the
 * owner, a file over 1 MiB), EX_SOFTWARE (out of memory). */
int tlsa_generate(const char *cert_path, const char *next_path,
    const struct tlsa_gen_opts *o, struct tlsa_gen *g, char **err);
void tlsa_gen_free(struct tlsa_gen *g);

#endif
