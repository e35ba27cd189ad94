/* SPDX-License-Identifier: MIT */
/*
 * index.c: the public sp_index API: argument checks, shards and their locks,
 * and the snapshot queries, around the lock-free policy engine of policy.h.
 *
 * Layout: the index header, then an array of shards (shard.h), each on its
 * own cache lines with its own lock and policy, owning the contiguous slots
 * [base, base + capacity). Shard i holds q + 1 slots when i < big, else q.
 *
 * One shard: each call takes the lock once, and the policy is exactly the
 * seed's. The contended lock path is a tail call to a copy of the body, so
 * waiting adds nothing to the uncontended path.
 *
 * Several shards: a thread works in its home shard (home.h). An alloc for
 * key K takes K's newest warm slot in the home shard; else, guided by the
 * cross-shard summary (hint.h), K's newest warm slot in another shard
 * (unless SP_INDEX_HOME_AFFINITY); then
 * while the whole index is below its warm budget (below_budget) a cold slot,
 * at home or else in another shard; else the home shard's policy (its LRU
 * warm slot); else another shard's, the one publishing the most warm slots
 * first. A thread
 * holds one lock at a time (no lock order to get wrong), except free_many,
 * which takes the locks it needs in ascending order.
 *
 * Recording (sp_index_record, record.h): ix->rec is NULL unless recording,
 * and changes only with every shard lock held, so an operation reads it
 * under a lock it holds. On the one-shard path and in free, each locked
 * section starts with that test (a compare with memory and a branch
 * predicted not taken: 2 instructions) and a recording index runs an
 * out-of-line copy of the section; the sharded alloc paths record where
 * they take a slot. An operation that ends holding no lock (a sharded
 * alloc that found every shard in use, a clear that found the key
 * nowhere) takes its home lock again to record, only when
 * ix->recording says so.
 */
#include "slotpool/index.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hint.h"
#include "index_locks.h"
#include "home.h"
#include "lock.h"
#include "metrics.h"
#include "policy.h"
#include "record.h"
#include "shard.h"
#include "sized.h"

__extension__ typedef unsigned __int128 sp__u128;

struct sp_index {
	uint64_t id; /* never reused: the key of each thread's home memo */
	uint32_t capacity;
	uint32_t nshards;
	uint32_t q;     /* slots of a small shard */
	uint32_t big;   /* shards [0, big) hold q + 1 slots */
	uint32_t edge;  /* first slot of shard big: big * (q + 1) */
	uint32_t flags; /* SP_INDEX_* */
	/* NULL unless recording; on the line every operation reads anyway.
	 * Written with every shard lock held, read under one. A plain field:
	 * the test is then one compare with memory. */
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

/* Lemire's exact division/modulo by a run-time constant for 32-bit
 * operands: a divide costs more than the rest of a free. */
static uint64_t reciprocal(uint32_t d)
{
	return d > 1 ? UINT64_MAX / d + 1 : 0;
}

static inline uint32_t fastdiv(uint32_t a, uint64_t m)
{
	return (uint32_t)(((sp__u128)m * a) >> 64);
}

static inline uint32_t fastmod(uint32_t a, uint64_t m, uint32_t d)
{
	uint64_t low = m * a;
	return (uint32_t)(((sp__u128)low * d) >> 64);
}

static inline struct sp__shard *owner(sp_index *ix, uint32_t slot)
{
	uint32_t i;
	if (slot < ix->edge)
		i = fastdiv(slot, ix->div_q1);
	else /* the reciprocal of 1 does not fit in 64 bits */
		i = ix->big + (ix->q == 1 ? slot - ix->edge : fastdiv(slot - ix->edge, ix->div_q));
	return &ix->shards[i];
}

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
	ix->div_q = reciprocal(ix->q ? ix->q : 1);
	ix->div_q1 = reciprocal(ix->q + 1);
	ix->mod_shards = reciprocal(n);
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
		if (sp__policy_init(&sh->pol, scap, share, &sh->pub)) {
			ix->nshards = i; /* destroy() finalises the ones made */
			destroy(ix);
			return -ENOMEM;
		}
		sh->base = i * ix->q + (i < ix->big ? i : ix->big);
		if (n > 1) {
			sh->pol.hint = sp__hint_column(&ix->hint, i);
			sh->pol.warm_slack = share / 16;
			sh->pol.warm_credit = sh->pol.warm_slack + 1;
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

/* ---- recording hooks ------------------------------------------------------ */

/* With a shard lock held. */
static inline struct sp__recorder *recorder(const sp_index *ix)
{
	return ix->rec;
}

static inline int rec_kind(uint32_t tag)
{
	return tag == SP__TAG_USED_KEY ? SP__REC_ALLOC : SP__REC_ALLOC_NOKEY;
}

/* An a/c operation served by sh (its lock held): s is sh's slot or SP__NIL. */
static inline void rec_op(sp_index *ix, const struct sp__shard *sh, int kind, uint64_t key,
                          uint32_t s)
{
	struct sp__recorder *r = recorder(ix);
	if (__builtin_expect(r != NULL, 0))
		sp__record_op(r, kind, key, s == SP__NIL ? SP__NIL : sh->base + s);
}

/* A sharded alloc or clear that failed, holding no lock: records under the
 * home lock, which makes it one of the operations serialised there. */
__attribute__((noinline)) static void rec_miss(sp_index *ix, uint32_t home, int kind, uint64_t key)
{
	if (!atomic_load_explicit(&ix->recording, memory_order_relaxed))
		return;
	struct sp__shard *hs = &ix->shards[home];
	sp__lock_acquire(&hs->lock);
	rec_op(ix, hs, kind, key, SP__NIL);
	sp__lock_release(&hs->lock);
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
static inline int alloc1_body(struct sp__shard *sh, uint32_t tag, uint64_t key, uint32_t *slot,
                              struct sp__recorder *r)
{
	uint32_t s = tag == SP__TAG_USED_KEY ? sp__policy_alloc_key(&sh->pol, key)
	                                     : sp__policy_alloc_nokey(&sh->pol);
	if (r)
		sp__record_op(r, rec_kind(tag), key, s);
	sp__lock_release(&sh->lock);
	if (s == SP__NIL)
		return -ENOSPC;
	*slot = s;
	return 0;
}

static inline int clear1_body(struct sp__shard *sh, uint64_t key, uint32_t *slot,
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
static inline int free_body(struct sp__shard *sh, uint32_t local, uint64_t bytes,
                            struct sp__recorder *r)
{
	uint64_t sum;
	int err = sp__policy_can_free(&sh->pol, local);
	if (!err && __builtin_add_overflow(sh->pol.unused_bytes, bytes, &sum))
		err = -EOVERFLOW;
	if (!err) {
		sp__policy_free(&sh->pol, local, bytes);
		if (r)
			sp__record_free(r, sh->base + local, bytes);
	}
	sp__lock_release(&sh->lock);
	return err;
}

__attribute__((noinline)) static int alloc1_rec(sp_index *ix, uint32_t tag, uint64_t key,
                                                uint32_t *slot)
{
	return alloc1_body(ix->shards, tag, key, slot, recorder(ix));
}

__attribute__((noinline)) static int clear1_rec(sp_index *ix, uint64_t key, uint32_t *slot)
{
	return clear1_body(ix->shards, key, slot, recorder(ix));
}

__attribute__((noinline)) static int free_rec(sp_index *ix, struct sp__shard *sh, uint32_t local,
                                              uint64_t bytes)
{
	return free_body(sh, local, bytes, recorder(ix));
}

static inline int alloc1_locked(sp_index *ix, uint32_t tag, uint64_t key, uint32_t *slot)
{
	if (__builtin_expect(recorder(ix) != NULL, 0))
		return alloc1_rec(ix, tag, key, slot);
	return alloc1_body(ix->shards, tag, key, slot, NULL);
}

static inline int clear1_locked(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (__builtin_expect(recorder(ix) != NULL, 0))
		return clear1_rec(ix, key, slot);
	return clear1_body(ix->shards, key, slot, NULL);
}

static inline int free_locked(sp_index *ix, struct sp__shard *sh, uint32_t local, uint64_t bytes)
{
	if (__builtin_expect(recorder(ix) != NULL, 0))
		return free_rec(ix, sh, local, bytes);
	return free_body(sh, local, bytes, NULL);
}

__attribute__((noinline)) static int alloc1_slow(sp_index *ix, uint32_t tag, uint64_t key,
                                                 uint32_t *slot)
{
	sp__lock_wait(&ix->shards->lock);
	return alloc1_locked(ix, tag, key, slot);
}

__attribute__((noinline)) static int clear1_slow(sp_index *ix, uint64_t key, uint32_t *slot)
{
	sp__lock_wait(&ix->shards->lock);
	return clear1_locked(ix, key, slot);
}

__attribute__((noinline)) static int free_slow(sp_index *ix, struct sp__shard *sh, uint32_t local,
                                               uint64_t bytes)
{
	sp__lock_wait(&sh->lock);
	return free_locked(ix, sh, local, bytes);
}

/* ---- several shards ------------------------------------------------------- */

__attribute__((noinline)) static uint32_t home_slow(const sp_index *ix)
{
	uint32_t h = fastmod(sp__home_ordinal(), ix->mod_shards, ix->nshards);
	sp__home_memo = (struct sp__home_memo){.index_id = ix->id, .shard = h};
	return h;
}

/* One compare on the memo of the last index used, instead of a modulo. */
static inline uint32_t home_of(const sp_index *ix)
{
	if (__builtin_expect(sp__home_memo.index_id == ix->id, 1))
		return sp__home_memo.shard;
	return home_slow(ix);
}

/* The k-th shard after home, wrapping: other shards are tried in the same
 * rotation from every home, so no shard is everybody's second choice. */
static inline uint32_t after(const sp_index *ix, uint32_t home, uint32_t k)
{
	return home + k < ix->nshards ? home + k : home + k - ix->nshards;
}

/*
 * Step 1 in the shards other than home that the summary points at (cell of
 * the key), in rotation after home; SP__NIL if none has the key. Entered
 * with home's lock held when *home_held: it is released at the first
 * candidate, so a thread never holds two locks, and deciding and visiting
 * are one pass over the summary that stops at the first slot found.
 */
static uint32_t affine_elsewhere(sp_index *ix, uint32_t home, uint32_t cell, uint64_t key, int keep,
                                 int *home_held)
{
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
		uint32_t s = sp__take_affine(&sh->pol, key, keep);
		if (s != SP__NIL)
			rec_op(ix, sh, keep ? SP__REC_ALLOC : SP__REC_CLEAR, key, s);
		sp__lock_release(&sh->lock);
		if (s != SP__NIL)
			return sh->base + s;
	}
	return SP__NIL;
}

/* A cold slot of another shard, for a home that has none left. */
static uint32_t borrow_cold(sp_index *ix, uint32_t home, uint32_t tag, uint64_t key)
{
	for (uint32_t k = 1; k < ix->nshards; k++) {
		uint32_t j = after(ix, home, k);
		struct sp__shard *sh = &ix->shards[j];
		if (!atomic_load_explicit(&sh->pub.cold, memory_order_relaxed))
			continue;
		uint32_t s = SP__NIL;
		sp__lock_acquire(&sh->lock);
		if (sp__policy_has_cold(&sh->pol)) {
			s = sp__take_cold(&sh->pol, tag, key);
			rec_op(ix, sh, rec_kind(tag), key, s);
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
 * Below the budget, steps 2-3 prefer a cold slot. Home decides alone while
 * it is below its share; past it, the sum of the other shards' published
 * warm counts (each within its slack) and home's exact count says whether
 * the whole index is below the budget, as one shard would judge it. Each
 * shard publishes on a line of its own: one shared counter would take an
 * atomic read-modify-write from every shard, on one line, every few changes
 * (a sixteenth of a 62-slot share is 3). So one thread may keep every warm
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
		if (warm >= ix->max_warm)
			return 0;
	}
	return 1;
}

/*
 * The rest of an alloc with several shards, entered with home's lock held
 * and, for a key, home's step 1 already failed.
 */
__attribute__((noinline)) static int alloc_sharded(sp_index *ix, uint32_t home, uint32_t tag,
                                                   uint64_t key, uint32_t *slot)
{
	uint32_t s;
	struct sp__shard *hs = &ix->shards[home];
	if (tag == SP__TAG_USED_KEY && !(ix->flags & SP_INDEX_HOME_AFFINITY)) {
		/* The summary says which other shards may hold K; they are
		 * tried without home's lock. */
		int held = 1;
		s = affine_elsewhere(ix, home, sp__hint_cell(&ix->hint, key), key, 1, &held);
		if (s != SP__NIL)
			goto out;
		if (!held)
			sp__lock_acquire(&hs->lock);
	}
	if (below_budget(ix, home)) {
		if (sp__policy_has_cold(&hs->pol)) {
			s = sp__take_cold(&hs->pol, tag, key);
			goto done_home;
		}
		if (others_have_cold(ix, home)) {
			sp__lock_release(&hs->lock);
			s = borrow_cold(ix, home, tag, key);
			if (s != SP__NIL)
				goto out;
			sp__lock_acquire(&hs->lock);
		}
	}
	s = sp__take_other(&hs->pol, tag, key);
	if (s != SP__NIL)
		goto done_home;
	sp__lock_release(&hs->lock);
	/* Home is entirely in use: any other shard's policy, starting with the
	 * shard that publishes the most warm slots (where the slots nobody
	 * came back for pile up), then the others in rotation. */
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
		s = sp__take_other(&sh->pol, tag, key);
		if (s != SP__NIL)
			rec_op(ix, sh, rec_kind(tag), key, s);
		sp__lock_release(&sh->lock);
		if (s != SP__NIL) {
			s += sh->base;
			goto out;
		}
	}
	atomic_fetch_add_explicit(&ix->failed_allocs, 1, memory_order_relaxed);
	rec_miss(ix, home, rec_kind(tag), key);
	return -ENOSPC;
done_home:
	rec_op(ix, hs, rec_kind(tag), key, s);
	sp__lock_release(&hs->lock);
	s += hs->base;
out:
	*slot = s;
	return 0;
}

__attribute__((noinline)) static int clear_sharded(sp_index *ix, uint64_t key, uint32_t *slot)
{
	uint32_t home = home_of(ix);
	struct sp__shard *hs = &ix->shards[home];
	sp__lock_acquire(&hs->lock);
	uint32_t s = sp__take_affine(&hs->pol, key, 0);
	if (s != SP__NIL)
		rec_op(ix, hs, SP__REC_CLEAR, key, s);
	sp__lock_release(&hs->lock);
	if (s != SP__NIL) {
		s += hs->base;
	} else {
		int held = 0;
		s = affine_elsewhere(ix, home, sp__hint_cell(&ix->hint, key), key, 0, &held);
	}
	if (s == SP__NIL) {
		atomic_fetch_add_explicit(&ix->clear_misses, 1, memory_order_relaxed);
		rec_miss(ix, home, SP__REC_CLEAR, key);
		return -ENOENT;
	}
	*slot = s;
	return 0;
}

/* ---- entry points ---------------------------------------------------------- */

/* Several shards, contended home lock: wait, then the general path. */
/* Several shards, home's lock held: the whole alloc, recorded if recording. */
__attribute__((noinline)) static int alloc_home_locked(sp_index *ix, uint32_t home, uint64_t key,
                                                       uint32_t *slot)
{
	struct sp__shard *hs = &ix->shards[home];
	uint32_t s = sp__take_affine(&hs->pol, key, 1);
	if (s == SP__NIL)
		return alloc_sharded(ix, home, SP__TAG_USED_KEY, key, slot);
	rec_op(ix, hs, SP__REC_ALLOC, key, s);
	sp__lock_release(&hs->lock);
	*slot = hs->base + s;
	return 0;
}

__attribute__((noinline)) static int alloc_sharded_wait(sp_index *ix, uint32_t home, uint64_t key,
                                                        uint32_t *slot)
{
	sp__lock_wait(&ix->shards[home].lock);
	return alloc_home_locked(ix, home, key, slot);
}

SP_API int sp_index_alloc(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1) {
		/* Home first: with threads that keep to their keys, the common
		 * case is one lock and touches nothing shared. */
		uint32_t home = home_of(ix);
		struct sp__shard *hs = &ix->shards[home];
		if (!sp__lock_try(&hs->lock))
			return alloc_sharded_wait(ix, home, key, slot);
		if (__builtin_expect(recorder(ix) != NULL, 0))
			return alloc_home_locked(ix, home, key, slot);
		uint32_t s = sp__take_affine(&hs->pol, key, 1);
		if (s == SP__NIL)
			return alloc_sharded(ix, home, SP__TAG_USED_KEY, key, slot);
		sp__lock_release(&hs->lock);
		*slot = hs->base + s;
		return 0;
	}
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return alloc1_slow(ix, SP__TAG_USED_KEY, key, slot);
	return alloc1_locked(ix, SP__TAG_USED_KEY, key, slot);
}

SP_API int sp_index_alloc_nokey(sp_index *ix, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1) {
		uint32_t home = home_of(ix);
		sp__lock_acquire(&ix->shards[home].lock);
		return alloc_sharded(ix, home, SP__TAG_USED_NOKEY, 0, slot);
	}
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return alloc1_slow(ix, SP__TAG_USED_NOKEY, 0, slot);
	return alloc1_locked(ix, SP__TAG_USED_NOKEY, 0, slot);
}

SP_API int sp_index_alloc_affine_and_clear(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	if (ix->nshards != 1)
		return clear_sharded(ix, key, slot);
	struct sp__shard *sh = ix->shards;
	if (!sp__lock_try(&sh->lock))
		return clear1_slow(ix, key, slot);
	return clear1_locked(ix, key, slot);
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
		sh += home_of(ix);
		local = slot - sh->base;
		if (local >= sh->pol.capacity) {
			sh = owner(ix, slot);
			local = slot - sh->base;
		}
	}
	if (!sp__lock_try(&sh->lock))
		return free_slow(ix, sh, local, bytes_resident);
	return free_locked(ix, sh, local, bytes_resident);
}

/* Marks a slot as listed in the batch (a second listing then fails
 * can_free), or restores it. */
static void batch_mark(struct sp__policy *p, uint32_t s, int on)
{
	uint32_t *tag = &p->slots[s].aff_prev;
	if (on)
		*tag = *tag == SP__TAG_USED_KEY ? SP__TAG_PENDING_KEY : SP__TAG_PENDING_NOKEY;
	else
		*tag = *tag == SP__TAG_PENDING_KEY ? SP__TAG_USED_KEY : SP__TAG_USED_NOKEY;
}

/* Validates slots[0..n) in order, their shards locked; on success they are
 * marked, on failure nothing is. */
static int batch_validate(sp_index *ix, const uint32_t *slots, const uint64_t *bytes, size_t n)
{
	/* Overflow is judged per shard, where the sums live. With no memory to
	 * spare, each shard's unused_bytes carries the running sum of the batch
	 * during validation and is put back afterwards. */
	size_t i;
	int err = 0;
	for (i = 0; i < n; i++) {
		if (slots[i] >= ix->capacity) {
			err = -EINVAL;
			break;
		}
		struct sp__shard *sh = owner(ix, slots[i]);
		err = sp__policy_can_free(&sh->pol, slots[i] - sh->base);
		if (err)
			break;
		uint64_t sum;
		if (bytes && __builtin_add_overflow(sh->pol.unused_bytes, bytes[i], &sum)) {
			err = -EOVERFLOW;
			break;
		}
		/* Borrow unused_bytes as the running sum; restored below. */
		if (bytes)
			sh->pol.unused_bytes = sum;
		batch_mark(&sh->pol, slots[i] - sh->base, 1);
	}
	/* Undo the running sums, and the marks if the batch failed. */
	for (size_t k = i; k--;) {
		struct sp__shard *sh = owner(ix, slots[k]);
		if (bytes)
			sh->pol.unused_bytes -= bytes[k];
		if (err)
			batch_mark(&sh->pol, slots[k] - sh->base, 0);
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
			mask |= UINT64_C(1) << (owner(ix, slots[i]) - ix->shards);
	/* Ascending order: two batches never wait on each other in a cycle. */
	for (uint32_t j = 0; j < ix->nshards; j++)
		if (mask >> j & 1)
			sp__lock_acquire(&ix->shards[j].lock);
	int err = batch_validate(ix, slots, bytes_resident, n);
	if (!err) {
		/* n > 0 here means a lock is held: rec may be read. */
		struct sp__recorder *r = n ? recorder(ix) : NULL;
		for (size_t i = 0; i < n; i++) {
			struct sp__shard *sh = owner(ix, slots[i]);
			uint64_t bytes = bytes_resident ? bytes_resident[i] : 0;
			batch_mark(&sh->pol, slots[i] - sh->base, 0);
			sp__policy_free(&sh->pol, slots[i] - sh->base, bytes);
			if (r)
				sp__record_free(r, slots[i], bytes);
		}
	}
	for (uint32_t j = 0; j < ix->nshards; j++) {
		if (mask >> j & 1) {
			sp__lock_release(&ix->shards[j].lock);
		}
	}
	return err;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t s;
	return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

SP_API int sp_index_get_stats(sp_index *ix, sp_index_stats *out)
{
	if (!ix || !out || out->size < SP__SIZED_MIN)
		return -EINVAL;
	sp_index_stats st = {.size = sizeof(st)};
	st.capacity = ix->capacity;
	st.shards = ix->nshards;
	st.failed_allocs = atomic_load_explicit(&ix->failed_allocs, memory_order_relaxed);
	st.clear_misses = atomic_load_explicit(&ix->clear_misses, memory_order_relaxed);
	st.total_bytes = sizeof(*ix) + sizeof(struct sp__shard) * ix->nshards;
	if (ix->nshards > 1)
		st.total_bytes += (uint64_t)(ix->hint.mask + 1) * ix->nshards;
	for (uint32_t j = 0; j < ix->nshards; j++) {
		struct sp__shard *sh = &ix->shards[j];
		const struct sp__policy *p = &sh->pol;
		sp__lock_acquire(&sh->lock);
		uint32_t in_use = (uint32_t)(sp__policy_allocs(p) - p->frees);
		st.in_use += in_use;
		st.peak_in_use += in_use > p->peak_in_use ? in_use : p->peak_in_use;
		st.unused_warm += p->unused_warm;
		st.unused_cold += p->capacity - p->next_cold;
		st.keys_with_warm += p->keys.count; /* a key warm in 2 shards counts twice */
		st.unused_bytes_resident = add_sat(st.unused_bytes_resident, p->unused_bytes);
		st.allocs += sp__policy_allocs(p);
		st.frees += p->frees;
		st.affine_hits += p->affine_hits;
		st.cold_picks += p->cold_picks;
		st.warm_steals += p->warm_steals;
		st.clears += p->clears;
		st.failed_allocs += p->failed_allocs;
		st.clear_misses += p->clear_misses;
		sp__lock_release(&sh->lock);
		uint64_t slots = ((uint64_t)p->capacity + 1) * sizeof(struct sp__slot);
		st.slot_state_bytes += slots;
		st.total_bytes += slots + (uint64_t)p->keys.n * sizeof(struct sp__keyent);
	}
	return sp__sized_copy(out, &st, (uint32_t)sizeof(st));
}

SP_API int sp_index_key_warm_slots(sp_index *ix, uint64_t key, uint32_t *count)
{
	if (!ix || !count)
		return -EINVAL;
	uint32_t n = 0;
	for (uint32_t j = 0; j < ix->nshards; j++) {
		struct sp__shard *sh = &ix->shards[j];
		sp__lock_acquire(&sh->lock);
		n += sp__policy_key_warm(&sh->pol, key);
		sp__lock_release(&sh->lock);
	}
	*count = n;
	return 0;
}

SP_API int sp_index_slot_state(sp_index *ix, uint32_t slot, int *state, uint64_t *key)
{
	if (!ix || !state || slot >= ix->capacity)
		return -EINVAL;
	struct sp__shard *sh = owner(ix, slot);
	const struct sp__policy *p = &sh->pol;
	uint32_t s = slot - sh->base;
	int st = SP_SLOT_COLD;
	sp__lock_acquire(&sh->lock);
	if (s < p->next_cold) {
		const struct sp__slot *r = &p->slots[s];
		if (r->aff_prev == SP__TAG_USED_KEY) {
			st = SP_SLOT_USED_KEY;
			if (key)
				*key = r->word;
		} else if (r->aff_prev == SP__TAG_USED_NOKEY) {
			st = SP_SLOT_USED;
		} else if (r->aff_prev == SP__TAG_WARM_NOKEY) {
			st = SP_SLOT_WARM;
		} else {
			st = SP_SLOT_WARM_KEY;
			if (key)
				*key = sp__policy_warm_key(p, s);
		}
	}
	sp__lock_release(&sh->lock);
	*state = st;
	return 0;
}

/* The summary must count, per cell and shard, exactly the keys of that
 * shard's key table (or be stuck at 255). */
static int check_hint(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++) {
		const struct sp__keytab *kt = &ix->shards[j].pol.keys;
		uint64_t total = 0, stuck = 0;
		for (uint32_t c = 0; c <= ix->hint.mask; c++) {
			unsigned v = atomic_load_explicit(sp__hint_at(&ix->hint, c, j),
			                                  memory_order_relaxed);
			total += v;
			stuck += v == 255;
		}
		for (uint32_t e = 0; e < kt->n; e++) {
			if (!kt->ent[e].ntail)
				continue;
			uint32_t c = sp__hint_cell(&ix->hint, sp__keyent_key(&kt->ent[e]));
			if (!sp__hint_maybe(&ix->hint, c, j)) {
				fprintf(stderr,
				        "sp_index_check: shard %u key of entry %u missing "
				        "from the summary\n",
				        j, e);
				return -EUCLEAN;
			}
		}
		if (!stuck && total != kt->count) {
			fprintf(stderr,
			        "sp_index_check: shard %u summary counts %llu keys, "
			        "table holds %u\n",
			        j, (unsigned long long)total, kt->count);
			return -EUCLEAN;
		}
	}
	return 0;
}

SP_API int sp_index_check(sp_index *ix)
{
	if (!ix)
		return -EINVAL;
	int err = 0;
	uint32_t expect_base = 0;
	for (uint32_t j = 0; j < ix->nshards && !err; j++) {
		struct sp__shard *sh = &ix->shards[j];
		if (sh->base != expect_base) {
			fprintf(stderr, "sp_index_check: shard %u base %u, expected %u\n", j,
			        sh->base, expect_base);
			return -EUCLEAN;
		}
		expect_base += sh->pol.capacity;
		sp__lock_acquire(&sh->lock);
		err = sp__policy_check(&sh->pol);
		sp__lock_release(&sh->lock);
	}
	if (!err && expect_base != ix->capacity) {
		fprintf(stderr, "sp_index_check: shards cover %u slots of %u\n", expect_base,
		        ix->capacity);
		return -EUCLEAN;
	}
	if (!err && ix->nshards > 1) {
		for (uint32_t j = 0; j < ix->nshards; j++)
			sp__lock_acquire(&ix->shards[j].lock);
		err = check_hint(ix);
		for (uint32_t j = 0; j < ix->nshards; j++)
			sp__lock_release(&ix->shards[j].lock);
	}
	return err;
}

/* ---- recording and metrics ------------------------------------------------ */

static void lock_all(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++)
		sp__lock_acquire(&ix->shards[j].lock);
}

static void unlock_all(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++)
		sp__lock_release(&ix->shards[j].lock);
}

SP_API int sp_index_record(sp_index *ix, sp_write_fn write, void *ctx)
{
	if (!ix)
		return -EINVAL;
	struct sp__recorder *r = NULL, *stop = NULL;
	int err = 0;
	/* Allocated before the locks are taken, freed after they are released. */
	if (write && (err = sp__record_new(&r, ix->capacity, ix->nshards, write, ctx)))
		return err;
	lock_all(ix);
	struct sp__recorder *cur = recorder(ix);
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
	unlock_all(ix);
	if (stop)
		err = sp__record_end(stop);
	/* Never attached: empty, or failed in begin; either way end writes
	 * nothing. */
	sp__record_end(r);
	return err;
}

static const struct sp__metric index_families[] = {
#define G(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_index_" name, key, help, SP__METRIC_GAUGE                                \
	}
#define C(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_index_" name "_total", key, help, SP__METRIC_COUNTER                     \
	}
	G("capacity_slots", "capacity", "Slots in the index."),
	G("max_unused_warm_slots", "max_unused_warm_slots",
          "Budget of unused-warm slots (sp_index_config.max_unused_warm_slots)."),
	G("shards", "shards", "Shards of the index."),
	G("in_use_slots", "in_use", "Slots currently in use."),
	G("peak_in_use_slots", "peak_in_use",
          "Most slots in use at once (several shards: the sum of each shard's peak)."),
	G("unused_warm_slots", "unused_warm", "Slots freed and not yet reused (warm)."),
	G("unused_cold_slots", "unused_cold", "Slots never handed out (cold)."),
	G("keys_with_warm", "keys_with_warm",
          "Keys holding at least one warm slot (a key warm in two shards counts twice)."),
	G("unused_resident_bytes", "unused_bytes_resident",
          "Sum of bytes_resident over the warm slots (saturates at 2^64-1)."),
	C("allocs", "allocs", "Successful alloc, alloc_nokey and alloc_affine_and_clear calls."),
	C("frees", "frees", "Slots freed."),
	C("affine_hits", "affine_hits", "Allocs served by the key's own warm slot."),
	C("cold_picks", "cold_picks", "Allocs served by a cold slot."),
	C("warm_steals", "warm_steals", "Allocs served by another key's (or no key's) warm slot."),
	C("clears", "clears", "Successful alloc_affine_and_clear calls."),
	C("failed_allocs", "failed_allocs",
          "alloc and alloc_nokey calls that found every slot in use."),
	C("clear_misses", "clear_misses",
          "alloc_affine_and_clear calls that found no warm slot for the key."),
	G("slot_state_bytes", "slot_state_bytes", "Bytes of per-slot state."),
	G("memory_bytes", "total_bytes", "All bytes the index allocated."),
#undef G
#undef C
};

int sp__index_metrics_emit(sp_index *ix, struct sp__metrics *m)
{
	sp_index_stats st = {.size = sizeof(st)};
	int err = sp_index_get_stats(ix, &st);
	if (err)
		return err;
	const uint64_t v[] = {
		st.capacity,      ix->max_warm,      st.shards,
		st.in_use,        st.peak_in_use,    st.unused_warm,
		st.unused_cold,   st.keys_with_warm, st.unused_bytes_resident,
		st.allocs,        st.frees,          st.affine_hits,
		st.cold_picks,    st.warm_steals,    st.clears,
		st.failed_allocs, st.clear_misses,   st.slot_state_bytes,
		st.total_bytes,
	};
	_Static_assert(sizeof(v) / sizeof(v[0]) ==
	                       sizeof(index_families) / sizeof(index_families[0]),
	               "one value per index metric");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		sp__metrics_value(m, &index_families[i], v[i]);
	return 0;
}

SP_API int sp_index_metrics(sp_index *ix, int format, sp_write_fn write, void *ctx)
{
	struct sp__metrics m;
	if (!ix)
		return -EINVAL;
	int err = sp__metrics_begin(&m, format, write, ctx, NULL, 0);
	if (err)
		return err;
	sp__metrics_build_info(&m);
	err = sp__index_metrics_emit(ix, &m);
	int end = sp__metrics_end(&m);
	return err ? err : end;
}

/* ---- fork ------------------------------------------------------------------ */

void sp__index_lock_all(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++)
		sp__lock_acquire(&ix->shards[j].lock);
}

void sp__index_unlock_all(sp_index *ix)
{
	for (uint32_t j = ix->nshards; j-- > 0;)
		sp__lock_release(&ix->shards[j].lock);
}
