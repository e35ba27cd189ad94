/* SPDX-License-Identifier: MIT */
/*
 * inject.c: fault injection into the OS layer (see inject.h).
 *
 * Layout: per operation, the calls seen since it was last armed, and the
 * window [skip, skip + count) of calls that fail with err.
 *
 * Locking: none; the counters are atomics. Arming publishes count last
 * (release), so a call that sees a count sees the skip and err set with it.
 */
#include "os/inject.h"

#include <stdatomic.h>

static atomic_uint_fast64_t op_calls[SP__OS_NOPS];
static atomic_uint op_skip[SP__OS_NOPS];
static atomic_uint op_count[SP__OS_NOPS];
static atomic_int op_err[SP__OS_NOPS];

void sp__os_fail(enum sp__os_op op, uint32_t skip, uint32_t count, int err)
{
	atomic_store_explicit(&op_count[op], 0, memory_order_relaxed);
	atomic_store_explicit(&op_calls[op], 0, memory_order_relaxed);
	atomic_store_explicit(&op_skip[op], skip, memory_order_relaxed);
	atomic_store_explicit(&op_err[op], err, memory_order_relaxed);
	atomic_store_explicit(&op_count[op], count, memory_order_release);
}

void sp__os_fail_clear(void)
{
	for (int i = 0; i < SP__OS_NOPS; i++)
		sp__os_fail((enum sp__os_op)i, 0, 0, 0);
}

int sp__os_injected(enum sp__os_op op)
{
	uint64_t c = atomic_fetch_add_explicit(&op_calls[op], 1, memory_order_relaxed);
	unsigned count = atomic_load_explicit(&op_count[op], memory_order_acquire);
	if (!count)
		return 0;
	unsigned skip = atomic_load_explicit(&op_skip[op], memory_order_relaxed);
	if (c >= skip && c < (uint64_t)skip + count)
		return atomic_load_explicit(&op_err[op], memory_order_relaxed);
	return 0;
}
