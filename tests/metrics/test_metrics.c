/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c: sp_index_metrics and the emitter under it (src/metrics.h):
 * the exact lines of both formats for a known state, byte-identical output
 * for identical state, every write error returned at every call it can
 * happen at (and write never called again), callbacks that misbehave,
 * argument errors, escaping and the emitter's misuse checks. That the
 * output is what promtool and jq accept is tests/metrics/check_tools.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "slotpool.h"

/* A growing buffer behind an sp_write_fn that can fail at its N-th call. */
struct sink {
	char *buf;
	size_t len, cap;
	unsigned calls;
	unsigned fail_at; /* 1-based call that fails; 0: never */
	int fail_with;
	size_t max_chunk;
	int zero_len_seen;
};

static int sink_write(void *ctx, const char *buf, size_t len)
{
	struct sink *s = ctx;
	s->calls++;
	if (len == 0)
		s->zero_len_seen = 1;
	if (len > s->max_chunk)
		s->max_chunk = len;
	if (s->fail_at && s->calls >= s->fail_at)
		return s->fail_with;
	if (s->len + len + 1 > s->cap) {
		s->cap = (s->len + len + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = 0;
	return 0;
}

static void sink_free(struct sink *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* An index in a known state: capacity 8, budget 2, 3 keys. */
static sp_index *known_index(void)
{
	sp_index_config cfg = {.capacity = 8, .max_unused_warm_slots = 2, .shards = 1};
	sp_index *ix;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	uint32_t a, b, c, d, s;
	assert_int_equal(sp_index_alloc(ix, 1, &a), 0);
	assert_int_equal(sp_index_alloc(ix, 2, &b), 0);
	assert_int_equal(sp_index_alloc(ix, 3, &c), 0);
	assert_int_equal(sp_index_alloc_nokey(ix, &d), 0);
	assert_int_equal(sp_index_free(ix, a, 4096), 0);
	assert_int_equal(sp_index_free(ix, b, 100), 0);
	assert_int_equal(sp_index_alloc(ix, 1, &s), 0); /* affine hit */
	assert_int_equal(sp_index_alloc_affine_and_clear(ix, 9, &s), -ENOENT);
	return ix;
}

static void prometheus_exact(void **state)
{
	(void)state;
	sp_index *ix = known_index();
	struct sink s = {0};
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_PROMETHEUS, sink_write, &s), 0);
	const char *want[] = {
		"# HELP slotpool_build_info The slotpool library that wrote these metrics (value 1).\n"
		"# TYPE slotpool_build_info gauge\n"
		"slotpool_build_info{version=\"",
		"# HELP slotpool_index_capacity_slots Slots in the index.\n"
		"# TYPE slotpool_index_capacity_slots gauge\n"
		"slotpool_index_capacity_slots 8\n",
		"\nslotpool_index_max_unused_warm_slots 2\n",
		"\nslotpool_index_in_use_slots 3\n",
		"\nslotpool_index_unused_warm_slots 1\n",
		"\nslotpool_index_unused_cold_slots 4\n",
		"\nslotpool_index_keys_with_warm 1\n",
		"\nslotpool_index_unused_resident_bytes 100\n",
		"# TYPE slotpool_index_allocs_total counter\nslotpool_index_allocs_total 5\n",
		"\nslotpool_index_frees_total 2\n",
		"\nslotpool_index_affine_hits_total 1\n",
		"\nslotpool_index_cold_picks_total 4\n",
		"\nslotpool_index_warm_steals_total 0\n",
		"\nslotpool_index_clears_total 0\n",
		"\nslotpool_index_failed_allocs_total 0\n",
		"\nslotpool_index_clear_misses_total 1\n",
		"\nslotpool_index_slot_state_bytes 216\n",
		"\nslotpool_index_memory_bytes ",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(s.buf, want[i]))
			fail_msg("missing %s in:\n%s", want[i], s.buf);
	assert_false(s.zero_len_seen);
	assert_true(s.max_chunk <= SP__METRICS_BUF);
	sink_free(&s);
	sp_index_destroy(ix);
}

static void json_exact(void **state)
{
	(void)state;
	sp_index *ix = known_index();
	struct sink s = {0};
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_JSON, sink_write, &s), 0);
	char want[512];
	snprintf(want, sizeof(want),
	         "{\"build_info\":{\"version\":\"%s\"},\"capacity\":8,\"max_unused_warm_slots\":2,"
	         "\"shards\":1,\"in_use\":3,\"peak_in_use\":4,\"unused_warm\":1,\"unused_cold\":4,"
	         "\"keys_with_warm\":1,\"unused_bytes_resident\":100,\"allocs\":5,\"frees\":2,"
	         "\"affine_hits\":1,\"cold_picks\":4,\"warm_steals\":0,\"clears\":0,"
	         "\"failed_allocs\":0,\"clear_misses\":1,\"slot_state_bytes\":216,\"total_bytes\":",
	         sp_version_string());
	assert_memory_equal(s.buf, want, strlen(want));
	assert_int_equal(s.buf[s.len - 1], '\n');
	assert_int_equal(s.buf[s.len - 2], '}');
	assert_ptr_equal(strchr(s.buf, '\n'), s.buf + s.len - 1); /* one line */
	sink_free(&s);
	sp_index_destroy(ix);
}

/* Same state, same bytes: twice on one index, and on two indices built alike. */
static void byte_identical(void **state)
{
	(void)state;
	for (int fmt = SP_METRICS_PROMETHEUS; fmt <= SP_METRICS_JSON; fmt++) {
		sp_index *a = known_index(), *b = known_index();
		struct sink s1 = {0}, s2 = {0}, s3 = {0};
		assert_int_equal(sp_index_metrics(a, fmt, sink_write, &s1), 0);
		assert_int_equal(sp_index_metrics(a, fmt, sink_write, &s2), 0);
		assert_int_equal(sp_index_metrics(b, fmt, sink_write, &s3), 0);
		assert_int_equal(s1.len, s2.len);
		assert_int_equal(s1.len, s3.len);
		assert_memory_equal(s1.buf, s2.buf, s1.len);
		assert_memory_equal(s1.buf, s3.buf, s1.len);
		sink_free(&s1);
		sink_free(&s2);
		sink_free(&s3);
		sp_index_destroy(a);
		sp_index_destroy(b);
	}
}

/* A write that fails at call N: that error comes back and write is not
 * called again, for every N the output has. */
static void write_error_each_call(void **state)
{
	(void)state;
	sp_index *ix = known_index();
	for (int fmt = SP_METRICS_PROMETHEUS; fmt <= SP_METRICS_JSON; fmt++) {
		struct sink full = {0};
		assert_int_equal(sp_index_metrics(ix, fmt, sink_write, &full), 0);
		/* Prometheus output is longer than the buffer. */
		assert_true(full.calls >= (fmt == SP_METRICS_PROMETHEUS ? 4u : 1u));
		for (unsigned n = 1; n <= full.calls; n++) {
			struct sink s = {.fail_at = n, .fail_with = -EPIPE};
			assert_int_equal(sp_index_metrics(ix, fmt, sink_write, &s), -EPIPE);
			assert_int_equal(s.calls, n);
			/* What was written before is a prefix of the full output. */
			if (s.len)
				assert_memory_equal(s.buf, full.buf, s.len);
			sink_free(&s);
		}
		sink_free(&full);
	}
	sp_index_destroy(ix);
}

/* A positive return breaks the callback's contract: -EIO, and no more calls. */
static int positive_write(void *ctx, const char *buf, size_t len)
{
	(void)buf;
	++*(unsigned *)ctx;
	return (int)len;
}

/* Keeps the first 10 bytes and drops the rest, saying all went well. */
static int short_write(void *ctx, const char *buf, size_t len)
{
	char *keep = ctx;
	size_t have = strlen(keep);
	if (have < 10) {
		size_t n = len < 10 - have ? len : 10 - have;
		memcpy(keep + have, buf, n);
		keep[have + n] = 0;
	}
	return 0;
}

static void misbehaving_callbacks(void **state)
{
	(void)state;
	sp_index *ix = known_index();
	unsigned calls = 0;
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_PROMETHEUS, positive_write, &calls), -EIO);
	assert_int_equal(calls, 1);
	char keep[11] = "";
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_JSON, short_write, keep), 0);
	assert_string_equal(keep, "{\"build_in");
	keep[0] = 0;
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_PROMETHEUS, short_write, keep), 0);
	assert_string_equal(keep, "# HELP slo");
	sp_index_destroy(ix);
}

static void bad_arguments(void **state)
{
	(void)state;
	sp_index *ix = known_index();
	struct sink s = {0};
	assert_int_equal(sp_index_metrics(NULL, SP_METRICS_JSON, sink_write, &s), -EINVAL);
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_JSON, NULL, &s), -EINVAL);
	assert_int_equal(sp_index_metrics(ix, 0, sink_write, &s), -EINVAL);
	assert_int_equal(sp_index_metrics(ix, 3, sink_write, &s), -EINVAL);
	assert_int_equal(sp_index_metrics(ix, -1, sink_write, &s), -EINVAL);
	assert_int_equal(s.calls, 0);
	/* ctx may be anything, NULL included. */
	assert_int_equal(sp_index_metrics(ix, SP_METRICS_JSON, short_write, (char[11]){0}), 0);
	sp_index_destroy(ix);
}

/* Several shards and an empty index of capacity 0 emit too. */
static void other_shapes(void **state)
{
	(void)state;
	sp_index_config cfgs[] = {{.capacity = 0}, {.capacity = 1000, .shards = 4}};
	for (size_t i = 0; i < 2; i++) {
		sp_index *ix;
		assert_int_equal(sp_index_create(&cfgs[i], &ix), 0);
		struct sink s = {0};
		assert_int_equal(sp_index_metrics(ix, SP_METRICS_PROMETHEUS, sink_write, &s), 0);
		assert_non_null(strstr(s.buf, i ? "\nslotpool_index_shards 4\n"
		                                : "\nslotpool_index_capacity_slots 0\n"));
		sink_free(&s);
		sp_index_destroy(ix);
	}
}

/* ---- the emitter itself ---------------------------------------------------- */

static const struct sp__metric fam_gauge = {
	"slotpool_test_things", "things", "Things, \"quoted\" \\ and\nnewline.", SP__METRIC_GAUGE};
static const struct sp__metric fam_counter = {"slotpool_test_events_total", "events", "Events.",
                                              SP__METRIC_COUNTER};
static const struct sp__metric fam_info = {"slotpool_test_info", "info", "Facts.", SP__METRIC_INFO};

static void emit_exercise(struct sp__metrics *m)
{
	const struct sp__label img42 = {"image", NULL, 42};
	const struct sp__label odd[] = {
		{"path", "a\\b\"c\nd", 0},
		{"bytes", "caf\xc3\xa9 \xff\xfe end \xe2\x82", 0}, /* é, then not UTF-8 */
		{"ctl", "tab\there\x01", 0},
	};
	sp__metrics_info(m, &fam_info, odd, 3);
	sp__metrics_family(m, &fam_gauge);
	sp__metrics_sample(m, &img42, 1, 7);
	sp__metrics_sample(m, &(struct sp__label){"image", NULL, UINT64_MAX}, 1, UINT64_MAX);
	sp__metrics_sample(m, odd, 1, 0);
	sp__metrics_family_end(m);
	sp__metrics_section(m, "nested");
	sp__metrics_value(m, &fam_counter, 12345678901234567890u);
	sp__metrics_section_end(m);
}

static void emitter_prometheus(void **state)
{
	(void)state;
	struct sink s = {0};
	struct sp__metrics m;
	const struct sp__label pool = {"pool", "main", 0};
	assert_int_equal(sp__metrics_begin(&m, SP_METRICS_PROMETHEUS, sink_write, &s, &pool, 1), 0);
	emit_exercise(&m);
	assert_int_equal(sp__metrics_end(&m), 0);
	const char *want =
		"# HELP slotpool_test_info Facts.\n"
		"# TYPE slotpool_test_info gauge\n"
		"slotpool_test_info{pool=\"main\",path=\"a\\\\b\\\"c\\nd\","
		"bytes=\"caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd\","
		"ctl=\"tab\there\x01\"} 1\n"
		"# HELP slotpool_test_things Things, \"quoted\" \\\\ and\\nnewline.\n"
		"# TYPE slotpool_test_things gauge\n"
		"slotpool_test_things{pool=\"main\",image=\"42\"} 7\n"
		"slotpool_test_things{pool=\"main\",image=\"18446744073709551615\"} "
		"18446744073709551615\n"
		"slotpool_test_things{pool=\"main\",path=\"a\\\\b\\\"c\\nd\"} 0\n"
		"# HELP slotpool_test_events_total Events.\n"
		"# TYPE slotpool_test_events_total counter\n"
		"slotpool_test_events_total{pool=\"main\"} 12345678901234567890\n";
	assert_string_equal(s.buf, want);
	sink_free(&s);
}

static void emitter_json(void **state)
{
	(void)state;
	struct sink s = {0};
	struct sp__metrics m;
	const struct sp__label pool[] = {{"pool", "main", 0}, {"id", NULL, 3}};
	assert_int_equal(sp__metrics_begin(&m, SP_METRICS_JSON, sink_write, &s, pool, 2), 0);
	emit_exercise(&m);
	/* An empty family is an empty array. */
	sp__metrics_family(&m, &fam_counter);
	sp__metrics_family_end(&m);
	assert_int_equal(sp__metrics_end(&m), 0);
	const char *want =
		"{\"labels\":{\"pool\":\"main\",\"id\":3},"
		"\"info\":{\"path\":\"a\\\\b\\\"c\\nd\","
		"\"bytes\":\"caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd\","
		"\"ctl\":\"tab\\u0009here\\u0001\"},"
		"\"things\":[{\"image\":42,\"value\":7},"
		"{\"image\":18446744073709551615,\"value\":18446744073709551615},"
		"{\"path\":\"a\\\\b\\\"c\\nd\",\"value\":0}],"
		"\"nested\":{\"events\":12345678901234567890},"
		"\"events\":[]}\n";
	assert_string_equal(s.buf, want);
	sink_free(&s);
}

/* Plain UTF-8 check (ASCII and well-formed 2-4 byte sequences). */
static int valid_utf8(const char *buf, size_t n)
{
	const unsigned char *p = (const unsigned char *)buf;
	for (size_t i = 0; i < n;) {
		size_t k = p[i] < 0x80                    ? 1
		           : p[i] >= 0xC2 && p[i] <= 0xDF ? 2
		           : p[i] >= 0xE0 && p[i] <= 0xEF ? 3
		           : p[i] >= 0xF0 && p[i] <= 0xF4 ? 4
		                                          : 0;
		if (!k || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xC0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Long strings cross the buffer's edge anywhere: output equals a big buffer's. */
static void emitter_chunks(void **state)
{
	(void)state;
	char big[3000];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = "ab\"\\\n\xc3\xa9\xff"[i % 8];
	big[sizeof(big) - 1] = 0;
	for (int fmt = SP_METRICS_PROMETHEUS; fmt <= SP_METRICS_JSON; fmt++) {
		struct sink s = {0};
		struct sp__metrics m;
		assert_int_equal(sp__metrics_begin(&m, fmt, sink_write, &s, NULL, 0), 0);
		for (int k = 0; k < 3; k++)
			sp__metrics_info(&m, &fam_info, &(struct sp__label){"v", big + k, 0}, 1);
		assert_int_equal(sp__metrics_end(&m), 0);
		assert_true(s.calls > 10);
		assert_true(s.max_chunk <= SP__METRICS_BUF);
		assert_false(s.zero_len_seen);
		assert_true(valid_utf8(s.buf, s.len));
		/* Each value came out whole: 3 copies of the escaped text. */
		assert_int_equal(count(s.buf, "\xef\xbf\xbd"), 3 * ((sizeof(big) - 1) / 8));
		sink_free(&s);
	}
}

/* Misuse is -EINVAL at sp__metrics_end, and stops the output there. */
static void emitter_misuse(void **state)
{
	(void)state;
	static const struct sp__metric no_total = {"slotpool_x", "x", "h", SP__METRIC_COUNTER};
	static const struct sp__metric gauge_total = {"slotpool_x_total", "x", "h",
	                                              SP__METRIC_GAUGE};
	static const struct sp__metric bad_name = {"slotpool-x", "x", "h", SP__METRIC_GAUGE};
	static const struct sp__metric digit = {"9x", "x", "h", SP__METRIC_GAUGE};
	static const struct sp__metric info_name = {"slotpool_x", "x", "h", SP__METRIC_INFO};
	static const struct sp__metric bad_type = {"slotpool_x", "x", "h", 9};
	static const struct sp__metric no_help = {"slotpool_x", "x", NULL, SP__METRIC_GAUGE};
	const struct sp__label bad_label = {"a-b", "v", 0}, reserved = {"__x", "v", 0};
	const struct sp__label dup[] = {{"a", "1", 0}, {"a", "2", 0}};
	for (int fmt = SP_METRICS_PROMETHEUS; fmt <= SP_METRICS_JSON; fmt++) {
		for (int c = 0; c < 16; c++) {
			struct sink s = {0};
			struct sp__metrics m;
			const struct sp__label *k = c == 13 ? dup : NULL;
			assert_int_equal(sp__metrics_begin(&m, fmt, sink_write, &s, k, k ? 2 : 0),
			                 0);
			switch (c) {
			case 0:
				sp__metrics_value(&m, &no_total, 1);
				break;
			case 1:
				sp__metrics_value(&m, &gauge_total, 1);
				break;
			case 2:
				sp__metrics_value(&m, &bad_name, 1);
				break;
			case 3:
				sp__metrics_value(&m, &digit, 1);
				break;
			case 4:
				sp__metrics_info(&m, &info_name, NULL, 0);
				break;
			case 5:
				sp__metrics_value(&m, &bad_type, 1);
				break;
			case 6:
				sp__metrics_value(&m, &no_help, 1);
				break;
			case 7: /* a sample outside a family */
				sp__metrics_sample(&m, NULL, 0, 1);
				break;
			case 8: /* a family never closed */
				sp__metrics_family(&m, &fam_gauge);
				break;
			case 9:
				sp__metrics_family_end(&m);
				break;
			case 10:
				sp__metrics_family(&m, &fam_gauge);
				sp__metrics_sample(&m, &bad_label, 1, 1);
				break;
			case 11:
				sp__metrics_family(&m, &fam_gauge);
				sp__metrics_sample(&m, &reserved, 1, 1);
				break;
			case 12:
				sp__metrics_family(&m, &fam_gauge);
				sp__metrics_sample(&m, dup, 2, 1);
				break;
			case 13: /* duplicate constant labels */
				break;
			case 14:
				sp__metrics_value(&m, &fam_info, 1);
				break;
			case 15:
				for (int d = 0; d < SP__METRICS_DEPTH + 1; d++)
					sp__metrics_section(&m, "s");
				if (fmt == SP_METRICS_PROMETHEUS) /* sections are no-ops */
					sp__metrics_value(&m, &no_total, 1);
				break;
			}
			assert_int_equal(sp__metrics_end(&m), -EINVAL);
			/* Nothing written after the misuse: no sample line. */
			assert_true(s.len == 0 || !strstr(s.buf, " 1\n"));
			sink_free(&s);
		}
		/* A section end with none open. */
		struct sink s = {0};
		struct sp__metrics m;
		assert_int_equal(sp__metrics_begin(&m, fmt, sink_write, &s, NULL, 0), 0);
		sp__metrics_section_end(&m);
		assert_int_equal(sp__metrics_end(&m), fmt == SP_METRICS_JSON ? -EINVAL : 0);
		sink_free(&s);
	}
	struct sp__metrics m;
	struct sink s = {0};
	assert_int_equal(sp__metrics_begin(NULL, SP_METRICS_JSON, sink_write, &s, NULL, 0),
	                 -EINVAL);
	assert_int_equal(sp__metrics_begin(&m, SP_METRICS_JSON, NULL, &s, NULL, 0), -EINVAL);
	assert_int_equal(sp__metrics_begin(&m, 7, sink_write, &s, NULL, 0), -EINVAL);
	assert_int_equal(sp__metrics_begin(&m, SP_METRICS_JSON, sink_write, &s, NULL, 1), -EINVAL);
	assert_int_equal(s.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prometheus_exact),      cmocka_unit_test(json_exact),
		cmocka_unit_test(byte_identical),        cmocka_unit_test(write_error_each_call),
		cmocka_unit_test(misbehaving_callbacks), cmocka_unit_test(bad_arguments),
		cmocka_unit_test(other_shapes),          cmocka_unit_test(emitter_prometheus),
		cmocka_unit_test(emitter_json),          cmocka_unit_test(emitter_chunks),
		cmocka_unit_test(emitter_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
