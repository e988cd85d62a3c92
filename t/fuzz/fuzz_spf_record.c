/* libFuzzer target: spf_record_parse on any bytes (as a TXT record), then
 * every term's domain-spec and the whole input expanded as macro-strings
 * in both modes.  Checks that terms stay inside the input, that the
 * counts are bounded and that expansions respect their limits. */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf_record.h"

static const char *
ptr_name(void *arg)
{
	(void)arg;
	return "mx.example.org";
}

static void
expand(const char *s, size_t len, int exp, const struct spf_macro_ctx *c)
{
	char *out = NULL;
	const char *why = NULL;
	int r = spf_macro_expand(s, len, exp, c, &out, &why);

	if (r != 0) {
		if (out != NULL || why == NULL)
			abort();
		return;
	}
	if (out == NULL || spf_macro_valid(s, len, exp) != 1)
		abort();
	/* domain mode cuts at 253 unless one label is longer */
	if (!exp && strlen(out) > 253 && strchr(out, '.') != NULL &&
	    strchr(out, '.') - out < 253)
		abort();
	(void)spf_name_lookupable(out);
	free(out);
}

static void
check_terms(const char *rec, size_t len, const struct spf_parsed *p,
    const struct spf_macro_ctx *c)
{
	if (p->n > SPF_TERMS_MAX)
		abort();
	for (size_t i = 0; i < p->n; i++) {
		const struct spf_term *t = &p->t[i];

		if (t->text < rec || t->text_len == 0 ||
		    t->text_len > (size_t)(rec + len - t->text))
			abort();
		if (t->spec != NULL && (t->spec < t->text ||
		    t->spec + t->spec_len > t->text + t->text_len))
			abort();
		if (t->cidr4 > 32 || t->cidr6 > 128)
			abort();
		for (size_t j = 0; j < t->text_len; j++)
			if (t->text[j] <= ' ' || t->text[j] >= 0x7f)
				abort();
		if (t->spec != NULL && t->kind != SPFT_IP4 &&
		    t->kind != SPFT_IP6)
			expand(t->spec, t->spec_len, 0, c);
	}
	if ((p->redirect >= 0 && p->t[p->redirect].kind != SPFT_REDIRECT) ||
	    (p->exp >= 0 && p->t[p->exp].kind != SPFT_EXP))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_macro_ctx c;
	struct spf_parsed p;
	char why[160], *rec;

	memset(&c, 0, sizeof(c));
	c.local = "strong-bad";
	c.sender_dom = c.domain = "email.example.com";
	c.helo = "mx.example.org";
	c.receiver = "mail.example.net";
	c.family = size > 0 && data[0] & 1 ? AF_INET6 : AF_INET;
	inet_pton(c.family, c.family == AF_INET ? "192.0.2.3" :
	    "2001:db8::cb01", c.ip);
	c.ptr_name = ptr_name;
	if ((rec = malloc(size + 1)) == NULL)
		return 0;
	memcpy(rec, data, size);
	rec[size] = '\0';
	(void)spf_record_is_spf1(rec, size);
	if (spf_record_parse(rec, size, &p, why, sizeof(why)) == 0) {
		check_terms(rec, size, &p, &c);
		spf_parsed_free(&p);
	} else if (strlen(why) == 0 || strlen(why) >= sizeof(why)) {
		abort();
	}
	(void)spf_domain_spec_valid(rec, size);
	expand(rec, size, 0, &c);
	expand(rec, size, 1, &c);
	free(rec);
	return 0;
}
