/* authres: Authentication-Results header fields (RFC 8601).
 *
 * Build one field for an authserv-id, add a method result per check with
 * its properties, and format it folded at 78 columns.  Also recognizes
 * fields that claim a given authserv-id, so that a border MTA can remove
 * forged ones (RFC 8601 section 5).
 */
#ifndef MXKIT_AUTHRES_H
#define MXKIT_AUTHRES_H
#include <stddef.h>

struct authres;

/* authserv_id NULL: the host name (gethostname, FQDN when resolvable
 * without the network is not attempted). */
struct authres *authres_new(const char *authserv_id);
void authres_free(struct authres *ar);
const char *authres_id(const struct authres *ar);

/* Start a resinfo: method ("dkim"), result ("pass"), optional reason
 * (quoted as needed; NULL for none). */
int authres_add(struct authres *ar, const char *method, const char *result,
    const char *reason);
/* Add a property to the last resinfo: ptype ("header"), property ("d"),
 * value (quoted when it is not a valid token/dot-atom). */
int authres_prop(struct authres *ar, const char *ptype, const char *property,
    const char *value);

/* "Authentication-Results: id; dkim=pass header.d=... ;\r\n\t..." with eol
 * line endings and a final eol; "id; none" when no result was added.
 * malloc'd. */
char *authres_format(const struct authres *ar, const char *eol);

/* 1 when the Authentication-Results value (as in the message, folded,
 * CFWS allowed) names authserv_id (case-insensitive), else 0. */
int authres_claims(const char *value, size_t len, const char *authserv_id);

/* ---- parsing (RFC 8601 section 2.2 grammar, CFWS and comments allowed,
 * RFC 2045 quoted-string values, version after the authserv-id) ---- */
struct authres_prop {
	char *ptype;		/* "smtp", "header", "body", "policy" */
	char *property;		/* "mailfrom", "d", "from" */
	char *value;		/* unquoted */
};
struct authres_result {
	char *method;		/* lower case: "spf", "dkim", "dmarc" */
	char *result;		/* lower case: "pass" */
	char *reason;		/* unquoted, NULL when absent */
	struct authres_prop *props;
	size_t nprops;
};
struct authres_parsed {
	char *authserv_id;
	struct authres_result *r;	/* none for "id; none" */
	size_t n;
};
/* Parse one field's value (everything after "Authentication-Results:").
 * 0 with *out filled (free with authres_parsed_free); -1 with *why set to
 * a static one-line reason when it does not follow the grammar. */
int authres_parse(const char *value, size_t len, struct authres_parsed *out,
    const char **why);
void authres_parsed_free(struct authres_parsed *p);

/* The default authserv-id: the host name; static storage. */
const char *authres_default_id(void);

#endif
