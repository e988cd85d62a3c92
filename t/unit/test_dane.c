/* test_dane: the DNS half of lib/dane against a master file (answers
 * from zone files are never DNSSEC-secure, so these cover the record
 * logic; t/0820 covers the secure paths on a validating resolver). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dane.h"
#include "dns.h"

static int
setup(void **state)
{
	struct dns_opts o = { .resolver = "127.0.0.1:9", .timeout_ms = 200,
	    .dnssec = 1, .use_cache = 1 };
	const char *dir = getenv("DANE_TEST_DATA");
	const char *why = NULL;
	char path[1024], *zwhy = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/dane.zone",
	    dir != NULL ? dir : "t/data/dane");
	if (dns_init(&o, &why) != 0)
		fail_msg("dns_init: %s", why);
	if (dns_load_zone(path, &zwhy) != 0)
		fail_msg("dns_load_zone: %s", zwhy);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	dns_shutdown();
	return 0;
}

static void
test_mx_sorted_stable(void **state)
{
	struct dane_mxset m;

	(void)state;
	assert_int_equal(dane_mx_lookup("multi.example.test", &m), 0);
	assert_int_equal(m.status, DANE_MX_OK);
	assert_int_equal(m.n, 3);
	assert_string_equal(m.mx[0].host, "a.mx.example.test");
	assert_int_equal(m.mx[0].pref, 10);
	assert_string_equal(m.mx[1].host, "b.mx.example.test");
	assert_string_equal(m.mx[2].host, "c.mx.example.test");
	assert_int_equal(m.sec, DANE_SEC_INSECURE);
	dane_mxset_free(&m);
}

static void
test_mx_null(void **state)
{
	struct dane_mxset m;

	(void)state;
	assert_int_equal(dane_mx_lookup("null.example.test", &m), 0);
	assert_int_equal(m.status, DANE_MX_NULL);
	dane_mxset_free(&m);
}

static void
test_mx_root_among_others_ignored(void **state)
{
	struct dane_mxset m;

	(void)state;
	assert_int_equal(dane_mx_lookup("rootmix.example.test", &m), 0);
	assert_int_equal(m.status, DANE_MX_OK);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.mx[0].host, "a.mx.example.test");
	dane_mxset_free(&m);
	assert_int_equal(dane_mx_lookup("onlyroot.example.test", &m), 0);
	assert_int_equal(m.status, DANE_MX_PERMFAIL);
	assert_int_equal(m.n, 0);
	dane_mxset_free(&m);
}

static void
test_mx_implicit_and_nxdomain(void **state)
{
	struct dane_mxset m;

	(void)state;
	assert_int_equal(dane_mx_lookup("NoMX.example.test.", &m), 0);
	assert_int_equal(m.status, DANE_MX_IMPLICIT);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.mx[0].host, "nomx.example.test");
	dane_mxset_free(&m);
	assert_int_equal(dane_mx_lookup("absent.example.test", &m), 0);
	assert_int_equal(m.status, DANE_MX_NXDOMAIN);
	dane_mxset_free(&m);
}

static void
test_host_families_and_port(void **state)
{
	struct dane_host h;

	(void)state;
	assert_int_equal(dane_host_lookup("a.mx.example.test",
	    DANE_V4 | DANE_V6, 2525, &h), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.addr[0].text, "192.0.2.10");
	assert_string_equal(h.addr[1].text, "2001:db8::10");
	assert_int_equal(h.sec, DANE_SEC_INSECURE);
	assert_false(h.tempfail);
	dane_host_free(&h);
	assert_int_equal(dane_host_lookup("a.mx.example.test", DANE_V6, 25,
	    &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.addr[0].text, "2001:db8::10");
	dane_host_free(&h);
	assert_int_equal(dane_host_lookup("v6only.example.test", DANE_V4, 25,
	    &h), 0);
	assert_int_equal(h.n, 0);
	assert_false(h.nxdomain);
	dane_host_free(&h);
	assert_int_equal(dane_host_lookup("gone.example.test",
	    DANE_V4 | DANE_V6, 25, &h), 0);
	assert_int_equal(h.n, 0);
	assert_true(h.nxdomain);
	dane_host_free(&h);
}

static void
test_host_cname_expanded(void **state)
{
	struct dane_host h;

	(void)state;
	assert_int_equal(dane_host_lookup("alias.example.test", DANE_V4, 25,
	    &h), 0);
	assert_string_equal(h.name, "alias.example.test");
	assert_string_equal(h.expanded, "a.mx.example.test");
	assert_int_equal(h.n, 1);
	dane_host_free(&h);
}

static void
test_tlsa_usable_counted(void **state)
{
	struct dane_host h;
	struct dane_tlsa t;

	(void)state;
	assert_int_equal(dane_host_lookup("a.mx.example.test", DANE_V4, 25,
	    &h), 0);
	assert_int_equal(dane_tlsa_lookup(&h, 25, &t), 0);
	assert_int_equal(t.status, DANE_TLSA_FOUND);
	assert_string_equal(t.qname, "_25._tcp.a.mx.example.test");
	assert_string_equal(t.base, "a.mx.example.test");
	assert_int_equal(t.n, 3);
	assert_int_equal(t.usable, 2);	/* 3 1 1 and 2 0 1; not 1 1 1 */
	assert_int_equal(t.usage_bits, (1u << 2) | (1u << 3));
	dane_tlsa_free(&t);
	dane_host_free(&h);
}

static void
test_tlsa_insecure_cname_not_expanded(void **state)
{
	struct dane_host h;
	struct dane_tlsa t;

	/* The CNAME chain is not secure: the original name only. */
	(void)state;
	assert_int_equal(dane_host_lookup("alias.example.test", DANE_V4, 25,
	    &h), 0);
	assert_int_equal(dane_tlsa_lookup(&h, 25, &t), 0);
	assert_string_equal(t.qname, "_25._tcp.alias.example.test");
	assert_int_equal(t.status, DANE_TLSA_NONE);
	dane_tlsa_free(&t);
	dane_host_free(&h);
}

static void
test_tlsa_only_unusable(void **state)
{
	struct dane_host h;
	struct dane_tlsa t;

	(void)state;
	assert_int_equal(dane_host_lookup("b.mx.example.test", DANE_V4, 25,
	    &h), 0);
	assert_int_equal(dane_tlsa_lookup(&h, 25, &t), 0);
	assert_int_equal(t.status, DANE_TLSA_FOUND);
	assert_int_equal(t.usable, 0);
	assert_int_equal(t.usage_bits, 0);
	assert_non_null(t.why);
	dane_tlsa_free(&t);
	dane_host_free(&h);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(dane_result_name(DANE_NOSTARTTLS), "nostarttls");
	assert_string_equal(dane_result_name(DANE_NULLMX), "nullmx");
	assert_string_equal(dane_ocsp_name(DANE_OCSP_EXPIRED), "expired");
	assert_int_equal(dane_ocsp_exim(DANE_OCSP_NOTREQ), 0);
	assert_int_equal(dane_ocsp_exim(DANE_OCSP_NONE), 1);
	assert_int_equal(dane_ocsp_exim(DANE_OCSP_REVOKED), 3);
	assert_int_equal(dane_ocsp_exim(DANE_OCSP_GOOD), 4);
	assert_string_equal(dane_sec_name(DANE_SEC_FAILED), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_sorted_stable),
		cmocka_unit_test(test_mx_null),
		cmocka_unit_test(test_mx_root_among_others_ignored),
		cmocka_unit_test(test_mx_implicit_and_nxdomain),
		cmocka_unit_test(test_host_families_and_port),
		cmocka_unit_test(test_host_cname_expanded),
		cmocka_unit_test(test_tlsa_usable_counted),
		cmocka_unit_test(test_tlsa_insecure_cname_not_expanded),
		cmocka_unit_test(test_tlsa_only_unusable),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
