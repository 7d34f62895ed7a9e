/* Fixed-size records that outlive the connections that made them, kept apart from the heap.
 *
 * A storm of devices interleaves a few long-lived records per device (the DPS operation kept
 * for polls, the registry entry) with the much larger short-lived state of each connection
 * (TLS objects, buffers, certificate parsing) on the same glibc heap pages. Once the
 * connections have gone, each remaining record keeps its page resident: after 10,000 devices
 * glibc held ~80 MiB of free but unreturnable heap around 40 MiB of live records
 * (docs/benchmarks.md, "Storm"). A slab gives those records blocks of their own (64 KiB,
 * mmap'd), packed, and returns a block to the system when its last record is freed.
 *
 * One thread uses a slab (no locking). Under AddressSanitizer freed records are poisoned. */
#ifndef AZK_HUB_SLAB_H
#define AZK_HUB_SLAB_H

#include <stddef.h>

struct hub_slab_block;

struct hub_slab {
    size_t size;                    /* record size, rounded up to 16 */
    size_t per_block;               /* records in one block */
    struct hub_slab_block *partial; /* blocks with a free record (doubly linked) */
    size_t live;                    /* records allocated and not freed */
    size_t blocks;                  /* blocks mapped */
};

/* Records of `size` bytes (1 .. 16 KiB). Allocates nothing yet. */
void hub_slab_init(struct hub_slab *s, size_t size);
/* A zeroed record, or NULL when out of memory (errno ENOMEM). */
void *hub_slab_alloc(struct hub_slab *s);
/* Frees a record from hub_slab_alloc on this slab; NULL is ignored. A block whose records are
 * all free goes back to the system. */
void hub_slab_free(struct hub_slab *s, void *p);

#endif
