/* SPDX-License-Identifier: MIT */
/*
 * sim_mt.c: `slotpool-sim mt`: threaded throughput of alloc(key)/free on one
 * shared sp_index, the same workload as `seed_replay --mt` so the two numbers
 * compare directly (see mt_gen/mt_worker/mt_main in
 * ../shared/anchors/seed_replay.rs):
 *   - thread t's ops are pre-generated from SplitMix64(seed*1000003 + t): an
 *     op is a key in 1..K (Zipf(S) by rank) or FREE_BIT|r, "free live[r % n]";
 *     the generator keeps the thread's live count <= capacity/threads;
 *   - threads wait on a barrier; the clock runs from the barrier until every
 *     thread is joined; slots still live are freed after the clock stops.
 * Mops/s is the best over --repeat runs, each on a fresh index.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "draw.h"
#include "progress.h"
#include "sim.h"
#include "sim_run.h"
#include "slotpool.h"

static const char help[] =
	"usage: slotpool-sim mt --capacity C --warm W --threads T --ops N [--shards S]\n"
	"                       [--keys K] [--zipf Z] [--free-prob P] [--seed X]\n"
	"                       [--repeat R] [--own-keys] [--home-affinity] [--json]\n"
	"\n"
	"T threads each run N alloc(key)/free operations on one shared index of C\n"
	"slots (keys Zipf(Z) over 1..K, each thread its own random stream, at most\n"
	"C/T slots live per thread) and the total Mops/s is printed, best of R runs,\n"
	"with the affine hit rate (affine hits / keyed alloc calls). The workload is\n"
	"exactly `seed_replay --mt C W --threads T --ops N ...`.\n"
	"  --capacity C  --warm W   the index (required)\n"
	"  --threads T   threads, >= 1 (required)\n"
	"  --ops N       operations per thread, >= 1 (required)\n"
	"  --shards S    sp_index_config.shards (default 0 = automatic)\n"
	"  --keys K      distinct keys (default 1000)\n"
	"  --zipf Z      Zipf exponent (default 1.0)\n"
	"  --free-prob P probability that an op frees (default 0.5)\n"
	"  --seed X      (default 1)     --repeat R (default 1)\n"
	"  --own-keys    thread t draws its keys from t*K+1..t*K+K: no key is shared\n"
	"                between threads (not the seed's workload; shows what sharing\n"
	"                keys costs)\n"
	"  --home-affinity  sp_index_config.flags |= SP_INDEX_HOME_AFFINITY: a key's\n"
	"                warm slot is looked for in the thread's home shard only\n"
	"  --json        one JSON object with mops and affine_hit_rate\n"
	"  --version     print slotpool-sim's version\n"
	"`shards` in the output is the index's (with --shards 0, what it chose).\n"
	"Exit status: 0 ok, 1 the library refused the configuration, 2 bad\n"
	"arguments, 4 the result could not be written.\n"
	"Example:\n"
	"  slotpool-sim mt --capacity 1000 --warm 100 --threads 4 --ops 1000000 --keys 1000 --zipf 1.0\n";

#define FREE_BIT (UINT64_C(1) << 63)

/* mt_gen, line for line. */
static void mt_gen(uint64_t *v, uint64_t n, const double *cdf, uint64_t keys, double acc,
                   double free_p, uint64_t cap, uint64_t seed, uint64_t key_base)
{
	uint64_t rng = seed, live = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (live > 0 && (live >= cap || sm_unit(&rng) < free_p)) {
			v[i] = FREE_BIT | (sm_next(&rng) >> 2);
			live--;
		} else {
			v[i] = key_base + zipf_rank(cdf, keys, sm_unit(&rng) * acc) + 1;
			live++;
		}
	}
}

struct worker {
	pthread_t th;
	sp_index *ix;
	pthread_barrier_t *bar;
	const uint64_t *ops;
	uint64_t n;
	uint32_t *live; /* cap + 1 */
	uint64_t nlive;
	uint64_t fails;
};

/* mt_worker: the timed body of one thread. */
static void *mt_worker(void *arg)
{
	struct worker *w = arg;
	sp_index *ix = w->ix;
	uint32_t *live = w->live;
	uint64_t nlive = 0, fails = 0;
	pthread_barrier_wait(w->bar);
	for (uint64_t i = 0; i < w->n; i++) {
		uint64_t op = w->ops[i];
		if (op & FREE_BIT) {
			if (nlive) {
				uint64_t j = (op & ~FREE_BIT) % nlive;
				uint32_t s = live[j];
				live[j] = live[--nlive];
				sp_index_free(ix, s, 0);
			}
		} else if (sp_index_alloc(ix, op, &live[nlive]) == 0) {
			nlive++;
		} else {
			fails++;
		}
	}
	w->nlive = nlive;
	w->fails = fails;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int sim_cmd_mt(int argc, char **argv)
{
	struct cli c = {.cmd = "mt", .argc = argc, .argv = argv};
	sp_index_config cfg;
	uint64_t keys = 1000, seed = 1, n = 0;
	uint32_t threads = 0, repeat = 1;
	double zipf = 1.0, free_p = 0.5;
	int json = 0, own_keys = 0, home_affinity = 0;

	memset(&cfg, 0, sizeof cfg);
	struct cli_flag flags[] = {
		CLI_REQ("--capacity", CLI_U32, &cfg.capacity),
		CLI_REQ("--warm", CLI_U32, &cfg.max_unused_warm_slots),
		CLI_REQ("--threads", CLI_U32, &threads),
		CLI_REQ("--ops", CLI_U64, &n),
		CLI_OPT("--shards", CLI_U32, &cfg.shards),
		CLI_OPT("--keys", CLI_U64, &keys),
		CLI_OPT("--seed", CLI_U64, &seed),
		CLI_OPT("--repeat", CLI_U32, &repeat),
		CLI_NUM("--zipf", &zipf, 0.0, 100.0),
		CLI_NUM("--free-prob", &free_p, 0.0, 1.0),
		CLI_OPT("--own-keys", CLI_SWITCH, &own_keys),
		CLI_OPT("--home-affinity", CLI_SWITCH, &home_affinity),
		CLI_OPT("--json", CLI_SWITCH, &json),
	};
	int parsed = cli_parse(&c, flags, sizeof flags / sizeof flags[0], help, NULL);
	if (parsed != CLI_CONTINUE)
		return parsed;
	if (home_affinity)
		cfg.flags |= SP_INDEX_HOME_AFFINITY;
	if (threads == 0 || threads > 1024 || n == 0 || n > (UINT64_C(1) << 32) || repeat == 0 ||
	    keys == 0 || keys > (1u << 26)) {
		cli_error(&c, "%s",
		          threads == 0 || threads > 1024      ? "--threads: want 1..1024"
		          : n == 0 || n > (UINT64_C(1) << 32) ? "--ops: want 1..4294967296"
		          : repeat == 0                       ? "--repeat: want at least 1"
		                                              : "--keys: want 1..67108864");
		return SIM_EXIT_USAGE;
	}
	/* Refuse a bad configuration before generating anything. */
	sp_index *probe;
	char why[256];
	int rc = sp_index_create(&cfg, &probe);
	if (rc) {
		cli_error(&c, "capacity %u, warm %u, shards %u: %s", cfg.capacity,
		          cfg.max_unused_warm_slots, cfg.shards,
		          sim_refusal(rc, cfg.capacity, cfg.shards, why, sizeof why));
		return SIM_EXIT_FAIL;
	}
	sp_index_destroy(probe);
	if (cfg.capacity < threads)
		cli_warn(&c,
		         "--capacity %u is below --threads %u: at most %u of the threads can "
		         "hold a slot at a time, the others' allocations fail",
		         cfg.capacity, threads, cfg.capacity);
	if (cfg.max_unused_warm_slots > cfg.capacity)
		cli_warn(&c, "--warm %u is above --capacity %u, so it acts as %u",
		         cfg.max_unused_warm_slots, cfg.capacity, cfg.capacity);

	uint64_t cap = cfg.capacity / threads ? cfg.capacity / threads : 1;
	double *cdf = malloc(keys * sizeof *cdf);
	uint64_t *streams = malloc(n * threads * sizeof *streams);
	struct worker *w = calloc(threads, sizeof *w);
	uint32_t *lives = malloc((cap + 1) * threads * sizeof *lives);
	int status = SIM_EXIT_OK;
	if (!cdf || !streams || !w || !lives) {
		cli_error(&c, "out of memory");
		status = SIM_EXIT_FAIL;
		goto out;
	}
	double acc = zipf_cdf(cdf, keys, zipf);
	for (uint32_t t = 0; t < threads; t++)
		mt_gen(streams + t * n, n, cdf, keys, acc, free_p, cap, seed * 1000003u + t,
		       own_keys ? t * keys : 0);

	double best = 1e300;
	uint64_t fails = 0;
	sp_index_stats st = {.size = sizeof(st)};
	struct progress pg;
	progress_start(&pg, "mt");
	for (uint32_t r = 0; r < repeat; r++) {
		sp_index *ix;
		pthread_barrier_t bar;
		if ((rc = sp_index_create(&cfg, &ix)) != 0) {
			cli_error(&c, "%s", sp_strerror(rc));
			status = SIM_EXIT_FAIL;
			goto out;
		}
		pthread_barrier_init(&bar, NULL, threads + 1);
		for (uint32_t t = 0; t < threads; t++) {
			w[t] = (struct worker){.ix = ix,
			                       .bar = &bar,
			                       .ops = streams + t * n,
			                       .n = n,
			                       .live = lives + t * (cap + 1)};
			if (pthread_create(&w[t].th, NULL, mt_worker, &w[t]) != 0) {
				/* Cannot recover a barrier with missing parties. */
				cli_error(&c, "cannot start thread %u", t);
				exit(SIM_EXIT_FAIL);
			}
		}
		pthread_barrier_wait(&bar);
		double t0 = now_s();
		for (uint32_t t = 0; t < threads; t++)
			pthread_join(w[t].th, NULL);
		double secs = now_s() - t0;
		pthread_barrier_destroy(&bar);
		if (secs < best)
			best = secs;
		fails = 0;
		for (uint32_t t = 0; t < threads; t++)
			fails += w[t].fails;
		sp_index_get_stats(ix, &st);
		for (uint32_t t = 0; t < threads; t++)
			sp_index_free_many(ix, w[t].live, NULL, w[t].nlive);
		sp_index_destroy(ix);
		progress_update(&pg, (double)(r + 1) / (double)repeat);
	}
	progress_end(&pg);
	uint64_t total = n * threads, keyed = st.allocs + st.failed_allocs;
	double mops = (double)total / best / 1e6;
	double rate = keyed ? (double)st.affine_hits / (double)keyed : 0.0;
	if (json)
		printf("{\"impl\":\"slotpool\",\"threads\":%u,\"shards\":%u,\"capacity\":%u,\"warm\":%u,"
		       "\"keys\":%llu,\"own_keys\":%s,\"home_affinity\":%s,\"zipf\":%g,\"free_prob\":%g,\"seed\":%llu,"
		       "\"ops_total\":%llu,\"best_secs\":%.6f,\"mops\":%.3f,\"failed_allocs\":%llu,"
		       "\"affine_hits\":%llu,\"keyed_allocs\":%llu,\"affine_hit_rate\":%.6f}\n",
		       threads, st.shards, cfg.capacity, cfg.max_unused_warm_slots,
		       (unsigned long long)keys, own_keys ? "true" : "false",
		       (cfg.flags & SP_INDEX_HOME_AFFINITY) ? "true" : "false", zipf, free_p,
		       (unsigned long long)seed, (unsigned long long)total, best, mops,
		       (unsigned long long)fails, (unsigned long long)st.affine_hits,
		       (unsigned long long)keyed, rate);
	else
		printf("impl=slotpool threads=%u shards=%u capacity=%u warm=%u keys=%llu zipf=%g "
		       "ops_total=%llu best_secs=%.4f mops=%.3f failed_allocs=%llu affine_hit_rate=%.4f\n",
		       threads, st.shards, cfg.capacity, cfg.max_unused_warm_slots,
		       (unsigned long long)keys, zipf, (unsigned long long)total, best, mops,
		       (unsigned long long)fails, rate);
out:
	free(cdf);
	free(streams);
	free(w);
	free(lives);
	return status;
}
