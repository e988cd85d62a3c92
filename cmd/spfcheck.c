/* spfcheck: SPF (RFC 7208) for a client address and its MAIL FROM or HELO
 * identity: one query from the options, a batch of queries read line by
 * line, or a message (filter mode) that gets a Received-SPF field on top.
 * Options and I/O only; the checking is lib/spf's.  See man/spfcheck.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "dns.h"
#include "filter.h"
#include "out.h"
#include "spf.h"

static const char usage[] =
"usage: spfcheck [-v] [-o text|kv|json] [options] -i IP -s SENDER [-e HELO]\n"
"       spfcheck --batch [-o MODE] [--summary] [options] [FILE]\n"
"       spfcheck -f [--tempfail] [options] -i IP -s SENDER [-e HELO] [FILE]\n"
"Check SPF (RFC 7208) for a client address and its MAIL FROM or HELO.\n"
"  -i, --ip IP            client address, IPv4 or IPv6\n"
"  -s, --sender ADDR      MAIL FROM; \"\" or \"<>\": null, checks postmaster@HELO\n"
"  -e, --helo NAME        HELO/EHLO name\n"
"      --scope mfrom|helo check MAIL FROM (default) or HELO on its own\n"
"      --receiver NAME    receiver= in Received-SPF, %{r} (default host name)\n"
"      --default-explanation TEXT  what a fail without exp= explains\n"
"      --guess[=RECORD]   best guess when no SPF (v=spf1 a/24 mx/24 ptr ?all)\n"
"      --batch            one query per line \"IP SENDER [HELO]\", FILE or stdin\n"
"      --summary          counts, DNS queries and speed on stderr at the end\n"
"  -f, --filter           write the message with Received-SPF on top\n"
"      --tempfail         (-f) on temperror write nothing and exit 75\n"
"      --max-lookups N  --max-void N  --max-mx N  --max-ptr N  (10 2 10 10)\n"
"  -o, --output MODE      text (default), kv (Exim's names, for eval), json\n"
"      --resolver HOST[:PORT]  --dns-zone FILE  --dns-timeout MS\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 pass, 1 fail, 2 softfail, 3 neutral, 4 none, 5 permerror,\n"
"      6 temperror; 64 usage, 65 bad input, 66 cannot open, 70 internal;\n"
"      -f: 0 when the message went out; --batch: 0, 65 when a line was bad.\n";

enum {
	OPT_SCOPE = CLI_OPT_PROG, OPT_RECEIVER, OPT_DEFEXP, OPT_GUESS,
	OPT_BATCH, OPT_TEMPFAIL, OPT_MAX_LOOKUPS, OPT_MAX_VOID, OPT_MAX_MX,
	OPT_MAX_PTR
};

static const struct option longopts[] = {
	{ "ip", required_argument, NULL, 'i' },
	{ "sender", required_argument, NULL, 's' },
	{ "helo", required_argument, NULL, 'e' },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "receiver", required_argument, NULL, OPT_RECEIVER },
	{ "default-explanation", required_argument, NULL, OPT_DEFEXP },
	{ "guess", optional_argument, NULL, OPT_GUESS },
	{ "batch", no_argument, NULL, OPT_BATCH },
	{ "filter", no_argument, NULL, 'f' },
	{ "tempfail", no_argument, NULL, OPT_TEMPFAIL },
	{ "max-lookups", required_argument, NULL, OPT_MAX_LOOKUPS },
	{ "max-void", required_argument, NULL, OPT_MAX_VOID },
	{ "max-mx", required_argument, NULL, OPT_MAX_MX },
	{ "max-ptr", required_argument, NULL, OPT_MAX_PTR },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPT_SUMMARY,
	{ NULL, 0, NULL, 0 }
};

/* Bounds on what the options and the batch lines may hold.  A batch line
 * is an address, a mailbox (at most 64 + 1 + 255 octets, RFC 5321 4.5.3.1)
 * and a host name, with room to spare. */
#define MAX_LIMIT	1000
#define MAX_NAME	255
#define MAX_SENDER	1024
#define MAX_EXP_TEXT	2048
#define MAX_LINE	2048

struct conf {
	struct cli cli;
	int filter, tempfail, batch;
	const char *ip, *sender, *helo;
	int have_sender;
	enum spf_scope scope;
	struct spf_opts so;
	char **inputs;
	int ninputs;
};

/* What a run did, for --summary and the exit status. */
struct tally {
	unsigned long queries, bad;
	unsigned long results[SPFR_COUNT];
	double start;
};

/* ---- options ---- */

static int
is_address(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

static int
is_null_sender(const char *s)
{
	return s == NULL || *s == '\0' || strcmp(s, "<>") == 0;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* A text option: bounded, no control characters (they would end up in a
 * header field). */
static const char *
text_arg(const char *arg, size_t max, int empty_ok, const char *what)
{
	if (!empty_ok && *arg == '\0')
		cli_usage_error("%s: empty", what);
	if (strlen(arg) > max)
		cli_usage_error("%s: longer than %zu characters", what, max);
	if (has_control(arg))
		cli_usage_error("%s: control characters", what);
	return arg;
}

static const char *
guess_arg(const char *arg)
{
	if (arg == NULL)
		return SPF_DEFAULT_GUESS;
	text_arg(arg, MAX_EXP_TEXT, 0, "--guess");
	if (strncasecmp(arg, "v=spf1", 6) != 0 ||
	    (arg[6] != '\0' && arg[6] != ' '))
		cli_usage_error("--guess: not a record: %s (want \"v=spf1 ...\")",
		    arg);
	return arg;
}

static unsigned
limit_arg(const char *arg, const char *what)
{
	return (unsigned)cli_number(arg, 1, MAX_LIMIT, what);
}

static void
check_query_args(struct conf *c)
{
	if (c->ip == NULL)
		cli_usage_error("-i IP is required");
	if (!is_address(c->ip))
		cli_usage_error("-i: not an IPv4 or IPv6 address: %s", c->ip);
	if (c->scope == SPF_SCOPE_MFROM && !c->have_sender)
		cli_usage_error("-s SENDER is required (\"<>\" for the null "
		    "sender)");
	if (c->scope == SPF_SCOPE_HELO && c->helo == NULL)
		cli_usage_error("--scope helo needs -e HELO");
	if (c->scope == SPF_SCOPE_MFROM && is_null_sender(c->sender) &&
	    c->helo == NULL)
		cli_usage_error("the null sender needs -e HELO "
		    "(it checks postmaster@HELO)");
}

static void
check_args(struct conf *c)
{
	if (c->tempfail && !c->filter)
		cli_usage_error("--tempfail goes with -f");
	if (c->filter && c->batch)
		cli_usage_error("-f and --batch do not go together");
	if (c->filter && c->cli.out_mode != OUT_TEXT)
		cli_usage_error("-f writes the message, not -o output");
	if (c->ninputs > 1 || (c->ninputs == 1 && !c->filter && !c->batch))
		cli_usage_error("too many arguments");
	if (c->batch) {
		if (c->ip != NULL || c->have_sender || c->helo != NULL)
			cli_usage_error("--batch reads -i, -s and -e from "
			    "its input");
		return;
	}
	check_query_args(c);
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch, scope;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS CLI_SHORTOPT_OUTPUT
	    "i:s:e:f", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i': c->ip = optarg; break;
		case 's':
			c->sender = text_arg(optarg, MAX_SENDER, 1, "-s");
			c->have_sender = 1;
			break;
		case 'e': c->helo = text_arg(optarg, MAX_NAME, 0, "-e"); break;
		case 'f': c->filter = 1; break;
		case OPT_SCOPE:
			if ((scope = spf_scope_parse(optarg)) < 0)
				cli_usage_error("--scope: %s: want mfrom or "
				    "helo", optarg);
			c->scope = (enum spf_scope)scope;
			break;
		case OPT_RECEIVER:
			c->so.receiver = text_arg(optarg, MAX_NAME, 0,
			    "--receiver");
			break;
		case OPT_DEFEXP:
			c->so.default_exp = text_arg(optarg, MAX_EXP_TEXT, 1,
			    "--default-explanation");
			break;
		case OPT_GUESS: c->so.guess = guess_arg(optarg); break;
		case OPT_BATCH: c->batch = 1; break;
		case OPT_TEMPFAIL: c->tempfail = 1; break;
		case OPT_MAX_LOOKUPS:
			c->so.limits.lookups = limit_arg(optarg,
			    "--max-lookups");
			break;
		case OPT_MAX_VOID:
			c->so.limits.void_lookups = limit_arg(optarg,
			    "--max-void");
			break;
		case OPT_MAX_MX:
			c->so.limits.mx = limit_arg(optarg, "--max-mx");
			break;
		case OPT_MAX_PTR:
			c->so.limits.ptr = limit_arg(optarg, "--max-ptr");
			break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	c->inputs = argv + optind;
	c->ninputs = argc - optind;
	check_args(c);
}

/* ---- records ---- */

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* Text output is for a terminal: what came from the DNS (explanations,
 * problems naming records) or from a batch line must not move the
 * cursor or forge lines.  Control bytes become '?'. */
static void
text_clean(struct out *o, const char *s)
{
	const char *p = s;

	for (s = str(s); *s != '\0'; s = p) {
		for (p = s; *p != '\0' && (unsigned char)*p >= 0x20 &&
		    *p != 0x7f; p++)
			;
		if (p > s)
			out_text(o, "%.*s", (int)(p - s), s);
		if (*p != '\0') {
			out_text(o, "?");
			p++;
		}
	}
}

static void
text_line(struct out *o, const char *label, const char *value)
{
	out_text(o, "%s: ", label);
	text_clean(o, value);
	out_text(o, "\n");
}

/* The variables, in the order spf-dmarc.md lists them (Exim's first). */
static void
record_vars(struct out *o, const struct spf_verdict *v)
{
	out_str(o, "spf_result", spf_result_name(v->result));
	out_bool(o, "spf_result_guessed", v->guessed);
	out_str(o, "spf_explanation", str(v->explanation));
	out_str(o, "spf_header_comment", str(v->header_comment));
	out_str(o, "spf_received", str(v->received));
	out_str(o, "spf_smtp_comment", str(v->smtp_comment));
	out_str(o, "spf_domain", str(v->domain));
	out_str(o, "spf_identity", str(v->identity));
	out_str(o, "spf_mechanism", str(v->mechanism));
	out_str(o, "spf_problem", str(v->problem));
	out_int(o, "spf_lookups", v->lookups);
	out_int(o, "spf_void_lookups", v->void_lookups);
}

/* One query, text: "RESULT (HEADER_COMMENT)", then what a person needs to
 * act on the result; with -v, everything. */
static void
record_text(struct out *o, const struct spf_verdict *v)
{
	out_text(o, "%s (", spf_result_name(v->result));
	text_clean(o, v->header_comment);
	out_text(o, ")\n");
	if (v->result == SPFR_FAIL && v->explanation != NULL)
		text_line(o, "explanation", v->explanation);
	if ((v->result == SPFR_PERMERROR || v->result == SPFR_TEMPERROR) &&
	    v->problem != NULL)
		text_line(o, "problem", v->problem);
	if (!diag_verbose)
		return;
	text_line(o, "identity", v->identity);
	text_line(o, "sender", v->sender);
	text_line(o, "domain", v->domain);
	text_line(o, "mechanism", v->mechanism);
	out_text(o, "guessed: %s\n", v->guessed ? "yes" : "no");
	out_text(o, "lookups: %u (void: %u)\n", v->lookups, v->void_lookups);
	text_line(o, "smtp comment", v->smtp_comment);
	text_line(o, "received", v->received);
}

/* ---- one query ---- */

static void
fill_query(struct spf_query *q, const char *ip, const char *sender,
    const char *helo, enum spf_scope scope)
{
	q->ip = ip;
	q->sender = is_null_sender(sender) ? NULL : sender;
	q->helo = helo;
	q->scope = scope;
}

static void
count(struct tally *t, const struct spf_verdict *v)
{
	t->queries++;
	if ((unsigned)v->result < SPFR_COUNT)
		t->results[v->result]++;
}

static void
print_summary(const struct tally *t)
{
	struct dns_stats ds = { 0 };
	char line[512];
	double el = cli_monotonic() - t->start;
	size_t at;
	int r;

	diag_warn("summary: %lu queries (%lu bad lines)", t->queries, t->bad);
	at = (size_t)snprintf(line, sizeof(line), "results:");
	for (r = 0; r < SPFR_COUNT; r++)
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s %s %lu",
		    r == 0 ? "" : ",", spf_result_name((enum spfr)r),
		    t->results[r]);
	diag_warn("summary: %s", line);
	dns_get_stats(&ds);
	diag_warn("summary: dns: %lu network queries (%lu lookups, %lu from "
	    "zone files, %lu cached, %lu timeouts)", ds.network, ds.queries,
	    ds.zone_hits, ds.cache_hits, ds.timeouts);
	diag_warn("summary: %.2f s, %.1f queries/s", el,
	    el > 0 ? (double)t->queries / el : 0);
}

/* The status for a query spf_check refused: its arguments were checked
 * already, so this is memory or something the library found wrong with
 * them. */
static int
refused_status(int err)
{
	return err == ENOMEM ? EX_SOFTWARE : EX_DATAERR;
}

static int
check_one(const struct conf *c, struct spf *s, struct tally *t)
{
	struct spf_verdict v = { 0 };
	struct spf_query q;
	struct out *o;
	const char *why = NULL;
	int rc, err;

	fill_query(&q, c->ip, c->sender, c->helo, c->scope);
	errno = 0;
	if (spf_check(s, &q, &v, &why) == -1) {
		err = errno;
		diag_warn("%s", why != NULL ? why : "cannot check");
		return refused_status(err);
	}
	count(t, &v);
	if ((o = out_new(c->cli.out_mode)) == NULL) {
		spf_verdict_free(&v);
		diag_warn("out of memory");
		return EX_SOFTWARE;
	}
	out_begin(o);
	if (c->cli.out_mode == OUT_TEXT)
		record_text(o, &v);
	else
		record_vars(o, &v);
	rc = cli_out_done(o) != 0 ? EX_IOERR : spf_result_exit(v.result);
	out_free(o);
	spf_verdict_free(&v);
	return rc;
}

/* ---- batch ---- */

struct line {
	char buf[MAX_LINE + 1];
	size_t len;
	const char *bad;	/* why the line cannot be a query, or NULL */
	int cut;		/* longer than MAX_LINE: the rest was dropped */
	char *ip, *sender, *helo;
};

/* Read one line into l (without its LF or CRLF).  0 at the end of the
 * input.  A line that is too long or holds a NUL byte is consumed whole
 * and marked bad. */
static int
read_line(FILE *fp, struct line *l)
{
	int ch, any = 0;

	l->len = 0;
	l->bad = NULL;
	l->cut = 0;
	while ((ch = getc_unlocked(fp)) != EOF) {
		any = 1;
		if (ch == '\n')
			break;
		if (ch == '\0' && l->bad == NULL)
			l->bad = "NUL byte";
		if (l->len < MAX_LINE)
			l->buf[l->len++] = (char)ch;
		else {
			l->cut = 1;
			l->bad = "line too long";
		}
	}
	if (l->len > 0 && l->buf[l->len - 1] == '\r')
		l->len--;
	l->buf[l->len] = '\0';
	return any;
}

static int
is_blank_or_comment(const struct line *l)
{
	const char *p = l->buf + strspn(l->buf, " \t");

	return l->bad == NULL && (*p == '\0' || *p == '#');
}

/* Split "IP SENDER [HELO]" in place; l->bad says what is wrong. */
static void
split_line(struct line *l, enum spf_scope scope)
{
	char *f[4], *p = l->buf;
	size_t n = 0;

	l->ip = l->sender = l->helo = NULL;
	/* Only a part of a long line was kept: it names nothing. */
	while (!l->cut && n < 4) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		f[n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	if (n > 0)
		l->ip = f[0];
	if (n > 1)
		l->sender = f[1];
	if (n > 2)
		l->helo = f[2];
	if (l->bad != NULL)
		return;
	if (n < 2 || n > 3)
		l->bad = n > 3 ? "more than 3 fields, want IP SENDER [HELO]" :
		    "too few fields, want IP SENDER [HELO]";
	else if (!is_address(l->ip))
		l->bad = "not an IPv4 or IPv6 address";
	else if (strlen(l->sender) > MAX_SENDER || has_control(l->sender))
		l->bad = "sender too long or with control characters";
	else if (l->helo != NULL &&
	    (strlen(l->helo) > MAX_NAME || has_control(l->helo)))
		l->bad = "HELO name too long or with control characters";
	else if (scope == SPF_SCOPE_HELO && l->helo == NULL)
		l->bad = "--scope helo needs a HELO field";
	else if (scope == SPF_SCOPE_MFROM && is_null_sender(l->sender) &&
	    l->helo == NULL)
		l->bad = "the null sender needs a HELO field";
}

struct batch {
	const struct conf *c;
	struct spf *spf;
	struct out *o;
	const char *name;	/* the input, for diagnostics */
	unsigned long lineno;
	int flush_each;		/* the input is interactive: answer each line */
	int internal;
	int out_err;		/* errno of a failed write */
	struct tally t;
};

/* kv names a batch record's fields with the spf_ prefix, json without
 * (as dkimverify's mbox_message and message). */
static const char *
label(const struct out *o, const char *kv_name)
{
	return out_get_mode(o) == OUT_KV ? kv_name : kv_name + 4;
}

/* What a line named: its fields as given, "<>" for the null sender, "-"
 * for an absent one. */
static void
record_query(struct batch *b, const struct line *l)
{
	struct out *o = b->o;
	int null = l->sender != NULL && is_null_sender(l->sender);

	out_int(o, label(o, "spf_query"), (long long)b->t.queries);
	out_str(o, label(o, "spf_client_ip"), str(l->ip));
	out_str(o, label(o, "spf_envelope_from"), null ? "" : str(l->sender));
	out_str(o, label(o, "spf_helo"), str(l->helo));
	if (out_get_mode(o) != OUT_TEXT)
		return;
	out_text(o, " ");
	text_clean(o, l->ip != NULL ? l->ip : "-");
	out_text(o, " ");
	text_clean(o, null ? "<>" : l->sender != NULL ? l->sender : "-");
	out_text(o, " ");
	text_clean(o, l->helo != NULL ? l->helo : "-");
	out_text(o, " (");
}

static void
record_bad(struct batch *b, const struct line *l, const char *why)
{
	out_text(b->o, "error");
	record_query(b, l);
	out_str(b->o, "spf_result", "error");
	out_str(b->o, "spf_problem", why);
	text_clean(b->o, why);
	out_text(b->o, ")\n");
}

static void
record_batch(struct batch *b, const struct line *l,
    const struct spf_verdict *v)
{
	out_text(b->o, "%s", spf_result_name(v->result));
	record_query(b, l);
	record_vars(b->o, v);
	text_clean(b->o, v->header_comment);
	out_text(b->o, ")\n");
}

/* Check one line and write its record.  -1 when the output failed. */
static int
batch_line(struct batch *b, struct line *l)
{
	struct spf_verdict v = { 0 };
	struct spf_query q;
	const char *why = NULL;

	split_line(l, b->c->scope);
	b->t.queries++;
	out_begin(b->o);
	if (l->bad != NULL) {
		diag_warn("%s:%lu: %s", b->name, b->lineno, l->bad);
		b->t.bad++;
		record_bad(b, l, l->bad);
	} else {
		fill_query(&q, l->ip, l->sender, l->helo, b->c->scope);
		errno = 0;
		if (spf_check(b->spf, &q, &v, &why) == -1) {
			if (errno == ENOMEM)
				b->internal = 1;
			else
				b->t.bad++;
			why = why != NULL ? why : "cannot check";
			diag_warn("%s:%lu: %s", b->name, b->lineno, why);
			record_bad(b, l, why);
		} else {
			b->t.results[v.result < SPFR_COUNT ? v.result : 0]++;
			record_batch(b, l, &v);
			spf_verdict_free(&v);
		}
	}
	errno = 0;
	if (out_end(b->o, stdout) == -1 ||
	    (out_get_mode(b->o) == OUT_KV && putchar('\n') == EOF) ||
	    (b->flush_each && fflush(stdout) == EOF)) {
		b->out_err = errno != 0 ? errno : EIO;
		return -1;
	}
	return 0;
}

/* Answer each line as it comes when someone (or a program) is waiting
 * for it; a file or a pipe read to its end needs no flushing. */
static int
interactive(FILE *fp)
{
	struct stat st;

	if (fstat(fileno(fp), &st) == -1)
		return 1;
	return S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode) ||
	    S_ISFIFO(st.st_mode);
}

static int
check_batch(const struct conf *c, struct spf *s, struct tally *t)
{
	const char *path = c->ninputs == 1 ? c->inputs[0] : NULL;
	struct batch b = { .c = c, .spf = s, .name = cli_input_name(path) };
	struct line *l;
	FILE *fp = cli_open_input(path);
	int rc = 0, err;

	b.t = *t;
	b.flush_each = interactive(fp);
	if ((l = malloc(sizeof(*l))) == NULL ||
	    (b.o = out_new(c->cli.out_mode)) == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	while (read_line(fp, l)) {
		b.lineno++;
		if (is_blank_or_comment(l))
			continue;
		if (batch_line(&b, l) == -1) {
			rc = EX_IOERR;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		err = errno ? errno : EIO;
		diag_warn("%s: %s", b.name, strerror(err));
		rc = err == EISDIR ? EX_NOINPUT : EX_IOERR;
	}
	if (b.out_err != 0)
		diag_warn("output: %s", strerror(b.out_err));
	else if (cli_stdout_done() != 0)
		rc = EX_IOERR;
	*t = b.t;
	out_free(b.o);
	free(l);
	cli_close_input(fp);
	if (rc != 0)
		return rc;
	if (b.internal)
		return EX_SOFTWARE;
	return b.t.bad > 0 ? EX_DATAERR : 0;
}

/* ---- filter mode ---- */

/* The line ending of the message's first line, below any From_ line. */
static const char *
message_eol(const char *buf, size_t len)
{
	size_t skip = filter_from_line(buf, len);

	return filter_eol(buf + skip, len - skip);
}

/* Whatever happens inside, the message goes out whole: with the field,
 * unchanged, or (--tempfail on temperror, unreadable input) not at all
 * with exit 75. */
static int
check_filter(const struct conf *c, struct spf *s, const char *spf_why,
    struct tally *t)
{
	const char *path = c->ninputs == 1 ? c->inputs[0] : NULL;
	struct spf_verdict v = { 0 };
	struct spf_query q;
	char *buf = NULL, *field = NULL;
	const char *why = NULL;
	size_t len;
	int rc, checked = 0;

	if (filter_load(path, &buf, &len) != 0)
		return EX_TEMPFAIL;
	fill_query(&q, c->ip, c->sender, c->helo, c->scope);
	if (s == NULL)
		rc = filter_pass_through(STDOUT_FILENO, buf, len, spf_why);
	else if (!(checked = spf_check(s, &q, &v, &why) == 0))
		rc = filter_pass_through(STDOUT_FILENO, buf, len,
		    why != NULL ? why : "cannot check");
	else if (c->tempfail && v.result == SPFR_TEMPERROR) {
		diag_warn("temperror: %s; message deferred",
		    str(v.problem));
		rc = EX_TEMPFAIL;
	} else if ((field = spf_received_field(&v, message_eol(buf, len)))
	    == NULL)
		rc = filter_pass_through(STDOUT_FILENO, buf, len,
		    "out of memory");
	else {
		diag_info("%s", str(v.received));
		rc = filter_emit(STDOUT_FILENO, &field, 1, buf, len);
	}
	if (checked)
		count(t, &v);
	free(field);
	spf_verdict_free(&v);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	struct tally t = { 0 };
	struct spf *s;
	const char *why = NULL;
	int rc;

	cli_init(&c.cli, argv, usage);
	c.scope = SPF_SCOPE_MFROM;
	parse_args(&c, argc, argv);
	t.start = cli_monotonic();
	if ((rc = cli_dns_setup_for(&c.cli, c.filter)) != 0)
		return rc;
	s = spf_new(&c.so, &why);
	if (s == NULL && !c.filter)
		diag_die(EX_SOFTWARE, "%s", why != NULL ? why : "cannot start");
	if (c.filter)
		rc = check_filter(&c, s, why != NULL ? why : "cannot start",
		    &t);
	else if (c.batch)
		rc = check_batch(&c, s, &t);
	else
		rc = check_one(&c, s, &t);
	if (c.cli.summary)
		print_summary(&t);
	spf_free(s);
	return rc;
}
