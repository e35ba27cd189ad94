/* SPDX-License-Identifier: MIT */
/*
 * image.h: the records of a pool's images (see image.c). The pool side of
 * a release (settling the batch, purging warm slots) is pool.c's.
 */
#ifndef SP_MEMPOOL_IMAGE_H
#define SP_MEMPOOL_IMAGE_H

#include "types.h"

/* Is img a live image of p? (relaxed: the release protocol decides). */
int sp__image_usable(const sp_mempool *p, const sp_image *img);
/* Drop a reference to img unless it is the last one: 0 when others
 * remain, 1 when this is the last (still counted: the caller retires the
 * image or gives up), -EINVAL when img is released already. Under mu. */
int sp__image_unref_locked(sp_image *img);
/* Close what img holds (its fd, its source mapping, that mapping's count)
 * and move its record to the released list, refs 0. Under mu. */
void sp__image_retire_locked(sp_mempool *p, sp_image *img);
/* Free every image record of p, live or released, at destroy. */
void sp__image_destroy_all(sp_mempool *p);

#endif /* SP_MEMPOOL_IMAGE_H */
