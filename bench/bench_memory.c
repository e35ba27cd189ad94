/* SPDX-License-Identifier: MIT */
/*
 * bench_memory.c: bytes per slot of the index allocator, from its own
 * accounting and from the process's resident set, empty and with every slot
 * warm under a distinct key (the worst case for the key table).
 *
 *   bench_memory [CAPACITY [SHARDS]]     (default 1000000 slots, 1 shard;
 *                                         SHARDS 0 = automatic)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "slotpool.h"

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	uint32_t cap = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
	uint32_t shards = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1;
	long rss0 = rss_bytes();
	sp_index_config cfg = {.capacity = cap, .max_unused_warm_slots = cap, .shards = shards};
	sp_index *ix;
	int err = sp_index_create(&cfg, &ix);
	if (err) {
		fprintf(stderr, "sp_index_create: %s\n", sp_strerror(err));
		return 1;
	}
	sp_index_stats st = {.size = sizeof(st)};
	sp_index_get_stats(ix, &st);
	long rss_empty = rss_bytes() - rss0;
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t s;
		/* Spread keys over the whole uint64_t range. */
		if (sp_index_alloc(ix, (uint64_t)i * 0x9e3779b97f4a7c15ull, &s) != 0)
			return 1;
	}
	for (uint32_t i = 0; i < cap; i++)
		if (sp_index_free(ix, i, 0) != 0)
			return 1;
	long rss_full = rss_bytes() - rss0;
	sp_index_get_stats(ix, &st);
	if (st.unused_warm != cap || (st.shards == 1 && st.keys_with_warm != cap)) {
		fprintf(stderr, "expected %u keys and warm slots\n", cap);
		return 1;
	}
	double c = cap ? (double)cap : 1.0;
	printf("capacity %u, %u shard%s, every slot warm under a distinct key:\n", cap, st.shards,
	       st.shards == 1 ? "" : "s");
	printf("  slot state (accounting)   %6.2f bytes/slot  (limit 24)\n",
	       (double)st.slot_state_bytes / c);
	printf("  total (accounting)        %6.2f bytes/slot  (limit 48)\n",
	       (double)st.total_bytes / c);
	printf("  RSS growth, empty index   %6.2f bytes/slot\n", (double)rss_empty / c);
	printf("  RSS growth, all warm      %6.2f bytes/slot  (limit 48)\n", (double)rss_full / c);
	sp_index_destroy(ix);
	return 0;
}
