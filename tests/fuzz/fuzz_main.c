/* SPDX-License-Identifier: MIT */
/*
 * fuzz_main.c: the plain main a fuzz target links when libFuzzer is absent
 * (gcc builds, valgrind, any build without SP_FUZZ). It feeds each file, and
 * each file of each directory (in name order, so runs repeat), to
 * LLVMFuzzerTestOneInput once, like `fuzzer -runs=0 DIR` would.
 *
 *   fuzz_TARGET [--random N] [FILE|DIR]...
 *
 * --random N also runs N inputs drawn from a fixed-seed PRNG (lengths 0 to
 * 1024), so that builds without libFuzzer exercise more than the corpus.
 * It fails (exit 1) when no input at all was run: a corpus that went
 * missing must not pass as "zero failures".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "draw.h"
#include "fuzz.h"

static size_t runs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
		len += got;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		return -1;
	}
	/* An exact-size copy, so that ASan and valgrind see a read past the
	 * input as the overflow it is. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	runs++;
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	struct dirent **names;
	int n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		perror(path);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (rc == 0 && names[i]->d_name[0] != '.') {
			size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
			char *full = malloc(len);
			if (!full) {
				rc = -1;
			} else {
				snprintf(full, len, "%s/%s", path, names[i]->d_name);
				rc = run_path(full);
				free(full);
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* SplitMix64 from seed 1: a fixed sequence, the same on every machine. */
static int run_random(unsigned long n)
{
	uint64_t s = 1;
	for (unsigned long i = 0; i < n; i++) {
		size_t len = (size_t)sm_below(&s, 1025);
		uint8_t *in = malloc(len ? len : 1);
		if (!in)
			return -1;
		for (size_t j = 0; j < len; j++)
			in[j] = (uint8_t)sm_next(&s);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
		runs++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int rc;
		if (strcmp(argv[i], "--random") == 0 && i + 1 < argc)
			rc = run_random(strtoul(argv[++i], NULL, 10));
		else
			rc = run_path(argv[i]);
		if (rc != 0)
			return 1;
	}
	printf("%zu inputs replayed, 0 failures\n", runs);
	return runs ? 0 : 1;
}
