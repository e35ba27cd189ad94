/* SPDX-License-Identifier: MIT */
/*
 * layout.h: changing what a slot maps (see layout.c). Each function works
 * on a slot its caller holds, or has claimed as a reclaimer.
 */
#ifndef SP_MEMPOOL_LAYOUT_H
#define SP_MEMPOOL_LAYOUT_H

#include "types.h"

/* Map img (NULL: zeros only) into slot i with [0, acc) read-write and the
 * rest inaccessible (acc 0: closed, like a cold slot), in place, and start
 * the slot's reset learning afresh. The slot's mappings count is left to
 * the caller. An error leaves the slot marked rebuild. */
int sp__layout_map(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc);
/* Put slot i back to zeros and inaccessible, like a cold slot, and count
 * the mappings that leaves. */
int sp__layout_blank(sp_mempool *p, uint32_t i);
/* Make [from, to) of slot i read-write. */
int sp__layout_open(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Make [from, to) of slot i inaccessible. */
int sp__layout_close(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Arm write tracking on [from, to) of slot i's kept-resident part. */
int sp__layout_arm(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* A remap, access change or reset of slot i failed: mark it to be rebuilt
 * before reuse, and count the most mappings it may hold meanwhile (as far
 * as the budget has room: it takes none back for that). */
void sp__layout_failed(sp_mempool *p, uint32_t i);

#endif /* SP_MEMPOOL_LAYOUT_H */
