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

uint32_t sp__home_ordinal_slow(void);

extern __attribute__((tls_model("initial-exec"))) _Thread_local uint32_t sp__home_ordinal_plus1;

static inline uint32_t sp__home_ordinal(void)
{
	uint32_t v = sp__home_ordinal_plus1;
	return v ? v - 1 : sp__home_ordinal_slow();
}

/* The index this thread used last (by its never-reused id) and its home
 * there: one compare instead of a modulo on every call. */
struct sp__home_memo {
	uint64_t index_id;
	uint32_t shard;
};

extern __attribute__((tls_model("initial-exec"))) _Thread_local struct sp__home_memo sp__home_memo;

#endif /* SP_HOME_H */
