/* libFuzzer target: smtpd_data on arbitrary message bytes.  The first
 * octet picks the mode (bit 0: BDAT) and seeds the chunk sizes, which are
 * taken from the following octets.  Invariants, both modes: consumed <=
 * fed, output <= input, and one shot, byte at a time and the fuzzed
 * chunking give the same output, the same consumed count and the same
 * counters.  DATA: the data ends exactly after the first CRLF.CRLF of
 * CRLF + input; the output, written back the way a relay sends a stored
 * message (LF as CRLF, leading dots doubled, a final CRLF and the dot),
 * reads back to itself, with no bare LF and the same bare CRs.  BDAT: the
 * output is the input with CRLF made LF, whatever the chunk borders. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd_data.h"

#define MAXIN	65536

struct res {
	struct smtpd_data d;
	unsigned char *out;
	size_t outlen, consumed;
};

/* The chunk sizes: 0 one shot, 1 a byte at a time, 2 from sizes[]. */
static size_t
next_len(int how, const uint8_t *sizes, size_t nsizes, size_t *si)
{
	if (how == 0)
		return SIZE_MAX;
	if (how == 1 || nsizes == 0)
		return 1;
	return 1 + sizes[(*si)++ % nsizes] % 64;
}

static void
run_dot(const unsigned char *in, size_t n, int how, const uint8_t *sizes,
    size_t nsizes, struct res *r)
{
	size_t off = 0, k, c, got, si = 0;

	smtpd_data_init(&r->d, SMTPD_DATA_DOT);
	r->outlen = 0;
	while (off < n && !r->d.done) {
		k = next_len(how, sizes, nsizes, &si);
		if (k > n - off)
			k = n - off;
		c = smtpd_data_feed(&r->d, in + off, k, r->out + r->outlen,
		    k + SMTPD_DATA_SLACK, &got);
		if (c > k || (c < k && !r->d.done) || got > k + 1)
			abort();
		off += c;
		r->outlen += got;
		if (r->outlen > off)
			abort();
	}
	r->consumed = off;
}

/* BDAT: the input cut into chunks of sizes from the seed, the last LAST;
 * each chunk itself fed in pieces of the how kind. */
static void
run_bdat(const unsigned char *in, size_t n, int how, const uint8_t *sizes,
    size_t nsizes, struct res *r)
{
	size_t off = 0, end, k, c, got, si = 0, ci = 0, chunk, extra;
	int rounds = 0, zeros = 0;

	smtpd_data_init(&r->d, SMTPD_DATA_BDAT);
	r->outlen = 0;
	do {
		chunk = nsizes ? sizes[ci++ % nsizes] % 200 : n;
		if (chunk == 0 && ++zeros > 3)
			chunk = n - off;	/* some empty chunks, then on */
		if (chunk > n - off)
			chunk = n - off;
		end = off + chunk;
		if (smtpd_data_chunk(&r->d, chunk, end == n) != 0)
			abort();
		do {
			k = next_len(how, sizes, nsizes, &si);
			if (k > end - off)
				k = end - off;
			/* At the chunk's end feed one octet more: it must
			 * stop at the border. */
			extra = off + k == end && end < n;
			c = smtpd_data_feed(&r->d, in + off, k + extra,
			    r->out + r->outlen, k + 1 + SMTPD_DATA_SLACK, &got);
			if (c > k)
				abort();
			off += c;
			r->outlen += got;
		} while (off < end && ++rounds < 1000000);
		if (r->d.chunk_left != 0)
			abort();
	} while (off < n && ++rounds < 1000000);
	if (!r->d.done) {
		c = smtpd_data_feed(&r->d, NULL, 0, r->out + r->outlen, 1, &got);
		r->outlen += got;
	}
	if (!r->d.done || r->outlen > n)
		abort();
	r->consumed = off;
}

static void
same(const struct res *a, const struct res *b)
{
	if (a->consumed != b->consumed || a->outlen != b->outlen ||
	    memcmp(a->out, b->out, a->outlen) != 0 || a->d.done != b->d.done ||
	    a->d.wire != b->d.wire || a->d.size != b->d.size ||
	    a->d.lines != b->d.lines || a->d.line_max != b->d.line_max ||
	    a->d.bare_lf != b->d.bare_lf || a->d.bare_cr != b->d.bare_cr ||
	    a->d.nul != b->d.nul || a->d.eightbit != b->d.eightbit)
		abort();
}

/* The terminator where it must be. */
static void
check_end(const unsigned char *in, size_t n, const struct res *r)
{
	unsigned char *hay = malloc(n + 2);
	const unsigned char *e;
	size_t want;

	if (hay == NULL)
		return;
	memcpy(hay, "\r\n", 2);
	memcpy(hay + 2, in, n);
	e = memmem(hay, n + 2, "\r\n.\r\n", 5);
	want = e != NULL ? (size_t)(e - hay) + 3 : n;
	if (r->consumed != want || r->d.done != (e != NULL))
		abort();
	free(hay);
}

/* The stored form sent on again, and read back. */
static void
check_roundtrip(const struct res *r)
{
	unsigned char *enc = malloc(2 * r->outlen + 8);
	struct res back;
	size_t i, k = 0, crs = 0;
	int bol = 1, added = 0;

	if (enc == NULL)
		return;
	for (i = 0; i < r->outlen; i++) {
		if (bol && r->out[i] == '.')
			enc[k++] = '.';
		if (r->out[i] == '\n')
			enc[k++] = '\r';
		crs += r->out[i] == '\r';
		enc[k++] = r->out[i];
		bol = r->out[i] == '\n';
	}
	if (r->outlen > 0 && !bol) {
		memcpy(enc + k, "\r\n", 2);
		k += 2;
		added = 1;
	}
	memcpy(enc + k, ".\r\n", 3);
	k += 3;
	if ((back.out = malloc(k + SMTPD_DATA_SLACK)) == NULL) {
		free(enc);
		return;
	}
	run_dot(enc, k, 0, NULL, 0, &back);
	if (!back.d.done || back.consumed != k || back.d.bare_lf != 0 ||
	    back.d.bare_cr != crs || crs != r->d.bare_cr ||
	    back.outlen != r->outlen + added ||
	    memcmp(back.out, r->out, r->outlen) != 0 ||
	    (added && back.out[r->outlen] != '\n'))
		abort();
	free(back.out);
	free(enc);
}

/* BDAT's output is the input with each CR LF as LF. */
static void
check_bdat(const unsigned char *in, size_t n, const struct res *r)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		if (k >= r->outlen || r->out[k++] != in[i])
			abort();
	}
	if (k != r->outlen || r->consumed != n || r->d.wire != n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct res one, bytes, chunks;
	const uint8_t *sizes;
	unsigned char *in;
	size_t n, nsizes;
	int bdat;

	if (size < 2 || size > MAXIN)
		return 0;
	bdat = data[0] & 1;
	nsizes = 1 + (data[0] >> 1) % 8;
	if (nsizes > size - 1)
		nsizes = size - 1;
	sizes = data + 1;
	n = size - 1 - nsizes;
	/* An exact-size copy of the message part. */
	if ((in = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(in, data + 1 + nsizes, n);
	one.out = malloc(n + SMTPD_DATA_SLACK);
	bytes.out = malloc(n + SMTPD_DATA_SLACK);
	chunks.out = malloc(n + SMTPD_DATA_SLACK);
	if (one.out != NULL && bytes.out != NULL && chunks.out != NULL) {
		if (bdat) {
			run_bdat(in, n, 0, sizes, nsizes, &one);
			run_bdat(in, n, 1, sizes, nsizes, &bytes);
			run_bdat(in, n, 2, sizes, nsizes, &chunks);
			check_bdat(in, n, &one);
		} else {
			run_dot(in, n, 0, sizes, nsizes, &one);
			run_dot(in, n, 1, sizes, nsizes, &bytes);
			run_dot(in, n, 2, sizes, nsizes, &chunks);
			check_end(in, n, &one);
			if (one.d.done)
				check_roundtrip(&one);
		}
		same(&one, &bytes);
		same(&one, &chunks);
	}
	free(one.out);
	free(bytes.out);
	free(chunks.out);
	free(in);
	return 0;
}
