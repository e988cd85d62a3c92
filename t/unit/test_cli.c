/* test_cli: the shared front-end helpers of lib/cli and lib/filter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "diag.h"
#include "filter.h"
#include "msg.h"

#define NMSG	40

static char dir[] = "/tmp/test_cli.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_words(void **state)
{
	static const struct cli_word w[] = {
		{ "one", 1 }, { "two", 2 }, { "all", 3 },
	};

	(void)state;
	assert_int_equal(cli_words("", w, 3, "x"), 0);
	assert_int_equal(cli_words("one", w, 3, "x"), 1);
	assert_int_equal(cli_words(",TWO,,", w, 3, "x"), 2);
	assert_int_equal(cli_words("one,two", w, 3, "x"), 3);
	assert_int_equal(cli_words("All", w, 3, "x"), 3);
}

static void
test_input_name(void **state)
{
	(void)state;
	assert_string_equal(cli_input_name(NULL), "stdin");
	assert_string_equal(cli_input_name("-"), "stdin");
	assert_string_equal(cli_input_name("a.eml"), "a.eml");
}

/* A filter that cannot set up the DNS asks for a retry (75); the same
 * failure without -f keeps its own status. */
static void
test_dns_setup_for(void **state)
{
	static char prog[] = "test_cli", *argv[] = { prog, NULL };
	struct cli c;

	(void)state;
	cli_init(&c, argv, "usage\n");
	c.zones[c.nzones++] = "/nonexistent/zone";
	assert_int_equal(cli_dns_setup_for(&c, 0), EX_NOINPUT);
	assert_int_equal(cli_dns_setup_for(&c, 1), EX_TEMPFAIL);
	c.nzones = 0;
	assert_int_equal(cli_dns_setup_for(&c, 1), 0);
}

/* A run's record: what emit saw, in order. */
struct seen {
	unsigned long n;
	unsigned long index[NMSG + 1];
	int read_err[NMSG + 1];
	char first[NMSG + 1][16];
	unsigned long stop_after;	/* 0: never */
};

struct item {
	struct cli_msg m;
	char first[16];		/* set by work: the message's first line */
};

static void
work(void *arg, struct cli_msg *m)
{
	struct item *it = (struct item *)m;
	size_t n;

	(void)arg;
	if (m->data == NULL)
		return;
	n = strcspn(m->data, "\n");
	if (n >= sizeof(it->first))
		n = sizeof(it->first) - 1;
	memcpy(it->first, m->data, n);
	/* The run frees what work leaves: free early as dkimverify does. */
	free(m->data);
	m->data = NULL;
}

static int
emit(void *arg, struct cli_msg *m)
{
	struct seen *s = arg;
	struct item *it = (struct item *)m;

	if (s->n < NMSG + 1) {
		s->index[s->n] = m->index;
		s->read_err[s->n] = m->read_err;
		memcpy(s->first[s->n], it->first, sizeof(it->first));
	}
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after ? -1 : 0;
}

static void
batch_init(struct cli_batch *b, struct seen *s, unsigned jobs)
{
	memset(b, 0, sizeof(*b));
	memset(s, 0, sizeof(*s));
	b->jobs = jobs;
	b->msg_size = sizeof(struct item);
	b->work = work;
	b->emit = emit;
	b->arg = s;
}

static const char *
write_mbox(int n)
{
	static char path[64];
	FILE *fp;
	int i;

	snprintf(path, sizeof(path), "%s/a.mbox", dir);
	assert_non_null(fp = fopen(path, "w"));
	for (i = 1; i <= n; i++)
		fprintf(fp, "From a@b Mon Jan  1 00:00:00 2024\n"
		    "X-N: %d\nSubject: s\n\nbody %d\n\n", i, i);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static void
test_mbox_in_order(void **state)
{
	struct cli_batch b;
	struct seen s;
	const char *path = write_mbox(NMSG);
	char want[16];
	unsigned jobs;
	int i;

	(void)state;
	for (jobs = 1; jobs <= 4; jobs += 3) {
		batch_init(&b, &s, jobs);
		assert_int_equal(cli_batch_mbox(&b, path, MBOX_RD), 0);
		assert_int_equal(s.n, NMSG);
		assert_int_equal(b.messages, NMSG);
		assert_true(b.bytes > 0);
		for (i = 0; i < NMSG; i++) {
			assert_int_equal(s.index[i], i + 1);
			snprintf(want, sizeof(want), "X-N: %d", i + 1);
			assert_string_equal(s.first[i], want);
		}
	}
}

static void
test_mbox_stop(void **state)
{
	struct cli_batch b;
	struct seen s;
	const char *path = write_mbox(NMSG);

	(void)state;
	batch_init(&b, &s, 1);
	s.stop_after = 5;
	assert_int_equal(cli_batch_mbox(&b, path, MBOX_RD), 0);
	assert_int_equal(s.n, 5);
	/* With workers, what was read before the stop still comes back. */
	batch_init(&b, &s, 4);
	s.stop_after = 5;
	assert_int_equal(cli_batch_mbox(&b, path, MBOX_RD), 0);
	assert_true(s.n >= 5 && s.n < NMSG);
}

static void
test_mbox_not_mbox(void **state)
{
	struct cli_batch b;
	struct seen s;
	char path[64];
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/plain.eml", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("Subject: x\n\nbody\n", fp);
	assert_int_equal(fclose(fp), 0);
	batch_init(&b, &s, 1);
	assert_int_equal(cli_batch_mbox(&b, path, MBOX_RD), EX_DATAERR);
	assert_int_equal(s.n, 0);
}

static void
test_files(void **state)
{
	char names[5][64], *paths[5], want[16];
	struct cli_batch b;
	struct seen s;
	FILE *fp;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(names[i], sizeof(names[i]), "%s/m%d.eml", dir, i);
		paths[i] = names[i];
		if (i == 2)
			continue;	/* missing */
		assert_non_null(fp = fopen(names[i], "w"));
		fprintf(fp, "X-N: %d\n\nbody\n", i);
		assert_int_equal(fclose(fp), 0);
	}
	batch_init(&b, &s, 3);
	assert_int_equal(cli_batch_files(&b, paths, 5), 0);
	assert_int_equal(s.n, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(s.index[i], 0);
		if (i == 2) {
			assert_int_equal(s.read_err[i], ENOENT);
			continue;
		}
		assert_int_equal(s.read_err[i], 0);
		snprintf(want, sizeof(want), "X-N: %d", i);
		assert_string_equal(s.first[i], want);
	}
}

/* What filter_emit_msg wrote, read back from a temporary file. */
static char *
emitted(const char *msgtext, const char *strip_id, size_t *nstripped)
{
	static char out[1024];
	char *field = "Authentication-Results: me; dkim=none\n";
	struct msg m = { 0 };
	FILE *tmp = tmpfile();
	size_t n;

	assert_non_null(tmp);
	assert_int_equal(msg_parse(&m, msgtext, strlen(msgtext), NULL), 0);
	assert_int_equal(filter_emit_msg(fileno(tmp), &field, 1, &m, 0,
	    strip_id, nstripped), 0);
	rewind(tmp);
	n = fread(out, 1, sizeof(out) - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	msg_free(&m);
	return out;
}

static void
test_emit_msg(void **state)
{
	const char *in =
	    "Authentication-Results: me; dkim=pass\n"
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Authentication-Results: me;\n\tspf=pass\n"
	    "Subject: s\n\nbody\n";
	size_t n;

	(void)state;
	assert_string_equal(emitted(in, NULL, &n),
	    "Authentication-Results: me; dkim=none\n" "Authentication-Results: me; dkim=pass\n"
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Authentication-Results: me;\n\tspf=pass\n"
	    "Subject: s\n\nbody\n");
	assert_int_equal(n, 0);
	assert_string_equal(emitted(in, "me", &n),
	    "Authentication-Results: me; dkim=none\n"
	    "From: a@b\n"
	    "Authentication-Results: other; dkim=pass\n"
	    "Subject: s\n\nbody\n");
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_input_name),
		cmocka_unit_test(test_dns_setup_for),
		cmocka_unit_test(test_mbox_in_order),
		cmocka_unit_test(test_mbox_stop),
		cmocka_unit_test(test_mbox_not_mbox),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_emit_msg),
	};

	diag_init("test_cli");
	return cmocka_run_group_tests(tests, setup, teardown);
}
