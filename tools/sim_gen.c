/* SPDX-License-Identifier: MIT */
/*
 * sim_gen.c: `slotpool-sim gen`: a synthetic, valid trace on stdout.
 *
 * The same process as ../shared/anchors/gen_trace.py (free a uniformly chosen
 * live handle with probability P or when C are live, else allocate a Zipf(S)
 * key) but driven by SplitMix64, so the output is a pure function of the
 * arguments on every platform. Only live handles are freed and at most C
 * handles are live, so every `a` line gets a slot on any allocator that hands
 * one out whenever one is free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "draw.h"
#include "sim.h"
#include "slotpool.h"

static const char help[] =
	"usage: slotpool-sim gen --ops N --keys K --capacity C --seed X [--zipf S]\n"
	"                        [--free-prob P] [--clear-prob Q] [--no-key-prob R]\n"
	"                        [--bytes-max B]\n"
	"\n"
	"Writes a valid trace of N operations to stdout, the same for the same\n"
	"arguments. Each operation frees a uniformly chosen live handle with\n"
	"probability P (always when C handles are live), else allocates: `c K` with\n"
	"probability Q, else `a -` with probability R, else `a K`, K drawn from\n"
	"1..K with weight 1/rank^S.\n"
	"  --ops N          operations (required)\n"
	"  --keys K         distinct keys, >= 1 (required)\n"
	"  --capacity C     most handles live at once (required)\n"
	"  --seed X         random seed (required)\n"
	"  --zipf S         Zipf exponent, >= 0 (default 1.0; 0 = uniform)\n"
	"  --free-prob P    (default 0.5)\n"
	"  --clear-prob Q   (default 0)\n"
	"  --no-key-prob R  (default 0)\n"
	"  --bytes-max B    frees carry bytes uniform in [0, B], rounded down to\n"
	"                   4096 (default 0: no bytes field)\n"
	"  --version        print slotpool-sim's version\n"
	"Exit status: 0 ok, 2 bad arguments, 4 the trace could not be written.\n"
	"Example:\n"
	"  slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 --seed 1 >w.trace\n";

int sim_cmd_gen(int argc, char **argv)
{
	struct cli c = {.cmd = "gen", .argc = argc, .argv = argv};
	uint64_t ops = 0, keys = 0, cap = 0, seed = 0, bytes_max = 0;
	double zipf = 1.0, pf = 0.5, pc = 0.0, pn = 0.0;
	struct cli_flag flags[] = {
		CLI_REQ("--ops", CLI_U64, &ops),
		CLI_REQ("--keys", CLI_U64, &keys),
		CLI_REQ("--capacity", CLI_U64, &cap),
		CLI_REQ("--seed", CLI_U64, &seed),
		CLI_OPT("--bytes-max", CLI_U64, &bytes_max),
		CLI_NUM("--zipf", &zipf, 0.0, 100.0),
		CLI_NUM("--free-prob", &pf, 0.0, 1.0),
		CLI_NUM("--clear-prob", &pc, 0.0, 1.0),
		CLI_NUM("--no-key-prob", &pn, 0.0, 1.0),
	};
	int parsed = cli_parse(&c, flags, sizeof flags / sizeof flags[0], help, NULL);
	if (parsed != CLI_CONTINUE)
		return parsed;
	if (keys == 0 || keys > (1u << 26)) {
		cli_error(&c, "--keys: bad value '%llu' (want 1..67108864)",
		          (unsigned long long)keys);
		return SIM_EXIT_USAGE;
	}
	if (cap > SP_INDEX_MAX_CAPACITY) {
		cli_error(&c,
		          "--capacity: bad value '%llu' (want 0..%lu, the library's largest "
		          "capacity, 2^30)",
		          (unsigned long long)cap, (unsigned long)SP_INDEX_MAX_CAPACITY);
		return SIM_EXIT_USAGE;
	}
	if (ops > UINT32_MAX - 1u) {
		cli_error(&c, "--ops: bad value '%llu' (want at most 4294967294)",
		          (unsigned long long)ops);
		return SIM_EXIT_USAGE;
	}

	double *cdf = malloc(keys * sizeof *cdf);
	uint32_t *live = malloc(((cap < ops ? cap : ops) + 1) * sizeof *live);
	if (!cdf || !live) {
		free(cdf);
		free(live);
		cli_error(&c, "out of memory");
		return SIM_EXIT_FAIL;
	}
	double acc = zipf_cdf(cdf, keys, zipf);
	static char buf[1 << 16];
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	printf("# slotpool-sim gen --ops %llu --keys %llu --capacity %llu --seed %llu --zipf %g "
	       "--free-prob %g --clear-prob %g --no-key-prob %g --bytes-max %llu\n",
	       (unsigned long long)ops, (unsigned long long)keys, (unsigned long long)cap,
	       (unsigned long long)seed, zipf, pf, pc, pn, (unsigned long long)bytes_max);
	uint64_t s = seed, nlive = 0, nh = 0;
	/* Stop early once stdout fails (a full disk): the rest would be lost. */
	for (uint64_t i = 0; i < ops && ((i & 0xfff) || !ferror(stdout)); i++) {
		if (nlive && (nlive >= cap || sm_unit(&s) < pf)) {
			uint64_t j = sm_below(&s, nlive);
			uint32_t h = live[j];
			live[j] = live[--nlive];
			if (bytes_max) {
				uint64_t b = bytes_max == UINT64_MAX ? sm_next(&s)
				                                     : sm_below(&s, bytes_max + 1);
				printf("f %u %llu\n", h, (unsigned long long)(b / 4096 * 4096));
			} else {
				printf("f %u\n", h);
			}
			continue;
		}
		char kind = 'a';
		if (pc > 0 && sm_unit(&s) < pc)
			kind = 'c';
		else if (pn > 0 && sm_unit(&s) < pn)
			kind = '-';
		if (kind == '-') {
			fputs("a -\n", stdout);
		} else {
			uint64_t rank = zipf_rank(cdf, keys, sm_unit(&s) * acc);
			printf("%c %llu\n", kind, (unsigned long long)(rank + 1));
		}
		if (cap > 0) /* with capacity 0 nothing is ever live */
			live[nlive++] = (uint32_t)nh;
		nh++;
	}
	free(cdf);
	free(live);
	return cli_flush(&c, stdout, "the trace to stdout", false);
}
