/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_threads.c: threads sharing a pool smaller than their number
 * (so allocs wait for frees), with batched decommits and an image created
 * and released while the others run. Every alloc must see its pristine
 * image or zeros; afterwards the pool is consistent and empty. Run under
 * TSan too (label `threads`).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "draw.h"
#include "mp_util.h"

#define PG 4096u
#define SLOT_BYTES (16 * PG)
#define THREADS 4
#define ITERS 300
#define NIMG 3

static sp_mempool *pool;
static sp_image *img[NIMG];
static unsigned char bytes[NIMG][2 * PG];
static atomic_int failures;

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t r = id * 7919 + 1;
	for (int it = 0; it < ITERS; it++) {
		int k = (int)sm_below(&r, NIMG + 1) - 1;
		sp_image *use = k < 0 ? NULL : img[k];
		sp_image *tmp = NULL;
		if (id == 0 && it % 25 == 0) {
			/* A short-lived image: created, used once, released. */
			if (sp_image_create(pool, bytes[1], PG, PG, &tmp)) {
				atomic_fetch_add(&failures, 1);
				continue;
			}
			use = tmp;
		}
		size_t acc = (4 + sm_below(&r, 12)) * PG;
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += 10;
		sp_mem_slot s;
		if (sp_mempool_alloc_wait(pool, use, acc, &dl, &s)) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		const unsigned char *want = tmp ? bytes[1] : k < 0 ? NULL : bytes[k];
		size_t off = tmp ? PG : 0, len = tmp ? PG : 2 * PG;
		if (mp_first_diff(s.base, acc, want, off, len) != -1)
			atomic_fetch_add(&failures, 1);
		memset((char *)s.base + sm_below(&r, acc - PG), (int)id + 1, PG);
		if (sp_mempool_free(pool, s.base))
			atomic_fetch_add(&failures, 1);
		if (tmp && sp_image_release(tmp))
			atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

static void shared_pool(void **state)
{
	(void)state;
	sp_mempool_config cfg = {.slots = 3,
	                         .slot_bytes = SLOT_BYTES,
	                         .guard_bytes = PG,
	                         .keep_resident_bytes = 2 * PG,
	                         .decommit_batch = 2};
	assert_int_equal(sp_mempool_create(&cfg, &pool), 0);
	for (int k = 0; k < NIMG; k++) {
		memset(bytes[k], 0x40 + k, sizeof(bytes[k]));
		assert_int_equal(sp_image_create(pool, bytes[k], sizeof(bytes[k]), 0, &img[k]), 0);
	}
	pthread_t th[THREADS];
	for (uintptr_t t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)t), 0);
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	assert_int_equal(atomic_load(&failures), 0);
	assert_int_equal(sp_mempool_check(pool), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_flush(pool), 0);
	assert_int_equal(sp_mempool_get_stats(pool, &st), 0);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.allocs, THREADS * ITERS);
	for (int k = 0; k < NIMG; k++)
		assert_int_equal(sp_image_release(img[k]), 0);
	assert_int_equal(st.images, NIMG);
	sp_mempool_destroy(pool);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shared_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
