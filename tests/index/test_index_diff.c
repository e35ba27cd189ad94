/* SPDX-License-Identifier: MIT */
/*
 * test_index_diff.c: differential test of sp_index against the reference
 * model (model.c) over random operation sequences: every returned slot, every
 * error and every counter must match, over > 1,000,000 operations across
 * many configurations. A smaller run calls sp_index_check after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "draw.h"
#include "model.h"
#include "slotpool.h"

typedef struct {
	uint32_t cap, warm, nkeys;
	double zipf; /* 0 = uniform */
	double p_free, p_nokey, p_clear, p_batch, p_misuse;
	int bytes;         /* pass bytes_resident */
	uint64_t key_base; /* keys are key_base + rank*stride */
	uint64_t key_stride;
} scenario;

static void compare_stats(sp_index *ix, const model *m, int full)
{
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	assert_int_equal(st.affine_hits, m->hits);
	assert_int_equal(st.cold_picks, m->cold);
	assert_int_equal(st.warm_steals, m->steals);
	assert_int_equal(st.clears, m->clears);
	assert_int_equal(st.failed_allocs, m->failed);
	assert_int_equal(st.clear_misses, m->misses);
	assert_int_equal(st.allocs, m->allocs);
	assert_int_equal(st.frees, m->frees);
	if (full) {
		assert_int_equal(st.in_use, model_count(m, M_USED));
		assert_int_equal(st.unused_warm, model_count(m, M_WARM));
		assert_int_equal(st.unused_cold, model_count(m, M_COLD));
		assert_int_equal(st.unused_bytes_resident, model_warm_bytes(m));
		assert_int_equal(st.keys_with_warm, model_keys_with_warm(m));
	}
}

/* Runs one scenario for `ops` operations; returns operations done. */
static uint64_t run(const scenario *sc, uint64_t seed, uint64_t ops, int check_every)
{
	uint64_t rng = seed;
	double *cdf = malloc(sizeof(double) * sc->nkeys);
	assert_non_null(cdf);
	double total = zipf_cdf(cdf, sc->nkeys, sc->zipf);
	sp_index_config cfg = {.capacity = sc->cap, .max_unused_warm_slots = sc->warm, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	model m;
	model_init(&m, sc->cap, sc->warm);
	uint32_t *live = malloc(sizeof(uint32_t) * (sc->cap + 1));
	uint32_t nlive = 0;
	uint32_t batch[16];
	uint64_t bb[16];

	for (uint64_t op = 0; op < ops; op++) {
		double u = sm_unit(&rng);
		uint64_t key = sc->key_base +
		               sc->key_stride * zipf_rank(cdf, sc->nkeys, sm_unit(&rng) * total);
		if (u < sc->p_misuse) {
			/* A free the model also rejects: out of range, cold or warm. */
			uint32_t s = (uint32_t)sm_below(&rng, (uint64_t)sc->cap + 3);
			if (s < sc->cap && m.state[s] == M_USED)
				s = sc->cap + (uint32_t)sm_below(&rng, 1000);
			assert_int_equal(sp_index_free(ix, s, 1), -EINVAL);
			assert_int_equal(model_free(&m, s, 1), -1);
		} else if (nlive && u < sc->p_misuse + sc->p_batch) {
			uint32_t n = 1 + (uint32_t)sm_below(&rng, nlive < 16 ? nlive : 16);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t j = (uint32_t)sm_below(&rng, nlive - i) + i;
				uint32_t t = live[i];
				live[i] = live[j];
				live[j] = t;
				batch[i] = live[i];
				bb[i] = sc->bytes ? sm_below(&rng, 1u << 20) : 0;
			}
			int poison = sm_below(&rng, 4) == 0;
			if (poison) {
				/* Duplicate an entry or add a slot not in use. */
				uint32_t k = n < 16 ? n++ : 15;
				batch[k] = sm_below(&rng, 2) && k ? batch[0] : sc->cap + 5;
				bb[k] = 0;
				assert_int_equal(sp_index_free_many(ix, batch, bb, n), -EINVAL);
			} else {
				const uint64_t *resident = sc->bytes ? bb : NULL;
				assert_int_equal(sp_index_free_many(ix, batch, resident, n), 0);
				for (uint32_t i = 0; i < n; i++)
					assert_int_equal(model_free(&m, batch[i], bb[i]), 0);
				/* The freed ones sit at live[0..n): drop them. */
				memmove(live, live + n, (nlive - n) * sizeof(*live));
				nlive -= n;
			}
		} else if (nlive &&
		           (nlive == sc->cap || u < sc->p_misuse + sc->p_batch + sc->p_free)) {
			uint32_t i = (uint32_t)sm_below(&rng, nlive);
			uint32_t s = live[i];
			uint64_t b = sc->bytes ? sm_below(&rng, 1u << 20) : 0;
			live[i] = live[--nlive];
			assert_int_equal(sp_index_free(ix, s, b), 0);
			assert_int_equal(model_free(&m, s, b), 0);
		} else {
			double v = sm_unit(&rng);
			uint32_t s = UINT32_MAX;
			int64_t want;
			int err;
			if (v < sc->p_clear) {
				err = sp_index_alloc_affine_and_clear(ix, key, &s);
				want = model_clear(&m, key);
				assert_int_equal(err, want < 0 ? -ENOENT : 0);
			} else if (v < sc->p_clear + sc->p_nokey) {
				err = sp_index_alloc_nokey(ix, &s);
				want = model_alloc(&m, 0, 0);
				assert_int_equal(err, want < 0 ? -ENOSPC : 0);
			} else {
				err = sp_index_alloc(ix, key, &s);
				want = model_alloc(&m, 1, key);
				assert_int_equal(err, want < 0 ? -ENOSPC : 0);
			}
			if (want >= 0) {
				assert_int_equal(s, (uint32_t)want);
				live[nlive++] = s;
			} else {
				assert_int_equal(s, UINT32_MAX);
			}
		}
		if (check_every) {
			assert_int_equal(sp_index_check(ix), 0);
			compare_stats(ix, &m, (op & 63) == 0);
		}
	}
	compare_stats(ix, &m, 1);
	assert_int_equal(sp_index_check(ix), 0);
	/* Per-key counts agree for the first keys. */
	for (uint32_t r = 0; r < sc->nkeys && r < 50; r++) {
		uint64_t key = sc->key_base + sc->key_stride * r;
		uint32_t n;
		assert_int_equal(sp_index_key_warm_slots(ix, key, &n), 0);
		assert_int_equal(n, model_key_warm(&m, key));
	}
	free(live);
	model_fini(&m);
	sp_index_destroy(ix);
	free(cdf);
	return ops;
}

static scenario random_scenario(uint64_t *r)
{
	scenario sc = {0};
	static const uint32_t caps[] = {0, 1, 2, 3, 7, 16, 64, 100, 300, 1000, 2000};
	sc.cap = caps[sm_below(r, sizeof(caps) / sizeof(caps[0]))];
	/* Budgets 0 .. capacity+1, edges favoured. */
	switch (sm_below(r, 4)) {
	case 0:
		sc.warm = 0;
		break;
	case 1:
		sc.warm = sc.cap + 1;
		break;
	case 2:
		sc.warm = sc.cap;
		break;
	default:
		sc.warm = (uint32_t)sm_below(r, (uint64_t)sc.cap + 2);
		break;
	}
	static const uint32_t nk[] = {1, 2, 10, 100, 1000, 5000};
	sc.nkeys = nk[sm_below(r, 6)];
	sc.zipf = sm_below(r, 2) ? 0.0 : 0.5 + sm_unit(r);
	sc.p_free = 0.3 + 0.3 * sm_unit(r);
	sc.p_nokey = sm_below(r, 2) ? 0.1 * sm_unit(r) : 0;
	sc.p_clear = sm_below(r, 2) ? 0.1 * sm_unit(r) : 0;
	sc.p_batch = sm_below(r, 3) ? 0 : 0.05;
	sc.p_misuse = sm_below(r, 3) ? 0 : 0.01;
	sc.bytes = (int)sm_below(r, 2);
	/* Keys anywhere in uint64_t, including 0 and UINT64_MAX. */
	switch (sm_below(r, 3)) {
	case 0:
		sc.key_base = 0;
		sc.key_stride = 1;
		break;
	case 1: /* MAX, MAX-1, ... */
		sc.key_base = UINT64_MAX;
		sc.key_stride = UINT64_MAX;
		break;
	default:
		sc.key_base = sm_next(r);
		sc.key_stride = UINT64_C(1) << 32;
		break;
	}
	return sc;
}

static void test_differential_million(void **state)
{
	(void)state;
	uint64_t r = 20261126;
	uint64_t total = 0;
	int configs = 0;
	while (total < 1100000) {
		scenario sc = random_scenario(&r);
		uint64_t ops = 2000 + sm_below(&r, 20000);
		/* Keep the quadratic model affordable at large capacities. */
		if (sc.cap >= 1000)
			ops = 2000 + sm_below(&r, 6000);
		total += run(&sc, sm_next(&r), ops, 0);
		configs++;
	}
	printf("differential: %llu operations over %d configurations\n", (unsigned long long)total,
	       configs);
}

static void test_differential_checked(void **state)
{
	(void)state;
	uint64_t r = 7;
	for (int i = 0; i < 60; i++) {
		scenario sc = random_scenario(&r);
		if (sc.cap > 300)
			sc.cap = 300;
		if (sc.warm > sc.cap + 1)
			sc.warm = sc.cap + 1;
		run(&sc, sm_next(&r), 1500, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential_checked),
		cmocka_unit_test(test_differential_million),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
