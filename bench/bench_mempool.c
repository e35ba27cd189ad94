/* SPDX-License-Identifier: MIT */
/*
 * bench_mempool.c: the cost of "instantiating" a memory image: take memory
 * holding the image, write W bytes spread over it (W/4 KiB whole pages,
 * evenly spaced), give the memory back. Every figure is a ratio measured
 * in this run, the modes taking turns in rounds so that a noisy machine
 * moves them together.
 *
 *   default   sp_mempool, default config (the adaptive reset), slot warm
 *   decommit  the same with SP_MEMPOOL_RESET_DECOMMIT (written pages
 *             decommitted, faulted back in by the next user)
 *   restore   the same with SP_MEMPOOL_RESET_RESTORE
 *   other     default config, every alloc finds a slot warm for another
 *             image (a remap)
 *   malloc    malloc + memcpy of the image + free              (baseline)
 *   mmap      fresh mmap + memcpy of the image + munmap        (baseline)
 *   floor     resident memory where exactly the written pages are copied
 *             back from the image: no tracking, no system call, the least
 *             any reset can do (the oracle knows what was written)
 *
 * Usage: bench_mempool [--quick]
 *        bench_mempool --threads T [--quick] [--shards S] [--home-affinity]
 *                      [--per-thread-images]
 * The first prints the latency matrix (p50, p99) and the targets; the
 * second, instantiations per second of T threads against one thread on one
 * shared pool (16 slots, 8 images, a Zipf choice), their hit rates, and
 * copying alone (malloc + memcpy) for scale.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "draw.h"
#include "slotpool.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define PG ((size_t)4096)

static unsigned char *bytes; /* the image content, 16 MiB */

typedef struct {
	double p50, p99;
} lat;

static lat summarize(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	lat l = {v[n / 2], v[(size_t)((double)n * 0.99)]};
	return l;
}

/* Write w bytes spread over [p, p+size): whole pages, evenly spaced. */
static void touch(unsigned char *p, size_t size, size_t w, unsigned char v)
{
	size_t pages = size / PG, n = w / PG;
	if (n > pages)
		n = pages;
	for (size_t k = 0; k < n; k++)
		memset(p + (k * pages / n) * PG, v, PG);
}

/* What the oracle restores: exactly the pages touch() wrote. */
static void copy_back(unsigned char *p, const unsigned char *img, size_t size, size_t w)
{
	size_t pages = size / PG, n = w / PG;
	if (n > pages)
		n = pages;
	for (size_t k = 0; k < n; k++) {
		size_t at = (k * pages / n) * PG;
		memcpy(p + at, img + at, PG);
	}
}

/* Anonymous memory of the process (private pages: what restores in place
 * keep), from /proc/self/smaps_rollup. */
static long anon_bytes(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_mempool: %s: %s\n", what, sp_strerror(err));
	exit(1);
}

/* ---- the latency matrix ---------------------------------------------------- */

enum mode { DEFAULT, DECOMMIT, RESTORE, OTHER, MALLOC, MMAP, FLOOR, NMODES };

struct runner {
	enum mode m;
	size_t size, w;
	sp_mempool *pool;
	sp_image *img[2];
	unsigned char *buf; /* floor */
	double *t;
	size_t n;
	unsigned long iter;
};

static void runner_open(struct runner *r)
{
	if (r->m <= OTHER) {
		sp_mempool_config cfg = {
			.slots = r->m == OTHER ? 1 : 4,
			.slot_bytes = r->size,
			.flags = r->m == DECOMMIT  ? SP_MEMPOOL_RESET_DECOMMIT
		                 : r->m == RESTORE ? SP_MEMPOOL_RESET_RESTORE
		                                   : 0,
		};
		int err = sp_mempool_create(&cfg, &r->pool);
		if (!err)
			err = sp_image_create(r->pool, bytes, r->size, 0, &r->img[0]);
		if (!err)
			err = sp_image_create(r->pool, bytes, r->size, 0, &r->img[1]);
		if (err)
			die("pool setup", err);
	} else if (r->m == FLOOR) {
		r->buf = malloc(r->size);
		memcpy(r->buf, bytes, r->size);
	}
}

/* One instantiation; returns its time in ns. */
static double runner_once(struct runner *r)
{
	unsigned char v = (unsigned char)(r->iter++ | 1);
	double t0 = bench_now_ns();
	if (r->m <= OTHER) {
		sp_mem_slot s;
		sp_image *use = r->img[r->m == OTHER ? r->iter % 2 : 0];
		int err = sp_mempool_alloc(r->pool, use, r->size, &s);
		if (err)
			die("alloc", err);
		touch(s.base, r->size, r->w, v);
		err = sp_mempool_free(r->pool, s.base);
		if (err)
			die("free", err);
	} else if (r->m == MMAP) {
		unsigned char *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
		                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("mmap", -ENOMEM);
		memcpy(p, bytes, r->size);
		touch(p, r->size, r->w, v);
		munmap(p, r->size);
	} else if (r->m == MALLOC) {
		unsigned char *p = malloc(r->size);
		if (!p)
			die("malloc", -ENOMEM);
		memcpy(p, bytes, r->size);
		touch(p, r->size, r->w, v);
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	} else {
		touch(r->buf, r->size, r->w, v);
		__asm__ volatile("" : : "r"(r->buf) : "memory");
		copy_back(r->buf, bytes, r->size, r->w);
	}
	return bench_now_ns() - t0;
}

static void runner_close(struct runner *r)
{
	if (r->pool) {
		sp_image_release(r->img[0]);
		sp_image_release(r->img[1]);
		sp_mempool_destroy(r->pool);
	}
	free(r->buf);
}

/* Memory: after a run of mode m alone, the anonymous memory the process
 * gained must be what the pool says warm slots keep (no slot is in use
 * then), and that must be within the budget. Returns the bytes beyond. */
static long memory_check(enum mode m, size_t size, size_t w)
{
	struct runner r = {.m = m, .size = size, .w = w};
	long before = anon_bytes();
	runner_open(&r);
	for (int k = 0; k < 64; k++)
		(void)runner_once(&r);
	long grown = anon_bytes() - before;
	sp_mempool_stats st = {.size = sizeof(st)};
	sp_mempool_get_stats(r.pool, &st);
	long beyond = grown - (long)st.resident_warm_bytes - (long)MIB;
	if (st.resident_warm_bytes > st.max_resident_bytes)
		beyond += (long)(st.resident_warm_bytes - st.max_resident_bytes);
	runner_close(&r);
	return beyond > 0 ? beyond : 0;
}

struct cell {
	size_t size, w;
	lat l[NMODES];
	long unexplained;
};

static void run_cell(struct cell *c, int quick)
{
	size_t reps = c->size >= 16 * MIB ? 60 : c->size >= MIB ? 600 : 3000;
	if (c->w >= MIB)
		reps = c->size >= 16 * MIB ? 40 : 300;
	if (quick)
		reps /= 4;
	enum { ROUNDS = 5 };
	struct runner r[NMODES];
	for (int m = 0; m < NMODES; m++) {
		r[m] = (struct runner){.m = (enum mode)m, .size = c->size, .w = c->w};
		r[m].t = malloc(sizeof(double) * reps);
		runner_open(&r[m]);
		for (size_t k = 0; k < 8; k++) /* warm up: slots warm, pages in */
			(void)runner_once(&r[m]);
	}
	for (int round = 0; round < ROUNDS; round++)
		for (int m = 0; m < NMODES; m++) {
			/* The other modes just evicted this one's caches: the first
			 * runs of a turn are not its steady state. */
			(void)runner_once(&r[m]);
			(void)runner_once(&r[m]);
			for (size_t k = 0; k < reps / ROUNDS; k++)
				r[m].t[r[m].n++] = runner_once(&r[m]);
		}
	for (int m = 0; m < NMODES; m++) {
		c->l[m] = summarize(r[m].t, r[m].n);
		runner_close(&r[m]);
		free(r[m].t);
	}
	c->unexplained =
		memory_check(DEFAULT, c->size, c->w) + memory_check(RESTORE, c->size, c->w);
}

static int matrix(int quick)
{
	bytes = malloc(16 * MIB);
	for (size_t i = 0; i < 16 * MIB; i++)
		bytes[i] = (unsigned char)(i * 131 + 7);
	sp_mempool_config probe = {.slots = 1};
	sp_mempool *p;
	sp_mempool_stats st = {.size = sizeof(st)};
	if (sp_mempool_create(&probe, &p) == 0 && sp_mempool_get_stats(p, &st) == 0) {
		printf("bench_mempool: paths: track %s, decommit %s, guards %s, reset %s\n",
		       sp_mempool_path_name(SP_MEMPOOL_PATH_TRACK, st.track_path),
		       sp_mempool_path_name(SP_MEMPOOL_PATH_DECOMMIT, st.decommit_path),
		       sp_mempool_path_name(SP_MEMPOOL_PATH_GUARD, st.guard_path),
		       sp_mempool_path_name(SP_MEMPOOL_PATH_RESET, st.reset_path));
		sp_mempool_destroy(p);
	}
	printf("p50 (p99) in us per instantiation; ratio = default / the cheaper of malloc and "
	       "decommit (target <= 1.1)\n\n");
	printf("%-6s %-6s %15s %15s %15s %15s %15s %15s %15s %6s %6s\n", "image", "write",
	       "default", "decommit", "restore", "other", "malloc", "mmap", "floor", "ratio",
	       "/floor");
	static const size_t sizes[] = {64 * KIB, MIB, 16 * MIB};
	static const size_t ws[] = {4 * KIB, 64 * KIB, MIB, 16 * MIB};
	struct cell cells[16];
	int ncells = 0, missed = 0;
	double worst = 0;
	for (size_t si = 0; si < 3; si++) {
		for (size_t wi = 0; wi < 4; wi++) {
			if (ws[wi] > sizes[si])
				continue;
			struct cell *c = &cells[ncells++];
			c->size = sizes[si];
			c->w = ws[wi];
			run_cell(c, quick);
			double best = c->l[MALLOC].p50 < c->l[DECOMMIT].p50 ? c->l[MALLOC].p50
			                                                    : c->l[DECOMMIT].p50;
			double ratio = c->l[DEFAULT].p50 / best;
			worst = ratio > worst ? ratio : worst;
			missed += ratio > 1.1;
			char label[2][24];
			snprintf(label[0], sizeof(label[0]), "%zuK", c->size / KIB);
			snprintf(label[1], sizeof(label[1]), "%zuK", c->w / KIB);
			printf("%-6s %-6s", label[0], label[1]);
			for (int m = 0; m < NMODES; m++) {
				char f[32];
				snprintf(f, sizeof(f), "%.2f (%.1f)", c->l[m].p50 / 1e3,
				         c->l[m].p99 / 1e3);
				printf(" %15s", f);
			}
			printf(" %5.2fx %5.1fx%s\n", ratio, c->l[DEFAULT].p50 / c->l[FLOOR].p50,
			       c->unexplained ? "  memory!" : "");
			fflush(stdout);
		}
	}
	const struct cell *c1 = NULL, *c64 = NULL, *c16 = NULL;
	long unexplained = 0;
	for (int k = 0; k < ncells; k++) {
		if (cells[k].size == MIB && cells[k].w == 64 * KIB)
			c1 = &cells[k];
		if (cells[k].size == 64 * KIB && cells[k].w == 4 * KIB)
			c64 = &cells[k];
		if (cells[k].size == 16 * MIB && cells[k].w == 4 * KIB)
			c16 = &cells[k];
		unexplained += cells[k].unexplained;
	}
	printf("\ntarget: every cell within 1.1x of the cheaper of malloc+memcpy and decommit: "
	       "worst %.2fx, %d of %d cells over %s\n",
	       worst, missed, ncells, missed ? "MISSED" : "OK");
	double r1 = c1->l[MMAP].p50 / c1->l[DEFAULT].p50;
	printf("target: warm vs fresh mmap+memcpy, 1 MiB image, 64 KiB written: %.1fx faster "
	       "(want >= 10x) %s\n",
	       r1, r1 >= 10 ? "OK" : "MISSED");
	double r2 = c16->l[DEFAULT].p50 / c64->l[DEFAULT].p50;
	printf("target: 16 MiB vs 64 KiB image, 4 KiB written: %.2fx the cost (want <= 2x) %s\n",
	       r2, r2 <= 2 ? "OK" : "MISSED");
	printf("memory: anonymous memory beyond what warm slots keep (+1 MiB), or kept beyond "
	       "the budget: %ld bytes %s\n",
	       unexplained, unexplained ? "MISSED" : "OK");
	free(bytes);
	return 0;
}

/* ---- threads --------------------------------------------------------------- */

#define NIMG 8
#define MAXIMG 32

struct tpool {
	sp_mempool *pool;
	sp_image *img[MAXIMG];
	unsigned nimg;        /* images each thread chooses from */
	unsigned cum[MAXIMG]; /* Zipf(1): image j with weight 1/(j+1) */
	size_t size, w;
	int per_thread; /* thread t uses images t*NIMG .. t*NIMG+NIMG-1 */
	int copy_only;  /* malloc + memcpy instead of the pool */
	atomic_int go;
	unsigned long ops;
};

struct targ {
	struct tpool *tp;
	int id;
};

static void *tmain(void *arg)
{
	struct targ *a = arg;
	struct tpool *tp = a->tp;
	uint64_t x = (uint64_t)(a->id + 1);
	while (!atomic_load_explicit(&tp->go, memory_order_acquire))
		;
	for (unsigned long k = 0; k < tp->ops; k++) {
		unsigned u = (unsigned)sm_below(&x, tp->cum[tp->nimg - 1]), j = 0;
		while (u >= tp->cum[j])
			j++;
		if (tp->per_thread)
			j += (unsigned)a->id * tp->nimg;
		unsigned char v = (unsigned char)(k | 1);
		if (tp->copy_only) {
			unsigned char *p = malloc(tp->size);
			memcpy(p, bytes, tp->size);
			touch(p, tp->size, tp->w, v);
			__asm__ volatile("" : : "r"(p) : "memory");
			free(p);
			continue;
		}
		sp_mem_slot s;
		int err = sp_mempool_alloc(tp->pool, tp->img[j], tp->size, &s);
		if (err)
			die("alloc", err);
		touch(s.base, tp->size, tp->w, v);
		if ((err = sp_mempool_free(tp->pool, s.base)))
			die("free", err);
	}
	return NULL;
}

/* Instantiations per second of t threads; *hit gets the affine hit rate. */
static double trun(struct tpool *tp, int t, double *hit)
{
	sp_mempool_stats a = {.size = sizeof(a)}, b = {.size = sizeof(b)};
	if (tp->pool)
		sp_mempool_get_stats(tp->pool, &a);
	pthread_t th[16];
	struct targ args[16];
	atomic_store(&tp->go, 0);
	for (int k = 0; k < t; k++) {
		args[k] = (struct targ){tp, k};
		pthread_create(&th[k], NULL, tmain, &args[k]);
	}
	double t0 = bench_now_ns();
	atomic_store_explicit(&tp->go, 1, memory_order_release);
	for (int k = 0; k < t; k++)
		pthread_join(th[k], NULL);
	double dt = bench_now_ns() - t0;
	*hit = 0;
	if (tp->pool) {
		sp_mempool_get_stats(tp->pool, &b);
		*hit = (double)(b.affine_hits - a.affine_hits) / (double)(b.allocs - a.allocs);
	}
	return (double)tp->ops * t / (dt / 1e9);
}

#define TRUNS 7

static double median(double *v)
{
	qsort(v, TRUNS, sizeof(*v), bench_cmp_double);
	return v[TRUNS / 2];
}

static void scaling(size_t size, size_t w, int t, int quick, uint32_t shards, uint32_t iflags,
                    int per_thread, unsigned nimg)
{
	struct tpool tp = {.size = size, .w = w, .per_thread = per_thread, .nimg = nimg};
	for (unsigned j = 0, acc = 0; j < nimg; j++)
		tp.cum[j] = acc += 100000 / (j + 1);
	tp.ops = (unsigned long)((size >= MIB ? 20000 : 100000) / (quick ? 4 : 1));
	sp_mempool_config cfg = {
		.slots = 16, .slot_bytes = size, .shards = shards, .index_flags = iflags};
	int err = sp_mempool_create(&cfg, &tp.pool);
	for (int k = 0; !err && k < (per_thread ? 2 : 1) * (int)nimg; k++)
		err = sp_image_create(tp.pool, bytes + (size_t)k * 4096, size, 0, &tp.img[k]);
	if (err)
		die("pool setup", err);
	double h1, ht, one[TRUNS], many[TRUNS], hone[TRUNS], hmany[TRUNS];
	for (int r = 0; r < TRUNS; r++) {
		one[r] = trun(&tp, 1, &h1);
		hone[r] = h1;
		many[r] = trun(&tp, t, &ht);
		hmany[r] = ht;
	}
	struct tpool cp = tp;
	cp.pool = NULL;
	cp.copy_only = 1;
	double c1[TRUNS], ct[TRUNS], dummy;
	for (int r = 0; r < TRUNS; r++) {
		c1[r] = trun(&cp, 1, &dummy);
		ct[r] = trun(&cp, t, &dummy);
	}
	/* Ratios of each pair of runs taken back to back (a noisy machine
	 * moves both together), before the medians sort the arrays. */
	double pr[TRUNS], cr[TRUNS];
	for (int r = 0; r < TRUNS; r++) {
		pr[r] = many[r] / one[r];
		cr[r] = ct[r] / c1[r];
	}
	double m1 = median(one), mt = median(many), hm1 = median(hone), hmt = median(hmany);
	char idx[32];
	sp_mempool_stats st = {.size = sizeof(st)};
	sp_index_stats unused;
	(void)unused;
	sp_mempool_get_stats(tp.pool, &st);
	if (shards == 0)
		snprintf(idx, sizeof(idx), "default");
	else
		snprintf(idx, sizeof(idx), "%u shard%s%s", shards, shards > 1 ? "s" : "",
		         shards == 1                         ? ""
		         : (iflags & SP_INDEX_HOME_AFFINITY) ? " home"
		                                             : " cross");
	printf("%5zuK %5zuK %-7s %-14s %10.0f %10.0f %6.2fx  hit %.3f / %.3f (%+.1f%%)   "
	       "copy alone %.2fx\n",
	       size / KIB, w / KIB, per_thread ? "own" : "shared", idx, m1, mt, median(pr), hm1,
	       hmt, 100 * (hmt - hm1) / hm1, median(cr));
	fflush(stdout);
	for (int k = 0; k < (per_thread ? 2 : 1) * (int)nimg; k++)
		sp_image_release(tp.img[k]);
	sp_mempool_destroy(tp.pool);
}

static int threads(int t, int quick, int want_shards, uint32_t iflags, int per_thread)
{
	bytes = malloc(16 * MIB + 64 * 4096);
	for (size_t i = 0; i < 16 * MIB + 64 * 4096; i++)
		bytes[i] = (unsigned char)(i * 131 + 7);
	printf("instantiations/s, 1 thread vs %d threads on one pool of 16 slots, images Zipf(1)-"
	       "chosen (medians of %d alternating runs; ratio: median of the pairs)\n",
	       t, TRUNS);
	printf("%6s %6s %-7s %-14s %10s %10s %7s\n", "image", "write", "images", "index",
	       "1 thread", "threads", "ratio");
	static const size_t cells[2][2] = {{MIB, 64 * KIB}, {64 * KIB, 4 * KIB}};
	for (int c = 0; c < 2; c++) {
		if (want_shards >= 0) {
			scaling(cells[c][0], cells[c][1], t, quick, (uint32_t)want_shards, iflags,
			        per_thread, NIMG);
			continue;
		}
		/* The default; one shard; one shard per thread, the two index modes. */
		scaling(cells[c][0], cells[c][1], t, quick, 0, 0, per_thread, NIMG);
		scaling(cells[c][0], cells[c][1], t, quick, 1, 0, per_thread, NIMG);
		scaling(cells[c][0], cells[c][1], t, quick, (uint32_t)t, 0, per_thread, NIMG);
		scaling(cells[c][0], cells[c][1], t, quick, (uint32_t)t, SP_INDEX_HOME_AFFINITY,
		        per_thread, NIMG);
	}
	if (want_shards < 0 && !per_thread) {
		/* More images than a shard holds warm: home affinity misses where
		 * crossing shards hits, and a miss costs a remap. */
		printf("16 images on the 16 slots:\n");
		scaling(MIB, 64 * KIB, t, quick, (uint32_t)t, 0, 0, 16);
		scaling(MIB, 64 * KIB, t, quick, (uint32_t)t, SP_INDEX_HOME_AFFINITY, 0, 16);
	}
	free(bytes);
	return 0;
}

int main(int argc, char **argv)
{
	int quick = 0, t = 0, shards = -1, per_thread = 0;
	uint32_t iflags = 0;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--quick") || !strcmp(argv[k], "quick"))
			quick = 1;
		else if (!strcmp(argv[k], "--threads") && k + 1 < argc)
			t = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--shards") && k + 1 < argc)
			shards = atoi(argv[++k]);
		else if (!strcmp(argv[k], "--home-affinity"))
			iflags |= SP_INDEX_HOME_AFFINITY;
		else if (!strcmp(argv[k], "--per-thread-images"))
			per_thread = 1;
		else {
			fprintf(stderr, "usage: bench_mempool [--quick] [--threads T [--shards S] "
			                "[--home-affinity] [--per-thread-images]]\n");
			return 2;
		}
	}
	if (t < 0 || t > 16 || (per_thread && t > 2)) {
		fprintf(stderr, "bench_mempool: --threads 1..16 (2 with --per-thread-images)\n");
		return 2;
	}
	return t ? threads(t, quick, shards, iflags, per_thread) : matrix(quick);
}
