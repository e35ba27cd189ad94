/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_reset.c: the adaptive reset and the resident budget.
 *
 * What the cost model picks depends on timings, so these tests check what
 * must hold whatever it picks, plus the choices no timing can turn: pages
 * restored in place stay resident (no decommit, no fault for the next
 * user); kept pages nobody changes are dropped; without PAGEMAP_SCAN a
 * large slot with one page written is decommitted, not compared; warm
 * slots never keep more than max_resident_bytes, the least recently freed
 * giving theirs up first; sp_mempool_trim releases memory the process's
 * RSS shows, and a trimmed slot stays warm and reads pristine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#include "draw.h"
#include "mp_util.h"

#define PG 4096u

static unsigned char img_bytes[64 * PG];

static sp_mempool *make(uint32_t slots, uint64_t slot_bytes, unsigned flags, uint64_t budget)
{
	sp_mempool_config cfg = {.slots = slots,
	                         .slot_bytes = slot_bytes,
	                         .guard_bytes = PG,
	                         .flags = flags,
	                         .max_resident_bytes = budget};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	return p;
}

static sp_mempool_stats stats(sp_mempool *p)
{
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	return st;
}

/* Pages of [p, p+len) resident in memory (mincore). */
static size_t resident_pages(void *p, size_t len)
{
	unsigned char v[1024];
	size_t n = len / PG, got = 0;
	assert_true(n <= sizeof(v));
	assert_int_equal(mincore(p, len, v), 0);
	for (size_t k = 0; k < n; k++)
		got += v[k] & 1;
	return got;
}

static long statm_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &res), 2);
	fclose(f);
	return res * (long)PG;
}

static long anon_bytes(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* Ages that land in different classes (powers of two, clock ticks). */
static void tick(unsigned k)
{
	struct timespec t = {0, (long)(8000000u << k)};
	nanosleep(&t, NULL);
}

/* A page restored in place stays resident and writable: the next user of
 * the slot takes no fault on it, and no kept page is dropped. */
static void test_in_place_keeps_pages(void **state)
{
	(void)state;
	static const uint64_t sizes[] = {16 * PG, 1024 * PG};
	for (size_t k = 0; k < 2; k++) {
		sp_mempool *p = make(1, sizes[k], 0, 0);
		sp_image *img;
		assert_int_equal(sp_image_create(p, img_bytes, 8 * PG, 0, &img), 0);
		for (int round = 0; round < 40; round++) {
			sp_mem_slot s;
			assert_int_equal(sp_mempool_alloc(p, img, sizes[k], &s), 0);
			assert_int_equal(s.index, 0);
			assert_int_equal(mp_first_diff(s.base, sizes[k], img_bytes, 0, 8 * PG), -1);
			/* Page 12 is past the image: anonymous, so mincore tells
			 * whether it stayed resident. */
			memset((char *)s.base + 12 * PG, round + 1, PG);
			assert_int_equal(sp_mempool_free(p, s.base), 0);
			assert_int_equal(resident_pages((char *)s.base + 12 * PG, PG), 1);
		}
		sp_mempool_stats st = stats(p);
		assert_int_equal(st.reset_path, SP_MEMPOOL_RESET_PATH_ADAPTIVE);
		/* No kept page dropped (a decommit may unmap clean pages that
		 * direct reads mapped: not the written one, checked above). */
		assert_int_equal(st.trimmed_bytes, 0);
		assert_int_equal(st.budget_bytes, 0);
		assert_int_equal(st.resets_in_place, 40);
		assert_int_equal(st.pages_restored, 40);
		/* Counted by a scan: the one page; read directly: all of it. */
		assert_true(st.resident_warm_bytes == PG || st.resident_warm_bytes == sizes[k]);
		assert_int_equal(sp_image_release(img), 0);
		assert_int_equal(sp_mempool_check(p), 0);
		sp_mempool_destroy(p);
	}
}

/* Users that each write other pages of a large slot: the kept pages grow,
 * and those nobody changes any more are dropped. */
static void test_unchanged_kept_pages_trimmed(void **state)
{
	(void)state;
	const uint64_t sb = 1024 * PG;
	sp_mempool *p = make(1, sb, 0, 0);
	uint64_t r = 42;
	uint64_t last[4] = {0, 0, 0, 0};
	for (int round = 0; round < 200; round++) {
		sp_mem_slot s;
		assert_int_equal(sp_mempool_alloc(p, NULL, sb, &s), 0);
		/* Read back only what the last user wrote: reading all of it
		 * would map every page and make scans dearer than reading. */
		for (int w = 0; w < 4; w++)
			assert_int_equal(
				mp_first_diff((unsigned char *)s.base + last[w], PG, NULL, 0, 0),
				-1);
		for (int w = 0; w < 4; w++) {
			last[w] = sm_below(&r, sb / PG) * PG;
			((volatile char *)s.base)[last[w] + (uint64_t)w] = 1;
		}
		assert_int_equal(sp_mempool_free(p, s.base), 0);
		sp_mempool_stats st = stats(p);
		if (st.resets_scanned == (uint64_t)round + 1)
			/* When it counted the private pages (a scan), they are
			 * at most twice what users change, plus 16. */
			assert_true(st.resident_warm_bytes <= (2 * 4 + 16 + 4) * PG);
	}
	sp_mempool_stats st = stats(p);
	assert_true(st.trimmed_bytes > 0);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, NULL, sb, &s), 0);
	assert_int_equal(mp_first_diff(s.base, sb, NULL, 0, 0), -1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp_mempool_destroy(p);
}

/* Without PAGEMAP_SCAN, one page written in a large slot is decommitted
 * (a compare of all of it would cost far more than one fault); a small
 * slot written all over is reset one way or the other, and pristine. */
static void test_without_scan(void **state)
{
	(void)state;
	const uint64_t big = 1024 * PG;
	sp_mempool *p = make(2, big, SP_MEMPOOL_NO_PAGEMAP_SCAN, 0);
	for (int round = 0; round < 20; round++) {
		sp_mem_slot s;
		assert_int_equal(sp_mempool_alloc(p, NULL, big, &s), 0);
		assert_int_equal(mp_first_diff(s.base, big, NULL, 0, 0), -1);
		memset(s.base, 9, PG);
		assert_int_equal(sp_mempool_free(p, s.base), 0);
	}
	sp_mempool_stats st = stats(p);
	assert_int_equal(st.track_path, SP_MEMPOOL_TRACK_HIGH_WATER);
	assert_true(st.resets_decommit >= 19);
	sp_mempool_destroy(p);

	p = make(1, 8 * PG, SP_MEMPOOL_NO_PAGEMAP_SCAN, 0);
	for (int round = 0; round < 20; round++) {
		sp_mem_slot s;
		assert_int_equal(sp_mempool_alloc(p, NULL, 8 * PG, &s), 0);
		assert_int_equal(mp_first_diff(s.base, 8 * PG, NULL, 0, 0), -1);
		memset(s.base, 9, 8 * PG);
		assert_int_equal(sp_mempool_free(p, s.base), 0);
	}
	/* Comparing 8 pages costs about what copying them costs; faulting
	 * them back costs 25 times more. But the model uses this machine's
	 * times (under valgrind a compare is slower than a fault): whichever it
	 * picked, the count of what warm slots keep must say so. */
	st = stats(p);
	assert_int_equal(st.resets_in_place + st.resets_decommit, 20);
	assert_true(st.resident_warm_bytes == 0 || st.resident_warm_bytes == 8 * PG);
	if (!st.resets_decommit)
		assert_int_equal(st.resident_warm_bytes, 8 * PG);
	if (!st.resets_in_place)
		assert_int_equal(st.resident_warm_bytes, 0);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, NULL, 8 * PG, &s), 0);
	assert_int_equal(mp_first_diff(s.base, 8 * PG, NULL, 0, 0), -1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp_mempool_destroy(p);
}

/* The budget: warm slots keep at most max_resident_bytes, the least
 * recently freed giving theirs up first; every slot still reads pristine. */
static void test_budget_lru(void **state)
{
	(void)state;
	const uint64_t sb = 16 * PG;
	sp_mempool *p = make(4, sb, SP_MEMPOOL_RESET_RESTORE, 6 * PG);
	sp_image *img;
	assert_int_equal(sp_image_create(p, img_bytes, 8 * PG, 0, &img), 0);
	sp_mem_slot s[4];
	for (int k = 0; k < 4; k++) {
		assert_int_equal(sp_mempool_alloc(p, img, sb, &s[k]), 0);
		/* Past the image: anonymous pages, which mincore counts. */
		memset((char *)s[k].base + 10 * PG, 0x11 * (k + 1), 2 * PG);
	}
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
		sp_mempool_stats st = stats(p);
		assert_true(st.resident_warm_bytes <= st.max_resident_bytes);
		tick(3 - k);
	}
	sp_mempool_stats st = stats(p);
	assert_int_equal(st.max_resident_bytes, 6 * PG);
	assert_true(st.budget_reclaims >= 1);
	/* The newest keeps its pages; the oldest gave them up. */
	assert_int_equal(resident_pages((char *)s[3].base + 10 * PG, 2 * PG), 2);
	assert_int_equal(resident_pages((char *)s[0].base + 10 * PG, 2 * PG), 0);
	for (int k = 3; k >= 0; k--) {
		sp_mem_slot t;
		assert_int_equal(sp_mempool_alloc(p, img, sb, &t), 0);
		assert_int_equal(mp_first_diff(t.base, sb, img_bytes, 0, 8 * PG), -1);
		s[k] = t;
	}
	st = stats(p);
	assert_int_equal(st.affine_hits, 4); /* all still warm for the image */
	for (int k = 0; k < 4; k++)
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
	assert_true(stats(p).resident_warm_bytes <= 6 * PG);
	assert_int_equal(sp_image_release(img), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

/* What the process holds stays within the budget plus the slots in use. */
static void test_rss_within_budget(void **state)
{
	(void)state;
	if (MP_ASAN)
		skip(); /* ASan's own memory moves the counts */
	const uint64_t sb = 256 * PG, budget = 512 * PG;
	sp_mempool *p = make(16, sb, 0, budget);
	long base = anon_bytes();
	assert_true(base >= 0);
	uint64_t r = 7;
	sp_mem_slot held[4];
	int nheld = 0;
	for (int round = 0; round < 400; round++) {
		if (nheld < 4 && sm_below(&r, 2)) {
			assert_int_equal(sp_mempool_alloc(p, NULL, sb, &held[nheld]), 0);
			size_t n = 1 + sm_below(&r, 256);
			memset(held[nheld].base, 1 + round % 200, n * PG);
			nheld++;
		} else if (nheld) {
			assert_int_equal(sp_mempool_free(p, held[--nheld].base), 0);
		}
		if (round % 20 == 0) {
			sp_mempool_stats st = stats(p);
			assert_true(st.resident_warm_bytes <= budget);
			long grown = anon_bytes() - base;
			long explained = (long)budget + (long)nheld * (long)sb + (1l << 20);
			if (grown > explained)
				fail_msg(
					"round %d: anonymous memory grew %ld, budget + %d slots in use "
					"explain %ld",
					round, grown, nheld, explained);
		}
	}
	while (nheld)
		assert_int_equal(sp_mempool_free(p, held[--nheld].base), 0);
	sp_mempool_destroy(p);
}

/* sp_mempool_trim: RSS drops; slots stay warm for their image (no remap)
 * and read pristine; trimming to a size keeps the most recently freed. */
static void test_trim(void **state)
{
	(void)state;
	const uint64_t sb = 256 * PG;
	sp_mempool *p = make(8, sb, SP_MEMPOOL_RESET_RESTORE, 0);
	sp_image *img;
	assert_int_equal(sp_image_create(p, img_bytes, sizeof(img_bytes), 0, &img), 0);
	sp_mem_slot s[8];
	for (int k = 0; k < 8; k++) {
		assert_int_equal(sp_mempool_alloc(p, img, sb, &s[k]), 0);
		memset(s[k].base, 0x5a, sb); /* 1 MiB each, all kept */
	}
	for (unsigned k = 0; k < 8; k++) {
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
		if (k >= 5)
			tick(7 - k);
	}
	sp_mempool_stats st = stats(p);
	assert_int_equal(st.resident_warm_bytes, 8 * sb);
	long rss0 = statm_rss();
	/* Keep two slots' worth: the two freed last. */
	assert_int_equal(sp_mempool_trim(p, 2 * sb), 0);
	st = stats(p);
	assert_true(st.resident_warm_bytes <= 2 * sb);
	/* Past the image the pages are anonymous: mincore counts them. */
	const size_t past = sizeof(img_bytes);
	assert_int_equal(resident_pages((char *)s[7].base + past, sb - past), (sb - past) / PG);
	assert_int_equal(resident_pages((char *)s[0].base + past, sb - past), 0);
	long rss1 = statm_rss();
	assert_int_equal(sp_mempool_trim(p, 0), 0);
	long rss2 = statm_rss();
	st = stats(p);
	assert_int_equal(st.resident_warm_bytes, 0);
	if (!MP_ASAN) {
		if (rss0 - rss1 < (long)(5 * sb) || rss0 - rss2 < (long)(7 * sb))
			fail_msg("RSS %ld -> %ld -> %ld: trim released too little", rss0, rss1,
			         rss2);
	}
	print_message("trim: RSS %ld KiB -> %ld KiB (to 2 slots) -> %ld KiB (to 0)\n", rss0 / 1024,
	              rss1 / 1024, rss2 / 1024);
	uint64_t remaps = st.remaps;
	for (int k = 0; k < 8; k++) {
		assert_int_equal(sp_mempool_alloc(p, img, sb, &s[k]), 0);
		assert_int_equal(mp_first_diff(s[k].base, sb, img_bytes, 0, sizeof(img_bytes)), -1);
	}
	st = stats(p);
	assert_int_equal(st.remaps, remaps); /* warm: no remap */
	for (int k = 0; k < 8; k++)
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
	assert_int_equal(sp_mempool_trim(NULL, 0), -EINVAL);
	assert_int_equal(sp_image_release(img), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

static void test_path_names(void **state)
{
	(void)state;
	assert_string_equal(sp_mempool_path_name(SP_MEMPOOL_PATH_TRACK, SP_MEMPOOL_TRACK_PRESENT),
	                    "present");
	assert_string_equal(sp_mempool_path_name(SP_MEMPOOL_PATH_TRACK, SP_MEMPOOL_TRACK_WRITTEN),
	                    "written");
	assert_string_equal(
		sp_mempool_path_name(SP_MEMPOOL_PATH_TRACK, SP_MEMPOOL_TRACK_HIGH_WATER),
		"high_water");
	assert_string_equal(
		sp_mempool_path_name(SP_MEMPOOL_PATH_DECOMMIT, SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE),
		"process_madvise");
	assert_string_equal(sp_mempool_path_name(SP_MEMPOOL_PATH_GUARD, SP_MEMPOOL_GUARD_INSTALL),
	                    "guard_install");
	assert_string_equal(
		sp_mempool_path_name(SP_MEMPOOL_PATH_RESET, SP_MEMPOOL_RESET_PATH_ADAPTIVE),
		"adaptive");
	assert_null(sp_mempool_path_name(SP_MEMPOOL_PATH_RESET, 3));
	assert_null(sp_mempool_path_name(99, 0));
}

int main(void)
{
	mp_require_kernel();
	for (size_t i = 0; i < sizeof(img_bytes); i++)
		img_bytes[i] = (unsigned char)(i * 29 + 3) | 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_place_keeps_pages),
		cmocka_unit_test(test_unchanged_kept_pages_trimmed),
		cmocka_unit_test(test_without_scan),
		cmocka_unit_test(test_budget_lru),
		cmocka_unit_test(test_rss_within_budget),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_path_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
