/* smtpfront: an ESMTP receiver whose every decision is a hook.  Options,
 * the configuration file, and how the connections arrive (fds 0/1, or
 * our own listener); the protocol is lib/smtpd's.  See man/smtpfront.8. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "deliver.h"
#include "diag.h"
#include "maillog.h"
#include "smtpd.h"
#include "smtpd_cmd.h"
#include "smtpd_listen.h"
#include "tlsd.h"

static const char usage[] =
"usage: smtpfront [-v] [--config FILE] --deliver DEST [options]\n"
"Speak ESMTP on fds 0/1 (inetd, tcpserver, systemd Accept=yes), or accept\n"
"connections itself with --listen; each decision is made by a hook.\n"
"  --deliver DEST         maildir:DIR  mbox:FILE  pipe:PROG ARGS (repeatable;\n"
"                         %{local_part} %{domain} %{rcpt} in DIR and FILE)\n"
"  --hook-STAGE PROG      STAGE: connect helo mail rcpt data prdr quit\n"
"  --event-hook PROG      tcp:connect smtp:connect msg:... tcp:close\n"
"  --listen ADDR:PORT     listen (repeatable); --max-conn N (100),\n"
"                         --max-conn-per-ip N (20), --user NAME\n"
"  --tls-certificate FILE  --tls-privatekey FILE  --tls-ocsp-file FILE\n"
"                         (a pair each; %{sni} in names); --require-tls\n"
"  --proxy-hosts CIDR,... they must send a PROXY v1/v2 header first\n"
"  --hostname NAME        for the banner and Received: (default: ours)\n"
"  --max-size N[KMG]  --max-rcpts N  --max-errors N  --spool-dir DIR\n"
"  --hook-timeout T  --cmd-timeout T  --data-timeout T  (T: 30, 5m, 500ms)\n"
"  --no-pipelining --no-chunking --no-prdr --no-smtputf8 --no-8bitmime\n"
"  --config FILE          \"option = value\" lines;  --syslog  -v  -h  -V\n"
"Every option and the hooks' interface: smtpfront(8).\n"
"Exit: 0 the session ended with QUIT, or the listener stopped on SIGTERM;\n"
"      1 the connection was dropped or timed out; 64 usage, 65 bad --config\n"
"      file, 66 cannot open a file, 69 cannot listen, 77 --user failed.\n";

enum {
	OPT_DELIVER = CLI_OPT_PROG, OPT_PER_RCPT, OPT_HOOK_CONNECT,
	OPT_HOOK_HELO, OPT_HOOK_MAIL, OPT_HOOK_RCPT, OPT_HOOK_DATA,
	OPT_HOOK_PRDR, OPT_HOOK_QUIT, OPT_EVENT_HOOK, OPT_HOOK_TIMEOUT,
	OPT_LISTEN, OPT_MAX_CONN, OPT_MAX_CONN_IP, OPT_USER, OPT_CONFIG,
	OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_OCSP, OPT_TLS_MIN, OPT_TLS_CIPHERS,
	OPT_TLS_SUITES, OPT_TLS_TIMEOUT, OPT_REQUIRE_TLS, OPT_PROXY_HOSTS,
	OPT_PROXY_TIMEOUT, OPT_HOSTNAME, OPT_BANNER, OPT_MAX_SIZE,
	OPT_MAX_RCPTS, OPT_MAX_ERRORS, OPT_MAX_LINE, OPT_MAX_TEXT_LINE,
	OPT_CMD_TIMEOUT, OPT_DATA_TIMEOUT, OPT_SESSION_TIMEOUT,
	OPT_BANNER_DELAY, OPT_SPOOL, OPT_NO_PIPELINING, OPT_NO_CHUNKING,
	OPT_NO_PRDR, OPT_NO_SMTPUTF8, OPT_NO_8BITMIME, OPT_BARE_LF,
	OPT_SYSLOG, OPT_PIPE_TIMEOUT, OPT_LOCK_TIMEOUT, OPT_TLS_CLIENT_CERT
};

static const struct option longopts[] = {
	{ "deliver", required_argument, NULL, OPT_DELIVER },
	{ "deliver-per-recipient", no_argument, NULL, OPT_PER_RCPT },
	{ "hook-connect", required_argument, NULL, OPT_HOOK_CONNECT },
	{ "hook-helo", required_argument, NULL, OPT_HOOK_HELO },
	{ "hook-mail", required_argument, NULL, OPT_HOOK_MAIL },
	{ "hook-rcpt", required_argument, NULL, OPT_HOOK_RCPT },
	{ "hook-data", required_argument, NULL, OPT_HOOK_DATA },
	{ "hook-prdr", required_argument, NULL, OPT_HOOK_PRDR },
	{ "hook-quit", required_argument, NULL, OPT_HOOK_QUIT },
	{ "event-hook", required_argument, NULL, OPT_EVENT_HOOK },
	{ "hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "max-conn", required_argument, NULL, OPT_MAX_CONN },
	{ "max-conn-per-ip", required_argument, NULL, OPT_MAX_CONN_IP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "tls-certificate", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-privatekey", required_argument, NULL, OPT_TLS_KEY },
	{ "tls-ocsp-file", required_argument, NULL, OPT_TLS_OCSP },
	{ "tls-min-version", required_argument, NULL, OPT_TLS_MIN },
	{ "tls-ciphers", required_argument, NULL, OPT_TLS_CIPHERS },
	{ "tls-ciphersuites", required_argument, NULL, OPT_TLS_SUITES },
	{ "tls-timeout", required_argument, NULL, OPT_TLS_TIMEOUT },
	{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
	{ "tls-request-client-cert", no_argument, NULL, OPT_TLS_CLIENT_CERT },
	{ "proxy-hosts", required_argument, NULL, OPT_PROXY_HOSTS },
	{ "proxy-timeout", required_argument, NULL, OPT_PROXY_TIMEOUT },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "banner", required_argument, NULL, OPT_BANNER },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "max-rcpts", required_argument, NULL, OPT_MAX_RCPTS },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "max-line", required_argument, NULL, OPT_MAX_LINE },
	{ "max-text-line", required_argument, NULL, OPT_MAX_TEXT_LINE },
	{ "cmd-timeout", required_argument, NULL, OPT_CMD_TIMEOUT },
	{ "data-timeout", required_argument, NULL, OPT_DATA_TIMEOUT },
	{ "session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT },
	{ "banner-delay", required_argument, NULL, OPT_BANNER_DELAY },
	{ "spool-dir", required_argument, NULL, OPT_SPOOL },
	{ "no-pipelining", no_argument, NULL, OPT_NO_PIPELINING },
	{ "no-chunking", no_argument, NULL, OPT_NO_CHUNKING },
	{ "no-prdr", no_argument, NULL, OPT_NO_PRDR },
	{ "no-smtputf8", no_argument, NULL, OPT_NO_SMTPUTF8 },
	{ "no-8bitmime", no_argument, NULL, OPT_NO_8BITMIME },
	{ "bare-lf", required_argument, NULL, OPT_BARE_LF },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "pipe-timeout", required_argument, NULL, OPT_PIPE_TIMEOUT },
	{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
	CLI_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

#define MAX_DELIVER_SPECS	DELIVER_MAX_DEST

struct opts {
	struct cli cli;
	struct smtpd_config c;
	struct smtpd_listen l;
	const char *listen[LISTEN_MAX];
	size_t nlisten;
	const char *deliver[MAX_DELIVER_SPECS];
	size_t ndeliver;
	struct deliver_conf dconf;
	struct tlsd_config tls;
	const char *user;
	int configs;		/* --config nesting guard */
	int conf_line;		/* the line a --config file got wrong, */
	char conf_name[64];	/* ... and the name on it */
};

/* "30", "30s", "5m", "2h", "500ms" -> milliseconds. */
static unsigned
duration_ms(const char *arg, const char *what)
{
	char *end;
	unsigned long long v, mul = 1000;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end == arg || errno)
		cli_usage_error("%s: not a duration: %s", what, arg);
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "m") == 0)
		mul = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mul = 3600 * 1000;
	else
		cli_usage_error("%s: not a duration: %s", what, arg);
	if (v > UINT_MAX / mul)
		cli_usage_error("%s: too long: %s", what, arg);
	return (unsigned)(v * mul);
}

/* "52428800", "50M", "10k", "1G"; 0: no limit. */
static unsigned long long
size_arg(const char *arg)
{
	char *end;
	unsigned long long v, mul = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end == arg || errno)
		cli_usage_error("--max-size: not a size: %s", arg);
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024 * 1024 * 1024; end++; break;
	default: cli_usage_error("--max-size: not a size: %s", arg);
	}
	if (*end != '\0' || v > (1ULL << 40) / mul)
		cli_usage_error("--max-size: not a size: %s", arg);
	return v * mul;
}

static void read_config(struct opts *o, const char *path);

static struct tlsd_pair *
last_pair(struct opts *o, const char *what)
{
	if (o->tls.npairs == 0)
		cli_usage_error("%s needs a --tls-certificate before it", what);
	return &o->tls.pair[o->tls.npairs - 1];
}

static void
set_hook(struct opts *o, int stage, const char *arg)
{
	if (!strchr(arg, '/'))
		cli_usage_error("hooks are run without a PATH search: give a "
		    "path with a '/': %s", arg);
	o->c.hooks[stage] = arg;
}

/* One option, from the command line or the configuration file.  arg is
 * kept (not copied): the caller's strings live as long as the program. */
static void
option(struct opts *o, int ch, const char *arg)
{
	struct smtpd_config *c = &o->c;
	const char *why;

	switch (ch) {
	case OPT_DELIVER:
		if (o->ndeliver == MAX_DELIVER_SPECS)
			cli_usage_error("too many --deliver");
		o->deliver[o->ndeliver++] = arg;
		break;
	case OPT_PER_RCPT: c->deliver_per_rcpt = 1; break;
	case OPT_HOOK_CONNECT: set_hook(o, HOOK_STAGE_CONNECT, arg); break;
	case OPT_HOOK_HELO: set_hook(o, HOOK_STAGE_HELO, arg); break;
	case OPT_HOOK_MAIL: set_hook(o, HOOK_STAGE_MAIL, arg); break;
	case OPT_HOOK_RCPT: set_hook(o, HOOK_STAGE_RCPT, arg); break;
	case OPT_HOOK_DATA: set_hook(o, HOOK_STAGE_DATA, arg); break;
	case OPT_HOOK_PRDR: set_hook(o, HOOK_STAGE_PRDR, arg); break;
	case OPT_HOOK_QUIT: set_hook(o, HOOK_STAGE_QUIT, arg); break;
	case OPT_EVENT_HOOK:
		if (!strchr(arg, '/'))
			cli_usage_error("--event-hook: give a path with a '/'");
		c->event_hook = arg;
		break;
	case OPT_HOOK_TIMEOUT:
		c->hook_timeout_ms = duration_ms(arg, "--hook-timeout");
		break;
	case OPT_LISTEN:
		if (o->nlisten == LISTEN_MAX)
			cli_usage_error("too many --listen");
		o->listen[o->nlisten++] = arg;
		break;
	case OPT_MAX_CONN:
		o->l.max_conn = (unsigned)cli_number(arg, 0, 100000,
		    "--max-conn");
		break;
	case OPT_MAX_CONN_IP:
		o->l.max_conn_per_ip = (unsigned)cli_number(arg, 0, 100000,
		    "--max-conn-per-ip");
		break;
	case OPT_USER: o->user = arg; break;
	case OPT_CONFIG: read_config(o, arg); break;
	case OPT_TLS_CERT:
		if (o->tls.npairs == TLSD_MAX_PAIRS)
			cli_usage_error("at most %d --tls-certificate",
			    TLSD_MAX_PAIRS);
		o->tls.pair[o->tls.npairs++].cert = arg;
		break;
	case OPT_TLS_KEY: last_pair(o, "--tls-privatekey")->key = arg; break;
	case OPT_TLS_OCSP: last_pair(o, "--tls-ocsp-file")->ocsp = arg; break;
	case OPT_TLS_MIN:
		if (!(o->tls.min_version = tls_version_parse(arg)))
			cli_usage_error("--tls-min-version: not a TLS version: "
			    "%s", arg);
		break;
	case OPT_TLS_CIPHERS: o->tls.ciphers = arg; break;
	case OPT_TLS_SUITES: o->tls.ciphersuites = arg; break;
	case OPT_TLS_TIMEOUT:
		c->tls_timeout_ms = duration_ms(arg, "--tls-timeout");
		break;
	case OPT_REQUIRE_TLS: c->require_tls = 1; break;
	case OPT_TLS_CLIENT_CERT: o->tls.request_client_cert = 1; break;
	case OPT_PROXY_HOSTS:
		if (cidr_list_add(&c->proxy_hosts, arg, &why) < 0)
			cli_usage_error("--proxy-hosts: %s: %s", why, arg);
		break;
	case OPT_PROXY_TIMEOUT:
		c->proxy_timeout_ms = duration_ms(arg, "--proxy-timeout");
		break;
	case OPT_HOSTNAME: c->hostname = arg; break;
	case OPT_BANNER: c->banner = arg; break;
	case OPT_MAX_SIZE: c->max_size = size_arg(arg); break;
	case OPT_MAX_RCPTS:
		c->max_rcpts = (unsigned)cli_number(arg, 1, 100000,
		    "--max-rcpts");
		break;
	case OPT_MAX_ERRORS:
		c->max_errors = (unsigned)cli_number(arg, 0, 100000,
		    "--max-errors");
		break;
	case OPT_MAX_LINE:
		c->max_line = (unsigned)cli_number(arg, SMTPD_LINE_MAX,
		    SMTPD_HARD_MAX, "--max-line");
		break;
	case OPT_MAX_TEXT_LINE:
		c->max_text_line = (unsigned)cli_number(arg, 0, 1000000,
		    "--max-text-line");
		break;
	case OPT_CMD_TIMEOUT:
		c->cmd_timeout_ms = duration_ms(arg, "--cmd-timeout");
		break;
	case OPT_DATA_TIMEOUT:
		c->data_timeout_ms = duration_ms(arg, "--data-timeout");
		break;
	case OPT_SESSION_TIMEOUT:
		c->session_timeout_ms = duration_ms(arg, "--session-timeout");
		break;
	case OPT_BANNER_DELAY:
		c->banner_delay_ms = duration_ms(arg, "--banner-delay");
		break;
	case OPT_SPOOL: c->spool_dir = arg; break;
	case OPT_NO_PIPELINING: c->no_pipelining = 1; break;
	case OPT_NO_CHUNKING: c->no_chunking = 1; break;
	case OPT_NO_PRDR: c->no_prdr = 1; break;
	case OPT_NO_SMTPUTF8: c->no_smtputf8 = 1; break;
	case OPT_NO_8BITMIME: c->no_8bitmime = 1; break;
	case OPT_BARE_LF:
		if (strcmp(arg, "reject") == 0)
			c->bare_lf_reject = 1;
		else if (strcmp(arg, "normalize") == 0)
			c->bare_lf_reject = 0;
		else
			cli_usage_error("--bare-lf: reject or normalize: %s",
			    arg);
		break;
	case OPT_SYSLOG: c->syslog = 1; break;
	case OPT_PIPE_TIMEOUT:
		o->dconf.pipe_timeout = duration_ms(arg, "--pipe-timeout") /
		    1000;
		break;
	case OPT_LOCK_TIMEOUT:
		o->dconf.lock_timeout = duration_ms(arg, "--lock-timeout") /
		    1000;
		break;
	default:
		cli_option(&o->cli, ch, arg);
		break;
	}
}

static int
config_line(void *arg, const char *name, const char *value, int line)
{
	struct opts *o = arg;
	const struct option *opt;

	o->conf_line = line;
	snprintf(o->conf_name, sizeof(o->conf_name), "%s", name);
	for (opt = longopts; opt->name; opt++)
		if (strcmp(opt->name, name) == 0)
			break;
	if (!opt->name || opt->val == 'h' || opt->val == 'V')
		return 1;
	if (opt->has_arg == no_argument) {
		if (value && strcasecmp(value, "yes") && strcasecmp(value,
		    "true") && strcmp(value, "1")) {
			if (strcasecmp(value, "no") == 0 ||
			    strcasecmp(value, "false") == 0 ||
			    strcmp(value, "0") == 0)
				return 0;
			return 2;
		}
		option(o, opt->val, NULL);
		return 0;
	}
	if (!value || !*value)
		return 3;
	char *copy = strdup(value);	/* lives as long as the program */
	if (!copy)
		diag_die(EX_OSERR, "out of memory");
	option(o, opt->val, copy);
	return 0;
}

static void
read_config(struct opts *o, const char *path)
{
	static const char *const what[] = {
		NULL, "unknown option", "a yes/no option takes yes or no",
		"this option needs a value"
	};
	char *why = NULL;
	int r;

	if (o->configs++ > 4)
		cli_usage_error("--config: nested too deep: %s", path);
	errno = 0;	/* a syntax error leaves it alone: not a missing file */
	r = conf_read(path, config_line, o, &why);
	if (r < 0)
		diag_die(errno == ENOENT || errno == EACCES ? EX_NOINPUT :
		    EX_DATAERR, "%s", why ? why : path);
	if (r > 0)
		diag_die(EX_USAGE, "%s:%d: %s: %s", path, o->conf_line, what[r],
		    o->conf_name);
	o->configs--;
}

static void
setup_delivery(struct opts *o)
{
	char *err = NULL;

	if (o->ndeliver == 0)
		cli_usage_error("--deliver is required (maildir:DIR, mbox:FILE "
		    "or pipe:PROG)");
	o->dconf.hostname = o->c.hostname;
	o->c.deliver = deliver_new(&o->dconf);
	if (!o->c.deliver)
		diag_die(EX_OSERR, "out of memory");
	for (size_t i = 0; i < o->ndeliver; i++)
		if (deliver_add(o->c.deliver, o->deliver[i], &err) < 0)
			cli_usage_error("--deliver %s: %s", o->deliver[i],
			    err ? err : "invalid");
}

static void
setup_tls(struct opts *o)
{
	char err[512];

	if (o->tls.npairs == 0)
		return;
	cli_openssl_init();
	o->tls.hostname = o->c.hostname;
	o->c.tls = tlsd_new(&o->tls, err, sizeof(err));
	if (!o->c.tls)
		diag_die(EX_NOINPUT, "TLS: %s", err);
}

/* Under inetd fds 0, 1 and 2 are all the client's socket: a log line on
 * stderr would be sent to the client.  Then the log goes to syslog and
 * stderr (the hooks' too) to /dev/null. */
static void
guard_stderr(struct smtpd_config *c)
{
	struct stat in, err;
	int fd;

	if (fstat(0, &in) < 0 || fstat(2, &err) < 0)
		return;
	if (!S_ISSOCK(err.st_mode) || in.st_dev != err.st_dev ||
	    in.st_ino != err.st_ino)
		return;
	c->syslog = 1;
	openlog(diag_prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
	diag_syslog = 1;
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0 && fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}

/* Whether the command line has --listen (before parsing it). */
static int
has_listen(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--listen", 8) == 0)
			return 1;
	return 0;
}

static void
on_term(int sig)
{
	(void)sig;
	smtpd_request_stop();
}

static const char *
our_hostname(void)
{
	static char name[256];

	if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
		snprintf(name, sizeof(name), "localhost");
	return name;
}

int
main(int argc, char **argv)
{
	static struct opts o;
	int ch;

	cli_init(&o.cli, argv, usage);
	smtpd_config_init(&o.c);
	/* Before anything can fail: under inetd stderr is the client. */
	if (!has_listen(argc, argv))
		guard_stderr(&o.c);
	o.l.max_conn = 100;
	o.l.max_conn_per_ip = 20;
	o.l.stop_wait_ms = 30 * 1000;
	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS, longopts,
	    NULL)) != -1)
		option(&o, ch, optarg);
	if (optind < argc)
		cli_usage_error("unexpected argument: %s", argv[optind]);
	if (!o.c.hostname)
		o.c.hostname = our_hostname();
	if (access(o.c.spool_dir, W_OK | X_OK) < 0)
		diag_die(EX_NOINPUT, "--spool-dir %s: %s", o.c.spool_dir,
		    strerror(errno));
	setup_delivery(&o);
	setup_tls(&o);
	maillog_open(o.c.syslog, diag_prog);
	signal(SIGPIPE, SIG_IGN);
	/* An inherited SIG_IGN (swaks --pipe, some inetds) has the kernel
	 * reap the pipe: deliveries before we read their exit status. */
	signal(SIGCHLD, SIG_DFL);

	for (size_t i = 0; i < o.nlisten; i++) {
		const char *why;

		if (smtpd_listen_add(&o.l, o.listen[i], &why) < 0)
			diag_die(EX_UNAVAILABLE, "--listen %s: %s",
			    o.listen[i], why);
	}
	if (o.user) {
		const char *why;

		if (smtpd_drop_privileges(o.user, &why) < 0)
			diag_die(EX_NOPERM, "--user %s: %s", o.user, why);
	}
	if (o.nlisten)
		return smtpd_listen_run(&o.l, &o.c);

	struct sigaction sa;
	struct smtpd_peer peer;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: wake the read */
	sigaction(SIGTERM, &sa, NULL);
	smtpd_peer_of(0, &peer);
	return smtpd_session(&o.c, 0, 1, &peer);
}
