/* SPDX-License-Identifier: MIT */
/*
 * layout.c: what a slot maps, and the system calls that change it.
 *
 * A slot is [0, slot_bytes) of the reservation followed by a guard. Its
 * first `accessible` bytes are read-write: anonymous zeros, with an image's
 * memfd mapped copy-on-write at the image's offset. Everything else faults:
 * guard markers inside one read-write mapping (SP_MEMPOOL_GUARD_INSTALL) or
 * PROT_NONE (SP_MEMPOOL_GUARD_PROT_NONE). The slot's record (types.h) keeps
 * what is mapped (img, accessible, mapped_hi, frag) and whether the layout
 * is unknown after a failure (rebuild).
 *
 * The mappings these changes cost are counted in the slot's `maps`; taking
 * more of them from the budget, and taking warm slots' back when it lacks
 * them, is the business of the callers above (prepare.c, reclaim.c).
 * Here the count only goes down, or up when the budget has room.
 *
 * Locking: none. The caller holds the slot (or has claimed it as a
 * reclaimer), so no other thread touches its record or its range.
 */
#include "layout.h"

#include "counters.h"
#include "kept.h"
#include "maps.h"
#include "reset.h"

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The most a slot in an unknown state (a failed remap) can add: the
 * PROT_NONE split around an image, and a fresh mapping left apart. */
#define MAPS_WORST 6u

/* Move slot i's count of mappings to `want`: give back what it no longer
 * needs; take more only if the budget has room (a blank never needs more
 * than the slot counted before). */
static void maps_settle(sp_mempool *p, uint32_t i, uint32_t want)
{
	struct sp__mslot *s = &p->slots[i];
	if (want > s->maps) {
		if (sp__maps_try_take(p, want - s->maps))
			return;
	} else {
		sp__maps_give(p, s->maps - want);
	}
	s->maps = want;
}

int sp__layout_open(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	char *base = sp__slot_base(p, i);
	if (sp__guarded(p))
		return sp__os_guard_remove(base + from, to - from);
	return sp__os_protect_rw(base + from, to - from);
}

int sp__layout_close(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	char *base = sp__slot_base(p, i);
	if (sp__guarded(p))
		return sp__os_guard_install(base + from, to - from);
	return sp__os_protect_none(base + from, to - from);
}

int sp__layout_arm(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to)
{
	/* Only the kept-resident part is tracked (see reset.c). */
	to = min64(to, p->keep);
	if (p->track != SP_MEMPOOL_TRACK_WRITTEN || from >= to)
		return 0;
	return sp__os_track_clean(&p->os, sp__slot_base(p, i) + from, to - from);
}

void sp__layout_failed(sp_mempool *p, uint32_t i)
{
	struct sp__mslot *s = &p->slots[i];
	s->rebuild = 1;
	sp__kept_set(p, i, 0);
	s->mapped_hi = max64(max64(s->mapped_hi, s->hw), s->accessible);
	/* Whatever is mapped now, a rebuild will bring it down again; until
	 * then count the worst (a budget that cannot cover it stays over
	 * until the rebuild). */
	if (s->maps < MAPS_WORST && sp__maps_try_take(p, MAPS_WORST - s->maps) == 0)
		s->maps = MAPS_WORST;
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
 * From what slot i maps now to img (or zeros) with acc bytes open, changing
 * the mappings in place: a new mapping only where the old image was, zeros
 * by decommit, the open range by guard markers or mprotect. The kernel then
 * merges every piece back into its neighbours (they share one anon_vma), so
 * the count of prepare.c's maps_for holds. A slot marked rebuild is mapped
 * afresh over everything it ever opened; that fresh mapping may stay apart
 * from its neighbours (two more VMAs, counted in `frag` from then on), as
 * may a new mapping in a forked child, whose inherited VMAs never merge
 * with new ones.
 */
int sp__layout_map(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
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
	sp__kept_set(p, i, 0);
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
		err = sp__layout_open(p, i, old_acc, acc);
	if (!err && acc < old_acc)
		err = sp__layout_close(p, i, acc, old_acc);
	if (!err && tracked)
		err = sp__layout_arm(p, i, 0, acc);
	if (err)
		return err;
	s->img = img;
	atomic_store_explicit(&s->img_id, img ? img->id : 0, memory_order_relaxed);
	s->rebuild = 0;
	s->accessible = s->hw = s->mapped_hi = acc;
	sp__reset_learn_from(p, i, img);
	return 0;
}

int sp__layout_blank(sp_mempool *p, uint32_t i)
{
	int err = sp__layout_map(p, i, NULL, 0);
	if (err)
		return err;
	maps_settle(p, i, p->slots[i].frag);
	return 0;
}
