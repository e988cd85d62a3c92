/* Unit tests for lib/ocsp (and ocsp_http's URL check): responses built
 * here with OpenSSL, each one breaking one rule of ocsp_check_der. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ocsp.h"
#include "ocsp_http.h"

#define DAY	86400L
#define NONE	LONG_MIN	/* no nextUpdate */

static time_t now;

/* The test PKI: ca issues leaf, other and responders; rogue is another
 * CA with a responder of its own. */
static EVP_PKEY *ca_key, *rsp_key, *rogue_key;
static X509 *ca, *leaf, *leaf2, *rsp, *rsp_noeku, *rsp_short, *rogue,
    *rogue_rsp;

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for cn with key, issued by issuer (NULL: self-signed)
 * under ikey, valid from now + from to now + to.  kind: "ca", "leaf",
 * "ocsp" (OCSPSigning), "plain" (a responder without the EKU). */
static X509 *
mkcert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    long serial, long from, long to, const char *kind)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &now);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (strcmp(kind, "ca") == 0) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
	}
	if (strcmp(kind, "leaf") == 0)
		add_ext(x, issuer, NID_info_access,
		    "OCSP;URI:http://ocsp.example.test/");
	if (strcmp(kind, "ocsp") == 0)
		add_ext(x, issuer, NID_ext_key_usage, "critical,OCSPSigning");
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static int
setup(void **state)
{
	EVP_PKEY *k;

	(void)state;
	now = time(NULL);
	ca_key = EVP_EC_gen("P-256");
	rsp_key = EVP_EC_gen("P-256");
	rogue_key = EVP_EC_gen("P-256");
	k = EVP_EC_gen("P-256");
	if (ca_key == NULL || rsp_key == NULL || rogue_key == NULL || k == NULL)
		return -1;
	ca = mkcert("Test CA", ca_key, NULL, ca_key, 1, -DAY, 3650 * DAY,
	    "ca");
	leaf = mkcert("mx.example.test", k, ca, ca_key, 100, -DAY, 90 * DAY,
	    "leaf");
	leaf2 = mkcert("mx2.example.test", k, ca, ca_key, 101, -DAY,
	    90 * DAY, "plain");
	rsp = mkcert("Responder", rsp_key, ca, ca_key, 200, -DAY, 365 * DAY,
	    "ocsp");
	rsp_noeku = mkcert("Responder without EKU", rsp_key, ca, ca_key, 201,
	    -DAY, 365 * DAY, "plain");
	rsp_short = mkcert("Responder expiring", rsp_key, ca, ca_key, 202,
	    -DAY, 3600, "ocsp");
	rogue = mkcert("Rogue CA", rogue_key, NULL, rogue_key, 1, -DAY,
	    3650 * DAY, "ca");
	rogue_rsp = mkcert("Responder", rsp_key, rogue, rogue_key, 300, -DAY,
	    365 * DAY, "ocsp");
	EVP_PKEY_free(k);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca);
	X509_free(leaf);
	X509_free(leaf2);
	X509_free(rsp);
	X509_free(rsp_noeku);
	X509_free(rsp_short);
	X509_free(rogue);
	X509_free(rogue_rsp);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(rsp_key);
	EVP_PKEY_free(rogue_key);
	return 0;
}

/* How to build one response. */
struct spec {
	X509		*about;		/* default leaf */
	const EVP_MD	*md;		/* CertID hash, default SHA-1 */
	int		 status;	/* V_OCSP_CERTSTATUS_* */
	int		 reason;
	long		 this_off, next_off;	/* from now; NONE */
	X509		*signer;	/* default rsp */
	EVP_PKEY	*key;		/* default rsp_key */
	unsigned long	 flags;		/* OCSP_NOCERTS, OCSP_RESPID_KEY */
	OCSP_REQUEST	*echo;		/* copy its nonce */
};

static unsigned char *
mkresp(const struct spec *s, size_t *len)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	ASN1_TIME *thisu, *nextu = NULL, *rev = NULL;
	OCSP_RESPONSE *r;
	OCSP_CERTID *id;
	unsigned char *der = NULL;
	int n;

	assert_non_null(bs);
	id = OCSP_cert_to_id(s->md ? s->md : EVP_sha1(),
	    s->about ? s->about : leaf, ca);
	assert_non_null(id);
	thisu = X509_time_adj_ex(NULL, 0, s->this_off, &now);
	if (s->next_off != NONE)
		nextu = X509_time_adj_ex(NULL, 0, s->next_off, &now);
	if (s->status == V_OCSP_CERTSTATUS_REVOKED)
		rev = X509_time_adj_ex(NULL, 0, -10, &now);
	assert_non_null(OCSP_basic_add1_status(bs, id, s->status, s->reason,
	    rev, thisu, nextu));
	if (s->echo != NULL)
		assert_int_equal(OCSP_copy_nonce(bs, s->echo), 1);
	assert_int_equal(OCSP_basic_sign(bs, s->signer ? s->signer : rsp,
	    s->key ? s->key : rsp_key, EVP_sha256(), NULL, s->flags), 1);
	assert_non_null(r = OCSP_response_create(
	    OCSP_RESPONSE_STATUS_SUCCESSFUL, bs));
	assert_true((n = i2d_OCSP_RESPONSE(r, &der)) > 0);
	*len = (size_t)n;
	OCSP_RESPONSE_free(r);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisu);
	ASN1_TIME_free(nextu);
	ASN1_TIME_free(rev);
	return der;
}

/* Build s, check it about cert (NULL: leaf); the verdict, st filled. */
static enum ocsp_verdict
check(const struct spec *s, X509 *cert, STACK_OF(X509) *extra,
    struct ocsp_status *st)
{
	unsigned char *der;
	size_t len;
	enum ocsp_verdict v;

	der = mkresp(s, &len);
	v = ocsp_check_der(der, len, cert ? cert : leaf, ca, extra, now,
	    OCSP_SKEW_DEFAULT, st);
	OPENSSL_free(der);
	return v;
}

static void
expect_invalid(const struct spec *s, const char *why)
{
	struct ocsp_status st;

	assert_int_equal(check(s, NULL, NULL, &st), OCSP_INVALID);
	assert_non_null(st.error);
	if (strstr(st.error, why) == NULL)
		fail_msg("error \"%s\", want \"%s\"", st.error, why);
}

/* A good answer, valid a day; a spec overrides what it tests. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif
#define GOOD	.status = V_OCSP_CERTSTATUS_GOOD, .reason = -1, \
		.this_off = -60, .next_off = DAY

static void
test_good_delegated(void **state)
{
	struct spec s = { GOOD };
	struct ocsp_status st;

	(void)state;
	assert_int_equal(check(&s, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(st.cert_status, V_OCSP_CERTSTATUS_GOOD);
	assert_true(st.delegated);
	assert_string_equal(st.responder, "CN=Responder");
	assert_true(st.this_update >= now - 61 && st.this_update <= now - 59);
	assert_true(st.next_update >= now + DAY - 1 &&
	    st.next_update <= now + DAY + 1);
	assert_true(st.responder_not_after > now + 364 * DAY);
	assert_int_equal(st.revocation_reason, -1);
	assert_int_equal(st.revocation_time, 0);
	assert_null(st.error);
}

static void
test_signed_by_ca(void **state)
{
	struct spec s = { GOOD, .signer = ca, .key = ca_key,
	    .flags = OCSP_NOCERTS };
	struct ocsp_status st;

	(void)state;
	/* No certificate in the response: the issuer is found anyway. */
	assert_int_equal(check(&s, NULL, NULL, &st), OCSP_VALID);
	assert_false(st.delegated);
	assert_string_equal(st.responder, "CN=Test CA");
}

static void
test_forms(void **state)
{
	struct spec bykey = { GOOD, .flags = OCSP_RESPID_KEY };
	struct spec sha256 = { GOOD, .md = EVP_sha256() };
	struct spec sha512 = { GOOD, .md = EVP_sha512(), .signer = ca,
	    .key = ca_key, .flags = OCSP_RESPID_KEY | OCSP_NOCERTS };
	struct ocsp_status st;

	(void)state;
	assert_int_equal(check(&bykey, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(check(&sha256, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(check(&sha512, NULL, NULL, &st), OCSP_VALID);
}

static void
test_revoked_unknown(void **state)
{
	struct spec rev = { GOOD, .status = V_OCSP_CERTSTATUS_REVOKED,
	    .reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE };
	struct spec unk = { GOOD, .status = V_OCSP_CERTSTATUS_UNKNOWN };
	struct ocsp_status st;

	(void)state;
	assert_int_equal(check(&rev, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(st.cert_status, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(st.revocation_reason, 1);
	assert_true(st.revocation_time >= now - 11 &&
	    st.revocation_time <= now - 9);
	assert_string_equal(ocsp_reason_name(st.revocation_reason),
	    "keyCompromise");
	assert_int_equal(check(&unk, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(st.cert_status, V_OCSP_CERTSTATUS_UNKNOWN);
}

static void
test_signer_rules(void **state)
{
	struct spec noeku = { GOOD, .signer = rsp_noeku };
	struct spec rogue_s = { GOOD, .signer = rogue_rsp };
	struct spec rogue_ca = { GOOD, .signer = rogue, .key = rogue_key };

	(void)state;
	expect_invalid(&noeku, "lacks id-kp-OCSPSigning");
	/* Same name and key as the real responder, another CA's. */
	expect_invalid(&rogue_s, "neither the issuer nor");
	expect_invalid(&rogue_ca, "neither the issuer nor");
}

static void
test_responder_pool(void **state)
{
	struct spec s = { GOOD, .flags = OCSP_NOCERTS };
	STACK_OF(X509) *extra = sk_X509_new_null();
	struct ocsp_status st;

	(void)state;
	expect_invalid(&s, "responder certificate not found");
	assert_non_null(extra);
	sk_X509_push(extra, rsp);
	assert_int_equal(check(&s, NULL, extra, &st), OCSP_VALID);
	assert_true(st.delegated);
	sk_X509_free(extra);
}

static void
test_times(void **state)
{
	struct spec nonext = { GOOD, .next_off = NONE };
	struct spec future = { GOOD, .this_off = 3600, .next_off = 2 * DAY };
	struct spec skewed = { GOOD, .this_off = 120 };
	struct spec stale = { GOOD, .this_off = -2 * DAY, .next_off = -DAY };
	struct spec backwards = { GOOD, .this_off = -60, .next_off = -120 };
	struct spec shortrsp = { GOOD, .signer = rsp_short };
	struct ocsp_status st;

	(void)state;
	expect_invalid(&nonext, "no nextUpdate");
	expect_invalid(&future, "is in the future");
	/* Two minutes ahead is within the default skew of five. */
	assert_int_equal(check(&skewed, NULL, NULL, &st), OCSP_VALID);
	assert_int_equal(check(&stale, NULL, NULL, &st), OCSP_STALE);
	assert_non_null(strstr(st.error, "has passed"));
	/* A stale proof is still read out. */
	assert_int_equal(st.cert_status, V_OCSP_CERTSTATUS_GOOD);
	assert_string_equal(st.responder, "CN=Responder");
	expect_invalid(&backwards, "before thisUpdate");
	expect_invalid(&shortrsp, "before nextUpdate");
}

static void
test_wrong_certificate(void **state)
{
	struct spec s = { GOOD };
	struct ocsp_status st;

	(void)state;
	assert_int_equal(check(&s, leaf2, NULL, &st), OCSP_INVALID);
	assert_non_null(strstr(st.error, "CertID mismatch"));
	assert_int_equal(st.cert_status, -1);
}

static void
test_bytes(void **state)
{
	struct spec s = { GOOD, .signer = ca, .key = ca_key,
	    .flags = OCSP_NOCERTS };
	unsigned char *der, *more, tryl[] = { 0x30, 0x03, 0x0a, 0x01, 0x03 };
	struct ocsp_status st;
	size_t len;

	(void)state;
	der = mkresp(&s, &len);
	assert_int_equal(ocsp_check_der(der, len - 1, leaf, ca, NULL, now, 300,
	    &st), OCSP_INVALID);
	assert_int_equal(ocsp_check_der(der, 0, leaf, ca, NULL, now, 300,
	    &st), OCSP_INVALID);
	assert_int_equal(ocsp_check_der(NULL, 10, leaf, ca, NULL, now, 300,
	    &st), OCSP_INVALID);
	assert_int_equal(ocsp_check_der(der, len, NULL, ca, NULL, now, 300,
	    &st), OCSP_INVALID);
	assert_non_null(more = malloc(len + 1));
	memcpy(more, der, len);
	more[len] = 0;
	assert_int_equal(ocsp_check_der(more, len + 1, leaf, ca, NULL, now,
	    300, &st), OCSP_INVALID);
	assert_string_equal(st.error, "bytes after the OCSP response");
	/* The last byte is the signature's. */
	more[len - 1] ^= 0x01;
	assert_int_equal(ocsp_check_der(more, len, leaf, ca, NULL, now, 300,
	    &st), OCSP_INVALID);
	assert_non_null(strstr(st.error, "bad signature"));
	free(more);
	OPENSSL_free(der);
	assert_int_equal(ocsp_check_der(tryl, sizeof(tryl), leaf, ca, NULL,
	    now, 300, &st), OCSP_INVALID);
	assert_non_null(strstr(st.error, "tryLater"));
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(ocsp_cert_status_name(V_OCSP_CERTSTATUS_GOOD),
	    "good");
	assert_string_equal(ocsp_cert_status_name(V_OCSP_CERTSTATUS_REVOKED),
	    "revoked");
	assert_string_equal(ocsp_cert_status_name(V_OCSP_CERTSTATUS_UNKNOWN),
	    "unknown");
	assert_null(ocsp_reason_name(-1));
	assert_string_equal(ocsp_reason_name(0), "unspecified");
	assert_string_equal(ocsp_reason_name(4), "superseded");
	assert_string_equal(ocsp_reason_name(7), "unspecified");
	assert_string_equal(ocsp_reason_name(10), "aACompromise");
	assert_string_equal(ocsp_reason_name(99), "unspecified");
}

static void
test_url_of(void **state)
{
	char *u;

	(void)state;
	assert_non_null(u = ocsp_url_of(leaf));
	assert_string_equal(u, "http://ocsp.example.test/");
	free(u);
	assert_null(ocsp_url_of(leaf2));
	assert_null(ocsp_url_of(NULL));
}

static void
test_issued_by(void **state)
{
	(void)state;
	assert_true(ocsp_issued_by(leaf, ca));
	assert_true(ocsp_issued_by(rsp, ca));
	assert_false(ocsp_issued_by(leaf, rogue));
	assert_false(ocsp_issued_by(rogue_rsp, ca));
	assert_false(ocsp_issued_by(NULL, ca));
}

static void
test_refresh(void **state)
{
	struct ocsp_refresh r;
	struct ocsp_status st = { .this_update = 1000000,
	    .next_update = 1000000 + 10 * 3600 };
	static const char *const bad[] = { "", "h", "10%%", "101%", "2x",
	    "-1", "1hh", "1 h", "%", "99999999999999999999" };
	size_t i;

	(void)state;
	assert_int_equal(ocsp_refresh_parse("10%", &r), 0);
	assert_int_equal(r.percent, 10);
	assert_int_equal(ocsp_refresh_parse("2h", &r), 0);
	assert_int_equal(r.percent, -1);
	assert_int_equal(r.seconds, 7200);
	assert_int_equal(ocsp_refresh_parse("30m", &r), 0);
	assert_int_equal(r.seconds, 1800);
	assert_int_equal(ocsp_refresh_parse("1d", &r), 0);
	assert_int_equal(r.seconds, 86400);
	assert_int_equal(ocsp_refresh_parse("45s", &r), 0);
	assert_int_equal(r.seconds, 45);
	assert_int_equal(ocsp_refresh_parse("3600", &r), 0);
	assert_int_equal(r.seconds, 3600);
	assert_int_equal(ocsp_refresh_parse("0%", &r), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ocsp_refresh_parse(bad[i], &r) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(ocsp_refresh_parse(NULL, &r), -1);

	/* 10 h of validity: 10% is the last hour. */
	ocsp_refresh_parse("10%", &r);
	assert_false(ocsp_refresh_due(&st, st.next_update - 3601, &r));
	assert_true(ocsp_refresh_due(&st, st.next_update - 3600, &r));
	assert_true(ocsp_refresh_due(&st, st.next_update + 5, &r));
	ocsp_refresh_parse("2h", &r);
	assert_false(ocsp_refresh_due(&st, st.next_update - 7201, &r));
	assert_true(ocsp_refresh_due(&st, st.next_update - 7200, &r));
	st.next_update = 0;
	assert_true(ocsp_refresh_due(&st, 0, &r));
}

static void
test_nonce(void **state)
{
	OCSP_REQUEST *req = ocsp_request_new(leaf, ca, 1);
	OCSP_REQUEST *plain = ocsp_request_new(leaf, ca, 0);
	OCSP_REQUEST *other = ocsp_request_new(leaf, ca, 1);
	struct spec echoed = { GOOD, .echo = req };
	struct spec bare = { GOOD };
	unsigned char *der, junk[] = "junk";
	size_t len;

	(void)state;
	assert_non_null(req);
	assert_non_null(plain);
	assert_non_null(other);
	der = mkresp(&echoed, &len);
	assert_int_equal(ocsp_nonce_echoed(req, der, len), 1);
	assert_int_equal(ocsp_nonce_echoed(other, der, len), 0);
	OPENSSL_free(der);
	der = mkresp(&bare, &len);
	assert_int_equal(ocsp_nonce_echoed(req, der, len), 0);
	OPENSSL_free(der);
	assert_int_equal(ocsp_nonce_echoed(req, junk, 4), -1);
	OCSP_REQUEST_free(req);
	OCSP_REQUEST_free(plain);
	OCSP_REQUEST_free(other);
}

static void
test_http_url(void **state)
{
	static const char *const good[] = { "http://ocsp.example.net",
	    "http://ocsp.example.net/", "http://127.0.0.1:8080/ocsp",
	    "http://[::1]:8888/" };
	static const char *const bad[] = { "https://ocsp.example.net/",
	    "ftp://x/", "ocsp.example.net", "http://", "http://a b/",
	    "http://x/\n", "http://user:pw@x/" };
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!ocsp_http_url_ok(good[i], &why))
			fail_msg("refused %s: %s", good[i], why);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ocsp_http_url_ok(bad[i], &why))
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
	}
	ocsp_http_url_ok("https://x/", &why);
	assert_non_null(strstr(why, "https is not supported"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_delegated),
		cmocka_unit_test(test_signed_by_ca),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_revoked_unknown),
		cmocka_unit_test(test_signer_rules),
		cmocka_unit_test(test_responder_pool),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_wrong_certificate),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_url_of),
		cmocka_unit_test(test_issued_by),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_http_url),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
