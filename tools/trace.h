/* SPDX-License-Identifier: MIT */
/*
 * trace.h: the slot trace parser shared by slotpool-sim, the tests and the
 * fuzzer (tests/fuzz). Tool-internal: not part of the installed API.
 *
 * Trace format, one operation a line (the seed replayer's, exactly):
 *
 *   a K      alloc with affinity key K (decimal uint64)
 *   a -      alloc with no key
 *   c K      alloc-affine-and-clear for key K
 *   f H [B]  free the slot that handle H got; H is the 0-based index of an
 *            a/c line among all a/c lines; a no-op if that alloc got no slot;
 *            B (decimal uint64, default 0) = bytes still resident
 *
 * Lines are split at '\n'; each is trimmed of Unicode white space at both ends
 * (Rust's str::trim, which the seed uses); an empty line or one whose first
 * non-blank character is '#' is ignored; fields are split on ASCII white space
 * (space, \t, \n, \f, \r). Numbers are ASCII digits only (no sign) and must
 * fit in 64 bits. The input must be valid UTF-8 (the seed reads a String).
 * A free of a handle that no earlier line created, a second free of a handle,
 * and more than 2^32 - 2 a/c lines are rejected too.
 *
 * The parser accepts exactly the traces the seed accepts, reading them as a
 * stream in bounded memory (16 bytes per operation and 1 per handle, plus a
 * few KiB): the first bad line is reported as soon as it has been read, so
 * garbage is refused without reading the rest. A line of any length is read
 * in constant memory; one longer than TRACE_LINE_MAX bytes that can no
 * longer be valid whatever follows is reported at once, with the reason it
 * would get if it ended there (so an endless line of garbage, /dev/zero,
 * fails after TRACE_LINE_MAX bytes). Only which reason such a line gets can
 * differ from the seed, which reads the whole file first: the seed names a
 * byte that is not UTF-8 anywhere in the file before any other problem.
 */
#ifndef SP_TOOLS_TRACE_H
#define SP_TOOLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* Operation kinds, in trace_op.kind. */
#define TRACE_ALLOC 0       /* a K: val = K */
#define TRACE_ALLOC_NOKEY 1 /* a -  */
#define TRACE_CLEAR 2       /* c K: val = K */
#define TRACE_FREE 3        /* f H B: handle = H, val = B */

/* Largest number of a/c lines a trace may hold (handles fit in uint32_t and
 * UINT32_MAX stays free to mean "no slot"). */
#define TRACE_MAX_HANDLES (UINT32_MAX - 1u)

/* Lines up to this many bytes are read whole; longer ones byte by byte, in
 * constant memory (see above). Far longer than any operation line. */
#define TRACE_LINE_MAX 4096u

/* One operation: 16 bytes, so that a replay loop streams through them. */
struct trace_op {
	uint64_t val;    /* key (a K, c K) or bytes resident (f) */
	uint32_t handle; /* f: the handle freed; a/c: the handle this op creates */
	uint32_t kind;   /* TRACE_* */
};

struct trace {
	struct trace_op *ops; /* nops operations, in file order */
	size_t nops;          /* a/c/f lines */
	size_t nhandles;      /* a/c lines (= handles created) */
	size_t nkeyed;        /* a K lines */
	size_t nclears;       /* c K lines */
	size_t nfrees;        /* f lines */
};

/*
 * trace_reader: the parser as a stream. trace_reader_new starts one for an
 * input called `name` (NULL means "<trace>"; the string must outlive the
 * reader) that writes its error message to err[0..errlen) (err may be NULL
 * when errlen is 0); it returns NULL when out of memory. trace_reader_feed
 * parses the next len bytes (any bytes, not NUL-terminated; buf may be NULL
 * when len is 0), cut anywhere: the result does not depend on how the input
 * is cut. It returns 0 to ask for more, or the first error, which sticks:
 *   -EINVAL  the input is not a valid trace: err receives "NAME:LINE: why"
 *            (with a short escaped excerpt of the line), NUL-terminated and
 *            truncated to errlen;
 *   -ENOMEM  out of memory (err says "NAME: out of memory").
 * trace_reader_finish ends the input (the last line needs no '\n'), frees
 * the reader and returns 0 with the trace in *out, or the error, with *out
 * untouched and nothing leaked. Call it exactly once per reader, also after
 * an error. Reentrant (no globals); one reader is not thread-safe.
 * Cost: O(len) time; memory: 16 bytes per operation, 1 per handle, and
 * about TRACE_LINE_MAX bytes for the reader.
 */
struct trace_reader;
struct trace_reader *trace_reader_new(const char *name, char *err, size_t errlen);
int trace_reader_feed(struct trace_reader *p, const char *buf, size_t len);
int trace_reader_finish(struct trace_reader *p, struct trace *out);

/* For tests: read lines longer than n bytes (1 <= n <= TRACE_LINE_MAX) byte
 * by byte, as if TRACE_LINE_MAX were n. Call before the first feed. */
void trace_reader_set_line_max(struct trace_reader *p, size_t n);

/*
 * trace_parse: parse and validate the whole buffer buf[0..len) (it need not
 * be NUL-terminated and may contain any bytes) into *out: trace_reader_new,
 * one feed, trace_reader_finish. Returns what trace_reader_finish returns,
 * or -EINVAL (err untouched) when out is NULL, or buf is NULL and len is not
 * 0. On success the caller owns out->ops and releases it with trace_free.
 */
int trace_parse(const char *buf, size_t len, const char *name, struct trace *out, char *err,
                size_t errlen);

/*
 * trace_load: read the file at `path` ("-" = standard input) as it parses it,
 * using path as the name, and stop reading at the first bad line. Returns
 * trace_parse's codes, or a negative errno from opening or reading the file
 * (err: "PATH: cannot open: why" or "PATH: cannot read: why").
 */
int trace_load(const char *path, struct trace *out, char *err, size_t errlen);

/* trace_free: release what trace_parse stored in *t and zero it. NULL is a no-op. */
void trace_free(struct trace *t);

#endif /* SP_TOOLS_TRACE_H */
