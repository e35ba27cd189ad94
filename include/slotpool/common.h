/*
 * slotpool/common.h: what every slotpool header shares: the export macro,
 * version numbers and error naming.
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

#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 2
#define SP_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch: compare with >= in #if. */
#define SP_VERSION_HEX ((SP_VERSION_MAJOR << 16) | (SP_VERSION_MINOR << 8) | SP_VERSION_PATCH)

/*
 * sp_version: the SP_VERSION_HEX of the library actually linked, which can
 * differ from the header's when the shared library was upgraded.
 * Thread-safe, O(1).
 */
SP_API unsigned sp_version(void);

/* sp_version_string: "MAJOR.MINOR.PATCH" of the linked library; static storage. */
SP_API const char *sp_version_string(void);

/*
 * sp_strerror: a short English description of a slotpool return code.
 * Accepts the negative codes slotpool returns (and their positive values);
 * 0 gives "success"; an unknown code gives "unknown error". Never NULL, never
 * allocates, static storage, thread-safe.
 */
SP_API const char *sp_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* SLOTPOOL_COMMON_H */
