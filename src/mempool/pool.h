/* SPDX-License-Identifier: MIT */
/*
 * pool.h: the memory pool's internal structures and the functions its files
 * share. Not installed.
 *
 *   pool.c       create, destroy, alloc, grow, free, flush, waits
 *   slot.c       what a slot maps: remap, blank, access changes, and the
 *                mappings each slot costs (the mappings budget)
 *   reset.c      the reset paths that make a freed slot pristine
 *   reclaim.c    taking resources back from warm slots, least recently
 *                used first (mappings now; resident bytes)
 *   fork.c       the registry of pools, fork handlers, and reopening the
 *                per-process kernel handles in a child
 *   image.c      images and their handles
 *   introspect.c stats, the exhaustion report, the invariant check
 *
 * Locking: alloc and free take no pool lock on their common path: the
 * index (with its own shard locks) hands each slot to one thread at a time,
 * and a slot's record and contents belong to whoever holds it: the
 * allocating thread until free, the freeing thread while it resets, a
 * reclaimer while the slot is SP__MS_RECLAIM. Slot states and counters are
 * atomics. The pool mutex `mu` guards the rest: image references and the
 * image list, the decommit batch (and the slots in it), purges, the
 * condition variable of waiting allocs, and reopening handles after fork.
 * Lock order: the fork registry, then a pool's mu, then index locks.
 */
#ifndef SP_MEMPOOL_POOL_H
#define SP_MEMPOOL_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "clock.h"
#include "counters.h"
#include "types.h"

/* ---- slots (slot.c) ---- */
/* Returned inside the pool when the mappings budget refused a change that
 * was therefore not made (the caller turns it into -ENOMEM). */
#define SP__EMAPS (-100000)
/* Make held slot i ready for img with acc bytes accessible (remapping it
 * if it maps something else). SP__EMAPS without touching the slot when the
 * mappings budget refuses; another error: the caller marks it failed. */
int sp__slot_prepare(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc);
/* Widen held slot i's accessible range to acc (> accessible). -ENOMEM
 * (nothing changed) when the mappings budget refuses; another error marks
 * the slot rebuild. */
int sp__slot_grow(sp_mempool *p, uint32_t i, uint64_t acc);
/* Put held slot i back to zeros and inaccessible, like a cold slot. */
int sp__slot_blank(sp_mempool *p, uint32_t i);
/* Make [from, to) of held slot i read-write, or inaccessible. */
int sp__slot_open(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
int sp__slot_close(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Arm write tracking on [from, to) of slot i's kept-resident part. */
int sp__slot_arm(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Record that a remap or access change of slot i failed: rebuild it. */
void sp__slot_failed(sp_mempool *p, uint32_t i);
/* Take n mappings from the budget (reclaiming warm slots' if it must;
 * `self` is a slot the caller holds, or UINT32_MAX). 0 or -ENOMEM. */
int sp__maps_take(sp_mempool *p, uint64_t n, uint32_t self);
void sp__maps_give(sp_mempool *p, uint64_t n);
/* The process-wide mappings every pool holds (for tests and stats). */
uint64_t sp__maps_process(void);

/* ---- reset (reset.c) ---- */
struct sp__ranges {
	sp__os_range r[64];
	size_t n;
	int barrier; /* clean mapped pages since the last range: do not merge */
};
/* Reset held slot i: restore in place what is kept, gather the ranges to
 * decommit in d (issued early if d fills). */
int sp__reset(sp_mempool *p, uint32_t i, struct sp__ranges *d);
/* Decommit n ranges (process_madvise or madvise each). */
int sp__decommit(sp_mempool *p, const sp__os_range *r, size_t n);
/* Start slot i's learning for img (NULL: zeros), when it is mapped. */
void sp__reset_learn_from(sp_mempool *p, uint32_t i, const sp_image *img);
/* Change held or claimed slot i's kept bytes, keeping kept_total. */
void sp__slot_set_kept(sp_mempool *p, uint32_t i, uint64_t kept);
/* Bytes warm slots keep resident now. */
uint64_t sp__kept_warm(const sp_mempool *p);

/* ---- reclaim (reclaim.c) ---- */
/* Claim FREE slot i for a reclaimer (0) or fail (-EBUSY). */
int sp__slot_claim(sp_mempool *p, uint32_t i);
/* Move slot i, which the index just handed us, from FREE to `state`,
 * waiting while a reclaimer holds it. */
void sp__slot_take(sp_mempool *p, uint32_t i, unsigned state);
/* Take back at least `need` mappings from warm slots, least recently
 * used first, skipping slot `self`. Returns the number taken back. */
uint64_t sp__reclaim_maps(sp_mempool *p, uint64_t need, uint32_t self);
/* Decommit warm slots' kept pages, least recently used first, until at
 * least `need` bytes are released. Returns the bytes released. */
uint64_t sp__reclaim_bytes(sp_mempool *p, uint64_t need);

/* ---- pool.c ---- */
/* Issue the batched decommits and return the slots to the index; under mu. */
int sp__mempool_flush_locked(sp_mempool *p);
/* Purge every warm slot that maps img (no slot uses img); under mu.
 * Returns 0 or the first remap error (those slots are marked rebuild). */
int sp__mempool_purge_image(sp_mempool *p, sp_image *img);

/* ---- fork (fork.c) ---- */
/* Add p to / remove p from the registry the fork handlers walk. */
int sp__fork_register(sp_mempool *p);
void sp__fork_unregister(sp_mempool *p);
/* The fork generation: bumped in every child the process forks. */
unsigned sp__fork_gen(void);
/* In a child (p->os_gen is stale): reopen p's kernel handles for this
 * process, or fall back to paths that need none. */
void sp__fork_reopen(sp_mempool *p);
/* Reopen the handles if this process is not the one that opened them. */
static inline void sp__fork_check(sp_mempool *p)
{
	if (__builtin_expect(
		    atomic_load_explicit(&p->os_gen, memory_order_acquire) != sp__fork_gen(), 0))
		sp__fork_reopen(p);
}

/* ---- images (image.c) ---- */
/* Free every image record of p, live or released, at destroy. */
void sp__image_destroy_all(sp_mempool *p);
/* Is img a live image of p? (relaxed: the release protocol decides). */
int sp__image_usable(const sp_mempool *p, const sp_image *img);

#endif /* SP_MEMPOOL_POOL_H */
