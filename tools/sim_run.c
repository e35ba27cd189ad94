/* SPDX-License-Identifier: MIT */
/*
 * sim_run.c: the replay engine (sim_run.h).
 *
 * Timed replay: the trace is already an array of 16-byte ops, results[] is
 * pre-filled with SP_INDEX_NO_SLOT outside the clock (the library leaves the
 * out-parameter untouched on failure), so the timed loop is the API calls and
 * nothing else, as lean as seed_replay's replay(). Everything derived (peaks,
 * sanity checks, the seed's definition of an affine hit) is a post-pass over
 * results[].
 *
 * Multi-budget replay: one index per budget; each op is applied to every
 * index before the next op is read. Handles map to a "live position" computed
 * once from the trace (a handle's position is reused after its free), so each
 * budget needs only max-live-handles slots of memory, not one per handle.
 *
 * Single-threaded; sim_go_multithreaded() is the only use of threads.
 */
#include "sim_run.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "slotpool.h"

static void *nothing(void *arg)
{
	return arg;
}

void sim_go_multithreaded(void)
{
	static bool done;
	pthread_t th;
	if (done)
		return;
	if (pthread_create(&th, NULL, nothing, NULL) == 0)
		pthread_join(th, NULL);
	done = true;
}

int sim_check_config(const struct cli *c, const struct sim_config *cfg, bool quiet_warm)
{
	char why[256];
	int rc = sim_probe(cfg);
	if (rc) {
		cli_error(c, "capacity %u, warm %u, shards %u: %s", cfg->capacity, cfg->warm,
		          cfg->shards,
		          sim_refusal(rc, cfg->capacity, cfg->shards, why, sizeof why));
		return SIM_EXIT_FAIL;
	}
	if (!quiet_warm && cfg->warm > cfg->capacity)
		cli_warn(c, "--warm %u is above --capacity %u, so it acts as %u", cfg->warm,
		         cfg->capacity, cfg->capacity);
	return SIM_EXIT_OK;
}

int sim_load(const struct cli *c, const char *path, struct trace *t)
{
	char err[512];
	int rc = trace_load(path, t, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return rc == -ENOMEM ? SIM_EXIT_FAIL : SIM_EXIT_USAGE;
	}
	if (t->nops == 0)
		cli_warn(c, "%s has no operations (no a, c or f line): there is nothing to measure",
		         path);
	else if (t->nkeyed == 0)
		cli_warn(c,
		         "%s has no 'a KEY' line: no allocation can be an affine hit, so the "
		         "hit rate says nothing",
		         path);
	return SIM_EXIT_OK;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int make_index(const struct sim_config *cfg, uint32_t warm, sp_index **ix)
{
	sp_index_config c;
	memset(&c, 0, sizeof c);
	c.capacity = cfg->capacity;
	c.max_unused_warm_slots = warm;
	c.shards = cfg->shards;
	return sp_index_create(&c, ix);
}

int sim_probe(const struct sim_config *cfg)
{
	sp_index *ix;
	int rc = make_index(cfg, cfg->warm, &ix);
	if (rc == 0)
		sp_index_destroy(ix);
	return rc;
}

/* What sp_index_create refuses (include/slotpool/index.h), checked in the
 * same order. */
const char *sim_refusal(int err, uint32_t capacity, uint32_t shards, char *buf, size_t len)
{
	const char *why = "";
	char tmp[160];
	if (err == -EINVAL) {
		if (capacity > SP_INDEX_MAX_CAPACITY) {
			snprintf(tmp, sizeof tmp, ": the capacity is at most %lu slots (2^30)",
			         (unsigned long)SP_INDEX_MAX_CAPACITY);
		} else if (shards > SP_INDEX_MAX_SHARDS) {
			snprintf(tmp, sizeof tmp, ": at most %d shards", SP_INDEX_MAX_SHARDS);
		} else if (capacity == 0 && shards > 1) {
			snprintf(tmp, sizeof tmp, ": an index of capacity 0 has at most 1 shard");
		} else if (shards > capacity && capacity > 0) {
			snprintf(tmp, sizeof tmp,
			         ": at most one shard per slot (%u shards for capacity %u)", shards,
			         capacity);
		} else {
			tmp[0] = '\0';
		}
		why = tmp;
	} else if (err == -ENOMEM) {
		why = ": not enough memory for an index of that capacity (about 42 bytes a slot)";
	}
	snprintf(buf, len, "%s%s", sp_strerror(err), why);
	return buf;
}

/* The timed loop. A free whose bytes would overflow the index's byte sum is
 * retried with 0 bytes: the seed ignores bytes, and the slots must match. */
__attribute__((noinline)) static uint64_t replay_loop(sp_index *ix, const struct trace_op *ops,
                                                      size_t n, uint32_t *res)
{
	uint64_t overflows = 0;
	for (size_t i = 0; i < n; i++) {
		const struct trace_op *op = &ops[i];
		switch (op->kind) {
		case TRACE_ALLOC:
			sp_index_alloc(ix, op->val, &res[op->handle]);
			break;
		case TRACE_ALLOC_NOKEY:
			sp_index_alloc_nokey(ix, &res[op->handle]);
			break;
		case TRACE_CLEAR:
			sp_index_alloc_affine_and_clear(ix, op->val, &res[op->handle]);
			break;
		default: {
			uint32_t s = res[op->handle];
			if (s != SP_INDEX_NO_SLOT && sp_index_free(ix, s, op->val) != 0) {
				sp_index_free(ix, s, 0);
				overflows++;
			}
		}
		}
	}
	return overflows;
}

static uint64_t hash_results(const uint32_t *r, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ r[i]) * 1099511628211u;
	return h;
}

static void fill_counters(struct sim_result *o, const sp_index_stats *st)
{
	o->allocs = st->allocs;
	o->failed_allocs = st->failed_allocs;
	o->affine_hits = st->affine_hits;
	o->cold_picks = st->cold_picks;
	o->warm_steals = st->warm_steals;
	o->clears = st->clears;
	o->clear_misses = st->clear_misses;
	o->frees = st->frees;
	o->final_unused_warm = st->unused_warm;
	o->unused_bytes_resident = st->unused_bytes_resident;
	o->shards = st->shards;
}

/* Post-pass: peaks, sanity checks, and the seed's affine-hit count (a slot
 * whose previous allocation was `a K` handed to `a K`), which must equal the
 * library's count with one shard. */
static int analyze(const struct trace *t, const struct sim_config *cfg, const uint32_t *res,
                   struct sim_result *o)
{
	size_t cap = cfg->capacity;
	uint64_t *bytes = calloc(cap ? cap : 1, sizeof *bytes);
	uint64_t *lastkey = calloc(cap ? cap : 1, sizeof *lastkey);
	unsigned char *st = calloc(cap ? cap : 1, 1); /* 0 cold, 1 used, 2 warm */
	unsigned char *haskey = calloc(cap ? cap : 1, 1);
	uint64_t in_use = 0, ever = 0, sum = 0, seed_hits = 0;
	int rc = 0;

	if (!bytes || !lastkey || !st || !haskey) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		uint32_t s = res[op->handle];
		if (s == SP_INDEX_NO_SLOT)
			continue;
		if (s >= cap) {
			fprintf(stderr,
			        "slotpool-sim: BUG: handle %u got slot %u >= capacity %zu\n",
			        op->handle, s, cap);
			rc = -EUCLEAN;
			goto out;
		}
		if (op->kind == TRACE_FREE) {
			uint64_t b = op->val;
			if (sum > UINT64_MAX - b)
				b = 0; /* the replay dropped these bytes too */
			bytes[s] = b;
			sum += b;
			st[s] = 2;
			in_use--;
			if (ever - in_use > o->peak_unused_warm)
				o->peak_unused_warm = ever - in_use;
			if (sum > o->peak_unused_bytes)
				o->peak_unused_bytes = sum;
			continue;
		}
		if (st[s] == 1) {
			fprintf(stderr,
			        "slotpool-sim: BUG: handle %u got slot %u which is in use\n",
			        op->handle, s);
			rc = -EUCLEAN;
			goto out;
		}
		if (st[s] == 0)
			ever++;
		sum -= bytes[s];
		bytes[s] = 0;
		st[s] = 1;
		if (++in_use > o->peak_in_use)
			o->peak_in_use = in_use;
		if (op->kind == TRACE_ALLOC && haskey[s] && lastkey[s] == op->val)
			seed_hits++;
		haskey[s] = op->kind == TRACE_ALLOC;
		lastkey[s] = op->val;
	}
	if (ever - in_use != o->final_unused_warm || sum != o->unused_bytes_resident) {
		fprintf(stderr,
		        "slotpool-sim: BUG: post-pass says %llu unused warm slots, %llu "
		        "bytes; the index says %llu, %llu\n",
		        (unsigned long long)(ever - in_use), (unsigned long long)sum,
		        (unsigned long long)o->final_unused_warm,
		        (unsigned long long)o->unused_bytes_resident);
		rc = -EUCLEAN;
	}
	if (cfg->shards <= 1 && seed_hits != o->affine_hits) {
		fprintf(stderr,
		        "slotpool-sim: BUG: %llu affine hits by slot history, %llu by the index\n",
		        (unsigned long long)seed_hits, (unsigned long long)o->affine_hits);
		rc = -EUCLEAN;
	}
out:
	free(bytes);
	free(lastkey);
	free(st);
	free(haskey);
	return rc;
}

static void init_result(struct sim_result *o, const struct trace *t, uint32_t warm)
{
	memset(o, 0, sizeof *o);
	o->warm = warm;
	o->ops = t->nops;
	o->alloc_ops = t->nhandles;
	o->keyed_ops = t->nkeyed;
}

int sim_replay(const struct trace *t, const struct sim_config *cfg, unsigned repeat,
               uint32_t *results, struct sim_result *out, struct progress *progress)
{
	struct sim_result o;
	uint64_t best = UINT64_MAX, first_hash = 0, overflows = 0;
	sp_index_stats st = {.size = sizeof(st)};
	int rc;

	init_result(&o, t, cfg->warm);
	sim_go_multithreaded();
	for (unsigned r = 0; r < (repeat ? repeat : 1); r++) {
		sp_index *ix;
		rc = make_index(cfg, cfg->warm, &ix);
		if (rc) {
			progress_end(progress);
			return rc;
		}
		for (size_t i = 0; i < t->nhandles; i++)
			results[i] = SP_INDEX_NO_SLOT;
		uint64_t t0 = now_ns();
		overflows = replay_loop(ix, t->ops, t->nops, results);
		uint64_t dt = now_ns() - t0;
		if (dt < best)
			best = dt;
		sp_index_get_stats(ix, &st);
		sp_index_destroy(ix);
		uint64_t h = hash_results(results, t->nhandles);
		if (r == 0) {
			first_hash = h;
		} else if (h != first_hash) {
			progress_end(progress);
			fprintf(stderr, "slotpool-sim: BUG: replay is not deterministic\n");
			return -EUCLEAN;
		}
		progress_update(progress, (double)(r + 1) / (double)(repeat ? repeat : 1));
	}
	progress_end(progress);
	fill_counters(&o, &st);
	o.bytes_overflows = overflows;
	o.ns_per_op = t->nops ? (double)best / (double)t->nops : 0.0;
	rc = analyze(t, cfg, results, &o);
	if (rc)
		return rc;
	*out = o;
	return 0;
}

int sim_replay_many(const struct trace *t, const struct sim_config *cfg, const uint32_t *warm,
                    size_t n, struct sim_result *out, struct progress *progress)
{
	uint32_t *pos = malloc((t->nhandles ? t->nhandles : 1) * sizeof *pos);
	uint32_t *freepos = malloc((t->nhandles ? t->nhandles : 1) * sizeof *freepos);
	sp_index **ix = calloc(n ? n : 1, sizeof *ix);
	uint32_t *slots = NULL;
	uint64_t *in_use = calloc(n ? n : 1, sizeof *in_use);
	size_t nfree = 0, maxlive = 0;
	int rc = 0;

	if (!pos || !freepos || !ix || !in_use) {
		rc = -ENOMEM;
		goto out;
	}
	/* Live positions are a property of the trace, the same for every budget. */
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		if (op->kind == TRACE_FREE)
			freepos[nfree++] = pos[op->handle];
		else
			pos[op->handle] = nfree ? freepos[--nfree] : (uint32_t)maxlive++;
	}
	slots = malloc((maxlive ? maxlive : 1) * n * sizeof *slots);
	if (!slots) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t b = 0; b < n; b++) {
		init_result(&out[b], t, warm[b]);
		rc = make_index(cfg, warm[b], &ix[b]);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < t->nops; i++) {
		const struct trace_op *op = &t->ops[i];
		uint32_t p = pos[op->handle];
		if ((i & 0xfff) == 0)
			progress_update(progress, (double)i / (double)t->nops);
		for (size_t b = 0; b < n; b++) {
			uint32_t *s = &slots[b * maxlive + p];
			int r;
			switch (op->kind) {
			case TRACE_ALLOC:
				r = sp_index_alloc(ix[b], op->val, s);
				break;
			case TRACE_ALLOC_NOKEY:
				r = sp_index_alloc_nokey(ix[b], s);
				break;
			case TRACE_CLEAR:
				r = sp_index_alloc_affine_and_clear(ix[b], op->val, s);
				break;
			default: {
				sp_index_stats st = {.size = sizeof(st)};
				if (*s == SP_INDEX_NO_SLOT)
					continue;
				if (sp_index_free(ix[b], *s, op->val) != 0) {
					sp_index_free(ix[b], *s, 0);
					out[b].bytes_overflows++;
				}
				in_use[b]--;
				/* Only a free can raise the unused-warm peaks. */
				sp_index_get_stats(ix[b], &st);
				if (st.unused_warm > out[b].peak_unused_warm)
					out[b].peak_unused_warm = st.unused_warm;
				if (st.unused_bytes_resident > out[b].peak_unused_bytes)
					out[b].peak_unused_bytes = st.unused_bytes_resident;
				continue;
			}
			}
			if (r != 0) {
				*s = SP_INDEX_NO_SLOT;
			} else if (++in_use[b] > out[b].peak_in_use) {
				out[b].peak_in_use = in_use[b];
			}
		}
	}
	for (size_t b = 0; b < n; b++) {
		sp_index_stats st = {.size = sizeof(st)};
		sp_index_get_stats(ix[b], &st);
		fill_counters(&out[b], &st);
	}
out:
	progress_end(progress);
	if (ix)
		for (size_t b = 0; b < n; b++)
			sp_index_destroy(ix[b]);
	free(pos);
	free(freepos);
	free(ix);
	free(slots);
	free(in_use);
	return rc;
}
