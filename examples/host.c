/* SPDX-License-Identifier: MIT */
/*
 * host.c: a toy function host on the memory pool. 20 "functions", each with
 * an initial heap image of its own size (16 KiB .. 2 MiB), are called by a
 * Zipf-distributed request stream. A request instantiates its function
 * (a slot holding the image), runs it (writes a few pages of its heap: the
 * first, one in the middle, the last, plus 4 KiB of stack-like scratch past
 * the image), and tears it down. The same stream is served four ways:
 *
 *   affinity      sp_mempool, default config: a slot warm for the image is
 *                 reused, its written pages put back in place at free
 *   no affinity   the same pool with SP_MEMPOOL_NO_AFFINITY: every request
 *                 maps its image afresh
 *   malloc+memcpy malloc'd memory and a copy of the image
 *   mmap+memcpy   fresh anonymous memory and a copy of the image
 *
 * and each reports requests/s and p50/p99 latency per request.
 *
 * Usage: example_host [--requests N] [--record FILE] [--metrics FILE]
 *   --requests N    requests per mode (default 6000; a bare N works too)
 *   --record FILE   record the affinity pool's traffic as a trace that
 *                   `slotpool-sim sweep FILE --capacity 12 ...` reads
 *   --metrics FILE  write the affinity pool's Prometheus page ("-": stdout)
 */
#include <errno.h>
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

enum { AFFINITY, NO_AFFINITY, MALLOC, MMAP, NMODES };

static int to_file(void *ctx, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -EIO;
}

static int usage(void)
{
	fprintf(stderr, "usage: example_host [--requests N] [--record FILE] [--metrics FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	size_t nreq = 6000;
	const char *record = NULL, *metrics = NULL;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--requests") && k + 1 < argc)
			nreq = (size_t)strtoul(argv[++k], NULL, 10);
		else if (!strcmp(argv[k], "--record") && k + 1 < argc)
			record = argv[++k];
		else if (!strcmp(argv[k], "--metrics") && k + 1 < argc)
			metrics = argv[++k];
		else if (argv[k][0] >= '0' && argv[k][0] <= '9')
			nreq = (size_t)strtoul(argv[k], NULL, 10);
		else
			return usage();
	}
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

	static const char *name[] = {"affinity", "no affinity", "malloc+memcpy", "mmap+memcpy"};
	double *lat = malloc(sizeof(double) * nreq);
	double rps[NMODES], p50[NMODES];
	printf("host: %d functions (16 KiB .. 2 MiB images), %zu zipf(1.1) requests, "
	       "12 slots of 4 MiB\n",
	       NFUNCS, nreq);
	FILE *rec = NULL;
	for (int mode = AFFINITY; mode < NMODES; mode++) {
		sp_mempool *pool = NULL;
		sp_image *img[NFUNCS];
		if (mode <= NO_AFFINITY) {
			/* Everything else at its default: the adaptive reset, every
			 * slot kept warm, resident memory bounded by the budget. */
			sp_mempool_config cfg = {
				.slots = 12,
				.slot_bytes = SLOT_BYTES,
				.flags = mode == NO_AFFINITY ? SP_MEMPOOL_NO_AFFINITY : 0,
			};
			int err = sp_mempool_create(&cfg, &pool);
			for (int f = 0; !err && f < NFUNCS; f++)
				err = sp_image_create(pool, bytes[f], size[f], 0, &img[f]);
			if (!err && mode == AFFINITY && record) {
				rec = fopen(record, "w");
				err = rec ? sp_mempool_record(pool, to_file, rec) : -errno;
			}
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
			if (mode <= NO_AFFINITY) {
				sp_mem_slot s;
				int err = sp_mempool_alloc(pool, img[f], need, &s);
				if (err) {
					fprintf(stderr, "host: alloc: %s\n", sp_strerror(err));
					return 1;
				}
				run_function(s.base, size[f], (unsigned char)r);
				sp_mempool_free(pool, s.base);
			} else if (mode == MALLOC) {
				unsigned char *m = malloc(need);
				if (!m)
					return 1;
				memcpy(m, bytes[f], size[f]);
				memset(m + size[f], 0, PG); /* what a slot reads: zeros */
				run_function(m, size[f], (unsigned char)r);
				__asm__ volatile("" : : "r"(m) : "memory");
				free(m);
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
			printf("  %-13s affine hits %llu/%llu, remaps %llu, %u mappings, %.1f MiB kept "
			       "warm (budget %.0f MiB)\n",
			       name[mode], (unsigned long long)st.affine_hits,
			       (unsigned long long)st.allocs, (unsigned long long)st.remaps,
			       st.mappings, (double)st.resident_warm_bytes / (1 << 20),
			       (double)st.max_resident_bytes / (1 << 20));
			if (rec) {
				int err = sp_mempool_record(pool, NULL, NULL);
				if (fclose(rec) || err) {
					fprintf(stderr, "host: %s: %s\n", record,
					        sp_strerror(err ? err : -EIO));
					return 1;
				}
				rec = NULL;
				printf("  %-13s traffic recorded in %s\n", "", record);
			}
			if (metrics && mode == AFFINITY) {
				FILE *m = strcmp(metrics, "-") ? fopen(metrics, "w") : stdout;
				int err = m ? sp_mempool_metrics(pool, SP_METRICS_PROMETHEUS,
				                                 to_file, m)
				            : -errno;
				if (m && m != stdout && fclose(m) && !err)
					err = -EIO;
				if (err) {
					fprintf(stderr, "host: %s: %s\n", metrics,
					        sp_strerror(err));
					return 1;
				}
				if (m != stdout)
					printf("  %-13s metrics (Prometheus) in %s\n", "", metrics);
			}
			for (int f = 0; f < NFUNCS; f++)
				sp_image_release(img[f]);
			sp_mempool_destroy(pool);
		}
		qsort(lat, nreq, sizeof(double), cmp_d);
		rps[mode] = (double)nreq / secs;
		p50[mode] = lat[nreq / 2];
		printf("  %-13s %10.0f req/s   p50 %8.1f us   p99 %8.1f us\n", name[mode],
		       rps[mode], lat[nreq / 2] / 1e3, lat[(size_t)((double)nreq * 0.99)] / 1e3);
	}
	printf("host: affinity serves %.1fx the requests/s of no affinity, %.1fx of "
	       "malloc+memcpy and %.1fx of mmap+memcpy (p50 %.1fx, %.1fx, %.1fx faster)\n",
	       rps[AFFINITY] / rps[NO_AFFINITY], rps[AFFINITY] / rps[MALLOC],
	       rps[AFFINITY] / rps[MMAP], p50[NO_AFFINITY] / p50[AFFINITY],
	       p50[MALLOC] / p50[AFFINITY], p50[MMAP] / p50[AFFINITY]);
	free(lat);
	free(req);
	for (int f = 0; f < NFUNCS; f++)
		free(bytes[f]);
	return 0;
}
