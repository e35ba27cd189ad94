/* SPDX-License-Identifier: MIT */
/*
 * locks.h: taking every lock of an index at once, for the memory
 * pool's fork handlers: a child must not inherit a shard lock that a
 * thread of its parent held at the fork (that thread does not exist in the
 * child, so nothing would ever release it).
 */
#ifndef SP_INDEX_LOCKS_H
#define SP_INDEX_LOCKS_H

#include "slotpool/index.h"

/* Take every shard lock in ascending order (the order free_many uses). */
void sp__index_lock_all(sp_index *ix);
/* Release them; in a fork child too (the forking thread took them). */
void sp__index_unlock_all(sp_index *ix);

#endif /* SP_INDEX_LOCKS_H */
