/* dkimverify: verify every DKIM-Signature of a message, of several
 * messages, or of each message of an mbox; report in text, kv or json, or
 * as an Authentication-Results field on the message (filter mode).
 * Options and I/O only; the verifying is lib/dkim's.  See
 * man/dkimverify.1. */
#include <errno.h>
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
#include "dns.h"
#include "filter.h"
#include "msg.h"
#include "out.h"

#define NREASONS	(DKIM_R_TOO_MANY + 1)

static const char usage[] =
"usage: dkimverify [-fv] [-o text|kv|json] [options] [FILE...]\n"
"       dkimverify --mbox|--mboxo [-j N] [--summary] [options] [FILE]\n"
"Verify the DKIM signatures of a message (stdin, each FILE, or an mbox).\n"
"  -o, --output MODE      text (default), kv (Exim's names, for eval), json\n"
"  -f, --filter           write the message with Authentication-Results on top\n"
"      --strip-authres    (-f) drop Authentication-Results naming our id\n"
"      --authserv-id ID   authserv-id for -f (default: the host name)\n"
"      --tempfail         (-f) key lookup timed out, nothing passed: exit 75\n"
"      --signers LIST     report these domains/identities (Exim's\n"
"                         dkim_verify_signers); none when unsigned by them\n"
"      --max-signatures N evaluate N signatures at most (default 20)\n"
"      --no-policy LIST   rfc8301,from,expiry,future,identity,keyflags,all\n"
"      --now EPOCH        verify as of this time\n"
"      --mbox, --mboxo    input is an mboxrd (mboxo) archive\n"
"  -j, --jobs N           worker threads (output stays in input order)\n"
"      --summary          counts, reasons and speed on stderr at the end\n"
"      --resolver HOST[:PORT]  --dns-zone FILE  --dns-timeout MS\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 pass, 1 signed but none passed, 2 no signature, 75 key lookup\n"
"      timed out and nothing passed, 64 usage, 65 bad message or mbox,\n"
"      66 cannot open; -f: 0 when the message went out; --mbox: 0 when read.\n";

enum {
	OPT_STRIP = CLI_OPT_PROG, OPT_AUTHSERV, OPT_TEMPFAIL, OPT_SIGNERS,
	OPT_MAXSIGS, OPT_NOPOLICY
};

static const struct option longopts[] = {
	{ "filter", no_argument, NULL, 'f' },
	{ "strip-authres", no_argument, NULL, OPT_STRIP },
	{ "authserv-id", required_argument, NULL, OPT_AUTHSERV },
	{ "tempfail", no_argument, NULL, OPT_TEMPFAIL },
	{ "signers", required_argument, NULL, OPT_SIGNERS },
	{ "max-signatures", required_argument, NULL, OPT_MAXSIGS },
	{ "no-policy", required_argument, NULL, OPT_NOPOLICY },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPT_NOW,
	CLI_LONGOPT_MBOX,
	CLI_LONGOPT_MBOXO,
	CLI_LONGOPT_JOBS,
	CLI_LONGOPT_SUMMARY,
	{ NULL, 0, NULL, 0 }
};

struct conf {
	struct cli cli;
	int filter, strip, tempfail;
	const char *authserv_id;
	const char *signers;
	struct dkim_verify_opts vo;
	char **inputs;
	int ninputs;
};

/* One message of a run; m says where it came from (an mbox message has
 * an index, one of several files a name). */
struct job {
	struct cli_msg m;
	/* Filled in by the worker: */
	char *record;
	size_t rlen;
	int status;		/* this message's exit status */
	char error[256];	/* why it could not be verified, "" if it was */
	size_t nsigs;
	unsigned long st[DKIM_PASS + 1], reason[NREASONS];
};

struct summary {
	unsigned long unreadable, malformed, sigs;
	unsigned long st[DKIM_PASS + 1], reason[NREASONS];
};

struct run {
	const struct conf *c;
	struct cli_batch batch;	/* messages, bytes, start */
	struct summary sum;
	int status;		/* the highest message status */
	int internal;		/* a message could not be processed */
	int io_failed;
};

/* ---- options ---- */

static unsigned
parse_policy(const char *list)
{
	static const struct cli_word word[] = {
		{ "rfc8301", DKIM_POLICY_RFC8301 },
		{ "from", DKIM_POLICY_FROM },
		{ "expiry", DKIM_POLICY_EXPIRY },
		{ "future", DKIM_POLICY_FUTURE },
		{ "identity", DKIM_POLICY_IDENTITY },
		{ "keyflags", DKIM_POLICY_KEYFLAGS },
		{ "all", DKIM_POLICY_DEFAULT },
	};

	return DKIM_POLICY_DEFAULT & ~cli_words(list, word,
	    sizeof(word) / sizeof(word[0]), "--no-policy");
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS CLI_SHORTOPT_OUTPUT
	    CLI_SHORTOPT_JOBS "f", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': c->filter = 1; break;
		case OPT_STRIP: c->strip = 1; break;
		case OPT_AUTHSERV:
			if (*optarg == '\0')
				cli_usage_error("--authserv-id: empty");
			c->authserv_id = optarg;
			break;
		case OPT_TEMPFAIL: c->tempfail = 1; break;
		case OPT_SIGNERS: c->signers = optarg; break;
		case OPT_MAXSIGS:
			c->vo.max_sigs = (size_t)cli_number(optarg, 1, 10000,
			    "--max-signatures");
			break;
		case OPT_NOPOLICY: c->vo.policy = parse_policy(optarg); break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	c->inputs = argv + optind;
	c->ninputs = argc - optind;
	if (c->cli.now != (time_t)-1)
		c->vo.now = c->cli.now;
	if ((c->strip || c->tempfail) && !c->filter)
		cli_usage_error("--strip-authres and --tempfail go with -f");
	if (c->filter && (c->cli.mbox || c->ninputs > 1))
		cli_usage_error("-f takes one message");
	if (c->filter && c->cli.out_mode != OUT_TEXT)
		cli_usage_error("-f writes the message, not -o output");
	if (c->cli.mbox && c->ninputs > 1)
		cli_usage_error("--mbox takes one archive");
}

/* ---- verdicts ---- */

static int
signer_passed(const struct dkim_results *res, const char *signer)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		if (strcasecmp(res->r[i].cur_signer, signer) == 0 &&
		    res->r[i].status == DKIM_PASS)
			return 1;
	return 0;
}

/* 0 pass (with --signers: each listed signer passed), 75 a key lookup
 * timed out and nothing passed, 2 no signature, 1 otherwise. */
static int
verdict(const struct conf *c, const struct dkim_results *res)
{
	int passed = 0, all = res->n > 0, temp = 0;
	size_t i;

	for (i = 0; i < res->n; i++) {
		if (res->r[i].status == DKIM_PASS)
			passed = 1;
		else if (c->signers != NULL &&
		    !signer_passed(res, res->r[i].cur_signer))
			all = 0;
		if (res->r[i].temperror)
			temp = 1;
	}
	if (c->signers != NULL ? all : passed)
		return 0;
	if (temp)
		return EX_TEMPFAIL;
	return res->nsigs == 0 ? 2 : 1;
}

static const char *
reason_word(const struct dkim_result *r)
{
	return dkim_result_var(r, "verify_reason", NULL, 0);
}

/* ---- records ---- */

/* A record is labelled when it is one of many: the message's number in
 * an mbox, or its file's name. */
static int
labelled(const struct job *j)
{
	return j->m.index > 0 || j->m.file != NULL;
}

static void
record_label(struct out *o, const struct job *j)
{
	if (j->m.index > 0)
		out_int(o, out_get_mode(o) == OUT_KV ? "mbox_message" :
		    "message", (long long)j->m.index);
	else if (j->m.file != NULL)
		out_str(o, "file", j->m.file);
}

static void
text_prefix(struct out *o, const struct job *j)
{
	if (j->m.index > 0)
		out_text(o, "msg %lu: ", j->m.index);
	else if (j->m.file != NULL)
		out_text(o, "%s: ", j->m.file);
}

static void
record_text(struct out *o, const struct job *j,
    const struct dkim_results *res)
{
	size_t i;

	if (res->n == 0) {
		text_prefix(o, j);
		out_text(o, "none\n");
	}
	for (i = 0; i < res->n; i++) {
		const struct dkim_result *r = &res->r[i];

		text_prefix(o, j);
		out_text(o, "%s", dkim_status_name(r->status));
		if (r->reason != DKIM_R_NONE)
			out_text(o, " (%s)", reason_word(r));
		if (*r->domain == '\0' && *r->cur_signer != '\0')
			out_text(o, " signer=%s", r->cur_signer);
		if (*r->domain != '\0')
			out_text(o, " d=%s", r->domain);
		if (*r->selector != '\0')
			out_text(o, " s=%s", r->selector);
		if (*r->algo != '\0')
			out_text(o, " a=%s", r->algo);
		if (*r->identity != '\0')
			out_text(o, " i=%s", r->identity);
		if (r->key_length > 0)
			out_text(o, " bits=%d", r->key_length);
		if (r->temperror)
			out_text(o, " [temperror]");
		if (diag_verbose && r->detail != NULL && *r->detail != '\0')
			out_text(o, " -- %s", r->detail);
		out_text(o, "\n");
	}
}

/* kv: each variable as a colon-separated list in signature order (as
 * Exim's are after all its DKIM ACL runs), then the exact values per
 * signature as dkim_N_name, since a list cannot be split back when the
 * values hold colons. */
static void
record_kv(struct out *o, const struct dkim_results *res, const char *signers)
{
	const char **v;
	char name[64], (*num)[24];
	size_t i, k, n = res->n;

	v = calloc(n ? n : 1, sizeof(*v));
	num = calloc(n ? n : 1, sizeof(*num));
	if (v == NULL || num == NULL) {
		free(v);
		free(num);
		out_str(o, "dkim_verify_status", "none");
		out_str(o, "error", "out of memory");
		return;
	}
	for (k = 0; k < DKIM_NVARS; k++) {
		snprintf(name, sizeof(name), "dkim_%s", dkim_var_names[k]);
		if (n == 0) {
			out_str(o, name, k == 0 ? "none" : "");
			continue;
		}
		for (i = 0; i < n; i++)
			v[i] = dkim_result_var_at(&res->r[i], k, num[i],
			    sizeof(num[i]));
		out_list(o, name, v, n);
	}
	out_str(o, "dkim_signers", signers);
	for (i = 0; i < n; i++)
		for (k = 0; k < DKIM_NVARS; k++) {
			char one[24];

			snprintf(name, sizeof(name), "dkim_%zu_%s", i + 1,
			    dkim_var_names[k]);
			out_str(o, name, dkim_result_var_at(&res->r[i], k, one,
			    sizeof(one)));
		}
	free(v);
	free(num);
}

static void
record_json(struct out *o, const struct dkim_results *res,
    const char *signers)
{
	enum dkim_status best = DKIM_NONE;
	char name[64];
	size_t i, k;

	for (i = 0; i < res->n; i++)
		if (res->r[i].status > best)
			best = res->r[i].status;
	out_str(o, "dkim_signers", signers);
	out_str(o, "status", dkim_status_name(best));
	out_array_begin(o, "signatures");
	for (i = 0; i < res->n; i++) {
		const struct dkim_result *r = &res->r[i];

		out_object_begin(o);
		for (k = 0; k < DKIM_NVARS; k++) {
			char num[24];
			const char *s = dkim_result_var_at(r, k, num,
			    sizeof(num));

			snprintf(name, sizeof(name), "dkim_%s",
			    dkim_var_names[k]);
			if (dkim_var_is_number(k))
				out_int(o, name, strtoll(s, NULL, 10));
			else
				out_str(o, name, s);
		}
		out_str(o, "result", dkim_authres_result(r));
		out_bool(o, "temperror", r->temperror);
		out_str(o, "detail", r->detail != NULL ? r->detail : "");
		out_object_end(o);
	}
	out_array_end(o);
}

static void
record_error(struct out *o, struct job *j, int status, const char *what)
{
	snprintf(j->error, sizeof(j->error), "%s", what);
	j->status = status;
	out_begin(o);
	record_label(o, j);
	text_prefix(o, j);
	out_text(o, "error: %s\n", what);
	out_str(o, "error", what);
}

/* ---- the work: parse, verify, format ---- */

/* Keep the record (plus the empty line that ends an mbox or file record
 * in kv mode) as the job's own copy: the out object is the worker's. */
static void
keep_record(struct job *j, struct out *o)
{
	size_t len, extra;
	const char *rec = out_record(o, &len);

	if (rec == NULL)
		return;
	extra = out_get_mode(o) == OUT_KV && labelled(j);
	if ((j->record = malloc(len + extra + 1)) == NULL)
		return;
	memcpy(j->record, rec, len);
	if (extra)
		j->record[len] = '\n';
	j->rlen = len + extra;
	j->record[j->rlen] = '\0';
}

static void
count(struct job *j, const struct dkim_results *res)
{
	size_t i;

	j->nsigs = res->nsigs;
	if (res->n == 0)
		j->st[DKIM_NONE]++;
	for (i = 0; i < res->n; i++) {
		if (res->r[i].status <= DKIM_PASS)
			j->st[res->r[i].status]++;
		if (res->r[i].reason != DKIM_R_NONE &&
		    (unsigned)res->r[i].reason < NREASONS)
			j->reason[res->r[i].reason]++;
	}
}

/* The message below the From_ line that a delivery agent may have put on
 * top of a file; an mbox message has lost its own already. */
static int
parse_job(const struct job *j, struct msg *m, const char **why)
{
	size_t skip;

	if (j->m.index > 0 ||
	    (skip = filter_from_line(j->m.data, j->m.len)) == 0)
		return msg_parse(m, j->m.data, j->m.len, why);
	return msg_parse(m, j->m.data + skip, j->m.len - skip, why);
}

/* Parse, verify, format: on a worker thread. */
static void
work(void *arg, struct cli_msg *item)
{
	const struct conf *c = ((const struct run *)arg)->c;
	struct job *j = (struct job *)item;
	struct dkim_results res = { 0 };
	struct msg m = { 0 };
	struct out *o;
	char *signers = NULL, what[256];
	const char *why = NULL;

	if ((o = out_new(c->cli.out_mode)) == NULL) {
		j->status = EX_SOFTWARE;
		return;
	}
	if (j->m.read_err != 0)
		record_error(o, j, j->m.read_err == ENOENT ||
		    j->m.read_err == EACCES || j->m.read_err == EISDIR ?
		    EX_NOINPUT : EX_IOERR, strerror(j->m.read_err));
	else if (parse_job(j, &m, &why) == -1) {
		snprintf(what, sizeof(what), "cannot parse: %s",
		    why ? why : strerror(errno));
		record_error(o, j, EX_DATAERR, what);
	} else if (dkim_verify(&m, &c->vo, &res) == -1 ||
	    (signers = dkim_signers(&res)) == NULL ||
	    (c->signers != NULL &&
	    dkim_select_signers(&res, c->signers) == -1))
		record_error(o, j, EX_SOFTWARE, "out of memory");
	else {
		out_begin(o);
		record_label(o, j);
		switch (c->cli.out_mode) {
		case OUT_TEXT: record_text(o, j, &res); break;
		case OUT_KV: record_kv(o, &res, signers); break;
		case OUT_JSON: record_json(o, &res, signers); break;
		}
		j->status = verdict(c, &res);
		count(j, &res);
	}
	keep_record(j, o);
	if (j->record == NULL && j->status != EX_SOFTWARE) {
		snprintf(j->error, sizeof(j->error), "out of memory");
		j->status = EX_SOFTWARE;
	}
	out_free(o);
	free(signers);
	dkim_results_free(&res);
	msg_free(&m);
	/* The message is not needed any more: free it early, on the
	 * worker, to keep memory flat. */
	free(j->m.data);
	j->m.data = NULL;
}

/* Write the record and count the verdicts; the run frees j. */
static int
emit(void *arg, struct cli_msg *item)
{
	struct run *r = arg;
	struct job *j = (struct job *)item;
	size_t k;

	if (!r->io_failed && j->record != NULL &&
	    fwrite(j->record, 1, j->rlen, stdout) != j->rlen)
		r->io_failed = errno ? errno : EIO;
	if (j->status > r->status)
		r->status = j->status;
	if (j->m.read_err != 0)
		r->sum.unreadable++;
	else if (j->status == EX_DATAERR)
		r->sum.malformed++;
	else if (j->status == EX_SOFTWARE)
		r->internal = 1;
	r->sum.sigs += j->nsigs;
	for (k = 0; k <= DKIM_PASS; k++)
		r->sum.st[k] += j->st[k];
	for (k = 0; k < NREASONS; k++)
		r->sum.reason[k] += j->reason[k];
	free(j->record);
	j->record = NULL;
	return r->io_failed ? -1 : 0;
}

/* ---- the summary ---- */

static void
print_summary(const struct run *r)
{
	const struct summary *s = &r->sum;
	const struct cli_batch *b = &r->batch;
	struct dns_stats ds = { 0 };
	char line[1024];
	double el = cli_monotonic() - b->start;
	size_t k, at;
	int st;

	diag_warn("summary: %lu messages (%lu malformed, %lu unreadable), "
	    "%lu signatures", b->messages, s->malformed, s->unreadable,
	    s->sigs);
	at = (size_t)snprintf(line, sizeof(line), "status:");
	for (st = DKIM_PASS; st >= DKIM_NONE; st--)
		at += (size_t)snprintf(line + at, sizeof(line) - at, "%s %s %lu",
		    st == DKIM_PASS ? "" : ",", dkim_status_name(st),
		    s->st[st]);
	diag_warn("summary: %s", line);
	at = (size_t)snprintf(line, sizeof(line), "reasons:");
	for (k = 1; k < NREASONS && at < sizeof(line) - 64; k++)
		if (s->reason[k] > 0)
			at += (size_t)snprintf(line + at, sizeof(line) - at,
			    "%s %s %lu", at > 8 ? "," : "",
			    dkim_reason_name((enum dkim_reason)k), s->reason[k]);
	diag_warn("summary: %s", at > 8 ? line : "reasons: none");
	dns_get_stats(&ds);
	diag_warn("summary: dns: %lu network queries (%lu lookups, %lu from "
	    "zone files, %lu cached, %lu timeouts)", ds.network, ds.queries,
	    ds.zone_hits, ds.cache_hits, ds.timeouts);
	diag_warn("summary: %.2f s, %.1f msg/s, %.2f MB/s", el,
	    el > 0 ? (double)b->messages / el : 0,
	    el > 0 ? (double)b->bytes / el / 1e6 : 0);
}

/* ---- the three ways in ---- */

/* After a run: the output flushed, the summary, and the exit status. */
static int
finish_run(struct run *r, int rc)
{
	int err = cli_flush_stdout();

	if (err != 0 && !r->io_failed)
		r->io_failed = err;
	if (r->c->cli.summary)
		print_summary(r);
	if (r->io_failed)
		diag_warn("output: %s", strerror(r->io_failed));
	if (rc != 0)
		return rc;
	return r->io_failed ? EX_IOERR : -1;
}

static void
run_init(struct run *r, const struct conf *c)
{
	r->c = c;
	r->batch.jobs = c->cli.jobs;
	r->batch.msg_size = sizeof(struct job);
	r->batch.work = work;
	r->batch.emit = emit;
	r->batch.arg = r;
}

static int
verify_mbox(const struct conf *c, struct run *r)
{
	int rc;

	rc = finish_run(r, cli_batch_mbox(&r->batch, c->ninputs == 1 ?
	    c->inputs[0] : NULL, c->cli.mbox_variant));
	if (rc >= 0)
		return rc;
	return r->internal ? EX_SOFTWARE : 0;
}

static int
verify_files(const struct conf *c, struct run *r)
{
	int rc;

	rc = finish_run(r, cli_batch_files(&r->batch, c->inputs,
	    (size_t)c->ninputs));
	return rc >= 0 ? rc : r->status;
}

/* One message, no queue.  Errors go to stderr only. */
static int
verify_one(const struct conf *c, struct run *r)
{
	const char *path = c->ninputs == 1 ? c->inputs[0] : NULL;
	struct job *j = calloc(1, sizeof(*j));
	int rc;

	if (j == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	r->batch.start = cli_monotonic();
	if ((rc = filter_load(path, &j->m.data, &j->m.len)) != 0)
		exit(rc);
	work(r, &j->m);
	if (j->error[0] != '\0') {
		diag_warn("%s: %s", cli_input_name(path), j->error);
		rc = j->status;
	} else {
		r->batch.messages = 1;
		r->batch.bytes = j->m.len;
		emit(r, &j->m);
		rc = finish_run(r, 0);
		rc = rc >= 0 ? rc : r->status;
	}
	free(j->record);
	free(j->m.data);
	free(j);
	return rc;
}

/* ---- filter mode ---- */

static char *
make_authres(const struct conf *c, const struct dkim_results *res,
    const char *eol, struct authres **arp)
{
	if ((*arp = authres_new(c->authserv_id)) == NULL ||
	    dkim_authres_add_all(*arp, res) == -1)
		return NULL;
	return authres_format(*arp, eol);
}

static int
timed_out_unpassed(const struct dkim_results *res)
{
	int temp = 0;
	size_t i;

	for (i = 0; i < res->n; i++) {
		if (res->r[i].status == DKIM_PASS)
			return 0;
		temp |= res->r[i].temperror;
	}
	return temp;
}

static int
verify_filter(const struct conf *c)
{
	const char *path = c->ninputs == 1 ? c->inputs[0] : NULL;
	struct dkim_results res = { 0 };
	struct authres *ar = NULL;
	struct msg m = { 0 };
	char *buf = NULL, *field = NULL, why_buf[256];
	const char *why = NULL;
	size_t len, skip, nstripped;
	int rc;

	if (filter_load(path, &buf, &len) != 0)
		return EX_TEMPFAIL;
	skip = filter_from_line(buf, len);
	if (msg_parse(&m, buf + skip, len - skip, &why) == -1) {
		snprintf(why_buf, sizeof(why_buf), "cannot parse: %s",
		    why ? why : strerror(errno));
		rc = filter_pass_through(STDOUT_FILENO, buf, len, why_buf);
	} else if (dkim_verify(&m, &c->vo, &res) == -1 ||
	    (field = make_authres(c, &res, filter_eol(m.buf, m.len), &ar))
	    == NULL ||
	    (c->signers != NULL &&
	    dkim_select_signers(&res, c->signers) == -1))
		rc = filter_pass_through(STDOUT_FILENO, buf, len,
		    "internal error");
	else if (c->tempfail && timed_out_unpassed(&res)) {
		diag_warn("key lookup timed out; message deferred");
		rc = EX_TEMPFAIL;
	} else {
		rc = filter_emit_msg(STDOUT_FILENO, &field, 1, &m, skip,
		    c->strip ? authres_id(ar) : NULL, &nstripped);
		if (nstripped > 0)
			diag_info("removed %zu Authentication-Results field%s "
			    "claiming %s", nstripped, nstripped > 1 ? "s" : "",
			    authres_id(ar));
	}
	free(field);
	authres_free(ar);
	dkim_results_free(&res);
	msg_free(&m);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	struct run r = { 0 };
	int rc;

	cli_init(&c.cli, argv, usage);
	cli_openssl_init();
	c.vo.policy = DKIM_POLICY_DEFAULT;
	c.vo.max_sigs = 20;
	parse_args(&c, argc, argv);
	if ((rc = cli_dns_setup_for(&c.cli, c.filter)) != 0)
		return rc;
	if (c.filter)
		return verify_filter(&c);
	run_init(&r, &c);
	if (c.cli.mbox)
		return verify_mbox(&c, &r);
	if (c.ninputs > 1)
		return verify_files(&c, &r);
	return verify_one(&c, &r);
}
