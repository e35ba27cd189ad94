/* SPDX-License-Identifier: MIT */
/*
 * bench_lock.c: the floor of a locked design: the cost of one uncontended
 * acquire + release of the lock slotpool uses (src/lock.h), in a process
 * that has started a second thread (so every path is the multi-threaded
 * one, as inside a server), beside a pthread mutex measured the same way.
 * Prints the median of the repeats in ns, and "floor_ns=X" for scripts.
 *
 * Then the other floor, the one that bounds scaling (docs/PERFORMANCE.md,
 * "What limits scaling"): the time to move one written cache line from one
 * thread to another, from a ping-pong between two threads on one line
 * (half a round trip), "transfer_ns=X". The scheduler places the threads;
 * on a 2-CPU machine they are on different CPUs.
 *
 *   bench_lock [REPEATS]      (default 11; 10^7 pairs each)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "lock.h"

#define PAIRS 10000000

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
static int park_done;

static void *park(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&park_mu);
	while (!park_done)
		pthread_cond_wait(&park_cv, &park_mu);
	pthread_mutex_unlock(&park_mu);
	return NULL;
}

#define BOUNCES 1000000

static _Alignas(64) atomic_int ball;

/* Hands the ball back each time the main thread serves it. */
static void *bounce(void *arg)
{
	(void)arg;
	for (int i = 0; i < BOUNCES; i++) {
		while (atomic_load_explicit(&ball, memory_order_acquire) != 1)
			;
		atomic_store_explicit(&ball, 0, memory_order_release);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 11;
	if (reps < 1 || reps > 1000)
		reps = 11;
	pthread_t t;
	if (pthread_create(&t, NULL, park, NULL) != 0)
		return 1;
	static sp__lock l;
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static volatile unsigned sink;
	sp__lock_init(&l);
	double *spin = malloc(sizeof(double) * (size_t)reps);
	double *mtx = malloc(sizeof(double) * (size_t)reps);
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now_ns();
		for (int i = 0; i < PAIRS; i++) {
			sp__lock_acquire(&l);
			sink = sink + 1;
			sp__lock_release(&l);
		}
		double t1 = bench_now_ns();
		for (int i = 0; i < PAIRS; i++) {
			pthread_mutex_lock(&m);
			sink = sink + 1;
			pthread_mutex_unlock(&m);
		}
		double t2 = bench_now_ns();
		spin[r] = (t1 - t0) / PAIRS;
		mtx[r] = (t2 - t1) / PAIRS;
	}
	qsort(spin, (size_t)reps, sizeof(double), bench_cmp_double);
	qsort(mtx, (size_t)reps, sizeof(double), bench_cmp_double);
	printf("lock+unlock, uncontended, second thread started (median of %d x %d):\n", reps,
	       PAIRS);
	printf("  slotpool lock (src/lock.h)  %6.2f ns  (min %.2f, max %.2f)\n", spin[reps / 2],
	       spin[0], spin[reps - 1]);
	printf("  pthread_mutex               %6.2f ns  (min %.2f, max %.2f)\n", mtx[reps / 2],
	       mtx[0], mtx[reps - 1]);
	printf("floor_ns=%.3f\n", spin[reps / 2]);
	double *xfer = malloc(sizeof(double) * (size_t)reps);
	for (int r = 0; r < reps && xfer; r++) {
		pthread_t b;
		atomic_store(&ball, 0);
		if (pthread_create(&b, NULL, bounce, NULL) != 0)
			return 1;
		double t0 = bench_now_ns();
		for (int i = 0; i < BOUNCES; i++) {
			atomic_store_explicit(&ball, 1, memory_order_release);
			while (atomic_load_explicit(&ball, memory_order_acquire) != 0)
				;
		}
		xfer[r] = (bench_now_ns() - t0) / BOUNCES / 2;
		pthread_join(b, NULL);
	}
	if (xfer) {
		qsort(xfer, (size_t)reps, sizeof(double), bench_cmp_double);
		printf("cache line moved between two threads (half a ping-pong round trip, median of %d x %d):\n",
		       reps, BOUNCES);
		printf("  %6.2f ns  (min %.2f, max %.2f)\n", xfer[reps / 2], xfer[0],
		       xfer[reps - 1]);
		printf("transfer_ns=%.3f\n", xfer[reps / 2]);
		free(xfer);
	}
	pthread_mutex_lock(&park_mu);
	park_done = 1;
	pthread_cond_signal(&park_cv);
	pthread_mutex_unlock(&park_mu);
	pthread_join(t, NULL);
	free(spin);
	free(mtx);
	return 0;
}
