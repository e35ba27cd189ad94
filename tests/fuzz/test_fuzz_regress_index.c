/*
 * test_fuzz_regress_index.c: regression tests for what fuzz_index found, one
 * test named after each finding (docs/ROBUSTNESS.md lists them).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "slotpool.h"

/* fuzz_index with several shards: index.h promises -EOVERFLOW when
 * unused_bytes_resident would pass UINT64_MAX, but the check was per shard
 * (src/index.c, free_locked and free_many), so two shards each holding less
 * than UINT64_MAX took a total past it, and the stats saturated instead. */
static void index_sharded_free_bytes_overflow(void **state)
{
	(void)state;
	sp_index_config cfg = {.capacity = 2, .shards = 2};
	sp_index *ix;
	uint32_t a, b;
	sp_index_stats st;
	assert_int_equal(sp_index_create(&cfg, &ix), 0);
	assert_int_equal(sp_index_alloc(ix, 1, &a), 0);
	assert_int_equal(sp_index_alloc(ix, 2, &b), 0);
	assert_int_equal(sp_index_free(ix, a, UINT64_MAX), 0);
	assert_int_equal(sp_index_free(ix, b, 1), -EOVERFLOW);
	uint32_t batch[1] = {b};
	uint64_t bytes[1] = {1};
	assert_int_equal(sp_index_free_many(ix, batch, bytes, 1), -EOVERFLOW);
	assert_int_equal(sp_index_get_stats(ix, &st), 0);
	assert_int_equal(st.in_use, 1);
	assert_true(st.unused_bytes_resident == UINT64_MAX);
	assert_int_equal(sp_index_check(ix), 0);
	sp_index_destroy(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_sharded_free_bytes_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
