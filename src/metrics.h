/* SPDX-License-Identifier: MIT */
/*
 * metrics.h: the metrics emitter behind the public *_metrics functions: one
 * stream of metric families written as Prometheus text (exposition format
 * 0.0.4) or as one JSON object, through an sp_write_fn, from a fixed buffer
 * inside struct sp__metrics (on the caller's stack: no allocation).
 *
 * Use:
 *
 *   struct sp__metrics m;
 *   int err = sp__metrics_begin(&m, format, write, ctx, NULL, 0);
 *   if (err)
 *           return err;                     // -EINVAL: format or write
 *   sp__metrics_info(&m, &build_info, labels, 1);
 *   sp__metrics_value(&m, &allocs_total, st.allocs);
 *   sp__metrics_family(&m, &image_warm);    // a family with labelled series
 *   for (each image)
 *           sp__metrics_sample(&m, &(struct sp__label){"image", NULL, id}, 1, n);
 *   sp__metrics_family_end(&m);
 *   return sp__metrics_end(&m);             // 0 or the first error
 *
 * Every emitting call after the first error does nothing, so a caller
 * emits everything and checks once, at sp__metrics_end. Errors: the first
 * negative return of `write` (a positive one counts as -EIO); -EINVAL for
 * a misuse the emitter can see (an invalid metric or label name, a counter
 * not named *_total or another type named so, a sample outside a family,
 * sections nested deeper than SP__METRICS_DEPTH, unbalanced ends).
 *
 * Prometheus: each family is "# HELP name help", "# TYPE name type", then
 * its samples "name{labels} value", values as exact decimal integers. The
 * samples of a family must come together (Prometheus rejects a family seen
 * twice), so a per-object series ({image="42"}) is written family by
 * family, looping over the objects inside each. A family with no sample is
 * left out entirely. Label values and help text are escaped (\\, \", \n),
 * and bytes that are not UTF-8 become U+FFFD. The constant labels given to
 * sp__metrics_begin come first on every sample.
 *
 * JSON: one object, keys as given (struct sp__metric.key), on one line
 * with a final newline:
 *   sp__metrics_value       "key":value
 *   sp__metrics_info        "key":{"label":"value",...}
 *   sp__metrics_family      "key":[{"label":"value",...,"value":N},...]
 *                           (an array even with one sample or none)
 *   sp__metrics_section     "key":{ ...nested families... }  (nothing in
 *                           Prometheus: names carry their own prefix)
 *   constant labels         "labels":{"label":"value",...} first
 * A label given as a number (str NULL) is a JSON number, a string otherwise.
 * Keys are not checked for uniqueness: callers use distinct ones.
 *
 * Not thread-safe: one emitter per call, owned by one thread. Output of the
 * same calls with the same values is byte-identical.
 */
#ifndef SP_METRICS_H
#define SP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "slotpool/index.h"

/* struct sp__metric.type */
#define SP__METRIC_COUNTER 1 /* "counter"; the name must end in _total */
#define SP__METRIC_GAUGE 2   /* "gauge" */
#define SP__METRIC_INFO 3    /* "gauge" of value 1, the facts in labels; name ends in _info */

/* A metric family; usually a static const table. */
struct sp__metric {
	const char *name; /* Prometheus name: [a-zA-Z_:][a-zA-Z0-9_:]*, slotpool_ prefix */
	const char *key;  /* JSON key */
	const char *help; /* one sentence; escaped on output */
	int type;         /* SP__METRIC_* */
};

/* A label: name [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"), and the
 * value `str`, or when str is NULL the decimal integer `num`. */
struct sp__label {
	const char *name;
	const char *str;
	uint64_t num;
};

#define SP__METRICS_BUF 512 /* bytes buffered between calls of write */
#define SP__METRICS_DEPTH 6 /* JSON nesting: the object, sections, a family */

/* The emitter's state: opaque to callers, on their stack (about 600 bytes). */
struct sp__metrics {
	sp_write_fn write;
	void *ctx;
	const struct sp__label *konst; /* constant labels */
	size_t nkonst;
	const struct sp__metric *fam; /* open family (sp__metrics_family) */
	uint32_t nsamples;            /* samples written in the open family */
	int format;
	int err;                               /* first error, sticky */
	uint32_t depth;                        /* open JSON objects and arrays */
	unsigned char used[SP__METRICS_DEPTH]; /* level holds a member already */
	size_t len;                            /* bytes in buf */
	char buf[SP__METRICS_BUF];
};

/*
 * sp__metrics_begin: start an output (JSON: "{" and the constant labels).
 * konst[0..nkonst) are the constant labels (NULL, 0: none); they must stay
 * valid until sp__metrics_end. Returns 0, or -EINVAL for a NULL m or
 * write, an unknown format or NULL konst with nkonst > 0 (nothing written).
 */
int sp__metrics_begin(struct sp__metrics *m, int format, sp_write_fn write, void *ctx,
                      const struct sp__label *konst, size_t nkonst);

/* A family with one unlabelled sample (counter or gauge). */
void sp__metrics_value(struct sp__metrics *m, const struct sp__metric *fam, uint64_t value);

/* An info family: one sample of value 1 whose labels are the facts. */
void sp__metrics_info(struct sp__metrics *m, const struct sp__metric *fam,
                      const struct sp__label *labels, size_t n);

/* A family with labelled samples: open it, add samples, close it. */
void sp__metrics_family(struct sp__metrics *m, const struct sp__metric *fam);
void sp__metrics_sample(struct sp__metrics *m, const struct sp__label *labels, size_t n,
                        uint64_t value);
void sp__metrics_family_end(struct sp__metrics *m);

/* A nested JSON object under `key` (no output in Prometheus). */
void sp__metrics_section(struct sp__metrics *m, const char *key);
void sp__metrics_section_end(struct sp__metrics *m);

/*
 * sp__metrics_end: close the output (JSON: "}\n") and write what is
 * buffered. Returns 0 or the first error; either way nothing is written
 * afterwards.
 */
int sp__metrics_end(struct sp__metrics *m);

/*
 * sp__index_metrics_emit: the families of an index (sp_index_metrics,
 * docs/METRICS.md) into an open emitter, from one sp_index_get_stats
 * snapshot; for a larger object that embeds an index (in a section, for
 * JSON). Returns 0, or sp_index_get_stats' error (nothing emitted).
 */
int sp__index_metrics_emit(sp_index *ix, struct sp__metrics *m);

/* slotpool_build_info{version="..."} 1 (JSON "build_info"), for the
 * top-level output of each public *_metrics function. */
void sp__metrics_build_info(struct sp__metrics *m);

#endif /* SP_METRICS_H */
