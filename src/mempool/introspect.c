/* SPDX-License-Identifier: MIT */
/*
 * introspect.c: what a pool can tell about itself: stats (no system call:
 * counters summed over their stripes, the index's snapshot, the pool's own
 * mapping count), the exhaustion report, and the invariant check for
 * tests.
 *
 * Layout: none of its own; it reads the records of types.h.
 *
 * Locking: each call takes the pool's mu for the image list and the
 * batch, and reads slot states and counters as atomics, so what it reports
 * of a pool in use is a snapshot of no single instant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "kept.h"
#include "maps.h"
#include "sized.h"
#include "types.h"

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
	st.resident_warm_bytes = sp__kept_warm(pool);
	st.max_resident_bytes = pool->max_resident;
	st.reset_path = pool->reset_mode;
	st.peak_in_use = is.peak_in_use;
	st.cold_picks = is.cold_picks;
	st.warm_steals = is.warm_steals;
	st.mappings = (uint32_t)atomic_load_explicit(&pool->maps, memory_order_relaxed);
	st.max_map_count = pool->max_map_count;
	st.map_limit = pool->map_limit;
	st.process_mappings = sp__maps_process();
	st.allocs = sp__counter(pool, SP__C_ALLOCS);
	st.affine_hits = sp__counter(pool, SP__C_AFFINE_HITS);
	st.remaps = sp__counter(pool, SP__C_REMAPS);
	st.failed_allocs = sp__counter(pool, SP__C_NOSPC);
	st.waits = sp__counter(pool, SP__C_WAITS);
	st.wait_timeouts = sp__counter(pool, SP__C_WAIT_TIMEOUTS);
	st.map_refusals = sp__counter(pool, SP__C_MAP_REFUSALS);
	st.map_reclaims = sp__counter(pool, SP__C_MAP_RECLAIMS);
	st.decommit_calls = sp__counter(pool, SP__C_DECOMMIT_CALLS);
	st.decommit_bytes = sp__counter(pool, SP__C_DECOMMIT_BYTES);
	st.reset_bytes = sp__counter(pool, SP__C_RESET_BYTES);
	st.reset_failures = sp__counter(pool, SP__C_RESET_FAILURES);
	st.resident_in_use_bytes = sp__counter(pool, SP__C_RESIDENT_OUT);
	st.resets_in_place = sp__counter(pool, SP__C_RESETS_IN_PLACE);
	st.resets_decommit = sp__counter(pool, SP__C_RESETS_DECOMMIT);
	st.resets_scanned = sp__counter(pool, SP__C_RESETS_SCANNED);
	st.pages_compared = sp__counter(pool, SP__C_PAGES_COMPARED);
	st.pages_restored = sp__counter(pool, SP__C_PAGES_RESTORED);
	st.trimmed_bytes = sp__counter(pool, SP__C_TRIMMED_BYTES);
	st.budget_reclaims = sp__counter(pool, SP__C_BUDGET_RECLAIMS);
	st.budget_bytes = sp__counter(pool, SP__C_BUDGET_BYTES);
	return sp__sized_copy(out, &st, (uint32_t)sizeof(st));
}

SP_API const char *sp_mempool_path_name(int kind, uint32_t value)
{
	static const char *const track[] = {"high_water", "present", "written"};
	static const char *const decommit[] = {"madvise", "process_madvise"};
	static const char *const guard[] = {"prot_none", "guard_install"};
	static const char *const reset[] = {"adaptive", "decommit", "restore"};
	switch (kind) {
	case SP_MEMPOOL_PATH_TRACK:
		return value < 3 ? track[value] : NULL;
	case SP_MEMPOOL_PATH_DECOMMIT:
		return value < 2 ? decommit[value] : NULL;
	case SP_MEMPOOL_PATH_GUARD:
		return value < 2 ? guard[value] : NULL;
	case SP_MEMPOOL_PATH_RESET:
		return value < 3 ? reset[value] : NULL;
	default:
		return NULL;
	}
}

static int cmp_holder(const void *a, const void *b)
{
	const sp_mempool_holder *x = a, *y = b;
	if (x->live != y->live)
		return x->live > y->live ? -1 : 1;
	return x->image_id < y->image_id ? -1 : x->image_id > y->image_id;
}

/* Slots their users hold, per holder: the entry of holder h is h's
 * position in `order` (the live images, then none). */
SP_API int sp_mempool_report(sp_mempool *pool, sp_mempool_holder *out, uint32_t cap,
                             uint32_t *count)
{
	if (!pool || !count || (!out && cap))
		return -EINVAL;
	pthread_mutex_lock(&pool->mu);
	size_t n_img = pool->nimages;
	sp_mempool_holder *h = calloc(n_img + 1, sizeof(*h));
	if (!h) {
		pthread_mutex_unlock(&pool->mu);
		return -ENOMEM;
	}
	uint32_t k = 0;
	for (sp_image *img = pool->images; img; img = img->next)
		h[k++].image_id = img->id;
	/* h[n_img] is "no image"; image ids are sorted descending in the list
	 * (newest first), so a holder's entry is found by binary search. */
	for (uint32_t i = 0; i < pool->nslots; i++) {
		const struct sp__mslot *s = &pool->slots[i];
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != SP__MS_USED)
			continue;
		const sp_image *img = atomic_load_explicit(&s->holder, memory_order_relaxed);
		size_t at = n_img;
		if (img) {
			size_t lo = 0, hi = n_img;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (h[mid].image_id > img->id)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == n_img || h[lo].image_id != img->id)
				continue; /* a racing alloc backing off from a release */
			at = lo;
		}
		h[at].live++;
	}
	pthread_mutex_unlock(&pool->mu);
	uint32_t n = 0;
	for (size_t j = 0; j <= n_img; j++)
		if (h[j].live)
			h[n++] = h[j];
	qsort(h, n, sizeof(*h), cmp_holder);
	if (n && cap)
		memcpy(out, h, sizeof(*h) * (n < cap ? n : cap));
	free(h);
	*count = n;
	return 0;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "sp_mempool_check: " __VA_ARGS__);                         \
			fputc('\n', stderr);                                                       \
			err = -EUCLEAN;                                                            \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static const sp_image *find_live(const sp_mempool *p, uint64_t id)
{
	const sp_image *img = p->images;
	while (img && img->id != id)
		img = img->next;
	return img;
}

SP_API int sp_mempool_check(sp_mempool *pool)
{
	if (!pool)
		return -EINVAL;
	int err = 0;
	pthread_mutex_lock(&pool->mu);
	sp_index_stats is = {.size = sizeof(is)};
	CHECK(sp_index_check(pool->ix) == 0, "index check failed");
	(void)sp_index_get_stats(pool->ix, &is);
	uint32_t held = 0, pending = 0, images = 0;
	uint64_t maps = 1 + pool->nimages; /* the reservation, the images' copies */
	for (const sp_image *img = pool->images; img; img = img->next) {
		CHECK(img->refs > 0 && !atomic_load(&img->dead), "live image %llu has no reference",
		      (unsigned long long)img->id);
		images++;
	}
	CHECK(images == pool->nimages, "%u images listed, %u counted", images, pool->nimages);
	for (const sp_image *img = pool->dead_images; img; img = img->next)
		CHECK(img->refs == 0 && img->fd < 0, "released image %llu still holds its file",
		      (unsigned long long)img->id);
	for (uint32_t i = 0; i < pool->nslots; i++) {
		const struct sp__mslot *s = &pool->slots[i];
		unsigned state = atomic_load(&s->state);
		CHECK(state <= SP__MS_PENDING, "slot %u: bad state %u", i, state);
		held += state != SP__MS_FREE;
		pending += state == SP__MS_PENDING;
		maps += s->maps;
		CHECK(s->accessible <= pool->slot_bytes && s->hw <= pool->slot_bytes,
		      "slot %u: accessible past slot_bytes", i);
		uint64_t id = atomic_load(&s->img_id);
		if (id) {
			/* A slot maps only images that are alive. */
			const sp_image *img = find_live(pool, id);
			CHECK(img && img == s->img, "slot %u maps released image %llu", i,
			      (unsigned long long)id);
		}
		const sp_image *h = atomic_load(&s->holder);
		CHECK(state != SP__MS_FREE || !h, "free slot %u has a holder", i);
		CHECK(!h || find_live(pool, h->id) == h, "slot %u held for a released image", i);
	}
	CHECK(held == is.in_use, "%u slots held, index says %u in use", held, is.in_use);
	CHECK(pending == pool->npend, "%u pending slots, batch holds %u", pending, pool->npend);
	CHECK(maps == atomic_load(&pool->maps), "slots and images count %llu mappings, pool %llu",
	      (unsigned long long)maps, (unsigned long long)atomic_load(&pool->maps));
out:
	pthread_mutex_unlock(&pool->mu);
	return err;
}
