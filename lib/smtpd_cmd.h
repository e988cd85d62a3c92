/* smtpd_cmd: the server side's reading of SMTP command lines (RFC 5321
 * 4.1), nothing else: no I/O, no state.  The session core (lib/smtpd)
 * hands over one line without its CRLF and acts on what comes back:
 *
 *   smtpd_cmd_parse    the verb (case-insensitive), its argument, and the
 *                      line-level errors: too long, NUL, 8-bit octets
 *   smtpd_mail_parse   MAIL FROM:<path> and its parameters: SIZE (RFC
 *                      1870), BODY (6152, 3030), SMTPUTF8 (6531), PRDR
 *                      (draft-hall-prdr-00), AUTH (4954: accepted, ignored)
 *   smtpd_rcpt_parse   RCPT TO:<path>; no parameter is known (we offer no
 *                      DSN), so every one is a 555
 *   smtpd_path_parse   one path: <>, <Postmaster>, source routes (dropped,
 *                      RFC 5321 4.1.1.3 and appendix C), dot-string or
 *                      quoted local parts, domains and address literals,
 *                      UTF-8 when SMTPUTF8 is in force, A-labels
 *   smtpd_helo_check   what an EHLO/HELO argument is, for the log and for a
 *                      core that wants to refuse junk
 *   smtpd_reply_add    a reply "CODE X.Y.Z text", one or many lines, each
 *                      at most 512 octets (RFC 5321 4.5.3.1.5)
 *
 * Every error comes with the reply the core should send (struct
 * smtpd_reply: code, enhanced code per RFC 3463/2034, static text) and a
 * stable name for logs.  Lengths: the command line, local part, domain and
 * path limits of RFC 5321 4.5.3.1 by default, each one the core may raise.
 *
 * Leniency, on purpose: "MAIL FROM: <a@b>" (a space after the colon, which
 * the grammar does not allow but which many clients send, and Postfix and
 * Exim accept) is accepted and flagged (lax_space); several spaces between
 * parameters are accepted; trailing spaces and tabs on the line are
 * ignored.  Everything else follows the RFC 5321 grammar.
 */
#ifndef MXKIT_SMTPD_CMD_H
#define MXKIT_SMTPD_CMD_H
#include <stddef.h>
#include <stdint.h>

#include "out.h"

#define SMTPD_LINE_MAX		512	/* 4.5.3.1.4, CRLF included */
#define SMTPD_LOCAL_MAX		64	/* 4.5.3.1.1 */
#define SMTPD_DOMAIN_MAX	255	/* 4.5.3.1.2 */
#define SMTPD_PATH_MAX		256	/* 4.5.3.1.3, "<" and ">" included */
#define SMTPD_REPLY_MAX		512	/* 4.5.3.1.5, CRLF included */
#define SMTPD_HARD_MAX		4096	/* no limit the core sets goes above */

enum smtpd_verb {
	SMTPD_UNKNOWN = 0,
	SMTPD_HELO, SMTPD_EHLO, SMTPD_MAIL, SMTPD_RCPT, SMTPD_DATA,
	SMTPD_BDAT, SMTPD_RSET, SMTPD_NOOP, SMTPD_QUIT, SMTPD_HELP,
	SMTPD_VRFY, SMTPD_EXPN, SMTPD_STARTTLS,
	SMTPD_AUTH		/* recognised so the core can say 502 */
};

enum smtpd_err {
	SMTPD_OK = 0,
	SMTPD_E_EMPTY,		/* 500 5.5.2 an empty line */
	SMTPD_E_LINE_TOO_LONG,	/* 500 5.5.2 */
	SMTPD_E_NUL,		/* 500 5.5.2 a NUL octet anywhere in the line */
	SMTPD_E_8BIT,		/* 500 5.5.2 octets >= 0x80 where none may be */
	SMTPD_E_UNKNOWN,	/* 500 5.5.1 not a verb we know */
	SMTPD_E_NO_PARAMS,	/* 501 5.5.4 DATA x, RSET x, QUIT x, STARTTLS x */
	SMTPD_E_NEED_ARG,	/* 501 5.5.4 EHLO, HELO, VRFY, EXPN alone */
	SMTPD_E_MAIL_SYNTAX,	/* 501 5.5.4 not "FROM:<...>" */
	SMTPD_E_RCPT_SYNTAX,	/* 501 5.5.4 not "TO:<...>" */
	SMTPD_E_BDAT_SYNTAX,	/* 501 5.5.4 not "size [LAST]" */
	SMTPD_E_PATH_TOO_LONG,	/* 501 5.5.4 */
	SMTPD_E_ADDR_SYNTAX,	/* 553 5.1.7 (MAIL) / 5.1.3 (RCPT) */
	SMTPD_E_NO_DOMAIN,	/* 553 5.1.7 / 5.1.3 "user" without "@domain" */
	SMTPD_E_NULL_RCPT,	/* 553 5.1.3 RCPT TO:<> */
	SMTPD_E_LOCAL_TOO_LONG,	/* 553 5.1.7 / 5.1.3 */
	SMTPD_E_DOMAIN_TOO_LONG, /* 553 5.1.7 / 5.1.3 */
	SMTPD_E_ADDR_LITERAL,	/* 553 5.1.7 / 5.1.3 [...] inet_pton refuses */
	SMTPD_E_UTF8_INVALID,	/* 553 5.1.7 / 5.1.3 not UTF-8 under SMTPUTF8 */
	SMTPD_E_IDN,		/* 553 5.1.7 / 5.1.3 libidn2 refuses the domain */
	SMTPD_E_UTF8_NEEDED,	/* 553 5.6.7 non-ASCII address, no SMTPUTF8 */
	SMTPD_E_PARAM_SYNTAX,	/* 501 5.5.4 not keyword[=value] */
	SMTPD_E_PARAM_VALUE,	/* 501 5.5.4 SIZE=x, BODY=x, PRDR=x ... */
	SMTPD_E_PARAM_DUP,	/* 501 5.5.4 the same keyword twice */
	SMTPD_E_PARAM_UNKNOWN,	/* 555 5.5.4 unknown or not offered */
	SMTPD_E_SIZE,		/* 552 5.3.4 SIZE= above the fixed limit */
	SMTPD_E_HELO_SYNTAX,	/* 501 5.5.4 (smtpd_helo_reply) */
	SMTPD_E_NOMEM		/* 451 4.3.0 */
};

/* What the core should answer; the strings are static. */
struct smtpd_reply {
	enum smtpd_err err;
	int code;		/* 0 when err is SMTPD_OK */
	const char *enh;	/* "5.5.4" */
	const char *text;	/* "Syntax error ..." */
};

/* The error's name for logs and tests: "ok", "line_too_long", "nul", ... */
const char *smtpd_err_name(enum smtpd_err e);
/* The verb's name in upper case ("MAIL"), "UNKNOWN" for SMTPD_UNKNOWN. */
const char *smtpd_verb_name(enum smtpd_verb v);

struct smtpd_cmd {
	enum smtpd_verb verb;
	/* The argument: for MAIL and RCPT what follows "FROM:" / "TO:" (and
	 * the spaces after the colon), else what follows the verb and its
	 * space; never NULL, points into the line, arglen octets (the line's
	 * trailing spaces and tabs not counted). */
	const char *arg;
	size_t arglen;
	int lax_space;		/* "FROM: <" or "TO: <": tolerated */
	int eightbit;		/* arg holds octets >= 0x80 (allowed only in
				 * MAIL, RCPT, VRFY, EXPN, HELO and EHLO) */
	uint64_t bdat_size;	/* BDAT: the chunk size (RFC 3030) */
	int bdat_last;		/* BDAT: "LAST" given (any case) */
	struct smtpd_reply reply;	/* reply.err != SMTPD_OK: refuse */
};

/* Read the line line[0..len) (without its CRLF); max is the command line
 * limit with the CRLF counted (0: SMTPD_LINE_MAX), so a line is too long
 * when len + 2 > max.  0 with *cmd filled, or -1 with cmd->reply saying
 * what to answer (cmd->verb is still set when the verb was recognised). */
int smtpd_cmd_parse(const char *line, size_t len, size_t max,
    struct smtpd_cmd *cmd);

/* The extensions the core announced in its EHLO reply (0 after HELO: then
 * every MAIL parameter is a 555, RFC 5321 4.1.1.11). */
#define SMTPD_X_SIZE		0x01
#define SMTPD_X_8BITMIME	0x02
#define SMTPD_X_SMTPUTF8	0x04
#define SMTPD_X_PRDR		0x08
#define SMTPD_X_BINARYMIME	0x10	/* with CHUNKING, RFC 3030 */

struct smtpd_opts {
	unsigned ext;		/* SMTPD_X_* offered */
	uint64_t size_max;	/* SIZE= above this is a 552; 0: no limit */
	size_t local_max;	/* 0: SMTPD_LOCAL_MAX */
	size_t domain_max;	/* 0: SMTPD_DOMAIN_MAX */
	size_t path_max;	/* 0: SMTPD_PATH_MAX */
};

enum smtpd_path_kind { SMTPD_PATH_MAIL, SMTPD_PATH_RCPT };

/* One parsed path.  The strings are malloc'd (smtpd_path_free), all
 * NUL-terminated and "" when absent, never NULL after a successful parse.
 * local keeps the local part exactly as sent (quotes and backslashes
 * too: it is the address); local_unquoted is its content (for a
 * dot-string the same).  domain is as sent (U-labels stay U-labels; an
 * address literal keeps its brackets); domain_alabel is its A-label form
 * (IDNA2008, lib/idn), the same text when domain is ASCII. */
struct smtpd_path {
	int null;		/* MAIL FROM:<> */
	int postmaster;		/* RCPT TO:<Postmaster>, any case, no domain */
	int utf8;		/* the address holds non-ASCII (UTF-8) */
	int quoted;		/* the local part is a quoted-string */
	int literal;		/* the domain is an address literal */
	int routed;		/* a source route "@a,@b:" was given and dropped */
	char *addr;		/* local@domain as sent; "" for <>, "Postmaster"
				 * (as sent) for <Postmaster> */
	char *addr_alabel;	/* local@domain_alabel */
	char *local;
	char *local_unquoted;
	char *domain;
	char *domain_alabel;
};

/* The path at the start of arg[0..len) (which starts with "<").  utf8:
 * non-ASCII may appear (MAIL: the SMTPUTF8 parameter was given; RCPT: the
 * transaction is SMTPUTF8).  *used is the path's length in octets, up to
 * and including its ">": the parameters follow.  0, or -1 with *r (and p
 * freed and zeroed). */
int smtpd_path_parse(const char *arg, size_t len, enum smtpd_path_kind kind,
    int utf8, const struct smtpd_opts *o, struct smtpd_path *p, size_t *used,
    struct smtpd_reply *r);
void smtpd_path_free(struct smtpd_path *p);

enum smtpd_body {
	SMTPD_BODY_NONE = 0,	/* no BODY= (RFC 5321: 7bit) */
	SMTPD_BODY_7BIT, SMTPD_BODY_8BITMIME, SMTPD_BODY_BINARYMIME
};

struct smtpd_mail {
	struct smtpd_path path;
	int has_size;
	uint64_t size;		/* SIZE=; saturates at UINT64_MAX */
	enum smtpd_body body;
	int smtputf8;		/* SMTPUTF8 */
	int prdr;		/* PRDR */
	int auth;		/* AUTH=xtext seen (and ignored: we never
				 * authenticate, RFC 4954 5 lets us) */
};

/* MAIL: arg as smtpd_cmd_parse gave it (from "<" on).  The parameters are
 * read first, so that the path is read knowing whether SMTPUTF8 was
 * given.  0, or -1 with *r (m freed and zeroed). */
int smtpd_mail_parse(const char *arg, size_t len, const struct smtpd_opts *o,
    struct smtpd_mail *m, struct smtpd_reply *r);
void smtpd_mail_free(struct smtpd_mail *m);

/* RCPT: utf8 when the transaction is SMTPUTF8 (its MAIL had SMTPUTF8).
 * 0, or -1 with *r (p freed and zeroed). */
int smtpd_rcpt_parse(const char *arg, size_t len, const struct smtpd_opts *o,
    int utf8, struct smtpd_path *p, struct smtpd_reply *r);

/* EHLO/HELO arguments (RFC 5321 4.1.1.1: a Domain or an address literal). */
enum smtpd_helo {
	SMTPD_HELO_DOMAIN,	/* a Domain, ASCII */
	SMTPD_HELO_LITERAL,	/* [IPv4] or [IPv6:...] that inet_pton reads */
	SMTPD_HELO_IDN,		/* a domain with U-labels libidn2 accepts */
	SMTPD_HELO_INVALID	/* anything else; *why says what */
};
/* What arg[0..len) is; *why is a static string ("" unless invalid).  The
 * reply for a core that refuses invalid ones (Exim does unless
 * helo_accept_junk_hosts matches), in Exim's words: 501 5.5.4
 * "Syntactically invalid EHLO argument(s)" (or HELO). */
enum smtpd_helo smtpd_helo_check(const char *arg, size_t len,
    const char **why);
void smtpd_helo_reply(struct smtpd_reply *r, enum smtpd_verb verb);

/* Append a reply to b: lines "CODE-X.Y.Z text" and a last "CODE X.Y.Z
 * text", each ending in CRLF and at most SMTPD_REPLY_MAX octets.  text is
 * split into lines at '\n'; a line too long is wrapped at a space (or cut)
 * onto the next line; CR, other control characters but HT, and
 * octets >= 0x80 become '?' (with SMTPD_REPLY_UTF8, for a client that
 * sent SMTPUTF8, well-formed UTF-8 stays), so text from a hook can never
 * inject a line.  An enhanced code that is not "C.S.D" (digits) is left
 * out.  enh may be NULL or "" (no enhanced code).  code must be 200..599.
 * 0, or -1 when out of memory (b->oom) or code is out of range. */
#define SMTPD_REPLY_UTF8	0x01
int smtpd_reply_add(struct out_buf *b, int code, const char *enh,
    const char *text, unsigned flags);
/* The same into buf[0..size) (NUL-terminated): the length, or -1 when it
 * does not fit (buf then holds ""). */
long smtpd_reply_buf(char *buf, size_t size, int code, const char *enh,
    const char *text, unsigned flags);
/* r's reply (smtpd_reply_add of r->code, r->enh, r->text). */
int smtpd_reply_add_r(struct out_buf *b, const struct smtpd_reply *r);

#endif
