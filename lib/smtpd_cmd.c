/* smtpd_cmd: SMTP command lines, paths and parameters, server side (see
 * smtpd_cmd.h).  The grammar is RFC 5321 4.1.2 with RFC 6531 3.3's
 * UTF-8 additions; the comments name the rule each function reads. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idn.h"
#include "out.h"
#include "smtpd_cmd.h"

/*
 * Replies.  Address errors differ between MAIL (X.1.7, "Bad sender's
 * mailbox address syntax") and RCPT (X.1.3, "Bad destination mailbox
 * address syntax"), RFC 3463 3.2; 553 is RFC 5321's "mailbox name not
 * allowed (e.g., mailbox syntax incorrect)".  "500 Line too long" and
 * "501 Path too long" are RFC 5321 4.5.3.1's own examples.  553 5.6.7 for
 * a non-ASCII address without SMTPUTF8 is RFC 6531 3.7.4.1 (X.6.7 "Non-
 * ASCII addresses not permitted for that sender/recipient", RFC 5248's
 * registry).  555 for a parameter not recognised or not implemented is
 * RFC 5321 4.1.1.11 (and 3.3); 552 for SIZE= above the fixed limit is RFC
 * 1870 6.1, with X.3.4 "Message too big for system".
 */
struct reply_def {
	enum smtpd_err err;
	const char *name;
	int code;
	const char *enh_mail, *enh_rcpt;
	const char *text_mail, *text_rcpt;	/* NULL: text_mail */
};

static const struct reply_def replies[] = {
	{ SMTPD_OK, "ok", 0, "", "", "", NULL },
	{ SMTPD_E_EMPTY, "empty", 500, "5.5.2", "5.5.2",
	    "Syntax error, empty command", NULL },
	{ SMTPD_E_LINE_TOO_LONG, "line_too_long", 500, "5.5.2", "5.5.2",
	    "Line too long", NULL },
	{ SMTPD_E_NUL, "nul", 500, "5.5.2", "5.5.2",
	    "NUL character in command line", NULL },
	{ SMTPD_E_8BIT, "8bit", 500, "5.5.2", "5.5.2",
	    "8-bit octets not allowed in this command", NULL },
	{ SMTPD_E_UNKNOWN, "unknown", 500, "5.5.1", "5.5.1",
	    "Command unrecognized", NULL },
	{ SMTPD_E_NO_PARAMS, "no_params", 501, "5.5.4", "5.5.4",
	    "Syntax error (no parameters allowed)", NULL },
	{ SMTPD_E_NEED_ARG, "need_arg", 501, "5.5.4", "5.5.4",
	    "Syntax error, argument required", NULL },
	{ SMTPD_E_MAIL_SYNTAX, "mail_syntax", 501, "5.5.4", "5.5.4",
	    "Syntax: MAIL FROM:<address> [parameters]", NULL },
	{ SMTPD_E_RCPT_SYNTAX, "rcpt_syntax", 501, "5.5.4", "5.5.4",
	    "Syntax: RCPT TO:<address> [parameters]", NULL },
	{ SMTPD_E_BDAT_SYNTAX, "bdat_syntax", 501, "5.5.4", "5.5.4",
	    "Syntax: BDAT size [LAST]", NULL },
	{ SMTPD_E_PATH_TOO_LONG, "path_too_long", 501, "5.5.4", "5.5.4",
	    "Path too long", NULL },
	{ SMTPD_E_ADDR_SYNTAX, "addr_syntax", 553, "5.1.7", "5.1.3",
	    "Bad sender address syntax", "Bad recipient address syntax" },
	{ SMTPD_E_NO_DOMAIN, "no_domain", 553, "5.1.7", "5.1.3",
	    "Sender address must include a domain",
	    "Recipient address must include a domain" },
	{ SMTPD_E_NULL_RCPT, "null_rcpt", 553, "5.1.3", "5.1.3",
	    "Null recipient not allowed", NULL },
	{ SMTPD_E_LOCAL_TOO_LONG, "local_too_long", 553, "5.1.7", "5.1.3",
	    "Local part too long", NULL },
	{ SMTPD_E_DOMAIN_TOO_LONG, "domain_too_long", 553, "5.1.7", "5.1.3",
	    "Domain too long", NULL },
	{ SMTPD_E_ADDR_LITERAL, "addr_literal", 553, "5.1.7", "5.1.3",
	    "Bad address literal", NULL },
	{ SMTPD_E_UTF8_INVALID, "utf8_invalid", 553, "5.1.7", "5.1.3",
	    "Address is not valid UTF-8", NULL },
	{ SMTPD_E_IDN, "idn", 553, "5.1.7", "5.1.3",
	    "Invalid internationalized domain name", NULL },
	{ SMTPD_E_UTF8_NEEDED, "utf8_needed", 553, "5.6.7", "5.6.7",
	    "Non-ASCII addresses not permitted without SMTPUTF8", NULL },
	{ SMTPD_E_PARAM_SYNTAX, "param_syntax", 501, "5.5.4", "5.5.4",
	    "Bad parameter syntax", NULL },
	{ SMTPD_E_PARAM_VALUE, "param_value", 501, "5.5.4", "5.5.4",
	    "Bad parameter value", NULL },
	{ SMTPD_E_PARAM_DUP, "param_dup", 501, "5.5.4", "5.5.4",
	    "Duplicate parameter", NULL },
	{ SMTPD_E_PARAM_UNKNOWN, "param_unknown", 555, "5.5.4", "5.5.4",
	    "Unsupported parameter", NULL },
	{ SMTPD_E_SIZE, "size", 552, "5.3.4", "5.3.4",
	    "Message size exceeds fixed maximum message size", NULL },
	{ SMTPD_E_HELO_SYNTAX, "helo_syntax", 501, "5.5.4", "5.5.4",
	    "Syntactically invalid EHLO argument(s)", NULL },
	{ SMTPD_E_NOMEM, "nomem", 451, "4.3.0", "4.3.0",
	    "Local error in processing", NULL },
};

static const struct reply_def *
reply_def(enum smtpd_err e)
{
	size_t i;

	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		if (replies[i].err == e)
			return &replies[i];
	return &replies[0];
}

const char *
smtpd_err_name(enum smtpd_err e)
{
	return reply_def(e)->name;
}

static int
fail(struct smtpd_reply *r, enum smtpd_err e, enum smtpd_path_kind kind)
{
	const struct reply_def *d = reply_def(e);

	r->err = e;
	r->code = d->code;
	r->enh = kind == SMTPD_PATH_RCPT ? d->enh_rcpt : d->enh_mail;
	r->text = kind == SMTPD_PATH_RCPT && d->text_rcpt != NULL ?
	    d->text_rcpt : d->text_mail;
	return -1;
}

static void
reply_ok(struct smtpd_reply *r)
{
	r->err = SMTPD_OK;
	r->code = 0;
	r->enh = "";
	r->text = "";
}

/*
 * Command lines.
 */
static const struct {
	const char *name;
	enum smtpd_verb verb;
} verbs[] = {
	{ "UNKNOWN", SMTPD_UNKNOWN }, { "HELO", SMTPD_HELO },
	{ "EHLO", SMTPD_EHLO }, { "MAIL", SMTPD_MAIL }, { "RCPT", SMTPD_RCPT },
	{ "DATA", SMTPD_DATA }, { "BDAT", SMTPD_BDAT }, { "RSET", SMTPD_RSET },
	{ "NOOP", SMTPD_NOOP }, { "QUIT", SMTPD_QUIT }, { "HELP", SMTPD_HELP },
	{ "VRFY", SMTPD_VRFY }, { "EXPN", SMTPD_EXPN },
	{ "STARTTLS", SMTPD_STARTTLS }, { "AUTH", SMTPD_AUTH },
};
#define NVERBS	(sizeof(verbs) / sizeof(verbs[0]))

const char *
smtpd_verb_name(enum smtpd_verb v)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "UNKNOWN";
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
has_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* n octets at s equal the ASCII word w, in any case. */
static int
word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static enum smtpd_verb
verb_of(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i < NVERBS; i++)
		if (word_is(s, n, verbs[i].name))
			return verbs[i].verb;
	return SMTPD_UNKNOWN;
}

/* "BDAT" SP chunk-size [ SP end-marker ], RFC 3030 2: chunk-size is
 * 1*DIGIT, end-marker "LAST".  A size that does not fit 64 bits is a
 * syntax error: nobody sends 16 EB. */
static int
bdat_arg(struct smtpd_cmd *cmd)
{
	const char *s = cmd->arg;
	size_t n = cmd->arglen, i = 0;
	uint64_t v = 0;

	if (n == 0 || !is_digit(s[0]))
		return -1;
	for (; i < n && is_digit(s[i]); i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	cmd->bdat_size = v;
	if (i == n)
		return 0;
	if (s[i] != ' ' || !word_is(s + i + 1, n - i - 1, "LAST"))
		return -1;
	cmd->bdat_last = 1;
	return 0;
}

/* "MAIL FROM:" / "RCPT TO:": the prefix of the argument, then the path.
 * Spaces after the colon are not in the grammar but are common (lax). */
static int
path_prefix(struct smtpd_cmd *cmd, const char *prefix)
{
	size_t p = strlen(prefix);

	if (cmd->arglen < p || strncasecmp(cmd->arg, prefix, p) != 0)
		return -1;
	cmd->arg += p;
	cmd->arglen -= p;
	while (cmd->arglen > 0 && cmd->arg[0] == ' ') {
		cmd->lax_space = 1;
		cmd->arg++;
		cmd->arglen--;
	}
	return cmd->arglen == 0 ? -1 : 0;
}

int
smtpd_cmd_parse(const char *line, size_t len, size_t max,
    struct smtpd_cmd *cmd)
{
	size_t n = len, v;
	enum smtpd_verb verb;

	memset(cmd, 0, sizeof(*cmd));
	reply_ok(&cmd->reply);
	cmd->arg = line + len;
	if (max == 0)
		max = SMTPD_LINE_MAX;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	for (v = 0; v < n && line[v] != ' '; v++)
		;
	cmd->verb = verb = verb_of(line, v);
	if (max < 2 || len > max - 2)
		return fail(&cmd->reply, SMTPD_E_LINE_TOO_LONG, 0);
	if (memchr(line, '\0', len) != NULL)
		return fail(&cmd->reply, SMTPD_E_NUL, 0);
	if (n == 0)
		return fail(&cmd->reply, SMTPD_E_EMPTY, 0);
	if (has_8bit(line, v))
		return fail(&cmd->reply, SMTPD_E_8BIT, 0);
	if (verb == SMTPD_UNKNOWN)
		return fail(&cmd->reply, SMTPD_E_UNKNOWN, 0);
	/* One space separates verb and argument; more are tolerated. */
	while (v < n && line[v] == ' ')
		v++;
	cmd->arg = line + v;
	cmd->arglen = n - v;
	cmd->eightbit = has_8bit(cmd->arg, cmd->arglen);
	switch (verb) {
	case SMTPD_MAIL: case SMTPD_RCPT: case SMTPD_VRFY: case SMTPD_EXPN:
	case SMTPD_HELO: case SMTPD_EHLO:
		break;		/* SMTPUTF8, or for smtpd_helo_check */
	default:
		if (cmd->eightbit)
			return fail(&cmd->reply, SMTPD_E_8BIT, 0);
	}
	switch (verb) {
	case SMTPD_DATA: case SMTPD_RSET: case SMTPD_QUIT: case SMTPD_STARTTLS:
		if (cmd->arglen > 0)
			return fail(&cmd->reply, SMTPD_E_NO_PARAMS, 0);
		break;
	case SMTPD_HELO: case SMTPD_EHLO: case SMTPD_VRFY: case SMTPD_EXPN:
		if (cmd->arglen == 0)
			return fail(&cmd->reply, SMTPD_E_NEED_ARG, 0);
		break;
	case SMTPD_MAIL:
		if (path_prefix(cmd, "FROM:") != 0)
			return fail(&cmd->reply, SMTPD_E_MAIL_SYNTAX, 0);
		break;
	case SMTPD_RCPT:
		if (path_prefix(cmd, "TO:") != 0)
			return fail(&cmd->reply, SMTPD_E_RCPT_SYNTAX, 0);
		break;
	case SMTPD_BDAT:
		if (bdat_arg(cmd) != 0)
			return fail(&cmd->reply, SMTPD_E_BDAT_SYNTAX, 0);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Domains and address literals.
 */

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 4.1.2), a label at most 63 octets (RFC 1035 2.3.4).  ASCII
 * only: U-labels go through libidn2 first.  NULL, or why not. */
static const char *
domain_why(const char *s, size_t n)
{
	size_t i, start = 0;
	int c;

	if (n == 0)
		return "empty domain";
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			c = (unsigned char)s[i];
			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return "invalid character in domain";
			continue;
		}
		if (i == start)
			return "empty label in domain";
		if (i - start > 63)
			return "label longer than 63 octets";
		if (s[start] == '-' || s[i - 1] == '-')
			return "label starts or ends with a hyphen";
		start = i + 1;
	}
	return NULL;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]", RFC 5321 4.1.3; s[0..n) is the whole
 * thing with its brackets.  No General-address-literal tag is registered
 * but IPv6, so those are refused.  0 or -1. */
static int
literal_ok(const char *s, size_t n)
{
	unsigned char bin[16];
	char tmp[64];
	size_t i;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= sizeof(tmp) ||
	    memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(tmp, s + 1, n - 2);
	tmp[n - 2] = '\0';
	if (strncasecmp(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, bin) == 1 ? 0 : -1;
	for (i = 0; tmp[i] != '\0'; i++)
		if (!is_digit(tmp[i]) && tmp[i] != '.')
			return -1;
	return inet_pton(AF_INET, tmp, bin) == 1 ? 0 : -1;
}

/*
 * Paths.
 */

/* atext, RFC 5321 4.1.2 (from RFC 5322 3.2.3); RFC 6531 3.3 adds
 * UTF8-non-ascii, checked as a whole later. */
static int
is_atext(int c, int utf8)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	if (c >= 0x80)
		return utf8;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF8-non-ascii). */
static int
is_qtext(int c, int utf8)
{
	if (c >= 0x80)
		return utf8;
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* Where the path starting at s[0] == '<' ends: the offset of its '>',
 * skipping quoted strings (a '>' may be quoted).  -1 when there is none
 * within n octets. */
static long
path_end(const char *s, size_t n)
{
	size_t i;
	int inq = 0;

	for (i = 1; i < n; i++) {
		if (inq) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				inq = 0;
		} else if (s[i] == '"')
			inq = 1;
		else if (s[i] == '>')
			return (long)i;
	}
	return -1;
}

/* Local-part = Dot-string / Quoted-string: its length at s, 0 when
 * there is none; *quoted set for a Quoted-string. */
static size_t
local_len(const char *s, size_t n, int utf8, int *quoted)
{
	size_t i;

	*quoted = 0;
	if (n > 0 && s[0] == '"') {
		for (i = 1; i < n; i++) {
			if (s[i] == '"') {
				*quoted = 1;
				return i + 1;
			}
			if (s[i] == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 >= n || s[i + 1] < 32 ||
				    s[i + 1] > 126)
					return 0;
				i++;
			} else if (!is_qtext((unsigned char)s[i], utf8))
				return 0;
		}
		return 0;
	}
	/* Dot-string = Atom *("."  Atom) */
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i == 0 || s[i - 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i], utf8))
			break;
	}
	if (i > 0 && s[i - 1] == '.')
		return 0;
	return i;
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* The content of a quoted-string: quotes and backslashes undone. */
static char *
unquote(const char *s, size_t n)
{
	char *p = malloc(n + 1), *q;
	size_t i;

	if (p == NULL)
		return NULL;
	q = p;
	for (i = 1; i + 1 < n; i++) {
		if (s[i] == '\\')
			i++;
		*q++ = s[i];
	}
	*q = '\0';
	return p;
}

static char *
join_at(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	char *p = malloc(na + nb + 2);

	if (p != NULL) {
		memcpy(p, a, na);
		p[na] = '@';
		memcpy(p + na + 1, b, nb + 1);
	}
	return p;
}

void
smtpd_path_free(struct smtpd_path *p)
{
	if (p == NULL)
		return;
	free(p->addr);
	free(p->addr_alabel);
	free(p->local);
	free(p->local_unquoted);
	free(p->domain);
	free(p->domain_alabel);
	memset(p, 0, sizeof(*p));
}

/* Fill in the strings; 0 or -1 (out of memory). */
static int
path_set(struct smtpd_path *p, const char *local, size_t nlocal,
    const char *domain, size_t ndomain, char *alabel)
{
	p->local = dup_n(local, nlocal);
	p->local_unquoted = p->quoted ? unquote(local, nlocal) :
	    dup_n(local, nlocal);
	p->domain = dup_n(domain, ndomain);
	p->domain_alabel = alabel != NULL ? alabel : dup_n(domain, ndomain);
	if (p->local == NULL || p->local_unquoted == NULL ||
	    p->domain == NULL || p->domain_alabel == NULL)
		return -1;
	if (p->null || p->postmaster) {
		p->addr = dup_n(local, nlocal);
		p->addr_alabel = dup_n(local, nlocal);
	} else {
		p->addr = join_at(p->local, p->domain);
		p->addr_alabel = join_at(p->local, p->domain_alabel);
	}
	return p->addr == NULL || p->addr_alabel == NULL ? -1 : 0;
}

/* The domain d[0..n) of a mailbox: a Domain (U-labels allowed under
 * SMTPUTF8, converted to A-labels into *alabel) or an address literal. */
static enum smtpd_err
mailbox_domain(struct smtpd_path *p, const char *d, size_t n,
    const struct smtpd_opts *o, char **alabel)
{
	size_t dmax = o != NULL && o->domain_max ? o->domain_max :
	    SMTPD_DOMAIN_MAX;
	const char *why;
	char *copy;

	*alabel = NULL;
	if (n == 0)
		return SMTPD_E_NO_DOMAIN;
	if (n > dmax)
		return SMTPD_E_DOMAIN_TOO_LONG;
	if (d[0] == '[') {
		p->literal = 1;
		return literal_ok(d, n) == 0 ? SMTPD_OK : SMTPD_E_ADDR_LITERAL;
	}
	if (!has_8bit(d, n))
		return domain_why(d, n) == NULL ? SMTPD_OK :
		    SMTPD_E_ADDR_SYNTAX;
	/* U-labels: libidn2 decides (IDNA2008 + UTS #46), then the result
	 * must be a plain Domain a resolver takes. */
	if ((copy = dup_n(d, n)) == NULL)
		return SMTPD_E_NOMEM;
	*alabel = idn_to_alabels(copy, &why);
	free(copy);
	if (*alabel == NULL)
		return strcmp(why, "out of memory") == 0 ? SMTPD_E_NOMEM :
		    SMTPD_E_IDN;
	if (domain_why(*alabel, strlen(*alabel)) != NULL ||
	    strlen(*alabel) > SMTPD_DOMAIN_MAX) {
		free(*alabel);
		*alabel = NULL;
		return SMTPD_E_IDN;
	}
	return SMTPD_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":"; At-domain = "@" Domain
 * (RFC 5321 4.1.2).  The route is read and dropped (4.1.1.3, C): its
 * length at s, or 0 when it is malformed. */
static size_t
route_len(const char *s, size_t n)
{
	size_t i = 0, start;
	unsigned char c;

	for (;;) {
		if (i >= n || s[i] != '@')
			return 0;
		start = ++i;
		while (i < n && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= n)
			return 0;
		if (s[start] == '[') {
			if (literal_ok(s + start, i - start) != 0)
				return 0;
		} else if (!has_8bit(s + start, i - start)) {
			if (domain_why(s + start, i - start) != NULL)
				return 0;
		} else {
			/* A U-label route domain: not looked up, only
			 * kept to the label characters. */
			for (; start < i; start++) {
				c = (unsigned char)s[start];
				if (c < 0x80 && !is_alpha(c) && !is_digit(c) &&
				    c != '-' && c != '.')
					return 0;
			}
		}
		if (s[i] == ':')
			return i + 1;
		i++;
	}
}

/* The mailbox inside the brackets, in[0..n). */
static enum smtpd_err
path_inner(const char *in, size_t n, enum smtpd_path_kind kind, int utf8,
    const struct smtpd_opts *o, struct smtpd_path *p)
{
	size_t lmax = o != NULL && o->local_max ? o->local_max :
	    SMTPD_LOCAL_MAX;
	size_t r, l;
	char *alabel = NULL;
	enum smtpd_err e;

	/* smtpd_cmd_parse refuses NUL, but this is an API of its own. */
	if (memchr(in, '\0', n) != NULL)
		return SMTPD_E_ADDR_SYNTAX;
	if (n == 0) {
		if (kind == SMTPD_PATH_RCPT)
			return SMTPD_E_NULL_RCPT;
		p->null = 1;
		return path_set(p, "", 0, "", 0, NULL) ? SMTPD_E_NOMEM :
		    SMTPD_OK;
	}
	if (has_8bit(in, n)) {
		if (!utf8)
			return SMTPD_E_UTF8_NEEDED;
		if (!out_utf8_valid(in, n))
			return SMTPD_E_UTF8_INVALID;
	}
	/* "<Postmaster>" (RFC 5321 4.1.1.3), no route, any case. */
	if (kind == SMTPD_PATH_RCPT && word_is(in, n, "Postmaster")) {
		p->postmaster = 1;
		return path_set(p, in, n, "", 0, NULL) ? SMTPD_E_NOMEM :
		    SMTPD_OK;
	}
	if (in[0] == '@') {
		if ((r = route_len(in, n)) == 0)
			return SMTPD_E_ADDR_SYNTAX;
		p->routed = 1;
		in += r;
		n -= r;
	}
	p->utf8 = has_8bit(in, n);	/* the address, not the route */
	if ((l = local_len(in, n, utf8, &p->quoted)) == 0)
		return SMTPD_E_ADDR_SYNTAX;
	if (l == n)
		return SMTPD_E_NO_DOMAIN;
	if (in[l] != '@')
		return SMTPD_E_ADDR_SYNTAX;
	if (l > lmax)
		return SMTPD_E_LOCAL_TOO_LONG;
	e = mailbox_domain(p, in + l + 1, n - l - 1, o, &alabel);
	if (e != SMTPD_OK)
		return e;
	if (path_set(p, in, l, in + l + 1, n - l - 1, alabel) != 0)
		return SMTPD_E_NOMEM;
	return SMTPD_OK;
}

/* Where the path at arg ends, checked against the path limit. */
static enum smtpd_err
path_scan(const char *arg, size_t len, const struct smtpd_opts *o,
    enum smtpd_err syntax, size_t *end)
{
	size_t pmax = o != NULL && o->path_max ? o->path_max : SMTPD_PATH_MAX;
	long e;

	if (pmax > SMTPD_HARD_MAX)
		pmax = SMTPD_HARD_MAX;
	if (len == 0 || arg[0] != '<')
		return syntax;
	e = path_end(arg, len < pmax + 1 ? len : pmax + 1);
	if (e < 0)
		return len > pmax ? SMTPD_E_PATH_TOO_LONG : syntax;
	if ((size_t)e + 1 > pmax)
		return SMTPD_E_PATH_TOO_LONG;
	*end = (size_t)e;
	return SMTPD_OK;
}

int
smtpd_path_parse(const char *arg, size_t len, enum smtpd_path_kind kind,
    int utf8, const struct smtpd_opts *o, struct smtpd_path *p, size_t *used,
    struct smtpd_reply *r)
{
	enum smtpd_err e;
	size_t end = 0;

	memset(p, 0, sizeof(*p));
	reply_ok(r);
	*used = 0;
	e = path_scan(arg, len, o, SMTPD_E_ADDR_SYNTAX, &end);
	if (e == SMTPD_OK)
		e = path_inner(arg + 1, end - 1, kind, utf8, o, p);
	if (e != SMTPD_OK) {
		smtpd_path_free(p);
		return fail(r, e, kind);
	}
	*used = end + 1;
	return 0;
}

/*
 * Parameters: esmtp-param = esmtp-keyword ["=" esmtp-value];
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
 * esmtp-value = 1*(%d33-60 / %d62-126) (RFC 5321 4.1.2).  RFC 6531 lets a
 * value hold UTF-8, but none of ours takes one, so 8-bit is a syntax
 * error here.
 */
struct param {
	const char *key, *val;	/* val NULL: no "=" */
	size_t nkey, nval;
};

/* The next parameter at s[*i..n), after one or more spaces.  1 with *pm,
 * 0 at the end, -1 on a syntax error. */
static int
param_next(const char *s, size_t n, size_t *i, struct param *pm)
{
	size_t k = *i;

	if (k >= n)
		return 0;
	if (s[k] != ' ')
		return -1;
	while (k < n && s[k] == ' ')
		k++;
	if (k >= n)
		return 0;
	pm->key = s + k;
	if (!is_alpha(s[k]) && !is_digit(s[k]))
		return -1;
	while (k < n && (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '-'))
		k++;
	pm->nkey = (size_t)(s + k - pm->key);
	pm->val = NULL;
	pm->nval = 0;
	if (k < n && s[k] == '=') {
		pm->val = s + ++k;
		while (k < n && s[k] >= 33 && s[k] <= 126 && s[k] != '=')
			k++;
		pm->nval = (size_t)(s + k - pm->val);
		if (pm->nval == 0)
			return -1;
	}
	if (k < n && s[k] != ' ')
		return -1;
	*i = k;
	return 1;
}

/* size-value = 1*20DIGIT (RFC 1870 3); a 20-digit value past 2^64-1
 * saturates (it exceeds any limit the core can set). */
static int
size_value(const char *s, size_t n, uint64_t *v)
{
	size_t i;
	unsigned d;

	*v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		d = (unsigned)(s[i] - '0');
		if (*v > (UINT64_MAX - d) / 10)
			*v = UINT64_MAX;
		else
			*v = *v * 10 + d;
	}
	return 0;
}

static int
is_hexup(int c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* xtext = *( xchar / hexchar ), RFC 3461 4 (AUTH's value, RFC 4954 5). */
static int
xtext_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			/* hexchar = "+" 2(%x30-39 / %x41-46) */
			if (n - i < 3 || !is_hexup(s[i + 1]) ||
			    !is_hexup(s[i + 2]))
				return 0;
			i += 2;
		} else if (s[i] < 33 || s[i] > 126 || s[i] == '=')
			return 0;
	}
	return 1;
}

#define SEEN_SIZE	0x01
#define SEEN_BODY	0x02
#define SEEN_UTF8	0x04
#define SEEN_PRDR	0x08
#define SEEN_AUTH	0x10

static enum smtpd_err
mail_param(const struct param *pm, unsigned ext, unsigned *seen,
    struct smtpd_mail *m)
{
	unsigned bit;

	if (word_is(pm->key, pm->nkey, "SIZE") && (ext & SMTPD_X_SIZE))
		bit = SEEN_SIZE;
	else if (word_is(pm->key, pm->nkey, "BODY") &&
	    (ext & (SMTPD_X_8BITMIME | SMTPD_X_BINARYMIME)))
		bit = SEEN_BODY;
	else if (word_is(pm->key, pm->nkey, "SMTPUTF8") &&
	    (ext & SMTPD_X_SMTPUTF8))
		bit = SEEN_UTF8;
	else if (word_is(pm->key, pm->nkey, "PRDR") && (ext & SMTPD_X_PRDR))
		bit = SEEN_PRDR;
	else if (word_is(pm->key, pm->nkey, "AUTH"))
		bit = SEEN_AUTH;
	else
		return SMTPD_E_PARAM_UNKNOWN;
	if (*seen & bit)
		return SMTPD_E_PARAM_DUP;
	*seen |= bit;
	switch (bit) {
	case SEEN_SIZE:
		m->has_size = 1;
		if (pm->val == NULL || size_value(pm->val, pm->nval,
		    &m->size) != 0)
			return SMTPD_E_PARAM_VALUE;
		break;
	case SEEN_BODY:
		/* RFC 6152 2 (7BIT, 8BITMIME), RFC 3030 3 (BINARYMIME);
		 * a value we do not offer cannot be implemented: 555. */
		if (pm->val == NULL)
			return SMTPD_E_PARAM_VALUE;
		if (word_is(pm->val, pm->nval, "7BIT"))
			m->body = SMTPD_BODY_7BIT;
		else if (word_is(pm->val, pm->nval, "8BITMIME"))
			m->body = SMTPD_BODY_8BITMIME;
		else if (word_is(pm->val, pm->nval, "BINARYMIME"))
			m->body = SMTPD_BODY_BINARYMIME;
		else
			return SMTPD_E_PARAM_VALUE;
		if ((m->body == SMTPD_BODY_8BITMIME &&
		    !(ext & SMTPD_X_8BITMIME)) ||
		    (m->body == SMTPD_BODY_BINARYMIME &&
		    !(ext & SMTPD_X_BINARYMIME)))
			return SMTPD_E_PARAM_UNKNOWN;
		break;
	case SEEN_UTF8:		/* RFC 6531 3.4: no value */
		if (pm->val != NULL)
			return SMTPD_E_PARAM_VALUE;
		m->smtputf8 = 1;
		break;
	case SEEN_PRDR:		/* draft-hall-prdr-00 3: no value */
		if (pm->val != NULL)
			return SMTPD_E_PARAM_VALUE;
		m->prdr = 1;
		break;
	case SEEN_AUTH:
		if (pm->val == NULL || !xtext_ok(pm->val, pm->nval))
			return SMTPD_E_PARAM_VALUE;
		m->auth = 1;
		break;
	}
	return SMTPD_OK;
}

void
smtpd_mail_free(struct smtpd_mail *m)
{
	if (m == NULL)
		return;
	smtpd_path_free(&m->path);
	memset(m, 0, sizeof(*m));
}

int
smtpd_mail_parse(const char *arg, size_t len, const struct smtpd_opts *o,
    struct smtpd_mail *m, struct smtpd_reply *r)
{
	unsigned ext = o != NULL ? o->ext : 0, seen = 0;
	struct param pm;
	enum smtpd_err e;
	size_t end = 0, i;
	int rc;

	memset(m, 0, sizeof(*m));
	reply_ok(r);
	e = path_scan(arg, len, o, SMTPD_E_MAIL_SYNTAX, &end);
	if (e != SMTPD_OK)
		return fail(r, e, SMTPD_PATH_MAIL);
	/* The parameters first: SMTPUTF8 says how to read the path. */
	i = end + 1;
	while ((rc = param_next(arg, len, &i, &pm)) == 1)
		if ((e = mail_param(&pm, ext, &seen, m)) != SMTPD_OK)
			break;
	if (rc < 0)
		e = SMTPD_E_PARAM_SYNTAX;
	if (e == SMTPD_OK && m->has_size && o != NULL && o->size_max != 0 &&
	    m->size > o->size_max)
		e = SMTPD_E_SIZE;
	if (e == SMTPD_OK)
		e = path_inner(arg + 1, end - 1, SMTPD_PATH_MAIL, m->smtputf8,
		    o, &m->path);
	if (e != SMTPD_OK) {
		smtpd_mail_free(m);
		return fail(r, e, SMTPD_PATH_MAIL);
	}
	return 0;
}

int
smtpd_rcpt_parse(const char *arg, size_t len, const struct smtpd_opts *o,
    int utf8, struct smtpd_path *p, struct smtpd_reply *r)
{
	struct param pm;
	enum smtpd_err e;
	size_t end = 0, i;
	int rc;

	memset(p, 0, sizeof(*p));
	reply_ok(r);
	e = path_scan(arg, len, o, SMTPD_E_RCPT_SYNTAX, &end);
	if (e != SMTPD_OK)
		return fail(r, e, SMTPD_PATH_RCPT);
	/* NOTIFY and ORCPT are DSN's (RFC 3461), which we do not offer. */
	i = end + 1;
	if ((rc = param_next(arg, len, &i, &pm)) != 0)
		e = rc < 0 ? SMTPD_E_PARAM_SYNTAX : SMTPD_E_PARAM_UNKNOWN;
	if (e == SMTPD_OK)
		e = path_inner(arg + 1, end - 1, SMTPD_PATH_RCPT, utf8, o, p);
	if (e != SMTPD_OK) {
		smtpd_path_free(p);
		return fail(r, e, SMTPD_PATH_RCPT);
	}
	return 0;
}

/*
 * HELO and EHLO.
 */
enum smtpd_helo
smtpd_helo_check(const char *arg, size_t len, const char **why)
{
	const char *w;
	char *copy, *a;

	*why = "";
	if (len == 0) {
		*why = "no argument";
		return SMTPD_HELO_INVALID;
	}
	if (memchr(arg, ' ', len) != NULL || memchr(arg, '\t', len) != NULL) {
		*why = "more than one word";
		return SMTPD_HELO_INVALID;
	}
	if (memchr(arg, '\0', len) != NULL) {
		*why = "NUL character";
		return SMTPD_HELO_INVALID;
	}
	if (arg[0] == '[') {
		if (literal_ok(arg, len) == 0)
			return SMTPD_HELO_LITERAL;
		*why = "bad address literal";
		return SMTPD_HELO_INVALID;
	}
	if (len > SMTPD_DOMAIN_MAX) {
		*why = "domain too long";
		return SMTPD_HELO_INVALID;
	}
	if (!has_8bit(arg, len)) {
		if ((w = domain_why(arg, len)) == NULL)
			return SMTPD_HELO_DOMAIN;
		*why = w;
		return SMTPD_HELO_INVALID;
	}
	if (!out_utf8_valid(arg, len)) {
		*why = "not UTF-8";
		return SMTPD_HELO_INVALID;
	}
	if ((copy = dup_n(arg, len)) == NULL) {
		*why = "out of memory";
		return SMTPD_HELO_INVALID;
	}
	a = idn_to_alabels(copy, &w);
	free(copy);
	if (a == NULL) {
		*why = w;
		return SMTPD_HELO_INVALID;
	}
	w = strlen(a) > SMTPD_DOMAIN_MAX ? "domain too long" :
	    domain_why(a, strlen(a));
	free(a);
	if (w != NULL) {
		*why = w;
		return SMTPD_HELO_INVALID;
	}
	return SMTPD_HELO_IDN;
}

/* Exim's words for it ("501 Syntactically invalid EHLO argument(s)"). */
void
smtpd_helo_reply(struct smtpd_reply *r, enum smtpd_verb verb)
{
	fail(r, SMTPD_E_HELO_SYNTAX, 0);
	if (verb == SMTPD_HELO)
		r->text = "Syntactically invalid HELO argument(s)";
}

/*
 * Replies.
 */

/* The length of the UTF-8 sequence at s[0..n), 0 when it is not one
 * (overlongs, surrogates and values past U+10FFFF included). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

/* text made safe for a reply: '\n' kept (it splits lines), HT kept,
 * every other control octet, and non-ASCII unless utf8, as '?'. */
static char *
reply_clean(const char *text, int utf8)
{
	size_t n = strlen(text), i, k, j;
	const unsigned char *u = (const unsigned char *)text;
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; ) {
		if (u[i] >= 0x80 && utf8 && (k = utf8_len(u + i, n - i)) > 0) {
			for (j = 0; j < k; j++, i++)
				p[i] = (char)u[i];
			continue;
		}
		if (u[i] == '\n' || u[i] == '\t' ||
		    (u[i] >= 32 && u[i] < 127))
			p[i] = (char)u[i];
		else
			p[i] = '?';
		i++;
	}
	p[n] = '\0';
	return p;
}

/* An enhanced code "C.S.D": class 2, 4 or 5, then 1-3 and 1-3 digits. */
static int
enh_ok(const char *e)
{
	size_t i = 2, d;
	int part;

	if (e == NULL || (e[0] != '2' && e[0] != '4' && e[0] != '5') ||
	    e[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (d = 0; is_digit(e[i]); i++)
			d++;
		if (d < 1 || d > 3)
			return 0;
		if (part == 0 && e[i++] != '.')
			return 0;
	}
	return e[i] == '\0';
}

/* Where to cut line[0..n) so that at most room octets go on this reply
 * line: after the last space that fits, else at room (backed off to a
 * UTF-8 boundary).  *skip is 1 when the cut is at a space. */
static size_t
reply_cut(const char *line, size_t n, size_t room, size_t *skip)
{
	size_t c;

	*skip = 0;
	if (n <= room)
		return n;
	for (c = room; c > 0; c--)
		if (line[c] == ' ') {
			*skip = 1;
			return c;
		}
	c = room;
	while (c > 1 && ((unsigned char)line[c] & 0xc0) == 0x80)
		c--;
	return c;
}

int
smtpd_reply_add(struct out_buf *b, int code, const char *enh,
    const char *text, unsigned flags)
{
	char head[8], *clean, *line, *nl;
	size_t elen, room, n, cut, skip;
	int more;

	if (code < 200 || code > 599)
		return -1;
	if (!enh_ok(enh))
		enh = "";
	elen = strlen(enh);
	/* "CODE-" or "CODE ", then "X.Y.Z text" / "X.Y.Z" / "text", CRLF. */
	room = SMTPD_REPLY_MAX - 4 - (elen > 0 ? elen + 1 : 0) - 2;
	if ((clean = reply_clean(text != NULL ? text : "",
	    flags & SMTPD_REPLY_UTF8)) == NULL) {
		b->oom = 1;
		return -1;
	}
	n = strlen(clean);
	if (n > 0 && clean[n - 1] == '\n')
		clean[--n] = '\0';
	line = clean;
	do {
		if ((nl = strchr(line, '\n')) != NULL)
			n = (size_t)(nl - line);
		else
			n = strlen(line);
		cut = reply_cut(line, n, room, &skip);
		more = nl != NULL || cut + skip < n;
		snprintf(head, sizeof(head), "%03d%c", code, more ? '-' : ' ');
		/* A last line with nothing after the code is just "CODE". */
		out_buf_add(b, head, elen > 0 || cut > 0 || more ? 4 : 3);
		out_buf_add(b, enh, elen);
		if (elen > 0 && cut > 0)
			out_buf_add(b, " ", 1);
		out_buf_add(b, line, cut);
		out_buf_add(b, "\r\n", 2);
		if (cut + skip < n)
			line += cut + skip;
		else
			line = nl != NULL ? nl + 1 : line + n;
	} while (more);
	free(clean);
	return b->oom ? -1 : 0;
}

long
smtpd_reply_buf(char *buf, size_t size, int code, const char *enh,
    const char *text, unsigned flags)
{
	struct out_buf b = { 0 };
	long n = -1;

	if (size > 0)
		buf[0] = '\0';
	if (smtpd_reply_add(&b, code, enh, text, flags) == 0 &&
	    b.len < size) {
		memcpy(buf, b.p, b.len + 1);
		n = (long)b.len;
	}
	out_buf_free(&b);
	return n;
}

int
smtpd_reply_add_r(struct out_buf *b, const struct smtpd_reply *r)
{
	return smtpd_reply_add(b, r->code, r->enh, r->text, 0);
}
