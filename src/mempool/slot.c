/* SPDX-License-Identifier: MIT */
/*
 * slot.c: what a slot maps, and what that costs in kernel mappings.
 *
 * A slot is [0, slot_bytes) of the reservation followed by a guard. Its
 * first `accessible` bytes are read-write: anonymous zeros, with an image's
 * memfd mapped copy-on-write at the image's offset. Everything else faults:
 * guard markers inside one read-write mapping (SP_MEMPOOL_GUARD_INSTALL) or
 * PROT_NONE (SP_MEMPOOL_GUARD_PROT_NONE).
 *
 * Mappings budget: every VMA the process holds counts against
 * vm.max_map_count, which malloc, mmap and pthread_create elsewhere in the
 * process need too. Each slot records in `maps` how many VMAs it adds to
 * the reservation's one (maps_for: an image mapping splits the reservation
 * into three; with PROT_NONE guards the read-write range splits it too).
 * Before a change that adds VMAs, the difference is taken from a
 * process-wide count that all pools share (sp__maps_take); when that would
 * pass the limit, warm slots give theirs back first (reclaim.c), and the
 * alloc fails with -ENOMEM only if that is not enough. The count is an
 * upper bound: the kernel may merge neighbours we count apart.
 */
#include "pool.h"

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* All mappings of every pool in the process. */
static atomic_uint_fast64_t maps_process;

uint64_t sp__maps_process(void)
{
	return atomic_load_explicit(&maps_process, memory_order_relaxed);
}

/* VMAs a slot adds while it maps img (or zeros) with acc bytes open. */
static uint32_t maps_for(const sp_mempool *p, const sp_image *img, uint64_t acc)
{
	if (sp__guarded(p))
		return img ? 2 : 0; /* the image, and the anonymous rest after it */
	if (!acc)
		return 0;
	/* PROT_NONE splits around the open range: one more, plus each
	 * read-write piece (zeros before the image, image, zeros after). */
	if (!img)
		return 2;
	return 2 + (img->offset > 0) + (img->offset + img->size < acc);
}

/* The most a slot in an unknown state (a failed remap) can add: the
 * PROT_NONE split around an image, and a fresh mapping left apart. */
#define MAPS_WORST 6u

static int try_take(sp_mempool *p, uint64_t n)
{
	uint64_t cur = atomic_load_explicit(&maps_process, memory_order_relaxed);
	do {
		if (cur + n > p->map_limit)
			return -ENOMEM;
	} while (!atomic_compare_exchange_weak_explicit(
		&maps_process, &cur, cur + n, memory_order_relaxed, memory_order_relaxed));
	atomic_fetch_add_explicit(&p->maps, n, memory_order_relaxed);
	return 0;
}

int sp__maps_take(sp_mempool *p, uint64_t n, uint32_t self)
{
	if (!n || try_take(p, n) == 0)
		return 0;
	/* Take back more than asked: a reclaim walks every slot, so each
	 * walk should serve many allocs. */
	uint64_t want = max64(n, p->map_limit / 64);
	pthread_mutex_lock(&p->reclaim_mu);
	int err = try_take(p, n);
	if (err) {
		(void)sp__reclaim_maps(p, want, self);
		err = try_take(p, n);
	}
	pthread_mutex_unlock(&p->reclaim_mu);
	return err;
}

void sp__maps_give(sp_mempool *p, uint64_t n)
{
	if (!n)
		return;
	atomic_fetch_sub_explicit(&maps_process, n, memory_order_relaxed);
	atomic_fetch_sub_explicit(&p->maps, n, memory_order_relaxed);
}

/* Move slot s's count to `want`, taking or giving the difference. */
static int maps_set(sp_mempool *p, uint32_t i, uint32_t want)
{
	struct sp__mslot *s = &p->slots[i];
	if (want > s->maps) {
		int err = sp__maps_take(p, want - s->maps, i);
		if (err)
			return err;
	} else {
		sp__maps_give(p, s->maps - want);
	}
	s->maps = want;
	return 0;
}

int sp__slot_open(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	char *base = sp__slot_base(p, i);
	if (sp__guarded(p))
		return sp__os_guard_remove(base + from, to - from);
	return sp__os_protect_rw(base + from, to - from);
}

int sp__slot_close(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	char *base = sp__slot_base(p, i);
	if (sp__guarded(p))
		return sp__os_guard_install(base + from, to - from);
	return sp__os_protect_none(base + from, to - from);
}

int sp__slot_arm(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	/* Only the kept-resident part is tracked (see reset.c). */
	to = min64(to, p->keep);
	if (p->track != SP_MEMPOOL_TRACK_WRITTEN || from >= to)
		return 0;
	return sp__os_track_clean(&p->os, sp__slot_base(p, i) + from, to - from);
}

void sp__slot_set_kept(sp_mempool *p, uint32_t i, uint64_t kept)
{
	struct sp__mslot *s = &p->slots[i];
	if (kept != s->kept)
		atomic_fetch_add_explicit(&p->kept_total, kept - s->kept, memory_order_relaxed);
	s->kept = kept;
}

uint64_t sp__kept_warm(const sp_mempool *p)
{
	uint64_t total = atomic_load_explicit(&p->kept_total, memory_order_relaxed);
	uint64_t out = sp__counter(p, SP__C_RESIDENT_OUT);
	return total > out ? total - out : 0;
}

void sp__slot_failed(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	s->rebuild = 1;
	sp__slot_set_kept(p, i, 0);
	s->mapped_hi = max64(max64(s->mapped_hi, s->hw), s->accessible);
	/* Whatever is mapped now, a rebuild will bring it down again; until
	 * then count the worst (a budget that cannot cover it stays over
	 * until the rebuild). */
	if (s->maps < MAPS_WORST) {
		if (sp__maps_take(p, MAPS_WORST - s->maps, i) == 0)
			s->maps = MAPS_WORST;
	}
	sp__count(p, SP__C_RESET_FAILURES, 1);
}

/* Retire slot s's affine-hit count into the image it stops mapping. */
static void retire_hits(struct sp__mslot *s)
{
	uint64_t h = atomic_exchange_explicit(&s->hits, 0, memory_order_relaxed);
	if (h && s->img)
		atomic_fetch_add_explicit(&s->img->hits_retired, h, memory_order_relaxed);
}

/*
 * Bring held slot i from what it maps now to img (or zeros) with acc bytes
 * open (acc 0: closed, like a cold slot), changing the mappings in place:
 * a new mapping only where the old image was, zeros by decommit, the open
 * range by guard markers or mprotect. The kernel then merges every piece
 * back into its neighbours (they share one anon_vma), so the count of
 * maps_for holds. A slot marked rebuild is mapped afresh over everything
 * it ever opened; that fresh mapping may stay apart from its neighbours
 * (two more VMAs, counted in `frag` from then on), as may a new mapping in
 * a forked child, whose inherited VMAs never merge with new ones.
 */
static int relayout(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = sp__slot_base(p, i);
	uint64_t ext = max64(max64(s->mapped_hi, s->accessible), acc);
	int g = sp__guarded(p), tracked = p->track == SP_MEMPOOL_TRACK_WRITTEN;
	const sp_image *old = s->rebuild ? NULL : s->img;
	uint64_t old_acc = s->rebuild ? 0 : s->accessible;
	if (s->img_id)
		retire_hits(s);
	/* Whatever happens next, a later rebuild must cover ext. */
	int scratch = s->rebuild;
	s->mapped_hi = ext;
	s->img = NULL;
	atomic_store_explicit(&s->img_id, 0, memory_order_relaxed);
	sp__slot_set_kept(p, i, 0);
	s->rebuild = 1;
	int err = 0;
	if (scratch && ext) {
		/* Registered before the guard markers: a marker gives the VMA
		 * an anon_vma of its own, which would keep it from merging
		 * with its neighbours when it is registered. */
		err = g ? sp__os_map_anon_rw(base, ext) : sp__os_map_anon_none(base, ext);
		if (!err && tracked)
			err = sp__os_track(&p->os, base, ext);
		if (!err && g)
			err = sp__os_guard_install(base, ext);
		s->frag = 2;
	}
	if (!err && old) {
		err = sp__os_map_anon_rw(base + old->offset, old->size);
		if (!err && tracked)
			err = sp__os_track(&p->os, base + old->offset, old->size);
		if (p->forked)
			s->frag = 2;
	}
	if (!err && !scratch && ext)
		err = sp__os_decommit(base, ext); /* anonymous pages back to zeros */
	if (!err && img) {
		err = sp__os_map_file(base + img->offset, img->size, img->fd);
		if (!err && tracked)
			err = sp__os_track(&p->os, base + img->offset, img->size);
	}
	if (!err && acc > old_acc)
		err = sp__slot_open(p, i, old_acc, acc);
	if (!err && acc < old_acc)
		err = sp__slot_close(p, i, acc, old_acc);
	if (!err && tracked)
		err = sp__slot_arm(p, i, 0, acc);
	if (err)
		return err;
	s->img = img;
	atomic_store_explicit(&s->img_id, img ? img->id : 0, memory_order_relaxed);
	s->rebuild = 0;
	s->accessible = s->hw = s->mapped_hi = acc;
	sp__reset_learn_from(p, i, img);
	return 0;
}

int sp__slot_blank(sp_mempool *p, uint32_t i)
{
	int err = relayout(p, i, NULL, 0);
	if (err)
		return err;
	(void)maps_set(p, i, p->slots[i].frag);
	return 0;
}

/* Give slot i fresh content: zeros plus img at its offset, [0, acc)
 * read-write, the rest inaccessible. */
static int remap(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	/* The budget first, so that a refusal leaves the slot as it was. A
	 * rebuild or a forked child may leave two more VMAs. */
	uint32_t want = maps_for(p, img, acc) + (s->rebuild || p->forked ? 2 : s->frag);
	if (!s->rebuild && want > s->maps) {
		if (sp__maps_take(p, want - s->maps, i))
			return SP__EMAPS;
		s->maps = want;
	}
	int err = relayout(p, i, img, acc);
	if (err)
		return err;
	(void)maps_set(p, i, maps_for(p, img, acc) + s->frag);
	sp__count(p, SP__C_REMAPS, 1);
	if (img)
		atomic_fetch_add_explicit(&img->remaps, 1, memory_order_relaxed);
	return 0;
}

int sp__slot_prepare(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	uint64_t id = img ? img->id : 0;
	int err;
	if (s->rebuild || s->img_id != id || (img && (p->flags & SP_MEMPOOL_NO_AFFINITY))) {
		err = remap(p, i, img, acc);
		if (err)
			return err;
	} else {
		if (acc != s->accessible) {
			/* With PROT_NONE guards the open range may split
			 * differently around the image. */
			err = maps_set(p, i, maps_for(p, img, acc) + s->frag);
			if (err)
				return SP__EMAPS;
		}
		if (acc > s->accessible) {
			err = sp__slot_open(p, i, s->accessible, acc);
			if (err)
				return err;
			/* Unarmed pages read as written: arming is only an
			 * optimisation, so its failure is harmless. */
			(void)sp__slot_arm(p, i, s->accessible, acc);
		} else if (acc < s->accessible) {
			err = sp__slot_close(p, i, acc, s->accessible);
			if (err)
				return err;
		}
		if (img) {
			sp__count(p, SP__C_AFFINE_HITS, 1);
			atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
		}
	}
	s->accessible = s->hw = acc;
	s->mapped_hi = max64(s->mapped_hi, acc);
	return 0;
}

int sp__slot_grow(sp_mempool *p, uint32_t i, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	if (acc <= s->accessible)
		return 0;
	if (maps_set(p, i, maps_for(p, s->img, acc) + s->frag))
		return -ENOMEM;
	int err = sp__slot_open(p, i, s->accessible, acc);
	if (err) {
		/* The kernel may have opened part of the range: rebuild the
		 * slot before its next use so no guard stays open. */
		s->mapped_hi = max64(s->mapped_hi, acc);
		s->rebuild = 1;
		return err;
	}
	(void)sp__slot_arm(p, i, s->accessible, acc);
	s->accessible = s->hw = acc;
	s->mapped_hi = max64(s->mapped_hi, acc);
	return 0;
}
