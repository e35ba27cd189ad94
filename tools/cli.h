/*
 * cli.h: command-line plumbing for slotpool-sim: a table-driven flag parser,
 * flag values that name the bad flag and value on error, and the exit codes
 * every command uses.
 */
#ifndef SP_TOOLS_CLI_H
#define SP_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
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

/* Table entries: an optional flag, a required one, a number in [lo, hi]. */
#define CLI_OPT(flag, kind, dst) {.name = (flag), .type = (kind), .out = (dst)}
#define CLI_REQ(flag, kind, dst) {.name = (flag), .type = (kind), .out = (dst), .required = true}
#define CLI_NUM(flag, dst, min, max) \
	{.name = (flag), .type = CLI_DOUBLE, .out = (dst), .lo = (min), .hi = (max)}

/* cli_parse's result when the command should go on. */
#define CLI_CONTINUE (-1)

/*
 * Parse c->argv against flags[0..n-1]: "--help" or "-h" prints `help` and
 * returns SIM_EXIT_OK; an argument not starting with "--" is the TRACE when
 * `trace` is not NULL (one only), else an error. Then a missing TRACE, then
 * the first missing required flag in table order, is an error. Each error
 * is printed (cli_error) and returns SIM_EXIT_USAGE; otherwise CLI_CONTINUE.
 * A flag given twice keeps its last value.
 */
int cli_parse(struct cli *c, struct cli_flag *flags, size_t n, const char *help,
	      const char **trace);

/* Print "slotpool-sim CMD: MESSAGE" to stderr (printf-style). */
void cli_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* SP_TOOLS_CLI_H */
