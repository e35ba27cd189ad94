/* SPDX-License-Identifier: MIT */
/*
 * mp_util.h: helpers shared by the memory pool tests: expected slot
 * content (the byte model), fd and mapping counts, and a fork helper that
 * tells whether touching an address kills the child with SIGSEGV.
 */
#ifndef SP_MP_UTIL_H
#define SP_MP_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slotpool.h"

/* ASan maps memory of its own as the test runs, so counts of all mappings
 * only mean something without it. */
#if defined(__SANITIZE_ADDRESS__)
#define MP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MP_ASAN 1
#endif
#endif
#ifndef MP_ASAN
#define MP_ASAN 0
#endif

/* Mappings overlapping [lo, hi), from /proc/self/maps. */
static inline int mp_count_maps_in(uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;
	char line[512];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo)
			n++;
	fclose(f);
	return n;
}

/* Mappings overlapping [lo, hi) whose line contains `needle`. */
static inline int mp_count_maps_in_named(uintptr_t lo, uintptr_t hi, const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;
	char line[512];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < hi && b > lo &&
		    strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* Index of the first byte of [p, p+len) that differs from the model
 * (image bytes at offset, zeros elsewhere), or -1. */
static inline long mp_first_diff(const unsigned char *p, size_t len, const unsigned char *img,
                                 size_t img_off, size_t img_len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char want = 0;
		if (img && i >= img_off && i < img_off + img_len)
			want = img[i - img_off];
		if (p[i] != want)
			return (long)i;
	}
	return -1;
}

static inline int mp_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Lines of /proc/self/maps containing `needle` (NULL: all lines). */
static inline int mp_count_maps(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!needle || strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* vm.max_map_count, or 0 when unknown. */
static inline uint32_t mp_max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned v = 0;
	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* waitpid that goes on when a signal (a fuzzer's timer) interrupts it. */
static inline pid_t mp_waitpid(pid_t pid, int *st)
{
	pid_t r;
	do
		r = waitpid(pid, st, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

/* 1 if reading (write = 0) or writing *p kills a child with SIGSEGV, 0 if
 * the access succeeds, -1 on anything else. */
static inline int mp_faults(volatile unsigned char *p, int write)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		if (write)
			*p = 1;
		else
			(void)*p;
		_exit(0);
	}
	int st = 0;
	if (mp_waitpid(pid, &st) != pid)
		return -1;
	if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS))
		return 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return -1;
}

/* Exit 77 (skipped) when the kernel lacks what every pool needs: the
 * reservation, sealed memfds and private mappings of them. */
static inline void mp_require_kernel(void)
{
	sp_mempool_config cfg = {.slots = 1, .slot_bytes = 4096, .guard_bytes = 4096};
	sp_mempool *p = NULL;
	sp_image *img = NULL;
	sp_mem_slot s;
	unsigned char b = 1;
	int err = sp_mempool_create(&cfg, &p);
	if (!err)
		err = sp_image_create(p, &b, 1, 0, &img);
	if (!err)
		err = sp_mempool_alloc(p, img, 4096, &s);
	if (!err && *(volatile unsigned char *)s.base != 1)
		err = -ENOSYS;
	if (err == -ENOSYS || err == -EPERM || err == -EINVAL || err == -EOPNOTSUPP) {
		fprintf(stderr, "skipped: the kernel cannot run a memory pool (%s)\n",
		        sp_strerror(err));
		exit(77);
	}
	if (img) {
		if (!err)
			sp_mempool_free(p, s.base);
		sp_image_release(img);
	}
	sp_mempool_destroy(p);
}

#endif /* SP_MP_UTIL_H */
