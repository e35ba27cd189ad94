/*
 * slotpool_sim.c: main() of slotpool-sim, which only dispatches to the
 * commands (sim.h). See docs/SIM.md for the manual.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sim.h"
#include "slotpool.h"

static const char usage[] =
	"usage: slotpool-sim COMMAND [ARGS]   (slotpool %s)\n"
	"\n"
	"Replay slot allocation traces on slotpool's index allocator and find the\n"
	"max_unused_warm_slots budget that fits your traffic.\n"
	"\n"
	"commands:\n"
	"  replay TRACE --capacity C --warm W   replay a trace, print a summary\n"
	"  gen --ops N --keys K --capacity C --seed X   write a synthetic trace\n"
	"  sweep TRACE --capacity C --warm LIST|FROM:TO:STEP|--all\n"
	"                                        hit rate and memory per budget\n"
	"  mt --capacity C --warm W --threads T --ops N ...   threaded throughput\n"
	"\n"
	"`slotpool-sim COMMAND --help` explains each one. Example:\n"
	"  slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 --seed 1 >w.trace\n"
	"  slotpool-sim sweep w.trace --capacity 256 --warm 0:64:8\n";

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fprintf(argc < 2 ? stderr : stdout, usage, sp_version_string());
		return argc < 2 ? SIM_EXIT_USAGE : SIM_EXIT_OK;
	}
	if (!strcmp(argv[1], "replay"))
		return sim_cmd_replay(argc - 2, argv + 2);
	if (!strcmp(argv[1], "gen"))
		return sim_cmd_gen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "sweep"))
		return sim_cmd_sweep(argc - 2, argv + 2);
	if (!strcmp(argv[1], "mt"))
		return sim_cmd_mt(argc - 2, argv + 2);
	fprintf(stderr, "slotpool-sim: unknown command '%s' (try --help)\n", argv[1]);
	return SIM_EXIT_USAGE;
}
