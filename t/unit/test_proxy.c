/* Unit tests for lib/proxy: v1 lines and v2 headers built here by hand
 * (octet by octet, from proxy-protocol.txt, not with the encoder), every
 * error the parser names, the promise that a prefix never asks for more
 * than the header holds, the fd reader on pipes and sockets, and
 * encode -> parse round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

static struct proxy_hdr h;	/* 17 KB: not on the stack of each test */

/* A growable v2 header under construction. */
struct b {
	unsigned char p[PROXY_V2_MAX + 64];
	size_t n;
};

static void
put(struct b *b, const void *v, size_t n)
{
	assert_true(b->n + n <= sizeof(b->p));
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void
put8(struct b *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(b, &c, 1);
}

static void
put16(struct b *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void
tlv(struct b *b, unsigned type, const void *v, size_t n)
{
	put8(b, type);
	put16(b, (unsigned)n);
	put(b, v, n);
}

/* Signature, ver_cmd, fam; the length is set by fix_len. */
static void
v2_start(struct b *b, unsigned ver_cmd, unsigned fam)
{
	b->n = 0;
	put(b, "\r\n\r\n\0\r\nQUIT\n", 12);
	put8(b, ver_cmd);
	put8(b, fam);
	put16(b, 0);
}

static void
fix_len(struct b *b)
{
	b->p[14] = (unsigned char)((b->n - 16) >> 8);
	b->p[15] = (unsigned char)(b->n - 16);
}

/* Append a CRC32C TLV and fill it in (the checksum over the whole header
 * with the field zeroed; proxy_crc32c is checked on its own below). */
static void
add_crc(struct b *b)
{
	uint32_t c;
	size_t at;

	tlv(b, 0x03, "\0\0\0\0", 4);
	fix_len(b);
	at = b->n - 4;
	c = proxy_crc32c(0, b->p, b->n);
	b->p[at] = (unsigned char)(c >> 24);
	b->p[at + 1] = (unsigned char)(c >> 16);
	b->p[at + 2] = (unsigned char)(c >> 8);
	b->p[at + 3] = (unsigned char)c;
}

static void
inet4(struct b *b)
{
	put(b, "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x16\x2e" "\x00\x19",
	    12);
}

static void
expect_ok(const void *p, size_t n, size_t want)
{
	const char *why = NULL;
	ssize_t r = proxy_parse(p, n, &h, &why);

	if (r != (ssize_t)want)
		fail_msg("parse: got %zd, want %zu (%s)", r, want,
		    why ? why : "-");
	assert_int_equal(h.len, want);
}

static void
expect_bad(const void *p, size_t n, const char *what)
{
	const char *why = NULL;
	ssize_t r = proxy_parse(p, n, &h, &why);

	if (r != -1)
		fail_msg("parse: got %zd, want -1 (%s)", r, what);
	assert_non_null(why);
	if (strstr(why, what) == NULL)
		fail_msg("why: got \"%s\", want \"%s\"", why, what);
	assert_int_equal(h.version, 0);
	assert_int_equal(h.ntlv, 0);
}

/* Every proper prefix asks for more, never past the end: the reader
 * would otherwise eat the application's first bytes. */
static void
expect_prefixes(const void *p, size_t n)
{
	const char *why = NULL;
	size_t k;
	ssize_t r;

	for (k = 0; k < n; k++) {
		r = proxy_parse(p, k, &h, &why);
		if (r != 0)
			fail_msg("prefix %zu of %zu: got %zd (%s)", k, n, r,
			    r < 0 ? why : "");
		assert_true(h.need >= 1);
		if (k + h.need > n)
			fail_msg("prefix %zu of %zu asks for %zu", k, n,
			    h.need);
	}
}

static void
expect_tlv(unsigned type, const void *v, size_t n)
{
	const struct proxy_tlv *t = proxy_tlv_find(&h, type);

	if (t == NULL)
		fail_msg("no TLV 0x%02x", type);
	assert_int_equal(t->len, n);
	assert_memory_equal(proxy_tlv_value(&h, t), v, n);
}

/* ---- CRC32C ---- */

static void
test_crc32c(void **state)
{
	(void)state;
	/* The standard check value (RFC 3720 B.4's CRC, "123456789"). */
	assert_int_equal(proxy_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(proxy_crc32c(0, "", 0), 0);
	assert_int_equal(proxy_crc32c(proxy_crc32c(0, "1234", 4), "56789", 5),
	    0xE3069283u);
	/* RFC 3720 B.4: 32 octets of zeros. */
	assert_int_equal(proxy_crc32c(0, (const unsigned char[32]){ 0 }, 32),
	    0x8A9136AAu);
}

/* ---- v1 ---- */

static void
test_v1_good(void **state)
{
	static const char l4[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	static const char l6[] =
	    "PROXY TCP6 2001:db8::1 2001:DB8:0:0::25 65535 0\r\n";
	static const char lu[] = "PROXY UNKNOWN\r\n";
	static const char lux[] = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
	char buf[256];

	(void)state;
	snprintf(buf, sizeof(buf), "%sEHLO x\r\n", l4);
	expect_ok(buf, strlen(buf), sizeof(l4) - 1);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.command, PROXY_CMD_PROXY);
	assert_int_equal(h.family, PROXY_FAM_INET);
	assert_int_equal(h.transport, PROXY_PROTO_STREAM);
	assert_string_equal(h.src_addr, "192.0.2.1");
	assert_string_equal(h.dst_addr, "198.51.100.2");
	assert_int_equal(h.src_port, 56324);
	assert_int_equal(h.dst_port, 25);
	assert_int_equal(h.ntlv, 0);
	assert_memory_equal(h.raw, l4, sizeof(l4) - 1);
	expect_prefixes(l4, sizeof(l4) - 1);

	expect_ok(l6, sizeof(l6) - 1, sizeof(l6) - 1);
	assert_int_equal(h.family, PROXY_FAM_INET6);
	assert_string_equal(h.src_addr, "2001:db8::1");
	assert_string_equal(h.dst_addr, "2001:db8::25");	/* canonical */
	assert_int_equal(h.src_port, 65535);
	assert_int_equal(h.dst_port, 0);
	expect_prefixes(l6, sizeof(l6) - 1);

	expect_ok(lu, sizeof(lu) - 1, 15);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.family, PROXY_FAM_UNSPEC);
	assert_int_equal(h.transport, PROXY_PROTO_UNSPEC);
	assert_string_equal(h.src_addr, "");
	expect_prefixes(lu, sizeof(lu) - 1);
	expect_ok(lux, sizeof(lux) - 1, sizeof(lux) - 1);
	expect_prefixes(lux, sizeof(lux) - 1);

	/* The longest line the spec allows: 107 octets. */
	snprintf(buf, sizeof(buf), "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n");
	assert_int_equal(strlen(buf), 104);
	expect_ok(buf, strlen(buf), 104);
	memset(buf, 0, sizeof(buf));
	snprintf(buf, sizeof(buf), "PROXY UNKNOWN %91s\r\n", "x");
	assert_int_equal(strlen(buf), 107);
	expect_ok(buf, strlen(buf), 107);
}

static void
test_v1_bad(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 025 25\r\n", "source port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 65536\r\n", "destination port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 -1\r\n", "destination port" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 1a\r\n", "destination port" },
		{ "PROXY TCP4 01.2.3.4 5.6.7.8 25 25\r\n", "source address" },
		{ "PROXY TCP4 1.2.3 5.6.7.8 25 25\r\n", "source address" },
		{ "PROXY TCP4 ::1 5.6.7.8 25 25\r\n", "source address" },
		{ "PROXY TCP6 ::1 5.6.7.8 25 25\r\n", "destination address" },
		{ "PROXY TCP4 1.2.3.4  5.6.7.8 25 25\r\n", "too few fields" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 25 \r\n", "too few fields" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 25 1\r\n", "too many" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25\r\n", "too few fields" },
		{ "PROXY TCP5 1.2.3.4 5.6.7.8 25 25\r\n", "not TCP4" },
		{ "PROXY tcp4 1.2.3.4 5.6.7.8 25 25\r\n", "not TCP4" },
		{ "PROXY  TCP4 1.2.3.4 5.6.7.8 25 25\r\n", "protocol missing" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 25\n", "CRLF" },
		{ "PROXY TCP4 1.2.3.4 5.6.7.8 25 25\rX\n", "CRLF" },
		{ "PROXY TCP4 1.2.3.4\t5.6.7.8 25 25\r\n", "control" },
		{ "PROXY UNKNOWN\x80\r\n", "control" },
		{ "PROXY\r\n", "not a PROXY header" },
		{ "PROXY \r\n", "too short" },
		{ "proxy TCP4 1.2.3.4 5.6.7.8 25 25\r\n", "not a PROXY" },
		{ "PROXZ", "not a PROXY header" },
		{ "EHLO x\r\n", "not a PROXY header" },
		{ "\x16\x03\x01", "not a PROXY header" },
	};
	char buf[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i].line, strlen(bad[i].line), bad[i].why);
	/* 107 octets without a LF, and a 108-octet line. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	expect_bad(buf, 107, "too long");
	expect_bad(buf, sizeof(buf), "too long");
	memcpy(buf + 106, "\r\n", 2);
	expect_bad(buf, 108, "too long");
	/* The early verdict: a client speaking SMTP is refused at once. */
	expect_bad("Q", 1, "not a PROXY header");
}

/* ---- v2 ---- */

static void
test_v2_all_tlvs(void **state)
{
	static const unsigned char uid[16] = { 0xde, 0xad, 0xbe, 0xef, 0, 1,
	    2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct b b, ssl;
	const struct proxy_tlv *t;

	(void)state;
	ssl.n = 0;
	put8(&ssl, 0x07);
	put(&ssl, "\0\0\0\0", 4);
	tlv(&ssl, 0x21, "TLSv1.3", 7);
	tlv(&ssl, 0x22, "client.example", 14);
	tlv(&ssl, 0x23, "TLS_AES_256_GCM_SHA384", 22);
	tlv(&ssl, 0x24, "SHA256", 6);
	tlv(&ssl, 0x25, "RSA2048", 7);
	tlv(&ssl, 0x99, "\x01", 1);
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x01, "h2", 2);
	tlv(&b, 0x02, "mx.example.org", 14);
	tlv(&b, 0x04, "\0\0\0", 3);
	tlv(&b, 0x05, uid, sizeof(uid));
	tlv(&b, 0x20, ssl.p, ssl.n);
	tlv(&b, 0x30, "blue", 4);
	tlv(&b, 0xe0, "\x01\x02", 2);
	tlv(&b, 0xe1, "", 0);
	add_crc(&b);
	put(&b, "220 after", 9);
	expect_prefixes(b.p, b.n - 9);
	expect_ok(b.p, b.n, b.n - 9);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.command, PROXY_CMD_PROXY);
	assert_int_equal(h.family, PROXY_FAM_INET);
	assert_int_equal(h.transport, PROXY_PROTO_STREAM);
	assert_string_equal(h.src_addr, "1.2.3.4");
	assert_string_equal(h.dst_addr, "5.6.7.8");
	assert_int_equal(h.src_port, 5678);
	assert_int_equal(h.dst_port, 25);
	assert_int_equal(h.ntlv, 15);
	expect_tlv(0x01, "h2", 2);
	expect_tlv(0x02, "mx.example.org", 14);
	expect_tlv(0x04, "\0\0\0", 3);
	expect_tlv(0x05, uid, sizeof(uid));
	expect_tlv(0x20, ssl.p, ssl.n);
	expect_tlv(0x21, "TLSv1.3", 7);
	expect_tlv(0x22, "client.example", 14);
	expect_tlv(0x23, "TLS_AES_256_GCM_SHA384", 22);
	expect_tlv(0x24, "SHA256", 6);
	expect_tlv(0x25, "RSA2048", 7);
	expect_tlv(0x30, "blue", 4);
	expect_tlv(0xe0, "\x01\x02", 2);
	expect_tlv(0xe1, "", 0);
	assert_true(h.has_ssl);
	assert_int_equal(h.ssl_client, 7);
	assert_int_equal(h.ssl_verify, 0);
	assert_true(h.has_crc32c);
	/* In order, sub-TLVs right after their SSL TLV. */
	assert_int_equal(h.tlv[4].type, 0x20);
	assert_int_equal(h.tlv[4].parent, 0);
	assert_int_equal(h.tlv[5].type, 0x21);
	assert_int_equal(h.tlv[5].parent, 0x20);
	assert_int_equal(h.tlv[10].type, 0x99);
	assert_int_equal(h.tlv[10].parent, 0x20);
	assert_null(proxy_tlv_find(&h, 0x99));	/* only inside SSL */
	t = proxy_tlv_find(&h, 0x03);
	assert_non_null(t);
	assert_int_equal(t->len, 4);
	/* The struct copies by assignment (offsets, not pointers). */
	{
		static struct proxy_hdr copy;

		copy = h;
		memset(&h, 0xa5, sizeof(h));
		t = proxy_tlv_find(&copy, 0x02);
		assert_memory_equal(proxy_tlv_value(&copy, t),
		    "mx.example.org", 14);
	}
}

static void
test_v2_families(void **state)
{
	struct b b;
	unsigned char path[108];

	(void)state;
	v2_start(&b, 0x21, 0x21);
	put(&b, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	put(&b, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\0\x02\x01", 16);
	put16(&b, 40000);
	put16(&b, 587);
	fix_len(&b);
	expect_prefixes(b.p, b.n);
	expect_ok(b.p, b.n, b.n);
	assert_int_equal(h.family, PROXY_FAM_INET6);
	assert_string_equal(h.src_addr, "2001:db8::1");
	assert_string_equal(h.dst_addr, "::ffff:192.0.2.1");
	assert_int_equal(h.src_port, 40000);
	assert_int_equal(h.dst_port, 587);

	/* UDP over IPv4 */
	v2_start(&b, 0x21, 0x12);
	inet4(&b);
	fix_len(&b);
	expect_ok(b.p, b.n, 28);
	assert_int_equal(h.transport, PROXY_PROTO_DGRAM);

	/* UNIX: a path, and an abstract name (leading NUL). */
	v2_start(&b, 0x21, 0x31);
	memset(path, 0, sizeof(path));
	memcpy(path, "/run/mx.sock", 12);
	put(&b, path, sizeof(path));
	memset(path, 0, sizeof(path));
	memcpy(path + 1, "haproxy", 7);
	put(&b, path, sizeof(path));
	fix_len(&b);
	expect_ok(b.p, b.n, 16 + 216);
	assert_int_equal(h.family, PROXY_FAM_UNIX);
	assert_string_equal(h.src_addr, "/run/mx.sock");
	assert_string_equal(h.dst_addr, "@haproxy");
	assert_int_equal(h.src_port, 0);
	/* a path of all 108 octets, no NUL */
	v2_start(&b, 0x21, 0x32);
	memset(path, 'a', sizeof(path));
	put(&b, path, sizeof(path));
	put(&b, path, sizeof(path));
	fix_len(&b);
	expect_ok(b.p, b.n, 16 + 216);
	assert_int_equal(strlen(h.src_addr), 108);

	/* PROXY with UNSPEC: the real endpoints count; TLVs still read. */
	v2_start(&b, 0x21, 0x00);
	tlv(&b, 0x02, "x", 1);
	fix_len(&b);
	expect_ok(b.p, b.n, 20);
	assert_int_equal(h.command, PROXY_CMD_PROXY);
	assert_int_equal(h.family, PROXY_FAM_UNSPEC);
	assert_string_equal(h.src_addr, "");
	expect_tlv(0x02, "x", 1);
}

static void
test_v2_local(void **state)
{
	struct b b;

	(void)state;
	/* What haproxy's health checks send: LOCAL, UNSPEC, no block. */
	v2_start(&b, 0x20, 0x00);
	expect_ok(b.p, b.n, 16);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.command, PROXY_CMD_LOCAL);
	assert_string_equal(h.src_addr, "");
	/* LOCAL with addresses: ignored, TLVs still read. */
	v2_start(&b, 0x20, 0x11);
	inet4(&b);
	tlv(&b, 0x05, "id", 2);
	add_crc(&b);
	expect_ok(b.p, b.n, b.n);
	assert_int_equal(h.command, PROXY_CMD_LOCAL);
	assert_int_equal(h.family, PROXY_FAM_INET);
	assert_string_equal(h.src_addr, "");
	assert_int_equal(h.src_port, 0);
	expect_tlv(0x05, "id", 2);
	/* LOCAL with a block too short for its family: ignored whole. */
	v2_start(&b, 0x20, 0x21);
	put(&b, "abc", 3);
	fix_len(&b);
	expect_ok(b.p, b.n, 19);
	assert_int_equal(h.ntlv, 0);
}

static void
test_v2_crc(void **state)
{
	struct b b, c;
	size_t i;

	(void)state;
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x01, "smtp", 4);
	add_crc(&b);
	expect_ok(b.p, b.n, b.n);
	assert_true(h.has_crc32c);
	/* Any octet changed anywhere: a mismatch (or another error). */
	for (i = 0; i < b.n; i++) {
		c = b;
		c.p[i] ^= 0x01;
		if (i == 12 || i == 13 || i == 14 || i == 15 || i < 12 ||
		    (i >= 28 && i < 31) || (i >= 35 && i < 38))
			continue;	/* structure octets: other errors */
		expect_bad(c.p, c.n, "bad CRC32C");
	}
	/* The CRC first, before the other TLVs. */
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x03, "\0\0\0\0", 4);
	tlv(&b, 0x01, "smtp", 4);
	fix_len(&b);
	{
		uint32_t v = proxy_crc32c(0, b.p, b.n);

		b.p[31] = (unsigned char)(v >> 24);
		b.p[32] = (unsigned char)(v >> 16);
		b.p[33] = (unsigned char)(v >> 8);
		b.p[34] = (unsigned char)v;
	}
	expect_ok(b.p, b.n, b.n);
	b.p[34] ^= 0x80;
	expect_bad(b.p, b.n, "bad CRC32C");

	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x03, "\0\0\0", 3);
	fix_len(&b);
	expect_bad(b.p, b.n, "not 4 octets");
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x03, "\0\0\0\0", 4);
	add_crc(&b);
	expect_bad(b.p, b.n, "twice");
}

static void
test_v2_bad(void **state)
{
	struct b b, ssl;
	unsigned char big[200];
	size_t i;

	(void)state;
	/* Each signature octet wrong is refused as soon as it arrives. */
	for (i = 0; i < 12; i++) {
		v2_start(&b, 0x21, 0x11);
		inet4(&b);
		fix_len(&b);
		b.p[i] ^= 0x20;
		if (i == 0)
			expect_bad(b.p, i + 1, "not a PROXY header");
		else
			expect_bad(b.p, i + 1, "bad v2 signature");
	}
	v2_start(&b, 0x11, 0x11);
	expect_bad(b.p, 13, "bad v2 version");
	v2_start(&b, 0x31, 0x11);
	expect_bad(b.p, 16, "bad v2 version");
	v2_start(&b, 0x22, 0x11);
	expect_bad(b.p, 13, "bad v2 command");
	v2_start(&b, 0x2f, 0x11);
	expect_bad(b.p, 16, "bad v2 command");
	for (i = 0; i < 256; i++) {
		if (i == 0x00 || i == 0x11 || i == 0x12 || i == 0x21 ||
		    i == 0x22 || i == 0x31 || i == 0x32)
			continue;
		v2_start(&b, 0x21, (unsigned)i);
		expect_bad(b.p, 14, "family");
	}
	/* The length is judged from the fixed part alone. */
	v2_start(&b, 0x21, 0x11);
	b.p[14] = 0x3f;
	b.p[15] = 0xf1;
	expect_bad(b.p, 16, "exceeds 16368");
	b.p[15] = 0xf0;		/* 16368: the largest, incomplete */
	assert_int_equal(proxy_parse(b.p, 16, &h, &(const char *){ 0 }), 0);
	assert_int_equal(h.need, 16368);
	v2_start(&b, 0x21, 0x11);
	put(&b, "\1\2\3\4\5\6\7\x08\x09\x0a\x0b", 11);
	fix_len(&b);
	expect_bad(b.p, b.n, "too short for the addresses");
	v2_start(&b, 0x21, 0x21);
	inet4(&b);
	fix_len(&b);
	expect_bad(b.p, b.n, "too short for the addresses");
	v2_start(&b, 0x21, 0x31);
	expect_bad(b.p, b.n, "too short for the addresses");

	/* TLVs that do not fill the block exactly. */
	for (i = 1; i <= 2; i++) {
		v2_start(&b, 0x21, 0x11);
		inet4(&b);
		put(&b, "\x01\x00", i);
		fix_len(&b);
		expect_bad(b.p, b.n, "TLV truncated");
	}
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x01, "h2", 2);
	b.p[b.n - 3] = 3;		/* claims 3, has 2 */
	fix_len(&b);
	expect_bad(b.p, b.n, "overruns the header");
	memset(big, 'u', sizeof(big));
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x05, big, 129);
	fix_len(&b);
	expect_bad(b.p, b.n, "longer than 128");
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x05, big, 128);
	fix_len(&b);
	expect_ok(b.p, b.n, b.n);
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x20, "\x01\0\0\0", 4);
	fix_len(&b);
	expect_bad(b.p, b.n, "SSL TLV shorter than 5");
	ssl.n = 0;
	put(&ssl, "\x01\0\0\0\0", 5);
	tlv(&ssl, 0x21, "TLSv1.2", 7);
	ssl.p[ssl.n - 8] = 8;
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x20, ssl.p, ssl.n);
	fix_len(&b);
	expect_bad(b.p, b.n, "sub-TLV overruns");
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x20, "\x01\0\0\0\0\x21", 6);
	fix_len(&b);
	expect_bad(b.p, b.n, "sub-TLV truncated");
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	tlv(&b, 0x20, "\x01\0\0\0\0", 5);
	tlv(&b, 0x20, "\x01\0\0\0\0", 5);
	fix_len(&b);
	expect_bad(b.p, b.n, "SSL TLV given twice");
	/* 128 TLVs are fine, 129 are too many. */
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	for (i = 0; i < 128; i++)
		tlv(&b, 0x04, "", 0);
	fix_len(&b);
	expect_ok(b.p, b.n, b.n);
	tlv(&b, 0x04, "", 0);
	fix_len(&b);
	expect_bad(b.p, b.n, "more than 128 TLVs");
}

/* ---- encoding ---- */

static void
test_encode_v1(void **state)
{
	struct proxy_info in = { .command = PROXY_CMD_PROXY,
	    .family = PROXY_FAM_INET, .src_addr = "192.0.2.1",
	    .dst_addr = "198.51.100.2", .src_port = 56324, .dst_port = 25 };
	struct proxy_tlv_val t = { 0x01, "h2", 2 };
	char buf[PROXY_V1_MAX];
	const char *why = NULL;
	ssize_t n;

	(void)state;
	n = proxy_encode_v1(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 44);
	assert_memory_equal(buf, "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n",
	    44);
	expect_ok(buf, (size_t)n, (size_t)n);
	in.family = PROXY_FAM_INET6;
	in.src_addr = "2001:DB8::0:1";
	in.dst_addr = "::1";
	n = proxy_encode_v1(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 37);
	assert_memory_equal(buf, "PROXY TCP6 2001:db8::1 ::1 56324 25\r\n", 37);
	expect_ok(buf, (size_t)n, (size_t)n);
	assert_string_equal(h.src_addr, "2001:db8::1");
	in.command = PROXY_CMD_LOCAL;
	n = proxy_encode_v1(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 15);
	assert_memory_equal(buf, "PROXY UNKNOWN\r\n", 15);

	in.command = PROXY_CMD_PROXY;
	assert_int_equal(proxy_encode_v1(&in, buf, 10, &why), -1);
	assert_string_equal(why, "buffer too small");
	in.src_addr = "1.2.3.4";
	assert_int_equal(proxy_encode_v1(&in, buf, sizeof(buf), &why), -1);
	assert_string_equal(why, "not an IPv6 address");
	in.family = PROXY_FAM_UNIX;
	assert_int_equal(proxy_encode_v1(&in, buf, sizeof(buf), &why), -1);
	in.family = PROXY_FAM_INET;
	in.dst_addr = "5.6.7.8";
	in.dst_port = 65536;
	assert_int_equal(proxy_encode_v1(&in, buf, sizeof(buf), &why), -1);
	in.dst_port = 25;
	in.tlv = &t;
	in.ntlv = 1;
	assert_int_equal(proxy_encode_v1(&in, buf, sizeof(buf), &why), -1);
	assert_string_equal(why, "v1 has no TLVs");
	in.ntlv = 0;
	in.transport = PROXY_PROTO_DGRAM;
	assert_int_equal(proxy_encode_v1(&in, buf, sizeof(buf), &why), -1);
}

static void
test_encode_v2(void **state)
{
	static unsigned char buf[PROXY_V2_MAX + 16];
	static unsigned char big[PROXY_V2_MAX];
	struct proxy_tlv_val sub[] = {
		{ 0x21, "TLSv1.3", 7 }, { 0x22, "c.example", 9 },
	};
	unsigned char ssl[64];
	struct proxy_tlv_val tl[4] = {
		{ 0x01, "h2", 2 }, { 0x02, "mx.example.org", 14 },
		{ 0xe0, "\0\1", 2 },
	};
	struct proxy_info in = { .command = PROXY_CMD_PROXY,
	    .family = PROXY_FAM_INET, .src_addr = "1.2.3.4",
	    .dst_addr = "5.6.7.8", .src_port = 5678, .dst_port = 25 };
	struct proxy_info back;
	struct proxy_tlv_val bt[8];
	struct b b;
	const char *why = NULL;
	ssize_t n, sn;

	(void)state;
	/* Exactly the octets of the spec's layout. */
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	v2_start(&b, 0x21, 0x11);
	inet4(&b);
	fix_len(&b);
	assert_int_equal(n, 28);
	assert_memory_equal(buf, b.p, 28);
	/* With TLVs and a CRC (put first). */
	sn = proxy_ssl_value(0x05, 0, sub, 2, ssl, sizeof(ssl));
	assert_int_equal(sn, 5 + 10 + 12);
	tl[3] = (struct proxy_tlv_val){ 0x20, ssl, (size_t)sn };
	in.tlv = tl;
	in.ntlv = 4;
	in.crc32c = 1;
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	assert_true(n > 0);
	expect_ok(buf, (size_t)n, (size_t)n);
	assert_true(h.has_crc32c);
	assert_int_equal(h.tlv[0].type, 0x03);
	expect_tlv(0x22, "c.example", 9);
	assert_int_equal(h.ssl_client, 5);
	/* Re-encoding what was parsed gives the same octets. */
	proxy_hdr_info(&h, &back, bt, 8);
	assert_int_equal(back.ntlv, 5);
	n = proxy_encode_v2(&back, big, sizeof(big), &why);
	assert_int_equal(n, (ssize_t)h.len);
	assert_memory_equal(big, h.raw, h.len);

	/* IPv6, UNIX, LOCAL */
	in = (struct proxy_info){ .command = PROXY_CMD_PROXY,
	    .family = PROXY_FAM_INET6, .transport = PROXY_PROTO_DGRAM,
	    .src_addr = "2001:db8::1", .dst_addr = "::1", .src_port = 1,
	    .dst_port = 2 };
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 52);
	expect_ok(buf, 52, 52);
	assert_int_equal(h.transport, PROXY_PROTO_DGRAM);
	assert_string_equal(h.dst_addr, "::1");
	in.family = PROXY_FAM_UNIX;
	in.transport = PROXY_PROTO_UNSPEC;
	in.src_addr = "/tmp/s";
	in.dst_addr = "@abs";
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 232);
	expect_ok(buf, 232, 232);
	assert_int_equal(h.transport, PROXY_PROTO_STREAM);
	assert_string_equal(h.src_addr, "/tmp/s");
	assert_string_equal(h.dst_addr, "@abs");
	in.command = PROXY_CMD_LOCAL;
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, 16);
	assert_int_equal(buf[12], 0x20);
	assert_int_equal(buf[13], 0x00);

	/* Errors: bad address, too big, buffer too small. */
	in = (struct proxy_info){ .command = PROXY_CMD_PROXY,
	    .family = PROXY_FAM_INET, .src_addr = "1.2.3.400",
	    .dst_addr = "5.6.7.8" };
	assert_int_equal(proxy_encode_v2(&in, buf, sizeof(buf), &why), -1);
	assert_string_equal(why, "not an IPv4 address");
	in.src_addr = "1.2.3.4";
	tl[0] = (struct proxy_tlv_val){ 0xe0, big, PROXY_V2_MAX - 28 - 3 };
	in.tlv = tl;
	in.ntlv = 1;
	n = proxy_encode_v2(&in, buf, sizeof(buf), &why);
	assert_int_equal(n, PROXY_V2_MAX);
	expect_ok(buf, PROXY_V2_MAX, PROXY_V2_MAX);
	tl[0].len++;
	assert_int_equal(proxy_encode_v2(&in, buf, sizeof(buf), &why), -1);
	assert_non_null(strstr(why, "longer than 16384"));
	tl[0].len = 10;
	assert_int_equal(proxy_encode_v2(&in, buf, 40, &why), -1);
	assert_string_equal(why, "buffer too small");
	in.family = PROXY_FAM_UNIX;
	memset(big, 'p', 120);
	big[120] = '\0';
	in.src_addr = (const char *)big;
	in.ntlv = 0;
	assert_int_equal(proxy_encode_v2(&in, buf, sizeof(buf), &why), -1);
}

/* ---- the fd reader ---- */

/* A child writing data to fd in pieces of step octets, pausing between
 * them, then closing (or, with hold, sleeping a while first). */
static pid_t
writer(int fd, const void *data, size_t n, size_t step, int hold)
{
	pid_t pid = fork();
	const unsigned char *p = data;
	size_t k;

	assert_true(pid != -1);
	if (pid == 0) {
		for (k = 0; k < n; k += step) {
			if (write(fd, p + k, n - k < step ? n - k : step) < 0)
				_exit(1);
			usleep(2000);
		}
		if (hold)
			sleep(2);
		_exit(0);
	}
	close(fd);
	return pid;
}

static void
reap(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

/* Header then "after": the reader takes the header only. */
static void
read_one(const void *hdr, size_t n, size_t step, int sock, int nonblock)
{
	unsigned char data[PROXY_V2_MAX + 16], rest[16];
	const char *why = NULL;
	int fds[2];
	pid_t pid;
	ssize_t r;

	memcpy(data, hdr, n);
	memcpy(data + n, "after", 5);
	if (sock)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	else {
		assert_int_equal(pipe(fds), 0);
		/* pipe: fds[0] reads; make it look like the socket case */
		r = fds[0];
		fds[0] = fds[1];
		fds[1] = (int)r;
	}
	if (nonblock)
		fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	pid = writer(fds[0], data, n + 5, step, 0);
	if (proxy_read_fd(fds[1], 5000, &h, &why) != PROXY_READ_OK)
		fail_msg("read_fd: %s (n %zu step %zu sock %d nb %d got %zu)",
		    why, n, step, sock, nonblock, h.len);
	assert_int_equal(h.len, n);
	assert_memory_equal(h.raw, hdr, n);
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) & ~O_NONBLOCK);
	r = read(fds[1], rest, sizeof(rest));
	if (r < 5) {	/* the rest may come in pieces */
		ssize_t r2 = read(fds[1], rest + (r > 0 ? r : 0), 5);
		r = (r > 0 ? r : 0) + (r2 > 0 ? r2 : 0);
		while (r < 5 && (r2 = read(fds[1], rest + r, 5)) > 0)
			r += r2;
	}
	assert_int_equal(r, 5);
	assert_memory_equal(rest, "after", 5);
	close(fds[1]);
	reap(pid);
}

static void
test_read_fd(void **state)
{
	static const char v1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
	unsigned char v2[PROXY_V2_MAX];
	struct proxy_tlv_val t = { 0xe0, NULL, 3000 };
	struct proxy_info in = { .command = PROXY_CMD_PROXY,
	    .family = PROXY_FAM_INET6, .src_addr = "2001:db8::1",
	    .dst_addr = "::1", .src_port = 1, .dst_port = 2, .tlv = &t,
	    .ntlv = 1, .crc32c = 1 };
	static unsigned char fill[3000];
	const char *why = NULL;
	unsigned char small[64];
	ssize_t n, sn;
	int s, nb;

	(void)state;
	t.value = fill;
	memset(fill, 0xee, sizeof(fill));
	n = proxy_encode_v2(&in, v2, sizeof(v2), &why);
	assert_true(n > 3000);
	in.ntlv = 0;
	in.crc32c = 0;
	sn = proxy_encode_v2(&in, small, sizeof(small), &why);
	assert_int_equal(sn, 52);
	for (s = 0; s <= 1; s++)
		for (nb = 0; nb <= 1; nb++) {
			read_one(v1, sizeof(v1) - 1, 1000, s, nb);
			read_one(v1, sizeof(v1) - 1, 1, s, nb);
			read_one("PROXY UNKNOWN\r\n", 15, 1, s, nb);
			read_one(v2, (size_t)n, 100000, s, nb);
			read_one(v2, (size_t)n, 61, s, nb);
			read_one(small, (size_t)sn, 1, s, nb);
		}
}

static void
test_read_fd_fail(void **state)
{
	const char *why = NULL;
	int fds[2];
	pid_t pid;
	struct timespec a, b;
	long ms;

	(void)state;
	/* Incomplete, writer still there: a timeout, on time. */
	assert_int_equal(pipe(fds), 0);
	pid = writer(fds[1], "PROXY TCP4 1.2.", 15, 100, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(proxy_read_fd(fds[0], 300, &h, &why),
	    PROXY_READ_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 290 && ms < 2000);
	assert_string_equal(why, "PROXY header incomplete in time");
	assert_int_equal(h.len, 15);
	assert_int_equal(h.version, 0);
	close(fds[0]);
	reap(pid);
	/* Nothing at all */
	assert_int_equal(pipe(fds), 0);
	pid = writer(fds[1], "", 0, 1, 1);
	assert_int_equal(proxy_read_fd(fds[0], 100, &h, &why),
	    PROXY_READ_TIMEOUT);
	assert_string_equal(why, "no PROXY header in time");
	close(fds[0]);
	reap(pid);
	/* Incomplete then closed: EOF. */
	assert_int_equal(pipe(fds), 0);
	pid = writer(fds[1], "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x01", 17,
	    100, 0);
	assert_int_equal(proxy_read_fd(fds[0], 5000, &h, &why),
	    PROXY_READ_EOF);
	assert_string_equal(why, "end of input inside the PROXY header");
	assert_int_equal(h.len, 17);
	close(fds[0]);
	reap(pid);
	assert_int_equal(pipe(fds), 0);
	close(fds[1]);
	assert_int_equal(proxy_read_fd(fds[0], 5000, &h, &why),
	    PROXY_READ_EOF);
	assert_string_equal(why, "end of input before a PROXY header");
	close(fds[0]);
	/* Not a header: refused at the first octets, not at the timeout. */
	assert_int_equal(pipe(fds), 0);
	pid = writer(fds[1], "EHLO x\r\n", 8, 100, 1);
	assert_int_equal(proxy_read_fd(fds[0], 5000, &h, &why),
	    PROXY_READ_MALFORMED);
	assert_string_equal(why, "not a PROXY header");
	assert_int_equal(h.len, 8);
	close(fds[0]);
	reap(pid);
	/* A bad descriptor */
	assert_int_equal(proxy_read_fd(-1, 100, &h, &why), PROXY_READ_IO);
	assert_int_equal(errno, EBADF);
}

static void
test_names(void **state)
{
	static const char *const names[] = { "alpn", "authority", "crc32c",
	    "noop", "unique_id", "ssl", "ssl_version", "ssl_cn", "ssl_cipher",
	    "ssl_sig_alg", "ssl_key_alg", "netns" };
	size_t i;
	int t;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		t = proxy_tlv_type(names[i]);
		assert_true(t > 0);
		assert_string_equal(proxy_tlv_name((unsigned)t), names[i]);
	}
	assert_int_equal(proxy_tlv_type("ALPN"), 1);
	assert_int_equal(proxy_tlv_type("0xE0"), 0xe0);
	assert_int_equal(proxy_tlv_type("0x00"), 0);
	assert_int_equal(proxy_tlv_type("0x1"), -1);
	assert_int_equal(proxy_tlv_type("0xg0"), -1);
	assert_int_equal(proxy_tlv_type("0x100"), -1);
	assert_int_equal(proxy_tlv_type("sni"), -1);
	assert_null(proxy_tlv_name(0xe0));
	assert_string_equal(proxy_cmd_name(PROXY_CMD_LOCAL), "LOCAL");
	assert_string_equal(proxy_fam_name(PROXY_FAM_INET6), "INET6");
	assert_string_equal(proxy_proto_name(PROXY_PROTO_DGRAM), "DGRAM");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_v1_good),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2_all_tlvs),
		cmocka_unit_test(test_v2_families),
		cmocka_unit_test(test_v2_local),
		cmocka_unit_test(test_v2_crc),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_encode_v1),
		cmocka_unit_test(test_encode_v2),
		cmocka_unit_test(test_read_fd),
		cmocka_unit_test(test_read_fd_fail),
		cmocka_unit_test(test_names),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
