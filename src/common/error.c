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
    case EOVERFLOW: return "value too large for its field";
    case EPROTO: return "protocol error";
    case ENOTDIR: return "not a directory";
    case EFBIG: return "file too large";
    case EAGAIN: return "try again";
    case ETIMEDOUT: return "timed out";
    case ECONNREFUSED: return "connection refused";
    case EILSEQ: return "invalid or damaged data";
    case EMFILE: return "too many open files";
    case ENFILE: return "too many open files in the system";
    case EALREADY: return "already done or in progress";
    case ECANCELED: return "canceled";
    case ENOTCONN: return "not connected";
    case ENODATA: return "no data available";
    case ECONNRESET: return "connection reset by the server";
    case ECONNABORTED: return "connection aborted";
    case EHOSTUNREACH: return "host unreachable";
    case ENETUNREACH: return "network unreachable";
    case EADDRINUSE: return "address already in use";
    case EPIPE: return "connection closed by the server";
    case EBUSY: return "busy";
    case ENOEXEC: return "not allowed in this state";
    case ESTALE: return "changed since it was read";
#ifdef ENOKEY
    case ENOKEY: return "private key missing";
#endif
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return "operation not supported";
#endif
    /* Not a code azkit returns: the number is explained by `azkit errno N`. */
    default: return "error code not known to azkit (`azkit errno N` explains it)";
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
