/* SPDX-License-Identifier: MIT */
/*
 * pool.h: the memory pool's internal structures and the functions its files
 * share. Not installed.
 *
 *   pool.c       create, destroy, alloc, grow, free, flush, waits
 *   slot.c       what a slot maps: remap, blank, access changes, and the
 *                mappings each slot costs (the mappings budget)
 *   reset.c      the reset paths that make a freed slot pristine
 *   reclaim.c    taking resources back from warm slots, least recently
 *                used first (mappings now; resident bytes)
 *   fork.c       the registry of pools, fork handlers, and reopening the
 *                per-process kernel handles in a child
 *   image.c      images and their handles
 *   introspect.c stats, the exhaustion report, the invariant check
 *
 * Locking: alloc and free take no pool lock on their common path: the
 * index (with its own shard locks) hands each slot to one thread at a time,
 * and a slot's record and contents belong to whoever holds it: the
 * allocating thread until free, the freeing thread while it resets, a
 * reclaimer while the slot is SP__MS_RECLAIM. Slot states and counters are
 * atomics. The pool mutex `mu` guards the rest: image references and the
 * image list, the decommit batch (and the slots in it), purges, the
 * condition variable of waiting allocs, and reopening handles after fork.
 * Lock order: the fork registry, then a pool's mu, then index locks.
 */
#ifndef SP_MEMPOOL_POOL_H
#define SP_MEMPOOL_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "os/os.h"
#include "slotpool/index.h"
#include "slotpool/mempool.h"

/* Counter stripes: each thread adds to its own stripe, so two threads do
 * not fight over one cache line per operation; stats sum the stripes. */
#define SP__STRIPES 16

enum sp__ctr {
	SP__C_ALLOCS, /* successful allocs */
	SP__C_FREES,  /* frees that took a slot back from its user */
	SP__C_AFFINE_HITS,
	SP__C_REMAPS,
	SP__C_DECOMMIT_CALLS,
	SP__C_DECOMMIT_BYTES,
	SP__C_RESET_BYTES,
	SP__C_RESET_FAILURES,
	SP__C_WAITS,
	SP__C_WAIT_TIMEOUTS,
	SP__C_NOSPC,        /* allocs that found every slot in use */
	SP__C_MAP_REFUSALS, /* allocs refused by the mappings budget */
	SP__C_MAP_RECLAIMS, /* warm slots whose mappings were reclaimed */
	SP__C_RESIDENT_OUT, /* kept bytes of slots in use (signed deltas) */
	SP__C_RESETS_IN_PLACE,
	SP__C_RESETS_DECOMMIT,
	SP__C_RESETS_SCANNED,
	SP__C_PAGES_COMPARED,
	SP__C_PAGES_RESTORED,
	SP__C_TRIMMED_BYTES,
	SP__C_BUDGET_RECLAIMS,
	SP__C_BUDGET_BYTES,
	SP__NCTR
};

struct sp__stripe {
	_Alignas(64) atomic_uint_fast64_t c[SP__NCTR];
};

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
	 * an alloc publishes its holder, then reads it (see image.c). */
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
	                        their neighbours (slot.c) */
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
	struct sp__stripe *ctr; /* SP__STRIPES, cache-line aligned */
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
	/* mappings budget (slot.c) */
	uint64_t map_limit; /* the process-wide total pools may reach */
	uint32_t max_map_count;
	atomic_uint_fast64_t maps;  /* mappings this pool holds */
	pthread_mutex_t reclaim_mu; /* one reclaimer at a time */
	/* fork registry (fork.c), under its own lock */
	sp_mempool *reg_prev, *reg_next;
};

/* ---- counters (pool.c) ---- */
struct sp__stripe *sp__my_stripe(sp_mempool *p);
static inline void sp__count(sp_mempool *p, enum sp__ctr c, uint64_t n)
{
	atomic_fetch_add_explicit(&sp__my_stripe(p)->c[c], n, memory_order_relaxed);
}
uint64_t sp__counter(const sp_mempool *p, enum sp__ctr c);

/* ---- slots (slot.c) ---- */
static inline char *sp__slot_base(const sp_mempool *p, uint32_t i)
{
	return p->slot0 + (size_t)i * p->stride;
}
/* Returned inside the pool when the mappings budget refused a change that
 * was therefore not made (the caller turns it into -ENOMEM). */
#define SP__EMAPS (-100000)
/* Make held slot i ready for img with acc bytes accessible (remapping it
 * if it maps something else). SP__EMAPS without touching the slot when the
 * mappings budget refuses; another error: the caller marks it failed. */
int sp__slot_prepare(sp_mempool *p, uint32_t i, sp_image *img, uint64_t acc);
/* Widen held slot i's accessible range to acc (> accessible). -ENOMEM
 * (nothing changed) when the mappings budget refuses; another error marks
 * the slot rebuild. */
int sp__slot_grow(sp_mempool *p, uint32_t i, uint64_t acc);
/* Put held slot i back to zeros and inaccessible, like a cold slot. */
int sp__slot_blank(sp_mempool *p, uint32_t i);
/* Make [from, to) of held slot i read-write, or inaccessible. */
int sp__slot_open(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
int sp__slot_close(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Arm write tracking on [from, to) of slot i's kept-resident part. */
int sp__slot_arm(sp_mempool *p, uint32_t i, uint64_t from, uint64_t to);
/* Record that a remap or access change of slot i failed: rebuild it. */
void sp__slot_failed(sp_mempool *p, uint32_t i);
/* Take n mappings from the budget (reclaiming warm slots' if it must;
 * `self` is a slot the caller holds, or UINT32_MAX). 0 or -ENOMEM. */
int sp__maps_take(sp_mempool *p, uint64_t n, uint32_t self);
void sp__maps_give(sp_mempool *p, uint64_t n);
/* The process-wide mappings every pool holds (for tests and stats). */
uint64_t sp__maps_process(void);

/* ---- reset (reset.c) ---- */
struct sp__ranges {
	sp__os_range r[64];
	size_t n;
	int barrier; /* clean mapped pages since the last range: do not merge */
};
/* Reset held slot i: restore in place what is kept, gather the ranges to
 * decommit in d (issued early if d fills). */
int sp__reset(sp_mempool *p, uint32_t i, struct sp__ranges *d);
/* Decommit n ranges (process_madvise or madvise each). */
int sp__decommit(sp_mempool *p, const sp__os_range *r, size_t n);
/* Start slot i's learning for img (NULL: zeros), when it is mapped. */
void sp__reset_learn_from(sp_mempool *p, uint32_t i, const sp_image *img);
/* Change held or claimed slot i's kept bytes, keeping kept_total. */
void sp__slot_set_kept(sp_mempool *p, uint32_t i, uint64_t kept);
/* Bytes warm slots keep resident now. */
uint64_t sp__kept_warm(const sp_mempool *p);

/* ---- reclaim (reclaim.c) ---- */
uint64_t sp__now_ns(void);
/* The clock of slots' free stamps (coarse: a few ns to read). */
uint64_t sp__age_clock(void);
/* Claim FREE slot i for a reclaimer (0) or fail (-EBUSY). */
int sp__slot_claim(sp_mempool *p, uint32_t i);
/* Move slot i, which the index just handed us, from FREE to `state`,
 * waiting while a reclaimer holds it. */
void sp__slot_take(sp_mempool *p, uint32_t i, unsigned state);
/* Take back at least `need` mappings from warm slots, least recently
 * used first, skipping slot `self`. Returns the number taken back. */
uint64_t sp__reclaim_maps(sp_mempool *p, uint64_t need, uint32_t self);
/* Decommit warm slots' kept pages, least recently used first, until at
 * least `need` bytes are released. Returns the bytes released. */
uint64_t sp__reclaim_bytes(sp_mempool *p, uint64_t need);

/* ---- pool.c ---- */
/* Issue the batched decommits and return the slots to the index; under mu. */
int sp__mempool_flush_locked(sp_mempool *p);
/* Purge every warm slot that maps img (no slot uses img); under mu.
 * Returns 0 or the first remap error (those slots are marked rebuild). */
int sp__mempool_purge_image(sp_mempool *p, sp_image *img);

/* ---- fork (fork.c) ---- */
/* Add p to / remove p from the registry the fork handlers walk. */
int sp__fork_register(sp_mempool *p);
void sp__fork_unregister(sp_mempool *p);
/* The fork generation: bumped in every child the process forks. */
unsigned sp__fork_gen(void);
/* In a child (p->os_gen is stale): reopen p's kernel handles for this
 * process, or fall back to paths that need none. */
void sp__fork_reopen(sp_mempool *p);
/* Reopen the handles if this process is not the one that opened them. */
static inline void sp__fork_check(sp_mempool *p)
{
	if (__builtin_expect(
		    atomic_load_explicit(&p->os_gen, memory_order_acquire) != sp__fork_gen(), 0))
		sp__fork_reopen(p);
}

/* ---- images (image.c) ---- */
/* Free every image record of p, live or released, at destroy. */
void sp__image_destroy_all(sp_mempool *p);
/* Is img a live image of p? (relaxed: the release protocol decides). */
int sp__image_usable(const sp_mempool *p, const sp_image *img);

#endif /* SP_MEMPOOL_POOL_H */
