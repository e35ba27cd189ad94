/* SPDX-License-Identifier: MIT */
/*
 * prepare.h: fitting a held slot to its use (see prepare.c).
 */
#ifndef SP_MEMPOOL_PREPARE_H
#define SP_MEMPOOL_PREPARE_H

#include "types.h"

/* Returned inside the pool when the mappings budget refused a change that
 * was therefore not made (the caller turns it into -ENOMEM). */
#define SP__EMAPS (-100000)

/* Make held slot i ready for img with acc bytes accessible (remapping it
 * if it maps something else). SP__EMAPS without touching the slot when the
 * mappings budget refuses; another error: the caller marks it failed. */
int sp__prepare_slot(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc);
/* Widen held slot i's accessible range to acc. -ENOMEM (nothing changed)
 * when the mappings budget refuses; another error marks the slot rebuild. */
int sp__prepare_grow(sp_mempool *p, uint32_t i, uint64_t acc);

#endif /* SP_MEMPOOL_PREPARE_H */
