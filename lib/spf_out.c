/* spf_out: what a verdict says: the explanation (RFC 7208 6.2), the
 * deciding term, Exim's/libspf2's comments and Received-SPF (9.1). */
#include "spf_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "msg.h"
#include "out.h"

/* ---- explanation ---- */

static char *
expand_exp(struct spf *s, const char *text, size_t len, const char *domain)
{
	struct spf_macro_ctx mc;
	const char *why;
	char *out;

	spf_macro_ctx(s, domain, &mc);
	if (spf_macro_expand(text, len, 1, &mc, &out, &why) != 0)
		return NULL;
	return out;
}

/* The exp= text of the record that decided, or NULL: no TXT, several,
 * a bad macro or a DNS error all mean the default (RFC 7208 6.2). */
static char *
record_exp(struct spf *s)
{
	struct spf_rec *r;
	char **txt = NULL, *out = NULL;
	size_t *lens = NULL, n = 0;

	if (!s->c.have_exp_rec)
		return NULL;
	r = &s->c.recs[s->c.exp_rec];
	if (r->exp_name == NULL || !spf_name_lookupable(r->exp_name))
		return NULL;
	if (dns_txt(r->exp_name, &txt, &lens, &n, NULL) == DNS_OK && n == 1 &&
	    lens[0] > 0)
		out = expand_exp(s, txt[0], lens[0], r->domain);
	dns_txt_free(txt, lens, n);
	if (out != NULL && *out == '\0') {
		free(out);
		out = NULL;
	}
	return out;
}

static char *
default_exp(struct spf *s)
{
	const char *d = s->c.domain != NULL ? s->c.domain : s->c.sender_dom;
	const char *e = s->o.default_exp;
	char *out = expand_exp(s, e, strlen(e), d);

	return out != NULL ? out : strdup(e);
}

/* ---- the deciding term ---- */

/* libspf2 does not say which term matched; our markers do: every term
 * of a main record queries one (a signal for ip4, ip6, all and ptr), and
 * libspf2 stops at the term that matched. */
static const struct spf_term *
deciding_term(struct spf *s)
{
	if (!s->c.have_exp_rec || !s->c.last_main ||
	    s->c.last_rec != s->c.exp_rec)
		return NULL;
	return &s->c.recs[s->c.exp_rec].parsed.t[s->c.last_term];
}

static char *
mechanism(struct spf *s, enum spfr r)
{
	const struct spf_term *t;

	if (r > SPFR_NEUTRAL)
		return NULL;
	if (s->c.by_default)
		return strdup("default");
	if ((t = deciding_term(s)) == NULL)
		return NULL;
	return strndup(t->text, t->text_len);
}

/* ---- comments ---- */

static char *
header_comment(struct spf *s, const struct spf_verdict *v, const char *ip)
{
	const char *rd = s->o.receiver;
	const char *d = s->c.domain != NULL ? s->c.domain : s->c.sender_dom;

	switch (v->result) {
	case SPFR_PASS:
		return spf_aprintf("%s: domain of %s designates %s as "
		    "permitted sender", rd, d, ip);
	case SPFR_FAIL:
		return spf_aprintf("%s: domain of %s does not designate %s as "
		    "permitted sender", rd, d, ip);
	case SPFR_SOFTFAIL:
		return spf_aprintf("%s: transitioning domain of %s does not "
		    "designate %s as permitted sender", rd, d, ip);
	case SPFR_NEUTRAL:
		return spf_aprintf("%s: %s is neither permitted nor denied by "
		    "domain of %s", rd, ip, d);
	case SPFR_NONE:
		return spf_aprintf("%s: domain of %s does not provide an SPF "
		    "record", rd, d);
	case SPFR_PERMERROR:
		return spf_aprintf("%s: error in processing during lookup of "
		    "domain of %s: %s", rd, d, v->problem != NULL ?
		    v->problem : "permanent error");
	default:
		return spf_aprintf("%s: encountered temporary error during SPF "
		    "processing of domain of %s", rd, d);
	}
}

/* libspf2's "EXPLANATION : Reason: WHY" for the results that refuse or
 * do not decide; empty for the others. */
static char *
smtp_comment(struct spf *s, const struct spf_verdict *v)
{
	char *e, *out;
	const char *why = s->c.by_default ? "default" :
	    v->result == SPFR_NONE ? "failure" : "mechanism";

	if (v->result == SPFR_PASS || v->result > SPFR_NONE)
		return strdup("");
	if (v->explanation != NULL)
		return spf_aprintf("%s : Reason: %s", v->explanation, why);
	if ((e = default_exp(s)) == NULL)
		return NULL;
	out = spf_aprintf("%s : Reason: %s", e, why);
	free(e);
	return out;
}

/* ---- Received-SPF (RFC 7208 9.1) ---- */

/* Text with the characters special in open escaped by '\'.  Controls
 * become '?'; so do 8-bit bytes, unless the text is UTF-8, which RFC 6532
 * allows in a header field (an SMTPUTF8 sender stays readable). */
static void
sb_escaped(struct out_buf *b, const char *s, const char *special)
{
	int utf8 = out_utf8_valid(s, strlen(s));

	for (; *s != '\0'; s++) {
		char ch = *s;

		if ((unsigned char)ch < 0x20 || (unsigned char)ch == 0x7f ||
		    ((unsigned char)ch >= 0x80 && !utf8))
			ch = '?';
		if (strchr(special, ch) != NULL)
			out_buf_add(b, "\\", 1);
		out_buf_add(b, &ch, 1);
	}
}

static void
sb_pair(struct out_buf *b, const char *key, const char *value)
{
	if (value == NULL)
		return;
	out_buf_str(b, " ");
	out_buf_str(b, key);
	out_buf_str(b, "=");
	if (msg_is_dot_atom(value, strlen(value))) {
		out_buf_str(b, value);
	} else {
		out_buf_str(b, "\"");
		sb_escaped(b, value, "\"\\");
		out_buf_str(b, "\"");
	}
	out_buf_str(b, ";");
}

static char *
received(struct spf *s, const struct spf_query *q, const struct spf_verdict *v,
    const char *ip)
{
	struct out_buf b = { NULL, 0, 0, 0 };
	const char *from = q->scope == SPF_SCOPE_HELO ? NULL :
	    q->sender == NULL || strcmp(q->sender, "<>") == 0 ? "" : q->sender;

	out_buf_str(&b, v->guessed ? "X-SPF-Guess: " : "Received-SPF: ");
	out_buf_str(&b, spf_result_name(v->result));
	out_buf_str(&b, " (");
	sb_escaped(&b, v->header_comment, "()\\");
	out_buf_str(&b, ")");
	sb_pair(&b, "client-ip", ip);
	sb_pair(&b, "envelope-from", from);
	sb_pair(&b, "helo", q->helo);
	sb_pair(&b, "receiver", s->o.receiver);
	sb_pair(&b, "identity", v->identity);
	sb_pair(&b, "mechanism", v->mechanism);
	sb_pair(&b, "problem", v->problem);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int
spf_verdict_strings(struct spf *s, const struct spf_query *q,
    struct spf_verdict *v)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(s->c.family, s->c.ip, ip, sizeof(ip));
	if (v->result == SPFR_PERMERROR || v->result == SPFR_TEMPERROR) {
		v->problem = strdup(s->c.perm != NULL ? s->c.perm :
		    s->c.temp != NULL ? s->c.temp : "unknown error");
		if (v->problem == NULL)
			return -1;
	}
	v->mechanism = mechanism(s, v->result);
	if (v->result == SPFR_FAIL) {
		if ((v->explanation = record_exp(s)) == NULL &&
		    (v->explanation = default_exp(s)) == NULL)
			return -1;
	}
	if ((v->header_comment = header_comment(s, v, ip)) == NULL ||
	    (v->smtp_comment = smtp_comment(s, v)) == NULL ||
	    (v->received = received(s, q, v, ip)) == NULL)
		return -1;
	return 0;
}

char *
spf_received_field(const struct spf_verdict *v, const char *eol)
{
	struct out_buf b = { NULL, 0, 0, 0 };
	const char *p = v->received, *sp;
	size_t col = 0, elen = strlen(eol);

	/* RFC 5322 folding: a line end before an existing space */
	while (*p != '\0') {
		sp = strchr(p + 1, ' ');
		size_t n = sp != NULL ? (size_t)(sp - p) : strlen(p);

		if (col > 0 && col + n > 78) {
			out_buf_add(&b, eol, elen);
			col = 0;
		}
		out_buf_add(&b, p, n);
		col += n;
		p += n;
	}
	out_buf_add(&b, eol, elen);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
