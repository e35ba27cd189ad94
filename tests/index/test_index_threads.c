/* SPDX-License-Identifier: MIT */
/*
 * test_index_threads.c: four threads allocate and free on one index (one
 * shard, then four, then four with SP_INDEX_HOME_AFFINITY) with their own
 * seeded streams. A per-slot owner word, claimed with a compare-and-swap
 * after each alloc, proves that no slot is ever held twice; afterwards the
 * counters must add up and the structure check must pass.
 * Scaled down under ThreadSanitizer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "draw.h"
#include "slotpool.h"

#if defined(__SANITIZE_THREAD__)
#define SP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SP_TSAN 1
#endif
#endif
#ifdef SP_TSAN
#define OPS 20000
#else
#define OPS 400000
#endif

#define THREADS 4
#define CAP 256

static sp_index *g_ix;
static atomic_uint g_owner[CAP];

typedef struct {
	unsigned id;
	uint64_t allocs, frees, nospc, clears, double_handout, errors;
	uint32_t live[CAP];
	uint32_t nlive;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	uint64_t r = 1000 + w->id;
	for (int i = 0; i < OPS; i++) {
		uint64_t x = sm_next(&r);
		if (w->nlive && ((x & 3) < 2 || w->nlive == CAP)) {
			uint32_t j = (uint32_t)((x >> 8) % w->nlive);
			uint32_t s = w->live[j];
			w->live[j] = w->live[--w->nlive];
			atomic_store(&g_owner[s], 0);
			if (sp_index_free(g_ix, s, x & 0xfff) != 0)
				w->errors++;
			w->frees++;
			continue;
		}
		uint32_t s;
		uint64_t key = (x >> 20) % 40;
		int err = (x & 3) == 3 && (x & 64) ? sp_index_alloc_affine_and_clear(g_ix, key, &s)
		                                   : sp_index_alloc(g_ix, key, &s);
		if (err == -ENOSPC || err == -ENOENT) {
			w->nospc += err == -ENOSPC;
			continue;
		}
		if (err || s >= CAP) {
			w->errors++;
			continue;
		}
		unsigned expect = 0;
		if (!atomic_compare_exchange_strong(&g_owner[s], &expect, w->id + 1))
			w->double_handout++;
		w->clears += (x & 3) == 3 && (x & 64);
		w->allocs++;
		w->live[w->nlive++] = s;
	}
	return NULL;
}

static void four_threads(uint32_t shards, uint32_t flags)
{
	for (unsigned i = 0; i < CAP; i++)
		atomic_store(&g_owner[i], 0);
	sp_index_config cfg = {
		.capacity = CAP, .max_unused_warm_slots = 64, .shards = shards, .flags = flags};
	assert_int_equal(sp_index_create(&cfg, &g_ix), 0);
	static worker w[THREADS];
	pthread_t t[THREADS];
	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (worker){.id = i};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	uint64_t allocs = 0, frees = 0, clears = 0, live = 0;
	for (unsigned i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].double_handout, 0);
		assert_int_equal(w[i].errors, 0);
		allocs += w[i].allocs;
		frees += w[i].frees;
		clears += w[i].clears;
		live += w[i].nlive;
	}
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(g_ix, &st), 0);
	assert_int_equal(st.allocs, allocs);
	assert_int_equal(st.frees, frees);
	assert_int_equal(st.clears, clears);
	assert_int_equal(st.in_use, live);
	assert_int_equal(st.in_use + st.unused_warm + st.unused_cold, CAP);
	assert_true(allocs > OPS);
	assert_int_equal(sp_index_check(g_ix), 0);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(sp_index_free_many(g_ix, w[i].live, NULL, w[i].nlive), 0);
	assert_int_equal(sp_index_get_stats(g_ix, &st), 0);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(sp_index_check(g_ix), 0);
	sp_index_destroy(g_ix);
}

static void test_four_threads_one_shard(void **state)
{
	(void)state;
	four_threads(1, 0);
}

static void test_four_threads_four_shards(void **state)
{
	(void)state;
	four_threads(4, 0);
}

static void test_four_threads_four_shards_home_affinity(void **state)
{
	(void)state;
	four_threads(4, SP_INDEX_HOME_AFFINITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_threads_one_shard),
		cmocka_unit_test(test_four_threads_four_shards),
		cmocka_unit_test(test_four_threads_four_shards_home_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
