/* clock: milliseconds of CLOCK_MONOTONIC. */
#include <limits.h>
#include <time.h>

#include "clock.h"

long long
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
clock_left_ms(long long deadline)
{
	long long left = deadline - clock_ms();

	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}
