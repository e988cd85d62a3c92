/* dmarc_report: history, aggregate XML, RFC 6591 failure reports.
 * See dmarc_report.h (the history line's format is documented there). */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "dmarc_int.h"
#include "dmarc_report.h"
#include "out.h"

#ifndef MXKIT_VERSION
#define MXKIT_VERSION "0"
#endif

#define DR_MAX_DKIM	32	/* signatures kept per history line */
#define DR_MAX_RUF	16
#define DR_MAX_ADDR	254
#define DR_MAX_FULLMSG	(256 * 1024)
#define DR_DAY		86400

/* ---- growable string ---- */

static char *
sb_take(struct out_buf *b, size_t *len)
{
	char *p;

	if (b->oom || b->p == NULL) {
		free(b->p);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	p = b->p;
	if (len != NULL)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

/* ---- small helpers ---- */

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
prefix_ci(const char *s, const char *pre)
{
	for (; *pre != '\0'; s++, pre++)
		if (lc((unsigned char)*s) != *pre)
			return 0;
	return 1;
}

static const char *
spf_word(enum spfr r)
{
	static const char *const w[] = { "pass", "fail", "softfail",
	    "neutral", "none", "permerror", "temperror" };

	return (unsigned)r < sizeof(w) / sizeof(w[0]) ? w[r] : "none";
}

static const char *
status_word(enum dmarc_status s)
{
	static const char *const w[] = { "accept", "none", "reject",
	    "quarantine", "norecord", "nofrom", "temperror", "off" };

	return (unsigned)s < sizeof(w) / sizeof(w[0]) ? w[s] : "off";
}

/* A domain name we are willing to put in a file name or a report: LDH
 * labels (and '_'), dots between them, lower or upper case. */
static int
domain_ok(const char *d)
{
	size_t i, n = strlen(d), label = 0;

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

/* What the record says for tag (p, sp, np): "none", "quarantine",
 * "reject", or "" when absent or not one of those.  Tags are matched
 * case-insensitively, values too (the record was checked by dmarc). */
static const char *
record_policy(const char *rec, const char *tag)
{
	size_t tl = strlen(tag), n;
	const char *s = rec, *e, *v;

	while (s != NULL && *s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		if (strncasecmp(s, tag, tl) == 0) {
			v = s + tl;
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=') {
				v++;
				while (*v == ' ' || *v == '\t')
					v++;
				for (e = v; *e != '\0' && *e != ';' &&
				    *e != ' ' && *e != '\t'; e++)
					;
				n = (size_t)(e - v);
				if (n == 4 && strncasecmp(v, "none", 4) == 0)
					return "none";
				if (n == 10 &&
				    strncasecmp(v, "quarantine", 10) == 0)
					return "quarantine";
				if (n == 6 && strncasecmp(v, "reject", 6) == 0)
					return "reject";
				return "";
			}
		}
		s = strchr(s, ';');
	}
	return "";
}

/* The DMARC policy words of the verdict's record, with the RFCs'
 * defaults: sp= is p=, np= is sp= when absent; p= absent (RFC 9989) or
 * unknown is the applied policy or none. */
static void
published_policy(const struct dmarc_verdict *v, const char **p,
    const char **sp, const char **np)
{
	const char *rec = nz(v->record);

	*p = record_policy(rec, "p");
	if (**p == '\0')
		*p = v->domain_policy != NULL && *v->domain_policy != '\0' &&
		    strcmp(nz(v->policy_tag), "p") == 0 ? v->domain_policy :
		    "none";
	*sp = record_policy(rec, "sp");
	if (**sp == '\0')
		*sp = *p;
	*np = record_policy(rec, "np");
	if (**np == '\0')
		*np = *sp;
}

/* ---- the history line ---- */

static int
is_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '@' ||
	    c == '+' || c == '_' || c == '-';
}

static void
sb_enc(struct out_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (; s != NULL && *s != '\0'; s++) {
		if (is_plain((unsigned char)*s)) {
			out_buf_add(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[(unsigned char)*s >> 4];
		e[2] = hex[(unsigned char)*s & 15];
		out_buf_add(b, e, 3);
	}
}

static void
sb_kv(struct out_buf *b, const char *k, const char *v)
{
	if (b->len > 0)
		out_buf_add(b, "\t", 1);
	out_buf_str(b, k);
	out_buf_add(b, "=", 1);
	sb_enc(b, v);
}

static void
sb_kvi(struct out_buf *b, const char *k, long long n)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%lld", n);
	sb_kv(b, k, tmp);
}

static int
dkim_signature_aligned(const struct dmarc_verdict *v,
    const struct dmarc_dkim *d)
{
	return v->dkim_aligned && v->dkim_aligned_domain != NULL &&
	    d->domain != NULL && d->result != NULL &&
	    strcasecmp(d->result, "pass") == 0 &&
	    strcasecmp(d->domain, v->dkim_aligned_domain) == 0;
}

static char *
history_line(const struct dmarc_verdict *v, const struct dmarc_auth *a,
    const char *ip, time_t when, size_t *len)
{
	static unsigned long counter;
	struct out_buf b = { 0 };
	const char *p, *sp, *np;
	char job[64], adkim[2] = { 0 }, aspf[2] = { 0 };
	size_t i, n;

	snprintf(job, sizeof(job), "%lld.%ld.%lu", (long long)when,
	    (long)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	published_policy(v, &p, &sp, &np);
	if (v->used_domain == NULL)
		p = sp = np = "";
	adkim[0] = v->adkim ? v->adkim : 'r';
	aspf[0] = v->aspf ? v->aspf : 'r';
	sb_kv(&b, "v", "1");
	sb_kvi(&b, "time", (long long)when);
	sb_kv(&b, "job", job);
	sb_kv(&b, "pdomain", v->used_domain);
	sb_kv(&b, "from", v->from_domain);
	sb_kv(&b, "ip", ip);
	sb_kv(&b, "status", status_word(v->status));
	sb_kv(&b, "dmarc", v->result);
	sb_kv(&b, "disposition", v->disposition);
	sb_kv(&b, "policy_tag", v->policy_tag);
	sb_kv(&b, "p", p);
	sb_kv(&b, "sp", sp);
	sb_kv(&b, "np", np);
	sb_kvi(&b, "pct", v->pct);
	sb_kv(&b, "adkim", adkim);
	sb_kv(&b, "aspf", aspf);
	sb_kv(&b, "fo", v->fo != NULL ? v->fo : "0");
	sb_kvi(&b, "sampled_out", v->sampled_out != 0);
	sb_kvi(&b, "testing", v->testing != 0);
	sb_kv(&b, "spf", a != NULL && a->have_spf ? spf_word(a->spf) : "none");
	sb_kv(&b, "spf_domain", a != NULL && a->have_spf ? a->spf_domain :
	    NULL);
	sb_kv(&b, "spf_scope", a != NULL && a->have_spf &&
	    a->spf_scope == SPF_SCOPE_HELO ? "helo" : "mfrom");
	sb_kvi(&b, "spf_aligned", v->spf_aligned != 0);
	out_buf_add(&b, "\tdkim=", 6);
	n = a != NULL ? a->ndkim : 0;
	if (n > DR_MAX_DKIM)
		n = DR_MAX_DKIM;
	/* hostile messages carry many signatures with long names: keep the
	 * line bounded by dropping the rest rather than the line */
	for (i = 0; i < n && b.len < DMARC_HISTORY_MAX_LINE / 2; i++) {
		if (i > 0)
			out_buf_add(&b, ",", 1);
		sb_enc(&b, a->dkim[i].domain);
		out_buf_add(&b, "/", 1);
		sb_enc(&b, a->dkim[i].selector);
		out_buf_add(&b, "/", 1);
		sb_enc(&b, a->dkim[i].result);
		out_buf_add(&b, dkim_signature_aligned(v, &a->dkim[i]) ? "/1" :
		    "/0", 2);
	}
	sb_kvi(&b, "dkim_aligned", v->dkim_aligned != 0);
	sb_kv(&b, "dkim_aligned_domain", v->dkim_aligned_domain);
	out_buf_add(&b, "\trua=", 5);
	for (i = 0; i < v->nrua && b.len < DMARC_HISTORY_MAX_LINE * 3 / 4;
	    i++) {
		if (i > 0)
			out_buf_add(&b, ",", 1);
		sb_enc(&b, v->rua[i]);
	}
	out_buf_add(&b, "\n", 1);
	if (!b.oom && b.len > DMARC_HISTORY_MAX_LINE) {
		out_buf_free(&b);
		return NULL;
	}
	return sb_take(&b, len);
}

int
dmarc_history_append(const char *path, const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, time_t when,
    const char **why)
{
	const char *dummy;
	char *line;
	size_t len, off = 0;
	ssize_t w;
	int fd, err = 0;

	if (why == NULL)
		why = &dummy;
	if (path == NULL || v == NULL) {
		*why = "no history file or verdict";
		return -1;
	}
	if ((line = history_line(v, a, ip, when, &len)) == NULL) {
		*why = "history line too long, or out of memory";
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		*why = strerror(errno);
		free(line);
		return -1;
	}
	/* O_APPEND makes each write land at the end; the lock keeps a
	 * reader (or a writer on a file system where O_APPEND is not atomic,
	 * NFS) from seeing half a line. */
	while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
		;
	while (off < len) {
		w = write(fd, line + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w == -1 ? errno : EIO;
			break;
		}
		off += (size_t)w;
	}
	(void)flock(fd, LOCK_UN);
	if (close(fd) == -1 && err == 0)
		err = errno;
	free(line);
	if (err != 0) {
		*why = strerror(err);
		return -1;
	}
	return 0;
}

/* ---- reading the history ---- */

struct hdkim {
	char	*domain, *selector, *result;
	int	 aligned;
};

struct hline {
	long long	 time;
	char		*pdomain, *from, *ip, *disposition, *p, *sp, *fo;
	char		*spf, *spf_domain, *spf_scope;
	char		 adkim, aspf;
	int		 pct, sampled_out, testing, spf_aligned, dkim_aligned;
	struct hdkim	 dkim[DR_MAX_DKIM];
	size_t		 ndkim;
	int		 has_rua;
	/* the merge key: the fields a row shows, as encoded in the line */
	char		*rowkey;
};

static void
hline_free(struct hline *h)
{
	size_t i;

	free(h->pdomain);
	free(h->from);
	free(h->ip);
	free(h->disposition);
	free(h->p);
	free(h->sp);
	free(h->fo);
	free(h->spf);
	free(h->spf_domain);
	free(h->spf_scope);
	for (i = 0; i < h->ndkim; i++) {
		free(h->dkim[i].domain);
		free(h->dkim[i].selector);
		free(h->dkim[i].result);
	}
	free(h->rowkey);
	memset(h, 0, sizeof(*h));
}

/* Percent-decode s[0..n); NULL on a bad escape or a NUL byte. */
static char *
pct_decode(const char *s, size_t n)
{
	char *d;
	size_t i, j = 0;
	int hi, lo;

	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			d[j++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			free(d);
			return NULL;
		}
		hi = out_hex_value((unsigned char)s[i + 1]);
		lo = out_hex_value((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(d);
			return NULL;
		}
		d[j++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[j] = '\0';
	return d;
}

static int
parse_flag(const char *v, size_t n, int *out)
{
	if (n != 1 || (v[0] != '0' && v[0] != '1'))
		return -1;
	*out = v[0] == '1';
	return 0;
}

static int
parse_num(const char *v, size_t n, long long max, long long *out)
{
	long long x = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

/* d/s/r/a,d/s/r/a,... */
static const char *
parse_dkim_list(const char *v, size_t n, struct hline *h)
{
	const char *e = v + n, *item, *iend, *part[4];
	size_t plen[4], k;
	struct hdkim *d;

	while (v < e) {
		item = v;
		iend = memchr(v, ',', (size_t)(e - v));
		if (iend == NULL)
			iend = e;
		v = iend < e ? iend + 1 : e;
		if (h->ndkim >= DR_MAX_DKIM)
			return "too many dkim items";
		for (k = 0; k < 4; k++) {
			const char *slash = memchr(item, '/',
			    (size_t)(iend - item));

			part[k] = item;
			if (k < 3 && slash == NULL)
				return "malformed dkim item";
			plen[k] = (size_t)((k < 3 ? slash : iend) - item);
			item = k < 3 ? slash + 1 : iend;
		}
		d = &h->dkim[h->ndkim];
		if ((d->domain = pct_decode(part[0], plen[0])) == NULL ||
		    (d->selector = pct_decode(part[1], plen[1])) == NULL ||
		    (d->result = pct_decode(part[2], plen[2])) == NULL) {
			h->ndkim++;	/* hline_free frees what is there */
			return "bad escape in a dkim item";
		}
		h->ndkim++;
		if (parse_flag(part[3], plen[3], &d->aligned) == -1)
			return "malformed dkim item";
	}
	return NULL;
}

static const char *
set_str(char **dst, const char *v, size_t n)
{
	free(*dst);
	if ((*dst = pct_decode(v, n)) == NULL)
		return "bad %-escape";
	return NULL;
}

static const char *
parse_field(struct hline *h, const char *k, size_t kn, const char *v,
    size_t vn, int *seen_v)
{
	long long x;

#define KEY(s) (kn == sizeof(s) - 1 && memcmp(k, s, kn) == 0)
	if (KEY("v")) {
		if (vn != 1 || v[0] != '1')
			return "unknown history version";
		*seen_v = 1;
	} else if (KEY("time")) {
		if (parse_num(v, vn, (long long)1 << 40, &x) == -1)
			return "bad time";
		h->time = x;
	} else if (KEY("pdomain"))
		return set_str(&h->pdomain, v, vn);
	else if (KEY("from"))
		return set_str(&h->from, v, vn);
	else if (KEY("ip"))
		return set_str(&h->ip, v, vn);
	else if (KEY("disposition"))
		return set_str(&h->disposition, v, vn);
	else if (KEY("p"))
		return set_str(&h->p, v, vn);
	else if (KEY("sp"))
		return set_str(&h->sp, v, vn);
	else if (KEY("fo"))
		return set_str(&h->fo, v, vn);
	else if (KEY("spf"))
		return set_str(&h->spf, v, vn);
	else if (KEY("spf_domain"))
		return set_str(&h->spf_domain, v, vn);
	else if (KEY("spf_scope"))
		return set_str(&h->spf_scope, v, vn);
	else if (KEY("pct")) {
		if (parse_num(v, vn, 100, &x) == -1)
			return "bad pct";
		h->pct = (int)x;
	} else if (KEY("adkim") || KEY("aspf")) {
		if (vn != 1 || (v[0] != 'r' && v[0] != 's'))
			return "bad alignment mode";
		*(KEY("adkim") ? &h->adkim : &h->aspf) = v[0];
	} else if (KEY("sampled_out")) {
		if (parse_flag(v, vn, &h->sampled_out) == -1)
			return "bad sampled_out";
	} else if (KEY("testing")) {
		if (parse_flag(v, vn, &h->testing) == -1)
			return "bad testing";
	} else if (KEY("spf_aligned")) {
		if (parse_flag(v, vn, &h->spf_aligned) == -1)
			return "bad spf_aligned";
	} else if (KEY("dkim_aligned")) {
		if (parse_flag(v, vn, &h->dkim_aligned) == -1)
			return "bad dkim_aligned";
	} else if (KEY("dkim"))
		return parse_dkim_list(v, vn, h);
	else if (KEY("rua"))
		h->has_rua = vn > 0;
#undef KEY
	return NULL;
}

/* The fields a report row shows, joined: two lines merge when these are
 * the same.  Built from the decoded values, each encoded again, so the
 * key is unambiguous. */
static char *
row_key(const struct hline *h)
{
	struct out_buf b = { 0 };
	size_t i;

	sb_kv(&b, "ip", h->ip);
	sb_kv(&b, "d", h->disposition);
	sb_kvi(&b, "da", h->dkim_aligned);
	sb_kvi(&b, "sa", h->spf_aligned);
	sb_kvi(&b, "so", h->sampled_out);
	sb_kvi(&b, "t", h->testing);
	sb_kv(&b, "f", h->from);
	sb_kv(&b, "s", h->spf);
	sb_kv(&b, "sd", h->spf_domain);
	sb_kv(&b, "ss", h->spf_scope);
	for (i = 0; i < h->ndkim; i++) {
		sb_kv(&b, "k", h->dkim[i].domain);
		out_buf_add(&b, "/", 1);
		sb_enc(&b, h->dkim[i].selector);
		out_buf_add(&b, "/", 1);
		sb_enc(&b, h->dkim[i].result);
	}
	return sb_take(&b, NULL);
}

/* One history line into h; NULL, or why it is malformed. */
static const char *
parse_line(char *line, size_t len, struct hline *h)
{
	const char *f, *fe, *eq, *e = line + len, *err;
	int seen_v = 0;

	memset(h, 0, sizeof(*h));
	h->pct = 100;
	h->adkim = h->aspf = 'r';
	for (f = line; f < e; f = fe + 1) {
		fe = memchr(f, '\t', (size_t)(e - f));
		if (fe == NULL)
			fe = e;
		if ((eq = memchr(f, '=', (size_t)(fe - f))) == NULL)
			return "field without '='";
		if ((err = parse_field(h, f, (size_t)(eq - f), eq + 1,
		    (size_t)(fe - eq - 1), &seen_v)) != NULL)
			return err;
	}
	if (!seen_v)
		return "no v=1";
	if (h->pdomain != NULL && *h->pdomain != '\0' &&
	    !domain_ok(h->pdomain))
		return "pdomain is not a domain";
	if ((h->rowkey = row_key(h)) == NULL)
		return "out of memory";
	return NULL;
}

/* ---- grouping ---- */

struct row {
	struct hline	 h;	/* the first line of the row */
	unsigned long	 count;
	size_t		 next;	/* next row of the group, or SIZE_MAX */
};

struct group {
	char		*pdomain;
	long long	 begin, end;
	struct hline	 policy;	/* the last line (policy_published) */
	size_t		 first, last;	/* rows, in first-seen order */
};

struct slot {
	uint64_t	 hash;
	char		*key;	/* NULL: empty */
	size_t		 idx;
};

struct table {
	struct slot	*s;
	size_t		 cap, n;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The slot of key: found (key set), or where it would go. */
static struct slot *
table_find(struct table *t, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->s[i].key != NULL && (t->s[i].hash != h ||
	    strcmp(t->s[i].key, key) != 0))
		i = (i + 1) & (t->cap - 1);
	return &t->s[i];
}

static int
table_grow(struct table *t)
{
	struct table nt;
	size_t i;
	struct slot *s;

	if (t->cap != 0 && t->n * 2 < t->cap)
		return 0;
	nt.cap = t->cap ? t->cap * 2 : 64;
	nt.n = t->n;
	if ((nt.s = calloc(nt.cap, sizeof(*nt.s))) == NULL)
		return -1;
	for (i = 0; i < t->cap; i++)
		if (t->s[i].key != NULL) {
			s = table_find(&nt, t->s[i].key, t->s[i].hash);
			*s = t->s[i];
		}
	free(t->s);
	*t = nt;
	return 0;
}

static void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->s[i].key);
	free(t->s);
	memset(t, 0, sizeof(*t));
}

struct agg {
	struct group	*g;
	size_t		 ng, capg;
	struct row	*r;
	size_t		 nr, capr;
	struct table	 gt, rt;
};

static void
agg_free(struct agg *a)
{
	size_t i;

	for (i = 0; i < a->ng; i++) {
		free(a->g[i].pdomain);
		hline_free(&a->g[i].policy);
	}
	for (i = 0; i < a->nr; i++)
		hline_free(&a->r[i].h);
	free(a->g);
	free(a->r);
	table_free(&a->gt);
	table_free(&a->rt);
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *np;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	if ((np = realloc(*p, nc * size)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* Take h (moved: the caller must not free it) into its group and row. */
static int
agg_add(struct agg *a, struct hline *h, long long begin, long long end)
{
	char gkey[300], *rkey = NULL;
	struct slot *s;
	struct group *g;
	struct row *r;
	uint64_t hash;
	size_t gi;

	snprintf(gkey, sizeof(gkey), "%s!%lld", h->pdomain, begin);
	if (table_grow(&a->gt) == -1)
		return -1;
	hash = fnv1a(gkey);
	s = table_find(&a->gt, gkey, hash);
	if (s->key == NULL) {
		if (grow((void **)&a->g, &a->capg, a->ng, sizeof(*a->g)) == -1)
			return -1;
		g = &a->g[a->ng];
		memset(g, 0, sizeof(*g));
		if ((g->pdomain = strdup(h->pdomain)) == NULL ||
		    (s->key = strdup(gkey)) == NULL) {
			free(g->pdomain);
			return -1;
		}
		g->begin = begin;
		g->end = end;
		g->first = g->last = SIZE_MAX;
		s->hash = hash;
		s->idx = a->ng++;
		a->gt.n++;
	}
	gi = s->idx;
	g = &a->g[gi];

	if (table_grow(&a->rt) == -1 ||
	    asprintf(&rkey, "%s\n%s", gkey, h->rowkey) == -1)
		return -1;
	hash = fnv1a(rkey);
	s = table_find(&a->rt, rkey, hash);
	if (s->key != NULL) {
		free(rkey);
		a->r[s->idx].count++;
		/* the newest policy is the one published */
		hline_free(&g->policy);
		g->policy = *h;
		memset(h, 0, sizeof(*h));
		return 0;
	}
	if (grow((void **)&a->r, &a->capr, a->nr, sizeof(*a->r)) == -1) {
		free(rkey);
		return -1;
	}
	s->key = rkey;
	s->hash = hash;
	s->idx = a->nr;
	a->rt.n++;
	r = &a->r[a->nr];
	r->h = *h;
	r->count = 1;
	r->next = SIZE_MAX;
	if (g->last == SIZE_MAX)
		g->first = a->nr;
	else
		a->r[g->last].next = a->nr;
	g->last = a->nr++;
	/* a copy of the policy fields for policy_published */
	hline_free(&g->policy);
	memset(h, 0, sizeof(*h));
	g->policy.adkim = r->h.adkim;
	g->policy.aspf = r->h.aspf;
	g->policy.pct = r->h.pct;
	if ((r->h.p && (g->policy.p = strdup(r->h.p)) == NULL) ||
	    (r->h.sp && (g->policy.sp = strdup(r->h.sp)) == NULL) ||
	    (r->h.fo && (g->policy.fo = strdup(r->h.fo)) == NULL))
		return -1;
	return 0;
}

/* ---- XML ---- */

/* Length of the valid UTF-8 sequence at s (at most n), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		k = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		k = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	c = s[0] & (0x7F >> k);
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && (c < 0x10000 ||
	    c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF) ||
	    c == 0xFFFE || c == 0xFFFF)
		return 0;
	return k;
}

/* s escaped for XML character data; what XML 1.0 cannot carry (controls,
 * invalid UTF-8) becomes '?'. */
static void
xml_text(struct out_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)nz(s);
	size_t n = strlen((const char *)p), k;

	while (n > 0) {
		switch (*p) {
		case '&':
			out_buf_str(b, "&amp;");
			break;
		case '<':
			out_buf_str(b, "&lt;");
			break;
		case '>':
			out_buf_str(b, "&gt;");
			break;
		case '"':
			out_buf_str(b, "&quot;");
			break;
		case '\'':
			out_buf_str(b, "&apos;");
			break;
		default:
			if (*p < 0x20 || *p == 0x7F) {
				out_buf_add(b, "?", 1);
				break;
			}
			if ((k = utf8_len(p, n)) == 0) {
				out_buf_add(b, "?", 1);
				break;
			}
			out_buf_add(b, (const char *)p, k);
			p += k;
			n -= k;
			continue;
		}
		p++;
		n--;
	}
}

static void
xml_elem(struct out_buf *b, const char *indent, const char *name,
    const char *value)
{
	out_buf_str(b, indent);
	out_buf_printf(b, "<%s>", name);
	xml_text(b, value);
	out_buf_printf(b, "</%s>\n", name);
}

/* One of the words in list, or dflt. */
static const char *
one_of(const char *w, const char *const *list, const char *dflt)
{
	size_t i;

	for (i = 0; w != NULL && list[i] != NULL; i++)
		if (strcasecmp(w, list[i]) == 0)
			return list[i];
	return dflt;
}

static const char *const dispositions[] = { "none", "quarantine", "reject",
    NULL };
static const char *const dkim_results[] = { "none", "pass", "fail",
    "policy", "neutral", "temperror", "permerror", NULL };
static const char *const spf_results[] = { "none", "neutral", "pass",
    "fail", "softfail", "temperror", "permerror", NULL };

/* The source address as the schema's pattern wants it: dotted quad, or
 * eight groups of hex for IPv6 (IPv4-mapped ones as IPv4). */
static void
source_ip(const char *ip, char *out, size_t size)
{
	unsigned char a6[16];
	struct in_addr a4;

	if (ip != NULL && inet_pton(AF_INET, ip, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, (socklen_t)size);
		return;
	}
	if (ip != NULL && inet_pton(AF_INET6, ip, a6) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a6, mapped, 12) == 0) {
			snprintf(out, size, "%u.%u.%u.%u", a6[12], a6[13],
			    a6[14], a6[15]);
			return;
		}
		snprintf(out, size, "%x:%x:%x:%x:%x:%x:%x:%x",
		    a6[0] << 8 | a6[1], a6[2] << 8 | a6[3], a6[4] << 8 | a6[5],
		    a6[6] << 8 | a6[7], a6[8] << 8 | a6[9],
		    a6[10] << 8 | a6[11], a6[12] << 8 | a6[13],
		    a6[14] << 8 | a6[15]);
		return;
	}
	snprintf(out, size, "0.0.0.0");
}

static void
xml_row(struct out_buf *b, const struct row *r)
{
	const struct hline *h = &r->h;
	char ip[64];
	size_t i;
	int mfrom = h->spf_scope == NULL || strcmp(h->spf_scope, "helo") != 0;

	source_ip(h->ip, ip, sizeof(ip));
	out_buf_str(b, "  <record>\n    <row>\n");
	xml_elem(b, "      ", "source_ip", ip);
	out_buf_printf(b, "      <count>%lu</count>\n", r->count);
	out_buf_str(b, "      <policy_evaluated>\n");
	xml_elem(b, "        ", "disposition",
	    one_of(h->disposition, dispositions, "none"));
	xml_elem(b, "        ", "dkim", h->dkim_aligned ? "pass" : "fail");
	xml_elem(b, "        ", "spf", h->spf_aligned ? "pass" : "fail");
	if (h->sampled_out)
		out_buf_str(b, "        <reason>\n"
		    "          <type>sampled_out</type>\n"
		    "        </reason>\n");
	if (h->testing)
		out_buf_str(b, "        <reason>\n"
		    "          <type>other</type>\n"
		    "          <comment>testing mode (t=y): policy applied "
		    "one step lower</comment>\n"
		    "        </reason>\n");
	out_buf_str(b, "      </policy_evaluated>\n    </row>\n");
	out_buf_str(b, "    <identifiers>\n");
	xml_elem(b, "      ", "envelope_from", mfrom ? h->spf_domain : "");
	xml_elem(b, "      ", "header_from", h->from);
	out_buf_str(b, "    </identifiers>\n    <auth_results>\n");
	for (i = 0; i < h->ndkim; i++) {
		out_buf_str(b, "      <dkim>\n");
		xml_elem(b, "        ", "domain", h->dkim[i].domain);
		if (h->dkim[i].selector != NULL && *h->dkim[i].selector)
			xml_elem(b, "        ", "selector",
			    h->dkim[i].selector);
		xml_elem(b, "        ", "result", one_of(h->dkim[i].result,
		    dkim_results, "permerror"));
		out_buf_str(b, "      </dkim>\n");
	}
	/* the schema wants at least one SPF result */
	out_buf_str(b, "      <spf>\n");
	xml_elem(b, "        ", "domain", h->spf_domain != NULL &&
	    *h->spf_domain != '\0' ? h->spf_domain : h->from);
	xml_elem(b, "        ", "scope", mfrom ? "mfrom" : "helo");
	xml_elem(b, "        ", "result", one_of(h->spf, spf_results, "none"));
	out_buf_str(b, "      </spf>\n    </auth_results>\n  </record>\n");
}

static char *
xml_report(const struct agg *a, const struct group *g,
    const struct dmarc_agg_opts *o, const char *report_id, size_t *len)
{
	struct out_buf b = { 0 };
	const struct hline *p = &g->policy;
	size_t i;
	char tmp[2] = { 0 };

	out_buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<dmarc:feedback xmlns:dmarc=\"http://dmarc.org/dmarc-xml/0.1\">\n"
	    "  <version>1.0</version>\n  <report_metadata>\n");
	xml_elem(&b, "    ", "org_name", o->org);
	xml_elem(&b, "    ", "email", o->email);
	if (o->extra_contact != NULL)
		xml_elem(&b, "    ", "extra_contact_info", o->extra_contact);
	xml_elem(&b, "    ", "report_id", report_id);
	out_buf_printf(&b, "    <date_range>\n      <begin>%lld</begin>\n"
	    "      <end>%lld</end>\n    </date_range>\n", g->begin, g->end);
	out_buf_str(&b, "  </report_metadata>\n  <policy_published>\n");
	xml_elem(&b, "    ", "domain", g->pdomain);
	tmp[0] = p->adkim == 's' ? 's' : 'r';
	xml_elem(&b, "    ", "adkim", tmp);
	tmp[0] = p->aspf == 's' ? 's' : 'r';
	xml_elem(&b, "    ", "aspf", tmp);
	xml_elem(&b, "    ", "p", one_of(p->p, dispositions, "none"));
	xml_elem(&b, "    ", "sp", one_of(p->sp != NULL && *p->sp ? p->sp :
	    p->p, dispositions, "none"));
	out_buf_printf(&b, "    <pct>%d</pct>\n", p->pct);
	xml_elem(&b, "    ", "fo", p->fo != NULL && *p->fo ? p->fo : "0");
	out_buf_str(&b, "  </policy_published>\n");
	for (i = g->first; i != SIZE_MAX; i = a->r[i].next)
		xml_row(&b, &a->r[i]);
	out_buf_str(&b, "</dmarc:feedback>\n");
	return sb_take(&b, len);
}

static _Thread_local char agg_why[512];

static int
agg_fail(const char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
agg_fail(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(agg_why, sizeof(agg_why), fmt, ap);
	va_end(ap);
	*why = agg_why;
	return -1;
}

static int
cmp_group(const void *x, const void *y)
{
	const struct group *a = x, *b = y;
	int c = strcmp(a->pdomain, b->pdomain);

	if (c != 0)
		return c;
	return (a->begin > b->begin) - (a->begin < b->begin);
}

/* Write one report to dir/name atomically (temporary file, rename). */
static int
write_file(const char *dir, const char *name, const char *data, size_t len,
    const char **why)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int ok;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path) || (size_t)snprintf(tmp, sizeof(tmp),
	    "%s/.%s.%ld.tmp", dir, name, (long)getpid()) >= sizeof(tmp))
		return agg_fail(why, "%s: file name too long", dir);
	if ((f = fopen(tmp, "we")) == NULL)
		return agg_fail(why, "%s: %s", tmp, strerror(errno));
	ok = fwrite(data, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) == -1) {
		agg_fail(why, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
agg_read(struct agg *a, FILE *f, const char *history,
    const struct dmarc_agg_opts *o, const char **why)
{
	struct hline h;
	char *line = NULL;
	size_t cap = 0, lineno = 0, len;
	ssize_t n;
	const char *err;
	long long begin, end;
	int rc = 0;

	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (len > DMARC_HISTORY_MAX_LINE) {
			rc = agg_fail(why, "%s:%zu: line too long", history,
			    lineno);
			break;
		}
		if (memchr(line, '\0', len) != NULL) {
			rc = agg_fail(why, "%s:%zu: NUL byte", history, lineno);
			break;
		}
		if ((err = parse_line(line, len, &h)) != NULL) {
			hline_free(&h);
			rc = agg_fail(why, "%s:%zu: %s", history, lineno, err);
			break;
		}
		/* only messages whose policy domain asked for reports */
		if (h.pdomain == NULL || *h.pdomain == '\0' || !h.has_rua) {
			hline_free(&h);
			continue;
		}
		if (o->begin == 0 && o->end == 0) {
			begin = h.time - h.time % DR_DAY;
			end = begin + DR_DAY - 1;
		} else if (h.time < o->begin || h.time >= o->end) {
			hline_free(&h);
			continue;
		} else {
			begin = o->begin;
			end = o->end;
		}
		if (agg_add(a, &h, begin, end) == -1) {
			hline_free(&h);
			rc = agg_fail(why, "out of memory");
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = agg_fail(why, "%s: %s", history, strerror(errno));
	free(line);
	return rc;
}

int
dmarc_aggregate(const char *history, const struct dmarc_agg_opts *o,
    FILE *out, const char **why)
{
	struct agg a = { 0 };
	const char *dummy, *at, *receiver;
	char name[600], *xml;
	size_t i, len;
	FILE *f;
	int rc, count = 0;

	if (why == NULL)
		why = &dummy;
	if (history == NULL || o == NULL || o->org == NULL ||
	    o->email == NULL || (o->outdir == NULL && out == NULL))
		return agg_fail(why, "aggregate: missing history, org, email "
		    "or output");
	if (o->begin != 0 || o->end != 0) {
		if (o->end <= o->begin)
			return agg_fail(why, "aggregate: the period ends "
			    "before it begins");
	}
	receiver = o->receiver;
	if (receiver == NULL)
		receiver = (at = strrchr(o->email, '@')) != NULL ? at + 1 :
		    o->email;
	if (!domain_ok(receiver))
		return agg_fail(why, "aggregate: receiver \"%.200s\" is not "
		    "a domain name", receiver);
	if ((f = fopen(history, "re")) == NULL)
		return agg_fail(why, "%s: %s", history, strerror(errno));
	rc = agg_read(&a, f, history, o, why);
	fclose(f);
	if (rc == -1) {
		agg_free(&a);
		return -1;
	}
	if (a.ng > 1)
		qsort(a.g, a.ng, sizeof(*a.g), cmp_group);
	for (i = 0; i < a.ng; i++) {
		/* the RFC 7489 7.2.1.1 file name, also the report id */
		snprintf(name, sizeof(name), "%s!%s!%lld!%lld", receiver,
		    a.g[i].pdomain, a.g[i].begin, a.g[i].end);
		if ((xml = xml_report(&a, &a.g[i], o, name, &len)) == NULL) {
			agg_free(&a);
			return agg_fail(why, "out of memory");
		}
		strcat(name, ".xml");
		if (o->outdir != NULL)
			rc = write_file(o->outdir, name, xml, len, why);
		else if (fwrite(xml, 1, len, out) != len)
			rc = agg_fail(why, "writing the report: %s",
			    strerror(errno));
		free(xml);
		if (rc == -1) {
			agg_free(&a);
			return -1;
		}
		count++;
	}
	agg_free(&a);
	return count;
}

/* ---- failure reports ---- */

static int
fo_has(const char *fo, char opt)
{
	const char *s;

	for (s = fo != NULL ? fo : "0"; *s != '\0'; s++)
		if (lc((unsigned char)*s) == opt && (s[1] == '\0' ||
		    s[1] == ':' || s[1] == ' ' || s[1] == '\t') &&
		    (s == fo || s[-1] == ':' || s[-1] == ' ' ||
		    s[-1] == '\t'))
			return 1;
	return 0;
}

static int
word_is(const char *w, const char *a, const char *b)
{
	return w != NULL && (strcasecmp(w, a) == 0 || strcasecmp(w, b) == 0);
}

int
dmarc_forensic_wanted(const struct dmarc_verdict *v,
    const struct dmarc_auth *a)
{
	const char *fo;
	size_t i;

	if (v == NULL || v->nruf == 0)
		return 0;
	switch (v->status) {
	case DMARC_ACCEPT:
	case DMARC_NONE:
	case DMARC_REJECT:
	case DMARC_QUARANTINE:
		break;
	default:
		return 0;
	}
	fo = v->fo != NULL && *v->fo != '\0' ? v->fo : "0";
	if (fo_has(fo, '0') && !v->spf_aligned && !v->dkim_aligned)
		return 1;
	if (fo_has(fo, '1') && (!v->spf_aligned || !v->dkim_aligned))
		return 1;
	if (fo_has(fo, 'd') && a != NULL)
		for (i = 0; i < a->ndkim; i++)
			if (word_is(a->dkim[i].result, "fail", "permerror"))
				return 1;
	if (fo_has(fo, 's') && a != NULL && a->have_spf &&
	    (a->spf == SPFR_FAIL || a->spf == SPFR_PERMERROR))
		return 1;
	return 0;
}

static int
addr_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && strchr("\"(),:;<>[\\]", c) == NULL;
}

/* A plain local@domain, nothing that could break a header field or an
 * argument list. */
static int
addr_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t n = strlen(s);

	if (n == 0 || n > DR_MAX_ADDR || at == NULL || at == s ||
	    s[0] == '-' || strchr(s, '@') != at || !domain_ok(at + 1))
		return 0;
	for (; *s != '\0'; s++)
		if (!addr_char((unsigned char)*s))
			return 0;
	return 1;
}

/* RFC 7489 6.4: size = 1*DIGIT [ "k" / "m" / "g" / "t" ]. */
static int
is_size_limit(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && (s[n] == '\0' || (strchr("kmgtKMGT", s[n]) != NULL &&
	    s[n + 1] == '\0'));
}

/* "mailto:ADDR[?query][!size]" -> ADDR decoded, or NULL. */
static char *
mailto_addr(const char *u, size_t n)
{
	char *raw, *addr, *cut;

	while (n > 0 && (*u == ' ' || *u == '\t')) {
		u++;
		n--;
	}
	while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
		n--;
	if (n < 8 || !prefix_ci(u, "mailto:"))
		return NULL;
	u += 7;
	n -= 7;
	if ((raw = strndup(u, n)) == NULL)
		return NULL;
	/* the size limit ends the URI: '!', digits, an optional unit */
	if ((cut = strrchr(raw, '!')) != NULL && is_size_limit(cut + 1))
		*cut = '\0';
	if ((cut = strchr(raw, '?')) != NULL)
		*cut = '\0';
	addr = pct_decode(raw, strlen(raw));
	free(raw);
	if (addr != NULL && !addr_ok(addr)) {
		free(addr);
		addr = NULL;
	}
	return addr;
}

char **
dmarc_mailto_list(char *const *uris, size_t nuris)
{
	char **out, *addr;
	const char *s, *e;
	size_t i, j, n = 0;
	int dup;

	if (uris == NULL || nuris == 0)
		return NULL;
	if ((out = calloc(DR_MAX_RUF + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; i < nuris && n < DR_MAX_RUF; i++) {
		for (s = nz(uris[i]); *s != '\0' && n < DR_MAX_RUF; s = e) {
			if ((e = strchr(s, ',')) == NULL)
				e = s + strlen(s);
			if ((addr = mailto_addr(s, (size_t)(e - s))) != NULL) {
				for (dup = 0, j = 0; j < n; j++)
					dup |= strcasecmp(out[j], addr) == 0;
				if (dup)
					free(addr);
				else
					out[n++] = addr;
			}
			if (*e == ',')
				e++;
		}
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

char **
dmarc_ruf_addresses(const struct dmarc_verdict *v)
{
	return v != NULL ? dmarc_mailto_list(v->ruf, v->nruf) : NULL;
}

static void
rfc5322_date(time_t when, char *buf, size_t size)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL) {
		snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* s made safe for a header field value: printable US-ASCII only, at most
 * max bytes. */
static void
sb_safe(struct out_buf *b, const char *s, size_t max)
{
	size_t i;
	char c;

	for (i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		c = s[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		else if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
			c = '?';
		out_buf_add(b, &c, 1);
	}
}

/* "Name: value" folded at spaces so that no line passes 78 columns when
 * it can be helped (and 998 never: long words are cut). */
static void
sb_field(struct out_buf *b, const char *name, const char *value)
{
	struct out_buf v = { 0 };
	size_t col, i, w;
	const char *s;

	sb_safe(&v, value, 8000);
	if (v.oom) {
		b->oom = 1;
		out_buf_free(&v);
		return;
	}
	out_buf_str(b, name);
	out_buf_add(b, ":", 1);
	col = strlen(name) + 1;
	s = v.p != NULL ? v.p : "";
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		for (w = 0; s[w] != '\0' && s[w] != ' '; w++)
			;
		if (w > 900)
			w = 900;
		if (col + 1 + w > 78 && col > 1) {
			out_buf_str(b, "\r\n\t");
			col = 8;
		} else {
			out_buf_add(b, " ", 1);
			col++;
		}
		for (i = 0; i < w; i++)
			out_buf_add(b, s + i, 1);
		col += w;
		s += w;
	}
	out_buf_str(b, "\r\n");
	out_buf_free(&v);
}

/* The end of the header section of msg (the blank line's start), or
 * msglen when there is none. */
static size_t
header_end(const char *msg, size_t msglen)
{
	size_t i;

	if (msglen > 0 && msg[0] == '\n')
		return 0;
	if (msglen > 1 && msg[0] == '\r' && msg[1] == '\n')
		return 0;
	for (i = 0; i + 1 < msglen; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 1;
		if (msg[i + 1] == '\r' && i + 2 < msglen && msg[i + 2] == '\n')
			return i + 1;
	}
	return msglen;
}

/* The address in the message's first Return-Path field, or NULL. */
static char *
return_path(const char *msg, size_t hlen)
{
	size_t i = 0, j;
	const char *lt, *gt;
	char *a;

	while (i < hlen) {
		if (hlen - i > 12 && strncasecmp(msg + i, "Return-Path:",
		    12) == 0) {
			for (j = i + 12; j < hlen && msg[j] != '\n'; j++)
				;
			lt = memchr(msg + i, '<', j - i);
			gt = lt ? memchr(lt, '>', (size_t)(msg + j - lt)) : NULL;
			if (lt == NULL || gt == NULL || gt - lt < 2)
				return NULL;
			if ((a = strndup(lt + 1, (size_t)(gt - lt - 1))) ==
			    NULL)
				return NULL;
			if (!addr_ok(a)) {
				free(a);
				return NULL;
			}
			return a;
		}
		while (i < hlen && msg[i] != '\n')
			i++;
		i++;
	}
	return NULL;
}

/* 7-bit, no NUL, lines of at most 998 characters: can travel as
 * message/rfc822 with 7bit encoding. */
static int
sevenbit_clean(const char *s, size_t n)
{
	size_t i, line = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c >= 0x80)
			return 0;
		if (c == '\n')
			line = 0;
		else if (c != '\r' && ++line > 998)
			return 0;
	}
	return 1;
}

/* s[0..n) with every line ending made CRLF (bare CR dropped). */
static void
sb_crlf(struct out_buf *b, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			out_buf_add(b, s + start, i - start);
			start = i + 1;
		} else if (s[i] == '\n') {
			out_buf_add(b, s + start, i - start);
			out_buf_add(b, "\r\n", 2);
			start = i + 1;
		}
	}
	out_buf_add(b, s + start, n - start);
	if (n > 0 && s[n - 1] != '\n')
		out_buf_add(b, "\r\n", 2);
}

/* RFC 2045 quoted-printable of s[0..n), line breaks kept as CRLF. */
static void
sb_qp(struct out_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;
	unsigned char c;
	char e[3];
	int wsp_end;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\r')
			continue;
		if (c == '\n') {
			out_buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		/* whitespace before a line end must be encoded */
		wsp_end = (c == ' ' || c == '\t') && (i + 1 == n ||
		    s[i + 1] == '\r' || s[i + 1] == '\n');
		if (c == '=' || c >= 0x7F || (c < 0x20 && c != '\t') ||
		    wsp_end) {
			if (col + 3 > 75) {
				out_buf_add(b, "=\r\n", 3);
				col = 0;
			}
			e[0] = '=';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			out_buf_add(b, e, 3);
			col += 3;
		} else {
			if (col + 1 > 75) {
				out_buf_add(b, "=\r\n", 3);
				col = 0;
			}
			out_buf_add(b, (const char *)&c, 1);
			col++;
		}
	}
	if (n > 0 && s[n - 1] != '\n')
		out_buf_add(b, "\r\n", 2);
}

static const char *
delivery_result(const struct dmarc_verdict *v)
{
	const char *d = nz(v->disposition);

	if (strcmp(d, "reject") == 0)
		return "reject";
	if (strcmp(d, "quarantine") == 0)
		return "spam";
	return "delivered";
}

/* The value of v->ar_header without its field name. */
static const char *
ar_value(const struct dmarc_verdict *v)
{
	const char *s = nz(v->ar_header), *c;

	if (prefix_ci(s, "authentication-results") &&
	    (c = strchr(s, ':')) != NULL)
		s = c + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void
report_headers(struct out_buf *b, const struct dmarc_verdict *v,
    const char *ip, const char *sender, char **to, time_t when,
    const char *boundary)
{
	static unsigned long counter;
	char date[64], tmp[600];
	const char *host = strrchr(sender, '@');
	struct out_buf list = { 0 };
	size_t i;

	rfc5322_date(when, date, sizeof(date));
	sb_field(b, "From", sender);
	for (i = 0; to[i] != NULL; i++) {
		if (i > 0)
			out_buf_str(&list, ", ");
		out_buf_str(&list, to[i]);
	}
	sb_field(b, "To", nz(list.p));
	out_buf_free(&list);
	snprintf(tmp, sizeof(tmp), "DMARC failure report for %.253s%s%.64s",
	    nz(v->from_domain), ip != NULL ? " from " : "", nz(ip));
	sb_field(b, "Subject", tmp);
	sb_field(b, "Date", date);
	snprintf(tmp, sizeof(tmp), "<dmarc-report.%lld.%ld.%lu@%.253s>",
	    (long long)when, (long)getpid(),
	    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED),
	    host != NULL ? host + 1 : authres_default_id());
	sb_field(b, "Message-ID", tmp);
	sb_field(b, "MIME-Version", "1.0");
	sb_field(b, "Auto-Submitted", "auto-generated");
	out_buf_printf(b, "Content-Type: multipart/report; "
	    "report-type=feedback-report;\r\n\tboundary=\"%s\"\r\n", boundary);
	out_buf_str(b, "\r\nThis is a multi-part message in MIME format.\r\n");
}

static void
report_text(struct out_buf *b, const struct dmarc_verdict *v, const char *ip,
    time_t when)
{
	char date[64];
	struct out_buf t = { 0 };

	rfc5322_date(when, date, sizeof(date));
	out_buf_str(&t, "This is an authentication failure report for a "
	    "message received from IP address ");
	sb_safe(&t, ip != NULL ? ip : "(unknown)", 64);
	out_buf_str(&t, " on ");
	out_buf_str(&t, date);
	out_buf_str(&t, ".\r\n\r\nAuthor (From:) domain: ");
	sb_safe(&t, v->from_domain, 253);
	out_buf_str(&t, "\r\nDMARC result: ");
	sb_safe(&t, v->result, 16);
	out_buf_str(&t, " (");
	sb_safe(&t, status_word(v->status), 16);
	out_buf_str(&t, ")\r\nPolicy domain: ");
	sb_safe(&t, v->used_domain, 253);
	out_buf_str(&t, "\r\nPublished policy: ");
	sb_safe(&t, v->domain_policy, 16);
	out_buf_str(&t, "\r\nDisposition: ");
	sb_safe(&t, v->disposition, 16);
	out_buf_str(&t, "\r\nSPF aligned: ");
	out_buf_str(&t, v->spf_aligned ? "yes" : "no");
	out_buf_str(&t, "\r\nDKIM aligned: ");
	out_buf_str(&t, v->dkim_aligned ? "yes" : "no");
	out_buf_str(&t, "\r\n");
	if (t.oom)
		b->oom = 1;
	else
		out_buf_add(b, t.p, t.len);
	out_buf_free(&t);
}

static void
report_feedback(struct out_buf *b, const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, const char *msg,
    size_t hlen, time_t when)
{
	char date[64], *mf;
	const char *align;
	size_t i;

	(void)a;
	rfc5322_date(when, date, sizeof(date));
	sb_field(b, "Feedback-Type", "auth-failure");
	sb_field(b, "User-Agent", "mxkit-dmarceval/" MXKIT_VERSION);
	sb_field(b, "Version", "1");
	if ((mf = return_path(msg, hlen)) != NULL) {
		out_buf_str(b, "Original-Mail-From: <");
		sb_safe(b, mf, DR_MAX_ADDR);
		out_buf_str(b, ">\r\n");
		free(mf);
	}
	sb_field(b, "Arrival-Date", date);
	if (ip != NULL && *ip != '\0')
		sb_field(b, "Source-IP", ip);
	sb_field(b, "Reported-Domain", nz(v->from_domain));
	if (v->ar_header != NULL)
		sb_field(b, "Authentication-Results", ar_value(v));
	if (v->spf_aligned && v->dkim_aligned)
		align = "dkim, spf";
	else if (v->dkim_aligned)
		align = "dkim";
	else if (v->spf_aligned)
		align = "spf";
	else
		align = "none";
	sb_field(b, "Identity-Alignment", align);
	sb_field(b, "Delivery-Result", delivery_result(v));
	sb_field(b, "Auth-Failure", "dmarc");
	/* the first failed signature, for fo=d readers (RFC 6591 3.1) */
	for (i = 0; a != NULL && i < a->ndkim; i++)
		if (word_is(a->dkim[i].result, "fail", "permerror") &&
		    a->dkim[i].domain != NULL && domain_ok(a->dkim[i].domain)) {
			sb_field(b, "DKIM-Domain", a->dkim[i].domain);
			if (a->dkim[i].selector != NULL &&
			    domain_ok(a->dkim[i].selector))
				sb_field(b, "DKIM-Selector",
				    a->dkim[i].selector);
			break;
		}
}

/* A boundary that occurs nowhere in the message. */
static void
make_boundary(char *buf, size_t size, const char *msg, size_t msglen,
    time_t when)
{
	unsigned long salt = (unsigned long)getpid();

	do {
		snprintf(buf, size, "=_mxkit-dmarc-%llx-%lx",
		    (unsigned long long)when, salt);
		salt = salt * 2654435761UL + 1;
	} while (memmem(msg, msglen, buf, strlen(buf)) != NULL);
}

char *
dmarc_forensic_report(const struct dmarc_verdict *v,
    const struct dmarc_auth *a, const char *ip, const char *sender,
    const char *msg, size_t msglen, time_t when, size_t *len,
    const char **why)
{
	struct out_buf b = { 0 };
	char **to, boundary[80], dflt[300];
	const char *dummy, *c, *dropped = NULL;
	size_t hlen, i;
	char *out;

	if (why == NULL)
		why = &dummy;
	if (v == NULL || (msg == NULL && msglen > 0)) {
		*why = "no verdict";
		return NULL;
	}
	if (msg == NULL)
		msg = "";
	if (sender == NULL) {
		snprintf(dflt, sizeof(dflt), "postmaster@%s",
		    authres_default_id());
		sender = dflt;
	}
	for (c = sender; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7F) {
			*why = "the report's sender holds control or 8-bit "
			    "characters";
			return NULL;
		}
	if (*sender == '\0' || strlen(sender) > DR_MAX_ADDR) {
		*why = "bad report sender";
		return NULL;
	}
	if (ip != NULL && (strlen(ip) > 64 || strpbrk(ip, "\r\n") != NULL))
		ip = NULL;
	/* Only destinations that agreed to get them (RFC 7489 7.1). */
	if ((to = dmarc_verified_addresses(v, 1, &dropped)) == NULL) {
		*why = dropped != NULL ? dropped : "no ruf= mailto address";
		return NULL;
	}
	hlen = header_end(msg, msglen);
	make_boundary(boundary, sizeof(boundary), msg, msglen, when);
	report_headers(&b, v, ip, sender, to, when, boundary);
	for (i = 0; to[i] != NULL; i++)
		free(to[i]);
	free(to);

	out_buf_printf(&b, "\r\n--%s\r\n", boundary);
	out_buf_str(&b, "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n");
	report_text(&b, v, ip, when);

	out_buf_printf(&b, "\r\n--%s\r\n", boundary);
	out_buf_str(&b, "Content-Type: message/feedback-report\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\n");
	report_feedback(&b, v, a, ip, msg, hlen, when);

	out_buf_printf(&b, "\r\n--%s\r\n", boundary);
	if (msglen <= DR_MAX_FULLMSG && sevenbit_clean(msg, msglen)) {
		out_buf_str(&b, "Content-Type: message/rfc822\r\n"
		    "Content-Disposition: inline\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n");
		sb_crlf(&b, msg, msglen);
	} else if (sevenbit_clean(msg, hlen)) {
		out_buf_str(&b, "Content-Type: text/rfc822-headers\r\n"
		    "Content-Disposition: inline\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n");
		sb_crlf(&b, msg, hlen);
	} else {
		out_buf_str(&b, "Content-Type: text/rfc822-headers; "
		    "charset=utf-8\r\n"
		    "Content-Disposition: inline\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		sb_qp(&b, msg, hlen);
	}
	out_buf_printf(&b, "\r\n--%s--\r\n", boundary);
	if ((out = sb_take(&b, len)) == NULL)
		*why = "out of memory";
	else
		*why = dropped;	/* NULL, or the ruf= addresses left out */
	return out;
}
