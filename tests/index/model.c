/* SPDX-License-Identifier: MIT */
/*
 * model.c: the reference model (see model.h). Every choice is a linear scan
 * that states the rule it implements.
 */
#include "model.h"

#include <stdlib.h>

void model_init(model *m, uint32_t cap, uint32_t max_warm)
{
	*m = (model){0};
	m->cap = cap;
	m->max_warm = max_warm;
	m->state = calloc(cap + 1, 1);
	m->has_key = calloc(cap + 1, 1);
	m->key = calloc(cap + 1, sizeof(uint64_t));
	m->bytes = calloc(cap + 1, sizeof(uint64_t));
	m->freed_at = calloc(cap + 1, sizeof(uint64_t));
}

void model_fini(model *m)
{
	free(m->state);
	free(m->has_key);
	free(m->key);
	free(m->bytes);
	free(m->freed_at);
}

uint32_t model_count(const model *m, int state)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		n += m->state[i] == state;
	return n;
}

/* The warm slot of `key` freed last, or -1. */
static int64_t newest_of_key(const model *m, uint64_t key)
{
	int64_t best = -1;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_WARM && m->has_key[i] && m->key[i] == key &&
		    (best < 0 || m->freed_at[i] > m->freed_at[best]))
			best = i;
	return best;
}

/* The warm slot (any key or none) freed first, or -1. */
static int64_t oldest_warm(const model *m)
{
	int64_t best = -1;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_WARM && (best < 0 || m->freed_at[i] < m->freed_at[best]))
			best = i;
	return best;
}

/* The lowest-numbered cold slot, or -1. */
static int64_t first_cold(const model *m)
{
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_COLD)
			return i;
	return -1;
}

static void take(model *m, int64_t s, int has_key, uint64_t key)
{
	m->state[s] = M_USED;
	m->has_key[s] = (uint8_t)has_key;
	m->key[s] = key;
	m->bytes[s] = 0;
	m->allocs++;
}

int64_t model_alloc(model *m, int has_key, uint64_t key)
{
	int64_t s = has_key ? newest_of_key(m, key) : -1;
	if (s >= 0) {
		m->hits++;
		take(m, s, has_key, key);
		return s;
	}
	int64_t cold = first_cold(m), warm = oldest_warm(m);
	if (model_count(m, M_WARM) < m->max_warm)
		s = cold >= 0 ? cold : warm;
	else
		s = warm >= 0 ? warm : cold;
	if (s < 0) {
		m->failed++;
		return -1;
	}
	if (s == cold)
		m->cold++;
	else
		m->steals++;
	take(m, s, has_key, key);
	return s;
}

int64_t model_clear(model *m, uint64_t key)
{
	int64_t s = newest_of_key(m, key);
	if (s < 0) {
		m->misses++;
		return -1;
	}
	m->clears++;
	take(m, s, 0, 0);
	return s;
}

int model_free(model *m, uint32_t slot, uint64_t bytes)
{
	if (slot >= m->cap || m->state[slot] != M_USED)
		return -1;
	m->state[slot] = M_WARM;
	m->bytes[slot] = bytes;
	m->freed_at[slot] = ++m->clock;
	m->frees++;
	return 0;
}

uint64_t model_warm_bytes(const model *m)
{
	uint64_t b = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_WARM)
			b += m->bytes[i];
	return b;
}

uint32_t model_key_warm(const model *m, uint64_t key)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		n += m->state[i] == M_WARM && m->has_key[i] && m->key[i] == key;
	return n;
}

uint32_t model_keys_with_warm(const model *m)
{
	/* A key is counted at its newest warm slot, so each key once. */
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_WARM && m->has_key[i] && newest_of_key(m, m->key[i]) == i)
			n++;
	return n;
}
