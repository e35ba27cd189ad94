/* SPDX-License-Identifier: MIT */
/*
 * slot.h: the per-slot record, private to the policy (policy.[ch]) and the
 * key table (keytab.[ch], which fixes back-references when it moves an
 * entry). Nothing else reads or writes it.
 *
 * Layout, 24 bytes a slot (_Static_assert below):
 *
 *   warm_prev, warm_next  links of the global warm list (LRU at head);
 *   aff_prev              previous slot of the key's warm list, or a TAG;
 *   aff_next              next slot of the key's warm list or, for the key's
 *                         most recent slot (the list tail), SP__TAIL | the
 *                         key table entry that points back at this slot;
 *   word                  the key while used, bytes_resident while warm.
 *
 * The state lives in aff_prev: a warm keyed slot holds a slot index or NIL
 * there, every other state a TAG above any slot index (capacity <= 2^30).
 * A slot with index >= next_cold is cold and its record is never read, so
 * create does not touch the array. The key of a warm slot is stored once per
 * key, in the key table, not per slot: that is what keeps a slot at 24 bytes.
 */
#ifndef SP_SLOT_H
#define SP_SLOT_H

#include <stdint.h>

#define SP__NIL UINT32_C(0xFFFFFFFF)
#define SP__TAG_WARM_NOKEY UINT32_C(0xFFFFFFFE)
#define SP__TAG_USED_KEY UINT32_C(0xFFFFFFFD)
#define SP__TAG_USED_NOKEY UINT32_C(0xFFFFFFFC)
/* Marks a used slot already listed in the free_many batch being validated. */
#define SP__TAG_PENDING_KEY UINT32_C(0xFFFFFFFB)
#define SP__TAG_PENDING_NOKEY UINT32_C(0xFFFFFFFA)
#define SP__TAIL UINT32_C(0x80000000)

struct sp__slot {
	uint32_t warm_prev;
	uint32_t warm_next;
	uint32_t aff_prev;
	uint32_t aff_next;
	uint64_t word;
};

_Static_assert(sizeof(struct sp__slot) == 24, "slot record must stay 24 bytes");

static inline int sp__tag_is_used(uint32_t tag)
{
	return tag == SP__TAG_USED_KEY || tag == SP__TAG_USED_NOKEY;
}

#endif /* SP_SLOT_H */
