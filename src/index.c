/*
 * index.c: the public sp_index API: argument checks, the lock, and the
 * snapshot queries, around the lock-free policy engine of policy.c.
 *
 * Locking: one sp__lock per index, on its own cache line, held for each
 * call's policy work and nothing else (no allocation, no syscall inside).
 */
#include "slotpool/index.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "policy.h"

struct sp_index {
	alignas(64) sp__lock lock;
	struct sp__policy pol;
};

SP_API int sp_index_create(const sp_index_config *cfg, sp_index **out)
{
	if (!cfg || !out || cfg->capacity > SP_INDEX_MAX_CAPACITY || cfg->shards > 1 || cfg->flags)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
		if (cfg->reserved[i])
			return -EINVAL;

	sp_index *ix = aligned_alloc(64, (sizeof(*ix) + 63) & ~(size_t)63);
	if (!ix)
		return -ENOMEM;
	memset(ix, 0, sizeof(*ix));
	uint32_t warm = cfg->max_unused_warm_slots;
	int err = sp__policy_init(&ix->pol, cfg->capacity, warm);
	if (err) {
		free(ix);
		return err;
	}
	sp__lock_init(&ix->lock);
	*out = ix;
	return 0;
}

SP_API void sp_index_destroy(sp_index *ix)
{
	if (!ix)
		return;
	sp__policy_fini(&ix->pol);
	free(ix);
}

SP_API int sp_index_alloc(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	sp__lock_acquire(&ix->lock);
	uint32_t s = sp__policy_alloc_key(&ix->pol, key);
	sp__lock_release(&ix->lock);
	if (s == SP__NIL)
		return -ENOSPC;
	*slot = s;
	return 0;
}

SP_API int sp_index_alloc_nokey(sp_index *ix, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	sp__lock_acquire(&ix->lock);
	uint32_t s = sp__policy_alloc_nokey(&ix->pol);
	sp__lock_release(&ix->lock);
	if (s == SP__NIL)
		return -ENOSPC;
	*slot = s;
	return 0;
}

SP_API int sp_index_alloc_affine_and_clear(sp_index *ix, uint64_t key, uint32_t *slot)
{
	if (!ix || !slot)
		return -EINVAL;
	sp__lock_acquire(&ix->lock);
	uint32_t s = sp__policy_alloc_clear(&ix->pol, key);
	sp__lock_release(&ix->lock);
	if (s == SP__NIL)
		return -ENOENT;
	*slot = s;
	return 0;
}

SP_API int sp_index_free(sp_index *ix, uint32_t slot, uint64_t bytes_resident)
{
	if (!ix)
		return -EINVAL;
	int err;
	uint64_t sum;
	sp__lock_acquire(&ix->lock);
	err = sp__policy_can_free(&ix->pol, slot);
	if (!err && __builtin_add_overflow(ix->pol.unused_bytes, bytes_resident, &sum))
		err = -EOVERFLOW;
	if (!err)
		sp__policy_free(&ix->pol, slot, bytes_resident);
	sp__lock_release(&ix->lock);
	return err;
}

/* Marks slot as listed in the batch (a second listing then fails
 * can_free), or restores it. */
static void batch_mark(struct sp__policy *p, uint32_t s, int on)
{
	uint32_t *tag = &p->slots[s].aff_prev;
	if (on)
		*tag = *tag == SP__TAG_USED_KEY ? SP__TAG_PENDING_KEY : SP__TAG_PENDING_NOKEY;
	else
		*tag = *tag == SP__TAG_PENDING_KEY ? SP__TAG_USED_KEY : SP__TAG_USED_NOKEY;
}

SP_API int sp_index_free_many(sp_index *ix, const uint32_t *slots, const uint64_t *bytes_resident,
                              size_t n)
{
	if (!ix || (!slots && n))
		return -EINVAL;
	struct sp__policy *p = &ix->pol;
	int err = 0;
	size_t i;
	sp__lock_acquire(&ix->lock);
	uint64_t sum = p->unused_bytes;
	for (i = 0; i < n; i++) {
		err = sp__policy_can_free(p, slots[i]);
		if (!err && bytes_resident && __builtin_add_overflow(sum, bytes_resident[i], &sum))
			err = -EOVERFLOW;
		if (err)
			break;
		batch_mark(p, slots[i], 1);
	}
	if (err) {
		while (i--)
			batch_mark(p, slots[i], 0);
	} else {
		for (i = 0; i < n; i++) {
			batch_mark(p, slots[i], 0);
			sp__policy_free(p, slots[i], bytes_resident ? bytes_resident[i] : 0);
		}
	}
	sp__lock_release(&ix->lock);
	return err;
}

SP_API int sp_index_get_stats(sp_index *ix, sp_index_stats *out)
{
	if (!ix || !out)
		return -EINVAL;
	const struct sp__policy *p = &ix->pol;
	sp_index_stats st = {0};
	sp__lock_acquire(&ix->lock);
	st.capacity = p->capacity;
	st.in_use = (uint32_t)(p->allocs - p->frees);
	st.unused_warm = p->unused_warm;
	st.unused_cold = p->capacity - p->next_cold;
	st.keys_with_warm = p->keys.count;
	st.shards = 1;
	st.unused_bytes_resident = p->unused_bytes;
	st.allocs = p->allocs;
	st.frees = p->frees;
	st.affine_hits = p->affine_hits;
	st.cold_picks = p->cold_picks;
	st.warm_steals = p->warm_steals;
	st.clears = p->clears;
	st.failed_allocs = p->failed_allocs;
	st.clear_misses = p->clear_misses;
	sp__lock_release(&ix->lock);
	st.slot_state_bytes = (uint64_t)p->capacity * sizeof(struct sp__slot);
	st.total_bytes = sizeof(*ix) + st.slot_state_bytes +
	                 (uint64_t)p->keys.n * sizeof(struct sp__keyent);
	*out = st;
	return 0;
}

SP_API int sp_index_key_warm_slots(sp_index *ix, uint64_t key, uint32_t *count)
{
	if (!ix || !count)
		return -EINVAL;
	sp__lock_acquire(&ix->lock);
	*count = sp__policy_key_warm(&ix->pol, key);
	sp__lock_release(&ix->lock);
	return 0;
}

SP_API int sp_index_slot_state(sp_index *ix, uint32_t slot, int *state, uint64_t *key)
{
	if (!ix || !state || slot >= ix->pol.capacity)
		return -EINVAL;
	const struct sp__policy *p = &ix->pol;
	sp__lock_acquire(&ix->lock);
	int st = SP_SLOT_COLD;
	if (slot < p->next_cold) {
		const struct sp__slot *r = &p->slots[slot];
		if (r->aff_prev == SP__TAG_USED_KEY) {
			st = SP_SLOT_USED_KEY;
			if (key)
				*key = r->word;
		} else if (r->aff_prev == SP__TAG_USED_NOKEY) {
			st = SP_SLOT_USED;
		} else if (r->aff_prev == SP__TAG_WARM_NOKEY) {
			st = SP_SLOT_WARM;
		} else {
			st = SP_SLOT_WARM_KEY;
			if (key)
				*key = sp__policy_warm_key(p, slot);
		}
	}
	sp__lock_release(&ix->lock);
	*state = st;
	return 0;
}

SP_API int sp_index_check(sp_index *ix)
{
	if (!ix)
		return -EINVAL;
	sp__lock_acquire(&ix->lock);
	int err = sp__policy_check(&ix->pol);
	sp__lock_release(&ix->lock);
	return err;
}
