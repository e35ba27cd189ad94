/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h: the clock and the sort the benchmark programs share (each is
 * a program of its own, so these are static inline, not a library).
 */
#ifndef SP_BENCH_UTIL_H
#define SP_BENCH_UTIL_H

#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds, as a double: differences of a few seconds
 * keep sub-nanosecond resolution. */
static inline double bench_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#endif /* SP_BENCH_UTIL_H */
