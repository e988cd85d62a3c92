/* filter: read a message whole, write it back with fields on top.  See
 * filter.h. */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "cli.h"
#include "diag.h"
#include "filter.h"

#define FILTER_IOV	64	/* pieces per writev call */

int
filter_read(const char *path, char **buf, size_t *len)
{
	int fd, saved;

	if (path == NULL || strcmp(path, "-") == 0)
		return slurp_fd(STDIN_FILENO, buf, len) == 0 ? 0 : EX_IOERR;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	if (fd == -1)
		return EX_NOINPUT;
	if (slurp_fd(fd, buf, len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		/* A directory opens but does not read: it is not an input. */
		return saved == EISDIR ? EX_NOINPUT : EX_IOERR;
	}
	close(fd);
	return 0;
}

int
filter_load(const char *path, char **buf, size_t *len)
{
	int rc;

	if ((rc = filter_read(path, buf, len)) != 0)
		diag_warn("%s: %s", cli_input_name(path), strerror(errno));
	return rc;
}

size_t
filter_from_line(const char *buf, size_t len)
{
	size_t max = len < FILTER_FROM_LINE_MAX ? len : FILTER_FROM_LINE_MAX;
	const char *p, *nl;

	if (max < 5 || memcmp(buf, "From ", 5) != 0)
		return 0;
	for (p = buf + 5; p < buf + max && (*p == ' ' || *p == '\t'); p++)
		;
	if (p < buf + max && *p == ':')
		return 0;
	if ((nl = memchr(buf, '\n', max)) == NULL)
		return 0;
	return (size_t)(nl + 1 - buf);
}

const char *
filter_eol(const char *buf, size_t len)
{
	const char *nl;

	if (len == 0 || (nl = memchr(buf, '\n', len)) == NULL)
		return "\n";
	return nl > buf && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* Write up to FILTER_IOV pieces from piece *ip, offset *off; advance both. */
static ssize_t
write_some(int fd, const struct filter_piece *pc, size_t n, size_t *ip,
    size_t *off)
{
	struct iovec iov[FILTER_IOV];
	size_t i, k = 0;
	ssize_t w;

	for (i = *ip; i < n && k < FILTER_IOV; i++) {
		size_t skip = i == *ip ? *off : 0;

		if (pc[i].n - skip == 0)
			continue;
		iov[k].iov_base = (void *)(pc[i].p + skip);
		iov[k].iov_len = pc[i].n - skip;
		k++;
	}
	if (k == 0) {
		*ip = n;
		return 0;
	}
	do
		w = writev(fd, iov, (int)k);
	while (w == -1 && errno == EINTR);
	if (w <= 0)
		return w == 0 ? (errno = EIO, -1) : -1;
	/* Advance over what went out, resuming mid-piece if need be. */
	for (size_t done = (size_t)w; *ip < n; ) {
		size_t left = pc[*ip].n - *off;

		if (done < left) {
			*off += done;
			break;
		}
		done -= left;
		(*ip)++;
		*off = 0;
	}
	return w;
}

int
filter_writev(int fd, const struct filter_piece *pc, size_t n)
{
	unsigned long long sent = 0;
	size_t i = 0, off = 0;
	ssize_t w;

	while (i < n) {
		if ((w = write_some(fd, pc, n, &i, &off)) == -1) {
			diag_warn("output: %s%s", strerror(errno),
			    sent ? " (message cut)" : "");
			return sent ? EX_IOERR : EX_TEMPFAIL;
		}
		sent += (unsigned long long)w;
	}
	return 0;
}

/* Pieces for the From_ line (pc[0], maybe empty), fields[0..nfields)
 * and room for nmore after them; NULL when short of memory. */
static struct filter_piece *
pieces_for_fields(const char *from, size_t from_len, char *const *fields,
    size_t nfields, size_t nmore)
{
	struct filter_piece *pc;
	size_t i;

	if ((pc = calloc(1 + nfields + nmore, sizeof(*pc))) == NULL)
		return NULL;
	pc[0].p = from;
	pc[0].n = from_len;
	for (i = 0; i < nfields; i++) {
		pc[1 + i].p = fields[i];
		pc[1 + i].n = strlen(fields[i]);
	}
	return pc;
}

int
filter_emit(int fd, char *const *fields, size_t nfields, const char *msg,
    size_t len)
{
	struct filter_piece *pc;
	size_t from_len = filter_from_line(msg, len);
	int rc;

	if ((pc = pieces_for_fields(msg, from_len, fields, nfields, 1))
	    == NULL) {
		diag_warn("output: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	pc[1 + nfields].p = from_len > 0 ? msg + from_len : msg;
	pc[1 + nfields].n = len - from_len;
	rc = filter_writev(fd, pc, nfields + 2);
	free(pc);
	return rc;
}

/* The Authentication-Results fields claiming id, in header order. */
static size_t
claiming_authres(const struct msg *m, const char *id,
    const struct msg_field **drop)
{
	size_t i, n = 0;

	for (i = 0; i < m->nfields; i++)
		if (msg_field_is(&m->fields[i], "Authentication-Results") &&
		    authres_claims(m->fields[i].value, m->fields[i].value_len,
		    id))
			drop[n++] = &m->fields[i];
	return n;
}

int
filter_emit_msg(int fd, char *const *fields, size_t nfields,
    const struct msg *m, size_t from_len, const char *strip_id,
    size_t *nstripped)
{
	const struct msg_field **drop = NULL;
	/* No arithmetic on a NULL buf (an empty message may have one). */
	const char *from = from_len > 0 ? m->buf - from_len : m->buf;
	struct filter_piece *pc;
	size_t ndrop = 0, n;
	int rc;

	if (nstripped != NULL)
		*nstripped = 0;
	if (strip_id != NULL && m->nfields > 0) {
		if ((drop = calloc(m->nfields, sizeof(*drop))) == NULL)
			return filter_pass_through(fd, from,
			    from_len + m->len, "out of memory");
		ndrop = claiming_authres(m, strip_id, drop);
	}
	if ((pc = pieces_for_fields(from, from_len, fields, nfields,
	    ndrop + 1)) == NULL) {
		free(drop);
		return filter_pass_through(fd, from, from_len + m->len,
		    "out of memory");
	}
	n = 1 + nfields;
	n += filter_pieces_without(m, drop, ndrop, pc + n);
	rc = filter_writev(fd, pc, n);
	if (nstripped != NULL)
		*nstripped = ndrop;
	free(pc);
	free(drop);
	return rc;
}

int
filter_pass_through(int fd, const char *msg, size_t len, const char *why)
{
	struct filter_piece pc = { msg, len };

	diag_warn("%s; message passed through unchanged", why);
	return filter_writev(fd, &pc, 1);
}

/* Past the field's line ending: CRLF, LF, or a CR cut at the very end. */
static const char *
field_end(const struct msg *m, const struct msg_field *f)
{
	const char *p = f->raw + f->raw_len, *end = m->buf + m->len;

	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	return p;
}

size_t
filter_pieces_without(const struct msg *m,
    const struct msg_field *const *drop, size_t ndrop,
    struct filter_piece *pc)
{
	const char *at = m->buf, *end = m->buf + m->len;
	size_t i, n = 0;

	for (i = 0; i < ndrop; i++) {
		const char *from = drop[i]->raw, *to = field_end(m, drop[i]);

		/* Out of order or overlapping: keep the bytes rather than
		 * risk losing any. */
		if (from < at || to > end)
			continue;
		if (from > at) {
			pc[n].p = at;
			pc[n].n = (size_t)(from - at);
			n++;
		}
		at = to;
	}
	if (at < end) {
		pc[n].p = at;
		pc[n].n = (size_t)(end - at);
		n++;
	}
	return n;
}
