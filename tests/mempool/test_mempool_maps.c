/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_maps.c: the mappings budget. Pools together stay below
 * vm.max_map_count minus a headroom left to the rest of the process; an
 * alloc that would pass it takes mappings back from the least recently
 * freed warm slots, or fails with -ENOMEM (counted), leaving the pool as it
 * was; after frees the pool works again. And the pool's own count of its
 * mappings agrees with /proc/self/maps.
 */
#include <pthread.h>
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

static void *noop(void *arg)
{
	return arg;
}

/* What the rest of a process does: small separate mappings, a thread. */
static int process_still_works(void)
{
	enum { N = 64 };
	void *m[N];
	int ok = 1;
	for (int k = 0; k < N; k++) {
		/* Alternate protections so that neighbours cannot merge. */
		m[k] = mmap(NULL, PG, k & 1 ? PROT_READ : PROT_READ | PROT_WRITE,
		            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ok &= m[k] != MAP_FAILED;
	}
	for (int k = 0; k < N; k++)
		if (m[k] != MAP_FAILED)
			munmap(m[k], PG);
	pthread_t th;
	if (pthread_create(&th, NULL, noop, NULL) == 0)
		pthread_join(th, NULL);
	else
		ok = 0;
	void *big = malloc(1 << 20); /* served by mmap */
	ok &= big != NULL;
	free(big);
	return ok;
}

/*
 * 200,000 slots with PROT_NONE guards and a 100-byte image: each slot in
 * use costs three mappings, so the pool alone could take every mapping of
 * the process. With the default headroom the allocs stop with -ENOMEM
 * while the rest of the process keeps working, and once the slots are
 * freed, allocs without an image work again (they take the warm image
 * slots' mappings back).
 */
static void test_default_headroom_protects_process(void **state)
{
	(void)state;
	uint32_t max = mp_max_map_count();
	if (max == 0 || max > 1000000)
		skip(); /* unknown or too large a limit to reach in a test */
	sp_mempool_config cfg = {.slots = 200000,
	                         .slot_bytes = 2 * PG,
	                         .guard_bytes = PG,
	                         .flags = SP_MEMPOOL_NO_GUARD_INSTALL};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	unsigned char bytes[100];
	memset(bytes, 0x42, sizeof(bytes));
	sp_image *img;
	assert_int_equal(sp_image_create(p, bytes, sizeof(bytes), 0, &img), 0);
	void **bases = calloc(cfg.slots, sizeof(*bases));
	assert_non_null(bases);
	uint32_t n = 0;
	int err = 0;
	while (n < cfg.slots) {
		sp_mem_slot s;
		err = sp_mempool_alloc(p, img, 2 * PG, &s);
		if (err)
			break;
		bases[n++] = s.base;
	}
	assert_int_equal(err, -ENOMEM);
	assert_true(process_still_works());
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.map_refusals, 1);
	assert_int_equal(st.in_use, n);
	assert_true(st.process_mappings <= st.map_limit);
	assert_true(st.map_limit <= max - 4096 && st.map_limit <= max - max / 8);
	int actual = mp_count_maps(NULL);
	assert_true(actual > 0 && (uint32_t)actual < max - 4096);
	assert_int_equal(sp_mempool_check(p), 0);
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(sp_mempool_free(p, bases[k]), 0);
	/* Warm image slots hold the mappings now; allocs without an image
	 * must still get slots: cold ones after reclaiming warm slots'. */
	uint32_t m = n < 20000 ? n : 20000, got = 0;
	for (uint32_t k = 0; k < m; k++) {
		sp_mem_slot s;
		err = sp_mempool_alloc(p, NULL, 2 * PG, &s);
		if (err)
			fail_msg("no-image alloc %u of %u after frees: %s", k, m, sp_strerror(err));
		bases[got++] = s.base;
	}
	assert_true(process_still_works());
	assert_int_equal(sp_mempool_check(p), 0);
	for (uint32_t k = 0; k < got; k++)
		assert_int_equal(sp_mempool_free(p, bases[k]), 0);
	free(bases);
	assert_int_equal(sp_image_release(img), 0);
	sp_mempool_destroy(p);
}

/* Sleep long enough that consecutive frees fall in different age classes
 * (ages within a factor of two are not ordered, and the free stamps have
 * the resolution of a clock tick, up to 4 ms). */
static void tick(unsigned k)
{
	struct timespec t = {0, (long)(8000000u << k)};
	nanosleep(&t, NULL);
}

/* A small budget, counted exactly: each slot mapping an image costs 2
 * (guard markers) or 3 (PROT_NONE, image at 0) mappings, plus one for the
 * reservation and one per image. */
static void budget_exact(unsigned flags, uint32_t per_slot)
{
	uint32_t max = mp_max_map_count();
	if (max < 1000)
		skip();
	const uint32_t limit = 3 + 4 * per_slot; /* reservation, 2 images, 4 slots */
	sp_mempool_config cfg = {.slots = 8,
	                         .max_unused_warm_slots = 8, /* cold before warm */
	                         .slot_bytes = 4 * PG,
	                         .guard_bytes = PG,
	                         .flags = flags,
	                         .map_headroom = max - limit};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	if (st.process_mappings != 1) {
		sp_mempool_destroy(p);
		skip(); /* another pool of this process holds mappings */
	}
	assert_int_equal(st.map_limit, limit);
	unsigned char bytes[PG];
	memset(bytes, 0x33, sizeof(bytes));
	sp_image *a, *b, *c;
	assert_int_equal(sp_image_create(p, bytes, 100, 0, &a), 0);
	assert_int_equal(sp_image_create(p, bytes, 200, 0, &b), 0);
	sp_mem_slot s[5];
	for (int k = 0; k < 4; k++)
		assert_int_equal(sp_mempool_alloc(p, a, 4 * PG, &s[k]), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.mappings, limit);
	/* Full: a fifth is refused, and nothing changed. */
	assert_int_equal(sp_mempool_alloc(p, b, 4 * PG, &s[4]), -ENOMEM);
	/* A third image's copy would be a mapping too. */
	assert_int_equal(sp_image_create(p, bytes, PG, 0, &c), -ENOMEM);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.map_refusals, 1);
	assert_int_equal(st.in_use, 4);
	assert_int_equal(st.images, 2);
	assert_int_equal(st.mappings, limit);
	assert_int_equal(sp_mempool_check(p), 0);
	/* Freed slots stay warm and keep their mappings... */
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
		tick(3 - k); /* s[0] oldest by far, s[3] newest */
	}
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.mappings, limit);
	/* ...until something needs them: b takes a cold slot, and the least
	 * recently freed warm slot (s[0]) gives its mappings back. */
	sp_mem_slot t;
	assert_int_equal(sp_mempool_alloc(p, b, 4 * PG, &t), 0);
	assert_int_equal(mp_first_diff(t.base, 4 * PG, bytes, 0, 200), -1);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.map_reclaims, 1);
	assert_int_equal(st.mappings, limit);
	sp_image_stats is = {.size = sizeof(is)};
	assert_int_equal(sp_image_get_stats(a, &is), 0);
	assert_int_equal(is.warm, 3);
	/* s[1..3] are still warm for a: affine hits, same slots, pristine. */
	uint64_t hits = st.affine_hits;
	sp_mem_slot u[4];
	for (int k = 3; k >= 1; k--) {
		assert_int_equal(sp_mempool_alloc(p, a, 4 * PG, &u[k]), 0);
		assert_ptr_equal(u[k].base, s[k].base);
		assert_int_equal(mp_first_diff(u[k].base, 4 * PG, bytes, 0, 100), -1);
	}
	for (int k = 3; k >= 1; k--)
		assert_int_equal(sp_mempool_free(p, u[k].base), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.affine_hits, hits + 3);
	assert_int_equal(sp_mempool_free(p, t.base), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	assert_int_equal(sp_image_release(a), 0);
	assert_int_equal(sp_image_release(b), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.mappings, 1); /* every slot blanked, no image */
	/* The budget is free again: a third image and its slot fit. */
	assert_int_equal(sp_image_create(p, bytes, PG, 0, &c), 0);
	assert_int_equal(sp_mempool_alloc(p, c, 4 * PG, &t), 0);
	assert_int_equal(sp_mempool_free(p, t.base), 0);
	assert_int_equal(sp_image_release(c), 0);
	sp_mempool_destroy(p);
}

static void test_budget_guard_markers(void **state)
{
	(void)state;
	budget_exact(0, 2);
}

static void test_budget_prot_none(void **state)
{
	(void)state;
	budget_exact(SP_MEMPOOL_NO_GUARD_INSTALL, 3);
}

/* The pool's count against the kernel's, over random work on each path:
 * mappings overlapping the reservation, plus each image's read-only copy. */
static void count_vs_kernel(unsigned flags, uint64_t keep)
{
	enum { SLOTS = 6, IMGS = 3, SLOT_PAGES = 16 };
	sp_mempool_config cfg = {.slots = SLOTS,
	                         .slot_bytes = SLOT_PAGES * PG,
	                         .guard_bytes = 2 * PG,
	                         .keep_resident_bytes = keep,
	                         .flags = flags};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	static const size_t len[IMGS] = {100, 3 * PG, 5 * PG + 1};
	static const size_t off[IMGS] = {0, 2 * PG, 4 * PG};
	unsigned char bytes[6 * PG];
	memset(bytes, 0x5c, sizeof(bytes));
	sp_image *img[IMGS];
	for (int k = 0; k < IMGS; k++)
		assert_int_equal(sp_image_create(p, bytes, len[k], off[k], &img[k]), 0);
	sp_mem_slot held[SLOTS];
	int nheld = 0;
	uintptr_t lo = 0, hi = 0;
	uint64_t r = 0x5eed + flags + keep;
	for (int step = 0; step < 400; step++) {
		if (nheld < SLOTS && (nheld == 0 || sm_below(&r, 2))) {
			int k = (int)sm_below(&r, IMGS + 1) - 1;
			size_t min = k < 0 ? 1 : (off[k] + len[k] + PG - 1) / PG;
			size_t acc = (min + sm_below(&r, SLOT_PAGES - min + 1)) * PG;
			assert_int_equal(
				sp_mempool_alloc(p, k < 0 ? NULL : img[k], acc, &held[nheld]), 0);
			memset(held[nheld].base, 1, PG);
			if (!lo) {
				uintptr_t s0 = (uintptr_t)held[nheld].base -
				               held[nheld].index * (SLOT_PAGES + 2) * PG;
				lo = s0 - 2 * PG;
				hi = lo + 2 * PG + SLOTS * (SLOT_PAGES + 2) * PG;
			}
			nheld++;
		} else {
			int h = (int)sm_below(&r, (uint64_t)nheld);
			if (held[h].accessible < SLOT_PAGES * PG && sm_below(&r, 3) == 0)
				assert_int_equal(
					sp_mempool_grow(p, held[h].base, held[h].accessible + PG),
					0);
			assert_int_equal(sp_mempool_free(p, held[h].base), 0);
			held[h] = held[--nheld];
		}
		sp_mempool_stats st = {.size = sizeof(st)};
		assert_int_equal(sp_mempool_get_stats(p, &st), 0);
		int in_res = mp_count_maps_in(lo, hi);
		int copies = mp_count_maps("slotpool-image") -
		             (int)mp_count_maps_in_named(lo, hi, "slotpool-image");
		if ((int)st.mappings != in_res + copies) {
			FILE *f = fopen("/proc/self/maps", "r");
			char line[512];
			unsigned long a, b;
			while (f && fgets(line, sizeof(line), f))
				if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
					fprintf(stderr, "  page %5lu-%5lu %s", (a - lo) / PG,
					        (b - lo) / PG, line + strcspn(line, " "));
			if (f)
				fclose(f);
			fail_msg(
				"step %d (flags %#x, keep %llu): pool counts %u mappings, the kernel "
				"%d in the reservation + %d image copies",
				step, flags, (unsigned long long)keep, st.mappings, in_res, copies);
		}
	}
	while (nheld)
		assert_int_equal(sp_mempool_free(p, held[--nheld].base), 0);
	for (int k = 0; k < IMGS; k++)
		assert_int_equal(sp_image_release(img[k]), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

static void test_count_matches_kernel(void **state)
{
	(void)state;
	if (MP_ASAN)
		skip(); /* ASan maps memory as the test runs */
	count_vs_kernel(0, 0);
	count_vs_kernel(0, 8 * PG);
	count_vs_kernel(SP_MEMPOOL_NO_GUARD_INSTALL, 0);
	count_vs_kernel(SP_MEMPOOL_NO_GUARD_INSTALL, 8 * PG);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_guard_markers),
		cmocka_unit_test(test_budget_prot_none),
		cmocka_unit_test(test_count_matches_kernel),
		cmocka_unit_test(test_default_headroom_protects_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
