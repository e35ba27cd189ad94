/* SPDX-License-Identifier: MIT */
/*
 * home.h: each thread's home shard. A thread gets an ordinal, round-robin,
 * the first time it uses any sharded index; its home shard in an index of S
 * shards is ordinal mod S, so T <= S threads started together get distinct
 * homes.
 */
#ifndef SP_HOME_H
#define SP_HOME_H

#include <stdint.h>

/* The index this thread used last (by its never-reused id) and its home
 * there: one compare instead of a modulo on every call. */
struct sp__home_memo {
	uint64_t index_id;
	uint32_t shard;
};

extern __attribute__((tls_model("initial-exec"))) _Thread_local struct sp__home_memo sp__home_memo;

/* The home in an index met for the first time since the last other one;
 * mod_shards = sp__reciprocal(shards). */
uint32_t sp__home_slow(uint64_t index_id, uint64_t mod_shards, uint32_t shards);

/* This thread's home shard in the index `index_id` of `shards` shards. */
static inline uint32_t sp__home(uint64_t index_id, uint64_t mod_shards, uint32_t shards)
{
	if (__builtin_expect(sp__home_memo.index_id == index_id, 1))
		return sp__home_memo.shard;
	return sp__home_slow(index_id, mod_shards, shards);
}

#endif /* SP_HOME_H */
