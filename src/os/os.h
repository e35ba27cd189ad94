/* SPDX-License-Identifier: MIT */
/*
 * os.h: the thin OS layer under the memory pool. Every mmap, mprotect,
 * madvise, memfd, userfaultfd, pagemap and process_madvise call of the
 * library lives in linux.c; nothing else calls the kernel for memory.
 *
 * Each function returns 0 or a negative errno and never sets errno.
 * Preconditions (checked with assert only): addresses and lengths are page
 * aligned and lengths are > 0 unless said otherwise.
 *
 * Tests make these calls fail on purpose through inject.h.
 */
#ifndef SP_OS_H
#define SP_OS_H

#include <stddef.h>
#include <stdint.h>

size_t sp__os_page_size(void);

/* Kernel features, probed by sp__os_probe. */
#define SP__OS_F_PAGEMAP_SCAN (1u << 0)    /* ioctl(PAGEMAP_SCAN), Linux 6.7 */
#define SP__OS_F_UFFD_WP (1u << 1)         /* userfaultfd WP_ASYNC tracking */
#define SP__OS_F_PROCESS_MADVISE (1u << 2) /* process_madvise(MADV_DONTNEED) on self */
#define SP__OS_F_GUARD_INSTALL (1u << 3)   /* madvise(MADV_GUARD_INSTALL), 6.13 */

/*
 * The per-pool kernel handles: /proc/self/pagemap, a userfaultfd and a
 * pidfd of this process, each -1 when not in use.
 */
typedef struct sp__os_ctx {
	int pagemap_fd;
	int uffd;
	int pidfd;
	unsigned features;
} sp__os_ctx;

/*
 * sp__os_probe: find which of the features in `want` work here, open the
 * handles they need (the rest stay -1) and set ctx->features. Never fails:
 * a feature that cannot be set up is simply absent.
 */
void sp__os_probe(sp__os_ctx *ctx, unsigned want);
/* Close the handles of ctx. */
void sp__os_ctx_close(sp__os_ctx *ctx);

/* Reserve len bytes of address space, MAP_NORESERVE: inaccessible, or
 * read-write (for guard markers to fence). */
int sp__os_reserve_none(size_t len, void **out);
int sp__os_reserve_rw(size_t len, void **out);
int sp__os_unmap(void *p, size_t len);
/* Replace [p, p+len) with fresh anonymous memory (zeros): inaccessible, or
 * read-write. */
int sp__os_map_anon_none(void *p, size_t len);
int sp__os_map_anon_rw(void *p, size_t len);
/* Map fd's first len bytes copy-on-write over [p, p+len), read-write. */
int sp__os_map_file(void *p, size_t len, int fd);
/* Map fd's first len bytes shared read-only anywhere. */
int sp__os_map_ro(int fd, size_t len, const void **out);
/* mprotect [p, p+len) to PROT_NONE, or to read-write. */
int sp__os_protect_none(void *p, size_t len);
int sp__os_protect_rw(void *p, size_t len);
/* madvise(MADV_DONTNEED): private pages go back to zero / file content. */
int sp__os_decommit(void *p, size_t len);
/* MADV_DONTNEED over n ranges (base, len pairs) with process_madvise;
 * ctx must have SP__OS_F_PROCESS_MADVISE. n <= SP__OS_IOV_MAX. */
#define SP__OS_IOV_MAX 1024
typedef struct sp__os_range {
	void *base;
	size_t len;
} sp__os_range;
int sp__os_decommit_many(const sp__os_ctx *ctx, const sp__os_range *r, size_t n);
/* MADV_GUARD_INSTALL: accesses to [p, p+len) fault; MADV_GUARD_REMOVE
 * takes the markers away (the range reads as zeros again). */
int sp__os_guard_install(void *p, size_t len);
int sp__os_guard_remove(void *p, size_t len);

/* A sealed memfd holding bytes[0..len) followed by zeros up to size
 * (size >= len, page multiple). */
int sp__os_memfd_image(const void *bytes, size_t len, size_t size, int *fd);
void sp__os_close(int fd);

/* Register [p, p+len) with ctx's userfaultfd for async write tracking
 * (needed again after every mmap over the range). */
int sp__os_track(const sp__os_ctx *ctx, void *p, size_t len);
/* Mark [p, p+len) clean (write-protect it for tracking). */
int sp__os_track_clean(const sp__os_ctx *ctx, void *p, size_t len);

/* What sp__os_scan looks for. */
enum sp__os_scan_mode {
	SP__OS_SCAN_WRITTEN,  /* written since the last clean; re-cleans them */
	SP__OS_SCAN_PRIVATE,  /* present or swapped private (anonymous or COW)
	                        pages: what a reset must put back */
	SP__OS_SCAN_RESIDENT, /* present private pages only: what is held in
	                         memory (a write-protect marker on an empty
	                         entry reads as swapped) */
	SP__OS_SCAN_MAPPED    /* all present (or swapped) pages; clean[] tells
	                        page-cache and zero-page ranges apart */
};
/*
 * sp__os_scan: PAGEMAP_SCAN over [start, end): store up to cap matching
 * ranges in r, their number in *n, and where the walk stopped in *next
 * (== end when done; call again from *next otherwise).
 */
int sp__os_scan(const sp__os_ctx *ctx, enum sp__os_scan_mode mode, uintptr_t start, uintptr_t end,
                sp__os_range *r, size_t cap, size_t *n, uintptr_t *next);
/* As sp__os_scan; clean[k] is set to 1 for a range of page-cache or
 * zero-page mappings (not dirty), 0 for private pages. */
int sp__os_scan_cat(const sp__os_ctx *ctx, enum sp__os_scan_mode mode, uintptr_t start,
                    uintptr_t end, sp__os_range *r, unsigned char *clean, size_t cap, size_t *n,
                    uintptr_t *next);

/* vm.max_map_count (from /proc/sys/vm/max_map_count). */
int sp__os_max_map_count(uint32_t *out);

#endif /* SP_OS_H */
