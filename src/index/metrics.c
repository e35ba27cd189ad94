/* SPDX-License-Identifier: MIT */
/*
 * metrics.c: an index's metric families (sp_index_metrics), in the
 * exposition formats of the shared writer (metrics.h), from a stats
 * snapshot (inspect.c). The memory pool's page includes them.
 */
#include "slotpool/index.h"

#include "layout.h"
#include "metrics.h"

static const struct sp__metric index_families[] = {
#define G(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_index_" name, key, help, SP__METRIC_GAUGE                                \
	}
#define C(name, key, help)                                                                         \
	{                                                                                          \
		"slotpool_index_" name "_total", key, help, SP__METRIC_COUNTER                     \
	}
	G("capacity_slots", "capacity", "Slots in the index."),
	G("max_unused_warm_slots", "max_unused_warm_slots",
          "Budget of unused-warm slots (sp_index_config.max_unused_warm_slots)."),
	G("shards", "shards", "Shards of the index."),
	G("in_use_slots", "in_use", "Slots currently in use."),
	G("peak_in_use_slots", "peak_in_use",
          "Most slots in use at once (several shards: the sum of each shard's peak)."),
	G("unused_warm_slots", "unused_warm", "Slots freed and not yet reused (warm)."),
	G("unused_cold_slots", "unused_cold", "Slots never handed out (cold)."),
	G("keys_with_warm", "keys_with_warm",
          "Keys holding at least one warm slot (a key warm in two shards counts twice)."),
	G("unused_resident_bytes", "unused_bytes_resident",
          "Sum of bytes_resident over the warm slots (saturates at 2^64-1)."),
	C("allocs", "allocs", "Successful alloc, alloc_nokey and alloc_affine_and_clear calls."),
	C("frees", "frees", "Slots freed."),
	C("affine_hits", "affine_hits", "Allocs served by the key's own warm slot."),
	C("cold_picks", "cold_picks", "Allocs served by a cold slot."),
	C("warm_steals", "warm_steals", "Allocs served by another key's (or no key's) warm slot."),
	C("clears", "clears", "Successful alloc_affine_and_clear calls."),
	C("failed_allocs", "failed_allocs",
          "alloc and alloc_nokey calls that found every slot in use."),
	C("clear_misses", "clear_misses",
          "alloc_affine_and_clear calls that found no warm slot for the key."),
	G("slot_state_bytes", "slot_state_bytes", "Bytes of per-slot state."),
	G("memory_bytes", "total_bytes", "All bytes the index allocated."),
#undef G
#undef C
};

int sp__index_metrics_emit(sp_index *ix, struct sp__metrics *m)
{
	sp_index_stats st = {.size = sizeof(st)};
	int err = sp_index_get_stats(ix, &st);
	if (err)
		return err;
	const uint64_t v[] = {
		st.capacity,      ix->max_warm,      st.shards,
		st.in_use,        st.peak_in_use,    st.unused_warm,
		st.unused_cold,   st.keys_with_warm, st.unused_bytes_resident,
		st.allocs,        st.frees,          st.affine_hits,
		st.cold_picks,    st.warm_steals,    st.clears,
		st.failed_allocs, st.clear_misses,   st.slot_state_bytes,
		st.total_bytes,
	};
	_Static_assert(sizeof(v) / sizeof(v[0]) ==
	                       sizeof(index_families) / sizeof(index_families[0]),
	               "one value per index metric");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		sp__metrics_value(m, &index_families[i], v[i]);
	return 0;
}

SP_API int sp_index_metrics(sp_index *ix, int format, sp_write_fn write, void *ctx)
{
	struct sp__metrics m;
	if (!ix)
		return -EINVAL;
	int err = sp__metrics_begin(&m, format, write, ctx, NULL, 0);
	if (err)
		return err;
	sp__metrics_build_info(&m);
	err = sp__index_metrics_emit(ix, &m);
	int end = sp__metrics_end(&m);
	return err ? err : end;
}
