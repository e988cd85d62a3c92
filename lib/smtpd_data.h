/* smtpd_data: the message text of an SMTP transaction as a streaming state
 * machine with constant memory, for both ways of sending it:
 *
 *   DATA (RFC 5321 4.1.1.4, 4.5.2): the bytes after the 354, fed in chunks
 *        cut anywhere (a CR LF or the terminator may be split between two
 *        calls); leading dots un-stuffed; the end is "<CRLF>.<CRLF>" and
 *        nothing else, the first line counting as preceded by the DATA
 *        command's own CRLF (so ".\r\n" at once is an empty message)
 *   BDAT (RFC 3030): chunk payloads counted exactly (smtpd_data_chunk
 *        announces each size), no dot handling, the end is the LAST chunk
 *
 * The output is the message with LF line endings, the form the spool file,
 * maildir and mbox store: CR LF becomes LF, even when split between calls
 * or BDAT chunks.
 *
 * Bare line ends, and why only CRLF.CRLF ends the data: a bare LF ("\n"
 * not after CR) is a line end of the stored form (it is output as "\n" and
 * starts a line whose leading dot is un-stuffed, as Postfix's
 * smtpd_forbid_bare_newline=normalize does), but it never takes part in
 * the terminator: "\n.\n", "\n.\r\n", "\r\n.\n" and "\r.\r\n" are data.
 * Ending there is the SMTP smuggling hole (CVE-2023-51764, -51765,
 * -51766): a sending server that passes such bytes through unchanged would
 * let a client slip a second message, with forged headers, past it.  A dot
 * line that does not end the data loses its dot like any stuffed line.  A
 * bare CR ("\r" not before LF) is kept as a data octet.  Both are counted
 * (bare_lf, bare_cr) and the core decides the policy (bare_lf_reject): the
 * output is safe either way, because in it every "\n" is a line end, so a
 * relay that dot-stuffs the stored form can never send a terminator that
 * was not ours.
 *
 * Accounting for the limits the core enforces: the octets consumed (wire,
 * terminator and stuffing dots included), the octets output (size), the
 * lines, the longest line as received (octets before its line end,
 * stuffing dot included: RFC 5321 4.5.3.1.6 allows 998), NUL and 8-bit
 * octets.  Past the size limit the core keeps feeding with out == NULL
 * (discard) until done, and answers 552 after the client's final dot
 * rather than breaking the session.
 */
#ifndef MXKIT_SMTPD_DATA_H
#define MXKIT_SMTPD_DATA_H
#include <stddef.h>
#include <stdint.h>

#define SMTPD_TEXT_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, CRLF included */
/* Output octets per call can exceed the input by this much (an earlier
 * CR that turned out to be bare). */
#define SMTPD_DATA_SLACK	2

enum smtpd_data_mode { SMTPD_DATA_DOT, SMTPD_DATA_BDAT };

struct smtpd_data {
	enum smtpd_data_mode mode;
	int state;		/* private */
	int done;		/* DATA: terminator seen; BDAT: LAST consumed */
	uint64_t chunk_left;	/* BDAT: octets of this chunk still to come */
	int last;		/* BDAT: this chunk is the LAST */

	uint64_t wire;		/* octets consumed */
	uint64_t size;		/* octets output (LF endings, un-stuffed) */
	uint64_t lines;		/* line ends output ("\n") */
	uint64_t line_len;	/* the current line so far */
	uint64_t line_max;	/* the longest line, without its line end */
	uint64_t bare_lf;	/* LF not after CR */
	uint64_t bare_cr;	/* CR not before LF */
	uint64_t nul;		/* NUL octets */
	uint64_t eightbit;	/* octets >= 0x80 */
};

void smtpd_data_init(struct smtpd_data *d, enum smtpd_data_mode mode);

/* BDAT: the next chunk has size octets (RFC 3030 "BDAT size [LAST]").
 * 0, or -1 in DATA mode, after the LAST chunk, or while octets of the
 * previous chunk are still to come. */
int smtpd_data_chunk(struct smtpd_data *d, uint64_t size, int last);

/* Feed in[0..n): output goes to out[0..cap) (*outlen set to the octets
 * written) or, with out == NULL, is counted and dropped.  Returns the
 * octets of in consumed: fewer than n when the data ended (DATA: the
 * terminator, whose last LF is the last octet consumed; BDAT: the end of
 * the chunk), or when out had no room; with cap >= n + SMTPD_DATA_SLACK
 * only the end stops it.  Whatever was not consumed belongs to the caller
 * (the next, pipelined, command).  In BDAT mode call it also with n == 0
 * after a chunk of size 0 or with LAST, until done: a CR at the end of
 * the message is only flushed then.  Once done it consumes nothing. */
size_t smtpd_data_feed(struct smtpd_data *d, const void *in, size_t n,
    void *out, size_t cap, size_t *outlen);

/* The size as RFC 1870 counts it (CRLF line ends, no stuffing, no
 * terminator): what the client's SIZE= declared. */
uint64_t smtpd_data_size_crlf(const struct smtpd_data *d);

#endif
