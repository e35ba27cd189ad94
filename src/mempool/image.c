/*
 * image.c: sp_image, a pool's copy-on-write initial content for slots.
 *
 * Layout: the bytes live in a sealed memfd (size rounded up to pages, zero
 * padded), mapped MAP_PRIVATE into slots and once MAP_SHARED read-only into
 * the process (`src`) so that resets can copy pristine bytes back. The
 * image's id is its affinity key in the pool's index.
 *
 * Locking: refs and the pool's image list are guarded by pool->mu; live
 * is an atomic (see mempool_impl.h for why a purge needs no more).
 * Dropping the last reference purges the warm slots that map the image
 * (their mappings hold the memfd) before the fd and `src` are closed, so a
 * dead image holds no kernel memory.
 */
#include <stdlib.h>

#include "pool.h"

SP_API int sp_image_create(sp_mempool *pool, const void *bytes, size_t len, uint64_t offset,
                           sp_image **out)
{
	if (!pool || !bytes || !out || len == 0 || offset % pool->pg || offset > pool->slot_bytes ||
	    len > pool->slot_bytes - offset)
		return -EINVAL;
	sp_image *img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->pool = pool;
	img->len = len;
	img->size = (len + pool->pg - 1) / pool->pg * pool->pg;
	img->offset = offset;
	img->refs = 1;
	int err = sp__os_memfd_image(bytes, len, img->size, &img->fd);
	if (err) {
		free(img);
		return err;
	}
	err = sp__os_map_ro(img->fd, img->size, &img->src);
	if (err) {
		sp__os_close(img->fd);
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

SP_API int sp_image_retain(sp_image *img)
{
	if (!img)
		return -EINVAL;
	pthread_mutex_lock(&img->pool->mu);
	img->refs++;
	pthread_mutex_unlock(&img->pool->mu);
	return 0;
}

/* Unlink and free img; under pool->mu. */
static void image_free_locked(sp_mempool *p, sp_image *img)
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
	free(img);
}

SP_API int sp_image_release(sp_image *img)
{
	if (!img)
		return -EINVAL;
	sp_mempool *p = img->pool;
	pthread_mutex_lock(&p->mu);
	if (img->refs > 1) {
		img->refs--;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	/* Slots waiting in the batch still count as live: settle them. */
	if (atomic_load(&img->live))
		(void)sp__mempool_flush_locked(p); /* failures: slots rebuilt later */
	if (atomic_load(&img->live)) {
		pthread_mutex_unlock(&p->mu);
		return -EBUSY;
	}
	int err = sp__mempool_purge_image(p, img);
	image_free_locked(p, img);
	pthread_mutex_unlock(&p->mu);
	return err;
}

void sp__image_destroy_all(sp_mempool *p)
{
	while (p->images)
		image_free_locked(p, p->images);
}
