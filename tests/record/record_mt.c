/* SPDX-License-Identifier: MIT */
/*
 * record_mt.c: records the threaded workload of workload.h on a one-shard
 * index for tests/record/replay_check.sh, which replays the recording with
 * slotpool-sim and with the seed's replayer:
 *
 *   record_mt OUT CAPACITY WARM THREADS OPS_PER_THREAD WARMUP
 *
 * writes OUT/rec.trace (the recording) and OUT/served.txt (per handle, the
 * slot the index served or "-", in the format of `slotpool-sim replay
 * --slots`), after checking them against a replay in the library. WARMUP
 * calls run before the recording starts, so that it opens on a busy index.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "workload.h"

static int write_file(const char *dir, const char *name, const char *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: record_mt OUT CAPACITY WARM THREADS OPS WARMUP\n");
		return 2;
	}
	sp_index_config cfg = {.capacity = (uint32_t)strtoul(argv[2], NULL, 10),
	                       .max_unused_warm_slots = (uint32_t)strtoul(argv[3], NULL, 10),
	                       .shards = 1};
	unsigned nth = (unsigned)strtoul(argv[4], NULL, 10);
	unsigned ops = (unsigned)strtoul(argv[5], NULL, 10);
	unsigned warmup = (unsigned)strtoul(argv[6], NULL, 10);
	uint32_t max_live = cfg.capacity * 3 / (nth * 2) + 1; /* together: 1.5x capacity */
	sp_index *ix;
	if (sp_index_create(&cfg, &ix))
		return 1;
	struct wl_thread pre = {.ix = ix, .ops = warmup, .max_live = max_live};
	pre.log = calloc((size_t)warmup * 2 + 1, sizeof(struct wl_op));
	pre.live = calloc(max_live + 1, sizeof(uint32_t));
	wl_run(&pre);
	sp_index_stats st = {.size = sizeof(st)};
	sp_index_get_stats(ix, &st);
	size_t npre = cfg.capacity - st.unused_cold, nprefree = st.unused_warm;

	struct wl_buf rec = {0};
	int rc = sp_index_record(ix, wl_write, &rec);
	for (uint32_t i = 0; i < pre.nlive && !rc; i += 2)
		rc = sp_index_free(ix, pre.live[i], 0);
	struct wl_thread *w = wl_start_and_join(ix, nth, ops, max_live);
	if (!rc)
		rc = sp_index_record(ix, NULL, NULL);
	unsigned errors = pre.errors;
	for (unsigned t = 0; t < nth; t++)
		errors += w[t].errors;
	if (rc || errors) {
		fprintf(stderr, "record_mt: %s, %u unexpected return codes\n", sp_strerror(rc),
		        errors);
		return 1;
	}

	struct trace tr;
	char why[256] = "";
	if (trace_parse(rec.buf, rec.len, "recording", &tr, why, sizeof(why))) {
		fprintf(stderr, "record_mt: %s\n", why);
		return 1;
	}
	uint32_t *served = calloc(tr.nhandles + 1, sizeof(uint32_t));
	uint32_t *got = calloc(tr.nhandles + 1, sizeof(uint32_t));
	if (wl_served(&tr, npre, nprefree, w, nth, served, why, sizeof(why))) {
		fprintf(stderr, "record_mt: %s\n", why);
		return 1;
	}
	sp_index *re = wl_replay(&tr, &cfg, got);
	size_t same = 0, failed = 0;
	for (size_t h = 0; h < tr.nhandles; h++) {
		same += got[h] == served[h];
		failed += served[h] == WL_NIL;
	}
	if (!re || same != tr.nhandles || wl_same_state(ix, re, cfg.capacity, why, sizeof(why))) {
		fprintf(stderr, "record_mt: in-library replay differs (%zu of %zu handles) %s\n",
		        tr.nhandles - same, tr.nhandles, why);
		return 1;
	}
	char *out = malloc(tr.nhandles * 12 + 1);
	size_t len = 0;
	for (size_t h = 0; h < tr.nhandles; h++)
		len += (size_t)(served[h] == WL_NIL ? sprintf(out + len, "-\n")
		                                    : sprintf(out + len, "%u\n", served[h]));
	if (write_file(argv[1], "rec.trace", rec.buf, rec.len) ||
	    write_file(argv[1], "served.txt", out, len))
		return 1;
	printf("%u threads, capacity %u, warm %u: %zu lines, %zu handles (%zu of the state at "
	       "the start, %zu failed), the library's replay identical\n",
	       nth, cfg.capacity, cfg.max_unused_warm_slots, tr.nops, tr.nhandles, npre, failed);
	sp_index_destroy(re);
	sp_index_destroy(ix);
	trace_free(&tr);
	wl_free(w, nth);
	free(pre.log);
	free(pre.live);
	free(served);
	free(got);
	free(out);
	free(rec.buf);
	return 0;
}
