/* SPDX-License-Identifier: MIT */
/*
 * prepare.c: fitting a held slot to its next use. An alloc either finds
 * the slot mapping its image already (an affine hit: at most the open
 * range changes) or remaps it (layout.c); a grow widens the open range of
 * a slot in use.
 *
 * Mappings: each slot records in `maps` how many VMAs it adds to the
 * reservation's one (maps_for: an image mapping splits the reservation
 * into three; with PROT_NONE guards the read-write range splits it too).
 * Before a change that adds VMAs, the difference is taken from the budget
 * (maps.c); when that would pass the limit, warm slots give theirs back
 * first (reclaim.c), and the change is refused only if that is not
 * enough. A refused change is not made: the slot stays as it was.
 *
 * Locking: none of its own. The caller holds the slot; a reclaim it
 * triggers takes reclaim_mu and claims only warm slots, never this one.
 */
#include "prepare.h"

#include "counters.h"
#include "layout.h"
#include "maps.h"
#include "reclaim.h"

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
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

/* Move slot i's count of mappings to `want`, taking the difference from
 * the budget (reclaiming if it must) or giving it back. */
static int maps_set(sp_mempool *p, uint32_t i, uint32_t want)
{
	struct sp__mslot *s = &p->slots[i];
	if (want > s->maps) {
		int err = sp__reclaim_take_maps(p, want - s->maps, i);
		if (err)
			return err;
	} else {
		sp__maps_give(p, s->maps - want);
	}
	s->maps = want;
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
		if (sp__reclaim_take_maps(p, want - s->maps, i))
			return SP__EMAPS;
		s->maps = want;
	}
	int err = sp__layout_map(p, i, img, acc);
	if (err)
		return err;
	(void)maps_set(p, i, maps_for(p, img, acc) + s->frag);
	sp__count(p, SP__C_REMAPS, 1);
	if (img)
		atomic_fetch_add_explicit(&img->remaps, 1, memory_order_relaxed);
	return 0;
}

int sp__prepare_slot(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc)
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
			err = sp__layout_open(p, i, s->accessible, acc);
			if (err)
				return err;
			/* Unarmed pages read as written: arming is only an
			 * optimisation, so its failure is harmless. */
			(void)sp__layout_arm(p, i, s->accessible, acc);
		} else if (acc < s->accessible) {
			err = sp__layout_close(p, i, acc, s->accessible);
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

int sp__prepare_grow(sp_mempool *p, uint32_t i, uint64_t acc)
{
	struct sp__mslot *s = &p->slots[i];
	if (acc <= s->accessible)
		return 0;
	if (maps_set(p, i, maps_for(p, s->img, acc) + s->frag))
		return -ENOMEM;
	int err = sp__layout_open(p, i, s->accessible, acc);
	if (err) {
		/* The kernel may have opened part of the range: rebuild the
		 * slot before its next use so no guard stays open. */
		s->mapped_hi = max64(s->mapped_hi, acc);
		s->rebuild = 1;
		return err;
	}
	(void)sp__layout_arm(p, i, s->accessible, acc);
	s->accessible = s->hw = acc;
	s->mapped_hi = max64(s->mapped_hi, acc);
	return 0;
}
