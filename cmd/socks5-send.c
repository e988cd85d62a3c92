/* socks5-send: a sendmail-like client that delivers one message over
 * SMTP, directly or through SOCKS5 proxies (Exim's socks_proxy); or a
 * plain stdio tunnel through the same proxies (--connect).  Options and
 * I/O only: the rules are lib/relay's, lib/socks5's and lib/smtp's.  See
 * man/socks5-send.1. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "diag.h"
#include "out.h"
#include "relay.h"
#include "socks5.h"

static const char usage[] =
"usage: socks5-send [options] -f SENDER RCPT... < message\n"
"       socks5-send [options] -t [RCPT...] < message\n"
"       socks5-send --connect HOST:PORT [--proxy SPEC]...\n"
"Deliver a message over SMTP to the recipients' MX hosts (or --server),\n"
"through SOCKS5 proxies (RFC 1928/1929) when given.\n"
"  -f, --from SENDER     envelope sender (\"\" or \"<>\": null sender)\n"
"  -t, --read-recipients To/Cc/Bcc (Bcc removed); RCPT args are excluded\n"
"  -i, -oi               ignored (only EOF ends the message)\n"
"  --proxy SPEC          Exim socks_proxy list, repeatable: \"IP [port=1080]\n"
"                        [auth=name name=U pass=P] [tmo=5] [pri=1] [weight=1]\"\n"
"                        separated by ':' (IPv6: doubled colons, or \"<; \")\n"
"  --proxy-file FILE     more specifiers, one a line (keeps pass= out of ps)\n"
"  --remote-dns          the proxy resolves host names (DOMAINNAME)\n"
"  -s, --server HOST[:PORT]  this server instead of the MX hosts\n"
"  --port N  --helo NAME     SMTP port (25); EHLO name (the host name)\n"
"  --require-tls, --no-tls   STARTTLS (default: when offered)\n"
"  --try-prdr            per-recipient replies to the data (PRDR)\n"
"  --connect-timeout S   over the whole proxy set (300)  --timeout S (300)\n"
"  --event-hook PROG     tcp:connect smtp:connect msg:delivery msg:host:defer\n"
"                        tcp:close (Exim's event_name, event_data)\n"
"  -o, --output MODE     text, kv, json: a record per recipient\n"
"  --resolver H[:P]  --dns-zone FILE  --dns-timeout MS   -v  -h  -V\n"
"Exit: 0 delivered, 1 all failed (5xx), 2 some delivered, 75 deferred\n"
"      (4xx, no proxy/server), 64 usage, 65 bad message, 66 no file\n";

enum {
	OPT_PROXY = CLI_OPT_PROG, OPT_PROXY_FILE, OPT_REMOTE_DNS, OPT_PORT,
	OPT_HELO, OPT_REQUIRE_TLS, OPT_NO_TLS, OPT_TRY_PRDR,
	OPT_CONNECT_TIMEOUT, OPT_TIMEOUT, OPT_EVENT_HOOK, OPT_CONNECT
};

static const struct option longopts[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "read-recipients", no_argument, NULL, 't' },
	{ "server", required_argument, NULL, 's' },
	{ "proxy", required_argument, NULL, OPT_PROXY },
	{ "proxy-file", required_argument, NULL, OPT_PROXY_FILE },
	{ "remote-dns", no_argument, NULL, OPT_REMOTE_DNS },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
	{ "no-tls", no_argument, NULL, OPT_NO_TLS },
	{ "try-prdr", no_argument, NULL, OPT_TRY_PRDR },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "event-hook", required_argument, NULL, OPT_EVENT_HOOK },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

#define MAX_MESSAGE	(1024ULL * 1024 * 1024)	/* read into memory */

struct conf {
	struct cli cli;
	struct relay_opts ro;
	struct socks5_list proxies;
	const char *sender;
	int extract;
	const char *connect;
	char helo[256];
	char sender_buf[512];
};

static void
log_line(void *arg, const char *line)
{
	(void)arg;
	diag_warn("%s", line);
}

static void
add_proxies(struct conf *c, const char *spec, const char *where)
{
	const char *why;
	unsigned item;

	if (socks5_list_parse(&c->proxies, spec, &why, &item) == -1)
		cli_usage_error("%s: proxy specifier %u: %s", where, item, why);
}

static void
proxy_file(struct conf *c, const char *path)
{
	struct stat st;
	char *buf, where[512];
	size_t len;
	const char *why;
	unsigned item;

	if (slurp_path_max(path, 1 << 20, &buf, &len) == -1)
		diag_die(EX_NOINPUT, "%s: %s", path, strerror(errno));
	if (len > 1 << 20)
		diag_die(EX_DATAERR, "%s: larger than 1 MB", path);
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0 &&
	    strstr(buf, "pass=") != NULL)
		diag_warn("%s: holds passwords and is readable by others "
		    "(chmod 600)", path);
	snprintf(where, sizeof(where), "--proxy-file %s", path);
	if (socks5_list_parse(&c->proxies, buf, &why, &item) == -1) {
		explicit_bzero(buf, len);
		diag_die(EX_DATAERR, "%s: proxy specifier %u: %s", path, item,
		    why);
	}
	explicit_bzero(buf, len);
	free(buf);
}

static unsigned
seconds(const char *arg, const char *what)
{
	return (unsigned)cli_number(arg, 1, 86400, what) * 1000;
}

static void
options(struct conf *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS "f:ts:io:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': c->sender = optarg; break;
		case 't': c->extract = 1; break;
		case 's': c->ro.server = optarg; break;
		case 'i': break;
		case 'o':
			/* sendmail's -oi: the same as -i. */
			if (strcmp(optarg, "i") == 0)
				break;
			(void)cli_option(&c->cli, ch, optarg);
			break;
		case OPT_PROXY: add_proxies(c, optarg, "--proxy"); break;
		case OPT_PROXY_FILE: proxy_file(c, optarg); break;
		case OPT_REMOTE_DNS: c->ro.remote_dns = 1; break;
		case OPT_PORT:
			c->ro.port = (unsigned)cli_number(optarg, 1, 65535,
			    "--port");
			break;
		case OPT_HELO: snprintf(c->helo, sizeof(c->helo), "%s",
		    optarg); break;
		case OPT_REQUIRE_TLS: c->ro.tls = RELAY_TLS_REQUIRE; break;
		case OPT_NO_TLS: c->ro.tls = RELAY_TLS_NEVER; break;
		case OPT_TRY_PRDR: c->ro.try_prdr = 1; break;
		case OPT_CONNECT_TIMEOUT:
			c->ro.connect_timeout_ms = seconds(optarg,
			    "--connect-timeout");
			break;
		case OPT_TIMEOUT:
			c->ro.command_timeout_ms = seconds(optarg, "--timeout");
			break;
		case OPT_EVENT_HOOK:
			if (strchr(optarg, '/') == NULL)
				cli_usage_error("--event-hook: a path with a "
				    "'/' (./%s)", optarg);
			c->ro.event_hook = optarg;
			break;
		case OPT_CONNECT: c->connect = optarg; break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
}

/* sendmail's default sender: the login name at this host. */
static const char *
default_sender(struct conf *c)
{
	const char *user = getenv("LOGNAME");
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		user = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : "root";
	snprintf(c->sender_buf, sizeof(c->sender_buf), "%s@%s", user,
	    c->helo);
	return c->sender_buf;
}

static int
is_recipient(const char *a)
{
	const char *at = strrchr(a, '@');

	return at != NULL && at != a && at[1] != '\0' &&
	    strpbrk(a, "\r\n<> ") == NULL;
}

/* ---- results ---- */

static void
record(struct out *o, const struct conf *c, const struct relay_rcpt *r)
{
	const struct relay_path *p = &r->path;
	const char *at = strrchr(r->addr, '@');

	out_begin(o);
	out_str(o, "recipient", r->addr);
	out_strn(o, "local_part", r->addr, at ? (size_t)(at - r->addr) : 0);
	out_str(o, "domain", at ? at + 1 : "");
	out_str(o, "delivery_status", relay_status_name(r->status));
	out_int(o, "smtp_code", r->code);
	out_str(o, "smtp_reply", r->reply ? r->reply : "");
	out_str(o, "host", p->host);
	out_str(o, "host_address", p->host_address);
	if (p->host_port)
		out_int(o, "host_port", p->host_port);
	else
		out_str(o, "host_port", "");
	out_str(o, "proxy_local_address", p->proxy_local_address);
	if (p->proxy_local_address[0] != '\0')
		out_int(o, "proxy_local_port", p->proxy_local_port);
	else
		out_str(o, "proxy_local_port", "");
	out_str(o, "proxy_external_address", p->proxy_external_address);
	if (p->proxy_local_address[0] != '\0')
		out_int(o, "proxy_external_port", p->proxy_external_port);
	else
		out_str(o, "proxy_external_port", "");
	out_str(o, "tls_out_cipher", r->tls_cipher);
	out_bool(o, "prdr_requested", r->prdr);
	out_str(o, "sender_address", c->ro.sender);
	if (out_get_mode(o) == OUT_TEXT) {
		char *reply = strdup(r->reply ? r->reply : ""), *q;

		for (q = reply; q != NULL && *q != '\0'; q++)
			if (*q == '\n')
				*q = ' ';
		out_text(o, "%s: %s: ", r->addr,
		    relay_status_name(r->status));
		if (p->host_address[0] != '\0')
			out_text(o, "%s [%s]:%u", p->host, p->host_address,
			    p->host_port);
		else if (p->host[0] != '\0' && p->host_port != 0)
			out_text(o, "%s:%u", p->host, p->host_port);
		else if (p->host[0] != '\0')
			out_text(o, "%s", p->host);
		if (p->proxy_local_address[0] != '\0')
			out_text(o, strchr(p->proxy_local_address, ':') ?
			    " via [%s]:%u" : " via %s:%u",
			    p->proxy_local_address, p->proxy_local_port);
		out_text(o, "%s%s\n", p->host[0] != '\0' ? ": " : "",
		    reply ? reply : "");
		free(reply);
	}
}

static int
report(const struct conf *c, const struct relay_rcpt *r, size_t n)
{
	struct out *o = out_new(c->cli.out_mode);
	size_t i, ok = 0, defer = 0;

	if (o == NULL)
		diag_die(EX_OSERR, "out of memory");
	for (i = 0; i < n; i++) {
		if (i > 0 && c->cli.out_mode == OUT_KV)
			putchar('\n');
		record(o, c, &r[i]);
		if (out_end(o, stdout) == -1)
			break;
		ok += r[i].status == RELAY_DELIVERED;
		defer += r[i].status == RELAY_DEFERRED;
	}
	out_free(o);
	if (cli_stdout_done() != 0)
		return EX_IOERR;
	if (ok == n)
		return 0;
	if (ok > 0)
		return 2;
	return defer > 0 ? EX_TEMPFAIL : 1;
}

/* ---- --connect ---- */

/* Copy between stdin/stdout and the stream until both sides are done. */
static int
tunnel(int fd)
{
	struct pollfd p[2];
	char buf[65536];
	int in_open = 1, out_open = 1;
	ssize_t n;

	while (out_open) {
		p[0].fd = in_open ? 0 : -1;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN;
		if (poll(p, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return EX_OSERR;
		}
		if (in_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(0, buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = 0;
				(void)shutdown(fd, SHUT_WR);
			} else if (write_all(fd, buf, (size_t)n) == -1) {
				diag_warn("connection: %s", strerror(errno));
				return EX_IOERR;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				out_open = 0;
			else if (write_all(1, buf, (size_t)n) == -1) {
				diag_warn("output: %s", strerror(errno));
				return EX_IOERR;
			}
		}
	}
	return 0;
}

static int
run_connect(struct conf *c)
{
	struct relay_path path;
	char why[700];
	int fd, rc;

	if ((fd = relay_connect(&c->ro, c->connect, &path, why,
	    sizeof(why))) == -1) {
		diag_warn("%s: %s", c->connect, why);
		return strncmp(why, "not HOST:PORT", 13) == 0 ? EX_USAGE :
		    EX_TEMPFAIL;
	}
	if (path.proxy_local_address[0] != '\0')
		diag_info("connected to %s through %s:%u (from %s:%u)",
		    c->connect, path.proxy_local_address,
		    path.proxy_local_port, path.proxy_external_address,
		    path.proxy_external_port);
	rc = tunnel(fd);
	close(fd);
	return rc;
}

/* ---- a message ---- */

static int
excluded(char **args, int nargs, const char *a)
{
	int i;

	for (i = 0; i < nargs; i++)
		if (strcasecmp(args[i], a) == 0)
			return 1;
	return 0;
}

/* Each address once (as Exim removes duplicate recipients). */
static int
seen(const struct relay_rcpt *r, size_t n, const char *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(r[i].addr, a) == 0)
			return 1;
	return 0;
}

static int
run_send(struct conf *c, char **args, int nargs)
{
	struct addr_list hdr = { 0 };
	struct relay_rcpt *r;
	char *buf, *copy;
	const char *why, *msg;
	size_t len, off, mlen, n = 0, i;
	int rc;

	for (i = 0; i < (size_t)nargs; i++)
		if (!is_recipient(args[i]))
			cli_usage_error("not a recipient address: \"%s\"",
			    args[i]);
	if (slurp_fd_max(0, MAX_MESSAGE, &buf, &len) == -1)
		diag_die(EX_IOERR, "stdin: %s", strerror(errno));
	if (len > MAX_MESSAGE)
		diag_die(EX_DATAERR, "stdin: message larger than 1 GB");
	if (relay_prepare(buf, len, c->extract, &hdr, &copy, &off, &mlen,
	    &why) == -1)
		diag_die(strcmp(why, "out of memory") == 0 ? EX_OSERR :
		    EX_DATAERR, "message: %s", why);
	msg = copy != NULL ? copy : buf + off;
	if ((r = calloc(hdr.n + (size_t)nargs + 1, sizeof(*r))) == NULL)
		diag_die(EX_OSERR, "out of memory");
	if (c->extract) {
		for (i = 0; i < hdr.n; i++)
			if (!excluded(args, nargs, hdr.v[i]) &&
			    !seen(r, n, hdr.v[i]))
				r[n++].addr = hdr.v[i];
	} else
		for (i = 0; i < (size_t)nargs; i++)
			if (!seen(r, n, args[i]))
				r[n++].addr = args[i];
	if (n == 0) {
		free(r);
		addr_list_free(&hdr);
		free(copy);
		free(buf);
		diag_die(EX_DATAERR, c->extract ? "no recipients in To:, "
		    "Cc: or Bcc:" : "no recipients");
	}
	if (n > RELAY_MAX_RCPTS)
		diag_die(EX_DATAERR, "more than %d recipients",
		    RELAY_MAX_RCPTS);
	if (relay_deliver(&c->ro, msg, mlen, r, n) == -1)
		diag_die(EX_OSERR, "out of memory");
	rc = report(c, r, n);
	relay_rcpts_free(r, n);
	free(r);
	addr_list_free(&hdr);
	free(copy);
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct conf c;
	int rc;

	memset(&c, 0, sizeof(c));
	cli_openssl_init();
	cli_init(&c.cli, argv, usage);
	c.ro.tls = RELAY_TLS_TRY;
	c.ro.log = log_line;
	options(&c, argc, argv);
	c.ro.proxies = &c.proxies;
	if (c.helo[0] == '\0' && gethostname(c.helo, sizeof(c.helo) - 1) ==
	    -1)
		snprintf(c.helo, sizeof(c.helo), "localhost");
	c.ro.helo = c.helo;
	if (c.ro.remote_dns && c.proxies.n == 0)
		cli_usage_error("--remote-dns needs --proxy or --proxy-file");
	if ((rc = cli_dns_setup(&c.cli)) != 0)
		return rc;
	if (c.connect != NULL) {
		if (optind < argc || c.extract)
			cli_usage_error("--connect takes no recipients");
		return run_connect(&c);
	}
	if (c.sender == NULL)
		c.sender = default_sender(&c);
	if (strcmp(c.sender, "<>") == 0)
		c.sender = "";
	if (c.sender[0] != '\0' && !is_recipient(c.sender))
		cli_usage_error("not a sender address: \"%s\"", c.sender);
	c.ro.sender = c.sender;
	if (optind == argc && !c.extract)
		cli_usage_error("no recipients (RCPT arguments or -t)");
	return run_send(&c, argv + optind, argc - optind);
}
