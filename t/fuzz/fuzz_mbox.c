/* libFuzzer target: mbox_split_mem over both variants; every message must
 * lie within the input's size and be numbered in order.  The FILE reader
 * (with its fast path) must return exactly what the splitter returns. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mbox.h"

struct state {
	size_t size;
	unsigned long last;
	size_t total;
};

struct seen {
	struct mbox_msg *m;
	size_t n, cap;
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

static int
keep(const struct mbox_msg *m, void *arg)
{
	struct seen *s = arg;
	struct mbox_msg *k;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		if ((k = realloc(s->m, s->cap * sizeof(*k))) == NULL)
			abort();
		s->m = k;
	}
	k = &s->m[s->n++];
	*k = *m;
	if ((k->data = malloc(m->len + 1)) == NULL ||
	    (k->from_line = strdup(m->from_line)) == NULL)
		abort();
	memcpy(k->data, m->data, m->len + 1);
	return 0;
}

/* Read the same bytes with mbox_next and compare message by message. */
static void
compare_reader(const uint8_t *data, size_t size, enum mbox_variant v)
{
	struct seen s = { NULL, 0, 0 };
	struct mbox_msg m;
	struct mbox *mb;
	FILE *fp;
	long n = mbox_split_mem((const char *)data, size, v, keep, &s);
	size_t i = 0;
	int r;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		goto out;
	if ((mb = mbox_open(fp, v, 0)) == NULL)
		abort();
	while ((r = mbox_next(mb, &m)) == 1) {
		if (i >= s.n || m.len != s.m[i].len ||
		    m.index != s.m[i].index || m.offset != s.m[i].offset ||
		    memcmp(m.data, s.m[i].data, m.len + 1) != 0 ||
		    strcmp(m.from_line, s.m[i].from_line) != 0)
			abort();
		mbox_msg_free(&m);
		i++;
	}
	if ((r == -1) != (n == -1) || (n >= 0 && i != s.n) ||
	    (r == 0 && mbox_tell(mb) != size))
		abort();
	mbox_close(mb);
	fclose(fp);
out:
	for (i = 0; i < s.n; i++)
		mbox_msg_free(&s.m[i]);
	free(s.m);
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
	compare_reader(data, size, MBOX_RD);
	compare_reader(data, size, MBOX_O);
	return 0;
}
