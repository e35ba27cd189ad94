/* SPDX-License-Identifier: MIT */
/*
 * policy.h: the slot policy of one shard, with no locking. This is the seed's
 * algorithm (see docs/DESIGN.md): affine pick from the key's list tail, cold
 * slots by a bump pointer while the warm budget is not reached, LRU warm
 * otherwise. The caller (index.c) validates arguments it can and holds the
 * shard's lock around every call.
 *
 * Slots are numbered locally: 0 .. capacity-1 of this shard; record
 * `capacity` is the warm list's sentinel.
 */
#ifndef SP_POLICY_H
#define SP_POLICY_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "hint.h"
#include "keytab.h"
#include "slot.h"

/*
 * Field order is layout: a shard puts its lock and then this struct on one
 * cache line (shard.h), and the fields up to affine_hits are the ones an
 * affine hit or a free writes, so that an operation on another thread's
 * shard moves one line, not three (static assert in shard.h). What follows
 * is read on every operation but written only on misses.
 */
struct sp__policy {
	struct sp__slot *slots;
	struct sp__keytab keys;
	uint32_t unused_warm;
	uint32_t warm_credit; /* changes left before the next publication */
	uint64_t unused_bytes;
	/* counters since create; allocs is the sum of the four picks, so that
	 * no extra counter is written per alloc (sp__policy_allocs) */
	uint64_t frees;
	uint64_t affine_hits;
	uint64_t cold_picks;
	uint64_t warm_steals;
	uint64_t clears;
	uint64_t failed_allocs;
	uint64_t clear_misses;
	uint32_t capacity;
	uint32_t max_warm;    /* budget of unused-warm slots */
	uint32_t next_cold;   /* slots >= next_cold are cold */
	uint32_t peak_in_use; /* most slots in use before a free */
	/* What other shards' threads read without the lock (struct sp__pub,
	 * on a line of its own in the shard). The warm count is published
	 * every warm_slack + 1 changes, counted down: a decrement and a rarely
	 * taken branch on the hot path, and a store that seldom invalidates a
	 * reader's copy. One shard: nobody reads it, the slack is the maximum. */
	uint32_t warm_slack;
	struct sp__pub *pub;
	/* Sharded index: this shard's column of the summary, to keep exact. */
	struct sp__hint_col hint;
};

static inline uint64_t sp__policy_allocs(const struct sp__policy *p)
{
	return p->affine_hits + p->clears + p->cold_picks + p->warm_steals;
}

/* Read across shards without locks; written under the owner's lock. */
struct sp__pub {
	atomic_uint cold; /* non-zero: the shard has cold slots */
	atomic_uint warm; /* unused_warm, within warm_slack */
};

int sp__policy_init(struct sp__policy *p, uint32_t capacity, uint32_t max_warm,
                    struct sp__pub *pub);
void sp__policy_fini(struct sp__policy *p);

/* 0 if `slot` may be freed, -EINVAL otherwise. */
static inline int sp__policy_can_free(const struct sp__policy *p, uint32_t slot)
{
	/* Reading next_cold first means a cold slot's record is never read. */
	if (slot >= p->next_cold || !sp__tag_is_used(p->slots[slot].aff_prev))
		return -EINVAL;
	return 0;
}

/*
 * The hot path is inline so that each public call compiles into one function
 * with its lock: a call per operation is a measurable share of a ~10 ns
 * operation, and link-time optimisation cannot be assumed for a library.
 *
 * sp__policy_alloc_key: steps 1-3 for `key`; the slot or SP__NIL (all used).
 * sp__policy_alloc_nokey: steps 2-3 only; the slot is used with no key.
 * sp__policy_alloc_clear: step 1 only, the slot is used with no key;
 *   SP__NIL when the key holds no warm slot.
 * sp__policy_free: free a slot sp__policy_can_free accepted, the overflow of
 *   unused_bytes already ruled out by the caller.
 */
/*
 * The global warm list is circular through a sentinel record at index
 * `capacity` (S[capacity].warm_next is the LRU head, .warm_prev the MRU
 * tail), so linking and unlinking need no branches: with keys picked at
 * random those branches mispredict about half the time.
 */
static inline uint32_t sp__warm_head(const struct sp__policy *p)
{
	return p->slots[p->capacity].warm_next;
}

static inline void sp__warm_unlink(struct sp__slot *S, uint32_t s)
{
	uint32_t prev = S[s].warm_prev, next = S[s].warm_next;
	S[next].warm_prev = prev;
	S[prev].warm_next = next;
}

/* Key list of entry e loses its newest slot s (an affine pick). */
static inline void sp__aff_pop_tail(struct sp__policy *p, uint32_t s, uint32_t e)
{
	struct sp__slot *S = p->slots;
	uint32_t prev = S[s].aff_prev;
	if (prev == SP__NIL) {
		if (p->hint.count)
			sp__hint_adjust(&p->hint, sp__keyent_key(&p->keys.ent[e]), -1);
		sp__keytab_erase(&p->keys, e, S);
	} else {
		p->keys.ent[e].ntail = ~prev;
		S[prev].aff_next = SP__TAIL | e;
	}
}

/* Unlink warm slot s, which has a key, from anywhere in its key's list. */
static inline void sp__aff_unlink(struct sp__policy *p, uint32_t s)
{
	struct sp__slot *S = p->slots;
	uint32_t prev = S[s].aff_prev, next = S[s].aff_next;
	if (next & SP__TAIL) {
		sp__aff_pop_tail(p, s, next & ~SP__TAIL);
	} else {
		S[next].aff_prev = prev;
		/* The oldest slot has no predecessor: write the sentinel's
		 * (unused) aff_next instead of branching. */
		S[prev == SP__NIL ? p->capacity : prev].aff_next = next;
	}
}

/* Mark s used, with `key` (tag SP__TAG_USED_KEY) or without. */
static inline uint32_t sp__use(struct sp__policy *p, uint32_t s, uint32_t tag, uint64_t key)
{
	p->slots[s].aff_prev = tag;
	p->slots[s].word = key;
	return s;
}

/* Publishes unused_warm (see struct sp__policy). */
void sp__warm_flush(struct sp__policy *p);

static inline void sp__warm_note(struct sp__policy *p)
{
	if (__builtin_expect(--p->warm_credit == 0, 0))
		sp__warm_flush(p);
}

/* Bookkeeping shared by every pick of a warm slot. */
static inline void sp__warm_taken(struct sp__policy *p, uint32_t s)
{
	p->unused_warm--;
	sp__warm_note(p);
	p->unused_bytes -= p->slots[s].word;
}

static inline int sp__policy_has_cold(const struct sp__policy *p)
{
	return p->next_cold < p->capacity;
}

static inline int sp__policy_under_budget(const struct sp__policy *p)
{
	return p->unused_warm < p->max_warm;
}

/* The next cold slot, used with tag/key; the caller checked there is one. */
static inline uint32_t sp__take_cold(struct sp__policy *p, uint32_t tag, uint64_t key)
{
	p->cold_picks++;
	uint32_t s = p->next_cold++;
	if (p->next_cold == p->capacity)
		atomic_store_explicit(&p->pub->cold, 0, memory_order_relaxed);
	return sp__use(p, s, tag, key);
}

/*
 * Steps 2-3: a cold slot or the LRU warm slot, in the order the budget says;
 * SP__NIL when every slot is used. Used with tag/key.
 */
static inline uint32_t sp__take_other(struct sp__policy *p, uint32_t tag, uint64_t key)
{
	uint32_t s = sp__warm_head(p);
	int have_warm = s != p->capacity, have_cold = sp__policy_has_cold(p);
	/* Below the budget prefer cold; at or above it, warm. Above it the warm
	 * list is never empty unless the budget is 0. */
	int cold = sp__policy_under_budget(p) ? have_cold : !have_warm;
	if (cold) {
		if (!have_cold)
			return SP__NIL;
		return sp__take_cold(p, tag, key);
	}
	if (!have_warm)
		return SP__NIL;
	sp__warm_unlink(p->slots, s);
	if (p->slots[s].aff_prev != SP__TAG_WARM_NOKEY)
		sp__aff_unlink(p, s);
	sp__warm_taken(p, s);
	p->warm_steals++;
	return sp__use(p, s, tag, key);
}

/*
 * Step 1: the newest warm slot of `key`, used with the key (keep = 1, an
 * affine hit) or without it (keep = 0, a clear); SP__NIL if the key has none.
 */
static inline uint32_t sp__take_affine(struct sp__policy *p, uint64_t key, int keep)
{
	uint32_t e = sp__keytab_find(&p->keys, key);
	if (e == SP__NIL)
		return SP__NIL;
	uint32_t s = sp__keyent_tail(&p->keys.ent[e]);
	sp__warm_unlink(p->slots, s);
	sp__aff_pop_tail(p, s, e);
	sp__warm_taken(p, s);
	if (keep) {
		p->affine_hits++;
		return sp__use(p, s, SP__TAG_USED_KEY, key);
	}
	p->clears++;
	return sp__use(p, s, SP__TAG_USED_NOKEY, 0);
}

/* The whole single-shard policy, failures counted. */
static inline uint32_t sp__policy_alloc_key(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__take_affine(p, key, 1);
	if (s == SP__NIL) {
		s = sp__take_other(p, SP__TAG_USED_KEY, key);
		p->failed_allocs += s == SP__NIL;
	}
	return s;
}

static inline uint32_t sp__policy_alloc_nokey(struct sp__policy *p)
{
	uint32_t s = sp__take_other(p, SP__TAG_USED_NOKEY, 0);
	p->failed_allocs += s == SP__NIL;
	return s;
}

static inline uint32_t sp__policy_alloc_clear(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__take_affine(p, key, 0);
	p->clear_misses += s == SP__NIL;
	return s;
}

static inline void sp__policy_free(struct sp__policy *p, uint32_t s, uint64_t bytes)
{
	/* In-use counts peak just before a free (or now: see get_stats),
	 * so checking here catches every peak. */
	uint32_t in_use = p->next_cold - p->unused_warm;
	if (in_use > p->peak_in_use)
		p->peak_in_use = in_use;
	struct sp__slot *S = p->slots;
	uint32_t sen = p->capacity, t = S[sen].warm_prev;
	S[s].warm_prev = t;
	S[s].warm_next = sen;
	S[t].warm_next = s;
	S[sen].warm_prev = s;

	if (S[s].aff_prev == SP__TAG_USED_KEY) {
		uint64_t key = S[s].word;
		uint32_t e = sp__keytab_upsert(&p->keys, key, s);
		uint32_t old = sp__keyent_tail(&p->keys.ent[e]);
		if (old == s) {
			/* A new entry, which already names s. */
			old = SP__NIL;
			if (p->hint.count)
				sp__hint_adjust(&p->hint, key, +1);
		}
		S[old == SP__NIL ? sen : old].aff_next = s;
		S[s].aff_prev = old;
		S[s].aff_next = SP__TAIL | e;
		p->keys.ent[e].ntail = ~s;
	} else {
		S[s].aff_prev = SP__TAG_WARM_NOKEY;
	}
	S[s].word = bytes;
	p->unused_warm++;
	sp__warm_note(p);
	p->unused_bytes += bytes;
	p->frees++;
}

/* Count of key's warm slots (walks the list). */
uint32_t sp__policy_key_warm(const struct sp__policy *p, uint64_t key);

/* Key of a warm keyed slot (walks to the list tail). */
uint64_t sp__policy_warm_key(const struct sp__policy *p, uint32_t slot);

/* Full invariant walk; 0 or -EUCLEAN (message on stderr). */
int sp__policy_check(const struct sp__policy *p);

#endif /* SP_POLICY_H */
