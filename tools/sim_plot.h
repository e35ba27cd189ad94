/* SPDX-License-Identifier: MIT */
/*
 * sim_plot.h: `sweep --plot FILE.svg`: the tuning curve drawn by gnuplot,
 * hit rate and peak resident memory against the budget, the knee marked.
 */
#ifndef SP_TOOLS_SIM_PLOT_H
#define SP_TOOLS_SIM_PLOT_H

#include <stddef.h>

#include "cli.h"
#include "sim_run.h"

/* sim_plot_find: the path of the `gnuplot` program on $PATH into
 * path[0..len). Returns 0, or -ENOENT when there is none. */
int sim_plot_find(char *path, size_t len);

/*
 * sim_plot_svg: run gnuplot (at path `gnuplot`, no shell) on a script that
 * draws r[0..n) (budgets in increasing order; r[knee] the knee) into an SVG
 * written to `file`. `title` names the trace (characters gnuplot could read
 * as markup are replaced). Returns SIM_EXIT_OK; SIM_EXIT_IO when `file`
 * cannot be opened or written; SIM_EXIT_PLOT when gnuplot fails; a message
 * is printed for each error (gnuplot's own on stderr too).
 */
int sim_plot_svg(const struct cli *c, const char *gnuplot, const char *file, const char *title,
                 const struct sim_result *r, size_t n, size_t knee);

#endif /* SP_TOOLS_SIM_PLOT_H */
