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
 * trace_parse: parse and validate the whole buffer buf[0..len) (it need not
 * be NUL-terminated and may contain any bytes) into *out. `name` names the
 * input in error messages (a file name; NULL means "<trace>").
 * Returns 0, or:
 *   -EINVAL  the input is not a valid trace: err receives "NAME:LINE: why"
 *            (with a short escaped excerpt of the line), NUL-terminated and
 *            truncated to errlen;
 *   -ENOMEM  out of memory (err says so).
 * buf may be NULL only when len is 0; err may be NULL when errlen is 0.
 * On error *out is untouched and nothing is leaked. On success the caller
 * owns out->ops and releases it with trace_free. Reentrant (no globals).
 * Cost: O(len) time, 16 bytes per operation plus 1 byte per handle while
 * parsing.
 */
int trace_parse(const char *buf, size_t len, const char *name, struct trace *out,
		char *err, size_t errlen);

/*
 * trace_load: read the file at `path` ("-" = standard input) and parse it with
 * trace_parse, using path as the name. Returns trace_parse's codes, or a
 * negative errno from opening/reading the file (err: "PATH: why").
 */
int trace_load(const char *path, struct trace *out, char *err, size_t errlen);

/* trace_free: release what trace_parse stored in *t and zero it. NULL is a no-op. */
void trace_free(struct trace *t);

#endif /* SP_TOOLS_TRACE_H */
