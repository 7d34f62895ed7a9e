/*
 * DPS state in the hub store (hub.db, component "dps" of schema_version): individual
 * enrollments, enrollment groups, DPS verified CAs and registration records. Same rules as
 * store.h: loop thread only, reads from memory, writes through the writer thread with group
 * commit, completions `done(ctx, rc)` on the loop thread in submission order (not called when
 * the call returns a negative value).
 *
 * put = create or replace by id. The store sets meta (etag counter +1 per replace, created_ms
 * kept, updated_ms now). `if_match` (NULL, "" or "*" = no check; quotes accepted) must equal
 * the current etag when the entry exists, else -ESTALE. `out` (may be NULL) receives a copy of
 * the stored entry (free with dps_*_clear()).
 */
#ifndef AZK_HUB_STORE_DPS_H
#define AZK_HUB_STORE_DPS_H

#include "hub/dps/dps_model.h"
#include "hub/store/store.h"

/* Individual enrollments, by registration id. put: -EINVAL (bad id / no primary cert),
 * -ESTALE, -ENOMEM. get: -ENOENT. delete: -ENOENT, -ESTALE. list: sorted by id, free with
 * dps_enrollment_free_array(). */
int hub_store_dps_enrollment_put(struct hub_store *st, const struct dps_enrollment *in,
                                 const char *if_match, struct dps_enrollment *out,
                                 hub_store_done_fn done, void *ctx);
int hub_store_dps_enrollment_get(const struct hub_store *st, const char *registration_id,
                                 struct dps_enrollment *out);
int hub_store_dps_enrollment_list(const struct hub_store *st, struct dps_enrollment **out,
                                  size_t *n);
int hub_store_dps_enrollment_delete(struct hub_store *st, const char *registration_id,
                                    const char *if_match, hub_store_done_fn done, void *ctx);
void dps_enrollment_free_array(struct dps_enrollment *arr, size_t n);

/* Enrollment groups, by group id. */
int hub_store_dps_group_put(struct hub_store *st, const struct dps_group *in,
                            const char *if_match, struct dps_group *out, hub_store_done_fn done,
                            void *ctx);
int hub_store_dps_group_get(const struct hub_store *st, const char *group_id,
                            struct dps_group *out);
int hub_store_dps_group_list(const struct hub_store *st, struct dps_group **out, size_t *n);
int hub_store_dps_group_delete(struct hub_store *st, const char *group_id, const char *if_match,
                               hub_store_done_fn done, void *ctx);
void dps_group_free_array(struct dps_group *arr, size_t n);

/* DPS verified CAs, by name (separate from the hub's CAs). put: -EINVAL without a PEM. */
int hub_store_dps_ca_put(struct hub_store *st, const struct dps_ca *in, const char *if_match,
                         struct dps_ca *out, hub_store_done_fn done, void *ctx);
int hub_store_dps_ca_get(const struct hub_store *st, const char *name, struct dps_ca *out);
int hub_store_dps_ca_list(const struct hub_store *st, struct dps_ca **out, size_t *n);
int hub_store_dps_ca_delete(struct hub_store *st, const char *name, const char *if_match,
                            hub_store_done_fn done, void *ctx);
void dps_ca_free_array(struct dps_ca *arr, size_t n);

/* Registration records, by registration id. */
int hub_store_dps_registration_put(struct hub_store *st, const struct dps_registration *in,
                                   const char *if_match, struct dps_registration *out,
                                   hub_store_done_fn done, void *ctx);
int hub_store_dps_registration_get(const struct hub_store *st, const char *registration_id,
                                   struct dps_registration *out);
int hub_store_dps_registration_list(const struct hub_store *st, struct dps_registration **out,
                                    size_t *n);
int hub_store_dps_registration_delete(struct hub_store *st, const char *registration_id,
                                      const char *if_match, hub_store_done_fn done, void *ctx);
void dps_registration_free_array(struct dps_registration *arr, size_t n);

/* Zero-copy view for matching (dps_match_x509): the stored arrays, in no particular order,
 * valid until the next store call on the loop thread. */
struct dps_store_view {
    const struct dps_enrollment *enrollments;
    size_t n_enrollments;
    const struct dps_group *groups;
    size_t n_groups;
    const struct dps_ca *cas;
    size_t n_cas;
};
void hub_store_dps_view(const struct hub_store *st, struct dps_store_view *out);

#endif
