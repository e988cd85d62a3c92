/* Unit tests for lib/tlsa.
 *
 * The certificates below were made once with openssl (a P-256 CA, a leaf
 * it issued with SANs *.example.org, MX1.Example.ORG, mx.example.org, a
 * self-signed RSA certificate with only a CN, and a spare P-256 key), and
 * every expected digest was computed from them with openssl, not with
 * lib/tlsa:
 *   openssl x509 -in C -outform DER | openssl dgst -sha256
 *   openssl x509 -in C -pubkey -noout | openssl pkey -pubin -outform DER |
 *       openssl dgst -sha256
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tlsa.h"

static char tmpdir[] = "/tmp/mxkit-test-tlsa.XXXXXX";

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

static const char ca_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIIBoTCCAUegAwIBAgIUUE1dH2/1WjAJhEHq3TP8fw/VK0IwCgYIKoZIzj0EAwIw\n"
"HTEbMBkGA1UEAwwSbXhraXQgVW5pdCBUZXN0IENBMCAXDTI2MTIwMzAwMTQzN1oY\n"
"DzIxMjYxMTA5MDAxNDM3WjAdMRswGQYDVQQDDBJteGtpdCBVbml0IFRlc3QgQ0Ew\n"
"WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAShqbgETKS8A9ZrsBDPqWmPTEzfsIHu\n"
"UYSsSpNxKHPlDgXZCdKetzHPy1DcQR48E4t2xBKF4o/jMe2rWtoZcMXdo2MwYTAd\n"
"BgNVHQ4EFgQUGkju7dTm4o6NVz2valQSvU7R1FUwHwYDVR0jBBgwFoAUGkju7dTm\n"
"4o6NVz2valQSvU7R1FUwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw\n"
"CgYIKoZIzj0EAwIDSAAwRQIhAMrDhnDLA4fsn8Ip3ZEPczT/T0IYXboQpV0hRe6p\n"
"j1DSAiBJXPtGA/D7a+SDEDsjEFB5ZBzHgIDT5nkxoWuA44wf7g==\n"
"-----END CERTIFICATE-----\n";

/* Self-signed, no SAN, CN=Old.Example.NET. */
static const char cn_pem[] =
"-----BEGIN CERTIFICATE-----\n"
"MIICEjCCAXugAwIBAgIUOwFLmucHt+Nobn88yRLs6m7LtUAwDQYJKoZIhvcNAQEL\n"
"BQAwGjEYMBYGA1UEAwwPT2xkLkV4YW1wbGUuTkVUMCAXDTI2MTIwMzAwMTQzN1oY\n"
"DzIxMjYxMTA5MDAxNDM3WjAaMRgwFgYDVQQDDA9PbGQuRXhhbXBsZS5ORVQwgZ8w\n"
"DQYJKoZIhvcNAQEBBQADgY0AMIGJAoGBAMouR92W//ZDJbcHFUw+QdbwuOCpqrsC\n"
"bCQKB/1EARFSiylbwZZZzOZJtFqU9jy+ODoqkDmjMrqbTlp2TMzFh8xhGapRxkSB\n"
"eBgZpd5y6VLRdscH8qxknXiUepg+wj+3FctenKulroD/5m+Yj+qJG3Idh7kSCUm5\n"
"srkvn+Z8JCB3AgMBAAGjUzBRMB0GA1UdDgQWBBRlTFBNJRfXMB3kHaBB13DrS6RU\n"
"fjAfBgNVHSMEGDAWgBRlTFBNJRfXMB3kHaBB13DrS6RUfjAPBgNVHRMBAf8EBTAD\n"
"AQH/MA0GCSqGSIb3DQEBCwUAA4GBADUthFF1krIuA71N4vmZxhsYn5EOlVxoVa1D\n"
"E5e9KRBWTw4LIUpxCRfb+ZNHS74/w1AgUXbxnVa4N229knKOj3W6X6Vf+DmDde88\n"
"Rd6dYLyD31p5e4Lf409aceruRdqmeWCRpbAFeJEdhTx9So87tYJifiqG1eoCBz2O\n"
"KOSa7JK8\n"
"-----END CERTIFICATE-----\n";

/* The next key: private, public, and encrypted (passphrase "secret"). */
static const char next_key[] =
"-----BEGIN PRIVATE KEY-----\n"
"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggM3L+KmswUCic7hs\n"
"f974ChtoOHWOz6yC+lFlt0euQdahRANCAAThQwneAZ5AhvEACqJoOLWhSAAbpOfi\n"
"6GwPWNogixxe7JLBGSuI3XKZOU1TDmbOd/tKpND1oNpNiKXSiQ1SobGJ\n"
"-----END PRIVATE KEY-----\n";
static const char next_pub[] =
"-----BEGIN PUBLIC KEY-----\n"
"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4UMJ3gGeQIbxAAqiaDi1oUgAG6Tn\n"
"4uhsD1jaIIscXuySwRkriN1ymTlNUw5mznf7SqTQ9aDaTYil0okNUqGxiQ==\n"
"-----END PUBLIC KEY-----\n";
static const char next_enc[] =
"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
"MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhtxJx0dP5KTAICCAAw\n"
"DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEI2CHi1Sk8+m0DO0V8BPj70EgZCM\n"
"R0ILAz2A8xmuJd7m6BZlgSQ3xEQWxJamSoFC1viGYC11O29Ea+ZE33I3BV6QIiXP\n"
"9F09SnsdCtDiMjkL56JR+uqMvqnNU/bFMpRG+JR7Xy7CKJXM8dgp37S3NANn0puw\n"
"tN/TxeJiM2BjSG4gsRocJPA9yc/w1SlDZKI3kukDmsxWcc8kE3G/wcXwwCbUTUs=\n"
"-----END ENCRYPTED PRIVATE KEY-----\n";

/* openssl-computed association data. */
#define LEAF_CERT_256 \
	"8ae3f4b9b97dc5f355e8f1031c632c1163a747d84779bd28a6ebad690c3b5d4d"
#define LEAF_CERT_512 \
	"e499f3c1982d91e7560bd6dcc679ab5b91d67ed19afa9d1f87b1ac1219600d74" \
	"f8be9da5b14f70775c6bb6893cfeef23c7be8203ed44fcdca6d185c8eb2c86a9"
#define LEAF_SPKI \
	"3059301306072a8648ce3d020106082a8648ce3d030107034200049bffe9d26a" \
	"6b601f0621e18adc458e05912cd100912bd1474d0ab5df04ec2e9a31b6f9f8ef" \
	"09db3981a9e02783b66378803ad8ec9afbbd7c0e8f5623b41e265f"
#define LEAF_SPKI_256 \
	"03b97f4ce6c91638610731a266734ec36b3cfce5b26cf0159a0c0a51189c331e"
#define LEAF_SPKI_512 \
	"b412fa934560a0e223cced3a721264ad56a6018e59e63177c6db80fe51eab057" \
	"62c0f04398767d453a6fcb361439530ff48cd154b06c4c00323eca28aa55028b"
#define CA_CERT_256 \
	"55c7bf182304637224b261da9a98cee1cc9fd91c0353933dcf91ac56e76a5e7d"
#define CA_SPKI_256 \
	"89096e44c335c1ba3d44cc2dada651680fbbc30fcbaa41e11de74a001e0aa4ab"
#define CN_SPKI_256 \
	"00bb30cdaf17c79e544b62f66c262d5c4f35c8623f8e924ee57871d98094365e"
#define NEXT_SPKI_256 \
	"a549349435587f8b704566475b3f292f98fa9ff6c6916962fda884c580620cca"
#define NEXT_SPKI_512 \
	"262676366efc0aa3dcf4fc224ff348e435d6b012638311b775452f4ac4d3584a" \
	"1050fd2c9edfe8ef5232106f817ab04f155cfc92770d9894d524bbbfe1e39936"

#define LEAF_OWNER	"_25._tcp.mx1.example.org."

/* ---- helpers ---- */

static char *
hex(const unsigned char *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * n] = '\0';
	return s;
}

/* "a1b2..." -> bytes (malloc'd). */
static unsigned char *
unhex(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	unsigned char *p;

	assert_int_equal(len % 2, 0);
	assert_non_null(p = malloc(len / 2 + 1));
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		p[i] = (unsigned char)v;
	}
	*n = len / 2;
	return p;
}

/* The DER inside one PEM block, by base64-decoding it here (not with the
 * library under test's encoder). */
static unsigned char *
pem_der(const char *pem, size_t *n)
{
	char b64[4096];
	const char *p = strchr(pem, '\n') + 1, *end = strstr(pem, "\n-----END");
	unsigned char *der;
	size_t k = 0;
	int len;

	for (; p < end; p++)
		if (*p != '\n')
			b64[k++] = *p;
	b64[k] = '\0';
	assert_non_null(der = malloc(k));
	len = EVP_DecodeBlock(der, (unsigned char *)b64, (int)k);
	assert_true(len > 0);
	/* EVP_DecodeBlock counts the padding as data. */
	while (k > 0 && b64[--k] == '=')
		len--;
	*n = (size_t)len;
	return der;
}

static X509 *
cert_of(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *c;

	assert_non_null(b);
	c = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(c);
	return c;
}

/* tmpdir/name holding the texts given (NULL-terminated); a static path. */
static const char *
file_of(const char *name, ...)
{
	static char path[8][sizeof(tmpdir) + 64];
	static int slot;
	const char *s;
	va_list ap;
	FILE *fp;
	char *p = path[slot++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	assert_non_null(fp = fopen(p, "w"));
	va_start(ap, name);
	while ((s = va_arg(ap, const char *)) != NULL)
		assert_int_equal(fputs(s, fp) >= 0, 1);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
	return p;
}

/* Build wire RDATA u s m + data[0..n). */
static size_t
rdata(unsigned char *buf, unsigned u, unsigned s, unsigned m,
    const unsigned char *d, size_t n)
{
	buf[0] = (unsigned char)u;
	buf[1] = (unsigned char)s;
	buf[2] = (unsigned char)m;
	memcpy(buf + 3, d, n);
	return n + 3;
}

/* ---- parse ---- */

static void
test_parse_good(void **state)
{
	unsigned char buf[128], *d;
	struct tlsa_rr r;
	const char *why = NULL;
	size_t n, len;

	(void)state;
	d = unhex(LEAF_SPKI_256, &n);
	len = rdata(buf, 3, 1, 1, d, n);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	assert_int_equal(r.usage, 3);
	assert_int_equal(r.selector, 1);
	assert_int_equal(r.mtype, 1);
	assert_int_equal(r.len, 32);
	assert_memory_equal(r.data, d, 32);
	assert_true(r.data != buf + 3);		/* a copy */
	tlsa_rr_free(&r);
	assert_null(r.data);
	assert_int_equal(r.len, 0);
	tlsa_rr_free(&r);			/* zeroed: fine */
	tlsa_rr_free(NULL);
	free(d);

	/* SHA2-512: 64 octets */
	d = unhex(LEAF_SPKI_512, &n);
	len = rdata(buf, 2, 0, 2, d, n);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	assert_int_equal(r.len, 64);
	tlsa_rr_free(&r);
	free(d);

	/* Full: any length, even one octet */
	len = rdata(buf, 3, 0, 0, (const unsigned char *)"\x30", 1);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	assert_int_equal(r.len, 1);
	tlsa_rr_free(&r);
}

static void
test_parse_bad(void **state)
{
	unsigned char buf[128], zero[70] = { 0 };
	struct tlsa_rr r;
	const char *why;
	size_t len;

	(void)state;
	/* truncated: fewer than the three fields */
	buf[0] = 3, buf[1] = 1, buf[2] = 1;
	for (len = 0; len < 3; len++) {
		why = NULL;
		memset(&r, 0x55, sizeof(r));
		assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, "shorter"));
		assert_null(r.data);
	}
	assert_int_equal(tlsa_rr_parse(NULL, 0, &r, &why), -1);
	/* the fields and no association data */
	why = NULL;
	assert_int_equal(tlsa_rr_parse(buf, 3, &r, &why), -1);
	assert_string_equal(why, "no certificate association data");
	assert_null(r.data);
	len = rdata(buf, 3, 0, 0, zero, 0);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	/* digests of the wrong length */
	len = rdata(buf, 3, 1, 1, zero, 31);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	assert_string_equal(why, "SHA2-256 data is not 32 octets");
	len = rdata(buf, 3, 1, 1, zero, 33);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	len = rdata(buf, 3, 1, 1, zero, 64);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	len = rdata(buf, 3, 1, 2, zero, 32);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	assert_string_equal(why, "SHA2-512 data is not 64 octets");
	len = rdata(buf, 3, 1, 2, zero, 63);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), -1);
	assert_null(r.data);
}

/* RFC 7671 4.1: unknown values are unusable, not malformed. */
static void
test_parse_unknown(void **state)
{
	unsigned char buf[128], zero[40] = { 0 };
	struct tlsa_rr r;
	const char *why = NULL;
	size_t len;

	(void)state;
	len = rdata(buf, 4, 1, 1, zero, 32);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	assert_int_equal(r.usage, 4);
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_string_equal(why, "unknown certificate usage");
	tlsa_rr_free(&r);

	/* an unknown matching type takes data of any length */
	len = rdata(buf, 3, 1, 200, zero, 5);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	assert_int_equal(r.mtype, 200);
	assert_int_equal(r.len, 5);
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	tlsa_rr_free(&r);

	len = rdata(buf, 255, 255, 255, zero, 1);
	assert_int_equal(tlsa_rr_parse(buf, len, &r, &why), 0);
	tlsa_rr_free(&r);
}

static void
test_from_ldns(void **state)
{
	ldns_rr *rr = NULL;
	struct tlsa_rr r;
	const char *why = NULL;
	char *t;

	(void)state;
	assert_int_equal(ldns_rr_new_frm_str(&rr, LEAF_OWNER " 3600 IN TLSA "
	    "3 1 1 " LEAF_SPKI_256, 0, NULL, NULL), LDNS_STATUS_OK);
	assert_int_equal(tlsa_rr_from_ldns(rr, &r, &why), 0);
	assert_non_null(t = tlsa_rr_text(&r));
	assert_string_equal(t, "3 1 1 " LEAF_SPKI_256);
	free(t);
	tlsa_rr_free(&r);
	ldns_rr_free(rr);

	/* upper-case hex in, a digest of the wrong length */
	rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, "x. IN TLSA 2 0 1 ABCDEF",
	    0, NULL, NULL), LDNS_STATUS_OK);
	assert_int_equal(tlsa_rr_from_ldns(rr, &r, &why), -1);
	assert_string_equal(why, "SHA2-256 data is not 32 octets");
	ldns_rr_free(rr);

	rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, "x. IN TLSA 2 0 0 ABCDEF",
	    0, NULL, NULL), LDNS_STATUS_OK);
	assert_int_equal(tlsa_rr_from_ldns(rr, &r, &why), 0);
	assert_non_null(t = tlsa_rr_text(&r));
	assert_string_equal(t, "2 0 0 abcdef");
	free(t);
	tlsa_rr_free(&r);
	ldns_rr_free(rr);

	rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, "x. IN A 192.0.2.1", 0,
	    NULL, NULL), LDNS_STATUS_OK);
	assert_int_equal(tlsa_rr_from_ldns(rr, &r, &why), -1);
	assert_string_equal(why, "not a TLSA record");
	assert_null(r.data);
	ldns_rr_free(rr);
	assert_int_equal(tlsa_rr_from_ldns(NULL, &r, &why), -1);
}

/* ---- text, usable, names ---- */

static void
test_text(void **state)
{
	unsigned char big[1000];
	struct tlsa_rr r = { 3, 1, 1, NULL, 0 };
	size_t n, i;
	char *t;

	(void)state;
	r.data = unhex(LEAF_SPKI_256, &r.len);
	assert_non_null(t = tlsa_rr_text(&r));
	assert_string_equal(t, "3 1 1 " LEAF_SPKI_256);
	free(t);
	free(r.data);

	r.usage = 255, r.selector = 255, r.mtype = 255;
	r.data = (unsigned char *)"\x00\xff\x0a\xa0";
	r.len = 4;
	assert_non_null(t = tlsa_rr_text(&r));
	assert_string_equal(t, "255 255 255 00ff0aa0");
	free(t);

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)i;
	r.usage = 2, r.selector = 0, r.mtype = 0;
	r.data = big;
	r.len = sizeof(big);
	assert_non_null(t = tlsa_rr_text(&r));
	n = strlen(t);
	assert_int_equal(n, 6 + 2 * sizeof(big));
	assert_memory_equal(t, "2 0 0 00010203", 14);
	assert_string_equal(t + n - 4, "e6e7");	/* 999 = 0x3e7 */
	free(t);
}

static void
test_usable_smtp(void **state)
{
	struct tlsa_rr r = { 0, 1, 1, (unsigned char *)"x", 1 };
	const char *why;
	unsigned u, s, m;

	(void)state;
	why = NULL;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_non_null(strstr(why, "PKIX-TA"));
	assert_non_null(strstr(why, "RFC 7672"));
	r.usage = 1;
	why = NULL;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_non_null(strstr(why, "PKIX-EE"));
	for (u = 2; u <= 3; u++)
		for (s = 0; s <= 1; s++)
			for (m = 0; m <= 2; m++) {
				r.usage = (uint8_t)u;
				r.selector = (uint8_t)s;
				r.mtype = (uint8_t)m;
				assert_int_equal(tlsa_rr_usable_smtp(&r, &why),
				    1);
			}
	r.usage = 3, r.selector = 2, r.mtype = 1;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_string_equal(why, "unknown selector");
	r.selector = 255;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	r.selector = 1, r.mtype = 3;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_string_equal(why, "unknown matching type");
	r.usage = 2, r.mtype = 255;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	r.usage = 4, r.mtype = 1;
	assert_int_equal(tlsa_rr_usable_smtp(&r, &why), 0);
	assert_string_equal(why, "unknown certificate usage");
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(tlsa_usage_name(0), "PKIX-TA");
	assert_string_equal(tlsa_usage_name(1), "PKIX-EE");
	assert_string_equal(tlsa_usage_name(2), "DANE-TA");
	assert_string_equal(tlsa_usage_name(3), "DANE-EE");
	assert_null(tlsa_usage_name(4));
	assert_null(tlsa_usage_name(255));
	assert_string_equal(tlsa_selector_name(0), "Cert");
	assert_string_equal(tlsa_selector_name(1), "SPKI");
	assert_null(tlsa_selector_name(2));
	assert_string_equal(tlsa_mtype_name(0), "Full");
	assert_string_equal(tlsa_mtype_name(1), "SHA2-256");
	assert_string_equal(tlsa_mtype_name(2), "SHA2-512");
	assert_null(tlsa_mtype_name(3));
}

static void
test_field_parse(void **state)
{
	(void)state;
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "DANE-EE"), 3);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "dane-ee"), 3);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "Dane-Ta"), 2);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "pkix-ta"), 0);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "PKIX-EE"), 1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "3"), 3);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "0"), 0);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "03"), 3);
	/* numbers the RFCs leave unassigned still parse: the caller
	 * decides whether it can use them */
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "255"), 255);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "256"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE,
	    "99999999999999999999999"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "-1"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "+3"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, " 3"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "3 "), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "3x"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, ""), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, NULL), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "DANE"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "DANE-EEE"), -1);
	/* each field knows only its own names */
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_USAGE, "SPKI"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_SELECTOR, "DANE-EE"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_SELECTOR, "spki"), 1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_SELECTOR, "Cert"), 0);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_SELECTOR, "1"), 1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_MTYPE, "sha2-256"), 1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_MTYPE, "SHA2-512"), 2);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_MTYPE, "full"), 0);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_MTYPE, "SHA256"), -1);
	assert_int_equal(tlsa_field_parse(TLSA_FIELD_MTYPE, "2"), 2);
	assert_int_equal(tlsa_field_parse((enum tlsa_field)7, "1"), 1);
	assert_int_equal(tlsa_field_parse((enum tlsa_field)7, "Full"), -1);
}

/* ---- association data and matching ---- */

static void
check_assoc(X509 *c, unsigned s, unsigned m, const char *want)
{
	unsigned char *d = (unsigned char *)"junk";
	size_t n = 99;
	char *h;

	assert_int_equal(tlsa_assoc(c, s, m, &d, &n), 0);
	h = hex(d, n);
	assert_string_equal(h, want);
	free(h);
	free(d);
}

static void
test_assoc(void **state)
{
	X509 *leaf = cert_of(leaf_pem), *ca = cert_of(ca_pem);
	unsigned char *der, *d;
	size_t n, dn;
	char *want;

	(void)state;
	/* selector 0, Full: the DER of the certificate itself */
	der = pem_der(leaf_pem, &n);
	want = hex(der, n);
	check_assoc(leaf, 0, 0, want);
	free(want);
	free(der);
	check_assoc(leaf, 0, 1, LEAF_CERT_256);
	check_assoc(leaf, 0, 2, LEAF_CERT_512);
	check_assoc(leaf, 1, 0, LEAF_SPKI);
	check_assoc(leaf, 1, 1, LEAF_SPKI_256);
	check_assoc(leaf, 1, 2, LEAF_SPKI_512);
	check_assoc(ca, 0, 1, CA_CERT_256);
	check_assoc(ca, 1, 1, CA_SPKI_256);

	assert_int_equal(tlsa_assoc(leaf, 2, 1, &d, &dn), -1);
	assert_null(d);
	assert_int_equal(dn, 0);
	assert_int_equal(tlsa_assoc(leaf, 1, 3, &d, &dn), -1);
	assert_null(d);
	assert_int_equal(tlsa_assoc(NULL, 1, 1, &d, &dn), -1);

	/* a bare key: the same data as the certificate's SPKI */
	assert_int_equal(tlsa_assoc_pkey(X509_get0_pubkey(leaf), 1, &d, &dn),
	    0);
	want = hex(d, dn);
	assert_string_equal(want, LEAF_SPKI_256);
	free(want);
	free(d);
	assert_int_equal(tlsa_assoc_pkey(X509_get0_pubkey(leaf), 0, &d, &dn),
	    0);
	want = hex(d, dn);
	assert_string_equal(want, LEAF_SPKI);
	free(want);
	free(d);
	assert_int_equal(tlsa_assoc_pkey(X509_get0_pubkey(leaf), 3, &d, &dn),
	    -1);
	assert_int_equal(tlsa_assoc_pkey(NULL, 1, &d, &dn), -1);
	X509_free(leaf);
	X509_free(ca);
}

static void
check_match(X509 *c, unsigned u, unsigned s, unsigned m, const char *hx,
    int want)
{
	struct tlsa_rr r = { (uint8_t)u, (uint8_t)s, (uint8_t)m, NULL, 0 };

	r.data = unhex(hx, &r.len);
	assert_int_equal(tlsa_rr_match(&r, c), want);
	free(r.data);
}

static void
test_match(void **state)
{
	X509 *leaf = cert_of(leaf_pem), *ca = cert_of(ca_pem);
	unsigned char *der;
	size_t n;
	char *full;

	(void)state;
	check_match(leaf, 3, 1, 1, LEAF_SPKI_256, 1);
	check_match(leaf, 3, 1, 2, LEAF_SPKI_512, 1);
	check_match(leaf, 3, 1, 0, LEAF_SPKI, 1);
	check_match(leaf, 3, 0, 1, LEAF_CERT_256, 1);
	check_match(leaf, 3, 0, 2, LEAF_CERT_512, 1);
	der = pem_der(leaf_pem, &n);
	full = hex(der, n);
	check_match(leaf, 3, 0, 0, full, 1);
	check_match(ca, 3, 0, 0, full, 0);
	free(full);
	free(der);
	/* the usage plays no part in the data */
	check_match(leaf, 1, 1, 1, LEAF_SPKI_256, 1);
	check_match(ca, 2, 1, 1, CA_SPKI_256, 1);
	check_match(ca, 2, 0, 1, CA_CERT_256, 1);
	/* mismatches: another certificate, another selector, one bit */
	check_match(ca, 3, 1, 1, LEAF_SPKI_256, 0);
	check_match(leaf, 3, 0, 1, LEAF_SPKI_256, 0);
	check_match(leaf, 3, 1, 1,
	    "03b97f4ce6c91638610731a266734ec36b3cfce5b26cf0159a0c0a51189c331f",
	    0);
	check_match(leaf, 3, 1, 0, "3059", 0);	/* a prefix is no match */
	/* cannot be computed */
	check_match(leaf, 3, 2, 1, LEAF_SPKI_256, -1);
	check_match(leaf, 3, 1, 3, LEAF_SPKI_256, -1);
	X509_free(leaf);
	X509_free(ca);
}

/* ---- generation ---- */

/* Run tlsa_generate; expect status want. */
static int
gen(const char *cert, const char *next, unsigned u, unsigned s, unsigned m,
    const char *owner, struct tlsa_gen *g, char **err)
{
	struct tlsa_gen_opts o = TLSA_GEN_OPTS_DEFAULT;
	int rc;

	o.usage = u, o.selector = s, o.mtype = m, o.owner = owner;
	*err = (char *)"junk";
	rc = tlsa_generate(cert, next, &o, g, err);
	if (rc == 0) {
		assert_null(*err);
	} else {
		assert_non_null(*err);
		assert_null(strchr(*err, '\n'));
		assert_int_equal(g->nlines, 0);
		assert_int_equal(g->nwarn, 0);
		assert_null(g->lines);
		assert_null(g->warnings);
	}
	return rc;
}

/* One warning of g contains s. */
static int
has_warning(const struct tlsa_gen *g, const char *s)
{
	size_t i;

	for (i = 0; i < g->nwarn; i++)
		if (strstr(g->warnings[i], s) != NULL)
			return 1;
	return 0;
}

static void
test_generate_default(void **state)
{
	struct tlsa_gen g;
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	char *err;

	(void)state;
	assert_int_equal(gen(leaf, NULL, 3, 1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 1);
	/* the wildcard SAN is skipped, the next one is lower-cased */
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	assert_int_equal(g.nwarn, 0);
	tlsa_gen_free(&g);
	assert_null(g.lines);
	tlsa_gen_free(&g);
	tlsa_gen_free(NULL);

	/* o NULL: the defaults */
	err = NULL;
	assert_int_equal(tlsa_generate(leaf, NULL, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 1);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	tlsa_gen_free(&g);

	assert_int_equal(gen(leaf, NULL, 3, 1, 2, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 2 " LEAF_SPKI_512);
	assert_int_equal(g.nwarn, 0);
	tlsa_gen_free(&g);

	/* no SAN: the CN, lower-cased */
	assert_int_equal(gen(file_of("cn.pem", cn_pem, NULL), NULL, 3, 1, 1,
	    NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    "_25._tcp.old.example.net. IN TLSA 3 1 1 " CN_SPKI_256);
	tlsa_gen_free(&g);

	/* a key before the certificate is skipped */
	assert_int_equal(gen(file_of("keyfirst.pem", next_key, leaf_pem, NULL),
	    NULL, 3, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	tlsa_gen_free(&g);
}

static void
test_generate_owner(void **state)
{
	static const char *const bad[] = {
		"", "a b", "a..b", ".a", "a;b", "a\"b", "a(b", "a\\b",
		"$ORIGIN", "@", "a\tb", "a\nb", "\xc3\xa9.example",
		/* a label of 64 */
		("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"),
	};
	struct tlsa_gen g;
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	char *err, longname[300];
	size_t i;

	(void)state;
	assert_int_equal(gen(leaf, NULL, 3, 1, 1, "_25._tcp.mail.example.com",
	    &g, &err), 0);
	assert_string_equal(g.lines[0],
	    "_25._tcp.mail.example.com. IN TLSA 3 1 1 " LEAF_SPKI_256);
	tlsa_gen_free(&g);
	/* kept as given: a final dot is not doubled, case is kept */
	assert_int_equal(gen(leaf, NULL, 3, 1, 1, "_465._tcp.MX.Example.",
	    &g, &err), 0);
	assert_string_equal(g.lines[0],
	    "_465._tcp.MX.Example. IN TLSA 3 1 1 " LEAF_SPKI_256);
	tlsa_gen_free(&g);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gen(leaf, NULL, 3, 1, 1, bad[i], &g, &err),
		    EX_USAGE);
		assert_non_null(strstr(err, "not a domain name"));
		free(err);
	}
	/* 63 labels of 3 + dots: 252 is fine; over 253 is not */
	for (i = 0; i < 63; i++)
		memcpy(longname + 4 * i, "abc.", 4);
	longname[4 * 63 - 1] = '\0';		/* 251 octets */
	assert_int_equal(gen(leaf, NULL, 3, 1, 1, longname, &g, &err), 0);
	tlsa_gen_free(&g);
	longname[4 * 63 - 1] = '.';
	memcpy(longname + 4 * 63, "abc", 4);	/* 255 */
	assert_int_equal(gen(leaf, NULL, 3, 1, 1, longname, &g, &err),
	    EX_USAGE);
	free(err);

	/* no host name at all: the CA's CN has blanks */
	assert_int_equal(gen(file_of("ca.pem", ca_pem, NULL), NULL, 3, 1, 1,
	    NULL, &g, &err), EX_DATAERR);
	assert_non_null(strstr(err, "no host name"));
	assert_non_null(strstr(err, "ca.pem: "));
	free(err);
	assert_int_equal(gen(file_of("ca.pem", ca_pem, NULL), NULL, 3, 1, 1,
	    "mx.example.org", &g, &err), 0);
	assert_string_equal(g.lines[0],
	    "mx.example.org. IN TLSA 3 1 1 " CA_SPKI_256);
	tlsa_gen_free(&g);
}

/* Usage 2 and 0: the certificate that issued the leaf. */
static void
test_generate_issuer(void **state)
{
	struct tlsa_gen g;
	const char *chain = file_of("chain.pem", leaf_pem, ca_pem, NULL);
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	char *err;

	(void)state;
	assert_int_equal(gen(chain, NULL, 2, 1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 1);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 2 1 1 " CA_SPKI_256);
	/* the CA is a root: no warning about intermediates */
	assert_int_equal(g.nwarn, 0);
	tlsa_gen_free(&g);

	/* the issuer need not come right after the leaf */
	assert_int_equal(gen(file_of("chain3.pem", leaf_pem, cn_pem, ca_pem,
	    NULL), NULL, 2, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 2 1 1 " CA_SPKI_256);
	tlsa_gen_free(&g);

	assert_int_equal(gen(chain, NULL, 2, 0, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 2 0 1 " CA_CERT_256);
	assert_int_equal(g.nwarn, 1);
	assert_true(has_warning(&g, "2 0 x"));
	tlsa_gen_free(&g);

	assert_int_equal(gen(chain, NULL, 0, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 0 1 1 " CA_SPKI_256);
	assert_true(has_warning(&g, "unusable for SMTP"));
	tlsa_gen_free(&g);

	/* the chain's leaf is used for usage 3 */
	assert_int_equal(gen(chain, NULL, 3, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	tlsa_gen_free(&g);

	/* no issuer in the file */
	assert_int_equal(gen(leaf, NULL, 2, 1, 1, NULL, &g, &err), EX_DATAERR);
	assert_non_null(strstr(err, "leaf.pem: usage 2 needs"));
	free(err);
	assert_int_equal(gen(file_of("wrong.pem", leaf_pem, cn_pem, NULL),
	    NULL, 0, 1, 1, NULL, &g, &err), EX_DATAERR);
	free(err);
}

static void
test_generate_warnings(void **state)
{
	struct tlsa_gen g;
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	unsigned char *der;
	size_t n;
	char *err, *full, want[2048];

	(void)state;
	assert_int_equal(gen(leaf, NULL, 3, 0, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 0 1 " LEAF_CERT_256);
	assert_int_equal(g.nwarn, 1);
	assert_true(has_warning(&g, "3 0 x"));
	assert_true(has_warning(&g, "renewal"));
	tlsa_gen_free(&g);

	assert_int_equal(gen(leaf, NULL, 3, 1, 0, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0], LEAF_OWNER " IN TLSA 3 1 0 " LEAF_SPKI);
	assert_int_equal(g.nwarn, 1);
	assert_true(has_warning(&g, "matching type 0"));
	tlsa_gen_free(&g);

	assert_int_equal(gen(leaf, NULL, 3, 0, 0, NULL, &g, &err), 0);
	der = pem_der(leaf_pem, &n);
	full = hex(der, n);
	snprintf(want, sizeof(want), LEAF_OWNER " IN TLSA 3 0 0 %s", full);
	assert_string_equal(g.lines[0], want);
	assert_int_equal(g.nwarn, 2);
	free(full);
	free(der);
	tlsa_gen_free(&g);

	assert_int_equal(gen(leaf, NULL, 1, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 1 1 1 " LEAF_SPKI_256);
	assert_int_equal(g.nwarn, 1);
	assert_true(has_warning(&g, "usage 0/1"));
	tlsa_gen_free(&g);

	/* none of the warnings holds a line break or a "warning:" prefix */
	assert_int_equal(gen(file_of("chain.pem", leaf_pem, ca_pem, NULL),
	    NULL, 0, 0, 0, NULL, &g, &err), 0);
	assert_int_equal(g.nwarn, 2);	/* usage 0, mtype 0 */
	for (n = 0; n < g.nwarn; n++) {
		assert_null(strchr(g.warnings[n], '\n'));
		assert_null(strstr(g.warnings[n], "warning"));
	}
	tlsa_gen_free(&g);
}

static void
test_generate_rollover(void **state)
{
	struct tlsa_gen g;
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	const char *key = file_of("next.key", next_key, NULL);
	const char *pub = file_of("next.pub", next_pub, NULL);
	const char *chain = file_of("chain.pem", leaf_pem, ca_pem, NULL);
	char *err;

	(void)state;
	assert_int_equal(gen(leaf, key, 3, 1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 2);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	assert_string_equal(g.lines[1],
	    LEAF_OWNER " IN TLSA 3 1 1 " NEXT_SPKI_256);
	assert_int_equal(g.nwarn, 0);
	tlsa_gen_free(&g);

	assert_int_equal(gen(leaf, pub, 3, 1, 2, "x.example", &g, &err), 0);
	assert_int_equal(g.nlines, 2);
	assert_string_equal(g.lines[1],
	    "x.example. IN TLSA 3 1 2 " NEXT_SPKI_512);
	tlsa_gen_free(&g);

	/* a certificate as the next key: its SPKI */
	assert_int_equal(gen(leaf, file_of("nextcert.pem", ca_pem, NULL), 3,
	    1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 2);
	assert_string_equal(g.lines[1],
	    LEAF_OWNER " IN TLSA 3 1 1 " CA_SPKI_256);
	tlsa_gen_free(&g);

	/* with usage 2 the next line is still the leaf's next key, 3 1 M */
	assert_int_equal(gen(chain, key, 2, 1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 2);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 2 1 1 " CA_SPKI_256);
	assert_string_equal(g.lines[1],
	    LEAF_OWNER " IN TLSA 3 1 1 " NEXT_SPKI_256);
	tlsa_gen_free(&g);

	/* the same key again: one line and a warning */
	assert_int_equal(gen(leaf, leaf, 3, 1, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 1);
	assert_int_equal(g.nwarn, 1);
	assert_true(has_warning(&g, "next key is the current"));
	tlsa_gen_free(&g);
	/* ... but 3 0 1 does not survive a renewal: the 3 1 1 line stays */
	assert_int_equal(gen(leaf, leaf, 3, 0, 1, NULL, &g, &err), 0);
	assert_int_equal(g.nlines, 2);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 3 0 1 " LEAF_CERT_256);
	assert_string_equal(g.lines[1],
	    LEAF_OWNER " IN TLSA 3 1 1 " LEAF_SPKI_256);
	assert_true(has_warning(&g, "next key is the current"));
	assert_true(has_warning(&g, "3 0 x"));
	tlsa_gen_free(&g);

	/* an encrypted key, a file with no key */
	assert_int_equal(gen(leaf, file_of("enc.key", next_enc, NULL), 3, 1, 1,
	    NULL, &g, &err), EX_DATAERR);
	assert_non_null(strstr(err, "enc.key: no PEM certificate, public key "
	    "or unencrypted private key"));
	free(err);
	assert_int_equal(gen(leaf, file_of("junk", "hello\n", NULL), 3, 1, 1,
	    NULL, &g, &err), EX_DATAERR);
	free(err);
	assert_int_equal(gen(leaf, "/nonexistent/next.pem", 3, 1, 1, NULL, &g,
	    &err), EX_NOINPUT);
	assert_string_equal(err,
	    "/nonexistent/next.pem: No such file or directory");
	free(err);
}

static void
test_generate_errors(void **state)
{
	struct tlsa_gen g;
	const char *leaf = file_of("leaf.pem", leaf_pem, NULL);
	char *err, path[sizeof(tmpdir) + 16];
	FILE *fp;
	int i;

	(void)state;
	assert_int_equal(gen(leaf, NULL, 4, 1, 1, NULL, &g, &err), EX_USAGE);
	assert_string_equal(err, "certificate usage 4: not 0-3");
	free(err);
	assert_int_equal(gen(leaf, NULL, 3, 2, 1, NULL, &g, &err), EX_USAGE);
	assert_string_equal(err, "selector 2: not 0-1");
	free(err);
	assert_int_equal(gen(leaf, NULL, 3, 1, 3, NULL, &g, &err), EX_USAGE);
	assert_string_equal(err, "matching type 3: not 0-2");
	free(err);
	/* a usage error comes before the files are read */
	assert_int_equal(gen("/nonexistent", NULL, 3, 1, 255, NULL, &g, &err),
	    EX_USAGE);
	free(err);

	assert_int_equal(gen("/nonexistent/c.pem", NULL, 3, 1, 1, NULL, &g,
	    &err), EX_NOINPUT);
	assert_string_equal(err,
	    "/nonexistent/c.pem: No such file or directory");
	free(err);
	assert_int_equal(gen(tmpdir, NULL, 3, 1, 1, NULL, &g, &err),
	    EX_NOINPUT);
	free(err);
	/* a file name with a line break still makes one line */
	assert_int_equal(gen("/nonexistent/a\nb", NULL, 3, 1, 1, NULL, &g,
	    &err), EX_NOINPUT);
	assert_string_equal(err,
	    "/nonexistent/a?b: No such file or directory");
	free(err);
	/* a key is not a certificate */
	assert_int_equal(gen(file_of("key.pem", next_key, NULL), NULL, 3, 1, 1,
	    NULL, &g, &err), EX_DATAERR);
	assert_non_null(strstr(err, "key.pem: no PEM certificate"));
	free(err);
	assert_int_equal(gen(file_of("empty", "", NULL), NULL, 3, 1, 1, NULL,
	    &g, &err), EX_DATAERR);
	free(err);
	/* a broken certificate */
	assert_int_equal(gen(file_of("cut.pem", "-----BEGIN CERTIFICATE-----\n"
	    "MIIByTCCAW6gAwIBAgICEAEwCgYIKoZIzj0EAwIwHTEbMBkGA1UEAwwSbXhraXQg\n"
	    "-----END CERTIFICATE-----\n", NULL), NULL, 3, 1, 1, NULL, &g,
	    &err), EX_DATAERR);
	free(err);

	/* over 1 MiB */
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(leaf_pem, fp);
	for (i = 0; i < 21000; i++)
		fputs("# padding padding padding padding padding padding\n",
		    fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(gen(path, NULL, 3, 1, 1, NULL, &g, &err), EX_DATAERR);
	assert_non_null(strstr(err, "larger than 1 MiB"));
	free(err);
}

/* "-" (and NULL) read standard input. */
static void
test_generate_stdin(void **state)
{
	struct tlsa_gen g;
	const char *chain = file_of("chain.pem", leaf_pem, ca_pem, NULL);
	char *err;
	int saved, fd;

	(void)state;
	assert_true((saved = dup(0)) >= 0);
	assert_true((fd = open(chain, O_RDONLY)) >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	assert_int_equal(gen("-", NULL, 2, 1, 1, NULL, &g, &err), 0);
	assert_string_equal(g.lines[0],
	    LEAF_OWNER " IN TLSA 2 1 1 " CA_SPKI_256);
	tlsa_gen_free(&g);
	/* stdin is used up: no certificate the second time */
	assert_int_equal(gen(NULL, NULL, 3, 1, 1, NULL, &g, &err), EX_DATAERR);
	assert_string_equal(err, "stdin: no PEM certificate");
	free(err);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[sizeof(tmpdir) + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_from_ldns),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_usable_smtp),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_field_parse),
		cmocka_unit_test(test_assoc),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_generate_default),
		cmocka_unit_test(test_generate_owner),
		cmocka_unit_test(test_generate_issuer),
		cmocka_unit_test(test_generate_warnings),
		cmocka_unit_test(test_generate_rollover),
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_generate_stdin),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
