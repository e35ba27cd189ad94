/* SPDX-License-Identifier: MIT */
/**
 * @file slotpool/common.h
 * @brief What every slotpool header shares: the export macro, version
 * numbers and error naming.
 *
 * Errors: every function that can fail returns 0 on success or a negative
 * errno value (-EINVAL, -ENOMEM, -ENOSPC, -ENOENT, ...). slotpool never sets
 * errno and never aborts on a caller's mistake.
 */
#ifndef SLOTPOOL_COMMON_H
#define SLOTPOOL_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @def SP_API
 * Marks a function the library exports. Expands to nothing for callers;
 * the library's own build gives its functions default visibility (all else
 * is hidden).
 */
#if defined(SP_STATIC_DEFINE)
#define SP_API
#elif defined(SP_BUILDING_LIBRARY)
#define SP_API __attribute__((visibility("default")))
#else
#define SP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of this header. */
#define SP_VERSION_MAJOR 0
/** Minor version of this header. */
#define SP_VERSION_MINOR 2
/** Patch version of this header. */
#define SP_VERSION_PATCH 0
/** This header's version, (major << 16) | (minor << 8) | patch: compare with >= in `#if`. */
#define SP_VERSION_HEX ((SP_VERSION_MAJOR << 16) | (SP_VERSION_MINOR << 8) | SP_VERSION_PATCH)

/**
 * Output callback of the functions that write text: sp_index_metrics()
 * and sp_index_record() (slotpool/index.h), sp_mempool_metrics() and
 * sp_mempool_record() (slotpool/mempool.h).
 *
 * Called with the next part of the output, from the thread that made the
 * call (for a recording: under the index's lock; see sp_index_record()).
 * It must take all len bytes (copy them, write them in a loop, ...).
 *
 * @param ctx the caller's pointer, passed through unchanged.
 * @param buf the next len bytes of output, valid only during the call.
 * @param len how many bytes, never 0.
 * @return 0 when all len bytes were taken, or a negative errno value that
 *         stops the output and is passed back to the caller. Any other
 *         value counts as -EIO.
 */
typedef int (*sp_write_fn)(void *ctx, const char *buf, size_t len);

/**
 * Output format of sp_index_metrics() and sp_mempool_metrics(), passed in
 * their `int format` argument.
 */
typedef enum sp_metrics_format {
	/** Prometheus text exposition format 0.0.4. */
	SP_METRICS_PROMETHEUS = 1,
	/** One JSON object on one line, then a newline. */
	SP_METRICS_JSON = 2,
} sp_metrics_format;

/**
 * The version of the library actually linked.
 *
 * It can differ from the header's SP_VERSION_HEX when the shared library
 * was upgraded. Thread-safe, O(1).
 *
 * @return the linked library's (major << 16) | (minor << 8) | patch, as
 *         SP_VERSION_HEX.
 */
SP_API unsigned sp_version(void);

/**
 * The version of the library actually linked, as text. Thread-safe, O(1).
 *
 * @return the string "MAJOR.MINOR.PATCH", in static storage; never NULL.
 */
SP_API const char *sp_version_string(void);

/**
 * A short English description of a slotpool return code.
 *
 * Never allocates; thread-safe.
 *
 * @param err a code a slotpool function returned: 0 or a negative errno
 *            value (its positive value is accepted too).
 * @return the description, in static storage, never NULL: "success" for
 *         0, "unknown error" for a code slotpool does not return.
 */
SP_API const char *sp_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* SLOTPOOL_COMMON_H */
