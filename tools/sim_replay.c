/* SPDX-License-Identifier: MIT */
/*
 * sim_replay.c: `slotpool-sim replay`: replay one trace at one budget, write
 * the slot of every a/c line (--slots, byte-identical to seed_replay's stdout
 * with one shard) and a summary (text, or one JSON object with --json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim.h"
#include "sim_run.h"
#include "slotpool.h"
#include "trace.h"

static const char help[] =
	"usage: slotpool-sim replay TRACE --capacity C --warm W [--shards S]\n"
	"                           [--slots FILE] [--repeat N] [--json]\n"
	"\n"
	"Replays TRACE ('-' = stdin) on a fresh index of C slots with a budget of W\n"
	"unused warm slots and prints a summary.\n"
	"  --capacity C   slots in the index (required)\n"
	"  --warm W       max_unused_warm_slots (required)\n"
	"  --shards S     sp_index_config.shards (default 1: the exact seed\n"
	"                 policy; 0 = automatic)\n"
	"  --slots FILE   write the slot of each a/c line, or '-' if it got none,\n"
	"                 one a line, to FILE ('-' = stdout; the summary then goes\n"
	"                 to stderr). Same bytes as seed_replay's output.\n"
	"  --repeat N     replay N times on fresh indices; ns_per_op is the best\n"
	"  --json         print the summary as one JSON object\n"
	"  --version      print slotpool-sim's version\n"
	"Flags take their value as --flag VALUE or --flag=VALUE. Progress goes to\n"
	"stderr when it is a terminal and the repeats take long.\n"
	"Exit status: 0 ok, 1 the library refused the configuration, 2 bad\n"
	"arguments or a bad trace (FILE:LINE: why), 3 an internal check failed,\n"
	"4 an output could not be written.\n"
	"Example:\n"
	"  slotpool-sim replay w.trace --capacity 256 --warm 16 --slots - --json\n";

void sim_print_summary(FILE *f, const struct sim_config *cfg, const struct sim_result *r, int json)
{
	double rate = r->keyed_ops ? (double)r->affine_hits / (double)r->keyed_ops : 0.0;
	const struct {
		const char *name;
		unsigned long long v;
	} u[] = {
		{"capacity", cfg->capacity},
		{"warm", cfg->warm},
		{"shards", r->shards}, /* the index's: --shards 0 picks a number */
		{"ops", r->ops},
		{"alloc_ops", r->alloc_ops},
		{"keyed_allocs", r->keyed_ops},
		{"allocs", r->allocs},
		{"failed_allocs", r->failed_allocs},
		{"affine_hits", r->affine_hits},
		{"cold_picks", r->cold_picks},
		{"warm_steals", r->warm_steals},
		{"clears", r->clears},
		{"clear_misses", r->clear_misses},
		{"frees", r->frees},
		{"peak_in_use", r->peak_in_use},
		{"peak_unused_warm", r->peak_unused_warm},
		{"final_unused_warm", r->final_unused_warm},
		{"peak_unused_bytes_resident", r->peak_unused_bytes},
		{"unused_bytes_resident", r->unused_bytes_resident},
		{"bytes_overflows", r->bytes_overflows},
	};
	size_t n = sizeof u / sizeof u[0];
	if (json) {
		fputc('{', f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "\"%s\":%llu,", u[i].name, u[i].v);
		fprintf(f, "\"affine_hit_rate\":%.6f,\"ns_per_op\":%.3f}\n", rate, r->ns_per_op);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-27s %llu\n", u[i].name, u[i].v);
	fprintf(f, "%-27s %.4f\n%-27s %.3f\n", "affine_hit_rate", rate, "ns_per_op", r->ns_per_op);
}

int sim_cmd_replay(int argc, char **argv)
{
	struct cli c = {.cmd = "replay", .argc = argc, .argv = argv};
	/* One shard by default: the exact seed policy (0 would mean automatic). */
	struct sim_config cfg = {.shards = 1};
	const char *path = NULL, *slots = NULL;
	uint32_t repeat = 1;
	int json = 0;
	struct cli_flag flags[] = {
		CLI_REQ("--capacity", CLI_U32, &cfg.capacity),
		CLI_REQ("--warm", CLI_U32, &cfg.warm),
		CLI_OPT("--shards", CLI_U32, &cfg.shards),
		CLI_OPT("--repeat", CLI_U32, &repeat),
		CLI_OPT("--slots", CLI_STRING, &slots),
		CLI_OPT("--json", CLI_SWITCH, &json),
	};
	int parsed = cli_parse(&c, flags, sizeof flags / sizeof flags[0], help, &path);
	if (parsed != CLI_CONTINUE)
		return parsed;
	if (repeat == 0) {
		cli_error(&c, "--repeat: bad value '0' (want at least 1)");
		return SIM_EXIT_USAGE;
	}
	int status = sim_check_config(&c, &cfg, false);
	if (status != SIM_EXIT_OK)
		return status;

	struct trace t;
	status = sim_load(&c, path, &t);
	if (status != SIM_EXIT_OK)
		return status;
	FILE *sf = NULL;
	uint32_t *res = malloc((t.nhandles ? t.nhandles : 1) * sizeof *res);
	struct sim_result r;
	if (!res) {
		cli_error(&c, "out of memory");
		status = SIM_EXIT_FAIL;
		goto out;
	}
	struct progress pg;
	progress_start(&pg, "replay");
	int rc = sim_replay(&t, &cfg, repeat, res, &r, &pg);
	if (rc) {
		char why[256];
		if (rc == -EUCLEAN) {
			status = SIM_EXIT_BUG;
		} else {
			cli_error(&c, "capacity %u, warm %u, shards %u: %s", cfg.capacity, cfg.warm,
			          cfg.shards,
			          sim_refusal(rc, cfg.capacity, cfg.shards, why, sizeof why));
			status = SIM_EXIT_FAIL;
		}
		goto out;
	}
	if (slots) {
		static char buf[1 << 16];
		sf = cli_open_output(&c, "--slots", slots);
		if (!sf) {
			status = SIM_EXIT_IO;
			goto out;
		}
		setvbuf(sf, buf, _IOFBF, sizeof buf);
		for (size_t i = 0; i < t.nhandles && !ferror(sf); i++) {
			if (res[i] == SP_INDEX_NO_SLOT)
				fputs("-\n", sf);
			else
				fprintf(sf, "%u\n", res[i]);
		}
		status = cli_flush(&c, sf, sf == stdout ? "the slots to stdout" : slots, true);
		if (status != SIM_EXIT_OK)
			goto out;
	}
	/* With --slots -, stdout holds the slots alone. */
	sim_print_summary(sf == stdout ? stderr : stdout, &cfg, &r, json);
out:
	free(res);
	trace_free(&t);
	return status;
}
