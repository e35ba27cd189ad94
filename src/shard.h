/*
 * shard.h: a shard of an index: a contiguous range of slots with its own
 * lock, on its own cache lines, and its own policy state (policy.h) with a
 * share of the warm budget.
 */
#ifndef SP_SHARD_H
#define SP_SHARD_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "lock.h"
#include "policy.h"

struct sp__shard {
	alignas(64) sp__lock lock;
	struct sp__policy pol;
	uint32_t base; /* first slot, in the index's numbering */
	/* Written under the lock, read by other shards' threads without it:
	 * non-zero while this shard is under its warm budget share and has
	 * cold slots, so a thread whose home shard is at its share can take a
	 * cold slot here instead of evicting a warm one (global budget
	 * semantics, per-shard state). */
	atomic_uint lends_cold;
};

/* Refresh lends_cold after an operation changed the shard (lock held). */
static inline void sp__shard_publish(struct sp__shard *sh)
{
	unsigned v = sp__policy_under_budget(&sh->pol) && sp__policy_has_cold(&sh->pol);
	if (atomic_load_explicit(&sh->lends_cold, memory_order_relaxed) != v)
		atomic_store_explicit(&sh->lends_cold, v, memory_order_relaxed);
}

#endif /* SP_SHARD_H */
