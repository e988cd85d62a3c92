/* Unit tests for lib/spf_record: RFC 7208's record grammar (section 12)
 * and every macro expansion example of section 7.4. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "spf_record.h"

static int
parses(const char *rec)
{
	struct spf_parsed p;
	char why[160];
	int r = spf_record_parse(rec, strlen(rec), &p, why, sizeof(why));

	if (r == 0)
		spf_parsed_free(&p);
	return r == 0;
}

static void
test_version_selection(void **state)
{
	(void)state;
	assert_true(spf_record_is_spf1("v=spf1", 6));
	assert_true(spf_record_is_spf1("v=spf1 -all", 11));
	assert_true(spf_record_is_spf1("V=SPF1 a", 8));
	assert_false(spf_record_is_spf1("v=spf10 a", 9));
	assert_false(spf_record_is_spf1("v=spf1\ta", 8));
	assert_false(spf_record_is_spf1("v=spf", 5));
	assert_false(spf_record_is_spf1("spf2.0/pra -all", 15));
}

/* The records of RFC 7208 appendix A and section 12's productions. */
static void
test_valid_records(void **state)
{
	static const char *const ok[] = {
		"v=spf1",
		"v=spf1 ",
		"v=spf1  a   -all  ",
		"v=spf1 +all",
		"v=spf1 a -all",
		"v=spf1 a:example.org -all",
		"v=spf1 mx -all",
		"v=spf1 mx:example.org -all",
		"v=spf1 mx mx:example.org -all",
		"v=spf1 mx/30 mx:example.org/30 -all",
		"v=spf1 ptr -all",
		"v=spf1 ip4:192.0.2.128/28 -all",
		"v=spf1 include:example.com include:example.net -all",
		"v=spf1 redirect=example.org",
		"v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 ~all",
		"v=spf1 ip6:::ffff:192.0.2.1/128 ?all",
		"v=spf1 a//64 a/24//64 mx//0 a:example.org/0",
		"v=spf1 ip4:0.0.0.0/0 ip6:::/0",
		"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
		"v=spf1 mx -all exp=explain._spf.%{d}",
		"v=spf1 a:foo.example.com. -all",
		"V=SPF1 A:EXAMPLE.COM MX:Example.Com -ALL",
		"v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
		"v=spf1 a:xn--bcher-kva.example a:foo.a-1 -all",
		"v=spf1 a:%{d} include:%{d2}.example.net",
		"v=spf1 foo=%%%_%-bar ?all",
		"v=spf1 exists:%{i}.%{s1}.100/86400.rate.%{d}",
		"v=spf1 mx:%%%_/.Claranet.de/27",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] != NULL && !parses(ok[i]))
			fail_msg("rejected: %s", ok[i]);
}

static void
test_invalid_records(void **state)
{
	static const char *const bad[] = {
		"v=spf1 ip4:1.2.3.4/33",
		"v=spf1 ip4:1.2.3.4/032",
		"v=spf1 ip4:1.2.3",
		"v=spf1 ip4:01.2.3.4",
		"v=spf1 ip4:1.2.3.256",
		"v=spf1 ip4:1.2.3.4:8080",
		"v=spf1 ip4:1.2.3.4//32",
		"v=spf1 ip4",
		"v=spf1 ip6:::1/129",
		"v=spf1 ip6:2001:db8:zzzz::",
		"v=spf1 ip6:1.2.3.4",
		"v=spf1 a/33",
		"v=spf1 a//129",
		"v=spf1 a:foo",
		"v=spf1 a:111.222.33.44",
		"v=spf1 a:example.com-",
		"v=spf1 a:example.-com",
		"v=spf1 a:",
		"v=spf1 a:.",
		"v=spf1 mx:example.123",
		"v=spf1 include:",
		"v=spf1 include",
		"v=spf1 exists",
		"v=spf1 exists:",
		"v=spf1 exists:example.com/24",
		"v=spf1 all:foo",
		"v=spf1 all/8",
		"v=spf1 -all/8",
		"v=spf1 ptr/24",
		"v=spf1 =a",
		"v=spf1 a\tmx",
		"v=spf1 a:\xc3\xa9.example.com",
		"v=spf1 a:ex\x01mple.com",
		"v=spf1 redirect=a.example.com redirect=b.example.com",
		"v=spf1 exp=a.example.com exp=b.example.com",
		"v=spf1 redirect=",
		"v=spf1 exp=",
		"v=spf1 redirect=foo",
		"v=spf1 a:%{x}.example.com",
		"v=spf1 a:%{c}.example.com",
		"v=spf1 a:%{d0}.example.com",
		"v=spf1 a:%{d}%.example.com",
		"v=spf1 a:foo%.example.com",
		"v=spf1 a:%{d",
		"v=spf1 foo=%",
		"v=spf1 foo=bar%{z}",
		"v=spf1 foo",
		"v=spf1 -exp=example.com",
		"v=spf1 1a=b",
		"v=spf1 default=-",
		"v=spf1 a:%{d}.%{ir}.example.com%",
		"v=spf1 a:foo.%-",
		"spf2.0/pra a",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parses(bad[i]) && strcmp(bad[i], "v=spf1 default=-") != 0)
			fail_msg("accepted: %s", bad[i]);
	/* default= is an unknown modifier now (RFC 7208 6): valid */
	assert_true(parses("v=spf1 default=-"));
}

static void
test_terms_are_split_right(void **state)
{
	struct spf_parsed p;
	char why[160];
	const char *r = "v=spf1 -a:example.org/24//64 ~mx//48 ip4:192.0.2.0/0 "
	    "include:x.example.com redirect=y.example.com exp=z.example.com "
	    "foo.bar=baz ?all";

	(void)state;
	assert_int_equal(spf_record_parse(r, strlen(r), &p, why, sizeof(why)),
	    0);
	assert_int_equal(p.n, 8);
	assert_int_equal(p.t[0].kind, SPFT_A);
	assert_int_equal(p.t[0].qualifier, '-');
	assert_int_equal(p.t[0].cidr4, 24);
	assert_int_equal(p.t[0].cidr6, 64);
	assert_int_equal(p.t[0].spec_len, strlen("example.org"));
	assert_memory_equal(p.t[0].spec, "example.org", p.t[0].spec_len);
	assert_int_equal(p.t[1].kind, SPFT_MX);
	assert_null(p.t[1].spec);
	assert_int_equal(p.t[1].cidr4, -1);
	assert_int_equal(p.t[1].cidr6, 48);
	assert_int_equal(p.t[2].kind, SPFT_IP4);
	assert_int_equal(p.t[2].cidr4, 0);
	assert_int_equal(p.t[2].addr[0], 192);
	assert_int_equal(p.t[3].kind, SPFT_INCLUDE);
	assert_int_equal(p.t[4].kind, SPFT_REDIRECT);
	assert_int_equal(p.redirect, 4);
	assert_int_equal(p.t[5].kind, SPFT_EXP);
	assert_int_equal(p.exp, 5);
	assert_int_equal(p.t[6].kind, SPFT_UNKNOWN_MOD);
	assert_int_equal(p.t[7].kind, SPFT_ALL);
	assert_int_equal(p.t[7].qualifier, '?');
	assert_true(p.has_all);
	spf_parsed_free(&p);
}

static void
test_why_names_the_term(void **state)
{
	struct spf_parsed p;
	char why[160];
	const char *r = "v=spf1 a ip4:1.2.3.4/33 -all";

	(void)state;
	assert_int_equal(spf_record_parse(r, strlen(r), &p, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "ip4:1.2.3.4/33"));
}

static void
test_domain_specs(void **state)
{
	(void)state;
	assert_true(spf_domain_spec_valid("example.com", 11));
	assert_true(spf_domain_spec_valid("example.com.", 12));
	assert_true(spf_domain_spec_valid("%{d}", 4));
	assert_true(spf_domain_spec_valid("_spf.%{d2}", 10));
	assert_true(spf_domain_spec_valid("a.b-c", 5));
	assert_true(spf_domain_spec_valid("a.1-2", 5));
	assert_false(spf_domain_spec_valid("example", 7));
	assert_false(spf_domain_spec_valid("example.1", 9));
	assert_false(spf_domain_spec_valid("example.-a", 10));
	assert_false(spf_domain_spec_valid("", 0));
	assert_false(spf_domain_spec_valid("%{d}.", 5));
	assert_true(spf_macro_valid("%{c} %{r} %{t}", 14, 1));
	assert_false(spf_macro_valid("%{c}", 4, 0));
	assert_false(spf_macro_valid("a b", 3, 0));
}

/* RFC 7208 7.4's sender and addresses. */
static const char *
ptr_name(void *arg)
{
	(void)arg;
	return "mx.example.org";
}

static void
ctx4(struct spf_macro_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->local = "strong-bad";
	c->sender_dom = "email.example.com";
	c->domain = "email.example.com";
	c->family = AF_INET;
	inet_pton(AF_INET, "192.0.2.3", c->ip);
	c->helo = "mx.example.org";
	c->receiver = "mail.example.net";
	c->now = 1234567890;
	c->ptr_name = ptr_name;
}

static void
expect(const struct spf_macro_ctx *c, int exp, const char *in,
    const char *want)
{
	char *out = NULL;
	const char *why = NULL;

	if (spf_macro_expand(in, strlen(in), exp, c, &out, &why) != 0)
		fail_msg("%s: %s", in, why);
	if (strcmp(out, want) != 0)
		fail_msg("%s gave \"%s\", want \"%s\"", in, out, want);
	free(out);
}

static void
test_rfc7208_7_4_examples(void **state)
{
	struct spf_macro_ctx c;

	(void)state;
	ctx4(&c);
	expect(&c, 0, "%{s}", "strong-bad@email.example.com");
	expect(&c, 0, "%{o}", "email.example.com");
	expect(&c, 0, "%{d}", "email.example.com");
	expect(&c, 0, "%{d4}", "email.example.com");
	expect(&c, 0, "%{d3}", "email.example.com");
	expect(&c, 0, "%{d2}", "example.com");
	expect(&c, 0, "%{d1}", "com");
	expect(&c, 0, "%{dr}", "com.example.email");
	expect(&c, 0, "%{d2r}", "example.email");
	expect(&c, 0, "%{l}", "strong-bad");
	expect(&c, 0, "%{l-}", "strong.bad");
	expect(&c, 0, "%{lr}", "strong-bad");
	expect(&c, 0, "%{lr-}", "bad.strong");
	expect(&c, 0, "%{l1r-}", "strong");
	expect(&c, 0, "%{ir}.%{v}._spf.%{d2}",
	    "3.2.0.192.in-addr._spf.example.com");
	expect(&c, 0, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	expect(&c, 0, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expect(&c, 0, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expect(&c, 0, "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net");
	c.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::cb01", c.ip);
	expect(&c, 0, "%{ir}.%{v}._spf.%{d2}",
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
}

static void
test_other_macros(void **state)
{
	struct spf_macro_ctx c;

	(void)state;
	ctx4(&c);
	expect(&c, 0, "%{p}", "mx.example.org");
	expect(&c, 0, "%{p2}", "example.org");
	expect(&c, 0, "%{h}", "mx.example.org");
	expect(&c, 0, "%{S}", "strong-bad%40email.example.com");
	expect(&c, 0, "%%%_%-", "% %20");
	expect(&c, 0, "%{D}.example.com.", "email.example.com.example.com");
	expect(&c, 1, "%{c} via %{r} at %{t}.",
	    "192.0.2.3 via mail.example.net at 1234567890.");
	c.ptr_name = NULL;
	expect(&c, 0, "%{p}", "unknown");
	c.family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::cb01", c.ip);
	expect(&c, 1, "%{c}", "2001:db8::cb01");
	expect(&c, 0, "%{v}", "ip6");
}

static void
test_long_expansion_loses_left_labels(void **state)
{
	struct spf_macro_ctx c;
	char local[70], *out = NULL;
	const char *why;
	const char *spec = "%{l}.%{l}.%{l}.%{l}.%{l}.example.com";

	(void)state;
	ctx4(&c);
	memset(local, 'x', 60);
	local[60] = '\0';
	c.local = local;
	assert_int_equal(spf_macro_expand(spec, strlen(spec), 0, &c, &out,
	    &why), 0);
	assert_true(strlen(out) <= 253);
	assert_string_equal(out + strlen(out) - 12, ".example.com");
	assert_true(spf_name_lookupable(out));
	free(out);
	assert_int_equal(spf_macro_expand("%{x}", 4, 0, &c, &out, &why), -1);
	assert_int_equal(spf_macro_expand("%{c}", 4, 0, &c, &out, &why), -1);
}

static void
test_lookupable_names(void **state)
{
	char big[300];

	(void)state;
	assert_true(spf_name_lookupable("example.com"));
	assert_false(spf_name_lookupable(""));
	assert_false(spf_name_lookupable("a..example.com"));
	assert_false(spf_name_lookupable(".example.com"));
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	assert_false(spf_name_lookupable(big));
	big[1] = '.';
	assert_true(spf_name_lookupable(big));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_selection),
		cmocka_unit_test(test_valid_records),
		cmocka_unit_test(test_invalid_records),
		cmocka_unit_test(test_terms_are_split_right),
		cmocka_unit_test(test_why_names_the_term),
		cmocka_unit_test(test_domain_specs),
		cmocka_unit_test(test_rfc7208_7_4_examples),
		cmocka_unit_test(test_other_macros),
		cmocka_unit_test(test_long_expansion_loses_left_labels),
		cmocka_unit_test(test_lookupable_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
