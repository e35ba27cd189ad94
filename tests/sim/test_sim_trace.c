/* SPDX-License-Identifier: MIT */
/*
 * test_sim_trace.c: the trace parser (tools/trace.h) through its buffer API:
 * the exact ops it produces, each error with its exact message, the output
 * left untouched on error, and messages truncated safely to any errlen; and
 * through its stream API: the same result however the input is cut, the
 * first bad line reported before the rest is read, lines of any length read
 * as the seed reads them, and endless garbage refused after TRACE_LINE_MAX
 * bytes.
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

#include "trace.h"

static int parse(const char *s, struct trace *t, char *err, size_t errlen)
{
	return trace_parse(s, strlen(s), "t", t, err, errlen);
}

static void valid_ops(void **state)
{
	(void)state;
	struct trace t;
	char err[128];
	const char *s = "# header\n\na 18446744073709551615\r\n  a -\t\nc 0\nf 2 4096\nf 0\n"
			"\xe2\x80\x83# unicode-indented comment\na 7";
	assert_int_equal(parse(s, &t, err, sizeof err), 0);
	assert_int_equal(t.nops, 6);
	assert_int_equal(t.nhandles, 4);
	assert_int_equal(t.nkeyed, 2);
	assert_int_equal(t.nclears, 1);
	assert_int_equal(t.nfrees, 2);
	const struct trace_op want[] = {
		{UINT64_MAX, 0, TRACE_ALLOC}, {0, 1, TRACE_ALLOC_NOKEY}, {0, 2, TRACE_CLEAR},
		{4096, 2, TRACE_FREE},        {0, 0, TRACE_FREE},        {7, 3, TRACE_ALLOC},
	};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(t.ops[i].kind, want[i].kind);
		assert_int_equal(t.ops[i].handle, want[i].handle);
		assert_true(t.ops[i].val == want[i].val);
	}
	trace_free(&t);
	assert_null(t.ops);
	assert_int_equal(t.nops, 0);
	trace_free(NULL);
}

static void errors_exact(void **state)
{
	(void)state;
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{"a 1\nx 2\n", "t:2: malformed line: \"x 2\""},
		{"a 01x\n", "t:1: malformed key: \"a 01x\""},
		{"a 18446744073709551616", "t:1: malformed key: \"a 18446744073709551616\""},
		{"c -", "t:1: malformed key: \"c -\""},
		{"a 1\nf 0 1 2\n", "t:2: malformed line: \"f 0 1 2\""},
		{"a 1\nf -0\n", "t:2: malformed handle: \"f -0\""},
		{"a 1\nf 0 +5\n", "t:2: malformed bytes_resident: \"f 0 +5\""},
		{"a 1\nf 1\n", "t:2: free of unknown handle: \"f 1\""},
		{"a 1\nf 0\r\nf 0\r\n", "t:3: double free of handle: \"f 0\""},
		{"\"\\\x7f\n", "t:1: malformed line: \"\\x22\\x5c\\x7f\""},
		{"a 1\n\xed\xa0\x80\n", "t:2: not valid UTF-8"},     /* a surrogate */
		{"a 1\n\xc1\xbf\n", "t:2: not valid UTF-8"},         /* overlong */
		{"a 1\n\xf4\x90\x80\x80\n", "t:2: not valid UTF-8"}, /* > U+10FFFF */
		{"a 1\n\xe2\x82", "t:2: not valid UTF-8"},           /* truncated */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct trace t, keep;
		char err[200];
		memset(&t, 0x5a, sizeof t);
		keep = t;
		assert_int_equal(parse(cases[i].in, &t, err, sizeof err), -EINVAL);
		assert_string_equal(err, cases[i].msg);
		assert_memory_equal(&t, &keep, sizeof t);
	}
}

static void err_truncation_and_args(void **state)
{
	(void)state;
	struct trace t;
	char err[8];
	memset(err, 'x', sizeof err);
	assert_int_equal(parse("zzz", &t, err, 5), -EINVAL);
	assert_string_equal(err, "t:1:");
	assert_int_equal(err[5], 'x');
	assert_int_equal(parse("zzz", &t, NULL, 0), -EINVAL);
	assert_int_equal(trace_parse("a 1", 3, "t", NULL, err, sizeof err), -EINVAL);
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(trace_parse("a 12345", 3, NULL, &t, err, sizeof err), 0);
	assert_int_equal(t.nops, 1);
	assert_true(t.ops[0].val == 1);
	trace_free(&t);
	/* The default name. */
	char e2[64];
	assert_int_equal(trace_parse("q", 1, NULL, &t, e2, sizeof e2), -EINVAL);
	assert_string_equal(e2, "<trace>:1: malformed line: \"q\"");
}

static void many_handles(void **state)
{
	(void)state;
	/* 100k allocs then their frees in reverse: growth paths of both arrays. */
	enum { N = 100000 };
	static char buf[N * 16];
	size_t o = 0;
	for (int i = 0; i < N; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "a %d\n", i % 7);
	for (int i = N - 1; i >= 0; i--)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "f %d\n", i);
	struct trace t;
	char err[100];
	assert_int_equal(trace_parse(buf, o, "big", &t, err, sizeof err), 0);
	assert_int_equal(t.nops, 2 * N);
	assert_int_equal(t.nhandles, N);
	assert_int_equal(t.ops[N].handle, N - 1);
	assert_int_equal(t.ops[2 * N - 1].handle, 0);
	trace_free(&t);
}

/* The seed reads the whole file before it looks at a line; the stream
 * reports the first bad line, so garbage after it is never read. */
static void first_bad_line_first(void **state)
{
	(void)state;
	struct trace t;
	char err[200];
	assert_int_equal(parse("a 1\nx\n\xff\n", &t, err, sizeof err), -EINVAL);
	assert_string_equal(err, "t:2: malformed line: \"x\"");
	assert_int_equal(parse("a 1\nf 0\nf 0\n\xc0\n", &t, err, sizeof err), -EINVAL);
	assert_string_equal(err, "t:3: double free of handle: \"f 0\"");
	/* Within a line, a byte that is not UTF-8 still comes first. */
	assert_int_equal(parse("a 1\nx \xff\n", &t, err, sizeof err), -EINVAL);
	assert_string_equal(err, "t:2: not valid UTF-8");
}

/* A buffer of `n` copies of `unit` between `pre` and `post`. */
static char *build(const char *pre, const char *unit, size_t n, const char *post, size_t *len)
{
	size_t lp = strlen(pre), lu = strlen(unit), lq = strlen(post);
	char *b = malloc(lp + lu * n + lq + 1);
	assert_non_null(b);
	memcpy(b, pre, lp);
	for (size_t i = 0; i < n; i++)
		memcpy(b + lp + i * lu, unit, lu);
	memcpy(b + lp + lu * n, post, lq + 1);
	*len = lp + lu * n + lq;
	return b;
}

/* Feeds s[0..len) through a reader in pieces of `piece` bytes (0: one
 * piece) with line_max lm (0: the default). */
static int stream(const char *s, size_t len, size_t piece, size_t lm, struct trace *t, char *err,
                  size_t errlen)
{
	struct trace_reader *r = trace_reader_new("t", err, errlen);
	assert_non_null(r);
	if (lm)
		trace_reader_set_line_max(r, lm);
	for (size_t at = 0; at < len;) {
		size_t n = piece && piece < len - at ? piece : len - at;
		if (trace_reader_feed(r, s + at, n) != 0)
			break;
		at += n;
	}
	return trace_reader_finish(r, t);
}

static void assert_same(const struct trace *a, const struct trace *b)
{
	assert_int_equal(a->nops, b->nops);
	assert_int_equal(a->nhandles, b->nhandles);
	assert_int_equal(a->nkeyed, b->nkeyed);
	assert_int_equal(a->nclears, b->nclears);
	assert_int_equal(a->nfrees, b->nfrees);
	if (a->nops)
		assert_memory_equal(a->ops, b->ops, a->nops * sizeof *a->ops);
}

/* Inputs valid and not, short lines and long ones (over TRACE_LINE_MAX). */
static char *sample(int i, size_t *len)
{
	switch (i) {
	case 0:
		return build("# h\n\na 1\r\n a -\nc 1\nf 1 7\n", "a 2\n", 3, "f 3\nf 0", len);
	case 1:
		return build("a 1\na 2\nf 1\n", "\xe3\x80\x80", 1500, "f 0 9\n\xc2\xa0", len);
	case 2:
		return build("a 1\n#", "x\xc2\x85", 3000, "\na 7\nf 0\n", len);
	case 3:
		return build("a 1\nf ", "0", 6000, " 12\n", len);
	case 4:
		return build("a 1\na 5", " \t", 3000, "\nf 1\n", len);
	case 5:
		return build("\xe2\x80\x83", "\v", 5000, "a 1\n", len);
	case 6:
		return build("a 1\n", "\xff", 1, "", len);
	default:
		return build("a 1\nf 0", " ", 5000, "\xe2\x82", len);
	}
}

/* However the input is cut (every two-piece cut, bytes one at a time), the
 * same result and message as one trace_parse; and with line_max down to 1,
 * the same verdict, operations and bad line. */
static void stream_any_cut(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		size_t len;
		char *s = sample(i, &len);
		struct trace whole, t;
		char e1[200], e2[200];
		int rc = trace_parse(s, len, "t", &whole, e1, sizeof e1);
		assert_int_equal(rc, i >= 6 ? -EINVAL : 0);
		size_t cuts = len < 200 ? len : 200;
		for (size_t k = 0; k <= cuts; k++) {
			struct trace_reader *r = trace_reader_new("t", e2, sizeof e2);
			size_t at = k * len / cuts;
			if (trace_reader_feed(r, s, at) == 0)
				trace_reader_feed(r, s + at, len - at);
			assert_int_equal(trace_reader_finish(r, &t), rc);
			if (rc == 0) {
				assert_same(&t, &whole);
				trace_free(&t);
			} else {
				assert_string_equal(e2, e1);
			}
		}
		for (size_t lm = 0; lm <= 64; lm += 1 + lm / 8) {
			assert_int_equal(stream(s, len, 1, lm, &t, e2, sizeof e2), rc);
			if (rc == 0) {
				assert_same(&t, &whole);
				trace_free(&t);
			} else {
				assert_memory_equal(e2, e1, 4); /* "t:N:" */
			}
		}
		if (rc == 0)
			trace_free(&whole);
		free(s);
	}
}

/* Lines far longer than TRACE_LINE_MAX that the seed accepts, accepted with
 * the same operations; and rejected ones with the seed's reason. */
static void long_lines_like_the_seed(void **state)
{
	(void)state;
	static const struct {
		const char *pre, *unit;
		size_t n;
		const char *post;
		const char *msg; /* NULL: valid, with the ops of `same` */
		const char *same;
	} cases[] = {
		{"a", " ", 10000, "5", NULL, "a 5"},
		{"a ", "0", 10000, "7", NULL, "a 7"},
		{"a 1\n#", "\xe2\x80\x83x", 5000, "\na 2", NULL, "a 1\na 2"},
		{"", "\xe3\x80\x80", 3000, "a 1\xc2\xa0\xc2\xa0", NULL, "a 1"},
		{"a 1\nf 0", "\t", 5000, "4096\r", NULL, "a 1\nf 0 4096"},
		{"a 1", " ", 5000, "x\n",
	         "t:1: malformed line: \"a 1                                     ...\"", NULL},
		{"a 5\xe3\x80\x80x", " ", 5000, "\n",
	         "t:1: malformed key: \"a 5\\xe3\\x80\\x80x                                 ...\"",
	         NULL},
		{"a 1\nf 0 \xe3\x80\x80 5", " ", 5000, "\n",
	         "t:2: malformed line: \"f 0 \\xe3\\x80\\x80 5                               ...\"",
	         NULL},
		{"a 1\nf 0 \xe3\x80\x80", " ", 5000, "\n", NULL, "a 1\nf 0"},
		{"", " ", 5000, "\xff\n", "t:1: not valid UTF-8", NULL},
		{"a 1\nf 1", " ", 5000, "\n",
	         "t:2: free of unknown handle: \"f 1                                     ...\"",
	         NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len;
		char *s = build(cases[i].pre, cases[i].unit, cases[i].n, cases[i].post, &len);
		struct trace t, want;
		char err[200];
		int rc = trace_parse(s, len, "t", &t, err, sizeof err);
		if (cases[i].msg) {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(err, cases[i].msg);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(parse(cases[i].same, &want, err, sizeof err), 0);
			assert_same(&t, &want);
			trace_free(&t);
			trace_free(&want);
		}
		free(s);
	}
}

/* An endless line of garbage (/dev/zero, a file without newlines) is
 * refused once TRACE_LINE_MAX bytes of it are in: nothing waits for its end,
 * and later input is not looked at. */
static void endless_garbage_fails_early(void **state)
{
	(void)state;
	static char junk[TRACE_LINE_MAX];
	char err[200];
	struct trace t;
	for (int k = 0; k < 2; k++) {
		memset(junk, k ? '\0' : 'a', sizeof junk);
		struct trace_reader *r = trace_reader_new("/dev/zero", err, sizeof err);
		assert_int_equal(trace_reader_feed(r, junk, sizeof junk), 0);
		assert_int_equal(trace_reader_feed(r, junk, 1), -EINVAL);
		assert_int_equal(trace_reader_feed(r, "a 1\n", 4), -EINVAL);
		assert_int_equal(trace_reader_finish(r, &t), -EINVAL);
		assert_string_equal(
			err, k ? "/dev/zero:1: malformed line: \"\\x00\\x00\\x00\\x00\\x00"
				 "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
				 "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
				 "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
				 "\\x00\\x00...\""
			       : "/dev/zero:1: malformed line: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				 "aaaaaaaaaaaa...\"");
	}
	/* A long blank or comment line is no garbage: it is read to its end. */
	struct trace_reader *r = trace_reader_new("t", err, sizeof err);
	memset(junk, ' ', sizeof junk);
	for (int i = 0; i < 100; i++)
		assert_int_equal(trace_reader_feed(r, junk, sizeof junk), 0);
	assert_int_equal(trace_reader_feed(r, "a 3", 3), 0);
	assert_int_equal(trace_reader_finish(r, &t), 0);
	assert_int_equal(t.nops, 1);
	assert_true(t.ops[0].val == 3);
	trace_free(&t);
	/* Bad arguments. */
	assert_int_equal(trace_reader_feed(NULL, "a", 1), -EINVAL);
	assert_int_equal(trace_reader_finish(NULL, &t), -EINVAL);
	r = trace_reader_new(NULL, NULL, 0);
	assert_int_equal(trace_reader_feed(r, NULL, 1), -EINVAL);
	assert_int_equal(trace_reader_feed(r, NULL, 0), 0);
	assert_int_equal(trace_reader_finish(r, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_ops),
		cmocka_unit_test(errors_exact),
		cmocka_unit_test(err_truncation_and_args),
		cmocka_unit_test(many_handles),
		cmocka_unit_test(first_bad_line_first),
		cmocka_unit_test(stream_any_cut),
		cmocka_unit_test(long_lines_like_the_seed),
		cmocka_unit_test(endless_garbage_fails_early),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
