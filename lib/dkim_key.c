/* dkim_key: DKIM key records, RFC 6376 section 3.6.1, with the Ed25519 key
 * type of RFC 8463 and the g= tag of RFC 4871.
 *
 * An RSA p= is a DER SubjectPublicKeyInfo; some publishers put a bare
 * PKCS#1 RSAPublicKey there, which we take too.  An Ed25519 p= is the raw
 * 32-byte key (an SPKI is tolerated).  A key type we do not know is not an
 * error here: the key has no pkey and the verifier finds that k= does not
 * match a=.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "dkim_int.h"

/* Call fn on each element of a colon-separated list. */
static void
each_item(const char *s, void (*fn)(struct dkim_key *, const char *, size_t),
    struct dkim_key *key)
{
	const char *item;
	size_t len;

	while (dkim_list_next(&s, &item, &len))
		fn(key, item, len);
}

static void
add_hash(struct dkim_key *key, const char *s, size_t len)
{
	if (dkim_span_is(s, len, "sha1"))
		key->hashes |= DKIM_HASH_SHA1;
	else if (dkim_span_is(s, len, "sha256"))
		key->hashes |= DKIM_HASH_SHA256;
}

static void
add_flag(struct dkim_key *key, const char *s, size_t len)
{
	if (dkim_span_is(s, len, "y"))
		key->testing = 1;
	else if (dkim_span_is(s, len, "s"))
		key->nosubdomains = 1;
}

/* The tag's value without FWS, or dflt when the tag is absent. */
static char *
tag_or(const struct dkim_taglist *tl, const char *name, const char *dflt)
{
	const struct dkim_tag *t = dkim_tags_get(tl, name);

	if (t == NULL)
		return strdup(dflt);
	return dkim_copy_without_fws(t->value, t->value_len, NULL);
}

/* One DER element at *q, before end: 1 with its tag and content (*q moved
 * past the header, *n its length) when it is a definite-length element of
 * the universal class that is constructed as asked; else 0. */
static int
der_next(const unsigned char **q, const unsigned char *end, int want_tag,
    int constructed, long *n)
{
	int tag, cls, ret;

	if (*q >= end)
		return 0;
	ret = ASN1_get_object(q, n, &tag, &cls, (long)(end - *q));
	return ret == (constructed ? V_ASN1_CONSTRUCTED : 0) &&
	    tag == want_tag && cls == V_ASN1_UNIVERSAL;
}

/* The RSAPublicKey inside an rsaEncryption SubjectPublicKeyInfo (RFC 5280
 * 4.1.2.7, RFC 3279 2.3.1), taken out by walking the DER.  d2i_PUBKEY does
 * the same through OpenSSL 3's decoders, whose first use costs more than
 * the rest of a one-message run.  1 with *key and *klen; 0 for anything
 * less plain (other algorithms, odd parameters), left to d2i_PUBKEY. */
static int
spki_rsa(const unsigned char *p, size_t len, const unsigned char **key,
    long *klen)
{
	static const unsigned char rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
	    0x0d, 0x01, 0x01, 0x01 };	/* 1.2.840.113549.1.1.1 */
	const unsigned char *q = p, *end, *alg_end;
	long n;

	if (len > LONG_MAX || !der_next(&q, p + len, V_ASN1_SEQUENCE, 1, &n))
		return 0;
	end = q + n;
	if (!der_next(&q, end, V_ASN1_SEQUENCE, 1, &n))
		return 0;
	alg_end = q + n;
	if (!der_next(&q, alg_end, V_ASN1_OBJECT, 0, &n) ||
	    n != (long)sizeof(rsa_oid) || memcmp(q, rsa_oid, sizeof(rsa_oid)))
		return 0;
	q += n;
	/* parameters: NULL, or absent as some encoders leave them */
	if (q < alg_end && (!der_next(&q, alg_end, V_ASN1_NULL, 0, &n) ||
	    n != 0 || q != alg_end))
		return 0;
	if (!der_next(&q, end, V_ASN1_BIT_STRING, 0, &n) || n < 2 ||
	    q + n != end || q[0] != 0)
		return 0;
	*key = q + 1;
	*klen = n - 1;
	return 1;
}

static EVP_PKEY *
rsa_key(const unsigned char *p, size_t len, const char **why)
{
	const unsigned char *q = p;
	EVP_PKEY *pk;
	long klen;

	if (spki_rsa(p, len, &q, &klen) &&
	    (pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, klen)) != NULL)
		return pk;
	ERR_clear_error();
	q = p;
	if ((pk = d2i_PUBKEY(NULL, &q, (long)len)) != NULL) {
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
			return pk;
		EVP_PKEY_free(pk);
		*why = "key in p= is not RSA";
		return NULL;
	}
	q = p;
	if ((pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, (long)len)) != NULL)
		return pk;
	*why = "bad RSA key in p=";
	return NULL;
}

static EVP_PKEY *
ed25519_key(const unsigned char *p, size_t len, const char **why)
{
	const unsigned char *q = p;
	EVP_PKEY *pk;

	if (len == 32)
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p,
		    len);
	else if ((pk = d2i_PUBKEY(NULL, &q, (long)len)) != NULL &&
	    EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL)
		*why = "bad Ed25519 key in p=";
	return pk;
}

static int
parse_pubkey(struct dkim_key *key, const struct dkim_tag *t,
    const char **why)
{
	char *s;
	size_t n;
	int rc;

	if ((s = dkim_copy_without_fws(t->value, t->value_len, &n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (n == 0) {
		free(s);
		key->revoked = 1;
		return 0;
	}
	rc = dkim_b64_decode(s, n, &key->p, &key->plen);
	free(s);
	if (rc != 0) {
		*why = rc == -2 ? "out of memory" : "bad base64 in tag p";
		return -1;
	}
	if (key->plen > INT32_MAX) {
		*why = "key too long";
		return -1;
	}
	if (strcasecmp(key->ktype, "rsa") == 0)
		key->pkey = rsa_key(key->p, key->plen, why);
	else if (strcasecmp(key->ktype, "ed25519") == 0)
		key->pkey = ed25519_key(key->p, key->plen, why);
	else
		return 0;
	/* Failed decodes leave errors queued; they are ours, not the
	 * caller's. */
	ERR_clear_error();
	if (key->pkey == NULL)
		return -1;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	if (key->bits < 0)
		key->bits = 0;
	return 0;
}

static int
parse_key(const struct dkim_taglist *tl, struct dkim_key *key,
    const char **why)
{
	const struct dkim_tag *t;
	char *h;

	*why = "out of memory";
	if ((t = dkim_tags_get(tl, "v")) != NULL) {
		if (t != &tl->tag[0]) {
			*why = "v= is not the first tag";
			return -1;
		}
		if (!(t->value_len == 5 && memcmp(t->value, "DKIM1", 5) == 0)) {
			*why = "not a DKIM1 key record";
			return -1;
		}
	}
	if ((t = dkim_tags_get(tl, "p")) == NULL) {
		*why = "missing tag p";
		return -1;
	}
	if ((key->ktype = tag_or(tl, "k", "rsa")) == NULL ||
	    (key->srvtype = tag_or(tl, "s", "*")) == NULL ||
	    (key->granularity = tag_or(tl, "g", "*")) == NULL ||
	    (key->flags = tag_or(tl, "t", "")) == NULL)
		return -1;
	if ((t = dkim_tags_get(tl, "n")) == NULL)
		key->notes = strdup("");
	else
		key->notes = dkim_qp_decode(t->value, t->value_len, 0);
	if (key->notes == NULL)
		return -1;
	if (dkim_tags_get(tl, "h") == NULL)
		key->hashes = DKIM_HASH_SHA1 | DKIM_HASH_SHA256;
	else {
		if ((h = tag_or(tl, "h", "")) == NULL)
			return -1;
		each_item(h, add_hash, key);
		free(h);
	}
	each_item(key->flags, add_flag, key);
	return parse_pubkey(key, dkim_tags_get(tl, "p"), why);
}

int
dkim_key_parse(const char *txt, size_t len, struct dkim_key *key,
    const char **why)
{
	struct dkim_taglist tl;
	const char *w = NULL;

	memset(key, 0, sizeof(*key));
	if (dkim_tags_parse(txt, len, &tl, &w) == -1 ||
	    parse_key(&tl, key, &w) == -1) {
		dkim_key_free(key);
		if (why != NULL)
			*why = w;
		return -1;
	}
	return 0;
}

void
dkim_key_free(struct dkim_key *key)
{
	free(key->ktype);
	free(key->notes);
	free(key->srvtype);
	free(key->granularity);
	free(key->flags);
	free(key->p);
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof(*key));
}
