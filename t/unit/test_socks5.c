/* Unit tests for lib/socks5: Exim's socks_proxy list syntax (defaults,
 * every option and its bounds, IPv6 written both ways, files with
 * comments, each error with the number of the specifier), the order
 * (priorities strictly, weights statistically with a fixed generator),
 * the three reply parsers and the two request builders octet by octet
 * against the layouts of RFC 1928 and RFC 1929, and the handshake over a
 * socketpair against a scripted proxy in a child process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "socks5.h"

static struct socks5_list l;	/* 46 KB: not on the stack of each test */

static int
parse(const char *spec, const char **why, unsigned *item)
{
	memset(&l, 0, sizeof(l));
	*why = NULL;
	*item = 12345;
	return socks5_list_parse(&l, spec, why, item);
}

/* A spec that must parse into n proxies. */
static void
parse_ok(const char *spec, size_t n)
{
	const char *why;
	unsigned item;
	int rc = parse(spec, &why, &item);

	if (rc != 0)
		fail_msg("\"%s\": %s (item %u)", spec, why, item);
	assert_int_equal(l.n, n);
}

static unsigned
sa_port(const struct socks5_proxy *p)
{
	if (p->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&p->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&p->sa)->sin6_port);
}

static void
check_proxy(const struct socks5_proxy *p, int family, const char *addr,
    unsigned port, unsigned tmo, unsigned pri, unsigned weight)
{
	assert_int_equal(p->sa.ss_family, family);
	assert_int_equal(p->salen, family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	assert_string_equal(p->addr, addr);
	assert_int_equal(p->port, port);
	assert_int_equal(sa_port(p), port);
	assert_int_equal(p->tmo, tmo);
	assert_int_equal(p->pri, pri);
	assert_int_equal(p->weight, weight);
}

/* ---- the list ---- */

static void
test_list_defaults(void **state)
{
	(void)state;
	parse_ok("127.0.0.1", 1);
	check_proxy(&l.p[0], AF_INET, "127.0.0.1", SOCKS5_DEFAULT_PORT,
	    SOCKS5_DEFAULT_TMO, 1, 1);
	assert_int_equal(SOCKS5_DEFAULT_PORT, 1080);
	assert_int_equal(SOCKS5_DEFAULT_TMO, 5);
	assert_int_equal(l.p[0].auth, SOCKS5_AUTH_NONE);
	assert_string_equal(l.p[0].name, "");
	assert_string_equal(l.p[0].pass, "");

	/* Blanks around the address and between options do not matter. */
	parse_ok("  192.0.2.1\t port=1081  ", 1);
	check_proxy(&l.p[0], AF_INET, "192.0.2.1", 1081, 5, 1, 1);

	/* An empty list is no proxy, not an error. */
	parse_ok("", 0);
	parse_ok("   ", 0);
	parse_ok(":", 0);
	parse_ok(" : : ", 0);
}

static void
test_list_options(void **state)
{
	char spec[1200], name[SOCKS5_MAX_CRED + 1], pass[SOCKS5_MAX_CRED + 1];

	(void)state;
	parse_ok("192.0.2.1 port=1081 tmo=30 pri=7 weight=9 auth=name "
	    "name=u pass=p", 1);
	check_proxy(&l.p[0], AF_INET, "192.0.2.1", 1081, 30, 7, 9);
	assert_int_equal(l.p[0].auth, SOCKS5_AUTH_NAME);
	assert_string_equal(l.p[0].name, "u");
	assert_string_equal(l.p[0].pass, "p");

	/* The options in another order, auth= last. */
	parse_ok("192.0.2.2 pass=secret weight=2 name=user pri=0 tmo=1 "
	    "port=1 auth=name", 1);
	check_proxy(&l.p[0], AF_INET, "192.0.2.2", 1, 1, 0, 2);
	assert_int_equal(l.p[0].auth, SOCKS5_AUTH_NAME);
	assert_string_equal(l.p[0].name, "user");
	assert_string_equal(l.p[0].pass, "secret");

	/* The upper bounds. */
	parse_ok("192.0.2.3 port=65535 tmo=3600 pri=65535 weight=65535 "
	    "auth=none", 1);
	check_proxy(&l.p[0], AF_INET, "192.0.2.3", 65535, 3600, 65535,
	    65535);
	assert_int_equal(l.p[0].auth, SOCKS5_AUTH_NONE);

	/* Credentials of 255 octets, the most RFC 1929 can carry; any
	 * octet but a blank and the separator. */
	memset(name, 'n', SOCKS5_MAX_CRED);
	name[SOCKS5_MAX_CRED] = '\0';
	memset(pass, 'p', SOCKS5_MAX_CRED);
	pass[0] = '=';
	pass[1] = '\xc3';
	pass[2] = '\xa9';
	pass[SOCKS5_MAX_CRED] = '\0';
	snprintf(spec, sizeof(spec), "127.0.0.1 auth=name name=%s pass=%s",
	    name, pass);
	parse_ok(spec, 1);
	assert_string_equal(l.p[0].name, name);
	assert_string_equal(l.p[0].pass, pass);

	/* Several specifiers, each with its own defaults. */
	parse_ok("127.0.0.1 port=1 pri=5 : 127.0.0.2 : 127.0.0.3 weight=4", 3);
	check_proxy(&l.p[0], AF_INET, "127.0.0.1", 1, 5, 5, 1);
	check_proxy(&l.p[1], AF_INET, "127.0.0.2", 1080, 5, 1, 1);
	check_proxy(&l.p[2], AF_INET, "127.0.0.3", 1080, 5, 1, 4);
}

static void
test_list_ipv6(void **state)
{
	(void)state;
	/* In a colon list a colon is doubled. */
	parse_ok("::::1 port=1080", 1);
	check_proxy(&l.p[0], AF_INET6, "::1", 1080, 5, 1, 1);
	parse_ok("2001::db8::::25 port=9050 pri=2", 1);
	check_proxy(&l.p[0], AF_INET6, "2001:db8::25", 9050, 5, 2, 1);
	parse_ok("127.0.0.1 : ::::1 port=1081 : 192.0.2.7", 3);
	check_proxy(&l.p[0], AF_INET, "127.0.0.1", 1080, 5, 1, 1);
	check_proxy(&l.p[1], AF_INET6, "::1", 1081, 5, 1, 1);
	check_proxy(&l.p[2], AF_INET, "192.0.2.7", 1080, 5, 1, 1);
	/* inet_ntop's form, whatever the spelling. */
	parse_ok("2001::0db8::0000::0000::0000::0000::0000::0001", 1);
	assert_string_equal(l.p[0].addr, "2001:db8::1");
	parse_ok("::::ffff::192.0.2.1", 1);
	assert_int_equal(l.p[0].sa.ss_family, AF_INET6);
	assert_string_equal(l.p[0].addr, "::ffff:192.0.2.1");

	/* "<;": the separator is ';' and a colon is itself. */
	parse_ok("<; ::1 port=1080; 127.0.0.1; 2001:db8::5 pri=3", 3);
	check_proxy(&l.p[0], AF_INET6, "::1", 1080, 5, 1, 1);
	check_proxy(&l.p[1], AF_INET, "127.0.0.1", 1080, 5, 1, 1);
	check_proxy(&l.p[2], AF_INET6, "2001:db8::5", 1080, 5, 3, 1);
	parse_ok("<;::1", 1);
	check_proxy(&l.p[0], AF_INET6, "::1", 1080, 5, 1, 1);
	/* Another punctuation character works the same way. */
	parse_ok("<, ::1 port=2, ::2 port=3", 2);
	check_proxy(&l.p[1], AF_INET6, "::2", 3, 5, 1, 1);
	/* A doubled separator is one in the item (a password with ';'). */
	parse_ok("<; ::1 auth=name name=u pass=a;;b", 1);
	assert_string_equal(l.p[0].pass, "a;b");
	parse_ok("127.0.0.1 auth=name name=u pass=a::b", 1);
	assert_string_equal(l.p[0].pass, "a:b");
}

static void
test_list_lines(void **state)
{
	(void)state;
	/* A file: one specifier a line, comments, blank lines, CRLF. */
	parse_ok("# proxies\n"
	    "127.0.0.1 port=1081\n"
	    "   # an indented comment : with the separator in it\n"
	    "\n"
	    "\t\n"
	    "127.0.0.2 pri=2\r\n"
	    "#127.0.0.3\n"
	    "::::1 weight=3\n", 3);
	check_proxy(&l.p[0], AF_INET, "127.0.0.1", 1081, 5, 1, 1);
	check_proxy(&l.p[1], AF_INET, "127.0.0.2", 1080, 5, 2, 1);
	check_proxy(&l.p[2], AF_INET6, "::1", 1080, 5, 1, 3);
	/* Lines and separators mixed; no newline at the end. */
	parse_ok("127.0.0.1 : 127.0.0.2\n127.0.0.3", 3);
	assert_string_equal(l.p[2].addr, "127.0.0.3");
	/* A "<;" list over several lines. */
	parse_ok("<; ::1 port=1\n# c\n::2 port=2; 127.0.0.1\n", 3);
	check_proxy(&l.p[1], AF_INET6, "::2", 2, 5, 1, 1);
	/* Nothing but comments. */
	parse_ok("# a\n  # b : c\n", 0);
}

static void
test_list_append(void **state)
{
	const char *why;
	unsigned item;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(socks5_list_parse(&l, "127.0.0.1 : 127.0.0.2", &why,
	    &item), 0);
	assert_int_equal(socks5_list_parse(&l, "127.0.0.3 pri=9", &why,
	    &item), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.p[2].addr, "127.0.0.3");
	assert_int_equal(l.p[2].pri, 9);

	/* An error keeps the specifiers before it, those of earlier calls
	 * and of this one. */
	why = NULL;
	assert_int_equal(socks5_list_parse(&l, "127.0.0.4 : 127.0.0.5 "
	    "bogus=1 : 127.0.0.6", &why, &item), -1);
	assert_int_equal(item, 2);
	assert_non_null(why);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.p[3].addr, "127.0.0.4");
}

struct bad {
	const char *spec;
	unsigned item;
	const char *word;	/* the why names it (NULL: not checked) */
};

static void
test_list_errors(void **state)
{
	static const struct bad bad[] = {
		{ "300.1.1.1", 1, NULL },
		{ "127.0.0.1 : 127.0.0.256", 2, NULL },
		{ "localhost", 1, NULL },
		{ "127.0.0.1 : mail.example.org port=1080", 2, NULL },
		{ "[::1]", 1, NULL },
		{ "::1 port=1080", 1, NULL },	/* colons not doubled */
		{ "127.0.0.1:1080", 2, NULL },	/* not how a port is given */
		{ "127.0.0.1 colour=blue", 1, "option" },
		{ "127.0.0.1 Port=1080", 1, "option" },
		{ "127.0.0.1 port", 1, NULL },
		{ "127.0.0.1 port=0", 1, "port" },
		{ "127.0.0.1 port=65536", 1, "port" },
		{ "127.0.0.1 port=", 1, "port" },
		{ "127.0.0.1 port=-1", 1, "port" },
		{ "127.0.0.1 port=+1", 1, "port" },
		{ "127.0.0.1 port=1x", 1, "port" },
		{ "127.0.0.1 port=99999999999999999999", 1, "port" },
		{ "127.0.0.1 tmo=0", 1, "tmo" },
		{ "127.0.0.1 tmo=3601", 1, "tmo" },
		{ "127.0.0.1 pri=65536", 1, "pri" },
		{ "127.0.0.1 pri=x", 1, "pri" },
		{ "127.0.0.1 weight=0", 1, "weight" },
		{ "127.0.0.1 weight=65536", 1, "weight" },
		{ "127.0.0.1 auth=bogus", 1, "auth" },
		{ "127.0.0.1 auth=", 1, "auth" },
		{ "127.0.0.1 auth=name name= pass=p", 1, "name" },
		{ "127.0.0.1 auth=name name=u pass=", 1, "pass" },
		{ "127.0.0.1 : 127.0.0.2 : 127.0.0.3 tmo=0 : 127.0.0.4", 3,
		    "tmo" },
		{ "# c\n127.0.0.1\n\n127.0.0.2 weight=0\n", 2, "weight" },
		{ "<; ::1; ::2 pri=70000", 2, "pri" },
	};
	const char *why;
	unsigned item, i;
	size_t k;
	char spec[SOCKS5_MAX_PROXIES * 12 + 16];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].spec, &why, &item) != -1)
			fail_msg("\"%s\" parsed", bad[i].spec);
		if (item != bad[i].item)
			fail_msg("\"%s\": item %u, want %u", bad[i].spec, item,
			    bad[i].item);
		assert_non_null(why);
		assert_true(why[0] != '\0');
		if (bad[i].word != NULL && strstr(why, bad[i].word) == NULL)
			fail_msg("\"%s\": \"%s\" does not name %s", bad[i].spec,
			    why, bad[i].word);
		assert_int_equal(l.n, bad[i].item - 1);
	}

	/* RFC 1929: a user name or password of 256 octets cannot be sent. */
	{
		char big[700], cred[SOCKS5_MAX_CRED + 2];

		memset(cred, 'x', SOCKS5_MAX_CRED + 1);
		cred[SOCKS5_MAX_CRED + 1] = '\0';
		snprintf(big, sizeof(big), "127.0.0.1 auth=name name=%s "
		    "pass=p", cred);
		assert_int_equal(parse(big, &why, &item), -1);
		assert_int_equal(item, 1);
		assert_non_null(strstr(why, "name"));
		snprintf(big, sizeof(big), "127.0.0.1 auth=name name=u "
		    "pass=%s", cred);
		assert_int_equal(parse(big, &why, &item), -1);
		assert_non_null(strstr(why, "pass"));
	}

	/* SOCKS5_MAX_PROXIES parse; one more is an error naming it. */
	for (spec[0] = '\0', k = 0; k < SOCKS5_MAX_PROXIES; k++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    "%s127.0.1.%zu", k ? ":" : "", k + 1);
	parse_ok(spec, SOCKS5_MAX_PROXIES);
	assert_string_equal(l.p[SOCKS5_MAX_PROXIES - 1].addr, "127.0.1.64");
	snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
	    ":127.0.2.1");
	assert_int_equal(parse(spec, &why, &item), -1);
	assert_int_equal(item, SOCKS5_MAX_PROXIES + 1);
	assert_int_equal(l.n, SOCKS5_MAX_PROXIES);
	assert_non_null(why);
	/* Across calls too. */
	memset(&l, 0, sizeof(l));
	for (k = 0; k < SOCKS5_MAX_PROXIES; k++)
		assert_int_equal(socks5_list_parse(&l, "::::1", &why, &item),
		    0);
	assert_int_equal(socks5_list_parse(&l, "::::1", &why, &item), -1);
	assert_int_equal(item, 1);
	assert_int_equal(l.n, SOCKS5_MAX_PROXIES);
}

/* The header leaves open whether an empty item counts in *item; this is
 * what the code does (empty items between separators are counted, blank
 * and comment lines are not), checked so that a change is noticed. */
static void
test_list_error_item_empty(void **state)
{
	const char *why;
	unsigned item;

	(void)state;
	assert_int_equal(parse("127.0.0.1 : : 127.0.0.2 bogus=1", &why,
	    &item), -1);
	assert_int_equal(item, 3);
	assert_int_equal(parse("127.0.0.1\n\n# c\n127.0.0.2 bogus=1", &why,
	    &item), -1);
	assert_int_equal(item, 2);
}

static void
test_proxy_text(void **state)
{
	char buf[64], small[8];

	(void)state;
	parse_ok("127.0.0.1 : ::::1 port=9050 : 2001::db8::::25 port=1 : "
	    "192.0.2.1 auth=name name=user pass=secret", 4);
	socks5_proxy_text(&l.p[0], buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:1080");
	socks5_proxy_text(&l.p[1], buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:9050");
	socks5_proxy_text(&l.p[2], buf, sizeof(buf));
	assert_string_equal(buf, "[2001:db8::25]:1");
	socks5_proxy_text(&l.p[3], buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1:1080");
	assert_null(strstr(buf, "user"));
	assert_null(strstr(buf, "secret"));
	/* A short buffer is cut, and still a string. */
	memset(small, 'z', sizeof(small));
	socks5_proxy_text(&l.p[0], small, sizeof(small));
	assert_string_equal(small, "127.0.0");
}

/* ---- the order ---- */

/* xorshift32: a fixed sequence, so that the counts below are the same at
 * every run. */
static uint32_t
xorshift(void *arg)
{
	uint32_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
check_permutation(const size_t *idx, size_t n)
{
	int seen[SOCKS5_MAX_PROXIES] = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		assert_true(idx[i] < n);
		assert_int_equal(seen[idx[i]], 0);
		seen[idx[i]] = 1;
	}
}

static void
test_order_pri(void **state)
{
	size_t idx[SOCKS5_MAX_PROXIES], i;
	uint32_t seed = 0x12345678;
	int run;

	(void)state;
	parse_ok("127.0.0.1 pri=1 weight=5 : 127.0.0.2 pri=3 : "
	    "127.0.0.3 pri=2 weight=100 : 127.0.0.4 pri=3 weight=65535 : "
	    "127.0.0.5 pri=0 : 127.0.0.6 pri=2 : 127.0.0.7 pri=65535", 7);
	for (run = 0; run < 2000; run++) {
		socks5_order(&l, idx, run % 10 == 9 ? NULL : xorshift, &seed);
		check_permutation(idx, l.n);
		/* A higher priority always comes first, whatever the
		 * weights. */
		assert_int_equal(idx[0], 6);
		for (i = 1; i < l.n; i++)
			assert_true(l.p[idx[i - 1]].pri >= l.p[idx[i]].pri);
		assert_int_equal(idx[l.n - 2], 0);
		assert_int_equal(idx[l.n - 1], 4);
	}

	/* One proxy, and none. */
	parse_ok("127.0.0.1", 1);
	idx[0] = 99;
	socks5_order(&l, idx, xorshift, &seed);
	assert_int_equal(idx[0], 0);
	parse_ok("", 0);
	socks5_order(&l, idx, xorshift, &seed);
}

static void
test_order_weight(void **state)
{
	size_t idx[SOCKS5_MAX_PROXIES], first[3] = { 0 }, second[3] = { 0 };
	uint32_t seed = 2463534242u;
	int run;

	(void)state;
	/* 3:1, the heavier second in the list so that position does not
	 * help it: 7500 of 10000 first, with a margin of 6 standard
	 * deviations (43 each). */
	parse_ok("127.0.0.1 weight=1 : 127.0.0.2 weight=3", 2);
	for (run = 0; run < 10000; run++) {
		socks5_order(&l, idx, xorshift, &seed);
		check_permutation(idx, 2);
		first[idx[0]]++;
	}
	print_message("weights 1:3: first %zu:%zu of 10000\n", first[0],
	    first[1]);
	assert_in_range(first[1], 7500 - 260, 7500 + 260);

	/* Without replacement: 1:2:1 over three, first choices 1/4, 1/2,
	 * 1/4, and each order is a permutation. */
	memset(first, 0, sizeof(first));
	parse_ok("127.0.0.1 weight=1 : 127.0.0.2 weight=2 : "
	    "127.0.0.3 weight=1", 3);
	for (run = 0; run < 12000; run++) {
		socks5_order(&l, idx, xorshift, &seed);
		check_permutation(idx, 3);
		first[idx[0]]++;
		second[idx[1]]++;
	}
	print_message("weights 1:2:1: first %zu:%zu:%zu, second %zu:%zu:%zu "
	    "of 12000\n", first[0], first[1], first[2], second[0], second[1],
	    second[2]);
	assert_in_range(first[0], 3000 - 300, 3000 + 300);
	assert_in_range(first[1], 6000 - 330, 6000 + 330);
	assert_in_range(first[2], 3000 - 300, 3000 + 300);
	/* Second place, each 1/3 -> 4000: proxy 0 after 1 or 2,
	 * 1/2 * 1/2 + 1/4 * 1/3; proxy 1 after 0 or 2, 2 * 1/4 * 2/3. */
	assert_in_range(second[0], 4000 - 320, 4000 + 320);
	assert_in_range(second[1], 4000 - 320, 4000 + 320);
	assert_in_range(second[2], 4000 - 320, 4000 + 320);

	/* The weights apply within a priority only. */
	memset(first, 0, sizeof(first));
	parse_ok("127.0.0.1 weight=65535 : 127.0.0.2 pri=2 weight=1 : "
	    "127.0.0.3 pri=2 weight=1", 3);
	for (run = 0; run < 4000; run++) {
		socks5_order(&l, idx, xorshift, &seed);
		assert_int_equal(idx[2], 0);
		first[idx[0]]++;
	}
	assert_in_range(first[1], 2000 - 200, 2000 + 200);
}

/* ---- the parsers ---- */

static void
test_parse_method(void **state)
{
	static const unsigned char none[] = { 5, 0 }, name[] = { 5, 2 },
	    ff[] = { 5, 0xff }, v4[] = { 4, 0 }, more[] = { 5, 0, 0x32, 0x32 };
	const char *why = NULL;
	int m = -1;

	(void)state;
	assert_int_equal(socks5_parse_method(none, 2, &m, &why), 2);
	assert_int_equal(m, 0);
	assert_int_equal(socks5_parse_method(name, 2, &m, &why), 2);
	assert_int_equal(m, 2);
	assert_int_equal(socks5_parse_method(ff, 2, &m, &why), 2);
	assert_int_equal(m, 0xff);
	/* What follows is not part of the message. */
	assert_int_equal(socks5_parse_method(more, sizeof(more), &m, &why),
	    2);
	assert_int_equal(m, 0);
	/* Short: more needed. */
	assert_int_equal(socks5_parse_method(none, 1, &m, &why), 0);
	assert_int_equal(socks5_parse_method(none, 0, &m, &why), 0);
	/* A SOCKS4 answer, or an SMTP banner, is not SOCKS5. */
	assert_int_equal(socks5_parse_method(v4, 2, &m, &why), -1);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(socks5_parse_method((const unsigned char *)"220 ",
	    4, &m, &why), -1);
	assert_non_null(why);
}

static void
test_parse_auth(void **state)
{
	static const unsigned char ok[] = { 1, 0 }, no[] = { 1, 1 },
	    ff[] = { 1, 0xff }, v5[] = { 5, 0 }, v2[] = { 2, 0 },
	    v0[] = { 0, 0 };
	const char *why = NULL;
	int st = -1;

	(void)state;
	assert_int_equal(socks5_parse_auth(ok, 2, &st, &why), 2);
	assert_int_equal(st, 0);
	assert_int_equal(socks5_parse_auth(no, 2, &st, &why), 2);
	assert_int_equal(st, 1);
	assert_int_equal(socks5_parse_auth(ff, 2, &st, &why), 2);
	assert_int_equal(st, 0xff);
	assert_int_equal(socks5_parse_auth(ok, 1, &st, &why), 0);
	assert_int_equal(socks5_parse_auth(ok, 0, &st, &why), 0);
	/* Left open by the header: the code takes VER 5 as well as RFC
	 * 1929's 1 (servers that answer so exist), and refuses others. */
	st = -1;
	assert_int_equal(socks5_parse_auth(v5, 2, &st, &why), 2);
	assert_int_equal(st, 0);
	assert_int_equal(socks5_parse_auth(v2, 2, &st, &why), -1);
	assert_non_null(why);
	why = NULL;
	assert_int_equal(socks5_parse_auth(v0, 2, &st, &why), -1);
	assert_non_null(why);
}

static void
reset(struct socks5_result *r)
{
	memset(r, 0x5a, sizeof(*r));
	r->bnd_addr[sizeof(r->bnd_addr) - 1] = '\0';
}

static void
test_parse_reply_types(void **state)
{
	static const unsigned char v4[] = { 5, 0, 0, 1, 192, 0, 2, 1,
	    0x04, 0x38, 'X' },
	    v6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0x25, 0xff, 0xff },
	    dn[] = { 5, 0, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	    '.', 'o', 'r', 'g', 0, 25, '2', '2', '0' },
	    odd[] = { 5, 0, 0, 3, 6, 'a', 0x01, 'b', 0x7f, 0x80, 0xff, 0, 1 },
	    empty[] = { 5, 0, 0, 3, 0, 0x12, 0x34 };
	unsigned char longest[SOCKS5_REPLY_MAX];
	struct socks5_result r;
	const char *why = NULL;

	(void)state;
	reset(&r);
	assert_int_equal(socks5_parse_reply(v4, sizeof(v4), &r, &why), 10);
	assert_int_equal(r.rep, 0);
	assert_string_equal(r.bnd_addr, "192.0.2.1");
	assert_int_equal(r.bnd_port, 1080);
	/* Not fail or why: those are the handshake's. */
	{
		struct socks5_result r0;

		reset(&r0);
		assert_memory_equal(&r.fail, &r0.fail, sizeof(r.fail));
		assert_memory_equal(&r.why, &r0.why, sizeof(r.why));
	}

	reset(&r);
	assert_int_equal(socks5_parse_reply(v6, sizeof(v6), &r, &why), 22);
	assert_int_equal(r.rep, 0);
	assert_string_equal(r.bnd_addr, "2001:db8::25");
	assert_int_equal(r.bnd_port, 65535);

	reset(&r);
	assert_int_equal(socks5_parse_reply(dn, sizeof(dn), &r, &why), 18);
	assert_string_equal(r.bnd_addr, "example.org");
	assert_int_equal(r.bnd_port, 25);

	/* Non-printable octets of a DOMAINNAME become '?'. */
	reset(&r);
	assert_int_equal(socks5_parse_reply(odd, sizeof(odd), &r, &why), 13);
	assert_string_equal(r.bnd_addr, "a?b???");
	assert_int_equal(r.bnd_port, 1);

	reset(&r);
	assert_int_equal(socks5_parse_reply(empty, sizeof(empty), &r, &why),
	    7);
	assert_string_equal(r.bnd_addr, "");
	assert_int_equal(r.bnd_port, 0x1234);

	/* The longest reply: a DOMAINNAME of 255 octets. */
	memset(longest, 'a', sizeof(longest));
	longest[0] = 5;
	longest[1] = 0;
	longest[2] = 0;
	longest[3] = 3;
	longest[4] = 255;
	longest[SOCKS5_REPLY_MAX - 2] = 0x01;
	longest[SOCKS5_REPLY_MAX - 1] = 0xbb;
	reset(&r);
	assert_int_equal(socks5_parse_reply(longest, sizeof(longest), &r,
	    &why), SOCKS5_REPLY_MAX);
	assert_int_equal(strlen(r.bnd_addr), 255);
	assert_int_equal(r.bnd_port, 443);
}

static void
test_parse_reply_codes(void **state)
{
	static const char *const names[] = {
		"succeeded",
		"general SOCKS server failure",
		"connection not allowed by ruleset",
		"network unreachable",
		"host unreachable",
		"connection refused",
		"TTL expired",
		"command not supported",
		"address type not supported",
	};
	unsigned char b[] = { 5, 0, 0, 1, 10, 0, 0, 1, 0, 80 };
	struct socks5_result r;
	const char *why = NULL;
	int rep;

	(void)state;
	for (rep = 0; rep < 256; rep++) {
		b[1] = (unsigned char)rep;
		reset(&r);
		assert_int_equal(socks5_parse_reply(b, sizeof(b), &r, &why),
		    10);
		assert_int_equal(r.rep, rep);
		assert_string_equal(r.bnd_addr, "10.0.0.1");
		assert_int_equal(r.bnd_port, 80);
		if (rep < 9)
			assert_string_equal(socks5_reply_name(rep),
			    names[rep]);
		else
			assert_string_equal(socks5_reply_name(rep),
			    "unassigned reply code");
	}
	assert_string_equal(socks5_reply_name(-1), "unassigned reply code");
	assert_string_equal(socks5_reply_name(1000), "unassigned reply code");
}

static void
test_parse_reply_bad(void **state)
{
	static const unsigned char v4[] = { 5, 0, 0, 1, 192, 0, 2, 1, 0, 25 },
	    dn[] = { 5, 0, 0, 3, 3, 'a', '.', 'b', 0, 25 },
	    v6[] = { 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    1, 0, 25 };
	unsigned char b[32];
	struct socks5_result r;
	const char *why;
	size_t n;
	int atyp;

	(void)state;
	/* Every prefix asks for more. */
	for (n = 0; n < sizeof(v4); n++)
		assert_int_equal(socks5_parse_reply(v4, n, &r, &why), 0);
	for (n = 0; n < sizeof(dn); n++)
		assert_int_equal(socks5_parse_reply(dn, n, &r, &why), 0);
	for (n = 0; n < sizeof(v6); n++)
		assert_int_equal(socks5_parse_reply(v6, n, &r, &why), 0);

	/* Left open by the header: RSV is not checked, a reply with it
	 * non-zero is taken as it is (as curl and Exim do). */
	memcpy(b, v4, sizeof(v4));
	b[2] = 0xff;
	reset(&r);
	assert_int_equal(socks5_parse_reply(b, sizeof(v4), &r, &why), 10);
	assert_string_equal(r.bnd_addr, "192.0.2.1");

	/* A bad version. */
	memcpy(b, v4, sizeof(v4));
	b[0] = 4;
	why = NULL;
	assert_int_equal(socks5_parse_reply(b, sizeof(v4), &r, &why), -1);
	assert_non_null(why);

	/* An address type other than 1, 3, 4. */
	for (atyp = 0; atyp < 256; atyp++) {
		if (atyp == 1 || atyp == 3 || atyp == 4)
			continue;
		memcpy(b, v4, sizeof(v4));
		b[3] = (unsigned char)atyp;
		why = NULL;
		assert_int_equal(socks5_parse_reply(b, sizeof(v4), &r, &why),
		    -1);
		assert_non_null(why);
	}
}

/* ---- the builders ---- */

static void
sin4(struct sockaddr_in *s, const char *a, unsigned port)
{
	memset(s, 0, sizeof(*s));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
}

static void
sin6(struct sockaddr_in6 *s, const char *a, unsigned port)
{
	memset(s, 0, sizeof(*s));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
}

static void
test_build_connect(void **state)
{
	/* RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT */
	static const unsigned char want4[] = { 5, 1, 0, 1, 192, 0, 2, 1,
	    0, 25 },
	    want6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0x25, 0x02, 0x4b },
	    wantn[] = { 5, 1, 0, 3, 14, 'm', 'x', '.', 'e', 'x', 'a', 'm',
	    'p', 'l', 'e', '.', 'n', 'e', 't', 0xff, 0xfe };
	unsigned char buf[SOCKS5_REPLY_MAX + 8];
	char name[SOCKS5_MAX_NAME + 2];
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct sockaddr_un_like { sa_family_t f; char p[32]; } su;
	struct socks5_target t;
	const char *why;

	(void)state;
	sin4(&s4, "192.0.2.1", 25);
	t = (struct socks5_target){ (struct sockaddr *)&s4, NULL, 0 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why),
	    sizeof(want4));
	assert_memory_equal(buf, want4, sizeof(want4));

	sin6(&s6, "2001:db8::25", 587);
	t = (struct socks5_target){ (struct sockaddr *)&s6, NULL, 0 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why),
	    sizeof(want6));
	assert_memory_equal(buf, want6, sizeof(want6));

	t = (struct socks5_target){ NULL, "mx.example.net", 65534 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why),
	    sizeof(wantn));
	assert_memory_equal(buf, wantn, sizeof(wantn));

	/* The address wins over the name when both are given. */
	t = (struct socks5_target){ (struct sockaddr *)&s4, "mx.example.net",
	    587 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why),
	    sizeof(want4));
	assert_memory_equal(buf, want4, sizeof(want4));

	/* The longest name fits in the documented buffer. */
	memset(name, 'a', sizeof(name));
	name[SOCKS5_MAX_NAME] = '\0';
	t = (struct socks5_target){ NULL, name, 25 };
	assert_int_equal(socks5_build_connect(&t, buf, SOCKS5_REPLY_MAX + 8,
	    &why), 4 + 1 + 255 + 2);
	assert_int_equal(buf[3], 3);
	assert_int_equal(buf[4], 255);
	assert_int_equal(buf[4 + 1 + 255], 0);
	assert_int_equal(buf[4 + 1 + 255 + 1], 25);

	/* Too long, empty, no target, another family. */
	name[SOCKS5_MAX_NAME] = 'a';
	name[SOCKS5_MAX_NAME + 1] = '\0';
	why = NULL;
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	assert_non_null(why);
	t = (struct socks5_target){ NULL, "", 25 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	t = (struct socks5_target){ NULL, NULL, 25 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	memset(&su, 0, sizeof(su));
	su.f = AF_UNIX;
	t = (struct socks5_target){ (struct sockaddr *)&su, NULL, 25 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	/* Left open by the header: a name's port must be 1..65535. */
	t = (struct socks5_target){ NULL, "mx.example.net", 0 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	t = (struct socks5_target){ NULL, "mx.example.net", 65536 };
	assert_int_equal(socks5_build_connect(&t, buf, sizeof(buf), &why), -1);
	/* A buffer smaller than documented. */
	t = (struct socks5_target){ (struct sockaddr *)&s4, NULL, 0 };
	assert_int_equal(socks5_build_connect(&t, buf, 9, &why), -1);
}

static void
test_build_auth(void **state)
{
	/* RFC 1929 2: VER ULEN UNAME PLEN PASSWD */
	static const unsigned char want[] = { 1, 4, 'u', 's', 'e', 'r', 6,
	    's', 'e', 'c', 'r', 'e', 't' };
	unsigned char buf[3 + 2 * 256];
	char name[SOCKS5_MAX_CRED + 2], pass[SOCKS5_MAX_CRED + 2];
	const char *why;

	(void)state;
	assert_int_equal(socks5_build_auth("user", "secret", buf, sizeof(buf),
	    &why), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	memset(name, 'n', sizeof(name));
	name[SOCKS5_MAX_CRED] = '\0';
	memset(pass, 'p', sizeof(pass));
	pass[SOCKS5_MAX_CRED] = '\0';
	assert_int_equal(socks5_build_auth(name, pass, buf, sizeof(buf),
	    &why), 3 + 2 * 255);
	assert_int_equal(buf[0], 1);
	assert_int_equal(buf[1], 255);
	assert_int_equal(buf[2], 'n');
	assert_int_equal(buf[2 + 255], 255);
	assert_int_equal(buf[3 + 255], 'p');
	assert_int_equal(buf[2 + 2 * 255], 'p');

	why = NULL;
	name[SOCKS5_MAX_CRED] = 'n';
	name[SOCKS5_MAX_CRED + 1] = '\0';
	assert_int_equal(socks5_build_auth(name, "p", buf, sizeof(buf), &why),
	    -1);
	assert_non_null(why);
	pass[SOCKS5_MAX_CRED] = 'p';
	pass[SOCKS5_MAX_CRED + 1] = '\0';
	assert_int_equal(socks5_build_auth("u", pass, buf, sizeof(buf), &why),
	    -1);
	assert_int_equal(socks5_build_auth("", "p", buf, sizeof(buf), &why),
	    -1);
	assert_int_equal(socks5_build_auth("u", "", buf, sizeof(buf), &why),
	    -1);
	assert_int_equal(socks5_build_auth("user", "secret", buf, 12, &why),
	    -1);
	assert_int_equal(socks5_build_auth("user", "secret", buf, 13, &why),
	    13);
}

/* ---- the handshake, against a scripted proxy ---- */

enum op { END, EXPECT, SEND, PAUSE, CLOSE, DRAIN };

struct step {
	enum op	 op;
	const void *b;
	size_t	 n;		/* octets, or milliseconds for PAUSE */
};

#define EXP(a)		{ EXPECT, a, sizeof(a) }
#define SND(a)		{ SEND, a, sizeof(a) }
#define SNDN(a, n)	{ SEND, a, n }

/* Read exactly n octets within 5 s: 0, or -1. */
static int
read_n(int fd, unsigned char *b, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n > 0) {
		if (poll(&pfd, 1, 5000) != 1)
			return -1;
		if ((r = read(fd, b, n)) <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The child: play the script on fd, then wait (at most 5 s) for the
 * client to close.  Exit 0 when every EXPECT matched, 10 + the step's
 * number when one did not, 9 when the client sent more than the script
 * wanted.  A SEND the client no longer reads (it gave up: a deadline
 * test) ends the script; DRAIN takes whatever comes until EOF. */
static void
proxy_child(int fd, const struct step *s)
{
	unsigned char b[1024];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct timespec ts;
	ssize_t n;
	int i;

	for (i = 0; s[i].op != END; i++) {
		switch (s[i].op) {
		case EXPECT:
			if (read_n(fd, b, s[i].n) == -1 ||
			    memcmp(b, s[i].b, s[i].n) != 0)
				_exit(10 + i);
			break;
		case SEND:
			if (write(fd, s[i].b, s[i].n) != (ssize_t)s[i].n)
				_exit(0);
			break;
		case DRAIN:
			while (poll(&pfd, 1, 5000) == 1 &&
			    read(fd, b, sizeof(b)) > 0)
				;
			_exit(0);
		case PAUSE:
			ts.tv_sec = (time_t)(s[i].n / 1000);
			ts.tv_nsec = (long)(s[i].n % 1000) * 1000000L;
			nanosleep(&ts, NULL);
			break;
		case CLOSE:
			close(fd);
			_exit(0);
		default:
			_exit(8);
		}
	}
	if (poll(&pfd, 1, 5000) != 1)
		_exit(9);
	/* A close with our octets unread is ECONNRESET on AF_UNIX. */
	if ((n = read(fd, b, sizeof(b))) != 0 &&
	    !(n == -1 && errno == ECONNRESET)) {
		fprintf(stderr, "# the proxy got %zd octets more than it "
		    "expected after step %d, the first 0x%02x\n", n, i,
		    n > 0 ? b[0] : 0);
		_exit(9);
	}
	_exit(0);
}

struct run {
	int	 fd;
	pid_t	 pid;
};

static struct run
start(const struct step *s)
{
	struct run run;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	run.pid = fork();
	assert_true(run.pid != -1);
	if (run.pid == 0) {
		close(sv[0]);
		proxy_child(sv[1], s);
	}
	close(sv[1]);
	run.fd = sv[0];
	return run;
}

static void
finish(struct run *run)
{
	int st;

	close(run->fd);
	assert_int_equal(waitpid(run->pid, &st, 0), run->pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("the proxy's script failed: status %d", st);
}

static const unsigned char offer_none[] = { 5, 1, 0 },
    offer_both[] = { 5, 2, 0, 2 },
    pick_none[] = { 5, 0 }, pick_name[] = { 5, 2 }, pick_ff[] = { 5, 0xff },
    cred[] = { 1, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c', 'r', 'e', 't' },
    auth_ok[] = { 1, 0 }, auth_no[] = { 1, 1 },
    conn4[] = { 5, 1, 0, 1, 192, 0, 2, 25, 0, 25 },
    connn[] = { 5, 1, 0, 3, 14, 'm', 'x', '.', 'e', 'x', 'a', 'm', 'p',
    'l', 'e', '.', 'n', 'e', 't', 0, 25 },
    conn6[] = { 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0x25, 0, 25 },
    /* The reply, and the banner in the same segment after it. */
    ok4[] = { 5, 0, 0, 1, 198, 51, 100, 7, 0x10, 0xe1, '2', '2', '0', ' ',
    'h', 'i', '\r', '\n' },
    okn[] = { 5, 0, 0, 3, 13, 'p', 'r', 'o', 'x', 'y', '.', 'e', 'x', 'a',
    'm', 'p', 'l', 'e', 0x04, 0x38, '2', '2', '0', ' ', 'h', 'i', '\r',
    '\n' },
    ok6[] = { 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 7, 0x10, 0xe1 },
    refused[] = { 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 },
    ruleset[] = { 5, 2, 0, 1, 0, 0, 0, 0, 0, 0 },
    unassigned[] = { 5, 0x42, 0, 1, 0, 0, 0, 0, 0, 0 },
    bad_ver[] = { 4, 0, 0, 1, 0, 0, 0, 0, 0, 0 },
    bad_atyp[] = { 5, 0, 0, 2, 0, 0, 0, 0, 0, 0 },
    cut[] = { 5, 0, 0, 1, 198, 51 },
    banner[] = { '2', '2', '0', ' ', 'm', 'x', '\r', '\n' };

static struct socks5_proxy px_none, px_name;
static struct sockaddr_in tgt4;
static struct sockaddr_in6 tgt6;

static int
setup_handshake(void **state)
{
	const char *why;
	unsigned item;

	(void)state;
	memset(&l, 0, sizeof(l));
	if (socks5_list_parse(&l, "127.0.0.1 : 127.0.0.2 auth=name name=user "
	    "pass=secret", &why, &item) != 0)
		return -1;
	px_none = l.p[0];
	px_name = l.p[1];
	sin4(&tgt4, "192.0.2.25", 25);
	sin6(&tgt6, "2001:db8::25", 25);
	return 0;
}

static int
hs(const struct step *script, const struct socks5_proxy *p,
    const struct socks5_target *t, long long deadline,
    struct socks5_result *r, const char *after)
{
	struct run run = start(script);
	char b[64];
	int rc;

	rc = socks5_handshake(run.fd, p, t, deadline, r);
	if (after != NULL) {
		/* What followed the reply is still in the socket. */
		assert_int_equal(read_n(run.fd, (unsigned char *)b,
		    strlen(after)), 0);
		assert_memory_equal(b, after, strlen(after));
	}
	finish(&run);
	return rc;
}

static void
test_handshake_ok(void **state)
{
	const struct step plain[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(ok4), { END, NULL, 0 } };
	const struct step v6[] = { EXP(offer_none), SND(pick_none),
		EXP(conn6), SND(ok6), { END, NULL, 0 } };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	const struct socks5_target t6 = { (struct sockaddr *)&tgt6, NULL, 0 };
	struct socks5_result r;

	(void)state;
	assert_int_equal(hs(plain, &px_none, &t4, clock_ms() + 5000, &r,
	    "220 hi\r\n"), 0);
	assert_int_equal(r.fail, SOCKS5_OK);
	assert_int_equal(r.rep, 0);
	assert_string_equal(r.why, "");
	assert_string_equal(r.bnd_addr, "198.51.100.7");
	assert_int_equal(r.bnd_port, 4321);

	assert_int_equal(hs(v6, &px_none, &t6, clock_ms() + 5000, &r, NULL),
	    0);
	assert_int_equal(r.fail, SOCKS5_OK);
	assert_string_equal(r.bnd_addr, "2001:db8::7");
	assert_int_equal(r.bnd_port, 4321);
}

static void
test_handshake_auth(void **state)
{
	const struct step good[] = { EXP(offer_both), SND(pick_name),
		EXP(cred), SND(auth_ok), EXP(connn), SND(okn),
		{ END, NULL, 0 } };
	/* Offered both, the proxy needs none: no sub-negotiation. */
	const struct step lax[] = { EXP(offer_both), SND(pick_none),
		EXP(conn4), SND(ok4), { END, NULL, 0 } };
	const struct step bad[] = { EXP(offer_both), SND(pick_name),
		EXP(cred), SND(auth_no), { END, NULL, 0 } };
	const struct socks5_target tn = { NULL, "mx.example.net", 25 };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	struct socks5_result r;

	(void)state;
	assert_int_equal(hs(good, &px_name, &tn, clock_ms() + 5000, &r,
	    "220 hi\r\n"), 0);
	assert_int_equal(r.fail, SOCKS5_OK);
	assert_string_equal(r.bnd_addr, "proxy.example");
	assert_int_equal(r.bnd_port, 1080);

	assert_int_equal(hs(lax, &px_name, &t4, clock_ms() + 5000, &r,
	    "220 hi\r\n"), 0);
	assert_int_equal(r.fail, SOCKS5_OK);

	assert_int_equal(hs(bad, &px_name, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EAUTH);
	assert_int_equal(r.rep, -1);
	assert_true(r.why[0] != '\0');
}

static void
test_handshake_refused(void **state)
{
	const struct step ff_none[] = { EXP(offer_none), SND(pick_ff),
		{ END, NULL, 0 } };
	const struct step ff_name[] = { EXP(offer_both), SND(pick_ff),
		{ END, NULL, 0 } };
	/* A method that was not offered. */
	const struct step unoffered[] = { EXP(offer_none), SND(pick_name),
		{ END, NULL, 0 } };
	const struct step rep5[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(refused), { END, NULL, 0 } };
	const struct step rep2[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(ruleset), { END, NULL, 0 } };
	const struct step rep42[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(unassigned), { END, NULL, 0 } };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	struct socks5_result r;

	(void)state;
	assert_int_equal(hs(ff_none, &px_none, &t4, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_ENOMETHOD);
	assert_int_equal(r.rep, -1);
	assert_int_equal(hs(ff_name, &px_name, &t4, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_ENOMETHOD);
	assert_int_equal(hs(unoffered, &px_none, &t4, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EPROTO);

	assert_int_equal(hs(rep5, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EREPLY);
	assert_int_equal(r.rep, 5);
	assert_non_null(strstr(r.why, "connection refused"));
	assert_int_equal(hs(rep2, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EREPLY);
	assert_int_equal(r.rep, 2);
	assert_non_null(strstr(r.why, "ruleset"));
	assert_int_equal(hs(rep42, &px_none, &t4, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EREPLY);
	assert_int_equal(r.rep, 0x42);
}

static void
test_handshake_broken(void **state)
{
	const struct step eof[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(cut), { CLOSE, NULL, 0 } };
	const struct step eof_method[] = { EXP(offer_none),
		SNDN(pick_none, 1), { CLOSE, NULL, 0 } };
	const struct step smtp[] = { EXP(offer_none), SND(banner),
		{ END, NULL, 0 } };
	const struct step ver[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(bad_ver), { END, NULL, 0 } };
	const struct step atyp[] = { EXP(offer_none), SND(pick_none),
		EXP(conn4), SND(bad_atyp), { END, NULL, 0 } };
	/* The reply in pieces, with pauses between. */
	const struct step slow[] = { EXP(offer_none), SNDN(pick_none, 1),
		{ PAUSE, NULL, 30 }, SNDN(pick_none + 1, 1), EXP(conn4),
		SNDN(ok6, 3), { PAUSE, NULL, 30 }, SNDN(ok6 + 3, 2),
		{ PAUSE, NULL, 30 }, SNDN(ok6 + 5, sizeof(ok6) - 5),
		SND(banner), { END, NULL, 0 } };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	struct socks5_result r;
	char name[SOCKS5_MAX_NAME + 2];
	const struct step nothing[] = { { END, NULL, 0 } };
	struct socks5_target tn = { NULL, name, 25 };

	(void)state;
	assert_int_equal(hs(eof, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EIO);
	assert_true(r.why[0] != '\0');
	assert_int_equal(hs(eof_method, &px_none, &t4, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EIO);
	assert_int_equal(hs(smtp, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EPROTO);
	assert_int_equal(hs(ver, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EPROTO);
	assert_int_equal(hs(atyp, &px_none, &t4, clock_ms() + 5000, &r, NULL),
	    -1);
	assert_int_equal(r.fail, SOCKS5_EPROTO);
	assert_int_equal(hs(slow, &px_none, &t4, clock_ms() + 5000, &r,
	    "220 mx\r\n"), 0);
	assert_string_equal(r.bnd_addr, "2001:db8::7");

	/* A bad target: nothing is sent. */
	memset(name, 'a', sizeof(name));
	name[SOCKS5_MAX_NAME + 1] = '\0';
	assert_int_equal(hs(nothing, &px_none, &tn, clock_ms() + 5000, &r,
	    NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EUSAGE);
}

static void
test_handshake_deadline(void **state)
{
	/* A proxy that says nothing (whether the offer is sent once the
	 * deadline has passed is left open). */
	const struct step silent[] = { { DRAIN, NULL, 0 } };
	/* Each answer within 200 ms, the two together not. */
	const struct step slow[] = { EXP(offer_none), { PAUSE, NULL, 120 },
		SND(pick_none), EXP(conn4), { PAUSE, NULL, 120 }, SND(ok4),
		{ END, NULL, 0 } };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	struct socks5_result r;
	long long t0;

	(void)state;
	t0 = clock_ms();
	assert_int_equal(hs(silent, &px_none, &t4, t0 - 1, &r, NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EIO);
	assert_true(r.why[0] != '\0');
	assert_true(clock_ms() - t0 < 1000);

	t0 = clock_ms();
	assert_int_equal(hs(silent, &px_none, &t4, t0 + 150, &r, NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EIO);
	assert_true(clock_ms() - t0 >= 140);
	assert_true(clock_ms() - t0 < 2000);

	/* The deadline covers the whole handshake, not each read. */
	t0 = clock_ms();
	assert_int_equal(hs(slow, &px_none, &t4, t0 + 200, &r, NULL), -1);
	assert_int_equal(r.fail, SOCKS5_EIO);
	assert_true(clock_ms() - t0 < 2000);
}

static void
test_handshake_nonblocking(void **state)
{
	const struct step plain[] = { EXP(offer_none), SNDN(pick_none, 1),
		{ PAUSE, NULL, 20 }, SNDN(pick_none + 1, 1), EXP(conn4),
		SNDN(ok4, 4), { PAUSE, NULL, 20 }, SNDN(ok4 + 4, sizeof(ok4) - 4),
		{ END, NULL, 0 } };
	const struct socks5_target t4 = { (struct sockaddr *)&tgt4, NULL, 0 };
	struct socks5_result r;
	struct run run = start(plain);
	char b[8];

	(void)state;
	assert_int_equal(fcntl(run.fd, F_SETFL, fcntl(run.fd, F_GETFL) |
	    O_NONBLOCK), 0);
	assert_int_equal(socks5_handshake(run.fd, &px_none, &t4,
	    clock_ms() + 5000, &r), 0);
	assert_string_equal(r.bnd_addr, "198.51.100.7");
	assert_int_equal(read_n(run.fd, (unsigned char *)b, 8), 0);
	assert_memory_equal(b, "220 hi\r\n", 8);
	finish(&run);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_defaults),
		cmocka_unit_test(test_list_options),
		cmocka_unit_test(test_list_ipv6),
		cmocka_unit_test(test_list_lines),
		cmocka_unit_test(test_list_append),
		cmocka_unit_test(test_list_errors),
		cmocka_unit_test(test_list_error_item_empty),
		cmocka_unit_test(test_proxy_text),
		cmocka_unit_test(test_order_pri),
		cmocka_unit_test(test_order_weight),
		cmocka_unit_test(test_parse_method),
		cmocka_unit_test(test_parse_auth),
		cmocka_unit_test(test_parse_reply_types),
		cmocka_unit_test(test_parse_reply_codes),
		cmocka_unit_test(test_parse_reply_bad),
		cmocka_unit_test(test_build_connect),
		cmocka_unit_test(test_build_auth),
		cmocka_unit_test_setup(test_handshake_ok, setup_handshake),
		cmocka_unit_test_setup(test_handshake_auth, setup_handshake),
		cmocka_unit_test_setup(test_handshake_refused,
		    setup_handshake),
		cmocka_unit_test_setup(test_handshake_broken, setup_handshake),
		cmocka_unit_test_setup(test_handshake_deadline,
		    setup_handshake),
		cmocka_unit_test_setup(test_handshake_nonblocking,
		    setup_handshake),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
