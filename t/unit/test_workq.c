/* Unit tests for lib/workq: order, bounded in-flight count, inline mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "workq.h"

#define NITEMS	10000

struct item {
	size_t		 seq;
	unsigned	 seed;
	size_t		 result;
	size_t		 spin;
};

struct ctx {
	pthread_t	 caller;
	size_t		 pushed;
	size_t		 emitted;
	size_t		 max_seen;	/* pushed - emitted, at most */
	size_t		 running;	/* work() calls in progress */
	size_t		 max_running;
	pthread_mutex_t	 mu;
	int		 inline_mode;
};

/* Up to ~50 us of sleep or busy work, different per item, so that items
 * finish out of order. */
static void *
work(void *arg, void *p)
{
	struct ctx *c = arg;
	struct item *it = p;
	unsigned seed = it->seed;
	struct timespec ts;
	size_t i, n, acc = 0;

	if (c->inline_mode)
		assert_true(pthread_equal(pthread_self(), c->caller));
	pthread_mutex_lock(&c->mu);
	if (++c->running > c->max_running)
		c->max_running = c->running;
	pthread_mutex_unlock(&c->mu);

	n = (size_t)rand_r(&seed) % 50;
	if (rand_r(&seed) % 2) {
		ts.tv_sec = 0;
		ts.tv_nsec = (long)n * 1000;
		nanosleep(&ts, NULL);
	} else
		for (i = 0; i < n * 100; i++)
			acc += i ^ (acc >> 3);
	it->spin = acc;	/* keeps the busy loop from being optimized away */
	it->result = it->seq * 3 + 1;

	pthread_mutex_lock(&c->mu);
	c->running--;
	pthread_mutex_unlock(&c->mu);
	return it;
}

static void
emit(void *arg, void *result)
{
	struct ctx *c = arg;
	struct item *it = result;

	/* emit runs on the caller's thread, in input order */
	assert_true(pthread_equal(pthread_self(), c->caller));
	assert_int_equal(it->seq, c->emitted);
	assert_int_equal(it->result, it->seq * 3 + 1);
	c->emitted++;
	free(it);
}

static void
run(unsigned nthreads, size_t max_inflight)
{
	struct ctx c = { 0 };
	struct workq *q;
	struct item *it;
	size_t i, limit;

	c.caller = pthread_self();
	c.inline_mode = nthreads <= 1;
	pthread_mutex_init(&c.mu, NULL);
	limit = max_inflight ? max_inflight : 4 * (size_t)nthreads;
	assert_non_null(q = workq_new(nthreads, max_inflight, work, &c));
	for (i = 0; i < NITEMS; i++) {
		assert_non_null(it = calloc(1, sizeof(*it)));
		it->seq = i;
		it->seed = (unsigned)i * 2654435761u;
		assert_int_equal(workq_push(q, it, emit, &c), 0);
		c.pushed++;
		if (c.pushed - c.emitted > c.max_seen)
			c.max_seen = c.pushed - c.emitted;
		if (c.inline_mode)
			assert_int_equal(c.emitted, c.pushed);
	}
	workq_finish(q, emit, &c);
	assert_int_equal(c.emitted, NITEMS);
	if (c.inline_mode) {
		assert_int_equal(c.max_seen, 0);
		assert_int_equal(c.max_running, 1);
	} else {
		assert_true(c.max_seen <= limit);
		assert_true(c.max_running <= nthreads);
	}

	/* The queue is reusable after finish. */
	for (i = 0; i < 10; i++) {
		assert_non_null(it = calloc(1, sizeof(*it)));
		it->seq = NITEMS + i;
		assert_int_equal(workq_push(q, it, emit, &c), 0);
	}
	workq_finish(q, emit, &c);
	assert_int_equal(c.emitted, NITEMS + 10);
	workq_free(q);
	pthread_mutex_destroy(&c.mu);
}

static void
test_inline(void **state)
{
	(void)state;
	run(0, 0);
	run(1, 5);
}

static void
test_two_threads(void **state)
{
	(void)state;
	run(2, 0);
	run(2, 1);
}

static void
test_eight_threads(void **state)
{
	(void)state;
	run(8, 0);
	run(8, 3);
	run(8, 100);
}

/* An empty run, and freeing without any push, must not hang. */
static void
test_empty(void **state)
{
	struct ctx c = { 0 };
	struct workq *q;

	(void)state;
	c.caller = pthread_self();
	pthread_mutex_init(&c.mu, NULL);
	assert_non_null(q = workq_new(4, 0, work, &c));
	workq_finish(q, emit, &c);
	workq_free(q);
	assert_non_null(q = workq_new(4, 0, work, &c));
	workq_free(q);
	assert_null(workq_new(4, 0, NULL, NULL));
	assert_int_equal(workq_push(NULL, NULL, NULL, NULL), -1);
	pthread_mutex_destroy(&c.mu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_eight_threads),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
