/* smtpd_msg: the message of a transaction: DATA and BDAT into a spool
 * file (Received: first, LF line ends), the limits, PRDR, the data hook,
 * the header fields hooks add, delivery, and the one reply that says
 * whether the message is now ours.
 *
 * The order, as Exim's: the PRDR hook for each recipient (when the client
 * asked for PRDR and there are several), then the data hook, then
 * delivery; only then the replies.  A 250 always means stored. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "deliver.h"
#include "maillog.h"
#include "smtpd_data.h"
#include "smtpd_int.h"
#include "tlsd.h"

#define SPOOL_BUF	65536

struct spool {
	int	fd;
	char	path[4096];
	struct smtpd_data d;
	int	werr;			/* a write failed: errno */
	size_t	hdr_len;		/* octets of our Received: */
	char	buf[SPOOL_BUF];
	size_t	buflen;
};

static void
spool_flush(struct spool *sp)
{
	if (!sp->werr && sp->buflen &&
	    write_all(sp->fd, sp->buf, sp->buflen) < 0)
		sp->werr = errno;
	sp->buflen = 0;
}

static void
spool_put(struct spool *sp, const void *p, size_t n)
{
	if (sp->werr)
		return;
	if (sp->buflen + n > sizeof(sp->buf))
		spool_flush(sp);
	if (n > sizeof(sp->buf)) {
		if (!sp->werr && write_all(sp->fd, p, n) < 0)
			sp->werr = errno;
		return;
	}
	memcpy(sp->buf + sp->buflen, p, n);
	sp->buflen += n;
}

static void
spool_close(struct spool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->path[0])
		unlink(sp->path);
	free(sp);
}

void
msg_abort(struct session *s)
{
	spool_close(s->spool);
	s->spool = NULL;
	s->bdat = 0;
	s->bdat_failed = 0;
}

static void
make_id(struct session *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* Exim's shape: time, pid, sub-second and sequence; base 62. */
	sess_base62(s->id, (unsigned long long)ts.tv_sec, 6);
	s->id[6] = '-';
	sess_base62(s->id + 7, (unsigned long long)getpid(), 6);
	s->id[13] = '-';
	sess_base62(s->id + 14, (unsigned long long)(ts.tv_nsec / 1000) * 64 +
	    (s->nmsg & 63), 4);
}

/* RFC 5322 date-time in UTC. */
static void
rfc5322_date(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* RFC 5321 4.4; "for" only with one recipient (4.4: it may disclose the
 * others' addresses). */
static void
received_header(struct session *s, struct out_buf *b)
{
	char date[64];
	size_t real = 0;
	const char *one = NULL;

	for (size_t i = 0; i < s->nrcpt; i++)
		if (!s->rcpt[i].discard) {
			real++;
			one = s->rcpt[i].path.addr;
		}
	rfc5322_date(date, sizeof(date));
	if (s->peer.remote_ip[0])
		out_buf_printf(b, "Received: from %s ([%s]:%u)",
		    s->helo[0] ? s->helo : "unknown", s->peer.remote_ip,
		    s->peer.remote_port);
	else
		out_buf_printf(b, "Received: from %s (local)",
		    s->helo[0] ? s->helo : "unknown");
	if (s->proxied && !s->proxy_failed && !s->proxy_local_cmd)
		out_buf_printf(b, "\n\t(PRX=[%s]:%u)", s->tcp.remote_ip,
		    s->tcp.remote_port);
	out_buf_printf(b, "\n\tby %s (mxkit smtpfront) with %s",
	    s->c->hostname, sess_proto(s));
	if (s->tls)
		out_buf_printf(b, "\n\t%s", s->tlsinfo->received);
	out_buf_printf(b, "\n\t(envelope-from <%s>)\n\tid %s", s->mail.path.addr,
	    s->id);
	if (real == 1)
		out_buf_printf(b, "\n\tfor <%s>", one);
	out_buf_printf(b, ";\n\t%s\n", date);
}

static struct spool *
spool_open(struct session *s)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	struct out_buf h = { 0 };

	if (!sp)
		return NULL;
	snprintf(sp->path, sizeof(sp->path), "%s/smtpfront.XXXXXX",
	    s->c->spool_dir);
	sp->fd = mkstemp(sp->path);
	if (sp->fd < 0) {
		maillog("%s spool file in %s: %s", s->id, s->c->spool_dir,
		    strerror(errno));
		sp->path[0] = '\0';
		spool_close(sp);
		return NULL;
	}
	/* The hooks read it; one that writes to it by mistake would change
	 * what is delivered. */
	fchmod(sp->fd, 0400);
	received_header(s, &h);
	if (h.oom) {
		out_buf_free(&h);
		spool_close(sp);
		return NULL;
	}
	spool_put(sp, h.p, h.len);
	sp->hdr_len = h.len;
	out_buf_free(&h);
	return sp;
}

/* ---- the limits, after the text ---- */

/* 0: the text is acceptable; else the reply was queued. */
static int
text_refused(struct session *s, const struct smtpd_data *d)
{
	const char *why = NULL;

	if (s->c->max_size && smtpd_data_size_crlf(d) > s->c->max_size) {
		sess_reply(s, 552, "5.3.4", "Message size exceeds fixed "
		    "maximum message size");
		why = "message too big";
	} else if (d->nul) {
		sess_reply(s, 554, "5.6.0", "Message contains NUL characters");
		why = "NUL in message";
	} else if (s->c->bare_lf_reject && d->bare_lf) {
		sess_reply(s, 554, "5.5.2", "Message contains bare LF "
		    "characters (RFC 5321 2.3.8)");
		why = "bare LF in message";
	} else if (s->c->max_text_line &&
	    d->line_max + 2 > s->c->max_text_line) {
		sess_replyf(s, 554, "5.6.0", "Message line longer than %u "
		    "octets (RFC 5321 4.5.3.1.6)", s->c->max_text_line - 2);
		why = "line too long";
	}
	if (why)
		maillog("%s %s F=<%s> rejected after DATA: %s", s->id,
		    sess_host(s), s->mail.path.addr, why);
	return why != NULL;
}

/* ---- reading the text ---- */

/* Feed what the client sends into sp until the data is done.  0, or -1
 * when the connection failed (the reply and the log are written). */
static int
read_text(struct session *s, struct spool *sp, int bdat)
{
	unsigned char out[IO_BUF_SIZE + SMTPD_DATA_SLACK];
	volatile int *stop = s->io.stop;
	int rc = 0;

	/* A stop request (SIGTERM) waits for the end of the message. */
	s->io.stop = NULL;
	while (!sp->d.done && !(bdat && sp->d.chunk_left == 0 && !sp->d.last)) {
		const unsigned char *p;
		size_t outlen = 0, used;
		ssize_t n;

		if (bdat && sp->d.chunk_left == 0)
			n = 0, p = NULL;
		else {
			n = io_peek(&s->io, &p, (int)s->c->data_timeout_ms);
			if (n <= 0) {
				if (n == IO_TIMEOUT)
					sess_replyf(s, 421, "4.4.2", "%s SMTP "
					    "incoming data timeout - closing "
					    "connection", s->c->hostname);
				maillog("%s SMTP data %s (message abandoned) "
				    "on connection from %s F=<%s>", s->id,
				    n == IO_TIMEOUT ? "timeout" :
				    "connection lost", sess_host(s),
				    s->mail.path.addr);
				s->closing = 1;
				rc = -1;
				break;
			}
		}
		used = smtpd_data_feed(&sp->d, p, (size_t)n, out, sizeof(out),
		    &outlen);
		io_consume(&s->io, used);
		/* Past the limit the text is counted, not stored. */
		if (!s->c->max_size || sp->d.size <= s->c->max_size)
			spool_put(sp, out, outlen);
	}
	s->io.stop = stop;
	return rc;
}

/* ---- the verdict ---- */

static void
msg_env(struct session *s, struct hook_env *e, const struct spool *sp)
{
	struct out_buf list = { 0 };

	sess_env_sender(s, e);
	hook_env_set(e, "message_id", s->id);
	hook_env_set(e, "MESSAGE_FILE", sp->path);
	hook_env_set_num(e, "message_size", (long long)sp->d.size +
	    (long long)sp->hdr_len);
	for (size_t i = 0, k = 0; i < s->nrcpt; i++) {
		if (s->rcpt[i].discard)
			continue;
		out_buf_printf(&list, "%s%s", k++ ? ", " : "",
		    s->rcpt[i].path.addr);
	}
	out_buf_add(&list, "", 1);
	hook_env_set(e, "recipients", list.oom ? "" : list.p);
	size_t kept = 0;
	for (size_t i = 0; i < s->nrcpt; i++)
		kept += !s->rcpt[i].discard;
	hook_env_set_num(e, "recipients_count", (long long)kept);
	out_buf_free(&list);
}

/* The Message-ID header field's value, for the log's id=. */
static void
header_message_id(const struct spool *sp, char *buf, size_t size)
{
	char head[16384];
	ssize_t n = pread(sp->fd, head, sizeof(head) - 1, (off_t)sp->hdr_len);
	char *p = head;

	buf[0] = '\0';
	if (n <= 0)
		return;
	head[n] = '\0';
	while (*p && *p != '\n') {
		char *eol = strchr(p, '\n');

		if (strncasecmp(p, "Message-ID:", 11) == 0) {
			p += 11;
			while (*p == ' ' || *p == '\t')
				p++;
			size_t len = eol ? (size_t)(eol - p) : strlen(p);
			if (len >= size)
				len = size - 1;
			memcpy(buf, p, len);
			buf[len] = '\0';
			return;
		}
		if (!eol)
			return;
		p = eol + 1;
	}
}

/* The file to deliver: the spool itself, or, when hooks added header
 * fields, a copy with them after our Received:.  -1 on failure. */
static int
final_file(struct session *s, struct spool *sp, char *path, size_t size)
{
	struct stat st;
	int fd, e;

	if (s->added.len == 0)
		return dup(sp->fd);
	snprintf(path, size, "%s/smtpfront.XXXXXX", s->c->spool_dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	/* Received:, the hooks' fields, then the message. */
	if (fstat(sp->fd, &st) < 0 ||
	    copy_range(sp->fd, 0, (off_t)sp->hdr_len, fd) < 0 ||
	    write_all(fd, s->added.p, s->added.len) < 0 ||
	    copy_range(sp->fd, (off_t)sp->hdr_len,
	    st.st_size - (off_t)sp->hdr_len, fd) < 0) {
		e = errno;	/* for the caller's 451 and log */
		close(fd);
		unlink(path);
		path[0] = '\0';
		errno = e;
		return -1;
	}
	return fd;
}

struct prdr {
	int	code;		/* 0: not asked; else this recipient's reply */
	char	line[600];	/* its reply line(s), CRLF included */
};

static void
prdr_decide(struct session *s, struct spool *sp, struct prdr *pr)
{
	struct hook_env e;
	struct hook_decision d;

	for (size_t i = 0; i < s->nrcpt; i++) {
		const char *addr = s->rcpt[i].path.addr;
		struct out_buf b = { 0 };

		msg_env(s, &e, sp);
		sess_env_rcpt(&e, &s->rcpt[i].path);
		sess_run_hook(s, HOOK_STAGE_PRDR, &e, sp->path, &d);
		hook_env_free(&e);
		if (d.out.code)
			hook_reply_format(&d.out, &b);
		if (d.verdict == HOOK_REJECT)
			pr[i].code = 550;
		else if (d.verdict == HOOK_DEFER)
			pr[i].code = 450;
		else {
			pr[i].code = 250;
			if (d.verdict == HOOK_DISCARD)
				s->rcpt[i].discard = 1;
		}
		if (b.len && !b.oom && b.len < sizeof(pr[i].line)) {
			memcpy(pr[i].line, b.p, b.len);
			pr[i].line[b.len] = '\0';
		} else
			snprintf(pr[i].line, sizeof(pr[i].line),
			    "%d PRDR R=<%s> %s\r\n", pr[i].code, addr,
			    pr[i].code == 250 ? "acceptance" :
			    pr[i].code == 450 ? "temporary refusal" :
			    "refusal");
		out_buf_free(&b);
		hook_decision_free(&d);
	}
}

static void
log_delivery(struct session *s, const struct smtpd_path *p,
    const struct deliver_result *r)
{
	if (r->status == DELIVER_OK) {
		maillog("%s => %s R=smtpfront T=deliver", s->id, p->addr);
		sess_event(s, "msg:delivery", p->addr);
	} else {
		maillog("%s %s %s: %s", s->id, r->status == DELIVER_TEMP ?
		    "==" : "**", p->addr, r->log);
		sess_event(s, "msg:fail:delivery", r->log);
	}
}

/* Store the message for the recipients that are to have it.  res[i] for
 * each recipient; returns the summary. */
static enum deliver_status
store(struct session *s, struct spool *sp, const int *want,
    struct deliver_result *res)
{
	struct deliver_rcpt *dr = calloc(s->nrcpt + 1, sizeof(*dr));
	struct deliver_result *dres = calloc(s->nrcpt + 1, sizeof(*dres));
	size_t *map = calloc(s->nrcpt + 1, sizeof(*map));
	char path[4096] = "";
	size_t n = 0;
	int fd = -1, err;
	enum deliver_status st = DELIVER_OK;

	for (size_t i = 0; i < s->nrcpt; i++) {
		res[i].status = DELIVER_OK;
		res[i].code = 250;
		snprintf(res[i].esc, sizeof(res[i].esc), "2.0.0");
		snprintf(res[i].text, sizeof(res[i].text), "OK");
		res[i].log[0] = '\0';
	}
	if (!dr || !dres || !map)
		goto temp;
	for (size_t i = 0; i < s->nrcpt; i++) {
		if (!want[i] || s->rcpt[i].discard)
			continue;
		dr[n].address = s->rcpt[i].path.addr_alabel;
		dr[n].local_part = s->rcpt[i].path.local_unquoted;
		dr[n].domain = s->rcpt[i].path.domain_alabel;
		map[n++] = i;
	}
	if (n == 0)
		goto done;
	if (sp->werr) {
		errno = sp->werr;
		goto temp;
	}
	fd = final_file(s, sp, path, sizeof(path));
	if (fd < 0)
		goto temp;
	struct deliver_msg m = {
		.fd = fd, .sender = s->mail.path.addr, .rcpt = dr,
		.nrcpt = n, .message_id = s->id,
		.flags = DELIVER_RETURN_PATH |
		    (s->c->deliver_per_rcpt ? DELIVER_PER_RCPT : 0)
	};
	st = deliver_run(s->c->deliver, &m, dres);
	for (size_t k = 0; k < n; k++)
		res[map[k]] = dres[k];
	goto done;
temp:
	err = errno;	/* maillog may change it */
	maillog("%s spool: %s", s->id, strerror(err));
	for (size_t i = 0; i < s->nrcpt; i++) {
		res[i].status = DELIVER_TEMP;
		res[i].code = 451;
		/* A full spool is reported as lib/deliver does a full disk. */
		snprintf(res[i].esc, sizeof(res[i].esc), "%s",
		    err == ENOSPC ? "4.3.1" : "4.3.0");
		snprintf(res[i].text, sizeof(res[i].text), "%s",
		    err == ENOSPC ? "Insufficient system storage, try again "
		    "later" : "Temporary local problem - please try later");
		snprintf(res[i].log, sizeof(res[i].log), "spool: %s",
		    strerror(err));
	}
	st = DELIVER_TEMP;
done:
	if (fd >= 0)
		close(fd);
	if (path[0])
		unlink(path);
	free(dr);
	free(dres);
	free(map);
	return st;
}

static void
log_arrival(struct session *s, struct spool *sp)
{
	char mid[256];

	header_message_id(sp, mid, sizeof(mid));
	maillog("%s <= %s %s P=%s%s%s S=%llu%s%s", s->id,
	    s->mail.path.null ? "<>" : s->mail.path.addr, sess_host(s),
	    sess_proto(s), s->tls ? " X=" : "", s->tls ? s->tlsinfo->cipher :
	    "", (unsigned long long)(sp->d.size + sp->hdr_len),
	    mid[0] ? " id=" : "", mid);
}

/* Without PRDR: one answer for all. */
static void
finish_plain(struct session *s, struct spool *sp)
{
	struct hook_env e;
	struct hook_decision d;
	struct deliver_result *res = calloc(s->nrcpt + 1, sizeof(*res));
	int *want = calloc(s->nrcpt + 1, sizeof(*want));
	struct deliver_result sum;

	if (!res || !want) {
		sess_reply(s, 451, "4.3.0", "Out of memory");
		goto out;
	}
	msg_env(s, &e, sp);
	sess_run_hook(s, HOOK_STAGE_DATA, &e, sp->path, &d);
	hook_env_free(&e);
	if (d.verdict == HOOK_REJECT || d.verdict == HOOK_DEFER) {
		maillog("%s %s F=<%s> %srejected after DATA", s->id,
		    sess_host(s), s->mail.path.addr,
		    d.verdict == HOOK_DEFER ? "temporarily " : "");
		sess_reply_decision(s, &d, 250, NULL, "");
		hook_decision_free(&d);
		goto out;
	}
	if (d.out.headers)
		out_buf_add(&s->added, d.out.headers, d.out.headers_len);
	log_arrival(s, sp);
	for (size_t i = 0; i < s->nrcpt; i++)
		want[i] = d.verdict != HOOK_DISCARD && !s->mail_discard;
	store(s, sp, want, res);
	for (size_t i = 0; i < s->nrcpt; i++)
		if (want[i] && !s->rcpt[i].discard)
			log_delivery(s, &s->rcpt[i].path, &res[i]);
	deliver_summary(res, s->nrcpt, &sum);
	if (sum.status == DELIVER_OK) {
		char ok[64];

		snprintf(ok, sizeof(ok), "OK id=%s", s->id);
		sess_reply_decision(s, &d, 250, "2.0.0", ok);
		maillog("%s %s", s->id, d.verdict == HOOK_DISCARD ||
		    s->mail_discard ? "discarded" : "Completed");
		sess_event(s, "msg:complete", s->id);
	} else
		sess_reply(s, sum.code, sum.esc, sum.text);
	hook_decision_free(&d);
out:
	free(res);
	free(want);
}

/* PRDR (draft-hall-prdr-00): 353, one reply per recipient, then the
 * reply for the message. */
static void
finish_prdr(struct session *s, struct spool *sp)
{
	struct prdr *pr = calloc(s->nrcpt, sizeof(*pr));
	struct deliver_result *res = calloc(s->nrcpt, sizeof(*res));
	int *want = calloc(s->nrcpt, sizeof(*want));
	struct hook_env e;
	struct hook_decision d;
	size_t ok = 0, temp = 0;

	if (!pr || !res || !want) {
		sess_reply(s, 451, "4.3.0", "Out of memory");
		goto out;
	}
	sess_reply(s, 353, NULL, "PRDR content analysis beginning");
	io_flush(&s->io);
	prdr_decide(s, sp, pr);
	msg_env(s, &e, sp);
	sess_run_hook(s, HOOK_STAGE_DATA, &e, sp->path, &d);
	hook_env_free(&e);
	if (d.out.headers)
		out_buf_add(&s->added, d.out.headers, d.out.headers_len);
	int whole_refused = d.verdict == HOOK_REJECT ||
	    d.verdict == HOOK_DEFER;
	for (size_t i = 0; i < s->nrcpt; i++)
		want[i] = pr[i].code == 250 && !whole_refused &&
		    d.verdict != HOOK_DISCARD && !s->mail_discard;
	if (!whole_refused)
		log_arrival(s, sp);
	store(s, sp, want, res);
	for (size_t i = 0; i < s->nrcpt; i++) {
		const char *addr = s->rcpt[i].path.addr;

		if (whole_refused)
			io_printf(&s->io, "%s PRDR R=<%s> %s\r\n",
			    d.verdict == HOOK_DEFER ? "450" : "550", addr,
			    d.verdict == HOOK_DEFER ? "temporary refusal" :
			    "refusal");
		else if (pr[i].code == 250 && res[i].status != DELIVER_OK) {
			log_delivery(s, &s->rcpt[i].path, &res[i]);
			io_printf(&s->io, "%d PRDR R=<%s> %s\r\n",
			    res[i].status == DELIVER_TEMP ? 450 : 550, addr,
			    res[i].status == DELIVER_TEMP ?
			    "temporary refusal" : "refusal");
			if (res[i].status == DELIVER_TEMP)
				temp++;
		} else {
			if (want[i] && !s->rcpt[i].discard)
				log_delivery(s, &s->rcpt[i].path, &res[i]);
			else if (pr[i].code != 250)
				maillog("%s %s F=<%s> PRDR %srejected <%s>",
				    s->id, sess_host(s), s->mail.path.addr,
				    pr[i].code == 450 ? "temporarily " : "",
				    addr);
			io_put(&s->io, pr[i].line, strlen(pr[i].line));
			if (pr[i].code == 250)
				ok++;
			else if (pr[i].code == 450)
				temp++;
		}
	}
	if (whole_refused) {
		maillog("%s %s F=<%s> %srejected after DATA", s->id,
		    sess_host(s), s->mail.path.addr,
		    d.verdict == HOOK_DEFER ? "temporarily " : "");
		sess_reply_decision(s, &d, 250, NULL, "");
	} else if (ok > 0 || temp > 0) {
		/* Exim's words.  A 250 with refusals in it is right: the
		 * per-recipient replies are what a PRDR client acts on, and a
		 * 4xx here would defer the refused ones too. */
		char text[96];

		snprintf(text, sizeof(text), "id=%s message accepted%s", s->id,
		    ok == s->nrcpt ? "" : " for some recipients");
		sess_reply_decision(s, &d, 250, "2.0.0", text);
		maillog("%s Completed", s->id);
		sess_event(s, "msg:complete", s->id);
	} else
		sess_replyf(s, 550, "5.7.1", "id=%s message rejected for all "
		    "recipients", s->id);
	hook_decision_free(&d);
out:
	free(pr);
	free(res);
	free(want);
}

static void
finish(struct session *s, struct spool *sp)
{
	spool_flush(sp);
	if (sp->werr) {
		/* Not ours yet: no "<=" line for it. */
		maillog("%s %s F=<%s> temporarily rejected after DATA: spool "
		    "%s: %s", s->id, sess_host(s), s->mail.path.addr,
		    s->c->spool_dir, strerror(sp->werr));
		if (sp->werr == ENOSPC)
			sess_reply(s, 451, "4.3.1", "Insufficient system "
			    "storage, try again later");
		else
			sess_reply(s, 451, "4.3.0", "Temporary local problem - "
			    "please try later");
	} else if (!text_refused(s, &sp->d)) {
		if (s->mail.prdr && s->nrcpt > 1)
			finish_prdr(s, sp);
		else
			finish_plain(s, sp);
	}
	s->nmsg++;
}

static int
transaction_ready(struct session *s, const char *verb)
{
	if (!s->in_mail) {
		sess_replyf(s, 503, "5.5.1", "valid RCPT command must precede "
		    "%s", verb);
		s->errors++;
		return 0;
	}
	if (s->nrcpt == 0) {
		sess_reply(s, 554, "5.5.1", "No valid recipients");
		return 0;
	}
	return 1;
}

void
msg_data(struct session *s)
{
	struct spool *sp;

	if (!transaction_ready(s, "DATA"))
		return;
	make_id(s);
	sp = spool_open(s);
	if (!sp) {
		sess_reply(s, 451, "4.3.0", "Temporary local problem - please "
		    "try later");
		return;
	}
	smtpd_data_init(&sp->d, SMTPD_DATA_DOT);
	sess_reply(s, 354, NULL, "Enter message, ending with \".\" on a line "
	    "by itself");
	if (io_flush(&s->io) < 0 || read_text(s, sp, 0) < 0) {
		spool_close(sp);
		s->closing = 1;
		return;
	}
	finish(s, sp);
	spool_close(sp);
	sess_reset(s);
}

/* Read and drop a chunk we refuse (RFC 3030 2: the octets still come). */
static int
skip_chunk(struct session *s, uint64_t size)
{
	while (size > 0) {
		const unsigned char *p;
		ssize_t n = io_peek(&s->io, &p, (int)s->c->data_timeout_ms);

		if (n <= 0) {
			s->closing = 1;
			return -1;
		}
		size_t take = (uint64_t)n < size ? (size_t)n : (size_t)size;
		io_consume(&s->io, take);
		size -= take;
	}
	return 0;
}

void
msg_bdat(struct session *s, uint64_t size, int last)
{
	struct spool *sp;

	if (!s->bdat) {
		if (!transaction_ready(s, "BDAT")) {
			skip_chunk(s, size);
			return;
		}
		make_id(s);
		s->spool = spool_open(s);
		if (!s->spool) {
			skip_chunk(s, size);
			sess_reply(s, 451, "4.3.0", "Temporary local problem "
			    "- please try later");
			return;
		}
		smtpd_data_init(&s->spool->d, SMTPD_DATA_BDAT);
		s->bdat = 1;
	}
	sp = s->spool;
	if (smtpd_data_chunk(&sp->d, size, last) < 0) {
		skip_chunk(s, size);
		sess_reply(s, 503, "5.5.1", "BDAT sequence error");
		msg_abort(s);
		sess_reset(s);
		return;
	}
	if (read_text(s, sp, 1) < 0) {
		msg_abort(s);
		return;
	}
	if (!last) {
		if (s->c->max_size &&
		    smtpd_data_size_crlf(&sp->d) > s->c->max_size) {
			/* Refuse now: the client need not send the rest. */
			sess_reply(s, 552, "5.3.4", "Message size exceeds "
			    "fixed maximum message size");
			msg_abort(s);
			sess_reset(s);
			return;
		}
		sess_replyf(s, 250, "2.0.0", "%llu byte chunk received",
		    (unsigned long long)size);
		return;
	}
	finish(s, sp);
	msg_abort(s);
	sess_reset(s);
}
