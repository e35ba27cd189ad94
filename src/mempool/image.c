/* SPDX-License-Identifier: MIT */
/*
 * image.c: sp_image, a pool's copy-on-write initial content for slots.
 *
 * Layout: the bytes live in a sealed memfd (size rounded up to pages, zero
 * padded), mapped MAP_PRIVATE into slots and once MAP_SHARED read-only into
 * the process (`src`) so that resets can copy pristine bytes back. The
 * image's id is its affinity key in the pool's index.
 *
 * Handles: a released image's record stays (on pool->dead_images, with
 * refs 0, its fd and mapping closed) until sp_mempool_destroy, so that a
 * second release, a retain or an alloc through a stale handle is detected
 * and refused with -EINVAL instead of touching freed memory. A record is
 * 104 bytes.
 *
 * Locking: refs, the lists and the release are under pool->mu. An alloc
 * does not take mu: it publishes the image as its slot's holder and then
 * reads `dead`; the last release sets `dead` and then looks for holders
 * (both sequentially consistent), so at least one of them sees the other:
 * the alloc backs off with -EINVAL, or the release with -EBUSY.
 */
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "sized.h"

SP_API int sp_image_create(sp_mempool *pool, const void *bytes, size_t len, uint64_t offset,
                           sp_image **out)
{
	if (!pool || !bytes || !out || len == 0 || offset % pool->pg || offset > pool->slot_bytes ||
	    len > pool->slot_bytes - offset)
		return -EINVAL;
	sp_image *img = aligned_alloc(64, sizeof(*img));
	if (!img)
		return -ENOMEM;
	memset(img, 0, sizeof(*img));
	img->pool = pool;
	img->len = len;
	img->size = (len + pool->pg - 1) / pool->pg * pool->pg;
	img->offset = offset;
	img->refs = 1;
	/* The read-only source mapping is one more mapping of the process. */
	int err = sp__maps_take(pool, 1, UINT32_MAX);
	if (err) {
		free(img);
		return err;
	}
	err = sp__os_memfd_image(bytes, len, img->size, &img->fd);
	if (!err) {
		err = sp__os_map_ro(img->fd, img->size, &img->src);
		if (err)
			sp__os_close(img->fd);
	}
	if (err) {
		sp__maps_give(pool, 1);
		free(img);
		return err;
	}
	pthread_mutex_lock(&pool->mu);
	img->id = ++pool->next_id;
	img->next = pool->images;
	if (pool->images)
		pool->images->prev = img;
	pool->images = img;
	pool->nimages++;
	pthread_mutex_unlock(&pool->mu);
	*out = img;
	return 0;
}

SP_API uint64_t sp_image_id(const sp_image *img)
{
	return img ? img->id : 0;
}

int sp__image_usable(const sp_mempool *p, const sp_image *img)
{
	return img->pool == p && !atomic_load_explicit(&img->dead, memory_order_relaxed);
}

SP_API int sp_image_retain(sp_image *img)
{
	if (!img)
		return -EINVAL;
	pthread_mutex_lock(&img->pool->mu);
	int ok = img->refs > 0;
	if (ok)
		img->refs++;
	pthread_mutex_unlock(&img->pool->mu);
	return ok ? 0 : -EINVAL;
}

/* Is any slot in use (or in a reset, or in the batch) with img? */
static int in_use(const sp_mempool *p, const sp_image *img)
{
	for (uint32_t i = 0; i < p->nslots; i++)
		if (atomic_load_explicit(&p->slots[i].holder, memory_order_seq_cst) == img)
			return 1;
	return 0;
}

/* Close what img holds and move its record to the dead list; under mu. */
static void retire_locked(sp_mempool *p, sp_image *img)
{
	if (img->prev)
		img->prev->next = img->next;
	else
		p->images = img->next;
	if (img->next)
		img->next->prev = img->prev;
	p->nimages--;
	sp__os_unmap((void *)(uintptr_t)img->src, img->size);
	sp__os_close(img->fd);
	img->fd = -1;
	img->src = NULL;
	img->refs = 0;
	sp__maps_give(p, 1);
	img->prev = NULL;
	img->next = p->dead_images;
	if (p->dead_images)
		p->dead_images->prev = img;
	p->dead_images = img;
}

SP_API int sp_image_release(sp_image *img)
{
	if (!img)
		return -EINVAL;
	sp_mempool *p = img->pool;
	sp__fork_check(p);
	pthread_mutex_lock(&p->mu);
	if (img->refs == 0) {
		pthread_mutex_unlock(&p->mu);
		return -EINVAL;
	}
	if (img->refs > 1) {
		img->refs--;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	atomic_store_explicit(&img->dead, 1, memory_order_seq_cst);
	/* Slots waiting in the batch still hold it: settle them. */
	if (in_use(p, img) && p->npend) {
		(void)sp__mempool_flush_locked(p); /* failures: slots rebuilt later */
	}
	if (in_use(p, img)) {
		atomic_store_explicit(&img->dead, 0, memory_order_relaxed);
		pthread_mutex_unlock(&p->mu);
		return -EBUSY;
	}
	int err = sp__mempool_purge_image(p, img);
	retire_locked(p, img);
	pthread_mutex_unlock(&p->mu);
	return err;
}

SP_API int sp_image_get_stats(const sp_image *img, sp_image_stats *out)
{
	if (!img || !out || out->size < SP__SIZED_MIN)
		return -EINVAL;
	sp_mempool *p = img->pool;
	pthread_mutex_lock(&p->mu);
	int live = img->refs > 0;
	pthread_mutex_unlock(&p->mu);
	if (!live)
		return -EINVAL;
	sp_image_stats st = {.size = sizeof(st)};
	st.id = img->id;
	st.bytes = img->len;
	st.offset = img->offset;
	st.remaps = atomic_load_explicit(&img->remaps, memory_order_relaxed);
	st.affine_hits = atomic_load_explicit(&img->hits_retired, memory_order_relaxed);
	for (uint32_t i = 0; i < p->nslots; i++) {
		const struct sp__mslot *s = &p->slots[i];
		unsigned state = atomic_load_explicit(&s->state, memory_order_relaxed);
		if (atomic_load_explicit(&s->holder, memory_order_relaxed) == img &&
		    state == SP__MS_USED)
			st.live++;
		/* The slot's record is its owner's; read only the atomics. */
		if (atomic_load_explicit(&s->img_id, memory_order_relaxed) != img->id)
			continue;
		st.warm += state == SP__MS_FREE;
		st.affine_hits += atomic_load_explicit(&s->hits, memory_order_relaxed);
	}
	return sp__sized_copy(out, &st, (uint32_t)sizeof(st));
}

void sp__image_destroy_all(sp_mempool *p)
{
	while (p->images)
		retire_locked(p, p->images);
	while (p->dead_images) {
		sp_image *img = p->dead_images;
		p->dead_images = img->next;
		free(img);
	}
}
