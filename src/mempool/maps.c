/* SPDX-License-Identifier: MIT */
/*
 * maps.c: the mappings budget's count (see maps.h).
 *
 * The count is an upper bound: the kernel may merge neighbouring VMAs that
 * we count apart. What each slot counts is layout.c's and prepare.c's
 * business (sp__mslot.maps); here only the sums live.
 *
 * Locking: none; relaxed atomics.
 */
#include "maps.h"

/* All mappings of every pool in the process. */
static atomic_uint_fast64_t maps_process;

uint64_t sp__maps_process(void)
{
	return atomic_load_explicit(&maps_process, memory_order_relaxed);
}

int sp__maps_try_take(sp_mempool *p, uint64_t n)
{
	if (!n)
		return 0;
	uint64_t cur = atomic_load_explicit(&maps_process, memory_order_relaxed);
	do {
		if (cur + n > p->map_limit)
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak_explicit(
		&maps_process, &cur, cur + n, memory_order_relaxed, memory_order_relaxed));
	atomic_fetch_add_explicit(&p->maps, n, memory_order_relaxed);
	return 0;
}

void sp__maps_give(sp_mempool *p, uint64_t n)
{
	if (!n)
		return;
	atomic_fetch_sub_explicit(&maps_process, n, memory_order_relaxed);
	atomic_fetch_sub_explicit(&p->maps, n, memory_order_relaxed);
}
