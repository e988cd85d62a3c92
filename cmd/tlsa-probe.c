/* tlsa-probe: will DANE senders (RFC 7672) deliver to a domain?  Every MX
 * host and every address of each, probed and reported; or, with
 * --generate, the TLSA records to publish for a certificate.  Options and
 * I/O only: the rules are lib/dane's and lib/tlsa's.  See man/tlsa-probe.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cli.h"
#include "dane.h"
#include "diag.h"
#include "dns.h"
#include "idn.h"
#include "out.h"
#include "tlsa.h"

static const char usage[] =
"usage: tlsa-probe [options] DOMAIN...\n"
"       tlsa-probe [options] --host HOST\n"
"       tlsa-probe --generate CERT.pem [--usage U --selector S --mtype M]\n"
"                  [--name OWNER] [--rollover NEXT.pem]\n"
"Check DANE for SMTP (RFC 7672): every MX host and address of DOMAIN.\n"
"      --host HOST        probe one host, no MX lookup\n"
"      --port N           SMTP port (default 25; also the TLSA name)\n"
"  -4, -6                 IPv4 or IPv6 addresses only\n"
"      --timeout SECS  --helo NAME  per step (default 10); EHLO name\n"
"      --ocsp, --no-ocsp  always, never ask for a staple (default: Exim's\n"
"                         rule, without DANE or with DANE-TA records only)\n"
"      --dnssec-probe NAME  check the resolver validates: AD on NAME's SOA\n"
"                         (default \".\"; \"\" skips the check)\n"
"      --trust-anchor FILE  validate DNSSEC here from these DS/DNSKEY\n"
"                         records, not by the resolver's AD bit\n"
"      --generate CERT    TLSA records for CERT (chain: usage 2 from the\n"
"                         issuer), --usage --selector --mtype --name --rollover\n"
"  -o, --output MODE      text (default), kv, json (one object per address)\n"
"      --resolver HOST[:PORT]  --dns-timeout MS   --now EPOCH\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 every MX host DANE-verified, 1 a verification failed, 2 DANE not\n"
"      applicable (no usable secure TLSA, null MX), 3 a host unreachable or\n"
"      without STARTTLS, 75 DNS temporary failure; 64 usage, 65 bad input,\n"
"      66 cannot open, 68 no such domain, 69 resolver does not validate.\n";

enum {
	OPT_HOST = CLI_OPT_PROG, OPT_PORT, OPT_TIMEOUT, OPT_HELO, OPT_OCSP,
	OPT_NO_OCSP, OPT_DNSSEC_PROBE, OPT_GENERATE, OPT_USAGE, OPT_SELECTOR,
	OPT_MTYPE, OPT_NAME, OPT_ROLLOVER
};

static const struct option longopts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "ocsp", no_argument, NULL, OPT_OCSP },
	{ "no-ocsp", no_argument, NULL, OPT_NO_OCSP },
	{ "dnssec-probe", required_argument, NULL, OPT_DNSSEC_PROBE },
	{ "generate", required_argument, NULL, OPT_GENERATE },
	{ "usage", required_argument, NULL, OPT_USAGE },
	{ "selector", required_argument, NULL, OPT_SELECTOR },
	{ "mtype", required_argument, NULL, OPT_MTYPE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "rollover", required_argument, NULL, OPT_ROLLOVER },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPT_NOW,
	CLI_LONGOPT_TRUST_ANCHOR,
	{ NULL, 0, NULL, 0 }
};

#define MAX_NAME	253
#define MAX_TIMEOUT	300

struct conf {
	struct cli cli;
	const char *host;
	unsigned port;
	int families;
	const char *probe_name;
	struct dane_probe_opts po;
	char helo[MAX_NAME + 1];
	/* --generate */
	const char *generate, *rollover;
	struct tlsa_gen_opts gen;
	int gen_opts_given;
	char **domains;
	int ndomains;
};

/* What one reported line (one address, or a domain or host that got no
 * further) says.  Pointers into the run's lookups; any may be NULL. */
struct row {
	const char *domain;		/* "" with --host */
	const struct dane_mx *mx;	/* NULL: --host */
	enum dane_sec mx_sec;
	const struct dane_host *host;
	const struct dane_addr *addr;
	const struct dane_tlsa *tlsa;
	int dane_applies;
	const struct dane_session *sess;
	enum dane_result result;
	const char *reason;
};

/* ---- options ---- */

static int
field_arg(enum tlsa_field f, const char *arg, const char *what)
{
	int v = tlsa_field_parse(f, arg);

	if (v < 0)
		cli_usage_error("%s: %s: want 0-255 or an RFC 7218 name", what,
		    arg);
	return v;
}

static const char *
name_arg(const char *arg, const char *what)
{
	if (*arg == '\0' || strlen(arg) > MAX_NAME)
		cli_usage_error("%s: not a host name: %s", what, arg);
	return arg;
}

static void
default_helo(struct conf *c)
{
	if (gethostname(c->helo, sizeof(c->helo)) == -1 ||
	    c->helo[0] == '\0')
		snprintf(c->helo, sizeof(c->helo), "localhost");
	c->helo[sizeof(c->helo) - 1] = '\0';
}

static void
parse_one(struct conf *c, int ch, const char *arg)
{
	switch (ch) {
	case '4': c->families = DANE_V4; break;
	case '6': c->families = DANE_V6; break;
	case OPT_HOST: c->host = name_arg(arg, "--host"); break;
	case OPT_PORT:
		c->port = (unsigned)cli_number(arg, 1, 65535, "--port");
		break;
	case OPT_TIMEOUT:
		c->po.timeout_ms = 1000 * (unsigned)cli_number(arg, 1,
		    MAX_TIMEOUT, "--timeout");
		break;
	case OPT_HELO:
		snprintf(c->helo, sizeof(c->helo), "%s",
		    name_arg(arg, "--helo"));
		break;
	case OPT_OCSP: c->po.ocsp = 1; break;
	case OPT_NO_OCSP: c->po.ocsp = 0; break;
	case OPT_DNSSEC_PROBE: c->probe_name = arg; break;
	case OPT_GENERATE: c->generate = arg; break;
	case OPT_ROLLOVER: c->rollover = arg; c->gen_opts_given = 1; break;
	case OPT_NAME: c->gen.owner = arg; c->gen_opts_given = 1; break;
	case OPT_USAGE:
		c->gen.usage = (unsigned)field_arg(TLSA_FIELD_USAGE, arg,
		    "--usage");
		c->gen_opts_given = 1;
		break;
	case OPT_SELECTOR:
		c->gen.selector = (unsigned)field_arg(TLSA_FIELD_SELECTOR, arg,
		    "--selector");
		c->gen_opts_given = 1;
		break;
	case OPT_MTYPE:
		c->gen.mtype = (unsigned)field_arg(TLSA_FIELD_MTYPE, arg,
		    "--mtype");
		c->gen_opts_given = 1;
		break;
	default:
		if (!cli_option(&c->cli, ch, arg))
			cli_usage_error("unknown option");
	}
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	struct tlsa_gen_opts g = TLSA_GEN_OPTS_DEFAULT;
	int ch;

	c->gen = g;
	c->port = 25;
	c->families = DANE_V4 | DANE_V6;
	c->probe_name = ".";
	c->po.timeout_ms = 10000;
	c->po.ocsp = -1;
	default_helo(c);
	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS CLI_SHORTOPT_OUTPUT
	    "46", longopts, NULL)) != -1)
		parse_one(c, ch, optarg);
	c->domains = argv + optind;
	c->ndomains = argc - optind;
	if (c->generate != NULL) {
		if (c->ndomains > 0 || c->host != NULL)
			cli_usage_error("--generate takes no DOMAIN or --host");
		c->gen.port = c->port;
		return;
	}
	if (c->gen_opts_given)
		cli_usage_error("--usage, --selector, --mtype, --name and "
		    "--rollover go with --generate");
	if (c->host != NULL && c->ndomains > 0)
		cli_usage_error("--host and DOMAIN do not go together");
	if (c->host == NULL && c->ndomains == 0)
		cli_usage_error("a DOMAIN or --host HOST is required");
	c->po.now = c->cli.now != (time_t)-1 ? c->cli.now : time(NULL);
	c->po.helo = c->helo;
}

/* ---- --generate ---- */

static int
generate(const struct conf *c)
{
	struct tlsa_gen g;
	char *err = NULL;
	size_t i;
	int rc;

	if ((rc = tlsa_generate(c->generate, c->rollover, &c->gen, &g,
	    &err)) != 0) {
		diag_warn("%s", err != NULL ? err : "out of memory");
		free(err);
		return rc;
	}
	for (i = 0; i < g.nwarn; i++)
		diag_warn("warning: %s", g.warnings[i]);
	for (i = 0; i < g.nlines; i++)
		printf("%s\n", g.lines[i]);
	tlsa_gen_free(&g);
	return cli_stdout_done();
}

/* ---- output ---- */

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

static void
out_records(struct out *o, const struct dane_tlsa *t)
{
	const char *v[DANE_MAX_TLSA] = { NULL };
	char *txt[DANE_MAX_TLSA];
	size_t i, n = 0;

	for (i = 0; t != NULL && i < t->n; i++)
		if ((txt[n] = tlsa_rr_text(&t->rr[i])) != NULL) {
			v[n] = txt[n];
			n++;
		}
	out_list(o, "tlsa_records", v, n);
	for (i = 0; i < n; i++)
		free(txt[i]);
}

static const char *
yes_no(int known, int v)
{
	return !known ? "" : v ? "yes" : "no";
}

static void
out_dns(struct out *o, const struct row *r)
{
	const struct dane_tlsa *t = r->tlsa;

	out_str(o, "tlsa_domain", r->domain);
	out_str(o, "tlsa_mx_host", r->mx != NULL ? r->mx->host :
	    r->host != NULL ? r->host->name : "");
	out_int(o, "tlsa_mx_pref", r->mx != NULL ? r->mx->pref : 0);
	out_str(o, "tlsa_mx_dnssec", dane_sec_name(r->mx_sec));
	out_str(o, "tlsa_address", r->addr != NULL ? r->addr->text : "");
	out_str(o, "tlsa_addr_dnssec", r->addr != NULL ?
	    dane_sec_name(r->addr->sec) : r->host != NULL ?
	    dane_sec_name(r->host->sec) : "");
	out_str(o, "tlsa_qname", t != NULL ? str(t->qname) : "");
	out_str(o, "tlsa_dnssec", t != NULL ? dane_sec_name(t->sec) : "");
	out_records(o, t);
}

static void
out_tls(struct out *o, const struct row *r, unsigned port)
{
	const struct dane_session *s = r->sess;
	char na[32] = "";

	if (s != NULL)
		out_iso8601(s->not_after, na, sizeof(na));
	out_int(o, "tlsa_port", port);
	out_str(o, "tlsa_starttls", s == NULL ? "" :
	    yes_no(s->connected && s->result != DANE_UNREACHABLE,
	    s->starttls_offered && s->result != DANE_NOSTARTTLS));
	out_str(o, "tls_out_dane", s != NULL && s->verified &&
	    r->result == DANE_PASS ? "yes" : "no");
	out_int(o, "tls_out_tlsa_usage", r->dane_applies ?
	    r->tlsa->usage_bits : 0);
	out_str(o, "tls_out_ver", s != NULL ? s->version : "");
	out_str(o, "tls_out_cipher", s != NULL ? s->cipher : "");
	out_str(o, "tls_out_peerdn", s != NULL ? s->peerdn : "");
	out_str(o, "tlsa_cert_issuer", s != NULL ? s->issuer : "");
	out_str(o, "tlsa_cert_not_after", na);
	out_list(o, "tlsa_chain", s != NULL ? (const char *const *)s->chain :
	    NULL, s != NULL ? s->nchain : 0);
	out_str(o, "tlsa_match", s != NULL ? str(s->match) : "");
	out_int(o, "tlsa_match_depth", s != NULL ? s->match_depth : -1);
	out_str(o, "tlsa_ocsp", dane_ocsp_name(s != NULL ? s->ocsp :
	    DANE_OCSP_NOTREQ));
	out_int(o, "tls_out_ocsp", dane_ocsp_exim(s != NULL ? s->ocsp :
	    DANE_OCSP_NOTREQ));
	if (s != NULL && s->ocsp_detail[0] != '\0')
		out_str(o, "tlsa_ocsp_detail", s->ocsp_detail);
}

/* Text: the verdict first, then where, then why. */
static void
text_row(struct out *o, const struct row *r, unsigned port)
{
	const struct dane_session *s = r->sess;
	const char *who = r->mx != NULL ? r->mx->host : r->host != NULL ?
	    r->host->name : r->domain;

	if (r->addr != NULL)
		out_text(o, "%s %s[%s]:%u", dane_result_name(r->result), who,
		    r->addr->text, port);
	else
		out_text(o, "%s %s", dane_result_name(r->result), who);
	if (r->tlsa != NULL && r->tlsa->qname != NULL)
		out_text(o, " tlsa=%s/%zu", dane_sec_name(r->tlsa->sec),
		    r->tlsa->n);
	if (s != NULL && s->match != NULL)
		out_text(o, " match=\"%s\"", s->match);
	if (s != NULL && s->tls)
		out_text(o, " %s cert=\"%s\"", s->cipher, s->peerdn);
	if (s != NULL && s->ocsp != DANE_OCSP_NOTREQ)
		out_text(o, " ocsp=%s", dane_ocsp_name(s->ocsp));
	out_text(o, ": %s\n", str(r->reason));
}

static int
emit(const struct conf *c, const struct row *r)
{
	struct out *o = out_new(c->cli.out_mode);
	int rc;

	if (o == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	out_begin(o);
	out_dns(o, r);
	out_tls(o, r, c->port);
	out_str(o, "tlsa_result", dane_result_name(r->result));
	out_str(o, "tlsa_reason", str(r->reason));
	text_row(o, r, c->port);
	rc = out_end(o, stdout);
	/* kv: a blank line between blocks, so that a shell can split them. */
	if (c->cli.out_mode == OUT_KV)
		putchar('\n');
	out_free(o);
	return rc == 0 ? 0 : EX_IOERR;
}

/* ---- verdicts ---- */

static int
result_exit(enum dane_result r)
{
	switch (r) {
	case DANE_PASS: return 0;
	case DANE_FAIL: return 1;
	case DANE_NONE: case DANE_NULLMX: return 2;
	case DANE_NOSTARTTLS: case DANE_UNREACHABLE: return 3;
	default: return EX_TEMPFAIL;
	}
}

/* The worse of two exit statuses: 1, then 75, then 3, then 2, then 0;
 * other errors (68, 74) above them all. */
static int
exit_worst(int a, int b)
{
	static const int order[] = { 0, 2, 3, EX_TEMPFAIL, 1 };
	int ra = 5, rb = 5;
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (order[i] == a)
			ra = (int)i;
		if (order[i] == b)
			rb = (int)i;
	}
	return rb > ra ? b : a;
}

/* Why DANE does not apply to this host, or NULL when it does. */
static const char *
not_applicable(const struct row *r, int *tempfail, char *buf, size_t len)
{
	const struct dane_tlsa *t = r->tlsa;

	*tempfail = 0;
	if (r->host->sec != DANE_SEC_SECURE)
		return "the host's address records are not DNSSEC-secure";
	switch (t->status) {
	case DANE_TLSA_TEMPFAIL:
	case DANE_TLSA_PERMFAIL:
		*tempfail = 1;
		return t->why;
	case DANE_TLSA_NONE:
		return t->sec == DANE_SEC_SECURE ? "no TLSA records" :
		    "no TLSA records (insecure denial)";
	default:
		break;
	}
	if (t->sec != DANE_SEC_SECURE)
		return "the TLSA RRset is not DNSSEC-secure";
	if (t->usable == 0) {
		snprintf(buf, len, "every TLSA record is unusable for SMTP "
		    "(%s; RFC 7672 3.1.3): DANE senders require TLS but do "
		    "not authenticate", t->why != NULL ? t->why : "?");
		return buf;
	}
	return NULL;
}

static int
probe_address(const struct conf *c, struct row *r, const char *na)
{
	struct dane_session s;
	char buf[sizeof(s.reason) + 400];
	int rc;

	if (dane_probe(r->addr, r->mx != NULL ? r->mx->host : r->host->name,
	    r->dane_applies ? r->tlsa : NULL, r->host->expanded, &c->po,
	    &s) == -1)
		diag_die(EX_SOFTWARE, "cannot set up TLS");
	r->sess = &s;
	r->result = s.result;
	r->reason = s.reason;
	if (!r->dane_applies && s.result == DANE_NONE) {
		snprintf(buf, sizeof(buf), "%s%s%s", na,
		    s.reason[0] != '\0' ? "; " : "", s.reason);
		r->reason = buf;
	} else if (r->dane_applies && r->mx != NULL &&
	    r->mx_sec != DANE_SEC_SECURE) {
		snprintf(buf, sizeof(buf), "%s; the MX RRset is not "
		    "DNSSEC-secure: Postfix still uses DANE here (RFC 7672 "
		    "2.2.1), Exim does not", s.reason);
		r->reason = buf;
	}
	rc = emit(c, r);
	r->sess = NULL;
	dane_session_free(&s);
	return rc == 0 ? result_exit(r->result) : rc;
}

static int
host_row(const struct conf *c, struct row *r, enum dane_result res,
    const char *why)
{
	int rc;

	r->result = res;
	r->reason = why;
	rc = emit(c, r);
	return rc == 0 ? result_exit(res) : rc;
}

/* Every address of one MX host (or --host). */
static int
probe_host(const struct conf *c, struct row *r, const char *name)
{
	struct dane_host h;
	struct dane_tlsa t;
	const char *na;
	char nabuf[300];
	int tf, ex = 0;
	size_t i;

	if (dane_host_lookup(name, c->families, c->port, &h) == -1)
		diag_die(EX_SOFTWARE, "out of memory");
	r->host = &h;
	if (r->mx == NULL)
		r->mx_sec = h.sec;
	if (h.tempfail) {
		ex = host_row(c, r, DANE_TEMPERROR, "address lookup failed "
		    "(SERVFAIL or timeout; bogus DNSSEC looks the same)");
		goto out;
	}
	if (h.n == 0) {
		ex = host_row(c, r, DANE_UNREACHABLE, h.nxdomain ?
		    "no such host (NXDOMAIN)" : "no address records");
		goto out;
	}
	if (dane_tlsa_lookup(&h, c->port, &t) == -1)
		diag_die(EX_SOFTWARE, "out of memory");
	r->tlsa = &t;
	na = not_applicable(r, &tf, nabuf, sizeof(nabuf));
	r->dane_applies = na == NULL;
	for (i = 0; i < h.n; i++) {
		r->addr = &h.addr[i];
		ex = exit_worst(ex, tf ? host_row(c, r, DANE_TEMPERROR, na) :
		    probe_address(c, r, na));
	}
	r->addr = NULL;
	r->tlsa = NULL;
	r->dane_applies = 0;
	dane_tlsa_free(&t);
out:
	r->host = NULL;
	dane_host_free(&h);
	return ex;
}

static int
probe_domain(const struct conf *c, const char *domain)
{
	struct row r = { .domain = domain };
	struct dane_mxset m;
	int ex = 0;
	size_t i;

	if (dane_mx_lookup(domain, &m) == -1)
		diag_die(EX_SOFTWARE, "out of memory");
	r.mx_sec = m.sec;
	switch (m.status) {
	case DANE_MX_OK:
	case DANE_MX_IMPLICIT:
		break;
	case DANE_MX_NULL:
		ex = host_row(c, &r, DANE_NULLMX,
		    "null MX (RFC 7505): the domain accepts no mail");
		goto out;
	case DANE_MX_NXDOMAIN:
		diag_warn("%s: no such domain", domain);
		ex = EX_NOHOST;
		goto out;
	case DANE_MX_TEMPFAIL:
		ex = host_row(c, &r, DANE_TEMPERROR, "MX lookup failed "
		    "(SERVFAIL or timeout; bogus DNSSEC looks the same)");
		goto out;
	default:
		ex = host_row(c, &r, DANE_TEMPERROR,
		    "MX lookup refused or malformed");
		goto out;
	}
	if (m.dropped > 0)
		diag_warn("%s: %zu MX records beyond the first %d not probed",
		    domain, m.dropped, DANE_MAX_MX);
	for (i = 0; i < m.n; i++) {
		r.mx = &m.mx[i];
		ex = exit_worst(ex, probe_host(c, &r, m.mx[i].host));
	}
out:
	dane_mxset_free(&m);
	return ex;
}

/* A domain or host as given, in A-labels.  Exits on a bad name. */
static char *
alabels(const char *name)
{
	const char *why = NULL;
	char *a = idn_to_alabels(name, &why);

	if (a == NULL)
		diag_die(EX_DATAERR, "%s: %s", name, why != NULL ? why :
		    "not a domain name");
	return a;
}

static void
check_resolver(const struct conf *c)
{
	const char *res = c->cli.resolver != NULL ? c->cli.resolver :
	    getenv("MXKIT_RESOLVER") != NULL ? getenv("MXKIT_RESOLVER") :
	    "of /etc/resolv.conf";
	int v;

	/* With anchors of our own the AD bit is not used at all. */
	if (c->probe_name[0] == '\0' || c->cli.trust_anchor != NULL ||
	    getenv("MXKIT_TRUST_ANCHOR") != NULL)
		return;
	v = dane_resolver_validates(c->probe_name);
	if (v == 0)
		diag_die(EX_UNAVAILABLE, "resolver %s does not validate "
		    "DNSSEC (no AD bit on the answer for %s SOA); point "
		    "--resolver at one that does", res, c->probe_name);
	if (v < 0)
		diag_die(EX_TEMPFAIL, "resolver %s: no answer for %s SOA: "
		    "cannot tell whether it validates DNSSEC", res,
		    c->probe_name);
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	int rc, ex = 0, i;
	char *name;

	cli_init(&c.cli, argv, usage);
	parse_args(&c, argc, argv);
	/* OpenSSL's reasons are part of what this program reports. */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
	    NULL);
	if (c.generate != NULL)
		return generate(&c);
	if ((rc = cli_dns_setup(&c.cli)) != 0)
		return rc;
	check_resolver(&c);
	if (c.host != NULL) {
		struct row r = { .domain = "" };

		name = alabels(c.host);
		ex = probe_host(&c, &r, name);
		free(name);
	}
	for (i = 0; i < c.ndomains; i++) {
		name = alabels(c.domains[i]);
		ex = exit_worst(ex, probe_domain(&c, name));
		free(name);
	}
	rc = cli_stdout_done();
	dns_shutdown();
	return rc != 0 ? rc : ex;
}
