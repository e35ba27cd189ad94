/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_wait.c: the wait contract of sp_mempool_alloc_wait. A
 * waiter gets a slot as soon as one can be handed out, including one whose
 * free parked it in the decommit batch; a deadline with tv_nsec outside
 * [0, 1e9) is -EINVAL without waiting; a deadline that passes is
 * -ETIMEDOUT and counted.
 *
 * Each case runs under alarm(), so that a waiter that is never woken (or a
 * wait that spins) kills the test with SIGALRM instead of hanging it.
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
#define WATCHDOG_S 5

/* Run fn with a watchdog: SIGALRM (fatal) if it does not return in time. */
static void watched(void (*fn)(void), const char *what)
{
	print_message("%s (a hang is killed after %d s)\n", what, WATCHDOG_S);
	alarm(WATCHDOG_S);
	fn();
	alarm(0);
}

#define WCHECK(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg(__VA_ARGS__);                                                     \
	} while (0)

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct timespec in_seconds(double s)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long ns = t.tv_nsec + (long)(s * 1e9);
	t.tv_sec += ns / 1000000000L;
	t.tv_nsec = ns % 1000000000L;
	return t;
}

struct waiter {
	sp_mempool *p;
	const struct timespec *deadline;
	sp_mem_slot got;
	int rc;
	double waited;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	double t0 = now_s();
	w->rc = sp_mempool_alloc_wait(w->p, NULL, PG, w->deadline, &w->got);
	w->waited = now_s() - t0;
	return NULL;
}

/* Every slot in use, a waiter blocked, then one free that goes into the
 * batch (a written slot, decommit_batch 2): the waiter must get it now. */
static void batched_free_wakes(const struct timespec *deadline)
{
	sp_mempool_config cfg = {.slots = 2,
	                         .slot_bytes = SLOT_BYTES,
	                         .guard_bytes = PG,
	                         .decommit_batch = 2,
	                         .flags = SP_MEMPOOL_RESET_DECOMMIT};
	sp_mempool *p;
	WCHECK(sp_mempool_create(&cfg, &p) == 0, "create");
	sp_mem_slot a, b;
	WCHECK(sp_mempool_alloc(p, NULL, SLOT_BYTES, &a) == 0, "alloc a");
	WCHECK(sp_mempool_alloc(p, NULL, SLOT_BYTES, &b) == 0, "alloc b");
	memset(a.base, 7, SLOT_BYTES); /* dirty: its free has a decommit to batch */
	struct waiter w = {.p = p, .deadline = deadline, .rc = 1};
	pthread_t th;
	WCHECK(pthread_create(&th, NULL, wait_thread, &w) == 0, "thread");
	struct timespec ms = {0, 50 * 1000 * 1000};
	nanosleep(&ms, NULL); /* let it block; it must be woken whenever */
	WCHECK(sp_mempool_free(p, a.base) == 0, "free a");
	WCHECK(pthread_join(th, NULL) == 0, "join");
	WCHECK(w.rc == 0, "waiter got %d (%s)", w.rc, sp_strerror(w.rc));
	WCHECK(w.got.base == a.base, "waiter got another slot");
	WCHECK(mp_first_diff(w.got.base, PG, NULL, 0, 0) == -1, "waiter's slot is dirty");
	WCHECK(w.waited < 2.0, "waited %.2f s for a slot that was free", w.waited);
	WCHECK(sp_mempool_free(p, w.got.base) == 0, "free");
	WCHECK(sp_mempool_free(p, b.base) == 0, "free b");
	WCHECK(sp_mempool_check(p) == 0, "check");
	sp_mempool_destroy(p);
}

static void batched_no_deadline(void)
{
	batched_free_wakes(NULL);
}

static void batched_with_deadline(void)
{
	struct timespec dl = in_seconds(3.0);
	batched_free_wakes(&dl);
}

static void test_batched_free_wakes_waiter(void **state)
{
	(void)state;
	watched(batched_no_deadline, "waiter without deadline, free into the batch");
	watched(batched_with_deadline, "waiter with deadline, free into the batch");
}

/* Invalid deadlines: -EINVAL at once, whether or not a slot is free. */
static void bad_deadlines(void)
{
	sp_mempool_config cfg = {.slots = 1, .slot_bytes = SLOT_BYTES, .guard_bytes = PG};
	sp_mempool *p;
	WCHECK(sp_mempool_create(&cfg, &p) == 0, "create");
	struct timespec bad[3] = {in_seconds(1), in_seconds(1), in_seconds(1)};
	bad[0].tv_nsec = 1000000000L;
	bad[1].tv_nsec = -1;
	bad[2].tv_nsec = 1999999999L;
	sp_mem_slot s, t;
	for (int k = 0; k < 3; k++) /* a slot is free: still refused, none taken */
		WCHECK(sp_mempool_alloc_wait(p, NULL, PG, &bad[k], &t) == -EINVAL,
		       "free slot, bad deadline %d accepted", k);
	WCHECK(sp_mempool_alloc(p, NULL, PG, &s) == 0, "the slot was taken");
	double t0 = now_s();
	for (int k = 0; k < 3; k++) /* full: refused without waiting */
		WCHECK(sp_mempool_alloc_wait(p, NULL, PG, &bad[k], &t) == -EINVAL,
		       "full pool, bad deadline %d", k);
	WCHECK(now_s() - t0 < 0.5, "a bad deadline waited");
	sp_mempool_stats st = {.size = sizeof(st)};
	WCHECK(sp_mempool_get_stats(p, &st) == 0 && st.waits == 0, "counted as waits");
	WCHECK(sp_mempool_free(p, s.base) == 0, "free");
	sp_mempool_destroy(p);
}

static void test_bad_deadline_is_einval(void **state)
{
	(void)state;
	watched(bad_deadlines, "alloc_wait with tv_nsec outside [0, 1e9)");
}

/* A deadline that passes: -ETIMEDOUT, counted once per wait. */
static void test_timeout_counted(void **state)
{
	(void)state;
	sp_mempool_config cfg = {.slots = 1, .slot_bytes = SLOT_BYTES, .guard_bytes = PG};
	sp_mempool *p;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	sp_mem_slot s, t;
	assert_int_equal(sp_mempool_alloc(p, NULL, PG, &s), 0);
	struct timespec dl = in_seconds(0.02);
	assert_int_equal(sp_mempool_alloc_wait(p, NULL, PG, &dl, &t), -ETIMEDOUT);
	assert_int_equal(sp_mempool_alloc(p, NULL, PG, &t), -ENOSPC);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	assert_int_equal(st.waits, 1);
	assert_int_equal(st.wait_timeouts, 1);
	assert_int_equal(st.failed_allocs, 1);
	assert_int_equal(sp_mempool_free(p, s.base), 0);
	sp_mempool_destroy(p);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batched_free_wakes_waiter),
		cmocka_unit_test(test_bad_deadline_is_einval),
		cmocka_unit_test(test_timeout_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
