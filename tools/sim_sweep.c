/*
 * sim_sweep.c: `slotpool-sim sweep`: the tuning curve. Replays a trace for
 * each warm budget in one pass (sim_replay_many) and prints a table and a
 * bar chart of the affine hit rate against the budget, optionally a CSV.
 * docs/SWEEP.md explains why this is one pass over the trace with one index
 * per budget rather than a stack algorithm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sim.h"
#include "sim_run.h"
#include "slotpool.h"
#include "trace.h"

static const char help[] =
	"usage: slotpool-sim sweep TRACE --capacity C (--warm LIST|FROM:TO:STEP | --all)\n"
	"                          [--shards S] [--csv FILE]\n"
	"\n"
	"Replays TRACE ('-' = stdin) once per budget of unused warm slots, all budgets\n"
	"in a single pass, and prints per budget: the affine hit rate (a K lines served\n"
	"from K's own warm slot / all a K lines), cold picks, warm steals, the peak of\n"
	"unused warm slots and of unused bytes resident; then a chart of hit rate\n"
	"against budget. Every number equals `slotpool-sim replay` at that budget.\n"
	"  --capacity C          slots in the index (required)\n"
	"  --warm 0,4,16,64      budgets as a list, or\n"
	"  --warm 0:256:16       FROM:TO:STEP (TO included when on the step)\n"
	"  --all                 every budget 0..C\n"
	"  --shards S            sp_index_config.shards (default 1; 0 = automatic)\n"
	"  --csv FILE            also write the table as CSV ('-' = stdout)\n"
	"Progress goes to stderr when it is a terminal.\n"
	"Example:\n"
	"  slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 --seed 1 >w.trace\n"
	"  slotpool-sim sweep w.trace --capacity 256 --warm 0:64:4\n";

#define MAX_BUDGETS 100000u

/* Parses LIST or FROM:TO:STEP into a fresh array; NULL after an error. */
static uint32_t *parse_budgets(const struct cli *c, const char *v, size_t *n)
{
	uint32_t *w = NULL;
	char *copy = strdup(v), *save = NULL;
	size_t k = 0;
	if (!copy)
		return NULL;
	if (strchr(copy, ':')) {
		char *f[3];
		uint32_t x[3];
		f[0] = strtok_r(copy, ":", &save);
		f[1] = strtok_r(NULL, ":", &save);
		f[2] = strtok_r(NULL, ":", &save);
		if (!f[0] || !f[1] || !f[2] || strtok_r(NULL, ":", &save) || v[strlen(v) - 1] == ':' ||
		    strstr(v, "::")) {
			cli_error(c, "--warm: bad value '%s' (want FROM:TO:STEP)", v);
			goto bad;
		}
		for (int i = 0; i < 3; i++)
			if (!cli_u32(c, "--warm", f[i], &x[i]))
				goto bad;
		if (x[2] == 0 || x[0] > x[1] || (x[1] - x[0]) / x[2] >= MAX_BUDGETS) {
			cli_error(c, "--warm: bad value '%s' (want FROM <= TO, STEP >= 1, "
				  "at most %u budgets)", v, MAX_BUDGETS);
			goto bad;
		}
		k = (x[1] - x[0]) / x[2] + 1;
		w = malloc(k * sizeof *w);
		if (!w)
			goto bad;
		for (size_t i = 0; i < k; i++)
			w[i] = x[0] + (uint32_t)i * x[2];
	} else {
		size_t cap = 1;
		for (const char *p = v; *p; p++)
			cap += *p == ',';
		if (cap > MAX_BUDGETS || !*v || v[strlen(v) - 1] == ',' || strstr(v, ",,") || v[0] == ',') {
			cli_error(c, "--warm: bad value '%s' (want a list like 0,8,64)", v);
			goto bad;
		}
		w = malloc(cap * sizeof *w);
		if (!w)
			goto bad;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (!cli_u32(c, "--warm", t, &w[k++]))
				goto bad;
	}
	free(copy);
	*n = k;
	return w;
bad:
	free(copy);
	free(w);
	return NULL;
}

static void progress(double done)
{
	fprintf(stderr, "\rsweep: %3.0f%%", done * 100.0);
	if (done >= 1.0)
		fputs("\r            \r", stderr);
}

static double rate_of(const struct sim_result *r)
{
	return r->keyed_ops ? (double)r->affine_hits / (double)r->keyed_ops : 0.0;
}

static void print_table(FILE *f, const struct sim_result *r, size_t n)
{
	fprintf(f, "%8s %9s %12s %12s %12s %10s %14s\n", "budget", "hit_rate", "affine_hits",
		"cold_picks", "warm_steals", "peak_warm", "peak_bytes");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%8u %8.2f%% %12llu %12llu %12llu %10llu %14llu\n", r[i].warm,
			100.0 * rate_of(&r[i]), (unsigned long long)r[i].affine_hits,
			(unsigned long long)r[i].cold_picks, (unsigned long long)r[i].warm_steals,
			(unsigned long long)r[i].peak_unused_warm,
			(unsigned long long)r[i].peak_unused_bytes);
}

/* Horizontal bars, zoomed to the range of hit rates seen (rounded out to 5%)
 * so that small gains still show, with the scale printed. The first budget
 * that reaches 90% of the whole gain is marked: past it, warm slots cost
 * memory for little. At most ~40 rows: long sweeps are sampled evenly, the
 * first, last and marked budgets always shown. */
static void print_chart(FILE *f, const struct sim_result *r, size_t n)
{
	const int width = 50;
	double lo = 1.0, hi = 0.0;
	size_t knee = 0;
	for (size_t i = 0; i < n; i++) {
		double x = rate_of(&r[i]);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	for (size_t i = 0; i < n; i++)
		if (rate_of(&r[i]) >= rate_of(&r[0]) + 0.9 * (hi - rate_of(&r[0]))) {
			knee = i;
			break;
		}
	lo = floor(lo * 20.0) / 20.0;
	hi = ceil(hi * 20.0) / 20.0;
	if (hi - lo < 0.05)
		hi = lo + 0.05;
	size_t stride = n > 40 ? (n + 39) / 40 : 1;
	char los[16], his[16];
	snprintf(los, sizeof los, "%.0f%%", lo * 100);
	snprintf(his, sizeof his, "%.0f%%", hi * 100);
	fprintf(f, "\naffine hit rate by warm budget\n%8s  %s%*s\n", "budget", los,
		width - (int)strlen(los), his);
	for (size_t i = 0; i < n; i++) {
		if (i % stride && i != n - 1 && i != knee)
			continue;
		double x = rate_of(&r[i]);
		int bar = (int)((x - lo) / (hi - lo) * width + 0.5);
		fprintf(f, "%8u |", r[i].warm);
		for (int j = 0; j < width; j++)
			fputc(j < bar ? '#' : ' ', f);
		fprintf(f, "| %6.2f%%%s\n", 100.0 * x,
			i == knee && knee > 0 ? "  <- 90% of the gain" : "");
	}
}

static int write_csv(FILE *f, const struct sim_result *r, size_t n)
{
	fprintf(f, "budget,affine_hit_rate,affine_hits,keyed_allocs,cold_picks,warm_steals,"
		   "failed_allocs,peak_in_use,peak_unused_warm,peak_unused_bytes_resident\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%u,%.6f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", r[i].warm,
			rate_of(&r[i]), (unsigned long long)r[i].affine_hits,
			(unsigned long long)r[i].keyed_ops, (unsigned long long)r[i].cold_picks,
			(unsigned long long)r[i].warm_steals, (unsigned long long)r[i].failed_allocs,
			(unsigned long long)r[i].peak_in_use, (unsigned long long)r[i].peak_unused_warm,
			(unsigned long long)r[i].peak_unused_bytes);
	return fflush(f) != 0 || ferror(f) ? -1 : 0;
}

int sim_cmd_sweep(int argc, char **argv)
{
	struct cli c = {.cmd = "sweep", .argc = argc, .argv = argv};
	/* One shard by default: the exact seed policy (0 would mean automatic). */
	struct sim_config cfg = {.shards = 1};
	const char *path = NULL, *csv = NULL, *warmarg = NULL;
	int all = 0;
	struct cli_flag flags[] = {
		CLI_REQ("--capacity", CLI_U32, &cfg.capacity),
		CLI_OPT("--warm", CLI_STRING, &warmarg),
		CLI_OPT("--all", CLI_SWITCH, &all),
		CLI_OPT("--shards", CLI_U32, &cfg.shards),
		CLI_OPT("--csv", CLI_STRING, &csv),
	};
	int parsed = cli_parse(&c, flags, sizeof flags / sizeof flags[0], help, &path);
	if (parsed != CLI_CONTINUE)
		return parsed;
	if (!warmarg == !all) {
		cli_error(&c, "%s (see --help)",
			  all ? "--warm and --all exclude each other" : "--warm or --all is required");
		return SIM_EXIT_USAGE;
	}
	size_t n = 0;
	uint32_t *w;
	if (all) {
		if (cfg.capacity >= MAX_BUDGETS) {
			cli_error(&c, "--all: capacity %u gives too many budgets (at most %u); use --warm "
				  "FROM:TO:STEP", cfg.capacity, MAX_BUDGETS);
			return SIM_EXIT_USAGE;
		}
		n = (size_t)cfg.capacity + 1;
		w = malloc(n * sizeof *w);
		for (size_t i = 0; w && i < n; i++)
			w[i] = (uint32_t)i;
	} else {
		w = parse_budgets(&c, warmarg, &n);
	}
	if (!w)
		return SIM_EXIT_USAGE;

	struct trace t;
	char err[512];
	int rc = trace_load(path, &t, err, sizeof err);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		free(w);
		return SIM_EXIT_USAGE;
	}
	int status = SIM_EXIT_OK;
	struct sim_result *r = calloc(n, sizeof *r);
	if (!r) {
		cli_error(&c, "out of memory");
		status = SIM_EXIT_FAIL;
		goto out;
	}
	int tty = isatty(2) && (double)t.nops * (double)n > 2e6;
	rc = sim_replay_many(&t, &cfg, w, n, r, tty ? progress : NULL);
	if (rc) {
		cli_error(&c, "capacity %u, shards %u: %s", cfg.capacity, cfg.shards, sp_strerror(rc));
		status = SIM_EXIT_FAIL;
		goto out;
	}
	printf("trace %s: %zu ops, %zu keyed allocs, capacity %u\n\n", path, t.nops, t.nkeyed,
	       cfg.capacity);
	print_table(stdout, r, n);
	print_chart(stdout, r, n);
	if (csv) {
		FILE *f = strcmp(csv, "-") ? fopen(csv, "w") : stdout;
		if (!f || write_csv(f, r, n)) {
			cli_error(&c, "--csv: cannot write '%s'", csv);
			status = SIM_EXIT_FAIL;
		}
		if (f && f != stdout)
			fclose(f);
	}
out:
	free(r);
	free(w);
	trace_free(&t);
	return status;
}
