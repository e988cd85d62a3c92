/* smtpd_io: buffered, deadline-bounded I/O of one SMTP server connection. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "smtpd_io.h"

void
io_init(struct smtpd_io *io, int rfd, int wfd, unsigned write_timeout_ms)
{
	memset(io, 0, sizeof(*io));
	io->rfd = rfd;
	io->wfd = wfd;
	io->write_timeout_ms = write_timeout_ms;
}

void
io_free(struct smtpd_io *io)
{
	out_buf_free(&io->out);
}

void
io_set_tls(struct smtpd_io *io, const struct io_transport *t)
{
	io->tls = *t;
}

static ssize_t
plain_read(struct smtpd_io *io, void *buf, size_t n, int timeout_ms)
{
	struct pollfd pfd = { .fd = io->rfd, .events = POLLIN };
	long long deadline = clock_ms() + timeout_ms;

	for (;;) {
		int r = poll(&pfd, 1, clock_left_ms(deadline));

		if (r < 0 && errno == EINTR && !(io->stop && *io->stop))
			continue;
		if (r < 0)
			return IO_ERR;
		if (r == 0)
			return IO_TIMEOUT;
		ssize_t got = read(io->rfd, buf, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got < 0 ? IO_ERR : got;
	}
}

static ssize_t
transport_read(struct smtpd_io *io, void *buf, size_t n, int timeout_ms)
{
	ssize_t r;

	if (io->tls.read)
		r = io->tls.read(io->tls.ctx, buf, n, timeout_ms);
	else
		r = plain_read(io, buf, n, timeout_ms);
	if (r > 0)
		io->bytes_in += (size_t)r;
	else if (r == 0)
		io->error = "connection closed";
	else if (io->stop && *io->stop)
		io->error = "stopped";
	else
		io->error = r == IO_TIMEOUT ? "timed out" : "read error";
	return r;
}

/* Read more into the buffer: >0, 0 EOF, IO_ERR, IO_TIMEOUT. */
static ssize_t
fill(struct smtpd_io *io, int timeout_ms)
{
	if (io->in_off > 0) {
		memmove(io->in, io->in + io->in_off, io->in_len - io->in_off);
		io->in_len -= io->in_off;
		io->in_off = 0;
	}
	if (io->in_len == sizeof(io->in))
		return (ssize_t)io->in_len;	/* full: the caller consumes */
	ssize_t r = transport_read(io, io->in + io->in_len,
	    sizeof(io->in) - io->in_len, timeout_ms);
	if (r > 0)
		io->in_len += (size_t)r;
	return r;
}

int
io_input_pending(struct smtpd_io *io)
{
	if (io->in_len > io->in_off)
		return 1;
	if (io->tls.read && io->tls.pending && io->tls.pending(io->tls.ctx))
		return 1;
	return io_wait_input(io, 0);
}

int
io_line_ready(const struct smtpd_io *io)
{
	return memchr(io->in + io->in_off, '\n', io->in_len - io->in_off) !=
	    NULL;
}

int
io_wait_input(struct smtpd_io *io, int ms)
{
	struct pollfd pfd = { .fd = io->rfd, .events = POLLIN };

	if (io->in_len > io->in_off)
		return 1;
	for (;;) {
		int r = poll(&pfd, 1, ms);

		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

size_t
io_discard_input(struct smtpd_io *io)
{
	size_t n = io->in_len - io->in_off;

	io->in_off = io->in_len = 0;
	return n;
}

ssize_t
io_getline(struct smtpd_io *io, char *line, size_t max, int timeout_ms)
{
	long long deadline = clock_ms() + timeout_ms;
	size_t scanned = 0, dropped = 0;
	int toolong = 0;

	if (max > sizeof(io->in))
		max = sizeof(io->in);

	for (;;) {
		unsigned char *start = io->in + io->in_off;
		size_t avail = io->in_len - io->in_off;
		unsigned char *lf = memchr(start + scanned, '\n',
		    avail - scanned);

		if (lf) {
			size_t n = (size_t)(lf - start) + 1;

			io->in_off += n;
			if (toolong || n > max)
				return IO_TOOLONG;
			n--;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			memcpy(line, start, n);
			line[n] = '\0';
			return (ssize_t)n;
		}
		if (avail >= max) {
			/* Too long: drop what we have, keep reading to LF. */
			toolong = 1;
			dropped += avail;
			io->in_off = io->in_len;
			scanned = 0;
			if (dropped > IO_DISCARD_MAX) {
				io->error = "line far too long";
				return IO_ERR;
			}
		} else
			scanned = avail;
		ssize_t r = fill(io, clock_left_ms(deadline));
		if (r <= 0)
			return r;
	}
}

ssize_t
io_peek(struct smtpd_io *io, const unsigned char **p, int timeout_ms)
{
	if (io->in_len == io->in_off) {
		ssize_t r = fill(io, timeout_ms);

		if (r <= 0)
			return r;
	}
	*p = io->in + io->in_off;
	return (ssize_t)(io->in_len - io->in_off);
}

void
io_consume(struct smtpd_io *io, size_t n)
{
	io->in_off += n;
	if (io->in_off >= io->in_len)
		io->in_off = io->in_len = 0;
}

void
io_put(struct smtpd_io *io, const char *s, size_t n)
{
	out_buf_add(&io->out, s, n);
}

void
io_printf(struct smtpd_io *io, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	io_put(io, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int
plain_write_all(struct smtpd_io *io, const char *p, size_t n)
{
	long long deadline = clock_ms() + io->write_timeout_ms;
	struct pollfd pfd = { .fd = io->wfd, .events = POLLOUT };

	while (n > 0) {
		int r = poll(&pfd, 1, clock_left_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			io->error = r == 0 ? "write timed out" : "write error";
			return -1;
		}
		ssize_t w = write(io->wfd, p, n);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			io->error = "write error";
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
io_flush(struct smtpd_io *io)
{
	int r;

	if (io->out.oom) {
		io->error = "out of memory";
		return -1;
	}
	if (io->out.len == 0)
		return 0;
	if (io->tls.write_all) {
		r = io->tls.write_all(io->tls.ctx, io->out.p, io->out.len,
		    (int)io->write_timeout_ms);
		if (r < 0)
			io->error = "TLS write error";
	} else
		r = plain_write_all(io, io->out.p, io->out.len);
	if (r == 0)
		io->bytes_out += io->out.len;
	io->out.len = 0;
	return r;
}
