/* spf_record: the strict RFC 7208 record checker and macro expander.
 *
 * Pure functions over bytes (no DNS, no libspf2), so that they can be
 * unit-tested and fuzzed on their own.  lib/spf.c uses them to reject
 * what libspf2 1.2.10 accepts but RFC 7208 does not (section 12's ABNF),
 * to expand every domain-spec and explanation itself (section 7), and to
 * hand libspf2 a normalized record it evaluates correctly.
 */
#ifndef MXKIT_SPF_RECORD_H
#define MXKIT_SPF_RECORD_H
#include <stddef.h>
#include <time.h>

/* Bounds on hostile input: a record longer than this (RFC 7208 3.4 says
 * 450 bytes are safe; DNS allows more through several strings) or with
 * more terms is a permerror. */
#define SPF_RECORD_MAX	4096
#define SPF_TERMS_MAX	128

enum spf_term_kind {
	SPFT_ALL, SPFT_INCLUDE, SPFT_A, SPFT_MX, SPFT_PTR, SPFT_IP4, SPFT_IP6,
	SPFT_EXISTS,
	SPFT_REDIRECT, SPFT_EXP, SPFT_UNKNOWN_MOD,
};

struct spf_term {
	enum spf_term_kind kind;
	char qualifier;		/* '+' '-' '~' '?'; '+' when absent and for
				   modifiers */
	const char *text;	/* the term as written (points into the
				   record), text_len bytes */
	size_t text_len;
	const char *spec;	/* domain-spec or macro-string after ':'/'=';
				   NULL when absent (a, mx, ptr, all) */
	size_t spec_len;
	int cidr4, cidr6;	/* -1 when absent */
	unsigned char addr[16];	/* ip4 (4 bytes) or ip6 network */
};

struct spf_parsed {
	struct spf_term *t;
	size_t n;
	int has_all;		/* an "all" mechanism is present */
	int redirect;		/* index of redirect=, -1 */
	int exp;		/* index of exp=, -1 */
};

/* 1 when txt (len bytes) is an SPF version 1 record: "v=spf1" (any case)
 * followed by a space or the end (RFC 7208 4.5). */
int spf_record_is_spf1(const char *txt, size_t len);

/* Parse and check rec (len bytes, may hold NULs: they are errors) against
 * RFC 7208's ABNF.  0 with *out filled (free with spf_parsed_free; the
 * terms point into rec, which must outlive *out); -1 with a one-line
 * reason in why (whylen bytes, NUL-terminated, quoting the bad term). */
int spf_record_parse(const char *rec, size_t len, struct spf_parsed *out,
    char *why, size_t whylen);
void spf_parsed_free(struct spf_parsed *p);

/* 1 when s (len bytes) is a macro-string (RFC 7208 7.1); exp allows the
 * c, r, t letters and spaces (explain-string).  0 otherwise. */
int spf_macro_valid(const char *s, size_t len, int exp);

/* 1 when s is a domain-spec: a macro-string ending in "." toplabel ["."]
 * or in a macro-expand (RFC 7208 7.1). */
int spf_domain_spec_valid(const char *s, size_t len);

/* What the macros expand to (RFC 7208 7.2). */
struct spf_macro_ctx {
	const char *local;	/* l: local-part of the sender */
	const char *sender_dom;	/* o */
	const char *domain;	/* d: the current domain */
	int family;		/* AF_INET or AF_INET6 */
	unsigned char ip[16];	/* the client, 4 or 16 bytes */
	const char *helo;	/* h ("" when unknown) */
	const char *receiver;	/* r */
	time_t now;		/* t */
	int upper_hex;		/* i of an IPv6 client in upper-case hex
				   nibbles (the address was written so) */
	/* p: the validated domain name of the client, looked up only when
	 * a %{p} appears; NULL or returning NULL gives "unknown". */
	const char *(*ptr_name)(void *arg);
	void *ptr_arg;
};

/* Expand s (len bytes).  exp: explanation mode (c r t and spaces
 * allowed, no trailing-dot removal, no length cut).  Otherwise domain
 * mode: a final "." is dropped and a result over 253 bytes loses
 * left-hand labels (RFC 7208 7.3).  0 with *out malloc'd; -1 with *why
 * (static) on a syntax error or no memory.  The result is bounded by
 * SPF_RECORD_MAX * 8 bytes. */
int spf_macro_expand(const char *s, size_t len, int exp,
    const struct spf_macro_ctx *c, char **out, const char **why);

/* 1 when name (an expanded domain-spec, no final dot) can be looked up:
 * labels of 1 to 63 bytes, at most 253 bytes in all. */
int spf_name_lookupable(const char *name);

#endif
