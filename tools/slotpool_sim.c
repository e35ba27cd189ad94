/* SPDX-License-Identifier: MIT */
/*
 * slotpool_sim.c: main() of slotpool-sim, which dispatches to the commands
 * (sim.h) and makes a failed write on stdout fail the command. See
 * docs/SIM.md for the manual.
 */
#include <errno.h>
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
	"`slotpool-sim COMMAND --help` explains each one; `slotpool-sim --version`\n"
	"prints the version. Exit status: 0 ok, 1 the library refused the\n"
	"configuration, 2 bad arguments or a bad trace, 3 an internal check failed,\n"
	"4 an output could not be written, 5 sweep --plot could not run gnuplot.\n"
	"Example:\n"
	"  slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 --seed 1 >w.trace\n"
	"  slotpool-sim sweep w.trace --capacity 256 --warm 0:64:8\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{"replay", sim_cmd_replay},
	{"gen", sim_cmd_gen},
	{"sweep", sim_cmd_sweep},
	{"mt", sim_cmd_mt},
};

/* What was buffered for stdout goes out now, and an error writing it (a full
 * disk, /dev/full) fails a command that would have succeeded. */
static int close_stdout(const char *cmd, int status)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad || status != SIM_EXIT_OK)
		return status;
	fprintf(stderr, "slotpool-sim%s%s: cannot write to stdout: %s\n", cmd ? " " : "",
	        cmd ? cmd : "", strerror(e));
	return SIM_EXIT_IO;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fprintf(argc < 2 ? stderr : stdout, usage, sp_version_string());
		return close_stdout(NULL, argc < 2 ? SIM_EXIT_USAGE : SIM_EXIT_OK);
	}
	if (!strcmp(argv[1], "--version")) {
		cli_print_version();
		return close_stdout(NULL, SIM_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return close_stdout(argv[1], commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "slotpool-sim: unknown command '%s' (try --help)\n", argv[1]);
	return SIM_EXIT_USAGE;
}
