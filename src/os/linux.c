/* SPDX-License-Identifier: MIT */
/*
 * linux.c: every kernel call the memory pool makes (see os.h), and the
 * feature probes.
 *
 * Debian 12 builds against Linux 6.1 uapi headers while the kernels we run
 * on are much newer, so the constants and structures of later interfaces
 * (PAGEMAP_SCAN 6.7, MADV_GUARD_INSTALL 6.13, WP_ASYNC userfaultfd 6.7) are
 * defined here from the kernel documentation, each under #ifndef.
 *
 * State: none of its own (the handles live in the caller's sp__os_ctx); no
 * locks. Every call that can fail first asks inject.h whether a test wants
 * it to.
 */
#include "os/os.h"
#include "os/inject.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

/* PAGEMAP_SCAN (include/uapi/linux/fs.h, Linux 6.7). */
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
struct page_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct pm_scan_arg {
	uint64_t size;
	uint64_t flags;
	uint64_t start;
	uint64_t end;
	uint64_t walk_end;
	uint64_t vec;
	uint64_t vec_len;
	uint64_t max_pages;
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif
_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg is 12 u64");
_Static_assert(sizeof(struct page_region) == 24, "page_region is 3 u64");

/* A failure injected by a test (inject.h) returns before the kernel call. */
#define INJECT(op)                                                                                 \
	do {                                                                                       \
		int inj_ = sp__os_injected(op);                                                    \
		if (inj_)                                                                          \
			return inj_;                                                               \
	} while (0)

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

size_t sp__os_page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

#define PAGE_OK(p, len) assert(((uintptr_t)(p) | (len)) % sp__os_page_size() == 0 && (len) > 0)

/* ---- mappings --------------------------------------------------------- */

static int reserve(size_t len, int prot, void **out)
{
	INJECT(SP__OS_MMAP);
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return neg_errno();
	*out = p;
	return 0;
}

int sp__os_reserve_none(size_t len, void **out)
{
	return reserve(len, PROT_NONE, out);
}

int sp__os_reserve_rw(size_t len, void **out)
{
	return reserve(len, PROT_READ | PROT_WRITE, out);
}

int sp__os_unmap(void *p, size_t len)
{
	PAGE_OK(p, len);
	return munmap(p, len) ? neg_errno() : 0;
}

static int map_anon(void *p, size_t len, int prot)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_MMAP);
	void *q =
		mmap(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	return q == MAP_FAILED ? neg_errno() : 0;
}

int sp__os_map_anon_none(void *p, size_t len)
{
	return map_anon(p, len, PROT_NONE);
}

int sp__os_map_anon_rw(void *p, size_t len)
{
	return map_anon(p, len, PROT_READ | PROT_WRITE);
}

int sp__os_map_file(void *p, size_t len, int fd)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_MMAP);
	void *q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
	               0);
	return q == MAP_FAILED ? neg_errno() : 0;
}

int sp__os_map_ro(int fd, size_t len, const void **out)
{
	INJECT(SP__OS_MMAP);
	void *q = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (q == MAP_FAILED)
		return neg_errno();
	*out = q;
	return 0;
}

static int protect(void *p, size_t len, int prot)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_MPROTECT);
	return mprotect(p, len, prot) ? neg_errno() : 0;
}

int sp__os_protect_none(void *p, size_t len)
{
	return protect(p, len, PROT_NONE);
}

int sp__os_protect_rw(void *p, size_t len)
{
	return protect(p, len, PROT_READ | PROT_WRITE);
}

static int advise(void *p, size_t len, int advice)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_MADVISE);
	return madvise(p, len, advice) ? neg_errno() : 0;
}

int sp__os_decommit(void *p, size_t len)
{
	return advise(p, len, MADV_DONTNEED);
}

int sp__os_guard_install(void *p, size_t len)
{
	return advise(p, len, MADV_GUARD_INSTALL);
}

int sp__os_guard_remove(void *p, size_t len)
{
	return advise(p, len, MADV_GUARD_REMOVE);
}

int sp__os_decommit_many(const sp__os_ctx *ctx, const sp__os_range *r, size_t n)
{
	_Static_assert(sizeof(sp__os_range) == sizeof(struct iovec), "range is an iovec");
	assert(n <= SP__OS_IOV_MAX && (ctx->features & SP__OS_F_PROCESS_MADVISE));
	INJECT(SP__OS_PROCESS_MADVISE);
	size_t want = 0;
	for (size_t i = 0; i < n; i++)
		want += r[i].len;
	/* The kernel may stop early (it returns the bytes advised); finish
	 * the rest one range at a time. */
	long done = syscall(SYS_process_madvise, ctx->pidfd, (const struct iovec *)r, n,
	                    MADV_DONTNEED, 0);
	if (done < 0)
		return neg_errno();
	if ((size_t)done == want)
		return 0;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (off + r[i].len > (size_t)done && madvise(r[i].base, r[i].len, MADV_DONTNEED))
			return neg_errno();
		off += r[i].len;
	}
	return 0;
}

/* ---- images ----------------------------------------------------------- */

int sp__os_memfd_image(const void *bytes, size_t len, size_t size, int *fd)
{
	INJECT(SP__OS_MEMFD);
	int f = memfd_create("slotpool-image", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (f < 0 && errno == EINVAL) /* kernel before 6.3 */
		f = memfd_create("slotpool-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f < 0)
		return neg_errno();
	int err = 0;
	if (ftruncate(f, (off_t)size))
		err = neg_errno();
	for (size_t done = 0; !err && done < len;) {
		ssize_t w = pwrite(f, (const char *)bytes + done, len - done, (off_t)done);
		if (w < 0 && errno != EINTR)
			err = neg_errno();
		else if (w > 0)
			done += (size_t)w;
	}
	/* Sealed, the content can never change under the mappings of it. The
	 * kernel refuses F_SEAL_WRITE with EBUSY while a page is pinned for a
	 * moment (migration, compaction); it waits a little itself, and so do
	 * we, a few times. */
	for (int tries = 0; !err; tries++) {
		if (!fcntl(f, F_ADD_SEALS,
		           F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL))
			break;
		err = neg_errno();
		if (err != -EBUSY || tries == 4)
			break;
		err = 0;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	if (err) {
		close(f);
		return err;
	}
	*fd = f;
	return 0;
}

void sp__os_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- write tracking --------------------------------------------------- */

int sp__os_track(const sp__os_ctx *ctx, void *p, size_t len)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_IOCTL);
	struct uffdio_register reg = {
		.range = {.start = (uintptr_t)p, .len = len},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	return ioctl(ctx->uffd, UFFDIO_REGISTER, &reg) ? neg_errno() : 0;
}

int sp__os_track_clean(const sp__os_ctx *ctx, void *p, size_t len)
{
	PAGE_OK(p, len);
	INJECT(SP__OS_IOCTL);
	struct uffdio_writeprotect wp = {
		.range = {.start = (uintptr_t)p, .len = len},
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	return ioctl(ctx->uffd, UFFDIO_WRITEPROTECT, &wp) ? neg_errno() : 0;
}

static int scan_raw(int pmfd, enum sp__os_scan_mode mode, uintptr_t start, uintptr_t end,
                    struct page_region *v, size_t cap, size_t *n, uintptr_t *next)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = start,
		.end = end,
		.vec = (uintptr_t)v,
		.vec_len = cap,
	};
	if (mode == SP__OS_SCAN_WRITTEN) {
		a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		a.category_mask = PAGE_IS_WRITTEN;
		a.return_mask = PAGE_IS_WRITTEN;
	} else if (mode == SP__OS_SCAN_MAPPED) {
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO;
	} else if (mode == SP__OS_SCAN_RESIDENT) {
		a.category_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO | PAGE_IS_PRESENT;
		a.category_inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO;
		a.return_mask = PAGE_IS_PRESENT;
	} else {
		/* Private: not a page-cache page, not the zero page, and in
		 * memory or in swap (a swapped-out dirty page is still dirty). */
		a.category_mask = PAGE_IS_FILE | PAGE_IS_PFNZERO;
		a.category_inverted = PAGE_IS_FILE | PAGE_IS_PFNZERO;
		a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	}
	/* The kernel fills v, but memory checkers that do not know this ioctl
	 * (valgrind 3.19) would take every region for uninitialised; zeroing
	 * 1.5 KiB costs little beside the system call. */
	memset(v, 0, cap * sizeof(*v));
	int r = ioctl(pmfd, PAGEMAP_SCAN, &a);
	if (r < 0)
		return neg_errno();
	*n = (size_t)r;
	*next = (uintptr_t)a.walk_end;
	return 0;
}

int sp__os_scan(const sp__os_ctx *ctx, enum sp__os_scan_mode mode, uintptr_t start, uintptr_t end,
                sp__os_range *r, size_t cap, size_t *n, uintptr_t *next)
{
	return sp__os_scan_cat(ctx, mode, start, end, r, NULL, cap, n, next);
}

int sp__os_scan_cat(const sp__os_ctx *ctx, enum sp__os_scan_mode mode, uintptr_t start,
                    uintptr_t end, sp__os_range *r, unsigned char *clean, size_t cap, size_t *n,
                    uintptr_t *next)
{
	assert(start < end && cap > 0);
	INJECT(SP__OS_IOCTL);
	/* The kernel writes 24-byte page_regions; reuse r's storage from its
	 * end would be clever, a small local batch is simpler. */
	struct page_region v[64];
	if (cap > 64)
		cap = 64;
	size_t got = 0;
	int err = scan_raw(ctx->pagemap_fd, mode, start, end, v, cap, &got, next);
	if (err)
		return err;
	for (size_t i = 0; i < got; i++) {
		r[i].base = (void *)(uintptr_t)v[i].start;
		r[i].len = (size_t)(v[i].end - v[i].start);
		if (clean)
			clean[i] = (v[i].categories & (PAGE_IS_FILE | PAGE_IS_PFNZERO)) != 0;
	}
	*n = got;
	return 0;
}

/* ---- probes ----------------------------------------------------------- */

static int probe_uffd(sp__os_ctx *ctx, char *scratch, size_t pg)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -1;
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = {
		.range = {.start = (uintptr_t)scratch, .len = 2 * pg},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = {.start = (uintptr_t)scratch, .len = 2 * pg},
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg) ||
	    ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		close(fd);
		return -1;
	}
	/* Tracking must see exactly the page written, and only it. */
	scratch[pg] = 1;
	struct page_region v[4];
	size_t n = 0;
	uintptr_t next = 0;
	if (scan_raw(ctx->pagemap_fd, SP__OS_SCAN_WRITTEN, (uintptr_t)scratch,
	             (uintptr_t)scratch + 2 * pg, v, 4, &n, &next) ||
	    n != 1 || v[0].start != (uintptr_t)scratch + pg || v[0].end != v[0].start + pg) {
		close(fd);
		return -1;
	}
	ctx->uffd = fd;
	return 0;
}

void sp__os_probe(sp__os_ctx *ctx, unsigned want)
{
	ctx->pagemap_fd = ctx->uffd = ctx->pidfd = -1;
	ctx->features = 0;
	size_t pg = sp__os_page_size();
	char *s = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return;
	if (want & (SP__OS_F_PAGEMAP_SCAN | SP__OS_F_UFFD_WP)) {
		ctx->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		struct page_region v[2];
		size_t n;
		uintptr_t next;
		s[0] = 1;
		int scan_ok = ctx->pagemap_fd >= 0 &&
		              scan_raw(ctx->pagemap_fd, SP__OS_SCAN_PRIVATE, (uintptr_t)s,
		                       (uintptr_t)s + 2 * pg, v, 2, &n, &next) == 0 &&
		              n == 1 && v[0].start == (uintptr_t)s && v[0].end == (uintptr_t)s + pg;
		if (scan_ok && (want & SP__OS_F_PAGEMAP_SCAN))
			ctx->features |= SP__OS_F_PAGEMAP_SCAN;
		if (scan_ok && (want & SP__OS_F_UFFD_WP) && probe_uffd(ctx, s, pg) == 0)
			ctx->features |= SP__OS_F_UFFD_WP;
		if (!(ctx->features & (SP__OS_F_PAGEMAP_SCAN | SP__OS_F_UFFD_WP))) {
			sp__os_close(ctx->pagemap_fd);
			ctx->pagemap_fd = -1;
		}
	}
	if (want & SP__OS_F_PROCESS_MADVISE) {
		/* Only newer kernels accept MADV_DONTNEED here (on self). */
		ctx->pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		s[pg] = 1;
		struct iovec iov = {s + pg, pg};
		if (ctx->pidfd >= 0 &&
		    syscall(SYS_process_madvise, ctx->pidfd, &iov, 1, MADV_DONTNEED, 0) ==
		            (long)pg &&
		    s[pg] == 0) {
			ctx->features |= SP__OS_F_PROCESS_MADVISE;
		} else {
			sp__os_close(ctx->pidfd);
			ctx->pidfd = -1;
		}
	}
	if ((want & SP__OS_F_GUARD_INSTALL) && madvise(s + pg, pg, MADV_GUARD_INSTALL) == 0 &&
	    madvise(s + pg, pg, MADV_GUARD_REMOVE) == 0)
		ctx->features |= SP__OS_F_GUARD_INSTALL;
	munmap(s, 2 * pg);
}

void sp__os_ctx_close(sp__os_ctx *ctx)
{
	sp__os_close(ctx->pagemap_fd);
	sp__os_close(ctx->uffd);
	sp__os_close(ctx->pidfd);
	ctx->pagemap_fd = ctx->uffd = ctx->pidfd = -1;
	ctx->features = 0;
}

/* ---- /proc ------------------------------------------------------------ */

int sp__os_max_map_count(uint32_t *out)
{
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return neg_errno();
	char buf[32];
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	int err = r > 0 ? 0 : -EIO;
	uint64_t v = 0;
	for (ssize_t i = 0; i < r && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');
	close(fd);
	if (!err)
		*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return err;
}
