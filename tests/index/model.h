/* SPDX-License-Identifier: MIT */
/*
 * model.h: a deliberately simple reference model of the slot policy, written
 * from the policy's description (README, include/slotpool/index.h), not from
 * the library: plain arrays and linear scans, obviously correct, slow.
 * Used by the differential test and the fuzzer.
 */
#ifndef SP_MODEL_H
#define SP_MODEL_H

#include <stdint.h>

enum { M_COLD, M_USED, M_WARM };

typedef struct {
	uint32_t cap, max_warm;
	uint8_t *state;
	uint8_t *has_key;
	uint64_t *key;
	uint64_t *bytes;
	uint64_t *freed_at; /* free time stamp of a warm slot */
	uint64_t clock;
	uint64_t hits, cold, steals, clears, failed, misses, allocs, frees;
} model;

void model_init(model *m, uint32_t cap, uint32_t max_warm);
void model_fini(model *m);
/* Returns the slot or -1 (no slot / no warm slot for clear). */
int64_t model_alloc(model *m, int has_key, uint64_t key);
int64_t model_clear(model *m, uint64_t key);
/* 0 or -1 when the slot is not in use. */
int model_free(model *m, uint32_t slot, uint64_t bytes);
uint32_t model_count(const model *m, int state);
uint64_t model_warm_bytes(const model *m);
uint32_t model_keys_with_warm(const model *m);
uint32_t model_key_warm(const model *m, uint64_t key);

#endif
