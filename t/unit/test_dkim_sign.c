/* test_dkim_sign: lib/dkim_sign.c, checked by verifying what it signs with
 * lib/dkim_verify.c against key records from a zone file written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dkim.h"
#include "test_dkim.h"
#include "dns.h"
#include "msg.h"

#define NOW ((time_t)1700000000)

static EVP_PKEY *rsa, *ed, *rsa512;
static char zonepath[] = "/tmp/test_dkim_sign.zone.XXXXXX";
static char keypath[] = "/tmp/test_dkim_sign.key.XXXXXX";

static const char MSG[] =
    "Received: from a.example.net by b.example.com; Fri, 11 Jul 2003\r\n"
    "\t21:01:00 -0700\r\n"
    DKIM_TEST_MSG;

/* ---- helpers ---- */

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The field with each fold (line end and the WSP after it) as one space. */
static char *
unfold(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	assert_non_null(o);
	while (*s) {
		if (*s == '\r' || *s == '\n') {
			while (*s == '\r' || *s == '\n')
				s++;
			if (*s == ' ' || *s == '\t') {
				*p++ = ' ';
				s++;
			}
			continue;
		}
		*p++ = *s++;
	}
	*p = '\0';
	return o;
}

/* The field without any FWS (z= encodes its own spaces). */
static char *
nofws(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	assert_non_null(o);
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			*p++ = *s;
	*p = '\0';
	return o;
}

static int
has_tag(const char *field, const char *tag)
{
	char *u = unfold(field);
	char pat[64];
	int found;

	snprintf(pat, sizeof pat, " %s", tag);
	found = strstr(u, pat) != NULL;
	free(u);
	return found;
}

/* The h= value of a signature field, FWS removed. */
static char *
hvalue(const char *field)
{
	const char *h = strstr(field, "h=");
	char *o, *p;

	while (h && h > field && h[-1] != ' ' && h[-1] != '\t')
		h = strstr(h + 1, "h=");
	assert_non_null(h);
	h += 2;
	o = p = malloc(strlen(h) + 1);
	assert_non_null(o);
	for (; *h && *h != ';'; h++)
		if (*h != ' ' && *h != '\t' && *h != '\r' && *h != '\n')
			*p++ = *h;
	*p = '\0';
	return o;
}

static struct dkim_signer
signer(EVP_PKEY *key, const char *sel)
{
	struct dkim_signer s;

	memset(&s, 0, sizeof s);
	s.domain = "example.com";
	s.selector = sel;
	s.key = key;
	s.hcanon = DKIM_RELAXED;
	s.bcanon = DKIM_RELAXED;
	s.timestamp = 1;
	return s;
}

static char *
sign_ok(const char *text, const struct dkim_signer *s, time_t now,
    const char *eol)
{
	struct msg m;
	const char *why = NULL;
	char *field = NULL;

	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, text, strlen(text), &why), 0);
	if (dkim_sign(&m, s, now, eol, &field, &why) != 0)
		fail_msg("dkim_sign: %s", why);
	msg_free(&m);
	assert_non_null(field);
	return field;
}

static int
sign_fails(const char *text, const struct dkim_signer *s, const char **why)
{
	struct msg m;
	char *field = NULL;
	int rc;

	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, text, strlen(text), why), 0);
	rc = dkim_sign(&m, s, NOW, "\r\n", &field, why);
	msg_free(&m);
	free(field);
	return rc != 0;
}

/* Verify field + text; the one result is copied to *out. */
static void
verify(const char *field, const char *text, time_t now,
    struct dkim_results *res)
{
	char *all = test_cat(field, text);

	test_verify(all, DKIM_POLICY_DEFAULT, now, 0, res);
	free(all);
}

static void
expect(const char *field, const char *text, time_t now,
    enum dkim_status st, enum dkim_reason why)
{
	struct dkim_results r;

	verify(field, text, now, &r);
	assert_int_equal(r.n, 1);
	test_outcome(&r.r[0], st, why);
	dkim_results_free(&r);
}

/* Insert a header line at the top of the message. */
static char *
prepend(const char *line, const char *text)
{
	return test_cat(line, text);
}

/* What the signature says of text with line added on top. */
static void
expect_prepended(const char *field, const char *line, const char *text,
    enum dkim_status st, enum dkim_reason why)
{
	char *t = prepend(line, text);

	expect(field, t, NOW, st, why);
	free(t);
}

/* Sign text (at NOW, CRLF) and check the h= list the signature got. */
static char *
sign_with_h(const char *text, const struct dkim_signer *s, const char *h)
{
	char *field = sign_ok(text, s, NOW, "\r\n"), *got = hvalue(field);

	assert_string_equal(got, h);
	free(got);
	return field;
}

/* ---- setup ---- */

static void
zone_add(FILE *f, EVP_PKEY *k, const char *sel)
{
	char *z = dkim_key_zone_record(k, "example.com", sel);

	assert_non_null(z);
	fprintf(f, "%s\n", z);
	free(z);
}

static int
setup(void **state)
{
	int fd;
	FILE *f;

	(void)state;
	if (test_keys_new(&rsa, &ed, &rsa512) != 0)
		return -1;
	if ((fd = mkstemp(zonepath)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "$TTL 300\n"
	    "example.com. IN SOA ns.example.com. hostmaster.example.com. "
	    "1 3600 600 86400 300\n");
	zone_add(f, rsa, "rsa");
	zone_add(f, ed, "ed");
	/* RFC 8616: the record of a U-label domain, by its A-labels */
	char *z = dkim_key_zone_record(rsa, "b\xc3\xbc" "cher.example", "rsa");
	if (z == NULL)
		return -1;
	fprintf(f, "%s\n", z);
	free(z);
	fclose(f);
	return test_dns_start(NULL, zonepath);
}

static int
teardown(void **state)
{
	(void)state;
	test_stop(rsa, ed, rsa512, zonepath);
	return 0;
}

/* ---- tests ---- */

static void
roundtrip(EVP_PKEY *key, const char *sel, const char *algo, int bits)
{
	static const enum dkim_canon c[] = { DKIM_SIMPLE, DKIM_RELAXED };

	for (int h = 0; h < 2; h++)
		for (int b = 0; b < 2; b++) {
			struct dkim_signer s = signer(key, sel);
			struct dkim_results r;
			char *field;

			s.hcanon = c[h];
			s.bcanon = c[b];
			field = sign_ok(MSG, &s, NOW, "\r\n");
			verify(field, MSG, NOW + 10, &r);
			assert_int_equal(r.n, 1);
			assert_int_equal(r.nsigs, 1);
			if (r.r[0].status != DKIM_PASS)
				fail_msg("%s %d/%d: %s (%s)", algo, h, b,
				    dkim_reason_name(r.r[0].reason),
				    r.r[0].detail ? r.r[0].detail : "");
			assert_int_equal(r.r[0].reason, DKIM_R_NONE);
			assert_string_equal(r.r[0].algo, algo);
			assert_string_equal(r.r[0].domain, "example.com");
			assert_string_equal(r.r[0].selector, sel);
			assert_string_equal(r.r[0].identity, "@example.com");
			assert_string_equal(r.r[0].canon_headers,
			    dkim_canon_name(c[h]));
			assert_string_equal(r.r[0].canon_body,
			    dkim_canon_name(c[b]));
			assert_int_equal(r.r[0].key_length, bits);
			assert_int_equal(r.r[0].created, (long long)NOW);
			assert_int_equal(r.r[0].expires, -1);
			assert_int_equal(r.r[0].bodylength, -1);
			assert_string_equal(r.r[0].copiedheaders, "");
			assert_true(strlen(r.r[0].b_text) > 40);
			assert_string_equal(dkim_authres_result(&r.r[0]),
			    "pass");
			dkim_results_free(&r);

			/* The body and a signed header are protected. */
			char *t = strdup(MSG);
			*strstr(t, "hungry") = 'H';
			expect(field, t, NOW, DKIM_FAIL,
			    DKIM_R_BODYHASH_MISMATCH);
			strcpy(t, MSG);
			*strstr(t, "dinner") = 'D';
			expect(field, t, NOW, DKIM_FAIL,
			    DKIM_R_SIGNATURE_INCORRECT);
			free(t);
			free(field);
		}
}

static void
test_roundtrip_rsa(void **state)
{
	(void)state;
	roundtrip(rsa, "rsa", "rsa-sha256", 2048);
}

static void
test_roundtrip_ed25519(void **state)
{
	(void)state;
	roundtrip(ed, "ed", "ed25519-sha256", EVP_PKEY_get_bits(ed));
}

static void
test_lf_message(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	char *lf = malloc(sizeof MSG), *p = lf;

	(void)state;
	for (const char *q = MSG; *q; q++)
		if (*q != '\r')
			*p++ = *q;
	*p = '\0';
	for (int h = 0; h < 2; h++) {
		s.hcanon = h ? DKIM_RELAXED : DKIM_SIMPLE;
		s.bcanon = s.hcanon;
		char *field = sign_ok(lf, &s, NOW, "\n");
		assert_null(strchr(field, '\r'));
		assert_true(field[strlen(field) - 1] == '\n');
		expect(field, lf, NOW, DKIM_PASS, DKIM_R_NONE);
		/* The same message with CRLF verifies too: the line ends
		 * are not part of what is signed. */
		expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
		free(field);
	}
	free(lf);
}

static void
test_folding(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	char *field;

	(void)state;
	s.copy_headers = 1;
	s.body_length = 1;
	s.expire_secs = 86400;
	s.identity = "joe@example.com";
	field = sign_ok(MSG, &s, NOW, "\r\n");
	assert_true(starts_with(field, "DKIM-Signature: v=1; a=rsa-sha256; "
	    "c=relaxed/relaxed; d=example.com; s=rsa;"));
	/* every line short, every fold CRLF + TAB, one final CRLF */
	for (const char *p = field; *p;) {
		const char *e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 78);
		p = e + 2;
		if (*p)
			assert_int_equal(*p, '\t');
	}
	assert_string_equal(field + strlen(field) - 2, "\r\n");
	/* tag order */
	char *u = unfold(field);
	const char *order[] = { " v=1;", " a=", " c=", " d=", " s=", " t=",
	    " x=", " l=", " i=", " h=", " z=", " bh=", " b=" };
	const char *at = u;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const char *q = strstr(u, order[i]);
		if (q == NULL || q < at)
			fail_msg("tag %s missing or out of order in %s",
			    order[i], u);
		at = q;
	}
	free(u);
	assert_true(has_tag(field, "x=1700086400;"));
	assert_true(has_tag(field, "t=1700000000;"));
	expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
	expect(field, MSG, NOW + 86401, DKIM_FAIL, DKIM_R_SIGNATURE_EXPIRED);
	free(field);

	/* No timestamp when asked. */
	s = signer(ed, "ed");
	s.timestamp = 0;
	field = sign_ok(MSG, &s, NOW, "\r\n");
	assert_false(has_tag(field, "t="));
	expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
	free(field);
}

static void
test_body_length(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	struct dkim_results r;
	char *field, *more;

	(void)state;
	for (int b = 0; b < 2; b++) {
		s.bcanon = b ? DKIM_RELAXED : DKIM_SIMPLE;
		s.body_length = 1;
		field = sign_ok(MSG, &s, NOW, "\r\n");
		assert_true(has_tag(field, "l="));
		verify(field, MSG, NOW, &r);
		assert_int_equal(r.r[0].status, DKIM_PASS);
		/* "Hi.\r\n\r\nWe lost ... yet?\r\n\r\nJoe.\r\n"; relaxed
		 * makes the double space one */
		assert_int_equal(r.r[0].bodylength, b ? 54 : 55);
		dkim_results_free(&r);
		/* Text appended after the signed length does not matter. */
		more = test_cat(MSG, "P.S. appended by a list\r\n");
		expect(field, more, NOW, DKIM_PASS, DKIM_R_NONE);
		free(more);
		/* Cut the body short: l= is now beyond it. */
		more = strdup(MSG);
		*strstr(more, "Joe.\r\n") = '\0';
		expect(field, more, NOW, DKIM_FAIL, DKIM_R_BODY_LENGTH);
		free(more);
		free(field);
	}
}

static void
test_oversign_plus(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	char *field;

	(void)state;
	s.headers = "From:+Subject:To";
	field = sign_with_h(MSG, &s, "From:Subject:Subject:To");
	expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
	/* An added Subject, above or below, breaks it. */
	expect_prepended(field, "Subject: Buy now\r\n", MSG,
	    DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT);
	/* A plain name signs one instance, the bottom one: a To added on
	 * top is not covered (which is why "+" exists). */
	expect_prepended(field, "To: someone@else.example\r\n", MSG,
	    DKIM_PASS, DKIM_R_NONE);
	free(field);

	/* The default list oversigns From and lists only present fields. */
	s.headers = NULL;
	field = sign_with_h(MSG, &s, "From:From:Subject:Date:To:Message-ID");
	expect_prepended(field, "From: Mallory <m@evil.example>\r\n", MSG,
	    DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT);
	/* Cc was not present, so it is not signed: adding one is fine. */
	expect_prepended(field, "Cc: someone@example.net\r\n", MSG,
	    DKIM_PASS, DKIM_R_NONE);
	free(field);
	assert_non_null(strstr(dkim_default_sign_headers, "+From:"));
	assert_non_null(strstr(dkim_default_sign_headers, "=Reply-To:"));
}

#define RECEIVED_TOP \
	"Received: from e by f; Sat, 12 Jul 2003 02:00:00 +0000\r\n"

static void
test_equals_and_repeats(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	char *text, *field, *t;

	(void)state;
	text = prepend("Received: from c by d; Sat, 12 Jul 2003 01:00:00 "
	    "+0000\r\n", MSG);
	/* "=name": every instance present, none when absent. */
	s.headers = "From:=Received:=Cc:=X-Absent";
	field = sign_with_h(text, &s, "From:Received:Received");
	expect(field, text, NOW, DKIM_PASS, DKIM_R_NONE);
	expect_prepended(field, "Cc: late@example.net\r\n", text,
	    DKIM_PASS, DKIM_R_NONE);
	/* A third Received on top is not signed; the two lower ones are. */
	expect_prepended(field, RECEIVED_TOP, text, DKIM_PASS, DKIM_R_NONE);
	free(field);

	/* A plain name repeated: one instance per mention, the bottom one
	 * first; more mentions than instances sign their absence. */
	s.headers = "From:Received:Received:Received";
	field = sign_with_h(text, &s, "From:Received:Received:Received");
	expect(field, text, NOW, DKIM_PASS, DKIM_R_NONE);
	expect_prepended(field, RECEIVED_TOP, text, DKIM_FAIL,
	    DKIM_R_SIGNATURE_INCORRECT);
	free(field);

	/* One plain mention takes the bottom-most instance only. */
	s.headers = "From:Received";
	field = sign_ok(text, &s, NOW, "\r\n");
	t = strdup(text);
	/* the top Received (added last) is not signed */
	*strstr(t, "from c by d") = 'F';
	expect(field, t, NOW, DKIM_PASS, DKIM_R_NONE);
	strcpy(t, text);
	*strstr(t, "from a.example.net") = 'F';
	expect(field, t, NOW, DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT);
	free(t);
	free(field);
	free(text);
}

static void
test_absent_header_signed(void **state)
{
	struct dkim_signer s = signer(ed, "ed");
	char *field;

	(void)state;
	s.headers = "From:Reply-To:Subject";
	field = sign_with_h(MSG, &s, "From:Reply-To:Subject");
	expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
	expect_prepended(field, "Reply-To: mallory@evil.example\r\n", MSG,
	    DKIM_FAIL, DKIM_R_SIGNATURE_INCORRECT);
	free(field);
}

static void
test_identity(void **state)
{
	static const char *good[] = { "@example.com", "joe@example.com",
	    "@sub.example.com", "joe@a.b.example.com", "@EXAMPLE.com" };
	static const char *bad[] = { "@other.com", "joe", "example.com",
	    "@badexample.com", "@example.com.evil", "jo e@example.com",
	    "joe;x@example.com", "@", "joe@" };
	struct dkim_signer s = signer(rsa, "rsa");
	struct dkim_results r;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		s.identity = good[i];
		char *field = sign_ok(MSG, &s, NOW, "\r\n");
		verify(field, MSG, NOW, &r);
		assert_int_equal(r.r[0].status, DKIM_PASS);
		assert_string_equal(r.r[0].identity, good[i]);
		dkim_results_free(&r);
		free(field);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s.identity = bad[i];
		why = NULL;
		if (!sign_fails(MSG, &s, &why))
			fail_msg("identity %s accepted", bad[i]);
		assert_non_null(why);
	}
	s = signer(rsa, "rsa");
	s.domain = "bad domain";
	assert_true(sign_fails(MSG, &s, &why));
	s = signer(rsa, "rsa;x");
	assert_true(sign_fails(MSG, &s, &why));
	s = signer(rsa, "rsa");
	s.headers = "From:Bad Name";
	assert_true(sign_fails(MSG, &s, &why));
}

static void
test_refuse_short_rsa(void **state)
{
	struct dkim_signer s = signer(rsa512, "rsa");
	const char *why = NULL;
	BIO *b;

	(void)state;
	assert_true(sign_fails(MSG, &s, &why));
	assert_non_null(strstr(why, "1024"));
	assert_null(dkim_keygen("rsa", 512, &why));
	assert_non_null(why);
	assert_null(dkim_keygen("dsa", 0, &why));
	/* What it does make. */
	EVP_PKEY *k = dkim_keygen("rsa", 0, &why);
	assert_non_null(k);
	assert_string_equal(dkim_key_type_name(k), "rsa");
	assert_int_equal(dkim_key_bits(k), 2048);
	EVP_PKEY_free(k);
	assert_non_null(k = dkim_keygen("ed25519", 0, &why));
	assert_string_equal(dkim_key_type_name(k), "ed25519");
	EVP_PKEY_free(k);
	/* ... nor loaded from a file. */
	assert_non_null(b = BIO_new_file(keypath, "w"));
	assert_int_equal(PEM_write_bio_PrivateKey(b, rsa512, NULL, NULL, 0,
	    NULL, NULL), 1);
	BIO_free(b);
	why = NULL;
	assert_null(dkim_load_private_key(keypath, &why));
	assert_non_null(why);
	unlink(keypath);
	assert_null(dkim_load_private_key("/nonexistent/key.pem", &why));
	assert_non_null(why);
}

static void
test_copied_headers(void **state)
{
	static const char text[] =
	    "From: Joe <joe@example.com>\r\n"
	    "Subject: a|b; c=d\te\r\n"
	    " folded \r\n"
	    "\r\n"
	    "body\r\n";
	struct dkim_signer s = signer(rsa, "rsa");
	struct dkim_results r;
	char *field, *u;

	(void)state;
	s.headers = "From:Subject:To";
	s.copy_headers = 1;
	field = sign_ok(text, &s, NOW, "\r\n");
	u = nofws(field);
	/* RFC 6376 3.5: '|', ';', '=', WSP and controls as =XX; the value
	 * unfolded; absent fields not copied. */
	assert_non_null(strstr(u,
	    "z=From:Joe=20<joe@example.com>|Subject:a=7Cb=3B=20c=3Dd=09e=20"
	    "folded=20;"));
	free(u);
	verify(field, text, NOW, &r);
	assert_int_equal(r.r[0].status, DKIM_PASS);
	assert_string_equal(r.r[0].copiedheaders,
	    "From:Joe <joe@example.com>|Subject:a|b; c=d\te folded ");
	dkim_results_free(&r);
	free(field);
}

static void
write_key(EVP_PKEY *k, int pkcs1, const char *expect_begin)
{
	BIO *b = BIO_new_file(keypath, "w");
	char buf[64];
	FILE *f;

	assert_non_null(b);
	if (pkcs1)
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, k,
		    NULL, NULL, 0, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
		    NULL, NULL), 1);
	BIO_free(b);
	assert_non_null(f = fopen(keypath, "r"));
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_non_null(strstr(buf, expect_begin));
}

static void
test_load_private_key(void **state)
{
	struct {
		EVP_PKEY *k;
		int pkcs1;
		const char *begin, *sel;
	} c[] = {
		{ rsa, 1, "BEGIN RSA PRIVATE KEY", "rsa" },
		{ rsa, 0, "BEGIN PRIVATE KEY", "rsa" },
		{ ed, 0, "BEGIN PRIVATE KEY", "ed" },
	};
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		write_key(c[i].k, c[i].pkcs1, c[i].begin);
		EVP_PKEY *k = dkim_load_private_key(keypath, &why);
		if (k == NULL)
			fail_msg("load %s: %s", c[i].begin, why);
		assert_int_equal(EVP_PKEY_eq(k, c[i].k), 1);
		struct dkim_signer s = signer(k, c[i].sel);
		char *field = sign_ok(MSG, &s, NOW, "\r\n");
		expect(field, MSG, NOW, DKIM_PASS, DKIM_R_NONE);
		free(field);
		EVP_PKEY_free(k);
	}
	/* Not a key at all. */
	FILE *f = fopen(keypath, "w");
	assert_non_null(f);
	fputs("hello\n", f);
	fclose(f);
	assert_null(dkim_load_private_key(keypath, &why));
	assert_non_null(why);
	unlink(keypath);
}

/* Write PEM blocks to keypath: each key private (PKCS#8, or encrypted
 * with a passphrase when pass is set) or, when pub is set, public. */
static void
write_pem(EVP_PKEY *const *keys, const int *pub, size_t n, const char *pass)
{
	BIO *b = BIO_new_file(keypath, "w");

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		if (pub[i])
			assert_int_equal(PEM_write_bio_PUBKEY(b, keys[i]), 1);
		else if (pass != NULL)
			assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b,
			    keys[i], EVP_aes_128_cbc(), NULL, 0, NULL,
			    (void *)pass), 1);
		else
			assert_int_equal(PEM_write_bio_PrivateKey(b, keys[i],
			    NULL, NULL, 0, NULL, NULL), 1);
	}
	BIO_free(b);
}

static void
expect_load_fails(const char *why_expected)
{
	const char *why = NULL;

	assert_null(dkim_load_private_key(keypath, &why));
	assert_non_null(why);
	assert_string_equal(why, why_expected);
}

/* The typed decoders take the usual keys; the rest is refused for what it
 * is, as PEM_read_bio_PrivateKey sees it. */
static void
test_load_private_key_others(void **state)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *keys[2];
	int pub[2] = { 0, 0 };
	const char *why = NULL;
	EVP_PKEY *k;

	(void)state;
	assert_non_null(ec);
	keys[0] = ec;
	write_pem(keys, pub, 1, NULL);
	expect_load_fails("key is neither RSA nor Ed25519");
	keys[0] = rsa512;
	write_pem(keys, pub, 1, NULL);
	expect_load_fails("RSA key shorter than 1024 bits (RFC 8301)");
	keys[0] = rsa;
	write_pem(keys, pub, 1, "secret");
	expect_load_fails("not a PEM private key (or encrypted)");
	pub[0] = 1;
	write_pem(keys, pub, 1, NULL);
	expect_load_fails("not a PEM private key (or encrypted)");
	/* Another block first: the first private key counts. */
	keys[1] = ed;
	write_pem(keys, pub, 2, NULL);
	if ((k = dkim_load_private_key(keypath, &why)) == NULL)
		fail_msg("public then private: %s", why);
	assert_int_equal(EVP_PKEY_eq(k, ed), 1);
	EVP_PKEY_free(k);
	keys[0] = ec;
	pub[0] = 0;
	write_pem(keys, pub, 2, NULL);
	expect_load_fails("key is neither RSA nor Ed25519");
	EVP_PKEY_free(ec);
	unlink(keypath);
}

static void
test_zone_record(void **state)
{
	char *z;
	const char *p;

	(void)state;
	z = dkim_key_zone_record(rsa, "example.com", "sel");
	assert_non_null(z);
	assert_true(starts_with(z, "sel._domainkey.example.com. IN TXT ( \""
	    "v=DKIM1; k=rsa; p=MIIB"));
	assert_string_equal(z + strlen(z) - 2, " )");
	/* every character-string at most 255 bytes */
	for (p = strchr(z, '"'); p; p = strchr(p, '"')) {
		const char *e = strchr(p + 1, '"');
		assert_non_null(e);
		assert_true(e - p - 1 <= 255);
		p = e + 1;
	}
	free(z);

	z = dkim_key_zone_record(ed, "example.com.", "ed");
	assert_non_null(z);
	assert_true(starts_with(z, "ed._domainkey.example.com. IN TXT ( \""
	    "v=DKIM1; k=ed25519; p="));
	/* the raw 32-byte key: 44 base64 characters */
	p = strstr(z, "p=") + 2;
	assert_int_equal(strchr(p, '"') - p, 44);
	free(z);

	assert_string_equal(dkim_key_type_name(rsa), "rsa");
	assert_string_equal(dkim_key_type_name(ed), "ed25519");
	assert_string_equal(dkim_key_type_name(NULL), "unknown");
	assert_int_equal(dkim_key_bits(rsa), 2048);
	assert_int_equal(dkim_key_bits(NULL), 0);
}

/* RFC 8616: a U-label d= (and i= domain) is signed in A-labels, and the
 * record is published under them. */
static void
test_idn_domain(void **state)
{
	struct dkim_signer s = signer(rsa, "rsa");
	struct dkim_results r;
	const char *why;
	char *field, *u, *z;

	(void)state;
	z = dkim_key_zone_record(rsa, "b\xc3\xbc" "cher.example", "rsa");
	assert_non_null(z);
	assert_true(starts_with(z, "rsa._domainkey.xn--bcher-kva.example. "));
	free(z);
	assert_null(dkim_key_zone_record(rsa, "\xff.example", "rsa"));

	s.domain = "B\xc3\xbc" "cher.example";
	s.identity = "joe@news.b\xc3\xbc" "cher.example";
	field = sign_ok(MSG, &s, NOW, "\r\n");
	u = unfold(field);
	assert_non_null(strstr(u, " d=xn--bcher-kva.example;"));
	assert_non_null(strstr(u, " i=joe@news.xn--bcher-kva.example;"));
	assert_null(strstr(u, "\xc3"));
	free(u);
	verify(field, MSG, NOW, &r);
	assert_int_equal(r.n, 1);
	test_outcome(&r.r[0], DKIM_PASS, DKIM_R_NONE);
	assert_string_equal(r.r[0].domain, "xn--bcher-kva.example");
	dkim_results_free(&r);
	free(field);

	/* the identity may be given in either form */
	s.identity = "@xn--bcher-kva.example";
	field = sign_ok(MSG, &s, NOW, "\r\n");
	free(field);
	assert_true(dkim_identity_within("@b\xc3\xbc" "cher.example",
	    "xn--bcher-kva.example"));
	assert_true(dkim_identity_within("@a.xn--bcher-kva.example",
	    "B\xc3\xbc" "cher.example"));
	assert_false(dkim_identity_within("@b\xc3\xbc" "cher.example",
	    "bucher.example"));

	/* not a valid IDNA2008 name: refused, not signed as it is */
	s.identity = NULL;
	s.domain = "\xe2\x98\x83\xff.example";
	why = NULL;
	assert_true(sign_fails(MSG, &s, &why));
	assert_non_null(why);
	s.domain = "b\xc3\xbc" "cher.example";
	s.identity = "@other.\xc3\xbc.example";
	assert_true(sign_fails(MSG, &s, &why));
}

static void
test_dual_sign(void **state)
{
	struct dkim_signer a = signer(rsa, "rsa"), b = signer(ed, "ed");
	struct dkim_verify_opts o = { NOW, DKIM_POLICY_DEFAULT, 0, 0, 0 };
	struct dkim_results r;
	char *fa, *fb, *t1, *t2;
	struct msg m;
	const char *why;

	(void)state;
	fa = sign_ok(MSG, &a, NOW, "\r\n");
	fb = sign_ok(MSG, &b, NOW, "\r\n");
	t1 = test_cat(fb, MSG);
	t2 = test_cat(fa, t1);
	memset(&m, 0, sizeof m);
	assert_int_equal(msg_parse(&m, t2, strlen(t2), &why), 0);
	assert_int_equal(dkim_verify(&m, &o, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.r[0].status, DKIM_PASS);
	assert_int_equal(r.r[1].status, DKIM_PASS);
	assert_string_equal(r.r[0].algo, "rsa-sha256");
	assert_string_equal(r.r[1].algo, "ed25519-sha256");
	dkim_results_free(&r);
	msg_free(&m);
	free(fa);
	free(fb);
	free(t1);
	free(t2);
}

static void
test_no_body(void **state)
{
	static const char text[] = "From: joe@example.com\r\nSubject: x\r\n";
	struct dkim_signer s = signer(rsa, "rsa");

	(void)state;
	for (int b = 0; b < 2; b++) {
		s.bcanon = b ? DKIM_RELAXED : DKIM_SIMPLE;
		s.body_length = 1;
		char *field = sign_ok(text, &s, NOW, "\r\n");
		expect(field, text, NOW, DKIM_PASS, DKIM_R_NONE);
		free(field);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_rsa),
		cmocka_unit_test(test_roundtrip_ed25519),
		cmocka_unit_test(test_lf_message),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_oversign_plus),
		cmocka_unit_test(test_equals_and_repeats),
		cmocka_unit_test(test_absent_header_signed),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_refuse_short_rsa),
		cmocka_unit_test(test_copied_headers),
		cmocka_unit_test(test_load_private_key),
		cmocka_unit_test(test_load_private_key_others),
		cmocka_unit_test(test_zone_record),
		cmocka_unit_test(test_idn_domain),
		cmocka_unit_test(test_dual_sign),
		cmocka_unit_test(test_no_body),
	};

	int fd = mkstemp(keypath);
	if (fd >= 0)
		close(fd);
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	unlink(keypath);
	return rc;
}
