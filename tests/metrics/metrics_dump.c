/* SPDX-License-Identifier: MIT */
/*
 * metrics_dump.c: writes metrics for tests/metrics/check_tools.sh to check
 * with promtool and jq: OUT/index.{prom,json} for a one-shard index whose
 * every counter is non-zero, OUT/sharded.{prom,json} for a 4-shard one, and
 * OUT/exercise.{prom,json} from the emitter itself (src/metrics.h): constant
 * labels, labelled series, numeric labels, an info family, a section, and
 * text that needs escaping or is not UTF-8; OUT/mempool.{prom,json} and
 * OUT/mempool_images.{prom,json} for a memory pool with traffic (the
 * second with per-image series).
 *
 *   metrics_dump OUT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "slotpool.h"

static int file_write(void *ctx, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -EIO;
}

static int dump(const char *dir, const char *name, int (*fn)(int, FILE *), int format)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	int rc = fn(format, f);
	if (fclose(f) || rc) {
		fprintf(stderr, "%s: %s\n", path, sp_strerror(rc ? rc : -EIO));
		return 1;
	}
	return 0;
}

static int busy_index(sp_index_config cfg, sp_index **out)
{
	sp_index *ix;
	int rc = sp_index_create(&cfg, &ix);
	if (rc)
		return rc;
	uint32_t s[8], t;
	for (uint32_t i = 0; i < 8; i++)
		if ((rc = sp_index_alloc(ix, i % 3, &s[i])))
			return rc;
	for (uint32_t i = 0; i < 6; i++)
		if ((rc = sp_index_free(ix, s[i], 4096u * i)))
			return rc;
	if ((rc = sp_index_alloc(ix, 1, &t)) || (rc = sp_index_alloc(ix, 99, &t)) ||
	    (rc = sp_index_alloc_affine_and_clear(ix, 2, &t)))
		return rc;
	while (sp_index_alloc_nokey(ix, &t) == 0)
		;
	sp_index_alloc_affine_and_clear(ix, 12345, &t); /* a miss */
	*out = ix;
	return 0;
}

static int index_one(int format, FILE *f)
{
	sp_index *ix;
	int rc = busy_index(
		(sp_index_config){.capacity = 12, .max_unused_warm_slots = 4, .shards = 1}, &ix);
	if (!rc)
		rc = sp_index_metrics(ix, format, file_write, f);
	sp_index_destroy(ix);
	return rc;
}

static int index_sharded(int format, FILE *f)
{
	sp_index *ix;
	int rc = busy_index(
		(sp_index_config){.capacity = 1000, .max_unused_warm_slots = 100, .shards = 4},
		&ix);
	if (!rc)
		rc = sp_index_metrics(ix, format, file_write, f);
	sp_index_destroy(ix);
	return rc;
}

static int exercise(int format, FILE *f)
{
	static const struct sp__metric warm = {
		"slotpool_test_image_warm_slots", "image_warm_slots",
		"Warm slots per image; help with \"quotes\", a \\ and a\nnewline.",
		SP__METRIC_GAUGE};
	static const struct sp__metric hits = {"slotpool_test_image_hits_total", "image_hits",
	                                       "Hits per image.", SP__METRIC_COUNTER};
	static const struct sp__metric info = {"slotpool_test_image_info", "image_info",
	                                       "Facts about each image.", SP__METRIC_INFO};
	static const struct sp__metric bytes = {"slotpool_test_mapped_bytes", "mapped_bytes",
	                                        "Bytes mapped.", SP__METRIC_GAUGE};
	const struct sp__label konst[] = {{"pool", "main \"A\"", 0}, {"node", NULL, 7}};
	const char *names[] = {"plain", "back\\slash \"quote\"\nnew line", "caf\xc3\xa9",
	                       "bad \xff\xc0\x80 utf8 \xed\xa0\x80", "tab\tand\x01"};
	struct sp__metrics m;
	int rc = sp__metrics_begin(&m, format, file_write, f, konst, 2);
	if (rc)
		return rc;
	sp__metrics_build_info(&m);
	sp__metrics_family(&m, &info);
	for (uint64_t i = 0; i < 5; i++) {
		const struct sp__label l[] = {{"image", NULL, 40 + i}, {"name", names[i], 0}};
		sp__metrics_sample(&m, l, 2, 1);
	}
	sp__metrics_family_end(&m);
	sp__metrics_family(&m, &warm);
	for (uint64_t i = 0; i < 5; i++)
		sp__metrics_sample(&m, &(struct sp__label){"image", NULL, 40 + i}, 1, i * 3);
	sp__metrics_family_end(&m);
	sp__metrics_family(&m, &hits);
	for (uint64_t i = 0; i < 5; i++)
		sp__metrics_sample(&m, &(struct sp__label){"image", NULL, 40 + i}, 1,
		                   i ? UINT64_MAX / i : 0);
	sp__metrics_family_end(&m);
	sp__metrics_section(&m, "memory");
	sp__metrics_value(&m, &bytes, UINT64_C(1) << 40);
	sp__metrics_section(&m, "index");
	sp_index *ix;
	rc = busy_index((sp_index_config){.capacity = 12, .shards = 1}, &ix);
	if (!rc) {
		rc = sp__index_metrics_emit(ix, &m);
		sp_index_destroy(ix);
	}
	sp__metrics_section_end(&m);
	sp__metrics_section_end(&m);
	int end = sp__metrics_end(&m);
	return rc ? rc : end;
}

/* A memory pool with traffic: images, hits, remaps, a wait that timed
 * out, a trim; with per-image series (more images than the series show,
 * so that "other" appears) when `per_image`. */
static int pool(int format, FILE *f, int per_image)
{
	sp_mempool_config cfg = {.slots = 40, .slot_bytes = 4 * 4096, .guard_bytes = 4096};
	sp_mempool *p;
	int rc = sp_mempool_create(&cfg, &p);
	if (rc)
		return rc;
	enum { NIMG = SP_MEMPOOL_METRICS_IMAGES + 3 };
	static sp_image *img[NIMG];
	static unsigned char bytes[4096];
	memset(bytes, 0x42, sizeof(bytes));
	sp_mem_slot s[40];
	for (int k = 0; !rc && k < NIMG; k++)
		rc = sp_image_create(p, bytes, 100 + (size_t)k, 0, &img[k]);
	for (int k = 0; !rc && k < 40; k++) {
		rc = sp_mempool_alloc(p, img[k % NIMG], 4 * 4096, &s[k]);
		if (!rc)
			memset(s[k].base, k, 4096);
	}
	for (int k = 0; !rc && k < 40; k += 2)
		rc = sp_mempool_free(p, s[k].base);
	for (int k = 0; !rc && k < 40; k += 2) {
		rc = sp_mempool_alloc(p, img[k % NIMG], 4 * 4096, &s[k]);
		if (!rc)
			rc = sp_mempool_free(p, s[k].base);
	}
	if (!rc)
		rc = sp_mempool_trim(p, 4096);
	if (!rc)
		rc = sp_mempool_metrics(p, format | (per_image ? SP_METRICS_PER_IMAGE : 0),
		                        file_write, f);
	for (int k = 1; k < 40; k += 2)
		(void)sp_mempool_free(p, s[k].base);
	for (int k = 0; k < NIMG; k++)
		(void)sp_image_release(img[k]);
	sp_mempool_destroy(p);
	return rc;
}

static int pool_plain(int format, FILE *f)
{
	return pool(format, f, 0);
}

static int pool_images(int format, FILE *f)
{
	return pool(format, f, 1);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: metrics_dump OUTDIR\n");
		return 2;
	}
	int bad = 0;
	for (int fmt = SP_METRICS_PROMETHEUS; fmt <= SP_METRICS_JSON; fmt++) {
		const char *ext = fmt == SP_METRICS_JSON ? "json" : "prom";
		char name[64];
		snprintf(name, sizeof(name), "index.%s", ext);
		bad |= dump(argv[1], name, index_one, fmt);
		snprintf(name, sizeof(name), "sharded.%s", ext);
		bad |= dump(argv[1], name, index_sharded, fmt);
		snprintf(name, sizeof(name), "exercise.%s", ext);
		bad |= dump(argv[1], name, exercise, fmt);
		snprintf(name, sizeof(name), "mempool.%s", ext);
		bad |= dump(argv[1], name, pool_plain, fmt);
		snprintf(name, sizeof(name), "mempool_images.%s", ext);
		bad |= dump(argv[1], name, pool_images, fmt);
	}
	return bad;
}
