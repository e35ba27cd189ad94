/*
 * cli.h: command-line plumbing for slotpool-sim: flag values that name the
 * bad flag and value on error, and the exit codes every command uses.
 */
#ifndef SP_TOOLS_CLI_H
#define SP_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses: 0 ok, 1 the library refused (message from sp_strerror),
 * 2 bad command line or bad trace, 3 an internal check failed (a bug). */
#define SIM_EXIT_OK 0
#define SIM_EXIT_FAIL 1
#define SIM_EXIT_USAGE 2
#define SIM_EXIT_BUG 3

/* Walks argv; cli->cmd names the command in messages ("replay"). */
struct cli {
	const char *cmd;
	int argc;
	char **argv;
	int i; /* index of the current argument */
};

/* The value after flag argv[i] (advancing i), or NULL after printing
 * "slotpool-sim CMD: FLAG needs a value". */
const char *cli_value(struct cli *c);

/* Parse a flag value; on error print "slotpool-sim CMD: FLAG: bad value 'V'
 * (want WHAT)" and return false. */
bool cli_u64(const struct cli *c, const char *flag, const char *v, uint64_t *out);
bool cli_u32(const struct cli *c, const char *flag, const char *v, uint32_t *out);
bool cli_double(const struct cli *c, const char *flag, const char *v, double lo, double hi,
		double *out);

/* Print "slotpool-sim CMD: MESSAGE" to stderr (printf-style). */
void cli_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SP_TOOLS_CLI_H */
