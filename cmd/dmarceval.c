/* dmarceval: DMARC for one message (RFC 9989, or RFC 7489 with the Public
 * Suffix List): Exim's dmarc_* results in text, kv or json, or the message
 * with an Authentication-Results field on top (filter mode); failure
 * reports and the history that aggregate reports are made from.
 * Options and I/O only; the DMARC rules are lib/dmarc's, the reports
 * lib/dmarc_report's.  See man/dmarceval.1. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "authres.h"
#include "cli.h"
#include "diag.h"
#include "dkim.h"
#include "dmarc.h"
#include "dmarc_report.h"
#include "filter.h"
#include "msg.h"
#include "out.h"
#include "spf.h"

#define MAX_DKIM_OPTS	64	/* --dkim given at most this often */
#define MAX_SENDMAIL_WORDS 32	/* words of --sendmail */
#define MAX_SENDMAIL_ARGS 64	/* those plus the ruf= recipients (<= 16) */
#define FOLD_AT		78	/* A-R field lines, RFC 5322 2.1.1 */

static const char usage[] =
"usage: dmarceval [-fv] [-o text|kv|json|ar] [options] [FILE]\n"
"       dmarceval --aggregate HISTORY --org NAME --email ADDR [options]\n"
"Evaluate DMARC for a message (stdin or FILE); Exim's dmarc_* results.\n"
"  -i, --ip IP  -s, --sender ADDR  -e, --helo NAME   SPF computed here\n"
"      --spf RESULT --spf-domain D [--spf-scope mfrom|helo]   SPF given\n"
"      --dkim DOMAIN=RESULT     DKIM given (repeatable); default: verified\n"
"      --trust-authres ID       SPF and DKIM from A-R fields of ID only\n"
"      --mode rfc9989|rfc7489   DNS tree walk (default) or PSL (--psl FILE)\n"
"      --random-seed N          reproducible pct sampling\n"
"  -o, --output MODE            text (default), kv (for eval), json, ar (the\n"
"                               Authentication-Results field alone)\n"
"  -f, --filter                 write the message with Authentication-Results\n"
"      --tempfail --strip-authres  (-f) temperror: exit 75; drop our old A-R\n"
"      --authserv-id ID         of the A-R field (default: the host name)\n"
"      --history FILE           append this message's facts (--aggregate)\n"
"      --forensic FILE|-        write the failure report when fo= asks\n"
"      --sendmail CMD           or pipe it to CMD ruf-addresses (no shell)\n"
"      --forensic-sender ADDR   From of the report\n"
"      --begin EPOCH --end EPOCH --outdir DIR   (--aggregate) period, files\n"
"      --now EPOCH  --resolver HOST[:PORT]  --dns-zone FILE  --dns-timeout MS\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 accept/none, 1 reject, 2 quarantine, 3 norecord/nofrom, 75 temperror,\n"
"      64 usage, 65 bad message or A-R, 66 cannot open; -f: 0 when written.\n";

enum {
	OPT_SPF = CLI_OPT_PROG, OPT_SPF_DOMAIN, OPT_SPF_SCOPE, OPT_TRUST,
	OPT_DKIM, OPT_STRIP, OPT_MODE, OPT_PSL, OPT_SEED, OPT_AUTHSERV, OPT_HISTORY,
	OPT_FORENSIC, OPT_SENDMAIL, OPT_FSENDER, OPT_TEMPFAIL, OPT_AGGREGATE,
	OPT_ORG, OPT_EMAIL, OPT_BEGIN, OPT_END, OPT_OUTDIR
};

static const struct option longopts[] = {
	{ "ip", required_argument, NULL, 'i' },
	{ "sender", required_argument, NULL, 's' },
	{ "helo", required_argument, NULL, 'e' },
	{ "spf", required_argument, NULL, OPT_SPF },
	{ "spf-domain", required_argument, NULL, OPT_SPF_DOMAIN },
	{ "spf-scope", required_argument, NULL, OPT_SPF_SCOPE },
	{ "trust-authres", required_argument, NULL, OPT_TRUST },
	{ "dkim", required_argument, NULL, OPT_DKIM },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "psl", required_argument, NULL, OPT_PSL },
	{ "random-seed", required_argument, NULL, OPT_SEED },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "forensic", required_argument, NULL, OPT_FORENSIC },
	{ "sendmail", required_argument, NULL, OPT_SENDMAIL },
	{ "forensic-sender", required_argument, NULL, OPT_FSENDER },
	{ "filter", no_argument, NULL, 'f' },
	{ "tempfail", no_argument, NULL, OPT_TEMPFAIL },
	{ "strip-authres", no_argument, NULL, OPT_STRIP },
	{ "aggregate", required_argument, NULL, OPT_AGGREGATE },
	{ "org", required_argument, NULL, OPT_ORG },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "begin", required_argument, NULL, OPT_BEGIN },
	{ "end", required_argument, NULL, OPT_END },
	{ "outdir", required_argument, NULL, OPT_OUTDIR },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPT_NOW,
	{ NULL, 0, NULL, 0 }
};

struct dkim_given {
	char *domain;
	const char *result;
};

struct conf {
	struct cli cli;
	/* SPF: computed, given, or from A-R */
	const char *ip, *sender, *helo;
	int sender_given;
	const char *spf_word, *spf_domain;
	enum spf_scope spf_scope;
	int spf_scope_given;
	const char *trust_id;
	struct dkim_given dkim[MAX_DKIM_OPTS];
	size_t ndkim;
	struct dmarc_opts dopts;
	/* what to do with the verdict */
	int filter, tempfail, strip;
	int ar_only;		/* -o ar */
	const char *history, *forensic, *sendmail, *forensic_sender;
	/* --aggregate */
	const char *aggregate, *org, *email, *outdir;
	time_t begin, end;
	int begin_given, end_given;
	const char *input;
};

/* ---- options ---- */

static const char *
dkim_word(const char *w)
{
	static const char *const words[] = { "pass", "fail", "policy",
	    "neutral", "temperror", "permerror", "none" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(w, words[i]) == 0)
			return words[i];
	return NULL;
}

static void
add_dkim_opt(struct conf *c, const char *arg)
{
	const char *eq = strrchr(arg, '=');
	struct dkim_given *d;

	if (c->ndkim == MAX_DKIM_OPTS)
		cli_usage_error("--dkim: more than %d", MAX_DKIM_OPTS);
	if (eq == NULL || eq == arg)
		cli_usage_error("--dkim: want DOMAIN=RESULT, not '%s'", arg);
	d = &c->dkim[c->ndkim];
	if ((d->result = dkim_word(eq + 1)) == NULL)
		cli_usage_error("--dkim: '%s' is not an RFC 8601 dkim result "
		    "(pass fail policy neutral temperror permerror none)",
		    eq + 1);
	if ((d->domain = strndup(arg, (size_t)(eq - arg))) == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	c->ndkim++;
}

static time_t
epoch_arg(const char *arg, const char *what)
{
	return (time_t)cli_number(arg, 0, CLI_MAX_EPOCH, what);
}

static const char *
nonempty(const char *arg, const char *what)
{
	if (*arg == '\0')
		cli_usage_error("%s: empty", what);
	return arg;
}

static void
prog_option(struct conf *c, int ch, const char *arg)
{
	int r;

	switch (ch) {
	case 'i': c->ip = nonempty(arg, "--ip"); break;
	case 's': c->sender = arg; c->sender_given = 1; break;
	case 'e': c->helo = nonempty(arg, "--helo"); break;
	case OPT_SPF:
		if ((r = spf_result_parse(arg)) < 0)
			cli_usage_error("--spf: '%s' is not an SPF result", arg);
		c->spf_word = arg;
		break;
	case OPT_SPF_DOMAIN: c->spf_domain = nonempty(arg, "--spf-domain"); break;
	case OPT_SPF_SCOPE:
		if ((r = spf_scope_parse(arg)) < 0)
			cli_usage_error("--spf-scope: mfrom or helo, not '%s'",
			    arg);
		c->spf_scope = (enum spf_scope)r;
		c->spf_scope_given = 1;
		break;
	case OPT_TRUST: c->trust_id = nonempty(arg, "--trust-authres"); break;
	case OPT_DKIM: add_dkim_opt(c, arg); break;
	case OPT_MODE:
		if (strcasecmp(arg, "rfc9989") == 0)
			c->dopts.mode = DMARC_RFC9989;
		else if (strcasecmp(arg, "rfc7489") == 0)
			c->dopts.mode = DMARC_RFC7489;
		else
			cli_usage_error("--mode: rfc9989 or rfc7489, not '%s'",
			    arg);
		break;
	case OPT_PSL: c->dopts.psl = nonempty(arg, "--psl"); break;
	case OPT_SEED:
		c->dopts.seeded = 1;
		c->dopts.seed = (unsigned long)cli_number(arg, 0, 0xffffffffUL,
		    "--random-seed");
		break;
	case OPT_AUTHSERV:
		c->dopts.authserv_id = nonempty(arg, "--authserv-id");
		break;
	case OPT_HISTORY: c->history = nonempty(arg, "--history"); break;
	case OPT_FORENSIC: c->forensic = nonempty(arg, "--forensic"); break;
	case OPT_SENDMAIL: c->sendmail = nonempty(arg, "--sendmail"); break;
	case OPT_FSENDER:
		c->forensic_sender = nonempty(arg, "--forensic-sender");
		break;
	case 'f': c->filter = 1; break;
	case OPT_TEMPFAIL: c->tempfail = 1; break;
	case OPT_STRIP: c->strip = 1; break;
	case OPT_AGGREGATE: c->aggregate = nonempty(arg, "--aggregate"); break;
	case OPT_ORG: c->org = nonempty(arg, "--org"); break;
	case OPT_EMAIL: c->email = nonempty(arg, "--email"); break;
	case OPT_BEGIN:
		c->begin = epoch_arg(arg, "--begin");
		c->begin_given = 1;
		break;
	case OPT_END:
		c->end = epoch_arg(arg, "--end");
		c->end_given = 1;
		break;
	case OPT_OUTDIR: c->outdir = nonempty(arg, "--outdir"); break;
	case 'o':
		/* -o ar: only the Authentication-Results field, for a hook
		 * that adds it (smtpfront's data hook). */
		if (arg && strcmp(arg, "ar") == 0) {
			c->ar_only = 1;
			break;
		}
		c->ar_only = 0;
		if (!cli_option(&c->cli, ch, arg))
			cli_usage_error("unknown option");
		break;
	default:
		if (!cli_option(&c->cli, ch, arg))
			cli_usage_error("unknown option");
	}
}

static void
check_aggregate_args(const struct conf *c, int nargs)
{
	if (c->org == NULL || c->email == NULL)
		cli_usage_error("--aggregate needs --org and --email");
	if (c->begin_given != c->end_given)
		cli_usage_error("--begin and --end go together");
	if (c->begin_given && c->end <= c->begin)
		cli_usage_error("--end must come after --begin");
	if (nargs > 0)
		cli_usage_error("--aggregate reads HISTORY, not a message");
	if (c->ip || c->spf_word || c->trust_id || c->ndkim || c->filter ||
	    c->history || c->forensic || c->sendmail)
		cli_usage_error("--aggregate takes no message options");
}

static void
check_spf_args(const struct conf *c)
{
	int computed = c->ip != NULL, given = c->spf_word != NULL;

	if ((c->sender_given || c->helo) && !computed)
		cli_usage_error("-s and -e go with -i");
	if (computed && !c->sender_given && c->helo == NULL)
		cli_usage_error("-i needs -s SENDER or -e HELO");
	if (computed && c->spf_scope_given)
		cli_usage_error("--spf-scope goes with --spf");
	if (given != (c->spf_domain != NULL))
		cli_usage_error("--spf and --spf-domain go together");
	if (c->spf_scope_given && !given)
		cli_usage_error("--spf-scope goes with --spf");
	if (computed + given + (c->trust_id != NULL) > 1)
		cli_usage_error("SPF from one of -i, --spf, --trust-authres");
	if (c->trust_id != NULL && c->ndkim > 0)
		cli_usage_error("--trust-authres gives DKIM too: no --dkim");
}

static size_t
count_words(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s != ' ' && (s[1] == ' ' || s[1] == '\0'))
			n++;
	return n;
}

static void
check_eval_args(const struct conf *c, int nargs)
{
	if (c->org || c->email || c->begin_given || c->end_given || c->outdir)
		cli_usage_error("--org, --email, --begin, --end and --outdir "
		    "go with --aggregate");
	if (nargs > 1)
		cli_usage_error("one message at a time");
	check_spf_args(c);
	if ((c->tempfail || c->strip) && !c->filter)
		cli_usage_error("--tempfail and --strip-authres go with -f");
	if (c->filter && c->cli.out_mode != OUT_TEXT)
		cli_usage_error("-f writes the message, not -o output");
	if (c->forensic && c->sendmail)
		cli_usage_error("--forensic or --sendmail, not both");
	if (c->filter && c->forensic && strcmp(c->forensic, "-") == 0)
		cli_usage_error("--forensic -: stdout is the message with -f");
	if (c->forensic_sender && !c->forensic && !c->sendmail)
		cli_usage_error("--forensic-sender goes with --forensic or "
		    "--sendmail");
	/* execv takes a path: a bare name would silently never run. */
	if (c->sendmail && c->sendmail[0] != '/')
		cli_usage_error("--sendmail: the program's absolute path, "
		    "not '%s'", c->sendmail);
	if (c->sendmail && count_words(c->sendmail) > MAX_SENDMAIL_WORDS)
		cli_usage_error("--sendmail: more than %d words",
		    MAX_SENDMAIL_WORDS);
	if (c->dopts.psl && c->dopts.mode != DMARC_RFC7489)
		cli_usage_error("--psl goes with --mode rfc7489");
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS CLI_SHORTOPT_OUTPUT
	    "fi:s:e:", longopts, NULL)) != -1)
		prog_option(c, ch, optarg);
	if (c->aggregate)
		check_aggregate_args(c, argc - optind);
	else
		check_eval_args(c, argc - optind);
	c->input = optind < argc ? argv[optind] : NULL;
}

/* ---- SPF and DKIM, the way the options say ---- */

/* SPF checked here with lib/spf.  0, or an exit status after the
 * diagnostic. */
static int
auth_spf_computed(const struct conf *c, struct dmarc_auth *a)
{
	struct spf_opts so = { 0 };
	struct spf_query q = { 0 };
	struct spf_verdict sv = { 0 };
	struct spf *s;
	const char *why = NULL;
	int rc = 0;

	if ((s = spf_new(&so, &why)) == NULL) {
		diag_warn("spf: %s", why ? why : "cannot start");
		return EX_SOFTWARE;
	}
	q.ip = c->ip;
	q.sender = c->sender;
	q.helo = c->helo;
	q.scope = SPF_SCOPE_MFROM;
	if (spf_check(s, &q, &sv, &why) == -1) {
		diag_warn("spf: %s", why ? why : "cannot check");
		rc = errno == ENOMEM ? EX_SOFTWARE : EX_USAGE;
	} else {
		diag_info("spf: %s (%s)", spf_result_name(sv.result),
		    sv.header_comment ? sv.header_comment : "");
		/* With an empty MAIL FROM the HELO name is the domain SPF
		 * checked; lib/spf says which identity it was. */
		if (dmarc_auth_set_spf(a, sv.result, sv.domain,
		    strcmp(sv.identity, "helo") == 0 ? SPF_SCOPE_HELO :
		    SPF_SCOPE_MFROM) == -1)
			rc = EX_SOFTWARE;
		spf_verdict_free(&sv);
	}
	spf_free(s);
	return rc;
}

/* DKIM verified here with lib/dkim: every signature's RFC 8601 word. */
static int
auth_dkim_verified(const struct conf *c, const struct msg *m,
    struct dmarc_auth *a)
{
	struct dkim_verify_opts vo = { 0 };
	struct dkim_results res = { 0 };
	size_t i;
	int rc = 0;

	vo.policy = DKIM_POLICY_DEFAULT;
	vo.max_sigs = 20;
	if (c->cli.now != (time_t)-1)
		vo.now = c->cli.now;
	if (dkim_verify(m, &vo, &res) == -1)
		return EX_SOFTWARE;
	for (i = 0; i < res.n && rc == 0; i++) {
		const struct dkim_result *r = &res.r[i];

		diag_info("dkim: d=%s s=%s %s", r->domain, r->selector,
		    dkim_authres_result(r));
		/* A signature too broken to name a domain cannot align. */
		if (*r->domain == '\0')
			continue;
		if (dmarc_auth_add_dkim(a, r->domain, r->selector,
		    dkim_authres_result(r)) == -1)
			rc = EX_SOFTWARE;
	}
	dkim_results_free(&res);
	return rc;
}

/* Fill a from the options and the message.  0, or an exit status after
 * the diagnostic (65: a trusted A-R field is malformed). */
static int
gather_auth(const struct conf *c, const struct msg *m, struct dmarc_auth *a)
{
	const char *why = NULL;
	size_t i;
	int rc;

	if (c->trust_id != NULL) {
		if (dmarc_auth_from_authres(a, m, c->trust_id, &why) == -1) {
			diag_warn("Authentication-Results from %s: %s",
			    c->trust_id, why ? why : "malformed");
			return errno == ENOMEM ? EX_SOFTWARE : EX_DATAERR;
		}
		return 0;
	}
	if (c->ip != NULL && (rc = auth_spf_computed(c, a)) != 0)
		return rc;
	if (c->spf_word != NULL &&
	    dmarc_auth_set_spf(a, (enum spfr)spf_result_parse(c->spf_word),
	    c->spf_domain, c->spf_scope) == -1)
		return EX_SOFTWARE;
	if (c->ndkim == 0)
		return auth_dkim_verified(c, m, a);
	for (i = 0; i < c->ndkim; i++)
		if (dmarc_auth_add_dkim(a, c->dkim[i].domain, "",
		    c->dkim[i].result) == -1)
			return EX_SOFTWARE;
	return 0;
}

/* ---- one message ---- */

struct eval {
	char *buf;		/* the input */
	size_t len;
	size_t skip;		/* its From_ line, above the message m */
	struct msg m;
	struct dmarc_auth a;
	struct dmarc_verdict v;
	int have_verdict;
};

static void
eval_free(struct eval *e)
{
	if (e->have_verdict)
		dmarc_verdict_free(&e->v);
	dmarc_auth_clear(&e->a);
	msg_free(&e->m);
	free(e->buf);
}

/* Parse, gather, evaluate.  0 with e->v filled; or an exit status after
 * the diagnostic. */
static int
evaluate(const struct conf *c, struct eval *e)
{
	const char *why = NULL;
	char *from = NULL;
	int rc;

	e->skip = filter_from_line(e->buf, e->len);
	if (msg_parse(&e->m, e->buf + e->skip, e->len - e->skip, &why) == -1) {
		diag_warn("%s: cannot parse: %s", cli_input_name(c->input),
		    why ? why : strerror(errno));
		return errno == ENOMEM ? EX_SOFTWARE : EX_DATAERR;
	}
	switch (dmarc_from_domain(&e->m, &from, &why)) {
	case DMARC_FROM_OK:
		break;
	case DMARC_FROM_NONE:
		diag_info("no From address");
		break;
	case DMARC_FROM_MANY:
		diag_info("several From addresses");
		break;
	case DMARC_FROM_BAD:
		diag_info("From: %s", why ? why : "not a domain");
		break;
	}
	if ((rc = gather_auth(c, &e->m, &e->a)) != 0) {
		free(from);
		return rc;
	}
	rc = dmarc_eval(from, &e->a, &e->v);
	free(from);
	if (rc == -1) {
		diag_warn("out of memory");
		return EX_SOFTWARE;
	}
	e->have_verdict = 1;
	return 0;
}

/* ---- reports ---- */

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static void
record_text(struct out *o, const struct dmarc_verdict *v,
    const struct dmarc_auth *a)
{
	size_t i;

	out_text(o, "%s (%s) from=%s policy=%s used=%s\n",
	    dmarc_status_name(v->status), or_empty(v->status_text),
	    or_dash(v->from_domain), or_dash(v->domain_policy),
	    or_dash(v->used_domain));
	if (!diag_verbose)
		return;
	out_text(o, "  result=%s org=%s disposition=%s policy-tag=%s "
	    "pct=%d%s%s\n", or_dash(v->result), or_dash(v->org_domain),
	    or_dash(v->disposition), or_dash(v->policy_tag), v->pct,
	    v->sampled_out ? " sampled-out" : "",
	    v->testing ? " testing" : "");
	if (a->have_spf)
		out_text(o, "  spf=%s domain=%s scope=%s aligned=%s\n",
		    spf_result_name(a->spf), or_dash(a->spf_domain),
		    a->spf_scope == SPF_SCOPE_HELO ? "helo" : "mfrom",
		    v->spf_aligned ? "yes" : "no");
	else
		out_text(o, "  spf=none\n");
	for (i = 0; i < a->ndkim; i++)
		out_text(o, "  dkim=%s d=%s s=%s\n", a->dkim[i].result,
		    a->dkim[i].domain, or_dash(a->dkim[i].selector));
	out_text(o, "  dkim aligned=%s%s%s\n", v->dkim_aligned ? "yes" : "no",
	    v->dkim_aligned_domain ? " d=" : "", or_empty(v->dkim_aligned_domain));
	if (v->record != NULL)
		out_text(o, "  record: %s\n", v->record);
	out_text(o, "  %s\n", v->ar_header ? v->ar_header : "");
}

/* kv and json: the contract's names, in its order. */
static void
record_vars(struct out *o, const struct dmarc_verdict *v)
{
	out_str(o, "dmarc_status", dmarc_status_name(v->status));
	out_str(o, "dmarc_status_text", or_empty(v->status_text));
	out_str(o, "dmarc_used_domain", or_empty(v->used_domain));
	out_str(o, "dmarc_domain_policy", or_empty(v->domain_policy));
	out_str(o, "dmarc_ar_header", or_empty(v->ar_header));
	out_str(o, "dmarc_from_domain", or_empty(v->from_domain));
	out_str(o, "dmarc_disposition", or_empty(v->disposition));
	out_str(o, "dmarc_policy_tag", or_empty(v->policy_tag));
	out_bool(o, "dmarc_spf_aligned", v->spf_aligned);
	out_bool(o, "dmarc_dkim_aligned", v->dkim_aligned);
	out_bool(o, "dmarc_sampled_out", v->sampled_out);
	out_bool(o, "dmarc_testing", v->testing);
	out_str(o, "dmarc_record", or_empty(v->record));
	out_str(o, "dmarc_result", or_empty(v->result));
	out_str(o, "dmarc_org_domain", or_empty(v->org_domain));
}

static char *fold_field(const char *field, const char *eol);

static int
write_record(const struct conf *c, const struct eval *e)
{
	struct out *o;
	int rc;

	if (c->ar_only) {
		char *f = e->v.ar_header ? fold_field(e->v.ar_header, "\n") :
		    NULL;

		if (!f) {
			diag_warn("out of memory");
			return EX_SOFTWARE;
		}
		rc = fputs(f, stdout) == EOF ? EX_IOERR : 0;
		free(f);
		return rc ? rc : cli_stdout_done();
	}
	if ((o = out_new(c->cli.out_mode)) == NULL) {
		diag_warn("out of memory");
		return EX_SOFTWARE;
	}
	out_begin(o);
	if (c->cli.out_mode == OUT_TEXT)
		record_text(o, &e->v, &e->a);
	else
		record_vars(o, &e->v);
	rc = cli_out_done(o);
	out_free(o);
	return rc;
}

/* The A-R field folded at spaces, FOLD_AT columns where it can be, so
 * that unfolding gives back exactly v->ar_header; with eol line ends. */
static char *
fold_field(const char *field, const char *eol)
{
	size_t len = strlen(field), el = strlen(eol), col = 0, i, o = 0;
	size_t last_sp = (size_t)-1, line_start = 0;
	char *out;

	/* at worst a fold before every space */
	if ((out = malloc(len * (el + 1) + el + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (field[i] == ' ' && i > 0 && field[i - 1] != ' ')
			last_sp = o;
		out[o++] = field[i];
		col = o - line_start;
		if (col > FOLD_AT && last_sp != (size_t)-1 &&
		    last_sp > line_start) {
			/* insert eol before the space at last_sp */
			memmove(out + last_sp + el, out + last_sp,
			    o - last_sp);
			memcpy(out + last_sp, eol, el);
			o += el;
			line_start = last_sp + el;
			last_sp = (size_t)-1;
		}
	}
	memcpy(out + o, eol, el);
	o += el;
	out[o] = '\0';
	return out;
}

/* ---- failure reports ---- */


static int
forensic_to_file(const char *path, const char *rep, size_t len)
{
	int fd, rc;

	if (strcmp(path, "-") == 0) {
		fflush(stdout);
		return write_all(STDOUT_FILENO, rep, len);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	rc = write_all(fd, rep, len);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* --sendmail: CMD's words (split on spaces, no shell) and the ruf=
 * recipients; the report on its standard input.  Its standard output is
 * our standard error, which keeps a filter's output the message alone. */
static int
forensic_to_cmd(const char *cmd, char **rcpt, const char *rep,
    size_t len)
{
	char *words, *w, *save = NULL, *argv[MAX_SENDMAIL_ARGS + 1];
	int fds[2], status, rc = 0;
	size_t n = 0, i;
	pid_t pid;

	if ((words = strdup(cmd)) == NULL)
		return -1;
	for (w = strtok_r(words, " ", &save); w != NULL &&
	    n < MAX_SENDMAIL_ARGS; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	for (i = 0; rcpt[i] != NULL && n < MAX_SENDMAIL_ARGS; i++)
		argv[n++] = rcpt[i];
	argv[n] = NULL;
	if (pipe(fds) == -1) {
		free(words);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		free(words);
		return -1;
	}
	if (pid == 0) {
		if (dup2(fds[0], STDIN_FILENO) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], argv);
		diag_warn("--sendmail: %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	if (write_all(fds[1], rep, len) == -1 && errno != EPIPE)
		rc = -1;
	close(fds[1]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			rc = -1;
			break;
		}
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		diag_warn("--sendmail: %s %s %d", argv[0],
		    WIFEXITED(status) ? "exited" : "killed by signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		rc = 1;
	}
	free(words);
	return rc;
}

/* A report that cannot go out is a warning: the verdict stands. */
static void
send_forensic(const struct conf *c, const struct eval *e, time_t when)
{
	char *rep, **rcpt;
	const char *why = NULL;
	size_t len, i;

	if ((!c->forensic && !c->sendmail) ||
	    !dmarc_forensic_wanted(&e->v, &e->a))
		return;
	/* A NULL sender is lib/dmarc_report's default, postmaster@host. */
	rep = dmarc_forensic_report(&e->v, &e->a, c->ip, c->forensic_sender,
	    e->m.buf, e->m.len, when, &len, &why);
	if (rep == NULL) {
		diag_info("failure report: %s", why ? why : "cannot make it");
		return;
	}
	if (why != NULL)
		diag_info("failure report: %s", why);
	if (c->forensic != NULL) {
		if (forensic_to_file(c->forensic, rep, len) == -1)
			diag_warn("%s: %s", strcmp(c->forensic, "-") == 0 ?
			    "stdout" : c->forensic, strerror(errno));
	} else if ((rcpt = dmarc_verified_addresses(&e->v, 1, &why)) == NULL)
		diag_info("failure report: %s",
		    why ? why : "no mailto: address in ruf=");
	else {
		if (forensic_to_cmd(c->sendmail, rcpt, rep, len) == -1)
			diag_warn("--sendmail: %s", strerror(errno));
		for (i = 0; rcpt[i] != NULL; i++)
			free(rcpt[i]);
		free(rcpt);
	}
	free(rep);
}

static void
after_verdict(const struct conf *c, const struct eval *e)
{
	time_t when = c->cli.now != (time_t)-1 ? c->cli.now : time(NULL);
	const char *why = NULL;

	if (c->history != NULL && e->v.from_domain != NULL &&
	    dmarc_history_append(c->history, &e->v, &e->a, c->ip, when,
	    &why) == -1)
		diag_warn("%s: %s", c->history, why ? why : strerror(errno));
	send_forensic(c, e, when);
}

/* ---- the modes ---- */

/* The authserv-id whose old fields --strip-authres removes: ours. */
static const char *
our_authserv_id(const struct conf *c)
{
	return c->dopts.authserv_id != NULL ? c->dopts.authserv_id :
	    authres_default_id();
}

static int
run_report(const struct conf *c)
{
	struct eval e = { 0 };
	int rc;

	if ((rc = filter_load(c->input, &e.buf, &e.len)) != 0)
		return rc;
	if ((rc = evaluate(c, &e)) == 0) {
		rc = write_record(c, &e);
		after_verdict(c, &e);
		if (rc == 0)
			rc = dmarc_status_exit(e.v.status);
	}
	eval_free(&e);
	return rc;
}

static int
run_filter(const struct conf *c)
{
	struct eval e = { 0 };
	char *field = NULL;
	int rc;

	if (filter_load(c->input, &e.buf, &e.len) != 0)
		return EX_TEMPFAIL;
	if (evaluate(c, &e) != 0)
		rc = filter_pass_through(STDOUT_FILENO, e.buf, e.len,
		    "message passed on without a verdict");
	else if (c->tempfail && e.v.status == DMARC_TEMPERROR) {
		diag_warn("DNS failure (temperror); message deferred");
		rc = EX_TEMPFAIL;
	} else if (e.v.ar_header == NULL || (field = fold_field(e.v.ar_header,
	    filter_eol(e.m.buf, e.m.len))) == NULL)
		rc = filter_pass_through(STDOUT_FILENO, e.buf, e.len,
		    "internal error");
	else {
		rc = filter_emit_msg(STDOUT_FILENO, &field, 1, &e.m, e.skip,
		    c->strip ? our_authserv_id(c) : NULL, NULL);
		after_verdict(c, &e);
	}
	free(field);
	eval_free(&e);
	return rc;
}

static int
run_aggregate(const struct conf *c)
{
	struct dmarc_agg_opts ao = { 0 };
	const char *why = NULL;
	FILE *fp;
	int n, err;

	/* Tell "cannot open" (66) from "malformed" (65) before the run. */
	if ((fp = fopen(c->aggregate, "r")) == NULL)
		diag_die(EX_NOINPUT, "%s: %s", c->aggregate, strerror(errno));
	fclose(fp);
	ao.org = c->org;
	ao.email = c->email;
	ao.begin = c->begin;
	ao.end = c->end;
	ao.outdir = c->outdir;
	errno = 0;
	if ((n = dmarc_aggregate(c->aggregate, &ao, stdout, &why)) == -1) {
		err = errno;
		diag_warn("%s", why ? why : strerror(err));
		return err == ENOMEM ? EX_SOFTWARE :
		    err == 0 || err == EINVAL || err == EBADMSG ? EX_DATAERR :
		    c->outdir ? EX_CANTCREAT : EX_IOERR;
	}
	diag_info("%d report%s written", n, n == 1 ? "" : "s");
	return cli_stdout_done();
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	const char *why = NULL;
	int rc;

	cli_init(&c.cli, argv, usage);
	cli_openssl_init();
	c.dopts.mode = DMARC_RFC9989;
	parse_args(&c, argc, argv);
	if (c.aggregate)
		return run_aggregate(&c);
	/* A report pipe that closes early must not kill a filter. */
	if (c.sendmail)
		signal(SIGPIPE, SIG_IGN);
	if ((rc = cli_dns_setup_for(&c.cli, c.filter)) != 0)
		return rc;
	if (dmarc_init(&c.dopts, &why) == -1) {
		diag_warn("%s", why ? why : "cannot start");
		return c.filter ? EX_TEMPFAIL : EX_NOINPUT;
	}
	rc = c.filter ? run_filter(&c) : run_report(&c);
	dmarc_shutdown();
	while (c.ndkim > 0)
		free(c.dkim[--c.ndkim].domain);
	return rc;
}
