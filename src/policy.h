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
#include <stdint.h>
#include <stddef.h>

#include "keytab.h"
#include "slot.h"

struct sp__policy {
	struct sp__slot *slots;
	struct sp__keytab keys;
	uint32_t capacity;
	uint32_t max_warm;   /* budget of unused-warm slots */
	uint32_t next_cold;  /* slots >= next_cold are cold */
	uint32_t unused_warm;
	uint64_t unused_bytes;
	/* counters since create */
	uint64_t allocs;
	uint64_t frees;
	uint64_t affine_hits;
	uint64_t cold_picks;
	uint64_t warm_steals;
	uint64_t clears;
	uint64_t failed_allocs;
	uint64_t clear_misses;
};

int sp__policy_init(struct sp__policy *p, uint32_t capacity, uint32_t max_warm);
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

/* Bookkeeping shared by every pick of a warm slot. */
static inline void sp__warm_taken(struct sp__policy *p, uint32_t s)
{
	p->unused_warm--;
	p->unused_bytes -= p->slots[s].word;
}

/* Steps 2-3: a cold slot or the LRU warm slot, in the order the budget says. */
static inline uint32_t sp__pick_other(struct sp__policy *p)
{
	uint32_t s = sp__warm_head(p);
	int have_warm = s != p->capacity, have_cold = p->next_cold < p->capacity;
	/* Below the budget prefer cold; at or above it, warm. Above it the warm
	 * list is never empty unless the budget is 0. */
	int cold = p->unused_warm < p->max_warm ? have_cold : !have_warm;
	if (cold) {
		if (!have_cold)
			return SP__NIL;
		p->cold_picks++;
		return p->next_cold++;
	}
	if (!have_warm)
		return SP__NIL;
	sp__warm_unlink(p->slots, s);
	if (p->slots[s].aff_prev != SP__TAG_WARM_NOKEY)
		sp__aff_unlink(p, s);
	sp__warm_taken(p, s);
	p->warm_steals++;
	return s;
}

/* Step 1: the newest warm slot of the key in entry e. */
static inline uint32_t sp__pick_affine(struct sp__policy *p, uint32_t e)
{
	uint32_t s = sp__keyent_tail(&p->keys.ent[e]);
	sp__warm_unlink(p->slots, s);
	sp__aff_pop_tail(p, s, e);
	sp__warm_taken(p, s);
	return s;
}

static inline uint32_t sp__policy_alloc_key(struct sp__policy *p, uint64_t key)
{
	uint32_t s;
	uint32_t e = sp__keytab_find(&p->keys, key);
	if (e != SP__NIL) {
		s = sp__pick_affine(p, e);
		p->affine_hits++;
	} else {
		s = sp__pick_other(p);
		if (s == SP__NIL) {
			p->failed_allocs++;
			return SP__NIL;
		}
	}
	p->slots[s].aff_prev = SP__TAG_USED_KEY;
	p->slots[s].word = key;
	p->allocs++;
	return s;
}

static inline uint32_t sp__policy_alloc_nokey(struct sp__policy *p)
{
	uint32_t s = sp__pick_other(p);
	if (s == SP__NIL) {
		p->failed_allocs++;
		return SP__NIL;
	}
	p->slots[s].aff_prev = SP__TAG_USED_NOKEY;
	p->allocs++;
	return s;
}

static inline uint32_t sp__policy_alloc_clear(struct sp__policy *p, uint64_t key)
{
	uint32_t e = sp__keytab_find(&p->keys, key);
	if (e == SP__NIL) {
		p->clear_misses++;
		return SP__NIL;
	}
	uint32_t s = sp__pick_affine(p, e);
	p->slots[s].aff_prev = SP__TAG_USED_NOKEY;
	p->clears++;
	p->allocs++;
	return s;
}

static inline void sp__policy_free(struct sp__policy *p, uint32_t s, uint64_t bytes)
{
	struct sp__slot *S = p->slots;
	uint32_t sen = p->capacity, t = S[sen].warm_prev;
	S[s].warm_prev = t;
	S[s].warm_next = sen;
	S[t].warm_next = s;
	S[sen].warm_prev = s;

	if (S[s].aff_prev == SP__TAG_USED_KEY) {
		uint32_t e = sp__keytab_upsert(&p->keys, S[s].word, s);
		uint32_t old = sp__keyent_tail(&p->keys.ent[e]);
		/* A new entry already names s; else s goes after the old tail. */
		old = old == s ? SP__NIL : old;
		S[old == SP__NIL ? sen : old].aff_next = s;
		S[s].aff_prev = old;
		S[s].aff_next = SP__TAIL | e;
		p->keys.ent[e].ntail = ~s;
	} else {
		S[s].aff_prev = SP__TAG_WARM_NOKEY;
	}
	S[s].word = bytes;
	p->unused_warm++;
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
