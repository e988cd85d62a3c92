/* cli: what every mxkit front end shares.  See cli.h. */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "diag.h"
#include "dns.h"
#include "filter.h"
#include "workq.h"

#ifndef MXKIT_VERSION
#define MXKIT_VERSION "0.0.0"
#endif

void
cli_init(struct cli *c, char **argv, const char *usage)
{
	memset(c, 0, sizeof(*c));
	c->usage = usage;
	c->out_mode = OUT_TEXT;
	c->now = (time_t)-1;
	c->mbox_variant = MBOX_RD;
	diag_init(argv[0] != NULL ? argv[0] : "mxkit");
	if (argv[0] != NULL)
		argv[0] = (char *)diag_prog;
}

void
cli_usage_error(const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	diag_die(EX_USAGE, "usage: %s (see %s -h)", what, diag_prog);
}

void
cli_version(void)
{
	printf("%s (mxkit) %s\n", diag_prog, MXKIT_VERSION);
}

unsigned long long
cli_number(const char *arg, unsigned long long min, unsigned long long max,
    const char *what)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts a sign and leading blanks; an option value must
	 * be plain digits. */
	if (arg == NULL || *arg < '0' || *arg > '9')
		cli_usage_error("%s: not a number: %s", what, arg ? arg : "");
	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		cli_usage_error("%s: %s: expected %llu to %llu", what, arg, min,
		    max);
	return v;
}

unsigned
cli_words(const char *list, const struct cli_word *w, size_t n,
    const char *what)
{
	unsigned bits = 0;
	const char *p = list;
	size_t len, i;

	while (*p != '\0') {
		len = strcspn(p, ",");
		for (i = 0; len > 0 && i < n; i++)
			if (strlen(w[i].name) == len &&
			    strncasecmp(p, w[i].name, len) == 0)
				break;
		if (len > 0 && i == n)
			cli_usage_error("%s: unknown: %.*s", what, (int)len, p);
		if (len > 0)
			bits |= w[i].bits;
		p += len;
		if (*p == ',')
			p++;
	}
	return bits;
}

void
cli_openssl_init(void)
{
	/* Each of these costs start-up time in a process that handles one
	 * message: parsing openssl.cnf, loading some thousands of error
	 * strings on the first error-queue use, freeing it all at exit. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT, NULL);
}

int
cli_flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == EOF || ferror(stdout))
		return errno != 0 ? errno : EIO;
	return 0;
}

static int
output_failed(int err)
{
	diag_warn("output: %s", strerror(err));
	return EX_IOERR;
}

int
cli_stdout_done(void)
{
	int err = cli_flush_stdout();

	return err != 0 ? output_failed(err) : 0;
}

int
cli_out_done(struct out *o)
{
	errno = 0;
	if (out_end(o, stdout) == -1)
		return output_failed(errno != 0 ? errno : EIO);
	return cli_stdout_done();
}

static void
finish_stdout(void)
{
	int err;

	if ((err = cli_flush_stdout()) != 0)
		diag_die(EX_IOERR, "stdout: %s", strerror(err));
	exit(0);
}

int
cli_option(struct cli *c, int ch, const char *arg)
{
	int mode;

	switch (ch) {
	case 'h':
		fputs(c->usage, stdout);
		finish_stdout();
		break;
	case 'V':
		cli_version();
		finish_stdout();
		break;
	case 'v':
		c->verbose++;
		diag_verbose = c->verbose;
		return 1;
	case 'o':
		if ((mode = out_mode_parse(arg)) < 0)
			cli_usage_error("-o: unknown output mode: %s "
			    "(text, kv or json)", arg);
		c->out_mode = (enum out_mode)mode;
		return 1;
	case CLI_OPT_RESOLVER:
		if (*arg == '\0')
			cli_usage_error("--resolver: empty");
		c->resolver = arg;
		return 1;
	case CLI_OPT_DNS_ZONE:
		if (c->nzones == CLI_MAX_ZONES)
			cli_usage_error("--dns-zone: more than %d files",
			    CLI_MAX_ZONES);
		c->zones[c->nzones++] = arg;
		return 1;
	case CLI_OPT_DNS_TIMEOUT:
		c->timeout_ms = (unsigned)cli_number(arg, 1, 600000,
		    "--dns-timeout");
		return 1;
	case CLI_OPT_NOW:
		c->now = (time_t)cli_number(arg, 1, CLI_MAX_EPOCH, "--now");
		return 1;
	case CLI_OPT_MBOX:
	case CLI_OPT_MBOXO:
		c->mbox = 1;
		c->mbox_variant = ch == CLI_OPT_MBOX ? MBOX_RD : MBOX_O;
		return 1;
	case 'j':
		c->jobs = (unsigned)cli_number(arg, 1, CLI_MAX_JOBS, "-j");
		return 1;
	case CLI_OPT_SUMMARY:
		c->summary = 1;
		return 1;
	case CLI_OPT_TRUST_ANCHOR:
		if (*arg == '\0')
			cli_usage_error("--trust-anchor: empty");
		c->trust_anchor = arg;
		return 1;
	case '?':
	case ':':
		/* getopt has said what is wrong. */
		exit(EX_USAGE);
	}
	return 0;
}

/* The trust anchor file dns_init will load (--trust-anchor, else
 * MXKIT_TRUST_ANCHOR), when it cannot be read: EX_NOINPUT, as a zone. */
static int
anchor_readable(const struct cli *c)
{
	const char *path = c->trust_anchor;

	if (path == NULL && (path = getenv("MXKIT_TRUST_ANCHOR")) != NULL &&
	    *path == '\0')
		path = NULL;
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	diag_warn("%s: %s", path, strerror(errno));
	return EX_NOINPUT;
}

int
cli_dns_setup(const struct cli *c)
{
	struct dns_opts o = {
		.resolver = c->resolver,
		.timeout_ms = c->timeout_ms ? c->timeout_ms : 2000,
		.retries = 2,
		.dnssec = 1,
		.use_cache = 1,
	};
	const char *why = NULL;
	char *zwhy;
	size_t i;
	int rc;

	if ((rc = anchor_readable(c)) != 0)
		return rc;
	if (dns_init(&o, &why) == -1) {
		diag_warn("dns: %s", why ? why : "cannot configure");
		/* A --resolver (or MXKIT_RESOLVER) that is not an address is
		 * the user's mistake, trust anchors that do not parse bad
		 * input; anything else is the system's. */
		if (why != NULL && strncmp(why, "resolver", 8) == 0)
			return EX_USAGE;
		if (why != NULL && strncmp(why, "trust anchor", 12) == 0)
			return EX_DATAERR;
		return EX_UNAVAILABLE;
	}
	if (c->trust_anchor != NULL &&
	    dns_trust_anchor(c->trust_anchor, &why) == -1) {
		diag_warn("%s", why);
		return EX_DATAERR;
	}
	for (i = 0; i < c->nzones; i++) {
		if (access(c->zones[i], R_OK) == -1) {
			diag_warn("%s: %s", c->zones[i], strerror(errno));
			return EX_NOINPUT;
		}
		zwhy = NULL;
		if (dns_load_zone(c->zones[i], &zwhy) == -1) {
			diag_warn("--dns-zone: %s", zwhy ? zwhy : c->zones[i]);
			free(zwhy);
			return EX_DATAERR;
		}
	}
	return 0;
}

int
cli_dns_setup_for(const struct cli *c, int filter)
{
	int rc = cli_dns_setup(c);

	return filter && rc != 0 && rc != EX_USAGE ? EX_TEMPFAIL : rc;
}

const char *
cli_input_name(const char *path)
{
	return path == NULL || strcmp(path, "-") == 0 ? "stdin" : path;
}

FILE *
cli_open_input(const char *path)
{
	FILE *fp;

	if (path == NULL || strcmp(path, "-") == 0)
		return stdin;
	if ((fp = fopen(path, "r")) == NULL)
		diag_die(EX_NOINPUT, "%s: %s", path, strerror(errno));
	return fp;
}

void
cli_close_input(FILE *fp)
{
	if (fp != NULL && fp != stdin)
		fclose(fp);
}

/* ---- runs over many messages ---- */

struct batch_run {
	struct cli_batch *b;
	struct cli_progress progress;
	struct mbox *mb;	/* mbox runs: for the bytes consumed */
	int stop;		/* emit asked for no more */
};

static void *
batch_work(void *arg, void *item)
{
	struct cli_batch *b = arg;

	b->work(b->arg, item);
	return item;
}

static void
batch_emit(void *arg, void *item)
{
	struct batch_run *r = arg;
	struct cli_batch *b = r->b;
	struct cli_msg *m = item;

	b->messages++;
	b->bytes = r->mb != NULL ? mbox_tell(r->mb) : b->bytes + m->len;
	if (b->emit(b->arg, m) == -1)
		r->stop = 1;
	cli_progress_update(&r->progress, b->messages, b->bytes);
	free(m->data);
	free(m->from_line);
	free(m);
}

static struct workq *
batch_start(struct batch_run *r, struct cli_batch *b,
    unsigned long long total)
{
	struct workq *q;
	unsigned n = b->jobs ? b->jobs : 1;

	r->b = b;
	b->messages = 0;
	b->bytes = 0;
	b->start = cli_monotonic();
	cli_progress_start(&r->progress, total, "messages");
	if ((q = workq_new(n, (size_t)n * 4, batch_work, b)) == NULL)
		diag_die(EX_SOFTWARE, "cannot start %u threads", n);
	return q;
}

static struct cli_msg *
batch_msg(const struct cli_batch *b)
{
	struct cli_msg *m = calloc(1, b->msg_size > sizeof(*m) ?
	    b->msg_size : sizeof(*m));

	if (m == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	return m;
}

static void
batch_push(struct workq *q, struct cli_msg *m, struct batch_run *r)
{
	if (workq_push(q, m, batch_emit, r) == -1)
		diag_die(EX_SOFTWARE, "work queue: %s", strerror(errno));
}

static void
batch_end(struct batch_run *r, struct workq *q)
{
	workq_finish(q, batch_emit, r);
	workq_free(q);
	cli_progress_end(&r->progress);
}

int
cli_batch_mbox(struct cli_batch *b, const char *path, enum mbox_variant v)
{
	struct batch_run r = { 0 };
	struct mbox_msg mm;
	struct cli_msg *m;
	struct workq *q;
	struct stat st;
	FILE *in = cli_open_input(path);
	int n = 0, err = 0;

	if ((r.mb = mbox_open(in, v, 0)) == NULL)
		diag_die(EX_SOFTWARE, "mbox: %s", strerror(errno));
	q = batch_start(&r, b, fstat(fileno(in), &st) == 0 &&
	    S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0);
	while (!r.stop && (n = mbox_next(r.mb, &mm)) == 1) {
		m = batch_msg(b);
		m->data = mm.data;
		m->len = mm.len;
		m->from_line = mm.from_line;
		m->index = mm.index;
		batch_push(q, m, &r);
	}
	if (n == -1)
		err = errno;
	batch_end(&r, q);
	b->bytes = mbox_tell(r.mb);
	mbox_close(r.mb);
	cli_close_input(in);
	if (err == 0)
		return 0;
	diag_warn("%s: %s", cli_input_name(path),
	    err == EBADMSG ? "not an mbox" : strerror(err));
	return err == EBADMSG ? EX_DATAERR : EX_IOERR;
}

int
cli_batch_files(struct cli_batch *b, char *const *paths, size_t n)
{
	struct batch_run r = { 0 };
	struct cli_msg *m;
	struct workq *q = batch_start(&r, b, 0);
	size_t i;

	for (i = 0; i < n && !r.stop; i++) {
		m = batch_msg(b);
		m->file = paths[i];
		if (filter_read(paths[i], &m->data, &m->len) != 0) {
			m->read_err = errno != 0 ? errno : EIO;
			m->data = NULL;
			m->len = 0;
			diag_warn("%s: %s", paths[i], strerror(m->read_err));
		}
		batch_push(q, m, &r);
	}
	batch_end(&r, q);
	return 0;
}

double
cli_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
cli_progress_start(struct cli_progress *p, unsigned long long total,
    const char *unit)
{
	memset(p, 0, sizeof(*p));
	/* When stdout is the same terminal, the output itself shows the
	 * progress, and a status line would be torn by it. */
	p->on = isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
	p->start = p->last = cli_monotonic();
	p->total = total;
	p->unit = unit;
}

void
cli_progress_update(struct cli_progress *p, unsigned long items,
    unsigned long long bytes)
{
	char line[160], tail[64] = "";
	double now, rate, eta;
	int n;

	if (!p->on)
		return;
	now = cli_monotonic();
	if (now - p->last < 0.25)
		return;
	p->last = now;
	rate = now > p->start ? (double)bytes / (now - p->start) : 0;
	if (p->total > 0 && bytes <= p->total && rate > 0) {
		eta = (double)(p->total - bytes) / rate;
		snprintf(tail, sizeof(tail), ", %u%%, ETA %lu:%02lu",
		    (unsigned)(100.0 * (double)bytes / (double)p->total),
		    (unsigned long)eta / 60, (unsigned long)eta % 60);
	}
	n = snprintf(line, sizeof(line), "\r%s: %lu %s, %.1f MB/s%s\033[K",
	    diag_prog, items, p->unit, rate / 1e6, tail);
	/* One write: stderr is unbuffered. */
	if (n > 0)
		fputs(line, stderr);
	p->drawn = 1;
}

void
cli_progress_end(struct cli_progress *p)
{
	if (p->on && p->drawn)
		fputs("\r\033[K", stderr);
	p->drawn = 0;
}
