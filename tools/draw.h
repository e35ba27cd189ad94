/* SPDX-License-Identifier: MIT */
/*
 * draw.h: the random draws of the whole tree, in one copy: SplitMix64, a
 * number below n and a uniform double from it, and a Zipf key rank by
 * inverse CDF. slotpool-sim's `gen` and `mt` must draw exactly as the seed's
 * tools do (../shared/anchors; tests/sim/golden.sh checks it); the tests,
 * the fuzzers' plain main and the benchmarks call the same functions instead
 * of keeping copies. Header only and not installed; the examples, which
 * build as a user's program would, keep their own few lines.
 */
#ifndef SP_TOOLS_DRAW_H
#define SP_TOOLS_DRAW_H

#include <math.h>
#include <stdint.h>

static inline uint64_t sm_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (modulo: the small bias is part of the stream). */
static inline uint64_t sm_below(uint64_t *s, uint64_t n)
{
	return sm_next(s) % n;
}

/* Uniform in [0, 1), 53 bits. */
static inline double sm_unit(uint64_t *s)
{
	return (double)(sm_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* cdf[r] = sum of 1/(i+1)^s for i <= r, r < keys; returns the total
 * (s = 0: uniform). */
static inline double zipf_cdf(double *cdf, uint64_t keys, double s)
{
	double acc = 0;
	for (uint64_t r = 0; r < keys; r++) {
		acc += 1.0 / pow((double)(r + 1), s);
		cdf[r] = acc;
	}
	return acc;
}

/* The first rank (0-based, at most keys - 1) whose cumulative weight passes
 * u, a draw in [0, total): zipf_rank(cdf, keys, sm_unit(&s) * total). */
static inline uint64_t zipf_rank(const double *cdf, uint64_t keys, double u)
{
	uint64_t lo = 0, hi = keys; /* partition_point(c <= u) */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < keys - 1 ? lo : keys - 1;
}

#endif /* SP_TOOLS_DRAW_H */
