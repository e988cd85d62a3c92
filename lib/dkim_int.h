/* dkim_int: helpers shared by the lib/dkim_*.c files (lib/dkim_util.c).
 * Not part of the API: dkim.h is.
 */
#ifndef MXKIT_DKIM_INT_H
#define MXKIT_DKIM_INT_H
#include <stddef.h>

#include "dkim.h"

static inline int
dkim_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* The bytes folding white space is made of (RFC 6376 2.8). */
static inline int
dkim_is_fws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* s[0..len) is word, case-insensitively. */
int dkim_span_is(const char *s, size_t len, const char *word);

/* A NUL-terminated copy of s[0..len); NULL on ENOMEM. */
char *dkim_copy_span(const char *s, size_t len);

/* A NUL-terminated copy with the FWS bytes taken out; *outlen (if not
 * NULL) gets its length.  NULL on ENOMEM. */
char *dkim_copy_without_fws(const char *s, size_t len, size_t *outlen);

/* dkim-quoted-printable (RFC 6376 2.11): =XX decoded, a malformed =XX kept
 * as written, line breaks dropped.  Flags: */
#define DKIM_QP_DROP_WSP 0x1u	/* drop SP and HTAB too (all FWS) */
#define DKIM_QP_NO_NUL   0x2u	/* =00 becomes '?': keep it a C string */
char *dkim_qp_decode(const char *s, size_t len, unsigned flags);

/* Base64 without white space (take FWS out first): padding optional, but
 * right if present.  0, -1 on bad input, -2 on ENOMEM.  *out is malloc'd. */
int dkim_b64_decode(const char *s, size_t len, unsigned char **out,
    size_t *outlen);
/* Base64 of p[0..n), NUL-terminated, malloc'd; NULL on ENOMEM. */
char *dkim_b64_encode(const unsigned char *p, size_t n);

/* Room for more bytes after b->len.  0, or -1 with errno ENOMEM. */
int dkim_buf_reserve(struct dkim_buf *b, size_t more);
/* Append p[0..n) and keep b->p NUL-terminated.  0, or -1 on ENOMEM. */
int dkim_buf_add(struct dkim_buf *b, const void *p, size_t n);

/* An EVP_PKEY_CTX ready to sign (sign != 0) or verify a digest with an
 * RSA key: PKCS#1 v1.5 padding, the digest of a.  NULL on failure. */
EVP_PKEY_CTX *dkim_rsa_ctx(EVP_PKEY *pk, enum dkim_algo a, int sign);

/* Walk an Exim-style colon-separated list: 1 with the next item (white
 * space around it trimmed; it may be empty) in *item and *len, 0 when the
 * list is done.  *cursor starts at the list and is NULL at its end. */
int dkim_list_next(const char **cursor, const char **item, size_t *len);

#endif
