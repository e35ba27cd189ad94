/* SPDX-License-Identifier: MIT */
/*
 * test_record.c: sp_index_record. A recording of a one-shard index, replayed
 * on a fresh index through the trace parser slotpool-sim uses, serves every
 * handle the slot the index served and ends in the same state: with one
 * thread, with four threads (label "threads", scaled down under TSan),
 * started on a fresh index or on one already in use. With several shards
 * the recording is a valid trace with a line per call, each thread's in its
 * order. Also the exact text of a short recording, timestamps, the error
 * paths (busy, write errors at each call, -ENOMEM at each allocation) and
 * flushing at stop and at destroy. Linked with -Wl,--wrap=malloc.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "slotpool.h"
#include "trace.h"
#include "workload.h"

#if defined(__SANITIZE_THREAD__)
#define SP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SP_TSAN 1
#endif
#endif
#ifdef SP_TSAN
#define MT_OPS 3000
#else
#define MT_OPS 50000
#endif

void *__real_malloc(size_t n);
static int g_malloc_fail_at = -1; /* fail the N-th malloc from now (0-based); -1: never */

void *__wrap_malloc(size_t n)
{
	if (g_malloc_fail_at >= 0 && g_malloc_fail_at-- == 0)
		return NULL;
	return __real_malloc(n);
}

static void parse(const struct wl_buf *b, struct trace *t)
{
	char err[256] = "";
	int rc = trace_parse(b->buf, b->len, "recording", t, err, sizeof(err));
	if (rc)
		fail_msg("recording does not parse: %s", err);
}

/*
 * Records `ops` calls of nth threads (nth = 1: the calling thread) on an
 * index made from cfg. With warmup > 0, that many calls run first, not
 * recorded, so that the recording opens on slots in use and warm, some of
 * which thread 0 then frees. Replays the recording and checks every
 * handle's slot and the final state. Returns the slots compared.
 */
static size_t record_and_check(const sp_index_config *cfg, unsigned nth, unsigned ops,
                               uint32_t max_live, unsigned warmup)
{
	sp_index *ix;
	assert_int_equal(sp_index_create(cfg, &ix), 0);
	struct wl_thread pre = {.ix = ix, .id = 0, .ops = warmup, .max_live = max_live};
	pre.log = calloc((size_t)warmup * 2 + 1, sizeof(struct wl_op));
	pre.live = calloc(max_live + 1, sizeof(uint32_t));
	if (warmup)
		wl_run(&pre);
	assert_int_equal(pre.errors, 0);
	sp_index_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	size_t npre = cfg->capacity - st.unused_cold, nprefree = st.unused_warm;

	struct wl_buf b = {0};
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	/* Slots allocated before the start, freed after it. */
	for (uint32_t i = 0; i < pre.nlive; i += 2)
		assert_int_equal(sp_index_free(ix, pre.live[i], i), 0);
	struct wl_thread *w;
	if (nth == 1) {
		w = calloc(1, sizeof(*w));
		*w = (struct wl_thread){.ix = ix, .ops = ops, .max_live = max_live};
		w->log = calloc((size_t)ops * 2 + 1, sizeof(struct wl_op));
		w->live = calloc(max_live + 1, sizeof(uint32_t));
		wl_run(w);
	} else {
		w = wl_start_and_join(ix, nth, ops, max_live);
	}
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	for (unsigned t = 0; t < nth; t++)
		assert_int_equal(w[t].errors, 0);

	struct trace tr;
	parse(&b, &tr);
	uint32_t *served = calloc(tr.nhandles + 1, sizeof(uint32_t));
	uint32_t *got = calloc(tr.nhandles + 1, sizeof(uint32_t));
	char why[256] = "";
	if (wl_served(&tr, npre, nprefree, w, nth, served, why, sizeof(why)))
		fail_msg("%s", why);
	sp_index *re = wl_replay(&tr, cfg, got);
	assert_non_null(re);
	for (size_t h = 0; h < tr.nhandles; h++)
		if (got[h] != served[h])
			fail_msg("handle %zu: served %d, replay %d (of %zu)", h, (int)served[h],
			         (int)got[h], tr.nhandles);
	if (wl_same_state(ix, re, cfg->capacity, why, sizeof(why)))
		fail_msg("%s", why);
	sp_index_stats a = {.size = sizeof(a)}, r = {.size = sizeof(r)};
	assert_int_equal(sp_index_get_stats(ix, &a), 0);
	assert_int_equal(sp_index_get_stats(re, &r), 0);
	assert_int_equal(a.unused_warm, r.unused_warm);
	assert_int_equal(a.in_use, r.in_use);
	assert_true(a.unused_bytes_resident == r.unused_bytes_resident);
	assert_int_equal(sp_index_check(re), 0);
	size_t n = tr.nhandles;
	sp_index_destroy(re);
	sp_index_destroy(ix);
	trace_free(&tr);
	free(served);
	free(got);
	free(b.buf);
	wl_free(w, nth);
	free(pre.log);
	free(pre.live);
	return n;
}

static void single_thread_exact(void **state)
{
	(void)state;
	const sp_index_config cfgs[] = {
		{.capacity = 32, .max_unused_warm_slots = 0, .shards = 1},
		{.capacity = 32, .max_unused_warm_slots = 8, .shards = 1},
		{.capacity = 32, .max_unused_warm_slots = 32, .shards = 1},
		{.capacity = 1, .max_unused_warm_slots = 1, .shards = 1},
		{.capacity = 0, .shards = 1},
	};
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		size_t n = record_and_check(&cfgs[i], 1, 20000, 48, 0);
		assert_true(n > 10000);
	}
}

static void single_thread_started_late(void **state)
{
	(void)state;
	const sp_index_config cfgs[] = {
		{.capacity = 40, .max_unused_warm_slots = 0, .shards = 1},
		{.capacity = 40, .max_unused_warm_slots = 10, .shards = 1},
		{.capacity = 300, .max_unused_warm_slots = 300, .shards = 1},
	};
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++)
		for (unsigned warmup = 1; warmup < 3000; warmup *= 7)
			record_and_check(&cfgs[i], 1, 5000, 30, warmup);
}

static void threads_exact(void **state)
{
	(void)state;
	/* Four threads of up to 24 live slots on 64: allocs fail often. */
	const sp_index_config cfgs[] = {
		{.capacity = 64, .max_unused_warm_slots = 16, .shards = 1},
		{.capacity = 64, .max_unused_warm_slots = 0, .shards = 1},
	};
	for (size_t i = 0; i < 2; i++) {
		record_and_check(&cfgs[i], 4, MT_OPS, 24, 0);
		record_and_check(&cfgs[i], 4, MT_OPS, 24, 500);
	}
}

/* Several shards: a valid trace, a line per call, each thread's in order. */
static void sharded_valid(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 256, .max_unused_warm_slots = 64, .shards = 4};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct wl_buf b = {0};
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	struct wl_thread *w = wl_start_and_join(ix, 4, MT_OPS / 2, 80);
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	struct trace tr;
	parse(&b, &tr);
	uint32_t *served = calloc(tr.nhandles + 1, sizeof(uint32_t));
	uint32_t *got = calloc(tr.nhandles + 1, sizeof(uint32_t));
	char why[256] = "";
	if (wl_served(&tr, 0, 0, w, 4, served, why, sizeof(why)))
		fail_msg("%s", why);
	sp_index *re = wl_replay(&tr, &cfg, got);
	assert_non_null(re);
	assert_int_equal(sp_index_check(re), 0);
	sp_index_stats a = {.size = sizeof(a)};
	assert_int_equal(sp_index_get_stats(ix, &a), 0);
	assert_int_equal(tr.nfrees, a.frees);
	assert_int_equal(tr.nhandles, a.allocs + a.failed_allocs + a.clear_misses);
	sp_index_destroy(re);
	sp_index_destroy(ix);
	trace_free(&tr);
	free(served);
	free(got);
	free(b.buf);
	wl_free(w, 4);
}

/* The recording's lines without its timestamps after "# t=0". */
static char *without_times(const struct wl_buf *b)
{
	char *out = calloc(b->len + 1, 1);
	size_t o = 0;
	for (size_t i = 0; i < b->len;) {
		const char *nl = memchr(b->buf + i, '\n', b->len - i);
		size_t n = (size_t)(nl - (b->buf + i)) + 1;
		if (!(n > 4 && !memcmp(b->buf + i, "# t=", 4) &&
		      memcmp(b->buf + i, "# t=0\n", 6))) {
			memcpy(out + o, b->buf + i, n);
			o += n;
		}
		i += n;
	}
	return out;
}

static void exact_text(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 3, .max_unused_warm_slots = 1, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	uint32_t s0, s1, s2, s;
	/* Before the start: slot 0 used by key 5, slot 1 used with no key (a
	 * clear took it from key 6), slot 2 warm for key 6 with 1 byte. */
	assert_int_equal(sp_index_alloc(ix, 5, &s0), 0);
	assert_int_equal(sp_index_alloc(ix, 6, &s1), 0);
	assert_int_equal(sp_index_alloc(ix, 6, &s2), 0);
	assert_int_equal(sp_index_free(ix, s2, 1), 0);
	assert_int_equal(sp_index_free(ix, s1, 4096), 0);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 6, &s), 0);
	assert_int_equal(s, s1);
	struct wl_buf b = {0};
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	assert_true(b.len > 0); /* the start writes its lines at once */
	assert_int_equal(sp_index_free(ix, s0, 0), 0);
	assert_int_equal(sp_index_alloc(ix, 5, &s), 0); /* affine hit: slot 0 */
	assert_int_equal(s, s0);
	assert_int_equal(sp_index_alloc_nokey(ix, &s), 0);
	assert_int_equal(s, s2);
	assert_int_equal(sp_index_alloc(ix, 8, &s), -ENOSPC);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 5, &s), -ENOENT);
	uint32_t batch[2] = {s0, s1};
	uint64_t bytes[2] = {10, 0};
	assert_int_equal(sp_index_free_many(ix, batch, bytes, 2), 0);
	assert_int_equal(sp_index_free(ix, s0, 0), -EINVAL); /* not recorded */
	assert_int_equal(sp_index_free_many(ix, batch, NULL, 2), -EINVAL);
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 5, &s), 0);
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	char *text = without_times(&b);
	assert_string_equal(text,
	                    "# slotpool recording: capacity 3 max_unused_warm_slots 1 shards 1\n"
	                    "# replay: slotpool-sim replay FILE --capacity 3 --warm 1 --shards 1\n"
	                    "# state at start: 2 slots in use, 1 warm; the lines up to t=0 "
	                    "rebuild it\n"
	                    "a 5\n"
	                    "a -\n"
	                    "a 6\n"
	                    "f 2 1\n"
	                    "# t=0\n"
	                    "f 0\n"
	                    "a 5\n"
	                    "a -\n"
	                    "a 8\n"
	                    "c 5\n"
	                    "f 3 10\n"
	                    "f 1\n"
	                    "c 5\n");
	free(text);
	/* Recording off: the operations go on, nothing is written. */
	size_t len = b.len;
	assert_int_equal(sp_index_alloc(ix, 9, &s), 0);
	assert_int_equal(b.len, len);
	free(b.buf);
	sp_index_destroy(ix);
}

static void timestamps(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 4, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct wl_buf b = {0};
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	uint32_t s;
	for (int i = 0; i < 5; i++) {
		nanosleep(&(struct timespec){0, 2000000}, NULL); /* 2 ms */
		assert_int_equal(sp_index_alloc(ix, 1, &s), 0);
		assert_int_equal(sp_index_free(ix, s, 0), 0);
	}
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	/* Timestamps increase; each alloc after a sleep has one of its own,
	 * later than the previous alloc's by at least the sleep (a free may
	 * get one too, on a slow machine). */
	unsigned long long last = 0, last_alloc = 0;
	int stamps = 0, allocs = 0;
	wl_write(&b, "", 1); /* NUL-terminate */
	for (const char *p = strstr(b.buf, "\n# t="); p; p = strstr(p + 1, "\n# t=")) {
		size_t digits = strspn(p + 5, "0123456789");
		unsigned long long t = strtoull(p + 5, NULL, 10);
		assert_true(digits > 0);
		assert_int_equal(p[5 + digits], '\n');
		if (stamps++)
			assert_true(t > last);
		else
			assert_true(t == 0);
		last = t;
		if (!memcmp(p + 6 + digits, "a 1\n", 4)) {
			if (allocs++)
				assert_true(t >= last_alloc + 2000000);
			last_alloc = t;
		}
	}
	assert_int_equal(allocs, 5);
	free(b.buf);
	sp_index_destroy(ix);
}

/* A write failing at call n (counting the start's): which call returns it. */
struct failing {
	struct wl_buf b;
	unsigned calls, fail_at;
	int with;
};

static int failing_write(void *ctx, const char *buf, size_t len)
{
	struct failing *f = ctx;
	if (++f->calls >= f->fail_at)
		return f->with;
	return wl_write(&f->b, buf, len);
}

static void write_errors(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 100, .max_unused_warm_slots = 10, .shards = 1};
	for (unsigned n = 1; n <= 6; n++) {
		sp_index *ix;
		assert_int_equal(sp_index_create(&cfg, &ix), 0);
		uint32_t s;
		for (uint64_t k = 0; k < 60; k++) /* 60 lines of state at the start */
			assert_int_equal(sp_index_alloc(ix, k * 1000000007u, &s), 0);
		struct failing f = {.fail_at = n, .with = -ENOSPC};
		int rc = sp_index_record(ix, failing_write, &f);
		if (n == 1) {
			/* The start's own write failed: nothing is recording. */
			assert_int_equal(rc, -ENOSPC);
			assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
			sp_index_destroy(ix);
			continue;
		}
		assert_int_equal(rc, 0);
		/* Enough lines to fill the buffer a few times. */
		for (int i = 0; i < 5000; i++) {
			assert_int_equal(sp_index_free(ix, s, (uint64_t)i), 0);
			assert_int_equal(sp_index_alloc(ix, 7, &s), 0);
		}
		unsigned calls = f.calls;
		assert_int_equal(calls, n); /* it failed, and was not called again */
		for (int i = 0; i < 100; i++) {
			assert_int_equal(sp_index_free(ix, s, 0), 0);
			assert_int_equal(sp_index_alloc(ix, 7, &s), 0);
		}
		assert_int_equal(f.calls, calls);
		/* Odd n: the error ends the recording at the next start, which
		 * starts nothing; even n: at a stop. */
		if (n & 1)
			assert_int_equal(sp_index_record(ix, wl_write, &f.b), -ENOSPC);
		else
			assert_int_equal(sp_index_record(ix, NULL, NULL), -ENOSPC);
		assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
		/* And recording works again. */
		struct wl_buf b = {0};
		assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
		assert_int_equal(sp_index_free(ix, s, 0), 0);
		assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
		char *text = without_times(&b);
		assert_non_null(strstr(text, "\n# t=0\nf "));
		free(text);
		/* The lines before the failure are a prefix of a valid trace. */
		assert_true(f.b.len > 0);
		free(b.buf);
		free(f.b.buf);
		sp_index_destroy(ix);
	}
	/* A positive return is -EIO, at the start already. */
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct failing f = {.fail_at = 1, .with = 3};
	assert_int_equal(sp_index_record(ix, failing_write, &f), -EIO);
	/* Failing at the stop's last write. */
	f = (struct failing){.fail_at = 2, .with = -EPIPE};
	assert_int_equal(sp_index_record(ix, failing_write, &f), 0);
	uint32_t s;
	assert_int_equal(sp_index_alloc(ix, 1, &s), 0);
	assert_int_equal(sp_index_record(ix, NULL, NULL), -EPIPE);
	assert_int_equal(f.calls, 2);
	free(f.b.buf);
	sp_index_destroy(ix);
}

static void busy_and_arguments(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 8, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct wl_buf a = {0}, b = {0};
	assert_int_equal(sp_index_record(NULL, wl_write, &a), -EINVAL);
	assert_int_equal(sp_index_record(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0); /* not recording */
	assert_int_equal(sp_index_record(ix, wl_write, &a), 0);
	assert_int_equal(sp_index_record(ix, wl_write, &b), -EBUSY);
	uint32_t s;
	assert_int_equal(sp_index_alloc(ix, 3, &s), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	char *text = without_times(&a);
	assert_non_null(strstr(text, "# t=0\na 3\n"));
	free(text);
	free(a.buf);
	sp_index_destroy(ix);
}

/* sp_index_destroy writes what is buffered. */
static void destroy_flushes(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 8, .shards = 2};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct wl_buf b = {0};
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	uint32_t s;
	assert_int_equal(sp_index_alloc(ix, 3, &s), 0);
	assert_int_equal(sp_index_free(ix, s, 0), 0);
	sp_index_destroy(ix);
	char *text = without_times(&b);
	assert_non_null(strstr(text, "# t=0\na 3\nf 0\n"));
	free(text);
	free(b.buf);
}

/* -ENOMEM at each allocation of the start: nothing changes. */
static void out_of_memory(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 8, .shards = 2};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	struct wl_buf b = {0};
	for (int at = 0; at < 2; at++) {
		g_malloc_fail_at = at;
		assert_int_equal(sp_index_record(ix, wl_write, &b), -ENOMEM);
		g_malloc_fail_at = -1;
		uint32_t s;
		assert_int_equal(sp_index_alloc(ix, 1, &s), 0);
		assert_int_equal(b.calls, 0);
		assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	}
	g_malloc_fail_at = 2; /* past the start's two */
	assert_int_equal(sp_index_record(ix, wl_write, &b), 0);
	g_malloc_fail_at = -1;
	assert_int_equal(sp_index_record(ix, NULL, NULL), 0);
	free(b.buf);
	sp_index_destroy(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_text),
		cmocka_unit_test(single_thread_exact),
		cmocka_unit_test(single_thread_started_late),
		cmocka_unit_test(threads_exact),
		cmocka_unit_test(sharded_valid),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(write_errors),
		cmocka_unit_test(busy_and_arguments),
		cmocka_unit_test(destroy_flushes),
		cmocka_unit_test(out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
