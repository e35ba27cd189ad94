/* SPDX-License-Identifier: MIT */
/*
 * test_index_misuse.c: every caller mistake gets its error code, and the
 * index is exactly as it was before the call (slot by slot).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slotpool.h"

#define CAP 16

/* Everything observable about an index. */
typedef struct {
	sp_index_stats st;
	int state[CAP];
	uint64_t key[CAP];
	uint32_t key_warm[8];
} snap;

static void take_snap(sp_index *ix, snap *s)
{
	memset(s, 0, sizeof(*s));
	s->st.size = sizeof(s->st);
	assert_int_equal(sp_index_get_stats(ix, &s->st), 0);
	for (uint32_t i = 0; i < s->st.capacity && i < CAP; i++)
		assert_int_equal(sp_index_slot_state(ix, i, &s->state[i], &s->key[i]), 0);
	for (uint64_t k = 0; k < 8; k++)
		assert_int_equal(sp_index_key_warm_slots(ix, k, &s->key_warm[k]), 0);
	assert_int_equal(sp_index_check(ix), 0);
}

static void assert_same(const snap *a, const snap *b)
{
	assert_memory_equal(a, b, sizeof(*a));
}

/* An index with a mix of states: slots 0..5 used (keys 0,1,2,0,none,
 * UINT64_MAX), 6..9 warm, the rest cold. */
static sp_index *mixed(void)
{
	sp_index_config cfg = {.capacity = CAP, .max_unused_warm_slots = 8};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	uint32_t s;
	const uint64_t keys[] = {0, 1, 2, 0, 9, UINT64_MAX, 3, 4, 0, 1};
	for (int i = 0; i < 10; i++) {
		if (i == 4)
			assert_int_equal(sp_index_alloc_nokey(ix, &s), 0);
		else
			assert_int_equal(sp_index_alloc(ix, keys[i], &s), 0);
		assert_int_equal(s, (uint32_t)i);
	}
	for (uint32_t i = 6; i < 10; i++)
		assert_int_equal(sp_index_free(ix, i, 4096), 0);
	return ix;
}

static void test_create_errors(void **state)
{
	(void)state;
	sp_index *ix = (sp_index *)&ix; /* sentinel: must stay untouched */
	sp_index *const sentinel = ix;
	sp_index_config cfg = {.capacity = 4};
	assert_int_equal(sp_index_create(NULL, &ix), -EINVAL);
	assert_int_equal(sp_index_create(&cfg, NULL), -EINVAL);
	cfg.capacity = SP_INDEX_MAX_CAPACITY + 1;
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	cfg.capacity = 4;
	cfg.shards = 5; /* more shards than slots */
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	cfg.capacity = 1000;
	cfg.shards = SP_INDEX_MAX_SHARDS + 1;
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	cfg.capacity = 4;
	cfg.shards = 0;
	cfg.flags = 2; /* the first undefined flag */
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	cfg.flags = UINT32_C(1) << 31 | SP_INDEX_HOME_AFFINITY;
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	cfg.flags = 0;
	cfg.reserved[3] = 1;
	assert_int_equal(sp_index_create(&cfg, &ix), -EINVAL);
	assert_ptr_equal(ix, sentinel);

	/* All-zero config: a valid, empty index. */
	sp_index_config zero = {0};
	assert_int_equal(sp_index_create(&zero, &ix), 0);
	uint32_t s = 7;
	assert_int_equal(sp_index_alloc(ix, 1, &s), -ENOSPC);
	assert_int_equal(sp_index_alloc_nokey(ix, &s), -ENOSPC);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 1, &s), -ENOENT);
	assert_int_equal(sp_index_free(ix, 0, 0), -EINVAL);
	assert_int_equal(s, 7);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
	sp_index_destroy(NULL);
}

static void test_null_arguments(void **state)
{
	(void)state;
	sp_index *ix = mixed();
	snap a, b;
	take_snap(ix, &a);
	uint32_t s;
	sp_index_stats st = {.size = sizeof(st)};
	int stt;
	assert_int_equal(sp_index_alloc(NULL, 1, &s), -EINVAL);
	assert_int_equal(sp_index_alloc(ix, 1, NULL), -EINVAL);
	assert_int_equal(sp_index_alloc_nokey(NULL, &s), -EINVAL);
	assert_int_equal(sp_index_alloc_nokey(ix, NULL), -EINVAL);
	assert_int_equal(sp_index_alloc_affine_and_clear(NULL, 3, &s), -EINVAL);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 3, NULL), -EINVAL);
	assert_int_equal(sp_index_free(NULL, 0, 0), -EINVAL);
	assert_int_equal(sp_index_free_many(NULL, &s, NULL, 1), -EINVAL);
	assert_int_equal(sp_index_free_many(ix, NULL, NULL, 1), -EINVAL);
	assert_int_equal(sp_index_get_stats(NULL, &st), -EINVAL);
	assert_int_equal(sp_index_get_stats(ix, NULL), -EINVAL);
	assert_int_equal(sp_index_key_warm_slots(ix, 1, NULL), -EINVAL);
	assert_int_equal(sp_index_slot_state(ix, 0, NULL, NULL), -EINVAL);
	assert_int_equal(sp_index_slot_state(ix, CAP, &stt, NULL), -EINVAL);
	assert_int_equal(sp_index_check(NULL), -EINVAL);
	take_snap(ix, &b);
	assert_same(&a, &b);
	sp_index_destroy(ix);
}

static void test_free_errors_leave_state_intact(void **state)
{
	(void)state;
	sp_index *ix = mixed();
	snap a, b;
	take_snap(ix, &a);
	assert_int_equal(sp_index_free(ix, CAP, 0), -EINVAL);        /* out of range */
	assert_int_equal(sp_index_free(ix, UINT32_MAX, 0), -EINVAL); /* far out */
	assert_int_equal(sp_index_free(ix, 12, 0), -EINVAL);         /* cold */
	assert_int_equal(sp_index_free(ix, 7, 0), -EINVAL);          /* double free */
	/* Overflow of the resident byte sum (4 warm slots hold 4 x 4096). */
	assert_int_equal(sp_index_free(ix, 0, UINT64_MAX - 4096), -EOVERFLOW);
	take_snap(ix, &b);
	assert_same(&a, &b);
	sp_index_destroy(ix);
}

static void test_free_many_validates_whole_batch(void **state)
{
	(void)state;
	sp_index *ix = mixed();
	snap a, b;
	take_snap(ix, &a);
	const uint32_t bad_last[] = {0, 1, 2, 12};
	const uint32_t dup[] = {0, 1, 0};
	const uint32_t warm_in[] = {5, 6};
	const uint32_t range[] = {3, CAP};
	const uint32_t ok[] = {5, 0, 4};
	const uint64_t huge[] = {1, UINT64_MAX};
	assert_int_equal(sp_index_free_many(ix, bad_last, NULL, 4), -EINVAL);
	assert_int_equal(sp_index_free_many(ix, dup, NULL, 3), -EINVAL);
	assert_int_equal(sp_index_free_many(ix, warm_in, NULL, 2), -EINVAL);
	assert_int_equal(sp_index_free_many(ix, range, NULL, 2), -EINVAL);
	assert_int_equal(sp_index_free_many(ix, ok, huge, 2), -EOVERFLOW);
	assert_int_equal(sp_index_free_many(ix, ok, NULL, 0), 0);
	assert_int_equal(sp_index_free_many(ix, NULL, NULL, 0), 0);
	take_snap(ix, &b);
	assert_same(&a, &b);

	/* A good batch frees in order: 5 (key UINT64_MAX), 0 (key 0), 4 (none). */
	const uint64_t bytes[] = {10, 20, 30};
	assert_int_equal(sp_index_free_many(ix, ok, bytes, 3), 0);
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	assert_int_equal(st.in_use, 3);
	assert_int_equal(st.unused_warm, 7);
	assert_int_equal(st.unused_bytes_resident, 4 * 4096 + 60);
	assert_int_equal(sp_index_check(ix), 0);
	int stt;
	uint64_t key = 1;
	assert_int_equal(sp_index_slot_state(ix, 5, &stt, &key), 0);
	assert_int_equal(stt, SP_SLOT_WARM_KEY);
	assert_true(key == UINT64_MAX);
	assert_int_equal(sp_index_slot_state(ix, 4, &stt, &key), 0);
	assert_int_equal(stt, SP_SLOT_WARM);
	/* Key 0 now holds 2 warm slots (8 then 0): its newest is 0. */
	uint32_t s;
	assert_int_equal(sp_index_alloc(ix, 0, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(sp_index_alloc(ix, 0, &s), 0);
	assert_int_equal(s, 8);
	assert_int_equal(sp_index_alloc(ix, UINT64_MAX, &s), 0);
	assert_int_equal(s, 5);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
}

static void test_exhaustion_and_clear_miss_leave_state_intact(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 3, .max_unused_warm_slots = 3};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	uint32_t s;
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(sp_index_alloc(ix, i, &s), 0);
	assert_int_equal(sp_index_free(ix, 1, 5), 0);
	assert_int_equal(sp_index_alloc(ix, 7, &s), 0); /* steals 1 */
	assert_int_equal(s, 1);
	sp_index_stats before = {.size = sizeof(before)}, after = {.size = sizeof(after)};
	assert_int_equal(sp_index_get_stats(ix, &before), 0);
	s = 99;
	assert_int_equal(sp_index_alloc(ix, 0, &s), -ENOSPC);
	assert_int_equal(sp_index_alloc_nokey(ix, &s), -ENOSPC);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 1, &s), -ENOENT);
	assert_int_equal(s, 99);
	assert_int_equal(sp_index_get_stats(ix, &after), 0);
	assert_int_equal(after.failed_allocs, before.failed_allocs + 2);
	assert_int_equal(after.clear_misses, before.clear_misses + 1);
	after.failed_allocs = before.failed_allocs;
	after.clear_misses = before.clear_misses;
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(before.warm_steals, 1);
	assert_int_equal(before.cold_picks, 3);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
}

/* The stats struct grows at its end: an older caller's smaller struct gets
 * exactly the fields it knows, a newer caller's bigger one learns how much
 * this library filled, and a size that cannot hold the header is refused. */
static void test_stats_size_contract(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 4, .shards = 1};
	sp_index *ix;
	uint32_t s;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	assert_int_equal(sp_index_alloc(ix, 7, &s), 0);

	sp_index_stats full = {.size = sizeof(full)};
	assert_int_equal(sp_index_get_stats(ix, &full), 0);
	assert_int_equal(full.size, sizeof(full));
	assert_int_equal(full.in_use, 1);

	/* An old caller that knew only size, capacity and in_use. */
	size_t old = offsetof(sp_index_stats, unused_warm);
	unsigned char buf[sizeof(sp_index_stats) + 16];
	memset(buf, 0xAB, sizeof(buf));
	sp_index_stats *part = (sp_index_stats *)(void *)buf;
	part->size = (uint32_t)old;
	assert_int_equal(sp_index_get_stats(ix, part), 0);
	assert_int_equal(part->size, old);
	assert_int_equal(part->capacity, 4);
	assert_int_equal(part->in_use, 1);
	for (size_t i = old; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xAB); /* nothing written past it */

	/* A newer caller with a bigger struct. */
	memset(buf, 0xAB, sizeof(buf));
	part->size = (uint32_t)sizeof(buf);
	assert_int_equal(sp_index_get_stats(ix, part), 0);
	assert_int_equal(part->size, sizeof(sp_index_stats));
	assert_int_equal(buf[sizeof(sp_index_stats)], 0xAB);

	/* Too small for the header: refused, untouched. */
	memset(buf, 0xAB, sizeof(buf));
	part->size = 7;
	assert_int_equal(sp_index_get_stats(ix, part), -EINVAL);
	assert_int_equal(part->size, 7);
	assert_int_equal(buf[4], 0xAB);
	sp_index_destroy(ix);
}

static void test_strerror_and_version(void **state)
{
	(void)state;
	assert_string_equal(sp_strerror(0), "success");
	assert_string_equal(sp_strerror(-ENOSPC), sp_strerror(ENOSPC));
	assert_string_not_equal(sp_strerror(-ENOSPC), sp_strerror(-ENOENT));
	assert_string_equal(sp_strerror(-123456), "unknown error");
	assert_string_equal(sp_strerror(INT32_MIN), "unknown error");
	assert_int_equal(sp_version(), SP_VERSION_HEX);
	char want[32];
	snprintf(want, sizeof(want), "%d.%d.%d", SP_VERSION_MAJOR, SP_VERSION_MINOR,
	         SP_VERSION_PATCH);
	assert_string_equal(sp_version_string(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_free_errors_leave_state_intact),
		cmocka_unit_test(test_free_many_validates_whole_batch),
		cmocka_unit_test(test_exhaustion_and_clear_miss_leave_state_intact),
		cmocka_unit_test(test_stats_size_contract),
		cmocka_unit_test(test_strerror_and_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
