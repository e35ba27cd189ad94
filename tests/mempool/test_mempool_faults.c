/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_faults.c: the OS layer made to fail (mmap, mprotect,
 * madvise, memfd_create, process_madvise, ioctl): each failure returns a
 * clear error, the pool stays consistent (sp_mempool_check), nothing leaks,
 * and a slot whose reset failed is never handed out dirty.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/resource.h>

#include "mp_util.h"
#include "os/inject.h"

#define PG 4096u
#define SLOT_BYTES (16 * PG)

static unsigned char A[3 * PG], B[PG];

static sp_mempool *pool(unsigned flags, uint64_t keep, uint32_t batch, uint32_t slots)
{
	sp_mempool_config cfg = {.slots = slots,
	                         .slot_bytes = SLOT_BYTES,
	                         .guard_bytes = PG,
	                         .keep_resident_bytes = keep,
	                         .decommit_batch = batch,
	                         .flags = flags};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	return p;
}

static void teardown_check(sp_mempool *p)
{
	sp__os_fail_clear();
	assert_int_equal(sp_mempool_check(p), 0);
}

static void create_failures(void **state)
{
	(void)state;
	int fds = mp_count_fds(), maps = mp_count_maps(NULL);
	sp_mempool_config cfg = {.slots = 4, .slot_bytes = SLOT_BYTES};
	sp_mempool *sentinel = (sp_mempool *)&state, *p = sentinel;
	sp__os_fail(SP__OS_MMAP, 0, 1, -ENOMEM); /* the reservation */
	assert_int_equal(sp_mempool_create(&cfg, &p), -ENOMEM);
	assert_ptr_equal(p, sentinel);
	sp__os_fail_clear();
	assert_int_equal(mp_count_fds(), fds);
	if (!MP_ASAN)
		assert_int_equal(mp_count_maps(NULL), maps);

	p = pool(0, 0, 1, 2);
	sp_image *img = (sp_image *)&state;
	sp__os_fail(SP__OS_MEMFD, 0, 1, -EMFILE);
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, &img), -EMFILE);
	sp__os_fail(SP__OS_MMAP, 0, 1, -ENOMEM); /* the read-only source */
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, &img), -ENOMEM);
	assert_ptr_equal(img, (sp_image *)&state);
	teardown_check(p);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.images, 0);
	sp_mempool_destroy(p);
	assert_int_equal(mp_count_fds(), fds);
	if (!MP_ASAN)
		assert_int_equal(mp_count_maps(NULL), maps);
}

/* A reservation the real kernel refuses (address space limited by
 * RLIMIT_AS, in a child): -ENOMEM and nothing left mapped. */
static void kernel_refuses_reservation(void **state)
{
	(void)state;
	if (MP_ASAN)
		skip(); /* ASan's shadow memory cannot live under RLIMIT_AS */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {(rlim_t)1 << 32, (rlim_t)1 << 32}; /* 4 GiB */
		int maps = mp_count_maps(NULL);
		sp_mempool_config cfg = {.slots = 64, .slot_bytes = (uint64_t)1 << 30};
		sp_mempool *p = NULL;
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(3);
		int err = sp_mempool_create(&cfg, &p);
		_exit(err == -ENOMEM && p == NULL && mp_count_maps(NULL) == maps ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(mp_waitpid(pid, &st), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Alloc img on a 1-slot pool whose slot last held `prev` (dirtied), with
 * call `skip` of op failing; then the slot must come back pristine. */
static void alloc_failure(unsigned flags, enum sp__os_op op, uint32_t skip)
{
	sp_mempool *p = pool(flags, 2 * PG, 1, 1); /* keep: write tracking on */
	sp_image *a, *b;
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, &a), 0);
	assert_int_equal(sp_image_create(p, B, sizeof(B), 2 * PG, &b), 0);
	sp_mem_slot s, t = {.index = 5};
	assert_int_equal(sp_mempool_alloc(p, a, 8 * PG, &s), 0);
	memset(s.base, 0xee, 8 * PG);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp__os_fail(op, skip, 1, -EIO);
	if (sp_mempool_alloc(p, b, 4 * PG, &t) != -EIO)
		fail_msg("flags %x op %d skip %u: alloc did not fail", flags, (int)op, skip);
	assert_int_equal(t.index, 5);
	teardown_check(p);
	assert_int_equal(sp_mempool_alloc(p, b, 4 * PG, &t), 0);
	assert_int_equal(mp_first_diff(t.base, 4 * PG, B, 2 * PG, sizeof(B)), -1);
	assert_int_equal(mp_faults((unsigned char *)t.base + 4 * PG, 0), 1);
	assert_int_equal(sp_mempool_free(p, t.base), 0);
	assert_int_equal(sp_mempool_alloc(p, a, 8 * PG, &t), 0);
	assert_int_equal(mp_first_diff(t.base, 8 * PG, A, 0, sizeof(A)), -1);
	assert_int_equal(sp_mempool_free(p, t.base), 0);
	assert_int_equal(sp_image_release(a), 0);
	assert_int_equal(sp_image_release(b), 0);
	teardown_check(p);
	sp_mempool_destroy(p);
}

static void alloc_remap_failures(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < 2; k++) { /* anon remap, then image map */
		alloc_failure(0, SP__OS_MMAP, k);
		alloc_failure(SP_MEMPOOL_NO_GUARD_INSTALL, SP__OS_MMAP, k);
	}
	alloc_failure(SP_MEMPOOL_NO_GUARD_INSTALL, SP__OS_MPROTECT, 0);
	alloc_failure(0, SP__OS_MADVISE, 0); /* guard markers past accessible */
	alloc_failure(0, SP__OS_IOCTL, 0);   /* userfaultfd registration */
}

static void grow_failure(void **state)
{
	(void)state;
	unsigned flags[2] = {0, SP_MEMPOOL_NO_GUARD_INSTALL};
	enum sp__os_op op[2] = {SP__OS_MADVISE, SP__OS_MPROTECT};
	for (int k = 0; k < 2; k++) {
		sp_mempool *p = pool(flags[k], 0, 1, 2);
		sp_mem_slot s;
		assert_int_equal(sp_mempool_alloc(p, NULL, 2 * PG, &s), 0);
		sp__os_fail(op[k], 0, 1, -ENOMEM);
		if (sp_mempool_grow(p, s.base, 4 * PG) != -ENOMEM)
			fail_msg("k %d: grow did not fail", k);
		teardown_check(p);
		assert_int_equal(mp_faults((unsigned char *)s.base + 2 * PG, 0), 1);
		assert_int_equal(sp_mempool_grow(p, s.base, 4 * PG), 0);
		assert_int_equal(mp_first_diff(s.base, 4 * PG, NULL, 0, 0), -1);
		assert_int_equal(sp_mempool_free(p, s.base), 0);
		sp_mempool_destroy(p);
	}
}

/* Free with call `skip` of op failing: free reports want_err, and the next
 * user of the slot sees it pristine. */
static int also_fail_madvise; /* make the madvise fallback fail too */

static void free_failure(unsigned flags, uint64_t keep, uint32_t batch, enum sp__os_op op,
                         uint32_t skip, uint32_t count, int want_err)
{
	sp_mempool *p = pool(flags, keep, batch, batch);
	sp_image *a;
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, &a), 0);
	sp_mem_slot s[4];
	for (uint32_t k = 0; k < batch; k++) {
		assert_int_equal(sp_mempool_alloc(p, k % 2 ? NULL : a, 12 * PG, &s[k]), 0);
		memset((char *)s[k].base + PG, 0xdd, 10 * PG);
	}
	sp__os_fail(op, skip, count, -EIO);
	if (also_fail_madvise)
		sp__os_fail(SP__OS_MADVISE, 0, 1, -EIO);
	int first = 0;
	for (uint32_t k = 0; k < batch; k++) {
		int err = sp_mempool_free(p, s[k].base);
		first = first ? first : err;
	}
	assert_int_equal(first, want_err);
	teardown_check(p);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.reset_failures, want_err ? batch : 0);
	for (uint32_t k = 0; k < batch; k++) {
		sp_mem_slot t;
		assert_int_equal(sp_mempool_alloc(p, k % 2 ? NULL : a, 12 * PG, &t), 0);
		assert_int_equal(mp_first_diff(t.base, 12 * PG, k % 2 ? NULL : A, 0, sizeof(A)),
		                 -1);
		s[k] = t;
	}
	for (uint32_t k = 0; k < batch; k++)
		assert_int_equal(sp_mempool_free(p, s[k].base), 0);
	assert_int_equal(sp_image_release(a), 0);
	teardown_check(p);
	sp_mempool_destroy(p);
}

static void free_reset_failures(void **state)
{
	(void)state;
	/* madvise(MADV_DONTNEED) */
	free_failure(SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_PROCESS_MADVISE, 0, 1,
	             SP__OS_MADVISE, 0, 1, -EIO);
	free_failure(SP_MEMPOOL_NO_PAGEMAP_SCAN, 4 * PG, 1, SP__OS_MADVISE, 0, 1, -EIO);
	/* PAGEMAP_SCAN / write-protect ioctls */
	free_failure(SP_MEMPOOL_RESET_DECOMMIT, 0, 1, SP__OS_IOCTL, 0, 1, -EIO);
	free_failure(0, 4 * PG, 1, SP__OS_IOCTL, 1, 1, -EIO); /* re-arming after restore */
	free_failure(SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_UFFD_WP, 0, 1, SP__OS_IOCTL, 0, 1,
	             -EIO);
	/* The reset in place: its scan fails. */
	free_failure(SP_MEMPOOL_RESET_RESTORE, 0, 1, SP__OS_IOCTL, 0, 1, -EIO);
	/* The adaptive reset without PAGEMAP_SCAN restores in place: no call. */
	free_failure(SP_MEMPOOL_NO_PAGEMAP_SCAN, 0, 1, SP__OS_MADVISE, 0, 1, 0);
}

static void batch_failures(void **state)
{
	(void)state;
	sp_mempool_config probe = {.slots = 2};
	sp_mempool *p;
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_create(&probe, &p), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	sp_mempool_destroy(p);
	if (st.decommit_path == SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE) {
		/* process_madvise fails: the madvise fallback cleans up, no error. */
		free_failure(SP_MEMPOOL_RESET_DECOMMIT, 0, 4, SP__OS_PROCESS_MADVISE, 0, 1, 0);
		/* both fail: the error comes back, the slots are rebuilt. */
		also_fail_madvise = 1;
		free_failure(SP_MEMPOOL_RESET_DECOMMIT, 0, 4, SP__OS_PROCESS_MADVISE, 0, 1, -EIO);
		also_fail_madvise = 0;
	}
	free_failure(SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_PROCESS_MADVISE, 0, 3,
	             SP__OS_MADVISE, 0, 1, -EIO);
}

/* A trim whose decommit fails: the slot is rebuilt before its next use,
 * and reads pristine. */
static void trim_failure(void **state)
{
	(void)state;
	sp_mempool *p = pool(SP_MEMPOOL_RESET_RESTORE, 0, 1, 2);
	sp_image *a;
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, &a), 0);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, a, 12 * PG, &s), 0);
	memset((char *)s.base + PG, 0xdd, 10 * PG);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_true(st.resident_warm_bytes > 0);
	sp__os_fail(SP__OS_MADVISE, 0, 1, -EIO);
	assert_int_equal(sp_mempool_trim(p, 0), 0);
	sp__os_fail_clear();
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.reset_failures, 1);
	assert_int_equal(st.resident_warm_bytes, 0);
	assert_int_equal(sp_mempool_alloc(p, a, 12 * PG, &s), 0);
	assert_int_equal(mp_first_diff(s.base, 12 * PG, A, 0, sizeof(A)), -1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(sp_image_release(a), 0);
	teardown_check(p);
	sp_mempool_destroy(p);
}

static void watchdog_fired(int sig)
{
	static const char msg[] = "watchdog: the call hung (reclaim_mu locked twice?)\n";
	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* One slot, warm for a with dirtied pages restored in place (so it keeps
 * them), under a mappings budget of `limit` (0: the default). */
static sp_mempool *warm_slot(uint32_t limit, sp_image **a)
{
	sp_mempool_config cfg = {.slots = 1,
	                         .slot_bytes = SLOT_BYTES,
	                         .guard_bytes = PG,
	                         .decommit_batch = 1,
	                         .flags = SP_MEMPOOL_RESET_RESTORE,
	                         .map_headroom = limit ? mp_max_map_count() - limit : 0};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	assert_int_equal(sp_image_create(p, A, sizeof(A), 0, a), 0);
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, *a, 12 * PG, &s), 0);
	memset((char *)s.base + PG, 0xdd, 10 * PG);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	return p;
}

/*
 * Regression: a slot marked failed under reclaim_mu locked reclaim_mu
 * again. A reclaim of kept pages (sp_mempool_trim) holds reclaim_mu; when
 * its decommit of a warm slot fails, the slot is marked failed, which
 * counts the slot's worst-case mappings. With the mappings budget full,
 * that count used to take them by reclaiming (reclaim_mu again, on the
 * same thread: a hang). It now only takes what the budget has room for.
 */
static void failed_slot_under_reclaim_mu_relocked(void **state)
{
	(void)state;
	uint32_t max = mp_max_map_count();
	if (max < 1000)
		skip();
	/* What the setup holds on this kernel's guard path, measured. */
	sp_image *a;
	sp_mempool *p = warm_slot(0, &a);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	uint32_t limit = st.mappings;
	int alone = st.process_mappings == st.mappings;
	assert_int_equal(sp_image_release(a), 0);
	sp_mempool_destroy(p);
	if (!alone)
		skip(); /* another pool of this process holds mappings */

	/* The same setup with the budget exactly full. */
	p = warm_slot(limit, &a);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.map_limit, limit);
	assert_int_equal(st.process_mappings, limit);
	assert_true(st.resident_warm_bytes > 0);

	sp__os_fail(SP__OS_MADVISE, 0, 1, -EIO); /* the trim's decommit */
	signal(SIGALRM, watchdog_fired);
	alarm(10);
	int err = sp_mempool_trim(p, 0);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	sp__os_fail_clear();
	assert_int_equal(err, 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.reset_failures, 1);
	assert_int_equal(st.resident_warm_bytes, 0);
	assert_int_equal(st.budget_reclaims, 0);
	/* No room for the failed slot's worst case: it counts what it had. */
	assert_int_equal(st.process_mappings, limit);
	assert_int_equal(sp_mempool_check(p), 0);

	/* The failed slot is rebuilt before its next use: pristine. */
	sp_mem_slot s;
	assert_int_equal(sp_mempool_alloc(p, a, 12 * PG, &s), 0);
	assert_int_equal(mp_first_diff(s.base, 12 * PG, A, 0, sizeof(A)), -1);
	assert_int_equal(mp_faults((unsigned char *)s.base + 12 * PG, 0), 1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	assert_int_equal(sp_mempool_trim(p, 0), 0);
	assert_int_equal(sp_image_release(a), 0);
	teardown_check(p);
	sp_mempool_destroy(p);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_failures),
		cmocka_unit_test(kernel_refuses_reservation),
		cmocka_unit_test(alloc_remap_failures),
		cmocka_unit_test(grow_failure),
		cmocka_unit_test(free_reset_failures),
		cmocka_unit_test(batch_failures),
		cmocka_unit_test(trim_failure),
		cmocka_unit_test(failed_slot_under_reclaim_mu_relocked),
	};
	memset(A, 0xa1, sizeof(A));
	memset(B, 0xb2, sizeof(B));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
