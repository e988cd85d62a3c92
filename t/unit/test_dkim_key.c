/* Unit tests for dkim_key_parse (RFC 6376 3.6.1, RFC 8463). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dkim.h"

/* RFC 6376 appendix C: a 1024-bit RSA SubjectPublicKeyInfo. */
#define RSA_SPKI "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/" \
	"DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v" \
	"/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToI" \
	"MmPSPDdQPNUYckcQ2QIDAQAB"
/* The same key as a bare PKCS#1 RSAPublicKey. */
#define RSA_PKCS1 "MIGJAoGBAPAhE/9QLdIGwSYapn1klbf8OQygZ4udCDV9afv/Ni0jE3ZKcU" \
	"KPE4Iob2/dviNh9xM2HmKNKyrrfW4Ei0truh36/9G10LZTMnWVZP3jupH5FxpzaBu2" \
	"j80yonR/N9WMfg64qGK11j21/qZzAaNo0FxZOggyY9I8N1A81RhyRxDZAgMBAAE="
/* RFC 8463 appendix A.2. */
#define ED_RAW "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define ED_SPKI "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
/* A P-256 key: valid DER, wrong type for DKIM. */
#define EC_SPKI "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+KmvbDGgL0Pr4XGWxDnizDhx" \
	"J4+L3TWwyPbJPpbgi+xxHWYxmG2nTKVuMo8nbR/YbNNij6BRhyppCzp1QmV/rw=="
/* A 512-bit RSA key: parses; refusing it is the verifier's job. */
#define RSA512 "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMJW+QP4a8E7EfrfDXaSKP1+FoQ7i" \
	"hnqGE5ZS3u3CTRJV/KgSjVkaP7ZSRJRCooq7JBJoZJN1IQf6F+w5cMl9N8CAwEAAQ=="

static void
expect_ok(const char *txt, struct dkim_key *key)
{
	const char *why = NULL;

	if (dkim_key_parse(txt, strlen(txt), key, &why) != 0)
		fail_msg("failed (%s): %s", why, txt);
}

static void
expect_fail(const char *txt, const char *want)
{
	struct dkim_key key;
	const char *why = NULL;

	if (dkim_key_parse(txt, strlen(txt), &key, &why) != -1)
		fail_msg("parsed: %s", txt);
	assert_non_null(why);
	if (want != NULL)
		assert_string_equal(why, want);
	assert_null(key.pkey);
	assert_null(key.ktype);
	dkim_key_free(&key);
}

static void
test_rfc6376_record(void **state)
{
	struct dkim_key key;

	(void)state;
	expect_ok("v=DKIM1; p=" RSA_SPKI, &key);
	assert_int_equal(key.hashes, DKIM_HASH_SHA1 | DKIM_HASH_SHA256);
	assert_string_equal(key.ktype, "rsa");
	assert_string_equal(key.notes, "");
	assert_string_equal(key.srvtype, "*");
	assert_string_equal(key.granularity, "*");
	assert_string_equal(key.flags, "");
	assert_int_equal(key.testing, 0);
	assert_int_equal(key.nosubdomains, 0);
	assert_int_equal(key.revoked, 0);
	assert_int_equal(key.plen, 162);
	assert_non_null(key.pkey);
	assert_int_equal(EVP_PKEY_get_base_id(key.pkey), EVP_PKEY_RSA);
	assert_int_equal(key.bits, 1024);
	dkim_key_free(&key);
	assert_null(key.pkey);
	assert_null(key.ktype);
	assert_int_equal(key.bits, 0);
}

static void
test_every_tag(void **state)
{
	struct dkim_key key;

	(void)state;
	expect_ok("v=DKIM1; h=sha256; k=rsa; n=Call=20us at=3D home;"
	    " s=email; t=y:s; g=joe*; p=" RSA_SPKI, &key);
	assert_int_equal(key.hashes, DKIM_HASH_SHA256);
	assert_string_equal(key.ktype, "rsa");
	assert_string_equal(key.notes, "Call us at= home");
	assert_string_equal(key.srvtype, "email");
	assert_string_equal(key.granularity, "joe*");
	assert_string_equal(key.flags, "y:s");
	assert_int_equal(key.testing, 1);
	assert_int_equal(key.nosubdomains, 1);
	assert_non_null(key.pkey);
	dkim_key_free(&key);
}

static void
test_hashes(void **state)
{
	static const struct {
		const char *h;
		unsigned want;
	} cases[] = {
		{ "sha1", DKIM_HASH_SHA1 },
		{ "sha256", DKIM_HASH_SHA256 },
		{ "sha1:sha256", DKIM_HASH_SHA1 | DKIM_HASH_SHA256 },
		{ "sha512 : sha256", DKIM_HASH_SHA256 },
		{ "sha512", 0 },
		{ "", 0 },
	};
	char buf[1024];
	struct dkim_key key;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "h=%s; p=%s", cases[i].h, RSA_SPKI);
		expect_ok(buf, &key);
		assert_int_equal(key.hashes, cases[i].want);
		dkim_key_free(&key);
	}
}

static void
test_flags(void **state)
{
	static const struct {
		const char *t;
		int y, s;
	} cases[] = {
		{ "y", 1, 0 }, { "s", 0, 1 }, { "s:y", 1, 1 }, { "x:y", 1, 0 },
		{ "", 0, 0 }, { "yes", 0, 0 },
	};
	char buf[1024];
	struct dkim_key key;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "t=%s; p=%s", cases[i].t, RSA_SPKI);
		expect_ok(buf, &key);
		assert_int_equal(key.testing, cases[i].y);
		assert_int_equal(key.nosubdomains, cases[i].s);
		assert_string_equal(key.flags, cases[i].t);
		dkim_key_free(&key);
	}
}

static void
test_revoked(void **state)
{
	struct dkim_key key;

	(void)state;
	expect_ok("v=DKIM1; p=", &key);
	assert_int_equal(key.revoked, 1);
	assert_null(key.pkey);
	assert_int_equal(key.bits, 0);
	dkim_key_free(&key);
	expect_ok("v=DKIM1; k=ed25519; p= ;", &key);
	assert_int_equal(key.revoked, 1);
	dkim_key_free(&key);
}

static void
test_bad_records(void **state)
{
	(void)state;
	expect_fail("v=DKIM1; k=rsa", "missing tag p");
	expect_fail("", "missing tag p");
	expect_fail("v=DKIM2; p=" RSA_SPKI, "not a DKIM1 key record");
	expect_fail("v=dkim1; p=" RSA_SPKI, "not a DKIM1 key record");
	expect_fail("p=" RSA_SPKI "; v=DKIM1", "v= is not the first tag");
	expect_fail("v=spf1 -all", NULL);
	expect_fail("v=DKIM1; p=" RSA_SPKI "; p=", "duplicate tag");
	expect_fail("v=DKIM1; p=MIGf!", "bad base64 in tag p");
	expect_fail("v=DKIM1; p=A", "bad base64 in tag p");
	expect_fail("v=DKIM1; p=AAAA=", "bad base64 in tag p");
	expect_fail("v=DKIM1; p=AAAAAAAAAAAA", "bad RSA key in p=");
	expect_fail("v=DKIM1; p=" EC_SPKI, "key in p= is not RSA");
	expect_fail("v=DKIM1; p=" ED_SPKI, "key in p= is not RSA");
	/* Truncated DER. */
	expect_fail("v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP",
	    "bad RSA key in p=");
}

static void
test_rsa_forms(void **state)
{
	struct dkim_key key;

	(void)state;
	expect_ok("k=rsa; p=" RSA_PKCS1, &key);
	assert_non_null(key.pkey);
	assert_int_equal(EVP_PKEY_get_base_id(key.pkey), EVP_PKEY_RSA);
	assert_int_equal(key.bits, 1024);
	dkim_key_free(&key);
	expect_ok("p=" RSA512, &key);
	assert_int_equal(key.bits, 512);
	dkim_key_free(&key);
	/* TXT strings joined with white space, as some publishers do. */
	expect_ok("v=DKIM1; k=rsa;\r\n p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ"
	    " KBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
	    "\tIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v"
	    " /RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi"
	    " tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB", &key);
	assert_int_equal(key.bits, 1024);
	dkim_key_free(&key);
}

static void
test_ed25519(void **state)
{
	static const unsigned char raw[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
		0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
		0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
	};
	unsigned char got[32];
	size_t glen = sizeof(got);
	struct dkim_key key;

	(void)state;
	expect_ok("v=DKIM1; k=ed25519; p=" ED_RAW, &key);
	assert_string_equal(key.ktype, "ed25519");
	assert_int_equal(key.plen, 32);
	assert_memory_equal(key.p, raw, 32);
	assert_non_null(key.pkey);
	assert_int_equal(EVP_PKEY_get_base_id(key.pkey), EVP_PKEY_ED25519);
	assert_int_equal(EVP_PKEY_get_raw_public_key(key.pkey, got, &glen), 1);
	assert_int_equal(glen, 32);
	assert_memory_equal(got, raw, 32);
	assert_true(key.bits > 0);
	dkim_key_free(&key);
	/* An SPKI is tolerated. */
	expect_ok("k=ed25519; p=" ED_SPKI, &key);
	assert_int_equal(EVP_PKEY_get_base_id(key.pkey), EVP_PKEY_ED25519);
	dkim_key_free(&key);
	expect_fail("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==",
	    "bad Ed25519 key in p=");
	expect_fail("k=ed25519; p=" RSA_SPKI, "bad Ed25519 key in p=");
}

static void
test_unknown_key_type(void **state)
{
	struct dkim_key key;

	(void)state;
	/* Not an error: the verifier finds that k= does not match a=. */
	expect_ok("v=DKIM1; k=dsa; p=AAAA", &key);
	assert_string_equal(key.ktype, "dsa");
	assert_int_equal(key.revoked, 0);
	assert_null(key.pkey);
	assert_int_equal(key.bits, 0);
	dkim_key_free(&key);
}

static void
test_syntax(void **state)
{
	(void)state;
	expect_fail("v=DKIM1; p", NULL);
	expect_fail("v=DKIM1;; p=" RSA_SPKI, NULL);
	expect_fail("v=DKIM1; 9=x; p=" RSA_SPKI, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_record),
		cmocka_unit_test(test_every_tag),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_rsa_forms),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_unknown_key_type),
		cmocka_unit_test(test_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
