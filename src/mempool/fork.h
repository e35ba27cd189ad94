/* SPDX-License-Identifier: MIT */
/*
 * fork.h: pools on both sides of a fork() (see fork.c).
 */
#ifndef SP_MEMPOOL_FORK_H
#define SP_MEMPOOL_FORK_H

#include "types.h"

/* Add p to / remove p from the registry the fork handlers walk. */
int sp__fork_register(sp_mempool *p);
void sp__fork_unregister(sp_mempool *p);
/* The fork generation: bumped in every child the process forks. */
unsigned sp__fork_gen(void);
/* In a child (p->os_gen is stale): reopen p's kernel handles for this
 * process, or fall back to paths that need none. Takes mu. */
void sp__fork_reopen(sp_mempool *p);
/* Reopen the handles if this process is not the one that opened them.
 * Call it without mu, before the first use of p->os in a call. */
static inline void sp__fork_check(sp_mempool *p)
{
	if (__builtin_expect(
		    atomic_load_explicit(&p->os_gen, memory_order_acquire) != sp__fork_gen(), 0))
		sp__fork_reopen(p);
}

#endif /* SP_MEMPOOL_FORK_H */
