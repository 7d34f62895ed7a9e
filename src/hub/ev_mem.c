/* libevent's allocations: small ones in a slab, the rest from malloc (see ev_mem.h).
 *
 * Every allocation carries a 16-byte header (which keeps malloc's 16-byte alignment) saying
 * where it came from, so that free and realloc, which get only the pointer, can hand it back
 * to the right allocator. The slab takes a mutex: libevent is used from the loop thread only,
 * but an allocator must not corrupt itself if that ever changes. */
#include "hub/ev_mem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hub/slab.h"

#define HDR 16
#define SMALL_RECORD 64
#define SMALL_MAX (SMALL_RECORD - HDR) /* payload bytes of a slab allocation */
#define FROM_MALLOC 0u
#define FROM_SLAB 0x5b1au

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct hub_slab small;

static unsigned origin(void *p)
{
    unsigned o;
    memcpy(&o, (unsigned char *)p - HDR, sizeof o);
    return o;
}

static void *tag(void *base, unsigned o)
{
    memcpy(base, &o, sizeof o);
    return (unsigned char *)base + HDR;
}

static void *ev_malloc(size_t n)
{
    if (n <= SMALL_MAX) {
        pthread_mutex_lock(&mu);
        void *r = hub_slab_alloc(&small);
        pthread_mutex_unlock(&mu);
        return r ? tag(r, FROM_SLAB) : NULL;
    }
    if (n > SIZE_MAX - HDR)
        return NULL;
    void *r = malloc(n + HDR);
    return r ? tag(r, FROM_MALLOC) : NULL;
}

static void ev_free(void *p)
{
    if (p == NULL)
        return;
    void *base = (unsigned char *)p - HDR;
    if (origin(p) == FROM_SLAB) {
        pthread_mutex_lock(&mu);
        hub_slab_free(&small, base);
        pthread_mutex_unlock(&mu);
    } else {
        free(base);
    }
}

static void *ev_realloc(void *p, size_t n)
{
    if (p == NULL)
        return ev_malloc(n);
    if (origin(p) == FROM_SLAB) {
        if (n <= SMALL_MAX)
            return p;
        void *q = ev_malloc(n);
        if (q != NULL) {
            memcpy(q, p, SMALL_MAX);
            ev_free(p);
        }
        return q;
    }
    if (n > SIZE_MAX - HDR)
        return NULL;
    void *r = realloc((unsigned char *)p - HDR, n + HDR);
    return r ? (unsigned char *)r + HDR : NULL; /* the header moved with the block */
}

void hub_ev_mem_install(void)
{
    hub_slab_init(&small, SMALL_RECORD);
    event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
}

size_t hub_ev_mem_small_live(void)
{
    pthread_mutex_lock(&mu);
    size_t n = small.live;
    pthread_mutex_unlock(&mu);
    return n;
}
