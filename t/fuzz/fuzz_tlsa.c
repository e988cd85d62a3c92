/* libFuzzer target: tlsa_rr_parse on arbitrary wire RDATA, and the
 * invariants of what it accepts: the text form is "U S M hex" with
 * exactly the data in lower-case hex, it reads back through ldns and
 * tlsa_rr_from_ldns to the same record, tlsa_rr_usable_smtp agrees with
 * RFC 7672's list, and tlsa_rr_match against a fixed certificate says -1
 * exactly for unknown selectors and matching types.  tlsa_field_parse
 * gets the input as a string. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "tlsa.h"

static const char leaf_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIIByTCCAW6gAwIBAgICEAEwCgYIKoZIzj0EAwIwHTEbMBkGA1UEAwwSbXhraXQg\n"
"VW5pdCBUZXN0IENBMCAXDTI2MTIwMzAwMTQzN1oYDzIxMjYxMTA5MDAxNDM3WjAa\n"
"MRgwFgYDVQQDDA9teDEuZXhhbXBsZS5vcmcwWTATBgcqhkjOPQIBBggqhkjOPQMB\n"
"BwNCAASb/+nSamtgHwYh4YrcRY4FkSzRAJEr0UdNCrXfBOwumjG2+fjvCds5gang\n"
"J4O2Y3iAOtjsmvu9fA6PViO0HiZfo4GeMIGbMAkGA1UdEwQCMAAwOQYDVR0RBDIw\n"
"MIINKi5leGFtcGxlLm9yZ4IPTVgxLkV4YW1wbGUuT1JHgg5teC5leGFtcGxlLm9y\n"
"ZzATBgNVHSUEDDAKBggrBgEFBQcDATAfBgNVHSMEGDAWgBQaSO7t1Obijo1XPa9q\n"
"VBK9TtHUVTAdBgNVHQ4EFgQUiNL/72Bw3mXN3JTG7sTOiinenMQwCgYIKoZIzj0E\n"
"AwIDSQAwRgIhANszQ5dohN2hLifqvmhiV3Dw0U9SM8h7Rrctz77/TzudAiEAz1Oz\n"
"NFsdsRqxyPjLqHP6hAnmso5u7MNtYf9HDY/XXB4=\n"
"-----END CERTIFICATE-----\n";

static X509 *
leaf(void)
{
	static X509 *c;
	BIO *b;

	if (c == NULL) {
		if ((b = BIO_new_mem_buf(leaf_pem, -1)) == NULL)
			abort();
		c = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
		if (c == NULL)
			abort();
	}
	return c;
}

static void
check_text(const struct tlsa_rr *r, const char *t)
{
	static const char digits[] = "0123456789abcdef";
	char head[16];
	size_t h, i;

	h = (size_t)snprintf(head, sizeof(head), "%u %u %u ", r->usage,
	    r->selector, r->mtype);
	if (strncmp(t, head, h) != 0 || strlen(t) != h + 2 * r->len)
		abort();
	for (i = 0; i < r->len; i++)
		if (t[h + 2 * i] != digits[r->data[i] >> 4] ||
		    t[h + 2 * i + 1] != digits[r->data[i] & 15])
			abort();
}

/* The text form, read by ldns as a zone file line, comes back the same. */
static void
check_ldns(const struct tlsa_rr *r, const char *t)
{
	struct tlsa_rr back;
	const char *why = NULL;
	ldns_rr *rr = NULL;
	char *line;
	size_t n = strlen(t) + 32;

	if ((line = malloc(n)) == NULL)
		return;
	snprintf(line, n, "x. 60 IN TLSA %s", t);
	if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK) {
		if (tlsa_rr_from_ldns(rr, &back, &why) != 0)
			abort();
		if (back.usage != r->usage || back.selector != r->selector ||
		    back.mtype != r->mtype || back.len != r->len ||
		    memcmp(back.data, r->data, r->len) != 0)
			abort();
		tlsa_rr_free(&back);
	}
	ldns_rr_free(rr);
	free(line);
}

static void
check_usable(const struct tlsa_rr *r)
{
	const char *why = NULL;
	int want = (r->usage == 2 || r->usage == 3) && r->selector <= 1 &&
	    r->mtype <= 2;
	int got = tlsa_rr_usable_smtp(r, &why);

	if (got != want || (!got && (why == NULL || *why == '\0')))
		abort();
}

static void
check_match(const struct tlsa_rr *r)
{
	unsigned char *d;
	size_t n;
	int m = tlsa_rr_match(r, leaf()), want;

	if (r->selector > 1 || r->mtype > 2) {
		if (m != -1)
			abort();
		return;
	}
	if (tlsa_assoc(leaf(), r->selector, r->mtype, &d, &n) != 0)
		abort();
	want = n == r->len && memcmp(d, r->data, n) == 0;
	free(d);
	if (m != want)
		abort();
}

static void
check_field(const uint8_t *data, size_t size)
{
	char *s;
	int f, v;

	if ((s = strndup((const char *)data, size < 64 ? size : 64)) == NULL)
		return;
	for (f = TLSA_FIELD_USAGE; f <= TLSA_FIELD_MTYPE; f++) {
		v = tlsa_field_parse((enum tlsa_field)f, s);
		if (v < -1 || v > 255)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsa_rr r;
	const char *why = NULL;
	uint8_t *copy;
	char *t;

	/* An exact-size copy so that any read past len is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (tlsa_rr_parse(copy, size, &r, &why) != 0) {
		if (why == NULL || r.data != NULL || r.len != 0)
			abort();
	} else {
		if (r.len != size - 3 || r.len == 0 ||
		    (r.mtype == 1 && r.len != 32) ||
		    (r.mtype == 2 && r.len != 64))
			abort();
		if ((t = tlsa_rr_text(&r)) != NULL) {
			check_text(&r, t);
			check_ldns(&r, t);
			free(t);
		}
		check_usable(&r);
		check_match(&r);
		(void)tlsa_usage_name(r.usage);
		(void)tlsa_selector_name(r.selector);
		(void)tlsa_mtype_name(r.mtype);
		tlsa_rr_free(&r);
	}
	free(copy);
	check_field(data, size);
	return 0;
}
