/* SPDX-License-Identifier: MIT */
/*
 * tour.c: the API tour from README.md, as a program that compiles in CI.
 */
#include <stdio.h>

#include <slotpool.h>

int main(void)
{
	sp_index_config cfg = {.capacity = 4, .max_unused_warm_slots = 2};
	sp_index *ix;
	int err = sp_index_create(&cfg, &ix);
	if (err) {
		fprintf(stderr, "create: %s\n", sp_strerror(err));
		return 1;
	}

	uint32_t a, b, again;
	sp_index_alloc(ix, 42, &a);     /* key 42 gets cold slot 0 */
	sp_index_alloc(ix, 7, &b);      /* key 7 gets cold slot 1 */
	sp_index_free(ix, a, 64 << 10); /* slot 0 is now warm for 42, 64 KiB resident */
	sp_index_alloc(ix, 42, &again); /* affine hit: slot 0 again */
	printf("key 42: slot %u, then slot %u again\n", a, again);

	err = sp_index_free(ix, a, 0); /* fine: slot 0 was reallocated */
	err = sp_index_free(ix, a, 0); /* double free */
	printf("double free: %s\n", sp_strerror(err));

	uint32_t s;
	while (sp_index_alloc_affine_and_clear(ix, 42, &s) == 0)
		sp_index_free(ix, s, 0); /* tear key 42 down: its slots lose affinity */

	sp_index_stats st = {.size = sizeof(st)};
	sp_index_get_stats(ix, &st);
	printf("in use %u, warm %u, cold %u, affine hits %llu\n", st.in_use, st.unused_warm,
	       st.unused_cold, (unsigned long long)st.affine_hits);
	sp_index_free(ix, b, 0);
	sp_index_destroy(ix);
	return 0;
}
