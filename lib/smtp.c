/* smtp: the client side of an SMTP session.  See smtp.h. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "smtp.h"

static const char *
errno_why(int e)
{
	switch (e) {
	case ECONNREFUSED: return "connection refused";
	case ETIMEDOUT: case EAGAIN: return "timed out";
	case ENETUNREACH: return "network unreachable";
	case EHOSTUNREACH: return "host unreachable";
	case ECONNRESET: return "connection reset";
	case EPIPE: return "connection closed";
	case EADDRNOTAVAIL: return "address not available";
	case EAFNOSUPPORT: return "address family not supported";
	default: return "network error";
	}
}

/* Blocking I/O bounded by SO_RCVTIMEO/SO_SNDTIMEO: simpler than a poll
 * loop around OpenSSL's WANT_READ, and each step still ends in time. */
static int
set_io_timeouts(int fd, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) |
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int
smtp_connect(struct smtp *s, const struct sockaddr *sa, socklen_t salen,
    unsigned timeout_ms)
{
	struct pollfd pfd;
	int fd, fl, err = 0, rc;
	socklen_t el = sizeof(err);

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->timeout_ms = timeout_ms;
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		s->errnum = errno;
		s->error = errno_why(errno);
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, sa, salen) == -1) {
		if (errno != EINPROGRESS) {
			s->errnum = errno;
			s->error = errno_why(errno);
			close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		while ((rc = poll(&pfd, 1, (int)timeout_ms)) == -1 &&
		    errno == EINTR)
			;
		if (rc == 0)
			err = ETIMEDOUT;
		else if (rc == -1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err != 0) {
			s->errnum = err;
			s->error = errno_why(err);
			close(fd);
			return -1;
		}
	}
	(void)fcntl(fd, F_SETFL, fl);
	if (set_io_timeouts(fd, timeout_ms) == -1) {
		s->error = errno_why(errno);
		close(fd);
		return -1;
	}
	s->fd = fd;
	return 0;
}

/* Fill the read buffer: bytes read, 0 at EOF, -1 on error. */
static ssize_t
fill(struct smtp *s)
{
	ssize_t n;
	int r;

	s->roff = s->rlen = 0;
	if (s->ssl != NULL) {
		ERR_clear_error();
		r = SSL_read(s->ssl, s->rbuf, sizeof(s->rbuf));
		if (r > 0)
			n = r;
		else if (SSL_get_error(s->ssl, r) == SSL_ERROR_ZERO_RETURN)
			n = 0;
		else {
			s->error = errno == EAGAIN ? "timed out" :
			    "TLS read failed";
			return -1;
		}
	} else {
		while ((n = read(s->fd, s->rbuf, sizeof(s->rbuf))) == -1 &&
		    errno == EINTR)
			;
		if (n == -1) {
			s->errnum = errno;
			s->error = errno_why(errno);
			return -1;
		}
	}
	if (n == 0)
		s->error = "connection closed";
	s->rlen = (size_t)n;
	return n;
}

/* One line without its CRLF (a bare LF is taken too), NUL-terminated. */
static int
read_line(struct smtp *s, char *line, size_t size, size_t *len)
{
	size_t n = 0;
	char c;

	for (;;) {
		if (s->roff == s->rlen && fill(s) <= 0)
			return -1;
		c = s->rbuf[s->roff++];
		if (c == '\n')
			break;
		/* A NUL would cut the reply short for every later reader. */
		if (c == '\0') {
			s->error = "NUL in a reply";
			return -1;
		}
		if (n + 1 >= size) {
			s->error = "reply line too long";
			return -1;
		}
		line[n++] = c;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*len = n;
	return 0;
}

static int
reply_code(const char *l, size_t n)
{
	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (n > 3 && l[3] != ' ' && l[3] != '-'))
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

int
smtp_read_reply(struct smtp *s)
{
	char line[SMTP_MAX_LINE + 1];
	size_t n, used = 0;
	int code, first = -1, lines = 0;

	s->code = -1;
	s->reply[0] = '\0';
	for (;;) {
		if (read_line(s, line, sizeof(line), &n) == -1)
			return -1;
		if ((code = reply_code(line, n)) == -1 ||
		    (first != -1 && code != first)) {
			s->error = "malformed reply";
			return -1;
		}
		first = code;
		if (used + n + 2 > sizeof(s->reply) || ++lines > 200) {
			s->error = "reply too long";
			return -1;
		}
		if (used > 0)
			s->reply[used++] = '\n';
		memcpy(s->reply + used, line, n);
		used += n;
		s->reply[used] = '\0';
		if (n == 3 || line[3] == ' ')
			break;
	}
	s->code = first;
	return first;
}

int
smtp_write(struct smtp *s, const void *buf, size_t n)
{
	const char *b = buf;
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		if (s->ssl != NULL) {
			size_t chunk = n - off > INT_MAX ? INT_MAX : n - off;
			int r = SSL_write(s->ssl, b + off, (int)chunk);

			w = r > 0 ? r : -1;
		} else
			w = send(s->fd, b + off, n - off, MSG_NOSIGNAL);
		if (w == -1) {
			if (s->ssl == NULL && errno == EINTR)
				continue;
			s->errnum = s->ssl != NULL ? 0 : errno;
			s->error = s->ssl != NULL ? (errno == EAGAIN ?
			    "timed out" : "TLS write failed") :
			    errno_why(errno);
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

int
smtp_send(struct smtp *s, const char *line)
{
	char buf[SMTP_MAX_LINE + 1];
	size_t n = strlen(line);

	if (n + 2 > SMTP_MAX_LINE || strpbrk(line, "\r\n") != NULL) {
		s->error = "command line too long or not one line";
		s->errnum = 0;
		return -1;
	}
	memcpy(buf, line, n);
	memcpy(buf + n, "\r\n", 2);
	return smtp_write(s, buf, n + 2);
}

int
smtp_command(struct smtp *s, const char *line)
{
	if (smtp_send(s, line) == -1)
		return -1;
	return smtp_read_reply(s);
}

int
smtp_has_extension(const struct smtp *s, const char *kw)
{
	size_t kl = strlen(kw);
	const char *l;

	/* The first line is the greeting; each later one "250-KEYWORD ...". */
	for (l = strchr(s->reply, '\n'); l != NULL; l = strchr(l, '\n')) {
		l++;
		if (strlen(l) >= 4 + kl && strncasecmp(l + 4, kw, kl) == 0 &&
		    (l[4 + kl] == '\0' || l[4 + kl] == ' ' ||
		    l[4 + kl] == '\n'))
			return 1;
	}
	return 0;
}

int
smtp_starttls(struct smtp *s, SSL *ssl)
{
	int code;

	if ((code = smtp_command(s, "STARTTLS")) == -1)
		return -1;
	if (code != 220) {
		s->error = "refused";
		return -1;
	}
	/* Anything the server sent after its 220 would be plaintext
	 * injected into the TLS session (CVE-2011-0411 style). */
	if (s->roff != s->rlen) {
		s->error = "data after the 220 to STARTTLS";
		return -1;
	}
	if (SSL_set_fd(ssl, s->fd) != 1) {
		s->error = "TLS set-up failed";
		return -1;
	}
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		s->error = errno == EAGAIN ? "TLS handshake timed out" :
		    "TLS handshake failed";
		return -1;
	}
	s->ssl = ssl;
	return 0;
}

int
smtp_attach(struct smtp *s, int fd, unsigned timeout_ms)
{
	int fl;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->timeout_ms = timeout_ms;
	if ((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return smtp_set_timeout(s, timeout_ms);
}

int
smtp_set_timeout(struct smtp *s, unsigned timeout_ms)
{
	s->timeout_ms = timeout_ms;
	if (set_io_timeouts(s->fd, timeout_ms) == -1) {
		s->errnum = errno;
		s->error = errno_why(errno);
		return -1;
	}
	return 0;
}

void
smtp_ehlo_parse(const struct smtp *s, struct smtp_ehlo *e)
{
	const char *l, *v;

	memset(e, 0, sizeof(*e));
	e->esmtp = 1;
	e->pipelining = smtp_has_extension(s, "PIPELINING");
	e->starttls = smtp_has_extension(s, "STARTTLS");
	e->eightbitmime = smtp_has_extension(s, "8BITMIME");
	e->smtputf8 = smtp_has_extension(s, "SMTPUTF8");
	e->prdr = smtp_has_extension(s, "PRDR");
	if (!(e->size = smtp_has_extension(s, "SIZE")))
		return;
	for (l = strchr(s->reply, '\n'); l != NULL; l = strchr(l, '\n')) {
		l++;
		if (strlen(l) < 9 || strncasecmp(l + 4, "SIZE", 4) != 0 ||
		    l[8] != ' ')
			continue;
		v = l + 9;
		if (*v >= '0' && *v <= '9')
			e->size_max = strtoull(v, NULL, 10);
		break;
	}
}

int
smtp_hello(struct smtp *s, const char *name, struct smtp_ehlo *e)
{
	char line[SMTP_MAX_LINE];
	int code;

	memset(e, 0, sizeof(*e));
	snprintf(line, sizeof(line), "EHLO %s", name);
	if ((code = smtp_command(s, line)) == -1)
		return -1;
	if (code / 100 == 2) {
		smtp_ehlo_parse(s, e);
		return code;
	}
	/* 421 ends the session; any other 5xx may be a server that
	 * predates EHLO. */
	if (code / 100 != 5)
		return code;
	snprintf(line, sizeof(line), "HELO %s", name);
	return smtp_command(s, line);
}

/* The dot-stuffed, CRLF-normalized message goes out through one buffer:
 * a write per line would be a system call (and a TLS record) per line. */
struct dbuf {
	struct smtp *s;
	char b[65536];
	size_t n;
	int err;
};

static void
dput(struct dbuf *d, const char *p, size_t n)
{
	while (n > 0 && !d->err) {
		size_t k = sizeof(d->b) - d->n;

		if (k > n)
			k = n;
		memcpy(d->b + d->n, p, k);
		d->n += k;
		p += k;
		n -= k;
		if (d->n == sizeof(d->b)) {
			d->err = smtp_write(d->s, d->b, d->n) == -1;
			d->n = 0;
		}
	}
}

/* Walk msg line by line: each line's content and whether it ended. */
static void
each_line(const char *msg, size_t len,
    void (*fn)(void *, const char *, size_t, int), void *arg)
{
	size_t i = 0, start;

	while (i < len) {
		start = i;
		while (i < len && msg[i] != '\n' && msg[i] != '\r')
			i++;
		fn(arg, msg + start, i - start, i < len);
		if (i < len && msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
	}
}

static void
data_line(void *arg, const char *l, size_t n, int ended)
{
	struct dbuf *d = arg;

	(void)ended;
	if (n > 0 && l[0] == '.')
		dput(d, ".", 1);
	dput(d, l, n);
	dput(d, "\r\n", 2);
}

int
smtp_send_data(struct smtp *s, const char *msg, size_t len)
{
	struct dbuf *d;
	int rc;

	if ((d = malloc(sizeof(*d))) == NULL) {
		s->error = "out of memory";
		s->errnum = ENOMEM;
		return -1;
	}
	d->s = s;
	d->n = 0;
	d->err = 0;
	each_line(msg, len, data_line, d);
	dput(d, ".\r\n", 3);
	if (!d->err && d->n > 0)
		d->err = smtp_write(s, d->b, d->n) == -1;
	rc = d->err ? -1 : 0;
	free(d);
	return rc;
}

static void
size_line(void *arg, const char *l, size_t n, int ended)
{
	(void)l;
	(void)ended;
	*(unsigned long long *)arg += n + 2;
}

unsigned long long
smtp_data_size(const char *msg, size_t len)
{
	unsigned long long n = 0;

	each_line(msg, len, size_line, &n);
	return n;
}

void
smtp_close(struct smtp *s)
{
	if (s->fd == -1)
		return;
	if (set_io_timeouts(s->fd, 1000) == 0 && smtp_send(s, "QUIT") == 0)
		(void)smtp_read_reply(s);
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	close(s->fd);
	s->fd = -1;
}
