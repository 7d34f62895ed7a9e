/* The core's version string (kept here so the core has at least one object of its own). */
#include "azkit/core.h"

AZK_API const char *azk_core_version(void)
{
    return "0.1.0";
}
