/* spf: RFC 7208 checks with libspf2 as the engine (see spf.h).
 *
 * How the conformance layer sits around libspf2:
 *   - our SPF_dns_server_t (spf_dns.c) answers every query libspf2 makes
 *     from lib/dns and fetches every record itself (get_spf hook);
 *   - each record is checked by spf_record and rewritten (spf_norm.c)
 *     before libspf2 compiles it: every domain-spec is expanded by us
 *     and replaced by a marker name that only our DNS layer knows, so
 *     that we count lookups per term, apply CIDR lengths libspf2 gets
 *     wrong (/0) and see which term decided; long records are cut into
 *     pieces chained by redirect (libspf2 silently drops what does not
 *     fit in 511 compiled bytes); ptr is evaluated by spf_ptr.c;
 *   - explanations and the verdict strings are built in spf_out.c.
 * libspf2 still walks the terms, matches addresses, follows include
 * and redirect and combines the results.
 */
#include "spf_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authres.h"
#include "diag.h"
#include "idn.h"

static const char *const names[SPFR_COUNT] = {
	"pass", "fail", "softfail", "neutral", "none", "permerror",
	"temperror",
};

const char *
spf_result_name(enum spfr r)
{
	return (unsigned)r < SPFR_COUNT ? names[r] : "permerror";
}

int
spf_result_parse(const char *word)
{
	if (strcasecmp(word, "err_perm") == 0)
		return SPFR_PERMERROR;
	if (strcasecmp(word, "err_temp") == 0)
		return SPFR_TEMPERROR;
	for (int i = 0; i < SPFR_COUNT; i++)
		if (strcasecmp(word, names[i]) == 0)
			return i;
	return -1;
}

int
spf_scope_parse(const char *word)
{
	if (strcasecmp(word, "mfrom") == 0)
		return SPF_SCOPE_MFROM;
	if (strcasecmp(word, "helo") == 0)
		return SPF_SCOPE_HELO;
	return -1;
}

int
spf_result_exit(enum spfr r)
{
	return (int)r;
}

/* ---- per-check state ---- */

char *
spf_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

char *
spf_aprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* The first problem wins: it is the one that stopped the evaluation. */
static void
set_problem(struct spf *s, char **slot, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
set_problem(struct spf *s, char **slot, const char *fmt, va_list ap)
{
	if (s->c.perm != NULL || s->c.temp != NULL)
		return;
	if (vasprintf(slot, fmt, ap) < 0)
		*slot = strdup("out of memory");
}

void
spf_set_perm(struct spf *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_problem(s, &s->c.perm, fmt, ap);
	va_end(ap);
}

void
spf_set_temp(struct spf *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_problem(s, &s->c.temp, fmt, ap);
	va_end(ap);
}

static void
ctx_clear(struct spf_ctx *c)
{
	for (size_t i = 0; i < c->nmarks; i++)
		free(c->marks[i].name);
	free(c->marks);
	for (size_t i = 0; i < c->nrecs; i++) {
		spf_parsed_free(&c->recs[i].parsed);
		free(c->recs[i].text);
		free(c->recs[i].domain);
		free(c->recs[i].exp_name);
	}
	free(c->recs);
	free(c->perm);
	free(c->temp);
	free(c->local);
	free(c->sender_dom);
	free(c->domain);
	free(c->ptr_name);
	memset(c, 0, sizeof(*c));
}

/* ---- setup ---- */

static void
quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	diag_info("libspf2: %s", msg);
}

/* libspf2 prints its warnings on stderr; ours go to diag (-v). */
static void
set_log_handlers(void)
{
	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
}

struct spf *
spf_new(const struct spf_opts *o, const char **why)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct spf *s;

	pthread_once(&once, set_log_handlers);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (o != NULL)
		s->o = *o;
	if (s->o.receiver == NULL)
		s->o.receiver = authres_default_id();
	if (s->o.default_exp == NULL)
		s->o.default_exp = SPF_DEFAULT_EXPLANATION;
	if (s->o.limits.lookups == 0)
		s->o.limits.lookups = SPF_MAX_LOOKUPS;
	if (s->o.limits.void_lookups == 0)
		s->o.limits.void_lookups = SPF_MAX_VOID;
	if (s->o.limits.mx == 0)
		s->o.limits.mx = SPF_MAX_MX;
	if (s->o.limits.ptr == 0)
		s->o.limits.ptr = SPF_MAX_PTR;
	if (spf_engine_new(s, why) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
spf_free(struct spf *s)
{
	if (s == NULL)
		return;
	ctx_clear(&s->c);
	spf_engine_free(s);
	free(s);
}

/* ---- the query ---- */

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 client (RFC 7208 5). */
static int
parse_client(struct spf_ctx *c, const char *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, c->ip) == 1) {
		c->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, c->ip) != 1)
		return -1;
	c->family = AF_INET6;
	c->upper_hex = strpbrk(ip, "ABCDEF") != NULL;
	if (memcmp(c->ip, mapped, 12) == 0) {
		memmove(c->ip, c->ip + 12, 4);
		c->family = AF_INET;
	}
	return 0;
}

/* The identity: local-part and domain (RFC 7208 2.4, 4.3). */
static int
parse_identity(struct spf_ctx *c, const struct spf_query *q,
    const char **why)
{
	const char *snd = q->sender, *at;

	if (q->scope == SPF_SCOPE_HELO || snd == NULL || *snd == '\0' ||
	    strcmp(snd, "<>") == 0) {
		if (q->helo == NULL || *q->helo == '\0') {
			*why = "no HELO name to check";
			return -1;
		}
		c->local = strdup("postmaster");
		c->sender_dom = strdup(q->helo);
	} else if ((at = strrchr(snd, '@')) == NULL) {
		c->local = strdup("postmaster");
		c->sender_dom = strdup(snd);
	} else {
		c->local = at == snd ? strdup("postmaster") :
		    strndup(snd, (size_t)(at - snd));
		c->sender_dom = strdup(at + 1);
	}
	if (c->local == NULL || c->sender_dom == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

/* The domain to look up, or NULL when it cannot have a record: RFC 7208
 * 4.3 says a malformed or single-label domain gives none. */
static char *
lookup_domain(const char *dom)
{
	const char *why;
	char *a;
	size_t n;

	if (idn_is_unicode(dom))
		a = idn_to_alabels(dom, &why);
	else
		a = strdup(dom);
	if (a == NULL)
		return NULL;
	n = strlen(a);
	if (n > 0 && a[n - 1] == '.')
		a[--n] = '\0';
	if (!spf_name_lookupable(a) || strchr(a, '.') == NULL ||
	    strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") != n) {
		free(a);
		return NULL;
	}
	return a;
}

static int
fill_verdict_ids(struct spf *s, const struct spf_query *q,
    struct spf_verdict *v)
{
	v->identity = q->scope == SPF_SCOPE_HELO ? "helo" : "mailfrom";
	v->domain = strdup(s->c.domain != NULL ? s->c.domain :
	    s->c.sender_dom);
	v->sender = spf_aprintf("%s@%s", s->c.local, s->c.sender_dom);
	return v->domain != NULL && v->sender != NULL ? 0 : -1;
}

int
spf_check(struct spf *s, const struct spf_query *q, struct spf_verdict *v,
    const char **why)
{
	struct spf_ctx *c = &s->c;
	int r;

	memset(v, 0, sizeof(*v));
	ctx_clear(c);
	c->now = time(NULL);
	c->helo = q->helo;
	c->scope = q->scope;
	if (parse_client(c, q->ip) != 0) {
		*why = "not an IP address";
		return -1;
	}
	if (parse_identity(c, q, why) != 0)
		return -1;
	c->domain = lookup_domain(c->sender_dom);
	if (fill_verdict_ids(s, q, v) != 0) {
		spf_verdict_free(v);
		*why = "out of memory";
		return -1;
	}
	r = spf_engine_run(s, v);
	if (r == 0)
		r = spf_verdict_strings(s, q, v);
	if (r != 0) {
		spf_verdict_free(v);
		*why = "out of memory";
		return -1;
	}
	return 0;
}

void
spf_verdict_free(struct spf_verdict *v)
{
	free(v->domain);
	free(v->sender);
	free(v->mechanism);
	free(v->problem);
	free(v->explanation);
	free(v->header_comment);
	free(v->smtp_comment);
	free(v->received);
	memset(v, 0, sizeof(*v));
}
