/* SPDX-License-Identifier: MIT */
/*
 * router.h: the paths of an index of several shards beyond the home
 * shard's fast path (api.c): other shards' warm slots for a key, borrowed
 * cold slots, the whole index's budget, and another shard's LRU slot when
 * home is full. Called by api.c only.
 *
 * Naming: `_unlock` functions are entered holding home's lock and return
 * holding none.
 */
#ifndef SP_ROUTER_H
#define SP_ROUTER_H

#include <stdint.h>

#include "layout.h"

/* The rest of an alloc, home's lock held and, for a key, home's step 1
 * already failed. 0 with *slot, or -ENOSPC. */
int sp__route_alloc_unlock(sp_index *ix, uint32_t home, enum sp__use use, uint64_t key,
                           uint32_t *slot);

/* A whole alloc for `key`, home's lock held: the recording copy of the
 * fast path. */
int sp__route_alloc_home_unlock(sp_index *ix, uint32_t home, uint64_t key, uint32_t *slot);

/* A whole alloc for `key` when home's lock was busy: waits for it. */
int sp__route_alloc_wait(sp_index *ix, uint32_t home, uint64_t key, uint32_t *slot);

/* A whole alloc_affine_and_clear. 0 with *slot, or -ENOENT. */
int sp__route_clear(sp_index *ix, uint64_t key, uint32_t *slot);

#endif /* SP_ROUTER_H */
