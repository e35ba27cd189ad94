/* SPDX-License-Identifier: MIT */
/*
 * counters.h: the pool's event counters (allocs, remaps, decommits...),
 * which sp_mempool_get_stats reports.
 *
 * Layout: SP__STRIPES stripes of every counter, each stripe on its own
 * cache lines (pool->ctr). A thread adds to one stripe, picked once per
 * thread, so two threads do not fight over one line per operation; a read
 * sums the stripes.
 *
 * Locking: none; relaxed atomics. A sum read while threads count is a
 * snapshot of no single instant.
 */
#ifndef SP_MEMPOOL_COUNTERS_H
#define SP_MEMPOOL_COUNTERS_H

#include "types.h"

#define SP__STRIPES 16

enum sp__ctr {
	SP__C_ALLOCS, /* successful allocs */
	SP__C_FREES,  /* frees that took a slot back from its user */
	SP__C_AFFINE_HITS,
	SP__C_REMAPS,
	SP__C_DECOMMIT_CALLS,
	SP__C_DECOMMIT_BYTES,
	SP__C_RESET_BYTES,
	SP__C_RESET_FAILURES,
	SP__C_WAITS,
	SP__C_WAIT_TIMEOUTS,
	SP__C_NOSPC,        /* allocs that found every slot in use */
	SP__C_MAP_REFUSALS, /* allocs refused by the mappings budget */
	SP__C_MAP_RECLAIMS, /* warm slots whose mappings were reclaimed */
	SP__C_RESIDENT_OUT, /* kept bytes of slots in use (signed deltas) */
	SP__C_RESETS_IN_PLACE,
	SP__C_RESETS_DECOMMIT,
	SP__C_RESETS_SCANNED,
	SP__C_PAGES_COMPARED,
	SP__C_PAGES_RESTORED,
	SP__C_TRIMMED_BYTES,
	SP__C_BUDGET_RECLAIMS,
	SP__C_BUDGET_BYTES,
	SP__NCTR
};

struct sp__stripe {
	_Alignas(64) atomic_uint_fast64_t c[SP__NCTR];
};

/* The calling thread's stripe of p's counters. */
struct sp__stripe *sp__my_stripe(sp_mempool *p);

/* Add n to counter c (a subtraction wraps: SP__C_RESIDENT_OUT). */
static inline void sp__count(sp_mempool *p, enum sp__ctr c, uint64_t n)
{
	atomic_fetch_add_explicit(&sp__my_stripe(p)->c[c], n, memory_order_relaxed);
}

/* Counter c summed over the stripes. */
uint64_t sp__counter(const sp_mempool *p, enum sp__ctr c);

#endif /* SP_MEMPOOL_COUNTERS_H */
