/* SPDX-License-Identifier: MIT */
/*
 * bench_replay_floor.c: what a replay costs before any policy. The replay
 * loop of `slotpool-sim replay` (tools/sim_run.c: a switch on the operation,
 * a call, the result stored by handle) driven against the least an
 * allocator can do under the same lock: a LIFO stack of free slots, no keys,
 * no counters. Its ns/op is the harness's floor: the part of a replay's
 * ns/op that no affinity policy can remove (the unpredictable branch on the
 * operation type, the calls, the lock, the result stores). It is not the
 * seed's policy and hands out other slots; only the time is compared.
 *
 *   bench_replay_floor TRACE CAPACITY [ROUNDS]
 *
 * Prints "harness_ns=X" (median of ROUNDS, each the best of 3 replays) for
 * scripts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "lock.h"
#include "trace.h"

struct lifo {
	sp__lock lock;
	uint32_t top;
	uint32_t *free;
};

__attribute__((noinline)) static int lifo_alloc(struct lifo *f, uint64_t key, uint32_t *slot)
{
	(void)key;
	sp__lock_acquire(&f->lock);
	if (f->top == 0) {
		sp__lock_release(&f->lock);
		return -1;
	}
	*slot = f->free[--f->top];
	sp__lock_release(&f->lock);
	return 0;
}

__attribute__((noinline)) static int lifo_free(struct lifo *f, uint32_t slot, uint64_t bytes)
{
	(void)bytes;
	sp__lock_acquire(&f->lock);
	f->free[f->top++] = slot;
	sp__lock_release(&f->lock);
	return 0;
}

/* The shape of tools/sim_run.c's replay_loop, call for call. */
__attribute__((noinline)) static void replay(struct lifo *f, const struct trace_op *ops, size_t n,
                                             uint32_t *res)
{
	for (size_t i = 0; i < n; i++) {
		const struct trace_op *op = &ops[i];
		switch (op->kind) {
		case TRACE_ALLOC:
		case TRACE_CLEAR:
			lifo_alloc(f, op->val, &res[op->handle]);
			break;
		case TRACE_ALLOC_NOKEY:
			lifo_alloc(f, 0, &res[op->handle]);
			break;
		default: {
			uint32_t s = res[op->handle];
			if (s != UINT32_MAX)
				lifo_free(f, s, op->val);
		}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_replay_floor TRACE CAPACITY [ROUNDS]\n");
		return 2;
	}
	char *end;
	unsigned long cap = strtoul(argv[2], &end, 10);
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (*end || cap == 0 || cap > UINT32_MAX - 1 || rounds < 1 || rounds > 1000) {
		fprintf(stderr, "bench_replay_floor: bad CAPACITY or ROUNDS\n");
		return 2;
	}
	struct trace t;
	char err[256];
	if (trace_load(argv[1], &t, err, sizeof err) != 0) {
		fprintf(stderr, "bench_replay_floor: %s\n", err);
		return 2;
	}
	struct lifo f;
	f.free = malloc(cap * sizeof *f.free);
	uint32_t *res = malloc((t.nhandles ? t.nhandles : 1) * sizeof *res);
	double *med = malloc((size_t)rounds * sizeof *med);
	if (!f.free || !res || !med) {
		fprintf(stderr, "bench_replay_floor: out of memory\n");
		return 1;
	}
	sp__lock_init(&f.lock);
	for (int r = 0; r < rounds; r++) {
		double best = 0;
		for (int k = 0; k < 3; k++) {
			/* Slots 0, 1, 2, ... first, as a fresh index hands them. */
			f.top = (uint32_t)cap;
			for (uint32_t i = 0; i < cap; i++)
				f.free[i] = (uint32_t)cap - 1 - i;
			for (size_t i = 0; i < t.nhandles; i++)
				res[i] = UINT32_MAX;
			double t0 = bench_now_ns();
			replay(&f, t.ops, t.nops, res);
			double dt = (bench_now_ns() - t0) / (double)(t.nops ? t.nops : 1);
			if (k == 0 || dt < best)
				best = dt;
		}
		med[r] = best;
	}
	qsort(med, (size_t)rounds, sizeof *med, bench_cmp_double);
	printf("harness_ns=%.3f\n", med[rounds / 2]);
	trace_free(&t);
	free(f.free);
	free(res);
	free(med);
	return 0;
}
