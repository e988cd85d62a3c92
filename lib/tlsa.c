/* tlsa: DANE TLSA records (see tlsa.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "diag.h"
#include "out.h"
#include "tlsa.h"

#define TLSA_MAX_PEM	(1024 * 1024)	/* a chain is a few kB */
#define TLSA_MAX_CHAIN	32

int
tlsa_rr_parse(const unsigned char *rdata, size_t len, struct tlsa_rr *r,
    const char **why)
{
	size_t n;

	memset(r, 0, sizeof(*r));
	if (rdata == NULL || len < 3) {
		*why = "RDATA shorter than 3 octets";
		return -1;
	}
	n = len - 3;
	if (n == 0) {
		*why = "no certificate association data";
		return -1;
	}
	if (rdata[2] == TLSA_MT_SHA256 && n != 32) {
		*why = "SHA2-256 data is not 32 octets";
		return -1;
	}
	if (rdata[2] == TLSA_MT_SHA512 && n != 64) {
		*why = "SHA2-512 data is not 64 octets";
		return -1;
	}
	if ((r->data = malloc(n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(r->data, rdata + 3, n);
	r->len = n;
	r->usage = rdata[0];
	r->selector = rdata[1];
	r->mtype = rdata[2];
	return 0;
}

int
tlsa_rr_from_ldns(const ldns_rr *rr, struct tlsa_rr *r, const char **why)
{
	ldns_buffer *b;
	int rc;

	memset(r, 0, sizeof(*r));
	if (rr == NULL || ldns_rr_get_type(rr) != LDNS_RR_TYPE_TLSA) {
		*why = "not a TLSA record";
		return -1;
	}
	if ((b = ldns_buffer_new(512)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
		ldns_buffer_free(b);
		*why = "TLSA RDATA does not encode";
		return -1;
	}
	rc = tlsa_rr_parse(ldns_buffer_begin(b), ldns_buffer_position(b), r,
	    why);
	ldns_buffer_free(b);
	return rc;
}

void
tlsa_rr_free(struct tlsa_rr *r)
{
	if (r == NULL)
		return;
	free(r->data);
	memset(r, 0, sizeof(*r));
}

static char *
hex_of(const unsigned char *p, size_t n, size_t room)
{
	static const char digits[] = "0123456789abcdef";
	char *s, *q;
	size_t i;

	if (n > (SIZE_MAX - room - 1) / 2 ||
	    (s = malloc(room + 2 * n + 1)) == NULL)
		return NULL;
	q = s + room;
	for (i = 0; i < n; i++) {
		*q++ = digits[p[i] >> 4];
		*q++ = digits[p[i] & 15];
	}
	*q = '\0';
	return s;
}

char *
tlsa_rr_text(const struct tlsa_rr *r)
{
	char head[16], *s;
	int h;

	h = snprintf(head, sizeof(head), "%u %u %u ", r->usage, r->selector,
	    r->mtype);
	if ((s = hex_of(r->data, r->len, (size_t)h)) == NULL)
		return NULL;
	memcpy(s, head, (size_t)h);
	return s;
}

int
tlsa_rr_usable_smtp(const struct tlsa_rr *r, const char **why)
{
	switch (r->usage) {
	case TLSA_PKIX_TA:
		*why = "usage PKIX-TA (0) is unusable for SMTP "
		    "(RFC 7672 3.1.3)";
		return 0;
	case TLSA_PKIX_EE:
		*why = "usage PKIX-EE (1) is unusable for SMTP "
		    "(RFC 7672 3.1.3)";
		return 0;
	case TLSA_DANE_TA:
	case TLSA_DANE_EE:
		break;
	default:
		*why = "unknown certificate usage";
		return 0;
	}
	if (r->selector > TLSA_SEL_SPKI) {
		*why = "unknown selector";
		return 0;
	}
	if (r->mtype > TLSA_MT_SHA512) {
		*why = "unknown matching type";
		return 0;
	}
	return 1;
}

static const char *const usage_names[] = {
	"PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE"
};
static const char *const selector_names[] = { "Cert", "SPKI" };
static const char *const mtype_names[] = { "Full", "SHA2-256", "SHA2-512" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
tlsa_usage_name(unsigned u)
{
	return u < NELEM(usage_names) ? usage_names[u] : NULL;
}

const char *
tlsa_selector_name(unsigned s)
{
	return s < NELEM(selector_names) ? selector_names[s] : NULL;
}

const char *
tlsa_mtype_name(unsigned m)
{
	return m < NELEM(mtype_names) ? mtype_names[m] : NULL;
}

int
tlsa_field_parse(enum tlsa_field f, const char *s)
{
	const char *const *names;
	size_t n, i;
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s >= '0' && *s <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno != 0 || *end != '\0' || v > 255)
			return -1;
		return (int)v;
	}
	switch (f) {
	case TLSA_FIELD_USAGE:
		names = usage_names, n = NELEM(usage_names);
		break;
	case TLSA_FIELD_SELECTOR:
		names = selector_names, n = NELEM(selector_names);
		break;
	case TLSA_FIELD_MTYPE:
		names = mtype_names, n = NELEM(mtype_names);
		break;
	default:
		return -1;
	}
	for (i = 0; i < n; i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* der[0..n) -> the association data under mtype; der is consumed. */
static int
assoc_of_der(unsigned char *der, int n, unsigned mtype, unsigned char **data,
    size_t *len)
{
	const EVP_MD *md;
	unsigned char *h;
	unsigned hl;

	if (n <= 0 || der == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	switch (mtype) {
	case TLSA_MT_FULL:
		if ((h = malloc((size_t)n)) != NULL)
			memcpy(h, der, (size_t)n);
		OPENSSL_free(der);
		if (h == NULL)
			return -1;
		*data = h;
		*len = (size_t)n;
		return 0;
	case TLSA_MT_SHA256:
		md = EVP_sha256();
		break;
	case TLSA_MT_SHA512:
		md = EVP_sha512();
		break;
	default:
		OPENSSL_free(der);
		return -1;
	}
	if ((h = malloc(EVP_MAX_MD_SIZE)) == NULL ||
	    EVP_Digest(der, (size_t)n, h, &hl, md, NULL) != 1) {
		free(h);
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	*data = h;
	*len = hl;
	return 0;
}

int
tlsa_assoc(X509 *cert, unsigned selector, unsigned mtype,
    unsigned char **data, size_t *len)
{
	unsigned char *der = NULL;
	int n;

	*data = NULL;
	*len = 0;
	if (cert == NULL || mtype > TLSA_MT_SHA512)
		return -1;
	switch (selector) {
	case TLSA_SEL_CERT:
		n = i2d_X509(cert, &der);
		break;
	case TLSA_SEL_SPKI:
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
		break;
	default:
		return -1;
	}
	if (n <= 0)
		ERR_clear_error();
	return assoc_of_der(der, n, mtype, data, len);
}

int
tlsa_assoc_pkey(EVP_PKEY *key, unsigned mtype, unsigned char **data,
    size_t *len)
{
	unsigned char *der = NULL;
	int n;

	*data = NULL;
	*len = 0;
	if (key == NULL || mtype > TLSA_MT_SHA512)
		return -1;
	if ((n = i2d_PUBKEY(key, &der)) <= 0)
		ERR_clear_error();
	return assoc_of_der(der, n, mtype, data, len);
}

int
tlsa_rr_match(const struct tlsa_rr *r, X509 *cert)
{
	unsigned char *d;
	size_t n;
	int m;

	if (tlsa_assoc(cert, r->selector, r->mtype, &d, &n) != 0)
		return -1;
	m = n == r->len && memcmp(d, r->data, n) == 0;
	free(d);
	return m;
}

/* ---- generation ---- */

struct gen {
	struct tlsa_gen *g;
	char	**err;
	int	  oom;		/* a line or warning was lost */
};

static int gen_err(struct gen *, int, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* *x->err = "what: why" (or just why), one line even when a file name
 * holds controls; the exit status is passed on so that callers can
 * return gen_err(...). */
static int
gen_err(struct gen *x, int status, const char *what, const char *fmt, ...)
{
	struct out_buf b = { 0 };
	va_list ap;
	char msg[512], *p;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (what != NULL)
		out_buf_printf(&b, "%s: %s", what, msg);
	else
		out_buf_str(&b, msg);
	if (b.oom)
		out_buf_free(&b);
	for (p = b.p; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	*x->err = b.p;
	return status;
}

/* Append s (consumed; NULL is a failed allocation) to v[0..n). */
static int
push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (s == NULL || (nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(s);
		return -1;
	}
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

static void
gen_line(struct gen *x, char *s)
{
	if (push(&x->g->lines, &x->g->nlines, s) != 0)
		x->oom = 1;
}

static void
gen_warn(struct gen *x, const char *s)
{
	if (push(&x->g->warnings, &x->g->nwarn, strdup(s)) != 0)
		x->oom = 1;
}

/* A name fit for a zone file: no blanks, controls, quotes, parentheses,
 * semicolons, backslashes, '$' or '@' (which a zone file would read as
 * something else); no empty labels, labels within limits. */
static int
owner_ok(const char *s)
{
	size_t n = strlen(s), lab = 0;
	const char *p;

	if (n == 0 || n > 254 || (n == 254 && s[n - 1] != '.'))
		return 0;
	if (strcmp(s, ".") == 0)
		return 1;
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || strchr("\"();\\$@", c) != NULL)
			return 0;
		if (c == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
		} else if (++lab > 63)
			return 0;
	}
	return 1;
}

/* s[0..n) (not NUL-terminated: ASN.1 data) is a host name that can make
 * an owner name: letters, digits, '-', '_', non-empty labels of at most
 * 63 octets, perhaps a final dot; not a wildcard. */
static int
host_ok(const unsigned char *s, int n)
{
	int i, lab = 0;

	if (s == NULL || n <= 0 || n > 253 || s[0] == '*')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++lab > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

/* The lowercase host name of s[0..n), without a final dot; NULL when it
 * is not one (host_ok) or out of memory. */
static char *
host_dup(const unsigned char *s, int n)
{
	char *h;
	int i;

	if (!host_ok(s, n))
		return NULL;
	if (s[n - 1] == '.')
		n--;
	if ((h = malloc((size_t)n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		h[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' :
		    s[i]);
	h[n] = '\0';
	return h;
}

/* The leaf's first usable DNS SAN, else its CN (RFC 7672 3.2.3 has
 * clients match SANs; the CN is for old certificates without any). */
static char *
cert_host(X509 *leaf)
{
	GENERAL_NAMES *sans;
	X509_NAME *subj;
	char *h = NULL;
	int i, k;

	sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	for (i = 0; sans != NULL && h == NULL && i < sk_GENERAL_NAME_num(sans);
	    i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);

		if (gn->type == GEN_DNS)
			h = host_dup(ASN1_STRING_get0_data(gn->d.dNSName),
			    ASN1_STRING_length(gn->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
	if (h == NULL && (subj = X509_get_subject_name(leaf)) != NULL &&
	    (k = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) >= 0) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subj, k));

		h = host_dup(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
	}
	ERR_clear_error();
	return h;
}

static int
load_text(struct gen *x, const char *path, char **buf, size_t *len)
{
	const char *name = cli_input_name(path);

	*buf = NULL;
	/* A chain is a few kB: never slurp a mistaken 4 GB file. */
	if (slurp_path_max(path, TLSA_MAX_PEM, buf, len) != 0)
		return gen_err(x, errno == ENOMEM ? EX_SOFTWARE : EX_NOINPUT,
		    name, "%s", strerror(errno));
	if (*len > TLSA_MAX_PEM) {
		free(*buf);
		*buf = NULL;
		return gen_err(x, EX_DATAERR, name, "larger than 1 MiB");
	}
	return 0;
}

static void
free_chain(X509 **c, size_t n)
{
	while (n > 0)
		X509_free(c[--n]);
}

/* OpenSSL's default callback prompts on the terminal, even for a NULL
 * or empty passphrase: refuse instead, so that an encrypted key fails
 * (the front end may run without a terminal, or in a test). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The PEM certificates of path, in file order (other PEM blocks, a key
 * say, are skipped). */
static int
load_chain(struct gen *x, const char *path, X509 **chain, size_t *n)
{
	const char *name = cli_input_name(path);
	char *buf;
	size_t len;
	BIO *bio;
	X509 *c;
	int rc;

	*n = 0;
	if ((rc = load_text(x, path, &buf, &len)) != 0)
		return rc;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		free(buf);
		return gen_err(x, EX_SOFTWARE, name, "out of memory");
	}
	while (*n < TLSA_MAX_CHAIN &&
	    (c = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL)
		chain[(*n)++] = c;
	BIO_free(bio);
	free(buf);
	ERR_clear_error();
	if (*n == 0)
		return gen_err(x, EX_DATAERR, name, "no PEM certificate");
	return 0;
}

/* buf read as a certificate (pass 0), a public key (1) or a private key
 * (2) -> the SubjectPublicKeyInfo DER (a certificate's as encoded there);
 * 0 or less when it is not one. */
static int
spki_pass(BIO *bio, int pass, unsigned char **der)
{
	EVP_PKEY *key;
	X509 *c;
	int n = 0;

	switch (pass) {
	case 0:
		c = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
		if (c != NULL)
			n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), der);
		X509_free(c);
		return n;
	case 1:
		key = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
		break;
	default:
		key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		break;
	}
	if (key != NULL)
		n = i2d_PUBKEY(key, der);
	EVP_PKEY_free(key);
	return n;
}

/* The SPKI DER of the first of a certificate, a public key or an
 * unencrypted private key in the PEM text buf[0..len).  0 or -1. */
static int
spki_of_pem(const char *buf, size_t len, unsigned char **der, int *n)
{
	BIO *bio;
	int pass;

	*der = NULL;
	*n = 0;
	for (pass = 0; pass < 3 && *n <= 0; pass++) {
		if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
			break;
		*n = spki_pass(bio, pass, der);
		BIO_free(bio);
	}
	ERR_clear_error();
	return *n > 0 ? 0 : -1;
}

/* NEXT (a certificate, a public key or a private key) -> the association
 * data of its public key under mtype. */
static int
load_next(struct gen *x, const char *path, unsigned mtype,
    unsigned char **data, size_t *dlen)
{
	const char *name = cli_input_name(path);
	unsigned char *der;
	char *buf;
	size_t len;
	int rc, n;

	if ((rc = load_text(x, path, &buf, &len)) != 0)
		return rc;
	rc = spki_of_pem(buf, len, &der, &n);
	OPENSSL_cleanse(buf, len);	/* it may have held a private key */
	free(buf);
	if (rc != 0)
		return gen_err(x, EX_DATAERR, name, "no PEM certificate, "
		    "public key or unencrypted private key");
	if (assoc_of_der(der, n, mtype, data, dlen) != 0)
		return gen_err(x, EX_SOFTWARE, name, "out of memory");
	return 0;
}

/* "OWNER IN TLSA U S M HEX", malloc'd; NULL when out of memory. */
static char *
line_for(const char *owner, unsigned u, unsigned s, unsigned m,
    const unsigned char *d, size_t n)
{
	struct tlsa_rr r = { (uint8_t)u, (uint8_t)s, (uint8_t)m,
	    (unsigned char *)d, n };
	struct out_buf b = { 0 };
	char *t;

	if ((t = tlsa_rr_text(&r)) == NULL)
		return NULL;
	out_buf_printf(&b, "%s IN TLSA %s", owner, t);
	free(t);
	if (b.oom) {
		out_buf_free(&b);
		return NULL;
	}
	return b.p;
}

static int
self_signed(X509 *c)
{
	int r = X509_check_issued(c, c) == X509_V_OK;

	ERR_clear_error();
	return r;
}

/* The owner name: o->owner with a final dot, else _25._tcp.HOST. */
static int
make_owner(struct gen *x, const struct tlsa_gen_opts *o, X509 *leaf,
    const char *cert_path, char **owner)
{
	struct out_buf b = { 0 };
	char *host;

	*owner = NULL;
	if (o->owner != NULL) {
		size_t n = strlen(o->owner);

		out_buf_str(&b, o->owner);
		if (n > 0 && o->owner[n - 1] != '.')
			out_buf_str(&b, ".");
	} else {
		if ((host = cert_host(leaf)) == NULL)
			return gen_err(x, EX_DATAERR, cli_input_name(cert_path),
			    "no host name in the certificate (give the owner "
			    "name)");
		out_buf_printf(&b, "_%u._tcp.%s.", o->port != 0 ? o->port :
		    25, host);
		free(host);
	}
	if (b.oom) {
		out_buf_free(&b);
		return gen_err(x, EX_SOFTWARE, NULL, "out of memory");
	}
	*owner = b.p;
	return 0;
}

/* The certificate in chain[1..n) that issued chain[0], or NULL. */
static X509 *
find_issuer(X509 **chain, size_t n)
{
	X509 *ca = NULL;
	size_t i;

	for (i = 1; i < n && ca == NULL; i++)
		if (X509_check_issued(chain[i], chain[0]) == X509_V_OK)
			ca = chain[i];
	ERR_clear_error();
	return ca;
}

/* The line for the next key, "3 1 M" (RFC 7671 8.1: publish the new
 * key's record beside the current one before the switch).  cur is the
 * current leaf's SPKI data under the same mtype. */
static void
add_next(struct gen *x, const struct tlsa_gen_opts *o, const char *owner,
    const unsigned char *nd, size_t ndl, const unsigned char *cur,
    size_t curl)
{
	int same = curl == ndl && memcmp(cur, nd, ndl) == 0;

	if (same)
		gen_warn(x, "the next key is the current certificate's key: "
		    "a key kept across the renewal keeps 3 1 x records "
		    "working");
	/* A 3 1 M line for that same key is already there. */
	if (same && o->usage == TLSA_DANE_EE && o->selector == TLSA_SEL_SPKI)
		return;
	gen_line(x, line_for(owner, TLSA_DANE_EE, TLSA_SEL_SPKI, o->mtype, nd,
	    ndl));
}

/* Records that work but are fragile or useless for SMTP. */
static void
add_warnings(struct gen *x, const struct tlsa_gen_opts *o, X509 *subject)
{
	if (o->usage == TLSA_PKIX_TA || o->usage == TLSA_PKIX_EE)
		gen_warn(x, "usage 0/1 records are unusable for SMTP "
		    "(RFC 7672 3.1.3): use 3 1 1 or 2 1 1");
	if (o->usage == TLSA_DANE_TA && o->selector == TLSA_SEL_CERT)
		gen_warn(x, "2 0 x pins the CA's certificate: it breaks when "
		    "the CA is re-issued, even with the same key: prefer "
		    "2 1 1");
	if (o->usage == TLSA_DANE_TA && !self_signed(subject))
		gen_warn(x, "DANE-TA pinned on an intermediate CA: publish a "
		    "record for every intermediate the CA may issue from, "
		    "or use 3 1 1 with a rollover record");
	if (o->usage == TLSA_DANE_EE && o->selector == TLSA_SEL_CERT)
		gen_warn(x, "3 0 x pins the whole certificate: it breaks at "
		    "every renewal, even one with the same key: prefer 3 1 1");
	if (o->mtype == TLSA_MT_FULL)
		gen_warn(x, "matching type 0 publishes the whole certificate "
		    "or key: huge records (prefer 1, SHA2-256)");
}

static int
check_opts(struct gen *x, const struct tlsa_gen_opts *o)
{
	if (o->usage > TLSA_DANE_EE)
		return gen_err(x, EX_USAGE, NULL,
		    "certificate usage %u: not 0-3", o->usage);
	if (o->selector > TLSA_SEL_SPKI)
		return gen_err(x, EX_USAGE, NULL, "selector %u: not 0-1",
		    o->selector);
	if (o->mtype > TLSA_MT_SHA512)
		return gen_err(x, EX_USAGE, NULL, "matching type %u: not 0-2",
		    o->mtype);
	if (o->owner != NULL && !owner_ok(o->owner)) {
		char shown[65];
		size_t i;

		/* The diagnostic is one printable line whatever was given. */
		for (i = 0; i < sizeof(shown) - 1 && o->owner[i] != '\0'; i++)
			shown[i] = (unsigned char)o->owner[i] < ' ' ||
			    (unsigned char)o->owner[i] >= 0x7f ? '?' :
			    o->owner[i];
		shown[i] = '\0';
		return gen_err(x, EX_USAGE, NULL,
		    "owner name '%s' is not a domain name", shown);
	}
	return 0;
}

int
tlsa_generate(const char *cert_path, const char *next_path,
    const struct tlsa_gen_opts *o, struct tlsa_gen *g, char **err)
{
	static const struct tlsa_gen_opts dflt = TLSA_GEN_OPTS_DEFAULT;
	struct gen x = { g, err, 0 };
	X509 *chain[TLSA_MAX_CHAIN], *subject;
	char *owner = NULL;
	unsigned char *d = NULL, *nd = NULL, *cur = NULL;
	size_t n = 0, dl = 0, ndl = 0, curl = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	*err = NULL;
	if (o == NULL)
		o = &dflt;
	if ((rc = check_opts(&x, o)) != 0 ||
	    (rc = load_chain(&x, cert_path, chain, &n)) != 0 ||
	    (next_path != NULL &&
	    (rc = load_next(&x, next_path, o->mtype, &nd, &ndl)) != 0) ||
	    (rc = make_owner(&x, o, chain[0], cert_path, &owner)) != 0)
		goto done;
	subject = chain[0];
	if (o->usage == TLSA_PKIX_TA || o->usage == TLSA_DANE_TA) {
		if ((subject = find_issuer(chain, n)) == NULL) {
			rc = gen_err(&x, EX_DATAERR, cli_input_name(cert_path),
			    "usage %u needs the certificate that issued the "
			    "leaf after it in the file", o->usage);
			goto done;
		}
	}
	if (tlsa_assoc(subject, o->selector, o->mtype, &d, &dl) != 0 ||
	    (nd != NULL &&
	    tlsa_assoc(chain[0], TLSA_SEL_SPKI, o->mtype, &cur, &curl) != 0)) {
		rc = gen_err(&x, EX_DATAERR, cli_input_name(cert_path),
		    "cannot encode the certificate");
		goto done;
	}
	gen_line(&x, line_for(owner, o->usage, o->selector, o->mtype, d, dl));
	if (nd != NULL)
		add_next(&x, o, owner, nd, ndl, cur, curl);
	add_warnings(&x, o, subject);
	if (x.oom)
		rc = gen_err(&x, EX_SOFTWARE, NULL, "out of memory");
done:
	if (rc != 0)
		tlsa_gen_free(g);
	free(d);
	free(nd);
	free(cur);
	free(owner);
	free_chain(chain, n);
	return rc;
}

void
tlsa_gen_free(struct tlsa_gen *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nlines; i++)
		free(g->lines[i]);
	for (i = 0; i < g->nwarn; i++)
		free(g->warnings[i]);
	free(g->lines);
	free(g->warnings);
	memset(g, 0, sizeof(*g));
}
