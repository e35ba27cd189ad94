/* SPDX-License-Identifier: MIT */
/*
 * lock.h: the lock that guards a shard. A test-and-test-and-set spin lock:
 * the critical sections it guards are a few dozen instructions, so an
 * uncontended acquire is one atomic exchange and a release is a plain store,
 * about half the cost of a futex mutex (which needs an atomic on unlock too).
 * Under contention a waiter spins on a read (no cache line ping-pong), then
 * yields the CPU so that a preempted holder can run.
 */
#ifndef SP_LOCK_H
#define SP_LOCK_H

#include <stdatomic.h>

typedef struct {
	atomic_uint held;
} sp__lock;

void sp__lock_wait(sp__lock *l);

static inline void sp__lock_init(sp__lock *l)
{
	atomic_init(&l->held, 0);
}

/* One attempt; non-zero when the lock was taken. */
static inline int sp__lock_try(sp__lock *l)
{
	return __builtin_expect(atomic_exchange_explicit(&l->held, 1, memory_order_acquire) == 0,
	                        1) != 0;
}

static inline void sp__lock_acquire(sp__lock *l)
{
	if (!sp__lock_try(l))
		sp__lock_wait(l);
}

static inline void sp__lock_release(sp__lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

#endif /* SP_LOCK_H */
