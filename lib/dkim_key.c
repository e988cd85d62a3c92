/* dkim_key: DKIM key records, RFC 6376 section 3.6.1, with the Ed25519 key
 * type of RFC 8463 and the g= tag of RFC 4871.
 *
 * An RSA p= is a DER SubjectPublicKeyInfo; some publishers put a bare
 * PKCS#1 RSAPublicKey there, which we take too.  An Ed25519 p= is the raw
 * 32-byte key (an SPKI is tolerated).  A key type we do not know is not an
 * error here: the key has no pkey and the verifier finds that k= does not
 * match a=.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "dkim.h"

static int
is_fws_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
span_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static char *
copy_without_fws(const char *s, size_t len, size_t *outlen)
{
	char *p;
	size_t n = 0;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!is_fws_char(s[i]))
			p[n++] = s[i];
	p[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return p;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 without white space; padding optional but right if present.
 * 0, -1 on bad input, -2 on ENOMEM. */
static int
b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
	size_t pad = 0, n, o = 0;
	unsigned acc = 0, bits = 0;
	unsigned char *p;

	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if (n % 4 == 1 || (pad > 0 && len % 4 != 0))
		return -1;
	if ((p = malloc(n * 3 / 4 + 1)) == NULL)
		return -2;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i]);

		if (v < 0) {
			free(p);
			return -1;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out = p;
	*outlen = o;
	return 0;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n= is a qp-section: =XX decoded, line breaks dropped, the rest (spaces
 * included) as written; a malformed =XX stays. */
static char *
qp_decode(const char *s, size_t len)
{
	char *p;
	size_t n = 0;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=' && i + 2 < len &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			p[n++] = (char)(hi << 4 | lo);
			i += 2;
			continue;
		}
		p[n++] = s[i];
	}
	p[n] = '\0';
	return p;
}

/* Call fn on each element of a colon-separated list (FWS already gone). */
static void
each_item(const char *s, void (*fn)(struct dkim_key *, const char *, size_t),
    struct dkim_key *key)
{
	const char *colon;

	for (;;) {
		colon = strchr(s, ':');
		fn(key, s, colon ? (size_t)(colon - s) : strlen(s));
		if (colon == NULL)
			return;
		s = colon + 1;
	}
}

static void
add_hash(struct dkim_key *key, const char *s, size_t len)
{
	if (span_is(s, len, "sha1"))
		key->hashes |= DKIM_HASH_SHA1;
	else if (span_is(s, len, "sha256"))
		key->hashes |= DKIM_HASH_SHA256;
}

static void
add_flag(struct dkim_key *key, const char *s, size_t len)
{
	if (span_is(s, len, "y"))
		key->testing = 1;
	else if (span_is(s, len, "s"))
		key->nosubdomains = 1;
}

/* The tag's value without FWS, or dflt when the tag is absent. */
static char *
tag_or(const struct dkim_taglist *tl, const char *name, const char *dflt)
{
	const struct dkim_tag *t = dkim_tags_get(tl, name);

	if (t == NULL)
		return strdup(dflt);
	return copy_without_fws(t->value, t->value_len, NULL);
}

static EVP_PKEY *
rsa_key(const unsigned char *p, size_t len, const char **why)
{
	const unsigned char *q = p;
	EVP_PKEY *pk;

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

	if ((s = copy_without_fws(t->value, t->value_len, &n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (n == 0) {
		free(s);
		key->revoked = 1;
		return 0;
	}
	rc = b64_decode(s, n, &key->p, &key->plen);
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
		key->notes = qp_decode(t->value, t->value_len);
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
