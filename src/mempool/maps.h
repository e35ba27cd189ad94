/* SPDX-License-Identifier: MIT */
/*
 * maps.h: the mappings budget. Every VMA the process holds counts against
 * vm.max_map_count, which malloc, mmap and pthread_create elsewhere in the
 * process need too; pools count theirs together, process-wide, and stay
 * under a limit (pool->map_limit, from the config).
 *
 * Layout: one process-wide count, and each pool's own share (pool->maps).
 *
 * Locking: none; relaxed atomics. A take is a compare-and-swap against the
 * limit, so concurrent takes never pass it together.
 */
#ifndef SP_MEMPOOL_MAPS_H
#define SP_MEMPOOL_MAPS_H

#include "types.h"

/* Take n mappings for p if the process stays within p's limit: 0, or
 * -ENOMEM with nothing taken. Taking warm slots' mappings back to make
 * room is reclaim.c's (sp__reclaim_take_maps). */
int sp__maps_try_take(sp_mempool *p, uint64_t n);
/* Give back n mappings that p took. */
void sp__maps_give(sp_mempool *p, uint64_t n);
/* The mappings every pool of the process holds (for stats and tests). */
uint64_t sp__maps_process(void);

#endif /* SP_MEMPOOL_MAPS_H */
