/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_guard.c: every byte from `accessible` to the end of the
 * slot's guard faults, and grow makes exactly the grown range readable (as
 * zeros). Each touch happens in a forked child, which must die by SIGSEGV.
 * Run with guard markers (MADV_GUARD_INSTALL) and with PROT_NONE guards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mp_util.h"

#define PG 4096u
#define SLOT_BYTES (32 * PG)
#define GUARD (4 * PG)

static void run_guards(unsigned flags, uint32_t want_guard)
{
	sp_mempool_config cfg = {
		.slots = 3, .slot_bytes = SLOT_BYTES, .guard_bytes = GUARD, .flags = flags};
	sp_mempool *p = NULL;
	assert_int_equal(sp_mempool_create(&cfg, &p), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(p, &st), 0);
	if (st.guard_path != want_guard) {
		sp_mempool_destroy(p);
		skip();
	}
	unsigned char bytes[100];
	memset(bytes, 0xab, sizeof(bytes));
	sp_image *img;
	assert_int_equal(sp_image_create(p, bytes, sizeof(bytes), PG, &img), 0);

	sp_mem_slot a, b;
	assert_int_equal(sp_mempool_alloc(p, img, 4 * PG, &a), 0);
	assert_int_equal(sp_mempool_alloc(p, NULL, 8 * PG, &b), 0);
	unsigned char *base = a.base;
	/* The guard before slot 0 and everything past accessible fault. */
	assert_int_equal(mp_faults(base - 1, 0), 1);
	assert_int_equal(mp_faults(base - GUARD, 1), 1);
	assert_int_equal(mp_faults(base + 4 * PG - 1, 1), 0);
	assert_int_equal(mp_faults(base + 4 * PG, 0), 1);
	assert_int_equal(mp_faults(base + 4 * PG, 1), 1);
	assert_int_equal(mp_faults(base + SLOT_BYTES - 1, 0), 1);
	assert_int_equal(mp_faults(base + SLOT_BYTES, 0), 1);
	assert_int_equal(mp_faults(base + SLOT_BYTES + GUARD - 1, 1), 1);
	assert_int_equal(base[PG], 0xab);

	/* grow: the grown range faults before, reads zero after. */
	assert_int_equal(mp_faults(base + 9 * PG + 7, 0), 1);
	assert_int_equal(sp_mempool_grow(p, a.base, 10 * PG), 0);
	assert_int_equal(mp_faults(base + 9 * PG + 7, 1), 0);
	assert_int_equal(mp_first_diff(base + 4 * PG, 6 * PG, NULL, 0, 0), -1);
	assert_int_equal(mp_faults(base + 10 * PG, 0), 1);
	memset(base + 9 * PG, 0x11, PG);

	/* A full-size slot: the slot's guard still faults. */
	assert_int_equal(sp_mempool_grow(p, a.base, SLOT_BYTES), 0);
	assert_int_equal(mp_faults(base + SLOT_BYTES - 1, 1), 0);
	assert_int_equal(mp_faults(base + SLOT_BYTES, 0), 1);
	assert_int_equal(mp_faults(base + SLOT_BYTES + GUARD - 1, 0), 1);

	/* Slot b's guard too, and after reuse at a smaller size. */
	unsigned char *bb = b.base;
	assert_int_equal(mp_faults(bb + 8 * PG, 0), 1);
	assert_int_equal(mp_faults(bb + SLOT_BYTES + GUARD - 1, 0), 1);
	assert_int_equal(sp_mempool_free(p, a.base), 0);
	assert_int_equal(sp_mempool_alloc(p, img, 2 * PG, &a), 0);
	assert_ptr_equal(a.base, base); /* warm for img */
	assert_int_equal(mp_faults(base + 2 * PG, 0), 1);
	assert_int_equal(mp_faults(base + 9 * PG, 0), 1);
	assert_int_equal(mp_first_diff(base, 2 * PG, bytes, PG, sizeof(bytes)), -1);

	assert_int_equal(sp_mempool_free(p, a.base), 0);
	assert_int_equal(sp_mempool_free(p, b.base), 0);
	assert_int_equal(sp_image_release(img), 0);
	assert_int_equal(sp_mempool_check(p), 0);
	sp_mempool_destroy(p);
}

static void guard_install(void **state)
{
	(void)state;
	run_guards(0, SP_MEMPOOL_GUARD_INSTALL);
}

static void guard_prot_none(void **state)
{
	(void)state;
	run_guards(SP_MEMPOOL_NO_GUARD_INSTALL, SP_MEMPOOL_GUARD_PROT_NONE);
}

int main(void)
{
	mp_require_kernel();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guard_install),
		cmocka_unit_test(guard_prot_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
