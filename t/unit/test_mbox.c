/* Unit tests for lib/mbox: streaming mboxrd/mboxo reader, splitter, writer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mbox.h"

#define S(lit) lit, sizeof(lit) - 1
#define MAXMSG 16

struct got {
	size_t n;
	struct mbox_msg m[MAXMSG];
};

static FILE *
file_of(const char *buf, size_t len)
{
	FILE *fp = tmpfile();

	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(buf, 1, len, fp), len);
	rewind(fp);
	return fp;
}

static int
keep(const struct mbox_msg *m, void *arg)
{
	struct got *g = arg;
	struct mbox_msg *c;

	assert_true(g->n < MAXMSG);
	c = &g->m[g->n++];
	*c = *m;
	c->data = malloc(m->len + 1);
	c->from_line = strdup(m->from_line);
	assert_non_null(c->data);
	memcpy(c->data, m->data, m->len + 1);
	return 0;
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		mbox_msg_free(&g->m[i]);
	g->n = 0;
}

/* Read an archive both ways, the FILE reader and the splitter, and check
 * they agree message for message. */
static void
read_both(const char *buf, size_t len, enum mbox_variant v, struct got *g)
{
	struct got s = { 0 };
	struct mbox *mb;
	FILE *fp = file_of(buf, len);
	int r;
	size_t i;

	g->n = 0;
	assert_non_null(mb = mbox_open(fp, v, 0));
	while ((r = mbox_next(mb, &g->m[g->n])) == 1)
		assert_true(++g->n < MAXMSG);
	assert_int_equal(r, 0);
	assert_int_equal(mbox_next(mb, &g->m[g->n]), 0);
	assert_int_equal(mbox_tell(mb), len);
	mbox_close(mb);
	fclose(fp);

	assert_int_equal(mbox_split_mem(buf, len, v, keep, &s), (long)g->n);
	assert_int_equal(s.n, g->n);
	for (i = 0; i < g->n; i++) {
		assert_int_equal(s.m[i].len, g->m[i].len);
		assert_memory_equal(s.m[i].data, g->m[i].data, g->m[i].len);
		assert_string_equal(s.m[i].from_line, g->m[i].from_line);
		assert_int_equal(s.m[i].index, g->m[i].index);
		assert_int_equal(s.m[i].offset, g->m[i].offset);
		assert_int_equal(g->m[i].index, i + 1);
		assert_int_equal(g->m[i].data[g->m[i].len], '\0');
	}
	got_free(&s);
}

static void
assert_data(const struct mbox_msg *m, const char *want)
{
	assert_int_equal(m->len, strlen(want));
	assert_memory_equal(m->data, want, m->len);
}

static const char two_lf[] =
    "From a@example.com Mon Jan  1 00:00:00 2024\n"
    "Subject: one\n"
    "\n"
    "body one\n"
    "\n"
    "From b@example.com Tue Jan  2 00:00:00 2024\n"
    "Subject: two\n"
    "\n"
    "body two\n"
    "\n";

static void
test_lf_two(void **state)
{
	struct got g;

	(void)state;
	read_both(S(two_lf), MBOX_RD, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.m[0].from_line,
	    "From a@example.com Mon Jan  1 00:00:00 2024");
	assert_data(&g.m[0], "Subject: one\n\nbody one\n");
	assert_int_equal(g.m[0].offset, 0);
	assert_string_equal(g.m[1].from_line,
	    "From b@example.com Tue Jan  2 00:00:00 2024");
	assert_data(&g.m[1], "Subject: two\n\nbody two\n");
	assert_int_equal(g.m[1].offset,
	    strstr(two_lf, "From b@") - two_lf);
	got_free(&g);
}

static void
test_crlf(void **state)
{
	static const char in[] =
	    "From a@example.com Mon Jan  1 00:00:00 2024\r\n"
	    "Subject: one\r\n\r\nbody\r\n>From here\r\n\r\n"
	    "From b@example.com Tue Jan  2 00:00:00 2024\r\n"
	    "Subject: two\r\n\r\nbody two\r\n\r\n";
	struct got g;

	(void)state;
	read_both(S(in), MBOX_RD, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.m[0].from_line,
	    "From a@example.com Mon Jan  1 00:00:00 2024");
	assert_data(&g.m[0], "Subject: one\r\n\r\nbody\r\nFrom here\r\n");
	assert_data(&g.m[1], "Subject: two\r\n\r\nbody two\r\n");
	assert_int_equal(g.m[1].offset, strstr(in, "From b@") - in);
	got_free(&g);
}

static const char quoted[] =
    "From x Mon Jan  1 00:00:00 2024\n"
    "Subject: q\n"
    "\n"
    ">From one\n"
    ">>From two\n"
    ">>>From three\n"
    "> From not\n"
    ">From\n"
    "From\n"
    " From indented\n"
    "Fromage\n";

static void
test_mboxrd_unquote(void **state)
{
	struct got g;

	(void)state;
	read_both(S(quoted), MBOX_RD, &g);
	assert_int_equal(g.n, 1);
	assert_data(&g.m[0], "Subject: q\n\nFrom one\n>From two\n"
	    ">>From three\n> From not\n>From\nFrom\n From indented\n"
	    "Fromage\n");
	got_free(&g);
}

static void
test_mboxo_unquote(void **state)
{
	struct got g;

	(void)state;
	read_both(S(quoted), MBOX_O, &g);
	assert_int_equal(g.n, 1);
	assert_data(&g.m[0], "Subject: q\n\nFrom one\n>>From two\n"
	    ">>>From three\n> From not\n>From\nFrom\n From indented\n"
	    "Fromage\n");
	got_free(&g);
}

static void
test_unquoted_from_splits(void **state)
{
	/* An unquoted "From " line in a body is a separator, whatever follows;
	 * that is why writers quote. */
	static const char in[] = "From x\nA: b\n\nbody\nFrom the start\nmore\n";
	struct got g;

	(void)state;
	read_both(S(in), MBOX_RD, &g);
	assert_int_equal(g.n, 2);
	assert_data(&g.m[0], "A: b\n\nbody\n");
	assert_string_equal(g.m[1].from_line, "From the start");
	assert_data(&g.m[1], "more\n");
	got_free(&g);
}

static void
test_blank_lines(void **state)
{
	struct got g;

	(void)state;
	/* Exactly one empty line before a separator is the writer's. */
	read_both(S("From a\nA: b\n\nx\n\n\nFrom b\nA: c\n\ny\n"), MBOX_RD, &g);
	assert_int_equal(g.n, 2);
	assert_data(&g.m[0], "A: b\n\nx\n\n");
	assert_data(&g.m[1], "A: c\n\ny\n");
	got_free(&g);
	/* No empty line before the separator: nothing to strip. */
	read_both(S("From a\nA: b\n\nx\nFrom b\nA: c\n"), MBOX_RD, &g);
	assert_data(&g.m[0], "A: b\n\nx\n");
	assert_data(&g.m[1], "A: c\n");
	got_free(&g);
	/* Empty lines in the middle stay; one at the end goes. */
	read_both(S("From a\n\n\nA\n\n\nB\n\n"), MBOX_RD, &g);
	assert_int_equal(g.n, 1);
	assert_data(&g.m[0], "\n\nA\n\n\nB\n");
	got_free(&g);
	/* A message that is only the writer's empty line is empty. */
	read_both(S("From a\n\nFrom b\n"), MBOX_RD, &g);
	assert_int_equal(g.n, 2);
	assert_data(&g.m[0], "");
	assert_data(&g.m[1], "");
	got_free(&g);
	/* CRLF empty lines, and a mixed archive. */
	read_both(S("From a\r\nA: b\r\n\r\nx\r\n\r\nFrom b\nA: c\n\n"), MBOX_RD,
	    &g);
	assert_data(&g.m[0], "A: b\r\n\r\nx\r\n");
	assert_data(&g.m[1], "A: c\n");
	got_free(&g);
}

static void
test_empty_archive(void **state)
{
	struct got g;
	long n;

	(void)state;
	read_both("", 0, MBOX_RD, &g);
	assert_int_equal(g.n, 0);
	n = mbox_split_mem(NULL, 0, MBOX_O, NULL, NULL);
	assert_int_equal(n, 0);
}

static void
test_not_mbox(void **state)
{
	static const char in[] = "Subject: plain message\n\nFrom x\n";
	struct mbox_msg m;
	struct mbox *mb;
	FILE *fp = file_of(S(in));

	(void)state;
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 0));
	errno = 0;
	assert_int_equal(mbox_next(mb, &m), -1);
	assert_int_equal(errno, EBADMSG);
	assert_null(m.data);
	errno = 0;
	assert_int_equal(mbox_next(mb, &m), -1);	/* it sticks */
	assert_int_equal(errno, EBADMSG);
	mbox_close(mb);
	fclose(fp);
	errno = 0;
	assert_int_equal(mbox_split_mem(S(in), MBOX_RD, NULL, NULL), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(mbox_split_mem(S("\nFrom x\n"), MBOX_RD, NULL, NULL),
	    -1);
	assert_int_equal(mbox_split_mem(S("From"), MBOX_RD, NULL, NULL), -1);
}

static void
test_no_final_newline(void **state)
{
	struct got g;

	(void)state;
	read_both(S("From a\nA: b\n\nx\n\nFrom b\nA: c\n\nlast line"), MBOX_RD,
	    &g);
	assert_int_equal(g.n, 2);
	assert_data(&g.m[1], "A: c\n\nlast line");
	got_free(&g);
	/* A From line alone at the end, without its line ending. */
	read_both(S("From a\nA: b\n\nFrom b"), MBOX_O, &g);
	assert_int_equal(g.n, 2);
	assert_data(&g.m[0], "A: b\n");
	assert_string_equal(g.m[1].from_line, "From b");
	assert_data(&g.m[1], "");
	got_free(&g);
	/* A quoted From line at the very end. */
	read_both(S("From a\n>From x"), MBOX_RD, &g);
	assert_data(&g.m[0], "From x");
	got_free(&g);
}

static void
test_offsets_tell(void **state)
{
	static const char in[] = "From 1\nA: 1\n\nFrom 2\nA: 2\n\nFrom 3\r\n";
	struct mbox_msg m;
	struct mbox *mb;
	FILE *fp = file_of(S(in));

	(void)state;
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 0));
	assert_int_equal(mbox_tell(mb), 0);
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_int_equal(m.index, 1);
	assert_int_equal(m.offset, 0);
	/* The reader has read the next separator to know this one ended. */
	assert_int_equal(mbox_tell(mb), 20);
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_int_equal(m.index, 2);
	assert_int_equal(m.offset, 13);
	assert_string_equal(m.from_line, "From 2");
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_int_equal(m.index, 3);
	assert_int_equal(m.offset, 26);
	assert_string_equal(m.from_line, "From 3");
	assert_int_equal(m.len, 0);
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 0);
	assert_int_equal(mbox_tell(mb), sizeof(in) - 1);
	mbox_close(mb);
	fclose(fp);
}

/* Several MB in one message: lines that straddle read chunks, one line
 * longer than a chunk, a quoted From at a chunk boundary. */
static void
test_big_message(void **state)
{
	size_t body = 6u << 20, i, len;
	char *buf = malloc(body + 4096), *p = buf, *want, *w;
	struct mbox *mb;
	struct mbox_msg m;
	FILE *fp;

	(void)state;
	assert_non_null(buf);
	assert_non_null(want = malloc(body + 4096));
	w = want;
	p += sprintf(p, "From big Mon Jan  1 00:00:00 2024\n");
	w += sprintf(w, "Subject: big\n\n");
	p += sprintf(p, "Subject: big\n\n");
	for (i = 0; (size_t)(w - want) < body; i++) {
		size_t n = i == 7 ? 200000 : 1 + (i * 37) % 997;

		if (i % 50 == 3) {
			memcpy(p, ">From quoted\n", 13);
			memcpy(w, "From quoted\n", 12);
			p += 13;
			w += 12;
		}
		memset(p, 'a' + (char)(i % 26), n);
		memset(w, 'a' + (char)(i % 26), n);
		p += n;
		w += n;
		*p++ = '\n';
		*w++ = '\n';
	}
	memcpy(p, "\nFrom small\nA: b\n\n", 18);
	p += 18;
	len = (size_t)(p - buf);
	fp = file_of(buf, len);
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 0));
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_int_equal(m.len, (size_t)(w - want));
	assert_memory_equal(m.data, want, m.len);
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_data(&m, "A: b\n");
	assert_int_equal(m.offset, len - 18 + 1);
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 0);
	mbox_close(mb);
	fclose(fp);
	assert_int_equal(mbox_split_mem(buf, len, MBOX_RD, NULL, NULL), 2);
	free(buf);
	free(want);
}

static void
test_max_msg(void **state)
{
	size_t n = 300000;
	char *buf = malloc(n + 200), *p = buf;
	struct mbox *mb;
	struct mbox_msg m;
	FILE *fp;

	(void)state;
	assert_non_null(buf);
	p += sprintf(p, "From 1\nA: 1\n\nFrom 2\nA: ");
	memset(p, 'x', n);	/* one line far longer than the cap */
	p += n;
	p += sprintf(p, "\n\nFrom 3\nA: 3\n\n");
	fp = file_of(buf, (size_t)(p - buf));
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 1000));
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_data(&m, "A: 1\n");
	mbox_msg_free(&m);
	errno = 0;
	assert_int_equal(mbox_next(mb, &m), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(m.index, 2);
	assert_int_equal(m.offset, 13);
	assert_null(m.data);
	/* Reading goes on after a message that was too big. */
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_int_equal(m.index, 3);
	assert_data(&m, "A: 3\n");
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), 0);
	mbox_close(mb);
	fclose(fp);

	/* Exactly at the cap is fine, one more byte is not. */
	fp = file_of(S("From 1\n12345\n\nFrom 2\n123456\n"));
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 6));
	assert_int_equal(mbox_next(mb, &m), 1);
	assert_data(&m, "12345\n");
	mbox_msg_free(&m);
	assert_int_equal(mbox_next(mb, &m), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(mbox_next(mb, &m), 0);
	mbox_close(mb);
	fclose(fp);
	free(buf);
}

static int
stop_after_one(const struct mbox_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	return 1;
}

static int
fail_cb(const struct mbox_msg *m, void *arg)
{
	(void)m;
	(void)arg;
	return -1;
}

static void
test_split_callback(void **state)
{
	(void)state;
	assert_int_equal(mbox_split_mem(S(two_lf), MBOX_RD, NULL, NULL), 2);
	assert_int_equal(mbox_split_mem(S(two_lf), MBOX_RD, stop_after_one,
	    NULL), 1);
	assert_int_equal(mbox_split_mem(S(two_lf), MBOX_RD, fail_cb, NULL),
	    -1);
}

static void
test_roundtrip(void **state)
{
	static const struct {
		const char *msg, *back;
	} cases[] = {
		{ "Subject: a\n\nFrom me\n>From you\n>>From them\nx\n", NULL },
		{ "Subject: b\r\n\r\nFrom crlf\r\n\r\n", NULL },
		{ "", NULL },
		{ "Subject: c\n\nends in empty lines\n\n\n", NULL },
		{ "Subject: d\n\nno final newline", "Subject: d\n\nno final newline\n" },
		{ "From: header looks like a separator\n\nx\n", NULL },
		{ "\n", NULL },
	};
	size_t ncases = sizeof(cases) / sizeof(cases[0]), i;
	char *buf = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&buf, &blen);
	struct mbox *mb;
	struct mbox_msg m;
	FILE *fp;

	(void)state;
	assert_non_null(out);
	for (i = 0; i < ncases; i++)
		assert_int_equal(mbox_write(out, i == 2 ? NULL :
		    "From sender@example.com Mon Jan  1 00:00:00 2024",
		    cases[i].msg, strlen(cases[i].msg)), 0);
	errno = 0;
	assert_int_equal(mbox_write(out, "Frm x", "x\n", 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mbox_write(out, "From x\nFrom y", "x\n", 2), -1);
	assert_int_equal(fclose(out), 0);

	fp = file_of(buf, blen);
	assert_non_null(mb = mbox_open(fp, MBOX_RD, 0));
	for (i = 0; i < ncases; i++) {
		const char *want = cases[i].back ? cases[i].back : cases[i].msg;

		assert_int_equal(mbox_next(mb, &m), 1);
		assert_data(&m, want);
		assert_int_equal(m.index, i + 1);
		if (i == 2)
			assert_memory_equal(m.from_line, "From MAILER-DAEMON ",
			    19);
		else
			assert_string_equal(m.from_line,
			    "From sender@example.com Mon Jan  1 00:00:00 2024");
		mbox_msg_free(&m);
	}
	assert_int_equal(mbox_next(mb, &m), 0);
	mbox_close(mb);
	fclose(fp);
	assert_int_equal(mbox_split_mem(buf, blen, MBOX_RD, NULL, NULL),
	    (long)ncases);
	/* The writer quotes: no line of a body starts with "From ". */
	assert_null(strstr(buf, "\nFrom me"));
	assert_non_null(strstr(buf, "\n>>>From them\n"));
	assert_non_null(strstr(buf, "\r\n>From crlf\r\n\r\n\r\nFrom "));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lf_two),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_mboxrd_unquote),
		cmocka_unit_test(test_mboxo_unquote),
		cmocka_unit_test(test_unquoted_from_splits),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_empty_archive),
		cmocka_unit_test(test_not_mbox),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_offsets_tell),
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_max_msg),
		cmocka_unit_test(test_split_callback),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
