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
	int errnum;		/* errno of that failure, 0 when not a
				   system error (Exim's $event_defer_errno) */
};

/* What an EHLO reply offers (RFC 5321 4.1.1.1 and the extensions'
 * RFCs); all zero after HELO. */
struct smtp_ehlo {
	int esmtp;		/* EHLO was accepted */
	int pipelining;		/* RFC 2920 */
	int starttls;		/* RFC 3207 */
	int eightbitmime;	/* RFC 6152 */
	int smtputf8;		/* RFC 6531 */
	int prdr;		/* draft-hall-prdr */
	int size;		/* RFC 1870: SIZE offered */
	unsigned long long size_max;	/* its limit; 0: none declared */
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
/* Use an fd connected by someone else (through a proxy, say): the
 * struct is reset, and reads and writes get timeout_ms.  0 or -1. */
int smtp_attach(struct smtp *s, int fd, unsigned timeout_ms);
/* Change the timeout of each later read and write. */
int smtp_set_timeout(struct smtp *s, unsigned timeout_ms);
/* EHLO name, and HELO when the server does not know EHLO (a 5xx, RFC
 * 5321 3.2).  The code of the last reply, or -1; e describes the
 * extensions (from the EHLO reply, or none after HELO). */
int smtp_hello(struct smtp *s, const char *name, struct smtp_ehlo *e);
/* The extensions an EHLO reply (the last reply) lists, in e. */
void smtp_ehlo_parse(const struct smtp *s, struct smtp_ehlo *e);
/* Write buf[0..n) as it is (pipelined commands).  0 or -1. */
int smtp_write(struct smtp *s, const void *buf, size_t n);
/* The message msg[0..len) as the content of DATA (RFC 5321 4.5.2): every
 * line end (CRLF, bare LF, bare CR) sent as CRLF, a line that starts with
 * '.' sent with one more, a CRLF added after a last line that has none,
 * then ".\r\n".  Written in large chunks.  0 or -1. */
int smtp_send_data(struct smtp *s, const char *msg, size_t len);
/* The octets smtp_send_data sends for msg before the final ".\r\n" with
 * its dot-stuffing left out: the message size of RFC 1870 (SIZE=). */
unsigned long long smtp_data_size(const char *msg, size_t len);
/* QUIT (best effort, not waited for long), then close; frees s->ssl. */
void smtp_close(struct smtp *s);

#endif
