/* Unit tests for the parts of lib/relay and lib/smtp that need no
 * network: HOST[:PORT] splitting, the submission rules (the mbox From_
 * line, sendmail -t with Bcc: removed), and the DATA encoding (CRLF,
 * dot-stuffing, the final dot) checked octet by octet over a socketpair. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "relay.h"
#include "smtp.h"

static void
split_ok(const char *in, const char *host, unsigned port)
{
	char h[RELAY_HOST_MAX];
	unsigned p = 25;

	assert_int_equal(relay_split_hostport(in, h, sizeof(h), &p), 0);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
}

static void
split_bad(const char *in)
{
	char h[RELAY_HOST_MAX];
	unsigned p = 25;

	assert_int_equal(relay_split_hostport(in, h, sizeof(h), &p), -1);
}

static void
test_split_hostport(void **state)
{
	(void)state;
	split_ok("mx.example.org", "mx.example.org", 25);
	split_ok("mx.example.org:587", "mx.example.org", 587);
	split_ok("192.0.2.1:2525", "192.0.2.1", 2525);
	split_ok("[2001:db8::1]:26", "2001:db8::1", 26);
	split_ok("[::1]", "::1", 25);
	split_ok("2001:db8::1", "2001:db8::1", 25);
	split_bad("");
	split_bad(":25");
	split_bad("mx:0");
	split_bad("mx:65536");
	split_bad("mx:25x");
	split_bad("mx:");
	split_bad("[::1");
	split_bad("[::1]x");
	split_bad("[]:25");
}

static void
test_prepare_from_line(void **state)
{
	const char m[] = "From a@b Thu Dec  3 10:00:00 2026\nSubject: x\n\nb\n";
	char *copy;
	size_t off, len;
	const char *why;

	(void)state;
	assert_int_equal(relay_prepare(m, sizeof(m) - 1, 0, NULL, &copy,
	    &off, &len, &why), 0);
	assert_null(copy);
	assert_int_equal(len, strlen("Subject: x\n\nb\n"));
	assert_memory_equal(m + off, "Subject: x\n\nb\n", len);
	/* "From:" is a header field, not an mbox line. */
	assert_int_equal(relay_prepare("From: a@b\n\nx\n", 13, 0, NULL,
	    &copy, &off, &len, &why), 0);
	assert_int_equal(off, 0);
}

static void
test_prepare_extract(void **state)
{
	const char m[] = "To: a@x.example, \"B, b\" <b@x.example>\r\n"
	    "Subject: s\r\nBcc: c@y.example,\r\n d@y.example\r\n"
	    "Cc: team: e@z.example, f@z.example;\r\nBCC: g@y.example\r\n"
	    "\r\nBcc: not a header\r\n";
	const char want[] = "To: a@x.example, \"B, b\" <b@x.example>\r\n"
	    "Subject: s\r\nCc: team: e@z.example, f@z.example;\r\n"
	    "\r\nBcc: not a header\r\n";
	struct addr_list l = { 0 };
	char *copy;
	size_t off, len;
	const char *why;

	(void)state;
	assert_int_equal(relay_prepare(m, sizeof(m) - 1, 1, &l, &copy, &off,
	    &len, &why), 0);
	assert_non_null(copy);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(copy, want, len);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.v[0], "a@x.example");
	assert_string_equal(l.v[1], "b@x.example");
	assert_string_equal(l.v[2], "c@y.example");
	assert_string_equal(l.v[3], "d@y.example");
	assert_string_equal(l.v[4], "e@z.example");
	assert_string_equal(l.v[6], "g@y.example");
	free(copy);
	addr_list_free(&l);
}

static void
test_prepare_extract_bad(void **state)
{
	struct addr_list l = { 0 };
	char *copy;
	size_t off, len;
	const char *why = NULL;

	(void)state;
	assert_int_equal(relay_prepare("To: \"a@b\n\nx", 11, 1, &l, &copy,
	    &off, &len, &why), -1);
	assert_non_null(why);
	addr_list_free(&l);
}

/* What smtp_send_data puts on the wire for in. */
static void
data_is(const char *in, const char *want)
{
	struct smtp s;
	char got[4096];
	int sv[2];
	ssize_t n;
	size_t total = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(smtp_attach(&s, sv[0], 2000), 0);
	assert_int_equal(smtp_send_data(&s, in, strlen(in)), 0);
	close(sv[0]);
	while ((n = read(sv[1], got + total, sizeof(got) - 1 - total)) > 0)
		total += (size_t)n;
	close(sv[1]);
	got[total] = '\0';
	assert_string_equal(got, want);
	/* SIZE= is the octets without the stuffing and the final dot. */
	{
		size_t dots = 0;
		const char *p;

		for (p = want; (p = strstr(p, "\r\n..")) != NULL; p += 2)
			dots++;
		dots += strncmp(want, "..", 2) == 0;
		assert_int_equal(smtp_data_size(in, strlen(in)),
		    strlen(want) - 3 - dots);
	}
}

static void
test_data_encoding(void **state)
{
	(void)state;
	data_is("a\r\nb\r\n", "a\r\nb\r\n.\r\n");
	data_is("a\nb\n", "a\r\nb\r\n.\r\n");
	data_is("a\rb\r", "a\r\nb\r\n.\r\n");
	data_is("a\nb", "a\r\nb\r\n.\r\n");
	data_is(".\n", "..\r\n.\r\n");
	data_is("x\n.\n..y\n", "x\r\n..\r\n...y\r\n.\r\n");
	data_is("", ".\r\n");
	data_is("\n\n", "\r\n\r\n.\r\n");
	data_is("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_hostport),
		cmocka_unit_test(test_prepare_from_line),
		cmocka_unit_test(test_prepare_extract),
		cmocka_unit_test(test_prepare_extract_bad),
		cmocka_unit_test(test_data_encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
