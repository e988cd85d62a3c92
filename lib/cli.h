/* cli: what every mxkit front end shares (DESIGN.md, spec/cli.md): the
 * common options, input and output helpers, and the loop over the messages
 * of an mbox or of several files.
 *
 *   -h/--help  -V/--version  -v/--verbose  -o/--output MODE
 *   --resolver HOST[:PORT]  --dns-zone FILE (repeatable)  --dns-timeout MS
 *   and, for the programs that take them: --now EPOCH  --mbox  --mboxo
 *   -j/--jobs N  --summary  --trust-anchor FILE
 *
 * A program puts CLI_LONGOPTS (and the CLI_LONGOPT_* of the optional ones
 * it has) into its own getopt_long table, CLI_SHORTOPTS (and
 * CLI_SHORTOPT_OUTPUT, CLI_SHORTOPT_JOBS) into its short option string,
 * and hands every option it does not know to cli_option().  DNS is
 * configured only when the program asks (cli_dns_setup).
 */
#ifndef MXKIT_CLI_H
#define MXKIT_CLI_H
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include "mbox.h"
#include "out.h"

/* Long-only option codes; programs number their own from CLI_OPT_PROG. */
enum {
	CLI_OPT_RESOLVER = 0x100,
	CLI_OPT_DNS_ZONE,
	CLI_OPT_DNS_TIMEOUT,
	CLI_OPT_NOW,
	CLI_OPT_MBOX,
	CLI_OPT_MBOXO,
	CLI_OPT_SUMMARY,
	CLI_OPT_TRUST_ANCHOR,
	CLI_OPT_PROG = 0x200
};

#define CLI_SHORTOPTS	"hVv"
#define CLI_SHORTOPT_OUTPUT "o:"
#define CLI_SHORTOPT_JOBS "j:"
#define CLI_LONGOPTS \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "resolver", required_argument, NULL, CLI_OPT_RESOLVER }, \
	{ "dns-zone", required_argument, NULL, CLI_OPT_DNS_ZONE }, \
	{ "dns-timeout", required_argument, NULL, CLI_OPT_DNS_TIMEOUT }
#define CLI_LONGOPT_OUTPUT \
	{ "output", required_argument, NULL, 'o' }
/* --now EPOCH: act as of this time (tests, old archives). */
#define CLI_LONGOPT_NOW \
	{ "now", required_argument, NULL, CLI_OPT_NOW }
/* --mbox: the input is an mboxrd archive; --mboxo: an mboxo one. */
#define CLI_LONGOPT_MBOX \
	{ "mbox", no_argument, NULL, CLI_OPT_MBOX }
#define CLI_LONGOPT_MBOXO \
	{ "mboxo", no_argument, NULL, CLI_OPT_MBOXO }
/* -j N: worker threads for a run over many messages. */
#define CLI_LONGOPT_JOBS \
	{ "jobs", required_argument, NULL, 'j' }
/* --summary: counts and speed on stderr after a run. */
#define CLI_LONGOPT_SUMMARY \
	{ "summary", no_argument, NULL, CLI_OPT_SUMMARY }
/* --trust-anchor FILE: validate DNSSEC locally from these DS/DNSKEY
 * records (master file syntax) instead of trusting the resolver's AD bit. */
#define CLI_LONGOPT_TRUST_ANCHOR \
	{ "trust-anchor", required_argument, NULL, CLI_OPT_TRUST_ANCHOR }

#define CLI_MAX_JOBS	256
#define CLI_MAX_EPOCH	253402300799LL		/* 9999-12-31 */
#define CLI_MAX_ZONES	64

struct cli {
	const char *usage;	/* the -h text, printed as is */
	const char *resolver;	/* --resolver, NULL: MXKIT_RESOLVER or resolv.conf */
	const char *zones[CLI_MAX_ZONES];	/* --dns-zone, in order */
	size_t nzones;
	unsigned timeout_ms;	/* --dns-timeout; 0: dns's default */
	enum out_mode out_mode;	/* -o, default OUT_TEXT */
	int verbose;		/* -v count (also sets diag_verbose) */
	time_t now;		/* --now; (time_t)-1 when not given */
	int mbox;		/* --mbox or --mboxo given */
	enum mbox_variant mbox_variant;	/* default MBOX_RD */
	unsigned jobs;		/* -j; 0 when not given */
	int summary;		/* --summary */
	/* --trust-anchor; NULL: MXKIT_TRUST_ANCHOR, or none: the AD bit */
	const char *trust_anchor;
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

/* dns_init with --resolver/--dns-timeout/--trust-anchor (and the
 * environment), then dns_load_zone for each --dns-zone.  0, or the exit
 * status the program should use after the diagnostic printed here:
 * EX_NOINPUT for a zone or trust anchor file that cannot be read,
 * EX_DATAERR for one that does not parse, EX_USAGE
 * for a resolver that is not an address, EX_UNAVAILABLE otherwise (an
 * MXKIT_DNS_ZONE file that does not load, say).  Cheap when no lookup
 * follows: /etc/resolv.conf is read only at the first network lookup. */
int cli_dns_setup(const struct cli *c);

/* cli_dns_setup for a program that may be running as a filter (-f): then
 * a failure other than a usage error is EX_TEMPFAIL, so that the message
 * waits instead of being lost (DESIGN.md: a filter that cannot work exits
 * 75 before reading anything). */
int cli_dns_setup_for(const struct cli *c, int filter);

/* "prog: usage: what (see prog -h)" on stderr, exit 64. */
void cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* "prog (mxkit) VERSION" on stdout. */
void cli_version(void);

/* Option values: decimal in [min, max], else a usage error naming what. */
unsigned long long cli_number(const char *arg, unsigned long long min,
    unsigned long long max, const char *what);

/* A comma-separated list of words (case-insensitive; empty items are
 * skipped) from w[0..n): the OR of their bits.  An unknown word is a usage
 * error naming what ("--no-policy"). */
struct cli_word {
	const char *name;
	unsigned bits;
};
unsigned cli_words(const char *list, const struct cli_word *w, size_t n,
    const char *what);

/* OpenSSL set up for a short-lived process: no openssl.cnf, no error
 * strings (mxkit never prints OpenSSL's), no clean-up at exit.  Call it
 * first thing in a program that uses OpenSSL. */
void cli_openssl_init(void);

/* ---- input and output ---- */

/* "stdin" for NULL or "-", else path: the name diagnostics use. */
const char *cli_input_name(const char *path);

/* Standard input for NULL or "-", else path opened for reading; one that
 * cannot be opened is fatal ("prog: path: why", exit 66). */
FILE *cli_open_input(const char *path);
void cli_close_input(FILE *fp);

/* Flush stdout and check it was all written: 0, or the errno of the
 * failure (EIO when there is none). */
int cli_flush_stdout(void);

/* The end of a program's output: cli_flush_stdout(); 0, or EX_IOERR after
 * "prog: output: why". */
int cli_stdout_done(void);

/* One record: out_end(o, stdout), then cli_stdout_done(); 0 or EX_IOERR
 * after the diagnostic. */
int cli_out_done(struct out *o);

/* ---- runs over many messages: --mbox, or several FILE arguments ----
 *
 * The messages are read on the calling thread and handed to work() on
 * b->jobs threads (none for 0 or 1: work runs inline); emit() gets each
 * back on the calling thread in input order.  Memory stays bounded by the
 * messages in flight whatever the archive's size.  A progress line is
 * drawn as cli_progress says.  Running out of memory or threads is fatal
 * (exit 70).
 */
struct cli_msg {
	char *data;		/* the message, NUL after it; work may free it
				   early (set it to NULL); NULL when unread */
	size_t len;
	char *from_line;	/* mbox: its "From " line, else NULL */
	unsigned long index;	/* mbox: 1-based number in the archive, else 0 */
	const char *file;	/* files: the argument, else NULL */
	int read_err;		/* files: errno when it could not be read */
};

struct cli_batch {
	unsigned jobs;		/* worker threads; 0: as 1 */
	/* The program's struct for one message, struct cli_msg first;
	 * allocated zeroed by the run; 0: sizeof(struct cli_msg). */
	size_t msg_size;
	void (*work)(void *arg, struct cli_msg *m);	/* on a worker */
	/* In input order.  -1: read no further messages (output failed,
	 * say); those already read still come here.  The run frees m. */
	int (*emit)(void *arg, struct cli_msg *m);
	void *arg;
	/* Kept up to date by the run, for summaries: */
	unsigned long messages;	/* emitted so far */
	unsigned long long bytes;	/* input consumed */
	double start;		/* cli_monotonic() at the start */
};

/* Every message of the mbox archive at path (NULL or "-": stdin; one that
 * cannot be opened is fatal, exit 66).  0 when the archive was read to
 * its end (or emit said stop); EX_DATAERR when the input is not an mbox,
 * EX_IOERR when reading failed, after a diagnostic. */
int cli_batch_mbox(struct cli_batch *b, const char *path,
    enum mbox_variant v);

/* Each of paths[0..n) as one message; a file that cannot be read still
 * comes to work and emit, with read_err set and a diagnostic printed.
 * 0. */
int cli_batch_files(struct cli_batch *b, char *const *paths, size_t n);

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
