/* SPDX-License-Identifier: MIT */
/*
 * fuzz_index.c: fuzz target for the slot index allocator (index.h).
 *
 * The input is a program: a 3-byte header picks the configuration, then each
 * operation is an opcode byte and its arguments (fuzz.h's cursor, so any
 * bytes decode). Every step runs on the library and on the reference model
 * (tests/index/model.c) and must agree exactly: the slot returned, the error
 * code, every counter of sp_index_get_stats, the state of a slot, a key's warm
 * count; and sp_index_check must pass after every step. Invalid calls (slot
 * out of range, cold, warm or listed twice, byte sums that overflow, NULL
 * arguments, bad configurations) must fail with their documented error and
 * change nothing, which the next comparison with the model sees.
 *
 * Header: cap (byte % 65, or % 1025 when flag bit 0 is set), warm (byte %
 * (cap + 3), so values above capacity occur), flags: bits 1-2 key space
 * (4 keys, 64 keys, edge values, raw 64-bit), bit 3 try invalid configs first,
 * bit 4 SP_INDEX_HOME_AFFINITY, bit 7 several shards.
 *
 * With one shard the model predicts every slot. With 2-64 shards the policy
 * picks among shards, so the model only tracks states and checks what index.h
 * promises whatever the shard: a slot handed out was not in use, a key with a
 * warm slot anywhere gets one of its own (alloc) or one at all (clear, else
 * -ENOENT), -ENOSPC only when every slot is in use, the same free errors, and
 * every counter except the per-pick ones. With SP_INDEX_HOME_AFFINITY, alloc
 * owes the key one of its slots only when one is warm in the caller's home
 * shard, and a hit is a slot of the key from home.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "slotpool.h"

/* Keys where an off-by-one or a sign bug would show. */
static const uint64_t edge_keys[8] = {
	0, 1, UINT64_MAX, UINT64_MAX - 1, UINT64_C(1) << 63, UINT32_MAX, UINT64_C(1) << 32, 2,
};

typedef struct {
	fz_in in;
	sp_index *ix;
	model m;
	unsigned keymode;
	uint64_t *scratch;         /* cap entries, for keys_with_warm */
	uint32_t shards;           /* > 1: the model tracks states, the index picks */
	int home_only;             /* SP_INDEX_HOME_AFFINITY, with several shards */
	uint32_t home_lo, home_hi; /* the caller's home shard: slots [lo, hi) */
} fz_index;

static uint64_t read_key(fz_index *f)
{
	switch (f->keymode) {
	case 0:
		return fz_u8(&f->in) % 4;
	case 1:
		return fz_u8(&f->in) % 64;
	case 2:
		return edge_keys[fz_u8(&f->in) % 8];
	default:
		return fz_u64(&f->in);
	}
}

/* A slot argument: mostly a used slot (a valid free), else any slot,
 * including warm, cold and out-of-range ones (an invalid free). */
static uint32_t read_slot(fz_index *f)
{
	uint8_t b = fz_u8(&f->in);
	uint32_t used = model_count(&f->m, M_USED);
	if (b < 192 && used) {
		uint32_t want = b % used;
		for (uint32_t i = 0; i < f->m.cap; i++)
			if (f->m.state[i] == M_USED && want-- == 0)
				return i;
	}
	switch (b % 4) {
	case 0:
		return UINT32_MAX - (b % 3);
	case 1:
		return f->m.cap + b % 8;
	default:
		return f->m.cap ? fz_u8(&f->in) % f->m.cap : 0;
	}
}

/* bytes_resident: small values, or huge ones so that sums overflow. With
 * several shards only small ones: the overflow check is per shard there,
 * unlike index.h's contract (test_fuzz_regress_index pins that finding). */
static uint64_t read_bytes(fz_index *f)
{
	uint8_t b = fz_u8(&f->in);
	if (f->shards > 1)
		return (b % 224) * UINT64_C(4096);
	if (b >= 240)
		return UINT64_MAX - (uint64_t)(255 - b);
	if (b >= 224)
		return UINT64_C(1) << 63;
	return b * UINT64_C(4096);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* model_keys_with_warm is O(cap^2); this is the same count in O(cap log cap),
 * which keeps capacities of 1024 fast enough to fuzz. */
static uint32_t keys_with_warm(const model *m, uint64_t *scratch)
{
	uint32_t n = 0, distinct = 0;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->state[i] == M_WARM && m->has_key[i])
			scratch[n++] = m->key[i];
	qsort(scratch, n, sizeof(*scratch), cmp_u64);
	for (uint32_t i = 0; i < n; i++)
		distinct += i == 0 || scratch[i] != scratch[i - 1];
	return distinct;
}

static void compare_all(fz_index *f)
{
	const model *m = &f->m;
	sp_index_stats st = {.size = sizeof(st)};
	FZ_CHECK(sp_index_get_stats(f->ix, &st) == 0, "stats");
	FZ_CHECK(st.capacity == m->cap, "capacity %u", st.capacity);
	FZ_CHECK(st.in_use == model_count(m, M_USED), "in_use %u", st.in_use);
	FZ_CHECK(st.unused_warm == model_count(m, M_WARM), "warm %u", st.unused_warm);
	FZ_CHECK(st.unused_cold == model_count(m, M_COLD), "cold %u", st.unused_cold);
	FZ_CHECK(st.shards == f->shards, "shards %u, asked %u", st.shards, f->shards);
	FZ_CHECK(sp_index_check(f->ix) == 0, "sp_index_check");
	FZ_CHECK(st.unused_bytes_resident == model_warm_bytes(m), "bytes %llu",
	         (unsigned long long)st.unused_bytes_resident);
	FZ_CHECK(st.allocs == m->allocs, "allocs");
	FZ_CHECK(st.frees == m->frees, "frees");
	FZ_CHECK(st.clears == m->clears, "clears");
	FZ_CHECK(st.failed_allocs == m->failed, "failed");
	FZ_CHECK(st.clear_misses == m->misses, "misses");
	FZ_CHECK(st.affine_hits == m->hits, "hits");
	FZ_CHECK(st.cold_picks == m->cold, "cold picks");
	FZ_CHECK(st.warm_steals == m->steals, "steals");
	if (f->shards > 1)
		return; /* a key warm in two shards counts twice there (index.h) */
	uint32_t keys = m->cap <= 64 ? model_keys_with_warm(m) : keys_with_warm(m, f->scratch);
	FZ_CHECK(st.keys_with_warm == keys, "keys %u, model %u", st.keys_with_warm, keys);
}

/* Expected result of freeing slots[0..n-1] as one batch, checked in order
 * like the library (and like n sp_index_free calls would): a bad slot is
 * -EINVAL, then a byte sum past UINT64_MAX is -EOVERFLOW. */
static int model_batch_error(const model *m, const uint32_t *slots, const uint64_t *bytes, size_t n)
{
	uint64_t sum = model_warm_bytes(m);
	for (size_t i = 0; i < n; i++) {
		if (slots[i] >= m->cap || m->state[slots[i]] != M_USED)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (slots[j] == slots[i])
				return -EINVAL;
		if (bytes && __builtin_add_overflow(sum, bytes[i], &sum))
			return -EOVERFLOW;
	}
	return 0;
}

/* Several shards: the index picks; the model checks the pick and records it. */
static void alloc_sharded(fz_index *f, int kind, uint64_t key)
{
	model *m = &f->m;
	uint32_t slot = SP_INDEX_NO_SLOT;
	int rc;
	if (kind == 0)
		rc = sp_index_alloc(f->ix, key, &slot);
	else if (kind == 1)
		rc = sp_index_alloc_affine_and_clear(f->ix, key, &slot);
	else
		rc = sp_index_alloc_nokey(f->ix, &slot);
	uint32_t mine = kind == 2 ? 0 : model_key_warm(m, key);
	/* Warm slots of the key that this alloc owes the caller. */
	uint32_t owed = mine;
	if (kind == 0 && f->home_only) {
		owed = 0;
		for (uint32_t i = f->home_lo; i < f->home_hi; i++)
			owed += m->state[i] == M_WARM && m->has_key[i] && m->key[i] == key;
	}
	int at_home = slot >= f->home_lo && slot < f->home_hi;
	if (kind == 1 && !mine) {
		FZ_CHECK(rc == -ENOENT && slot == SP_INDEX_NO_SLOT,
		         "clear of a key without warm slots: %d", rc);
		m->misses++;
		return;
	}
	if (kind != 1 && model_count(m, M_USED) == m->cap) {
		FZ_CHECK(rc == -ENOSPC && slot == SP_INDEX_NO_SLOT, "full index: rc %d", rc);
		m->failed++;
		return;
	}
	FZ_CHECK(rc == 0 && slot < m->cap && m->state[slot] != M_USED, "kind %d: rc %d slot %u",
	         kind, rc, slot);
	if (kind != 2 && owed)
		FZ_CHECK(m->state[slot] == M_WARM && m->has_key[slot] && m->key[slot] == key &&
		                 (at_home || !(kind == 0 && f->home_only)),
		         "key %llu has %u warm slots, got slot %u of another",
		         (unsigned long long)key, owed, slot);
	int its_own = m->state[slot] == M_WARM && m->has_key[slot] && m->key[slot] == key;
	if (its_own && kind == 0 && (at_home || !f->home_only))
		m->hits++;
	else if (m->state[slot] == M_COLD)
		m->cold++;
	else if (kind != 1)
		m->steals++;
	m->clears += kind == 1;
	m->state[slot] = M_USED;
	m->has_key[slot] = kind == 0;
	m->key[slot] = kind == 0 ? key : 0;
	m->bytes[slot] = 0;
	m->allocs++;
}

static void op_alloc(fz_index *f, int kind)
{
	uint64_t key = kind == 2 ? 0 : read_key(f);
	uint32_t slot = SP_INDEX_NO_SLOT;
	int rc;
	int64_t want;
	if (f->shards > 1) {
		alloc_sharded(f, kind, key);
		return;
	}
	if (kind == 0) {
		rc = sp_index_alloc(f->ix, key, &slot);
		want = model_alloc(&f->m, 1, key);
	} else if (kind == 1) {
		rc = sp_index_alloc_affine_and_clear(f->ix, key, &slot);
		want = model_clear(&f->m, key);
	} else {
		rc = sp_index_alloc_nokey(f->ix, &slot);
		want = model_alloc(&f->m, 0, 0);
	}
	if (want < 0) {
		FZ_CHECK(rc == (kind == 1 ? -ENOENT : -ENOSPC), "kind %d rc %d", kind, rc);
		FZ_CHECK(slot == SP_INDEX_NO_SLOT, "out-param written on error");
	} else {
		FZ_CHECK(rc == 0 && slot == (uint32_t)want,
		         "kind %d key %llu: slot %u rc %d, model %lld", kind,
		         (unsigned long long)key, slot, rc, (long long)want);
	}
}

static void op_free(fz_index *f)
{
	uint32_t slot = read_slot(f);
	uint64_t bytes = read_bytes(f);
	int want = model_batch_error(&f->m, &slot, &bytes, 1);
	int rc = sp_index_free(f->ix, slot, bytes);
	FZ_CHECK(rc == want, "free(%u, %llu) = %d, model %d (shards %u)", slot,
	         (unsigned long long)bytes, rc, want, f->shards);
	if (!want)
		model_free(&f->m, slot, bytes);
}

static void op_free_many(fz_index *f)
{
	uint32_t slots[8];
	uint64_t bytes[8];
	uint8_t b = fz_u8(&f->in);
	size_t n = b % 9;
	int with_bytes = b & 0x10;
	for (size_t i = 0; i < n; i++) {
		slots[i] = read_slot(f);
		bytes[i] = with_bytes ? read_bytes(f) : 0;
	}
	const uint64_t *bp = with_bytes ? bytes : NULL;
	int want = model_batch_error(&f->m, slots, bp, n);
	int rc = sp_index_free_many(f->ix, n ? slots : NULL, bp, n);
	FZ_CHECK(rc == want, "free_many(n=%zu) = %d, model %d", n, rc, want);
	if (!want)
		for (size_t i = 0; i < n; i++)
			model_free(&f->m, slots[i], bp ? bp[i] : 0);
}

/* The read-only queries, and calls with NULL arguments. */
static void op_query(fz_index *f)
{
	const model *m = &f->m;
	uint8_t b = fz_u8(&f->in);
	uint64_t key = read_key(f);
	uint32_t count = UINT32_MAX;
	FZ_CHECK(sp_index_key_warm_slots(f->ix, key, &count) == 0, "key_warm_slots");
	FZ_CHECK(count == model_key_warm(m, key), "key %llu warm %u, model %u",
	         (unsigned long long)key, count, model_key_warm(m, key));

	uint32_t slot = m->cap ? b % m->cap : 0;
	int state = -1;
	uint64_t k = UINT64_C(0x5a5a5a5a5a5a5a5a);
	if (slot < m->cap) {
		FZ_CHECK(sp_index_slot_state(f->ix, slot, &state, &k) == 0, "slot_state");
		int want = m->state[slot] == M_COLD ? SP_SLOT_COLD
		           : m->state[slot] == M_USED
		                   ? (m->has_key[slot] ? SP_SLOT_USED_KEY : SP_SLOT_USED)
		           : m->has_key[slot] ? SP_SLOT_WARM_KEY
		                              : SP_SLOT_WARM;
		FZ_CHECK(state == want, "slot %u state %d, model %d", slot, state, want);
		if (m->state[slot] != M_COLD && m->has_key[slot])
			FZ_CHECK(k == m->key[slot], "slot %u key", slot);
		else
			FZ_CHECK(k == UINT64_C(0x5a5a5a5a5a5a5a5a),
			         "key written for a keyless slot");
	}
	state = -1;
	FZ_CHECK(sp_index_slot_state(f->ix, m->cap + (b >> 4), &state, NULL) == -EINVAL &&
	                 state == -1,
	         "slot_state out of range");

	switch (b % 8) {
	case 0:
		FZ_CHECK(sp_index_alloc(f->ix, key, NULL) == -EINVAL, "alloc NULL");
		break;
	case 1:
		FZ_CHECK(sp_index_alloc_nokey(f->ix, NULL) == -EINVAL, "nokey NULL");
		break;
	case 2:
		FZ_CHECK(sp_index_alloc_affine_and_clear(f->ix, key, NULL) == -EINVAL,
		         "clear NULL");
		break;
	case 3:
		FZ_CHECK(sp_index_free_many(f->ix, NULL, NULL, 1 + b / 8) == -EINVAL, "many NULL");
		break;
	case 4:
		FZ_CHECK(sp_index_free_many(f->ix, NULL, NULL, 0) == 0, "many empty");
		break;
	case 5:
		FZ_CHECK(sp_index_get_stats(f->ix, NULL) == -EINVAL, "stats NULL");
		break;
	case 6:
		FZ_CHECK(sp_index_key_warm_slots(f->ix, key, NULL) == -EINVAL, "warm NULL");
		break;
	default:
		FZ_CHECK(sp_index_slot_state(f->ix, 0, NULL, NULL) == -EINVAL, "state NULL");
		break;
	}
}

/* Configurations create must refuse, leaving *out alone. */
static void try_bad_configs(fz_index *f)
{
	sp_index *sentinel = (sp_index *)&f->m;
	sp_index *out = sentinel;
	sp_index_config cfg = {0};
	uint8_t b = fz_u8(&f->in);
	switch (b % 4) {
	case 0:
		cfg.capacity = SP_INDEX_MAX_CAPACITY + 1 + b;
		break;
	case 1:
		cfg.shards = SP_INDEX_MAX_SHARDS + 1 + b;
		break;
	case 2:
		cfg.flags = 2u << (b % 31); /* bit 0 is SP_INDEX_HOME_AFFINITY */
		break;
	default:
		cfg.reserved[b % 4] = UINT64_C(1) << (b % 64);
		break;
	}
	FZ_CHECK(sp_index_create(&cfg, &out) == -EINVAL && out == sentinel, "bad config %u", b % 4);
	FZ_CHECK(sp_index_create(NULL, &out) == -EINVAL && out == sentinel, "NULL config");
	FZ_CHECK(sp_index_create(&cfg, NULL) == -EINVAL, "NULL out");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_index f = {.in = {data, size}};
	uint8_t cap_b = fz_u8(&f.in), warm_b = fz_u8(&f.in), flags = fz_u8(&f.in);
	uint32_t cap = (flags & 1) ? cap_b * 4u + (warm_b & 3) : cap_b % 65u;
	uint32_t warm = warm_b % (cap + 3);
	f.keymode = (flags >> 1) & 3;
	if (flags & 8)
		try_bad_configs(&f);

	/* One shard (the model predicts every slot) or 2-64 (it checks them). */
	f.shards = 1;
	if ((flags & 0x80) && cap >= 2) {
		f.shards = 2 + cap_b % 63u;
		if (f.shards > cap)
			f.shards = cap;
	}
	f.home_only = f.shards > 1 && (flags & 0x10);
	sp_index_config cfg = {.capacity = cap,
	                       .max_unused_warm_slots = warm,
	                       .shards = f.shards,
	                       .flags = f.home_only ? SP_INDEX_HOME_AFFINITY : 0};
	if (f.home_only) {
		/* A fresh index hands out its first cold slot at the caller's
		 * home, the same shard in every index of as many shards. */
		sp_index *probe;
		uint32_t s;
		FZ_CHECK(sp_index_create(&cfg, &probe) == 0, "probe");
		FZ_CHECK(sp_index_alloc_nokey(probe, &s) == 0, "probe alloc");
		sp_index_destroy(probe);
		/* Shard i holds q + 1 slots for i < cap % shards, else q. */
		uint32_t q = cap / f.shards, big = cap % f.shards, edge = big * (q + 1);
		uint32_t h = s < edge ? s / (q + 1) : big + (s - edge) / q;
		f.home_lo = h < big ? h * (q + 1) : edge + (h - big) * q;
		f.home_hi = f.home_lo + q + (h < big);
	}
	FZ_CHECK(sp_index_create(&cfg, &f.ix) == 0, "create cap %u warm %u", cap, warm);
	/* A warm budget above capacity needs no special case in the model: the
	 * warm count never reaches it, which is how index.h says it behaves. */
	model_init(&f.m, cap, warm);
	f.scratch = malloc(sizeof(uint64_t) * (cap + 1));
	FZ_CHECK(f.scratch != NULL, "malloc");
	compare_all(&f);

	while (fz_more(&f.in)) {
		uint8_t op = fz_u8(&f.in);
		switch (op % 8) {
		case 0:
		case 1:
			op_alloc(&f, 0);
			break;
		case 2:
			op_alloc(&f, 2);
			break;
		case 3:
			op_alloc(&f, 1);
			break;
		case 4:
		case 5:
			op_free(&f);
			break;
		case 6:
			op_free_many(&f);
			break;
		default:
			op_query(&f);
			break;
		}
		compare_all(&f);
	}
	sp_index_destroy(f.ix);
	sp_index_destroy(NULL);
	model_fini(&f.m);
	free(f.scratch);
	return 0;
}
