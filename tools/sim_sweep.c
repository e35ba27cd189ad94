/* SPDX-License-Identifier: MIT */
/*
 * sim_sweep.c: `slotpool-sim sweep`: the tuning curve. Replays a trace for
 * each warm budget in one pass (sim_replay_many) and prints a table, a bar
 * chart of the affine hit rate against the budget and a one-line
 * recommendation; optionally a CSV and an SVG drawn by gnuplot (sim_plot.c).
 * docs/SWEEP.md explains why this is one pass over the trace with one index
 * per budget rather than a stack algorithm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sim.h"
#include "sim_plot.h"
#include "sim_run.h"
#include "slotpool.h"
#include "trace.h"

static const char help[] =
	"usage: slotpool-sim sweep TRACE --capacity C (--warm LIST|FROM:TO:STEP | --all)\n"
	"                          [--shards S] [--csv FILE] [--plot FILE.svg]\n"
	"\n"
	"Replays TRACE ('-' = stdin) once per budget of unused warm slots (the warm\n"
	"slots kept beyond the live ones, max_unused_warm_slots), all budgets in a\n"
	"single pass, and prints per budget: the affine hit rate (a K lines served\n"
	"from K's own warm slot / all a K lines), cold picks, warm steals, the peak of\n"
	"unused warm slots and of unused bytes resident; then a chart of hit rate\n"
	"against budget and a last line with the budget to choose: the smallest that\n"
	"reaches 90% of the gain in hit rate. Every number equals `slotpool-sim\n"
	"replay` at that budget.\n"
	"  --capacity C          slots in the index (required)\n"
	"  --warm 0,4,16,64      budgets as a list, or\n"
	"  --warm 0:256:16       FROM:TO:STEP (TO included when on the step)\n"
	"  --all                 every budget 0..C\n"
	"                        (budgets are sorted, duplicates dropped)\n"
	"  --shards S            sp_index_config.shards (default 1; 0 = automatic)\n"
	"  --csv FILE            also write the table as CSV ('-' = stdout: then the\n"
	"                        CSV alone goes to stdout, the rest to stderr)\n"
	"  --plot FILE.svg       also draw hit rate and peak resident bytes against\n"
	"                        the budget with gnuplot (package gnuplot-nox), the\n"
	"                        knee marked ('-' = stdout, as for --csv)\n"
	"  --version             print slotpool-sim's version\n"
	"Progress, with the time left, goes to stderr when it is a terminal.\n"
	"Exit status: 0 ok, 1 the library refused the configuration, 2 bad\n"
	"arguments or a bad trace, 3 an internal check failed, 4 an output could not\n"
	"be written, 5 --plot: gnuplot is not installed or failed.\n"
	"Example:\n"
	"  slotpool-sim gen --ops 200000 --keys 50 --zipf 1.1 --capacity 256 --seed 1 >w.trace\n"
	"  slotpool-sim sweep w.trace --capacity 256 --warm 0:64:4\n";

#define MAX_BUDGETS 100000u

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Increasing, each budget once: the knee is "the first budget" that does
 * something, and a row per budget is what a reader expects. */
static uint32_t *sort_budgets(uint32_t *w, size_t *n)
{
	size_t k = 0;
	qsort(w, *n, sizeof *w, cmp_u32);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || w[i] != w[k - 1])
			w[k++] = w[i];
	*n = k;
	return w;
}

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
		if (!f[0] || !f[1] || !f[2] || strtok_r(NULL, ":", &save) ||
		    v[strlen(v) - 1] == ':' || strstr(v, "::")) {
			cli_error(c, "--warm: bad value '%s' (want FROM:TO:STEP)", v);
			goto bad;
		}
		for (int i = 0; i < 3; i++)
			if (!cli_u32(c, "--warm", f[i], &x[i]))
				goto bad;
		if (x[2] == 0 || x[0] > x[1] || (x[1] - x[0]) / x[2] >= MAX_BUDGETS) {
			cli_error(c,
			          "--warm: bad value '%s' (want FROM <= TO, STEP >= 1, "
			          "at most %u budgets)",
			          v, MAX_BUDGETS);
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
		if (cap > MAX_BUDGETS || !*v || v[strlen(v) - 1] == ',' || strstr(v, ",,") ||
		    v[0] == ',') {
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
	return sort_budgets(w, n);
bad:
	free(copy);
	free(w);
	return NULL;
}

static double rate_of(const struct sim_result *r)
{
	return r->keyed_ops ? (double)r->affine_hits / (double)r->keyed_ops : 0.0;
}

/* The knee: the first (smallest) budget whose hit rate reaches 90% of the
 * whole gain, from the smallest budget's rate to the best rate seen. Past it,
 * warm slots cost memory for little. r is sorted by budget. */
static size_t knee_of(const struct sim_result *r, size_t n)
{
	double base = rate_of(&r[0]), hi = base;
	for (size_t i = 0; i < n; i++)
		hi = rate_of(&r[i]) > hi ? rate_of(&r[i]) : hi;
	for (size_t i = 0; i < n; i++)
		if (rate_of(&r[i]) >= base + 0.9 * (hi - base))
			return i;
	return 0;
}

/* "12.0 MiB": binary units, one decimal, so the line stays short. */
static void fmt_bytes(char *dst, size_t len, uint64_t b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double x = (double)b;
	int u = 0;
	while (u < 6 && x >= 1024.0) {
		x /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(dst, len, "%llu B", (unsigned long long)b);
	else
		snprintf(dst, len, "%.1f %s", x, unit[u]);
}

/* The last line: which budget to choose and what it buys and costs, so that
 * someone who recorded their traffic knows what to configure. */
static void print_recommendation(FILE *f, const struct trace *t, const struct sim_result *r,
                                 size_t n)
{
	if (t->nops == 0) {
		fputs("no recommendation: the trace has no operations\n", f);
		return;
	}
	if (n < 2) {
		fprintf(f,
		        "no recommendation: one budget tried (--warm %u); give a range such as "
		        "--warm 0:64:4, or --all\n",
		        r[0].warm);
		return;
	}
	size_t k = knee_of(r, n);
	double base = rate_of(&r[0]), best = base;
	int bytes = 0;
	for (size_t i = 0; i < n; i++) {
		best = rate_of(&r[i]) > best ? rate_of(&r[i]) : best;
		bytes |= r[i].peak_unused_bytes != 0;
	}
	char cost[64];
	if (bytes) {
		char b[32];
		fmt_bytes(b, sizeof b, r[k].peak_unused_bytes);
		snprintf(cost, sizeof cost, "peak resident %s", b);
	} else {
		snprintf(cost, sizeof cost, "peak %llu unused warm slots",
		         (unsigned long long)r[k].peak_unused_warm);
	}
	if (t->nkeyed == 0) {
		fprintf(f,
		        "recommended: --warm %u (the trace has no 'a KEY' line, so no budget buys "
		        "hits: the smallest costs least; %s)\n",
		        r[0].warm, cost);
	} else if (best <= base) {
		fprintf(f,
		        "recommended: --warm %u (hit rate %.3f, and no larger budget tried does "
		        "better; %s)\n",
		        r[0].warm, base, cost);
	} else {
		fprintf(f,
		        "recommended: --warm %u (hit rate %.3f, 90%% of the gain from %.3f at "
		        "--warm %u to %.3f; %s)%s\n",
		        r[k].warm, rate_of(&r[k]), base, r[0].warm, best, cost,
		        k == n - 1 ? "; the largest budget tried: larger ones may gain more" : "");
	}
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
	size_t knee = knee_of(r, n);
	for (size_t i = 0; i < n; i++) {
		double x = rate_of(&r[i]);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
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

static void write_csv(FILE *f, const struct sim_result *r, size_t n)
{
	fprintf(f, "budget,affine_hit_rate,affine_hits,keyed_allocs,cold_picks,warm_steals,"
	           "failed_allocs,peak_in_use,peak_unused_warm,peak_unused_bytes_resident\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%u,%.6f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", r[i].warm,
		        rate_of(&r[i]), (unsigned long long)r[i].affine_hits,
		        (unsigned long long)r[i].keyed_ops, (unsigned long long)r[i].cold_picks,
		        (unsigned long long)r[i].warm_steals,
		        (unsigned long long)r[i].failed_allocs,
		        (unsigned long long)r[i].peak_in_use,
		        (unsigned long long)r[i].peak_unused_warm,
		        (unsigned long long)r[i].peak_unused_bytes);
}

int sim_cmd_sweep(int argc, char **argv)
{
	struct cli c = {.cmd = "sweep", .argc = argc, .argv = argv};
	/* One shard by default: the exact seed policy (0 would mean automatic). */
	struct sim_config cfg = {.shards = 1};
	const char *path = NULL, *csv = NULL, *warmarg = NULL, *plot = NULL;
	int all = 0;
	struct cli_flag flags[] = {
		CLI_REQ("--capacity", CLI_U32, &cfg.capacity),
		CLI_OPT("--warm", CLI_STRING, &warmarg),
		CLI_OPT("--all", CLI_SWITCH, &all),
		CLI_OPT("--shards", CLI_U32, &cfg.shards),
		CLI_OPT("--csv", CLI_STRING, &csv),
		CLI_OPT("--plot", CLI_STRING, &plot),
	};
	int parsed = cli_parse(&c, flags, sizeof flags / sizeof flags[0], help, &path);
	if (parsed != CLI_CONTINUE)
		return parsed;
	if (!warmarg == !all) {
		cli_error(&c, "%s (see --help)",
		          all ? "--warm and --all exclude each other"
		              : "--warm or --all is required");
		return SIM_EXIT_USAGE;
	}
	int csv_out = csv && !strcmp(csv, "-"), plot_out = plot && !strcmp(plot, "-");
	if (csv_out && plot_out) {
		cli_error(&c, "--csv - and --plot - both want stdout: give one a FILE");
		return SIM_EXIT_USAGE;
	}
	/* Before any work: a missing gnuplot should not cost a long sweep. */
	char gnuplot[4096];
	if (plot && sim_plot_find(gnuplot, sizeof gnuplot) != 0) {
		cli_error(&c, "--plot: gnuplot is not installed (no gnuplot on PATH); install it, "
		              "e.g. `apt-get install gnuplot-nox`, or leave out --plot");
		return SIM_EXIT_PLOT;
	}
	size_t n = 0;
	uint32_t *w;
	if (all) {
		if (cfg.capacity >= MAX_BUDGETS) {
			cli_error(
				&c,
				"--all: capacity %u gives too many budgets (at most %u); use --warm "
				"FROM:TO:STEP",
				cfg.capacity, MAX_BUDGETS);
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
	cfg.warm = w[0];
	int status = sim_check_config(&c, &cfg, true);
	if (status != SIM_EXIT_OK) {
		free(w);
		return status;
	}

	struct trace t;
	status = sim_load(&c, path, &t);
	if (status != SIM_EXIT_OK) {
		free(w);
		return status;
	}
	struct sim_result *r = calloc(n, sizeof *r);
	if (!r) {
		cli_error(&c, "out of memory");
		status = SIM_EXIT_FAIL;
		goto out;
	}
	struct progress pg;
	progress_start(&pg, "sweep");
	int rc = sim_replay_many(&t, &cfg, w, n, r, &pg);
	if (rc) {
		char why[256];
		cli_error(&c, "capacity %u, shards %u: %s", cfg.capacity, cfg.shards,
		          sim_refusal(rc, cfg.capacity, cfg.shards, why, sizeof why));
		status = SIM_EXIT_FAIL;
		goto out;
	}
	/* With --csv - or --plot -, stdout holds that alone. */
	FILE *text = csv_out || plot_out ? stderr : stdout;
	fprintf(text, "trace %s: %zu ops, %zu keyed allocs, capacity %u\n", path, t.nops, t.nkeyed,
	        cfg.capacity);
	if (t.nops) {
		fprintf(text,
		        "budget = --warm (max_unused_warm_slots): unused warm slots kept beyond "
		        "the live ones\n\n");
		print_table(text, r, n);
		if (t.nkeyed)
			print_chart(text, r, n);
		fputc('\n', text);
	}
	print_recommendation(text, &t, r, n);
	if (csv) {
		FILE *f = cli_open_output(&c, "--csv", csv);
		if (!f) {
			status = SIM_EXIT_IO;
		} else {
			write_csv(f, t.nops ? r : NULL, t.nops ? n : 0);
			status = cli_flush(&c, f, csv_out ? "the CSV to stdout" : csv, true);
		}
	}
	if (plot && t.nops == 0) {
		cli_warn(&c, "--plot: nothing to draw, %s was not written", plot);
	} else if (plot) {
		int ps = sim_plot_svg(&c, gnuplot, plot, path, r, n, knee_of(r, n));
		if (status == SIM_EXIT_OK)
			status = ps;
	}
out:
	free(r);
	free(w);
	trace_free(&t);
	return status;
}
