/* smtpd_data: DATA un-stuffing and BDAT chunks (see smtpd_data.h). */
#include <string.h>

#include "smtpd_data.h"

/* Where we are in the input.  BOL is a line start after CR LF (or the
 * start of the data: the DATA command's CRLF precedes it), the only place
 * a terminator can begin; BOL_LAX a line start after a bare LF, where a dot
 * is un-stuffed but cannot begin a terminator.  DOT and DOT_CR are a BOL
 * dot (dropped) and that dot followed by CR; CR is a CR in text whose LF
 * has not come yet. */
enum {
	ST_BOL = 0, ST_BOL_LAX, ST_TEXT, ST_CR, ST_DOT, ST_DOT_CR
};

struct sink {
	unsigned char *out;	/* NULL: count only */
	size_t o;
};

void
smtpd_data_init(struct smtpd_data *d, enum smtpd_data_mode mode)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->state = mode == SMTPD_DATA_DOT ? ST_BOL : ST_TEXT;
}

int
smtpd_data_chunk(struct smtpd_data *d, uint64_t size, int last)
{
	if (d->mode != SMTPD_DATA_BDAT || d->done || d->last ||
	    d->chunk_left != 0)
		return -1;
	d->chunk_left = size;
	d->last = last != 0;
	return 0;
}

static void
emit(struct smtpd_data *d, struct sink *s, unsigned char c)
{
	if (s->out != NULL)
		s->out[s->o++] = c;
	d->size++;
}

static void
line_end(struct smtpd_data *d, struct sink *s)
{
	if (d->line_len > d->line_max)
		d->line_max = d->line_len;
	d->line_len = 0;
	d->lines++;
	emit(d, s, '\n');
}

/* A CR that was not followed by LF: a data octet. */
static void
bare_cr(struct smtpd_data *d, struct sink *s)
{
	d->bare_cr++;
	d->line_len++;
	emit(d, s, '\r');
}

/* c inside a line (or starting one, once the dot question is settled). */
static void
text(struct smtpd_data *d, struct sink *s, unsigned char c)
{
	if (c == '\r') {
		d->state = ST_CR;
		return;
	}
	if (c == '\n') {
		d->bare_lf++;
		line_end(d, s);
		d->state = ST_BOL_LAX;
		return;
	}
	if (c == '\0')
		d->nul++;
	else if (c >= 0x80)
		d->eightbit++;
	d->line_len++;
	emit(d, s, c);
	d->state = ST_TEXT;
}

static void
step_dot(struct smtpd_data *d, struct sink *s, unsigned char c)
{
	switch (d->state) {
	case ST_BOL:
		if (c == '.') {
			d->line_len++;
			d->state = ST_DOT;
			return;
		}
		text(d, s, c);
		return;
	case ST_BOL_LAX:
		if (c == '.') {		/* un-stuffed; never a terminator */
			d->line_len++;
			d->state = ST_TEXT;
			return;
		}
		text(d, s, c);
		return;
	case ST_DOT:
		if (c == '\r') {
			d->state = ST_DOT_CR;
			return;
		}
		text(d, s, c);		/* the dot was stuffing */
		return;
	case ST_DOT_CR:
		if (c == '\n') {	/* CRLF "." CRLF */
			d->line_len = 0;
			d->done = 1;
			return;
		}
		bare_cr(d, s);
		text(d, s, c);
		return;
	case ST_CR:
		if (c == '\n') {
			line_end(d, s);
			d->state = ST_BOL;
			return;
		}
		bare_cr(d, s);
		text(d, s, c);
		return;
	default:
		text(d, s, c);
	}
}

static void
step_bdat(struct smtpd_data *d, struct sink *s, unsigned char c)
{
	if (d->state == ST_CR) {
		if (c == '\n') {
			line_end(d, s);
			d->state = ST_TEXT;
			return;
		}
		bare_cr(d, s);
	}
	text(d, s, c);
}

/* BDAT LAST fully read: a CR still waiting for its LF is data. */
static int
bdat_finish(struct smtpd_data *d, struct sink *s, size_t cap)
{
	if (d->state == ST_CR) {
		if (s->out != NULL && cap - s->o < 1)
			return -1;
		bare_cr(d, s);
		d->state = ST_TEXT;
	}
	if (d->line_len > d->line_max)
		d->line_max = d->line_len;
	d->done = 1;
	return 0;
}

size_t
smtpd_data_feed(struct smtpd_data *d, const void *in, size_t n, void *out,
    size_t cap, size_t *outlen)
{
	const unsigned char *p = in;
	struct sink s = { out, 0 };
	size_t i = 0, lim = n;

	if (d->mode == SMTPD_DATA_BDAT && d->chunk_left < lim)
		lim = (size_t)d->chunk_left;
	for (; i < lim && !d->done; i++) {
		if (s.out != NULL && cap - s.o < SMTPD_DATA_SLACK)
			break;
		if (d->mode == SMTPD_DATA_DOT)
			step_dot(d, &s, p[i]);
		else
			step_bdat(d, &s, p[i]);
	}
	d->wire += i;
	if (d->mode == SMTPD_DATA_BDAT) {
		d->chunk_left -= i;
		if (d->chunk_left == 0 && d->last && !d->done)
			(void)bdat_finish(d, &s, cap);
	}
	*outlen = s.o;
	return i;
}

uint64_t
smtpd_data_size_crlf(const struct smtpd_data *d)
{
	return d->size + d->lines;
}
