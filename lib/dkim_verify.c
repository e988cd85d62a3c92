/* dkim_verify: check every DKIM-Signature of a message (RFC 6376 6.1, with
 * RFC 8301 and RFC 8463), and the Exim-style views of the results.
 *
 * Per signature: parse, apply the policy checks that need no DNS, fetch and
 * check the key, compare the body hash, then verify b= over the selected
 * header fields.  Body hashes are shared between signatures with the same
 * (canonicalization, l=, hash), and parsed keys are kept in a small cache
 * keyed by the TXT record text, so a busy verifier decodes each key once.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "dkim_int.h"
#include "dns.h"
#include "msg.h"

#define DEFAULT_MAX_SIGS	20
#define DEFAULT_FUTURE_SKEW	300
#define DEFAULT_MIN_RSA_BITS	1024
#define MAX_HNAMES		1024	/* more h= names is abuse */
#define MAX_KEY_NAME		255	/* selector._domainkey.domain */
#define MAX_SELECT_ENTRIES	1024
#define MAX_SELECT_ENTRY_LEN	1024

/* ---- names ---- */

const char *
dkim_status_name(enum dkim_status s)
{
	switch (s) {
	case DKIM_NONE:		return "none";
	case DKIM_INVALID:	return "invalid";
	case DKIM_FAIL:		return "fail";
	case DKIM_PASS:		return "pass";
	}
	return "none";
}

/* Indexed by enum dkim_reason; cmd/ and tests rely on these words. */
static const char *const reason_names[] = {
	[DKIM_R_NONE] = "",
	[DKIM_R_PUBKEY_UNAVAILABLE] = "pubkey_unavailable",
	[DKIM_R_PUBKEY_SYNTAX] = "pubkey_syntax",
	[DKIM_R_BODYHASH_MISMATCH] = "bodyhash_mismatch",
	[DKIM_R_SIGNATURE_INCORRECT] = "signature_incorrect",
	[DKIM_R_SIGNATURE_SYNTAX] = "signature_syntax",
	[DKIM_R_UNSUPPORTED_VERSION] = "unsupported_version",
	[DKIM_R_UNSUPPORTED_ALGORITHM] = "unsupported_algorithm",
	[DKIM_R_UNSUPPORTED_CANON] = "unsupported_canon",
	[DKIM_R_UNSUPPORTED_QUERY] = "unsupported_query",
	[DKIM_R_ALGORITHM_HISTORIC] = "algorithm_historic",
	[DKIM_R_KEY_TOO_SHORT] = "key_too_short",
	[DKIM_R_KEY_REVOKED] = "key_revoked",
	[DKIM_R_KEY_TYPE_MISMATCH] = "key_type_mismatch",
	[DKIM_R_KEY_HASH_MISMATCH] = "key_hash_mismatch",
	[DKIM_R_KEY_SERVICE_MISMATCH] = "key_service_mismatch",
	[DKIM_R_KEY_NOSUBDOMAINS] = "key_nosubdomains",
	[DKIM_R_FROM_NOT_SIGNED] = "from_not_signed",
	[DKIM_R_IDENTITY_MISMATCH] = "identity_mismatch",
	[DKIM_R_SIGNATURE_EXPIRED] = "signature_expired",
	[DKIM_R_SIGNATURE_FUTURE] = "signature_future",
	[DKIM_R_BODY_LENGTH] = "body_length",
	[DKIM_R_TOO_MANY] = "too_many",
};

const char *
dkim_reason_name(enum dkim_reason r)
{
	if ((size_t)r >= sizeof reason_names / sizeof reason_names[0] ||
	    reason_names[r] == NULL)
		return "";
	return reason_names[r];
}

const char *
dkim_authres_result(const struct dkim_result *r)
{
	switch (r->status) {
	case DKIM_PASS:
		return "pass";
	case DKIM_FAIL:
		switch (r->reason) {
		case DKIM_R_ALGORITHM_HISTORIC:
		case DKIM_R_KEY_TOO_SHORT:
		case DKIM_R_FROM_NOT_SIGNED:
		case DKIM_R_SIGNATURE_EXPIRED:
			return "policy";
		default:
			return "fail";
		}
	case DKIM_INVALID:
		if (r->reason == DKIM_R_TOO_MANY)
			return "neutral";
		return r->temperror ? "temperror" : "permerror";
	case DKIM_NONE:
		break;
	}
	return "none";
}

/* ---- key records and EVP_PKEY helpers ---- */

const char *
dkim_key_type_name(EVP_PKEY *pkey)
{
	if (pkey == NULL)
		return "unknown";
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:	return "rsa";
	case EVP_PKEY_ED25519:	return "ed25519";
	}
	return "unknown";
}

int
dkim_key_bits(EVP_PKEY *pkey)
{
	return pkey ? EVP_PKEY_get_bits(pkey) : 0;
}

/* ---- header field selection and hashing (shared with dkim_sign.c) ---- */

void
dkim_select_fields(const struct msg *m, char *const *names, size_t nh,
    long *idx)
{
	for (size_t i = 0; i < nh; i++) {
		size_t skip = 0;
		size_t nl = strlen(names[i]);

		/* The k-th mention of a name takes the k-th instance counted
		 * from the bottom (RFC 6376 5.4.2). */
		for (size_t j = 0; j < i; j++)
			if (strlen(names[j]) == nl &&
			    strncasecmp(names[j], names[i], nl) == 0)
				skip++;
		idx[i] = -1;
		for (size_t k = m->nfields; k-- > 0;) {
			const struct msg_field *f = &m->fields[k];

			if (f->name_len != nl ||
			    strncasecmp(f->raw, names[i], nl) != 0)
				continue;
			if (skip == 0) {
				idx[i] = (long)k;
				break;
			}
			skip--;
		}
	}
}

int
dkim_header_hash(const struct msg *m, char *const *names, size_t nh,
    enum dkim_canon c, const char *sigfield, size_t siglen,
    const EVP_MD *md, struct dkim_buf *scratch, unsigned char *out,
    unsigned *outlen)
{
	long idxbuf[64];
	long *idx = idxbuf;
	int rc = -1;

	if (nh > sizeof idxbuf / sizeof idxbuf[0]) {
		idx = calloc(nh, sizeof *idx);
		if (idx == NULL)
			return -1;
	}
	dkim_select_fields(m, names, nh, idx);
	scratch->len = 0;
	for (size_t i = 0; i < nh; i++) {
		if (idx[i] < 0)
			continue;	/* an absence: nothing to hash */
		const struct msg_field *f = &m->fields[idx[i]];
		if (dkim_canon_header(c, f->raw, f->raw_len, scratch) != 0)
			goto out;
	}
	if (dkim_canon_header(c, sigfield, siglen, scratch) != 0)
		goto out;
	/* The signature field goes in without its trailing CRLF. */
	if (scratch->len >= 2 && scratch->p[scratch->len - 2] == '\r' &&
	    scratch->p[scratch->len - 1] == '\n')
		scratch->len -= 2;
	if (EVP_Digest(scratch->p, scratch->len, out, outlen, md, NULL) != 1) {
		ERR_clear_error();
		goto out;
	}
	rc = 0;
out:
	if (idx != idxbuf)
		free(idx);
	return rc;
}

/* The canonicalizer batches its output, so each call is a large piece. */
struct hsink {
	EVP_MD_CTX *ctx;
	int err;
};

static void
hsink_cb(void *arg, const void *p, size_t n)
{
	struct hsink *s = arg;

	if (!s->err && EVP_DigestUpdate(s->ctx, p, n) != 1)
		s->err = 1;
}

int
dkim_body_hash(const char *body, size_t len, enum dkim_canon c,
    long long limit, const EVP_MD *md, unsigned char *out, unsigned *outlen,
    unsigned long long *total)
{
	struct hsink s = { NULL, 0 };
	struct dkim_body_canon *bc;
	int rc = -1;

	if ((s.ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(s.ctx, md, NULL) != 1)
		goto out;
	if ((bc = dkim_body_canon_new(c, limit, hsink_cb, &s)) == NULL)
		goto out;
	if (len > 0)
		dkim_body_canon_update(bc, body, len);
	unsigned long long t = dkim_body_canon_final(bc);
	dkim_body_canon_free(bc);
	if (s.err || EVP_DigestFinal_ex(s.ctx, out, outlen) != 1)
		goto out;
	if (total)
		*total = t;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(s.ctx);
	return rc;
}

int
dkim_strip_b(const char *raw, size_t raw_len, size_t value_off,
    struct dkim_buf *out)
{
	size_t p = value_off;

	out->len = 0;
	while (p <= raw_len) {
		size_t seg = p, end = p;

		while (end < raw_len && raw[end] != ';')
			end++;
		size_t q = seg;
		while (q < end && dkim_is_fws((unsigned char)raw[q]))
			q++;
		size_t name = q;
		while (q < end && (isalnum((unsigned char)raw[q]) ||
		    raw[q] == '_'))
			q++;
		size_t namelen = q - name;
		while (q < end && dkim_is_fws((unsigned char)raw[q]))
			q++;
		if (namelen == 1 && raw[name] == 'b' && q < end &&
		    raw[q] == '=') {
			/* Cut the value and the FWS before it; FWS after
			 * it stays, as dkimpy and OpenDKIM do. */
			size_t cut = q + 1, cutend = end;
			while (cutend > cut &&
			    dkim_is_fws((unsigned char)raw[cutend - 1]))
				cutend--;
			if (dkim_buf_add(out, raw, cut) != 0 ||
			    dkim_buf_add(out, raw + cutend,
			    raw_len - cutend) != 0)
				return -1;
			return 0;
		}
		p = end + 1;
	}
	return dkim_buf_add(out, raw, raw_len);
}

/* ---- the key cache ---- */

#define KC_SLOTS	256	/* direct-mapped by hash of the record */
#define KC_MAX_TEXT	8192	/* longer records are parsed, not kept */

#define KC_IDLE_CTX	8	/* rsa-sha256 contexts kept ready per key */

struct kc_entry {
	unsigned refs;
	uint64_t hash;
	char *txt;
	size_t len;
	int ok;
	const char *why;
	struct dkim_key key;
	EVP_PKEY_CTX *idle[KC_IDLE_CTX];
	size_t nidle;
};

static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kc_entry *kc_slot[KC_SLOTS];

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
kc_free(struct kc_entry *e)
{
	if (e == NULL)
		return;
	while (e->nidle > 0)
		EVP_PKEY_CTX_free(e->idle[--e->nidle]);
	if (e->ok)
		dkim_key_free(&e->key);
	free(e->txt);
	free(e);
}

static void
kc_put(struct kc_entry *e)
{
	unsigned left;

	if (e == NULL)
		return;
	pthread_mutex_lock(&kc_lock);
	left = --e->refs;
	pthread_mutex_unlock(&kc_lock);
	if (left == 0)
		kc_free(e);
}

static struct kc_entry *
kc_parse(const char *txt, size_t len, uint64_t h)
{
	struct kc_entry *e = calloc(1, sizeof *e);

	if (e == NULL)
		return NULL;
	if ((e->txt = malloc(len + 1)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->txt, txt, len);
	e->txt[len] = '\0';
	e->len = len;
	e->hash = h;
	e->refs = 1;
	e->why = NULL;
	e->ok = dkim_key_parse(e->txt, len, &e->key, &e->why) == 0;
	if (!e->ok && e->why == NULL)
		e->why = "bad key record";
	ERR_clear_error();
	return e;
}

/* The parsed form of one TXT record, shared: release with kc_put. */
static struct kc_entry *
kc_get(const char *txt, size_t len)
{
	uint64_t h = fnv1a(txt, len);
	size_t slot = (size_t)(h % KC_SLOTS);
	struct kc_entry *e, *old = NULL;

	pthread_mutex_lock(&kc_lock);
	e = kc_slot[slot];
	if (e && e->hash == h && e->len == len &&
	    memcmp(e->txt, txt, len) == 0) {
		e->refs++;
		pthread_mutex_unlock(&kc_lock);
		return e;
	}
	pthread_mutex_unlock(&kc_lock);

	if ((e = kc_parse(txt, len, h)) == NULL)
		return NULL;
	if (len > KC_MAX_TEXT)
		return e;
	pthread_mutex_lock(&kc_lock);
	old = kc_slot[slot];
	kc_slot[slot] = e;
	e->refs++;
	if (old && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&kc_lock);
	kc_free(old);
	return e;
}

void
dkim_key_cache_clear(void)
{
	for (size_t i = 0; i < KC_SLOTS; i++) {
		struct kc_entry *e;

		pthread_mutex_lock(&kc_lock);
		e = kc_slot[i];
		kc_slot[i] = NULL;
		if (e && --e->refs > 0)
			e = NULL;
		pthread_mutex_unlock(&kc_lock);
		kc_free(e);
	}
}

/* ---- results ---- */

#define RESULT_STRINGS(r) { &(r)->cur_signer, &(r)->domain, &(r)->identity, \
	&(r)->selector, &(r)->algo, &(r)->canon_body, &(r)->canon_headers, \
	&(r)->copiedheaders, &(r)->headernames, &(r)->key_srvtype, \
	&(r)->key_granularity, &(r)->key_notes, &(r)->b_text }

static void
result_free(struct dkim_result *r)
{
	char **s[] = RESULT_STRINGS(r);

	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		free(*s[i]);
	free(r->detail);
	memset(r, 0, sizeof *r);
}

void
dkim_results_free(struct dkim_results *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->n; i++)
		result_free(&res->r[i]);
	free(res->r);
	res->r = NULL;
	res->n = 0;
	res->nsigs = 0;
}

/* Replace *dst by a copy of s[0..n); -1 on ENOMEM. */
static int
set_strn(char **dst, const char *s, size_t n)
{
	char *p = dkim_copy_span(s, n);

	if (p == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

static int
set_str(char **dst, const char *s)
{
	if (s == NULL)
		s = "";
	return set_strn(dst, s, strlen(s));
}

static int
result_init(struct dkim_result *r)
{
	memset(r, 0, sizeof *r);
	r->bodylength = -1;
	r->created = -1;
	r->expires = -1;
	char **s[] = RESULT_STRINGS(r);
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		if (set_str(s[i], "") != 0)
			return -1;
	return 0;
}

static int
result_copy(struct dkim_result *dst, const struct dkim_result *src)
{
	char *const *from[] = RESULT_STRINGS(src);
	char **to[] = RESULT_STRINGS(dst);
	size_t n = sizeof to / sizeof to[0];

	*dst = *src;
	dst->detail = NULL;
	for (size_t i = 0; i < n; i++)
		*to[i] = NULL;
	for (size_t i = 0; i < n; i++)
		if (set_str(to[i], *from[i]) != 0)
			goto fail;
	if (src->detail && (dst->detail = strdup(src->detail)) == NULL)
		goto fail;
	return 0;
fail:
	result_free(dst);
	return -1;
}

static int
set_detail(struct dkim_result *r, const char *fmt, const char *a,
    const char *b)
{
	char line[512];

	snprintf(line, sizeof line, fmt, a ? a : "", b ? b : "");
	return set_str(&r->detail, line);
}

static void
verdict(struct dkim_result *r, enum dkim_status s, enum dkim_reason why)
{
	r->status = s;
	r->reason = why;
}

/* A tag value without FWS, for display of signatures that did not parse. */
static int
set_tag_nofws(char **dst, const struct dkim_taglist *tl, const char *name)
{
	const struct dkim_tag *t = dkim_tags_get(tl, name);
	char tmp[256];
	size_t n = 0;

	if (t == NULL)
		return 0;
	for (size_t i = 0; i < t->value_len && n < sizeof tmp - 1; i++) {
		unsigned char c = (unsigned char)t->value[i];
		if (!dkim_is_fws(c) && c >= 0x20 && c != 0x7f)
			tmp[n++] = (char)c;
	}
	return set_strn(dst, tmp, n);
}

/* Best effort d=, s=, a=, i= from a field we will not evaluate. */
static int
fill_from_tags(struct dkim_result *r, const struct msg_field *f)
{
	struct dkim_taglist *tl = malloc(sizeof *tl);
	const char *why = NULL;
	int rc = 0;

	if (tl == NULL)
		return -1;
	if (dkim_tags_parse(f->value, f->value_len, tl, &why) == 0) {
		if (set_tag_nofws(&r->domain, tl, "d") != 0 ||
		    set_tag_nofws(&r->selector, tl, "s") != 0 ||
		    set_tag_nofws(&r->algo, tl, "a") != 0 ||
		    set_tag_nofws(&r->identity, tl, "i") != 0)
			rc = -1;
		if (rc == 0 && r->identity[0] == '\0' && r->domain[0] != '\0') {
			size_t dl = strlen(r->domain);
			char *id = malloc(dl + 2);
			if (id == NULL)
				rc = -1;
			else {
				id[0] = '@';
				memcpy(id + 1, r->domain, dl + 1);
				free(r->identity);
				r->identity = id;
			}
		}
	}
	free(tl);
	return rc;
}

/* z= decoded as Exim does: dkim-quoted-printable, FWS dropped. */
static int
set_copied(char **dst, const char *z)
{
	char *p = dkim_qp_decode(z, strlen(z), DKIM_QP_DROP_WSP |
	    DKIM_QP_NO_NUL);

	if (p == NULL)
		return -1;
	free(*dst);
	*dst = p;
	return 0;
}

static int
fill_from_sig(struct dkim_result *r, const struct dkim_sig *s)
{
	const char *algo = s->algo == DKIM_ALGO_UNKNOWN ?
	    (s->algo_text ? s->algo_text : "") : dkim_algo_name(s->algo);

	if (set_str(&r->domain, s->domain) != 0 ||
	    set_str(&r->identity, s->identity) != 0 ||
	    set_str(&r->selector, s->selector) != 0 ||
	    set_str(&r->algo, algo) != 0 ||
	    set_str(&r->canon_body, dkim_canon_name(s->bcanon)) != 0 ||
	    set_str(&r->canon_headers, dkim_canon_name(s->hcanon)) != 0 ||
	    set_str(&r->headernames, s->hnames_text) != 0 ||
	    set_str(&r->b_text, s->b_text) != 0)
		return -1;
	if (s->copied && set_copied(&r->copiedheaders, s->copied) != 0)
		return -1;
	r->bodylength = s->length;
	r->created = s->created;
	r->expires = s->expires;
	r->historic = s->algo == DKIM_RSA_SHA1;
	return 0;
}

static int
fill_from_key(struct dkim_result *r, const struct dkim_key *k)
{
	r->key_testing = k->testing;
	r->key_nosubdomains = k->nosubdomains;
	r->key_length = k->bits;
	if (set_str(&r->key_srvtype, k->srvtype ? k->srvtype : "*") != 0 ||
	    set_str(&r->key_granularity,
	    k->granularity ? k->granularity : "*") != 0 ||
	    set_str(&r->key_notes, k->notes) != 0)
		return -1;
	return 0;
}

/* ---- checks ---- */

static const char *
identity_domain(const char *ident)
{
	const char *at = strrchr(ident, '@');

	return at ? at + 1 : NULL;
}

static int
signs_from(const struct dkim_sig *s)
{
	for (size_t i = 0; i < s->nh; i++)
		if (strcasecmp(s->hnames[i], "from") == 0)
			return 1;
	return 0;
}

/* Key s= is a colon-separated list of service types. */
static int
service_ok(const char *srv)
{
	const char *p = srv ? srv : "*", *item;
	size_t n;

	while (dkim_list_next(&p, &item, &n))
		if (dkim_span_is(item, n, "*") ||
		    dkim_span_is(item, n, "email"))
			return 1;
	return 0;
}

/* ---- the verifier proper ---- */

struct bh_entry {
	enum dkim_canon c;
	long long limit;
	enum dkim_algo a;
	int err;
	unsigned hlen;
	unsigned long long total;
	unsigned char h[EVP_MAX_MD_SIZE];
};

struct vctx {
	const struct msg *m;
	time_t now;
	unsigned policy;
	long long skew;
	unsigned min_rsa_bits;
	struct bh_entry *bh;
	size_t nbh, capbh;
	struct dkim_buf canon, strip;
};

/* The body hash for these parameters, computed at most once per message. */
static const struct bh_entry *
body_hash(struct vctx *v, enum dkim_canon c, long long limit,
    enum dkim_algo a)
{
	int sha1 = a == DKIM_RSA_SHA1;

	for (size_t i = 0; i < v->nbh; i++) {
		struct bh_entry *e = &v->bh[i];
		if (e->c == c && e->limit == limit &&
		    (e->a == DKIM_RSA_SHA1) == sha1)
			return e;
	}
	if (v->nbh == v->capbh) {
		size_t cap = v->capbh ? v->capbh * 2 : 4;
		struct bh_entry *nb = realloc(v->bh, cap * sizeof *nb);
		if (nb == NULL)
			return NULL;
		v->bh = nb;
		v->capbh = cap;
	}
	struct bh_entry *e = &v->bh[v->nbh++];
	e->c = c;
	e->limit = limit;
	e->a = a;
	e->hlen = 0;
	e->total = 0;
	e->err = dkim_body_hash(v->m->body, v->m->body_len, c, limit,
	    dkim_md(a), e->h, &e->hlen, &e->total) != 0;
	return e;
}

/* A context to verify rsa-sha256 with the entry's key.  Setting one up
 * costs a quarter of what the RSA verification itself does, so they are
 * kept with the key and used again. */
static EVP_PKEY_CTX *
kc_rsa_ctx_get(struct kc_entry *e)
{
	EVP_PKEY_CTX *pc = NULL;

	pthread_mutex_lock(&kc_lock);
	if (e->nidle > 0)
		pc = e->idle[--e->nidle];
	pthread_mutex_unlock(&kc_lock);
	return pc != NULL ? pc : dkim_rsa_ctx(e->key.pkey, DKIM_RSA_SHA256, 0);
}

static void
kc_rsa_ctx_put(struct kc_entry *e, EVP_PKEY_CTX *pc)
{
	pthread_mutex_lock(&kc_lock);
	if (e->nidle < KC_IDLE_CTX) {
		e->idle[e->nidle++] = pc;
		pc = NULL;
	}
	pthread_mutex_unlock(&kc_lock);
	EVP_PKEY_CTX_free(pc);
}

/* 1 good, 0 bad. */
static int
pkey_verify(struct kc_entry *e, enum dkim_algo a, const unsigned char *dig,
    size_t dlen, const unsigned char *sig, size_t slen)
{
	EVP_PKEY *pk = e->key.pkey;
	EVP_PKEY_CTX *pc;
	int ok = 0;

	if (a == DKIM_ED25519_SHA256) {
		/* RFC 8463: PureEdDSA over the SHA-256 of the data. */
		EVP_MD_CTX *mc = EVP_MD_CTX_new();
		if (mc && EVP_DigestVerifyInit_ex(mc, NULL, NULL, NULL, NULL,
		    pk, NULL) == 1)
			ok = EVP_DigestVerify(mc, sig, slen, dig, dlen) == 1;
		EVP_MD_CTX_free(mc);
	} else if (a == DKIM_RSA_SHA256) {
		if ((pc = kc_rsa_ctx_get(e)) != NULL) {
			ok = EVP_PKEY_verify(pc, sig, slen, dig, dlen) == 1;
			kc_rsa_ctx_put(e, pc);
		}
	} else if ((pc = dkim_rsa_ctx(pk, a, 0)) != NULL) {
		ok = EVP_PKEY_verify(pc, sig, slen, dig, dlen) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	ERR_clear_error();
	return ok;
}

/* Policy checks that need neither DNS nor hashing.  1 when decided. */
static int
check_sig_policy(struct vctx *v, const struct dkim_sig *s,
    struct dkim_result *r, int *err)
{
	*err = 0;
	if ((v->policy & DKIM_POLICY_IDENTITY) &&
	    !dkim_identity_within(s->identity, s->domain)) {
		verdict(r, DKIM_INVALID, DKIM_R_IDENTITY_MISMATCH);
		*err = set_detail(r, "i=%s is not within d=%s", s->identity,
		    s->domain);
		return 1;
	}
	if ((v->policy & DKIM_POLICY_FROM) && !signs_from(s)) {
		verdict(r, DKIM_FAIL, DKIM_R_FROM_NOT_SIGNED);
		*err = set_detail(r, "h= does not include From%s%s", NULL,
		    NULL);
		return 1;
	}
	if ((v->policy & DKIM_POLICY_EXPIRY) && s->expires >= 0 &&
	    (long long)v->now > s->expires) {
		verdict(r, DKIM_FAIL, DKIM_R_SIGNATURE_EXPIRED);
		*err = set_detail(r, "x= is in the past%s%s", NULL, NULL);
		return 1;
	}
	if ((v->policy & DKIM_POLICY_FUTURE) && s->created >= 0 &&
	    s->created > (long long)v->now + v->skew) {
		verdict(r, DKIM_INVALID, DKIM_R_SIGNATURE_FUTURE);
		*err = set_detail(r, "t= is in the future%s%s", NULL, NULL);
		return 1;
	}
	if ((v->policy & DKIM_POLICY_RFC8301) && s->algo == DKIM_RSA_SHA1) {
		verdict(r, DKIM_FAIL, DKIM_R_ALGORITHM_HISTORIC);
		*err = set_detail(r, "rsa-sha1 is historic (RFC 8301)%s%s",
		    NULL, NULL);
		return 1;
	}
	return 0;
}

/* Fetch the key record.  0 with *out set, 1 when decided (r filled), -1 on
 * ENOMEM. */
static int
fetch_key(const struct dkim_sig *s, struct dkim_result *r,
    struct kc_entry **out)
{
	char name[MAX_KEY_NAME + 64];
	char **txt = NULL;
	size_t *lens = NULL, n = 0;
	int secure = 0, rc = 1;
	const char *why = NULL;

	*out = NULL;
	int w = snprintf(name, sizeof name, "%s._domainkey.%s", s->selector,
	    s->domain);
	if (w < 0 || (size_t)w > MAX_KEY_NAME) {
		verdict(r, DKIM_INVALID, DKIM_R_PUBKEY_UNAVAILABLE);
		return set_detail(r, "key name too long%s%s", NULL, NULL) ?
		    -1 : 1;
	}
	enum dns_status st = dns_txt(name, &txt, &lens, &n, &secure);
	if (st != DNS_OK || n == 0) {
		verdict(r, DKIM_INVALID, DKIM_R_PUBKEY_UNAVAILABLE);
		r->temperror = st == DNS_TEMPFAIL;
		rc = set_detail(r, "%s: %s", name,
		    st == DNS_OK ? "no TXT record" : dns_status_str(st)) ?
		    -1 : 1;
		goto out;
	}
	/* Several records: RFC 6376 3.6.2.2 leaves it undefined; take the
	 * first one that is a usable DKIM key, as OpenDKIM does. */
	for (size_t i = 0; i < n; i++) {
		struct kc_entry *e = kc_get(txt[i], lens[i]);
		if (e == NULL) {
			rc = -1;
			goto out;
		}
		if (e->ok) {
			*out = e;
			rc = 0;
			goto out;
		}
		if (why == NULL)
			why = e->why;
		kc_put(e);
	}
	verdict(r, DKIM_INVALID, DKIM_R_PUBKEY_SYNTAX);
	rc = set_detail(r, "%s: %s", name, why) ? -1 : 1;
out:
	if (txt)
		dns_txt_free(txt, lens, n);
	return rc;
}

static int
key_matches_algo(const struct dkim_key *k, enum dkim_algo a)
{
	const char *want = a == DKIM_ED25519_SHA256 ? "ed25519" : "rsa";
	int id = a == DKIM_ED25519_SHA256 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
	const char *kt = k->ktype ? k->ktype : "rsa";

	if (strcasecmp(kt, want) != 0)
		return 0;
	return k->pkey == NULL || EVP_PKEY_get_base_id(k->pkey) == id;
}

/* Key checks.  1 when decided. */
static int
check_key(struct vctx *v, const struct dkim_sig *s, const struct dkim_key *k,
    struct dkim_result *r, int *err)
{
	char bits[64];

	*err = 0;
	if (k->revoked) {
		verdict(r, DKIM_INVALID, DKIM_R_KEY_REVOKED);
		*err = set_detail(r, "key revoked (empty p=)%s%s", NULL, NULL);
		return 1;
	}
	if (!key_matches_algo(k, s->algo)) {
		verdict(r, DKIM_INVALID, DKIM_R_KEY_TYPE_MISMATCH);
		*err = set_detail(r, "key k=%s cannot verify a=%s",
		    k->ktype ? k->ktype : "rsa", dkim_algo_name(s->algo));
		return 1;
	}
	if (k->pkey == NULL) {
		verdict(r, DKIM_INVALID, DKIM_R_PUBKEY_SYNTAX);
		*err = set_detail(r, "unusable public key%s%s", NULL, NULL);
		return 1;
	}
	if (v->policy & DKIM_POLICY_KEYFLAGS) {
		unsigned need = s->algo == DKIM_RSA_SHA1 ? DKIM_HASH_SHA1 :
		    DKIM_HASH_SHA256;
		if ((k->hashes & need) == 0) {
			verdict(r, DKIM_INVALID, DKIM_R_KEY_HASH_MISMATCH);
			*err = set_detail(r, "key h= excludes %s%s",
			    need == DKIM_HASH_SHA1 ? "sha1" : "sha256", NULL);
			return 1;
		}
		if (!service_ok(k->srvtype)) {
			verdict(r, DKIM_INVALID, DKIM_R_KEY_SERVICE_MISMATCH);
			*err = set_detail(r, "key s=%s excludes email%s",
			    k->srvtype, NULL);
			return 1;
		}
		const char *idom = identity_domain(s->identity);
		if (k->nosubdomains &&
		    (idom == NULL || strcasecmp(idom, s->domain) != 0)) {
			verdict(r, DKIM_INVALID, DKIM_R_KEY_NOSUBDOMAINS);
			*err = set_detail(r, "key t=s forbids i=%s%s",
			    s->identity, NULL);
			return 1;
		}
	}
	if ((v->policy & DKIM_POLICY_RFC8301) &&
	    EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_RSA &&
	    k->bits < (int)v->min_rsa_bits) {
		verdict(r, DKIM_FAIL, DKIM_R_KEY_TOO_SHORT);
		snprintf(bits, sizeof bits, "%d < %u", k->bits,
		    v->min_rsa_bits);
		*err = set_detail(r, "RSA key too short: %s bits%s", bits,
		    NULL);
		return 1;
	}
	return 0;
}

static int
check_hashes(struct vctx *v, const struct msg_field *f,
    const struct dkim_sig *s, struct kc_entry *ke, struct dkim_result *r)
{
	const struct bh_entry *bh = body_hash(v, s->bcanon, s->length, s->algo);
	unsigned char dig[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	if (bh == NULL || bh->err)
		return -1;
	if (s->length >= 0 && bh->total < (unsigned long long)s->length) {
		verdict(r, DKIM_FAIL, DKIM_R_BODY_LENGTH);
		return set_detail(r, "l= is longer than the body%s%s", NULL,
		    NULL);
	}
	if (bh->hlen != s->bhlen || memcmp(bh->h, s->bh, bh->hlen) != 0) {
		verdict(r, DKIM_FAIL, DKIM_R_BODYHASH_MISMATCH);
		return set_detail(r, "body hash mismatch%s%s", NULL, NULL);
	}
	if (s->nh > MAX_HNAMES) {
		verdict(r, DKIM_INVALID, DKIM_R_SIGNATURE_SYNTAX);
		return set_detail(r, "too many names in h=%s%s", NULL, NULL);
	}
	if (dkim_strip_b(f->raw, f->raw_len, (size_t)(f->value - f->raw),
	    &v->strip) != 0 ||
	    dkim_header_hash(v->m, s->hnames, s->nh, s->hcanon, v->strip.p,
	    v->strip.len, dkim_md(s->algo), &v->canon, dig, &dlen) != 0)
		return -1;
	if (!pkey_verify(ke, s->algo, dig, dlen, s->b, s->blen)) {
		verdict(r, DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT);
		return set_detail(r, "signature did not verify%s%s", NULL,
		    NULL);
	}
	verdict(r, DKIM_PASS, DKIM_R_NONE);
	return 0;
}

static int
verify_one(struct vctx *v, const struct msg_field *f, struct dkim_result *r)
{
	struct dkim_sig sig;
	struct kc_entry *ke = NULL;
	const char *why = NULL;
	int reason = DKIM_R_SIGNATURE_SYNTAX, err = 0, rc;

	memset(&sig, 0, sizeof sig);
	if (dkim_sig_parse_ex(f->value, f->value_len, &sig, &why,
	    &reason) != 0) {
		if (reason == DKIM_R_NONE)
			reason = DKIM_R_SIGNATURE_SYNTAX;
		verdict(r, DKIM_INVALID, (enum dkim_reason)reason);
		if (set_detail(r, "%s%s", why ? why : "bad signature",
		    NULL) != 0 || fill_from_tags(r, f) != 0)
			return -1;
		return 0;
	}
	rc = -1;
	if (fill_from_sig(r, &sig) != 0)
		goto out;
	rc = 0;
	if (sig.algo == DKIM_ALGO_UNKNOWN) {
		verdict(r, DKIM_INVALID, DKIM_R_UNSUPPORTED_ALGORITHM);
		rc = set_detail(r, "unknown algorithm a=%s%s",
		    sig.algo_text, NULL);
		goto out;
	}
	if (check_sig_policy(v, &sig, r, &err)) {
		rc = err;
		goto out;
	}
	if ((rc = fetch_key(&sig, r, &ke)) != 0) {
		if (rc > 0)
			rc = 0;
		goto out;
	}
	if (fill_from_key(r, &ke->key) != 0) {
		rc = -1;
		goto out;
	}
	if (check_key(v, &sig, &ke->key, r, &err)) {
		rc = err;
		goto out;
	}
	rc = check_hashes(v, f, &sig, ke, r);
out:
	kc_put(ke);
	dkim_sig_free(&sig);
	return rc;
}

static int
not_evaluated(const struct msg_field *f, struct dkim_result *r)
{
	verdict(r, DKIM_INVALID, DKIM_R_TOO_MANY);
	if (set_detail(r, "beyond the signature limit%s%s", NULL, NULL) != 0)
		return -1;
	return fill_from_tags(r, f);
}

int
dkim_verify(const struct msg *m, const struct dkim_verify_opts *o,
    struct dkim_results *out)
{
	struct vctx v;
	size_t nsigs = 0, max;
	int rc = 0;

	memset(out, 0, sizeof *out);
	memset(&v, 0, sizeof v);
	v.m = m;
	v.now = o && o->now ? o->now : time(NULL);
	v.policy = o ? o->policy : DKIM_POLICY_DEFAULT;
	v.skew = o && o->future_skew > 0 ? o->future_skew :
	    DEFAULT_FUTURE_SKEW;
	v.min_rsa_bits = o && o->min_rsa_bits ? o->min_rsa_bits :
	    DEFAULT_MIN_RSA_BITS;
	max = o && o->max_sigs ? o->max_sigs : DEFAULT_MAX_SIGS;

	for (size_t i = 0; i < m->nfields; i++)
		if (msg_field_is(&m->fields[i], "DKIM-Signature"))
			nsigs++;
	out->nsigs = nsigs;
	if (nsigs == 0)
		return 0;
	if ((out->r = calloc(nsigs, sizeof *out->r)) == NULL)
		return -1;

	for (size_t i = 0; i < m->nfields && rc == 0; i++) {
		const struct msg_field *f = &m->fields[i];
		if (!msg_field_is(f, "DKIM-Signature"))
			continue;
		struct dkim_result *r = &out->r[out->n];
		if (result_init(r) != 0) {
			result_free(r);
			rc = -1;
			break;
		}
		out->n++;
		if (out->n > max)
			rc = not_evaluated(f, r);
		else
			rc = verify_one(&v, f, r);
	}
	free(v.bh);
	dkim_buf_free(&v.canon);
	dkim_buf_free(&v.strip);
	if (rc != 0) {
		dkim_results_free(out);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* ---- Exim's signer lists ---- */

static int
list_has(const char *list, size_t len, const char *item, size_t n)
{
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *e = memchr(p, ':', (size_t)(end - p));
		if (e == NULL)
			e = end;
		if ((size_t)(e - p) == n && strncasecmp(p, item, n) == 0)
			return 1;
		p = e + 1;
	}
	return 0;
}

static int
list_add(struct dkim_buf *b, const char *item)
{
	size_t n = strlen(item);

	if (n == 0 || list_has(b->p ? b->p : "", b->len, item, n))
		return 0;
	if (b->len && dkim_buf_add(b, ":", 1) != 0)
		return -1;
	return dkim_buf_add(b, item, n);
}

char *
dkim_signers(const struct dkim_results *res)
{
	struct dkim_buf b = { NULL, 0, 0 };

	if (dkim_buf_add(&b, "", 0) != 0)
		return NULL;
	for (size_t i = 0; i < res->n; i++) {
		const struct dkim_result *r = &res->r[i];
		if (r->status == DKIM_NONE || r->domain == NULL ||
		    r->domain[0] == '\0')
			continue;
		if (list_add(&b, r->domain) != 0 ||
		    (r->identity && list_add(&b, r->identity) != 0)) {
			dkim_buf_free(&b);
			return NULL;
		}
	}
	return b.p;
}

/* i= equality: local part exact, domain without regard to case. */
static int
identity_eq(const char *a, const char *b)
{
	const char *aa = strrchr(a, '@'), *bb = strrchr(b, '@');

	if (aa == NULL || bb == NULL || aa - a != bb - b)
		return 0;
	return strncmp(a, b, (size_t)(aa - a)) == 0 &&
	    strcasecmp(aa + 1, bb + 1) == 0;
}

static int
signer_matches(const struct dkim_result *r, const char *e)
{
	if (r->status == DKIM_NONE)
		return 0;
	if (strchr(e, '@'))
		return r->identity && identity_eq(r->identity, e);
	return r->domain && r->domain[0] && strcasecmp(r->domain, e) == 0;
}

static int
push_result(struct dkim_result **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct dkim_result *nv = realloc(*v, nc * sizeof *nv);
		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = nc;
	}
	return 0;
}

int
dkim_select_signers(struct dkim_results *res, const char *list)
{
	struct dkim_results sel = { NULL, 0, res->nsigs };
	struct dkim_buf seen = { NULL, 0, 0 };
	size_t cap = 0, entries = 0;
	const char *p = list ? list : "";

	const char *s;
	size_t n;

	while (entries < MAX_SELECT_ENTRIES && dkim_list_next(&p, &s, &n)) {
		/* Duplicates in the list are ignored. */
		if (n == 0 || n > MAX_SELECT_ENTRY_LEN ||
		    list_has(seen.p ? seen.p : "", seen.len, s, n))
			continue;
		if ((seen.len && dkim_buf_add(&seen, ":", 1) != 0) ||
		    dkim_buf_add(&seen, s, n) != 0)
			goto fail;
		const char *entry = seen.p + seen.len - n;
		entries++;

		size_t matched = 0;
		for (size_t i = 0; i < res->n; i++) {
			if (!signer_matches(&res->r[i], entry))
				continue;
			if (push_result(&sel.r, &sel.n, &cap) != 0 ||
			    result_copy(&sel.r[sel.n], &res->r[i]) != 0)
				goto fail;
			sel.n++;
			if (set_str(&sel.r[sel.n - 1].cur_signer, entry) != 0)
				goto fail;
			matched++;
		}
		if (matched == 0) {
			if (push_result(&sel.r, &sel.n, &cap) != 0)
				goto fail;
			struct dkim_result *r = &sel.r[sel.n];
			if (result_init(r) != 0) {
				result_free(r);
				goto fail;
			}
			sel.n++;
			if (set_str(&r->cur_signer, entry) != 0)
				goto fail;
		}
	}
	dkim_buf_free(&seen);
	dkim_results_free(res);
	*res = sel;
	return 0;
fail:
	dkim_buf_free(&seen);
	dkim_results_free(&sel);
	errno = ENOMEM;
	return -1;
}
