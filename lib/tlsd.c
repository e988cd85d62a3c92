/* tlsd: the server side of STARTTLS with OpenSSL 3: certificate sets
 * (default and per SNI), OCSP staples read at every handshake, and
 * deadline-bounded I/O on the caller's descriptors.  See tlsd.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "clock.h"
#include "diag.h"
#include "ocsp.h"
#include "out.h"
#include "tls.h"
#include "tlsd.h"

#define SNI_TOKEN	"%{sni}"
#define NFILES		(2 * TLSD_MAX_PAIRS)	/* cert and key per pair */

/* What a file was when its set was loaded: a change reloads the set. */
struct fstamp {
	int		 exists;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

/* One loaded pair: what the status callback needs to pick and check the
 * staple of the certificate being served. */
struct setpair {
	X509		*leaf;
	X509		*issuer;	/* NULL when not in the cert file */
	STACK_OF(X509)	*chain;
	char		*ocsp;		/* expanded file name, or NULL */
};

/* The certificates for one name, in their own SSL_CTX. */
struct certset {
	SSL_CTX		*ctx;
	char		 name[TLSD_NAME_MAX + 1];
	struct setpair	 p[TLSD_MAX_PAIRS];
	size_t		 np;
	char		*path[NFILES];
	struct fstamp	 stamp[NFILES];
	size_t		 nfiles;
	unsigned long	 used;		/* LRU clock of the SNI cache */
};

struct tlsd {
	struct tlsd_config cfg;		/* strings owned (copies) */
	char		 hostname[TLSD_NAME_MAX + 1];
	int		 sni_files;	/* a cert or key name has %{sni} */
	struct certset	*def;
	struct certset	**cache;
	size_t		 ncache, cachemax;
	unsigned long	 clock;
};

struct tlsd_conn {
	struct tlsd	*t;
	SSL		*ssl;
	int		 rfd, wfd;
	int		 rflags, wflags;	/* to restore */
	int		 dead;		/* a fatal error: no close_notify */
	struct tlsd_info info;
	char		 err[256];
};

static void
say(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* ---- names ---- */

int
tlsd_sni_normalize(const char *sni, size_t len, char *out, size_t size)
{
	size_t i;

	if (len > 0 && sni[len - 1] == '.')
		len--;
	if (len == 0 || len > TLSD_NAME_MAX || size <= len || sni[0] == '.' ||
	    sni[len - 1] == '.')
		return -1;
	for (i = 0; i < len; i++) {
		char c = sni[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.'))
			return -1;
		if (c == '.' && i > 0 && out[i - 1] == '.')
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

int
tlsd_expand(const char *tmpl, const char *name, char *out, size_t size)
{
	size_t tl = strlen(SNI_TOKEN), nl = strlen(name), o = 0;
	const char *s;

	if (size == 0)
		return -1;
	for (s = tmpl; *s != '\0';) {
		if (strncmp(s, SNI_TOKEN, tl) == 0) {
			if (size - o <= nl)
				return -1;
			memcpy(out + o, name, nl);
			o += nl;
			s += tl;
			continue;
		}
		if (size - o <= 1)
			return -1;
		out[o++] = *s++;
	}
	out[o] = '\0';
	return 0;
}

/* The SNI as sent, for logs and hooks: printable ASCII kept. */
static void
sni_printable(const char *sni, char *out, size_t size)
{
	size_t i;

	for (i = 0; sni[i] != '\0' && i + 1 < size; i++)
		out[i] = sni[i] > 0x20 && sni[i] < 0x7f ? sni[i] : '?';
	out[i] = '\0';
}

/* ---- file stamps ---- */

static void
stamp_of(const char *path, struct fstamp *f)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (stat(path, &st) == -1)
		return;
	f->exists = 1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
}

static int
stamp_same(const struct fstamp *a, const struct fstamp *b)
{
	return a->exists == b->exists && a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int
set_changed(const struct certset *s)
{
	struct fstamp now;
	size_t i;

	for (i = 0; i < s->nfiles; i++) {
		stamp_of(s->path[i], &now);
		if (!stamp_same(&now, &s->stamp[i]))
			return 1;
	}
	return 0;
}

/* ---- certificate sets ---- */

static void
set_free(struct certset *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->ctx != NULL) {
		SSL_CTX_set_app_data(s->ctx, NULL);
		SSL_CTX_free(s->ctx);
	}
	for (i = 0; i < s->np; i++) {
		X509_free(s->p[i].leaf);
		X509_free(s->p[i].issuer);
		sk_X509_pop_free(s->p[i].chain, X509_free);
		free(s->p[i].ocsp);
	}
	for (i = 0; i < s->nfiles; i++)
		free(s->path[i]);
	free(s);
}

static int servername_cb(SSL *, int *, void *);
static int status_cb(SSL *, void *);

/* A client certificate is asked for only to report its DN. */
static int
accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

static int
ctx_setup(struct tlsd *t, SSL_CTX *ctx, char *err, size_t errlen)
{
	const struct tlsd_config *c = &t->cfg;
	char why[160];
	uint64_t op = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF;

	if (!c->client_preference)
		op |= SSL_OP_CIPHER_SERVER_PREFERENCE;
	SSL_CTX_set_options(ctx, op);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	(void)SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)"mxkit", 5);
	if (SSL_CTX_set_min_proto_version(ctx, c->min_version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, c->max_version) != 1) {
		say(err, errlen, "protocol versions: %s",
		    tls_error_reason(why, sizeof(why), "not supported"));
		return -1;
	}
	if (c->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, c->ciphers)
	    != 1) {
		say(err, errlen, "ciphers \"%s\": %s", c->ciphers,
		    tls_error_reason(why, sizeof(why), "none usable"));
		return -1;
	}
	if (c->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, c->ciphersuites) != 1) {
		say(err, errlen, "TLS 1.3 ciphersuites \"%s\": %s",
		    c->ciphersuites,
		    tls_error_reason(why, sizeof(why), "none usable"));
		return -1;
	}
	if (c->request_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	return 0;
}

static X509 *
issuer_in(STACK_OF(X509) *chain, X509 *leaf)
{
	int i;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		if (X509_check_issued(c, leaf) == X509_V_OK) {
			X509_up_ref(c);
			return c;
		}
	}
	return NULL;
}

/* Remember path and its stamp (taken before the load: a change during
 * the load is seen at the next check). */
static const char *
set_file(struct certset *s, const char *path)
{
	if (s->nfiles >= NFILES || (s->path[s->nfiles] = strdup(path)) ==
	    NULL)
		return NULL;
	stamp_of(path, &s->stamp[s->nfiles]);
	return s->path[s->nfiles++];
}

/* Load pair i of t's configuration for name into s.  0, 1 when its
 * certificate file does not exist, -1 on another error. */
static int
pair_load(struct tlsd *t, struct certset *s, size_t i, char *err,
    size_t errlen)
{
	const struct tlsd_pair *pc = &t->cfg.pair[i];
	struct setpair *p = &s->p[s->np];
	char cert[TLSD_PATH_MAX], key[TLSD_PATH_MAX], why[160];
	STACK_OF(X509) *chain = NULL;
	size_t j;
	int id;

	if (tlsd_expand(pc->cert, s->name, cert, sizeof(cert)) == -1 ||
	    tlsd_expand(pc->key != NULL ? pc->key : pc->cert, s->name, key,
	    sizeof(key)) == -1) {
		say(err, errlen, "%s: file name too long", pc->cert);
		return -1;
	}
	if (set_file(s, cert) == NULL || (strcmp(key, cert) != 0 &&
	    set_file(s, key) == NULL)) {
		say(err, errlen, "out of memory");
		return -1;
	}
	if (access(cert, F_OK) == -1 && errno == ENOENT) {
		say(err, errlen, "%s: %s", cert, strerror(errno));
		return 1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1) {
		say(err, errlen, "%s: %s", cert,
		    tls_error_reason(why, sizeof(why), "cannot load"));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ctx) != 1) {
		say(err, errlen, "%s: %s", key,
		    tls_error_reason(why, sizeof(why), "key does not match "
		    "the certificate"));
		return -1;
	}
	if ((p->leaf = SSL_CTX_get0_certificate(s->ctx)) == NULL) {
		say(err, errlen, "%s: no certificate", cert);
		return -1;
	}
	X509_up_ref(p->leaf);
	s->np++;
	id = EVP_PKEY_get_base_id(X509_get0_pubkey(p->leaf));
	for (j = 0; j + 1 < s->np; j++)
		if (EVP_PKEY_get_base_id(X509_get0_pubkey(s->p[j].leaf)) ==
		    id) {
			say(err, errlen, "%s: a second certificate of key "
			    "type %s", cert, OBJ_nid2sn(id));
			return -1;
		}
	if (SSL_CTX_get0_chain_certs(s->ctx, &chain) == 1 && chain != NULL) {
		p->issuer = issuer_in(chain, p->leaf);
		p->chain = X509_chain_up_ref(chain);
	}
	if (pc->ocsp != NULL) {
		if (tlsd_expand(pc->ocsp, s->name, cert, sizeof(cert)) == -1 ||
		    (p->ocsp = strdup(cert)) == NULL) {
			say(err, errlen, "%s: file name too long", pc->ocsp);
			return -1;
		}
	}
	return 0;
}

/* The set for name.  NULL with err; *missing is set when no certificate
 * file for name exists (nothing to complain about for an SNI). */
static struct certset *
set_load(struct tlsd *t, const char *name, int *missing, char *err,
    size_t errlen)
{
	struct certset *s;
	size_t i, nmissing = 0;
	int rc;

	*missing = 0;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	if ((s->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		say(err, errlen, "cannot make a TLS context");
		goto fail;
	}
	SSL_CTX_set_app_data(s->ctx, s);
	if (ctx_setup(t, s->ctx, err, errlen) == -1)
		goto fail;
	for (i = 0; i < t->cfg.npairs; i++) {
		if ((rc = pair_load(t, s, i, err, errlen)) == -1)
			goto fail;
		if (rc == 1)
			nmissing++;
	}
	if (nmissing > 0) {
		*missing = nmissing == t->cfg.npairs;
		goto fail;
	}
	return s;
fail:
	set_free(s);
	return NULL;
}

/* ---- the SNI cache ---- */

static struct certset *
cache_find(struct tlsd *t, const char *name, size_t *at)
{
	size_t i;

	for (i = 0; i < t->ncache; i++)
		if (strcmp(t->cache[i]->name, name) == 0) {
			*at = i;
			return t->cache[i];
		}
	return NULL;
}

static void
cache_drop(struct tlsd *t, size_t i)
{
	set_free(t->cache[i]);
	t->cache[i] = t->cache[--t->ncache];
}

static void
cache_add(struct tlsd *t, struct certset *s)
{
	size_t i, lru = 0;

	if (t->ncache >= t->cachemax) {
		for (i = 1; i < t->ncache; i++)
			if (t->cache[i]->used < t->cache[lru]->used)
				lru = i;
		cache_drop(t, lru);
	}
	t->cache[t->ncache++] = s;
}

/* The set for a client's (valid) SNI, or NULL: use the default. */
static struct certset *
sni_set(struct tlsd *t, const char *name, struct tlsd_conn *c)
{
	struct certset *s;
	char err[200];
	size_t at;
	int missing;

	if ((s = cache_find(t, name, &at)) != NULL) {
		if (!set_changed(s)) {
			s->used = ++t->clock;
			return s;
		}
		cache_drop(t, at);
	}
	err[0] = '\0';
	if ((s = set_load(t, name, &missing, err, sizeof(err))) == NULL) {
		if (!missing)
			say(c->info.note, sizeof(c->info.note), "SNI %s: %s: "
			    "using the default certificates", name, err);
		return NULL;
	}
	s->used = ++t->clock;
	cache_add(t, s);
	return s;
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct tlsd *t = arg;
	struct tlsd_conn *c = SSL_get_app_data(ssl);
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct certset *s;
	char name[TLSD_NAME_MAX + 1];

	(void)alert;
	if (c == NULL || sni == NULL)
		return SSL_TLSEXT_ERR_OK;
	sni_printable(sni, c->info.sni, sizeof(c->info.sni));
	if (tlsd_sni_normalize(sni, strlen(sni), name, sizeof(name)) == -1)
		return SSL_TLSEXT_ERR_OK;
	c->info.sni_valid = 1;
	if (!t->sni_files || strcmp(name, t->hostname) == 0)
		return SSL_TLSEXT_ERR_OK;
	if ((s = sni_set(t, name, c)) != NULL &&
	    SSL_set_SSL_CTX(ssl, s->ctx) == s->ctx)
		snprintf(c->info.cert_name, sizeof(c->info.cert_name), "%s",
		    name);
	/* A set that did not load must not fail the handshake. */
	ERR_clear_error();
	return SSL_TLSEXT_ERR_OK;
}

/* ---- OCSP stapling ---- */

/* Without the issuer the CertID's hashes cannot be computed nor the
 * signature checked: a successful basic response with a SingleResponse
 * for the leaf's serial and current times will do. */
static int
staple_light(const unsigned char *der, size_t len, X509 *leaf, time_t now,
    long skew, char *why, size_t wlen)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	OCSP_BASICRESP *bs = NULL;
	ASN1_GENERALIZEDTIME *thisu = NULL, *nextu = NULL;
	ASN1_INTEGER *serial;
	int i, n, st, found = 0, ok = 0;

	if (r == NULL || p != der + len) {
		say(why, wlen, "not an OCSP response");
		goto done;
	}
	if ((st = OCSP_response_status(r)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		say(why, wlen, "response status %s",
		    OCSP_response_status_str(st));
		goto done;
	}
	if ((bs = OCSP_response_get1_basic(r)) == NULL) {
		say(why, wlen, "no BasicOCSPResponse");
		goto done;
	}
	n = OCSP_resp_count(bs);
	for (i = 0; i < n && i < 64 && !found; i++) {
		OCSP_SINGLERESP *sr = OCSP_resp_get0(bs, i);

		if (OCSP_id_get0_info(NULL, NULL, NULL, &serial,
		    (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(sr)) == 1 &&
		    ASN1_INTEGER_cmp(serial,
		    X509_get0_serialNumber(leaf)) == 0) {
			found = 1;
			OCSP_single_get0_status(sr, NULL, NULL, &thisu, &nextu);
		}
	}
	if (!found)
		say(why, wlen, "not about this certificate");
	else if (thisu == NULL || ocsp_asn1_epoch(thisu) > now + skew)
		say(why, wlen, "thisUpdate in the future");
	else if (nextu == NULL)
		say(why, wlen, "no nextUpdate");
	else if (ocsp_asn1_epoch(nextu) < now - skew)
		say(why, wlen, "stale: nextUpdate has passed");
	else
		ok = 1;
done:
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	return ok;
}

static int
staple_ok(const struct tlsd *t, const struct setpair *p,
    const unsigned char *der, size_t len, char *why, size_t wlen)
{
	long skew = t->cfg.ocsp_skew;
	time_t now = time(NULL);
	struct ocsp_status st;
	enum ocsp_verdict v;

	if (p->issuer == NULL)
		return staple_light(der, len, p->leaf, now, skew, why, wlen);
	v = ocsp_check_der(der, len, p->leaf, p->issuer, p->chain, now, skew,
	    &st);
	if (v == OCSP_VALID)
		return 1;
	say(why, wlen, "%s%s", v == OCSP_STALE ? "stale: " : "",
	    st.error != NULL ? st.error : "invalid response");
	return 0;
}

static const struct setpair *
served_pair(SSL *ssl)
{
	const struct certset *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	X509 *x = SSL_get_certificate(ssl);
	size_t i;

	if (s == NULL || x == NULL)
		return NULL;
	for (i = 0; i < s->np; i++)
		if (s->p[i].leaf == x || X509_cmp(s->p[i].leaf, x) == 0)
			return &s->p[i];
	return NULL;
}

/* Staple p's response, if it is one to send.  in->ocsp says what was
 * done, in->ocsp_note why nothing was. */
static int
staple(struct tlsd_conn *c, const struct setpair *p, SSL *ssl)
{
	struct tlsd_info *in;
	char why[200], *buf = NULL;
	unsigned char *copy;
	size_t len = 0;

	in = &c->info;
	in->ocsp_requested = 1;
	in->ocsp = TLS_OCSP_NOTRESP;
	if (p == NULL || p->ocsp == NULL) {
		say(in->ocsp_note, sizeof(in->ocsp_note),
		    "no OCSP file for this certificate");
		return SSL_TLSEXT_ERR_NOACK;
	}
	if (slurp_path_max(p->ocsp, OCSP_DER_MAX, &buf, &len) == -1) {
		say(in->ocsp_note, sizeof(in->ocsp_note), "%s: %s", p->ocsp,
		    strerror(errno));
		return SSL_TLSEXT_ERR_NOACK;
	}
	if (len > OCSP_DER_MAX || len == 0)
		say(in->ocsp_note, sizeof(in->ocsp_note), "%s: %s", p->ocsp,
		    len == 0 ? "empty" : "too large");
	else if (!staple_ok(c->t, p, (unsigned char *)buf, len, why,
	    sizeof(why)))
		say(in->ocsp_note, sizeof(in->ocsp_note), "%s: %s", p->ocsp,
		    why);
	else if ((copy = OPENSSL_memdup(buf, len)) != NULL) {
		if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, (long)len) ==
		    1) {
			in->ocsp = TLS_OCSP_VFYNOTDONE;
			in->ocsp_len = len;
			free(buf);
			return SSL_TLSEXT_ERR_OK;
		}
		OPENSSL_free(copy);
	}
	free(buf);
	return SSL_TLSEXT_ERR_NOACK;
}

/* Called when the client sent status_request, once the certificate to
 * serve is chosen. */
static int
status_cb(SSL *ssl, void *arg)
{
	struct tlsd_conn *c = SSL_get_app_data(ssl);
	const struct setpair *p = served_pair(ssl);
	int rc;

	(void)arg;
	if (c == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	rc = staple(c, p, ssl);
	/* What the checks left in the queue would fail the handshake. */
	ERR_clear_error();
	return rc;
}

/* ---- the server ---- */

static int
has_token(const char *s)
{
	return s != NULL && strstr(s, SNI_TOKEN) != NULL;
}

static char *
dup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

static int
config_copy(struct tlsd *t, const struct tlsd_config *cfg, char *err,
    size_t errlen)
{
	size_t i;
	int oom = 0, any = 0;

	if (cfg->npairs < 1 || cfg->npairs > TLSD_MAX_PAIRS) {
		say(err, errlen, "%zu certificates: 1 to %d are possible",
		    cfg->npairs, TLSD_MAX_PAIRS);
		return -1;
	}
	/* Every pointer in t->cfg is ours (or NULL) before any can fail. */
	t->cfg = *cfg;
	memset(t->cfg.pair, 0, sizeof(t->cfg.pair));
	t->cfg.hostname = t->cfg.ciphers = t->cfg.ciphersuites = NULL;
	for (i = 0; i < cfg->npairs; i++) {
		const struct tlsd_pair *p = &cfg->pair[i];

		if (p->cert == NULL || strlen(p->cert) >= TLSD_PATH_MAX ||
		    (p->key != NULL && strlen(p->key) >= TLSD_PATH_MAX) ||
		    (p->ocsp != NULL && strlen(p->ocsp) >= TLSD_PATH_MAX)) {
			say(err, errlen, "certificate %zu: no or too long a "
			    "file name", i + 1);
			return -1;
		}
		t->sni_files |= has_token(p->cert) || has_token(p->key);
		any |= has_token(p->cert) || has_token(p->key) ||
		    has_token(p->ocsp);
		t->cfg.pair[i].cert = dup_or_null(p->cert, &oom);
		t->cfg.pair[i].key = dup_or_null(p->key, &oom);
		t->cfg.pair[i].ocsp = dup_or_null(p->ocsp, &oom);
	}
	t->cfg.ciphers = dup_or_null(cfg->ciphers, &oom);
	t->cfg.ciphersuites = dup_or_null(cfg->ciphersuites, &oom);
	if (oom) {
		say(err, errlen, "out of memory");
		return -1;
	}
	if (cfg->hostname != NULL && tlsd_sni_normalize(cfg->hostname,
	    strlen(cfg->hostname), t->hostname, sizeof(t->hostname)) == -1) {
		say(err, errlen, "host name \"%.300s\": not a host name",
		    cfg->hostname);
		return -1;
	}
	if (any && cfg->hostname == NULL) {
		say(err, errlen, "a file name has %s but there is no host "
		    "name for the default", SNI_TOKEN);
		return -1;
	}
	if (t->cfg.min_version == 0)
		t->cfg.min_version = TLS1_2_VERSION;
	if (t->cfg.ocsp_skew <= 0)
		t->cfg.ocsp_skew = OCSP_SKEW_DEFAULT;
	t->cachemax = cfg->sni_cache > 0 ? cfg->sni_cache : TLSD_SNI_CACHE;
	if (t->cachemax > 1024)
		t->cachemax = 1024;
	return 0;
}

struct tlsd *
tlsd_new(const struct tlsd_config *cfg, char *err, size_t errlen)
{
	struct tlsd *t;
	int missing;

	say(err, errlen, "%s", "");
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	if (config_copy(t, cfg, err, errlen) == -1)
		goto fail;
	if ((t->cache = calloc(t->cachemax, sizeof(*t->cache))) == NULL) {
		say(err, errlen, "out of memory");
		goto fail;
	}
	if ((t->def = set_load(t, t->hostname, &missing, err, errlen)) ==
	    NULL)
		goto fail;
	return t;
fail:
	tlsd_free(t);
	return NULL;
}

void
tlsd_free(struct tlsd *t)
{
	size_t i;

	if (t == NULL)
		return;
	set_free(t->def);
	for (i = 0; i < t->ncache; i++)
		set_free(t->cache[i]);
	free(t->cache);
	for (i = 0; i < TLSD_MAX_PAIRS; i++) {
		free((char *)t->cfg.pair[i].cert);
		free((char *)t->cfg.pair[i].key);
		free((char *)t->cfg.pair[i].ocsp);
	}
	free((char *)t->cfg.ciphers);
	free((char *)t->cfg.ciphersuites);
	free(t);
}

int
tlsd_refresh(struct tlsd *t, char *err, size_t errlen)
{
	struct certset *s;
	int missing;

	if (!set_changed(t->def))
		return 0;
	if ((s = set_load(t, t->hostname, &missing, err, errlen)) == NULL)
		return -1;
	set_free(t->def);
	t->def = s;
	return 0;
}

/* ---- the connection ---- */

/* Wait until fd is ready for events or the deadline: 0, -1, -2. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - clock_ms()) <= 0)
			return -2;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
nonblock(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	*saved = fl;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* One step of an SSL call that returned r: 1 to call it again (after
 * waiting), 0 at EOF, -1 on an error (c->err says it), -2 on timeout. */
static int
ssl_step(struct tlsd_conn *c, int r, const char *what, int64_t deadline)
{
	char why[160];
	int saved = errno, e = SSL_get_error(c->ssl, r), w;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		w = e == SSL_ERROR_WANT_READ ? wait_fd(c->rfd, POLLIN,
		    deadline) : wait_fd(c->wfd, POLLOUT, deadline);
		if (w == 0)
			return 1;
		say(c->err, sizeof(c->err), "%s %s", what, w == -2 ?
		    "timed out" : "failed: poll");
		return w;
	case SSL_ERROR_ZERO_RETURN:
		say(c->err, sizeof(c->err), "%s: connection closed", what);
		return 0;
	case SSL_ERROR_SYSCALL:
		c->dead = 1;
		if (ERR_peek_error() == 0) {
			if (saved == 0) {
				say(c->err, sizeof(c->err), "%s failed: "
				    "connection closed by the peer", what);
				return 0;
			}
			say(c->err, sizeof(c->err), "%s failed: %s", what,
			    strerror(saved));
			return -1;
		}
		break;
	default:
		c->dead = 1;
		break;
	}
	say(c->err, sizeof(c->err), "%s failed: %s", what,
	    tls_error_reason(why, sizeof(why), "TLS error"));
	return -1;
}

static void
conn_info(struct tlsd_conn *c)
{
	struct tlsd_info *in = &c->info;
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
	X509 *peer = SSL_get0_peer_certificate(c->ssl);

	snprintf(in->version, sizeof(in->version), "%s",
	    SSL_get_version(c->ssl));
	tls_exim_cipher(c->ssl, in->cipher, sizeof(in->cipher));
	if (ci != NULL) {
		snprintf(in->cipher_name, sizeof(in->cipher_name), "%s",
		    SSL_CIPHER_get_name(ci));
		in->bits = SSL_CIPHER_get_bits(ci, &in->alg_bits);
	}
	tls_received_text(c->ssl, in->received, sizeof(in->received));
	if (peer != NULL)
		tls_dn(X509_get_subject_name(peer), in->peerdn,
		    sizeof(in->peerdn));
	if (in->cert_name[0] == '\0')
		snprintf(in->cert_name, sizeof(in->cert_name), "%s",
		    c->t->hostname);
}

static struct tlsd_conn *
conn_new(struct tlsd *t, int rfd, int wfd)
{
	struct tlsd_conn *c = calloc(1, sizeof(*c));
	BIO *rb = NULL, *wb = NULL;

	if (c == NULL)
		return NULL;
	c->t = t;
	c->rfd = rfd;
	c->wfd = wfd;
	c->rflags = c->wflags = -1;
	if (nonblock(rfd, &c->rflags) == -1 || nonblock(wfd, &c->wflags) ==
	    -1 || (c->ssl = SSL_new(t->def->ctx)) == NULL ||
	    (rb = BIO_new_fd(rfd, BIO_NOCLOSE)) == NULL ||
	    (wb = BIO_new_fd(wfd, BIO_NOCLOSE)) == NULL) {
		BIO_free(rb);
		tlsd_conn_free(c);
		return NULL;
	}
	/* Exactly what arrives on rfd from now on, nothing buffered
	 * before: RFC 3207 4.2. */
	SSL_set_bio(c->ssl, rb, wb);
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	return c;
}

int
tlsd_handshake(struct tlsd *t, int rfd, int wfd, unsigned timeout_ms,
    struct tlsd_conn **conn, char *err, size_t errlen)
{
	int64_t deadline = clock_ms() + timeout_ms;
	struct tlsd_conn *c;
	char note[200];
	int r, rc;

	*conn = NULL;
	note[0] = '\0';
	(void)tlsd_refresh(t, note, sizeof(note));
	if ((c = conn_new(t, rfd, wfd)) == NULL) {
		say(err, errlen, "handshake failed: %s", strerror(errno ?
		    errno : ENOMEM));
		return -1;
	}
	if (note[0] != '\0')
		say(c->info.note, sizeof(c->info.note), "certificates not "
		    "reloaded: %s", note);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_do_handshake(c->ssl)) == 1)
			break;
		if ((rc = ssl_step(c, r, "handshake", deadline)) != 1) {
			say(err, errlen, "%s", rc == 0 ? "handshake failed: "
			    "connection closed by the peer" : c->err);
			tlsd_conn_free(c);
			return rc == -2 ? -2 : -1;
		}
	}
	conn_info(c);
	c->err[0] = '\0';
	*conn = c;
	return 0;
}

const struct tlsd_info *
tlsd_info(const struct tlsd_conn *c)
{
	return &c->info;
}

ssize_t
tlsd_read(struct tlsd_conn *c, void *buf, size_t n, unsigned timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	size_t got;
	int rc;

	if (n == 0)
		return 0;
	if (c->dead) {
		say(c->err, sizeof(c->err), "read: the connection failed");
		return -1;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(c->ssl, buf, n, &got) == 1)
			return (ssize_t)got;
		if ((rc = ssl_step(c, 0, "read", deadline)) != 1)
			return rc;
	}
}

size_t
tlsd_pending(const struct tlsd_conn *c)
{
	int n = SSL_pending(c->ssl);

	return n > 0 ? (size_t)n : 0;
}

int
tlsd_write_all(struct tlsd_conn *c, const void *buf, size_t n,
    unsigned timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	const char *p = buf;
	size_t w;
	int rc;

	if (c->dead) {
		say(c->err, sizeof(c->err), "write: the connection failed");
		return -1;
	}
	while (n > 0) {
		ERR_clear_error();
		errno = 0;
		/* On a retry the same arguments, as OpenSSL wants. */
		if (SSL_write_ex(c->ssl, p, n, &w) == 1) {
			p += w;
			n -= w;
			continue;
		}
		if ((rc = ssl_step(c, 0, "write", deadline)) != 1)
			return rc == 0 ? -1 : rc;
	}
	return 0;
}

int
tlsd_shutdown(struct tlsd_conn *c, unsigned timeout_ms)
{
	int64_t deadline = clock_ms() + timeout_ms;
	int r, rc;

	if (c->dead)
		return -1;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(c->ssl)) >= 0)
			return 0;	/* sent; the peer's is not awaited */
		if ((rc = ssl_step(c, r, "shutdown", deadline)) != 1)
			return rc == 0 ? 0 : rc;
	}
}

const char *
tlsd_error(const struct tlsd_conn *c)
{
	return c->err;
}

void
tlsd_conn_free(struct tlsd_conn *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	if (c->wflags != -1)
		(void)fcntl(c->wfd, F_SETFL, c->wflags);
	if (c->rflags != -1)
		(void)fcntl(c->rfd, F_SETFL, c->rflags);
	free(c);
}

size_t
tlsd_peer_chain(const struct tlsd_conn *c, size_t depth, char *buf,
    size_t size)
{
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	/* On the server side the chain does not hold the client's own. */
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	size_t n = leaf == NULL ? 0 : 1 + (chain ? (size_t)sk_X509_num(chain) :
	    0);
	X509 *x = NULL;

	if (size > 0)
		buf[0] = '\0';
	if (depth >= n)
		return n;
	x = depth == 0 ? leaf : sk_X509_value(chain, (int)depth - 1);
	if (x != NULL)
		tls_dn(X509_get_subject_name(x), buf, size);
	return n;
}
