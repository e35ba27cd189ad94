/* SPDX-License-Identifier: MIT */
/*
 * shard.h: a shard of an index: a contiguous range of slots with its own
 * lock, on its own cache lines, and its own policy (policy.h) with a share
 * of the warm budget.
 */
#ifndef SP_SHARD_H
#define SP_SHARD_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "hint.h"
#include "lock.h"
#include "policy.h"

struct sp__shard {
	alignas(64) sp__lock lock;
	struct sp__policy pol;
	uint32_t base;            /* first slot, in the index's numbering */
	struct sp__hint_col hint; /* the policy's key hook context, several shards */
	/* Apart from the lock and the policy's hot fields, so that threads of
	 * other shards reading it do not take those lines from the owner. */
	alignas(64) struct sp__pub pub;
};

/* The lock and the fields an affine hit or a free writes share one line. */
_Static_assert(offsetof(struct sp__shard, pol.affine_hits) + sizeof(uint64_t) <= 64,
               "a shard's hot fields must stay on its lock's cache line");

#endif /* SP_SHARD_H */
