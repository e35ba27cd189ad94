/*
 * mempool_impl.h: the memory pool's internal structures, shared by
 * mempool.c (slots) and image.c (images). Not installed.
 *
 * Locking: alloc and free take no pool lock on their common path: the
 * index (with its own shard locks) hands each slot to one thread at a time,
 * and a slot's record and contents belong to whoever holds it: the
 * allocating thread until free, the freeing thread while it resets. Slot
 * states, live counts and counters are atomics. The pool mutex `mu` guards
 * the rest: image references and the image list, the decommit batch (and
 * the slots in it), purges, and the condition variable of waiting allocs.
 */
#ifndef SP_MEMPOOL_IMPL_H
#define SP_MEMPOOL_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "os.h"
#include "slotpool/index.h"
#include "slotpool/mempool.h"

struct sp_image {
	sp_mempool *pool;
	uint64_t id;        /* affinity key in the index; unique, never reused */
	int fd;             /* the sealed memfd */
	const void *src;    /* fd mapped shared read-only: the pristine bytes */
	size_t len;         /* bytes given at create */
	size_t size;        /* len rounded up to pages: the mapped length */
	uint64_t offset;    /* where the image starts in a slot */
	uint32_t refs;      /* under pool->mu */
	atomic_uint live;   /* slots in use (or pending) with this image */
	sp_image *prev, *next; /* pool->images list, under mu */
};

enum sp__mslot_state {
	SP__MS_FREE,      /* in the index: cold or warm */
	SP__MS_USED,      /* handed out */
	SP__MS_RESETTING, /* being reset by the freeing thread */
	SP__MS_PENDING    /* reset, waiting for the batched decommit */
};

struct sp__mslot {
	sp_image *img;       /* image mapped in the slot; NULL: zeros only.
	                        Dereferenced only while img_id says it is live */
	uint64_t img_id;     /* img's id (0: none): compared instead of the
	                        pointer, which a new image may reuse */
	sp_image *holder;    /* whose live count this slot is in (NULL: nokey) */
	uint64_t accessible; /* bytes currently read-write */
	uint64_t hw;         /* high-water accessible since the last reset */
	uint64_t mapped_hi;  /* high-water accessible since the last remap */
	uint64_t kept;       /* bytes left resident by the last reset */
	uint64_t kept_out;   /* kept when handed out (counted in resident_out) */
	atomic_uchar state;  /* enum sp__mslot_state */
	uint8_t rebuild;     /* a reset or remap failed: remap before reuse */
};

struct sp_mempool {
	pthread_mutex_t mu;
	pthread_cond_t freed; /* signalled when a slot goes back to the index */
	atomic_uint waiters;  /* allocs waiting on `freed` */
	sp_index *ix;
	sp__os_ctx os;
	char *res;            /* the reservation */
	size_t res_len;
	char *slot0;          /* base of slot 0 */
	size_t stride;        /* slot_bytes + guard_bytes */
	size_t slot_bytes, guard_bytes, keep, pg;
	uint32_t nslots, batch;
	unsigned flags;
	uint32_t track, decommit_path, guard_path; /* SP_MEMPOOL_* paths */
	struct sp__mslot *slots;
	/* decommit batch */
	uint32_t *pend;
	uint32_t npend;
	sp__os_range *iov;
	size_t niov;
	/* images */
	sp_image *images;
	uint32_t nimages;
	atomic_uint nokey_live;
	uint64_t next_id;
	/* counters (atomics: updated outside the lock too) */
	atomic_uint_fast64_t allocs, affine_hits, remaps, decommit_calls, decommit_bytes,
	    reset_bytes, reset_failures, waits, resident_out;
};

/* Purge every warm slot that maps img (img->live is 0); under pool->mu.
 * Returns 0 or the first remap error (those slots are marked rebuild). */
int sp__mempool_purge_image(sp_mempool *p, sp_image *img);
/* Issue the batched decommits and return the slots to the index; under mu. */
int sp__mempool_flush_locked(sp_mempool *p);

/* Free every image of p (those the caller leaked), at destroy. */
void sp__image_destroy_all(sp_mempool *p);

#endif /* SP_MEMPOOL_IMPL_H */
