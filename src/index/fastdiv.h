/* SPDX-License-Identifier: MIT */
/*
 * fastdiv.h: Lemire's exact division and modulo of 32-bit operands by a
 * run-time constant, through a 64-bit reciprocal made once: a divide costs
 * more than the rest of a free.
 */
#ifndef SP_FASTDIV_H
#define SP_FASTDIV_H

#include <stdint.h>

__extension__ typedef unsigned __int128 sp__u128;

/* The reciprocal of d; 0 for d <= 1, whose reciprocal does not fit. */
static inline uint64_t sp__reciprocal(uint32_t d)
{
	return d > 1 ? UINT64_MAX / d + 1 : 0;
}

/* a / d, m = sp__reciprocal(d), d > 1. */
static inline uint32_t sp__fastdiv(uint32_t a, uint64_t m)
{
	return (uint32_t)(((sp__u128)m * a) >> 64);
}

/* a % d, m = sp__reciprocal(d), d > 1. */
static inline uint32_t sp__fastmod(uint32_t a, uint64_t m, uint32_t d)
{
	uint64_t low = m * a;
	return (uint32_t)(((sp__u128)low * d) >> 64);
}

#endif /* SP_FASTDIV_H */
