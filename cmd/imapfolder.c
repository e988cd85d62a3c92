/* imapfolder: IMAP folder names in modified UTF-7, as Exim's
 * ${imapfolder{name}{sep}{specials}} makes them, and back (-d).  Options
 * and I/O only; the conversion is lib/mutf7's.  See man/imapfolder.1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diag.h"
#include "mutf7.h"
#include "out.h"

static const char usage[] =
"usage: imapfolder [-d] [-s SEP] [-S SPECIALS] [--charset CS] [NAME ...]\n"
"       imapfolder [-d] --plain [--charset CS] [NAME ...]\n"
"Convert folder names (the arguments, else one per line on stdin) to IMAP\n"
"modified UTF-7 (RFC 3501 5.1.3) as Exim's ${imapfolder{NAME}{SEP}{SPECIALS}}\n"
"does: SEP becomes \".\" (one leading and all trailing SEPs dropped, a run\n"
"of them one \".\"), SPECIALS characters are encoded, and a \".\" or \"/\"\n"
"that is neither is an error.  One line out per name converted.\n"
"  -s, --separator SEP  the hierarchy separator, one ASCII character\n"
"                       (default \"/\")\n"
"  -S, --specials CHARS ASCII characters to base64-encode as well\n"
"  --encode-dots        encode a stray \".\" or \"/\" instead of failing\n"
"                       (the reading of Exim's documentation)\n"
"  --plain              no separator or specials handling (doveadm\n"
"                       mailbox mutf7)\n"
"  -d, --decode         modified UTF-7 to UTF-8, strictly; \".\" becomes SEP\n"
"  --charset CS         names are in CS, not UTF-8 (iconv; -d: write CS)\n"
"  -h, --help   -V, --version\n"
"Exit: 0 ok, 64 usage, 65 a name did not convert (the others still do),\n"
"      74 I/O error\n";

enum { OPT_CHARSET = CLI_OPT_PROG, OPT_PLAIN, OPT_ENCODE_DOTS };

static const struct option longopts[] = {
	{ "separator", required_argument, NULL, 's' },
	{ "specials", required_argument, NULL, 'S' },
	{ "decode", no_argument, NULL, 'd' },
	{ "charset", required_argument, NULL, OPT_CHARSET },
	{ "plain", no_argument, NULL, OPT_PLAIN },
	{ "encode-dots", no_argument, NULL, OPT_ENCODE_DOTS },
	CLI_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

#define MAX_SPECIALS	95
#define MAX_LINE	(MUTF7_MAX_NAME * 8)	/* -d input is longer */

struct conf {
	struct cli cli;
	struct mutf7_opts mo;
	int decode;
	const char *charset;	/* NULL: UTF-8 */
	int seen_sep;
};

/* The name as it appears in a diagnostic: printable ASCII as is, other
 * bytes as \xNN, at most 40 bytes of it. */
static void
show_name(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n && i < 40 && k + 5 < dstsz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"')
			dst[k++] = (char)c;
		else
			k += (size_t)snprintf(dst + k, dstsz - k, "\\x%02x", c);
	}
	if (i < n && k + 4 < dstsz)
		k += (size_t)snprintf(dst + k, dstsz - k, "...");
	dst[k] = '\0';
}

static int
report(const char *where, const char *s, size_t n, const char *stage,
    const struct mutf7_err *e)
{
	char shown[256];

	show_name(shown, sizeof(shown), s, n);
	diag_warn("%s \"%s\": %s at byte %zu%s", where, shown, e->why,
	    e->offset, stage);
	return -1;
}

/* Convert one name and write it with a newline; -1 after a diagnostic
 * when it does not convert. */
static int
convert(const struct conf *c, const char *where, const char *s, size_t n)
{
	struct out_buf in = { 0 }, res = { 0 };
	struct mutf7_err e;
	const char *stage = "";
	int rc = -1;

	if (!c->decode) {
		if (c->charset != NULL) {
			if (mutf7_iconv(c->charset, "UTF-8", s, n, &in,
			    &e) == -1)
				goto bad;
			stage = " of its UTF-8 form";
			if (mutf7_encode(in.p, in.len, &c->mo, &res, &e) == -1)
				goto bad;
		} else if (mutf7_encode(s, n, &c->mo, &res, &e) == -1)
			goto bad;
	} else {
		if (mutf7_decode(s, n, &c->mo, &res, &e) == -1)
			goto bad;
		if (c->charset != NULL) {
			stage = " of its UTF-8 form";
			if (mutf7_iconv("UTF-8", c->charset, res.p, res.len,
			    &in, &e) == -1)
				goto bad;
			out_buf_free(&res);
			res = in;
			in = (struct out_buf){ 0 };
		}
	}
	fwrite(res.p, 1, res.len, stdout);
	putchar('\n');
	rc = 0;
	goto done;
bad:
	report(where, s, n, stage, &e);
done:
	out_buf_free(&in);
	out_buf_free(&res);
	return rc;
}

/* One name per line; a line longer than MAX_LINE is one failure. */
static int
run_lines(const struct conf *c, int *failed)
{
	char *buf, where[32];
	unsigned long lineno = 0;
	size_t n;
	int ch = 0;

	if ((buf = malloc(MAX_LINE + 1)) == NULL)
		diag_die(EX_OSERR, "out of memory");
	while (ch != EOF) {
		n = 0;
		while ((ch = getchar()) != EOF && ch != '\n')
			if (n <= MAX_LINE)
				buf[n++] = (char)ch;
		if (ch == EOF && n == 0)
			break;
		lineno++;
		snprintf(where, sizeof(where), "line %lu", lineno);
		if (n > MAX_LINE) {
			diag_warn("%s: longer than %d bytes", where, MAX_LINE);
			*failed = 1;
		} else if (convert(c, where, buf, n) == -1)
			*failed = 1;
	}
	free(buf);
	if (ferror(stdin)) {
		diag_warn("stdin: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

static void
parse_options(struct conf *c, int argc, char **argv)
{
	int ch, plain = 0, dots = 0;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS "ds:S:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			if (strlen(optarg) != 1 || optarg[0] < 0x20 ||
			    optarg[0] > 0x7E)
				cli_usage_error("-s %s: the separator is one "
				    "ASCII character", optarg);
			c->mo.sep = optarg[0];
			c->seen_sep = 1;
			break;
		case 'S':
			if (strlen(optarg) > MAX_SPECIALS)
				cli_usage_error("-S: at most %d characters",
				    MAX_SPECIALS);
			c->mo.specials = optarg;
			break;
		case 'd':
			c->decode = 1;
			break;
		case OPT_CHARSET:
			c->charset = optarg;
			break;
		case OPT_PLAIN:
			plain = 1;
			break;
		case OPT_ENCODE_DOTS:
			dots = 1;
			break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	if (plain && (c->seen_sep || c->mo.specials != NULL || dots))
		cli_usage_error("--plain takes no -s, -S or --encode-dots");
	c->mo.flags = (plain ? MUTF7_PLAIN : 0) |
	    (dots ? MUTF7_ENCODE_DOTS : 0);
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	struct mutf7_err e;
	struct out_buf probe = { 0 };
	char where[32];
	int failed = 0, rc = 0, i;

	cli_init(&c.cli, argv, usage);
	parse_options(&c, argc, argv);
	/* An unknown charset is a usage error, found before any name. */
	if (c.charset != NULL &&
	    mutf7_iconv(c.charset, "UTF-8", "", 0, &probe, &e) == -1)
		cli_usage_error("--charset %s: iconv knows no such charset",
		    c.charset);
	out_buf_free(&probe);
	if (optind == argc)
		rc = run_lines(&c, &failed);
	for (i = optind; i < argc; i++) {
		snprintf(where, sizeof(where), "argument %d", i - optind + 1);
		if (convert(&c, where, argv[i], strlen(argv[i])) == -1)
			failed = 1;
	}
	if (cli_stdout_done() != 0)
		return EX_IOERR;
	if (rc != 0)
		return rc;
	return failed ? EX_DATAERR : 0;
}
