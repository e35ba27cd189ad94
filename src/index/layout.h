/* SPDX-License-Identifier: MIT */
/*
 * layout.h: an index in memory, and the small inline helpers every index
 * file shares: which shard owns a slot, this thread's home, and the
 * recording hooks.
 *
 * Layout: the index header, then an array of shards (shard.h), each on its
 * own cache lines with its own lock and policy, owning the contiguous slots
 * [base, base + capacity). Shard i holds q + 1 slots when i < big, else q.
 *
 * Recording (sp_index_record, record.h): rec is NULL unless recording, and
 * changes only with every shard lock held, so an operation reads it under a
 * lock it holds; `recording` mirrors it for a look without a lock.
 */
#ifndef SP_INDEX_LAYOUT_H
#define SP_INDEX_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "fastdiv.h"
#include "hint.h"
#include "home.h"
#include "record.h"
#include "shard.h"
#include "slotpool/index.h"

/* free_many gathers the shards a batch touches in a 64-bit mask. */
_Static_assert(SP_INDEX_MAX_SHARDS <= 64, "a batch's shard mask has 64 bits");

struct sp_index {
	uint64_t id; /* never reused: the key of each thread's home memo */
	uint32_t capacity;
	uint32_t nshards;
	uint32_t q;     /* slots of a small shard */
	uint32_t big;   /* shards [0, big) hold q + 1 slots */
	uint32_t edge;  /* first slot of shard big: big * (q + 1) */
	uint32_t flags; /* SP_INDEX_* */
	/* NULL unless recording; on the line every operation reads anyway.
	 * A plain field: the test is then one compare with memory. */
	struct sp__recorder *rec;
	uint64_t div_q, div_q1;      /* reciprocals for slot -> shard */
	uint64_t mod_shards;         /* reciprocal for ordinal -> home shard */
	uint32_t max_warm;           /* the whole warm budget */
	struct sp__hint hint;        /* only with several shards */
	atomic_ullong failed_allocs; /* sharded path; one shard counts in its policy */
	atomic_int recording;        /* rec != NULL, for a look without a lock */
	atomic_ullong clear_misses;
	/* Inline, so the one-shard path reaches its lock with no extra load. */
	struct sp__shard shards[];
};

static inline struct sp__shard *sp__owner(sp_index *ix, uint32_t slot)
{
	uint32_t i;
	if (slot < ix->edge)
		i = sp__fastdiv(slot, ix->div_q1);
	else /* the reciprocal of 1 does not fit in 64 bits */
		i = ix->big +
		    (ix->q == 1 ? slot - ix->edge : sp__fastdiv(slot - ix->edge, ix->div_q));
	return &ix->shards[i];
}

/* This thread's home shard; several shards only. */
static inline uint32_t sp__home_of(const sp_index *ix)
{
	return sp__home(ix->id, ix->mod_shards, ix->nshards);
}

/* With a shard lock held. */
static inline struct sp__recorder *sp__recorder_of(const sp_index *ix)
{
	return ix->rec;
}

static inline int sp__rec_kind(enum sp__use use)
{
	return use == SP__USE_KEY ? SP__REC_ALLOC : SP__REC_ALLOC_NOKEY;
}

/* An a/c operation served by sh (its lock held): s is sh's slot or SP__NIL. */
static inline void sp__rec_op(sp_index *ix, const struct sp__shard *sh, int kind, uint64_t key,
                              uint32_t s)
{
	struct sp__recorder *r = sp__recorder_of(ix);
	if (__builtin_expect(r != NULL, 0))
		sp__record_op(r, kind, key, s == SP__NIL ? SP__NIL : sh->base + s);
}

/* Every shard lock, in ascending order (the order free_many uses). */
static inline void sp__lock_shards(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++)
		sp__lock_acquire(&ix->shards[j].lock);
}

static inline void sp__unlock_shards(sp_index *ix)
{
	for (uint32_t j = ix->nshards; j-- > 0;)
		sp__lock_release(&ix->shards[j].lock);
}

#endif /* SP_INDEX_LAYOUT_H */
