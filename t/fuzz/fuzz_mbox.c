/* libFuzzer target: mbox_split_mem over both variants; every message must
 * lie within the input's size and be numbered in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

struct state {
	size_t size;
	unsigned long last;
	size_t total;
};

static int
each(const struct mbox_msg *m, void *arg)
{
	struct state *s = arg;

	if (m->index != s->last + 1 || m->len > s->size ||
	    m->offset >= s->size || m->data[m->len] != '\0' ||
	    strncmp(m->from_line, "From ", 5) != 0 ||
	    strpbrk(m->from_line, "\n") != NULL)
		abort();
	s->last = m->index;
	s->total += m->len + strlen(m->from_line);
	if (s->total > s->size)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state rd = { size, 0, 0 }, o = { size, 0, 0 };
	long nrd, no;

	nrd = mbox_split_mem((const char *)data, size, MBOX_RD, each, &rd);
	no = mbox_split_mem((const char *)data, size, MBOX_O, each, &o);
	/* Unquoting only changes bodies, never where messages split. */
	if (nrd != no || (nrd >= 0 && (unsigned long)nrd != rd.last))
		abort();
	return 0;
}
