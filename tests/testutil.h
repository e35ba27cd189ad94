/* SPDX-License-Identifier: MIT */
/*
 * testutil.h: small helpers shared by the tests: a seeded PRNG (splitmix64)
 * and a Zipf key sampler. Header-only so each test stays one executable.
 */
#ifndef SP_TESTUTIL_H
#define SP_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
	uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t tu_below(tu_rng *r, uint64_t n)
{
	return tu_next(r) % n;
}

/* Uniform in [0, 1). */
static inline double tu_unit(tu_rng *r)
{
	return (double)(tu_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Zipf(s) over ranks 0 .. n-1 (s = 0: uniform), by inverse CDF. */
typedef struct {
	double *cdf;
	uint32_t n;
} tu_zipf;

static inline void tu_zipf_init(tu_zipf *z, uint32_t n, double s)
{
	z->n = n;
	z->cdf = malloc(sizeof(double) * n);
	double acc = 0;
	for (uint32_t i = 0; i < n; i++) {
		acc += 1.0 / pow((double)(i + 1), s);
		z->cdf[i] = acc;
	}
}

static inline uint32_t tu_zipf_draw(const tu_zipf *z, tu_rng *r)
{
	double u = tu_unit(r) * z->cdf[z->n - 1];
	uint32_t lo = 0, hi = z->n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline void tu_zipf_fini(tu_zipf *z)
{
	free(z->cdf);
}

#endif /* SP_TESTUTIL_H */
