/* SPDX-License-Identifier: MIT */
/*
 * keytab.c: creation and deletion for the affinity key table (keytab.h holds
 * the layout and the lookups, which are inline for the hot path).
 */
#include "keytab.h"

#include <errno.h>
#include <stdlib.h>

int sp__keytab_init(struct sp__keytab *kt, uint32_t capacity)
{
	uint32_t n = sp__keytab_buckets(capacity);
	/* calloc: an all-zero entry is empty, and large zeroed allocations come
	 * straight from mmap, so untouched buckets cost no memory. */
	struct sp__keyent *ent = calloc(n, sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	kt->ent = ent;
	kt->n = n;
	kt->count = 0;
	return 0;
}

void sp__keytab_fini(struct sp__keytab *kt)
{
	free(kt->ent);
	kt->ent = NULL;
}

/* Distance from bucket `home` forward (wrapping) to bucket i. */
static uint32_t dist(const struct sp__keytab *kt, uint32_t home, uint32_t i)
{
	return i >= home ? i - home : i + kt->n - home;
}

void sp__keytab_erase(struct sp__keytab *kt, uint32_t i, struct sp__slot *slots)
{
	uint32_t j = i;
	for (;;) {
		if (++j == kt->n)
			j = 0;
		struct sp__keyent *e = &kt->ent[j];
		if (e->ntail == 0)
			break;
		/* An entry may fill the hole only if the hole lies on its probe
		 * path, i.e. between its home and its bucket. Whether it does
		 * is as good as random, so the move is done without a branch:
		 * the entry is copied into the hole either way (a hole's bytes
		 * do not matter), its tail's back-reference is rewritten with
		 * the new bucket or its own value, and the hole moves or not. */
		uint32_t home = sp__keytab_home(kt, sp__keyent_key(e));
		uint32_t keep = (uint32_t)(dist(kt, home, i) < dist(kt, home, j)) - 1;
		kt->ent[i] = *e;
		uint32_t *ref = &slots[sp__keyent_tail(e)].aff_next;
		*ref = ((SP__TAIL | i) & ~keep) | (*ref & keep);
		i = (j & ~keep) | (i & keep);
	}
	kt->ent[i].ntail = 0;
	kt->count--;
}
