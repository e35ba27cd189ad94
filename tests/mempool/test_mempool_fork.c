/* SPDX-License-Identifier: MIT */
/*
 * test_mempool_fork.c: both processes of a fork() keep using the pool as
 * their own, and every alloc in either reads exactly the pristine image or
 * zeros.
 *
 * The matrix: every tracking path (written pages, present pages with and
 * without a kept range, high water), with and without a decommit batch,
 * x the parent used the pool before the fork or not
 * x the child allocs, writes and frees; the child reuses a slot the parent
 * left warm; parent and child take turns on the pool, each holding a slot
 * while the other frees and reallocates (the parent's held slot was
 * written before the fork), and then both run freely at once.
 * Every byte of every slot is checked after each alloc, in both processes.
 *
 * A pool keeps kernel handles of the process that opened them (pagemap,
 * userfaultfd, pidfd); a child that used them would scan and write-protect
 * the parent's page tables, leave its own slots dirty and make the parent
 * skip pages its next user then reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mp_util.h"

#define PG 4096u
#define SLOT_BYTES (64 * PG)
#define KEEP (16 * PG)
#define IMG_OFF (2 * PG)
#define IMG_LEN (20 * PG + 100)
#define NSLOTS 4
#define TURNS 12

typedef struct {
	unsigned flags;
	uint64_t keep;
	uint32_t batch;
	uint32_t want_track;
} fk_cfg;

typedef struct {
	sp_mempool *p;
	sp_image *img;
	unsigned char *bytes;
} fk_pool;

/* In a child, a failed check must end the child with a status the parent
 * reports, not unwind into cmocka's parent state. */
static int in_child;
#define FK_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			if (in_child) {                                                            \
				fprintf(stderr, "in the child: " __VA_ARGS__);                     \
				fputc('\n', stderr);                                               \
				_exit(3);                                                          \
			}                                                                          \
			fail_msg(__VA_ARGS__);                                                     \
		}                                                                                  \
	} while (0)

static int setup(fk_pool *f, const fk_cfg *c)
{
	sp_mempool_config cfg = {
		.slots = NSLOTS,
		.slot_bytes = SLOT_BYTES,
		.guard_bytes = PG,
		.keep_resident_bytes = c->keep,
		.decommit_batch = c->batch,
		.flags = c->flags,
	};
	assert_int_equal(sp_mempool_create(&cfg, &f->p), 0);
	sp_mempool_stats st = {.size = sizeof(st)};
	assert_int_equal(sp_mempool_get_stats(f->p, &st), 0);
	if (st.track_path != c->want_track) {
		sp_mempool_destroy(f->p);
		return -1;
	}
	f->bytes = malloc(IMG_LEN);
	for (size_t i = 0; i < IMG_LEN; i++)
		f->bytes[i] = (unsigned char)(i * 13 + 5) | 1;
	assert_int_equal(sp_image_create(f->p, f->bytes, IMG_LEN, IMG_OFF, &f->img), 0);
	return 0;
}

static void teardown(fk_pool *f)
{
	assert_int_equal(sp_mempool_flush(f->p), 0);
	assert_int_equal(sp_image_release(f->img), 0);
	assert_int_equal(sp_mempool_check(f->p), 0);
	sp_mempool_destroy(f->p);
	free(f->bytes);
}

/* Alloc (image or zeros), check every byte, dirty pages spread over the
 * slot: in the kept range, in the image, beyond it. */
static sp_mem_slot take(fk_pool *f, int with_img, unsigned char v, const char *who)
{
	sp_mem_slot s;
	int err = sp_mempool_alloc(f->p, with_img ? f->img : NULL, SLOT_BYTES, &s);
	FK_CHECK(err == 0, "%s: alloc: %s", who, sp_strerror(err));
	long d = mp_first_diff(s.base, SLOT_BYTES, with_img ? f->bytes : NULL, IMG_OFF,
	                       with_img ? IMG_LEN : 0);
	FK_CHECK(d < 0, "%s: slot %u byte %ld is %#x: a previous user's", who, s.index, d,
	         d < 0 ? 0 : ((unsigned char *)s.base)[d]);
	for (size_t pg = 0; pg < SLOT_BYTES / PG; pg += 3)
		memset((char *)s.base + pg * PG, v, PG);
	return s;
}

static void give(fk_pool *f, sp_mem_slot *s, const char *who)
{
	int err = sp_mempool_free(f->p, s->base);
	FK_CHECK(err == 0, "%s: free: %s", who, sp_strerror(err));
}

/* Two pipes for turn taking: each side waits for a byte, works, sends one. */
typedef struct {
	int to_child[2], to_parent[2];
} fk_turns;

static void send_turn(int fd)
{
	char b = 1;
	/* A dead peer: its failure is reported by wait_child. */
	(void)!write(fd, &b, 1);
}

static int wait_turn(int fd)
{
	char b;
	return read(fd, &b, 1) == 1;
}

static void wait_child(pid_t pid)
{
	int st = 0;
	assert_int_equal(mp_waitpid(pid, &st), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child failed (status %#x): see its message above", st);
}

enum scenario { CHILD_CYCLES, CHILD_REUSES_WARM, TAKE_TURNS };

static void run(const fk_cfg *c, int used_before, enum scenario sc)
{
	fk_pool f;
	if (setup(&f, c))
		return; /* the kernel lacks this path's feature */
	sp_mem_slot held = {0};
	int holding = 0;
	if (used_before) {
		/* Warm one slot for the image and one for zeros; track pages. */
		for (int k = 0; k < 3; k++) {
			sp_mem_slot a = take(&f, 1, 0xa0, "parent before fork");
			sp_mem_slot b = take(&f, 0, 0xa1, "parent before fork");
			give(&f, &a, "parent before fork");
			give(&f, &b, "parent before fork");
		}
		/* Held across the fork, written: the parent frees it later. */
		held = take(&f, 1, 0xa2, "parent before fork");
		holding = 1;
	}
	fk_turns t;
	assert_int_equal(pipe(t.to_child), 0);
	assert_int_equal(pipe(t.to_parent), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		in_child = 1;
		/* Only the other side may hold these open: a dead peer is EOF. */
		close(t.to_child[1]);
		close(t.to_parent[0]);
		if (sc == TAKE_TURNS) {
			for (int k = 0; k < TURNS; k++) {
				if (!wait_turn(t.to_child[0]))
					_exit(4);
				sp_mem_slot a =
					take(&f, k % 3 != 2, (unsigned char)(0xc0 + k), "child");
				give(&f, &a, "child");
				a = take(&f, k % 3 != 2, (unsigned char)(0xd0 + k), "child");
				send_turn(t.to_parent[1]);
				if (!wait_turn(t.to_child[0]))
					_exit(4);
				give(&f, &a, "child");
				send_turn(t.to_parent[1]);
			}
			/* Then no turns: both at once. */
			for (int k = 0; k < 200; k++) {
				sp_mem_slot a =
					take(&f, k & 1, (unsigned char)k, "child, free run");
				give(&f, &a, "child, free run");
			}
		} else {
			for (int k = 0; k < 6; k++) {
				/* CHILD_REUSES_WARM: the first alloc of the image takes
				 * the parent's warm slot. */
				int with = sc == CHILD_REUSES_WARM || (k & 1);
				sp_mem_slot a = take(&f, with, (unsigned char)(0xe0 + k), "child");
				sp_mem_slot b = take(&f, !with, (unsigned char)(0xf0 + k), "child");
				give(&f, &a, "child");
				give(&f, &b, "child");
			}
		}
		if (holding)
			give(&f, &held, "child, the slot held at the fork");
		FK_CHECK(sp_mempool_flush(f.p) == 0, "child flush");
		FK_CHECK(sp_mempool_check(f.p) == 0, "child check");
		_exit(0);
	}
	close(t.to_child[0]);
	close(t.to_parent[1]);
	if (sc == TAKE_TURNS) {
		for (int k = 0; k < TURNS; k++) {
			send_turn(t.to_child[1]);
			if (!wait_turn(t.to_parent[0]))
				break; /* the child failed: wait_child reports it */
			/* The child holds a slot; we free ours and take one again. */
			if (holding)
				give(&f, &held, "parent");
			held = take(&f, k % 2 == 0, (unsigned char)(0x30 + k), "parent");
			holding = 1;
			send_turn(t.to_child[1]);
			if (!wait_turn(t.to_parent[0]))
				break;
		}
		for (int k = 0; k < 200; k++) {
			sp_mem_slot a = take(&f, !(k & 1), (unsigned char)k, "parent, free run");
			give(&f, &a, "parent, free run");
		}
	}
	wait_child(pid);
	/* After the child ran: the parent's slots are still its own. */
	for (int k = 0; k < 4; k++) {
		if (holding)
			give(&f, &held, "parent after child");
		held = take(&f, k & 1, (unsigned char)(0x70 + k), "parent after child");
		holding = 1;
	}
	give(&f, &held, "parent after child");
	close(t.to_child[1]);
	close(t.to_parent[0]);
	teardown(&f);
}

static const fk_cfg paths[] = {
	{0, KEEP, 1, SP_MEMPOOL_TRACK_WRITTEN},
	{0, KEEP, 3, SP_MEMPOOL_TRACK_WRITTEN},
	{0, 0, 1, SP_MEMPOOL_TRACK_PRESENT}, /* the adaptive default */
	{SP_MEMPOOL_RESET_RESTORE, 0, 2, SP_MEMPOOL_TRACK_PRESENT},
	{SP_MEMPOOL_RESET_DECOMMIT, 0, 1, SP_MEMPOOL_TRACK_PRESENT},
	{SP_MEMPOOL_NO_UFFD_WP, KEEP, 1, SP_MEMPOOL_TRACK_PRESENT},
	{SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_UFFD_WP | SP_MEMPOOL_NO_GUARD_INSTALL, 0, 2,
         SP_MEMPOOL_TRACK_PRESENT},
	{SP_MEMPOOL_NO_PAGEMAP_SCAN, KEEP, 1, SP_MEMPOOL_TRACK_HIGH_WATER},
	{SP_MEMPOOL_NO_PAGEMAP_SCAN, 0, 1, SP_MEMPOOL_TRACK_HIGH_WATER},
	{SP_MEMPOOL_RESET_DECOMMIT | SP_MEMPOOL_NO_PAGEMAP_SCAN | SP_MEMPOOL_NO_PROCESS_MADVISE, 0,
         2, SP_MEMPOOL_TRACK_HIGH_WATER},
};

static void matrix(enum scenario sc)
{
	for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
		for (int used = 0; used < 2; used++)
			run(&paths[k], used, sc);
}

static void test_child_cycles(void **state)
{
	(void)state;
	matrix(CHILD_CYCLES);
}

static void test_child_reuses_warm(void **state)
{
	(void)state;
	matrix(CHILD_REUSES_WARM);
}

static void test_take_turns(void **state)
{
	(void)state;
	matrix(TAKE_TURNS);
}

/* The guards stay guards in the child. */
static void test_child_guards(void **state)
{
	(void)state;
	for (int prot_none = 0; prot_none < 2; prot_none++) {
		fk_cfg c = {prot_none ? SP_MEMPOOL_NO_GUARD_INSTALL : 0, 0, 1,
		            SP_MEMPOOL_TRACK_PRESENT};
		fk_pool f;
		if (setup(&f, &c))
			continue;
		sp_mem_slot s;
		assert_int_equal(sp_mempool_alloc(f.p, f.img, 24 * PG, &s), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			in_child = 1;
			unsigned char *b = s.base;
			FK_CHECK(mp_faults(b + 24 * PG, 0) == 1, "open past accessible in child");
			FK_CHECK(mp_faults(b + SLOT_BYTES, 1) == 1, "guard open in child");
			FK_CHECK(sp_mempool_free(f.p, s.base) == 0, "free in child");
			sp_mem_slot t = take(&f, 1, 0x11, "child");
			FK_CHECK(mp_faults((unsigned char *)t.base + SLOT_BYTES, 0) == 1,
			         "guard open after realloc in child");
			_exit(0);
		}
		wait_child(pid);
		assert_int_equal(sp_mempool_free(f.p, s.base), 0);
		teardown(&f);
	}
}

/* Threads keep allocating and freeing while the main thread forks: each
 * child must find the pool usable (no lock held by a thread it lacks, no
 * half-done batch) and pristine, and the parent's threads must not notice. */
struct worker {
	fk_pool *f;
	int id;
	atomic_int *stop;
	int failed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char who[32];
	snprintf(who, sizeof(who), "worker %d", w->id);
	for (unsigned k = 0; !atomic_load(w->stop); k++) {
		sp_mem_slot s;
		int err = sp_mempool_alloc(w->f->p, (k & 1) ? w->f->img : NULL, SLOT_BYTES, &s);
		if (err == -ENOSPC)
			continue;
		if (err || mp_first_diff(s.base, SLOT_BYTES, (k & 1) ? w->f->bytes : NULL, IMG_OFF,
		                         (k & 1) ? IMG_LEN : 0) >= 0) {
			w->failed = 1;
			break;
		}
		memset((char *)s.base + (k % 16) * PG, (int)(k | 1), 2 * PG);
		if (sp_mempool_free(w->f->p, s.base)) {
			w->failed = 1;
			break;
		}
	}
	return NULL;
}

static void test_fork_while_threads_work(void **state)
{
	(void)state;
	static const fk_cfg cfgs[] = {
		{0, KEEP, 2, SP_MEMPOOL_TRACK_WRITTEN},
		{0, 0, 1, SP_MEMPOOL_TRACK_PRESENT},
	};
	for (size_t c = 0; c < sizeof(cfgs) / sizeof(cfgs[0]); c++) {
		fk_pool f;
		if (setup(&f, &cfgs[c]))
			continue;
		atomic_int stop = 0;
		struct worker w[2] = {{&f, 0, &stop, 0}, {&f, 1, &stop, 0}};
		pthread_t th[2];
		for (int k = 0; k < 2; k++)
			assert_int_equal(pthread_create(&th[k], NULL, work, &w[k]), 0);
		for (int n = 0; n < 20; n++) {
			fflush(NULL);
			pid_t pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				in_child = 1;
				alarm(10); /* a lock inherited held would hang here */
				for (int k = 0; k < 8; k++) {
					sp_mem_slot a =
						take(&f, k & 1, (unsigned char)(0x90 + k), "child");
					give(&f, &a, "child");
				}
				FK_CHECK(sp_mempool_flush(f.p) == 0, "child flush");
				_exit(0);
			}
			wait_child(pid);
		}
		atomic_store(&stop, 1);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(pthread_join(th[k], NULL), 0);
			assert_false(w[k].failed);
		}
		teardown(&f);
	}
}

int main(void)
{
	mp_require_kernel();
	signal(SIGPIPE, SIG_IGN); /* a dead peer's pipe */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_cycles),
		cmocka_unit_test(test_child_reuses_warm),
		cmocka_unit_test(test_take_turns),
		cmocka_unit_test(test_child_guards),
		cmocka_unit_test(test_fork_while_threads_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
