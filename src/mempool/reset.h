/* SPDX-License-Identifier: MIT */
/*
 * reset.h: making a freed slot pristine again (see reset.c).
 */
#ifndef SP_MEMPOOL_RESET_H
#define SP_MEMPOOL_RESET_H

#include "types.h"

/* Ranges a reset leaves to decommit, gathered for one call. */
struct sp__ranges {
	sp__os_range r[64];
	size_t n;
	int barrier; /* clean mapped pages since the last range: do not merge */
};

/* Reset held slot i: restore in place what is kept, gather the ranges to
 * decommit in d (issued early if d fills). */
int sp__reset(sp_mempool *p, uint32_t i, struct sp__ranges *d);
/* Decommit n ranges (process_madvise, or madvise each), counting them. */
int sp__decommit(sp_mempool *p, const sp__os_range *r, size_t n);
/* Start slot i's learning for img (NULL: zeros), when it is mapped. */
void sp__reset_learn_from(sp_mempool *p, uint32_t i, const sp_image *img);

#endif /* SP_MEMPOOL_RESET_H */
