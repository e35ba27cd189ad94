/* SPDX-License-Identifier: MIT */
/*
 * test_index_oom.c: sp_index_create fails cleanly with -ENOMEM at each of
 * its allocations, leaving *out untouched and nothing allocated. Linked with
 * -Wl,--wrap for malloc, calloc, aligned_alloc and free, so the library's own
 * calls go through the counters below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "slotpool.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_aligned_alloc(size_t a, size_t n);
void __real_free(void *p);

static int g_fail_at = -1; /* fail the N-th allocation (0-based); -1: never */
static int g_count;
static long g_live;

static int fail_now(void)
{
	return g_fail_at >= 0 && g_count++ == g_fail_at;
}

void *__wrap_malloc(size_t n)
{
	if (fail_now())
		return NULL;
	void *p = __real_malloc(n);
	g_live += p != NULL;
	return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
	if (fail_now())
		return NULL;
	void *p = __real_calloc(n, m);
	g_live += p != NULL;
	return p;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
	if (fail_now())
		return NULL;
	void *p = __real_aligned_alloc(a, n);
	g_live += p != NULL;
	return p;
}

void __wrap_free(void *p)
{
	g_live -= p != NULL;
	__real_free(p);
}

/* Fails each allocation of sp_index_create in turn; returns how many there
 * are. Every failure must be -ENOMEM with *out untouched and nothing left
 * allocated. */
static int count_failures(const sp_index_config *cfg)
{
	int failures = 0;
	for (int at = 0; at < 64; at++) {
		sp_index *ix = (sp_index *)&failures; /* sentinel */
		g_fail_at = at;
		g_count = 0;
		g_live = 0;
		int err = sp_index_create(cfg, &ix);
		g_fail_at = -1;
		if (err == 0) {
			/* Past the last allocation: create succeeded. */
			sp_index_destroy(ix);
			assert_int_equal(g_live, 0);
			break;
		}
		assert_int_equal(err, -ENOMEM);
		assert_ptr_equal(ix, (sp_index *)&failures);
		assert_int_equal(g_live, 0);
		failures++;
	}
	return failures;
}

static void test_create_enomem_at_each_allocation(void **state)
{
	(void)state;
	/* One shard: the handle (with its shards), slots, key table. */
	sp_index_config one = {.capacity = 1000, .max_unused_warm_slots = 10, .shards = 1};
	assert_int_equal(count_failures(&one), 3);
	/* Four shards: handle, summary, then slots and key table of each
	 * shard; a failure in the third shard frees the first two. */
	sp_index_config four = {.capacity = 1000, .max_unused_warm_slots = 10, .shards = 4};
	assert_int_equal(count_failures(&four), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_enomem_at_each_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
