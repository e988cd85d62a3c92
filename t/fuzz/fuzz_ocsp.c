/* libFuzzer target: ocsp_check_der on arbitrary bytes, about a fixed
 * certificate and issuer.  The seeds in t/fuzz/ocsp/ are real responses
 * about that certificate from t/rig/pki.sh's `openssl ocsp` responders
 * (delegated and CA-signed, by key id, with a nonce, without nextUpdate,
 * a short-lived signer, no certificates, an unknown serial, revoked) and
 * two error statuses; FUZZ_NOW is when they were made, so that the seeds
 * reach the time checks and past them.  Invariants: whatever comes back
 * is a verdict the header names, with an error exactly when not valid;
 * the strings a caller prints are NUL-terminated and free of controls;
 * and the same input gives the same verdict twice. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "ocsp.h"

#define FUZZ_NOW	((time_t)1796258110LL + 60)

static const char leaf_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIIB6jCCAZGgAwIBAgICEAMwCgYIKoZIzj0EAwIwIDEeMBwGA1UEAwwVbXhraXQg\n"
"VGVzdCBJc3N1aW5nIENBMB4XDTI2MTIwMzAwMzUxMFoXDTI3MTIwMzAwMzUxMFow\n"
"GDEWMBQGA1UEAwwNbXgxLmZ1enoudGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
"A0IABFbumJDXzY5cm7hRgPLqamSGs+3k/j4OoNu6cKS9BiMbwDz5e+3CALMi3QD2\n"
"P58O+SJlnSJGKoJPUy2Y7XHPjoGjgcIwgb8wCQYDVR0TBAIwADAOBgNVHQ8BAf8E\n"
"BAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYEFPLo/Ns4HzbJli6G\n"
"gRK8al+Xs9rbMB8GA1UdIwQYMBaAFEfP9JpMaBVoXsqU2cVpjMNXgA6WMBgGA1Ud\n"
"EQQRMA+CDW14MS5mdXp6LnRlc3QwMwYIKwYBBQUHAQEEJzAlMCMGCCsGAQUFBzAB\n"
"hhdodHRwOi8vMTI3LjAuMC4xOjUwMTQ1LzAKBggqhkjOPQQDAgNHADBEAiAJaoEH\n"
"IxFebcnoeDKkWZYj85YYXRxb44X3MrU7DY/LxQIgPqyL87xT792e4N4I91u+x+Bc\n"
"6NuN2NyptZBzGrKdeEs=\n"
"-----END CERTIFICATE-----\n";

static const char issuer_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIIBkzCCATmgAwIBAgICAQAwCgYIKoZIzj0EAwIwHTEbMBkGA1UEAwwSbXhraXQg\n"
"VGVzdCBSb290IENBMB4XDTI2MTIwMzAwMzUxMFoXDTMxMTIwMjAwMzUxMFowIDEe\n"
"MBwGA1UEAwwVbXhraXQgVGVzdCBJc3N1aW5nIENBMFkwEwYHKoZIzj0CAQYIKoZI\n"
"zj0DAQcDQgAEC+V/mw0ALC6PkoLo4qw+7HNJ1uM8FRe6crcD18jloPvSTReW/QsJ\n"
"ePpjDNCD0gLhmIueKbWw4nDNnXKhYN+JaqNmMGQwEgYDVR0TAQH/BAgwBgEB/wIB\n"
"ADAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFEfP9JpMaBVoXsqU2cVpjMNXgA6W\n"
"MB8GA1UdIwQYMBaAFA4/9jA6uOyh4zu07WSFgonZElyoMAoGCCqGSM49BAMCA0gA\n"
"MEUCIQCcc3X844v5fjq2tlphVHEL4I05GorykzcXHRhn+dJPvQIgSp5X7M6vLwIA\n"
"FmPQ+0TY2Y1I8+Li7YTBchJJlSMmsek=\n"
"-----END CERTIFICATE-----\n";

static X509 *leaf, *issuer;
static STACK_OF(X509) *extra;

static X509 *
load(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

static void
clean_string(const char *s, size_t size)
{
	size_t i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
	if (i == size)
		abort();
}

static void
invariants(enum ocsp_verdict v, const struct ocsp_status *st)
{
	if (v != OCSP_VALID && v != OCSP_INVALID && v != OCSP_STALE)
		abort();
	if ((v == OCSP_VALID) != (st->error == NULL))
		abort();
	if (st->error != NULL)
		clean_string(st->error, 4096);
	clean_string(st->responder, sizeof(st->responder));
	if (v == OCSP_VALID && (st->next_update == 0 ||
	    st->next_update < st->this_update ||
	    st->cert_status < 0 || st->cert_status > 2 ||
	    st->responder_not_after < st->next_update))
		abort();
	if (ocsp_cert_status_name(st->cert_status) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ocsp_status a, b;
	enum ocsp_verdict va, vb;
	uint8_t *copy;

	if (leaf == NULL) {
		leaf = load(leaf_pem);
		issuer = load(issuer_pem);
		if ((extra = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(extra, issuer))
			abort();
	}
	/* An exact-size copy so that any read past size is caught. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	va = ocsp_check_der(copy, size, leaf, issuer, NULL, FUZZ_NOW,
	    OCSP_SKEW_DEFAULT, &a);
	invariants(va, &a);
	vb = ocsp_check_der(copy, size, leaf, issuer, extra, FUZZ_NOW,
	    OCSP_SKEW_DEFAULT, &b);
	invariants(vb, &b);
	/* The issuer is looked for anyway: extra adds nothing here. */
	if (va != vb || a.cert_status != b.cert_status)
		abort();
	free(copy);
	return 0;
}
