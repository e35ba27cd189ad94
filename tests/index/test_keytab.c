/* SPDX-License-Identifier: MIT */
/*
 * test_keytab.c: the affinity key table on its own. Lookups, inserts and
 * backward-shift deletions against a plain array model under random
 * operations at the table's full load (2/3), with the tail slots'
 * back-references checked after each step; and the spread of the bucket
 * hash on the key shapes callers use (sequential ids, strides, aligned
 * pointers, random), measured as the mean and worst probe distance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "draw.h"
#include "index/keytab.h"

/* Distance from key's home bucket to entry e, wrapping. */
static uint32_t probe_dist(const struct sp__keytab *kt, uint32_t e)
{
	uint32_t home = sp__keytab_home(kt, sp__keyent_key(&kt->ent[e]));
	return e >= home ? e - home : e + kt->n - home;
}

/* Fills a table for `cap` slots to its full load with keys f(0), f(1), ...
 * and returns the mean probe distance; *worst gets the largest. */
static double spread(uint32_t cap, uint64_t (*f)(uint64_t, uint64_t *), uint32_t *worst)
{
	struct sp__keytab kt;
	assert_int_equal(sp__keytab_init(&kt, cap), 0);
	uint64_t r = 42;
	/* A table holds at most `cap` keys (one warm slot each), so that is
	 * the most it is ever asked to hold. */
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t e = sp__keytab_upsert(&kt, f(i, &r), i);
		assert_int_equal(sp__keyent_tail(&kt.ent[e]), i);
	}
	uint64_t sum = 0;
	*worst = 0;
	for (uint32_t e = 0; e < kt.n; e++) {
		if (!kt.ent[e].ntail)
			continue;
		uint32_t d = probe_dist(&kt, e);
		sum += d;
		if (d > *worst)
			*worst = d;
	}
	sp__keytab_fini(&kt);
	return (double)sum / cap;
}

static uint64_t seq(uint64_t i, uint64_t *r)
{
	(void)r;
	return i + 1;
}

static uint64_t stride4k(uint64_t i, uint64_t *r)
{
	(void)r;
	return (i + 1) << 12;
}

static uint64_t pointers(uint64_t i, uint64_t *r)
{
	(void)r;
	return UINT64_C(0x7f3a12000000) + i * 64;
}

static uint64_t high_bits(uint64_t i, uint64_t *r)
{
	(void)r;
	return (i + 1) << 40;
}

static uint64_t random_keys(uint64_t i, uint64_t *r)
{
	(void)i;
	return sm_next(r);
}

/* Linear probing at load 2/3 averages about one bucket of distance on
 * random keys; a hash that clumps a key shape shows as a mean several times
 * that, or a worst case in the hundreds. Sequential ids (a runtime's module
 * ids are a counter) must do better than random: Fibonacci hashing lays
 * them out a fixed fraction of the table apart (mean 0.03; the previous
 * multiplier gave 0.96 at capacity 1000). */
static void test_hash_spreads_key_shapes(void **state)
{
	(void)state;
	uint64_t (*shapes[])(uint64_t, uint64_t *) = {seq, stride4k, pointers, high_bits,
	                                              random_keys};
	const uint32_t caps[] = {1000, 7777, 100000};
	for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
		for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
			uint32_t worst;
			double mean = spread(caps[c], shapes[k], &worst);
			double limit = shapes[k] == seq ? 0.25 : 3.0;
			if (mean > limit || worst > 300)
				fail_msg("capacity %u, shape %zu: mean probe distance %.2f, "
				         "worst %u",
				         caps[c], k, mean, worst);
		}
	}
}

/* Random finds, upserts and erases against a model at full load; after each
 * step every present key is found at an entry whose tail slot points back
 * at it, and no absent key is found. */
static void test_against_model(void **state)
{
	(void)state;
	enum { CAP = 300, KEYS = 600 };
	struct sp__keytab kt;
	struct sp__slot slots[CAP];
	uint32_t tail_of[KEYS + 1]; /* model: key -> its tail slot, or SP__NIL */
	uint64_t key_of_slot[CAP];
	uint8_t used[CAP] = {0};
	uint32_t nfree = CAP, free_slots[CAP];
	for (uint32_t i = 0; i < CAP; i++)
		free_slots[i] = CAP - 1 - i;
	for (uint32_t k = 0; k <= KEYS; k++)
		tail_of[k] = SP__NIL;
	assert_int_equal(sp__keytab_init(&kt, CAP), 0);
	uint64_t r = 7;
	for (int step = 0; step < 200000; step++) {
		uint64_t key = 1 + sm_below(&r, KEYS) * 2654435761u; /* spread-out ids */
		uint32_t k = (uint32_t)((key - 1) / 2654435761u) + 1;
		uint32_t e = sp__keytab_find(&kt, key);
		assert_int_equal(e == SP__NIL, tail_of[k] == SP__NIL);
		if (e == SP__NIL && nfree) {
			/* Insert with a fresh slot as its tail. */
			uint32_t s = free_slots[--nfree];
			e = sp__keytab_upsert(&kt, key, s);
			assert_int_equal(sp__keyent_tail(&kt.ent[e]), s);
			slots[s].aff_next = SP__TAIL | e;
			tail_of[k] = s;
			key_of_slot[s] = key;
			used[s] = 1;
		} else if (e != SP__NIL) {
			/* An upsert of a present key finds its entry... */
			assert_int_equal(sp__keytab_upsert(&kt, key, 0), e);
			/* ...and an erase removes it, fixing moved entries' tails. */
			uint32_t s = tail_of[k];
			assert_int_equal(slots[s].aff_next, SP__TAIL | e);
			sp__keytab_erase(&kt, e, slots);
			tail_of[k] = SP__NIL;
			free_slots[nfree++] = s;
			used[s] = 0;
		}
		if (step % 97 == 0) {
			uint32_t present = 0;
			for (uint32_t s = 0; s < CAP; s++) {
				if (!used[s])
					continue;
				present++;
				uint32_t fe = sp__keytab_find(&kt, key_of_slot[s]);
				assert_int_not_equal(fe, SP__NIL);
				assert_int_equal(sp__keyent_tail(&kt.ent[fe]), s);
				assert_int_equal(slots[s].aff_next, SP__TAIL | fe);
			}
			assert_int_equal(present, kt.count);
		}
	}
	sp__keytab_fini(&kt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_spreads_key_shapes),
		cmocka_unit_test(test_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
