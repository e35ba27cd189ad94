/* SPDX-License-Identifier: MIT */
/*
 * bench_record.c: what recording costs (sp_index_record). One thread runs
 * the same stream of alloc(key) / free calls on an index with recording off
 * and with recording on, writing to a callback that copies into a 4 MiB
 * buffer (reused when full), alternating the two in each round; prints the
 * median ns per operation of each, their difference and ratio, and the
 * bytes the recording wrote per operation. With one shard and with two
 * (where a mutex serialises the lines). The process starts a second thread
 * first, so every path is the multi-threaded one.
 *
 *   bench_record [ROUNDS]      (default 7; 2,000,000 operations each)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "draw.h"
#include "slotpool.h"

#define OPS 2000000
#define CAPACITY 1000
#define WARM 100
#define KEYS 1000

struct sink {
	char *buf;
	size_t len, cap;
	unsigned long long total;
};

static int sink_write(void *ctx, const char *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->len + len > s->cap)
		s->len = 0;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->total += len;
	return 0;
}

/* The random draws of the stream, made before timing. */
static uint64_t draws[OPS];

/* One run: ns per operation. */
static double run(uint32_t shards, int record, struct sink *sink)
{
	sp_index_config cfg = {
		.capacity = CAPACITY, .max_unused_warm_slots = WARM, .shards = shards};
	sp_index *ix;
	if (sp_index_create(&cfg, &ix)) {
		fprintf(stderr, "bench_record: sp_index_create failed\n");
		exit(1);
	}
	if (record && sp_index_record(ix, sink_write, sink)) {
		fprintf(stderr, "bench_record: sp_index_record failed\n");
		exit(1);
	}
	static uint32_t live[CAPACITY];
	uint32_t nlive = 0;
	double t0 = bench_now_ns();
	for (size_t i = 0; i < OPS; i++) {
		uint64_t x = draws[i];
		if (nlive && ((x & 1) || nlive == CAPACITY)) {
			uint32_t j = (uint32_t)((x >> 8) % nlive);
			sp_index_free(ix, live[j], 0);
			live[j] = live[--nlive];
		} else {
			/* Skewed keys: the square of a uniform draw. */
			uint64_t u = (x >> 20) % KEYS;
			if (sp_index_alloc(ix, u * u / KEYS, &live[nlive]) == 0)
				nlive++;
		}
	}
	double ns = (bench_now_ns() - t0) / OPS;
	if (record && sp_index_record(ix, NULL, NULL)) {
		fprintf(stderr, "bench_record: recording failed\n");
		exit(1);
	}
	sp_index_destroy(ix);
	return ns;
}

static void *idle(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 7;
	if (rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: bench_record [ROUNDS]\n");
		return 2;
	}
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	pthread_join(t, NULL);
	uint64_t seed = 7;
	for (size_t i = 0; i < OPS; i++)
		draws[i] = sm_next(&seed);
	struct sink sink = {.cap = 4u << 20};
	sink.buf = malloc(sink.cap);
	double *off = calloc((size_t)rounds, sizeof(double));
	double *on = calloc((size_t)rounds, sizeof(double));
	if (!sink.buf || !off || !on)
		return 1;
	printf("recording off vs on: %d operations (alloc(key)/free), capacity %d, warm %d, "
	       "%d keys; median of %d alternating rounds\n",
	       OPS, CAPACITY, WARM, KEYS, rounds);
	printf("| shards | off ns/op | on ns/op | on - off | on/off | bytes/op |\n");
	printf("|-------:|----------:|---------:|---------:|-------:|---------:|\n");
	for (uint32_t shards = 1; shards <= 2; shards++) {
		run(shards, 0, &sink); /* warm-up */
		sink.total = 0;
		for (int r = 0; r < rounds; r++) {
			off[r] = run(shards, 0, &sink);
			on[r] = run(shards, 1, &sink);
		}
		qsort(off, (size_t)rounds, sizeof(double), bench_cmp_double);
		qsort(on, (size_t)rounds, sizeof(double), bench_cmp_double);
		double a = off[rounds / 2], b = on[rounds / 2];
		printf("| %6u | %9.2f | %8.2f | %8.2f | %6.2f | %8.2f |\n", shards, a, b, b - a,
		       b / a, (double)sink.total / rounds / OPS);
	}
	free(sink.buf);
	free(off);
	free(on);
	return 0;
}
