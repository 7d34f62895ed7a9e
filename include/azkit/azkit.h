/**
 * @file azkit.h
 * @brief Everything public in libazkit.
 */
#ifndef AZKIT_AZKIT_H
#define AZKIT_AZKIT_H

#include "azkit/common.h"
#include "azkit/diag.h"
#include "azkit/x509.h"
#include "azkit/cred.h"
#include "azkit/cred_backend.h"
#include "azkit/cred_provision.h"
#include "azkit/pki.h"

#endif
