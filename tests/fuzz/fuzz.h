/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h: what every fuzz target shares: the libFuzzer entry point's
 * prototype, a cursor that decodes operations from the input bytes, and the
 * check macro that turns a wrong answer into a crash the fuzzer records.
 *
 * Decoding never fails: once the input runs out every read returns 0, so any
 * byte string is a valid program and the fuzzer never wastes executions on
 * inputs the decoder rejects. Header-only, so each target stays one file plus
 * the shared replay main (fuzz_main.c).
 */
#ifndef SP_FUZZ_H
#define SP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const uint8_t *p;
	size_t n;
} fz_in;

static inline int fz_more(const fz_in *in)
{
	return in->n > 0;
}

static inline uint8_t fz_u8(fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint32_t fz_u32(fz_in *in)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | fz_u8(in);
	return v;
}

static inline uint64_t fz_u64(fz_in *in)
{
	uint64_t hi = fz_u32(in);
	return hi << 32 | fz_u32(in);
}

/* A failed check is a finding: say what differed, then crash so that
 * libFuzzer saves the input (and the replay CTest fails). */
#define FZ_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* SP_FUZZ_H */
