/* SPDX-License-Identifier: MIT */
/*
 * router.c: the cross-shard router of an index of several shards
 * (router.h). A thread works in its home shard (home.h); api.c serves an
 * affine hit there, and everything else comes here, composed of the
 * policy's steps (policy.h):
 *
 *   step 1  K's newest warm slot in home, else, guided by the cross-shard
 *           summary (hint.h), in another shard (unless
 *           SP_INDEX_HOME_AFFINITY);
 *   2-3     the policy's order at home with the whole index's budget
 *           verdict (below_budget), a cold slot borrowed from another
 *           shard when home has none and the verdict prefers cold;
 *   else    another shard's steps 2-3, the one publishing the most warm
 *           slots first.
 *
 * Locking: a thread holds one shard lock at a time, so there is no lock
 * order to get wrong (free_many, in api.c, takes several in ascending
 * order). An operation that ends holding no lock (an alloc that found
 * every shard in use, a clear that found the key nowhere) takes its home
 * lock again to record, only when the index is recording.
 */
#include "router.h"

#include <errno.h>
#include <stdatomic.h>

#include "lock.h"
#include "policy.h"

/* A sharded alloc or clear that failed, holding no lock: records under the
 * home lock, which makes it one of the operations serialised there. */
__attribute__((noinline)) static void rec_miss(sp_index *ix, uint32_t home, int kind, uint64_t key)
{
	if (!atomic_load_explicit(&ix->recording, memory_order_relaxed))
		return;
	struct sp__shard *hs = &ix->shards[home];
	sp__lock_acquire(&hs->lock);
	sp__rec_op(ix, hs, kind, key, SP__NIL);
	sp__lock_release(&hs->lock);
}

/* The k-th shard after home, wrapping: other shards are tried in the same
 * rotation from every home, so no shard is everybody's second choice. */
static inline uint32_t after(const sp_index *ix, uint32_t home, uint32_t k)
{
	return home + k < ix->nshards ? home + k : home + k - ix->nshards;
}

typedef uint32_t affine_step(struct sp__policy *p, uint64_t key);

/*
 * Step 1 (`take`, recorded as `kind`) in the shards other than home that
 * the summary points at (cell of the key), in rotation after home; SP__NIL
 * if none has the key. Entered with home's lock held when *home_held: it
 * is released at the first candidate, so a thread never holds two locks,
 * and deciding and visiting are one pass over the summary that stops at
 * the first slot found.
 */
static inline uint32_t step1_elsewhere(sp_index *ix, uint32_t home, uint64_t key, affine_step *take,
                                       int kind, int *home_held)
{
	uint32_t cell = sp__hint_cell(&ix->hint, key);
	const atomic_uchar *col0 = sp__hint_at(&ix->hint, cell, 0), *c = col0;
	size_t stride = (size_t)ix->hint.mask + 1;
	uint32_t j = home;
	c += stride * home;
	for (uint32_t k = 1; k < ix->nshards; k++) {
		if (++j == ix->nshards) {
			j = 0;
			c = col0;
		} else {
			c += stride;
		}
		if (!atomic_load_explicit(c, memory_order_relaxed))
			continue;
		if (*home_held) {
			sp__lock_release(&ix->shards[home].lock);
			*home_held = 0;
		}
		struct sp__shard *sh = &ix->shards[j];
		sp__lock_acquire(&sh->lock);
		uint32_t s = take(&sh->pol, key);
		if (s != SP__NIL)
			sp__rec_op(ix, sh, kind, key, s);
		sp__lock_release(&sh->lock);
		if (s != SP__NIL)
			return sh->base + s;
	}
	return SP__NIL;
}

static uint32_t affine_elsewhere(sp_index *ix, uint32_t home, uint64_t key, int *home_held)
{
	return step1_elsewhere(ix, home, key, sp__policy_take_affine, SP__REC_ALLOC, home_held);
}

static uint32_t clear_elsewhere(sp_index *ix, uint32_t home, uint64_t key)
{
	int held = 0;
	return step1_elsewhere(ix, home, key, sp__policy_take_clear, SP__REC_CLEAR, &held);
}

/* A cold slot of another shard, for a home that has none left. */
static uint32_t borrow_cold(sp_index *ix, uint32_t home, enum sp__use use, uint64_t key)
{
	for (uint32_t k = 1; k < ix->nshards; k++) {
		uint32_t j = after(ix, home, k);
		struct sp__shard *sh = &ix->shards[j];
		if (!atomic_load_explicit(&sh->pub.cold, memory_order_relaxed))
			continue;
		uint32_t s = SP__NIL;
		sp__lock_acquire(&sh->lock);
		if (sp__policy_has_cold(&sh->pol)) {
			s = sp__policy_take_cold(&sh->pol, use, key);
			sp__rec_op(ix, sh, sp__rec_kind(use), key, s);
		}
		sp__lock_release(&sh->lock);
		if (s != SP__NIL)
			return sh->base + s;
	}
	return SP__NIL;
}

static int others_have_cold(const sp_index *ix, uint32_t home)
{
	for (uint32_t j = 0; j < ix->nshards; j++)
		if (j != home &&
		    atomic_load_explicit(&ix->shards[j].pub.cold, memory_order_relaxed))
			return 1;
	return 0;
}

/*
 * The whole index's budget verdict. Home decides alone while it is below
 * its share; past it, the sum of the other shards' published warm counts
 * (each within its slack) and home's exact count says whether the whole
 * index is below the budget, as one shard would judge it. Each shard
 * publishes on a line of its own: one shared counter would take an atomic
 * read-modify-write from every shard, on one line, every few changes (a
 * sixteenth of a 62-slot share is 3). So one thread may keep every warm
 * slot of the budget in its home shard instead of evicting at half of it.
 */
static int below_budget(sp_index *ix, uint32_t home)
{
	const struct sp__shard *hs = &ix->shards[home];
	if (sp__policy_under_budget(&hs->pol))
		return 1;
	uint64_t warm = hs->pol.unused_warm;
	for (uint32_t j = 0; j < ix->nshards; j++) {
		if (j == home)
			continue;
		warm += atomic_load_explicit(&ix->shards[j].pub.warm, memory_order_relaxed);
		if (!sp__below_budget(warm, ix->max_warm))
			return 0;
	}
	return 1;
}

/* Home is entirely in use: steps 2-3 of any other shard's policy, with its
 * own verdict, starting with the shard that publishes the most warm slots
 * (where the slots nobody came back for pile up), then the others in
 * rotation. Holds no lock on entry or return. */
static uint32_t take_other_elsewhere(sp_index *ix, uint32_t home, enum sp__use use, uint64_t key)
{
	uint32_t first = home, most = 0;
	for (uint32_t k = 1; k < ix->nshards; k++) { /* ties: first in rotation */
		uint32_t j = after(ix, home, k);
		uint32_t w = atomic_load_explicit(&ix->shards[j].pub.warm, memory_order_relaxed);
		if (w > most) {
			most = w;
			first = j;
		}
	}
	for (uint32_t k = first == home ? 1 : 0; k < ix->nshards; k++) {
		uint32_t j = k ? after(ix, home, k) : first;
		if (k && j == first)
			continue;
		struct sp__shard *sh = &ix->shards[j];
		sp__lock_acquire(&sh->lock);
		uint32_t s = sp__policy_take_other(&sh->pol, sp__policy_under_budget(&sh->pol), use,
		                                   key);
		if (s != SP__NIL)
			sp__rec_op(ix, sh, sp__rec_kind(use), key, s);
		sp__lock_release(&sh->lock);
		if (s != SP__NIL)
			return sh->base + s;
	}
	return SP__NIL;
}

int sp__route_alloc_unlock(sp_index *ix, uint32_t home, enum sp__use use, uint64_t key,
                           uint32_t *slot)
{
	uint32_t s;
	struct sp__shard *hs = &ix->shards[home];
	if (use == SP__USE_KEY && !(ix->flags & SP_INDEX_HOME_AFFINITY)) {
		/* The summary says which other shards may hold K; they are
		 * tried without home's lock. */
		int held = 1;
		s = affine_elsewhere(ix, home, key, &held);
		if (s != SP__NIL)
			goto out;
		if (!held)
			sp__lock_acquire(&hs->lock);
	}
	/* Steps 2-3 in the policy's order, on the whole index's verdict; a
	 * cold slot it prefers comes from another shard when home has none. */
	int cold_first = below_budget(ix, home);
	if (cold_first && !sp__policy_has_cold(&hs->pol) && others_have_cold(ix, home)) {
		sp__lock_release(&hs->lock);
		s = borrow_cold(ix, home, use, key);
		if (s != SP__NIL)
			goto out;
		sp__lock_acquire(&hs->lock);
	}
	s = sp__policy_take_other(&hs->pol, cold_first, use, key);
	if (s != SP__NIL) {
		sp__rec_op(ix, hs, sp__rec_kind(use), key, s);
		sp__lock_release(&hs->lock);
		s += hs->base;
		goto out;
	}
	sp__lock_release(&hs->lock);
	s = take_other_elsewhere(ix, home, use, key);
	if (s == SP__NIL) {
		atomic_fetch_add_explicit(&ix->failed_allocs, 1, memory_order_relaxed);
		rec_miss(ix, home, sp__rec_kind(use), key);
		return -ENOSPC;
	}
out:
	*slot = s;
	return 0;
}

int sp__route_clear(sp_index *ix, uint64_t key, uint32_t *slot)
{
	uint32_t home = sp__home_of(ix);
	struct sp__shard *hs = &ix->shards[home];
	sp__lock_acquire(&hs->lock);
	uint32_t s = sp__policy_take_clear(&hs->pol, key);
	if (s != SP__NIL)
		sp__rec_op(ix, hs, SP__REC_CLEAR, key, s);
	sp__lock_release(&hs->lock);
	if (s != SP__NIL)
		s += hs->base;
	else
		s = clear_elsewhere(ix, home, key);
	if (s == SP__NIL) {
		atomic_fetch_add_explicit(&ix->clear_misses, 1, memory_order_relaxed);
		rec_miss(ix, home, SP__REC_CLEAR, key);
		return -ENOENT;
	}
	*slot = s;
	return 0;
}

int sp__route_alloc_home_unlock(sp_index *ix, uint32_t home, uint64_t key, uint32_t *slot)
{
	struct sp__shard *hs = &ix->shards[home];
	uint32_t s = sp__policy_take_affine(&hs->pol, key);
	if (s == SP__NIL)
		return sp__route_alloc_unlock(ix, home, SP__USE_KEY, key, slot);
	sp__rec_op(ix, hs, SP__REC_ALLOC, key, s);
	sp__lock_release(&hs->lock);
	*slot = hs->base + s;
	return 0;
}

int sp__route_alloc_wait(sp_index *ix, uint32_t home, uint64_t key, uint32_t *slot)
{
	sp__lock_wait(&ix->shards[home].lock);
	return sp__route_alloc_home_unlock(ix, home, key, slot);
}
