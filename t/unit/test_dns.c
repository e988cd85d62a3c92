/* test_dns: lib/dns against master files and, when the environment names
 * them (t/0040-unit-dns.t does), against NSD (DNS_TEST_SERVER), a server
 * that never answers (DNS_BLACKHOLE) and a port nobody listens on
 * (DNS_DEAD).  Zone files come from DNS_TEST_DATA (default t/data/dns). */
#include <pthread.h>
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

#include "dns.h"

#define NTHREADS 8

static char *
data_path(const char *name)
{
	static char buf[4][1024];
	static int i;
	const char *dir = getenv("DNS_TEST_DATA");

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir ? dir : "t/data/dns",
	    name);
	return buf[i];
}

static void
init_with(const char *resolver, unsigned timeout_ms, unsigned retries)
{
	struct dns_opts o = { resolver, timeout_ms, retries, 1, 1 };
	const char *why = NULL;

	dns_shutdown();
	if (dns_init(&o, &why) != 0)
		fail_msg("dns_init: %s", why);
}

static void
load(const char *file)
{
	char *why = NULL;

	if (dns_load_zone(data_path(file), &why) != 0)
		fail_msg("dns_load_zone: %s", why);
}

/* Zone tests point the resolver at a port where nothing answers, so a
 * lookup that leaks to the network shows as "network" and TEMPFAIL. */
static int
setup_zone(void **state)
{
	(void)state;
	unsetenv("MXKIT_DNS_ZONE");
	init_with("127.0.0.1:9", 100, 0);
	load("mxkit.test.zone");
	load("nosoa.zone");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dns_shutdown();
	return 0;
}

static struct dns_answer *
q(const char *name, ldns_rr_type type, enum dns_status want,
    const char *source)
{
	struct dns_answer *a = dns_query(name, type);

	assert_non_null(a);
	if (a->status != want)
		fail_msg("%s: got %s, want %s", name,
		    dns_status_str(a->status), dns_status_str(want));
	if (source != NULL)
		assert_string_equal(a->source, source);
	if (want == DNS_OK) {
		assert_non_null(a->rrs);
		assert_true(ldns_rr_list_rr_count(a->rrs) > 0);
	}
	return a;
}

static void
q_free(const char *name, ldns_rr_type type, enum dns_status want,
    const char *source)
{
	dns_answer_free(q(name, type, want, source));
}

static char *
rdf_str(const ldns_rr *rr, size_t i)
{
	return ldns_rdf2str(ldns_rr_rdf(rr, i));
}

static void
assert_rdf(const ldns_rr *rr, size_t i, const char *want)
{
	char *s = rdf_str(rr, i);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* dns_txt of name: exactly the n strings given. */
static void
assert_txt(const char *name, enum dns_status want, size_t n, ...)
{
	char **txt;
	size_t *lens, got, i;
	int secure = -1;
	va_list ap;
	const char *s;

	assert_int_equal(dns_txt(name, &txt, &lens, &got, &secure), want);
	assert_int_equal(got, n);
	assert_int_equal(secure, 0);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		s = va_arg(ap, const char *);
		assert_int_equal(lens[i], strlen(s));
		assert_string_equal(txt[i], s);
	}
	va_end(ap);
	dns_txt_free(txt, lens, got);
}

static void
test_zone_a(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 2);
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 0, "192.0.2.1");
	assert_rdf(ldns_rr_list_rr(a->rrs, 1), 0, "192.0.2.2");
	assert_int_equal(a->ttl, 300);
	assert_int_equal(a->secure, 0);
	dns_answer_free(a);
}

static void
test_zone_aaaa(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("v6.mxkit.test.", LDNS_RR_TYPE_AAAA, DNS_OK, "zone");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 1);
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 0, "2001:db8::1");
	dns_answer_free(a);
}

static void
test_zone_txt(void **state)
{
	(void)state;
	assert_txt("txt.mxkit.test", DNS_OK, 1, "v=spf1 -all");
	assert_txt("multi.mxkit.test", DNS_OK, 1, "hello world");
	assert_txt("two.mxkit.test", DNS_OK, 2, "first", "second");
	assert_txt("nope.mxkit.test", DNS_NXDOMAIN, 0);
	assert_txt("a.mxkit.test", DNS_NODATA, 0);
}

/* RFC 8616: a U-label name is looked up as its A-label. */
static void
test_zone_idn(void **state)
{
	(void)state;
	assert_txt("b\xc3\xbc" "cher.mxkit.test", DNS_OK, 1, "idn");
	assert_txt("B\xc3\x9c" "CHER.mxkit.test.", DNS_OK, 1, "idn");
	assert_txt("xn--bcher-kva.mxkit.test", DNS_OK, 1, "idn");
	assert_txt("bad\xff.mxkit.test", DNS_PERMFAIL, 0);
}

static void
test_zone_mx(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("mx.mxkit.test", LDNS_RR_TYPE_MX, DNS_OK, "zone");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 2);
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 0, "10");
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 1, "mail.mxkit.test.");
	assert_rdf(ldns_rr_list_rr(a->rrs, 1), 0, "20");
	dns_answer_free(a);
}

static void
test_zone_cname(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("alias.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "zone");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(a->rrs, 0)),
	    LDNS_RR_TYPE_TXT);
	dns_answer_free(a);
	assert_txt("alias2.mxkit.test", DNS_OK, 1, "v=spf1 -all");
	a = q("alias2.mxkit.test", LDNS_RR_TYPE_CNAME, DNS_OK, "zone");
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 0, "alias.mxkit.test.");
	dns_answer_free(a);
	q_free("alias.mxkit.test", LDNS_RR_TYPE_A, DNS_NODATA, "zone");
	q_free("loop1.mxkit.test", LDNS_RR_TYPE_TXT, DNS_PERMFAIL, "zone");
	/* a target outside the files: on to the (dead) network */
	q_free("outside.mxkit.test", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL,
	    "network");
}

static void
test_zone_delegation(void **state)
{
	(void)state;
	/* below sub.mxkit.test's NS records the file is not the zone */
	q_free("x.sub.mxkit.test", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL, "network");
	q_free("sub.mxkit.test", LDNS_RR_TYPE_A, DNS_TEMPFAIL, "network");
	q_free("subx.mxkit.test", LDNS_RR_TYPE_A, DNS_NXDOMAIN, "zone");
}

static void
test_zone_negative(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("nope.mxkit.test", LDNS_RR_TYPE_A, DNS_NXDOMAIN, "zone");
	assert_null(a->rrs);
	assert_int_equal(a->ttl, 60);	/* the SOA's minimum */
	dns_answer_free(a);
	q_free("deeper.nope.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NXDOMAIN,
	    "zone");
	q_free("a.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "zone");
	/* ent.mxkit.test has no records, x.ent.mxkit.test has */
	q_free("ent.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "zone");
	q_free("x.ent.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "zone");
	q_free("mxkit.test", LDNS_RR_TYPE_SOA, DNS_OK, "zone");
	q_free("mxkit.test", LDNS_RR_TYPE_NS, DNS_OK, "zone");
	q_free("mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "zone");
}

static void
test_zone_nosoa(void **state)
{
	(void)state;
	assert_txt("sel._domainkey.example.org", DNS_OK, 1,
	    "v=DKIM1; k=rsa; p=MFww");
	q_free("host.example.org", LDNS_RR_TYPE_A, DNS_OK, "zone");
	q_free("host.example.org", LDNS_RR_TYPE_AAAA, DNS_NODATA, "zone");
	/* Not its names: on to the (dead) network. */
	q_free("other.example.org", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL,
	    "network");
	q_free("_domainkey.example.org", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL,
	    "network");
	q_free("example.org", LDNS_RR_TYPE_A, DNS_TEMPFAIL, "network");
}

/* long.mxkit.test's two strings, joined. */
static const char *
long_txt(void)
{
	static char want[351];
	size_t i;

	for (i = 0; i < 200; i++)
		want[i] = (char)('a' + i % 26);
	for (i = 0; i < 150; i++)
		want[200 + i] = (char)('A' + i % 26);
	want[350] = '\0';
	return want;
}

static void
test_zone_long_txt(void **state)
{
	char **txt;
	size_t *lens, n;

	(void)state;
	assert_int_equal(dns_txt("long.mxkit.test", &txt, &lens, &n, NULL),
	    DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(lens[0], 350);
	assert_string_equal(txt[0], long_txt());
	dns_txt_free(txt, lens, n);
}

static void
test_zone_case(void **state)
{
	struct dns_answer *a;

	(void)state;
	assert_txt("mixed.mxkit.test", DNS_OK, 1, "case kept");
	assert_txt("MIXED.MXKIT.TEST.", DNS_OK, 1, "case kept");
	a = q("A.MxKit.Test", LDNS_RR_TYPE_A, DNS_OK, "zone");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 2);
	dns_answer_free(a);
	q_free("NOPE.MXKIT.TEST", LDNS_RR_TYPE_A, DNS_NXDOMAIN, "zone");
	q_free("SEL._DomainKey.Example.ORG", LDNS_RR_TYPE_TXT, DNS_OK,
	    "zone");
}

static void
test_zone_ttl(void **state)
{
	struct dns_answer *a;

	(void)state;
	a = q("ttl.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "zone");
	assert_int_equal(a->ttl, 60);
	dns_answer_free(a);
}

static void
test_zone_bad(void **state)
{
	char *why = NULL;

	(void)state;
	assert_int_equal(dns_load_zone(data_path("bad.zone"), &why), -1);
	assert_non_null(why);
	if (strstr(why, "bad.zone:4:") == NULL)
		fail_msg("message does not name line 4: %s", why);
	free(why);
	why = NULL;
	assert_int_equal(dns_load_zone(data_path("missing.zone"), &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, "missing.zone"));
	free(why);
	/* the good zones still answer */
	q_free("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
}

static void
test_invalid_names(void **state)
{
	char label[80], name[300];
	struct dns_stats before, after;
	size_t i;

	(void)state;
	dns_get_stats(&before);
	memset(label, 'x', 64);
	strcpy(label + 64, ".mxkit.test");
	q_free(label, LDNS_RR_TYPE_A, DNS_PERMFAIL, NULL);
	strcpy(label + 63, ".mxkit.test");	/* 63 octets are fine */
	q_free(label, LDNS_RR_TYPE_A, DNS_NXDOMAIN, "zone");
	/* 254 characters without the trailing dot */
	for (i = 0; i < 254; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = 'a';
	name[254] = '\0';
	q_free(name, LDNS_RR_TYPE_A, DNS_PERMFAIL, NULL);
	name[253] = '\0';	/* 253: the longest */
	q_free(name, LDNS_RR_TYPE_A, DNS_TEMPFAIL, "network");
	q_free("", LDNS_RR_TYPE_A, DNS_PERMFAIL, NULL);
	q_free("a..mxkit.test", LDNS_RR_TYPE_A, DNS_PERMFAIL, NULL);
	q_free(NULL, LDNS_RR_TYPE_A, DNS_PERMFAIL, NULL);
	dns_get_stats(&after);
	assert_int_equal(after.network - before.network, 1);
}

static void
test_zone_stats(void **state)
{
	struct dns_stats s;

	(void)state;
	q_free("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
	q_free("nope.mxkit.test", LDNS_RR_TYPE_A, DNS_NXDOMAIN, "zone");
	dns_get_stats(&s);
	assert_int_equal(s.queries, 2);
	assert_int_equal(s.zone_hits, 2);
	assert_int_equal(s.network, 0);
	assert_int_equal(s.cache_hits, 0);
}

static void
test_env(void **state)
{
	char list[2100], *saved = NULL;
	const char *why = NULL;
	struct dns_opts o = { NULL, 100, 0, 1, 1 };

	(void)state;
	if (getenv("MXKIT_RESOLVER") != NULL)
		saved = strdup(getenv("MXKIT_RESOLVER"));
	dns_shutdown();
	snprintf(list, sizeof(list), "%s:%s", data_path("nosoa.zone"),
	    data_path("mxkit.test.zone"));
	setenv("MXKIT_DNS_ZONE", list, 1);
	setenv("MXKIT_RESOLVER", "127.0.0.1:9", 1);
	assert_int_equal(dns_init(&o, &why), 0);
	q_free("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
	q_free("host.example.org", LDNS_RR_TYPE_A, DNS_OK, "zone");
	dns_shutdown();

	setenv("MXKIT_DNS_ZONE", data_path("bad.zone"), 1);
	assert_int_equal(dns_init(&o, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, "bad.zone:4:"));
	dns_shutdown();
	unsetenv("MXKIT_DNS_ZONE");

	setenv("MXKIT_RESOLVER", "not-an-address", 1);
	assert_int_equal(dns_init(&o, &why), -1);
	assert_non_null(strstr(why, "not-an-address"));
	dns_shutdown();
	o.resolver = "[::1]:53";
	assert_int_equal(dns_init(&o, &why), 0);
	dns_shutdown();
	o.resolver = "127.0.0.1:99999";
	assert_int_equal(dns_init(&o, &why), -1);
	dns_shutdown();
	o.resolver = "::1";
	assert_int_equal(dns_init(&o, &why), 0);
	if (saved != NULL)
		setenv("MXKIT_RESOLVER", saved, 1);
	else
		unsetenv("MXKIT_RESOLVER");
	free(saved);
}

/* ---- trust anchors ---- */

#define DS_LINE "mxkit.test. 3600 IN DS 12345 13 2 " \
	"3cd145232205b60debd48c0e7842c418f0ebafbf3f7ff74f337fedf59fbb4e1a\n"
/* RFC 6605 6.1's key: any well-formed P-256 key will do. */
#define KEY_LINE "other.test. IN DNSKEY 257 3 13 " \
	"GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+" \
	"e+MAnLr+Wi9xMWyQLc8NAA==\n"

/* A file holding text, its path in a static buffer. */
static const char *
anchor_file(const char *text)
{
	static char path[64];
	FILE *fp = NULL;
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_dns_anchor.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
		fail_msg("mkstemp: %s", path);
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* dns_trust_anchor on text fails, saying want. */
static void
anchor_bad(const char *text, const char *want)
{
	const char *path = anchor_file(text), *why = NULL;
	char where[96];

	assert_int_equal(dns_trust_anchor(path, &why), -1);
	assert_non_null(why);
	snprintf(where, sizeof(where), "trust anchor %s%s", path, want);
	if (strncmp(why, where, strlen(where)) != 0)
		fail_msg("want \"%s...\", got \"%s\"", where, why);
	unlink(path);
}

static void
test_anchor_files(void **state)
{
	const char *path, *why = NULL;

	(void)state;
	path = anchor_file("; anchors\n$TTL 300\n\n" DS_LINE KEY_LINE
	    "$ORIGIN test.\nthird IN DS 1 8 2 "
	    "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\n");
	assert_int_equal(dns_trust_anchor(path, &why), 0);
	assert_null(why);
	unlink(path);
	anchor_bad(DS_LINE "\nmxkit.test. IN DS 1 2\n", ":3: ");
	anchor_bad(DS_LINE "a.mxkit.test. IN A 192.0.2.1\n",
	    ":2: not a DS or DNSKEY record");
	anchor_bad("; nothing\n", ": no DS or DNSKEY record");
	anchor_bad("$INCLUDE /etc/passwd\n", ":1: $INCLUDE");
	assert_int_equal(dns_trust_anchor("/nonexistent/anchors", &why), -1);
	assert_string_equal(why,
	    "trust anchor /nonexistent/anchors: No such file or directory");
	/* Without anchors again, zone answers are as ever. */
	assert_int_equal(dns_trust_anchor(NULL, &why), 0);
	q_free("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
}

static void
test_anchor_env(void **state)
{
	struct dns_opts o = { "127.0.0.1:9", 100, 0, 1, 1 };
	const char *path = anchor_file("garbage\n"), *why = NULL;

	(void)state;
	dns_shutdown();
	setenv("MXKIT_TRUST_ANCHOR", path, 1);
	assert_int_equal(dns_init(&o, &why), -1);
	assert_non_null(why);
	assert_int_equal(strncmp(why, "trust anchor ", 13), 0);
	assert_non_null(strstr(why, ":1: "));
	unlink(path);
	dns_shutdown();
	path = anchor_file(DS_LINE);
	setenv("MXKIT_TRUST_ANCHOR", path, 1);
	assert_int_equal(dns_init(&o, &why), 0);
	unlink(path);
	/* Zone files answer first, and are never secure. */
	load("mxkit.test.zone");
	q_free("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "zone");
	unsetenv("MXKIT_TRUST_ANCHOR");
}

/* ---- against servers ---- */

static const char *
env_or_skip(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		skip();
	return v;
}

static int
setup_net(void **state)
{
	(void)state;
	unsetenv("MXKIT_DNS_ZONE");
	dns_shutdown();
	return 0;
}

static void
net_init(void)
{
	init_with(env_or_skip("DNS_TEST_SERVER"), 2000, 2);
}

static void
test_net_txt(void **state)
{
	struct dns_stats s;
	struct dns_answer *a;

	(void)state;
	net_init();
	assert_txt("multi.mxkit.test", DNS_OK, 1, "hello world");
	assert_txt("two.mxkit.test", DNS_OK, 2, "first", "second");
	a = q("multi.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "cache");
	assert_in_range(a->ttl, 1, 300);
	dns_answer_free(a);
	q_free("MULTI.mxkit.test.", LDNS_RR_TYPE_TXT, DNS_OK, "cache");
	dns_get_stats(&s);
	assert_int_equal(s.network, 2);
	assert_int_equal(s.cache_hits, 2);
	assert_int_equal(s.queries, 4);
}

static void
test_net_records(void **state)
{
	struct dns_answer *a;

	(void)state;
	net_init();
	a = q("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "network");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 2);
	assert_int_equal(a->secure, 0);
	dns_answer_free(a);
	a = q("v6.mxkit.test", LDNS_RR_TYPE_AAAA, DNS_OK, "network");
	assert_rdf(ldns_rr_list_rr(a->rrs, 0), 0, "2001:db8::1");
	dns_answer_free(a);
	a = q("mx.mxkit.test", LDNS_RR_TYPE_MX, DNS_OK, "network");
	assert_int_equal(ldns_rr_list_rr_count(a->rrs), 2);
	dns_answer_free(a);
	/* CNAME chain, followed within the answer section */
	assert_txt("alias2.mxkit.test", DNS_OK, 1, "v=spf1 -all");
	assert_txt("long.mxkit.test", DNS_OK, 1, long_txt());
}

static void
test_net_negative(void **state)
{
	struct dns_stats s;
	struct dns_answer *a;

	(void)state;
	net_init();
	a = q("nope.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NXDOMAIN, "network");
	assert_int_equal(a->ttl, 60);	/* min(SOA TTL, SOA minimum) */
	dns_answer_free(a);
	q_free("nope.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NXDOMAIN, "cache");
	q_free("a.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "network");
	q_free("a.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "cache");
	q_free("ent.mxkit.test", LDNS_RR_TYPE_TXT, DNS_NODATA, "network");
	dns_get_stats(&s);
	assert_int_equal(s.network, 3);
	assert_int_equal(s.cache_hits, 2);
	/* a CNAME loop */
	q_free("loop1.mxkit.test", LDNS_RR_TYPE_TXT, DNS_PERMFAIL, "network");
	/* a referral from a server that does not recurse */
	q_free("x.sub.mxkit.test", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL, "network");
	/* NSD is not authoritative for example.com: REFUSED */
	q_free("example.com", LDNS_RR_TYPE_A, DNS_PERMFAIL, "network");
}

static void
test_net_env_resolver(void **state)
{
	const char *why;

	(void)state;
	env_or_skip("MXKIT_RESOLVER");
	assert_int_equal(dns_init(NULL, &why), 0);
	assert_txt("txt.mxkit.test", DNS_OK, 1, "v=spf1 -all");
}

static void
test_net_no_cache(void **state)
{
	struct dns_opts o = { NULL, 2000, 2, 0, 0 };
	struct dns_stats s;
	const char *why;

	(void)state;
	o.resolver = env_or_skip("DNS_TEST_SERVER");
	assert_int_equal(dns_init(&o, &why), 0);
	q_free("txt.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "network");
	q_free("txt.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "network");
	dns_get_stats(&s);
	assert_int_equal(s.network, 2);
}

static void
test_net_zone_first(void **state)
{
	struct dns_stats s;

	(void)state;
	net_init();
	load("nosoa.zone");
	q_free("host.example.org", LDNS_RR_TYPE_A, DNS_OK, "zone");
	q_free("txt.mxkit.test", LDNS_RR_TYPE_TXT, DNS_OK, "network");
	dns_get_stats(&s);
	assert_int_equal(s.zone_hits, 1);
	assert_int_equal(s.network, 1);
}

/* 20 strings of 250 octets: no UDP answer holds it, so TC, then TCP. */
static void
test_net_tcp_fallback(void **state)
{
	char **txt;
	size_t *lens, n, i;
	struct dns_stats s;

	(void)state;
	net_init();
	assert_int_equal(dns_txt("big.mxkit.test", &txt, &lens, &n, NULL),
	    DNS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(lens[0], 5000);
	for (i = 0; i < 20; i++) {
		char want[3];

		snprintf(want, sizeof(want), "%02zu", i);
		assert_memory_equal(txt[0] + i * 250, want, 2);
	}
	dns_txt_free(txt, lens, n);
	dns_get_stats(&s);
	assert_int_equal(s.network, 1);
	assert_int_equal(s.tcp, 1);
	assert_int_equal(s.timeouts, 0);
}

struct worker {
	pthread_barrier_t *start;
	int id;
	int ok;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char name[64], **txt;
	size_t *lens, n;
	int round;

	pthread_barrier_wait(w->start);
	w->ok = 1;
	for (round = 0; round < 3; round++) {
		if (dns_txt("shared.mxkit.test", &txt, &lens, &n, NULL) !=
		    DNS_OK || n != 1 || strcmp(txt[0], "one query for all"))
			w->ok = 0;
		dns_txt_free(txt, lens, n);
		snprintf(name, sizeof(name), "T%d.mxkit.test", w->id);
		if (dns_txt(name, &txt, &lens, &n, NULL) != DNS_OK || n != 1)
			w->ok = 0;
		dns_txt_free(txt, lens, n);
	}
	return NULL;
}

static void
test_net_threads(void **state)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	pthread_barrier_t start;
	struct dns_stats s;
	int i;

	(void)state;
	net_init();
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		w[i].start = &start;
		w[i].id = i;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < NTHREADS; i++)
		assert_true(w[i].ok);
	dns_get_stats(&s);
	/* one query for the shared name, one for each thread's own */
	assert_int_equal(s.network, 1 + NTHREADS);
	assert_int_equal(s.queries, NTHREADS * 6);
	assert_int_equal(s.cache_hits, NTHREADS * 6 - (1 + NTHREADS));
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* DNS down: TEMPFAIL after timeout * (retries + 1), never NXDOMAIN, and
 * not cached.  The bound is loose (under the 6 s of the defaults). */
static void
expect_down(const char *server)
{
	struct timespec t0;
	struct dns_stats s;
	long ms;

	init_with(server, 200, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q_free("txt.mxkit.test", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL, "network");
	ms = elapsed_ms(&t0);
	if (ms > 3000)
		fail_msg("TEMPFAIL took %ld ms", ms);
	q_free("txt.mxkit.test", LDNS_RR_TYPE_TXT, DNS_TEMPFAIL, "network");
	dns_get_stats(&s);
	assert_int_equal(s.network, 2);
	assert_int_equal(s.timeouts, 2);
	assert_int_equal(s.cache_hits, 0);
}

static void
test_net_blackhole(void **state)
{
	(void)state;
	expect_down(env_or_skip("DNS_BLACKHOLE"));
}

static void
test_net_dead_port(void **state)
{
	(void)state;
	expect_down(env_or_skip("DNS_DEAD"));
}

/* NSD serves mxkit.test unsigned: under an anchor that is bogus (there is
 * no DNSKEY to match the DS); outside every anchor, insecure. */
static void
test_net_anchor(void **state)
{
	const char *path = anchor_file(DS_LINE KEY_LINE), *why = NULL;
	struct dns_answer *a;

	(void)state;
	net_init();
	assert_int_equal(dns_trust_anchor(path, &why), 0);
	unlink(path);
	a = q("a.mxkit.test", LDNS_RR_TYPE_A, DNS_TEMPFAIL, "network");
	assert_null(a->rrs);
	assert_non_null(a->why);
	if (strstr(a->why, "mxkit.test.: no DNSKEY") == NULL)
		fail_msg("why: %s", a->why);
	dns_answer_free(a);
	q_free("nope.mxkit.test", LDNS_RR_TYPE_A, DNS_TEMPFAIL, "network");

	path = anchor_file(KEY_LINE);
	assert_int_equal(dns_trust_anchor(path, &why), 0);
	unlink(path);
	a = q("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "network");
	assert_int_equal(a->secure, 0);
	assert_null(a->why);
	dns_answer_free(a);
	a = q("a.mxkit.test", LDNS_RR_TYPE_A, DNS_OK, "cache");
	assert_int_equal(a->secure, 0);
	dns_answer_free(a);
	q_free("nope.mxkit.test", LDNS_RR_TYPE_A, DNS_NXDOMAIN, "network");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_zone_a, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_aaaa, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_txt, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_idn, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_mx, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_cname, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_negative, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_delegation,
		    setup_zone, teardown),
		cmocka_unit_test_setup_teardown(test_zone_nosoa, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_long_txt, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_case, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_ttl, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_bad, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_names, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_zone_stats, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_env, setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_net_txt, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_records, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_negative, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_env_resolver,
		    setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_net_no_cache, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_zone_first, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_tcp_fallback,
		    setup_net, teardown),
		cmocka_unit_test_setup_teardown(test_net_threads, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_blackhole, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_dead_port, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_anchor_files, setup_zone,
		    teardown),
		cmocka_unit_test_setup_teardown(test_anchor_env, setup_net,
		    teardown),
		cmocka_unit_test_setup_teardown(test_net_anchor, setup_net,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
