/* SPDX-License-Identifier: MIT */
/*
 * cli.c: flag parsing for slotpool-sim (cli.h). getopt_long walks argv, in
 * order (optstring "-": a TRACE comes back as option 1 where it stands, even
 * under POSIXLY_CORRECT), with its own messages off so that every error reads
 * "slotpool-sim CMD: ...". Numbers are strict: decimal digits only for
 * integers, the whole string must be consumed, and a value out of range is
 * an error naming the flag, never a silent clamp.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slotpool.h"

void cli_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "slotpool-sim %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warn(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "slotpool-sim %s: warning: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_version(void)
{
	printf("slotpool-sim %s\n", sp_version_string());
}

int cli_flush(const struct cli *c, FILE *f, const char *what, bool close)
{
	int bad = fflush(f) != 0 || ferror(f);
	int e = errno;
	if (close && f != stdout && fclose(f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad)
		return SIM_EXIT_OK;
	cli_error(c, "cannot write %s: %s", what, e ? strerror(e) : "write error");
	return SIM_EXIT_IO;
}

FILE *cli_open_output(const struct cli *c, const char *flag, const char *path)
{
	if (strcmp(path, "-") == 0)
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		cli_error(c, "%s: cannot open '%s': %s", flag, path, strerror(errno));
	return f;
}

bool cli_u64(const struct cli *c, const char *flag, const char *v, uint64_t *out)
{
	uint64_t x = 0;
	const char *p = v;
	if (!*p)
		goto bad;
	for (; *p; p++) {
		unsigned d = (unsigned)(unsigned char)*p - '0';
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			goto bad;
		x = x * 10 + d;
	}
	*out = x;
	return true;
bad:
	cli_error(c, "%s: bad value '%s' (want a decimal integer 0..18446744073709551615)", flag,
	          v);
	return false;
}

bool cli_u32(const struct cli *c, const char *flag, const char *v, uint32_t *out)
{
	uint64_t x;
	const char *p = v;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			break;
	if (!*v || *p || p - v > 10 || (x = strtoull(v, NULL, 10)) > UINT32_MAX) {
		cli_error(c, "%s: bad value '%s' (want a decimal integer 0..4294967295)", flag, v);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

bool cli_double(const struct cli *c, const char *flag, const char *v, double lo, double hi,
                double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x) || x < lo || x > hi) {
		cli_error(c, "%s: bad value '%s' (want a number in [%g, %g])", flag, v, lo, hi);
		return false;
	}
	*out = x;
	return true;
}

static bool parse_value(const struct cli *c, struct cli_flag *f, const char *v)
{
	if (f->type == CLI_SWITCH) {
		*(int *)f->out = 1;
		return true;
	}
	if (!v)
		return false; /* getopt_long gives a value to every other flag */
	switch (f->type) {
	case CLI_U32:
		return cli_u32(c, f->name, v, f->out);
	case CLI_U64:
		return cli_u64(c, f->name, v, f->out);
	case CLI_DOUBLE:
		return cli_double(c, f->name, v, f->lo, f->hi, f->out);
	default:
		*(const char **)f->out = v;
		return true;
	}
}

/* getopt_long values: table entries from OPT_BASE, then these. */
enum { OPT_VERSION = 0x100, OPT_BASE = 0x200 };

/* The name of `val` with its dashes, for messages. */
static const char *opt_name(const struct cli_flag *flags, size_t n, int val)
{
	if (val == 'h')
		return "--help";
	if (val == OPT_VERSION)
		return "--version";
	if (val >= OPT_BASE && (size_t)(val - OPT_BASE) < n)
		return flags[val - OPT_BASE].name;
	return NULL;
}

/* Whether argument `arg` spells long option `name` in full ("--name" or
 * "--name=..."): getopt_long also takes unambiguous abbreviations. */
static bool spelled_out(const char *arg, const char *name)
{
	size_t k = strlen(name);
	return arg[0] == '-' && arg[1] == '-' && strncmp(arg + 2, name, k) == 0 &&
	       (arg[2 + k] == '\0' || arg[2 + k] == '=');
}

/* An unknown flag as given, without "=value". */
static void unknown_flag(const struct cli *c, const char *arg)
{
	int len = (int)strcspn(arg, "=");
	cli_error(c, "unknown flag '%.*s' (see --help)", len, arg);
}

int cli_parse(struct cli *c, struct cli_flag *flags, size_t n, const char *help, const char **trace)
{
	struct option opts[CLI_MAX_FLAGS + 3];
	if (n > CLI_MAX_FLAGS) {
		cli_error(c, "BUG: %zu flags, at most %d", n, CLI_MAX_FLAGS);
		return SIM_EXIT_BUG;
	}
	for (size_t i = 0; i < n; i++) {
		opts[i].name = flags[i].name + 2;
		opts[i].has_arg = flags[i].type == CLI_SWITCH ? no_argument : required_argument;
		opts[i].flag = NULL;
		opts[i].val = OPT_BASE + (int)i;
		flags[i].seen = false;
	}
	opts[n] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n + 1] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	opts[n + 2] = (struct option){NULL, 0, NULL, 0};

	opterr = 0;
	optind = 0; /* a full restart, in case a caller parsed before */
	for (;;) {
		int li = -1;
		int o = getopt_long(c->argc, c->argv, "-:h", opts, &li);
		if (o == -1)
			break;
		/* The argument that held the option: the one before its value
		 * when the value came separately. */
		const char *arg = c->argv[optind - 1];
		if (optarg && optarg == arg && o != 1)
			arg = c->argv[optind - 2];
		if (o == 1) {
			if (trace && !*trace) {
				*trace = optarg;
				continue;
			}
			cli_error(c, "unexpected argument '%s'%s (see --help)", optarg,
			          trace ? ": one TRACE only" : "");
			return SIM_EXIT_USAGE;
		}
		if (o == '?' && optopt > 0 && optopt < OPT_VERSION) {
			/* A short option: argv[optind - 1] may not hold it yet. */
			cli_error(c, "unknown flag '-%c' (see --help)", optopt);
			return SIM_EXIT_USAGE;
		}
		if (o == '?' || o == ':') {
			const char *name = opt_name(flags, n, optopt);
			if (!name || (arg[1] == '-' && !spelled_out(arg, name + 2)))
				unknown_flag(c, arg);
			else if (o == ':')
				cli_error(c, "%s needs a value (see --help)", name);
			else
				cli_error(c, "%s takes no value (see --help)", name);
			return SIM_EXIT_USAGE;
		}
		if (li >= 0 && !spelled_out(arg, opts[li].name)) {
			unknown_flag(c, arg);
			return SIM_EXIT_USAGE;
		}
		if (o == 'h') {
			fputs(help, stdout);
			return SIM_EXIT_OK;
		}
		if (o == OPT_VERSION) {
			cli_print_version();
			return SIM_EXIT_OK;
		}
		struct cli_flag *f = &flags[o - OPT_BASE];
		if (f->seen) {
			cli_error(c, "%s given twice (each flag at most once; see --help)",
			          f->name);
			return SIM_EXIT_USAGE;
		}
		f->seen = true;
		if (!parse_value(c, f, optarg))
			return SIM_EXIT_USAGE;
	}
	for (int i = optind; i < c->argc; i++) { /* after "--" */
		if (trace && !*trace) {
			*trace = c->argv[i];
			continue;
		}
		cli_error(c, "unexpected argument '%s'%s (see --help)", c->argv[i],
		          trace ? ": one TRACE only" : "");
		return SIM_EXIT_USAGE;
	}
	if (trace && !*trace) {
		cli_error(c, "TRACE is required (see --help)");
		return SIM_EXIT_USAGE;
	}
	for (size_t i = 0; i < n; i++) {
		if (flags[i].required && !flags[i].seen) {
			cli_error(c, "%s is required (see --help)", flags[i].name);
			return SIM_EXIT_USAGE;
		}
	}
	return CLI_CONTINUE;
}
