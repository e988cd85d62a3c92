/* ocsp-fetch: keep an OCSP response file (for stapling: Exim's
 * tls_ocsp_file, nginx's ssl_stapling_file) up to date for one or more
 * certificates: fetch, verify, replace atomically, and only when the old
 * one nears its nextUpdate.  Options and I/O only; the protocol is
 * lib/ocsp's and lib/ocsp_http's, host names lib/dns's.  See
 * man/ocsp-fetch.1. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "diag.h"
#include "dns.h"
#include "ocsp.h"
#include "ocsp_http.h"
#include "out.h"

static const char usage[] =
"usage: ocsp-fetch [-v] [-o text|kv|json] [options] -c CERT [-i ISSUER]\n"
"                  -O OUT [-u URL] [--with-chain FILE] [-c CERT ...]\n"
"       ocsp-fetch --check [-o MODE] -c CERT [-i ISSUER] -O OUT ...\n"
"Fetch, verify and write (DER) the OCSP response a server staples for CERT;\n"
"nothing while OUT is valid and not near its end.\n"
"  -c, --cert FILE        the certificate; a chain file: its issuer second\n"
"  -i, --issuer FILE      the issuer (default: CERT's second certificate)\n"
"  -O, --ocsp-file FILE   the response file to keep up to date\n"
"  -u, --url URL          the responder (default: the OCSP URL of CERT)\n"
"      --with-chain FILE  also write the intermediates (PEM)\n"
"  (-i -O -u --with-chain go with the -c before them: one group per cert)\n"
"      --refresh-before D fetch when less than D is left: 30m, 2h, 1d, SECS\n"
"                         or N% of the validity (default 10%)\n"
"      --force  --check   fetch even when fresh; verify OUT only, no network\n"
"      --nonce  --post    require an echoed nonce; always POST (else RFC 5019)\n"
"      --responder-certs FILE  more certificates to find the responder's in\n"
"      --timeout SECS  --skew SECS  --now EPOCH   (10, 300, now)\n"
"      --resolver HOST[:PORT]  --dns-zone FILE  --dns-timeout MS  (host names)\n"
"  -o, --output MODE      text (default), kv (for eval), json\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"Exit: 0 good, 1 revoked (written), 2 unknown (not written), 3 no OCSP URL;\n"
"      64 usage, 65 bad certificate, 66 cannot open, 69 bad or refused\n"
"      response or no such host, 74 cannot write, 75 unreachable or DNS\n"
"      timeout (try later); of several, the highest.  On failure OUT is kept.\n";

enum {
	OPT_WITH_CHAIN = CLI_OPT_PROG, OPT_REFRESH, OPT_FORCE, OPT_CHECK,
	OPT_NONCE, OPT_POST, OPT_RESPONDERS, OPT_TIMEOUT, OPT_SKEW
};

static const struct option longopts[] = {
	{ "cert", required_argument, NULL, 'c' },
	{ "issuer", required_argument, NULL, 'i' },
	{ "ocsp-file", required_argument, NULL, 'O' },
	{ "url", required_argument, NULL, 'u' },
	{ "with-chain", required_argument, NULL, OPT_WITH_CHAIN },
	{ "refresh-before", required_argument, NULL, OPT_REFRESH },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "nonce", no_argument, NULL, OPT_NONCE },
	{ "post", no_argument, NULL, OPT_POST },
	{ "responder-certs", required_argument, NULL, OPT_RESPONDERS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "skew", required_argument, NULL, OPT_SKEW },
	CLI_LONGOPTS,
	CLI_LONGOPT_OUTPUT,
	CLI_LONGOPT_NOW,
	{ NULL, 0, NULL, 0 }
};

#define MAX_JOBS	64
#define MAX_CERTS	32		/* in one PEM file */
#define MAX_PEM		(1024 * 1024)
#define EXIT_NO_URL	3

/* One certificate and the files that go with it. */
struct job {
	const char *cert, *issuer, *out, *url, *chain;
};

struct conf {
	struct cli cli;
	struct job jobs[MAX_JOBS];
	size_t njobs;
	struct ocsp_refresh refresh;
	int force, check, nonce, post, timeout;
	long skew;
	const char *responders;
	STACK_OF(X509) *extra;
	time_t now;
};

/* What became of one job. */
struct result {
	const struct job *j;
	char *url;
	const char *action;	/* fetched fresh checked kept */
	int have;		/* st holds a genuine response */
	struct ocsp_status st;
	char error[512];
	int rc;
};

/* ---- options ---- */

static struct job *
job_for(struct conf *c, int starts)
{
	struct job *j = c->njobs > 0 ? &c->jobs[c->njobs - 1] : NULL;

	/* -c opens a group, unless the group open is still without one
	 * (-O OUT -c CERT); the others fill the open group. */
	if (j != NULL && (!starts || j->cert == NULL))
		return j;
	if (c->njobs == MAX_JOBS)
		cli_usage_error("more than %d certificates", MAX_JOBS);
	return &c->jobs[c->njobs++];
}

static void
set_once(const char **field, const char *arg, const char *opt)
{
	if (*field != NULL)
		cli_usage_error("%s given twice for one -c (repeat -c for "
		    "another certificate)", opt);
	if (*arg == '\0')
		cli_usage_error("%s: empty", opt);
	*field = arg;
}

static void
check_url(const char *url)
{
	const char *why;

	if (!ocsp_http_url_ok(url, &why))
		cli_usage_error("-u: %s: %s", url, why);
}

static void
check_jobs(struct conf *c)
{
	size_t i, k;

	if (c->njobs == 0)
		cli_usage_error("-c CERT is required");
	for (i = 0; i < c->njobs; i++) {
		if (c->jobs[i].cert == NULL)
			cli_usage_error("-O, -i, -u or --with-chain without "
			    "its -c");
		if (c->jobs[i].out == NULL)
			cli_usage_error("%s: -O OUT is required",
			    c->jobs[i].cert);
		for (k = 0; k < i; k++)
			if (strcmp(c->jobs[i].out, c->jobs[k].out) == 0)
				cli_usage_error("-O %s given for two "
				    "certificates", c->jobs[i].out);
	}
	if (c->check && c->force)
		cli_usage_error("--check and --force do not go together");
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS CLI_SHORTOPT_OUTPUT
	    "c:i:O:u:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': set_once(&job_for(c, 1)->cert, optarg, "-c"); break;
		case 'i': set_once(&job_for(c, 0)->issuer, optarg, "-i"); break;
		case 'O': set_once(&job_for(c, 0)->out, optarg, "-O"); break;
		case 'u':
			check_url(optarg);
			set_once(&job_for(c, 0)->url, optarg, "-u");
			break;
		case OPT_WITH_CHAIN:
			set_once(&job_for(c, 0)->chain, optarg,
			    "--with-chain");
			break;
		case OPT_REFRESH:
			if (ocsp_refresh_parse(optarg, &c->refresh) == -1)
				cli_usage_error("--refresh-before: %s: want "
				    "30m, 2h, 1d, SECONDS or N%%", optarg);
			break;
		case OPT_FORCE: c->force = 1; break;
		case OPT_CHECK: c->check = 1; break;
		case OPT_NONCE: c->nonce = 1; break;
		case OPT_POST: c->post = 1; break;
		case OPT_RESPONDERS: c->responders = optarg; break;
		case OPT_TIMEOUT:
			c->timeout = (int)cli_number(optarg, 1, 600,
			    "--timeout");
			break;
		case OPT_SKEW:
			c->skew = (long)cli_number(optarg, 0, 86400, "--skew");
			break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	if (optind < argc)
		cli_usage_error("too many arguments: %s", argv[optind]);
	check_jobs(c);
}

/* ---- files ---- */

/* The whole of path, at most max bytes: 0, or -1 with errno (EFBIG when
 * larger). */
static int
read_file(const char *path, size_t max, unsigned char **buf, size_t *len)
{
	struct stat sb;
	unsigned char *p;
	size_t n = 0;
	ssize_t r;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || (S_ISDIR(sb.st_mode) && (errno = EISDIR))
	    || ((size_t)sb.st_size > max && (errno = EFBIG)) ||
	    (p = malloc(max + 1)) == NULL) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	while (n <= max && (r = read(fd, p + n, max + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err = errno;
			free(p);
			close(fd);
			errno = err;
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		free(p);
		errno = EFBIG;
		return -1;
	}
	*buf = p;
	*len = n;
	return 0;
}

static int
set_error(struct result *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
set_error(struct result *r, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	r->rc = rc;
	return rc;
}

/* Every certificate in a PEM file (or the one of a DER file). */
static STACK_OF(X509) *
load_certs(const char *path, struct result *r)
{
	STACK_OF(X509) *sk;
	unsigned char *buf;
	const unsigned char *p;
	size_t len;
	X509 *x;
	BIO *b;

	if (read_file(path, MAX_PEM, &buf, &len) == -1) {
		set_error(r, errno == EFBIG ? EX_DATAERR : EX_NOINPUT,
		    "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((sk = sk_X509_new_null()) == NULL ||
	    (b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	while (sk_X509_num(sk) < MAX_CERTS &&
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x))
			diag_die(EX_SOFTWARE, "out of memory");
	BIO_free(b);
	p = buf;
	if (sk_X509_num(sk) == 0 && (x = d2i_X509(NULL, &p, (long)len)) != NULL)
		sk_X509_push(sk, x);
	free(buf);
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		set_error(r, EX_DATAERR, "%s: no certificate in it", path);
		return NULL;
	}
	return sk;
}

/* The symbolic link's target is what a server reads (certbot's live/
 * directory, say): replace that and keep the link. */
static char *
write_target(const char *path)
{
	struct stat sb;
	char *real;

	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode) &&
	    (real = realpath(path, NULL)) != NULL)
		return real;
	return strdup(path);
}

static mode_t
new_mode(const char *target, int fd)
{
	struct stat sb;
	mode_t mask;

	/* The old file's mode and (as root) owner: a server running as
	 * another user must still read it. */
	if (stat(target, &sb) == 0) {
		if (geteuid() == 0 && fchown(fd, sb.st_uid, sb.st_gid) == -1)
			diag_info("%s: cannot keep the owner: %s", target,
			    strerror(errno));
		return sb.st_mode & 07777;
	}
	mask = umask(0);
	umask(mask);
	return 0644 & ~mask;	/* a response and a chain are public */
}


static int
sync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Atomically: a temporary file beside the target, fsync, rename over
 * it, fsync the directory.  A reader sees the old file or the new one,
 * whole, and a crash leaves one of them.  0, or -1 with errno. */
static int
write_atomic(const char *path, const unsigned char *data, size_t len)
{
	char *target, *dcopy = NULL, *bcopy = NULL, *tmp = NULL;
	const char *dir;
	int fd = -1, rc = -1, err;

	if ((target = write_target(path)) == NULL ||
	    (dcopy = strdup(target)) == NULL ||
	    (bcopy = strdup(target)) == NULL)
		goto out;
	dir = dirname(dcopy);
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, basename(bcopy)) == -1) {
		tmp = NULL;
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		goto out;
	if (fchmod(fd, new_mode(target, fd)) == -1 ||
	    write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, target) == -1)
		goto out;
	free(tmp);
	tmp = NULL;
	rc = sync_dir(dir);
out:
	err = errno;
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(bcopy);
	free(dcopy);
	free(target);
	errno = err;
	return rc;
}

/* ---- the chain file ---- */

/* What a stapling server sends after its certificate: CERT's further
 * certificates, or the issuer; never a self-signed root. */
static int
chain_pem(STACK_OF(X509) *certs, X509 *issuer, unsigned char **pem,
    size_t *len)
{
	BIO *b;
	char *p;
	long n;
	int i, any = 0;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	for (i = 1; i < sk_X509_num(certs); i++) {
		if (X509_check_issued(sk_X509_value(certs, i),
		    sk_X509_value(certs, i)) == X509_V_OK)
			continue;
		any = 1;
		PEM_write_bio_X509(b, sk_X509_value(certs, i));
	}
	if (!any && X509_check_issued(issuer, issuer) != X509_V_OK)
		PEM_write_bio_X509(b, issuer);
	n = BIO_get_mem_data(b, &p);
	if (n < 0 || (*pem = malloc((size_t)n + 1)) == NULL) {
		BIO_free(b);
		return -1;
	}
	memcpy(*pem, p, (size_t)n);
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}

/* Write the chain file when it is missing or says something else. */
static void
write_chain(const struct job *j, STACK_OF(X509) *certs, X509 *issuer,
    struct result *r)
{
	unsigned char *pem, *old = NULL;
	size_t len, oldlen = 0;

	if (j->chain == NULL)
		return;
	if (chain_pem(certs, issuer, &pem, &len) == -1)
		diag_die(EX_SOFTWARE, "out of memory");
	if (read_file(j->chain, MAX_PEM, &old, &oldlen) == 0 &&
	    oldlen == len && memcmp(old, pem, len) == 0) {
		free(old);
		free(pem);
		return;
	}
	free(old);
	if (write_atomic(j->chain, pem, len) == -1)
		set_error(r, EX_IOERR, "%s: cannot write: %s", j->chain,
		    strerror(errno));
	else
		diag_info("%s: chain written", j->chain);
	free(pem);
}

/* ---- one certificate ---- */

static int
status_rc(int cert_status)
{
	switch (cert_status) {
	case V_OCSP_CERTSTATUS_GOOD: return 0;
	case V_OCSP_CERTSTATUS_REVOKED: return 1;
	}
	return 2;
}

struct pki {
	STACK_OF(X509) *certs, *icerts;
	X509 *leaf, *issuer;
};

static void
pki_free(struct pki *p)
{
	sk_X509_pop_free(p->certs, X509_free);
	sk_X509_pop_free(p->icerts, X509_free);
}

static int
load_pki(const struct job *j, struct pki *p, struct result *r)
{
	memset(p, 0, sizeof(*p));
	if ((p->certs = load_certs(j->cert, r)) == NULL)
		return -1;
	p->leaf = sk_X509_value(p->certs, 0);
	if (j->issuer != NULL) {
		if ((p->icerts = load_certs(j->issuer, r)) == NULL)
			return -1;
		p->issuer = sk_X509_value(p->icerts, 0);
	} else if (sk_X509_num(p->certs) > 1)
		p->issuer = sk_X509_value(p->certs, 1);
	if (p->issuer == NULL) {
		set_error(r, EX_DATAERR, "%s holds no issuer certificate "
		    "after the certificate: give -i ISSUER", j->cert);
		return -1;
	}
	/* The CertID hashes the issuer's name and key: a wrong one would
	 * only get "unknown" or a mismatch from the responder. */
	if (!ocsp_issued_by(p->leaf, p->issuer)) {
		set_error(r, EX_DATAERR, "%s did not issue %s",
		    j->issuer != NULL ? j->issuer : "the second certificate",
		    j->cert);
		return -1;
	}
	return 0;
}

/* The file there now: 1 and its verdict in *v, 0 when there is none,
 * -1 when it cannot be read. */
static int
check_existing(const struct conf *c, const struct job *j,
    const struct pki *p, struct ocsp_status *st, enum ocsp_verdict *v,
    struct result *r)
{
	unsigned char *der;
	size_t len;

	if (read_file(j->out, OCSP_DER_MAX, &der, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno == EFBIG) {
			*v = OCSP_INVALID;
			return 1;
		}
		set_error(r, EX_NOINPUT, "%s: %s", j->out, strerror(errno));
		return -1;
	}
	*v = ocsp_check_der(der, len, p->leaf, p->issuer, c->extra, c->now,
	    c->skew, st);
	free(der);
	return 1;
}

static void
keep_status(struct result *r, const struct ocsp_status *st,
    enum ocsp_verdict v)
{
	if (v == OCSP_VALID || v == OCSP_STALE) {
		r->st = *st;
		r->st.error = NULL;
		r->have = 1;
	}
}

static void
do_check(const struct job *j, int there, enum ocsp_verdict v,
    const struct ocsp_status *st, struct result *r)
{
	r->action = "checked";
	if (there == 0) {
		set_error(r, EX_NOINPUT, "%s: %s", j->out, strerror(ENOENT));
		return;
	}
	keep_status(r, st, v);
	if (v != OCSP_VALID)
		set_error(r, EX_UNAVAILABLE, "%s: %s", j->out,
		    st->error != NULL ? st->error : "invalid");
	else
		r->rc = status_rc(st->cert_status);
}

static int
fetch_rc(enum ocsp_http_result hr)
{
	switch (hr) {
	case OCSP_HTTP_OK: return 0;
	case OCSP_HTTP_TEMP: return EX_TEMPFAIL;
	case OCSP_HTTP_NOMEM: return EX_SOFTWARE;
	default: return EX_UNAVAILABLE;
	}
}

/* lib/dns, set up before the first fetch only: a run that fetches
 * nothing (--check, every file fresh) needs no resolver.  A set-up that
 * fails (an unreadable --dns-zone, a --resolver that is no address) ends
 * the run with cli_dns_setup's status, OUT untouched. */
static int dns_ready;

static void
dns_setup_once(const struct cli *cli)
{
	int rc;

	if (dns_ready)
		return;
	if ((rc = cli_dns_setup(cli)) != 0) {
		fflush(stdout);
		exit(rc);
	}
	dns_ready = 1;
}

/* Fetch, verify, write.  Whatever fails, OUT stays as it was. */
static void
do_fetch(const struct conf *c, const struct job *j, const struct pki *p,
    struct result *r)
{
	struct ocsp_http h = {
		.url = r->url, .timeout = c->timeout, .nonce = c->nonce,
		.post = c->post,
	};
	enum ocsp_http_result hr;
	struct ocsp_status st;
	enum ocsp_verdict v;

	r->action = "kept";
	dns_setup_once(&c->cli);
	if ((hr = ocsp_http_fetch(&h, p->leaf, p->issuer)) != OCSP_HTTP_OK) {
		set_error(r, fetch_rc(hr), "%s: %s", r->url, h.error);
		return;
	}
	diag_info("%s: %zu bytes by %s from %s", r->url, h.len, h.method,
	    h.peer);
	v = ocsp_check_der(h.der, h.len, p->leaf, p->issuer, c->extra, c->now,
	    c->skew, &st);
	if (v != OCSP_VALID) {
		set_error(r, EX_UNAVAILABLE, "%s: response refused: %s",
		    r->url, st.error != NULL ? st.error : "invalid");
	} else if (st.cert_status == V_OCSP_CERTSTATUS_UNKNOWN) {
		/* Not a proof of anything, and a client may fail hard on a
		 * stapled "unknown": never put it in place of the old. */
		r->have = 0;
		keep_status(r, &st, v);
		set_error(r, 2, "%s: the responder does not know the "
		    "certificate (unknown); not written", r->url);
	} else if (write_atomic(j->out, h.der, h.len) == -1) {
		set_error(r, EX_IOERR, "%s: cannot write: %s", j->out,
		    strerror(errno));
	} else {
		r->have = 0;
		keep_status(r, &st, v);
		r->action = "fetched";
		r->rc = status_rc(st.cert_status);
		r->error[0] = '\0';
	}
	ocsp_http_free(&h);
}

static void
run_job(const struct conf *c, const struct job *j, struct result *r)
{
	struct ocsp_status st;
	enum ocsp_verdict v = OCSP_INVALID;
	struct pki p;
	int there;

	r->j = j;
	r->action = c->check ? "checked" : "kept";
	if (load_pki(j, &p, r) == -1) {
		pki_free(&p);
		return;
	}
	r->url = j->url != NULL ? strdup(j->url) : ocsp_url_of(p.leaf);
	if ((there = check_existing(c, j, &p, &st, &v, r)) == -1) {
		pki_free(&p);
		return;
	}
	if (c->check)
		do_check(j, there, v, &st, r);
	else if (!c->force && there && v == OCSP_VALID &&
	    !ocsp_refresh_due(&st, c->now, &c->refresh)) {
		keep_status(r, &st, v);
		r->action = "fresh";
		r->rc = status_rc(st.cert_status);
	} else {
		/* What the old file was worth, should the fetch fail. */
		if (there)
			keep_status(r, &st, v);
		if (r->url == NULL)
			set_error(r, EXIT_NO_URL, "no OCSP responder URL "
			    "in the certificate (no AIA OCSP entry; Let's "
			    "Encrypt dropped them in 2025): give -u URL, or "
			    "do without stapling");
		else
			do_fetch(c, j, &p, r);
	}
	if (!c->check && r->have && r->rc <= 1 &&
	    strcmp(r->action, "kept") != 0)
		write_chain(j, p.certs, p.issuer, r);
	pki_free(&p);
}

/* ---- output ---- */

/* Text is for a terminal: what came from a certificate or a responder
 * must not move the cursor.  Controls become '?'. */
static void
text_clean(struct out *o, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		out_text(o, "%c", (unsigned char)*s < 0x20 || *s == 0x7f ?
		    '?' : *s);
}

static void
record_vars(struct out *o, const struct result *r)
{
	const struct ocsp_status *st = &r->st;
	const char *reason = NULL;
	char t[32];

	out_str(o, "ocsp_cert", r->j->cert);
	out_str(o, "ocsp_file", r->j->out);
	out_str(o, "ocsp_url", r->url != NULL ? r->url : "");
	out_str(o, "ocsp_action", r->action);
	out_str(o, "cert_status", r->have ?
	    ocsp_cert_status_name(st->cert_status) : "");
	out_iso8601(r->have ? st->this_update : 0, t, sizeof(t));
	out_str(o, "this_update", t);
	out_iso8601(r->have ? st->next_update : 0, t, sizeof(t));
	out_str(o, "next_update", t);
	out_str(o, "responder", r->have ? st->responder : "");
	out_iso8601(r->have ? st->revocation_time : 0, t, sizeof(t));
	out_str(o, "revocation_time", t);
	if (r->have && st->cert_status == V_OCSP_CERTSTATUS_REVOKED)
		reason = ocsp_reason_name(st->revocation_reason);
	out_str(o, "revocation_reason", reason != NULL ? reason : "");
	out_str(o, "ocsp_error", r->error);
}

/* "CERT: good, fetched from URL; next update T", or what went wrong. */
static void
record_text(struct out *o, const struct result *r)
{
	const struct ocsp_status *st = &r->st;
	const char *reason;
	char t[32];

	text_clean(o, r->j->cert);
	out_text(o, ": ");
	if (r->have) {
		out_text(o, "%s", ocsp_cert_status_name(st->cert_status));
		if (st->cert_status == V_OCSP_CERTSTATUS_REVOKED) {
			out_iso8601(st->revocation_time, t, sizeof(t));
			reason = ocsp_reason_name(st->revocation_reason);
			out_text(o, " (%s%s%s)", t, reason ? ", " : "",
			    reason ? reason : "");
		}
		out_text(o, ", ");
	}
	out_text(o, "%s", r->action);
	if (strcmp(r->action, "fetched") == 0) {
		out_text(o, " from ");
		text_clean(o, r->url);
	} else if (strcmp(r->action, "kept") == 0) {
		out_text(o, " ");
		text_clean(o, r->j->out);
	}
	if (r->have) {
		out_iso8601(st->next_update, t, sizeof(t));
		out_text(o, "; next update %s", t);
	}
	if (r->error[0] != '\0') {
		out_text(o, ": ");
		text_clean(o, r->error);
	}
	out_text(o, "\n");
	if (!diag_verbose || !r->have)
		return;
	out_iso8601(st->this_update, t, sizeof(t));
	out_text(o, "  this update: %s\n  responder: ", t);
	text_clean(o, st->responder);
	out_text(o, "%s\n", st->delegated ? " (delegated)" : " (the issuer)");
}

/* Cron and systemd mail what reaches stderr: say what needs a person. */
static void
warn_result(const struct result *r)
{
	const char *reason;

	if (r->error[0] != '\0')
		diag_warn("%s: %s", r->j->cert, r->error);
	else if (r->have && r->st.cert_status == V_OCSP_CERTSTATUS_REVOKED) {
		reason = ocsp_reason_name(r->st.revocation_reason);
		diag_warn("%s: REVOKED%s%s; replace the certificate",
		    r->j->cert, reason ? ": " : "", reason ? reason : "");
	}
}

static int
emit(struct out *o, const struct result *r, int several)
{
	out_begin(o);
	if (out_get_mode(o) == OUT_TEXT)
		record_text(o, r);
	else
		record_vars(o, r);
	if (out_end(o, stdout) == -1 ||
	    (several && out_get_mode(o) == OUT_KV && putchar('\n') == EOF))
		return -1;
	return 0;
}

/* ---- main ---- */

static void
load_extra(struct conf *c)
{
	struct result r = { 0 };

	if (c->responders == NULL)
		return;
	if ((c->extra = load_certs(c->responders, &r)) == NULL)
		diag_die(r.rc, "--responder-certs: %s", r.error);
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	struct result *res;
	struct out *o;
	size_t i;
	int rc = 0;

	cli_init(&c.cli, argv, usage);
	c.refresh.percent = 10;		/* Exim's helper's default */
	c.timeout = 10;
	c.skew = OCSP_SKEW_DEFAULT;
	parse_args(&c, argc, argv);
	cli_openssl_init();
	c.now = c.cli.now != (time_t)-1 ? c.cli.now : time(NULL);
	load_extra(&c);
	if ((res = calloc(c.njobs, sizeof(*res))) == NULL ||
	    (o = out_new(c.cli.out_mode)) == NULL)
		diag_die(EX_SOFTWARE, "out of memory");
	for (i = 0; i < c.njobs; i++) {
		run_job(&c, &c.jobs[i], &res[i]);
		warn_result(&res[i]);
		if (emit(o, &res[i], c.njobs > 1) == -1)
			rc = EX_IOERR;
		if (res[i].rc > rc)
			rc = res[i].rc;
		free(res[i].url);
	}
	if (cli_stdout_done() != 0)
		rc = EX_IOERR;
	out_free(o);
	free(res);
	sk_X509_pop_free(c.extra, X509_free);
	if (dns_ready)
		dns_shutdown();
	return rc;
}
