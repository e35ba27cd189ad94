/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_api.c: exact behaviour of the memory pool API: config
 * errors, misuse (foreign pointer, double free, grow too far, release of an
 * image in use) with the pool intact afterwards, affinity and its stats,
 * exhaustion (-ENOSPC, the report, bounded waits woken by free), the
 * purge of warm slots when an image dies, stale image handles, the names
 * of error codes, and what the resident byte counts count.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mp_util.h"

#define PG 4096u
#define SLOT_BYTES (16 * PG)

static sp_mempool *make_pool(uint32_t slots)
{
	sp_mempool_config cfg = {.slots = slots, .slot_bytes = SLOT_BYTES, .guard_bytes = PG};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	return p;
}

static void config_errors(void **state)
{
	(void)state;
	sp_mempool *sentinel = (sp_mempool *)&state, *p = sentinel;
	const sp_mempool_config bad[] = {
		{.slot_bytes = PG + 1},
		{.guard_bytes = 100},
		{.keep_resident_bytes = 3},
		{.slot_bytes = 4 * PG, .keep_resident_bytes = 5 * PG},
		{.slots = 4, .decommit_batch = 5},
		{.slots = 1000, .decommit_batch = SP_MEMPOOL_MAX_BATCH + 1},
		{.slots = (1u << 30) + 1},
		{.slots = 1u << 30, .slot_bytes = 1ull << 20, .guard_bytes = 1ull << 20},
		{.slot_bytes = SP_MEMPOOL_MAX_RESERVATION},
		{.flags = 1u << 20},
		{.reserved32 = 1},
		{.flags = SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_RESET_RESTORE},
		{.keep_resident_bytes = PG, .flags = SP_MEMPOOL_RESET_RESTORE},
		{.reserved = {0, 1}},
		{.index_flags = 1u << 5}, /* not an SP_INDEX_* flag */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sp_mempool_create(&bad[i], &p) != -EINVAL)
			fail_msg("config %zu accepted", i);
		assert_ptr_equal(p, sentinel);
	}
	assert_int_equal(sp_mempool_create(NULL, &p), -EINVAL);
	const sp_mempool_config zero = {0};
	assert_int_equal(sp_mempool_create(&zero, NULL), -EINVAL);
	/* All zero: the documented defaults. */
	assert_int_equal(sp_mempool_create(&zero, &p), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.slots, 16);
	assert_int_equal(st.cold, 16);
	assert_int_equal(st.reservation_bytes, (64u << 10) + 16 * ((1u << 20) + (64u << 10)));
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, NULL, 1u << 20, &s), 0);
	assert_int_equal(s.slot_bytes, 1u << 20);
	assert_int_equal(sp_mempool_alloc(p, NULL, (1u << 20) + PG, &s), -EINVAL);
	sp_mempool_destroy(p);
}

static void misuse(void **state)
{
	(void)state;
	sp_mempool *p = make_pool(4), *q = make_pool(1);
	unsigned char bytes[3 * PG];
	memset(bytes, 7, sizeof(bytes));
	sp_image *img, *other;
	sp_image *sentinel_img = (sp_image *)&state, *img2 = sentinel_img;
	assert_int_equal(sp_image_create(p, bytes, 0, 0, &img2), -EINVAL);
	assert_int_equal(sp_image_create(p, bytes, 10, 100, &img2), -EINVAL);
	assert_int_equal(sp_image_create(p, bytes, sizeof(bytes), SLOT_BYTES - 2 * PG, &img2),
	                 -EINVAL);
	assert_int_equal(sp_image_create(NULL, bytes, 1, 0, &img2), -EINVAL);
	assert_ptr_equal(img2, sentinel_img);
	assert_int_equal(sp_image_create(p, bytes, sizeof(bytes), PG, &img), 0);
	assert_int_equal(sp_image_create(q, bytes, 1, 0, &other), 0);
	assert_true(sp_image_id(img) > 0);

	sp_mem_slot s, sentinel = {.index = 77}, t = sentinel;
	assert_int_equal(sp_mempool_alloc(p, img, 3 * PG, &t), -EINVAL); /* image ends at 4 pages */
	assert_int_equal(sp_mempool_alloc(p, img, 4 * PG + 1, &t), -EINVAL);
	assert_int_equal(sp_mempool_alloc(p, NULL, 0, &t), -EINVAL);
	assert_int_equal(sp_mempool_alloc(p, other, 4 * PG, &t), -EINVAL); /* other pool's */
	assert_int_equal(sp_mempool_alloc(NULL, NULL, PG, &t), -EINVAL);
	assert_memory_equal(&t, &sentinel, sizeof(t));
	assert_int_equal(sp_mempool_alloc(p, img, 4 * PG, &s), 0);

	/* Foreign pointers: -EFAULT; not in use: -EINVAL. */
	int local;
	assert_int_equal(sp_mempool_free(p, &local), -EFAULT);
	assert_int_equal(sp_mempool_free(p, (char *)s.base + PG), -EFAULT);
	assert_int_equal(sp_mempool_free(p, (char *)s.base + 4 * SLOT_BYTES + 4 * PG), -EFAULT);
	assert_int_equal(sp_mempool_free(q, s.base), -EFAULT);
	assert_int_equal(sp_mempool_free(NULL, s.base), -EINVAL);
	assert_int_equal(sp_mempool_grow(p, &local, 8 * PG), -EFAULT);
	assert_int_equal(sp_mempool_grow(p, s.base, SLOT_BYTES + PG), -EINVAL);
	assert_int_equal(sp_mempool_grow(p, s.base, 5 * PG + 1), -EINVAL);
	assert_int_equal(sp_mempool_grow(p, s.base, 2 * PG), 0); /* no shrink: no-op */
	assert_int_equal(mp_faults((unsigned char *)s.base + 4 * PG, 0), 1);
	/* Not-yet-allocated slot: */
	assert_int_equal(sp_mempool_free(p, (char *)s.base + (PG + SLOT_BYTES)), -EINVAL);
	assert_int_equal(sp_mempool_grow(p, (char *)s.base + (PG + SLOT_BYTES), 2 * PG), -EINVAL);

	/* Releasing the last reference of an image in use: -EBUSY, kept. */
	assert_int_equal(sp_image_release(img), -EBUSY);
	assert_int_equal(sp_mempool_check(p), 0);
	assert_int_equal(((unsigned char *)s.base)[PG], 7);
	assert_int_equal(sp_image_retain(img), 0);
	assert_int_equal(sp_image_release(img), 0); /* 2 -> 1 refs: fine */
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(sp_mempool_free(p, s.base), -EINVAL); /* double free */
	assert_int_equal(sp_mempool_grow(p, s.base, 8 * PG), -EINVAL);
	assert_int_equal(sp_mempool_check(p), 0);
	assert_int_equal(sp_image_release(img), 0);
	assert_int_equal(sp_image_release(NULL), -EINVAL);
	assert_int_equal(sp_image_retain(NULL), -EINVAL);
	assert_int_equal(sp_image_release(other), 0);
	assert_int_equal(sp_mempool_check(p), 0);

	/* The pool still works after all that. */
	assert_int_equal(sp_mempool_alloc(p, NULL, SLOT_BYTES, &s), 0);
	assert_int_equal(mp_first_diff(s.base, SLOT_BYTES, NULL, 0, 0), -1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp_mempool_destroy(p);
	sp_mempool_destroy(q);
	sp_mempool_destroy(NULL);
}

static void affinity_and_stats(void **state)
{
	(void)state;
	sp_mempool *p = make_pool(3);
	unsigned char a_bytes[PG], b_bytes[2 * PG];
	memset(a_bytes, 1, sizeof(a_bytes));
	memset(b_bytes, 2, sizeof(b_bytes));
	sp_image *a, *b;
	assert_int_equal(sp_image_create(p, a_bytes, sizeof(a_bytes), 0, &a), 0);
	assert_int_equal(sp_image_create(p, b_bytes, sizeof(b_bytes), 0, &b), 0);
	sp_mem_slot s1, s2, s3;
	assert_int_equal(sp_mempool_alloc(p, a, 2 * PG, &s1), 0);
	assert_int_equal(sp_mempool_alloc(p, b, 2 * PG, &s2), 0);
	assert_int_equal(s1.index, 0);
	assert_int_equal(s2.index, 1);
	memset(s1.base, 9, 2 * PG);
	assert_int_equal(sp_mempool_free(p, s1.base), 0);
	assert_int_equal(sp_mempool_alloc(p, a, 2 * PG, &s3), 0);
	assert_int_equal(s3.index, 0); /* warm for a: same slot, pristine */
	assert_int_equal(mp_first_diff(s3.base, 2 * PG, a_bytes, 0, sizeof(a_bytes)), -1);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.allocs, 3);
	assert_int_equal(st.affine_hits, 1);
	assert_int_equal(st.remaps, 2);
	assert_int_equal(st.in_use, 2);
	assert_int_equal(st.cold, 1);
	assert_int_equal(st.images, 2);
	assert_true(st.mappings >= 3);
	assert_true(st.max_map_count > 0);
	assert_int_equal(sp_mempool_free(p, s3.base), 0);
	assert_int_equal(sp_mempool_free(p, s2.base), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.warm, 2);
	assert_int_equal(st.in_use, 0);

	/* Release purges: no mapping of a dead image's memfd survives. */
	int before = mp_count_maps("memfd:slotpool-image");
	assert_true(before >= 4); /* 2 slots + 2 read-only sources */
	assert_int_equal(sp_image_release(a), 0);
	assert_int_equal(sp_image_release(b), 0);
	assert_int_equal(mp_count_maps("memfd:slotpool-image"), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.images, 0);
	assert_int_equal(st.warm, 2);
	assert_int_equal(sp_mempool_check(p), 0);
	assert_int_equal(sp_mempool_alloc(p, NULL, SLOT_BYTES, &s1), 0);
	assert_int_equal(mp_first_diff(s1.base, SLOT_BYTES, NULL, 0, 0), -1);
	assert_int_equal(sp_mempool_free(p, s1.base), 0);
	sp_mempool_destroy(p);
}

static void exhaustion(void **state)
{
	(void)state;
	sp_mempool *p = make_pool(4);
	unsigned char bytes[PG] = {1};
	sp_image *a, *b;
	assert_int_equal(sp_image_create(p, bytes, 1, 0, &a), 0);
	assert_int_equal(sp_image_create(p, bytes, 1, 0, &b), 0);
	sp_mem_slot s[4], t;
	assert_int_equal(sp_mempool_alloc(p, b, PG, &s[0]), 0);
	assert_int_equal(sp_mempool_alloc(p, b, PG, &s[1]), 0);
	assert_int_equal(sp_mempool_alloc(p, NULL, PG, &s[2]), 0);
	assert_int_equal(sp_mempool_alloc(p, b, PG, &s[3]), 0);
	assert_int_equal(sp_mempool_alloc(p, a, PG, &t), -ENOSPC);
	assert_int_equal(sp_mempool_alloc(p, NULL, PG, &t), -ENOSPC);

	sp_mempool_holder h[4];
	uint32_t n = 99;
	assert_int_equal(sp_mempool_report(p, h, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].image_id, sp_image_id(b));
	assert_int_equal(h[0].live, 3);
	assert_int_equal(h[1].image_id, 0);
	assert_int_equal(h[1].live, 1);
	assert_int_equal(sp_mempool_report(p, h, 1, &n), 0); /* truncated */
	assert_int_equal(n, 2);
	assert_int_equal(sp_mempool_report(p, NULL, 0, &n), 0);
	assert_int_equal(sp_mempool_report(p, NULL, 1, &n), -EINVAL);

	/* Bounded wait: times out with nothing freed. */
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 20 * 1000 * 1000;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	assert_int_equal(sp_mempool_alloc_wait(p, a, PG, &dl, &t), -ETIMEDOUT);
	/* A free makes room at once. */
	assert_int_equal(sp_mempool_free(p, s[1].base), 0);
	assert_int_equal(sp_mempool_alloc_wait(p, a, PG, &dl, &t), 0);
	assert_ptr_equal(t.base, s[1].base);
	assert_int_equal(((unsigned char *)t.base)[0], 1);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.waits, 1);
	assert_int_equal(sp_mempool_free(p, t.base), 0);
	for (int i = 0; i < 4; i++)
		if (i != 1)
			assert_int_equal(sp_mempool_free(p, s[i].base), 0);
	assert_int_equal(sp_mempool_report(p, h, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sp_image_release(a), 0);
	assert_int_equal(sp_image_release(b), 0);
	sp_mempool_destroy(p);
}

struct waiter {
	sp_mempool *p;
	sp_mem_slot got;
	int rc;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	w->rc = sp_mempool_alloc_wait(w->p, NULL, PG, NULL, &w->got);
	return NULL;
}

static void wait_woken_by_free(void **state)
{
	(void)state;
	sp_mempool *p = make_pool(1);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, NULL, PG, &s), 0);
	memset(s.base, 3, PG);
	struct waiter w = {.p = p, .rc = 1};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
	/* Let it block (the free below must wake it whenever it arrives). */
	struct timespec ms = {0, 20 * 1000 * 1000};
	nanosleep(&ms, NULL);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_ptr_equal(w.got.base, s.base);
	assert_int_equal(mp_first_diff(w.got.base, PG, NULL, 0, 0), -1);
	assert_int_equal(sp_mempool_free(p, w.got.base), 0);
	sp_mempool_destroy(p);
}

/* A released image's handle is refused everywhere, and nothing changes. */
static void stale_image_handles(void **state)
{
	(void)state;
	sp_mempool *p = make_pool(2);
	unsigned char bytes[PG] = {7};
	sp_image *img, *other;
	assert_int_equal(sp_image_create(p, bytes, 10, 0, &img), 0);
	assert_int_equal(sp_image_create(p, bytes, 10, 0, &other), 0);
	uint64_t id = sp_image_id(img);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, img, PG, &s), 0);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(sp_image_release(img), 0);
	sp_mempool_stats before = {.size = sizeof(before)}, after = {.size = sizeof(after)};
	assert_int_equal(sp_mempool_get_stats(p, &before), 0);
	assert_int_equal(sp_image_release(img), -EINVAL); /* double release */
	assert_int_equal(sp_image_retain(img), -EINVAL);
	assert_int_equal(sp_mempool_alloc(p, img, PG, &s), -EINVAL);
	struct timespec dl = {0, 0};
	assert_int_equal(sp_mempool_alloc_wait(p, img, PG, &dl, &s), -EINVAL);
	sp_image_stats is = {.size = sizeof(is)};
	assert_int_equal(sp_image_get_stats(img, &is), -EINVAL);
	assert_int_equal(sp_image_id(img), id);
	assert_int_equal(sp_mempool_get_stats(p, &after), 0);
	assert_int_equal(after.images, 1);
	assert_int_equal(after.allocs, before.allocs);
	assert_int_equal(after.in_use, 0);
	assert_int_equal(after.mappings, before.mappings);
	assert_int_equal(sp_mempool_check(p), 0);
	/* The other image is untouched. */
	assert_int_equal(sp_mempool_alloc(p, other, PG, &s), 0);
	assert_int_equal(((unsigned char *)s.base)[0], 7);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(sp_image_get_stats(other, &is), 0);
	assert_int_equal(is.id, sp_image_id(other));
	assert_int_equal(is.warm, 1);
	assert_int_equal(is.live, 0);
	assert_int_equal(is.remaps, 1);
	assert_int_equal(sp_image_release(other), 0);
	assert_int_equal(sp_image_release(other), -EINVAL);
	sp_mempool_destroy(p);
}

/* Every code the API can return has a name. */
static void strerror_names_every_code(void **state)
{
	(void)state;
	static const int codes[] = {
		EINVAL, ENOMEM, ENOSPC,     ENOENT, EOVERFLOW, EUCLEAN, EBUSY, ETIMEDOUT, ENOSYS,
		EFAULT, EPERM,  EACCES,     EAGAIN, EINTR,     EIO,     EBADF, EMFILE,    ENFILE,
		ENODEV, ENOTTY, EOPNOTSUPP, ESRCH,  EEXIST,    EPIPE,   EFBIG, EDQUOT};
	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++) {
		const char *m = sp_strerror(-codes[k]);
		if (strcmp(m, "unknown error") == 0)
			fail_msg("sp_strerror(-%d) is \"unknown error\"", codes[k]);
		assert_string_equal(m, sp_strerror(codes[k]));
	}
	assert_string_equal(sp_strerror(-4095), "unknown error");
}

/* The report counts what users hold: a slot whose decommit waits in the
 * batch is no longer its user's (stats.in_use still includes it). */
static void report_excludes_pending(void **state)
{
	(void)state;
	sp_mempool_config cfg = {.slots = 4,
	                         .slot_bytes = SLOT_BYTES,
	                         .guard_bytes = PG,
	                         .decommit_batch = 4,
	                         .flags = SP_MEMPOOL_RESET_DECOMMIT};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	unsigned char bytes[PG] = {1};
	sp_image *img;
	assert_int_equal(sp_image_create(p, bytes, 1, 0, &img), 0);
	sp_mem_slot a, b;
	assert_int_equal(sp_mempool_alloc(p, img, SLOT_BYTES, &a), 0);
	assert_int_equal(sp_mempool_alloc(p, img, SLOT_BYTES, &b), 0);
	memset(a.base, 2, SLOT_BYTES);
	assert_int_equal(sp_mempool_free(p, a.base), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.in_use, 2);
	sp_mempool_holder h[2];
	uint32_t n = 0;
	assert_int_equal(sp_mempool_report(p, h, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].image_id, sp_image_id(img));
	assert_int_equal(h[0].live, 1);
	sp_image_stats is = {.size = sizeof(is)};
	assert_int_equal(sp_image_get_stats(img, &is), 0);
	assert_int_equal(is.live, 1);
	assert_int_equal(sp_mempool_free(p, b.base), 0);
	assert_int_equal(sp_mempool_report(p, h, 2, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sp_image_release(img), 0); /* settles the batch */
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

/* resident_warm_bytes counts the pages a warm slot really keeps: where
 * PAGEMAP_SCAN can tell, the private pages, not the whole kept range. */
static void resident_counts_pages(void **state)
{
	(void)state;
	static const struct {
		unsigned flags;
		uint32_t track;
	} paths[] = {{0, SP_MEMPOOL_TRACK_WRITTEN},
	             {SP_MEMPOOL_NO_UFFD_WP, SP_MEMPOOL_TRACK_PRESENT},
	             {SP_MEMPOOL_NO_PAGEMAP_SCAN, SP_MEMPOOL_TRACK_HIGH_WATER}};
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
		sp_mempool_config cfg = {.slots = 1,
		                         .slot_bytes = SLOT_BYTES,
		                         .guard_bytes = PG,
		                         .keep_resident_bytes = 8 * PG,
		                         .flags = paths[k].flags};
		sp_mempool *p;
		assert_int_equal(sp_mempool_create(&cfg, &p), 0);
		sp_mempool_stats st = {.size = sizeof(st)};
		assert_int_equal(sp_mempool_get_stats(p, &st), 0);
		if (st.track_path != paths[k].track) {
			sp_mempool_destroy(p);
			continue;
		}
		sp_mem_slot s;
		for (int round = 0; round < 3; round++) {
			assert_int_equal(sp_mempool_alloc(p, NULL, SLOT_BYTES, &s), 0);
			memset((char *)s.base + PG, 1, 2 * PG);  /* two pages kept */
			memset((char *)s.base + 12 * PG, 1, PG); /* one decommitted */
			assert_int_equal(sp_mempool_free(p, s.base), 0);
			assert_int_equal(sp_mempool_get_stats(p, &st), 0);
			uint64_t want =
				paths[k].track == SP_MEMPOOL_TRACK_HIGH_WATER ? 8 * PG : 2 * PG;
			if (st.resident_warm_bytes != want)
				fail_msg("path %u round %d: resident_warm_bytes %llu, want %llu",
				         paths[k].track, round,
				         (unsigned long long)st.resident_warm_bytes,
				         (unsigned long long)want);
		}
		sp_mempool_destroy(p);
	}
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_errors),
		cmocka_unit_test(misuse),
		cmocka_unit_test(affinity_and_stats),
		cmocka_unit_test(exhaustion),
		cmocka_unit_test(wait_woken_by_free),
		cmocka_unit_test(stale_image_handles),
		cmocka_unit_test(strerror_names_every_code),
		cmocka_unit_test(report_excludes_pending),
		cmocka_unit_test(resident_counts_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
