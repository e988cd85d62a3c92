/* cli: the options every mxkit program shares.  See cli.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "dns.h"

#ifndef MXKIT_VERSION
#define MXKIT_VERSION "0.0.0"
#endif

void
cli_init(struct cli *c, char **argv, const char *usage)
{
	memset(c, 0, sizeof(*c));
	c->usage = usage;
	c->out_mode = OUT_TEXT;
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

static void
finish_stdout(void)
{
	if (fflush(stdout) == EOF || ferror(stdout))
		diag_die(EX_IOERR, "stdout: %s", strerror(errno));
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
	case '?':
	case ':':
		/* getopt has said what is wrong. */
		exit(EX_USAGE);
	}
	return 0;
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

	if (dns_init(&o, &why) == -1) {
		diag_warn("dns: %s", why ? why : "cannot configure");
		/* A --resolver (or MXKIT_RESOLVER) that is not an address is
		 * the user's mistake; anything else is the system's. */
		return why != NULL && strncmp(why, "resolver", 8) == 0 ?
		    EX_USAGE : EX_UNAVAILABLE;
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
