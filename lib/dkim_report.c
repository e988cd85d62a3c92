/* dkim_report: what a verifier tells about each result -- Exim's $dkim_*
 * variable values and the RFC 8601 resinfo -- so that every front end
 * says the same thing. */
#include <stdio.h>
#include <string.h>

#include "authres.h"
#include "dkim.h"

#define UNSET_BIG	9999999999999LL		/* Exim's "no limit" */
#define HEADER_B_LEN	8			/* header.b= prefix, RFC 6008 */

/* Exim's names without "dkim_", in the order of spec/cli.md. */
const char *const dkim_var_names[DKIM_NVARS + 1] = {
	"verify_status", "verify_reason", "cur_signer", "domain", "identity",
	"selector", "algo", "canon_body", "canon_headers", "copiedheaders",
	"bodylength", "created", "expires", "headernames", "key_testing",
	"key_nosubdomains", "key_srvtype", "key_granularity", "key_notes",
	"key_length", NULL
};

enum var {
	V_STATUS, V_REASON, V_CUR_SIGNER, V_DOMAIN, V_IDENTITY, V_SELECTOR,
	V_ALGO, V_CANON_BODY, V_CANON_HEADERS, V_COPIEDHEADERS, V_BODYLENGTH,
	V_CREATED, V_EXPIRES, V_HEADERNAMES, V_KEY_TESTING,
	V_KEY_NOSUBDOMAINS, V_KEY_SRVTYPE, V_KEY_GRANULARITY, V_KEY_NOTES,
	V_KEY_LENGTH
};

static const char *
reason_word(const struct dkim_result *r)
{
	const char *s = r->reason != DKIM_R_NONE ? dkim_reason_name(r->reason)
	    : NULL;

	return s != NULL ? s : "";
}

static const char *
str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Numbers: 1 with *num set; unset ones get Exim's defaults. */
static int
var_number(const struct dkim_result *r, size_t k, long long *num)
{
	switch (k) {
	case V_BODYLENGTH:
		*num = r->bodylength < 0 ? UNSET_BIG : r->bodylength;
		return 1;
	case V_CREATED:
		*num = r->created < 0 ? 0 : r->created;
		return 1;
	case V_EXPIRES:
		*num = r->expires < 0 ? UNSET_BIG : r->expires;
		return 1;
	case V_KEY_TESTING: *num = r->key_testing != 0; return 1;
	case V_KEY_NOSUBDOMAINS: *num = r->key_nosubdomains != 0; return 1;
	case V_KEY_LENGTH: *num = r->key_length; return 1;
	default: return 0;
	}
}

static const char *
var_string(const struct dkim_result *r, size_t k)
{
	switch (k) {
	case V_STATUS: return dkim_status_name(r->status);
	case V_REASON: return reason_word(r);
	case V_CUR_SIGNER:
		return str_or_empty(r->cur_signer != NULL &&
		    *r->cur_signer != '\0' ? r->cur_signer : r->domain);
	case V_DOMAIN: return str_or_empty(r->domain);
	case V_IDENTITY: return str_or_empty(r->identity);
	case V_SELECTOR: return str_or_empty(r->selector);
	case V_ALGO: return str_or_empty(r->algo);
	case V_CANON_BODY: return str_or_empty(r->canon_body);
	case V_CANON_HEADERS: return str_or_empty(r->canon_headers);
	case V_COPIEDHEADERS: return str_or_empty(r->copiedheaders);
	case V_HEADERNAMES: return str_or_empty(r->headernames);
	case V_KEY_SRVTYPE: return str_or_empty(r->key_srvtype);
	case V_KEY_GRANULARITY: return str_or_empty(r->key_granularity);
	case V_KEY_NOTES: return str_or_empty(r->key_notes);
	default: return "";
	}
}

int
dkim_var_is_number(size_t k)
{
	long long n;
	struct dkim_result r = { 0 };

	return var_number(&r, k, &n);
}

const char *
dkim_result_var_at(const struct dkim_result *r, size_t k, char *buf,
    size_t bufsz)
{
	long long n;

	if (r == NULL || k >= DKIM_NVARS)
		return "";
	if (!var_number(r, k, &n))
		return var_string(r, k);
	if (buf == NULL || bufsz == 0)
		return "";
	snprintf(buf, bufsz, "%lld", n);
	return buf;
}

const char *
dkim_result_var(const struct dkim_result *r, const char *name, char *buf,
    size_t bufsz)
{
	size_t k;

	if (name != NULL && strncmp(name, "dkim_", 5) == 0)
		name += 5;
	for (k = 0; name != NULL && k < DKIM_NVARS; k++)
		if (strcmp(name, dkim_var_names[k]) == 0)
			return dkim_result_var_at(r, k, buf, bufsz);
	return NULL;
}

int
dkim_key_weak(EVP_PKEY *pkey)
{
	return pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_get_bits(pkey) < DKIM_RSA_RECOMMENDED_BITS;
}

/* ---- Authentication-Results (RFC 8601 2.7.1, RFC 6008) ---- */

static int
prop(struct authres *ar, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return 0;
	return authres_prop(ar, "header", name, value);
}

int
dkim_authres_add(struct authres *ar, const struct dkim_result *r)
{
	char b[HEADER_B_LEN + 1];

	/* A reason explains a failure; a pass needs none. */
	if (authres_add(ar, "dkim", dkim_authres_result(r),
	    r->status != DKIM_PASS && r->reason != DKIM_R_NONE ?
	    reason_word(r) : NULL) == -1)
		return -1;
	if (prop(ar, "d", r->domain) == -1 ||
	    prop(ar, "s", r->selector) == -1 ||
	    prop(ar, "i", r->identity) == -1 ||
	    prop(ar, "a", r->algo) == -1)
		return -1;
	/* Only a prefix of b=: enough to tell signatures apart. */
	if (r->b_text != NULL && *r->b_text != '\0') {
		snprintf(b, sizeof(b), "%s", r->b_text);
		if (prop(ar, "b", b) == -1)
			return -1;
	}
	return 0;
}

int
dkim_authres_add_all(struct authres *ar, const struct dkim_results *res)
{
	size_t i;

	if (res->n == 0)
		return authres_add(ar, "dkim", "none", NULL);
	for (i = 0; i < res->n; i++)
		if (dkim_authres_add(ar, &res->r[i]) == -1)
			return -1;
	return 0;
}
