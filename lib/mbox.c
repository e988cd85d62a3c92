/* mbox: read mboxrd/mboxo archives as a stream of messages, and write
 * mboxrd.
 *
 * One line-handling core (struct core) does the format: separators,
 * unquoting, and the empty line a writer puts before each separator.  The
 * FILE reader and the in-memory splitter only cut their input into lines
 * and feed them to it, so the two cannot disagree.  The FILE reader also
 * has a fast path: a run of whole lines that the core would append as they
 * are (none a separator or a quoted From, and not ending in an empty line
 * the core would hold back) is found in one scan and copied at once; every
 * other line still goes through the core. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mbox.h"

#ifndef MBOX_CHUNK		/* tests build with tiny chunks */
#define MBOX_CHUNK	(128 * 1024)	/* one fread: fits in L2 with room */
#endif
#define MBOX_MIN_CAP	4096		/* first allocation of a message */
#define MBOX_MAX_HINT	(1u << 20)	/* do not preallocate more than this */

struct core {
	enum mbox_variant v;
	size_t max_msg;		/* 0: no cap */
	int open;		/* a message is in progress */
	int too_big;		/* it went over max_msg: drop its lines */
	char *data;
	size_t len, cap;
	char *from_line;
	unsigned long index;
	unsigned long long offset;
	char blank[2];		/* an empty line held back: it may be */
	size_t blank_len;	/* the writer's, before a separator */
	size_t hint;		/* capacity to start the next message with */
};

struct mbox {
	FILE *fp;
	struct core c;
	char *chunk;		/* what the last fread got */
	size_t clen, cpos;
	char *line;		/* a line that straddles two chunks */
	size_t llen, lcap;
	unsigned long long lfull;	/* its real length, past any cut */
	size_t lmax;		/* longest line worth keeping (0: any) */
	unsigned long long pos;	/* archive offset of the next line */
	int eof;
	int err;		/* sticky errno */
};

static void
core_init(struct core *c, enum mbox_variant v, size_t max_msg)
{
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->max_msg = max_msg;
	c->hint = MBOX_MIN_CAP;
}

static void
core_free(struct core *c)
{
	free(c->data);
	free(c->from_line);
	c->data = c->from_line = NULL;
}

static int
is_from(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

static int
is_blank(const char *p, size_t n)
{
	return (n == 1 && p[0] == '\n') ||
	    (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* Does this line lose its first '>' when read?  mboxrd: ">+From ";
 * mboxo: exactly ">From ". */
static int
is_quoted_from(enum mbox_variant v, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	if (i == 0 || (v == MBOX_O && i != 1))
		return 0;
	return is_from(p + i, n - i);
}

static int
core_grow(struct core *c, size_t need)
{
	size_t ncap = c->cap ? c->cap : c->hint;
	char *d;

	if (need < c->cap)
		return 0;
	while (ncap <= need) {
		if (ncap > SIZE_MAX / 2) {
			errno = ENOMEM;
			return -1;
		}
		ncap *= 2;
	}
	if ((d = realloc(c->data, ncap)) == NULL)
		return -1;
	c->data = d;
	c->cap = ncap;
	return 0;
}

static int
core_append(struct core *c, const char *p, size_t n)
{
	if (c->max_msg != 0 && n > c->max_msg - c->len) {
		c->too_big = 1;
		return 0;
	}
	if (core_grow(c, c->len + n) == -1)	/* keeps room for a NUL */
		return -1;
	memcpy(c->data + c->len, p, n);
	c->len += n;
	return 0;
}

/* The message in progress is over: hand it to *out (1), or report that it
 * was too big (-1, EFBIG, only its index and offset in *out).  An empty line
 * held back is the writer's. */
static int
core_finish(struct core *c, struct mbox_msg *out)
{
	int big = c->too_big;

	c->open = 0;
	c->blank_len = 0;
	c->too_big = 0;
	if (big) {
		out->index = c->index;
		out->offset = c->offset;
		free(c->from_line);
		c->from_line = NULL;
		c->len = 0;
		errno = EFBIG;
		return -1;
	}
	if (c->data == NULL && core_grow(c, 0) == -1)
		return -1;
	c->data[c->len] = '\0';
	out->data = c->data;
	out->len = c->len;
	out->from_line = c->from_line;
	out->index = c->index;
	out->offset = c->offset;
	/* The next message likely has a similar size; start it there. */
	c->hint = MBOX_MIN_CAP;
	while (c->hint <= c->len && c->hint < MBOX_MAX_HINT)
		c->hint *= 2;
	c->data = c->from_line = NULL;
	c->len = c->cap = 0;
	return 1;
}

/* Start a message at separator line p[0 .. n) found at offset off. */
static int
core_separator(struct core *c, const char *p, size_t n, unsigned long long off,
    int cut, struct mbox_msg *out)
{
	char *from;
	int r = 0;

	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if ((from = malloc(n + 1)) == NULL)
		return -1;
	memcpy(from, p, n);
	from[n] = '\0';
	if (c->open && (r = core_finish(c, out)) == -1 && errno != EFBIG) {
		free(from);
		return -1;
	}
	c->open = 1;
	c->from_line = from;
	c->index++;
	c->offset = off;
	c->too_big = cut;
	return r;
}

/* Feed one line p[0 .. n), its line ending included if it has one, that
 * starts at archive offset off; cut says the reader kept only its start.
 * 0: consumed; 1: it ended a message, now in *out; -1: error (EFBIG: the
 * message that ended was too big, and reading can go on). */
static int
core_line(struct core *c, const char *p, size_t n, unsigned long long off,
    int cut, struct mbox_msg *out)
{
	if (is_from(p, n))
		return core_separator(c, p, n, off, cut, out);
	if (!c->open) {
		if (c->index == 0) {
			errno = EBADMSG;
			return -1;
		}
		return 0;
	}
	if (c->too_big || cut) {
		c->too_big = 1;
		return 0;
	}
	if (c->blank_len > 0) {
		if (core_append(c, c->blank, c->blank_len) == -1)
			return -1;
		c->blank_len = 0;
	}
	if (is_blank(p, n)) {
		memcpy(c->blank, p, n);
		c->blank_len = n;
		return 0;
	}
	if (p[0] == '>' && is_quoted_from(c->v, p, n)) {
		p++;
		n--;
	}
	return core_append(c, p, n);
}

/* End of the archive: 1 with the last message, 0 when there is none left,
 * -1 (EFBIG) when the last one was too big. */
static int
core_eof(struct core *c, struct mbox_msg *out)
{
	if (!c->open)
		return 0;
	return core_finish(c, out);
}

/* ---- reading a FILE ---- */

struct mbox *
mbox_open(FILE *fp, enum mbox_variant v, size_t max_msg)
{
	struct mbox *mb;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return NULL;
	if ((mb->chunk = malloc(MBOX_CHUNK)) == NULL) {
		free(mb);
		return NULL;
	}
	mb->fp = fp;
	core_init(&mb->c, v, max_msg);
	/* A line longer than the cap cannot fit in a message; keep enough of
	 * it to see what it is and that it is too long. */
	if (max_msg != 0)
		mb->lmax = max_msg < SIZE_MAX - 8 ? max_msg + 8 : SIZE_MAX;
	return mb;
}

static int
line_add(struct mbox *mb, const char *p, size_t n)
{
	size_t keep = n;

	mb->lfull += n;
	if (mb->lmax != 0 && keep > mb->lmax - mb->llen)
		keep = mb->lmax - mb->llen;
	if (keep == 0)
		return 0;
	if (mb->llen + keep > mb->lcap) {
		size_t ncap = mb->lcap ? mb->lcap : 256;
		char *l;

		while (ncap < mb->llen + keep) {
			if (ncap > SIZE_MAX / 2) {
				errno = ENOMEM;
				return -1;
			}
			ncap *= 2;
		}
		if ((l = realloc(mb->line, ncap)) == NULL)
			return -1;
		mb->line = l;
		mb->lcap = ncap;
	}
	memcpy(mb->line + mb->llen, p, keep);
	mb->llen += keep;
	return 0;
}

static int
refill(struct mbox *mb)
{
	size_t n = fread(mb->chunk, 1, MBOX_CHUNK, mb->fp);

	mb->clen = n;
	mb->cpos = 0;
	if (n == 0) {
		if (ferror(mb->fp)) {
			if (errno == 0)
				errno = EIO;
			return -1;
		}
		mb->eof = 1;
	}
	return 0;
}

/* The next line, straight from the chunk when it lies inside one.  1 with
 * *p, *n (what was kept), *full (its real length); 0 at the end; -1 error. */
static int
next_line(struct mbox *mb, const char **p, size_t *n,
    unsigned long long *full)
{
	mb->llen = 0;
	mb->lfull = 0;
	for (;;) {
		if (mb->cpos < mb->clen) {
			const char *s = mb->chunk + mb->cpos;
			size_t avail = mb->clen - mb->cpos;
			const char *nl = memchr(s, '\n', avail);
			size_t len = nl != NULL ? (size_t)(nl - s) + 1 : avail;

			mb->cpos += len;
			if (nl != NULL && mb->lfull == 0) {
				*p = s;
				*n = len;
				*full = len;
				return 1;
			}
			if (line_add(mb, s, len) == -1)
				return -1;
			if (nl != NULL)
				break;
			continue;
		}
		if (mb->eof)
			break;
		if (refill(mb) == -1)
			return -1;
	}
	if (mb->lfull == 0)
		return 0;
	*p = mb->line;
	*n = mb->llen;
	*full = mb->lfull;
	return 1;
}

/* Might the line starting at p (avail bytes of it seen) be one the core
 * must see: a separator or a quoted From?  When the bytes seen do not
 * settle it, say yes. */
static int
needs_core(enum mbox_variant v, const char *p, size_t avail)
{
	size_t i = 0;

	if (p[0] == 'F')
		return avail < 5 || memcmp(p, "From ", 5) == 0;
	if (p[0] != '>')
		return 0;
	while (i < avail && p[i] == '>')
		i++;
	if (i == avail)
		return 1;
	if (v == MBOX_O && i != 1)
		return 0;
	return avail - i < 5 || memcmp(p + i, "From ", 5) == 0;
}

#ifdef __SSE2__
/* Which of the 16 bytes at p are newlines. */
static inline uint64_t
lf_mask(const char *p)
{
	__m128i b = _mm_loadu_si128((const __m128i *)p);

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(b,
	    _mm_set1_epi8('\n')));
}

/* Which of the 16 bytes at p are 'F' or '>'. */
static inline uint64_t
start_mask(const char *p)
{
	__m128i b = _mm_loadu_si128((const __m128i *)p);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(
	    _mm_cmpeq_epi8(b, _mm_set1_epi8('F')),
	    _mm_cmpeq_epi8(b, _mm_set1_epi8('>'))));
}
#endif

/* The length of the run of whole lines at the start of s[0 .. n) (s is at
 * a line start) that the core would append unchanged, less a final empty
 * line (it may be the writer's, before a separator). */
static size_t
plain_run(enum mbox_variant v, const char *s, size_t n)
{
	size_t i = 0, end = 0, ls;
	const char *nl;

	if (n == 0 || needs_core(v, s, n))
		return 0;
#ifdef __SSE2__
	{
		/* 64 bytes at a time: the newlines, and which of the lines
		 * they start begin with 'F' or '>'; only those are looked
		 * at one by one. */
		for (; n - i >= 65; i += 64) {
			uint64_t nlm, hit;

			nlm = lf_mask(s + i) | lf_mask(s + i + 16) << 16 |
			    lf_mask(s + i + 32) << 32 |
			    lf_mask(s + i + 48) << 48;
			hit = start_mask(s + i + 1) |
			    start_mask(s + i + 17) << 16 |
			    start_mask(s + i + 33) << 32 |
			    start_mask(s + i + 49) << 48;
			for (hit &= nlm; hit != 0; hit &= hit - 1) {
				ls = i + (size_t)__builtin_ctzll(hit) + 1;
				if (needs_core(v, s + ls, n - ls)) {
					end = ls;
					goto found;
				}
			}
			if (nlm != 0)
				end = i + 64 - (size_t)__builtin_clzll(nlm);
		}
	}
#endif
	while (i < n && (nl = memchr(s + i, '\n', n - i)) != NULL) {
		end = i = (size_t)(nl - s) + 1;
		if (i < n && needs_core(v, s + i, n - i))
			break;
	}
#ifdef __SSE2__
found:
#endif
	/* Leave a final empty line ("\n" or "\r\n") to the core. */
	if (end > 0) {
		size_t e = end - 1;

		if (e == 0 || s[e - 1] == '\n')
			end = e;
		else if (s[e - 1] == '\r' && (e == 1 || s[e - 2] == '\n'))
			end = e - 1;
	}
	return end;
}

/* Copy the run of plain lines at the reader's position into the message
 * in progress.  0, or -1 with errno. */
static int
fast_lines(struct mbox *mb)
{
	struct core *c = &mb->c;
	size_t run;

	if (!c->open || c->too_big || mb->cpos >= mb->clen)
		return 0;
	run = plain_run(c->v, mb->chunk + mb->cpos, mb->clen - mb->cpos);
	if (run == 0)
		return 0;
	if (c->blank_len > 0) {
		if (core_append(c, c->blank, c->blank_len) == -1)
			return -1;
		c->blank_len = 0;
	}
	if (core_append(c, mb->chunk + mb->cpos, run) == -1)
		return -1;
	mb->cpos += run;
	mb->pos += run;
	return 0;
}

int
mbox_next(struct mbox *mb, struct mbox_msg *out)
{
	const char *p;
	size_t n;
	unsigned long long full, off;
	int r;

	memset(out, 0, sizeof(*out));
	if (mb->err != 0) {
		errno = mb->err;
		return -1;
	}
	for (;;) {
		if ((r = fast_lines(mb)) == -1)
			break;
		if ((r = next_line(mb, &p, &n, &full)) == 0) {
			r = core_eof(&mb->c, out);
			break;
		}
		if (r == -1)
			break;
		off = mb->pos;
		mb->pos += full;
		if ((r = core_line(&mb->c, p, n, off, full > n, out)) != 0)
			break;
	}
	if (r == -1 && errno != EFBIG)
		mb->err = errno;
	return r;
}

void
mbox_msg_free(struct mbox_msg *m)
{
	free(m->data);
	free(m->from_line);
	memset(m, 0, sizeof(*m));
}

void
mbox_close(struct mbox *mb)
{
	if (mb == NULL)
		return;
	core_free(&mb->c);
	free(mb->chunk);
	free(mb->line);
	free(mb);
}

unsigned long long
mbox_tell(const struct mbox *mb)
{
	return mb->pos;
}

/* ---- splitting memory ---- */

long
mbox_split_mem(const char *buf, size_t len, enum mbox_variant v,
    int (*fn)(const struct mbox_msg *, void *), void *arg)
{
	struct core c;
	struct mbox_msg m;
	size_t pos = 0;
	long count = 0;
	int r, stop = 0;

	core_init(&c, v, 0);
	while (!stop) {
		if (pos < len) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t n = nl != NULL ? (size_t)(nl - buf - pos) + 1 :
			    len - pos;

			r = core_line(&c, buf + pos, n, pos, 0, &m);
			pos += n;
		} else {
			r = core_eof(&c, &m);
			stop = 1;
		}
		if (r == -1) {
			core_free(&c);
			return -1;
		}
		if (r == 0)
			continue;
		count++;
		r = fn != NULL ? fn(&m, arg) : 0;
		mbox_msg_free(&m);
		if (r < 0) {
			core_free(&c);
			return -1;
		}
		if (r > 0)
			break;
	}
	core_free(&c);
	return count;
}

/* ---- writing mboxrd ---- */

static int
put(FILE *fp, const char *p, size_t n)
{
	return n == 0 || fwrite(p, 1, n, fp) == n ? 0 : -1;
}

/* A From line for when the caller has none: "From MAILER-DAEMON" and the
 * time now, in the asctime layout mbox readers expect. */
static void
default_from(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(buf, size, "From MAILER-DAEMON %a %b %e %H:%M:%S %Y",
	    &tm) == 0)
		snprintf(buf, size, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970");
}

int
mbox_write(FILE *fp, const char *from_line, const char *msg, size_t len)
{
	const char *p = msg, *end = len ? msg + len : msg, *nl;
	const char *eol = "\n";
	char from[64];

	if (from_line == NULL) {
		default_from(from, sizeof(from));
		from_line = from;
	}
	if (!is_from(from_line, strlen(from_line)) ||
	    strpbrk(from_line, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	/* Keep a CRLF message's line endings in what we add. */
	if (len > 0 && (nl = memchr(msg, '\n', len)) != NULL && nl > msg &&
	    nl[-1] == '\r')
		eol = "\r\n";
	if (put(fp, from_line, strlen(from_line)) == -1 ||
	    put(fp, eol, strlen(eol)) == -1)
		return -1;
	while (p < end) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if ((is_from(p, n) || is_quoted_from(MBOX_RD, p, n)) &&
		    put(fp, ">", 1) == -1)
			return -1;
		if (put(fp, p, n) == -1)
			return -1;
		p += n;
	}
	/* The last line must end before the separating empty line. */
	if (len > 0 && msg[len - 1] != '\n' && put(fp, eol, strlen(eol)) == -1)
		return -1;
	if (put(fp, eol, strlen(eol)) == -1)
		return -1;
	return 0;
}
