/* dmarc: DMARC for one message, RFC 7489 or RFC 9989 (DMARCbis).
 *
 * libopendmarc is the engine for the record and for RFC 7489's policy:
 * the record is found through lib/dns and handed to it with
 * opendmarc_policy_store_dmarc (organizational domain NULL when the record
 * was found at the author domain itself, or libopendmarc applies sp=
 * where p= is due).  Around it, our layer:
 *   - RFC 7489: the organizational domain from the Public Suffix List
 *     (opendmarc_tld_read_file; without a list libopendmarc silently skips
 *     the parent fallback, so a missing list is an error here);
 *   - RFC 9989: the DNS tree walk (at most 8 queries) instead of the PSL,
 *     np= (non-existent subdomains), psd= and t= (testing), pct= historic;
 *     libopendmarc 1.4.2 knows none of these, so alignment and policy
 *     selection are computed here in that mode;
 *   - pct sampling (libopendmarc leaves it to the caller), seedable;
 *   - _dmarc CNAMEs followed once (lib/dns follows the chain; a record
 *     reached through more than one CNAME is not taken);
 *   - Exim's dmarc_* results and one Authentication-Results field.
 */
#ifndef MXKIT_DMARC_H
#define MXKIT_DMARC_H
#include <stddef.h>
#include "msg.h"
#include "spf.h"

enum dmarc_mode {
	DMARC_RFC9989,		/* default */
	DMARC_RFC7489,
};

/* Exim's dmarc_status words. */
enum dmarc_status {
	DMARC_ACCEPT,		/* passed (aligned SPF or DKIM pass) */
	DMARC_NONE,		/* failed, the policy asks for no action */
	DMARC_REJECT,
	DMARC_QUARANTINE,
	DMARC_NORECORD,		/* no (usable) DMARC record */
	DMARC_NOFROM,		/* no single RFC5322.From domain */
	DMARC_TEMPERROR,	/* DNS failure: try later */
	DMARC_OFF,		/* not evaluated (the caller disabled it) */
};
const char *dmarc_status_name(enum dmarc_status s);
/* dmarceval's exit status: 0 accept, none and off; 1 reject;
 * 2 quarantine; 3 norecord and nofrom; 75 temperror. */
int dmarc_status_exit(enum dmarc_status s);

#define DMARC_DEFAULT_PSL "/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_MAX_WALK	8	/* RFC 9989 tree walk: queries at most */

struct dmarc_opts {
	enum dmarc_mode mode;
	const char *psl;	/* RFC 7489 mode; NULL: DMARC_DEFAULT_PSL */
	int seeded;		/* pct sampling from seed (tests) rather than
				   from getentropy */
	unsigned long seed;
	const char *authserv_id;	/* NULL: authres_default_id() */
};

/* Once per process, before dmarc_eval (it loads the PSL in RFC 7489
 * mode).  0, or -1 with *why set ("PATH: why"). */
int dmarc_init(const struct dmarc_opts *o, const char **why);
void dmarc_shutdown(void);

/* What SPF and DKIM said about the message; owns its strings. */
struct dmarc_dkim {
	char *domain;		/* d= */
	char *selector;		/* s=, may be "" */
	char *result;		/* RFC 8601 word: pass fail policy neutral
				   temperror permerror none */
};
struct dmarc_auth {
	int have_spf;
	enum spfr spf;
	char *spf_domain;	/* MAIL FROM domain, or the HELO name */
	enum spf_scope spf_scope;
	struct dmarc_dkim *dkim;
	size_t ndkim;
};
int dmarc_auth_set_spf(struct dmarc_auth *a, enum spfr r,
    const char *domain, enum spf_scope scope);
int dmarc_auth_add_dkim(struct dmarc_auth *a, const char *domain,
    const char *selector, const char *result);
void dmarc_auth_clear(struct dmarc_auth *a);
/* The spf and dkim results of every Authentication-Results field of m
 * whose authserv-id is trusted_id (case-insensitive); fields naming any
 * other id are ignored, never believed (CVE-2019-20790), and never parsed
 * (a malformed untrusted field is no error).  spf: the first result with
 * smtp.mailfrom (its domain part), else the first with smtp.helo
 * (SPF_SCOPE_HELO); dkim: each result with header.d (or header.i's
 * domain), header.s, in field order.  Unknown result words are skipped.
 * 0 (a may still be empty), or -1 with *why set (malformed trusted field:
 * the one-line reason). */
int dmarc_auth_from_authres(struct dmarc_auth *a, const struct msg *m,
    const char *trusted_id, const char **why);

/* The RFC5322.From domain of m (A-labels, lower case), malloc'd in *domain.
 * DMARC_FROM_OK; DMARC_FROM_NONE when there is no From field or no
 * address in it; DMARC_FROM_MANY for several From fields or several
 * addresses (both nofrom, RFC 7489 6.6.1); DMARC_FROM_BAD for a domain
 * that is not a domain, a domain literal or a field that does not parse.
 * *why (static) is set for every result but DMARC_FROM_OK. */
enum dmarc_from { DMARC_FROM_OK, DMARC_FROM_NONE, DMARC_FROM_MANY,
	DMARC_FROM_BAD };
enum dmarc_from dmarc_from_domain(const struct msg *m, char **domain,
    const char **why);

struct dmarc_verdict {
	enum dmarc_status status;
	const char *result;	/* the AR word: pass fail none temperror
				   permerror (nofrom) (static) */
	char *status_text;	/* dmarc_status_text: Exim's words ("Accept",
				   "None, Accept", "Reject", "Quarantine",
				   "No DMARC record", "No From: domain
				   found", "Temporary DMARC error"), then
				   ": why" and " (t=y / pct detail)" */
	char *from_domain;	/* header.from */
	char *used_domain;	/* dmarc_used_domain: where the record was;
				   the From domain when there is none; ""
				   for nofrom */
	char *org_domain;	/* organizational domain of from_domain (PSL
				   or tree walk); "" when unknown */
	const char *domain_policy;	/* dmarc_domain_policy: "none",
				   "quarantine", "reject"; "" on any error
				   or without a record (static) */
	const char *policy_tag;	/* which applied: "p", "sp", "np" ("") */
	const char *disposition;	/* applied after pct/t=: "none",
				   "quarantine", "reject" ("") */
	int spf_aligned, dkim_aligned;
	char *dkim_aligned_domain;	/* the d= that aligned, or NULL */
	char adkim, aspf;	/* 'r' or 's' */
	int pct;		/* 100 when absent; RFC 9989 mode reports it
				   but samples nothing (pct is historic) */
	int sampled_out;	/* pct sampling lowered the disposition */
	int testing;		/* t=y (RFC 9989) */
	int psd;		/* psd=: 'y', 'n' or 'u' (absent) */
	char *record;		/* the DMARC record as published, or NULL */
	char **rua, **ruf;	/* report URIs as in the record */
	size_t nrua, nruf;
	char *fo;		/* fo= as written, "0" when absent */
	char *ar_header;	/* dmarc_ar_header: the whole field
				   "Authentication-Results: id; dkim=...;
				   spf=...; dmarc=..." unfolded, no eol */
	unsigned dns_queries;	/* _dmarc TXT queries asked of lib/dns, each
				   name once per message (the CNAME check
				   and np='s existence query not counted) */
};

/* Evaluate.  from_domain NULL: nofrom.  0 with *v filled (the DNS
 * failures are in v->status, temperror); -1 only short of memory.  Every
 * char * of *v is a string ("" when unknown) except record,
 * dkim_aligned_domain, rua and ruf, which may be NULL.  SPF counts only
 * under SPF_SCOPE_MFROM: RFC 7489 4.1 and RFC 9989 4.4.2 align the MAIL
 * FROM identity alone. */
int dmarc_eval(const char *from_domain, const struct dmarc_auth *a,
    struct dmarc_verdict *v);
void dmarc_verdict_free(struct dmarc_verdict *v);

/* The record's tags checked the way dmarc_eval takes them in the mode
 * dmarc_init set (RFC 9989 before it; for tests and the fuzzer): 0 when
 * dmarc_eval would apply it, -1 with *why set when it would not (not
 * v=DMARC1 first, no usable p= and no usable rua=, ...).  Invalid
 * optional tags are dropped for their defaults, so they pass. */
int dmarc_record_check(const char *txt, size_t len, const char **why);

#endif
