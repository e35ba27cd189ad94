/* SPDX-License-Identifier: MIT */
/*
 * keytab.h: the affinity key table: key -> the key's most recently freed warm
 * slot (the tail of its warm list). Open addressing, linear probing,
 * backward-shift deletion (no tombstones, so probe lengths never decay).
 *
 * An entry is 12 bytes: the key and ~tail, so that an all-zero entry is empty
 * and calloc'ed pages stay untouched until used. The table holds at most
 * `capacity` keys (one per warm slot at most) in n = capacity * 3/2 + 1
 * buckets: load <= 2/3, 18 bytes a slot. Buckets are picked by multiplying
 * the hash into [0, n) (no power-of-two rounding, which would cost up to 2x
 * memory).
 *
 * The tail slot's aff_next names its entry (SP__TAIL | entry); when deletion
 * moves an entry, keytab fixes that back-reference, which is why it sees the
 * slot array. No locking: the owner's lock covers it.
 */
#ifndef SP_KEYTAB_H
#define SP_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

#include "slot.h"

struct sp__keyent {
	uint32_t key_lo;
	uint32_t key_hi;
	uint32_t ntail; /* ~tail slot; 0 = empty bucket */
};

struct sp__keytab {
	struct sp__keyent *ent;
	uint32_t n;     /* buckets */
	uint32_t count; /* keys present */
};

/* Buckets for a table that must hold up to `capacity` keys. */
static inline uint32_t sp__keytab_buckets(uint32_t capacity)
{
	return capacity + capacity / 2 + 1;
}

int sp__keytab_init(struct sp__keytab *kt, uint32_t capacity);
void sp__keytab_fini(struct sp__keytab *kt);

static inline uint32_t sp__keytab_home(const struct sp__keytab *kt, uint64_t key)
{
	/* One xor-shift folds the high half into the low, one multiply carries
	 * every bit into the high half, and the multiply-shift reduction maps
	 * those high bits onto [0, n). Half the cost of a full 64-bit finaliser,
	 * which showed up in profiles. The multiplier is 2^64 / golden ratio
	 * (Fibonacci hashing): consecutive ids, the commonest keys, land as far
	 * apart as any sequence can, so their probes almost never meet
	 * (tests/index/test_keytab.c measures this and other key shapes). */
	uint64_t h = (key ^ (key >> 29)) * UINT64_C(0x9e3779b97f4a7c15);
	return (uint32_t)(((h >> 32) * (uint64_t)kt->n) >> 32);
}

static inline int sp__keyent_is(const struct sp__keyent *e, uint64_t key)
{
	return e->key_lo == (uint32_t)key && e->key_hi == (uint32_t)(key >> 32);
}

/* Entry holding `key`, or SP__NIL. */
static inline uint32_t sp__keytab_find(const struct sp__keytab *kt, uint64_t key)
{
	uint32_t i = sp__keytab_home(kt, key);
	for (;;) {
		const struct sp__keyent *e = &kt->ent[i];
		if (e->ntail == 0)
			return SP__NIL;
		if (sp__keyent_is(e, key))
			return i;
		if (++i == kt->n)
			i = 0;
	}
}

/*
 * Entry holding `key`; if absent, a new one is made with tail `slot` (so a
 * caller can tell a new entry by its tail). The caller guarantees room
 * (count < n - 1).
 */
static inline uint32_t sp__keytab_upsert(struct sp__keytab *kt, uint64_t key, uint32_t slot)
{
	uint32_t i = sp__keytab_home(kt, key);
	for (;;) {
		struct sp__keyent *e = &kt->ent[i];
		if (e->ntail == 0) {
			e->key_lo = (uint32_t)key;
			e->key_hi = (uint32_t)(key >> 32);
			e->ntail = ~slot;
			kt->count++;
			return i;
		}
		if (sp__keyent_is(e, key))
			return i;
		if (++i == kt->n)
			i = 0;
	}
}

static inline uint64_t sp__keyent_key(const struct sp__keyent *e)
{
	return (uint64_t)e->key_hi << 32 | e->key_lo;
}

static inline uint32_t sp__keyent_tail(const struct sp__keyent *e)
{
	return ~e->ntail;
}

/* Remove entry i, shifting later entries of its cluster back and fixing the
 * back-reference of each moved entry's tail slot. */
void sp__keytab_erase(struct sp__keytab *kt, uint32_t i, struct sp__slot *slots);

#endif /* SP_KEYTAB_H */
