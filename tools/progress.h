/* SPDX-License-Identifier: MIT */
/*
 * progress.h: a one-line progress report with an estimate of the time left,
 * on stderr, only when stderr is a terminal, for the commands that can run
 * long (sweep, replay --repeat, mt --repeat). Tool-internal.
 */
#ifndef SP_TOOLS_PROGRESS_H
#define SP_TOOLS_PROGRESS_H

#include <stdbool.h>

struct progress {
	const char *what; /* "sweep": the line reads "sweep: 42% (ETA 0:13)" */
	bool on;          /* stderr is a terminal */
	bool shown;       /* a line is on the screen */
	double t0;        /* start, seconds */
	double next;      /* earliest time of the next line */
};

/* progress_start: begin timing; report only when stderr is a terminal. */
void progress_start(struct progress *p, const char *what);

/* progress_update: `done` of the work (0..1) is done. Prints at most four
 * times a second and nothing in the first quarter second, so short runs stay
 * silent. Cheap when off or between prints (one clock read). p may be NULL. */
void progress_update(struct progress *p, double done);

/* progress_end: erase the line, if one was shown. p may be NULL. */
void progress_end(struct progress *p);

#endif /* SP_TOOLS_PROGRESS_H */
