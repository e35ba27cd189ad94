/* SPDX-License-Identifier: MIT */
/*
 * lock.c: the contended path of sp__lock (lock.h).
 */
#include "lock.h"

#include <sched.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

void sp__lock_wait(sp__lock *l)
{
	unsigned spins = 0;
	for (;;) {
		while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
			/* A holder runs for well under a microsecond unless it was
			 * preempted; after ~100 pauses assume it was and give it the
			 * CPU rather than burn our time slice. */
			if (++spins < 128)
				cpu_relax();
			else
				sched_yield();
		}
		if (atomic_exchange_explicit(&l->held, 1, memory_order_acquire) == 0)
			return;
	}
}
