/* relay: one message to its recipients over SMTP, directly or through
 * SOCKS5 proxies.  See relay.h. */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "addr.h"
#include "clock.h"
#include "dane.h"
#include "hook.h"
#include "idn.h"
#include "msg.h"
#include "out.h"
#include "relay.h"
#include "smtp.h"
#include "sockaddr.h"

#define DEFAULT_TIMEOUT_MS	300000u
#define EVENT_TIMEOUT_MS	60000u
#define MAX_TARGETS		(2 * DANE_MAX_ADDR)

struct ctx {
	const struct relay_opts *o;
	unsigned port;
	size_t nproxies;
	int dead[SOCKS5_MAX_PROXIES];	/* unreachable: not tried again */
	/* The message, as the session needs to know it. */
	const char *msg;
	size_t len;
	unsigned long long size;	/* RFC 1870 */
	int eightbit;
	int utf8_header;
};

/* One place to connect to: an address, or a name for the proxy. */
struct target {
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *name;	/* remote DNS; else NULL */
	unsigned port;
	char text[INET6_ADDRSTRLEN];
};

/* Why a host attempt failed, for the next host and the results. */
struct why {
	char text[600];
	int errnum;
};

const char *
relay_status_name(enum relay_status s)
{
	switch (s) {
	case RELAY_DELIVERED: return "delivered";
	case RELAY_FAILED: return "failed";
	case RELAY_DEFERRED: return "deferred";
	default: return "pending";
	}
}

static void
say(const struct ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct ctx *x, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (x->o->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	x->o->log(x->o->log_arg, line);
}

static void
why_set(struct why *w, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(struct why *w, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
	w->errnum = errnum;
}

/* Put a prefix before w's reason: "proxy 192.0.2.1:1080: " + it. */
static void
why_prefix(struct why *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
why_prefix(struct why *w, const char *fmt, ...)
{
	char reason[sizeof(w->text)];
	size_t n;
	va_list ap;

	snprintf(reason, sizeof(reason), "%s", w->text);
	va_start(ap, fmt);
	vsnprintf(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
	n = strlen(w->text);
	snprintf(w->text + n, sizeof(w->text) - n, "%s", reason);
}

/* ---- events ---- */

static void
env_path(struct hook_env *e, const struct relay_path *p)
{
	hook_env_set(e, "host", p->host);
	hook_env_set(e, "host_address", p->host_address);
	hook_env_set_num(e, "host_port", p->host_port);
	hook_env_set(e, "proxy_local_address", p->proxy_local_address);
	hook_env_set(e, "proxy_local_port", "");
	if (p->proxy_local_address[0] != '\0')
		hook_env_set_num(e, "proxy_local_port", p->proxy_local_port);
	hook_env_set(e, "proxy_external_address", p->proxy_external_address);
	hook_env_set(e, "proxy_external_port", "");
	if (p->proxy_external_address[0] != '\0')
		hook_env_set_num(e, "proxy_external_port",
		    p->proxy_external_port);
}

/* Run the event hook: its exit status, 0 when there is none. */
static int
event(const struct ctx *x, const char *name, const char *data,
    const struct relay_path *p, const struct relay_rcpt *r, int errnum)
{
	struct hook_env e;
	int rc;

	if (x->o->event_hook == NULL)
		return 0;
	hook_env_init(&e);
	hook_env_set(&e, "sender_address", x->o->sender);
	if (p != NULL)
		env_path(&e, p);
	if (r != NULL) {
		const char *at = strrchr(r->addr, '@');

		hook_env_setn(&e, "local_part", r->addr, at != NULL ?
		    (size_t)(at - r->addr) : strlen(r->addr));
		hook_env_set(&e, "domain", at != NULL ? at + 1 : "");
		hook_env_set(&e, "tls_out_cipher", r->tls_cipher);
	}
	if (strcmp(name, "msg:host:defer") == 0)
		hook_env_set_num(&e, "event_defer_errno", errnum);
	rc = hook_event(x->o->event_hook, name, data, &e, EVENT_TIMEOUT_MS,
	    NULL);
	hook_env_free(&e);
	if (rc != 0)
		say(x, "event hook at %s: %s", name, rc == -1 ?
		    "did not run to its end" : "non-zero exit");
	return rc;
}

/* ---- connections ---- */

static void
path_target(struct relay_path *p, const char *host, const struct target *t)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->host, sizeof(p->host), "%s", host);
	snprintf(p->host_address, sizeof(p->host_address), "%s", t->text);
	p->host_port = t->port;
}

/* TCP to sa within ms: the fd, or -1 with w set. */
static int
tcp_open(const struct sockaddr *sa, socklen_t salen, unsigned ms,
    struct why *w)
{
	struct smtp s;

	if (smtp_connect(&s, sa, salen, ms) == -1) {
		why_set(w, s.errnum, "%s", s.error);
		return -1;
	}
	return s.fd;
}

static int
direct_open(const struct ctx *x, const char *host, const struct target *t,
    long long deadline, struct relay_path *p, struct why *w)
{
	int fd;

	path_target(p, host, t);
	if (event(x, "tcp:connect", "", p, NULL, 0) != 0) {
		why_set(w, 0, "tcp:connect event said not to connect");
		return -1;
	}
	if ((fd = tcp_open((const struct sockaddr *)&t->sa, t->salen,
	    (unsigned)clock_left_ms(deadline), w)) == -1) {
		why_prefix(w, "%s [%s]:%u: ", host, t->text, t->port);
		(void)event(x, "tcp:close", "", p, NULL, 0);
	}
	return fd;
}

/* A proxy may relay the banner in a second small segment right after
 * its CONNECT reply; with Nagle on its side that segment waits for our
 * ACK, which the kernel delays by up to 40 ms unless told otherwise. */
static void
quick_ack(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Each step with a proxy gets its tmo, within the set's deadline. */
static long long
step_deadline(const struct socks5_proxy *px, long long deadline)
{
	long long step = clock_ms() + (long long)px->tmo * 1000;

	return step < deadline ? step : deadline;
}

/* One proxy: the fd of a stream to t through it, or -1 with w set. */
static int
proxy_try(struct ctx *x, size_t i, const struct target *t,
    long long deadline, struct relay_path *p, struct why *w)
{
	const struct socks5_proxy *px = &x->o->proxies->p[i];
	struct socks5_target st = { NULL, t->name, t->port };
	struct socks5_result r;
	struct relay_path pp = *p;
	char ptext[INET6_ADDRSTRLEN + 8];
	int fd;

	socks5_proxy_text(px, ptext, sizeof(ptext));
	if (t->name == NULL)
		st.sa = (const struct sockaddr *)&t->sa;
	/* tcp:connect sees the proxy (Exim: "the address and port
	 * variables will be that of the proxy"). */
	snprintf(pp.host_address, sizeof(pp.host_address), "%s", px->addr);
	pp.host_port = px->port;
	snprintf(pp.proxy_local_address, sizeof(pp.proxy_local_address),
	    "%s", px->addr);
	pp.proxy_local_port = px->port;
	if (event(x, "tcp:connect", "", &pp, NULL, 0) != 0) {
		why_set(w, 0, "proxy %s: tcp:connect event said not to "
		    "connect", ptext);
		say(x, "%s", w->text);
		return -1;
	}
	if ((fd = tcp_open((const struct sockaddr *)&px->sa, px->salen,
	    (unsigned)clock_left_ms(step_deadline(px, deadline)), w)) ==
	    -1) {
		x->dead[i] = 1;
		why_prefix(w, "proxy %s: ", ptext);
		say(x, "%s", w->text);
		(void)event(x, "tcp:close", "", &pp, NULL, 0);
		return -1;
	}
	if (socks5_handshake(fd, px, &st, step_deadline(px, deadline),
	    &r) == -1) {
		if (r.fail == SOCKS5_EREPLY)
			why_set(w, 0, "proxy %s: CONNECT to %s port %u "
			    "refused: %s (reply %d)", ptext, t->name ?
			    t->name : t->text, t->port, r.why, r.rep);
		else {
			if (r.fail != SOCKS5_EUSAGE)
				x->dead[i] = 1;
			why_set(w, 0, "proxy %s: %s", ptext, r.why);
		}
		say(x, "%s", w->text);
		close(fd);
		(void)event(x, "tcp:close", "", &pp, NULL, 0);
		return -1;
	}
	quick_ack(fd);
	snprintf(p->proxy_local_address, sizeof(p->proxy_local_address),
	    "%s", px->addr);
	p->proxy_local_port = px->port;
	snprintf(p->proxy_external_address,
	    sizeof(p->proxy_external_address), "%s", r.bnd_addr);
	p->proxy_external_port = r.bnd_port;
	return fd;
}

/* A stream to t: directly or through the first proxy that gets there. */
static int
open_stream(struct ctx *x, const char *host, const struct target *t,
    struct relay_path *p, struct why *w)
{
	unsigned ms = x->o->connect_timeout_ms ? x->o->connect_timeout_ms :
	    DEFAULT_TIMEOUT_MS;
	long long deadline = clock_ms() + ms;
	size_t order[SOCKS5_MAX_PROXIES], i, tried = 0;
	int fd;

	if (x->nproxies == 0)
		return direct_open(x, host, t, deadline, p, w);
	path_target(p, host, t);
	socks5_order(x->o->proxies, order, NULL, NULL);
	why_set(w, 0, "no proxy left to try");
	for (i = 0; i < x->nproxies; i++) {
		if (x->dead[order[i]])
			continue;
		if (clock_left_ms(deadline) == 0) {
			why_set(w, ETIMEDOUT, "connect timeout (%u s) over "
			    "the proxies", ms / 1000);
			break;
		}
		tried++;
		if ((fd = proxy_try(x, order[i], t, deadline, p, w)) != -1)
			return fd;
	}
	/* Each proxy's failure is logged already: the host's reason says
	 * that none got through. */
	if (tried > 0) {
		why_prefix(w, "%s [%s]:%u: no proxy got through (last: ", host,
		    t->name ? t->name : t->text, t->port);
		snprintf(w->text + strlen(w->text), sizeof(w->text) -
		    strlen(w->text), ")");
	}
	return -1;
}

static void
stream_closed(const struct ctx *x, const struct relay_path *p)
{
	(void)event(x, "tcp:close", "", p, NULL, 0);
}

/* ---- hosts and targets ---- */

static int
literal_target(const char *s, unsigned port, struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->port = port;
	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	return sockaddr_literal(s, port, &t->sa, &t->salen, t->text,
	    sizeof(t->text));
}

/* The targets of one host name: *n of them, or -1 with w (the host is
 * deferred). */
static int
host_targets(const struct ctx *x, const char *name, unsigned port,
    struct target *t, size_t *n, struct why *w)
{
	struct dane_host h;
	size_t i;

	*n = 0;
	if (literal_target(name, port, &t[0]) == 0) {
		*n = 1;
		return 0;
	}
	if (x->o->remote_dns && x->nproxies > 0) {
		memset(&t[0], 0, sizeof(t[0]));
		t[0].name = name;
		t[0].port = port;
		*n = 1;
		return 0;
	}
	if (dane_host_lookup(name, DANE_V4 | DANE_V6, port, &h) == -1) {
		why_set(w, ENOMEM, "out of memory");
		return -1;
	}
	for (i = 0; i < h.n && i < MAX_TARGETS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		memcpy(&t[i].sa, &h.addr[i].sa, sizeof(t[i].sa));
		t[i].salen = h.addr[i].salen;
		t[i].port = port;
		snprintf(t[i].text, sizeof(t[i].text), "%s", h.addr[i].text);
	}
	*n = i;
	if (*n == 0)
		why_set(w, 0, "%s: %s", name, h.tempfail ?
		    "address lookup failed (DNS)" : h.nxdomain ?
		    "host not found" : "no A or AAAA record");
	dane_host_free(&h);
	return *n > 0 ? 0 : -1;
}

/* ---- the recipients of one transaction ---- */

struct group {
	struct relay_rcpt *r[RELAY_MAX_RCPTS];
	size_t n;
	char *domain;		/* as DNS wants it: A-labels */
};

static void
settle(struct relay_rcpt *r, enum relay_status st, int code,
    const char *reply, const struct relay_path *p, const char *cipher)
{
	free(r->reply);
	r->reply = strdup(reply);
	r->status = st;
	r->code = code;
	if (p != NULL)
		r->path = *p;
	snprintf(r->tls_cipher, sizeof(r->tls_cipher), "%s",
	    cipher ? cipher : "");
}

static enum relay_status
status_of(int code)
{
	return code / 100 == 2 ? RELAY_DELIVERED : code / 100 == 5 ?
	    RELAY_FAILED : RELAY_DEFERRED;
}

static size_t
pending(const struct group *g)
{
	size_t i, k = 0;

	for (i = 0; i < g->n; i++)
		k += g->r[i]->status == RELAY_PENDING;
	return k;
}

static void
settle_pending(struct group *g, enum relay_status st, int code,
    const char *reply, const struct relay_path *p)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->r[i]->status == RELAY_PENDING)
			settle(g->r[i], st, code, reply, p, NULL);
}

/* ---- the SMTP session ---- */

static int
is_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

static int
local_ascii(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return is_ascii(addr, at ? (size_t)(at - addr) : strlen(addr));
}

static int
needs_smtputf8(const struct ctx *x, const struct group *g)
{
	size_t i;

	if (x->utf8_header || !local_ascii(x->o->sender))
		return 1;
	for (i = 0; i < g->n; i++)
		if (g->r[i]->status == RELAY_PENDING &&
		    !local_ascii(g->r[i]->addr))
			return 1;
	return 0;
}

/* addr for the envelope: as it is with SMTPUTF8, else its domain in
 * A-labels.  Malloc'd; NULL when the domain is not a valid IDN. */
static char *
envelope_addr(const char *addr, int utf8)
{
	const char *at = strrchr(addr, '@'), *why;
	char *d, *out;

	if (utf8 || at == NULL || is_ascii(at, strlen(at)))
		return strdup(addr);
	if ((d = idn_to_alabels(at + 1, &why)) == NULL)
		return NULL;
	if (asprintf(&out, "%.*s@%s", (int)(at - addr), addr, d) == -1)
		out = NULL;
	free(d);
	return out;
}

struct session {
	struct ctx *x;
	struct smtp s;
	struct smtp_ehlo e;
	struct relay_path path;
	char cipher[TLS_CIPHER_MAX];
	const char *host;
};

/* The reply of the session's last command as a reason. */
static void
why_reply(struct why *w, const struct session *ss, const char *stage)
{
	if (ss->s.code == -1)
		why_set(w, ss->s.errnum, "%s [%s]: %s: %s", ss->host,
		    ss->path.host_address, stage, ss->s.error);
	else
		why_set(w, 0, "%s [%s]: %s: %.500s", ss->host,
		    ss->path.host_address, stage, ss->s.reply);
}

/* STARTTLS and the second EHLO.  0; -1 with w. */
static int
starttls(struct session *ss, struct why *w)
{
	SSL_CTX *c;
	SSL *ssl;
	struct target dummy;

	/* Opportunistic TLS (RFC 7435): encrypt, do not authenticate;
	 * tlsa-probe is the tool for DANE. */
	if ((c = tls_client_ctx()) == NULL || (ssl = SSL_new(c)) == NULL) {
		SSL_CTX_free(c);
		why_set(w, ENOMEM, "TLS set-up failed");
		return -1;
	}
	SSL_CTX_free(c);	/* the SSL holds a reference */
	if (literal_target(ss->host, 25, &dummy) == -1)
		(void)SSL_set_tlsext_host_name(ssl, ss->host);
	if (smtp_starttls(&ss->s, ssl) == -1) {
		SSL_free(ssl);
		if (ss->s.code != -1 && ss->s.code != 220)
			why_reply(w, ss, "STARTTLS");
		else
			why_set(w, 0, "%s [%s]: STARTTLS: %s", ss->host,
			    ss->path.host_address, ss->s.error);
		return -1;
	}
	tls_exim_cipher(ss->s.ssl, ss->cipher, sizeof(ss->cipher));
	if (smtp_hello(&ss->s, ss->x->o->helo, &ss->e) / 100 != 2) {
		why_reply(w, ss, "EHLO after STARTTLS");
		return -1;
	}
	return 0;
}

/* The session up to the transaction.  0; -1 with w (*retry_clear set
 * when an opportunistic TLS handshake failed). */
static int
open_session(struct session *ss, int use_tls, int *retry_clear,
    struct why *w)
{
	enum relay_tls tls = ss->x->o->tls;
	int code;

	*retry_clear = 0;
	if ((code = smtp_read_reply(&ss->s)) != 220) {
		why_reply(w, ss, "banner");
		return -1;
	}
	if (event(ss->x, "smtp:connect", ss->s.reply, &ss->path, NULL, 0)
	    != 0) {
		why_set(w, 0, "%s [%s]: smtp:connect event closed the "
		    "connection", ss->host, ss->path.host_address);
		return -1;
	}
	if (smtp_hello(&ss->s, ss->x->o->helo, &ss->e) / 100 != 2) {
		why_reply(w, ss, "EHLO/HELO");
		return -1;
	}
	if (tls == RELAY_TLS_NEVER || !use_tls)
		return 0;
	if (!ss->e.starttls) {
		if (tls != RELAY_TLS_REQUIRE)
			return 0;
		why_set(w, 0, "%s [%s]: STARTTLS not offered, and TLS is "
		    "required (--require-tls)", ss->host,
		    ss->path.host_address);
		return -1;
	}
	if (starttls(ss, w) == 0)
		return 0;
	/* A 4xx/5xx to STARTTLS leaves the session in clear and usable;
	 * a failed handshake does not. */
	*retry_clear = tls == RELAY_TLS_TRY;
	return -1;
}

/* MAIL FROM with its parameters.  0, or -1 (envelope_addr failed). */
static int
mail_line(const struct session *ss, int utf8, int prdr, char *buf,
    size_t size)
{
	const struct ctx *x = ss->x;
	char *from = envelope_addr(x->o->sender, utf8);
	int n;

	if (from == NULL)
		return -1;
	n = snprintf(buf, size, "MAIL FROM:<%s>", from);
	free(from);
	if (ss->e.size)
		n += snprintf(buf + n, size - (size_t)n, " SIZE=%llu",
		    x->size);
	if (x->eightbit && ss->e.eightbitmime)
		n += snprintf(buf + n, size - (size_t)n, " BODY=8BITMIME");
	if (utf8)
		n += snprintf(buf + n, size - (size_t)n, " SMTPUTF8");
	if (prdr)
		n += snprintf(buf + n, size - (size_t)n, " PRDR");
	return (size_t)n < size ? 0 : -1;
}

/* The checks before MAIL that fail the recipients for this server: 0 to
 * go on, -1 when they are settled. */
static int
precheck(struct session *ss, struct group *g, int *utf8)
{
	char reply[300];

	*utf8 = needs_smtputf8(ss->x, g);
	if (*utf8 && !ss->e.smtputf8) {
		snprintf(reply, sizeof(reply), "%s [%s] does not offer "
		    "SMTPUTF8, which the message needs (a non-ASCII local "
		    "part or header)", ss->host, ss->path.host_address);
		settle_pending(g, RELAY_FAILED, 0, reply, &ss->path);
		return -1;
	}
	if (ss->e.size && ss->e.size_max > 0 && ss->x->size >
	    ss->e.size_max) {
		snprintf(reply, sizeof(reply), "message size %llu exceeds "
		    "the SIZE %llu of %s [%s]", ss->x->size, ss->e.size_max,
		    ss->host, ss->path.host_address);
		settle_pending(g, RELAY_FAILED, 0, reply, &ss->path);
		return -1;
	}
	return 0;
}

/* The envelope's commands, each line with its CRLF, built once: written
 * in one go when pipelining (RFC 2920), else one at a time.  Line 0 is
 * MAIL, lines 1..nrcpt the RCPTs of rcpt[], the last DATA. */
struct envelope {
	struct out_buf b;
	size_t start[RELAY_MAX_RCPTS + 3];
	size_t n;
	struct relay_rcpt *rcpt[RELAY_MAX_RCPTS];
	size_t nrcpt;
};

static void
env_line(struct envelope *v, const char *line)
{
	v->start[v->n++] = v->b.len;
	out_buf_str(&v->b, line);
	out_buf_add(&v->b, "\r\n", 2);
	v->start[v->n] = v->b.len;
}

/* MAIL, a RCPT for each open recipient (one whose address cannot be
 * sent fails here) and DATA into v.  0, or -1 with w. */
static int
build_envelope(struct session *ss, struct group *g, int utf8, int prdr,
    struct envelope *v, struct why *w)
{
	char line[SMTP_MAX_LINE + 1];
	size_t i;

	if (mail_line(ss, utf8, prdr, line, sizeof(line)) == -1) {
		why_set(w, 0, "sender address does not fit in MAIL");
		return -1;
	}
	env_line(v, line);
	for (i = 0; i < g->n; i++) {
		char *to;

		if (g->r[i]->status != RELAY_PENDING)
			continue;
		if ((to = envelope_addr(g->r[i]->addr, utf8)) == NULL ||
		    strlen(to) + 12 > SMTP_MAX_LINE) {
			settle(g->r[i], RELAY_FAILED, 0, to == NULL ?
			    "domain is not a valid IDN" :
			    "address too long for RCPT", &ss->path, NULL);
			free(to);
			continue;
		}
		snprintf(line, sizeof(line), "RCPT TO:<%s>", to);
		free(to);
		env_line(v, line);
		v->rcpt[v->nrcpt++] = g->r[i];
	}
	env_line(v, "DATA");
	if (v->b.oom) {
		why_set(w, ENOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* The reply to line k of the envelope: already sent (pipelining), or
 * sent now.  The code, or -1. */
static int
reply_to(struct session *ss, const struct envelope *v, size_t k)
{
	if (!ss->e.pipelining && smtp_write(&ss->s, v->b.p + v->start[k],
	    v->start[k + 1] - v->start[k]) == -1)
		return -1;
	return smtp_read_reply(&ss->s);
}

static void
delivered(struct session *ss, struct relay_rcpt *r, int code)
{
	settle(r, status_of(code), code, ss->s.reply, &ss->path, ss->cipher);
	if (r->status == RELAY_DELIVERED)
		(void)event(ss->x, "msg:delivery", ss->s.reply, &ss->path, r,
		    0);
}

/* After the data: PRDR's per-recipient replies (353 first), or one
 * reply for all. */
static int
data_replies(struct session *ss, struct relay_rcpt **acc, size_t nacc,
    int prdr, struct why *w)
{
	size_t i;
	int code = smtp_read_reply(&ss->s);

	if (code == 353 && prdr) {
		for (i = 0; i < nacc; i++) {
			if ((code = smtp_read_reply(&ss->s)) == -1) {
				why_reply(w, ss, "PRDR reply");
				return -1;
			}
			acc[i]->prdr = 1;
			delivered(ss, acc[i], code);
		}
		(void)smtp_read_reply(&ss->s);	/* the final summary */
		return 0;
	}
	if (code == -1 || code / 100 == 4) {
		why_reply(w, ss, "end of data");
		return -1;
	}
	for (i = 0; i < nacc; i++)
		delivered(ss, acc[i], code);
	return 0;
}

/* MAIL, RCPT and DATA, each reply read in order.  1 to go on to the
 * data with the accepted recipients in acc[], 0 when the recipients are
 * settled, -1 with w when the host failed. */
static int
envelope_replies(struct session *ss, struct group *g,
    const struct envelope *v, struct relay_rcpt **acc, size_t *nacc,
    struct why *w)
{
	size_t i;
	int code;

	*nacc = 0;
	if ((code = reply_to(ss, v, 0)) / 100 != 2) {
		why_reply(w, ss, "MAIL");
		if (code / 100 != 5)
			return -1;
		settle_pending(g, RELAY_FAILED, code, ss->s.reply, &ss->path);
		return 0;
	}
	for (i = 0; i < v->nrcpt; i++) {
		if ((code = reply_to(ss, v, i + 1)) == -1) {
			why_reply(w, ss, "RCPT");
			return -1;
		}
		if (code / 100 == 2)
			acc[(*nacc)++] = v->rcpt[i];
		else
			settle(v->rcpt[i], status_of(code), code, ss->s.reply,
			    &ss->path, ss->cipher);
	}
	if (*nacc == 0 && !ss->e.pipelining)
		return 0;
	code = reply_to(ss, v, v->nrcpt + 1);
	if (*nacc == 0) {
		/* A pipelining server that said 354 anyway gets an empty
		 * message (RFC 2920 3.1). */
		if (code == 354 && smtp_write(&ss->s, ".\r\n", 3) == 0)
			(void)smtp_read_reply(&ss->s);
		return 0;
	}
	if (code == 354)
		return 1;
	why_reply(w, ss, "DATA");
	if (code / 100 != 5)
		return -1;
	for (i = 0; i < *nacc; i++)
		settle(acc[i], RELAY_FAILED, code, ss->s.reply, &ss->path,
		    ss->cipher);
	return 0;
}

/* One transaction for the open recipients of g.  0 when they are all
 * settled here, -1 with w when the host failed (the rest go on). */
static int
transaction(struct session *ss, struct group *g, struct why *w)
{
	struct relay_rcpt *acc[RELAY_MAX_RCPTS];
	struct envelope *v;
	size_t nacc;
	int utf8, prdr, rc;

	if (precheck(ss, g, &utf8) == -1)
		return 0;
	prdr = ss->x->o->try_prdr && ss->e.prdr && pending(g) > 1;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		why_set(w, ENOMEM, "out of memory");
		return -1;
	}
	if (build_envelope(ss, g, utf8, prdr, v, w) == -1)
		rc = -1;
	else if (v->nrcpt == 0)
		rc = 0;		/* every address failed before RCPT */
	else if (ss->e.pipelining &&
	    smtp_write(&ss->s, v->b.p, v->b.len) == -1) {
		why_reply(w, ss, "MAIL");
		rc = -1;
	} else if ((rc = envelope_replies(ss, g, v, acc, &nacc, w)) == 1) {
		if (smtp_send_data(&ss->s, ss->x->msg, ss->x->len) == -1) {
			why_reply(w, ss, "data");
			rc = -1;
		} else
			rc = data_replies(ss, acc, nacc, prdr, w);
	}
	out_buf_free(&v->b);
	free(v);
	return rc;
}

static void settle_path(struct group *g, const struct relay_path *p);

/* One host attempt on one target.  0 when the group is settled, -1 with
 * w to go on to the next. */
static int
attempt(struct ctx *x, const char *host, const struct target *t,
    struct group *g, struct why *w)
{
	struct session ss;
	int use_tls = 1, retry, fd, rc;

	for (;;) {
		memset(&ss, 0, sizeof(ss));
		ss.x = x;
		ss.host = host;
		if ((fd = open_stream(x, host, t, &ss.path, w)) == -1) {
			settle_path(g, &ss.path);
			return -1;
		}
		if (smtp_attach(&ss.s, fd, x->o->command_timeout_ms ?
		    x->o->command_timeout_ms : DEFAULT_TIMEOUT_MS) == -1) {
			close(fd);
			why_set(w, ss.s.errnum, "%s", ss.s.error);
			stream_closed(x, &ss.path);
			return -1;
		}
		rc = open_session(&ss, use_tls, &retry, w);
		if (rc == 0)
			rc = transaction(&ss, g, w);
		smtp_close(&ss.s);
		stream_closed(x, &ss.path);
		if (rc == -1 && retry) {
			say(x, "%s; trying again without TLS", w->text);
			use_tls = 0;
			continue;
		}
		if (rc == -1) {
			settle_path(g, &ss.path);
			return -1;
		}
		return pending(g) == 0 ? 0 : -1;
	}
}

/* ---- the hosts of a group ---- */

static void
settle_path(struct group *g, const struct relay_path *p)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		if (g->r[i]->status == RELAY_PENDING)
			g->r[i]->path = *p;
}

static void
host_deferred(struct ctx *x, struct group *g, const char *host,
    const struct why *w)
{
	struct relay_path p;
	size_t i;

	memset(&p, 0, sizeof(p));
	snprintf(p.host, sizeof(p.host), "%s", host);
	for (i = 0; i < g->n; i++)
		if (g->r[i]->status == RELAY_PENDING &&
		    g->r[i]->path.host[0] == '\0')
			g->r[i]->path = p;
	say(x, "%s", w->text);
	(void)event(x, "msg:host:defer", w->text, &g->r[0]->path, NULL,
	    w->errnum);
}

/* Every target of one host until the group is settled: 0, or -1 with w
 * when the host failed. */
static int
try_host(struct ctx *x, const char *host, unsigned port, struct group *g,
    struct why *w)
{
	struct target *t;
	size_t n, i;
	int rc = -1;

	if ((t = calloc(MAX_TARGETS, sizeof(*t))) == NULL) {
		why_set(w, ENOMEM, "out of memory");
		return -1;
	}
	if (host_targets(x, host, port, t, &n, w) == -1)
		host_deferred(x, g, host, w);
	for (i = 0; i < n && rc == -1; i++) {
		if ((rc = attempt(x, host, &t[i], g, w)) == -1)
			host_deferred(x, g, host, w);
	}
	free(t);
	return rc;
}

static void
shuffle_equal(struct dane_mxset *m)
{
	size_t i, j, k;

	for (i = 0; i < m->n; i = j) {
		for (j = i + 1; j < m->n && m->mx[j].pref == m->mx[i].pref;
		    j++)
			;
		for (k = j - 1; k > i; k--) {
			uint32_t r;
			size_t s;
			struct dane_mx tmp;

			if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
				r = (uint32_t)random();
			s = i + r % (k - i + 1);
			tmp = m->mx[k];
			m->mx[k] = m->mx[s];
			m->mx[s] = tmp;
		}
	}
}

static void
deliver_mx(struct ctx *x, struct group *g, struct why *w)
{
	struct dane_mxset *m;
	size_t i;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    dane_mx_lookup(g->domain, m) == -1) {
		free(m);
		settle_pending(g, RELAY_DEFERRED, 0, "out of memory", NULL);
		return;
	}
	switch (m->status) {
	case DANE_MX_NULL:
		settle_pending(g, RELAY_FAILED, 0, "the domain accepts no "
		    "mail (null MX, RFC 7505)", NULL);
		break;
	case DANE_MX_NXDOMAIN:
		settle_pending(g, RELAY_FAILED, 0, "the domain does not "
		    "exist (NXDOMAIN)", NULL);
		break;
	case DANE_MX_TEMPFAIL:
		settle_pending(g, RELAY_DEFERRED, 0, "MX lookup failed "
		    "(DNS timeout or SERVFAIL)", NULL);
		break;
	case DANE_MX_PERMFAIL:
		settle_pending(g, RELAY_FAILED, 0, "MX lookup failed "
		    "(malformed name, REFUSED or a bad MX record)", NULL);
		break;
	default:
		shuffle_equal(m);
		why_set(w, 0, "no MX host");
		for (i = 0; i < m->n && pending(g) > 0; i++)
			(void)try_host(x, m->mx[i].host, x->port, g, w);
	}
	dane_mxset_free(m);
	free(m);
}

static void
deliver_group(struct ctx *x, struct group *g)
{
	char host[RELAY_HOST_MAX];
	unsigned port = x->port;
	struct why w;

	why_set(&w, 0, "not attempted");
	if (x->o->server != NULL) {
		if (relay_split_hostport(x->o->server, host, sizeof(host),
		    &port) == 0)
			(void)try_host(x, host, port, g, &w);
		else
			why_set(&w, 0, "bad server \"%s\"", x->o->server);
	} else if (g->domain[0] == '[') {
		snprintf(host, sizeof(host), "%.*s",
		    (int)strcspn(g->domain + 1, "]"), g->domain + 1);
		(void)try_host(x, host, port, g, &w);
	} else
		deliver_mx(x, g, &w);
	settle_pending(g, RELAY_DEFERRED, 0, w.text, NULL);
}

/* The domain of addr for grouping and DNS: lower case, A-labels; NULL
 * when it is not a valid name (the recipient fails). */
static char *
group_domain(const char *addr, const char **why)
{
	const char *at = strrchr(addr, '@');
	char *d;
	size_t i;

	if (at == NULL || at[1] == '\0') {
		*why = "address without a domain";
		return NULL;
	}
	if (at[1] == '[')
		d = strdup(at + 1);
	else
		d = idn_to_alabels(at + 1, why);
	for (i = 0; d != NULL && d[i] != '\0'; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static void
message_facts(struct ctx *x)
{
	const char *p = x->msg, *end = x->msg + x->len, *hdr_end;

	x->size = smtp_data_size(x->msg, x->len);
	x->eightbit = !is_ascii(x->msg, x->len);
	/* The header ends at the first empty line. */
	for (hdr_end = p; hdr_end < end; hdr_end++) {
		if (*hdr_end == '\n' && (hdr_end + 1 == end ||
		    hdr_end[1] == '\n' || (hdr_end[1] == '\r' &&
		    hdr_end + 2 < end && hdr_end[2] == '\n')))
			break;
	}
	x->utf8_header = !is_ascii(p, (size_t)(hdr_end - p));
}

int
relay_deliver(const struct relay_opts *o, const char *msg, size_t len,
    struct relay_rcpt *r, size_t n)
{
	struct ctx x;
	struct group *g;
	char **dom;
	size_t i, j;
	const char *why;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.port = o->port ? o->port : 25;
	x.nproxies = o->proxies ? o->proxies->n : 0;
	x.msg = msg;
	x.len = len;
	message_facts(&x);
	for (i = 0; i < n; i++) {
		r[i].status = RELAY_PENDING;
		r[i].reply = NULL;
		r[i].code = 0;
		memset(&r[i].path, 0, sizeof(r[i].path));
	}
	if ((g = malloc(sizeof(*g))) == NULL ||
	    (dom = calloc(n + 1, sizeof(*dom))) == NULL) {
		free(g);
		return -1;
	}
	for (i = 0; i < n; i++) {
		why = "out of memory";
		if (o->server == NULL &&
		    (dom[i] = group_domain(r[i].addr, &why)) == NULL)
			settle(&r[i], RELAY_FAILED, 0, why, NULL, NULL);
	}
	/* One transaction per domain (all of them with a server given),
	 * recipients in the order given. */
	for (i = 0; i < n && n <= RELAY_MAX_RCPTS; i++) {
		if (r[i].status != RELAY_PENDING)
			continue;
		g->n = 0;
		g->domain = dom[i] ? dom[i] : "";
		for (j = i; j < n; j++)
			if (r[j].status == RELAY_PENDING && (o->server != NULL
			    || strcmp(dom[j], g->domain) == 0))
				g->r[g->n++] = &r[j];
		deliver_group(&x, g);
	}
	for (i = 0; i < n; i++) {
		if (r[i].status == RELAY_PENDING)
			settle(&r[i], RELAY_FAILED, 0, "too many recipients",
			    NULL, NULL);
		if (r[i].reply == NULL)
			rc = -1;
		free(dom[i]);
	}
	free(dom);
	free(g);
	return rc;
}

void
relay_rcpts_free(struct relay_rcpt *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].reply);
		r[i].reply = NULL;
	}
}

int
relay_split_hostport(const char *s, char *host, size_t hostsize,
    unsigned *port)
{
	const char *end, *colon;
	size_t hl;
	char *e;
	unsigned long p;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		s++;
		hl = (size_t)(end - s);
		colon = end[1] == ':' ? end + 1 : end[1] == '\0' ? NULL : s;
		if (colon == s)
			return -1;
	} else {
		colon = strrchr(s, ':');
		/* An IPv6 address without brackets has no port. */
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hostsize)
		return -1;
	if (colon != NULL) {
		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (colon[1] < '0' || colon[1] > '9' || *e != '\0' ||
		    errno != 0 || p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	return 0;
}

int
relay_connect(const struct relay_opts *o, const char *hostport,
    struct relay_path *path, char *why, size_t whysize)
{
	struct ctx x;
	struct target *t;
	struct why w;
	char host[RELAY_HOST_MAX];
	unsigned port = 0;
	size_t n = 0, i;
	int fd = -1, fl;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.nproxies = o->proxies ? o->proxies->n : 0;
	if (relay_split_hostport(hostport, host, sizeof(host), &port) == -1 ||
	    port == 0) {
		snprintf(why, whysize, "not HOST:PORT: %s", hostport);
		return -1;
	}
	if ((t = calloc(MAX_TARGETS, sizeof(*t))) == NULL) {
		snprintf(why, whysize, "out of memory");
		return -1;
	}
	if (host_targets(&x, host, port, t, &n, &w) == 0)
		for (i = 0; i < n && fd == -1; i++)
			if ((fd = open_stream(&x, host, &t[i], path, &w)) ==
			    -1 && i + 1 < n)
				say(&x, "%s", w.text);
	free(t);
	if (fd == -1) {
		snprintf(why, whysize, "%s", w.text);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* ---- submission ---- */

static size_t
from_line_len(const char *msg, size_t len)
{
	const char *nl;

	if (len < 5 || memcmp(msg, "From ", 5) != 0)
		return 0;
	nl = memchr(msg, '\n', len);
	return nl != NULL ? (size_t)(nl - msg) + 1 : len;
}

/* The message without its Bcc: fields, in *copy. */
static int
drop_bcc(const struct msg *m, const char *msg, size_t len, char **copy,
    size_t *outlen)
{
	struct out_buf b = { 0 };
	const char *pos = msg;
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		const struct msg_field *f = &m->fields[i];
		const char *end = f->raw + f->raw_len;

		if (!msg_field_is(f, "Bcc"))
			continue;
		/* The field and its line end. */
		if (end < msg + len && *end == '\r')
			end++;
		if (end < msg + len && *end == '\n')
			end++;
		out_buf_add(&b, pos, (size_t)(f->raw - pos));
		pos = end;
	}
	out_buf_add(&b, pos, (size_t)(msg + len - pos));
	if (b.oom) {
		out_buf_free(&b);
		return -1;
	}
	*copy = b.p ? b.p : strdup("");
	*outlen = b.len;
	return *copy != NULL ? 0 : -1;
}

int
relay_prepare(const char *msg, size_t len, int extract,
    struct addr_list *rcpts, char **copy, size_t *off, size_t *outlen,
    const char **why)
{
	static const char *const fields[] = { "To", "Cc", "Bcc" };
	struct msg m;
	int rc = 0;

	*copy = NULL;
	*off = from_line_len(msg, len);
	*outlen = len - *off;
	if (!extract)
		return 0;
	memset(&m, 0, sizeof(m));
	msg += *off;
	len -= *off;
	if (msg_parse(&m, msg, len, why) == -1) {
		if (errno == ENOMEM)
			*why = "out of memory";
		return -1;
	}
	if (addr_list_from_fields(&m, fields, 3, rcpts, why) == -1)
		rc = -1;
	else if (msg_count(&m, "Bcc") > 0) {
		if ((rc = drop_bcc(&m, msg, len, copy, outlen)) == -1)
			*why = "out of memory";
		*off = 0;
	}
	msg_free(&m);
	return rc;
}
