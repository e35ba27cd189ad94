/* SPDX-License-Identifier: MIT */
/*
 * policy.h: the slot policy of one shard, with no locking. This is the seed's
 * algorithm (see docs/DESIGN.md): affine pick from the key's list tail, cold
 * slots by a bump pointer while the warm budget is not reached, LRU warm
 * otherwise. The caller holds the shard's lock around every call.
 *
 * The policy is the only code that reads or writes slot records (slot.h)
 * and the key table (keytab.h); everything else goes through the functions
 * below (scripts/check-layers.py checks this). It knows nothing of shards: a
 * sharded index gives it a key hook, called when its key table gains or
 * loses a key, and reads what it publishes (struct sp__pub).
 *
 * The allocation order lives here, once: step 1 (sp__policy_take_affine),
 * then steps 2-3 (sp__policy_take_other) in the order a budget verdict
 * says. One shard judges its own budget (sp__policy_alloc_key); the router
 * (router.c) judges the whole index's and composes the same steps across
 * shards.
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

#include "keytab.h"
#include "slot.h"

/* Read across shards without locks; written under the owner's lock. */
struct sp__pub {
	atomic_uint cold; /* non-zero: the shard has cold slots */
	atomic_uint warm; /* unused_warm, within warm_slack */
};

/*
 * Called under the shard's lock when its key table gains (delta = +1) or
 * loses (delta = -1) `key`: a sharded index keeps its cross-shard summary
 * (hint.h) exact through it. NULL with one shard. An indirect call, but
 * only when a key's first warm slot appears or its last one goes.
 */
typedef void sp__key_hook_fn(void *ctx, uint64_t key, int delta);

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
	sp__key_hook_fn *key_hook;
	void *key_hook_ctx;
};

/* warm_slack for a policy whose published warm count nobody reads. */
#define SP__POLICY_NO_PUBLISH (UINT32_MAX - 1)

/*
 * Everything a policy needs: `capacity` slots, a budget of `max_warm`
 * unused-warm slots, its warm count published to `pub` every warm_slack + 1
 * changes, and the key hook (NULL for none). 0 or -ENOMEM.
 */
int sp__policy_init(struct sp__policy *p, uint32_t capacity, uint32_t max_warm, uint32_t warm_slack,
                    struct sp__pub *pub, sp__key_hook_fn *key_hook, void *key_hook_ctx);
void sp__policy_fini(struct sp__policy *p);

static inline uint64_t sp__policy_allocs(const struct sp__policy *p)
{
	return p->affine_hits + p->clears + p->cold_picks + p->warm_steals;
}

static inline uint32_t sp__policy_in_use(const struct sp__policy *p)
{
	return p->next_cold - p->unused_warm;
}

/* How a slot is used: with the caller's key, or with none. */
enum sp__use { SP__USE_NOKEY = 0, SP__USE_KEY = 1 };

/* A use's tag is one add away, no branch. */
_Static_assert(SP__TAG_USED_KEY == SP__TAG_USED_NOKEY + 1, "tag of a use");

/* 0 if `slot` may be freed, -EINVAL otherwise. */
static inline int sp__policy_can_free(const struct sp__policy *p, uint32_t slot)
{
	/* Reading next_cold first means a cold slot's record is never read. */
	if (slot >= p->next_cold || !sp__tag_is_used(p->slots[slot].aff_prev))
		return -EINVAL;
	return 0;
}

/* 0 if the warm slots' byte sum can take `bytes` more, else -EOVERFLOW. */
static inline int sp__policy_bytes_fit(const struct sp__policy *p, uint64_t bytes)
{
	uint64_t sum;
	return __builtin_add_overflow(p->unused_bytes, bytes, &sum) ? -EOVERFLOW : 0;
}

/*
 * A slot listed in a free_many batch being validated is marked, so that a
 * second listing fails sp__policy_can_free; the mark comes off before the
 * free, or when the batch is refused.
 */
static inline void sp__policy_mark_listed(struct sp__policy *p, uint32_t slot)
{
	uint32_t *tag = &p->slots[slot].aff_prev;
	*tag = *tag == SP__TAG_USED_KEY ? SP__TAG_PENDING_KEY : SP__TAG_PENDING_NOKEY;
}

static inline void sp__policy_unmark_listed(struct sp__policy *p, uint32_t slot)
{
	uint32_t *tag = &p->slots[slot].aff_prev;
	*tag = *tag == SP__TAG_PENDING_KEY ? SP__TAG_USED_KEY : SP__TAG_USED_NOKEY;
}

/*
 * The hot path is inline so that each public call compiles into one function
 * with its lock: a call per operation is a measurable share of a ~10 ns
 * operation, and link-time optimisation cannot be assumed for a library.
 *
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

static inline void sp__key_event(struct sp__policy *p, uint64_t key, int delta)
{
	if (p->key_hook)
		p->key_hook(p->key_hook_ctx, key, delta);
}

/* Key list of entry e loses its newest slot s (an affine pick). */
static inline void sp__aff_pop_tail(struct sp__policy *p, uint32_t s, uint32_t e)
{
	struct sp__slot *S = p->slots;
	uint32_t prev = S[s].aff_prev;
	if (prev == SP__NIL) {
		sp__key_event(p, sp__keyent_key(&p->keys.ent[e]), -1);
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

/* Mark s used, with `key` (SP__USE_KEY) or without. */
static inline uint32_t sp__use(struct sp__policy *p, uint32_t s, enum sp__use use, uint64_t key)
{
	p->slots[s].aff_prev = SP__TAG_USED_NOKEY + (uint32_t)use;
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

/*
 * The budget's verdict, for one shard or a whole index: below it, steps 2-3
 * prefer a cold slot. The only place the comparison is written.
 */
static inline int sp__below_budget(uint64_t unused_warm, uint64_t max_warm)
{
	return unused_warm < max_warm;
}

static inline int sp__policy_under_budget(const struct sp__policy *p)
{
	return sp__below_budget(p->unused_warm, p->max_warm);
}

/* Step 2: the next cold slot, used as `use` says; the caller checked there
 * is one. */
static inline uint32_t sp__policy_take_cold(struct sp__policy *p, enum sp__use use, uint64_t key)
{
	p->cold_picks++;
	uint32_t s = p->next_cold++;
	if (p->next_cold == p->capacity)
		atomic_store_explicit(&p->pub->cold, 0, memory_order_relaxed);
	return sp__use(p, s, use, key);
}

/*
 * Steps 2-3: with cold_first (the budget's verdict: below it) a cold slot
 * if any is left, else the LRU warm slot; without, the LRU warm slot if any,
 * else a cold one. SP__NIL when every slot is used.
 */
static inline uint32_t sp__policy_take_other(struct sp__policy *p, int cold_first, enum sp__use use,
                                             uint64_t key)
{
	uint32_t s = sp__warm_head(p);
	int have_warm = s != p->capacity, have_cold = sp__policy_has_cold(p);
	/* At or above the budget the warm list is never empty unless the
	 * budget is 0. */
	int cold = cold_first ? have_cold : !have_warm;
	if (cold) {
		if (!have_cold)
			return SP__NIL;
		return sp__policy_take_cold(p, use, key);
	}
	if (!have_warm)
		return SP__NIL;
	sp__warm_unlink(p->slots, s);
	if (p->slots[s].aff_prev != SP__TAG_WARM_NOKEY)
		sp__aff_unlink(p, s);
	sp__warm_taken(p, s);
	p->warm_steals++;
	return sp__use(p, s, use, key);
}

/* The newest warm slot of `key`, taken off every list; SP__NIL if none. */
static inline uint32_t sp__take_newest(struct sp__policy *p, uint64_t key)
{
	uint32_t e = sp__keytab_find(&p->keys, key);
	if (e == SP__NIL)
		return SP__NIL;
	uint32_t s = sp__keyent_tail(&p->keys.ent[e]);
	sp__warm_unlink(p->slots, s);
	sp__aff_pop_tail(p, s, e);
	sp__warm_taken(p, s);
	return s;
}

/* Step 1: the newest warm slot of `key`, used with the key (an affine
 * hit); SP__NIL if the key has none. */
static inline uint32_t sp__policy_take_affine(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__take_newest(p, key);
	if (s == SP__NIL)
		return SP__NIL;
	p->affine_hits++;
	return sp__use(p, s, SP__USE_KEY, key);
}

/* Step 1 of alloc_affine_and_clear: the same slot, used with no key. */
static inline uint32_t sp__policy_take_clear(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__take_newest(p, key);
	if (s == SP__NIL)
		return SP__NIL;
	p->clears++;
	return sp__use(p, s, SP__USE_NOKEY, 0);
}

/*
 * The whole policy of one shard judging its own budget, failures counted:
 * sp__policy_alloc_key steps 1-3 for `key`, sp__policy_alloc_nokey steps
 * 2-3 (used with no key), sp__policy_alloc_clear step 1 used with no key.
 * The slot, or SP__NIL.
 */
static inline uint32_t sp__policy_alloc_key(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__policy_take_affine(p, key);
	if (s == SP__NIL) {
		s = sp__policy_take_other(p, sp__policy_under_budget(p), SP__USE_KEY, key);
		p->failed_allocs += s == SP__NIL;
	}
	return s;
}

static inline uint32_t sp__policy_alloc_nokey(struct sp__policy *p)
{
	uint32_t s = sp__policy_take_other(p, sp__policy_under_budget(p), SP__USE_NOKEY, 0);
	p->failed_allocs += s == SP__NIL;
	return s;
}

static inline uint32_t sp__policy_alloc_clear(struct sp__policy *p, uint64_t key)
{
	uint32_t s = sp__policy_take_clear(p, key);
	p->clear_misses += s == SP__NIL;
	return s;
}

/* Free a slot sp__policy_can_free accepted, with `bytes` that
 * sp__policy_bytes_fit accepted. */
static inline void sp__policy_free(struct sp__policy *p, uint32_t s, uint64_t bytes)
{
	/* In-use counts peak just before a free (or now: see get_stats),
	 * so checking here catches every peak. */
	uint32_t in_use = sp__policy_in_use(p);
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
			sp__key_event(p, key, +1);
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

/* ---- inspection: every caller holds the lock ------------------------------ */

/* Keys holding a warm slot here. */
static inline uint32_t sp__policy_keys(const struct sp__policy *p)
{
	return p->keys.count;
}

/* Bytes of per-slot records, and of the key table. */
uint64_t sp__policy_slot_bytes(const struct sp__policy *p);
uint64_t sp__policy_key_bytes(const struct sp__policy *p);

/* Count of key's warm slots (walks the list). */
uint32_t sp__policy_key_warm(const struct sp__policy *p, uint64_t key);

/* The SP_SLOT_* state of local `slot`, and its key when it has one. */
int sp__policy_slot_state(const struct sp__policy *p, uint32_t slot, uint64_t *key);

/* Calls fn(ctx, key) for each key with a warm slot here, in table order;
 * stops at and returns the first non-zero fn returns. */
int sp__policy_each_key(const struct sp__policy *p, int (*fn)(void *ctx, uint64_t key), void *ctx);

/*
 * The operations that take an empty shard to this one's state (a
 * recording's opening). sp__policy_replay_allocs: fn(ctx, slot, has_key,
 * key) for each slot below next_cold in slot order, with the key it is used
 * or warm for (an empty shard hands out cold slots in order, whatever the
 * budget); `scratch` holds capacity entries. sp__policy_replay_frees:
 * fn(ctx, slot, bytes) for each warm slot, oldest first, which rebuilds the
 * warm list and every key's list. Each stops at and returns the first
 * non-zero fn returns.
 */
typedef int sp__replay_alloc_fn(void *ctx, uint32_t slot, int has_key, uint64_t key);
typedef int sp__replay_free_fn(void *ctx, uint32_t slot, uint64_t bytes);
int sp__policy_replay_allocs(const struct sp__policy *p, uint32_t *scratch, sp__replay_alloc_fn *fn,
                             void *ctx);
int sp__policy_replay_frees(const struct sp__policy *p, sp__replay_free_fn *fn, void *ctx);

/* Full invariant walk; 0 or -EUCLEAN (message on stderr). */
int sp__policy_check(const struct sp__policy *p);

#endif /* SP_POLICY_H */
