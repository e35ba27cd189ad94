/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_iso.c: isolation, differential against a byte model. Many
 * rounds of alloc (random image or none, random size), random writes and
 * grows, free, with several slots held at once; after every alloc and grow
 * every accessible byte must be what the model says (image or zero): no
 * byte of a previous user survives. Run for each tracking path, with and
 * without keep_resident, batching and guard markers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "draw.h"
#include "mp_util.h"

#define PG 4096u
#define SLOT_BYTES (64 * PG)
#define NSLOTS 6
#define NIMAGES 4
#define ROUNDS 600

typedef struct {
	unsigned flags;
	uint64_t keep;
	uint32_t batch;
	uint32_t want_track; /* expected path; UINT32_MAX: any */
} iso_cfg;

static void run_iso(const iso_cfg *c, uint64_t seed)
{
	sp_mempool_config cfg = {
		.slots = NSLOTS,
		.slot_bytes = SLOT_BYTES,
		.guard_bytes = 2 * PG,
		.keep_resident_bytes = c->keep,
		.decommit_batch = c->batch,
		.flags = c->flags,
	};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	if (c->want_track != UINT32_MAX && st.track_path != c->want_track) {
		sp_mempool_destroy(p);
		skip(); /* the kernel lacks the feature this path needs */
	}

	uint64_t r = seed;
	/* Images of different sizes and offsets, some not page multiples. */
	static const size_t len[NIMAGES] = {100, 3 * PG + 17, 16 * PG, 40 * PG - 1};
	static const size_t off[NIMAGES] = {0, 2 * PG, 5 * PG, 0};
	unsigned char *bytes[NIMAGES];
	sp_image *img[NIMAGES];
	for (int k = 0; k < NIMAGES; k++) {
		bytes[k] = malloc(len[k]);
		for (size_t i = 0; i < len[k]; i++)
			bytes[k][i] = (unsigned char)(1 + sm_below(&r, 255));
		assert_int_equal(sp_image_create(p, bytes[k], len[k], off[k], &img[k]), 0);
	}

	sp_mem_slot held[NSLOTS];
	int held_img[NSLOTS];
	int nheld = 0;
	for (int round = 0; round < ROUNDS; round++) {
		if (nheld < NSLOTS && (nheld == 0 || sm_below(&r, 3) != 0)) {
			int k = (int)sm_below(&r, NIMAGES + 1) - 1;
			size_t min = k < 0 ? PG : off[k] + (len[k] + PG - 1) / PG * PG;
			size_t acc = min + sm_below(&r, (SLOT_BYTES - min) / PG + 1) * PG;
			sp_mem_slot s;
			int err = sp_mempool_alloc(p, k < 0 ? NULL : img[k], acc, &s);
			assert_int_equal(err, 0);
			assert_int_equal(s.accessible, acc);
			/* Reading maps every page (zero page, page cache): one
			 * round in four skips it, so that resets also meet
			 * slots where only the written pages are mapped. A leak
			 * there is caught by the slot's next verified use. */
			long d = sm_below(&r, 4) == 0
			                 ? -1
			                 : mp_first_diff(s.base, acc, k < 0 ? NULL : bytes[k],
			                                 k < 0 ? 0 : off[k], k < 0 ? 0 : len[k]);
			if (d >= 0)
				fail_msg("round %d slot %u image %d: byte %ld is %u", round,
				         s.index, k, d, ((unsigned char *)s.base)[d]);
			/* Dirty it: random runs, some crossing page boundaries. */
			for (int w = (int)sm_below(&r, 6); w >= 0; w--) {
				size_t at = sm_below(&r, acc);
				size_t n = 1 + sm_below(&r, 2 * PG);
				if (n > acc - at)
					n = acc - at;
				memset((char *)s.base + at, (int)(1 + sm_below(&r, 255)), n);
			}
			held[nheld] = s;
			held_img[nheld++] = k;
		} else {
			int h = (int)sm_below(&r, (uint64_t)nheld);
			sp_mem_slot *s = &held[h];
			if (s->accessible < SLOT_BYTES && sm_below(&r, 4) == 0) {
				size_t old = s->accessible;
				size_t acc = old + (1 + sm_below(&r, (SLOT_BYTES - old) / PG)) * PG;
				assert_int_equal(sp_mempool_grow(p, s->base, acc), 0);
				long d = mp_first_diff((unsigned char *)s->base + old, acc - old,
				                       NULL, 0, 0);
				if (d >= 0)
					fail_msg("round %d: grown byte %ld not zero", round,
					         (long)old + d);
				memset((char *)s->base + acc - PG, 0x5a, PG);
				s->accessible = acc;
			}
			assert_int_equal(sp_mempool_free(p, s->base), 0);
			held[h] = held[nheld - 1];
			held_img[h] = held_img[nheld - 1];
			nheld--;
		}
		if (round % 16 == 0)
			assert_int_equal(sp_mempool_check(p), 0);
	}
	while (nheld > 0)
		assert_int_equal(sp_mempool_free(p, held[--nheld].base), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	if (c->flags & SP_MEMPOOL_NO_AFFINITY)
		assert_int_equal(st.affine_hits, 0); /* every image mapped afresh */
	else
		assert_true(st.affine_hits > 0); /* warm reuse really happened */
	assert_true(st.remaps > 0);
	if (c->keep || !(c->flags & SP_MEMPOOL_RESET_DECOMMIT))
		assert_true(st.reset_bytes > 0); /* something was restored in place */
	if (c->batch > 1)
		assert_int_equal(sp_mempool_flush(p), 0);
	for (int k = 0; k < NIMAGES; k++) {
		assert_int_equal(sp_image_release(img[k]), 0);
		free(bytes[k]);
	}
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

#define ISO(name, ...)                                                                             \
	static void name(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		iso_cfg c = {__VA_ARGS__};                                                         \
		run_iso(&c, 0x1234u + __LINE__);                                                   \
		run_iso(&c, 0xfeedu + __LINE__);                                                   \
	}

ISO(default_adaptive, 0, 0, 1, SP_MEMPOOL_TRACK_PRESENT) /* the default */
ISO(adaptive_batch, 0, 0, 3, SP_MEMPOOL_TRACK_PRESENT)
ISO(restore, SP_MEMPOOL_RESET_RESTORE, 0, 1, SP_MEMPOOL_TRACK_PRESENT)
ISO(restore_highwater, SP_MEMPOOL_RESET_RESTORE | SP_MEMPOOL_NO_PAGEMAP_SCAN, 0, 1,
    SP_MEMPOOL_TRACK_HIGH_WATER)
ISO(adaptive_highwater_protnone, SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_GUARD_INSTALL, 0, 2,
    SP_MEMPOOL_TRACK_HIGH_WATER)
ISO(decommit_nokeep, SP_MEMPOOL_RESET_DECOMMIT, 0, 1, SP_MEMPOOL_TRACK_PRESENT)
ISO(written_keep, 0, 20 * PG, 1, SP_MEMPOOL_TRACK_WRITTEN)
ISO(written_keep_batch, 0, 8 * PG, 4, SP_MEMPOOL_TRACK_WRITTEN)
ISO(written_keepall, 0, SLOT_BYTES, 1, SP_MEMPOOL_TRACK_WRITTEN)
ISO(present_nokeep, SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_UFFD_WP, 0, 1,
    SP_MEMPOOL_TRACK_PRESENT)
ISO(present_keep_batch, SP_MEMPOOL_NO_UFFD_WP, 12 * PG, 3, SP_MEMPOOL_TRACK_PRESENT)
ISO(highwater_nokeep, SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_PAGEMAP_SCAN, 0, 1,
    SP_MEMPOOL_TRACK_HIGH_WATER)
ISO(highwater_keep_batch, SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_PROCESS_MADVISE, 8 * PG, 5,
    SP_MEMPOOL_TRACK_HIGH_WATER)
ISO(protnone_written_keep, SP_MEMPOOL_NO_GUARD_INSTALL, 8 * PG, 2, SP_MEMPOOL_TRACK_WRITTEN)
ISO(protnone_highwater, SP_MEMPOOL_NO_GUARD_INSTALL | SP_MEMPOOL_NO_PAGEMAP_SCAN, 4 * PG, 1,
    SP_MEMPOOL_TRACK_HIGH_WATER)
ISO(no_affinity, SP_MEMPOOL_NO_AFFINITY, 8 * PG, 1, UINT32_MAX)

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_adaptive),
		cmocka_unit_test(adaptive_batch),
		cmocka_unit_test(restore),
		cmocka_unit_test(restore_highwater),
		cmocka_unit_test(adaptive_highwater_protnone),
		cmocka_unit_test(decommit_nokeep),
		cmocka_unit_test(written_keep),
		cmocka_unit_test(written_keep_batch),
		cmocka_unit_test(written_keepall),
		cmocka_unit_test(present_nokeep),
		cmocka_unit_test(present_keep_batch),
		cmocka_unit_test(highwater_nokeep),
		cmocka_unit_test(highwater_keep_batch),
		cmocka_unit_test(protnone_written_keep),
		cmocka_unit_test(protnone_highwater),
		cmocka_unit_test(no_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
