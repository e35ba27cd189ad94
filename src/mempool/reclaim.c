/* SPDX-License-Identifier: MIT */
/*
 * reclaim.c: taking resources back from warm slots, least recently freed
 * first, without taking them out of the index: their mappings when the
 * mappings budget lacks room (sp__reclaim_take_maps), their kept pages
 * when warm slots keep more than max_resident_bytes (sp__reclaim_bytes,
 * sp_mempool_trim).
 *
 * A warm slot stays in the index (its place in the LRU order and its
 * affinity are the index's business); a reclaimer claims it in the pool
 * instead, moving its state FREE -> RECLAIM with a compare-and-swap, works
 * on it, and stores FREE again. An alloc that the index hands a slot under
 * reclaim waits for that store (sp__reclaim_take_slot): reclaiming one
 * slot costs a few system calls.
 *
 * Age order: every free stamps the slot with sp__age_clock (a tick of
 * 1-4 ms). A reclaim walks the slots twice with no memory of its own: the
 * first walk sums what each age class (powers of two of the age) could
 * give back, the second takes from the oldest classes down to the one that
 * covers the need. Slots whose ages are within a factor of two of each
 * other are not ordered among themselves. Each walk is O(slots); callers
 * ask for more than they need so that one walk serves many allocs.
 *
 * Locking: reclaim_mu, one reclaimer at a time per pool; the slots it
 * works on are claimed (SP__MS_RECLAIM), so their records are its own.
 */
#include "reclaim.h"

#include <sched.h>

#include "clock.h"
#include "counters.h"
#include "fork.h"
#include "kept.h"
#include "layout.h"
#include "maps.h"

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Claim FREE slot i for a reclaimer (0) or fail (-EBUSY). */
static int claim(sp_mempool *p, uint32_t i)
{
	unsigned char free_ = SP__MS_FREE;
	return atomic_compare_exchange_strong_explicit(&p->slots[i].state, &free_, SP__MS_RECLAIM,
	                                               memory_order_acq_rel, memory_order_relaxed)
	               ? 0
	               : -EBUSY;
}

void sp__reclaim_take_slot(sp_mempool *p, uint32_t i, unsigned state)
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

/* Give back claimed slot i's mappings: blank it. Returns those released. */
static uint64_t give_back_maps(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	uint64_t before = s->maps;
	if (!before)
		return 0;
	/* A failed blank leaves the slot to be rebuilt by its next user; its
	 * mappings stay counted. */
	if (sp__layout_blank(p, i))
		return 0;
	sp__count(p, SP__C_MAP_RECLAIMS, 1);
	return before - atomic_load(&s->maps); /* what the blank left */
}

/* Give back claimed slot i's kept pages. Returns the bytes released. */
static uint64_t give_back_bytes(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	uint64_t before = s->kept;
	if (!before)
		return 0;
	/* Kept pages are pristine: decommitting them only makes the next
	 * user fault them in again. */
	uint64_t len = s->accessible > s->mapped_hi ? s->accessible : s->mapped_hi;
	if (len && sp__os_decommit(sp__slot_base(p, i), len)) {
		sp__layout_failed(p, i);
		return before;
	}
	sp__kept_set(p, i, 0);
	s->priv = 0;
	sp__count(p, SP__C_BUDGET_RECLAIMS, 1);
	sp__count(p, SP__C_BUDGET_BYTES, before);
	return before;
}

static uint64_t give_back(sp_mempool *p, uint32_t i, enum what w)
{
	return w == MAPS ? give_back_maps(p, i) : give_back_bytes(p, i);
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
			if ((pass == 0 ? cls <= cut : cls != cut) || claim(p, i))
				continue;
			got += give_back(p, i, w);
			atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
		}
	}
	return got;
}

int sp__reclaim_take_maps(sp_mempool *p, uint64_t n, uint32_t self)
{
	if (sp__maps_try_take(p, n) == 0)
		return 0;
	/* Take back more than asked: a reclaim walks every slot, so each
	 * walk should serve many allocs. */
	uint64_t want = max64(n, p->map_limit / 64);
	pthread_mutex_lock(&p->reclaim_mu);
	int err = sp__maps_try_take(p, n);
	if (err) {
		(void)reclaim(p, MAPS, want, self);
		err = sp__maps_try_take(p, n);
	}
	pthread_mutex_unlock(&p->reclaim_mu);
	return err;
}

uint64_t sp__reclaim_bytes(sp_mempool *p, uint64_t need)
{
	return reclaim(p, BYTES, need, UINT32_MAX);
}

SP_API int sp_mempool_trim(sp_mempool *pool, uint64_t max_resident_bytes)
{
	if (!pool)
		return -EINVAL;
	sp__fork_check(pool);
	pthread_mutex_lock(&pool->reclaim_mu);
	uint64_t warm = sp__kept_warm(pool);
	if (warm > max_resident_bytes)
		(void)sp__reclaim_bytes(pool, warm - max_resident_bytes);
	pthread_mutex_unlock(&pool->reclaim_mu);
	return 0;
}
