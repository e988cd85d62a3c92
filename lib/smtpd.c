/* smtpd: the connection and its commands.  The message itself (DATA,
 * BDAT, PRDR, delivery) is smtpd_msg.c's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "idn.h"
#include "maillog.h"
#include "smtpd_int.h"
#include "tlsd.h"

static volatile int stop_requested;

void
smtpd_request_stop(void)
{
	stop_requested = 1;
}

void
smtpd_config_init(struct smtpd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->hook_timeout_ms = 60 * 1000;
	c->spool_dir = "/tmp";
	c->tls_timeout_ms = 60 * 1000;
	c->proxy_timeout_ms = 3000;
	c->max_size = 50ULL * 1024 * 1024;	/* Exim's message_size_limit */
	c->max_rcpts = 100;			/* RFC 5321 4.5.3.1.8 */
	c->max_errors = 10;
	c->max_line = SMTPD_LINE_MAX;
	c->max_text_line = 1000;
	c->cmd_timeout_ms = 5 * 60 * 1000;	/* RFC 5321 4.5.3.2.7 */
	c->data_timeout_ms = 3 * 60 * 1000;	/* 4.5.3.2.5 */
	c->session_timeout_ms = 60 * 60 * 1000;
}

/* ---- the peer ---- */

void
smtpd_addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen,
    unsigned *port)
{
	ip[0] = '\0';
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		const unsigned char *a = in6->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
		};

		/* An IPv4 client on a dual-stack socket is an IPv4 client. */
		if (memcmp(a, mapped, 12) == 0)
			inet_ntop(AF_INET, a + 12, ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, a, ip, (socklen_t)iplen);
		*port = ntohs(in6->sin6_port);
	}
}

static void
env_override(char *dst, size_t size, unsigned *port, const char *ipvar,
    const char *portvar)
{
	const char *ip = getenv(ipvar), *p = getenv(portvar);

	if (ip && *ip && strlen(ip) < size)
		snprintf(dst, size, "%s", ip);
	if (p && *p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (*end == '\0' && v <= 65535)
			*port = (unsigned)v;
	}
}

void
smtpd_peer_of(int fd, struct smtpd_peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(p, 0, sizeof(*p));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		smtpd_addr_text(&ss, p->remote_ip, sizeof(p->remote_ip),
		    &p->remote_port);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		smtpd_addr_text(&ss, p->local_ip, sizeof(p->local_ip),
		    &p->local_port);
	env_override(p->remote_ip, sizeof(p->remote_ip), &p->remote_port,
	    "TCPREMOTEIP", "TCPREMOTEPORT");
	env_override(p->local_ip, sizeof(p->local_ip), &p->local_port,
	    "TCPLOCALIP", "TCPLOCALPORT");
}

/* ---- replies and log ---- */

void
sess_reply(struct session *s, int code, const char *enh, const char *text)
{
	unsigned flags = s->in_mail && s->mail.smtputf8 ? SMTPD_REPLY_UTF8 : 0;

	if (smtpd_reply_add(&s->io.out, code, enh, text, flags) < 0)
		s->io.out.oom = 1;
}

void
sess_replyf(struct session *s, int code, const char *enh, const char *fmt,
    ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sess_reply(s, code, enh, text);
}

void
sess_reply_decision(struct session *s, const struct hook_decision *d,
    int ok_code, const char *ok_enh, const char *ok_text)
{
	if (d->out.code) {
		hook_reply_format(&d->out, &s->io.out);
		return;
	}
	switch (d->verdict) {
	case HOOK_ACCEPT:
	case HOOK_DISCARD:
		sess_reply(s, ok_code, ok_enh, ok_text);
		break;
	case HOOK_REJECT:
		sess_reply(s, 550, "5.7.1", "Administrative prohibition");
		break;
	case HOOK_DEFER:
		sess_reply(s, 451, "4.3.0",
		    "Temporary local problem - please try later");
		break;
	}
}

const char *
sess_host(const struct session *s)
{
	static char buf[512];
	int n;

	if (!s->peer.remote_ip[0])
		n = snprintf(buf, sizeof(buf), "H=%s%s%slocal",
		    s->helo[0] ? "(" : "", s->helo, s->helo[0] ? ") " : "");
	else if (s->helo[0])
		n = snprintf(buf, sizeof(buf), "H=(%s) [%s]:%u", s->helo,
		    s->peer.remote_ip, s->peer.remote_port);
	else
		n = snprintf(buf, sizeof(buf), "H=[%s]:%u", s->peer.remote_ip,
		    s->peer.remote_port);
	if (n > 0 && (size_t)n < sizeof(buf) && s->proxied &&
	    !s->proxy_failed && !s->proxy_local_cmd)
		snprintf(buf + n, sizeof(buf) - (size_t)n, " PRX=[%s]:%u",
		    s->tcp.remote_ip, s->tcp.remote_port);
	return buf;
}

/* Exim's P= and the Received: header's "with": smtp, esmtp, esmtps,
 * utf8esmtp, utf8esmtps. */
const char *
sess_proto(const struct session *s)
{
	int utf8 = s->in_mail && s->mail.smtputf8;
	/* No address: a local process speaking SMTP on a pipe (Exim -bs). */
	int local = s->peer.remote_ip[0] == '\0';

	if (!s->esmtp)
		return local ? "local-smtp" : s->tls ? "smtps" : "smtp";
	if (utf8)
		return local ? "local-utf8esmtp" : s->tls ? "utf8esmtps" :
		    "utf8esmtp";
	return local ? "local-esmtp" : s->tls ? "esmtps" : "esmtp";
}

/* ---- hooks and events ---- */

static void
env_merge(struct hook_env *dst, const struct hook_env *src)
{
	for (size_t i = 0; src && i < src->n; i++) {
		const char *eq = strchr(src->v[i], '=');
		char name[HOOK_ENV_MAX_NAME + 1];
		size_t n = eq ? (size_t)(eq - src->v[i]) : 0;

		if (n == 0 || n > HOOK_ENV_MAX_NAME)
			continue;
		memcpy(name, src->v[i], n);
		name[n] = '\0';
		hook_env_set(dst, name, eq + 1);
	}
}

void
sess_run_hook(struct session *s, enum hook_stage stage,
    const struct hook_env *extra, const char *in_path,
    struct hook_decision *d)
{
	const char *prog = s->c->hooks[stage];
	struct hook_env env;
	struct hook_spec spec;
	struct hook_result r;
	char what[160];

	if (!prog) {
		memset(d, 0, sizeof(*d));
		d->verdict = HOOK_ACCEPT;
		return;
	}
	hook_env_init(&env);
	hook_env_copy(&env, &s->env);
	env_merge(&env, extra);
	hook_spec_init(&spec, prog);
	spec.envp = hook_env_vec(&env);
	spec.in_path = in_path;
	spec.timeout_ms = s->c->hook_timeout_ms;
	hook_run(&spec, &r);
	hook_decide(&r, stage, d);
	if (d->failed || d->why[0]) {
		/* why already names the result when the run itself failed. */
		hook_result_text(&r, what, sizeof(what));
		if (d->failed && d->why[0])	/* "hook failed: exit 4" */
			maillog("%s %s %s", s->id[0] ? s->id : s->sid,
			    hook_stage_name(stage), d->why);
		else
			maillog("%s %s hook %s: %s", s->id[0] ? s->id : s->sid,
			    hook_stage_name(stage), d->failed ? "failed" :
			    "note", d->why[0] ? d->why : what);
	}
	hook_result_free(&r);
	hook_env_free(&env);
}

void
sess_event(struct session *s, const char *name, const char *data)
{
	struct hook_result r;
	int rc;

	if (!s->c->event_hook)
		return;
	rc = hook_event(s->c->event_hook, name, data, &s->env,
	    s->c->hook_timeout_ms, &r);
	if (rc != 0) {
		char what[160];

		hook_result_text(&r, what, sizeof(what));
		maillog("%s event %s: %s", s->id[0] ? s->id : s->sid, name,
		    what);
	}
	hook_result_free(&r);
}

/* The event whose non-zero status closes the connection. */
static int
sess_event_gate(struct session *s, const char *name, const char *data)
{
	struct hook_result r;
	int rc;

	if (!s->c->event_hook)
		return 0;
	rc = hook_event(s->c->event_hook, name, data, &s->env,
	    s->c->hook_timeout_ms, &r);
	hook_result_free(&r);
	return rc;
}

/* ---- the transaction ---- */

void
sess_reset(struct session *s)
{
	if (s->bdat)
		msg_abort(s);
	if (s->in_mail)
		smtpd_mail_free(&s->mail);
	for (size_t i = 0; i < s->nrcpt; i++)
		smtpd_path_free(&s->rcpt[i].path);
	s->nrcpt = 0;
	s->in_mail = 0;
	s->mail_discard = 0;
	s->rcpt_refused = 0;
	s->added.len = 0;
	s->id[0] = '\0';
}

/* ---- the session's variables ---- */

void
sess_env_sender(const struct session *s, struct hook_env *e)
{
	hook_env_init(e);
	hook_env_set(e, "sender_address", s->mail.path.addr);
	hook_env_set(e, "sender_address_domain", s->mail.path.domain);
	hook_env_set(e, "message_smtputf8", s->mail.smtputf8 ? "yes" : "no");
	hook_env_set(e, "prdr_requested", s->mail.prdr ? "yes" : "no");
}

void
sess_env_rcpt(struct hook_env *e, const struct smtpd_path *p)
{
	hook_env_set(e, "local_part", p->local_unquoted);
	hook_env_set(e, "domain", p->domain);
	hook_env_set(e, "domain_alabel", p->domain_alabel);
	hook_env_set(e, "recipient", p->addr);
}

static void
env_session(struct session *s)
{
	struct hook_env *e = &s->env;

	hook_env_set(e, "sender_host_address", s->peer.remote_ip);
	hook_env_set_num(e, "sender_host_port", s->peer.remote_port);
	/* Our own end, as in Exim: a PROXY header's destination is the
	 * proxy's (proxy_external_*), not where we received it. */
	hook_env_set(e, "received_ip_address", s->tcp.local_ip);
	hook_env_set_num(e, "received_port", s->tcp.local_port);
	hook_env_set(e, "primary_hostname", s->c->hostname);
	hook_env_set(e, "proxy_session", s->proxied ? "yes" : "no");
	if (s->proxied) {
		int real = !s->proxy_failed && !s->proxy_local_cmd;

		hook_env_set(e, "proxy_local_address", s->tcp.remote_ip);
		hook_env_set_num(e, "proxy_local_port", s->tcp.remote_port);
		/* Empty after a failed negotiation, as in Exim. */
		hook_env_set(e, "proxy_external_address",
		    real ? s->peer.local_ip : "");
		if (real)
			hook_env_set_num(e, "proxy_external_port",
			    s->peer.local_port);
		else
			hook_env_set(e, "proxy_external_port", "");
	}
}

static void
env_tls(struct session *s)
{
	const struct tlsd_info *t = s->tlsinfo;

	hook_env_set(&s->env, "tls_in_cipher", t->cipher);
	hook_env_set(&s->env, "tls_in_ver", t->version);
	hook_env_set(&s->env, "tls_in_sni", t->sni);
	hook_env_set_num(&s->env, "tls_in_ocsp", t->ocsp);
	hook_env_set(&s->env, "tls_in_peerdn", t->peerdn);
}

/* ---- PROXY ---- */

static void
read_proxy(struct session *s)
{
	struct proxy_hdr *h = malloc(sizeof(*h));
	const char *why = "out of memory";
	enum proxy_read r = PROXY_READ_IO;

	s->proxied = 1;
	if (h)
		r = proxy_read_fd(s->io.rfd, (int)s->c->proxy_timeout_ms, h,
		    &why);
	if (r != PROXY_READ_OK) {
		s->proxy_failed = 1;
		maillog("%s proxy negotiation failed from [%s]:%u: %s",
		    s->sid, s->tcp.remote_ip, s->tcp.remote_port,
		    r == PROXY_READ_TIMEOUT ? "timed out" :
		    r == PROXY_READ_EOF ? "connection closed" : why);
	} else if (h->command == PROXY_CMD_LOCAL ||
	    h->family == PROXY_FAM_UNSPEC || h->family == PROXY_FAM_UNIX) {
		s->proxy_local_cmd = 1;	/* the proxy's own connection */
	} else {
		snprintf(s->peer.remote_ip, sizeof(s->peer.remote_ip), "%s",
		    h->src_addr);
		s->peer.remote_port = h->src_port;
		snprintf(s->peer.local_ip, sizeof(s->peer.local_ip), "%s",
		    h->dst_addr);
		s->peer.local_port = h->dst_port;
	}
	free(h);
}

/* ---- commands ---- */

static void
sync_error(struct session *s, const char *cmd)
{
	const unsigned char *p;
	char next[64];
	ssize_t n = 0;

	/* An early talker's words are still in the socket: read what is
	 * there for the log line (as Exim's input="..."). */
	if (!cmd && s->io.in_len == s->io.in_off)
		(void)io_peek(&s->io, &p, 0);
	if (s->io.in_len > s->io.in_off) {
		p = s->io.in + s->io.in_off;
		n = (ssize_t)(s->io.in_len - s->io.in_off);
		if (n > 40)
			n = 40;
		memcpy(next, p, (size_t)n);
	}
	next[n] = '\0';
	maillog("%s SMTP protocol synchronization error (%s): rejected %s%s%s "
	    "next input=\"%s\"", s->sid, cmd ? "next input sent too soon" :
	    "input sent without waiting for greeting", cmd ? "\"" : "",
	    cmd ? cmd : "connection", cmd ? "\"" : "", next);
	sess_reply(s, 554, "5.5.0", "SMTP synchronization error");
}

/* RFC 2920 3.1: these end a group; input already waiting after them is
 * a client that does not wait for replies. */
static int
must_be_last(enum smtpd_verb v)
{
	switch (v) {
	case SMTPD_EHLO: case SMTPD_HELO: case SMTPD_DATA: case SMTPD_VRFY:
	case SMTPD_EXPN: case SMTPD_NOOP: case SMTPD_STARTTLS:
		return 1;
	default:
		return 0;
	}
}

static int
out_of_sync(struct session *s, enum smtpd_verb v)
{
	int pipelining = s->esmtp && !s->c->no_pipelining;

	/* As Exim's check_sync: none for a local session on a pipe. */
	if (!s->peer.remote_ip[0])
		return 0;
	if (v == SMTPD_QUIT || (pipelining && !must_be_last(v)))
		return 0;
	return io_input_pending(&s->io);
}

static void
cmd_ehlo(struct session *s, const struct smtpd_cmd *cmd, int ehlo)
{
	const char *why;
	struct hook_env extra;
	struct hook_decision d;
	char helo[sizeof(s->helo)];

	enum smtpd_helo kind = smtpd_helo_check(cmd->arg, cmd->arglen, &why);

	if (kind == SMTPD_HELO_INVALID || cmd->arglen >= sizeof(helo)) {
		sess_replyf(s, 501, "5.5.4", "Syntactically invalid %s "
		    "argument(s)", ehlo ? "EHLO" : "HELO");
		s->errors++;
		return;
	}
	memcpy(helo, cmd->arg, cmd->arglen);
	helo[cmd->arglen] = '\0';
	if (kind == SMTPD_HELO_IDN) {
		/* The log, the Received: field and the hooks get the A-label
		 * form: the message may not be SMTPUTF8. */
		char *a = idn_to_alabels(helo, &why);

		if (!a || strlen(a) >= sizeof(helo)) {
			free(a);
			sess_replyf(s, 501, "5.5.4", "Syntactically invalid %s "
			    "argument(s)", ehlo ? "EHLO" : "HELO");
			s->errors++;
			return;
		}
		snprintf(helo, sizeof(helo), "%s", a);
		free(a);
	}
	sess_reset(s);
	hook_env_init(&extra);
	hook_env_set(&extra, "sender_helo_name", helo);
	hook_env_set(&extra, "smtp_command", ehlo ? "EHLO" : "HELO");
	sess_run_hook(s, HOOK_STAGE_HELO, &extra, NULL, &d);
	hook_env_free(&extra);
	if (d.verdict != HOOK_ACCEPT) {
		maillog("%s %s rejected %s %s", s->sid, sess_host(s),
		    ehlo ? "EHLO" : "HELO", helo);
		sess_reply_decision(s, &d, 250, NULL, "");
		hook_decision_free(&d);
		return;
	}
	hook_decision_free(&d);
	memcpy(s->helo, helo, strlen(helo) + 1);
	hook_env_set(&s->env, "sender_helo_name", s->helo);
	s->esmtp = ehlo;
	struct out_buf t = { 0 };
	out_buf_printf(&t, "%s Hello %s", s->c->hostname, s->helo);
	if (s->peer.remote_ip[0])
		out_buf_printf(&t, " [%s]", s->peer.remote_ip);
	if (!ehlo) {
		out_buf_add(&t, "", 1);
		sess_reply(s, 250, NULL, t.oom ? s->c->hostname : t.p);
		out_buf_free(&t);
		s->ext = 0;
		return;
	}
	s->ext = 0;
	if (s->c->max_size) {
		out_buf_printf(&t, "\nSIZE %llu", s->c->max_size);
		s->ext |= SMTPD_X_SIZE;
	} else {
		out_buf_str(&t, "\nSIZE");
		s->ext |= SMTPD_X_SIZE;
	}
	if (!s->c->no_8bitmime) {
		out_buf_str(&t, "\n8BITMIME");
		s->ext |= SMTPD_X_8BITMIME;
	}
	if (!s->c->no_pipelining)
		out_buf_str(&t, "\nPIPELINING");
	if (!s->c->no_chunking)
		out_buf_str(&t, "\nCHUNKING");
	if (!s->c->no_prdr) {
		out_buf_str(&t, "\nPRDR");
		s->ext |= SMTPD_X_PRDR;
	}
	if (!s->c->no_smtputf8) {
		out_buf_str(&t, "\nSMTPUTF8");
		s->ext |= SMTPD_X_SMTPUTF8;
	}
	if (s->c->tls && !s->tls)
		out_buf_str(&t, "\nSTARTTLS");
	out_buf_str(&t, "\nENHANCEDSTATUSCODES\nHELP");
	out_buf_add(&t, "", 1);
	sess_reply(s, 250, NULL, t.oom ? s->c->hostname : t.p);
	out_buf_free(&t);
}

static void
opts_of(const struct session *s, struct smtpd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ext = s->esmtp ? s->ext : 0;
	o->size_max = s->c->max_size;
}

static void
cmd_mail(struct session *s, const struct smtpd_cmd *cmd)
{
	struct smtpd_opts o;
	struct smtpd_reply r;
	struct hook_env extra;
	struct hook_decision d;

	if (!s->helo[0]) {
		sess_reply(s, 503, "5.5.1", "HELO or EHLO required");
		s->errors++;
		return;
	}
	if (s->in_mail) {
		sess_reply(s, 503, "5.5.1", "sender already given");
		s->errors++;
		return;
	}
	if (s->c->require_tls && !s->tls) {
		sess_reply(s, 530, "5.7.0", "Must issue a STARTTLS command "
		    "first");
		return;
	}
	opts_of(s, &o);
	if (smtpd_mail_parse(cmd->arg, cmd->arglen, &o, &s->mail, &r) < 0) {
		smtpd_reply_add_r(&s->io.out, &r);
		maillog("%s %s rejected MAIL: %s", s->sid, sess_host(s),
		    r.text);
		s->errors++;
		return;
	}
	sess_env_sender(s, &extra);
	if (s->mail.has_size)
		hook_env_set_num(&extra, "message_size", (long long)
		    (s->mail.size > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX :
		    s->mail.size));
	sess_run_hook(s, HOOK_STAGE_MAIL, &extra, NULL, &d);
	hook_env_free(&extra);
	if (d.verdict == HOOK_REJECT || d.verdict == HOOK_DEFER) {
		maillog("%s %s F=<%s> %srejected MAIL", s->sid, sess_host(s),
		    s->mail.path.addr,
		    d.verdict == HOOK_DEFER ? "temporarily " : "");
		sess_reply_decision(s, &d, 250, NULL, "");
		smtpd_mail_free(&s->mail);
	} else {
		s->in_mail = 1;
		s->mail_discard = d.verdict == HOOK_DISCARD;
		if (d.out.headers)
			out_buf_add(&s->added, d.out.headers,
			    d.out.headers_len);
		sess_reply_decision(s, &d, 250, "2.1.0", s->mail.prdr ?
		    "OK, PRDR Requested" : "OK");
	}
	hook_decision_free(&d);
}

static int
rcpt_push(struct session *s, struct smtpd_path *p, int discard)
{
	if (s->nrcpt == s->rcpt_cap) {
		size_t cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		struct rcpt *n = realloc(s->rcpt, cap * sizeof(*n));

		if (!n)
			return -1;
		s->rcpt = n;
		s->rcpt_cap = cap;
	}
	s->rcpt[s->nrcpt].path = *p;
	s->rcpt[s->nrcpt].discard = discard;
	s->nrcpt++;
	return 0;
}

static void
rcpt_env(struct session *s, const struct smtpd_path *p, struct hook_env *e)
{
	sess_env_sender(s, e);
	sess_env_rcpt(e, p);
	hook_env_set_num(e, "recipients_count", (long long)s->nrcpt);
}

static void
cmd_rcpt(struct session *s, const struct smtpd_cmd *cmd)
{
	struct smtpd_opts o;
	struct smtpd_reply r;
	struct smtpd_path p;
	struct hook_env extra;
	struct hook_decision d;

	if (!s->in_mail) {
		sess_reply(s, 503, "5.5.1", "sender not yet given");
		s->errors++;
		return;
	}
	if (s->nrcpt >= s->c->max_rcpts) {
		sess_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	opts_of(s, &o);
	if (smtpd_rcpt_parse(cmd->arg, cmd->arglen, &o, s->mail.smtputf8, &p,
	    &r) < 0) {
		smtpd_reply_add_r(&s->io.out, &r);
		maillog("%s %s F=<%s> rejected RCPT: %s", s->sid,
		    sess_host(s), s->mail.path.addr, r.text);
		s->rcpt_refused++;
		s->errors++;
		return;
	}
	if (s->c->deliver) {
		struct deliver_rcpt dr = { p.addr_alabel, p.local_unquoted,
		    p.domain_alabel };
		struct deliver_result res;

		if (deliver_check_rcpt(s->c->deliver, &dr, &res) < 0) {
			sess_reply(s, res.code, res.esc, res.text);
			maillog("%s %s F=<%s> rejected RCPT <%s>: %s", s->sid,
			    sess_host(s), s->mail.path.addr, p.addr, res.log);
			smtpd_path_free(&p);
			s->rcpt_refused++;
			return;
		}
	}
	rcpt_env(s, &p, &extra);
	sess_run_hook(s, HOOK_STAGE_RCPT, &extra, NULL, &d);
	hook_env_free(&extra);
	if (d.verdict == HOOK_REJECT || d.verdict == HOOK_DEFER) {
		maillog("%s %s F=<%s> %srejected RCPT <%s>", s->sid,
		    sess_host(s), s->mail.path.addr,
		    d.verdict == HOOK_DEFER ? "temporarily " : "", p.addr);
		sess_reply_decision(s, &d, 250, NULL, "");
		smtpd_path_free(&p);
		s->rcpt_refused++;
	} else if (rcpt_push(s, &p, d.verdict == HOOK_DISCARD) < 0) {
		sess_reply(s, 452, "4.3.0", "Out of memory");
		smtpd_path_free(&p);
	} else {
		if (d.out.headers)
			out_buf_add(&s->added, d.out.headers,
			    d.out.headers_len);
		sess_reply_decision(s, &d, 250, "2.1.5", "Accepted");
	}
	hook_decision_free(&d);
}

static int
cmd_quit(struct session *s)
{
	struct hook_decision d;

	sess_run_hook(s, HOOK_STAGE_QUIT, NULL, NULL, &d);
	if (d.verdict == HOOK_ACCEPT && d.out.code)
		sess_reply_decision(s, &d, 221, "2.0.0", "");
	else
		sess_replyf(s, 221, "2.0.0", "%s closing connection",
		    s->c->hostname);
	hook_decision_free(&d);
	s->quit = 1;
	return 1;
}

/* lib/tlsd as the session's transport. */
static ssize_t
tls_read(void *ctx, void *buf, size_t n, int timeout_ms)
{
	ssize_t r = tlsd_read(ctx, buf, n, (unsigned)timeout_ms);

	return r == -2 ? IO_TIMEOUT : r < 0 ? IO_ERR : r;
}

static int
tls_write_all(void *ctx, const void *buf, size_t n, int timeout_ms)
{
	return tlsd_write_all(ctx, buf, n, (unsigned)timeout_ms) == 0 ? 0 : -1;
}

static size_t
tls_pending(void *ctx)
{
	return tlsd_pending(ctx);
}

/* Exim's tls:cert: once per certificate the client sent, from the top
 * of its chain down, event_data the depth; a non-zero status refuses the
 * client (1: close). */
static int
tls_cert_events(struct session *s)
{
	char dn[TLS_DN_MAX], depth[24];
	size_t n = tlsd_peer_chain(s->tls, 0, dn, sizeof(dn));

	for (size_t i = n; i-- > 0;) {
		tlsd_peer_chain(s->tls, i, dn, sizeof(dn));
		hook_env_set(&s->env, "tls_in_peercert_subject", dn);
		snprintf(depth, sizeof(depth), "%zu", i);
		if (sess_event_gate(s, "tls:cert", depth) != 0) {
			maillog("%s %s TLS client certificate at depth %zu "
			    "(%s) refused by the tls:cert event", s->sid,
			    sess_host(s), i, dn);
			return 1;
		}
	}
	return 0;
}

/* 0: go on; 1: the connection is to be closed. */
static int
cmd_starttls(struct session *s)
{
	struct io_transport t;
	char err[256];
	size_t junk;
	int r;

	if (!s->c->tls) {
		sess_reply(s, 502, "5.5.1", "STARTTLS not available");
		s->errors++;
		return 0;
	}
	if (s->tls) {
		sess_reply(s, 554, "5.5.1", "Already in TLS");
		s->errors++;
		return 0;
	}
	sess_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (io_flush(&s->io) < 0)
		return 1;
	/* RFC 3207 5: nothing said before the handshake counts after it. */
	junk = io_discard_input(&s->io);
	if (junk)
		maillog("%s %s %zu octets of plaintext after STARTTLS "
		    "discarded", s->sid, sess_host(s), junk);
	r = tlsd_handshake(s->c->tls, s->io.rfd, s->io.wfd,
	    s->c->tls_timeout_ms, &s->tls, err, sizeof(err));
	if (r < 0) {
		maillog("%s TLS error on connection from %s: %s", s->sid,
		    sess_host(s), err);
		s->tls = NULL;
		return 1;
	}
	s->tlsinfo = tlsd_info(s->tls);
	if (s->tlsinfo->note[0])
		maillog("%s %s TLS: %s", s->sid, sess_host(s),
		    s->tlsinfo->note);
	if (s->tlsinfo->ocsp_requested && s->tlsinfo->ocsp == TLS_OCSP_NOTRESP)
		maillog("%s %s OCSP: nothing stapled: %s", s->sid,
		    sess_host(s), s->tlsinfo->ocsp_note);
	t.read = tls_read;
	t.write_all = tls_write_all;
	t.pending = tls_pending;
	t.ctx = s->tls;
	io_set_tls(&s->io, &t);
	sess_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	env_tls(s);
	return tls_cert_events(s);
}

static void
cmd_help(struct session *s)
{
	sess_replyf(s, 214, "2.0.0", "Commands supported:\n"
	    "HELO EHLO MAIL RCPT DATA%s NOOP QUIT RSET HELP VRFY%s",
	    s->c->no_chunking ? "" : " BDAT", s->c->tls ? " STARTTLS" : "");
}

/* One command line.  0: go on; 1: close the connection. */
static int
dispatch(struct session *s, const char *line, size_t len)
{
	struct smtpd_cmd cmd;
	int parsed = smtpd_cmd_parse(line, len, s->c->max_line, &cmd);

	if (s->proxy_failed && cmd.verb != SMTPD_QUIT) {
		sess_reply(s, 503, NULL, "Command refused, required Proxy "
		    "negotiation failed");
		s->errors++;
		return 0;
	}
	if (parsed == 0 && out_of_sync(s, cmd.verb)) {
		sync_error(s, smtpd_verb_name(cmd.verb));
		return 1;
	}
	if (s->bdat && cmd.verb != SMTPD_BDAT && cmd.verb != SMTPD_QUIT &&
	    cmd.verb != SMTPD_RSET && cmd.verb != SMTPD_NOOP) {
		/* RFC 3030 2: only BDAT (or RSET, QUIT) may follow BDAT. */
		sess_reply(s, 503, "5.5.1", "BDAT sequence interrupted");
		msg_abort(s);
		sess_reset(s);
		s->errors++;
		return 0;
	}
	if (parsed < 0) {
		smtpd_reply_add_r(&s->io.out, &cmd.reply);
		if (cmd.verb == SMTPD_UNKNOWN)
			maillog("%s %s unrecognized command: %.40s", s->sid,
			    sess_host(s), line);
		s->errors++;
		return 0;
	}
	switch (cmd.verb) {
	case SMTPD_HELO: cmd_ehlo(s, &cmd, 0); break;
	case SMTPD_EHLO: cmd_ehlo(s, &cmd, 1); break;
	case SMTPD_MAIL: cmd_mail(s, &cmd); break;
	case SMTPD_RCPT: cmd_rcpt(s, &cmd); break;
	case SMTPD_DATA: msg_data(s); return s->closing;
	case SMTPD_BDAT:
		/* CHUNKING is offered only in an EHLO reply. */
		if (s->c->no_chunking || !s->esmtp) {
			sess_reply(s, 500, "5.5.1", "Command unrecognized");
			s->errors++;
		} else
			msg_bdat(s, cmd.bdat_size, cmd.bdat_last);
		return s->closing;
	case SMTPD_RSET:
		sess_reset(s);
		sess_reply(s, 250, "2.0.0", "Reset OK");
		break;
	case SMTPD_NOOP: sess_reply(s, 250, "2.0.0", "OK"); break;
	case SMTPD_QUIT: return cmd_quit(s);
	case SMTPD_HELP: cmd_help(s); break;
	case SMTPD_VRFY:
		sess_reply(s, 252, "2.5.2", "Cannot VRFY user, but will "
		    "accept message and attempt delivery");
		break;
	case SMTPD_EXPN:
		sess_reply(s, 502, "5.5.1", "EXPN not available");
		break;
	case SMTPD_STARTTLS: return cmd_starttls(s);
	case SMTPD_AUTH:
		sess_reply(s, 503, "5.5.1", "AUTH command used when not "
		    "advertised");
		s->errors++;
		break;
	default:
		sess_reply(s, 500, "5.5.1", "Command unrecognized");
		s->errors++;
		break;
	}
	return 0;
}

void
sess_base62(char *out, unsigned long long v, int n)
{
	static const char b62[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	for (int i = n - 1; i >= 0; i--, v /= 62)
		out[i] = b62[v % 62];
	out[n] = '\0';
}

static void
make_sid(struct session *s)
{
	sess_base62(s->sid, (unsigned long long)time(NULL) * 1000000ULL +
	    (unsigned long long)(clock_ms() % 1000) * 1000 +
	    (unsigned long long)getpid(), 8);
}

/* Wait for the banner (and see whether the client talks first). */
static int
early_talker(struct session *s)
{
	if (s->c->banner_delay_ms)
		return io_wait_input(&s->io, (int)s->c->banner_delay_ms);
	return io_input_pending(&s->io);
}

static int
greet(struct session *s)
{
	struct hook_decision d;

	if (sess_event_gate(s, "tcp:connect", "") != 0) {
		maillog("%s %s connection closed by the tcp:connect event",
		    s->sid, sess_host(s));
		return 1;
	}
	/* As Exim: no synchronization check for a local session on a pipe
	 * (exim -bs), whose input is often a prepared script. */
	if (!s->proxy_failed && s->peer.remote_ip[0] && early_talker(s)) {
		sync_error(s, NULL);
		return 1;
	}
	sess_run_hook(s, HOOK_STAGE_CONNECT, NULL, NULL, &d);
	if (d.verdict == HOOK_REJECT || d.verdict == HOOK_DEFER) {
		maillog("%s %s rejected connection in \"connect\" hook",
		    s->sid, sess_host(s));
		if (d.out.code)
			hook_reply_format(&d.out, &s->io.out);
		else if (d.verdict == HOOK_REJECT)
			sess_reply(s, 554, "5.7.1", "Administrative "
			    "prohibition");
		else
			sess_replyf(s, 421, "4.3.0", "%s Temporary local "
			    "problem - please try later", s->c->hostname);
		hook_decision_free(&d);
		return 1;
	}
	size_t banner_at = s->io.out.len;
	if (d.out.code)
		hook_reply_format(&d.out, &s->io.out);
	else
		sess_replyf(s, 220, NULL, "%s %s", s->c->hostname,
		    s->c->banner ? s->c->banner : "ESMTP mxkit smtpfront");
	hook_decision_free(&d);
	/* Exim's smtp:connect event_data: the banner. */
	char banner[1024] = "";
	size_t bl = s->io.out.len - banner_at;
	if (!s->io.out.oom && bl > 2 && bl < sizeof(banner)) {
		memcpy(banner, s->io.out.p + banner_at, bl - 2);
		banner[bl - 2] = '\0';
	}
	/* What is left of a broken PROXY header is input, perhaps not a
	 * whole line: the command loop would read before it flushed, and
	 * the client waits for the banner.  It goes out now. */
	if (s->proxy_failed && io_flush(&s->io) < 0)
		return 1;
	if (sess_event_gate(s, "smtp:connect", banner) != 0) {
		io_flush(&s->io);
		maillog("%s %s connection closed by the smtp:connect event",
		    s->sid, sess_host(s));
		return 1;
	}
	return 0;
}

static int
time_left(const struct session *s, unsigned want)
{
	long long left;

	if (!s->c->session_timeout_ms)
		return (int)want;
	left = s->started_ms + s->c->session_timeout_ms - clock_ms();
	if (left <= 0)
		return 0;
	return left < want ? (int)left : (int)want;
}

/* Read and run commands until the connection is to end; 0 after QUIT. */
static int
command_loop(struct session *s)
{
	char line[SMTPD_HARD_MAX + 1];

	for (;;) {
		if (s->errors > s->c->max_errors) {
			sess_replyf(s, 421, "4.7.0", "%s Too many syntax or "
			    "protocol errors", s->c->hostname);
			maillog("%s %s too many syntax or protocol errors",
			    s->sid, sess_host(s));
			return 1;
		}
		if (stop_requested) {
			sess_replyf(s, 421, "4.3.2", "%s Service shutting "
			    "down", s->c->hostname);
			return 1;
		}
		/* Replies to a pipelined group go out together, before we
		 * wait for the next command. */
		if ((!io_line_ready(&s->io) || s->io.out.len > 65536) &&
		    io_flush(&s->io) < 0)
			return 1;
		int ms = time_left(s, s->c->cmd_timeout_ms);
		if (ms == 0) {
			sess_replyf(s, 421, "4.4.2", "%s session time limit "
			    "exceeded - closing connection", s->c->hostname);
			return 1;
		}
		ssize_t n = io_getline(&s->io, line, s->c->max_line, ms);
		if (n == IO_TOOLONG) {
			sess_reply(s, 500, "5.5.2", "Line too long");
			s->errors++;
			continue;
		}
		if (n == IO_TIMEOUT) {
			sess_replyf(s, 421, "4.4.2", "%s SMTP command timeout "
			    "- closing connection", s->c->hostname);
			maillog("%s SMTP command timeout on connection from %s",
			    s->sid, sess_host(s));
			return 1;
		}
		if (n < 0 && stop_requested)
			continue;
		if (n < 0 || (n == 0 && s->io.error)) {
			if (n < 0 && strcmp(s->io.error, "line far too long")
			    == 0)
				sess_reply(s, 500, "5.5.2", "Line too long");
			maillog("%s unexpected disconnection while reading "
			    "SMTP command from %s: %s", s->sid, sess_host(s),
			    s->io.error ? s->io.error : "");
			return 1;
		}
		if (dispatch(s, line, (size_t)n))
			return s->quit ? 0 : 1;
	}
}

static void
session_end(struct session *s)
{
	sess_reset(s);
	if (s->tls) {
		io_flush(&s->io);
		tlsd_shutdown(s->tls, 1000);
		tlsd_conn_free(s->tls);
		s->tls = NULL;
	} else
		io_flush(&s->io);
	sess_event(s, "tcp:close", "");
	free(s->rcpt);
	out_buf_free(&s->added);
	hook_env_free(&s->env);
	io_free(&s->io);
}

int
smtpd_session(const struct smtpd_config *c, int rfd, int wfd,
    const struct smtpd_peer *peer)
{
	struct session s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.started_ms = clock_ms();
	s.tcp = *peer;
	s.peer = *peer;
	io_init(&s.io, rfd, wfd, c->cmd_timeout_ms);
	s.io.stop = &stop_requested;
	hook_env_init(&s.env);
	make_sid(&s);
	if (c->proxy_hosts.n && cidr_match(&c->proxy_hosts, peer->remote_ip))
		read_proxy(&s);
	env_session(&s);
	maillog("%s SMTP connection from %s", s.sid, sess_host(&s));
	rc = greet(&s);
	if (rc == 0)
		rc = command_loop(&s);
	session_end(&s);
	maillog("%s SMTP connection from %s closed%s", s.sid, sess_host(&s),
	    rc ? " by the server" : " by QUIT");
	return rc;
}
