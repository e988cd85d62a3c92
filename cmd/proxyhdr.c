/* proxyhdr: the PROXY protocol (v1/v2) from the shell: decode a header
 * from stdin (never reading past it), encode one in front of stdin, or
 * wrap a program ucspi-style so that it sees the real client.  Options
 * and I/O only; the protocol is lib/proxy's.  See man/proxyhdr.1. */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "out.h"
#include "proxy.h"

static const char usage[] =
"usage: proxyhdr decode [-o text|kv|json] [--pass [--fields FILE]] [--timeout S]\n"
"       proxyhdr encode -1|-2 --src ADDR --dst ADDR [--tlv TYPE=VALUE ...]\n"
"                [--crc32c] [--local] [--unknown] [--udp]\n"
"       proxyhdr wrap [--timeout S] PROG [ARG ...]\n"
"PROXY protocol v1/v2 headers: decode one from stdin (reading no byte past\n"
"it); write one, then copy stdin; or exec PROG with the client's addresses.\n"
"  --pass           after decoding copy the rest of stdin to stdout as is;\n"
"                   the fields go to stderr, or to --fields FILE\n"
"  --timeout S      the whole header within S seconds (decode: no limit,\n"
"                   wrap: 3); fractions allowed\n"
"  -1, --v1  -2, --v2   the version to write (-v1 and -v2 work as well)\n"
"  --src, --dst ADDR    IPV4:PORT, [IPV6]:PORT, or unix:PATH (v2)\n"
"  --tlv TYPE=VALUE     alpn authority unique_id netns noop crc32c ssl_version\n"
"                   ssl_cn ssl_cipher ssl_sig_alg ssl_key_alg ssl_client\n"
"                   ssl_verify or 0xNN; VALUE text, or hex after 0x\n"
"  --crc32c  add a CRC32C TLV  --local  LOCAL  --unknown  UNSPEC  --udp  DGRAM\n"
"  decode: sender_host_* the client, proxy_external_* where it connected\n"
"  on the proxy, proxy_local_* the proxy (stdin's peer, or TCPREMOTEIP)\n"
"  wrap sets TCPREMOTE* to the client, TCPLOCAL* to where it connected\n"
"  (LOCAL, UNKNOWN, UNIX: the real peer's), PROXY_* as -o kv, then execs\n"
"  -o, --output MODE  text (default), kv (for eval), json\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 ok, 64 usage, 65 not a valid header (or input ended before one),\n"
"      69 cannot run PROG, 74 I/O error, 75 no whole header in time\n";

enum {
	OPT_PASS = CLI_OPT_PROG, OPT_FIELDS, OPT_TIMEOUT, OPT_SRC, OPT_DST,
	OPT_TLV, OPT_CRC32C, OPT_LOCAL, OPT_UNKNOWN, OPT_UDP
};

static const struct option longopts[] = {
	{ "pass", no_argument, NULL, OPT_PASS },
	{ "fields", required_argument, NULL, OPT_FIELDS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "v1", no_argument, NULL, '1' },
	{ "v2", no_argument, NULL, '2' },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "dst", required_argument, NULL, OPT_DST },
	{ "tlv", required_argument, NULL, OPT_TLV },
	{ "crc32c", no_argument, NULL, OPT_CRC32C },
	{ "local", no_argument, NULL, OPT_LOCAL },
	{ "unknown", no_argument, NULL, OPT_UNKNOWN },
	{ "udp", no_argument, NULL, OPT_UDP },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	{ NULL, 0, NULL, 0 }
};

#define MAX_TLVS	64
#define WRAP_TIMEOUT_MS	3000
#define EXIT_EXEC	EX_UNAVAILABLE

enum mode { M_NONE, M_DECODE, M_ENCODE, M_WRAP };

/* A --tlv: the type and its value (decoded hex or the text itself). */
struct tlv_arg {
	int	 type;		/* a TLV type, or SSL_CLIENT / SSL_VERIFY */
	unsigned char *v;
	size_t	 n;
	unsigned long long num;
};
#define SSL_CLIENT	0x1000
#define SSL_VERIFY	0x1001

struct conf {
	struct cli cli;
	enum mode mode;
	int pass, version, crc32c, local, unknown, udp;
	const char *fields;
	int timeout_ms;		/* -1: none */
	const char *src, *dst;
	struct tlv_arg tlv[MAX_TLVS];
	size_t ntlv;
	char **prog;		/* wrap */
};

/* ---- options ---- */

static int
parse_timeout(const char *arg)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !isfinite(s) ||
	    s <= 0 || s > 86400 || *arg < '0' || *arg > '9')
		cli_usage_error("--timeout: %s: expected seconds, more than 0 "
		    "and at most 86400", arg);
	return (int)(s * 1000 + 0.5) > 0 ? (int)(s * 1000 + 0.5) : 1;
}

static unsigned char *
hex_value(const char *s, size_t *n)
{
	size_t len = strlen(s), i;
	unsigned char *v;

	if (len % 2 != 0)
		return NULL;
	if ((v = malloc(len / 2 + 1)) == NULL)
		diag_die(EX_OSERR, "out of memory");
	for (i = 0; i < len / 2; i++) {
		int hi = out_hex_value(s[2 * i]), lo = out_hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(v);
			return NULL;
		}
		v[i] = (unsigned char)(hi << 4 | lo);
	}
	*n = len / 2;
	return v;
}

static void
add_tlv(struct conf *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct tlv_arg *t;
	char name[32];
	size_t nl;

	if (eq == NULL || (nl = (size_t)(eq - arg)) == 0 || nl >= sizeof(name))
		cli_usage_error("--tlv %s: want TYPE=VALUE", arg);
	if (c->ntlv == MAX_TLVS)
		cli_usage_error("more than %d --tlv", MAX_TLVS);
	memcpy(name, arg, nl);
	name[nl] = '\0';
	t = &c->tlv[c->ntlv++];
	if (strcmp(name, "ssl_client") == 0) {
		t->type = SSL_CLIENT;
		t->num = cli_number(eq + 1, 0, 255, "--tlv ssl_client");
		return;
	}
	if (strcmp(name, "ssl_verify") == 0) {
		t->type = SSL_VERIFY;
		t->num = cli_number(eq + 1, 0, 0xffffffffULL,
		    "--tlv ssl_verify");
		return;
	}
	if ((t->type = proxy_tlv_type(name)) == -1)
		cli_usage_error("--tlv %s: unknown type (a name or 0xNN)", name);
	if (t->type == PROXY_TLV_SSL && strncmp(eq + 1, "0x", 2) != 0)
		cli_usage_error("--tlv ssl: give its value in hex, or use the "
		    "ssl_* types");
	if (strncmp(eq + 1, "0x", 2) == 0) {
		if ((t->v = hex_value(eq + 3, &t->n)) == NULL)
			cli_usage_error("--tlv %s: bad hex value", name);
	} else {
		if ((t->v = (unsigned char *)strdup(eq + 1)) == NULL)
			diag_die(EX_OSERR, "out of memory");
		t->n = strlen(eq + 1);
	}
	if (t->n > PROXY_V2_MAX)
		cli_usage_error("--tlv %s: value too long", name);
}

static enum mode
mode_of(const char *w)
{
	if (strcmp(w, "decode") == 0)
		return M_DECODE;
	if (strcmp(w, "encode") == 0)
		return M_ENCODE;
	if (strcmp(w, "wrap") == 0)
		return M_WRAP;
	cli_usage_error("%s: not decode, encode or wrap", w);
}

static void
only(const struct conf *c, enum mode m, const char *opt)
{
	if (c->mode != m)
		cli_usage_error("%s is for proxyhdr %s", opt, m == M_DECODE ?
		    "decode" : m == M_ENCODE ? "encode" : "wrap");
}

static void
check_conf(struct conf *c)
{
	if (c->pass == 0 && c->fields != NULL)
		cli_usage_error("--fields goes with --pass");
	if (c->pass || c->fields)
		only(c, M_DECODE, "--pass");
	if (c->timeout_ms != -1 && c->mode == M_ENCODE)
		cli_usage_error("--timeout is for decode and wrap");
	if (c->mode != M_ENCODE) {
		if (c->version || c->src || c->dst || c->ntlv || c->crc32c ||
		    c->local || c->unknown || c->udp)
			cli_usage_error("-1, -2, --src, --dst, --tlv, --crc32c, "
			    "--local, --unknown and --udp are for encode");
		return;
	}
	if (c->version == 0)
		cli_usage_error("encode: -1 or -2 is required");
	if (c->local && c->unknown)
		cli_usage_error("--local or --unknown, not both");
	if (!c->local && !c->unknown && (c->src == NULL || c->dst == NULL))
		cli_usage_error("encode: --src and --dst are required (or "
		    "--local, --unknown)");
	if (c->version == 1 && (c->ntlv || c->crc32c || c->udp))
		cli_usage_error("v1 has no TLVs and no UDP");
	if (c->version == 1 && c->local)
		diag_info("v1 has no LOCAL: writing PROXY UNKNOWN");
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch;

	/* "+": stop at the first operand, the mode, and for wrap at PROG
	 * (whose own options are its own). */
	for (;;) {
		ch = getopt_long(argc, argv, "+" CLI_SHORTOPTS
		    CLI_SHORTOPT_OUTPUT "12", longopts, NULL);
		if (ch == -1) {
			if (optind >= argc || c->mode == M_WRAP)
				break;
			if (c->mode != M_NONE)
				cli_usage_error("too many arguments: %s",
				    argv[optind]);
			c->mode = mode_of(argv[optind++]);
			continue;
		}
		switch (ch) {
		case OPT_PASS: c->pass = 1; break;
		case OPT_FIELDS: c->fields = optarg; break;
		case OPT_TIMEOUT: c->timeout_ms = parse_timeout(optarg); break;
		case '1': case '2':
			if (c->version != 0 && c->version != ch - '0')
				cli_usage_error("-1 or -2, not both");
			c->version = ch - '0';
			break;
		case OPT_SRC: c->src = optarg; break;
		case OPT_DST: c->dst = optarg; break;
		case OPT_TLV: add_tlv(c, optarg); break;
		case OPT_CRC32C: c->crc32c = 1; break;
		case OPT_LOCAL: c->local = 1; break;
		case OPT_UNKNOWN: c->unknown = 1; break;
		case OPT_UDP: c->udp = 1; break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	if (c->mode == M_NONE)
		cli_usage_error("decode, encode or wrap?");
	if (c->mode == M_WRAP) {
		if (optind >= argc)
			cli_usage_error("wrap: PROG is required");
		c->prog = argv + optind;
	}
	check_conf(c);
}

/* ---- I/O ---- */


/* stdin to stdout until EOF: 0, or EX_IOERR after a diagnostic. */
static int
copy_stdin(void)
{
	static unsigned char buf[65536];
	ssize_t r;

	for (;;) {
		if ((r = read(0, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			diag_warn("stdin: %s", strerror(errno));
			return EX_IOERR;
		}
		if (r == 0)
			return 0;
		if (write_all(1, buf, (size_t)r) == -1) {
			diag_warn("output: %s", strerror(errno));
			return EX_IOERR;
		}
	}
}

/* One header from fd 0, or the exit status after the diagnostic. */
static int
read_header(const struct conf *c, struct proxy_hdr *h)
{
	const char *why = "?";

	switch (proxy_read_fd(0, c->timeout_ms, h, &why)) {
	case PROXY_READ_OK:
		return 0;
	case PROXY_READ_MALFORMED:
	case PROXY_READ_EOF:
		diag_warn("stdin: %s", why);
		return EX_DATAERR;
	case PROXY_READ_TIMEOUT:
		diag_warn("stdin: %s", why);
		return EX_TEMPFAIL;
	default:
		diag_warn("stdin: %s: %s", why, strerror(errno));
		return EX_IOERR;
	}
}

/* ---- the connection's own endpoints ---- */

/* A socket address as text; an IPv4 client on a dual-stack socket is an
 * IPv4 client (as smtpfront has it). */
static int
sock_addr(int peer, char *addr, size_t size, unsigned *port)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r;

	r = peer ? getpeername(0, (struct sockaddr *)&ss, &sl) :
	    getsockname(0, (struct sockaddr *)&ss, &sl);
	if (r == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)size);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		const unsigned char *a = in6->sin6_addr.s6_addr;

		if (memcmp(a, mapped, sizeof(mapped)) == 0)
			inet_ntop(AF_INET, a + 12, addr, (socklen_t)size);
		else
			inet_ntop(AF_INET6, a, addr, (socklen_t)size);
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	return -1;
}

/* An address and a port as text; "" when not known (or none). */
struct endpoint {
	char	 addr[PROXY_ADDR_MAX];
	char	 port[8];
};

/* A decimal port as ucspi writes it. */
static int
port_ok(const char *p)
{
	size_t n = strspn(p, "0123456789");

	return n > 0 && n <= 5 && p[n] == '\0' && (p[0] != '0' || n == 1) &&
	    atol(p) <= 65535;
}

/* The proxy's own address, as this end sees it: the peer of fd 0 when
 * that is an IP socket, else what a ucspi server in front said it is
 * (TCPREMOTEIP, TCPREMOTEPORT: when fd 0 is a pipe from sslserver, say),
 * else unknown.  Exim's $proxy_local_address.  Read before wrap puts the
 * client into TCPREMOTEIP. */
static void
conn_peer(struct endpoint *e)
{
	unsigned char bin[16];
	const char *ip, *port;
	unsigned p;

	memset(e, 0, sizeof(*e));
	if (sock_addr(1, e->addr, sizeof(e->addr), &p) == 0) {
		snprintf(e->port, sizeof(e->port), "%u", p);
		return;
	}
	e->addr[0] = '\0';
	/* Only an address goes into the variables, whatever the caller's
	 * environment held. */
	if ((ip = getenv("TCPREMOTEIP")) == NULL ||
	    strlen(ip) >= sizeof(e->addr) ||
	    (inet_pton(AF_INET, ip, bin) != 1 &&
	    inet_pton(AF_INET6, ip, bin) != 1))
		return;
	strcpy(e->addr, ip);
	if ((port = getenv("TCPREMOTEPORT")) != NULL && port_ok(port))
		strcpy(e->port, port);
}

/* Who is who, as the variables name it (Exim's setup_proxy): the client
 * (sender_host_*) is the header's source, proxy_external_* its
 * destination (where the client connected, on the proxy), proxy_local_*
 * the proxy itself.  Without IP addresses in the header (LOCAL, UNSPEC,
 * UNIX) the connection's own peer is the client, as in smtpfront, and
 * there is no external address. */
struct conn {
	const char *client, *client_port;
	const char *external, *external_port;
	const char *local, *local_port;
	char	 sport[8], dport[8];
};

static int
hdr_has_ip(const struct proxy_hdr *h)
{
	return h->command == PROXY_CMD_PROXY && (h->family == PROXY_FAM_INET ||
	    h->family == PROXY_FAM_INET6) && h->src_addr[0] != '\0';
}

static void
conn_of(struct conn *c, const struct proxy_hdr *h, const struct endpoint *peer)
{
	int ip = hdr_has_ip(h);

	snprintf(c->sport, sizeof(c->sport), "%u", h->src_port);
	snprintf(c->dport, sizeof(c->dport), "%u", h->dst_port);
	c->client = ip ? h->src_addr : peer->addr;
	c->client_port = ip ? c->sport : peer->port;
	c->external = ip ? h->dst_addr : "";
	c->external_port = ip ? c->dport : "";
	c->local = peer->addr;
	c->local_port = peer->port;
}

/* ---- the fields, for kv/json and for wrap's environment ---- */

struct sink {
	void (*put)(struct sink *, const char *name, const char *v, size_t n);
	struct out *o;
};

static void
put_str(struct sink *s, const char *name, const char *v)
{
	s->put(s, name, v, strlen(v));
}

static int
text_tlv(unsigned type, unsigned parent)
{
	if (parent == PROXY_TLV_SSL)
		return type >= PROXY_TLV_SSL_VERSION &&
		    type <= PROXY_TLV_SSL_KEY_ALG;
	return type == PROXY_TLV_ALPN || type == PROXY_TLV_AUTHORITY ||
	    type == PROXY_TLV_NETNS;
}

static void
add_hex(struct out_buf *b, const unsigned char *v, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out_buf_add(b, &digits[v[i] >> 4], 1);
		out_buf_add(b, &digits[v[i] & 15], 1);
	}
}

/* One TLV's value as a variable holds it: text as is (hex after "0x"
 * when it holds a NUL, which no environment or shell variable can),
 * NOOP as its length, the rest in hex. */
static void
add_value(struct out_buf *b, const struct proxy_hdr *h,
    const struct proxy_tlv *t)
{
	const unsigned char *v = proxy_tlv_value(h, t);

	if (text_tlv(t->type, t->parent) && memchr(v, '\0', t->len) == NULL)
		out_buf_add(b, v, t->len);
	else if (t->parent == 0 && t->type == PROXY_TLV_NOOP)
		out_buf_printf(b, "%u", t->len);
	else {
		if (text_tlv(t->type, t->parent))
			out_buf_str(b, "0x");
		add_hex(b, v, t->len);
	}
}

static void
tlv_var(char *name, size_t size, const struct proxy_tlv *t)
{
	const char *n = proxy_tlv_name(t->type);

	if (t->parent == PROXY_TLV_SSL && n != NULL &&
	    strncmp(n, "ssl_", 4) == 0)
		snprintf(name, size, "proxy_tlv_%s", n);
	else if (t->parent == PROXY_TLV_SSL)
		snprintf(name, size, "proxy_tlv_ssl_0x%02x", t->type);
	else if (n != NULL && strncmp(n, "ssl_", 4) != 0)
		snprintf(name, size, "proxy_tlv_%s", n);
	else
		snprintf(name, size, "proxy_tlv_0x%02x", t->type);
}

/* Every TLV but SSL itself (its parts come separately); a type seen
 * more than once gets one variable, the values joined with ':'. */
static void
tlv_fields(const struct proxy_hdr *h, struct sink *s)
{
	struct out_buf b;
	char name[64];
	size_t i, k;

	for (i = 0; i < h->ntlv; i++) {
		const struct proxy_tlv *t = &h->tlv[i];

		if (t->parent == 0 && (t->type == PROXY_TLV_SSL ||
		    t->type == PROXY_TLV_CRC32C))
			continue;
		for (k = 0; k < i; k++)
			if (h->tlv[k].type == t->type &&
			    h->tlv[k].parent == t->parent)
				break;
		if (k < i)
			continue;
		memset(&b, 0, sizeof(b));
		out_buf_str(&b, "");
		for (k = i; k < h->ntlv; k++) {
			if (h->tlv[k].type != t->type ||
			    h->tlv[k].parent != t->parent)
				continue;
			if (k > i)
				out_buf_str(&b, ":");
			add_value(&b, h, &h->tlv[k]);
		}
		if (b.oom)
			diag_die(EX_OSERR, "out of memory");
		tlv_var(name, sizeof(name), t);
		s->put(s, name, b.p, b.len);
		out_buf_free(&b);
	}
}

static void
fields(const struct proxy_hdr *h, const struct conn *c, struct sink *s)
{
	char num[32];

	put_str(s, "proxy_session", "yes");
	put_str(s, "proxy_version", h->version == 1 ? "1" : "2");
	put_str(s, "proxy_command", proxy_cmd_name(h->command));
	put_str(s, "proxy_family", proxy_fam_name(h->family));
	put_str(s, "proxy_transport", proxy_proto_name(h->transport));
	put_str(s, "sender_host_address", c->client);
	put_str(s, "sender_host_port", c->client_port);
	put_str(s, "proxy_external_address", c->external);
	put_str(s, "proxy_external_port", c->external_port);
	put_str(s, "proxy_local_address", c->local);
	put_str(s, "proxy_local_port", c->local_port);
	/* Not addresses Exim or a ucspi program knows: names of our own. */
	if (h->command == PROXY_CMD_PROXY && h->family == PROXY_FAM_UNIX) {
		put_str(s, "proxy_source_path", h->src_addr);
		put_str(s, "proxy_destination_path", h->dst_addr);
	}
	if (h->has_crc32c) {
		snprintf(num, sizeof(num), "%08x", (unsigned)h->crc32c);
		put_str(s, "proxy_tlv_crc32c", num);
		put_str(s, "proxy_tlv_crc32c_verified", "yes");
	}
	if (h->has_ssl) {
		put_str(s, "proxy_tlv_ssl", "yes");
		snprintf(num, sizeof(num), "%u", h->ssl_client);
		put_str(s, "proxy_tlv_ssl_client", num);
		snprintf(num, sizeof(num), "%u", (unsigned)h->ssl_verify);
		put_str(s, "proxy_tlv_ssl_verify", num);
	}
	tlv_fields(h, s);
}

static void
out_put(struct sink *s, const char *name, const char *v, size_t n)
{
	out_strn(s->o, name, v, n);
}

/* One "  label: value" line, unprintable octets escaped (a unix path or
 * a TLV may hold anything). */
static void
text_line(struct out *o, const char *label, const char *v, size_t n)
{
	struct out_buf b;
	size_t i;

	memset(&b, 0, sizeof(b));
	out_buf_str(&b, "");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			out_buf_printf(&b, "\\x%02x", ch);
		else
			out_buf_add(&b, &v[i], 1);
	}
	out_text(o, "  %s: %s\n", label, b.oom ? "?" : b.p);
	out_buf_free(&b);
}

/* Text mode, after text_summary: the unix paths and the TLV fields. */
static void
text_put(struct sink *s, const char *name, const char *v, size_t n)
{
	if (strcmp(name, "proxy_source_path") == 0)
		text_line(s->o, "source path", v, n);
	else if (strcmp(name, "proxy_destination_path") == 0)
		text_line(s->o, "destination path", v, n);
	else if (strncmp(name, "proxy_tlv_", 10) == 0)
		text_line(s->o, name + 10, v, n);
}

static void
text_endpoint(struct out *o, const char *label, const char *a,
    const char *port)
{
	if (*a == '\0')
		out_text(o, "  %s: unknown\n", label);
	else if (*port == '\0')
		out_text(o, "  %s: %s\n", label, a);
	else if (strchr(a, ':') != NULL)
		out_text(o, "  %s: [%s]:%s\n", label, a, port);
	else
		out_text(o, "  %s: %s:%s\n", label, a, port);
}

/* The header's kind, then who is who: each an IP address (inet_ntop's,
 * or checked by inet_pton), so printable. */
static void
text_summary(struct out *o, const struct proxy_hdr *h, const struct conn *c)
{
	out_text(o, "v%d %s %s %s%s\n", h->version,
	    proxy_cmd_name(h->command), proxy_fam_name(h->family),
	    proxy_proto_name(h->transport), hdr_has_ip(h) ? "" :
	    " (no IP addresses: the connection's own are the real ones)");
	text_endpoint(o, "client", c->client, c->client_port);
	text_endpoint(o, "proxy external", c->external, c->external_port);
	text_endpoint(o, "proxy local", c->local, c->local_port);
}

static int
decode(struct conf *c)
{
	struct proxy_hdr *h;
	struct endpoint peer;
	struct conn conn;
	struct sink s;
	struct out *o;
	FILE *fp = stdout;
	int rc;

	if ((h = malloc(sizeof(*h))) == NULL ||
	    (o = out_new(c->cli.out_mode)) == NULL)
		diag_die(EX_OSERR, "out of memory");
	if ((rc = read_header(c, h)) != 0) {
		out_free(o);
		free(h);
		return rc;
	}
	conn_peer(&peer);
	conn_of(&conn, h, &peer);
	out_begin(o);
	s.o = o;
	if (c->cli.out_mode == OUT_TEXT) {
		text_summary(o, h, &conn);
		s.put = text_put;
	} else
		s.put = out_put;
	fields(h, &conn, &s);
	if (c->pass && c->fields == NULL)
		fp = stderr;
	else if (c->pass && (fp = fopen(c->fields, "w")) == NULL)
		diag_die(EX_CANTCREAT, "%s: %s", c->fields, strerror(errno));
	rc = out_end(o, fp) == -1 || fflush(fp) == EOF;
	if (fp != stdout && fp != stderr && fclose(fp) == EOF)
		rc = 1;
	out_free(o);
	free(h);
	if (rc) {
		diag_warn("%s: %s", fp == stdout ? "output" : fp == stderr ?
		    "stderr" : c->fields, strerror(errno));
		return EX_IOERR;
	}
	return c->pass ? copy_stdin() : 0;
}

/* ---- encode ---- */

/* IPV4:PORT, [IPV6]:PORT or unix:PATH. */
static void
parse_endpoint(const char *arg, const char *opt, enum proxy_fam *fam,
    char *addr, size_t size, unsigned *port)
{
	const char *p, *colon;
	unsigned char bin[16];
	size_t n;

	if (strncmp(arg, "unix:", 5) == 0) {
		*fam = PROXY_FAM_UNIX;
		if (strlen(arg + 5) >= size)
			cli_usage_error("%s: path too long", opt);
		strcpy(addr, arg + 5);
		*port = 0;
		return;
	}
	if (arg[0] == '[') {
		if ((p = strchr(arg, ']')) == NULL || p[1] != ':')
			cli_usage_error("%s %s: want [IPV6]:PORT", opt, arg);
		n = (size_t)(p - arg - 1);
		colon = p + 1;
		*fam = PROXY_FAM_INET6;
		arg++;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL)
			cli_usage_error("%s %s: want IPV4:PORT or [IPV6]:PORT",
			    opt, arg);
		n = (size_t)(colon - arg);
		*fam = PROXY_FAM_INET;
	}
	if (n >= size)
		cli_usage_error("%s: address too long", opt);
	memcpy(addr, arg, n);
	addr[n] = '\0';
	if (inet_pton(*fam == PROXY_FAM_INET ? AF_INET : AF_INET6, addr,
	    bin) != 1)
		cli_usage_error("%s: %s: not an %s address", opt, addr,
		    *fam == PROXY_FAM_INET ? "IPv4" : "IPv6");
	*port = (unsigned)cli_number(colon + 1, 0, 65535, opt);
}

/* The --tlv list as encoder input, ssl_* gathered into one SSL TLV at
 * the place of the first of them. */
static size_t
build_tlvs(struct conf *c, struct proxy_tlv_val *out, unsigned char *ssl,
    size_t sslsize)
{
	struct proxy_tlv_val sub[MAX_TLVS];
	size_t i, n = 0, nsub = 0, at = (size_t)-1;
	unsigned client = PROXY_CLIENT_SSL;
	uint32_t verify = 0;
	ssize_t sn;

	for (i = 0; i < c->ntlv; i++) {
		struct tlv_arg *t = &c->tlv[i];
		int sslpart = t->type == SSL_CLIENT || t->type == SSL_VERIFY ||
		    (t->type >= PROXY_TLV_SSL_VERSION &&
		    t->type <= PROXY_TLV_SSL_KEY_ALG);

		if (sslpart && at == (size_t)-1)
			at = n++;
		if (t->type == SSL_CLIENT)
			client = (unsigned)t->num;
		else if (t->type == SSL_VERIFY)
			verify = (uint32_t)t->num;
		else if (sslpart)
			sub[nsub++] = (struct proxy_tlv_val){ (uint8_t)t->type,
			    t->v, t->n };
		else
			out[n++] = (struct proxy_tlv_val){ (uint8_t)t->type,
			    t->v, t->n };
	}
	if (at != (size_t)-1) {
		if ((sn = proxy_ssl_value(client, verify, sub, nsub, ssl,
		    sslsize)) == -1)
			cli_usage_error("the SSL TLV is too long");
		out[at] = (struct proxy_tlv_val){ PROXY_TLV_SSL, ssl,
		    (size_t)sn };
	}
	return n;
}

static int
encode(struct conf *c)
{
	static unsigned char buf[PROXY_V2_MAX], ssl[PROXY_V2_MAX];
	struct proxy_tlv_val tl[MAX_TLVS];
	char sa[PROXY_ADDR_MAX], da[PROXY_ADDR_MAX];
	struct proxy_info in;
	enum proxy_fam sf = PROXY_FAM_UNSPEC, df = PROXY_FAM_UNSPEC;
	const char *why = "?";
	ssize_t n;

	memset(&in, 0, sizeof(in));
	in.command = c->local ? PROXY_CMD_LOCAL : PROXY_CMD_PROXY;
	if (c->src != NULL)
		parse_endpoint(c->src, "--src", &sf, sa, sizeof(sa),
		    &in.src_port);
	if (c->dst != NULL)
		parse_endpoint(c->dst, "--dst", &df, da, sizeof(da),
		    &in.dst_port);
	if (c->src != NULL && c->dst != NULL && sf != df)
		cli_usage_error("--src and --dst of different families");
	if ((c->src == NULL) != (c->dst == NULL))
		cli_usage_error("--src and --dst go together");
	in.family = c->unknown ? PROXY_FAM_UNSPEC : sf;
	in.transport = c->udp ? PROXY_PROTO_DGRAM : PROXY_PROTO_STREAM;
	in.src_addr = sa;
	in.dst_addr = da;
	in.tlv = tl;
	in.ntlv = build_tlvs(c, tl, ssl, sizeof(ssl));
	in.crc32c = c->crc32c;
	n = c->version == 1 ? proxy_encode_v1(&in, buf, sizeof(buf), &why) :
	    proxy_encode_v2(&in, buf, sizeof(buf), &why);
	if (n < 0)
		cli_usage_error("encode: %s", why);
	if (write_all(1, buf, (size_t)n) == -1) {
		diag_warn("output: %s", strerror(errno));
		return EX_IOERR;
	}
	return copy_stdin();
}

/* ---- wrap ---- */

static void
env_put(struct sink *s, const char *name, const char *v, size_t n)
{
	char var[80], *val;
	size_t i;

	(void)s;
	/* sender_host_* are TCPREMOTEIP and TCPREMOTEPORT to a ucspi
	 * program, set apart. */
	if (strncmp(name, "proxy_", 6) != 0)
		return;
	for (i = 0; name[i] != '\0' && i < sizeof(var) - 1; i++)
		var[i] = name[i] >= 'a' && name[i] <= 'z' ?
		    (char)(name[i] - 'a' + 'A') : name[i];
	var[i] = '\0';
	if ((val = strndup(v, n)) == NULL || setenv(var, val, 1) == -1)
		diag_die(EX_OSERR, "environment: %s", strerror(errno));
	free(val);
}

/* No PROXY_* left over from whoever ran us: the program must see only
 * what this header said. */
static void
clear_proxy_env(void)
{
	extern char **environ;
	char name[256];
	size_t i, n;

	for (i = 0; environ[i] != NULL;) {
		if (strncmp(environ[i], "PROXY_", 6) != 0) {
			i++;
			continue;
		}
		n = strcspn(environ[i], "=");
		if (n >= sizeof(name)) {
			i++;
			continue;
		}
		memcpy(name, environ[i], n);
		name[n] = '\0';
		unsetenv(name);
	}
}

static void
set_env(const char *name, const char *v)
{
	if (setenv(name, v, 1) == -1)
		diag_die(EX_OSERR, "environment: %s", strerror(errno));
}

/* LOCAL, UNKNOWN, UNIX: the connection's own endpoints, as a ucspi
 * server set them or, failing that, from the socket on fd 0. */
static void
real_peer(void)
{
	char a[INET6_ADDRSTRLEN], num[16];
	unsigned port;

	if (getenv("TCPREMOTEIP") != NULL)
		return;
	if (sock_addr(1, a, sizeof(a), &port) == 0) {
		set_env("TCPREMOTEIP", a);
		snprintf(num, sizeof(num), "%u", port);
		set_env("TCPREMOTEPORT", num);
	}
	if (sock_addr(0, a, sizeof(a), &port) == 0) {
		set_env("TCPLOCALIP", a);
		snprintf(num, sizeof(num), "%u", port);
		set_env("TCPLOCALPORT", num);
	}
}

static int
wrap(struct conf *c)
{
	struct proxy_hdr *h;
	struct sink s = { env_put, NULL };
	struct endpoint peer;
	struct conn conn;
	char num[16];
	int rc;

	if (c->timeout_ms == -1)
		c->timeout_ms = WRAP_TIMEOUT_MS;
	if ((h = malloc(sizeof(*h))) == NULL)
		diag_die(EX_OSERR, "out of memory");
	if ((rc = read_header(c, h)) != 0) {
		free(h);
		return rc;
	}
	conn_peer(&peer);
	conn_of(&conn, h, &peer);
	clear_proxy_env();
	fields(h, &conn, &s);
	if (hdr_has_ip(h)) {
		set_env("TCPREMOTEIP", h->src_addr);
		snprintf(num, sizeof(num), "%u", h->src_port);
		set_env("TCPREMOTEPORT", num);
		set_env("TCPLOCALIP", h->dst_addr);
		snprintf(num, sizeof(num), "%u", h->dst_port);
		set_env("TCPLOCALPORT", num);
		/* The names a ucspi server looked up are the proxy's. */
		unsetenv("TCPREMOTEHOST");
		unsetenv("TCPREMOTEINFO");
		unsetenv("TCPLOCALHOST");
	} else
		real_peer();
	diag_info("%s v%d %s: %s", conn.client[0] ? conn.client : "-",
	    h->version, proxy_cmd_name(h->command), c->prog[0]);
	free(h);
	execvp(c->prog[0], c->prog);
	diag_warn("%s: %s", c->prog[0], strerror(errno));
	return EXIT_EXEC;
}

int
main(int argc, char **argv)
{
	struct conf c;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	cli_init(&c.cli, argv, usage);
	c.timeout_ms = -1;
	parse_args(&c, argc, argv);
	switch (c.mode) {
	case M_DECODE:
		rc = decode(&c);
		break;
	case M_ENCODE:
		rc = encode(&c);
		break;
	default:
		rc = wrap(&c);
		break;
	}
	for (i = 0; i < c.ntlv; i++)
		free(c.tlv[i].v);
	return rc;
}
