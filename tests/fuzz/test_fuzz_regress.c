/* SPDX-License-Identifier: MIT */
/*
 * test_fuzz_regress.c: regression tests for what fuzzing found, one test
 * named after each finding (docs/ROBUSTNESS.md lists them). Findings that a
 * corpus file pins instead live in corpus/<target>/ under the same name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

/* fuzz_trace, first execution: trace_parse(NULL, 0, ...), which trace.h
 * allows, computed NULL + 0 (undefined behaviour; UBSan's pointer-overflow
 * check aborts on it). An empty input is an empty, valid trace. */
static void trace_parse_null_buffer_zero_length(void **state)
{
	(void)state;
	struct trace t;
	memset(&t, 0xa5, sizeof t);
	char err[64] = "untouched";
	assert_int_equal(trace_parse(NULL, 0, "empty", &t, err, sizeof err), 0);
	assert_int_equal(t.nops, 0);
	assert_int_equal(t.nhandles, 0);
	assert_int_equal(t.nfrees, 0);
	trace_free(&t);
	/* A NULL buffer with a length is the caller's mistake, not a crash. */
	struct trace keep;
	memset(&keep, 0x5a, sizeof keep);
	struct trace out = keep;
	assert_int_equal(trace_parse(NULL, 1, "bad", &out, err, sizeof err), -EINVAL);
	assert_memory_equal(&out, &keep, sizeof out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trace_parse_null_buffer_zero_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
