/* libFuzzer target: addr_walk and addr_list_parse on an arbitrary field
 * value.  Invariants:
 *   - every mailbox is "local@domain" with the parts where addr_mbox
 *     says, and no line ending (nor a NUL, but from a value that has
 *     one: the lenient walk passes it on);
 *   - what ADDR_STRICT accepts, the lenient walk accepts with the same
 *     mailboxes, and addr_list_parse returns them;
 *   - a strict addr-spec is valid UTF-8 without control characters but
 *     tab, and the canonical form is a fixed point: the addr-specs joined
 *     with ", " parse back to themselves;
 *   - a failing addr_list_parse leaves the list as it was. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "out.h"

struct seen {
	struct addr_list l;
	int	 strict;
};

static int
check(void *arg, const struct addr_mbox *mb, const char **why)
{
	struct seen *s = arg;
	struct addr_list *l = &s->l;
	size_t n = mb->local_len + 1 + mb->domain_len;
	char **v;

	if (mb->spec[mb->local_len] != '@' ||
	    mb->domain != mb->spec + mb->local_len + 1 ||
	    mb->spec[n] != '\0' || mb->domain_len == 0 ||
	    memchr(mb->spec, '\n', n) != NULL)
		abort();
	if (s->strict && memchr(mb->spec, '\0', n) != NULL)
		abort();	/* only the lenient walk lets a NUL through */
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	l->v = v;
	if ((l->v[l->n] = strndup(mb->spec, n)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	l->n++;
	return 0;
}

static void
drop(struct addr_list *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
	free(l->v);
	l->v = NULL;
}

static int
same(const struct addr_list *a, const struct addr_list *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

static void
fixed_point(const struct addr_list *l)
{
	struct addr_list r = { 0 };
	const char *why;
	size_t i, n = 1;
	char *s;

	for (i = 0; i < l->n; i++)
		n += strlen(l->v[i]) + 2;
	if ((s = calloc(1, n)) == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(s, ", ");
		strcat(s, l->v[i]);
	}
	if (addr_list_parse(s, strlen(s), &r, &why) != 0) {
		/* only a bound may refuse it */
		if (strcmp(why, "out of memory") != 0 &&
		    strcmp(why, "field too complex") != 0)
			abort();
	} else if (!same(l, &r))
		abort();
	addr_list_free(&r);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen st = { { 0 }, 1 }, lx = { { 0 }, 0 };
	struct addr_list *strict = &st.l, *lax = &lx.l, l = { 0 };
	const char *v = (const char *)data, *why = NULL;
	size_t i, k;
	int rs, rl, rp;

	rs = addr_walk(v, size, ADDR_STRICT, check, &st, &why);
	if (rs != 0 && (rs != -1 || why == NULL))
		abort();
	rl = addr_walk(v, size, 0, check, &lx, &why);
	if (rl != 0 && (rl != -1 || why == NULL))
		abort();
	if (rs == 0 && (rl != 0 || !same(strict, lax)))
		abort();

	if (addr_list_parse("keep@x.test", 11, &l, &why) != 0)
		goto out;
	rp = addr_list_parse(v, size, &l, &why);
	if ((rp == 0) != (rs == 0) && strcmp(why, "out of memory") != 0)
		abort();
	if (rp == 0 && rs == 0) {
		if (l.n != strict->n + 1 || l.v[l.n] != NULL)
			abort();
		for (i = 0; i < strict->n; i++)
			if (strcmp(l.v[i + 1], strict->v[i]) != 0)
				abort();
	} else if (rp == -1) {
		if (l.n != 1 || l.v[1] != NULL ||
		    strcmp(l.v[0], "keep@x.test") != 0)
			abort();
	}
	if (rs == 0) {
		for (i = 0; i < strict->n; i++) {
			k = strlen(strict->v[i]);
			if (!out_utf8_valid(strict->v[i], k))
				abort();
			for (; k > 0; k--)
				if (((unsigned char)strict->v[i][k - 1] < 0x20 &&
				    strict->v[i][k - 1] != '\t') ||
				    strict->v[i][k - 1] == 0x7f)
					abort();
		}
		fixed_point(strict);
	}
out:
	addr_list_free(&l);
	drop(strict);
	drop(lax);
	return 0;
}
