/* azk_strerror(): one place that turns a return code into words. */
#include <errno.h>
#include <stdlib.h>

#include "azkit/common.h"

AZK_API const char *azk_strerror(int err)
{
    switch (abs(err)) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ERANGE: return "value out of range";
    case ENOENT: return "not found";
    case EACCES: return "access denied";
    case EPERM: return "operation not permitted";
    case ENOMEM: return "out of memory or buffer too small";
    case EIO: return "input/output error";
    case EEXIST: return "already exists";
    case EBADMSG: return "malformed content";
    case EKEYREJECTED: return "key or certificate rejected";
    case ENAMETOOLONG: return "path too long";
    case ENOSPC: return "no space left";
    case EINTR: return "interrupted";
    case ENOTSUP: return "not supported";
    case E2BIG: return "too large";
    case ENOBUFS: return "buffer too small";
    case EDOM: return "value not an integer";
    case EMSGSIZE: return "message too large";
    case EPROTO: return "protocol error";
    case ENOTDIR: return "not a directory";
    case EFBIG: return "file too large";
    case EAGAIN: return "try again";
    case ETIMEDOUT: return "timed out";
    case ECONNREFUSED: return "connection refused";
    case EILSEQ: return "invalid or damaged data";
    default: return "unknown error";
    }
}

AZK_API const char *azk_version(void)
{
#ifdef AZK_LIB_VERSION
    return AZK_LIB_VERSION;
#else
    return "0.1.0";
#endif
}
