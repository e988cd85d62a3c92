/* spf_norm: a checked record rewritten into what libspf2 evaluates
 * correctly.  Every domain-spec is expanded here (our macro expander,
 * with pyspf's timing: when the record is loaded) and replaced by a
 * marker; ip4/ip6 "/0" become two halves (libspf2 reads a 0 length as
 * "absent"); exp= and unknown modifiers are left out (we handle exp=,
 * RFC 7208 6 says to ignore the others); redirect= is dropped when an
 * "all" is present (RFC 7208 6.1). */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

void
spf_macro_ctx(struct spf *s, const char *domain, struct spf_macro_ctx *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->local = s->c.local;
	/* A-labels, as the names we look up must be */
	mc->sender_dom = s->c.domain != NULL ? s->c.domain : s->c.sender_dom;
	mc->domain = domain;
	mc->family = s->c.family;
	memcpy(mc->ip, s->c.ip, sizeof(mc->ip));
	mc->helo = s->c.helo != NULL ? s->c.helo : "";
	mc->receiver = s->o.receiver;
	mc->now = s->c.now;
	mc->upper_hex = s->c.upper_hex;
	mc->ptr_name = spf_ptr_cb;
	mc->ptr_arg = s;
}

/* ---- the rewrite ----
 *
 * libspf2 1.2.10 silently drops the mechanisms that do not fit in 511
 * bytes of compiled record (SPF_MAX_MECH_LEN; SPF_c_mech_add's
 * SPF_E_BIG_MECH is never reported).  So the rewrite is cut into pieces
 * well under that size, each ending in a redirect to the next: redirect
 * is evaluated only when nothing matched, and gives the next piece's
 * result, which is what going on with the same record would give. */

#define PIECE_BUDGET	460	/* compiled bytes per piece, less the link */
#define PIECES_MAX	16	/* libspf2 stops at depth 20 */

struct out {
	char *piece[PIECES_MAX];
	unsigned nmech[PIECES_MAX];
	size_t est[PIECES_MAX];
	size_t n;		/* pieces started */
	int err, done;		/* done: an "all" was written */
};

static void
emit(struct out *o, size_t est, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* One mechanism, in a new piece when the current one is full. */
static void
emit(struct out *o, size_t est, const char *fmt, ...)
{
	va_list ap;
	char *mech, *np;
	size_t i = o->n - 1;

	if (o->err || o->done)
		return;
	va_start(ap, fmt);
	if (vasprintf(&mech, fmt, ap) < 0)
		mech = NULL;
	va_end(ap);
	if (mech == NULL) {
		o->err = 1;
		return;
	}
	if (o->nmech[i] > 0 && o->est[i] + est > PIECE_BUDGET) {
		if (o->n == PIECES_MAX || (o->piece[o->n] = strdup("v=spf1"))
		    == NULL) {
			free(mech);
			o->err = 1;
			return;
		}
		i = o->n++;
	}
	if ((np = spf_aprintf("%s %s", o->piece[i], mech)) == NULL)
		o->err = 1;
	else {
		free(o->piece[i]);
		o->piece[i] = np;
		o->nmech[i]++;
		o->est[i] += est;
	}
	free(mech);
}

/* Expand a term's domain-spec (or the record's domain when absent). */
static char *
target(struct spf *s, size_t rec, const struct spf_term *t)
{
	struct spf_macro_ctx mc;
	const char *why;
	char *out;

	if (t->spec == NULL)
		return strdup(s->c.recs[rec].domain);
	spf_macro_ctx(s, s->c.recs[rec].domain, &mc);
	if (spf_macro_expand(t->spec, t->spec_len, 0, &mc, &out, &why) != 0) {
		spf_set_perm(s, "%s in \"%.*s\" (%s)", why, (int)t->text_len,
		    t->text, s->c.recs[rec].domain);
		return NULL;
	}
	return out;
}

static int
add_mark(struct spf *s, enum mark_kind k, char *name, size_t rec,
    size_t term, const struct spf_term *t)
{
	struct spf_mark *m;

	m = realloc(s->c.marks, (s->c.nmarks + 1) * sizeof(*m));
	if (m == NULL) {
		free(name);
		return -1;
	}
	s->c.marks = m;
	m = &s->c.marks[s->c.nmarks];
	memset(m, 0, sizeof(*m));
	m->kind = k;
	m->name = name;
	m->cidr4 = t != NULL && t->cidr4 >= 0 ? t->cidr4 : 32;
	m->cidr6 = t != NULL && t->cidr6 >= 0 ? t->cidr6 : 128;
	m->rec = rec;
	m->term = term;
	return (int)s->c.nmarks++;
}

/* Compiled sizes (measured): 4 bytes of header, then the data: 4 for
 * an IPv4 address, 16 for IPv6, 2 + the name rounded up to 4 for a
 * marker ("m" and up to 6 digits before the suffix). */
static size_t
mark_est(struct spf *s)
{
	return (4 + 2 + 7 + strlen(s->suffix) + 3) / 4 * 4;
}

static void
emit_net(struct out *o, const struct spf_term *t)
{
	char buf[INET6_ADDRSTRLEN];
	int six = t->kind == SPFT_IP6;
	int bits = six ? t->cidr6 : t->cidr4;
	char q = t->qualifier;
	const char *w = six ? "ip6" : "ip4";
	size_t est = six ? 20 : 8;

	if (bits == 0) {
		/* libspf2 reads a 0 length as "absent" (/32, /128) */
		emit(o, est, "%c%s:%s/1", q, w, six ? "::" : "0.0.0.0");
		emit(o, est, "%c%s:%s/1", q, w, six ? "8000::" : "128.0.0.0");
		return;
	}
	inet_ntop(six ? AF_INET6 : AF_INET, t->addr, buf, sizeof(buf));
	if (bits < 0)
		emit(o, est, "%c%s:%s", q, w, buf);
	else
		emit(o, est, "%c%s:%s/%d", q, w, buf, bits);
}

/* The modifiers: exp= is ours (section 6.2), unknown ones are ignored
 * (section 6), redirect= goes last (libspf2 would evaluate it where it
 * stands). */
static int
modifier(struct spf *s, size_t rec, const struct spf_term *t)
{
	char *name;

	if (t->kind == SPFT_UNKNOWN_MOD)
		return 0;
	if (t->kind == SPFT_REDIRECT)	/* pyspf counts it when read */
		return spf_count_lookup(s);
	if ((name = target(s, rec, t)) == NULL)
		return -1;
	s->c.recs[rec].exp_name = name;
	return 0;
}

static int
emit_term(struct spf *s, struct out *o, size_t rec, size_t i)
{
	const struct spf_term *t = &s->c.recs[rec].parsed.t[i];
	static const enum mark_kind kinds[] = {
		[SPFT_A] = MK_A, [SPFT_MX] = MK_MX, [SPFT_EXISTS] = MK_EXISTS,
		[SPFT_INCLUDE] = MK_INCLUDE, [SPFT_PTR] = MK_PTR,
	};
	char *name;
	int m;

	if (t->kind >= SPFT_REDIRECT)
		return modifier(s, rec, t);
	/* In a record whose result is ours (top or redirect), a signal
	 * before each term that makes no query tells which one decided. */
	if ((t->kind == SPFT_ALL || t->kind == SPFT_IP4 ||
	    t->kind == SPFT_IP6) && s->c.recs[rec].main && !o->done) {
		if ((m = add_mark(s, MK_SIGNAL, NULL, rec, i, t)) < 0)
			return -1;
		emit(o, mark_est(s), "exists:m%d%s", m, s->suffix);
	}
	if (t->kind == SPFT_ALL) {
		emit(o, 4, "%call", t->qualifier);
		o->done = 1;
		return 0;
	}
	if (t->kind == SPFT_IP4 || t->kind == SPFT_IP6) {
		emit_net(o, t);
		return 0;
	}
	/* every target is expanded, even past "all": pyspf reports a bad
	 * one anywhere in the record */
	if ((name = target(s, rec, t)) == NULL)
		return -1;
	if ((m = add_mark(s, kinds[t->kind], name, rec, i, t)) < 0)
		return -1;
	if (t->kind == SPFT_INCLUDE)
		emit(o, mark_est(s), "%cinclude:m%d%s", t->qualifier, m,
		    s->suffix);
	else if (t->kind == SPFT_A || t->kind == SPFT_MX)
		emit(o, mark_est(s), "%c%s:m%d%s", t->qualifier,
		    t->kind == SPFT_A ? "a" : "mx", m, s->suffix);
	else	/* exists, and ptr evaluated by our DNS layer */
		emit(o, mark_est(s), "%cexists:m%d%s", t->qualifier, m,
		    s->suffix);
	return 0;
}

static int
emit_redirect(struct spf *s, struct out *o, size_t rec)
{
	const struct spf_parsed *p = &s->c.recs[rec].parsed;
	char *name;
	int m;

	if (p->redirect < 0 || p->has_all)
		return 0;	/* RFC 7208 6.1: ignored when "all" is there */
	if ((name = target(s, rec, &p->t[p->redirect])) == NULL)
		return -1;
	if ((m = add_mark(s, MK_REDIRECT, name, rec, (size_t)p->redirect,
	    NULL)) < 0)
		return -1;
	emit(o, mark_est(s), "redirect=m%d%s", m, s->suffix);
	return 0;
}

/* Link the pieces from the last: piece k ends with a redirect to a
 * chain marker holding piece k+1.  Returns piece 0. */
static char *
link_pieces(struct spf *s, struct out *o, size_t rec, unsigned *nmech)
{
	for (size_t k = o->n - 1; k > 0; k--) {
		char *np;
		int m = add_mark(s, MK_CHAIN, o->piece[k], rec, 0, NULL);

		o->piece[k] = NULL;
		if (m < 0)
			return NULL;
		s->c.marks[m].nmech = o->nmech[k];
		np = spf_aprintf("%s redirect=m%d%s", o->piece[k - 1], m,
		    s->suffix);
		if (np == NULL)
			return NULL;
		free(o->piece[k - 1]);
		o->piece[k - 1] = np;
		o->nmech[k - 1]++;
	}
	*nmech = o->nmech[0];
	return o->piece[0];
}

char *
spf_normalize(struct spf *s, size_t rec, unsigned *nmech)
{
	struct out o;
	struct spf_rec *r = &s->c.recs[rec];
	char *text = NULL;
	size_t i;

	memset(&o, 0, sizeof(o));
	if ((o.piece[0] = strdup("v=spf1")) == NULL)
		return NULL;
	o.n = 1;
	for (i = 0; i < r->parsed.n; i++)
		if (emit_term(s, &o, rec, i) != 0)
			break;
	if (i == r->parsed.n && emit_redirect(s, &o, rec) == 0 && !o.err) {
		if ((text = link_pieces(s, &o, rec, nmech)) != NULL)
			o.piece[0] = NULL;
		else
			o.err = 1;
	}
	if (o.err)
		spf_set_perm(s, "%s: record too large or out of memory",
		    r->domain);
	for (i = 0; i < o.n; i++)
		free(o.piece[i]);
	return text;
}

int
spf_ip_match(int family, const unsigned char *a, const unsigned char *b,
    int bits)
{
	int n = family == AF_INET ? 4 : 16;

	for (int i = 0; i < n && bits > 0; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) &
		    0xffu;

		if ((a[i] & mask) != (b[i] & mask))
			return 0;
	}
	return 1;
}
