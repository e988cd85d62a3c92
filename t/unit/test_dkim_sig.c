/* Unit tests for dkim_sig_parse / dkim_sig_parse_ex (RFC 6376 3.5). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dkim.h"
#include "test_dkim.h"

#define BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define BASE_NOV "a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=" BH \
	"; b=AAECAw==; "
#define BASE "v=1; " BASE_NOV

/* RFC 6376 appendix A.2, as folded in the message. */
static const char rfc_sig[] = RFC6376_A2_SIG;

static int
parse(const char *s, struct dkim_sig *sig, const char **why, int *reason)
{
	*why = NULL;
	*reason = -1;
	return dkim_sig_parse_ex(s, strlen(s), sig, why, reason);
}

/* Expect failure with this reason and message; sig is left zeroed. */
static void
expect_fail(const char *s, int reason, const char *why)
{
	struct dkim_sig sig;
	const char *w;
	int r;

	if (parse(s, &sig, &w, &r) != -1)
		fail_msg("parsed: %s", s);
	assert_int_equal(r, reason);
	assert_non_null(w);
	if (why != NULL)
		assert_string_equal(w, why);
	assert_null(sig.domain);
	assert_null(sig.b);
	assert_null(sig.hnames);
	dkim_sig_free(&sig);	/* harmless on a zeroed sig */
}

static void
expect_ok(const char *s, struct dkim_sig *sig)
{
	const char *w;
	int r;

	if (parse(s, sig, &w, &r) != 0)
		fail_msg("failed (%s): %s", w, s);
	assert_int_equal(r, DKIM_R_NONE);
}

static void
test_rfc_example(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(rfc_sig, &sig);
	assert_int_equal(sig.version, 1);
	assert_int_equal(sig.algo, DKIM_RSA_SHA256);
	assert_string_equal(sig.algo_text, "rsa-sha256");
	assert_int_equal(sig.hcanon, DKIM_SIMPLE);
	assert_int_equal(sig.bcanon, DKIM_SIMPLE);
	assert_string_equal(sig.domain, "example.com");
	assert_string_equal(sig.selector, "brisbane");
	assert_string_equal(sig.identity, "joe@football.example.com");
	assert_int_equal(sig.identity_given, 1);
	assert_int_equal(sig.nh, 6);
	assert_string_equal(sig.hnames[0], "Received");
	assert_string_equal(sig.hnames[5], "Message-ID");
	assert_string_equal(sig.hnames_text,
	    "Received:From:To:Subject:Date:Message-ID");
	assert_int_equal(sig.bhlen, 32);
	assert_int_equal(sig.bh[0], 0xda);
	assert_int_equal(sig.bh[31], 0xff);
	assert_string_equal(sig.b_text,
	    "AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB"
	    "4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut"
	    "KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV"
	    "4bmp/YzhwvcubU4=");
	assert_int_equal(sig.blen, 128);
	assert_int_equal(sig.length, -1);
	assert_int_equal(sig.created, -1);
	assert_int_equal(sig.expires, -1);
	assert_null(sig.copied);
	assert_string_equal(sig.query, "dns/txt");
	dkim_sig_free(&sig);
	assert_null(sig.domain);
	assert_null(sig.hnames);
	assert_int_equal(sig.nh, 0);
	/* The plain API agrees. */
	{
		const char *w = NULL;

		assert_int_equal(dkim_sig_parse(rfc_sig, sizeof(rfc_sig) - 1,
		    &sig, &w), 0);
		dkim_sig_free(&sig);
		assert_int_equal(dkim_sig_parse("v=2", 3, &sig, &w), -1);
		assert_string_equal(w, "unsupported version");
	}
}

static void
test_defaults(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(BASE, &sig);
	assert_int_equal(sig.hcanon, DKIM_SIMPLE);
	assert_int_equal(sig.bcanon, DKIM_SIMPLE);
	assert_string_equal(sig.identity, "@example.com");
	assert_int_equal(sig.identity_given, 0);
	assert_string_equal(sig.query, "dns/txt");
	assert_int_equal(sig.length, -1);
	assert_int_equal(sig.created, -1);
	assert_int_equal(sig.expires, -1);
	assert_null(sig.copied);
	assert_int_equal(sig.blen, 4);
	assert_memory_equal(sig.b, "\0\1\2\3", 4);
	assert_string_equal(sig.b_text, "AAECAw==");
	dkim_sig_free(&sig);
}

static void
test_required_tags(void **state)
{
	static const struct {
		const char *s, *why;
	} cases[] = {
		{ "a=rsa-sha256; d=x; s=y; h=from; bh=AA==; b=AA==",
		    "missing tag v" },
		{ "v=1; d=x; s=y; h=from; bh=AA==; b=AA==", "missing tag a" },
		{ "v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA==",
		    "missing tag b" },
		{ "v=1; a=rsa-sha256; d=x; s=y; h=from; b=AA==",
		    "missing tag bh" },
		{ "v=1; a=rsa-sha256; s=y; h=from; bh=AA==; b=AA==",
		    "missing tag d" },
		{ "v=1; a=rsa-sha256; d=x; h=from; bh=AA==; b=AA==",
		    "missing tag s" },
		{ "v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==",
		    "missing tag h" },
		{ "", "missing tag v" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail(cases[i].s, DKIM_R_SIGNATURE_SYNTAX, cases[i].why);
}

static void
test_version(void **state)
{
	(void)state;
	expect_fail("v=2; a=rsa-sha256", DKIM_R_UNSUPPORTED_VERSION,
	    "unsupported version");
	expect_fail("v=01; " BASE_NOV, DKIM_R_UNSUPPORTED_VERSION, NULL);
	expect_fail("v=DKIM1; " BASE_NOV, DKIM_R_UNSUPPORTED_VERSION, NULL);
	expect_fail("v=; a=rsa-sha256", DKIM_R_UNSUPPORTED_VERSION, NULL);
	/* Bad tag syntax is a syntax error even with a bad version. */
	expect_fail("v=2; a", DKIM_R_SIGNATURE_SYNTAX, NULL);
}

static void
test_algorithms(void **state)
{
	static const struct {
		const char *a;
		enum dkim_algo algo;
	} cases[] = {
		{ "rsa-sha1", DKIM_RSA_SHA1 },
		{ "rsa-sha256", DKIM_RSA_SHA256 },
		{ "ed25519-sha256", DKIM_ED25519_SHA256 },
		{ "rsa-sha512", DKIM_ALGO_UNKNOWN },
		{ "", DKIM_ALGO_UNKNOWN },
	};
	char buf[512];
	struct dkim_sig sig;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "v=1; a=%s; d=example.com; s=s; "
		    "h=from; bh=AA==; b=AA==", cases[i].a);
		expect_ok(buf, &sig);
		assert_int_equal(sig.algo, cases[i].algo);
		assert_string_equal(sig.algo_text, cases[i].a);
		dkim_sig_free(&sig);
	}
	assert_string_equal(dkim_algo_name(DKIM_RSA_SHA1), "rsa-sha1");
	assert_string_equal(dkim_algo_name(DKIM_RSA_SHA256), "rsa-sha256");
	assert_string_equal(dkim_algo_name(DKIM_ED25519_SHA256),
	    "ed25519-sha256");
	assert_string_equal(dkim_algo_name(DKIM_ALGO_UNKNOWN), "unknown");
}

static void
test_canon(void **state)
{
	static const struct {
		const char *c;
		enum dkim_canon h, b;
	} cases[] = {
		{ "simple", DKIM_SIMPLE, DKIM_SIMPLE },
		{ "relaxed", DKIM_RELAXED, DKIM_SIMPLE },
		{ "relaxed/relaxed", DKIM_RELAXED, DKIM_RELAXED },
		{ "simple/relaxed", DKIM_SIMPLE, DKIM_RELAXED },
		{ "relaxed/simple", DKIM_RELAXED, DKIM_SIMPLE },
		{ "simple/simple", DKIM_SIMPLE, DKIM_SIMPLE },
	};
	static const char *const bad[] = { "nowsp", "relaxed/", "/relaxed",
		"relaxed/relaxed/relaxed", "relaxed/nofws", "", "relaxed /simple" };
	char buf[512];
	struct dkim_sig sig;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), BASE "c=%s", cases[i].c);
		expect_ok(buf, &sig);
		assert_int_equal(sig.hcanon, cases[i].h);
		assert_int_equal(sig.bcanon, cases[i].b);
		dkim_sig_free(&sig);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), BASE "c=%s", bad[i]);
		expect_fail(buf, DKIM_R_UNSUPPORTED_CANON,
		    "unsupported canonicalization");
	}
}

static void
test_base64(void **state)
{
	struct dkim_sig sig;

	(void)state;
	/* FWS inside b= and bh= goes; padding optional. */
	expect_ok("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA\r\n E=;"
	    " b=AA EC\r\n\tAw", &sig);
	assert_string_equal(sig.b_text, "AAECAw");
	assert_int_equal(sig.blen, 4);
	assert_int_equal(sig.bhlen, 2);
	dkim_sig_free(&sig);
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA==; b=AA!A",
	    DKIM_R_SIGNATURE_SYNTAX,
	    "bad base64 in tag b");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=A; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA=A; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAA==; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA===; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, NULL);
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AA==; b=",
	    DKIM_R_SIGNATURE_SYNTAX, "empty tag b");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh= ; b=AA==",
	    DKIM_R_SIGNATURE_SYNTAX, "empty tag bh");
	/* OpenSSL's decoder would take '=' inside for zero bits and trim
	 * some bytes at the ends: neither may pass. */
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=A=AA; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAAA----; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=----AAAA; b=AAAA",
	    DKIM_R_SIGNATURE_SYNTAX, "bad base64 in tag bh");
	/* Lengths without padding: 2 and 3 characters of a last quantum. */
	expect_ok("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAECAwQ; b=AAECAwQF",
	    &sig);
	assert_int_equal(sig.bhlen, 5);
	assert_int_equal(sig.blen, 6);
	assert_memory_equal(sig.bh, "\0\1\2\3\4", 5);
	dkim_sig_free(&sig);
	expect_ok("v=1; a=rsa-sha256; d=x; s=y; h=from; bh=AAECAwQ=; b=/w",
	    &sig);
	assert_int_equal(sig.bhlen, 5);
	assert_int_equal(sig.blen, 1);
	assert_int_equal(sig.b[0], 0xff);
	dkim_sig_free(&sig);
}

static void
test_identity_within(void **state)
{
	static const struct {
		const char *id, *d;
		int within;
	} c[] = {
		{ "@example.com", "example.com", 1 },
		{ "joe@example.com", "example.com", 1 },
		{ "joe@EXAMPLE.com", "example.COM", 1 },
		{ "joe@mail.example.com", "example.com", 1 },
		{ "@a.b.example.com", "example.com", 1 },
		{ "a@b@example.com", "example.com", 1 },	/* the last '@' */
		{ "joe@badexample.com", "example.com", 0 },
		{ "joe@example.com.evil", "example.com", 0 },
		{ "joe@com", "example.com", 0 },
		{ "example.com", "example.com", 0 },
		{ "joe@", "example.com", 0 },
		{ "joe@example.com", "", 0 },
		{ "@", "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		if (dkim_identity_within(c[i].id, c[i].d) != c[i].within)
			fail_msg("%s within %s: want %d", c[i].id, c[i].d,
			    c[i].within);
	assert_int_equal(dkim_identity_within(NULL, "example.com"), 0);
	assert_int_equal(dkim_identity_within("@example.com", NULL), 0);
}

static void
test_hnames(void **state)
{
	struct dkim_sig sig;
	char *buf;
	size_t n;

	(void)state;
	expect_ok("v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==;"
	    " h = From\r\n\t: To :subject", &sig);
	assert_int_equal(sig.nh, 3);
	assert_string_equal(sig.hnames[0], "From");
	assert_string_equal(sig.hnames[1], "To");
	assert_string_equal(sig.hnames[2], "subject");
	assert_string_equal(sig.hnames_text, "From:To:subject");
	dkim_sig_free(&sig);
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==; h=",
	    DKIM_R_SIGNATURE_SYNTAX, "empty tag h");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==; h=a::b",
	    DKIM_R_SIGNATURE_SYNTAX, "bad header name in h=");
	expect_fail("v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==; h=a:",
	    DKIM_R_SIGNATURE_SYNTAX, "bad header name in h=");
	/* Hostile: a huge h= list is refused, not allocated. */
	n = 3000 * 2 + 100;
	buf = malloc(n);
	assert_non_null(buf);
	strcpy(buf, "v=1; a=rsa-sha256; d=x; s=y; bh=AA==; b=AA==; h=a");
	for (int i = 0; i < 3000; i++)
		strcat(buf, ":a");
	expect_fail(buf, DKIM_R_SIGNATURE_SYNTAX, "too many names in h=");
	free(buf);
}

static void
test_identity(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(BASE "i=@example.com", &sig);
	assert_string_equal(sig.identity, "@example.com");
	assert_int_equal(sig.identity_given, 1);
	dkim_sig_free(&sig);
	/* dkim-quoted-printable is decoded. */
	expect_ok(BASE "i=joe=3Dx=40y@sub.example.com", &sig);
	assert_string_equal(sig.identity, "joe=x@y@sub.example.com");
	dkim_sig_free(&sig);
	expect_fail(BASE "i=example.com", DKIM_R_SIGNATURE_SYNTAX,
	    "bad tag i");
}

static void
test_domain_selector(void **state)
{
	(void)state;
	expect_fail("v=1; a=rsa-sha256; d=; s=y; h=from; bh=AA==; b=AA==",
	    DKIM_R_SIGNATURE_SYNTAX, "bad tag d");
	expect_fail("v=1; a=rsa-sha256; d=a b; s=y; h=from; bh=AA==; b=AA==",
	    DKIM_R_SIGNATURE_SYNTAX, "bad tag d");
	expect_fail("v=1; a=rsa-sha256; d=x; s=; h=from; bh=AA==; b=AA==",
	    DKIM_R_SIGNATURE_SYNTAX, "bad tag s");
}

static void
test_length(void **state)
{
	struct dkim_sig sig;
	char buf[512];

	(void)state;
	expect_ok(BASE "l=0", &sig);
	assert_int_equal(sig.length, 0);
	dkim_sig_free(&sig);
	expect_ok(BASE "l=12345", &sig);
	assert_int_equal(sig.length, 12345);
	dkim_sig_free(&sig);
	expect_ok(BASE "l=4611686018427387904", &sig);	/* 2^62 */
	assert_int_equal(sig.length, 4611686018427387904LL);
	dkim_sig_free(&sig);
	/* 76 digits are allowed when most are leading zeros. */
	snprintf(buf, sizeof(buf), BASE "l=%073d123", 0);
	expect_ok(buf, &sig);
	assert_int_equal(sig.length, 123);
	dkim_sig_free(&sig);
	snprintf(buf, sizeof(buf), BASE "l=%074d123", 0);
	expect_fail(buf, DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
	expect_fail(BASE "l=4611686018427387905", DKIM_R_SIGNATURE_SYNTAX,
	    "bad tag l");
	expect_fail(BASE "l=99999999999999999999", DKIM_R_SIGNATURE_SYNTAX,
	    "bad tag l");
	expect_fail(BASE "l=", DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
	expect_fail(BASE "l=12a", DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
	expect_fail(BASE "l=-1", DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
	expect_fail(BASE "l=1 2", DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
}

static void
test_times(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(BASE "t=1117574938; x=1118006938", &sig);
	assert_int_equal(sig.created, 1117574938);
	assert_int_equal(sig.expires, 1118006938);
	dkim_sig_free(&sig);
	expect_ok(BASE "t=5; x=5", &sig);
	dkim_sig_free(&sig);
	expect_ok(BASE "x=1", &sig);
	assert_int_equal(sig.created, -1);
	assert_int_equal(sig.expires, 1);
	dkim_sig_free(&sig);
	expect_ok(BASE "t=9999999999999", &sig);
	assert_int_equal(sig.created, 9999999999999LL);
	dkim_sig_free(&sig);
	expect_fail(BASE "t=6; x=5", DKIM_R_SIGNATURE_SYNTAX,
	    "x= is earlier than t=");
	expect_fail(BASE "t=", DKIM_R_SIGNATURE_SYNTAX, "bad tag t");
	expect_fail(BASE "t=1x", DKIM_R_SIGNATURE_SYNTAX, "bad tag t");
	expect_fail(BASE "x=9999999999999999999", DKIM_R_SIGNATURE_SYNTAX,
	    "bad tag x");
}

static void
test_query(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(BASE "q=dns/txt", &sig);
	assert_string_equal(sig.query, "dns/txt");
	dkim_sig_free(&sig);
	expect_ok(BASE "q=foo/bar:dns/txt", &sig);
	dkim_sig_free(&sig);
	expect_fail(BASE "q=dns/foo", DKIM_R_UNSUPPORTED_QUERY,
	    "unsupported query method");
	expect_fail(BASE "q=", DKIM_R_UNSUPPORTED_QUERY, NULL);
	/* Syntax comes before support. */
	expect_fail(BASE "q=x; l=z", DKIM_R_SIGNATURE_SYNTAX, "bad tag l");
}

static void
test_copied_and_unknown(void **state)
{
	struct dkim_sig sig;

	(void)state;
	expect_ok(BASE "z=From:foo@eng.example.net|To:joe@example.com|\r\n"
	    " Subject:demo=20run; foo=bar; x_y=", &sig);
	assert_string_equal(sig.copied, "From:foo@eng.example.net|"
	    "To:joe@example.com|\r\n Subject:demo=20run");
	dkim_sig_free(&sig);
	expect_fail(BASE "d=again", DKIM_R_SIGNATURE_SYNTAX, "duplicate tag");
	expect_fail(BASE "b c=1", DKIM_R_SIGNATURE_SYNTAX, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_required_tags),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_hnames),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_identity_within),
		cmocka_unit_test(test_domain_selector),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_copied_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
