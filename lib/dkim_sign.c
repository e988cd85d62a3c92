/* dkim_sign: make a DKIM-Signature field (RFC 6376 5, RFC 8301, RFC 8463),
 * and the key chores around it: loading, generating, publishing.
 *
 * The field is built folded, exactly as it will be written, and the
 * signature is computed over that text with b= empty, so what a verifier
 * sees is what we hashed.  Header instances are chosen by the verifier's own
 * rule (dkim_select_fields), so the two sides cannot disagree.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dkim_int.h"
#include "idn.h"
#include "msg.h"

#define LINE_MAX_COLS	78	/* RFC 5322 2.1.1 */
#define MAX_SIGN_NAMES	512	/* h= entries, = and + expanded */
#define MAX_NAME_LEN	128	/* one header field name */
#define MAX_KEY_FILE	(1024 * 1024)
#define MIN_RSA_BITS	1024
#define MAX_RSA_BITS	16384
#define TXT_STRING_MAX	255	/* RFC 1035 character-string */

const char dkim_default_sign_headers[] =
    "+From:=Reply-To:=Subject:=Date:=To:=Cc:=Resent-Date:=Resent-From:"
    "=Resent-To:=Resent-Cc:=In-Reply-To:=References:=List-Id:=List-Help:"
    "=List-Unsubscribe:=List-Subscribe:=List-Post:=List-Owner:"
    "=List-Archive:=Message-ID:=MIME-Version:=Content-Type:"
    "=Content-Transfer-Encoding:=Sender";

/* ---- small buffers ---- */

static int
adds(struct dkim_buf *b, const char *s)
{
	return dkim_buf_add(b, s, strlen(s));
}

/* ---- header name list (Exim syntax) ---- */

struct names {
	char **v;
	size_t n, cap;
};

static void
names_free(struct names *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i]);
	free(h->v);
	memset(h, 0, sizeof *h);
}

static int
names_push(struct names *h, const char *s, size_t n)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		char **v = realloc(h->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	if ((h->v[h->n] = strndup(s, n)) == NULL)
		return -1;
	h->n++;
	return 0;
}

/* ftext, RFC 5322 3.6.8: printable US-ASCII except colon. */
static int
field_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > MAX_NAME_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == ':')
			return 0;
	}
	return 1;
}

static size_t
mentions(const struct names *h, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++)
		if (strlen(h->v[i]) == n && strncasecmp(h->v[i], s, n) == 0)
			k++;
	return k;
}

static size_t
present(const struct msg *m, const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].name_len == n &&
		    strncasecmp(m->fields[i].raw, s, n) == 0)
			k++;
	return k;
}

/* Expand an Exim header list into the h= names: "name" one mention (an
 * absent field is signed as absent), "=name" one per instance present,
 * "+name" one per instance present and one more (oversigning).  Repeated
 * mentions take instances further up, as the verifier will. */
static int
expand_list(const struct msg *m, const char *list, struct names *h,
    const char **why)
{
	const char *p = list, *s;
	size_t n;

	while (dkim_list_next(&p, &s, &n)) {
		if (n == 0)
			continue;
		char mode = 0;
		if (*s == '=' || *s == '+') {
			mode = *s++;
			n--;
		}
		if (!field_name_ok(s, n)) {
			*why = "bad header name in the list";
			return -1;
		}
		size_t want = 1;
		if (mode) {
			size_t have = present(m, s, n);
			size_t used = mentions(h, s, n);
			want = have > used ? have - used : 0;
			if (mode == '+')
				want++;
		}
		while (want-- > 0) {
			if (h->n >= MAX_SIGN_NAMES) {
				*why = "too many header fields to sign";
				return -1;
			}
			if (names_push(h, s, n) != 0) {
				*why = "out of memory";
				return -1;
			}
		}
	}
	return 0;
}

/* ---- checks on what the caller gave us ---- */

static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
		if (c == '.' && d[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* i= is "@d", "local@d", or the same within a subdomain of d; its local
 * part plain (dkim-quoted-printable would allow more) and its domain a
 * host name. */
static int
identity_ok(const char *id, const char *d)
{
	const char *at = strrchr(id, '@');

	if (at == NULL || !domain_ok(at + 1))
		return 0;
	for (const char *q = id; q < at; q++) {
		unsigned char c = (unsigned char)*q;
		if (c <= ' ' || c == ';' || c == 0x7f || c == '=')
			return 0;
	}
	return dkim_identity_within(id, d);
}

/* The a= for a key, or NULL with *why. */
static const char *
key_algo(EVP_PKEY *key, enum dkim_algo *a, const char **why)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(key) < MIN_RSA_BITS) {
			*why = "RSA key shorter than 1024 bits (RFC 8301)";
			return NULL;
		}
		*a = DKIM_RSA_SHA256;
		return "rsa-sha256";
	case EVP_PKEY_ED25519:
		*a = DKIM_ED25519_SHA256;
		return "ed25519-sha256";
	}
	*why = "key is neither RSA nor Ed25519";
	return NULL;
}

/* ---- folding ---- */

/* The field is built with CRLF folds; other line ends are put in last. */
struct fold {
	struct dkim_buf b;
	size_t col;
	int err;
};

static void
f_put(struct fold *f, const char *s, size_t n)
{
	if (dkim_buf_add(&f->b, s, n) != 0)
		f->err = 1;
	f->col += n;
}

static void
f_break(struct fold *f)
{
	f_put(f, "\r\n\t", 3);
	f->col = 8;
}

/* Start a tag: a space, or a fold when the first piece would not fit. */
static void
f_start(struct fold *f, size_t first)
{
	if (f->col + 1 + first > LINE_MAX_COLS)
		f_break(f);
	else
		f_put(f, " ", 1);
}

/* A tag that is never split. */
static void
f_tag(struct fold *f, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);

	f_start(f, n + 1 + v + 1);
	f_put(f, name, n);
	f_put(f, "=", 1);
	f_put(f, value, v);
	f_put(f, ";", 1);
}

/* Put a piece, folding before it if it would overflow the line. */
static void
f_piece(struct fold *f, const char *s, size_t n)
{
	if (f->col + n > LINE_MAX_COLS && f->col > 8)
		f_break(f);
	f_put(f, s, n);
}

static void
f_hnames(struct fold *f, const struct names *h)
{
	char piece[MAX_NAME_LEN + 2];

	f_start(f, 2 + strlen(h->v[0]) + 1);
	f_put(f, "h=", 2);
	for (size_t i = 0; i < h->n; i++) {
		size_t n = strlen(h->v[i]);
		memcpy(piece, h->v[i], n);
		piece[n] = i + 1 < h->n ? ':' : ';';
		f_piece(f, piece, n + 1);
	}
}

/* Base64 may be folded anywhere (RFC 6376 3.5, b= and bh=). */
static void
f_base64(struct fold *f, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		size_t room = f->col < LINE_MAX_COLS ?
		    LINE_MAX_COLS - f->col : 0;
		if (room == 0) {
			f_break(f);
			continue;
		}
		size_t k = n < room ? n : room;
		f_put(f, s, k);
		s += k;
		n -= k;
	}
}

/* ---- z= ---- */

/* One z= unit: a safe character, or =XX (RFC 6376 2.11, with '|' too). */
static size_t
qp_unit(unsigned char c, char out[4])
{
	if (c > 0x20 && c < 0x7f && c != ';' && c != '=' && c != '|') {
		out[0] = (char)c;
		return 1;
	}
	snprintf(out, 4, "=%02X", c);
	return 3;
}

static void
f_copied(struct fold *f, const struct msg *m, const long *idx, size_t nh)
{
	int first = 1;

	for (size_t i = 0; i < nh && !f->err; i++) {
		if (idx[i] < 0)
			continue;
		const struct msg_field *fl = &m->fields[idx[i]];
		char head[MAX_NAME_LEN + 4];
		size_t hn = 0;
		if (first)
			hn = (size_t)snprintf(head, sizeof head, "z=");
		else
			head[hn++] = '|';
		memcpy(head + hn, fl->raw, fl->name_len);
		hn += fl->name_len;
		head[hn++] = ':';
		if (first)
			f_start(f, hn);
		f_piece(f, head, hn);
		first = 0;

		size_t vn;
		char *v = msg_unfold(fl->value, fl->value_len, &vn);
		if (v == NULL) {
			f->err = 1;
			return;
		}
		size_t j = 0;
		while (j < vn && (v[j] == ' ' || v[j] == '\t'))
			j++;	/* the space after the colon */
		for (; j < vn; j++) {
			char u[4];
			f_piece(f, u, qp_unit((unsigned char)v[j], u));
		}
		free(v);
	}
	if (!first)
		f_put(f, ";", 1);
}

/* ---- signing ---- */

static int
sign_digest(EVP_PKEY *key, enum dkim_algo a, const unsigned char *dig,
    size_t dlen, unsigned char **sig, size_t *slen)
{
	int ok = 0;

	*sig = NULL;
	*slen = 0;
	if (a == DKIM_ED25519_SHA256) {
		/* RFC 8463: PureEdDSA over the SHA-256 of the data. */
		EVP_MD_CTX *mc = EVP_MD_CTX_new();
		if (mc && EVP_DigestSignInit_ex(mc, NULL, NULL, NULL, NULL, key,
		    NULL) == 1 &&
		    EVP_DigestSign(mc, NULL, slen, dig, dlen) == 1 &&
		    (*sig = malloc(*slen)) != NULL &&
		    EVP_DigestSign(mc, *sig, slen, dig, dlen) == 1)
			ok = 1;
		EVP_MD_CTX_free(mc);
	} else {
		EVP_PKEY_CTX *pc = dkim_rsa_ctx(key, a, 1);
		if (pc && EVP_PKEY_sign(pc, NULL, slen, dig, dlen) == 1 &&
		    (*sig = malloc(*slen)) != NULL &&
		    EVP_PKEY_sign(pc, *sig, slen, dig, dlen) == 1)
			ok = 1;
		EVP_PKEY_CTX_free(pc);
	}
	ERR_clear_error();
	if (!ok) {
		free(*sig);
		*sig = NULL;
	}
	return ok ? 0 : -1;
}

/* Replace the CRLFs we built with by the caller's line end. */
static char *
with_eol(const struct dkim_buf *b, const char *eol)
{
	struct dkim_buf o = { NULL, 0, 0 };
	const char *p = b->p, *end = b->p + b->len;

	if (strcmp(eol, "\r\n") == 0)
		return strdup(b->p);
	while (p < end) {
		const char *q = strstr(p, "\r\n");
		if (q == NULL)
			q = end;
		if (dkim_buf_add(&o, p, (size_t)(q - p)) != 0 ||
		    (q < end && adds(&o, eol) != 0)) {
			free(o.p);
			return NULL;
		}
		p = q < end ? q + 2 : end;
	}
	return o.p;
}

/* ---- RFC 8616: d= and the domain of i= in A-labels ---- */

/* name in A-labels: itself when it is ASCII, else a converted copy in
 * *copy.  NULL with *why when it is not a valid IDNA2008 name. */
static const char *
alabels(const char *name, char **copy, const char **why)
{
	*copy = NULL;
	if (name == NULL || !idn_is_unicode(name))
		return name;
	if ((*copy = idn_to_alabels(name, why)) == NULL)
		return NULL;
	return *copy;
}

/* The identity with its domain part in A-labels; the local part stays. */
static const char *
identity_alabels(const char *id, char **copy, const char **why)
{
	const char *at;
	char *dom;
	size_t ll, dl;

	*copy = NULL;
	if (id == NULL || (at = strrchr(id, '@')) == NULL ||
	    !idn_is_unicode(at + 1))
		return id;
	if (alabels(at + 1, &dom, why) == NULL)
		return NULL;
	ll = (size_t)(at + 1 - id);
	dl = strlen(dom);
	if ((*copy = malloc(ll + dl + 1)) != NULL) {
		memcpy(*copy, id, ll);
		memcpy(*copy + ll, dom, dl + 1);
	} else
		*why = "out of memory";
	free(dom);
	return *copy;
}

/* *out is *s with d= and i= as DNS and verifiers need them; *dom and *id
 * hold the converted copies (free them).  0, or -1 with *why. */
static int
signer_alabels(const struct dkim_signer *s, struct dkim_signer *out,
    char **dom, char **id, const char **why)
{
	*out = *s;
	*id = NULL;
	if (s->domain != NULL &&
	    (out->domain = alabels(s->domain, dom, why)) == NULL) {
		*why = "bad signing domain (not a valid IDNA2008 name)";
		return -1;
	}
	if (s->identity != NULL &&
	    (out->identity = identity_alabels(s->identity, id, why)) == NULL) {
		*why = "bad identity domain (not a valid IDNA2008 name)";
		return -1;
	}
	return 0;
}

static int
check_signer(const struct dkim_signer *s, const char **why)
{
	if (s == NULL || s->key == NULL) {
		*why = "no key";
		return -1;
	}
	if (s->domain == NULL || !domain_ok(s->domain)) {
		*why = "bad signing domain";
		return -1;
	}
	if (s->selector == NULL || !domain_ok(s->selector)) {
		*why = "bad selector";
		return -1;
	}
	if (s->identity && !identity_ok(s->identity, s->domain)) {
		*why = "identity must be @domain or within a subdomain of it";
		return -1;
	}
	if ((s->hcanon != DKIM_SIMPLE && s->hcanon != DKIM_RELAXED) ||
	    (s->bcanon != DKIM_SIMPLE && s->bcanon != DKIM_RELAXED)) {
		*why = "bad canonicalization";
		return -1;
	}
	if (s->expire_secs < 0 || s->expire_secs > 100LL * 365 * 86400) {
		*why = "bad expiry";
		return -1;
	}
	return 0;
}

/* Everything up to and including "b=", folded. */
static int
build_unsigned(struct fold *f, const struct msg *m, const struct dkim_signer *s,
    const char *algo, time_t now, const struct names *h, const long *idx,
    const char *bh, unsigned long long blen)
{
	char num[32], canon[32];

	f_put(f, "DKIM-Signature: v=1;", 20);
	f_tag(f, "a", algo);
	snprintf(canon, sizeof canon, "%s/%s", dkim_canon_name(s->hcanon),
	    dkim_canon_name(s->bcanon));
	f_tag(f, "c", canon);
	f_tag(f, "d", s->domain);
	f_tag(f, "s", s->selector);
	if (s->timestamp) {
		snprintf(num, sizeof num, "%lld", (long long)now);
		f_tag(f, "t", num);
	}
	if (s->expire_secs > 0) {
		snprintf(num, sizeof num, "%lld",
		    (long long)now + s->expire_secs);
		f_tag(f, "x", num);
	}
	if (s->body_length) {
		snprintf(num, sizeof num, "%llu", blen);
		f_tag(f, "l", num);
	}
	if (s->identity)
		f_tag(f, "i", s->identity);
	f_hnames(f, h);
	if (s->copy_headers)
		f_copied(f, m, idx, h->n);
	f_tag(f, "bh", bh);
	/* Room for "b=" and a first character on the same line: a fold
	 * right after "b=" would be hashed with simple canonicalization. */
	f_start(f, 3);
	f_put(f, "b=", 2);
	return f->err ? -1 : 0;
}

static int sign_field(const struct msg *m, const struct dkim_signer *s,
    time_t now, const char *eol, char **field, const char **why);

int
dkim_sign(const struct msg *m, const struct dkim_signer *s, time_t now,
    const char *eol, char **field, const char **why)
{
	struct dkim_signer a;
	char *dom = NULL, *id = NULL;
	int rc;

	*field = NULL;
	if (s == NULL) {
		*why = "no key";
		return -1;
	}
	if ((rc = signer_alabels(s, &a, &dom, &id, why)) == 0)
		rc = sign_field(m, &a, now, eol, field, why);
	free(dom);
	free(id);
	return rc;
}

static int
sign_field(const struct msg *m, const struct dkim_signer *s, time_t now,
    const char *eol, char **field, const char **why)
{
	struct names h = { NULL, 0, 0 };
	struct fold f = { { NULL, 0, 0 }, 0, 0 };
	struct dkim_buf scratch = { NULL, 0, 0 };
	enum dkim_algo a = DKIM_RSA_SHA256;
	unsigned char bh[EVP_MAX_MD_SIZE], dig[EVP_MAX_MD_SIZE], *sig = NULL;
	unsigned bhlen = 0, dlen = 0;
	unsigned long long blen = 0;
	size_t slen = 0;
	long *idx = NULL;
	char *bh64 = NULL, *b64sig = NULL;
	const char *algo;
	int rc = -1;

	*field = NULL;
	*why = "out of memory";
	if (eol == NULL)
		eol = "\r\n";
	if (check_signer(s, why) != 0)
		return -1;
	if ((algo = key_algo(s->key, &a, why)) == NULL)
		return -1;
	if (expand_list(m, s->headers ? s->headers : dkim_default_sign_headers,
	    &h, why) != 0)
		goto out;
	if (h.n == 0) {
		*why = "no header fields to sign";
		goto out;
	}
	*why = "out of memory";
	if ((idx = calloc(h.n, sizeof *idx)) == NULL)
		goto out;
	dkim_select_fields(m, h.v, h.n, idx);

	if (dkim_body_hash(m->body, m->body_len, s->bcanon, -1, dkim_md(a), bh,
	    &bhlen, &blen) != 0) {
		*why = "body hash failed";
		goto out;
	}
	if ((bh64 = dkim_b64_encode(bh, bhlen)) == NULL)
		goto out;
	if (build_unsigned(&f, m, s, algo, now, &h, idx, bh64, blen) != 0)
		goto out;
	if (dkim_header_hash(m, h.v, h.n, s->hcanon, f.b.p, f.b.len,
	    dkim_md(a), &scratch, dig, &dlen) != 0) {
		*why = "header hash failed";
		goto out;
	}
	if (sign_digest(s->key, a, dig, dlen, &sig, &slen) != 0) {
		*why = "signing failed (not a private key?)";
		goto out;
	}
	if ((b64sig = dkim_b64_encode(sig, slen)) == NULL)
		goto out;
	f_base64(&f, b64sig);
	f_put(&f, "\r\n", 2);
	if (f.err || (*field = with_eol(&f.b, eol)) == NULL)
		goto out;
	*why = NULL;
	rc = 0;
out:
	names_free(&h);
	free(idx);
	free(bh64);
	free(b64sig);
	free(sig);
	dkim_buf_free(&f.b);
	dkim_buf_free(&scratch);
	return rc;
}

/* ---- keys ---- */

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;	/* never prompt on a terminal */
}

/* The key is usable for DKIM signing: RSA of 1024 bits or more, Ed25519. */
static int
signing_key_ok(EVP_PKEY *k, const char **why)
{
	enum dkim_algo a;

	return key_algo(k, &a, why) != NULL ? 0 : -1;
}

/* The PEM blocks a DKIM signing key comes in, as OpenSSL's decoders name
 * them, RSA first (the common case).  A decoder context set up for one
 * structure and key type costs a fraction of PEM_read_bio_PrivateKey's,
 * which tries every decoder there is. */
static const struct {
	const char *label, *structure, *type;
} key_forms[] = {
	{ "-----BEGIN PRIVATE KEY-----", "PrivateKeyInfo", "RSA" },
	{ "-----BEGIN PRIVATE KEY-----", "PrivateKeyInfo", "ED25519" },
	{ "-----BEGIN RSA PRIVATE KEY-----", "type-specific", "RSA" },
};

/* Only when the first PEM block is one of those: PEM_read_bio_PrivateKey
 * takes the first block it can, and we must take the same one. */
static EVP_PKEY *
decode_typed(const char *buf, size_t len)
{
	const char *at = memmem(buf, len, "-----BEGIN ", 11);
	const unsigned char *p;
	size_t n;

	if (at == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof key_forms / sizeof key_forms[0]; i++) {
		const char *label = key_forms[i].label;
		OSSL_DECODER_CTX *dc;
		EVP_PKEY *k = NULL;

		if ((size_t)(buf + len - at) < strlen(label) ||
		    memcmp(at, label, strlen(label)) != 0)
			continue;
		dc = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM",
		    key_forms[i].structure, key_forms[i].type,
		    EVP_PKEY_KEYPAIR, NULL, NULL);
		p = (const unsigned char *)at;
		n = len - (size_t)(at - buf);
		if (dc != NULL &&
		    OSSL_DECODER_CTX_set_pem_password_cb(dc, no_passphrase,
		    NULL) == 1)
			(void)OSSL_DECODER_from_data(dc, &p, &n);
		OSSL_DECODER_CTX_free(dc);
		ERR_clear_error();
		if (k != NULL)
			return k;
	}
	return NULL;
}

/* Whatever else PEM_read_bio_PrivateKey takes (other blocks first, other
 * key types, so that they are refused for what they are). */
static EVP_PKEY *
decode_any(const char *buf, size_t len)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *k = NULL;

	if (bio != NULL)
		k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

/* The whole file, at most MAX_KEY_FILE bytes.  0, or -1 with *why. */
static int
read_key_file(const char *path, char **buf, size_t *len, const char **why)
{
	struct stat st;
	FILE *fp;

	if (stat(path, &st) != 0) {
		*why = strerror(errno);
		return -1;
	}
	if (st.st_size > MAX_KEY_FILE) {
		*why = "key file too large";
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		*why = "cannot open";
		return -1;
	}
	if ((*buf = malloc(MAX_KEY_FILE + 1)) == NULL) {
		fclose(fp);
		*why = "out of memory";
		return -1;
	}
	*len = fread(*buf, 1, MAX_KEY_FILE + 1, fp);
	fclose(fp);
	if (*len > MAX_KEY_FILE) {
		free(*buf);
		*why = "key file too large";
		return -1;
	}
	return 0;
}

EVP_PKEY *
dkim_load_private_key(const char *path, const char **why)
{
	EVP_PKEY *k;
	char *buf;
	size_t len;

	*why = NULL;
	if (read_key_file(path, &buf, &len, why) != 0)
		return NULL;
	/* PKCS#1 "RSA PRIVATE KEY" and PKCS#8 "PRIVATE KEY" alike. */
	if ((k = decode_typed(buf, len)) == NULL)
		k = decode_any(buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (k == NULL) {
		*why = "not a PEM private key (or encrypted)";
		return NULL;
	}
	if (signing_key_ok(k, why) != 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

EVP_PKEY *
dkim_keygen(const char *type, int bits, const char **why)
{
	EVP_PKEY *k = NULL;

	*why = NULL;
	if (type == NULL || strcasecmp(type, "rsa") == 0) {
		if (bits <= 0)
			bits = 2048;
		if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
			*why = "RSA key length must be 1024 to 16384 bits";
			return NULL;
		}
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (strcasecmp(type, "ed25519") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else {
		*why = "key type must be rsa or ed25519";
		return NULL;
	}
	ERR_clear_error();
	if (k == NULL)
		*why = "key generation failed";
	return k;
}

/* p= for a public key: DER SubjectPublicKeyInfo for RSA, the raw 32 bytes
 * for Ed25519 (RFC 8463 4.2). */
static char *
public_key_b64(EVP_PKEY *pkey)
{
	unsigned char *der = NULL, raw[64];
	size_t rawlen = sizeof raw;
	char *s = NULL;
	int n;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if ((n = i2d_PUBKEY(pkey, &der)) > 0)
			s = dkim_b64_encode(der, (size_t)n);
		OPENSSL_free(der);
		break;
	case EVP_PKEY_ED25519:
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) == 1)
			s = dkim_b64_encode(raw, rawlen);
		break;
	}
	ERR_clear_error();
	return s;
}

char *
dkim_key_zone_record(EVP_PKEY *pkey, const char *domain,
    const char *selector)
{
	struct dkim_buf o = { NULL, 0, 0 }, rec = { NULL, 0, 0 };
	const char *kt = dkim_key_type_name(pkey);
	char *p = NULL;
	int err = 0;

	char *adom = NULL;
	const char *why = NULL;

	if (pkey == NULL || domain == NULL || selector == NULL ||
	    strcmp(kt, "unknown") == 0 ||
	    (domain = alabels(domain, &adom, &why)) == NULL ||
	    (p = public_key_b64(pkey)) == NULL) {
		free(adom);
		return NULL;
	}
	size_t dl = strlen(domain);
	int dot = dl > 0 && domain[dl - 1] == '.';

	err |= adds(&rec, "v=DKIM1; k=");
	err |= adds(&rec, kt);
	err |= adds(&rec, "; p=");
	err |= adds(&rec, p);
	err |= adds(&o, selector);
	err |= adds(&o, "._domainkey.");
	err |= adds(&o, domain);
	err |= adds(&o, dot ? "" : ".");
	err |= adds(&o, " IN TXT (");
	for (size_t i = 0; !err && i < rec.len; i += TXT_STRING_MAX) {
		size_t n = rec.len - i < TXT_STRING_MAX ? rec.len - i :
		    TXT_STRING_MAX;
		err |= adds(&o, " \"");
		err |= dkim_buf_add(&o, rec.p + i, n);
		err |= adds(&o, "\"");
	}
	err |= adds(&o, " )");
	free(adom);
	free(p);
	dkim_buf_free(&rec);
	if (err) {
		dkim_buf_free(&o);
		return NULL;
	}
	return o.p;
}
