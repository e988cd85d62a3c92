/* dkim_sig: the DKIM-Signature field value, RFC 6376 section 3.5.
 *
 * Syntax errors are told apart from versions, canonicalizations and query
 * methods we do not support (dkim_sig_parse_ex), because the verifier
 * reports them differently.  An unknown a= is not an error here: the
 * verifier says unsupported_algorithm.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_int.h"
#include "idn.h"

#define SIG_MAX_HNAMES 1024	/* more h= names than this is hostile */
#define SIG_MAX_LENGTH (1LL << 62)

static const char *const algo_names[] = {
	[DKIM_RSA_SHA1] = "rsa-sha1",
	[DKIM_RSA_SHA256] = "rsa-sha256",
	[DKIM_ED25519_SHA256] = "ed25519-sha256",
};

const char *
dkim_algo_name(enum dkim_algo a)
{
	if ((unsigned)a < sizeof(algo_names) / sizeof(algo_names[0]))
		return algo_names[a];
	return "unknown";
}

const char *
dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_RELAXED ? "relaxed" : "simple";
}

/* RFC 6376 3.5, i=: the domain part is d= or a subdomain of it. */
static int
within(const char *dom, const char *domain)
{
	size_t il = strlen(dom), dl = strlen(domain);

	if (dl == 0)
		return 0;
	if (il == dl)
		return strcasecmp(dom, domain) == 0;
	return il > dl && dom[il - dl - 1] == '.' &&
	    strcasecmp(dom + il - dl, domain) == 0;
}

/* RFC 8616: a U-label and its A-label are the same domain, so compare
 * A-labels when either side has a U-label. */
static int
within_idn(const char *dom, const char *domain)
{
	const char *why;
	char *a = idn_to_alabels(dom, &why), *b = idn_to_alabels(domain, &why);
	int r = a != NULL && b != NULL && within(a, b);

	free(a);
	free(b);
	return r;
}

int
dkim_identity_within(const char *identity, const char *domain)
{
	const char *at;

	if (identity == NULL || domain == NULL ||
	    (at = strrchr(identity, '@')) == NULL)
		return 0;
	if (idn_is_unicode(at + 1) || idn_is_unicode(domain))
		return within_idn(at + 1, domain);
	return within(at + 1, domain);
}

/* Decimal, 1 to maxdigits digits, at most max.  0, or -1. */
static int
parse_decimal(const char *s, size_t len, size_t maxdigits, long long max,
    long long *out)
{
	long long v = 0;

	if (len == 0 || len > maxdigits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

struct sig_err {
	const char *why;
	int reason;
};

static int
sig_fail(struct sig_err *e, int reason, const char *why)
{
	e->reason = reason;
	e->why = why;
	return -1;
}

static int
nomem(struct sig_err *e)
{
	return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "out of memory");
}

/* A domain or selector: no white space, no control bytes. */
static int
plain_token(const struct dkim_tag *t)
{
	if (t->value_len == 0)
		return 0;
	for (size_t i = 0; i < t->value_len; i++)
		if ((unsigned char)t->value[i] <= 0x20 || t->value[i] == 0x7f)
			return 0;
	return 1;
}

static int
parse_algo(struct dkim_sig *sig, const struct dkim_tag *t, struct sig_err *e)
{
	if ((sig->algo_text = dkim_copy_span(t->value, t->value_len)) == NULL)
		return nomem(e);
	sig->algo = DKIM_ALGO_UNKNOWN;
	for (size_t a = 0; a < sizeof(algo_names) / sizeof(algo_names[0]); a++)
		if (dkim_span_is(t->value, t->value_len, algo_names[a]))
			sig->algo = (enum dkim_algo)a;
	return 0;
}

static int
canon_word(const char *s, size_t len, enum dkim_canon *c)
{
	if (dkim_span_is(s, len, "simple"))
		*c = DKIM_SIMPLE;
	else if (dkim_span_is(s, len, "relaxed"))
		*c = DKIM_RELAXED;
	else
		return -1;
	return 0;
}

static int
parse_canon(struct dkim_sig *sig, const struct dkim_tag *t,
    struct sig_err *e)
{
	const char *slash;

	sig->hcanon = sig->bcanon = DKIM_SIMPLE;
	if (t == NULL)
		return 0;
	slash = memchr(t->value, '/', t->value_len);
	if (slash == NULL) {
		if (canon_word(t->value, t->value_len, &sig->hcanon) == 0)
			return 0;
	} else if (canon_word(t->value, (size_t)(slash - t->value),
	    &sig->hcanon) == 0 && canon_word(slash + 1,
	    t->value_len - (size_t)(slash - t->value) - 1, &sig->bcanon) == 0)
		return 0;
	return sig_fail(e, DKIM_R_UNSUPPORTED_CANON,
	    "unsupported canonicalization");
}

static int
b64_tag(const struct dkim_tag *t, unsigned char **out, size_t *outlen,
    char **text, struct sig_err *e, const char *empty, const char *bad)
{
	char *s;
	size_t n;
	int rc;

	if ((s = dkim_copy_without_fws(t->value, t->value_len, &n)) == NULL)
		return nomem(e);
	if (n == 0) {
		free(s);
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, empty);
	}
	if ((rc = dkim_b64_decode(s, n, out, outlen)) != 0) {
		free(s);
		return rc == -2 ? nomem(e) :
		    sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, bad);
	}
	if (text != NULL)
		*text = s;
	else
		free(s);
	return 0;
}

/* A header field name: printable US-ASCII except ':' (RFC 5322 ftext). */
static int
field_name_ok(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int
parse_hnames(struct dkim_sig *sig, const struct dkim_tag *t,
    struct sig_err *e)
{
	char *text, *p, *colon;
	size_t n, count = 1;

	if ((text = dkim_copy_without_fws(t->value, t->value_len, &n)) == NULL)
		return nomem(e);
	sig->hnames_text = text;
	if (n == 0)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "empty tag h");
	for (size_t i = 0; i < n; i++)
		if (text[i] == ':')
			count++;
	if (count > SIG_MAX_HNAMES)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX,
		    "too many names in h=");
	if ((sig->hnames = calloc(count, sizeof(char *))) == NULL)
		return nomem(e);
	for (p = text; sig->nh < count; p = colon + 1) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = text + n;
		if (!field_name_ok(p, (size_t)(colon - p)))
			return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX,
			    "bad header name in h=");
		if ((sig->hnames[sig->nh++] = dkim_copy_span(p,
		    (size_t)(colon - p))) == NULL)
			return nomem(e);
	}
	return 0;
}

static int
parse_identity(struct dkim_sig *sig, const struct dkim_tag *t,
    struct sig_err *e)
{
	size_t dlen;

	if (t == NULL) {
		dlen = strlen(sig->domain);
		if ((sig->identity = malloc(dlen + 2)) == NULL)
			return nomem(e);
		sig->identity[0] = '@';
		memcpy(sig->identity + 1, sig->domain, dlen + 1);
		return 0;
	}
	sig->identity_given = 1;
	if ((sig->identity = dkim_qp_decode(t->value, t->value_len,
	    DKIM_QP_DROP_WSP)) == NULL)
		return nomem(e);
	if (strchr(sig->identity, '@') == NULL)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag i");
	return 0;
}

/* q= is a colon list of methods; dns/txt is the only one there is. */
static int
parse_query(struct dkim_sig *sig, const struct dkim_tag *t,
    struct sig_err *e)
{
	const char *p, *item;
	size_t n;

	if (t == NULL) {
		if ((sig->query = dkim_copy_span("dns/txt", 7)) == NULL)
			return nomem(e);
		return 0;
	}
	if ((sig->query = dkim_copy_without_fws(t->value, t->value_len, NULL))
	    == NULL)
		return nomem(e);
	for (p = sig->query; dkim_list_next(&p, &item, &n);)
		if (dkim_span_is(item, n, "dns/txt"))
			return 0;
	return sig_fail(e, DKIM_R_UNSUPPORTED_QUERY,
	    "unsupported query method");
}

static int
parse_times(struct dkim_sig *sig, const struct dkim_taglist *tl,
    struct sig_err *e)
{
	const struct dkim_tag *t;

	sig->length = sig->created = sig->expires = -1;
	if ((t = dkim_tags_get(tl, "l")) != NULL &&
	    parse_decimal(t->value, t->value_len, 76, SIG_MAX_LENGTH,
	    &sig->length) == -1)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
	/* RFC 6376 allows 12 digits; 18 still fits and costs nothing. */
	if ((t = dkim_tags_get(tl, "t")) != NULL &&
	    parse_decimal(t->value, t->value_len, 18, SIG_MAX_LENGTH,
	    &sig->created) == -1)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag t");
	if ((t = dkim_tags_get(tl, "x")) != NULL &&
	    parse_decimal(t->value, t->value_len, 18, SIG_MAX_LENGTH,
	    &sig->expires) == -1)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag x");
	if (sig->created >= 0 && sig->expires >= 0 &&
	    sig->expires < sig->created)
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX,
		    "x= is earlier than t=");
	return 0;
}

static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
static const char *const missing_why[] = {
	"missing tag v", "missing tag a", "missing tag b", "missing tag bh",
	"missing tag d", "missing tag h", "missing tag s",
};

static int
parse_tags(struct dkim_sig *sig, const struct dkim_taglist *tl,
    struct sig_err *e)
{
	const struct dkim_tag *t;

	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (dkim_tags_get(tl, required[k]) == NULL)
			return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX,
			    missing_why[k]);
	if (parse_algo(sig, dkim_tags_get(tl, "a"), e) == -1 ||
	    b64_tag(dkim_tags_get(tl, "b"), &sig->b, &sig->blen, &sig->b_text,
	    e, "empty tag b", "bad base64 in tag b") == -1 ||
	    b64_tag(dkim_tags_get(tl, "bh"), &sig->bh, &sig->bhlen, NULL,
	    e, "empty tag bh", "bad base64 in tag bh") == -1)
		return -1;
	t = dkim_tags_get(tl, "d");
	if (!plain_token(t))
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag d");
	if ((sig->domain = dkim_copy_span(t->value, t->value_len)) == NULL)
		return nomem(e);
	t = dkim_tags_get(tl, "s");
	if (!plain_token(t))
		return sig_fail(e, DKIM_R_SIGNATURE_SYNTAX, "bad tag s");
	if ((sig->selector = dkim_copy_span(t->value, t->value_len)) == NULL)
		return nomem(e);
	if (parse_hnames(sig, dkim_tags_get(tl, "h"), e) == -1 ||
	    parse_identity(sig, dkim_tags_get(tl, "i"), e) == -1 ||
	    parse_times(sig, tl, e) == -1)
		return -1;
	if ((t = dkim_tags_get(tl, "z")) != NULL &&
	    (sig->copied = dkim_copy_span(t->value, t->value_len)) == NULL)
		return nomem(e);
	/* Unsupported methods after syntax: a broken field is invalid
	 * whatever it asks for. */
	if (parse_canon(sig, dkim_tags_get(tl, "c"), e) == -1 ||
	    parse_query(sig, dkim_tags_get(tl, "q"), e) == -1)
		return -1;
	return 0;
}

int
dkim_sig_parse_ex(const char *value, size_t len, struct dkim_sig *sig,
    const char **why, int *reason)
{
	struct dkim_taglist tl;
	struct sig_err e = { NULL, DKIM_R_NONE };
	const char *tw;
	const struct dkim_tag *v;
	int rc = 0;

	memset(sig, 0, sizeof(*sig));
	sig->length = sig->created = sig->expires = -1;
	if (dkim_tags_parse(value, len, &tl, &tw) == -1)
		rc = sig_fail(&e, DKIM_R_SIGNATURE_SYNTAX, tw);
	else if ((v = dkim_tags_get(&tl, "v")) != NULL &&
	    !(v->value_len == 1 && v->value[0] == '1'))
		/* Another version may mean another syntax: stop here. */
		rc = sig_fail(&e, DKIM_R_UNSUPPORTED_VERSION,
		    "unsupported version");
	else
		rc = parse_tags(sig, &tl, &e);
	if (rc == -1) {
		dkim_sig_free(sig);
		if (why != NULL)
			*why = e.why;
		if (reason != NULL)
			*reason = e.reason;
		return -1;
	}
	sig->version = 1;
	if (reason != NULL)
		*reason = DKIM_R_NONE;
	return 0;
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **why)
{
	return dkim_sig_parse_ex(value, len, sig, why, NULL);
}

void
dkim_sig_free(struct dkim_sig *sig)
{
	free(sig->algo_text);
	free(sig->domain);
	free(sig->selector);
	free(sig->identity);
	for (size_t i = 0; sig->hnames != NULL && i < sig->nh; i++)
		free(sig->hnames[i]);
	free(sig->hnames);
	free(sig->hnames_text);
	free(sig->b);
	free(sig->bh);
	free(sig->b_text);
	free(sig->copied);
	free(sig->query);
	memset(sig, 0, sizeof(*sig));
}
