/* dkimsign: sign a message (or every message of an mbox) with one
 * DKIM-Signature per -d, prepended to the unchanged message.  Options and
 * I/O only; the signing is lib/dkim's.  See man/dkimsign.1. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "diag.h"
#include "dkim.h"
#include "filter.h"
#include "mbox.h"
#include "msg.h"

#define MAX_SIGNERS	16

static const char usage[] =
"usage: dkimsign -d DOMAIN -s SELECTOR -k KEYFILE [options] [FILE]\n"
"       dkimsign --keygen rsa|ed25519 [--bits N] -d DOMAIN -s SEL -k OUTFILE\n"
"Prepend DKIM-Signature field(s) to the message; the message is unchanged.\n"
"  -d, --domain DOMAIN    signing domain d=; repeat for several signatures\n"
"  -s, --selector SEL     selector s=; one for every -d, or one per -d\n"
"  -k, --key FILE         private key (PEM, RSA or Ed25519); one or one per -d\n"
"  -i, --identity ID      i= (@d or @sub.d); one or one per -d\n"
"  -c, --canon H[/B]      simple|relaxed (default relaxed/relaxed)\n"
"  -H, --headers LIST     Exim list, e.g. \"from:to:=received:+subject\"\n"
"  -l, --body-length      add l=           -x, --expire SECS  add x=t+SECS\n"
"  -z, --copy-headers     add z=           -T, --no-timestamp omit t=\n"
"      --strict           cannot sign: write nothing, exit 75\n"
"                         (default: warn, pass the message on unsigned)\n"
"      --mbox             FILE is an mboxrd archive: sign every message\n"
"      --now EPOCH        signing time\n"
"      --keygen TYPE      new key into -k (mode 0600); print its TXT record\n"
"      --bits N           RSA key size for --keygen (default 2048)\n"
"  -v, --verbose   -h, --help   -V, --version\n"
"      --resolver, --dns-zone, --dns-timeout: accepted, not used\n"
"Exit: 0 written (signed, or unsigned without --strict), 64 usage,\n"
"      66 cannot open FILE, 73 key file exists, 75 not signed with --strict\n";

enum {
	OPT_STRICT = CLI_OPT_PROG, OPT_KEYGEN, OPT_BITS
};

static const struct option longopts[] = {
	{ "domain", required_argument, NULL, 'd' },
	{ "selector", required_argument, NULL, 's' },
	{ "key", required_argument, NULL, 'k' },
	{ "identity", required_argument, NULL, 'i' },
	{ "canon", required_argument, NULL, 'c' },
	{ "headers", required_argument, NULL, 'H' },
	{ "body-length", no_argument, NULL, 'l' },
	{ "expire", required_argument, NULL, 'x' },
	{ "copy-headers", no_argument, NULL, 'z' },
	{ "no-timestamp", no_argument, NULL, 'T' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "keygen", required_argument, NULL, OPT_KEYGEN },
	{ "bits", required_argument, NULL, OPT_BITS },
	CLI_LONGOPTS,
	CLI_LONGOPT_NOW,
	CLI_LONGOPT_MBOX,
	{ NULL, 0, NULL, 0 }
};

struct list {
	const char *v[MAX_SIGNERS];
	size_t n;
};

struct conf {
	struct cli cli;
	struct list dom, sel, key, ident;
	enum dkim_canon hcanon, bcanon;
	const char *headers;
	int body_length, copy_headers, timestamp, strict;
	long long expire;
	time_t now;		/* --now, else the time at start */
	const char *keygen;
	int bits;
	const char *input;
	/* One per -d; a NULL key is a signature that will not be made. */
	struct dkim_signer signer[MAX_SIGNERS];
	size_t nsigners;
};

static void
list_add(struct list *l, const char *v, const char *opt)
{
	if (*v == '\0')
		cli_usage_error("%s: empty value", opt);
	if (l->n == MAX_SIGNERS)
		cli_usage_error("%s: more than %d given", opt, MAX_SIGNERS);
	l->v[l->n++] = v;
}

static int
canon_word(const char *s, size_t n, enum dkim_canon *c)
{
	if (n == 6 && strncmp(s, "simple", 6) == 0)
		*c = DKIM_SIMPLE;
	else if (n == 7 && strncmp(s, "relaxed", 7) == 0)
		*c = DKIM_RELAXED;
	else
		return -1;
	return 0;
}

/* "H" (both the same, as Exim's dkim_canon) or "H/B". */
static void
parse_canon(struct conf *c, const char *arg)
{
	const char *slash = strchr(arg, '/');
	size_t hn = slash ? (size_t)(slash - arg) : strlen(arg);

	if (canon_word(arg, hn, &c->hcanon) == -1 ||
	    canon_word(slash ? slash + 1 : arg,
	    slash ? strlen(slash + 1) : hn, &c->bcanon) == -1)
		cli_usage_error("-c: %s: expected simple or relaxed, "
		    "optionally /simple or /relaxed", arg);
}

static void
parse_args(struct conf *c, int argc, char **argv)
{
	int ch;

	while ((ch = getopt_long(argc, argv, CLI_SHORTOPTS "d:s:k:i:c:H:lx:zT",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': list_add(&c->dom, optarg, "-d"); break;
		case 's': list_add(&c->sel, optarg, "-s"); break;
		case 'k': list_add(&c->key, optarg, "-k"); break;
		case 'i': list_add(&c->ident, optarg, "-i"); break;
		case 'c': parse_canon(c, optarg); break;
		case 'H': c->headers = optarg; break;
		case 'l': c->body_length = 1; break;
		case 'x':
			c->expire = (long long)cli_number(optarg, 1,
			    CLI_MAX_EPOCH, "-x");
			break;
		case 'z': c->copy_headers = 1; break;
		case 'T': c->timestamp = 0; break;
		case OPT_STRICT: c->strict = 1; break;
		case OPT_KEYGEN: c->keygen = optarg; break;
		case OPT_BITS:
			c->bits = (int)cli_number(optarg, 1024, 16384,
			    "--bits");
			break;
		default:
			if (!cli_option(&c->cli, ch, optarg))
				cli_usage_error("unknown option");
		}
	}
	if (argc - optind > 1)
		cli_usage_error("one FILE at most");
	c->input = optind < argc ? argv[optind] : NULL;
}

static const char *
nth(const struct list *l, size_t i)
{
	if (l->n == 0)
		return NULL;
	return l->v[l->n == 1 ? 0 : i];
}

static void
check_pairing(const struct conf *c)
{
	size_t i;

	if (c->dom.n == 0)
		cli_usage_error("-d DOMAIN is required");
	if (c->sel.n != 1 && c->sel.n != c->dom.n)
		cli_usage_error("-s: give one, or one per -d (%zu)", c->dom.n);
	if (c->key.n != 1 && c->key.n != c->dom.n)
		cli_usage_error("-k: give one, or one per -d (%zu)", c->dom.n);
	if (c->ident.n > 1 && c->ident.n != c->dom.n)
		cli_usage_error("-i: give one, or one per -d (%zu)", c->dom.n);
	/* A typo in -i is a usage error rather than a message signed with
	 * a signature that cannot verify. */
	for (i = 0; i < c->dom.n; i++) {
		const char *id = nth(&c->ident, i);

		if (id != NULL && !dkim_identity_within(id, c->dom.v[i]))
			cli_usage_error("-i %s: not @%s or @a subdomain of it",
			    id, c->dom.v[i]);
	}
}

/* Load each distinct key file once.  A key that cannot be used leaves
 * its signers without a key: --strict stops here, otherwise they are
 * skipped with a warning. */
static void
load_keys(struct conf *c)
{
	EVP_PKEY *loaded[MAX_SIGNERS] = { NULL };
	const char *why;
	size_t i, j;

	for (i = 0; i < c->key.n; i++) {
		/* The same file given twice is one key, loaded once. */
		for (j = 0; j < i; j++)
			if (strcmp(c->key.v[i], c->key.v[j]) == 0)
				break;
		if (j < i) {
			if ((loaded[i] = loaded[j]) != NULL)
				EVP_PKEY_up_ref(loaded[i]);
			continue;
		}
		why = NULL;
		if ((loaded[i] = dkim_load_private_key(c->key.v[i], &why))
		    == NULL) {
			if (c->strict)
				diag_die(EX_TEMPFAIL, "%s: %s", c->key.v[i],
				    why ? why : "cannot load key");
			diag_warn("%s: %s; not signing with it", c->key.v[i],
			    why ? why : "cannot load key");
			continue;
		}
		if (dkim_key_weak(loaded[i]))
			diag_warn("%s: RSA key of %d bits; RFC 8301 says %d "
			    "or more", c->key.v[i], dkim_key_bits(loaded[i]),
			    DKIM_RSA_RECOMMENDED_BITS);
	}
	for (i = 0; i < c->dom.n; i++) {
		struct dkim_signer *s = &c->signer[i];

		s->domain = c->dom.v[i];
		s->selector = nth(&c->sel, i);
		s->key = loaded[c->key.n == 1 ? 0 : i];
		if (s->key != NULL)
			EVP_PKEY_up_ref(s->key);
		s->hcanon = c->hcanon;
		s->bcanon = c->bcanon;
		s->headers = c->headers;
		s->identity = nth(&c->ident, i);
		s->body_length = c->body_length;
		s->expire_secs = c->expire;
		s->copy_headers = c->copy_headers;
		s->timestamp = c->timestamp;
	}
	c->nsigners = c->dom.n;
	for (i = 0; i < c->key.n; i++)
		EVP_PKEY_free(loaded[i]);
}

static void
free_fields(char **fields, size_t n)
{
	while (n > 0)
		free(fields[--n]);
}

/* Sign one message.  0 with fields[0..*nf) made (possibly none, each
 * failure warned about), or -1 when --strict and a signature could not be
 * made (diagnostic printed, nothing kept).  where prefixes diagnostics. */
static int
sign_message(const struct conf *c, const char *buf, size_t len,
    const char *where, char **fields, size_t *nf)
{
	struct msg m = { 0 };
	const char *why = NULL, *eol = filter_eol(buf, len);
	size_t i;

	*nf = 0;
	if (msg_parse(&m, buf, len, &why) == -1) {
		diag_warn("%s%scannot parse: %s", where, *where ? ": " : "",
		    why ? why : strerror(errno));
		msg_free(&m);
		return c->strict ? -1 : 0;
	}
	for (i = 0; i < c->nsigners; i++) {
		const struct dkim_signer *s = &c->signer[i];
		char *f = NULL;

		if (s->key == NULL)
			continue;
		why = NULL;
		if (dkim_sign(&m, s, c->now, eol, &f, &why) == -1) {
			diag_warn("%s%sd=%s s=%s: cannot sign: %s", where,
			    *where ? ": " : "", s->domain, s->selector,
			    why ? why : strerror(errno));
			if (c->strict) {
				free_fields(fields, *nf);
				*nf = 0;
				msg_free(&m);
				return -1;
			}
			continue;
		}
		diag_info("%s%sd=%s s=%s: signed", where, *where ? ": " : "",
		    s->domain, s->selector);
		fields[(*nf)++] = f;
	}
	msg_free(&m);
	return 0;
}

static int
sign_one(const struct conf *c)
{
	char *buf = NULL, *fields[MAX_SIGNERS];
	size_t len, skip, nf;
	int rc;

	/* Nothing was written: the delivery agent may retry. */
	if ((rc = filter_load(c->input, &buf, &len)) != 0)
		return rc == EX_NOINPUT ? EX_NOINPUT : EX_TEMPFAIL;
	/* A From_ line on top is not signed; filter_emit keeps it first. */
	skip = filter_from_line(buf, len);
	if (sign_message(c, buf + skip, len - skip, "", fields, &nf) == -1) {
		free(buf);
		return EX_TEMPFAIL;
	}
	rc = filter_emit(STDOUT_FILENO, fields, nf, buf, len);
	free_fields(fields, nf);
	free(buf);
	return rc;
}

/* Signed message = fields + original, as one buffer for mbox_write. */
static int
write_mbox_message(FILE *out, const struct cli_msg *m, char **fields,
    size_t nf)
{
	size_t i, total = m->len, at = 0;
	char *buf;
	int rc;

	if (nf == 0)
		return mbox_write(out, m->from_line, m->data, m->len);
	for (i = 0; i < nf; i++)
		total += strlen(fields[i]);
	if ((buf = malloc(total + 1)) == NULL)
		return -1;
	for (i = 0; i < nf; i++) {
		size_t n = strlen(fields[i]);

		memcpy(buf + at, fields[i], n);
		at += n;
	}
	if (m->len > 0)
		memcpy(buf + at, m->data, m->len);
	rc = mbox_write(out, m->from_line, buf, total);
	free(buf);
	return rc;
}

static int
copy_stream(FILE *from, FILE *to)
{
	char chunk[65536];
	size_t n;

	rewind(from);
	while ((n = fread(chunk, 1, sizeof(chunk), from)) > 0)
		if (fwrite(chunk, 1, n, to) != n)
			return -1;
	return ferror(from) ? -1 : 0;
}

struct mbox_run {
	const struct conf *c;
	FILE *out;		/* stdout, or the --strict spool */
	int rc;			/* the first failure's exit status */
};

/* One message of the archive and its signatures. */
struct signed_msg {
	struct cli_msg m;
	char *fields[MAX_SIGNERS];
	size_t nf;
	int failed;		/* --strict and not signed */
};

static void
sign_work(void *arg, struct cli_msg *m)
{
	const struct mbox_run *r = arg;
	struct signed_msg *s = (struct signed_msg *)m;
	char where[48];

	snprintf(where, sizeof(where), "message %lu", m->index);
	s->failed = sign_message(r->c, m->data, m->len, where, s->fields,
	    &s->nf) == -1;
}

static int
sign_emit(void *arg, struct cli_msg *m)
{
	struct mbox_run *r = arg;
	struct signed_msg *s = (struct signed_msg *)m;

	if (r->rc == 0 && s->failed)
		r->rc = EX_TEMPFAIL;
	else if (r->rc == 0 &&
	    write_mbox_message(r->out, m, s->fields, s->nf) == -1) {
		diag_warn("output: %s", strerror(errno));
		r->rc = r->c->strict ? EX_TEMPFAIL : EX_IOERR;
	}
	free_fields(s->fields, s->nf);
	return r->rc != 0 ? -1 : 0;
}

/* --mbox: sign each message.  With --strict the output is spooled to a
 * temporary file so that a failure part way writes nothing. */
static int
sign_mbox(const struct conf *c)
{
	struct mbox_run r = { c, stdout, 0 };
	struct cli_batch b = {
		.msg_size = sizeof(struct signed_msg),
		.work = sign_work,
		.emit = sign_emit,
		.arg = &r,
	};
	int rc, err;

	if (c->strict && (r.out = tmpfile()) == NULL)
		diag_die(EX_TEMPFAIL, "temporary file: %s", strerror(errno));
	rc = cli_batch_mbox(&b, c->input, MBOX_RD);
	if (r.rc != 0)
		rc = r.rc;
	if (c->strict) {
		if (rc == 0 && (fflush(r.out) == EOF ||
		    copy_stream(r.out, stdout) == -1)) {
			diag_warn("output: %s", strerror(errno));
			rc = EX_TEMPFAIL;
		}
		fclose(r.out);
	}
	if ((err = cli_stdout_done()) != 0 && rc == 0)
		rc = err;
	return rc;
}

/* --keygen: the private key goes to a new file only its owner can read;
 * an existing file is never overwritten. */
static int
keygen(const struct conf *c)
{
	const char *why = NULL, *out;
	EVP_PKEY *pkey;
	char *record;
	FILE *fp;
	int fd, ok;

	if (c->dom.n != 1 || c->sel.n != 1 || c->key.n != 1)
		cli_usage_error("--keygen needs one -d, one -s and one -k");
	if (strcmp(c->keygen, "rsa") != 0 && strcmp(c->keygen, "ed25519") != 0)
		cli_usage_error("--keygen: %s: expected rsa or ed25519",
		    c->keygen);
	if (c->bits != 0 && strcmp(c->keygen, "rsa") != 0)
		cli_usage_error("--bits: only for rsa keys");
	if (c->input != NULL || c->cli.mbox || c->ident.n > 0)
		cli_usage_error("--keygen takes no FILE, --mbox or -i");
	out = c->key.v[0];
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		diag_die(EX_CANTCREAT, "%s: %s", out, strerror(errno));
	if (c->bits > 0 && c->bits < DKIM_RSA_RECOMMENDED_BITS)
		diag_warn("--bits %d: RFC 8301 says %d or more", c->bits,
		    DKIM_RSA_RECOMMENDED_BITS);
	if ((pkey = dkim_keygen(c->keygen, c->bits ? c->bits : 2048, &why))
	    == NULL || (fp = fdopen(fd, "w")) == NULL) {
		unlink(out);
		diag_die(EX_SOFTWARE, "%s: %s", out,
		    why ? why : "cannot generate the key");
	}
	ok = fchmod(fd, 0600) == 0 &&
	    PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(fp) == EOF)
		ok = 0;
	if (!ok) {
		unlink(out);
		diag_die(EX_IOERR, "%s: cannot write the key", out);
	}
	if ((record = dkim_key_zone_record(pkey, c->dom.v[0], c->sel.v[0]))
	    == NULL)
		diag_die(EX_SOFTWARE, "cannot format the key record");
	printf("%s\n", record);
	free(record);
	EVP_PKEY_free(pkey);
	if ((ok = cli_flush_stdout()) != 0)
		diag_die(EX_IOERR, "stdout: %s", strerror(ok));
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf c = { 0 };
	size_t i;
	int rc;

	cli_init(&c.cli, argv, usage);
	/* Start-up cost matters: one process per message under procmail. */
	cli_openssl_init();
	c.hcanon = c.bcanon = DKIM_RELAXED;
	c.timestamp = 1;
	parse_args(&c, argc, argv);
	if (c.keygen != NULL)
		return keygen(&c);
	if (c.bits != 0)
		cli_usage_error("--bits: only with --keygen");
	check_pairing(&c);
	c.now = c.cli.now != (time_t)-1 ? c.cli.now : time(NULL);
	load_keys(&c);
	rc = c.cli.mbox ? sign_mbox(&c) : sign_one(&c);
	for (i = 0; i < c.nsigners; i++)
		EVP_PKEY_free(c.signer[i].key);
	return rc;
}
