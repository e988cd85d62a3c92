/* clock: the monotonic clock in milliseconds, for the deadlines every
 * bounded wait in mxkit keeps (a wall clock can jump). */
#ifndef MXKIT_CLOCK_H
#define MXKIT_CLOCK_H

/* CLOCK_MONOTONIC in milliseconds. */
long long clock_ms(void);

/* What is left until deadline (a clock_ms() value), for poll(2):
 * 0 when it has passed, at most INT_MAX. */
int clock_left_ms(long long deadline);

#endif
