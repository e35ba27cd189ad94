/* SPDX-License-Identifier: MIT */
/*
 * workload.h: a threaded workload recorded with sp_index_record, and the
 * check that replaying the recording serves what the threads were served.
 * Shared by test_record.c (replay in the library) and record_mt.c (replay
 * by slotpool-sim and the seed's replayer).
 *
 * Thread t allocates keys t * WL_KEYSPACE + 1 .. + WL_KEYS (no two threads
 * share a key), so an "a K" or "c K" line of the recording names its thread,
 * and "a -" lines are thread 0's (the only one that allocates without a
 * key). Each thread logs its own calls and what they returned; walking the
 * recording, the n-th line of thread t must be thread t's n-th call, which
 * gives, per handle, the slot the index really served. Failed allocs (the
 * threads together want more slots than there are), clear misses, clears,
 * frees with resident bytes and free_many batches all happen.
 */
#ifndef SP_TEST_RECORD_WORKLOAD_H
#define SP_TEST_RECORD_WORKLOAD_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "slotpool.h"
#include "trace.h"

#define WL_KEYSPACE 1000u
#define WL_KEYS 40u
#define WL_NIL UINT32_MAX

/* An sp_write_fn into a growing buffer. Called under the index's lock (or
 * the recorder's mutex), so it needs no lock of its own. */
struct wl_buf {
	char *buf;
	size_t len, cap;
	unsigned calls;
};

static int wl_write(void *ctx, const char *buf, size_t len)
{
	struct wl_buf *b = ctx;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *p = realloc(b->buf, cap);
		if (!p)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, buf, len);
	b->len += len;
	b->calls++;
	return 0;
}

/* One call a thread made: 'a' alloc, 'n' alloc_nokey, 'c' clear, 'f' free. */
struct wl_op {
	uint64_t key;
	uint32_t slot; /* a/n/c: what it got, WL_NIL on -ENOSPC/-ENOENT; f: freed */
	char kind;
};

struct wl_thread {
	sp_index *ix;
	unsigned id;
	unsigned ops;      /* calls to make */
	uint32_t max_live; /* slots held at most */
	struct wl_op *log;
	size_t nlog;
	uint32_t *live;
	uint32_t nlive;
	unsigned errors; /* unexpected return codes */
	pthread_barrier_t *go;
};

static void wl_log(struct wl_thread *w, char kind, uint64_t key, uint32_t slot)
{
	w->log[w->nlog++] = (struct wl_op){key, slot, kind};
}

static void *wl_run(void *arg)
{
	struct wl_thread *w = arg;
	uint64_t r = UINT64_C(0x5eed) + w->id;
	if (w->go)
		pthread_barrier_wait(w->go);
	for (unsigned i = 0; i < w->ops; i++) {
		uint64_t x = sm_next(&r);
		unsigned dice = (unsigned)(x % 100);
		uint32_t k = (uint32_t)((x >> 20) % WL_KEYS);
		uint64_t key = (uint64_t)w->id * WL_KEYSPACE + 1 + k * k / WL_KEYS; /* skewed */
		uint64_t bytes = (x >> 40) & 1 ? (x >> 44) & 0xffff : 0;
		uint32_t s;
		int rc;
		if (w->nlive && (dice < 45 || w->nlive == w->max_live)) {
			uint32_t j = (uint32_t)((x >> 8) % w->nlive);
			s = w->live[j];
			w->live[j] = w->live[--w->nlive];
			if (dice < 5 && w->nlive) { /* a batch of two */
				uint32_t pair[2] = {s, w->live[--w->nlive]};
				uint64_t b2[2] = {bytes, 7};
				rc = sp_index_free_many(w->ix, pair, b2, 2);
				wl_log(w, 'f', bytes, pair[0]);
				wl_log(w, 'f', 7, pair[1]);
			} else {
				rc = sp_index_free(w->ix, s, bytes);
				wl_log(w, 'f', bytes, s);
			}
			w->errors += rc != 0;
			continue;
		}
		char kind = dice < 52 ? 'c' : w->id == 0 && dice < 62 ? 'n' : 'a';
		if (kind == 'c')
			rc = sp_index_alloc_affine_and_clear(w->ix, key, &s);
		else if (kind == 'n')
			rc = sp_index_alloc_nokey(w->ix, &s);
		else
			rc = sp_index_alloc(w->ix, key, &s);
		if (rc == 0) {
			w->live[w->nlive++] = s;
		} else {
			w->errors += rc != (kind == 'c' ? -ENOENT : -ENOSPC);
			s = WL_NIL;
		}
		wl_log(w, kind, kind == 'n' ? 0 : key, s);
	}
	return NULL;
}

/* Runs nth threads of `ops` calls each on ix (which is recording), each
 * holding at most max_live slots. Returns the threads (wl_free them). */
static struct wl_thread *wl_start_and_join(sp_index *ix, unsigned nth, unsigned ops,
                                           uint32_t max_live)
{
	struct wl_thread *w = calloc(nth, sizeof(*w));
	pthread_t *tid = calloc(nth, sizeof(*tid));
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, nth);
	for (unsigned t = 0; t < nth; t++) {
		w[t] = (struct wl_thread){
			.ix = ix, .id = t, .ops = ops, .max_live = max_live, .go = &go};
		w[t].log = calloc((size_t)ops * 2, sizeof(struct wl_op));
		w[t].live = calloc(max_live, sizeof(uint32_t));
		pthread_create(&tid[t], NULL, wl_run, &w[t]);
	}
	for (unsigned t = 0; t < nth; t++)
		pthread_join(tid[t], NULL);
	pthread_barrier_destroy(&go);
	free(tid);
	return w;
}

static void wl_free(struct wl_thread *w, unsigned nth)
{
	for (unsigned t = 0; t < nth; t++) {
		free(w[t].log);
		free(w[t].live);
	}
	free(w);
}

/*
 * The slot the index served for each handle of the recording tr, from the
 * threads' logs: handles [0, npre) are the recording's opening lines (the
 * state at its start, one shard: slot h for handle h), and tr's first
 * npre + nprefree ops are those lines. Returns 0, or -1 with why[] filled
 * when the recording does not match the logs line for line.
 */
static int wl_served(const struct trace *tr, size_t npre, size_t nprefree,
                     const struct wl_thread *w, unsigned nth, uint32_t *served, char *why,
                     size_t whylen)
{
	size_t *next = calloc(nth, sizeof(size_t)), done = 0;
	size_t frees = 0, logged_frees = 0;
	int rc = 0;
	for (size_t h = 0; h < npre; h++)
		served[h] = (uint32_t)h;
	for (size_t i = npre + nprefree; i < tr->nops && !rc; i++) {
		const struct trace_op *op = &tr->ops[i];
		if (op->kind == TRACE_FREE) {
			frees++;
			continue;
		}
		char kind = op->kind == TRACE_CLEAR ? 'c' : op->kind == TRACE_ALLOC ? 'a' : 'n';
		unsigned t = kind == 'n' ? 0 : (unsigned)((op->val - 1) / WL_KEYSPACE);
		const struct wl_op *l = NULL;
		if (t < nth) {
			while (next[t] < w[t].nlog && w[t].log[next[t]].kind == 'f')
				next[t]++;
			if (next[t] < w[t].nlog)
				l = &w[t].log[next[t]++];
		}
		if (!l || l->kind != kind || l->key != (kind == 'n' ? 0 : op->val)) {
			snprintf(why, whylen, "op %zu (%c %llu): not thread %u's next call", i,
			         kind, (unsigned long long)op->val, t);
			rc = -1;
			break;
		}
		served[op->handle] = l->slot;
		done++;
	}
	size_t calls = 0;
	for (unsigned t = 0; t < nth; t++)
		for (size_t j = 0; j < w[t].nlog; j++) {
			calls += w[t].log[j].kind != 'f';
			logged_frees += w[t].log[j].kind == 'f';
		}
	if (!rc && (done != calls || frees < logged_frees)) {
		snprintf(why, whylen, "%zu a/c lines for %zu calls, %zu f lines for %zu frees",
		         done, calls, frees, logged_frees);
		rc = -1;
	}
	free(next);
	return rc;
}

/* Replays tr on a fresh index made from *cfg, storing each handle's slot
 * (WL_NIL for none); returns the index (the caller destroys it) or NULL. */
static sp_index *wl_replay(const struct trace *tr, const sp_index_config *cfg, uint32_t *got)
{
	sp_index *ix;
	if (sp_index_create(cfg, &ix))
		return NULL;
	for (size_t i = 0; i < tr->nops; i++) {
		const struct trace_op *op = &tr->ops[i];
		uint32_t s = WL_NIL;
		int rc = 0;
		switch (op->kind) {
		case TRACE_ALLOC:
			rc = sp_index_alloc(ix, op->val, &s);
			break;
		case TRACE_ALLOC_NOKEY:
			rc = sp_index_alloc_nokey(ix, &s);
			break;
		case TRACE_CLEAR:
			rc = sp_index_alloc_affine_and_clear(ix, op->val, &s);
			break;
		default:
			if (got[op->handle] != WL_NIL)
				rc = sp_index_free(ix, got[op->handle], op->val);
			continue;
		}
		got[op->handle] = rc ? WL_NIL : s;
	}
	return ix;
}

/* 0 when a and b have every slot in the same state with the same key. */
static int wl_same_state(sp_index *a, sp_index *b, uint32_t capacity, char *why, size_t whylen)
{
	for (uint32_t s = 0; s < capacity; s++) {
		int sa = -1, sb = -1;
		uint64_t ka = 0, kb = 0;
		if (sp_index_slot_state(a, s, &sa, &ka) || sp_index_slot_state(b, s, &sb, &kb) ||
		    sa != sb || ka != kb) {
			snprintf(why, whylen, "slot %u: state %d key %llu, replayed %d key %llu", s,
			         sa, (unsigned long long)ka, sb, (unsigned long long)kb);
			return -1;
		}
	}
	return 0;
}

#endif /* SP_TEST_RECORD_WORKLOAD_H */
