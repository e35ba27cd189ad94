/* SPDX-License-Identifier: MIT */
/*
 * affinity_demo.c: affinity at work on a simulated request stream.
 *
 * A host serves requests for 50 functions (Zipf-popular) from a pool of 64
 * slots. Preparing a slot for a function ("instantiating") is expensive
 * unless the slot last ran that same function. The demo replays the same
 * stream three ways and reports how many requests skipped the expensive
 * preparation, and how many slots stayed warm.
 *
 * Build against an installed slotpool:  cc affinity_demo.c $(pkg-config --cflags --libs slotpool) -lm
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <slotpool.h>

#define FUNCS 50
#define SLOTS 64
#define REQUESTS 200000
#define CONCURRENT 24

static uint64_t rng_state = 2026;

static uint64_t next_u64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double cdf[FUNCS];

static uint64_t pick_function(void)
{
	double u = (double)(next_u64() >> 11) / 9007199254740992.0 * cdf[FUNCS - 1];
	for (uint64_t f = 0; f < FUNCS; f++)
		if (u < cdf[f])
			return f;
	return FUNCS - 1;
}

/* Replays the stream; use_key = 0 ignores affinity (no key). */
static int run(const char *label, uint32_t warm_budget, int use_key)
{
	sp_index_config cfg = {.capacity = SLOTS, .max_unused_warm_slots = warm_budget};
	sp_index *ix;
	int err = sp_index_create(&cfg, &ix);
	if (err) {
		fprintf(stderr, "sp_index_create: %s\n", sp_strerror(err));
		return 1;
	}
	int64_t last_func[SLOTS];
	for (int i = 0; i < SLOTS; i++)
		last_func[i] = -1;
	uint32_t live[CONCURRENT];
	int nlive = 0;
	uint64_t reused = 0;
	rng_state = 2026; /* the same stream every run */
	for (int r = 0; r < REQUESTS; r++) {
		if (nlive == CONCURRENT || (nlive && (next_u64() & 1))) {
			int i = (int)(next_u64() % (uint64_t)nlive);
			sp_index_free(ix, live[i], 0);
			live[i] = live[--nlive];
			continue;
		}
		uint64_t f = pick_function();
		uint32_t slot;
		err = use_key ? sp_index_alloc(ix, f, &slot) : sp_index_alloc_nokey(ix, &slot);
		if (err) {
			fprintf(stderr, "alloc: %s\n", sp_strerror(err));
			sp_index_destroy(ix);
			return 1;
		}
		reused += last_func[slot] == (int64_t)f; /* preparation skipped */
		last_func[slot] = (int64_t)f;
		live[nlive++] = slot;
	}
	sp_index_stats st = {.size = sizeof(st)};
	sp_index_get_stats(ix, &st);
	printf("%-34s %8.1f%% %10llu %10llu %8u\n", label,
	       100.0 * (double)reused / (double)st.allocs, (unsigned long long)st.affine_hits,
	       (unsigned long long)st.warm_steals, st.unused_warm);
	sp_index_destroy(ix);
	return 0;
}

int main(void)
{
	double acc = 0;
	for (int f = 0; f < FUNCS; f++)
		cdf[f] = acc += 1.0 / pow(f + 1, 1.1);
	printf("slotpool %s: %d slots, %d functions (Zipf 1.1), %d requests, <= %d at once\n\n",
	       sp_version_string(), SLOTS, FUNCS, REQUESTS, CONCURRENT);
	printf("%-34s %9s %10s %10s %8s\n", "policy", "reused", "affine", "steals", "warm");
	int rc = 0;
	rc |= run("no affinity (alloc_nokey)", 0, 0);
	rc |= run("affinity, warm budget 0", 0, 1);
	rc |= run("affinity, warm budget 16", 16, 1);
	rc |= run("affinity, warm budget 40", 40, 1);
	printf("\n'reused': requests that found their function's state already in the\n"
	       "slot and skipped preparation. A warm budget lets idle slots stay\n"
	       "affine to their function instead of being handed to another one.\n");
	return rc;
}
