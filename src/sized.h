/* SPDX-License-Identifier: MIT */
/*
 * sized.h: the growing-struct convention of the public stats structs: the
 * caller sets the first field, `uint32_t size`, to the sizeof it was built
 * with; the library copies what fits and reports what it copied.
 */
#ifndef SP_SIZED_H
#define SP_SIZED_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Smallest size a caller may pass: the size field and the first field. */
#define SP__SIZED_MIN 8u

/* Copy the library's struct `full` (have bytes, starting with its size
 * field) into `out`, whose caller set out's size field; 0 or -EINVAL. */
static inline int sp__sized_copy(void *out, const void *full, uint32_t have)
{
	uint32_t want;
	memcpy(&want, out, sizeof(want));
	if (want < SP__SIZED_MIN)
		return -EINVAL;
	uint32_t n = want < have ? want : have;
	memcpy(out, full, n);
	memcpy(out, &n, sizeof(n));
	return 0;
}

#endif /* SP_SIZED_H */
