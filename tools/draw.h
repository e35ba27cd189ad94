/* SPDX-License-Identifier: MIT */
/*
 * draw.h: the random draws that `gen` and `mt` share with the seed's tools
 * (../shared/anchors): SplitMix64, a uniform double from it, and a Zipf key
 * rank by inverse CDF. Both commands must draw exactly as the anchors do, so
 * there is one copy. Tool-internal.
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

/* Uniform in [0, 1), 53 bits. */
static inline double sm_unit(uint64_t *s)
{
	return (double)(sm_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* cdf[r] = sum of 1/(i+1)^s for i <= r, r < keys; returns the total. */
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
 * u, a draw in [0, total). */
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
