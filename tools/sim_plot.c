/* SPDX-License-Identifier: MIT */
/*
 * sim_plot.c: `sweep --plot` (sim_plot.h). No shell and no user text in a
 * command line: gnuplot is started with posix_spawn from the path found on
 * $PATH, reads its script (data inline, as a datablock) on stdin from an
 * unlinked temporary file (tmpfile: nothing to clean up, whatever happens),
 * and writes the SVG to its stdout, a pipe that this process copies into
 * FILE, so that the file name never reaches gnuplot and a write error on it
 * is seen here.
 */
#include "sim_plot.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h> /* environ, with _GNU_SOURCE */

int sim_plot_find(char *path, size_t len)
{
	const char *p = getenv("PATH");
	if (!p)
		p = "/usr/bin:/bin";
	while (*p) {
		size_t k = strcspn(p, ":");
		struct stat st;
		int w;
		/* An empty entry means the current directory, as for execvp. */
		if (k == 0)
			w = snprintf(path, len, "./gnuplot");
		else
			w = snprintf(path, len, "%.*s/gnuplot", (int)k, p);
		if (w > 0 && (size_t)w < len && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(path, X_OK) == 0)
			return 0;
		p += k + (p[k] == ':');
	}
	return -ENOENT;
}

static double rate_of(const struct sim_result *r)
{
	return r->keyed_ops ? (double)r->affine_hits / (double)r->keyed_ops : 0.0;
}

/* Letters, digits and a few safe marks; anything else becomes '?', so the
 * title cannot end gnuplot's string or start enhanced-text markup. */
static void safe_text(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	for (; *src && o + 1 < len; src++) {
		char ch = *src;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || strchr(" ._,:+=/-", ch);
		dst[o++] = ch;
		if (!ok)
			dst[o - 1] = '?';
	}
	dst[o] = '\0';
}

/* The script: hit rate on y1 (0..1), peak resident bytes on y2 in a unit
 * that keeps the numbers short, or peak unused warm slots when the trace
 * carries no bytes. */
static void write_script(FILE *f, const char *title, const struct sim_result *r, size_t n,
                         size_t knee)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	uint64_t maxb = 0;
	for (size_t i = 0; i < n; i++)
		if (r[i].peak_unused_bytes > maxb)
			maxb = r[i].peak_unused_bytes;
	int u = 0;
	double scale = 1.0;
	while (u < 6 && (double)maxb / scale >= 1024.0) {
		scale *= 1024.0;
		u++;
	}
	char t[200];
	safe_text(t, sizeof t, title);
	fprintf(f,
	        "set terminal svg size 960,600 dynamic font 'sans,13' background rgb 'white'\n"
	        "set encoding utf8\n"
	        "set title \"%s: hit rate and memory by warm budget\" noenhanced\n"
	        "set xlabel 'warm budget: --warm (max_unused_warm_slots), unused warm slots kept "
	        "beyond the live ones' noenhanced\n"
	        "set ylabel 'affine hit rate' noenhanced\n"
	        "set ytics nomirror\nset y2tics\nset grid\n"
	        "set key outside below center horizontal noenhanced\n"
	        "set yrange [0:1.1]\n",
	        t);
	/* Room above both curves for the knee's label; an exact x range. */
	double top = maxb ? (double)maxb / scale : 0.0;
	for (size_t i = 0; !maxb && i < n; i++)
		if ((double)r[i].peak_unused_warm > top)
			top = (double)r[i].peak_unused_warm;
	uint32_t x0 = r[0].warm, x1 = r[n - 1].warm;
	fprintf(f, "set y2range [0:%.6g]\nset xrange [%.1f:%.1f]\n", top > 0 ? top * 1.15 : 1.0,
	        (double)x0 - (x0 == x1), (double)x1 + (x0 == x1));
	if (maxb)
		fprintf(f,
		        "set y2label 'peak resident bytes in unused warm slots (%s)' noenhanced\n",
		        unit[u]);
	else
		fprintf(f, "set y2label 'peak unused warm slots (the trace has no bytes)' "
		           "noenhanced\n");
	fprintf(f, "$sweep << EOD\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%u %.6f %.6g\n", r[i].warm, rate_of(&r[i]),
		        maxb ? (double)r[i].peak_unused_bytes / scale
		             : (double)r[i].peak_unused_warm);
	fprintf(f, "EOD\n");
	/* The label reads away from the nearer edge. */
	int right = x1 > x0 && r[knee].warm - x0 > (x1 - x0) / 2;
	fprintf(f,
	        "set arrow 1 from %u, graph 0 to %u, graph 1 nohead dashtype 2 "
	        "linecolor rgb '#2ca02c' linewidth 2\n"
	        "set label 1 'knee: --warm %u, hit rate %.3f (90%% of the gain)' at %u, graph 0.965 "
	        "%s offset %s,0 noenhanced textcolor rgb '#2ca02c'\n",
	        r[knee].warm, r[knee].warm, r[knee].warm, rate_of(&r[knee]), r[knee].warm,
	        right ? "right" : "left", right ? "-0.8" : "0.8");
	fprintf(f,
	        "plot $sweep using 1:2 axes x1y1 with linespoints pointtype 7 pointsize 0.6 "
	        "linecolor rgb '#1f77b4' title 'affine hit rate (left)', \\\n"
	        "     $sweep using 1:3 axes x1y2 with linespoints pointtype 5 pointsize 0.5 "
	        "linecolor rgb '#d62728' title '%s (right)'\n",
	        maxb ? "peak resident bytes" : "peak unused warm slots");
}

/* Copies what gnuplot writes into out until EOF and returns how many bytes
 * came. After a write error on out (ferror tells) the pipe is still drained,
 * so gnuplot never blocks. */
static size_t copy_out(int from, FILE *out)
{
	char buf[1 << 15];
	size_t total = 0;
	for (;;) {
		ssize_t got = read(from, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		total += (size_t)got;
		if (!ferror(out))
			fwrite(buf, 1, (size_t)got, out);
	}
	return total;
}

int sim_plot_svg(const struct cli *c, const char *gnuplot, const char *file, const char *title,
                 const struct sim_result *r, size_t n, size_t knee)
{
	int status = SIM_EXIT_PLOT, fds[2] = {-1, -1};
	FILE *script = NULL, *out = NULL;
	posix_spawn_file_actions_t fa;
	bool fa_ok = false;
	pid_t pid;

	out = cli_open_output(c, "--plot", file);
	if (!out)
		return SIM_EXIT_IO;
	script = tmpfile();
	if (!script) {
		cli_error(c, "--plot: cannot create a temporary file: %s", strerror(errno));
		goto done;
	}
	write_script(script, title, r, n, knee);
	if (fflush(script) != 0 || ferror(script) || fseek(script, 0, SEEK_SET) != 0) {
		cli_error(c, "--plot: cannot write gnuplot's script: %s", strerror(errno));
		goto done;
	}
	if (pipe(fds) != 0 || posix_spawn_file_actions_init(&fa) != 0) {
		cli_error(c, "--plot: %s", strerror(errno));
		goto done;
	}
	fa_ok = true;
	posix_spawn_file_actions_adddup2(&fa, fileno(script), 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (out != stdout)
		posix_spawn_file_actions_addclose(&fa, fileno(out));
	/* --default-settings: no ~/.gnuplot, the same picture for everyone. */
	char *argv[] = {(char *)"gnuplot", (char *)"--default-settings", NULL};
	int e = posix_spawn(&pid, gnuplot, &fa, NULL, argv, environ);
	close(fds[1]);
	fds[1] = -1;
	if (e != 0) {
		cli_error(c, "--plot: cannot run %s: %s", gnuplot, strerror(e));
		goto done;
	}
	size_t got = copy_out(fds[0], out);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0 || got == 0) {
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
			cli_error(c, "--plot: gnuplot wrote no picture");
		else
			cli_error(c, "--plot: gnuplot failed (%s %d); its messages are above",
			          WIFEXITED(ws) ? "exit status" : "signal",
			          WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
		goto done;
	}
	status = cli_flush(c, out, out == stdout ? "the plot to stdout" : file, true);
	out = NULL;
done:
	if (out && out != stdout)
		fclose(out);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (script)
		fclose(script);
	return status;
}
