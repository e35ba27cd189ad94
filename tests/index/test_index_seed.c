/* SPDX-License-Identifier: MIT */
/*
 * test_index_seed.c: the seed's five unit tests (index_allocator.rs), with
 * the same expectations, on a single-shard sp_index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "draw.h"
#include "slotpool.h"

static sp_index *mk(uint32_t cap, uint32_t warm)
{
	sp_index_config cfg = {.capacity = cap, .max_unused_warm_slots = warm, .shards = 1};
	sp_index *ix = NULL;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	assert_non_null(ix);
	return ix;
}

static uint32_t alloc_ok(sp_index *ix, uint64_t key)
{
	uint32_t s = SP_INDEX_NO_SLOT;
	assert_int_equal(sp_index_alloc(ix, key, &s), 0);
	return s;
}

static void free_ok(sp_index *ix, uint32_t s)
{
	assert_int_equal(sp_index_free(ix, s, 0), 0);
	assert_int_equal(sp_index_check(ix), 0);
}

static uint32_t key_warm(sp_index *ix, uint64_t key)
{
	uint32_t n = 0;
	assert_int_equal(sp_index_key_warm_slots(ix, key, &n), 0);
	return n;
}

static uint32_t keys_with_warm(sp_index *ix)
{
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	return st.keys_with_warm;
}

static void test_next_available_allocation_strategy(void **state)
{
	(void)state;
	for (uint32_t size = 0; size < 20; size++) {
		sp_index *ix = mk(size, 0);
		for (uint32_t i = 0; i < size; i++) {
			uint32_t s = SP_INDEX_NO_SLOT;
			assert_int_equal(sp_index_alloc_nokey(ix, &s), 0);
			assert_int_equal(s, i);
		}
		uint32_t s = 12345;
		assert_int_equal(sp_index_alloc_nokey(ix, &s), -ENOSPC);
		assert_int_equal(s, 12345);
		assert_int_equal(sp_index_check(ix), 0);
		sp_index_destroy(ix);
	}
}

static void test_affinity_allocation_strategy(void **state)
{
	(void)state;
	const uint64_t id1 = 1, id2 = 2;
	sp_index *ix = mk(100, 100);

	uint32_t index1 = alloc_ok(ix, id1);
	assert_int_equal(index1, 0);
	uint32_t index2 = alloc_ok(ix, id2);
	assert_int_equal(index2, 1);
	assert_int_not_equal(index1, index2);

	free_ok(ix, index1);
	uint32_t index3 = alloc_ok(ix, id1);
	assert_int_equal(index3, index1);
	free_ok(ix, index3);
	free_ok(ix, index2);

	/* Both id1 and id2 hold slots with affinity. */
	assert_int_equal(keys_with_warm(ix), 2);
	assert_int_equal(key_warm(ix, id1), 1);
	assert_int_equal(key_warm(ix, id2), 1);

	/* One warm slot each and 98 cold: 100 allocs for id2 start with id2's
	 * own slot and use everything. */
	uint32_t indices[100];
	for (int i = 0; i < 100; i++)
		indices[i] = alloc_ok(ix, id2);
	uint32_t s;
	assert_int_equal(sp_index_alloc_nokey(ix, &s), -ENOSPC);
	assert_int_equal(indices[0], index2);
	for (int i = 0; i < 100; i++)
		free_ok(ix, indices[i]);

	/* No slot is left with affinity for id1. */
	assert_int_equal(keys_with_warm(ix), 1);
	assert_int_equal(key_warm(ix, id1), 0);
	assert_int_equal(key_warm(ix, id2), 100);

	/* A key whose list ran empty still gets a slot. */
	uint32_t index = alloc_ok(ix, id1);
	free_ok(ix, index);
	sp_index_destroy(ix);
}

static void test_clear_affine(void **state)
{
	(void)state;
	const uint64_t id = 1;
	for (uint32_t warm = 0; warm <= 2; warm++) {
		sp_index *ix = mk(100, warm);
		uint32_t index1 = alloc_ok(ix, id);
		uint32_t index2 = alloc_ok(ix, id);
		free_ok(ix, index2);
		free_ok(ix, index1);
		uint32_t s = SP_INDEX_NO_SLOT;
		/* Most recently freed first: index1, then index2. */
		assert_int_equal(sp_index_alloc_affine_and_clear(ix, id, &s), 0);
		assert_int_equal(s, index1);
		assert_int_equal(sp_index_alloc_affine_and_clear(ix, id, &s), 0);
		assert_int_equal(s, index2);
		assert_int_equal(sp_index_alloc_affine_and_clear(ix, id, &s), -ENOENT);
		assert_int_equal(s, index2);
		assert_int_equal(sp_index_check(ix), 0);
		sp_index_destroy(ix);
	}
}

static void test_affinity_allocation_strategy_random(void **state)
{
	(void)state;
	uint64_t rng = 42;
	const uint64_t ids[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	sp_index *ix = mk(1000, 1000);
	uint32_t allocated[1000];
	size_t nalloc = 0;
	uint64_t last_id[1000];
	uint8_t has_last[1000] = {0};
	int hits = 0;

	for (int op = 0; op < 100000; op++) {
		for (;;) {
			if (nalloc && (sm_next(&rng) & 1)) {
				size_t i = sm_below(&rng, nalloc);
				uint32_t s = allocated[i];
				allocated[i] = allocated[--nalloc];
				assert_int_equal(sp_index_free(ix, s, 0), 0);
			} else {
				uint64_t id = ids[sm_below(&rng, 10)];
				uint32_t s;
				if (sp_index_alloc(ix, id, &s) != 0)
					continue;
				if (has_last[s] && last_id[s] == id)
					hits++;
				last_id[s] = id;
				has_last[s] = 1;
				allocated[nalloc++] = s;
			}
			break;
		}
	}
	/* 10% reuse would be chance with 10 keys; demand twice that. */
	assert_true(hits > 20000);
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	assert_int_equal(st.affine_hits, (uint64_t)hits);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
}

static void test_affinity_threshold(void **state)
{
	(void)state;
	const uint64_t id1 = 1, id2 = 2, id3 = 3;
	uint64_t next_id = 4;
	sp_index *ix = mk(10, 2);

	assert_int_equal(alloc_ok(ix, id1), 0);
	free_ok(ix, 0);
	assert_int_equal(alloc_ok(ix, id2), 1);
	free_ok(ix, 1);

	/* At the threshold of 2 warm slots: one must be evicted (LRU: 0). */
	assert_int_equal(alloc_ok(ix, id3), 0);
	free_ok(ix, 0);

	/* id2 again: affine. */
	assert_int_equal(alloc_ok(ix, id2), 1);

	/* One warm slot left, below budget: id1 gets a fresh slot. */
	assert_int_equal(alloc_ok(ix, id1), 2);

	free_ok(ix, 1);
	free_ok(ix, 2);

	/* Everything stays affine. */
	assert_int_equal(alloc_ok(ix, id1), 2);
	assert_int_equal(alloc_ok(ix, id2), 1);
	assert_int_equal(alloc_ok(ix, id3), 0);

	free_ok(ix, 1);
	free_ok(ix, 2);
	free_ok(ix, 0);

	/* LRU is 1, then 2. */
	assert_int_equal(alloc_ok(ix, next_id++), 1);
	assert_int_equal(alloc_ok(ix, next_id++), 2);
	/* Below budget again: slot 0 is kept and a cold slot is used. */
	assert_int_equal(alloc_ok(ix, next_id++), 3);

	free_ok(ix, 1);
	free_ok(ix, 2);
	free_ok(ix, 3);

	/* id3 is still affine. */
	assert_int_equal(alloc_ok(ix, id3), 0);
	sp_index_destroy(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_available_allocation_strategy),
		cmocka_unit_test(test_affinity_allocation_strategy),
		cmocka_unit_test(test_clear_affine),
		cmocka_unit_test(test_affinity_allocation_strategy_random),
		cmocka_unit_test(test_affinity_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
