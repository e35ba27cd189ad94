/* SPDX-License-Identifier: MIT */
/*
 * sink.h: handing buffered output to a caller's sp_write_fn, the one way
 * the metrics writer (metrics.c) and the traffic recorder (index/record.c)
 * both do it: the first error sticks and nothing is written after it.
 */
#ifndef SP_SINK_H
#define SP_SINK_H

#include <errno.h>
#include <stddef.h>

#include "slotpool/common.h"

/* Writes buf[0, *len) through write(ctx) unless *err is set, empties the
 * buffer, and keeps the write's error in *err (a positive return is
 * -EIO). */
static inline void sp__sink_flush(sp_write_fn write, void *ctx, const char *buf, size_t *len,
                                  int *err)
{
	if (*err || !*len)
		return;
	int e = write(ctx, buf, *len);
	*len = 0;
	if (e)
		*err = e < 0 ? e : -EIO;
}

#endif /* SP_SINK_H */
