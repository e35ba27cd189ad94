/* SPDX-License-Identifier: MIT */
/*
 * cli.h: command-line plumbing for slotpool-sim: one table-driven flag parser
 * for every command (getopt_long underneath), flag values that name the bad
 * flag and value on error, output checks, and the exit codes every command
 * uses.
 */
#ifndef SP_TOOLS_CLI_H
#define SP_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

/* Exit statuses, the table of docs/SIM.md "Exit status". */
#define SIM_EXIT_OK 0    /* done (warnings, if any, on stderr) */
#define SIM_EXIT_FAIL 1  /* the library refused the configuration; out of memory */
#define SIM_EXIT_USAGE 2 /* bad command line; a bad or unreadable trace */
#define SIM_EXIT_BUG 3   /* an internal consistency check failed */
#define SIM_EXIT_IO 4    /* an output (stdout or a FILE flag) could not be written */
#define SIM_EXIT_PLOT 5  /* sweep --plot: gnuplot is missing or failed */

/* A command's arguments: argv[0] is the command's name ("replay"), which
 * messages use, and argv[1..argc) what follows it. cli_parse permutes argv. */
struct cli {
	const char *cmd;
	int argc;
	char **argv;
};

/* Parse a flag value; on error print "slotpool-sim CMD: FLAG: bad value 'V'
 * (want WHAT)" and return false. */
bool cli_u64(const struct cli *c, const char *flag, const char *v, uint64_t *out);
bool cli_u32(const struct cli *c, const char *flag, const char *v, uint32_t *out);
bool cli_double(const struct cli *c, const char *flag, const char *v, double lo, double hi,
                double *out);

/* One flag of a command (cli_parse). `out` points at an int (CLI_SWITCH:
 * set to 1), a uint32_t, a uint64_t, a double (in [lo, hi]) or a const
 * char * (CLI_STRING: the value as given). */
enum cli_type { CLI_SWITCH, CLI_U32, CLI_U64, CLI_DOUBLE, CLI_STRING };
struct cli_flag {
	const char *name; /* "--capacity" */
	void *out;
	double lo, hi;
	enum cli_type type;
	bool required;
	bool seen; /* set by cli_parse */
};

/* Most flags a command may have. */
#define CLI_MAX_FLAGS 24

/* Table entries: an optional flag, a required one, a number in [lo, hi]. */
#define CLI_OPT(flag, kind, dst)                                                                   \
	{                                                                                          \
		.name = (flag), .type = (kind), .out = (dst)                                       \
	}
#define CLI_REQ(flag, kind, dst)                                                                   \
	{                                                                                          \
		.name = (flag), .type = (kind), .out = (dst), .required = true                     \
	}
#define CLI_NUM(flag, dst, min, max)                                                               \
	{                                                                                          \
		.name = (flag), .type = CLI_DOUBLE, .out = (dst), .lo = (min), .hi = (max)         \
	}

/* cli_parse's result when the command should go on. */
#define CLI_CONTINUE (-1)

/*
 * Parse c->argv against flags[0..n-1] (n <= CLI_MAX_FLAGS) with getopt_long,
 * in argument order: "--flag value" and "--flag=value" alike, flag names in
 * full (no abbreviations, so that a new flag never changes what an old
 * command line means). "--help" or "-h" prints `help` to stdout and
 * "--version" prints "slotpool-sim X.Y.Z"; both return SIM_EXIT_OK. An
 * argument that is not a flag ("-" included, and all after "--") is the
 * TRACE when `trace` is not NULL (one only), else an error. Errors: an
 * unknown flag, a flag given twice, a missing or bad value, a value given to
 * a switch, then a missing TRACE, then the first missing required flag in
 * table order; each is printed (cli_error) and returns SIM_EXIT_USAGE.
 * Otherwise CLI_CONTINUE.
 */
int cli_parse(struct cli *c, struct cli_flag *flags, size_t n, const char *help,
              const char **trace);

/* Print "slotpool-sim CMD: MESSAGE" to stderr (printf-style). */
void cli_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "slotpool-sim CMD: warning: MESSAGE" to stderr (printf-style). */
void cli_warn(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "slotpool-sim X.Y.Z" (the library's version) to stdout. */
void cli_print_version(void);

/*
 * cli_flush: flush f, named `what` in messages ("stdout", "--slots FILE"),
 * and, when close is set and f is not stdout, close it. Returns SIM_EXIT_OK,
 * or SIM_EXIT_IO after printing "slotpool-sim CMD: cannot write WHAT: why"
 * when a write failed now or earlier (ferror).
 */
int cli_flush(const struct cli *c, FILE *f, const char *what, bool close);

/* cli_open_output: "-" is stdout, else FILE opened for writing; NULL after
 * printing "slotpool-sim CMD: FLAG: cannot open 'PATH': why". */
FILE *cli_open_output(const struct cli *c, const char *flag, const char *path);

#endif /* SP_TOOLS_CLI_H */
