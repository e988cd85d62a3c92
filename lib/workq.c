/* workq: ordered thread pool.  See workq.h.
 *
 * Items get consecutive sequence numbers; item seq lives in slot
 * seq % max_inflight of a ring, which is enough because at most
 * max_inflight items are between push and emit.  Workers take items in
 * order (next_take) and mark their slot done; only the caller's thread
 * emits, always the slot next_emit, so output order is input order.
 *
 * Hand-offs are batched, because waking a thread costs more than a small
 * job: the caller makes pushed items visible to workers (published) a few
 * at a time, a worker takes its share of what is published in one go, and
 * nobody is signalled unless somebody is waiting.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "workq.h"

#define WORKQ_MAX_THREADS	1024

struct slot {
	void	*item;
	void	*result;
	int	 done;
};

struct workq {
	workq_work	 work;
	void		*arg;
	unsigned	 nthreads;	/* 0: inline */
	size_t		 max_inflight;
	pthread_t	*threads;
	struct slot	*slots;

	pthread_mutex_t	 mu;
	pthread_cond_t	 have_work;	/* workers wait here */
	pthread_cond_t	 have_done;	/* the caller waits here */
	unsigned long long next_seq;	/* next pushed item's number */
	unsigned long long published;	/* items below this are for workers */
	size_t		 batch;		/* publish this many at once */
	unsigned	 idle;		/* workers waiting in have_work */
	int		 caller_waiting;	/* the caller is in have_done */
	unsigned long long next_take;	/* next item for a worker */
	unsigned long long next_emit;	/* next result to hand back */
	int		 stop;
};

static void *
worker(void *p)
{
	struct workq *q = p;
	unsigned long long first, k, take;
	struct slot *s;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->next_take == q->published && !q->stop) {
			q->idle++;
			pthread_cond_wait(&q->have_work, &q->mu);
			q->idle--;
		}
		if (q->stop)
			break;
		/* A fair share of what is there, so the others get some. */
		take = (q->published - q->next_take) / q->nthreads;
		if (take == 0)
			take = 1;
		first = q->next_take;
		q->next_take += take;
		pthread_mutex_unlock(&q->mu);

		/* The slots are ours until marked done: the caller neither
		 * reads nor reuses them before. */
		for (k = first; k < first + take; k++) {
			s = &q->slots[k % q->max_inflight];
			s->result = q->work(q->arg, s->item);
		}

		pthread_mutex_lock(&q->mu);
		for (k = first; k < first + take; k++)
			q->slots[k % q->max_inflight].done = 1;
		/* The caller only ever waits for the next one in order. */
		if (q->caller_waiting && first <= q->next_emit &&
		    q->next_emit < first + take)
			pthread_cond_signal(&q->have_done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Let the workers have every pushed item.  Called with q->mu held. */
static void
publish(struct workq *q)
{
	unsigned long long n = q->next_seq - q->published;

	if (n == 0)
		return;
	q->published = q->next_seq;
	if (q->idle == 0)
		return;
	if (n > 1 && q->idle > 1)
		pthread_cond_broadcast(&q->have_work);
	else
		pthread_cond_signal(&q->have_work);
}

/* Wait for the next result in order.  Called with q->mu held. */
static void
wait_done(struct workq *q)
{
	publish(q);
	q->caller_waiting = 1;
	pthread_cond_wait(&q->have_done, &q->mu);
	q->caller_waiting = 0;
}

struct workq *
workq_new(unsigned nthreads, size_t max_inflight, workq_work work, void *arg)
{
	struct workq *q;
	unsigned i;

	if (work == NULL || (q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->work = work;
	q->arg = arg;
	if (nthreads <= 1)
		return q;
	if (nthreads > WORKQ_MAX_THREADS)
		nthreads = WORKQ_MAX_THREADS;
	if (max_inflight == 0)
		max_inflight = 4 * (size_t)nthreads;
	if (max_inflight > SIZE_MAX / sizeof(struct slot))
		max_inflight = SIZE_MAX / sizeof(struct slot);
	q->max_inflight = max_inflight;
	q->batch = max_inflight / 2 > 0 ? max_inflight / 2 : 1;
	if ((q->slots = calloc(max_inflight, sizeof(*q->slots))) == NULL ||
	    (q->threads = calloc(nthreads, sizeof(*q->threads))) == NULL)
		goto fail;
	if (pthread_mutex_init(&q->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&q->have_work, NULL) != 0) {
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	if (pthread_cond_init(&q->have_done, NULL) != 0) {
		pthread_cond_destroy(&q->have_work);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	/* With fewer threads than asked (a resource limit), run with those.
	 * Workers read nthreads (for their share) as soon as they start. */
	q->nthreads = nthreads;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
			break;
	pthread_mutex_lock(&q->mu);
	q->nthreads = i;
	pthread_mutex_unlock(&q->mu);
	if (i == 0) {
		pthread_cond_destroy(&q->have_done);
		pthread_cond_destroy(&q->have_work);
		pthread_mutex_destroy(&q->mu);
		free(q->threads);
		free(q->slots);
		q->threads = NULL;
		q->slots = NULL;
	}
	return q;
fail:
	free(q->threads);
	free(q->slots);
	free(q);
	return NULL;
}

/* Hand back every finished result that is next in order.  Called and
 * returns with q->mu held; emit runs unlocked, so workers keep going. */
static void
emit_ready(struct workq *q, workq_emit emit, void *emit_arg)
{
	struct slot *s;
	void *result;

	while (q->next_emit < q->next_seq) {
		s = &q->slots[q->next_emit % q->max_inflight];
		if (!s->done)
			return;
		result = s->result;
		s->done = 0;
		s->item = s->result = NULL;
		q->next_emit++;
		pthread_mutex_unlock(&q->mu);
		if (emit != NULL)
			emit(emit_arg, result);
		pthread_mutex_lock(&q->mu);
	}
}

int
workq_push(struct workq *q, void *item, workq_emit emit, void *emit_arg)
{
	struct slot *s;
	void *result;

	if (q == NULL)
		return -1;
	if (q->nthreads == 0) {
		result = q->work(q->arg, item);
		if (emit != NULL)
			emit(emit_arg, result);
		return 0;
	}
	pthread_mutex_lock(&q->mu);
	emit_ready(q, emit, emit_arg);
	while (q->next_seq - q->next_emit >= q->max_inflight) {
		wait_done(q);
		emit_ready(q, emit, emit_arg);
	}
	s = &q->slots[q->next_seq % q->max_inflight];
	s->item = item;
	s->result = NULL;
	s->done = 0;
	q->next_seq++;
	/* Idle workers get work at once; busy ones in batches. */
	if (q->next_seq - q->published >= q->batch ||
	    q->idle == q->nthreads)
		publish(q);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void
workq_finish(struct workq *q, workq_emit emit, void *emit_arg)
{
	if (q == NULL || q->nthreads == 0)
		return;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		emit_ready(q, emit, emit_arg);
		if (q->next_emit == q->next_seq)
			break;
		wait_done(q);
	}
	pthread_mutex_unlock(&q->mu);
}

void
workq_free(struct workq *q)
{
	unsigned i;

	if (q == NULL)
		return;
	if (q->nthreads > 0) {
		/* Items pushed but not finished are abandoned (their results
		 * are not emitted): call workq_finish first. */
		pthread_mutex_lock(&q->mu);
		q->stop = 1;
		pthread_cond_broadcast(&q->have_work);
		pthread_mutex_unlock(&q->mu);
		for (i = 0; i < q->nthreads; i++)
			pthread_join(q->threads[i], NULL);
		pthread_cond_destroy(&q->have_done);
		pthread_cond_destroy(&q->have_work);
		pthread_mutex_destroy(&q->mu);
	}
	free(q->threads);
	free(q->slots);
	free(q);
}
