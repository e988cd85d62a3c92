/* smtpd_io: the server side of one SMTP connection as bytes: a bounded
 * input buffer with line reading and deadlines, an output buffer for
 * pipelined replies, and a transport that is either the plain file
 * descriptors (fds 0 and 1 under inetd, or an accepted socket) or a TLS
 * session after STARTTLS.
 *
 * Replies are queued and go out at io_flush(); the session core flushes
 * before it waits for input, which is what RFC 2920 asks of a pipelining
 * server (replies to a group of commands in one write).
 */
#ifndef MXKIT_SMTPD_IO_H
#define MXKIT_SMTPD_IO_H
#include <stddef.h>
#include <sys/types.h>

#include "out.h"

#define IO_BUF_SIZE	16384
/* An over-long line is read and dropped up to this many octets; beyond
 * it the client is not speaking SMTP and the line is an error. */
#define IO_DISCARD_MAX	(64 * 1024)

/* A transport's read: bytes read, 0 at EOF, IO_ERR, IO_TIMEOUT. */
enum { IO_ERR = -1, IO_TIMEOUT = -2, IO_TOOLONG = -3 };

struct io_transport {
	ssize_t	(*read)(void *ctx, void *buf, size_t n, int timeout_ms);
	int	(*write_all)(void *ctx, const void *buf, size_t n,
		    int timeout_ms);
	/* Bytes already decrypted and waiting inside the transport. */
	size_t	(*pending)(void *ctx);
	void	*ctx;
};

struct smtpd_io {
	int	rfd, wfd;
	struct io_transport tls;	/* tls.read == NULL: plain */
	unsigned char in[IO_BUF_SIZE];
	size_t	in_off, in_len;
	struct out_buf out;
	unsigned write_timeout_ms;
	/* Non-zero when a signal asks the session to end: an interrupted
	 * wait then fails ("stopped") instead of going on. */
	volatile int *stop;
	unsigned long long bytes_in, bytes_out;
	const char *error;	/* why the last call failed (static) */
};

void io_init(struct smtpd_io *io, int rfd, int wfd, unsigned write_timeout_ms);
void io_free(struct smtpd_io *io);

/* Switch to TLS; the caller has just discarded the plaintext buffer. */
void io_set_tls(struct smtpd_io *io, const struct io_transport *t);

/* 1 when input is already waiting: buffered here, buffered in TLS, or
 * readable on the descriptor now.  What the synchronization checks ask. */
int io_input_pending(struct smtpd_io *io);
/* 1 when a whole line is already buffered: reading it will not block. */
int io_line_ready(const struct smtpd_io *io);
/* Wait up to ms for input: 1 readable, 0 not. */
int io_wait_input(struct smtpd_io *io, int ms);

/* Forget buffered, unread input (the plaintext after STARTTLS). */
size_t io_discard_input(struct smtpd_io *io);

/* One line ending in LF into line (CR before the LF removed, NUL added).
 * The length, or 0 at EOF, IO_ERR, IO_TIMEOUT, or IO_TOOLONG when the line
 * exceeds max octets (max includes the CRLF); a too-long line is read to
 * its end and thrown away so that the session stays in step. */
ssize_t io_getline(struct smtpd_io *io, char *line, size_t max,
    int timeout_ms);

/* Up to n buffered-or-read bytes for the DATA and BDAT readers: the number
 * given in *p (pointing into the buffer), or 0 EOF, IO_ERR, IO_TIMEOUT.
 * io_consume() then says how many of them were used. */
ssize_t io_peek(struct smtpd_io *io, const unsigned char **p, int timeout_ms);
void io_consume(struct smtpd_io *io, size_t n);

/* Queue output; io_flush() writes it (0, or -1 with io->error). */
void io_put(struct smtpd_io *io, const char *s, size_t n);
void io_printf(struct smtpd_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int io_flush(struct smtpd_io *io);

#endif
