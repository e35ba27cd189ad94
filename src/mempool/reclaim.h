/* SPDX-License-Identifier: MIT */
/*
 * reclaim.h: taking mappings and kept pages back from warm slots (see
 * reclaim.c), and handing a slot over from a reclaimer to an alloc.
 */
#ifndef SP_MEMPOOL_RECLAIM_H
#define SP_MEMPOOL_RECLAIM_H

#include "types.h"

/* Move slot i, which the index just handed the caller, from FREE to
 * `state` (SP__MS_USED, or SP__MS_RECLAIM for a purge), waiting while a
 * reclaimer holds it. */
void sp__reclaim_take_slot(sp_mempool *p, uint32_t i, unsigned state);
/* Take n mappings from the budget (maps.h); when it lacks them, take warm
 * slots' back first, least recently freed first, never slot `self` (one
 * the caller holds, or UINT32_MAX). 0 or -ENOMEM. Takes reclaim_mu when
 * it must reclaim: call it without reclaim_mu. */
int sp__reclaim_take_maps(sp_mempool *p, uint64_t n, uint32_t self);
/* Decommit warm slots' kept pages, least recently freed first, until at
 * least `need` bytes are released. Returns the bytes released. The caller
 * holds reclaim_mu. */
uint64_t sp__reclaim_bytes(sp_mempool *p, uint64_t need);

#endif /* SP_MEMPOOL_RECLAIM_H */
