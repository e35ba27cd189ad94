/* SPDX-License-Identifier: MIT */
/*
 * record.h: the traffic recorder behind sp_index_record: every operation an
 * index serves, written as a line of the trace format slotpool-sim and the
 * seed's replayer read (docs/SIM.md, "Recording").
 *
 * api.c calls sp__record_op / sp__record_free with the lock of the shard
 * that served the operation held, right after the policy changed, so lines
 * come in the order the operations took effect. With one shard that lock
 * orders everything; with several, the recorder's mutex (taken inside the
 * shard lock, never the other way round) serialises the lines. Start and
 * stop hold every shard lock, so no operation is inside the recorder then.
 *
 * State: a handle (the index of its a/c line) per slot, the line buffer
 * (SP__RECORD_BUF bytes, written through the callback when full, at start
 * and at stop), the handle counter and the clock of the last timestamp.
 * All allocated at start: recording allocates nothing per operation.
 */
#ifndef SP_RECORD_H
#define SP_RECORD_H

#include <stdint.h>

#include "slotpool/common.h"

struct sp__shard;
struct sp__recorder;

/* Operation kinds of sp__record_op (the trace's a K, a -, c K lines). */
#define SP__REC_ALLOC 0
#define SP__REC_ALLOC_NOKEY 1
#define SP__REC_CLEAR 2

#define SP__RECORD_BUF 8192

/* Handles a recording may create: the a/c lines slotpool-sim accepts. */
#define SP__RECORD_MAX_HANDLES (UINT32_MAX - 1u)

/* What sp__record_begin writes into the header. */
struct sp__record_info {
	uint32_t capacity;
	uint32_t max_warm;
	uint32_t shards;
	uint32_t flags;
};

/* A recorder for `capacity` slots writing through write(ctx); locking for
 * several shards when shards > 1. 0 or -ENOMEM. */
int sp__record_new(struct sp__recorder **out, uint32_t capacity, uint32_t shards, sp_write_fn write,
                   void *ctx);

/*
 * sp__record_begin: with every shard lock held, write the header and the
 * lines that rebuild the index's current state from an empty index (one
 * "a" per slot ever used, in slot order, then one "f" per warm slot, oldest
 * first), give each used slot its handle, write it all out and start the
 * clock. 0 or the write error (the recorder is then unusable: free it).
 */
int sp__record_begin(struct sp__recorder *r, const struct sp__shard *shards,
                     const struct sp__record_info *info);

/* An a/c operation; slot is the slot served (index numbering) or UINT32_MAX
 * for -ENOSPC / -ENOENT. Nothing once the recorder failed. */
void sp__record_op(struct sp__recorder *r, int op, uint64_t key, uint32_t slot);

/* A successful free of `slot` (index numbering). */
void sp__record_free(struct sp__recorder *r, uint32_t slot, uint64_t bytes);

/* The recorder's kept error (a write error, or -EOVERFLOW when the handles
 * ran out), or 0; with every shard lock held. */
int sp__record_error(const struct sp__recorder *r);

/* sp__record_end: write what is buffered (unless failed) and free the
 * recorder, which must be detached from the index. Returns the kept error,
 * else the write's. NULL is a no-op returning 0. */
int sp__record_end(struct sp__recorder *r);

#endif /* SP_RECORD_H */
