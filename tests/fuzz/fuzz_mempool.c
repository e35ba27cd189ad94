/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mempool.c: fuzz target for the memory pool (mempool.h).
 *
 * The input is a program: a 4-byte header picks a small pool (1-4 slots of
 * 1-4 pages, guards, keep_resident_bytes, decommit batch, warm budget, and
 * the SP_MEMPOOL_NO_* flags, so every kernel fallback path is fuzzed too;
 * SP_FUZZ_VALGRIND in the environment keeps to the paths valgrind models),
 * then each operation is an opcode byte and its arguments: image create,
 * retain, release; alloc (with or without an image, valid and invalid
 * sizes); write; grow; free (valid, double, bogus base); flush; trim; fork
 * (the child runs the next operations on its copy, the parent then runs
 * them too). The header also picks the reset strategy (adaptive, decommit,
 * restore) and sometimes a resident budget of one page.
 *
 * A byte model keeps what every slot in use must hold: the image's bytes at
 * its offset and zeros elsewhere at alloc, then the fuzzer's writes, zeros
 * after a grow. A slot's whole accessible range is compared with it after
 * every operation on that slot and before it is freed, so a reset that
 * leaves one byte of a previous user behind is a finding. Every error code
 * is predicted, and sp_mempool_check and the stats must agree after each
 * step.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "slotpool.h"

#define MAX_SLOTS 4
#define MAX_IMAGES 4

typedef struct {
	sp_image *h;   /* NULL once its last reference is gone */
	uint32_t refs; /* references the fuzzer holds */
	uint32_t live; /* slots in use allocated with it */
	uint64_t off;
	size_t len;
	uint8_t seed; /* the bytes are image_byte(seed, i): no copy kept */
} fz_img;

typedef struct {
	sp_mem_slot s;
	int img;       /* index into imgs, or -1 */
	uint8_t *want; /* slot_bytes long: expected contents of [0, accessible) */
} fz_live;

typedef struct {
	fz_in in;
	sp_mempool *pool;
	sp_mempool_config cfg;
	uint64_t pg;
	fz_img imgs[MAX_IMAGES];
	uint32_t nimgs;
	fz_live live[MAX_SLOTS];
	uint32_t nlive;
	void *freed_base; /* a slot base known not to be in use, or NULL */
	int forked;       /* in a forked child (or under valgrind): no forks */
} fz_pool;

/* Byte i of an image: a pattern from the input, never all zero. */
static uint8_t image_byte(uint8_t seed, size_t i)
{
	return (uint8_t)(seed + i * 7 + 1);
}

static void check_contents(const fz_pool *f, const fz_live *l)
{
	const uint8_t *got = l->s.base;
	if (memcmp(got, l->want, l->s.accessible) == 0)
		return;
	for (uint64_t i = 0; i < l->s.accessible; i++)
		FZ_CHECK(got[i] == l->want[i], "slot %u byte %llu is %#x, model %#x (image %d)",
		         l->s.index, (unsigned long long)i, got[i], l->want[i], l->img);
	(void)f;
}

/* The invariants, and the exhaustion report against the model's live counts
 * (slots whose free waits in a decommit batch still count as live there).
 * The stats read /proc/self/maps, so they are compared every 8th step. */
static void check_pool(fz_pool *f, int with_stats)
{
	FZ_CHECK(sp_mempool_check(f->pool) == 0, "sp_mempool_check");
	sp_mempool_holder h[MAX_IMAGES + 1];
	uint32_t count = UINT32_MAX, total = 0;
	FZ_CHECK(sp_mempool_report(f->pool, h, MAX_IMAGES + 1, &count) == 0, "report");
	FZ_CHECK(count <= MAX_IMAGES + 1, "report count %u", count);
	uint32_t nokey = f->nlive;
	for (uint32_t i = 0; i < f->nimgs; i++)
		nokey -= f->imgs[i].live;
	for (uint32_t i = 0; i < count; i++) {
		total += h[i].live;
		if (f->cfg.decommit_batch > 1)
			continue;
		uint32_t want = nokey;
		for (uint32_t j = 0; j < f->nimgs && h[i].image_id; j++)
			if (f->imgs[j].h && sp_image_id(f->imgs[j].h) == h[i].image_id)
				want = f->imgs[j].live;
		FZ_CHECK(h[i].live == want, "report: image %llu live %u, model %u",
		         (unsigned long long)h[i].image_id, h[i].live, want);
	}
	FZ_CHECK(total >= f->nlive && (f->cfg.decommit_batch > 1 || total == f->nlive),
	         "report total %u, model %u", total, f->nlive);
	if (!with_stats)
		return;
	sp_mempool_stats st = {.size = sizeof(st)};
	FZ_CHECK(sp_mempool_get_stats(f->pool, &st) == 0, "stats");
	FZ_CHECK(st.slots == f->cfg.slots, "slots %u", st.slots);
	FZ_CHECK(st.in_use - st.pending == f->nlive, "in_use %u pending %u, model %u", st.in_use,
	         st.pending, f->nlive);
	FZ_CHECK(st.in_use + st.warm + st.cold == st.slots, "states %u+%u+%u != %u", st.in_use,
	         st.warm, st.cold, st.slots);
	uint32_t alive = 0;
	for (uint32_t i = 0; i < f->nimgs; i++)
		alive += f->imgs[i].h != NULL;
	FZ_CHECK(st.images == alive, "images %u, model %u", st.images, alive);
	FZ_CHECK(st.reset_path == SP_MEMPOOL_RESET_PATH_DECOMMIT ||
	                 st.resident_warm_bytes <= st.max_resident_bytes,
	         "warm slots keep %llu bytes, budget %llu",
	         (unsigned long long)st.resident_warm_bytes,
	         (unsigned long long)st.max_resident_bytes);
}

static uint64_t read_accessible(fz_pool *f, uint8_t b)
{
	uint64_t pages = f->cfg.slot_bytes / f->pg;
	uint64_t v = (b % (pages + 2)) * f->pg; /* 0 and slot_bytes + pg: invalid */
	if (b >= 240)
		v += 1 + b % 16; /* not a page multiple: invalid */
	return v;
}

static void op_image_create(fz_pool *f)
{
	if (f->nimgs == MAX_IMAGES)
		return;
	uint8_t b = fz_u8(&f->in);
	uint64_t off = (b % 3) * f->pg;
	size_t len = (size_t)(fz_u8(&f->in) % 4) * (size_t)(f->pg / 2) + fz_u8(&f->in);
	if (b & 0x80)
		off += 8; /* not page aligned: invalid */
	uint8_t *bytes = malloc(len + 1);
	FZ_CHECK(bytes != NULL, "malloc");
	uint8_t seed = fz_u8(&f->in);
	for (size_t i = 0; i < len; i++)
		bytes[i] = image_byte(seed, i);
	int want = (len == 0 || off % f->pg || off + len > f->cfg.slot_bytes) ? -EINVAL : 0;
	sp_image *img = NULL;
	int rc = sp_image_create(f->pool, bytes, len, off, &img);
	FZ_CHECK(rc == want, "image_create(len %zu, off %llu) = %d, model %d", len,
	         (unsigned long long)off, rc, want);
	free(bytes);
	if (rc)
		return;
	FZ_CHECK(sp_image_id(img) > 0, "image id 0");
	for (uint32_t i = 0; i < f->nimgs; i++)
		FZ_CHECK(!f->imgs[i].h || sp_image_id(f->imgs[i].h) != sp_image_id(img),
		         "id reused");
	f->imgs[f->nimgs++] = (fz_img){.h = img, .refs = 1, .off = off, .len = len, .seed = seed};
}

static void op_image_ref(fz_pool *f, int release)
{
	if (!f->nimgs)
		return;
	fz_img *im = &f->imgs[fz_u8(&f->in) % f->nimgs];
	if (!im->h)
		return;
	if (!release) {
		FZ_CHECK(sp_image_retain(im->h) == 0, "retain");
		im->refs++;
		return;
	}
	int want = im->refs == 1 && im->live ? -EBUSY : 0;
	int rc = sp_image_release(im->h);
	FZ_CHECK(rc == want, "release (refs %u, live %u) = %d, model %d", im->refs, im->live, rc,
	         want);
	if (rc == 0 && --im->refs == 0)
		im->h = NULL;
}

static void op_alloc(fz_pool *f)
{
	uint8_t b = fz_u8(&f->in);
	uint64_t acc = read_accessible(f, fz_u8(&f->in));
	int ii = -1;
	if (f->nimgs && (b & 1) && f->imgs[(b >> 1) % f->nimgs].h)
		ii = (int)((b >> 1) % f->nimgs);
	fz_img *im = ii >= 0 ? &f->imgs[ii] : NULL;
	int want = 0;
	if (acc == 0 || acc % f->pg || acc > f->cfg.slot_bytes || (im && im->off + im->len > acc))
		want = -EINVAL;
	else if (f->nlive == f->cfg.slots)
		want = -ENOSPC;
	sp_mem_slot s;
	memset(&s, 0xa5, sizeof s);
	sp_mem_slot pristine = s;
	int rc = sp_mempool_alloc(f->pool, im ? im->h : NULL, acc, &s);
	FZ_CHECK(rc == want, "alloc(image %d, %llu) = %d, model %d", ii, (unsigned long long)acc,
	         rc, want);
	if (rc) {
		FZ_CHECK(memcmp(&s, &pristine, sizeof s) == 0, "out written on error");
		return;
	}
	FZ_CHECK(s.accessible == acc && s.slot_bytes == f->cfg.slot_bytes &&
	                 s.index < f->cfg.slots && (uintptr_t)s.base % f->pg == 0,
	         "slot description");
	for (uint32_t i = 0; i < f->nlive; i++)
		FZ_CHECK(f->live[i].s.index != s.index && f->live[i].s.base != s.base,
		         "slot %u handed out twice", s.index);
	fz_live *l = &f->live[f->nlive++];
	l->s = s;
	l->img = ii;
	l->want = calloc(f->cfg.slot_bytes, 1);
	FZ_CHECK(l->want != NULL, "calloc");
	if (im) {
		im->live++;
		for (size_t i = 0; i < im->len; i++)
			l->want[im->off + i] = image_byte(im->seed, i);
	}
	if (f->freed_base == s.base)
		f->freed_base = NULL;
	check_contents(f, l);
}

static void op_write(fz_pool *f)
{
	if (!f->nlive)
		return;
	fz_live *l = &f->live[fz_u8(&f->in) % f->nlive];
	uint64_t at = (uint64_t)fz_u8(&f->in) * 61 % l->s.accessible;
	uint64_t len = 1 + (uint64_t)fz_u8(&f->in) * 97 % (l->s.accessible - at);
	uint8_t v = fz_u8(&f->in);
	memset((uint8_t *)l->s.base + at, v, len);
	memset(l->want + at, v, len);
	check_contents(f, l);
}

static void op_grow(fz_pool *f)
{
	uint8_t b = fz_u8(&f->in);
	uint64_t acc = read_accessible(f, fz_u8(&f->in));
	if (b % 8 == 0 && f->freed_base) {
		FZ_CHECK(sp_mempool_grow(f->pool, f->freed_base, f->cfg.slot_bytes) == -EINVAL,
		         "grow of a free slot");
		return;
	}
	if (!f->nlive || b % 8 == 1) {
		void *bogus = f->nlive ? (uint8_t *)f->live[0].s.base + f->pg : (void *)&f->pg;
		FZ_CHECK(sp_mempool_grow(f->pool, bogus, f->pg) == -EFAULT, "grow of a bogus base");
		return;
	}
	fz_live *l = &f->live[b % f->nlive];
	int want = (acc % f->pg || acc > f->cfg.slot_bytes) ? -EINVAL : 0;
	int rc = sp_mempool_grow(f->pool, l->s.base, acc);
	FZ_CHECK(rc == want, "grow(%llu -> %llu) = %d, model %d",
	         (unsigned long long)l->s.accessible, (unsigned long long)acc, rc, want);
	if (rc == 0 && acc > l->s.accessible)
		l->s.accessible = acc; /* want[] is zero past the old range already */
	check_contents(f, l);
}

static void free_live(fz_pool *f, uint32_t i)
{
	fz_live *l = &f->live[i];
	check_contents(f, l);
	FZ_CHECK(sp_mempool_free(f->pool, l->s.base) == 0, "free slot %u", l->s.index);
	if (l->img >= 0)
		f->imgs[l->img].live--;
	f->freed_base = l->s.base;
	free(l->want);
	f->live[i] = f->live[--f->nlive];
}

static void op_free(fz_pool *f)
{
	uint8_t b = fz_u8(&f->in);
	if (b % 8 == 0 && f->freed_base) {
		FZ_CHECK(sp_mempool_free(f->pool, f->freed_base) == -EINVAL, "double free");
		return;
	}
	if (!f->nlive || b % 8 == 1) {
		void *bogus = f->nlive ? (uint8_t *)f->live[0].s.base + 1 : (void *)&f->pg;
		FZ_CHECK(sp_mempool_free(f->pool, bogus) == -EFAULT, "free of a bogus base");
		return;
	}
	free_live(f, b % f->nlive);
}

static void run_op(fz_pool *f, unsigned step);

/* fork(): the child runs the next few operations on its copy of the pool
 * and of the model (every byte checked as always), frees what it holds and
 * exits; then the parent, whose slots must not have changed, runs the same
 * operations itself. */
static void op_fork(fz_pool *f, unsigned step)
{
	fflush(NULL);
	pid_t pid = fork();
	FZ_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		/* Forks within forks would repeat the rest of the input once
		 * per level: the child runs a fixed number of operations. */
		f->forked = 1;
		for (unsigned k = 0; k < 8 && fz_more(&f->in); k++)
			run_op(f, step + 1 + k);
		while (f->nlive)
			free_live(f, f->nlive - 1);
		FZ_CHECK(sp_mempool_flush(f->pool) == 0, "child flush");
		check_pool(f, 1);
		_exit(0);
	}
	int st = 0;
	pid_t r;
	do /* libFuzzer's timer may interrupt the wait */
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	FZ_CHECK(r == pid, "waitpid: %d", errno);
	FZ_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the forked child failed (status %#x)", st);
	for (uint32_t i = 0; i < f->nlive; i++)
		check_contents(f, &f->live[i]);
}

static void run_op(fz_pool *f, unsigned step)
{
	uint8_t op = fz_u8(&f->in);
	switch (op % 10) {
	case 0:
		op_image_create(f);
		break;
	case 1:
		op_image_ref(f, 0);
		break;
	case 2:
		op_image_ref(f, 1);
		break;
	case 3:
	case 4:
		op_alloc(f);
		break;
	case 5:
	case 6:
		op_write(f);
		break;
	case 7:
		op_grow(f);
		break;
	case 8:
		op_free(f);
		break;
	default:
		/* 9, 49, 89...: flush; 19, 59...: fork; 29, 69...: trim all;
		 * 39, 79...: trim to a page. */
		if ((op / 10) % 4 == 1 && !f->forked)
			op_fork(f, step);
		else if ((op / 10) % 4 >= 2)
			FZ_CHECK(sp_mempool_trim(f->pool, (op / 10) % 4 == 2 ? 0 : f->pg) == 0,
			         "trim");
		else
			FZ_CHECK(sp_mempool_flush(f->pool) == 0, "flush");
		break;
	}
	check_pool(f, step % 8 == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_pool f = {.in = {data, size}};
	f.pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint8_t a = fz_u8(&f.in), b = fz_u8(&f.in), c = fz_u8(&f.in), d = fz_u8(&f.in);
	f.cfg.slots = 1 + a % MAX_SLOTS;
	f.cfg.slot_bytes = (1 + (a >> 2) % 4) * f.pg;
	f.cfg.guard_bytes = (b & 1) * f.pg;
	f.cfg.keep_resident_bytes = ((b >> 1) % (f.cfg.slot_bytes / f.pg + 1)) * f.pg;
	f.cfg.decommit_batch = (b >> 4) % (f.cfg.slots + 1);
	f.cfg.max_unused_warm_slots = c % (f.cfg.slots + 2);
	f.cfg.flags = d & 0x1f;
	/* Bits 5-6: the reset strategy (adaptive, decommit, restore; the
	 * fourth value is adaptive too); bit 7: a resident budget of one page,
	 * so that the budget's reclaim runs all the time. */
	static const unsigned strat[4] = {0, SP_MEMPOOL_RESET_DECOMMIT, SP_MEMPOOL_RESET_RESTORE,
	                                  0};
	f.cfg.flags |= strat[(d >> 5) & 3];
	if ((f.cfg.flags & SP_MEMPOOL_RESET_RESTORE) && f.cfg.keep_resident_bytes)
		f.cfg.flags &= ~SP_MEMPOOL_RESET_RESTORE; /* keep implies decommit */
	if (d & 0x80)
		f.cfg.max_resident_bytes = f.pg;
	/* valgrind 3.19 cannot model the PAGEMAP_SCAN ioctl (it takes the
	 * kernel's answer for uninitialised memory) nor process_madvise:
	 * scripts/valgrind.sh sets this to fuzz the paths it can check. */
	if (getenv("SP_FUZZ_VALGRIND")) {
		f.cfg.flags |= SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_UFFD_WP |
		               SP_MEMPOOL_NO_PROCESS_MADVISE;
		/* A forked child exits holding the parent's heap, which
		 * memcheck would report as leaked. */
		f.forked = 1;
	}
	int rc = sp_mempool_create(&f.cfg, &f.pool);
	FZ_CHECK(rc == 0, "create: %s", sp_strerror(rc));
	check_pool(&f, 1);

	for (unsigned step = 1; fz_more(&f.in); step++)
		run_op(&f, step);
	while (f.nlive)
		free_live(&f, f.nlive - 1);
	for (uint32_t i = 0; i < f.nimgs; i++)
		while (f.imgs[i].h) {
			FZ_CHECK(sp_image_release(f.imgs[i].h) == 0, "final release");
			if (--f.imgs[i].refs == 0)
				f.imgs[i].h = NULL;
		}
	check_pool(&f, 1);
	sp_mempool_destroy(f.pool);
	return 0;
}
