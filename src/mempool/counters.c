/* SPDX-License-Identifier: MIT */
/*
 * counters.c: picking a thread's counter stripe and summing the stripes
 * (see counters.h).
 *
 * Layout: a process-wide round-robin of stripe numbers; each thread keeps
 * its number in a thread-local for every pool.
 *
 * Locking: none; relaxed atomics.
 */
#include "counters.h"

static atomic_uint next_stripe;
static _Thread_local unsigned my_stripe = UINT32_MAX;

struct sp__stripe *sp__my_stripe(sp_mempool *p)
{
	if (__builtin_expect(my_stripe == UINT32_MAX, 0))
		my_stripe = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) %
		            SP__STRIPES;
	return &p->ctr[my_stripe];
}

uint64_t sp__counter(const sp_mempool *p, enum sp__ctr c)
{
	uint64_t sum = 0;
	for (unsigned k = 0; k < SP__STRIPES; k++)
		sum += atomic_load_explicit(&p->ctr[k].c[c], memory_order_relaxed);
	return sum;
}
