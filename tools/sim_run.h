/* SPDX-License-Identifier: MIT */
/*
 * sim_run.h: the replay engine behind slotpool-sim: a timed replay of a parsed
 * trace on a fresh sp_index, the post-pass that derives peaks and checks the
 * results, and the single-pass multi-budget replay used by `sweep`.
 */
#ifndef SP_TOOLS_SIM_RUN_H
#define SP_TOOLS_SIM_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "progress.h"
#include "trace.h"

struct sim_config {
	uint32_t capacity;
	uint32_t warm; /* max_unused_warm_slots */
	uint32_t shards;
};

/*
 * sim_refusal: sp_index_create's error `err` for an index of `capacity` slots cut
 * into `shards` shards, in words with the library's limits for the user:
 * "invalid argument: the capacity is at most 1073741824 slots (2^30)". Writes
 * buf[0..len) and returns buf.
 */
const char *sim_refusal(int err, uint32_t capacity, uint32_t shards, char *buf, size_t len);

/* sim_probe: create and destroy an index of *cfg, to refuse a bad
 * configuration before reading a trace. 0 or sp_index_create's error. */
int sim_probe(const struct sim_config *cfg);

/* What one replay of a trace measured. Counters come from sp_index_stats of
 * the (last) run; peaks from the post-pass or, in a sweep, from stats after
 * each free (the only operation that can raise them). */
struct sim_result {
	uint32_t warm;          /* the budget replayed */
	uint32_t shards;        /* shards of the index (sp_index_stats) */
	uint64_t ops;           /* a/c/f lines */
	uint64_t alloc_ops;     /* a/c lines */
	uint64_t keyed_ops;     /* a K lines: the hit rate's denominator */
	uint64_t allocs;        /* successful a/c */
	uint64_t failed_allocs; /* a that got -ENOSPC */
	uint64_t affine_hits;   /* a K served from K's own warm slots */
	uint64_t cold_picks;
	uint64_t warm_steals;
	uint64_t clears;       /* successful c */
	uint64_t clear_misses; /* c that got -ENOENT */
	uint64_t frees;        /* slots freed (f of a handle that got one) */
	uint64_t peak_in_use;
	uint64_t peak_unused_warm;
	uint64_t peak_unused_bytes; /* peak of unused_bytes_resident */
	uint64_t final_unused_warm;
	uint64_t unused_bytes_resident; /* at the end */
	uint64_t bytes_overflows;       /* frees whose bytes were dropped (sum > 2^64-1) */
	double ns_per_op;               /* best over the repeats; 0 in a sweep */
};

/* Starts and joins a thread once per process, so that libc and the library
 * take their multi-threaded paths before anything is timed. */
void sim_go_multithreaded(void);

/*
 * sim_replay: replay t `repeat` (>= 1) times, each on a fresh index made from
 * *cfg, timing only the loop of API calls; store the slot of each handle in
 * results[0 .. t->nhandles) (SP_INDEX_NO_SLOT when it got none), fill *out.
 * progress, when not NULL, is updated between repeats (outside the clock).
 * Returns 0; a negative errno from sp_index_create (cfg refused); or -EUCLEAN
 * when the results are impossible (a slot out of range or handed out twice,
 * or repeats disagree), with a message on stderr.
 */
int sim_replay(const struct trace *t, const struct sim_config *cfg, unsigned repeat,
               uint32_t *results, struct sim_result *out, struct progress *progress);

/*
 * sim_replay_many: replay t once for each of the n budgets warm[0..n) in a
 * single pass over the trace (every operation is applied to all n indices
 * before the next is read), storing out[i] for warm[i]. progress, when not
 * NULL, is updated now and then with the fraction done. Returns 0 or a
 * negative errno (-ENOMEM, or sp_index_create's error).
 */
int sim_replay_many(const struct trace *t, const struct sim_config *cfg, const uint32_t *warm,
                    size_t n, struct sim_result *out, struct progress *progress);

/* sim_print_summary: the replay summary of *r, as "name value" lines or,
 * with json != 0, as one JSON object on one line. */
void sim_print_summary(FILE *f, const struct sim_config *cfg, const struct sim_result *r, int json);

/* Shared by the commands. */

/* sim_check_config: SIM_EXIT_OK, or SIM_EXIT_FAIL after printing "CMD:
 * capacity C, warm W, shards S: why" (sim_refusal) when the library refuses
 * *cfg. Warns when cfg->warm is above the capacity (it then acts as the
 * capacity) unless quiet_warm is set. */
int sim_check_config(const struct cli *c, const struct sim_config *cfg, bool quiet_warm);

/* sim_load: trace_load(path) with its message printed. SIM_EXIT_OK, or
 * SIM_EXIT_USAGE (a bad or unreadable trace), or SIM_EXIT_FAIL (out of
 * memory). Warns when the trace has no operation, or no `a K` line (no hit
 * rate to measure). */
int sim_load(const struct cli *c, const char *path, struct trace *t);

#endif /* SP_TOOLS_SIM_RUN_H */
