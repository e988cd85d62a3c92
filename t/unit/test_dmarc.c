/* test_dmarc: lib/dmarc against t/data/dmarc/test.zone (a master file with
 * an SOA at "test.", so every walk stays in it and non-existent names are
 * authoritative NXDOMAIN) and t/data/dmarc/psl.dat.  The resolver is a
 * port nobody answers on: names outside the zone ("*.invalid") time out,
 * which is how temperror is reached.  Data from DMARC_TEST_DATA (default
 * t/data/dmarc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dmarc.h"
#include "dmarc_report.h"
#include "dns.h"
#include "msg.h"

static char *
data_path(const char *name)
{
	static char buf[4][1024];
	static int i;
	const char *dir = getenv("DMARC_TEST_DATA");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir ? dir : "t/data/dmarc",
	    name);
	return buf[i];
}

static void
mode(enum dmarc_mode m, unsigned long seed)
{
	struct dmarc_opts o = { m, data_path("psl.dat"), 1, seed, "mx.test" };
	const char *why = NULL;

	if (dmarc_init(&o, &why) != 0)
		fail_msg("dmarc_init: %s", why);
}

static int
setup(void **state)
{
	struct dns_opts o = { "127.0.0.1:9", 100, 0, 0, 1 };
	const char *why = NULL;
	char *zwhy = NULL;

	(void)state;
	unsetenv("MXKIT_DNS_ZONE");
	unsetenv("MXKIT_RESOLVER");
	if (dns_init(&o, &why) != 0)
		fail_msg("dns_init: %s", why);
	if (dns_load_zone(data_path("test.zone"), &zwhy) != 0)
		fail_msg("dns_load_zone: %s", zwhy);
	mode(DMARC_RFC9989, 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dmarc_shutdown();
	dns_shutdown();
	return 0;
}

/* ---- From ---- */

static enum dmarc_from
from_of(const char *header, char **dom)
{
	struct msg m = { 0 };
	char buf[2048];
	const char *why = NULL;
	enum dmarc_from r;

	snprintf(buf, sizeof(buf), "%s\nSubject: x\n\nbody\n", header);
	assert_int_equal(msg_parse(&m, buf, strlen(buf), &why), 0);
	*dom = NULL;
	why = NULL;
	r = dmarc_from_domain(&m, dom, &why);
	if (r != DMARC_FROM_OK)
		assert_non_null(why);
	msg_free(&m);
	return r;
}

static void
from_ok(const char *header, const char *want)
{
	char *d;

	if (from_of(header, &d) != DMARC_FROM_OK)
		fail_msg("%s: not OK", header);
	assert_string_equal(d, want);
	free(d);
}

static void
from_is(const char *header, enum dmarc_from want)
{
	char *d;
	enum dmarc_from r = from_of(header, &d);

	if (r != want)
		fail_msg("%s: got %d, want %d", header, r, want);
	assert_null(d);
}

static void
test_from(void **state)
{
	(void)state;
	from_ok("From: a@Example.TEST", "example.test");
	from_ok("From: Alice <alice@example.test>", "example.test");
	from_ok("From: \"Doe, John\" <j@example.test>", "example.test");
	from_ok("From: Doe, John <j@example.test>", "example.test");
	from_ok("From: (comment (nested) <x@evil.test>) a@example.test (c)",
	    "example.test");
	from_ok("From: =?utf-8?q?=C3=A9t=C3=A9?= <b@example.test>",
	    "example.test");
	from_ok("From: a @ Example . Test", "example.test");
	from_ok("From: <@relay.test,@other.test:a@example.test>",
	    "example.test");
	from_ok("From: friends: a@example.test;", "example.test");
	from_ok("From: user@good.test <evil@evil.test>", "evil.test");
	from_ok("From: \"a@good.test\" <evil@evil.test>", "evil.test");
	from_ok("From: a@example.test.", "example.test");
	from_ok("From: Name\n <a@example.test>", "example.test");
	from_ok("From: a@b\xc3\xbc" "cher.test", "xn--bcher-kva.test");
	from_is("Subject: none", DMARC_FROM_NONE);
	from_is("From: ", DMARC_FROM_NONE);
	from_is("From: undisclosed-recipients:;", DMARC_FROM_NONE);
	from_is("From: <>", DMARC_FROM_NONE);
	from_is("From: a@example.test, b@example.test", DMARC_FROM_MANY);
	from_is("From: g: a@x.test, b@y.test;", DMARC_FROM_MANY);
	from_is("From: a@example.test\nFrom: a@example.test", DMARC_FROM_MANY);
	from_is("From: a@[192.0.2.1]", DMARC_FROM_BAD);
	from_is("From: <foo>", DMARC_FROM_BAD);
	from_is("From: \"unterminated <a@example.test>", DMARC_FROM_BAD);
	from_is("From: (unterminated a@example.test", DMARC_FROM_BAD);
	from_is("From: a@exa!mple.test", DMARC_FROM_BAD);
	from_is("From: a@", DMARC_FROM_BAD);
	from_is("From: a@x..test", DMARC_FROM_BAD);
	from_is("From: <a@x.test <b@y.test>>", DMARC_FROM_BAD);
}

/* ---- records ---- */

static void
rec_ok(const char *r)
{
	const char *why = NULL;

	if (dmarc_record_check(r, strlen(r), &why) != 0)
		fail_msg("%s: %s", r, why);
}

static void
rec_bad(const char *r)
{
	const char *why = NULL;

	if (dmarc_record_check(r, strlen(r), &why) == 0)
		fail_msg("%s: accepted", r);
	assert_non_null(why);
}

static void
test_record_check(void **state)
{
	char big[20000];

	(void)state;
	mode(DMARC_RFC7489, 1);
	rec_ok("v=DMARC1; p=reject");
	rec_ok("v = DMARC1 ;p=none;");
	rec_ok("v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=r; pct=20; "
	    "fo=0:d:s; rua=mailto:a@x.test!10m, mailto:b@y.test; ri=3600");
	rec_ok("v=DMARC1; p=bogus; rua=mailto:a@x.test");
	rec_ok("v=DMARC1; p=reject; ;; junk; adkim=x; pct=500");
	rec_bad("v=DMARC1; p=bogus");
	rec_bad("v=DMARC1; rua=notauri");
	rec_bad("v=DMARC1");		/* RFC 7489: p= is required */
	rec_bad("v=dmarc1; p=reject");
	rec_bad("v=DMARC10; p=reject");
	rec_bad("v=DMARC1 x; p=reject");
	rec_bad("p=reject; v=DMARC1");
	rec_bad(" v=DMARC1; p=reject");
	rec_bad("");
	assert_int_equal(dmarc_record_check("v=DMARC1\0; p=reject", 19,
	    &(const char *){ NULL }), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "v=DMARC1; p=reject; x=", 22);
	rec_bad(big);
	mode(DMARC_RFC9989, 1);
	rec_ok("v=DMARC1");		/* RFC 9989: absent p= is p=none */
	rec_ok("v=DMARC1; p=none; np=reject; psd=y; t=y");
	rec_bad("v=DMARC1; p=none; np=bogus");
}

/* ---- evaluation ---- */

struct sc {
	const char *from;
	const char *spf_domain;	/* NULL: no SPF */
	enum spfr spf;
	const char *dkim_d;	/* NULL: no DKIM */
	const char *dkim_result;
};

static void
run(const struct sc *s, struct dmarc_verdict *v)
{
	struct dmarc_auth a = { 0 };

	if (s->spf_domain != NULL)
		assert_int_equal(dmarc_auth_set_spf(&a, s->spf, s->spf_domain,
		    SPF_SCOPE_MFROM), 0);
	if (s->dkim_d != NULL)
		assert_int_equal(dmarc_auth_add_dkim(&a, s->dkim_d, "sel",
		    s->dkim_result ? s->dkim_result : "pass"), 0);
	assert_int_equal(dmarc_eval(s->from, &a, v), 0);
	dmarc_auth_clear(&a);
	assert_non_null(v->status_text);
	assert_non_null(v->ar_header);
	assert_non_null(v->used_domain);
	assert_non_null(v->org_domain);
	assert_non_null(v->from_domain);
	assert_non_null(v->fo);
	assert_null(strchr(v->ar_header, '\n'));
	assert_null(strchr(v->ar_header, '\r'));
}

static void
expect(const struct sc *s, enum dmarc_status st, const char *policy,
    const char *tag, const char *dis)
{
	struct dmarc_verdict v;

	run(s, &v);
	if (v.status != st)
		fail_msg("%s: got %s (%s), want %s", s->from,
		    dmarc_status_name(v.status), v.status_text,
		    dmarc_status_name(st));
	assert_string_equal(v.domain_policy, policy);
	assert_string_equal(v.policy_tag, tag);
	assert_string_equal(v.disposition, dis);
	dmarc_verdict_free(&v);
}

static void
test_status_words(void **state)
{
	(void)state;
	assert_string_equal(dmarc_status_name(DMARC_ACCEPT), "accept");
	assert_string_equal(dmarc_status_name(DMARC_NORECORD), "norecord");
	assert_string_equal(dmarc_status_name(DMARC_OFF), "off");
	assert_int_equal(dmarc_status_exit(DMARC_ACCEPT), 0);
	assert_int_equal(dmarc_status_exit(DMARC_NONE), 0);
	assert_int_equal(dmarc_status_exit(DMARC_OFF), 0);
	assert_int_equal(dmarc_status_exit(DMARC_REJECT), 1);
	assert_int_equal(dmarc_status_exit(DMARC_QUARANTINE), 2);
	assert_int_equal(dmarc_status_exit(DMARC_NORECORD), 3);
	assert_int_equal(dmarc_status_exit(DMARC_NOFROM), 3);
	assert_int_equal(dmarc_status_exit(DMARC_TEMPERROR), 75);
}

static void
test_statuses_9989(void **state)
{
	struct dmarc_verdict v;

	(void)state;
	mode(DMARC_RFC9989, 1);
	expect(&(struct sc){ "reject.test", "reject.test", SPFR_PASS, 0, 0 },
	    DMARC_ACCEPT, "reject", "p", "none");
	expect(&(struct sc){ "reject.test", "evil.test", SPFR_PASS, 0, 0 },
	    DMARC_REJECT, "reject", "p", "reject");
	expect(&(struct sc){ "none.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	/* existing subdomain: sp; non-existent: np; np absent: sp */
	expect(&(struct sc){ "mail.reject.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "sp", "quarantine");
	expect(&(struct sc){ "ghost.reject.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "np", "none");
	expect(&(struct sc){ "ghost.nonp.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "sp", "quarantine");
	expect(&(struct sc){ "ghost.npr.test", 0, 0, 0, 0 },
	    DMARC_REJECT, "reject", "np", "reject");
	expect(&(struct sc){ "live.npr.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	expect(&(struct sc){ "norec.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	expect(&(struct sc){ NULL, 0, 0, 0, 0 }, DMARC_NOFROM, "", "", "");
	expect(&(struct sc){ "host.timeout.invalid", 0, 0, 0, 0 },
	    DMARC_TEMPERROR, "", "", "");
	/* t=y: one step lower */
	run(&(struct sc){ "testing.test", 0, 0, 0, 0 }, &v);
	assert_int_equal(v.status, DMARC_QUARANTINE);
	assert_string_equal(v.domain_policy, "reject");
	assert_string_equal(v.disposition, "quarantine");
	assert_int_equal(v.testing, 1);
	assert_int_equal(v.sampled_out, 0);
	dmarc_verdict_free(&v);
	expect(&(struct sc){ "testq.test", 0, 0, 0, 0 },
	    DMARC_NONE, "quarantine", "p", "none");
	/* pct is historic: no sampling */
	expect(&(struct sc){ "pct0.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "p", "quarantine");
	/* several records: discarded, the walk goes on (nothing above) */
	expect(&(struct sc){ "many.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	expect(&(struct sc){ "mixed.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "p", "quarantine");
	expect(&(struct sc){ "notfirst.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	/* CNAME: one followed, a chain of two not */
	expect(&(struct sc){ "cname1.test", 0, 0, 0, 0 },
	    DMARC_REJECT, "reject", "p", "reject");
	expect(&(struct sc){ "cname2.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	/* invalid policies */
	expect(&(struct sc){ "badp.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	expect(&(struct sc){ "badpnorua.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	expect(&(struct sc){ "nop.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	expect(&(struct sc){ "badsp.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	run(&(struct sc){ "garbage.test", 0, 0, 0, 0 }, &v);
	assert_int_equal(v.status, DMARC_REJECT);	/* first p= kept */
	assert_int_equal(v.adkim, 'r');
	assert_int_equal(v.pct, 100);
	assert_string_equal(v.fo, "0");
	assert_int_equal(v.nrua, 1);
	assert_string_equal(v.rua[0], "mailto:ok@garbage.test");
	assert_int_equal(v.nruf, 0);
	dmarc_verdict_free(&v);
}

static void
test_tree_walk(void **state)
{
	struct dmarc_verdict v;

	(void)state;
	mode(DMARC_RFC9989, 1);
	/* B.4.2: 12 labels, 8 queries, example.com's policy via sp/p */
	run(&(struct sc){ "a.b.c.d.e.f.g.h.i.j.k.deep.test", "deep.test",
	    SPFR_PASS, "signing.deep.test", "fail" }, &v);
	assert_int_equal(v.status, DMARC_ACCEPT);
	assert_string_equal(v.used_domain, "deep.test");
	assert_string_equal(v.org_domain, "deep.test");
	assert_int_equal(v.spf_aligned, 1);
	assert_int_equal(v.dkim_aligned, 0);
	assert_true(v.dns_queries <= DMARC_MAX_WALK);
	assert_int_equal(v.dns_queries, 8);
	dmarc_verdict_free(&v);
	/* B.4.3: psd=y at bank.test */
	run(&(struct sc){ "giant.bank.test", "mail.giant.bank.test",
	    SPFR_FAIL, "mail.mega.bank.test", "pass" }, &v);
	assert_int_equal(v.status, DMARC_QUARANTINE);
	assert_string_equal(v.org_domain, "giant.bank.test");
	assert_int_equal(v.dkim_aligned, 0);
	dmarc_verdict_free(&v);
	run(&(struct sc){ "giant.bank.test", "mail.giant.bank.test",
	    SPFR_PASS, 0, 0 }, &v);
	assert_int_equal(v.status, DMARC_ACCEPT);
	assert_int_equal(v.spf_aligned, 1);
	dmarc_verdict_free(&v);
	/* psd=n: dept.corp.test is its own Organizational Domain */
	run(&(struct sc){ "a.dept.corp.test", "b.corp.test", SPFR_PASS,
	    "dept.corp.test", "pass" }, &v);
	assert_int_equal(v.status, DMARC_ACCEPT);
	assert_string_equal(v.org_domain, "dept.corp.test");
	assert_string_equal(v.used_domain, "dept.corp.test");
	assert_string_equal(v.policy_tag, "p");	/* no sp: p */
	assert_int_equal(v.spf_aligned, 0);
	assert_int_equal(v.dkim_aligned, 1);
	assert_string_equal(v.dkim_aligned_domain, "dept.corp.test");
	dmarc_verdict_free(&v);
	/* the PSD's own record when the org domain has none */
	run(&(struct sc){ "shop.psdonly.test", 0, 0, 0, 0 }, &v);
	assert_int_equal(v.status, DMARC_REJECT);
	assert_string_equal(v.used_domain, "psdonly.test");
	assert_string_equal(v.org_domain, "shop.psdonly.test");
	assert_string_equal(v.policy_tag, "sp");
	assert_int_equal(v.psd, 'y');
	dmarc_verdict_free(&v);
}

static void
test_alignment(void **state)
{
	(void)state;
	mode(DMARC_RFC9989, 1);
	/* relaxed: a subdomain and the parent share reject.test */
	expect(&(struct sc){ "mail.reject.test", 0, 0, "reject.test",
	    "pass" }, DMARC_ACCEPT, "quarantine", "sp", "none");
	expect(&(struct sc){ "reject.test", "bounce.mail.reject.test",
	    SPFR_PASS, 0, 0 }, DMARC_ACCEPT, "reject", "p", "none");
	/* only a pass counts */
	expect(&(struct sc){ "reject.test", "reject.test", SPFR_SOFTFAIL,
	    "reject.test", "fail" }, DMARC_REJECT, "reject", "p", "reject");
	/* a public suffix never aligns */
	expect(&(struct sc){ "reject.test", "test", SPFR_PASS, "test",
	    "pass" }, DMARC_REJECT, "reject", "p", "reject");
	/* strict */
	expect(&(struct sc){ "strict.test", "sub.strict.test", SPFR_PASS,
	    "sub.strict.test", "pass" }, DMARC_REJECT, "reject", "p",
	    "reject");
	expect(&(struct sc){ "strict.test", 0, 0, "Strict.Test", "pass" },
	    DMARC_ACCEPT, "reject", "p", "none");
	mode(DMARC_RFC7489, 1);
	expect(&(struct sc){ "mail.reject.test", 0, 0, "reject.test",
	    "pass" }, DMARC_ACCEPT, "quarantine", "sp", "none");
	expect(&(struct sc){ "reject.test", "test", SPFR_PASS, "test",
	    "pass" }, DMARC_REJECT, "reject", "p", "reject");
	expect(&(struct sc){ "strict.test", "sub.strict.test", SPFR_PASS,
	    "sub.strict.test", "pass" }, DMARC_REJECT, "reject", "p",
	    "reject");
	expect(&(struct sc){ "strict.test", "strict.test", SPFR_PASS, 0, 0 },
	    DMARC_ACCEPT, "reject", "p", "none");
	mode(DMARC_RFC9989, 1);
}

static void
test_rfc7489(void **state)
{
	struct dmarc_verdict v;
	struct dmarc_opts bad = { DMARC_RFC7489, "/nonexistent/psl.dat", 0, 0,
	    NULL };
	const char *why = NULL;

	(void)state;
	assert_int_equal(dmarc_init(&bad, &why), -1);
	assert_non_null(strstr(why, "/nonexistent/psl.dat"));
	mode(DMARC_RFC7489, 1);
	expect(&(struct sc){ "reject.test", 0, 0, 0, 0 },
	    DMARC_REJECT, "reject", "p", "reject");
	expect(&(struct sc){ "mail.reject.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "sp", "quarantine");
	/* no np= in RFC 7489: sp */
	expect(&(struct sc){ "ghost.reject.test", 0, 0, 0, 0 },
	    DMARC_QUARANTINE, "quarantine", "sp", "quarantine");
	/* no t= in RFC 7489 */
	expect(&(struct sc){ "testing.test", 0, 0, 0, 0 },
	    DMARC_REJECT, "reject", "p", "reject");
	expect(&(struct sc){ "many.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	expect(&(struct sc){ "nop.test", 0, 0, 0, 0 },
	    DMARC_NORECORD, "", "", "");
	expect(&(struct sc){ "badp.test", 0, 0, 0, 0 },
	    DMARC_NONE, "none", "p", "none");
	expect(&(struct sc){ "host.timeout.invalid", 0, 0, 0, 0 },
	    DMARC_TEMPERROR, "", "", "");
	/* the PSL and the tree walk disagree: bank.test is not listed */
	run(&(struct sc){ "giant.bank.test", 0, 0, "mail.mega.bank.test",
	    "pass" }, &v);
	assert_int_equal(v.status, DMARC_ACCEPT);
	assert_string_equal(v.org_domain, "bank.test");
	assert_int_equal(v.dkim_aligned, 1);
	assert_string_equal(v.dkim_aligned_domain, "mail.mega.bank.test");
	dmarc_verdict_free(&v);
	/* 7489 walks nothing: the PSL's org domain directly */
	run(&(struct sc){ "a.b.c.d.e.f.g.h.i.j.k.deep.test", 0, 0, 0, 0 },
	    &v);
	assert_int_equal(v.status, DMARC_REJECT);
	assert_string_equal(v.used_domain, "deep.test");
	assert_int_equal(v.dns_queries, 2);
	dmarc_verdict_free(&v);
	run(&(struct sc){ "reject.test", "x.test", SPFR_FAIL, 0, 0 }, &v);
	assert_int_equal(v.nrua, 1);
	assert_string_equal(v.rua[0], "mailto:agg@reject.test");
	assert_int_equal(v.nruf, 1);
	assert_string_equal(v.fo, "1");
	assert_non_null(v.record);
	assert_non_null(strstr(v.record, "np=none"));
	dmarc_verdict_free(&v);
	mode(DMARC_RFC9989, 1);
}

static unsigned
sample_run(unsigned long seed, const char *from, unsigned n, char *seq)
{
	struct dmarc_verdict v;
	unsigned i, out = 0;

	mode(DMARC_RFC7489, seed);
	for (i = 0; i < n; i++) {
		run(&(struct sc){ from, 0, 0, 0, 0 }, &v);
		assert_string_equal(v.domain_policy, strcmp(from, "pct.test") ?
		    "quarantine" : "reject");
		if (v.sampled_out) {
			out++;
			assert_int_equal(v.status, strcmp(from, "pct.test") ?
			    DMARC_NONE : DMARC_QUARANTINE);
		} else
			assert_int_equal(v.status, DMARC_REJECT);
		if (seq != NULL)
			seq[i] = v.sampled_out ? '1' : '0';
		dmarc_verdict_free(&v);
	}
	return out;
}

static void
test_pct(void **state)
{
	char a[201] = { 0 }, b[201] = { 0 }, c[201] = { 0 };
	unsigned out;

	(void)state;
	out = sample_run(42, "pct.test", 200, a);
	assert_true(out > 60 && out < 140);
	assert_int_equal(sample_run(42, "pct.test", 200, b), out);
	assert_string_equal(a, b);		/* reproducible */
	sample_run(43, "pct.test", 200, c);
	assert_string_not_equal(a, c);
	assert_int_equal(sample_run(7, "pct0.test", 20, NULL), 20);
	mode(DMARC_RFC9989, 1);
}

static void
test_ar_header(void **state)
{
	struct dmarc_verdict v;
	struct dmarc_auth a = { 0 };

	(void)state;
	mode(DMARC_RFC9989, 1);
	assert_int_equal(dmarc_auth_set_spf(&a, SPFR_FAIL, "bounce.evil.test",
	    SPF_SCOPE_MFROM), 0);
	assert_int_equal(dmarc_auth_add_dkim(&a, "evil.test", "s1", "pass"),
	    0);
	assert_int_equal(dmarc_auth_add_dkim(&a, "reject.test", "", "fail"),
	    0);
	assert_int_equal(dmarc_eval("reject.test", &a, &v), 0);
	assert_string_equal(v.ar_header, "Authentication-Results: mx.test; "
	    "dkim=pass header.d=evil.test header.s=s1; "
	    "dkim=fail header.d=reject.test; "
	    "spf=fail smtp.mailfrom=bounce.evil.test; "
	    "dmarc=fail (p=reject dis=reject) header.from=reject.test "
	    "policy.dmarc=reject");
	assert_string_equal(v.result, "fail");
	dmarc_verdict_free(&v);
	dmarc_auth_clear(&a);
	assert_int_equal(dmarc_eval("norec.test", &a, &v), 0);
	assert_string_equal(v.ar_header, "Authentication-Results: mx.test; "
	    "dkim=none; spf=none; dmarc=none header.from=norec.test");
	assert_string_equal(v.used_domain, "norec.test");
	dmarc_verdict_free(&v);
	assert_int_equal(dmarc_eval(NULL, &a, &v), 0);
	assert_string_equal(v.ar_header, "Authentication-Results: mx.test; "
	    "dkim=none; spf=none; dmarc=permerror");
	assert_string_equal(v.status_text, "No From: domain found");
	dmarc_verdict_free(&v);
	assert_int_equal(dmarc_eval("x.timeout.invalid", NULL, &v), 0);
	assert_string_equal(v.result, "temperror");
	assert_non_null(strstr(v.ar_header, "dmarc=temperror"));
	dmarc_verdict_free(&v);
	/* HELO on its own aligns nothing */
	assert_int_equal(dmarc_auth_set_spf(&a, SPFR_PASS, "reject.test",
	    SPF_SCOPE_HELO), 0);
	assert_int_equal(dmarc_eval("reject.test", &a, &v), 0);
	assert_int_equal(v.status, DMARC_REJECT);
	assert_non_null(strstr(v.ar_header, "spf=pass smtp.helo=reject.test"));
	dmarc_verdict_free(&v);
	dmarc_auth_clear(&a);
}

static void
test_authres(void **state)
{
	struct dmarc_auth a = { 0 };
	struct msg m = { 0 };
	const char *why = NULL;
	static const char good[] =
	    "Authentication-Results: evil.test; spf=pass "
	    "smtp.mailfrom=x@evil.test; dkim=pass header.d=evil.test\n"
	    "Authentication-Results: MX.test; spf=fail "
	    "smtp.mailfrom=bob@reject.test;\n"
	    " dkim=pass (good) header.d=reject.test header.s=sel;\n"
	    " dkim=fail header.i=@other.test\n"
	    "Authentication-Results: evil.test; spf=pass smtp.mailfrom=\n"
	    "From: a@reject.test\n\nbody\n";
	static const char bad[] =
	    "Authentication-Results: mx.test; spf=pass smtp.mailfrom=\n"
	    "From: a@reject.test\n\nbody\n";

	(void)state;
	assert_int_equal(msg_parse(&m, good, strlen(good), &why), 0);
	assert_int_equal(dmarc_auth_from_authres(&a, &m, "mx.test", &why), 0);
	assert_int_equal(a.have_spf, 1);
	assert_int_equal(a.spf, SPFR_FAIL);
	assert_string_equal(a.spf_domain, "reject.test");
	assert_int_equal(a.spf_scope, SPF_SCOPE_MFROM);
	assert_int_equal(a.ndkim, 2);
	assert_string_equal(a.dkim[0].domain, "reject.test");
	assert_string_equal(a.dkim[0].selector, "sel");
	assert_string_equal(a.dkim[0].result, "pass");
	assert_string_equal(a.dkim[1].domain, "other.test");
	assert_string_equal(a.dkim[1].result, "fail");
	dmarc_auth_clear(&a);
	/* nobody trusted: nothing believed */
	assert_int_equal(dmarc_auth_from_authres(&a, &m, "other.test", &why),
	    0);
	assert_int_equal(a.have_spf, 0);
	assert_int_equal(a.ndkim, 0);
	msg_free(&m);
	memset(&m, 0, sizeof(m));
	assert_int_equal(msg_parse(&m, bad, strlen(bad), &why), 0);
	why = NULL;
	assert_int_equal(dmarc_auth_from_authres(&a, &m, "mx.test", &why), -1);
	assert_non_null(why);
	dmarc_auth_clear(&a);
	msg_free(&m);
}

/* ---- report destinations (RFC 7489 7.1) ---- */

#define LABEL62	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void
free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static unsigned long
queries(void)
{
	struct dns_stats st;

	dns_get_stats(&st);
	return st.queries;
}

/* l holds exactly the NULL-terminated want, in order. */
static void
assert_list(char **l, const char *const *want)
{
	size_t i;

	assert_non_null(l);
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(l[i]);
		assert_string_equal(l[i], want[i]);
	}
	assert_null(l[i]);
}

static void
test_report_destinations(void **state)
{
	struct dmarc_verdict v;
	const char *why = NULL;
	unsigned long q;
	char **l, *r, *uri[1], longdest[300];
	size_t len;
	static const char *const rua_want[] = { "agg@ext.test",
	    "agg@sub.ext.test", "a@rcv-ok.test", "c@rcv-wild.test",
	    "e@rcv-two.test", NULL };
	static const char *const ruf_want[] = { "fail@ext.test",
	    "forensic@rcv-over.test", "j@rcv-overbad.test", NULL };

	(void)state;
	mode(DMARC_RFC9989, 1);
	assert_int_equal(dmarc_eval("ext.test", NULL, &v), 0);
	assert_string_equal(v.used_domain, "ext.test");
	assert_string_equal(v.org_domain, "ext.test");

	/* rua: same organizational domain kept unasked; verified, wildcard
	 * and several-record receivers kept; the rest dropped, temperror
	 * included */
	l = dmarc_verified_addresses(&v, 0, &why);
	assert_list(l, rua_want);
	free_list(l);
	assert_non_null(why);
	assert_string_equal(why, "b@rcv-no.test: not authorized: no v=DMARC1 "
	    "record at ext.test._report._dmarc.rcv-no.test (and 4 more)");

	/* ruf: the receiver's ruf= overrides the address when it is at the
	 * same host, and is ignored when it points elsewhere */
	l = dmarc_verified_addresses(&v, 1, &why);
	assert_list(l, ruf_want);
	free_list(l);
	assert_non_null(why);
	assert_non_null(strstr(why, "k@rcv-no.test: not authorized"));

	/* the failure report goes to the verified ones only */
	r = dmarc_forensic_report(&v, NULL, "192.0.2.1", "r@mx.test", "", 0,
	    1700000000, &len, &why);
	assert_non_null(r);
	assert_non_null(strstr(r, "\r\nTo: fail@ext.test"));
	assert_non_null(strstr(r, "forensic@rcv-over.test"));
	assert_null(strstr(r, "k@rcv-no.test"));
	assert_null(strstr(r, "i@rcv-over.test"));
	assert_null(strstr(r, "evil@"));
	assert_non_null(why);
	free(r);
	dmarc_verdict_free(&v);

	/* inside the organizational domain: no DNS query at all */
	q = queries();
	l = dmarc_report_destinations("ext.test", "ext.test", (char *[]){
	    "mailto:a@ext.test", "mailto:b@deep.sub.EXT.test" }, 2, 0, &why);
	assert_list(l, (const char *const[]){ "a@ext.test",
	    "b@deep.sub.EXT.test", NULL });
	assert_null(why);
	assert_int_equal(queries(), q);
	free_list(l);

	/* verified, one query; the override of rua= (size limit dropped) */
	uri[0] = "mailto:a@rcv-ok.test";
	q = queries();
	l = dmarc_report_destinations("ext.test", NULL, uri, 1, 0, &why);
	assert_list(l, (const char *const[]){ "a@rcv-ok.test", NULL });
	assert_null(why);
	assert_int_equal(queries(), q + 1);
	free_list(l);
	uri[0] = "mailto:i@rcv-over.test";
	l = dmarc_report_destinations("EXT.test.", NULL, uri, 1, 0, &why);
	assert_list(l, (const char *const[]){ "agg@RCV-over.test", NULL });
	free_list(l);

	/* unverified: no record, a record for another policy domain, a
	 * wildcard hidden by the exact name; nothing left */
	uri[0] = "mailto:b@rcv-no.test";
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 1,
	    &why));
	assert_non_null(why);
	assert_string_equal(why, "b@rcv-no.test: not authorized: no v=DMARC1 "
	    "record at ext.test._report._dmarc.rcv-no.test");
	uri[0] = "mailto:h@rcv-only.test";
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 0,
	    &why));
	uri[0] = "mailto:g@rcv-wildno.test";
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 0,
	    &why));
	uri[0] = "mailto:f@rcv-notdmarc.test";
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 0,
	    &why));
	/* the wildcard answers for any policy domain */
	uri[0] = "mailto:c@rcv-wild.test";
	l = dmarc_report_destinations("another.test", NULL, uri, 1, 0, &why);
	assert_list(l, (const char *const[]){ "c@rcv-wild.test", NULL });
	free_list(l);
	/* without org_domain the policy domain is the boundary */
	uri[0] = "mailto:x@ext.test";
	assert_null(dmarc_report_destinations("sub.ext.test", NULL, uri, 1, 0,
	    &why));
	assert_non_null(strstr(why, "sub.ext.test._report._dmarc.ext.test"));

	/* temporary DNS failure: not verified (for now) */
	uri[0] = "mailto:d@rcv.timeout.invalid";
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 0,
	    &why));
	assert_non_null(why);
	assert_string_equal(why, "d@rcv.timeout.invalid: not verified: "
	    "temporary DNS failure at "
	    "ext.test._report._dmarc.rcv.timeout.invalid");

	/* a name too long to ask */
	/* (a 239-octet destination: the name to ask would be 263) */
	snprintf(longdest, sizeof(longdest), "mailto:x@%s.%s.%s.%.45s.test",
	    LABEL62, LABEL62, LABEL62, LABEL62);
	uri[0] = longdest;
	assert_null(dmarc_report_destinations("ext.test", NULL, uri, 1, 0,
	    &why));
	assert_non_null(strstr(why, "longer than a domain name"));

	/* nothing to verify, no policy domain */
	assert_null(dmarc_report_destinations("ext.test", NULL, NULL, 0, 1,
	    &why));
	assert_string_equal(why, "no ruf= mailto: address");
	assert_null(dmarc_report_destinations("ext.test", NULL,
	    (char *[]){ "https://x.test/" }, 1, 0, &why));
	assert_string_equal(why, "no rua= mailto: address");
	uri[0] = "mailto:a@rcv-ok.test";
	assert_null(dmarc_report_destinations("", NULL, uri, 1, 0, &why));
	assert_non_null(strstr(why, "policy domain"));
	assert_null(dmarc_report_destinations(NULL, NULL, uri, 1, 0, NULL));
	assert_null(dmarc_verified_addresses(NULL, 0, &why));
	assert_int_equal(dmarc_eval("norec.test", NULL, &v), 0);
	assert_null(dmarc_verified_addresses(&v, 0, &why));
	assert_non_null(why);
	dmarc_verdict_free(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_record_check),
		cmocka_unit_test(test_statuses_9989),
		cmocka_unit_test(test_tree_walk),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_rfc7489),
		cmocka_unit_test(test_pct),
		cmocka_unit_test(test_ar_header),
		cmocka_unit_test(test_authres),
		cmocka_unit_test(test_report_destinations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
