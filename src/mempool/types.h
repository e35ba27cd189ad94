/* SPDX-License-Identifier: MIT */
/*
 * types.h: the memory pool's records, which every file of src/mempool/
 * reads: the pool (struct sp_mempool), one record per slot (struct
 * sp__mslot) and one per image (struct sp_image). Not installed.
 *
 * The files, each above the ones it calls (a file includes the headers of
 * files below it only):
 *   pool.c        the public pool: create, destroy, alloc (and its waits),
 *                 grow, free, flush, the decommit batch; releasing an
 *                 image (purging the warm slots that map it)
 *   introspect.c  stats, the exhaustion report, the invariant check
 *   metrics.c     the stats as Prometheus text or JSON
 *   image.c       images: create, retain, stats, retiring a released one
 *   prepare.c     fitting a held slot to its next use: reuse what it maps
 *                 or remap it, grow it, within the mappings budget
 *   reclaim.c     taking mappings and kept pages back from warm slots,
 *                 least recently freed first; sp_mempool_trim
 *   layout.c      what a slot maps: map, blank, open and close a range,
 *                 arm write tracking, mark a failed slot for rebuild
 *   reset.c       the reset paths that make a freed slot pristine
 *   maps.c        the mappings budget: VMAs all pools hold, process-wide
 *   fork.c        the registry of pools, fork handlers, reopening the
 *                 per-process kernel handles in a child
 *   counters.c    striped event counters
 *   kept.h        bytes that resets leave resident, and the warm share
 *   clock.h       the two clocks
 * Under them all, the index (slotpool/index.h) and the OS layer (os/).
 *
 * Locking: alloc and free take no pool lock on their common path: the
 * index (with its own shard locks) hands each slot to one thread at a time,
 * and a slot's record and contents belong to whoever holds it: the
 * allocating thread until free, the freeing thread while it resets, a
 * reclaimer while the slot is SP__MS_RECLAIM. Slot states and counters are
 * atomics. The pool mutex `mu` guards the rest: image references and the
 * image list, the decommit batch (and the slots in it), purges, the
 * condition variable of waiting allocs, and reopening handles after fork.
 * `reclaim_mu` lets one reclaimer walk the slots at a time. Lock order:
 * the fork registry, then a pool's mu, then reclaim_mu, then index locks.
 * A function named *_locked is called with mu held and returns with it
 * still held.
 */
#ifndef SP_MEMPOOL_TYPES_H
#define SP_MEMPOOL_TYPES_H

#include <pthread.h>
#include <stdatomic.h>

#include "os/os.h"
#include "slotpool/index.h"
#include "slotpool/mempool.h"

struct sp__stripe;

struct sp_image {
	sp_mempool *pool;
	uint64_t id;     /* affinity key in the index; unique, never reused */
	int fd;          /* the sealed memfd (-1 once released) */
	const void *src; /* fd mapped shared read-only: the pristine bytes */
	size_t len;      /* bytes given at create */
	size_t size;     /* len rounded up to pages: the mapped length */
	uint64_t offset; /* where the image starts in a slot */
	uint32_t refs;   /* under pool->mu; 0 once released */
	/* Set (seq_cst) by the last release before it looks for holders;
	 * an alloc publishes its holder, then reads it (see pool.c). */
	atomic_int dead;
	/* Written as slots use it, by any thread: off the line above, which
	 * every alloc of the image reads (the record is 64-byte aligned). */
	_Alignas(64) atomic_uint_fast64_t remaps; /* slots mapped with it */
	atomic_uint dirty16;                      /* pages its users write per use, x16 (reset.c) */
	atomic_uint_fast64_t hits_retired;        /* affine hits of slots that no
	                                      longer map it */
	sp_image *prev, *next;                    /* pool->images (live) or pool->dead_images */
};

enum sp__mslot_state {
	SP__MS_FREE,      /* in the index: cold or warm */
	SP__MS_USED,      /* handed out */
	SP__MS_RESETTING, /* being reset by the freeing thread */
	SP__MS_PENDING,   /* reset, waiting for the batched decommit */
	SP__MS_RECLAIM    /* in the index, but a reclaimer is taking its
	                     mappings or pages: an alloc that gets it waits */
};

/* 128 bytes, 64-byte aligned: two threads working on neighbouring slots
 * do not share a cache line. */
struct sp__mslot {
	_Alignas(64) sp_image *img;  /* image mapped in the slot; NULL: zeros only.
	                        Dereferenced only while img_id says it is live */
	atomic_uint_fast64_t img_id; /* img's id (0: none); stats read it
	                                unlocked */
	_Atomic(sp_image *) holder;  /* image of the current use (NULL: none) */
	uint64_t accessible;         /* bytes currently read-write */
	uint64_t hw;                 /* high-water accessible since the last reset */
	uint64_t mapped_hi;          /* high-water accessible since the last remap */
	atomic_uint_fast64_t kept;   /* bytes left resident by the last reset
	                              (reclaimers read it of FREE slots) */
	uint64_t kept_out;           /* kept when handed out (counted in resident_out) */
	/* Read by reclaimers that do not hold the slot, hence atomics. */
	atomic_uint_fast64_t freed_at; /* sp__age_clock() at the last free */
	atomic_uint_fast64_t hits;     /* affine hits since img was mapped */
	atomic_uint maps;              /* mappings this slot adds to the reservation's */
	atomic_uchar state;            /* enum sp__mslot_state */
	uint8_t rebuild;               /* a reset or remap failed: remap before reuse */
	uint8_t frag;                  /* VMAs a fresh mapping may have left apart from
	                        their neighbours (layout.c) */
	/* What the adaptive reset learnt of this slot's users (reset.c). */
	uint32_t dirty16; /* pages changed per use, x16, decayed */
	uint32_t priv;    /* private pages as last counted (a scan), or
	                        at least (the changed pages of a direct reset) */
	uint32_t scan_ns; /* what a PAGEMAP_SCAN of it takes beyond its walk */
	uint32_t cmp_ps;  /* picoseconds to compare (and restore) a page */
	uint32_t resets;  /* since it was mapped */
	uint8_t scanning; /* the model's last choice was to scan */
};

struct sp_mempool {
	struct sp__stripe *ctr; /* SP__STRIPES, cache-line aligned (counters.h) */
	pthread_mutex_t mu;
	pthread_cond_t freed; /* signalled when a slot goes back to the index */
	atomic_uint waiters;  /* allocs waiting on `freed` */
	sp_index *ix;
	sp__os_ctx os;
	unsigned os_want;   /* SP__OS_F_* asked for at create */
	atomic_uint os_gen; /* fork generation os was opened in (fork.c) */
	char *res;          /* the reservation */
	size_t res_len;
	char *slot0;   /* base of slot 0 */
	size_t stride; /* slot_bytes + guard_bytes */
	size_t slot_bytes, guard_bytes, keep, pg;
	uint32_t nslots, batch;
	unsigned flags;
	uint32_t track, decommit_path, guard_path; /* SP_MEMPOOL_* paths */
	int forked;                                /* this process is a child that reopened os */
	uint32_t reset_mode;                       /* SP_MEMPOOL_RESET_PATH_* */
	uint64_t max_resident;                     /* budget of kept bytes in warm slots */
	atomic_uint_fast64_t kept_total;           /* kept bytes of every slot */
	atomic_uint nokey_dirty16;                 /* dirty16 of slots without an image */
	struct sp__mslot *slots;
	/* decommit batch */
	uint32_t *pend;
	uint32_t npend;
	sp__os_range *iov;
	size_t niov;
	/* images */
	sp_image *images;      /* live */
	sp_image *dead_images; /* released: records kept for handle checks */
	uint32_t nimages;
	uint64_t next_id;
	/* mappings budget (maps.c) */
	uint64_t map_limit; /* the process-wide total pools may reach */
	uint32_t max_map_count;
	atomic_uint_fast64_t maps;  /* mappings this pool holds */
	pthread_mutex_t reclaim_mu; /* one reclaimer at a time */
	/* fork registry (fork.c), under its own lock */
	sp_mempool *reg_prev, *reg_next;
};

static inline char *sp__slot_base(const sp_mempool *p, uint32_t i)
{
	return p->slot0 + (size_t)i * p->stride;
}

/* Slots are fenced by guard markers (else by PROT_NONE). */
static inline int sp__guarded(const sp_mempool *p)
{
	return p->guard_path == SP_MEMPOOL_GUARD_INSTALL;
}

#endif /* SP_MEMPOOL_TYPES_H */
