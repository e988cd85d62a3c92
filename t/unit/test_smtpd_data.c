/* Unit tests for lib/smtpd_data: DATA un-stuffing and its end (only
 * CRLF.CRLF: the smuggling variants are data), the same result whatever
 * the chunking, the counters the core's limits use, and BDAT chunks with
 * CR LF split across them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_data.h"

struct run {
	struct smtpd_data d;
	char out[8192];
	size_t outlen;
	size_t consumed;
};

/* Feed in[0..n) in DATA mode, in chunks of step octets (0: one chunk;
 * -1: random sizes from seed), into a buffer with room for all. */
static void
run_dot(const char *in, size_t n, long step, unsigned seed, struct run *r)
{
	size_t off = 0, k, c, got;
	unsigned rnd = seed;
	int rounds = 0;

	memset(r, 0, sizeof(*r));
	smtpd_data_init(&r->d, SMTPD_DATA_DOT);
	assert_true(n + SMTPD_DATA_SLACK <= sizeof(r->out));
	while (off < n && !r->d.done) {
		assert_true(++rounds <= 100000);
		if (step == 0)
			k = n - off;
		else if (step < 0) {
			rnd = rnd * 1103515245u + 12345u;
			k = 1 + (rnd >> 16) % 17;
		} else
			k = (size_t)step;
		if (k > n - off)
			k = n - off;
		c = smtpd_data_feed(&r->d, in + off, k, r->out + r->outlen,
		    sizeof(r->out) - r->outlen, &got);
		assert_true(c <= k);
		if (!r->d.done)
			assert_int_equal(c, k);
		off += c;
		r->outlen += got;
		assert_true(r->outlen <= off);
	}
	r->consumed = off;
	r->out[r->outlen] = '\0';
}

static void
same(const struct run *a, const struct run *b)
{
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->outlen, b->outlen);
	assert_memory_equal(a->out, b->out, a->outlen);
	assert_int_equal(a->d.done, b->d.done);
	assert_true(a->d.wire == b->d.wire && a->d.size == b->d.size &&
	    a->d.lines == b->d.lines && a->d.line_max == b->d.line_max &&
	    a->d.bare_lf == b->d.bare_lf && a->d.bare_cr == b->d.bare_cr &&
	    a->d.nul == b->d.nul && a->d.eightbit == b->d.eightbit);
}

/* in gives want (consumed octets, output); the same at every chunking. */
static void
dot_is(const char *in, size_t n, size_t consumed, const char *want,
    int done)
{
	static struct run one, other;
	long steps[] = { 1, 2, 3, 5, 7 };
	size_t i;

	run_dot(in, n, 0, 0, &one);
	if (one.consumed != consumed || one.outlen != strlen(want) ||
	    memcmp(one.out, want, one.outlen) != 0 || one.d.done != done)
		fail_msg("consumed %zu, output \"%s\", done %d",
		    one.consumed, one.out, one.d.done);
	assert_int_equal(one.d.wire, consumed);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		run_dot(in, n, steps[i], 0, &other);
		same(&one, &other);
	}
	for (i = 0; i < 20; i++) {
		run_dot(in, n, -1, (unsigned)i, &other);
		same(&one, &other);
	}
}

#define DOT(in, consumed, want, done) \
	dot_is(in, sizeof(in) - 1, consumed, want, done)
/* Ended by the terminator at its very end. */
#define DOTALL(in, want)	DOT(in, sizeof(in) - 1, want, 1)

static void
test_plain(void **state)
{
	(void)state;
	DOT("Subject: x\r\n\r\nbody\r\n.\r\n", 23, "Subject: x\n\nbody\n", 1);
	/* The DATA command's CRLF precedes the first line. */
	DOT(".\r\n", 3, "", 1);
	DOT("\r\n.\r\n", 5, "\n", 1);
	/* What follows the terminator is the next command's. */
	DOT("a\r\n.\r\nQUIT\r\n", 6, "a\n", 1);
	DOT(".\r\nMAIL FROM:<>\r\n", 3, "", 1);
	/* Not ended yet: everything consumed. */
	DOT("a\r\nb", 4, "a\nb", 0);
	DOT("a\r\n.", 4, "a\n", 0);
	DOT("a\r\n.\r", 5, "a\n", 0);
	DOT("a\r", 2, "a", 0);
}

static void
test_unstuff(void **state)
{
	(void)state;
	DOT("..foo\r\n.\r\n", 10, ".foo\n", 1);
	DOT("...\r\n.\r\n", 8, "..\n", 1);
	DOT(".x\r\n.\r\n", 7, "x\n", 1);
	DOT("a\r\n..\r\n.\r\n", 10, "a\n.\n", 1);
	DOT("a\r\n.. \r\n.\r\n", 11, "a\n. \n", 1);
	/* A dot inside a line stays. */
	DOT("a.b\r\n a.\r\n.\r\n", 13, "a.b\n a.\n", 1);
	/* A first line that starts with a dot keeps the rest. */
	DOT("..From x\r\n.\r\n", 13, ".From x\n", 1);
}

/* CVE-2023-51764/51765/51766: only CRLF.CRLF ends the data. */
static void
test_smuggling(void **state)
{
	static struct run r;

	(void)state;
	DOTALL("a\n.\nMAIL FROM:<x@y>\r\n.\r\n", "a\n\nMAIL FROM:<x@y>\n");
	DOT("a\r\n.\nb\r\n.\r\n", 11, "a\n\nb\n", 1);
	DOT("a\n.\r\nb\r\n.\r\n", 11, "a\n\nb\n", 1);
	DOT("a\r.\r\nb\r\n.\r\n", 11, "a\r.\nb\n", 1);
	DOT("a\r\n.\rb\r\n.\r\n", 11, "a\n\rb\n", 1);
	DOTALL("a\r\n.\r\r\nb\r\n.\r\n", "a\n\r\nb\n");
	DOTALL("a\r\r\n.\r\r\n.\r\n", "a\r\n\r\n");
	DOT("a\n.\n", 4, "a\n\n", 0);
	DOT("\n.\n", 3, "\n\n", 0);
	DOT(".\n", 2, "\n", 0);
	DOT("a\r\n.\n\r\n.\r\n", 10, "a\n\n\n", 1);
	/* The counters see them. */
	run_dot("a\n.\nb\r.\r\n.\r\n", 12, 0, 0, &r);
	assert_true(r.d.done);
	assert_int_equal(r.d.bare_lf, 2);
	assert_int_equal(r.d.bare_cr, 1);
	run_dot("a\r\nb\r\n.\r\n", 9, 0, 0, &r);
	assert_int_equal(r.d.bare_lf, 0);
	assert_int_equal(r.d.bare_cr, 0);
}

static void
test_counters(void **state)
{
	static struct run r;
	static char big[3000];
	size_t n;

	(void)state;
	run_dot("a\0b\xc3\xa9\r\nc\r\n.\r\n", 13, 0, 0, &r);
	assert_int_equal(r.d.nul, 1);
	assert_int_equal(r.d.eightbit, 2);
	assert_int_equal(r.d.lines, 2);
	assert_int_equal(r.d.size, 8);
	assert_int_equal(smtpd_data_size_crlf(&r.d), 10);
	assert_int_equal(r.d.wire, 13);
	assert_int_equal(r.d.line_max, 5);
	assert_int_equal(r.outlen, 8);
	assert_memory_equal(r.out, "a\0b\xc3\xa9\nc\n", 8);
	/* 998 octets and CRLF is the limit; 999 is over; a stuffing dot
	 * counts (it is on the wire). */
	memset(big, 'x', 998);
	memcpy(big + 998, "\r\n.\r\n", 5);
	run_dot(big, 1003, 0, 0, &r);
	assert_int_equal(r.d.line_max, 998);
	memset(big, 'x', 999);
	memcpy(big + 999, "\r\n.\r\n", 5);
	run_dot(big, 1004, 7, 0, &r);
	assert_int_equal(r.d.line_max, 999);
	big[0] = '.';
	memcpy(big + 999, "\n\r\n.\r\n", 6);
	run_dot(big, 1005, 0, 0, &r);
	assert_int_equal(r.d.line_max, 999);
	assert_int_equal(r.outlen, 998 + 2);
	/* The longest line, not the last. */
	n = (size_t)snprintf(big, sizeof(big), "%s\r\nab\r\n.\r\n",
	    "0123456789");
	run_dot(big, n, 1, 0, &r);
	assert_int_equal(r.d.line_max, 10);
}

/* Past the size limit the core feeds with out == NULL to the end. */
static void
test_discard(void **state)
{
	static const char in[] = "a\r\n..b\r\n\n.\r\nc\r\n.\r\nNEXT";
	struct smtpd_data d, e;
	char out[64];
	size_t got, c, off = 0;

	(void)state;
	smtpd_data_init(&d, SMTPD_DATA_DOT);
	smtpd_data_init(&e, SMTPD_DATA_DOT);
	while (off < sizeof(in) - 1 && !e.done) {
		c = sizeof(in) - 1 - off < 3 ? sizeof(in) - 1 - off : 3;
		off += smtpd_data_feed(&e, in + off, c, NULL, 0, &got);
		assert_int_equal(got, 0);
	}
	c = smtpd_data_feed(&d, in, sizeof(in) - 1, out, sizeof(out), &got);
	assert_true(d.done && e.done);
	assert_int_equal(c, off);
	assert_memory_equal(in + c, "NEXT", 4);
	assert_true(d.size == e.size && d.lines == e.lines &&
	    d.bare_lf == e.bare_lf && d.wire == e.wire);
	/* Done: nothing more is consumed. */
	assert_int_equal(smtpd_data_feed(&d, "x", 1, out, sizeof(out), &got),
	    0);
	assert_int_equal(got, 0);
}

/* A small output buffer: the feed stops early, and carries on. */
static void
test_out_room(void **state)
{
	static const char in[] = "ab\rc\r\n..d\r\nef\r\n.\r\nX";
	struct smtpd_data d;
	char out[64];
	size_t cap, got, c, off, olen;
	int rounds;

	(void)state;
	for (cap = SMTPD_DATA_SLACK; cap < 8; cap++) {
		smtpd_data_init(&d, SMTPD_DATA_DOT);
		off = olen = 0;
		for (rounds = 0; !d.done && rounds < 100; rounds++) {
			c = smtpd_data_feed(&d, in + off, sizeof(in) - 1 - off,
			    out + olen, cap, &got);
			assert_true(got <= cap);
			off += c;
			olen += got;
		}
		assert_true(d.done);
		assert_int_equal(off, sizeof(in) - 2);
		assert_int_equal(olen, 11);
		assert_memory_equal(out, "ab\rc\n.d\nef\n", 11);
	}
	/* No room at all: nothing consumed. */
	smtpd_data_init(&d, SMTPD_DATA_DOT);
	assert_int_equal(smtpd_data_feed(&d, in, 5, out, 1, &got), 0);
	assert_int_equal(got, 0);
}

/* Every split of the input, the terminator's included, leaves the next
 * command whole. */
static void
test_terminator_split(void **state)
{
	static const char in[] = "hdr: v\r\n\r\nline\r\n.\r\nRSET\r\n";
	size_t n = sizeof(in) - 1, k, c1, c2, g1, g2;
	struct smtpd_data d;
	char out[64];

	(void)state;
	for (k = 0; k <= n; k++) {
		smtpd_data_init(&d, SMTPD_DATA_DOT);
		c1 = smtpd_data_feed(&d, in, k, out, sizeof(out), &g1);
		c2 = g2 = 0;
		if (!d.done)
			c2 = smtpd_data_feed(&d, in + c1, n - c1, out + g1,
			    sizeof(out) - g1, &g2);
		assert_true(d.done);
		assert_int_equal(c1 + c2, n - 6);
		assert_int_equal(g1 + g2, 13);
		assert_memory_equal(out, "hdr: v\n\nline\n", 13);
	}
}

/* BDAT: feed a chunk whole, or byte by byte. */
static size_t
bdat_feed(struct smtpd_data *d, const char *in, size_t n, int bytewise,
    char *out, size_t *olen)
{
	size_t used = 0, c, got, k;

	do {
		k = bytewise && n - used > 1 ? 1 : n - used;
		c = smtpd_data_feed(d, in + used, k, out + *olen,
		    SMTPD_DATA_SLACK + n, &got);
		used += c;
		*olen += got;
	} while (c > 0 && used < n);
	return used;
}

static void
test_bdat(void **state)
{
	struct smtpd_data d;
	char out[128];
	size_t olen, got;
	int bw;

	(void)state;
	for (bw = 0; bw <= 1; bw++) {
		/* CR LF split across chunks: one LF. */
		smtpd_data_init(&d, SMTPD_DATA_BDAT);
		olen = 0;
		assert_int_equal(smtpd_data_chunk(&d, 4, 0), 0);
		assert_int_equal(bdat_feed(&d, "ab\r\nc\r", 6, bw, out, &olen),
		    4);
		assert_int_equal(d.chunk_left, 0);
		assert_false(d.done);
		assert_int_equal(smtpd_data_chunk(&d, 2, 0), 0);
		assert_int_equal(bdat_feed(&d, "c\rBDAT", 6, bw, out, &olen),
		    2);
		assert_int_equal(smtpd_data_chunk(&d, 3, 1), 0);
		assert_int_equal(bdat_feed(&d, "\n.\n", 3, bw, out, &olen), 3);
		assert_true(d.done);
		assert_int_equal(olen, 7);
		assert_memory_equal(out, "ab\nc\n.\n", 7);
		assert_int_equal(d.bare_lf, 1);
		assert_int_equal(d.bare_cr, 0);
		assert_int_equal(d.wire, 9);
		assert_int_equal(d.lines, 3);
		/* Dots are data; a CR at the very end is a bare CR. */
		smtpd_data_init(&d, SMTPD_DATA_BDAT);
		olen = 0;
		assert_int_equal(smtpd_data_chunk(&d, 9, 1), 0);
		assert_int_equal(bdat_feed(&d, "..x\r\n.\r\n\r", 9, bw, out,
		    &olen), 9);
		assert_true(d.done);
		assert_int_equal(olen, 7);
		assert_memory_equal(out, "..x\n.\n\r", 7);
		assert_int_equal(d.bare_cr, 1);
		assert_int_equal(d.line_max, 3);
	}
	/* A CR kept over an empty chunk. */
	smtpd_data_init(&d, SMTPD_DATA_BDAT);
	olen = 0;
	assert_int_equal(smtpd_data_chunk(&d, 1, 0), 0);
	assert_int_equal(bdat_feed(&d, "\r", 1, 0, out, &olen), 1);
	assert_int_equal(smtpd_data_chunk(&d, 0, 0), 0);
	assert_int_equal(smtpd_data_feed(&d, NULL, 0, out, 8, &got), 0);
	assert_int_equal(smtpd_data_chunk(&d, 1, 0), 0);
	assert_int_equal(bdat_feed(&d, "\n", 1, 0, out, &olen), 1);
	assert_int_equal(olen, 1);
	assert_int_equal(out[0], '\n');
	/* BDAT 0 LAST: done at the next feed. */
	assert_int_equal(smtpd_data_chunk(&d, 0, 1), 0);
	assert_false(d.done);
	assert_int_equal(smtpd_data_feed(&d, "MAIL", 4, out, 8, &got), 0);
	assert_true(d.done);
	assert_int_equal(got, 0);
	/* A CR at the end flushed by the final empty feed. */
	smtpd_data_init(&d, SMTPD_DATA_BDAT);
	assert_int_equal(smtpd_data_chunk(&d, 2, 0), 0);
	assert_int_equal(smtpd_data_feed(&d, "a\r", 2, out, 8, &got), 2);
	assert_int_equal(got, 1);
	assert_int_equal(smtpd_data_chunk(&d, 0, 1), 0);
	assert_int_equal(smtpd_data_feed(&d, NULL, 0, out, 1, &got), 0);
	assert_true(d.done);
	assert_int_equal(got, 1);
	assert_int_equal(out[0], '\r');
	/* ... but only with room for it. */
	smtpd_data_init(&d, SMTPD_DATA_BDAT);
	assert_int_equal(smtpd_data_chunk(&d, 1, 0), 0);
	assert_int_equal(smtpd_data_feed(&d, "\r", 1, out, 8, &got), 1);
	assert_int_equal(smtpd_data_chunk(&d, 0, 1), 0);
	assert_int_equal(smtpd_data_feed(&d, NULL, 0, out, 0, &got), 0);
	assert_false(d.done);
	assert_int_equal(smtpd_data_feed(&d, NULL, 0, out, 1, &got), 0);
	assert_true(d.done);
	assert_int_equal(got, 1);
	/* Chunk announcements out of turn. */
	smtpd_data_init(&d, SMTPD_DATA_BDAT);
	assert_int_equal(smtpd_data_chunk(&d, 5, 0), 0);
	assert_int_equal(smtpd_data_chunk(&d, 5, 0), -1);
	assert_int_equal(smtpd_data_feed(&d, "abcde", 5, NULL, 0, &got), 5);
	assert_int_equal(smtpd_data_chunk(&d, 1, 1), 0);
	assert_int_equal(smtpd_data_chunk(&d, 1, 1), -1);
	assert_int_equal(smtpd_data_feed(&d, "f", 1, NULL, 0, &got), 1);
	assert_true(d.done);
	assert_int_equal(d.size, 6);
	assert_int_equal(smtpd_data_chunk(&d, 1, 0), -1);
	smtpd_data_init(&d, SMTPD_DATA_DOT);
	assert_int_equal(smtpd_data_chunk(&d, 1, 0), -1);
}

/* Random streams: byte at a time, random chunks and one shot agree, and
 * the end is exactly the first CRLF.CRLF (the data counted as preceded by
 * CRLF). */
static void
test_random(void **state)
{
	static const char alpha[] = "\r\n.\r\n.ab\0\xe9";
	static char in[600], hay[604];
	static struct run one, other;
	unsigned rnd = 12345;
	size_t n, i, want;
	const char *e;
	int t;

	(void)state;
	for (t = 0; t < 2000; t++) {
		rnd = rnd * 1103515245u + 12345u;
		n = (rnd >> 16) % sizeof(in);
		for (i = 0; i < n; i++) {
			rnd = rnd * 1103515245u + 12345u;
			in[i] = alpha[(rnd >> 16) % (sizeof(alpha) - 1)];
		}
		run_dot(in, n, 0, 0, &one);
		run_dot(in, n, 1, 0, &other);
		same(&one, &other);
		run_dot(in, n, -1, (unsigned)t, &other);
		same(&one, &other);
		memcpy(hay, "\r\n", 2);
		memcpy(hay + 2, in, n);
		e = memmem(hay, n + 2, "\r\n.\r\n", 5);
		want = e != NULL ? (size_t)(e - hay) + 5 - 2 : n;
		assert_int_equal(one.consumed, want);
		assert_int_equal(one.d.done, e != NULL);
		assert_true(one.outlen <= one.consumed);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_unstuff),
		cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_out_room),
		cmocka_unit_test(test_terminator_split),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
