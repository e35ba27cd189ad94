/*
 * host.c: a toy function host on the memory pool. 20 "functions", each with
 * an initial heap image of its own size (16 KiB .. 2 MiB), are called by a
 * Zipf-distributed request stream. A request instantiates its function
 * (a slot holding the image), runs it (writes a few pages of its heap: the
 * first, one in the middle, the last, plus 4 KiB of stack-like scratch past
 * the image), and tears it down. The same stream is served three ways:
 *
 *   affinity      sp_mempool: a slot warm for the image is reused as is
 *   no affinity   the same pool with SP_MEMPOOL_NO_AFFINITY: every request
 *                 maps its image afresh
 *   mmap+memcpy   fresh anonymous memory and a copy of the image
 *
 * and each reports requests/s and p50/p99 latency per request.
 * Usage: example_host [requests]   (default 6000)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <slotpool.h>

#define NFUNCS 20
#define PG 4096u
#define SLOT_BYTES (4u << 20)

static uint64_t rng = 0x5eed;

static uint64_t next_u64(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The function body: touch its heap and some scratch beyond it. */
static void run_function(unsigned char *mem, size_t image, unsigned char v)
{
	mem[0] ^= v;
	mem[image / 2] ^= v;
	mem[image - 1] ^= v;
	memset(mem + image, v, PG);
}

enum { AFFINITY, NO_AFFINITY, MMAP };

int main(int argc, char **argv)
{
	size_t nreq = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 6000;
	if (nreq == 0)
		nreq = 1;
	size_t size[NFUNCS];
	unsigned char *bytes[NFUNCS];
	for (int f = 0; f < NFUNCS; f++) {
		size[f] = (size_t)(16u << 10) << (f * 7 % 8); /* 16 KiB .. 2 MiB, mixed */
		bytes[f] = malloc(size[f]);
		for (size_t i = 0; i < size[f]; i++)
			bytes[f][i] = (unsigned char)(i * 7 + (size_t)f);
	}
	/* Zipf(1.1) over the functions, by inverse CDF. */
	double cdf[NFUNCS], acc = 0;
	for (int f = 0; f < NFUNCS; f++)
		cdf[f] = acc += 1.0 / pow(f + 1, 1.1);
	int *req = malloc(sizeof(int) * nreq);
	for (size_t r = 0; r < nreq; r++) {
		double u = (double)(next_u64() >> 11) / 9007199254740992.0 * acc;
		int f = 0;
		while (f < NFUNCS - 1 && cdf[f] <= u)
			f++;
		req[r] = f;
	}

	static const char *name[] = {"affinity", "no affinity", "mmap+memcpy"};
	double *lat = malloc(sizeof(double) * nreq);
	double rps[3], p50[3];
	printf("host: %d functions (16 KiB .. 2 MiB images), %zu zipf(1.1) requests, "
	       "12 slots\n",
	       NFUNCS, nreq);
	for (int mode = AFFINITY; mode <= MMAP; mode++) {
		sp_mempool *pool = NULL;
		sp_image *img[NFUNCS];
		if (mode != MMAP) {
			sp_mempool_config cfg = {
				.slots = 12,
				.max_unused_warm_slots = 12, /* keep every slot warm */
				.slot_bytes = SLOT_BYTES,
				.keep_resident_bytes = 64u << 10,
				.decommit_batch = 4,
				.flags = mode == NO_AFFINITY ? SP_MEMPOOL_NO_AFFINITY : 0,
			};
			int err = sp_mempool_create(&cfg, &pool);
			for (int f = 0; !err && f < NFUNCS; f++)
				err = sp_image_create(pool, bytes[f], size[f], 0, &img[f]);
			if (err) {
				fprintf(stderr, "host: pool setup: %s\n", sp_strerror(err));
				return 1;
			}
		}
		double t_start = now_ns();
		for (size_t r = 0; r < nreq; r++) {
			int f = req[r];
			size_t need = size[f] + PG;
			double t0 = now_ns();
			if (mode != MMAP) {
				sp_mem_slot s;
				int err = sp_mempool_alloc(pool, img[f], need, &s);
				if (err) {
					fprintf(stderr, "host: alloc: %s\n", sp_strerror(err));
					return 1;
				}
				run_function(s.base, size[f], (unsigned char)r);
				sp_mempool_free(pool, s.base);
			} else {
				unsigned char *m = mmap(NULL, need, PROT_READ | PROT_WRITE,
				                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (m == MAP_FAILED)
					return 1;
				memcpy(m, bytes[f], size[f]);
				run_function(m, size[f], (unsigned char)r);
				munmap(m, need);
			}
			lat[r] = now_ns() - t0;
		}
		double secs = (now_ns() - t_start) / 1e9;
		if (pool) {
			sp_mempool_stats st = {.size = sizeof(st)};
			sp_mempool_get_stats(pool, &st);
			printf("  %-12s affine hits %llu/%llu, remaps %llu, %u mappings (max %u)\n",
			       name[mode], (unsigned long long)st.affine_hits,
			       (unsigned long long)st.allocs, (unsigned long long)st.remaps,
			       st.mappings, st.max_map_count);
			for (int f = 0; f < NFUNCS; f++)
				sp_image_release(img[f]);
			sp_mempool_destroy(pool);
		}
		qsort(lat, nreq, sizeof(double), cmp_d);
		rps[mode] = (double)nreq / secs;
		p50[mode] = lat[nreq / 2];
		printf("  %-12s %10.0f req/s   p50 %8.1f us   p99 %8.1f us\n", name[mode],
		       rps[mode], lat[nreq / 2] / 1e3, lat[(size_t)((double)nreq * 0.99)] / 1e3);
	}
	printf("host: affinity serves %.1fx the requests/s of no affinity and %.1fx of "
	       "mmap+memcpy (p50 %.1fx, %.1fx faster)\n",
	       rps[AFFINITY] / rps[NO_AFFINITY], rps[AFFINITY] / rps[MMAP],
	       p50[NO_AFFINITY] / p50[AFFINITY], p50[MMAP] / p50[AFFINITY]);
	free(lat);
	free(req);
	for (int f = 0; f < NFUNCS; f++)
		free(bytes[f]);
	return 0;
}
