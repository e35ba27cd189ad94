/* SPDX-License-Identifier: MIT */
/*
 * kept.h: the bytes that resets leave resident in slots, and the share of
 * them that warm slots hold (what max_resident_bytes bounds).
 *
 * Layout: each slot's `kept` and their pool-wide sum `kept_total`; the
 * kept bytes of slots in use are counted apart (SP__C_RESIDENT_OUT), so
 * warm = total - in use.
 *
 * Locking: a slot's kept is written by whoever holds or has claimed the
 * slot; the sum is a relaxed atomic, so warm is a snapshot (never below 0).
 */
#ifndef SP_MEMPOOL_KEPT_H
#define SP_MEMPOOL_KEPT_H

#include "counters.h"
#include "types.h"

/* Change held or claimed slot i's kept bytes, keeping kept_total. */
static inline void sp__kept_set(sp_mempool *p, uint32_t i, uint64_t kept)
{
	struct sp__mslot *s = &p->slots[i];
	if (kept != s->kept)
		atomic_fetch_add_explicit(&p->kept_total, kept - s->kept, memory_order_relaxed);
	s->kept = kept;
}

/* Bytes warm slots keep resident now. */
static inline uint64_t sp__kept_warm(const sp_mempool *p)
{
	uint64_t total = atomic_load_explicit(&p->kept_total, memory_order_relaxed);
	uint64_t out = sp__counter(p, SP__C_RESIDENT_OUT);
	return total > out ? total - out : 0;
}

#endif /* SP_MEMPOOL_KEPT_H */
