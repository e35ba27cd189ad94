/* SPDX-License-Identifier: MIT */
/*
 * api.c: the public sp_index API's life cycle and operations: argument
 * checks, create/destroy, the one-shard path and each call's entry point,
 * free and free_many, starting and stopping a recording (the recorder is
 * record.c). Inspection (stats, slot state, check) is in inspect.c,
 * metrics in metrics.c; an index of several shards hands what its home
 * shard cannot serve to router.c.
 *
 * One shard: each call takes the lock once, and the policy (policy.h) is
 * exactly the seed's. The contended lock path is a tail call to a copy of
 * the body, so waiting adds nothing to the uncontended path.
 *
 * Several shards: an alloc for a key first tries its newest warm slot in
 * the thread's home shard, under that one lock (router.h has the rest).
 * A free goes to the slot's owner. free_many takes the locks it needs in
 * ascending order.
 *
 * Naming, as in the whole library: a `_unlock` function is entered holding
 * a lock and releases it; a `_locked` one is called with a lock held and
 * returns with it still held.
 *
 * Recording (layout.h): on the one-shard path and in free, each locked
 * section starts with the recorder test (a compare with memory and a
 * branch predicted not taken: 2 instructions) and a recording index runs an
 * out-of-line copy of the section; the sharded paths record where they take
 * a slot.
 */
#include "slotpool/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "lock.h"
#include "locks.h"
#include "policy.h"
#include "record.h"
#include "router.h"

static uint32_t auto_shards(uint32_t capacity)
{
	if (capacity < 128)
		return 1;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > 16 ? 16 : (uint32_t)n;
}

static void destroy(sp_index *ix)
{
	sp__record_end(ix->rec);
	for (uint32_t i = 0; i < ix->nshards; i++)
		sp__policy_fini(&ix->shards[i].pol);
	sp__hint_fini(&ix->hint);
	free(ix);
}

SP_API int sp_index_create(const sp_index_config *cfg, sp_index **out)
{
	if (!cfg || !out || cfg->capacity > SP_INDEX_MAX_CAPACITY ||
	    (cfg->flags & ~SP_INDEX_HOME_AFFINITY) || cfg->shards > SP_INDEX_MAX_SHARDS ||
	    cfg->shards > (cfg->capacity ? cfg->capacity : 1))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
		if (cfg->reserved[i])
			return -EINVAL;

	uint32_t cap = cfg->capacity, n = cfg->shards ? cfg->shards : auto_shards(cap);
	size_t bytes = (sizeof(struct sp_index) + sizeof(struct sp__shard) * n + 63) & ~(size_t)63;
	sp_index *ix = aligned_alloc(64, bytes);
	if (!ix)
		return -ENOMEM;
	memset(ix, 0, bytes);
	static atomic_ullong next_id = 1;
	ix->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	ix->rec = NULL;
	atomic_init(&ix->recording, 0);
	ix->capacity = cap;
	ix->q = cap / n;
	ix->big = cap % n;
	ix->edge = ix->big * (ix->q + 1);
	ix->div_q = sp__reciprocal(ix->q ? ix->q : 1);
	ix->div_q1 = sp__reciprocal(ix->q + 1);
	ix->mod_shards = sp__reciprocal(n);
	if (n > 1 && sp__hint_init(&ix->hint, cap, n)) {
		free(ix);
		return -ENOMEM;
	}
	/* Budget shares: W / n each, the remainder to the first shards. */
	uint32_t w = cfg->max_unused_warm_slots;
	ix->max_warm = w;
	ix->flags = cfg->flags;
	for (uint32_t i = 0; i < n; i++) {
		struct sp__shard *sh = &ix->shards[i];
		uint32_t scap = ix->q + (i < ix->big), share = w / n + (i < w % n);
		sh->base = i * ix->q + (i < ix->big ? i : ix->big);
		/* Several shards: the policy keeps its column of the summary
		 * through the key hook, and publishes its warm count within a
		 * sixteenth of its share for the router's budget verdict. */
		sh->hint = n > 1 ? sp__hint_column(&ix->hint, i) : (struct sp__hint_col){0};
		if (sp__policy_init(&sh->pol, scap, share,
		                    n > 1 ? share / 16 : SP__POLICY_NO_PUBLISH, &sh->pub,
		                    n > 1 ? sp__hint_key_hook : NULL, &sh->hint)) {
			ix->nshards = i; /* destroy() finalises the ones made */
			destroy(ix);
			return -ENOMEM;
		}
		sp__lock_init(&sh->lock);
	}
	ix->nshards = n;
	*out = ix;
	return 0;
}

SP_API void sp_index_destroy(sp_index *ix)
{
	if (ix)
		destroy(ix);
}

/* ---- one shard: the seed's policy under one lock -------------------------- */

/*
 * Each locked section tests the recorder first, while nothing else is live,
 * and a recording index runs an out-of-line copy of the section with r
 * set; in the inline copy r is NULL, so its recording code folds away and
 * nothing extra lives across the policy (keeping ix for a test after it
 * spilled registers in the key-table loop of free: 7 instructions a free
 * instead of 2).
 */
static inline int alloc1_body_unlock(struct sp__shard *sh, enum sp__use use, uint64_t key,
                                     uint32_t *slot, struct sp__recorder *r)
{
	uint32_t s = use == SP__USE_KEY ? sp__policy_alloc_key(&sh->pol, key)
	                                : sp__policy_alloc_nokey(&sh->pol);
	if (r)
		sp__record_op(r, sp__rec_kind(use), key, s);
	sp__lock_release(&sh->lock);
	if (s == SP__NIL)
		return -ENOSPC;
	*slot = s;
	return 0;
}

static inline int clear1_body_unlock(struct sp__shard *sh, uint64_t key, uint32_t *slot,
                                     struct sp__recorder *r)
{
	uint32_t s = sp__policy_alloc_clear(&sh->pol, key);
	if (r)
		sp__record_op(r, SP__REC_CLEAR, key, s);
	sp__lock_release(&sh->lock);
	if (s == SP__NIL)
		return -ENOENT;
	*slot = s;
	return 0;
}

/* Validates and frees a slot of a locked shard; releases the lock. */
static inline int free_body_unlock(struct sp__shard *sh, uint32_t local, uint64_t bytes,
                                   struct sp__recorder *r)
{
	int err = sp__policy_can_free(&sh->pol, local);
	if (!err)
		err = sp__policy_bytes_fit(&sh->pol, bytes);
	if (!err) {
		sp__policy_free(&sh->pol, local, bytes);
		if (r)
			sp__record_free(r, sh->base + local, bytes);
	}
	sp__lock_release(&sh->lock);
	return err;
}

__attribute__((noinline)) static int alloc1_rec(sp_index *ix, enum sp__use use, uint64_t key,
                                                uint32_t *slot)
{
	return alloc1_body_unlock(ix->shards, use, key, slot, sp__recorder_of(ix));
}

__attribute__((noinline)) static int clear1_rec(sp_index *ix, uint64_t key, uint32_t *slot)
{
	return clear1_body_unlock(ix->shards, key, slot, sp__recorder_of(ix));
}

__attribute__((noinline)) static int free_rec(sp_index *ix, struct sp__shard *sh, uint32_t local,
                                              uint64_t bytes)
{
	return free_body_unlock(sh, local, bytes, sp__recorder_of(ix));
}

static inline int alloc1_unlock(sp_index *ix, enum sp__use use, uint64_t key, uint32_t *slot)
{
	if (__builtin_expect(sp__recorder_of(ix) != NULL, 0))
		return alloc1_rec(ix, use, key, slot);
	return alloc1_body_unlock(ix->shards, use, key, slot, NULL);
}

static inline int clear1_unlock(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (__builtin_expect(sp__recorder_of(ix) != NULL, 0))
		return clear1_rec(ix, key, slot);
	return clear1_body_unlock(ix->shards, key, slot, NULL);
}

static inline int free_unlock(sp_index *ix, struct sp__shard *sh, uint32_t local, uint64_t bytes)
{
	if (__builtin_expect(sp__recorder_of(ix) != NULL, 0))
		return free_rec(ix, sh, local, bytes);
	return free_body_unlock(sh, local, bytes, NULL);
}

__attribute__((noinline)) static int alloc1_slow(sp_index *ix, enum sp__use use, uint64_t key,
                                                 uint32_t *slot)
{
	sp__lock_wait(&ix->shards->lock);
	return alloc1_unlock(ix, use, key, slot);
}

__attribute__((noinline)) static int clear1_slow(sp_index *ix, uint64_t key, uint32_t *slot)
{
	sp__lock_wait(&ix->shards->lock);
	return clear1_unlock(ix, key, slot);
}

__attribute__((noinline)) static int free_slow(sp_index *ix, struct sp__shard *sh, uint32_t local,
                                               uint64_t bytes)
{
	sp__lock_wait(&sh->lock);
	return free_unlock(ix, sh, local, bytes);
}

/* ---- entry points ---------------------------------------------------------- */

SP_API int sp_index_alloc(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1) {
		/* Home first: with threads that keep to their keys, the common
		 * case is one lock and touches nothing shared. */
		uint32_t home = sp__home_of(ix);
		struct sp__shard *hs = &ix->shards[home];
		if (!sp__lock_try(&hs->lock))
			return sp__route_alloc_wait(ix, home, key, slot);
		if (__builtin_expect(sp__recorder_of(ix) != NULL, 0))
			return sp__route_alloc_home_unlock(ix, home, key, slot);
		uint32_t s = sp__policy_take_affine(&hs->pol, key);
		if (s == SP__NIL)
			return sp__route_alloc_unlock(ix, home, SP__USE_KEY, key, slot);
		sp__lock_release(&hs->lock);
		*slot = hs->base + s;
		return 0;
	}
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return alloc1_slow(ix, SP__USE_KEY, key, slot);
	return alloc1_unlock(ix, SP__USE_KEY, key, slot);
}

SP_API int sp_index_alloc_nokey(sp_index *ix, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1) {
		uint32_t home = sp__home_of(ix);
		sp__lock_acquire(&ix->shards[home].lock);
		return sp__route_alloc_unlock(ix, home, SP__USE_NOKEY, 0, slot);
	}
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return alloc1_slow(ix, SP__USE_NOKEY, 0, slot);
	return alloc1_unlock(ix, SP__USE_NOKEY, 0, slot);
}

SP_API int sp_index_alloc_affine_and_clear(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1)
		return sp__route_clear(ix, key, slot);
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return clear1_slow(ix, key, slot);
	return clear1_unlock(ix, key, slot);
}

SP_API int sp_index_free(sp_index *ix, uint32_t slot, uint64_t bytes_resident)
{
	if (!ix || slot >= ix->capacity)
		return -EINVAL;
	struct sp__shard *sh = ix->shards;
	uint32_t local = slot;
	if (ix->nshards != 1) {
		/* Most frees are of a slot of the caller's home: a compare on
		 * the memo and one on the range beat the division. */
		sh += sp__home_of(ix);
		local = slot - sh->base;
		if (local >= sh->pol.capacity) {
			sh = sp__owner(ix, slot);
			local = slot - sh->base;
		}
	}
	if (!sp__lock_try(&sh->lock))
		return free_slow(ix, sh, local, bytes_resident);
	return free_unlock(ix, sh, local, bytes_resident);
}

/* Validates slots[0..n) in order, their shards locked; on success they are
 * marked listed, on failure nothing is. */
static int batch_validate(sp_index *ix, const uint32_t *slots, const uint64_t *bytes, size_t n)
{
	/* Overflow is judged per shard, where the sums live, with the batch's
	 * running sum for each shard on top of what its warm slots hold. */
	uint64_t listed[SP_INDEX_MAX_SHARDS];
	memset(listed, 0, sizeof(listed[0]) * ix->nshards);
	size_t i;
	int err = 0;
	for (i = 0; i < n; i++) {
		if (slots[i] >= ix->capacity) {
			err = -EINVAL;
			break;
		}
		struct sp__shard *sh = sp__owner(ix, slots[i]);
		uint32_t j = (uint32_t)(sh - ix->shards);
		err = sp__policy_can_free(&sh->pol, slots[i] - sh->base);
		if (err)
			break;
		if (bytes) {
			uint64_t sum;
			if (__builtin_add_overflow(listed[j], bytes[i], &sum) ||
			    sp__policy_bytes_fit(&sh->pol, sum)) {
				err = -EOVERFLOW;
				break;
			}
			listed[j] = sum;
		}
		sp__policy_mark_listed(&sh->pol, slots[i] - sh->base);
	}
	if (err)
		for (size_t k = i; k--;) {
			struct sp__shard *sh = sp__owner(ix, slots[k]);
			sp__policy_unmark_listed(&sh->pol, slots[k] - sh->base);
		}
	return err;
}

SP_API int sp_index_free_many(sp_index *ix, const uint32_t *slots, const uint64_t *bytes_resident,
                              size_t n)
{
	if (!ix || (!slots && n))
		return -EINVAL;
	uint64_t mask = 0;
	for (size_t i = 0; i < n; i++)
		if (slots[i] < ix->capacity)
			mask |= UINT64_C(1) << (sp__owner(ix, slots[i]) - ix->shards);
	/* Ascending order: two batches never wait on each other in a cycle. */
	for (uint32_t j = 0; j < ix->nshards; j++)
		if (mask >> j & 1)
			sp__lock_acquire(&ix->shards[j].lock);
	int err = batch_validate(ix, slots, bytes_resident, n);
	if (!err) {
		/* n > 0 here means a lock is held: rec may be read. */
		struct sp__recorder *r = n ? sp__recorder_of(ix) : NULL;
		for (size_t i = 0; i < n; i++) {
			struct sp__shard *sh = sp__owner(ix, slots[i]);
			uint64_t bytes = bytes_resident ? bytes_resident[i] : 0;
			sp__policy_unmark_listed(&sh->pol, slots[i] - sh->base);
			sp__policy_free(&sh->pol, slots[i] - sh->base, bytes);
			if (r)
				sp__record_free(r, slots[i], bytes);
		}
	}
	for (uint32_t j = 0; j < ix->nshards; j++)
		if (mask >> j & 1)
			sp__lock_release(&ix->shards[j].lock);
	return err;
}

/* ---- recording ------------------------------------------------------------- */

SP_API int sp_index_record(sp_index *ix, sp_write_fn write, void *ctx)
{
	if (!ix)
		return -EINVAL;
	struct sp__recorder *r = NULL, *stop = NULL;
	int err = 0;
	/* Allocated before the locks are taken, freed after they are released. */
	if (write && (err = sp__record_new(&r, ix->capacity, ix->nshards, write, ctx)))
		return err;
	sp__lock_shards(ix);
	struct sp__recorder *cur = sp__recorder_of(ix);
	if (cur && r && !sp__record_error(cur)) {
		err = -EBUSY;
	} else if (cur) {
		/* A stop, or a start that finds the recording failed: end it
		 * and report its error; a start does not go on. */
		ix->rec = NULL;
		atomic_store_explicit(&ix->recording, 0, memory_order_relaxed);
		stop = cur;
	} else if (r) {
		const struct sp__record_info info = {ix->capacity, ix->max_warm, ix->nshards,
		                                     ix->flags};
		err = sp__record_begin(r, ix->shards, &info);
		if (!err) {
			ix->rec = r;
			atomic_store_explicit(&ix->recording, 1, memory_order_relaxed);
			r = NULL;
		}
	}
	sp__unlock_shards(ix);
	if (stop)
		err = sp__record_end(stop);
	/* Never attached: empty, or failed in begin; either way end writes
	 * nothing. */
	sp__record_end(r);
	return err;
}

/* ---- fork ------------------------------------------------------------------ */

void sp__index_lock_all(sp_index *ix)
{
	sp__lock_shards(ix);
}

void sp__index_unlock_all(sp_index *ix)
{
	sp__unlock_shards(ix);
}
