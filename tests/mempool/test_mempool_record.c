/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_record.c: sp_mempool_record. Threads instantiate images on a
 * one-shard pool while it records; replaying the recording on a fresh
 * index (what `slotpool-sim replay --shards 1 --capacity SLOTS --warm
 * SLOTS` does) must serve every alloc the slot the pool served.
 *
 * Thread t uses its own images, so an "a K" line names its thread; thread
 * 0 also allocates without an image ("a -"). Each thread logs what each of
 * its allocs got (slot or -ENOSPC); walking the recording, the n-th a-line
 * of thread t is thread t's n-th alloc, which gives the slot the pool
 * really served per handle. Every slot is also checked pristine, so the
 * recording runs on the real reset paths. Label "threads" (TSan).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "draw.h"
#include "mp_util.h"
#include "trace.h"

#if defined(__SANITIZE_THREAD__)
#define OPS 800
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define OPS 800
#endif
#endif
#ifndef OPS
#define OPS 6000
#endif

#define PG 4096u
#define SLOTS 10u
#define NTH 3
#define IMGS_PER 3
#define NIL UINT32_MAX

struct buf {
	char *p;
	size_t len, cap;
};

/* Called under the index's lock: no lock of its own needed. */
static int buf_write(void *ctx, const char *s, size_t n)
{
	struct buf *b = ctx;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static sp_mempool *pool;
static sp_image *imgs[NTH][IMGS_PER];
static unsigned char img_bytes[2 * PG];

struct worker {
	int id;
	uint32_t *got; /* per alloc call: slot or NIL */
	size_t n;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t r = 1000u + (uint64_t)w->id;
	sp_mem_slot held[4];
	int nheld = 0;
	for (int k = 0; k < OPS; k++) {
		if (nheld < 4 && (nheld == 0 || sm_below(&r, 2))) {
			int none = w->id == 0 && sm_below(&r, 4) == 0;
			sp_image *img = none ? NULL : imgs[w->id][sm_below(&r, IMGS_PER)];
			sp_mem_slot s;
			int err = sp_mempool_alloc(pool, img, 4 * PG, &s);
			if (err && err != -ENOSPC) {
				w->bad = 1;
				break;
			}
			w->got[w->n++] = err ? NIL : s.index;
			if (err)
				continue;
			if (mp_first_diff(s.base, 4 * PG, img ? img_bytes : NULL, 0,
			                  img ? sizeof(img_bytes) : 0) >= 0) {
				w->bad = 2;
				break;
			}
			memset((char *)s.base + sm_below(&r, 4) * PG, w->id + 1, PG);
			held[nheld++] = s;
		} else {
			int h = (int)sm_below(&r, (uint64_t)nheld);
			if (sp_mempool_free(pool, held[h].base)) {
				w->bad = 3;
				break;
			}
			held[h] = held[--nheld];
		}
	}
	while (nheld)
		if (sp_mempool_free(pool, held[--nheld].base))
			w->bad = 3;
	return NULL;
}

static int thread_of(uint64_t key)
{
	for (int t = 0; t < NTH; t++)
		for (int k = 0; k < IMGS_PER; k++)
			if (sp_image_id(imgs[t][k]) == key)
				return t;
	return -1;
}

static void test_threads_replay_exactly(void **state)
{
	(void)state;
	sp_mempool_config cfg = {
		.slots = SLOTS, .slot_bytes = 4 * PG, .guard_bytes = PG, .shards = 1};
	assert_int_equal(sp_mempool_create(&cfg, &pool), 0);
	for (size_t i = 0; i < sizeof(img_bytes); i++)
		img_bytes[i] = (unsigned char)(i * 7 + 1) | 1;
	for (int t = 0; t < NTH; t++)
		for (int k = 0; k < IMGS_PER; k++)
			assert_int_equal(
				sp_image_create(pool, img_bytes, sizeof(img_bytes), 0, &imgs[t][k]),
				0);
	struct buf b = {0};
	assert_int_equal(sp_mempool_record(pool, buf_write, &b), 0);
	struct worker w[NTH];
	pthread_t th[NTH];
	for (int t = 0; t < NTH; t++) {
		w[t] = (struct worker){.id = t, .got = calloc(OPS, sizeof(uint32_t))};
		assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
	}
	for (int t = 0; t < NTH; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(w[t].bad, 0);
	}
	assert_int_equal(sp_mempool_record(pool, NULL, NULL), 0);

	struct trace tr;
	char err[256] = "";
	if (trace_parse(b.p, b.len, "recording", &tr, err, sizeof(err)))
		fail_msg("the recording does not parse: %s", err);
	/* Replay on a fresh index as slotpool-sim would. */
	sp_index_config icfg = {.capacity = SLOTS, .max_unused_warm_slots = SLOTS, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&icfg, &ix), 0);
	uint32_t *got = calloc(tr.nhandles + 1, sizeof(uint32_t));
	size_t next[NTH] = {0}, compared = 0, failed = 0;
	for (size_t i = 0; i < tr.nops; i++) {
		const struct trace_op *op = &tr.ops[i];
		uint32_t s = NIL;
		int rc;
		int t;
		if (op->kind == TRACE_FREE) {
			if (got[op->handle] != NIL)
				assert_int_equal(sp_index_free(ix, got[op->handle], op->val), 0);
			continue;
		}
		assert_true(op->kind == TRACE_ALLOC || op->kind == TRACE_ALLOC_NOKEY);
		if (op->kind == TRACE_ALLOC) {
			rc = sp_index_alloc(ix, op->val, &s);
			t = thread_of(op->val);
		} else {
			rc = sp_index_alloc_nokey(ix, &s);
			t = 0;
		}
		assert_true(t >= 0);
		got[op->handle] = rc ? NIL : s;
		assert_true(next[t] < w[t].n);
		uint32_t served = w[t].got[next[t]++];
		if (served != got[op->handle])
			fail_msg("handle %zu (thread %d): the pool served %d, the replay %d",
			         (size_t)op->handle, t, (int)served, (int)got[op->handle]);
		compared++;
		failed += served == NIL;
	}
	for (int t = 0; t < NTH; t++)
		assert_int_equal(next[t], w[t].n); /* every alloc was recorded */
	/* For pool_replay.sh: the recording and the slot of each handle, as
	 * `slotpool-sim replay --slots` and the seed's replayer print them. */
	const char *dir = getenv("SP_RECORD_OUT");
	if (dir) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/rec.trace", dir);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(b.p, 1, b.len, f), b.len);
		assert_int_equal(fclose(f), 0);
		snprintf(path, sizeof(path), "%s/served.txt", dir);
		f = fopen(path, "w");
		assert_non_null(f);
		for (size_t h = 0; h < tr.nhandles; h++)
			if (got[h] == NIL)
				fprintf(f, "-\n");
			else
				fprintf(f, "%u\n", got[h]);
		assert_int_equal(fclose(f), 0);
	}
	print_message("%zu allocs compared (%zu of them -ENOSPC), %zu frees\n", compared, failed,
	              tr.nfrees);
	assert_true(failed > 0);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
	trace_free(&tr);
	free(got);
	free(b.p);
	for (int t = 0; t < NTH; t++) {
		free(w[t].got);
		for (int k = 0; k < IMGS_PER; k++)
			assert_int_equal(sp_image_release(imgs[t][k]), 0);
	}
	assert_int_equal(sp_mempool_check(pool), 0);
	sp_mempool_destroy(pool);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_replay_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
