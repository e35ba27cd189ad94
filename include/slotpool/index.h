/* SPDX-License-Identifier: MIT */
/**
 * @file slotpool/index.h
 * @brief The slot index allocator with affinity.
 *
 * An sp_index hands out the indices 0 .. capacity-1 of a fixed pool. A slot
 * freed by a user ("key") stays *warm* for that key: the next allocation for
 * the same key gets it back, so whatever the caller keeps per slot (a mapped
 * image, a compiled module, a connection) can be reused instead of rebuilt.
 *
 * Every slot is in one of three states:
 * - used: handed out, remembering its key (or no key);
 * - unused-cold: never handed out (slots go cold -> used in index order);
 * - unused-warm: freed, remembering the key it was used with (or none).
 *
 * sp_index_alloc(key) picks, in order:
 * 1. the key's most recently freed warm slot (an "affine hit");
 * 2. if fewer than max_unused_warm_slots slots are unused-warm: the next
 *    cold slot, else the least recently freed warm slot of any key;
 * 3. otherwise: the least recently freed warm slot, else a cold slot;
 *
 * and fails with -ENOSPC when every slot is in use.
 * With one shard the slot chosen is exactly the one Wasmtime's pooling
 * allocator chooses, for every sequence of calls.
 *
 * Shards: an index may be cut into shards for many threads (config.shards;
 * docs/DESIGN.md). Each shard owns a contiguous range of slots, a lock and a
 * share of the warm budget; a thread works in its home shard (assigned
 * round-robin on a thread's first use). Before taking a cold or another
 * key's slot for K at home, an alloc takes K's newest warm slot in another
 * shard if one has any (found through a per-key summary, without taking
 * every lock); and the warm budget is judged for the whole index (a shard
 * past its share asks an index-wide count), so hits stay close to one
 * shard's (SP_INDEX_HOME_AFFINITY gives up the cross-shard hits for
 * throughput). A home with no cold slot left borrows one from another shard.
 * Exhaustion is reported only after every shard was tried.
 *
 * Thread-safety: every function may be called from any thread at any time,
 * except that sp_index_destroy() must not race with any other call on the
 * same index. An operation takes one shard lock at a time (free_many: each
 * lock it needs once, in ascending order); sp_index_check() and the start
 * and stop of sp_index_record() take every shard lock at once.
 *
 * Memory: all memory is allocated by sp_index_create(); no operation
 * allocates (a recording started with sp_index_record() allocates its
 * recorder, 4 bytes a slot plus 8 KiB, and frees it when it stops). Per
 * slot: 24 bytes of slot state plus 18 bytes of key table (42 bytes),
 * whatever the number of keys; with several shards, 1 to 2 more bytes a
 * slot for the cross-shard summary, plus 256 bytes a shard.
 */
#ifndef SLOTPOOL_INDEX_H
#define SLOTPOOL_INDEX_H

#include "slotpool/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest capacity an index accepts (2^30 slots). */
#define SP_INDEX_MAX_CAPACITY (UINT32_C(1) << 30)

/** Most shards an index accepts. */
#define SP_INDEX_MAX_SHARDS 64

/** Slot value that never names a slot; handy as "none" in caller arrays. */
#define SP_INDEX_NO_SLOT UINT32_MAX

/** Opaque handle. */
typedef struct sp_index sp_index;

/**
 * The state of one slot, as sp_index_slot_state() reports it (in an `int`).
 */
typedef enum sp_slot_state {
	SP_SLOT_COLD = 0,     /**< never used */
	SP_SLOT_USED = 1,     /**< in use, no key */
	SP_SLOT_USED_KEY = 2, /**< in use for a key */
	SP_SLOT_WARM = 3,     /**< freed, no key */
	SP_SLOT_WARM_KEY = 4, /**< freed, warm for a key */
} sp_slot_state;

/**
 * Creation parameters.
 *
 * An all-zero struct is valid (an index of capacity 0); each field
 * documents its meaning at zero. Fields marked "must be zero" are room to
 * grow: a non-zero value is -EINVAL, so that a later version can give
 * it meaning without changing the behaviour of older callers.
 */
typedef struct sp_index_config {
	/** Number of slots, 0..SP_INDEX_MAX_CAPACITY. 0 is an index whose
	 * allocations all fail with -ENOSPC. */
	uint32_t capacity;
	/** Budget of unused-warm slots: while fewer slots than this are
	 * unused-warm, a key without warm slots gets a cold slot rather than
	 * evicting another key's warm slot. 0 (the default) always reuses warm
	 * slots first, the lowest-memory policy. Values above capacity behave
	 * as capacity. */
	uint32_t max_unused_warm_slots;
	/** Number of shards, 0..SP_INDEX_MAX_SHARDS and at most capacity (or 1
	 * when capacity is 0). 1 = a single lock and exactly Wasmtime's policy.
	 * 0 (the default) = automatic: one per online CPU, at most 16, and 1
	 * below 128 slots. Shard i holds capacity/S slots (one more for the
	 * first capacity\%S shards) and max_unused_warm_slots/S of the budget
	 * (one more for the first shards likewise). A thread's home shard
	 * should hold its working set: with fewer busy threads than CPUs and
	 * more live slots a thread than capacity/S, set this to the number of
	 * threads (docs/DESIGN.md, "Known limit"). */
	uint32_t shards;
	/** `SP_INDEX_*` flags below (SP_INDEX_HOME_AFFINITY), or 0. Undefined
	 * bits must be zero. */
	uint32_t flags;
	/** Must be zero. */
	uint64_t reserved[4];
} sp_index_config;

/**
 * Flag of sp_index_config.flags: with several shards, sp_index_alloc() looks
 * for the key's warm slot in the calling thread's home shard only, never in
 * another shard (the trade Wasmtime's own sharded pooling allocator makes).
 *
 * Threads that share keys then stop taking each other's warm slots, which
 * moves cache lines between CPUs: they trade some affine hits for
 * throughput (figures: docs/PERFORMANCE.md). Threads that keep to their
 * own keys lose nothing. sp_index_alloc_affine_and_clear() still
 * searches every shard (a key's teardown must find all its warm slots), and
 * the budget, the cold slots and exhaustion are still judged across shards.
 * No effect with one shard.
 */
#define SP_INDEX_HOME_AFFINITY (1u << 0)

/**
 * A snapshot of an index (sp_index_get_stats()), consistent for each shard
 * (taken under its lock). Counters count since sp_index_create().
 *
 * Growing without breaking callers: set `size` to sizeof(sp_index_stats)
 * before the call (e.g. `sp_index_stats st = {.size = sizeof(st)};`). The
 * library fills the fields that fit in `size` bytes and sets `size` to the
 * number of bytes it filled, so a program built against an older header
 * keeps working with a newer library (later fields are added at the end),
 * and a newer program can tell which fields an older library filled.
 */
typedef struct sp_index_stats {
	uint32_t size;                  /**< in: bytes the caller's struct holds;
	                                     out: bytes filled */
	uint32_t capacity;              /**< slots in the index */
	uint32_t in_use;                /**< slots currently used */
	uint32_t unused_warm;           /**< slots freed and not yet reused */
	uint32_t unused_cold;           /**< slots never handed out */
	uint32_t keys_with_warm;        /**< keys holding >= 1 warm slot (a key
	                                     warm in two shards counts twice) */
	uint32_t shards;                /**< shards in use */
	uint32_t peak_in_use;           /**< most slots in use at once (several
	                                     shards: the sum of each shard's
	                                     peak, an upper bound) */
	uint64_t unused_bytes_resident; /**< sum of bytes_resident over warm slots
	                                     (saturates at UINT64_MAX over shards) */
	uint64_t allocs;                /**< successful alloc/alloc_nokey/clear calls */
	uint64_t frees;                 /**< slots freed (free_many counts each) */
	uint64_t affine_hits;           /**< alloc(key) served by key's warm slot */
	uint64_t cold_picks;            /**< allocs served by a cold slot */
	uint64_t warm_steals;           /**< allocs served by another key's (or no
	                                     key's) warm slot */
	uint64_t clears;                /**< successful alloc_affine_and_clear */
	uint64_t failed_allocs;         /**< alloc/alloc_nokey that got -ENOSPC */
	uint64_t clear_misses;          /**< alloc_affine_and_clear that got -ENOENT */
	uint64_t slot_state_bytes;      /**< bytes of per-slot state (heap) */
	uint64_t total_bytes;           /**< all bytes the index allocated */
} sp_index_stats;

/**
 * Allocate an index described by *cfg and store it in *out.
 *
 * All memory the index will ever use is allocated here (but for a
 * recorder, see sp_index_record()). On error *out is
 * untouched. Thread-safe. Cost: O(1) work plus the allocation of about 42
 * bytes per slot (pages are touched only when used).
 *
 * @param cfg the creation parameters.
 * @param out where the new index is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  cfg or out is NULL, capacity > SP_INDEX_MAX_CAPACITY,
 *           shards > SP_INDEX_MAX_SHARDS or > capacity (> 1 when capacity
 *           is 0), an undefined flag, or a non-zero reserved field;
 *         - -ENOMEM  the memory could not be allocated (nothing is leaked).
 */
SP_API int sp_index_create(const sp_index_config *cfg, sp_index **out);

/**
 * Free the index and everything it owns. NULL is a no-op.
 *
 * Slots still in use are simply forgotten. Must not race with any other call
 * on this index. O(1) plus the cost of free().
 *
 * @param ix the index, or NULL.
 */
SP_API void sp_index_destroy(sp_index *ix);

/**
 * Allocate a slot for `key` following steps 1-3 above, and store its index
 * in *slot.
 *
 * The slot is remembered as used by `key`, so freeing it makes it warm for
 * `key`. On error *slot is untouched and the index is unchanged.
 *
 * Thread-safe; one shard takes its lock once; several shards take the home
 * lock, and others' only when the summary or the budget points there (never
 * for step 1 with SP_INDEX_HOME_AFFINITY). O(1) expected (O(shards) when
 * every shard is tried).
 *
 * @param ix the index.
 * @param key any uint64_t; 0 and UINT64_MAX are ordinary keys.
 * @param slot where the slot's index is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or slot is NULL;
 *         - -ENOSPC  every slot is in use (counted in failed_allocs).
 */
SP_API int sp_index_alloc(sp_index *ix, uint64_t key, uint32_t *slot);

/**
 * Like sp_index_alloc() without a key: steps 2-3 only.
 *
 * The slot is used with no key; once freed it is warm for no key and is only
 * ever reused through steps 2-3. Errors, thread-safety and cost: as
 * sp_index_alloc().
 *
 * @param ix the index.
 * @param slot where the slot's index is stored.
 * @return 0 on success, or a negative errno value, as sp_index_alloc().
 */
SP_API int sp_index_alloc_nokey(sp_index *ix, uint32_t *slot);

/**
 * Take `key`'s most recently freed warm slot (step 1 only) and mark it used
 * with *no* key, so that its affinity is forgotten.
 *
 * Meant for tearing a key down: call it until -ENOENT, reset and free each
 * slot it returns. On error *slot is untouched and the index is unchanged.
 *
 * Thread-safe; takes the home shard's lock, then those of shards the summary
 * names. O(1) expected.
 *
 * @param ix the index.
 * @param key the key whose warm slot is taken.
 * @param slot where the slot's index is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or slot is NULL;
 *         - -ENOENT  `key` holds no warm slot (counted in clear_misses).
 */
SP_API int sp_index_alloc_affine_and_clear(sp_index *ix, uint64_t key, uint32_t *slot);

/**
 * Return a used slot. It becomes the most recently freed warm slot overall
 * and of its key.
 *
 * On error nothing changes. Thread-safe; takes the slot's shard lock once.
 * O(1) expected.
 *
 * @param ix the index.
 * @param slot the slot to free.
 * @param bytes_resident what the caller left resident in the slot (for
 *        accounting only: it is summed over warm slots in
 *        unused_bytes_resident and subtracted when the slot is reused).
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL     ix is NULL, slot >= capacity, or slot is not in use
 *           (never allocated, or already freed);
 *         - -EOVERFLOW  the resident byte sum of the slot's shard would pass
 *           UINT64_MAX (stats saturate the total at UINT64_MAX).
 */
SP_API int sp_index_free(sp_index *ix, uint32_t slot, uint64_t bytes_resident);

/**
 * Free slots[0..n-1], in that order, as n calls of sp_index_free() would,
 * taking each shard's lock once.
 *
 * The whole batch is validated first: if any entry is bad, nothing is freed.
 * n = 0 succeeds and does nothing. Thread-safe; takes each lock it needs
 * once. O(n) expected.
 *
 * @param ix the index.
 * @param slots the n slots to free.
 * @param bytes_resident may be NULL (all zero) or hold n values, as for
 *        sp_index_free().
 * @param n how many slots.
 * @return 0 on success, or a negative errno value (the error is that of the
 *         first bad entry in order):
 *         - -EINVAL     ix is NULL, slots is NULL with n > 0, an entry is out
 *           of range or not in use, or a slot is listed twice;
 *         - -EOVERFLOW  a shard's resident byte sum would pass UINT64_MAX.
 */
SP_API int sp_index_free_many(sp_index *ix, const uint32_t *slots, const uint64_t *bytes_resident,
                              size_t n);

/**
 * Fill *out with a snapshot, each shard's part taken under its lock.
 *
 * Thread-safe. O(shards).
 *
 * @param ix the index.
 * @param out the snapshot; out->size must be set first (see sp_index_stats).
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or out is NULL, or out->size is smaller than the first
 *           two fields (8 bytes); *out is then untouched.
 */
SP_API int sp_index_get_stats(sp_index *ix, sp_index_stats *out);

/**
 * Store in *count how many warm slots `key` holds (0 for an unknown key).
 *
 * A diagnostic: it walks the key's list. Thread-safe; takes each shard's
 * lock in turn. O(shards + number of warm slots of key).
 *
 * @param ix the index.
 * @param key the key.
 * @param count where the number of warm slots is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or count is NULL.
 */
SP_API int sp_index_key_warm_slots(sp_index *ix, uint64_t key, uint32_t *count);

/**
 * Report the state of one slot, for debugging and tests.
 *
 * Stores in *state an sp_slot_state value (`SP_SLOT_*`) and, for a used or
 * warm slot with a key, the key in *key (key may be NULL).
 * A slot with no key leaves *key untouched.
 *
 * Thread-safe; takes the slot's shard lock. O(length of the slot's key list)
 * for a warm keyed slot (the key is stored once per key, not per slot), else
 * O(1).
 *
 * @param ix the index.
 * @param slot the slot.
 * @param state where the state is stored: an sp_slot_state value.
 * @param key where the key is stored, or NULL.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or state is NULL, or slot >= capacity.
 */
SP_API int sp_index_slot_state(sp_index *ix, uint32_t slot, int *state, uint64_t *key);

/**
 * Walk the whole structure and verify every invariant.
 *
 * It checks both links of every list, list lengths against the counters,
 * each slot's state against the lists it is on, the key table against the
 * key lists, the byte sum, the shard layout and the cross-shard summary.
 * Thread-safe; takes each shard's lock (all of them for the summary).
 * O(capacity + key table size): for tests and debugging, not for hot paths.
 *
 * @param ix the index.
 * @return 0 when all hold, -EUCLEAN on the first violation (which is
 *         described on stderr), -EINVAL when ix is NULL.
 */
SP_API int sp_index_check(sp_index *ix);

/**
 * Write the index's counters and gauges (every field of sp_index_stats, the
 * warm budget and the library version) through write(ctx, buf, len), in
 * `format`.
 *
 * Names, meanings and a sample of each: docs/METRICS.md. Values come from
 * one sp_index_get_stats() snapshot, as exact decimal integers; the same
 * state gives byte-identical output. The output is written in chunks of at
 * most 512 bytes from a buffer on the stack (nothing is allocated); write
 * is called at least once and never with len 0.
 *
 * Thread-safe (takes each shard's lock in turn, never while calling write).
 * O(shards) plus the output, about 3 KiB.
 *
 * @param ix the index.
 * @param format an sp_metrics_format value:
 *        - SP_METRICS_PROMETHEUS: Prometheus text exposition format 0.0.4:
 *          names `slotpool_index_*`, counters `*_total`, sizes `*_bytes`, a
 *          `# HELP` and `# TYPE` line for each family;
 *        - SP_METRICS_JSON: one JSON object on one line, keys named as the
 *          sp_index_stats fields.
 * @param write the output callback.
 * @param ctx passed to write unchanged.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  ix or write is NULL, or format is unknown (nothing is
 *           written);
 *         - the first negative value write returns (a positive one counts as
 *           -EIO): the output stops there, write is not called again.
 */
SP_API int sp_index_metrics(sp_index *ix, int format, sp_write_fn write, void *ctx);

/**
 * Start recording every operation of the index through write(ctx, buf, len)
 * or, with write NULL, stop.
 *
 * The recording is a trace that slotpool-sim replays (docs/SIM.md,
 * "Recording"): one line per alloc ("a K", "a -"), clear ("c K") and free
 * ("f H [B]", H the index of the a/c line of the slot freed), failed allocs
 * and clear misses included, in the order the index served them, and
 * "# t=NS" comment lines (nanoseconds of CLOCK_MONOTONIC since the start)
 * before an operation whenever at least 1 us passed since the last one
 * written. It opens with "#" lines naming the index's capacity, budget and
 * shards, then, when the index is not empty, lines that rebuild its state
 * from an empty index (an "a" per slot ever used, in slot order, an "f" per
 * warm slot, oldest first), so that frees of slots allocated before the
 * start are of known handles. Failed frees (which change nothing) and stats
 * calls are not recorded.
 *
 * Exactness: with one shard, replaying the recording with
 * `slotpool-sim replay --shards 1 --capacity C --warm W --slots` (or
 * Wasmtime's allocator fed the same calls) gives every slot the index
 * served, whatever the threads did. With several shards the lines are a
 * valid serial order of the operations (each recorded inside its shard's
 * lock, the lines serialised by a mutex), but the cross-shard choices
 * depend on timing, so a replay with the same shards is close, not exact.
 *
 * Output is buffered (8 KiB) and written when the buffer fills, at the
 * start (the header and the state), at the stop and by sp_index_destroy().
 * write is called while the index's lock is held, from whichever thread
 * made the operation: it must not call any function of this index (that
 * deadlocks), and the time it takes stalls the index. After write fails,
 * or when the recording reaches 2^32 - 2 a/c lines, nothing more is
 * recorded; the recording stays installed, and the next sp_index_record()
 * call (start or stop) ends it and returns its error, starting nothing.
 *
 * A stop writes what is buffered and frees the recorder; sp_index_destroy()
 * does the same, ignoring write's error.
 *
 * Thread-safe; start and stop take every shard lock (the start writes the
 * state lines under them: O(slots used)). Cost while off: one predictable
 * branch per operation. While on, per operation: a clock read, the line's
 * formatting and, with several shards, a mutex; see bench/bench_record.c.
 *
 * @param ix the index.
 * @param write the output callback; NULL stops the recording.
 * @param ctx passed to write unchanged.
 * @return 0 on success, or a negative errno value:
 *         - errors of a start (write != NULL):
 *           - -EINVAL  ix is NULL;
 *           - -ENOMEM  the recorder (4 bytes a slot plus 8 KiB) could not be
 *             allocated; nothing changes;
 *           - -EBUSY   a recording is already running (it goes on);
 *           - the error of the running recording when it had failed (it is
 *             ended, and nothing is started);
 *           - write's error on the header and state lines (nothing is
 *             recorded).
 *         - errors of a stop (write == NULL): -EINVAL ix is NULL; the
 *           recording's error, or write's on the last lines; 0 when no
 *           recording was running.
 */
SP_API int sp_index_record(sp_index *ix, sp_write_fn write, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* SLOTPOOL_INDEX_H */
