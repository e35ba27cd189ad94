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
	/* Read by other shards' threads without the lock, written under it, on
	 * a line of their own so readers do not pull the lock's line away:
	 *   warm_pub  unused_warm, published when it moved by more than
	 *             pub_slack (readers sum these to judge the global budget);
	 *   cold_pub  non-zero while the shard has cold slots. */
	alignas(64) atomic_uint warm_pub;
	atomic_uint cold_pub;
	uint32_t pub_slack;
};

/* Refresh the published fields after an operation changed the shard (lock
 * held). The warm count is coarse on purpose: a store on every operation
 * would make every reader's next look a cache miss for nothing. */
static inline void sp__shard_publish(struct sp__shard *sh)
{
	uint32_t w = sh->pol.unused_warm;
	uint32_t pub = atomic_load_explicit(&sh->warm_pub, memory_order_relaxed);
	if (w - pub + sh->pub_slack > 2 * sh->pub_slack) /* |w - pub| > slack, unsigned */
		atomic_store_explicit(&sh->warm_pub, w, memory_order_relaxed);
	if (!sp__policy_has_cold(&sh->pol) &&
	    atomic_load_explicit(&sh->cold_pub, memory_order_relaxed))
		atomic_store_explicit(&sh->cold_pub, 0, memory_order_relaxed);
}

#endif /* SP_SHARD_H */
