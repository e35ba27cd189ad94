/* SPDX-License-Identifier: MIT */
/*
 * clock.h: the two clocks of the pool, in nanoseconds.
 *
 * sp__now_ns (CLOCK_MONOTONIC, a few tens of ns to read) times what the
 * adaptive reset measures; sp__age_clock (CLOCK_MONOTONIC_COARSE, a few ns,
 * a tick of 1-4 ms) stamps every free, for reclaimers that compare ages by
 * powers of two. No state, no locks.
 */
#ifndef SP_MEMPOOL_CLOCK_H
#define SP_MEMPOOL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t sp__now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline uint64_t sp__age_clock(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#endif /* SP_MEMPOOL_CLOCK_H */
