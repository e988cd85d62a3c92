/* spf_int: what the spf_*.c files share; not an API. */
#ifndef MXKIT_SPF_INT_H
#define MXKIT_SPF_INT_H
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <time.h>
#include <ldns/ldns.h>

#include "spf.h"
#include "spf_record.h"

/* A marker stands for one term's target in the records handed to
 * libspf2: "m<N>.<random>.invalid"; our DNS layer maps it back.  The
 * random label keeps names from DNS answers (MX, PTR) from posing as
 * markers. */
enum mark_kind {
	MK_A, MK_MX, MK_EXISTS, MK_INCLUDE, MK_REDIRECT,
	MK_PTR,		/* ptr, evaluated by us, as an exists */
	MK_SIGNAL,	/* no query: the term after it is being evaluated */
	MK_CHAIN,	/* the next piece of a long record (spf_norm.c) */
};

struct spf_mark {
	enum mark_kind kind;
	char *name;		/* the expanded target */
	int cidr4, cidr6;	/* 32/128 when absent */
	size_t rec, term;	/* where it came from */
	unsigned nmech;		/* MK_CHAIN: mechanisms in the piece */
};

struct spf_rec {
	char *domain;		/* the record's domain (%{d}) */
	char *text;		/* the record as published */
	struct spf_parsed parsed;	/* points into text */
	int main;		/* top record or reached by redirect only */
	char *exp_name;		/* expanded exp= domain, or NULL */
};

struct spf_ctx {
	/* the query */
	int family;
	int upper_hex;		/* the IPv6 text had upper-case hex */
	unsigned char ip[16];
	const char *helo;
	enum spf_scope scope;
	char *local, *sender_dom;
	char *domain;		/* A-labels; NULL: cannot have a record */
	time_t now;
	/* what the evaluation saw */
	struct spf_mark *marks;
	size_t nmarks;
	struct spf_rec *recs;
	size_t nrecs;
	unsigned lookups, voids;
	int guessing;		/* the best-guess record: no void limit */
	char *perm, *temp;	/* first problem */
	int none;		/* the top domain has no record */
	int mx_cidr4, mx_cidr6;	/* for the A lookups after an MX answer */
	int last_main;		/* a main record's term was queried */
	int by_default;		/* no term matched (RFC 7208 4.7) */
	size_t last_rec, last_term;
	size_t exp_rec;		/* the last main record loaded */
	int have_exp_rec;
	char *ptr_name;		/* %{p}, looked up once */
	int ptr_done;
};

struct spf {
	struct spf_opts o;
	char suffix[32];	/* of the markers: ".<random>.invalid" */
	SPF_server_t *server;
	SPF_dns_server_t *dns;
	struct spf_ctx c;
};

char *spf_strdup(const char *s);
char *spf_aprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void spf_set_perm(struct spf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void spf_set_temp(struct spf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* spf_dns.c: libspf2 server with our DNS layer; one evaluation. */
int spf_engine_new(struct spf *s, const char **why);
void spf_engine_free(struct spf *s);
int spf_engine_run(struct spf *s, struct spf_verdict *v);
/* Count a DNS-querying term; 0, or -1 past the limit (perm set). */
int spf_count_lookup(struct spf *s);
/* Count an empty answer; 0, or -1 past the limit (perm set). */
int spf_count_void(struct spf *s);

/* spf_norm.c: the record rewritten for libspf2 (malloc'd); NULL with
 * perm set. */
char *spf_normalize(struct spf *s, size_t rec, unsigned *nmech);
void spf_macro_ctx(struct spf *s, const char *domain,
    struct spf_macro_ctx *mc);
int spf_ip_match(int family, const unsigned char *a, const unsigned char *b,
    int bits);

/* spf_ptr.c: 1 when a validated name of the client is target or below
 * it, 0 when none, -1 on a DNS error (temp set); %{p}. */
int spf_ptr_match(struct spf *s, const char *target);
const char *spf_ptr_cb(void *arg);
char *spf_rdf_name(ldns_rdf *d);

/* spf_out.c: explanation, mechanism and the verdict strings. */
int spf_verdict_strings(struct spf *s, const struct spf_query *q,
    struct spf_verdict *v);

#endif
