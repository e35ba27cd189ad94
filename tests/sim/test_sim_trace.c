/*
 * test_sim_trace.c: the trace parser (tools/trace.h) through its buffer API:
 * the exact ops it produces, each error with its exact message, the output
 * left untouched on error, and messages truncated safely to any errlen.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
		{"a 1\n\xed\xa0\x80\n", "t:2: not valid UTF-8"},       /* a surrogate */
		{"a 1\n\xc1\xbf\n", "t:2: not valid UTF-8"},           /* overlong */
		{"a 1\n\xf4\x90\x80\x80\n", "t:2: not valid UTF-8"},   /* > U+10FFFF */
		{"a 1\n\xe2\x82", "t:2: not valid UTF-8"},             /* truncated */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_ops),
		cmocka_unit_test(errors_exact),
		cmocka_unit_test(err_truncation_and_args),
		cmocka_unit_test(many_handles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
