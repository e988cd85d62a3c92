/* smtp: the client side of an SMTP session (RFC 5321), as far as a probe
 * or a sender needs it: connect with a deadline, read multi-line replies,
 * send commands, EHLO and its extensions, STARTTLS (RFC 3207).
 *
 * Every read and write is bounded by the connection's timeout, so a peer
 * that stops talking costs at most that long per step.  Lines longer than
 * SMTP_MAX_LINE and replies longer than SMTP_MAX_REPLY are errors, not
 * truncations.
 */
#ifndef MXKIT_SMTP_H
#define MXKIT_SMTP_H
#include <stddef.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#define SMTP_MAX_LINE	1000	/* RFC 5321 4.5.3.1.5, CRLF included */
#define SMTP_MAX_REPLY	16384	/* all lines of one reply */

struct smtp {
	int fd;
	SSL *ssl;		/* set once STARTTLS succeeded */
	unsigned timeout_ms;
	char rbuf[4096];
	size_t rlen, roff;
	/* The last reply: its code and lines joined with '\n', no CRLF. */
	int code;
	char reply[SMTP_MAX_REPLY];
	const char *error;	/* why the last call failed (static) */
};

/* Connect to sa (an IPv4 or IPv6 address and port) within timeout_ms.
 * 0, or -1 with s->error ("connection refused", "timed out", ...). */
int smtp_connect(struct smtp *s, const struct sockaddr *sa, socklen_t salen,
    unsigned timeout_ms);
/* Read one reply.  Its code (200..599), or -1 with s->error. */
int smtp_read_reply(struct smtp *s);
/* Send "line\r\n".  0 or -1 with s->error. */
int smtp_send(struct smtp *s, const char *line);
/* Send a command and read its reply: the code, or -1. */
int smtp_command(struct smtp *s, const char *line);
/* 1 when the last reply (an EHLO answer) lists keyword as an extension. */
int smtp_has_extension(const struct smtp *s, const char *keyword);
/* STARTTLS: the command, a 220, then SSL_connect on ssl (configured by the
 * caller: SNI, DANE, status request).  0, or -1 with s->error; after a
 * reply other than 220 s->code holds it and s->error is "refused". */
int smtp_starttls(struct smtp *s, SSL *ssl);
/* QUIT (best effort, not waited for long), then close; frees s->ssl. */
void smtp_close(struct smtp *s);

#endif
