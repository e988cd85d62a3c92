/* addr: RFC 5322 address lists (3.4), obsolete forms included (4.4), as
 * they come in From:, To:, Cc:, Bcc: and the Resent- fields.
 *
 * Syntax understood: mailboxes as addr-specs ("a@example.test") or as
 * angle addresses with a display name (atoms, quoted strings,
 * encoded-words left as they are) and an optional obs-route
 * ("<@relay.test,@b.test:a@example.test>"); groups ("friends: a@x.test,
 * b@y.test;", "undisclosed-recipients:;"), whose display names are
 * dropped; comments (nested) and folding white space anywhere between
 * tokens; CFWS inside an addr-spec ("a . b @ example . test").  Lenient
 * where nothing is lost: ';' may separate mailboxes as ',' does
 * (Outlook), a group need not end with ';', groups may nest.  A
 * ','-separated piece with neither '@' nor '<' ("Doe, John <j@x.test>")
 * is a stray piece of display name, not a mailbox, and is skipped; so is
 * an empty piece and the null address "<>".
 *
 * Each mailbox comes out as its addr-spec in canonical form: CFWS
 * removed, the local part as written (a quoted local part keeps its
 * quotes and backslashes; obs-local-part words joined by "."), "@", the
 * domain (atoms joined by ".", or a domain literal "[...]" as written).
 * UTF-8 (RFC 6532) is kept as it is in both parts: no IDNA, no case
 * folding.
 *
 * Two levels of checking.  The hard errors are always errors: an
 * unterminated quoted string, comment, domain literal or angle address,
 * a stray '>', several angle addresses in one mailbox, an address without
 * a domain or with an empty, malformed (a quoted string or a special
 * before any domain literal in it) or too long one, too many tokens.
 * ADDR_STRICT adds what would otherwise mangle or lose an address: a
 * local part or domain that is not words (atoms) joined by single dots,
 * an empty local part, several '@', text after an angle address, a
 * malformed obs-route, a group name that is not a phrase (it might hide a
 * mailbox: "a@x.test: b@y.test;"), control characters or invalid UTF-8
 * in an addr-spec.  Without ADDR_STRICT those addresses are still
 * reported, their parts being the non-CFWS tokens concatenated and the
 * domain what follows the last '@' (DMARC needs only the domain and must
 * not turn away what it used to take); such parts may then hold any byte
 * but LF, NUL included: use the lengths.
 *
 * Errors are static one-line strings without a field name ("unterminated
 * comment", "malformed domain"); a caller that names the field maps them.
 */
#ifndef MXKIT_ADDR_H
#define MXKIT_ADDR_H
#include <stddef.h>

#include "msg.h"

#define ADDR_MAX_TOKENS	4096	/* per field value: atoms, quoted strings,
				   domain literals, specials */
#define ADDR_COMMENT_DEPTH 32	/* nested comments */
#define ADDR_MAX_DOMAIN	1024	/* octets of a domain that is no literal */

#define ADDR_STRICT	0x1

/* One mailbox found by addr_walk; the strings live until the callback
 * returns. */
struct addr_mbox {
	const char *spec;	/* the canonical addr-spec, NUL-terminated */
	size_t	 local_len;	/* spec[0..local_len) is the local part,
				   spec[local_len] the '@' */
	const char *domain;	/* spec + local_len + 1, NUL-terminated */
	size_t	 domain_len;
	int	 literal;	/* the domain is (without ADDR_STRICT: holds)
				   a domain literal */
};

/* Called for each mailbox in order: 0 to go on, 1 to stop the walk, -1
 * (with *why set) to fail it. */
typedef int addr_walk_fn(void *arg, const struct addr_mbox *mb,
    const char **why);

/* Walk the address-list value[0..len) (a field value, folded or not; the
 * whole value is tokenized before the first call, so tokenizer errors come
 * first, the other errors when the walk reaches them).  0 at the end, 1
 * when fn stopped it, -1 with *why (static; fn's own or ours). */
int addr_walk(const char *value, size_t len, unsigned flags,
    addr_walk_fn *fn, void *arg, const char **why);

/* Addr-specs, malloc'd.  Zero it before first use, free it with
 * addr_list_free (even after an error); v is NULL-terminated whenever it
 * is not NULL. */
struct addr_list {
	char	**v;
	size_t	 n;
	size_t	 cap;
};

/* Parse an address-list value (ADDR_STRICT) and append its mailboxes'
 * addr-specs to l.  0, or -1 with *why (static), l then as it was. */
int addr_list_parse(const char *value, size_t len, struct addr_list *l,
    const char **why);

/* Every mailbox of every field of m whose name is one of names[0..n)
 * (case-insensitive), in message order (not grouped by name; duplicates
 * kept), appended to l.  0, or -1 with *why (the first failing field's
 * error), l then as it was. */
int addr_list_from_fields(const struct msg *m, const char *const *names,
    size_t n, struct addr_list *l, const char **why);

void addr_list_free(struct addr_list *l);

#endif
