/* Unit tests for lib/smtpd_cmd: every verb, every parameter, every error
 * with its reply, the limits at N and N+1, UTF-8 with and without
 * SMTPUTF8, IDN domains to A-labels, address literals, source routes, and
 * the reply formatter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "smtpd_cmd.h"

#define ALLX	(SMTPD_X_SIZE | SMTPD_X_8BITMIME | SMTPD_X_SMTPUTF8 | \
		SMTPD_X_PRDR | SMTPD_X_BINARYMIME)

static const struct smtpd_opts all = { ALLX, 0, 0, 0, 0 };

static int
parse(const char *line, struct smtpd_cmd *c)
{
	return smtpd_cmd_parse(line, strlen(line), 0, c);
}

static void
cmd_ok(const char *line, enum smtpd_verb verb, const char *arg)
{
	struct smtpd_cmd c;

	assert_int_equal(parse(line, &c), 0);
	assert_int_equal(c.verb, verb);
	assert_int_equal(c.reply.err, SMTPD_OK);
	assert_int_equal(c.reply.code, 0);
	assert_int_equal(c.arglen, strlen(arg));
	assert_memory_equal(c.arg, arg, c.arglen);
}

static void
cmd_err(const char *line, size_t len, enum smtpd_err err, int code,
    const char *enh)
{
	struct smtpd_cmd c;

	assert_int_equal(smtpd_cmd_parse(line, len, 0, &c), -1);
	assert_int_equal(c.reply.err, err);
	assert_int_equal(c.reply.code, code);
	assert_string_equal(c.reply.enh, enh);
	assert_non_null(c.reply.text);
	assert_true(strlen(c.reply.text) > 0);
}

static void
test_verbs(void **state)
{
	(void)state;
	cmd_ok("HELO mx.example.org", SMTPD_HELO, "mx.example.org");
	cmd_ok("ehlo mx.example.org", SMTPD_EHLO, "mx.example.org");
	cmd_ok("EhLo [192.0.2.1]", SMTPD_EHLO, "[192.0.2.1]");
	cmd_ok("MAIL FROM:<a@b.example>", SMTPD_MAIL, "<a@b.example>");
	cmd_ok("RCPT TO:<a@b.example>", SMTPD_RCPT, "<a@b.example>");
	cmd_ok("DATA", SMTPD_DATA, "");
	cmd_ok("data", SMTPD_DATA, "");
	cmd_ok("BDAT 10", SMTPD_BDAT, "10");
	cmd_ok("RSET", SMTPD_RSET, "");
	cmd_ok("NOOP", SMTPD_NOOP, "");
	cmd_ok("NOOP anything at all", SMTPD_NOOP, "anything at all");
	cmd_ok("QUIT", SMTPD_QUIT, "");
	cmd_ok("quit", SMTPD_QUIT, "");
	cmd_ok("HELP", SMTPD_HELP, "");
	cmd_ok("HELP MAIL", SMTPD_HELP, "MAIL");
	cmd_ok("VRFY postmaster", SMTPD_VRFY, "postmaster");
	cmd_ok("EXPN staff", SMTPD_EXPN, "staff");
	cmd_ok("STARTTLS", SMTPD_STARTTLS, "");
	cmd_ok("starttls", SMTPD_STARTTLS, "");
	cmd_ok("AUTH PLAIN AGFAYg==", SMTPD_AUTH, "PLAIN AGFAYg==");
	/* Trailing blanks are not part of anything; extra spaces after the
	 * verb are tolerated. */
	cmd_ok("QUIT  \t ", SMTPD_QUIT, "");
	cmd_ok("DATA ", SMTPD_DATA, "");
	cmd_ok("HELO   mx.example.org  ", SMTPD_HELO, "mx.example.org");
	assert_string_equal(smtpd_verb_name(SMTPD_STARTTLS), "STARTTLS");
	assert_string_equal(smtpd_verb_name(SMTPD_UNKNOWN), "UNKNOWN");
}

static void
test_verb_errors(void **state)
{
	struct smtpd_cmd c;

	(void)state;
	cmd_err("FOO bar", 7, SMTPD_E_UNKNOWN, 500, "5.5.1");
	cmd_err("MAILFROM:<>", 11, SMTPD_E_UNKNOWN, 500, "5.5.1");
	cmd_err("HELO\tx", 6, SMTPD_E_UNKNOWN, 500, "5.5.1");
	cmd_err("DATA x", 6, SMTPD_E_NO_PARAMS, 501, "5.5.4");
	cmd_err("RSET now", 8, SMTPD_E_NO_PARAMS, 501, "5.5.4");
	cmd_err("QUIT bye", 8, SMTPD_E_NO_PARAMS, 501, "5.5.4");
	cmd_err("STARTTLS x", 10, SMTPD_E_NO_PARAMS, 501, "5.5.4");
	cmd_err("EHLO", 4, SMTPD_E_NEED_ARG, 501, "5.5.4");
	cmd_err("HELO ", 5, SMTPD_E_NEED_ARG, 501, "5.5.4");
	cmd_err("VRFY", 4, SMTPD_E_NEED_ARG, 501, "5.5.4");
	cmd_err("EXPN", 4, SMTPD_E_NEED_ARG, 501, "5.5.4");
	/* The verb is known even when its arguments are wrong. */
	assert_int_equal(parse("DATA x", &c), -1);
	assert_int_equal(c.verb, SMTPD_DATA);
	assert_string_equal(smtpd_err_name(c.reply.err), "no_params");
}

static void
test_line_errors(void **state)
{
	char line[1100];
	struct smtpd_cmd c;

	(void)state;
	cmd_err("", 0, SMTPD_E_EMPTY, 500, "5.5.2");
	cmd_err("   ", 3, SMTPD_E_EMPTY, 500, "5.5.2");
	cmd_err("NOOP\0x", 6, SMTPD_E_NUL, 500, "5.5.2");
	cmd_err("\0", 1, SMTPD_E_NUL, 500, "5.5.2");
	cmd_err("MAIL FROM:<a\0@b>", 16, SMTPD_E_NUL, 500, "5.5.2");
	cmd_err("H\xc3\x89LO x", 7, SMTPD_E_8BIT, 500, "5.5.2");
	cmd_err("NOOP \xff", 6, SMTPD_E_8BIT, 500, "5.5.2");
	cmd_err("HELP \xc3\xa9", 7, SMTPD_E_8BIT, 500, "5.5.2");
	cmd_err("AUTH \xc3\xa9", 7, SMTPD_E_8BIT, 500, "5.5.2");
	/* 8-bit where SMTPUTF8 (or the HELO check) decides. */
	assert_int_equal(parse("MAIL FROM:<\xc3\xa9@b.example>", &c), 0);
	assert_true(c.eightbit);
	assert_int_equal(parse("RCPT TO:<\xc3\xa9@b.example>", &c), 0);
	assert_true(c.eightbit);
	assert_int_equal(parse("VRFY \xc3\xa9", &c), 0);
	assert_int_equal(parse("EHLO b\xc3\xbc" "cher.example", &c), 0);
	assert_true(c.eightbit);
	assert_int_equal(parse("MAIL FROM:<a@b.example>", &c), 0);
	assert_false(c.eightbit);

	/* 512 octets with the CRLF: 510 without is the most. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	assert_int_equal(smtpd_cmd_parse(line, 510, 0, &c), 0);
	assert_int_equal(smtpd_cmd_parse(line, 511, 0, &c), -1);
	assert_int_equal(c.reply.err, SMTPD_E_LINE_TOO_LONG);
	assert_int_equal(c.reply.code, 500);
	assert_string_equal(c.reply.enh, "5.5.2");
	assert_string_equal(c.reply.text, "Line too long");
	assert_int_equal(c.verb, SMTPD_NOOP);
	/* The core's own limit. */
	assert_int_equal(smtpd_cmd_parse(line, 998, 1000, &c), 0);
	assert_int_equal(smtpd_cmd_parse(line, 999, 1000, &c), -1);
	assert_int_equal(c.reply.err, SMTPD_E_LINE_TOO_LONG);
	assert_int_equal(smtpd_cmd_parse(line, 1, 1, &c), -1);
	assert_int_equal(c.reply.err, SMTPD_E_LINE_TOO_LONG);
	/* Too long wins over NUL: the core read only part of it. */
	line[20] = '\0';
	assert_int_equal(smtpd_cmd_parse(line, 511, 0, &c), -1);
	assert_int_equal(c.reply.err, SMTPD_E_LINE_TOO_LONG);
	assert_int_equal(smtpd_cmd_parse(line, 510, 0, &c), -1);
	assert_int_equal(c.reply.err, SMTPD_E_NUL);
}

static void
test_mail_rcpt_prefix(void **state)
{
	struct smtpd_cmd c;

	(void)state;
	cmd_ok("MAIL FROM:<>", SMTPD_MAIL, "<>");
	cmd_ok("mail from:<>", SMTPD_MAIL, "<>");
	cmd_ok("Mail From:<> SIZE=10", SMTPD_MAIL, "<> SIZE=10");
	cmd_ok("rcpt to:<a@b.example>", SMTPD_RCPT, "<a@b.example>");
	/* The space after the colon: not RFC 5321, accepted and noted. */
	assert_int_equal(parse("MAIL FROM: <a@b.example>", &c), 0);
	assert_true(c.lax_space);
	assert_int_equal(c.arglen, 13);
	assert_int_equal(parse("RCPT TO:  <a@b.example>", &c), 0);
	assert_true(c.lax_space);
	assert_int_equal(parse("RCPT TO:<a@b.example>", &c), 0);
	assert_false(c.lax_space);
	cmd_err("MAIL", 4, SMTPD_E_MAIL_SYNTAX, 501, "5.5.4");
	cmd_err("MAIL FROM:", 10, SMTPD_E_MAIL_SYNTAX, 501, "5.5.4");
	cmd_err("MAIL FROM: ", 11, SMTPD_E_MAIL_SYNTAX, 501, "5.5.4");
	cmd_err("MAIL TO:<>", 10, SMTPD_E_MAIL_SYNTAX, 501, "5.5.4");
	cmd_err("MAIL FROM <>", 12, SMTPD_E_MAIL_SYNTAX, 501, "5.5.4");
	cmd_err("RCPT", 4, SMTPD_E_RCPT_SYNTAX, 501, "5.5.4");
	cmd_err("RCPT FROM:<a@b>", 15, SMTPD_E_RCPT_SYNTAX, 501, "5.5.4");
	cmd_err("RCPT TO:", 8, SMTPD_E_RCPT_SYNTAX, 501, "5.5.4");
}

static void
test_bdat(void **state)
{
	struct smtpd_cmd c;

	(void)state;
	assert_int_equal(parse("BDAT 100", &c), 0);
	assert_int_equal(c.bdat_size, 100);
	assert_false(c.bdat_last);
	assert_int_equal(parse("BDAT 0 LAST", &c), 0);
	assert_int_equal(c.bdat_size, 0);
	assert_true(c.bdat_last);
	assert_int_equal(parse("bdat 5 last", &c), 0);
	assert_int_equal(c.bdat_size, 5);
	assert_true(c.bdat_last);
	assert_int_equal(parse("BDAT 18446744073709551615 Last", &c), 0);
	assert_true(c.bdat_size == UINT64_MAX);
	cmd_err("BDAT 18446744073709551616", 25, SMTPD_E_BDAT_SYNTAX, 501,
	    "5.5.4");
	cmd_err("BDAT", 4, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT x", 6, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT -1", 7, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT 5 LASTX", 12, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT 5 FIRST", 12, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT 5x", 7, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT 5  LAST", 12, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
	cmd_err("BDAT 5 LAST x", 13, SMTPD_E_BDAT_SYNTAX, 501, "5.5.4");
}

/* MAIL: the line through smtpd_cmd_parse, then smtpd_mail_parse. */
static int
mail(const char *line, const struct smtpd_opts *o, struct smtpd_mail *m,
    struct smtpd_reply *r)
{
	struct smtpd_cmd c;

	assert_int_equal(parse(line, &c), 0);
	assert_int_equal(c.verb, SMTPD_MAIL);
	return smtpd_mail_parse(c.arg, c.arglen, o, m, r);
}

static int
rcpt(const char *line, const struct smtpd_opts *o, int utf8,
    struct smtpd_path *p, struct smtpd_reply *r)
{
	struct smtpd_cmd c;

	assert_int_equal(parse(line, &c), 0);
	assert_int_equal(c.verb, SMTPD_RCPT);
	return smtpd_rcpt_parse(c.arg, c.arglen, o, utf8, p, r);
}

static void
mail_err(const char *line, const struct smtpd_opts *o, enum smtpd_err err,
    int code, const char *enh)
{
	struct smtpd_mail m;
	struct smtpd_reply r;

	if (mail(line, o, &m, &r) != -1)
		fail_msg("accepted: %s", line);
	if (r.err != err)
		fail_msg("%s: %s, not %s", line, smtpd_err_name(r.err),
		    smtpd_err_name(err));
	assert_int_equal(r.code, code);
	assert_string_equal(r.enh, enh);
	assert_null(m.path.addr);
}

static void
rcpt_err(const char *line, int utf8, enum smtpd_err err, int code,
    const char *enh)
{
	struct smtpd_path p;
	struct smtpd_reply r;

	if (rcpt(line, &all, utf8, &p, &r) != -1)
		fail_msg("accepted: %s", line);
	if (r.err != err)
		fail_msg("%s: %s, not %s", line, smtpd_err_name(r.err),
		    smtpd_err_name(err));
	assert_int_equal(r.code, code);
	assert_string_equal(r.enh, enh);
	assert_null(p.addr);
}

/* A good MAIL's address (and A-label form). */
static void
mail_addr(const char *line, const char *addr, const char *alabel)
{
	struct smtpd_mail m;
	struct smtpd_reply r;

	if (mail(line, &all, &m, &r) != 0)
		fail_msg("%s: %s", line, smtpd_err_name(r.err));
	assert_string_equal(m.path.addr, addr);
	assert_string_equal(m.path.addr_alabel, alabel);
	smtpd_mail_free(&m);
	assert_null(m.path.addr);
}

static void
test_paths(void **state)
{
	struct smtpd_mail m;
	struct smtpd_path p;
	struct smtpd_reply r;

	(void)state;
	assert_int_equal(mail("MAIL FROM:<user@example.org>", &all, &m, &r),
	    0);
	assert_string_equal(m.path.local, "user");
	assert_string_equal(m.path.local_unquoted, "user");
	assert_string_equal(m.path.domain, "example.org");
	assert_string_equal(m.path.domain_alabel, "example.org");
	assert_string_equal(m.path.addr, "user@example.org");
	assert_false(m.path.null || m.path.utf8 || m.path.quoted ||
	    m.path.routed || m.path.literal);
	smtpd_mail_free(&m);

	/* The null reverse-path, MAIL only. */
	assert_int_equal(mail("MAIL FROM:<>", &all, &m, &r), 0);
	assert_true(m.path.null);
	assert_string_equal(m.path.addr, "");
	assert_string_equal(m.path.domain, "");
	smtpd_mail_free(&m);
	rcpt_err("RCPT TO:<>", 0, SMTPD_E_NULL_RCPT, 553, "5.1.3");

	/* Postmaster without a domain: RCPT only, any case. */
	assert_int_equal(rcpt("RCPT TO:<postMASTER>", &all, 0, &p, &r), 0);
	assert_true(p.postmaster);
	assert_string_equal(p.addr, "postMASTER");
	assert_string_equal(p.domain, "");
	smtpd_path_free(&p);
	assert_int_equal(rcpt("RCPT TO:<Postmaster@example.org>", &all, 0, &p,
	    &r), 0);
	assert_false(p.postmaster);
	assert_string_equal(p.addr, "Postmaster@example.org");
	smtpd_path_free(&p);
	mail_err("MAIL FROM:<Postmaster>", &all, SMTPD_E_NO_DOMAIN, 553,
	    "5.1.7");
	rcpt_err("RCPT TO:<user>", 0, SMTPD_E_NO_DOMAIN, 553, "5.1.3");
	rcpt_err("RCPT TO:<user@>", 0, SMTPD_E_NO_DOMAIN, 553, "5.1.3");
	rcpt_err("RCPT TO:<@a.example:Postmaster>", 0, SMTPD_E_NO_DOMAIN,
	    553, "5.1.3");

	/* Source routes: read, checked, dropped. */
	assert_int_equal(rcpt("RCPT TO:<@a.example,@[192.0.2.1]:u@c.example>",
	    &all, 0, &p, &r), 0);
	assert_true(p.routed);
	assert_string_equal(p.addr, "u@c.example");
	smtpd_path_free(&p);
	mail_addr("MAIL FROM:<@a.example:u@c.example>", "u@c.example",
	    "u@c.example");
	rcpt_err("RCPT TO:<@a.example:>", 0, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<@:u@c.example>", 0, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<@a..b:u@c.example>", 0, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<@a.example u@c.example>", 0, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.3");
	rcpt_err("RCPT TO:<@a.example,u@c.example>", 0, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.3");

	/* Quoted local parts: kept as sent, and unquoted. */
	assert_int_equal(rcpt("RCPT TO:<\"a b\"@example.org>", &all, 0, &p,
	    &r), 0);
	assert_true(p.quoted);
	assert_string_equal(p.local, "\"a b\"");
	assert_string_equal(p.local_unquoted, "a b");
	assert_string_equal(p.addr, "\"a b\"@example.org");
	smtpd_path_free(&p);
	assert_int_equal(rcpt("RCPT TO:<\"a\\\"b>c\\\\\"@example.org> ", &all,
	    0, &p, &r), 0);
	assert_string_equal(p.local_unquoted, "a\"b>c\\");
	smtpd_path_free(&p);
	assert_int_equal(rcpt("RCPT TO:<\"\"@example.org>", &all, 0, &p, &r),
	    0);
	assert_string_equal(p.local_unquoted, "");
	smtpd_path_free(&p);
	rcpt_err("RCPT TO:<\"a@example.org>", 0, SMTPD_E_RCPT_SYNTAX, 501,
	    "5.5.4");
	rcpt_err("RCPT TO:<\"a\"b@example.org>", 0, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<\"a\tb\"@example.org>", 0, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.3");

	/* Dot-strings. */
	mail_addr("MAIL FROM:<a.b+c=d/e!#$%&'*?^_`{|}~-@example.org>",
	    "a.b+c=d/e!#$%&'*?^_`{|}~-@example.org",
	    "a.b+c=d/e!#$%&'*?^_`{|}~-@example.org");
	mail_err("MAIL FROM:<a..b@example.org>", &all, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.7");
	mail_err("MAIL FROM:<.a@example.org>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<a.@example.org>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<a(b)@example.org>", &all, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.7");
	mail_err("MAIL FROM:<a b@example.org>", &all, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.7");
	mail_err("MAIL FROM:<a@b@example.org>", &all, SMTPD_E_ADDR_SYNTAX,
	    553, "5.1.7");
	mail_err("MAIL FROM:<@example.org>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");

	/* Domains. */
	mail_addr("MAIL FROM:<u@localhost>", "u@localhost", "u@localhost");
	mail_addr("MAIL FROM:<u@a-b.0.Example.ORG>", "u@a-b.0.Example.ORG",
	    "u@a-b.0.Example.ORG");
	mail_err("MAIL FROM:<u@example.org.>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<u@.example.org>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<u@-a.example>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<u@a-.example>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");
	mail_err("MAIL FROM:<u@a_b.example>", &all, SMTPD_E_ADDR_SYNTAX, 553,
	    "5.1.7");

	/* Not a path at all. */
	mail_err("MAIL FROM:user@example.org", &all, SMTPD_E_MAIL_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<user@example.org", &all, SMTPD_E_MAIL_SYNTAX,
	    501, "5.5.4");
	rcpt_err("RCPT TO:user@example.org", 0, SMTPD_E_RCPT_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<a@example.org>x", &all, SMTPD_E_PARAM_SYNTAX,
	    501, "5.5.4");
}

static void
test_path_parse(void **state)
{
	struct smtpd_path p;
	struct smtpd_reply r;
	size_t used;
	const char *s = "<a@example.org> SIZE=1";

	(void)state;
	assert_int_equal(smtpd_path_parse(s, strlen(s), SMTPD_PATH_RCPT, 0,
	    NULL, &p, &used, &r), 0);
	assert_int_equal(used, 15);
	assert_string_equal(p.addr, "a@example.org");
	smtpd_path_free(&p);
	smtpd_path_free(&p);	/* twice is fine */
	smtpd_path_free(NULL);
	assert_int_equal(smtpd_path_parse("x", 1, SMTPD_PATH_MAIL, 0, NULL,
	    &p, &used, &r), -1);
	assert_int_equal(r.err, SMTPD_E_ADDR_SYNTAX);
	assert_int_equal(used, 0);
	assert_int_equal(smtpd_path_parse("<>", 2, SMTPD_PATH_RCPT, 0, NULL,
	    &p, &used, &r), -1);
	assert_int_equal(r.err, SMTPD_E_NULL_RCPT);
	assert_int_equal(smtpd_path_parse("<>", 2, SMTPD_PATH_MAIL, 0, NULL,
	    &p, &used, &r), 0);
	assert_true(p.null);
	smtpd_path_free(&p);
	/* NUL: smtpd_cmd_parse refuses it, and so does this on its own. */
	assert_int_equal(smtpd_path_parse("<a\0b@example.org>", 17,
	    SMTPD_PATH_MAIL, 0, NULL, &p, &used, &r), -1);
	assert_int_equal(r.err, SMTPD_E_ADDR_SYNTAX);
	assert_int_equal(smtpd_path_parse("<a@[192.0.2.1\0x]>", 18,
	    SMTPD_PATH_RCPT, 0, NULL, &p, &used, &r), -1);
	assert_int_equal(smtpd_path_parse("<a@b\xc3\xbc\0x.example>", 20,
	    SMTPD_PATH_RCPT, 1, NULL, &p, &used, &r), -1);
	assert_null(p.addr);
}

static char *
mkpath(const char *pre, size_t nlocal, size_t ndomain, const char *post)
{
	char *s = malloc(strlen(pre) + nlocal + ndomain + strlen(post) + 4);
	size_t i, k = 0;

	assert_non_null(s);
	k += (size_t)sprintf(s, "%s<", pre);
	memset(s + k, 'l', nlocal);
	k += nlocal;
	s[k++] = '@';
	/* Labels of 49 octets and a dot: 50 per step. */
	for (i = 0; i < ndomain; i++)
		s[k + i] = (i % 50 == 49 && i + 1 < ndomain) ? '.' : 'd';
	k += ndomain;
	sprintf(s + k, ">%s", post);
	return s;
}

static void
test_limits(void **state)
{
	struct smtpd_opts big = { ALLX, 0, 100, 400, 600 };
	struct smtpd_mail m;
	struct smtpd_path p;
	struct smtpd_reply r;
	char *s;

	(void)state;
	/* Local part 64 / 65 (the path then 256 at most: domain 189). */
	s = mkpath("MAIL FROM:", 64, 189, "");
	assert_int_equal(mail(s, &all, &m, &r), 0);
	assert_int_equal(strlen(m.path.local), 64);
	smtpd_mail_free(&m);
	free(s);
	s = mkpath("MAIL FROM:", 65, 188, "");
	mail_err(s, &all, SMTPD_E_LOCAL_TOO_LONG, 553, "5.1.7");
	assert_int_equal(mail(s, &big, &m, &r), 0);
	smtpd_mail_free(&m);
	free(s);
	/* Path 256 / 257: "<" local "@" domain ">". */
	s = mkpath("RCPT TO:", 60, 193, "");
	assert_int_equal(rcpt(s, &all, 0, &p, &r), 0);
	smtpd_path_free(&p);
	free(s);
	s = mkpath("RCPT TO:", 60, 194, "");
	rcpt_err(s, 0, SMTPD_E_PATH_TOO_LONG, 501, "5.5.4");
	free(s);
	s = mkpath("MAIL FROM:", 60, 194, " SIZE=1");
	mail_err(s, &all, SMTPD_E_PATH_TOO_LONG, 501, "5.5.4");
	free(s);
	/* An unterminated one longer than the limit is too long too. */
	s = mkpath("MAIL FROM:", 60, 300, "");
	s[strlen(s) - 1] = 'x';
	mail_err(s, &all, SMTPD_E_PATH_TOO_LONG, 501, "5.5.4");
	free(s);
	/* Domain 255 / 256, with the core's larger path limit. */
	s = mkpath("RCPT TO:", 1, 255, "");
	assert_int_equal(rcpt(s, &big, 0, &p, &r), 0);
	assert_int_equal(strlen(p.domain), 255);
	smtpd_path_free(&p);
	free(s);
	s = mkpath("RCPT TO:", 1, 256, "");
	assert_int_equal(rcpt(s, &big, 0, &p, &r), 0);
	smtpd_path_free(&p);
	big.domain_max = 0;
	assert_int_equal(rcpt(s, &big, 0, &p, &r), -1);
	assert_int_equal(r.err, SMTPD_E_DOMAIN_TOO_LONG);
	assert_int_equal(r.code, 553);
	assert_string_equal(r.enh, "5.1.3");
	free(s);
	/* A label of 63 / 64. */
	mail_addr("MAIL FROM:<u@"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example>",
	    "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example",
	    "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example");
	mail_err("MAIL FROM:<u@"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example>", &all, SMTPD_E_ADDR_SYNTAX, 553, "5.1.7");
}

static void
test_literals(void **state)
{
	struct smtpd_path p;
	struct smtpd_reply r;

	(void)state;
	assert_int_equal(rcpt("RCPT TO:<u@[192.0.2.1]>", &all, 0, &p, &r), 0);
	assert_true(p.literal);
	assert_string_equal(p.domain, "[192.0.2.1]");
	assert_string_equal(p.domain_alabel, "[192.0.2.1]");
	smtpd_path_free(&p);
	mail_addr("MAIL FROM:<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]",
	    "u@[IPv6:2001:db8::1]");
	mail_addr("MAIL FROM:<u@[ipv6:::1]>", "u@[ipv6:::1]", "u@[ipv6:::1]");
	mail_addr("MAIL FROM:<u@[IPv6:::ffff:192.0.2.1]>",
	    "u@[IPv6:::ffff:192.0.2.1]", "u@[IPv6:::ffff:192.0.2.1]");
	rcpt_err("RCPT TO:<u@[300.1.1.1]>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<u@[1.2.3]>", 0, SMTPD_E_ADDR_LITERAL, 553, "5.1.3");
	rcpt_err("RCPT TO:<u@[2001:db8::1]>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<u@[IPv6:zz::1]>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<u@[IPv6:192.0.2.1]>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<u@[x400:foo]>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<u@[]>", 0, SMTPD_E_ADDR_LITERAL, 553, "5.1.3");
	rcpt_err("RCPT TO:<u@[192.0.2.1>", 0, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.3");
	mail_err("MAIL FROM:<u@[192.0.2.1]x>", &all, SMTPD_E_ADDR_LITERAL, 553,
	    "5.1.7");
}

static void
test_utf8(void **state)
{
	struct smtpd_opts noutf8 = { ALLX & ~SMTPD_X_SMTPUTF8, 0, 0, 0, 0 };
	struct smtpd_mail m;
	struct smtpd_path p;
	struct smtpd_reply r;

	(void)state;
	/* 用户@例子.广告 */
	mail_err("MAIL FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a>", &all, SMTPD_E_UTF8_NEEDED, 553,
	    "5.6.7");
	assert_int_equal(mail("MAIL FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe"
	    "\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a> SMTPUTF8", &all, &m,
	    &r), 0);
	assert_true(m.smtputf8);
	assert_true(m.path.utf8);
	assert_string_equal(m.path.domain,
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a");
	assert_string_equal(m.path.domain_alabel, "xn--fsqu00a.xn--4rr70v");
	assert_string_equal(m.path.addr_alabel,
	    "\xe7\x94\xa8\xe6\x88\xb7@xn--fsqu00a.xn--4rr70v");
	assert_string_equal(m.path.local, "\xe7\x94\xa8\xe6\x88\xb7");
	smtpd_mail_free(&m);
	/* SMTPUTF8 when not offered (no EHLO keyword): 555. */
	mail_err("MAIL FROM:<a@example.org> SMTPUTF8", &noutf8,
	    SMTPD_E_PARAM_UNKNOWN, 555, "5.5.4");
	/* An ASCII address with SMTPUTF8 is fine. */
	assert_int_equal(mail("MAIL FROM:<a@example.org> smtputf8", &all, &m,
	    &r), 0);
	assert_true(m.smtputf8);
	assert_false(m.path.utf8);
	smtpd_mail_free(&m);
	/* A UTF-8 local part only, and an IDN domain only. */
	mail_err("MAIL FROM:<j\xc3\xb6rg@example.org>", &all,
	    SMTPD_E_UTF8_NEEDED, 553, "5.6.7");
	mail_err("MAIL FROM:<a@b\xc3\xbc" "cher.example>", &all,
	    SMTPD_E_UTF8_NEEDED, 553, "5.6.7");
	assert_int_equal(mail("MAIL FROM:<a@B\xc3\xbc" "cher.Example> SMTPUTF8",
	    &all, &m, &r), 0);
	assert_string_equal(m.path.domain_alabel, "xn--bcher-kva.example");
	smtpd_mail_free(&m);
	/* RCPT: the transaction decides. */
	rcpt_err("RCPT TO:<j\xc3\xb6rg@example.org>", 0, SMTPD_E_UTF8_NEEDED,
	    553, "5.6.7");
	assert_int_equal(rcpt("RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>",
	    &all, 1, &p, &r), 0);
	assert_true(p.utf8);
	assert_string_equal(p.addr_alabel, "j\xc3\xb6rg@xn--bcher-kva.example");
	smtpd_path_free(&p);
	/* UTF-8 in a quoted local part. */
	assert_int_equal(rcpt("RCPT TO:<\"j\xc3\xb6 rg\"@example.org>", &all, 1,
	    &p, &r), 0);
	assert_string_equal(p.local_unquoted, "j\xc3\xb6 rg");
	smtpd_path_free(&p);
	/* Not UTF-8 at all: a Latin-1 octet, an overlong, a surrogate. */
	mail_err("MAIL FROM:<j\xf6rg@example.org> SMTPUTF8", &all,
	    SMTPD_E_UTF8_INVALID, 553, "5.1.7");
	rcpt_err("RCPT TO:<j\xf6rg@example.org>", 1, SMTPD_E_UTF8_INVALID, 553,
	    "5.1.3");
	rcpt_err("RCPT TO:<\xc0\xafx@example.org>", 1, SMTPD_E_UTF8_INVALID,
	    553, "5.1.3");
	rcpt_err("RCPT TO:<\xed\xa0\x80x@example.org>", 1,
	    SMTPD_E_UTF8_INVALID, 553, "5.1.3");
	rcpt_err("RCPT TO:<j\xf6rg@example.org>", 0, SMTPD_E_UTF8_NEEDED, 553,
	    "5.6.7");
	/* Valid UTF-8, not a valid IDN: U+2603 SNOWMAN. */
	rcpt_err("RCPT TO:<a@\xe2\x98\x83.example>", 1, SMTPD_E_IDN, 553,
	    "5.1.3");
	mail_err("MAIL FROM:<a@\xe2\x98\x83.example> SMTPUTF8", &all,
	    SMTPD_E_IDN, 553, "5.1.7");
	/* U-labels may not smuggle ASCII that is not LDH. */
	rcpt_err("RCPT TO:<a@\xc3\xbc_x.example>", 1, SMTPD_E_IDN, 553,
	    "5.1.3");
}

static void
test_params(void **state)
{
	struct smtpd_opts lim = { ALLX, 1000, 0, 0, 0 };
	struct smtpd_opts none = { 0, 0, 0, 0, 0 };
	struct smtpd_opts no8 = { SMTPD_X_SIZE, 0, 0, 0, 0 };
	struct smtpd_mail m;
	struct smtpd_reply r;

	(void)state;
	assert_int_equal(mail("MAIL FROM:<> SIZE=1000 BODY=8BITMIME SMTPUTF8 "
	    "PRDR AUTH=<>", &lim, &m, &r), 0);
	assert_true(m.has_size);
	assert_int_equal(m.size, 1000);
	assert_int_equal(m.body, SMTPD_BODY_8BITMIME);
	assert_true(m.smtputf8 && m.prdr && m.auth);
	smtpd_mail_free(&m);
	assert_int_equal(mail("MAIL FROM:<a@b.example>   size=12  body=7bit "
	    " prdr", &all, &m, &r), 0);
	assert_int_equal(m.size, 12);
	assert_int_equal(m.body, SMTPD_BODY_7BIT);
	assert_true(m.prdr);
	assert_false(m.smtputf8 || m.auth);
	smtpd_mail_free(&m);
	assert_int_equal(mail("MAIL FROM:<> BODY=BinaryMIME", &all, &m, &r), 0);
	assert_int_equal(m.body, SMTPD_BODY_BINARYMIME);
	smtpd_mail_free(&m);
	assert_int_equal(mail("MAIL FROM:<>", &all, &m, &r), 0);
	assert_false(m.has_size);
	assert_int_equal(m.body, SMTPD_BODY_NONE);
	smtpd_mail_free(&m);

	/* SIZE: the limit at N and N+1, digits only, 1*20, saturating. */
	mail_err("MAIL FROM:<> SIZE=1001", &lim, SMTPD_E_SIZE, 552, "5.3.4");
	mail_err("MAIL FROM:<> SIZE=", &all, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> SIZE", &all, SMTPD_E_PARAM_VALUE, 501, "5.5.4");
	mail_err("MAIL FROM:<> SIZE=12k", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> SIZE=-1", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> SIZE=123456789012345678901", &all,
	    SMTPD_E_PARAM_VALUE, 501, "5.5.4");
	assert_int_equal(mail("MAIL FROM:<> SIZE=99999999999999999999", &all,
	    &m, &r), 0);
	assert_true(m.size == UINT64_MAX);
	smtpd_mail_free(&m);
	assert_int_equal(mail("MAIL FROM:<> SIZE=18446744073709551615", &all,
	    &m, &r), 0);
	assert_true(m.size == UINT64_MAX);
	smtpd_mail_free(&m);
	assert_int_equal(mail("MAIL FROM:<> SIZE=18446744073709551614", &all,
	    &m, &r), 0);
	assert_true(m.size == UINT64_MAX - 1);
	smtpd_mail_free(&m);
	mail_err("MAIL FROM:<> SIZE=99999999999999999999", &lim, SMTPD_E_SIZE,
	    552, "5.3.4");
	/* The size is refused before the address is looked at. */
	mail_err("MAIL FROM:<a..b@example.org> SIZE=2000", &lim, SMTPD_E_SIZE,
	    552, "5.3.4");

	/* BODY. */
	mail_err("MAIL FROM:<> BODY=9BIT", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> BODY", &all, SMTPD_E_PARAM_VALUE, 501, "5.5.4");
	mail_err("MAIL FROM:<> BODY=BINARYMIME", &no8, SMTPD_E_PARAM_UNKNOWN,
	    555, "5.5.4");
	mail_err("MAIL FROM:<> BODY=8BITMIME", &no8, SMTPD_E_PARAM_UNKNOWN,
	    555, "5.5.4");
	lim.ext = SMTPD_X_8BITMIME;
	mail_err("MAIL FROM:<> BODY=BINARYMIME", &lim, SMTPD_E_PARAM_UNKNOWN,
	    555, "5.5.4");
	/* No values for SMTPUTF8 and PRDR; AUTH takes xtext. */
	mail_err("MAIL FROM:<> SMTPUTF8=yes", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> PRDR=1", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> AUTH", &all, SMTPD_E_PARAM_VALUE, 501, "5.5.4");
	mail_err("MAIL FROM:<> AUTH=a+2b", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> AUTH=a+2", &all, SMTPD_E_PARAM_VALUE, 501,
	    "5.5.4");
	assert_int_equal(mail("MAIL FROM:<> AUTH=a+2Bb@example.org", &none,
	    &m, &r), 0);
	assert_true(m.auth);
	smtpd_mail_free(&m);
	/* Repeats, unknowns, not offered. */
	mail_err("MAIL FROM:<> SIZE=1 SIZE=2", &all, SMTPD_E_PARAM_DUP, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> PRDR prdr", &all, SMTPD_E_PARAM_DUP, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> BODY=7BIT body=8bitmime", &all,
	    SMTPD_E_PARAM_DUP, 501, "5.5.4");
	mail_err("MAIL FROM:<> X-FOO", &all, SMTPD_E_PARAM_UNKNOWN, 555,
	    "5.5.4");
	mail_err("MAIL FROM:<> RET=HDRS", &all, SMTPD_E_PARAM_UNKNOWN, 555,
	    "5.5.4");
	mail_err("MAIL FROM:<> SIZE=1", &none, SMTPD_E_PARAM_UNKNOWN, 555,
	    "5.5.4");
	mail_err("MAIL FROM:<> BODY=7BIT", &none, SMTPD_E_PARAM_UNKNOWN, 555,
	    "5.5.4");
	mail_err("MAIL FROM:<> PRDR", &none, SMTPD_E_PARAM_UNKNOWN, 555,
	    "5.5.4");
	/* esmtp-param syntax. */
	mail_err("MAIL FROM:<>SIZE=1", &all, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> =1", &all, SMTPD_E_PARAM_SYNTAX, 501, "5.5.4");
	mail_err("MAIL FROM:<> -X", &all, SMTPD_E_PARAM_SYNTAX, 501, "5.5.4");
	mail_err("MAIL FROM:<> A=b=c", &all, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> A_B", &all, SMTPD_E_PARAM_SYNTAX, 501, "5.5.4");
	mail_err("MAIL FROM:<> AUTH=\xc3\xa9", &all, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	mail_err("MAIL FROM:<> SIZE=1\tBODY=7BIT", &all, SMTPD_E_PARAM_SYNTAX,
	    501, "5.5.4");
}

static void
test_rcpt_params(void **state)
{
	struct smtpd_path p;
	struct smtpd_reply r;

	(void)state;
	rcpt_err("RCPT TO:<a@b.example> NOTIFY=NEVER", 0,
	    SMTPD_E_PARAM_UNKNOWN, 555, "5.5.4");
	rcpt_err("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example", 0,
	    SMTPD_E_PARAM_UNKNOWN, 555, "5.5.4");
	rcpt_err("RCPT TO:<a@b.example> =x", 0, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	rcpt_err("RCPT TO:<a@b.example>x", 0, SMTPD_E_PARAM_SYNTAX, 501,
	    "5.5.4");
	assert_int_equal(rcpt("RCPT TO:<a@b.example>   ", &all, 0, &p, &r), 0);
	smtpd_path_free(&p);
	assert_string_equal(r.text, "");
}

static void
helo_is(const char *arg, enum smtpd_helo want)
{
	const char *why = NULL;
	enum smtpd_helo got = smtpd_helo_check(arg, strlen(arg), &why);

	if (got != want)
		fail_msg("%s: %d (%s), not %d", arg, got, why, want);
	assert_non_null(why);
	if (want == SMTPD_HELO_INVALID)
		assert_true(*why != '\0');
	else
		assert_string_equal(why, "");
}

static void
test_helo(void **state)
{
	struct smtpd_reply r;
	const char *why;

	(void)state;
	helo_is("mx.example.org", SMTPD_HELO_DOMAIN);
	helo_is("localhost", SMTPD_HELO_DOMAIN);
	helo_is("MX1.Example.ORG", SMTPD_HELO_DOMAIN);
	helo_is("[192.0.2.1]", SMTPD_HELO_LITERAL);
	helo_is("[IPv6:2001:db8::25]", SMTPD_HELO_LITERAL);
	helo_is("b\xc3\xbc" "cher.example", SMTPD_HELO_IDN);
	helo_is("", SMTPD_HELO_INVALID);
	assert_int_equal(smtpd_helo_check("[192.0.2.1\0]", 12, &why),
	    SMTPD_HELO_INVALID);
	assert_int_equal(smtpd_helo_check("a\0b", 3, &why),
	    SMTPD_HELO_INVALID);
	assert_int_equal(smtpd_helo_check("\xc3\xbc\0b", 4, &why),
	    SMTPD_HELO_INVALID);
	helo_is("[192.0.2.256]", SMTPD_HELO_INVALID);
	helo_is("192.0.2.1 mx", SMTPD_HELO_INVALID);
	helo_is("my_pc.lan", SMTPD_HELO_INVALID);
	helo_is("mx.example.org.", SMTPD_HELO_INVALID);
	helo_is("-mx.example.org", SMTPD_HELO_INVALID);
	helo_is("b\xfc" "cher.example", SMTPD_HELO_INVALID);
	helo_is("\xe2\x98\x83.example", SMTPD_HELO_INVALID);
	helo_is("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".example", SMTPD_HELO_INVALID);
	smtpd_helo_reply(&r, SMTPD_EHLO);
	assert_int_equal(r.code, 501);
	assert_string_equal(r.enh, "5.5.4");
	assert_string_equal(r.text, "Syntactically invalid EHLO argument(s)");
	smtpd_helo_reply(&r, SMTPD_HELO);
	assert_string_equal(r.text, "Syntactically invalid HELO argument(s)");
	assert_string_equal(smtpd_err_name(r.err), "helo_syntax");
}

static void
reply_is(int code, const char *enh, const char *text, unsigned flags,
    const char *want)
{
	struct out_buf b = { 0 };

	assert_int_equal(smtpd_reply_add(&b, code, enh, text, flags), 0);
	assert_string_equal(b.p, want);
	out_buf_free(&b);
}

/* Every line of a reply: CODE, '-' or ' ', at most 512 with CRLF, no CR
 * or LF but the line end; the last one with ' '.  The line count. */
static int
reply_lines(const char *s, int code)
{
	const char *e;
	char c[4];
	int n = 0, last = 0;

	snprintf(c, sizeof(c), "%03d", code);
	while (*s != '\0') {
		assert_false(last);
		assert_non_null(e = strstr(s, "\r\n"));
		assert_true(e - s + 2 <= SMTPD_REPLY_MAX);
		assert_memory_equal(s, c, 3);
		assert_true(s[3] == '-' || s[3] == ' ' || e - s == 3);
		last = s[3] != '-';
		assert_null(memchr(s, '\n', (size_t)(e - s)));
		assert_null(memchr(s, '\r', (size_t)(e - s)));
		s = e + 2;
		n++;
	}
	assert_true(last);
	return n;
}

static void
test_reply(void **state)
{
	struct out_buf b = { 0 };
	struct smtpd_cmd c;
	char big[2000], buf[64];
	size_t i;

	(void)state;
	reply_is(250, "2.0.0", "Ok", 0, "250 2.0.0 Ok\r\n");
	reply_is(220, NULL, "mx.example.org ESMTP", 0,
	    "220 mx.example.org ESMTP\r\n");
	reply_is(250, "", "mx.example.org\nPIPELINING\nSIZE 1000\n", 0,
	    "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
	reply_is(550, "5.7.1", "first\nsecond", 0,
	    "550-5.7.1 first\r\n550 5.7.1 second\r\n");
	reply_is(250, NULL, "", 0, "250\r\n");
	reply_is(250, "2.0.0", "", 0, "250 2.0.0\r\n");
	reply_is(250, NULL, "a\n\nb", 0, "250-a\r\n250-\r\n250 b\r\n");
	/* No injection: CR, NUL-free controls, DEL; 8-bit unless UTF-8. */
	reply_is(550, "5.0.0", "a\rb\x01" "c\x7f\td", 0,
	    "550 5.0.0 a?b?c?\td\r\n");
	reply_is(550, "5.0.0", "\xc3\xa9t\xc3\xa9", 0,
	    "550 5.0.0 ??t??\r\n");
	reply_is(550, "5.0.0", "\xc3\xa9t\xc3\xa9 \xff", SMTPD_REPLY_UTF8,
	    "550 5.0.0 \xc3\xa9t\xc3\xa9 ?\r\n");
	/* A bad enhanced code is left out. */
	reply_is(250, "2.0", "x", 0, "250 x\r\n");
	reply_is(250, "2.0.0\r\n250 fake", "x", 0, "250 x\r\n");
	reply_is(250, "3.0.0", "x", 0, "250 x\r\n");
	reply_is(250, "2.1234.0", "x", 0, "250 x\r\n");
	reply_is(250, "2.123.456", "x", 0, "250 2.123.456 x\r\n");
	assert_int_equal(smtpd_reply_add(&b, 199, NULL, "x", 0), -1);
	assert_int_equal(smtpd_reply_add(&b, 600, NULL, "x", 0), -1);
	assert_int_equal(b.len, 0);

	/* Long lines: wrapped at a space, or cut; 512 at most. */
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 10 == 9 ? ' ' : 'w';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(smtpd_reply_add(&b, 550, "5.7.1", big, 0), 0);
	assert_int_equal(reply_lines(b.p, 550), 4);
	out_buf_free(&b);
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(smtpd_reply_add(&b, 550, NULL, big, 0), 0);
	assert_int_equal(reply_lines(b.p, 550), 4);
	assert_int_equal(strlen(b.p), 1999 + 4 * 6);
	out_buf_free(&b);
	/* Exactly full: 512 with "250 " and CRLF is 506 of text. */
	memset(big, 'x', 506);
	big[506] = '\0';
	assert_int_equal(smtpd_reply_add(&b, 250, NULL, big, 0), 0);
	assert_int_equal(reply_lines(b.p, 250), 1);
	assert_int_equal(b.len, 512);
	out_buf_free(&b);
	big[506] = 'x';
	big[507] = '\0';
	assert_int_equal(smtpd_reply_add(&b, 250, NULL, big, 0), 0);
	assert_int_equal(reply_lines(b.p, 250), 2);
	out_buf_free(&b);
	/* A cut never splits a UTF-8 sequence. */
	for (i = 0; i + 2 <= 1000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[1000] = '\0';
	assert_int_equal(smtpd_reply_add(&b, 250, NULL, big,
	    SMTPD_REPLY_UTF8), 0);
	assert_int_equal(reply_lines(b.p, 250), 2);
	assert_true(out_utf8_valid(b.p, b.len));
	assert_int_equal(strstr(b.p, "\r\n") - b.p, 4 + 506 - 0);
	out_buf_free(&b);

	/* Into a caller's buffer. */
	assert_int_equal(smtpd_reply_buf(buf, sizeof(buf), 221, "2.0.0",
	    "Bye", 0), 15);
	assert_string_equal(buf, "221 2.0.0 Bye\r\n");
	assert_int_equal(smtpd_reply_buf(buf, 15, 221, "2.0.0", "Bye", 0), -1);
	assert_string_equal(buf, "");
	/* From a parse failure. */
	assert_int_equal(parse("FOO", &c), -1);
	assert_int_equal(smtpd_reply_add_r(&b, &c.reply), 0);
	assert_string_equal(b.p, "500 5.5.1 Command unrecognized\r\n");
	out_buf_free(&b);
}

/* Every error has a name and a reply of the documented class. */
static void
test_err_table(void **state)
{
	struct smtpd_cmd c;
	int e;

	(void)state;
	for (e = SMTPD_E_EMPTY; e <= SMTPD_E_NOMEM; e++)
		assert_string_not_equal(smtpd_err_name((enum smtpd_err)e),
		    "ok");
	assert_string_equal(smtpd_err_name(SMTPD_OK), "ok");
	assert_string_equal(smtpd_err_name(SMTPD_E_UTF8_NEEDED), "utf8_needed");
	assert_int_equal(parse("NOOP", &c), 0);
	assert_string_equal(c.reply.enh, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_verb_errors),
		cmocka_unit_test(test_line_errors),
		cmocka_unit_test(test_mail_rcpt_prefix),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_parse),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_err_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
