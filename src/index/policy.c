/* SPDX-License-Identifier: MIT */
/*
 * policy.c: the slot policy of one shard (see policy.h), no locking.
 *
 * Two intrusive doubly linked lists thread the warm slots: the global warm
 * list (oldest free at the head) and one list per key (newest free at the
 * tail). A key's list is known only by its tail, kept in the key table; the
 * head needs no pointer because nothing ever takes a key's oldest slot
 * directly (an LRU steal unlinks it through its own links).
 */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "slotpool/index.h"

int sp__policy_init(struct sp__policy *p, uint32_t capacity, uint32_t max_warm, uint32_t warm_slack,
                    struct sp__pub *pub, sp__key_hook_fn *key_hook, void *key_hook_ctx)
{
	*p = (struct sp__policy){0};
	/* malloc, not calloc: records below next_cold are written before they
	 * are read, so untouched pages stay unmapped. One more record is the
	 * warm list's sentinel. */
	p->slots = malloc(((size_t)capacity + 1) * sizeof(struct sp__slot));
	if (!p->slots)
		return -ENOMEM;
	int err = sp__keytab_init(&p->keys, capacity);
	if (err) {
		free(p->slots);
		p->slots = NULL;
		return err;
	}
	p->capacity = capacity;
	p->max_warm = max_warm;
	p->warm_slack = warm_slack;
	p->warm_credit = warm_slack + 1;
	p->pub = pub;
	p->key_hook = key_hook;
	p->key_hook_ctx = key_hook_ctx;
	atomic_init(&pub->cold, capacity > 0);
	atomic_init(&pub->warm, 0);
	p->slots[capacity].warm_prev = capacity;
	p->slots[capacity].warm_next = capacity;
	return 0;
}

void sp__warm_flush(struct sp__policy *p)
{
	atomic_store_explicit(&p->pub->warm, p->unused_warm, memory_order_relaxed);
	p->warm_credit = p->warm_slack + 1;
}

void sp__policy_fini(struct sp__policy *p)
{
	sp__keytab_fini(&p->keys);
	free(p->slots);
	p->slots = NULL;
}

uint32_t sp__policy_key_warm(const struct sp__policy *p, uint64_t key)
{
	uint32_t e = sp__keytab_find(&p->keys, key);
	uint32_t n = 0;
	for (uint32_t s = e == SP__NIL ? SP__NIL : sp__keyent_tail(&p->keys.ent[e]); s != SP__NIL;
	     s = p->slots[s].aff_prev)
		n++;
	return n;
}

/* Key of a warm keyed slot (walks to the list tail). */
static uint64_t warm_key(const struct sp__policy *p, uint32_t s)
{
	while (!(p->slots[s].aff_next & SP__TAIL))
		s = p->slots[s].aff_next;
	return sp__keyent_key(&p->keys.ent[p->slots[s].aff_next & ~SP__TAIL]);
}

int sp__policy_slot_state(const struct sp__policy *p, uint32_t s, uint64_t *key)
{
	if (s >= p->next_cold)
		return SP_SLOT_COLD;
	const struct sp__slot *r = &p->slots[s];
	switch (r->aff_prev) {
	case SP__TAG_USED_KEY:
		if (key)
			*key = r->word;
		return SP_SLOT_USED_KEY;
	case SP__TAG_USED_NOKEY:
		return SP_SLOT_USED;
	case SP__TAG_WARM_NOKEY:
		return SP_SLOT_WARM;
	default:
		if (key)
			*key = warm_key(p, s);
		return SP_SLOT_WARM_KEY;
	}
}

uint64_t sp__policy_slot_bytes(const struct sp__policy *p)
{
	return ((uint64_t)p->capacity + 1) * sizeof(struct sp__slot);
}

uint64_t sp__policy_key_bytes(const struct sp__policy *p)
{
	return (uint64_t)p->keys.n * sizeof(struct sp__keyent);
}

int sp__policy_each_key(const struct sp__policy *p, int (*fn)(void *ctx, uint64_t key), void *ctx)
{
	for (uint32_t e = 0; e < p->keys.n; e++) {
		if (!p->keys.ent[e].ntail)
			continue;
		int err = fn(ctx, sp__keyent_key(&p->keys.ent[e]));
		if (err)
			return err;
	}
	return 0;
}

int sp__policy_replay_allocs(const struct sp__policy *p, uint32_t *scratch, sp__replay_alloc_fn *fn,
                             void *ctx)
{
	const struct sp__slot *S = p->slots;
	/* A warm keyed slot knows its key only through the key table: note
	 * each one's entry first, one walk per key instead of one per slot. */
	for (uint32_t e = 0; e < p->keys.n; e++)
		if (p->keys.ent[e].ntail)
			for (uint32_t s = sp__keyent_tail(&p->keys.ent[e]); s != SP__NIL;
			     s = S[s].aff_prev)
				scratch[s] = e;
	int err = 0;
	for (uint32_t s = 0; s < p->next_cold && !err; s++) {
		uint32_t tag = S[s].aff_prev;
		if (tag == SP__TAG_USED_KEY)
			err = fn(ctx, s, 1, S[s].word);
		else if (tag == SP__TAG_USED_NOKEY || tag == SP__TAG_WARM_NOKEY)
			err = fn(ctx, s, 0, 0);
		else
			err = fn(ctx, s, 1, sp__keyent_key(&p->keys.ent[scratch[s]]));
	}
	return err;
}

int sp__policy_replay_frees(const struct sp__policy *p, sp__replay_free_fn *fn, void *ctx)
{
	const struct sp__slot *S = p->slots;
	int err = 0;
	for (uint32_t s = S[p->capacity].warm_next; s != p->capacity && !err; s = S[s].warm_next)
		err = fn(ctx, s, S[s].word);
	return err;
}

#define BAD(...)                                                                                   \
	do {                                                                                       \
		fprintf(stderr, "sp_index_check: " __VA_ARGS__);                                   \
		fputc('\n', stderr);                                                               \
		return -EUCLEAN;                                                                   \
	} while (0)

int sp__policy_check(const struct sp__policy *p)
{
	const struct sp__slot *S = p->slots;
	uint32_t used = 0, warm = 0, keyed_warm = 0;
	uint64_t bytes = 0;

	if (p->next_cold > p->capacity)
		BAD("next_cold %u > capacity %u", p->next_cold, p->capacity);
	for (uint32_t s = 0; s < p->next_cold; s++) {
		uint32_t tag = S[s].aff_prev;
		if (sp__tag_is_used(tag)) {
			used++;
		} else if (tag == SP__TAG_WARM_NOKEY || tag == SP__NIL || tag < p->capacity) {
			warm++;
			bytes += S[s].word;
			if (tag != SP__TAG_WARM_NOKEY)
				keyed_warm++;
		} else {
			BAD("slot %u has invalid tag %#x", s, tag);
		}
	}
	if (used != sp__policy_allocs(p) - p->frees)
		BAD("%u slots used, allocs - frees says %llu", used,
		    (unsigned long long)(sp__policy_allocs(p) - p->frees));
	if (warm != p->unused_warm)
		BAD("%u slots warm, counter says %u", warm, p->unused_warm);
	int64_t drift = (int64_t)p->unused_warm -
	                (int64_t)atomic_load_explicit(&p->pub->warm, memory_order_relaxed);
	if (drift > (int64_t)p->warm_slack || -drift > (int64_t)p->warm_slack)
		BAD("published warm count %u is more than %u from %u",
		    atomic_load_explicit(&p->pub->warm, memory_order_relaxed), p->warm_slack,
		    p->unused_warm);
	if (bytes != p->unused_bytes)
		BAD("warm slots hold %llu bytes, counter says %llu", (unsigned long long)bytes,
		    (unsigned long long)p->unused_bytes);

	/* Global warm list: forward walk with back links, only warm slots. */
	uint32_t n = 0, sen = p->capacity, prev = sen;
	for (uint32_t s = S[sen].warm_next; s != sen; prev = s, s = S[s].warm_next) {
		if (s >= p->next_cold)
			BAD("warm list reaches slot %u, not below next_cold %u", s, p->next_cold);
		if (sp__tag_is_used(S[s].aff_prev))
			BAD("warm list holds used slot %u", s);
		if (S[s].warm_prev != prev)
			BAD("slot %u warm_prev %u, expected %u", s, S[s].warm_prev, prev);
		if (++n > warm)
			BAD("warm list longer than %u (cycle?)", warm);
	}
	if (prev != S[sen].warm_prev)
		BAD("warm list ends at %u, sentinel says %u", prev, S[sen].warm_prev);
	if (n != warm)
		BAD("warm list has %u slots, %u are warm", n, warm);

	/* Key lists: from each entry's tail backwards, each slot once. */
	uint32_t keys = 0, listed = 0;
	for (uint32_t e = 0; e < p->keys.n; e++) {
		const struct sp__keyent *ke = &p->keys.ent[e];
		if (ke->ntail == 0)
			continue;
		keys++;
		uint64_t key = sp__keyent_key(ke);
		/* The entry must be reachable from its home without a gap. */
		for (uint32_t i = sp__keytab_home(&p->keys, key); i != e;
		     i = i + 1 == p->keys.n ? 0 : i + 1)
			if (p->keys.ent[i].ntail == 0)
				BAD("key table entry %u unreachable from its home", e);
		uint32_t s = sp__keyent_tail(ke), next = SP__TAIL | e;
		if (s >= p->next_cold)
			BAD("key entry %u names slot %u", e, s);
		for (; s != SP__NIL; next = s, s = S[s].aff_prev) {
			if (s >= p->next_cold ||
			    (S[s].aff_prev != SP__NIL && S[s].aff_prev >= p->capacity))
				BAD("key list of entry %u reaches slot %u which is not warm-keyed",
				    e, s);
			if (S[s].aff_next != next)
				BAD("slot %u aff_next %#x, expected %#x", s, S[s].aff_next, next);
			if (++listed > keyed_warm)
				BAD("key lists longer than the %u keyed warm slots (cycle?)",
				    keyed_warm);
		}
	}
	if (keys != p->keys.count)
		BAD("key table holds %u keys, count says %u", keys, p->keys.count);
	if (listed != keyed_warm)
		BAD("key lists hold %u slots, %u are warm with a key", listed, keyed_warm);
	if (p->keys.count >= p->keys.n)
		BAD("key table full");
	if (p->cold_picks != p->next_cold)
		BAD("cold picks %llu != next_cold %u", (unsigned long long)p->cold_picks,
		    p->next_cold);
	return 0;
}
