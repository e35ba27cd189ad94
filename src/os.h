/* SPDX-License-Identifier: MIT */
/*
 * os.h: the thin OS layer under the memory pool. Every mmap, mprotect,
 * madvise, memfd, userfaultfd, pagemap and process_madvise call of the
 * library lives in os_linux.c; nothing else calls the kernel for memory.
 *
 * Each function returns 0 or a negative errno and never sets errno.
 * Preconditions (checked with assert only): addresses and lengths are page
 * aligned and lengths are > 0 unless said otherwise.
 *
 * Fault injection (tests): sp__os_fail(op, skip, count, err) makes the
 * (skip+1)th to (skip+count)th calls of `op` fail with `err` without calling
 * the kernel. The counters are process-wide atomics; tests that use them
 * run single-threaded.
 */
#ifndef SP_OS_H
#define SP_OS_H

#include <stddef.h>
#include <stdint.h>

/* Operations that fault injection can target. */
enum sp__os_op {
	SP__OS_MMAP,            /* reserve, map_anon, map_file, map_shared_ro */
	SP__OS_MPROTECT,        /* protect */
	SP__OS_MADVISE,         /* decommit, guard install/remove */
	SP__OS_MEMFD,           /* memfd_create, write, seal */
	SP__OS_PROCESS_MADVISE, /* decommit_many */
	SP__OS_IOCTL,           /* pagemap scan, userfaultfd register/protect */
	SP__OS_NOPS
};

/* Fail calls skip+1 .. skip+count of `op` with err (< 0). count 0 clears. */
void sp__os_fail(enum sp__os_op op, uint32_t skip, uint32_t count, int err);
/* Clear every injected failure. */
void sp__os_fail_clear(void);
/* Calls of `op` seen since the last sp__os_fail/clear for it (for tests). */
uint64_t sp__os_calls(enum sp__os_op op);

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

/* Reserve len bytes of address space: PROT_NONE (rw = 0) or read-write,
 * MAP_NORESERVE either way. */
int sp__os_reserve(size_t len, int rw, void **out);
int sp__os_unmap(void *p, size_t len);
/* Replace [p, p+len) with fresh anonymous memory (zeros), PROT_NONE or RW. */
int sp__os_map_anon(void *p, size_t len, int rw);
/* Map fd's first len bytes copy-on-write over [p, p+len), read-write. */
int sp__os_map_file(void *p, size_t len, int fd);
/* Map fd's first len bytes shared read-only anywhere. */
int sp__os_map_ro(int fd, size_t len, const void **out);
int sp__os_protect(void *p, size_t len, int rw);
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
/* MADV_GUARD_INSTALL (install != 0) or MADV_GUARD_REMOVE. */
int sp__os_guard(void *p, size_t len, int install);

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
