/* SPDX-License-Identifier: MIT */
/*
 * hint.c: allocation of the cross-shard affinity summary (hint.h).
 */
#include "hint.h"

#include <errno.h>
#include <stdlib.h>

int sp__hint_init(struct sp__hint *h, uint32_t capacity, uint32_t shards)
{
	/* A column needs room for its own shard's keys only: capacity/shards
	 * cells (rounded up to a power of two, at least 64) keep false "maybe"s
	 * rare while the summary stays under 2 bytes a slot for any count of
	 * shards. */
	uint32_t cells = 64, log2 = 6;
	while (cells < capacity / shards && cells < (UINT32_C(1) << 30)) {
		cells <<= 1;
		log2++;
	}
	/* calloc: zero counts, and untouched pages cost nothing. */
	h->count = calloc((size_t)cells * shards, sizeof(atomic_uchar));
	if (!h->count)
		return -ENOMEM;
	h->mask = cells - 1;
	h->shift = 64 - log2;
	return 0;
}

void sp__hint_fini(struct sp__hint *h)
{
	free(h->count);
	h->count = NULL;
}

void sp__hint_key_hook(void *ctx, uint64_t key, int delta)
{
	sp__hint_adjust(ctx, key, delta);
}
