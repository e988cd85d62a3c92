/* workq: ordered thread pool.  See workq.h.
 *
 * Items get consecutive sequence numbers; item seq lives in slot
 * seq % max_inflight of a ring, which is enough because at most
 * max_inflight items are between push and emit.  Workers take items in
 * order (next_take) and mark their slot done; only the caller's thread
 * emits, always the slot next_emit, so output order is input order.
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
	unsigned long long next_take;	/* next item for a worker */
	unsigned long long next_emit;	/* next result to hand back */
	int		 stop;
};

static void *
worker(void *p)
{
	struct workq *q = p;
	unsigned long long seq;
	struct slot *s;
	void *item, *result;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->next_take == q->next_seq && !q->stop)
			pthread_cond_wait(&q->have_work, &q->mu);
		if (q->stop)
			break;
		seq = q->next_take++;
		s = &q->slots[seq % q->max_inflight];
		item = s->item;
		pthread_mutex_unlock(&q->mu);

		result = q->work(q->arg, item);

		pthread_mutex_lock(&q->mu);
		s->result = result;
		s->done = 1;
		/* The caller only ever waits for the next one in order. */
		if (seq == q->next_emit)
			pthread_cond_signal(&q->have_done);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
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
	/* With fewer threads than asked (a resource limit), run with those. */
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
			break;
	q->nthreads = i;
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
		pthread_cond_wait(&q->have_done, &q->mu);
		emit_ready(q, emit, emit_arg);
	}
	s = &q->slots[q->next_seq % q->max_inflight];
	s->item = item;
	s->result = NULL;
	s->done = 0;
	q->next_seq++;
	pthread_cond_signal(&q->have_work);
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
		pthread_cond_wait(&q->have_done, &q->mu);
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
