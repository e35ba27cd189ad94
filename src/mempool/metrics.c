/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: sp_mempool_metrics, a pool's stats as Prometheus text or one
 * JSON object (the emitter is src/metrics.c; names in docs/METRICS.md).
 *
 * Per-image series (SP_METRICS_PER_IMAGE) are gathered in one walk over
 * the slots into a table on the stack, so their number is bounded: the
 * SP_MEMPOOL_METRICS_IMAGES images with the most slots (live + warm,
 * ties by id), the rest summed under image="other".
 *
 * Locking: the image walk runs under the pool's mu (the image list); the
 * rest reads the stats (introspect.c) and the slots' atomics.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "types.h"

#define G(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_mempool_" name, key, help, SP__METRIC_GAUGE                              \
	}
#define C(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_mempool_" name "_total", key, help, SP__METRIC_COUNTER                   \
	}

static const struct sp__metric path_info = {
	"slotpool_mempool_path_info", "paths",
	"Kernel feature paths in use (tracking, decommit, guards) and the reset strategy.",
	SP__METRIC_INFO};

static const struct sp__metric families[] = {
	G("slots", "slots", "Slots in the pool."),
	G("in_use_slots", "in_use",
          "Slots handed out, including frees waiting in a decommit batch."),
	G("peak_in_use_slots", "peak_in_use",
          "Most slots in use at once (an upper bound with several shards)."),
	G("warm_slots", "warm", "Freed slots kept warm for their image."),
	G("cold_slots", "cold", "Slots never handed out."),
	G("pending_slots", "pending", "Freed slots waiting for a batched decommit."),
	G("images", "images", "Live images of the pool."),
	G("mappings", "mappings", "Kernel mappings (VMAs) the pool holds."),
	G("process_mappings", "process_mappings", "Kernel mappings all pools of the process hold."),
	G("mappings_limit", "map_limit",
          "Mappings all pools of the process may hold (vm.max_map_count minus the headroom)."),
	G("kernel_mappings_max", "max_map_count",
          "vm.max_map_count, read when the pool was created."),
	G("reservation_bytes", "reservation_bytes", "Address space the pool reserved."),
	G("resident_in_use_bytes", "resident_in_use_bytes",
          "Bytes kept resident by earlier resets in slots now in use."),
	G("resident_warm_bytes", "resident_warm_bytes", "Bytes warm slots keep resident."),
	G("max_resident_bytes", "max_resident_bytes", "Budget of resident_warm_bytes."),
	C("allocs", "allocs", "Successful allocs."),
	C("affine_hits", "affine_hits", "Allocs that reused a slot warm for their image."),
	C("remaps", "remaps", "Allocs that mapped an image or zeros into a slot."),
	C("cold_picks", "cold_picks", "Allocs the index served with a never-used slot."),
	C("warm_steals", "warm_steals", "Allocs the index served with another image's warm slot."),
	C("failed_allocs", "failed_allocs", "Allocs that found every slot in use."),
	C("waits", "waits", "Allocs that waited for a free slot."),
	C("wait_timeouts", "wait_timeouts", "Waits that ended at their deadline."),
	C("mapping_refusals", "map_refusals", "Allocs refused by the mappings budget."),
	C("mapping_reclaims", "map_reclaims",
          "Warm slots whose mappings were taken back for the mappings budget."),
	C("decommit_calls", "decommit_calls", "madvise and process_madvise calls issued."),
	C("decommit_bytes", "decommit_bytes", "Bytes decommitted."),
	C("reset_bytes", "reset_bytes", "Bytes restored in place (copied back or zeroed)."),
	C("reset_failures", "reset_failures",
          "Frees whose reset failed (the slot is rebuilt before reuse)."),
	C("resets_in_place", "resets_in_place", "Frees that restored what was written in place."),
	C("resets_decommit", "resets_decommit", "Frees that decommitted what was written."),
	C("resets_scanned", "resets_scanned",
          "Frees that asked PAGEMAP_SCAN which pages to reset."),
	C("pages_compared", "pages_compared",
          "Pages a reset in place compared with the image or zeros."),
	C("pages_restored", "pages_restored", "Pages that differed and were copied back."),
	C("trimmed_bytes", "trimmed_bytes",
          "Kept bytes nobody wrote lately, decommitted by the adaptive reset."),
	C("budget_reclaims", "budget_reclaims",
          "Warm slots whose kept pages were decommitted for the resident budget or a trim."),
	C("budget_reclaimed_bytes", "budget_bytes", "Bytes those decommits released."),
};

static const struct sp__metric image_families[] = {
	G("image_live_slots", "image_live", "Slots in use allocated with the image."),
	G("image_warm_slots", "image_warm", "Free slots still mapping the image."),
	C("image_affine_hits", "image_affine_hits", "Allocs that found a slot warm for the image."),
	C("image_remaps", "image_remaps", "Allocs that mapped the image into a slot."),
};
#undef G
#undef C

struct img_row {
	uint64_t id;   /* 0: "other" */
	uint64_t v[4]; /* live, warm, hits, remaps */
};

static int row_cmp(const void *a, const void *b)
{
	const struct img_row *x = a, *y = b;
	uint64_t nx = x->v[0] + x->v[1], ny = y->v[0] + y->v[1];
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int id_cmp(const void *a, const void *b)
{
	const struct img_row *x = a, *y = b;
	if (!x->id || !y->id) /* "other" last */
		return !x->id - !y->id;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The per-image table, under mu: every live image's counts, then the
 * SP_MEMPOOL_METRICS_IMAGES with the most slots kept and the rest summed
 * in row n (id 0). Returns the rows to print. */
static size_t image_rows_locked(sp_mempool *p, struct img_row *rows, size_t cap)
{
	size_t n = 0, over = 0;
	struct img_row other = {0, {0, 0, 0, 0}};
	for (const sp_image *img = p->images; img; img = img->next) {
		struct img_row r = {img->id, {0, 0, 0, 0}};
		r.v[2] = atomic_load_explicit(&img->hits_retired, memory_order_relaxed);
		r.v[3] = atomic_load_explicit(&img->remaps, memory_order_relaxed);
		for (uint32_t i = 0; i < p->nslots; i++) {
			const struct sp__mslot *s = &p->slots[i];
			unsigned st = atomic_load_explicit(&s->state, memory_order_relaxed);
			if (st == SP__MS_USED &&
			    atomic_load_explicit(&s->holder, memory_order_relaxed) == img)
				r.v[0]++;
			if (atomic_load_explicit(&s->img_id, memory_order_relaxed) == img->id) {
				r.v[1] += st == SP__MS_FREE;
				r.v[2] += atomic_load_explicit(&s->hits, memory_order_relaxed);
			}
		}
		if (n < cap) {
			rows[n++] = r;
			continue;
		}
		/* Full: keep the larger, sum the smaller into "other". */
		qsort(rows, n, sizeof(*rows), row_cmp);
		struct img_row *drop = row_cmp(&r, &rows[n - 1]) < 0 ? &rows[n - 1] : &r;
		for (int k = 0; k < 4; k++)
			other.v[k] += drop->v[k];
		over++;
		if (drop != &r)
			rows[n - 1] = r;
	}
	qsort(rows, n, sizeof(*rows), id_cmp);
	if (over)
		rows[n++] = other; /* the caller gave cap + 1 rows */
	return n;
}

SP_API int sp_mempool_metrics(sp_mempool *pool, int format, sp_write_fn write, void *ctx)
{
	if (!pool)
		return -EINVAL;
	int per_image = format & SP_METRICS_PER_IMAGE;
	struct sp__metrics m;
	int err = sp__metrics_begin(&m, format & ~SP_METRICS_PER_IMAGE, write, ctx, NULL, 0);
	if (err)
		return err;
	sp_mempool_stats st = {.size = sizeof(st)};
	(void)sp_mempool_get_stats(pool, &st);
	sp__metrics_build_info(&m);
	const struct sp__label paths[] = {
		{"track", sp_mempool_path_name(SP_MEMPOOL_PATH_TRACK, st.track_path), 0},
		{"decommit", sp_mempool_path_name(SP_MEMPOOL_PATH_DECOMMIT, st.decommit_path), 0},
		{"guard", sp_mempool_path_name(SP_MEMPOOL_PATH_GUARD, st.guard_path), 0},
		{"reset", sp_mempool_path_name(SP_MEMPOOL_PATH_RESET, st.reset_path), 0},
	};
	sp__metrics_info(&m, &path_info, paths, 4);
	const uint64_t v[] = {
		st.slots,
		st.in_use,
		st.peak_in_use,
		st.warm,
		st.cold,
		st.pending,
		st.images,
		st.mappings,
		st.process_mappings,
		st.map_limit,
		st.max_map_count,
		st.reservation_bytes,
		st.resident_in_use_bytes,
		st.resident_warm_bytes,
		st.max_resident_bytes,
		st.allocs,
		st.affine_hits,
		st.remaps,
		st.cold_picks,
		st.warm_steals,
		st.failed_allocs,
		st.waits,
		st.wait_timeouts,
		st.map_refusals,
		st.map_reclaims,
		st.decommit_calls,
		st.decommit_bytes,
		st.reset_bytes,
		st.reset_failures,
		st.resets_in_place,
		st.resets_decommit,
		st.resets_scanned,
		st.pages_compared,
		st.pages_restored,
		st.trimmed_bytes,
		st.budget_reclaims,
		st.budget_bytes,
	};
	_Static_assert(sizeof(v) / sizeof(v[0]) == sizeof(families) / sizeof(families[0]),
	               "one value per pool metric");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		sp__metrics_value(&m, &families[i], v[i]);
	if (per_image) {
		struct img_row rows[SP_MEMPOOL_METRICS_IMAGES + 1] = {{0, {0, 0, 0, 0}}};
		pthread_mutex_lock(&pool->mu);
		size_t n = image_rows_locked(pool, rows, SP_MEMPOOL_METRICS_IMAGES);
		pthread_mutex_unlock(&pool->mu);
		for (int f = 0; f < 4; f++) {
			sp__metrics_family(&m, &image_families[f]);
			for (size_t k = 0; k < n; k++) {
				struct sp__label l = {"image", rows[k].id ? NULL : "other",
				                      rows[k].id};
				sp__metrics_sample(&m, &l, 1, rows[k].v[f]);
			}
			sp__metrics_family_end(&m);
		}
	}
	return sp__metrics_end(&m);
}

SP_API int sp_mempool_record(sp_mempool *pool, sp_write_fn write, void *ctx)
{
	if (!pool)
		return -EINVAL;
	return sp_index_record(pool->ix, write, ctx);
}
