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
 * Age order: every free stamps the slot with CLOCK_MONOTONIC. A reclaim
 * walks the slots twice with no memory of its own: the first walk sums
 * what each age class (powers of two of the age) could give back, the
 * second takes from the oldest classes down to the one that covers the
 * need. Slots whose ages are within a factor of two of each other are not
 * ordered among themselves. Each walk is O(slots); callers ask for more
 * than they need so that one walk serves many allocs.
 */
#include <sched.h>
#include <time.h>

#include "pool.h"

uint64_t sp__now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int sp__slot_claim(sp_mempool *p, uint32_t i)
{
	unsigned char free_ = SP__MS_FREE;
	return atomic_compare_exchange_strong_explicit(&p->slots[i].state, &free_, SP__MS_RECLAIM,
	                                               memory_order_acq_rel,
	                                               memory_order_relaxed)
	               ? 0
	               : -EBUSY;
}

void sp__slot_take(sp_mempool *p, uint32_t i, unsigned state)
{
	for (;;) {
		unsigned char free_ = SP__MS_FREE;
		if (atomic_compare_exchange_weak_explicit(&p->slots[i].state, &free_,
		                                          (unsigned char)state, memory_order_acquire,
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

uint64_t sp__reclaim_maps(sp_mempool *p, uint64_t need, uint32_t self)
{
	uint64_t now = sp__now_ns(), sum[64] = {0};
	for (uint32_t i = 0; i < p->nslots; i++) {
		const struct sp__mslot *s = &p->slots[i];
		if (i != self && s->maps &&
		    atomic_load_explicit(&s->state, memory_order_relaxed) == SP__MS_FREE)
			sum[age_class(now, s->freed_at)] += s->maps;
	}
	unsigned cut = 64;
	uint64_t have = 0;
	while (cut > 0 && have < need)
		have += sum[--cut];
	uint64_t got = 0;
	for (uint32_t i = 0; i < p->nslots && got < need; i++) {
		struct sp__mslot *s = &p->slots[i];
		if (i == self || !s->maps ||
		    atomic_load_explicit(&s->state, memory_order_relaxed) != SP__MS_FREE ||
		    age_class(now, s->freed_at) < cut || sp__slot_claim(p, i))
			continue;
		uint32_t before = s->maps;
		/* A failed blank leaves the slot to be rebuilt by its next
		 * user; its mappings stay counted. */
		if (s->maps && sp__slot_blank(p, i) == 0) {
			got += before;
			sp__count(p, SP__C_MAP_RECLAIMS, 1);
		}
		atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
	}
	return got;
}
