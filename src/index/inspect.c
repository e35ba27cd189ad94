/* SPDX-License-Identifier: MIT */
/*
 * inspect.c: what an index says about itself: sp_index_get_stats,
 * sp_index_key_warm_slots, sp_index_slot_state and the invariant checker
 * sp_index_check. Each takes one shard lock at a time (the checker's
 * summary check takes them all), reads through the policy's inspection
 * functions (policy.h), and changes nothing.
 */
#include "slotpool/index.h"

#include <errno.h>
#include <stdio.h>

#include "layout.h"
#include "lock.h"
#include "policy.h"
#include "sized.h"

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t s;
	return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

SP_API int sp_index_get_stats(sp_index *ix, sp_index_stats *out)
{
	if (!ix || !out || out->size < SP__SIZED_MIN)
		return -EINVAL;
	sp_index_stats st = {.size = sizeof(st)};
	st.capacity = ix->capacity;
	st.shards = ix->nshards;
	st.failed_allocs = atomic_load_explicit(&ix->failed_allocs, memory_order_relaxed);
	st.clear_misses = atomic_load_explicit(&ix->clear_misses, memory_order_relaxed);
	st.total_bytes = sizeof(*ix) + sizeof(struct sp__shard) * ix->nshards;
	if (ix->nshards > 1)
		st.total_bytes += (uint64_t)(ix->hint.mask + 1) * ix->nshards;
	for (uint32_t j = 0; j < ix->nshards; j++) {
		struct sp__shard *sh = &ix->shards[j];
		const struct sp__policy *p = &sh->pol;
		sp__lock_acquire(&sh->lock);
		uint32_t in_use = sp__policy_in_use(p);
		st.in_use += in_use;
		st.peak_in_use += in_use > p->peak_in_use ? in_use : p->peak_in_use;
		st.unused_warm += p->unused_warm;
		st.unused_cold += p->capacity - p->next_cold;
		st.keys_with_warm += sp__policy_keys(p); /* a key warm in 2 shards counts twice */
		st.unused_bytes_resident = add_sat(st.unused_bytes_resident, p->unused_bytes);
		st.allocs += sp__policy_allocs(p);
		st.frees += p->frees;
		st.affine_hits += p->affine_hits;
		st.cold_picks += p->cold_picks;
		st.warm_steals += p->warm_steals;
		st.clears += p->clears;
		st.failed_allocs += p->failed_allocs;
		st.clear_misses += p->clear_misses;
		sp__lock_release(&sh->lock);
		uint64_t slots = sp__policy_slot_bytes(p);
		st.slot_state_bytes += slots;
		st.total_bytes += slots + sp__policy_key_bytes(p);
	}
	return sp__sized_copy(out, &st, (uint32_t)sizeof(st));
}

SP_API int sp_index_key_warm_slots(sp_index *ix, uint64_t key, uint32_t *count)
{
	if (!ix || !count)
		return -EINVAL;
	uint32_t n = 0;
	for (uint32_t j = 0; j < ix->nshards; j++) {
		struct sp__shard *sh = &ix->shards[j];
		sp__lock_acquire(&sh->lock);
		n += sp__policy_key_warm(&sh->pol, key);
		sp__lock_release(&sh->lock);
	}
	*count = n;
	return 0;
}

SP_API int sp_index_slot_state(sp_index *ix, uint32_t slot, int *state, uint64_t *key)
{
	if (!ix || !state || slot >= ix->capacity)
		return -EINVAL;
	struct sp__shard *sh = sp__owner(ix, slot);
	sp__lock_acquire(&sh->lock);
	int st = sp__policy_slot_state(&sh->pol, slot - sh->base, key);
	sp__lock_release(&sh->lock);
	*state = st;
	return 0;
}

/* The summary must count, per cell and shard, exactly the keys of that
 * shard's key table (or be stuck at 255). */
struct hint_walk {
	const struct sp__hint *hint;
	uint32_t shard;
};

static int key_in_summary(void *ctx, uint64_t key)
{
	const struct hint_walk *w = ctx;
	if (sp__hint_maybe(w->hint, sp__hint_cell(w->hint, key), w->shard))
		return 0;
	fprintf(stderr, "sp_index_check: shard %u key %#llx missing from the summary\n", w->shard,
	        (unsigned long long)key);
	return -EUCLEAN;
}

static int check_hint(sp_index *ix)
{
	for (uint32_t j = 0; j < ix->nshards; j++) {
		const struct sp__policy *p = &ix->shards[j].pol;
		uint64_t total = 0, stuck = 0;
		for (uint32_t c = 0; c <= ix->hint.mask; c++) {
			unsigned v = atomic_load_explicit(sp__hint_at(&ix->hint, c, j),
			                                  memory_order_relaxed);
			total += v;
			stuck += v == 255;
		}
		struct hint_walk w = {&ix->hint, j};
		int err = sp__policy_each_key(p, key_in_summary, &w);
		if (err)
			return err;
		if (!stuck && total != sp__policy_keys(p)) {
			fprintf(stderr,
			        "sp_index_check: shard %u summary counts %llu keys, "
			        "table holds %u\n",
			        j, (unsigned long long)total, sp__policy_keys(p));
			return -EUCLEAN;
		}
	}
	return 0;
}

SP_API int sp_index_check(sp_index *ix)
{
	if (!ix)
		return -EINVAL;
	int err = 0;
	uint32_t expect_base = 0;
	for (uint32_t j = 0; j < ix->nshards && !err; j++) {
		struct sp__shard *sh = &ix->shards[j];
		if (sh->base != expect_base) {
			fprintf(stderr, "sp_index_check: shard %u base %u, expected %u\n", j,
			        sh->base, expect_base);
			return -EUCLEAN;
		}
		expect_base += sh->pol.capacity;
		sp__lock_acquire(&sh->lock);
		err = sp__policy_check(&sh->pol);
		sp__lock_release(&sh->lock);
	}
	if (!err && expect_base != ix->capacity) {
		fprintf(stderr, "sp_index_check: shards cover %u slots of %u\n", expect_base,
		        ix->capacity);
		return -EUCLEAN;
	}
	if (!err && ix->nshards > 1) {
		sp__lock_shards(ix);
		err = check_hint(ix);
		sp__unlock_shards(ix);
	}
	return err;
}
