/* cli: the options every mxkit program shares (DESIGN.md, spec/cli.md).
 *
 *   -h/--help  -V/--version  -v/--verbose  -o/--output MODE
 *   --resolver HOST[:PORT]  --dns-zone FILE (repeatable)  --dns-timeout MS
 *
 * A program puts CLI_LONGOPTS (and CLI_LONGOPT_OUTPUT when it has output
 * modes) into its own getopt_long table, CLI_SHORTOPTS into its short
 * option string, and hands every option it does not know to cli_option().
 * DNS is configured only when the program asks (cli_dns_setup), so that a
 * program that never looks anything up reads no resolver configuration.
 */
#ifndef MXKIT_CLI_H
#define MXKIT_CLI_H
#include <getopt.h>
#include <stddef.h>
#include "out.h"

/* Long-only option codes; programs number their own from CLI_OPT_PROG. */
enum {
	CLI_OPT_RESOLVER = 0x100,
	CLI_OPT_DNS_ZONE,
	CLI_OPT_DNS_TIMEOUT,
	CLI_OPT_PROG = 0x200
};

#define CLI_SHORTOPTS	"hVv"
#define CLI_SHORTOPT_OUTPUT "o:"
#define CLI_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "resolver", required_argument, NULL, CLI_OPT_RESOLVER }, \
	{ "dns-zone", required_argument, NULL, CLI_OPT_DNS_ZONE }, \
	{ "dns-timeout", required_argument, NULL, CLI_OPT_DNS_TIMEOUT }
#define CLI_LONGOPT_OUTPUT \
	{ "output", required_argument, NULL, 'o' }

#define CLI_MAX_ZONES	64

struct cli {
	const char *usage;	/* the -h text, printed as is */
	const char *resolver;	/* --resolver, NULL: MXKIT_RESOLVER or resolv.conf */
	const char *zones[CLI_MAX_ZONES];	/* --dns-zone, in order */
	size_t nzones;
	unsigned timeout_ms;	/* --dns-timeout; 0: dns's default */
	enum out_mode out_mode;	/* -o, default OUT_TEXT */
	int verbose;		/* -v count (also sets diag_verbose) */
};

/* diag_init(argv[0]) and defaults; usage is the -h text.  argv[0] is
 * replaced by the program's base name so that getopt's own messages read
 * "prog: unrecognized option ...". */
void cli_init(struct cli *c, char **argv, const char *usage);

/* Apply one getopt_long result.  1: it was a common option and is applied
 * (-h and -V print and exit 0); 0: not a common option.  A bad value exits
 * 64 after a one-line diagnostic; so does getopt's '?' or ':' (getopt has
 * printed the diagnostic). */
int cli_option(struct cli *c, int ch, const char *arg);

/* dns_init with --resolver/--dns-timeout (and the environment), then
 * dns_load_zone for each --dns-zone.  0, or the exit status the program
 * should use after the diagnostic printed here: EX_NOINPUT for a zone file
 * that cannot be read, EX_DATAERR for one that does not parse, EX_USAGE
 * for a resolver that is not an address, EX_UNAVAILABLE otherwise (an
 * MXKIT_DNS_ZONE file that does not load, say).  Reads /etc/resolv.conf
 * when no resolver is given (dns_init does). */
int cli_dns_setup(const struct cli *c);

/* "prog: usage: what (see prog -h)" on stderr, exit 64. */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* "prog (mxkit) VERSION" on stdout. */
void cli_version(void);

/* Option values: decimal in [min, max], else a usage error naming what. */
unsigned long long cli_number(const char *arg, unsigned long long min,
    unsigned long long max, const char *what);

/* Seconds on a monotonic clock, for rates and elapsed times. */
double cli_monotonic(void);

/* A progress line on stderr for long runs (mbox archives, batches), shown
 * only when stderr is a terminal and stdout is not, redrawn at most 4
 * times a second (the first time after a quarter of a second):
 * "prog: N messages, X MB/s[, P%, ETA M:SS]".  total is the input's size
 * when known (a regular file), else 0. */
struct cli_progress {
	int on;
	double start, last;
	unsigned long long total;
	int drawn;
	const char *unit;	/* "messages" */
};
void cli_progress_start(struct cli_progress *p, unsigned long long total,
    const char *unit);
void cli_progress_update(struct cli_progress *p, unsigned long items,
    unsigned long long bytes);
/* Erase the line (before a summary or at exit). */
void cli_progress_end(struct cli_progress *p);

#endif
