/* libFuzzer target: smtpd_cmd_parse on an arbitrary command line, then
 * what the core would do with it: smtpd_mail_parse, smtpd_rcpt_parse,
 * smtpd_helo_check; smtpd_path_parse on the line itself; smtpd_reply_add
 * with the line as reply text.  The first octet picks the options (the
 * extensions offered, a SIZE limit, SMTPUTF8 for RCPT, UTF-8 replies).
 * Invariants: every refusal carries a 4xx/5xx reply with a well-formed
 * enhanced code and text; what is accepted fits the limits, its addr is
 * local@domain, its A-label form is ASCII, and non-ASCII only appears
 * under SMTPUTF8; a reply is lines of at most 512 octets with no CR or LF
 * but their CRLF. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "smtpd_cmd.h"

static int
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static void
check_reply(const struct smtpd_reply *r)
{
	const char *e = r->enh;

	if (r->err == SMTPD_OK || r->code < 400 || r->code > 599 ||
	    e == NULL || r->text == NULL || *r->text == '\0')
		abort();
	if (e[0] != '0' + r->code / 100 || e[1] != '.')
		abort();
}

static void
check_path(const struct smtpd_path *p, const struct smtpd_opts *o,
    int utf8)
{
	size_t nl, nd;

	if (p->addr == NULL || p->addr_alabel == NULL || p->local == NULL ||
	    p->local_unquoted == NULL || p->domain == NULL ||
	    p->domain_alabel == NULL)
		abort();
	nl = strlen(p->local);
	nd = strlen(p->domain);
	if (nl > (o->local_max ? o->local_max : SMTPD_LOCAL_MAX) ||
	    nd > (o->domain_max ? o->domain_max : SMTPD_DOMAIN_MAX) ||
	    nl + nd + 3 > (o->path_max ? o->path_max : SMTPD_PATH_MAX))
		abort();
	if (strlen(p->local_unquoted) > nl || !ascii(p->domain_alabel) ||
	    strlen(p->domain_alabel) > SMTPD_DOMAIN_MAX)
		abort();
	if (!utf8 && (p->utf8 || !ascii(p->addr)))
		abort();
	if (p->utf8 != !ascii(p->addr))
		abort();
	if (p->null || p->postmaster) {
		if (nd != 0 || strcmp(p->addr, p->local) != 0)
			abort();
		return;
	}
	if (nl == 0 || nd == 0 || strncmp(p->addr, p->local, nl) != 0 ||
	    p->addr[nl] != '@' || strcmp(p->addr + nl + 1, p->domain) != 0)
		abort();
	if (!p->utf8 && strcmp(p->addr, p->addr_alabel) != 0)
		abort();
}

static void
check_formatted(const char *s, size_t len, int utf8)
{
	const char *end = s + len, *e;
	int last = 0;

	while (s < end) {
		if (last || (e = strstr(s, "\r\n")) == NULL ||
		    e - s + 2 > SMTPD_REPLY_MAX || memcmp(s, "250", 3) != 0 ||
		    (e - s > 3 && s[3] != '-' && s[3] != ' ') ||
		    memchr(s, '\n', (size_t)(e - s)) != NULL ||
		    memchr(s, '\r', (size_t)(e - s)) != NULL)
			abort();
		last = e - s == 3 || s[3] == ' ';
		if (!utf8)
			for (; s < e; s++)
				if ((unsigned char)*s >= 0x80 ||
				    (*s < 32 && *s != '\t'))
					abort();
		s = e + 2;
	}
	if (!last)
		abort();
}

static void
mail_rcpt(const struct smtpd_cmd *c, const struct smtpd_opts *o, int utf8)
{
	struct smtpd_mail m;
	struct smtpd_path p;
	struct smtpd_reply r;
	char *arg;

	/* An exact-size copy so that a read past arglen is caught. */
	if ((arg = malloc(c->arglen ? c->arglen : 1)) == NULL)
		return;
	memcpy(arg, c->arg, c->arglen);
	if (c->verb == SMTPD_MAIL) {
		if (smtpd_mail_parse(arg, c->arglen, o, &m, &r) == 0) {
			check_path(&m.path, o, m.smtputf8);
			if ((m.smtputf8 && !(o->ext & SMTPD_X_SMTPUTF8)) ||
			    (m.prdr && !(o->ext & SMTPD_X_PRDR)) ||
			    (m.has_size && o->size_max &&
			    m.size > o->size_max))
				abort();
			smtpd_mail_free(&m);
		} else {
			check_reply(&r);
			if (m.path.addr != NULL)
				abort();
		}
	} else if (smtpd_rcpt_parse(arg, c->arglen, o, utf8, &p, &r) == 0) {
		check_path(&p, o, utf8);
		if (p.null)
			abort();
		smtpd_path_free(&p);
	} else {
		check_reply(&r);
		if (p.addr != NULL)
			abort();
	}
	free(arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_opts o = { 0, 0, 0, 0, 0 };
	struct smtpd_cmd c;
	struct smtpd_path p;
	struct smtpd_reply r;
	struct out_buf b = { 0 };
	const char *why;
	char *line, *text;
	size_t n, used;
	int f, utf8;

	if (size < 1 || size > 8192)
		return 0;
	f = data[0];
	n = size - 1;
	o.ext = (unsigned)f & 0x1f;
	o.size_max = f & 0x20 ? 1000 : 0;
	if (f & 0x40) {
		o.local_max = 100;
		o.path_max = 600;
	}
	utf8 = f >> 7;
	if ((line = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(line, data + 1, n);

	if (smtpd_cmd_parse(line, n, f & 0x40 ? 1000 : 0, &c) != 0)
		check_reply(&c.reply);
	else {
		if (c.arg < line || c.arg + c.arglen > line + n)
			abort();
		if (c.verb == SMTPD_MAIL || c.verb == SMTPD_RCPT)
			mail_rcpt(&c, &o, utf8);
		if (c.verb == SMTPD_HELO || c.verb == SMTPD_EHLO) {
			why = NULL;
			if (smtpd_helo_check(c.arg, c.arglen, &why) ==
			    SMTPD_HELO_INVALID && (why == NULL || *why == '\0'))
				abort();
		}
	}
	if (smtpd_path_parse(line, n, utf8 ? SMTPD_PATH_RCPT : SMTPD_PATH_MAIL,
	    utf8, &o, &p, &used, &r) == 0) {
		if (used < 2 || used > n || line[used - 1] != '>')
			abort();
		check_path(&p, &o, utf8);
		smtpd_path_free(&p);
	} else
		check_reply(&r);

	if ((text = strndup(line, n)) != NULL) {
		if (smtpd_reply_add(&b, 250, "2.0.0", text,
		    utf8 ? SMTPD_REPLY_UTF8 : 0) == 0)
			check_formatted(b.p, b.len, utf8);
		out_buf_free(&b);
		free(text);
	}
	free(line);
	return 0;
}
