/* SPDX-License-Identifier: MIT */
/*
 * home.c: thread ordinals and the memo of each thread's home shard
 * (home.h).
 */
#include "home.h"

#include <stdatomic.h>

#include "fastdiv.h"

/* initial-exec: a plain %fs-relative load, no __tls_get_addr call on the
 * hot path. 20 bytes of static TLS, which glibc reserves room for even
 * when the library is dlopen'ed. */
static __attribute__((tls_model("initial-exec"))) _Thread_local uint32_t ordinal_plus1;
__attribute__((tls_model("initial-exec"))) _Thread_local struct sp__home_memo sp__home_memo;

static atomic_uint next_ordinal;

static uint32_t ordinal(void)
{
	uint32_t v = ordinal_plus1;
	if (v)
		return v - 1;
	v = atomic_fetch_add_explicit(&next_ordinal, 1, memory_order_relaxed);
	ordinal_plus1 = v + 1;
	return v;
}

__attribute__((noinline)) uint32_t sp__home_slow(uint64_t index_id, uint64_t mod_shards,
                                                 uint32_t shards)
{
	uint32_t h = sp__fastmod(ordinal(), mod_shards, shards);
	sp__home_memo = (struct sp__home_memo){.index_id = index_id, .shard = h};
	return h;
}
