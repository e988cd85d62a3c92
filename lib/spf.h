/* spf: Sender Policy Framework checks (RFC 7208) for one client.
 *
 * libspf2 is the engine: it walks the record's terms, matches addresses
 * and follows include/redirect.  Around it sits a thin conformance layer,
 * because libspf2 1.2.10 alone passes half of the RFC 7208 test suite:
 *   - every DNS lookup libspf2 makes goes through lib/dns (a custom
 *     SPF_dns_server_t), where the 10-term, 2-void and MX/PTR limits are
 *     counted and where timeouts become temperror;
 *   - every record is fetched, selected (exactly one "v=spf1") and checked
 *     strictly by spf_record (RFC 7208 sections 4.6 and 7.1) before it is
 *     handed, normalized, to libspf2's compiler;
 *   - explanations (exp=) are fetched and expanded here (section 6.2);
 *   - the result words, the Received-SPF field (section 9.1) and the
 *     comments are built here, Exim's way.
 * What still cannot be fixed around libspf2 is listed in spfcheck(1),
 * STANDARDS.
 *
 * A struct spf is not thread-safe; use one per thread.  DNS answers are
 * shared through lib/dns's cache (dns_init first).
 */
#ifndef MXKIT_SPF_H
#define MXKIT_SPF_H
#include <stddef.h>

/* The result words are Exim's (and RFC 7208 section 2.6's). */
enum spfr {
	SPFR_PASS,
	SPFR_FAIL,
	SPFR_SOFTFAIL,
	SPFR_NEUTRAL,
	SPFR_NONE,
	SPFR_PERMERROR,
	SPFR_TEMPERROR,
};
#define SPFR_COUNT 7

/* "pass", "fail", ... */
const char *spf_result_name(enum spfr r);
/* A result word as a user writes it: the seven words, case-insensitive,
 * plus Exim's old aliases err_perm and err_temp.  -1 when unknown. */
int spf_result_parse(const char *word);
/* spfcheck's exit status: pass 0, fail 1, softfail 2, neutral 3, none 4,
 * permerror 5, temperror 6 (the enum's order). */
int spf_result_exit(enum spfr r);

enum spf_scope {
	SPF_SCOPE_MFROM,	/* MAIL FROM; an empty sender checks postmaster@HELO */
	SPF_SCOPE_HELO,		/* the HELO identity on its own */
};
/* "mfrom" or "helo" (case-insensitive) as the scope; -1 otherwise. */
int spf_scope_parse(const char *word);

/* RFC 7208 section 4.6.4; zero fields take these defaults. */
#define SPF_MAX_LOOKUPS	10	/* terms that cause DNS queries */
#define SPF_MAX_VOID	2	/* of those, answers with no records */
#define SPF_MAX_MX	10	/* MX names looked up per mx term */
#define SPF_MAX_PTR	10	/* PTR names looked up per ptr term or %{p} */
struct spf_limits {
	unsigned lookups, void_lookups, mx, ptr;
};

/* Exim's spf_guess default. */
#define SPF_DEFAULT_GUESS "v=spf1 a/24 mx/24 ptr ?all"
/* What a fail explains when the record has no usable exp= (a macro-string,
 * RFC 7208 section 7). */
#define SPF_DEFAULT_EXPLANATION \
	"%{i} is not one of %{o}'s designated mail servers"

struct spf_opts {
	const char *receiver;	/* receiver= and %{r}; NULL: the host name */
	const char *default_exp;	/* NULL: SPF_DEFAULT_EXPLANATION */
	const char *guess;	/* best-guess record used when the domain
				   publishes none; NULL: no guessing */
	struct spf_limits limits;
};

struct spf_query {
	const char *ip;		/* client address, IPv4 or IPv6 text; an
				   IPv4-mapped IPv6 address counts as IPv4 */
	const char *sender;	/* MAIL FROM address, NULL or "" for <> */
	const char *helo;	/* HELO/EHLO argument; NULL when unknown */
	enum spf_scope scope;
};

struct spf_verdict {
	enum spfr result;
	int guessed;		/* spf_result_guessed: the best-guess record
				   decided (the domain published none) */
	const char *identity;	/* "mailfrom" or "helo" (static) */
	char *domain;		/* the domain checked (A-labels) */
	char *sender;		/* the identity checked: the address, or
				   postmaster@HELO */
	char *mechanism;	/* the term that decided, as written
				   ("ip4:192.0.2.0/24", "-all"); "default"
				   when none matched; NULL for none/errors */
	char *problem;		/* permerror/temperror: what went wrong, one
				   line naming the domain; else NULL */
	char *explanation;	/* spf_explanation: fail only; the expanded
				   exp= text, or the default explanation */
	char *header_comment;	/* spf_header_comment */
	char *smtp_comment;	/* spf_smtp_comment */
	char *received;		/* spf_received: the whole field, unfolded,
				   no line end: "Received-SPF: pass (...)
				   client-ip=...; ..." (X-SPF-Guess when
				   guessed) */
	unsigned lookups;	/* DNS-querying terms evaluated */
	unsigned void_lookups;
};

struct spf;

/* NULL with *why set on failure (libspf2 could not start). */
struct spf *spf_new(const struct spf_opts *o, const char **why);
void spf_free(struct spf *s);

/* Check one query.  0 with *v filled (free it with spf_verdict_free);
 * -1 with *why set when the query itself is unusable (an IP that is not
 * an address, HELO scope without a HELO name, no memory): no verdict. */
int spf_check(struct spf *s, const struct spf_query *q,
    struct spf_verdict *v, const char **why);
void spf_verdict_free(struct spf_verdict *v);

/* v->received folded at 78 columns with eol line ends and a final eol,
 * for prepending to a message.  malloc'd. */
char *spf_received_field(const struct spf_verdict *v, const char *eol);

#endif
