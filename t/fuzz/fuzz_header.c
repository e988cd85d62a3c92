/* libFuzzer target: msg_parse, then msg_unfold and the lookups on every
 * field; checks that fields and body stay inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

static void
check_field(const struct msg *m, const struct msg_field *f)
{
	const char *end = m->buf + m->len;
	size_t ulen;
	char *u;

	if (f->raw < m->buf || f->raw_len > (size_t)(end - f->raw) ||
	    f->name_len == 0 || f->name_len >= f->raw_len ||
	    f->value <= f->raw || f->value[-1] != ':' ||
	    f->value + f->value_len != f->raw + f->raw_len)
		abort();
	if ((u = msg_unfold(f->value, f->value_len, &ulen)) == NULL)
		return;
	if (ulen > f->value_len || u[ulen] != '\0' ||
	    memchr(u, '\n', ulen) != NULL)
		abort();
	free(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msg m;	/* reused, as the verifier does */
	const char *why = NULL;
	char name[32];
	size_t i;

	if (msg_parse(&m, (const char *)data, size, &why) != 0) {
		if (why == NULL || m.nfields != 0)
			abort();
		return 0;
	}
	if (m.body_len > m.len || m.body + m.body_len != m.buf + m.len)
		abort();
	for (i = 0; i < m.nfields; i++) {
		const struct msg_field *f = &m.fields[i];

		check_field(&m, f);
		if (f->name_len < sizeof(name)) {
			memcpy(name, f->raw, f->name_len);
			name[f->name_len] = '\0';
			if (!msg_field_is(f, name) || msg_count(&m, name) == 0 ||
			    msg_find(&m, name, 0) > (long)i)
				abort();
		}
	}
	return 0;
}
