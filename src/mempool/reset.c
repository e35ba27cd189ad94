/*
 * reset.c: making a freed slot pristine again, with work that follows what
 * its user wrote.
 *
 * The dirty part of [0, hw) is found by the pool's tracking path: pages
 * written since the last reset (userfaultfd write-protect + PAGEMAP_SCAN),
 * present private pages (PAGEMAP_SCAN), or all of it (high water). Its
 * first keep_resident bytes are restored in place (copied back from the
 * image, or zeroed) and stay resident; the rest is decommitted, now or
 * with the next batch (pool.c). `kept` records the bytes that stay
 * resident, counted from the page tables where PAGEMAP_SCAN can tell.
 *
 * Runs in the freeing thread, which owns the slot; no lock.
 */
#include <string.h>

#include "pool.h"

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
static int count_resident(sp_mempool *p, char *base, uint64_t from, uint64_t to, uint64_t *bytes)
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
int sp__reset(sp_mempool *p, uint32_t i, struct sp__ranges *d)
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
			err = scan_reset(p, s, base, SP__OS_SCAN_WRITTEN, 0, keep, keep, d, &restored);
		/* The written pages are only part of what stays resident. */
		if (!err && keep)
			err = count_resident(p, base, 0, keep, &kept);
		if (!err && hw > keep)
			err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, keep, hw, keep, d, &restored);
	} else {
		err = scan_reset(p, s, base, SP__OS_SCAN_MAPPED, 0, hw, keep, d, &restored);
		/* Private pages below keep were restored, and those restored at
		 * earlier resets are still private: all are found again. */
		kept = min64(restored, keep);
	}
	sp__count(p, SP__C_RESET_BYTES, restored);
	s->kept = kept;
	return err;
}
