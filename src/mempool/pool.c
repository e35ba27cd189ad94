/* SPDX-License-Identifier: MIT */
/*
 * pool.c: the memory slot pool's life and its hot paths: create and
 * destroy, alloc (with waits), grow, free, the decommit batch, and the
 * pool's side of an image release.
 *
 * Layout: res = [guard][slot 0][guard][slot 1][guard]...; slot i starts at
 * slot0 + i * stride. Per slot an sp__mslot (types.h) remembers what is
 * mapped (layout.c), what a reset must cover, and what stays resident.
 *
 * An alloc asks the index (keyed by image id) for a slot, takes it from a
 * reclaimer if one holds it (reclaim.c), publishes the image as the slot's
 * holder, and fits the slot to the use (prepare.c). A free resets it
 * (reset.c) and gives it back to the index, now or with the next batch of
 * decommits. A failure marks the slot `rebuild` (layout.c): it is remapped
 * from scratch before anyone sees it again.
 *
 * Locking: see types.h. An alloc does not take mu: it publishes the image
 * as its slot's holder and then reads the image's `dead`; the last release
 * sets `dead` and then looks for holders (both sequentially consistent),
 * so at least one of them sees the other: the alloc backs off with
 * -EINVAL, or the release with -EBUSY. The release's purge takes the
 * image's warm slots out of the index with sp_index_alloc_affine_and_clear,
 * so no one else can hold them; a free clears its slot's holder only after
 * the index has it, so a release that sees no holder sees every warm slot.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "counters.h"
#include "fork.h"
#include "image.h"
#include "kept.h"
#include "layout.h"
#include "maps.h"
#include "prepare.h"
#include "reclaim.h"
#include "reset.h"

#define DEF_SLOTS 16u
#define DEF_SLOT_BYTES ((size_t)1 << 20)
#define DEF_GUARD_BYTES ((size_t)64 << 10)
/* Guard markers cost page tables over the whole reservation (8 bytes per
 * 4 KiB page); above this the PROT_NONE path is cheaper. */
#define GUARD_INSTALL_MAX_RESERVATION ((uint64_t)1 << 30)
/* Mappings left to the rest of the process by default: an eighth of
 * vm.max_map_count, and at least this many. */
#define DEF_MAP_HEADROOM_MIN 4096u
/* vm.max_map_count when it cannot be read (the kernel's default). */
#define DEF_MAX_MAP_COUNT 65530u
#define KNOWN_FLAGS                                                                                \
	(SP_MEMPOOL_NO_UFFD_WP | SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_PROCESS_MADVISE |      \
	 SP_MEMPOOL_NO_GUARD_INSTALL | SP_MEMPOOL_NO_AFFINITY | SP_MEMPOOL_RESET_DECOMMIT |        \
	 SP_MEMPOOL_RESET_RESTORE)
/* The default budget of kept bytes: this share of the machine's memory. */
#define DEF_RESIDENT_SHARE 16

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The slot whose base is `base`: -EINVAL without a pool, -EFAULT for an
 * address that is no slot base of this pool. */
static int slot_of(const sp_mempool *p, const void *base, uint32_t *i)
{
	if (!p)
		return -EINVAL;
	uintptr_t b = (uintptr_t)base, s0 = (uintptr_t)p->slot0;
	if (b < s0 || (b - s0) % p->stride || (b - s0) / p->stride >= p->nslots)
		return -EFAULT;
	*i = (uint32_t)((b - s0) / p->stride);
	return 0;
}

/* Held slot i goes back to the index, warm. */
static void return_slot(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	/* Its kept bytes left the in-use count when its user freed it (or were
	 * never in it: an alloc that failed). */
	assert(s->kept_out == 0);
	/* Once FREE, a reclaimer may own the record: read it before. */
	uint64_t kept = s->rebuild ? 0 : s->kept;
	atomic_store_explicit(&s->freed_at, sp__age_clock(), memory_order_relaxed);
	atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
	int err = sp_index_free(p->ix, i, kept);
	(void)err;
	/* After the index has it: see the purge rule at the top. */
	atomic_store_explicit(&s->holder, NULL, memory_order_seq_cst);
}

/* Held slot i goes back to the index; waiting allocs wake. Under mu. */
static void release_slot_locked(sp_mempool *p, uint32_t i)
{
	return_slot(p, i);
	if (atomic_load_explicit(&p->waiters, memory_order_seq_cst))
		pthread_cond_broadcast(&p->freed);
}

/* Held slot i goes back to the index; waiting allocs wake. Takes mu for
 * that, only if someone waits: call it without mu. */
static void release_slot(sp_mempool *p, uint32_t i)
{
	return_slot(p, i);
	if (atomic_load_explicit(&p->waiters, memory_order_seq_cst)) {
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->freed);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Issue the batched decommits and return the slots to the index. Under
 * mu. A failed decommit marks its slots rebuild; returns the error. */
static int flush_locked(sp_mempool *p)
{
	if (!p->npend)
		return 0;
	int err = sp__decommit(p, p->iov, p->niov);
	for (uint32_t k = 0; k < p->npend; k++) {
		if (err)
			sp__layout_failed(p, p->pend[k]);
		release_slot_locked(p, p->pend[k]);
	}
	p->npend = 0;
	p->niov = 0;
	return err;
}

/* ---- create / destroy ----------------------------------------------------- */

static void pool_free(sp_mempool *p)
{
	if (p->res)
		sp__os_unmap(p->res, p->res_len);
	sp__os_ctx_close(&p->os);
	sp_index_destroy(p->ix);
	free(p->slots);
	free(p->ctr);
	free(p->pend);
	free(p->iov);
	free(p);
}

/*
 * Shards of a pool by default: one per online CPU, as long as each holds
 * 8 slots (the index's own rule keeps one shard below 128 slots, tuned for
 * operations of a few tens of ns; a pool's take microseconds, so two
 * threads on one shard lock wait on each other less than they would on
 * an index alone, but they still bounce its lines: measured on 2 CPUs,
 * 1 MiB images with 64 KiB written, two threads ran 1.46x one thread on
 * one shard and 1.77x on two). At most 16, and SP_INDEX_MAX_SHARDS.
 */
static uint32_t auto_shards(uint32_t slots)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t n = cpus > 0 ? (uint32_t)cpus : 1;
	if (n > 16)
		n = 16;
	if (n > slots / 8)
		n = slots / 8;
	return n ? n : 1;
}

/* The mappings limit for all pools of the process, from the config. */
static void set_map_limit(sp_mempool *p, const sp_mempool_config *cfg)
{
	uint32_t max = 0;
	if (sp__os_max_map_count(&max) || max == 0)
		max = DEF_MAX_MAP_COUNT;
	uint64_t room = cfg->map_headroom;
	if (!room)
		room = max64(max / 8, DEF_MAP_HEADROOM_MIN);
	p->max_map_count = max;
	p->map_limit = max > room ? max - room : 0;
}

SP_API int sp_mempool_create(const sp_mempool_config *cfg, sp_mempool **out)
{
	if (!cfg || !out || (cfg->flags & ~KNOWN_FLAGS) || cfg->reserved32 ||
	    (cfg->index_flags & ~SP_INDEX_HOME_AFFINITY))
		return -EINVAL;
	unsigned reset_flags = cfg->flags & (SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_RESET_RESTORE);
	if (reset_flags == (SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_RESET_RESTORE) ||
	    (cfg->keep_resident_bytes && (cfg->flags & SP_MEMPOOL_RESET_RESTORE)))
		return -EINVAL;
	for (size_t k = 0; k < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); k++)
		if (cfg->reserved[k])
			return -EINVAL;
	size_t pg = sp__os_page_size();
	uint64_t nslots = cfg->slots ? cfg->slots : DEF_SLOTS;
	uint64_t slot_bytes = cfg->slot_bytes ? cfg->slot_bytes : DEF_SLOT_BYTES;
	uint64_t guard = cfg->guard_bytes ? cfg->guard_bytes : DEF_GUARD_BYTES;
	uint64_t batch = cfg->decommit_batch ? cfg->decommit_batch : 1;
	if (nslots > SP_INDEX_MAX_CAPACITY || slot_bytes % pg || guard % pg ||
	    cfg->keep_resident_bytes % pg || cfg->keep_resident_bytes > slot_bytes ||
	    batch > SP_MEMPOOL_MAX_BATCH || batch > nslots)
		return -EINVAL;
	/* Both sizes are below 2^46 here, so the sum cannot overflow. */
	if (slot_bytes > SP_MEMPOOL_MAX_RESERVATION || guard > SP_MEMPOOL_MAX_RESERVATION ||
	    (SP_MEMPOOL_MAX_RESERVATION - guard) / (slot_bytes + guard) < nslots)
		return -EINVAL;
	uint64_t total = guard + nslots * (slot_bytes + guard);

	sp_mempool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->os.pagemap_fd = p->os.uffd = p->os.pidfd = -1;
	p->pg = pg;
	p->nslots = (uint32_t)nslots;
	p->slot_bytes = slot_bytes;
	p->guard_bytes = guard;
	p->stride = slot_bytes + guard;
	p->keep = cfg->keep_resident_bytes;
	p->reset_mode = (p->keep || (cfg->flags & SP_MEMPOOL_RESET_DECOMMIT))
	                        ? SP_MEMPOOL_RESET_PATH_DECOMMIT
	                : (cfg->flags & SP_MEMPOOL_RESET_RESTORE) ? SP_MEMPOOL_RESET_PATH_RESTORE
	                                                          : SP_MEMPOOL_RESET_PATH_ADAPTIVE;
	p->max_resident = cfg->max_resident_bytes;
	if (!p->max_resident) {
		long pages = sysconf(_SC_PHYS_PAGES);
		uint64_t mem = pages > 0 ? (uint64_t)pages * pg : (uint64_t)1 << 30;
		p->max_resident = mem / DEF_RESIDENT_SHARE;
		if (p->max_resident > nslots * slot_bytes)
			p->max_resident = nslots * slot_bytes;
	}
	p->batch = (uint32_t)batch;
	p->flags = cfg->flags;
	p->res_len = total;
	set_map_limit(p, cfg);
	p->slots = aligned_alloc(64, nslots * sizeof(*p->slots));
	if (p->slots)
		memset(p->slots, 0, nslots * sizeof(*p->slots));
	p->ctr = aligned_alloc(64, SP__STRIPES * sizeof(*p->ctr));
	if (p->ctr)
		memset(p->ctr, 0, SP__STRIPES * sizeof(*p->ctr));
	if (batch > 1) {
		p->pend = calloc(batch, sizeof(*p->pend));
		p->iov = calloc(SP__OS_IOV_MAX, sizeof(*p->iov));
	}
	if (!p->slots || !p->ctr || (batch > 1 && (!p->pend || !p->iov))) {
		pool_free(p);
		return -ENOMEM;
	}
	/* A warm slot costs only its mappings (its resident bytes are bounded
	 * by max_resident_bytes): by default keep every slot warm for its
	 * image and reuse another image's slot only when no cold one is left. */
	sp_index_config icfg = {
		.capacity = p->nslots,
		.max_unused_warm_slots =
			cfg->max_unused_warm_slots ? cfg->max_unused_warm_slots : p->nslots,
		.shards = cfg->shards ? cfg->shards : auto_shards(p->nslots),
		.flags = cfg->index_flags,
	};
	int err = sp_index_create(&icfg, &p->ix);
	if (err) {
		pool_free(p);
		return err;
	}

	unsigned want = SP__OS_F_PAGEMAP_SCAN | SP__OS_F_UFFD_WP | SP__OS_F_PROCESS_MADVISE |
	                SP__OS_F_GUARD_INSTALL;
	/* Write tracking only tells which kept-resident pages to restore. */
	if (!p->keep || (p->flags & (SP_MEMPOOL_NO_UFFD_WP | SP_MEMPOOL_NO_PAGEMAP_SCAN)))
		want &= ~SP__OS_F_UFFD_WP;
	if (p->flags & SP_MEMPOOL_NO_PAGEMAP_SCAN)
		want &= ~SP__OS_F_PAGEMAP_SCAN;
	if (p->flags & SP_MEMPOOL_NO_PROCESS_MADVISE)
		want &= ~SP__OS_F_PROCESS_MADVISE;
	if ((p->flags & SP_MEMPOOL_NO_GUARD_INSTALL) || total > GUARD_INSTALL_MAX_RESERVATION)
		want &= ~SP__OS_F_GUARD_INSTALL;
	p->os_want = want;
	sp__os_probe(&p->os, want);
	unsigned have = p->os.features;

	p->guard_path = (have & SP__OS_F_GUARD_INSTALL) ? SP_MEMPOOL_GUARD_INSTALL
	                                                : SP_MEMPOOL_GUARD_PROT_NONE;
	/* The reservation is one mapping. */
	if (sp__reclaim_take_maps(p, 1, UINT32_MAX)) {
		pool_free(p);
		return -ENOMEM;
	}
	void *res = NULL;
	err = sp__guarded(p) ? sp__os_reserve_rw(total, &res) : sp__os_reserve_none(total, &res);
	if (err) {
		sp__maps_give(p, 1);
		pool_free(p);
		return err == -EINVAL ? -ENOMEM : err;
	}
	p->res = res;
	p->slot0 = p->res + guard;
	if (sp__guarded(p) && sp__os_guard_install(p->res, total)) {
		/* Markers refused: start over with PROT_NONE. */
		p->guard_path = SP_MEMPOOL_GUARD_PROT_NONE;
		err = sp__os_map_anon_none(p->res, total);
		if (err) {
			sp__maps_give(p, 1);
			pool_free(p);
			return err;
		}
	}
	p->track = SP_MEMPOOL_TRACK_HIGH_WATER;
	if ((have & SP__OS_F_UFFD_WP) && sp__os_track(&p->os, p->res, total) == 0)
		p->track = SP_MEMPOOL_TRACK_WRITTEN;
	else if (have & SP__OS_F_PAGEMAP_SCAN)
		p->track = SP_MEMPOOL_TRACK_PRESENT;
	p->decommit_path = (have & SP__OS_F_PROCESS_MADVISE) ? SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE
	                                                     : SP_MEMPOOL_DECOMMIT_MADVISE;

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->freed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->reclaim_mu, NULL);
	err = sp__fork_register(p);
	if (err) {
		sp__maps_give(p, 1);
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->reclaim_mu);
		pthread_cond_destroy(&p->freed);
		pool_free(p);
		return err;
	}
	*out = p;
	return 0;
}

SP_API void sp_mempool_destroy(sp_mempool *pool)
{
	if (!pool)
		return;
	sp__fork_unregister(pool);
	if (pool->npend) /* a child that never used the pool opens nothing */
		sp__fork_check(pool);
	pthread_mutex_lock(&pool->mu);
	(void)flush_locked(pool);
	pthread_mutex_unlock(&pool->mu);
	/* Unmapping the reservation drops every slot's mapping of an image
	 * before the images' own fds and mappings go. */
	sp__os_unmap(pool->res, pool->res_len);
	pool->res = NULL;
	uint64_t slot_maps = 0;
	for (uint32_t i = 0; i < pool->nslots; i++)
		slot_maps += pool->slots[i].maps;
	sp__maps_give(pool, slot_maps + 1);
	sp__image_destroy_all(pool);
	pthread_mutex_destroy(&pool->mu);
	pthread_mutex_destroy(&pool->reclaim_mu);
	pthread_cond_destroy(&pool->freed);
	pool_free(pool);
}

/* ---- alloc / grow / free -------------------------------------------------- */

static int index_alloc(sp_mempool *p, const sp_image *img, uint32_t *i)
{
	/* NO_AFFINITY still keys the index by image (so a purge finds every
	 * slot mapping it); it only ignores the warm mapping in prepare. */
	return img ? sp_index_alloc(p->ix, img->id, i) : sp_index_alloc_nokey(p->ix, i);
}

/* Is the alloc well formed: -EINVAL if not. */
static int alloc_check(const sp_mempool *p, const sp_image *img, uint64_t acc,
                       const sp_mem_slot *out)
{
	if (!p || !out || acc == 0 || acc % p->pg || acc > p->slot_bytes)
		return -EINVAL;
	if (img && (!sp__image_usable(p, img) || img->offset + img->size > acc))
		return -EINVAL;
	return 0;
}

/* Ask the index, flushing the batch (whose slots go back to the index) as
 * long as it holds any. -ENOSPC: every slot is in use. Under mu. */
static int index_alloc_flushing_locked(sp_mempool *p, const sp_image *img, uint32_t *i)
{
	for (;;) {
		int err = index_alloc(p, img, i);
		if (err != -ENOSPC || !p->npend)
			return err;
		(void)flush_locked(p);
	}
}

/* The index is full, but the batch may hold freed slots: flush and retry
 * once, without waiting. */
static int alloc_after_flush(sp_mempool *p, const sp_image *img, uint32_t *i)
{
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->waiters, 1, memory_order_seq_cst);
	int err = index_alloc_flushing_locked(p, img, i);
	atomic_fetch_sub_explicit(&p->waiters, 1, memory_order_seq_cst);
	pthread_mutex_unlock(&p->mu);
	return err;
}

/* The index is full: wait for a free until the deadline (NULL: forever).
 * A free that parked its slot in the batch, or the free of a slot, lets a
 * waiter through: every free gives its slot to the index (or to the
 * batch, which a waiter flushes) before it looks for waiters, and a
 * waiter counts itself before each try, so no wakeup is lost. */
static int alloc_waiting(sp_mempool *p, const sp_image *img, const struct timespec *deadline,
                         uint32_t *i)
{
	int err, waited = 0, timed_out = 0;
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->waiters, 1, memory_order_seq_cst);
	for (;;) {
		err = index_alloc_flushing_locked(p, img, i);
		if (err != -ENOSPC || timed_out)
			break;
		if (!waited++)
			sp__count(p, SP__C_WAITS, 1);
		int w = deadline ? pthread_cond_timedwait(&p->freed, &p->mu, deadline)
		                 : pthread_cond_wait(&p->freed, &p->mu);
		timed_out = w == ETIMEDOUT;
	}
	atomic_fetch_sub_explicit(&p->waiters, 1, memory_order_seq_cst);
	pthread_mutex_unlock(&p->mu);
	if (err == -ENOSPC && timed_out) {
		sp__count(p, SP__C_WAIT_TIMEOUTS, 1);
		return -ETIMEDOUT;
	}
	return err;
}

/* The index gave no slot: count an exhausted pool, pass the error on. */
static int alloc_failed(sp_mempool *p, int err)
{
	if (err == -ENOSPC)
		sp__count(p, SP__C_NOSPC, 1);
	return err;
}

/* The index handed us slot i: make it img's with acc bytes open, and
 * describe it in out. */
static int alloc_finish(sp_mempool *p, sp_image *img, uint64_t acc, uint32_t i, sp_mem_slot *out)
{
	sp__reclaim_take_slot(p, i, SP__MS_USED);
	struct sp__mslot *s = &p->slots[i];
	atomic_store_explicit(&s->holder, img, memory_order_seq_cst);
	if (img && atomic_load_explicit(&img->dead, memory_order_seq_cst)) {
		/* The last reference went while we took the slot: back off,
		 * leaving no warm slot mapping the dead image behind. */
		if (atomic_load_explicit(&s->img_id, memory_order_relaxed) == img->id &&
		    sp__layout_blank(p, i))
			sp__layout_failed(p, i);
		release_slot(p, i);
		return -EINVAL;
	}
	int err = sp__prepare_slot(p, i, img, acc);
	if (err) {
		if (err == SP__EMAPS) {
			sp__count(p, SP__C_MAP_REFUSALS, 1);
			err = -ENOMEM;
		} else {
			/* A half-done mprotect may have opened up to acc. */
			s->mapped_hi = max64(s->mapped_hi, acc);
			sp__layout_failed(p, i);
		}
		release_slot(p, i);
		return err;
	}
	/* Its kept pages are its user's now, no longer warm. */
	s->kept_out = s->kept;
	if (s->kept_out)
		sp__count(p, SP__C_RESIDENT_OUT, s->kept_out);
	sp__count(p, SP__C_ALLOCS, 1);
	out->base = sp__slot_base(p, i);
	out->index = i;
	out->reserved = 0;
	out->accessible = acc;
	out->slot_bytes = p->slot_bytes;
	return 0;
}

SP_API int sp_mempool_alloc(sp_mempool *pool, sp_image *img, uint64_t accessible, sp_mem_slot *out)
{
	int err = alloc_check(pool, img, accessible, out);
	if (err)
		return err;
	sp__fork_check(pool);
	uint32_t i = 0;
	err = index_alloc(pool, img, &i);
	if (err == -ENOSPC && pool->batch > 1)
		err = alloc_after_flush(pool, img, &i);
	if (err)
		return alloc_failed(pool, err);
	return alloc_finish(pool, img, accessible, i, out);
}

SP_API int sp_mempool_alloc_wait(sp_mempool *pool, sp_image *img, uint64_t accessible,
                                 const struct timespec *deadline, sp_mem_slot *out)
{
	int err = alloc_check(pool, img, accessible, out);
	if (err)
		return err;
	if (deadline && (deadline->tv_nsec < 0 || deadline->tv_nsec >= 1000000000L))
		return -EINVAL;
	sp__fork_check(pool);
	uint32_t i = 0;
	err = index_alloc(pool, img, &i);
	if (err == -ENOSPC)
		err = alloc_waiting(pool, img, deadline, &i);
	if (err)
		return alloc_failed(pool, err);
	return alloc_finish(pool, img, accessible, i, out);
}

SP_API int sp_mempool_grow(sp_mempool *pool, void *base, uint64_t new_accessible)
{
	uint32_t i;
	int err = slot_of(pool, base, &i);
	if (err)
		return err;
	struct sp__mslot *s = &pool->slots[i];
	int used = atomic_load_explicit(&s->state, memory_order_acquire) == SP__MS_USED;
	if (!used || new_accessible % pool->pg || new_accessible > pool->slot_bytes)
		return -EINVAL;
	sp__fork_check(pool);
	return sp__prepare_grow(pool, i, new_accessible);
}

/*
 * Once slot i (reset, not yet back in the index) joins the warm slots,
 * their kept bytes must stay within max_resident_bytes: the least recently
 * freed warm slots give theirs up first (down to 15/16 of the budget, so
 * that one walk serves many frees), then this slot if that is not enough.
 * Nothing to do while every slot's kept bytes together fit.
 */
static void keep_within_budget(sp_mempool *p, uint32_t i, struct sp__ranges *d)
{
	struct sp__mslot *s = &p->slots[i];
	if (atomic_load_explicit(&p->kept_total, memory_order_relaxed) <= p->max_resident ||
	    !s->kept)
		return;
	uint64_t warm = sp__kept_warm(p); /* this slot's kept counts as warm already */
	if (warm <= p->max_resident)
		return;
	pthread_mutex_lock(&p->reclaim_mu);
	warm = sp__kept_warm(p);
	if (warm > p->max_resident) {
		uint64_t need = warm - p->max_resident;
		uint64_t want = need + (need < s->kept ? p->max_resident / 16 : 0);
		uint64_t got = sp__reclaim_bytes(p, want);
		if (got < need) {
			/* Every other warm slot is already empty: drop this
			 * one's pages too (they are pristine: a decommit only
			 * makes the next user fault them in). */
			d->n = 0;
			d->r[d->n].base = sp__slot_base(p, i);
			d->r[d->n].len = s->hw;
			d->n = s->hw ? 1 : 0;
			sp__count(p, SP__C_BUDGET_RECLAIMS, 1);
			sp__count(p, SP__C_BUDGET_BYTES, s->kept);
			sp__kept_set(p, i, 0);
			s->priv = 0;
		}
	}
	pthread_mutex_unlock(&p->reclaim_mu);
}

SP_API int sp_mempool_free(sp_mempool *pool, void *base)
{
	uint32_t i;
	int err = slot_of(pool, base, &i);
	if (err)
		return err;
	struct sp__mslot *s = &pool->slots[i];
	unsigned char used = SP__MS_USED;
	/* One winner: a second (or concurrent) free of the slot fails. */
	if (!atomic_compare_exchange_strong_explicit(&s->state, &used, SP__MS_RESETTING,
	                                             memory_order_acq_rel, memory_order_acquire))
		return -EINVAL;
	sp__fork_check(pool);
	sp__count(pool, SP__C_FREES, 1);
	/* Its user is done with it: what it keeps is no longer in use. A slot
	 * that waits in the batch is not either, and will be warm: the budget
	 * (keep_within_budget) must count it so from now on. */
	if (s->kept_out)
		sp__count(pool, SP__C_RESIDENT_OUT, (uint64_t)0 - s->kept_out);
	s->kept_out = 0;

	struct sp__ranges d;
	err = sp__reset(pool, i, &d);
	if (!err && pool->reset_mode != SP_MEMPOOL_RESET_PATH_DECOMMIT)
		keep_within_budget(pool, i, &d);
	if (!err && d.n && pool->batch > 1) {
		pthread_mutex_lock(&pool->mu);
		if (pool->niov + d.n > SP__OS_IOV_MAX)
			err = flush_locked(pool);
		memcpy(pool->iov + pool->niov, d.r, d.n * sizeof(d.r[0]));
		pool->niov += d.n;
		pool->pend[pool->npend++] = i;
		atomic_store_explicit(&s->state, SP__MS_PENDING, memory_order_relaxed);
		/* A full batch goes now; so does one an alloc waits for. */
		if (pool->npend >= pool->batch ||
		    atomic_load_explicit(&pool->waiters, memory_order_seq_cst)) {
			int e = flush_locked(pool);
			err = err ? err : e;
		}
		pthread_mutex_unlock(&pool->mu);
		return err;
	}
	if (!err)
		err = sp__decommit(pool, d.r, d.n);
	if (err)
		sp__layout_failed(pool, i);
	release_slot(pool, i);
	return err;
}

SP_API int sp_mempool_flush(sp_mempool *pool)
{
	if (!pool)
		return -EINVAL;
	sp__fork_check(pool);
	pthread_mutex_lock(&pool->mu);
	int err = flush_locked(pool);
	pthread_mutex_unlock(&pool->mu);
	return err;
}

/* ---- images: the pool's side of a release ------------------------------- */

/* Is any slot in use (or in a reset, or in the batch) with img? */
static int in_use(const sp_mempool *p, const sp_image *img)
{
	for (uint32_t i = 0; i < p->nslots; i++)
		if (atomic_load_explicit(&p->slots[i].holder, memory_order_seq_cst) == img)
			return 1;
	return 0;
}

/* Blank every warm slot that maps img (no slot uses img). Under mu.
 * Returns 0 or the first remap error (those slots are marked rebuild). */
static int purge_locked(sp_mempool *p, const sp_image *img)
{
	int first = 0;
	uint32_t i;
	/* Every slot that maps img is warm under its key (NO_AFFINITY too):
	 * taking them this way makes them ours alone (but for a reclaimer,
	 * which we wait out). */
	while (sp_index_alloc_affine_and_clear(p->ix, img->id, &i) == 0) {
		sp__reclaim_take_slot(p, i, SP__MS_RECLAIM);
		struct sp__mslot *s = &p->slots[i];
		if (atomic_load_explicit(&s->img_id, memory_order_relaxed) == img->id) {
			int err = sp__layout_blank(p, i);
			first = first ? first : err;
		}
		/* The index stamps it as just freed; so do we. */
		uint64_t kept = s->rebuild ? 0 : s->kept;
		atomic_store_explicit(&s->freed_at, sp__age_clock(), memory_order_relaxed);
		atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
		(void)sp_index_free(p->ix, i, kept);
	}
	return first;
}

SP_API int sp_image_release(sp_image *img)
{
	if (!img)
		return -EINVAL;
	sp_mempool *p = img->pool;
	sp__fork_check(p);
	pthread_mutex_lock(&p->mu);
	int last = sp__image_unref_locked(img);
	if (last != 1) {
		pthread_mutex_unlock(&p->mu);
		return last;
	}
	atomic_store_explicit(&img->dead, 1, memory_order_seq_cst);
	/* Slots waiting in the batch still hold it: settle them. */
	if (in_use(p, img) && p->npend) {
		(void)flush_locked(p); /* failures: slots rebuilt later */
	}
	if (in_use(p, img)) {
		atomic_store_explicit(&img->dead, 0, memory_order_relaxed);
		pthread_mutex_unlock(&p->mu);
		return -EBUSY;
	}
	int err = purge_locked(p, img);
	sp__image_retire_locked(p, img);
	pthread_mutex_unlock(&p->mu);
	return err;
}
