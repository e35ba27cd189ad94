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
	case 0: return "success";
	case EINVAL: return "invalid argument (bad config, slot or pointer)";
	case ENOMEM: return "out of memory";
	case ENOSPC: return "no free slot: every slot is in use";
	case ENOENT: return "the key holds no warm slot";
	case EOVERFLOW: return "resident byte count would overflow";
	case EUCLEAN: return "internal structure is inconsistent";
	case EBUSY: return "resource busy (still in use)";
	case ETIMEDOUT: return "timed out waiting for a free slot";
	case ENOSYS: return "not supported by this kernel";
	case EFAULT: return "address not owned by this pool";
	default: return "unknown error";
	}
}
