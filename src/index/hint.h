/* SPDX-License-Identifier: MIT */
/*
 * hint.h: the cross-shard affinity summary of a sharded index.
 *
 * For every cell (a hash of the key) and shard, a count of the keys that
 * hash to that cell and hold warm slots in that shard. A thread whose home
 * shard has no warm slot for key K reads K's cell, one byte per shard, and
 * locks only the shards whose count is non-zero. Counts change only when a
 * shard's key table gains or loses a key, under that shard's lock, so they
 * are exact: a zero means "no warm slot for K there" (as of the read, which
 * takes no lock and may race with a concurrent free; a race costs a hit,
 * never correctness). A count that reaches 255 sticks there: the cell then
 * only ever says "maybe", which costs a useless lock, never a missed slot.
 *
 * Layout: one column of `cells` bytes per shard, cells = the power of two
 * >= capacity / shards (at least 64): a shard's writes stay in its own
 * column, so shards never write the same cache line; only readers look
 * across. Memory: 1 to 2 bytes per slot, whatever the number of shards.
 */
#ifndef SP_HINT_H
#define SP_HINT_H

#include <stdatomic.h>
#include <stdint.h>

struct sp__hint {
	atomic_uchar *count; /* [shard * cells + cell] */
	uint32_t mask;       /* cells - 1 */
	uint32_t shift;      /* 64 - log2(cells) */
};

int sp__hint_init(struct sp__hint *h, uint32_t capacity, uint32_t shards);
void sp__hint_fini(struct sp__hint *h);

/* The top bits of a multiply, the best mixed: the middle bits the cell
 * took before put 1000 consecutive keys in 288 of 1024 cells, each false
 * "maybe" a useless lock. Another multiplier than the key table's, so keys
 * that meet there need not meet here. */
static inline uint64_t sp__hint_mix(uint64_t key)
{
	return (key ^ (key >> 31)) * UINT64_C(0x94d049bb133111eb);
}

static inline uint32_t sp__hint_cell(const struct sp__hint *h, uint64_t key)
{
	return (uint32_t)(sp__hint_mix(key) >> h->shift);
}

static inline atomic_uchar *sp__hint_at(const struct sp__hint *h, uint32_t cell, uint32_t shard)
{
	return &h->count[(uint64_t)shard * (h->mask + 1) + cell];
}

/* What a shard needs to keep its own column: the column and the cell
 * shift. */
struct sp__hint_col {
	atomic_uchar *count;
	uint32_t shift;
};

static inline struct sp__hint_col sp__hint_column(const struct sp__hint *h, uint32_t shard)
{
	return (struct sp__hint_col){.count = sp__hint_at(h, 0, shard), .shift = h->shift};
}

/* The shard's key table gained (d = +1) or lost (d = -1) `key`. Called under
 * that shard's lock, which makes it the only writer of its column. */
static inline void sp__hint_adjust(const struct sp__hint_col *col, uint64_t key, int d)
{
	atomic_uchar *c = col->count + (sp__hint_mix(key) >> col->shift);
	unsigned v = atomic_load_explicit(c, memory_order_relaxed);
	if (v == 255)
		return;
	atomic_store_explicit(c, (unsigned char)(v + (unsigned)d), memory_order_relaxed);
}

/* sp__hint_adjust as a policy's key hook (policy.h); ctx is the shard's
 * struct sp__hint_col. */
void sp__hint_key_hook(void *ctx, uint64_t key, int delta);

/* Non-zero if `shard` may hold warm slots for a key of `cell`. */
static inline int sp__hint_maybe(const struct sp__hint *h, uint32_t cell, uint32_t shard)
{
	return atomic_load_explicit(sp__hint_at(h, cell, shard), memory_order_relaxed) != 0;
}

#endif /* SP_HINT_H */
