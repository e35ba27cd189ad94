/* SPDX-License-Identifier: MIT */
/*
 * record.c: the traffic recorder (record.h). Lines are appended to a
 * buffer inside the recorder and handed to the caller's sp_write_fn when it
 * fills, so an operation costs the formatting of one line, a clock read and
 * (with several shards) a mutex, not a call out.
 *
 * Handles: the n-th a/c line since the start is handle n, as the trace
 * format counts them; a successful one stores n as its slot's handle, which
 * the slot's free line names. Slots in use when recording starts get their
 * handles from the start's own lines (sp__record_begin), so every free is of
 * a known handle and the recording is a valid trace from any starting state.
 *
 * Timestamps: a line "# t=NS" (CLOCK_MONOTONIC nanoseconds since the start)
 * before an operation when at least 1 us passed since the last one written.
 */
#include "record.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "shard.h"
#include "sink.h"
#include "slotpool/index.h"

/* room() leaves this much for the next line: an operation's longest
 * ("f " + 10 digits + " " + 20 digits + "\n") with its timestamp line
 * ("# t=" + 20 digits + "\n"), or a header line. */
#define ROOM_BYTES ((size_t)128)

struct sp__recorder {
	sp_write_fn write;
	void *ctx;
	uint32_t *handle; /* per slot: the handle that holds it (used slots) */
	uint32_t next;    /* handles given */
	int err;          /* kept error; nothing is written once set */
	int shared;       /* several shards: mu serialises the lines */
	pthread_mutex_t mu;
	uint64_t t0;     /* clock at the start, ns */
	uint64_t last_t; /* the last timestamp written, ns since t0 */
	size_t len;      /* bytes in buf */
	char buf[SP__RECORD_BUF];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sp__record_new(struct sp__recorder **out, uint32_t capacity, uint32_t shards, sp_write_fn write,
                   void *ctx)
{
	struct sp__recorder *r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, offsetof(struct sp__recorder, buf));
	/* malloc: an entry is written before it is read (begin or an alloc). */
	r->handle = malloc(((size_t)capacity + 1) * sizeof(uint32_t));
	if (!r->handle) {
		free(r);
		return -ENOMEM;
	}
	r->write = write;
	r->ctx = ctx;
	r->shared = shards > 1;
	if (r->shared && pthread_mutex_init(&r->mu, NULL)) {
		free(r->handle);
		free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

static void flush(struct sp__recorder *r)
{
	sp__sink_flush(r->write, r->ctx, r->buf, &r->len, &r->err);
}

/* Room for one more line (and its timestamp); 0 if the recorder failed. */
static int room(struct sp__recorder *r)
{
	if (r->len > sizeof(r->buf) - ROOM_BYTES)
		flush(r);
	return !r->err;
}

static char *put_u64(char *p, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p, d + i, sizeof(d) - i);
	return p + (sizeof(d) - i);
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* A line is formatted in place, after room() said it fits: from
 * line_begin(r) to the p given to line_end(r, p). */
static char *line_begin(struct sp__recorder *r)
{
	return r->buf + r->len;
}

static void line_end(struct sp__recorder *r, const char *p)
{
	r->len = (size_t)(p - r->buf);
}

static void stamp(struct sp__recorder *r)
{
	uint64_t t = now_ns() - r->t0;
	if (t - r->last_t < 1000)
		return;
	r->last_t = t;
	char *p = put_str(line_begin(r), "# t=");
	p = put_u64(p, t);
	*p++ = '\n';
	line_end(r, p);
}

/* One a/c line (handle r->next) without locking or a timestamp. */
static void op_line(struct sp__recorder *r, int op, uint64_t key, uint32_t slot)
{
	if (r->next == SP__RECORD_MAX_HANDLES) {
		r->err = -EOVERFLOW;
		return;
	}
	char *p = line_begin(r);
	*p++ = op == SP__REC_CLEAR ? 'c' : 'a';
	*p++ = ' ';
	if (op == SP__REC_ALLOC_NOKEY)
		*p++ = '-';
	else
		p = put_u64(p, key);
	*p++ = '\n';
	line_end(r, p);
	if (slot != UINT32_MAX)
		r->handle[slot] = r->next;
	r->next++;
}

static void free_line(struct sp__recorder *r, uint32_t slot, uint64_t bytes)
{
	char *p = line_begin(r);
	*p++ = 'f';
	*p++ = ' ';
	p = put_u64(p, r->handle[slot]);
	if (bytes) {
		*p++ = ' ';
		p = put_u64(p, bytes);
	}
	*p++ = '\n';
	line_end(r, p);
}

void sp__record_op(struct sp__recorder *r, int op, uint64_t key, uint32_t slot)
{
	if (r->shared)
		pthread_mutex_lock(&r->mu);
	if (room(r)) {
		stamp(r);
		op_line(r, op, key, slot);
	}
	if (r->shared)
		pthread_mutex_unlock(&r->mu);
}

void sp__record_free(struct sp__recorder *r, uint32_t slot, uint64_t bytes)
{
	if (r->shared)
		pthread_mutex_lock(&r->mu);
	if (room(r)) {
		stamp(r);
		free_line(r, slot, bytes);
	}
	if (r->shared)
		pthread_mutex_unlock(&r->mu);
}

/* Pieces of a header line, which room() leaves ROOM_BYTES for. */
static void text(struct sp__recorder *r, const char *s)
{
	line_end(r, put_str(line_begin(r), s));
}

static void num(struct sp__recorder *r, uint64_t v)
{
	line_end(r, put_u64(line_begin(r), v));
}

/*
 * The lines that take an empty index to its state: the policy's replay of
 * each shard (policy.h), all shards' allocs first, then all their frees,
 * as slot numbers of the index.
 */
struct state_ctx {
	struct sp__recorder *r;
	uint32_t base;
};

static int state_alloc(void *ctx, uint32_t s, int has_key, uint64_t key)
{
	const struct state_ctx *c = ctx;
	if (!room(c->r))
		return 1;
	op_line(c->r, has_key ? SP__REC_ALLOC : SP__REC_ALLOC_NOKEY, key, c->base + s);
	return 0;
}

static int state_free(void *ctx, uint32_t s, uint64_t bytes)
{
	const struct state_ctx *c = ctx;
	if (!room(c->r))
		return 1;
	free_line(c->r, c->base + s, bytes);
	return 0;
}

int sp__record_begin(struct sp__recorder *r, const struct sp__shard *shards,
                     const struct sp__record_info *info)
{
	uint64_t used = 0, warm = 0;
	for (uint32_t j = 0; j < info->shards; j++) {
		used += sp__policy_in_use(&shards[j].pol);
		warm += shards[j].pol.unused_warm;
	}
	if (room(r)) {
		text(r, "# slotpool recording: capacity ");
		num(r, info->capacity);
		text(r, " max_unused_warm_slots ");
		num(r, info->max_warm);
		text(r, " shards ");
		num(r, info->shards);
		text(r, info->flags & SP_INDEX_HOME_AFFINITY ? " home_affinity\n" : "\n");
	}
	if (room(r)) {
		text(r, "# replay: slotpool-sim replay FILE --capacity ");
		num(r, info->capacity);
		text(r, " --warm ");
		num(r, info->max_warm);
		text(r, " --shards ");
		num(r, info->shards);
		text(r, "\n");
	}
	if (used + warm && room(r)) {
		text(r, "# state at start: ");
		num(r, used);
		text(r, " slots in use, ");
		num(r, warm);
		text(r, " warm; the lines up to t=0 rebuild it\n");
	}
	for (uint32_t j = 0; j < info->shards; j++) {
		struct state_ctx c = {r, shards[j].base};
		(void)sp__policy_replay_allocs(&shards[j].pol, r->handle + c.base, state_alloc, &c);
	}
	for (uint32_t j = 0; j < info->shards; j++) {
		struct state_ctx c = {r, shards[j].base};
		(void)sp__policy_replay_frees(&shards[j].pol, state_free, &c);
	}
	if (room(r))
		text(r, "# t=0\n");
	flush(r);
	r->t0 = now_ns();
	r->last_t = 0;
	return r->err;
}

int sp__record_error(const struct sp__recorder *r)
{
	return r->err;
}

int sp__record_end(struct sp__recorder *r)
{
	if (!r)
		return 0;
	flush(r);
	int err = r->err;
	if (r->shared)
		pthread_mutex_destroy(&r->mu);
	free(r->handle);
	free(r);
	return err;
}
