/* SPDX-License-Identifier: MIT */
/*
 * error.c: naming of return codes, and the version of the linked library.
 */
#include "slotpool/common.h"

#include <limits.h>

#define STR2(x) #x
#define STR(x) STR2(x)

SP_API unsigned sp_version(void)
{
	return SP_VERSION_HEX;
}

SP_API const char *sp_version_string(void)
{
	return STR(SP_VERSION_MAJOR) "." STR(SP_VERSION_MINOR) "." STR(SP_VERSION_PATCH);
}

SP_API const char *sp_strerror(int err)
{
	if (err == INT_MIN)
		return "unknown error";
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	/* What slotpool itself returns. */
	case EINVAL:
		return "invalid argument (bad config, slot, handle or pointer)";
	case ENOMEM:
		return "out of memory (or of the mappings budget)";
	case ENOSPC:
		return "no free slot: every slot is in use";
	case ENOENT:
		return "the key holds no warm slot";
	case EOVERFLOW:
		return "resident byte count would overflow";
	case EUCLEAN:
		return "internal structure is inconsistent";
	case EBUSY:
		return "resource busy (still in use)";
	case ETIMEDOUT:
		return "timed out waiting for a free slot";
	case ENOSYS:
		return "not supported by this kernel";
	case EFAULT:
		return "address not owned by this pool";
	/* What the kernel calls of the memory pool, and write callbacks, can
	 * pass through. */
	case EPERM:
		return "operation not permitted";
	case EACCES:
		return "permission denied";
	case EAGAIN:
		return "resource temporarily unavailable";
	case EINTR:
		return "interrupted system call";
	case EIO:
		return "input/output error";
	case EBADF:
		return "bad file descriptor";
	case EMFILE:
		return "too many open files in this process";
	case ENFILE:
		return "too many open files in the system";
	case ENODEV:
		return "no such device (mapping not supported)";
	case ENOTTY:
		return "inappropriate ioctl for this file";
	case EOPNOTSUPP:
		return "operation not supported";
	case ESRCH:
		return "no such process";
	case EEXIST:
		return "already exists";
	case EPIPE:
		return "broken pipe (the writer's reader is gone)";
	case EFBIG:
		return "file too large";
	case EDQUOT:
		return "disk quota exceeded";
	default:
		return "unknown error";
	}
}
