/* dmarc: DMARC for one message (see dmarc.h for the layers around
 * libopendmarc).
 *
 * RFC 7489 mode: the record at _dmarc.FROM, else at _dmarc.ORG with ORG
 * from the Public Suffix List (libopendmarc's opendmarc_get_tld over the
 * list loaded by dmarc_init); libopendmarc gets From, record, SPF and DKIM
 * and decides (opendmarc_get_policy_to_enforce); pct sampling is ours.
 *
 * RFC 9989 mode: the DNS tree walk (dmarc_walk.c) finds the policy record
 * and the Organizational Domains; alignment and the choice of p/sp/np are
 * computed here, then t=y lowers the disposition one step.  The record
 * still goes through libopendmarc (store_dmarc), which gives back p, sp,
 * adkim, aspf, pct, rua and ruf.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <opendmarc/dmarc.h>

#include "authres.h"
#include "dmarc_int.h"
#include "idn.h"

/* Exported by libopendmarc 1.4.2 but left out of its public header. */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

#define DMARC_MAX_DKIM	64	/* signatures kept in a struct dmarc_auth */
#define DMARC_MAX_WALKS	10	/* tree walks per message (From, SPF, DKIM) */

static struct {
	pthread_mutex_t lock;
	enum dmarc_mode mode;
	int psl_loaded;
	int seeded;
	uint64_t rng;
	char *authserv_id;
	char why[1200];
} g = { PTHREAD_MUTEX_INITIALIZER, DMARC_RFC9989, 0, 0, 0, NULL, "" };

const char *
dmarc_status_name(enum dmarc_status s)
{
	static const char *const names[] = { "accept", "none", "reject",
	    "quarantine", "norecord", "nofrom", "temperror", "off" };

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "temperror";
}

int
dmarc_status_exit(enum dmarc_status s)
{
	switch (s) {
	case DMARC_ACCEPT:
	case DMARC_NONE:
	case DMARC_OFF:
		return 0;
	case DMARC_REJECT:
		return 1;
	case DMARC_QUARANTINE:
		return 2;
	case DMARC_NORECORD:
	case DMARC_NOFROM:
		return 3;
	case DMARC_TEMPERROR:
		break;
	}
	return 75;
}

enum dmarc_mode
dmarc_cur_mode(void)
{
	return g.mode;
}

/* ---- set-up ---- */

void
dmarc_shutdown(void)
{
	pthread_mutex_lock(&g.lock);
	if (g.psl_loaded)
		opendmarc_tld_shutdown();
	g.psl_loaded = 0;
	free(g.authserv_id);
	g.authserv_id = NULL;
	g.mode = DMARC_RFC9989;
	g.seeded = 0;
	pthread_mutex_unlock(&g.lock);
}

int
dmarc_init(const struct dmarc_opts *o, const char **why)
{
	static const struct dmarc_opts defaults = { DMARC_RFC9989, NULL, 0, 0,
	    NULL };
	char path[MAXPATHLEN];
	struct stat sb;
	FILE *fp;
	int rc;

	dmarc_shutdown();
	if (o == NULL)
		o = &defaults;
	pthread_mutex_lock(&g.lock);
	g.mode = o->mode;
	g.seeded = o->seeded;
	g.rng = o->seed;
	if (o->authserv_id != NULL &&
	    (g.authserv_id = strdup(o->authserv_id)) == NULL) {
		pthread_mutex_unlock(&g.lock);
		*why = "out of memory";
		return -1;
	}
	if (o->mode == DMARC_RFC7489) {
		snprintf(path, sizeof(path), "%s",
		    o->psl != NULL ? o->psl : DMARC_DEFAULT_PSL);
		/* libopendmarc leaks its table when fopen fails: look
		 * first. */
		if ((fp = fopen(path, "r")) == NULL ||
		    fstat(fileno(fp), &sb) == -1 || !S_ISREG(sb.st_mode)) {
			snprintf(g.why, sizeof(g.why), "%.1024s: %s", path,
			    fp == NULL ? strerror(errno) : "not a file");
			if (fp != NULL)
				fclose(fp);
			pthread_mutex_unlock(&g.lock);
			*why = g.why;
			return -1;
		}
		fclose(fp);
		if ((rc = opendmarc_tld_read_file(path, "//", "*.", "!")) != 0) {
			snprintf(g.why, sizeof(g.why), "%.1024s: %s", path,
			    rc == 1 ? "cannot load the list" : strerror(rc));
			pthread_mutex_unlock(&g.lock);
			*why = g.why;
			return -1;
		}
		g.psl_loaded = 1;
	}
	pthread_mutex_unlock(&g.lock);
	return 0;
}

/* A number in [0, 100) for pct sampling: splitmix64 over the seed when
 * seeded (reproducible runs), fresh entropy otherwise. */
static unsigned
draw100(void)
{
	uint64_t x = 0;

	pthread_mutex_lock(&g.lock);
	if (g.seeded) {
		g.rng += 0x9e3779b97f4a7c15ULL;
		x = g.rng;
	} else if (getentropy(&x, sizeof(x)) != 0)
		x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)clock();
	pthread_mutex_unlock(&g.lock);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (unsigned)(x % 100);
}

/* ---- what SPF and DKIM said ---- */

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
dmarc_auth_set_spf(struct dmarc_auth *a, enum spfr r, const char *domain,
    enum spf_scope scope)
{
	char *d;

	if ((d = dup_or_empty(domain)) == NULL)
		return -1;
	free(a->spf_domain);
	a->spf_domain = d;
	a->spf = r;
	a->spf_scope = scope;
	a->have_spf = 1;
	return 0;
}

int
dmarc_auth_add_dkim(struct dmarc_auth *a, const char *domain,
    const char *selector, const char *result)
{
	struct dmarc_dkim *k, n;

	if (a->ndkim >= DMARC_MAX_DKIM)
		return 0;	/* more signatures than anyone signs with */
	n.domain = dup_or_empty(domain);
	n.selector = dup_or_empty(selector);
	n.result = dup_or_empty(result);
	k = n.domain && n.selector && n.result ?
	    realloc(a->dkim, (a->ndkim + 1) * sizeof(*k)) : NULL;
	if (k == NULL) {
		free(n.domain);
		free(n.selector);
		free(n.result);
		return -1;
	}
	a->dkim = k;
	a->dkim[a->ndkim++] = n;
	return 0;
}

void
dmarc_auth_clear(struct dmarc_auth *a)
{
	size_t i;

	free(a->spf_domain);
	for (i = 0; i < a->ndkim; i++) {
		free(a->dkim[i].domain);
		free(a->dkim[i].selector);
		free(a->dkim[i].result);
	}
	free(a->dkim);
	memset(a, 0, sizeof(*a));
}

static enum spfr
spf_word(const char *w, int *ok)
{
	static const char *const words[SPFR_COUNT] = { "pass", "fail",
	    "softfail", "neutral", "none", "permerror", "temperror" };
	int i;

	*ok = 1;
	for (i = 0; i < SPFR_COUNT; i++)
		if (strcasecmp(w, words[i]) == 0)
			return (enum spfr)i;
	if (strcasecmp(w, "hardfail") == 0)	/* RFC 8601 2.7.2, legacy */
		return SPFR_FAIL;
	*ok = 0;
	return SPFR_NONE;
}

static const char *
spf_name(enum spfr r)
{
	static const char *const words[SPFR_COUNT] = { "pass", "fail",
	    "softfail", "neutral", "none", "permerror", "temperror" };

	return (unsigned)r < SPFR_COUNT ? words[r] : "none";
}

static int
dkim_word_ok(const char *w)
{
	static const char *const words[] = { "pass", "fail", "policy",
	    "neutral", "temperror", "permerror", "none", NULL };
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(w, words[i]) == 0)
			return 1;
	return 0;
}

static const char *
prop_value(const struct authres_result *r, const char *ptype,
    const char *property)
{
	size_t i;

	for (i = 0; i < r->nprops; i++)
		if (strcasecmp(r->props[i].ptype, ptype) == 0 &&
		    strcasecmp(r->props[i].property, property) == 0)
			return r->props[i].value;
	return NULL;
}

/* The domain of "local@domain", "@domain" or "domain". */
static const char *
after_at(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL ? at + 1 : s;
}

static int
take_results(struct dmarc_auth *a, const struct authres_parsed *p,
    int *spf_from_mailfrom)
{
	const struct authres_result *r;
	const char *d, *s;
	enum spfr sr;
	size_t i;
	int ok;

	for (i = 0; i < p->n; i++) {
		r = &p->r[i];
		if (strcmp(r->method, "spf") == 0) {
			sr = spf_word(r->result, &ok);
			if (!ok || *spf_from_mailfrom)
				continue;
			if ((d = prop_value(r, "smtp", "mailfrom")) != NULL) {
				if (dmarc_auth_set_spf(a, sr, after_at(d),
				    SPF_SCOPE_MFROM) == -1)
					return -1;
				*spf_from_mailfrom = 1;
			} else if (!a->have_spf &&
			    (d = prop_value(r, "smtp", "helo")) != NULL) {
				if (dmarc_auth_set_spf(a, sr, d,
				    SPF_SCOPE_HELO) == -1)
					return -1;
			}
		} else if (strcmp(r->method, "dkim") == 0) {
			if (!dkim_word_ok(r->result))
				continue;
			d = prop_value(r, "header", "d");
			if (d == NULL && (d = prop_value(r, "header", "i"))
			    != NULL)
				d = after_at(d);
			if (d == NULL || *d == '\0')
				continue;
			s = prop_value(r, "header", "s");
			if (dmarc_auth_add_dkim(a, d, s, r->result) == -1)
				return -1;
		}
	}
	return 0;
}

int
dmarc_auth_from_authres(struct dmarc_auth *a, const struct msg *m,
    const char *trusted_id, const char **why)
{
	struct authres_parsed p;
	const struct msg_field *f;
	size_t i;
	int from_mailfrom = 0, rc;

	if (trusted_id == NULL || *trusted_id == '\0') {
		*why = "no trusted authserv-id";
		return -1;
	}
	for (i = 0; i < m->nfields; i++) {
		f = &m->fields[i];
		if (!msg_field_is(f, "Authentication-Results"))
			continue;
		/* Only fields that claim the trusted id are read at all. */
		if (!authres_claims(f->value, f->value_len, trusted_id))
			continue;
		memset(&p, 0, sizeof(p));
		if (authres_parse(f->value, f->value_len, &p, why) == -1)
			return -1;
		rc = 0;
		if (p.authserv_id != NULL &&
		    strcasecmp(p.authserv_id, trusted_id) == 0)
			rc = take_results(a, &p, &from_mailfrom);
		authres_parsed_free(&p);
		if (rc == -1) {
			*why = "out of memory";
			return -1;
		}
	}
	return 0;
}

/* ---- evaluation ---- */

struct ev {
	const char *from;
	const struct dmarc_auth *a;
	struct dmarc_verdict *v;
	struct dmarc_memo memo;
	struct {
		char *domain;
		struct dmarc_walk w;
	} walks[DMARC_MAX_WALKS];
	size_t nwalks;
	struct dmarc_rec rec;	/* the policy record, settled (a shallow
				   copy: its strings are the memo's) */
	int own;		/* found at the From domain itself */
	const char *why;	/* for status_text */
	char detail[160];	/* for status_text */
};

/* RFC 7489 3.2 Organizational Domain from the loaded list.  libopendmarc
 * answers "" when no rule matches (and for a listed top-level label):
 * the implicit "*" rule then makes the last two labels it. */
static const char *
psl_org(const char *d, char *buf, size_t n)
{
	char copy[DMARC_MAX_NAME + 2];

	snprintf(copy, sizeof(copy), "%s", d);
	memset(buf, 0, n);
	if (opendmarc_get_tld((u_char *)copy, (u_char *)buf, n) != 0 ||
	    buf[0] == '\0' || !dmarc_within(d, buf))
		snprintf(buf, n, "%s", dmarc_suffix(d, 2));
	return buf;
}

/* Whether a passing identifier may reach libopendmarc in RFC 7489 mode.
 * Its opendmarc_policy_check_alignment takes any parent of the From
 * domain as aligned in relaxed mode, public suffixes included (d=com
 * aligns with example.com), so relaxed candidates must first share the
 * From domain's Organizational Domain. */
static int
may_align7489(const char *from, const char *id, char mode)
{
	char a[DMARC_MAX_NAME + 2], b[DMARC_MAX_NAME + 2];

	if (strcmp(from, id) == 0)
		return 1;
	if (mode == 's')
		return 0;
	return strcmp(psl_org(from, a, sizeof(a)), psl_org(id, b,
	    sizeof(b))) == 0;
}

/* RFC 9989 Organizational Domain of d; NULL with *temp set when the walk
 * could not finish, NULL alone when out of walks. */
static const char *
org9989(struct ev *e, const char *d, int *temp, int *oom)
{
	size_t i;

	for (i = 0; i < e->nwalks; i++)
		if (strcmp(e->walks[i].domain, d) == 0)
			break;
	if (i == e->nwalks) {
		if (e->nwalks == DMARC_MAX_WALKS)
			return NULL;
		if ((e->walks[i].domain = strdup(d)) == NULL ||
		    dmarc_walk(&e->memo, d, &e->walks[i].w) == -1) {
			free(e->walks[i].domain);
			*oom = 1;
			return NULL;
		}
		e->nwalks++;
	}
	if (e->walks[i].w.tempfail) {
		*temp = 1;
		return NULL;
	}
	return e->walks[i].w.org;
}

static int
aligned9989(struct ev *e, const char *id, char mode, int *temp, int *oom)
{
	const char *fo, *io;

	if (strcmp(id, e->from) == 0)
		return 1;
	if (mode == 's')
		return 0;
	if ((fo = org9989(e, e->from, temp, oom)) == NULL)
		return 0;
	/* Org(id) is id or one of its ancestors: no walk can make an id
	 * outside Org(From) aligned. */
	if (!dmarc_within(id, fo))
		return 0;
	if ((io = org9989(e, id, temp, oom)) == NULL)
		return 0;
	return strcmp(io, fo) == 0;
}

static int
set_str(char **dst, const char *s)
{
	free(*dst);
	return (*dst = dup_or_empty(s)) == NULL ? -1 : 0;
}

static void
finish_status(struct ev *e, enum dmarc_status s)
{
	e->v->status = s;
	switch (s) {
	case DMARC_ACCEPT:
		e->v->result = "pass";
		break;
	case DMARC_NONE:
	case DMARC_QUARANTINE:
	case DMARC_REJECT:
		e->v->result = "fail";
		break;
	case DMARC_NORECORD:
	case DMARC_OFF:
		e->v->result = "none";
		break;
	case DMARC_NOFROM:
		e->v->result = "permerror";
		break;
	case DMARC_TEMPERROR:
		e->v->result = "temperror";
		break;
	}
}

static int
libdmarc_dkim_result(const char *w)
{
	if (strcmp(w, "pass") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	if (strcmp(w, "fail") == 0 || strcmp(w, "policy") == 0 ||
	    strcmp(w, "neutral") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	if (strcmp(w, "temperror") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	return DMARC_POLICY_DKIM_OUTCOME_NONE;
}

static int
libdmarc_spf_result(enum spfr r)
{
	switch (r) {
	case SPFR_PASS:
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case SPFR_FAIL:
	case SPFR_SOFTFAIL:
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case SPFR_TEMPERROR:
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:
		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

/* The SPF domain DMARC can use: RFC 7489 4.1 and RFC 9989 4.4.2 take the
 * MAIL FROM identity only (for a null sender that is postmaster@HELO,
 * which spf_check reports under SPF_SCOPE_MFROM); a HELO check of its
 * own authenticates nothing DMARC aligns.  malloc'd or NULL. */
static char *
spf_identity(const struct dmarc_auth *a, const char **why)
{
	if (!a->have_spf || a->spf_domain == NULL || *a->spf_domain == '\0')
		return NULL;
	return dmarc_domain_norm(after_at(a->spf_domain), why);
}

/* Store everything in a libopendmarc context; the caller shuts it down. */
static DMARC_POLICY_T *
lib_context(struct ev *e, const char *orgarg, int *failed)
{
	DMARC_POLICY_T *ctx;
	char *norm, *d;
	const char *why;
	size_t i;
	int st;

	*failed = 0;
	if ((ctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0))
	    == NULL)
		return NULL;
	if ((norm = dmarc_rec_normalized(&e->rec)) == NULL)
		goto fail;
	if (opendmarc_policy_store_from_domain(ctx, (u_char *)e->from) !=
	    DMARC_PARSE_OKAY)
		goto fail_norm;
	st = opendmarc_policy_store_dmarc(ctx, (u_char *)norm,
	    (u_char *)e->from, (u_char *)orgarg);
	if (st != DMARC_PARSE_OKAY) {
		*failed = 1;
		e->why = opendmarc_policy_status_to_str(st);
		goto fail_norm;
	}
	free(norm);
	if ((d = spf_identity(e->a, &why)) != NULL) {
		int r = e->a->spf_scope == SPF_SCOPE_MFROM ?
		    libdmarc_spf_result(e->a->spf) :
		    DMARC_POLICY_SPF_OUTCOME_NONE;
		if (r == DMARC_POLICY_SPF_OUTCOME_PASS && g.mode ==
		    DMARC_RFC7489 && !may_align7489(e->from, d, e->rec.aspf))
			r = DMARC_POLICY_SPF_OUTCOME_NONE;
		(void)opendmarc_policy_store_spf(ctx, (u_char *)d, r,
		    e->a->spf_scope == SPF_SCOPE_MFROM ?
		    DMARC_POLICY_SPF_ORIGIN_MAILFROM :
		    DMARC_POLICY_SPF_ORIGIN_HELO,
		    (u_char *)spf_name(e->a->spf));
		free(d);
	}
	for (i = 0; i < e->a->ndkim; i++) {
		const struct dmarc_dkim *k = &e->a->dkim[i];
		int r = libdmarc_dkim_result(k->result);
		if ((d = dmarc_domain_norm(k->domain, &why)) == NULL)
			continue;
		if (r == DMARC_POLICY_DKIM_OUTCOME_PASS && g.mode ==
		    DMARC_RFC7489 && !may_align7489(e->from, d, e->rec.adkim))
			r = DMARC_POLICY_DKIM_OUTCOME_NONE;
		(void)opendmarc_policy_store_dkim(ctx, (u_char *)d,
		    (u_char *)k->selector, r, (u_char *)k->result);
		free(d);
	}
	return ctx;
fail_norm:
	free(norm);
fail:
	opendmarc_policy_connect_shutdown(ctx);
	return NULL;
}

/* p, sp, adkim, aspf, pct, rua and ruf as libopendmarc read them. */
static int
lib_fetch(struct ev *e, DMARC_POLICY_T *ctx)
{
	struct dmarc_verdict *v = e->v;
	u_char **l;
	int x;
	size_t i, n;

	if (opendmarc_policy_fetch_adkim(ctx, &x) == DMARC_PARSE_OKAY)
		v->adkim = x == DMARC_RECORD_A_STRICT ? 's' : 'r';
	if (opendmarc_policy_fetch_aspf(ctx, &x) == DMARC_PARSE_OKAY)
		v->aspf = x == DMARC_RECORD_A_STRICT ? 's' : 'r';
	if (opendmarc_policy_fetch_pct(ctx, &x) == DMARC_PARSE_OKAY)
		v->pct = x;
	for (int pass = 0; pass < 2; pass++) {
		/* No buffer: libopendmarc would check each URI over its own
		 * resolver. */
		l = pass == 0 ? opendmarc_policy_fetch_rua(ctx, NULL, 0, 1) :
		    opendmarc_policy_fetch_ruf(ctx, NULL, 0, 1);
		for (n = 0; l != NULL && l[n] != NULL; n++)
			;
		if (n == 0)
			continue;
		char **out = calloc(n, sizeof(*out));
		if (out == NULL)
			return -1;
		for (i = 0; i < n; i++)
			if ((out[i] = strdup((char *)l[i])) == NULL) {
				while (i > 0)
					free(out[--i]);
				free(out);
				return -1;
			}
		if (pass == 0) {
			v->rua = out;
			v->nrua = n;
		} else {
			v->ruf = out;
			v->nruf = n;
		}
	}
	return 0;
}

static char
lib_policy(DMARC_POLICY_T *ctx, int sp)
{
	int x = 0;

	if ((sp ? opendmarc_policy_fetch_sp(ctx, &x) :
	    opendmarc_policy_fetch_p(ctx, &x)) != DMARC_PARSE_OKAY)
		return 0;
	return x == DMARC_RECORD_P_REJECT ? 'r' : x ==
	    DMARC_RECORD_P_QUARANTINE ? 'q' : x == DMARC_RECORD_P_NONE ? 'n' : 0;
}

/* The first passing d= that aligns, by align(). */
static int
dkim_alignment(struct ev *e, int (*align)(struct ev *, const char *, int *,
    int *), int *temp, int *oom)
{
	const char *why;
	char *d;
	size_t i;
	int ok;

	for (i = 0; i < e->a->ndkim; i++) {
		if (strcmp(e->a->dkim[i].result, "pass") != 0)
			continue;
		if ((d = dmarc_domain_norm(e->a->dkim[i].domain, &why)) == NULL)
			continue;
		ok = align(e, d, temp, oom);
		if (ok) {
			e->v->dkim_aligned_domain = d;
			return 1;
		}
		free(d);
	}
	return 0;
}

static int
align7489_dkim(struct ev *e, const char *d, int *temp, int *oom)
{
	(void)temp;
	(void)oom;
	return may_align7489(e->from, d, e->v->adkim) &&
	    opendmarc_policy_check_alignment((u_char *)e->from,
	    (u_char *)d, e->v->adkim) == 0;
}

static int
align9989_dkim(struct ev *e, const char *d, int *temp, int *oom)
{
	return aligned9989(e, d, e->v->adkim, temp, oom);
}

/* Disposition after pct sampling (RFC 7489 6.6.4): outside the sample,
 * one step lower. */
static char
sample(struct ev *e, char pol)
{
	char low;

	if (e->v->pct >= 100 || pol == 'n' || pol == 0)
		return pol;
	if (draw100() < (unsigned)e->v->pct)
		return pol;
	low = dmarc_policy_lower(pol);
	e->v->sampled_out = low != pol;
	snprintf(e->detail, sizeof(e->detail),
	    " (p=%s, outside the pct=%d sample)", dmarc_policy_word(pol),
	    e->v->pct);
	return low;
}

static int
failed_status(struct ev *e, char dis)
{
	e->v->disposition = dis == 'r' ? "reject" : dis == 'q' ? "quarantine" :
	    "none";
	finish_status(e, dis == 'r' ? DMARC_REJECT : dis == 'q' ?
	    DMARC_QUARANTINE : DMARC_NONE);
	return 0;
}

/* Policy discovery, RFC 7489 6.6.3.  1 with e->rec set, 0 no record,
 * -1 temperror (e->why), -2 out of memory. */
static int
discover7489(struct ev *e, char **used, const char **orgarg)
{
	const struct dmarc_q *q;
	char org[DMARC_MAX_NAME + 2];

	psl_org(e->from, org, sizeof(org));
	if (set_str(&e->v->org_domain, org) == -1)
		return -2;
	if ((q = dmarc_fetch(&e->memo, e->from)) == NULL)
		return -2;
	if (q->got == DMARC_F_TEMP) {
		e->why = "DNS failure looking up the From domain's record";
		return -1;
	}
	if (q->got == DMARC_F_MANY) {
		e->why = "several DMARC records";
		return 0;
	}
	if (q->cname_refused)
		e->why = "record behind more than one CNAME not taken";
	if (q->got == DMARC_F_ONE) {
		e->rec = q->rec;
		e->own = 1;
		*orgarg = NULL;
		return (*used = strdup(e->from)) != NULL ? 1 : -2;
	}
	if (strcmp(org, e->from) == 0)
		return 0;
	if ((q = dmarc_fetch(&e->memo, org)) == NULL)
		return -2;
	if (q->got == DMARC_F_TEMP) {
		e->why = "DNS failure looking up the Organizational Domain's "
		    "record";
		return -1;
	}
	if (q->got != DMARC_F_ONE) {
		if (q->got == DMARC_F_MANY)
			e->why = "several DMARC records";
		return 0;
	}
	e->rec = q->rec;
	*orgarg = e->v->org_domain;
	return (*used = strdup(org)) != NULL ? 1 : -2;
}

/* Policy discovery, RFC 9989 4.10.1: the From domain's record, else the
 * Organizational Domain's, else the Public Suffix Domain's. */
static int
discover9989(struct ev *e, char **used)
{
	const struct dmarc_q *q, *pq = NULL;
	const char *org;
	int temp = 0, oom = 0;
	size_t i;

	if ((q = dmarc_fetch(&e->memo, e->from)) == NULL)
		return -2;
	if (q->got == DMARC_F_TEMP) {
		e->why = "DNS failure looking up the From domain's record";
		return -1;
	}
	if (q->got == DMARC_F_ONE) {
		e->rec = q->rec;
		e->own = 1;
		return (*used = strdup(e->from)) != NULL ? 1 : -2;
	}
	if (q->cname_refused)
		e->why = "record behind more than one CNAME not taken";
	if ((org = org9989(e, e->from, &temp, &oom)) == NULL) {
		if (oom)
			return -2;
		e->why = "DNS failure during the tree walk";
		return -1;
	}
	if (set_str(&e->v->org_domain, org) == -1)
		return -2;
	/* The Organizational Domain's record, if the walk asked for it. */
	for (i = 0; i < e->memo.n; i++)
		if (strcmp(e->memo.q[i].domain, org) == 0 &&
		    e->memo.q[i].got == DMARC_F_ONE)
			pq = &e->memo.q[i];
	if (pq == NULL)
		for (i = 0; i < e->nwalks; i++)
			if (strcmp(e->walks[i].domain, e->from) == 0)
				pq = e->walks[i].w.psd;
	if (pq == NULL)
		return 0;
	e->rec = pq->rec;
	return (*used = strdup(pq->domain)) != NULL ? 1 : -2;
}

/* 1 when d does not exist (NXDOMAIN, RFC 9989 3.2.13), 0 when it does,
 * -1 when DNS cannot say. */
static int
nonexistent(const char *d)
{
	struct dns_answer *a = dns_query(d, LDNS_RR_TYPE_A);
	int rc;

	if (a == NULL)
		return -1;
	rc = a->status == DNS_NXDOMAIN ? 1 : a->status == DNS_TEMPFAIL ? -1 :
	    0;
	dns_answer_free(a);
	return rc;
}

/* libopendmarc's context for the record, with what it read of it put in
 * e->v (lib_fetch).  NULL with *rc what the evaluation returns: -1 when
 * it could not start (memory), 0 when libopendmarc refused the record
 * (the status is then temperror). */
static DMARC_POLICY_T *
lib_open(struct ev *e, const char *orgarg, int *rc)
{
	DMARC_POLICY_T *ctx;
	int failed;

	*rc = -1;
	if ((ctx = lib_context(e, orgarg, &failed)) == NULL) {
		if (failed) {
			finish_status(e, DMARC_TEMPERROR);
			*rc = 0;
		}
		return NULL;
	}
	if (lib_fetch(e, ctx) == -1) {
		opendmarc_policy_connect_shutdown(ctx);
		return NULL;
	}
	return ctx;
}

static int
eval7489(struct ev *e, const char *orgarg)
{
	DMARC_POLICY_T *ctx;
	int r, rc, da = 0, sa = 0, temp = 0, oom = 0;
	char pol, dis;

	if ((ctx = lib_open(e, orgarg, &rc)) == NULL)
		return rc;
	r = opendmarc_get_policy_to_enforce(ctx);
	(void)opendmarc_policy_fetch_alignment(ctx, &da, &sa);
	e->v->spf_aligned = sa == DMARC_POLICY_SPF_ALIGNMENT_PASS;
	e->v->dkim_aligned = da == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
	if (e->v->dkim_aligned)
		(void)dkim_alignment(e, align7489_dkim, &temp, &oom);
	if (opendmarc_get_policy_token_used(ctx) == DMARC_USED_POLICY_IS_SP) {
		e->v->policy_tag = "sp";
		pol = lib_policy(ctx, 1);
	} else {
		e->v->policy_tag = "p";
		pol = lib_policy(ctx, 0);
	}
	opendmarc_policy_connect_shutdown(ctx);
	e->v->domain_policy = dmarc_policy_word(pol);
	switch (r) {
	case DMARC_POLICY_PASS:
		e->v->disposition = "none";
		finish_status(e, DMARC_ACCEPT);
		return 0;
	case DMARC_POLICY_REJECT:
	case DMARC_POLICY_QUARANTINE:
	case DMARC_POLICY_NONE:
		dis = r == DMARC_POLICY_REJECT ? 'r' :
		    r == DMARC_POLICY_QUARANTINE ? 'q' : 'n';
		return failed_status(e, sample(e, dis));
	}
	e->why = opendmarc_policy_status_to_str(r);
	finish_status(e, DMARC_TEMPERROR);
	return 0;
}

static int
eval9989(struct ev *e, const char *orgarg)
{
	DMARC_POLICY_T *ctx;
	int rc, temp = 0, oom = 0, ne;
	char *sd;
	const char *why;
	char pol;

	if ((ctx = lib_open(e, orgarg, &rc)) == NULL)
		return rc;
	e->rec.p = lib_policy(ctx, 0);
	e->rec.sp = lib_policy(ctx, 1);
	opendmarc_policy_connect_shutdown(ctx);
	e->v->testing = e->rec.testing;

	if (e->a->have_spf && e->a->spf == SPFR_PASS &&
	    e->a->spf_scope == SPF_SCOPE_MFROM &&
	    (sd = spf_identity(e->a, &why)) != NULL) {
		e->v->spf_aligned = aligned9989(e, sd, e->v->aspf, &temp, &oom);
		free(sd);
	}
	e->v->dkim_aligned = dkim_alignment(e, align9989_dkim, &temp, &oom);
	if (oom)
		return -1;
	if (e->v->spf_aligned || e->v->dkim_aligned) {
		e->v->disposition = "none";
		e->v->policy_tag = e->own ? "p" : e->rec.sp ? "sp" : "p";
		e->v->domain_policy = dmarc_policy_word(e->own || !e->rec.sp ?
		    e->rec.p : e->rec.sp);
		finish_status(e, DMARC_ACCEPT);
		return 0;
	}
	if (temp) {
		e->why = "DNS failure during a tree walk for alignment";
		finish_status(e, DMARC_TEMPERROR);
		return 0;
	}
	pol = e->rec.p;
	e->v->policy_tag = "p";
	if (!e->own && e->rec.np != 0) {
		if ((ne = nonexistent(e->from)) == -1) {
			e->why = "DNS failure asking whether the From domain "
			    "exists";
			finish_status(e, DMARC_TEMPERROR);
			return 0;
		}
		if (ne) {
			pol = e->rec.np;
			e->v->policy_tag = "np";
		}
	}
	if (!e->own && strcmp(e->v->policy_tag, "p") == 0 && e->rec.sp != 0) {
		pol = e->rec.sp;
		e->v->policy_tag = "sp";
	}
	e->v->domain_policy = dmarc_policy_word(pol);
	if (e->rec.testing && pol != 'n') {
		snprintf(e->detail, sizeof(e->detail),
		    " (%s=%s lowered one step: t=y)", e->v->policy_tag,
		    dmarc_policy_word(pol));
		pol = dmarc_policy_lower(pol);
	}
	return failed_status(e, pol);
}

static char *
status_text(struct ev *e)
{
	const char *base = "Internal Policy Error";
	char buf[512];

	switch (e->v->status) {
	case DMARC_ACCEPT:
		base = "Accept";
		break;
	case DMARC_NONE:
		base = "None, Accept";
		break;
	case DMARC_QUARANTINE:
		base = "Quarantine";
		break;
	case DMARC_REJECT:
		base = "Reject";
		break;
	case DMARC_NORECORD:
		base = "No DMARC record";
		break;
	case DMARC_NOFROM:
		base = "No From: domain found";
		break;
	case DMARC_OFF:
		base = "DMARC check disabled";
		break;
	case DMARC_TEMPERROR:
		base = "Temporary DMARC error";
		break;
	}
	if (e->why != NULL)
		snprintf(buf, sizeof(buf), "%s: %s%s", base, e->why, e->detail);
	else
		snprintf(buf, sizeof(buf), "%s%s", base, e->detail);
	return strdup(buf);
}

/* "Authentication-Results: ID; dkim=...; spf=...; dmarc=R (p=P dis=D)
 * header.from=F policy.dmarc=D", unfolded. */
static char *
ar_header(struct ev *e)
{
	const struct dmarc_auth *a = e->a;
	struct dmarc_verdict *v = e->v;
	struct authres *ar;
	char *s, *out, *at, *p, cmt[64], key[32];
	size_t i, n;
	int rc = 0;

	if ((ar = authres_new(g.authserv_id)) == NULL)
		return NULL;
	for (i = 0; i < a->ndkim && rc == 0; i++) {
		rc |= authres_add(ar, "dkim", dkim_word_ok(a->dkim[i].result) ?
		    a->dkim[i].result : "permerror", NULL);
		rc |= authres_prop(ar, "header", "d", a->dkim[i].domain);
		if (a->dkim[i].selector[0] != '\0')
			rc |= authres_prop(ar, "header", "s",
			    a->dkim[i].selector);
	}
	if (a->ndkim == 0)
		rc |= authres_add(ar, "dkim", "none", NULL);
	if (a->have_spf) {
		rc |= authres_add(ar, "spf", spf_name(a->spf), NULL);
		if (a->spf_domain != NULL && a->spf_domain[0] != '\0')
			rc |= authres_prop(ar, "smtp",
			    a->spf_scope == SPF_SCOPE_HELO ? "helo" :
			    "mailfrom", a->spf_domain);
	} else
		rc |= authres_add(ar, "spf", "none", NULL);
	rc |= authres_add(ar, "dmarc", v->result, NULL);
	if (v->from_domain[0] != '\0')
		rc |= authres_prop(ar, "header", "from", v->from_domain);
	if (v->disposition[0] != '\0')
		rc |= authres_prop(ar, "policy", "dmarc", v->disposition);
	s = rc == 0 ? authres_format(ar, "") : NULL;
	authres_free(ar);
	if (s == NULL)
		return NULL;
	/* With an empty eol each fold is a lone tab. */
	for (p = s; *p != '\0'; p++)
		if (*p == '\t')
			*p = ' ';
	if (v->domain_policy[0] == '\0' || v->disposition[0] == '\0')
		return s;
	/* The comment OpenDMARC writes after the result. */
	snprintf(key, sizeof(key), " dmarc=%s", v->result);
	at = NULL;
	for (p = strstr(s, key); p != NULL; p = strstr(p + 1, key))
		if (p[strlen(key)] == ' ' || p[strlen(key)] == '\0')
			at = p;
	if (at == NULL)
		return s;
	snprintf(cmt, sizeof(cmt), " (p=%s dis=%s)", v->domain_policy,
	    v->disposition);
	n = strlen(s) + strlen(cmt) + 1;
	if ((out = malloc(n)) == NULL) {
		free(s);
		return NULL;
	}
	at += strlen(key);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), cmt);
	strcat(out, at);
	free(s);
	return out;
}

static void
ev_free(struct ev *e)
{
	size_t i;

	for (i = 0; i < e->nwalks; i++) {
		free(e->walks[i].domain);
		dmarc_walk_free(&e->walks[i].w);
	}
	dmarc_memo_free(&e->memo);
}

static int
eval_found(struct ev *e)
{
	char *used = NULL;
	const char *orgarg = NULL, *why;
	int rc;

	rc = g.mode == DMARC_RFC7489 ? discover7489(e, &used, &orgarg) :
	    discover9989(e, &used);
	if (e->memo.oom || rc == -2) {
		free(used);
		return -1;
	}
	if (rc == -1) {
		finish_status(e, DMARC_TEMPERROR);
		return set_str(&e->v->used_domain, e->from);
	}
	if (rc == 0) {
		finish_status(e, DMARC_NORECORD);
		return set_str(&e->v->used_domain, e->from);
	}
	free(e->v->used_domain);
	e->v->used_domain = used;
	if ((e->v->record = strdup(e->rec.text)) == NULL ||
	    set_str(&e->v->fo, e->rec.fo) == -1)
		return -1;
	e->v->psd = e->rec.psd;
	if (dmarc_rec_settle(&e->rec, g.mode, &why) == -1) {
		e->why = why;
		finish_status(e, DMARC_NORECORD);
		return 0;
	}
	if (g.mode == DMARC_RFC7489)
		return eval7489(e, orgarg);
	if (eval9989(e, e->own ? NULL : e->v->used_domain) == -1)
		return -1;
	if (e->v->org_domain[0] == '\0') {
		/* After the verdict: a walk that fails now changes nothing. */
		int temp = 0, oom = 0;
		const char *o = org9989(e, e->from, &temp, &oom);
		if (oom || set_str(&e->v->org_domain, o) == -1)
			return -1;
	}
	return 0;
}

int
dmarc_eval(const char *from_domain, const struct dmarc_auth *a,
    struct dmarc_verdict *v)
{
	static const struct dmarc_auth noauth;
	struct ev *e;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	v->domain_policy = v->policy_tag = v->disposition = "";
	v->adkim = v->aspf = 'r';
	v->pct = 100;
	v->psd = 'u';
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	e->a = a != NULL ? a : &noauth;
	e->v = v;
	e->from = from_domain;
	if ((v->from_domain = dup_or_empty(from_domain)) == NULL ||
	    (v->used_domain = strdup("")) == NULL ||
	    (v->org_domain = strdup("")) == NULL ||
	    (v->fo = strdup("0")) == NULL)
		rc = -1;
	else if (from_domain == NULL || *from_domain == '\0')
		finish_status(e, DMARC_NOFROM);
	else
		rc = eval_found(e);
	v->dns_queries = e->memo.sent;
	if (rc == 0 && (v->status_text = status_text(e)) == NULL)
		rc = -1;
	if (rc == 0 && (v->ar_header = ar_header(e)) == NULL)
		rc = -1;
	ev_free(e);
	free(e);
	if (rc == -1)
		dmarc_verdict_free(v);
	return rc;
}

void
dmarc_verdict_free(struct dmarc_verdict *v)
{
	size_t i;

	free(v->status_text);
	free(v->from_domain);
	free(v->used_domain);
	free(v->org_domain);
	free(v->dkim_aligned_domain);
	free(v->record);
	for (i = 0; i < v->nrua; i++)
		free(v->rua[i]);
	free(v->rua);
	for (i = 0; i < v->nruf; i++)
		free(v->ruf[i]);
	free(v->ruf);
	free(v->fo);
	free(v->ar_header);
	memset(v, 0, sizeof(*v));
	v->domain_policy = v->policy_tag = v->disposition = "";
	v->result = "none";
}
