/* libFuzzer target: dkim_tags_parse on any bytes, then dkim_sig_parse_ex on
 * the same bytes as a DKIM-Signature value.  Checks that tags stay inside
 * the input and are well formed, and that a parsed signature is complete. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

static int
is_wsp_or_break(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
check_tags(const char *s, size_t len, const struct dkim_taglist *tl)
{
	if (tl->n > DKIM_MAX_TAGS)
		abort();
	for (size_t i = 0; i < tl->n; i++) {
		const struct dkim_tag *t = &tl->tag[i];
		char name[64];

		if (t->name < s || t->name_len == 0 ||
		    t->name_len > (size_t)(s + len - t->name) ||
		    t->value < s || t->value_len > (size_t)(s + len - t->value))
			abort();
		if (t->value_len > 0 && (is_wsp_or_break(t->value[0]) ||
		    is_wsp_or_break(t->value[t->value_len - 1]) ||
		    memchr(t->value, ';', t->value_len) != NULL))
			abort();
		for (size_t j = 0; j < t->name_len; j++)
			if (!(t->name[j] == '_' ||
			    (t->name[j] >= '0' && t->name[j] <= '9') ||
			    (t->name[j] >= 'a' && t->name[j] <= 'z') ||
			    (t->name[j] >= 'A' && t->name[j] <= 'Z')))
				abort();
		if (t->name_len < sizeof(name)) {
			memcpy(name, t->name, t->name_len);
			name[t->name_len] = '\0';
			if (dkim_tags_get(tl, name) != t)
				abort();	/* duplicates are refused */
		}
	}
}

static void
check_sig(const struct dkim_sig *sig)
{
	if (sig->version != 1 || sig->algo_text == NULL ||
	    sig->domain == NULL || sig->domain[0] == '\0' ||
	    sig->selector == NULL || sig->identity == NULL ||
	    strchr(sig->identity, '@') == NULL || sig->nh == 0 ||
	    sig->hnames == NULL || sig->hnames_text == NULL ||
	    sig->b == NULL || sig->bh == NULL || sig->b_text == NULL ||
	    sig->query == NULL)
		abort();
	for (size_t i = 0; i < sig->nh; i++)
		if (sig->hnames[i] == NULL || sig->hnames[i][0] == '\0' ||
		    strchr(sig->hnames[i], ':') != NULL)
			abort();
	if (sig->length < -1 || sig->created < -1 || sig->expires < -1 ||
	    (sig->created >= 0 && sig->expires >= 0 &&
	    sig->expires < sig->created))
		abort();
	if (dkim_algo_name(sig->algo) == NULL ||
	    dkim_canon_name(sig->hcanon) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *why = NULL;
	struct dkim_taglist tl;
	struct dkim_sig sig;
	int reason = -1;

	if (dkim_tags_parse(s, size, &tl, &why) == 0)
		check_tags(s, size, &tl);
	else if (why == NULL)
		abort();
	why = NULL;
	if (dkim_sig_parse_ex(s, size, &sig, &why, &reason) == 0) {
		if (reason != DKIM_R_NONE)
			abort();
		check_sig(&sig);
		dkim_sig_free(&sig);
		if (sig.domain != NULL || sig.hnames != NULL || sig.nh != 0)
			abort();
	} else if (why == NULL || (reason != DKIM_R_SIGNATURE_SYNTAX &&
	    reason != DKIM_R_UNSUPPORTED_VERSION &&
	    reason != DKIM_R_UNSUPPORTED_CANON &&
	    reason != DKIM_R_UNSUPPORTED_QUERY) || sig.domain != NULL)
		abort();
	return 0;
}
