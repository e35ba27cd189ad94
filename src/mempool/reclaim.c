/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c: taking resources back from warm slots, least recently freed
 * first, without taking them out of the index.
 *
 * A warm slot stays in the index (its place in the LRU order and its
 * affinity are the index's business); a reclaimer claims it in the pool
 * instead, moving its state FREE -> RECLAIM with a compare-and-swap, works
 * on it, and stores FREE again. An alloc that the index hands a slot under
 * reclaim waits for that store (sp__slot_take): reclaiming one slot costs
 * a few system calls.
 *
 * Age order: every free stamps the slot with CLOCK_MONOTONIC_COARSE (a
 * tick of 1-4 ms). A reclaim
 * walks the slots twice with no memory of its own: the first walk sums
 * what each age class (powers of two of the age) could give back, the
 * second takes from the oldest classes down to the one that covers the
 * need. Slots whose ages are within a factor of two of each other are not
 * ordered among themselves. Each walk is O(slots); callers ask for more
 * than they need so that one walk serves many allocs.
 */
#include <sched.h>

#include "pool.h"

int sp__slot_claim(sp_mempool *p, uint32_t i)
{
	unsigned char free_ = SP__MS_FREE;
	return atomic_compare_exchange_strong_explicit(&p->slots[i].state, &free_, SP__MS_RECLAIM,
	                                               memory_order_acq_rel, memory_order_relaxed)
	               ? 0
	               : -EBUSY;
}

void sp__slot_take(sp_mempool *p, uint32_t i, unsigned state)
{
	for (;;) {
		unsigned char free_ = SP__MS_FREE;
		if (atomic_compare_exchange_weak_explicit(
			    &p->slots[i].state, &free_, (unsigned char)state, memory_order_acquire,
			    memory_order_relaxed))
			return;
		/* A reclaimer holds it for a few system calls. */
		sched_yield();
	}
}

static unsigned age_class(uint64_t now, uint64_t then)
{
	uint64_t age = now > then ? now - then : 0;
	return age ? 63u - (unsigned)__builtin_clzll(age) : 0u;
}

/* What a warm slot could give back: its mappings, or its kept bytes. The
 * owner writes these while it holds the slot; a reclaimer reads them of
 * FREE slots only as a hint, and again once it has claimed the slot. */
enum what { MAPS, BYTES };

static uint64_t has(const struct sp__mslot *s, enum what w)
{
	return w == MAPS ? s->maps : s->kept;
}

/* Give back slot i's `w` (claimed). Returns what it released. */
static uint64_t give_back(sp_mempool *p, uint32_t i, enum what w)
{
	struct sp__mslot *s = &p->slots[i];
	uint64_t before = has(s, w);
	if (!before)
		return 0;
	if (w == MAPS) {
		/* A failed blank leaves the slot to be rebuilt by its next
		 * user; its mappings stay counted. */
		if (sp__slot_blank(p, i))
			return 0;
		sp__count(p, SP__C_MAP_RECLAIMS, 1);
		return before - has(s, w);
	}
	/* Kept pages are pristine: decommitting them only makes the next
	 * user fault them in again. */
	uint64_t len = s->accessible > s->mapped_hi ? s->accessible : s->mapped_hi;
	if (len && sp__os_decommit(sp__slot_base(p, i), len)) {
		sp__slot_failed(p, i);
		return before;
	}
	sp__slot_set_kept(p, i, 0);
	s->priv = 0;
	sp__count(p, SP__C_BUDGET_RECLAIMS, 1);
	sp__count(p, SP__C_BUDGET_BYTES, before);
	return before;
}

static uint64_t reclaim(sp_mempool *p, enum what w, uint64_t need, uint32_t self)
{
	uint64_t now = sp__age_clock(), sum[64] = {0};
	for (uint32_t i = 0; i < p->nslots; i++) {
		const struct sp__mslot *s = &p->slots[i];
		if (i != self &&
		    atomic_load_explicit(&s->state, memory_order_relaxed) == SP__MS_FREE)
			sum[age_class(now, s->freed_at)] += has(s, w);
	}
	unsigned cut = 64;
	uint64_t avail = 0;
	while (cut > 0 && avail < need)
		avail += sum[--cut];
	uint64_t got = 0;
	/* Everything older than the cut class is needed; then the cut class
	 * until the need is met. */
	for (int pass = 0; pass < 2 && got < need; pass++) {
		for (uint32_t i = 0; i < p->nslots && got < need; i++) {
			struct sp__mslot *s = &p->slots[i];
			if (i == self || !has(s, w) ||
			    atomic_load_explicit(&s->state, memory_order_relaxed) != SP__MS_FREE)
				continue;
			unsigned cls = age_class(now, s->freed_at);
			if ((pass == 0 ? cls <= cut : cls != cut) || sp__slot_claim(p, i))
				continue;
			got += give_back(p, i, w);
			atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
		}
	}
	return got;
}

uint64_t sp__reclaim_maps(sp_mempool *p, uint64_t need, uint32_t self)
{
	return reclaim(p, MAPS, need, self);
}

uint64_t sp__reclaim_bytes(sp_mempool *p, uint64_t need)
{
	return reclaim(p, BYTES, need, UINT32_MAX);
}
