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
 * Locking: refs and the lists are under pool->mu; the functions named
 * *_locked are called with it held. The rest of a release (the decommit
 * batch, the holders, the purge of warm slots) is pool.c's.
 */
#include "image.h"

#include <stdlib.h>
#include <string.h>

#include "maps.h"
#include "reclaim.h"
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
	int err = sp__reclaim_take_maps(pool, 1, UINT32_MAX);
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

void sp__image_retire_locked(sp_mempool *p, sp_image *img)
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

int sp__image_unref_locked(sp_image *img)
{
	if (img->refs == 0)
		return -EINVAL;
	if (img->refs > 1) {
		img->refs--;
		return 0;
	}
	return 1;
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
		sp__image_retire_locked(p, p->images); /* no other thread at destroy */
	while (p->dead_images) {
		sp_image *img = p->dead_images;
		p->dead_images = img->next;
		free(img);
	}
}
