/*
 * cli.c: flag value parsing for slotpool-sim (cli.h). Numbers are strict:
 * decimal digits only for integers, the whole string must be consumed, and a
 * value out of range is an error naming the flag, never a silent clamp.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "slotpool-sim %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_value(struct cli *c)
{
	const char *flag = c->argv[c->i];
	if (c->i + 1 >= c->argc) {
		cli_error(c, "%s needs a value (see --help)", flag);
		return NULL;
	}
	return c->argv[++c->i];
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
	cli_error(c, "%s: bad value '%s' (want a decimal integer 0..18446744073709551615)", flag, v);
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

static bool parse_value(struct cli *c, struct cli_flag *f)
{
	if (f->type == CLI_SWITCH) {
		*(int *)f->out = 1;
		return true;
	}
	const char *v = cli_value(c);
	if (!v)
		return false;
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

int cli_parse(struct cli *c, struct cli_flag *flags, size_t n, const char *help,
	      const char **trace)
{
	for (c->i = 0; c->i < c->argc; c->i++) {
		const char *a = c->argv[c->i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			return SIM_EXIT_OK;
		}
		if (a[0] != '-' || a[1] != '-') {
			if (trace && !*trace) {
				*trace = a;
				continue;
			}
			cli_error(c, "unexpected argument '%s'%s (see --help)", a,
				  trace ? ": one TRACE only" : "");
			return SIM_EXIT_USAGE;
		}
		struct cli_flag *f = flags;
		while (f < flags + n && strcmp(f->name, a) != 0)
			f++;
		if (f == flags + n) {
			cli_error(c, "unknown flag '%s' (see --help)", a);
			return SIM_EXIT_USAGE;
		}
		if (!parse_value(c, f))
			return SIM_EXIT_USAGE;
		f->seen = true;
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
