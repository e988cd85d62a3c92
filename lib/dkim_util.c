/* dkim_util: what the parts of the dkim module share: the digests and the
 * RSA context set-up of signing and verifying, and small helpers (spans,
 * FWS, dkim-quoted-printable, base64 by OpenSSL, growing buffers, Exim's
 * colon lists).  Declared in lib/dkim.h (dkim_md) and lib/dkim_int.h.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dkim_int.h"
#include "out.h"

/* ---- message digests, fetched once ---- */

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md_sha1_fetched, *md_sha256_fetched;

static void
md_fetch(void)
{
	md_sha1_fetched = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* Explicitly fetched digests: an implicit fetch on every init is slow. */
const EVP_MD *
dkim_md(enum dkim_algo a)
{
	pthread_once(&md_once, md_fetch);
	if (a == DKIM_RSA_SHA1)
		return md_sha1_fetched ? md_sha1_fetched : EVP_sha1();
	return md_sha256_fetched ? md_sha256_fetched : EVP_sha256();
}

/* ---- strings ---- */

int
dkim_span_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

char *
dkim_copy_span(const char *s, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
dkim_copy_without_fws(const char *s, size_t len, size_t *outlen)
{
	char *p;
	size_t n = 0;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!dkim_is_fws((unsigned char)s[i]))
			p[n++] = s[i];
	p[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return p;
}

char *
dkim_qp_decode(const char *s, size_t len, unsigned flags)
{
	char *p;
	size_t n = 0;

	if ((p = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '\r' || s[i] == '\n' ||
		    ((flags & DKIM_QP_DROP_WSP) && dkim_is_wsp(s[i])))
			continue;
		if (s[i] == '=' && i + 2 < len &&
		    (hi = out_hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = out_hex_value((unsigned char)s[i + 2])) >= 0) {
			p[n] = (char)(hi << 4 | lo);
			if (p[n] == '\0' && (flags & DKIM_QP_NO_NUL))
				p[n] = '?';
			n++;
			i += 2;
			continue;
		}
		p[n++] = s[i];
	}
	p[n] = '\0';
	return p;
}

/* EVP_DecodeBlock wants whole 4-character quanta, takes '=' anywhere for
 * zero bits, trims white space at either end, and counts padding in its
 * result; so the padding is checked here, a short last quantum is padded
 * back, and a result that is not 3 bytes a quantum means it trimmed. */
int
dkim_b64_decode(const char *s, size_t len, unsigned char **out,
    size_t *outlen)
{
	size_t pad = 0, n, whole;
	unsigned char *p;

	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	n = len - pad;
	if (n % 4 == 1 || (pad > 0 && len % 4 != 0) || n > INT_MAX ||
	    memchr(s, '=', n) != NULL)
		return -1;
	whole = n - n % 4;
	if ((p = malloc(whole / 4 * 3 + 3)) == NULL)
		return -2;
	if (whole > 0 && EVP_DecodeBlock(p, (const unsigned char *)s,
	    (int)whole) != (int)(whole / 4 * 3))
		goto bad;
	if (n > whole) {
		unsigned char last[4] = { '=', '=', '=', '=' };

		memcpy(last, s + whole, n - whole);
		if (EVP_DecodeBlock(p + whole / 4 * 3, last, 4) != 3)
			goto bad;
	}
	*out = p;
	*outlen = n * 3 / 4;
	return 0;
bad:
	free(p);
	return -1;
}

char *
dkim_b64_encode(const unsigned char *p, size_t n)
{
	char *s;

	if (n > INT_MAX / 4 * 3 - 3)
		return NULL;
	if ((s = malloc(4 * ((n + 2) / 3) + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

int
dkim_buf_reserve(struct dkim_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (more <= b->cap - b->len)
		return 0;
	if (more > ((size_t)-1) / 2 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
dkim_buf_add(struct dkim_buf *b, const void *p, size_t n)
{
	if (dkim_buf_reserve(b, n + 1) != 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

EVP_PKEY_CTX *
dkim_rsa_ctx(EVP_PKEY *pk, enum dkim_algo a, int sign)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

	if (pc != NULL &&
	    (sign ? EVP_PKEY_sign_init(pc) : EVP_PKEY_verify_init(pc)) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, dkim_md(a)) == 1)
		return pc;
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return NULL;
}

int
dkim_list_next(const char **cursor, const char **item, size_t *len)
{
	const char *p = *cursor, *e, *t;

	if (p == NULL)
		return 0;
	if ((e = strchr(p, ':')) == NULL)
		e = p + strlen(p);
	*cursor = *e != '\0' ? e + 1 : NULL;
	while (p < e && isspace((unsigned char)*p))
		p++;
	for (t = e; t > p && isspace((unsigned char)t[-1]); t--)
		;
	*item = p;
	*len = (size_t)(t - p);
	return 1;
}
