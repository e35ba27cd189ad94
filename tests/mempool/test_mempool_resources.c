/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_resources.c: no file descriptor and no mapping is left
 * behind: not after an image's last release (even with warm slots mapping
 * it), not after pool destroy (even with images and slots still out), for
 * every feature path. Counted in /proc/self/fd and /proc/self/maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mp_util.h"

#define PG 4096u

static void cycle(unsigned flags, uint32_t batch, int leak_on_destroy)
{
	int fds = mp_count_fds(), maps = mp_count_maps(NULL);
	sp_mempool_config cfg = {.slots = 4,
	                         .slot_bytes = 32 * PG,
	                         .keep_resident_bytes = 4 * PG,
	                         .decommit_batch = batch,
	                         .flags = flags};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	unsigned char bytes[5 * PG];
	memset(bytes, 0x3c, sizeof(bytes));
	sp_image *img[3];
	for (int k = 0; k < 3; k++)
		assert_int_equal(sp_image_create(p, bytes, sizeof(bytes) - (size_t)k * PG,
		                                 (uint64_t)k * PG, &img[k]),
		                 0);
	assert_true(mp_count_fds() >= fds + 3); /* one memfd per image, + the pool's */
	sp_mem_slot s[4];
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	uintptr_t res_lo = 0, res_hi = 0;
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 4; k++) {
			assert_int_equal(sp_mempool_alloc(p, k < 3 ? img[(k + round) % 3] : NULL,
			                                  8 * PG, &s[k]),
			                 0);
			memset((char *)s[k].base + 2 * PG, k, 6 * PG);
		}
		/* The reservation: one guard before slot 0. */
		res_lo = (uintptr_t)s[0].base - (uintptr_t)s[0].index * (32 + 16) * PG - 16 * PG;
		res_hi = res_lo + st.reservation_bytes;
		for (int k = 0; k < 4; k++)
			assert_int_equal(sp_mempool_free(p, s[k].base), 0);
	}
	/* Warm slots map images; releasing them purges those mappings. */
	assert_true(mp_count_maps("memfd:slotpool-image") > 3);
	assert_true(mp_count_maps_in(res_lo, res_hi) >= 2); /* the range is right */
	if (leak_on_destroy) {
		/* Destroy with images alive and a slot out: all freed. */
		assert_int_equal(sp_mempool_alloc(p, img[0], 8 * PG, &s[0]), 0);
		sp_mempool_destroy(p);
	} else {
		for (int k = 0; k < 3; k++)
			assert_int_equal(sp_image_release(img[k]), 0);
		assert_int_equal(mp_count_maps("memfd:slotpool-image"), 0);
		assert_int_equal(sp_mempool_check(p), 0);
		sp_mempool_destroy(p);
	}
	assert_int_equal(mp_count_maps("memfd:slotpool-image"), 0);
	assert_int_equal(mp_count_fds(), fds);
	assert_int_equal(mp_count_maps_in(res_lo, res_hi), 0);
	if (!MP_ASAN)
		assert_int_equal(mp_count_maps(NULL), maps);
}

static void no_leaks(void **state)
{
	(void)state;
	static const unsigned flags[] = {0, SP_MEMPOOL_NO_UFFD_WP, SP_MEMPOOL_NO_PAGEMAP_SCAN,
	                                 SP_MEMPOOL_NO_PROCESS_MADVISE |
	                                         SP_MEMPOOL_NO_GUARD_INSTALL,
	                                 SP_MEMPOOL_NO_AFFINITY};
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		cycle(flags[f], 1, 0);
		cycle(flags[f], 3, 0);
		cycle(flags[f], 2, 1);
	}
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_leaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
