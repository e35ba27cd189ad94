/*
 * policy.h: the slot policy of one shard, with no locking. This is the seed's
 * algorithm (see docs/DESIGN.md): affine pick from the key's list tail, cold
 * slots by a bump pointer while the warm budget is not reached, LRU warm
 * otherwise. The caller (index.c) validates arguments it can and holds the
 * shard's lock around every call.
 *
 * Slots are numbered locally: 0 .. capacity-1 of this shard.
 */
#ifndef SP_POLICY_H
#define SP_POLICY_H

#include <errno.h>
#include <stdint.h>

#include "keytab.h"
#include "slot.h"

struct sp__policy {
	struct sp__slot *slots;
	struct sp__keytab keys;
	uint32_t capacity;
	uint32_t max_warm;   /* budget of unused-warm slots */
	uint32_t next_cold;  /* slots >= next_cold are cold */
	uint32_t warm_head;  /* least recently freed warm slot */
	uint32_t warm_tail;  /* most recently freed warm slot */
	uint32_t unused_warm;
	uint32_t in_use;
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

/* Steps 1-3 for `key`; returns the slot or SP__NIL when all are in use. */
uint32_t sp__policy_alloc_key(struct sp__policy *p, uint64_t key);
/* Steps 2-3 only; the slot is used with no key. */
uint32_t sp__policy_alloc_nokey(struct sp__policy *p);
/* Step 1 only; the slot is used with no key. SP__NIL when key has none. */
uint32_t sp__policy_alloc_clear(struct sp__policy *p, uint64_t key);

/* 0 if `slot` may be freed, -EINVAL otherwise. */
static inline int sp__policy_can_free(const struct sp__policy *p, uint32_t slot)
{
	/* Reading next_cold first means a cold slot's record is never read. */
	if (slot >= p->next_cold || !sp__tag_is_used(p->slots[slot].aff_prev))
		return -EINVAL;
	return 0;
}

/* Free a slot sp__policy_can_free accepted, with the overflow of
 * unused_bytes already ruled out by the caller. */
void sp__policy_free(struct sp__policy *p, uint32_t slot, uint64_t bytes);

/* Count of key's warm slots (walks the list). */
uint32_t sp__policy_key_warm(const struct sp__policy *p, uint64_t key);

/* Key of a warm keyed slot (walks to the list tail). */
uint64_t sp__policy_warm_key(const struct sp__policy *p, uint32_t slot);

/* Full invariant walk; 0 or -EUCLEAN (message on stderr). */
int sp__policy_check(const struct sp__policy *p);

#endif /* SP_POLICY_H */
