/* SPDX-License-Identifier: MIT */
/**
 * @file slotpool/mempool.h
 * @brief A pool of guarded memory slots with copy-on-write images and warm
 * reuse, built on the slot index allocator.
 *
 * Linux only.
 *
 * The pool reserves one range of address space at create:
 *
 *     [guard][slot 0 | guard][slot 1 | guard] ... [slot n-1 | guard]
 *
 * each slot slot_bytes long, each guard guard_bytes long. All of it starts
 * inaccessible and costs no memory. sp_mempool_alloc() hands out a slot whose
 * bytes [0, accessible) are readable and writable and hold an image (mapped
 * copy-on-write from a sealed memfd at the image's offset) or zeros; every
 * byte from `accessible` to the end of the slot's guard faults.
 *
 * sp_mempool_free() resets the slot so that the next user sees exactly the
 * pristine image or zeros. By default (the adaptive reset) the pages stay
 * resident and are put back in place: every page that may have been
 * written is compared with the image and copied back if it differs, so the
 * next user takes no page fault; which pages may have been written comes
 * from reading the used range directly or from one PAGEMAP_SCAN, whichever
 * the slot's own timings say is cheaper. Resident pages of warm slots are
 * bounded by max_resident_bytes (the least recently freed go first) and
 * released on demand by sp_mempool_trim(). SP_MEMPOOL_RESET_DECOMMIT (or
 * keep_resident_bytes > 0) instead decommits what was written
 * (madvise MADV_DONTNEED), but for the first keep_resident_bytes. The slot
 * stays *warm* for its image: the next alloc of the same image gets it back
 * without remapping anything. See docs/MEMPOOL.md for the slot lifecycle
 * and the reset's cost model.
 *
 * Kernel features are probed once at create, each with a fallback; the
 * path in use is reported in sp_mempool_stats:
 * - write tracking: PAGEMAP_SCAN of private pages (6.7+) > high-water
 *   range; with SP_MEMPOOL_RESET_DECOMMIT and keep_resident_bytes > 0,
 *   userfaultfd async write-protect + PAGEMAP_SCAN (6.7+) first;
 * - decommit batch: process_madvise(MADV_DONTNEED) on self (6.13+) > one
 *   madvise per range;
 * - guards: MADV_GUARD_INSTALL (6.13+; pools up to 1 GiB) > PROT_NONE
 *   mappings.
 *
 * Thread-safety: every function may be called from any thread, except that
 * sp_mempool_destroy() must not race with any other call on the pool. A slot
 * belongs to the thread that allocated it until it is freed. alloc and free
 * take no pool-wide lock on their common path (only the index's lock, per
 * shard); waits, batches and image references use one pool mutex.
 *
 * fork(): after a fork both processes may keep using the pool as their own.
 * Each alloc in either reads the pristine image or zeros, and neither
 * process's resets depend on the other's: the kernel handles a pool holds
 * (the pagemap file, the userfaultfd, the pidfd) belong to one process, so
 * the child's first call that needs them reopens its own (or, if it cannot,
 * falls back to a path that needs none). Slots in use at the fork stay
 * usable by the thread that forked, in the child; slots held by other
 * threads stay held there forever. The pool registers pthread_atfork
 * handlers, so a child made by a raw clone/vfork system call or _Fork()
 * must not use the pool.
 *
 * Mappings budget: every kernel mapping counts against vm.max_map_count,
 * which malloc, mmap and pthread_create in the rest of the process need too.
 * All pools of a process together stay below vm.max_map_count minus
 * config.map_headroom; an alloc that would pass it first takes mappings
 * back from warm slots (least recently freed first: they become warm slots
 * of zeros) and fails with -ENOMEM only if that is not enough.
 */
#ifndef SLOTPOOL_MEMPOOL_H
#define SLOTPOOL_MEMPOOL_H

#include <time.h>

#include "slotpool/common.h"
#include "slotpool/index.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque handle of a pool. */
typedef struct sp_mempool sp_mempool;
/** Opaque handle of an image. */
typedef struct sp_image sp_image;

/**
 * @name Config flags: turn off a kernel feature (for tests and comparisons)
 * Bits of sp_mempool_config.flags.
 * @{
 */
#define SP_MEMPOOL_NO_UFFD_WP (1u << 0)         /**< no userfaultfd write tracking */
#define SP_MEMPOOL_NO_PAGEMAP_SCAN (1u << 1)    /**< no PAGEMAP_SCAN at all (implies NO_UFFD_WP) */
#define SP_MEMPOOL_NO_PROCESS_MADVISE (1u << 2) /**< decommit with one madvise per range */
#define SP_MEMPOOL_NO_GUARD_INSTALL (1u << 3)   /**< guards are PROT_NONE mappings */
/** Ignore warm images: every alloc of an image maps it afresh. */
#define SP_MEMPOOL_NO_AFFINITY (1u << 4)
/** @} */
/**
 * @name Config flags: force one reset strategy (default: adaptive, see the file comment)
 * Bits of sp_mempool_config.flags.
 * @{
 */
/**
 * Restore keep_resident_bytes in place, decommit the rest of what was
 * written (implied by keep_resident_bytes > 0).
 */
#define SP_MEMPOOL_RESET_DECOMMIT (1u << 5)
/** Restore every written page in place, within max_resident_bytes. */
#define SP_MEMPOOL_RESET_RESTORE (1u << 6)
/** @} */

/** Largest reservation a pool makes: 2^46 bytes (64 TiB). */
#define SP_MEMPOOL_MAX_RESERVATION (UINT64_C(1) << 46)

/**
 * Creation parameters.
 *
 * All-zero fields take the default given with each. Sizes must be multiples
 * of the page size (sysconf(_SC_PAGESIZE), 4 KiB on x86-64).
 */
typedef struct sp_mempool_config {
	uint32_t slots;                 /**< 0: 16. At most 2^30. */
	uint32_t max_unused_warm_slots; /**< warm budget of the index (see
	                                     sp_index_config): while fewer slots
	                                     are warm, an image without a warm slot
	                                     takes a cold one rather than another
	                                     image's. 0: slots (a warm slot costs
	                                     only its mappings; its resident bytes
	                                     are bounded by max_resident_bytes) */
	uint64_t slot_bytes;            /**< max accessible bytes per slot; 0: 1 MiB */
	uint64_t guard_bytes;           /**< guard after each slot (and one before
	                                     slot 0); 0: 64 KiB. */
	uint64_t keep_resident_bytes;   /**< SP_MEMPOOL_RESET_DECOMMIT only: bytes
	                                     restored in place on free, the rest of
	                                     what was written is decommitted. > 0
	                                     selects that strategy. At most
	                                     slot_bytes. 0: the adaptive reset. */
	uint32_t decommit_batch;        /**< freed slots whose decommits are issued
	                                     together; 0 or 1: at each free. At most
	                                     SP_MEMPOOL_MAX_BATCH and at most slots. */
	uint32_t shards;                /**< passed to the index (0: automatic) */
	uint32_t flags;                 /**< `SP_MEMPOOL_NO_*` */
	uint32_t index_flags;           /**< passed to the index: `SP_INDEX_*` flags
	                                     (SP_INDEX_HOME_AFFINITY) */
	uint64_t max_resident_bytes;    /**< bytes that warm slots together keep
	                                     resident after a reset in place (past
	                                     it, the least recently freed warm
	                                     slots' pages are decommitted first).
	                                     0: 1/16 of the machine's memory, at
	                                     most slots * slot_bytes. */
	uint32_t map_headroom;          /**< mappings (VMAs) every pool of the
	                                     process together leaves to the rest of
	                                     it: allocs that would pass
	                                     vm.max_map_count - map_headroom fail
	                                     with -ENOMEM. 0: max(vm.max_map_count
	                                     / 8, 4096). See "Mappings budget". */
	uint32_t reserved32;            /**< must be zero */
	uint64_t reserved[2];           /**< must be zero */
} sp_mempool_config;

/** Largest sp_mempool_config.decommit_batch. */
#define SP_MEMPOOL_MAX_BATCH 256

/** A slot handed out by sp_mempool_alloc(). */
typedef struct sp_mem_slot {
	void *base;          /**< first byte of the slot (page aligned) */
	uint32_t index;      /**< slot number, 0..slots-1 */
	uint32_t reserved;   /**< set to zero */
	uint64_t accessible; /**< bytes [0, accessible) are read-write */
	uint64_t slot_bytes; /**< the pool's slot_bytes: the most grow allows */
} sp_mem_slot;

/**
 * How a reset finds the pages to reset: sp_mempool_stats.track_path (a
 * uint32_t).
 */
typedef enum sp_mempool_track_path {
	SP_MEMPOOL_TRACK_HIGH_WATER = 0, /**< reset covers the high-water range */
	SP_MEMPOOL_TRACK_PRESENT = 1,    /**< PAGEMAP_SCAN finds private pages */
	SP_MEMPOOL_TRACK_WRITTEN = 2,    /**< userfaultfd + PAGEMAP_SCAN: written pages */
} sp_mempool_track_path;

/**
 * How decommits are issued: sp_mempool_stats.decommit_path (a uint32_t).
 */
typedef enum sp_mempool_decommit_path {
	SP_MEMPOOL_DECOMMIT_MADVISE = 0,         /**< one madvise per range */
	SP_MEMPOOL_DECOMMIT_PROCESS_MADVISE = 1, /**< process_madvise(MADV_DONTNEED) on self */
} sp_mempool_decommit_path;

/**
 * What the guards are: sp_mempool_stats.guard_path (a uint32_t).
 */
typedef enum sp_mempool_guard_path {
	SP_MEMPOOL_GUARD_PROT_NONE = 0, /**< guards are PROT_NONE mappings */
	SP_MEMPOOL_GUARD_INSTALL = 1,   /**< guards are MADV_GUARD_INSTALL markers */
} sp_mempool_guard_path;

/**
 * Which reset strategy frees use: sp_mempool_stats.reset_path (a uint32_t).
 */
typedef enum sp_mempool_reset_path {
	SP_MEMPOOL_RESET_PATH_ADAPTIVE = 0, /**< cost model: restore or decommit */
	SP_MEMPOOL_RESET_PATH_DECOMMIT = 1, /**< SP_MEMPOOL_RESET_DECOMMIT */
	SP_MEMPOOL_RESET_PATH_RESTORE = 2,  /**< SP_MEMPOOL_RESET_RESTORE */
} sp_mempool_reset_path;

/**
 * Which feature path sp_mempool_path_name() names, passed in its `int kind`
 * argument.
 */
typedef enum sp_mempool_path_kind {
	SP_MEMPOOL_PATH_TRACK = 0,    /**< stats.track_path: an sp_mempool_track_path */
	SP_MEMPOOL_PATH_DECOMMIT = 1, /**< stats.decommit_path: an sp_mempool_decommit_path */
	SP_MEMPOOL_PATH_GUARD = 2,    /**< stats.guard_path: an sp_mempool_guard_path */
	SP_MEMPOOL_PATH_RESET = 3,    /**< stats.reset_path: an sp_mempool_reset_path */
} sp_mempool_path_kind;

/**
 * A snapshot of a pool (sp_mempool_get_stats()).
 *
 * Set `size` first: the library fills what fits and sets `size` to what it
 * filled (the rule of sp_index_stats), so fields are only ever added at the
 * end. Counters count since sp_mempool_create(); they are summed from
 * per-thread stripes, so a snapshot taken while other threads work is not
 * one instant.
 */
typedef struct sp_mempool_stats {
	uint32_t size;                  /**< in: sizeof as the caller knows it; out: bytes filled */
	uint32_t slots;                 /**< slots in the pool */
	uint32_t in_use;                /**< handed out (includes frees waiting in a batch) */
	uint32_t warm;                  /**< freed, reset, kept warm */
	uint32_t cold;                  /**< never handed out */
	uint32_t pending;               /**< freed, waiting for a batched decommit */
	uint32_t images;                /**< live images of this pool */
	uint32_t track_path;            /**< an sp_mempool_track_path value */
	uint32_t decommit_path;         /**< an sp_mempool_decommit_path value */
	uint32_t guard_path;            /**< an sp_mempool_guard_path value */
	uint32_t mappings;              /**< kernel mappings (VMAs) the pool holds: its
	                                     reservation's and one per live image
	                                     (the pool's own count, an upper bound) */
	uint32_t max_map_count;         /**< vm.max_map_count read at create */
	uint32_t reset_path;            /**< an sp_mempool_reset_path value */
	uint32_t peak_in_use;           /**< most slots in use at once (with several
	                                     shards: the sum of each shard's peak, an
	                                     upper bound) */
	uint64_t map_limit;             /**< mappings all pools of the process may hold */
	uint64_t process_mappings;      /**< mappings all pools of the process hold */
	uint64_t reservation_bytes;     /**< address space reserved */
	uint64_t resident_in_use_bytes; /**< kept-resident bytes of slots in use */
	uint64_t resident_warm_bytes;   /**< bytes warm slots keep resident: private
	                                     pages counted by PAGEMAP_SCAN, else the
	                                     range restored in place */
	uint64_t max_resident_bytes;    /**< the budget of resident_warm_bytes */
	uint64_t allocs;                /**< successful allocs */
	uint64_t affine_hits;           /**< allocs that reused a slot warm for the image */
	uint64_t remaps;                /**< allocs that had to map an image or zeros */
	uint64_t cold_picks;            /**< allocs the index served with a cold slot */
	uint64_t warm_steals;           /**< allocs the index served with another
	                                     image's (or no image's) warm slot */
	uint64_t failed_allocs;         /**< allocs that found every slot in use
	                                     (-ENOSPC) */
	uint64_t waits;                 /**< allocs that waited for a free slot */
	uint64_t wait_timeouts;         /**< waits that ended at their deadline */
	uint64_t map_refusals;          /**< allocs refused by the mappings budget */
	uint64_t map_reclaims;          /**< warm slots whose mappings were taken back
	                                     for the mappings budget */
	uint64_t decommit_calls;        /**< madvise/process_madvise calls issued */
	uint64_t decommit_bytes;        /**< bytes decommitted */
	uint64_t reset_bytes;           /**< bytes restored in place (memset/copy-back) */
	uint64_t reset_failures;        /**< frees whose reset failed (slot rebuilt) */
	uint64_t resets_in_place;       /**< frees that restored what was written */
	uint64_t resets_decommit;       /**< frees that decommitted what was written */
	uint64_t resets_scanned;        /**< frees that asked PAGEMAP_SCAN what to reset */
	uint64_t pages_compared;        /**< pages a reset in place compared with the
	                                     image (or zeros) */
	uint64_t pages_restored;        /**< of those, pages that differed and were
	                                     copied back */
	uint64_t trimmed_bytes;         /**< kept pages nobody wrote lately, decommitted
	                                     by the adaptive reset */
	uint64_t budget_reclaims;       /**< warm slots whose kept pages were
	                                     decommitted for max_resident_bytes or
	                                     sp_mempool_trim */
	uint64_t budget_bytes;          /**< bytes those decommits released */
} sp_mempool_stats;

/** Per image (sp_image_get_stats()); `size` as for sp_mempool_stats. */
typedef struct sp_image_stats {
	uint32_t size;        /**< in: sizeof as the caller knows it; out: bytes filled */
	uint32_t live;        /**< slots in use allocated with the image */
	uint32_t warm;        /**< free slots still mapping it */
	uint32_t reserved32;  /**< set to zero */
	uint64_t id;          /**< sp_image_id */
	uint64_t bytes;       /**< len given at create */
	uint64_t offset;      /**< where it starts in a slot */
	uint64_t affine_hits; /**< allocs that found a slot warm for it */
	uint64_t remaps;      /**< allocs that had to map it into a slot */
} sp_image_stats;

/** One entry of the exhaustion report: who holds how many slots. */
typedef struct sp_mempool_holder {
	uint64_t image_id; /**< 0: slots allocated without an image */
	uint32_t live;     /**< slots in use */
	uint32_t reserved; /**< set to zero */
} sp_mempool_holder;

/**
 * Reserve the pool's address space and probe the kernel.
 *
 * On error *out is untouched. Thread-safe. Cost: a few syscalls (mmap, the
 * probes) and O(slots) memory, no memory for the slots themselves.
 *
 * @param cfg the creation parameters.
 * @param out where the new pool is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  cfg or out NULL; a size not a multiple of the page size;
 *           slots > 2^30; keep_resident_bytes > slot_bytes;
 *           decommit_batch > SP_MEMPOOL_MAX_BATCH or > slots; the reservation passes
 *           SP_MEMPOOL_MAX_RESERVATION; unknown flags or index_flags; both
 *           SP_MEMPOOL_RESET_DECOMMIT and SP_MEMPOOL_RESET_RESTORE, or
 *           SP_MEMPOOL_RESET_RESTORE with keep_resident_bytes; non-zero
 *           reserved fields; shards refused by the index (see
 *           docs/MEMPOOL.md, "Config errors");
 *         - -ENOMEM  the kernel refused the reservation, the mappings budget
 *           has no room for it, no memory for the slot table, or the fork
 *           handlers could not be registered (nothing is left mapped or
 *           allocated);
 *         - other    a negative errno of the kernel's mmap when it replaced
 *           refused guard markers with PROT_NONE.
 */
SP_API int sp_mempool_create(const sp_mempool_config *cfg, sp_mempool **out);

/**
 * Unmap the whole reservation and close everything the pool opened, and
 * free every image record of the pool. NULL is a no-op.
 *
 * After it, using a slot, an image handle or the pool itself is undefined
 * behaviour. Must not race with any other call on the pool. Cost:
 * O(slots + images) and a few syscalls.
 *
 * @param pool the pool, or NULL.
 */
SP_API void sp_mempool_destroy(sp_mempool *pool);

/**
 * Copy len bytes into a sealed memfd so that they can be mapped
 * copy-on-write at `offset` into any slot of `pool`.
 *
 * The caller owns one reference. Each image gets a unique id (never reused
 * in the pool). Thread-safe. Cost: one copy of the bytes and ~6 syscalls.
 *
 * @param pool the pool whose slots may map the image.
 * @param bytes the image's content.
 * @param len how many bytes.
 * @param offset where the image starts in a slot (page aligned).
 * @param out where the new image is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  an argument NULL, len 0, offset not page aligned, or
 *           offset + len > slot_bytes;
 *         - -ENOMEM  no memory, or the mappings budget is spent (the image's
 *           read-only copy costs one mapping);
 *         - other    negative errno from memfd_create/mmap (-EMFILE...).
 */
SP_API int sp_image_create(sp_mempool *pool, const void *bytes, size_t len, uint64_t offset,
                           sp_image **out);

/**
 * The image's id. Thread-safe, O(1).
 *
 * @param img the image, or NULL.
 * @return the id (> 0; 0 for NULL), also after its release.
 */
SP_API uint64_t sp_image_id(const sp_image *img);

/**
 * Take another reference. Thread-safe; takes the pool lock. O(1).
 *
 * @param img the image.
 * @return 0 on success, or -EINVAL if img is NULL or was released (its last
 *         reference dropped).
 */
SP_API int sp_image_retain(sp_image *img);

/**
 * Drop a reference.
 *
 * Dropping the last one purges every warm slot still mapping the image (they
 * become warm zero slots), closes its memfd and unmaps its copy: no file or
 * image memory is held for a released image afterwards. Its 104-byte record
 * stays until sp_mempool_destroy(), so that a stale handle is refused, not
 * followed.
 *
 * Thread-safe; takes the pool lock. Cost: O(1), or on the last reference
 * O(slots) plus one remap per warm slot of the image.
 *
 * @param img the image.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  img NULL, or already released (a double release:
 *           nothing changes);
 *         - -EBUSY   last reference while slots allocated with the image are
 *           still in use: nothing changes, the reference is kept;
 *         - other    a purge remap failed: the slot is rebuilt on its next
 *           use; the image is released anyway.
 */
SP_API int sp_image_release(sp_image *img);

/**
 * Fill *out (set out->size first) with the image's live and warm slots and
 * its hits and remaps.
 *
 * Thread-safe; takes the pool lock briefly. O(slots).
 *
 * @param img the image.
 * @param out the stats; out->size set first.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  img or out NULL, img released, or out->size < 8.
 */
SP_API int sp_image_get_stats(const sp_image *img, sp_image_stats *out);

/**
 * Take a slot for `img` (NULL: zeros) with `accessible` bytes readable and
 * writable, and describe it in *out.
 *
 * A slot warm for the same image is preferred and reused without any
 * syscall. On error *out is untouched. Thread-safe: one index call, no pool
 * lock unless it must flush a batch or wait. Cost: O(1) with no syscall on
 * an affine hit; otherwise 1-4 mmap/mprotect calls.
 *
 * @param pool the pool.
 * @param img the image the slot holds, or NULL: zeros.
 * @param accessible how many bytes are readable and writable.
 * @param out the slot handed out.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  pool or out NULL, accessible 0 or not a page multiple
 *           or > slot_bytes, or img from another pool, released, or not
 *           fully inside [0, accessible);
 *         - -ENOSPC  every slot is in use (counted in failed_allocs);
 *         - -ENOMEM  the mappings budget is spent even after taking back
 *           warm slots' mappings (counted in map_refusals);
 *         - other    the kernel refused a remap or mprotect (the slot goes
 *           back to the pool and is rebuilt on its next use).
 */
SP_API int sp_mempool_alloc(sp_mempool *pool, sp_image *img, uint64_t accessible, sp_mem_slot *out);

/**
 * sp_mempool_alloc(), but when every slot is in use wait until a slot can be
 * handed out (a free, including one whose decommit would otherwise wait in
 * the batch) or the deadline.
 *
 * Thread-safe; blocks.
 *
 * @param pool the pool.
 * @param img as for sp_mempool_alloc().
 * @param accessible as for sp_mempool_alloc().
 * @param deadline absolute CLOCK_MONOTONIC time; NULL waits forever.
 * @param out as for sp_mempool_alloc().
 * @return 0 on success, or a negative errno value: as sp_mempool_alloc();
 *         - -EINVAL also for a deadline whose tv_nsec is not in [0, 1e9)
 *           (checked with the other arguments, before any slot is
 *           looked for: nothing waits);
 *         - -ETIMEDOUT when the deadline passed (counted in wait_timeouts).
 */
SP_API int sp_mempool_alloc_wait(sp_mempool *pool, sp_image *img, uint64_t accessible,
                                 const struct timespec *deadline, sp_mem_slot *out);

/**
 * Widen slot `base`'s accessible range to new_accessible (a page multiple);
 * the new bytes read zero.
 *
 * A smaller or equal value is a no-op success. Call from the slot's owner.
 * Cost: one mprotect or madvise.
 *
 * @param pool the pool.
 * @param base the slot's base.
 * @param new_accessible the accessible bytes wanted.
 * @return 0 on success, or a negative errno value:
 *         - -EFAULT  base is not the base of one of the pool's slots;
 *         - -EINVAL  pool NULL, the slot is not in use, new_accessible not a
 *           page multiple or > slot_bytes;
 *         - -ENOMEM  the mappings budget refused the wider range (PROT_NONE
 *           guards only): nothing changed;
 *         - other    mprotect/madvise failed: accessible is unchanged (the
 *           slot is rebuilt from scratch before its next alloc).
 */
SP_API int sp_mempool_grow(sp_mempool *pool, void *base, uint64_t new_accessible);

/**
 * Reset slot `base` (see above) and return it to the pool, warm for its
 * image.
 *
 * With decommit_batch > 1 the decommit may be deferred until enough frees
 * are pending; the slot is unavailable until then (an alloc that finds no
 * slot flushes the batch, and a free that a waiting alloc could use flushes
 * it at once).
 *
 * Thread-safe. Cost: adaptive: a comparison of the used range, or one ioctl
 * and a comparison of the slot's private pages, no page fault for the next
 * user; past max_resident_bytes, one madvise per warm slot trimmed.
 * Decommit: O(pages written) plus one ioctl and at most one madvise (with
 * write tracking), or O(high-water accessible bytes).
 *
 * @param pool the pool.
 * @param base the slot's base.
 * @return 0 on success, or a negative errno value:
 *         - -EFAULT  base is not the base of one of the pool's slots;
 *         - -EINVAL  pool NULL or the slot is not in use (double free);
 *         - other    the reset failed: the slot is still returned, marked to
 *           be rebuilt from scratch before its next use (it is never handed
 *           out dirty).
 */
SP_API int sp_mempool_free(sp_mempool *pool, void *base);

/**
 * Issue the pending batched decommits now. Thread-safe; takes the pool
 * lock.
 *
 * @param pool the pool.
 * @return 0, -EINVAL if pool is NULL, or the first error of a decommit
 *         (failed slots are rebuilt before reuse).
 */
SP_API int sp_mempool_flush(sp_mempool *pool);

/**
 * Fill *out (set out->size first).
 *
 * Thread-safe; makes no system call and reads no file: the mapping count is
 * the pool's own. Cost: O(shards + counter stripes), the pool lock briefly.
 *
 * @param pool the pool.
 * @param out the snapshot; out->size set first.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  pool or out NULL, or out->size < 8 (*out untouched).
 */
SP_API int sp_mempool_get_stats(sp_mempool *pool, sp_mempool_stats *out);

/**
 * Decommit kept pages of warm slots, least recently freed first, until at
 * most max_resident_bytes stay resident in warm slots (0: release them all).
 *
 * Warm slots stay warm: their image stays mapped and their affinity stays;
 * their next user faults the pages back in from the image (or zeros). Slots
 * in use are not touched. Frees that run at the same time may keep pages
 * again. A decommit the kernel refuses marks its slot to be rebuilt before
 * its next use (counted in reset_failures).
 *
 * Thread-safe; takes the pool's reclaim lock. Cost: O(slots) and one madvise
 * per slot trimmed.
 *
 * @param pool the pool.
 * @param max_resident_bytes the bytes warm slots may keep resident.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  pool NULL.
 */
SP_API int sp_mempool_trim(sp_mempool *pool, uint64_t max_resident_bytes);

/**
 * The name of a feature path reported in the stats.
 *
 * Static storage, thread-safe, O(1).
 *
 * @param kind an sp_mempool_path_kind value: SP_MEMPOOL_PATH_TRACK,
 *        _DECOMMIT, _GUARD or _RESET.
 * @param value the stats field that kind names (a value of the enum it
 *        holds).
 * @return the name ("present", "process_madvise", "guard_install",
 *         "adaptive"...); NULL for an unknown kind or value.
 */
SP_API const char *sp_mempool_path_name(int kind, uint32_t value);

/**
 * Or into sp_mempool_metrics()' format: also write per-image series. An int
 * bit (no `u`), as format is an int.
 */
#define SP_METRICS_PER_IMAGE (1 << 8)
/** Per-image series name at most this many images (the rest: "other"). */
#define SP_MEMPOOL_METRICS_IMAGES 32

/**
 * Write the pool's stats (every counter and gauge of sp_mempool_stats, the
 * feature paths as labels of slotpool_mempool_path_info, the library
 * version) through write(ctx, buf, len), as Prometheus text
 * (SP_METRICS_PROMETHEUS) or one JSON object (SP_METRICS_JSON).
 *
 * OR SP_METRICS_PER_IMAGE into format for per-image live and warm slots,
 * hits and remaps, labelled image="ID", for the SP_MEMPOOL_METRICS_IMAGES
 * images with the most slots (the rest summed as image="other"). Names:
 * docs/METRICS.md. Nothing is allocated: the output goes out in chunks of
 * at most 512 bytes from the stack.
 *
 * Thread-safe: the stats as sp_mempool_get_stats(); per-image series take
 * the pool lock while they walk the slots (O(slots * images)), never while
 * calling write.
 *
 * @param pool the pool.
 * @param format an sp_metrics_format value (SP_METRICS_PROMETHEUS or
 *        SP_METRICS_JSON), optionally ORed with SP_METRICS_PER_IMAGE.
 * @param write the output callback.
 * @param ctx passed to write unchanged.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  pool or write NULL, or an unknown format (nothing
 *           written);
 *         - the first negative value write returns (a positive one counts
 *           as -EIO; write is not called again).
 */
SP_API int sp_mempool_metrics(sp_mempool *pool, int format, sp_write_fn write, void *ctx);

/**
 * Start (or, with write NULL, stop) recording the pool's traffic as a trace
 * that slotpool-sim reads: the pool's index recorded with sp_index_record()
 * (see it for the format, exactness, buffering and errors).
 *
 * The keys are image ids ("a -" for allocs without an image), B of each
 * free ("f H B") is the bytes the slot keeps resident after its reset, and
 * an image's release records one "c ID" and "f H 0" per warm slot it
 * purges. With one shard,
 * `slotpool-sim replay --shards 1 --capacity SLOTS --warm W` of the
 * recording serves exactly the slots the pool served (W: the pool's
 * max_unused_warm_slots, SLOTS if 0). A free waiting in a decommit batch is
 * recorded when the batch is flushed.
 *
 * Thread-safe; write is called under the index's lock and must not call
 * into the pool.
 *
 * @param pool the pool.
 * @param write the output callback; NULL stops the recording.
 * @param ctx passed to write unchanged.
 * @return as sp_index_record(); -EINVAL pool NULL.
 */
SP_API int sp_mempool_record(sp_mempool *pool, sp_write_fn write, void *ctx);

/**
 * The exhaustion report: one entry per image with slots in use (and
 * image_id 0 for slots without image), most slots first, ties by image id.
 *
 * Counts the slots their users hold: a slot whose free has begun (it is
 * being reset, or waits in the decommit batch) is no longer counted, though
 * stats.in_use still includes the batch. Fills at most cap entries of out
 * and stores in *count the number of entries that exist (which may exceed
 * cap).
 *
 * Thread-safe; takes the pool lock. O((slots + images) log images).
 *
 * @param pool the pool.
 * @param out room for cap entries.
 * @param cap how many entries out holds.
 * @param count where the number of entries that exist is stored.
 * @return 0 on success, or a negative errno value:
 *         - -EINVAL  pool or count NULL, or out NULL with cap > 0;
 *         - -ENOMEM  no memory for the sort.
 */
SP_API int sp_mempool_report(sp_mempool *pool, sp_mempool_holder *out, uint32_t cap,
                             uint32_t *count);

/**
 * Verify the pool's invariants (slot states against the index, holders
 * against live images, no free slot mapping a released image, the mappings
 * count, the index's own check).
 *
 * For tests: call it while no other thread allocates or frees (it compares
 * counters that those change without the pool lock). O(slots * images).
 *
 * @param pool the pool.
 * @return 0 or -EUCLEAN (the violation is described on stderr); -EINVAL
 *         pool NULL.
 */
SP_API int sp_mempool_check(sp_mempool *pool);

#ifdef __cplusplus
}
#endif

#endif /* SLOTPOOL_MEMPOOL_H */
