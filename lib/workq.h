/* workq: run a job per item on N threads and hand results back in input
 * order.  The producer blocks when too many items are in flight, so memory
 * stays bounded whatever the input's size.
 *
 *   struct workq *q = workq_new(nthreads, work, arg);
 *   for each item: workq_push(q, item, emit, emit_arg)  -- may call emit
 *   workq_finish(q, emit, emit_arg)                      -- drains the rest
 *
 * work(arg, item) runs on a worker thread and returns the item's result;
 * emit(emit_arg, result) runs on the caller's thread in input order.
 * With nthreads <= 1 everything runs inline on the caller's thread.
 */
#ifndef MXKIT_WORKQ_H
#define MXKIT_WORKQ_H
#include <stddef.h>

typedef void *(*workq_work)(void *arg, void *item);
typedef void (*workq_emit)(void *arg, void *result);

struct workq;
struct workq *workq_new(unsigned nthreads, size_t max_inflight,
    workq_work work, void *arg);
int workq_push(struct workq *q, void *item, workq_emit emit, void *emit_arg);
void workq_finish(struct workq *q, workq_emit emit, void *emit_arg);
void workq_free(struct workq *q);

#endif
