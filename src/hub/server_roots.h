/* The hub's two server roots, "legacy" and "current" (server_pki.h has the layout): their
 * names, and the files that publish them to devices (root-legacy.pem, root-current.pem and
 * the bundle roots.pem, rewritten at every start from ca.pem and legacy/ca.pem). */
#ifndef AZK_HUB_SERVER_ROOTS_H
#define AZK_HUB_SERVER_ROOTS_H

#include <stddef.h>

#include "azkit/diag.h"

/* Which root the MQTT listener's server chain ends at. */
enum hub_server_root {
    HUB_ROOT_LEGACY = 0,
    HUB_ROOT_CURRENT = 1,
};
#define HUB_ROOT_COUNT 2
/* The root of `serve` without --server-root. */
#define HUB_ROOT_DEFAULT HUB_ROOT_CURRENT

/* "legacy" / "current" ("?" for anything else). */
const char *hub_server_root_name(enum hub_server_root r);

/* Parses "legacy" / "current" (exactly, lowercase). Returns 0, or -EINVAL for anything
 * else. */
int hub_server_root_parse(const char *s, enum hub_server_root *out);

struct hub_pki;

/* Fills p->roots[*] paths and p->bundle_path from p->dir (set). Returns 0 or -ENAMETOOLONG. */
int hub_pki_root_paths(struct hub_pki *p);

/* Writes root-current.pem (from ca.pem), root-legacy.pem (from legacy/ca.pem) and roots.pem
 * (current then legacy), 0644, each only when its content changed. Returns 0 or a negative
 * errno with an error finding naming the file. */
int hub_pki_publish_roots(const struct hub_pki *p, struct azk_diag *d);

/* The subject of the first certificate in `file` (RFC 2253, e.g. "CN=azkit-hub Current Test
 * Root 1A2B3C4D") into out. Returns 0, or a negative errno (out then ""). */
int hub_pki_root_subject(const char *file, char *out, size_t size);

#endif
