/* socks5: SOCKS5 client (RFC 1928, RFC 1929) and Exim's socks_proxy
 * lists.  See socks5.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "clock.h"
#include "sockaddr.h"
#include "socks5.h"

#define VER		0x05
#define AUTH_VER	0x01	/* RFC 1929's sub-negotiation version */
#define M_NONE		0x00
#define M_NAME		0x02
#define M_NOACCEPT	0xFF
#define CMD_CONNECT	0x01
#define ATYP_V4		0x01
#define ATYP_NAME	0x03
#define ATYP_V6		0x04

/* ---- the list ---- */

/* The next item of an Exim list at *s: copied into buf with doubled
 * separators undone; *s moves past it.  0 at the end of the list, 1 with
 * an item, -1 when it does not fit. */
static int
next_item(const char **s, char sep, char *buf, size_t size)
{
	const char *p = *s;
	size_t n = 0;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p == sep) {
			if (p[1] != sep)
				break;
			p++;
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	*s = *p == sep ? p + 1 : p;
	return 1;
}

static int
number(const char *v, unsigned long min, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int
set_cred(char *dst, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > SOCKS5_MAX_CRED)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* One "name=value" option of a specifier. */
static int
option(struct socks5_proxy *p, char *opt, const char **why)
{
	char *v = strchr(opt, '=');

	if (v == NULL) {
		*why = "option without '=' (name=value)";
		return -1;
	}
	*v++ = '\0';
	if (strcmp(opt, "auth") == 0) {
		if (strcmp(v, "none") == 0)
			p->auth = SOCKS5_AUTH_NONE;
		else if (strcmp(v, "name") == 0)
			p->auth = SOCKS5_AUTH_NAME;
		else {
			*why = "auth= is none or name";
			return -1;
		}
	} else if (strcmp(opt, "name") == 0) {
		if (set_cred(p->name, v) == -1) {
			*why = "name= must be 1 to 255 octets";
			return -1;
		}
	} else if (strcmp(opt, "pass") == 0) {
		if (set_cred(p->pass, v) == -1) {
			*why = "pass= must be 1 to 255 octets";
			return -1;
		}
	} else if (strcmp(opt, "port") == 0) {
		if (number(v, 1, 65535, &p->port) == -1) {
			*why = "port= must be 1 to 65535";
			return -1;
		}
	} else if (strcmp(opt, "tmo") == 0) {
		if (number(v, 1, 3600, &p->tmo) == -1) {
			*why = "tmo= must be 1 to 3600 seconds";
			return -1;
		}
	} else if (strcmp(opt, "pri") == 0) {
		if (number(v, 0, 65535, &p->pri) == -1) {
			*why = "pri= must be 0 to 65535";
			return -1;
		}
	} else if (strcmp(opt, "weight") == 0) {
		if (number(v, 1, 65535, &p->weight) == -1) {
			*why = "weight= must be 1 to 65535";
			return -1;
		}
	} else {
		*why = "unknown option (auth name pass port tmo pri weight)";
		return -1;
	}
	return 0;
}

/* One specifier: "ADDRESS [name=value ...]".  0 parsed, 1 empty (a blank
 * or comment line), -1 with why. */
static int
specifier(struct socks5_proxy *p, char *item, const char **why)
{
	char *tok, *save = NULL;
	int first = 1;

	memset(p, 0, sizeof(*p));
	p->port = SOCKS5_DEFAULT_PORT;
	p->tmo = SOCKS5_DEFAULT_TMO;
	p->pri = 1;
	p->weight = 1;
	for (tok = strtok_r(item, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (tok[0] == '#')	/* a comment to the end of the line */
			break;
		if (first) {
			if (sockaddr_literal(tok, 0, &p->sa, &p->salen, p->addr,
			    sizeof(p->addr)) == -1) {
				*why = "not an IP address (a proxy is given "
				    "by its address)";
				return -1;
			}
			first = 0;
		} else if (option(p, tok, why) == -1)
			return -1;
	}
	if (first)
		return 1;
	if (p->auth == SOCKS5_AUTH_NAME && (p->name[0] == '\0' ||
	    p->pass[0] == '\0')) {
		*why = "auth=name needs name= and pass=";
		return -1;
	}
	sockaddr_set_port(&p->sa, p->port);
	return 0;
}

/* Newlines end items too, so that a file reads one specifier a line; a
 * comment line may hold the separator. */
static char *
strip_comments(const char *spec)
{
	size_t n = strlen(spec), i = 0, o = 0;
	char *s = malloc(n + 1);
	int bol = 1;

	if (s == NULL)
		return NULL;
	while (i < n) {
		if (bol) {
			size_t j = i;

			while (spec[j] == ' ' || spec[j] == '\t')
				j++;
			if (spec[j] == '#') {
				while (spec[j] != '\0' && spec[j] != '\n')
					j++;
				i = j;
				continue;
			}
		}
		bol = spec[i] == '\n';
		s[o++] = spec[i++];
	}
	s[o] = '\0';
	return s;
}

int
socks5_list_parse(struct socks5_list *l, const char *spec, const char **why,
    unsigned *item)
{
	char buf[2048], *copy, *line, *save = NULL, sep = ':';
	const char *p;
	size_t clen;
	struct socks5_proxy px;
	int rc = 0, r;

	*item = 0;
	p = spec;
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '<' && p[1] != '\0' && ispunct((unsigned char)p[1])) {
		sep = p[1];
		p += 2;
	}
	if ((copy = strip_comments(p)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	clen = strlen(copy);	/* before strtok_r cuts it */
	for (line = strtok_r(copy, "\n", &save); line != NULL && rc == 0;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *q = line;

		while ((r = next_item(&q, sep, buf, sizeof(buf))) != 0) {
			++*item;
			if (r == -1) {
				*why = "specifier too long";
				rc = -1;
				break;
			}
			if ((r = specifier(&px, buf, why)) == 1)
				continue;
			if (r == -1 || l->n == SOCKS5_MAX_PROXIES) {
				if (r != -1)
					*why = "too many proxies";
				rc = -1;
				break;
			}
			l->p[l->n++] = px;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(copy, clen);
	free(copy);
	return rc;
}

void
socks5_proxy_text(const struct socks5_proxy *p, char *buf, size_t size)
{
	snprintf(buf, size, p->sa.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    p->addr, p->port);
}

/* ---- the order ---- */

static uint32_t
default_rnd(void *arg)
{
	uint32_t r;

	(void)arg;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return r;
}

void
socks5_order(const struct socks5_list *l, size_t *idx,
    uint32_t (*rnd)(void *), void *arg)
{
	size_t i, j, k, n = l->n, done = 0;

	if (rnd == NULL)
		rnd = default_rnd;
	for (i = 0; i < n; i++)
		idx[i] = i;
	while (done < n) {
		unsigned pri = 0;
		unsigned long sum = 0, pick;
		size_t end;

		/* Gather the highest remaining priority at idx[done..end). */
		for (i = done; i < n; i++)
			if (l->p[idx[i]].pri > pri)
				pri = l->p[idx[i]].pri;
		for (i = done, end = done; i < n; i++)
			if (l->p[idx[i]].pri == pri) {
				size_t t = idx[end];

				idx[end++] = idx[i];
				idx[i] = t;
			}
		/* Keep the list order within a priority before drawing, so
		 * that equal inputs give equal orders for a given rnd. */
		for (i = done + 1; i < end; i++)
			for (j = i; j > done && idx[j - 1] > idx[j]; j--) {
				size_t t = idx[j];

				idx[j] = idx[j - 1];
				idx[j - 1] = t;
			}
		for (; done < end; done++) {
			for (sum = 0, k = done; k < end; k++)
				sum += l->p[idx[k]].weight;
			pick = rnd(arg) % sum;
			for (k = done; k < end - 1; k++) {
				if (pick < l->p[idx[k]].weight)
					break;
				pick -= l->p[idx[k]].weight;
			}
			{
				size_t t = idx[done];

				idx[done] = idx[k];
				idx[k] = t;
			}
		}
	}
}

/* ---- the wire ---- */

const char *
socks5_reply_name(int rep)
{
	static const char *const names[] = {
		"succeeded",
		"general SOCKS server failure",
		"connection not allowed by ruleset",
		"network unreachable",
		"host unreachable",
		"connection refused",
		"TTL expired",
		"command not supported",
		"address type not supported",
	};

	if (rep >= 0 && rep < (int)(sizeof(names) / sizeof(names[0])))
		return names[rep];
	return "unassigned reply code";
}

int
socks5_parse_method(const unsigned char *buf, size_t len, int *method,
    const char **why)
{
	if (len < 2)
		return 0;
	if (buf[0] != VER) {
		*why = "not a SOCKS5 server (version in the method reply)";
		return -1;
	}
	*method = buf[1];
	return 2;
}

int
socks5_parse_auth(const unsigned char *buf, size_t len, int *status,
    const char **why)
{
	if (len < 2)
		return 0;
	/* Some servers answer with VER 5 here; RFC 1929 says 1.  Both mean
	 * the same, so only the status is judged. */
	if (buf[0] != AUTH_VER && buf[0] != VER) {
		*why = "malformed authentication reply";
		return -1;
	}
	*status = buf[1];
	return 2;
}

static void
printable_copy(char *dst, const unsigned char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? (char)src[i] : '?';
	dst[n] = '\0';
}

int
socks5_parse_reply(const unsigned char *buf, size_t len,
    struct socks5_result *r, const char **why)
{
	size_t alen, need;

	if (len < 5)
		return 0;
	if (buf[0] != VER) {
		*why = "not a SOCKS5 server (version in the CONNECT reply)";
		return -1;
	}
	switch (buf[3]) {
	case ATYP_V4: alen = 4; need = 4 + 4 + 2; break;
	case ATYP_V6: alen = 16; need = 4 + 16 + 2; break;
	case ATYP_NAME: alen = buf[4]; need = 4 + 1 + alen + 2; break;
	default:
		*why = "unknown address type in the CONNECT reply";
		return -1;
	}
	if (len < need)
		return 0;
	r->rep = buf[1];
	if (buf[3] == ATYP_NAME)
		printable_copy(r->bnd_addr, buf + 5, alen);
	else
		inet_ntop(buf[3] == ATYP_V4 ? AF_INET : AF_INET6, buf + 4,
		    r->bnd_addr, sizeof(r->bnd_addr));
	r->bnd_port = (unsigned)buf[need - 2] << 8 | buf[need - 1];
	return (int)need;
}

int
socks5_build_connect(const struct socks5_target *t, unsigned char *buf,
    size_t size, const char **why)
{
	size_t n = 0, alen;
	unsigned port;

	if (size < 4 + 1 + SOCKS5_MAX_NAME + 2) {
		*why = "buffer too small";
		return -1;
	}
	buf[n++] = VER;
	buf[n++] = CMD_CONNECT;
	buf[n++] = 0;
	if (t->sa != NULL && t->sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)t->sa;

		buf[n++] = ATYP_V4;
		memcpy(buf + n, &s->sin_addr, 4);
		n += 4;
		port = ntohs(s->sin_port);
	} else if (t->sa != NULL && t->sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)t->sa;

		buf[n++] = ATYP_V6;
		memcpy(buf + n, &s->sin6_addr, 16);
		n += 16;
		port = ntohs(s->sin6_port);
	} else if (t->sa == NULL && t->name != NULL) {
		alen = strlen(t->name);
		if (alen == 0 || alen > SOCKS5_MAX_NAME) {
			*why = "host name empty or longer than 255 octets";
			return -1;
		}
		buf[n++] = ATYP_NAME;
		buf[n++] = (unsigned char)alen;
		memcpy(buf + n, t->name, alen);
		n += alen;
		port = t->port;
	} else {
		*why = "target is neither an IPv4/IPv6 address nor a name";
		return -1;
	}
	if (port == 0 || port > 65535) {
		*why = "target port out of range";
		return -1;
	}
	buf[n++] = (unsigned char)(port >> 8);
	buf[n++] = (unsigned char)port;
	return (int)n;
}

int
socks5_build_auth(const char *name, const char *pass, unsigned char *buf,
    size_t size, const char **why)
{
	size_t nl = strlen(name), pl = strlen(pass), n = 0;

	if (nl == 0 || nl > SOCKS5_MAX_CRED || pl == 0 ||
	    pl > SOCKS5_MAX_CRED) {
		*why = "user name and password must be 1 to 255 octets";
		return -1;
	}
	if (size < 3 + nl + pl) {
		*why = "buffer too small";
		return -1;
	}
	buf[n++] = AUTH_VER;
	buf[n++] = (unsigned char)nl;
	memcpy(buf + n, name, nl);
	n += nl;
	buf[n++] = (unsigned char)pl;
	memcpy(buf + n, pass, pl);
	n += pl;
	return (int)n;
}

/* Wait for fd to be ready for events until deadline: 0, or -1 timed out
 * or failed. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do {
		rc = poll(&pfd, 1, clock_left_ms(deadline));
	} while (rc == -1 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

static int
send_all(int fd, const unsigned char *b, size_t n, long long deadline)
{
	ssize_t w;

	while (n > 0) {
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			return -1;
		w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly what the parser asks for, one octet at a time where the
 * length is not known yet, so that nothing after the reply is taken from
 * the socket (the SMTP banner may arrive in the same segment).  The
 * parse callbacks have one shape through this wrapper. */
enum stage { ST_METHOD, ST_AUTH, ST_REPLY };

static int
parse_stage(enum stage st, const unsigned char *b, size_t n, int *val,
    struct socks5_result *r, const char **why)
{
	switch (st) {
	case ST_METHOD: return socks5_parse_method(b, n, val, why);
	case ST_AUTH: return socks5_parse_auth(b, n, val, why);
	default: return socks5_parse_reply(b, n, r, why);
	}
}

static int
recv_msg(int fd, enum stage st, long long deadline, int *val,
    struct socks5_result *r)
{
	unsigned char b[SOCKS5_REPLY_MAX];
	size_t n = 0, want = 2;
	const char *why = NULL;
	ssize_t got;
	int rc;

	for (;;) {
		while (n < want) {
			if (wait_fd(fd, POLLIN, deadline) == -1) {
				r->fail = SOCKS5_EIO;
				r->why = clock_left_ms(deadline) == 0 ?
				    "timed out waiting for the proxy" :
				    "proxy connection failed";
				return -1;
			}
			got = recv(fd, b + n, want - n, MSG_DONTWAIT);
			if (got == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				r->fail = SOCKS5_EIO;
				r->why = got == 0 ? "proxy closed the connection" :
				    "proxy connection failed";
				return -1;
			}
			n += (size_t)got;
		}
		rc = parse_stage(st, b, n, val, r, &why);
		if (rc > 0)
			return 0;
		if (rc == -1) {
			r->fail = SOCKS5_EPROTO;
			r->why = why;
			return -1;
		}
		/* A reply: its length is known once the address type (and a
		 * name's length octet) has been read. */
		if (n < 5)
			want = 5;
		else if (b[3] == ATYP_V4)
			want = 10;
		else if (b[3] == ATYP_V6)
			want = 22;
		else
			want = 7 + (size_t)b[4];
	}
}

static int
fail(struct socks5_result *r, enum socks5_fail f, const char *why)
{
	r->fail = f;
	r->why = why;
	return -1;
}

static int
authenticate(int fd, const struct socks5_proxy *p, long long deadline,
    struct socks5_result *r)
{
	unsigned char b[3 + 2 * SOCKS5_MAX_CRED];
	const char *why;
	int n, status;

	if ((n = socks5_build_auth(p->name, p->pass, b, sizeof(b), &why)) ==
	    -1)
		return fail(r, SOCKS5_EUSAGE, why);
	n = send_all(fd, b, (size_t)n, deadline);
	explicit_bzero(b, sizeof(b));
	if (n == -1)
		return fail(r, SOCKS5_EIO, "could not send the credentials");
	if (recv_msg(fd, ST_AUTH, deadline, &status, r) == -1)
		return -1;
	if (status != 0)
		return fail(r, SOCKS5_EAUTH, "authentication failed "
		    "(user name or password refused)");
	return 0;
}

int
socks5_handshake(int fd, const struct socks5_proxy *p,
    const struct socks5_target *t, long long deadline,
    struct socks5_result *r)
{
	unsigned char b[SOCKS5_REPLY_MAX + 8];
	const char *why;
	int n, method;

	memset(r, 0, sizeof(*r));
	r->rep = -1;
	r->why = "";
	if ((n = socks5_build_connect(t, b, sizeof(b), &why)) == -1)
		return fail(r, SOCKS5_EUSAGE, why);
	/* With credentials both methods are offered: a proxy that needs
	 * none may still pick "no authentication". */
	{
		unsigned char m[4] = { VER, 1, M_NONE, M_NAME };

		if (p->auth == SOCKS5_AUTH_NAME)
			m[1] = 2;
		if (send_all(fd, m, 2 + m[1], deadline) == -1)
			return fail(r, SOCKS5_EIO,
			    "could not send the method offer");
	}
	if (recv_msg(fd, ST_METHOD, deadline, &method, r) == -1)
		return -1;
	if (method == M_NOACCEPT)
		return fail(r, SOCKS5_ENOMETHOD, p->auth == SOCKS5_AUTH_NAME ?
		    "no acceptable authentication method" :
		    "no acceptable authentication method (the proxy wants "
		    "credentials: auth=name)");
	if (method == M_NAME && p->auth == SOCKS5_AUTH_NAME) {
		if (authenticate(fd, p, deadline, r) == -1)
			return -1;
	} else if (method != M_NONE)
		return fail(r, SOCKS5_EPROTO,
		    "proxy chose a method that was not offered");
	if (send_all(fd, b, (size_t)n, deadline) == -1)
		return fail(r, SOCKS5_EIO, "could not send CONNECT");
	if (recv_msg(fd, ST_REPLY, deadline, &method, r) == -1)
		return -1;
	if (r->rep != 0) {
		r->fail = SOCKS5_EREPLY;
		r->why = socks5_reply_name(r->rep);
		return -1;
	}
	r->fail = SOCKS5_OK;
	return 0;
}
