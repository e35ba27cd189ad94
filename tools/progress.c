/* SPDX-License-Identifier: MIT */
/*
 * progress.c: the progress line (progress.h). The estimate is linear: time
 * so far times the share of work left over the share done, which fits the
 * commands that use it (each unit of work costs about the same).
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(struct progress *p, const char *what)
{
	p->what = what;
	p->on = isatty(2) == 1;
	p->shown = false;
	p->t0 = now_s();
	p->next = p->t0 + 0.25;
}

void progress_update(struct progress *p, double done)
{
	if (!p || !p->on)
		return;
	double t = now_s();
	if (t < p->next)
		return;
	p->next = t + 0.25;
	if (done < 0.0)
		done = 0.0;
	if (done > 1.0)
		done = 1.0;
	char eta[32] = "ETA --:--";
	if (done > 0.0) {
		unsigned long s = (unsigned long)((t - p->t0) * (1.0 - done) / done + 0.5);
		if (s >= 3600)
			snprintf(eta, sizeof eta, "ETA %lu:%02lu:%02lu", s / 3600, s / 60 % 60,
			         s % 60);
		else
			snprintf(eta, sizeof eta, "ETA %lu:%02lu", s / 60, s % 60);
	}
	/* Trailing blanks overwrite a longer previous line. */
	fprintf(stderr, "\r%s: %3.0f%% (%s)   ", p->what, done * 100.0, eta);
	fflush(stderr);
	p->shown = true;
}

void progress_end(struct progress *p)
{
	if (!p || !p->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->shown = false;
}
