/*
 * mempool.c: the memory slot pool: one reservation of guarded slots handed
 * out through an sp_index keyed by image id, and the reset paths that make
 * a freed slot pristine again.
 *
 * Layout: res = [guard][slot 0][guard][slot 1][guard]...; slot i starts at
 * slot0 + i * stride. Per slot an sp__mslot (mempool_impl.h) remembers what
 * is mapped (image or zeros), the accessible size, the high-water accessible
 * size since the last reset (what a reset must cover) and since the last
 * remap (what a remap must cover).
 *
 * Reset (free): the dirty part of [0, hw) is found by the best tracking path
 * (written pages via userfaultfd + PAGEMAP_SCAN, present private pages via
 * PAGEMAP_SCAN, or all of it); its first keep_resident bytes are restored
 * in place, the rest is decommitted now or, with a batch, together with
 * other frees (the slots wait off the index until then). A failure marks
 * the slot `rebuild`: it is remapped from scratch before anyone sees it.
 *
 * Locking: see mempool_impl.h. An image's purge needs no lock against
 * alloc and free: it takes its slots out of the index with
 * sp_index_alloc_affine_and_clear, so no one else can hold them, and a
 * free counts its slot out of the image's live count only after the index
 * has it, so a purge that sees no live slot sees every warm one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "sized.h"

#define DEF_SLOTS 16u
#define DEF_SLOT_BYTES ((size_t)1 << 20)
#define DEF_GUARD_BYTES ((size_t)64 << 10)
/* Guard markers cost page tables over the whole reservation (8 bytes per
 * 4 KiB page); above this the PROT_NONE path is cheaper. */
#define GUARD_INSTALL_MAX_RESERVATION ((uint64_t)1 << 30)
#define KNOWN_FLAGS                                                                          \
	(SP_MEMPOOL_NO_UFFD_WP | SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_PROCESS_MADVISE | \
	 SP_MEMPOOL_NO_GUARD_INSTALL | SP_MEMPOOL_NO_AFFINITY)
/* Decommit ranges a reset gathers before it must issue them. */
#define RESET_RANGES 64

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static char *slot_base(const sp_mempool *p, uint32_t i)
{
	return p->slot0 + (size_t)i * p->stride;
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

static int guarded(const sp_mempool *p)
{
	return p->guard_path == SP_MEMPOOL_GUARD_INSTALL;
}

/* Make [from, to) of a slot read-write or inaccessible. */
static int set_access(sp_mempool *p, char *base, uint64_t from, uint64_t to, int rw)
{
	if (from >= to)
		return 0;
	if (guarded(p))
		return sp__os_guard(base + from, to - from, !rw);
	return sp__os_protect(base + from, to - from, rw);
}

/* Arm write tracking on [from, to) of a slot: only the kept-resident part
 * is tracked (see reset). */
static int arm(sp_mempool *p, char *base, uint64_t from, uint64_t to)
{
	to = min64(to, p->keep);
	if (p->track != SP_MEMPOOL_TRACK_WRITTEN || from >= to)
		return 0;
	return sp__os_track_clean(&p->os, base + from, to - from);
}

/* Decommit n ranges: one process_madvise where available, else one
 * madvise each (also the fallback when process_madvise fails). */
static int decommit(sp_mempool *p, const sp__os_range *r, size_t n)
{
	if (!n)
		return 0;
	uint64_t bytes = 0;
	for (size_t k = 0; k < n; k++)
		bytes += r[k].len;
	atomic_fetch_add_explicit(&p->decommit_bytes, bytes, memory_order_relaxed);
	if (p->decommit_path == SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE && n > 1) {
		atomic_fetch_add_explicit(&p->decommit_calls, 1, memory_order_relaxed);
		if (sp__os_decommit_many(&p->os, r, n) == 0)
			return 0;
	}
	for (size_t k = 0; k < n; k++) {
		atomic_fetch_add_explicit(&p->decommit_calls, 1, memory_order_relaxed);
		int err = sp__os_decommit(r[k].base, r[k].len);
		if (err)
			return err;
	}
	return 0;
}

/* Put slot i back to the state of a cold slot: zeros, inaccessible. */
static int blank_slot(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = slot_base(p, i);
	uint64_t ext = max64(s->mapped_hi, s->accessible);
	int err = 0;
	if (ext) {
		err = sp__os_map_anon(base, ext, guarded(p));
		if (!err && guarded(p))
			err = sp__os_guard(base, ext, 1);
		if (!err && p->track == SP_MEMPOOL_TRACK_WRITTEN)
			err = sp__os_track(&p->os, base, ext);
	}
	s->img = NULL;
	s->img_id = 0;
	s->kept = 0;
	if (err) {
		s->rebuild = 1;
		return err;
	}
	s->accessible = s->hw = s->mapped_hi = 0;
	s->rebuild = 0;
	return 0;
}

/* Give slot i fresh content: zeros plus img at its offset, [0, acc)
 * read-write, the rest inaccessible. */
static int remap(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = slot_base(p, i);
	uint64_t ext = max64(max64(s->mapped_hi, s->accessible), acc);
	int g = guarded(p);
	/* Whatever happens next, a later rebuild must cover ext. */
	s->mapped_hi = ext;
	s->img = NULL;
	s->img_id = 0;
	s->kept = 0;
	s->rebuild = 1;
	int err = sp__os_map_anon(base, ext, g);
	if (!err && g && ext > acc)
		err = sp__os_guard(base + acc, ext - acc, 1);
	if (!err && img)
		err = sp__os_map_file(base + img->offset, img->size, img->fd);
	if (!err && !g)
		err = sp__os_protect(base, acc, 1);
	if (!err && p->track == SP_MEMPOOL_TRACK_WRITTEN) {
		/* New mappings are new VMAs: register them, then arm. */
		err = sp__os_track(&p->os, base, ext);
		if (!err)
			err = arm(p, base, 0, acc);
	}
	if (err)
		return err;
	s->img = img;
	s->img_id = img ? img->id : 0;
	s->rebuild = 0;
	s->mapped_hi = acc;
	atomic_fetch_add_explicit(&p->remaps, 1, memory_order_relaxed);
	return 0;
}

/* Make held slot i ready for img with acc bytes accessible. */
static int prepare(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	uint64_t id = img ? img->id : 0;
	int err;
	if (s->rebuild || s->img_id != id || (img && (p->flags & SP_MEMPOOL_NO_AFFINITY))) {
		err = remap(p, i, img, acc);
		if (err)
			return err;
	} else {
		char *base = slot_base(p, i);
		if (acc > s->accessible) {
			err = set_access(p, base, s->accessible, acc, 1);
			if (err)
				return err;
			/* Unarmed pages read as written: arming is only an
			 * optimisation, so its failure is harmless. */
			(void)arm(p, base, s->accessible, acc);
		} else if (acc < s->accessible) {
			err = set_access(p, base, acc, s->accessible, 0);
			if (err)
				return err;
		}
		if (img)
			atomic_fetch_add_explicit(&p->affine_hits, 1, memory_order_relaxed);
	}
	s->accessible = s->hw = acc;
	s->mapped_hi = max64(s->mapped_hi, acc);
	return 0;
}

/* Held slot i goes back to the index, warm. Wakes waiting allocs; takes
 * mu for that only if someone waits (so never call it holding mu with
 * wake = 1). */
static void release_slot(sp_mempool *p, uint32_t i, int wake)
{
	struct sp__mslot *s = &p->slots[i];
	sp_image *holder = s->holder;
	s->holder = NULL;
	atomic_fetch_sub_explicit(&p->resident_out, s->kept_out, memory_order_relaxed);
	atomic_store_explicit(&s->state, SP__MS_FREE, memory_order_release);
	int err = sp_index_free(p->ix, i, s->rebuild ? 0 : s->kept);
	(void)err;
	/* After the index has it: see the purge rule at the top. */
	if (holder)
		atomic_fetch_sub_explicit(&holder->live, 1, memory_order_seq_cst);
	else
		atomic_fetch_sub_explicit(&p->nokey_live, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&p->waiters, memory_order_seq_cst)) {
		if (wake)
			pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->freed);
		if (wake)
			pthread_mutex_unlock(&p->mu);
	}
}

static void mark_failed(sp_mempool *p, struct sp__mslot *s)
{
	s->rebuild = 1;
	s->kept = 0;
	s->mapped_hi = max64(max64(s->mapped_hi, s->hw), s->accessible);
	atomic_fetch_add_explicit(&p->reset_failures, 1, memory_order_relaxed);
}

int sp__mempool_flush_locked(sp_mempool *p)
{
	if (!p->npend)
		return 0;
	int err = decommit(p, p->iov, p->niov);
	for (uint32_t k = 0; k < p->npend; k++) {
		if (err)
			mark_failed(p, &p->slots[p->pend[k]]);
		release_slot(p, p->pend[k], 0);
	}
	p->npend = 0;
	p->niov = 0;
	return err;
}

int sp__mempool_purge_image(sp_mempool *p, sp_image *img)
{
	int first = 0;
	uint32_t i;
	/* Every slot that maps img is warm under its key (NO_AFFINITY too):
	 * taking them this way makes them ours alone. */
	while (sp_index_alloc_affine_and_clear(p->ix, img->id, &i) == 0) {
		int err = blank_slot(p, i);
		first = first ? first : err;
		(void)sp_index_free(p->ix, i, 0);
	}
	return first;
}

/* ---- reset ---------------------------------------------------------------- */

/* Restore offsets [a, b) of slot s in place: image bytes or zeros. */
static void restore(const struct sp__mslot *s, char *base, uint64_t a, uint64_t b)
{
	const sp_image *img = s->img;
	uint64_t io = img ? img->offset : 0, ie = img ? img->offset + img->size : 0;
	while (a < b) {
		uint64_t e;
		if (img && a >= io && a < ie) {
			e = min64(b, ie);
			memcpy(base + a, (const char *)img->src + (a - io), e - a);
		} else {
			e = (img && a < io) ? min64(b, io) : b;
			memset(base + a, 0, e - a);
		}
		a = e;
	}
}

struct ranges {
	sp__os_range r[RESET_RANGES];
	size_t n;
	int barrier; /* clean mapped pages since the last range: do not merge */
};

/* Dirty ranges this close with nothing mapped between them are decommitted
 * as one: zapping empty page table entries costs little, one range less
 * saves a TLB flush and a trip through madvise. */
#define MERGE_GAP ((size_t)64 << 10)

static int push_decommit(sp_mempool *p, struct ranges *d, char *at, size_t len)
{
	if (d->n) {
		sp__os_range *last = &d->r[d->n - 1];
		char *end = (char *)last->base + last->len;
		if (end == at || (!d->barrier && at > end && (size_t)(at - end) <= MERGE_GAP)) {
			last->len = (size_t)(at + len - (char *)last->base);
			d->barrier = 0;
			return 0;
		}
	}
	d->barrier = 0;
	if (d->n == RESET_RANGES) {
		int err = decommit(p, d->r, d->n);
		d->n = 0;
		if (err)
			return err;
	}
	d->r[d->n].base = at;
	d->r[d->n].len = len;
	d->n++;
	return 0;
}

/* Scan [from, to) of held slot s for dirty pages in `mode`; restore those
 * below keep in place, gather the rest in d. */
static int scan_reset(sp_mempool *p, const struct sp__mslot *s, char *base,
                      enum sp__os_scan_mode mode, uint64_t from, uint64_t to, uint64_t keep,
                      struct ranges *d, uint64_t *restored)
{
	uintptr_t at = (uintptr_t)base + from, end = (uintptr_t)base + to;
	int err = 0;
	while (!err && at < end) {
		sp__os_range r[64];
		unsigned char clean[64];
		size_t n = 0;
		uintptr_t next = end;
		err = sp__os_scan_cat(&p->os, mode, at, end, r, clean, 64, &n, &next);
		for (size_t k = 0; !err && k < n; k++) {
			uint64_t a = (uint64_t)((char *)r[k].base - base), b = a + r[k].len;
			if (mode == SP__OS_SCAN_MAPPED && clean[k]) {
				/* Page cache or zero page: pristine, keep it mapped. */
				d->barrier = 1;
				continue;
			}
			if (a < keep) {
				uint64_t e = min64(b, keep);
				restore(s, base, a, e);
				*restored += e - a;
				/* Our own writes re-dirtied them. */
				if (mode == SP__OS_SCAN_WRITTEN)
					err = sp__os_track_clean(&p->os, base + a, e - a);
			}
			if (!err && b > keep) {
				uint64_t f = max64(a, keep);
				err = push_decommit(p, d, base + f, b - f);
			}
		}
		if (!err && next <= at)
			err = -EIO; /* the kernel made no progress */
		at = next;
	}
	return err;
}

/*
 * Reset held slot i: restore the dirty part of [0, keep) in place and
 * gather the dirty part of [keep, hw) in d (issued early if d fills).
 * Written-page tracking covers only [0, keep): beyond it, pages present
 * and private are exactly the dirty ones (they are all decommitted), so
 * the cheaper scan, which needs no write faults, suffices there.
 */
static int reset(sp_mempool *p, uint32_t i, struct ranges *d)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = slot_base(p, i);
	uint64_t hw = s->hw, keep = min64(p->keep, hw), restored = 0;
	int err = 0;
	d->n = 0;
	d->barrier = 0;
	if (p->track == SP_MEMPOOL_TRACK_HIGH_WATER) {
		restore(s, base, 0, keep);
		restored = keep;
		if (hw > keep)
			err = push_decommit(p, d, base + keep, hw - keep);
	} else if (p->track == SP_MEMPOOL_TRACK_WRITTEN) {
		if (keep)
			err = scan_reset(p, s, base, SP__OS_SCAN_WRITTEN, 0, keep, keep, d, &restored);
		if (!err && hw > keep)
			err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, keep, hw, keep, d, &restored);
	} else {
		err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, 0, hw, keep, d, &restored);
	}
	atomic_fetch_add_explicit(&p->reset_bytes, restored, memory_order_relaxed);
	s->kept = keep;
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
	free(p->pend);
	free(p->iov);
	free(p);
}

SP_API int sp_mempool_create(const sp_mempool_config *cfg, sp_mempool **out)
{
	if (!cfg || !out || (cfg->flags & ~KNOWN_FLAGS) || cfg->reserved32)
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
	p->batch = (uint32_t)batch;
	p->flags = cfg->flags;
	p->res_len = total;
	p->slots = calloc(nslots, sizeof(*p->slots));
	if (batch > 1) {
		p->pend = calloc(batch, sizeof(*p->pend));
		p->iov = calloc(SP__OS_IOV_MAX, sizeof(*p->iov));
	}
	if (!p->slots || (batch > 1 && (!p->pend || !p->iov))) {
		pool_free(p);
		return -ENOMEM;
	}
	sp_index_config icfg = {
		.capacity = p->nslots,
		.max_unused_warm_slots = cfg->max_unused_warm_slots,
		.shards = cfg->shards,
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
	sp__os_probe(&p->os, want);
	unsigned have = p->os.features;

	p->guard_path = (have & SP__OS_F_GUARD_INSTALL) ? SP_MEMPOOL_GUARD_INSTALL
	                                                : SP_MEMPOOL_GUARD_PROT_NONE;
	void *res = NULL;
	err = sp__os_reserve(total, guarded(p), &res);
	if (err) {
		pool_free(p);
		return err == -EINVAL ? -ENOMEM : err;
	}
	p->res = res;
	p->slot0 = p->res + guard;
	if (guarded(p) && sp__os_guard(p->res, total, 1)) {
		/* Markers refused: start over with PROT_NONE. */
		p->guard_path = SP_MEMPOOL_GUARD_PROT_NONE;
		err = sp__os_map_anon(p->res, total, 0);
		if (err) {
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
	*out = p;
	return 0;
}

SP_API void sp_mempool_destroy(sp_mempool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->mu);
	(void)sp__mempool_flush_locked(pool);
	pthread_mutex_unlock(&pool->mu);
	/* Unmapping the reservation drops every slot's mapping of an image
	 * before the images' own fds and mappings go. */
	sp__os_unmap(pool->res, pool->res_len);
	pool->res = NULL;
	sp__image_destroy_all(pool);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->freed);
	pool_free(pool);
}

/* ---- alloc / grow / free -------------------------------------------------- */

static int alloc_common(sp_mempool *p, sp_image *img, uint64_t acc, int wait,
                        const struct timespec *deadline, sp_mem_slot *out)
{
	if (!p || !out || acc == 0 || acc % p->pg || acc > p->slot_bytes)
		return -EINVAL;
	if (img && (img->pool != p || img->offset + img->size > acc))
		return -EINVAL;
	/* NO_AFFINITY still keys the index by image (so a purge finds every
	 * slot mapping it); it only ignores the warm mapping in prepare. */
	uint32_t i = 0;
	int err = img ? sp_index_alloc(p->ix, img->id, &i) : sp_index_alloc_nokey(p->ix, &i);
	if (err == -ENOSPC && (wait || p->batch > 1)) {
		/* Slow path: flush the batch, then wait for a free. A free
		 * gives its slot to the index before it looks for waiters, and
		 * we count ourselves a waiter before each try, so no wakeup is
		 * lost. */
		int waited = 0, timed_out = 0;
		pthread_mutex_lock(&p->mu);
		atomic_fetch_add_explicit(&p->waiters, 1, memory_order_seq_cst);
		for (;;) {
			err = img ? sp_index_alloc(p->ix, img->id, &i) : sp_index_alloc_nokey(p->ix, &i);
			if (err != -ENOSPC)
				break;
			if (p->npend) {
				(void)sp__mempool_flush_locked(p);
				continue;
			}
			if (!wait || timed_out)
				break;
			if (!waited++)
				atomic_fetch_add_explicit(&p->waits, 1, memory_order_relaxed);
			int w = deadline ? pthread_cond_timedwait(&p->freed, &p->mu, deadline)
			                 : pthread_cond_wait(&p->freed, &p->mu);
			timed_out = w == ETIMEDOUT;
		}
		atomic_fetch_sub_explicit(&p->waiters, 1, memory_order_seq_cst);
		pthread_mutex_unlock(&p->mu);
		if (err == -ENOSPC && timed_out)
			err = -ETIMEDOUT;
	}
	if (err)
		return err;
	struct sp__mslot *s = &p->slots[i];
	atomic_store_explicit(&s->state, SP__MS_USED, memory_order_relaxed);
	s->kept_out = s->rebuild ? 0 : s->kept;
	atomic_fetch_add_explicit(&p->resident_out, s->kept_out, memory_order_relaxed);
	s->holder = img;
	if (img)
		atomic_fetch_add_explicit(&img->live, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&p->nokey_live, 1, memory_order_relaxed);

	err = prepare(p, i, img, acc);
	if (err) {
		/* A half-done mprotect may have opened up to acc. */
		s->mapped_hi = max64(s->mapped_hi, acc);
		mark_failed(p, s);
		release_slot(p, i, 1);
		return err;
	}
	atomic_fetch_add_explicit(&p->allocs, 1, memory_order_relaxed);
	out->base = slot_base(p, i);
	out->index = i;
	out->reserved = 0;
	out->accessible = acc;
	out->slot_bytes = p->slot_bytes;
	return 0;
}

SP_API int sp_mempool_alloc(sp_mempool *pool, sp_image *img, uint64_t accessible,
                            sp_mem_slot *out)
{
	return alloc_common(pool, img, accessible, 0, NULL, out);
}

SP_API int sp_mempool_alloc_wait(sp_mempool *pool, sp_image *img, uint64_t accessible,
                                 const struct timespec *deadline, sp_mem_slot *out)
{
	return alloc_common(pool, img, accessible, 1, deadline, out);
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
	if (new_accessible <= s->accessible)
		return 0;
	err = set_access(pool, base, s->accessible, new_accessible, 1);
	if (err) {
		/* The kernel may have opened part of the range: rebuild the
		 * slot before its next use so no guard stays open. */
		s->mapped_hi = max64(s->mapped_hi, new_accessible);
		s->rebuild = 1;
		return err;
	}
	(void)arm(pool, base, s->accessible, new_accessible);
	s->accessible = s->hw = new_accessible;
	s->mapped_hi = max64(s->mapped_hi, new_accessible);
	return 0;
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

	struct ranges d;
	err = reset(pool, i, &d);
	if (!err && d.n && pool->batch > 1) {
		pthread_mutex_lock(&pool->mu);
		if (pool->niov + d.n > SP__OS_IOV_MAX)
			err = sp__mempool_flush_locked(pool);
		memcpy(pool->iov + pool->niov, d.r, d.n * sizeof(d.r[0]));
		pool->niov += d.n;
		pool->pend[pool->npend++] = i;
		atomic_store_explicit(&s->state, SP__MS_PENDING, memory_order_relaxed);
		if (pool->npend >= pool->batch) {
			int e = sp__mempool_flush_locked(pool);
			err = err ? err : e;
		}
		pthread_mutex_unlock(&pool->mu);
		return err;
	}
	if (!err)
		err = decommit(pool, d.r, d.n);
	if (err)
		mark_failed(pool, s);
	release_slot(pool, i, 1);
	return err;
}

SP_API int sp_mempool_flush(sp_mempool *pool)
{
	if (!pool)
		return -EINVAL;
	pthread_mutex_lock(&pool->mu);
	int err = sp__mempool_flush_locked(pool);
	pthread_mutex_unlock(&pool->mu);
	return err;
}

/* ---- introspection -------------------------------------------------------- */

SP_API int sp_mempool_get_stats(sp_mempool *pool, sp_mempool_stats *out)
{
	if (!pool || !out || out->size < SP__SIZED_MIN)
		return -EINVAL;
	sp_mempool_stats st;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	sp_index_stats is = {.size = sizeof(is)};
	(void)sp_index_get_stats(pool->ix, &is);
	pthread_mutex_lock(&pool->mu);
	st.pending = pool->npend;
	st.images = pool->nimages;
	pthread_mutex_unlock(&pool->mu);
	st.slots = pool->nslots;
	st.in_use = is.in_use;
	st.warm = is.unused_warm;
	st.cold = is.unused_cold;
	st.track_path = pool->track;
	st.decommit_path = pool->decommit_path;
	st.guard_path = pool->guard_path;
	st.reservation_bytes = pool->res_len;
	st.resident_warm_bytes = is.unused_bytes_resident;
	(void)sp__os_count_maps((uintptr_t)pool->res, (uintptr_t)pool->res + pool->res_len,
	                        &st.mappings, &st.max_map_count);
#define LOAD(f) st.f = atomic_load_explicit(&pool->f, memory_order_relaxed)
	LOAD(allocs);
	LOAD(affine_hits);
	LOAD(remaps);
	LOAD(decommit_calls);
	LOAD(decommit_bytes);
	LOAD(reset_bytes);
	LOAD(reset_failures);
	LOAD(waits);
	st.resident_in_use_bytes = atomic_load_explicit(&pool->resident_out, memory_order_relaxed);
#undef LOAD
	return sp__sized_copy(out, &st, (uint32_t)sizeof(st));
}

static int cmp_holder(const void *a, const void *b)
{
	const sp_mempool_holder *x = a, *y = b;
	if (x->live != y->live)
		return x->live > y->live ? -1 : 1;
	return x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

SP_API int sp_mempool_report(sp_mempool *pool, sp_mempool_holder *out, uint32_t cap,
                             uint32_t *count)
{
	if (!pool || !count || (!out && cap))
		return -EINVAL;
	pthread_mutex_lock(&pool->mu);
	sp_mempool_holder *h = malloc(sizeof(*h) * ((size_t)pool->nimages + 1));
	if (!h) {
		pthread_mutex_unlock(&pool->mu);
		return -ENOMEM;
	}
	uint32_t n = 0;
	unsigned live = atomic_load_explicit(&pool->nokey_live, memory_order_relaxed);
	if (live)
		h[n++] = (sp_mempool_holder){.image_id = 0, .live = live};
	for (sp_image *img = pool->images; img; img = img->next) {
		live = atomic_load_explicit(&img->live, memory_order_relaxed);
		if (live)
			h[n++] = (sp_mempool_holder){.image_id = img->id, .live = live};
	}
	pthread_mutex_unlock(&pool->mu);
	qsort(h, n, sizeof(*h), cmp_holder);
	if (n && cap)
		memcpy(out, h, sizeof(*h) * min64(n, cap));
	free(h);
	*count = n;
	return 0;
}

#define CHECK(cond, ...)                                          \
	do {                                                      \
		if (!(cond)) {                                    \
			fprintf(stderr, "sp_mempool_check: " __VA_ARGS__); \
			fputc('\n', stderr);                      \
			err = -EUCLEAN;                           \
			goto out;                                 \
		}                                                 \
	} while (0)

SP_API int sp_mempool_check(sp_mempool *pool)
{
	if (!pool)
		return -EINVAL;
	int err = 0;
	pthread_mutex_lock(&pool->mu);
	sp_index_stats is = {.size = sizeof(is)};
	CHECK(sp_index_check(pool->ix) == 0, "index check failed");
	(void)sp_index_get_stats(pool->ix, &is);
	uint32_t held = 0, pending = 0;
	uint64_t live = atomic_load(&pool->nokey_live);
	for (sp_image *img = pool->images; img; img = img->next) {
		CHECK(img->refs > 0, "image %llu has no reference", (unsigned long long)img->id);
		live += atomic_load(&img->live);
	}
	for (uint32_t i = 0; i < pool->nslots; i++) {
		const struct sp__mslot *s = &pool->slots[i];
		unsigned state = atomic_load(&s->state);
		CHECK(state <= SP__MS_PENDING, "slot %u: bad state %u", i, state);
		held += state != SP__MS_FREE;
		pending += state == SP__MS_PENDING;
		CHECK(s->accessible <= pool->slot_bytes && s->hw <= pool->slot_bytes,
		      "slot %u: accessible past slot_bytes", i);
		if (state == SP__MS_FREE && s->img_id) {
			/* A free slot maps only images that are alive. */
			const sp_image *img = pool->images;
			while (img && img->id != s->img_id)
				img = img->next;
			CHECK(img && img == s->img, "slot %u maps dead image %llu", i,
			      (unsigned long long)s->img_id);
		}
		CHECK(state != SP__MS_FREE || !s->holder, "free slot %u has a holder", i);
	}
	CHECK(held == is.in_use, "%u slots held, index says %u in use", held, is.in_use);
	CHECK(live == held, "live counts sum to %llu, %u slots held", (unsigned long long)live, held);
	CHECK(pending == pool->npend, "%u pending slots, batch holds %u", pending, pool->npend);
out:
	pthread_mutex_unlock(&pool->mu);
	return err;
}
