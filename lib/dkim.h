/* dkim: DomainKeys Identified Mail, RFC 6376 with RFC 8301 and RFC 8463.
 *
 * Tag lists, canonicalization, key records, signing and verifying.  The
 * crypto is OpenSSL EVP; key records come from lib/dns.  Result words are
 * Exim's (status none|invalid|fail|pass, reasons pubkey_unavailable,
 * pubkey_syntax, bodyhash_mismatch, signature_incorrect) plus the precise
 * reasons listed under enum dkim_reason where Exim has none.
 */
#ifndef MXKIT_DKIM_H
#define MXKIT_DKIM_H
#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include "msg.h"

/* ---- tag lists (RFC 6376 3.2) ---- */
#define DKIM_MAX_TAGS 64
struct dkim_tag {
	const char *name;	/* points into the parsed text */
	size_t name_len;
	const char *value;	/* surrounding FWS trimmed, inner FWS kept */
	size_t value_len;
};
struct dkim_taglist {
	struct dkim_tag tag[DKIM_MAX_TAGS];
	size_t n;
};
/* 0, or -1 with *why: bad syntax, a duplicated tag, too many tags. */
int dkim_tags_parse(const char *s, size_t len, struct dkim_taglist *tl,
    const char **why);
const struct dkim_tag *dkim_tags_get(const struct dkim_taglist *tl,
    const char *name);

/* ---- canonicalization (RFC 6376 3.4) ---- */
enum dkim_canon { DKIM_SIMPLE, DKIM_RELAXED };
struct dkim_buf {
	char *p;
	size_t len, cap;
};
void dkim_buf_free(struct dkim_buf *b);
/* Append the canonical form of one whole field (raw as in struct msg_field,
 * no line ending) plus CRLF.  0, or -1 on ENOMEM. */
int dkim_canon_header(enum dkim_canon c, const char *raw, size_t raw_len,
    struct dkim_buf *out);

/* Streaming body canonicalizer: feed the raw body in any pieces; canonical
 * bytes go to sink, at most limit of them (limit < 0: no limit).  Bare LF is
 * taken as CRLF. */
typedef void (*dkim_sink)(void *arg, const void *p, size_t n);
struct dkim_body_canon;
struct dkim_body_canon *dkim_body_canon_new(enum dkim_canon c,
    long long limit, dkim_sink sink, void *arg);
void dkim_body_canon_update(struct dkim_body_canon *bc, const char *p,
    size_t n);
/* Flush; returns the canonical body length before any limit was applied. */
unsigned long long dkim_body_canon_final(struct dkim_body_canon *bc);
void dkim_body_canon_free(struct dkim_body_canon *bc);

/* ---- signatures (RFC 6376 3.5) ---- */
enum dkim_algo { DKIM_RSA_SHA1, DKIM_RSA_SHA256, DKIM_ED25519_SHA256,
	DKIM_ALGO_UNKNOWN };
const char *dkim_algo_name(enum dkim_algo a);
const char *dkim_canon_name(enum dkim_canon c);

struct dkim_sig {
	int version;
	enum dkim_algo algo;
	char *algo_text;	/* a= as written */
	enum dkim_canon hcanon, bcanon;
	char *domain;		/* d= */
	char *selector;		/* s= */
	char *identity;		/* i=, or "@d" when absent */
	int identity_given;
	char **hnames;		/* h= split, FWS removed */
	size_t nh;
	char *hnames_text;	/* h= joined with ':' */
	unsigned char *b, *bh;	/* decoded */
	size_t blen, bhlen;
	char *b_text;		/* b= base64, FWS removed (header.b= uses a prefix) */
	long long length;	/* l=, -1 when absent */
	long long created;	/* t=, -1 when absent */
	long long expires;	/* x=, -1 when absent */
	char *copied;		/* z= as written, NULL when absent */
	char *query;		/* q=, default "dns/txt" */
};
/* Parse the value of a DKIM-Signature field.  0, or -1 with *why naming the
 * defect (missing required tag, bad base64, unknown version, ...). */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **why);
/* The same, and *reason (if not NULL) gets an enum dkim_reason: DKIM_R_NONE
 * on success, else DKIM_R_SIGNATURE_SYNTAX, DKIM_R_UNSUPPORTED_VERSION,
 * DKIM_R_UNSUPPORTED_CANON or DKIM_R_UNSUPPORTED_QUERY.  An unknown a= is
 * not an error: sig->algo is DKIM_ALGO_UNKNOWN. */
int dkim_sig_parse_ex(const char *value, size_t len, struct dkim_sig *sig,
    const char **why, int *reason);
void dkim_sig_free(struct dkim_sig *sig);
/* 1 when identity (an i= value) is "@domain", "local@domain" or the same
 * in a subdomain of domain, case-insensitively (RFC 6376 3.5, i=); 0
 * otherwise, and for NULL or an empty domain.  U-labels on either side are
 * compared as A-labels (RFC 8616). */
int dkim_identity_within(const char *identity, const char *domain);

/* ---- key records (RFC 6376 3.6.1) ---- */
#define DKIM_HASH_SHA1   1u
#define DKIM_HASH_SHA256 2u
struct dkim_key {
	unsigned hashes;	/* h=, bit set; all bits when absent */
	char *ktype;		/* k=, default "rsa" */
	char *notes;		/* n=, "" when absent */
	char *srvtype;		/* s=, "*" when absent */
	char *granularity;	/* g=, "*" when absent (RFC 4871) */
	char *flags;		/* t= as written, "" when absent */
	int testing;		/* t=y */
	int nosubdomains;	/* t=s */
	int revoked;		/* p= empty */
	unsigned char *p;	/* decoded p= */
	size_t plen;
	EVP_PKEY *pkey;		/* NULL when revoked or unusable */
	int bits;		/* key length in bits, 0 when unknown */
};
/* 0, or -1 with *why (not a DKIM key record, bad base64, bad key). */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key *key,
    const char **why);
void dkim_key_free(struct dkim_key *key);

/* ---- verifying ---- */
enum dkim_status { DKIM_NONE, DKIM_INVALID, DKIM_FAIL, DKIM_PASS };
const char *dkim_status_name(enum dkim_status s);

enum dkim_reason {
	DKIM_R_NONE,			/* pass, or no signature */
	DKIM_R_PUBKEY_UNAVAILABLE,	/* Exim's words from here ... */
	DKIM_R_PUBKEY_SYNTAX,
	DKIM_R_BODYHASH_MISMATCH,
	DKIM_R_SIGNATURE_INCORRECT,	/* ... to here */
	DKIM_R_SIGNATURE_SYNTAX,	/* the DKIM-Signature cannot be parsed */
	DKIM_R_UNSUPPORTED_VERSION,
	DKIM_R_UNSUPPORTED_ALGORITHM,
	DKIM_R_UNSUPPORTED_CANON,
	DKIM_R_UNSUPPORTED_QUERY,
	DKIM_R_ALGORITHM_HISTORIC,	/* rsa-sha1, RFC 8301 */
	DKIM_R_KEY_TOO_SHORT,		/* RSA < 1024 bits, RFC 8301 */
	DKIM_R_KEY_REVOKED,		/* p= empty */
	DKIM_R_KEY_TYPE_MISMATCH,	/* k= does not match a= */
	DKIM_R_KEY_HASH_MISMATCH,	/* key h= excludes the hash */
	DKIM_R_KEY_SERVICE_MISMATCH,	/* key s= excludes email */
	DKIM_R_KEY_NOSUBDOMAINS,	/* key t=s and i= in a subdomain */
	DKIM_R_FROM_NOT_SIGNED,		/* RFC 6376 5.4 */
	DKIM_R_IDENTITY_MISMATCH,	/* i= not within d= */
	DKIM_R_SIGNATURE_EXPIRED,	/* x= in the past */
	DKIM_R_SIGNATURE_FUTURE,	/* t= too far ahead */
	DKIM_R_BODY_LENGTH,		/* l= longer than the body */
	DKIM_R_TOO_MANY,		/* beyond max_sigs: not evaluated */
};
const char *dkim_reason_name(enum dkim_reason r);

/* Policy bits: all on by default (DKIM_POLICY_DEFAULT). */
#define DKIM_POLICY_RFC8301      0x01u	/* rsa-sha1 and short RSA keys fail */
#define DKIM_POLICY_FROM         0x02u	/* From must be signed */
#define DKIM_POLICY_EXPIRY       0x04u	/* x= in the past fails */
#define DKIM_POLICY_FUTURE       0x08u	/* t= far ahead is invalid */
#define DKIM_POLICY_IDENTITY     0x10u	/* i= must be within d= */
#define DKIM_POLICY_KEYFLAGS     0x20u	/* key h=, s=, t=s respected */
#define DKIM_POLICY_DEFAULT      0x3fu

struct dkim_verify_opts {
	time_t now;		/* 0: time(NULL) */
	unsigned policy;	/* DKIM_POLICY_* */
	size_t max_sigs;	/* 0: 20 */
	long long future_skew;	/* seconds t= may be ahead; default 300 */
	unsigned min_rsa_bits;	/* 0: 1024 */
};

struct dkim_result {
	enum dkim_status status;
	enum dkim_reason reason;
	int temperror;		/* the key lookup timed out */
	char *detail;		/* one human line, may be NULL */
	/* Exim's variables; strings are "" when not applicable, never NULL. */
	char *cur_signer;	/* set by dkim_select_signers */
	char *domain, *identity, *selector, *algo;
	char *canon_body, *canon_headers;
	char *copiedheaders, *headernames;
	long long bodylength;	/* -1: unset (printed 9999999999999) */
	long long created;	/* -1: unset (printed 0) */
	long long expires;	/* -1: unset (printed 9999999999999) */
	int key_testing, key_nosubdomains;
	char *key_srvtype, *key_granularity, *key_notes;
	int key_length;
	char *b_text;		/* the whole b= for header.b prefixes */
	int historic;		/* rsa-sha1 (flagged even when allowed) */
};

struct dkim_results {
	struct dkim_result *r;
	size_t n;
	size_t nsigs;		/* DKIM-Signature fields in the message */
};

/* Verify every DKIM-Signature of m (up to max_sigs, in header order).
 * 0, or -1 on ENOMEM.  Key lookups go through lib/dns. */
int dkim_verify(const struct msg *m, const struct dkim_verify_opts *o,
    struct dkim_results *out);
void dkim_results_free(struct dkim_results *res);

/* Exim's $dkim_signers: colon-separated d= and i= values, each once.
 * malloc'd. */
char *dkim_signers(const struct dkim_results *res);

/* Exim's dkim_verify_signers: for each entry of the colon-separated list
 * (duplicates ignored), every signature whose d= or i= equals it
 * (case-insensitively for domains), or one DKIM_NONE result when none does;
 * cur_signer set on each.  Replaces *res.  0, or -1 on ENOMEM. */
int dkim_select_signers(struct dkim_results *res, const char *list);

/* The RFC 8601 result word for one result: pass, fail, policy, neutral,
 * temperror, permerror, none. */
const char *dkim_authres_result(const struct dkim_result *r);

/* ---- signing ---- */
struct dkim_signer {
	const char *domain, *selector;
	EVP_PKEY *key;		/* RSA (>= 1024 bits) or Ed25519 */
	enum dkim_canon hcanon, bcanon;
	const char *headers;	/* Exim list: "a:b:=c:+d"; NULL: default */
	const char *identity;	/* i=, NULL: none */
	int body_length;	/* add l= */
	long long expire_secs;	/* x= now+secs; 0: none */
	int copy_headers;	/* z= */
	int timestamp;		/* t= (default on in dkimsign) */
};
/* Default header list, in Exim list syntax. */
extern const char dkim_default_sign_headers[];

/* Build a complete "DKIM-Signature: ..." field, folded, lines ended with eol
 * ("\r\n" or "\n"), including the final eol.  0, or -1 with *why.  A domain
 * (and the domain of the identity) given in U-labels is signed in A-labels,
 * as RFC 8616 asks: d=xn--bcher-kva.example for "bücher.example". */
int dkim_sign(const struct msg *m, const struct dkim_signer *s, time_t now,
    const char *eol, char **field, const char **why);

/* Load a PEM private key (PKCS#1 or PKCS#8 RSA, or Ed25519).  NULL with *why
 * on failure; RSA below 1024 bits is refused. */
EVP_PKEY *dkim_load_private_key(const char *path, const char **why);

/* Generate a key: type "rsa" (bits, default 2048) or "ed25519". */
EVP_PKEY *dkim_keygen(const char *type, int bits, const char **why);

/* The key record for pkey as a zone-file line for
 * SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." ), strings split at
 * 255 bytes, DOMAIN in A-labels.  malloc'd. */
char *dkim_key_zone_record(EVP_PKEY *pkey, const char *domain,
    const char *selector);

/* ---- added by lib/dkim_sign.c and lib/dkim_verify.c ---- */
/* "rsa", "ed25519" or "unknown" (NULL too). */
const char *dkim_key_type_name(EVP_PKEY *pkey);
/* Key length in bits; 0 for NULL. */
int dkim_key_bits(EVP_PKEY *pkey);
/* Drop the verifier's cache of parsed key records (tests, leak checkers).
 * Safe at any time: keys in use are freed when their verifier is done. */
void dkim_key_cache_clear(void);
/* dkim_key_zone_record's line has no final newline. */

/* ---- added by lib/dkim_report.c: what front ends report ---- */
struct authres;
/* Exim's $dkim_* variable names without "dkim_" (verify_status,
 * verify_reason, cur_signer, domain, ... key_length), in the order of
 * spec/cli.md; NULL-terminated. */
#define DKIM_NVARS 20
extern const char *const dkim_var_names[DKIM_NVARS + 1];
/* 1 when variable k is a number (bodylength, created, expires,
 * key_testing, key_nosubdomains, key_length). */
int dkim_var_is_number(size_t k);
/* The value of variable k (dkim_var_names index) for r, as Exim prints it:
 * unset bodylength and expires are 9999999999999, unset created 0;
 * cur_signer falls back to d=.  Numbers are written into buf (bufsz 24 is
 * enough; "" when buf is NULL); strings point into r and are never NULL.
 * "" for k out of range. */
const char *dkim_result_var_at(const struct dkim_result *r, size_t k,
    char *buf, size_t bufsz);
/* The same by name ("domain" or "dkim_domain"); NULL for an unknown name. */
const char *dkim_result_var(const struct dkim_result *r, const char *name,
    char *buf, size_t bufsz);
/* Add r to ar as a "dkim" resinfo: the result word, reason= when it did
 * not pass, header.d/s/i/a and the first 8 characters of b= as header.b
 * (RFC 6008).  0, or -1 on ENOMEM. */
int dkim_authres_add(struct authres *ar, const struct dkim_result *r);
/* Every result of res, or "dkim=none" when there is none.  0, or -1. */
int dkim_authres_add_all(struct authres *ar, const struct dkim_results *res);
/* RSA keys below this are weak (RFC 8301 says signers use 2048 bits). */
#define DKIM_RSA_RECOMMENDED_BITS 2048
/* 1 when pkey is an RSA key shorter than DKIM_RSA_RECOMMENDED_BITS. */
int dkim_key_weak(EVP_PKEY *pkey);

/* Building blocks shared by signing and verifying (and usable by tests).
 * The digest for an algorithm (fetched once; SHA-1 for rsa-sha1). */
const EVP_MD *dkim_md(enum dkim_algo a);
/* For each of the nh names (h= order), the index in m->fields of the field
 * it signs, or -1: the k-th mention of a name takes the k-th instance
 * counted from the bottom (RFC 6376 5.4.2). */
void dkim_select_fields(const struct msg *m, char *const *names, size_t nh,
    long *idx);
/* Digest of the canonical body (first limit bytes; limit < 0: all); *total
 * (if not NULL) gets the whole canonical length.  0, or -1. */
int dkim_body_hash(const char *body, size_t len, enum dkim_canon c,
    long long limit, const EVP_MD *md, unsigned char *out, unsigned *outlen,
    unsigned long long *total);
/* Digest of the header fields named in names, selected as above and
 * canonicalized with c, then of sigfield (a whole raw DKIM-Signature field
 * with the b= value already emptied) without its final CRLF.  scratch is
 * reused storage.  0, or -1. */
int dkim_header_hash(const struct msg *m, char *const *names, size_t nh,
    enum dkim_canon c, const char *sigfield, size_t siglen,
    const EVP_MD *md, struct dkim_buf *scratch, unsigned char *out,
    unsigned *outlen);
/* Copy raw (a whole field; its value starts at raw + value_off) into out
 * with the value of the b= tag and the FWS before it removed.  0, or -1. */
int dkim_strip_b(const char *raw, size_t raw_len, size_t value_off,
    struct dkim_buf *out);

#endif
