/* SPDX-License-Identifier: MIT */
/*
 * reset.c: making a freed slot pristine again, with work that follows what
 * its user wrote. Two strategies:
 *
 * Adaptive (the default; SP_MEMPOOL_RESET_RESTORE forces its restoring
 * side). The pages stay resident and writable and are put back in place:
 * each page that may be dirty is compared with the image (or zeros) and
 * copied back if it differs, so the next user takes no fault and, for a
 * small slot, no system call either. Which pages may be dirty:
 *   - all of [0, hw), read directly (no system call): cost H * c, for H
 *     pages at c per page compared;
 *   - the private pages PAGEMAP_SCAN finds (everything restored at earlier
 *     resets, and what this user wrote): cost S + R * c, for a scan of S
 *     and R private pages.
 * The cheaper is taken, from what this slot measured: S and c are timed
 * (decayed averages), R is the slot's kept pages or its users' changed
 * pages (D, decayed), whichever is larger. The scan sees the pages that
 * reads mapped around (fault-around): they make it slower, and the timing
 * shows it. Kept pages that nobody changes still cost a comparison each
 * reset: when they pass twice the pages users change (plus 16), those
 * not changed this time are decommitted. Without PAGEMAP_SCAN the choice
 * is between comparing all of [0, hw) and decommitting it (a decommit
 * costs MADV_NS now and FAULT_NS for each page the next user writes).
 * Kept bytes are bounded pool-wide by max_resident_bytes (kept.h; pool.c
 * and reclaim.c enforce it).
 *
 * Decommit (SP_MEMPOOL_RESET_DECOMMIT, or keep_resident_bytes > 0). The
 * dirty part of [0, hw) is found by the pool's tracking path: pages written
 * since the last reset (userfaultfd write-protect + PAGEMAP_SCAN), present
 * private pages (PAGEMAP_SCAN), or all of it (high water). Its first
 * keep_resident bytes are restored in place and stay resident; the rest is
 * decommitted, now or with the next batch (pool.c).
 *
 * `kept` records the bytes that stay resident, counted from the page
 * tables where PAGEMAP_SCAN can tell, else the range restored in place.
 *
 * Locking: none. A reset runs in the freeing thread, which owns the slot;
 * the learning starts afresh wherever layout.c maps the slot (for its
 * holder or a reclaimer); sp__decommit touches only counters besides the
 * kernel.
 */
#include "reset.h"

#include <string.h>

#include "clock.h"
#include "counters.h"
#include "kept.h"

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int sp__decommit(sp_mempool *p, const sp__os_range *r, size_t n)
{
	if (!n)
		return 0;
	uint64_t bytes = 0;
	for (size_t k = 0; k < n; k++)
		bytes += r[k].len;
	sp__count(p, SP__C_DECOMMIT_BYTES, bytes);
	if (p->decommit_path == SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE && n > 1) {
		sp__count(p, SP__C_DECOMMIT_CALLS, 1);
		if (sp__os_decommit_many(&p->os, r, n) == 0)
			return 0;
	}
	for (size_t k = 0; k < n; k++) {
		sp__count(p, SP__C_DECOMMIT_CALLS, 1);
		int err = sp__os_decommit(r[k].base, r[k].len);
		if (err)
			return err;
	}
	return 0;
}

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

/* Dirty ranges this close with nothing mapped between them are decommitted
 * as one: zapping empty page table entries costs little, one range less
 * saves a TLB flush and a trip through madvise. */
#define MERGE_GAP ((size_t)64 << 10)

static int push_decommit(sp_mempool *p, struct sp__ranges *d, char *at, size_t len)
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
	if (d->n == sizeof(d->r) / sizeof(d->r[0])) {
		int err = sp__decommit(p, d->r, d->n);
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
 * below keep in place (adding them to *restored), gather the rest in d.
 * *resident gets the bytes of private pages found below keep. */
static int scan_reset(sp_mempool *p, const struct sp__mslot *s, char *base,
                      enum sp__os_scan_mode mode, uint64_t from, uint64_t to, uint64_t keep,
                      struct sp__ranges *d, uint64_t *restored)
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

/* Bytes of private pages (anonymous or copied-on-write) held in memory in
 * [from, to). */
static int count_resident(sp_mempool *p, const char *base, uint64_t from, uint64_t to,
                          uint64_t *bytes)
{
	uintptr_t at = (uintptr_t)base + from, end = (uintptr_t)base + to;
	uint64_t sum = 0;
	while (at < end) {
		sp__os_range r[64];
		size_t n = 0;
		uintptr_t next = end;
		int err = sp__os_scan(&p->os, SP__OS_SCAN_RESIDENT, at, end, r, 64, &n, &next);
		if (err)
			return err;
		for (size_t k = 0; k < n; k++)
			sum += r[k].len;
		if (next <= at)
			return -EIO;
		at = next;
	}
	*bytes = sum;
	return 0;
}

/*
 * Written-page tracking covers only [0, keep): beyond it, pages present
 * and private are exactly the dirty ones (they are all decommitted), so
 * the cheaper scan, which needs no write faults, suffices there.
 */
static int reset_decommit(sp_mempool *p, uint32_t i, struct sp__ranges *d)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = sp__slot_base(p, i);
	uint64_t hw = s->hw, keep = min64(p->keep, hw), restored = 0, kept = keep;
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
			err = scan_reset(p, s, base, SP__OS_SCAN_WRITTEN, 0, keep, keep, d,
			                 &restored);
		/* The written pages are only part of what stays resident. */
		if (!err && keep)
			err = count_resident(p, base, 0, keep, &kept);
		if (!err && hw > keep)
			err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, keep, hw, keep, d,
			                 &restored);
	} else {
		err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, 0, hw, keep, d, &restored);
		/* Private pages below keep were restored, and those restored at
		 * earlier resets are still private: all are found again. */
		kept = min64(restored, keep);
	}
	sp__count(p, SP__C_RESET_BYTES, restored);
	sp__count(p, SP__C_RESETS_DECOMMIT, 1);
	sp__kept_set(p, i, kept);
	return err;
}

/* ---- adaptive -------------------------------------------------------------- */

/* The model's constants for what it cannot time without paying for it. */
#define FAULT_NS 2500u /* a copy-on-write fault of the next user */
#define MADV_NS 1500u  /* one madvise(MADV_DONTNEED) */
#define SCAN_NS_START 1000u
/* What a scan spends on each mapped page it walks (measured: ~35 ns). */
#define WALK_PS 35000u
/* One reset in this many scans although reading directly looked cheaper,
 * so that the scan's measurement stays current (the other way needs no
 * trial: a direct read costs H pages at the compare rate, which every
 * direct reset of the slot measures; and a trial read of a large slot
 * would map every page of it, making its later scans slower). */
#define EXPLORE 32u
#define CMP_PS_START 100000u /* 100 ns a page */
#define TRIM_SLACK 16u       /* kept pages tolerated beyond twice D */

/* Pristine content of a page past an image: zeros (never written, so
 * the kernel backs it with the shared zero page). */
static const unsigned char zero_page[65536];

/* Decayed average, weight 1/4 for the new value. */
static inline uint32_t ewma(uint32_t avg, uint64_t v)
{
	uint64_t n = ((uint64_t)avg * 3 + v) / 4;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* The same for a time, a sample counted at most 4 times the average: one
 * preemption (milliseconds) must not turn the model for a hundred resets. */
static inline uint32_t ewma_time(uint32_t avg, uint64_t v)
{
	if (avg && v > 4 * (uint64_t)avg)
		v = 4 * (uint64_t)avg;
	return ewma(avg, v);
}

struct runs {
	uint64_t a[32], b[32]; /* unchanged runs [a, b), slot offsets */
	size_t n;
};

/* Compare-restore the pages of [a, b) (page aligned) of slot s: each page
 * that differs from the pristine content is copied back. Returns the pages
 * that differed; runs of unchanged pages go to u (when it has room). */
static uint64_t restore_changed(const struct sp__mslot *s, char *base, uint64_t a, uint64_t b,
                                size_t pg, struct runs *u)
{
	const sp_image *img = s->img;
	uint64_t io = img ? img->offset : 0, ie = img ? img->offset + img->size : 0;
	uint64_t changed = 0, run = UINT64_MAX;
	for (uint64_t off = a; off < b; off += pg) {
		const void *src = (img && off >= io && off < ie)
		                          ? (const char *)img->src + (off - io)
		                          : (const void *)zero_page;
		if (memcmp(base + off, src, pg) != 0) {
			memcpy(base + off, src, pg);
			changed++;
			if (run != UINT64_MAX && u && u->n < 32) {
				u->a[u->n] = run;
				u->b[u->n++] = off;
			}
			run = UINT64_MAX;
		} else if (run == UINT64_MAX) {
			run = off;
		}
	}
	if (run != UINT64_MAX && u && u->n < 32) {
		u->a[u->n] = run;
		u->b[u->n++] = b;
	}
	return changed;
}

void sp__reset_learn_from(sp_mempool *p, uint32_t i, const sp_image *img)
{
	struct sp__mslot *s = &p->slots[i];
	s->dirty16 = img ? atomic_load_explicit(&img->dirty16, memory_order_relaxed)
	                 : atomic_load_explicit(&p->nokey_dirty16, memory_order_relaxed);
	s->resets = 0;
	s->priv = 0;
	if (!s->scan_ns)
		s->scan_ns = SCAN_NS_START;
	if (!s->cmp_ps)
		s->cmp_ps = CMP_PS_START;
}

static int reset_adaptive(sp_mempool *p, uint32_t i, struct sp__ranges *d)
{
	struct sp__mslot *s = &p->slots[i];
	char *base = sp__slot_base(p, i);
	size_t pg = p->pg;
	uint64_t hw = s->hw, H = hw / pg, K = s->priv, D = s->dirty16 / 16;
	d->n = 0;
	d->barrier = 0;
	if (!H) {
		sp__kept_set(p, i, 0);
		s->priv = 0;
		return 0;
	}
	int restore_only = p->reset_mode == SP_MEMPOOL_RESET_PATH_RESTORE;
	int can_scan = p->track == SP_MEMPOOL_TRACK_PRESENT;
	/* Costs in picoseconds; a system call also costs the other threads
	 * of the process (its locks, its TLB shootdowns): an eighth more. */
	uint64_t c = s->cmp_ps ? s->cmp_ps : CMP_PS_START;
	uint64_t direct = H * c;
	/* A scan costs its base and a walk of the mapped pages. Estimate it
	 * as it would be once scanning: only the private pages mapped. Reads
	 * of a direct reset map every page, so a trial scan then costs more
	 * than scanning would: trials only ever lower the base; scans the
	 * model chose set it (a decayed average). */
	uint64_t R = K > D ? K : D;
	uint64_t scan = (uint64_t)s->scan_ns * 1125 + R * (c + WALK_PS);
	/* A fifth of hysteresis: the two ways often cost about the same, and
	 * switching back and forth on noise costs more than either. */
	int use_scan = can_scan && (restore_only  ? H > 1
	                            : s->scanning ? scan < direct + direct / 4
	                                          : scan + scan / 4 < direct);
	int trial = can_scan && !use_scan && s->resets % EXPLORE == EXPLORE / 2;
	use_scan |= trial;
	if (!can_scan && !restore_only && direct > (uint64_t)MADV_NS * 1000 + D * FAULT_NS * 1000) {
		/* Cheaper to drop it all and let the next user fault in what
		 * it writes. */
		sp__count(p, SP__C_RESETS_DECOMMIT, 1);
		sp__kept_set(p, i, 0);
		s->priv = 0;
		d->r[0].base = base;
		d->r[0].len = hw;
		d->n = 1;
		return 0;
	}

	/* The comparison is timed one reset in eight: reading the clock
	 * costs more than a few compared pages. */
	int timed = !use_scan && (s->resets & 7) == 0;
	uint64_t t0 = timed ? sp__now_ns() : 0, compared = 0, changed = 0, priv = 0;
	struct runs u = {.n = 0}, gaps = {.n = 0};
	int err = 0;
	if (use_scan) {
		uintptr_t at = (uintptr_t)base, end = (uintptr_t)base + hw;
		uint64_t scan_ns = 0, prev = 0;
		while (!err && at < end) {
			sp__os_range r[64];
			size_t n = 0;
			uintptr_t next = end;
			uint64_t ts = sp__now_ns();
			err = sp__os_scan(&p->os, SP__OS_SCAN_PRIVATE, at, end, r, 64, &n, &next);
			scan_ns += sp__now_ns() - ts;
			for (size_t k = 0; !err && k < n; k++) {
				uint64_t a = (uint64_t)((char *)r[k].base - base), b = a + r[k].len;
				changed += restore_changed(s, base, a, b, pg, &u);
				compared += (b - a) / pg;
				if (a > prev && gaps.n < 32) {
					gaps.a[gaps.n] = prev;
					gaps.b[gaps.n++] = a;
				}
				prev = b;
			}
			if (!err && next <= at)
				err = -EIO; /* the kernel made no progress */
			at = next;
		}
		if (hw > prev && gaps.n < 32) {
			gaps.a[gaps.n] = prev;
			gaps.b[gaps.n++] = hw;
		}
		priv = compared;
		uint64_t walk = compared * WALK_PS / 1000,
			 own = scan_ns > walk ? scan_ns - walk : 0;
		/* The first reset after a remap runs on cold caches and page
		 * tables just built: not what the next ones will cost. */
		if (!trial && s->resets)
			s->scan_ns = ewma_time(s->scan_ns, own);
		else if (own < s->scan_ns)
			s->scan_ns = (uint32_t)own;
		s->priv = (uint32_t)priv;
		s->scanning = !trial;
		sp__count(p, SP__C_RESETS_SCANNED, 1);
	} else {
		changed = restore_changed(s, base, 0, hw, pg, NULL);
		compared = H;
		/* Not counted: every page compared may be private, but the model
		 * keeps what it knows (a wrong guess costs one scan). */
		priv = H;
		s->priv = (uint32_t)(changed > K ? changed : K);
		s->scanning = 0;
	}
	if (err)
		return err;
	if (timed && compared)
		s->cmp_ps = ewma_time(s->cmp_ps, (sp__now_ns() - t0) * 1000 / compared);
	s->dirty16 = ewma(s->dirty16, changed * 16);
	sp__count(p, SP__C_RESETS_IN_PLACE, 1);
	sp__count(p, SP__C_PAGES_COMPARED, compared);
	sp__count(p, SP__C_PAGES_RESTORED, changed);
	sp__count(p, SP__C_RESET_BYTES, changed * pg);

	/* Kept pages nobody changes: drop those not changed this time. */
	uint64_t D2 = s->dirty16 / 16;
	if (use_scan && !restore_only && priv > 2 * D2 + TRIM_SLACK) {
		uint64_t trimmed = 0;
		for (size_t k = 0; !err && k < u.n; k++) {
			err = push_decommit(p, d, base + u.a[k], u.b[k] - u.a[k]);
			trimmed += u.b[k] - u.a[k];
		}
		if (err)
			return err;
		priv -= trimmed / pg;
		s->priv = (uint32_t)priv;
		sp__count(p, SP__C_TRIMMED_BYTES, trimmed);
	}
	/* A trial scan from direct resets found the slot mostly clean: the
	 * direct reads mapped every page, which makes every scan walk them.
	 * Unmap the clean ones (their content is the image or zeros: the next
	 * user faults them back if it reads them), so that scanning costs
	 * what it costs once chosen, and let the model choose it. */
	if (trial && priv * 4 <= H && gaps.n < 32 &&
	    (uint64_t)s->scan_ns * 1125 + priv * (c + WALK_PS) < direct) {
		for (size_t k = 0; !err && k < gaps.n; k++) {
			d->barrier = 1; /* never merged across the private pages */
			err = push_decommit(p, d, base + gaps.a[k], gaps.b[k] - gaps.a[k]);
		}
		if (err)
			return err;
		s->scanning = 1;
	}
	sp__kept_set(p, i, priv * pg);
	/* Share what was learnt with the slots the image maps next. */
	if ((++s->resets & 7) == 1) {
		if (s->img)
			atomic_store_explicit(&s->img->dirty16, s->dirty16, memory_order_relaxed);
		else
			atomic_store_explicit(&p->nokey_dirty16, s->dirty16, memory_order_relaxed);
	}
	return 0;
}

int sp__reset(sp_mempool *p, uint32_t i, struct sp__ranges *d)
{
	if (p->reset_mode == SP_MEMPOOL_RESET_PATH_DECOMMIT)
		return reset_decommit(p, i, d);
	return reset_adaptive(p, i, d);
}
