/* SPDX-License-Identifier: MIT */
/*
 * fork.c: pools that keep working, and keep their isolation, on both sides
 * of a fork().
 *
 * A pool holds kernel handles that belong to the process that opened them:
 * /proc/self/pagemap reads that process's page tables, a userfaultfd
 * write-protects in that process's address space, a pidfd names it. A
 * child inherits the descriptors, so without care its resets would scan
 * (and write-protect, and decommit) the parent's pages, leaving its own
 * dirty and breaking the parent's tracking.
 *
 * So every pool is in a registry, and pthread_atfork handlers:
 *   prepare  take the registry lock, then every pool's locks and its
 *            index's shard locks, so the child gets each pool in a state
 *            some thread left it in (no batch, image list or index
 *            half-changed, no lock held by a thread the child lacks);
 *   parent   let them go;
 *   child    bump the fork generation, reset every pool's wait state (the
 *            threads that waited exist only in the parent) and let go.
 * Each pool remembers the generation its handles were opened in; the
 * first call in the child that needs them finds the generation changed
 * and reopens them here (sp__fork_reopen), so a child that execs at once
 * pays nothing. A handle that cannot be reopened takes its path down to
 * one that needs none (write tracking -> present pages -> high water;
 * process_madvise -> madvise), for that process only.
 *
 * A child created without the atfork handlers (a raw clone or vfork
 * syscall, _Fork) must not use the pool.
 *
 * Layout: a doubly linked list of pools (reg_prev, reg_next) under
 * reg_mu, and the generation counter.
 *
 * Locking: reg_mu guards the list; it comes before every pool lock. The
 * reopen takes the pool's mu.
 */
#include "fork.h"

#include <unistd.h>

#include "index/locks.h"

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static sp_mempool *reg_head;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static int reg_err;
static atomic_uint fork_gen;

unsigned sp__fork_gen(void)
{
	return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

static void on_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
	for (sp_mempool *p = reg_head; p; p = p->reg_next) {
		pthread_mutex_lock(&p->mu);
		pthread_mutex_lock(&p->reclaim_mu);
		sp__index_lock_all(p->ix);
	}
}

static void on_parent(void)
{
	for (sp_mempool *p = reg_head; p; p = p->reg_next) {
		sp__index_unlock_all(p->ix);
		pthread_mutex_unlock(&p->reclaim_mu);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static void on_child(void)
{
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
	for (sp_mempool *p = reg_head; p; p = p->reg_next) {
		/* Waiters of the parent do not exist here; a condition
		 * variable that still counts them could block a broadcast. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&p->freed, &ca);
		pthread_condattr_destroy(&ca);
		atomic_store_explicit(&p->waiters, 0, memory_order_relaxed);
		sp__index_unlock_all(p->ix);
		pthread_mutex_unlock(&p->reclaim_mu);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_unlock(&reg_mu);
}

static void install(void)
{
	reg_err = pthread_atfork(on_prepare, on_parent, on_child) ? -ENOMEM : 0;
}

int sp__fork_register(sp_mempool *p)
{
	pthread_once(&reg_once, install);
	if (reg_err)
		return reg_err;
	atomic_store_explicit(&p->os_gen, sp__fork_gen(), memory_order_release);
	pthread_mutex_lock(&reg_mu);
	p->reg_prev = NULL;
	p->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = p;
	reg_head = p;
	pthread_mutex_unlock(&reg_mu);
	return 0;
}

void sp__fork_unregister(sp_mempool *p)
{
	pthread_mutex_lock(&reg_mu);
	if (p->reg_prev)
		p->reg_prev->reg_next = p->reg_next;
	else if (reg_head == p)
		reg_head = p->reg_next;
	if (p->reg_next)
		p->reg_next->reg_prev = p->reg_prev;
	p->reg_prev = p->reg_next = NULL;
	pthread_mutex_unlock(&reg_mu);
}

void sp__fork_reopen(sp_mempool *p)
{
	pthread_mutex_lock(&p->mu);
	unsigned gen = sp__fork_gen();
	if (atomic_load_explicit(&p->os_gen, memory_order_relaxed) != gen) {
		/* The descriptors we inherited are ours to close: the parent
		 * keeps its own. */
		sp__os_ctx_close(&p->os);
		sp__os_probe(&p->os, p->os_want);
		unsigned have = p->os.features;
		if (p->track == SP_MEMPOOL_TRACK_WRITTEN &&
		    (!(have & SP__OS_F_UFFD_WP) || sp__os_track(&p->os, p->res, p->res_len)))
			p->track = SP_MEMPOOL_TRACK_PRESENT;
		/* The child's copy of every page is unprotected and reads as
		 * written, so the first reset of each slot restores its whole
		 * kept range: nothing to re-arm. */
		if (p->track == SP_MEMPOOL_TRACK_PRESENT && !(have & SP__OS_F_PAGEMAP_SCAN))
			p->track = SP_MEMPOOL_TRACK_HIGH_WATER;
		if (!(have & SP__OS_F_PROCESS_MADVISE))
			p->decommit_path = SP_MEMPOOL_DECOMMIT_MADVISE;
		/* Inherited VMAs never merge with new ones (layout.c). */
		p->forked = 1;
		atomic_store_explicit(&p->os_gen, gen, memory_order_release);
	}
	pthread_mutex_unlock(&p->mu);
}
