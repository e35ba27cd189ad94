/* SPDX-License-Identifier: MIT */
/*
 * home.c: thread ordinals for home shards (home.h).
 */
#include "home.h"

#include <stdatomic.h>

/* initial-exec: a plain %fs-relative load, no __tls_get_addr call on the
 * hot path. 20 bytes of static TLS, which glibc reserves room for even
 * when the library is dlopen'ed. */
__attribute__((tls_model("initial-exec"))) _Thread_local uint32_t sp__home_ordinal_plus1;
__attribute__((tls_model("initial-exec"))) _Thread_local struct sp__home_memo sp__home_memo;

static atomic_uint next_ordinal;

uint32_t sp__home_ordinal_slow(void)
{
	uint32_t v = atomic_fetch_add_explicit(&next_ordinal, 1, memory_order_relaxed);
	sp__home_ordinal_plus1 = v + 1;
	return v;
}
