/* SPDX-License-Identifier: MIT */
/*
 * inject.h: fault injection into the OS layer, for tests.
 *
 * sp__os_fail(op, skip, count, err) makes the (skip+1)th to (skip+count)th
 * calls of `op` fail with `err` without calling the kernel. Every function
 * of os.h that can fail asks sp__os_injected first; the counters are
 * process-wide atomics, and tests that set them run single-threaded.
 */
#ifndef SP_OS_INJECT_H
#define SP_OS_INJECT_H

#include <stdint.h>

/* Operations that fault injection can target. */
enum sp__os_op {
	SP__OS_MMAP,            /* reserve, map_anon, map_file, map_ro */
	SP__OS_MPROTECT,        /* protect */
	SP__OS_MADVISE,         /* decommit, guard install/remove */
	SP__OS_MEMFD,           /* memfd_create, write, seal */
	SP__OS_PROCESS_MADVISE, /* decommit_many */
	SP__OS_IOCTL,           /* pagemap scan, userfaultfd register/protect */
	SP__OS_NOPS
};

/* Fail calls skip+1 .. skip+count of `op` with err (< 0). count 0 clears. */
void sp__os_fail(enum sp__os_op op, uint32_t skip, uint32_t count, int err);
/* Clear every injected failure. */
void sp__os_fail_clear(void);
/* Count one call of op: 0, or the error injected for this call (os/linux.c
 * returns it without calling the kernel). */
int sp__os_injected(enum sp__os_op op);

#endif /* SP_OS_INJECT_H */
