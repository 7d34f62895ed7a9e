/* libevent's small allocations in a slab of their own (ev_mem.c).
 *
 * libevent keeps one small record per file descriptor number it has ever watched (its evmap
 * entry, 16 bytes, freed only with the event base), made while that descriptor's first
 * connection is being served, between that connection's TLS allocations. After a storm of
 * 10,000 devices those records pinned ~39 MiB of otherwise free heap pages that malloc_trim
 * could not return (docs/benchmarks.md, "Storm"). Routed to a slab (slab.h), they sit packed
 * in blocks of their own. */
#ifndef AZK_HUB_EV_MEM_H
#define AZK_HUB_EV_MEM_H

#include <stddef.h>

/* Installs the allocator with event_set_mem_functions(). Must run before any other libevent
 * call of the process (libevent frees with the functions installed when it frees). */
void hub_ev_mem_install(void);

/* Small libevent allocations live now (for tests and the debug log). */
size_t hub_ev_mem_small_live(void);

#endif
