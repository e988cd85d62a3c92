/* test_dkim_verify: lib/dkim_verify.c.  Every enum dkim_reason is produced
 * on purpose, the policy checks are shown to pass once switched off, and the
 * RFC 8463 appendix A message verifies with its published keys.  Keys come
 * from a zone file written here; names outside it go to a local UDP socket
 * that never answers (a key lookup timeout). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "authres.h"
#include "dkim.h"
#include "test_dkim.h"
#include "dns.h"
#include "msg.h"

#define NOW ((time_t)1700000000)

static EVP_PKEY *rsa, *ed, *rsa512;
static char zonepath[] = "/tmp/test_dkim_verify.zone.XXXXXX";
static int blackhole = -1;
static char resolver[64];

static const char MSG[] =
    DKIM_TEST_MSG;

/* RFC 8463 appendix A.3, byte for byte (lines end CRLF). */
static const char RFC8463_MSG[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";

/* RFC 8463 appendix A.2, as the zone file lines publish them. */
static const char RFC8463_ZONE[] =
    "football.example.com. IN SOA ns.football.example.com. "
    "hostmaster.football.example.com. 1 3600 600 86400 300\n"
    "brisbane._domainkey.football.example.com. IN TXT (\n"
    "  \"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\" )\n"
    "test._domainkey.football.example.com. IN TXT (\n"
    "  \"v=DKIM1; k=rsa; \"\n"
    "  \"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3id\"\n"
    "  \"Y6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/\"\n"
    "  \"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOT\"\n"
    "  \"IKT+l/K4w3QIDAQAB\" )\n";

/* ---- helpers ---- */

static char *
b64(const unsigned char *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* The public half as p= wants it. */
static char *
pubkey_b64(EVP_PKEY *k)
{
	unsigned char raw[64], *der = NULL;
	size_t rawlen = sizeof raw;
	char *s;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519) {
		assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &rawlen),
		    1);
		return b64(raw, rawlen);
	}
	int n = i2d_PUBKEY(k, &der);
	assert_true(n > 0);
	s = b64(der, (size_t)n);
	OPENSSL_free(der);
	return s;
}

/* Sign by hand: tags is everything before bh= (h= included), names the h=
 * list again (colon-separated), so any tag set, algorithm or hash can be
 * made, rsa-sha1 included.  Returns the signed message. */
static char *
hand_sign(const char *text, const char *tags, const char *names,
    enum dkim_canon hc, enum dkim_canon bc, long long l, enum dkim_algo a,
    EVP_PKEY *key)
{
	struct msg m;
	struct dkim_buf scratch = { NULL, 0, 0 };
	unsigned char bh[EVP_MAX_MD_SIZE], dig[EVP_MAX_MD_SIZE], sig[1024];
	unsigned bhlen = 0, dlen = 0;
	size_t slen = sizeof sig;
	const char *why;
	char *h[64], *list, *bh64, *field, *sig64, *out;
	size_t nh = 0;

	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, text, strlen(text), &why), 0);
	assert_int_equal(dkim_body_hash(m.body, m.body_len, bc, l, dkim_md(a),
	    bh, &bhlen, NULL), 0);
	bh64 = b64(bh, bhlen);
	field = malloc(strlen(tags) + strlen(bh64) + 64);
	assert_non_null(field);
	sprintf(field, "DKIM-Signature: %s; bh=%s; b=", tags, bh64);
	list = strdup(names);
	for (char *save = NULL, *t = strtok_r(list, ":", &save); t && nh < 64;
	    t = strtok_r(NULL, ":", &save))
		h[nh++] = t;
	assert_int_equal(dkim_header_hash(&m, h, nh, hc, field, strlen(field),
	    dkim_md(a), &scratch, dig, &dlen), 0);
	if (a == DKIM_ED25519_SHA256) {
		EVP_MD_CTX *mc = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(mc, NULL, NULL, NULL, key),
		    1);
		assert_int_equal(EVP_DigestSign(mc, sig, &slen, dig, dlen), 1);
		EVP_MD_CTX_free(mc);
	} else {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key, NULL);
		assert_int_equal(EVP_PKEY_sign_init(pc), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc,
		    a == DKIM_RSA_SHA1 ? EVP_sha1() : EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_sign(pc, sig, &slen, dig, dlen), 1);
		EVP_PKEY_CTX_free(pc);
	}
	sig64 = b64(sig, slen);
	out = malloc(strlen(field) + strlen(sig64) + strlen(text) + 3);
	assert_non_null(out);
	sprintf(out, "%s%s\r\n%s", field, sig64, text);
	free(sig64);
	free(field);
	free(bh64);
	free(list);
	dkim_buf_free(&scratch);
	msg_free(&m);
	return out;
}

/* The usual signature: rsa-sha256 relaxed/relaxed over From:To:Subject. */
static char *
sign_std(const char *sel, const char *extra, long long l, EVP_PKEY *key,
    enum dkim_algo a)
{
	char tags[512];

	snprintf(tags, sizeof tags, "v=1; a=%s; c=relaxed/relaxed; "
	    "d=example.com; s=%s; t=%lld;%s h=From:To:Subject",
	    dkim_algo_name(a), sel, (long long)NOW, extra ? extra : "");
	return hand_sign(MSG, tags, "From:To:Subject", DKIM_RELAXED,
	    DKIM_RELAXED, l, a, key);
}

static char *
dkim_sign_text(const char *text, const char *sel, EVP_PKEY *key,
    const char *identity)
{
	struct dkim_signer s;
	struct msg m;
	const char *why = NULL;
	char *field = NULL, *out;

	memset(&s, 0, sizeof s);
	s.domain = "example.com";
	s.selector = sel;
	s.key = key;
	s.hcanon = s.bcanon = DKIM_RELAXED;
	s.identity = identity;
	s.timestamp = 1;
	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, text, strlen(text), &why), 0);
	if (dkim_sign(&m, &s, NOW, "\r\n", &field, &why) != 0)
		fail_msg("dkim_sign: %s", why);
	msg_free(&m);
	out = test_cat(field, text);
	free(field);
	return out;
}

/* Exactly one signature, with this outcome. */
static void
expect1(const char *text, unsigned policy, time_t now, enum dkim_status st,
    enum dkim_reason why, const char *authres)
{
	struct dkim_results r;

	test_verify(text, policy, now, 0, &r);
	assert_int_equal(r.n, 1);
	test_outcome(&r.r[0], st, why);
	if (authres)
		assert_string_equal(dkim_authres_result(&r.r[0]), authres);
	/* Exim's variables are never NULL. */
	const char *s[] = { r.r[0].cur_signer, r.r[0].domain,
	    r.r[0].identity, r.r[0].selector, r.r[0].algo,
	    r.r[0].canon_body, r.r[0].canon_headers, r.r[0].copiedheaders,
	    r.r[0].headernames, r.r[0].key_srvtype, r.r[0].key_granularity,
	    r.r[0].key_notes, r.r[0].b_text };
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		assert_non_null(s[i]);
	dkim_results_free(&r);
}

#define PASS(t, pol)	expect1(t, pol, NOW, DKIM_PASS, DKIM_R_NONE, "pass")

/* ---- setup ---- */

static void
txt(FILE *f, const char *name, const char *fmt, const char *p)
{
	char rec[4096];

	snprintf(rec, sizeof rec, fmt, p);
	fprintf(f, "%s._domainkey.example.com. IN TXT (", name);
	for (size_t i = 0; i < strlen(rec); i += 255)
		fprintf(f, " \"%.255s\"", rec + i);
	fprintf(f, " )\n");
}

static int
setup(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	int fd;
	FILE *f;

	(void)state;
	if (test_keys_new(&rsa, &ed, &rsa512) != 0)
		return -1;

	/* A resolver that never answers: lookups outside the zones time
	 * out. */
	blackhole = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (blackhole < 0 || bind(blackhole, (struct sockaddr *)&sin,
	    sizeof sin) != 0 ||
	    getsockname(blackhole, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	snprintf(resolver, sizeof resolver, "127.0.0.1:%u",
	    ntohs(sin.sin_port));

	char *prsa = pubkey_b64(rsa), *ped = pubkey_b64(ed),
	    *p512 = pubkey_b64(rsa512);
	if ((fd = mkstemp(zonepath)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "$TTL 300\n"
	    "example.com. IN SOA ns.example.com. hostmaster.example.com. "
	    "1 3600 600 86400 300\n");
	txt(f, "rsa", "v=DKIM1; k=rsa; p=%s", prsa);
	txt(f, "ed", "v=DKIM1; k=ed25519; p=%s", ped);
	txt(f, "short", "v=DKIM1; k=rsa; p=%s", p512);
	txt(f, "revoked", "v=DKIM1; k=rsa; p=%s", "");
	txt(f, "bad", "v=DKIM1; k=rsa; p=%s", "MIIBIjANBgkqhkiG9w0BAQEFAAOC");
	txt(f, "badsyntax", "%s", "v=DKIM1; k=rsa; p=MIIB; p=again");
	txt(f, "hsha1", "v=DKIM1; k=rsa; h=sha1; p=%s", prsa);
	txt(f, "sfoo", "v=DKIM1; k=rsa; s=foo; p=%s", prsa);
	txt(f, "semail", "v=DKIM1; k=rsa; s=foo:email; p=%s", prsa);
	txt(f, "tsub", "v=DKIM1; k=rsa; t=s; p=%s", prsa);
	txt(f, "edforrsa", "v=DKIM1; k=ed25519; p=%s", ped);
	txt(f, "notes", "v=DKIM1; k=rsa; t=y; n=hello=20world; g=*; p=%s",
	    prsa);
	/* Two records: the first is not a key; the second is used. */
	txt(f, "multi", "%s", "v=spf1 -all");
	txt(f, "multi", "v=DKIM1; k=rsa; p=%s", prsa);
	fprintf(f, "nodata._domainkey.example.com. IN A 192.0.2.1\n");
	fputs(RFC8463_ZONE, f);
	fclose(f);
	free(prsa);
	free(ped);
	free(p512);

	struct dns_opts o = { resolver, 300, 0, 0, 1 };
	return test_dns_start(&o, zonepath);
}

static int
teardown(void **state)
{
	(void)state;
	if (blackhole >= 0)
		close(blackhole);
	test_stop(rsa, ed, rsa512, zonepath);
	return 0;
}

/* ---- tests ---- */

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(dkim_status_name(DKIM_NONE), "none");
	assert_string_equal(dkim_status_name(DKIM_INVALID), "invalid");
	assert_string_equal(dkim_status_name(DKIM_FAIL), "fail");
	assert_string_equal(dkim_status_name(DKIM_PASS), "pass");
	assert_string_equal(dkim_reason_name(DKIM_R_NONE), "");
	assert_string_equal(dkim_reason_name(DKIM_R_PUBKEY_UNAVAILABLE),
	    "pubkey_unavailable");
	assert_string_equal(dkim_reason_name(DKIM_R_SIGNATURE_INCORRECT),
	    "signature_incorrect");
	assert_string_equal(dkim_reason_name(DKIM_R_KEY_NOSUBDOMAINS),
	    "key_nosubdomains");
	assert_string_equal(dkim_reason_name(DKIM_R_TOO_MANY), "too_many");
	/* every reason has its own name */
	for (int i = DKIM_R_PUBKEY_UNAVAILABLE; i <= DKIM_R_TOO_MANY; i++) {
		assert_true(strlen(dkim_reason_name(i)) > 0);
		for (int j = DKIM_R_NONE; j < i; j++)
			assert_string_not_equal(dkim_reason_name(i),
			    dkim_reason_name(j));
	}
}

static void
test_pass_and_variables(void **state)
{
	struct dkim_results r;
	char *t;

	(void)state;
	t = sign_std("notes", " l=30; x=1700086400; z=From:joe|To:x;", 30,
	    rsa, DKIM_RSA_SHA256);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.nsigs, 1);
	struct dkim_result *x = &r.r[0];
	assert_int_equal(x->status, DKIM_PASS);
	assert_int_equal(x->temperror, 0);
	assert_string_equal(x->cur_signer, "");
	assert_string_equal(x->domain, "example.com");
	assert_string_equal(x->identity, "@example.com");
	assert_string_equal(x->selector, "notes");
	assert_string_equal(x->algo, "rsa-sha256");
	assert_string_equal(x->canon_body, "relaxed");
	assert_string_equal(x->canon_headers, "relaxed");
	assert_string_equal(x->copiedheaders, "From:joe|To:x");
	assert_string_equal(x->headernames, "From:To:Subject");
	assert_int_equal(x->bodylength, 30);
	assert_int_equal(x->created, (long long)NOW);
	assert_int_equal(x->expires, 1700086400LL);
	assert_int_equal(x->key_testing, 1);
	assert_int_equal(x->key_nosubdomains, 0);
	assert_string_equal(x->key_srvtype, "*");
	assert_string_equal(x->key_granularity, "*");
	assert_string_equal(x->key_notes, "hello world");
	assert_int_equal(x->key_length, 2048);
	assert_int_equal(x->historic, 0);
	assert_true(strlen(x->b_text) > 300);
	dkim_results_free(&r);
	free(t);

	/* Verified twice: the second time the key comes from the cache. */
	t = sign_std("ed", NULL, -1, ed, DKIM_ED25519_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
	/* Several TXT records: the first that is a DKIM key is used. */
	t = sign_std("multi", NULL, -1, rsa, DKIM_RSA_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
	/* Key s= lists email among others. */
	t = sign_std("semail", NULL, -1, rsa, DKIM_RSA_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
}

static void
test_no_signature(void **state)
{
	struct dkim_results r;
	char *s;

	(void)state;
	test_verify(MSG, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.nsigs, 0);
	s = dkim_signers(&r);
	assert_string_equal(s, "");
	free(s);
	dkim_results_free(&r);
}

static void
test_tampered(void **state)
{
	char *t, *u;

	(void)state;
	t = sign_std("rsa", NULL, -1, rsa, DKIM_RSA_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	u = strdup(t);
	*strstr(u, "hungry") = 'H';
	expect1(u, DKIM_POLICY_DEFAULT, NOW, DKIM_FAIL,
	    DKIM_R_BODYHASH_MISMATCH, "fail");
	strcpy(u, t);
	*strstr(u, "dinner") = 'D';
	expect1(u, DKIM_POLICY_DEFAULT, NOW, DKIM_FAIL,
	    DKIM_R_SIGNATURE_INCORRECT, "fail");
	/* The RSA contexts kept with a cached key are as good after a
	 * failure as before. */
	for (int i = 0; i < 12; i++) {
		PASS(t, DKIM_POLICY_DEFAULT);
		expect1(u, DKIM_POLICY_DEFAULT, NOW, DKIM_FAIL,
		    DKIM_R_SIGNATURE_INCORRECT, "fail");
	}
	/* An unsigned header may change. */
	strcpy(u, t);
	*strstr(u, "20030712040037") = '3';
	PASS(u, DKIM_POLICY_DEFAULT);
	/* Relaxed: whitespace and case in headers do not matter. */
	free(u);
	u = strdup(t);
	char *p = strstr(u, "Subject: Is");
	memcpy(p, "SUBJECT:\tIs", 11);
	PASS(u, DKIM_POLICY_DEFAULT);
	free(u);
	free(t);
}

static void
test_key_problems(void **state)
{
	/* Each selector's record (see setup) and what it does to a
	 * signature; ed25519 keys cannot check rsa-sha256 nor rsa keys
	 * ed25519-sha256. */
	const struct {
		const char *sel;
		EVP_PKEY *key;
		enum dkim_algo a;
		enum dkim_reason why;
	} c[] = {
		{ "missing", rsa, DKIM_RSA_SHA256, DKIM_R_PUBKEY_UNAVAILABLE },
		{ "nodata", rsa, DKIM_RSA_SHA256, DKIM_R_PUBKEY_UNAVAILABLE },
		{ "bad", rsa, DKIM_RSA_SHA256, DKIM_R_PUBKEY_SYNTAX },
		{ "badsyntax", rsa, DKIM_RSA_SHA256, DKIM_R_PUBKEY_SYNTAX },
		{ "revoked", rsa, DKIM_RSA_SHA256, DKIM_R_KEY_REVOKED },
		{ "edforrsa", rsa, DKIM_RSA_SHA256, DKIM_R_KEY_TYPE_MISMATCH },
		{ "rsa", ed, DKIM_ED25519_SHA256, DKIM_R_KEY_TYPE_MISMATCH },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *t = sign_std(c[i].sel, NULL, -1, c[i].key, c[i].a);

		expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID, c[i].why,
		    "permerror");
		free(t);
	}
}

static void
test_temperror(void **state)
{
	struct dkim_results r;
	char tags[256], *t;

	(void)state;
	snprintf(tags, sizeof tags, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=tempfail.test; s=sel; h=From");
	t = hand_sign(MSG, tags, "From", DKIM_RELAXED, DKIM_RELAXED, -1,
	    DKIM_RSA_SHA256, rsa);
	test_verify(t, DKIM_POLICY_DEFAULT & ~DKIM_POLICY_IDENTITY, NOW, 0,
	    &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.r[0].status, DKIM_INVALID);
	assert_int_equal(r.r[0].reason, DKIM_R_PUBKEY_UNAVAILABLE);
	assert_int_equal(r.r[0].temperror, 1);
	assert_string_equal(dkim_authres_result(&r.r[0]), "temperror");
	dkim_results_free(&r);
	free(t);
}

static void
test_key_flags(void **state)
{
	unsigned nokf = DKIM_POLICY_DEFAULT & ~DKIM_POLICY_KEYFLAGS;
	char *t;

	(void)state;
	/* key h=sha1 only, signature uses sha256 */
	t = sign_std("hsha1", NULL, -1, rsa, DKIM_RSA_SHA256);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID,
	    DKIM_R_KEY_HASH_MISMATCH, "permerror");
	PASS(t, nokf);
	free(t);
	t = sign_std("sfoo", NULL, -1, rsa, DKIM_RSA_SHA256);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID,
	    DKIM_R_KEY_SERVICE_MISMATCH, "permerror");
	PASS(t, nokf);
	free(t);
	/* key t=s: i= must be exactly d= */
	t = dkim_sign_text(MSG, "tsub", rsa, "joe@sub.example.com");
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID,
	    DKIM_R_KEY_NOSUBDOMAINS, "permerror");
	PASS(t, nokf);
	free(t);
	t = dkim_sign_text(MSG, "tsub", rsa, "joe@example.com");
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
}

static void
test_rfc8301(void **state)
{
	unsigned off = DKIM_POLICY_DEFAULT & ~DKIM_POLICY_RFC8301;
	struct dkim_results r;
	char *t;

	(void)state;
	t = sign_std("rsa", NULL, -1, rsa, DKIM_RSA_SHA1);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.r[0].status, DKIM_FAIL);
	assert_int_equal(r.r[0].reason, DKIM_R_ALGORITHM_HISTORIC);
	assert_int_equal(r.r[0].historic, 1);
	assert_string_equal(r.r[0].algo, "rsa-sha1");
	assert_string_equal(dkim_authres_result(&r.r[0]), "policy");
	dkim_results_free(&r);
	/* Allowed: it verifies, and is still flagged. */
	test_verify(t, off, NOW, 0, &r);
	assert_int_equal(r.r[0].status, DKIM_PASS);
	assert_int_equal(r.r[0].historic, 1);
	dkim_results_free(&r);
	/* The hash is really checked: tampering still fails. */
	*strstr(t, "dinner") = 'D';
	expect1(t, off, NOW, DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT, "fail");
	free(t);

	t = sign_std("short", NULL, -1, rsa512, DKIM_RSA_SHA256);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.r[0].status, DKIM_FAIL);
	assert_int_equal(r.r[0].reason, DKIM_R_KEY_TOO_SHORT);
	assert_int_equal(r.r[0].key_length, 512);
	assert_string_equal(dkim_authres_result(&r.r[0]), "policy");
	dkim_results_free(&r);
	PASS(t, off);
	/* A lower minimum lets it through with the policy on. */
	struct dkim_verify_opts o = { NOW, DKIM_POLICY_DEFAULT, 0, 0, 512 };
	struct msg m;
	const char *why;
	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, t, strlen(t), &why), 0);
	assert_int_equal(dkim_verify(&m, &o, &r), 0);
	assert_int_equal(r.r[0].status, DKIM_PASS);
	dkim_results_free(&r);
	msg_free(&m);
	free(t);
}

static void
test_times(void **state)
{
	char *t;

	(void)state;
	/* x= in the past */
	t = sign_std("rsa", " x=1700000100;", -1, rsa, DKIM_RSA_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	expect1(t, DKIM_POLICY_DEFAULT, NOW + 101, DKIM_FAIL,
	    DKIM_R_SIGNATURE_EXPIRED, "policy");
	expect1(t, DKIM_POLICY_DEFAULT & ~DKIM_POLICY_EXPIRY, NOW + 101,
	    DKIM_PASS, DKIM_R_NONE, "pass");
	free(t);
	/* t= too far ahead; a little skew is fine */
	t = sign_std("rsa", NULL, -1, rsa, DKIM_RSA_SHA256);
	expect1(t, DKIM_POLICY_DEFAULT, NOW - 200, DKIM_PASS, DKIM_R_NONE,
	    "pass");
	expect1(t, DKIM_POLICY_DEFAULT, NOW - 301, DKIM_INVALID,
	    DKIM_R_SIGNATURE_FUTURE, "permerror");
	expect1(t, DKIM_POLICY_DEFAULT & ~DKIM_POLICY_FUTURE, NOW - 86400,
	    DKIM_PASS, DKIM_R_NONE, "pass");
	free(t);
}

static void
test_identity_and_from(void **state)
{
	char *t;

	(void)state;
	t = sign_std("rsa", " i=joe@example.org;", -1, rsa, DKIM_RSA_SHA256);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID,
	    DKIM_R_IDENTITY_MISMATCH, "permerror");
	PASS(t, DKIM_POLICY_DEFAULT & ~DKIM_POLICY_IDENTITY);
	free(t);
	/* "badexample.com" is not within "example.com" */
	t = sign_std("rsa", " i=@badexample.com;", -1, rsa, DKIM_RSA_SHA256);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID,
	    DKIM_R_IDENTITY_MISMATCH, "permerror");
	free(t);
	t = sign_std("rsa", " i=joe@Mail.Example.COM;", -1, rsa,
	    DKIM_RSA_SHA256);
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);

	char tags[256];
	snprintf(tags, sizeof tags, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=rsa; h=To:Subject");
	t = hand_sign(MSG, tags, "To:Subject", DKIM_SIMPLE, DKIM_SIMPLE, -1,
	    DKIM_RSA_SHA256, rsa);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_FAIL,
	    DKIM_R_FROM_NOT_SIGNED, "policy");
	PASS(t, DKIM_POLICY_DEFAULT & ~DKIM_POLICY_FROM);
	free(t);
}

static void
test_body_length(void **state)
{
	char tags[256], *t;

	(void)state;
	/* The canonical relaxed body is 54 bytes. */
	snprintf(tags, sizeof tags, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; l=54; h=From");
	t = hand_sign(MSG, tags, "From", DKIM_RELAXED, DKIM_RELAXED, 54,
	    DKIM_RSA_SHA256, rsa);
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
	snprintf(tags, sizeof tags, "v=1; a=rsa-sha256; c=relaxed/relaxed; "
	    "d=example.com; s=rsa; l=55; h=From");
	t = hand_sign(MSG, tags, "From", DKIM_RELAXED, DKIM_RELAXED, -1,
	    DKIM_RSA_SHA256, rsa);
	expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_FAIL, DKIM_R_BODY_LENGTH,
	    "fail");
	free(t);
	/* l=0 signs no body at all. */
	snprintf(tags, sizeof tags, "v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=rsa; l=0; h=From");
	t = hand_sign(MSG, tags, "From", DKIM_SIMPLE, DKIM_SIMPLE, 0,
	    DKIM_RSA_SHA256, rsa);
	*strstr(t, "hungry") = 'H';
	PASS(t, DKIM_POLICY_DEFAULT);
	free(t);
}

static void
test_unsupported(void **state)
{
	static const struct {
		const char *tags;
		enum dkim_reason why;
	} c[] = {
		{ "v=2; a=rsa-sha256; d=example.com; s=rsa; h=From",
		    DKIM_R_UNSUPPORTED_VERSION },
		{ "v=1; a=rsa-sha512; d=example.com; s=rsa; h=From",
		    DKIM_R_UNSUPPORTED_ALGORITHM },
		{ "v=1; a=rsa-sha256; c=fancy/simple; d=example.com; s=rsa; "
		    "h=From", DKIM_R_UNSUPPORTED_CANON },
		{ "v=1; a=rsa-sha256; q=http/well-known; d=example.com; s=rsa; "
		    "h=From", DKIM_R_UNSUPPORTED_QUERY },
		{ "v=1; a=rsa-sha256; s=rsa; h=From",
		    DKIM_R_SIGNATURE_SYNTAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		char *t = hand_sign(MSG, c[i].tags, "From", DKIM_SIMPLE,
		    DKIM_SIMPLE, -1, DKIM_RSA_SHA256, rsa);
		expect1(t, DKIM_POLICY_DEFAULT, NOW, DKIM_INVALID, c[i].why,
		    "permerror");
		free(t);
	}
	/* What could be read is still shown. */
	struct dkim_results r;
	char *t = hand_sign(MSG, c[1].tags, "From", DKIM_SIMPLE, DKIM_SIMPLE,
	    -1, DKIM_RSA_SHA256, rsa);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_string_equal(r.r[0].domain, "example.com");
	assert_string_equal(r.r[0].selector, "rsa");
	assert_string_equal(r.r[0].algo, "rsa-sha512");
	dkim_results_free(&r);
	free(t);
}

static void
test_too_many(void **state)
{
	struct dkim_results r;
	char *one, *t, *u;

	(void)state;
	one = sign_std("ed", NULL, -1, ed, DKIM_ED25519_SHA256);
	/* one's signature field, repeated: 21 copies of a good signature */
	size_t flen = (size_t)(strstr(one, "From: Joe") - one);
	t = malloc(21 * flen + sizeof MSG);
	assert_non_null(t);
	for (size_t i = 0; i < 21; i++)
		memcpy(t + i * flen, one, flen);
	strcpy(t + 21 * flen, MSG);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.n, 21);
	assert_int_equal(r.nsigs, 21);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(r.r[i].status, DKIM_PASS);
	assert_int_equal(r.r[20].status, DKIM_INVALID);
	assert_int_equal(r.r[20].reason, DKIM_R_TOO_MANY);
	assert_string_equal(dkim_authres_result(&r.r[20]), "neutral");
	assert_string_equal(r.r[20].domain, "example.com");
	dkim_results_free(&r);
	/* A smaller limit. */
	u = t + 18 * flen;
	test_verify(u, DKIM_POLICY_DEFAULT, NOW, 2, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.r[1].status, DKIM_PASS);
	assert_int_equal(r.r[2].reason, DKIM_R_TOO_MANY);
	dkim_results_free(&r);
	free(t);
	free(one);
}

/* Results of a verify must be sane whatever the input. */
static void
verify_any(const char *text, size_t len)
{
	struct dkim_verify_opts o = { NOW, DKIM_POLICY_DEFAULT, 0, 0, 0 };
	struct dkim_results r;
	struct msg m;
	const char *why;

	memset(&m, 0, sizeof m);
	if (msg_parse(&m, text, len, &why) != 0) {
		msg_free(&m);
		return;
	}
	assert_int_equal(dkim_verify(&m, &o, &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		assert_true(r.r[i].status >= DKIM_NONE &&
		    r.r[i].status <= DKIM_PASS);
		assert_non_null(r.r[i].domain);
		assert_non_null(r.r[i].b_text);
		assert_non_null(dkim_authres_result(&r.r[i]));
	}
	char *s = dkim_signers(&r);
	assert_non_null(s);
	free(s);
	dkim_results_free(&r);
	msg_free(&m);
}

static void
test_malformed(void **state)
{
	static const char *values[] = {
		"", ";", ";;;;", "=", "==;==", "v", "v=", "v=1", "b=", "b",
		"v=1; a=rsa-sha256; d=; s=; h=; bh=; b=",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; bh=%%%; b=!!",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; "
		    "bh=AAAA; b=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; l=-5; "
		    "bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; "
		    "l=99999999999999999999999; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; "
		    "t=99999999999999999999; x=1; bh=AAAA; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=:::; "
		    "bh=AAAA; b=AAAA",
		"v=1; a=ed25519-sha256; d=example.com; s=ed; h=From; "
		    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		"v=1; a=rsa-sha256; d=example.com; s=rsa; h=From; "
		    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
		"\x01\x02\x03\xff\xfe",
		"v=1; a=rsa-sha256; d=example.com\x00; s=rsa; h=From",
	};
	char buf[8192];

	(void)state;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		int n = snprintf(buf, sizeof buf, "DKIM-Signature: %s\r\n%s",
		    values[i], MSG);
		verify_any(buf, (size_t)n);
	}
	/* A long d= (the key name would exceed 255 bytes), a huge h=. */
	char *big = malloc(200000);
	assert_non_null(big);
	strcpy(big, "DKIM-Signature: v=1; a=rsa-sha256; s=rsa; bh=AAAA; b=AAAA; "
	    "h=From; d=");
	for (int i = 0; i < 100; i++)
		strcat(big, "abcdefghij.");
	strcat(big, "com\r\n");
	strcat(big, MSG);
	verify_any(big, strlen(big));
	strcpy(big, "DKIM-Signature: v=1; a=rsa-sha256; s=rsa; d=example.com; "
	    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA; h=From");
	for (int i = 0; i < 5000; i++)
		strcat(big, ":From");
	strcat(big, "\r\n");
	strcat(big, MSG);
	verify_any(big, strlen(big));
	free(big);

	/* Every truncation and many byte flips of a good signature. */
	char *good = sign_std("rsa", " x=1800000000; l=54; i=@example.com;",
	    54, rsa, DKIM_RSA_SHA256);
	size_t flen = (size_t)(strstr(good, "\r\nFrom: Joe") - good);
	for (size_t cut = 16; cut < flen; cut++) {
		int n = snprintf(buf, sizeof buf, "%.*s\r\n%s", (int)cut, good,
		    MSG);
		verify_any(buf, (size_t)n);
	}
	unsigned seed = 12345;
	static const char junk[] = ";= \t\r\n:@.AZaz09+/\x80\xff\0";
	for (int i = 0; i < 400; i++) {
		memcpy(buf, good, flen);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = 16 + (seed >> 8) % (flen - 16);
			seed = seed * 1103515245u + 12345u;
			buf[at] = junk[(seed >> 8) % (sizeof junk - 1)];
		}
		int n = snprintf(buf + flen, sizeof buf - flen, "\r\n%s", MSG);
		verify_any(buf, flen + (size_t)n);
	}
	free(good);
}

static void
test_signers(void **state)
{
	struct dkim_results r;
	char *a, *b, *t, *s;

	(void)state;
	/* rsa (i=joe@example.com), ed (default i=), and a broken one */
	a = dkim_sign_text(MSG, "rsa", rsa, "joe@example.com");
	b = dkim_sign_text(a, "ed", ed, NULL);
	t = test_cat("DKIM-Signature: v=1; a=rsa-sha256; d=other.example; "
	    "s=x; h=From; bh=AAAA; b=AAAA; i=@other.example\r\n", b);
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.r[0].status, DKIM_INVALID);
	assert_int_equal(r.r[1].status, DKIM_PASS);
	assert_int_equal(r.r[2].status, DKIM_PASS);
	s = dkim_signers(&r);
	assert_string_equal(s, "other.example:@other.example:example.com:"
	    "@example.com:joe@example.com");
	free(s);

	assert_int_equal(dkim_select_signers(&r, "EXAMPLE.com:nobody.example:"
	    "example.com: joe@EXAMPLE.COM :@other.example::"), 0);
	/* example.com matches both good ones, nobody none (one "none"
	 * result), the repeat is ignored, joe@ matches the rsa one. */
	assert_int_equal(r.n, 5);
	assert_string_equal(r.r[0].cur_signer, "EXAMPLE.com");
	assert_string_equal(r.r[0].selector, "ed");
	assert_string_equal(r.r[1].cur_signer, "EXAMPLE.com");
	assert_string_equal(r.r[1].selector, "rsa");
	assert_string_equal(r.r[2].cur_signer, "nobody.example");
	assert_int_equal(r.r[2].status, DKIM_NONE);
	assert_string_equal(r.r[2].domain, "");
	assert_string_equal(dkim_authres_result(&r.r[2]), "none");
	assert_string_equal(r.r[3].cur_signer, "joe@EXAMPLE.COM");
	assert_string_equal(r.r[3].selector, "rsa");
	assert_int_equal(r.r[3].status, DKIM_PASS);
	assert_string_equal(r.r[4].cur_signer, "@other.example");
	assert_int_equal(r.r[4].status, DKIM_INVALID);
	assert_int_equal(r.nsigs, 3);
	dkim_results_free(&r);

	/* An empty list selects nothing. */
	test_verify(t, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(dkim_select_signers(&r, ""), 0);
	assert_int_equal(r.n, 0);
	dkim_results_free(&r);
	/* Selecting from no signatures at all gives "none" per entry. */
	test_verify(MSG, DKIM_POLICY_DEFAULT, NOW, 0, &r);
	assert_int_equal(dkim_select_signers(&r, "a.example:b.example"), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.r[1].status, DKIM_NONE);
	assert_string_equal(r.r[1].cur_signer, "b.example");
	assert_int_equal(r.r[1].bodylength, -1);
	dkim_results_free(&r);
	free(a);
	free(b);
	free(t);
}

static void
test_rfc8463(void **state)
{
	struct dkim_results r;

	(void)state;
	test_verify(RFC8463_MSG, DKIM_POLICY_DEFAULT, 1528637909 + 60, 0, &r);
	assert_int_equal(r.n, 2);
	for (size_t i = 0; i < 2; i++)
		if (r.r[i].status != DKIM_PASS)
			fail_msg("RFC 8463 signature %zu: %s (%s)", i,
			    dkim_reason_name(r.r[i].reason),
			    r.r[i].detail ? r.r[i].detail : "");
	assert_string_equal(r.r[0].algo, "ed25519-sha256");
	assert_string_equal(r.r[0].selector, "brisbane");
	assert_string_equal(r.r[1].algo, "rsa-sha256");
	assert_string_equal(r.r[1].selector, "test");
	assert_int_equal(r.r[1].key_length, 1024);
	assert_string_equal(r.r[0].identity, "@football.example.com");
	assert_string_equal(r.r[0].headernames,
	    "from:to:subject:date:message-id:from:subject:date");
	assert_int_equal(r.r[0].created, 1528637909LL);
	dkim_results_free(&r);

	/* With a 2048-bit minimum the RSA one falls to policy. */
	struct dkim_verify_opts o = { 1528637909 + 60, DKIM_POLICY_DEFAULT, 0,
	    0, 2048 };
	struct msg m;
	const char *why;
	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, RFC8463_MSG, strlen(RFC8463_MSG),
	    &why), 0);
	assert_int_equal(dkim_verify(&m, &o, &r), 0);
	assert_int_equal(r.r[0].status, DKIM_PASS);
	assert_int_equal(r.r[1].reason, DKIM_R_KEY_TOO_SHORT);
	dkim_results_free(&r);
	msg_free(&m);

	/* Both break when the body does. */
	char *t = strdup(RFC8463_MSG);
	*strstr(t, "hungry") = 'H';
	test_verify(t, DKIM_POLICY_DEFAULT, 1528637909 + 60, 0, &r);
	assert_int_equal(r.r[0].reason, DKIM_R_BODYHASH_MISMATCH);
	assert_int_equal(r.r[1].reason, DKIM_R_BODYHASH_MISMATCH);
	dkim_results_free(&r);
	free(t);
}

struct worker {
	const char *text;
	int passes;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct dkim_verify_opts o = { NOW, DKIM_POLICY_DEFAULT, 0, 0, 0 };

	for (int i = 0; i < 40; i++) {
		struct dkim_results r;
		struct msg m;
		const char *why;

		memset(&m, 0, sizeof m);
		if (msg_parse(&m, w->text, strlen(w->text), &why) == 0 &&
		    dkim_verify(&m, &o, &r) == 0) {
			if (r.n == 2 && r.r[0].status == DKIM_PASS &&
			    r.r[1].status == DKIM_PASS)
				w->passes++;
			dkim_results_free(&r);
		}
		msg_free(&m);
		if (i % 10 == 0)
			dkim_key_cache_clear();
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[4];
	struct worker w[4];
	char *a, *b;

	(void)state;
	a = dkim_sign_text(MSG, "rsa", rsa, NULL);
	b = dkim_sign_text(a, "ed", ed, NULL);
	for (int i = 0; i < 4; i++) {
		w[i].text = b;
		w[i].passes = 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].passes, 40);
	}
	free(a);
	free(b);
}

/* lib/dkim_report.c: Exim's variables and the resinfo from one result. */
static void
test_report(void **state)
{
	struct dkim_result r = { 0 };
	struct authres *ar;
	char buf[24], *f;
	size_t k, nnum = 0;

	(void)state;
	r.status = DKIM_FAIL;
	r.reason = DKIM_R_BODYHASH_MISMATCH;
	r.cur_signer = "";
	r.domain = "example.com";
	r.identity = "@example.com";
	r.selector = "sel";
	r.algo = "rsa-sha256";
	r.canon_body = r.canon_headers = "relaxed";
	r.copiedheaders = r.headernames = r.key_notes = "";
	r.key_srvtype = r.key_granularity = "*";
	r.bodylength = r.created = r.expires = -1;
	r.key_length = 2048;
	r.b_text = "abcdefghijklmnop";
	for (k = 0; dkim_var_names[k] != NULL; k++)
		nnum += dkim_var_is_number(k) != 0;
	assert_int_equal(k, DKIM_NVARS);
	assert_int_equal(nnum, 6);
	assert_string_equal(dkim_var_names[0], "verify_status");
	assert_string_equal(dkim_result_var(&r, "verify_status", buf,
	    sizeof(buf)), "fail");
	assert_string_equal(dkim_result_var(&r, "dkim_verify_reason", NULL, 0),
	    "bodyhash_mismatch");
	assert_string_equal(dkim_result_var(&r, "cur_signer", NULL, 0),
	    "example.com");
	assert_string_equal(dkim_result_var(&r, "bodylength", buf,
	    sizeof(buf)), "9999999999999");
	assert_string_equal(dkim_result_var(&r, "expires", buf, sizeof(buf)),
	    "9999999999999");
	assert_string_equal(dkim_result_var(&r, "created", buf, sizeof(buf)),
	    "0");
	assert_string_equal(dkim_result_var(&r, "key_length", buf,
	    sizeof(buf)), "2048");
	assert_string_equal(dkim_result_var(&r, "key_length", NULL, 0), "");
	assert_null(dkim_result_var(&r, "nosuch", buf, sizeof(buf)));
	assert_string_equal(dkim_result_var_at(&r, DKIM_NVARS, buf,
	    sizeof(buf)), "");

	assert_non_null(ar = authres_new("mx.example.net"));
	assert_int_equal(dkim_authres_add(ar, &r), 0);
	r.status = DKIM_PASS;
	r.reason = DKIM_R_NONE;
	assert_int_equal(dkim_authres_add(ar, &r), 0);
	assert_non_null(f = authres_format(ar, "\n"));
	assert_string_equal(f, "Authentication-Results: mx.example.net;\n"
	    "\tdkim=fail reason=\"bodyhash_mismatch\" header.d=example.com "
	    "header.s=sel\n"
	    "\theader.i=@example.com header.a=rsa-sha256 header.b=abcdefgh;\n"
	    "\tdkim=pass header.d=example.com header.s=sel header.i=@example.com\n"
	    "\theader.a=rsa-sha256 header.b=abcdefgh\n");
	free(f);
	authres_free(ar);

	assert_false(dkim_key_weak(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_pass_and_variables),
		cmocka_unit_test(test_no_signature),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_temperror),
		cmocka_unit_test(test_key_flags),
		cmocka_unit_test(test_rfc8301),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_identity_and_from),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_signers),
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
