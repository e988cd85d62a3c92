/* dmarc_int: what lib/dmarc.c, dmarc_from.c, dmarc_record.c,
 * dmarc_walk.c, dmarc_report.c and dmarc_dest.c share.  Not part of the
 * API: dmarc.h and dmarc_report.h are.
 */
#ifndef MXKIT_DMARC_INT_H
#define MXKIT_DMARC_INT_H
#include <stddef.h>

#include "dmarc.h"
#include "dns.h"

#define DMARC_MAX_RECORD	16384	/* longer TXT records are not taken */
#define DMARC_MAX_URIS		16	/* per rua= or ruf= */
#define DMARC_MAX_URI		255	/* longer URIs are dropped (libopendmarc
					   copies each into 256 bytes) */
#define DMARC_MAX_URILIST	500	/* what rua=/ruf= may hold once handed
					   to libopendmarc (it copies a value
					   into 512 bytes) */
#define DMARC_MAX_NAME		253

/* One DMARC record, parsed our way (tag grammar of RFC 6376 3.2, values of
 * RFC 7489 6.3 / RFC 9989 4.7).  Invalid values of optional tags are
 * dropped in favour of the defaults, as both RFCs ask. */
struct dmarc_rec {
	char	*text;		/* as published */
	char	 p, sp, np;	/* 'n' 'q' 'r'; 0 absent */
	int	 p_bad, sp_bad, np_bad;	/* present with a value not allowed */
	char	 adkim, aspf;	/* 'r' 's' */
	int	 pct;		/* 0..100, 100 when absent or invalid */
	char	 psd;		/* 'y' 'n' 'u' */
	int	 testing;	/* t=y */
	char	*fo;		/* as written when valid, else "0" */
	char	*rua[DMARC_MAX_URIS], *ruf[DMARC_MAX_URIS];
	size_t	 nrua, nruf;
};

/* 1 when txt is a DMARC record by its start: "v" "=" "DMARC1" (WSP
 * allowed around "="), then WSP and ";" or the end. */
int dmarc_rec_is_dmarc(const char *txt, size_t len);
/* Parse a record dmarc_rec_is_dmarc accepted.  0, or -1 with *why (out of
 * memory, or not a DMARC record). */
int dmarc_rec_parse(const char *txt, size_t len, struct dmarc_rec *r,
    const char **why);
void dmarc_rec_free(struct dmarc_rec *r);
/* The invalid-policy rule (RFC 7489 6.6.3, RFC 9989 4.10.1): a record
 * with no valid p= (RFC 7489; RFC 9989 takes an absent p= as p=none) or an
 * invalid sp=/np= is taken as "p=none" when rua= holds a usable URI, and
 * not at all otherwise.  Adjusts r; 0 when usable, -1 with *why. */
int dmarc_rec_settle(struct dmarc_rec *r, enum dmarc_mode mode,
    const char **why);
/* The settled record rewritten from its valid tags only, for
 * opendmarc_policy_store_dmarc (libopendmarc copies values into fixed
 * buffers; we hand it nothing it could overrun).  malloc'd. */
char *dmarc_rec_normalized(const struct dmarc_rec *r);

/* The mode dmarc_init was given (RFC 9989 before it is called). */
enum dmarc_mode dmarc_cur_mode(void);

/* Policy words. */
const char *dmarc_policy_word(char p);	/* 'n' -> "none", ... ; 0 -> "" */
char dmarc_policy_lower(char p);	/* one step: r->q, q->n */

/* ---- DNS ---- */
enum dmarc_fetch { DMARC_F_NONE, DMARC_F_ONE, DMARC_F_MANY, DMARC_F_TEMP };
struct dmarc_q {
	char	*domain;	/* the name _dmarc was prepended to */
	enum dmarc_fetch got;
	struct dmarc_rec rec;	/* DMARC_F_ONE */
	int	 cname;		/* reached through one CNAME */
	int	 cname_refused;	/* through more than one: not taken */
};
/* Per-evaluation memo of _dmarc queries, so that the tree walks of the
 * From, SPF and DKIM domains ask each name once. */
#define DMARC_MAX_Q	96	/* 10 walks of 8, and then some */
struct dmarc_memo {
	struct dmarc_q	q[DMARC_MAX_Q];
	size_t		n;
	unsigned	sent;	/* TXT queries sent (dmarc_verdict.dns_queries) */
	int		oom;
};
/* The _dmarc record of domain (lower case A-labels).  NULL only when the
 * memo is full or memory is short (memo->oom). */
const struct dmarc_q *dmarc_fetch(struct dmarc_memo *m, const char *domain);
void dmarc_memo_free(struct dmarc_memo *m);

/* RFC 9989 4.10 tree walk from domain. */
struct dmarc_walk {
	const struct dmarc_q *q[DMARC_MAX_WALK];
	size_t	 n;
	int	 tempfail;	/* a query failed: nothing is known */
	int	 stopped;	/* at q[n-1], by its psd=y or psd=n */
	char	*org;		/* the Organizational Domain (4.10.2) */
	const struct dmarc_q *psd;	/* the psd=y record that stopped the
					   walk, when it is not the start */
};
/* 0, or -1 out of memory.  w->org is malloc'd (free with
 * dmarc_walk_free). */
int dmarc_walk(struct dmarc_memo *m, const char *domain,
    struct dmarc_walk *w);
void dmarc_walk_free(struct dmarc_walk *w);

/* Domain helpers. */
size_t dmarc_label_count(const char *d);
/* d itself or its ancestor with n labels (n <= label count). */
const char *dmarc_suffix(const char *d, size_t n);
/* 1 when d is anc or below it. */
int dmarc_within(const char *d, const char *anc);
/* A domain as DMARC compares it: A-labels, lower case, no final dot,
 * LDH (and "_") labels of 1..63 octets, 253 at most.  malloc'd, or NULL
 * with *why. */
char *dmarc_domain_norm(const char *d, const char **why);

/* ---- report destinations ---- */

/* The mailto: addresses of uris (dmarc_ruf_addresses' rules: each
 * element may be a comma-separated list, at most 16 addresses, no
 * duplicates).  NULL-terminated, malloc'd; NULL when none (or no
 * memory).  In dmarc_report.c. */
char **dmarc_mailto_list(char *const *uris, size_t nuris);

#endif
